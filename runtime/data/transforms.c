/* Transforms applied to samples in the loader's workers (torchvision.transforms in C): to float, normalize, random
 * horizontal flip, random crop with padding, and compose. Each is a vtable over a small context; the random ones
 * draw from the ct_rng the caller seeds, so the loader can make every sample's augmentation depend on the epoch's
 * seed and the sample's position only. The kernels are plain loops over contiguous CPU data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

/* ---- the transform handle ----------------------------------------------------------------------------------------- */

ct_transform *ct_transform_new(const ct_transform_vtable *vt, void *ctx) {
    ct_transform *t = vt && vt->apply ? calloc(1, sizeof *t) : NULL;
    if (!t) {
        if (!vt || !vt->apply)
            CT_FAIL(CT_ERR_INVALID_ARGUMENT, "a transform vtable needs apply");
        else
            CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a transform");
        if (vt && vt->destroy) vt->destroy(ctx);
        return NULL;
    }
    atomic_init(&t->refcount, 1);
    t->vt = vt;
    t->ctx = ctx;
    return t;
}

ct_transform *ct_transform_retain(ct_transform *t) {
    if (t) atomic_fetch_add(&t->refcount, 1);
    return t;
}

void ct_transform_release(ct_transform *t) {
    if (!t || atomic_fetch_sub(&t->refcount, 1) != 1) return;
    if (t->vt->destroy) t->vt->destroy(t->ctx);
    free(t);
}

ct_tensor *ct_transform_apply(ct_transform *t, const ct_tensor *x, uint64_t seed) {
    if (!t) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 't' is NULL");
        return NULL;
    }
    if (CT_CHECK_TENSOR(x) != CT_OK) return NULL;
    ct_rng rng = {seed};
    return t->vt->apply(t->ctx, x, &rng);
}

static void free_ctx(void *ctx) { free(ctx); }

/* Transforms run on the CPU: fails for another device. */
static ct_status check_cpu(const ct_tensor *x, const char *name) {
    if (x->storage->device.type == CT_CPU) return CT_OK;
    char dev[16];
    return ct__error(CT_ERR_DEVICE, name, "transforms run on CPU tensors, got a tensor on %s",
                     ct_device_str(x->storage->device, dev, sizeof dev));
}

/* ---- to float ----------------------------------------------------------------------------------------------------- */

static ct_tensor *to_float_apply(void *ctx, const ct_tensor *x, ct_rng *rng) {
    if (check_cpu(x, "ToFloat") != CT_OK) return NULL;
    if (ct_dtype_is_floating(x->dtype)) return ct_to_dtype(x, CT_FLOAT32);
    if (x->dtype != CT_UINT8) {
        ct__error(CT_ERR_DTYPE, "ToFloat", "expected a uint8 image or a floating tensor, got %s", ct_dtype_name(x->dtype));
        return NULL;
    }
    ct_tensor *src = ct_contiguous(x);
    ct_tensor *out = src ? ct__tensor_new(x->ndim, x->shape, CT_FLOAT32, CT_DEVICE_CPU, false) : NULL;
    if (out) {
        const uint8_t *p = ct_data_ptr(src);
        float *o = ct_data_ptr(out);
        for (int64_t i = 0, n = ct_numel(out); i < n; i++) o[i] = (float)p[i] / 255.0f; /* as x.float() / 255 */
    }
    ct_release(src);
    return out;
}

static const ct_transform_vtable to_float_vt = {.name = "ToFloat", .apply = to_float_apply};

ct_transform *ct_transform_to_float(void) { return ct_transform_new(&to_float_vt, NULL); }

/* ---- normalize ------------------------------------------------------------------------------------------------------ */

typedef struct {
    int n;
    double values[]; /* mean[0..n), then std[0..n) */
} normalize;

static ct_status check_normalize_input(const normalize *nz, const ct_tensor *x) {
    if (check_cpu(x, "Normalize") != CT_OK) return ct_last_status();
    if (x->dtype != CT_FLOAT32 && x->dtype != CT_FLOAT64)
        return ct__error(CT_ERR_DTYPE, "Normalize", "Input tensor should be a float tensor. Got %s.",
                         ct_dtype_name(x->dtype));
    if (x->ndim < 3) {
        char s[CT_SHAPE_BUF];
        return ct__error(CT_ERR_SHAPE, "Normalize",
                         "Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = %s",
                         ct__shape_str(x->ndim, x->shape, s, sizeof s));
    }
    int64_t c = x->shape[x->ndim - 3];
    if (nz->n != 1 && nz->n != c)
        return ct__error(CT_ERR_SHAPE, "Normalize",
                         "The size of tensor a (%lld) must match the size of tensor b (%d) at non-singleton dimension 0",
                         (long long)c, nz->n);
    return CT_OK;
}

static ct_tensor *normalize_apply(void *ctx, const ct_tensor *x, ct_rng *rng) {
    normalize *nz = ctx;
    if (check_normalize_input(nz, x) != CT_OK) return NULL;
    ct_tensor *src = ct_contiguous(x);
    ct_tensor *out = src ? ct__tensor_new(x->ndim, x->shape, x->dtype, CT_DEVICE_CPU, false) : NULL;
    if (!out) {
        ct_release(src);
        return NULL;
    }
    int64_t c = x->shape[x->ndim - 3], plane = x->shape[x->ndim - 2] * x->shape[x->ndim - 1];
    int64_t images = c * plane > 0 ? ct_numel(x) / (c * plane) : 0;
    for (int64_t img = 0; img < images; img++)
        for (int64_t ch = 0; ch < c; ch++) {
            int64_t base = (img * c + ch) * plane;
            double mean = nz->values[nz->n == 1 ? 0 : ch], std = nz->values[nz->n + (nz->n == 1 ? 0 : ch)];
            if (x->dtype == CT_FLOAT32) { /* in float32 throughout, as x.sub_(mean).div_(std) */
                const float *p = (const float *)ct_data_ptr(src) + base;
                float *o = (float *)ct_data_ptr(out) + base, m = (float)mean, s = (float)std;
                for (int64_t i = 0; i < plane; i++) o[i] = (p[i] - m) / s;
            } else {
                const double *p = (const double *)ct_data_ptr(src) + base;
                double *o = (double *)ct_data_ptr(out) + base;
                for (int64_t i = 0; i < plane; i++) o[i] = (p[i] - mean) / std;
            }
        }
    ct_release(src);
    return out;
}

static const ct_transform_vtable normalize_vt = {.name = "Normalize", .apply = normalize_apply, .destroy = free_ctx};

ct_transform *ct_transform_normalize(int n, const double *mean, const double *std) {
    if (n < 1 || !mean || !std) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "expected at least one mean and std (got n=%d)", n);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if ((float)std[i] == 0) {
            CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                    "std evaluated to zero after conversion to float32, leading to division by zero.");
            return NULL;
        }
    normalize *nz = malloc(sizeof *nz + sizeof(double) * 2 * (size_t)n);
    if (!nz) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating Normalize");
        return NULL;
    }
    nz->n = n;
    memcpy(nz->values, mean, sizeof(double) * (size_t)n);
    memcpy(nz->values + n, std, sizeof(double) * (size_t)n);
    return ct_transform_new(&normalize_vt, nz);
}

/* ---- random horizontal flip ----------------------------------------------------------------------------------------- */

typedef struct {
    double p;
} flip;

/* A contiguous copy of x with its last dim reversed. */
static ct_tensor *flipped_last_dim(const ct_tensor *x) {
    ct_tensor *src = ct_contiguous(x);
    ct_tensor *out = src ? ct__tensor_new(x->ndim, x->shape, x->dtype, CT_DEVICE_CPU, false) : NULL;
    if (out) {
        size_t es = ct_dtype_size(x->dtype);
        int64_t w = x->shape[x->ndim - 1], rows = w ? ct_numel(x) / w : 0;
        const char *p = ct_data_ptr(src);
        char *o = ct_data_ptr(out);
        for (int64_t r = 0; r < rows; r++)
            for (int64_t i = 0; i < w; i++)
                memcpy(o + (size_t)(r * w + i) * es, p + (size_t)(r * w + (w - 1 - i)) * es, es);
    }
    ct_release(src);
    return out;
}

static ct_tensor *flip_apply(void *ctx, const ct_tensor *x, ct_rng *rng) {
    if (check_cpu(x, "RandomHorizontalFlip") != CT_OK) return NULL;
    if (x->ndim < 1) {
        ct__error(CT_ERR_SHAPE, "RandomHorizontalFlip", "expected a tensor with at least 1 dim, got a 0-d tensor");
        return NULL;
    }
    if (ct_rng_uniform(rng) < ((flip *)ctx)->p) return flipped_last_dim(x);
    return ct_alias(x);
}

static const ct_transform_vtable flip_vt = {.name = "RandomHorizontalFlip", .apply = flip_apply, .destroy = free_ctx};

ct_transform *ct_transform_random_horizontal_flip(double p) {
    if (!(p >= 0 && p <= 1)) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "probability should be in [0, 1], got %g", p);
        return NULL;
    }
    flip *f = malloc(sizeof *f);
    if (!f) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating RandomHorizontalFlip");
        return NULL;
    }
    f->p = p;
    return ct_transform_new(&flip_vt, f);
}

/* ---- random crop with padding ------------------------------------------------------------------------------------- */

typedef struct {
    int64_t height, width, padding;
} crop;

/* The rows (or columns) of a crop window [start, start+size) of the padded image that come from the image
 * [0, extent): source range [*src, *src + *len) lands at *dst in the window. */
static void overlap(int64_t start, int64_t size, int64_t padding, int64_t extent, int64_t *src, int64_t *dst,
                    int64_t *len) {
    int64_t lo = start - padding, hi = start - padding + size; /* the window in image coordinates */
    int64_t a = lo > 0 ? lo : 0, b = hi < extent ? hi : extent;
    *src = a;
    *dst = a - lo;
    *len = b > a ? b - a : 0;
}

/* out's window [dst rows, dst cols] = x's [src rows, src cols]. */
static ct_status copy_window(ct_tensor *out, const ct_tensor *x, const int64_t src[2], const int64_t dst[2],
                             const int64_t len[2]) {
    int hd = x->ndim - 2, wd = x->ndim - 1;
    ct_tensor *a = ct_narrow(out, hd, dst[0], len[0]), *b = a ? ct_narrow(a, wd, dst[1], len[1]) : NULL;
    ct_tensor *c = b ? ct_narrow(x, hd, src[0], len[0]) : NULL, *d = c ? ct_narrow(c, wd, src[1], len[1]) : NULL;
    ct_status st = d ? ct_copy_(b, d) : ct_last_status();
    ct_release(a), ct_release(b), ct_release(c), ct_release(d);
    return st;
}

static ct_tensor *crop_apply(void *ctx, const ct_tensor *x, ct_rng *rng) {
    crop *cr = ctx;
    if (check_cpu(x, "RandomCrop") != CT_OK) return NULL;
    if (x->ndim < 2) {
        ct__error(CT_ERR_SHAPE, "RandomCrop", "expected an image with at least 2 dims (H, W), got %d", x->ndim);
        return NULL;
    }
    int64_t h = x->shape[x->ndim - 2], w = x->shape[x->ndim - 1], ph = h + 2 * cr->padding, pw = w + 2 * cr->padding;
    if (cr->height > ph || cr->width > pw) {
        ct__error(CT_ERR_SHAPE, "RandomCrop", "Required crop size (%lld, %lld) is larger than input image size (%lld, %lld)",
                  (long long)cr->height, (long long)cr->width, (long long)ph, (long long)pw);
        return NULL;
    }
    int64_t top = ct_rng_below(rng, ph - cr->height + 1), left = ct_rng_below(rng, pw - cr->width + 1);
    int64_t shape[CT_MAX_DIMS];
    memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
    shape[x->ndim - 2] = cr->height;
    shape[x->ndim - 1] = cr->width;
    ct_tensor *out = ct_zeros(x->ndim, shape, x->dtype, CT_DEVICE_CPU);
    int64_t src[2], dst[2], len[2];
    overlap(top, cr->height, cr->padding, h, &src[0], &dst[0], &len[0]);
    overlap(left, cr->width, cr->padding, w, &src[1], &dst[1], &len[1]);
    if (out && len[0] > 0 && len[1] > 0 && copy_window(out, x, src, dst, len) != CT_OK) {
        ct_release(out);
        return NULL;
    }
    return out;
}

static const ct_transform_vtable crop_vt = {.name = "RandomCrop", .apply = crop_apply, .destroy = free_ctx};

ct_transform *ct_transform_random_crop(int64_t height, int64_t width, int64_t padding) {
    if (height <= 0 || width <= 0 || padding < 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "expected a positive crop size and a non-negative padding, got (%lld, %lld) "
                                         "and padding %lld", (long long)height, (long long)width, (long long)padding);
        return NULL;
    }
    crop *c = malloc(sizeof *c);
    if (!c) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating RandomCrop");
        return NULL;
    }
    *c = (crop){height, width, padding};
    return ct_transform_new(&crop_vt, c);
}

/* ---- compose ---------------------------------------------------------------------------------------------------------- */

typedef struct {
    int n;
    ct_transform *ts[];
} compose;

static ct_tensor *compose_apply(void *ctx, const ct_tensor *x, ct_rng *rng) {
    compose *c = ctx;
    ct_tensor *made = NULL; /* the last step's result, which this function owns */
    for (int i = 0; i < c->n; i++) {
        ct_rng step = {ct_rng_next(rng)}; /* each step its own stream */
        ct_tensor *next = c->ts[i]->vt->apply(c->ts[i]->ctx, made ? made : x, &step);
        ct_release(made);
        if (!next) return NULL;
        made = next;
    }
    return made ? made : ct_alias(x);
}

static void compose_destroy(void *ctx) {
    compose *c = ctx;
    for (int i = 0; i < c->n; i++) ct_transform_release(c->ts[i]);
    free(c);
}

static const ct_transform_vtable compose_vt = {.name = "Compose", .apply = compose_apply, .destroy = compose_destroy};

ct_transform *ct_transform_compose(int n, ct_transform *const *ts) {
    if (n < 0 || (n > 0 && !ts)) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "expected a list of transforms");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (!ts[i]) {
            CT_FAIL(CT_ERR_INVALID_ARGUMENT, "transform %d is NULL", i);
            return NULL;
        }
    compose *c = malloc(sizeof *c + sizeof(ct_transform *) * (size_t)n);
    if (!c) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating Compose");
        return NULL;
    }
    c->n = n;
    for (int i = 0; i < n; i++) c->ts[i] = ct_transform_retain(ts[i]);
    return ct_transform_new(&compose_vt, c);
}
