/* Front end of the gather/scatter family (ctorch/indexing.h): PyTorch's argument checks in PyTorch's words,
 * output allocation, and the views that turn each op into one of the primitives of kernels/indexing.h.
 *
 * gather, index_select and take_along_dim are gathers: index_select's index view repeats its one index along every
 * dim but `dim` (stride 0), take_along_dim's views are broadcast. The scatters, index_add_, index_copy_ and
 * index_fill_ are scatters, the index_* ones again with an index view that repeats off dim. A 0-d tensor is passed
 * as one element along dim 0 (PyTorch's ensure_nonempty_dim). Out-of-range indices come back from the CPU launcher
 * as values, and are worded here for the op that met them. Results are recorded for autograd by
 * runtime/autograd/backward_indexing.c; the in-place ops apply autograd's in-place rules before writing. */
#include <math.h>
#include <string.h>

#include "autograd/backward_indexing.h"
#include "common.h"
#include "ctorch/indexing.h"
#include "kernels/indexing.h"

/* ---- small helpers ----------------------------------------------------------------------------------------------- */

/* PyTorch's ScalarType names, as its messages print them. */

/* Dims and sizes with a 0-d tensor counted as one element along dim 0. */
static int nd(const ct_tensor *t) { return t->ndim > 0 ? t->ndim : 1; }
static int64_t size_at(const ct_tensor *t, int d) { return t->ndim == 0 ? 1 : t->shape[d]; }
static bool is_index_dtype(ct_dtype d) { return d == CT_INT64 || d == CT_INT32; }

static ct__view view_nd(const ct_tensor *t) {
    ct__view v = ct__view_of(t);
    if (v.ndim == 0) v.ndim = 1; /* ct__view_of leaves shape 1, stride 0 beyond ndim */
    return v;
}

/* An index view for the index_* ops: `index` (0-d or 1-d) read along dim, repeated along every other dim of the
 * iteration shape (ndim, shape). */
static ct__view index_along(const ct_tensor *index, int ndim, const int64_t *shape, int dim) {
    ct__view v = ct__view_of(index);
    v.ndim = ndim;
    for (int d = 0; d < CT_MAX_DIMS; d++) {
        v.shape[d] = d < ndim ? shape[d] : 1;
        v.stride[d] = 0;
    }
    v.stride[dim] = index->ndim == 1 ? index->stride[0] : 0;
    return v;
}

/* t broadcast to (ndim, shape), which has t's number of dims: stride 0 where t has size 1. */
static ct__view expanded(const ct_tensor *t, int ndim, const int64_t *shape) {
    ct__view v = view_nd(t);
    for (int d = 0; d < ndim; d++) {
        if (v.shape[d] != shape[d]) v.stride[d] = 0;
        v.shape[d] = shape[d];
    }
    return v;
}

static ct_status check_pair(const char *func, const ct_tensor *t, const char *t_name, const ct_tensor *other,
                            const char *other_name) {
    ct_status st = ct__check_tensor(t, func, t_name);
    if (st == CT_OK) st = ct__check_tensor(other, func, other_name);
    if (st == CT_OK) st = ct__check_supported_dtype(t, func);
    if (st == CT_OK) st = ct__check_same_device(t, other, func);
    return st;
}

/* PyTorch refuses in-place writes into a tensor whose elements share memory (an expanded tensor). */
static ct_status check_no_internal_overlap(const ct_tensor *t, const char *func) {
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] > 1 && t->stride[d] == 0)
            return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                             "unsupported operation: more than one element of the written-to tensor refers to a "
                             "single memory location. Please clone() the tensor before performing the operation.");
    return CT_OK;
}

/* How an op words an out-of-range index. */
typedef enum oob_words {
    OOB_BOUNDS,        /* gather, scatter*, index_fill_: "index 7 is out of bounds for dimension 1 with size 5" */
    OOB_RANGE_IN_SELF, /* index_select, index_add_: "index out of range in self" */
    OOB_INDEX_COPY     /* index_copy_: "index_copy_(): index 7 is out of bounds ..." */
} oob_words;

static ct_status report_bad_index(const char *func, oob_words words, const ct__bad_index *b) {
    const char *prefix = words == OOB_RANGE_IN_SELF ? "index out of range in self: "
                         : words == OOB_INDEX_COPY  ? "index_copy_(): "
                                                    : "";
    return ct__error(CT_ERR_INDEX, func, "%sindex %lld is out of bounds for dimension %d with size %lld", prefix,
                     (long long)b->value, b->dim, (long long)b->size);
}

/* ---- gathers ----------------------------------------------------------------------------------------------------- */

/* Runs the gather into out (of the iteration shape); reports a bad index in the op's words. */
static ct_status run_gather(const char *func, ct_tensor *out, ct__view input, ct__view index, int dim,
                            oob_words words) {
    ct__bad_index bad = {false, 0, 0, 0};
    ct_status st = CT_DISPATCH(out->storage->device, gather, view_nd(out), input, index, dim, &bad);
    if (st == CT_ERR_INDEX && bad.found) st = report_bad_index(func, words, &bad);
    return st;
}

/* A new tensor of (ndim, shape) on input's device and dtype, filled by a gather; NULL on error. */
static ct_tensor *gathered(const char *func, const ct_tensor *input, int ndim, const int64_t *shape,
                           ct__view input_view, ct__view index_view, int dim, oob_words words) {
    ct_tensor *out = ct__tensor_new(ndim, shape, input->dtype, input->storage->device, false);
    if (!out || ct_numel(out) == 0) return out;
    if (run_gather(func, out, input_view, index_view, dim, words) != CT_OK) {
        ct_release(out);
        return NULL;
    }
    return out;
}

/* PyTorch's gather_shape_check: same number of dims, index no larger than input off dim. */
static ct_status gather_shape_check(const char *func, const ct_tensor *input, int dim, const ct_tensor *index) {
    if (nd(input) != nd(index))
        return ct__error(CT_ERR_SHAPE, func, "Index tensor must have the same number of dimensions as input tensor");
    for (int d = 0; d < nd(input); d++) {
        if (d == dim || size_at(index, d) <= size_at(input, d)) continue;
        char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF];
        return ct__error(CT_ERR_SHAPE, func,
                         "Size does not match at dimension %d expected index %s to be smaller than self %s apart "
                         "from dimension %d",
                         d, ct__shape_str(index->ndim, index->shape, a, sizeof a),
                         ct__shape_str(input->ndim, input->shape, b, sizeof b), dim);
    }
    return CT_OK;
}

static ct_tensor *gather_checked(const char *func, const ct_tensor *input, int dim, const ct_tensor *index) {
    int d;
    if (check_pair(func, input, "input", index, "index") != CT_OK || ct__wrap_dim(dim, input->ndim, func, &d) != CT_OK)
        return NULL;
    if (ct_numel(index) != 0) {
        if (!is_index_dtype(index->dtype)) {
            ct__error(CT_ERR_DTYPE, func, "gather(): Expected dtype int32/int64 for index");
            return NULL;
        }
        if (gather_shape_check(func, input, d, index) != CT_OK) return NULL;
    }
    return gathered(func, input, index->ndim, index->shape, view_nd(input), view_nd(index), d, OOB_BOUNDS);
}

ct_tensor *ct_gather(const ct_tensor *input, int dim, const ct_tensor *index) {
    ct_tensor *out = gather_checked(__func__, input, dim, index);
    ct__record_gather(out, input, dim, index);
    return out;
}

ct_tensor *ct_index_select(const ct_tensor *input, int dim, const ct_tensor *index) {
    int d;
    if (check_pair(__func__, input, "input", index, "index") != CT_OK || CT_WRAP_DIM(dim, input->ndim, &d) != CT_OK)
        return NULL;
    int64_t n = ct_numel(index);
    if (index->ndim > 1) {
        CT_FAIL(CT_ERR_INDEX, "index_select(): Index is supposed to be a vector");
        return NULL;
    }
    if (input->ndim == 0 && n != 1) {
        CT_FAIL(CT_ERR_SHAPE, "index_select(): Index to scalar can have only 1 value, got %lld value(s)", (long long)n);
        return NULL;
    }
    if (!is_index_dtype(index->dtype)) {
        CT_FAIL(CT_ERR_DTYPE, "index_select(): Expected dtype int32 or int64 for index");
        return NULL;
    }
    int64_t shape[CT_MAX_DIMS];
    ct__view in = view_nd(input);
    memcpy(shape, in.shape, sizeof shape);
    shape[d] = n;
    if (n > 0 && size_at(input, d) == 0 && ct__shape_numel(input->ndim, shape) == 0) {
        /* nothing to select from and nothing to write: PyTorch still reports the indices */
        CT_FAIL(CT_ERR_INDEX, "index out of range in self");
        return NULL;
    }
    ct_tensor *out = gathered(__func__, input, input->ndim, shape, in, index_along(index, nd(input), shape, d), d,
                              OOB_RANGE_IN_SELF);
    ct__record_index_select(out, input, d, index);
    return out;
}

ct_tensor *ct_take_along_dim(const ct_tensor *input, const ct_tensor *indices, int dim) {
    int d;
    if (check_pair(__func__, input, "input", indices, "indices") != CT_OK) return NULL;
    if (input->ndim != indices->ndim) {
        CT_FAIL(CT_ERR_SHAPE,
                "torch.take_along_dim(): input and indices should have the same number of dimensions, but got %d "
                "dimensions for input, and %d dimensions for indices",
                input->ndim, indices->ndim);
        return NULL;
    }
    if (!is_index_dtype(indices->dtype)) {
        CT_FAIL(CT_ERR_DTYPE, "torch.take_along_dim(): dtype of indices should be Long but got %s",
                ct__scalar_type_name(indices->dtype));
        return NULL;
    }
    if (CT_WRAP_DIM(dim, input->ndim, &d) != CT_OK) return NULL;
    /* indices broadcast against input off dim (keeping its own size at dim), input against indices likewise */
    ct__view in = view_nd(input), ix = view_nd(indices);
    int n = in.ndim, n1, n2;
    int64_t want[CT_MAX_DIMS], index_shape[CT_MAX_DIMS], input_shape[CT_MAX_DIMS];
    memcpy(want, in.shape, sizeof want);
    want[d] = ix.shape[d];
    if (ct__broadcast_shapes(n, want, n, ix.shape, &n1, index_shape, __func__) != CT_OK) return NULL;
    memcpy(want, ix.shape, sizeof want);
    want[d] = in.shape[d];
    if (ct__broadcast_shapes(n, want, n, in.shape, &n2, input_shape, __func__) != CT_OK) return NULL;
    ct_tensor *out = gathered(__func__, input, input->ndim, index_shape, expanded(input, n, input_shape),
                              expanded(indices, n, index_shape), d, OOB_BOUNDS);
    if (out && input->requires_grad) { /* the gradient scatters through the broadcast indices */
        ct_tensor *index_b = ct_expand(indices, input->ndim, index_shape);
        if (index_b) ct__record_gather(out, input, d, index_b);
        ct_release(index_b);
    }
    return out;
}

ct_tensor *ct_take_along_dim_flat(const ct_tensor *input, const ct_tensor *indices) {
    if (check_pair(__func__, input, "input", indices, "indices") != CT_OK) return NULL;
    int64_t flat = -1;
    ct_tensor *in = ct_reshape(input, 1, &flat), *ix = in ? ct_reshape(indices, 1, &flat) : NULL;
    ct_tensor *out = ix ? gather_checked(__func__, in, 0, ix) : NULL;
    if (out) ct__record_gather(out, in, 0, ix);
    ct_release(in);
    ct_release(ix);
    return out;
}

/* ---- scatters ---------------------------------------------------------------------------------------------------- */

/* Runs a scatter into self: scratch for mean and for CUDA's sort, the launch, the bad-index words, the version. */
static ct_status run_scatter(const char *func, ct_tensor *self, ct__scatter_args *a, oob_words words) {
    ct_device dev = self->storage->device;
    ct_tensor *count = NULL, *workspace = NULL;
    ct_status st = CT_OK;
    a->deterministic = ct_are_deterministic_algorithms_enabled();
    if (a->op == CT__SCATTER_MEAN) {
        count = ct__tensor_new(self->ndim, self->shape, CT_INT64, dev, false);
        st = count ? CT_DISPATCH(dev, fill, ct__view_of(count), 0.0) : ct_last_status();
        if (count) a->count = view_nd(count);
    }
#ifdef CTORCH_HAVE_CUDA
    size_t bytes = st == CT_OK && dev.type == CT_CUDA ? ct__cuda_scatter_workspace_bytes(a) : 0;
    if (bytes > 0) {
        int64_t n = (int64_t)bytes;
        workspace = ct__tensor_new(1, &n, CT_UINT8, dev, false);
        if (workspace) a->workspace = ct__view_of(workspace);
        else st = ct_last_status();
    }
#endif
    if (st == CT_OK) {
        ct__bad_index bad = {false, 0, 0, 0};
        st = CT_DISPATCH(dev, scatter, a, &bad);
        if (st == CT_ERR_INDEX && bad.found) st = report_bad_index(func, words, &bad);
    }
    if (st == CT_OK) ct__bump_version(self);
    ct_release(count);
    ct_release(workspace);
    return st;
}

/* t itself, or a copy when it shares memory with self (a scatter must read what it was given, not what it
 * writes). *copy receives the copy to release. */
static const ct_tensor *unaliased(const ct_tensor *self, const ct_tensor *t, ct_tensor **copy) {
    *copy = NULL;
    if (!t || !ct_shares_storage(self, t)) return t;
    *copy = ct_clone(t);
    return *copy;
}

/* Runs a scatter whose index and src views are made from index and src after they are unaliased from self. */
static ct_status scatter_unaliased(const char *func, ct_tensor *self, const ct_tensor *index, const ct_tensor *src,
                                   ct__scatter_args *a, oob_words words,
                                   ct__view (*index_view)(const ct_tensor *index, const ct__scatter_args *a)) {
    ct_tensor *index_copy, *src_copy;
    const ct_tensor *ix = unaliased(self, index, &index_copy), *sv = unaliased(self, src, &src_copy);
    ct_status st = CT_OK;
    if (!ix || (src && !sv)) st = ct_last_status();
    if (st == CT_OK) {
        a->index = index_view(ix, a);
        if (sv) {
            ct__view v = view_nd(sv);
            if (sv->ndim == 0) /* a 0-d source serves every element */
                for (int d = 0; d < CT_MAX_DIMS; d++) v.stride[d] = 0;
            a->src = v;
        }
        st = run_scatter(func, self, a, words);
    }
    ct_release(index_copy);
    ct_release(src_copy);
    return st;
}

/* The scatters' index view: index itself, its shape the iteration shape. */
static ct__view own_index_view(const ct_tensor *index, const ct__scatter_args *a) { return view_nd(index); }

/* The index_* ops' index view: repeated along every dim of the iteration shape (a->index.shape) but dim. */
static ct__view repeated_index_view(const ct_tensor *index, const ct__scatter_args *a) {
    return index_along(index, a->index.ndim, a->index.shape, a->dim);
}

/* PyTorch's scatter_shape_check. */
static ct_status scatter_shape_check(const char *func, const ct_tensor *self, int dim, const ct_tensor *index,
                                     const ct_tensor *src) {
    if (nd(self) != nd(index))
        return ct__error(CT_ERR_SHAPE, func, "Index tensor must have the same number of dimensions as self tensor");
    bool wrong = false;
    for (int d = 0; d < nd(self) && !wrong; d++) wrong = d != dim && size_at(index, d) > size_at(self, d);
    for (int d = 0; src && d < nd(self) && !wrong && d < nd(src); d++) wrong = size_at(index, d) > size_at(src, d);
    char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF], c[CT_SHAPE_BUF];
    ct__shape_str(index->ndim, index->shape, a, sizeof a);
    ct__shape_str(self->ndim, self->shape, b, sizeof b);
    if (src && nd(src) != nd(index))
        return ct__error(CT_ERR_SHAPE, func, "Index tensor must have the same number of dimensions as src tensor");
    if (src && wrong)
        return ct__error(CT_ERR_SHAPE, func,
                         "Expected index %s to be smaller than self %s apart from dimension %d and to be smaller "
                         "size than src %s",
                         a, b, dim, ct__shape_str(src->ndim, src->shape, c, sizeof c));
    if (wrong)
        return ct__error(CT_ERR_SHAPE, func, "Expected index %s to be smaller than self %s apart from dimension %d", a,
                         b, dim);
    return CT_OK;
}

/* scatter_, scatter_value_, scatter_add_, scatter_reduce_: src NULL means the value form. */
static ct_status scatter_common(const char *func, ct_tensor *self, int dim, const ct_tensor *index,
                                const ct_tensor *src, double value, ct__scatter_op op, bool include_self) {
    int d;
    ct_status st = check_pair(func, self, "self", index, "index");
    if (st == CT_OK && src) st = check_pair(func, self, "self", src, "src");
    if (st == CT_OK) st = ct__wrap_dim(dim, self->ndim, func, &d);
    if (st != CT_OK) return st;
    if (ct_numel(index) != 0 && !is_index_dtype(index->dtype))
        return ct__error(CT_ERR_DTYPE, func, "scatter(): Expected dtype int32/int64 for index");
    if (src && src->dtype != self->dtype)
        return ct__error(CT_ERR_DTYPE, func, "scatter(): Expected self.dtype to be equal to src.dtype");
    if (ct_numel(index) == 0) return CT_OK;
    if ((st = scatter_shape_check(func, self, d, index, src)) != CT_OK) return st;
    if ((st = check_no_internal_overlap(self, func)) != CT_OK) return st;
    if (op == CT__SCATTER_MEAN && self->dtype == CT_BOOL)
        return ct__error(CT_ERR_DTYPE, func, "scatter_reduce(): reduce=\"mean\" is not supported for Bool tensors");
    ct__scatter_args a;
    memset(&a, 0, sizeof a);
    a.self = view_nd(self);
    a.value = value;
    a.alpha = 1.0;
    a.dim = d;
    a.op = op;
    a.include_self = include_self;
    return scatter_unaliased(func, self, index, src, &a, OOB_BOUNDS, own_index_view);
}

/* Out-of-place forms: a copy of input, scattered into. */
static ct_tensor *scattered_copy(const char *func, const ct_tensor *input, int dim, const ct_tensor *index,
                                 const ct_tensor *src, double value, ct__scatter_op op, bool include_self) {
    if (ct__check_tensor(input, func, "input") != CT_OK) return NULL;
    ct_no_grad_begin(); /* the caller records out's history: from input, not from this copy */
    ct_tensor *out = ct_clone(input);
    ct_no_grad_end();
    if (out && scatter_common(func, out, dim, index, src, value, op, include_self) != CT_OK) {
        ct_release(out);
        return NULL;
    }
    return out;
}

ct_status ct_scatter_(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *src) {
    ct_status st = CT_CHECK_TENSOR(src);
    if (st == CT_OK) st = ct__indexing_inplace_check(self, src, __func__);
    if (st == CT_OK) st = scatter_common(__func__, self, dim, index, src, 0, CT__SCATTER_ASSIGN, true);
    if (st == CT_OK) ct__record_scatter(self, self, dim, index, src);
    return st;
}

ct_tensor *ct_scatter(const ct_tensor *input, int dim, const ct_tensor *index, const ct_tensor *src) {
    if (CT_CHECK_TENSOR(src) != CT_OK) return NULL;
    ct_tensor *out = scattered_copy(__func__, input, dim, index, src, 0, CT__SCATTER_ASSIGN, true);
    ct__record_scatter(out, input, dim, index, src);
    return out;
}

ct_status ct_scatter_value_(ct_tensor *self, int dim, const ct_tensor *index, double value) {
    ct_status st = ct__indexing_inplace_check(self, NULL, __func__);
    if (st == CT_OK) st = scatter_common(__func__, self, dim, index, NULL, value, CT__SCATTER_ASSIGN, true);
    if (st == CT_OK) ct__record_scatter(self, self, dim, index, NULL);
    return st;
}

ct_tensor *ct_scatter_value(const ct_tensor *input, int dim, const ct_tensor *index, double value) {
    ct_tensor *out = scattered_copy(__func__, input, dim, index, NULL, value, CT__SCATTER_ASSIGN, true);
    ct__record_scatter(out, input, dim, index, NULL);
    return out;
}

ct_status ct_scatter_add_(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *src) {
    ct_status st = CT_CHECK_TENSOR(src);
    if (st == CT_OK) st = ct__indexing_inplace_check(self, src, __func__);
    if (st == CT_OK) st = scatter_common(__func__, self, dim, index, src, 0, CT__SCATTER_SUM, true);
    if (st == CT_OK) ct__record_scatter_add(self, self, dim, index, src);
    return st;
}

ct_tensor *ct_scatter_add(const ct_tensor *input, int dim, const ct_tensor *index, const ct_tensor *src) {
    if (CT_CHECK_TENSOR(src) != CT_OK) return NULL;
    ct_tensor *out = scattered_copy(__func__, input, dim, index, src, 0, CT__SCATTER_SUM, true);
    ct__record_scatter_add(out, input, dim, index, src);
    return out;
}

static ct_status reduction_op(ct_scatter_reduction reduce, const char *func, ct__scatter_op *op) {
    switch (reduce) {
    case CT_SCATTER_SUM: *op = CT__SCATTER_SUM; return CT_OK;
    case CT_SCATTER_PROD: *op = CT__SCATTER_PROD; return CT_OK;
    case CT_SCATTER_MEAN: *op = CT__SCATTER_MEAN; return CT_OK;
    case CT_SCATTER_AMAX: *op = CT__SCATTER_AMAX; return CT_OK;
    case CT_SCATTER_AMIN: *op = CT__SCATTER_AMIN; return CT_OK;
    }
    return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                     "reduce argument must be either sum, prod, mean, amax or amin, got %d", (int)reduce);
}

ct_status ct_scatter_reduce_(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *src,
                             ct_scatter_reduction reduce, bool include_self) {
    ct__scatter_op op;
    ct_tensor *old_self = NULL, *old_src = NULL;
    ct_status st = CT_CHECK_TENSOR(src);
    if (st == CT_OK) st = reduction_op(reduce, __func__, &op);
    if (st == CT_OK) st = ct__indexing_inplace_check(self, src, __func__);
    if (st == CT_OK) st = ct__scatter_reduce_keep_old(self, src, reduce, &old_self, &old_src);
    if (st == CT_OK) st = scatter_common(__func__, self, dim, index, src, 0, op, include_self);
    if (st == CT_OK) ct__record_scatter_reduce(self, self, dim, index, src, old_self, old_src, reduce, include_self);
    ct_release(old_self);
    ct_release(old_src);
    return st;
}

ct_tensor *ct_scatter_reduce(const ct_tensor *input, int dim, const ct_tensor *index, const ct_tensor *src,
                             ct_scatter_reduction reduce, bool include_self) {
    ct__scatter_op op;
    if (CT_CHECK_TENSOR(src) != CT_OK || reduction_op(reduce, __func__, &op) != CT_OK) return NULL;
    ct_tensor *out = scattered_copy(__func__, input, dim, index, src, 0, op, include_self);
    ct__record_scatter_reduce(out, input, dim, index, src, input, src, reduce, include_self);
    return out;
}

/* ---- index_add_, index_copy_, index_fill_ ------------------------------------------------------------------------ */

/* The scatter arguments of an index_* op: self, and the iteration shape (self's, with n indices at dim) carried
 * in a.index until the index view is made. */
static ct__scatter_args index_op_args(ct_tensor *self, int dim, int64_t n, ct__scatter_op op) {
    ct__scatter_args a;
    memset(&a, 0, sizeof a);
    a.self = view_nd(self);
    a.index = a.self;
    a.index.shape[dim] = n;
    a.alpha = 1.0;
    a.dim = dim;
    a.op = op;
    a.include_self = true;
    return a;
}

/* index_add_'s checks (PyTorch's index_func_meta_impl), after dim is wrapped. */
static ct_status index_add_checks(const char *func, const ct_tensor *self, int dim, const ct_tensor *index,
                                  const ct_tensor *source, double alpha) {
    char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF];
    int64_t n = ct_numel(index), source_n = source->ndim == 0 ? 1 : source->shape[dim < source->ndim ? dim : 0];
    if (index->ndim > 1)
        return ct__error(CT_ERR_INDEX, func, "index_add_(): Index is supposed to be a vector, but got dim: %d with "
                         "type: %s and size: %s", index->ndim, ct__scalar_type_name(index->dtype),
                         ct__shape_str(index->ndim, index->shape, a, sizeof a));
    if (!is_index_dtype(index->dtype))
        return ct__error(CT_ERR_DTYPE, func, "index_add_(): Expected dtype int32/int64 for index but got: %s",
                         ct__scalar_type_name(index->dtype));
    if (self->dtype != source->dtype)
        return ct__error(CT_ERR_DTYPE, func, "index_add_(): self (%s) and source (%s) must have the same scalar type",
                         ct__scalar_type_name(self->dtype), ct__scalar_type_name(source->dtype));
    if (!(dim == 0 || dim < source->ndim))
        return ct__error(CT_ERR_INDEX, func, "index_add_(): Indexing dim %d is out of bounds of the source tensor with "
                         "dim %d", dim, source->ndim);
    if (n != source_n)
        return ct__error(CT_ERR_SHAPE, func, "index_add_(): Number of indices (%lld) should be equal to "
                         "source.size(dim): (%lld), for dim: %d", (long long)n, (long long)source_n, dim);
    /* the shapes must agree off dim; a 0-d tensor only matches a 0-d tensor */
    bool same = source->ndim == self->ndim;
    for (int d = 0; same && d < self->ndim; d++) same = d == dim || self->shape[d] == source->shape[d];
    if (!same)
        return ct__error(CT_ERR_SHAPE, func, "source tensor shape must match self tensor shape, excluding the "
                         "specified dimension. Got self.shape = %s source.shape = %s",
                         ct__shape_str(self->ndim, self->shape, a, sizeof a),
                         ct__shape_str(source->ndim, source->shape, b, sizeof b));
    if (!ct_dtype_is_floating(self->dtype) && alpha != trunc(alpha))
        return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                         "For integral input tensors, argument alpha must not be a floating point number.");
    return CT_OK;
}

ct_status ct_index_add_(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *source, double alpha) {
    int d;
    ct_status st = check_pair(__func__, self, "self", index, "index");
    if (st == CT_OK) st = check_pair(__func__, self, "self", source, "source");
    if (st == CT_OK) st = ct__indexing_inplace_check(self, source, __func__);
    if (st == CT_OK) st = CT_WRAP_DIM(dim, self->ndim, &d);
    if (st == CT_OK) st = index_add_checks(__func__, self, d, index, source, alpha);
    if (st == CT_OK) st = check_no_internal_overlap(self, __func__);
    if (st == CT_OK && ct_numel(index) > 0) {
        ct__scatter_args a = index_op_args(self, d, ct_numel(index), CT__SCATTER_SUM);
        a.alpha = alpha;
        st = scatter_unaliased(__func__, self, index, source, &a, OOB_RANGE_IN_SELF, repeated_index_view);
    }
    if (st == CT_OK) ct__record_index_add(self, d, index, source, alpha);
    return st;
}

/* index_copy_'s checks (PyTorch's index_copy_ meta), after dim is wrapped. */
static ct_status index_copy_checks(const char *func, const ct_tensor *self, int dim, const ct_tensor *index,
                                   const ct_tensor *source) {
    int64_t n = ct_numel(index);
    if (index->ndim >= 2)
        return ct__error(CT_ERR_INDEX, func, "index_copy_(): Index should have dimension 1 or 0 (got %d)", index->ndim);
    if (source->ndim == 0 && n != 1)
        return ct__error(CT_ERR_INDEX, func, "index_copy_(): When source is scalar, index should have one element "
                         "(got %lld)", (long long)n);
    if (source->ndim != 0 && self->ndim != 0 && source->ndim != self->ndim)
        return ct__error(CT_ERR_INDEX, func, "index_copy_(): When source and destination are not scalars, their "
                         "dimensionality must match. Source dimensionality (%d), destination dimensionality (%d)",
                         source->ndim, self->ndim);
    if (!is_index_dtype(index->dtype))
        return ct__error(CT_ERR_DTYPE, func, "index_copy_(): Expected a long tensor for index, but got %s",
                         ct__scalar_type_name(index->dtype));
    if (self->dtype != source->dtype)
        return ct__error(CT_ERR_DTYPE, func, "index_copy_(): self and source expected to have the same dtype, but got "
                         "(self) %s and (source) %s", ct__scalar_type_name(self->dtype), ct__scalar_type_name(source->dtype));
    /* the slices: each shape without dim (a 0-d shape stays empty) */
    int64_t self_slice[CT_MAX_DIMS], source_slice[CT_MAX_DIMS];
    int ns = 0, nsrc = 0;
    for (int d = 0; d < self->ndim; d++)
        if (d != dim) self_slice[ns++] = self->shape[d];
    for (int d = 0; d < source->ndim; d++)
        if (d != dim) source_slice[nsrc++] = source->shape[d];
    bool same = ns == nsrc;
    for (int d = 0; same && d < ns; d++) same = self_slice[d] == source_slice[d];
    if (!same) {
        char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF];
        return ct__error(CT_ERR_SHAPE, func, "index_copy_(): Source/destination tensor must have same slice shapes. "
                         "Destination slice shape: %s at dimension %d and source slice shape: %s at dimension 0.",
                         ct__shape_str(ns, self_slice, a, sizeof a), dim,
                         ct__shape_str(nsrc, source_slice, b, sizeof b));
    }
    if (source->ndim != 0 && n != source->shape[dim])
        return ct__error(CT_ERR_INDEX, func, "index_copy_(): Number of indices (%lld) should be equal to "
                         "source.size(dim) (%lld)", (long long)n, (long long)source->shape[dim]);
    return CT_OK;
}

ct_status ct_index_copy_(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *source) {
    int d;
    ct_status st = check_pair(__func__, self, "self", index, "index");
    if (st == CT_OK) st = check_pair(__func__, self, "self", source, "source");
    if (st == CT_OK) st = ct__indexing_inplace_check(self, source, __func__);
    if (st == CT_OK) st = CT_WRAP_DIM(dim, self->ndim, &d);
    if (st == CT_OK) st = index_copy_checks(__func__, self, d, index, source);
    if (st == CT_OK) st = check_no_internal_overlap(self, __func__);
    if (st == CT_OK && ct_numel(index) > 0) {
        ct__scatter_args a = index_op_args(self, d, ct_numel(index), CT__SCATTER_ASSIGN);
        st = scatter_unaliased(__func__, self, index, source, &a, OOB_INDEX_COPY, repeated_index_view);
    }
    if (st == CT_OK) ct__record_index_copy(self, d, index, source);
    return st;
}

ct_status ct_index_fill_(ct_tensor *self, int dim, const ct_tensor *index, double value) {
    int d;
    ct_status st = check_pair(__func__, self, "self", index, "index");
    if (st == CT_OK) st = ct__indexing_inplace_check(self, NULL, __func__);
    if (st != CT_OK) return st;
    if (!is_index_dtype(index->dtype))
        return CT_FAIL(CT_ERR_DTYPE, "index_fill_(): Expected dtype int64 for index.");
    if ((st = CT_WRAP_DIM(dim, self->ndim, &d)) != CT_OK) return st;
    if (index->ndim > 1) return CT_FAIL(CT_ERR_INDEX, "Index has to be a vector/scalar");
    if (ct_numel(index) > 0) {
        ct__scatter_args a = index_op_args(self, d, ct_numel(index), CT__SCATTER_ASSIGN);
        a.value = value;
        a.wrap_negative = true;
        st = scatter_unaliased(__func__, self, index, NULL, &a, OOB_BOUNDS, repeated_index_view);
    }
    if (st == CT_OK) ct__record_index_fill(self, d, index);
    return st;
}

/* ---- masked_select ----------------------------------------------------------------------------------------------- */

/* Scratch the masked launchers need on the device (CUDA only; a NULL view on the CPU). */
static ct_status masked_workspace(ct_device dev, ct__view mask, ct_tensor **ws, ct__view *view) {
    *ws = NULL;
    memset(view, 0, sizeof *view);
#ifdef CTORCH_HAVE_CUDA
    if (dev.type == CT_CUDA) {
        int64_t n = (int64_t)ct__cuda_masked_workspace_bytes(mask);
        *ws = ct__tensor_new(1, &n, CT_UINT8, dev, false);
        if (!*ws) return ct_last_status();
        *view = ct__view_of(*ws);
    }
#endif
    return CT_OK;
}

ct_tensor *ct_masked_select(const ct_tensor *input, const ct_tensor *mask) {
    if (check_pair(__func__, input, "input", mask, "mask") != CT_OK) return NULL;
    if (mask->dtype != CT_BOOL) {
        CT_FAIL(CT_ERR_DTYPE, "masked_select: expected BoolTensor for mask");
        return NULL;
    }
    int n;
    int64_t shape[CT_MAX_DIMS];
    if (ct__broadcast_shapes(mask->ndim, mask->shape, input->ndim, input->shape, &n, shape, __func__) != CT_OK)
        return NULL;
    ct_device dev = input->storage->device;
    ct_tensor *ws, *out = NULL;
    ct__view wv, in = ct__view_of(input), mv = ct__view_of(mask);
    /* both as views of the broadcast shape, aligned at the last dim */
    ct_tensor *in_b = ct_expand(input, n, shape), *mask_b = in_b ? ct_expand(mask, n, shape) : NULL;
    if (mask_b) in = view_nd(in_b), mv = view_nd(mask_b);
    int64_t count = 0;
    if (mask_b && masked_workspace(dev, mv, &ws, &wv) == CT_OK) {
        if (CT_DISPATCH(dev, masked_count, mv, wv, &count) == CT_OK)
            out = ct__tensor_new(1, &count, input->dtype, dev, false);
        if (out && count > 0 && CT_DISPATCH(dev, masked_select, ct__view_of(out), in, mv, wv) != CT_OK) {
            ct_release(out);
            out = NULL;
        }
        ct_release(ws);
        ct__record_masked_select(out, input, mask_b);
    }
    ct_release(in_b);
    ct_release(mask_b);
    return out;
}
