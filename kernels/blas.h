/* The GEMM launchers of the linalg family (runtime/cpu/blas.c: OpenBLAS; kernels/blas.cu: cuBLAS and cuBLASLt),
 * and the one descriptor both receive. The front ends in runtime/ops/linalg.c reduce mm, bmm, matmul, addmm and
 * linear to it, passing transposed views as transpose flags instead of copying them. */
#ifndef CTORCH_KERNELS_BLAS_H
#define CTORCH_KERNELS_BLAS_H

#include <stdbool.h>

#include "launch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One batched GEMM in row-major terms: for each b < batch,
 *     C_b (m x n) = alpha * op(A_b) (m x k) @ op(B_b) (k x n) + beta * C_b
 * where op(X) = X when trans_x is false (X stored m x k, resp. k x n, row-major) and X^T when it is true (X stored
 * k x m, resp. n x k). ld* count the elements between two stored rows (>= max(1, stored columns)); stride_* the
 * elements between batch items (0 repeats one matrix for every item). With beta == 0, C is not read.
 * When bias is not NULL (n contiguous elements of dtype), every row of C_b is first set to bias, and beta is
 * taken as 1: C_b = alpha * op(A_b) op(B_b) + bias. k == 0 leaves beta * C_b (or the bias rows). */
typedef struct ct__gemm {
    ct_dtype dtype; /* CT_FLOAT32 or CT_FLOAT64; on the CPU also CT_INT64, CT_INT32, CT_UINT8 */
    int64_t batch, m, n, k;
    const void *a;
    int64_t lda, stride_a;
    bool trans_a;
    const void *b;
    int64_t ldb, stride_b;
    bool trans_b;
    void *c;
    int64_t ldc, stride_c;
    double alpha, beta;
    const void *bias;
    bool allow_tf32; /* float32 on CUDA: TF32 tensor cores allowed (ct_allow_tf32() at the call) */
} ct__gemm;

ct_status ct__cpu_gemm(const ct__gemm *g);
/* The integer (int64, int32, uint8) GEMM behind ct__cpu_gemm (runtime/cpu/gemm_int.c): wrapping arithmetic, alpha
 * and beta truncated to the type (the front end has checked they fit). */
ct_status ct__cpu_gemm_int(const ct__gemm *g);
#ifdef CTORCH_HAVE_CUDA
ct_status ct__cuda_gemm(int dev, const ct__gemm *g);
#endif

#ifdef __cplusplus
}
#endif
#endif
