/* Autograd of the linalg family: the recording calls its front end (runtime/ops/linalg.c) makes after computing a
 * product; the backward functions are in backward_linalg.c.
 *
 * Each call takes the result (NULL when the forward failed: then nothing happens and NULL comes back) and the
 * operands, records a node on the result when grad mode is on and an operand requires grad, and returns the
 * result. */
#ifndef CTORCH_BACKWARD_LINALG_H
#define CTORCH_BACKWARD_LINALG_H

#include "autograd/autograd.h"

/* dot, mv, mm, bmm and matmul (every broadcasting case): out = a @ b. name is the grad_fn's name. */
ct_tensor *ct__record_matmul(ct_tensor *out, const ct_tensor *a, const ct_tensor *b, const char *name);
/* out = beta * input + alpha * (mat1 @ mat2). */
ct_tensor *ct__record_addmm(ct_tensor *out, const ct_tensor *input, const ct_tensor *mat1, const ct_tensor *mat2,
                            double beta, double alpha);
/* out = x @ weight^T + bias (bias may be NULL). */
ct_tensor *ct__record_linear(ct_tensor *out, const ct_tensor *x, const ct_tensor *weight, const ct_tensor *bias);

#endif
