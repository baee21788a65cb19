// CUDA kernels of the shape family (kernels/shape.h): the batched copy of cat/stack and repeat's tiling.
//
// cat: one launch writes up to CT__CAT_BATCH contiguous inputs; blockIdx.y picks the input, and the blocks along x
// walk its elements with a grid-stride loop, each thread turning its linear index into (row, column) of the output.
// The input descriptors travel in the kernel's parameter block (64 x 24 bytes), so no device copy of them is needed.
// repeat: one thread per output element; the source element is the output index modulo the source shape, per dim.
// Both move elements as unsigned integers of the dtype's size: no conversion happens here.
#include <stdint.h>

#include "cuda_check.h"
#include "shape.h"

namespace {

struct CatBatch {
    ct__cat_input in[CT__CAT_BATCH];
};

template <typename T>
__global__ void cat_kernel(T *out, long long outer, long long out_inner, CatBatch batch) {
    const ct__cat_input &in = batch.in[blockIdx.y];
    const T *src = (const T *)in.data;
    long long total = outer * in.inner;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        long long row = i / in.inner, col = i - row * in.inner;
        out[row * out_inner + in.offset + col] = src[i];
    }
}

template <typename T> ct_status cat_as(void *out, long long outer, long long out_inner, int n, const ct__cat_input *in) {
    CatBatch batch;
    long long most = 0;
    for (int i = 0; i < n; i++) {
        batch.in[i] = in[i];
        if (outer * in[i].inner > most) most = outer * in[i].inner;
    }
    if (most == 0) return CT_OK;
    dim3 grid(ct__cuda_blocks(most), (unsigned)n);
    cat_kernel<<<grid, CT_CUDA_THREADS>>>((T *)out, outer, out_inner, batch);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

struct RepeatGeometry {
    int ndim;
    long long dst_shape[CT_MAX_DIMS], src_shape[CT_MAX_DIMS], src_stride[CT_MAX_DIMS];
};

template <typename T> __global__ void repeat_kernel(T *dst, const T *src, RepeatGeometry g, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        long long rest = i, off = 0;
        for (int d = g.ndim - 1; d >= 0; d--) {
            long long k = rest % g.dst_shape[d];
            rest /= g.dst_shape[d];
            off += (k % g.src_shape[d]) * g.src_stride[d];
        }
        dst[i] = src[off];
    }
}

template <typename T> ct_status repeat_as(const ct__view &dst, const ct__view &src, long long n) {
    RepeatGeometry g;
    g.ndim = dst.ndim;
    for (int d = 0; d < CT_MAX_DIMS; d++)
        g.dst_shape[d] = dst.shape[d], g.src_shape[d] = src.shape[d], g.src_stride[d] = src.stride[d];
    repeat_kernel<<<ct__cuda_blocks(n), CT_CUDA_THREADS>>>((T *)dst.data, (const T *)src.data, g, n);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

} // namespace

extern "C" ct_status ct__cuda_cat(int dev, void *out, ct_dtype dtype, int64_t outer, int64_t out_inner, int n,
                                  const ct__cat_input *in) {
    if (n <= 0 || outer == 0) return CT_OK;
    if (n > CT__CAT_BATCH) return ct__error(CT_ERR_INTERNAL, __func__, "%d inputs in one batch (at most %d)", n, CT__CAT_BATCH);
    CT_CUDA_CHECK(cudaSetDevice(dev));
    switch (ct_dtype_size(dtype)) {
    case 1: return cat_as<uint8_t>(out, outer, out_inner, n, in);
    case 2: return cat_as<uint16_t>(out, outer, out_inner, n, in);
    case 4: return cat_as<uint32_t>(out, outer, out_inner, n, in);
    case 8: return cat_as<unsigned long long>(out, outer, out_inner, n, in);
    default: return ct__error(CT_ERR_NOT_IMPLEMENTED, __func__, "dtype %s", ct_dtype_name(dtype));
    }
}

extern "C" ct_status ct__cuda_repeat(int dev, ct__view dst, ct__view src) {
    long long n = 1;
    for (int d = 0; d < dst.ndim; d++) n *= dst.shape[d];
    if (n == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    switch (ct_dtype_size(dst.dtype)) {
    case 1: return repeat_as<uint8_t>(dst, src, n);
    case 2: return repeat_as<uint16_t>(dst, src, n);
    case 4: return repeat_as<uint32_t>(dst, src, n);
    case 8: return repeat_as<unsigned long long>(dst, src, n);
    default: return ct__error(CT_ERR_NOT_IMPLEMENTED, __func__, "dtype %s", ct_dtype_name(dst.dtype));
    }
}
