/* Front ends of the conv family (ctorch/conv.h): conv2d and max_pool2d, with PyTorch's checks and words, and the
 * internal backward ops of runtime/ops/conv_internal.h.
 *
 * conv2d is im2col + GEMM on both backends, the way PyTorch's slow_conv2d and Caffe do it, orchestrated here once:
 * the im2col launcher (kernels/conv.h) unfolds a chunk of images into cols [n, C kH kW, oH oW], and one strided
 * batched GEMM per group (kernels/blas.h: OpenBLAS on the CPU, cuBLAS on CUDA) multiplies the group's weight rows
 * [O/g, C/g kH kW] by the group's rows of cols into the output [n, O, oH oW]. The bias is written into the output
 * first and the GEMM accumulates onto it (beta = 1). cols is bounded (COLS_BYTES): large batches go in chunks. A
 * 1x1 kernel with stride 1 and no padding needs no im2col: the input is its own cols. cuDNN is not used: the build
 * links cudart, cuBLAS and cuBLASLt only, and the GEMM path shares its code, and its results to rounding, with the
 * CPU.
 *
 * Backward: d input = col2im(W_g^T @ G_g) per group (a transposed-operand GEMM into cols, then col2im, which
 * gathers into each input element in a fixed order); d weight = sum over the images of G_g @ cols_g^T, one batched
 * GEMM into per-image partial products that a sum over the batch dim then reduces (no atomics, no dependence on the
 * thread count).
 *
 * max_pool2d runs its own launcher (a direct loop over each window) and keeps the argmax indices for backward. A
 * 3-D (unbatched) input is viewed as a batch of one and the result squeezed back, so autograd sees the same view
 * ops a user would write. */
#include <stdio.h>
#include <string.h>

#include "autograd/backward_conv.h"
#include "common.h"
#include "conv_internal.h"
#include "ctorch/conv.h"
#include "ctorch/elementwise.h"
#include "ctorch/reduce.h"
#include "kernels/blas.h"
#include "kernels/conv.h"

/* At most this many bytes of cols at a time (at least one image's worth). */
#define COLS_BYTES ((size_t)64 << 20)

/* ---- shared -------------------------------------------------------------------------------------------------------- */

/* "torch.FloatTensor", "torch.cuda.DoubleTensor": PyTorch's legacy type names, as its conv messages print them. */
static const char *legacy_type_name(const ct_tensor *t, char *buf, size_t size) {
    snprintf(buf, size, "torch.%s%sTensor", t->storage->device.type == CT_CUDA ? "cuda." : "",
             ct__scalar_type_name(t->dtype));
    return buf;
}

static void *elem(const ct_tensor *t, int64_t i) { return (char *)ct_data_ptr(t) + (size_t)i * ct_dtype_size(t->dtype); }

/* Images per chunk so that one chunk's cols stay under COLS_BYTES. */
static int64_t chunk_images(int64_t n, int64_t cols_per_image, ct_dtype dtype) {
    size_t per = (size_t)cols_per_image * ct_dtype_size(dtype);
    int64_t k = per == 0 ? n : (int64_t)(COLS_BYTES / per);
    if (k < 1) k = 1;
    return k < n ? k : n;
}

/* True when im2col of this geometry is the input itself. */
static bool is_pointwise(const ct__window2d *g) {
    return g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 0 &&
           g->pad_w == 0;
}

/* The window geometry of conv2d over input [N, C, H, W] with kernel kh x kw. */
static ct__window2d conv_window(const int64_t *in_shape, int64_t kh, int64_t kw, const ct__conv2d_args *a) {
    ct__window2d g = {.batch = in_shape[0], .channels = in_shape[1], .h = in_shape[2], .w = in_shape[3],
                      .kernel_h = kh, .kernel_w = kw, .stride_h = a->stride[0], .stride_w = a->stride[1],
                      .pad_h = a->padding[0], .pad_w = a->padding[1], .dilation_h = a->dilation[0],
                      .dilation_w = a->dilation[1]};
    g.out_h = (g.h + 2 * g.pad_h - g.dilation_h * (kh - 1) - 1) / g.stride_h + 1;
    g.out_w = (g.w + 2 * g.pad_w - g.dilation_w * (kw - 1) - 1) / g.stride_w + 1;
    return g;
}

/* im2col of images [n0, n0 + g->batch) of x into cols (or nothing for a pointwise kernel, whose cols are x). */
static ct_status unfold(const ct__window2d *g, const ct_tensor *x, int64_t n0, const ct_tensor *cols) {
    if (is_pointwise(g)) return CT_OK;
    return CT_DISPATCH(x->storage->device, im2col, g, x->dtype, elem(x, n0 * g->channels * g->h * g->w),
                       ct_data_ptr(cols));
}

/* The cols of images from n0: x's own data for a pointwise kernel, else the buffer. */
static void *cols_of(const ct__window2d *g, const ct_tensor *x, int64_t n0, const ct_tensor *cols) {
    return is_pointwise(g) ? elem(x, n0 * g->channels * g->h * g->w) : ct_data_ptr(cols);
}

static ct_status gemm(ct_device device, ct__gemm *m) {
    m->allow_tf32 = ct_allow_tf32();
    return CT_DISPATCH(device, gemm, m);
}

/* ---- conv2d ------------------------------------------------------------------------------------------------------- */

static ct_status check_conv2d(const ct_tensor *x, const ct_tensor *w, const ct_tensor *b, const ct__conv2d_args *a,
                              const char *func) {
    char s1[CT_SHAPE_BUF], s2[CT_SHAPE_BUF];
    if (w->ndim < 3) return ct__error(CT_ERR_SHAPE, func, "weight should have at least three dimensions");
    if (w->ndim != 4)
        return ct__error(CT_ERR_SHAPE, func,
                         "expected stride to be a single integer value or a list of %d values to match the "
                         "convolution dimensions, but got stride=[%lld, %lld]",
                         w->ndim - 2, (long long)a->stride[0], (long long)a->stride[1]);
    if (x->dtype != w->dtype || x->storage->device.type != w->storage->device.type ||
        x->storage->device.index != w->storage->device.index)
        return ct__error(x->dtype != w->dtype ? CT_ERR_DTYPE : CT_ERR_DEVICE, func,
                         "Input type (%s) and weight type (%s) should be the same", legacy_type_name(x, s1, sizeof s1),
                         legacy_type_name(w, s2, sizeof s2));
    if (b) {
        ct_status st = ct__check_same_device(x, b, func);
        if (st != CT_OK) return st;
        if (b->dtype != x->dtype)
            return ct__error(CT_ERR_DTYPE, func, "Input type (%s) and bias type (%s) should be the same",
                             ct__c_type_name(x->dtype), ct__c_type_name(b->dtype));
    }
    if (x->dtype != CT_FLOAT32 && x->dtype != CT_FLOAT64)
        return ct__error(CT_ERR_NOT_IMPLEMENTED, func, "\"conv2d\" not implemented for '%s'",
                         ct__scalar_type_name(x->dtype));
    if (a->groups <= 0) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "non-positive groups is not supported");
    for (int d = 0; d < 2; d++) {
        if (a->stride[d] <= 0) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "non-positive stride is not supported");
        if (a->padding[d] < 0) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "negative padding is not supported");
        if (a->dilation[d] <= 0)
            return ct__error(CT_ERR_INVALID_ARGUMENT, func, "non-positive dilation is not supported");
    }
    if (w->shape[0] % a->groups != 0)
        return ct__error(CT_ERR_SHAPE, func,
                         "Given groups=%lld, expected weight to be divisible by %lld at dimension 0, but got weight of "
                         "size [%s] instead",
                         (long long)a->groups, (long long)a->groups, ct__shape_str(w->ndim, w->shape, s1, sizeof s1));
    if (x->shape[1] != w->shape[1] * a->groups)
        return ct__error(CT_ERR_SHAPE, func,
                         "Given groups=%lld, weight of size %s, expected input%s to have %lld channels, but got %lld "
                         "channels instead",
                         (long long)a->groups, ct__shape_str(w->ndim, w->shape, s1, sizeof s1),
                         ct__shape_str(x->ndim, x->shape, s2, sizeof s2), (long long)(w->shape[1] * a->groups),
                         (long long)x->shape[1]);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        return ct__error(CT_ERR_SHAPE, func,
                         "Given weight of size %s, expected bias to be 1-dimensional with %lld elements, but got bias "
                         "of size %s instead",
                         ct__shape_str(w->ndim, w->shape, s1, sizeof s1), (long long)w->shape[0],
                         ct__shape_str(b->ndim, b->shape, s2, sizeof s2));
    int64_t ph = x->shape[2] + 2 * a->padding[0], pw = x->shape[3] + 2 * a->padding[1];
    int64_t kh = a->dilation[0] * (w->shape[2] - 1) + 1, kw = a->dilation[1] * (w->shape[3] - 1) + 1;
    if (ph < kh || pw < kw)
        return ct__error(CT_ERR_SHAPE, func,
                         "Calculated padded input size per channel: (%lld x %lld). Kernel size: (%lld x %lld). Kernel "
                         "size can't be greater than actual input size",
                         (long long)ph, (long long)pw, (long long)kh, (long long)kw);
    return CT_OK;
}

/* conv2d of a checked 4-D x; releases nothing it was given. */
static ct_tensor *conv2d_forward(const ct_tensor *x, const ct_tensor *w, const ct_tensor *b, const ct__conv2d_args *a) {
    int64_t N = x->shape[0], O = w->shape[0], groups = a->groups;
    ct__window2d g = conv_window(x->shape, w->shape[2], w->shape[3], a);
    int64_t L = g.out_h * g.out_w, Kg = w->shape[1] * g.kernel_h * g.kernel_w, Kc = Kg * groups, Og = O / groups;
    ct_device dev = x->storage->device;
    ct_tensor *out = ct__tensor_new(4, (int64_t[]){N, O, g.out_h, g.out_w}, x->dtype, dev, false);
    if (!out || N * O * L == 0) return out;
    ct_tensor *xc = ct_contiguous(x), *wc = ct_contiguous(w), *cols = NULL;
    ct_status st = xc && wc ? CT_OK : ct_last_status();
    if (st == CT_OK && b) { /* every output row starts as its channel's bias */
        ct__view dst = ct__view_of(out), src = ct__view_of(b);
        dst.ndim = src.ndim = 3;
        dst.shape[0] = src.shape[0] = N, dst.shape[1] = src.shape[1] = O, dst.shape[2] = src.shape[2] = L;
        dst.stride[0] = O * L, dst.stride[1] = L, dst.stride[2] = 1;
        src.stride[0] = 0, src.stride[1] = b->stride[0], src.stride[2] = 0;
        st = CT_DISPATCH(dev, copy, dst, src);
    }
    int64_t chunk = chunk_images(N, Kc * L, x->dtype);
    if (st == CT_OK && !is_pointwise(&g) && !(cols = ct__tensor_new(1, (int64_t[]){chunk * Kc * L}, x->dtype, dev, false)))
        st = ct_last_status();
    for (int64_t n0 = 0; st == CT_OK && n0 < N; n0 += chunk) {
        ct__window2d gc = g;
        gc.batch = N - n0 < chunk ? N - n0 : chunk;
        st = unfold(&gc, xc, n0, cols);
        char *c = cols_of(&gc, xc, n0, cols);
        size_t es = ct_dtype_size(x->dtype);
        for (int64_t k = 0; st == CT_OK && k < groups; k++) {
            ct__gemm m = {.dtype = x->dtype, .batch = gc.batch, .m = Og, .n = L, .k = Kg,
                          .a = elem(wc, k * Og * Kg), .lda = Kg > 1 ? Kg : 1, .stride_a = 0,
                          .b = c + (size_t)(k * Kg * L) * es, .ldb = L, .stride_b = Kc * L,
                          .c = elem(out, (n0 * O + k * Og) * L), .ldc = L, .stride_c = O * L,
                          .alpha = 1, .beta = b ? 1 : 0};
            st = gemm(dev, &m);
        }
    }
    ct_release(cols);
    ct_release(xc);
    ct_release(wc);
    if (st != CT_OK) {
        ct_release(out);
        return NULL;
    }
    return out;
}

/* The arguments with NULL arrays replaced by PyTorch's defaults. */
static ct__conv2d_args conv_args(const int64_t *stride, const int64_t *padding, const int64_t *dilation,
                                 int64_t groups) {
    ct__conv2d_args a = {{1, 1}, {0, 0}, {1, 1}, groups};
    if (stride) a.stride[0] = stride[0], a.stride[1] = stride[1];
    if (padding) a.padding[0] = padding[0], a.padding[1] = padding[1];
    if (dilation) a.dilation[0] = dilation[0], a.dilation[1] = dilation[1];
    return a;
}

ct_tensor *ct_conv2d(const ct_tensor *input, const ct_tensor *weight, const ct_tensor *bias, const int64_t *stride,
                     const int64_t *padding, const int64_t *dilation, int64_t groups) {
    char s[CT_SHAPE_BUF];
    if (CT_CHECK_TENSOR(input) != CT_OK || CT_CHECK_TENSOR(weight) != CT_OK) return NULL;
    if (input->ndim != 3 && input->ndim != 4) {
        CT_FAIL(CT_ERR_SHAPE, "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: %s",
                ct__shape_str(input->ndim, input->shape, s, sizeof s));
        return NULL;
    }
    ct__conv2d_args a = conv_args(stride, padding, dilation, groups);
    bool unbatched = input->ndim == 3;
    ct_tensor *x = unbatched ? ct_unsqueeze(input, 0) : (ct_tensor *)input;
    ct_tensor *out = NULL;
    if (x && check_conv2d(x, weight, bias, &a, __func__) == CT_OK)
        out = ct__record_conv2d(conv2d_forward(x, weight, bias, &a), x, weight, bias, &a);
    if (unbatched) {
        ct_tensor *batched = out;
        out = batched ? ct_squeeze_dim(batched, 0) : NULL;
        ct_release(batched);
        ct_release(x);
    }
    return out;
}

ct_tensor *ct__conv2d_input_backward(const ct_tensor *grad, const ct_tensor *weight, const int64_t *input_shape,
                                     const ct__conv2d_args *a) {
    int64_t N = input_shape[0], C = input_shape[1], O = weight->shape[0], groups = a->groups;
    ct__window2d g = conv_window(input_shape, weight->shape[2], weight->shape[3], a);
    int64_t L = g.out_h * g.out_w, Kg = weight->shape[1] * g.kernel_h * g.kernel_w, Kc = Kg * groups, Og = O / groups;
    ct_device dev = grad->storage->device;
    ct_tensor *gi = ct__tensor_new(4, input_shape, grad->dtype, dev, false);
    if (!gi || N * C * g.h * g.w == 0) return gi;
    ct_tensor *gc = ct_contiguous(grad), *wc = ct_contiguous(weight), *cols = NULL;
    ct_status st = gc && wc ? CT_OK : ct_last_status();
    bool pointwise = is_pointwise(&g);
    int64_t chunk = chunk_images(N, Kc * L, grad->dtype);
    if (st == CT_OK && !pointwise && !(cols = ct__tensor_new(1, (int64_t[]){chunk * Kc * L}, grad->dtype, dev, false)))
        st = ct_last_status();
    size_t es = ct_dtype_size(grad->dtype);
    for (int64_t n0 = 0; st == CT_OK && n0 < N; n0 += chunk) {
        ct__window2d gw = g;
        gw.batch = N - n0 < chunk ? N - n0 : chunk;
        char *c = pointwise ? elem(gi, n0 * C * L) : ct_data_ptr(cols); /* pointwise: cols are d input itself */
        for (int64_t k = 0; st == CT_OK && k < groups; k++) {
            ct__gemm m = {.dtype = grad->dtype, .batch = gw.batch, .m = Kg, .n = L, .k = Og,
                          .a = elem(wc, k * Og * Kg), .lda = Kg > 1 ? Kg : 1, .stride_a = 0, .trans_a = true,
                          .b = elem(gc, (n0 * O + k * Og) * L), .ldb = L, .stride_b = O * L,
                          .c = c + (size_t)(k * Kg * L) * es, .ldc = L, .stride_c = Kc * L, .alpha = 1, .beta = 0};
            st = gemm(dev, &m);
        }
        if (st == CT_OK && !pointwise)
            st = CT_DISPATCH(dev, col2im, &gw, grad->dtype, c, elem(gi, n0 * C * g.h * g.w));
    }
    ct_release(cols);
    ct_release(gc);
    ct_release(wc);
    if (st != CT_OK) {
        ct_release(gi);
        return NULL;
    }
    return gi;
}

ct_tensor *ct__conv2d_weight_backward(const ct_tensor *grad, const ct_tensor *input, const int64_t *weight_shape,
                                      const ct__conv2d_args *a) {
    int64_t N = input->shape[0], O = weight_shape[0], groups = a->groups;
    ct__window2d g = conv_window(input->shape, weight_shape[2], weight_shape[3], a);
    int64_t L = g.out_h * g.out_w, Kg = weight_shape[1] * g.kernel_h * g.kernel_w, Kc = Kg * groups, Og = O / groups;
    ct_device dev = grad->storage->device;
    if (N == 0 || L == 0) return ct_zeros(4, weight_shape, grad->dtype, dev);
    ct_tensor *gc = ct_contiguous(grad), *xc = ct_contiguous(input), *cols = NULL, *dw = NULL;
    ct_status st = gc && xc ? CT_OK : ct_last_status();
    int64_t chunk = chunk_images(N, Kc * L, grad->dtype);
    if (st == CT_OK && !is_pointwise(&g) &&
        !(cols = ct__tensor_new(1, (int64_t[]){chunk * Kc * L}, grad->dtype, dev, false)))
        st = ct_last_status();
    size_t es = ct_dtype_size(grad->dtype);
    for (int64_t n0 = 0; st == CT_OK && n0 < N; n0 += chunk) {
        ct__window2d gw = g;
        gw.batch = N - n0 < chunk ? N - n0 : chunk;
        st = unfold(&gw, xc, n0, cols);
        char *c = cols_of(&gw, xc, n0, cols);
        /* per-image partial products [n, O, Kg], then their sum over the images */
        ct_tensor *part = st == CT_OK ? ct__tensor_new(3, (int64_t[]){gw.batch, O, Kg}, grad->dtype, dev, false) : NULL;
        if (st == CT_OK && !part) st = ct_last_status();
        for (int64_t k = 0; st == CT_OK && k < groups; k++) {
            ct__gemm m = {.dtype = grad->dtype, .batch = gw.batch, .m = Og, .n = Kg, .k = L,
                          .a = elem(gc, (n0 * O + k * Og) * L), .lda = L, .stride_a = O * L,
                          .b = c + (size_t)(k * Kg * L) * es, .ldb = L, .stride_b = Kc * L, .trans_b = true,
                          .c = elem(part, k * Og * Kg), .ldc = Kg > 1 ? Kg : 1, .stride_c = O * Kg, .alpha = 1,
                          .beta = 0};
            st = gemm(dev, &m);
        }
        ct_tensor *sum = st == CT_OK ? ct_sum(part, 1, (int[]){0}, false) : NULL;
        if (st == CT_OK && !sum) st = ct_last_status();
        if (st == CT_OK && !dw) {
            dw = sum, sum = NULL;
        } else if (st == CT_OK) {
            st = ct_add_(dw, sum, 1.0);
        }
        ct_release(sum);
        ct_release(part);
    }
    ct_tensor *out = st == CT_OK ? ct_reshape(dw, 4, weight_shape) : NULL;
    ct_release(dw);
    ct_release(cols);
    ct_release(gc);
    ct_release(xc);
    return out;
}

/* ---- max_pool2d --------------------------------------------------------------------------------------------------- */

/* pooling_output_shape: floor or ceil division, and in ceil mode no window that starts in the right padding. */
static int64_t pool_out_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil, bool ceil_mode) {
    int64_t num = in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
    int64_t q = num >= 0 ? num / stride : -((-num + stride - 1) / stride); /* division rounding down */
    int64_t out = q + 1;
    if (ceil_mode && (out - 1) * stride >= in + pad) out--;
    return out;
}

/* Checks the arguments and the 4-D input x (a view of the user's input, whose shape the messages show), filling the
 * geometry. */
static ct_status check_max_pool2d(const ct_tensor *input, const ct_tensor *x, const int64_t *kernel, const int64_t *stride_in,
                                  const int64_t *padding, const int64_t *dilation, bool ceil_mode, ct__window2d *g,
                                  const char *func) {
    char s[CT_SHAPE_BUF];
    if (!kernel) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "kernel_size must not be NULL");
    int64_t k[2] = {kernel[0], kernel[1]}, st[2] = {k[0], k[1]}, p[2] = {0, 0}, d[2] = {1, 1};
    if (stride_in && (stride_in[0] != 0 || stride_in[1] != 0)) st[0] = stride_in[0], st[1] = stride_in[1];
    if (padding) p[0] = padding[0], p[1] = padding[1];
    if (dilation) d[0] = dilation[0], d[1] = dilation[1];
    if (x->dtype != CT_FLOAT32 && x->dtype != CT_FLOAT64)
        return ct__error(CT_ERR_NOT_IMPLEMENTED, func, "\"max_pool2d\" not implemented for '%s'",
                         ct__scalar_type_name(x->dtype));
    if (k[0] <= 0 || k[1] <= 0)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "kernel size should be greater than zero, but got kH: %lld kW: %lld",
                         (long long)k[0], (long long)k[1]);
    if (st[0] == 0 || st[1] == 0) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "stride should not be zero");
    for (int i = 0; i < 2; i++)
        if (p[i] < 0)
            return ct__error(CT_ERR_INVALID_ARGUMENT, func, "pad must be non-negative, but got pad: %lld", (long long)p[i]);
    if (st[0] < 0 || st[1] < 0)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "stride should be greater than zero, but got dH: %lld dW: %lld",
                         (long long)st[0], (long long)st[1]);
    if (d[0] <= 0 || d[1] <= 0)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                         "dilation should be greater than zero, but got dilationH: %lld dilationW: %lld",
                         (long long)d[0], (long long)d[1]);
    for (int i = 0; i < 2; i++)
        if (p[i] > ((k[i] - 1) * d[i] + 1) / 2)
            return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                             "pad should be at most half of effective kernel size, but got pad=%lld, kernel_size=%lld "
                             "and dilation=%lld",
                             (long long)p[i], (long long)k[i], (long long)d[i]);
    if (x->shape[1] == 0 || x->shape[2] == 0 || x->shape[3] == 0)
        return ct__error(CT_ERR_SHAPE, func,
                         "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:%s",
                         ct__shape_str(input->ndim, input->shape, s, sizeof s));
    if (k[1] / 2 < p[1] || k[0] / 2 < p[0])
        return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                         "pad should be smaller than or equal to half of kernel size, but got padW = %lld, padH = %lld, "
                         "kW = %lld, kH = %lld",
                         (long long)p[1], (long long)p[0], (long long)k[1], (long long)k[0]);
    *g = (ct__window2d){.batch = x->shape[0], .channels = x->shape[1], .h = x->shape[2], .w = x->shape[3],
                        .kernel_h = k[0], .kernel_w = k[1], .stride_h = st[0], .stride_w = st[1], .pad_h = p[0],
                        .pad_w = p[1], .dilation_h = d[0], .dilation_w = d[1]};
    g->out_h = pool_out_size(g->h, k[0], p[0], st[0], d[0], ceil_mode);
    g->out_w = pool_out_size(g->w, k[1], p[1], st[1], d[1], ceil_mode);
    if (g->out_h < 1 || g->out_w < 1)
        return ct__error(CT_ERR_SHAPE, func,
                         "Given input size: (%lldx%lldx%lld). Calculated output size: (%lldx%lldx%lld). Output size is "
                         "too small",
                         (long long)g->channels, (long long)g->h, (long long)g->w, (long long)g->channels,
                         (long long)g->out_h, (long long)g->out_w);
    return CT_OK;
}

/* max_pool2d of a 4-D x: values (recorded for autograd) and *indices. */
static ct_tensor *max_pool2d_4d(const ct_tensor *x, const ct__window2d *g, ct_tensor **indices) {
    int64_t shape[4] = {g->batch, g->channels, g->out_h, g->out_w};
    ct_device dev = x->storage->device;
    ct_tensor *out = ct__tensor_new(4, shape, x->dtype, dev, false);
    ct_tensor *idx = out ? ct__tensor_new(4, shape, CT_INT64, dev, false) : NULL;
    ct_tensor *xc = idx ? ct_contiguous(x) : NULL;
    ct_status st = xc ? CT_OK : ct_last_status();
    if (st == CT_OK && g->batch > 0)
        st = CT_DISPATCH(dev, max_pool2d, g, x->dtype, ct_data_ptr(xc), ct_data_ptr(out), (int64_t *)ct_data_ptr(idx));
    ct_release(xc);
    if (st != CT_OK) {
        ct_release(out);
        ct_release(idx);
        return NULL;
    }
    *indices = idx;
    return ct__record_max_pool2d(out, x, idx, g);
}

ct_tensor *ct_max_pool2d_with_indices(const ct_tensor *input, const int64_t *kernel, const int64_t *stride,
                                      const int64_t *padding, const int64_t *dilation, bool ceil_mode,
                                      ct_tensor **indices) {
    if (!indices) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "indices must not be NULL");
        return NULL;
    }
    *indices = NULL;
    if (CT_CHECK_TENSOR(input) != CT_OK) return NULL;
    if (input->ndim != 3 && input->ndim != 4) {
        CT_FAIL(CT_ERR_SHAPE, "non-empty 3D or 4D (batch mode) tensor expected for input");
        return NULL;
    }
    if (ct__check_supported_dtype(input, __func__) != CT_OK) return NULL;
    bool unbatched = input->ndim == 3;
    ct_tensor *x = unbatched ? ct_unsqueeze(input, 0) : (ct_tensor *)input, *out = NULL, *idx = NULL;
    ct__window2d g;
    if (x && check_max_pool2d(input, x, kernel, stride, padding, dilation, ceil_mode, &g, __func__) == CT_OK)
        out = max_pool2d_4d(x, &g, &idx);
    if (unbatched) {
        ct_tensor *out4 = out, *idx4 = idx;
        out = out4 ? ct_squeeze_dim(out4, 0) : NULL;
        idx = out && idx4 ? ct_squeeze_dim(idx4, 0) : NULL;
        if (out && !idx) ct_release(out), out = NULL;
        ct_release(out4);
        ct_release(idx4);
        ct_release(x);
    }
    if (out) *indices = idx;
    return out;
}

ct_tensor *ct_max_pool2d(const ct_tensor *input, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                         const int64_t *dilation, bool ceil_mode) {
    ct_tensor *indices = NULL;
    ct_tensor *out = ct_max_pool2d_with_indices(input, kernel, stride, padding, dilation, ceil_mode, &indices);
    ct_release(indices); /* the graph keeps its own reference when backward needs it */
    return out;
}

ct_tensor *ct__max_pool2d_backward(const ct_tensor *grad, const ct_tensor *indices, const ct__window2d *g) {
    int64_t input_shape[4] = {g->batch, g->channels, g->h, g->w};
    ct_device dev = grad->storage->device;
    ct_tensor *gi = ct__tensor_new(4, input_shape, grad->dtype, dev, false);
    ct_tensor *gc = gi ? ct_contiguous(grad) : NULL, *ic = gc ? ct_contiguous(indices) : NULL;
    ct_status st = ic ? CT_OK : ct_last_status();
    if (st == CT_OK && g->batch * g->channels > 0)
        st = CT_DISPATCH(dev, max_pool2d_backward, g, grad->dtype, ct_data_ptr(gc), (const int64_t *)ct_data_ptr(ic),
                         ct_data_ptr(gi));
    ct_release(gc);
    ct_release(ic);
    if (st != CT_OK) {
        ct_release(gi);
        return NULL;
    }
    return gi;
}
