// CUDA kernels of the elementwise family (kernels/elementwise.h): binary arithmetic, comparisons, unary functions,
// where and masked_fill.
//
// Every op is a small functor (Arith, Compare, Unary, Select, Fill) run by one of two generic kernels:
//  - contiguous_kernel, when the output and every input are contiguous and their addresses aligned to kVec
//    elements: each thread of a grid-stride loop loads kVec elements of each input with one vector load (a float4
//    for float32), applies the functor kVec times and stores kVec results at once; a short scalar loop takes the
//    tail. This is the bandwidth-bound path, and what large activations and residual adds hit.
//  - strided_kernel, for everything else (broadcast, transposed, sliced operands): a grid-stride loop over output
//    elements that turns each linear index into every operand's offset, in 32-bit arithmetic when the sizes allow.
//    The host first coalesces dims that are contiguous with each other in every operand (and drops size-1 dims),
//    so a broadcast bias add has 2 dims here whatever the rank.
// A binary op with a scalar second operand binds the scalar into the functor (BindSecond) and runs as unary.
// float32 math is done in float (expf, erfcf, ...), float64 in double; integer arithmetic wraps through the unsigned
// type of the same width, as on the CPU.
#include <stdint.h>
#include <string.h>

#include <type_traits>
#include <utility>

#include "cuda_check.h"
#include "view.cuh"
#include "elementwise.h"

namespace {

constexpr int kVec = 4;
constexpr int kMaxOperands = 4; // output + up to three inputs (where)

template <typename T, int N> struct alignas(sizeof(T) * N) Pack {
    T v[N];
};

// ---- geometry --------------------------------------------------------------------------------------------------

// Element strides of N operands over the output's shape, coalesced; dim 0 is the innermost.
template <int N> struct Geometry {
    int ndim;
    long long shape[CT_MAX_DIMS];
    long long stride[N][CT_MAX_DIMS];
};

template <int N> Geometry<N> make_geometry(const ct__view *const views[N]) {
    Geometry<N> g;
    g.ndim = 0;
    for (int d = views[0]->ndim - 1; d >= 0; d--) {
        long long size = views[0]->shape[d];
        if (size == 1) continue;
        bool merge = g.ndim > 0;
        for (int k = 0; k < N && merge; k++)
            merge = views[k]->stride[d] == g.stride[k][g.ndim - 1] * g.shape[g.ndim - 1];
        if (merge) {
            g.shape[g.ndim - 1] *= size;
            continue;
        }
        g.shape[g.ndim] = size;
        for (int k = 0; k < N; k++) g.stride[k][g.ndim] = views[k]->stride[d];
        g.ndim++;
    }
    return g;
}

// Every operand's offset of linear index i, in Index arithmetic (32-bit when everything fits: a GPU divides 32-bit
// integers several times faster than 64-bit ones).
template <typename Index, int N>
__device__ __forceinline__ void offsets_of(const Geometry<N> &g, Index i, Index *off) {
#pragma unroll
    for (int k = 0; k < N; k++) off[k] = 0;
    for (int d = 0; d < g.ndim; d++) {
        Index size = (Index)g.shape[d], q = i / size, r = i - q * size;
        i = q;
#pragma unroll
        for (int k = 0; k < N; k++) off[k] += r * (Index)g.stride[k][d];
    }
}

// True when n and every offset that the geometry reaches fit in a 32-bit int.
template <int N> bool fits_int32(const Geometry<N> &g, long long n) {
    const long long limit = 0x7fffffffLL;
    if (n > limit) return false;
    for (int k = 0; k < N; k++) {
        long long reach = 0;
        for (int d = 0; d < g.ndim; d++) reach += (g.shape[d] - 1) * (g.stride[k][d] < 0 ? -g.stride[k][d] : g.stride[k][d]);
        if (reach > limit) return false;
    }
    return true;
}

template <typename T> bool vector_ready(const ct__view &v) {
    return ct__view_contiguous(v) && (uintptr_t)v.data % (sizeof(T) * kVec) == 0;
}

// ---- the two generic kernels -------------------------------------------------------------------------------------

template <typename Index, typename OT, typename F, size_t... K, typename... IT>
__device__ __forceinline__ void apply_at(const Index *off, const F &f, OT *out, std::index_sequence<K...>,
                                         const IT *...in) {
    out[off[0]] = f(in[off[K + 1]]...);
}

template <typename Index, typename OT, typename F, typename... IT>
__global__ void strided_kernel(long long n, Geometry<1 + sizeof...(IT)> g, F f, OT *out, const IT *...in) {
    Index off[1 + sizeof...(IT)];
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        offsets_of(g, (Index)i, off);
        apply_at(off, f, out, std::index_sequence_for<IT...>{}, in...);
    }
}

template <typename OT, typename F, typename... P>
__device__ __forceinline__ void apply_packed(Pack<OT, kVec> &r, const F &f, const P &...p) {
#pragma unroll
    for (int j = 0; j < kVec; j++) r.v[j] = f(p.v[j]...);
}

template <typename T> __device__ __forceinline__ Pack<T, kVec> load_pack(const T *p) {
    return *reinterpret_cast<const Pack<T, kVec> *>(p);
}

template <typename OT, typename F, typename... IT>
__global__ void contiguous_kernel(long long n, F f, OT *out, const IT *...in) {
    long long tid = blockIdx.x * (long long)blockDim.x + threadIdx.x, step = (long long)gridDim.x * blockDim.x;
    long long nvec = n / kVec;
    for (long long v = tid; v < nvec; v += step) {
        Pack<OT, kVec> r;
        apply_packed(r, f, load_pack(in + v * kVec)...);
        *reinterpret_cast<Pack<OT, kVec> *>(out + v * kVec) = r;
    }
    for (long long i = nvec * kVec + tid; i < n; i += step) out[i] = f(in[i]...);
}

// Runs f over out's elements: out[i] = f(in_0[i], in_1[i], ...), the inputs' element types IT.
template <typename OT, typename... IT, typename F, typename... V>
ct_status launch(const F &f, const ct__view &out, const V &...in) {
    static_assert(sizeof...(IT) == sizeof...(V) && 1 + sizeof...(V) <= kMaxOperands, "operand count");
    long long n = ct__view_numel(out);
    if (n == 0) return CT_OK;
    if (vector_ready<OT>(out) && (vector_ready<IT>(in) && ...)) {
        unsigned blocks = ct__cuda_blocks((n + kVec - 1) / kVec);
        contiguous_kernel<<<blocks, CT_CUDA_THREADS>>>(n, f, (OT *)out.data, (const IT *)in.data...);
    } else {
        const ct__view *views[] = {&out, &in...};
        Geometry<1 + sizeof...(V)> g = make_geometry<1 + sizeof...(V)>(views);
        if (fits_int32(g, n))
            strided_kernel<int><<<ct__cuda_blocks(n), CT_CUDA_THREADS>>>(n, g, f, (OT *)out.data, (const IT *)in.data...);
        else
            strided_kernel<long long>
                <<<ct__cuda_blocks(n), CT_CUDA_THREADS>>>(n, g, f, (OT *)out.data, (const IT *)in.data...);
    }
    CT_CUDA_CHECK_LAUNCH();
    return CT_OK;
}

// ---- per-element functions -----------------------------------------------------------------------------------

template <typename T> struct Wide { using type = T; }; // the type integer arithmetic wraps in
template <> struct Wide<int64_t> { using type = uint64_t; };
template <> struct Wide<int32_t> { using type = uint32_t; };
template <> struct Wide<uint8_t> { using type = uint32_t; };

template <typename T> T value_of(const ct__ew_value &v) {
    if constexpr (std::is_same_v<T, float>) return v.f32;
    else if constexpr (std::is_same_v<T, double>) return v.f64;
    else if constexpr (std::is_same_v<T, int64_t>) return v.i64;
    else if constexpr (std::is_same_v<T, int32_t>) return v.i32;
    else if constexpr (std::is_same_v<T, uint8_t>) return v.u8;
    else return v.b;
}

__device__ __forceinline__ float fpow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ double fpow(double x, double y) { return pow(x, y); }

__device__ __forceinline__ int64_t int_pow(int64_t base, int64_t exponent) {
    if (exponent < 0) return base == 1 ? 1 : base == -1 ? ((exponent & 1) ? -1 : 1) : 0;
    uint64_t result = 1, b = (uint64_t)base;
    for (uint64_t e = (uint64_t)exponent; e; e >>= 1) {
        if (e & 1) result *= b;
        b *= b;
    }
    return (int64_t)result;
}

// The division family (as on the CPU, runtime/cpu/elementwise.c): floating floor division is PyTorch's
// (c10's div_floor_floating), remainder moves fmod to the divisor's sign; integers truncate, correct the floor and
// remainder forms where the signs differ, and wrap MIN / -1 to MIN. y != 0 for integers (Arith checks).
template <typename T> __device__ __forceinline__ T div_floor(T x, T y) {
    if constexpr (std::is_floating_point_v<T>) {
        if (y == 0) return x / y;
        T mod = fmod(x, y), div = (x - mod) / y;
        if (mod != 0 && (y < 0) != (mod < 0)) div -= 1;
        if (div == 0) return copysign(T(0), x / y);
        T floored = floor(div);
        return div - floored > T(0.5) ? floored + 1 : floored;
    } else if constexpr (std::is_signed_v<T>) {
        using U = typename Wide<T>::type;
        if (y == -1) return (T)(U(0) - (U)x);
        T q = (T)(x / y), r = (T)(x % y);
        return r != 0 && (r < 0) != (y < 0) ? (T)(q - 1) : q;
    } else {
        return (T)(x / y);
    }
}

template <typename T> __device__ __forceinline__ T div_trunc(T x, T y) {
    using U = typename Wide<T>::type;
    if constexpr (std::is_floating_point_v<T>) return trunc(x / y);
    else if constexpr (std::is_signed_v<T>) return y == -1 ? (T)(U(0) - (U)x) : (T)(x / y);
    else return (T)(x / y);
}

template <typename T> __device__ __forceinline__ T python_remainder(T x, T y) {
    if constexpr (std::is_floating_point_v<T>) {
        T mod = fmod(x, y);
        return mod != 0 && (y < 0) != (mod < 0) ? mod + y : mod;
    } else if constexpr (std::is_signed_v<T>) {
        if (y == -1) return 0;
        T r = (T)(x % y);
        return r != 0 && (r < 0) != (y < 0) ? (T)(r + y) : r;
    } else {
        return (T)(x % y);
    }
}

template <typename T> __device__ __forceinline__ T fmod_of(T x, T y) {
    if constexpr (std::is_floating_point_v<T>) return fmod(x, y);
    else if constexpr (std::is_signed_v<T>) return y == -1 ? T(0) : (T)(x % y);
    else return (T)(x % y);
}

__device__ void raise_zero_division(long long *flag) {
    atomicCAS((unsigned long long *)flag, 0ull, (unsigned long long)CT__DEVICE_ERROR_ZERO_DIVISION);
}

template <typename T> struct Arith {
    ct__ew_op op;
    T alpha;
    long long *flag; // the device error flag, for integer division by zero
    __device__ __forceinline__ T operator()(T x, T y) const {
        using U = typename Wide<T>::type;
        if constexpr (std::is_same_v<T, bool>) {
            return op == CT__EW_ADD ? (x | (alpha & y)) : (x & y);
        } else {
            switch (op) {
            case CT__EW_ADD: return (T)((U)x + (U)alpha * (U)y);
            case CT__EW_SUB: return (T)((U)x - (U)alpha * (U)y);
            case CT__EW_MUL: return (T)((U)x * (U)y);
            case CT__EW_DIV:
                if constexpr (std::is_floating_point_v<T>) return x / y;
                else return 0; // never asked: integer division is promoted to float32 first
            case CT__EW_DIV_TRUNC: case CT__EW_DIV_FLOOR: case CT__EW_REMAINDER: case CT__EW_FMOD:
                if constexpr (!std::is_floating_point_v<T>) {
                    if (y == 0) { // never trap: 0, as PyTorch's CUDA floor division, and the error flag
                        raise_zero_division(flag);
                        return 0;
                    }
                }
                return op == CT__EW_DIV_TRUNC ? div_trunc(x, y)
                       : op == CT__EW_DIV_FLOOR ? div_floor(x, y)
                       : op == CT__EW_REMAINDER ? python_remainder(x, y) : fmod_of(x, y);
            default:
                if constexpr (std::is_floating_point_v<T>) return fpow(x, y);
                else return (T)int_pow((int64_t)x, (int64_t)y);
            }
        }
    }
};

template <typename T> struct Compare {
    ct__ew_op op;
    __device__ __forceinline__ bool operator()(T x, T y) const {
        switch (op) {
        case CT__EW_EQ: return x == y;
        case CT__EW_NE: return x != y;
        case CT__EW_LT: return x < y;
        case CT__EW_LE: return x <= y;
        case CT__EW_GT: return x > y;
        default: return x >= y;
        }
    }
};

// 1 / (1 + e^-x), written so that the exponential never overflows (e^x / (1 + e^x) for negative x), as on the CPU.
// silu is x sigmoid(x), and the tanh gelu 0.5 x (1 + tanh u) is x sigmoid(2u): the same values without the
// cancellation of 1 + tanh u far left of 0; the exact gelu is 0.5 x erfc(-x / sqrt 2) for the same reason.
__device__ __forceinline__ float sigmoid(float x) {
    float e = expf(-fabsf(x));
    return x < 0 ? e / (1.0f + e) : 1.0f / (1.0f + e);
}
__device__ __forceinline__ double sigmoid(double x) {
    double e = exp(-fabs(x));
    return x < 0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
}

// The op is a template argument so that each kernel holds one function, not a switch over all of them.
template <typename T, ct__ew_op Op> struct Unary {
    T lo, hi;
    __device__ __forceinline__ T operator()(T x) const {
        using U = typename Wide<T>::type;
        if constexpr (Op == CT__EW_NEG) {
            if constexpr (std::is_floating_point_v<T>) return -x;
            else return (T)(U(0) - (U)x);
        } else if constexpr (Op == CT__EW_ABS) {
            if constexpr (std::is_unsigned_v<T>) return x;
            else if constexpr (std::is_same_v<T, float>) return fabsf(x);
            else if constexpr (std::is_same_v<T, double>) return fabs(x);
            else return x < 0 ? (T)(U(0) - (U)x) : x;
        } else if constexpr (Op == CT__EW_RELU) {
            if constexpr (std::is_unsigned_v<T>) return x;
            else return x < 0 ? T(0) : x; // NaN stays NaN
        } else if constexpr (Op == CT__EW_CLAMP) {
            T c = x < lo ? lo : x; // NaN stays NaN; lo > hi gives hi
            return c > hi ? hi : c;
        } else {
            return floating(x);
        }
    }
    __device__ __forceinline__ T floating(T x) const {
        if constexpr (std::is_same_v<T, float>) {
            if constexpr (Op == CT__EW_EXP) return expf(x);
            else if constexpr (Op == CT__EW_LOG) return logf(x);
            else if constexpr (Op == CT__EW_LOG1P) return log1pf(x);
            else if constexpr (Op == CT__EW_SQRT) return sqrtf(x);
            else if constexpr (Op == CT__EW_RSQRT) return rsqrtf(x);
            else if constexpr (Op == CT__EW_SIGMOID) return sigmoid(x);
            else if constexpr (Op == CT__EW_TANH) return tanhf(x);
            else if constexpr (Op == CT__EW_GELU) return 0.5f * x * erfcf(x * -0.70710678118654752440f);
            else if constexpr (Op == CT__EW_GELU_TANH)
                return x * sigmoid(2.0f * 0.79788456080286535588f * (x + 0.044715f * x * x * x));
            else return x * sigmoid(x); // silu
        } else if constexpr (std::is_same_v<T, double>) {
            if constexpr (Op == CT__EW_EXP) return exp(x);
            else if constexpr (Op == CT__EW_LOG) return log(x);
            else if constexpr (Op == CT__EW_LOG1P) return log1p(x);
            else if constexpr (Op == CT__EW_SQRT) return sqrt(x);
            else if constexpr (Op == CT__EW_RSQRT) return rsqrt(x);
            else if constexpr (Op == CT__EW_SIGMOID) return sigmoid(x);
            else if constexpr (Op == CT__EW_TANH) return tanh(x);
            else if constexpr (Op == CT__EW_GELU) return 0.5 * x * erfc(x * -0.70710678118654752440);
            else if constexpr (Op == CT__EW_GELU_TANH)
                return x * sigmoid(2.0 * 0.79788456080286535588 * (x + 0.044715 * x * x * x));
            else return x * sigmoid(x);
        } else {
            return x; // integers never get here: the front end promotes them to float32
        }
    }
};

// f(a, scalar): a binary functor with its second operand fixed.
template <typename F, typename T> struct BindSecond {
    F f;
    T b;
    __device__ __forceinline__ auto operator()(T a) const { return f(a, b); }
};

template <typename T> struct Select {
    __device__ __forceinline__ T operator()(bool c, T a, T b) const { return c ? a : b; }
};

template <typename T> struct Fill {
    T value;
    __device__ __forceinline__ T operator()(T x, bool m) const { return m ? value : x; }
};

// ---- dispatch ------------------------------------------------------------------------------------------------------

ct_status no_kernel(const char *func, int op, ct_dtype dtype) {
    return ct__error(CT_ERR_INTERNAL, func, "no CUDA kernel for elementwise op %d on %s", op, ct_dtype_name(dtype));
}

template <typename OT, typename T, typename F>
ct_status binary_launch(const F &f, const ct__view &out, const ct__view &a, const ct__view &b,
                        const ct__ew_args &args) {
    if (!b.data) return launch<OT, T>(BindSecond<F, T>{f, value_of<T>(args.scalar)}, out, a);
    return launch<OT, T, T>(f, out, a, b);
}

template <typename T>
ct_status binary_typed(int dev, ct__ew_op op, const ct__view &out, const ct__view &a, const ct__view &b,
                       const ct__ew_args &args) {
    if (op >= CT__EW_EQ && op <= CT__EW_GE) return binary_launch<bool, T>(Compare<T>{op}, out, a, b, args);
    bool allowed = std::is_same_v<T, bool> ? op == CT__EW_ADD || op == CT__EW_MUL
                                           : op != CT__EW_DIV || std::is_floating_point_v<T>;
    if (op > CT__EW_FMOD || !allowed) return no_kernel("ct__cuda_ew_binary", op, out.dtype);
    long long *flag = nullptr;
    if (std::is_integral_v<T> && op >= CT__EW_DIV_TRUNC && op <= CT__EW_FMOD) {
        ct_status st = ct__cuda_error_flag(dev, &flag);
        if (st != CT_OK) return st;
    }
    return binary_launch<T, T>(Arith<T>{op, value_of<T>(args.alpha), flag}, out, a, b, args);
}

template <typename T, ct__ew_op Op> ct_status unary_as(const ct__view &out, const ct__view &in, const ct__ew_args &args) {
    return launch<T, T>(Unary<T, Op>{value_of<T>(args.lo), value_of<T>(args.hi)}, out, in);
}

template <typename T> ct_status unary_typed(ct__ew_op op, const ct__view &out, const ct__view &in, const ct__ew_args &a) {
    if constexpr (!std::is_same_v<T, bool>) {
        switch (op) {
        case CT__EW_NEG: return unary_as<T, CT__EW_NEG>(out, in, a);
        case CT__EW_ABS: return unary_as<T, CT__EW_ABS>(out, in, a);
        case CT__EW_RELU: return unary_as<T, CT__EW_RELU>(out, in, a);
        case CT__EW_CLAMP: return unary_as<T, CT__EW_CLAMP>(out, in, a);
        default: break;
        }
    }
    if constexpr (std::is_floating_point_v<T>) {
        switch (op) {
        case CT__EW_EXP: return unary_as<T, CT__EW_EXP>(out, in, a);
        case CT__EW_LOG: return unary_as<T, CT__EW_LOG>(out, in, a);
        case CT__EW_LOG1P: return unary_as<T, CT__EW_LOG1P>(out, in, a);
        case CT__EW_SQRT: return unary_as<T, CT__EW_SQRT>(out, in, a);
        case CT__EW_RSQRT: return unary_as<T, CT__EW_RSQRT>(out, in, a);
        case CT__EW_SIGMOID: return unary_as<T, CT__EW_SIGMOID>(out, in, a);
        case CT__EW_TANH: return unary_as<T, CT__EW_TANH>(out, in, a);
        case CT__EW_GELU: return unary_as<T, CT__EW_GELU>(out, in, a);
        case CT__EW_GELU_TANH: return unary_as<T, CT__EW_GELU_TANH>(out, in, a);
        case CT__EW_SILU: return unary_as<T, CT__EW_SILU>(out, in, a);
        default: break;
        }
    }
    return no_kernel("ct__cuda_ew_unary", op, out.dtype);
}

// Calls fn.template operator()<T>() with T the C type of dtype.
template <typename Fn> ct_status by_dtype(ct_dtype dtype, const Fn &fn, const char *func) {
    switch (dtype) {
    case CT_FLOAT32: return fn((float)0);
    case CT_FLOAT64: return fn((double)0);
    case CT_INT64: return fn((int64_t)0);
    case CT_INT32: return fn((int32_t)0);
    case CT_UINT8: return fn((uint8_t)0);
    case CT_BOOL: return fn(false);
    default: return no_kernel(func, -1, dtype);
    }
}

// where and masked_fill only move bits: elements of 1, 4 or 8 bytes.
template <typename Fn> ct_status by_size(ct_dtype dtype, const Fn &fn, const char *func) {
    switch (ct_dtype_size(dtype)) {
    case 1: return fn((uint8_t)0);
    case 4: return fn((uint32_t)0);
    case 8: return fn((uint64_t)0);
    default: return no_kernel(func, -1, dtype);
    }
}

} // namespace

extern "C" ct_status ct__cuda_ew_binary(int dev, ct__ew_op op, ct__view out, ct__view a, ct__view b, ct__ew_args args) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    return by_dtype(a.dtype, [&](auto zero) { return binary_typed<decltype(zero)>(dev, op, out, a, b, args); }, __func__);
}

extern "C" ct_status ct__cuda_ew_unary(int dev, ct__ew_op op, ct__view out, ct__view in, ct__ew_args args) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    return by_dtype(in.dtype, [&](auto zero) { return unary_typed<decltype(zero)>(op, out, in, args); }, __func__);
}

extern "C" ct_status ct__cuda_ew_where(int dev, ct__view out, ct__view cond, ct__view a, ct__view b) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    return by_size(out.dtype, [&](auto zero) {
        using T = decltype(zero);
        return launch<T, bool, T, T>(Select<T>{}, out, cond, a, b);
    }, __func__);
}

extern "C" ct_status ct__cuda_ew_masked_fill(int dev, ct__view out, ct__view self, ct__view mask, ct__ew_args args) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    return by_size(out.dtype, [&](auto zero) {
        using T = decltype(zero);
        T value;
        memcpy(&value, &args.fill, sizeof value); // the value's bytes in out's dtype
        return launch<T, T, bool>(Fill<T>{value}, out, self, mask);
    }, __func__);
}
