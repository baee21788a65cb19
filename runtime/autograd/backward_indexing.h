/* Autograd of the indexing family: the calls its front end (runtime/ops/indexing.c) makes; the backward functions
 * are in backward_indexing.c.
 *
 * An in-place op first calls ct__indexing_inplace_check (autograd's in-place rules), then writes, then records.
 * Each ct__record_* call takes the result (for an in-place op, self after the write; NULL when the forward failed:
 * then nothing happens), the tensor whose history the result continues (`self`: the input of an out-of-place op,
 * self itself for an in-place one) and the op's other arguments, and records a node on the result when grad mode
 * is on and self or src requires grad. Indices and masks are saved, never differentiated. Dims may be negative. */
#ifndef CTORCH_BACKWARD_INDEXING_H
#define CTORCH_BACKWARD_INDEXING_H

#include "autograd/autograd.h"
#include "ctorch/indexing.h"

/* Before an in-place write into self with src (NULL: none): fails when self is a leaf that requires grad (grad mode
 * on), and with CT_ERR_NOT_IMPLEMENTED when the write would be recorded and self is a view. NULL self: CT_OK (the
 * op's own checks report it). */
ct_status ct__indexing_inplace_check(const ct_tensor *self, const ct_tensor *src, const char *func);

/* gather, and take_along_dim with index the indices broadcast to the result's shape (input may have been broadcast
 * too: the gradient is summed back to its shape). */
void ct__record_gather(ct_tensor *out, const ct_tensor *input, int dim, const ct_tensor *index);
/* scatter / scatter_ (src) and their value forms (src NULL). */
void ct__record_scatter(ct_tensor *out, const ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *src);
void ct__record_scatter_add(ct_tensor *out, const ct_tensor *self, int dim, const ct_tensor *index,
                            const ct_tensor *src);
/* Before an in-place scatter_reduce_ writes into self: copies of the values its backward needs that the write
 * destroys (prod, amax, amin need self's old values, and src's when src shares self's memory), made only when the
 * call will be recorded; NULL otherwise. The caller releases them after recording. */
ct_status ct__scatter_reduce_keep_old(const ct_tensor *self, const ct_tensor *src, ct_scatter_reduction reduce,
                                      ct_tensor **old_self, ct_tensor **old_src);
/* old_self, old_src: the values self and src had before the write (the tensors themselves for an out-of-place
 * call, the copies from ct__scatter_reduce_keep_old, or NULL for "unchanged", for an in-place one). */
void ct__record_scatter_reduce(ct_tensor *out, const ct_tensor *self, int dim, const ct_tensor *index,
                               const ct_tensor *src, const ct_tensor *old_self, const ct_tensor *old_src,
                               ct_scatter_reduction reduce, bool include_self);
void ct__record_index_select(ct_tensor *out, const ct_tensor *input, int dim, const ct_tensor *index);
/* The in-place index ops: out is self. */
void ct__record_index_add(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *source, double alpha);
void ct__record_index_copy(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *source);
void ct__record_index_fill(ct_tensor *self, int dim, const ct_tensor *index);
/* masked_select, with mask broadcast to the shape input and mask broadcast to. */
void ct__record_masked_select(ct_tensor *out, const ct_tensor *input, const ct_tensor *mask);

#endif
