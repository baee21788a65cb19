/* The backward functions of the conv family and the recording calls of its front end
 * (runtime/autograd/backward_conv.h). With G the gradient of the result:
 *
 *   conv2d       d input  = col2im(W^T @ G) per group (ct__conv2d_input_backward)
 *                d weight = sum over the batch of G @ im2col(input)^T per group (ct__conv2d_weight_backward)
 *                d bias   = G summed over N, oH, oW
 *   max_pool2d   d input  = G added at the saved argmax of each window (ties went to the first element, so the
 *                gradient does too, as in PyTorch's CPU kernel)
 *
 * A conv2d node saves the input only when the weight needs a gradient and the weight only when the input does;
 * iargs[0..6] hold stride, padding, dilation and groups, iargs[7] and iargs[8] the saved index of input and weight
 * (-1: not saved). These backwards are not themselves recorded (no double backward through conv2d or max_pool2d). */
#include "autograd/backward_conv.h"
#include "ctorch/reduce.h"

static ct__conv2d_args node_args(const ct__node *n) {
    ct__conv2d_args a = {{n->iargs[0], n->iargs[1]}, {n->iargs[2], n->iargs[3]}, {n->iargs[4], n->iargs[5]},
                         n->iargs[6]};
    return a;
}

/* The saved tensor whose index is in iargs[slot], NULL with the error set. */
static const ct_tensor *saved_at(ct__node *n, int slot) {
    if (n->iargs[slot] < 0) {
        CT_FAIL(CT_ERR_STATE, "%s: operand %d was not saved", n->name, slot);
        return NULL;
    }
    return ct__saved(n, (int)n->iargs[slot]);
}

/* Inputs: input, weight, bias. */
static ct_status conv2d_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    ct__conv2d_args a = node_args(n);
    if (n->needs_grad[0]) {
        const ct_tensor *w = saved_at(n, 8);
        if (!(gi[0] = w ? ct__conv2d_input_backward(grad, w, n->in_shape[0], &a) : NULL)) return ct_last_status();
    }
    if (n->needs_grad[1]) {
        const ct_tensor *x = saved_at(n, 7);
        if (!(gi[1] = x ? ct__conv2d_weight_backward(grad, x, n->in_shape[1], &a) : NULL)) return ct_last_status();
    }
    if (n->needs_grad[2] && !(gi[2] = ct_sum(grad, 3, (int[]){0, 2, 3}, false))) return ct_last_status();
    return CT_OK;
}

ct_tensor *ct__record_conv2d(ct_tensor *out, const ct_tensor *input, const ct_tensor *weight, const ct_tensor *bias,
                             const ct__conv2d_args *a) {
    const ct_tensor *in[3] = {input, weight, bias};
    ct__node *node = out ? ct__record("ConvolutionBackward0", conv2d_backward, 3, in) : NULL;
    if (!node) return out;
    int64_t args[7] = {a->stride[0], a->stride[1], a->padding[0], a->padding[1], a->dilation[0], a->dilation[1],
                       a->groups};
    for (int i = 0; i < 7; i++) node->iargs[i] = args[i];
    node->iargs[7] = node->needs_grad[1] ? ct__save(node, input) : -1;
    node->iargs[8] = node->needs_grad[0] ? ct__save(node, weight) : -1;
    ct__attach(node, out);
    return out;
}

/* Inputs: input; saved: the indices; iargs[0..7]: kernel, stride, padding, dilation (h, w each). */
static ct_status max_pool2d_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const int64_t *in = n->in_shape[0], *k = n->iargs;
    ct__window2d g = {.batch = in[0], .channels = in[1], .h = in[2], .w = in[3], .kernel_h = k[0], .kernel_w = k[1],
                      .stride_h = k[2], .stride_w = k[3], .pad_h = k[4], .pad_w = k[5], .dilation_h = k[6],
                      .dilation_w = k[7], .out_h = grad->shape[2], .out_w = grad->shape[3]};
    const ct_tensor *indices = ct__saved(n, 0);
    if (!indices || !(gi[0] = ct__max_pool2d_backward(grad, indices, &g))) return ct_last_status();
    return CT_OK;
}

ct_tensor *ct__record_max_pool2d(ct_tensor *out, const ct_tensor *input, const ct_tensor *indices,
                                 const ct__window2d *g) {
    const ct_tensor *in[1] = {input};
    ct__node *node = out ? ct__record("MaxPool2DWithIndicesBackward0", max_pool2d_backward, 1, in) : NULL;
    if (!node) return out;
    int64_t args[8] = {g->kernel_h, g->kernel_w, g->stride_h, g->stride_w, g->pad_h, g->pad_w, g->dilation_h,
                       g->dilation_w};
    for (int i = 0; i < 8; i++) node->iargs[i] = args[i];
    ct__save(node, indices);
    ct__attach(node, out);
    return out;
}
