/* Gradient clipping (torch.nn.utils.clip_grad_norm_ and clip_grad_value_): the parameters' gradients, grouped by
 * device and dtype, go to one backend launch per group (a multi-tensor pass, as PyTorch's foreach path); a
 * non-contiguous gradient goes through a contiguous copy. */
#include <math.h>
#include <stdlib.h>

#include "kernels/optim.h"
#include "optim_internal.h"

/* One pass over a bucket of gradients of one device and dtype. */
typedef ct_status (*bucket_pass)(ct_device device, ct_dtype dtype, const ct__optim_tensor *rows, int n, void *ctx);

static ct_status check_params(ct_tensor *const *params, int n, const char *func) {
    if (n < 0 || (n > 0 && !params))
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "%d parameters at %p", n, (const void *)params);
    for (int i = 0; i < n; i++) {
        if (!params[i]) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "parameter %d is NULL", i);
        const ct_tensor *g = params[i]->grad;
        if (g && g->dtype != CT_FLOAT32 && g->dtype != CT_FLOAT64)
            return ct__error(g->dtype >= CT_FLOAT16 ? CT_ERR_NOT_IMPLEMENTED : CT_ERR_DTYPE, func,
                             "the gradient of parameter %d is %s; clipping supports float32 and float64", i,
                             ct_dtype_name(g->dtype));
    }
    return CT_OK;
}

/* Runs pass over the gradients of params[idx[0..n-1]] (one device and dtype); writes: copy back and bump. */
static ct_status run_bucket(ct_tensor *const *params, const int *idx, int n, bool writes, bucket_pass pass, void *ctx) {
    ct__optim_tensor *rows = calloc((size_t)n, sizeof *rows);
    ct_tensor **work = calloc((size_t)n, sizeof *work);
    ct_status st = rows && work ? CT_OK : CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
    for (int k = 0; st == CT_OK && k < n; k++) {
        ct_tensor *g = params[idx[k]]->grad;
        if (!(work[k] = ct__optim_contiguous(g))) st = ct_last_status();
        else rows[k] = (ct__optim_tensor){.param = ct_data_ptr(work[k]), .numel = ct_numel(g)};
    }
    if (st == CT_OK) {
        const ct_tensor *g0 = params[idx[0]]->grad;
        st = pass(g0->storage->device, g0->dtype, rows, n, ctx);
    }
    for (int k = 0; writes && st == CT_OK && k < n; k++) {
        ct_tensor *g = params[idx[k]]->grad;
        if (work[k] != g) st = ct__optim_copy(g, work[k]);
        ct__bump_version(g);
    }
    for (int k = 0; work && k < n; k++) ct__tensor_decref(work[k]);
    free(rows), free(work);
    return st;
}

/* Calls pass once per (device, dtype) among the gradients that exist. */
static ct_status for_each_bucket(ct_tensor *const *params, int n, bool writes, bucket_pass pass, void *ctx) {
    int *todo = malloc(sizeof(int) * (size_t)(n + 1)), *idx = malloc(sizeof(int) * (size_t)(n + 1));
    ct_status st = todo && idx ? CT_OK : CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
    int ntodo = 0;
    for (int i = 0; st == CT_OK && i < n; i++)
        if (params[i]->grad) todo[ntodo++] = i;
    while (st == CT_OK && ntodo > 0) {
        const ct_tensor *lead = params[todo[0]]->grad;
        int m = 0, rest = 0;
        for (int k = 0; k < ntodo; k++) {
            const ct_tensor *g = params[todo[k]]->grad;
            if (g->dtype == lead->dtype && ct_device_equal(g->storage->device, lead->storage->device)) idx[m++] = todo[k];
            else todo[rest++] = todo[k];
        }
        ntodo = rest;
        st = run_bucket(params, idx, m, writes, pass, ctx);
    }
    free(todo), free(idx);
    return st;
}

/* ---- the passes ------------------------------------------------------------------------------------------------- */

typedef struct norm_ctx {
    double p, acc;
} norm_ctx;

typedef struct scale_ctx {
    double scale, lo, hi;
    bool clamp;
} scale_ctx;

#ifdef CTORCH_HAVE_CUDA
static void *cuda_scratch(ct_device device, int n, ct_tensor **holder) {
    int64_t bytes = (int64_t)ct__cuda_optim_table_bytes(n);
    *holder = ct__tensor_new(1, &bytes, CT_UINT8, device, false);
    return *holder ? ct_data_ptr(*holder) : NULL;
}
#endif

static ct_status norm_pass(ct_device device, ct_dtype dtype, const ct__optim_tensor *rows, int n, void *ctx) {
    norm_ctx *c = ctx;
    double part = 0;
    ct_status st;
    if (device.type == CT_CPU) {
        st = ct__cpu_foreach_norm(dtype, rows, n, c->p, &part);
    } else {
#ifdef CTORCH_HAVE_CUDA
        ct_tensor *holder;
        void *scratch = cuda_scratch(device, n, &holder);
        st = scratch ? ct__cuda_foreach_norm(device.index, dtype, rows, n, c->p, &part, scratch) : ct_last_status();
        ct_release(holder);
#else
        st = CT_FAIL(CT_ERR_NO_CUDA, "ctorch was built without CUDA");
#endif
    }
    if (st == CT_OK) {
        if (isinf(c->p)) c->acc = (part != part || part > c->acc) ? part : c->acc;
        else c->acc += part;
    }
    return st;
}

static ct_status scale_pass(ct_device device, ct_dtype dtype, const ct__optim_tensor *rows, int n, void *ctx) {
    const scale_ctx *c = ctx;
    if (device.type == CT_CPU)
        return c->clamp ? ct__cpu_foreach_clamp(dtype, rows, n, c->lo, c->hi)
                        : ct__cpu_foreach_scale(dtype, rows, n, c->scale);
#ifdef CTORCH_HAVE_CUDA
    ct_tensor *holder;
    void *scratch = cuda_scratch(device, n, &holder);
    ct_status st = !scratch ? ct_last_status()
                   : c->clamp ? ct__cuda_foreach_clamp(device.index, dtype, rows, n, c->lo, c->hi, scratch)
                              : ct__cuda_foreach_scale(device.index, dtype, rows, n, c->scale, scratch);
    ct_release(holder);
    return st;
#else
    return CT_FAIL(CT_ERR_NO_CUDA, "ctorch was built without CUDA");
#endif
}

/* ---- public ------------------------------------------------------------------------------------------------------ */

ct_status ct_clip_grad_norm_(ct_tensor *const *params, int n, double max_norm, double norm_type,
                             bool error_if_nonfinite, double *total_norm) {
    ct_status st = check_params(params, n, __func__);
    if (st != CT_OK) return st;
    if (!(norm_type > 0)) {
        char num[CT__PY_FLOAT_BUF];
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "norm_type must be positive or inf, got %s",
                       ct__py_float(norm_type, num, sizeof num));
    }
    norm_ctx nc = {norm_type, 0};
    if ((st = for_each_bucket(params, n, false, norm_pass, &nc)) != CT_OK) return st;
    double total = isinf(norm_type) ? nc.acc : norm_type == 1 ? nc.acc : norm_type == 2 ? sqrt(nc.acc)
                                                                       : pow(nc.acc, 1 / norm_type);
    if (total_norm) *total_norm = total;
    if (error_if_nonfinite && !isfinite(total)) {
        char num[CT__PY_FLOAT_BUF];
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                       "The total norm of order %s for gradients from `parameters` is non-finite, so it cannot be "
                       "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
                       "`error_if_nonfinite=False`", ct__py_float(norm_type, num, sizeof num));
    }
    double coef = max_norm / (total + 1e-6);
    if (coef >= 1.0) return CT_OK; /* PyTorch multiplies by the coefficient clamped to 1: no change */
    scale_ctx sc = {.scale = coef};
    return for_each_bucket(params, n, true, scale_pass, &sc);
}

ct_status ct_clip_grad_value_(ct_tensor *const *params, int n, double clip_value) {
    ct_status st = check_params(params, n, __func__);
    if (st != CT_OK) return st;
    scale_ctx sc = {.lo = -clip_value, .hi = clip_value, .clamp = true};
    return for_each_bucket(params, n, true, scale_pass, &sc);
}
