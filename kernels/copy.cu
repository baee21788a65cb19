// Strided copy with dtype conversion, and fill: the kernels that make any view contiguous, move between dtypes,
// and set values. One thread per output element in a grid-stride loop; each thread turns its linear index into
// the two views' offsets. Contiguous same-dtype copies go to cudaMemcpyAsync instead.
//
// A same-dtype copy that transposes (the destination contiguous along one dim, the source along another, as
// contiguous() of a transposed view) takes the tiled path instead: each block stages a 32 x 32 tile in shared
// memory, reading it along the source's contiguous dim and writing it along the destination's, so both the
// loads and the stores of a warp are coalesced. The generic kernel would make one of the two a 32-way scatter.
#include <stdint.h>

#include "cuda_check.h"
#include "view.cuh"

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

// ---- the tiled transpose ----------------------------------------------------------------------------------------

constexpr int TILE = 32, TILE_ROWS = 8; // a block is TILE x TILE_ROWS threads; each moves TILE / TILE_ROWS elements

// dst is contiguous along dim i and src along dim j; the other dims (size > 1) are walked by blockIdx.z.
struct TransposeGeometry {
    long long size_i, size_j, dst_j, src_i; // element strides (dst along i and src along j are 1)
    int nouter;
    long long outer, outer_size[CT_MAX_DIMS], outer_dst[CT_MAX_DIMS], outer_src[CT_MAX_DIMS];
};

bool find_transpose(const ct__view &dst, const ct__view &src, TransposeGeometry *g) {
    int wi = -1, wj = -1;
    for (int d = 0; d < dst.ndim; d++) {
        if (dst.shape[d] <= 1) continue;
        if (wi < 0 && dst.stride[d] == 1) wi = d;
        if (wj < 0 && src.stride[d] == 1) wj = d;
    }
    if (wi < 0 || wj < 0 || wi == wj) return false;
    g->size_i = dst.shape[wi], g->size_j = dst.shape[wj];
    g->dst_j = dst.stride[wj], g->src_i = src.stride[wi];
    g->nouter = 0, g->outer = 1;
    for (int d = dst.ndim - 1; d >= 0; d--) {
        if (d == wi || d == wj || dst.shape[d] == 1) continue;
        g->outer_size[g->nouter] = dst.shape[d];
        g->outer_dst[g->nouter] = dst.stride[d];
        g->outer_src[g->nouter++] = src.stride[d];
        g->outer *= dst.shape[d];
    }
    return (g->size_j + TILE - 1) / TILE <= 65535; // grid.y limit; larger goes the generic way
}

template <typename T> __global__ void transpose_kernel(T *dst, const T *src, TransposeGeometry g) {
    __shared__ T tile[TILE][TILE + 1]; // +1: the column reads of the store phase hit 32 different banks
    long long i0 = (long long)blockIdx.x * TILE, j0 = (long long)blockIdx.y * TILE;
    for (long long o = blockIdx.z; o < g.outer; o += gridDim.z) {
        long long rest = o, doff = 0, soff = 0;
        for (int d = 0; d < g.nouter; d++) {
            long long k = rest % g.outer_size[d];
            rest /= g.outer_size[d];
            doff += k * g.outer_dst[d];
            soff += k * g.outer_src[d];
        }
        for (int r = threadIdx.y; r < TILE; r += TILE_ROWS) { // load: a warp reads one source row along j
            long long i = i0 + r, j = j0 + threadIdx.x;
            if (i < g.size_i && j < g.size_j) tile[r][threadIdx.x] = src[soff + i * g.src_i + j];
        }
        __syncthreads();
        for (int r = threadIdx.y; r < TILE; r += TILE_ROWS) { // store: a warp writes one destination row along i
            long long j = j0 + r, i = i0 + threadIdx.x;
            if (i < g.size_i && j < g.size_j) dst[doff + j * g.dst_j + i] = tile[threadIdx.x][r];
        }
        __syncthreads();
    }
}

template <typename T> ct_status transpose_as(const ct__view &dst, const ct__view &src, const TransposeGeometry &g) {
    dim3 block(TILE, TILE_ROWS);
    dim3 grid((unsigned)((g.size_i + TILE - 1) / TILE), (unsigned)((g.size_j + TILE - 1) / TILE),
              (unsigned)(g.outer < 65535 ? g.outer : 65535));
    transpose_kernel<<<grid, block>>>((T *)dst.data, (const T *)src.data, g);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

// The tiled path for a same-dtype transposing copy; *done is false when the copy is not one.
ct_status try_transpose(const ct__view &dst, const ct__view &src, long long n, bool *done) {
    TransposeGeometry g;
    *done = false;
    if (dst.dtype != src.dtype || n < TILE * TILE || !find_transpose(dst, src, &g)) return CT_OK;
    *done = true;
    switch (ct_dtype_size(dst.dtype)) {
    case 1: return transpose_as<uint8_t>(dst, src, g);
    case 2: return transpose_as<uint16_t>(dst, src, g);
    case 4: return transpose_as<uint32_t>(dst, src, g);
    case 8: return transpose_as<unsigned long long>(dst, src, g);
    default: *done = false; return CT_OK;
    }
}

template <typename T> ct_status fill_as(const ct__view &dst, T value, long long n) {
    fill_kernel<<<ct__cuda_blocks(n), CT_CUDA_THREADS>>>((T *)dst.data, strided_of(dst), value, n);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

} // namespace

extern "C" ct_status ct__cuda_copy(int dev, ct__view dst, ct__view src) {
    long long n = ct__view_numel(dst);
    if (n == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    if (dst.dtype == src.dtype && ct__view_contiguous(dst) && ct__view_contiguous(src)) {
        CT_CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data, (size_t)n * ct_dtype_size(dst.dtype),
                                      cudaMemcpyDeviceToDevice, 0));
        return CT_OK;
    }
    bool transposed;
    ct_status st = try_transpose(dst, src, n, &transposed);
    if (transposed || st != CT_OK) return st;
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
    long long n = ct__view_numel(dst);
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
