// Tensors: factories, queries, copies, conversions, values out, and their errors.
#include <cmath>

#include "test_helpers.h"

TEST(Factories, ZerosOnesFullHaveShapeDtypeAndValues) {
    int64_t shape[2] = {2, 3};
    ct_tensor *z = ct_zeros(2, shape, CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *o = ct_ones(2, shape, CT_INT32, CT_DEVICE_CPU);
    ct_tensor *f = ct_full(2, shape, 2.5, CT_FLOAT32, CT_DEVICE_CPU);
    ASSERT_TRUE(z && o && f) << ct_last_error();
    EXPECT_EQ(shape_of(z), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(strides_of(z), (std::vector<int64_t>{3, 1}));
    EXPECT_EQ(ct_tensor_dtype(o), CT_INT32);
    EXPECT_EQ(values_of(z), std::vector<double>(6, 0.0));
    EXPECT_EQ(values_of(o), std::vector<double>(6, 1.0));
    EXPECT_EQ(values_of(f), std::vector<double>(6, 2.5));
    EXPECT_TRUE(ct_is_contiguous(z));
    EXPECT_EQ(ct_numel(z), 6);
    EXPECT_EQ(ct_dim(z), 2);
    ct_release(z), ct_release(o), ct_release(f);
}

TEST(Factories, ScalarTensorHasNoDims) {
    ct_tensor *s = ct_full(0, nullptr, 7, CT_INT64, CT_DEVICE_CPU);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(ct_dim(s), 0);
    EXPECT_EQ(ct_numel(s), 1);
    int64_t v = 0;
    EXPECT_EQ(ct_item_int64(s, &v), CT_OK);
    EXPECT_EQ(v, 7);
    ct_release(s);
}

TEST(Factories, LikeVariantsCopyShapeDtypeDevice) {
    ct_tensor *t = ct_full(2, SHAPE(4, 1), 3, CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *e = ct_empty_like(t), *z = ct_zeros_like(t), *o = ct_ones_like(t), *f = ct_full_like(t, -1);
    ASSERT_TRUE(e && z && o && f);
    EXPECT_EQ(shape_of(e), shape_of(t));
    EXPECT_EQ(ct_tensor_dtype(e), CT_FLOAT64);
    EXPECT_EQ(values_of(z), std::vector<double>(4, 0));
    EXPECT_EQ(values_of(o), std::vector<double>(4, 1));
    EXPECT_EQ(values_of(f), std::vector<double>(4, -1));
    for (auto *x : {t, e, z, o, f}) ct_release(x);
}

TEST(Factories, ArangeMatchesPyTorch) {
    ct_tensor *a = ct_arange(0, 5, 1, CT_INT64, CT_DEVICE_CPU);
    EXPECT_EQ(values_of(a), (std::vector<double>{0, 1, 2, 3, 4}));
    ct_tensor *b = ct_arange(1, 2.5, 0.5, CT_FLOAT32, CT_DEVICE_CPU); // torch.arange(1, 2.5, 0.5) = [1, 1.5, 2]
    EXPECT_EQ(values_of(b), (std::vector<double>{1, 1.5, 2}));
    ct_tensor *c = ct_arange(5, 0, -2, CT_FLOAT64, CT_DEVICE_CPU); // [5, 3, 1]
    EXPECT_EQ(values_of(c), (std::vector<double>{5, 3, 1}));
    ct_tensor *e = ct_arange(3, 3, 1, CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_numel(e), 0);
    for (auto *x : {a, b, c, e}) ct_release(x);
    EXPECT_EQ(ct_arange(0, 1, 0, CT_FLOAT32, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "step must be nonzero");
    EXPECT_EQ(ct_arange(0, 5, -1, CT_FLOAT32, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "inconsistent with step sign");
}

TEST(Factories, LinspaceEndsExactlyAtEnd) {
    ct_tensor *l = ct_linspace(-10, 10, 5, CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(values_of(l), (std::vector<double>{-10, -5, 0, 5, 10}));
    ct_tensor *one = ct_linspace(3, 7, 1, CT_FLOAT64, CT_DEVICE_CPU);
    EXPECT_EQ(values_of(one), (std::vector<double>{3}));
    ct_tensor *tenth = ct_linspace(0, 1, 11, CT_FLOAT64, CT_DEVICE_CPU);
    std::vector<double> v = values_of(tenth);
    EXPECT_EQ(v.back(), 1.0);
    for (int i = 0; i < 11; i++) EXPECT_NEAR(v[(size_t)i], i / 10.0, 1e-15);
    for (auto *x : {l, one, tenth}) ct_release(x);
    EXPECT_EQ(ct_linspace(0, 1, -1, CT_FLOAT32, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "number of steps must be non-negative");
}

TEST(Factories, EyeSquareAndRectangular) {
    ct_tensor *e = ct_eye(3, -1, CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(values_of(e), (std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
    ct_tensor *r = ct_eye(2, 3, CT_INT64, CT_DEVICE_CPU);
    EXPECT_EQ(shape_of(r), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(values_of(r), (std::vector<double>{1, 0, 0, 0, 1, 0}));
    ct_release(e), ct_release(r);
    EXPECT_EQ(ct_eye(-2, 3, CT_FLOAT32, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "n must be greater or equal to 0, got -2");
}

TEST(Factories, FromDataCopiesAndFromBlobShares) {
    double data[4] = {1, 2, 3, 4};
    ct_tensor *copy = ct_tensor_from_data(data, 2, SHAPE(2, 2), CT_FLOAT64, CT_DEVICE_CPU);
    data[0] = 100;
    EXPECT_EQ(values_of(copy), (std::vector<double>{1, 2, 3, 4}));
    static int released = 0;
    ct_tensor *blob = ct_from_blob(data, 1, SHAPE(4), nullptr, CT_FLOAT64, CT_DEVICE_CPU,
                                   [](void *, void *ctx) { ++*(int *)ctx; }, &released);
    ASSERT_NE(blob, nullptr);
    EXPECT_EQ(ct_data_ptr(blob), (void *)data);
    data[1] = 200;
    EXPECT_EQ(values_of(blob), (std::vector<double>{100, 200, 3, 4}));
    ct_tensor *view = ct_narrow(blob, 0, 1, 2);
    ct_release(blob);
    EXPECT_EQ(released, 0) << "a view still holds the memory";
    ct_release(view);
    EXPECT_EQ(released, 1);
    ct_release(copy);
}

TEST(Factories, FromBlobWithStridesAndNoRelease) {
    int32_t data[6] = {0, 1, 2, 3, 4, 5};
    ct_tensor *t = ct_from_blob(data, 2, SHAPE(3, 2), SHAPE(1, 3), CT_INT32, CT_DEVICE_CPU, nullptr, nullptr);
    ASSERT_NE(t, nullptr);
    EXPECT_FALSE(ct_is_contiguous(t));
    EXPECT_EQ(values_of(t), (std::vector<double>{0, 3, 1, 4, 2, 5}));
    ct_release(t);
    EXPECT_EQ(data[5], 5);
}

TEST(Factories, BadArgumentsGiveClearErrors) {
    EXPECT_EQ(ct_zeros(2, SHAPE(2, -3), CT_FLOAT32, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "Trying to create tensor with negative dimension -3: [2, -3]");
    EXPECT_EQ(ct_zeros(9, SHAPE(1, 1, 1, 1, 1, 1, 1, 1, 1), CT_FLOAT32, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "number of dims 9 is out of range [0, 8]");
    EXPECT_EQ(ct_zeros(2, nullptr, CT_FLOAT32, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "'shape' is NULL");
    EXPECT_EQ(ct_zeros(1, SHAPE(2), (ct_dtype)42, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "invalid dtype 42");
    EXPECT_EQ(ct_zeros(1, SHAPE(2), CT_FLOAT16, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_NOT_IMPLEMENTED, "float16");
    EXPECT_EQ(ct_tensor_from_data(nullptr, 1, SHAPE(2), CT_FLOAT32, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "'data' is NULL");
    EXPECT_EQ(ct_zeros(2, SHAPE(INT64_MAX / 2, 1000), CT_FLOAT32, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "too many elements");
    EXPECT_EQ(ct_zeros(1, SHAPE(2), CT_FLOAT32, ct_device{CT_CPU, 3}), nullptr);
    EXPECT_ERROR(CT_ERR_DEVICE, "CPU device index must be 0, got 3");
}

TEST(Copy, ConvertsBetweenDtypes) {
    ct_tensor *f = tensor_f32({-2.7f, -0.5f, 0.f, 0.5f, 3.9f, 255.f}, {6});
    ct_tensor *i = ct_to_dtype(f, CT_INT64);
    EXPECT_EQ(values_of(i), (std::vector<double>{-2, 0, 0, 0, 3, 255})); // truncation toward zero, as C and PyTorch
    ct_tensor *b = ct_to_dtype(f, CT_BOOL);
    EXPECT_EQ(values_of(b), (std::vector<double>{1, 1, 0, 1, 1, 1}));
    ct_tensor *u = ct_to_dtype(i, CT_UINT8);
    EXPECT_EQ(values_of(u), (std::vector<double>{254, 0, 0, 0, 3, 255})); // -2 wraps to 254 as PyTorch's uint8
    ct_tensor *same = ct_to_dtype(f, CT_FLOAT32);
    EXPECT_TRUE(ct_shares_storage(same, f)) << "to() with the same dtype returns a view, not a copy";
    for (auto *x : {f, i, b, u, same}) ct_release(x);
}

TEST(Copy, LargeInt64SurvivesExactly) {
    int64_t big[2] = {(1LL << 62) + 1, -(1LL << 60) - 3};
    ct_tensor *t = ct_tensor_from_data(big, 1, SHAPE(2), CT_INT64, CT_DEVICE_CPU);
    ct_tensor *c = ct_clone(t);
    int64_t out[2];
    ASSERT_EQ(ct_copy_to_buffer(c, out, sizeof out), CT_OK);
    EXPECT_EQ(out[0], big[0]);
    EXPECT_EQ(out[1], big[1]);
    ct_tensor *first = ct_select(c, 0, 0);
    int64_t v;
    EXPECT_EQ(ct_item_int64(first, &v), CT_OK);
    EXPECT_EQ(v, big[0]);
    ct_release(t), ct_release(c), ct_release(first);
}

TEST(Copy, CopyIntoAViewWritesThroughToTheBase) {
    ct_tensor *base = ct_zeros(2, SHAPE(3, 4), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *col = ct_select(base, 1, 2);
    ct_tensor *src = tensor_f32({7, 8, 9}, {3});
    ASSERT_EQ(ct_copy_(col, src), CT_OK);
    EXPECT_EQ(values_of(base), (std::vector<double>{0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 9, 0}));
    for (auto *x : {base, col, src}) ct_release(x);
}

TEST(Copy, OverlappingCopyReadsBeforeWriting) {
    // x[1:] = x[:-1] on [0, 1, 2, 3] must give [0, 0, 1, 2] (the source is read as it was)
    ct_tensor *x = ct_arange(0, 4, 1, CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *dst = ct_narrow(x, 0, 1, 3), *src = ct_narrow(x, 0, 0, 3);
    ASSERT_EQ(ct_copy_(dst, src), CT_OK);
    EXPECT_EQ(values_of(x), (std::vector<double>{0, 0, 1, 2}));
    // and a square matrix transposed onto itself
    ct_tensor *m = ct_arange(0, 4, 1, CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *m2 = ct_view(m, 2, SHAPE(2, 2)), *mt = ct_t(m2);
    ASSERT_EQ(ct_copy_(m2, mt), CT_OK);
    EXPECT_EQ(values_of(m2), (std::vector<double>{0, 2, 1, 3}));
    for (auto *t : {x, dst, src, m, m2, mt}) ct_release(t);
}

TEST(Copy, ErrorsForBadShapesAndExpandedDestinations) {
    ct_tensor *a = ct_zeros(2, SHAPE(2, 3), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *b = ct_zeros(1, SHAPE(4), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_copy_(a, b), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "the size of src [4] cannot be broadcast to the size of dst [2, 3]");
    ct_tensor *row = ct_zeros(2, SHAPE(1, 3), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *expanded = ct_expand(row, 2, SHAPE(2, 3));
    EXPECT_EQ(ct_copy_(expanded, a), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "more than one element of the written-to tensor refers to a single memory");
    EXPECT_EQ(ct_copy_(nullptr, a), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "argument 'dst' is NULL");
    for (auto *t : {a, b, row, expanded}) ct_release(t);
}

TEST(Copy, ContiguousOnlyCopiesWhenNeeded) {
    ct_tensor *a = ct_arange(0, 6, 1, CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *m = ct_view(a, 2, SHAPE(2, 3));
    ct_tensor *c1 = ct_contiguous(m);
    EXPECT_TRUE(ct_shares_storage(c1, a));
    ct_tensor *mt = ct_t(m);
    EXPECT_FALSE(ct_is_contiguous(mt));
    ct_tensor *c2 = ct_contiguous(mt);
    EXPECT_FALSE(ct_shares_storage(c2, a));
    EXPECT_TRUE(ct_is_contiguous(c2));
    EXPECT_EQ(values_of(c2), (std::vector<double>{0, 3, 1, 4, 2, 5}));
    for (auto *t : {a, m, c1, mt, c2}) ct_release(t);
}

TEST(Fill, FillsStridedViewsOnly) {
    ct_tensor *a = ct_zeros(2, SHAPE(3, 3), CT_INT32, CT_DEVICE_CPU);
    ct_tensor *diag = ct_from_blob(ct_data_ptr(a), 1, SHAPE(3), SHAPE(4), CT_INT32, CT_DEVICE_CPU,
                                   nullptr, nullptr);
    ASSERT_EQ(ct_fill_(diag, 5), CT_OK);
    EXPECT_EQ(values_of(a), (std::vector<double>{5, 0, 0, 0, 5, 0, 0, 0, 5}));
    ASSERT_EQ(ct_zero_(a), CT_OK);
    EXPECT_EQ(values_of(a), std::vector<double>(9, 0));
    ct_release(diag), ct_release(a);
}

TEST(ValuesOut, ItemAndBufferChecks) {
    ct_tensor *one = ct_full(1, SHAPE(1), 0.25, CT_FLOAT32, CT_DEVICE_CPU);
    double d = 0;
    EXPECT_EQ(ct_item(one, &d), CT_OK);
    EXPECT_EQ(d, 0.25);
    int64_t i;
    EXPECT_EQ(ct_item_int64(one, &i), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "expected an integer or bool tensor, got float32");
    ct_tensor *two = ct_zeros(1, SHAPE(2), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_item(two, &d), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "a Tensor with 2 elements cannot be converted to Scalar");
    float buf[3];
    EXPECT_EQ(ct_copy_to_buffer(two, buf, sizeof buf), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "buffer of 12 bytes given for 2 elements of float32 (8 bytes)");
    EXPECT_EQ(ct_copy_to_buffer(two, nullptr, 8), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "'buf' is NULL");
    EXPECT_EQ(ct_item(nullptr, &d), CT_ERR_INVALID_ARGUMENT);
    ct_clear_error();
    ct_release(one), ct_release(two);
}

TEST(Errors, NullInputKeepsTheFirstError) {
    ct_clear_error();
    ct_tensor *bad = ct_zeros(1, SHAPE(-1), CT_FLOAT32, CT_DEVICE_CPU); // fails: negative dimension
    ct_tensor *chain = ct_unsqueeze(ct_t(bad), 0);                            // both get NULL
    EXPECT_EQ(chain, nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "ct_empty: Trying to create tensor with negative dimension -1");
    EXPECT_EQ(ct_t(nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_t: argument 't' is NULL");
    EXPECT_STREQ(ct_last_error(), "");
    EXPECT_STREQ(ct_status_name(CT_ERR_INDEX), "CT_ERR_INDEX");
}

TEST(RequiresGrad, OnlyFloatingTensors) {
    ct_tensor *f = ct_zeros(1, SHAPE(2), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *i = ct_zeros(1, SHAPE(2), CT_INT64, CT_DEVICE_CPU);
    EXPECT_EQ(ct_set_requires_grad(f, true), CT_OK);
    EXPECT_TRUE(ct_requires_grad(f));
    EXPECT_EQ(ct_set_requires_grad(i, true), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "only Tensors of floating point dtype can require gradients");
    ct_release(f), ct_release(i);
}

TEST(AllocationFailure, IsAnErrorNotACrash) {
    ct_debug_fail_allocation_after(1);
    EXPECT_EQ(ct_zeros(1, SHAPE(10), CT_FLOAT32, CT_DEVICE_CPU), nullptr);
    EXPECT_ERROR(CT_ERR_OUT_OF_MEMORY, "out of memory: tried to allocate 40 bytes on cpu");
    // the second allocation of a clone of a transposed tensor fails: nothing leaks
    ct_tensor *a = ct_ones(2, SHAPE(3, 3), CT_FLOAT32, CT_DEVICE_CPU);
    int64_t before = cpu_allocated();
    ct_debug_fail_allocation_after(1);
    ct_tensor *at = ct_t(a);
    ct_tensor *r = ct_reshape(at, 1, SHAPE(9));
    EXPECT_EQ(r, nullptr);
    ct_release(at);
    EXPECT_ERROR(CT_ERR_OUT_OF_MEMORY, "injected failure");
    EXPECT_EQ(cpu_allocated(), before);
    ct_debug_fail_allocation_after(0);
    ct_release(a);
}

TEST(AllocationFailure, EveryAllocationOfACrossDtypeCopyCanFail) {
    // walk the failure point through each allocation of a conversion; each must fail cleanly
    ct_scope_begin();
    ct_tensor *a = ct_arange(0, 12, 1, CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *at = ct_t(ct_view(a, 2, SHAPE(3, 4)));
    int64_t before = cpu_allocated();
    for (int k = 1; k <= 3; k++) {
        ct_debug_fail_allocation_after(k);
        ct_tensor *r = ct_to_dtype(at, CT_INT64);
        ct_debug_fail_allocation_after(0);
        if (r) {
            EXPECT_EQ(values_of(r).size(), 12u);
            ct_release(r);
        } else {
            EXPECT_EQ(ct_last_status(), CT_ERR_OUT_OF_MEMORY);
            ct_clear_error();
        }
        ct_debug_fail_allocation_after(0);
        EXPECT_EQ(cpu_allocated(), before);
    }
    ct_scope_end();
}

TEST(Dtypes, NamesAndSizes) {
    EXPECT_STREQ(ct_dtype_name(CT_FLOAT32), "float32");
    EXPECT_STREQ(ct_dtype_name(CT_BFLOAT16), "bfloat16");
    EXPECT_STREQ(ct_dtype_name((ct_dtype)99), "invalid");
    EXPECT_EQ(ct_dtype_size(CT_INT64), 8u);
    EXPECT_EQ(ct_dtype_size(CT_BOOL), 1u);
    EXPECT_EQ(ct_dtype_size(CT_FLOAT16), 2u);
    EXPECT_TRUE(ct_dtype_is_floating(CT_FLOAT64));
    EXPECT_FALSE(ct_dtype_is_floating(CT_INT32));
}

TEST(PinMemory, CopiesIntoPageLockedMemoryWhereAGpuIsUsable) {
    ct_tensor *t = ct_arange(0, 6, 1, CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *p = ct_pin_memory(t);
    ASSERT_NE(p, nullptr) << ct_last_error();
    EXPECT_EQ(values_of(p), values_of(t));
    EXPECT_FALSE(ct_shares_storage(p, t));
    EXPECT_EQ(ct_is_pinned(p), ct_cuda_is_available()) << "pinned only where page-locking is possible";
    EXPECT_FALSE(ct_is_pinned(t));
    ct_release(p), ct_release(t);
    EXPECT_EQ(ct_pin_memory(nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "is NULL");
}

TEST(Grad, SetAndClearWithChecks) {
    ct_tensor *w = ct_zeros(2, SHAPE(2, 3), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_grad(w), nullptr);
    ct_tensor *g = ct_ones(2, SHAPE(2, 3), CT_FLOAT32, CT_DEVICE_CPU);
    ASSERT_EQ(ct_set_grad(w, g), CT_OK);
    ct_release(g); // w holds its own reference
    EXPECT_EQ(values_of(ct_grad(w)), std::vector<double>(6, 1.0));
    ct_tensor *wrong = ct_ones(1, SHAPE(6), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_set_grad(w, wrong), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "assigned grad has data of a different size: grad [6], tensor [2, 3]");
    ct_tensor *f64 = ct_ones(2, SHAPE(2, 3), CT_FLOAT64, CT_DEVICE_CPU);
    EXPECT_EQ(ct_set_grad(w, f64), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "different type");
    ASSERT_EQ(ct_set_grad(w, nullptr), CT_OK);
    EXPECT_EQ(ct_grad(w), nullptr);
    for (auto *t : {w, wrong, f64}) ct_release(t);
}
