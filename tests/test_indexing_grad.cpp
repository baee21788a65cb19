// Autograd of the indexing family: gradient checks (the harness's gradient mode: central differences in float64
// against ct_backward, on the CPU and on CUDA when present) for gather, the scatters (src and value forms, in place
// and not, a src larger than index, negative dims), scatter_reduce (every reduction, with and without include_self,
// zeros for prod), index_select, index_add_, index_copy_, index_fill_, take_along_dim (broadcasting both ways, the
// flat form) and masked_select (broadcast mask or input, an empty selection); and hand-computed examples for what
// finite differences cannot judge (ties of amax/amin split evenly, prod with two zeros), the grad_fn names and the
// in-place errors.
//
// gather, the scatters, index_* and masked_select are linear in their floating inputs, and prod is multilinear, so
// central differences are exact up to rounding; amax/amin are piecewise linear, and the random values keep every
// gap far wider than the step (1e-6). scatter_ and index_copy_ cases use distinct indices: with duplicates only one
// value is kept, and PyTorch's gradient (which ctorch follows) then gives every duplicate the gradient.
#include "ctorch/autograd.h"
#include "harness.h"
#include "test_helpers.h"

namespace {

using cth::Inputs;

// in[0] cloned (a non-leaf) and written in place by op; the clone is the result.
template <typename Op> ct_tensor *in_place(const Inputs &in, Op op) {
    ct_tensor *c = ct_clone(in[0]);
    if (!c || op(c) != CT_OK) return nullptr;
    return c;
}

cth::InputSpec index64(std::vector<int64_t> shape, std::vector<double> values) {
    return cth::given(std::move(shape), std::move(values), CT_INT64);
}

const int gather_cases = [] {
    using namespace cth;
    add_grad_case({"gather", "dim1_duplicates", {uniform({3, 4}), integers({3, 5}, 0, 4)}, {},
                   [](const Inputs &in) { return ct_gather(in[0], 1, in[1]); }});
    add_grad_case({"gather", "dim0_index_smaller_than_input", {uniform({4, 5}), integers({2, 3}, 0, 4)}, {},
                   [](const Inputs &in) { return ct_gather(in[0], 0, in[1]); }});
    add_grad_case({"gather", "negative_dim_transposed_int32", {transposed(uniform({3, 4})), integers({3, 2}, 0, 4, CT_INT32)},
                   {}, [](const Inputs &in) { return ct_gather(in[0], -1, in[1]); }});
    add_grad_case({"take_along_dim", "same_shapes", {uniform({3, 4}), integers({3, 2}, 0, 4)}, {},
                   [](const Inputs &in) { return ct_take_along_dim(in[0], in[1], 1); }});
    add_grad_case({"take_along_dim", "input_broadcast", {uniform({1, 4}), integers({3, 2}, 0, 4)}, {},
                   [](const Inputs &in) { return ct_take_along_dim(in[0], in[1], -1); }});
    add_grad_case({"take_along_dim", "indices_broadcast", {uniform({3, 4, 2}), integers({1, 3, 1}, 0, 3)}, {},
                   [](const Inputs &in) { return ct_take_along_dim(in[0], in[1], 1); }});
    add_grad_case({"take_along_dim", "flat", {transposed(uniform({3, 4})), integers({5}, 0, 12)}, {},
                   [](const Inputs &in) { return ct_take_along_dim_flat(in[0], in[1]); }});
    add_grad_case({"index_select", "dim0_duplicates", {uniform({4, 3}), index64({5}, {3, 0, 3, 1, 3})}, {},
                   [](const Inputs &in) { return ct_index_select(in[0], 0, in[1]); }});
    add_grad_case({"index_select", "negative_dim_transposed_int32", {transposed(uniform({2, 5})),
                                                                     integers({3}, 0, 5, CT_INT32)},
                   {}, [](const Inputs &in) { return ct_index_select(in[0], -1, in[1]); }});
    add_grad_case({"index_select", "scalar_index", {uniform({3, 4}), given({}, {2}, CT_INT64)}, {},
                   [](const Inputs &in) { return ct_index_select(in[0], 1, in[1]); }});
    add_grad_case({"masked_select", "same_shapes", {uniform({3, 4}), bools({3, 4})}, {},
                   [](const Inputs &in) { return ct_masked_select(in[0], in[1]); }});
    add_grad_case({"masked_select", "mask_broadcast", {transposed(uniform({3, 4})), bools({4})}, {},
                   [](const Inputs &in) { return ct_masked_select(in[0], in[1]); }});
    add_grad_case({"masked_select", "input_broadcast", {uniform({1, 4}), bools({3, 4})}, {},
                   [](const Inputs &in) { return ct_masked_select(in[0], in[1]); }});
    add_grad_case({"masked_select", "nothing_selected", {uniform({2, 3}), given({2, 3}, {0, 0, 0, 0, 0, 0}, CT_BOOL)},
                   {}, [](const Inputs &in) { return ct_masked_select(in[0], in[1]); }});
    return 0;
}();

// Distinct destinations per column (dim 0) or per row (dim 1), so scatter_ keeps every value.
const int scatter_cases = [] {
    using namespace cth;
    add_grad_case({"scatter", "dim0_src_larger_than_index",
                   {uniform({4, 3}), index64({2, 3}, {0, 1, 3, 2, 3, 0}), uniform({3, 4})}, {0, 2},
                   [](const Inputs &in) { return ct_scatter(in[0], 0, in[1], in[2]); }});
    add_grad_case({"scatter", "negative_dim", {transposed(uniform({3, 4})), index64({3, 2}, {3, 0, 1, 2, 0, 3}),
                                               uniform({3, 2})},
                   {0, 2}, [](const Inputs &in) { return ct_scatter(in[0], -1, in[1], in[2]); }});
    add_grad_case({"scatter", "value_form", {uniform({3, 4}), integers({3, 2}, 0, 4)}, {0},
                   [](const Inputs &in) { return ct_scatter_value(in[0], 1, in[1], 2.5); }});
    add_grad_case({"scatter_", "in_place_dim1", {uniform({3, 4}), index64({2, 2}, {1, 3, 0, 2}), uniform({2, 3})},
                   {0, 2}, [](const Inputs &in) {
                       return in_place(in, [&](ct_tensor *c) { return ct_scatter_(c, 1, in[1], in[2]); });
                   }});
    add_grad_case({"scatter_", "value_form_in_place", {uniform({4, 2}), integers({2, 2}, 0, 4)}, {0},
                   [](const Inputs &in) {
                       return in_place(in, [&](ct_tensor *c) { return ct_scatter_value_(c, 0, in[1], -1.0); });
                   }});
    add_grad_case({"scatter_add", "dim0_duplicates_src_larger", {uniform({3, 4}), integers({4, 3}, 0, 3), uniform({5, 4})},
                   {0, 2}, [](const Inputs &in) { return ct_scatter_add(in[0], 0, in[1], in[2]); }});
    add_grad_case({"scatter_add", "3d_negative_dim", {uniform({2, 3, 4}), integers({2, 3, 6}, 0, 4), uniform({2, 3, 6})},
                   {0, 2}, [](const Inputs &in) { return ct_scatter_add(in[0], -1, in[1], in[2]); }});
    add_grad_case({"scatter_add_", "in_place_duplicates", {uniform({4, 2}), integers({6, 2}, 0, 4), uniform({6, 2})},
                   {0, 2}, [](const Inputs &in) {
                       return in_place(in, [&](ct_tensor *c) { return ct_scatter_add_(c, 0, in[1], in[2]); });
                   }});
    return 0;
}();

// scatter_reduce: each reduction with and without include_self; index draws leave some positions untouched.
ct_tensor *reduce_into(const Inputs &in, int dim, ct_scatter_reduction reduce, bool include_self) {
    return ct_scatter_reduce(in[0], dim, in[1], in[2], reduce, include_self);
}

const int scatter_reduce_cases = [] {
    using namespace cth;
    struct Mode {
        const char *name;
        ct_scatter_reduction reduce;
        double lo, hi; // values: away from zero for prod, spread for amax/amin
    };
    for (Mode m : {Mode{"sum", CT_SCATTER_SUM, -1, 1}, Mode{"mean", CT_SCATTER_MEAN, -1, 1},
                   Mode{"prod", CT_SCATTER_PROD, 0.5, 1.5}, Mode{"amax", CT_SCATTER_AMAX, -1, 1},
                   Mode{"amin", CT_SCATTER_AMIN, -1, 1}}) {
        for (bool include_self : {true, false}) {
            ct_scatter_reduction reduce = m.reduce;
            std::string name = std::string(m.name) + (include_self ? "_include_self" : "_exclude_self");
            add_grad_case({"scatter_reduce", name + "_dim0",
                           {uniform({4, 3}, CT_FLOAT32, m.lo, m.hi), integers({6, 3}, 0, 3),
                            uniform({7, 3}, CT_FLOAT32, m.lo, m.hi)},
                           {0, 2}, [=](const Inputs &in) { return reduce_into(in, 0, reduce, include_self); }});
            add_grad_case({"scatter_reduce_", name + "_negative_dim_in_place",
                           {transposed(uniform({3, 4}, CT_FLOAT32, m.lo, m.hi)), integers({3, 5}, 0, 4),
                            uniform({3, 5}, CT_FLOAT32, m.lo, m.hi)},
                           {0, 2}, [=](const Inputs &in) {
                               return in_place(in, [&](ct_tensor *c) {
                                   return ct_scatter_reduce_(c, -1, in[1], in[2], reduce, include_self);
                               });
                           }});
        }
    }
    // zeros in a product: a lone zero in src, a zero in self, and two zeros reduced into one position
    add_grad_case({"scatter_reduce", "prod_with_zeros",
                   {given({3}, {2, 0, 1.5}), index64({6}, {0, 0, 1, 2, 2, 2}), given({6}, {0, 3, 0.5, 0, -2, 0})},
                   {0, 2}, [](const Inputs &in) { return reduce_into(in, 0, CT_SCATTER_PROD, true); }});
    add_grad_case({"scatter_reduce", "prod_with_zeros_exclude_self",
                   {given({3}, {2, 0, 1.5}), index64({5}, {0, 0, 2, 2, 0}), given({5}, {0, 3, 0, -2, 4})}, {0, 2},
                   [](const Inputs &in) { return reduce_into(in, 0, CT_SCATTER_PROD, false); }});
    // src is self: backward reads the values from before the write
    add_grad_case({"scatter_reduce_", "prod_src_is_self", {uniform({4, 2}, CT_FLOAT32, 0.5, 1.5),
                                                           index64({3, 2}, {1, 0, 3, 3, 1, 2})},
                   {0}, [](const Inputs &in) {
                       return in_place(in, [&](ct_tensor *c) {
                           return ct_scatter_reduce_(c, 0, in[1], c, CT_SCATTER_PROD, true);
                       });
                   }});
    return 0;
}();

const int index_op_cases = [] {
    using namespace cth;
    add_grad_case({"index_add_", "dim0_duplicates_alpha", {uniform({4, 3}), integers({5}, 0, 4), uniform({5, 3})},
                   {0, 2}, [](const Inputs &in) {
                       return in_place(in, [&](ct_tensor *c) { return ct_index_add_(c, 0, in[1], in[2], 2.5); });
                   }});
    add_grad_case({"index_add_", "negative_dim_transposed_source", {uniform({2, 5}), integers({3}, 0, 5),
                                                                    transposed(uniform({2, 3}))},
                   {0, 2}, [](const Inputs &in) {
                       return in_place(in, [&](ct_tensor *c) { return ct_index_add_(c, -1, in[1], in[2], 1.0); });
                   }});
    add_grad_case({"index_copy_", "dim0", {uniform({5, 2}), index64({3}, {4, 0, 2}), uniform({3, 2})}, {0, 2},
                   [](const Inputs &in) {
                       return in_place(in, [&](ct_tensor *c) { return ct_index_copy_(c, 0, in[1], in[2]); });
                   }});
    add_grad_case({"index_copy_", "negative_dim_3d", {uniform({2, 4, 3}), index64({2}, {1, 2}), uniform({2, 4, 2})},
                   {0, 2}, [](const Inputs &in) {
                       return in_place(in, [&](ct_tensor *c) { return ct_index_copy_(c, -1, in[1], in[2]); });
                   }});
    add_grad_case({"index_copy_", "scalar_source", {uniform({4}), index64({1}, {2}), uniform({})}, {0, 2},
                   [](const Inputs &in) {
                       return in_place(in, [&](ct_tensor *c) { return ct_index_copy_(c, 0, in[1], in[2]); });
                   }});
    add_grad_case({"index_fill_", "dim1_negative_indices", {uniform({3, 4}), index64({2}, {-1, 1})}, {0},
                   [](const Inputs &in) {
                       return in_place(in, [&](ct_tensor *c) { return ct_index_fill_(c, 1, in[1], 7.0); });
                   }});
    add_grad_case({"index_fill_", "transposed_dim0", {transposed(uniform({4, 3})), index64({2}, {0, 2})}, {0},
                   [](const Inputs &in) {
                       return in_place(in, [&](ct_tensor *c) { return ct_index_fill_(c, 0, in[1], 0.0); });
                   }});
    return 0;
}();

class IndexingGrad : public testing::Test {
  protected:
    void SetUp() override { ct_scope_begin(); }
    void TearDown() override {
        ct_scope_end();
        EXPECT_TRUE(ct_is_grad_enabled());
    }
    ct_tensor *f64(std::vector<double> values, std::vector<int64_t> shape) {
        return ct_tensor_from_data(values.data(), (int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
    }
    ct_tensor *leaf(std::vector<double> values, std::vector<int64_t> shape) {
        ct_tensor *t = f64(std::move(values), std::move(shape));
        EXPECT_EQ(ct_set_requires_grad(t, true), CT_OK) << ct_last_error();
        return t;
    }
    ct_tensor *i64(std::vector<int64_t> values, std::vector<int64_t> shape) {
        return ct_tensor_from_data(values.data(), (int)shape.size(), shape.data(), CT_INT64, CT_DEVICE_CPU);
    }
    ct_tensor *ones(std::vector<int64_t> shape) {
        return ct_ones((int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
    }
};

} // namespace

// torch.gather's docs example, then its gradient: each input element gets the gradient of every output that read it.
TEST_F(IndexingGrad, GatherDocsExampleAccumulatesRepeatedReads) {
    ct_tensor *t = leaf({1, 2, 3, 4}, {2, 2});
    ct_tensor *y = ct_gather(t, 1, i64({0, 0, 1, 0}, {2, 2}));
    EXPECT_EQ(values_of(y), (std::vector<double>{1, 1, 4, 3}));
    ASSERT_EQ(ct_backward(y, f64({1, 2, 3, 4}, {2, 2}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(t)), (std::vector<double>{3, 0, 4, 3}));
}

TEST_F(IndexingGrad, ScatterZeroesOverwrittenPositionsAndGathersForSrc) {
    ct_tensor *self = leaf({1, 2, 3, 4, 5}, {5});
    ct_tensor *src = leaf({10, 20}, {2});
    ct_tensor *y = ct_scatter(self, 0, i64({4, 1}, {2}), src); // 1 20 3 4 10
    ASSERT_EQ(ct_backward(y, f64({1, 2, 3, 4, 5}, {5}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(self)), (std::vector<double>{1, 0, 3, 4, 0}));
    EXPECT_EQ(values_of(ct_grad(src)), (std::vector<double>{5, 2}));
}

// Ties of amax share the gradient evenly (PyTorch's rule): self's value and two src values equal the maximum.
TEST_F(IndexingGrad, ScatterReduceAmaxSplitsAmongThreeTies) {
    ct_tensor *self = leaf({1, 0}, {2});
    ct_tensor *src = leaf({1, 1, 0.5}, {3});
    ct_tensor *y = ct_scatter_reduce(self, 0, i64({0, 0, 1}, {3}), src, CT_SCATTER_AMAX, true); // [1, 0.5]
    EXPECT_EQ(values_of(y), (std::vector<double>{1, 0.5}));
    ASSERT_EQ(ct_backward(y, f64({3, 2}, {2}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(self)), (std::vector<double>{1, 0}));
    EXPECT_EQ(values_of(ct_grad(src)), (std::vector<double>{1, 1, 2}));
}

// Without include_self, self's value at a reduced position takes no part, even when it equals the result.
TEST_F(IndexingGrad, ScatterReduceAminExcludingSelfIgnoresSelfsTie) {
    ct_tensor *self = leaf({-2, 7}, {2});
    ct_tensor *src = leaf({-2, 3}, {2});
    ct_tensor *y = ct_scatter_reduce(self, 0, i64({0, 0}, {2}), src, CT_SCATTER_AMIN, false); // [-2, 7]
    ASSERT_EQ(ct_backward(y, f64({4, 5}, {2}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(self)), (std::vector<double>{0, 5}));
    EXPECT_EQ(values_of(ct_grad(src)), (std::vector<double>{4, 0}));
}

// prod: a lone zero gets the product of the others; two zeros at one position give every input 0.
TEST_F(IndexingGrad, ScatterReduceProdAtZeros) {
    ct_tensor *self = leaf({2, 2}, {2});
    ct_tensor *src = leaf({0, 5, 3, 0, 0, 4}, {6});
    ct_tensor *y = ct_scatter_reduce(self, 0, i64({0, 0, 0, 1, 1, 1}, {6}), src, CT_SCATTER_PROD, true);
    EXPECT_EQ(values_of(y), (std::vector<double>{0, 0}));
    ASSERT_EQ(ct_backward(y, ones({2}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(src)), (std::vector<double>{30, 0, 0, 0, 0, 0}));
    EXPECT_EQ(values_of(ct_grad(self)), (std::vector<double>{0, 0}));
}

TEST_F(IndexingGrad, ScatterReduceMeanDividesByTheCount) {
    ct_tensor *self = leaf({1, 1, 1}, {3});
    ct_tensor *src = leaf({2, 4, 6}, {3});
    ct_tensor *y = ct_scatter_reduce(self, 0, i64({0, 0, 2}, {3}), src, CT_SCATTER_MEAN, true); // counts 3, 1, 2
    ASSERT_EQ(ct_backward(y, f64({6, 6, 6}, {3}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(self)), (std::vector<double>{2, 6, 3}));
    EXPECT_EQ(values_of(ct_grad(src)), (std::vector<double>{2, 2, 3}));
}

TEST_F(IndexingGrad, MaskedSelectPutsTheGradientBackInOrder) {
    ct_tensor *x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
    ct_tensor *mask = ct_to_dtype(i64({1, 0, 1}, {3}), CT_BOOL); // broadcast over both rows
    ct_tensor *y = ct_masked_select(x, mask);
    EXPECT_EQ(values_of(y), (std::vector<double>{1, 3, 4, 6}));
    ASSERT_EQ(ct_backward(y, f64({10, 20, 30, 40}, {4}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(x)), (std::vector<double>{10, 0, 20, 30, 0, 40}));
}

TEST_F(IndexingGrad, GradFnNamesArePytorchs) {
    ct_tensor *x = leaf({1, 2, 3, 4}, {2, 2});
    ct_tensor *index = i64({0, 1, 1, 0}, {2, 2});
    ct_tensor *v = i64({1}, {1});
    EXPECT_STREQ(ct_grad_fn_name(ct_gather(x, 1, index)), "GatherBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_take_along_dim(x, index, 0)), "GatherBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_scatter(x, 1, index, x)), "ScatterBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_scatter_value(x, 1, index, 1.0)), "ScatterBackward1");
    EXPECT_STREQ(ct_grad_fn_name(ct_scatter_add(x, 1, index, x)), "ScatterAddBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_scatter_reduce(x, 1, index, x, CT_SCATTER_AMAX, true)), "ScatterReduceBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_index_select(x, 0, v)), "IndexSelectBackward0");
    EXPECT_STREQ(ct_grad_fn_name(ct_masked_select(x, ct_gt_scalar(x, 2))), "MaskedSelectBackward0");
    ct_tensor *c = ct_clone(x);
    ASSERT_EQ(ct_index_add_(c, 0, v, ct_ones(2, SHAPE(1, 2), CT_FLOAT64, CT_DEVICE_CPU), 1.0), CT_OK);
    EXPECT_STREQ(ct_grad_fn_name(c), "IndexAddBackward0");
    ASSERT_EQ(ct_index_copy_(c, 0, v, ct_narrow(x, 0, 0, 1)), CT_OK);
    EXPECT_STREQ(ct_grad_fn_name(c), "IndexCopyBackward0");
    ASSERT_EQ(ct_index_fill_(c, 1, v, 0.0), CT_OK);
    EXPECT_STREQ(ct_grad_fn_name(c), "IndexFillBackward0");
    ASSERT_EQ(ct_scatter_(c, 1, index, x), CT_OK);
    EXPECT_STREQ(ct_grad_fn_name(c), "ScatterBackward0");
}

// PyTorch: "a leaf Variable that requires grad is being used in an in-place operation." The leaf is left as it was.
TEST_F(IndexingGrad, InPlaceOnALeafThatRequiresGradFails) {
    ct_tensor *x = leaf({1, 2, 3, 4}, {2, 2});
    ct_tensor *index = i64({0, 1}, {1, 2});
    ct_tensor *src = f64({9, 9}, {1, 2});
    EXPECT_EQ(ct_scatter_(x, 0, index, src), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "a leaf Variable that requires grad is being used in an in-place operation.");
    EXPECT_EQ(ct_scatter_add_(x, 0, index, src), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "ct_scatter_add_: a leaf Variable that requires grad");
    EXPECT_EQ(ct_scatter_reduce_(x, 0, index, src, CT_SCATTER_PROD, true), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "a leaf Variable that requires grad is being used in an in-place operation.");
    EXPECT_EQ(ct_scatter_value_(x, 0, index, 1.0), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "a leaf Variable that requires grad is being used in an in-place operation.");
    ct_tensor *v = i64({1}, {1});
    EXPECT_EQ(ct_index_add_(x, 0, v, src, 1.0), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "ct_index_add_: a leaf Variable that requires grad is being used in an in-place");
    EXPECT_EQ(ct_index_copy_(x, 0, v, src), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "a leaf Variable that requires grad is being used in an in-place operation.");
    EXPECT_EQ(ct_index_fill_(x, 1, v, 0.0), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "ct_index_fill_: a leaf Variable that requires grad is being used in an in-place");
    EXPECT_EQ(values_of(x), (std::vector<double>{1, 2, 3, 4}));
    // allowed in grad mode off (torch.no_grad), as an optimizer step does
    ct_no_grad_begin();
    EXPECT_EQ(ct_index_fill_(x, 1, v, 0.0), CT_OK) << ct_last_error();
    ct_no_grad_end();
    EXPECT_EQ(values_of(x), (std::vector<double>{1, 0, 3, 0}));
    EXPECT_TRUE(ct_is_leaf(x));
}

TEST_F(IndexingGrad, RecordedInPlaceWriteIntoAViewIsNotImplemented) {
    ct_tensor *base = ct_clone(leaf({1, 2, 3, 4}, {2, 2}));
    ct_tensor *row = ct_select(base, 0, 1);
    EXPECT_EQ(ct_index_fill_(row, 0, i64({0}, {1}), 0.0), CT_ERR_NOT_IMPLEMENTED);
    EXPECT_ERROR(CT_ERR_NOT_IMPLEMENTED, "ct_index_fill_: this in-place write into a view is not differentiable yet");
    // a view of a tensor that needs no grad, written with a src that does not either: nothing to record, allowed
    ct_tensor *plain = f64({1, 2, 3, 4}, {2, 2});
    EXPECT_EQ(ct_index_fill_(ct_select(plain, 0, 1), 0, i64({0}, {1}), 0.0), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(plain), (std::vector<double>{1, 2, 0, 4}));
}

// A src that requires grad makes a plain self require grad: self's history now includes the write.
TEST_F(IndexingGrad, InPlaceWriteOfASrcThatRequiresGradIsRecordedOnSelf) {
    ct_tensor *self = ct_zeros(1, SHAPE(3), CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *src = leaf({5, 6}, {2});
    ASSERT_EQ(ct_index_add_(self, 0, i64({2, 2}, {2}), src, -2.0), CT_OK) << ct_last_error();
    EXPECT_TRUE(ct_requires_grad(self));
    EXPECT_FALSE(ct_is_leaf(self));
    ASSERT_EQ(ct_backward(self, f64({1, 2, 3}, {3}), false), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(ct_grad(src)), (std::vector<double>{-6, -6}));
}

// The index is saved: changing it in place before backward is PyTorch's version-counter error.
TEST_F(IndexingGrad, IndexChangedAfterTheOpIsAnError) {
    ct_tensor *x = leaf({1, 2, 3}, {3});
    ct_tensor *index = i64({0, 2}, {2});
    ct_tensor *y = ct_gather(x, 0, index);
    ASSERT_EQ(ct_fill_(index, 1), CT_OK);
    EXPECT_EQ(ct_backward(y, ones({2}), false), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "one of the variables needed for gradient computation has been modified by an inplace "
                               "operation");
}
