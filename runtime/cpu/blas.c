/* CPU GEMM (kernels/blas.h): float32 and float64 on ctorch's own AVX-512 GEMM (gemm_avx512.c) where the CPU has
 * AVX-512 and the product is not tiny, everything else on OpenBLAS: one cblas_sgemm/dgemm per batch item, row-major,
 * with the operands' transpose flags and leading dims passed through (no copies here). OpenBLAS threads each call
 * itself, except in a batch of small products, which the CPU pool splits by item (below). The bias rows and the
 * k == 0 case (where only beta * C remains) are done here for OpenBLAS, so BLAS never sees an empty inner dim; the
 * AVX-512 GEMM applies beta and bias in its store. Integer products go to gemm_int.c.
 *
 * The routing rule, from measurements on the 2-core Sapphire Rapids machine (2 threads, best of several runs on a
 * quiet machine, ms, own GEMM vs OpenBLAS 0.3.21; PyTorch with MKL for reference):
 *   float32
 *     square 32^3         0.0005  vs 0.0004   (PyTorch 0.0012)   OpenBLAS
 *     square 64^3         0.0029  vs 0.0023   (PyTorch 0.0044)   OpenBLAS
 *     square 128^3        0.0135  vs 0.0213   (PyTorch 0.0143)   own
 *     square 256^3        0.085   vs 0.111    (PyTorch 0.088)    own
 *     square 512^3        0.675   vs 0.767    (PyTorch 0.684)    own
 *     square 1024^3       5.31    vs 5.44     (PyTorch 5.51)     own
 *     square 2048^3       44.0    vs 44.1     (PyTorch 43.4)     own
 *     im2col 50176x16x9   0.101   vs 0.451    (PyTorch 0.066)    own (A read in place: n <= 64)
 *     im2col 12544x32x144 0.336   vs 0.668    (PyTorch 0.290)    own (the same)
 *     W @ col 32x12544x144 0.532  vs 0.569    (PyTorch 0.397)    own
 *     linear 512x4096x1024 + bias 11.9 vs 12.3 (PyTorch 11.5)   own
 *     A^T 1024^3          5.36    vs 5.71     (PyTorch 5.72)     own
 *     bmm 8x256x256x64    0.174   vs 0.207    (PyTorch 0.173)    own
 *   float64 (measured on a machine shared with other builds: best of 4-8 interleaved runs)
 *     square 32^3         0.0009  vs 0.0007   (PyTorch 0.0019)   OpenBLAS
 *     square 48^3         0.0022  vs 0.0022   (PyTorch 0.0034)   either
 *     square 64^3         0.0046  vs 0.0051   (PyTorch 0.0059)   own
 *     square 96^3         0.0117  vs 0.0170   (PyTorch 0.0126)   own
 *     square 128^3        0.0275  vs 0.0390   (PyTorch 0.0266)   own
 *     square 256^3        0.187   vs 0.248    (PyTorch 0.185)    own
 *     square 512^3        1.52    vs 1.68     (PyTorch 1.50)     own
 *     square 1024^3       12.3    vs 13.6     (PyTorch 11.4)     own (175 vs 157 GFLOP/s; PyTorch 189)
 *     square 2048^3       100.8   vs 105.4    (PyTorch 97.4)     own
 *     linear 512x4096x1024 + bias 25.5 vs 26.9 (PyTorch 25.7)   own
 *     A^T 1024^3          12.7    vs 13.8     (PyTorch 11.5)     own
 *     B^T 1024^3          12.5    vs 13.9     (PyTorch 11.4)     own
 *     bmm 8x256x256x64    0.391   vs 0.502    (PyTorch 0.372)    own
 * So: float32 with m * n * k >= OWN_MIN_MNK_F32 = 96^3 and float64 with m * n * k >= OWN_MIN_MNK_F64 = 64^3 (per
 * batch item) go to the own GEMM; smaller products, where OpenBLAS's lighter setup wins (both are far ahead of
 * PyTorch there), stay on OpenBLAS. The own GEMM's results do not depend on the thread count; OpenBLAS's float64
 * ones do for some shapes (64x900x100: dgemm on 1 and 2 threads differ in the last bits), one more reason to take
 * float64 to the own GEMM early. */
#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "gemm_avx512.h"
#include "kernels/blas.h"
#include "parallel.h"

/* cblas takes int sizes (OpenBLAS's default 32-bit interface). */
static bool fits_int(const ct__gemm *g) {
    int64_t v[] = {g->m, g->n, g->k, g->lda, g->ldb, g->ldc};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i] > INT_MAX) return false;
    return true;
}

/* Sets every row of every C_b to the bias row. */
static void bias_rows(const ct__gemm *g) {
    size_t es = ct_dtype_size(g->dtype), row = (size_t)g->n * es;
    for (int64_t b = 0; b < g->batch; b++)
        for (int64_t r = 0; r < g->m; r++) memcpy((char *)g->c + (size_t)(b * g->stride_c + r * g->ldc) * es, g->bias, row);
}

/* C_b = beta * C_b, with beta == 0 writing zeros (so NaN in C do not survive, as BLAS does). */
static void scale_c(const ct__gemm *g, double beta) {
    for (int64_t b = 0; b < g->batch; b++)
        for (int64_t r = 0; r < g->m; r++) {
            int64_t at = b * g->stride_c + r * g->ldc;
            if (g->dtype == CT_FLOAT32) {
                float *c = (float *)g->c + at;
                for (int64_t j = 0; j < g->n; j++) c[j] = beta == 0 ? 0.0f : (float)beta * c[j];
            } else {
                double *c = (double *)g->c + at;
                for (int64_t j = 0; j < g->n; j++) c[j] = beta == 0 ? 0.0 : beta * c[j];
            }
        }
}

/* A batch of small products is split across the CPU pool (parallel.h) by this code, a batch item per piece, each
 * one single-threaded BLAS call. OpenBLAS would thread every item's call itself: each call hands its work to its
 * worker threads and waits for them, once per batch item, and on a busy machine a worker that is not running
 * holds every call up. A single product, or a batch of large ones, goes to BLAS whole, which threads it (for one
 * product it shares the packed panels between its threads, which independent calls on row blocks would not: tried,
 * and slower at 128^3 and 256^3). */
#define SPLIT_MAX_FLOPS (2.0 * 512 * 512 * 512) /* per batch item */

typedef struct gemm_job {
    const ct__gemm *g;
    double beta;
} gemm_job;

/* Batch items [begin, end). */
static void gemm_items(int64_t begin, int64_t end, void *ctx) {
    const gemm_job *j = ctx;
    const ct__gemm *g = j->g;
    enum CBLAS_TRANSPOSE ta = g->trans_a ? CblasTrans : CblasNoTrans, tb = g->trans_b ? CblasTrans : CblasNoTrans;
    int m = (int)g->m, n = (int)g->n, k = (int)g->k, lda = (int)g->lda, ldb = (int)g->ldb, ldc = (int)g->ldc;
    for (int64_t b = begin; b < end; b++) {
        if (g->dtype == CT_FLOAT32)
            cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, (float)g->alpha, (const float *)g->a + b * g->stride_a, lda,
                        (const float *)g->b + b * g->stride_b, ldb, (float)j->beta, (float *)g->c + b * g->stride_c,
                        ldc);
        else
            cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, g->alpha, (const double *)g->a + b * g->stride_a, lda,
                        (const double *)g->b + b * g->stride_b, ldb, j->beta, (double *)g->c + b * g->stride_c, ldc);
    }
}

/* Whether the product g goes to ctorch's AVX-512 GEMM instead of OpenBLAS (the rule in the top comment). */
#define OWN_MIN_MNK_F32 (96.0 * 96 * 96)
#define OWN_MIN_MNK_F64 (64.0 * 64 * 64)

/* alpha == 0 stays on BLAS, which then skips the product (NaN and inf in A and B included). */
static bool use_own_gemm(const ct__gemm *g) {
    bool floating = g->dtype == CT_FLOAT32 || g->dtype == CT_FLOAT64;
    if (!floating || g->alpha == 0 || !ct__gemm_avx512_available()) return false;
    double mnk = (double)g->m * (double)g->n * (double)g->k;
    return mnk >= (g->dtype == CT_FLOAT32 ? OWN_MIN_MNK_F32 : OWN_MIN_MNK_F64);
}

ct_status ct__cpu_gemm(const ct__gemm *g) {
    if (g->batch == 0 || g->m == 0 || g->n == 0) return CT_OK;
    if (g->dtype == CT_INT64 || g->dtype == CT_INT32 || g->dtype == CT_UINT8) return ct__cpu_gemm_int(g);
    if (g->dtype != CT_FLOAT32 && g->dtype != CT_FLOAT64)
        return CT_FAIL(CT_ERR_NOT_IMPLEMENTED, "GEMM of %s", ct_dtype_name(g->dtype));
    if (!fits_int(g))
        return CT_FAIL(CT_ERR_NOT_IMPLEMENTED, "a matrix dim or leading dim beyond %d is not supported by BLAS", INT_MAX);
    if (g->k > 0 && use_own_gemm(g)) return g->dtype == CT_FLOAT32 ? ct__gemm_avx512_f32(g) : ct__gemm_avx512_f64(g);
    double beta = g->beta;
    if (g->bias) bias_rows(g), beta = 1;
    if (g->k == 0) {
        if (beta != 1) scale_c(g, beta);
        return CT_OK;
    }
    gemm_job j = {g, beta};
    int threads = ct__parallel_threads();
    if (threads > 1 && g->batch >= threads && 2.0 * (double)g->m * (double)g->n * (double)g->k <= SPLIT_MAX_FLOPS) {
        int saved = openblas_get_num_threads();
        openblas_set_num_threads(1);
        ct__parallel_for(g->batch, 1, gemm_items, &j);
        openblas_set_num_threads(saved);
        return CT_OK;
    }
    gemm_items(0, g->batch, &j); /* one BLAS call per batch item, each threaded by BLAS */
    return CT_OK;
}
