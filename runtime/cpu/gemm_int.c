/* The integer GEMM of the CPU (int64, int32, uint8), for mm, bmm, matmul, addmm, linear, mv and dot of integer
 * tensors, as PyTorch's CPU runs them (its CUDA does not: the front end refuses integer products there).
 *
 * Arithmetic wraps modulo 2^width, as PyTorch's: everything is computed in the unsigned type of the same width, so
 * overflow is defined, and alpha * (A B) + beta * C is the same as accumulating alpha * a * b onto beta * C. alpha and
 * beta arrive as doubles and are truncated toward zero to the integer type (PyTorch converts its Scalars so:
 * addmm(..., alpha=2.7) multiplies by 2); beta == 0 does not read C, and a bias row replaces beta * C.
 *
 * Each row of C is one piece of work on the CPU pool: C[i, :] += (alpha A[i, p]) B[p, :] for p < k, the inner loop
 * over contiguous columns of B (which GCC vectorises). A transposed B is first copied to row-major, once per batch
 * item. The order of the additions is fixed, so results do not depend on the thread count (integers are exact
 * anyway). */
#include <stdlib.h>
#include <string.h>

#include "clones.h"
#include "kernels/blas.h"
#include "parallel.h"

typedef struct int_gemm_job {
    const ct__gemm *g;
    const void *a, *b; /* this batch item's A, and B as row-major k x n (ldb_rows between rows) */
    void *c;
    int64_t ldb_rows;
} int_gemm_job;

/* Truncation toward zero of a double to the unsigned type U, wrapping as a conversion through int64 does. */
#define SCALAR_OF(U, x) ((U)(uint64_t)(int64_t)(x))

#define DEFINE_INT_GEMM(S, T, U)                                                                                      \
    CT__LOOP_CLONES static void rows_##S(int64_t begin, int64_t end, void *ctx) {                                     \
        const int_gemm_job *j = ctx;                                                                                  \
        const ct__gemm *g = j->g;                                                                                     \
        const T *a = j->a, *b = j->b, *bias = g->bias;                                                                \
        const U alpha = SCALAR_OF(U, g->alpha), beta = SCALAR_OF(U, g->beta);                                        \
        for (int64_t i = begin; i < end; i++) {                                                                       \
            T *c = (T *)j->c + i * g->ldc;                                                                            \
            if (bias)                                                                                                 \
                for (int64_t q = 0; q < g->n; q++) c[q] = bias[q];                                                    \
            else if (g->beta == 0)                                                                                    \
                for (int64_t q = 0; q < g->n; q++) c[q] = 0;                                                          \
            else                                                                                                      \
                for (int64_t q = 0; q < g->n; q++) c[q] = (T)(U)(beta * (U)c[q]);                                    \
            for (int64_t p = 0; p < g->k; p++) {                                                                      \
                const U s = (U)(alpha * (U)(g->trans_a ? a[p * g->lda + i] : a[i * g->lda + p]));                      \
                const T *brow = b + p * j->ldb_rows;                                                                  \
                _Pragma("omp simd") /* C is a fresh output: it never overlaps B */                                 \
                for (int64_t q = 0; q < g->n; q++) c[q] = (T)(U)((U)c[q] + (U)(s * (U)brow[q]));                       \
            }                                                                                                         \
        }                                                                                                             \
    }                                                                                                                 \
    /* B_item^T (stored n x k) into row-major k x n at dst. */                                                        \
    static void transpose_b_##S(const ct__gemm *g, const void *bv, void *dv) {                                        \
        const T *b = bv;                                                                                              \
        T *dst = dv;                                                                                                  \
        for (int64_t p = 0; p < g->k; p++)                                                                            \
            for (int64_t q = 0; q < g->n; q++) dst[p * g->n + q] = b[q * g->ldb + p];                                 \
    }

DEFINE_INT_GEMM(i64, int64_t, uint64_t)
DEFINE_INT_GEMM(i32, int32_t, uint32_t)
DEFINE_INT_GEMM(u8, uint8_t, uint8_t)

ct_status ct__cpu_gemm_int(const ct__gemm *g) {
    ct__range_fn rows;
    void (*transpose_b)(const ct__gemm *, const void *, void *);
    switch (g->dtype) {
    case CT_INT64: rows = rows_i64, transpose_b = transpose_b_i64; break;
    case CT_INT32: rows = rows_i32, transpose_b = transpose_b_i32; break;
    case CT_UINT8: rows = rows_u8, transpose_b = transpose_b_u8; break;
    default: return CT_FAIL(CT_ERR_NOT_IMPLEMENTED, "integer GEMM of %s", ct_dtype_name(g->dtype));
    }
    size_t es = ct_dtype_size(g->dtype);
    void *packed = NULL;
    if (g->trans_b && g->k > 0 && g->n > 0 && !(packed = malloc((size_t)(g->k * g->n) * es)))
        return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory: a %lld x %lld copy of B for an integer GEMM",
                       (long long)g->k, (long long)g->n);
    /* rows of about 64K multiply-adds per piece of pool work at least */
    int64_t per_row = g->n * (g->k + 1) + 1, grain = 65536 / per_row + 1;
    for (int64_t item = 0; item < g->batch; item++) {
        const char *b = (const char *)g->b + (size_t)(item * g->stride_b) * es;
        if (packed && (item == 0 || g->stride_b != 0)) transpose_b(g, b, packed);
        int_gemm_job j = {g, (const char *)g->a + (size_t)(item * g->stride_a) * es, packed ? packed : b,
                          (char *)g->c + (size_t)(item * g->stride_c) * es, packed ? g->n : g->ldb};
        ct__parallel_for(g->m, grain, rows, &j);
    }
    free(packed);
    return CT_OK;
}
