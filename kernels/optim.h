/* The optimizer launchers: one update step of a parameter group, and the gradient-clipping passes, over a table of
 * contiguous tensors (runtime/cpu/optim.c, kernels/optim.cu). The front end (runtime/optim/) has checked shapes,
 * dtypes and devices, made every buffer contiguous and of one dtype, and computed the per-tensor scalars; the
 * launchers only do arithmetic, in PyTorch's order of operations and in the tensors' own dtype. */
#ifndef CTORCH_KERNELS_OPTIM_H
#define CTORCH_KERNELS_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "launch.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct__optim_algo { CT__OPTIM_SGD, CT__OPTIM_ADAM } ct__optim_algo;

/* The scalars of one group's update, shared by its tensors. */
typedef struct ct__optim_hyper {
    ct__optim_algo algo;
    double lr, weight_decay;
    double momentum, dampening; /* SGD */
    double beta1, beta2, eps;   /* Adam */
    bool nesterov, maximize, amsgrad;
    bool decoupled; /* AdamW: p *= 1 - lr * weight_decay, and no decay in the gradient */
} ct__optim_hyper;

/* One parameter's contiguous buffers (numel elements of the table's dtype each) and its own scalars.
 *   SGD:  buf[0] the momentum buffer (when momentum != 0); first: it is made now (buf = the gradient).
 *   Adam: buf[0] exp_avg, buf[1] exp_avg_sq, buf[2] max_exp_avg_sq (amsgrad); step_size = lr / (1 - beta1^step),
 *         bias_correction2_sqrt = sqrt(1 - beta2^step), for this parameter's own step count. */
typedef struct ct__optim_tensor {
    void *param;
    const void *grad;
    void *buf[3];
    int64_t numel;
    int first;
    double step_size, bias_correction2_sqrt;
} ct__optim_tensor;

/* One step over n tensors of dtype (float32 or float64). */
ct_status ct__cpu_optim_step(const ct__optim_hyper *h, ct_dtype dtype, const ct__optim_tensor *tensors, int n);
/* Sum over the n tensors (param field: the data) of |x|^p, or for p = INFINITY the largest |x| (NaN if any is
 * NaN), in float64, into *out. */
ct_status ct__cpu_foreach_norm(ct_dtype dtype, const ct__optim_tensor *tensors, int n, double p, double *out);
/* x *= scale (scale converted to dtype first, as PyTorch multiplies by a tensor of the gradients' dtype). */
ct_status ct__cpu_foreach_scale(ct_dtype dtype, const ct__optim_tensor *tensors, int n, double scale);
/* x = min(max(x, lo), hi), NaN kept. */
ct_status ct__cpu_foreach_clamp(ct_dtype dtype, const ct__optim_tensor *tensors, int n, double lo, double hi);

#ifdef CTORCH_HAVE_CUDA
/* Device bytes of the table that ct__cuda_optim_step and the foreach launchers need for n tensors: the caller
 * passes scratch device memory of at least that size, which must stay allocated until the launch has run (the
 * caching allocator's stream order gives that for a block released after the call). */
size_t ct__cuda_optim_table_bytes(int n);
/* The same operations as the CPU launchers, each one kernel launch over all n tensors on device dev. */
ct_status ct__cuda_optim_step(int dev, const ct__optim_hyper *h, ct_dtype dtype, const ct__optim_tensor *tensors,
                              int n, void *scratch);
ct_status ct__cuda_foreach_norm(int dev, ct_dtype dtype, const ct__optim_tensor *tensors, int n, double p,
                                double *out, void *scratch);
ct_status ct__cuda_foreach_scale(int dev, ct_dtype dtype, const ct__optim_tensor *tensors, int n, double scale,
                                 void *scratch);
ct_status ct__cuda_foreach_clamp(int dev, ct_dtype dtype, const ct__optim_tensor *tensors, int n, double lo,
                                 double hi, void *scratch);
#endif

#ifdef __cplusplus
}
#endif
#endif
