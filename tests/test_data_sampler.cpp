// Samplers and batch samplers: Sequential, Random (with and without replacement, num_samples), SubsetRandom,
// WeightedRandom (frequencies within chi-square bounds for a fixed seed), predicate samplers (even indices, every
// third), a user sampler from a vtable, BatchSampler lengths and contents with and without drop_last, and errors.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "test_data_helpers.h"

namespace {

std::vector<int64_t> indices_of(ct_sampler *s, uint64_t seed) {
    std::vector<int64_t> v((size_t)ct_sampler_len(s));
    EXPECT_EQ(ct_sampler_indices(s, seed, v.data()), CT_OK) << ct_last_error();
    return v;
}

std::vector<std::vector<int64_t>> batches_of(ct_batch_sampler *bs, uint64_t seed) {
    ct_batch_list *l = ct_batch_sampler_batches(bs, seed);
    EXPECT_NE(l, nullptr) << ct_last_error();
    std::vector<std::vector<int64_t>> out;
    for (int64_t k = 0; k < ct_batch_list_count(l); k++) {
        int64_t n;
        const int64_t *p = ct_batch_list_at(l, k, &n);
        out.emplace_back(p, p + n);
    }
    ct_batch_list_free(l);
    return out;
}

std::vector<int64_t> iota(int64_t n) {
    std::vector<int64_t> v((size_t)n);
    std::iota(v.begin(), v.end(), 0);
    return v;
}

// Pearson's chi-square statistic of counts against expected probabilities.
double chi_square(const std::vector<int64_t> &counts, const std::vector<double> &p, int64_t total) {
    double x2 = 0;
    for (size_t i = 0; i < counts.size(); i++) {
        double e = p[i] * (double)total;
        x2 += (counts[i] - e) * (counts[i] - e) / e;
    }
    return x2;
}

} // namespace

TEST(DataSampler, SequentialYieldsEveryIndexInOrder) {
    ct_sampler *s = ct_sequential_sampler(5);
    EXPECT_EQ(ct_sampler_len(s), 5);
    EXPECT_EQ(indices_of(s, 1), iota(5));
    ct_sampler_release(s);
}

TEST(DataSampler, RandomWithoutReplacementIsAPermutationThatDependsOnTheSeed) {
    ct_sampler *s = ct_random_sampler(100, false, 0);
    EXPECT_EQ(ct_sampler_len(s), 100);
    std::vector<int64_t> a = indices_of(s, 7), b = indices_of(s, 7), c = indices_of(s, 8);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    std::sort(a.begin(), a.end());
    EXPECT_EQ(a, iota(100));
    ct_sampler_release(s);
}

TEST(DataSampler, RandomWithoutReplacementMoreThanNChainsPermutations) {
    ct_sampler *s = ct_random_sampler(4, false, 10);
    std::vector<int64_t> v = indices_of(s, 3);
    ASSERT_EQ(v.size(), 10u);
    for (int block = 0; block < 2; block++) { // two whole permutations of 0..3, then two distinct indices
        std::vector<int64_t> p(v.begin() + 4 * block, v.begin() + 4 * block + 4);
        std::sort(p.begin(), p.end());
        EXPECT_EQ(p, iota(4));
    }
    EXPECT_NE(v[8], v[9]);
    ct_sampler_release(s);
}

TEST(DataSampler, RandomWithReplacementIsUniform) {
    const int64_t n = 5, draws = 50000;
    ct_sampler *s = ct_random_sampler(n, true, draws);
    std::vector<int64_t> counts(n);
    for (int64_t i : indices_of(s, 11)) {
        ASSERT_GE(i, 0);
        ASSERT_LT(i, n);
        counts[(size_t)i]++;
    }
    // 4 degrees of freedom: P(X2 > 18.47) = 0.001
    EXPECT_LT(chi_square(counts, std::vector<double>(n, 1.0 / n), draws), 18.47);
    ct_sampler_release(s);
}

TEST(DataSampler, RandomSamplerErrors) {
    EXPECT_EQ(ct_random_sampler(10, true, -1), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "num_samples should be a positive integer value, but got num_samples=-1");
    EXPECT_EQ(ct_random_sampler(0, false, 0), nullptr); // PyTorch: an empty dataset has num_samples=0
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "num_samples should be a positive integer value, but got num_samples=0");
}

TEST(DataSampler, SubsetRandomPermutesTheGivenIndices) {
    int64_t idx[] = {10, 20, 30, 40};
    ct_sampler *s = ct_subset_random_sampler(4, idx);
    std::vector<int64_t> v = indices_of(s, 5);
    std::sort(v.begin(), v.end());
    EXPECT_EQ(v, (std::vector<int64_t>{10, 20, 30, 40}));
    bool some_order_differs = false;
    for (uint64_t seed = 0; seed < 10; seed++) some_order_differs |= indices_of(s, seed) != indices_of(s, 0);
    EXPECT_TRUE(some_order_differs);
    ct_sampler_release(s);
}

TEST(DataSampler, WeightedWithReplacementFollowsTheWeights) {
    // weights 1:2:3:0:4 -> probabilities 0.1, 0.2, 0.3, 0, 0.4; index 3 never drawn.
    double w[] = {1, 2, 3, 0, 4};
    const int64_t draws = 40000;
    ct_sampler *s = ct_weighted_random_sampler(5, w, draws, true);
    ASSERT_NE(s, nullptr) << ct_last_error();
    EXPECT_EQ(ct_sampler_len(s), draws);
    std::vector<int64_t> counts(5);
    for (int64_t i : indices_of(s, 2024)) counts[(size_t)i]++;
    EXPECT_EQ(counts[3], 0);
    std::vector<int64_t> nonzero = {counts[0], counts[1], counts[2], counts[4]};
    // 3 degrees of freedom: P(X2 > 16.27) = 0.001
    EXPECT_LT(chi_square(nonzero, {0.1, 0.2, 0.3, 0.4}, draws), 16.27);
    ct_sampler_release(s);
}

TEST(DataSampler, WeightedWithoutReplacementFirstDrawFollowsTheWeights) {
    // Without replacement each epoch yields distinct indices; the first one is drawn with probability w / sum.
    double w[] = {1, 2, 3, 4};
    ct_sampler *s = ct_weighted_random_sampler(4, w, 3, false);
    std::vector<int64_t> first(4);
    const int64_t epochs = 20000;
    for (int64_t e = 0; e < epochs; e++) {
        std::vector<int64_t> v = indices_of(s, (uint64_t)e);
        ASSERT_EQ(v.size(), 3u);
        EXPECT_TRUE(v[0] != v[1] && v[1] != v[2] && v[0] != v[2]);
        first[(size_t)v[0]]++;
    }
    EXPECT_LT(chi_square(first, {0.1, 0.2, 0.3, 0.4}, epochs), 16.27);
    ct_sampler_release(s);
}

TEST(DataSampler, WeightedErrorsAreTorchMultinomials) {
    double neg[] = {1, -1}, zero[] = {0, 0}, inf[] = {1, INFINITY}, some[] = {1, 0, 2};
    EXPECT_EQ(ct_weighted_random_sampler(2, neg, 1, true), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "invalid multinomial distribution (encountering probability entry < 0)");
    EXPECT_EQ(ct_weighted_random_sampler(2, zero, 1, true), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "invalid multinomial distribution (sum of probabilities <= 0)");
    EXPECT_EQ(ct_weighted_random_sampler(2, inf, 1, true), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "infinity or NaN");
    EXPECT_EQ(ct_weighted_random_sampler(3, some, 4, false), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "cannot sample n_sample > prob_dist.size(-1) samples without replacement");
    EXPECT_EQ(ct_weighted_random_sampler(3, some, 3, false), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "not enough non-negative category to sample");
    EXPECT_EQ(ct_weighted_random_sampler(3, some, 0, true), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "num_samples should be a positive integer value, but got num_samples=0");
}

namespace {
bool even(int64_t i, void *) { return i % 2 == 0; }
bool every_kth(int64_t i, void *ctx) { return i % *(int64_t *)ctx == 0; }
} // namespace

TEST(DataSampler, PredicateSamplerKeepsEvenIndices) {
    ct_sampler *s = ct_predicate_sampler(9, even, nullptr);
    EXPECT_EQ(ct_sampler_len(s), 5);
    EXPECT_EQ(indices_of(s, 0), (std::vector<int64_t>{0, 2, 4, 6, 8}));
    ct_sampler_release(s);
}

TEST(DataSampler, PredicateSamplerEveryThird) {
    int64_t k = 3;
    ct_sampler *s = ct_predicate_sampler(10, every_kth, &k);
    EXPECT_EQ(indices_of(s, 0), (std::vector<int64_t>{0, 3, 6, 9}));
    ct_sampler_release(s);
}

namespace {
// A user sampler from a vtable: the indices of 0..n-1 in reverse, each epoch rotated by a random amount.
struct Reverse {
    int64_t n;
};
int64_t reverse_len(void *ctx) { return ((Reverse *)ctx)->n; }
ct_status reverse_sample(void *ctx, ct_rng *rng, int64_t *out) {
    int64_t n = ((Reverse *)ctx)->n, shift = ct_rng_below(rng, n);
    for (int64_t i = 0; i < n; i++) out[i] = (n - 1 - i + shift) % n;
    return CT_OK;
}
void reverse_destroy(void *ctx) { delete (Reverse *)ctx; }
const ct_sampler_vtable reverse_vt = {"RotatedReverse", reverse_len, reverse_sample, reverse_destroy};
} // namespace

TEST(DataSampler, UserSamplerFromAVtable) {
    ct_sampler *s = ct_sampler_new(&reverse_vt, new Reverse{4});
    std::vector<int64_t> v = indices_of(s, 99);
    ASSERT_EQ(v.size(), 4u);
    for (size_t i = 1; i < 4; i++) EXPECT_EQ((v[i - 1] + 3) % 4, v[i]) << "descending, wrapping around";
    ct_sampler_release(s);
}

TEST(DataSampler, BatchSamplerGroupsAndDropsLast) {
    // PyTorch's docs: BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False)
    //   -> [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]; with drop_last=True the [9] goes.
    ct_sampler *seq = ct_sequential_sampler(10);
    ct_batch_sampler *keep = ct_batch_sampler_from(seq, 3, false), *drop = ct_batch_sampler_from(seq, 3, true);
    ct_sampler_release(seq);
    EXPECT_EQ(ct_batch_sampler_len(keep), 4);
    EXPECT_EQ(ct_batch_sampler_len(drop), 3);
    std::vector<std::vector<int64_t>> expect = {{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}};
    EXPECT_EQ(batches_of(keep, 0), expect);
    expect.pop_back();
    EXPECT_EQ(batches_of(drop, 0), expect);
    ct_batch_sampler_release(keep), ct_batch_sampler_release(drop);
}

TEST(DataSampler, BatchSamplerLengthsForEveryRemainder) {
    for (int64_t n = 0; n <= 9; n++)
        for (int64_t bs = 1; bs <= 4; bs++) {
            ct_sampler *seq = ct_sequential_sampler(n);
            for (bool drop : {false, true}) {
                ct_batch_sampler *b = ct_batch_sampler_from(seq, bs, drop);
                int64_t expect = drop ? n / bs : (n + bs - 1) / bs;
                EXPECT_EQ(ct_batch_sampler_len(b), expect) << n << " " << bs << " " << drop;
                EXPECT_EQ((int64_t)batches_of(b, 0).size(), expect);
                ct_batch_sampler_release(b);
            }
            ct_sampler_release(seq);
        }
}

TEST(DataSampler, BatchSamplerErrors) {
    ct_sampler *seq = ct_sequential_sampler(4);
    EXPECT_EQ(ct_batch_sampler_from(seq, 0, false), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "batch_size should be a positive integer value, but got batch_size=0");
    ct_sampler_release(seq);
    ct_batch_list *l = ct_batch_list_new();
    EXPECT_EQ(ct_batch_list_push(l, 0, nullptr), CT_ERR_INVALID_ARGUMENT);
    ct_clear_error();
    int64_t n;
    EXPECT_EQ(ct_batch_list_at(l, 0, &n), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INDEX, "batch 0 is out of range");
    ct_batch_list_free(l);
}
