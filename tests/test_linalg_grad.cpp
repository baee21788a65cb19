// Autograd of the linalg family: gradient checks (the harness's gradient mode: central differences in float64
// against ct_backward, on the CPU and on CUDA when present) for dot, mv, mm, bmm, matmul (every dims case, batch
// broadcasting both ways, transposed operands), addmm (beta, alpha, a broadcast input) and linear (with and without
// bias, 1-D and N-D inputs); and hand-computed examples, the grad_fn names and what is not recorded.
//
// Every op here is bilinear in its operands, so central differences are exact up to rounding: the harness's
// tolerance (1e-5 relative to 1 + |numeric|, eps 1e-6) leaves a wide margin over float64 rounding (about 1e-10).
#include "ctorch/autograd.h"
#include "harness.h"
#include "test_helpers.h"

namespace {

using cth::Inputs;

const int product_cases = [] {
    using namespace cth;
    add_grad_case({"dot", "vectors", {uniform({5}), uniform({5})}, {},
                   [](const Inputs &in) { return ct_dot(in[0], in[1]); }});
    add_grad_case({"dot", "strided_operand", {uniform({4}), transposed(uniform({3, 4}))}, {},
                   [](const Inputs &in) { return ct_dot(in[0], ct_select(in[1], 0, 1)); }});
    add_grad_case({"mv", "matrix_vector", {uniform({3, 4}), uniform({4})}, {},
                   [](const Inputs &in) { return ct_mv(in[0], in[1]); }});
    add_grad_case({"mv", "transposed_matrix", {transposed(uniform({3, 4})), uniform({4})}, {},
                   [](const Inputs &in) { return ct_mv(in[0], in[1]); }});
    add_grad_case({"mm", "matrices", {uniform({3, 4}), uniform({4, 5})}, {},
                   [](const Inputs &in) { return ct_mm(in[0], in[1]); }});
    add_grad_case({"mm", "both_transposed", {transposed(uniform({2, 3})), transposed(uniform({3, 4}))}, {},
                   [](const Inputs &in) { return ct_mm(in[0], in[1]); }});
    add_grad_case({"mm", "wrt_second_only", {uniform({3, 4}), uniform({4, 2})}, {1},
                   [](const Inputs &in) { return ct_mm(in[0], in[1]); }});
    add_grad_case({"bmm", "batches", {uniform({2, 3, 4}), uniform({2, 4, 5})}, {},
                   [](const Inputs &in) { return ct_bmm(in[0], in[1]); }});
    add_grad_case({"bmm", "transposed", {transposed(uniform({2, 3, 4})), transposed(uniform({2, 4, 2}))}, {},
                   [](const Inputs &in) { return ct_bmm(in[0], in[1]); }});
    return 0;
}();

// matmul through each of its paths: the gradient of a broadcast batch dim comes back summed.
const int matmul_cases = [] {
    using namespace cth;
    auto matmul = [](const Inputs &in) { return ct_matmul(in[0], in[1]); };
    add_grad_case({"matmul", "1d_1d", {uniform({4}), uniform({4})}, {}, matmul});
    add_grad_case({"matmul", "2d_1d", {uniform({3, 4}), uniform({4})}, {}, matmul});
    add_grad_case({"matmul", "1d_2d", {uniform({3}), uniform({3, 4})}, {}, matmul});
    add_grad_case({"matmul", "2d_2d", {uniform({2, 3}), uniform({3, 4})}, {}, matmul});
    add_grad_case({"matmul", "3d_2d_folded", {uniform({2, 3, 4}), uniform({4, 5})}, {}, matmul});
    add_grad_case({"matmul", "3d_1d", {uniform({2, 3, 4}), uniform({4})}, {}, matmul});
    add_grad_case({"matmul", "1d_3d", {uniform({3}), uniform({2, 3, 4})}, {}, matmul});
    add_grad_case({"matmul", "2d_3d_broadcast_first", {uniform({3, 4}), uniform({2, 4, 5})}, {}, matmul});
    add_grad_case({"matmul", "batch_broadcast_both", {uniform({2, 1, 3, 4}), uniform({5, 4, 2})}, {}, matmul});
    add_grad_case({"matmul", "batch_size_one_against_batch", {uniform({1, 3, 4}), uniform({3, 4, 2})}, {}, matmul});
    add_grad_case({"matmul", "4d_transposed", {transposed(uniform({2, 2, 3, 4})), transposed(uniform({2, 1, 4, 3}))},
                   {}, matmul});
    add_grad_case({"matmul", "3d_transposed_2d_unfoldable", {transposed(uniform({2, 3, 4})), uniform({4, 2})}, {},
                   matmul});
    return 0;
}();

const int addmm_linear_cases = [] {
    using namespace cth;
    add_grad_case({"addmm", "beta_alpha", {uniform({3, 5}), uniform({3, 4}), uniform({4, 5})}, {},
                   [](const Inputs &in) { return ct_addmm(in[0], in[1], in[2], 0.5, 2.0); }});
    add_grad_case({"addmm", "broadcast_row_input", {uniform({5}), uniform({3, 4}), transposed(uniform({4, 5}))}, {},
                   [](const Inputs &in) { return ct_addmm(in[0], in[1], in[2], -1.5, 1.0); }});
    add_grad_case({"addmm", "one_by_one_input_defaults", {uniform({1, 1}), uniform({2, 3}), uniform({3, 2})}, {},
                   [](const Inputs &in) { return ct_addmm(in[0], in[1], in[2], 1.0, 1.0); }});
    add_grad_case({"addmm", "beta_zero", {uniform({3, 2}), uniform({3, 4}), uniform({4, 2})}, {},
                   [](const Inputs &in) { return ct_addmm(in[0], in[1], in[2], 0.0, -0.75); }});
    add_grad_case({"linear", "3d_input_with_bias", {uniform({2, 3, 4}), uniform({5, 4}), uniform({5})}, {},
                   [](const Inputs &in) { return ct_linear(in[0], in[1], in[2]); }});
    add_grad_case({"linear", "2d_input_no_bias", {uniform({3, 4}), uniform({2, 4})}, {},
                   [](const Inputs &in) { return ct_linear(in[0], in[1], nullptr); }});
    add_grad_case({"linear", "1d_input", {uniform({4}), uniform({3, 4}), uniform({3})}, {},
                   [](const Inputs &in) { return ct_linear(in[0], in[1], in[2]); }});
    add_grad_case({"linear", "transposed_input_broadcast_bias", {transposed(uniform({3, 4})), uniform({2, 4}),
                                                                 uniform({1})},
                   {}, [](const Inputs &in) { return ct_linear(in[0], in[1], in[2]); }});
    add_grad_case({"linear", "transposed_weight", {uniform({2, 4}), transposed(uniform({3, 4})), uniform({3})}, {},
                   [](const Inputs &in) { return ct_linear(in[0], in[1], in[2]); }});
    return 0;
}();

class LinalgGrad : public testing::Test {
  protected:
    void SetUp() override { ct_scope_begin(); }
    void TearDown() override { ct_scope_end(); }
    // A float64 CPU leaf with the given values that requires grad.
    ct_tensor *leaf(std::vector<double> values, std::vector<int64_t> shape) {
        ct_tensor *t = ct_tensor_from_data(values.data(), (int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
        EXPECT_EQ(ct_set_requires_grad(t, true), CT_OK) << ct_last_error();
        return t;
    }
    ct_tensor *ones(std::vector<int64_t> shape) {
        return ct_ones((int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
    }
};

} // namespace

// By hand: with a gradient of ones for A @ B (the gradient of its sum), dA = 1 B^T (row sums of B) and dB = A^T 1 (column sums of A).
TEST_F(LinalgGrad, MmOfSumGivesRowAndColumnSums) {
    ct_tensor *a = leaf({1, 2, 3, 4}, {2, 2});
    ct_tensor *b = leaf({5, 6, 7, 8}, {2, 2});
    ASSERT_EQ(ct_backward(ct_mm(a, b), ones({2, 2}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(a)), (std::vector<double>{11, 15, 11, 15}));
    EXPECT_EQ(values_of(ct_grad(b)), (std::vector<double>{4, 4, 6, 6}));
}

// A broadcast batch: b (2, 2) is used by both batches of a (2, 1, 2), so its gradient is the sum of both.
TEST_F(LinalgGrad, MatmulSumsTheGradientOfABroadcastOperand) {
    ct_tensor *a = leaf({1, 2, 3, 4}, {2, 1, 2});
    ct_tensor *b = leaf({1, 0, 0, 1}, {2, 2});
    ct_tensor *y = ct_matmul(a, b);
    ASSERT_EQ(shape_of(y), (std::vector<int64_t>{2, 1, 2}));
    ASSERT_EQ(ct_backward(y, ones({2, 1, 2}), false), CT_OK) << ct_last_error();
    // dB[k][j] = sum over batches and rows of a[.., k]: (1 + 3, 2 + 4) in each column
    EXPECT_EQ(values_of(ct_grad(b)), (std::vector<double>{4, 4, 6, 6}));
    EXPECT_EQ(values_of(ct_grad(a)), (std::vector<double>{1, 1, 1, 1}));
}

TEST_F(LinalgGrad, AddmmScalesByBetaAndAlpha) {
    ct_tensor *input = leaf({1, 1}, {2}); // broadcast over 2 rows
    ct_tensor *m1 = leaf({1, 2, 3, 4}, {2, 2});
    ct_tensor *m2 = leaf({1, 0, 0, 1}, {2, 2});
    ASSERT_EQ(ct_backward(ct_addmm(input, m1, m2, 3.0, 0.5), ones({2, 2}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(input)), (std::vector<double>{6, 6})); // beta, summed over the 2 rows
    EXPECT_EQ(values_of(ct_grad(m1)), (std::vector<double>{0.5, 0.5, 0.5, 0.5}));
    EXPECT_EQ(values_of(ct_grad(m2)), (std::vector<double>{2, 2, 3, 3}));
}

TEST_F(LinalgGrad, LinearBiasGetsTheGradientSummedOverRows) {
    ct_tensor *x = leaf({1, 2, 3, 4, 5, 6}, {3, 2});
    ct_tensor *w = leaf({1, -1}, {1, 2});
    ct_tensor *bias = leaf({0.5}, {1});
    ct_tensor *y = ct_linear(x, w, bias); // (3, 1): x0 - x1 + 0.5
    ASSERT_EQ(ct_backward(y, ones({3, 1}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(bias)), (std::vector<double>{3}));
    EXPECT_EQ(values_of(ct_grad(w)), (std::vector<double>{9, 12}));
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{1, -1, 1, -1, 1, -1}));
}

TEST_F(LinalgGrad, GradFnNamesArePytorchs) {
    ct_tensor *v = leaf({1, 2}, {2});
    ct_tensor *m = leaf({1, 2, 3, 4}, {2, 2});
    ct_tensor *b3 = leaf({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2});
    EXPECT_STREQ(ct_grad_fn_name(ct_dot(v, v)), "DotBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_mv(m, v)), "MvBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_mm(m, m)), "MmBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_bmm(b3, b3)), "BmmBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_matmul(v, v)), "DotBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_matmul(m, v)), "MvBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_matmul(m, m)), "MmBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_matmul(b3, m)), "MatmulBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_addmm(v, m, m, 1, 1)), "AddmmBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_linear(m, m, v)), "AddmmBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_linear(m, m, nullptr)), "MmBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_linear(b3, m, v)), "LinearBackward0");
}

TEST_F(LinalgGrad, NothingIsRecordedWithoutGradOrInGradModeOff) {
    ct_tensor *m = leaf({1, 2, 3, 4}, {2, 2});
    ct_tensor *plain = ct_ones(2, SHAPE(2, 2), CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *y = ct_mm(plain, plain);
    EXPECT_TRUE(ct_is_leaf(y));
    EXPECT_FALSE(ct_requires_grad(y));
    ct_no_grad_begin();
    ct_tensor *z = ct_matmul(m, plain);
    ct_no_grad_end();
    EXPECT_TRUE(ct_is_leaf(z));
    EXPECT_FALSE(ct_requires_grad(z));
    // one operand requiring grad is enough, and only it gets a gradient
    ASSERT_EQ(ct_backward(ct_mm(plain, m), ones({2, 2}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(m)), (std::vector<double>{2, 2, 2, 2}));
    EXPECT_EQ(ct_grad(plain), nullptr);
}
