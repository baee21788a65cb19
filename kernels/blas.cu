// CUDA GEMM (kernels/blas.h) on cuBLAS and cuBLASLt.
//
// One cuBLAS handle and one cuBLASLt handle per device, made on first use together with a cuBLASLt workspace, and
// kept for the life of the process; a per-device mutex serialises the calls that share them (the math mode is set
// on the handle per call, from the descriptor's allow_tf32, which the front end reads from ct_allow_tf32()).
//
// cuBLAS is column-major and our matrices are row-major. A row-major m x n matrix C with leading dim ldc is, read
// column-major, C^T (n x m) with the same leading dim, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T:
// B goes first, A second, m and n swap, and each operand keeps its own transpose flag. A batch is one
// cublas?gemmStridedBatched call (a stride of 0 repeats a matrix). A GEMM with a bias row (linear) first tries
// cuBLASLt with the bias fused into the epilogue (CUBLASLT_EPILOGUE_BIAS adds bias[i] to row i of the
// column-major result, i.e. to column i of ours); when cuBLASLt has no algorithm for the case it falls back to
// writing the bias rows and a beta = 1 GEMM.
//
// Every cuBLAS call is checked with CT_CUBLAS_CHECK, which turns a failure into a returned ct_status naming the call,
// the file, the line and cuBLAS's own words.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <limits.h>
#include <stdint.h>

#include <mutex>

#include "blas.h"
#include "cuda_check.h"

#define CT_CUBLAS_CHECK(call)                                                                                     \
    do {                                                                                                          \
        cublasStatus_t ct_st_ = (call);                                                                           \
        if (ct_st_ != CUBLAS_STATUS_SUCCESS)                                                                      \
            return ct__error(CT_ERR_CUDA, __func__, "%s failed at %s:%d: %s (%s)", #call, __FILE__, __LINE__,   \
                             cublasGetStatusString(ct_st_), cublasGetStatusName(ct_st_));                        \
    } while (0)

namespace {

constexpr int MAX_DEVICES = 64;
constexpr size_t LT_WORKSPACE_BYTES = 32u << 20; // what NVIDIA suggests for Hopper; plenty for older GPUs

struct DeviceBlas {
    std::mutex mutex; // held around each GEMM on this device
    cublasHandle_t handle = nullptr;
    cublasLtHandle_t lt = nullptr;
    void *workspace = nullptr;
};

DeviceBlas devices[MAX_DEVICES];
std::mutex init_mutex;

// Makes the handles and the workspace of device dev once (dev is current).
ct_status init_device(int dev, DeviceBlas *s) {
    std::lock_guard<std::mutex> lock(init_mutex);
    if (s->handle) return CT_OK;
    cublasLtHandle_t lt;
    CT_CUBLAS_CHECK(cublasLtCreate(&lt));
    void *ws;
    ct_status st = ct__cuda_malloc_raw(dev, LT_WORKSPACE_BYTES, &ws);
    if (st != CT_OK) {
        cublasLtDestroy(lt);
        return st;
    }
    cublasHandle_t h;
    cublasStatus_t cs = cublasCreate(&h);
    if (cs != CUBLAS_STATUS_SUCCESS) {
        cublasLtDestroy(lt);
        ct__cuda_free_raw(dev, ws);
        CT_CUBLAS_CHECK(cs);
    }
    s->lt = lt, s->workspace = ws, s->handle = h;
    return CT_OK;
}

bool fits_int(const ct__gemm *g) {
    long long v[] = {g->m, g->n, g->k, g->lda, g->ldb, g->ldc, g->batch};
    for (long long x : v)
        if (x > INT_MAX) return false;
    return true;
}

// ---- small kernels: bias rows and beta scaling -----------------------------------------------------------------

template <typename T>
__global__ void bias_rows_kernel(T *c, long long ldc, long long stride_c, long long m, long long n, long long total,
                                 const T *bias) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        long long col = i % n, row = (i / n) % m, b = i / (m * n);
        c[b * stride_c + row * ldc + col] = bias[col];
    }
}

// C = beta * C; beta == 0 writes zeros so that NaN in C do not survive, as BLAS does.
template <typename T>
__global__ void scale_kernel(T *c, long long ldc, long long stride_c, long long m, long long n, long long total, T beta) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        long long col = i % n, row = (i / n) % m, b = i / (m * n);
        T *p = c + b * stride_c + row * ldc + col;
        *p = beta == T(0) ? T(0) : beta * *p;
    }
}

template <typename T> ct_status bias_rows(const ct__gemm *g) {
    long long total = g->batch * g->m * g->n;
    bias_rows_kernel<<<ct__cuda_blocks(total), CT_CUDA_THREADS>>>((T *)g->c, g->ldc, g->stride_c, g->m, g->n, total,
                                                                  (const T *)g->bias);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

template <typename T> ct_status scale(const ct__gemm *g, double beta) {
    long long total = g->batch * g->m * g->n;
    scale_kernel<<<ct__cuda_blocks(total), CT_CUDA_THREADS>>>((T *)g->c, g->ldc, g->stride_c, g->m, g->n, total, (T)beta);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

// ---- cuBLAS ---------------------------------------------------------------------------------------------------

cublasOperation_t op_of(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

// C^T = op(B)^T op(A)^T in cuBLAS's column-major terms (see the top of the file).
ct_status cublas_gemm(cublasHandle_t h, const ct__gemm *g, double beta) {
    int m = (int)g->n, n = (int)g->m, k = (int)g->k, batch = (int)g->batch;
    cublasOperation_t ta = op_of(g->trans_b), tb = op_of(g->trans_a);
    bool tf32 = g->dtype == CT_FLOAT32 && g->allow_tf32;
    CT_CUBLAS_CHECK(cublasSetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    if (g->dtype == CT_FLOAT32) {
        float alpha = (float)g->alpha, b = (float)beta;
        const float *A = (const float *)g->b, *B = (const float *)g->a;
        if (batch == 1)
            CT_CUBLAS_CHECK(cublasSgemm(h, ta, tb, m, n, k, &alpha, A, (int)g->ldb, B, (int)g->lda, &b, (float *)g->c,
                                        (int)g->ldc));
        else
            CT_CUBLAS_CHECK(cublasSgemmStridedBatched(h, ta, tb, m, n, k, &alpha, A, (int)g->ldb, g->stride_b, B,
                                                      (int)g->lda, g->stride_a, &b, (float *)g->c, (int)g->ldc,
                                                      g->stride_c, batch));
    } else {
        double alpha = g->alpha, b = beta;
        const double *A = (const double *)g->b, *B = (const double *)g->a;
        if (batch == 1)
            CT_CUBLAS_CHECK(cublasDgemm(h, ta, tb, m, n, k, &alpha, A, (int)g->ldb, B, (int)g->lda, &b, (double *)g->c,
                                        (int)g->ldc));
        else
            CT_CUBLAS_CHECK(cublasDgemmStridedBatched(h, ta, tb, m, n, k, &alpha, A, (int)g->ldb, g->stride_b, B,
                                                      (int)g->lda, g->stride_a, &b, (double *)g->c, (int)g->ldc,
                                                      g->stride_c, batch));
    }
    return CT_OK;
}

// ---- cuBLASLt with the bias epilogue -------------------------------------------------------------------------------

// The descriptors of one cuBLASLt matmul, destroyed together.
struct LtDescriptors {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    ~LtDescriptors() {
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        if (c) cublasLtMatrixLayoutDestroy(c);
        if (b) cublasLtMatrixLayoutDestroy(b);
        if (a) cublasLtMatrixLayoutDestroy(a);
        if (op) cublasLtMatmulDescDestroy(op);
    }
};

// Describes C^T = op(B)^T op(A)^T + bias (column-major, see the top) into d.
ct_status lt_describe(const ct__gemm *g, LtDescriptors *d) {
    bool f32 = g->dtype == CT_FLOAT32;
    cudaDataType_t type = f32 ? CUDA_R_32F : CUDA_R_64F;
    cublasComputeType_t compute = !f32 ? CUBLAS_COMPUTE_64F : g->allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CT_CUBLAS_CHECK(cublasLtMatmulDescCreate(&d->op, compute, type));
    cublasOperation_t ta = op_of(g->trans_b), tb = op_of(g->trans_a);
    cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    const void *bias = g->bias;
    CT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    CT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    CT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue));
    CT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
    // stored shapes, column-major: B (n x k, or k x n when transposed), A (k x m, or m x k), C (n x m)
    CT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d->a, type, g->trans_b ? g->k : g->n, g->trans_b ? g->n : g->k, g->ldb));
    CT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d->b, type, g->trans_a ? g->m : g->k, g->trans_a ? g->k : g->m, g->lda));
    CT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d->c, type, g->n, g->m, g->ldc));
    size_t ws = LT_WORKSPACE_BYTES;
    CT_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&d->pref));
    CT_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(d->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                                         sizeof ws));
    return CT_OK;
}

// One fused GEMM + bias; *done is false (and nothing ran) when cuBLASLt offers no algorithm for it.
ct_status lt_gemm_bias(const DeviceBlas *s, const ct__gemm *g, bool *done) {
    *done = false;
    LtDescriptors d;
    ct_status st = lt_describe(g, &d);
    if (st != CT_OK) return st;
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    if (cublasLtMatmulAlgoGetHeuristic(s->lt, d.op, d.a, d.b, d.c, d.c, d.pref, 1, &result, &found) !=
            CUBLAS_STATUS_SUCCESS ||
        found == 0)
        return CT_OK; // not supported here: the caller takes the unfused path
    float alpha32 = (float)g->alpha, beta32 = 0;
    double alpha64 = g->alpha, beta64 = 0;
    bool f32 = g->dtype == CT_FLOAT32;
    cublasStatus_t cs = cublasLtMatmul(s->lt, d.op, f32 ? (const void *)&alpha32 : &alpha64, g->b, d.a, g->a, d.b,
                                       f32 ? (const void *)&beta32 : &beta64, g->c, d.c, g->c, d.c, &result.algo,
                                       s->workspace, LT_WORKSPACE_BYTES, 0);
    if (cs == CUBLAS_STATUS_NOT_SUPPORTED) return CT_OK; // the unfused path then
    CT_CUBLAS_CHECK(cs);
    *done = true;
    return CT_OK;
}

// cuBLASLt's epilogues want 16-byte aligned pointers; a view at an odd offset takes the unfused path.
bool aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

// The GEMM once the handles exist and the device's mutex is held.
ct_status gemm_locked(const DeviceBlas *s, const ct__gemm *g) {
    bool f32 = g->dtype == CT_FLOAT32;
    double beta = g->beta;
    if (g->bias && g->k > 0 && g->batch == 1 && aligned16(g->a) && aligned16(g->b) && aligned16(g->c) &&
        aligned16(g->bias)) {
        bool done;
        ct_status st = lt_gemm_bias(s, g, &done);
        if (st != CT_OK || done) return st;
    }
    if (g->bias) {
        ct_status st = f32 ? bias_rows<float>(g) : bias_rows<double>(g);
        if (st != CT_OK) return st;
        beta = 1;
    }
    if (g->k == 0) return beta == 1 ? CT_OK : f32 ? scale<float>(g, beta) : scale<double>(g, beta);
    return cublas_gemm(s->handle, g, beta);
}

} // namespace

extern "C" ct_status ct__cuda_gemm(int dev, const ct__gemm *g) {
    if (g->batch == 0 || g->m == 0 || g->n == 0) return CT_OK;
    if (g->dtype != CT_FLOAT32 && g->dtype != CT_FLOAT64)
        return ct__error(CT_ERR_NOT_IMPLEMENTED, __func__, "GEMM of %s", ct_dtype_name(g->dtype));
    if (!fits_int(g))
        return ct__error(CT_ERR_NOT_IMPLEMENTED, __func__,
                         "a matrix dim, leading dim or batch beyond %d is not supported by cuBLAS", INT_MAX);
    if (dev < 0 || dev >= MAX_DEVICES)
        return ct__error(CT_ERR_DEVICE, __func__, "CUDA device %d is beyond the %d that ctorch handles", dev, MAX_DEVICES);
    CT_CUDA_CHECK(cudaSetDevice(dev));
    DeviceBlas *s = &devices[dev];
    ct_status st = init_device(dev, s);
    if (st != CT_OK) return st;
    std::lock_guard<std::mutex> lock(s->mutex);
    return gemm_locked(s, g);
}
