// Op cases for the core kernels: copy_ (strided, converting, broadcasting) and fill_.
#include "harness.h"

#include <cmath>

namespace {

cth::Ref identity(const std::vector<cth::Ref> &in) { return in[0]; }

// copy_ into a fresh tensor of `dtype` (what contiguous(), clone(), to(dtype) run on).
std::function<ct_tensor *(const cth::Inputs &)> copy_into(ct_dtype dtype) {
    return [dtype](const cth::Inputs &in) -> ct_tensor * {
        ct_tensor *out = ct_empty(ct_dim(in[0]), ct_shape(in[0]), dtype, ct_tensor_device(in[0]));
        if (out && ct_copy_(out, in[0]) != CT_OK) {
            ct_release(out);
            return nullptr;
        }
        return out;
    };
}

// Rounds each value as a conversion to dtype would (toward zero for integers; bool is != 0).
std::function<cth::Ref(const std::vector<cth::Ref> &)> converted(ct_dtype dtype) {
    return [dtype](const std::vector<cth::Ref> &in) {
        cth::Ref r = in[0];
        for (double &v : r.values) {
            if (dtype == CT_BOOL) v = v != 0;
            else if (dtype == CT_FLOAT32) v = (double)(float)v;
            else if (dtype != CT_FLOAT64) v = std::trunc(v);
        }
        return r;
    };
}

const int cases_registered = [] {
    using namespace cth;
    add_case({"copy_", "contiguous_f32", {uniform({5, 7})}, copy_into(CT_FLOAT32), identity});
    add_case({"copy_", "transposed_f32", {transposed(uniform({33, 17}))}, copy_into(CT_FLOAT32), identity});
    add_case({"copy_", "transposed_f64_4d", {transposed(normal({2, 3, 4, 5}, CT_FLOAT64))}, copy_into(CT_FLOAT64),
              identity});
    add_case({"copy_", "large_parallel_f32", {transposed(uniform({300, 257}))}, copy_into(CT_FLOAT32), identity});
    add_case({"copy_", "f64_to_f32", {normal({4, 6}, CT_FLOAT64)}, copy_into(CT_FLOAT32), converted(CT_FLOAT32)});
    add_case({"copy_", "f32_to_int64_truncates", {uniform({40}, CT_FLOAT32, -50, 50)}, copy_into(CT_INT64),
              converted(CT_INT64)});
    add_case({"copy_", "int64_to_f32", {integers({3, 9}, -1000, 1000)}, copy_into(CT_FLOAT32), identity});
    add_case({"copy_", "int32_to_int64", {integers({17}, -9, 9, CT_INT32)}, copy_into(CT_INT64), identity});
    add_case({"copy_", "uint8_to_f64", {integers({2, 2, 2}, 0, 256, CT_UINT8)}, copy_into(CT_FLOAT64), identity});
    add_case({"copy_", "f32_to_bool", {given({5}, {0, 1.5, -2, 0, 1e-30})}, copy_into(CT_BOOL), converted(CT_BOOL)});
    add_case({"copy_", "bool_to_int32", {bools({3, 4})}, copy_into(CT_INT32), identity});
    add_case({"copy_", "zero_size", {uniform({0, 4})}, copy_into(CT_FLOAT32), identity});
    add_case({"copy_", "scalar_0d", {uniform({})}, copy_into(CT_FLOAT64), identity});
    add_case({"copy_", "broadcast_row",
              {uniform({1, 5})},
              [](const Inputs &in) -> ct_tensor * {
                  int64_t shape[2] = {3, 5};
                  ct_tensor *out = ct_empty(2, shape, CT_FLOAT32, ct_tensor_device(in[0]));
                  if (out && ct_copy_(out, in[0]) != CT_OK) ct_release(out), out = nullptr;
                  return out;
              },
              [](const std::vector<Ref> &in) {
                  Ref r{{3, 5}, {}};
                  for (int i = 0; i < 3; i++) r.values.insert(r.values.end(), in[0].values.begin(), in[0].values.end());
                  return r;
              }});
    add_case({"fill_", "f32_strided",
              {transposed(uniform({6, 4}))},
              [](const Inputs &in) -> ct_tensor * {
                  if (ct_fill_(in[0], 2.5) != CT_OK) return nullptr;
                  return ct_retain(in[0]);
              },
              [](const std::vector<Ref> &in) {
                  Ref r = in[0];
                  for (double &v : r.values) v = 2.5;
                  return r;
              }});
    add_case({"fill_", "int32_truncates",
              {integers({7}, 0, 5, CT_INT32)},
              [](const Inputs &in) -> ct_tensor * {
                  if (ct_fill_(in[0], -3.75) != CT_OK) return nullptr;
                  return ct_retain(in[0]);
              },
              [](const std::vector<Ref> &in) {
                  Ref r = in[0];
                  for (double &v : r.values) v = -3;
                  return r;
              }});
    return 0;
}();

} // namespace

// Gradient checks of the core's differentiable op (copy_, through clone/contiguous/to and views on the way).
namespace {
const int grad_cases_registered = [] {
    using namespace cth;
    add_grad_case({"copy_", "clone_of_transposed", {transposed(uniform({3, 4}))}, {},
                   [](const Inputs &in) { return ct_clone(in[0]); }});
    add_grad_case({"copy_", "into_fresh_with_broadcast", {uniform({1, 4})}, {}, [](const Inputs &in) -> ct_tensor * {
                       ct_tensor *out = ct_zeros(2, std::vector<int64_t>{3, 4}.data(), CT_FLOAT64, ct_tensor_device(in[0]));
                       if (out && ct_copy_(out, in[0]) != CT_OK) return nullptr;
                       return out;
                   }});
    add_grad_case({"copy_", "views_chain", {uniform({2, 3, 4})}, {}, [](const Inputs &in) {
                       ct_tensor *p = ct_permute(in[0], 3, std::vector<int>{2, 0, 1}.data());
                       ct_tensor *s = ct_slice(p, 0, 1, 4, 2);
                       ct_tensor *e = ct_expand(ct_unsqueeze(ct_select(s, 2, 1), 0), 3,
                                                std::vector<int64_t>{3, 2, 2}.data());
                       return ct_contiguous(ct_flatten(e, 0, -1));
                   }});
    return 0;
}();
} // namespace

// Converting copies, exactly: the typed CPU loops (runtime/cpu/copy.c) against hand-computed values, on the
// contiguous fast path and on a strided (transposing) one. Floating to integer truncates toward zero; NaN gives 0;
// values beyond int64 (and the infinities) give INT64_MIN, which narrowing then wraps; bool is != 0.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>

namespace {

template <typename T> std::vector<T> convert_to(const std::vector<float> &src, ct_dtype dtype, bool strided) {
    int64_t n = (int64_t)src.size();
    ct_tensor *s;
    if (strided) { // the values as a 2 x (n/2) tensor viewed through its transpose, copied into a (n/2) x 2 one
        std::vector<float> t(src.size());
        for (int64_t i = 0; i < n / 2; i++) t[i] = src[2 * i], t[n / 2 + i] = src[2 * i + 1];
        int64_t shape[2] = {2, n / 2};
        ct_tensor *base = ct_tensor_from_data(t.data(), 2, shape, CT_FLOAT32, CT_DEVICE_CPU);
        s = ct_t(base);
        ct_release(base);
    } else {
        s = ct_tensor_from_data(src.data(), 1, &n, CT_FLOAT32, CT_DEVICE_CPU);
    }
    ct_tensor *d = ct_empty(ct_dim(s), ct_shape(s), dtype, CT_DEVICE_CPU);
    EXPECT_EQ(ct_copy_(d, s), CT_OK) << ct_last_error();
    std::vector<T> got(src.size());
    EXPECT_EQ(ct_copy_to_buffer(d, got.data(), got.size() * sizeof(T)), CT_OK);
    ct_release(s), ct_release(d);
    return got;
}

TEST(ConvertingCopy, FloatToIntegerAndBoolEdgeCases) {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    const std::vector<float> x = {nan, inf, -inf, 3e9f, -3e9f, 2.9f, -2.9f, 255.5f, 256, -1, 1e20f, 1000.75f, -3.5f, -0.0f};
    const int64_t lo = INT64_MIN;
    for (bool strided : {false, true}) {
        SCOPED_TRACE(strided ? "strided" : "contiguous");
        EXPECT_EQ(convert_to<int64_t>(x, CT_INT64, strided),
                  (std::vector<int64_t>{0, lo, lo, 3000000000, -3000000000, 2, -2, 255, 256, -1, lo, 1000, -3, 0}));
        // int32 keeps the low 32 bits of the int64: 3e9 - 2^32 and -3e9 + 2^32
        EXPECT_EQ(convert_to<int32_t>(x, CT_INT32, strided),
                  (std::vector<int32_t>{0, 0, 0, -1294967296, 1294967296, 2, -2, 255, 256, -1, 0, 1000, -3, 0}));
        // uint8 keeps the low byte: 1000 = 3 * 256 + 232, -3 = 253, -1 = 255
        EXPECT_EQ(convert_to<uint8_t>(x, CT_UINT8, strided),
                  (std::vector<uint8_t>{0, 0, 0, 0, 0, 2, 254, 255, 0, 255, 0, 232, 253, 0}));
        EXPECT_EQ(convert_to<uint8_t>(x, CT_BOOL, strided),
                  (std::vector<uint8_t>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}));
        std::vector<double> wide = convert_to<double>(x, CT_FLOAT64, strided);
        EXPECT_TRUE(std::isnan(wide[0]));
        for (size_t i = 1; i < x.size(); i++) EXPECT_EQ(wide[i], (double)x[i]) << "at " << i;
    }
}

TEST(ConvertingCopy, IntegerNarrowingWrapsAndBoolReadsNonZero) {
    int64_t n = 6;
    const std::vector<int64_t> v = {(1LL << 40) + 5, -(1LL << 31) - 1, 1LL << 31, (1LL << 53) + 1, -256 - 7, 0};
    ct_tensor *s = ct_tensor_from_data(v.data(), 1, &n, CT_INT64, CT_DEVICE_CPU);
    ct_tensor *i32 = ct_empty(1, &n, CT_INT32, CT_DEVICE_CPU), *u8 = ct_empty(1, &n, CT_UINT8, CT_DEVICE_CPU);
    ct_tensor *f32 = ct_empty(1, &n, CT_FLOAT32, CT_DEVICE_CPU), *b = ct_empty(1, &n, CT_BOOL, CT_DEVICE_CPU);
    ct_tensor *back = ct_empty(1, &n, CT_FLOAT32, CT_DEVICE_CPU);
    ASSERT_EQ(ct_copy_(i32, s), CT_OK);
    ASSERT_EQ(ct_copy_(u8, s), CT_OK);
    ASSERT_EQ(ct_copy_(f32, s), CT_OK);
    ASSERT_EQ(ct_copy_(b, u8), CT_OK);   // uint8 -> bool: the low bytes 5, 255, 0, 1, 249, 0
    ASSERT_EQ(ct_copy_(back, b), CT_OK); // bool -> float32
    std::vector<int32_t> gi(6);
    std::vector<uint8_t> gu(6), gb(6);
    std::vector<float> gf(6), gback(6);
    ASSERT_EQ(ct_copy_to_buffer(i32, gi.data(), 6 * sizeof(int32_t)), CT_OK);
    ASSERT_EQ(ct_copy_to_buffer(u8, gu.data(), 6), CT_OK);
    ASSERT_EQ(ct_copy_to_buffer(b, gb.data(), 6), CT_OK);
    ASSERT_EQ(ct_copy_to_buffer(f32, gf.data(), 6 * sizeof(float)), CT_OK);
    ASSERT_EQ(ct_copy_to_buffer(back, gback.data(), 6 * sizeof(float)), CT_OK);
    EXPECT_EQ(gi, (std::vector<int32_t>{5, 2147483647, -2147483647 - 1, 1, -263, 0}));
    EXPECT_EQ(gu, (std::vector<uint8_t>{5, 255, 0, 1, 249, 0}));
    EXPECT_EQ(gb, (std::vector<uint8_t>{1, 1, 0, 1, 1, 0}));
    EXPECT_EQ(gback, (std::vector<float>{1, 1, 0, 1, 1, 0}));
    // 2^53 + 1 rounds to the nearest float32, 2^53; 2^40 + 5 to 2^40
    EXPECT_EQ(gf, (std::vector<float>{1099511627776.0f, -2147483648.0f, 2147483648.0f, 9007199254740992.0f, -263.0f, 0}));
    ct_release(s), ct_release(i32), ct_release(u8), ct_release(f32), ct_release(b), ct_release(back);
}

TEST(ConvertingCopy, LargeFloat32ToFloat64IsExactOnEveryThread) {
    // 300 x 1031 elements: above the parallel threshold, with a ragged chunk split, contiguous and transposed
    const int64_t rows = 300, cols = 1031, n = rows * cols, shape[2] = {rows, cols};
    std::vector<float> x((size_t)n);
    for (int64_t i = 0; i < n; i++) x[(size_t)i] = (float)i * 0.37f - 1000.0f;
    ct_tensor *s = ct_tensor_from_data(x.data(), 2, shape, CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *st = ct_t(s), *d = ct_empty(2, shape, CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *dt = ct_empty(2, std::vector<int64_t>{cols, rows}.data(), CT_FLOAT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_copy_(d, s), CT_OK);
    ASSERT_EQ(ct_copy_(dt, st), CT_OK);
    std::vector<double> got((size_t)n), got_t((size_t)n);
    ASSERT_EQ(ct_copy_to_buffer(d, got.data(), got.size() * sizeof(double)), CT_OK);
    ASSERT_EQ(ct_copy_to_buffer(dt, got_t.data(), got_t.size() * sizeof(double)), CT_OK);
    int64_t bad = 0, bad_t = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            bad += got[(size_t)(r * cols + c)] != (double)x[(size_t)(r * cols + c)];
            bad_t += got_t[(size_t)(c * rows + r)] != (double)x[(size_t)(r * cols + c)];
        }
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(bad_t, 0);
    ct_release(s), ct_release(st), ct_release(d), ct_release(dt);
}

} // namespace
