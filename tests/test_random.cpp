// Random factories: reproducible for a seed, independent across calls, with the right distributions.
#include <cmath>
#include <algorithm>
#include <numeric>

#include "test_helpers.h"

TEST(Random, SameSeedSameValuesDifferentSeedDifferent) {
    ct_generator *g1 = ct_generator_new(42), *g2 = ct_generator_new(42), *g3 = ct_generator_new(43);
    int64_t shape[2] = {4, 5};
    ct_tensor *a = ct_rand(2, shape, CT_FLOAT32, CT_DEVICE_CPU, g1);
    ct_tensor *b = ct_rand(2, shape, CT_FLOAT32, CT_DEVICE_CPU, g2);
    ct_tensor *c = ct_rand(2, shape, CT_FLOAT32, CT_DEVICE_CPU, g3);
    ct_tensor *a2 = ct_rand(2, shape, CT_FLOAT32, CT_DEVICE_CPU, g1);
    EXPECT_EQ(values_of(a), values_of(b));
    EXPECT_NE(values_of(a), values_of(c));
    EXPECT_NE(values_of(a), values_of(a2)) << "the generator advances";
    ct_generator_manual_seed(g1, 42);
    ct_tensor *again = ct_rand(2, shape, CT_FLOAT32, CT_DEVICE_CPU, g1);
    EXPECT_EQ(values_of(again), values_of(a));
    for (auto *t : {a, b, c, a2, again}) ct_release(t);
    ct_generator_free(g1), ct_generator_free(g2), ct_generator_free(g3);
}

TEST(Random, DefaultGeneratorFollowsManualSeed) {
    ct_manual_seed(7);
    ct_tensor *a = ct_randn(1, SHAPE(8), CT_FLOAT64, CT_DEVICE_CPU, nullptr);
    ct_manual_seed(7);
    ct_tensor *b = ct_randn(1, SHAPE(8), CT_FLOAT64, CT_DEVICE_CPU, nullptr);
    EXPECT_EQ(values_of(a), values_of(b));
    ct_release(a), ct_release(b);
}

TEST(Random, UniformMomentsAndRange) {
    ct_generator *g = ct_generator_new(1);
    const int64_t n = 200000;
    ct_tensor *u = ct_rand(1, &n, CT_FLOAT64, CT_DEVICE_CPU, g);
    std::vector<double> v = values_of(u);
    double mean = std::accumulate(v.begin(), v.end(), 0.0) / n, var = 0;
    for (double x : v) {
        ASSERT_GE(x, 0.0);
        ASSERT_LT(x, 1.0);
        var += (x - mean) * (x - mean);
    }
    var /= n;
    // mean 1/2 with standard error sqrt(1/12/n) = 6.5e-4; variance 1/12
    EXPECT_NEAR(mean, 0.5, 5 * 6.5e-4);
    EXPECT_NEAR(var, 1.0 / 12, 2e-3);
    ct_release(u);
    ct_generator_free(g);
}

TEST(Random, NormalMoments) {
    ct_generator *g = ct_generator_new(2);
    const int64_t n = 200000;
    ct_tensor *r = ct_randn(1, &n, CT_FLOAT32, CT_DEVICE_CPU, g);
    std::vector<double> v = values_of(r);
    double mean = std::accumulate(v.begin(), v.end(), 0.0) / n, var = 0, within1 = 0;
    for (double x : v) var += (x - mean) * (x - mean), within1 += std::fabs(x) < 1;
    var /= n;
    EXPECT_NEAR(mean, 0.0, 5 * std::sqrt(1.0 / n));
    EXPECT_NEAR(var, 1.0, 0.02);
    EXPECT_NEAR(within1 / n, 0.6827, 0.005);
    ct_release(r);
    ct_generator_free(g);
}

TEST(Random, RandintCoversTheRangeUniformly) {
    ct_generator *g = ct_generator_new(3);
    const int64_t n = 60000;
    ct_tensor *r = ct_randint(-3, 3, 1, &n, CT_INT64, CT_DEVICE_CPU, g);
    std::vector<double> v = values_of(r);
    int counts[6] = {0};
    for (double x : v) {
        ASSERT_GE(x, -3);
        ASSERT_LT(x, 3);
        counts[(int)x + 3]++;
    }
    double chi2 = 0; // 5 degrees of freedom: the 99.9 % point is 20.5
    for (int c : counts) chi2 += (c - 10000.0) * (c - 10000.0) / 10000.0;
    EXPECT_LT(chi2, 20.5);
    ct_release(r);
    EXPECT_EQ(ct_randint(5, 5, 1, &n, CT_INT64, CT_DEVICE_CPU, g), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "random_ expects 'from' to be less than 'to', but got from=5 >= to=5");
    ct_generator_free(g);
}

TEST(Random, RandpermIsAPermutation) {
    ct_generator *g = ct_generator_new(4);
    ct_tensor *p = ct_randperm(1000, CT_INT64, CT_DEVICE_CPU, g);
    std::vector<double> v = values_of(p);
    std::vector<double> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 1000; i++) ASSERT_EQ(sorted[(size_t)i], i);
    int fixed = 0;
    for (int i = 0; i < 1000; i++) fixed += v[(size_t)i] == i;
    EXPECT_LT(fixed, 10) << "a shuffled permutation has about one fixed point";
    ct_release(p);
    ct_tensor *empty = ct_randperm(0, CT_INT32, CT_DEVICE_CPU, g);
    EXPECT_EQ(ct_numel(empty), 0);
    ct_release(empty);
    EXPECT_EQ(ct_randperm(-1, CT_INT64, CT_DEVICE_CPU, g), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "n must be non-negative");
    ct_generator_free(g);
}

TEST(Random, FloatOnlyDistributionsRejectIntegers) {
    EXPECT_EQ(ct_rand(1, SHAPE(2), CT_INT64, CT_DEVICE_CPU, nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "expected a floating dtype");
    EXPECT_EQ(ct_randn(1, SHAPE(2), CT_BOOL, CT_DEVICE_CPU, nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "expected a floating dtype");
}
