/* CPU kernels of the conv family (kernels/conv.h): im2col, col2im, max_pool2d forward and backward, for float32 and
 * float64.
 *
 * Each kernel works on whole planes, one (image, channel) pair at a time, so that OpenMP can split the planes across
 * threads with no two threads writing the same element: im2col writes the kernel_h * kernel_w rows of cols that come
 * from one input plane, col2im and the pooling backward write one input plane (zeroed first, then accumulated in a
 * fixed order, so the result does not depend on the thread count). Small calls run on one thread. The GEMMs of
 * conv2d are not here: the front end runs them on OpenBLAS through kernels/blas.h, which threads each call itself. */
#include <math.h>
#include <string.h>

#include "kernels/conv.h"

/* Below this many elements touched a kernel runs on one thread. */
#define PARALLEL_MIN_ELEMENTS (64 * 1024)

/* The first and one-past-last output positions o in [0, out) whose input position o * stride - pad + offset lies in
 * [0, size). */
static void valid_range(int64_t out, int64_t stride, int64_t pad, int64_t offset, int64_t size, int64_t *lo,
                        int64_t *hi) {
    int64_t first = pad - offset; /* o * stride >= first */
    int64_t a = first <= 0 ? 0 : (first + stride - 1) / stride;
    int64_t last = size - 1 + pad - offset; /* o * stride <= last */
    int64_t b = last < 0 ? 0 : last / stride + 1;
    *lo = a < out ? a : out;
    *hi = b < out ? b : out;
    if (*hi < *lo) *hi = *lo;
}

/* ---- im2col / col2im ----------------------------------------------------------------------------------------------- */

#define DEFINE_IM2COL(T)                                                                                              \
    static void im2col_plane_##T(const ct__window2d *g, const T *in, T *cols) {                                       \
        int64_t L = g->out_h * g->out_w;                                                                              \
        for (int64_t i = 0; i < g->kernel_h; i++)                                                                     \
            for (int64_t j = 0; j < g->kernel_w; j++, cols += L) {                                                    \
                int64_t h0, h1, w0, w1;                                                                               \
                valid_range(g->out_h, g->stride_h, g->pad_h, i * g->dilation_h, g->h, &h0, &h1);                      \
                valid_range(g->out_w, g->stride_w, g->pad_w, j * g->dilation_w, g->w, &w0, &w1);                      \
                for (int64_t oh = 0; oh < g->out_h; oh++) {                                                           \
                    T *row = cols + oh * g->out_w;                                                                    \
                    if (oh < h0 || oh >= h1) {                                                                        \
                        memset(row, 0, (size_t)g->out_w * sizeof(T));                                                 \
                        continue;                                                                                     \
                    }                                                                                                 \
                    const T *src = in + (oh * g->stride_h - g->pad_h + i * g->dilation_h) * g->w;                     \
                    int64_t shift = j * g->dilation_w - g->pad_w; /* input column of ow = ow * stride_w + shift */    \
                    for (int64_t ow = 0; ow < w0; ow++) row[ow] = 0;                                                  \
                    if (g->stride_w == 1)                                                                             \
                        for (int64_t ow = w0; ow < w1; ow++) row[ow] = src[ow + shift];                               \
                    else                                                                                              \
                        for (int64_t ow = w0; ow < w1; ow++) row[ow] = src[ow * g->stride_w + shift];                 \
                    for (int64_t ow = w1; ow < g->out_w; ow++) row[ow] = 0;                                           \
                }                                                                                                     \
            }                                                                                                         \
    }                                                                                                                 \
    static void col2im_plane_##T(const ct__window2d *g, const T *cols, T *out) {                                      \
        int64_t L = g->out_h * g->out_w;                                                                              \
        memset(out, 0, (size_t)(g->h * g->w) * sizeof(T));                                                            \
        for (int64_t i = 0; i < g->kernel_h; i++)                                                                     \
            for (int64_t j = 0; j < g->kernel_w; j++, cols += L) {                                                    \
                int64_t h0, h1, w0, w1;                                                                               \
                valid_range(g->out_h, g->stride_h, g->pad_h, i * g->dilation_h, g->h, &h0, &h1);                      \
                valid_range(g->out_w, g->stride_w, g->pad_w, j * g->dilation_w, g->w, &w0, &w1);                      \
                for (int64_t oh = h0; oh < h1; oh++) {                                                                \
                    const T *row = cols + oh * g->out_w;                                                              \
                    T *dst = out + (oh * g->stride_h - g->pad_h + i * g->dilation_h) * g->w;                          \
                    int64_t shift = j * g->dilation_w - g->pad_w;                                                     \
                    for (int64_t ow = w0; ow < w1; ow++) dst[ow * g->stride_w + shift] += row[ow];                    \
                }                                                                                                     \
            }                                                                                                         \
    }
DEFINE_IM2COL(float)
DEFINE_IM2COL(double)

ct_status ct__cpu_im2col(const ct__window2d *g, ct_dtype dtype, const void *input, void *cols) {
    int64_t planes = g->batch * g->channels, plane_in = g->h * g->w;
    int64_t plane_cols = g->kernel_h * g->kernel_w * g->out_h * g->out_w;
    bool parallel = planes > 1 && planes * plane_cols >= PARALLEL_MIN_ELEMENTS;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t p = 0; p < planes; p++) {
        if (dtype == CT_FLOAT32)
            im2col_plane_float(g, (const float *)input + p * plane_in, (float *)cols + p * plane_cols);
        else
            im2col_plane_double(g, (const double *)input + p * plane_in, (double *)cols + p * plane_cols);
    }
    return CT_OK;
}

ct_status ct__cpu_col2im(const ct__window2d *g, ct_dtype dtype, const void *cols, void *grad_input) {
    int64_t planes = g->batch * g->channels, plane_in = g->h * g->w;
    int64_t plane_cols = g->kernel_h * g->kernel_w * g->out_h * g->out_w;
    bool parallel = planes > 1 && planes * plane_cols >= PARALLEL_MIN_ELEMENTS;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t p = 0; p < planes; p++) {
        if (dtype == CT_FLOAT32)
            col2im_plane_float(g, (const float *)cols + p * plane_cols, (float *)grad_input + p * plane_in);
        else
            col2im_plane_double(g, (const double *)cols + p * plane_cols, (double *)grad_input + p * plane_in);
    }
    return CT_OK;
}

/* ---- max_pool2d ---------------------------------------------------------------------------------------------------- */

/* The window of output (oh, ow): rows [*h0, h1) and columns [*w0, w1) stepping by the dilation, starting at the
 * first position inside the plane (PyTorch's loop, whose first position is also the index when nothing beats -inf). */
static void pool_window(const ct__window2d *g, int64_t oh, int64_t ow, int64_t *h0, int64_t *h1, int64_t *w0,
                        int64_t *w1) {
    int64_t hs = oh * g->stride_h - g->pad_h, ws = ow * g->stride_w - g->pad_w;
    int64_t he = hs + (g->kernel_h - 1) * g->dilation_h + 1, we = ws + (g->kernel_w - 1) * g->dilation_w + 1;
    while (hs < 0) hs += g->dilation_h;
    while (ws < 0) ws += g->dilation_w;
    *h0 = hs, *h1 = he < g->h ? he : g->h, *w0 = ws, *w1 = we < g->w ? we : g->w;
}

#define DEFINE_POOL(T)                                                                                                \
    static void pool_plane_##T(const ct__window2d *g, const T *in, T *out, int64_t *idx) {                            \
        for (int64_t oh = 0; oh < g->out_h; oh++)                                                                     \
            for (int64_t ow = 0; ow < g->out_w; ow++) {                                                               \
                int64_t h0, h1, w0, w1;                                                                               \
                pool_window(g, oh, ow, &h0, &h1, &w0, &w1);                                                           \
                T best = -(T)INFINITY;                                                                                \
                int64_t at = h0 * g->w + w0;                                                                          \
                for (int64_t h = h0; h < h1; h += g->dilation_h)                                                      \
                    for (int64_t w = w0; w < w1; w += g->dilation_w) {                                                \
                        T v = in[h * g->w + w];                                                                       \
                        if (v > best || isnan(v)) best = v, at = h * g->w + w;                                        \
                    }                                                                                                 \
                out[oh * g->out_w + ow] = best;                                                                       \
                idx[oh * g->out_w + ow] = at;                                                                         \
            }                                                                                                         \
    }                                                                                                                 \
    static void unpool_plane_##T(const ct__window2d *g, const T *grad_out, const int64_t *idx, T *grad_in) {          \
        memset(grad_in, 0, (size_t)(g->h * g->w) * sizeof(T));                                                        \
        for (int64_t o = 0; o < g->out_h * g->out_w; o++) grad_in[idx[o]] += grad_out[o];                             \
    }
DEFINE_POOL(float)
DEFINE_POOL(double)

ct_status ct__cpu_max_pool2d(const ct__window2d *g, ct_dtype dtype, const void *input, void *out, int64_t *indices) {
    int64_t planes = g->batch * g->channels, plane_in = g->h * g->w, plane_out = g->out_h * g->out_w;
    bool parallel = planes > 1 && planes * plane_out * g->kernel_h * g->kernel_w >= PARALLEL_MIN_ELEMENTS;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t p = 0; p < planes; p++) {
        if (dtype == CT_FLOAT32)
            pool_plane_float(g, (const float *)input + p * plane_in, (float *)out + p * plane_out,
                             indices + p * plane_out);
        else
            pool_plane_double(g, (const double *)input + p * plane_in, (double *)out + p * plane_out,
                              indices + p * plane_out);
    }
    return CT_OK;
}

ct_status ct__cpu_max_pool2d_backward(const ct__window2d *g, ct_dtype dtype, const void *grad_out,
                                      const int64_t *indices, void *grad_input) {
    int64_t planes = g->batch * g->channels, plane_in = g->h * g->w, plane_out = g->out_h * g->out_w;
    bool parallel = planes > 1 && planes * (plane_in + plane_out) >= PARALLEL_MIN_ELEMENTS;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t p = 0; p < planes; p++) {
        if (dtype == CT_FLOAT32)
            unpool_plane_float(g, (const float *)grad_out + p * plane_out, indices + p * plane_out,
                               (float *)grad_input + p * plane_in);
        else
            unpool_plane_double(g, (const double *)grad_out + p * plane_out, indices + p * plane_out,
                                (double *)grad_input + p * plane_in);
    }
    return CT_OK;
}
