// Views: geometry, storage sharing, PyTorch's rules and errors.
#include "test_helpers.h"

namespace {
struct Scoped { // each test body runs in a scope, so intermediate views need no frees
    Scoped() { ct_scope_begin(); }
    ~Scoped() { ct_scope_end(); }
};
ct_tensor *arange_f32(int64_t n) { return ct_arange(0, (double)n, 1, CT_FLOAT32, CT_DEVICE_CPU); }
} // namespace

TEST(Views, ViewInfersOneDimAndShares) {
    Scoped s;
    ct_tensor *a = arange_f32(12);
    ct_tensor *v = ct_view(a, 3, SHAPE(2, -1, 3));
    ASSERT_NE(v, nullptr) << ct_last_error();
    EXPECT_EQ(shape_of(v), (std::vector<int64_t>{2, 2, 3}));
    EXPECT_EQ(strides_of(v), (std::vector<int64_t>{6, 3, 1}));
    EXPECT_TRUE(ct_shares_storage(a, v));
    EXPECT_EQ(ct_view(a, 2, SHAPE(-1, -1)), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "only one dimension can be inferred");
    EXPECT_EQ(ct_view(a, 2, SHAPE(5, -1)), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "shape '[5, -1]' is invalid for input of size 12");
}

TEST(Views, ViewOfTransposeNeedsReshape) {
    Scoped s;
    ct_tensor *m = ct_view(arange_f32(6), 2, SHAPE(2, 3));
    ct_tensor *mt = ct_t(m);
    EXPECT_EQ(ct_view(mt, 1, SHAPE(6)), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "view size is not compatible with input tensor's size and stride");
    ct_tensor *r = ct_reshape(mt, 1, SHAPE(6));
    ASSERT_NE(r, nullptr);
    EXPECT_FALSE(ct_shares_storage(r, m)) << "reshape had to copy";
    EXPECT_EQ(values_of(r), (std::vector<double>{0, 3, 1, 4, 2, 5}));
    // a view that only splits a transposed dim is still possible
    ct_tensor *split = ct_view(mt, 3, SHAPE(3, 2, 1));
    ASSERT_NE(split, nullptr);
    EXPECT_TRUE(ct_shares_storage(split, m));
    ct_tensor *rv = ct_reshape(m, 2, SHAPE(3, 2));
    EXPECT_TRUE(ct_shares_storage(rv, m)) << "reshape of a contiguous tensor is a view";
}

TEST(Views, PermuteTransposeSwap) {
    Scoped s;
    ct_tensor *a = ct_view(arange_f32(24), 3, SHAPE(2, 3, 4));
    ct_tensor *p = ct_permute(a, 3, DIMS(2, 0, 1));
    EXPECT_EQ(shape_of(p), (std::vector<int64_t>{4, 2, 3}));
    EXPECT_EQ(strides_of(p), (std::vector<int64_t>{1, 12, 4}));
    ct_tensor *t = ct_transpose(a, 0, -1);
    EXPECT_EQ(shape_of(t), (std::vector<int64_t>{4, 3, 2}));
    ct_tensor *sw = ct_swapaxes(a, 1, 2), *sd = ct_swapdims(a, 1, 2);
    EXPECT_EQ(strides_of(sw), (std::vector<int64_t>{12, 1, 4}));
    EXPECT_EQ(strides_of(sd), strides_of(sw));
    EXPECT_EQ(ct_permute(a, 3, DIMS(0, 0, 1)), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "repeated dim in permute");
    EXPECT_EQ(ct_permute(a, 2, DIMS(0, 1)), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "number of dims don't match in permute");
    EXPECT_EQ(ct_transpose(a, 0, 3), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
    EXPECT_EQ(ct_t(a), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "t() expects a tensor with <= 2 dimensions, but self is 3D");
}

TEST(Views, SqueezeAndUnsqueeze) {
    Scoped s;
    ct_tensor *a = ct_zeros(4, SHAPE(1, 3, 1, 2), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(shape_of(ct_squeeze(a)), (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(shape_of(ct_squeeze_dim(a, 2)), (std::vector<int64_t>{1, 3, 2}));
    EXPECT_EQ(shape_of(ct_squeeze_dim(a, 1)), (std::vector<int64_t>{1, 3, 1, 2})) << "size 3: unchanged";
    ct_tensor *u = ct_unsqueeze(a, -1);
    EXPECT_EQ(shape_of(u), (std::vector<int64_t>{1, 3, 1, 2, 1}));
    ct_tensor *b = ct_zeros(2, SHAPE(2, 3), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *u1 = ct_unsqueeze(b, 1);
    EXPECT_EQ(shape_of(u1), (std::vector<int64_t>{2, 1, 3}));
    EXPECT_EQ(strides_of(u1), (std::vector<int64_t>{3, 3, 1}));
    EXPECT_EQ(ct_unsqueeze(b, 3), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
    ct_tensor *eight = ct_zeros(8, SHAPE(1, 1, 1, 1, 1, 1, 1, 1), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_unsqueeze(eight, 0), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "cannot unsqueeze a tensor of 8 dims");
    ct_tensor *scalar = ct_full(0, nullptr, 1, CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(shape_of(ct_unsqueeze(scalar, 0)), (std::vector<int64_t>{1}));
}

TEST(Views, ExpandBroadcastsWithZeroStrides) {
    Scoped s;
    ct_tensor *col = ct_view(arange_f32(3), 2, SHAPE(3, 1));
    ct_tensor *e = ct_expand(col, 3, SHAPE(2, -1, 4));
    ASSERT_NE(e, nullptr) << ct_last_error();
    EXPECT_EQ(shape_of(e), (std::vector<int64_t>{2, 3, 4}));
    EXPECT_EQ(strides_of(e), (std::vector<int64_t>{0, 1, 0}));
    std::vector<double> v = values_of(e);
    EXPECT_EQ(v[5], 1.0);  // [0][1][1]
    EXPECT_EQ(v[23], 2.0); // [1][2][3]
    EXPECT_EQ(ct_expand(col, 2, SHAPE(4, 4)), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "The expanded size of the tensor (4) must match the existing size (3) at non-singleton "
                               "dimension 0.  Target sizes: [4, 4].  Tensor sizes: [3, 1]");
    EXPECT_EQ(ct_expand(col, 1, SHAPE(3)), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "must be greater or equal to the number of dimensions");
}

TEST(Views, NarrowSliceSelect) {
    Scoped s;
    ct_tensor *m = ct_view(arange_f32(20), 2, SHAPE(4, 5));
    ct_tensor *n = ct_narrow(m, 1, 1, 3);
    EXPECT_EQ(shape_of(n), (std::vector<int64_t>{4, 3}));
    EXPECT_EQ(ct_storage_offset(n), 1);
    EXPECT_EQ(values_of(ct_select(n, 0, -1)), (std::vector<double>{16, 17, 18}));
    ct_tensor *sl = ct_slice(m, 1, -4, 100, 2); // m[:, -4::2] = columns 1, 3
    EXPECT_EQ(values_of(sl), (std::vector<double>{1, 3, 6, 8, 11, 13, 16, 18}));
    ct_tensor *empty = ct_slice(m, 0, 3, 1, 1);
    EXPECT_EQ(shape_of(empty), (std::vector<int64_t>{0, 5}));
    EXPECT_EQ(values_of(ct_narrow(m, 0, -1, 1)), (std::vector<double>{15, 16, 17, 18, 19}));
    EXPECT_EQ(ct_narrow(m, 1, 3, 3), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "start (3) + length (3) exceeds dimension size (5).");
    EXPECT_EQ(ct_select(m, 1, 5), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "index 5 is out of bounds for dimension 1 with size 5");
    EXPECT_EQ(ct_slice(m, 0, 0, 2, 0), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "slice step must be positive");
    ct_tensor *scalar = ct_full(0, nullptr, 1, CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_select(scalar, 0, 0), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "select() cannot be applied to a 0-dim tensor.");
}

TEST(Views, FlattenAndUnflatten) {
    Scoped s;
    ct_tensor *a = ct_view(arange_f32(24), 4, SHAPE(2, 3, 2, 2));
    EXPECT_EQ(shape_of(ct_flatten(a, 1, 2)), (std::vector<int64_t>{2, 6, 2}));
    EXPECT_EQ(shape_of(ct_flatten(a, 0, -1)), (std::vector<int64_t>{24}));
    ct_tensor *scalar = ct_full(0, nullptr, 3, CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(shape_of(ct_flatten(scalar, 0, -1)), (std::vector<int64_t>{1}));
    ct_tensor *u = ct_unflatten(a, 1, 2, SHAPE(-1, 1));
    EXPECT_EQ(shape_of(u), (std::vector<int64_t>{2, 3, 1, 2, 2}));
    EXPECT_TRUE(ct_shares_storage(u, a));
    EXPECT_EQ(ct_flatten(a, 2, 1), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "start_dim cannot come after end_dim");
    EXPECT_EQ(ct_unflatten(a, 1, 2, SHAPE(2, 2)), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "shape '[2, 2]' is invalid for input of size 3");
    // flatten of a transposed tensor copies, with the right order
    ct_tensor *m = ct_t(ct_view(arange_f32(6), 2, SHAPE(2, 3)));
    EXPECT_EQ(values_of(ct_flatten(m, 0, 1)), (std::vector<double>{0, 3, 1, 4, 2, 5}));
}

TEST(Views, WritesThroughAViewAreSeenByTheBase) {
    Scoped s;
    ct_tensor *a = ct_zeros(2, SHAPE(2, 2), CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *row = ct_select(ct_t(a), 0, 1); // column 1 of a
    ASSERT_EQ(ct_fill_(row, 3), CT_OK);
    EXPECT_EQ(values_of(a), (std::vector<double>{0, 3, 0, 3}));
    EXPECT_EQ(ct_size(a, -1), 2);
    EXPECT_EQ(ct_stride(row, 0), 2);
    EXPECT_EQ(ct_size(a, 2), -1);
    EXPECT_ERROR(CT_ERR_INDEX, "Dimension out of range");
}
