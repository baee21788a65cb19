// Strided copy with dtype conversion, and fill: the kernels that make any view contiguous, move between dtypes,
// and set values. One thread per output element in a grid-stride loop; each thread turns its linear index into
// the two views' offsets. Contiguous same-dtype copies go to cudaMemcpyAsync instead.
#include <stdint.h>

#include "cuda_check.h"

namespace {

struct Strided {
    int ndim;
    long long shape[CT_MAX_DIMS];
    long long stride[CT_MAX_DIMS];
};

Strided strided_of(const ct__view &v) {
    Strided s;
    s.ndim = v.ndim;
    for (int d = 0; d < CT_MAX_DIMS; d++) s.shape[d] = v.shape[d], s.stride[d] = v.stride[d];
    return s;
}

__device__ __forceinline__ long long offset_of(long long linear, const Strided &shape_of, const Strided &s) {
    long long off = 0;
    for (int d = shape_of.ndim - 1; d >= 0; d--) {
        long long i = linear % shape_of.shape[d];
        linear /= shape_of.shape[d];
        off += i * s.stride[d];
    }
    return off;
}

// C's conversions, made the same as the CPU's: floating to integer goes through int64, bool is "!= 0".
template <typename D, typename S> __device__ __forceinline__ D convert(S v) {
    if constexpr (std::is_same_v<D, bool>) return v != S(0);
    else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) return (D)(long long)v;
    else return (D)v;
}

template <typename D, typename S>
__global__ void copy_kernel(D *dst, Strided ds, const S *src, Strided ss, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        dst[offset_of(i, ds, ds)] = convert<D>(src[offset_of(i, ds, ss)]);
}

template <typename T> __global__ void fill_kernel(T *dst, Strided ds, T value, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        dst[offset_of(i, ds, ds)] = value;
}

long long numel_of(const ct__view &v) {
    long long n = 1;
    for (int d = 0; d < v.ndim; d++) n *= v.shape[d];
    return n;
}

bool contiguous(const ct__view &v) {
    long long expected = 1;
    for (int d = v.ndim - 1; d >= 0; d--) {
        if (v.shape[d] == 1) continue;
        if (v.stride[d] != expected) return false;
        expected *= v.shape[d];
    }
    return true;
}

template <typename D> ct_status copy_from(const ct__view &dst, const ct__view &src, long long n) {
    unsigned blocks = ct__cuda_blocks(n);
    D *d = (D *)dst.data;
    Strided ds = strided_of(dst), ss = strided_of(src);
    switch (src.dtype) {
    case CT_FLOAT32: copy_kernel<<<blocks, CT_CUDA_THREADS>>>(d, ds, (const float *)src.data, ss, n); break;
    case CT_FLOAT64: copy_kernel<<<blocks, CT_CUDA_THREADS>>>(d, ds, (const double *)src.data, ss, n); break;
    case CT_INT64: copy_kernel<<<blocks, CT_CUDA_THREADS>>>(d, ds, (const long long *)src.data, ss, n); break;
    case CT_INT32: copy_kernel<<<blocks, CT_CUDA_THREADS>>>(d, ds, (const int32_t *)src.data, ss, n); break;
    case CT_UINT8: copy_kernel<<<blocks, CT_CUDA_THREADS>>>(d, ds, (const uint8_t *)src.data, ss, n); break;
    case CT_BOOL: copy_kernel<<<blocks, CT_CUDA_THREADS>>>(d, ds, (const bool *)src.data, ss, n); break;
    default: return ct__error(CT_ERR_NOT_IMPLEMENTED, "ct__cuda_copy", "dtype %s", ct_dtype_name(src.dtype));
    }
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

template <typename T> ct_status fill_as(const ct__view &dst, T value, long long n) {
    fill_kernel<<<ct__cuda_blocks(n), CT_CUDA_THREADS>>>((T *)dst.data, strided_of(dst), value, n);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

} // namespace

extern "C" ct_status ct__cuda_copy(int dev, ct__view dst, ct__view src) {
    long long n = numel_of(dst);
    if (n == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    if (dst.dtype == src.dtype && contiguous(dst) && contiguous(src)) {
        CT_CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data, (size_t)n * ct_dtype_size(dst.dtype),
                                      cudaMemcpyDeviceToDevice, 0));
        return CT_OK;
    }
    switch (dst.dtype) {
    case CT_FLOAT32: return copy_from<float>(dst, src, n);
    case CT_FLOAT64: return copy_from<double>(dst, src, n);
    case CT_INT64: return copy_from<long long>(dst, src, n);
    case CT_INT32: return copy_from<int32_t>(dst, src, n);
    case CT_UINT8: return copy_from<uint8_t>(dst, src, n);
    case CT_BOOL: return copy_from<bool>(dst, src, n);
    default: return ct__error(CT_ERR_NOT_IMPLEMENTED, __func__, "dtype %s", ct_dtype_name(dst.dtype));
    }
}

extern "C" ct_status ct__cuda_fill(int dev, ct__view dst, double value) {
    long long n = numel_of(dst);
    if (n == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    long long as_int = value != value ? 0 : (long long)value;
    switch (dst.dtype) {
    case CT_FLOAT32: return fill_as<float>(dst, (float)value, n);
    case CT_FLOAT64: return fill_as<double>(dst, value, n);
    case CT_INT64: return fill_as<long long>(dst, as_int, n);
    case CT_INT32: return fill_as<int32_t>(dst, (int32_t)as_int, n);
    case CT_UINT8: return fill_as<uint8_t>(dst, (uint8_t)as_int, n);
    case CT_BOOL: return fill_as<bool>(dst, value != 0, n);
    default: return ct__error(CT_ERR_NOT_IMPLEMENTED, __func__, "dtype %s", ct_dtype_name(dst.dtype));
    }
}
