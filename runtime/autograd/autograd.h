/* Internal autograd: the node every differentiable op records, and the calls an op front end makes to record it.
 *
 * An op front end, after computing `out` from inputs a and b:
 *
 *     const ct_tensor *in[2] = {a, b};
 *     ct__node *node = ct__record("MulBackward0", mul_backward, 2, in);  // NULL: nothing to record
 *     if (node) {
 *         ct__save(node, a); ct__save(node, b);   // what backward needs, checked against in-place changes
 *         ct__attach(node, out);                  // out now owns the node and requires grad
 *     }
 *
 * and the backward function gets the gradient of `out` and fills grad_inputs[i] (a new tensor of input i's shape, or
 * NULL for "no gradient") for each input i with node->needs_grad[i]. It runs with grad mode off. The engine casts a
 * gradient to its input's dtype and sums a broadcast gradient down to the input's shape, so a backward function may
 * return the gradient in the output's dtype and broadcast shape. */
#ifndef CTORCH_AUTOGRAD_INTERNAL_H
#define CTORCH_AUTOGRAD_INTERNAL_H

#include "core/internal.h"
#include "ctorch/autograd.h"

#define CT__MAX_EDGES 4
#define CT__MAX_SAVED 4

typedef ct_status (*ct__backward_fn)(ct__node *node, const ct_tensor *grad, ct_tensor **grad_inputs);

struct ct__node {
    atomic_int refcount;
    const char *name;
    ct__backward_fn backward;
    int n_inputs;
    bool needs_grad[CT__MAX_EDGES];
    ct__node *next[CT__MAX_EDGES];   /* input i's grad_fn (retained), or NULL */
    ct_tensor *leaf[CT__MAX_EDGES];  /* input i when it is a leaf that requires grad (retained), or NULL */
    int in_ndim[CT__MAX_EDGES];      /* input i's shape, dtype and device, to shape its gradient */
    int64_t in_shape[CT__MAX_EDGES][CT_MAX_DIMS];
    ct_dtype in_dtype[CT__MAX_EDGES];
    ct_device in_device[CT__MAX_EDGES];
    ct_tensor *saved[CT__MAX_SAVED]; /* detached aliases of what backward needs */
    uint64_t saved_version[CT__MAX_SAVED];
    int n_saved;
    bool freed;                      /* saved tensors released by a backward without retain_graph */
    double args[4];                  /* the op's scalar arguments (alpha, exponent, ...) */
    int64_t iargs[2 * CT_MAX_DIMS + 4]; /* the op's integer arguments (dims, sizes, ...) */
    ct_tensor *output;               /* weak: the tensor this node made, cleared when it goes */
    /* engine scratch, valid during one backward */
    ct_tensor *grad_sum;
    int deps;
    uint64_t visit;
};

/* A node for an op on inputs[0..n-1], or NULL when grad mode is off or no input requires grad. On allocation
 * failure returns NULL with the error set and *failed true. */
ct__node *ct__record(const char *name, ct__backward_fn backward, int n, const ct_tensor *const *inputs);
/* Saves t (a detached alias, with its version) for backward; returns its index. */
int ct__save(ct__node *node, const ct_tensor *t);
/* The saved tensor i, after checking that nothing changed it in place since it was saved. NULL with the error set. */
const ct_tensor *ct__saved(ct__node *node, int i);
/* Makes node out's grad_fn (out takes the node's reference) and marks out as requiring grad. */
void ct__attach(ct__node *node, ct_tensor *out);
void ct__node_release(ct__node *node);

/* grad summed over broadcast dims down to shape (ndim, shape): the gradient of an input that was broadcast. Returns
 * a new tensor (grad itself, retained, when the shapes match). */
ct_tensor *ct__sum_to(const ct_tensor *grad, int ndim, const int64_t *shape);

/* Fails, while grad mode is on, when t is a leaf that requires grad: in-place ops on parameters break autograd. */
ct_status ct__check_inplace(const ct_tensor *t, const char *func);

#endif
