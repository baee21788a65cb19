/* ctorch/autograd.h: define-by-run automatic differentiation (DESIGN.md decision 5).
 *
 * An op whose inputs require grad records a node on its result (grad mode on, the default): the backward function,
 * the tensors it saved, and edges to its inputs' nodes. ct_backward walks the graph from a result in reverse
 * topological order and accumulates gradients into the leaves' grad (ct_grad in tensor.h), then frees the graph's
 * saved tensors unless asked to retain it.
 *
 * Leaves: tensors made by factories, or by ct_detach; ct_set_requires_grad (tensor.h) marks a leaf as a parameter
 * (and unmarks it: freezing). Results of ops on tensors that require grad are non-leaves with a grad_fn.
 * Views of a tensor that requires grad are non-leaves too (their backward maps the gradient back to the base).
 *
 * Errors, in PyTorch's words: backward through a freed graph ("Trying to backward through the graph a second
 * time..."), a non-scalar root without a gradient ("grad can be implicitly created only for scalar outputs"), a
 * root that does not require grad, and a saved tensor changed in place since it was saved ("one of the variables
 * needed for gradient computation has been modified by an inplace operation ... is at version 2; expected version
 * 1 instead"). In-place ops on a leaf that requires grad fail while grad mode is on. */
#ifndef CTORCH_AUTOGRAD_H
#define CTORCH_AUTOGRAD_H

#include <stdbool.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Computes d root / d leaf for every leaf reachable from root, adding it into each leaf's grad. grad is the
 * gradient of the root (its shape); NULL is allowed for a one-element root and means 1. With retain_graph false
 * the graph's saved tensors are freed afterwards, and a second backward through it fails. */
ct_status ct_backward(ct_tensor *root, const ct_tensor *grad, bool retain_graph);

/* Grad mode, per thread: while it is off no op records a node (torch.no_grad). ct_no_grad_begin/end nest. */
void ct_no_grad_begin(void);
ct_status ct_no_grad_end(void);
bool ct_is_grad_enabled(void);

/* A new leaf sharing t's storage, not requiring grad (Tensor.detach). */
ct_tensor *ct_detach(const ct_tensor *t);
/* True for a tensor with no grad_fn (factories, detach, parameters). */
bool ct_is_leaf(const ct_tensor *t);
/* The name of t's backward node, e.g. "MulBackward0", or NULL for a leaf. */
const char *ct_grad_fn_name(const ct_tensor *t);
/* Keeps the gradient of a non-leaf tensor in its grad during backward (Tensor.retain_grad). A leaf: no-op. */
ct_status ct_retain_grad(ct_tensor *t);

/* A gradient hook: sees the gradient flowing into t during backward. Returning NULL keeps the gradient; returning a
 * tensor (of the gradient's shape) replaces it, and ctorch takes that reference. */
typedef ct_tensor *(*ct_grad_hook)(const ct_tensor *grad, void *ctx);
typedef struct ct_hook_handle ct_hook_handle;
/* Registers hook on t (which must require grad). Hooks run in registration order. The handle removes it; it is freed
 * by ct_hook_remove, or with t if never removed (then ct_hook_remove must not be called). */
ct_hook_handle *ct_register_hook(ct_tensor *t, ct_grad_hook hook, void *ctx);
ct_status ct_hook_remove(ct_hook_handle *handle);

#ifdef __cplusplus
}
#endif
#endif
