/* ctorch/conv.h: 2-D convolution and 2-D max pooling (torch.nn.functional.conv2d and max_pool2d).
 *
 * Semantics and error words are PyTorch's. Inputs are NCHW ([N, C, H, W], or an unbatched [C, H, W] that gives an
 * unbatched result); any strides are accepted (a non-contiguous input is copied first). Dtypes: float32 and float64;
 * every tensor of one call has the same dtype and device. Both ops record autograd (grad input, grad weight, grad
 * bias; max pooling routes each output's gradient to the input element it took).
 *
 * How they run: conv2d is im2col + GEMM (OpenBLAS on the CPU, cuBLAS on CUDA, through the linalg family's GEMM
 * launchers), its backward col2im + GEMM; max pooling is a direct loop over each window. Ties in a max-pooling window
 * go to the first element in row-major order, and a NaN is taken as the maximum, as in PyTorch.
 *
 * Every function returns a new contiguous tensor carrying one reference (tensor.h), or NULL with ct_last_error() set,
 * e.g. "ct_conv2d: Given groups=1, weight of size [4, 3, 3, 3], expected input[2, 5, 8, 8] to have 3 channels, but
 * got 5 channels instead" or "ct_max_pool2d: Given input size: (3x1x1). Calculated output size: (3x0x0). Output size
 * is too small". The int64_t[2] arguments are {height, width}; NULL means PyTorch's default. */
#ifndef CTORCH_CONV_H
#define CTORCH_CONV_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* F.conv2d(input, weight, bias, stride, padding, dilation, groups).
 *   input   [N, C, H, W] or [C, H, W]
 *   weight  [O, C / groups, kH, kW]; O divisible by groups
 *   bias    [O], or NULL for none (a NULL bias is not taken as the failed result of an earlier call)
 *   stride  {sH, sW} > 0 (NULL: {1, 1}); padding {pH, pW} >= 0, zeros (NULL: {0, 0}); dilation {dH, dW} > 0
 *   (NULL: {1, 1}); groups > 0.
 * Result [N, O, oH, oW] (or [O, oH, oW]) with oH = (H + 2 pH - dH (kH - 1) - 1) / sH + 1, likewise oW.
 * Errors: wrong ndim ("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [3, 8]"),
 * channel or group mismatch, a bias of the wrong size, non-positive stride/dilation/groups, negative padding, a
 * dilated kernel larger than the padded input ("Kernel size can't be greater than actual input size"), dtypes or
 * devices that differ ("Input type (torch.FloatTensor) and weight type (torch.DoubleTensor) should be the same"),
 * integer or bool dtypes (CT_ERR_NOT_IMPLEMENTED). */
ct_tensor *ct_conv2d(const ct_tensor *input, const ct_tensor *weight, const ct_tensor *bias, const int64_t *stride,
                     const int64_t *padding, const int64_t *dilation, int64_t groups);

/* F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode): the maximum of each (dilated) window.
 *   input   [N, C, H, W] or [C, H, W], with C, H, W > 0 (N may be 0)
 *   kernel  {kH, kW} > 0 (required); stride {sH, sW} (NULL, or {0, 0}: the kernel size); padding {pH, pW} with
 *   0 <= p <= k / 2 (NULL: {0, 0}; padded positions never win); dilation {dH, dW} > 0 (NULL: {1, 1}).
 * Output size per dim: (H + 2 pH - dH (kH - 1) - 1 (+ sH - 1 with ceil_mode)) / sH + 1, and with ceil_mode one less
 * when the last window would start in the right padding. Errors in PyTorch's words: "kernel size should be greater
 * than zero, but got kH: 0 kW: 2", "stride should not be zero", "pad should be at most half of effective kernel size,
 * but got pad=2, kernel_size=2 and dilation=1", "Given input size: (3x1x1). Calculated output size: (3x0x0). Output
 * size is too small", ... */
ct_tensor *ct_max_pool2d(const ct_tensor *input, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                         const int64_t *dilation, bool ceil_mode);

/* ct_max_pool2d that also gives, in *indices (a new int64 tensor of the result's shape, one reference, which the
 * caller releases; NULL on failure), the position of each maximum flattened within its input plane (h * W + w), as
 * F.max_pool2d(..., return_indices=True). indices must not be NULL. */
ct_tensor *ct_max_pool2d_with_indices(const ct_tensor *input, const int64_t *kernel, const int64_t *stride,
                                      const int64_t *padding, const int64_t *dilation, bool ceil_mode,
                                      ct_tensor **indices);

#ifdef __cplusplus
}
#endif
#endif
