/* ctorch/ops.h: global op settings and the registry of ops.
 *
 * The op families themselves are declared in elementwise.h, indexing.h, reduce.h, shape.h and linalg.h. */
#ifndef CTORCH_OPS_H
#define CTORCH_OPS_H

#include <stdbool.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Deterministic mode, like torch.use_deterministic_algorithms: when on, ops that accumulate (scatter_add,
 * scatter_reduce sum/mean, index_add and the backwards that use them) give bit-identical results run to run, and
 * an op with no deterministic path fails with CT_ERR_STATE instead of running. Off by default. Process-wide. */
void ct_use_deterministic_algorithms(bool on);
bool ct_are_deterministic_algorithms_enabled(void);

/* TF32 tensor-core math for float32 matmuls on CUDA, like torch.backends.cuda.matmul.allow_tf32. Off by default.
 * Process-wide. */
void ct_set_allow_tf32(bool on);
bool ct_allow_tf32(void);

/* Threads for the CPU kernels, like torch.set_num_threads / torch.get_num_threads. The default is OMP_NUM_THREADS
 * when set, else the number of CPUs this process may run on. The CPU kernels split large work across a pool of
 * n - 1 worker threads plus the calling thread (small work stays on the calling thread); n = 1 runs everything
 * serially on the calling thread. OpenBLAS (matmuls) gets the same count. Call it between ops, not while another
 * thread of the program is running ops.
 * Errors: CT_ERR_INVALID_ARGUMENT unless 1 <= n <= 1024; CT_ERR_STATE from inside a CPU kernel's work. */
ct_status ct_set_num_threads(int n);
int ct_get_num_threads(void);

/* The registry: every op ctorch implements, by its PyTorch name ("gather", "scatter_add_", ...). The op-test
 * harness lists the ops that have no test case, and (from autograd on) the differentiable ones with no gradient
 * check. */
int ct_op_count(void);
/* Name of op i (0 <= i < ct_op_count()), or NULL. */
const char *ct_op_name(int i);
bool ct_op_is_differentiable(int i);

#ifdef __cplusplus
}
#endif
#endif
