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
