/* The conv family's internal ops (runtime/ops/conv.c) that its backward (runtime/autograd/backward_conv.c) calls:
 * the gradients of conv2d with respect to its input and its weight, and the max_pool2d backward. Like PyTorch's
 * convolution_backward and max_pool2d_with_indices_backward, they take 4-D tensors on one device, checked by the
 * forward already, and return a new contiguous tensor (NULL with the error set). They record nothing. */
#ifndef CTORCH_OPS_CONV_INTERNAL_H
#define CTORCH_OPS_CONV_INTERNAL_H

#include "core/internal.h"
#include "kernels/conv.h"

/* conv2d's scalar arguments. */
typedef struct ct__conv2d_args {
    int64_t stride[2], padding[2], dilation[2], groups;
} ct__conv2d_args;

/* d input [N, C, H, W] (input_shape) of conv2d from the gradient of its result grad [N, O, oH, oW] and weight. */
ct_tensor *ct__conv2d_input_backward(const ct_tensor *grad, const ct_tensor *weight, const int64_t *input_shape,
                                     const ct__conv2d_args *a);
/* d weight [O, C / groups, kH, kW] (weight_shape) of conv2d from grad [N, O, oH, oW] and input [N, C, H, W]. */
ct_tensor *ct__conv2d_weight_backward(const ct_tensor *grad, const ct_tensor *input, const int64_t *weight_shape,
                                      const ct__conv2d_args *a);
/* d input [N, C, H, W] of max_pool2d over the window geometry g (kernels/conv.h): each element of grad
 * [N, C, oH, oW] added to the input element its index (int64, of grad's shape, flattened per plane) names. */
ct_tensor *ct__max_pool2d_backward(const ct_tensor *grad, const ct_tensor *indices, const ct__window2d *g);

#endif
