// Tests of the shape family (ctorch/shape.h): op cases for cat, stack, split, split_with_sizes, chunk, repeat, flip,
// constant_pad_nd and pad against float64 references computed here from the inputs' values; hand-computed examples
// from the PyTorch docs; every error with PyTorch's words; and copy_ cases for the tiled (transposing) copy path.
//
// Shape ops only move values (and cat/stack convert them to the promoted dtype exactly), so every case demands an
// exact match: max_nmse = 0.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "harness.h"

namespace {

using cth::Ref;

// Short-lived arrays for the C API's (n, pointer) arguments: S({2, 3}).data() lives to the end of the call.
std::vector<int64_t> S(std::initializer_list<int64_t> v) { return v; }
std::vector<int> I(std::initializer_list<int> v) { return v; }

// ---- a small row-major index helper for the references ------------------------------------------------------------

std::vector<int64_t> strides_of(const std::vector<int64_t> &shape) {
    std::vector<int64_t> s(shape.size(), 1);
    for (int d = (int)shape.size() - 2; d >= 0; d--) s[(size_t)d] = s[(size_t)d + 1] * shape[(size_t)d + 1];
    return s;
}

int64_t numel_of(const std::vector<int64_t> &shape) {
    return std::accumulate(shape.begin(), shape.end(), (int64_t)1, std::multiplies<int64_t>());
}

// Calls f(out_index, flat) for every element of shape, in row-major order.
template <typename F> void for_each_index(const std::vector<int64_t> &shape, F f) {
    int64_t n = numel_of(shape);
    std::vector<int64_t> idx(shape.size(), 0);
    for (int64_t flat = 0; flat < n; flat++) {
        f(idx, flat);
        for (int d = (int)shape.size() - 1; d >= 0; d--) {
            if (++idx[(size_t)d] < shape[(size_t)d]) break;
            idx[(size_t)d] = 0;
        }
    }
}

double value_at(const Ref &r, const std::vector<int64_t> &idx) {
    auto s = strides_of(r.shape);
    int64_t flat = 0;
    for (size_t d = 0; d < idx.size(); d++) flat += idx[d] * s[d];
    return r.values[(size_t)flat];
}

// ---- references ------------------------------------------------------------------------------------------------------

Ref cat_ref(const std::vector<Ref> &in, int dim) {
    std::vector<const Ref *> parts;
    for (const auto &r : in)
        if (!(r.shape.size() == 1 && r.shape[0] == 0)) parts.push_back(&r);
    if (parts.empty()) return Ref{{0}, {}};
    int nd = (int)parts[0]->shape.size();
    if (dim < 0) dim += nd;
    Ref out{parts[0]->shape, {}};
    out.shape[(size_t)dim] = 0;
    for (auto *p : parts) out.shape[(size_t)dim] += p->shape[(size_t)dim];
    out.values.resize((size_t)numel_of(out.shape));
    for_each_index(out.shape, [&](const std::vector<int64_t> &idx, int64_t flat) {
        int64_t i = idx[(size_t)dim];
        for (auto *p : parts) {
            if (i < p->shape[(size_t)dim]) {
                auto at = idx;
                at[(size_t)dim] = i;
                out.values[(size_t)flat] = value_at(*p, at);
                return;
            }
            i -= p->shape[(size_t)dim];
        }
    });
    return out;
}

Ref stack_ref(const std::vector<Ref> &in, int dim) {
    std::vector<Ref> parts = in;
    int nd = (int)in[0].shape.size() + 1;
    if (dim < 0) dim += nd;
    for (auto &p : parts) p.shape.insert(p.shape.begin() + dim, 1);
    return cat_ref(parts, dim);
}

Ref repeat_ref(const Ref &in, std::vector<int64_t> repeats) {
    std::vector<int64_t> src = in.shape;
    while (src.size() < repeats.size()) src.insert(src.begin(), 1);
    Ref padded{src, in.values};
    Ref out{src, {}};
    for (size_t d = 0; d < src.size(); d++) out.shape[d] *= repeats[d];
    out.values.resize((size_t)numel_of(out.shape));
    for_each_index(out.shape, [&](const std::vector<int64_t> &idx, int64_t flat) {
        auto at = idx;
        for (size_t d = 0; d < at.size(); d++) at[d] %= src[d];
        out.values[(size_t)flat] = value_at(padded, at);
    });
    return out;
}

Ref flip_ref(const Ref &in, std::vector<int> dims) {
    Ref out{in.shape, std::vector<double>(in.values.size())};
    for_each_index(out.shape, [&](const std::vector<int64_t> &idx, int64_t flat) {
        auto at = idx;
        for (int d : dims) {
            size_t w = (size_t)(d < 0 ? d + (int)in.shape.size() : d);
            at[w] = in.shape[w] - 1 - at[w];
        }
        out.values[(size_t)flat] = value_at(in, at);
    });
    return out;
}

Ref pad_ref(const Ref &in, std::vector<int64_t> pad, double value) {
    Ref out{in.shape, {}};
    size_t nd = in.shape.size();
    for (size_t k = 0; k < pad.size() / 2; k++) out.shape[nd - 1 - k] += pad[2 * k] + pad[2 * k + 1];
    out.values.resize((size_t)numel_of(out.shape));
    for_each_index(out.shape, [&](const std::vector<int64_t> &idx, int64_t flat) {
        auto at = idx;
        bool inside = true;
        for (size_t k = 0; k < pad.size() / 2; k++) {
            size_t d = nd - 1 - k;
            at[d] -= pad[2 * k];
            inside = inside && at[d] >= 0 && at[d] < in.shape[d];
        }
        out.values[(size_t)flat] = inside ? value_at(in, at) : value;
    });
    return out;
}

// A piece of a split: the slab [start, start + len) of in along dim.
Ref slab_ref(const Ref &in, int dim, int64_t start, int64_t len) {
    Ref out{in.shape, {}};
    out.shape[(size_t)dim] = len;
    out.values.resize((size_t)numel_of(out.shape));
    for_each_index(out.shape, [&](const std::vector<int64_t> &idx, int64_t flat) {
        auto at = idx;
        at[(size_t)dim] += start;
        out.values[(size_t)flat] = value_at(in, at);
    });
    return out;
}

// ---- runners --------------------------------------------------------------------------------------------------------

std::function<ct_tensor *(const cth::Inputs &)> run_cat(int dim) {
    return [dim](const cth::Inputs &in) { return ct_cat((int)in.size(), in.data(), dim); };
}

std::function<ct_tensor *(const cth::Inputs &)> run_stack(int dim) {
    return [dim](const cth::Inputs &in) { return ct_stack((int)in.size(), in.data(), dim); };
}

// The pieces of a split, stacked back along a new leading dim so the harness can compare them all at once (every
// piece must have the same shape for this); also checks that they are views of the input.
ct_tensor *stack_pieces(ct_tensor **pieces, int count, const ct_tensor *input) {
    if (!pieces) return nullptr;
    for (int i = 0; i < count; i++) EXPECT_TRUE(ct_shares_storage(pieces[i], input)) << "piece " << i << " is a copy";
    ct_tensor *out = ct_stack(count, pieces, 0);
    ct_tensors_free(pieces, count);
    return out;
}

Ref pieces_ref(const Ref &in, int dim, int64_t piece, int64_t count) {
    std::vector<Ref> parts;
    for (int64_t i = 0; i < count; i++) parts.push_back(slab_ref(in, dim, i * piece, piece));
    return stack_ref(parts, 0);
}

const int cases_registered = [] {
    using namespace cth;
    auto exact = [](OpCase c) {
        c.max_nmse = 0;
        return add_case(std::move(c));
    };
    // cat
    exact({"cat", "dim0_f32", {uniform({2, 3}), uniform({4, 3})}, run_cat(0),
           [](const std::vector<Ref> &in) { return cat_ref(in, 0); }});
    exact({"cat", "dim1_three_inputs", {uniform({2, 3}), uniform({2, 1}), uniform({2, 5})}, run_cat(1),
           [](const std::vector<Ref> &in) { return cat_ref(in, 1); }});
    exact({"cat", "negative_dim_3d", {normal({2, 3, 4}), normal({2, 3, 2})}, run_cat(-1),
           [](const std::vector<Ref> &in) { return cat_ref(in, -1); }});
    exact({"cat", "transposed_inputs", {transposed(uniform({5, 6})), uniform({5, 2})}, run_cat(1),
           [](const std::vector<Ref> &in) { return cat_ref(in, 1); }});
    {
        OpCase c{"cat", "promotes_int64_and_f32", {integers({3, 2}, -50, 50), uniform({1, 2})}, run_cat(0),
                 [](const std::vector<Ref> &in) { return cat_ref(in, 0); }};
        c.expected_dtype = CT_FLOAT32;
        exact(c);
    }
    {
        OpCase c{"cat", "promotes_bool_uint8_int32",
                 {bools({2, 2}), integers({2, 3}, 0, 256, CT_UINT8), integers({2, 1}, -9, 9, CT_INT32)}, run_cat(1),
                 [](const std::vector<Ref> &in) { return cat_ref(in, 1); }};
        c.expected_dtype = CT_INT32;
        exact(c);
    }
    exact({"cat", "skips_1d_empty", {uniform({0}), uniform({2, 3}), uniform({0}), uniform({1, 3})}, run_cat(0),
           [](const std::vector<Ref> &in) { return cat_ref(in, 0); }});
    exact({"cat", "zero_size_along_dim", {uniform({2, 0, 3}), uniform({2, 4, 3})}, run_cat(1),
           [](const std::vector<Ref> &in) { return cat_ref(in, 1); }});
    exact({"cat", "int64_large_parallel", {integers({300, 200}, -1000, 1000), integers({300, 300}, -1000, 1000)},
           run_cat(1), [](const std::vector<Ref> &in) { return cat_ref(in, 1); }});
    exact({"cat", "f64_dim0_large", {normal({2000, 300}, CT_FLOAT64), normal({10, 300}, CT_FLOAT64)}, run_cat(0),
           [](const std::vector<Ref> &in) { return cat_ref(in, 0); }});
    {
        // more inputs than one batched launch takes (CT__CAT_BATCH = 64)
        std::vector<InputSpec> many;
        for (int i = 0; i < 70; i++) many.push_back(arange({2, 1 + i % 3}, CT_FLOAT32, 100.0 * i));
        exact({"cat", "seventy_inputs", many, run_cat(1), [](const std::vector<Ref> &in) { return cat_ref(in, 1); }});
    }
    // stack
    exact({"stack", "dim0", {uniform({2, 3}), uniform({2, 3}), uniform({2, 3})}, run_stack(0),
           [](const std::vector<Ref> &in) { return stack_ref(in, 0); }});
    exact({"stack", "last_dim_negative", {uniform({2, 3}), transposed(uniform({2, 3}))}, run_stack(-1),
           [](const std::vector<Ref> &in) { return stack_ref(in, -1); }});
    {
        OpCase c{"stack", "promotes_int32_f64", {integers({4}, -5, 5, CT_INT32), normal({4}, CT_FLOAT64)}, run_stack(1),
                 [](const std::vector<Ref> &in) { return stack_ref(in, 1); }};
        c.expected_dtype = CT_FLOAT64;
        exact(c);
    }
    exact({"stack", "scalars_0d", {uniform({}), uniform({}), uniform({})}, run_stack(0),
           [](const std::vector<Ref> &in) { return stack_ref(in, 0); }});
    // split, split_with_sizes, chunk (pieces of equal size are stacked back for the comparison)
    exact({"split", "even_pieces_dim1",
           {uniform({3, 8})},
           [](const Inputs &in) {
               int n = 0;
               ct_tensor **p = ct_split(in[0], 2, 1, &n);
               EXPECT_EQ(n, 4);
               return stack_pieces(p, n, in[0]);
           },
           [](const std::vector<Ref> &in) { return pieces_ref(in[0], 1, 2, 4); }});
    exact({"split", "last_piece_shorter",
           {arange({7, 2})},
           [](const Inputs &in) -> ct_tensor * {
               int n = 0;
               ct_tensor **p = ct_split(in[0], 3, 0, &n);
               if (!p) return nullptr;
               EXPECT_EQ(n, 3);
               EXPECT_EQ(ct_size(p[2], 0), 1);
               ct_tensor *last = ct_clone(p[2]);
               ct_tensors_free(p, n);
               return last;
           },
           [](const std::vector<Ref> &in) { return slab_ref(in[0], 0, 6, 1); }});
    exact({"split_with_sizes", "sizes_2_0_3",
           {normal({2, 5}, CT_FLOAT64)},
           [](const Inputs &in) -> ct_tensor * {
               int n = 0;
               int64_t sizes[3] = {2, 0, 3};
               ct_tensor **p = ct_split_with_sizes(in[0], 3, sizes, -1, &n);
               if (!p) return nullptr;
               EXPECT_EQ(n, 3);
               EXPECT_EQ(ct_size(p[1], 1), 0);
               ct_tensor *out = ct_cat(n, p, 1); // the pieces laid end to end give the input back
               for (int i = 0; i < n; i++) EXPECT_TRUE(ct_shares_storage(p[i], in[0]));
               ct_tensors_free(p, n);
               return out;
           },
           [](const std::vector<Ref> &in) { return in[0]; }});
    exact({"split_with_sizes", "transposed_input",
           {transposed(uniform({4, 6}))},
           [](const Inputs &in) -> ct_tensor * {
               int n = 0;
               int64_t sizes[2] = {3, 3};
               ct_tensor **p = ct_split_with_sizes(in[0], 2, sizes, 1, &n);
               return stack_pieces(p, n, in[0]);
           },
           [](const std::vector<Ref> &in) { return pieces_ref(in[0], 1, 3, 2); }});
    exact({"chunk", "three_chunks_dim0",
           {integers({6, 2}, 0, 100)},
           [](const Inputs &in) {
               int n = 0;
               ct_tensor **p = ct_chunk(in[0], 3, 0, &n);
               EXPECT_EQ(n, 3);
               return stack_pieces(p, n, in[0]);
           },
           [](const std::vector<Ref> &in) { return pieces_ref(in[0], 0, 2, 3); }});
    // repeat
    exact({"repeat", "docs_example_4x2", {given({3}, {1, 2, 3})},
           [](const Inputs &in) {
               int64_t r[2] = {4, 2};
               return ct_repeat(in[0], 2, r);
           },
           [](const std::vector<Ref> &in) { return repeat_ref(in[0], {4, 2}); }});
    exact({"repeat", "3d_with_leading_dim", {uniform({2, 3, 2})},
           [](const Inputs &in) {
               int64_t r[4] = {2, 1, 3, 2};
               return ct_repeat(in[0], 4, r);
           },
           [](const std::vector<Ref> &in) { return repeat_ref(in[0], {2, 1, 3, 2}); }});
    exact({"repeat", "transposed_int32", {transposed(integers({3, 5}, -100, 100, CT_INT32))},
           [](const Inputs &in) {
               int64_t r[2] = {2, 3};
               return ct_repeat(in[0], 2, r);
           },
           [](const std::vector<Ref> &in) { return repeat_ref(in[0], {2, 3}); }});
    exact({"repeat", "zero_repeat", {uniform({2, 3})},
           [](const Inputs &in) {
               int64_t r[2] = {0, 2};
               return ct_repeat(in[0], 2, r);
           },
           [](const std::vector<Ref> &in) { return repeat_ref(in[0], {0, 2}); }});
    exact({"repeat", "large_bool", {bools({64, 33})},
           [](const Inputs &in) {
               int64_t r[2] = {3, 40};
               return ct_repeat(in[0], 2, r);
           },
           [](const std::vector<Ref> &in) { return repeat_ref(in[0], {3, 40}); }});
    // flip
    exact({"flip", "docs_example_dims_0_1", {arange({2, 2, 2})},
           [](const Inputs &in) {
               int dims[2] = {0, 1};
               return ct_flip(in[0], 2, dims);
           },
           [](const std::vector<Ref> &in) { return flip_ref(in[0], {0, 1}); }});
    exact({"flip", "last_dim_f64", {normal({3, 7}, CT_FLOAT64)},
           [](const Inputs &in) {
               int dims[1] = {-1};
               return ct_flip(in[0], 1, dims);
           },
           [](const std::vector<Ref> &in) { return flip_ref(in[0], {-1}); }});
    exact({"flip", "transposed_large", {transposed(uniform({130, 70}))},
           [](const Inputs &in) {
               int dims[2] = {1, 0};
               return ct_flip(in[0], 2, dims);
           },
           [](const std::vector<Ref> &in) { return flip_ref(in[0], {1, 0}); }});
    exact({"flip", "uint8_middle_dim", {integers({2, 5, 3}, 0, 256, CT_UINT8)},
           [](const Inputs &in) {
               int dims[1] = {1};
               return ct_flip(in[0], 1, dims);
           },
           [](const std::vector<Ref> &in) { return flip_ref(in[0], {1}); }});
    // constant_pad_nd and pad
    exact({"constant_pad_nd", "last_dim_both_sides", {uniform({2, 3})},
           [](const Inputs &in) {
               int64_t pad[2] = {1, 2};
               return ct_constant_pad_nd(in[0], 2, pad, 7.5);
           },
           [](const std::vector<Ref> &in) { return pad_ref(in[0], {1, 2}, 7.5); }});
    exact({"constant_pad_nd", "two_dims_with_crop", {normal({4, 5, 6}, CT_FLOAT64)},
           [](const Inputs &in) {
               int64_t pad[4] = {-1, 2, 3, -2};
               return ct_constant_pad_nd(in[0], 4, pad, -1);
           },
           [](const std::vector<Ref> &in) { return pad_ref(in[0], {-1, 2, 3, -2}, -1); }});
    exact({"constant_pad_nd", "crop_only", {transposed(uniform({5, 4}))},
           [](const Inputs &in) {
               int64_t pad[4] = {-1, -1, 0, -3};
               return ct_constant_pad_nd(in[0], 4, pad, 0);
           },
           [](const std::vector<Ref> &in) { return pad_ref(in[0], {-1, -1, 0, -3}, 0); }});
    exact({"constant_pad_nd", "int64_value_truncates", {integers({3}, -5, 5)},
           [](const Inputs &in) {
               int64_t pad[2] = {2, 0};
               return ct_constant_pad_nd(in[0], 2, pad, 3.75);
           },
           [](const std::vector<Ref> &in) { return pad_ref(in[0], {2, 0}, 3); }});
    exact({"constant_pad_nd", "empty_input_padded", {uniform({2, 0})},
           [](const Inputs &in) {
               int64_t pad[2] = {1, 1};
               return ct_constant_pad_nd(in[0], 2, pad, 4);
           },
           [](const std::vector<Ref> &in) { return pad_ref(in[0], {1, 1}, 4); }});
    exact({"pad", "constant_mode_4d", {uniform({2, 2, 3, 3})},
           [](const Inputs &in) {
               int64_t pad[4] = {1, 1, 2, 0};
               return ct_pad(in[0], 4, pad, "constant", 0.5);
           },
           [](const std::vector<Ref> &in) { return pad_ref(in[0], {1, 1, 2, 0}, 0.5); }});
    // copy_: the tiled transposing path of the strided copy, for every element size and a converting copy
    auto copy_into = [](ct_dtype dtype) {
        return [dtype](const Inputs &in) -> ct_tensor * {
            ct_tensor *out = ct_empty(ct_dim(in[0]), ct_shape(in[0]), dtype, ct_tensor_device(in[0]));
            if (out && ct_copy_(out, in[0]) != CT_OK) ct_release(out), out = nullptr;
            return out;
        };
    };
    auto same = [](const std::vector<Ref> &in) { return in[0]; };
    exact({"copy_", "tiled_transpose_f32_odd", {transposed(uniform({67, 45}))}, copy_into(CT_FLOAT32), same});
    exact({"copy_", "tiled_transpose_f64_batched", {transposed(normal({3, 40, 37}, CT_FLOAT64))}, copy_into(CT_FLOAT64),
           same});
    exact({"copy_", "tiled_transpose_uint8", {transposed(integers({50, 70}, 0, 256, CT_UINT8))}, copy_into(CT_UINT8),
           same});
    exact({"copy_", "tiled_transpose_bool", {transposed(bools({33, 65}))}, copy_into(CT_BOOL), same});
    exact({"copy_", "tiled_transpose_int32_to_f64", {transposed(integers({64, 48}, -1000, 1000, CT_INT32))},
           copy_into(CT_FLOAT64), same});
    exact({"copy_", "tiled_transpose_parallel_int64", {transposed(integers({2, 300, 260}, -9, 9))},
           copy_into(CT_INT64), same});
    exact({"copy_", "permuted_4d",
           {normal({4, 5, 6, 7})},
           [](const Inputs &in) -> ct_tensor * {
               int perm[4] = {3, 1, 0, 2};
               ct_tensor *p = ct_permute(in[0], 4, perm);
               ct_tensor *c = ct_contiguous(p);
               ct_release(p);
               return c;
           },
           [](const std::vector<Ref> &in) {
               Ref out{{7, 5, 4, 6}, {}};
               for_each_index(out.shape, [&](const std::vector<int64_t> &i, int64_t) {
                   out.values.push_back(value_at(in[0], {i[2], i[1], i[3], i[0]}));
               });
               return out;
           }});
    return 0;
}();

// ---- hand-computed examples (the PyTorch docs') --------------------------------------------------------------------

std::vector<double> values_of(const ct_tensor *t) {
    cth::Ref r = cth::to_ref(t);
    return r.values;
}

ct_tensor *from(std::vector<int64_t> shape, std::vector<double> v, ct_dtype dtype = CT_FLOAT32) {
    ct_tensor *d = ct_tensor_from_data(v.data(), (int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *t = ct_to_dtype(d, dtype);
    ct_release(d);
    return t;
}

TEST(ShapeExamples, CatDocs) {
    ct_scope_begin();
    ct_tensor *x = from({2, 3}, {1, 2, 3, 4, 5, 6});
    ct_tensor *three[3] = {x, x, x};
    ct_tensor *c0 = ct_cat(3, three, 0), *c1 = ct_cat(3, three, 1);
    ASSERT_TRUE(c0 && c1) << ct_last_error();
    EXPECT_EQ(ct_size(c0, 0), 6);
    EXPECT_EQ(values_of(c1), (std::vector<double>{1, 2, 3, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 4, 5, 6}));
    ct_scope_end();
}

TEST(ShapeExamples, CatOfOnlyEmptyOneDTensorsIsEmpty) {
    ct_scope_begin();
    ct_tensor *e = from({0}, {}, CT_INT64), *f = from({0}, {}, CT_FLOAT64);
    ct_tensor *two[2] = {e, f};
    ct_tensor *c = ct_cat(2, two, 5); // the dim is not checked when every input is skipped, as in PyTorch
    ASSERT_TRUE(c) << ct_last_error();
    EXPECT_EQ(ct_dim(c), 1);
    EXPECT_EQ(ct_numel(c), 0);
    EXPECT_EQ(ct_tensor_dtype(c), CT_FLOAT64);
    ct_scope_end();
}

TEST(ShapeExamples, StackDocs) {
    ct_scope_begin();
    ct_tensor *a = from({3}, {1, 2, 3}), *b = from({3}, {4, 5, 6});
    ct_tensor *two[2] = {a, b};
    ct_tensor *s0 = ct_stack(2, two, 0), *s1 = ct_stack(2, two, 1);
    ASSERT_TRUE(s0 && s1) << ct_last_error();
    EXPECT_EQ(values_of(s0), (std::vector<double>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(values_of(s1), (std::vector<double>{1, 4, 2, 5, 3, 6}));
    EXPECT_EQ(ct_size(s1, 0), 3);
    ct_scope_end();
}

TEST(ShapeExamples, SplitDocsReturnsViews) {
    ct_scope_begin();
    ct_tensor *a = ct_arange(0, 10, 1, CT_INT64, CT_DEVICE_CPU);
    ct_tensor *v = ct_view(a, 2, S({5, 2}).data());
    int n = 0;
    ct_tensor **p = ct_split(v, 2, 0, &n);
    ASSERT_TRUE(p) << ct_last_error();
    ASSERT_EQ(n, 3);
    EXPECT_EQ(values_of(p[0]), (std::vector<double>{0, 1, 2, 3}));
    EXPECT_EQ(values_of(p[2]), (std::vector<double>{8, 9}));
    ASSERT_EQ(ct_fill_(p[1], -1), CT_OK); // a view: writing through it changes the input
    EXPECT_EQ(values_of(a)[4], -1);
    ct_tensors_free(p, n);
    p = ct_split_with_sizes(v, 2, S({1, 4}).data(), 0, &n);
    ASSERT_TRUE(p) << ct_last_error();
    EXPECT_EQ(n, 2);
    EXPECT_EQ(ct_size(p[1], 0), 4);
    ct_tensors_free(p, n);
    ct_scope_end();
}

TEST(ShapeExamples, SplitZeroSizeDimGivesOneEmptyPiece) {
    ct_scope_begin();
    ct_tensor *e = ct_zeros(2, S({0, 3}).data(), CT_FLOAT32, CT_DEVICE_CPU);
    int n = -1;
    ct_tensor **p = ct_split(e, 0, 0, &n);
    ASSERT_TRUE(p) << ct_last_error();
    EXPECT_EQ(n, 1);
    EXPECT_EQ(ct_size(p[0], 0), 0);
    ct_tensors_free(p, n);
    ct_scope_end();
}

TEST(ShapeExamples, ChunkCountsAsPyTorch) {
    ct_scope_begin();
    ct_tensor *a = ct_arange(0, 11, 1, CT_FLOAT32, CT_DEVICE_CPU);
    int n = 0;
    ct_tensor **p = ct_chunk(a, 6, 0, &n); // pieces of 2: only 6 needed -> 6 (2,2,2,2,2,1)
    ASSERT_TRUE(p) << ct_last_error();
    EXPECT_EQ(n, 6);
    EXPECT_EQ(ct_size(p[5], 0), 1);
    ct_tensors_free(p, n);
    ct_tensor *b = ct_arange(0, 12, 1, CT_FLOAT32, CT_DEVICE_CPU);
    p = ct_chunk(b, 5, 0, &n); // pieces of 3: 4 of them cover 12, so 4 come back, as torch.chunk
    ASSERT_TRUE(p) << ct_last_error();
    EXPECT_EQ(n, 4);
    ct_tensors_free(p, n);
    ct_tensor *e = ct_zeros(1, S({0}).data(), CT_FLOAT32, CT_DEVICE_CPU);
    p = ct_chunk(e, 3, 0, &n); // a size-0 dim gives `chunks` empty pieces
    ASSERT_TRUE(p) << ct_last_error();
    EXPECT_EQ(n, 3);
    ct_tensors_free(p, n);
    ct_scope_end();
}

TEST(ShapeExamples, RepeatDocs) {
    ct_scope_begin();
    ct_tensor *x = from({3}, {1, 2, 3});
    ct_tensor *r = ct_repeat(x, 2, S({4, 2}).data());
    ASSERT_TRUE(r) << ct_last_error();
    EXPECT_EQ(ct_size(r, 0), 4);
    EXPECT_EQ(ct_size(r, 1), 6);
    std::vector<double> row = {1, 2, 3, 1, 2, 3}, expected;
    for (int i = 0; i < 4; i++) expected.insert(expected.end(), row.begin(), row.end());
    EXPECT_EQ(values_of(r), expected);
    ct_tensor *r3 = ct_repeat(x, 3, S({4, 2, 1}).data());
    ASSERT_TRUE(r3) << ct_last_error();
    EXPECT_EQ(ct_dim(r3), 3);
    EXPECT_EQ(ct_size(r3, 0), 4);
    EXPECT_EQ(ct_size(r3, 1), 2);
    EXPECT_EQ(ct_size(r3, 2), 3);
    ct_scope_end();
}

TEST(ShapeExamples, FlipDocs) {
    ct_scope_begin();
    ct_tensor *x = ct_view(ct_arange(0, 8, 1, CT_FLOAT32, CT_DEVICE_CPU), 3, S({2, 2, 2}).data());
    ct_tensor *f = ct_flip(x, 2, I({0, 1}).data());
    ASSERT_TRUE(f) << ct_last_error();
    EXPECT_EQ(values_of(f), (std::vector<double>{6, 7, 4, 5, 2, 3, 0, 1}));
    ct_scope_end();
}

TEST(ShapeExamples, PadDocs) {
    ct_scope_begin();
    ct_tensor *t = ct_ones(4, S({3, 3, 4, 2}).data(), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *p1 = ct_pad(t, 2, S({1, 1}).data(), NULL, 0);
    ct_tensor *p2 = ct_pad(t, 4, S({1, 1, 2, 2}).data(), "constant", 0);
    ct_tensor *p3 = ct_pad(t, 6, S({0, 1, 2, 1, 3, 3}).data(), "constant", 0);
    ASSERT_TRUE(p1 && p2 && p3) << ct_last_error();
    EXPECT_EQ(ct_size(p1, 3), 4);
    EXPECT_EQ(ct_size(p2, 2), 8);
    EXPECT_EQ(ct_size(p3, 1), 9);
    EXPECT_EQ(ct_size(p3, 2), 7);
    EXPECT_EQ(ct_size(p3, 3), 3);
    std::vector<double> v = values_of(p1);
    EXPECT_EQ(v[0], 0);
    EXPECT_EQ(v[1], 1);
    EXPECT_EQ(v[3], 0);
    ct_scope_end();
}

// ---- errors ----------------------------------------------------------------------------------------------------------

void expect_error(ct_status expected, const char *words) {
    EXPECT_EQ(ct_last_status(), expected) << ct_last_error();
    EXPECT_NE(std::string(ct_last_error()).find(words), std::string::npos) << ct_last_error();
}

TEST(ShapeErrors, CatEmptyListZeroDimAndShapes) {
    ct_scope_begin();
    EXPECT_EQ(ct_cat(0, nullptr, 0), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "expected a non-empty list of Tensors");
    ct_tensor *a = ct_zeros(2, S({2, 3}).data(), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *b = ct_zeros(2, S({2, 4}).data(), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *c = ct_zeros(3, S({2, 3, 1}).data(), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *s = ct_zeros(0, nullptr, CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *ab[2] = {a, b}, *ac[2] = {a, c}, *as[2] = {a, s}, *anull[2] = {a, nullptr};
    EXPECT_EQ(ct_cat(2, ab, 0), nullptr);
    expect_error(CT_ERR_SHAPE,
                 "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for tensor number 1 "
                 "in the list.");
    EXPECT_EQ(ct_cat(2, ac, 0), nullptr);
    expect_error(CT_ERR_SHAPE, "Tensors must have same number of dimensions: got 2 and 3");
    EXPECT_EQ(ct_cat(2, as, 0), nullptr);
    expect_error(CT_ERR_SHAPE, "zero-dimensional tensor (at position 1) cannot be concatenated");
    EXPECT_EQ(ct_cat(2, ab, 2), nullptr);
    expect_error(CT_ERR_INDEX, "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    ct_clear_error();
    EXPECT_EQ(ct_cat(2, anull, 0), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "tensors");
    ct_scope_end();
    ct_clear_error(); // leave no error pending for the tests that follow
}

TEST(ShapeErrors, StackNeedsEqualSizes) {
    ct_scope_begin();
    EXPECT_EQ(ct_stack(0, nullptr, 0), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "stack expects a non-empty TensorList");
    ct_tensor *a = ct_zeros(2, S({2, 3}).data(), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *b = ct_zeros(2, S({2, 4}).data(), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *ab[2] = {a, b}, *aa[2] = {a, a};
    EXPECT_EQ(ct_stack(2, ab, 0), nullptr);
    expect_error(CT_ERR_SHAPE, "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at entry 1");
    EXPECT_EQ(ct_stack(2, aa, 3), nullptr);
    expect_error(CT_ERR_INDEX, "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
    ct_scope_end();
    ct_clear_error(); // leave no error pending for the tests that follow
}

TEST(ShapeErrors, SplitFamily) {
    ct_scope_begin();
    ct_tensor *a = ct_zeros(2, S({5, 2}).data(), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *s = ct_zeros(0, nullptr, CT_FLOAT32, CT_DEVICE_CPU);
    int n = 7;
    EXPECT_EQ(ct_split(a, -1, 0, &n), nullptr);
    EXPECT_EQ(n, 0);
    expect_error(CT_ERR_INVALID_ARGUMENT, "split expects split_size be non-negative, but got split_size=-1");
    EXPECT_EQ(ct_split(a, 0, 0, &n), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "split_size can only be 0 if dimension size is 0, but got dimension size of 5");
    EXPECT_EQ(ct_split(s, 1, 0, &n), nullptr);
    expect_error(CT_ERR_SHAPE, "split expects at least a 1-dimensional tensor");
    EXPECT_EQ(ct_split(a, 1, 2, &n), nullptr);
    expect_error(CT_ERR_INDEX, "Dimension out of range");
    EXPECT_EQ(ct_split_with_sizes(a, 2, S({2, 2}).data(), 0, &n), nullptr);
    expect_error(CT_ERR_SHAPE,
                 "split_with_sizes expects split_sizes to sum exactly to 5 (input tensor's size at dimension 0), but "
                 "got split_sizes=[2, 2]");
    EXPECT_EQ(ct_split_with_sizes(a, 2, S({-1, 6}).data(), 0, &n), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT,
                 "split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes=[-1, 6]");
    EXPECT_EQ(ct_chunk(a, 0, 0, &n), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "chunk expects `chunks` to be greater than 0, got: 0");
    EXPECT_EQ(ct_chunk(s, 2, 0, &n), nullptr);
    expect_error(CT_ERR_SHAPE, "chunk expects at least a 1-dimensional tensor");
    EXPECT_EQ(ct_split(a, 1, 0, nullptr), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "count");
    ct_scope_end();
    ct_clear_error(); // leave no error pending for the tests that follow
}

TEST(ShapeErrors, RepeatFlipPad) {
    ct_scope_begin();
    ct_tensor *a = ct_zeros(2, S({2, 3}).data(), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_repeat(a, 1, S({2}).data()), nullptr);
    expect_error(CT_ERR_SHAPE,
                 "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor");
    EXPECT_EQ(ct_repeat(a, 2, S({-1, 2}).data()), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "Trying to create tensor with negative dimension -2: [-2, 6]");
    EXPECT_EQ(ct_flip(a, 2, I({1, -1}).data()), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "dim 1 appears multiple times in the list of dims");
    EXPECT_EQ(ct_flip(a, 1, I({2}).data()), nullptr);
    expect_error(CT_ERR_INDEX, "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    EXPECT_EQ(ct_constant_pad_nd(a, 3, S({1, 1, 1}).data(), 0), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "Length of pad must be even but instead it equals 3");
    EXPECT_EQ(ct_constant_pad_nd(a, 6, S({1, 1, 1, 1, 1, 1}).data(), 0), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT,
                 "Length of pad should be no more than twice the number of dimensions of the input. Pad length is 6 "
                 "while the input has 2 dimensions.");
    EXPECT_EQ(ct_constant_pad_nd(a, 2, S({-2, -2}).data(), 0), nullptr);
    expect_error(CT_ERR_SHAPE,
                 "The input size 3, plus negative padding -2 and -2 resulted in a negative output size, which is "
                 "invalid. Check dimension 1 of your input.");
    EXPECT_EQ(ct_pad(a, 2, S({1, 1}).data(), "reflect", 0), nullptr);
    expect_error(CT_ERR_NOT_IMPLEMENTED, "'reflect' is not implemented yet");
    EXPECT_EQ(ct_pad(a, 2, S({1, 1}).data(), "mirror", 0), nullptr);
    expect_error(CT_ERR_INVALID_ARGUMENT, "Unrecognised padding mode mirror");
    ct_scope_end();
    ct_clear_error(); // leave no error pending for the tests that follow
}

TEST(ShapeErrors, NullInputKeepsThePendingError) {
    ct_scope_begin();
    ct_tensor *bad = ct_view(ct_zeros(1, S({4}).data(), CT_FLOAT32, CT_DEVICE_CPU), 1, S({5}).data());
    ASSERT_EQ(bad, nullptr);
    std::string first = ct_last_error();
    int n;
    EXPECT_EQ(ct_flip(bad, 0, nullptr), nullptr);
    EXPECT_EQ(ct_repeat(bad, 0, nullptr), nullptr);
    EXPECT_EQ(ct_chunk(bad, 2, 0, &n), nullptr);
    EXPECT_EQ(ct_constant_pad_nd(bad, 0, nullptr, 0), nullptr);
    EXPECT_EQ(std::string(ct_last_error()), first);
    ct_scope_end();
    ct_clear_error(); // leave no error pending for the tests that follow
}

TEST(ShapeErrors, MixedDevicesAreRefused) {
    if (!ct_cuda_is_available()) GTEST_SKIP() << cth::gpu_skip_reason();
    ct_scope_begin();
    ct_tensor *a = ct_zeros(1, S({2}).data(), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *b = ct_zeros(1, S({2}).data(), CT_FLOAT32, CT_DEVICE_CUDA(0));
    ct_tensor *ab[2] = {a, b};
    EXPECT_EQ(ct_cat(2, ab, 0), nullptr);
    expect_error(CT_ERR_DEVICE, "Expected all tensors to be on the same device");
    ct_scope_end();
    ct_clear_error(); // leave no error pending for the tests that follow
}

} // namespace
