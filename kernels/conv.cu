// CUDA kernels of the conv family (kernels/conv.h): im2col, col2im, max_pool2d forward and backward, float32 and
// float64.
//
// im2col: one thread per element of cols [n, C kH kW, oH oW], so consecutive threads write consecutive columns
// (coalesced stores) and read along an input row. col2im: one thread per input element, gathering every cols entry
// that read it (at most kH * kW, found by arithmetic on the stride and dilation); no atomics, so the sum's order is
// fixed and the result deterministic. max_pool2d: one thread per output, scanning its window with PyTorch's rule
// (strictly greater wins, so ties go to the first element; a NaN wins). Its backward is a gather too: one thread per
// input element sums, in a fixed order, the gradients of the outputs whose window covers it and whose index names it. All use grid-
// stride loops over 64-bit indices; a launcher returns after queueing its kernel.
#include <stdint.h>

#include "conv.h"
#include "cuda_check.h"

namespace {

template <typename T>
__global__ void im2col_kernel(ct__window2d g, const T *__restrict__ in, T *__restrict__ cols, long long total) {
    long long L = g.out_h * g.out_w, kk = g.kernel_h * g.kernel_w;
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total;
         e += (long long)gridDim.x * blockDim.x) {
        long long l = e % L, r = e / L; // r: (n * C + c) * kk + (i * kW + j)
        long long q = r % kk, plane = r / kk;
        long long i = q / g.kernel_w, j = q % g.kernel_w, oh = l / g.out_w, ow = l % g.out_w;
        long long h = oh * g.stride_h - g.pad_h + i * g.dilation_h, w = ow * g.stride_w - g.pad_w + j * g.dilation_w;
        cols[e] = h >= 0 && h < g.h && w >= 0 && w < g.w ? in[(plane * g.h + h) * g.w + w] : T(0);
    }
}

// The outputs o in [0, out) along one dim whose window position `tap` reads input position x: o * stride - pad +
// tap * dilation == x. Returns false when none does, else the o in *o.
__device__ inline bool window_output(long long x, long long tap, long long stride, long long pad, long long dilation,
                                     long long out, long long *o) {
    long long num = x + pad - tap * dilation;
    if (num < 0 || num % stride != 0) return false;
    *o = num / stride;
    return *o < out;
}

template <typename T>
__global__ void col2im_kernel(ct__window2d g, const T *__restrict__ cols, T *__restrict__ grad_in, long long total) {
    long long L = g.out_h * g.out_w, kk = g.kernel_h * g.kernel_w;
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total;
         e += (long long)gridDim.x * blockDim.x) {
        long long w = e % g.w, h = (e / g.w) % g.h, plane = e / (g.w * g.h);
        const T *pc = cols + plane * kk * L;
        T sum = 0;
        for (long long i = 0; i < g.kernel_h; i++) {
            long long oh;
            if (!window_output(h, i, g.stride_h, g.pad_h, g.dilation_h, g.out_h, &oh)) continue;
            for (long long j = 0; j < g.kernel_w; j++) {
                long long ow;
                if (!window_output(w, j, g.stride_w, g.pad_w, g.dilation_w, g.out_w, &ow)) continue;
                sum += pc[(i * g.kernel_w + j) * L + oh * g.out_w + ow];
            }
        }
        grad_in[e] = sum;
    }
}

template <typename T> __device__ inline bool is_nan(T v) { return v != v; }

template <typename T>
__global__ void max_pool2d_kernel(ct__window2d g, const T *__restrict__ in, T *__restrict__ out,
                                  int64_t *__restrict__ indices, long long total) {
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total;
         e += (long long)gridDim.x * blockDim.x) {
        long long ow = e % g.out_w, oh = (e / g.out_w) % g.out_h, plane = e / (g.out_w * g.out_h);
        long long hs = oh * g.stride_h - g.pad_h, ws = ow * g.stride_w - g.pad_w;
        long long he = min(hs + (g.kernel_h - 1) * g.dilation_h + 1, (long long)g.h);
        long long we = min(ws + (g.kernel_w - 1) * g.dilation_w + 1, (long long)g.w);
        while (hs < 0) hs += g.dilation_h;
        while (ws < 0) ws += g.dilation_w;
        const T *p = in + plane * g.h * g.w;
        T best = -INFINITY;
        long long at = hs * g.w + ws;
        for (long long h = hs; h < he; h += g.dilation_h)
            for (long long w = ws; w < we; w += g.dilation_w) {
                T v = p[h * g.w + w];
                if (v > best || is_nan(v)) best = v, at = h * g.w + w;
            }
        out[e] = best;
        indices[e] = at;
    }
}

template <typename T>
__global__ void max_pool2d_backward_kernel(ct__window2d g, const T *__restrict__ grad_out,
                                           const int64_t *__restrict__ indices, T *__restrict__ grad_in,
                                           long long total) {
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total;
         e += (long long)gridDim.x * blockDim.x) {
        long long w = e % g.w, h = (e / g.w) % g.h, plane = e / (g.w * g.h), at = h * g.w + w;
        const T *go = grad_out + plane * g.out_h * g.out_w;
        const int64_t *ix = indices + plane * g.out_h * g.out_w;
        // the outputs whose window can hold (h, w) (a superset when dilated); the saved indices decide
        long long reach_h = (g.kernel_h - 1) * g.dilation_h + 1, reach_w = (g.kernel_w - 1) * g.dilation_w + 1;
        long long ph0 = h + g.pad_h < reach_h ? 0 : (h + g.pad_h - reach_h) / g.stride_h + 1;
        long long pw0 = w + g.pad_w < reach_w ? 0 : (w + g.pad_w - reach_w) / g.stride_w + 1;
        long long ph1 = min((h + g.pad_h) / g.stride_h + 1, (long long)g.out_h);
        long long pw1 = min((w + g.pad_w) / g.stride_w + 1, (long long)g.out_w);
        T sum = 0;
        for (long long ph = ph0; ph < ph1; ph++)
            for (long long pw = pw0; pw < pw1; pw++)
                if (ix[ph * g.out_w + pw] == at) sum += go[ph * g.out_w + pw];
        grad_in[e] = sum;
    }
}

template <typename T> ct_status im2col_as(const ct__window2d &g, const void *in, void *cols) {
    long long total = g.batch * g.channels * g.kernel_h * g.kernel_w * g.out_h * g.out_w;
    if (total == 0) return CT_OK;
    im2col_kernel<T><<<ct__cuda_blocks(total), CT_CUDA_THREADS>>>(g, (const T *)in, (T *)cols, total);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

template <typename T> ct_status col2im_as(const ct__window2d &g, const void *cols, void *grad_in) {
    long long total = g.batch * g.channels * g.h * g.w;
    if (total == 0) return CT_OK;
    col2im_kernel<T><<<ct__cuda_blocks(total), CT_CUDA_THREADS>>>(g, (const T *)cols, (T *)grad_in, total);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

template <typename T> ct_status pool_as(const ct__window2d &g, const void *in, void *out, int64_t *indices) {
    long long total = g.batch * g.channels * g.out_h * g.out_w;
    if (total == 0) return CT_OK;
    max_pool2d_kernel<T><<<ct__cuda_blocks(total), CT_CUDA_THREADS>>>(g, (const T *)in, (T *)out, indices, total);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

template <typename T>
ct_status unpool_as(const ct__window2d &g, const void *grad_out, const int64_t *indices, void *grad_in) {
    long long total = g.batch * g.channels * g.h * g.w;
    if (total == 0) return CT_OK;
    max_pool2d_backward_kernel<T><<<ct__cuda_blocks(total), CT_CUDA_THREADS>>>(g, (const T *)grad_out, indices,
                                                                               (T *)grad_in, total);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

ct_status bad_dtype(const char *func, ct_dtype dtype) {
    return ct__error(CT_ERR_NOT_IMPLEMENTED, func, "%s is not supported", ct_dtype_name(dtype));
}

} // namespace

extern "C" ct_status ct__cuda_im2col(int dev, const ct__window2d *g, ct_dtype dtype, const void *input, void *cols) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    if (dtype == CT_FLOAT32) return im2col_as<float>(*g, input, cols);
    if (dtype == CT_FLOAT64) return im2col_as<double>(*g, input, cols);
    return bad_dtype(__func__, dtype);
}

extern "C" ct_status ct__cuda_col2im(int dev, const ct__window2d *g, ct_dtype dtype, const void *cols,
                                     void *grad_input) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    if (dtype == CT_FLOAT32) return col2im_as<float>(*g, cols, grad_input);
    if (dtype == CT_FLOAT64) return col2im_as<double>(*g, cols, grad_input);
    return bad_dtype(__func__, dtype);
}

extern "C" ct_status ct__cuda_max_pool2d(int dev, const ct__window2d *g, ct_dtype dtype, const void *input, void *out,
                                         int64_t *indices) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    if (dtype == CT_FLOAT32) return pool_as<float>(*g, input, out, indices);
    if (dtype == CT_FLOAT64) return pool_as<double>(*g, input, out, indices);
    return bad_dtype(__func__, dtype);
}

extern "C" ct_status ct__cuda_max_pool2d_backward(int dev, const ct__window2d *g, ct_dtype dtype, const void *grad_out,
                                                  const int64_t *indices, void *grad_input) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    if (dtype == CT_FLOAT32) return unpool_as<float>(*g, grad_out, indices, grad_input);
    if (dtype == CT_FLOAT64) return unpool_as<double>(*g, grad_out, indices, grad_input);
    return bad_dtype(__func__, dtype);
}
