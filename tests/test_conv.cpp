// Tests of the conv family (ctorch/conv.h): op cases for conv2d, max_pool2d and max_pool2d_with_indices against a
// float64 reference written here as the plain nested loops of the definitions, gradient checks, values and gradients
// from PyTorch (tests/fixtures/conv_reference.h, made by conv_reference.py), ties, empty batches, and every error
// with PyTorch's words.
//
// Tolerances. A float32 conv2d output is a dot product of length K = C/groups * kH * kW (<= 72 here) plus a bias,
// computed by BLAS on float32 inputs: normalised mean squared error about K * u^2, at most K^2 * u^2 = 72^2 * 3.6e-15
// = 2e-11, under the 1e-10 used for float32 cases; float64 cases use 1e-24. Max pooling picks an input value: exact.
#include <gtest/gtest.h>

#include <cmath>

#include "fixtures/conv_reference.h"
#include "harness.h"
#include "test_helpers.h"

namespace {

using cth::Ref;

constexpr double F32_NMSE = 1e-10, F64_NMSE = 1e-24;

struct Conv {
    int64_t stride[2] = {1, 1}, padding[2] = {0, 0}, dilation[2] = {1, 1}, groups = 1;
};

struct Pool {
    int64_t kernel[2] = {2, 2}, stride[2] = {0, 0}, padding[2] = {0, 0}, dilation[2] = {1, 1};
    bool ceil_mode = false;
};

// ---- references ------------------------------------------------------------------------------------------------------

// F.conv2d by its definition: y[n, o, i, j] = b[o] + sum over c in o's group, (p, q) of
// x[n, c, i * s - pad + p * d, j * s - pad + q * d] * w[o, c - group start, p, q], padding reading zeros.
Ref conv2d_ref(const Ref &xin, const Ref &w, const Ref *b, const Conv &a) {
    bool unbatched = xin.shape.size() == 3;
    Ref x = xin;
    if (unbatched) x.shape.insert(x.shape.begin(), 1);
    int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
    int64_t O = w.shape[0], Cg = w.shape[1], kH = w.shape[2], kW = w.shape[3], Og = O / a.groups;
    int64_t oH = (H + 2 * a.padding[0] - a.dilation[0] * (kH - 1) - 1) / a.stride[0] + 1;
    int64_t oW = (W + 2 * a.padding[1] - a.dilation[1] * (kW - 1) - 1) / a.stride[1] + 1;
    Ref y{{N, O, oH, oW}, std::vector<double>((size_t)(N * O * oH * oW))};
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t i = 0; i < oH; i++)
                for (int64_t j = 0; j < oW; j++) {
                    double s = b ? b->values[(size_t)o] : 0.0;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t p = 0; p < kH; p++)
                            for (int64_t q = 0; q < kW; q++) {
                                int64_t h = i * a.stride[0] - a.padding[0] + p * a.dilation[0];
                                int64_t v = j * a.stride[1] - a.padding[1] + q * a.dilation[1];
                                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                                int64_t cin = (o / Og) * Cg + c;
                                s += x.values[(size_t)(((n * C + cin) * H + h) * W + v)] *
                                     w.values[(size_t)(((o * Cg + c) * kH + p) * kW + q)];
                            }
                    y.values[(size_t)(((n * O + o) * oH + i) * oW + j)] = s;
                }
    if (unbatched) y.shape.erase(y.shape.begin());
    return y;
}

int64_t pool_out(int64_t in, int64_t k, int64_t pad, int64_t s, int64_t d, bool ceil_mode) {
    int64_t num = in + 2 * pad - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
    int64_t out = (int64_t)std::floor((double)num / (double)s) + 1;
    if (ceil_mode && (out - 1) * s >= in + pad) out--;
    return out;
}

// F.max_pool2d by its definition: the largest input in each dilated window, positions in the padding left out; the
// first (row-major) of equal maxima. indices: true for the positions (h * W + w) instead of the values.
Ref max_pool2d_ref(const Ref &xin, const Pool &a, bool indices) {
    bool unbatched = xin.shape.size() == 3;
    Ref x = xin;
    if (unbatched) x.shape.insert(x.shape.begin(), 1);
    int64_t s[2] = {a.stride[0] ? a.stride[0] : a.kernel[0], a.stride[1] ? a.stride[1] : a.kernel[1]};
    int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
    int64_t oH = pool_out(H, a.kernel[0], a.padding[0], s[0], a.dilation[0], a.ceil_mode);
    int64_t oW = pool_out(W, a.kernel[1], a.padding[1], s[1], a.dilation[1], a.ceil_mode);
    Ref y{{N, C, oH, oW}, std::vector<double>((size_t)(N * C * oH * oW))};
    for (int64_t plane = 0; plane < N * C; plane++)
        for (int64_t i = 0; i < oH; i++)
            for (int64_t j = 0; j < oW; j++) {
                double best = -INFINITY;
                int64_t at = -1;
                for (int64_t p = 0; p < a.kernel[0]; p++)
                    for (int64_t q = 0; q < a.kernel[1]; q++) {
                        int64_t h = i * s[0] - a.padding[0] + p * a.dilation[0];
                        int64_t v = j * s[1] - a.padding[1] + q * a.dilation[1];
                        if (h < 0 || h >= H || v < 0 || v >= W) continue;
                        double val = x.values[(size_t)((plane * H + h) * W + v)];
                        if (at < 0 || val > best) best = val, at = h * W + v;
                    }
                y.values[(size_t)((plane * oH + i) * oW + j)] = indices ? (double)at : best;
            }
    if (unbatched) y.shape.erase(y.shape.begin());
    return y;
}

// ---- op cases ---------------------------------------------------------------------------------------------------------

void add_conv(const char *name, std::vector<cth::InputSpec> in, Conv a, double nmse = F32_NMSE) {
    bool bias = in.size() == 3;
    cth::OpCase c{"conv2d", name, std::move(in),
                  [a, bias](const cth::Inputs &t) {
                      return ct_conv2d(t[0], t[1], bias ? t[2] : nullptr, a.stride, a.padding, a.dilation, a.groups);
                  },
                  [a, bias](const std::vector<Ref> &r) { return conv2d_ref(r[0], r[1], bias ? &r[2] : nullptr, a); }};
    c.max_nmse = nmse;
    cth::add_case(std::move(c));
}

void add_pool(const char *name, cth::InputSpec in, Pool a, bool with_indices = false) {
    cth::OpCase c{with_indices ? "max_pool2d_with_indices" : "max_pool2d", name, {std::move(in)},
                  [a, with_indices](const cth::Inputs &t) -> ct_tensor * {
                      if (!with_indices) return ct_max_pool2d(t[0], a.kernel, a.stride, a.padding, a.dilation, a.ceil_mode);
                      ct_tensor *idx = nullptr;
                      ct_tensor *v = ct_max_pool2d_with_indices(t[0], a.kernel, a.stride, a.padding, a.dilation,
                                                                a.ceil_mode, &idx);
                      ct_release(v);
                      return idx;
                  },
                  [a, with_indices](const std::vector<Ref> &r) { return max_pool2d_ref(r[0], a, with_indices); }};
    c.max_nmse = 0;
    if (with_indices) c.expected_dtype = CT_INT64;
    cth::add_case(std::move(c));
}

const int conv_cases = [] {
    using namespace cth;
    Conv plain;
    add_conv("f32_bias", {uniform({2, 3, 8, 8}), uniform({4, 3, 3, 3}), uniform({4})}, plain);
    add_conv("f32_no_bias", {uniform({2, 3, 8, 8}), uniform({4, 3, 3, 3})}, plain);
    Conv strided;
    strided.stride[0] = strided.stride[1] = 2, strided.padding[0] = strided.padding[1] = 1;
    add_conv("stride2_pad1", {uniform({2, 3, 9, 9}), uniform({5, 3, 3, 3}), uniform({5})}, strided);
    Conv dilated;
    dilated.dilation[0] = dilated.dilation[1] = 2, dilated.padding[0] = dilated.padding[1] = 2;
    add_conv("dilation2_pad2", {uniform({1, 2, 7, 8}), uniform({3, 2, 3, 3})}, dilated);
    Conv uneven;
    uneven.stride[0] = 1, uneven.stride[1] = 3, uneven.padding[0] = 2, uneven.padding[1] = 0,
    uneven.dilation[0] = 1, uneven.dilation[1] = 2;
    add_conv("asymmetric_kernel_stride_padding_dilation", {uniform({2, 2, 6, 11}), uniform({3, 2, 2, 3}), uniform({3})},
             uneven);
    Conv grouped;
    grouped.groups = 2, grouped.padding[0] = grouped.padding[1] = 1;
    add_conv("groups2", {uniform({2, 4, 7, 7}), uniform({6, 2, 3, 3}), uniform({6})}, grouped);
    Conv depthwise;
    depthwise.groups = 4;
    add_conv("depthwise", {uniform({3, 4, 6, 5}), uniform({8, 1, 3, 2}), uniform({8})}, depthwise);
    add_conv("pointwise_1x1", {uniform({2, 6, 5, 4}), uniform({3, 6, 1, 1}), uniform({3})}, plain);
    Conv pointwise_grouped;
    pointwise_grouped.groups = 3;
    add_conv("pointwise_1x1_groups3", {uniform({2, 6, 5, 4}), uniform({3, 2, 1, 1})}, pointwise_grouped);
    add_conv("non_contiguous_input", {transposed(uniform({2, 3, 7, 6})), uniform({4, 3, 3, 3}), uniform({4})}, strided);
    add_conv("non_contiguous_weight", {uniform({2, 3, 6, 6}), transposed(uniform({4, 3, 3, 2}))}, plain);
    add_conv("unbatched_3d_input", {uniform({3, 6, 7}), uniform({2, 3, 3, 3}), uniform({2})}, strided);
    add_conv("kernel_as_large_as_padded_input", {uniform({1, 2, 3, 4}), uniform({2, 2, 5, 6})}, strided);
    add_conv("f64_groups_dilation", {normal({2, 4, 8, 7}, CT_FLOAT64), normal({4, 2, 2, 3}, CT_FLOAT64),
                                     normal({4}, CT_FLOAT64)},
             [] {
                 Conv a;
                 a.groups = 2, a.dilation[0] = 2, a.stride[1] = 2, a.padding[1] = 1;
                 return a;
             }(),
             F64_NMSE);
    // "same" convolutions (stride 1, output as wide as the input): im2col's contiguous copy per kernel position
    add_conv("same_5x5_pad2", {uniform({2, 3, 6, 7}), uniform({2, 3, 5, 5}), uniform({2})}, [] {
        Conv a;
        a.padding[0] = a.padding[1] = 2;
        return a;
    }());
    add_conv("same_width_dilated_1x3", {normal({2, 2, 5, 4}), normal({3, 2, 2, 3})}, [] {
        Conv a;
        a.dilation[1] = 2, a.padding[1] = 2; // output 4 rows, as wide as the input
        return a;
    }());
    add_conv("same_width_one_column", {uniform({1, 2, 4, 1}), uniform({2, 2, 3, 3})}, [] {
        Conv a;
        a.padding[0] = a.padding[1] = 1;
        return a;
    }());
    add_conv("cnn_layer_16_to_32_batch8", {uniform({8, 16, 14, 14}), uniform({32, 16, 3, 3}), uniform({32})},
             [] {
                 Conv a;
                 a.padding[0] = a.padding[1] = 1;
                 return a;
             }(),
             // K = 144: 144^2 * u^2 = 7.5e-11 at worst
             F32_NMSE);
    return 0;
}();

const int pool_cases = [] {
    using namespace cth;
    Pool two;
    add_pool("kernel2", uniform({2, 3, 8, 8}), two);
    add_pool("odd_size_floor", uniform({1, 2, 7, 9}), two);
    Pool ceil = two;
    ceil.ceil_mode = true;
    add_pool("odd_size_ceil_mode", uniform({1, 2, 7, 9}), ceil);
    Pool padded;
    padded.kernel[0] = padded.kernel[1] = 3, padded.stride[0] = padded.stride[1] = 1,
    padded.padding[0] = padded.padding[1] = 1;
    add_pool("kernel3_stride1_pad1", normal({2, 2, 5, 6}), padded);
    Pool dilated;
    dilated.kernel[0] = 2, dilated.kernel[1] = 3, dilated.stride[0] = 1, dilated.stride[1] = 2,
    dilated.dilation[0] = 2, dilated.dilation[1] = 1, dilated.padding[1] = 1;
    add_pool("dilation_asymmetric", normal({2, 3, 7, 8}), dilated);
    Pool ceil_padded = padded;
    ceil_padded.stride[0] = ceil_padded.stride[1] = 2, ceil_padded.ceil_mode = true;
    add_pool("ceil_mode_padding_last_window_dropped", normal({1, 2, 6, 5}), ceil_padded);
    add_pool("non_contiguous_input", transposed(uniform({2, 3, 6, 8})), two);
    add_pool("unbatched_3d_input", uniform({3, 6, 6}), padded);
    add_pool("f64", normal({2, 2, 6, 6}, CT_FLOAT64), dilated);
    add_pool("ties_small_integers", integers({2, 2, 6, 6}, -2, 2, CT_FLOAT32), padded);
    add_pool("indices_kernel2", uniform({2, 3, 8, 8}), two, true);
    add_pool("indices_dilation_padding", normal({2, 3, 7, 8}), dilated, true);
    add_pool("indices_ties_first_wins", integers({2, 2, 6, 6}, -2, 2, CT_FLOAT32), padded, true);
    add_pool("indices_unbatched_ceil_mode", normal({2, 6, 5}), ceil_padded, true);
    return 0;
}();

// ---- gradient checks ---------------------------------------------------------------------------------------------------

const int grad_cases = [] {
    using namespace cth;
    auto conv = [](Conv a, bool bias) {
        return [a, bias](const Inputs &t) {
            return ct_conv2d(t[0], t[1], bias ? t[2] : nullptr, a.stride, a.padding, a.dilation, a.groups);
        };
    };
    Conv plain, strided, grouped, dilated;
    strided.stride[0] = 2, strided.stride[1] = 1, strided.padding[0] = 1, strided.padding[1] = 2;
    grouped.groups = 2, grouped.padding[0] = grouped.padding[1] = 1;
    dilated.dilation[0] = 2, dilated.dilation[1] = 1, dilated.stride[1] = 2;
    add_grad_case({"conv2d", "bias", {uniform({2, 3, 5, 5}), uniform({2, 3, 3, 3}), uniform({2})}, {}, conv(plain, true)});
    add_grad_case({"conv2d", "no_bias_stride_padding", {uniform({2, 2, 5, 4}), uniform({3, 2, 2, 3})}, {},
                   conv(strided, false)});
    add_grad_case({"conv2d", "groups2", {uniform({1, 4, 4, 4}), uniform({4, 2, 3, 3}), uniform({4})}, {},
                   conv(grouped, true)});
    add_grad_case({"conv2d", "dilation", {uniform({2, 2, 6, 5}), uniform({2, 2, 2, 2}), uniform({2})}, {},
                   conv(dilated, true)});
    Conv same;
    same.padding[0] = same.padding[1] = 2;
    add_grad_case({"conv2d", "same_5x5", {uniform({2, 2, 5, 6}), uniform({2, 2, 5, 5}), uniform({2})}, {},
                   conv(same, true)});
    add_grad_case({"conv2d", "pointwise_1x1", {uniform({2, 3, 3, 4}), uniform({2, 3, 1, 1}), uniform({2})}, {},
                   conv(plain, true)});
    add_grad_case({"conv2d", "unbatched_non_contiguous", {transposed(uniform({2, 5, 4})), uniform({3, 2, 2, 2})}, {},
                   conv(strided, false)});
    add_grad_case({"conv2d", "wrt_weight_only", {uniform({2, 2, 4, 4}), uniform({2, 2, 3, 3}), uniform({2})}, {1},
                   conv(plain, true)});

    auto pool = [](Pool a) {
        return [a](const Inputs &t) { return ct_max_pool2d(t[0], a.kernel, a.stride, a.padding, a.dilation, a.ceil_mode); };
    };
    Pool two, overlapping, dilated_pool;
    overlapping.kernel[0] = overlapping.kernel[1] = 3, overlapping.stride[0] = overlapping.stride[1] = 1,
    overlapping.padding[0] = overlapping.padding[1] = 1;
    dilated_pool.kernel[0] = 2, dilated_pool.kernel[1] = 3, dilated_pool.dilation[0] = 2, dilated_pool.padding[1] = 1,
    dilated_pool.stride[0] = 1, dilated_pool.stride[1] = 2, dilated_pool.ceil_mode = true;
    add_grad_case({"max_pool2d", "kernel2", {uniform({2, 2, 4, 6})}, {}, pool(two)});
    add_grad_case({"max_pool2d", "overlapping_windows", {uniform({1, 2, 5, 5})}, {}, pool(overlapping)});
    add_grad_case({"max_pool2d", "dilation_ceil_mode", {uniform({2, 1, 6, 7})}, {}, pool(dilated_pool)});
    add_grad_case({"max_pool2d", "unbatched_non_contiguous", {transposed(uniform({2, 4, 6}))}, {}, pool(overlapping)});
    add_grad_case({"max_pool2d_with_indices", "values", {uniform({2, 2, 5, 6})}, {}, [](const Inputs &t) {
                       int64_t k[2] = {3, 2}, s[2] = {2, 2}, p[2] = {1, 0};
                       ct_tensor *idx = nullptr;
                       ct_tensor *v = ct_max_pool2d_with_indices(t[0], k, s, p, nullptr, false, &idx);
                       ct_release(idx);
                       return v;
                   }});
    return 0;
}();

// ---- PyTorch's numbers --------------------------------------------------------------------------------------------------

ct_tensor *from_f64(const double *v, std::vector<int64_t> shape) {
    return ct_tensor_from_data(v, (int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
}

void expect_near_all(const std::vector<double> &got, const double *want, size_t n, const char *what) {
    ASSERT_EQ(got.size(), n) << what;
    for (size_t i = 0; i < n; i++) ASSERT_NEAR(got[i], want[i], 1e-12 * (1 + std::fabs(want[i]))) << what << " at " << i;
}

TEST(ConvPyTorch, Conv2dEveryArgumentAndItsGradients) {
    ct_scope_begin();
    ct_tensor *x = from_f64(convref_x, CONVREF_X_SHAPE), *w = from_f64(convref_w, CONVREF_W_SHAPE);
    ct_tensor *b = from_f64(convref_b, CONVREF_B_SHAPE), *g = from_f64(convref_g, CONVREF_G_SHAPE);
    for (ct_tensor *t : {x, w, b}) ASSERT_EQ(ct_set_requires_grad(t, true), CT_OK);
    int64_t stride[2] = {2, 1}, padding[2] = {1, 2}, dilation[2] = {1, 2};
    ct_tensor *y = ct_conv2d(x, w, b, stride, padding, dilation, 2);
    ASSERT_TRUE(y) << ct_last_error();
    EXPECT_EQ(shape_of(y), (std::vector<int64_t>CONVREF_Y_SHAPE));
    expect_near_all(values_of(y), convref_y, sizeof convref_y / sizeof(double), "y");
    ASSERT_EQ(ct_backward(y, g, false), CT_OK) << ct_last_error();
    expect_near_all(values_of(ct_grad(x)), convref_dx, sizeof convref_dx / sizeof(double), "dx");
    expect_near_all(values_of(ct_grad(w)), convref_dw, sizeof convref_dw / sizeof(double), "dw");
    expect_near_all(values_of(ct_grad(b)), convref_db, sizeof convref_db / sizeof(double), "db");
    ct_scope_end();
}

TEST(ConvPyTorch, MaxPool2dWithTiesIndicesAndGradient) {
    ct_scope_begin();
    ct_tensor *p = from_f64(poolref_p, POOLREF_P_SHAPE), *g = from_f64(poolref_pg, POOLREF_PG_SHAPE);
    ASSERT_EQ(ct_set_requires_grad(p, true), CT_OK);
    int64_t kernel[2] = {3, 2}, stride[2] = {2, 1}, padding[2] = {1, 1}, dilation[2] = {1, 2};
    ct_tensor *idx = nullptr;
    ct_tensor *v = ct_max_pool2d_with_indices(p, kernel, stride, padding, dilation, true, &idx);
    ASSERT_TRUE(v && idx) << ct_last_error();
    EXPECT_EQ(shape_of(v), (std::vector<int64_t>POOLREF_V_SHAPE));
    EXPECT_EQ(ct_tensor_dtype(idx), CT_INT64);
    expect_near_all(values_of(v), poolref_v, sizeof poolref_v / sizeof(double), "values");
    std::vector<double> want_idx(std::begin(poolref_idx), std::end(poolref_idx));
    EXPECT_EQ(values_of(idx), want_idx);
    ASSERT_EQ(ct_backward(v, g, false), CT_OK) << ct_last_error();
    expect_near_all(values_of(ct_grad(p)), poolref_dp, sizeof poolref_dp / sizeof(double), "dp");
    ct_release(idx);
    ct_scope_end();
}

// ---- by hand ------------------------------------------------------------------------------------------------------------

TEST(ConvExamples, TiesGoToTheFirstElementAndTakeTheGradient) {
    ct_scope_begin();
    ct_tensor *x = tensor_f32({5, 5, 5, 5}, {1, 1, 2, 2});
    ASSERT_EQ(ct_set_requires_grad(x, true), CT_OK);
    int64_t k[2] = {2, 2};
    ct_tensor *idx = nullptr;
    ct_tensor *v = ct_max_pool2d_with_indices(x, k, nullptr, nullptr, nullptr, false, &idx);
    ASSERT_TRUE(v) << ct_last_error();
    EXPECT_EQ(values_of(v), (std::vector<double>{5}));
    EXPECT_EQ(values_of(idx), (std::vector<double>{0}));
    ASSERT_EQ(ct_backward(ct_sum(v, 0, nullptr, false), nullptr, false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{1, 0, 0, 0}));
    ct_release(idx);
    ct_scope_end();
}

TEST(ConvExamples, NanWinsTheWindow) {
    ct_scope_begin();
    ct_tensor *x = tensor_f32({1, NAN, 3, 2}, {1, 1, 2, 2});
    int64_t k[2] = {2, 2};
    ct_tensor *idx = nullptr;
    ct_tensor *v = ct_max_pool2d_with_indices(x, k, nullptr, nullptr, nullptr, false, &idx);
    ASSERT_TRUE(v) << ct_last_error();
    EXPECT_TRUE(std::isnan(values_of(v)[0]));
    EXPECT_EQ(values_of(idx), (std::vector<double>{1}));
    ct_release(idx);
    ct_scope_end();
}

// The plain 2x2 / stride 2 window has its own loop; ceil_mode on an odd width sends the same windows (and one more
// column) through the general loop: values and indices must agree, with ties, NaN and -inf in the windows.
TEST(ConvExamples, Plain2x2PoolMatchesTheGeneralLoop) {
    ct_scope_begin();
    const int64_t n = 2, c = 3, h = 8, w = 9;
    std::vector<float> v(n * c * h * w);
    uint32_t state = 7;
    for (float &e : v) {
        state = state * 1664525u + 1013904223u;
        uint32_t r = state >> 24;
        e = r < 8 ? NAN : r < 16 ? -INFINITY : (float)(r % 3); // many ties
    }
    ct_tensor *x = tensor_f32(v, {n, c, h, w});
    int64_t k[2] = {2, 2};
    ct_tensor *idx_fast = nullptr, *idx_general = nullptr;
    ct_tensor *fast = ct_max_pool2d_with_indices(x, k, nullptr, nullptr, nullptr, false, &idx_fast);
    ct_tensor *general = ct_max_pool2d_with_indices(x, k, nullptr, nullptr, nullptr, true, &idx_general);
    ASSERT_TRUE(fast && general) << ct_last_error();
    ASSERT_EQ(shape_of(fast), (std::vector<int64_t>{n, c, 4, 4}));
    ASSERT_EQ(shape_of(general), (std::vector<int64_t>{n, c, 4, 5}));
    ct_tensor *cut = ct_narrow(general, 3, 0, 4), *cut_idx = ct_narrow(idx_general, 3, 0, 4);
    std::vector<double> a = values_of(fast), b = values_of(cut);
    for (size_t i = 0; i < a.size(); i++)
        EXPECT_TRUE(std::isnan(a[i]) ? std::isnan(b[i]) : a[i] == b[i]) << i << ": " << a[i] << " vs " << b[i];
    EXPECT_EQ(values_of(idx_fast), values_of(cut_idx));
    ct_release(idx_fast), ct_release(idx_general);
    ct_scope_end();
}

TEST(ConvExamples, Conv2dByHand) {
    ct_scope_begin();
    // 1x1x3x3 input 1..9, 2x2 kernel of ones, bias 10: the sums of each 2x2 window plus 10
    ct_tensor *x = tensor_f32({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
    ct_tensor *w = tensor_f32({1, 1, 1, 1}, {1, 1, 2, 2}), *b = tensor_f32({10}, {1});
    ct_tensor *y = ct_conv2d(x, w, b, nullptr, nullptr, nullptr, 1);
    ASSERT_TRUE(y) << ct_last_error();
    EXPECT_EQ(shape_of(y), (std::vector<int64_t>{1, 1, 2, 2}));
    EXPECT_EQ(values_of(y), (std::vector<double>{22, 26, 34, 38}));
    int64_t pad[2] = {1, 1}, stride[2] = {2, 2};
    ct_tensor *z = ct_conv2d(x, w, nullptr, stride, pad, nullptr, 1); // windows at -1, 1 in each dim
    ASSERT_TRUE(z) << ct_last_error();
    EXPECT_EQ(values_of(z), (std::vector<double>{1, 5, 11, 28}));
    ct_scope_end();
}

TEST(ConvExamples, EmptyBatch) {
    ct_scope_begin();
    ct_tensor *x = ct_zeros(4, SHAPE(0, 3, 8, 8), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *w = ct_zeros(4, SHAPE(4, 3, 3, 3), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *y = ct_conv2d(x, w, nullptr, nullptr, nullptr, nullptr, 1);
    ASSERT_TRUE(y) << ct_last_error();
    EXPECT_EQ(shape_of(y), (std::vector<int64_t>{0, 4, 6, 6}));
    int64_t k[2] = {2, 2};
    ct_tensor *p = ct_max_pool2d(x, k, nullptr, nullptr, nullptr, false);
    ASSERT_TRUE(p) << ct_last_error();
    EXPECT_EQ(shape_of(p), (std::vector<int64_t>{0, 3, 4, 4}));
    ct_scope_end();
}

TEST(ConvExamples, ZeroInputChannelsGiveTheBias) {
    ct_scope_begin();
    ct_tensor *x = ct_zeros(4, SHAPE(1, 0, 3, 3), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *w = ct_zeros(4, SHAPE(2, 0, 2, 2), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *y = ct_conv2d(x, w, tensor_f32({1, -2}, {2}), nullptr, nullptr, nullptr, 1);
    ASSERT_TRUE(y) << ct_last_error();
    EXPECT_EQ(values_of(y), (std::vector<double>{1, 1, 1, 1, -2, -2, -2, -2}));
    ct_scope_end();
}

TEST(ConvExamples, GradFnNames) {
    ct_scope_begin();
    ct_tensor *x = ct_ones(4, SHAPE(1, 1, 4, 4), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *w = ct_ones(4, SHAPE(1, 1, 3, 3), CT_FLOAT32, CT_DEVICE_CPU);
    ASSERT_EQ(ct_set_requires_grad(w, true), CT_OK);
    ct_tensor *y = ct_conv2d(x, w, nullptr, nullptr, nullptr, nullptr, 1);
    ASSERT_TRUE(y) << ct_last_error();
    EXPECT_STREQ(ct_grad_fn_name(y), "ConvolutionBackward0");
    ASSERT_EQ(ct_set_requires_grad(x, true), CT_OK);
    int64_t k[2] = {2, 2};
    ct_tensor *p = ct_max_pool2d(x, k, nullptr, nullptr, nullptr, false);
    ASSERT_TRUE(p) << ct_last_error();
    EXPECT_STREQ(ct_grad_fn_name(p), "MaxPool2DWithIndicesBackward0");
    ct_scope_end();
}

// ---- errors -------------------------------------------------------------------------------------------------------------

ct_tensor *zeros(std::vector<int64_t> s, ct_dtype dtype = CT_FLOAT32) {
    return ct_zeros((int)s.size(), s.data(), dtype, CT_DEVICE_CPU);
}

ct_tensor *conv(ct_tensor *x, ct_tensor *w, ct_tensor *b = nullptr, std::vector<int64_t> stride = {1, 1},
                std::vector<int64_t> padding = {0, 0}, std::vector<int64_t> dilation = {1, 1}, int64_t groups = 1) {
    return ct_conv2d(x, w, b, stride.data(), padding.data(), dilation.data(), groups);
}

TEST(ConvErrors, Conv2d) {
    ct_scope_begin();
    ct_tensor *x = zeros({2, 3, 8, 8}), *w = zeros({4, 3, 3, 3});
    EXPECT_EQ(conv(zeros({3, 8}), w), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [3, 8]");
    EXPECT_EQ(conv(zeros({1, 2, 3, 8, 8}), w), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "but got input of size: [1, 2, 3, 8, 8]");
    EXPECT_EQ(conv(x, zeros({4, 3})), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "weight should have at least three dimensions");
    EXPECT_EQ(conv(x, zeros({4, 3, 3, 3, 3})), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "expected stride to be a single integer value or a list of 3 values to match the "
                               "convolution dimensions, but got stride=[1, 1]");
    EXPECT_EQ(conv(zeros({2, 5, 8, 8}), w), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "Given groups=1, weight of size [4, 3, 3, 3], expected input[2, 5, 8, 8] to have 3 "
                               "channels, but got 5 channels instead");
    EXPECT_EQ(conv(zeros({5, 8, 8}), w), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "expected input[1, 5, 8, 8] to have 3 channels, but got 5 channels instead");
    EXPECT_EQ(conv(zeros({2, 4, 8, 8}), zeros({3, 2, 3, 3}), nullptr, {1, 1}, {0, 0}, {1, 1}, 2), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of "
                               "size [[3, 2, 3, 3]] instead");
    EXPECT_EQ(conv(zeros({2, 4, 8, 8}), zeros({4, 3, 3, 3}), nullptr, {1, 1}, {0, 0}, {1, 1}, 2), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "Given groups=2, weight of size [4, 3, 3, 3], expected input[2, 4, 8, 8] to have 6 "
                               "channels, but got 4 channels instead");
    EXPECT_EQ(conv(x, w, nullptr, {1, 1}, {0, 0}, {1, 1}, 0), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "non-positive groups is not supported");
    EXPECT_EQ(conv(x, w, nullptr, {1, 0}), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "non-positive stride is not supported");
    EXPECT_EQ(conv(x, w, nullptr, {1, 1}, {-1, 0}), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "negative padding is not supported");
    EXPECT_EQ(conv(x, w, nullptr, {1, 1}, {0, 0}, {0, 1}), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "non-positive dilation is not supported");
    EXPECT_EQ(conv(x, w, zeros({5})), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "Given weight of size [4, 3, 3, 3], expected bias to be 1-dimensional with 4 elements, "
                               "but got bias of size [5] instead");
    EXPECT_EQ(conv(x, w, zeros({4, 1})), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "but got bias of size [4, 1] instead");
    EXPECT_EQ(conv(zeros({2, 3, 2, 2}), w), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size "
                               "can't be greater than actual input size");
    EXPECT_EQ(conv(zeros({2, 3, 2, 2}), w, nullptr, {1, 1}, {1, 1}, {2, 2}), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "Calculated padded input size per channel: (4 x 4). Kernel size: (5 x 5).");
    EXPECT_EQ(conv(x, zeros({4, 3, 3, 3}, CT_FLOAT64)), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "Input type (torch.FloatTensor) and weight type (torch.DoubleTensor) should be the same");
    EXPECT_EQ(conv(x, w, zeros({4}, CT_FLOAT64)), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "Input type (float) and bias type (double) should be the same");
    EXPECT_EQ(conv(zeros({2, 3, 8, 8}, CT_INT64), zeros({4, 3, 3, 3}, CT_INT64)), nullptr);
    EXPECT_ERROR(CT_ERR_NOT_IMPLEMENTED, "\"conv2d\" not implemented for 'Long'");
    ct_scope_end();
}

TEST(ConvErrors, Conv2dNullInputKeepsTheFirstError) {
    ct_scope_begin();
    ct_tensor *bad = ct_view(zeros({2, 3}), 1, SHAPE(7)); // fails: 6 elements
    ASSERT_EQ(bad, nullptr);
    std::string first = ct_last_error();
    EXPECT_EQ(conv(bad, zeros({1, 1, 1, 1})), nullptr);
    EXPECT_EQ(std::string(ct_last_error()), first);
    ct_clear_error();
    EXPECT_EQ(conv(zeros({1, 1, 2, 2}), nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "weight");
    ct_scope_end();
}

TEST(ConvErrors, Conv2dCudaTensorWithoutCuda) {
    if (cth::gpu_skip_reason().empty()) {
        ct_scope_begin();
        ct_tensor *x = zeros({1, 1, 3, 3});
        ct_tensor *w = ct_to_device(zeros({1, 1, 2, 2}), CT_DEVICE_CUDA(0));
        ASSERT_TRUE(w) << ct_last_error();
        EXPECT_EQ(conv(x, w), nullptr);
        EXPECT_ERROR(CT_ERR_DEVICE,
                     "Input type (torch.FloatTensor) and weight type (torch.cuda.FloatTensor) should be the same");
        ct_scope_end();
    } else {
        GTEST_SKIP() << cth::gpu_skip_reason();
    }
}

ct_tensor *pool(ct_tensor *x, std::vector<int64_t> k, std::vector<int64_t> s = {0, 0}, std::vector<int64_t> p = {0, 0},
                std::vector<int64_t> d = {1, 1}, bool ceil_mode = false) {
    return ct_max_pool2d(x, k.data(), s.data(), p.data(), d.data(), ceil_mode);
}

TEST(ConvErrors, MaxPool2d) {
    ct_scope_begin();
    ct_tensor *x = zeros({2, 3, 8, 8});
    EXPECT_EQ(pool(zeros({8, 8}), {2, 2}), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "non-empty 3D or 4D (batch mode) tensor expected for input");
    EXPECT_EQ(pool(x, {0, 2}, {1, 1}), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "kernel size should be greater than zero, but got kH: 0 kW: 2");
    EXPECT_EQ(pool(x, {2, 2}, {1, 0}), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "stride should not be zero");
    EXPECT_EQ(pool(x, {2, 2}, {1, -1}), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "stride should be greater than zero, but got dH: 1 dW: -1");
    EXPECT_EQ(pool(x, {2, 2}, {0, 0}, {0, -1}), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "pad must be non-negative, but got pad: -1");
    EXPECT_EQ(pool(x, {3, 2}, {0, 0}, {1, 2}), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT,
                 "pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 and dilation=1");
    EXPECT_EQ(pool(x, {3, 3}, {0, 0}, {2, 2}, {2, 2}), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT,
                 "pad should be smaller than or equal to half of kernel size, but got padW = 2, padH = 2, kW = 3, kH = 3");
    EXPECT_EQ(pool(x, {2, 2}, {0, 0}, {0, 0}, {1, -1}), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "dilation should be greater than zero, but got dilationH: 1 dilationW: -1");
    EXPECT_EQ(pool(zeros({2, 3, 1, 1}), {2, 2}), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "Given input size: (3x1x1). Calculated output size: (3x0x0). Output size is too small");
    EXPECT_EQ(pool(zeros({2, 3, 3, 1}), {2, 2}), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "Given input size: (3x3x1). Calculated output size: (3x1x0). Output size is too small");
    EXPECT_EQ(pool(zeros({2, 0, 8, 8}), {2, 2}), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE,
                 "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[2, 0, 8, 8]");
    EXPECT_EQ(pool(zeros({0, 8, 8}), {2, 2}), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "for input, but got:[0, 8, 8]");
    EXPECT_EQ(pool(zeros({2, 3, 8, 8}, CT_INT64), {2, 2}), nullptr);
    EXPECT_ERROR(CT_ERR_NOT_IMPLEMENTED, "\"max_pool2d\" not implemented for 'Long'");
    EXPECT_EQ(ct_max_pool2d(x, nullptr, nullptr, nullptr, nullptr, false), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "kernel_size");
    int64_t k[2] = {2, 2};
    EXPECT_EQ(ct_max_pool2d_with_indices(x, k, nullptr, nullptr, nullptr, false, nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "indices must not be NULL");
    ct_tensor *idx = x; // overwritten with NULL on failure
    EXPECT_EQ(ct_max_pool2d_with_indices(zeros({2, 3, 1, 1}), k, nullptr, nullptr, nullptr, false, &idx), nullptr);
    EXPECT_EQ(idx, nullptr);
    ct_clear_error();
    ct_scope_end();
}

} // namespace
