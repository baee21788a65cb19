// The vectorised float32/float64 paths of the CPU reductions and softmax (runtime/cpu/reduce_vec.h): float32
// accumulation that stays accurate over long runs, the row-of-accumulators path over dim 0, the fused softmax over
// the last dim and over an outer dim, and the special values those paths hand back to the general code.
//
// References are computed here in long double / double from the same inputs. Tolerances:
//  - float32 sums: the error of a cascaded float sum stays a small multiple of 2^-24 * sum|x| (PyTorch's
//    cascade_sum meets the same bound); the result itself is also rounded once to float32, so the bound used is
//    2^-24 * (|ref| + sum|x|) * 2.
//  - float64 softmax: the polynomial exp is within 2 ulp, so 1e-14 relative.
//  - float32 softmax: exp within 1 ulp, the scale's rounding, and the rounding of x - max in float32, which is an
//    absolute error up to 2^-24 * |x - max| in the exponent: |x - max| < 80 here, so 1e-6 + 80 * 2^-24 < 6e-6
//    relative (PyTorch computes x - max in float32 too).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_helpers.h"

namespace {

ct_tensor *tensor_f64(std::vector<double> values, std::vector<int64_t> shape) {
    return ct_tensor_from_data(values.data(), (int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
}

// n values in [lo, hi) from a fixed linear congruential sequence (no global RNG state in the test).
std::vector<double> pseudo_random(size_t n, double lo, double hi, uint64_t seed) {
    std::vector<double> v(n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = lo + (hi - lo) * (double)(seed >> 11) / 9007199254740992.0;
    }
    return v;
}

std::vector<float> as_float(const std::vector<double> &v) { return std::vector<float>(v.begin(), v.end()); }

TEST(ReduceFastFloat32, SumOfTwoToTheTwentyFourPlusFourOnesIsExact) {
    // Naive float accumulation stops at 2^24 (16777216 + 1 rounds back to 16777216).
    ct_scope_begin();
    int64_t n = (1 << 24) + 4;
    ct_tensor *x = ct_ones(1, &n, CT_FLOAT32, CT_DEVICE_CPU);
    ASSERT_NE(x, nullptr) << ct_last_error();
    EXPECT_EQ(values_of(ct_sum(x, 0, nullptr, false))[0], 16777220.0);
    EXPECT_EQ(values_of(ct_mean(x, 0, nullptr, false))[0], 1.0);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceFastFloat32, LongRowSumsOfMixedSignsStayWithinACascadedSumsError) {
    ct_scope_begin();
    size_t rows = 3, cols = 1000003;
    std::vector<float> v = as_float(pseudo_random(rows * cols, -1, 1, 7));
    ct_tensor *x = tensor_f32(v, {(int64_t)rows, (int64_t)cols});
    int last = -1;
    std::vector<double> got = values_of(ct_sum(x, 1, &last, false));
    for (size_t r = 0; r < rows; r++) {
        long double exact = 0, magnitude = 0;
        for (size_t c = 0; c < cols; c++) exact += v[r * cols + c], magnitude += std::fabs(v[r * cols + c]);
        double bound = std::ldexp((double)(std::fabs(exact) + magnitude), -24) * 2;
        EXPECT_NEAR(got[r], (double)exact, bound) << "row " << r;
    }
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceFastFloat32, DimZeroSumAndMeanOfManyRowsMatchFloat64) {
    // 100003 rows: the row-of-accumulators path flushes to double every 128 rows and splits the rows into parts.
    ct_scope_begin();
    size_t rows = 100003, cols = 70;
    std::vector<float> v = as_float(pseudo_random(rows * cols, 0, 1, 11));
    ct_tensor *x = tensor_f32(v, {(int64_t)rows, (int64_t)cols});
    int first = 0;
    std::vector<double> sum = values_of(ct_sum(x, 1, &first, false)), mean = values_of(ct_mean(x, 1, &first, false));
    ASSERT_EQ(sum.size(), cols);
    for (size_t c = 0; c < cols; c++) {
        long double exact = 0;
        for (size_t r = 0; r < rows; r++) exact += v[r * cols + c];
        EXPECT_NEAR(sum[c], (double)exact, std::ldexp((double)exact, -24) * 4) << "column " << c;
        EXPECT_NEAR(mean[c], (double)(exact / rows), std::ldexp((double)(exact / rows), -24) * 4) << "column " << c;
    }
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceFastFloat32, DimZeroAmaxAndAminPropagateNanPerColumn) {
    ct_scope_begin();
    size_t rows = 300, cols = 9;
    std::vector<float> v(rows * cols);
    for (size_t i = 0; i < v.size(); i++) v[i] = (float)((i * 37) % 101) - 50;
    v[250 * cols + 4] = NAN;
    v[17 * cols + 2] = 1000;
    v[299 * cols + 6] = -1000;
    ct_tensor *x = tensor_f32(v, {(int64_t)rows, (int64_t)cols});
    int first = 0;
    std::vector<double> mx = values_of(ct_amax(x, 1, &first, false)), mn = values_of(ct_amin(x, 1, &first, false));
    for (size_t c = 0; c < cols; c++) {
        double hi = -INFINITY, lo = INFINITY;
        for (size_t r = 0; r < rows; r++) hi = std::fmax(hi, v[r * cols + c]), lo = std::fmin(lo, v[r * cols + c]);
        if (c == 4) {
            EXPECT_TRUE(std::isnan(mx[c]) && std::isnan(mn[c]));
        } else {
            EXPECT_EQ(mx[c], hi) << "column " << c;
            EXPECT_EQ(mn[c], lo) << "column " << c;
        }
    }
    EXPECT_EQ(mx[2], 1000);
    EXPECT_EQ(mn[6], -1000);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceFastFloat32, DimZeroAmaxOverManyRowsCombinesItsPartsWithNan) {
    // 70000 x 8: the outer plan splits the rows into parts; a NaN in the last part and a maximum in the middle one
    // must survive the combine.
    ct_scope_begin();
    size_t rows = 70000, cols = 8;
    std::vector<float> v = as_float(pseudo_random(rows * cols, -1, 1, 17));
    v[69990 * cols + 5] = NAN;
    v[40000 * cols + 2] = 7;
    v[3 * cols + 1] = -9;
    ct_tensor *x = tensor_f32(v, {(int64_t)rows, (int64_t)cols});
    int first = 0;
    std::vector<double> mx = values_of(ct_amax(x, 1, &first, false)), mn = values_of(ct_amin(x, 1, &first, false));
    for (size_t c = 0; c < cols; c++) {
        if (c == 5) {
            EXPECT_TRUE(std::isnan(mx[c]) && std::isnan(mn[c]));
            continue;
        }
        double hi = -INFINITY, lo = INFINITY;
        for (size_t r = 0; r < rows; r++) hi = std::fmax(hi, v[r * cols + c]), lo = std::fmin(lo, v[r * cols + c]);
        EXPECT_EQ(mx[c], hi) << "column " << c;
        EXPECT_EQ(mn[c], lo) << "column " << c;
    }
    EXPECT_EQ(mx[2], 7);
    EXPECT_EQ(mn[1], -9);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceFastFloat32, MaxAlongLongRowsGivesTheFirstIndexAndNanFirst) {
    ct_scope_begin();
    size_t cols = 5000;
    std::vector<float> v(2 * cols);
    for (size_t i = 0; i < v.size(); i++) v[i] = (float)(i % 97);
    v[1234] = 500, v[4000] = 500;            // row 0: a tie, the first wins
    v[cols + 3000] = NAN, v[cols + 4999] = NAN; // row 1: the first NaN wins
    v[cols + 10] = 1e9;
    ct_tensor *x = tensor_f32(v, {2, (int64_t)cols}), *values = nullptr, *indices = nullptr;
    ASSERT_EQ(ct_max_dim(x, 1, false, &values, &indices), CT_OK) << ct_last_error();
    std::vector<double> val = values_of(values), idx = values_of(indices);
    EXPECT_EQ(val[0], 500);
    EXPECT_EQ(idx[0], 1234);
    EXPECT_TRUE(std::isnan(val[1]));
    EXPECT_EQ(idx[1], 3000);
    EXPECT_EQ(values_of(ct_argmin(x, nullptr, false))[0], (double)cols + 3000); // NaN is also the min
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceFastFloat32, LogsumexpOfLongRowsWithInfinities) {
    ct_scope_begin();
    size_t cols = 6000;
    std::vector<float> v = as_float(pseudo_random(3 * cols, -30, 30, 3));
    v[17] = -INFINITY;                 // row 0: a -inf element adds nothing
    for (size_t c = 0; c < cols; c++) v[2 * cols + c] = -INFINITY; // row 2: all -inf
    v[cols + 5] = INFINITY;            // row 1: +inf
    ct_tensor *x = tensor_f32(v, {3, (int64_t)cols});
    int last = -1;
    std::vector<double> got = values_of(ct_logsumexp(x, 1, &last, false));
    long double m = -INFINITY, s = 0;
    for (size_t c = 0; c < cols; c++) m = std::fmax((double)m, v[c]);
    for (size_t c = 0; c < cols; c++) s += std::exp((long double)v[c] - m);
    EXPECT_NEAR(got[0], (double)(m + std::log(s)), 1e-6 * std::fabs((double)(m + std::log(s))));
    EXPECT_EQ(got[1], INFINITY);
    EXPECT_EQ(got[2], -INFINITY);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

// Softmax references: e^(x - max) / sum and x - max - log(sum), in long double.
void softmax_ref(const std::vector<double> &x, size_t outer, size_t n, size_t inner, bool log_out,
                 std::vector<double> &out) {
    out.assign(x.size(), 0);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            long double m = -INFINITY, s = 0;
            for (size_t k = 0; k < n; k++) m = std::fmax((double)m, x[(o * n + k) * inner + i]);
            for (size_t k = 0; k < n; k++) s += std::exp((long double)x[(o * n + k) * inner + i] - m);
            for (size_t k = 0; k < n; k++) {
                size_t at = (o * n + k) * inner + i;
                long double d = (long double)x[at] - m;
                out[at] = (double)(log_out ? d - std::log(s) : std::exp(d) / s);
            }
        }
}

void expect_softmax(ct_dtype dtype, std::vector<int64_t> shape, int dim, double rel) {
    ct_scope_begin();
    size_t n = (size_t)shape[(size_t)dim], outer = 1, inner = 1;
    for (int d = 0; d < dim; d++) outer *= (size_t)shape[(size_t)d];
    for (size_t d = (size_t)dim + 1; d < shape.size(); d++) inner *= (size_t)shape[d];
    std::vector<double> v = pseudo_random(outer * n * inner, -40, 40, 5);
    if (dtype == CT_FLOAT32)
        for (double &e : v) e = (float)e;
    ct_tensor *x = dtype == CT_FLOAT32 ? tensor_f32(as_float(v), shape) : tensor_f64(v, shape);
    for (bool log_out : {false, true}) {
        std::vector<double> ref, got = values_of(log_out ? ct_log_softmax(x, dim) : ct_softmax(x, dim));
        softmax_ref(v, outer, n, inner, log_out, ref);
        EXPECT_EQ(got.size(), ref.size());
        size_t bad = 0;
        for (size_t i = 0; i < ref.size() && got.size() == ref.size(); i++)
            if (!(std::fabs(got[i] - ref[i]) <= rel * std::fabs(ref[i]) + (log_out ? rel : 1e-30)) && bad++ == 0)
                ADD_FAILURE() << (log_out ? "log_softmax" : "softmax") << " element " << i << ": " << got[i]
                              << " against " << ref[i];
        EXPECT_EQ(bad, 0u);
    }
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(SoftmaxFast, Float64LastDimMatchesLongDoubleReference) { expect_softmax(CT_FLOAT64, {5, 3001}, 1, 1e-14); }
TEST(SoftmaxFast, Float64OuterDimMatchesLongDoubleReference) { expect_softmax(CT_FLOAT64, {3, 301, 259}, 1, 1e-14); }
TEST(SoftmaxFast, Float32LastDimMatchesLongDoubleReference) { expect_softmax(CT_FLOAT32, {7, 5003}, 1, 6e-6); }
TEST(SoftmaxFast, Float32OuterDimMatchesLongDoubleReference) { expect_softmax(CT_FLOAT32, {2, 401, 513}, 1, 6e-6); }

TEST(SoftmaxFast, DimZeroColumnWithNanOrInfinityGivesNanOnlyThere) {
    ct_scope_begin();
    size_t rows = 40, cols = 300;
    std::vector<float> v = as_float(pseudo_random(rows * cols, -5, 5, 9));
    v[7 * cols + 3] = NAN;
    v[9 * cols + 290] = INFINITY;
    ct_tensor *x = tensor_f32(v, {(int64_t)rows, (int64_t)cols});
    std::vector<double> got = values_of(ct_softmax(x, 0));
    for (size_t c = 0; c < cols; c++) {
        double column_sum = 0;
        bool any_nan = false;
        for (size_t r = 0; r < rows; r++) column_sum += got[r * cols + c], any_nan |= std::isnan(got[r * cols + c]);
        if (c == 3 || c == 290) EXPECT_TRUE(any_nan) << "column " << c;
        else EXPECT_NEAR(column_sum, 1.0, 1e-5) << "column " << c;
    }
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceFastFloat64, ProdAndSumOfAStridedInputFollowTheGeneralPath) {
    // A transposed input has no contiguous runs: the general path must give the same results.
    ct_scope_begin();
    std::vector<double> v = pseudo_random(64 * 33, 0.9, 1.1, 13);
    ct_tensor *x = tensor_f64(v, {64, 33}), *t = ct_transpose(x, 0, 1);
    int last = -1;
    std::vector<double> prod = values_of(ct_prod(t, 1, &last, false)), sum = values_of(ct_sum(t, 1, &last, false));
    for (size_t c = 0; c < 33; c++) {
        long double p = 1, s = 0;
        for (size_t r = 0; r < 64; r++) p *= v[r * 33 + c], s += v[r * 33 + c];
        EXPECT_NEAR(prod[c], (double)p, 1e-13 * (double)p);
        EXPECT_NEAR(sum[c], (double)s, 1e-13 * (double)s);
    }
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

} // namespace
