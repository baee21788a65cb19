/* The CPU view walker of cpu_iter.h and the dtype-generic scalar load/store. */
#include <math.h>

#include "cpu_iter.h"
#include "parallel.h"

#define PARALLEL_MIN_ELEMENTS 32768

/* The coalesced geometry one ct__cpu_for_each call walks: dim 0 of (shape, bstride) is the inner loop. */
typedef struct walk {
    int nviews, n;
    ct__inner_loop loop;
    void *ctx;
    int64_t inner, shape[CT_MAX_DIMS + 1], bstride[CT__ITER_MAX][CT_MAX_DIMS + 1], step[CT__ITER_MAX];
    char *data[CT__ITER_MAX];
} walk;

/* Elements [begin, end) of the single inner loop. */
static void walk_inner(int64_t begin, int64_t end, void *arg) {
    const walk *w = arg;
    char *ptr[CT__ITER_MAX];
    for (int k = 0; k < w->nviews; k++) ptr[k] = w->data[k] + begin * w->step[k];
    w->loop(ptr, w->step, end - begin, w->ctx);
}

/* Inner loops [begin, end) of the outer index space. */
static void walk_outer(int64_t begin, int64_t end, void *arg) {
    const walk *w = arg;
    for (int64_t o = begin; o < end; o++) {
        char *ptr[CT__ITER_MAX];
        for (int k = 0; k < w->nviews; k++) ptr[k] = w->data[k];
        int64_t rest = o;
        for (int d = 1; d < w->n; d++) {
            int64_t i = rest % w->shape[d];
            rest /= w->shape[d];
            for (int k = 0; k < w->nviews; k++) ptr[k] += i * w->bstride[k][d];
        }
        w->loop(ptr, w->step, w->inner, w->ctx);
    }
}

void ct__cpu_for_each(int nviews, const ct__view *views, ct__inner_loop loop, void *ctx) {
    int ndim = views[0].ndim;
    walk w = {.nviews = nviews, .loop = loop, .ctx = ctx};
    int64_t *shape = w.shape, (*bstride)[CT_MAX_DIMS + 1] = w.bstride;
    /* coalesce from the innermost dim outwards; size-1 dims vanish */
    int n = 0;
    for (int d = ndim - 1; d >= 0; d--) {
        int64_t size = views[0].shape[d];
        if (size == 1) continue;
        bool merge = n > 0;
        for (int k = 0; k < nviews && merge; k++)
            merge = views[k].stride[d] * (int64_t)ct_dtype_size(views[k].dtype) == bstride[k][n - 1] * shape[n - 1];
        if (merge) {
            shape[n - 1] *= size; /* the inner byte strides stay */
            continue;
        }
        shape[n] = size;
        for (int k = 0; k < nviews; k++) bstride[k][n] = views[k].stride[d] * (int64_t)ct_dtype_size(views[k].dtype);
        n++;
    }
    if (n == 0) { /* one element (or a 0-d tensor) */
        shape[0] = 1;
        for (int k = 0; k < nviews; k++) bstride[k][0] = 0;
        n = 1;
    }
    for (int d = 0; d < ndim; d++)
        if (views[0].shape[d] == 0) return;
    /* now dim 0 of (shape, bstride) is the innermost; the rest are outer dims */
    int64_t inner = shape[0], outer = 1;
    for (int d = 1; d < n; d++) outer *= shape[d];
    w.n = n, w.inner = inner;
    for (int k = 0; k < nviews; k++) {
        w.step[k] = bstride[k][0];
        w.data[k] = views[k].data;
    }
    if (outer == 1) /* one long inner loop (a contiguous tensor): split it into pieces */
        ct__parallel_for(inner, PARALLEL_MIN_ELEMENTS, walk_inner, &w);
    else /* whole inner loops per item */
        ct__parallel_for(outer, (PARALLEL_MIN_ELEMENTS + inner - 1) / inner, walk_outer, &w);
}

ct__scalar ct__load_scalar(const void *p, ct_dtype dtype) {
    ct__scalar v = {false, 0, 0};
    switch (dtype) {
    case CT_FLOAT32: v.is_float = true, v.f = *(const float *)p; break;
    case CT_FLOAT64: v.is_float = true, v.f = *(const double *)p; break;
    case CT_INT64: v.i = *(const int64_t *)p; break;
    case CT_INT32: v.i = *(const int32_t *)p; break;
    case CT_UINT8: v.i = *(const uint8_t *)p; break;
    case CT_BOOL: v.i = *(const uint8_t *)p != 0; break;
    default: break;
    }
    if (!v.is_float) v.f = (double)v.i;
    return v;
}

static int64_t float_to_int64(double f) {
    if (isnan(f)) return 0;
    if (f >= 9223372036854775808.0 || f < -9223372036854775808.0) return INT64_MIN;
    return (int64_t)f;
}

void ct__store_scalar(void *p, ct_dtype dtype, ct__scalar v) {
    int64_t i = v.is_float ? float_to_int64(v.f) : v.i;
    switch (dtype) {
    case CT_FLOAT32: *(float *)p = v.is_float ? (float)v.f : (float)v.i; break;
    case CT_FLOAT64: *(double *)p = v.is_float ? v.f : (double)v.i; break;
    case CT_INT64: *(int64_t *)p = i; break;
    case CT_INT32: *(int32_t *)p = (int32_t)(uint32_t)(uint64_t)i; break;
    case CT_UINT8: *(uint8_t *)p = (uint8_t)(uint64_t)i; break;
    case CT_BOOL: *(uint8_t *)p = v.is_float ? v.f != 0 : v.i != 0; break;
    default: break;
    }
}
