// Gradients of the elementwise family (runtime/autograd/backward_elementwise.c).
//
// Grad cases (harness.h's gradient mode) differentiate each op in float64 with ct_backward and compare with central
// differences, on the CPU and on CUDA when a GPU is present: broadcasting (the engine sums the gradient down to
// each input's shape), alpha, scalar operands, non-contiguous inputs, both inputs of binary ops, and every in-place
// form (on a clone, or on a buffer that does not require grad). Inputs are drawn away from the points where an op
// is not differentiable (abs, relu and clamp kinks, log and sqrt at 0) or where a difference quotient would cross
// them; the harness's bound tol * (1 + |numeric|) with tol = 1e-5 is far above the central-difference error
// (eps^2 f''' ~ 1e-12) and the rounding of the quotient (~1e-16 / eps = 1e-10).
//
// Plain TESTs: grad_fn names, PyTorch's rules at the non-differentiable points (clamp bounds, relu and abs at 0,
// pow at zero), in-place errors in PyTorch's words, a saved result changed in place, and gelu's derivative against
// hand-computed values in float32.
#include "ctorch/autograd.h"
#include "harness.h"
#include "test_helpers.h"

#include <cmath>

namespace {

using cth::Inputs;

// y = clone(x), then op_(y): the in-place op on a tensor that is not a leaf.
ct_tensor *on_clone(ct_tensor *x, const std::function<ct_status(ct_tensor *)> &op_) {
    ct_tensor *y = ct_clone(x);
    if (!y || op_(y) != CT_OK) return nullptr;
    return y;
}

void unary_case(const char *op, const char *name, cth::InputSpec x, ct_tensor *(*f)(const ct_tensor *)) {
    cth::add_grad_case({op, name, {x}, {}, [f](const Inputs &in) { return f(in[0]); }});
}

void unary_case_(const char *op, const char *name, cth::InputSpec x, ct_status (*f)(ct_tensor *)) {
    cth::add_grad_case({op, name, {x}, {}, [f](const Inputs &in) { return on_clone(in[0], f); }});
}

const int arithmetic_cases = [] {
    using namespace cth;
    add_grad_case({"add", "broadcast_alpha", {uniform({3, 4}), uniform({4})}, {},
                   [](const Inputs &in) { return ct_add(in[0], in[1], 2.5); }});
    add_grad_case({"add", "transposed_and_column", {transposed(uniform({3, 4})), uniform({3, 1})}, {},
                   [](const Inputs &in) { return ct_add(in[0], in[1], 1); }});
    add_grad_case({"add", "scalar", {uniform({2, 3})}, {},
                   [](const Inputs &in) { return ct_add_scalar(in[0], 3, -2); }});
    add_grad_case({"add", "same_tensor_twice", {uniform({5})}, {},
                   [](const Inputs &in) { return ct_add(in[0], in[0], 0.5); }});
    add_grad_case({"sub", "broadcast_negative_alpha", {uniform({2, 1, 4}), uniform({3, 1})}, {},
                   [](const Inputs &in) { return ct_sub(in[0], in[1], -1.5); }});
    add_grad_case({"sub", "scalar", {uniform({4})}, {}, [](const Inputs &in) { return ct_sub_scalar(in[0], 2, 3); }});
    add_grad_case({"mul", "broadcast", {uniform({2, 3, 4}), uniform({3, 1})}, {},
                   [](const Inputs &in) { return ct_mul(in[0], in[1]); }});
    add_grad_case({"mul", "square_by_itself", {transposed(uniform({3, 2}))}, {},
                   [](const Inputs &in) { return ct_mul(in[0], in[0]); }});
    add_grad_case({"mul", "only_second_input", {uniform({3, 4}), uniform({4})}, {1},
                   [](const Inputs &in) { return ct_mul(in[0], in[1]); }});
    add_grad_case({"mul", "scalar", {uniform({6})}, {}, [](const Inputs &in) { return ct_mul_scalar(in[0], -1.75); }});
    add_grad_case({"div", "broadcast", {uniform({3, 4}), uniform({3, 1}, CT_FLOAT32, 0.5, 2)}, {},
                   [](const Inputs &in) { return ct_div(in[0], in[1]); }});
    add_grad_case({"div", "negative_denominators", {uniform({4}), uniform({2, 4}, CT_FLOAT32, -2, -0.5)}, {},
                   [](const Inputs &in) { return ct_div(in[0], in[1]); }});
    add_grad_case({"div", "scalar", {uniform({5})}, {}, [](const Inputs &in) { return ct_div_scalar(in[0], 0.25); }});
    return 0;
}();

const int pow_cases = [] {
    using namespace cth;
    add_grad_case({"pow", "scalar_fractional_exponent", {uniform({3, 4}, CT_FLOAT32, 0.5, 2)}, {},
                   [](const Inputs &in) { return ct_pow_scalar(in[0], 2.5); }});
    add_grad_case({"pow", "scalar_integer_exponent_negative_base", {uniform({6}, CT_FLOAT32, -2, 2)}, {},
                   [](const Inputs &in) { return ct_pow_scalar(in[0], 3); }});
    add_grad_case({"pow", "scalar_negative_exponent", {uniform({6}, CT_FLOAT32, 0.5, 2)}, {},
                   [](const Inputs &in) { return ct_pow_scalar(in[0], -1.5); }});
    add_grad_case({"pow", "scalar_zero_exponent", {uniform({4})}, {},
                   [](const Inputs &in) { return ct_pow_scalar(in[0], 0); }});
    add_grad_case({"pow", "tensor_both_inputs_broadcast", {uniform({3, 4}, CT_FLOAT32, 0.5, 2), uniform({4})}, {},
                   [](const Inputs &in) { return ct_pow(in[0], in[1]); }});
    add_grad_case({"pow", "tensor_transposed_base", {transposed(uniform({2, 3}, CT_FLOAT32, 0.5, 2)), uniform({2, 3})},
                   {}, [](const Inputs &in) { return ct_pow(in[0], in[1]); }});
    return 0;
}();

const int unary_cases = [] {
    using namespace cth;
    unary_case("neg", "plain", uniform({3, 4}), ct_neg);
    unary_case("abs", "transposed", transposed(uniform({3, 4})), ct_abs);
    unary_case("exp", "plain", normal({3, 4}), ct_exp);
    unary_case("exp", "transposed", transposed(uniform({2, 5})), ct_exp);
    unary_case("log", "positive", uniform({3, 4}, CT_FLOAT32, 0.2, 3), ct_log);
    unary_case("log1p", "above_minus_one", uniform({3, 4}, CT_FLOAT32, -0.5, 2), ct_log1p);
    unary_case("sqrt", "positive", uniform({3, 4}, CT_FLOAT32, 0.2, 3), ct_sqrt);
    unary_case("rsqrt", "positive", transposed(uniform({3, 4}, CT_FLOAT32, 0.2, 3)), ct_rsqrt);
    unary_case("sigmoid", "normal", normal({3, 4}), ct_sigmoid);
    unary_case("tanh", "normal", normal({3, 4}), ct_tanh);
    unary_case("relu", "transposed", transposed(uniform({3, 4})), ct_relu);
    unary_case("silu", "normal", normal({3, 4}), ct_silu);
    add_grad_case({"clamp", "both_bounds", {uniform({4, 5}, CT_FLOAT32, -2, 2)}, {},
                   [](const Inputs &in) { return ct_clamp(in[0], -0.5, 0.75); }});
    add_grad_case({"clamp", "min_only", {uniform({4, 5}, CT_FLOAT32, -2, 2)}, {},
                   [](const Inputs &in) { return ct_clamp(in[0], 0.25, NAN); }});
    add_grad_case({"clamp", "max_only", {transposed(uniform({4, 5}, CT_FLOAT32, -2, 2))}, {},
                   [](const Inputs &in) { return ct_clamp(in[0], NAN, -0.25); }});
    add_grad_case({"gelu", "exact", {normal({3, 4})}, {},
                   [](const Inputs &in) { return ct_gelu(in[0], CT_GELU_NONE); }});
    add_grad_case({"gelu", "exact_near_zero_and_tails", {given({6}, {-6, -1e-20, 0, 1e-30, 1e-3, 5})}, {},
                   [](const Inputs &in) { return ct_gelu(in[0], CT_GELU_NONE); }});
    add_grad_case({"gelu", "tanh", {transposed(normal({3, 4}))}, {},
                   [](const Inputs &in) { return ct_gelu(in[0], CT_GELU_TANH); }});
    return 0;
}();

const int selection_cases = [] {
    using namespace cth;
    add_grad_case({"where", "both_branches_broadcast", {bools({3, 4}), uniform({3, 4}), uniform({4})}, {},
                   [](const Inputs &in) { return ct_where(in[0], in[1], in[2]); }});
    add_grad_case({"where", "condition_broadcast", {bools({3, 1}), transposed(uniform({3, 4})), uniform({1})}, {},
                   [](const Inputs &in) { return ct_where(in[0], in[1], in[2]); }});
    add_grad_case({"masked_fill", "mask_broadcast", {uniform({3, 4}), bools({4})}, {},
                   [](const Inputs &in) { return ct_masked_fill(in[0], in[1], -2.5); }});
    add_grad_case({"masked_fill", "input_broadcast", {uniform({4}), bools({3, 4})}, {},
                   [](const Inputs &in) { return ct_masked_fill(in[0], in[1], 7); }});
    return 0;
}();

const int in_place_cases = [] {
    using namespace cth;
    add_grad_case({"add_", "clone_broadcast_alpha", {uniform({3, 4}), uniform({4})}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [&](ct_tensor *y) { return ct_add_(y, in[1], -0.5); });
                   }});
    add_grad_case({"add_", "into_buffer", {uniform({3, 4})}, {}, [](const Inputs &in) -> ct_tensor * {
                       ct_tensor *z = ct_ones(2, SHAPE(3, 4), CT_FLOAT64, ct_tensor_device(in[0]));
                       return z && ct_add_(z, in[0], 2) == CT_OK ? z : nullptr;
                   }});
    add_grad_case({"add_", "scalar", {uniform({4})}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [](ct_tensor *y) { return ct_add_scalar_(y, 1.5, 2); });
                   }});
    add_grad_case({"sub_", "clone_broadcast_alpha", {uniform({3, 4}), uniform({3, 1})}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [&](ct_tensor *y) { return ct_sub_(y, in[1], 3); });
                   }});
    add_grad_case({"sub_", "scalar", {uniform({4})}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [](ct_tensor *y) { return ct_sub_scalar_(y, 1.5, 2); });
                   }});
    add_grad_case({"mul_", "clone_broadcast", {uniform({3, 4}), uniform({4})}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [&](ct_tensor *y) { return ct_mul_(y, in[1]); });
                   }});
    add_grad_case({"mul_", "into_buffer", {uniform({3, 4})}, {}, [](const Inputs &in) -> ct_tensor * {
                       ct_tensor *z = ct_full(2, SHAPE(3, 4), -1.5, CT_FLOAT64, ct_tensor_device(in[0]));
                       return z && ct_mul_(z, in[0]) == CT_OK ? z : nullptr;
                   }});
    add_grad_case({"mul_", "scalar", {uniform({4})}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [](ct_tensor *y) { return ct_mul_scalar_(y, -3); });
                   }});
    add_grad_case({"div_", "clone_broadcast", {uniform({3, 4}), uniform({3, 1}, CT_FLOAT32, 0.5, 2)}, {},
                   [](const Inputs &in) {
                       return on_clone(in[0], [&](ct_tensor *y) { return ct_div_(y, in[1]); });
                   }});
    add_grad_case({"div_", "scalar", {uniform({4})}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [](ct_tensor *y) { return ct_div_scalar_(y, -4); });
                   }});
    add_grad_case({"pow_", "tensor_both_inputs", {uniform({3, 4}, CT_FLOAT32, 0.5, 2), uniform({4})}, {},
                   [](const Inputs &in) {
                       return on_clone(in[0], [&](ct_tensor *y) { return ct_pow_(y, in[1]); });
                   }});
    add_grad_case({"pow_", "scalar", {uniform({3, 4}, CT_FLOAT32, 0.5, 2)}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [](ct_tensor *y) { return ct_pow_scalar_(y, 1.5); });
                   }});
    unary_case_("neg_", "clone", uniform({3, 4}), ct_neg_);
    unary_case_("abs_", "clone", uniform({3, 4}), ct_abs_);
    unary_case_("exp_", "clone", transposed(uniform({3, 4})), ct_exp_);
    unary_case_("log_", "clone", uniform({3, 4}, CT_FLOAT32, 0.2, 3), ct_log_);
    unary_case_("log1p_", "clone", uniform({3, 4}, CT_FLOAT32, -0.5, 2), ct_log1p_);
    unary_case_("sqrt_", "clone", uniform({3, 4}, CT_FLOAT32, 0.2, 3), ct_sqrt_);
    unary_case_("rsqrt_", "clone", uniform({3, 4}, CT_FLOAT32, 0.2, 3), ct_rsqrt_);
    unary_case_("sigmoid_", "clone", normal({3, 4}), ct_sigmoid_);
    unary_case_("tanh_", "clone", normal({3, 4}), ct_tanh_);
    unary_case_("relu_", "clone", uniform({3, 4}), ct_relu_);
    unary_case_("silu_", "clone", normal({3, 4}), ct_silu_);
    add_grad_case({"clamp_", "clone", {uniform({4, 5}, CT_FLOAT32, -2, 2)}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [](ct_tensor *y) { return ct_clamp_(y, -1, 0.5); });
                   }});
    add_grad_case({"gelu_", "clone_exact", {normal({3, 4})}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [](ct_tensor *y) { return ct_gelu_(y, CT_GELU_NONE); });
                   }});
    add_grad_case({"gelu_", "clone_tanh", {normal({3, 4})}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [](ct_tensor *y) { return ct_gelu_(y, CT_GELU_TANH); });
                   }});
    add_grad_case({"masked_fill_", "clone_mask_broadcast", {uniform({3, 4}), bools({3, 1})}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [&](ct_tensor *y) { return ct_masked_fill_(y, in[1], 0.5); });
                   }});
    // ops that keep a copy of self's old values (abs_, log1p_) or nothing (mul_) may follow each other; one that
    // saves its result (exp_) must come last, as in PyTorch
    add_grad_case({"exp_", "chain_of_in_place_ops", {uniform({3, 4})}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [](ct_tensor *y) {
                           ct_status st = ct_mul_scalar_(y, 2);
                           if (st == CT_OK) st = ct_abs_(y);
                           if (st == CT_OK) st = ct_log1p_(y);
                           return st == CT_OK ? ct_exp_(y) : st;
                       });
                   }});
    return 0;
}();

// The division family. Quotients are drawn away from integers' neighbourhoods only by chance: with a step of 1e-6
// a floor or trunc jump is crossed when a / b is within ~1e-6 of an integer, which these seeded draws are not.
const int division_cases = [] {
    using namespace cth;
    add_grad_case({"div", "floor_zero_gradients", {uniform({3, 4}, CT_FLOAT32, -5, 5), uniform({4}, CT_FLOAT32, 0.5, 2)},
                   {}, [](const Inputs &in) { return ct_div_mode(in[0], in[1], CT_ROUND_FLOOR); }});
    add_grad_case({"div", "trunc_scalar", {uniform({5}, CT_FLOAT32, -5, 5)}, {},
                   [](const Inputs &in) { return ct_div_mode_scalar(in[0], -0.75, CT_ROUND_TRUNC); }});
    add_grad_case({"div", "none_is_true_division", {uniform({4}), uniform({4}, CT_FLOAT32, 0.5, 2)}, {},
                   [](const Inputs &in) { return ct_div_mode(in[0], in[1], CT_ROUND_NONE); }});
    add_grad_case({"remainder", "broadcast_both_signs", {uniform({3, 4}, CT_FLOAT32, -5, 5), uniform({4}, CT_FLOAT32, 0.5, 2)},
                   {}, [](const Inputs &in) { return ct_remainder(in[0], in[1]); }});
    add_grad_case({"remainder", "negative_divisors_transposed",
                   {transposed(uniform({3, 4}, CT_FLOAT32, -5, 5)), uniform({3, 1}, CT_FLOAT32, -2, -0.5)}, {},
                   [](const Inputs &in) { return ct_remainder(in[0], in[1]); }});
    add_grad_case({"remainder", "only_divisor", {uniform({6}, CT_FLOAT32, -5, 5), uniform({6}, CT_FLOAT32, 0.5, 2)}, {1},
                   [](const Inputs &in) { return ct_remainder(in[0], in[1]); }});
    add_grad_case({"remainder", "scalar", {uniform({5}, CT_FLOAT32, -5, 5)}, {},
                   [](const Inputs &in) { return ct_remainder_scalar(in[0], 1.25); }});
    add_grad_case({"fmod", "broadcast_both_signs", {uniform({3, 4}, CT_FLOAT32, -5, 5), uniform({4}, CT_FLOAT32, -2, 2)},
                   {}, [](const Inputs &in) { return ct_fmod(in[0], in[1]); }});
    add_grad_case({"fmod", "scalar", {uniform({5}, CT_FLOAT32, -5, 5)}, {},
                   [](const Inputs &in) { return ct_fmod_scalar(in[0], -1.25); }});
    add_grad_case({"div_", "floor_clone", {uniform({3, 4}, CT_FLOAT32, -5, 5), uniform({4}, CT_FLOAT32, 0.5, 2)}, {},
                   [](const Inputs &in) {
                       return on_clone(in[0], [&](ct_tensor *y) { return ct_div_mode_(y, in[1], CT_ROUND_FLOOR); });
                   }});
    // in place, backward needs self's old values (floor(self / other)): a copy taken before the write
    add_grad_case({"remainder_", "clone_broadcast", {uniform({3, 4}, CT_FLOAT32, -5, 5), uniform({4}, CT_FLOAT32, 0.5, 2)},
                   {}, [](const Inputs &in) {
                       return on_clone(in[0], [&](ct_tensor *y) { return ct_remainder_(y, in[1]); });
                   }});
    add_grad_case({"remainder_", "scalar", {uniform({4}, CT_FLOAT32, -5, 5)}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [](ct_tensor *y) { return ct_remainder_scalar_(y, -0.75); });
                   }});
    add_grad_case({"fmod_", "clone_broadcast", {uniform({3, 4}, CT_FLOAT32, -5, 5), uniform({3, 1}, CT_FLOAT32, -2, -0.5)},
                   {}, [](const Inputs &in) {
                       return on_clone(in[0], [&](ct_tensor *y) { return ct_fmod_(y, in[1]); });
                   }});
    add_grad_case({"fmod_", "scalar", {uniform({4}, CT_FLOAT32, -5, 5)}, {}, [](const Inputs &in) {
                       return on_clone(in[0], [](ct_tensor *y) { return ct_fmod_scalar_(y, 0.75); });
                   }});
    return 0;
}();

// ---- plain tests ----------------------------------------------------------------------------------------------

class ElementwiseGrad : public testing::Test {
  protected:
    void SetUp() override { ct_scope_begin(); }
    void TearDown() override { ct_scope_end(); }
    // A float64 CPU leaf with these values that requires grad.
    ct_tensor *leaf(std::vector<double> values, ct_dtype dtype = CT_FLOAT64) {
        ct_tensor *d = ct_tensor_from_data(values.data(), 1, SHAPE((int64_t)values.size()), CT_FLOAT64, CT_DEVICE_CPU);
        ct_tensor *t = dtype == CT_FLOAT64 ? d : ct_to_dtype(d, dtype); // a fresh tensor either way, not a view
        EXPECT_EQ(ct_set_requires_grad(t, true), CT_OK) << ct_last_error();
        return t;
    }
    // d sum(y) / d x, after ct_backward with a ones gradient.
    std::vector<double> grad_of_sum(ct_tensor *y, ct_tensor *x) {
        EXPECT_EQ(ct_backward(y, ct_ones_like(y), false), CT_OK) << ct_last_error();
        return ct_grad(x) ? values_of(ct_grad(x)) : std::vector<double>{};
    }
};

} // namespace

TEST_F(ElementwiseGrad, GradFnNamesArePyTorchs) {
    ct_tensor *x = leaf({1, 2, 3}), *y = leaf({4, 5, 6});
    EXPECT_STREQ(ct_grad_fn_name(ct_add(x, y, 1)), "AddBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_sub_scalar(x, 1, 1)), "SubBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_mul_scalar(x, 2)), "MulBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_div(x, y)), "DivBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_pow_scalar(x, 2)), "PowBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_pow(x, y)), "PowBackward1");
    EXPECT_STREQ(ct_grad_fn_name(ct_log1p(x)), "Log1PBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_clamp(x, 0, NAN)), "ClampBackward1");
    EXPECT_STREQ(ct_grad_fn_name(ct_gelu(x, CT_GELU_TANH)), "GeluBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_where(ct_gt(x, y), x, y)), "WhereBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_masked_fill(x, ct_gt_scalar(x, 2), 0)), "MaskedFillBackward0");
    ct_tensor *c = ct_clone(x);
    ASSERT_EQ(ct_relu_(c), CT_OK) << ct_last_error();
    EXPECT_STREQ(ct_grad_fn_name(c), "ReluBackward0") << "an in-place op replaces self's grad_fn";
    ct_tensor *lt = ct_lt(x, y);
    EXPECT_FALSE(ct_requires_grad(lt)) << "comparisons are not differentiable";
    EXPECT_TRUE(ct_is_leaf(lt));
}

TEST_F(ElementwiseGrad, NothingIsRecordedWithoutGradModeOrGradInputs) {
    ct_tensor *x = leaf({1, 2}), *plain = ct_ones(1, SHAPE(2), CT_FLOAT64, CT_DEVICE_CPU);
    EXPECT_FALSE(ct_requires_grad(ct_exp(plain)));
    ct_no_grad_begin();
    ct_tensor *y = ct_exp(x);
    ct_no_grad_end();
    EXPECT_FALSE(ct_requires_grad(y));
    EXPECT_TRUE(ct_is_leaf(y));
}

TEST_F(ElementwiseGrad, InPlaceOnALeafThatRequiresGradFailsInPyTorchsWords) {
    ct_tensor *x = leaf({1, 2, 3}), *other = ct_ones(1, SHAPE(3), CT_FLOAT64, CT_DEVICE_CPU);
    const char *words = "a leaf Variable that requires grad is being used in an in-place operation.";
    EXPECT_EQ(ct_add_(x, other, 1), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, words);
    EXPECT_EQ(ct_exp_(x), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, words);
    EXPECT_EQ(ct_masked_fill_(x, ct_gt_scalar(other, 0), 0), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, words);
    EXPECT_EQ(values_of(x), (std::vector<double>{1, 2, 3})) << "nothing was written";
    ct_no_grad_begin();
    EXPECT_EQ(ct_mul_scalar_(x, 2), CT_OK) << "allowed without grad mode (how optimizers update parameters)";
    ct_no_grad_end();
    EXPECT_EQ(values_of(x), (std::vector<double>{2, 4, 6}));
    EXPECT_TRUE(ct_is_leaf(x));
}

TEST_F(ElementwiseGrad, InPlaceOnAViewWhileRecordingIsNotImplemented) {
    ct_tensor *x = leaf({1, 2, 3, 4});
    ct_tensor *v = ct_narrow(ct_clone(x), 0, 1, 2);
    EXPECT_EQ(ct_relu_(v), CT_ERR_NOT_IMPLEMENTED);
    EXPECT_ERROR(CT_ERR_NOT_IMPLEMENTED, "in-place operation on a view is not differentiable yet");
    ct_tensor *buffer = ct_narrow(ct_zeros(1, SHAPE(4), CT_FLOAT64, CT_DEVICE_CPU), 0, 0, 2);
    EXPECT_EQ(ct_add_(buffer, ct_narrow(x, 0, 0, 2), 1), CT_ERR_NOT_IMPLEMENTED) << "a view taking a recorded value";
    EXPECT_ERROR(CT_ERR_NOT_IMPLEMENTED, "ct_add_");
    EXPECT_EQ(values_of(buffer), (std::vector<double>{0, 0}));
}

TEST_F(ElementwiseGrad, InPlaceIntoABufferRecordsTheOtherOperand) {
    ct_tensor *x = leaf({1, 2, 3});
    ct_tensor *z = ct_full(1, SHAPE(3), 10, CT_FLOAT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_mul_(z, x), CT_OK) << ct_last_error();
    EXPECT_STREQ(ct_grad_fn_name(z), "MulBackward0");
    EXPECT_TRUE(ct_requires_grad(z));
    EXPECT_EQ(grad_of_sum(z, x), (std::vector<double>{10, 10, 10})) << "d(z * x)/dx = z's old values";
}

TEST_F(ElementwiseGrad, ClampPassesTheGradientAtItsBoundsAndNotOutside) {
    ct_tensor *x = leaf({-2, -1, 0, 1, 2, NAN});
    EXPECT_EQ(grad_of_sum(ct_clamp(x, -1, 1), x), (std::vector<double>{0, 1, 1, 1, 0, 0}));
    ct_tensor *m = leaf({-1, 0, 1});
    EXPECT_EQ(grad_of_sum(ct_clamp(m, 0, NAN), m), (std::vector<double>{0, 1, 1}));
    ct_tensor *n = leaf({-1, 0, 1});
    EXPECT_EQ(grad_of_sum(ct_clamp(n, NAN, 0), n), (std::vector<double>{1, 1, 0}));
    ct_tensor *crossed = leaf({0, 1, 2}); // min > max: every element becomes max, and none lies in [min, max]
    EXPECT_EQ(grad_of_sum(ct_clamp(crossed, 2, 1), crossed), (std::vector<double>{0, 0, 0}));
}

TEST_F(ElementwiseGrad, ReluAndAbsHaveZeroGradientAtZero) {
    ct_tensor *x = leaf({-1, 0, 2});
    EXPECT_EQ(grad_of_sum(ct_relu(x), x), (std::vector<double>{0, 0, 1}));
    ct_tensor *a = leaf({-3, 0, 2});
    EXPECT_EQ(grad_of_sum(ct_abs(a), a), (std::vector<double>{-1, 0, 1}));
}

TEST_F(ElementwiseGrad, PowAtZeroFollowsPyTorch) {
    ct_tensor *x = leaf({0, 2});
    EXPECT_EQ(grad_of_sum(ct_pow_scalar(x, 0), x), (std::vector<double>{0, 0})) << "x^0: zero gradient";
    ct_tensor *base = leaf({0, 0, 2}), *exponent = leaf({0, 2, 3});
    ASSERT_EQ(ct_backward(ct_pow(base, exponent), ct_ones(1, SHAPE(3), CT_FLOAT64, CT_DEVICE_CPU), false), CT_OK)
        << ct_last_error();
    // d/dbase = e b^(e-1) (0 where e == 0); d/dexponent = b^e log b, 0 where b == 0 and e >= 0
    // (pow, log and the products each round once: a few float64 ulps)
    std::vector<double> gb = values_of(ct_grad(base)), ge = values_of(ct_grad(exponent));
    EXPECT_EQ(gb[0], 0);
    EXPECT_EQ(gb[1], 0);
    EXPECT_NEAR(gb[2], 12, 1e-14);
    EXPECT_EQ(ge[0], 0);
    EXPECT_EQ(ge[1], 0);
    EXPECT_NEAR(ge[2], 8 * std::log(2.0), 1e-14);
}

TEST_F(ElementwiseGrad, ASavedResultChangedInPlaceFailsAtBackward) {
    ct_tensor *x = leaf({0, 1});
    ct_tensor *y = ct_exp(x); // ExpBackward0 saves y
    ASSERT_EQ(ct_mul_scalar_(y, 2), CT_OK) << ct_last_error();
    EXPECT_EQ(ct_backward(y, ct_ones_like(y), false), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "one of the variables needed for gradient computation has been modified by an inplace "
                               "operation");
    ct_tensor *twice = ct_clone(x); // exp_'s saved result changed by a second exp_
    ASSERT_EQ(ct_exp_(twice), CT_OK);
    ASSERT_EQ(ct_exp_(twice), CT_OK);
    EXPECT_EQ(ct_backward(twice, ct_ones_like(twice), false), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "expected version");
    ct_tensor *z = ct_clone(x); // exp_ saves its result after writing it: no error
    ASSERT_EQ(ct_exp_(z), CT_OK);
    std::vector<double> g = grad_of_sum(z, x);
    ASSERT_EQ(g.size(), 2u);
    EXPECT_EQ(g[0], 1);
    EXPECT_NEAR(g[1], std::exp(1.0), 1e-15); // the float64 exp kernel rounds once or twice
}

TEST_F(ElementwiseGrad, MixedDtypesGiveEachInputItsOwnDtype) {
    ct_tensor *x = leaf({1, 2}, CT_FLOAT32), *y = leaf({3, 4});
    ct_tensor *p = ct_mul(x, y); // float64
    ASSERT_EQ(ct_backward(p, ct_ones_like(p), false), CT_OK) << ct_last_error();
    EXPECT_EQ(ct_tensor_dtype(ct_grad(x)), CT_FLOAT32);
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{3, 4}));
    EXPECT_EQ(values_of(ct_grad(y)), (std::vector<double>{1, 2}));
}

// gelu'(x) = Phi(x) + x phi(x), worked out in float64 from erfc; the float32 backward (whose Phi comes from the
// forward, gelu(x) / x) is within a few float32 roundings (6e-8 each) of it.
TEST_F(ElementwiseGrad, GeluDerivativeInFloat32MatchesTheClosedForm) {
    std::vector<double> xs = {-4, -1.5, -1e-30, 0, 1e-3, 0.5, 1, 3};
    ct_tensor *x = leaf(xs, CT_FLOAT32);
    std::vector<double> g = grad_of_sum(ct_gelu(x, CT_GELU_NONE), x);
    ASSERT_EQ(g.size(), xs.size());
    for (size_t i = 0; i < xs.size(); i++) {
        double v = (float)xs[i];
        double want = 0.5 * std::erfc(-v / std::sqrt(2.0)) + v * std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI);
        EXPECT_NEAR(g[i], want, 1e-6 * (1 + std::fabs(want))) << "x = " << xs[i];
    }
    ct_tensor *t = leaf(xs, CT_FLOAT32);
    std::vector<double> gt = grad_of_sum(ct_gelu(t, CT_GELU_TANH), t);
    for (size_t i = 0; i < xs.size(); i++) {
        double v = (float)xs[i], k = std::sqrt(2 / M_PI), u = k * (v + 0.044715 * v * v * v), th = std::tanh(u);
        double want = 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * k * (1 + 3 * 0.044715 * v * v);
        EXPECT_NEAR(gt[i], want, 1e-6 * (1 + std::fabs(want))) << "x = " << xs[i];
    }
}

TEST_F(ElementwiseGrad, DivisionFamilyGradFnNamesArePyTorchs) {
    ct_tensor *x = leaf({5, -3, 7}), *y = leaf({2, 2, -3});
    EXPECT_STREQ(ct_grad_fn_name(ct_div_mode(x, y, CT_ROUND_FLOOR)), "DivBackward2");
    EXPECT_STREQ(ct_grad_fn_name(ct_div_mode_scalar(x, 2, CT_ROUND_TRUNC)), "DivBackward3");
    EXPECT_STREQ(ct_grad_fn_name(ct_div_mode(x, y, CT_ROUND_NONE)), "DivBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_remainder(x, y)), "RemainderBackward1");
    EXPECT_STREQ(ct_grad_fn_name(ct_remainder_scalar(x, 2)), "RemainderBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_fmod(x, y)), "FmodBackward1");
    EXPECT_STREQ(ct_grad_fn_name(ct_fmod_scalar(x, 2)), "FmodBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_floor_divide(x, y)), "NotImplemented");
}

// torch.remainder(a, b).sum().backward() with a = [5, -3, 7], b = [2, 2, -3]: a.grad = 1, b.grad = -floor(a / b);
// torch.fmod: b.grad = -trunc(a / b); div with a rounding mode: zeros.
TEST_F(ElementwiseGrad, DivisionFamilyGradientsByHand) {
    ct_tensor *a = leaf({5, -3, 7}), *b = leaf({2, 2, -3});
    EXPECT_EQ(grad_of_sum(ct_remainder(a, b), b), (std::vector<double>{-2, 2, 3}));
    EXPECT_EQ(values_of(ct_grad(a)), (std::vector<double>{1, 1, 1}));
    ct_tensor *c = leaf({5, -3, 7}), *d = leaf({2, 2, -3});
    EXPECT_EQ(grad_of_sum(ct_fmod(c, d), d), (std::vector<double>{-2, 1, 2}));
    ct_tensor *e = leaf({5, -3, 7}), *f = leaf({2, 2, -3});
    EXPECT_EQ(grad_of_sum(ct_div_mode(e, f, CT_ROUND_FLOOR), f), (std::vector<double>{0, 0, 0}));
    EXPECT_EQ(values_of(ct_grad(e)), (std::vector<double>{0, 0, 0}));
}

// PyTorch records floor_divide with a node that has no derivative: the forward works, backward fails.
TEST_F(ElementwiseGrad, FloorDivideHasNoDerivative) {
    ct_tensor *x = leaf({5, -3}), *y = ct_floor_divide_scalar(x, 2);
    ASSERT_NE(y, nullptr) << ct_last_error();
    EXPECT_EQ(values_of(y), (std::vector<double>{2, -2}));
    EXPECT_TRUE(ct_requires_grad(y));
    EXPECT_NE(ct_backward(y, ct_ones_like(y), false), CT_OK);
    EXPECT_ERROR(CT_ERR_NOT_IMPLEMENTED, "derivative for aten::floor_divide is not implemented");
    // without grad recording there is nothing to fail
    ct_no_grad_begin();
    ct_tensor *z = ct_floor_divide(x, x);
    ct_no_grad_end();
    ASSERT_NE(z, nullptr);
    EXPECT_FALSE(ct_requires_grad(z));
}
