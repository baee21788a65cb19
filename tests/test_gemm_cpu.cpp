// The CPU GEMM launcher (kernels/blas.h: ct__cpu_gemm) and ctorch's own AVX-512 float32 and float64 GEMM behind it
// (runtime/cpu/gemm_avx512.c), against a reference computed here in long double, element by element. Most tests
// run for both types (GemmCpu/float32.*, GemmCpu/float64.*).
//
// Tolerance. Each element of C is a sum of k products plus alpha/beta/bias terms, computed in the element type: its
// rounding error is at most about (k + 3) * u * M, where u is the type's unit roundoff (2^-24, 2^-53) and M is the
// same sum taken over absolute values (|alpha| sum_p |a_ip b_pj| + |beta c_ij| + |bias_j|). The check allows
// 2 * (k + 3) * u * M, so it holds for any summation order (blocked over K, several accumulators) and fails for a
// wrong element of any size. The reference's own error (long double: 64-bit significands, about k * 2^-64 * M) is
// far below that even for float64.
//
// The AVX-512 cases run on CPUs that have it (else they are skipped); the ct__cpu_gemm cases run everywhere, through
// whichever GEMM the routing rule in runtime/cpu/blas.c picks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "cpu/gemm_avx512.h"
#include "ctorch/ctorch.h"
#include "kernels/blas.h"

namespace {

struct ThreadsGuard {
    int saved = ct_get_num_threads();
    ~ThreadsGuard() { EXPECT_EQ(ct_set_num_threads(saved), CT_OK); }
};

// One GEMM problem with its own storage: op(A) is m x k, op(B) k x n, C m x n, each item of a batch at its stride
// (stride 0: one matrix for every item), rows ld apart (at least the stored width plus the pad).
struct Problem {
    int64_t batch = 1, m = 1, n = 1, k = 1;
    bool trans_a = false, trans_b = false;
    int64_t pad_a = 0, pad_b = 0, pad_c = 0; // extra elements per stored row
    bool broadcast_a = false, broadcast_b = false;
    double alpha = 1, beta = 0;
    bool bias = false;
    ct_dtype dtype = CT_FLOAT32;

    std::vector<double> a, b, c, bias_row; // the values, as stored (float32 values are held exactly in doubles)
    int64_t lda = 0, ldb = 0, ldc = 0, stride_a = 0, stride_b = 0, stride_c = 0;

    // Fills A, B, C and bias with values of the dtype in [-1, 1) from seed; C's starting values are the "old C".
    void fill(uint32_t seed) {
        std::mt19937 rng(seed);
        std::uniform_real_distribution<float> u32(-1.0f, 1.0f);
        std::uniform_real_distribution<double> u64(-1.0, 1.0);
        auto u = [&](std::mt19937 &r) { return dtype == CT_FLOAT64 ? u64(r) : (double)u32(r); };
        lda = (trans_a ? m : k) + pad_a, ldb = (trans_b ? k : n) + pad_b, ldc = n + pad_c;
        int64_t rows_a = trans_a ? k : m, rows_b = trans_b ? n : k;
        stride_a = broadcast_a ? 0 : rows_a * lda, stride_b = broadcast_b ? 0 : rows_b * ldb, stride_c = m * ldc;
        a.resize((size_t)((broadcast_a ? 1 : batch) * rows_a * lda));
        b.resize((size_t)((broadcast_b ? 1 : batch) * rows_b * ldb));
        c.resize((size_t)(batch * m * ldc));
        bias_row.resize((size_t)n);
        for (auto *v : {&a, &b, &c, &bias_row})
            for (double &x : *v) x = u(rng);
    }
    double a_at(int64_t item, int64_t i, int64_t p) const {
        return a[(size_t)(item * stride_a + (trans_a ? p * lda + i : i * lda + p))];
    }
    double b_at(int64_t item, int64_t p, int64_t j) const {
        return b[(size_t)(item * stride_b + (trans_b ? j * ldb + p : p * ldb + j))];
    }
};

// Storage of one dtype for a Problem, and the descriptor pointing into it.
template <typename T> struct Buffers {
    std::vector<T> a, b, c, bias;
    explicit Buffers(const Problem &p)
        : a(p.a.begin(), p.a.end()), b(p.b.begin(), p.b.end()), c(p.c.begin(), p.c.end()),
          bias(p.bias_row.begin(), p.bias_row.end()) {}
    ct__gemm desc(const Problem &p) {
        ct__gemm g{};
        g.dtype = p.dtype, g.batch = p.batch, g.m = p.m, g.n = p.n, g.k = p.k;
        g.a = a.data(), g.lda = p.lda, g.stride_a = p.stride_a, g.trans_a = p.trans_a;
        g.b = b.data(), g.ldb = p.ldb, g.stride_b = p.stride_b, g.trans_b = p.trans_b;
        g.c = c.data(), g.ldc = p.ldc, g.stride_c = p.stride_c;
        g.alpha = p.alpha, g.beta = p.beta, g.bias = p.bias ? bias.data() : nullptr;
        return g;
    }
};

template <typename T> constexpr ct_dtype kDtype = sizeof(T) == 4 ? CT_FLOAT32 : CT_FLOAT64;

// A Problem of T's dtype.
template <typename T> Problem problem_of() {
    Problem p;
    p.dtype = kDtype<T>;
    return p;
}

enum class Path { Launcher, Avx512 };

ct_status run_gemm(Path path, const ct__gemm &g) {
    if (path == Path::Launcher) return ct__cpu_gemm(&g);
    return g.dtype == CT_FLOAT64 ? ct__gemm_avx512_f64(&g) : ct__gemm_avx512_f32(&g);
}

// The exact value and the magnitude sum of (op(A) @ op(B))[i][j] of a batch item, in long double.
void dot_reference(const Problem &p, int64_t item, int64_t i, int64_t j, long double *sum, long double *mag) {
    *sum = 0, *mag = 0;
    for (int64_t q = 0; q < p.k; q++) {
        long double prod = (long double)p.a_at(item, i, q) * (long double)p.b_at(item, q, j);
        *sum += prod, *mag += fabsl(prod);
    }
}

// Runs p and checks every element of C (and that the padding between rows is untouched).
template <typename T> void check(const Problem &p, Path path, const char *what) {
    ASSERT_EQ(p.dtype, kDtype<T>) << what;
    Buffers<T> buf(p);
    ct__gemm g = buf.desc(p);
    ASSERT_EQ(run_gemm(path, g), CT_OK) << ct_last_error();
    double u = std::numeric_limits<T>::epsilon() / 2;
    int bad = 0;
    for (int64_t item = 0; item < p.batch; item++)
        for (int64_t i = 0; i < p.m; i++)
            for (int64_t j = 0; j < p.ldc; j++) {
                size_t at = (size_t)(item * p.stride_c + i * p.ldc + j);
                double got = (double)buf.c[at];
                if (j >= p.n) { // padding
                    if (got != (double)(T)p.c[at] && bad++ < 5) ADD_FAILURE() << what << ": padding written at " << at;
                    continue;
                }
                long double sum, mag;
                dot_reference(p, item, i, j, &sum, &mag);
                long double want = p.alpha * sum;
                mag *= std::fabs(p.alpha);
                if (p.bias) want += p.bias_row[(size_t)j], mag += std::fabs(p.bias_row[(size_t)j]);
                else if (p.beta != 0) want += (long double)p.beta * p.c[at], mag += std::fabs(p.beta * p.c[at]);
                long double tol = 2.0L * (long double)(p.k + 3) * u * mag + 1e-300L;
                if (!(fabsl((long double)got - want) <= tol) && bad++ < 5)
                    ADD_FAILURE() << what << ": item " << item << " C[" << i << "][" << j << "] = " << got
                                  << ", want " << (double)want << " (tol " << (double)tol << ")";
            }
}

std::string describe(const Problem &p) {
    char s[256];
    snprintf(s, sizeof s,
             "%s batch %lld m %lld n %lld k %lld ta %d tb %d pads %lld/%lld/%lld bcast %d/%d alpha %g beta %g bias %d",
             ct_dtype_name(p.dtype), (long long)p.batch, (long long)p.m, (long long)p.n, (long long)p.k, p.trans_a,
             p.trans_b, (long long)p.pad_a, (long long)p.pad_b, (long long)p.pad_c, p.broadcast_a, p.broadcast_b,
             p.alpha, p.beta, p.bias);
    return s;
}

// The sizes around the kernel's tiles (12 x 32 floats, 12 x 16 doubles; masks of 16 and 8 lanes) and a few hundred
// (k stays within one K block here; LargeAndUnevenShapesAvx512 crosses them).
const int64_t kSizes[] = {1, 2, 7, 8, 9, 11, 12, 13, 16, 17, 31, 32, 33, 47, 64, 100, 131};

template <typename T> void sweep_shapes(Path path) {
    uint32_t seed = 1;
    for (int64_t m : kSizes)
        for (int64_t n : kSizes) {
            Problem p = problem_of<T>();
            p.m = m, p.n = n, p.k = (m * 7 + n * 3) % 97 + 1; // k from 1 to 97, varying with the shape
            p.trans_a = (m + n) % 2, p.trans_b = (m / 2 + n) % 2;
            p.fill(seed++);
            check<T>(p, path, describe(p).c_str());
        }
}

bool have_avx512() { return ct__gemm_avx512_available(); }
#define REQUIRE_AVX512() \
    if (!have_avx512()) GTEST_SKIP() << "this CPU has no AVX-512"

// The tests below run for float and double: GemmCpu/float32.* and GemmCpu/float64.*.
template <typename T> class GemmCpu : public ::testing::Test {};
struct DtypeNames {
    template <typename T> static std::string GetName(int) { return ct_dtype_name(kDtype<T>); }
};
using GemmTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GemmCpu, GemmTypes, DtypeNames);

TYPED_TEST(GemmCpu, ShapesAroundTheTileAvx512) {
    REQUIRE_AVX512();
    sweep_shapes<TypeParam>(Path::Avx512);
}

TYPED_TEST(GemmCpu, ShapesAroundTheTileLauncher) { sweep_shapes<TypeParam>(Path::Launcher); }

TYPED_TEST(GemmCpu, LargeAndUnevenShapesAvx512) {
    REQUIRE_AVX512();
    // k beyond one K block (384 floats, 192 doubles: split evenly), m and n beyond a B block (480 columns) and a
    // thread's rows
    const int64_t shapes[][3] = {{257, 261, 385}, {130, 517, 770}, {500, 45, 1000}, {37, 1000, 129}, {3001, 17, 9},
                                 {16, 3001, 9},   {1, 700, 300},   {700, 1, 300},   {300, 300, 1},   {61, 77, 193}};
    uint32_t seed = 100;
    for (auto &s : shapes)
        for (int t = 0; t < 4; t++) {
            Problem p = problem_of<TypeParam>();
            p.m = s[0], p.n = s[1], p.k = s[2], p.trans_a = t & 1, p.trans_b = t & 2;
            p.fill(seed++);
            check<TypeParam>(p, Path::Avx512, describe(p).c_str());
        }
}

TYPED_TEST(GemmCpu, LeadingDimsWiderThanTheRows) {
    uint32_t seed = 200;
    for (Path path : {Path::Launcher, Path::Avx512}) {
        if (path == Path::Avx512 && !have_avx512()) continue;
        for (int t = 0; t < 4; t++) {
            Problem p = problem_of<TypeParam>();
            p.m = 45, p.n = 70, p.k = 53, p.trans_a = t & 1, p.trans_b = t & 2;
            p.pad_a = 3, p.pad_b = 17, p.pad_c = 5;
            p.fill(seed++);
            check<TypeParam>(p, path, describe(p).c_str());
        }
    }
}

TYPED_TEST(GemmCpu, BatchStridesIncludingBroadcast) {
    uint32_t seed = 300;
    for (Path path : {Path::Launcher, Path::Avx512}) {
        if (path == Path::Avx512 && !have_avx512()) continue;
        for (int bc = 0; bc < 3; bc++)
            for (int64_t batch : {2, 5, 8}) {
                Problem p = problem_of<TypeParam>();
                p.batch = batch, p.m = 29, p.n = 40, p.k = 35, p.trans_b = batch == 5;
                p.broadcast_a = bc == 1, p.broadcast_b = bc == 2, p.pad_c = bc;
                p.fill(seed++);
                check<TypeParam>(p, path, describe(p).c_str());
            }
    }
}

TYPED_TEST(GemmCpu, AlphaBetaAndBias) {
    uint32_t seed = 400;
    for (Path path : {Path::Launcher, Path::Avx512}) {
        if (path == Path::Avx512 && !have_avx512()) continue;
        for (double alpha : {1.0, -0.5, 2.5})
            for (double beta : {0.0, 1.0, 0.75})
                for (bool bias : {false, true})
                    for (int64_t k : {5, 400}) { // one K block, two or three
                        Problem p = problem_of<TypeParam>();
                        p.m = 27, p.n = 50, p.k = k, p.alpha = alpha, p.beta = beta, p.bias = bias;
                        p.fill(seed++);
                        check<TypeParam>(p, path, describe(p).c_str());
                    }
    }
}

// beta == 0 must not read C: NaN and inf already there do not show through.
TYPED_TEST(GemmCpu, BetaZeroIgnoresNanInC) {
    for (Path path : {Path::Launcher, Path::Avx512}) {
        if (path == Path::Avx512 && !have_avx512()) continue;
        for (int64_t k : {0, 3, 500}) {
            if (k == 0 && path == Path::Avx512) continue; // k == 0 is the launcher's (the kernel takes k >= 1)
            Problem p = problem_of<TypeParam>();
            p.m = 20, p.n = 37, p.k = k;
            p.fill(7);
            for (size_t i = 0; i < p.c.size(); i++) p.c[i] = i % 2 ? NAN : INFINITY;
            Buffers<TypeParam> buf(p);
            ct__gemm g = buf.desc(p);
            ASSERT_EQ(run_gemm(path, g), CT_OK) << ct_last_error();
            for (size_t i = 0; i < buf.c.size(); i++) ASSERT_TRUE(std::isfinite(buf.c[i])) << "k " << k << " at " << i;
            if (k == 0) {
                for (TypeParam x : buf.c) ASSERT_EQ(x, (TypeParam)0);
            }
        }
    }
}

// k == 0: C = beta * C, or the bias rows.
TYPED_TEST(GemmCpu, EmptyInnerDim) {
    for (bool bias : {false, true})
        for (double beta : {0.0, 1.0, 0.5}) {
            Problem p = problem_of<TypeParam>();
            p.m = 13, p.n = 33, p.k = 0, p.beta = beta, p.bias = bias, p.batch = 2;
            p.fill(11);
            check<TypeParam>(p, Path::Launcher, describe(p).c_str());
        }
}

// NaN and inf in A or B reach exactly the rows and columns they touch (also in the masked edge tiles of a product
// big enough for the AVX-512 GEMM behind the launcher).
TYPED_TEST(GemmCpu, NanAndInfPropagate) {
    for (Path path : {Path::Launcher, Path::Avx512}) {
        if (path == Path::Avx512 && !have_avx512()) continue;
        for (int64_t size : {30, 101}) {
            Problem p = problem_of<TypeParam>();
            p.m = size, p.n = size + 10, p.k = size - 10;
            p.fill(13);
            p.a[(size_t)(5 * p.lda + 3)] = NAN;      // row 5 of C is NaN
            p.b[(size_t)(7 * p.ldb + 33)] = INFINITY; // column 33 of C is +-inf (or NaN in row 5)
            Buffers<TypeParam> buf(p);
            ct__gemm g = buf.desc(p);
            ASSERT_EQ(run_gemm(path, g), CT_OK) << ct_last_error();
            for (int64_t i = 0; i < p.m; i++)
                for (int64_t j = 0; j < p.n; j++) {
                    TypeParam x = buf.c[(size_t)(i * p.ldc + j)];
                    if (i == 5) EXPECT_TRUE(std::isnan(x)) << i << "," << j;
                    else if (j == 33) EXPECT_TRUE(std::isinf(x)) << i << "," << j;
                    else EXPECT_TRUE(std::isfinite(x)) << i << "," << j;
                }
        }
    }
}

// Every element of C is computed in one order whatever the thread count: the results are bit-identical.
TYPED_TEST(GemmCpu, SameBitsForOneAndTwoThreads) {
    ThreadsGuard guard;
    const int64_t shapes[][4] = {{1, 300, 200, 500}, {1, 64, 900, 100}, {1, 2000, 24, 150}, {3, 100, 90, 80},
                                 {8, 64, 64, 64},    {1, 128, 128, 128}, {8, 256, 256, 64}};
    for (Path path : {Path::Launcher, Path::Avx512}) {
        if (path == Path::Avx512 && !have_avx512()) continue;
        for (auto &s : shapes) {
            Problem p = problem_of<TypeParam>();
            p.batch = s[0], p.m = s[1], p.n = s[2], p.k = s[3], p.bias = true;
            p.fill(17);
            std::vector<TypeParam> results[2];
            for (int threads : {1, 2}) {
                ASSERT_EQ(ct_set_num_threads(threads), CT_OK);
                Buffers<TypeParam> buf(p);
                ct__gemm g = buf.desc(p);
                ASSERT_EQ(run_gemm(path, g), CT_OK) << ct_last_error();
                results[threads - 1] = buf.c;
            }
            EXPECT_EQ(0, memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(TypeParam)))
                << (path == Path::Avx512 ? "AVX-512 GEMM: " : "launcher: ") << describe(p);
        }
    }
}

// Several program threads multiplying at once (each with its own operands) all get right results.
TYPED_TEST(GemmCpu, ConcurrentCallersFromProgramThreads) {
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; t++)
        threads.emplace_back([t, &failures] {
            for (int round = 0; round < 3; round++) {
                Problem p = problem_of<TypeParam>();
                p.m = 90 + 31 * t, p.n = 150 - 20 * t, p.k = 200 + 60 * round, p.trans_b = t % 2;
                p.fill((uint32_t)(1000 + 10 * t + round));
                Buffers<TypeParam> buf(p);
                ct__gemm g = buf.desc(p);
                if (ct__cpu_gemm(&g) != CT_OK) {
                    failures[(size_t)t]++;
                    continue;
                }
                long double u = std::numeric_limits<TypeParam>::epsilon() / 2;
                for (int64_t i = 0; i < p.m; i++)
                    for (int64_t j = 0; j < p.n; j++) {
                        long double sum, mag;
                        dot_reference(p, 0, i, j, &sum, &mag);
                        if (fabsl(buf.c[(size_t)(i * p.ldc + j)] - sum) > 2.0L * (long double)(p.k + 3) * u * mag)
                            failures[(size_t)t]++;
                    }
            }
        });
    for (auto &th : threads) th.join();
    for (int t = 0; t < 4; t++) EXPECT_EQ(failures[(size_t)t], 0) << "program thread " << t;
}

// The public ops on top: mm, addmm and linear (with bias) on shapes that reach the AVX-512 GEMM.
TYPED_TEST(GemmCpu, MmAddmmLinearThroughTheApi) {
    using T = TypeParam;
    std::mt19937 rng(9);
    std::uniform_real_distribution<T> u(-1, 1);
    const int64_t m = 70, k = 90, n = 100;
    std::vector<T> x((size_t)(m * k)), w((size_t)(n * k)), bias((size_t)n);
    for (auto *v : {&x, &w, &bias})
        for (T &e : *v) e = u(rng);
    int64_t xs[] = {m, k}, ws[] = {n, k}, bs[] = {n};
    ct_tensor *X = ct_tensor_from_data(x.data(), 2, xs, kDtype<T>, CT_DEVICE_CPU);
    ct_tensor *W = ct_tensor_from_data(w.data(), 2, ws, kDtype<T>, CT_DEVICE_CPU);
    ct_tensor *B = ct_tensor_from_data(bias.data(), 1, bs, kDtype<T>, CT_DEVICE_CPU);
    ct_tensor *Wt = ct_t(W);
    ct_tensor *Y_mm = ct_mm(X, Wt), *Y_lin = ct_linear(X, W, B), *Y_addmm = ct_addmm(B, X, Wt, 0.5, 2.0);
    ASSERT_TRUE(Y_mm && Y_lin && Y_addmm) << ct_last_error();
    ct_tensor *outs[] = {Y_mm, Y_lin, Y_addmm};
    long double unit = std::numeric_limits<T>::epsilon() / 2;
    for (int o = 0; o < 3; o++) {
        ct_tensor *Yc = ct_contiguous(outs[o]);
        const T *y = (const T *)ct_data_ptr(Yc);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                long double sum = 0, mag = 0;
                for (int64_t q = 0; q < k; q++) {
                    long double prod = (long double)x[(size_t)(i * k + q)] * w[(size_t)(j * k + q)];
                    sum += prod, mag += fabsl(prod);
                }
                long double want = o == 0 ? sum : o == 1 ? sum + bias[(size_t)j] : 2.0L * sum + 0.5L * bias[(size_t)j];
                long double tol = 2.0L * (long double)(k + 3) * unit * (2.0L * mag + std::fabs(bias[(size_t)j]));
                ASSERT_LE(fabsl(y[i * n + j] - want), tol) << "output " << o << " at " << i << "," << j;
            }
        ct_release(Yc);
    }
    for (ct_tensor *t : {X, W, B, Wt, Y_mm, Y_lin, Y_addmm}) ct_release(t);
}

} // namespace
