/* ctorch/shape.h: ops that move data into a new shape: cat, stack, split, chunk, repeat, flip, constant padding.
 *
 * Semantics and error words are PyTorch's (torch.cat, torch.split, F.pad, ...). cat and stack promote their inputs
 * to a common dtype as PyTorch does; split, split_with_sizes and chunk return views of their input (no copy); the
 * others return a new contiguous tensor. Every input must be on one device.
 *
 * Ownership: a returned tensor carries one reference under the rules of tensor.h (the open scope owns it, or the
 * caller). The functions that return several tensors hand back a malloc'd array of `*count` tensors: each tensor
 * in it follows the same rules, and the array itself belongs to the caller, who frees it with free(), or with
 * ct_tensors_free(), which also releases every tensor in it. On error they return NULL and set *count to 0.
 *
 * Errors: NULL with ct_last_error() set, e.g. "ct_cat: Sizes of tensors must match except in dimension 1. Expected
 * size 3 but got size 4 for tensor number 1 in the list." */
#ifndef CTORCH_SHAPE_H
#define CTORCH_SHAPE_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Concatenates n tensors along dim (torch.cat). All must have the same number of dims and the same sizes except in
 * dim; as in PyTorch, 1-D tensors with no elements (shape [0]) are skipped whatever the others' shapes, and dim is
 * wrapped against the first tensor that is not skipped. The result's dtype is the promotion of all inputs' dtypes.
 * 0-d tensors are an error ("zero-dimensional tensor (at position 0) cannot be concatenated"), so is n == 0. */
ct_tensor *ct_cat(int n, ct_tensor *const *tensors, int dim);

/* Stacks n tensors of one shape along a new dim (torch.stack); dim may be in [-ndim-1, ndim]. Dtypes promote as
 * in ct_cat. */
ct_tensor *ct_stack(int n, ct_tensor *const *tensors, int dim);

/* Splits t along dim into views of split_size elements each, the last one smaller when the size does not divide
 * (torch.split with an int). split_size 0 is allowed only for a dim of size 0 (one empty view). */
ct_tensor **ct_split(const ct_tensor *t, int64_t split_size, int dim, int *count);

/* Splits t along dim into n views of sizes[0..n-1], which must be >= 0 and sum to the dim's size
 * (torch.split with a list, Tensor.split_with_sizes). */
ct_tensor **ct_split_with_sizes(const ct_tensor *t, int n, const int64_t *sizes, int dim, int *count);

/* Splits t along dim into at most `chunks` views of ceil(size / chunks) elements (torch.chunk): fewer come back when
 * the size does not need them all; a dim of size 0 gives `chunks` empty views. chunks must be > 0. */
ct_tensor **ct_chunk(const ct_tensor *t, int64_t chunks, int dim, int *count);

/* Releases each of the count tensors (NULL entries are skipped) and frees the array. NULL-safe. */
void ct_tensors_free(ct_tensor **tensors, int count);

/* Tiles t: the result has size t.size(d) * repeats[d] along each dim (Tensor.repeat). n >= ct_dim(t) repeats;
 * when n is larger, t is first viewed with leading size-1 dims. Repeats must be >= 0. */
ct_tensor *ct_repeat(const ct_tensor *t, int n, const int64_t *repeats);

/* A copy of t with the order of elements reversed along each of the n dims (torch.flip). A dim may appear once. */
ct_tensor *ct_flip(const ct_tensor *t, int n, const int *dims);

/* Pads t with `value` (torch.constant_pad_nd, F.pad(mode="constant")). pad holds npad (even) sizes in pairs from
 * the last dim backwards: (left, right) of the last dim, then (top, bottom) of the one before, ... Negative sizes
 * crop. value is converted to t's dtype as ct_fill_ does. */
ct_tensor *ct_constant_pad_nd(const ct_tensor *t, int npad, const int64_t *pad, double value);

/* F.pad: mode NULL or "constant" is ct_constant_pad_nd; "reflect", "replicate" and "circular" are not implemented
 * yet (CT_ERR_NOT_IMPLEMENTED); any other mode is CT_ERR_INVALID_ARGUMENT. */
ct_tensor *ct_pad(const ct_tensor *t, int npad, const int64_t *pad, const char *mode, double value);

#ifdef __cplusplus
}
#endif
#endif
