/* Autograd of the elementwise family: how the front end (runtime/ops/elementwise.c) records a differentiable call.
 *
 * The front end describes the call with a ct__ew_grad_call and brackets its computation:
 *
 *     ct__node *node = NULL;
 *     st = ct__ew_grad_begin(&call, &node);   // after the argument checks, before anything is written
 *     ... compute into out (self for an in-place call) ...
 *     ct__ew_grad_end(node, &call, st == CT_OK ? out : NULL);
 *
 * ct__ew_grad_begin applies autograd's in-place rules (no leaf that requires grad, no view while recording) and,
 * when the call is recorded, makes the node and saves what backward needs from the inputs; for an in-place call that
 * is a copy of self's old values where backward needs them, since the write destroys them. ct__ew_grad_end saves
 * what backward reads from the result (exp, sigmoid, tanh, sqrt, rsqrt, relu, pow) and attaches the node to out,
 * or drops the node when out is NULL (the computation failed). The backward functions are in
 * backward_elementwise.c. */
#ifndef CTORCH_BACKWARD_ELEMENTWISE_H
#define CTORCH_BACKWARD_ELEMENTWISE_H

#include "autograd/autograd.h"
#include "kernels/elementwise.h"

typedef enum ct__ew_grad_kind {
    CT__EW_GRAD_BINARY,      /* in: a, b (b NULL: the scalar operand); op in CT__EW_ADD .. CT__EW_GE */
    CT__EW_GRAD_UNARY,       /* in: t; op in CT__EW_NEG .. CT__EW_SILU */
    CT__EW_GRAD_WHERE,       /* in: condition, a, b */
    CT__EW_GRAD_MASKED_FILL, /* in: t, mask */
} ct__ew_grad_kind;

typedef struct ct__ew_grad_call {
    const char *func; /* the public function, for error messages */
    ct__ew_grad_kind kind;
    ct__ew_op op;
    const ct_tensor *in[3];
    double scalar, alpha; /* binary: the scalar operand (b NULL) and alpha */
    double lo, hi;        /* clamp: the bounds, NAN for none */
    ct_tensor *self;      /* in place: the tensor written (also in[0]); NULL for an out-of-place call */
    bool no_derivative;   /* recorded with a backward that fails (floor_divide, as PyTorch) */
} ct__ew_grad_call;

/* Before the call writes: the in-place checks, then the node (*node, NULL when nothing is recorded) with the inputs
 * backward needs saved. On failure *node is NULL and nothing was written. */
ct_status ct__ew_grad_begin(const ct__ew_grad_call *call, ct__node **node);
/* After the call: saves what backward needs from out and makes node out's grad_fn; with out NULL (the call failed)
 * drops node. node may be NULL (nothing recorded). */
void ct__ew_grad_end(ct__node *node, const ct__ew_grad_call *call, ct_tensor *out);

#endif
