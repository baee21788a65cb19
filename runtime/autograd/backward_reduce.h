/* Autograd of the reduce family (include/ctorch/reduce.h): the calls with which its front end
 * (runtime/ops/reduce.c) records a result's node. The backward functions themselves live in
 * runtime/autograd/backward_reduce.c.
 *
 * Each call takes the result the front end just computed (NULL passes through), records a node on it when grad mode
 * is on and the input requires grad, saves what its backward needs, and returns the result. Nothing is recorded for
 * an input that does not require grad (an integer tensor never does). */
#ifndef CTORCH_BACKWARD_REDUCE_H
#define CTORCH_BACKWARD_REDUCE_H

#include "autograd/autograd.h"

/* The reductions over a set of dims, one entry per backward rule. */
typedef enum {
    CT__GRAD_SUM,
    CT__GRAD_MEAN,
    CT__GRAD_PROD,
    CT__GRAD_AMAX,
    CT__GRAD_AMIN,
    CT__GRAD_MAX_ALL, /* torch.max(t): the gradient is split among the maxima (NaN ones when the result is NaN) */
    CT__GRAD_MIN_ALL,
    CT__GRAD_LOGSUMEXP,
    CT__GRAD_NORM,          /* param: ord */
    CT__GRAD_VAR,           /* param: correction */
    CT__GRAD_STD,           /* param: correction */
    CT__GRAD_VAR_MEAN_VAR,  /* var_mean's first result (param: correction) */
    CT__GRAD_VAR_MEAN_MEAN, /* var_mean's second result */
    CT__GRAD_STD_MEAN_STD,
    CT__GRAD_STD_MEAN_MEAN,
    CT__GRAD_NUM_REDUCTIONS
} ct__reduce_grad;

/* out = the reduction `kind` of t over the dims in mask (as parsed from ndims dims: ndims == 0 is "every dim", which
 * picks PyTorch's dim-less node name, e.g. SumBackward0 rather than SumBackward1). */
ct_tensor *ct__record_reduction(ct__reduce_grad kind, const ct_tensor *t, ct_tensor *out, int ndims, const bool *mask,
                                bool keepdim, double param);

/* values = torch.max(t, dim, keepdim).values (largest) or torch.min's: the gradient goes to indices. */
ct_tensor *ct__record_extreme_dim(bool largest, const ct_tensor *t, ct_tensor *values, const ct_tensor *indices,
                                  int dim, bool keepdim);

/* The ops along one dim: results of t's shape. */
typedef enum { CT__GRAD_CUMSUM, CT__GRAD_CUMPROD, CT__GRAD_SOFTMAX, CT__GRAD_LOG_SOFTMAX } ct__along_dim_grad;

ct_tensor *ct__record_along_dim(ct__along_dim_grad kind, const ct_tensor *t, ct_tensor *out, int dim);

#endif
