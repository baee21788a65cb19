// Autograd of the shape family: gradient checks (the harness's gradient mode: central differences in float64
// against ct_backward, on the CPU and on CUDA when present) for cat and stack (two to nine inputs: lists longer than
// a node's edges are recorded as chains; negative dims; inputs that do not require grad; a skipped empty input),
// split, split_with_sizes and chunk (views; pieces used twice accumulate), repeat (with new leading dims), flip and
// constant padding (negative pads crop); and hand-computed examples, the grad_fn names and what is not recorded.
//
// Every op here moves values without arithmetic, so the Jacobian is 0/1 and central differences are exact up to
// rounding: the harness's tolerance (1e-5 relative to 1 + |numeric|) leaves a wide margin.
#include <cstdlib>

#include "ctorch/autograd.h"
#include "harness.h"
#include "test_helpers.h"

namespace {

using cth::Inputs;

ct_tensor *cat_all(const Inputs &in, int dim) { return ct_cat((int)in.size(), in.data(), dim); }
ct_tensor *stack_all(const Inputs &in, int dim) { return ct_stack((int)in.size(), in.data(), dim); }

// The pieces of a split put back together in another order, the first one twice (its gradient accumulates).
ct_tensor *reassembled(ct_tensor **pieces, int count, int dim) {
    if (!pieces) return nullptr;
    std::vector<ct_tensor *> order;
    for (int i = count - 1; i >= 0; i--) order.push_back(pieces[i]);
    order.push_back(pieces[0]);
    ct_tensor *out = ct_cat((int)order.size(), order.data(), dim);
    ct_tensors_free(pieces, count);
    return out;
}

const int cat_stack_cases = [] {
    using namespace cth;
    add_grad_case({"cat", "two_dim0", {uniform({2, 3}), uniform({4, 3})}, {},
                   [](const Inputs &in) { return cat_all(in, 0); }});
    add_grad_case({"cat", "three_negative_dim_transposed", {uniform({3, 2}), transposed(uniform({3, 4})), uniform({3, 1})},
                   {}, [](const Inputs &in) { return cat_all(in, -1); }});
    add_grad_case({"cat", "six_inputs_chain", {uniform({2, 1}), uniform({2, 2}), uniform({2, 3}), uniform({2, 1}),
                                               uniform({2, 2}), uniform({2, 1})},
                   {}, [](const Inputs &in) { return cat_all(in, 1); }});
    add_grad_case({"cat", "nine_inputs_some_without_grad",
                   {uniform({1, 2}), uniform({2, 2}), uniform({1, 2}), uniform({3, 2}), uniform({1, 2}), uniform({2, 2}),
                    uniform({1, 2}), uniform({1, 2}), uniform({2, 2})},
                   {0, 4, 8}, [](const Inputs &in) { return cat_all(in, 0); }});
    add_grad_case({"cat", "only_the_last_of_five_requires_grad",
                   {uniform({2}), uniform({3}), uniform({1}), uniform({2}), uniform({4})}, {4},
                   [](const Inputs &in) { return cat_all(in, 0); }});
    add_grad_case({"cat", "skipped_empty_input", {uniform({2, 3}), uniform({0}), uniform({1, 3})}, {0, 2},
                   [](const Inputs &in) { return cat_all(in, 0); }});
    add_grad_case({"stack", "two_dim0", {uniform({2, 3}), uniform({2, 3})}, {},
                   [](const Inputs &in) { return stack_all(in, 0); }});
    add_grad_case({"stack", "five_last_dim_chain", {uniform({3}), uniform({3}), uniform({3}), uniform({3}), uniform({3})},
                   {}, [](const Inputs &in) { return stack_all(in, -1); }});
    add_grad_case({"stack", "eight_middle_dim_some_without_grad",
                   {uniform({2, 2}), uniform({2, 2}), uniform({2, 2}), transposed(uniform({2, 2})), uniform({2, 2}),
                    uniform({2, 2}), uniform({2, 2}), uniform({2, 2})},
                   {1, 3, 6, 7}, [](const Inputs &in) { return stack_all(in, 1); }});
    return 0;
}();

const int split_cases = [] {
    using namespace cth;
    add_grad_case({"split", "uneven_pieces_dim1", {uniform({2, 7})}, {}, [](const Inputs &in) {
                       int count = 0;
                       ct_tensor **pieces = ct_split(in[0], 3, 1, &count);
                       return reassembled(pieces, count, 1);
                   }});
    add_grad_case({"split", "transposed_dim0", {transposed(uniform({5, 3}))}, {}, [](const Inputs &in) {
                       int count = 0;
                       ct_tensor **pieces = ct_split(in[0], 2, 0, &count);
                       return reassembled(pieces, count, 0);
                   }});
    add_grad_case({"split", "one_piece_only", {uniform({6, 2})}, {}, [](const Inputs &in) -> ct_tensor * {
                       int count = 0;
                       ct_tensor **pieces = ct_split(in[0], 4, 0, &count);
                       if (!pieces) return nullptr;
                       ct_tensor *last = ct_alias(pieces[count - 1]); // the others get no gradient: zeros
                       ct_tensors_free(pieces, count);
                       return last;
                   }});
    add_grad_case({"split_with_sizes", "with_an_empty_piece_negative_dim", {uniform({3, 5})}, {},
                   [](const Inputs &in) {
                       int count = 0;
                       ct_tensor **pieces = ct_split_with_sizes(in[0], 3, SHAPE(1, 0, 4), -1, &count);
                       return reassembled(pieces, count, -1);
                   }});
    add_grad_case({"chunk", "three_of_seven", {uniform({7, 2})}, {}, [](const Inputs &in) {
                       int count = 0;
                       ct_tensor **pieces = ct_chunk(in[0], 3, 0, &count);
                       return reassembled(pieces, count, 0);
                   }});
    return 0;
}();

const int repeat_flip_pad_cases = [] {
    using namespace cth;
    add_grad_case({"repeat", "each_dim", {uniform({2, 3})}, {},
                   [](const Inputs &in) { return ct_repeat(in[0], 2, SHAPE(3, 2)); }});
    add_grad_case({"repeat", "new_leading_dims_transposed", {transposed(uniform({2, 3}))}, {},
                   [](const Inputs &in) { return ct_repeat(in[0], 4, SHAPE(2, 1, 1, 3)); }});
    add_grad_case({"repeat", "scalar", {uniform({})}, {}, [](const Inputs &in) { return ct_repeat(in[0], 1, SHAPE(4)); }});
    add_grad_case({"flip", "dims_0_and_last", {uniform({2, 3, 4})}, {},
                   [](const Inputs &in) { return ct_flip(in[0], 2, DIMS(0, -1)); }});
    add_grad_case({"flip", "transposed_middle", {transposed(uniform({3, 2, 4}))}, {},
                   [](const Inputs &in) { return ct_flip(in[0], 1, DIMS(1)); }});
    add_grad_case({"constant_pad_nd", "last_dim_both_sides", {uniform({2, 3})}, {},
                   [](const Inputs &in) { return ct_constant_pad_nd(in[0], 2, SHAPE(1, 2), 7.0); }});
    add_grad_case({"constant_pad_nd", "two_dims_pad_and_crop", {uniform({4, 5})}, {},
                   [](const Inputs &in) { return ct_constant_pad_nd(in[0], 4, SHAPE(-1, 2, 1, -2), -1.0); }});
    add_grad_case({"constant_pad_nd", "crop_only_transposed", {transposed(uniform({3, 4}))}, {},
                   [](const Inputs &in) { return ct_constant_pad_nd(in[0], 2, SHAPE(-1, -1), 0.0); }});
    add_grad_case({"pad", "constant_mode_3d", {uniform({2, 2, 3})}, {},
                   [](const Inputs &in) { return ct_pad(in[0], 6, SHAPE(1, 0, 0, 2, 1, 1), "constant", 0.5); }});
    return 0;
}();

class ShapeGrad : public testing::Test {
  protected:
    void SetUp() override { ct_scope_begin(); }
    void TearDown() override { ct_scope_end(); }
    // A float64 CPU leaf 0, 1, ... (plus start) of the given shape that requires grad.
    ct_tensor *leaf(std::vector<int64_t> shape, double start = 0) {
        int64_t n = 1;
        for (int64_t s : shape) n *= s;
        ct_tensor *r = ct_arange(start, start + (double)n, 1, CT_FLOAT64, CT_DEVICE_CPU);
        ct_tensor *t = ct_contiguous(ct_reshape(r, (int)shape.size(), shape.data()));
        t = ct_detach(t);
        EXPECT_EQ(ct_set_requires_grad(t, true), CT_OK) << ct_last_error();
        return t;
    }
    ct_tensor *arange_f64(double n, std::vector<int64_t> shape) {
        return ct_reshape(ct_arange(1, n + 1, 1, CT_FLOAT64, CT_DEVICE_CPU), (int)shape.size(), shape.data());
    }
};

} // namespace

TEST_F(ShapeGrad, CatHandsEachInputItsSlab) {
    ct_tensor *x = leaf({2}), *y = leaf({3});
    ct_tensor *list[2] = {x, y};
    ct_tensor *c = ct_cat(2, list, 0);
    ASSERT_EQ(ct_backward(c, arange_f64(5, {5}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{1, 2}));
    EXPECT_EQ(values_of(ct_grad(y)), (std::vector<double>{3, 4, 5}));
}

// Ten inputs take a chain of four nodes; the gradient still finds each input's slab, including one used twice.
TEST_F(ShapeGrad, CatOfTenInputsWithARepeatedOne) {
    std::vector<ct_tensor *> list;
    for (int i = 0; i < 9; i++) list.push_back(leaf({1}));
    list.push_back(list[2]);
    ct_tensor *c = ct_cat(10, list.data(), 0);
    ASSERT_EQ(ct_backward(c, arange_f64(10, {10}), false), CT_OK) << ct_last_error();
    for (int i = 0; i < 9; i++)
        EXPECT_EQ(values_of(ct_grad(list[(size_t)i])), (std::vector<double>{i == 2 ? 3.0 + 10.0 : i + 1.0})) << i;
}

TEST_F(ShapeGrad, StackSelectsEachInputsGradient) {
    ct_tensor *x = leaf({2}), *y = leaf({2});
    ct_tensor *list[5] = {x, y, x, y, x}; // five: a chain of two nodes
    ct_tensor *s = ct_stack(5, list, 1);   // (2, 5)
    ASSERT_EQ(ct_backward(s, arange_f64(10, {2, 5}), false), CT_OK) << ct_last_error();
    // x at columns 0, 2, 4 of rows (1..5) and (6..10)
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{1 + 3 + 5, 6 + 8 + 10}));
    EXPECT_EQ(values_of(ct_grad(y)), (std::vector<double>{2 + 4, 7 + 9}));
}

// repeat with a repeat of 0: an empty result, a zero gradient of the input's shape.
TEST_F(ShapeGrad, RepeatByZeroGivesAZeroGradient) {
    ct_tensor *x = leaf({2, 3}, 1);
    ct_tensor *r = ct_repeat(x, 2, SHAPE(0, 2));
    ASSERT_EQ(shape_of(r), (std::vector<int64_t>{0, 6}));
    ASSERT_EQ(ct_backward(r, ct_zeros(2, SHAPE(0, 6), CT_FLOAT64, CT_DEVICE_CPU), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>(6, 0.0)));
}

TEST_F(ShapeGrad, RepeatSumsOverTheCopies) {
    ct_tensor *x = leaf({2});
    ct_tensor *r = ct_repeat(x, 2, SHAPE(2, 2)); // (2, 4): x0 x1 x0 x1 twice
    ASSERT_EQ(ct_backward(r, arange_f64(8, {2, 4}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{1 + 3 + 5 + 7, 2 + 4 + 6 + 8}));
}

TEST_F(ShapeGrad, NegativePadCropsAndTheCroppedPartGetsZero) {
    ct_tensor *x = leaf({4});
    ct_tensor *p = ct_constant_pad_nd(x, 2, SHAPE(-1, 2), 9.0); // x1 x2 x3 9 9
    ASSERT_EQ(ct_backward(p, arange_f64(5, {5}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{0, 1, 2, 3}));
}

TEST_F(ShapeGrad, GradFnNamesArePytorchs) {
    ct_tensor *x = leaf({4, 2});
    ct_tensor *list[2] = {x, x};
    EXPECT_STREQ(ct_grad_fn_name(ct_cat(2, list, 0)), "CatBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_stack(2, list, 0)), "StackBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_repeat(x, 2, SHAPE(1, 2))), "RepeatBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_flip(x, 1, DIMS(0))), "FlipBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_constant_pad_nd(x, 2, SHAPE(1, 1), 0)), "ConstantPadNdBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_pad(x, 2, SHAPE(1, 1), "constant", 0)), "ConstantPadNdBackward0");
    int count = 0;
    ct_tensor **pieces = ct_split(x, 3, 0, &count);
    ASSERT_EQ(count, 2);
    EXPECT_STREQ(ct_grad_fn_name(pieces[0]), "SplitBackward0");
    EXPECT_STREQ(ct_grad_fn_name(pieces[1]), "SplitBackward0");
    ct_tensors_free(pieces, count);
    pieces = ct_split_with_sizes(x, 2, SHAPE(1, 3), 0, &count);
    EXPECT_STREQ(ct_grad_fn_name(pieces[1]), "SplitWithSizesBackward0");
    ct_tensors_free(pieces, count);
    pieces = ct_chunk(x, 2, 1, &count);
    EXPECT_STREQ(ct_grad_fn_name(pieces[0]), "SplitBackward0");
    ct_tensors_free(pieces, count);
}

TEST_F(ShapeGrad, NothingIsRecordedWithoutGradOrInGradModeOff) {
    ct_tensor *x = leaf({2, 2});
    ct_tensor *plain = ct_ones(2, SHAPE(2, 2), CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *list[2] = {plain, plain};
    EXPECT_TRUE(ct_is_leaf(ct_cat(2, list, 0)));
    EXPECT_FALSE(ct_requires_grad(ct_stack(2, list, 0)));
    ct_no_grad_begin();
    ct_tensor *f = ct_flip(x, 1, DIMS(0));
    ct_tensor *l2[2] = {x, x};
    ct_tensor *c = ct_cat(2, l2, 1);
    int count = 0;
    ct_tensor **pieces = ct_split(x, 1, 0, &count);
    ct_no_grad_end();
    EXPECT_TRUE(ct_is_leaf(f));
    EXPECT_TRUE(ct_is_leaf(c));
    EXPECT_FALSE(ct_requires_grad(c));
    EXPECT_TRUE(ct_is_leaf(pieces[0]));
    ct_tensors_free(pieces, count);
}
