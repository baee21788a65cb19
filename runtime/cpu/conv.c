/* CPU kernels of the conv family (kernels/conv.h): im2col, col2im, max_pool2d forward and backward, for float32 and
 * float64.
 *
 * Each kernel works on whole planes, one (image, channel) pair at a time, so that the CPU pool (parallel.h) can split
 * the planes across threads with no two threads writing the same element: im2col writes the kernel_h * kernel_w rows of cols that come
 * from one input plane, col2im and the pooling backward write one input plane (zeroed first, then accumulated in a
 * fixed order, so the result does not depend on the thread count). Small calls run on one thread. The GEMMs of
 * conv2d are not here: the front end runs them on OpenBLAS through kernels/blas.h, which threads each call itself. */
#include <math.h>
#include <string.h>

#include "clones.h"
#include "kernels/conv.h"
#include "parallel.h"

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

/* Stride 1 with the output as wide as the input ("same" padding): row oh of a kernel position's cols plane is input
 * row oh + row_off shifted by `shift` columns, and consecutive rows are consecutive in both, so the plane's valid
 * rows are one contiguous copy (each row's first and last columns then taking a neighbouring row's elements, which
 * are set to zero after it) instead of a short copy per row. */
static bool same_width_rows(const ct__window2d *g) { return g->stride_h == 1 && g->stride_w == 1 && g->out_w == g->w; }

#define DEFINE_IM2COL(T)                                                                                              \
    static void im2col_same_width_##T(const ct__window2d *g, const T *restrict in, T *restrict cols, int64_t row_off, \
                                      int64_t shift, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {                \
        const int64_t W = g->w, end = g->h * W;                                                                      \
        memset(cols, 0, (size_t)(h0 * W) * sizeof(T));                                                               \
        int64_t lo = h0 * W, hi = h1 * W, from = lo + row_off * W + shift; /* input index of cols[lo] */             \
        if (from < 0) lo -= from, from = 0;        /* only the first row's left border: zeroed below */                \
        if (from + (hi - lo) > end) hi = lo + (end - from); /* only the last row's right border */                     \
        if (hi > lo) memcpy(cols + lo, in + from, (size_t)(hi - lo) * sizeof(T));                                     \
        for (int64_t oh = h0; oh < h1; oh++) {                                                                        \
            T *row = cols + oh * W;                                                                                   \
            for (int64_t ow = 0; ow < w0; ow++) row[ow] = 0;                                                          \
            for (int64_t ow = w1 > w0 ? w1 : w0; ow < W; ow++) row[ow] = 0;                                           \
        }                                                                                                             \
        memset(cols + h1 * W, 0, (size_t)((g->out_h - h1) * W) * sizeof(T));                                         \
    }                                                                                                                 \
    CT__LOOP_CLONES static void im2col_plane_##T(const ct__window2d *g, const T *in, T *cols) {                       \
        int64_t L = g->out_h * g->out_w;                                                                              \
        for (int64_t i = 0; i < g->kernel_h; i++)                                                                     \
            for (int64_t j = 0; j < g->kernel_w; j++, cols += L) {                                                    \
                int64_t h0, h1, w0, w1;                                                                               \
                valid_range(g->out_h, g->stride_h, g->pad_h, i * g->dilation_h, g->h, &h0, &h1);                      \
                valid_range(g->out_w, g->stride_w, g->pad_w, j * g->dilation_w, g->w, &w0, &w1);                      \
                if (same_width_rows(g)) {                                                                             \
                    im2col_same_width_##T(g, in, cols, i * g->dilation_h - g->pad_h, j * g->dilation_w - g->pad_w,   \
                                          h0, h1, w0, w1);                                                            \
                    continue;                                                                                         \
                }                                                                                                     \
                for (int64_t oh = 0; oh < g->out_h; oh++) {                                                           \
                    T *row = cols + oh * g->out_w;                                                                    \
                    if (oh < h0 || oh >= h1) {                                                                        \
                        memset(row, 0, (size_t)g->out_w * sizeof(T));                                                 \
                        continue;                                                                                     \
                    }                                                                                                 \
                    const T *restrict src = in + (oh * g->stride_h - g->pad_h + i * g->dilation_h) * g->w;            \
                    T *restrict dst = row; /* cols and the input never overlap: the copy loops vectorise */            \
                    int64_t shift = j * g->dilation_w - g->pad_w; /* input column of ow = ow * stride_w + shift */    \
                    _Pragma("omp simd") for (int64_t ow = 0; ow < w0; ow++) dst[ow] = 0;                              \
                    if (g->stride_w == 1) {                                                                           \
                        _Pragma("omp simd") for (int64_t ow = w0; ow < w1; ow++) dst[ow] = src[ow + shift];           \
                    } else {                                                                                          \
                        for (int64_t ow = w0; ow < w1; ow++) dst[ow] = src[ow * g->stride_w + shift];                 \
                    }                                                                                                 \
                    _Pragma("omp simd") for (int64_t ow = w1; ow < g->out_w; ow++) dst[ow] = 0;                       \
                }                                                                                                     \
            }                                                                                                         \
    }                                                                                                                 \
    CT__LOOP_CLONES static void col2im_plane_##T(const ct__window2d *g, const T *cols, T *out) {                                      \
        int64_t L = g->out_h * g->out_w;                                                                              \
        memset(out, 0, (size_t)(g->h * g->w) * sizeof(T));                                                            \
        for (int64_t i = 0; i < g->kernel_h; i++)                                                                     \
            for (int64_t j = 0; j < g->kernel_w; j++, cols += L) {                                                    \
                int64_t h0, h1, w0, w1;                                                                               \
                valid_range(g->out_h, g->stride_h, g->pad_h, i * g->dilation_h, g->h, &h0, &h1);                      \
                valid_range(g->out_w, g->stride_w, g->pad_w, j * g->dilation_w, g->w, &w0, &w1);                      \
                for (int64_t oh = h0; oh < h1; oh++) {                                                                \
                    const T *restrict row = cols + oh * g->out_w;                                                     \
                    T *restrict dst = out + (oh * g->stride_h - g->pad_h + i * g->dilation_h) * g->w;                 \
                    int64_t shift = j * g->dilation_w - g->pad_w;                                                     \
                    if (g->stride_w == 1) {                                                                           \
                        _Pragma("omp simd") for (int64_t ow = w0; ow < w1; ow++) dst[ow + shift] += row[ow];          \
                    } else {                                                                                          \
                        for (int64_t ow = w0; ow < w1; ow++) dst[ow * g->stride_w + shift] += row[ow];                \
                    }                                                                                                 \
                }                                                                                                     \
            }                                                                                                         \
    }
DEFINE_IM2COL(float)
DEFINE_IM2COL(double)

/* One call's planes: the window geometry, the dtype, the per-plane element counts of the source and the
 * destination, and the pointers (the pooling kernels' indices too). */
typedef struct planes_job {
    const ct__window2d *g;
    bool f32;
    int64_t src_plane, dst_plane;
    const void *src;
    void *dst;
    int64_t *idx;
} planes_job;

#define PLANE_PTRS(T)                                                                                                 \
    const T *src = (const T *)j->src + p * j->src_plane;                                                              \
    T *dst = (T *)j->dst + p * j->dst_plane

static void im2col_planes(int64_t begin, int64_t end, void *arg) {
    const planes_job *j = arg;
    for (int64_t p = begin; p < end; p++) {
        if (j->f32) {
            PLANE_PTRS(float);
            im2col_plane_float(j->g, src, dst);
        } else {
            PLANE_PTRS(double);
            im2col_plane_double(j->g, src, dst);
        }
    }
}

static void col2im_planes(int64_t begin, int64_t end, void *arg) {
    const planes_job *j = arg;
    for (int64_t p = begin; p < end; p++) {
        if (j->f32) {
            PLANE_PTRS(float);
            col2im_plane_float(j->g, src, dst);
        } else {
            PLANE_PTRS(double);
            col2im_plane_double(j->g, src, dst);
        }
    }
}

/* Runs fn over the batch * channels planes, with about PARALLEL_MIN_ELEMENTS elements of work per chunk at least. */
static void run_planes(ct__range_fn fn, const planes_job *j, int64_t work_per_plane) {
    int64_t planes = j->g->batch * j->g->channels;
    ct__parallel_for(planes, PARALLEL_MIN_ELEMENTS / (work_per_plane + 1) + 1, fn, (void *)j);
}

ct_status ct__cpu_im2col(const ct__window2d *g, ct_dtype dtype, const void *input, void *cols) {
    int64_t plane_cols = g->kernel_h * g->kernel_w * g->out_h * g->out_w;
    planes_job j = {g, dtype == CT_FLOAT32, g->h * g->w, plane_cols, input, cols, NULL};
    run_planes(im2col_planes, &j, plane_cols);
    return CT_OK;
}

ct_status ct__cpu_col2im(const ct__window2d *g, ct_dtype dtype, const void *cols, void *grad_input) {
    int64_t plane_cols = g->kernel_h * g->kernel_w * g->out_h * g->out_w;
    planes_job j = {g, dtype == CT_FLOAT32, plane_cols, g->h * g->w, cols, grad_input, NULL};
    run_planes(col2im_planes, &j, plane_cols);
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

/* The common 2x2 window at stride 2, no padding or dilation, every window inside the plane: the general loop below
 * unrolled (the same comparisons in the same order, so the same values and indices). */
static bool is_plain_2x2(const ct__window2d *g) {
    return g->kernel_h == 2 && g->kernel_w == 2 && g->stride_h == 2 && g->stride_w == 2 && g->pad_h == 0 &&
           g->pad_w == 0 && g->dilation_h == 1 && g->dilation_w == 1 && 2 * g->out_h <= g->h && 2 * g->out_w <= g->w;
}

/* Window element v (at offset k of the 2x2: 0, 1 for the top row, w, w + 1 below) replaces the best so far when it
 * is greater or NaN: the general loop's test, written as selects so that the loop over a row of windows vectorises. */
#define POOL_TAKE(v, k)                                                                                               \
    do {                                                                                                              \
        bool take_ = (v) > best || (v) != (v);                                                                        \
        best = take_ ? (v) : best;                                                                                    \
        off = take_ ? (k) : off;                                                                                      \
    } while (0)

#define DEFINE_POOL(T)                                                                                                \
    CT__LOOP_CLONES static void pool_plane_2x2_##T(const ct__window2d *g, const T *in, T *out, int64_t *idx) {                        \
        const int64_t w = g->w, ow_n = g->out_w;                                                                      \
        for (int64_t oh = 0; oh < g->out_h; oh++) {                                                                   \
            const int64_t top = 2 * oh * w;                                                                           \
            const T *r0 = in + top, *r1 = r0 + w;                                                                     \
            T *o = out + oh * ow_n;                                                                                   \
            int64_t *ix = idx + oh * ow_n;                                                                            \
            _Pragma("omp simd") for (int64_t ow = 0; ow < ow_n; ow++) {                                               \
                T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];                             \
                T best = a; /* beats the -inf start, or is -inf and keeps the first index, or is NaN */               \
                int64_t off = 0;                                                                                      \
                POOL_TAKE(b, 1);                                                                                      \
                POOL_TAKE(c, w);                                                                                      \
                POOL_TAKE(d, w + 1);                                                                                  \
                o[ow] = best;                                                                                         \
                ix[ow] = top + 2 * ow + off;                                                                          \
            }                                                                                                         \
        }                                                                                                             \
    }                                                                                                                 \
    static void pool_plane_##T(const ct__window2d *g, const T *in, T *out, int64_t *idx) {                            \
        if (is_plain_2x2(g)) {                                                                                        \
            pool_plane_2x2_##T(g, in, out, idx);                                                                      \
            return;                                                                                                   \
        }                                                                                                             \
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

static void pool_planes(int64_t begin, int64_t end, void *arg) {
    const planes_job *j = arg;
    for (int64_t p = begin; p < end; p++) {
        if (j->f32) {
            PLANE_PTRS(float);
            pool_plane_float(j->g, src, dst, j->idx + p * j->dst_plane);
        } else {
            PLANE_PTRS(double);
            pool_plane_double(j->g, src, dst, j->idx + p * j->dst_plane);
        }
    }
}

/* The backward's source is grad_out, whose planes the indices share (src_plane elements each). */
static void unpool_planes(int64_t begin, int64_t end, void *arg) {
    const planes_job *j = arg;
    for (int64_t p = begin; p < end; p++) {
        if (j->f32) {
            PLANE_PTRS(float);
            unpool_plane_float(j->g, src, j->idx + p * j->src_plane, dst);
        } else {
            PLANE_PTRS(double);
            unpool_plane_double(j->g, src, j->idx + p * j->src_plane, dst);
        }
    }
}

ct_status ct__cpu_max_pool2d(const ct__window2d *g, ct_dtype dtype, const void *input, void *out, int64_t *indices) {
    int64_t plane_out = g->out_h * g->out_w;
    planes_job j = {g, dtype == CT_FLOAT32, g->h * g->w, plane_out, input, out, indices};
    run_planes(pool_planes, &j, plane_out * g->kernel_h * g->kernel_w);
    return CT_OK;
}

ct_status ct__cpu_max_pool2d_backward(const ct__window2d *g, ct_dtype dtype, const void *grad_out,
                                      const int64_t *indices, void *grad_input) {
    int64_t plane_out = g->out_h * g->out_w, plane_in = g->h * g->w;
    planes_job j = {g, dtype == CT_FLOAT32, plane_out, plane_in, grad_out, grad_input, (int64_t *)indices};
    run_planes(unpool_planes, &j, plane_in + plane_out);
    return CT_OK;
}
