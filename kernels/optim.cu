// The CUDA optimizer kernels: one launch updates every parameter of a group (multi-tensor apply), and one launch
// computes or rescales the gradients of many tensors (clip_grad_norm_, clip_grad_value_).
//
// The launch table. The host writes the n rows (ct__optim_tensor: pointers, numel, per-tensor scalars) and the
// prefix sums of each tensor's chunk count into the caller's scratch device memory with one asynchronous copy
// (from pageable memory: the driver stages it before returning, so the host buffer can go at once). Block b then
// handles chunks b, b + gridDim.x, ...: it finds its tensor by binary search over the prefix sums, copies that row
// into registers, and walks the chunk's CHUNK elements with its threads (coalesced). A group of 200 parameters is
// still one launch, with no per-launch argument-size limit (PyTorch's multi_tensor_apply splits at ~110 tensors).
//
// The arithmetic is the CPU kernels' (runtime/cpu/optim.c), operation for operation, in the tensors' dtype; nvcc
// contracts a * b + c into one fused multiply-add, as PyTorch's vectorised kernels do, so a CUDA step can differ
// from a CPU step by an ulp per operation.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "optim.h"

namespace {

constexpr int THREADS = 256;
constexpr long long CHUNK = 2048; // elements per block-chunk: 8 per thread, ~500 blocks for 10^6 elements

struct Layout {
    size_t rows, offsets, accumulator, total; // byte offsets in the scratch memory
};

Layout layout_of(int n) {
    Layout l;
    l.rows = 0;
    l.offsets = ((size_t)n * sizeof(ct__optim_tensor) + 15) / 16 * 16;
    l.accumulator = l.offsets + ((size_t)(n + 1) * sizeof(long long) + 15) / 16 * 16;
    l.total = l.accumulator + 16;
    return l;
}

long long chunks_of(long long numel) { return (numel + CHUNK - 1) / CHUNK; }

// Writes the table for tensors[0..n-1] into scratch; *nchunks gets the total number of chunks.
ct_status upload_table(const ct__optim_tensor *tensors, int n, void *scratch, long long *nchunks) {
    Layout l = layout_of(n);
    char *host = (char *)malloc(l.accumulator);
    if (!host) return ct__error(CT_ERR_OUT_OF_MEMORY, "ct__cuda_optim", "out of host memory for the launch table");
    memcpy(host + l.rows, tensors, (size_t)n * sizeof(ct__optim_tensor));
    long long *offsets = (long long *)(host + l.offsets), total = 0;
    for (int k = 0; k < n; k++) offsets[k] = total, total += chunks_of(tensors[k].numel);
    offsets[n] = total;
    cudaError_t err = cudaMemcpyAsync(scratch, host, l.accumulator, cudaMemcpyHostToDevice, 0);
    free(host);
    CT_CUDA_CHECK(err);
    *nchunks = total;
    return CT_OK;
}

unsigned grid_for(long long nchunks) { return (unsigned)(nchunks < (1LL << 30) ? nchunks : (1LL << 30)); }

// The tensor that chunk c belongs to: the last k with offsets[k] <= c (empty tensors own no chunk).
__device__ __forceinline__ int tensor_of_chunk(const long long *offsets, int n, long long c) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (offsets[mid] <= c) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

// Applies op(row, i) to every element i of every tensor of the table.
template <class Op>
__global__ void for_each_element(const ct__optim_tensor *rows, const long long *offsets, int n, long long nchunks,
                                 Op op) {
    for (long long c = blockIdx.x; c < nchunks; c += gridDim.x) {
        int k = tensor_of_chunk(offsets, n, c);
        const ct__optim_tensor row = rows[k];
        long long start = (c - offsets[k]) * CHUNK, end = min(start + CHUNK, (long long)row.numel);
        for (long long i = start + threadIdx.x; i < end; i += blockDim.x) op(row, i);
    }
}

template <class Op> ct_status launch(const ct__optim_tensor *tensors, int n, void *scratch, Op op) {
    long long nchunks;
    ct_status st = upload_table(tensors, n, scratch, &nchunks);
    if (st != CT_OK || nchunks == 0) return st;
    Layout l = layout_of(n);
    const ct__optim_tensor *rows = (const ct__optim_tensor *)((char *)scratch + l.rows);
    const long long *offsets = (const long long *)((char *)scratch + l.offsets);
    for_each_element<<<grid_for(nchunks), THREADS>>>(rows, offsets, n, nchunks, op);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

// ---- the updates --------------------------------------------------------------------------------------------------

template <typename T> __device__ __forceinline__ T sqrt_of(T x);
template <> __device__ __forceinline__ float sqrt_of<float>(float x) { return sqrtf(x); }
template <> __device__ __forceinline__ double sqrt_of<double>(double x) { return sqrt(x); }

template <typename T> struct SgdOp {
    T wd, mom, damp, neg_lr;
    bool decay, use_mom, nesterov, maximize;
    __device__ void operator()(const ct__optim_tensor &t, long long i) const {
        T *p = (T *)t.param, *buf = (T *)t.buf[0];
        const T *grad = (const T *)t.grad;
        T g = maximize ? -grad[i] : grad[i];
        if (decay) g = g + wd * p[i];
        if (use_mom) {
            T b = t.first ? g : buf[i] * mom + damp * g;
            buf[i] = b;
            g = nesterov ? g + mom * b : b;
        }
        p[i] = p[i] + neg_lr * g;
    }
};

template <typename T> struct AdamOp {
    T wd, decay_factor, w1, beta2, w2, eps;
    bool decay, decoupled, amsgrad, maximize;
    __device__ void operator()(const ct__optim_tensor &t, long long i) const {
        T *p = (T *)t.param, *m = (T *)t.buf[0], *v = (T *)t.buf[1], *vmax = (T *)t.buf[2];
        const T *grad = (const T *)t.grad;
        const T bc2 = (T)t.bias_correction2_sqrt, neg_step = (T)-t.step_size;
        T g = maximize ? -grad[i] : grad[i], pi = p[i];
        if (decay) {
            if (decoupled) pi = pi * decay_factor;
            else g = g + wd * pi;
        }
        T mi = m[i], vi = v[i];
        mi = fabs((double)w1) < 0.5 ? mi + w1 * (g - mi) : g - (g - mi) * (1 - w1); // torch.lerp
        vi = vi * beta2 + w2 * g * g;
        m[i] = mi;
        v[i] = vi;
        if (amsgrad) {
            T old = vmax[i];
            vi = (old != old || old > vi) ? old : vi; // torch.maximum: NaN wins
            vmax[i] = vi;
        }
        T denom = sqrt_of<T>(vi) / bc2 + eps;
        p[i] = pi + neg_step * mi / denom;
    }
};

template <typename T> ct_status step_as(const ct__optim_hyper *h, const ct__optim_tensor *tensors, int n, void *scratch) {
    if (h->algo == CT__OPTIM_SGD) {
        SgdOp<T> op{(T)h->weight_decay, (T)h->momentum, (T)(1 - h->dampening), (T)-h->lr,
                    h->weight_decay != 0, h->momentum != 0, h->nesterov, h->maximize};
        return launch(tensors, n, scratch, op);
    }
    AdamOp<T> op{(T)h->weight_decay, (T)(1 - h->lr * h->weight_decay), (T)(1 - h->beta1), (T)h->beta2,
                 (T)(1 - h->beta2), (T)h->eps, h->weight_decay != 0, h->decoupled, h->amsgrad, h->maximize};
    return launch(tensors, n, scratch, op);
}

// ---- clipping ---------------------------------------------------------------------------------------------------

template <typename T> struct ScaleOp {
    T s;
    __device__ void operator()(const ct__optim_tensor &t, long long i) const {
        T *x = (T *)t.param;
        x[i] = x[i] * s;
    }
};

template <typename T> struct ClampOp {
    T lo, hi;
    __device__ void operator()(const ct__optim_tensor &t, long long i) const {
        T *x = (T *)t.param;
        T v = x[i] < lo ? lo : x[i];
        x[i] = v > hi ? hi : v;
    }
};

// Sum of |x|^p (or, for p = inf, the largest |x| with NaN winning) over all the table's elements, into *acc: a
// double per thread, a shared-memory tree per block, one atomic per block.
template <typename T>
__global__ void norm_kernel(const ct__optim_tensor *rows, const long long *offsets, int n, long long nchunks, double p,
                            double *acc) {
    __shared__ double partial[THREADS];
    bool is_max = isinf(p);
    double mine = 0;
    for (long long c = blockIdx.x; c < nchunks; c += gridDim.x) {
        int k = tensor_of_chunk(offsets, n, c);
        const T *x = (const T *)rows[k].param;
        long long start = (c - offsets[k]) * CHUNK, end = min(start + CHUNK, (long long)rows[k].numel);
        for (long long i = start + threadIdx.x; i < end; i += blockDim.x) {
            double a = fabs((double)x[i]);
            if (is_max) mine = (a != a || a > mine) ? a : mine;
            else mine += p == 2 ? a * a : p == 1 ? a : pow(a, p);
        }
    }
    partial[threadIdx.x] = mine;
    __syncthreads();
    for (int half = THREADS / 2; half > 0; half /= 2) {
        if (threadIdx.x < half) {
            double a = partial[threadIdx.x], b = partial[threadIdx.x + half];
            partial[threadIdx.x] = is_max ? ((a != a || a > b) ? a : b) : a + b;
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        if (is_max) // non-negative doubles (and NaN above +inf) order as their bit patterns
            atomicMax((unsigned long long *)acc, (unsigned long long)__double_as_longlong(partial[0]));
        else
            atomicAdd(acc, partial[0]);
    }
}

template <typename T>
ct_status norm_as(const ct__optim_tensor *tensors, int n, double p, double *out, void *scratch) {
    long long nchunks;
    ct_status st = upload_table(tensors, n, scratch, &nchunks);
    if (st != CT_OK) return st;
    Layout l = layout_of(n);
    double *acc = (double *)((char *)scratch + l.accumulator);
    CT_CUDA_CHECK(cudaMemsetAsync(acc, 0, sizeof(double), 0));
    if (nchunks > 0) {
        norm_kernel<T><<<grid_for(nchunks < 4096 ? nchunks : 4096), THREADS>>>(
            (const ct__optim_tensor *)((char *)scratch + l.rows), (const long long *)((char *)scratch + l.offsets), n,
            nchunks, p, acc);
        CT_CUDA_CHECK_LAUNCH();
    }
    CT_CUDA_CHECK(cudaMemcpy(out, acc, sizeof(double), cudaMemcpyDeviceToHost));
    return CT_OK;
}

} // namespace

extern "C" size_t ct__cuda_optim_table_bytes(int n) { return layout_of(n).total; }

extern "C" ct_status ct__cuda_optim_step(int dev, const ct__optim_hyper *h, ct_dtype dtype,
                                         const ct__optim_tensor *tensors, int n, void *scratch) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    return dtype == CT_FLOAT32 ? step_as<float>(h, tensors, n, scratch) : step_as<double>(h, tensors, n, scratch);
}

extern "C" ct_status ct__cuda_foreach_norm(int dev, ct_dtype dtype, const ct__optim_tensor *tensors, int n, double p,
                                           double *out, void *scratch) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    return dtype == CT_FLOAT32 ? norm_as<float>(tensors, n, p, out, scratch)
                               : norm_as<double>(tensors, n, p, out, scratch);
}

extern "C" ct_status ct__cuda_foreach_scale(int dev, ct_dtype dtype, const ct__optim_tensor *tensors, int n,
                                            double scale, void *scratch) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    if (dtype == CT_FLOAT32) return launch(tensors, n, scratch, ScaleOp<float>{(float)scale});
    return launch(tensors, n, scratch, ScaleOp<double>{scale});
}

extern "C" ct_status ct__cuda_foreach_clamp(int dev, ct_dtype dtype, const ct__optim_tensor *tensors, int n, double lo,
                                            double hi, void *scratch) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    if (dtype == CT_FLOAT32) return launch(tensors, n, scratch, ClampOp<float>{(float)lo, (float)hi});
    return launch(tensors, n, scratch, ClampOp<double>{lo, hi});
}
