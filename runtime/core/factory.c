/* Factories: empty, zeros, ones, full, *_like, arange, linspace, eye, tensors from C arrays and user memory. Values
 * that need computing (arange, linspace, eye) are made on the CPU and moved once to the device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_iter.h"
#include "internal.h"

/* Moves a freshly made CPU tensor to device, handing back ownership of the result. */
static ct_tensor *moved(ct_tensor *host, ct_device device) {
    if (!host || device.type == CT_CPU) return host;
    ct_tensor *t = ct_to_device(host, device);
    ct_release(host);
    return t;
}

static bool check_value_dtype(ct_dtype dtype, const char *func) {
    if (ct_dtype_size(dtype) == 0) {
        ct__error(CT_ERR_DTYPE, func, "invalid dtype %d", (int)dtype);
        return false;
    }
    if (dtype >= CT_FLOAT16) {
        ct__error(CT_ERR_NOT_IMPLEMENTED, func, "%s tensors cannot be filled yet", ct_dtype_name(dtype));
        return false;
    }
    return true;
}

ct_tensor *ct_empty(int ndim, const int64_t *shape, ct_dtype dtype, ct_device device) {
    return ct__tensor_new(ndim, shape, dtype, device, false);
}

ct_tensor *ct_full(int ndim, const int64_t *shape, double value, ct_dtype dtype, ct_device device) {
    if (!check_value_dtype(dtype, __func__)) return NULL;
    ct_tensor *t = ct__tensor_new(ndim, shape, dtype, device, false);
    if (t && ct_fill_(t, value) != CT_OK) {
        ct_release(t);
        return NULL;
    }
    return t;
}

ct_tensor *ct_zeros(int ndim, const int64_t *shape, ct_dtype dtype, ct_device device) {
    return ct_full(ndim, shape, 0.0, dtype, device);
}

ct_tensor *ct_ones(int ndim, const int64_t *shape, ct_dtype dtype, ct_device device) {
    return ct_full(ndim, shape, 1.0, dtype, device);
}

ct_tensor *ct_empty_like(const ct_tensor *t) {
    if (CT_CHECK_TENSOR(t) != CT_OK) return NULL;
    return ct__tensor_new(t->ndim, t->shape, t->dtype, t->storage->device, false);
}

ct_tensor *ct_full_like(const ct_tensor *t, double value) {
    if (CT_CHECK_TENSOR(t) != CT_OK) return NULL;
    return ct_full(t->ndim, t->shape, value, t->dtype, t->storage->device);
}

ct_tensor *ct_zeros_like(const ct_tensor *t) { return ct_full_like(t, 0.0); }
ct_tensor *ct_ones_like(const ct_tensor *t) { return ct_full_like(t, 1.0); }

/* A CPU float64 tensor of n values f(i) converted to dtype. */
static ct_tensor *computed(const char *func, int64_t n, double (*f)(int64_t i, const double *args),
                           const double *args, ct_dtype dtype, ct_device device) {
    if (!check_value_dtype(dtype, func)) return NULL;
    if (ct_device_check(device) != CT_OK) return NULL;
    ct_tensor *host = ct__tensor_new(1, &n, dtype, CT_DEVICE_CPU, false);
    if (!host) return NULL;
    char *p = ct_data_ptr(host);
    size_t size = ct_dtype_size(dtype);
    for (int64_t i = 0; i < n; i++)
        ct__store_scalar(p + (size_t)i * size, dtype, (ct__scalar){true, f(i, args), 0});
    return moved(host, device);
}

static double arange_at(int64_t i, const double *a) { return a[0] + (double)i * a[1]; }

ct_tensor *ct_arange(double start, double end, double step, ct_dtype dtype, ct_device device) {
    if (step == 0 || !isfinite(start) || !isfinite(end) || !isfinite(step)) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, step == 0 ? "step must be nonzero"
                                                   : "unsupported range: %g -> %g (step %g)", start, end, step);
        return NULL;
    }
    if ((step > 0 && end < start) || (step < 0 && end > start)) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "upper bound and larger bound inconsistent with step sign (start %g, end %g, "
                "step %g)", start, end, step);
        return NULL;
    }
    double n = ceil((end - start) / step);
    if (n > (double)(INT64_MAX >> 8)) {
        CT_FAIL(CT_ERR_SHAPE, "arange would have %g elements", n);
        return NULL;
    }
    double args[2] = {start, step};
    return computed(__func__, (int64_t)n, arange_at, args, dtype, device);
}

static double linspace_at(int64_t i, const double *a) {
    /* symmetric from both ends, so the last value is exactly `end` (as PyTorch computes it) */
    int64_t steps = (int64_t)a[2];
    double step = steps > 1 ? (a[1] - a[0]) / (double)(steps - 1) : 0;
    if (steps == 1) return a[0];
    return i < steps / 2 ? a[0] + step * (double)i : a[1] - step * (double)(steps - 1 - i);
}

ct_tensor *ct_linspace(double start, double end, int64_t steps, ct_dtype dtype, ct_device device) {
    if (steps < 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "number of steps must be non-negative (got %lld)", (long long)steps);
        return NULL;
    }
    double args[3] = {start, end, (double)steps};
    return computed(__func__, steps, linspace_at, args, dtype, device);
}

ct_tensor *ct_eye(int64_t n, int64_t m, ct_dtype dtype, ct_device device) {
    if (m < 0) m = n;
    if (n < 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "n must be greater or equal to 0, got %lld", (long long)n);
        return NULL;
    }
    int64_t shape[2] = {n, m};
    if (ct_device_check(device) != CT_OK) return NULL;
    ct_tensor *host = ct_zeros(2, shape, dtype, CT_DEVICE_CPU);
    if (!host) return NULL;
    /* the diagonal, written as a strided view: stride m + 1 over the flat storage */
    int64_t k = n < m ? n : m, stride = m + 1;
    ct_tensor *d = ct__tensor_view_of(host, 0, 1, &k, &stride);
    ct_status st = d ? ct_fill_(d, 1.0) : ct_last_status();
    ct_release(d);
    if (st != CT_OK) {
        ct_release(host);
        return NULL;
    }
    return moved(host, device);
}

ct_tensor *ct_tensor_from_data(const void *data, int ndim, const int64_t *shape, ct_dtype dtype, ct_device device) {
    if (ct__check_shape(ndim, shape, __func__) != CT_OK || !check_value_dtype(dtype, __func__)) return NULL;
    int64_t numel = ct__shape_numel(ndim, shape);
    if (!data && numel > 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'data' is NULL");
        return NULL;
    }
    if (ct_device_check(device) != CT_OK) return NULL;
    ct_tensor *host = ct__tensor_new(ndim, shape, dtype, CT_DEVICE_CPU, false);
    if (!host) return NULL;
    if (numel) memcpy(ct_data_ptr(host), data, (size_t)numel * ct_dtype_size(dtype));
    if (dtype == CT_BOOL) {
        uint8_t *b = ct_data_ptr(host);
        for (int64_t i = 0; i < numel; i++) b[i] = b[i] != 0;
    }
    return moved(host, device);
}

ct_tensor *ct_from_blob(void *data, int ndim, const int64_t *shape, const int64_t *strides, ct_dtype dtype,
                        ct_device device, void (*release)(void *data, void *ctx), void *ctx) {
    if (ct__check_shape(ndim, shape, __func__) != CT_OK) return NULL;
    if (ct_dtype_size(dtype) == 0) {
        CT_FAIL(CT_ERR_DTYPE, "invalid dtype %d", (int)dtype);
        return NULL;
    }
    int64_t numel = ct__shape_numel(ndim, shape);
    if (!data && numel > 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'data' is NULL");
        return NULL;
    }
    if (ct_device_check(device) != CT_OK) return NULL;
    int64_t stride[CT_MAX_DIMS], extent = numel ? 1 : 0;
    if (strides) {
        for (int i = 0; i < ndim; i++) {
            if (strides[i] < 0) {
                CT_FAIL(CT_ERR_INVALID_ARGUMENT, "negative stride %lld at dim %d is not supported",
                        (long long)strides[i], i);
                return NULL;
            }
            stride[i] = strides[i];
            if (numel) extent += (shape[i] - 1) * strides[i];
        }
    } else {
        ct__contiguous_strides(ndim, shape, stride);
        extent = numel;
    }
    ct_storage *s = calloc(1, sizeof *s);
    if (!s) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a storage header");
        return NULL;
    }
    atomic_init(&s->refcount, 1);
    s->data = data;
    s->nbytes = (size_t)extent * ct_dtype_size(dtype);
    s->device = device;
    s->borrowed = true;
    s->release = release;
    s->release_ctx = ctx;
    ct_tensor *t = ct__tensor_make(s, 0, ndim, shape, stride, dtype);
    if (!t) s->release = NULL; /* the caller keeps the memory when we fail */
    ct__storage_release(s);
    return t;
}
