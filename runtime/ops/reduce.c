/* The front end of the reduce family (include/ctorch/reduce.h): every check happens here, once, for both
 * backends (dims wrapped and unique, dtypes, empty reductions that have no identity), then the output is
 * allocated and the reduction described as a ct__reduce_geom (kernels/reduce.h) for the backend to walk.
 *
 * The geometry is computed here rather than in each backend so that the CPU and CUDA agree on the order of the
 * reduced elements, which decides the index that argmax and max(dim) return on ties.
 *
 * A result whose input requires grad gets its autograd node from runtime/autograd/backward_reduce.c. */
#include <math.h>
#include <stdio.h>

#include "autograd/backward_reduce.h"
#include "common.h"
#include "ctorch/reduce.h"
#include "kernels/reduce.h"

/* ---- checks ------------------------------------------------------------------------------------------------------ */

/* PyTorch's name of a dtype, for messages in its words ("... Got: Long"). */

/* Checks t and turns (ndims, dims) into a mask of reduced dims; ndims == 0 reduces them all. */
static ct_status parse_dims(const ct_tensor *t, int ndims, const int *dims, const char *func, bool *mask) {
    ct_status st = ct__check_tensor(t, func, "t");
    if (st != CT_OK || (st = ct__check_supported_dtype(t, func)) != CT_OK) return st;
    if (ndims < 0) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "ndims must be non-negative, got %d", ndims);
    if (ndims > 0 && !dims) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "argument 'dims' is NULL (ndims %d)", ndims);
    for (int d = 0; d < CT_MAX_DIMS; d++) mask[d] = ndims == 0;
    for (int i = 0; i < ndims; i++) {
        int d;
        if ((st = ct__wrap_dim(dims[i], t->ndim, func, &d)) != CT_OK) return st;
        if (mask[d])
            return ct__error(CT_ERR_INVALID_ARGUMENT, func, "dim %d appears multiple times in the list of dims", d);
        mask[d] = true;
    }
    return CT_OK;
}

static ct_status require_floating(const ct_tensor *t, const char *func, const char *what) {
    if (ct_dtype_is_floating(t->dtype)) return CT_OK;
    return ct__error(CT_ERR_DTYPE, func, what, ct__scalar_type_name(t->dtype));
}

/* PyTorch's zero_numel_check_dims: an op without an identity cannot reduce a size-0 dim. */
static ct_status check_nonempty(const ct_tensor *t, int ndims, const int *dims, const char *name, const char *func) {
    if (ct_numel(t) != 0) return CT_OK;
    if (ndims == 0)
        return ct__error(CT_ERR_SHAPE, func,
                         "%s: Expected reduction dim to be specified for input.numel() == 0. Specify the reduction "
                         "dim with the 'dim' argument.",
                         name);
    for (int i = 0; i < ndims; i++) {
        int d = dims[i] < 0 ? dims[i] + t->ndim : dims[i]; /* already checked by parse_dims */
        if (t->shape[d] == 0)
            return ct__error(CT_ERR_INDEX, func, "%s: Expected reduction dim %d to have non-zero size.", name, d);
    }
    return CT_OK;
}

/* ---- geometry ----------------------------------------------------------------------------------------------------- */

/* The output shape: reduced dims removed, or kept with size 1. Returns the number of dims. */
static int reduced_shape(const ct_tensor *t, const bool *mask, bool keepdim, int64_t *shape) {
    int n = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (!mask[d]) shape[n++] = t->shape[d];
        else if (keepdim) shape[n++] = 1;
    }
    return n;
}

/* Appends a dim to a list, merging it into the previous one when the strides make them one. */
static void push_dim(int *n, int64_t *shape, int64_t *stride, int64_t size, int64_t step) {
    if (*n > 0 && stride[*n - 1] == step * size) {
        shape[*n - 1] *= size;
        stride[*n - 1] = step;
        return;
    }
    shape[*n] = size;
    stride[*n] = step;
    (*n)++;
}

static void build_geom(const ct_tensor *t, const bool *mask, bool ordered, ct__reduce_geom *g) {
    int64_t rshape[CT_MAX_DIMS], rstride[CT_MAX_DIMS];
    int nr = 0;
    g->nout = g->nred = 1;
    g->nkept = g->nreduced = 0;
    g->ordered = ordered;
    for (int d = 0; d < t->ndim; d++) {
        int64_t size = t->shape[d];
        if (mask[d]) g->nred *= size;
        else g->nout *= size;
        if (size == 1) continue;
        if (mask[d]) rshape[nr] = size, rstride[nr] = t->stride[d], nr++;
        else push_dim(&g->nkept, g->kept_shape, g->kept_stride, size, t->stride[d]);
    }
    if (!ordered) /* innermost = smallest stride: a transposed input is still walked through memory in order */
        for (int i = 1; i < nr; i++)
            for (int j = i; j > 0 && rstride[j - 1] < rstride[j]; j--) {
                int64_t s = rshape[j], st = rstride[j];
                rshape[j] = rshape[j - 1], rstride[j] = rstride[j - 1];
                rshape[j - 1] = s, rstride[j - 1] = st;
            }
    for (int i = 0; i < nr; i++) push_dim(&g->nreduced, g->red_shape, g->red_stride, rshape[i], rstride[i]);
}

/* ---- running a reduction ----------------------------------------------------------------------------------------- */

typedef struct reduce_spec {
    const char *func;
    ct__reduce_op op;
    ct_dtype out_dtype;  /* CT_NUM_DTYPES: the op writes no first output */
    ct_dtype out2_dtype; /* CT_NUM_DTYPES: no second output */
    double param;
    bool ordered;
} reduce_spec;

static ct__view no_view(void) {
    ct__view v = {0};
    v.dtype = CT_NUM_DTYPES;
    return v;
}

/* Allocates the requested outputs, runs the backend; *out / *out2 get the results (NULL when not requested). */
static ct_status run_reduce(const reduce_spec *s, const ct_tensor *t, const bool *mask, bool keepdim, ct_tensor **out,
                            ct_tensor **out2) {
    int64_t shape[CT_MAX_DIMS];
    int nd = reduced_shape(t, mask, keepdim, shape);
    ct_device dev = t->storage->device;
    *out = *out2 = NULL;
    if (s->out_dtype != CT_NUM_DTYPES && !(*out = ct__tensor_new(nd, shape, s->out_dtype, dev, false)))
        return ct_last_status();
    if (s->out2_dtype != CT_NUM_DTYPES && !(*out2 = ct__tensor_new(nd, shape, s->out2_dtype, dev, false))) {
        ct_release(*out);
        *out = NULL;
        return ct_last_status();
    }
    ct__reduce_geom g;
    build_geom(t, mask, s->ordered, &g);
    ct__view vo = *out ? ct__view_of(*out) : no_view(), vo2 = *out2 ? ct__view_of(*out2) : no_view();
    ct_status st = CT_DISPATCH(dev, reduce, s->op, &g, ct__view_of(t), vo, vo2, s->param);
    if (st != CT_OK) {
        ct_release(*out), ct_release(*out2);
        *out = *out2 = NULL;
    }
    return st;
}

static ct_tensor *reduce_one(const reduce_spec *s, const ct_tensor *t, const bool *mask, bool keepdim) {
    ct_tensor *out, *out2;
    run_reduce(s, t, mask, keepdim, &out, &out2);
    return out ? out : out2;
}

/* sum and prod of integers and bool accumulate in int64, as PyTorch. */
static ct_dtype widened(ct_dtype d) { return ct_dtype_is_floating(d) ? d : CT_INT64; }

/* ---- sum, mean, prod, amax, amin, logsumexp, norms, all/any ------------------------------------------------------ */

ct_tensor *ct_sum(const ct_tensor *t, int ndims, const int *dims, bool keepdim) {
    bool mask[CT_MAX_DIMS];
    if (parse_dims(t, ndims, dims, __func__, mask) != CT_OK) return NULL;
    reduce_spec s = {__func__, CT__RED_SUM, widened(t->dtype), CT_NUM_DTYPES, 0, false};
    return ct__record_reduction(CT__GRAD_SUM, t, reduce_one(&s, t, mask, keepdim), ndims, mask, keepdim, 0);
}

ct_tensor *ct_prod(const ct_tensor *t, int ndims, const int *dims, bool keepdim) {
    bool mask[CT_MAX_DIMS];
    if (parse_dims(t, ndims, dims, __func__, mask) != CT_OK) return NULL;
    reduce_spec s = {__func__, CT__RED_PROD, widened(t->dtype), CT_NUM_DTYPES, 0, false};
    return ct__record_reduction(CT__GRAD_PROD, t, reduce_one(&s, t, mask, keepdim), ndims, mask, keepdim, 0);
}

ct_tensor *ct_mean(const ct_tensor *t, int ndims, const int *dims, bool keepdim) {
    bool mask[CT_MAX_DIMS];
    if (parse_dims(t, ndims, dims, __func__, mask) != CT_OK ||
        require_floating(t, __func__,
                         "mean(): could not infer output dtype. Input dtype must be either a floating point or "
                         "complex dtype. Got: %s") != CT_OK)
        return NULL;
    reduce_spec s = {__func__, CT__RED_MEAN, t->dtype, CT_NUM_DTYPES, 0, false};
    return ct__record_reduction(CT__GRAD_MEAN, t, reduce_one(&s, t, mask, keepdim), ndims, mask, keepdim, 0);
}

static ct_tensor *extreme(const ct_tensor *t, int ndims, const int *dims, bool keepdim, bool largest,
                          const char *func) {
    bool mask[CT_MAX_DIMS];
    if (parse_dims(t, ndims, dims, func, mask) != CT_OK ||
        check_nonempty(t, ndims, dims, largest ? "amax()" : "amin()", func) != CT_OK)
        return NULL;
    reduce_spec s = {func, largest ? CT__RED_AMAX : CT__RED_AMIN, t->dtype, CT_NUM_DTYPES, 0, false};
    return ct__record_reduction(largest ? CT__GRAD_AMAX : CT__GRAD_AMIN, t, reduce_one(&s, t, mask, keepdim), ndims,
                                mask, keepdim, 0);
}

ct_tensor *ct_amax(const ct_tensor *t, int ndims, const int *dims, bool keepdim) {
    return extreme(t, ndims, dims, keepdim, true, __func__);
}

ct_tensor *ct_amin(const ct_tensor *t, int ndims, const int *dims, bool keepdim) {
    return extreme(t, ndims, dims, keepdim, false, __func__);
}

ct_tensor *ct_logsumexp(const ct_tensor *t, int ndims, const int *dims, bool keepdim) {
    bool mask[CT_MAX_DIMS];
    if (parse_dims(t, ndims, dims, __func__, mask) != CT_OK) return NULL;
    if (!ct_dtype_is_floating(t->dtype)) { /* integers are promoted to the default float dtype, as PyTorch */
        ct_tensor *f = ct_to_dtype(t, CT_FLOAT32);
        ct_tensor *r = f ? ct_logsumexp(f, ndims, dims, keepdim) : NULL;
        ct_release(f);
        return r;
    }
    reduce_spec s = {__func__, CT__RED_LOGSUMEXP, t->dtype, CT_NUM_DTYPES, 0, false};
    return ct__record_reduction(CT__GRAD_LOGSUMEXP, t, reduce_one(&s, t, mask, keepdim), ndims, mask, keepdim, 0);
}

/* The infinity and negative-order norms have no identity: PyTorch refuses them over empty dims. */
static ct_status check_norm_nonempty(const ct_tensor *t, double ord, int ndims, const int *dims, const char *func) {
    if (!(ord < 0 || isinf(ord)) || ct_numel(t) != 0) return CT_OK;
    if (ndims == 0)
        return ct__error(CT_ERR_SHAPE, func,
                         "linalg.vector_norm cannot compute the %g norm on an empty tensor because the operation "
                         "does not have an identity",
                         ord);
    for (int i = 0; i < ndims; i++) {
        int d = dims[i] < 0 ? dims[i] + t->ndim : dims[i];
        if (t->ndim > 0 && t->shape[d] == 0)
            return ct__error(CT_ERR_SHAPE, func,
                             "linalg.vector_norm cannot compute the %g norm on the dimension %d because this "
                             "dimension is empty and the operation does not have an identity",
                             ord, d);
    }
    return CT_OK;
}

ct_tensor *ct_vector_norm(const ct_tensor *t, double ord, int ndims, const int *dims, bool keepdim) {
    bool mask[CT_MAX_DIMS];
    if (parse_dims(t, ndims, dims, __func__, mask) != CT_OK ||
        require_floating(t, __func__,
                         "linalg.vector_norm: Expected a floating point or complex tensor as input. Got %s") != CT_OK)
        return NULL;
    if (isnan(ord)) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "linalg.vector_norm: ord must be a number, got nan");
        return NULL;
    }
    if (check_norm_nonempty(t, ord, ndims, dims, __func__) != CT_OK) return NULL;
    reduce_spec s = {__func__, CT__RED_NORM, t->dtype, CT_NUM_DTYPES, ord, false};
    return ct__record_reduction(CT__GRAD_NORM, t, reduce_one(&s, t, mask, keepdim), ndims, mask, keepdim, ord);
}

static ct_tensor *count_based(const ct_tensor *t, int ndims, const int *dims, bool keepdim, ct__reduce_op op,
                              const char *func) {
    bool mask[CT_MAX_DIMS];
    if (parse_dims(t, ndims, dims, func, mask) != CT_OK) return NULL;
    ct_dtype out = op == CT__RED_COUNT_NONZERO ? CT_INT64 : t->dtype == CT_UINT8 ? CT_UINT8 : CT_BOOL;
    reduce_spec s = {func, op, out, CT_NUM_DTYPES, 0, false};
    return reduce_one(&s, t, mask, keepdim);
}

ct_tensor *ct_all(const ct_tensor *t, int ndims, const int *dims, bool keepdim) {
    return count_based(t, ndims, dims, keepdim, CT__RED_ALL, __func__);
}

ct_tensor *ct_any(const ct_tensor *t, int ndims, const int *dims, bool keepdim) {
    return count_based(t, ndims, dims, keepdim, CT__RED_ANY, __func__);
}

ct_tensor *ct_count_nonzero(const ct_tensor *t, int ndims, const int *dims) {
    return count_based(t, ndims, dims, false, CT__RED_COUNT_NONZERO, __func__);
}

/* ---- var, std and their means ----------------------------------------------------------------------------------- */

static ct_status moments(const ct_tensor *t, int ndims, const int *dims, double correction, bool keepdim, bool take_sqrt,
                         ct_tensor **spread, ct_tensor **mean, const char *func) {
    bool mask[CT_MAX_DIMS];
    ct_status st;
    if (mean) *mean = NULL;
    *spread = NULL;
    if ((st = parse_dims(t, ndims, dims, func, mask)) != CT_OK ||
        (st = require_floating(t, func, "std and var only support floating point and complex dtypes (got %s)")) != CT_OK)
        return st;
    reduce_spec s = {func, take_sqrt ? CT__RED_STD : CT__RED_VAR, t->dtype, mean ? t->dtype : CT_NUM_DTYPES,
                     correction, false};
    ct_tensor *m;
    st = run_reduce(&s, t, mask, keepdim, spread, &m);
    if (mean) *mean = m;
    if (st == CT_OK) { /* var_mean / std_mean: each result gets a node of its own */
        ct__record_reduction(take_sqrt ? (mean ? CT__GRAD_STD_MEAN_STD : CT__GRAD_STD)
                                       : (mean ? CT__GRAD_VAR_MEAN_VAR : CT__GRAD_VAR),
                             t, *spread, ndims, mask, keepdim, correction);
        if (mean)
            ct__record_reduction(take_sqrt ? CT__GRAD_STD_MEAN_MEAN : CT__GRAD_VAR_MEAN_MEAN, t, m, ndims, mask,
                                 keepdim, correction);
    }
    return st;
}

ct_tensor *ct_var(const ct_tensor *t, int ndims, const int *dims, double correction, bool keepdim) {
    ct_tensor *v;
    moments(t, ndims, dims, correction, keepdim, false, &v, NULL, __func__);
    return v;
}

ct_tensor *ct_std(const ct_tensor *t, int ndims, const int *dims, double correction, bool keepdim) {
    ct_tensor *v;
    moments(t, ndims, dims, correction, keepdim, true, &v, NULL, __func__);
    return v;
}

ct_status ct_var_mean(const ct_tensor *t, int ndims, const int *dims, double correction, bool keepdim,
                      ct_tensor **var, ct_tensor **mean) {
    if (!var || !mean) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument '%s' is NULL", var ? "mean" : "var");
    return moments(t, ndims, dims, correction, keepdim, false, var, mean, __func__);
}

ct_status ct_std_mean(const ct_tensor *t, int ndims, const int *dims, double correction, bool keepdim,
                      ct_tensor **std, ct_tensor **mean) {
    if (!std || !mean) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument '%s' is NULL", std ? "mean" : "std");
    return moments(t, ndims, dims, correction, keepdim, true, std, mean, __func__);
}

/* ---- max / min, with and without indices ------------------------------------------------------------------------ */

static ct_tensor *extreme_all(const ct_tensor *t, bool largest, const char *func) {
    bool mask[CT_MAX_DIMS];
    if (parse_dims(t, 0, NULL, func, mask) != CT_OK ||
        check_nonempty(t, 0, NULL, largest ? "max()" : "min()", func) != CT_OK)
        return NULL;
    reduce_spec s = {func, largest ? CT__RED_AMAX : CT__RED_AMIN, t->dtype, CT_NUM_DTYPES, 0, false};
    return ct__record_reduction(largest ? CT__GRAD_MAX_ALL : CT__GRAD_MIN_ALL, t, reduce_one(&s, t, mask, false), 0,
                                mask, false, 0);
}

ct_tensor *ct_max(const ct_tensor *t) { return extreme_all(t, true, __func__); }
ct_tensor *ct_min(const ct_tensor *t) { return extreme_all(t, false, __func__); }

static ct_status extreme_dim(const ct_tensor *t, int dim, bool keepdim, ct_tensor **values, ct_tensor **indices,
                             bool largest, const char *func) {
    if (!values || !indices)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "argument '%s' is NULL", values ? "indices" : "values");
    *values = *indices = NULL;
    bool mask[CT_MAX_DIMS];
    ct_status st;
    if ((st = parse_dims(t, 1, &dim, func, mask)) != CT_OK ||
        (st = check_nonempty(t, 1, &dim, largest ? "max()" : "min()", func)) != CT_OK)
        return st;
    reduce_spec s = {func, largest ? CT__RED_MAX : CT__RED_MIN, t->dtype, CT_INT64, 0, true};
    if ((st = run_reduce(&s, t, mask, keepdim, values, indices)) == CT_OK)
        ct__record_extreme_dim(largest, t, *values, *indices, dim, keepdim);
    return st;
}

ct_status ct_max_dim(const ct_tensor *t, int dim, bool keepdim, ct_tensor **values, ct_tensor **indices) {
    return extreme_dim(t, dim, keepdim, values, indices, true, __func__);
}

ct_status ct_min_dim(const ct_tensor *t, int dim, bool keepdim, ct_tensor **values, ct_tensor **indices) {
    return extreme_dim(t, dim, keepdim, values, indices, false, __func__);
}

static ct_tensor *arg_extreme(const ct_tensor *t, const int *dim, bool keepdim, bool largest, const char *func) {
    bool mask[CT_MAX_DIMS];
    const char *name = largest ? "argmax()" : "argmin()";
    if (parse_dims(t, dim ? 1 : 0, dim, func, mask) != CT_OK) return NULL;
    if (!dim && ct_numel(t) == 0) {
        CT_FAIL(CT_ERR_SHAPE, "%s: Expected reduction dim to be specified for input.numel() == 0.", name);
        return NULL;
    }
    if (dim && check_nonempty(t, 1, dim, name, func) != CT_OK) return NULL;
    reduce_spec s = {func, largest ? CT__RED_MAX : CT__RED_MIN, CT_NUM_DTYPES, CT_INT64, 0, true};
    return reduce_one(&s, t, mask, keepdim);
}

ct_tensor *ct_argmax(const ct_tensor *t, const int *dim, bool keepdim) {
    return arg_extreme(t, dim, keepdim, true, __func__);
}

ct_tensor *ct_argmin(const ct_tensor *t, const int *dim, bool keepdim) {
    return arg_extreme(t, dim, keepdim, false, __func__);
}

/* ---- scans and softmax ----------------------------------------------------------------------------------------- */

/* Checks t and dim, and describes t (made contiguous into *c) as lines along dim. */
static ct_status lines_along(const ct_tensor *t, int dim, const char *func, ct_tensor **c, ct__lines *l) {
    ct_status st = ct__check_tensor(t, func, "t");
    int d;
    *c = NULL;
    if (st != CT_OK || (st = ct__check_supported_dtype(t, func)) != CT_OK ||
        (st = ct__wrap_dim(dim, t->ndim, func, &d)) != CT_OK)
        return st;
    l->outer = l->n = l->inner = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (i < d) l->outer *= t->shape[i];
        else if (i == d) l->n = t->shape[i];
        else l->inner *= t->shape[i];
    }
    *c = ct_contiguous(t);
    return *c ? CT_OK : ct_last_status();
}

static ct_tensor *scan(const ct_tensor *t, int dim, ct__scan_op op, const char *func) {
    ct_tensor *c, *out = NULL;
    ct__lines l;
    if (lines_along(t, dim, func, &c, &l) != CT_OK) return NULL;
    out = ct__tensor_new(c->ndim, c->shape, widened(c->dtype), c->storage->device, false);
    if (out && CT_DISPATCH(c->storage->device, scan, op, l, ct__view_of(c), ct__view_of(out)) != CT_OK) {
        ct_release(out);
        out = NULL;
    }
    ct_release(c);
    return ct__record_along_dim(op == CT__SCAN_SUM ? CT__GRAD_CUMSUM : CT__GRAD_CUMPROD, t, out, dim);
}

ct_tensor *ct_cumsum(const ct_tensor *t, int dim) { return scan(t, dim, CT__SCAN_SUM, __func__); }
ct_tensor *ct_cumprod(const ct_tensor *t, int dim) { return scan(t, dim, CT__SCAN_PROD, __func__); }

static ct_tensor *softmax(const ct_tensor *t, int dim, bool log, const char *func) {
    ct_tensor *c, *out = NULL;
    ct__lines l;
    if (t && !ct_dtype_is_floating(t->dtype)) {
        ct__error(CT_ERR_DTYPE, func, "\"%s\" not implemented for '%s'", log ? "log_softmax" : "softmax",
                  ct__scalar_type_name(t->dtype));
        return NULL;
    }
    if (lines_along(t, dim, func, &c, &l) != CT_OK) return NULL;
    out = ct__tensor_new(c->ndim, c->shape, c->dtype, c->storage->device, false);
    if (out && CT_DISPATCH(c->storage->device, softmax, log, l, ct__view_of(c), ct__view_of(out)) != CT_OK) {
        ct_release(out);
        out = NULL;
    }
    ct_release(c);
    return ct__record_along_dim(log ? CT__GRAD_LOG_SOFTMAX : CT__GRAD_SOFTMAX, t, out, dim);
}

ct_tensor *ct_softmax(const ct_tensor *t, int dim) { return softmax(t, dim, false, __func__); }
ct_tensor *ct_log_softmax(const ct_tensor *t, int dim) { return softmax(t, dim, true, __func__); }
