// CUDA kernels of the gather/scatter family (kernels/indexing.h): gather (with two vectorised fast paths),
// scatter with every reduction (atomics by default, sort-by-destination in deterministic mode), masked select.
//
// Bad data never traps: a kernel that meets an index out of range raises the device error flag (launch.h; the
// first error wins through atomicCAS on the code word), skips the element, and goes on. ct__cuda_synchronize, or
// the next copy to the host, turns the flag into "index v is out of bounds for dimension d with size s".
//
// Gather. The general kernel gives one thread per output element and turns its linear index into the three
// views' offsets. Two layouts get a fast path:
//  - contiguous gather (index, out and input contiguous, same sizes off dim): each thread handles 4 consecutive
//    outputs, with one vector load of their 4 indices and one vector store of the 4 results;
//  - contiguous rows (index_select on contiguous tensors: one index per row of K elements): rows are copied in
//    16-byte units (8 or element-sized when the row length or alignment does not allow 16).
// Both use 32-bit index arithmetic when the sizes allow it, since 64-bit division costs as much as the memory
// traffic at these rates.
//
// Scatter. Default mode: one thread per index element, combining into self with an atomic (atomicAdd for sums of
// float, double, int32 and int64; an atomicCAS loop otherwise, on the enclosing 32-bit word for 1-byte types).
// Mean counts with atomics into a scratch tensor and divides in a last pass; include_self=false first resets the
// elements that index points at to the reduction's identity. Deterministic mode: every element's destination
// offset becomes a sort key (radix sort, stable, so equal keys stay in index order), then one thread per
// destination reduces its run of values in that order, exactly as the CPU does: the results are bit-identical run
// to run and equal to the CPU's. A destination that receives many values is reduced serially by one thread; that is
// the price of the order.
//
// Masked select. Tiles of 2048 elements: count each tile's true elements, scan the tile counts (one block), then
// each tile writes its elements at its offset, positions within the tile from a block-wide scan.
#include <stdint.h>
#include <string.h>

#include <cub/cub.cuh>
#include <type_traits>

#include "cuda_check.h"
#include "view.cuh"
#include "indexing.h"

namespace {

// ---- shared pieces ------------------------------------------------------------------------------------------------

// An iteration shape and one view's strides over it (in elements).
struct Dims {
    int ndim;
    long long size[CT_MAX_DIMS];
};
struct Strides {
    long long s[CT_MAX_DIMS];
};

Dims dims_of(const ct__view &v) {
    Dims d;
    d.ndim = v.ndim;
    for (int i = 0; i < CT_MAX_DIMS; i++) d.size[i] = i < v.ndim ? v.shape[i] : 1;
    return d;
}

Strides strides_of(const ct__view &v) {
    Strides s;
    for (int i = 0; i < CT_MAX_DIMS; i++) s.s[i] = i < v.ndim ? v.stride[i] : 0;
    return s;
}

bool aligned(const void *p, size_t bytes) { return (uintptr_t)p % bytes == 0; }

__device__ void raise_bad_index(long long *flag, long long value, int dim, long long size) {
    if (atomicCAS((unsigned long long *)flag, 0ull, (unsigned long long)CT__DEVICE_ERROR_INDEX) == 0ull) {
        flag[1] = value;
        flag[2] = dim;
        flag[3] = size;
    }
}

// Coordinate d of linear index e over dims, peeled from the last dim: c = e % size, e /= size. In 32 bits when the
// whole iteration fits (`small`, uniform across the grid): 64-bit division costs as much as the memory traffic.
struct Peeler {
    bool small;
    unsigned long long e64;
    unsigned e32;
    __device__ __forceinline__ long long next(long long size) {
        if (small) {
            unsigned c = e32 % (unsigned)size;
            e32 /= (unsigned)size;
            return c;
        }
        unsigned long long c = e64 % (unsigned long long)size;
        e64 /= (unsigned long long)size;
        return (long long)c;
    }
};
__device__ __forceinline__ Peeler peel(long long e, bool small) { return Peeler{small, (unsigned long long)e, (unsigned)e}; }

// Grid-stride loop bounds.
__device__ __forceinline__ long long first_thread() { return blockIdx.x * (long long)blockDim.x + threadIdx.x; }
__device__ __forceinline__ long long thread_count() { return (long long)gridDim.x * blockDim.x; }

// An element-sized type for copies: the bytes move, the dtype does not matter.
template <size_t N> struct CopyType;
template <> struct CopyType<1> { using type = uint8_t; };
template <> struct CopyType<4> { using type = uint32_t; };
template <> struct CopyType<8> { using type = unsigned long long; };

template <typename T, int N> struct alignas(sizeof(T) * N) Vec {
    T v[N];
};

// Calls f with a value of the index type (int or long long) of dtype.
template <typename F> ct_status with_index_type(ct_dtype dtype, F f) {
    if (dtype == CT_INT64) return f((long long)0);
    return f((int)0);
}

// Calls f with a value of the copy type of an element of es bytes.
template <typename F> ct_status with_copy_type(size_t es, F f) {
    if (es == 8) return f((unsigned long long)0);
    if (es == 4) return f((uint32_t)0);
    return f((uint8_t)0);
}

// ---- gather ---------------------------------------------------------------------------------------------------------

struct GatherGeometry {
    Dims dims; // out's shape, the iteration shape
    Strides out, input, index;
    int dim;
    long long bound; // input.shape[dim]
    bool small;      // fewer than 2^31 elements: 32-bit coordinates
};

template <typename IndexT, typename T>
__global__ void gather_kernel(T *out, const T *input, const IndexT *index, GatherGeometry g, long long n,
                              long long *flag) {
    for (long long e = first_thread(); e < n; e += thread_count()) {
        long long o = 0, in = 0, x = 0;
        Peeler rest = peel(e, g.small);
        for (int d = g.dims.ndim - 1; d >= 0; d--) {
            long long c = rest.next(g.dims.size[d]);
            o += c * g.out.s[d];
            x += c * g.index.s[d];
            if (d != g.dim) in += c * g.input.s[d];
        }
        long long idx = (long long)index[x];
        if (idx < 0 || idx >= g.bound) {
            raise_bad_index(flag, idx, g.dim, g.bound);
            continue;
        }
        out[o] = input[in + idx * g.input.s[g.dim]];
    }
}

// out, index: (outer, len, inner) contiguous; input: (outer, bound, inner) contiguous. 4 outputs per thread.
template <typename IndexT, typename T>
__global__ void gather_contiguous_vec4_kernel(T *out, const T *input, const IndexT *index, unsigned len,
                                              unsigned inner, unsigned bound, unsigned n, int dim, long long *flag) {
    unsigned nvec = n / 4;
    for (unsigned v = blockIdx.x * blockDim.x + threadIdx.x; v < nvec; v += gridDim.x * blockDim.x) {
        Vec<IndexT, 4> idx = reinterpret_cast<const Vec<IndexT, 4> *>(index)[v];
        Vec<T, 4> vals;
        for (int u = 0; u < 4; u++) {
            unsigned e = v * 4 + u, k = e % inner, row = e / inner, o = row / len;
            long long id = (long long)idx.v[u];
            if (id < 0 || id >= (long long)bound) {
                raise_bad_index(flag, id, dim, bound);
                vals.v[u] = T(0);
                continue;
            }
            vals.v[u] = input[((unsigned long long)o * bound + (unsigned)id) * inner + k];
        }
        reinterpret_cast<Vec<T, 4> *>(out)[v] = vals;
    }
    for (unsigned e = nvec * 4 + blockIdx.x * blockDim.x + threadIdx.x; e < n; e += gridDim.x * blockDim.x) {
        unsigned k = e % inner, o = e / inner / len;
        long long id = (long long)index[e];
        if (id < 0 || id >= (long long)bound) {
            raise_bad_index(flag, id, dim, bound);
            continue;
        }
        out[e] = input[((unsigned long long)o * bound + (unsigned)id) * inner + k];
    }
}

// out: (outer, len, row) contiguous in units V; input: (outer, bound, row); index[i * index_stride] picks the row.
template <typename IndexT, typename V, typename Off>
__global__ void gather_rows_kernel(V *out, const V *input, const IndexT *index, long long index_stride, Off len,
                                   Off row, Off bound, Off total, int dim, long long *flag) {
    for (Off u = blockIdx.x * (Off)blockDim.x + threadIdx.x; u < total; u += (Off)gridDim.x * blockDim.x) {
        Off r = u / row, c = u - r * row, o = r / len, i = r - o * len;
        long long id = (long long)index[(long long)i * index_stride];
        if (id < 0 || id >= (long long)bound) {
            raise_bad_index(flag, id, dim, bound);
            continue;
        }
        out[u] = input[((Off)o * bound + (Off)id) * row + c];
    }
}

// The sizes of a contiguous (outer, at dim, inner) split of shape.
void split_at(const ct__view &v, int dim, long long *outer, long long *inner) {
    *outer = *inner = 1;
    for (int d = 0; d < dim; d++) *outer *= v.shape[d];
    for (int d = dim + 1; d < v.ndim; d++) *inner *= v.shape[d];
}

bool same_off_dim(const ct__view &a, const ct__view &b, int dim) {
    for (int d = 0; d < a.ndim; d++)
        if (d != dim && a.shape[d] != b.shape[d]) return false;
    return true;
}

// True when the index view holds one index per row (stride 0 off dim), i.e. index_select's layout.
bool one_index_per_row(const ct__view &index, int dim) {
    for (int d = 0; d < index.ndim; d++)
        if (d != dim && index.shape[d] != 1 && index.stride[d] != 0) return false;
    return true;
}

template <typename IndexT, typename V>
ct_status launch_gather_rows(const ct__view &out, const ct__view &input, const ct__view &index, int dim,
                             long long *flag) {
    long long outer, inner;
    split_at(out, dim, &outer, &inner);
    long long row = inner * (long long)ct_dtype_size(out.dtype) / (long long)sizeof(V);
    long long len = out.shape[dim], bound = input.shape[dim], total = outer * len * row;
    const IndexT *idx = (const IndexT *)index.data;
    if (total < (1ll << 31) && outer * bound * row < (1ll << 31)) // no wrap in the grid-stride loop
        gather_rows_kernel<IndexT, V, unsigned><<<ct__cuda_blocks(total), CT_CUDA_THREADS>>>(
            (V *)out.data, (const V *)input.data, idx, index.stride[dim], (unsigned)len, (unsigned)row,
            (unsigned)bound, (unsigned)total, dim, flag);
    else
        gather_rows_kernel<IndexT, V, unsigned long long><<<ct__cuda_blocks(total), CT_CUDA_THREADS>>>(
            (V *)out.data, (const V *)input.data, idx, index.stride[dim], len, row, bound, total, dim, flag);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

// index_select on contiguous tensors: rows in the widest unit that their length and alignment allow.
template <typename IndexT, typename T>
ct_status gather_rows(const ct__view &out, const ct__view &input, const ct__view &index, int dim, long long *flag) {
    long long outer, inner;
    split_at(out, dim, &outer, &inner);
    size_t row_bytes = (size_t)inner * sizeof(T);
    auto fits = [&](size_t unit) {
        return row_bytes % unit == 0 && aligned(out.data, unit) && aligned(input.data, unit);
    };
    if (fits(16)) return launch_gather_rows<IndexT, uint4>(out, input, index, dim, flag);
    if (fits(8)) return launch_gather_rows<IndexT, uint2>(out, input, index, dim, flag);
    return launch_gather_rows<IndexT, T>(out, input, index, dim, flag);
}

template <typename IndexT, typename T>
ct_status gather_typed(const ct__view &out, const ct__view &input, const ct__view &index, int dim, long long *flag) {
    long long n = ct__view_numel(out);
    bool dense = ct__view_contiguous(out) && ct__view_contiguous(input) && same_off_dim(out, input, dim);
    if (dense && one_index_per_row(index, dim)) return gather_rows<IndexT, T>(out, input, index, dim, flag);
    if (dense && ct__view_contiguous(index) && n < (1ll << 31) && ct__view_numel(input) < (1ll << 31) &&
        aligned(out.data, 4 * sizeof(T)) && aligned(index.data, 4 * sizeof(IndexT))) {
        long long outer, inner;
        split_at(out, dim, &outer, &inner);
        gather_contiguous_vec4_kernel<IndexT, T><<<ct__cuda_blocks((n + 3) / 4), CT_CUDA_THREADS>>>(
            (T *)out.data, (const T *)input.data, (const IndexT *)index.data, (unsigned)out.shape[dim],
            (unsigned)inner, (unsigned)input.shape[dim], (unsigned)n, dim, flag);
        CT_CUDA_CHECK_LAUNCH();
        return CT_OK;
    }
    GatherGeometry g{dims_of(out), strides_of(out), strides_of(input), strides_of(index), dim, input.shape[dim],
                     n < (1ll << 31)};
    gather_kernel<IndexT, T><<<ct__cuda_blocks(n), CT_CUDA_THREADS>>>((T *)out.data, (const T *)input.data,
                                                                      (const IndexT *)index.data, g, n, flag);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

// ---- scatter: arithmetic --------------------------------------------------------------------------------------------

// Integer arithmetic wraps (through the unsigned type), bool adds as "or" and multiplies as "and", floating max/min
// let a NaN win: the same rules as the CPU kernels.
template <typename T> __device__ __forceinline__ T add_op(T a, T b) {
    if constexpr (std::is_same_v<T, bool>) return a || b;
    else if constexpr (std::is_integral_v<T>) {
        using U = std::make_unsigned_t<T>;
        return (T)(U)((U)a + (U)b);
    } else return a + b;
}
// Floating products round on their own (no fused multiply-add with a following sum), as on the CPU.
template <typename T> __device__ __forceinline__ T mul_op(T a, T b) {
    if constexpr (std::is_same_v<T, bool>) return a && b;
    else if constexpr (std::is_same_v<T, float>) return __fmul_rn(a, b);
    else if constexpr (std::is_same_v<T, double>) return __dmul_rn(a, b);
    else if constexpr (std::is_integral_v<T>) {
        using U = std::make_unsigned_t<T>;
        return (T)(U)((U)a * (U)b);
    } else return a * b;
}
template <typename T> __device__ __forceinline__ T max_op(T a, T b) {
    if constexpr (std::is_same_v<T, bool>) return a || b;
    else return (b != b || b > a) ? b : a;
}
template <typename T> __device__ __forceinline__ T min_op(T a, T b) {
    if constexpr (std::is_same_v<T, bool>) return a && b;
    else return (b != b || b < a) ? b : a;
}

template <typename T> __device__ __forceinline__ T combine(int op, T d, T s) {
    switch (op) {
    case CT__SCATTER_SUM:
    case CT__SCATTER_MEAN: return add_op(d, s);
    case CT__SCATTER_PROD: return mul_op(d, s);
    case CT__SCATTER_AMAX: return max_op(d, s);
    case CT__SCATTER_AMIN: return min_op(d, s);
    default: return s;
    }
}

template <typename T> __device__ __forceinline__ T identity_of(int op) {
    if (op == CT__SCATTER_PROD) return T(1);
    if constexpr (std::is_floating_point_v<T>) {
        if (op == CT__SCATTER_AMAX) return -std::numeric_limits<T>::infinity();
        if (op == CT__SCATTER_AMIN) return std::numeric_limits<T>::infinity();
    } else {
        if (op == CT__SCATTER_AMAX) return std::numeric_limits<T>::lowest();
        if (op == CT__SCATTER_AMIN) return std::numeric_limits<T>::max();
    }
    return T(0);
}

template <typename T> __device__ __forceinline__ T mean_of(T sum, long long count) {
    if constexpr (std::is_floating_point_v<T>) return sum / (T)count;
    else {
        long long a = (long long)sum, q = a / count;
        return (T)((a % count != 0 && a < 0) ? q - 1 : q); // floor division (count > 0)
    }
}

template <typename To, typename From> __device__ __forceinline__ To bits_as(From f) {
    To t;
    memcpy(&t, &f, sizeof t);
    return t;
}

// *addr = combine(op, *addr, s), atomically.
template <typename T> __device__ void atomic_combine(T *addr, T s, int op) {
    if (op == CT__SCATTER_SUM || op == CT__SCATTER_MEAN) {
        if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int>) {
            atomicAdd(addr, s);
            return;
        } else if constexpr (std::is_same_v<T, long long>) {
            atomicAdd((unsigned long long *)addr, (unsigned long long)s);
            return;
        }
    }
    if constexpr (sizeof(T) == 8) {
        unsigned long long *word = (unsigned long long *)addr, old = *word, assumed;
        do {
            assumed = old;
            old = atomicCAS(word, assumed, bits_as<unsigned long long>(combine(op, bits_as<T>(assumed), s)));
        } while (old != assumed);
    } else if constexpr (sizeof(T) == 4) {
        unsigned *word = (unsigned *)addr, old = *word, assumed;
        do {
            assumed = old;
            old = atomicCAS(word, assumed, bits_as<unsigned>(combine(op, bits_as<T>(assumed), s)));
        } while (old != assumed);
    } else { // one byte, inside its aligned 32-bit word
        uintptr_t a = (uintptr_t)addr;
        unsigned *word = (unsigned *)(a & ~(uintptr_t)3), shift = (unsigned)(a & 3) * 8, old = *word, assumed;
        do {
            assumed = old;
            T cur = (T)(uint8_t)(assumed >> shift);
            unsigned next = (unsigned)(uint8_t)combine(op, cur, s);
            old = atomicCAS(word, assumed, (assumed & ~(0xffu << shift)) | (next << shift));
        } while (old != assumed);
    }
}

// ---- scatter: kernels -----------------------------------------------------------------------------------------------

template <typename T> struct ScatterParams {
    Dims dims; // index's shape, the iteration shape
    Strides self, index, src, count;
    int dim, op;
    long long bound; // self.shape[dim]
    bool has_src, wrap_negative, scale, include_self;
    bool small; // fewer than 2^31 elements: 32-bit coordinates
    T value, alpha;
};

// Offsets of element e of the iteration shape: in self (without the dim term), index, src, count (no dim term).
struct Offsets {
    long long self, index, src, count;
};

template <typename T> __device__ __forceinline__ Offsets offsets_of(long long e, const ScatterParams<T> &p) {
    Offsets o{0, 0, 0, 0};
    Peeler rest = peel(e, p.small);
    for (int d = p.dims.ndim - 1; d >= 0; d--) {
        long long c = rest.next(p.dims.size[d]);
        o.index += c * p.index.s[d];
        o.src += c * p.src.s[d];
        if (d != p.dim) o.self += c * p.self.s[d], o.count += c * p.count.s[d];
    }
    return o;
}

// The index at offset x, wrapped when negative ones are allowed; -1 (after raising the flag) when out of range.
template <typename IndexT, typename T>
__device__ __forceinline__ long long checked_index(const IndexT *index, long long x, const ScatterParams<T> &p,
                                                   long long *flag) {
    long long idx = (long long)index[x];
    if (p.wrap_negative && idx < 0 && idx >= -p.bound) idx += p.bound;
    if (idx < 0 || idx >= p.bound) {
        raise_bad_index(flag, (long long)index[x], p.dim, p.bound);
        return -1;
    }
    return idx;
}

template <typename T>
__device__ __forceinline__ T source_value(const T *src, long long off, const ScatterParams<T> &p) {
    T s = p.has_src ? src[off] : p.value;
    return p.scale ? mul_op(s, p.alpha) : s;
}

// include_self=false: the elements that index points at start from the reduction's identity.
template <typename IndexT, typename T>
__global__ void scatter_reset_kernel(T *self, const IndexT *index, ScatterParams<T> p, long long n, long long *flag) {
    for (long long e = first_thread(); e < n; e += thread_count()) {
        Offsets o = offsets_of(e, p);
        long long idx = checked_index(index, o.index, p, flag);
        if (idx >= 0) self[o.self + idx * p.self.s[p.dim]] = identity_of<T>(p.op);
    }
}

template <typename IndexT, typename T>
__global__ void scatter_atomic_kernel(T *self, const IndexT *index, const T *src, unsigned long long *count,
                                      ScatterParams<T> p, long long n, long long *flag) {
    for (long long e = first_thread(); e < n; e += thread_count()) {
        Offsets o = offsets_of(e, p);
        long long idx = checked_index(index, o.index, p, flag);
        if (idx < 0) continue;
        T s = source_value(src, o.src, p);
        T *d = self + o.self + idx * p.self.s[p.dim];
        if (p.op == CT__SCATTER_ASSIGN) *d = s;
        else atomic_combine(d, s, p.op);
        if (p.op == CT__SCATTER_MEAN) atomicAdd(count + o.count + idx * p.count.s[p.dim], 1ull);
    }
}

// Mean's last pass over self: divides each element that received values by how many it reduced.
template <typename T>
__global__ void mean_finish_kernel(T *self, Dims dims, Strides self_st, const long long *count, Strides count_st,
                                   bool include_self, long long n) {
    for (long long e = first_thread(); e < n; e += thread_count()) {
        long long rest = e, so = 0, co = 0;
        for (int d = dims.ndim - 1; d >= 0; d--) {
            long long c = rest % dims.size[d];
            rest /= dims.size[d];
            so += c * self_st.s[d];
            co += c * count_st.s[d];
        }
        if (count[co] > 0) self[so] = mean_of(self[so], count[co] + (include_self ? 1 : 0));
    }
}

// Deterministic path, step 1: each element's destination offset in self is its key; a bad index gets `sentinel`
// (sorted last, skipped).
template <typename IndexT, typename T>
__global__ void destination_keys_kernel(unsigned long long *keys, long long *order, const IndexT *index,
                                        ScatterParams<T> p, unsigned long long sentinel, long long n, long long *flag) {
    for (long long e = first_thread(); e < n; e += thread_count()) {
        Offsets o = offsets_of(e, p);
        long long idx = checked_index(index, o.index, p, flag);
        keys[e] = idx < 0 ? sentinel : (unsigned long long)(o.self + idx * p.self.s[p.dim]);
        order[e] = e;
    }
}

// Step 3, after a stable sort by key: the first thread of each run of one destination reduces the run in index
// order, as the CPU does.
template <typename T>
__global__ void reduce_runs_kernel(T *self, const T *src, const unsigned long long *keys, const long long *order,
                                   ScatterParams<T> p, unsigned long long sentinel, long long n) {
    for (long long q = first_thread(); q < n; q += thread_count()) {
        unsigned long long key = keys[q];
        if (key == sentinel || (q > 0 && keys[q - 1] == key)) continue;
        T *d = self + key;
        T acc = p.include_self || p.op == CT__SCATTER_ASSIGN ? *d : identity_of<T>(p.op);
        long long end = q;
        for (; end < n && keys[end] == key; end++)
            acc = combine(p.op, acc, source_value(src, offsets_of(order[end], p).src, p));
        if (p.op == CT__SCATTER_MEAN) acc = mean_of(acc, end - q + (p.include_self ? 1 : 0));
        *d = acc;
    }
}

// ---- scatter: launch ------------------------------------------------------------------------------------------------

template <typename T> T host_value(double v) {
    if constexpr (std::is_same_v<T, bool>) return v != 0;
    else if constexpr (std::is_integral_v<T>) // as the CPU's ct__store_scalar: NaN -> 0, out of range -> INT64_MIN
        return v != v                                                       ? T(0)
               : (v >= 9223372036854775808.0 || v < -9223372036854775808.0) ? (T)INT64_MIN
                                                                            : (T)(long long)v;
    else return (T)v;
}

template <typename T> ScatterParams<T> params_of(const ct__scatter_args *a) {
    ScatterParams<T> p;
    p.dims = dims_of(a->index);
    p.self = strides_of(a->self);
    p.index = strides_of(a->index);
    p.src = a->src.data ? strides_of(a->src) : Strides{};
    p.count = a->op == CT__SCATTER_MEAN ? strides_of(a->count) : Strides{};
    p.dim = a->dim;
    p.op = a->op;
    p.bound = a->self.shape[a->dim];
    p.has_src = a->src.data != nullptr;
    p.wrap_negative = a->wrap_negative;
    p.scale = a->alpha != 1.0;
    p.include_self = a->include_self;
    p.small = ct__view_numel(a->index) < (1ll << 31);
    p.value = host_value<T>(a->value);
    p.alpha = host_value<T>(a->alpha);
    return p;
}

// The largest element offset in self, plus one: the sentinel key, and the sort's key range.
unsigned long long self_extent(const ct__view &self) {
    unsigned long long last = 0;
    for (int d = 0; d < self.ndim; d++)
        last += (unsigned long long)(self.shape[d] - 1) * (unsigned long long)self.stride[d];
    return last + 1;
}

int bits_for(unsigned long long v) {
    int b = 1;
    while (b < 64 && (v >> b) != 0) b++;
    return b;
}

bool sorts(const ct__scatter_args *a) { return a->deterministic && a->src.data != nullptr; }

// The deterministic path's workspace: keys and order, twice (sort input and output), then the sort's scratch.
struct SortSpace {
    size_t keys_bytes, order_bytes, temp_bytes;
};

size_t round_up(size_t v) { return (v + 255) / 256 * 256; }

SortSpace sort_space(long long n, int end_bit) {
    SortSpace s{round_up((size_t)n * sizeof(unsigned long long)), round_up((size_t)n * sizeof(long long)), 0};
    cub::DeviceRadixSort::SortPairs(nullptr, s.temp_bytes, (const unsigned long long *)nullptr,
                                    (unsigned long long *)nullptr, (const long long *)nullptr, (long long *)nullptr, n,
                                    0, end_bit);
    return s;
}

template <typename IndexT, typename T>
ct_status scatter_sorted(const ct__scatter_args *a, const ScatterParams<T> &p, long long n, long long *flag) {
    unsigned long long sentinel = self_extent(a->self);
    int end_bit = bits_for(sentinel);
    SortSpace s = sort_space(n, end_bit);
    char *ws = (char *)a->workspace.data;
    unsigned long long *keys = (unsigned long long *)ws, *keys_sorted = (unsigned long long *)(ws + s.keys_bytes);
    long long *order = (long long *)(ws + 2 * s.keys_bytes), *order_sorted = order + s.order_bytes / sizeof(long long);
    void *temp = ws + 2 * s.keys_bytes + 2 * s.order_bytes;
    unsigned blocks = ct__cuda_blocks(n);
    destination_keys_kernel<IndexT, T><<<blocks, CT_CUDA_THREADS>>>(keys, order, (const IndexT *)a->index.data, p,
                                                                     sentinel, n, flag);
    CT_CUDA_CHECK_LAUNCH();
    size_t temp_bytes = s.temp_bytes;
    CT_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, keys, keys_sorted, order, order_sorted, n, 0,
                                                  end_bit));
    reduce_runs_kernel<T><<<blocks, CT_CUDA_THREADS>>>((T *)a->self.data, (const T *)a->src.data, keys_sorted,
                                                       order_sorted, p, sentinel, n);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

template <typename IndexT, typename T>
ct_status scatter_atomic(const ct__scatter_args *a, const ScatterParams<T> &p, long long n, long long *flag) {
    unsigned blocks = ct__cuda_blocks(n);
    T *self = (T *)a->self.data;
    const IndexT *index = (const IndexT *)a->index.data;
    if (!p.include_self && p.op != CT__SCATTER_ASSIGN) {
        scatter_reset_kernel<IndexT, T><<<blocks, CT_CUDA_THREADS>>>(self, index, p, n, flag);
        CT_CUDA_CHECK_LAUNCH();
    }
    unsigned long long *count = (unsigned long long *)a->count.data;
    scatter_atomic_kernel<IndexT, T><<<blocks, CT_CUDA_THREADS>>>(self, index, (const T *)a->src.data, count, p, n,
                                                                  flag);
    CT_CUDA_CHECK_LAUNCH();
    if (p.op == CT__SCATTER_MEAN) {
        long long m = ct__view_numel(a->self);
        mean_finish_kernel<T><<<ct__cuda_blocks(m), CT_CUDA_THREADS>>>(self, dims_of(a->self), strides_of(a->self),
                                                                       (const long long *)count,
                                                                       strides_of(a->count), p.include_self, m);
        CT_CUDA_CHECK_LAUNCH();
    }
    return CT_OK;
}

template <typename T> ct_status scatter_typed(const ct__scatter_args *a, long long n, long long *flag) {
    ScatterParams<T> p = params_of<T>(a);
    return with_index_type(a->index.dtype, [&](auto index_tag) {
        using IndexT = decltype(index_tag);
        return sorts(a) ? scatter_sorted<IndexT, T>(a, p, n, flag) : scatter_atomic<IndexT, T>(a, p, n, flag);
    });
}

// ---- masked select --------------------------------------------------------------------------------------------------

constexpr int TILE_THREADS = 256, TILE_ITEMS = 8, TILE = TILE_THREADS * TILE_ITEMS;

__device__ __forceinline__ long long offset_in(long long e, const Dims &dims, const Strides &st) {
    long long off = 0;
    for (int d = dims.ndim - 1; d >= 0; d--) {
        off += (e % dims.size[d]) * st.s[d];
        e /= dims.size[d];
    }
    return off;
}

// Each thread's TILE_ITEMS consecutive elements of its tile: how many are selected.
__device__ int count_items(const bool *mask, const Dims &dims, const Strides &mst, long long first, long long n) {
    int c = 0;
    for (int u = 0; u < TILE_ITEMS; u++) {
        long long e = first + u;
        if (e < n && mask[offset_in(e, dims, mst)]) c++;
    }
    return c;
}

__global__ void count_tiles_kernel(const bool *mask, Dims dims, Strides mst, long long n, long long *tile_counts) {
    using Reduce = cub::BlockReduce<int, TILE_THREADS>;
    __shared__ typename Reduce::TempStorage temp;
    long long first = (long long)blockIdx.x * TILE + (long long)threadIdx.x * TILE_ITEMS;
    int total = Reduce(temp).Sum(count_items(mask, dims, mst, first, n));
    if (threadIdx.x == 0) tile_counts[blockIdx.x] = total;
}

// One block: tile_counts[0..tiles) become exclusive offsets, and tile_counts[tiles] the total.
__global__ void scan_tiles_kernel(long long *tile_counts, long long tiles) {
    using Scan = cub::BlockScan<long long, 1024>;
    __shared__ typename Scan::TempStorage temp;
    long long per = (tiles + 1023) / 1024, lo = threadIdx.x * per, hi = lo + per < tiles ? lo + per : tiles;
    long long sum = 0;
    for (long long t = lo; t < hi; t++) sum += tile_counts[t];
    long long offset, total;
    Scan(temp).ExclusiveSum(sum, offset, total);
    for (long long t = lo; t < hi; t++) {
        long long c = tile_counts[t];
        tile_counts[t] = offset;
        offset += c;
    }
    if (threadIdx.x == 0) tile_counts[tiles] = total;
}

template <typename T>
__global__ void select_tiles_kernel(T *out, const T *input, Strides ist, const bool *mask, Dims dims, Strides mst,
                                    long long n, const long long *tile_offsets) {
    using Scan = cub::BlockScan<int, TILE_THREADS>;
    __shared__ typename Scan::TempStorage temp;
    long long first = (long long)blockIdx.x * TILE + (long long)threadIdx.x * TILE_ITEMS;
    int before;
    Scan(temp).ExclusiveSum(count_items(mask, dims, mst, first, n), before);
    long long pos = tile_offsets[blockIdx.x] + before;
    for (int u = 0; u < TILE_ITEMS; u++) {
        long long e = first + u;
        if (e < n && mask[offset_in(e, dims, mst)]) out[pos++] = input[offset_in(e, dims, ist)];
    }
}

long long tiles_of(long long n) { return (n + TILE - 1) / TILE; }

// Fills ws[0..tiles) with the tiles' offsets and ws[tiles] with the total.
ct_status count_and_scan(const ct__view &mask, long long *ws, long long n) {
    long long tiles = tiles_of(n);
    count_tiles_kernel<<<(unsigned)tiles, TILE_THREADS>>>((const bool *)mask.data, dims_of(mask), strides_of(mask), n,
                                                          ws);
    CT_CUDA_CHECK_LAUNCH();
    scan_tiles_kernel<<<1, 1024>>>(ws, tiles);
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------------------------

extern "C" ct_status ct__cuda_gather(int dev, ct__view out, ct__view input, ct__view index, int dim,
                                     ct__bad_index *bad) {
    if (ct__view_numel(out) == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    long long *flag;
    ct_status st = ct__cuda_error_flag(dev, &flag);
    if (st != CT_OK) return st;
    return with_index_type(index.dtype, [&](auto index_tag) {
        using IndexT = decltype(index_tag);
        return with_copy_type(ct_dtype_size(out.dtype), [&](auto copy_tag) {
            using T = decltype(copy_tag);
            return gather_typed<IndexT, T>(out, input, index, dim, flag);
        });
    });
}

extern "C" size_t ct__cuda_scatter_workspace_bytes(const ct__scatter_args *a) {
    long long n = ct__view_numel(a->index);
    if (!sorts(a) || n == 0) return 0;
    SortSpace s = sort_space(n, bits_for(self_extent(a->self)));
    return 2 * s.keys_bytes + 2 * s.order_bytes + s.temp_bytes;
}

extern "C" ct_status ct__cuda_scatter(int dev, const ct__scatter_args *a, ct__bad_index *bad) {
    long long n = ct__view_numel(a->index);
    if (n == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    long long *flag;
    ct_status st = ct__cuda_error_flag(dev, &flag);
    if (st != CT_OK) return st;
    switch (a->self.dtype) {
    case CT_FLOAT32: return scatter_typed<float>(a, n, flag);
    case CT_FLOAT64: return scatter_typed<double>(a, n, flag);
    case CT_INT64: return scatter_typed<long long>(a, n, flag);
    case CT_INT32: return scatter_typed<int>(a, n, flag);
    case CT_UINT8: return scatter_typed<uint8_t>(a, n, flag);
    case CT_BOOL: return scatter_typed<bool>(a, n, flag);
    default: return ct__error(CT_ERR_NOT_IMPLEMENTED, __func__, "dtype %s", ct_dtype_name(a->self.dtype));
    }
}

extern "C" size_t ct__cuda_masked_workspace_bytes(ct__view mask) {
    return (size_t)(tiles_of(ct__view_numel(mask)) + 1) * sizeof(long long);
}

extern "C" ct_status ct__cuda_masked_count(int dev, ct__view mask, ct__view workspace, int64_t *count) {
    long long n = ct__view_numel(mask), *ws = (long long *)workspace.data;
    *count = 0;
    if (n == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    ct_status st = count_and_scan(mask, ws, n);
    if (st != CT_OK) return st;
    long long total = 0;
    st = ct__cuda_memcpy(dev, &total, ws + tiles_of(n), sizeof total, CT__D2H);
    *count = total;
    return st;
}

extern "C" ct_status ct__cuda_masked_select(int dev, ct__view out, ct__view input, ct__view mask, ct__view workspace) {
    long long n = ct__view_numel(mask), *ws = (long long *)workspace.data;
    if (n == 0 || ct__view_numel(out) == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    ct_status st = count_and_scan(mask, ws, n);
    if (st != CT_OK) return st;
    return with_copy_type(ct_dtype_size(input.dtype), [&](auto copy_tag) {
        using T = decltype(copy_tag);
        select_tiles_kernel<T><<<(unsigned)tiles_of(n), TILE_THREADS>>>((T *)out.data, (const T *)input.data,
                                                                         strides_of(input), (const bool *)mask.data,
                                                                         dims_of(mask), strides_of(mask), n, ws);
        CT_CUDA_CHECK_LAUNCH();
        return CT_OK;
    });
}
