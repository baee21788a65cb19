// Datasets: a user's map-style dataset from a vtable, TensorDataset, Subset, ConcatDataset and random_split (with
// lengths, and with fractions and PyTorch's round-robin remainder), and their errors.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "test_data_helpers.h"

namespace {

// The example of data.h: sample i is the 0-d float64 i * i.
int64_t squares_len(void *) { return 10; }
ct_status squares_get(void *, int64_t i, ct_sample *out) {
    double v = (double)(i * i);
    out->n = 1;
    out->field[0] = ct_tensor_from_data(&v, 0, nullptr, CT_FLOAT64, CT_DEVICE_CPU);
    return out->field[0] ? CT_OK : ct_last_status();
}
const ct_dataset_vtable squares_vt = {.name = "Squares", .len = squares_len, .get = squares_get};

double scalar_of(ct_dataset *ds, int64_t i, int field = 0) {
    ct_sample s;
    EXPECT_EQ(ct_dataset_get(ds, i, &s), CT_OK) << ct_last_error();
    double v = dt::values(s.field[field])[0];
    ct_sample_release(&s);
    return v;
}

} // namespace

TEST(DataDataset, UserMapStyleDatasetFromAVtable) {
    ct_dataset *ds = ct_dataset_new(&squares_vt, nullptr);
    ASSERT_NE(ds, nullptr) << ct_last_error();
    int64_t n;
    ASSERT_EQ(ct_dataset_len(ds, &n), CT_OK);
    EXPECT_EQ(n, 10);
    EXPECT_FALSE(ct_dataset_is_iterable(ds));
    EXPECT_STREQ(ct_dataset_name(ds), "Squares");
    EXPECT_EQ(scalar_of(ds, 3), 9.0);
    EXPECT_EQ(scalar_of(ds, -1), 81.0); // negative indices count from the end
    ct_dataset_release(ds);
}

TEST(DataDataset, GetOutOfRangeUsesPyTorchsWords) {
    ct_dataset *ds = ct_dataset_new(&squares_vt, nullptr);
    ct_sample s;
    EXPECT_EQ(ct_dataset_get(ds, 10, &s), CT_ERR_INDEX);
    EXPECT_CT_ERROR(CT_ERR_INDEX, "index 10 is out of bounds for dimension 0 with size 10");
    EXPECT_EQ(ct_dataset_get(ds, -11, &s), CT_ERR_INDEX);
    EXPECT_CT_ERROR(CT_ERR_INDEX, "index -11 is out of bounds");
    ct_dataset_release(ds);
}

TEST(DataDataset, VtableWithoutGetOrIterIsRejectedAndCtxDestroyed) {
    static int destroyed;
    destroyed = 0;
    static const ct_dataset_vtable bad = {.name = "Bad", .len = squares_len, .destroy = [](void *) { destroyed++; }};
    EXPECT_EQ(ct_dataset_new(&bad, nullptr), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "needs either len and get");
    EXPECT_EQ(destroyed, 1);
}

TEST(DataDataset, TensorDatasetIndexesEveryTensorAlongDim0) {
    int64_t before = dt::cpu_bytes();
    ct_tensor *x = dt::tensor({0, 1, 2, 3, 4, 5}, {3, 2});
    ct_tensor *y = dt::tensor({7, 8, 9}, {3}, CT_INT64);
    ct_tensor *xy[] = {x, y};
    ct_dataset *ds = ct_tensor_dataset(2, xy);
    ct_release(x), ct_release(y); // the dataset holds its own references
    ASSERT_NE(ds, nullptr) << ct_last_error();
    ct_sample s;
    ASSERT_EQ(ct_dataset_get(ds, 2, &s), CT_OK);
    ASSERT_EQ(s.n, 2);
    EXPECT_EQ(dt::shape(s.field[0]), (std::vector<int64_t>{2}));
    EXPECT_EQ(dt::values(s.field[0]), (std::vector<double>{4, 5}));
    EXPECT_EQ(dt::shape(s.field[1]), (std::vector<int64_t>{}));
    EXPECT_EQ(dt::values(s.field[1]), (std::vector<double>{9}));
    EXPECT_EQ(ct_tensor_dtype(s.field[1]), CT_INT64);
    ct_sample_release(&s);
    ct_dataset_release(ds);
    EXPECT_EQ(dt::cpu_bytes(), before);
}

TEST(DataDataset, TensorDatasetInsideAScopeOutlivesTheScope) {
    ct_scope_begin();
    ct_tensor *x = dt::tensor({1, 2, 3}, {3});
    ct_dataset *ds = ct_tensor_dataset(1, &x);
    ASSERT_EQ(ct_scope_end(), CT_OK);
    EXPECT_EQ(scalar_of(ds, 1), 2.0);
    ct_dataset_release(ds);
}

TEST(DataDataset, TensorDatasetSizeMismatch) {
    ct_tensor *x = dt::tensor({1, 2, 3}, {3}), *y = dt::tensor({1, 2}, {2});
    ct_tensor *xy[] = {x, y};
    EXPECT_EQ(ct_tensor_dataset(2, xy), nullptr);
    EXPECT_CT_ERROR(CT_ERR_SHAPE, "Size mismatch between tensors");
    ct_tensor *s = dt::tensor({1}, {});
    EXPECT_EQ(ct_tensor_dataset(1, &s), nullptr);
    EXPECT_CT_ERROR(CT_ERR_SHAPE, "0-d");
    EXPECT_EQ(ct_tensor_dataset(0, &x), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "expected 1 to 8 tensors");
    ct_release(x), ct_release(y), ct_release(s);
}

TEST(DataDataset, SubsetMapsIndices) {
    ct_dataset *ds = ct_dataset_new(&squares_vt, nullptr);
    int64_t idx[] = {7, 2, -1};
    ct_dataset *sub = ct_subset(ds, 3, idx);
    ct_dataset_release(ds); // the subset keeps it alive
    int64_t n;
    ASSERT_EQ(ct_dataset_len(sub, &n), CT_OK);
    EXPECT_EQ(n, 3);
    EXPECT_EQ(scalar_of(sub, 0), 49.0);
    EXPECT_EQ(scalar_of(sub, 1), 4.0);
    EXPECT_EQ(scalar_of(sub, 2), 81.0);
    ct_dataset_release(sub);
}

TEST(DataDataset, SubsetIndexOutOfRangeFailsOnUse) {
    ct_dataset *ds = ct_dataset_new(&squares_vt, nullptr);
    int64_t idx[] = {12};
    ct_dataset *sub = ct_subset(ds, 1, idx);
    ct_sample s;
    EXPECT_EQ(ct_dataset_get(sub, 0, &s), CT_ERR_INDEX);
    EXPECT_CT_ERROR(CT_ERR_INDEX, "index 12 is out of bounds for dimension 0 with size 10");
    ct_dataset_release(sub);
    ct_dataset_release(ds);
}

TEST(DataDataset, ConcatDatasetChainsDatasets) {
    ct_dataset *a = ct_dataset_new(&squares_vt, nullptr);
    ct_tensor *x = dt::tensor({-1, -2, -3}, {3}, CT_FLOAT64);
    ct_dataset *b = ct_tensor_dataset(1, &x);
    ct_dataset *aba[] = {a, b, a};
    ct_dataset *c = ct_concat_dataset(3, aba);
    ct_dataset_release(a), ct_dataset_release(b), ct_release(x);
    int64_t n;
    ASSERT_EQ(ct_dataset_len(c, &n), CT_OK);
    EXPECT_EQ(n, 23);
    EXPECT_EQ(scalar_of(c, 0), 0.0);
    EXPECT_EQ(scalar_of(c, 9), 81.0);
    EXPECT_EQ(scalar_of(c, 10), -1.0);
    EXPECT_EQ(scalar_of(c, 12), -3.0);
    EXPECT_EQ(scalar_of(c, 13), 0.0);
    EXPECT_EQ(scalar_of(c, 22), 81.0);
    EXPECT_EQ(scalar_of(c, -11), -3.0);
    ct_dataset_release(c);
}

TEST(DataDataset, ConcatDatasetErrors) {
    EXPECT_EQ(ct_concat_dataset(0, nullptr), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "datasets should not be an empty iterable");
    static const ct_dataset_vtable iter_vt = {
        .name = "Stream",
        .iter_begin = [](void *, void **it) -> ct_status { *it = nullptr; return CT_OK; },
        .iter_next = [](void *, void *, ct_sample *, bool *end) -> ct_status { *end = true; return CT_OK; },
    };
    ct_dataset *s = ct_dataset_new(&iter_vt, nullptr);
    EXPECT_EQ(ct_concat_dataset(1, &s), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "ConcatDataset does not support IterableDataset");
    ct_dataset_release(s);
}

namespace {
// The values of every sample of each split, as the squares' roots.
std::vector<std::vector<int64_t>> split_contents(ct_dataset **parts, int n) {
    std::vector<std::vector<int64_t>> out((size_t)n);
    for (int k = 0; k < n; k++) {
        int64_t len;
        EXPECT_EQ(ct_dataset_len(parts[k], &len), CT_OK);
        for (int64_t i = 0; i < len; i++) out[(size_t)k].push_back((int64_t)std::lround(std::sqrt(scalar_of(parts[k], i))));
    }
    return out;
}
} // namespace

TEST(DataDataset, RandomSplitWithLengthsPartitionsAPermutation) {
    ct_dataset *ds = ct_dataset_new(&squares_vt, nullptr);
    ct_generator *g = ct_generator_new(42);
    ct_dataset *parts[3];
    int64_t lengths[] = {5, 3, 2};
    ASSERT_EQ(ct_random_split(ds, 3, lengths, g, parts), CT_OK) << ct_last_error();
    auto got = split_contents(parts, 3);
    EXPECT_EQ(got[0].size(), 5u);
    EXPECT_EQ(got[1].size(), 3u);
    EXPECT_EQ(got[2].size(), 2u);
    std::vector<int64_t> all;
    for (auto &p : got) all.insert(all.end(), p.begin(), p.end());
    std::vector<int64_t> sorted = all;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> expect(10);
    std::iota(expect.begin(), expect.end(), 0);
    EXPECT_EQ(sorted, expect);   // every sample exactly once
    EXPECT_NE(all, expect);      // and shuffled (a fixed seed: this permutation is not the identity)
    // the same seed gives the same split
    ct_dataset *again[3];
    ct_generator_manual_seed(g, 42);
    ASSERT_EQ(ct_random_split(ds, 3, lengths, g, again), CT_OK);
    EXPECT_EQ(split_contents(again, 3), got);
    for (int k = 0; k < 3; k++) ct_dataset_release(parts[k]), ct_dataset_release(again[k]);
    ct_generator_free(g);
    ct_dataset_release(ds);
}

TEST(DataDataset, RandomSplitFractionsDistributeTheRemainderRoundRobin) {
    // PyTorch: floor(10 * 0.3) = 3, floor(10 * 0.3) = 3, floor(10 * 0.4) = 4 -> 10, nothing left over;
    // with 0.33/0.33/0.34: 3, 3, 3 = 9, one left, given to split 0 -> 4, 3, 3.
    ct_dataset *ds = ct_dataset_new(&squares_vt, nullptr);
    ct_dataset *parts[3];
    double fractions[] = {0.33, 0.33, 0.34};
    ASSERT_EQ(ct_random_split_fractions(ds, 3, fractions, nullptr, parts), CT_OK) << ct_last_error();
    int64_t n[3];
    for (int k = 0; k < 3; k++) ct_dataset_len(parts[k], &n[k]), ct_dataset_release(parts[k]);
    EXPECT_EQ(n[0], 4);
    EXPECT_EQ(n[1], 3);
    EXPECT_EQ(n[2], 3);
    // 7 samples in quarters: floor(1.75) = 1 each = 4, remainder 3 -> 2, 2, 2, 1
    int64_t idx[] = {0, 1, 2, 3, 4, 5, 6};
    ct_dataset *seven = ct_subset(ds, 7, idx);
    ct_dataset *quarters[4];
    double q[] = {0.25, 0.25, 0.25, 0.25};
    ASSERT_EQ(ct_random_split_fractions(seven, 4, q, nullptr, quarters), CT_OK);
    int64_t expect[] = {2, 2, 2, 1};
    for (int k = 0; k < 4; k++) {
        int64_t len;
        ct_dataset_len(quarters[k], &len);
        EXPECT_EQ(len, expect[k]) << "split " << k;
        ct_dataset_release(quarters[k]);
    }
    ct_dataset_release(seven);
    ct_dataset_release(ds);
}

TEST(DataDataset, RandomSplitErrors) {
    ct_dataset *ds = ct_dataset_new(&squares_vt, nullptr), *parts[2] = {nullptr, nullptr};
    int64_t wrong[] = {4, 5};
    EXPECT_EQ(ct_random_split(ds, 2, wrong, nullptr, parts), CT_ERR_INVALID_ARGUMENT);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "Sum of input lengths does not equal the length of the input dataset!");
    double bad[] = {1.5, -0.5};
    EXPECT_EQ(ct_random_split_fractions(ds, 2, bad, nullptr, parts), CT_ERR_INVALID_ARGUMENT);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "Fraction at index 0 is not between 0 and 1");
    double short_of_one[] = {0.5, 0.4};
    EXPECT_EQ(ct_random_split_fractions(ds, 2, short_of_one, nullptr, parts), CT_ERR_INVALID_ARGUMENT);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "fractions should add up to 1");
    EXPECT_EQ(parts[0], nullptr);
    ct_dataset_release(ds);
}
