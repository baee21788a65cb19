/* The backward functions of the indexing family and the recording calls of its front end
 * (runtime/autograd/backward_indexing.h). The formulas are PyTorch's (tools/autograd/derivatives.yaml and
 * FunctionsManual.cpp), written with ctorch's public ops so that the CPU and CUDA both run them. With G the
 * gradient of the result:
 *
 *   gather, take_along_dim   zeros of the input's shape, G scatter-added at index (take_along_dim: of the
 *                            broadcast input's shape; the engine sums it back to the input's)
 *   scatter, scatter_        self: G with the scattered positions zeroed; src: G gathered at index
 *   scatter (value forms)    self as above
 *   scatter_add(_)           self: G; src: G gathered at index
 *   scatter_reduce(_)        sum: as scatter_add; mean: both divided by the number of values reduced into each
 *                            position; prod: the product of the others (exact with zeros: a lone zero in src gets the
 *                            product of the rest, self's zeros likewise); amax/amin: G split evenly among the values
 *                            equal to the result (ties). Without include_self, self's scattered positions get 0.
 *   index_select             zeros of the input's shape, G index-added at index
 *   index_add_               self: G; source: alpha * G selected at index
 *   index_copy_              self: G with the copied slices zeroed; source: G selected at index
 *   index_fill_              self: G with the filled slices zeroed
 *   masked_select            G put back at the mask's true positions (row-major), zeros elsewhere, summed to the
 *                            input's shape when the input was broadcast
 *
 * A src larger than index (allowed off nothing but what index covers) gets zeros where index does not reach. As in
 * PyTorch, scatter_ and index_copy_ with duplicate indices give every duplicate the gradient, although only one
 * value was kept.
 *
 * A node's layout: inputs [0] self/input, [1] src/source; saved[0] the index (or mask); iargs[0] the wrapped dim.
 * Backward runs with grad mode off inside the engine's scope, so its temporaries need no release; ops given a NULL
 * input return NULL and keep the first error, so each chain is checked once at its end. */
#include <string.h>

#include "autograd/backward_indexing.h"
#include "ctorch/elementwise.h"
#include "ctorch/reduce.h"
#include "ctorch/shape.h"

/* ---- shared ------------------------------------------------------------------------------------------------------ */

static int wrapped(int dim, const ct_tensor *t) { return dim < 0 ? dim + (t->ndim > 0 ? t->ndim : 1) : dim; }

static ct_device device_of(const ct_tensor *t) { return t->storage->device; }

static ct_status status_of(const ct_tensor *t) { return t ? CT_OK : ct_last_status(); }

ct_status ct__indexing_inplace_check(const ct_tensor *self, const ct_tensor *src, const char *func) {
    if (!self) return CT_OK;
    ct_status st = ct__check_inplace(self, func);
    if (st != CT_OK) return st;
    bool recorded = ct_is_grad_enabled() && (self->requires_grad || (src && src->requires_grad));
    if (recorded && self->is_view)
        return ct__error(CT_ERR_NOT_IMPLEMENTED, func,
                         "this in-place write into a view is not differentiable yet (the tensor it views would not "
                         "learn of it): write into a tensor that is not a view (ct_clone it first), or write under "
                         "ct_no_grad_begin()");
    return CT_OK;
}

/* A node on out over self and src (src NULL: one input) with the index saved, or NULL when nothing is recorded. */
static ct__node *record_indexed(const char *name, ct__backward_fn backward, ct_tensor *out, const ct_tensor *self,
                                const ct_tensor *src, int dim, const ct_tensor *index) {
    if (!out) return NULL;
    const ct_tensor *in[2] = {self, src};
    ct__node *node = ct__record(name, backward, src ? 2 : 1, in);
    if (!node) return NULL;
    ct__save(node, index);
    node->iargs[0] = wrapped(dim, self);
    return node;
}

/* g reshaped to input i's shape when only size-1 dims tell them apart (a 0-d tensor against one element). */
static ct_tensor *as_input_shape(const ct__node *n, int i, ct_tensor *g) {
    if (!g || g->ndim == n->in_ndim[i] || ct_numel(g) != ct__shape_numel(n->in_ndim[i], n->in_shape[i])) return g;
    return ct_reshape(g, n->in_ndim[i], n->in_shape[i]);
}

/* src's gradient from g, G at index (index's shape): g in the leading corner of zeros of src's shape (input 1),
 * since index may cover only part of src. */
static ct_tensor *src_gradient(const ct__node *n, ct_tensor *g) {
    int nd = n->in_ndim[1];
    const int64_t *shape = n->in_shape[1];
    if (!g) return NULL;
    if (ct_numel(g) == 0) return ct_zeros(nd, shape, g->dtype, device_of(g));
    if (g->ndim != nd) { /* a 0-d index or src, counted as one element along dim 0 */
        int64_t ones[CT_MAX_DIMS] = {1, 1, 1, 1, 1, 1, 1, 1};
        if (!(g = ct_reshape(g, nd, ones))) return NULL;
    }
    int64_t pad[2 * CT_MAX_DIMS];
    bool same = true;
    for (int k = 0; k < nd; k++) {
        int d = nd - 1 - k;
        pad[2 * k] = 0, pad[2 * k + 1] = shape[d] - g->shape[d];
        same &= pad[2 * k + 1] == 0;
    }
    return same ? g : ct_constant_pad_nd(g, 2 * nd, pad, 0.0);
}

/* The part of src that index covers (index's shape): what a scatter reads. */
static ct_tensor *covered(const ct_tensor *src, const ct_tensor *index) {
    if (src->ndim != index->ndim) { /* 0-d against one element: index has one element */
        int64_t flat = -1;
        ct_tensor *f = ct_reshape(src, 1, &flat);
        ct_tensor *first = f ? ct_narrow(f, 0, 0, ct_numel(index)) : NULL;
        return first ? ct_reshape(first, index->ndim, index->shape) : NULL;
    }
    ct_tensor *part = ct_alias(src);
    for (int d = 0; d < src->ndim && part; d++)
        if (part->shape[d] != index->shape[d]) part = ct_narrow(part, d, 0, index->shape[d]);
    return part;
}

/* ---- gather, take_along_dim ------------------------------------------------------------------------------------ */

static ct_status gather_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *index = ct__saved(n, 0);
    if (!index) return ct_last_status();
    int dim = (int)n->iargs[0], nd = n->in_ndim[0];
    int64_t shape[CT_MAX_DIMS]; /* the input's shape, broadcast against the result's off dim (take_along_dim) */
    for (int d = 0; d < nd; d++) {
        int64_t s = n->in_shape[0][d];
        shape[d] = d == dim || s >= grad->shape[d] ? s : grad->shape[d];
    }
    ct_tensor *z = ct_zeros(nd, shape, grad->dtype, device_of(grad));
    ct_status st = z ? ct_scatter_add_(z, dim, index, grad) : ct_last_status();
    gi[0] = z;
    return st;
}

void ct__record_gather(ct_tensor *out, const ct_tensor *input, int dim, const ct_tensor *index) {
    ct__node *node = record_indexed("GatherBackward0", gather_backward, out, input, NULL, dim, index);
    if (node) ct__attach(node, out);
}

/* ---- scatter, scatter_add ---------------------------------------------------------------------------------------- */

static ct_status scatter_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *index = ct__saved(n, 0);
    if (!index) return ct_last_status();
    int dim = (int)n->iargs[0];
    if (n->needs_grad[0] && !(gi[0] = ct_scatter_value(grad, dim, index, 0.0))) return ct_last_status();
    if (n->n_inputs > 1 && n->needs_grad[1] && !(gi[1] = src_gradient(n, ct_gather(grad, dim, index))))
        return ct_last_status();
    return CT_OK;
}

void ct__record_scatter(ct_tensor *out, const ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *src) {
    const char *name = src ? "ScatterBackward0" : "ScatterBackward1";
    ct__node *node = record_indexed(name, scatter_backward, out, self, src, dim, index);
    if (node) ct__attach(node, out);
}

static ct_status scatter_add_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *index = ct__saved(n, 0);
    if (!index) return ct_last_status();
    if (n->needs_grad[0]) gi[0] = (ct_tensor *)grad;
    if (n->needs_grad[1] && !(gi[1] = src_gradient(n, ct_gather(grad, (int)n->iargs[0], index))))
        return ct_last_status();
    return CT_OK;
}

void ct__record_scatter_add(ct_tensor *out, const ct_tensor *self, int dim, const ct_tensor *index,
                            const ct_tensor *src) {
    ct__node *node = record_indexed("ScatterAddBackward0", scatter_add_backward, out, self, src, dim, index);
    if (node) ct__attach(node, out);
}

/* ---- scatter_reduce ----------------------------------------------------------------------------------------------- */

/* A scatter_reduce node: iargs [1] the reduction, [2] include_self; saved [0] index, and for prod/amax/amin [1]
 * self's values before the write, [2] src, [3] the result. */
typedef struct reduce_args {
    const ct_tensor *grad, *index, *self, *src, *result;
    int dim;
    bool include_self;
} reduce_args;

/* prod, amax and amin read the values; sum and mean only the index. */
static bool needs_values(ct_scatter_reduction reduce) {
    return reduce == CT_SCATTER_PROD || reduce == CT_SCATTER_AMAX || reduce == CT_SCATTER_AMIN;
}

/* mean: both gradients divided by the number of values reduced into each position. */
static ct_status mean_gradients(const reduce_args *r, ct_tensor **gs, ct_tensor **gsrc) {
    ct_tensor *count = r->include_self ? ct_ones_like(r->grad) : ct_zeros_like(r->grad);
    ct_tensor *ones = ct_ones(r->index->ndim, r->index->shape, r->grad->dtype, device_of(r->grad));
    ct_status st = count && ones ? ct_scatter_add_(count, r->dim, r->index, ones) : ct_last_status();
    if (st == CT_OK) st = ct_masked_fill_(count, ct_eq_scalar(count, 0.0), 1.0);
    if (st != CT_OK) return st;
    *gs = ct_div(r->grad, count);
    *gsrc = *gs ? ct_div(ct_gather(r->grad, r->dim, r->index), ct_gather(count, r->dim, r->index)) : NULL;
    return status_of(*gsrc);
}

/* prod, self's gradient: G times the product of the others, the result with self's zeros taken as ones divided by
 * self (so a zero of self gets the product of the values reduced into its position). */
static ct_tensor *prod_self_gradient(const reduce_args *r) {
    ct_tensor *self_nz = ct_masked_fill(r->self, ct_eq_scalar(r->self, 0.0), 1.0);
    ct_tensor *others = ct_scatter_reduce(self_nz, r->dim, r->index, r->src, CT_SCATTER_PROD, r->include_self);
    return ct_div(ct_mul(r->grad, others), self_nz);
}

/* prod, src's gradient: a zero alone at its position gets G times the product of the rest (the reduction with that
 * zero taken as one); any other element G * result / src, which is 0 where two zeros or more meet. */
static ct_tensor *prod_src_gradient(const reduce_args *r) {
    ct_dtype dt = r->grad->dtype;
    ct_tensor *src = covered(r->src, r->index);
    ct_tensor *zero = src ? ct_eq_scalar(src, 0.0) : NULL;
    ct_tensor *zero_count = zero ? ct_zeros_like(r->self) : NULL; /* src zeros reduced into each position */
    if (!zero_count || ct_scatter_add_(zero_count, r->dim, r->index, ct_to_dtype(zero, dt)) != CT_OK) return NULL;
    ct_tensor *alone = ct_mul(ct_to_dtype(zero, dt), ct_eq_scalar(ct_gather(zero_count, r->dim, r->index), 1.0));
    ct_tensor *lone_zero = alone ? ct_ne_scalar(alone, 0.0) : NULL;
    ct_tensor *rest = lone_zero ? ct_scatter_reduce(r->self, r->dim, r->index, ct_masked_fill(src, lone_zero, 1.0),
                                                    CT_SCATTER_PROD, r->include_self)
                                : NULL;
    ct_tensor *if_alone = rest ? ct_gather(ct_mul(r->grad, rest), r->dim, r->index) : NULL;
    ct_tensor *otherwise = if_alone ? ct_div(ct_gather(ct_mul(r->grad, r->result), r->dim, r->index),
                                             ct_masked_fill(src, zero, 1.0))
                                    : NULL;
    return otherwise ? ct_where(lone_zero, if_alone, otherwise) : NULL;
}

static ct_status prod_gradients(const reduce_args *r, ct_tensor **gs, ct_tensor **gsrc) {
    *gs = prod_self_gradient(r);
    *gsrc = *gs ? prod_src_gradient(r) : NULL;
    return status_of(*gsrc);
}

/* amax, amin: G split evenly among the values equal to the result. */
static ct_status extreme_gradients(const reduce_args *r, ct_tensor **gs, ct_tensor **gsrc) {
    ct_dtype dt = r->grad->dtype;
    ct_tensor *value = ct_gather(r->result, r->dim, r->index);
    ct_tensor *src = covered(r->src, r->index);
    ct_tensor *self_hits = ct_to_dtype(ct_eq(r->self, r->result), dt);
    if (self_hits && !r->include_self) self_hits = ct_scatter_value(self_hits, r->dim, r->index, 0.0);
    ct_tensor *src_hits = value && src ? ct_to_dtype(ct_eq(src, value), dt) : NULL;
    ct_tensor *hits = self_hits && src_hits ? ct_scatter_add(self_hits, r->dim, r->index, src_hits) : NULL;
    ct_tensor *share = hits ? ct_div(r->grad, hits) : NULL;
    *gs = share ? ct_mul(self_hits, share) : NULL;
    *gsrc = *gs ? ct_mul(src_hits, ct_gather(share, r->dim, r->index)) : NULL;
    return status_of(*gsrc);
}

static ct_status scatter_reduce_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    ct_scatter_reduction reduce = (ct_scatter_reduction)n->iargs[1];
    reduce_args r = {grad, ct__saved(n, 0), NULL, NULL, NULL, (int)n->iargs[0], n->iargs[2] != 0};
    if (!r.index) return ct_last_status();
    if (needs_values(reduce)) {
        r.self = ct__saved(n, 1), r.src = ct__saved(n, 2), r.result = ct__saved(n, 3);
        if (!r.self || !r.src || !r.result) return ct_last_status();
    }
    ct_tensor *gs = NULL, *gsrc = NULL;
    ct_status st = CT_OK;
    switch (reduce) {
    case CT_SCATTER_SUM:
        gs = (ct_tensor *)grad;
        gsrc = ct_gather(grad, r.dim, r.index);
        st = status_of(gsrc);
        break;
    case CT_SCATTER_MEAN: st = mean_gradients(&r, &gs, &gsrc); break;
    case CT_SCATTER_PROD: st = prod_gradients(&r, &gs, &gsrc); break;
    case CT_SCATTER_AMAX:
    case CT_SCATTER_AMIN: st = extreme_gradients(&r, &gs, &gsrc); break;
    }
    if (st != CT_OK) return st;
    if (n->needs_grad[0] && !(gi[0] = r.include_self ? gs : ct_scatter_value(gs, r.dim, r.index, 0.0)))
        return ct_last_status();
    if (n->needs_grad[1] && !(gi[1] = src_gradient(n, gsrc))) return ct_last_status();
    return CT_OK;
}

ct_status ct__scatter_reduce_keep_old(const ct_tensor *self, const ct_tensor *src, ct_scatter_reduction reduce,
                                      ct_tensor **old_self, ct_tensor **old_src) {
    *old_self = *old_src = NULL;
    bool recorded = ct_is_grad_enabled() && self && src && (self->requires_grad || src->requires_grad);
    if (!recorded || !needs_values(reduce)) return CT_OK;
    ct_no_grad_begin();
    *old_self = ct_clone(self);
    if (*old_self && ct_shares_storage(self, src)) *old_src = ct_clone(src);
    ct_no_grad_end();
    if (*old_self && (*old_src || !ct_shares_storage(self, src))) return CT_OK;
    ct_release(*old_self);
    *old_self = NULL;
    return ct_last_status();
}

void ct__record_scatter_reduce(ct_tensor *out, const ct_tensor *self, int dim, const ct_tensor *index,
                               const ct_tensor *src, const ct_tensor *old_self, const ct_tensor *old_src,
                               ct_scatter_reduction reduce, bool include_self) {
    ct__node *node = record_indexed("ScatterReduceBackward0", scatter_reduce_backward, out, self, src, dim, index);
    if (!node) return;
    node->iargs[1] = reduce, node->iargs[2] = include_self;
    if (needs_values(reduce)) {
        ct__save(node, old_self ? old_self : self);
        ct__save(node, old_src ? old_src : src);
        ct__save(node, out);
    }
    ct__attach(node, out);
}

/* ---- index_select, index_add_, index_copy_, index_fill_ ----------------------------------------------------------- */

static ct_status index_select_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *index = ct__saved(n, 0);
    if (!index) return ct_last_status();
    ct_tensor *z = ct_zeros(n->in_ndim[0], n->in_shape[0], grad->dtype, device_of(grad));
    ct_status st = z ? ct_index_add_(z, (int)n->iargs[0], index, grad, 1.0) : ct_last_status();
    gi[0] = z;
    return st;
}

void ct__record_index_select(ct_tensor *out, const ct_tensor *input, int dim, const ct_tensor *index) {
    ct__node *node = record_indexed("IndexSelectBackward0", index_select_backward, out, input, NULL, dim, index);
    if (node) ct__attach(node, out);
}

/* args[0]: alpha. */
static ct_status index_add_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *index = ct__saved(n, 0);
    if (!index) return ct_last_status();
    if (n->needs_grad[0]) gi[0] = (ct_tensor *)grad;
    if (n->needs_grad[1]) {
        ct_tensor *g = ct_index_select(grad, (int)n->iargs[0], index);
        if (g && n->args[0] != 1.0) g = ct_mul_scalar(g, n->args[0]);
        if (!(gi[1] = as_input_shape(n, 1, g))) return ct_last_status();
    }
    return CT_OK;
}

void ct__record_index_add(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *source, double alpha) {
    ct__node *node = record_indexed("IndexAddBackward0", index_add_backward, self, self, source, dim, index);
    if (!node) return;
    node->args[0] = alpha;
    ct__attach(node, self);
}

/* G with the slices at index along dim set to 0. */
static ct_tensor *zeroed_at(const ct_tensor *grad, int dim, const ct_tensor *index) {
    ct_tensor *c = ct_clone(grad);
    if (c && ct_index_fill_(c, dim, index, 0.0) != CT_OK) return NULL;
    return c;
}

static ct_status index_copy_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *index = ct__saved(n, 0);
    if (!index) return ct_last_status();
    int dim = (int)n->iargs[0];
    if (n->needs_grad[0] && !(gi[0] = zeroed_at(grad, dim, index))) return ct_last_status();
    if (n->needs_grad[1] && !(gi[1] = as_input_shape(n, 1, ct_index_select(grad, dim, index))))
        return ct_last_status();
    return CT_OK;
}

void ct__record_index_copy(ct_tensor *self, int dim, const ct_tensor *index, const ct_tensor *source) {
    ct__node *node = record_indexed("IndexCopyBackward0", index_copy_backward, self, self, source, dim, index);
    if (node) ct__attach(node, self);
}

static ct_status index_fill_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *index = ct__saved(n, 0);
    if (!index) return ct_last_status();
    gi[0] = zeroed_at(grad, (int)n->iargs[0], index);
    return status_of(gi[0]);
}

void ct__record_index_fill(ct_tensor *self, int dim, const ct_tensor *index) {
    ct__node *node = record_indexed("IndexFillBackward0", index_fill_backward, self, self, NULL, dim, index);
    if (node) ct__attach(node, self);
}

/* ---- masked_select ------------------------------------------------------------------------------------------------ */

/* G's k-th element goes to the k-th true position of the mask (row-major): each true position finds its k as the
 * count of true positions up to it, minus one. */
static ct_status masked_select_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *mask = ct__saved(n, 0);
    if (!mask) return ct_last_status();
    if (ct_numel(grad) == 0) {
        gi[0] = ct_zeros(mask->ndim, mask->shape, grad->dtype, device_of(grad));
        return status_of(gi[0]);
    }
    int64_t flat = -1;
    ct_tensor *m = ct_reshape(mask, 1, &flat);
    ct_tensor *k = m ? ct_sub_scalar(ct_cumsum(m, 0), 1.0, 1.0) : NULL;
    ct_tensor *at = k ? ct_where(m, k, ct_zeros_like(k)) : NULL; /* false positions read element 0, then drop it */
    ct_tensor *picked = at ? ct_gather(grad, 0, at) : NULL;
    ct_tensor *full = picked ? ct_where(m, picked, ct_zeros_like(picked)) : NULL;
    gi[0] = full ? ct_reshape(full, mask->ndim, mask->shape) : NULL;
    return status_of(gi[0]);
}

void ct__record_masked_select(ct_tensor *out, const ct_tensor *input, const ct_tensor *mask) {
    if (!out) return;
    ct__node *node = ct__record("MaskedSelectBackward0", masked_select_backward, 1, &input);
    if (!node) return;
    ct__save(node, mask);
    ct__attach(node, out);
}
