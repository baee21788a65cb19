// Collation: default_collate stacking each field along a new batch dim, pad_sequence (PyTorch's docs example and
// hand-computed values), the padding collate with its lengths field, pinning, and the errors of each.
#include "test_data_helpers.h"

namespace {

ct_sample sample_of(std::vector<ct_tensor *> fields) {
    ct_sample s = {};
    s.n = (int)fields.size();
    for (size_t k = 0; k < fields.size(); k++) s.field[k] = fields[k];
    return s;
}

void release_all(std::vector<ct_sample> &samples) {
    for (auto &s : samples) ct_sample_release(&s);
}

} // namespace

TEST(DataCollate, DefaultCollateStacksEachField) {
    std::vector<ct_sample> samples;
    for (int i = 0; i < 3; i++)
        samples.push_back(sample_of({dt::tensor({(double)i, 10.0 + i}, {2}), dt::tensor({(double)i}, {}, CT_INT64)}));
    ct_sample batch;
    ASSERT_EQ(ct_default_collate(samples.data(), 3, &batch, nullptr), CT_OK) << ct_last_error();
    ASSERT_EQ(batch.n, 2);
    EXPECT_EQ(dt::shape(batch.field[0]), (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(dt::values(batch.field[0]), (std::vector<double>{0, 10, 1, 11, 2, 12}));
    EXPECT_EQ(dt::shape(batch.field[1]), (std::vector<int64_t>{3}));
    EXPECT_EQ(ct_tensor_dtype(batch.field[1]), CT_INT64);
    EXPECT_EQ(dt::values(batch.field[1]), (std::vector<double>{0, 1, 2}));
    ct_sample_release(&batch);
    release_all(samples);
}

TEST(DataCollate, DefaultCollateCopiesStridedSamples) {
    // sample j is the transpose of a 2x3 block: a non-contiguous (3, 2) view
    std::vector<ct_sample> samples;
    std::vector<double> expect;
    for (int j = 0; j < 2; j++) {
        ct_tensor *m = dt::tensor({1.0 + 6 * j, 2.0 + 6 * j, 3.0 + 6 * j, 4.0 + 6 * j, 5.0 + 6 * j, 6.0 + 6 * j}, {2, 3},
                                  CT_FLOAT64);
        ct_tensor *t = ct_t(m);
        ct_release(m);
        ASSERT_FALSE(ct_is_contiguous(t));
        std::vector<double> v = dt::values(t);
        expect.insert(expect.end(), v.begin(), v.end());
        samples.push_back(sample_of({t}));
    }
    ct_sample batch;
    ASSERT_EQ(ct_default_collate(samples.data(), 2, &batch, nullptr), CT_OK) << ct_last_error();
    EXPECT_EQ(dt::shape(batch.field[0]), (std::vector<int64_t>{2, 3, 2}));
    EXPECT_EQ(dt::values(batch.field[0]), expect);
    ct_sample_release(&batch);
    release_all(samples);
}

TEST(DataCollate, DefaultCollateErrors) {
    std::vector<ct_sample> shapes = {sample_of({dt::tensor({1, 2}, {2})}), sample_of({dt::tensor({1, 2, 3}, {3})})};
    ct_sample batch;
    EXPECT_EQ(ct_default_collate(shapes.data(), 2, &batch, nullptr), CT_ERR_SHAPE);
    EXPECT_CT_ERROR(CT_ERR_SHAPE, "stack expects each tensor to be equal size, but got [2] at entry 0 and [3] at entry 1");
    std::vector<ct_sample> fields = {sample_of({dt::tensor({1}, {1}), dt::tensor({1}, {1})}),
                                     sample_of({dt::tensor({2}, {1})})};
    EXPECT_EQ(ct_default_collate(fields.data(), 2, &batch, nullptr), CT_ERR_SHAPE);
    EXPECT_CT_ERROR(CT_ERR_SHAPE, "each element in list of batch should be of equal size");
    std::vector<ct_sample> dtypes = {sample_of({dt::tensor({1}, {1})}), sample_of({dt::tensor({2}, {1}, CT_INT64)})};
    EXPECT_EQ(ct_default_collate(dtypes.data(), 2, &batch, nullptr), CT_ERR_DTYPE);
    EXPECT_CT_ERROR(CT_ERR_DTYPE, "to have dtype float32, but got int64 at entry 1");
    EXPECT_EQ(ct_default_collate(dtypes.data(), 0, &batch, nullptr), CT_ERR_INVALID_ARGUMENT);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "empty batch");
    release_all(shapes), release_all(fields), release_all(dtypes);
}

TEST(DataCollate, PadSequenceShapesOfThePyTorchDocsExample) {
    // a = torch.ones(25, 300); b = torch.ones(22, 300); c = torch.ones(15, 300)
    // pad_sequence([a, b, c]).size() == torch.Size([25, 3, 300])
    int64_t sa[] = {25, 300}, sb[] = {22, 300}, sc[] = {15, 300};
    ct_tensor *seqs[] = {ct_ones(2, sa, CT_FLOAT32, CT_DEVICE_CPU), ct_ones(2, sb, CT_FLOAT32, CT_DEVICE_CPU),
                         ct_ones(2, sc, CT_FLOAT32, CT_DEVICE_CPU)};
    ct_tensor *p = ct_pad_sequence(3, seqs, false, 0.0);
    ASSERT_NE(p, nullptr) << ct_last_error();
    EXPECT_EQ(dt::shape(p), (std::vector<int64_t>{25, 3, 300}));
    ct_tensor *q = ct_pad_sequence(3, seqs, true, 0.0);
    EXPECT_EQ(dt::shape(q), (std::vector<int64_t>{3, 25, 300}));
    // ones where a sequence has data, zeros after its end: sum = (25 + 22 + 15) * 300
    double sum = 0;
    for (double v : dt::values(q)) sum += v;
    EXPECT_EQ(sum, (25 + 22 + 15) * 300.0);
    ct_release(p), ct_release(q);
    for (ct_tensor *t : seqs) ct_release(t);
}

TEST(DataCollate, PadSequenceValuesBatchFirstAndTimeMajor) {
    ct_tensor *seqs[] = {dt::tensor({1, 2, 3}, {3}, CT_INT64), dt::tensor({4}, {1}, CT_INT64),
                         dt::tensor({5, 6}, {2}, CT_INT64)};
    ct_tensor *bf = ct_pad_sequence(3, seqs, true, -1);
    EXPECT_EQ(dt::shape(bf), (std::vector<int64_t>{3, 3}));
    EXPECT_EQ(dt::values(bf), (std::vector<double>{1, 2, 3, 4, -1, -1, 5, 6, -1}));
    EXPECT_EQ(ct_tensor_dtype(bf), CT_INT64);
    ct_tensor *tm = ct_pad_sequence(3, seqs, false, -1);
    EXPECT_EQ(dt::values(tm), (std::vector<double>{1, 4, 5, 2, -1, 6, 3, -1, -1}));
    ct_release(bf), ct_release(tm);
    for (ct_tensor *t : seqs) ct_release(t);
}

TEST(DataCollate, PadSequenceErrors) {
    EXPECT_EQ(ct_pad_sequence(0, nullptr, true, 0), nullptr);
    EXPECT_CT_ERROR(CT_ERR_INVALID_ARGUMENT, "received an empty list of sequences");
    ct_tensor *mixed[] = {dt::tensor({1, 2, 3, 4}, {2, 2}), dt::tensor({1, 2, 3}, {1, 3})};
    EXPECT_EQ(ct_pad_sequence(2, mixed, true, 0), nullptr);
    EXPECT_CT_ERROR(CT_ERR_SHAPE, "the trailing dims of every sequence must match");
    ct_tensor *scalar[] = {dt::tensor({1}, {})};
    EXPECT_EQ(ct_pad_sequence(1, scalar, true, 0), nullptr);
    EXPECT_CT_ERROR(CT_ERR_SHAPE, "0-d");
    for (ct_tensor *t : mixed) ct_release(t);
    ct_release(scalar[0]);
}

TEST(DataCollate, PadCollateAddsTheLengths) {
    // samples: {sequence (L, 2), label}; L = 2, 1, 3
    std::vector<ct_sample> samples = {
        sample_of({dt::tensor({1, 1, 2, 2}, {2, 2}), dt::tensor({0}, {}, CT_INT64)}),
        sample_of({dt::tensor({3, 3}, {1, 2}), dt::tensor({1}, {}, CT_INT64)}),
        sample_of({dt::tensor({4, 4, 5, 5, 6, 6}, {3, 2}), dt::tensor({2}, {}, CT_INT64)}),
    };
    ct_pad_collate_options o = {0, true, 9.0};
    ct_sample batch;
    ASSERT_EQ(ct_pad_collate(samples.data(), 3, &batch, &o), CT_OK) << ct_last_error();
    ASSERT_EQ(batch.n, 3);
    EXPECT_EQ(dt::shape(batch.field[0]), (std::vector<int64_t>{3, 3, 2}));
    EXPECT_EQ(dt::values(batch.field[0]),
              (std::vector<double>{1, 1, 2, 2, 9, 9, 3, 3, 9, 9, 9, 9, 4, 4, 5, 5, 6, 6}));
    EXPECT_EQ(dt::values(batch.field[1]), (std::vector<double>{0, 1, 2}));
    EXPECT_EQ(ct_tensor_dtype(batch.field[2]), CT_INT64);
    EXPECT_EQ(dt::values(batch.field[2]), (std::vector<double>{2, 1, 3}));
    ct_sample_release(&batch);
    // defaults: field 0, time-major, padding 0
    ASSERT_EQ(ct_pad_collate(samples.data(), 3, &batch, nullptr), CT_OK);
    EXPECT_EQ(dt::shape(batch.field[0]), (std::vector<int64_t>{3, 3, 2}));
    EXPECT_EQ(dt::values(batch.field[0])[2 * 3 + 2], 0.0); // t=1, b=1 is past sample 1's end
    ct_sample_release(&batch);
    ct_pad_collate_options bad = {5, false, 0};
    EXPECT_EQ(ct_pad_collate(samples.data(), 3, &batch, &bad), CT_ERR_INDEX);
    EXPECT_CT_ERROR(CT_ERR_INDEX, "field 5 is out of range for samples of 2 fields");
    release_all(samples);
}

TEST(DataCollate, PinMemoryCopiesIntoPageLockedMemoryWhenAGpuExists) {
    ct_tensor *t = dt::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
    ct_tensor *tt = ct_t(t);
    ct_tensor *p = ct_pin_memory(tt);
    ASSERT_NE(p, nullptr) << ct_last_error();
    EXPECT_EQ(dt::values(p), dt::values(tt));
    EXPECT_TRUE(ct_is_contiguous(p));
    EXPECT_EQ(ct_is_pinned(p), ct_cuda_is_available()); // without a GPU, ordinary memory
    EXPECT_FALSE(ct_is_pinned(t));
    ct_release(p), ct_release(tt), ct_release(t);
}
