// Tests of the linalg family (ctorch/linalg.h): op cases for dot, mv, mm, bmm, matmul, addmm and linear against a
// float64 reference computed here (PyTorch's matmul rules written out plainly), hand-computed examples, every error
// with PyTorch's words, and a check that transposed operands reach BLAS without a copy.
//
// Tolerances. A float32 dot product of length K computed by BLAS carries a rounding error of about sqrt(K) * u * |a||b|
// for random data (u = 2^-24 ~ 6e-8), at worst K * u; relative to the result's norm, the normalised mean squared error
// is then about K * u^2 and at most K^2 * u^2. With K <= 128 that is at most 128^2 * 3.6e-15 = 6e-11, under the
// 1e-10 bound used for float32 cases (the inputs are float32 values, so the float64 reference sees exactly what BLAS
// saw). float64 cases use K^2 * (2^-53)^2 < 1e-27 with K <= 128: bound 1e-24. Results of K = 0 are exact.
#include <gtest/gtest.h>

#include <cmath>

#include "harness.h"

namespace {

using cth::Ref;

// A short-lived array for the C API's (n, pointer) arguments: S({2, 3}).data() lives to the end of the call.
std::vector<int64_t> S(std::initializer_list<int64_t> v) { return v; }

constexpr double F32_NMSE = 1e-10, F64_NMSE = 1e-24;

// ---- references ------------------------------------------------------------------------------------------------------

// Row-major index of the batch item `b` of a broadcast batch shape into an operand's own batch shape.
int64_t batch_index(int64_t b, const std::vector<int64_t> &batch, const std::vector<int64_t> &own) {
    int64_t idx = 0, stride = 1;
    for (int d = (int)batch.size() - 1, j = (int)own.size() - 1; d >= 0; d--, j--) {
        int64_t i = b % batch[(size_t)d];
        b /= batch[(size_t)d];
        if (j >= 0) {
            idx += (own[(size_t)j] == 1 ? 0 : i) * stride;
            stride *= own[(size_t)j];
        }
    }
    return idx;
}

// torch.matmul in float64, by its definition.
Ref matmul_ref(Ref a, Ref b) {
    bool a1 = a.shape.size() == 1, b1 = b.shape.size() == 1;
    if (a1) a.shape.insert(a.shape.begin(), 1);
    if (b1) b.shape.push_back(1);
    int64_t m = a.shape[a.shape.size() - 2], k = a.shape.back(), n = b.shape.back();
    std::vector<int64_t> ab(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2), batch;
    size_t nd = std::max(ab.size(), bb.size());
    for (size_t i = 0; i < nd; i++) {
        int64_t x = i + ab.size() >= nd ? ab[i + ab.size() - nd] : 1, y = i + bb.size() >= nd ? bb[i + bb.size() - nd] : 1;
        batch.push_back(x == 1 ? y : x);
    }
    int64_t nbatch = 1;
    for (int64_t x : batch) nbatch *= x;
    Ref out{batch, std::vector<double>((size_t)(nbatch * m * n), 0.0)};
    for (int64_t bi = 0; bi < nbatch; bi++) {
        int64_t ia = batch_index(bi, batch, ab) * m * k, ib = batch_index(bi, batch, bb) * k * n;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double s = 0;
                for (int64_t p = 0; p < k; p++) s += a.values[(size_t)(ia + i * k + p)] * b.values[(size_t)(ib + p * n + j)];
                out.values[(size_t)((bi * m + i) * n + j)] = s;
            }
    }
    if (!a1) out.shape.push_back(m);
    if (!b1) out.shape.push_back(n);
    return out;
}

// beta * input (broadcast to the result) + alpha * product; beta == 0 ignores input.
Ref add_scaled(Ref product, const Ref *input, double beta, double alpha) {
    for (size_t i = 0; i < product.values.size(); i++) {
        double x = alpha * product.values[i];
        if (input && beta != 0) {
            // broadcast: input's own index of output element i (right-aligned shapes)
            int64_t rest = (int64_t)i, idx = 0, stride = 1;
            for (int d = (int)product.shape.size() - 1, j = (int)input->shape.size() - 1; d >= 0; d--, j--) {
                int64_t c = rest % product.shape[(size_t)d];
                rest /= product.shape[(size_t)d];
                if (j >= 0) {
                    idx += (input->shape[(size_t)j] == 1 ? 0 : c) * stride;
                    stride *= input->shape[(size_t)j];
                }
            }
            x += beta * input->values[(size_t)idx];
        }
        product.values[i] = x;
    }
    return product;
}

Ref transpose_ref(const Ref &w) {
    Ref t{{w.shape[1], w.shape[0]}, std::vector<double>(w.values.size())};
    for (int64_t i = 0; i < w.shape[0]; i++)
        for (int64_t j = 0; j < w.shape[1]; j++) t.values[(size_t)(j * w.shape[0] + i)] = w.values[(size_t)(i * w.shape[1] + j)];
    return t;
}

Ref linear_ref(const std::vector<Ref> &in, bool has_bias) {
    Ref y = matmul_ref(in[0], transpose_ref(in[1]));
    return has_bias ? add_scaled(y, &in[2], 1, 1) : y;
}

auto matmul_reference = [](const std::vector<Ref> &in) { return matmul_ref(in[0], in[1]); };

// ---- cases ---------------------------------------------------------------------------------------------------------------

using Run = std::function<ct_tensor *(const cth::Inputs &)>;

Run two(ct_tensor *(*f)(const ct_tensor *, const ct_tensor *)) {
    return [f](const cth::Inputs &in) { return f(in[0], in[1]); };
}

void add(cth::OpCase c, double nmse) {
    c.max_nmse = nmse;
    cth::add_case(std::move(c));
}

void register_products() {
    using namespace cth;
    // dot and mv
    add({"dot", "f32_k100", {uniform({100}), uniform({100})}, two(ct_dot), matmul_reference}, F32_NMSE);
    add({"dot", "f64_strided",
         {normal({2, 33}, CT_FLOAT64), normal({33}, CT_FLOAT64)},
         [](const Inputs &in) -> ct_tensor * {
             ct_tensor *col = ct_select(in[0], 0, 1); // contiguous row 1
             ct_tensor *every = ct_slice(in[1], 0, 0, 33, 2); // stride 2, 17 elements
             ct_tensor *head = ct_narrow(col, 0, 0, 17);
             ct_tensor *out = ct_dot(head, every);
             ct_release(col), ct_release(every), ct_release(head);
             return out;
         },
         [](const std::vector<Ref> &in) {
             Ref a{{17}, {}}, b{{17}, {}};
             for (int i = 0; i < 17; i++) a.values.push_back(in[0].values[(size_t)(33 + i)]), b.values.push_back(in[1].values[(size_t)(2 * i)]);
             return matmul_ref(a, b);
         }},
        F64_NMSE);
    add({"mv", "f32", {uniform({6, 40}), uniform({40})}, two(ct_mv), matmul_reference}, F32_NMSE);
    add({"mv", "transposed_matrix_f64", {transposed(normal({7, 5}, CT_FLOAT64)), normal({5}, CT_FLOAT64)}, two(ct_mv),
         matmul_reference},
        F64_NMSE);
    // mm
    add({"mm", "f32_5x7x3", {uniform({5, 7}), uniform({7, 3})}, two(ct_mm), matmul_reference}, F32_NMSE);
    add({"mm", "transposed_a", {transposed(uniform({9, 16})), uniform({16, 4})}, two(ct_mm), matmul_reference}, F32_NMSE);
    add({"mm", "transposed_b", {uniform({9, 16}), transposed(uniform({16, 4}))}, two(ct_mm), matmul_reference}, F32_NMSE);
    add({"mm", "both_transposed_f64", {transposed(normal({12, 8}, CT_FLOAT64)), transposed(normal({8, 10}, CT_FLOAT64))},
         two(ct_mm), matmul_reference},
        F64_NMSE);
    add({"mm", "larger_f32_k128", {uniform({130, 128}), uniform({128, 90})}, two(ct_mm), matmul_reference}, F32_NMSE);
    add({"mm", "zero_k_gives_zeros", {uniform({3, 0}), uniform({0, 4})}, two(ct_mm), matmul_reference}, 0);
    add({"mm", "zero_m", {uniform({0, 3}), uniform({3, 4})}, two(ct_mm), matmul_reference}, 0);
    add({"mm", "zero_n", {uniform({2, 3}), uniform({3, 0})}, two(ct_mm), matmul_reference}, 0);
    add({"mm", "vector_shaped_1xk_kx1", {transposed(uniform({6, 1})), transposed(uniform({1, 6}))}, two(ct_mm),
         matmul_reference},
        F32_NMSE);
    add({"mm", "strided_operand_is_copied",
         {uniform({5, 14}), uniform({7, 3})},
         [](const Inputs &in) -> ct_tensor * {
             ct_tensor *every_other = ct_slice(in[0], 1, 0, 14, 2); // strides (14, 2): BLAS cannot read it as is
             ct_tensor *out = ct_mm(every_other, in[1]);
             ct_release(every_other);
             return out;
         },
         [](const std::vector<Ref> &in) {
             Ref a{{5, 7}, {}};
             for (int i = 0; i < 5; i++)
                 for (int j = 0; j < 7; j++) a.values.push_back(in[0].values[(size_t)(i * 14 + 2 * j)]);
             return matmul_ref(a, in[1]);
         }},
        F32_NMSE);
    // bmm
    add({"bmm", "f32", {uniform({4, 3, 5}), uniform({4, 5, 2})}, two(ct_bmm), matmul_reference}, F32_NMSE);
    add({"bmm", "transposed_both_f64", {transposed(normal({3, 6, 4}, CT_FLOAT64)), transposed(normal({3, 4, 2}, CT_FLOAT64))},
         two(ct_bmm), matmul_reference},
        F64_NMSE);
    add({"bmm", "expanded_batch_stride_0",
         {uniform({1, 4, 5}), uniform({3, 5, 6})},
         [](const Inputs &in) -> ct_tensor * {
             ct_tensor *e = ct_expand(in[0], 3, S({3, 4, 5}).data());
             ct_tensor *out = ct_bmm(e, in[1]);
             ct_release(e);
             return out;
         },
         matmul_reference},
        F32_NMSE);
    // attention's q @ k^T with an odd batch: the CPU splits small batched products by item across its threads, each
    // a single-threaded BLAS call (runtime/cpu/blas.c); k^T reaches BLAS as a transpose flag
    add({"bmm", "odd_batch_q_kT_split_by_item", {uniform({7, 33, 16}), transposed(uniform({7, 16, 40}))}, two(ct_bmm),
         matmul_reference},
        F32_NMSE);
    add({"bmm", "zero_batch", {uniform({0, 3, 5}), uniform({0, 5, 2})}, two(ct_bmm), matmul_reference}, 0);
    add({"bmm", "zero_k", {uniform({2, 3, 0}), uniform({2, 0, 2})}, two(ct_bmm), matmul_reference}, 0);
}

void register_matmul() {
    using namespace cth;
    auto mm_case = [](const char *name, std::vector<InputSpec> in, double nmse) {
        add({"matmul", name, std::move(in), two(ct_matmul), matmul_reference}, nmse);
    };
    mm_case("1d_1d_dot", {uniform({64}), uniform({64})}, F32_NMSE);
    mm_case("2d_1d_mv", {uniform({5, 8}), uniform({8})}, F32_NMSE);
    mm_case("1d_2d_row", {uniform({8}), uniform({8, 6})}, F32_NMSE);
    mm_case("1d_2d_transposed", {uniform({8}), transposed(uniform({8, 6}))}, F32_NMSE);
    mm_case("2d_2d", {normal({4, 9}, CT_FLOAT64), normal({9, 3}, CT_FLOAT64)}, F64_NMSE);
    mm_case("3d_2d_folded", {uniform({2, 3, 4}), uniform({4, 5})}, F32_NMSE);
    mm_case("3d_2d_weight_transposed", {uniform({2, 3, 4}), transposed(uniform({4, 5}))}, F32_NMSE);
    mm_case("3d_transposed_2d_not_foldable", {transposed(uniform({2, 3, 4})), uniform({4, 5})}, F32_NMSE);
    mm_case("4d_1d_folded_mv", {uniform({2, 2, 3, 4}), uniform({4})}, F32_NMSE);
    mm_case("1d_3d", {uniform({4}), uniform({3, 4, 5})}, F32_NMSE);
    mm_case("2d_3d_broadcast", {uniform({3, 4}), uniform({2, 4, 5})}, F32_NMSE);
    mm_case("3d_3d", {uniform({3, 2, 7}), uniform({3, 7, 4})}, F32_NMSE);
    mm_case("batch_broadcast_2x1_vs_5", {uniform({2, 1, 3, 4}), uniform({5, 4, 6})}, F32_NMSE);
    mm_case("batch_broadcast_transposed_f64", {transposed(normal({2, 1, 4, 3}, CT_FLOAT64)),
                                                transposed(normal({1, 3, 3, 5}, CT_FLOAT64))},
            F64_NMSE);
    mm_case("3d_1d_not_foldable", {transposed(uniform({3, 5, 4})), uniform({4})}, F32_NMSE);
    mm_case("zero_batch", {uniform({0, 2, 3}), uniform({3, 4})}, 0);
    mm_case("zero_k_batched", {uniform({2, 3, 0}), uniform({2, 0, 4})}, 0);
}

void register_addmm_linear() {
    using namespace cth;
    auto addmm_run = [](double beta, double alpha) {
        return [beta, alpha](const Inputs &in) { return ct_addmm(in[0], in[1], in[2], beta, alpha); };
    };
    auto addmm_ref = [](double beta, double alpha) {
        return [beta, alpha](const std::vector<Ref> &in) {
            return add_scaled(matmul_ref(in[1], in[2]), &in[0], beta, alpha);
        };
    };
    add({"addmm", "beta_half_alpha_two", {uniform({4, 6}), uniform({4, 5}), uniform({5, 6})}, addmm_run(0.5, 2),
         addmm_ref(0.5, 2)},
        F32_NMSE);
    add({"addmm", "row_bias_broadcast", {uniform({6}), uniform({4, 5}), transposed(uniform({5, 6}))}, addmm_run(1, 1),
         addmm_ref(1, 1)},
        F32_NMSE);
    add({"addmm", "scalar_like_input_f64", {normal({1, 1}, CT_FLOAT64), transposed(normal({3, 8}, CT_FLOAT64)),
                                            normal({8, 2}, CT_FLOAT64)},
         addmm_run(-1.5, 0.25), addmm_ref(-1.5, 0.25)},
        F64_NMSE);
    add({"addmm", "beta_zero_ignores_nan",
         {given({2, 3}, {NAN, 1, INFINITY, 2, NAN, 3}), uniform({2, 4}), uniform({4, 3})}, addmm_run(0, 1),
         addmm_ref(0, 1)},
        F32_NMSE);
    // 3 * input rounds once in float32: NMSE <= u^2 ~ 4e-15
    add({"addmm", "zero_k_scales_input", {uniform({3, 2}), uniform({3, 0}), uniform({0, 2})}, addmm_run(3, 1),
         addmm_ref(3, 1)},
        F32_NMSE);
    auto linear_run = [](bool bias) {
        return [bias](const Inputs &in) { return ct_linear(in[0], in[1], bias ? in[2] : nullptr); };
    };
    auto linear_reference = [](bool bias) { return [bias](const std::vector<Ref> &in) { return linear_ref(in, bias); }; };
    add({"linear", "2d_with_bias", {uniform({5, 8}), uniform({3, 8}), uniform({3})}, linear_run(true),
         linear_reference(true)},
        F32_NMSE);
    add({"linear", "3d_with_bias_f64", {normal({2, 4, 16}, CT_FLOAT64), normal({6, 16}, CT_FLOAT64), normal({6}, CT_FLOAT64)},
         linear_run(true), linear_reference(true)},
        F64_NMSE);
    add({"linear", "no_bias_1d_input", {uniform({8}), uniform({3, 8})}, linear_run(false), linear_reference(false)},
        F32_NMSE);
    add({"linear", "transposed_weight", {uniform({5, 8}), transposed(uniform({3, 8})), uniform({3})}, linear_run(true),
         linear_reference(true)},
        F32_NMSE);
    add({"linear", "bias_broadcast_2d", {uniform({5, 8}), uniform({3, 8}), uniform({5, 3})}, linear_run(true),
         linear_reference(true)},
        F32_NMSE);
    add({"linear", "not_foldable_input", {transposed(uniform({2, 5, 8})), uniform({4, 8}), uniform({4})},
         linear_run(true), linear_reference(true)},
        F32_NMSE);
    add({"linear", "zero_in_features_is_bias", {uniform({3, 0}), uniform({4, 0}), uniform({4})}, linear_run(true),
         linear_reference(true)},
        0);
    add({"linear", "large_llm_like", {uniform({2, 32, 128}), uniform({96, 128}), uniform({96})}, linear_run(true),
         linear_reference(true)},
        F32_NMSE);
}

const int cases_registered = [] {
    register_products();
    register_matmul();
    register_addmm_linear();
    return 0;
}();

// ---- hand-computed examples -------------------------------------------------------------------------------------------

ct_tensor *from(std::vector<int64_t> shape, std::vector<double> v, ct_dtype dtype = CT_FLOAT32) {
    ct_tensor *d = ct_tensor_from_data(v.data(), (int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *t = ct_to_dtype(d, dtype);
    ct_release(d);
    return t;
}

std::vector<double> values_of(const ct_tensor *t) { return cth::to_ref(t).values; }

std::vector<int64_t> shape_of(const ct_tensor *t) { return std::vector<int64_t>(ct_shape(t), ct_shape(t) + ct_dim(t)); }

TEST(LinalgExamples, MmByHand) {
    ct_scope_begin();
    ct_tensor *a = from({2, 2}, {1, 2, 3, 4}), *b = from({2, 2}, {5, 6, 7, 8});
    ct_tensor *c = ct_mm(a, b);
    ASSERT_TRUE(c) << ct_last_error();
    EXPECT_EQ(values_of(c), (std::vector<double>{19, 22, 43, 50}));
    ct_tensor *ct = ct_mm(ct_t(a), b); // a^T b = [[1,3],[2,4]] @ b
    ASSERT_TRUE(ct) << ct_last_error();
    EXPECT_EQ(values_of(ct), (std::vector<double>{26, 30, 38, 44}));
    ct_scope_end();
}

TEST(LinalgExamples, AddmmAndLinearByHand) {
    ct_scope_begin();
    ct_tensor *x = from({1, 2}, {1, 2}), *w = from({3, 2}, {1, 0, 0, 1, 1, 1}), *b = from({3}, {10, 20, 30});
    ct_tensor *y = ct_linear(x, w, b);
    ASSERT_TRUE(y) << ct_last_error();
    EXPECT_EQ(shape_of(y), (std::vector<int64_t>{1, 3}));
    EXPECT_EQ(values_of(y), (std::vector<double>{11, 22, 33}));
    ct_tensor *z = ct_addmm(from({1}, {1}), x, ct_t(w), 2, 10); // 2 * 1 + 10 * (x @ w^T)
    ASSERT_TRUE(z) << ct_last_error();
    EXPECT_EQ(values_of(z), (std::vector<double>{12, 22, 32}));
    ct_scope_end();
}

TEST(LinalgExamples, MatmulShapesFromTheDocs) {
    ct_scope_begin();
    auto r = [](std::vector<int64_t> s) { return ct_ones((int)s.size(), s.data(), CT_FLOAT32, CT_DEVICE_CPU); };
    ct_tensor *dot = ct_matmul(r({3}), r({3}));
    ASSERT_TRUE(dot) << ct_last_error();
    EXPECT_EQ(ct_dim(dot), 0);
    EXPECT_EQ(values_of(dot), (std::vector<double>{3}));
    EXPECT_EQ(shape_of(ct_matmul(r({3, 4}), r({4}))), (std::vector<int64_t>{3}));
    EXPECT_EQ(shape_of(ct_matmul(r({10, 3, 4}), r({4}))), (std::vector<int64_t>{10, 3}));
    EXPECT_EQ(shape_of(ct_matmul(r({10, 3, 4}), r({10, 4, 5}))), (std::vector<int64_t>{10, 3, 5}));
    EXPECT_EQ(shape_of(ct_matmul(r({10, 3, 4}), r({4, 5}))), (std::vector<int64_t>{10, 3, 5}));
    EXPECT_EQ(shape_of(ct_matmul(r({4}), r({10, 4, 5}))), (std::vector<int64_t>{10, 5}));
    std::vector<double> all4(10 * 5, 4.0);
    EXPECT_EQ(values_of(ct_matmul(r({4}), r({10, 4, 5}))), all4);
    ct_scope_end();
}

TEST(LinalgExamples, Tf32IsOffByDefault) {
    EXPECT_FALSE(ct_allow_tf32());
    ct_set_allow_tf32(true);
    EXPECT_TRUE(ct_allow_tf32());
    ct_set_allow_tf32(false);
}

// A transposed operand reaches BLAS as a flag: the only allocation of mm(a, b^T) is its result.
TEST(LinalgExamples, TransposedOperandsAreNotCopied) {
    ct_scope_begin();
    int64_t sa[2] = {64, 256}, sb[2] = {128, 256};
    ct_tensor *a = ct_rand(2, sa, CT_FLOAT32, CT_DEVICE_CPU, nullptr);
    ct_tensor *b = ct_rand(2, sb, CT_FLOAT32, CT_DEVICE_CPU, nullptr);
    ct_tensor *bt = ct_t(b), *at = ct_t(a);
    ct_memory_stats before, after;
    ASSERT_EQ(ct_memory_reset_peak(CT_DEVICE_CPU), CT_OK);
    ASSERT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, &before), CT_OK);
    ct_tensor *c = ct_mm(a, bt); // 64 x 128
    ct_tensor *d = ct_mm(ct_t(at), bt);
    ct_tensor *y = ct_linear(a, b, nullptr); // x @ W^T
    ASSERT_TRUE(c && d && y) << ct_last_error();
    ASSERT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, &after), CT_OK);
    EXPECT_LE(after.peak_allocated - before.allocated, 3 * 64 * 128 * 4 + 3 * 256) << "an operand was copied";
    ct_scope_end();
}

// ---- errors ---------------------------------------------------------------------------------------------------------

void expect_error(ct_status expected, const char *words) {
    EXPECT_EQ(ct_last_status(), expected) << ct_last_error();
    EXPECT_NE(std::string(ct_last_error()).find(words), std::string::npos) << ct_last_error();
}

ct_tensor *zeros(std::vector<int64_t> s, ct_dtype dtype = CT_FLOAT32) {
    return ct_zeros((int)s.size(), s.data(), dtype, CT_DEVICE_CPU);
}

TEST(LinalgErrors, Mm) {
    ct_scope_begin();
    EXPECT_EQ(ct_mm(zeros({2, 3}), zeros({4, 5})), nullptr);
    expect_error(CT_ERR_SHAPE, "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
    EXPECT_EQ(ct_mm(zeros({2, 3}), zeros({3, 5}, CT_FLOAT64)), nullptr);
    expect_error(CT_ERR_DTYPE, "expected m1 and m2 to have the same dtype, but got: float != double");
    EXPECT_EQ(ct_mm(zeros({3}), zeros({3, 5})), nullptr);
    expect_error(CT_ERR_SHAPE, "self must be a matrix");
    EXPECT_EQ(ct_mm(zeros({2, 3}), zeros({3})), nullptr);
    expect_error(CT_ERR_SHAPE, "mat2 must be a matrix");
    EXPECT_EQ(ct_mm(zeros({2, 3}, CT_BOOL), zeros({3, 5}, CT_BOOL)), nullptr);
    expect_error(CT_ERR_NOT_IMPLEMENTED, "\"addmm_impl_cpu_\" not implemented for 'Bool'");
    EXPECT_EQ(ct_mm(zeros({2, 3}, CT_INT64), zeros({3, 5})), nullptr);
    expect_error(CT_ERR_DTYPE, "expected m1 and m2 to have the same dtype, but got: long int != float");
    ct_scope_end();
    ct_clear_error(); // leave no error pending for the tests that follow
}

TEST(LinalgErrors, BmmDotMv) {
    ct_scope_begin();
    EXPECT_EQ(ct_bmm(zeros({2, 3}), zeros({2, 3, 4})), nullptr);
    expect_error(CT_ERR_SHAPE, "batch1 must be a 3D tensor");
    EXPECT_EQ(ct_bmm(zeros({2, 3, 4}), zeros({3, 4})), nullptr);
    expect_error(CT_ERR_SHAPE, "batch2 must be a 3D tensor");
    EXPECT_EQ(ct_bmm(zeros({2, 3, 4}), zeros({3, 4, 5})), nullptr);
    expect_error(CT_ERR_SHAPE, "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [3, 4].");
    EXPECT_EQ(ct_bmm(zeros({2, 3, 4}, CT_BOOL), zeros({2, 4, 5}, CT_BOOL)), nullptr);
    expect_error(CT_ERR_NOT_IMPLEMENTED, "\"bmm\" not implemented for 'Bool'");
    EXPECT_EQ(ct_dot(zeros({3}, CT_BOOL), zeros({3}, CT_BOOL)), nullptr);
    expect_error(CT_ERR_NOT_IMPLEMENTED, "\"dot\" not implemented for 'Bool'");
    EXPECT_EQ(ct_mv(zeros({2, 3}, CT_BOOL), zeros({3}, CT_BOOL)), nullptr);
    expect_error(CT_ERR_NOT_IMPLEMENTED, "\"addmv_impl_cpu\" not implemented for 'Bool'");
    EXPECT_EQ(ct_dot(zeros({3}), zeros({4})), nullptr);
    expect_error(CT_ERR_SHAPE,
                 "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of elements, but "
                 "got 3 and 4 elements respectively");
    EXPECT_EQ(ct_dot(zeros({3}), zeros({3}, CT_FLOAT64)), nullptr);
    expect_error(CT_ERR_DTYPE, "dot : expected both vectors to have same dtype, but found Float and Double");
    EXPECT_EQ(ct_dot(zeros({3, 1}), zeros({3})), nullptr);
    expect_error(CT_ERR_SHAPE, "1D tensors expected, but got 2D and 1D tensors");
    EXPECT_EQ(ct_mv(zeros({2, 3}), zeros({4})), nullptr);
    expect_error(CT_ERR_SHAPE, "size mismatch, got input (2), mat (2x3), vec (4)");
    ct_scope_end();
    ct_clear_error(); // leave no error pending for the tests that follow
}

TEST(LinalgErrors, Matmul) {
    ct_scope_begin();
    EXPECT_EQ(ct_matmul(zeros({}), zeros({2, 2})), nullptr);
    expect_error(CT_ERR_SHAPE, "both arguments to matmul need to be at least 1D, but they are 0D and 2D");
    EXPECT_EQ(ct_matmul(zeros({3}), zeros({4, 5})), nullptr);
    expect_error(CT_ERR_SHAPE, "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x5)");
    EXPECT_EQ(ct_matmul(zeros({2, 3, 4}), zeros({5, 6})), nullptr);
    expect_error(CT_ERR_SHAPE, "mat1 and mat2 shapes cannot be multiplied (6x4 and 5x6)");
    EXPECT_EQ(ct_matmul(zeros({2, 3, 4}), zeros({5})), nullptr);
    expect_error(CT_ERR_SHAPE, "size mismatch, got input (6), mat (6x4), vec (5)");
    EXPECT_EQ(ct_matmul(zeros({10, 24, 12, 2}), zeros({10, 24, 12, 2})), nullptr);
    expect_error(CT_ERR_SHAPE, "Expected size for first two dimensions of batch2 tensor to be: [240, 2] but got: [240, 12].");
    EXPECT_EQ(ct_matmul(zeros({2, 3, 4}), zeros({3, 4, 5})), nullptr);
    expect_error(CT_ERR_SHAPE, "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0");
    EXPECT_EQ(ct_matmul(zeros({2, 3}), zeros({3, 4}, CT_FLOAT64)), nullptr);
    expect_error(CT_ERR_DTYPE, "expected m1 and m2 to have the same dtype, but got: float != double");
    EXPECT_EQ(ct_matmul(zeros({2, 3}, CT_BOOL), zeros({3, 4}, CT_BOOL)), nullptr);
    expect_error(CT_ERR_NOT_IMPLEMENTED, "\"addmm_impl_cpu_\" not implemented for 'Bool'");
    EXPECT_EQ(ct_matmul(zeros({2, 2, 3}, CT_BOOL), zeros({2, 3, 4}, CT_BOOL)), nullptr);
    expect_error(CT_ERR_NOT_IMPLEMENTED, "\"bmm\" not implemented for 'Bool'");
    ct_scope_end();
    ct_clear_error(); // leave no error pending for the tests that follow
}

TEST(LinalgErrors, AddmmAndLinear) {
    ct_scope_begin();
    EXPECT_EQ(ct_addmm(zeros({3}), zeros({2, 3}), zeros({3, 5}), 1, 1), nullptr);
    expect_error(CT_ERR_SHAPE,
                 "The expanded size of the tensor (5) must match the existing size (3) at non-singleton dimension 1.  "
                 "Target sizes: [2, 5].  Tensor sizes: [3]");
    EXPECT_EQ(ct_addmm(zeros({5}, CT_FLOAT64), zeros({2, 3}), zeros({3, 5}), 1, 1), nullptr);
    expect_error(CT_ERR_DTYPE, "self and mat2 must have the same dtype, but got Double and Float");
    EXPECT_EQ(ct_addmm(zeros({5}), zeros({3}), zeros({3, 5}), 1, 1), nullptr);
    expect_error(CT_ERR_SHAPE, "mat1 must be a matrix, got 1-D tensor");
    EXPECT_EQ(ct_addmm(zeros({5}), zeros({2, 4}), zeros({3, 5}), 1, 1), nullptr);
    expect_error(CT_ERR_SHAPE, "mat1 and mat2 shapes cannot be multiplied (2x4 and 3x5)");
    EXPECT_EQ(ct_linear(zeros({4, 3}), zeros({6, 5}), nullptr), nullptr);
    expect_error(CT_ERR_SHAPE, "mat1 and mat2 shapes cannot be multiplied (4x3 and 5x6)");
    EXPECT_EQ(ct_linear(zeros({2, 4, 3}), zeros({6, 5}), nullptr), nullptr);
    expect_error(CT_ERR_SHAPE, "mat1 and mat2 shapes cannot be multiplied (8x3 and 5x6)");
    EXPECT_EQ(ct_linear(zeros({4, 3}), zeros({3}), nullptr), nullptr);
    expect_error(CT_ERR_SHAPE, "weight must be a 2-D");
    EXPECT_EQ(ct_linear(zeros({4, 3}), zeros({6, 3}, CT_FLOAT64), nullptr), nullptr);
    expect_error(CT_ERR_DTYPE, "expected m1 and m2 to have the same dtype, but got: float != double");
    EXPECT_EQ(ct_linear(zeros({4, 3}), zeros({6, 3}), zeros({6}, CT_FLOAT64)), nullptr);
    expect_error(CT_ERR_DTYPE, "self and mat2 must have the same dtype, but got Double and Float");
    EXPECT_EQ(ct_linear(zeros({4, 3}), zeros({6, 3}), zeros({5})), nullptr);
    expect_error(CT_ERR_SHAPE, "The expanded size of the tensor (6) must match the existing size (5) at non-singleton dimension 1");
    EXPECT_EQ(ct_linear(zeros({}), zeros({6, 3}), nullptr), nullptr);
    expect_error(CT_ERR_SHAPE, "both arguments to matmul need to be at least 1D");
    ct_scope_end();
    ct_clear_error(); // leave no error pending for the tests that follow
}

TEST(LinalgErrors, NullInputKeepsThePendingError) {
    ct_scope_begin();
    ct_tensor *bad = ct_view(zeros({4}), 1, S({5}).data());
    ASSERT_EQ(bad, nullptr);
    std::string first = ct_last_error();
    ct_tensor *ok = zeros({2, 2});
    EXPECT_EQ(ct_mm(bad, ok), nullptr);
    EXPECT_EQ(ct_matmul(ok, bad), nullptr);
    EXPECT_EQ(ct_addmm(ok, ok, bad, 1, 1), nullptr);
    EXPECT_EQ(ct_linear(bad, ok, nullptr), nullptr);
    EXPECT_EQ(ct_bmm(bad, bad), nullptr);
    EXPECT_EQ(std::string(ct_last_error()), first);
    ct_scope_end();
    ct_clear_error(); // leave no error pending for the tests that follow
}

TEST(LinalgErrors, MixedDevicesAreRefused) {
    if (!ct_cuda_is_available()) GTEST_SKIP() << cth::gpu_skip_reason();
    ct_scope_begin();
    ct_tensor *a = zeros({2, 2});
    ct_tensor *b = ct_zeros(2, S({2, 2}).data(), CT_FLOAT32, CT_DEVICE_CUDA(0));
    EXPECT_EQ(ct_mm(a, b), nullptr);
    expect_error(CT_ERR_DEVICE, "Expected all tensors to be on the same device");
    ct_scope_end();
    ct_clear_error(); // leave no error pending for the tests that follow
}

} // namespace

// ---- integer products (the CPU's, as PyTorch's: wrapping arithmetic) ----------------------------------------------

namespace {
// a @ b for row-major int64 matrices, wrapping, as the reference.
std::vector<int64_t> int_mm(const std::vector<int64_t> &a, const std::vector<int64_t> &b, int64_t m, int64_t k,
                            int64_t n) {
    std::vector<int64_t> c(m * n, 0);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            uint64_t acc = 0;
            for (int64_t p = 0; p < k; p++) acc += (uint64_t)a[i * k + p] * (uint64_t)b[p * n + j];
            c[i * n + j] = (int64_t)acc;
        }
    return c;
}

std::vector<int64_t> ints(int64_t n, int64_t lo, int64_t hi, uint32_t seed) {
    std::vector<int64_t> v(n);
    for (auto &x : v) {
        seed = seed * 1664525u + 1013904223u;
        x = lo + (int64_t)(seed >> 8) % (hi - lo + 1);
    }
    return v;
}

ct_tensor *int_tensor(const std::vector<int64_t> &v, std::vector<int64_t> shape, ct_dtype dtype) {
    ct_tensor *t64 = ct_tensor_from_data(v.data(), (int)shape.size(), shape.data(), CT_INT64, CT_DEVICE_CPU);
    ct_tensor *t = ct_to_dtype(t64, dtype);
    ct_release(t64);
    return t;
}

std::vector<int64_t> int_values(const ct_tensor *t) {
    ct_tensor *t64 = ct_to_dtype(t, CT_INT64);
    std::vector<int64_t> v(ct_numel(t64));
    EXPECT_EQ(ct_copy_to_buffer(t64, v.data(), v.size() * sizeof(int64_t)), CT_OK);
    ct_release(t64);
    return v;
}

// v cast as PyTorch casts to dtype (wrapping to the width)
std::vector<int64_t> wrapped(std::vector<int64_t> v, ct_dtype dtype) {
    for (auto &x : v) x = dtype == CT_INT32 ? (int64_t)(int32_t)(uint32_t)x : dtype == CT_UINT8 ? (int64_t)(uint8_t)x : x;
    return v;
}
} // namespace

TEST(LinalgIntegers, MmEveryDtypeAndLayoutWraps) {
    ct_scope_begin();
    const int64_t m = 37, k = 53, n = 41; // across the pool's row pieces, with odd sizes
    for (ct_dtype dtype : {CT_INT64, CT_INT32, CT_UINT8}) {
        // int64: products near 2^62 so the sums wrap; int32 and uint8 wrap at their own width
        int64_t hi = dtype == CT_INT64 ? (int64_t)1 << 31 : dtype == CT_INT32 ? 1 << 20 : 255;
        int64_t lo = dtype == CT_UINT8 ? 0 : -hi;
        auto av = wrapped(ints(m * k, lo, hi, 1), dtype), bv = wrapped(ints(k * n, lo, hi, 2), dtype);
        auto want = wrapped(int_mm(av, bv, m, k, n), dtype);
        ct_tensor *a = int_tensor(av, {m, k}, dtype), *b = int_tensor(bv, {k, n}, dtype);
        ct_tensor *c = ct_mm(a, b);
        ASSERT_TRUE(c) << ct_last_error();
        EXPECT_EQ(ct_tensor_dtype(c), dtype);
        EXPECT_EQ(int_values(c), want) << ct_dtype_name(dtype);
        // the same product with A and B stored transposed (read through transpose flags, B copied row-major)
        ct_tensor *at = ct_contiguous(ct_t(a)), *bt = ct_contiguous(ct_t(b));
        ct_tensor *c2 = ct_mm(ct_t(at), ct_t(bt));
        ASSERT_TRUE(c2) << ct_last_error();
        EXPECT_EQ(int_values(c2), want) << ct_dtype_name(dtype) << " transposed";
    }
    ct_scope_end();
}

TEST(LinalgIntegers, ByHandAndEdgeShapes) {
    ct_scope_begin();
    // uint8 wraps: 200 * 200 * 2 = 80000 = 128 (mod 256), as torch.mm of uint8
    ct_tensor *u = int_tensor({200, 200, 200, 200}, {2, 2}, CT_UINT8);
    EXPECT_EQ(int_values(ct_mm(u, u)), (std::vector<int64_t>{128, 128, 128, 128}));
    // int64 wraps: 2^62 * 4 = 0
    ct_tensor *big = int_tensor({(int64_t)1 << 62}, {1, 1}, CT_INT64), *four = int_tensor({4}, {1, 1}, CT_INT64);
    EXPECT_EQ(int_values(ct_mm(big, four)), (std::vector<int64_t>{0}));
    // dot, mv, a vector times a matrix, bmm with a broadcast operand, k == 0
    ct_tensor *v = int_tensor({1, -2, 3}, {3}, CT_INT32), *w = int_tensor({4, 5, -6}, {3}, CT_INT32);
    EXPECT_EQ(int_values(ct_dot(v, w)), (std::vector<int64_t>{4 - 10 - 18}));
    EXPECT_EQ(int_values(ct_matmul(v, w)), (std::vector<int64_t>{-24}));
    ct_tensor *mat = int_tensor({1, 2, 3, 4, 5, 6}, {2, 3}, CT_INT32);
    EXPECT_EQ(int_values(ct_mv(mat, v)), (std::vector<int64_t>{6, 12}));
    ct_tensor *mat_t = int_tensor({1, 2, 3, 4, 5, 6}, {3, 2}, CT_INT32);
    EXPECT_EQ(int_values(ct_matmul(v, mat_t)), (std::vector<int64_t>{10, 12}));
    ct_tensor *batch = int_tensor({1, 0, 0, 1, 2, 0, 0, 2}, {2, 2, 2}, CT_INT64);
    ct_tensor *one = int_tensor({1, 2, 3, 4}, {2, 2}, CT_INT64);
    EXPECT_EQ(int_values(ct_matmul(batch, one)), (std::vector<int64_t>{1, 2, 3, 4, 2, 4, 6, 8}));
    ct_tensor *empty_k = ct_mm(ct_zeros(2, S({2, 0}).data(), CT_INT64, CT_DEVICE_CPU),
                               ct_zeros(2, S({0, 3}).data(), CT_INT64, CT_DEVICE_CPU));
    EXPECT_EQ(int_values(empty_k), (std::vector<int64_t>(6, 0)));
    ct_scope_end();
}

TEST(LinalgIntegers, AddmmAndLinearTruncateAlphaBeta) {
    ct_scope_begin();
    ct_tensor *ones = int_tensor({1, 1, 1, 1}, {2, 2}, CT_INT32);
    // torch.addmm(i, i, i, alpha=2.7): alpha becomes 2 -> 1 + 2 * 2 = 5; beta=-1.5 becomes -1 -> -1 + 2 = 1
    EXPECT_EQ(int_values(ct_addmm(ones, ones, ones, 1, 2.7)), (std::vector<int64_t>(4, 5)));
    EXPECT_EQ(int_values(ct_addmm(ones, ones, ones, -1.5, 1)), (std::vector<int64_t>(4, 1)));
    EXPECT_EQ(int_values(ct_addmm(ones, ones, ones, 0.5, 3)), (std::vector<int64_t>(4, 6))); // beta 0: C not used
    // uint8 takes a negative alpha, wrapping: 200 + (-1) * 128 = 72, as torch
    ct_tensor *u = int_tensor({200, 200, 200, 200}, {2, 2}, CT_UINT8);
    EXPECT_EQ(int_values(ct_addmm(u, u, u, 1, -1)), (std::vector<int64_t>(4, 72)));
    // linear with an integer bias: x @ W^T + b
    ct_tensor *x = int_tensor({1, 2, 3, 4}, {2, 2}, CT_INT64), *wt = int_tensor({1, 0, 1, 1, 0, 2}, {3, 2}, CT_INT64);
    ct_tensor *b = int_tensor({10, 20, 30}, {3}, CT_INT64);
    EXPECT_EQ(int_values(ct_linear(x, wt, b)), (std::vector<int64_t>{11, 23, 34, 13, 27, 38}));
    // alpha or beta that do not fit the dtype: PyTorch's words
    EXPECT_EQ(ct_addmm(ones, ones, ones, 1, 1e10), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "value cannot be converted to type int without overflow");
    EXPECT_EQ(ct_addmm(ones, ones, ones, NAN, 1), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "value cannot be converted to type int without overflow");
    EXPECT_EQ(ct_addmm(u, u, u, 300, 1), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "value cannot be converted to type uint8_t without overflow");
    ct_tensor *l = int_tensor({1}, {1, 1}, CT_INT64);
    EXPECT_EQ(ct_addmm(l, l, l, 1, 1e30), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "value cannot be converted to type int64_t without overflow");
    ct_scope_end();
    ct_clear_error();
}

TEST(LinalgIntegers, ResultsDoNotDependOnTheThreadCount) {
    ct_scope_begin();
    int saved = ct_get_num_threads();
    auto av = ints(300 * 70, -1000, 1000, 3), bv = ints(70 * 90, -1000, 1000, 4);
    ct_tensor *a = int_tensor(av, {300, 70}, CT_INT64), *b = int_tensor(bv, {70, 90}, CT_INT64);
    std::vector<int64_t> want = int_mm(av, bv, 300, 70, 90);
    for (int threads : {1, 2, 3}) {
        ct_set_num_threads(threads);
        EXPECT_EQ(int_values(ct_mm(a, b)), want) << threads << " threads";
    }
    ct_set_num_threads(saved);
    ct_scope_end();
}
