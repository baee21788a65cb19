/* ctorch/elementwise.h: elementwise arithmetic, activations, comparisons, where and masked_fill.
 *
 * Semantics are PyTorch's:
 *  - Broadcasting: shapes are aligned at their last dims; a size-1 dim stretches. Otherwise the op fails with
 *    CT_ERR_SHAPE "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1".
 *  - Type promotion: bool < integer < floating categories, and within one, uint8 < int32 < int64 and
 *    float32 < float64; a 0-d tensor counts only when its category is higher than the dimensioned operands'
 *    (float32 tensor + 0-d float64 tensor -> float32, int64 tensor + 0-d float64 tensor -> float64).
 *    True division of integers, and floating functions (exp, sqrt, ...) of integers, give float32.
 *  - Scalars are passed as double. A scalar with no fractional part (2, -3.0) counts as a Python int, any other
 *    value (2.5, NAN, INFINITY, -0.0) as a Python float: int64 tensor + 2 -> int64, int64 tensor + 2.5 -> float32, and
 *    bool tensor + 1 -> int64. (C cannot tell 2 from 2.0: to get PyTorch's float result for `int_tensor + 2.0`,
 *    convert the tensor first with ct_to_dtype.) The scalar is converted to the computation dtype (float for a
 *    float32 tensor), as PyTorch does.
 *  - float32 math is done in float, float64 in double, integers with wrap-around on overflow.
 *  - In-place variants (trailing _) write into their first argument, which must already have the broadcast shape
 *    ("output with shape [3, 1] doesn't match the broadcast shape [3, 4]") and a dtype the result can be cast to
 *    ("result type Float can't be cast to the desired output type Long": no floating result into an integer
 *    tensor, no non-bool result into a bool tensor). The computation runs in the promoted dtype and is then cast.
 *    An in-place op whose other operand overlaps the written tensor reads that operand whole first.
 *
 * Ownership: every function returning ct_tensor * returns a new tensor (contiguous) with one reference, owned by
 * the caller or the open scope (tensor.h). In-place functions return ct_status.
 * Errors: NULL or a status, with ct_last_error() naming the function and the values; a NULL tensor argument keeps
 * the pending error. Tensors must be on one device (CT_ERR_DEVICE "Expected all tensors to be on the same device,
 * but found at least two devices, cpu and cuda:0!"). float16/bfloat16 tensors fail with CT_ERR_NOT_IMPLEMENTED. */
#ifndef CTORCH_ELEMENTWISE_H
#define CTORCH_ELEMENTWISE_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- arithmetic ---------------------------------------------------------------------------------------------- */

/* a + alpha * b. For an integer or bool result, alpha must have no fractional part ("For integral input tensors,
 * argument alpha must not be a floating point number."). bool + bool is logical or. */
ct_tensor *ct_add(const ct_tensor *a, const ct_tensor *b, double alpha);
/* a - alpha * b. Fails with CT_ERR_DTYPE when either operand is bool (PyTorch's "Subtraction, the `-` operator,
 * with a bool tensor is not supported..."). */
ct_tensor *ct_sub(const ct_tensor *a, const ct_tensor *b, double alpha);
/* a * b. bool * bool is logical and. */
ct_tensor *ct_mul(const ct_tensor *a, const ct_tensor *b);
/* True division a / b: integer and bool operands give float32. Division by zero gives inf or nan. With a rounding
 * mode: ct_div_mode below. */
ct_tensor *ct_div(const ct_tensor *a, const ct_tensor *b);

/* The same with a scalar second operand: t + alpha * s, t - alpha * s, t * s, t / s. */
ct_tensor *ct_add_scalar(const ct_tensor *t, double s, double alpha);
ct_tensor *ct_sub_scalar(const ct_tensor *t, double s, double alpha);
ct_tensor *ct_mul_scalar(const ct_tensor *t, double s);
ct_tensor *ct_div_scalar(const ct_tensor *t, double s);

/* In place: self = self op other (other broadcast to self's shape). */
ct_status ct_add_(ct_tensor *self, const ct_tensor *other, double alpha);
ct_status ct_sub_(ct_tensor *self, const ct_tensor *other, double alpha);
ct_status ct_mul_(ct_tensor *self, const ct_tensor *other);
ct_status ct_div_(ct_tensor *self, const ct_tensor *other);
ct_status ct_add_scalar_(ct_tensor *self, double s, double alpha);
ct_status ct_sub_scalar_(ct_tensor *self, double s, double alpha);
ct_status ct_mul_scalar_(ct_tensor *self, double s);
ct_status ct_div_scalar_(ct_tensor *self, double s);

/* ---- division with rounding, floor_divide, remainder, fmod ------------------------------------------------------
 *
 * PyTorch's torch.div(rounding_mode=...), floor_divide, remainder and fmod, elementwise with broadcasting. Unlike
 * true division these keep integer operands integer: the result dtype is promoted as for ct_add (int64 // int64 ->
 * int64, int32 // 2 -> int32, int64 // 2.5 -> float32). Bool // bool fails with CT_ERR_DTYPE (""div_floor_cpu" not
 * implemented for 'Bool'"); a bool tensor with a number promotes to int64 first.
 *  - Floating: trunc rounds a / b toward zero. floor is Python's float floor division, computed from fmod as
 *    PyTorch does: the quotient agrees with the remainder, so 1 // 0.1 is 9 (1 % 0.1 is 0.0999...), not
 *    floor(1 / 0.1) = 10; b == 0 gives a / b (+-inf or nan); a zero quotient has the sign of a / b (-1 // inf is -1,
 *    1 // -inf is -1, 0 // -1 is -0.0). remainder(a, b) = fmod(a, b), moved by b when the signs differ (the sign of
 *    b, Python's %: -1 % 0.1 = 5.55e-17, -5 % inf = inf, 5 % 0 = nan, -0.0 % 1 = -0.0); fmod is C's fmod (exact,
 *    the sign of a). float32 is computed in float.
 *  - Integers: trunc is C's division, floor Python's //, remainder Python's % (the divisor's sign), fmod C's %
 *    (the dividend's sign). MIN // -1 wraps to MIN, as PyTorch's floor division (PyTorch's CPU trunc division
 *    traps there; ctorch wraps too); MIN % -1 is 0.
 *  - Integer division by zero is an error, CT_ERR_INVALID_ARGUMENT "ZeroDivisionError" (PyTorch's words). A zero
 *    scalar divisor fails before anything is written. A zero element of a divisor tensor is found while computing:
 *    on the CPU the call fails (an in-place call has written the other elements, as PyTorch's loop does); on CUDA the
 *    kernel writes 0 there (what PyTorch's CUDA floor division gives), never traps, and raises the device error
 *    flag, so that the next synchronising call (copying to the host, ct_synchronize) fails with "ZeroDivisionError".
 *  - In place: the result must be castable to self as for the other ops: ct_div_mode_ on an int64 self with
 *    CT_ROUND_NONE, or with a float operand, fails ("result type Float can't be cast to the desired output type
 *    Long").
 *  - Autograd: div with trunc or floor has zero gradients; floor_divide records a node whose backward fails
 *    ("derivative for aten::floor_divide is not implemented", as PyTorch); remainder passes the gradient to a and
 *    gives b -grad * floor(a / b); fmod gives b -grad * trunc(a / b). */

/* How ct_div_mode rounds the quotient: not at all (true division, as ct_div), toward zero, or toward -inf. Another
 * value fails with "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found 7". */
typedef enum ct_rounding_mode { CT_ROUND_NONE = 0, CT_ROUND_TRUNC = 1, CT_ROUND_FLOOR = 2 } ct_rounding_mode;

/* a / b rounded by mode: torch.div(a, b, rounding_mode=...). CT_ROUND_NONE is ct_div (float32 for integers). */
ct_tensor *ct_div_mode(const ct_tensor *a, const ct_tensor *b, ct_rounding_mode mode);
ct_tensor *ct_div_mode_scalar(const ct_tensor *t, double s, ct_rounding_mode mode);
ct_status ct_div_mode_(ct_tensor *self, const ct_tensor *other, ct_rounding_mode mode);
ct_status ct_div_mode_scalar_(ct_tensor *self, double s, ct_rounding_mode mode);
/* a // b: ct_div_mode with CT_ROUND_FLOOR, without a derivative (see above). */
ct_tensor *ct_floor_divide(const ct_tensor *a, const ct_tensor *b);
ct_tensor *ct_floor_divide_scalar(const ct_tensor *t, double s);
ct_status ct_floor_divide_(ct_tensor *self, const ct_tensor *other);
ct_status ct_floor_divide_scalar_(ct_tensor *self, double s);
/* Python's a % b, with the sign of b. */
ct_tensor *ct_remainder(const ct_tensor *a, const ct_tensor *b);
ct_tensor *ct_remainder_scalar(const ct_tensor *t, double s);
ct_status ct_remainder_(ct_tensor *self, const ct_tensor *other);
ct_status ct_remainder_scalar_(ct_tensor *self, double s);
/* C's fmod(a, b) (integers: a % b), with the sign of a. */
ct_tensor *ct_fmod(const ct_tensor *a, const ct_tensor *b);
ct_tensor *ct_fmod_scalar(const ct_tensor *t, double s);
ct_status ct_fmod_(ct_tensor *self, const ct_tensor *other);
ct_status ct_fmod_scalar_(ct_tensor *self, double s);

/* base ** exponent, elementwise with broadcasting. Integer powers are exact (wrapping on overflow); an integer
 * base to a negative integer power gives 1 for base 1, +-1 for base -1 and 0 otherwise. bool ** bool fails
 * ("\"pow\" not implemented for 'Bool'"). */
ct_tensor *ct_pow(const ct_tensor *base, const ct_tensor *exponent);
/* t ** exponent. An integer tensor to a negative integer exponent fails with "Integers to negative integer powers
 * are not allowed.". */
ct_tensor *ct_pow_scalar(const ct_tensor *t, double exponent);
ct_status ct_pow_(ct_tensor *self, const ct_tensor *exponent);
ct_status ct_pow_scalar_(ct_tensor *self, double exponent);

/* ---- unary functions ------------------------------------------------------------------------------------------- */

/* -t. Integers wrap. Fails for bool ("Negation, the `-` operator, on a bool tensor is not supported..."). */
ct_tensor *ct_neg(const ct_tensor *t);
/* |t|. Fails for bool, as PyTorch's CPU kernel. */
ct_tensor *ct_abs(const ct_tensor *t);
/* e^t, ln t, ln(1 + t), sqrt t, 1 / sqrt t: floating results (float32 for integer or bool input). */
ct_tensor *ct_exp(const ct_tensor *t);
ct_tensor *ct_log(const ct_tensor *t);
ct_tensor *ct_log1p(const ct_tensor *t);
ct_tensor *ct_sqrt(const ct_tensor *t);
ct_tensor *ct_rsqrt(const ct_tensor *t);
/* 1 / (1 + e^-t) and tanh t: floating results (float32 for integer or bool input). */
ct_tensor *ct_sigmoid(const ct_tensor *t);
ct_tensor *ct_tanh(const ct_tensor *t);

/* min(max(t, min), max). A NAN bound means "none" (PyTorch's None); at least one bound must be given
 * ("torch.clamp: At least one of 'min' or 'max' must not be None"). When min > max every element becomes max.
 * NaN elements stay NaN. The result dtype promotes t with the bounds as scalars (int tensor, bound 0.5 ->
 * float32). */
ct_tensor *ct_clamp(const ct_tensor *t, double min, double max);
/* max(t, 0). Integers allowed; fails for bool ("Boolean inputs not supported for relu"). */
ct_tensor *ct_relu(const ct_tensor *t);

/* How gelu is computed: exactly, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), or with the tanh approximation
 * 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). */
typedef enum ct_gelu_approximate { CT_GELU_NONE = 0, CT_GELU_TANH = 1 } ct_gelu_approximate;
/* GELU of a floating tensor (integer input fails: "\"gelu\" not implemented for 'Long'"); an unknown approximate
 * value fails with "approximate argument must be either none or tanh.". */
ct_tensor *ct_gelu(const ct_tensor *t, ct_gelu_approximate approximate);
/* x * sigmoid(x) of a floating tensor (integer input fails). */
ct_tensor *ct_silu(const ct_tensor *t);

/* In place. A floating function of an integer tensor fails ("result type Float can't be cast to the desired
 * output type Long"), as does a clamp whose bounds would promote self. */
ct_status ct_neg_(ct_tensor *self);
ct_status ct_abs_(ct_tensor *self);
ct_status ct_exp_(ct_tensor *self);
ct_status ct_log_(ct_tensor *self);
ct_status ct_log1p_(ct_tensor *self);
ct_status ct_sqrt_(ct_tensor *self);
ct_status ct_rsqrt_(ct_tensor *self);
ct_status ct_sigmoid_(ct_tensor *self);
ct_status ct_tanh_(ct_tensor *self);
ct_status ct_clamp_(ct_tensor *self, double min, double max);
ct_status ct_relu_(ct_tensor *self);
ct_status ct_gelu_(ct_tensor *self, ct_gelu_approximate approximate);
ct_status ct_silu_(ct_tensor *self);

/* ---- comparisons (bool results) ------------------------------------------------------------------------------ */

/* a == b, a != b, a < b, a <= b, a > b, a >= b, compared in the promoted dtype of a and b, broadcasting. Any
 * comparison with NaN is false, except != which is true. */
ct_tensor *ct_eq(const ct_tensor *a, const ct_tensor *b);
ct_tensor *ct_ne(const ct_tensor *a, const ct_tensor *b);
ct_tensor *ct_lt(const ct_tensor *a, const ct_tensor *b);
ct_tensor *ct_le(const ct_tensor *a, const ct_tensor *b);
ct_tensor *ct_gt(const ct_tensor *a, const ct_tensor *b);
ct_tensor *ct_ge(const ct_tensor *a, const ct_tensor *b);
/* The same against a scalar (promoted with t as in arithmetic: int tensor < 2.5 compares in float32). */
ct_tensor *ct_eq_scalar(const ct_tensor *t, double s);
ct_tensor *ct_ne_scalar(const ct_tensor *t, double s);
ct_tensor *ct_lt_scalar(const ct_tensor *t, double s);
ct_tensor *ct_le_scalar(const ct_tensor *t, double s);
ct_tensor *ct_gt_scalar(const ct_tensor *t, double s);
ct_tensor *ct_ge_scalar(const ct_tensor *t, double s);

/* ---- selection ---------------------------------------------------------------------------------------------- */

/* condition ? a : b elementwise, the three broadcast together; the result has the promoted dtype of a and b.
 * condition must be bool ("where expected condition to be a boolean tensor, but got a tensor with dtype
 * Float"). */
ct_tensor *ct_where(const ct_tensor *condition, const ct_tensor *a, const ct_tensor *b);
/* A copy of t (broadcast with mask) with value where mask is true; t's dtype (value converted as a C cast,
 * bool: value != 0). mask must be bool ("masked_fill_ only supports boolean masks, but got mask with dtype
 * float"). */
ct_tensor *ct_masked_fill(const ct_tensor *t, const ct_tensor *mask, double value);
/* The same in place; mask must broadcast to self's shape. */
ct_status ct_masked_fill_(ct_tensor *self, const ct_tensor *mask, double value);

#ifdef __cplusplus
}
#endif
#endif
