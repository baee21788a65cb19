/* The vectorised float32/float64 kernels behind runtime/cpu/reduce.c's fast paths: reductions of a contiguous run,
 * row-at-a-time updates of a row of accumulators (reductions and softmax over an outer dim), and the exponentials of
 * softmax and logsumexp. Included by reduce.c only.
 *
 * Accuracy: a run is summed a CASCADE block at a time into 64 (float32) or 32 (float64) independent lanes of the
 * input's type, four 64-byte vectors (each lane adds CASCADE / 64 or / 32 elements); the lanes are folded as a tree
 * and each block's total joins a double.
 * For float32 that keeps the error of a long sum far below one float32 rounding of the result (PyTorch's
 * cascade_sum also keeps float partial sums short); the many lanes also hide the adder latency, so the loop runs at
 * the speed of the loads. Products accumulate in double lanes (as before: no float overflow on the way).
 *
 * Every kernel is built for the baseline (SSE2), x86-64-v3 (AVX2, FMA) and x86-64-v4 (AVX-512) with GCC's
 * target_clones, as runtime/cpu/elementwise.c's loops: the build itself targets the baseline. Max and min over a
 * run are the exception: three functions picked at run time (see EXTREME_VEC for why). The element
 * operations are macros, not functions, so nothing needs inlining across the clones' targets. */
#ifndef CTORCH_CPU_REDUCE_VEC_H
#define CTORCH_CPU_REDUCE_VEC_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "clones.h"
#include "exp_poly.h"

/* CTORCH_REDUCE_PORTABLE (a compile definition) builds only the portable code, to test it on an AVX machine. */
#ifndef CTORCH_REDUCE_PORTABLE
#define RED_CLONES CT__LOOP_CLONES
#else
#define RED_CLONES
#endif

#define CASCADE 2048 /* elements summed in the input's type before the block's total joins a double */
#define ROWS_CASCADE 128 /* rows added into a row of accumulators before they join doubles */

/* NaN-propagating max/min as one unordered compare and a select (a NaN, once in, stays). */
#define NAN_MAX(a, x) (((x) > (a) || (x) != (x)) ? (x) : (a))
#define NAN_MIN(a, x) (((x) < (a) || (x) != (x)) ? (x) : (a))

/* e^x for x <= 0 or NaN, written as straight-line code (both sides of each select computed) so that the loop
 * vectorises: x = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor polynomial, 2^n built in the exponent bits (n
 * read from the bits of a float rounded by adding 1.5 * 2^(mantissa bits), so no NaN meets a conversion). NaN stays
 * NaN; arguments below the smallest normal result give 0.
 *  - float: degree 7 (truncation below 2e-8), within 1 ulp over [-87, 0].
 *  - double: degree 13 (truncation below 5e-18), within 2 ulp over [-708, 0]; ln 2 split as fdlibm's. */
RED_CLONES static void exp_nonpositive_f32(float *x, int64_t m) {
    const float magic = 12582912.0f;
    uint32_t magic_bits;
    memcpy(&magic_bits, &magic, sizeof magic_bits);
#pragma omp simd
    for (int64_t i = 0; i < m; i++) {
        float v = x[i], c = v < -87.0f ? -87.0f : v;
        float t = c * 1.44269504f + magic, n = t - magic;
        uint32_t tb, scale_bits;
        memcpy(&tb, &t, sizeof tb);
        float r = (c - n * CT__LN2_HI_F32) - n * CT__LN2_LO_F32;
        float p = ct__exp_reduced_f32(r);
        scale_bits = (tb - magic_bits + 127u) << 23;
        float scale;
        memcpy(&scale, &scale_bits, sizeof scale);
        x[i] = v < -87.0f ? 0.0f : p * scale;
    }
}

RED_CLONES static void exp_nonpositive_f64(double *x, int64_t m) {
    const double magic = 6755399441055744.0; /* 1.5 * 2^52 */
    uint64_t magic_bits;
    memcpy(&magic_bits, &magic, sizeof magic_bits);
#pragma omp simd
    for (int64_t i = 0; i < m; i++) {
        double v = x[i], c = v < -708.0 ? -708.0 : v;
        double t = c * 1.4426950408889634 + magic, n = t - magic;
        uint64_t tb, scale_bits;
        memcpy(&tb, &t, sizeof tb);
        double r = (c - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
        double p = 1.0 / 6227020800.0;
        p = p * r + 1.0 / 479001600.0;
        p = p * r + 1.0 / 39916800.0;
        p = p * r + 1.0 / 3628800.0;
        p = p * r + 1.0 / 362880.0;
        p = p * r + 1.0 / 40320.0;
        p = p * r + 1.0 / 5040.0;
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        scale_bits = (tb - magic_bits + 1023u) << 52;
        double scale;
        memcpy(&scale, &scale_bits, sizeof scale);
        x[i] = v < -708.0 ? 0.0 : p * scale;
    }
}

/* Vectors of 64 bytes (GCC's vector extensions; on a narrower ISA each is a few registers), and the masks their
 * comparisons give. The lane accumulators are four such vectors: in registers, so each addition waits for nothing
 * but its load. */
typedef float f32_vec __attribute__((vector_size(64)));
typedef int32_t f32_mask __attribute__((vector_size(64)));
typedef float f32_half __attribute__((vector_size(32)));
typedef double f64_vec __attribute__((vector_size(64)));
typedef int64_t f64_mask __attribute__((vector_size(64)));
#define f32_WIDTH 16
#define f64_WIDTH 8
/* Lane permutations that fold a vector onto itself: step k pairs lane i with lane i ^ (WIDTH >> (k + 1)). */
#define f32_FOLDS                                                                                                   \
    {8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7}, {4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11}, \
        {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13},                                                     \
        {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14}
#define f64_FOLDS {4, 5, 6, 7, 0, 1, 2, 3}, {2, 3, 0, 1, 6, 7, 4, 5}, {1, 0, 3, 2, 5, 4, 7, 6}

static const f32_mask f32_folds[] = {f32_FOLDS};
static const f64_mask f64_folds[] = {f64_FOLDS};

#define VEC_ADD(S, a, b) ((a) + (b))
/* v's lanes combined by OP into every lane, as a tree (log2 WIDTH steps). */
#define FOLD(S, v, OP)                                                                                              \
    do {                                                                                                            \
        for (size_t k_ = 0; k_ < sizeof S##_folds / sizeof S##_folds[0]; k_++) {                                    \
            S##_vec other_ = __builtin_shuffle(v, S##_folds[k_]);                                                   \
            v = OP(S, v, other_);                                                                                   \
        }                                                                                                           \
    } while (0)

/* The comparisons of max and min vectorise with GCC's vector types only where the function's own target has
 * registers that wide (wider ones are split into scalar compares), and target_clones fixes the types' width at the
 * baseline's. So max and min come three times, picked at run time: 64-byte vectors for AVX-512 machines, 32-byte
 * vectors for AVX2 ones (four accumulators each), and portable lanes that GCC vectorises at the baseline's width. */
typedef float f32_vec8 __attribute__((vector_size(32)));
typedef int32_t f32_mask8 __attribute__((vector_size(32)));
typedef double f64_vec8 __attribute__((vector_size(32)));
typedef int64_t f64_mask8 __attribute__((vector_size(32)));
#define f32_FOLDS8 {4, 5, 6, 7, 0, 1, 2, 3}, {2, 3, 0, 1, 6, 7, 4, 5}, {1, 0, 3, 2, 5, 4, 7, 6}
#define f64_FOLDS8 {2, 3, 0, 1}, {1, 0, 3, 2}
static const f32_mask8 f32_folds8[] = {f32_FOLDS8};
static const f64_mask8 f64_folds8[] = {f64_FOLDS8};
#define SELECT_V(V, M, mask, a, b) ((V)((((M)(a)) & (mask)) | (((M)(b)) & ~(mask))))
#define VMAX(V, M, a, x) SELECT_V(V, M, ((x) > (a)) | ((x) != (x)), x, a)
#define VMIN(V, M, a, x) SELECT_V(V, M, ((x) < (a)) | ((x) != (x)), x, a)
#define EXTREME_LOOP(V, M, FOLDS, OP, SCALAR_OP)                                                                    \
    do {                                                                                                            \
        for (; i + 4 * W <= n; i += 4 * W) {                                                                        \
            memcpy(&v0, x + i, sizeof v0), memcpy(&v1, x + i + W, sizeof v1);                                       \
            memcpy(&v2, x + i + 2 * W, sizeof v2), memcpy(&v3, x + i + 3 * W, sizeof v3);                           \
            a0 = OP(V, M, a0, v0), a1 = OP(V, M, a1, v1), a2 = OP(V, M, a2, v2), a3 = OP(V, M, a3, v3);             \
        }                                                                                                           \
        a0 = OP(V, M, OP(V, M, a0, a1), OP(V, M, a2, a3));                                                          \
        for (size_t k_ = 0; k_ < sizeof FOLDS / sizeof FOLDS[0]; k_++) {                                            \
            V other_ = __builtin_shuffle(a0, FOLDS[k_]);                                                            \
            a0 = OP(V, M, a0, other_);                                                                              \
        }                                                                                                           \
        acc = a0[0];                                                                                                \
        for (; i < n; i++) acc = SCALAR_OP(acc, x[i]);                                                              \
    } while (0)
/* NAME(x, n, acc, largest) for the target TARGET with vectors V (masks M), folded by the permutations FOLDS. */
#define EXTREME_VEC(T, NAME, TARGET, V, M, FOLDS)                                                                   \
    __attribute__((target(TARGET))) static T NAME(const T *x, int64_t n, T acc, bool largest) {                    \
        enum { W = sizeof(V) / sizeof(T) };                                                                         \
        V a0 = (V){0} + acc, a1 = a0, a2 = a0, a3 = a0, v0, v1, v2, v3;                                             \
        int64_t i = 0;                                                                                              \
        if (largest) EXTREME_LOOP(V, M, FOLDS, VMAX, NAN_MAX);                                                      \
        else EXTREME_LOOP(V, M, FOLDS, VMIN, NAN_MIN);                                                              \
        return acc;                                                                                                 \
    }

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(CTORCH_REDUCE_PORTABLE)
#define HAVE_AVX512                                                                                                 \
    (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&                                    \
     __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
#define HAVE_AVX2 (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
#define EXTREME_X86(S, T)                                                                                           \
    EXTREME_VEC(T, S##_extreme_avx512, "arch=x86-64-v4", S##_vec, S##_mask, S##_folds)                              \
    EXTREME_VEC(T, S##_extreme_avx2, "arch=x86-64-v3", S##_vec8, S##_mask8, S##_folds8)
#else
#define HAVE_AVX512 0
#define HAVE_AVX2 0
#define EXTREME_X86(S, T)                                                                                           \
    static T S##_extreme_avx512(const T *x, int64_t n, T acc, bool largest) {                                       \
        return S##_extreme_lanes(x, n, acc, largest);                                                               \
    }                                                                                                               \
    static T S##_extreme_avx2(const T *x, int64_t n, T acc, bool largest) {                                         \
        return S##_extreme_lanes(x, n, acc, largest);                                                               \
    }
#endif

/* The kernels of one floating type T (prefix S). */
#define VEC_KERNELS(S, T)                                                                                           \
    /* Sum of x[0..n), cascaded (see the top of the file). */                                                       \
    RED_CLONES static double S##_sum(const T *x, int64_t n) {                                                       \
        enum { W = S##_WIDTH };                                                                                     \
        double total = 0;                                                                                           \
        for (int64_t b = 0; b < n; b += CASCADE) {                                                                  \
            const T *p = x + b;                                                                                     \
            int64_t m = n - b < CASCADE ? n - b : CASCADE, i = 0;                                                   \
            S##_vec a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, v0, v1, v2, v3;                                         \
            for (; i + 4 * W <= m; i += 4 * W) {                                                                    \
                memcpy(&v0, p + i, sizeof v0), memcpy(&v1, p + i + W, sizeof v1);                                   \
                memcpy(&v2, p + i + 2 * W, sizeof v2), memcpy(&v3, p + i + 3 * W, sizeof v3);                       \
                a0 += v0, a1 += v1, a2 += v2, a3 += v3;                                                             \
            }                                                                                                       \
            for (; i + W <= m; i += W) memcpy(&v0, p + i, sizeof v0), a0 += v0;                                     \
            T rest = 0;                                                                                             \
            for (; i < m; i++) rest += p[i];                                                                        \
            a0 = (a0 + a1) + (a2 + a3);                                                                             \
            FOLD(S, a0, VEC_ADD);                                                                                   \
            total += (double)a0[0] + (double)rest;                                                                  \
        }                                                                                                           \
        return total;                                                                                               \
    }                                                                                                               \
                                                                                                                    \
    /* NaN-propagating maximum (largest) or minimum of acc and x[0..n): portable lanes (see S##_extreme). */        \
    static T S##_extreme_lanes(const T *x, int64_t n, T acc, bool largest) {                                        \
        enum { L = 64 / sizeof(T) };                                                                                \
        T lane[L];                                                                                                  \
        int64_t i = 0;                                                                                              \
        for (int k = 0; k < L; k++) lane[k] = acc;                                                                  \
        if (largest) {                                                                                              \
            for (; i + L <= n; i += L)                                                                              \
                _Pragma("omp simd") for (int k = 0; k < L; k++) lane[k] = NAN_MAX(lane[k], x[i + k]);               \
            for (; i < n; i++) acc = NAN_MAX(acc, x[i]);                                                            \
            for (int k = 0; k < L; k++) acc = NAN_MAX(acc, lane[k]);                                                \
        } else {                                                                                                    \
            for (; i + L <= n; i += L)                                                                              \
                _Pragma("omp simd") for (int k = 0; k < L; k++) lane[k] = NAN_MIN(lane[k], x[i + k]);               \
            for (; i < n; i++) acc = NAN_MIN(acc, x[i]);                                                            \
            for (int k = 0; k < L; k++) acc = NAN_MIN(acc, lane[k]);                                                \
        }                                                                                                           \
        return acc;                                                                                                 \
    }                                                                                                               \
                                                                                                                    \
    EXTREME_X86(S, T)                                                                                               \
                                                                                                                    \
    /* NaN-propagating maximum (largest) or minimum of acc and x[0..n). */                                          \
    static T S##_extreme(const T *x, int64_t n, T acc, bool largest) {                                              \
        if (HAVE_AVX512) return S##_extreme_avx512(x, n, acc, largest);                                             \
        if (HAVE_AVX2) return S##_extreme_avx2(x, n, acc, largest);                                                 \
        return S##_extreme_lanes(x, n, acc, largest);                                                               \
    }                                                                                                               \
                                                                                                                    \
    /* Index of the first x[i] equal to v (the first NaN when v is NaN); v is one of x[0..n). Blocks of 64 are     \
     * tested with a vectorised "any", and only the block that holds it is searched one by one. */                \
    RED_CLONES static int64_t S##_first_of(const T *x, int64_t n, T v) {                                            \
        bool nan = v != v;                                                                                          \
        int64_t i = 0;                                                                                              \
        for (; i + 64 <= n; i += 64) {                                                                              \
            int hit = 0;                                                                                            \
            _Pragma("omp simd reduction(|: hit)") for (int k = 0; k < 64; k++) hit |= nan ? x[i + k] != x[i + k]   \
                                                                                           : x[i + k] == v;         \
            if (hit) break;                                                                                         \
        }                                                                                                           \
        for (; i < n - 1; i++)                                                                                      \
            if (nan ? x[i] != x[i] : x[i] == v) break;                                                              \
        return i;                                                                                                   \
    }                                                                                                               \
                                                                                                                    \
    /* Sum of e^(x[i] - shift), cascaded; the exponentials go to dst when it is not NULL. shift >= max x, finite. */ \
    RED_CLONES static double S##_exp_sum(T *dst, const T *x, int64_t n, T shift) {                                  \
        T scratch[CASCADE];                                                                                         \
        double total = 0;                                                                                           \
        for (int64_t b = 0; b < n; b += CASCADE) {                                                                  \
            int64_t m = n - b < CASCADE ? n - b : CASCADE;                                                          \
            T *e = dst ? dst + b : scratch;                                                                         \
            _Pragma("omp simd") for (int64_t i = 0; i < m; i++) e[i] = x[b + i] - shift;                            \
            exp_nonpositive_##S(e, m);                                                                              \
            total += S##_sum(e, m);                                                                                 \
        }                                                                                                           \
        return total;                                                                                               \
    }                                                                                                               \
                                                                                                                    \
    RED_CLONES static void S##_scale(T *y, int64_t n, T s) {                                                        \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) y[i] *= s;                                              \
    }                                                                                                               \
                                                                                                                    \
    /* y = (x - a) - b: log_softmax's x - max - log(sum), with x - max exact when x is near max. */                \
    RED_CLONES static void S##_sub(T *y, const T *x, int64_t n, T a, T b) {                                         \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) y[i] = (x[i] - a) - b;                                  \
    }                                                                                                               \
                                                                                                                    \
    /* ---- a row of w accumulators, one input row at a time (reductions and softmax over an outer dim) ---- */     \
                                                                                                                    \
    RED_CLONES static void S##_row_add(T *acc, const T *row, int64_t w) {                                           \
        _Pragma("omp simd") for (int64_t j = 0; j < w; j++) acc[j] += row[j];                                       \
    }                                                                                                               \
                                                                                                                    \
    /* acc += the sum of four rows (fewer accumulator updates, and a shorter chain for the rounding errors). */     \
    RED_CLONES static void S##_row_add4(T *acc, const T *r0, const T *r1, const T *r2, const T *r3, int64_t w) {    \
        _Pragma("omp simd") for (int64_t j = 0; j < w; j++) acc[j] += (r0[j] + r1[j]) + (r2[j] + r3[j]);            \
    }                                                                                                               \
                                                                                                                    \
    RED_CLONES static void S##_row_extreme(T *acc, const T *row, int64_t w, bool largest) {                         \
        if (largest) {                                                                                              \
            _Pragma("omp simd") for (int64_t j = 0; j < w; j++) acc[j] = NAN_MAX(acc[j], row[j]);                   \
        } else {                                                                                                    \
            _Pragma("omp simd") for (int64_t j = 0; j < w; j++) acc[j] = NAN_MIN(acc[j], row[j]);                   \
        }                                                                                                           \
    }                                                                                                               \
                                                                                                                    \
    /* max / min with the index of the first occurrence: row (reduced position pos) into acc and at, where at < 0  \
     * marks an empty slot. A NaN beats a number and, once in, stays; ties keep the earlier position. */            \
    RED_CLONES static void S##_row_arg_extreme(T *acc, int64_t *at, const T *row, int64_t w, int64_t pos,            \
                                               bool largest) {                                                      \
        if (largest) {                                                                                              \
            _Pragma("omp simd") for (int64_t j = 0; j < w; j++) {                                                   \
                T x = row[j], a = acc[j];                                                                           \
                bool take = at[j] < 0 || (x != x ? a == a : x > a);                                                 \
                acc[j] = take ? x : a;                                                                              \
                at[j] = take ? pos : at[j];                                                                         \
            }                                                                                                       \
        } else {                                                                                                    \
            _Pragma("omp simd") for (int64_t j = 0; j < w; j++) {                                                   \
                T x = row[j], a = acc[j];                                                                           \
                bool take = at[j] < 0 || (x != x ? a == a : x < a);                                                 \
                acc[j] = take ? x : a;                                                                              \
                at[j] = take ? pos : at[j];                                                                         \
            }                                                                                                       \
        }                                                                                                           \
    }                                                                                                               \
                                                                                                                    \
    /* acc = the extreme of acc and four rows (fewer accumulator updates). */                                     \
    RED_CLONES static void S##_row_extreme4(T *acc, const T *r0, const T *r1, const T *r2, const T *r3, int64_t w,  \
                                            bool largest) {                                                         \
        if (largest) {                                                                                              \
            _Pragma("omp simd") for (int64_t j = 0; j < w; j++) {                                                   \
                T a = acc[j];                                                                                       \
                a = NAN_MAX(a, r0[j]), a = NAN_MAX(a, r1[j]), a = NAN_MAX(a, r2[j]), a = NAN_MAX(a, r3[j]);         \
                acc[j] = a;                                                                                         \
            }                                                                                                       \
        } else {                                                                                                    \
            _Pragma("omp simd") for (int64_t j = 0; j < w; j++) {                                                   \
                T a = acc[j];                                                                                       \
                a = NAN_MIN(a, r0[j]), a = NAN_MIN(a, r1[j]), a = NAN_MIN(a, r2[j]), a = NAN_MIN(a, r3[j]);         \
                acc[j] = a;                                                                                         \
            }                                                                                                       \
        }                                                                                                           \
    }                                                                                                               \
                                                                                                                    \
    /* e = e^(row - mx) (e may be a scratch row), sum += e. mx >= row, finite. */                                   \
    RED_CLONES static void S##_row_exp_sum(T *e, T *sum, const T *row, const T *mx, int64_t w) {                    \
        _Pragma("omp simd") for (int64_t j = 0; j < w; j++) e[j] = row[j] - mx[j];                                  \
        exp_nonpositive_##S(e, w);                                                                                  \
        _Pragma("omp simd") for (int64_t j = 0; j < w; j++) sum[j] += e[j];                                         \
    }                                                                                                               \
                                                                                                                    \
    RED_CLONES static void S##_row_mul(T *y, const T *s, int64_t w) {                                               \
        _Pragma("omp simd") for (int64_t j = 0; j < w; j++) y[j] *= s[j];                                           \
    }                                                                                                               \
                                                                                                                    \
    RED_CLONES static void S##_row_sub(T *y, const T *x, const T *a, const T *b, int64_t w) {                       \
        _Pragma("omp simd") for (int64_t j = 0; j < w; j++) y[j] = (x[j] - a[j]) - b[j];                            \
    }

VEC_KERNELS(f32, float)
VEC_KERNELS(f64, double)

/* Products of x[0..n) in double lanes (no float32 overflow on the way). */
RED_CLONES static double f32_prod(const float *x, int64_t n) {
    f64_vec a0 = {1, 1, 1, 1, 1, 1, 1, 1}, a1 = a0;
    f32_half h0, h1;
    double total = 1;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        memcpy(&h0, x + i, sizeof h0), memcpy(&h1, x + i + 8, sizeof h1);
        a0 *= __builtin_convertvector(h0, f64_vec), a1 *= __builtin_convertvector(h1, f64_vec);
    }
    for (; i < n; i++) total *= (double)x[i];
    a0 *= a1;
    for (int k = 0; k < 8; k++) total *= a0[k];
    return total;
}

RED_CLONES static double f64_prod(const double *x, int64_t n) {
    f64_vec a0 = {1, 1, 1, 1, 1, 1, 1, 1}, a1 = a0, v0, v1;
    double total = 1;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        memcpy(&v0, x + i, sizeof v0), memcpy(&v1, x + i + 8, sizeof v1);
        a0 *= v0, a1 *= v1;
    }
    for (; i < n; i++) total *= x[i];
    a0 *= a1;
    for (int k = 0; k < 8; k++) total *= a0[k];
    return total;
}

#endif
