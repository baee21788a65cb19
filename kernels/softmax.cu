// softmax and log_softmax on CUDA (ct__cuda_softmax, declared in kernels/reduce.h), over a contiguous tensor seen
// as [outer, n, inner] with the op along n.
//
// Each line is read twice and written once. The first pass keeps an online (maximum, sum of exp(x - maximum))
// pair, rescaling the sum when the maximum grows, so the line's maximum is subtracted before any exponential
// (stable for inputs of +-1000 and beyond) without a separate pass for it. The second pass writes
// exp(x - max) / sum, or x - max - log(sum).
//  - inner == 1 (softmax over the last dim): a warp per line when n <= 1024, the block of 256 otherwise; the pairs
//    of the threads are combined with shuffles (and shared memory across warps), then every thread writes its
//    share. Loads are coalesced across the group.
//  - inner > 1: a thread per line, neighbouring threads on neighbouring inner positions, so each step along n is
//    one coalesced load per warp.
// float32 computes in float, float64 in double. Special values follow PyTorch: a NaN or +inf in a line, or a line
// of -inf, gives NaN everywhere in it; -inf elements in an otherwise finite line give 0 (log: -inf).
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cuda_check.h"
#include "reduce.h"

namespace {

constexpr int kThreads = 256;
constexpr unsigned kFull = 0xffffffffu;

template <typename C> struct MaxSum {
    C m, s;
};

template <typename C> __device__ __forceinline__ C rescaled(C s, C from, C to) { return s == C(0) ? C(0) : s * exp(from - to); }

// Adds x to the pair: the maximum ignores NaN (fmax), while a NaN or an inf - inf makes the sum NaN, which turns
// every output of the line into NaN as PyTorch's three-pass form does.
template <typename C> __device__ __forceinline__ MaxSum<C> push(MaxSum<C> a, C x) {
    C m = fmax(a.m, x);
    C term = x == C(-INFINITY) ? C(0) : exp(x - m);
    return {m, rescaled(a.s, a.m, m) + term};
}

template <typename C> __device__ __forceinline__ MaxSum<C> merge(MaxSum<C> a, MaxSum<C> b) {
    C m = fmax(a.m, b.m);
    return {m, rescaled(a.s, a.m, m) + rescaled(b.s, b.m, m)};
}

template <typename C> __device__ __forceinline__ MaxSum<C> shfl_xor(MaxSum<C> a, int mask) {
    return {__shfl_xor_sync(kFull, a.m, mask), __shfl_xor_sync(kFull, a.s, mask)};
}

template <typename C> __device__ MaxSum<C> warp_merge(MaxSum<C> a) {
#pragma unroll
    for (int m = 16; m >= 1; m >>= 1) a = merge(a, shfl_xor(a, m));
    return a;
}

// Every thread of the block ends with the merge of all the block's pairs.
template <typename C> __device__ MaxSum<C> block_merge(MaxSum<C> a) {
    __shared__ MaxSum<C> warps[kThreads / 32];
    a = warp_merge(a);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) warps[warp] = a;
    __syncthreads();
    a = lane < kThreads / 32 ? warps[lane] : MaxSum<C>{C(-INFINITY), C(0)};
    return warp_merge(a);
}

template <typename C> __device__ __forceinline__ C softmax_of(C x, MaxSum<C> t, bool log_out) {
    return log_out ? x - t.m - log(t.s) : exp(x - t.m) / t.s;
}

// Lines along the innermost dim: G threads per line (a warp, or the whole block).
template <typename T, int G>
__global__ void __launch_bounds__(kThreads) softmax_rows_kernel(const T *__restrict__ in, T *__restrict__ out,
                                                                long long lines, long long n, bool log_out) {
    constexpr int kPerBlock = kThreads / G;
    long long line = (long long)blockIdx.x * kPerBlock + threadIdx.x / G;
    int lane = threadIdx.x % G;
    bool active = line < lines;
    const T *p = in + (active ? line : 0) * n;
    MaxSum<T> t{T(-INFINITY), T(0)};
    if (active)
        for (long long i = lane; i < n; i += G) t = push(t, p[i]);
    if constexpr (G == 32) t = warp_merge(t);
    else t = block_merge(t);
    if (!active) return;
    T *q = out + line * n;
    for (long long i = lane; i < n; i += G) q[i] = softmax_of(p[i], t, log_out);
}

// Lines along an outer dim: one thread each.
template <typename T>
__global__ void softmax_columns_kernel(const T *__restrict__ in, T *__restrict__ out, ct__lines l, bool log_out) {
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= l.outer * l.inner) return;
    long long o = t / l.inner, i = t % l.inner, first = o * l.n * l.inner + i;
    MaxSum<T> acc{T(-INFINITY), T(0)};
    for (long long k = 0, at = first; k < l.n; k++, at += l.inner) acc = push(acc, in[at]);
    for (long long k = 0, at = first; k < l.n; k++, at += l.inner) out[at] = softmax_of(in[at], acc, log_out);
}

long long ceil_div(long long a, long long b) { return (a + b - 1) / b; }

template <typename T> ct_status launch_softmax(bool log_out, ct__lines l, const T *in, T *out) {
    if (l.inner == 1 && l.n > 1024) {
        softmax_rows_kernel<T, kThreads><<<(unsigned)l.outer, kThreads>>>(in, out, l.outer, l.n, log_out);
    } else if (l.inner == 1) {
        softmax_rows_kernel<T, 32><<<(unsigned)ceil_div(l.outer, kThreads / 32), kThreads>>>(in, out, l.outer, l.n,
                                                                                            log_out);
    } else {
        softmax_columns_kernel<T><<<(unsigned)ceil_div(l.outer * l.inner, kThreads), kThreads>>>(in, out, l, log_out);
    }
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

} // namespace

extern "C" ct_status ct__cuda_softmax(int dev, bool log_out, ct__lines l, ct__view in, ct__view out) {
    if (l.outer == 0 || l.n == 0 || l.inner == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    if (l.outer > 0x7fffffffLL) return ct__error(CT_ERR_NOT_IMPLEMENTED, __func__, "too many lines (%lld)", (long long)l.outer);
    switch (in.dtype) {
    case CT_FLOAT32: return launch_softmax(log_out, l, (const float *)in.data, (float *)out.data);
    case CT_FLOAT64: return launch_softmax(log_out, l, (const double *)in.data, (double *)out.data);
    default: return ct__error(CT_ERR_NOT_IMPLEMENTED, __func__, "dtype %s", ct_dtype_name(in.dtype));
    }
}
