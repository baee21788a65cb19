/* The launchers of the conv family (runtime/cpu/conv.c, kernels/conv.cu): im2col and col2im for conv2d (whose GEMMs
 * run on the linalg family's launchers, kernels/blas.h), and max_pool2d forward and backward. The front ends in
 * runtime/ops/conv.c have checked everything; every buffer here is contiguous, of dtype float32 or float64 (indices
 * int64), on the launcher's device. */
#ifndef CTORCH_KERNELS_CONV_H
#define CTORCH_KERNELS_CONV_H

#include "launch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The geometry of one 2-D window op over `batch` images of `channels` planes of h x w, producing planes of
 * out_h x out_w: window (i, j) of output (oh, ow) reads input (oh * stride_h - pad_h + i * dilation_h,
 * ow * stride_w - pad_w + j * dilation_w); positions outside the plane are padding. */
typedef struct ct__window2d {
    int64_t batch, channels, h, w;
    int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
    int64_t out_h, out_w;
} ct__window2d;

/* cols [batch, channels * kernel_h * kernel_w, out_h * out_w] = the windows of input [batch, channels, h, w]: row
 * (c * kernel_h + i) * kernel_w + j of image n holds input[n, c] at the (i, j) position of every window (0 for
 * padding). */
ct_status ct__cpu_im2col(const ct__window2d *g, ct_dtype dtype, const void *input, void *cols);
/* The adjoint of im2col: grad_input [batch, channels, h, w] (overwritten) = the sum, over every cols entry, of that
 * entry into the input element it was read from. */
ct_status ct__cpu_col2im(const ct__window2d *g, ct_dtype dtype, const void *cols, void *grad_input);
/* out and indices [batch, channels, out_h, out_w] = the maximum of each window of input [batch, channels, h, w] and
 * its position h * w_in + w within the plane (the first of equal maxima; a NaN wins). */
ct_status ct__cpu_max_pool2d(const ct__window2d *g, ct_dtype dtype, const void *input, void *out, int64_t *indices);
/* grad_input [batch, channels, h, w] (overwritten) = the sum of grad_out over the outputs whose index names each
 * input element. */
ct_status ct__cpu_max_pool2d_backward(const ct__window2d *g, ct_dtype dtype, const void *grad_out,
                                      const int64_t *indices, void *grad_input);

#ifdef CTORCH_HAVE_CUDA
ct_status ct__cuda_im2col(int dev, const ct__window2d *g, ct_dtype dtype, const void *input, void *cols);
ct_status ct__cuda_col2im(int dev, const ct__window2d *g, ct_dtype dtype, const void *cols, void *grad_input);
ct_status ct__cuda_max_pool2d(int dev, const ct__window2d *g, ct_dtype dtype, const void *input, void *out,
                              int64_t *indices);
ct_status ct__cuda_max_pool2d_backward(int dev, const ct__window2d *g, ct_dtype dtype, const void *grad_out,
                                       const int64_t *indices, void *grad_input);
#endif

#ifdef __cplusplus
}
#endif
#endif
