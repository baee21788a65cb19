// The autograd engine: leaves, views and copies, accumulation, hooks, grad mode, retain_graph, and its errors.
// The gradients of the op families are checked by the harness's gradient mode in their own test files.
#include "ctorch/autograd.h"
#include "test_helpers.h"

namespace {
class Autograd : public testing::Test {
  protected:
    void SetUp() override { ct_scope_begin(); }
    void TearDown() override {
        ct_scope_end();
        EXPECT_TRUE(ct_is_grad_enabled());
    }
    // a float64 leaf 0, 1, ... of the given shape that requires grad
    ct_tensor *leaf(std::vector<int64_t> shape) {
        int64_t n = 1;
        for (int64_t s : shape) n *= s;
        ct_tensor *t = ct_reshape(ct_arange(0, (double)n, 1, CT_FLOAT64, CT_DEVICE_CPU), (int)shape.size(), shape.data());
        EXPECT_EQ(ct_set_requires_grad(t, true), CT_OK);
        return t;
    }
};
} // namespace

TEST_F(Autograd, BackwardOnALeafScalarGivesOne) {
    ct_tensor *x = leaf({1});
    ASSERT_EQ(ct_backward(x, nullptr, false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(x)), std::vector<double>{1});
}

TEST_F(Autograd, SelectScattersTheGradientBack) {
    ct_tensor *x = leaf({2, 3});
    ct_tensor *s = ct_select(ct_select(x, 0, 1), 0, -1);
    EXPECT_FALSE(ct_is_leaf(s));
    EXPECT_STREQ(ct_grad_fn_name(s), "SelectBackward0");
    ASSERT_EQ(ct_backward(s, nullptr, false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{0, 0, 0, 0, 0, 1}));
}

TEST_F(Autograd, GradientsAccumulateAcrossBackwardCalls) {
    ct_tensor *x = leaf({3});
    ct_tensor *s = ct_select(x, 0, 1);
    ASSERT_EQ(ct_backward(s, nullptr, true), CT_OK);
    ASSERT_EQ(ct_backward(s, nullptr, false), CT_OK);
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{0, 2, 0}));
}

TEST_F(Autograd, PermuteViewAndSliceMapTheGradientBack) {
    ct_tensor *x = leaf({2, 3});
    ct_tensor *y = ct_slice(ct_t(x), 0, 1, 3, 1); // x^T rows 1..2: shape [2, 2], y[i][j] = x[j][i + 1]
    ASSERT_EQ(shape_of(y), (std::vector<int64_t>{2, 2}));
    ct_tensor *g = ct_tensor_from_data(std::vector<double>{1, 2, 3, 4}.data(), 2, SHAPE(2, 2), CT_FLOAT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_backward(y, g, false), CT_OK) << ct_last_error();
    // dL/dx[j][i+1] = g[i][j]
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{0, 1, 3, 0, 2, 4}));
}

TEST_F(Autograd, ViewsOfViewsReshapeTheGradient) {
    ct_tensor *x = leaf({2, 3});
    ct_tensor *y = ct_unsqueeze(ct_flatten(ct_view(x, 2, SHAPE(3, 2)), 0, -1), 0); // [1, 6]
    ct_tensor *g = ct_arange(10, 16, 1, CT_FLOAT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_backward(y, ct_view(g, 2, SHAPE(1, 6)), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{10, 11, 12, 13, 14, 15}));
    EXPECT_EQ(shape_of(ct_grad(x)), (std::vector<int64_t>{2, 3}));
}

TEST_F(Autograd, ExpandSumsTheGradientOverBroadcastDims) {
    ct_tensor *x = leaf({3, 1});
    ct_tensor *e = ct_expand(x, 3, SHAPE(2, 3, 4));
    ASSERT_EQ(ct_backward(e, ct_ones(3, SHAPE(2, 3, 4), CT_FLOAT64, CT_DEVICE_CPU), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{8, 8, 8}));
}

TEST_F(Autograd, ConversionsSendTheGradientBackInTheInputsDtype) {
    ct_tensor *x = ct_ones(1, SHAPE(3), CT_FLOAT32, CT_DEVICE_CPU);
    ct_set_requires_grad(x, true);
    ct_tensor *y = ct_select(ct_clone(ct_to_dtype(x, CT_FLOAT64)), 0, 2);
    EXPECT_STREQ(ct_grad_fn_name(ct_to_dtype(x, CT_FLOAT64)), "ToCopyBackward0");
    ASSERT_EQ(ct_backward(y, nullptr, false), CT_OK) << ct_last_error();
    EXPECT_EQ(ct_tensor_dtype(ct_grad(x)), CT_FLOAT32);
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{0, 0, 1}));
}

TEST_F(Autograd, CopyIntoAFreshTensorRecordsTheSource) {
    ct_tensor *x = leaf({2});
    ct_tensor *dst = ct_zeros(1, SHAPE(2), CT_FLOAT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_copy_(dst, x), CT_OK);
    EXPECT_STREQ(ct_grad_fn_name(dst), "CopyBackwards");
    ASSERT_EQ(ct_backward(ct_select(dst, 0, 0), nullptr, false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{1, 0}));
}

TEST_F(Autograd, NoGradModeRecordsNothingAndNests) {
    ct_tensor *x = leaf({3});
    ct_no_grad_begin();
    ct_no_grad_begin();
    EXPECT_FALSE(ct_is_grad_enabled());
    ct_tensor *v = ct_select(x, 0, 0);
    EXPECT_EQ(ct_no_grad_end(), CT_OK);
    EXPECT_FALSE(ct_is_grad_enabled());
    EXPECT_EQ(ct_no_grad_end(), CT_OK);
    EXPECT_TRUE(ct_is_grad_enabled());
    EXPECT_TRUE(ct_is_leaf(v));
    EXPECT_FALSE(ct_requires_grad(v));
    EXPECT_EQ(ct_no_grad_end(), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "no ct_no_grad_begin is open");
}

TEST_F(Autograd, DetachSharesStorageWithoutHistory) {
    ct_tensor *x = leaf({3});
    ct_tensor *v = ct_select(x, 0, 1);
    ct_tensor *d = ct_detach(v);
    EXPECT_TRUE(ct_is_leaf(d));
    EXPECT_FALSE(ct_requires_grad(d));
    EXPECT_TRUE(ct_shares_storage(d, x));
    EXPECT_EQ(ct_set_requires_grad(v, false), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "you can only change requires_grad flags of leaf variables");
}

TEST_F(Autograd, FrozenLeavesGetNoGradient) {
    ct_tensor *x = leaf({3});
    ASSERT_EQ(ct_set_requires_grad(x, false), CT_OK); // freezing
    ct_tensor *v = ct_select(x, 0, 1);
    EXPECT_FALSE(ct_requires_grad(v));
    EXPECT_EQ(ct_backward(v, nullptr, false), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "element 0 of tensors does not require grad and does not have a grad_fn");
    EXPECT_EQ(ct_grad(x), nullptr);
}

TEST_F(Autograd, RootErrors) {
    ct_tensor *x = leaf({2, 2});
    ct_tensor *v = ct_t(x);
    EXPECT_EQ(ct_backward(v, nullptr, false), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "grad can be implicitly created only for scalar outputs");
    EXPECT_EQ(ct_backward(v, ct_ones(1, SHAPE(3), CT_FLOAT64, CT_DEVICE_CPU), false), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "Mismatch in shape: grad_output[0] has a shape of [3] and output[0] has a shape of [2, 2].");
    EXPECT_EQ(ct_backward(nullptr, nullptr, false), CT_ERR_INVALID_ARGUMENT);
    ct_clear_error();
}

namespace {
ct_tensor *double_it(const ct_tensor *grad, void *ctx) {
    ++*(int *)ctx;
    std::vector<double> v = values_of(grad); // a made tensor replaces the gradient
    for (double &x : v) x *= 2;
    return ct_tensor_from_data(v.data(), ct_dim(grad), ct_shape(grad), CT_FLOAT64, CT_DEVICE_CPU);
}
ct_tensor *observe(const ct_tensor *grad, void *ctx) {
    *(std::vector<double> *)ctx = values_of(grad);
    return nullptr;
}
} // namespace

TEST_F(Autograd, HooksSeeAndReplaceTheGradientAndCanBeRemoved) {
    ct_tensor *x = leaf({3});
    int calls = 0;
    ct_hook_handle *h = ct_register_hook(x, double_it, &calls);
    ASSERT_NE(h, nullptr) << ct_last_error();
    std::vector<double> seen;
    ct_tensor *v = ct_select(x, 0, 2);
    ct_hook_handle *h2 = ct_register_hook(v, observe, &seen); // on a non-leaf
    ASSERT_EQ(ct_backward(v, nullptr, true), CT_OK) << ct_last_error();
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(seen, std::vector<double>{1});
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{0, 0, 2}));
    EXPECT_EQ(ct_hook_remove(h), CT_OK);
    ASSERT_EQ(ct_backward(v, nullptr, false), CT_OK);
    EXPECT_EQ(calls, 1) << "removed";
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{0, 0, 3}));
    ct_release(v); // the tensor goes before its handle: removing afterwards is still safe
    EXPECT_EQ(ct_hook_remove(h2), CT_OK);
    ct_tensor *plain = ct_zeros(1, SHAPE(1), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_register_hook(plain, observe, &seen), nullptr);
    EXPECT_ERROR(CT_ERR_STATE, "cannot register a hook on a tensor that doesn't require gradient");
}

TEST_F(Autograd, RetainGradKeepsANonLeafsGradient) {
    ct_tensor *x = leaf({2, 2});
    ct_tensor *row = ct_select(x, 0, 1);
    ASSERT_EQ(ct_retain_grad(row), CT_OK);
    ASSERT_EQ(ct_backward(ct_select(row, 0, 0), nullptr, false), CT_OK);
    EXPECT_EQ(values_of(ct_grad(row)), (std::vector<double>{1, 0}));
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{0, 0, 1, 0}));
}

TEST_F(Autograd, InPlaceOnALeafThatRequiresGradIsAnError) {
    ct_tensor *x = leaf({3});
    EXPECT_EQ(ct_fill_(x, 1), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "a leaf Variable that requires grad is being used in an in-place operation.");
    ct_no_grad_begin();
    EXPECT_EQ(ct_fill_(x, 1), CT_OK) << "allowed without grad mode (how optimizers and init write parameters)";
    ct_no_grad_end();
    ct_tensor *view = ct_narrow(ct_zeros(1, SHAPE(5), CT_FLOAT64, CT_DEVICE_CPU), 0, 1, 3);
    EXPECT_EQ(ct_copy_(view, x), CT_ERR_NOT_IMPLEMENTED);
    EXPECT_ERROR(CT_ERR_NOT_IMPLEMENTED, "into a view is not differentiable yet");
}

TEST_F(Autograd, TheGraphGoesWithItsTensors) {
    int64_t before = cpu_allocated();
    ct_scope_begin();
    ct_tensor *x = leaf({4, 4});
    for (int i = 0; i < 100; i++) x = ct_t(ct_view(ct_t(x), 2, SHAPE(4, 4)));
    ASSERT_EQ(ct_backward(ct_select(ct_select(x, 0, 0), 0, 0), nullptr, false), CT_OK) << ct_last_error();
    ct_scope_end();
    EXPECT_EQ(cpu_allocated(), before);
}

TEST_F(Autograd, SecondBackwardThroughAFreedGraphIsAnErrorUnlessRetained) {
    ct_tensor *x = leaf({3});
    ct_tensor *s = ct_sum(ct_mul(x, x), 0, nullptr, false); // mul saves its inputs
    ASSERT_EQ(ct_backward(s, nullptr, true), CT_OK) << ct_last_error();
    ASSERT_EQ(ct_backward(s, nullptr, false), CT_OK) << "the graph was retained";
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{0, 4, 8})); // 2 * 2x, accumulated
    EXPECT_EQ(ct_backward(s, nullptr, false), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "Trying to backward through the graph a second time");
}

TEST_F(Autograd, ChangingASavedTensorInPlaceIsCaughtAtBackward) {
    ct_tensor *x = leaf({2});
    ct_tensor *y = ct_mul_scalar(x, 1.0);
    ct_tensor *s = ct_sum(ct_mul(y, y), 0, nullptr, false);
    ASSERT_EQ(ct_add_scalar_(y, 1.0, 1.0), CT_OK); // y is a non-leaf: the in-place change itself is allowed
    EXPECT_EQ(ct_backward(s, nullptr, false), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "has been modified by an inplace operation");
}
