/* ctorch/indexing.h: gather, scatter and the index_* family, take_along_dim, masked_select.
 *
 * Semantics follow PyTorch (torch.gather, Tensor.scatter_, scatter_add_, scatter_reduce_, index_select, index_add_,
 * index_copy_, index_fill_, take_along_dim, masked_select), dims may be negative, and a 0-d tensor counts as one
 * element along dim 0. For gather and the scatters, `index` has the same number of dims as the tensor it indexes and
 * may be smaller than it off `dim`: index.size(d) <= input.size(d) for d != dim, and (scatters with a src)
 * index.size(d) <= src.size(d) for every d. Only the part of src that index covers is read. An empty index makes
 * every op a no-op (gather then returns an empty tensor of index's shape).
 *
 * Index dtypes: int64 and int32 everywhere. (PyTorch 2.x takes int32 for gather, the scatters, index_select and
 * index_add_, and only int64 for index_copy_, index_fill_ and take_along_dim; ctorch takes both for all of them.)
 * Indices must be in [0, size) of the indexed dim; a negative index is an error, as in PyTorch, except for
 * index_fill_, which (as PyTorch) accepts [-size, size) and counts negative indices from the end.
 *
 * Errors (see error.h): the message names the function and uses PyTorch's words, e.g.
 *   "ct_gather: index 7 is out of bounds for dimension 1 with size 5",
 *   "ct_gather: Index tensor must have the same number of dimensions as input tensor",
 *   "ct_scatter_: scatter(): Expected self.dtype to be equal to src.dtype".
 * On the CPU an out-of-range index is found before anything is written, so an in-place op that fails leaves its
 * tensor unchanged. A CUDA kernel never traps: an out-of-range index raises the device's error flag (the first
 * one wins) and its element is skipped; the other elements are done. The error is reported, in the same words,
 * by the next synchronising call: ct_synchronize(device), or any copy to the host (ct_copy_to_buffer, ct_item,
 * ct_to_device to the CPU, ...). A result made by a kernel that raised the flag must not be used.
 *
 * Determinism (ops.h, ct_use_deterministic_algorithms): on the CPU every op here is deterministic, always: an
 * accumulating op splits its work by destination (each output element is summed by one thread, in index order).
 * On CUDA the default mode accumulates with atomics, so float sums may differ in their last bits from run to run
 * and a scatter_ or index_copy_ with duplicate indices keeps an unspecified one of the written values. In
 * deterministic mode the CUDA scatters (src forms, every reduction) and index_add_/index_copy_ sort the elements by
 * destination and reduce each destination in index order: results are bit-identical run to run, and equal to the
 * CPU's. Every op of this family has a deterministic path, so none fails with CT_ERR_STATE in that mode.
 *
 * Ownership as tensor.h: functions returning ct_tensor * hand out a new reference (or NULL on error); the in-place
 * functions (trailing _) return a ct_status and change their first argument. */
#ifndef CTORCH_INDEXING_H
#define CTORCH_INDEXING_H

#include <stdbool.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The reductions of scatter_reduce, PyTorch's reduce="sum" | "prod" | "mean" | "amax" | "amin". */
typedef enum ct_scatter_reduction {
    CT_SCATTER_SUM = 0,
    CT_SCATTER_PROD,
    CT_SCATTER_MEAN, /* integer dtypes: floor division; bool: not supported */
    CT_SCATTER_AMAX, /* a NaN wins (is propagated) */
    CT_SCATTER_AMIN
} ct_scatter_reduction;

/* out[i][j][k] = input[index[i][j][k]][j][k] for dim 0 (and likewise for any dim). The result has index's shape
 * and input's dtype. Errors: dims differ (CT_ERR_SHAPE), index larger than input off dim (CT_ERR_SHAPE), index
 * not int32/int64 (CT_ERR_DTYPE), an index out of range (CT_ERR_INDEX), tensors on two devices (CT_ERR_DEVICE). */
ct_tensor *ct_gather(const ct_tensor *input, int dim, const ct_tensor *index);

/* In place, dim 0: self[index[i][j]][j] = src[i][j]. src has self's dtype. With duplicate indices the CPU keeps
 * the last value in index order; CUDA does too in deterministic mode, and keeps any one otherwise. Errors as
 * gather, plus: src dtype differs from self (CT_ERR_DTYPE), index larger than src (CT_ERR_SHAPE), self has
 * elements that share memory (an expanded tensor, CT_ERR_INVALID_ARGUMENT). src or index may share memory with
 * self: they are copied first. */
ct_status ct_scatter_(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *src);
/* Out of place: a copy of input with the scatter_ applied. */
ct_tensor *ct_scatter(const ct_tensor *input, int dim, const ct_tensor *index, const ct_tensor *src);
/* As scatter_ with every src element equal to value (converted to self's dtype as ct_fill_ does). */
ct_status ct_scatter_value_(ct_tensor *self, int dim, const ct_tensor *index, double value);
ct_tensor *ct_scatter_value(const ct_tensor *input, int dim, const ct_tensor *index, double value);

/* In place, dim 0: self[index[i][j]][j] += src[i][j], duplicates accumulating. Errors as ct_scatter_. */
ct_status ct_scatter_add_(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *src);
ct_tensor *ct_scatter_add(const ct_tensor *input, int dim, const ct_tensor *index, const ct_tensor *src);

/* In place: reduces every src element into self[... index ...] with `reduce`. include_self: self's own values take
 * part in the reduction; otherwise each element that index points at is the reduction of what is scattered to it
 * alone (elements nobody points at keep their value). Mean divides by the number of values reduced (including
 * self's when include_self). Errors as ct_scatter_, plus an unknown reduce (CT_ERR_INVALID_ARGUMENT) and mean on
 * bool (CT_ERR_DTYPE). */
ct_status ct_scatter_reduce_(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *src,
                             ct_scatter_reduction reduce, bool include_self);
ct_tensor *ct_scatter_reduce(const ct_tensor *input, int dim, const ct_tensor *index, const ct_tensor *src,
                             ct_scatter_reduction reduce, bool include_self);

/* The slices input.select(dim, index[i]) stacked along dim: the result has input's shape with size
 * index.numel() at dim. index is 1-D or 0-D. Errors: index of 2 or more dims (CT_ERR_INDEX), not int32/int64
 * (CT_ERR_DTYPE), an index out of range ("index out of range in self", CT_ERR_INDEX). */
ct_tensor *ct_index_select(const ct_tensor *input, int dim, const ct_tensor *index);

/* In place: self.select(dim, index[i]) += alpha * source.select(dim, i), duplicates accumulating. source has
 * self's dtype and shape except at dim, where its size is index.numel(). For integer and bool tensors alpha must be
 * a whole number. Errors: PyTorch's index_add_ checks (index dims and dtype, dtypes, number of indices, shapes),
 * an index out of range ("index out of range in self"). */
ct_status ct_index_add_(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *source, double alpha);

/* In place: self.select(dim, index[i]) = source.select(dim, i). With duplicate indices, as ct_scatter_. Errors:
 * PyTorch's index_copy_ checks (index dims, dimensionality, dtypes, slice shapes, number of indices), an index out
 * of range. */
ct_status ct_index_copy_(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *source);

/* In place: self.select(dim, index[i]) = value for every i. Indices in [-size, size); negative ones count from the
 * end. */
ct_status ct_index_fill_(ct_tensor *self, int dim, const ct_tensor *index, double value);

/* Picks values of input along dim at `indices` (numpy's take_along_axis): input and indices are broadcast against
 * each other except along dim, then gathered. Both have the same number of dims. */
ct_tensor *ct_take_along_dim(const ct_tensor *input, const ct_tensor *indices, int dim);
/* take_along_dim with dim=None: input and indices are flattened, the result is 1-D. */
ct_tensor *ct_take_along_dim_flat(const ct_tensor *input, const ct_tensor *indices);

/* The elements of input where mask is true, in row-major order, as a new 1-D tensor. input and mask are broadcast
 * against each other. mask must be bool ("masked_select: expected BoolTensor for mask", CT_ERR_DTYPE). On CUDA
 * this synchronises the device (the result's size depends on the mask's values), as in PyTorch. */
ct_tensor *ct_masked_select(const ct_tensor *input, const ct_tensor *mask);

#ifdef __cplusplus
}
#endif
#endif
