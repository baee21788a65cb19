/* ctorch/reduce.h: reductions (sum, mean, prod, max/min, argmax/argmin, var/std, logsumexp, norms, all/any,
 * count_nonzero), scans (cumsum, cumprod) and softmax / log_softmax, with PyTorch's semantics.
 *
 * Dims. A reduction takes its dims as (ndims, dims): ndims entries, each in [-ndim, ndim-1] (negative counts from
 * the end; a 0-d tensor accepts 0 and -1). ndims == 0 reduces every dim, like PyTorch's dim=None. A dim given twice
 * is an error ("dim 0 appears multiple times in the list of dims"). keepdim keeps each reduced dim with size 1;
 * otherwise it is removed. The functions that take one dim (max/min with indices, cumsum, softmax, ...) wrap it
 * the same way.
 *
 * Dtypes. sum, prod and cumsum/cumprod of integer or bool tensors give int64; of float32 and float64 the same
 * dtype. mean, var, std, vector_norm and softmax need a floating tensor (an integer one is an error, as in
 * PyTorch); logsumexp converts an integer tensor to float32 first. amax/amin/max/min keep the dtype; indices are
 * int64. all/any give bool (uint8 for a uint8 tensor, as PyTorch). Accumulation is in double on the CPU for every
 * floating dtype (a float32 sum of 10^7 values is correctly rounded in practice; softmax of float32 takes its
 * exponentials in float, within 1 ulp) and in float (float32) or double (float64) on CUDA; integer sums and
 * products wrap like int64 arithmetic.
 *
 * Special values. max, amax, min, amin propagate NaN (argmax/argmin and the indices point at the first NaN); ties
 * give the first occurrence. Empty reductions: sum 0, prod 1, mean and var nan, logsumexp -inf, norms 0, all true,
 * any false; max/min/amax/amin/argmax/argmin and the infinity or negative-order norms of nothing are errors with
 * PyTorch's words. softmax is computed stably (the row's maximum subtracted first).
 *
 * Ownership and errors as in tensor.h: every tensor returned is a new reference (or belongs to the open scope);
 * on failure the function returns NULL (or a ct_status) and sets ct_last_error(). A NULL input keeps the pending
 * error. Results are always contiguous. */
#ifndef CTORCH_REDUCE_H
#define CTORCH_REDUCE_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- reductions over dims (ndims == 0: all dims) ------------------------------------------------------------ */

/* torch.sum: the sum over dims. int/bool -> int64. */
ct_tensor *ct_sum(const ct_tensor *t, int ndims, const int *dims, bool keepdim);
/* torch.mean: floating tensors only ("mean(): could not infer output dtype ..."); nan over no elements. */
ct_tensor *ct_mean(const ct_tensor *t, int ndims, const int *dims, bool keepdim);
/* torch.prod: the product over dims (PyTorch takes one dim; a list is accepted here too). int/bool -> int64. */
ct_tensor *ct_prod(const ct_tensor *t, int ndims, const int *dims, bool keepdim);
/* torch.amax / torch.amin: the largest / smallest value over dims; NaN propagates. Reducing a size-0 dim is an
 * error ("amax(): Expected reduction dim 0 to have non-zero size."). */
ct_tensor *ct_amax(const ct_tensor *t, int ndims, const int *dims, bool keepdim);
ct_tensor *ct_amin(const ct_tensor *t, int ndims, const int *dims, bool keepdim);
/* torch.logsumexp: log(sum(exp(t))) over dims, computed with the maximum subtracted; -inf over no elements. */
ct_tensor *ct_logsumexp(const ct_tensor *t, int ndims, const int *dims, bool keepdim);
/* torch.linalg.vector_norm: (sum |t|^ord)^(1/ord) over dims; ord inf is max |t|, -inf min |t|, 0 the count of
 * non-zeros. Floating tensors only. */
ct_tensor *ct_vector_norm(const ct_tensor *t, double ord, int ndims, const int *dims, bool keepdim);
/* torch.all / torch.any: whether every / some element over dims is non-zero (NaN counts as non-zero). */
ct_tensor *ct_all(const ct_tensor *t, int ndims, const int *dims, bool keepdim);
ct_tensor *ct_any(const ct_tensor *t, int ndims, const int *dims, bool keepdim);
/* torch.count_nonzero: the number of non-zero elements over dims, int64 (no keepdim, as PyTorch). */
ct_tensor *ct_count_nonzero(const ct_tensor *t, int ndims, const int *dims);

/* torch.var / torch.std with `correction` (1: Bessel's correction, the default in PyTorch; 0: the population
 * variance): sum((t - mean)^2) / max(0, N - correction). Floating tensors only. */
ct_tensor *ct_var(const ct_tensor *t, int ndims, const int *dims, double correction, bool keepdim);
ct_tensor *ct_std(const ct_tensor *t, int ndims, const int *dims, double correction, bool keepdim);
/* torch.var_mean / torch.std_mean: both results from one pass. *var (*std) and *mean receive new tensors; on
 * failure both are set to NULL. */
ct_status ct_var_mean(const ct_tensor *t, int ndims, const int *dims, double correction, bool keepdim,
                      ct_tensor **var, ct_tensor **mean);
ct_status ct_std_mean(const ct_tensor *t, int ndims, const int *dims, double correction, bool keepdim,
                      ct_tensor **std, ct_tensor **mean);

/* ---- max / min with indices, argmax / argmin ------------------------------------------------------------------ */

/* torch.max(t) / torch.min(t): the largest / smallest element as a 0-d tensor; NaN propagates. An empty tensor
 * is an error ("max(): Expected reduction dim to be specified for input.numel() == 0. ..."). */
ct_tensor *ct_max(const ct_tensor *t);
ct_tensor *ct_min(const ct_tensor *t);
/* torch.max(t, dim, keepdim) / torch.min(...): the values and the int64 index of their first occurrence along dim
 * (the first NaN when there is one). *values and *indices receive new tensors; on failure both are set to NULL. */
ct_status ct_max_dim(const ct_tensor *t, int dim, bool keepdim, ct_tensor **values, ct_tensor **indices);
ct_status ct_min_dim(const ct_tensor *t, int dim, bool keepdim, ct_tensor **values, ct_tensor **indices);
/* torch.argmax / torch.argmin: the int64 index of the first largest / smallest element along *dim, or in the
 * flattened tensor when dim is NULL (then keepdim gives every dim size 1, as PyTorch). */
ct_tensor *ct_argmax(const ct_tensor *t, const int *dim, bool keepdim);
ct_tensor *ct_argmin(const ct_tensor *t, const int *dim, bool keepdim);

/* ---- scans and softmax along one dim ----------------------------------------------------------------------- */

/* torch.cumsum / torch.cumprod: running sum / product along dim, same shape. int/bool -> int64. */
ct_tensor *ct_cumsum(const ct_tensor *t, int dim);
ct_tensor *ct_cumprod(const ct_tensor *t, int dim);
/* torch.softmax / torch.log_softmax along dim, same shape and dtype: exp(t - max) / sum(exp(t - max)), and
 * t - max - log(sum(exp(t - max))). Floating tensors only. */
ct_tensor *ct_softmax(const ct_tensor *t, int dim);
ct_tensor *ct_log_softmax(const ct_tensor *t, int dim);

#ifdef __cplusplus
}
#endif
#endif
