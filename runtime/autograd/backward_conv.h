/* Autograd of the conv family: the recording calls its front end (runtime/ops/conv.c) makes after a forward; the
 * backward functions are in backward_conv.c.
 *
 * Each call takes the result (NULL when the forward failed: then nothing happens and NULL comes back) and the 4-D
 * operands, records a node on the result when grad mode is on and an operand requires grad, and returns the
 * result. */
#ifndef CTORCH_BACKWARD_CONV_H
#define CTORCH_BACKWARD_CONV_H

#include "autograd/autograd.h"
#include "ops/conv_internal.h"

/* out = conv2d(input, weight, bias) (bias may be NULL). */
ct_tensor *ct__record_conv2d(ct_tensor *out, const ct_tensor *input, const ct_tensor *weight, const ct_tensor *bias,
                             const ct__conv2d_args *a);
/* out = max_pool2d(input) over the window geometry g, whose maxima sit at indices. */
ct_tensor *ct__record_max_pool2d(ct_tensor *out, const ct_tensor *input, const ct_tensor *indices,
                                 const ct__window2d *g);

#endif
