/* The elementwise family's launchers, CPU (runtime/cpu/elementwise.c) and CUDA (kernels/elementwise.cu), and what
 * they share: the op codes and the scalar arguments.
 *
 * The front end (runtime/ops/elementwise.c) has done all the checking and all the type promotion before a launcher
 * runs: every input view has the computation dtype and the output's shape (broadcast inputs carry stride 0), and
 * the output has the computation dtype (bool for comparisons). Scalars arrive already converted to that dtype, so
 * the kernels never convert a value. */
#ifndef CTORCH_KERNELS_ELEMENTWISE_H
#define CTORCH_KERNELS_ELEMENTWISE_H

#include <stdbool.h>

#include "launch.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct__ew_op {
    /* binary: out = a op b */
    CT__EW_ADD, /* a + alpha * b (bool: a | (alpha & b)) */
    CT__EW_SUB, /* a - alpha * b */
    CT__EW_MUL, /* bool: a & b */
    CT__EW_DIV, /* floating only */
    CT__EW_POW,
    CT__EW_DIV_TRUNC, /* the division family of rounding ops, not bool: integer divisors must not be 0 */
    CT__EW_DIV_FLOOR,
    CT__EW_REMAINDER, /* Python's %: the sign of the divisor */
    CT__EW_FMOD,      /* C's fmod / %: the sign of the dividend */
    CT__EW_EQ, /* comparisons write bool */
    CT__EW_NE,
    CT__EW_LT,
    CT__EW_LE,
    CT__EW_GT,
    CT__EW_GE,
    /* unary: out = f(in) */
    CT__EW_NEG,
    CT__EW_ABS,
    CT__EW_RELU,
    CT__EW_CLAMP, /* bounds lo/hi, each optional */
    CT__EW_EXP,   /* the rest: floating only */
    CT__EW_LOG,
    CT__EW_LOG1P,
    CT__EW_SQRT,
    CT__EW_RSQRT,
    CT__EW_SIGMOID,
    CT__EW_TANH,
    CT__EW_GELU,
    CT__EW_GELU_TANH,
    CT__EW_SILU,
    CT__EW_NUM_OPS
} ct__ew_op;

/* One scalar, stored as the computation dtype's member (bool as 0/1 in b). */
typedef union ct__ew_value {
    double f64;
    float f32;
    int64_t i64;
    int32_t i32;
    uint8_t u8;
    bool b;
} ct__ew_value;

typedef struct ct__ew_args {
    ct__ew_value alpha;  /* add, sub */
    ct__ew_value lo, hi; /* clamp bounds, used when has_lo / has_hi */
    bool has_lo, has_hi;
    ct__ew_value scalar; /* binary ops whose b view has data == NULL: b is this value everywhere */
    ct__ew_value fill;   /* masked_fill's value, in the output's dtype */
    int *zero_division;  /* the CPU launcher's own: set when an integer division op met a zero divisor */
} ct__ew_args;

/* Ops out = a op b, with op in CT__EW_ADD .. CT__EW_GE. b.data == NULL means b is args.scalar. out may be a (in
 * place, same geometry).
 *
 * Integer division by zero (CT__EW_DIV_TRUNC .. CT__EW_FMOD on integers; a scalar divisor of 0 the front end refuses
 * first) never traps. The CPU launcher writes 0 there, finishes the loop and returns CT_ERR_INVALID_ARGUMENT
 * "ZeroDivisionError" (PyTorch's words; the other elements are written, as PyTorch's loop leaves them). The CUDA
 * launcher writes 0 there (what PyTorch's CUDA floor division gives) and raises the device error flag
 * (CT__DEVICE_ERROR_ZERO_DIVISION), which the next synchronising call reports with the same words. */
ct_status ct__cpu_ew_binary(ct__ew_op op, ct__view out, ct__view a, ct__view b, ct__ew_args args);
/* Ops out = f(in), with op in CT__EW_NEG .. CT__EW_SILU. out may be in (same geometry). */
ct_status ct__cpu_ew_unary(ct__ew_op op, ct__view out, ct__view in, ct__ew_args args);
/* out = cond ? a : b (cond bool; a, b and out of one dtype). */
ct_status ct__cpu_ew_where(ct__view out, ct__view cond, ct__view a, ct__view b);
/* out = mask ? args.fill : self (mask bool; self and out of one dtype; out may be self). */
ct_status ct__cpu_ew_masked_fill(ct__view out, ct__view self, ct__view mask, ct__ew_args args);

#ifdef CTORCH_HAVE_CUDA
ct_status ct__cuda_ew_binary(int dev, ct__ew_op op, ct__view out, ct__view a, ct__view b, ct__ew_args args);
ct_status ct__cuda_ew_unary(int dev, ct__ew_op op, ct__view out, ct__view in, ct__ew_args args);
ct_status ct__cuda_ew_where(int dev, ct__view out, ct__view cond, ct__view a, ct__view b);
ct_status ct__cuda_ew_masked_fill(int dev, ct__view out, ct__view self, ct__view mask, ct__ew_args args);
#endif

#ifdef __cplusplus
}
#endif
#endif
