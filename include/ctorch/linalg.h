/* ctorch/linalg.h: matrix products: dot, mv, mm, bmm, matmul, addmm, linear.
 *
 * Semantics and error words are PyTorch's. The CPU runs ctorch's own AVX-512 GEMM for float32/float64 products of
 * 96^3 / 64^3 multiply-adds and more (where the CPU has AVX-512), OpenBLAS (cblas_sgemm/dgemm) for the rest, and a
 * plain wrapping loop for integers; CUDA runs cuBLAS (one handle per device, made on first use; strided-batched
 * GEMM for batches) and, for ct_linear with a bias, cuBLASLt with the bias fused into the GEMM's epilogue. A
 * transposed operand (a view whose last two dims are swapped, as ct_t or ct_transpose give) reaches the GEMM as a
 * transpose flag, not as a copy; operands whose strides it cannot describe are made contiguous first.
 *
 * Dtypes: float32 and float64 on every device; int64, int32 and uint8 on the CPU, as PyTorch's CPU (arithmetic
 * wraps; addmm's alpha and beta are truncated to the dtype, and CT_ERR_INVALID_ARGUMENT "value cannot be converted
 * to type int without overflow" when they do not fit). Integer products on CUDA and bool products anywhere are
 * CT_ERR_NOT_IMPLEMENTED with PyTorch's words ("\"addmm_cuda\" not implemented for 'Long'", "\"addmm_impl_cpu_\"
 * not implemented for 'Bool'"). Both operands (and an addmm input or a linear bias) must have the same dtype, as in
 * PyTorch ("expected m1 and m2 to have the same dtype, but got: float != double"). float32 matmuls on CUDA use TF32
 * tensor cores only when ct_set_allow_tf32(true) was called (ops.h); they are off by default.
 *
 * Every function returns a new contiguous tensor carrying one reference (tensor.h), or NULL with ct_last_error()
 * set, e.g. "ct_mm: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)". */
#ifndef CTORCH_LINALG_H
#define CTORCH_LINALG_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Dot product of two 1-D tensors of the same size: a 0-d tensor (torch.dot). */
ct_tensor *ct_dot(const ct_tensor *a, const ct_tensor *b);

/* Matrix (n x m) times vector (m): a vector (n) (torch.mv). */
ct_tensor *ct_mv(const ct_tensor *mat, const ct_tensor *vec);

/* Matrix product of a (n x k) and b (k x m): n x m (torch.mm). Both must be 2-D. */
ct_tensor *ct_mm(const ct_tensor *a, const ct_tensor *b);

/* Batched matrix product of a (B x n x k) and b (B x k x m): B x n x m (torch.bmm). Both must be 3-D with the same
 * batch size (no broadcasting; ct_matmul broadcasts). */
ct_tensor *ct_bmm(const ct_tensor *a, const ct_tensor *b);

/* torch.matmul: 1-D x 1-D is the dot product (0-d); 2-D x 2-D the matrix product; a 1-D first operand is a row
 * vector (its dim removed from the result), a 1-D second operand a column vector (likewise); with 3 or more dims
 * the leading dims are batch dims and broadcast against each other, e.g. (2, 1, 3, 4) x (5, 4, 6) -> (2, 5, 3, 6).
 * Neither operand may be 0-d. */
ct_tensor *ct_matmul(const ct_tensor *a, const ct_tensor *b);

/* beta * input + alpha * (mat1 @ mat2) (torch.addmm). mat1 (n x k) and mat2 (k x m) are 2-D; input broadcasts to
 * n x m. With beta == 0 input is not read (NaN and inf in it do not propagate), as in PyTorch. */
ct_tensor *ct_addmm(const ct_tensor *input, const ct_tensor *mat1, const ct_tensor *mat2, double beta, double alpha);

/* y = x @ weight^T + bias (F.linear). x is (*, in_features), weight (out_features, in_features), bias NULL or
 * broadcastable to the result (usually (out_features)); the result is (*, out_features). weight must be 2-D.
 * NULL bias means "no bias": unlike x and weight, a NULL bias is not taken as the failed result of an earlier call. */
ct_tensor *ct_linear(const ct_tensor *x, const ct_tensor *weight, const ct_tensor *bias);

#ifdef __cplusplus
}
#endif
#endif
