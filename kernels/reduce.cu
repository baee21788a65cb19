// Reductions and scans on CUDA (launchers declared in kernels/reduce.h).
//
// A reduction is an Op (init / reduce one element / combine two accumulators / write the result) run by one of
// two kernels over the front end's ct__reduce_geom:
//  - reduce_inner_kernel: a group of G threads per output (a warp when each output has few elements, the whole
//    block otherwise). When the reduced elements are contiguous, each thread reads 16-byte vectors (float4 /
//    double2), several loads in flight, one accumulator per vector lane; otherwise it computes each element's
//    offset from the geometry. The group then combines its accumulators with warp shuffles (and shared memory
//    between the warps of a block).
//  - reduce_outer_kernel: for a kept dim with the smallest stride (a sum over the first dim of a row-major
//    matrix): a block is 32 neighbouring outputs x 8 streams over the reduced positions, so each warp's loads are
//    coalesced along the kept dim; the 8 streams are combined in shared memory.
// Long reductions with few outputs are split over a grid dimension: each block writes a partial accumulator to a
// temporary buffer (stream-ordered cudaMallocAsync), and a second kernel combines every output's partials with one
// warp and writes the result. Both passes are deterministic: the same sizes give the same tree of additions.
// float32 accumulates in float, float64 in double, integers in wrapping 64-bit. argmax-like ops keep the first
// index among equal values (smaller index wins every combine), so the order of the tree does not matter to them.
//
// Scans: for lines along the innermost dim, one warp per line walks tiles of 128 elements (a sequential scan of 4
// per lane, a shuffle scan across the warp, a running carry); for lines along an outer dim, one thread per line,
// neighbouring threads on neighbouring columns so the loads coalesce.
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <type_traits>

#include "cuda_check.h"
#include "reduce.h"

namespace {

constexpr int kThreads = 256;
constexpr unsigned kFull = 0xffffffffu;

// ---- geometry ----------------------------------------------------------------------------------------------------

struct Geom {
    long long nout, nred;
    int nkept, nreduced;
    long long kshape[CT_MAX_DIMS], kstride[CT_MAX_DIMS], rshape[CT_MAX_DIMS], rstride[CT_MAX_DIMS];
};

Geom geom_of(const ct__reduce_geom &g) {
    Geom d;
    d.nout = g.nout, d.nred = g.nred, d.nkept = g.nkept, d.nreduced = g.nreduced;
    for (int i = 0; i < CT_MAX_DIMS; i++) {
        d.kshape[i] = g.kept_shape[i], d.kstride[i] = g.kept_stride[i];
        d.rshape[i] = g.red_shape[i], d.rstride[i] = g.red_stride[i];
    }
    return d;
}

// Offset of the first element of output o, over the first `ndims` kept dims.
__device__ __forceinline__ long long kept_offset(const Geom &g, int ndims, long long o) {
    long long off = 0;
    for (int d = ndims - 1; d >= 0; d--) {
        off += (o % g.kshape[d]) * g.kstride[d];
        o /= g.kshape[d];
    }
    return off;
}

// Offset of reduced position r.
__device__ __forceinline__ long long red_offset(const Geom &g, long long r) {
    if (g.nreduced == 1) return r * g.rstride[0];
    long long off = 0;
    for (int d = g.nreduced - 1; d >= 0; d--) {
        off += (r % g.rshape[d]) * g.rstride[d];
        r /= g.rshape[d];
    }
    return off;
}

// ---- results --------------------------------------------------------------------------------------------------------

// Where and how results are written.
struct Sink {
    void *out, *out2;
    ct_dtype dtype, dtype2;
    long long nred;
    double param;
    ct__reduce_op code;
};

__device__ void store_real(void *p, ct_dtype dtype, long long o, double v) {
    if (!p) return;
    if (dtype == CT_FLOAT32) ((float *)p)[o] = (float)v;
    else if (dtype == CT_FLOAT64) ((double *)p)[o] = v;
}

__device__ void store_int(void *p, ct_dtype dtype, long long o, long long v) {
    if (!p) return;
    switch (dtype) {
    case CT_INT64: ((long long *)p)[o] = v; break;
    case CT_INT32: ((int32_t *)p)[o] = (int32_t)v; break;
    case CT_UINT8: ((uint8_t *)p)[o] = (uint8_t)v; break;
    case CT_BOOL: ((uint8_t *)p)[o] = v != 0; break;
    default: break;
    }
}

template <typename C> __device__ void store_value(void *p, ct_dtype dtype, long long o, C v) {
    if constexpr (std::is_integral_v<C>) store_int(p, dtype, o, (long long)v);
    else store_real(p, dtype, o, (double)v);
}

// ---- ops --------------------------------------------------------------------------------------------------------

// Integer sums and products wrap: unsigned arithmetic, as int64 two's complement.
template <typename C> using wide_t = std::conditional_t<std::is_integral_v<C>, unsigned long long, C>;

template <typename C> __device__ __forceinline__ bool is_nan(C x) {
    if constexpr (std::is_floating_point_v<C>) return x != x;
    else return false;
}

template <typename C> struct Sum {
    using acc_t = wide_t<C>;
    __device__ acc_t init() const { return 0; }
    __device__ acc_t reduce(acc_t a, C x, long long) const { return a + (acc_t)x; }
    __device__ acc_t combine(acc_t a, acc_t b) const { return a + b; }
    __device__ void write(acc_t a, const Sink &s, long long o) const {
        if (s.code == CT__RED_MEAN) store_real(s.out, s.dtype, o, (double)a / (double)s.nred);
        else if constexpr (std::is_integral_v<C>) store_int(s.out, s.dtype, o, (long long)a);
        else store_real(s.out, s.dtype, o, (double)a);
    }
};

template <typename C> struct Prod {
    using acc_t = wide_t<C>;
    __device__ acc_t init() const { return 1; }
    __device__ acc_t reduce(acc_t a, C x, long long) const { return a * (acc_t)x; }
    __device__ acc_t combine(acc_t a, acc_t b) const { return a * b; }
    __device__ void write(acc_t a, const Sink &s, long long o) const {
        if constexpr (std::is_integral_v<C>) store_int(s.out, s.dtype, o, (long long)a);
        else store_real(s.out, s.dtype, o, (double)a);
    }
};

template <typename C> __device__ __forceinline__ C lowest() {
    if constexpr (std::is_floating_point_v<C>) return -INFINITY;
    else return (C)LLONG_MIN;
}
template <typename C> __device__ __forceinline__ C highest() {
    if constexpr (std::is_floating_point_v<C>) return INFINITY;
    else return (C)LLONG_MAX;
}

// amax / amin: NaN, once seen, wins.
template <typename C, bool Largest> struct Extreme {
    using acc_t = C;
    __device__ acc_t init() const { return Largest ? lowest<C>() : highest<C>(); }
    __device__ acc_t reduce(acc_t a, C x, long long) const { return combine(a, x); }
    __device__ acc_t combine(acc_t a, acc_t b) const {
        if (is_nan(a)) return a;
        if (is_nan(b)) return b;
        return Largest ? (b > a ? b : a) : (b < a ? b : a);
    }
    __device__ void write(acc_t a, const Sink &s, long long o) const { store_value(s.out, s.dtype, o, a); }
};

template <typename C> struct ValueIndex {
    C v;
    long long i; // -1: nothing seen
};

// max / min with the index of the first occurrence (the first NaN when there is one).
template <typename C, bool Largest> struct ArgExtreme {
    using acc_t = ValueIndex<C>;
    __device__ acc_t init() const { return {C(0), -1}; }
    __device__ acc_t reduce(acc_t a, C x, long long i) const { return combine(a, acc_t{x, i}); }
    __device__ acc_t combine(acc_t a, acc_t b) const {
        if (b.i < 0) return a;
        if (a.i < 0) return b;
        bool an = is_nan(a.v), bn = is_nan(b.v);
        if (an != bn) return an ? a : b;
        if (!an && a.v != b.v) return (Largest ? b.v > a.v : b.v < a.v) ? b : a;
        return b.i < a.i ? b : a; // equal (or both NaN): the first occurrence
    }
    __device__ void write(acc_t a, const Sink &s, long long o) const {
        store_value(s.out, s.dtype, o, a.v);
        store_int(s.out2, s.dtype2, o, a.i);
    }
};

template <typename C> struct MomentsAcc {
    C mean, m2;
    long long n;
};

// var / std (and the mean): Welford's update per element, Chan et al.'s merge between accumulators.
template <typename C> struct Moments {
    using acc_t = MomentsAcc<C>;
    __device__ acc_t init() const { return {C(0), C(0), 0}; }
    __device__ acc_t reduce(acc_t a, C x, long long) const {
        a.n++;
        C d = x - a.mean;
        a.mean += d / (C)a.n;
        a.m2 += d * (x - a.mean);
        return a;
    }
    __device__ acc_t combine(acc_t a, acc_t b) const {
        if (b.n == 0) return a;
        if (a.n == 0) return b;
        C n = (C)(a.n + b.n), delta = b.mean - a.mean;
        a.mean += delta * ((C)b.n / n);
        a.m2 += b.m2 + delta * delta * ((C)a.n * ((C)b.n / n));
        a.n += b.n;
        return a;
    }
    __device__ void write(acc_t a, const Sink &s, long long o) const {
        double dof = (double)a.n - s.param, var = (double)a.m2 / (dof > 0 ? dof : 0);
        store_real(s.out, s.dtype, o, s.code == CT__RED_STD ? sqrt(var) : var);
        store_real(s.out2, s.dtype2, o, a.n ? (double)a.mean : (double)NAN);
    }
};

template <typename C> struct MaxSum {
    C m, s; // running maximum, sum of exp(x - shift(m))
};

template <typename C> __device__ __forceinline__ C lse_shift(C m) { return isfinite(m) ? m : C(0); }
template <typename C> __device__ __forceinline__ C lse_rescale(C s, C m, C t) {
    return s == C(0) ? C(0) : s * exp(lse_shift(m) - t);
}

// logsumexp: log(sum exp(x - max)) + max, with the maximum tracked as the sum goes (the shift is 0 when the
// maximum is infinite, as PyTorch's).
template <typename C> struct LogSumExp {
    using acc_t = MaxSum<C>;
    __device__ acc_t init() const { return {-INFINITY, C(0)}; }
    __device__ acc_t reduce(acc_t a, C x, long long) const { return combine(a, acc_t{x, exp(x - lse_shift(x))}); }
    __device__ acc_t combine(acc_t a, acc_t b) const {
        C m = is_nan(a.m) ? a.m : is_nan(b.m) ? b.m : (b.m > a.m ? b.m : a.m), t = lse_shift(m);
        return {m, lse_rescale(a.s, a.m, t) + lse_rescale(b.s, b.m, t)};
    }
    __device__ void write(acc_t a, const Sink &s, long long o) const {
        store_real(s.out, s.dtype, o, is_nan(a.m) ? (double)NAN : log((double)a.s) + (double)lse_shift(a.m));
    }
};

enum NormKind { NORM_1, NORM_2, NORM_INF, NORM_NEG_INF, NORM_0, NORM_P };

NormKind norm_of(double ord) {
    if (ord == 1) return NORM_1;
    if (ord == 2) return NORM_2;
    if (ord == 0) return NORM_0;
    if (isinf(ord)) return ord > 0 ? NORM_INF : NORM_NEG_INF;
    return NORM_P;
}

template <typename C> struct Norm {
    using acc_t = C;
    NormKind kind;
    C p;
    __device__ acc_t init() const { return kind == NORM_NEG_INF ? C(INFINITY) : C(0); }
    __device__ acc_t reduce(acc_t a, C x, long long) const {
        C ax = fabs(x);
        switch (kind) {
        case NORM_1: return a + ax;
        case NORM_2: return a + ax * ax;
        case NORM_0: return a + (ax != C(0));
        case NORM_P: return a + pow(ax, p);
        default: return combine(a, ax);
        }
    }
    __device__ acc_t combine(acc_t a, acc_t b) const {
        if (kind == NORM_INF || kind == NORM_NEG_INF) {
            if (is_nan(a) || is_nan(b)) return is_nan(a) ? a : b;
            return (kind == NORM_INF) == (b > a) ? b : a;
        }
        return a + b;
    }
    __device__ void write(acc_t a, const Sink &s, long long o) const {
        double v = a;
        if (kind == NORM_2) v = sqrt(v);
        else if (kind == NORM_P) v = pow(v, 1.0 / s.param);
        store_real(s.out, s.dtype, o, v);
    }
};

// count_nonzero, all, any (NaN counts as non-zero).
template <typename C> struct Count {
    using acc_t = unsigned long long;
    __device__ acc_t init() const { return 0; }
    __device__ acc_t reduce(acc_t a, C x, long long) const { return a + (x != C(0)); }
    __device__ acc_t combine(acc_t a, acc_t b) const { return a + b; }
    __device__ void write(acc_t a, const Sink &s, long long o) const {
        long long v = s.code == CT__RED_ALL ? a == (acc_t)s.nred : s.code == CT__RED_ANY ? a > 0 : (long long)a;
        store_int(s.out, s.dtype, o, v);
    }
};

// ---- group combines -------------------------------------------------------------------------------------------------

template <typename A> __device__ __forceinline__ A shfl_xor(A a, int mask) {
    static_assert(sizeof(A) % 4 == 0, "accumulators are whole 32-bit words");
    constexpr int kWords = sizeof(A) / 4;
    unsigned w[kWords];
    memcpy(w, &a, sizeof(A));
#pragma unroll
    for (int i = 0; i < kWords; i++) w[i] = __shfl_xor_sync(kFull, w[i], mask);
    memcpy(&a, w, sizeof(A));
    return a;
}

// Every lane of the warp ends with the combination of the warp's 32 accumulators.
template <typename Op> __device__ typename Op::acc_t warp_combine(const Op &op, typename Op::acc_t a) {
#pragma unroll
    for (int m = 16; m >= 1; m >>= 1) a = op.combine(a, shfl_xor(a, m));
    return a;
}

// Thread 0 ends with the combination of the block's accumulators (blockDim.x == kThreads).
template <typename Op> __device__ typename Op::acc_t block_combine(const Op &op, typename Op::acc_t a) {
    __shared__ typename Op::acc_t warps[kThreads / 32];
    a = warp_combine(op, a);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) warps[warp] = a;
    __syncthreads();
    if (warp == 0) {
        a = lane < kThreads / 32 ? warps[lane] : op.init();
        a = warp_combine(op, a);
    }
    return a;
}

// ---- the reduction kernels ---------------------------------------------------------------------------------------

template <typename T> struct Compute { using type = long long; }; // integers and bool (as uint8)
template <> struct Compute<float> { using type = float; };
template <> struct Compute<double> { using type = double; };

template <typename T> struct Vec { static constexpr int width = 1; using type = T; };
template <> struct Vec<float> { static constexpr int width = 4; using type = float4; };
template <> struct Vec<double> { static constexpr int width = 2; using type = double2; };

template <typename C, typename V> __device__ __forceinline__ C lane_of(const V &v, int k) {
    if constexpr (Vec<C>::width == 4) return k == 0 ? v.x : k == 1 ? v.y : k == 2 ? v.z : v.w;
    else if constexpr (Vec<C>::width == 2) return k == 0 ? v.x : v.y;
    else return v;
}

constexpr int kUnroll = 4; // accumulators (and loads in flight) per thread

// Contiguous elements p[0..len) (indices first, first + 1, ...) of one output, read by the G threads of its group:
// 16-byte vectors from the first aligned address on, kUnroll of them in flight per thread.
template <typename T, typename Op, int G>
__device__ void reduce_contiguous(const Op &op, typename Op::acc_t (&acc)[kUnroll], const T *p, long long len,
                                  long long first, int lane) {
    using C = typename Compute<T>::type;
    constexpr int W = Vec<T>::width;
    if constexpr (W == 1) {
        for (long long i = lane; i < len; i += (long long)G * kUnroll) {
#pragma unroll
            for (int u = 0; u < kUnroll; u++)
                if (i + u * G < len) acc[u] = op.reduce(acc[u], (C)p[i + u * G], first + i + u * G);
        }
    } else {
        using V = typename Vec<T>::type;
        long long head = (long long)((16 - ((uintptr_t)p & 15)) & 15) / (long long)sizeof(T);
        if (head > len) head = len;
        for (long long i = lane; i < head; i += G) acc[0] = op.reduce(acc[0], (C)p[i], first + i);
        const V *pv = (const V *)(p + head);
        long long nvec = (len - head) / W;
        for (long long v = lane; v < nvec; v += (long long)G * kUnroll) {
            V x[kUnroll];
#pragma unroll
            for (int u = 0; u < kUnroll; u++)
                if (v + u * G < nvec) x[u] = pv[v + u * G];
#pragma unroll
            for (int u = 0; u < kUnroll; u++)
                if (v + u * G < nvec) {
                    long long at = first + head + (v + u * G) * W;
#pragma unroll
                    for (int k = 0; k < W; k++) acc[k] = op.reduce(acc[k], lane_of<C>(x[u], k), at + k);
                }
        }
        for (long long i = head + nvec * W + lane; i < len; i += G) acc[1] = op.reduce(acc[1], (C)p[i], first + i);
    }
}

// G threads per output; blockIdx.y picks the part [y * span, (y + 1) * span) of the reduced positions.
template <typename T, typename Op, int G>
__global__ void __launch_bounds__(kThreads) reduce_inner_kernel(const T *__restrict__ in, Geom g, Op op, Sink sink,
                                                                typename Op::acc_t *partial, long long span) {
    using C = typename Compute<T>::type;
    using A = typename Op::acc_t;
    constexpr int kPerBlock = kThreads / G;
    long long o = (long long)blockIdx.x * kPerBlock + threadIdx.x / G;
    int lane = threadIdx.x % G;
    bool active = o < g.nout;
    A acc[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; u++) acc[u] = op.init();
    long long r0 = (long long)blockIdx.y * span, r1 = r0 + span < g.nred ? r0 + span : g.nred;
    if (active && r0 < r1) {
        const T *base = in + kept_offset(g, g.nkept, o);
        if (g.nreduced <= 1 && (g.nreduced == 0 || g.rstride[0] == 1)) {
            reduce_contiguous<T, Op, G>(op, acc, base + r0, r1 - r0, r0, lane);
        } else {
            for (long long r = r0 + lane; r < r1; r += (long long)G * kUnroll) {
#pragma unroll
                for (int u = 0; u < kUnroll; u++)
                    if (r + u * G < r1) acc[u] = op.reduce(acc[u], (C)base[red_offset(g, r + u * G)], r + u * G);
            }
        }
    }
#pragma unroll
    for (int u = 1; u < kUnroll; u++) acc[0] = op.combine(acc[0], acc[u]);
    A total;
    if constexpr (G == 32) total = warp_combine(op, acc[0]);
    else total = block_combine(op, acc[0]);
    if (lane != 0 || !active) return;
    if (gridDim.y == 1) op.write(total, sink, o);
    else partial[o * gridDim.y + blockIdx.y] = total;
}

// Block (32, 8): 32 neighbouring outputs along the kept innermost dim (of size `row`) x 8 streams over the
// reduced positions. blockIdx.x = tile (row-block), blockIdx.y = part.
template <typename T, typename Op>
__global__ void __launch_bounds__(kThreads) reduce_outer_kernel(const T *__restrict__ in, Geom g, Op op, Sink sink,
                                                                typename Op::acc_t *partial, long long span,
                                                                long long row, long long tiles_per_row) {
    using C = typename Compute<T>::type;
    using A = typename Op::acc_t;
    __shared__ A streams[8][33];
    long long tile = blockIdx.x, outer = tile / tiles_per_row, col = tile % tiles_per_row * 32 + threadIdx.x;
    bool active = col < row;
    A acc[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; u++) acc[u] = op.init();
    long long r0 = (long long)blockIdx.y * span, r1 = r0 + span < g.nred ? r0 + span : g.nred;
    if (active) {
        const T *base = in + kept_offset(g, g.nkept - 1, outer) + col * g.kstride[g.nkept - 1];
        for (long long r = r0 + threadIdx.y; r < r1; r += 8 * kUnroll) {
#pragma unroll
            for (int u = 0; u < kUnroll; u++)
                if (r + 8 * u < r1) acc[u] = op.reduce(acc[u], (C)base[red_offset(g, r + 8 * u)], r + 8 * u);
        }
    }
#pragma unroll
    for (int u = 1; u < kUnroll; u++) acc[0] = op.combine(acc[0], acc[u]);
    streams[threadIdx.y][threadIdx.x] = acc[0];
    __syncthreads();
    if (threadIdx.y != 0 || !active) return;
    A total = streams[0][threadIdx.x];
    for (int y = 1; y < 8; y++) total = op.combine(total, streams[y][threadIdx.x]);
    long long o = outer * row + col;
    if (gridDim.y == 1) op.write(total, sink, o);
    else partial[o * gridDim.y + blockIdx.y] = total;
}

// One warp per output combines its `parts` partial accumulators and writes the result.
template <typename Op>
__global__ void combine_parts_kernel(const typename Op::acc_t *__restrict__ partial, long long nout, long long parts,
                                     Op op, Sink sink) {
    long long o = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    typename Op::acc_t a = op.init();
    if (o < nout)
        for (long long k = lane; k < parts; k += 32) a = op.combine(a, partial[o * parts + k]);
    a = warp_combine(op, a);
    if (lane == 0 && o < nout) op.write(a, sink, o);
}

// ---- planning and launching ----------------------------------------------------------------------------------------

int sm_count(int dev) {
    static int cached[64];
    if (dev >= 0 && dev < 64 && cached[dev]) return cached[dev];
    int n = 0;
    if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || n <= 0) n = 80;
    if (dev >= 0 && dev < 64) cached[dev] = n;
    return n;
}

long long ceil_div(long long a, long long b) { return (a + b - 1) / b; }

// Parts for `blocks` blocks of work over nred positions: enough blocks to fill the GPU a few times, each part at
// least `min_part` positions.
long long parts_for(long long blocks, long long nred, long long min_part, int sms) {
    if (blocks >= 2LL * sms || nred < 2 * min_part) return 1;
    long long parts = ceil_div(4LL * sms, blocks), most = nred / min_part;
    if (parts > most) parts = most;
    if (parts > 65535) parts = 65535;
    return parts < 1 ? 1 : parts;
}

// The kept innermost dim is walked by the outer kernel when it has the smallest stride and is wide enough.
bool use_outer(const ct__reduce_geom &g) {
    if (g.nkept == 0 || g.kept_shape[g.nkept - 1] < 16) return false;
    for (int d = 0; d < g.nreduced; d++)
        if (g.red_stride[d] <= g.kept_stride[g.nkept - 1]) return false;
    return true;
}

template <typename T, typename Op>
ct_status launch_reduce(int dev, const ct__reduce_geom &hg, const T *in, const Op &op, const Sink &sink) {
    using A = typename Op::acc_t;
    Geom g = geom_of(hg);
    int sms = sm_count(dev);
    bool outer = use_outer(hg);
    long long row = outer ? hg.kept_shape[hg.nkept - 1] : 1, tiles_per_row = ceil_div(row, 32);
    bool wide = hg.nred > 1024; // a block per output rather than a warp
    long long blocks = outer ? hg.nout / row * tiles_per_row : ceil_div(hg.nout, wide ? 1 : kThreads / 32);
    long long parts = parts_for(blocks, hg.nred, outer ? 2048 : 16384, sms);
    long long span = parts == 1 ? (hg.nred > 0 ? hg.nred : 1) : ceil_div(ceil_div(hg.nred, parts), 1024) * 1024;
    if (parts > 1) parts = ceil_div(hg.nred, span);
    if (blocks > 0x7fffffffLL) return ct__error(CT_ERR_NOT_IMPLEMENTED, "ct__cuda_reduce", "too many outputs (%lld)", (long long)hg.nout);
    A *partial = nullptr;
    if (parts > 1) CT_CUDA_CHECK(cudaMallocAsync((void **)&partial, (size_t)(hg.nout * parts) * sizeof(A), 0));
    dim3 grid((unsigned)blocks, (unsigned)parts);
    if (outer)
        reduce_outer_kernel<T, Op><<<grid, dim3(32, 8)>>>(in, g, op, sink, partial, span, row, tiles_per_row);
    else if (wide)
        reduce_inner_kernel<T, Op, kThreads><<<grid, kThreads>>>(in, g, op, sink, partial, span);
    else
        reduce_inner_kernel<T, Op, 32><<<grid, kThreads>>>(in, g, op, sink, partial, span);
    cudaError_t launched = cudaGetLastError();
    if (launched == cudaSuccess && parts > 1) {
        combine_parts_kernel<Op><<<(unsigned)ceil_div(hg.nout * 32, kThreads), kThreads>>>(partial, hg.nout, parts, op, sink);
        launched = cudaGetLastError();
    }
    if (partial) CT_CUDA_CHECK(cudaFreeAsync(partial, 0));
    CT_CUDA_CHECK(launched);
    return CT_OK;
}

template <typename T>
ct_status reduce_as(int dev, ct__reduce_op op, const ct__reduce_geom &g, const T *in, const Sink &sink, double param) {
    using C = typename Compute<T>::type;
    switch (op) {
    case CT__RED_SUM:
    case CT__RED_MEAN: return launch_reduce(dev, g, in, Sum<C>{}, sink);
    case CT__RED_PROD: return launch_reduce(dev, g, in, Prod<C>{}, sink);
    case CT__RED_AMAX: return launch_reduce(dev, g, in, Extreme<C, true>{}, sink);
    case CT__RED_AMIN: return launch_reduce(dev, g, in, Extreme<C, false>{}, sink);
    case CT__RED_MAX: return launch_reduce(dev, g, in, ArgExtreme<C, true>{}, sink);
    case CT__RED_MIN: return launch_reduce(dev, g, in, ArgExtreme<C, false>{}, sink);
    case CT__RED_COUNT_NONZERO:
    case CT__RED_ALL:
    case CT__RED_ANY: return launch_reduce(dev, g, in, Count<C>{}, sink);
    default: break;
    }
    if constexpr (std::is_floating_point_v<C>) {
        switch (op) {
        case CT__RED_VAR:
        case CT__RED_STD: return launch_reduce(dev, g, in, Moments<C>{}, sink);
        case CT__RED_LOGSUMEXP: return launch_reduce(dev, g, in, LogSumExp<C>{}, sink);
        case CT__RED_NORM: return launch_reduce(dev, g, in, Norm<C>{norm_of(param), (C)param}, sink);
        default: break;
        }
    }
    return ct__error(CT_ERR_INTERNAL, "ct__cuda_reduce", "op %d has no kernel for this dtype", (int)op);
}

// ---- scans ---------------------------------------------------------------------------------------------------------

template <typename A, bool Product> __device__ __forceinline__ A scan_apply(A a, A b) { return Product ? a * b : a + b; }

// One warp per line along the innermost dim: tiles of 32 x 4 elements, a carry between tiles.
template <typename T, typename A, typename O, bool Product>
__global__ void scan_rows_kernel(const T *__restrict__ in, O *__restrict__ out, long long lines, long long n) {
    long long line = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (line >= lines) return; // whole warps leave together
    const T *p = in + line * n;
    O *q = out + line * n;
    A carry = Product ? A(1) : A(0);
    for (long long t = 0; t < n; t += 128) {
        A v[4], run = Product ? A(1) : A(0);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            long long i = t + lane * 4 + k;
            v[k] = i < n ? (A)p[i] : (Product ? A(1) : A(0));
            run = scan_apply<A, Product>(run, v[k]);
            v[k] = run;
        }
        A incl = run; // inclusive scan of the lanes' totals
#pragma unroll
        for (int d = 1; d < 32; d <<= 1) {
            A up = __shfl_up_sync(kFull, incl, d);
            if (lane >= d) incl = scan_apply<A, Product>(up, incl);
        }
        A before = __shfl_up_sync(kFull, incl, 1);
        if (lane == 0) before = Product ? A(1) : A(0);
        before = scan_apply<A, Product>(carry, before);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            long long i = t + lane * 4 + k;
            if (i < n) q[i] = (O)scan_apply<A, Product>(before, v[k]);
        }
        carry = scan_apply<A, Product>(carry, __shfl_sync(kFull, incl, 31));
    }
}

// One thread per line along an outer dim; neighbouring threads take neighbouring inner positions.
template <typename T, typename A, typename O, bool Product>
__global__ void scan_columns_kernel(const T *__restrict__ in, O *__restrict__ out, ct__lines l) {
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= l.outer * l.inner) return;
    long long o = t / l.inner, i = t % l.inner, at = o * l.n * l.inner + i;
    A acc = Product ? A(1) : A(0);
    for (long long k = 0; k < l.n; k++, at += l.inner) {
        acc = scan_apply<A, Product>(acc, (A)in[at]);
        out[at] = (O)acc;
    }
}

template <typename T, typename A, typename O, bool Product>
ct_status launch_scan(ct__lines l, const T *in, O *out) {
    if (l.inner == 1) {
        long long blocks = ceil_div(l.outer * 32, kThreads);
        scan_rows_kernel<T, A, O, Product><<<(unsigned)blocks, kThreads>>>(in, out, l.outer, l.n);
    } else {
        long long blocks = ceil_div(l.outer * l.inner, kThreads);
        scan_columns_kernel<T, A, O, Product><<<(unsigned)blocks, kThreads>>>(in, out, l);
    }
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

template <typename T, typename A, typename O>
ct_status scan_as(ct__scan_op op, ct__lines l, const ct__view &in, const ct__view &out) {
    if (op == CT__SCAN_PROD) return launch_scan<T, A, O, true>(l, (const T *)in.data, (O *)out.data);
    return launch_scan<T, A, O, false>(l, (const T *)in.data, (O *)out.data);
}

} // namespace

extern "C" ct_status ct__cuda_reduce(int dev, ct__reduce_op op, const ct__reduce_geom *g, ct__view in, ct__view out,
                                     ct__view out2, double param) {
    if (g->nout == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    Sink sink{out.data, out2.data, out.dtype, out2.dtype, g->nred, param, op};
    switch (in.dtype) {
    case CT_FLOAT32: return reduce_as(dev, op, *g, (const float *)in.data, sink, param);
    case CT_FLOAT64: return reduce_as(dev, op, *g, (const double *)in.data, sink, param);
    case CT_INT64: return reduce_as(dev, op, *g, (const long long *)in.data, sink, param);
    case CT_INT32: return reduce_as(dev, op, *g, (const int32_t *)in.data, sink, param);
    case CT_UINT8:
    case CT_BOOL: return reduce_as(dev, op, *g, (const uint8_t *)in.data, sink, param);
    default: return ct__error(CT_ERR_NOT_IMPLEMENTED, __func__, "dtype %s", ct_dtype_name(in.dtype));
    }
}

extern "C" ct_status ct__cuda_scan(int dev, ct__scan_op op, ct__lines l, ct__view in, ct__view out) {
    if (l.outer == 0 || l.n == 0 || l.inner == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    switch (in.dtype) { // float32 accumulates in float, float64 in double, integers in wrapping int64
    case CT_FLOAT32: return scan_as<float, float, float>(op, l, in, out);
    case CT_FLOAT64: return scan_as<double, double, double>(op, l, in, out);
    case CT_INT64: return scan_as<long long, unsigned long long, long long>(op, l, in, out);
    case CT_INT32: return scan_as<int32_t, unsigned long long, long long>(op, l, in, out);
    case CT_UINT8:
    case CT_BOOL: return scan_as<uint8_t, unsigned long long, long long>(op, l, in, out);
    default: return ct__error(CT_ERR_NOT_IMPLEMENTED, __func__, "dtype %s", ct_dtype_name(in.dtype));
    }
}
