/* Front end of the elementwise family (ctorch/elementwise.h): argument checks, broadcasting, type promotion,
 * output allocation, in-place rules, then one call of the backend's launcher (kernels/elementwise.h).
 *
 * Every op funnels into one of four drivers: binary (arithmetic and comparisons, tensor or scalar second operand),
 * unary, where and masked_fill. A driver decides the computation dtype the way PyTorch's TensorIterator does,
 * converts inputs whose dtype differs (a copy, only in mixed-dtype calls), and hands the kernels views that all
 * have the output's shape, so the kernels neither promote nor broadcast. An in-place op whose result dtype differs
 * from self's (float32 self += float64 other) computes into a temporary in the promoted dtype and casts it into
 * self, which is what PyTorch's "compute in the common dtype, cast to the output" gives.
 *
 * Autograd: each driver brackets its computation with ct__ew_grad_begin / ct__ew_grad_end
 * (autograd/backward_elementwise.h), which record the node and hold the backward functions. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "autograd/backward_elementwise.h"
#include "common.h"
#include "cpu/cpu_iter.h"
#include "ctorch/elementwise.h"
#include "kernels/elementwise.h"

/* ---- small helpers -------------------------------------------------------------------------------------------- */

/* PyTorch's ScalarType names, as its messages print them. */

/* The C++ names some PyTorch messages print instead ("... with dtype float", "... type int32_t ..."). */
static const char *cpp_type_name(ct_dtype d, bool fixed_width) {
    switch (d) {
    case CT_FLOAT32: return "float";
    case CT_FLOAT64: return "double";
    case CT_INT64: return fixed_width ? "int64_t" : "long int";
    case CT_INT32: return fixed_width ? "int32_t" : "int";
    case CT_UINT8: return fixed_width ? "uint8_t" : "unsigned char";
    case CT_BOOL: return "bool";
    default: return ct__scalar_type_name(d);
    }
}

/* A scalar with no fractional part counts as a Python int, any other (2.5, NAN, INFINITY, and -0.0, which no int
 * is) as a Python float. */
static bool scalar_is_integral(double s) {
    return isfinite(s) && s == trunc(s) && fabs(s) < 9.2e18 && !(s == 0 && signbit(s));
}

/* s converted to dtype, as PyTorch converts a scalar operand to the computation type (integers wrap). */
static ct__ew_value value_as(double s, ct_dtype dtype) {
    ct__ew_value v;
    memset(&v, 0, sizeof v);
    ct__scalar sc = scalar_is_integral(s) ? (ct__scalar){false, s, (int64_t)s} : (ct__scalar){true, s, 0};
    ct__store_scalar(&v, dtype, sc);
    return v;
}

/* PyTorch's checked conversion of a scalar argument (clamp bounds, masked_fill's value). */
static ct_status check_fits(double v, ct_dtype d, const char *func) {
    bool ok = true;
    double t = trunc(v);
    switch (d) {
    case CT_FLOAT32: ok = !isfinite(v) || fabs(v) <= FLT_MAX; break;
    case CT_INT64: ok = t >= -9223372036854775808.0 && t < 9223372036854775808.0; break;
    case CT_INT32: ok = t >= INT32_MIN && t <= INT32_MAX; break;
    case CT_UINT8: ok = t >= -UINT8_MAX && t <= UINT8_MAX; break; /* negatives wrap, as c10::overflows allows */
    default: break;
    }
    if (ok) return CT_OK;
    return ct__error(CT_ERR_INVALID_ARGUMENT, func, "value cannot be converted to type %s without overflow",
                     cpp_type_name(d, true));
}

/* PyTorch's canCast: no floating value into an integral or bool tensor, no non-bool value into a bool tensor. */
static bool can_cast(ct_dtype from, ct_dtype to) {
    if (ct_dtype_is_floating(from) && !ct_dtype_is_floating(to)) return false;
    return !(from != CT_BOOL && to == CT_BOOL);
}

static ct_status check_operand(const ct_tensor *t, const char *func, const char *arg) {
    ct_status st = ct__check_tensor(t, func, arg);
    return st != CT_OK ? st : ct__check_supported_dtype(t, func);
}

/* t as a view of the broadcast shape (ndim, shape): stride 0 along the dims it is stretched over. */
static ct__view view_as(const ct_tensor *t, int ndim, const int64_t *shape) {
    ct__view v = ct__view_of(t);
    int lead = ndim - t->ndim;
    v.ndim = ndim;
    for (int d = CT_MAX_DIMS - 1; d >= 0; d--) {
        int k = d - lead;
        bool own = d < ndim && k >= 0 && t->shape[k] == shape[d];
        v.shape[d] = d < ndim ? shape[d] : 1;
        v.stride[d] = own ? t->stride[k] : 0;
    }
    return v;
}

/* The element range [lo, hi] of t's storage that t can touch, in bytes. */
static void byte_extent(const ct_tensor *t, int64_t *lo, int64_t *hi) {
    int64_t size = (int64_t)ct_dtype_size(t->dtype), first = t->offset, last = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        int64_t span = (t->shape[d] - 1) * t->stride[d];
        if (span > 0) last += span; else first += span;
    }
    *lo = first * size;
    *hi = (last + 1) * size - 1;
}

/* True when writing `self` could change what reading `other` (broadcast to self's shape) gives, other than the
 * harmless case of both being the same elements in the same order. */
static bool reads_overlap(const ct_tensor *self, const ct_tensor *other) {
    if (self->storage != other->storage || ct_numel(self) == 0 || ct_numel(other) == 0) return false;
    ct__view s = ct__view_of(self), o = view_as(other, self->ndim, self->shape);
    bool same = s.data == o.data && s.dtype == o.dtype;
    for (int d = 0; d < s.ndim && same; d++) same = s.shape[d] == 1 || s.stride[d] == o.stride[d];
    if (same) return false;
    int64_t slo, shi, olo, ohi;
    byte_extent(self, &slo, &shi);
    byte_extent(other, &olo, &ohi);
    return slo <= ohi && olo <= shi;
}

static bool has_internal_overlap(const ct_tensor *t) {
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] > 1 && t->stride[d] == 0) return true;
    return false;
}

/* The checks of an in-place op's output, in TensorIterator's order: memory overlap, shape, then dtype. */
static ct_status check_in_place(const ct_tensor *self, int ndim, const int64_t *shape, ct_dtype result,
                                const char *func, bool clamp_words) {
    if (has_internal_overlap(self))
        return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                         "unsupported operation: more than one element of the written-to tensor refers to a single "
                         "memory location. Please clone() the tensor before performing the operation.");
    bool same = ndim == self->ndim;
    for (int d = 0; d < ndim && same; d++) same = shape[d] == self->shape[d];
    if (!same) {
        char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF];
        return ct__error(CT_ERR_SHAPE, func, "output with shape %s doesn't match the broadcast shape %s",
                         ct__shape_str(self->ndim, self->shape, a, sizeof a), ct__shape_str(ndim, shape, b, sizeof b));
    }
    if (clamp_words ? result != self->dtype : !can_cast(result, self->dtype))
        return ct__error(CT_ERR_DTYPE, func, "result type %s can't be cast to the desired %soutput type %s",
                         ct__scalar_type_name(result), clamp_words ? "inplace " : "", ct__scalar_type_name(self->dtype));
    return CT_OK;
}

/* t in dtype: t itself when it already is, else a converted copy put in *owned (released by the caller). */
static const ct_tensor *in_dtype(const ct_tensor *t, ct_dtype dtype, ct_tensor **owned) {
    *owned = NULL;
    if (t->dtype == dtype) return t;
    *owned = ct_to_dtype(t, dtype);
    return *owned;
}

/* Where a kernel writes: out itself when it has the computation dtype, else a temporary in *tmp. */
static ct_tensor *compute_target(ct_tensor *out, ct_dtype compute, ct_tensor **tmp) {
    *tmp = NULL;
    if (out->dtype == compute) return out;
    *tmp = ct__tensor_new(out->ndim, out->shape, compute, ct_tensor_device(out), false);
    return *tmp;
}

/* Casts a temporary result into out. */
static ct_status finish_target(ct_tensor *out, ct_tensor *tmp) {
    if (!tmp) return CT_OK;
    return CT_DISPATCH(ct_tensor_device(out), copy, ct__view_of(out), ct__view_of(tmp));
}

/* ---- binary ops ------------------------------------------------------------------------------------------------- */

typedef struct binary_call {
    const char *func;
    ct__ew_op op;
    const ct_tensor *a, *b;
    const char *a_name, *b_name; /* b_name NULL: the second operand is `scalar`, b is unused */
    double scalar, alpha;
    ct_tensor *self;    /* in place: the output, which is also a */
    bool no_derivative; /* floor_divide: recorded, but backward fails (PyTorch has no derivative for it) */
} binary_call;

static bool is_comparison(ct__ew_op op) { return op >= CT__EW_EQ && op <= CT__EW_GE; }
/* div with a rounding mode, remainder and fmod: integer results for integer operands, and 0 is no divisor. */
static bool is_rounding_division(ct__ew_op op) { return op >= CT__EW_DIV_TRUNC && op <= CT__EW_FMOD; }

/* The kernel names PyTorch's "not implemented for 'Bool'" message gives these ops. */
static const char *division_kernel_name(ct__ew_op op) {
    switch (op) {
    case CT__EW_DIV_TRUNC: return "div_trunc";
    case CT__EW_DIV_FLOOR: return "div_floor";
    case CT__EW_REMAINDER: return "remainder";
    default: return "fmod";
    }
}

static bool value_is_zero(ct__ew_value v, ct_dtype d) {
    switch (d) {
    case CT_INT64: return v.i64 == 0;
    case CT_INT32: return v.i32 == 0;
    case CT_UINT8: return v.u8 == 0;
    default: return false; /* floating division by zero is IEEE's, never an error */
    }
}

/* The computation dtype of a binary op, and the op-specific refusals. */
static ct_status binary_dtype(const binary_call *c, ct_dtype *compute) {
    ct_dtype d = c->b ? ct__result_type(c->a, c->b) : ct__result_type_scalar(c->a, !scalar_is_integral(c->scalar));
    bool a_bool = c->a->dtype == CT_BOOL, b_bool = c->b && c->b->dtype == CT_BOOL;
    if (c->op == CT__EW_SUB && a_bool && b_bool)
        return ct__error(CT_ERR_DTYPE, c->func,
                         "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                         "`logical_xor()` operator instead.");
    if (c->op == CT__EW_SUB && (a_bool || b_bool))
        return ct__error(CT_ERR_DTYPE, c->func,
                         "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                         "invert a mask, use the `~` or `logical_not()` operator instead.");
    if ((c->op == CT__EW_ADD || c->op == CT__EW_SUB) && !ct_dtype_is_floating(d) && !scalar_is_integral(c->alpha))
        return ct__error(CT_ERR_INVALID_ARGUMENT, c->func,
                         "For integral input tensors, argument alpha must not be a floating point number.");
    if (c->op == CT__EW_DIV && !ct_dtype_is_floating(d)) d = CT_FLOAT32;
    if (is_rounding_division(c->op) && d == CT_BOOL)
        return ct__error(CT_ERR_DTYPE, c->func, "\"%s_%s\" not implemented for 'Bool'", division_kernel_name(c->op),
                         ct_tensor_device(c->a).type == CT_CUDA ? "cuda" : "cpu");
    if (c->op == CT__EW_POW && d == CT_BOOL)
        return ct__error(CT_ERR_DTYPE, c->func, "\"pow\" not implemented for 'Bool'");
    if (c->op == CT__EW_POW && !c->b && !ct_dtype_is_floating(d) && c->scalar < 0)
        return ct__error(CT_ERR_INVALID_ARGUMENT, c->func, "Integers to negative integer powers are not allowed.");
    *compute = d;
    return CT_OK;
}

/* The checks and the output of a binary op: fills *compute, the broadcast shape and *out (self, or new). */
static ct_status binary_prepare(const binary_call *c, ct_dtype *compute, int *ndim, int64_t *shape, ct_tensor **out) {
    ct_status st;
    if ((st = check_operand(c->a, c->func, c->a_name)) != CT_OK) return st;
    if (c->b_name && (st = check_operand(c->b, c->func, c->b_name)) != CT_OK) return st;
    if (c->b && (st = ct__check_same_device(c->a, c->b, c->func)) != CT_OK) return st;
    if ((st = binary_dtype(c, compute)) != CT_OK) return st;
    *ndim = c->a->ndim;
    memcpy(shape, c->a->shape, sizeof(int64_t) * (size_t)c->a->ndim);
    if (c->b && (st = ct__broadcast_shapes(c->a->ndim, c->a->shape, c->b->ndim, c->b->shape, ndim, shape, c->func)))
        return st;
    int64_t numel = 1;
    for (int d = 0; d < *ndim; d++) numel *= shape[d];
    if (is_rounding_division(c->op) && !c->b && numel > 0 && value_is_zero(value_as(c->scalar, *compute), *compute))
        return ct__error(CT_ERR_INVALID_ARGUMENT, c->func, "ZeroDivisionError"); /* before anything is written */
    ct_dtype result = is_comparison(c->op) ? CT_BOOL : *compute;
    if (c->self) {
        *out = c->self;
        return check_in_place(c->self, *ndim, shape, result, c->func, false);
    }
    *out = ct__tensor_new(*ndim, shape, result, ct_tensor_device(c->a), false);
    return *out ? CT_OK : ct_last_status();
}

/* Runs the kernel of a checked binary op into out. */
static ct_status binary_compute(const binary_call *c, ct_dtype compute, ct_tensor *out) {
    ct_tensor *a_owned, *b_owned = NULL, *tmp = NULL;
    const ct_tensor *a = in_dtype(c->a, compute, &a_owned), *b = c->b ? in_dtype(c->b, compute, &b_owned) : NULL;
    if (!a || (c->b && !b)) goto fail;
    if (b && c->self && reads_overlap(c->self, b)) { /* read the other operand whole before writing self */
        ct_tensor *copy = ct_clone(b);
        ct_release(b_owned);
        b = b_owned = copy;
        if (!b) goto fail;
    }
    ct_tensor *target = compute_target(out, is_comparison(c->op) ? CT_BOOL : compute, &tmp);
    if (!target) goto fail;
    ct__ew_args args;
    memset(&args, 0, sizeof args);
    args.alpha = value_as(c->alpha, compute);
    args.scalar = value_as(c->scalar, compute);
    ct__view vb = {0};
    if (b) vb = view_as(b, out->ndim, out->shape);
    ct_status st = CT_DISPATCH(ct_tensor_device(out), ew_binary, c->op, ct__view_of(target),
                               view_as(a, out->ndim, out->shape), vb, args);
    if (st == CT_ERR_INVALID_ARGUMENT && is_rounding_division(c->op)) /* a zero divisor: the launcher's words */
        st = ct__error(st, c->func, "ZeroDivisionError");
    if (st == CT_OK) st = finish_target(out, tmp);
    ct_release(a_owned), ct_release(b_owned), ct_release(tmp);
    return st;
fail:
    ct_release(a_owned), ct_release(b_owned), ct_release(tmp);
    return ct_last_status();
}

static ct__ew_grad_call binary_grad_call(const binary_call *c) {
    return (ct__ew_grad_call){c->func, CT__EW_GRAD_BINARY, c->op, {c->a, c->b, NULL}, c->scalar, c->alpha, NAN, NAN,
                              c->self, c->no_derivative};
}

/* Runs a binary op: out of place (c.self NULL: *result is the new tensor) or in place (into c.self). */
static ct_status binary_run(binary_call c, ct_tensor **result) {
    ct_dtype compute = CT_FLOAT32; /* set by binary_prepare; initialised for the compiler's flow analysis */
    int ndim = 0;
    int64_t shape[CT_MAX_DIMS];
    ct_tensor *out = NULL;
    ct__node *node = NULL;
    ct__ew_grad_call grad = binary_grad_call(&c);
    ct_status st = binary_prepare(&c, &compute, &ndim, shape, &out);
    if (st == CT_OK) st = ct__ew_grad_begin(&grad, &node);
    if (st == CT_OK && ct_numel(out) > 0) st = binary_compute(&c, compute, out);
    if (st == CT_OK && c.self) ct__bump_version(c.self);
    ct__ew_grad_end(node, &grad, st != CT_OK ? NULL : c.self ? c.self : out);
    *result = out;
    return st;
}

static ct_tensor *binary(binary_call c) {
    ct_tensor *out;
    if (binary_run(c, &out) == CT_OK) return out;
    ct_release(out);
    return NULL;
}

static ct_status binary_(binary_call c) {
    ct_tensor *out; /* self */
    return binary_run(c, &out);
}

#define TENSORS(fn, op, a, b, alpha) binary((binary_call){fn, op, a, b, "a", "b", 0, alpha, NULL, false})
#define SCALAR(fn, op, t, s, alpha) binary((binary_call){fn, op, t, NULL, "t", NULL, s, alpha, NULL, false})
#define TENSORS_(fn, op, self, other, alpha) \
    binary_((binary_call){fn, op, self, other, "self", "other", 0, alpha, self, false})
#define SCALAR_(fn, op, self, s, alpha) binary_((binary_call){fn, op, self, NULL, "self", NULL, s, alpha, self, false})

ct_tensor *ct_add(const ct_tensor *a, const ct_tensor *b, double alpha) { return TENSORS(__func__, CT__EW_ADD, a, b, alpha); }
ct_tensor *ct_sub(const ct_tensor *a, const ct_tensor *b, double alpha) { return TENSORS(__func__, CT__EW_SUB, a, b, alpha); }
ct_tensor *ct_mul(const ct_tensor *a, const ct_tensor *b) { return TENSORS(__func__, CT__EW_MUL, a, b, 1); }
ct_tensor *ct_div(const ct_tensor *a, const ct_tensor *b) { return TENSORS(__func__, CT__EW_DIV, a, b, 1); }
ct_tensor *ct_add_scalar(const ct_tensor *t, double s, double alpha) { return SCALAR(__func__, CT__EW_ADD, t, s, alpha); }
ct_tensor *ct_sub_scalar(const ct_tensor *t, double s, double alpha) { return SCALAR(__func__, CT__EW_SUB, t, s, alpha); }
ct_tensor *ct_mul_scalar(const ct_tensor *t, double s) { return SCALAR(__func__, CT__EW_MUL, t, s, 1); }
ct_tensor *ct_div_scalar(const ct_tensor *t, double s) { return SCALAR(__func__, CT__EW_DIV, t, s, 1); }

ct_status ct_add_(ct_tensor *self, const ct_tensor *other, double alpha) { return TENSORS_(__func__, CT__EW_ADD, self, other, alpha); }
ct_status ct_sub_(ct_tensor *self, const ct_tensor *other, double alpha) { return TENSORS_(__func__, CT__EW_SUB, self, other, alpha); }
ct_status ct_mul_(ct_tensor *self, const ct_tensor *other) { return TENSORS_(__func__, CT__EW_MUL, self, other, 1); }
ct_status ct_div_(ct_tensor *self, const ct_tensor *other) { return TENSORS_(__func__, CT__EW_DIV, self, other, 1); }
ct_status ct_add_scalar_(ct_tensor *self, double s, double alpha) { return SCALAR_(__func__, CT__EW_ADD, self, s, alpha); }
ct_status ct_sub_scalar_(ct_tensor *self, double s, double alpha) { return SCALAR_(__func__, CT__EW_SUB, self, s, alpha); }
ct_status ct_mul_scalar_(ct_tensor *self, double s) { return SCALAR_(__func__, CT__EW_MUL, self, s, 1); }
ct_status ct_div_scalar_(ct_tensor *self, double s) { return SCALAR_(__func__, CT__EW_DIV, self, s, 1); }

/* ---- the division family: div with a rounding mode, floor_divide, remainder, fmod -------------------------------- */

/* The kernel op of a rounding mode; an unknown mode fails with PyTorch's words. */
static ct_status rounding_op(ct_rounding_mode mode, const char *func, ct__ew_op *op) {
    switch (mode) {
    case CT_ROUND_NONE: *op = CT__EW_DIV; return CT_OK;
    case CT_ROUND_TRUNC: *op = CT__EW_DIV_TRUNC; return CT_OK;
    case CT_ROUND_FLOOR: *op = CT__EW_DIV_FLOOR; return CT_OK;
    }
    return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                     "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found %d", (int)mode);
}

ct_tensor *ct_div_mode(const ct_tensor *a, const ct_tensor *b, ct_rounding_mode mode) {
    ct__ew_op op = CT__EW_DIV;
    return rounding_op(mode, __func__, &op) == CT_OK ? TENSORS(__func__, op, a, b, 1) : NULL;
}
ct_tensor *ct_div_mode_scalar(const ct_tensor *t, double s, ct_rounding_mode mode) {
    ct__ew_op op = CT__EW_DIV;
    return rounding_op(mode, __func__, &op) == CT_OK ? SCALAR(__func__, op, t, s, 1) : NULL;
}
ct_status ct_div_mode_(ct_tensor *self, const ct_tensor *other, ct_rounding_mode mode) {
    ct__ew_op op = CT__EW_DIV;
    ct_status st = rounding_op(mode, __func__, &op);
    return st == CT_OK ? TENSORS_(__func__, op, self, other, 1) : st;
}
ct_status ct_div_mode_scalar_(ct_tensor *self, double s, ct_rounding_mode mode) {
    ct__ew_op op = CT__EW_DIV;
    ct_status st = rounding_op(mode, __func__, &op);
    return st == CT_OK ? SCALAR_(__func__, op, self, s, 1) : st;
}

/* floor_divide is div(floor) whose node has no derivative, as PyTorch's. */
ct_tensor *ct_floor_divide(const ct_tensor *a, const ct_tensor *b) {
    return binary((binary_call){__func__, CT__EW_DIV_FLOOR, a, b, "a", "b", 0, 1, NULL, true});
}
ct_tensor *ct_floor_divide_scalar(const ct_tensor *t, double s) {
    return binary((binary_call){__func__, CT__EW_DIV_FLOOR, t, NULL, "t", NULL, s, 1, NULL, true});
}
ct_status ct_floor_divide_(ct_tensor *self, const ct_tensor *other) {
    return binary_((binary_call){__func__, CT__EW_DIV_FLOOR, self, other, "self", "other", 0, 1, self, true});
}
ct_status ct_floor_divide_scalar_(ct_tensor *self, double s) {
    return binary_((binary_call){__func__, CT__EW_DIV_FLOOR, self, NULL, "self", NULL, s, 1, self, true});
}

ct_tensor *ct_remainder(const ct_tensor *a, const ct_tensor *b) { return TENSORS(__func__, CT__EW_REMAINDER, a, b, 1); }
ct_tensor *ct_remainder_scalar(const ct_tensor *t, double s) { return SCALAR(__func__, CT__EW_REMAINDER, t, s, 1); }
ct_status ct_remainder_(ct_tensor *self, const ct_tensor *other) { return TENSORS_(__func__, CT__EW_REMAINDER, self, other, 1); }
ct_status ct_remainder_scalar_(ct_tensor *self, double s) { return SCALAR_(__func__, CT__EW_REMAINDER, self, s, 1); }
ct_tensor *ct_fmod(const ct_tensor *a, const ct_tensor *b) { return TENSORS(__func__, CT__EW_FMOD, a, b, 1); }
ct_tensor *ct_fmod_scalar(const ct_tensor *t, double s) { return SCALAR(__func__, CT__EW_FMOD, t, s, 1); }
ct_status ct_fmod_(ct_tensor *self, const ct_tensor *other) { return TENSORS_(__func__, CT__EW_FMOD, self, other, 1); }
ct_status ct_fmod_scalar_(ct_tensor *self, double s) { return SCALAR_(__func__, CT__EW_FMOD, self, s, 1); }

ct_tensor *ct_pow(const ct_tensor *base, const ct_tensor *exponent) {
    return binary((binary_call){__func__, CT__EW_POW, base, exponent, "base", "exponent", 0, 1, NULL, false});
}
ct_tensor *ct_pow_scalar(const ct_tensor *t, double exponent) { return SCALAR(__func__, CT__EW_POW, t, exponent, 1); }
ct_status ct_pow_(ct_tensor *self, const ct_tensor *exponent) {
    return binary_((binary_call){__func__, CT__EW_POW, self, exponent, "self", "exponent", 0, 1, self, false});
}
ct_status ct_pow_scalar_(ct_tensor *self, double exponent) { return SCALAR_(__func__, CT__EW_POW, self, exponent, 1); }

ct_tensor *ct_eq(const ct_tensor *a, const ct_tensor *b) { return TENSORS(__func__, CT__EW_EQ, a, b, 1); }
ct_tensor *ct_ne(const ct_tensor *a, const ct_tensor *b) { return TENSORS(__func__, CT__EW_NE, a, b, 1); }
ct_tensor *ct_lt(const ct_tensor *a, const ct_tensor *b) { return TENSORS(__func__, CT__EW_LT, a, b, 1); }
ct_tensor *ct_le(const ct_tensor *a, const ct_tensor *b) { return TENSORS(__func__, CT__EW_LE, a, b, 1); }
ct_tensor *ct_gt(const ct_tensor *a, const ct_tensor *b) { return TENSORS(__func__, CT__EW_GT, a, b, 1); }
ct_tensor *ct_ge(const ct_tensor *a, const ct_tensor *b) { return TENSORS(__func__, CT__EW_GE, a, b, 1); }
ct_tensor *ct_eq_scalar(const ct_tensor *t, double s) { return SCALAR(__func__, CT__EW_EQ, t, s, 1); }
ct_tensor *ct_ne_scalar(const ct_tensor *t, double s) { return SCALAR(__func__, CT__EW_NE, t, s, 1); }
ct_tensor *ct_lt_scalar(const ct_tensor *t, double s) { return SCALAR(__func__, CT__EW_LT, t, s, 1); }
ct_tensor *ct_le_scalar(const ct_tensor *t, double s) { return SCALAR(__func__, CT__EW_LE, t, s, 1); }
ct_tensor *ct_gt_scalar(const ct_tensor *t, double s) { return SCALAR(__func__, CT__EW_GT, t, s, 1); }
ct_tensor *ct_ge_scalar(const ct_tensor *t, double s) { return SCALAR(__func__, CT__EW_GE, t, s, 1); }

/* ---- unary ops ---------------------------------------------------------------------------------------------------- */

typedef struct unary_call {
    const char *func;
    ct__ew_op op;
    const ct_tensor *t;
    ct_tensor *self; /* in place: the output, which is also t */
    double lo, hi;   /* clamp; NAN = none */
} unary_call;

static const char *unary_name(ct__ew_op op) {
    switch (op) {
    case CT__EW_GELU: case CT__EW_GELU_TANH: return "gelu";
    case CT__EW_SILU: return "silu";
    default: return "elementwise";
    }
}

/* clamp's result dtype: t's, unless t is bool or integral and a bound lifts it (as PyTorch's clamp meta). */
static ct_dtype clamp_dtype(const unary_call *c) {
    ct_dtype d = c->t->dtype;
    if (ct_dtype_is_floating(d)) return d;
    bool floating_bound = (!isnan(c->lo) && !scalar_is_integral(c->lo)) || (!isnan(c->hi) && !scalar_is_integral(c->hi));
    return floating_bound ? CT_FLOAT32 : d == CT_BOOL ? CT_INT64 : d;
}

static ct_status unary_dtype(const unary_call *c, ct_dtype *compute) {
    ct_dtype d = c->t->dtype;
    bool floating = ct_dtype_is_floating(d);
    switch (c->op) {
    case CT__EW_NEG:
        if (d == CT_BOOL)
            return ct__error(CT_ERR_DTYPE, c->func,
                             "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                             "invert a mask, use the `~` or `logical_not()` operator instead.");
        break;
    case CT__EW_RELU:
        if (d == CT_BOOL) return ct__error(CT_ERR_DTYPE, c->func, "Boolean inputs not supported for relu");
        break;
    case CT__EW_ABS:
        if (d == CT_BOOL) return ct__error(CT_ERR_DTYPE, c->func, "\"abs\" not implemented for 'Bool'");
        break;
    case CT__EW_GELU: case CT__EW_GELU_TANH: case CT__EW_SILU:
        if (!floating)
            return ct__error(CT_ERR_DTYPE, c->func, "\"%s\" not implemented for '%s'", unary_name(c->op), ct__scalar_type_name(d));
        break;
    case CT__EW_CLAMP:
        if (isnan(c->lo) && isnan(c->hi))
            return ct__error(CT_ERR_INVALID_ARGUMENT, c->func,
                             "torch.clamp: At least one of 'min' or 'max' must not be None (NAN)");
        d = clamp_dtype(c);
        break;
    default: /* exp, log, ...: integers and bool give float32 */
        if (!floating) d = CT_FLOAT32;
    }
    *compute = d;
    return CT_OK;
}

/* clamp's bounds in the computation dtype; a missing bound is the dtype's lowest or highest value. */
static ct_status clamp_args(const unary_call *c, ct_dtype d, ct__ew_args *args) {
    ct_status st;
    if (!isnan(c->lo) && (st = check_fits(c->lo, d, c->func)) != CT_OK) return st;
    if (!isnan(c->hi) && (st = check_fits(c->hi, d, c->func)) != CT_OK) return st;
    double lowest = d == CT_UINT8 ? 0.0 : d == CT_INT32 ? (double)INT32_MIN : -(double)INFINITY;
    double highest = d == CT_UINT8 ? (double)UINT8_MAX : d == CT_INT32 ? (double)INT32_MAX : (double)INFINITY;
    args->lo = value_as(isnan(c->lo) ? lowest : c->lo, d);
    args->hi = value_as(isnan(c->hi) ? highest : c->hi, d);
    if (d == CT_INT64 && isnan(c->lo)) args->lo.i64 = INT64_MIN;
    if (d == CT_INT64 && isnan(c->hi)) args->hi.i64 = INT64_MAX;
    return CT_OK;
}

static ct_status unary_run(const unary_call *c, ct_tensor **result) {
    ct_status st = check_operand(c->t, c->func, c->self ? "self" : "t");
    ct_dtype d = CT_FLOAT32;
    if (st != CT_OK || (st = unary_dtype(c, &d)) != CT_OK) return st;
    ct__ew_args args;
    memset(&args, 0, sizeof args);
    if (c->op == CT__EW_CLAMP && (st = clamp_args(c, d, &args)) != CT_OK) return st;
    if (c->self && (st = check_in_place(c->self, c->t->ndim, c->t->shape, d, c->func, c->op == CT__EW_CLAMP)))
        return st;
    if (c->self && d != c->self->dtype) /* castable but different: no unary op gets here */
        return ct__error(CT_ERR_INTERNAL, c->func, "in-place result dtype %s differs from self", ct__scalar_type_name(d));
    ct__node *node = NULL;
    ct__ew_grad_call grad = {c->func, CT__EW_GRAD_UNARY, c->op, {c->t, NULL, NULL}, 0, 1, c->lo, c->hi, c->self, false};
    if ((st = ct__ew_grad_begin(&grad, &node)) != CT_OK) return st;
    ct_tensor *owned = NULL, *out = c->self ? c->self : ct__tensor_new(c->t->ndim, c->t->shape, d, ct_tensor_device(c->t), false);
    const ct_tensor *in = out ? in_dtype(c->t, d, &owned) : NULL;
    if (!in) {
        if (!c->self) ct_release(out);
        ct__ew_grad_end(node, &grad, NULL);
        return ct_last_status();
    }
    if (ct_numel(out) > 0)
        st = CT_DISPATCH(ct_tensor_device(out), ew_unary, c->op, ct__view_of(out), ct__view_of(in), args);
    ct_release(owned);
    if (st != CT_OK && !c->self) ct_release(out);
    if (st == CT_OK && c->self) ct__bump_version(c->self);
    ct__ew_grad_end(node, &grad, st == CT_OK ? out : NULL);
    *result = st == CT_OK ? out : NULL;
    return st;
}

static ct_tensor *unary(const char *func, ct__ew_op op, const ct_tensor *t, double lo, double hi) {
    ct_tensor *out = NULL;
    unary_run(&(unary_call){func, op, t, NULL, lo, hi}, &out);
    return out;
}

static ct_status unary_(const char *func, ct__ew_op op, ct_tensor *self, double lo, double hi) {
    ct_tensor *out = NULL;
    return unary_run(&(unary_call){func, op, self, self, lo, hi}, &out);
}

static ct_status gelu_op(ct_gelu_approximate approximate, const char *func, ct__ew_op *op) {
    if (approximate == CT_GELU_NONE || approximate == CT_GELU_TANH) {
        *op = approximate == CT_GELU_TANH ? CT__EW_GELU_TANH : CT__EW_GELU;
        return CT_OK;
    }
    return ct__error(CT_ERR_INVALID_ARGUMENT, func, "approximate argument must be either none or tanh. (got %d)",
                     (int)approximate);
}

ct_tensor *ct_neg(const ct_tensor *t) { return unary(__func__, CT__EW_NEG, t, NAN, NAN); }
ct_tensor *ct_abs(const ct_tensor *t) { return unary(__func__, CT__EW_ABS, t, NAN, NAN); }
ct_tensor *ct_exp(const ct_tensor *t) { return unary(__func__, CT__EW_EXP, t, NAN, NAN); }
ct_tensor *ct_log(const ct_tensor *t) { return unary(__func__, CT__EW_LOG, t, NAN, NAN); }
ct_tensor *ct_log1p(const ct_tensor *t) { return unary(__func__, CT__EW_LOG1P, t, NAN, NAN); }
ct_tensor *ct_sqrt(const ct_tensor *t) { return unary(__func__, CT__EW_SQRT, t, NAN, NAN); }
ct_tensor *ct_rsqrt(const ct_tensor *t) { return unary(__func__, CT__EW_RSQRT, t, NAN, NAN); }
ct_tensor *ct_sigmoid(const ct_tensor *t) { return unary(__func__, CT__EW_SIGMOID, t, NAN, NAN); }
ct_tensor *ct_tanh(const ct_tensor *t) { return unary(__func__, CT__EW_TANH, t, NAN, NAN); }
ct_tensor *ct_clamp(const ct_tensor *t, double min, double max) { return unary(__func__, CT__EW_CLAMP, t, min, max); }
ct_tensor *ct_relu(const ct_tensor *t) { return unary(__func__, CT__EW_RELU, t, NAN, NAN); }
ct_tensor *ct_silu(const ct_tensor *t) { return unary(__func__, CT__EW_SILU, t, NAN, NAN); }
ct_tensor *ct_gelu(const ct_tensor *t, ct_gelu_approximate approximate) {
    ct__ew_op op = CT__EW_GELU;
    return gelu_op(approximate, __func__, &op) == CT_OK ? unary(__func__, op, t, NAN, NAN) : NULL;
}

ct_status ct_neg_(ct_tensor *self) { return unary_(__func__, CT__EW_NEG, self, NAN, NAN); }
ct_status ct_abs_(ct_tensor *self) { return unary_(__func__, CT__EW_ABS, self, NAN, NAN); }
ct_status ct_exp_(ct_tensor *self) { return unary_(__func__, CT__EW_EXP, self, NAN, NAN); }
ct_status ct_log_(ct_tensor *self) { return unary_(__func__, CT__EW_LOG, self, NAN, NAN); }
ct_status ct_log1p_(ct_tensor *self) { return unary_(__func__, CT__EW_LOG1P, self, NAN, NAN); }
ct_status ct_sqrt_(ct_tensor *self) { return unary_(__func__, CT__EW_SQRT, self, NAN, NAN); }
ct_status ct_rsqrt_(ct_tensor *self) { return unary_(__func__, CT__EW_RSQRT, self, NAN, NAN); }
ct_status ct_sigmoid_(ct_tensor *self) { return unary_(__func__, CT__EW_SIGMOID, self, NAN, NAN); }
ct_status ct_tanh_(ct_tensor *self) { return unary_(__func__, CT__EW_TANH, self, NAN, NAN); }
ct_status ct_clamp_(ct_tensor *self, double min, double max) { return unary_(__func__, CT__EW_CLAMP, self, min, max); }
ct_status ct_relu_(ct_tensor *self) { return unary_(__func__, CT__EW_RELU, self, NAN, NAN); }
ct_status ct_silu_(ct_tensor *self) { return unary_(__func__, CT__EW_SILU, self, NAN, NAN); }
ct_status ct_gelu_(ct_tensor *self, ct_gelu_approximate approximate) {
    ct__ew_op op = CT__EW_GELU;
    ct_status st = gelu_op(approximate, __func__, &op);
    return st == CT_OK ? unary_(__func__, op, self, NAN, NAN) : st;
}

/* ---- where and masked_fill ----------------------------------------------------------------------------------- */

static ct_status check_where(const ct_tensor *condition, const ct_tensor *a, const ct_tensor *b, const char *func) {
    ct_status st;
    if ((st = check_operand(condition, func, "condition")) != CT_OK || (st = check_operand(a, func, "a")) != CT_OK ||
        (st = check_operand(b, func, "b")) != CT_OK)
        return st;
    if ((st = ct__check_same_device(condition, a, func)) != CT_OK || (st = ct__check_same_device(a, b, func)) != CT_OK)
        return st;
    if (condition->dtype != CT_BOOL)
        return ct__error(CT_ERR_DTYPE, func,
                         "where expected condition to be a boolean tensor, but got a tensor with dtype %s",
                         ct__scalar_type_name(condition->dtype));
    return CT_OK;
}

ct_tensor *ct_where(const ct_tensor *condition, const ct_tensor *a, const ct_tensor *b) {
    if (check_where(condition, a, b, __func__) != CT_OK) return NULL;
    int n1, ndim;
    int64_t s1[CT_MAX_DIMS], shape[CT_MAX_DIMS];
    if (ct__broadcast_shapes(condition->ndim, condition->shape, a->ndim, a->shape, &n1, s1, __func__) != CT_OK ||
        ct__broadcast_shapes(n1, s1, b->ndim, b->shape, &ndim, shape, __func__) != CT_OK)
        return NULL;
    ct_dtype d = ct__result_type(a, b);
    ct_tensor *a_owned = NULL, *b_owned = NULL;
    ct_tensor *out = ct__tensor_new(ndim, shape, d, ct_tensor_device(a), false);
    const ct_tensor *ca = out ? in_dtype(a, d, &a_owned) : NULL, *cb = ca ? in_dtype(b, d, &b_owned) : NULL;
    ct_status st = cb ? CT_OK : ct_last_status();
    ct__node *node = NULL;
    ct__ew_grad_call grad = {__func__, CT__EW_GRAD_WHERE, CT__EW_NUM_OPS, {condition, a, b}, 0, 1, NAN, NAN, NULL, false};
    if (st == CT_OK) st = ct__ew_grad_begin(&grad, &node);
    if (st == CT_OK && ct_numel(out) > 0)
        st = CT_DISPATCH(ct_tensor_device(out), ew_where, ct__view_of(out), view_as(condition, ndim, shape),
                         view_as(ca, ndim, shape), view_as(cb, ndim, shape));
    ct__ew_grad_end(node, &grad, st == CT_OK ? out : NULL);
    ct_release(a_owned), ct_release(b_owned);
    if (st == CT_OK) return out;
    ct_release(out);
    return NULL;
}

static ct_status check_masked_fill(const ct_tensor *t, const ct_tensor *mask, double value, const char *func,
                                   const char *t_name) {
    ct_status st;
    if ((st = check_operand(t, func, t_name)) != CT_OK || (st = check_operand(mask, func, "mask")) != CT_OK) return st;
    if ((st = ct__check_same_device(t, mask, func)) != CT_OK) return st;
    if (mask->dtype != CT_BOOL)
        return ct__error(CT_ERR_DTYPE, func, "masked_fill_ only supports boolean masks, but got mask with dtype %s",
                         cpp_type_name(mask->dtype, false));
    return check_fits(value, t->dtype, func);
}

/* out = mask ? value : t, all views broadcast to out's shape. */
static ct_status masked_fill_into(ct_tensor *out, const ct_tensor *t, const ct_tensor *mask, double value) {
    if (ct_numel(out) == 0) return CT_OK;
    ct__ew_args args;
    memset(&args, 0, sizeof args);
    args.fill = value_as(value, out->dtype);
    return CT_DISPATCH(ct_tensor_device(out), ew_masked_fill, ct__view_of(out), view_as(t, out->ndim, out->shape),
                       view_as(mask, out->ndim, out->shape), args);
}

ct_tensor *ct_masked_fill(const ct_tensor *t, const ct_tensor *mask, double value) {
    if (check_masked_fill(t, mask, value, __func__, "t") != CT_OK) return NULL;
    int ndim;
    int64_t shape[CT_MAX_DIMS];
    if (ct__broadcast_shapes(t->ndim, t->shape, mask->ndim, mask->shape, &ndim, shape, __func__) != CT_OK) return NULL;
    ct_tensor *out = ct__tensor_new(ndim, shape, t->dtype, ct_tensor_device(t), false);
    ct__node *node = NULL;
    ct__ew_grad_call grad = {__func__, CT__EW_GRAD_MASKED_FILL, CT__EW_NUM_OPS, {t, mask, NULL}, 0, 1, NAN, NAN, NULL, false};
    ct_status st = out ? ct__ew_grad_begin(&grad, &node) : ct_last_status();
    if (st == CT_OK) st = masked_fill_into(out, t, mask, value);
    ct__ew_grad_end(node, &grad, st == CT_OK ? out : NULL);
    if (st == CT_OK) return out;
    ct_release(out);
    return NULL;
}

ct_status ct_masked_fill_(ct_tensor *self, const ct_tensor *mask, double value) {
    ct_status st = check_masked_fill(self, mask, value, __func__, "self");
    int ndim;
    int64_t shape[CT_MAX_DIMS];
    if (st != CT_OK ||
        (st = ct__broadcast_shapes(self->ndim, self->shape, mask->ndim, mask->shape, &ndim, shape, __func__)) != CT_OK ||
        (st = check_in_place(self, ndim, shape, self->dtype, __func__, false)) != CT_OK)
        return st;
    ct__node *node = NULL;
    ct__ew_grad_call grad = {__func__, CT__EW_GRAD_MASKED_FILL, CT__EW_NUM_OPS, {self, mask, NULL}, 0, 1, NAN, NAN, self, false};
    if ((st = ct__ew_grad_begin(&grad, &node)) != CT_OK) return st;
    bool overlap = reads_overlap(self, mask); /* read the mask whole before writing self */
    ct_tensor *copy = overlap ? ct_clone(mask) : NULL;
    st = overlap && !copy ? ct_last_status() : masked_fill_into(self, self, copy ? copy : mask, value);
    ct_release(copy);
    if (st == CT_OK) ct__bump_version(self);
    ct__ew_grad_end(node, &grad, st == CT_OK ? self : NULL);
    return st;
}
