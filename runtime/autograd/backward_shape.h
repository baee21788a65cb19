/* Autograd of the shape family: the recording calls its front end (runtime/ops/shape.c) makes after computing a
 * result; the backward functions are in backward_shape.c.
 *
 * Each ct__record_* call takes the result (NULL when the forward failed: then nothing happens and NULL comes back)
 * and the op's inputs and arguments, records a node on the result when grad mode is on and an input requires grad,
 * and returns the result. */
#ifndef CTORCH_BACKWARD_SHAPE_H
#define CTORCH_BACKWARD_SHAPE_H

#include "autograd/autograd.h"

/* cat of tensors[0..n-1] along the wrapped dim (skipped empty 1-D inputs included: they get an empty gradient). */
ct_tensor *ct__record_cat(ct_tensor *out, int n, ct_tensor *const *tensors, int dim);
/* stack of tensors[0..n-1] along the wrapped new dim. */
ct_tensor *ct__record_stack(ct_tensor *out, int n, ct_tensor *const *tensors, int dim);
/* repeat of t by repeats[0..n-1]. */
ct_tensor *ct__record_repeat(ct_tensor *out, const ct_tensor *t, int n, const int64_t *repeats);
/* flip of t along dims[0..n-1]. */
ct_tensor *ct__record_flip(ct_tensor *out, const ct_tensor *t, int n, const int *dims);
/* constant_pad_nd of t by pad[0..npad-1] (the value does not matter to the gradient). */
ct_tensor *ct__record_constant_pad(ct_tensor *out, const ct_tensor *t, int npad, const int64_t *pad);

/* The view t[start : start + length] along the wrapped dim for split, split_with_sizes and chunk: ct_narrow's view,
 * its grad_fn named `name` (SplitBackward0, SplitWithSizesBackward0) as PyTorch names it. */
ct_tensor *ct__split_view(const ct_tensor *t, int dim, int64_t start, int64_t length, const char *name);

#endif
