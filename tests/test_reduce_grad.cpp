// Autograd of the reduce family: gradient checks (the harness's gradient mode: finite differences in float64 against
// ct_backward, on the CPU and on CUDA when present) for every differentiable reduction, with dims, keepdim, negative
// dims, non-contiguous inputs, zeros and ties; and hand-computed examples for what finite differences cannot judge
// (PyTorch's choices at non-differentiable points: three-way ties, indices on ties, zeros of a norm or std), the
// grad_fn names, and the errors.
//
// Ties and finite differences: at a two-way tie of a maximum, the central difference is exactly 1/2 for each tied
// element (raising one raises the maximum, lowering it leaves the other), which is also PyTorch's even split; so the
// gradient cases use two-way ties, and the three-way split is checked by hand. prod and cumprod are multilinear, so
// their central differences are exact even at zeros.
#include <algorithm>
#include <cmath>

#include "ctorch/autograd.h"
#include "harness.h"
#include "test_helpers.h"

namespace {

using cth::Inputs;

// The first (second) of the two results a call fills in, the other released; NULL when the call failed.
ct_tensor *first_of(ct_status st, ct_tensor *a, ct_tensor *b) {
    ct_release(b);
    return st == CT_OK ? a : nullptr;
}
ct_tensor *second_of(ct_status st, ct_tensor *a, ct_tensor *b) {
    ct_release(a);
    return st == CT_OK ? b : nullptr;
}

const int sum_mean_prod_cases = [] {
    using namespace cth;
    add_grad_case({"sum", "all", {uniform({3, 4})}, {}, [](const Inputs &in) { return ct_sum(in[0], 0, nullptr, false); }});
    add_grad_case({"sum", "dim1", {uniform({3, 4})}, {}, [](const Inputs &in) { return ct_sum(in[0], 1, DIMS(1), false); }});
    add_grad_case({"sum", "negative_dims_keepdim", {uniform({2, 3, 4})}, {},
                   [](const Inputs &in) { return ct_sum(in[0], 2, DIMS(-1, 0), true); }});
    add_grad_case({"sum", "all_keepdim_transposed", {transposed(uniform({3, 4}))}, {},
                   [](const Inputs &in) { return ct_sum(in[0], 0, nullptr, true); }});
    add_grad_case({"sum", "scalar", {uniform({})}, {}, [](const Inputs &in) { return ct_sum(in[0], 0, nullptr, false); }});
    add_grad_case({"mean", "all", {uniform({3, 4})}, {}, [](const Inputs &in) { return ct_mean(in[0], 0, nullptr, false); }});
    add_grad_case({"mean", "dim0_transposed", {transposed(uniform({3, 5}))}, {},
                   [](const Inputs &in) { return ct_mean(in[0], 1, DIMS(0), false); }});
    add_grad_case({"mean", "negative_dims_keepdim", {uniform({2, 3, 4})}, {},
                   [](const Inputs &in) { return ct_mean(in[0], 2, DIMS(-1, -2), true); }});
    add_grad_case({"prod", "all", {uniform({2, 3}, CT_FLOAT32, 0.5, 1.5)}, {},
                   [](const Inputs &in) { return ct_prod(in[0], 0, nullptr, false); }});
    add_grad_case({"prod", "dim1_signed", {uniform({3, 4})}, {}, [](const Inputs &in) { return ct_prod(in[0], 1, DIMS(1), false); }});
    add_grad_case({"prod", "dim_minus2_keepdim_transposed", {transposed(uniform({4, 3}))}, {},
                   [](const Inputs &in) { return ct_prod(in[0], 1, DIMS(-2), true); }});
    // rows with no zero, one zero, and two zeros
    add_grad_case({"prod", "zeros_in_rows", {given({3, 4}, {1.5, -2, 0.5, 3, 2, 0, -1.5, 0.5, 0, 2, 0, 1.5})}, {},
                   [](const Inputs &in) { return ct_prod(in[0], 1, DIMS(1), false); }});
    add_grad_case({"prod", "zero_over_two_dims", {given({2, 2, 3}, {1, 2, 0, -1, 0.5, 2, 1.5, -2, 0.5, 1, 3, -1})}, {},
                   [](const Inputs &in) { return ct_prod(in[0], 2, DIMS(0, 2), false); }});
    add_grad_case({"prod", "one_zero_all", {given({2, 3}, {1.5, -2, 0, 3, 0.5, 2})}, {},
                   [](const Inputs &in) { return ct_prod(in[0], 0, nullptr, false); }});
    return 0;
}();

const int extreme_cases = [] {
    using namespace cth;
    add_grad_case({"amax", "dim1", {uniform({3, 5})}, {}, [](const Inputs &in) { return ct_amax(in[0], 1, DIMS(1), false); }});
    add_grad_case({"amax", "two_way_ties_keepdim", {given({2, 3}, {1, 4, 4, 2, 2, -1})}, {},
                   [](const Inputs &in) { return ct_amax(in[0], 1, DIMS(-1), true); }});
    add_grad_case({"amax", "two_dims_transposed", {transposed(uniform({3, 4}))}, {},
                   [](const Inputs &in) { return ct_amax(in[0], 2, DIMS(0, 1), false); }});
    add_grad_case({"amin", "dim0", {uniform({4, 3})}, {}, [](const Inputs &in) { return ct_amin(in[0], 1, DIMS(0), false); }});
    add_grad_case({"amin", "two_way_ties", {given({2, 3}, {-1, 2, -1, 0.5, 3, 0.5})}, {},
                   [](const Inputs &in) { return ct_amin(in[0], 1, DIMS(1), false); }});
    add_grad_case({"max", "all", {uniform({3, 4})}, {}, [](const Inputs &in) { return ct_max(in[0]); }});
    add_grad_case({"max", "all_two_way_tie", {given({2, 3}, {1, 5, 2, 5, -1, 0})}, {},
                   [](const Inputs &in) { return ct_max(in[0]); }});
    add_grad_case({"max", "dim1", {uniform({3, 5})}, {}, [](const Inputs &in) {
                       ct_tensor *v = nullptr, *i = nullptr;
                       ct_status st = ct_max_dim(in[0], 1, false, &v, &i);
                       return first_of(st, v, i);
                   }});
    add_grad_case({"max", "dim_minus3_keepdim_transposed", {transposed(uniform({2, 3, 4}))}, {}, [](const Inputs &in) {
                       ct_tensor *v = nullptr, *i = nullptr;
                       ct_status st = ct_max_dim(in[0], -3, true, &v, &i);
                       return first_of(st, v, i);
                   }});
    add_grad_case({"min", "all", {uniform({3, 4})}, {}, [](const Inputs &in) { return ct_min(in[0]); }});
    add_grad_case({"min", "dim0_keepdim", {uniform({4, 3})}, {}, [](const Inputs &in) {
                       ct_tensor *v = nullptr, *i = nullptr;
                       ct_status st = ct_min_dim(in[0], 0, true, &v, &i);
                       return first_of(st, v, i);
                   }});
    return 0;
}();

const int smooth_reduction_cases = [] {
    using namespace cth;
    add_grad_case({"logsumexp", "dim1", {uniform({3, 4}, CT_FLOAT32, -3, 3)}, {},
                   [](const Inputs &in) { return ct_logsumexp(in[0], 1, DIMS(1), false); }});
    add_grad_case({"logsumexp", "all_large_values", {uniform({2, 3}, CT_FLOAT32, 700, 710)}, {},
                   [](const Inputs &in) { return ct_logsumexp(in[0], 0, nullptr, false); }});
    add_grad_case({"logsumexp", "negative_dims_keepdim_transposed", {transposed(uniform({2, 3, 4}))}, {},
                   [](const Inputs &in) { return ct_logsumexp(in[0], 2, DIMS(-1, 0), true); }});
    add_grad_case({"var", "dim1", {uniform({3, 5})}, {}, [](const Inputs &in) { return ct_var(in[0], 1, DIMS(1), 1, false); }});
    add_grad_case({"var", "all_population", {uniform({3, 4})}, {},
                   [](const Inputs &in) { return ct_var(in[0], 0, nullptr, 0, false); }});
    add_grad_case({"var", "correction2_negative_dims_keepdim", {transposed(uniform({2, 3, 4}))}, {},
                   [](const Inputs &in) { return ct_var(in[0], 2, DIMS(-2, -3), 2, true); }});
    add_grad_case({"std", "dim0", {uniform({5, 3})}, {}, [](const Inputs &in) { return ct_std(in[0], 1, DIMS(0), 1, false); }});
    add_grad_case({"std", "all_population_keepdim", {transposed(uniform({3, 4}))}, {},
                   [](const Inputs &in) { return ct_std(in[0], 0, nullptr, 0, true); }});
    add_grad_case({"var_mean", "var_dim1", {uniform({3, 4})}, {}, [](const Inputs &in) {
                       ct_tensor *v = nullptr, *m = nullptr;
                       ct_status st = ct_var_mean(in[0], 1, DIMS(1), 1, false, &v, &m);
                       return first_of(st, v, m);
                   }});
    add_grad_case({"var_mean", "mean_negative_dim_keepdim", {uniform({3, 4})}, {}, [](const Inputs &in) {
                       ct_tensor *v = nullptr, *m = nullptr;
                       ct_status st = ct_var_mean(in[0], 1, DIMS(-2), 0, true, &v, &m);
                       return second_of(st, v, m);
                   }});
    add_grad_case({"std_mean", "std_all", {uniform({3, 4})}, {}, [](const Inputs &in) {
                       ct_tensor *s = nullptr, *m = nullptr;
                       ct_status st = ct_std_mean(in[0], 0, nullptr, 1, false, &s, &m);
                       return first_of(st, s, m);
                   }});
    add_grad_case({"std_mean", "mean_dim0_transposed", {transposed(uniform({3, 4}))}, {}, [](const Inputs &in) {
                       ct_tensor *s = nullptr, *m = nullptr;
                       ct_status st = ct_std_mean(in[0], 1, DIMS(0), 1, false, &s, &m);
                       return second_of(st, s, m);
                   }});
    return 0;
}();

// vector_norm over the orders with a formula of their own (PyTorch's norm_backward branches)
const int norm_cases = [] {
    using namespace cth;
    // no element near 0, mixed signs: every order is differentiable there
    std::vector<double> away_from_zero = {0.5, -1.25, 2, -0.75, 1.5, 0.25, -2.5, 1, -0.5, 0.8, -1.1, 1.7};
    struct Order {
        const char *name;
        double ord;
    };
    for (Order o : {Order{"ord2_dim1", 2}, Order{"ord1_dim1", 1}, Order{"ord_inf_dim1", INFINITY},
                    Order{"ord_minus_inf_dim1", -INFINITY}, Order{"ord3_dim1", 3}, Order{"ord1_5_dim1", 1.5},
                    Order{"ord0_5_dim1", 0.5}, Order{"ord_minus1_dim1", -1}, Order{"ord0_dim1", 0}}) {
        double ord = o.ord;
        add_grad_case({"vector_norm", o.name, {given({3, 4}, away_from_zero)}, {},
                       [ord](const Inputs &in) { return ct_vector_norm(in[0], ord, 1, DIMS(1), false); }});
    }
    add_grad_case({"vector_norm", "ord2_all", {uniform({3, 4})}, {},
                   [](const Inputs &in) { return ct_vector_norm(in[0], 2, 0, nullptr, false); }});
    add_grad_case({"vector_norm", "ord2_negative_dims_keepdim_transposed", {transposed(uniform({2, 3, 4}))}, {},
                   [](const Inputs &in) { return ct_vector_norm(in[0], 2, 2, DIMS(-1, -3), true); }});
    add_grad_case({"vector_norm", "ord3_dim0_keepdim", {transposed(uniform({3, 4}))}, {},
                   [](const Inputs &in) { return ct_vector_norm(in[0], 3, 1, DIMS(0), true); }});
    // a zero row: the 2-norm's central difference there is 0, PyTorch's subgradient
    add_grad_case({"vector_norm", "ord2_zero_row", {given({2, 3}, {0, 0, 0, 1, -2, 2})}, {},
                   [](const Inputs &in) { return ct_vector_norm(in[0], 2, 1, DIMS(1), false); }});
    // |3| and |-3| tie for the infinity norm: each gets half, with its sign
    add_grad_case({"vector_norm", "ord_inf_two_way_tie", {given({2, 3}, {3, -3, 1, 0.5, -2, 1})}, {},
                   [](const Inputs &in) { return ct_vector_norm(in[0], INFINITY, 1, DIMS(1), false); }});
    return 0;
}();

const int along_dim_cases = [] {
    using namespace cth;
    add_grad_case({"cumsum", "dim1", {uniform({3, 4})}, {}, [](const Inputs &in) { return ct_cumsum(in[0], 1); }});
    add_grad_case({"cumsum", "dim0_transposed", {transposed(uniform({3, 4}))}, {},
                   [](const Inputs &in) { return ct_cumsum(in[0], 0); }});
    add_grad_case({"cumsum", "dim_minus2_3d", {uniform({2, 3, 4})}, {}, [](const Inputs &in) { return ct_cumsum(in[0], -2); }});
    add_grad_case({"cumprod", "dim1", {uniform({3, 4}, CT_FLOAT32, 0.5, 1.5)}, {},
                   [](const Inputs &in) { return ct_cumprod(in[0], 1); }});
    add_grad_case({"cumprod", "dim0_signed_transposed", {transposed(uniform({4, 3}))}, {},
                   [](const Inputs &in) { return ct_cumprod(in[0], 0); }});
    // lines with no zero, one zero (first, middle, last) and two zeros
    add_grad_case({"cumprod", "zeros_in_lines",
                   {given({5, 4}, {1.5, -2, 0.5, 3,  0, 2, -1.5, 0.5,  2, 0, 1.5, -1,  -1, 2, 1.5, 0,  2, 0, 3, 0})},
                   {},
                   [](const Inputs &in) { return ct_cumprod(in[0], -1); }});
    add_grad_case({"cumprod", "zeros_along_dim0", {given({3, 3}, {2, 0, 1.5, 0, 3, -2, 1.5, 0, 0.5})}, {},
                   [](const Inputs &in) { return ct_cumprod(in[0], 0); }});
    add_grad_case({"softmax", "dim1", {uniform({3, 4}, CT_FLOAT32, -3, 3)}, {}, [](const Inputs &in) { return ct_softmax(in[0], 1); }});
    add_grad_case({"softmax", "dim0_transposed", {transposed(uniform({3, 4}, CT_FLOAT32, -3, 3))}, {},
                   [](const Inputs &in) { return ct_softmax(in[0], 0); }});
    add_grad_case({"softmax", "dim_minus2_3d", {uniform({2, 3, 4}, CT_FLOAT32, -3, 3)}, {},
                   [](const Inputs &in) { return ct_softmax(in[0], -2); }});
    add_grad_case({"log_softmax", "dim1", {uniform({3, 4}, CT_FLOAT32, -3, 3)}, {},
                   [](const Inputs &in) { return ct_log_softmax(in[0], 1); }});
    add_grad_case({"log_softmax", "dim0_transposed", {transposed(uniform({3, 4}, CT_FLOAT32, -3, 3))}, {},
                   [](const Inputs &in) { return ct_log_softmax(in[0], 0); }});
    add_grad_case({"log_softmax", "dim_minus3_3d", {uniform({2, 3, 4}, CT_FLOAT32, -3, 3)}, {},
                   [](const Inputs &in) { return ct_log_softmax(in[0], -3); }});
    return 0;
}();

// 0-d inputs: one dim (0 or -1) that is no dim at all
const int scalar_cases = [] {
    using namespace cth;
    add_grad_case({"cumsum", "scalar", {uniform({})}, {}, [](const Inputs &in) { return ct_cumsum(in[0], -1); }});
    add_grad_case({"cumprod", "scalar", {uniform({})}, {}, [](const Inputs &in) { return ct_cumprod(in[0], 0); }});
    add_grad_case({"softmax", "scalar", {uniform({})}, {}, [](const Inputs &in) { return ct_softmax(in[0], 0); }});
    add_grad_case({"log_softmax", "scalar", {uniform({})}, {}, [](const Inputs &in) { return ct_log_softmax(in[0], -1); }});
    add_grad_case({"prod", "scalar_dim0", {uniform({})}, {}, [](const Inputs &in) { return ct_prod(in[0], 1, DIMS(0), false); }});
    add_grad_case({"max", "scalar_dim0", {uniform({})}, {}, [](const Inputs &in) {
                       ct_tensor *v = nullptr, *i = nullptr;
                       ct_status st = ct_max_dim(in[0], 0, true, &v, &i);
                       return first_of(st, v, i);
                   }});
    return 0;
}();

class ReduceGrad : public testing::Test {
  protected:
    void SetUp() override { ct_scope_begin(); }
    void TearDown() override { ct_scope_end(); }
    // a float64 CPU leaf of the given values and shape that requires grad
    ct_tensor *leaf(std::vector<double> values, std::vector<int64_t> shape) {
        ct_tensor *t = ct_tensor_from_data(values.data(), (int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
        EXPECT_EQ(ct_set_requires_grad(t, true), CT_OK) << ct_last_error();
        return t;
    }
    // the gradient x receives from backward(y) with y's gradient all ones
    std::vector<double> grad_of(ct_tensor *y, ct_tensor *x) {
        EXPECT_NE(y, nullptr) << ct_last_error();
        EXPECT_EQ(ct_backward(y, ct_ones_like(y), false), CT_OK) << ct_last_error();
        ct_tensor *g = ct_grad(x);
        EXPECT_NE(g, nullptr);
        return g ? values_of(g) : std::vector<double>{};
    }
};

// The hand-computed gradients below take a few float64 roundings each: a few units in the last place.
void expect_all_near(const std::vector<double> &got, const std::vector<double> &want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); i++)
        EXPECT_NEAR(got[i], want[i], 1e-15 * std::max(1.0, std::fabs(want[i]))) << "element " << i;
}

} // namespace

TEST_F(ReduceGrad, GradFnNamesArePytorchs) {
    ct_tensor *x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
    EXPECT_STREQ(ct_grad_fn_name(ct_sum(x, 0, nullptr, false)), "SumBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_sum(x, 1, DIMS(1), false)), "SumBackward1");
    EXPECT_STREQ(ct_grad_fn_name(ct_mean(x, 1, DIMS(0), true)), "MeanBackward1");
    EXPECT_STREQ(ct_grad_fn_name(ct_prod(x, 0, nullptr, false)), "ProdBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_amax(x, 1, DIMS(1), false)), "AmaxBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_max(x)), "MaxBackward1");
    EXPECT_STREQ(ct_grad_fn_name(ct_vector_norm(x, 2, 0, nullptr, false)), "LinalgVectorNormBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_std(x, 1, DIMS(1), 1, false)), "StdBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_cumprod(x, 0)), "CumprodBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_log_softmax(x, 1)), "LogSoftmaxBackward0");
    ct_tensor *values = nullptr, *indices = nullptr;
    ASSERT_EQ(ct_min_dim(x, 1, false, &values, &indices), CT_OK);
    EXPECT_STREQ(ct_grad_fn_name(values), "MinBackward0");
    EXPECT_FALSE(ct_requires_grad(indices)) << "indices are not differentiable";
    ct_tensor *var = nullptr, *mean = nullptr;
    ASSERT_EQ(ct_var_mean(x, 0, nullptr, 1, false, &var, &mean), CT_OK);
    EXPECT_STREQ(ct_grad_fn_name(var), "VarMeanBackward0");
    EXPECT_STREQ(ct_grad_fn_name(mean), "VarMeanBackward0");
}

TEST_F(ReduceGrad, NothingIsRecordedWithoutGradOrInGradModeOff) {
    ct_tensor *plain = ct_arange(0, 6, 1, CT_FLOAT64, CT_DEVICE_CPU);
    EXPECT_TRUE(ct_is_leaf(ct_softmax(plain, 0)));
    ct_tensor *x = leaf({1, 2, 3}, {3});
    ct_no_grad_begin();
    ct_tensor *s = ct_sum(x, 0, nullptr, false);
    ASSERT_EQ(ct_no_grad_end(), CT_OK);
    EXPECT_TRUE(ct_is_leaf(s));
    EXPECT_FALSE(ct_requires_grad(s));
}

// torch.amax splits the gradient evenly among all ties: 1/3 each of three.
TEST_F(ReduceGrad, AmaxSplitsEvenlyAmongThreeTies) {
    ct_tensor *x = leaf({1, 3, 3, 3, 2, -1}, {2, 3});
    expect_all_near(grad_of(ct_amax(x, 0, nullptr, false), x), {0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0});
}

TEST_F(ReduceGrad, MinOfAllSplitsAmongTiesPerRowOfAmin) {
    ct_tensor *x = leaf({-2, 0, -2, 5, -2, 1}, {2, 3});
    expect_all_near(grad_of(ct_min(x), x), {1.0 / 3, 0, 1.0 / 3, 0, 1.0 / 3, 0});
    ct_tensor *z = leaf({-2, 0, -2, 5, -2, 1}, {2, 3});
    expect_all_near(grad_of(ct_amin(z, 1, DIMS(1), false), z), {0.5, 0, 0.5, 0, 1, 0});
}

// torch.max(t, dim) sends the whole gradient to the index it returns (the first of the ties).
TEST_F(ReduceGrad, MaxWithDimSendsTheGradientToTheReturnedIndex) {
    ct_tensor *x = leaf({4, 1, 4, 2, 7, 7}, {2, 3});
    ct_tensor *values = nullptr, *indices = nullptr;
    ASSERT_EQ(ct_max_dim(x, 1, false, &values, &indices), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(indices), (std::vector<double>{0, 1}));
    expect_all_near(grad_of(values, x), {1, 0, 0, 0, 1, 0});
}

// torch.max(t) with a NaN: the NaN is the result, and it takes the gradient (PyTorch's evenly_distribute_backward).
TEST_F(ReduceGrad, MaxOfAllSendsTheGradientToTheNan) {
    ct_tensor *x = leaf({1, NAN, 3}, {3});
    expect_all_near(grad_of(ct_max(x), x), {0, 1, 0});
}

// prod with zeros: one zero gets the product of the others; with two zeros in a slice every gradient is 0.
TEST_F(ReduceGrad, ProdWithZerosFollowsPytorch) {
    ct_tensor *x = leaf({2, 0, 3, 0, 5, 0}, {2, 3});
    expect_all_near(grad_of(ct_prod(x, 1, DIMS(1), false), x), {0, 6, 0, 0, 0, 0});
    ct_tensor *y = leaf({2, 0, 3, 4}, {4});
    expect_all_near(grad_of(ct_prod(y, 0, nullptr, false), y), {0, 24, 0, 0});
    ct_tensor *z = leaf({2, -1, 3, 4}, {4});
    expect_all_near(grad_of(ct_prod(z, 0, nullptr, false), z), {-12, 24, -8, -6});
}

// cumprod of [2, 0, 3, 4]: y = [2, 0, 0, 0]; dy/dx summed: [1, 2 + 2*3 + 2*3*4, 0, 0].
TEST_F(ReduceGrad, CumprodWithAZeroHandsTheFirstZeroItsSum) {
    ct_tensor *x = leaf({2, 0, 3, 4}, {4});
    expect_all_near(grad_of(ct_cumprod(x, 0), x), {1, 32, 0, 0});
    ct_tensor *z = leaf({0, 3, 0, 5}, {4}); // y = 0 everywhere; only x0 moves y0 (and y1 = 3 x0)
    expect_all_near(grad_of(ct_cumprod(z, 0), z), {4, 0, 0, 0});
}

// The subgradients PyTorch picks: 0 for the 2-norm of zeros, 0 for the std of constants.
TEST_F(ReduceGrad, NormAndStdAtZeroGiveZeroGradient) {
    ct_tensor *x = leaf({0, 0, 0, 3, 4, 0}, {2, 3});
    expect_all_near(grad_of(ct_vector_norm(x, 2, 1, DIMS(1), false), x), {0, 0, 0, 0.6, 0.8, 0});
    ct_tensor *c = leaf({2, 2, 2}, {3});
    expect_all_near(grad_of(ct_std(c, 0, nullptr, 1, false), c), {0, 0, 0});
}

// The two results of var_mean have their own nodes; their gradients add up in the input.
TEST_F(ReduceGrad, VarMeanGradientsOfBothResultsAccumulate) {
    ct_tensor *x = leaf({1, 2, 3, 4}, {4});
    ct_tensor *var = nullptr, *mean = nullptr;
    ASSERT_EQ(ct_var_mean(x, 0, nullptr, 1, false, &var, &mean), CT_OK) << ct_last_error();
    ASSERT_EQ(ct_backward(var, nullptr, false), CT_OK) << ct_last_error();
    ASSERT_EQ(ct_backward(mean, nullptr, false), CT_OK) << ct_last_error();
    // d var / dx = 2 (x - 2.5) / 3, d mean / dx = 1/4
    std::vector<double> want;
    for (double v : {1.0, 2.0, 3.0, 4.0}) want.push_back(2 * (v - 2.5) / 3 + 0.25);
    ASSERT_NE(ct_grad(x), nullptr);
    std::vector<double> got = values_of(ct_grad(x));
    for (size_t i = 0; i < want.size(); i++) EXPECT_NEAR(got[i], want[i], 1e-14);
}

// softmax of a row with the gradient (1, 0, 0) picked: d y0 / d x = y0 (e0 - y).
TEST_F(ReduceGrad, SoftmaxBackwardOfOneOutput) {
    ct_tensor *x = leaf({0, std::log(2.0), std::log(5.0)}, {3}); // softmax: 1/8, 2/8, 5/8
    ct_tensor *y = ct_select(ct_softmax(x, 0), 0, 0);
    ASSERT_EQ(ct_backward(y, nullptr, false), CT_OK) << ct_last_error();
    std::vector<double> got = values_of(ct_grad(x));
    std::vector<double> want = {1.0 / 8 * (1 - 1.0 / 8), -1.0 / 8 * 2 / 8, -1.0 / 8 * 5 / 8};
    for (size_t i = 0; i < want.size(); i++) EXPECT_NEAR(got[i], want[i], 1e-14);
}

// A saved input changed in place after the reduction: backward refuses, in PyTorch's words.
TEST_F(ReduceGrad, InputChangedInPlaceAfterSavingFailsBackward) {
    ct_tensor *x = leaf({1, 2, 3}, {3});
    ct_tensor *h = ct_clone(x);
    ct_tensor *p = ct_prod(h, 0, nullptr, false);
    ASSERT_EQ(ct_copy_(h, ct_zeros(1, SHAPE(3), CT_FLOAT64, CT_DEVICE_CPU)), CT_OK) << ct_last_error();
    EXPECT_NE(ct_backward(p, nullptr, false), CT_OK);
    EXPECT_ERROR(CT_ERR_STATE, "one of the variables needed for gradient computation has been modified by an "
                               "inplace operation");
}

// The reduce family has no in-place op; writing into a leaf that requires grad fails, as in PyTorch.
TEST_F(ReduceGrad, InPlaceWriteIntoALeafThatRequiresGradFails) {
    ct_tensor *x = leaf({1, 2, 3}, {3});
    EXPECT_NE(ct_copy_(x, ct_softmax(ct_zeros(1, SHAPE(3), CT_FLOAT64, CT_DEVICE_CPU), 0)), CT_OK);
    EXPECT_ERROR(CT_ERR_STATE, "a leaf Variable that requires grad is being used in an in-place operation.");
}

// A float32 input gets a float32 gradient, through keepdim and a negative dim.
TEST_F(ReduceGrad, Float32InputGetsFloat32Gradient) {
    ct_tensor *x = tensor_f32({1, 2, 3, 4, 5, 6}, {2, 3});
    ASSERT_EQ(ct_set_requires_grad(x, true), CT_OK);
    ct_tensor *m = ct_mean(x, 1, DIMS(-1), true);
    ASSERT_EQ(shape_of(m), (std::vector<int64_t>{2, 1}));
    ASSERT_EQ(ct_backward(m, ct_ones_like(m), false), CT_OK) << ct_last_error();
    EXPECT_EQ(ct_tensor_dtype(ct_grad(x)), CT_FLOAT32);
    EXPECT_EQ(shape_of(ct_grad(x)), (std::vector<int64_t>{2, 3}));
    for (double g : values_of(ct_grad(x))) EXPECT_EQ(g, (double)(1.0f / 3.0f));
}
