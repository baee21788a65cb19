/* ctorch's own float32 and float64 GEMM for CPUs with AVX-512 (runtime/cpu/gemm_avx512.c), used by runtime/cpu/blas.c
 * in place of OpenBLAS for the shapes where it measures faster (the rule is in blas.c's top comment). */
#ifndef CTORCH_CPU_GEMM_AVX512_H
#define CTORCH_CPU_GEMM_AVX512_H

#include <stdbool.h>

#include "kernels/blas.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether this CPU runs the AVX-512 GEMM (checked once, at the first call). */
bool ct__gemm_avx512_available(void);

/* The float32 GEMM of the descriptor g (kernels/blas.h) with beta == 0 or 1 or other, bias or none, k >= 1;
 * the caller has checked ct__gemm_avx512_available() and g->dtype == CT_FLOAT32. Splits the work across the CPU
 * pool (parallel.h); the result does not depend on the number of threads. Returns CT_OK, or an error when the
 * packing buffers cannot be allocated. */
ct_status ct__gemm_avx512_f32(const ct__gemm *g);

/* The same for g->dtype == CT_FLOAT64. */
ct_status ct__gemm_avx512_f64(const ct__gemm *g);

#ifdef __cplusplus
}
#endif
#endif
