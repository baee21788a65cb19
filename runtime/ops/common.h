/* Helpers every op front end shares: broadcasting, type promotion, argument checks. */
#ifndef CTORCH_OPS_COMMON_H
#define CTORCH_OPS_COMMON_H

#include "core/internal.h"
#include "ctorch/ops.h"

/* The broadcast shape of a and b (PyTorch's rules); on mismatch reports
 * "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1". */
ct_status ct__broadcast_shapes(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out,
                               const char *func);

/* The dtype of op(a, b) under PyTorch's promotion: dimensioned tensors outrank 0-d tensors within a category
 * (bool < integer < floating), e.g. int64 tensor + 0-d float64 tensor -> float32 (the default float). */
ct_dtype ct__result_type(const ct_tensor *a, const ct_tensor *b);
/* The dtype of op(t, scalar): a floating scalar lifts a bool/integer tensor to float32, an integer scalar lifts a
 * bool tensor to int64, otherwise t's dtype. */
ct_dtype ct__result_type_scalar(const ct_tensor *t, bool scalar_is_floating);
/* The larger of two dtypes in the order bool < uint8 < int32 < int64 < float32 < float64. */
ct_dtype ct__promote_types(ct_dtype a, ct_dtype b);

/* Fails with CT_ERR_DEVICE "Expected all tensors to be on the same device, but found at least two devices, cpu and
 * cuda:0!" when a and b are on different devices. */
ct_status ct__check_same_device(const ct_tensor *a, const ct_tensor *b, const char *func);

/* PyTorch's ScalarType name of a dtype as its messages print it: "Float", "Double", "Long", "Int", "Byte", "Bool". */
const char *ct__scalar_type_name(ct_dtype d);
/* The C type name PyTorch's kernels print for a dtype ("float", "double", "long int", ...), as in matmul's
 * "expected m1 and m2 to have the same dtype, but got: float != double". */
const char *ct__c_type_name(ct_dtype d);

/* Fails with CT_ERR_NOT_IMPLEMENTED for the reserved dtypes (float16, bfloat16) that no kernel handles yet. */
ct_status ct__check_supported_dtype(const ct_tensor *t, const char *func);

#endif
