// Tests of the gather/scatter family (ctorch/indexing.h): op cases against float64 references written here from
// the definitions (every op, every reduction with include_self both ways, int32 and int64 indices, negative dims,
// indices smaller than the tensor, empty indices, non-contiguous operands, duplicates), PyTorch's documentation
// examples with their printed results, every error message, determinism, and the CUDA device-error flag.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "harness.h"
#include "test_helpers.h"

namespace {

using cth::Ref;

// ---- float64 references ------------------------------------------------------------------------------------------

std::vector<int64_t> nd_shape(const std::vector<int64_t> &shape) {
    return shape.empty() ? std::vector<int64_t>{1} : shape;
}

int64_t ravel(const std::vector<int64_t> &c, const std::vector<int64_t> &shape) {
    int64_t f = 0;
    for (size_t d = 0; d < shape.size(); d++) f = f * shape[d] + c[d];
    return f;
}

std::vector<int64_t> unravel(int64_t f, const std::vector<int64_t> &shape) {
    std::vector<int64_t> c(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
        c[d] = f % shape[d];
        f /= shape[d];
    }
    return c;
}

int wrap_dim(int dim, size_t ndim) { return dim < 0 ? dim + (int)ndim : dim; }

// out[c] = input[c with c[dim] = index[c]]
Ref gather_ref(const Ref &in, int dim, const Ref &index) {
    auto ishape = nd_shape(in.shape), xshape = nd_shape(index.shape);
    dim = wrap_dim(dim, ishape.size());
    Ref out{index.shape, std::vector<double>(index.values.size())};
    for (int64_t e = 0; e < index.numel(); e++) {
        auto c = unravel(e, xshape);
        c[(size_t)dim] = (int64_t)index.values[(size_t)e];
        out.values[(size_t)e] = in.values[(size_t)ravel(c, ishape)];
    }
    return out;
}

enum class Red { Assign, Sum, Prod, Mean, Amax, Amin };

double identity_of(Red op) {
    switch (op) {
    case Red::Prod: return 1;
    case Red::Amax: return -INFINITY;
    case Red::Amin: return INFINITY;
    default: return 0;
    }
}

double combine(Red op, double d, double s) {
    switch (op) {
    case Red::Sum:
    case Red::Mean: return d + s;
    case Red::Prod: return d * s;
    case Red::Amax: return std::isnan(s) || s > d ? s : d;
    case Red::Amin: return std::isnan(s) || s < d ? s : d;
    default: return s;
    }
}

// One scatter as the definition says, in row-major order of the iteration shape: element c of that shape goes to
// self[c with c[dim] = dest_of(c)] with the value src_of(c).
struct ScatterSpec {
    Red op = Red::Assign;
    bool include_self = true;
    bool integer = false; // mean divides with floor
};

template <typename DestOf, typename SrcOf>
Ref scatter_with(Ref self, int dim, const std::vector<int64_t> &iter_shape, DestOf dest_of, SrcOf src_of,
                 ScatterSpec spec) {
    auto sshape = nd_shape(self.shape);
    int64_t n = 1;
    for (auto s : iter_shape) n *= s;
    std::vector<int64_t> count(self.values.size(), 0);
    auto dest = [&](int64_t e) {
        auto c = unravel(e, iter_shape);
        int64_t to = dest_of(c);
        c[(size_t)dim] = to;
        return (size_t)ravel(c, sshape);
    };
    if (!spec.include_self && spec.op != Red::Assign)
        for (int64_t e = 0; e < n; e++) self.values[dest(e)] = identity_of(spec.op);
    for (int64_t e = 0; e < n; e++) {
        size_t to = dest(e);
        self.values[to] = combine(spec.op, self.values[to], src_of(unravel(e, iter_shape)));
        count[to]++;
    }
    if (spec.op == Red::Mean)
        for (size_t i = 0; i < count.size(); i++) {
            if (count[i] == 0) continue;
            double q = self.values[i] / (double)(count[i] + (spec.include_self ? 1 : 0));
            self.values[i] = spec.integer ? std::floor(q) : q;
        }
    return self;
}

// scatter(self, dim, index, src) with any reduction.
Ref scatter_ref(const Ref &self, int dim, const Ref &index, const Ref &src, ScatterSpec spec) {
    dim = wrap_dim(dim, nd_shape(self.shape).size());
    auto xshape = nd_shape(index.shape), srcshape = nd_shape(src.shape);
    return scatter_with(
        self, dim, xshape,
        [&](const std::vector<int64_t> &c) { return (int64_t)index.values[(size_t)ravel(c, xshape)]; },
        [&](const std::vector<int64_t> &c) { return src.values[(size_t)ravel(c, srcshape)]; }, spec);
}

Ref scatter_value_ref(const Ref &self, int dim, const Ref &index, double value) {
    dim = wrap_dim(dim, nd_shape(self.shape).size());
    auto xshape = nd_shape(index.shape);
    return scatter_with(
        self, dim, xshape,
        [&](const std::vector<int64_t> &c) { return (int64_t)index.values[(size_t)ravel(c, xshape)]; },
        [&](const std::vector<int64_t> &) { return value; }, ScatterSpec{});
}

// The index_* ops: slice i of the iteration shape (self's, with index.numel() at dim) goes to slice index[i].
Ref index_scatter_ref(const Ref &self, int dim, const Ref &index, const Ref *source, double value, Red op,
                      double alpha = 1) {
    auto shape = nd_shape(self.shape);
    dim = wrap_dim(dim, shape.size());
    shape[(size_t)dim] = index.numel();
    int64_t size = nd_shape(self.shape)[(size_t)dim];
    auto src_shape = source ? nd_shape(source->shape) : shape;
    return scatter_with(
        self, dim, shape,
        [&](const std::vector<int64_t> &c) {
            int64_t i = (int64_t)index.values[(size_t)c[(size_t)dim]];
            return i < 0 ? i + size : i;
        },
        [&](const std::vector<int64_t> &c) {
            if (!source) return value;
            return alpha * source->values[source->numel() == 1 ? 0 : (size_t)ravel(c, src_shape)];
        },
        ScatterSpec{op, true, false});
}

Ref index_select_ref(const Ref &in, int dim, const Ref &index) {
    auto ishape = nd_shape(in.shape);
    dim = wrap_dim(dim, ishape.size());
    auto oshape = ishape;
    oshape[(size_t)dim] = index.numel();
    Ref out{in.shape.empty() ? in.shape : oshape, {}};
    int64_t n = 1;
    for (auto s : oshape) n *= s;
    for (int64_t e = 0; e < n; e++) {
        auto c = unravel(e, oshape);
        c[(size_t)dim] = (int64_t)index.values[(size_t)c[(size_t)dim]];
        out.values.push_back(in.values[(size_t)ravel(c, ishape)]);
    }
    return out;
}

// take_along_dim: broadcast input and indices off dim, then gather.
Ref take_along_dim_ref(const Ref &in, const Ref &indices, int dim) {
    auto ishape = nd_shape(in.shape), xshape = nd_shape(indices.shape);
    dim = wrap_dim(dim, ishape.size());
    std::vector<int64_t> oshape = xshape;
    for (size_t d = 0; d < oshape.size(); d++)
        if ((int)d != dim) oshape[d] = std::max(ishape[d], xshape[d]);
    Ref out{in.shape.empty() ? in.shape : oshape, {}};
    int64_t n = 1;
    for (auto s : oshape) n *= s;
    for (int64_t e = 0; e < n; e++) {
        auto c = unravel(e, oshape), ci = c, cx = c;
        for (size_t d = 0; d < c.size(); d++) {
            if (xshape[d] == 1) cx[d] = 0;
            if (ishape[d] == 1 && (int)d != dim) ci[d] = 0;
        }
        ci[(size_t)dim] = (int64_t)indices.values[(size_t)ravel(cx, xshape)];
        out.values.push_back(in.values[(size_t)ravel(ci, ishape)]);
    }
    return out;
}

// masked_select with both broadcast to one shape (same number of dims here).
Ref masked_select_ref(const Ref &in, const Ref &mask) {
    auto ishape = nd_shape(in.shape), mshape = nd_shape(mask.shape);
    std::vector<int64_t> shape(ishape.size());
    for (size_t d = 0; d < shape.size(); d++) shape[d] = std::max(ishape[d], mshape[d]);
    Ref out{{0}, {}};
    int64_t n = 1;
    for (auto s : shape) n *= s;
    for (int64_t e = 0; e < n; e++) {
        auto c = unravel(e, shape), ci = c, cm = c;
        for (size_t d = 0; d < c.size(); d++) {
            if (ishape[d] == 1) ci[d] = 0;
            if (mshape[d] == 1) cm[d] = 0;
        }
        if (mask.values[(size_t)ravel(cm, mshape)] != 0) out.values.push_back(in.values[(size_t)ravel(ci, ishape)]);
    }
    out.shape[0] = (int64_t)out.values.size();
    return out;
}

// ---- the op cases -------------------------------------------------------------------------------------------------

using Run = std::function<ct_tensor *(const cth::Inputs &)>;

// An in-place op as a case: the result is in[0] after the call.
template <typename F> Run in_place(F f) {
    return [f](const cth::Inputs &in) -> ct_tensor * { return f(in) == CT_OK ? ct_retain(in[0]) : nullptr; };
}

// Runs f with deterministic mode on (restoring the mode after): duplicate-index writes are then ordered on CUDA too,
// so the CUDA run of a case can be compared with the CPU's.
Run deterministic(Run f) {
    return [f](const cth::Inputs &in) {
        bool was = ct_are_deterministic_algorithms_enabled();
        ct_use_deterministic_algorithms(true);
        ct_tensor *y = f(in);
        ct_use_deterministic_algorithms(was);
        return y;
    };
}

const ct_scatter_reduction reductions[] = {CT_SCATTER_SUM, CT_SCATTER_PROD, CT_SCATTER_MEAN, CT_SCATTER_AMAX,
                                           CT_SCATTER_AMIN};
const char *reduction_names[] = {"sum", "prod", "mean", "amax", "amin"};
const Red reduction_refs[] = {Red::Sum, Red::Prod, Red::Mean, Red::Amax, Red::Amin};

void add_gather_cases() {
    using namespace cth;
    auto gather = [](int dim) { return [dim](const Inputs &in) { return ct_gather(in[0], dim, in[1]); }; };
    auto ref = [](int dim) { return [dim](const std::vector<Ref> &in) { return gather_ref(in[0], dim, in[1]); }; };
    add_case({"gather", "dim0_int64", {uniform({5, 4}), integers({3, 4}, 0, 5)}, gather(0), ref(0)});
    add_case({"gather", "dim1_int32", {uniform({3, 6}), integers({3, 8}, 0, 6, CT_INT32)}, gather(1), ref(1)});
    add_case({"gather", "negative_dim_3d", {normal({2, 3, 5}), integers({2, 3, 7}, 0, 5)}, gather(-1), ref(-1)});
    add_case(
        {"gather", "middle_dim_f64", {normal({4, 6, 5}, CT_FLOAT64), integers({4, 9, 5}, 0, 6)}, gather(1), ref(1)});
    add_case({"gather", "index_smaller_off_dim", {uniform({4, 6, 5}), integers({2, 3, 4}, 0, 6)}, gather(1), ref(1)});
    add_case({"gather", "empty_index", {uniform({4, 5}), integers({0, 5}, 0, 4)}, gather(0), ref(0)});
    add_case({"gather",
              "non_contiguous",
              {transposed(uniform({7, 6})), transposed(integers({5, 6}, 0, 7))},
              gather(0),
              ref(0)});
    add_case({"gather",
              "int64_values",
              {integers({6, 3}, -1000, 1000), integers({6, 5}, 0, 3, CT_INT32)},
              gather(1),
              ref(1)});
    add_case(
        {"gather", "uint8_values", {integers({6, 3}, 0, 256, CT_UINT8), integers({2, 3}, 0, 6)}, gather(0), ref(0)});
    add_case({"gather", "scalar_0d", {uniform({}), integers({}, 0, 1)}, gather(0), ref(0)});
    add_case({"gather", "large_dim0", {uniform({300, 257}), integers({400, 257}, 0, 300)}, gather(0), ref(0)});
    add_case({"gather", "large_dim1", {uniform({257, 300}), integers({257, 400}, 0, 300)}, gather(1), ref(1)});
}

void add_scatter_cases() {
    using namespace cth;
    auto scatter_ = [](int dim) {
        return in_place([dim](const Inputs &in) { return ct_scatter_(in[0], dim, in[1], in[2]); });
    };
    auto ref = [](int dim) {
        return [dim](const std::vector<Ref> &in) { return scatter_ref(in[0], dim, in[1], in[2], {}); };
    };
    // each column's indices a permutation: no duplicates, so the result does not depend on the order of writes
    auto perm = given({3, 4}, {2, 0, 1, 2, 0, 1, 2, 1, 1, 2, 0, 0});
    perm.dtype = CT_INT64;
    add_case({"scatter_", "dim0_unique", {uniform({3, 4}), perm, uniform({3, 5})}, scatter_(0), ref(0)});
    add_case({"scatter_",
              "duplicates_last_wins",
              {uniform({4, 6}), integers({7, 6}, 0, 4), normal({7, 6})},
              deterministic(scatter_(0)),
              ref(0)});
    add_case({"scatter_",
              "dim1_int32_negative_dim",
              {uniform({3, 7}), integers({3, 5}, 0, 7, CT_INT32), uniform({3, 5})},
              deterministic(scatter_(-1)),
              ref(-1)});
    add_case({"scatter_",
              "smaller_index_non_contiguous",
              {transposed(uniform({6, 5})), transposed(integers({3, 4}, 0, 6)), transposed(uniform({5, 6}))},
              deterministic(scatter_(0)),
              ref(0)});
    add_case(
        {"scatter_", "empty_index", {uniform({3, 4}), integers({0, 4}, 0, 3), uniform({2, 4})}, scatter_(0), ref(0)});
    add_case({"scatter_",
              "value",
              {uniform({5, 4}), integers({3, 4}, 0, 5)},
              in_place([](const Inputs &in) { return ct_scatter_value_(in[0], 0, in[1], -2.5); }),
              [](const std::vector<Ref> &in) { return scatter_value_ref(in[0], 0, in[1], -2.5); }});
    add_case({"scatter",
              "out_of_place",
              {uniform({4, 3}), integers({5, 3}, 0, 4), uniform({5, 3})},
              deterministic([](const Inputs &in) { return ct_scatter(in[0], 0, in[1], in[2]); }),
              ref(0)});
    add_case({"scatter",
              "value_out_of_place",
              {uniform({4, 3}), integers({4, 2}, 0, 3, CT_INT32)},
              [](const Inputs &in) { return ct_scatter_value(in[0], 1, in[1], 7.0); },
              [](const std::vector<Ref> &in) { return scatter_value_ref(in[0], 1, in[1], 7.0); }});
}

void add_scatter_add_cases() {
    using namespace cth;
    auto add_ = [](int dim) {
        return in_place([dim](const Inputs &in) { return ct_scatter_add_(in[0], dim, in[1], in[2]); });
    };
    auto ref = [](int dim) {
        return [dim](const std::vector<Ref> &in) { return scatter_ref(in[0], dim, in[1], in[2], {Red::Sum}); };
    };
    add_case({"scatter_add_",
              "duplicates_dim0",
              {uniform({4, 5}), integers({9, 5}, 0, 4), uniform({9, 5})},
              add_(0),
              ref(0)});
    add_case({"scatter_add_",
              "dim1_int32",
              {uniform({3, 4}), integers({3, 9}, 0, 4, CT_INT32), normal({3, 9})},
              add_(1),
              ref(1)});
    add_case({"scatter_add_",
              "negative_dim_3d",
              {normal({2, 4, 3}), integers({2, 4, 6}, 0, 3), normal({2, 5, 7})},
              add_(-1),
              ref(-1)});
    add_case({"scatter_add_",
              "non_contiguous",
              {transposed(uniform({5, 6})), transposed(integers({5, 6}, 0, 5)), transposed(uniform({5, 6}))},
              add_(0),
              ref(0)});
    add_case(
        {"scatter_add_", "empty_index", {uniform({3, 4}), integers({3, 0}, 0, 3), uniform({3, 2})}, add_(0), ref(0)});
    add_case({"scatter_add_",
              "int64_values",
              {integers({4, 3}, -50, 50), integers({8, 3}, 0, 4), integers({8, 3}, -9, 9)},
              add_(0),
              ref(0)});
    add_case({"scatter_add_",
              "f64_large_parallel",
              {normal({64, 300}, CT_FLOAT64), integers({500, 300}, 0, 64), normal({500, 300}, CT_FLOAT64)},
              add_(0),
              ref(0)});
    add_case({"scatter_add_",
              "f32_large_dim1",
              {uniform({300, 64}), integers({300, 500}, 0, 64), uniform({300, 500})},
              add_(1),
              ref(1),
              1e-9});
    add_case({"scatter_add",
              "out_of_place",
              {uniform({4, 5}), integers({6, 5}, 0, 4), uniform({6, 5})},
              [](const Inputs &in) { return ct_scatter_add(in[0], 0, in[1], in[2]); },
              ref(0)});
}

void add_scatter_reduce_cases() {
    using namespace cth;
    for (int r = 0; r < 5; r++) {
        for (bool include_self : {true, false}) {
            ct_scatter_reduction reduce = reductions[r];
            Red op = reduction_refs[r];
            std::string name = std::string(reduction_names[r]) + (include_self ? "_include_self" : "_exclude_self");
            add_case({"scatter_reduce_",
                      name,
                      {uniform({5, 4}, CT_FLOAT32, 0.5, 2), integers({8, 4}, 0, 5), uniform({8, 4}, CT_FLOAT32, -2, 2)},
                      deterministic(in_place([reduce, include_self](const Inputs &in) {
                          return ct_scatter_reduce_(in[0], 0, in[1], in[2], reduce, include_self);
                      })),
                      [op, include_self](const std::vector<Ref> &in) {
                          return scatter_ref(in[0], 0, in[1], in[2], {op, include_self});
                      }});
            add_case({"scatter_reduce_",
                      name + "_int64_dim1_int32_index",
                      {integers({3, 4}, -20, 20), integers({3, 7}, 0, 4, CT_INT32), integers({3, 7}, -9, 9)},
                      in_place([reduce, include_self](const Inputs &in) {
                          return ct_scatter_reduce_(in[0], -1, in[1], in[2], reduce, include_self);
                      }),
                      [op, include_self](const std::vector<Ref> &in) {
                          return scatter_ref(in[0], 1, in[1], in[2], {op, include_self, true});
                      }});
        }
    }
    add_case(
        {"scatter_reduce_",
         "mean_non_contiguous_f64",
         {transposed(normal({6, 5}, CT_FLOAT64)), transposed(integers({4, 5}, 0, 6)),
          transposed(normal({4, 5}, CT_FLOAT64))},
         in_place([](const Inputs &in) { return ct_scatter_reduce_(in[0], 0, in[1], in[2], CT_SCATTER_MEAN, true); }),
         [](const std::vector<Ref> &in) {
             return scatter_ref(in[0], 0, in[1], in[2], {Red::Mean, true});
         }});
    add_case({"scatter_reduce",
              "amax_out_of_place",
              {uniform({3, 5}), integers({3, 8}, 0, 5), uniform({3, 8})},
              [](const Inputs &in) { return ct_scatter_reduce(in[0], 1, in[1], in[2], CT_SCATTER_AMAX, false); },
              [](const std::vector<Ref> &in) {
                  return scatter_ref(in[0], 1, in[1], in[2], {Red::Amax, false});
              }});
    add_case({"scatter_reduce",
              "sum_out_of_place_empty_index",
              {uniform({3, 5}), integers({0, 5}, 0, 3), uniform({2, 5})},
              [](const Inputs &in) { return ct_scatter_reduce(in[0], 0, in[1], in[2], CT_SCATTER_SUM, true); },
              [](const std::vector<Ref> &in) { return in[0]; }});
}

void add_index_cases() {
    using namespace cth;
    auto select = [](int dim) { return [dim](const Inputs &in) { return ct_index_select(in[0], dim, in[1]); }; };
    auto select_ref = [](int dim) {
        return [dim](const std::vector<Ref> &in) { return index_select_ref(in[0], dim, in[1]); };
    };
    add_case({"index_select", "dim0_int64", {uniform({6, 5}), integers({9}, 0, 6)}, select(0), select_ref(0)});
    add_case(
        {"index_select", "dim1_int32", {uniform({4, 7}), integers({3}, 0, 7, CT_INT32)}, select(1), select_ref(1)});
    add_case({"index_select", "negative_dim_3d", {normal({2, 3, 5}), integers({8}, 0, 5)}, select(-1), select_ref(-1)});
    add_case({"index_select",
              "non_contiguous",
              {transposed(uniform({6, 8})), integers({5}, 0, 6)},
              select(0),
              select_ref(0)});
    add_case({"index_select", "index_0d", {uniform({5, 3}), integers({}, 0, 5)}, select(0), select_ref(0)});
    add_case({"index_select", "empty_index", {uniform({5, 3}), integers({0}, 0, 5)}, select(0), select_ref(0)});
    add_case(
        {"index_select", "rows_large", {uniform({1000, 96}), integers({3000}, 0, 1000)}, select(0), select_ref(0)});
    add_case({"index_select",
              "int64_values_1d",
              {integers({10}, -99, 99), integers({12}, 0, 10)},
              select(0),
              select_ref(0)});

    auto add_ref = [](int dim, double alpha) {
        return [dim, alpha](const std::vector<Ref> &in) {
            return index_scatter_ref(in[0], dim, in[1], &in[2], 0, Red::Sum, alpha);
        };
    };
    auto index_add = [](int dim, double alpha) {
        return in_place([dim, alpha](const Inputs &in) { return ct_index_add_(in[0], dim, in[1], in[2], alpha); });
    };
    add_case({"index_add_",
              "duplicates_dim0",
              {uniform({5, 3}), integers({8}, 0, 5), uniform({8, 3})},
              index_add(0, 1),
              add_ref(0, 1)});
    add_case({"index_add_",
              "alpha_dim1_int32",
              {uniform({3, 6}), integers({4}, 0, 6, CT_INT32), uniform({3, 4})},
              index_add(1, -2.5),
              add_ref(1, -2.5)});
    add_case({"index_add_",
              "negative_dim_non_contiguous",
              {transposed(uniform({4, 5})), integers({7}, 0, 5), transposed(uniform({4, 7}))},
              index_add(-1, 1),
              add_ref(-1, 1)});
    add_case({"index_add_",
              "empty_index",
              {uniform({4, 5}), integers({0}, 0, 4), uniform({0, 5})},
              index_add(0, 1),
              add_ref(0, 1)});
    add_case({"index_add_",
              "int64_alpha_3",
              {integers({4, 2}, -9, 9), integers({6}, 0, 4), integers({6, 2}, -9, 9)},
              index_add(0, 3),
              add_ref(0, 3)});
    add_case({"index_add_", // whole rows added at once, with alpha, float32 and int32 (wrapping)
              "rows_alpha_float32",
              {uniform({50, 77}), integers({120}, 0, 50), uniform({120, 77})},
              index_add(0, 0.5),
              add_ref(0, 0.5)});
    add_case({"index_add_",
              "rows_int32",
              {integers({9, 40}, -9, 9, CT_INT32), integers({30}, 0, 9), integers({30, 40}, -9, 9, CT_INT32)},
              index_add(0, -2),
              add_ref(0, -2)});
    add_case({"index_add_",
              "large_rows",
              {normal({100, 300}, CT_FLOAT64), integers({700}, 0, 100), normal({700, 300}, CT_FLOAT64)},
              index_add(0, 1),
              add_ref(0, 1)});

    auto copy_ref = [](int dim) {
        return
            [dim](const std::vector<Ref> &in) { return index_scatter_ref(in[0], dim, in[1], &in[2], 0, Red::Assign); };
    };
    auto index_copy = [](int dim) {
        return in_place([dim](const Inputs &in) { return ct_index_copy_(in[0], dim, in[1], in[2]); });
    };
    auto perm = given({4}, {3, 0, 4, 1});
    perm.dtype = CT_INT64;
    add_case({"index_copy_", "dim0_unique", {uniform({5, 3}), perm, uniform({4, 3})}, index_copy(0), copy_ref(0)});
    add_case({"index_copy_",
              "duplicates_dim1_int32",
              {uniform({3, 5}), integers({7}, 0, 5, CT_INT32), uniform({3, 7})},
              deterministic(index_copy(-1)),
              copy_ref(-1)});
    add_case({"index_copy_",
              "non_contiguous",
              {transposed(uniform({6, 4})), perm, transposed(uniform({4, 4}))},
              index_copy(0),
              copy_ref(0)});

    auto fill_ref = [](int dim, double v) {
        return [dim, v](const std::vector<Ref> &in) {
            return index_scatter_ref(in[0], dim, in[1], nullptr, v, Red::Assign);
        };
    };
    auto index_fill = [](int dim, double v) {
        return in_place([dim, v](const Inputs &in) { return ct_index_fill_(in[0], dim, in[1], v); });
    };
    add_case({"index_fill_", "dim0", {uniform({5, 3}), integers({3}, 0, 5)}, index_fill(0, 1.5), fill_ref(0, 1.5)});
    add_case({"index_fill_",
              "negative_indices_dim1_int32",
              {uniform({3, 6}), integers({4}, -6, 6, CT_INT32)},
              index_fill(1, -4),
              fill_ref(1, -4)});
    add_case({"index_fill_",
              "non_contiguous_3d",
              {transposed(normal({2, 5, 4})), integers({2}, 0, 2)},
              index_fill(-3, 9),
              fill_ref(0, 9)});
    add_case({"index_fill_",
              "int32_values",
              {integers({4, 4}, -5, 5, CT_INT32), integers({2}, 0, 4)},
              index_fill(1, 7.9),
              fill_ref(1, 7)});
}

void add_take_and_mask_cases() {
    using namespace cth;
    auto take = [](int dim) { return [dim](const Inputs &in) { return ct_take_along_dim(in[0], in[1], dim); }; };
    auto take_ref = [](int dim) {
        return [dim](const std::vector<Ref> &in) { return take_along_dim_ref(in[0], in[1], dim); };
    };
    add_case({"take_along_dim", "dim1", {uniform({4, 6}), integers({4, 3}, 0, 6)}, take(1), take_ref(1)});
    add_case({"take_along_dim",
              "broadcast_indices",
              {uniform({4, 6}), integers({1, 5}, 0, 6, CT_INT32)},
              take(-1),
              take_ref(1)});
    add_case(
        {"take_along_dim", "broadcast_input_3d", {normal({1, 5, 3}), integers({4, 2, 3}, 0, 5)}, take(1), take_ref(1)});
    add_case({"take_along_dim",
              "non_contiguous",
              {transposed(uniform({5, 7})), transposed(integers({5, 7}, 0, 5))},
              take(0),
              take_ref(0)});
    add_case({"take_along_dim",
              "flat",
              {uniform({3, 4}), integers({2, 5}, 0, 12)},
              [](const Inputs &in) { return ct_take_along_dim_flat(in[0], in[1]); },
              [](const std::vector<Ref> &in) {
                  Ref flat_in{{in[0].numel()}, in[0].values}, flat_ix{{in[1].numel()}, in[1].values};
                  return gather_ref(flat_in, 0, flat_ix);
              }});

    auto masked = [](const Inputs &in) { return ct_masked_select(in[0], in[1]); };
    auto masked_ref = [](const std::vector<Ref> &in) { return masked_select_ref(in[0], in[1]); };
    add_case({"masked_select", "same_shape", {uniform({5, 6}), bools({5, 6})}, masked, masked_ref});
    add_case({"masked_select", "broadcast_mask_row", {uniform({4, 7}), bools({1, 7})}, masked, masked_ref});
    add_case({"masked_select", "broadcast_input_col", {normal({4, 1}, CT_FLOAT64), bools({4, 5})}, masked, masked_ref});
    add_case({"masked_select",
              "non_contiguous",
              {transposed(uniform({9, 8})), transposed(bools({9, 8}))},
              masked,
              masked_ref});
    add_case(
        {"masked_select", "int64_large", {integers({64, 100}, -1000, 1000), bools({64, 100})}, masked, masked_ref});
    // contiguous operands: the branch-free compaction in blocks of 64, then one by one near the output's end
    add_case({"masked_select", "contiguous_float32_long", {uniform({37, 41}), bools({37, 41})}, masked, masked_ref});
    add_case({"masked_select", "contiguous_uint8_long", {integers({700}, 0, 256, CT_UINT8), bools({700})}, masked,
              masked_ref});
    std::vector<double> first_100(700, 0);
    std::fill(first_100.begin(), first_100.begin() + 100, 1.0);
    add_case({"masked_select", "contiguous_trues_end_early", {uniform({700}), given({700}, first_100, CT_BOOL)}, masked,
              masked_ref});
    add_case({"masked_select", "contiguous_all_true", {normal({3, 100}, CT_FLOAT64), given({3, 100}, std::vector<double>(300, 1), CT_BOOL)},
              masked, masked_ref});
    add_case({"masked_select",
              "all_false",
              {uniform({3, 3}), given({3, 3}, {0, 0, 0, 0, 0, 0, 0, 0, 0}, CT_BOOL)},
              masked,
              masked_ref});
}

const int cases_registered = [] {
    add_gather_cases();
    add_scatter_cases();
    add_scatter_add_cases();
    add_scatter_reduce_cases();
    add_index_cases();
    add_take_and_mask_cases();
    return 0;
}();

// ---- literals -------------------------------------------------------------------------------------------------------

ct_tensor *i64(std::vector<int64_t> v, std::vector<int64_t> shape) {
    return ct_tensor_from_data(v.data(), (int)shape.size(), shape.data(), CT_INT64, CT_DEVICE_CPU);
}

ct_tensor *i32(std::vector<int32_t> v, std::vector<int64_t> shape) {
    return ct_tensor_from_data(v.data(), (int)shape.size(), shape.data(), CT_INT32, CT_DEVICE_CPU);
}

ct_tensor *f64(std::vector<double> v, std::vector<int64_t> shape) {
    return ct_tensor_from_data(v.data(), (int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
}

ct_tensor *mask_of(std::vector<uint8_t> v, std::vector<int64_t> shape) {
    return ct_tensor_from_data(v.data(), (int)shape.size(), shape.data(), CT_BOOL, CT_DEVICE_CPU);
}

std::vector<double> ints(std::initializer_list<double> v) { return v; }

// Every test runs in a scope, so the tensors it makes need no release.
class Indexing : public testing::Test {
  protected:
    void SetUp() override { ct_scope_begin(); }
    void TearDown() override {
        ct_scope_end();
        ct_use_deterministic_algorithms(false);
        ct_clear_error();
    }
};

// ---- PyTorch's documentation examples -------------------------------------------------------------------------------

TEST_F(Indexing, GatherDocExample) {
    // torch.gather(torch.tensor([[1, 2], [3, 4]]), 1, torch.tensor([[0, 0], [1, 0]])) -> [[1, 1], [4, 3]]
    ct_tensor *t = i64({1, 2, 3, 4}, {2, 2}), *out = ct_gather(t, 1, i64({0, 0, 1, 0}, {2, 2}));
    ASSERT_NE(out, nullptr) << ct_last_error();
    EXPECT_EQ(shape_of(out), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(ct_tensor_dtype(out), CT_INT64);
    EXPECT_EQ(values_of(out), ints({1, 1, 4, 3}));
}

TEST_F(Indexing, ScatterDocExamples) {
    ct_tensor *src = ct_reshape(ct_arange(1, 11, 1, CT_INT64, CT_DEVICE_CPU), 2, SHAPE(2, 5));
    ct_tensor *a = ct_zeros(2, SHAPE(3, 5), CT_INT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_scatter_(a, 0, i64({0, 1, 2, 0}, {1, 4}), src), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(a), ints({1, 0, 0, 4, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0}));
    ct_tensor *b = ct_zeros(2, SHAPE(3, 5), CT_INT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_scatter_(b, 1, i64({0, 1, 2, 0, 1, 4}, {2, 3}), src), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(b), ints({1, 2, 3, 0, 0, 6, 7, 0, 0, 8, 0, 0, 0, 0, 0}));
    // torch.full((2, 4), 2.).scatter_(1, torch.tensor([[2], [3]]), 1.23)
    ct_tensor *c = ct_full(2, SHAPE(2, 4), 2.0, CT_FLOAT32, CT_DEVICE_CPU);
    ASSERT_EQ(ct_scatter_value_(c, 1, i64({2, 3}, {2, 1}), 1.23), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(c), ints({2, 2, (double)1.23f, 2, 2, 2, 2, (double)1.23f}));
}

TEST_F(Indexing, ScatterAddDocExamples) {
    ct_tensor *src = ct_ones(2, SHAPE(2, 5), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *a = ct_zeros(2, SHAPE(3, 5), CT_FLOAT32, CT_DEVICE_CPU);
    ASSERT_EQ(ct_scatter_add_(a, 0, i64({0, 1, 2, 0, 0}, {1, 5}), src), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(a), ints({1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0}));
    ct_tensor *b = ct_zeros(2, SHAPE(3, 5), CT_FLOAT32, CT_DEVICE_CPU);
    ASSERT_EQ(ct_scatter_add_(b, 0, i64({0, 1, 2, 0, 0, 0, 1, 2, 2, 2}, {2, 5}), src), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(b), ints({2, 0, 0, 1, 1, 0, 2, 0, 0, 0, 0, 0, 2, 1, 1}));
}

TEST_F(Indexing, ScatterReduceDocExamples) {
    ct_tensor *src = f64({1, 2, 3, 4, 5, 6}, {6}), *index = i64({0, 1, 0, 1, 2, 1}, {6});
    ct_tensor *input = f64({1, 2, 3, 4}, {4});
    ct_tensor *sum = ct_scatter_reduce(input, 0, index, src, CT_SCATTER_SUM, true);
    ASSERT_NE(sum, nullptr) << ct_last_error();
    EXPECT_EQ(values_of(sum), ints({5, 14, 8, 4}));
    ct_tensor *amax = ct_scatter_reduce(input, 0, index, src, CT_SCATTER_AMAX, false);
    ASSERT_NE(amax, nullptr) << ct_last_error();
    EXPECT_EQ(values_of(amax), ints({3, 6, 5, 4}));
    EXPECT_EQ(values_of(input), ints({1, 2, 3, 4})) << "the out-of-place form changed its input";
}

TEST_F(Indexing, ScatterReduceMeanAndProdByHand) {
    ct_tensor *src = f64({1, 2, 3, 4, 5, 6}, {6}), *index = i64({0, 1, 0, 1, 2, 1}, {6});
    ct_tensor *input = f64({1, 2, 3, 4}, {4});
    // mean with self: (1+1+3)/3, (2+2+4+6)/4, (3+5)/2, 4; without: (1+3)/2, (2+4+6)/3, 5, 4
    EXPECT_EQ(values_of(ct_scatter_reduce(input, 0, index, src, CT_SCATTER_MEAN, true)), ints({5.0 / 3, 3.5, 4, 4}));
    EXPECT_EQ(values_of(ct_scatter_reduce(input, 0, index, src, CT_SCATTER_MEAN, false)), ints({2, 4, 5, 4}));
    // prod with self: 1*1*3, 2*2*4*6, 3*5, 4; amin without: 1, 2, 5, 4
    EXPECT_EQ(values_of(ct_scatter_reduce(input, 0, index, src, CT_SCATTER_PROD, true)), ints({3, 96, 15, 4}));
    EXPECT_EQ(values_of(ct_scatter_reduce(input, 0, index, src, CT_SCATTER_AMIN, false)), ints({1, 2, 5, 4}));
}

TEST_F(Indexing, ScatterReduceIntegerMeanFloors) {
    // (-7 + 0) / 2 = -3.5 -> -4 (floor, as PyTorch's rounding_mode="floor"); (5 + 0 + 2) / 3 -> 2
    ct_tensor *self = i64({0, 0}, {2});
    ASSERT_EQ(ct_scatter_reduce_(self, 0, i64({0, 1, 1}, {3}), i64({-7, 5, 2}, {3}), CT_SCATTER_MEAN, true), CT_OK);
    EXPECT_EQ(values_of(self), ints({-4, 2}));
}

TEST_F(Indexing, ScatterReduceAmaxPropagatesNaN) {
    ct_tensor *self = f64({0, 0}, {2});
    ASSERT_EQ(ct_scatter_reduce_(self, 0, i64({0, 0, 1}, {3}), f64({NAN, 5, 1}, {3}), CT_SCATTER_AMAX, true), CT_OK);
    auto v = values_of(self);
    EXPECT_TRUE(std::isnan(v[0]));
    EXPECT_EQ(v[1], 1);
}

TEST_F(Indexing, IndexSelectDocExample) {
    ct_tensor *x =
        f64({0.1427, 0.0231, -0.5414, -1.0009, -0.4664, 0.2647, -0.1228, -1.1068, -1.1734, -0.6571, 0.7230, -0.6004},
            {3, 4});
    ct_tensor *indices = i64({0, 2}, {2});
    ct_tensor *rows = ct_index_select(x, 0, indices), *cols = ct_index_select(x, 1, indices);
    ASSERT_NE(rows, nullptr) << ct_last_error();
    ASSERT_NE(cols, nullptr) << ct_last_error();
    EXPECT_EQ(values_of(rows), ints({0.1427, 0.0231, -0.5414, -1.0009, -1.1734, -0.6571, 0.7230, -0.6004}));
    EXPECT_EQ(shape_of(cols), (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(values_of(cols), ints({0.1427, -0.5414, -0.4664, -0.1228, -1.1734, 0.7230}));
}

TEST_F(Indexing, IndexAddDocExample) {
    ct_tensor *t = f64({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3}), *index = i64({0, 4, 2}, {3});
    ct_tensor *x = ct_ones(2, SHAPE(5, 3), CT_FLOAT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_index_add_(x, 0, index, t, 1), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(x), ints({2, 3, 4, 1, 1, 1, 8, 9, 10, 1, 1, 1, 5, 6, 7}));
    ct_tensor *y = ct_ones(2, SHAPE(5, 3), CT_FLOAT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_index_add_(y, 0, index, t, -1), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(y), ints({0, -1, -2, 1, 1, 1, -6, -7, -8, 1, 1, 1, -3, -4, -5}));
}

TEST_F(Indexing, IndexCopyDocExample) {
    ct_tensor *x = ct_zeros(2, SHAPE(5, 3), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *t = tensor_f32({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
    ASSERT_EQ(ct_index_copy_(x, 0, i64({0, 4, 2}, {3}), t), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(x), ints({1, 2, 3, 0, 0, 0, 7, 8, 9, 0, 0, 0, 4, 5, 6}));
}

TEST_F(Indexing, IndexFillDocExample) {
    ct_tensor *x = tensor_f32({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
    ASSERT_EQ(ct_index_fill_(x, 1, i64({0, 2}, {2}), -1), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(x), ints({-1, 2, -1, -1, 5, -1, -1, 8, -1}));
    ASSERT_EQ(ct_index_fill_(x, 0, i64({-1}, {1}), 0), CT_OK) << ct_last_error(); // counts from the end
    EXPECT_EQ(values_of(x), ints({-1, 2, -1, -1, 5, -1, 0, 0, 0}));
}

TEST_F(Indexing, TakeAlongDimDocExample) {
    ct_tensor *t = i64({10, 30, 20, 60, 40, 50}, {2, 3});
    // max_idx = torch.argmax(t) = 3; torch.take_along_dim(t, max_idx) -> tensor([60])
    ct_tensor *m = ct_take_along_dim_flat(t, i64({3}, {1}));
    ASSERT_NE(m, nullptr) << ct_last_error();
    EXPECT_EQ(values_of(m), ints({60}));
    // sorted_idx = torch.argsort(t, dim=1) = [[0, 2, 1], [1, 2, 0]] -> [[10, 20, 30], [40, 50, 60]]
    ct_tensor *s = ct_take_along_dim(t, i64({0, 2, 1, 1, 2, 0}, {2, 3}), 1);
    ASSERT_NE(s, nullptr) << ct_last_error();
    EXPECT_EQ(values_of(s), ints({10, 20, 30, 40, 50, 60}));
}

TEST_F(Indexing, MaskedSelectDocExample) {
    ct_tensor *x = f64(
        {0.3552, -2.3825, -0.8297, 0.3477, -1.2035, 1.2252, 0.5002, 0.6248, 0.1307, -2.0608, 0.1244, 2.0139}, {3, 4});
    ct_tensor *mask = mask_of({0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1}, {3, 4}); // x >= 0.5
    ct_tensor *y = ct_masked_select(x, mask);
    ASSERT_NE(y, nullptr) << ct_last_error();
    EXPECT_EQ(shape_of(y), (std::vector<int64_t>{4}));
    EXPECT_EQ(values_of(y), ints({1.2252, 0.5002, 0.6248, 2.0139}));
}

// ---- semantics beyond the cases -----------------------------------------------------------------------------------

TEST_F(Indexing, ScatterReadsSourceThatAliasesSelf) {
    // x.scatter_(1, [[1, 0]], x): both writes must read the original values (the source is copied first)
    ct_tensor *x = tensor_f32({1, 2, 3, 4}, {2, 2});
    ASSERT_EQ(ct_scatter_(x, 1, i64({1, 0}, {1, 2}), x), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(x), ints({2, 1, 3, 4}));
}

TEST_F(Indexing, ZeroDimensionalTensors) {
    ct_tensor *s = f64({4.5}, {}), *i = i64({0}, {});
    ct_tensor *g = ct_gather(s, 0, i);
    ASSERT_NE(g, nullptr) << ct_last_error();
    EXPECT_EQ(ct_dim(g), 0);
    EXPECT_EQ(values_of(g), ints({4.5}));
    ASSERT_EQ(ct_scatter_add_(s, -1, i, f64({1}, {})), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(s), ints({5.5}));
    ct_tensor *sel = ct_index_select(s, 0, i);
    ASSERT_NE(sel, nullptr) << ct_last_error();
    EXPECT_EQ(ct_dim(sel), 0);
    ASSERT_EQ(ct_index_fill_(s, 0, i, -1), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(s), ints({-1}));
}

TEST_F(Indexing, EmptyIndexIsANoOp) {
    ct_tensor *x = tensor_f32({1, 2, 3}, {3}), *none = ct_empty(1, SHAPE(0), CT_INT64, CT_DEVICE_CPU);
    ct_tensor *floats = ct_empty(1, SHAPE(0), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_scatter_add_(x, 0, none, tensor_f32({9}, {1})), CT_OK);
    // PyTorch checks neither the index dtype nor the shapes of an empty index
    EXPECT_EQ(ct_scatter_(x, 0, floats, tensor_f32({9}, {1})), CT_OK) << ct_last_error();
    EXPECT_EQ(ct_index_add_(x, 0, none, ct_empty(1, SHAPE(0), CT_FLOAT32, CT_DEVICE_CPU), 1), CT_OK);
    EXPECT_EQ(ct_index_fill_(x, 0, none, 5), CT_OK);
    EXPECT_EQ(values_of(x), ints({1, 2, 3}));
    ct_tensor *g = ct_gather(x, 0, floats);
    ASSERT_NE(g, nullptr) << ct_last_error();
    EXPECT_EQ(ct_numel(g), 0);
}

TEST_F(Indexing, FailedScatterLeavesSelfUnchanged) {
    ct_tensor *x = tensor_f32({1, 2, 3, 4}, {4});
    EXPECT_EQ(ct_scatter_add_(x, 0, i64({0, 1, 9, 2}, {4}), tensor_f32({5, 5, 5, 5}, {4})), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "index 9 is out of bounds for dimension 0 with size 4");
    EXPECT_EQ(values_of(x), ints({1, 2, 3, 4}));
}

TEST_F(Indexing, InPlaceOpsLeaveTheirOtherArgumentsAlone) {
    ct_tensor *x = tensor_f32({1, 2, 3}, {3}), *src = tensor_f32({7, 8}, {2}), *idx = i64({2, 0}, {2});
    ASSERT_EQ(ct_index_copy_(x, 0, idx, src), CT_OK);
    EXPECT_EQ(values_of(x), ints({8, 2, 7}));
    EXPECT_EQ(values_of(src), ints({7, 8}));
    EXPECT_EQ(values_of(idx), ints({2, 0}));
}

// ---- errors ---------------------------------------------------------------------------------------------------------

TEST_F(Indexing, GatherErrors) {
    ct_tensor *x = ct_zeros(2, SHAPE(3, 5), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_gather(x, 1, i64({0, 1}, {2})), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "ct_gather: Index tensor must have the same number of dimensions as input tensor");
    EXPECT_EQ(ct_gather(x, 1, ct_zeros(2, SHAPE(4, 2), CT_INT64, CT_DEVICE_CPU)), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE,
                 "Size does not match at dimension 0 expected index [4, 2] to be smaller than self [3, 5] apart from "
                 "dimension 1");
    EXPECT_EQ(ct_gather(x, 1, ct_zeros(2, SHAPE(3, 2), CT_FLOAT32, CT_DEVICE_CPU)), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "gather(): Expected dtype int32/int64 for index");
    EXPECT_EQ(ct_gather(x, 1, i64({0, 7, 1}, {3, 1})), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "ct_gather: index 7 is out of bounds for dimension 1 with size 5");
    EXPECT_EQ(ct_gather(x, -1, i32({0, -1, 1}, {3, 1})), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "index -1 is out of bounds for dimension 1 with size 5");
    EXPECT_EQ(ct_gather(x, 2, i64({0}, {1, 1})), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    EXPECT_EQ(ct_gather(nullptr, 0, i64({0}, {1})), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "input");
}

TEST_F(Indexing, GatherKeepsAnEarlierError) {
    ct_tensor *bad = ct_view(ct_zeros(1, SHAPE(6), CT_FLOAT32, CT_DEVICE_CPU), 1, SHAPE(7));
    ASSERT_EQ(bad, nullptr);
    std::string first = ct_last_error();
    EXPECT_EQ(ct_gather(bad, 0, i64({0}, {1})), nullptr);
    EXPECT_EQ(std::string(ct_last_error()), first);
}

TEST_F(Indexing, ScatterErrors) {
    ct_tensor *x = ct_zeros(2, SHAPE(3, 5), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *src = ct_ones(2, SHAPE(4, 2), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_scatter_(x, 0, i64({0, 1}, {2}), src), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "ct_scatter_: Index tensor must have the same number of dimensions as self tensor");
    EXPECT_EQ(ct_scatter_add_(x, 0, i64({0, 1}, {1, 2}), tensor_f32({1, 2}, {2})), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "Index tensor must have the same number of dimensions as src tensor");
    EXPECT_EQ(ct_scatter_(x, 1, ct_zeros(2, SHAPE(4, 2), CT_INT64, CT_DEVICE_CPU), src), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE,
                 "Expected index [4, 2] to be smaller than self [3, 5] apart from dimension 1 and to be smaller size "
                 "than src [4, 2]");
    EXPECT_EQ(ct_scatter_(x, 0, ct_zeros(2, SHAPE(3, 3), CT_INT64, CT_DEVICE_CPU), src), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "and to be smaller size than src [4, 2]");
    EXPECT_EQ(ct_scatter_value_(x, 0, ct_zeros(2, SHAPE(3, 6), CT_INT64, CT_DEVICE_CPU), 1), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "Expected index [3, 6] to be smaller than self [3, 5] apart from dimension 0");
    EXPECT_EQ(ct_scatter_(x, 0, ct_zeros(2, SHAPE(1, 1), CT_UINT8, CT_DEVICE_CPU), src), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "scatter(): Expected dtype int32/int64 for index");
    EXPECT_EQ(ct_scatter_add_(x, 0, i64({0}, {1, 1}), f64({1}, {1, 1})), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "scatter(): Expected self.dtype to be equal to src.dtype");
    EXPECT_EQ(ct_scatter_(x, 1, i64({0, 5}, {1, 2}), src), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "ct_scatter_: index 5 is out of bounds for dimension 1 with size 5");
    EXPECT_EQ(ct_scatter_reduce_(x, 0, i64({-1}, {1, 1}), src, CT_SCATTER_PROD, true), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "index -1 is out of bounds for dimension 0 with size 3");
    EXPECT_EQ(ct_scatter_reduce_(x, 0, i64({0}, {1, 1}), src, (ct_scatter_reduction)9, true), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "reduce argument must be either sum, prod, mean, amax or amin, got 9");
    ct_tensor *flags = ct_zeros(1, SHAPE(3), CT_BOOL, CT_DEVICE_CPU);
    EXPECT_EQ(ct_scatter_reduce_(flags, 0, i64({0}, {1}), flags, CT_SCATTER_MEAN, true), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "mean");
    ct_tensor *expanded = ct_expand(ct_zeros(2, SHAPE(1, 5), CT_FLOAT32, CT_DEVICE_CPU), 2, SHAPE(3, 5));
    EXPECT_EQ(ct_scatter_add_(expanded, 0, i64({0}, {1, 1}), src), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "more than one element of the written-to tensor refers to a single memory");
    EXPECT_EQ(ct_scatter(x, 0, i64({3}, {1, 1}), src), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "ct_scatter: index 3 is out of bounds for dimension 0 with size 3");
    EXPECT_EQ(ct_scatter_add_(x, 0, nullptr, src), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "index");
}

TEST_F(Indexing, IndexSelectErrors) {
    ct_tensor *x = ct_zeros(2, SHAPE(3, 5), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_index_select(x, 0, i64({0, 1}, {1, 2})), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "index_select(): Index is supposed to be a vector");
    EXPECT_EQ(ct_index_select(x, 0, tensor_f32({0}, {1})), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "index_select(): Expected dtype int32 or int64 for index");
    EXPECT_EQ(ct_index_select(x, 1, i64({0, 5}, {2})), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "index out of range in self: index 5 is out of bounds for dimension 1 with size 5");
    EXPECT_EQ(ct_index_select(x, 0, i32({-1}, {1})), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "index out of range in self");
    EXPECT_EQ(ct_index_select(f64({1}, {}), 0, i64({0, 0}, {2})), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "index_select(): Index to scalar can have only 1 value, got 2 value(s)");
    EXPECT_EQ(ct_index_select(x, -3, i64({0}, {1})), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
}

// The fast CPU paths check their indices too: index_select's whole-row copy (rows of 300 float32, split across
// threads) and a gather along a contiguous last dim (lines checked before they are copied) report an index past the
// end that sits deep inside a large operand, in the op's words, and give no tensor.
TEST_F(Indexing, LargeFastPathsReportABadIndex) {
    const int64_t rows = 2000, cols = 300;
    ct_tensor *x = ct_rand(2, SHAPE(rows, cols), CT_FLOAT32, CT_DEVICE_CPU, nullptr);
    std::vector<int64_t> sel(3000);
    for (size_t i = 0; i < sel.size(); i++) sel[i] = (int64_t)(i * 7 % rows);
    sel[2345] = rows;
    EXPECT_EQ(ct_index_select(x, 0, i64(sel, {3000})), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "index out of range in self: index 2000 is out of bounds for dimension 0 with size 2000");
    std::vector<int32_t> along((size_t)(rows * cols));
    for (size_t i = 0; i < along.size(); i++) along[i] = (int32_t)(i * 13 % cols);
    along[1500 * cols + 17] = -1;
    EXPECT_EQ(ct_gather(x, 1, i32(along, {rows, cols})), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "ct_gather: index -1 is out of bounds for dimension 1 with size 300");
}

// The same fast paths against a float64 reference computed here, element by element: whole rows (index_select of
// 384-byte rows, several threads) and checked-then-copied lines (gather along the last dim, int32 and int64).
TEST_F(Indexing, LargeFastPathsMatchTheirDefinition) {
    const int64_t rows = 1500, cols = 96;
    ct_tensor *x = ct_rand(2, SHAPE(rows, cols), CT_FLOAT32, CT_DEVICE_CPU, nullptr);
    std::vector<float> xv((size_t)(rows * cols));
    ASSERT_EQ(ct_copy_to_buffer(x, xv.data(), xv.size() * sizeof(float)), CT_OK);
    std::vector<int64_t> sel(4000), along((size_t)(rows * cols));
    for (size_t i = 0; i < sel.size(); i++) sel[i] = (int64_t)((i * 611) % rows);
    for (size_t i = 0; i < along.size(); i++) along[i] = (int64_t)((i * 37 + i / 5) % cols);
    std::vector<int32_t> along32(along.begin(), along.end());
    ct_tensor *s = ct_index_select(x, 0, i64(sel, {4000}));
    ASSERT_NE(s, nullptr) << ct_last_error();
    std::vector<float> got((size_t)(4000 * cols));
    ASSERT_EQ(ct_copy_to_buffer(s, got.data(), got.size() * sizeof(float)), CT_OK);
    int64_t wrong = 0;
    for (int64_t r = 0; r < 4000; r++)
        for (int64_t c = 0; c < cols; c++)
            wrong += (double)got[(size_t)(r * cols + c)] != (double)xv[(size_t)(sel[(size_t)r] * cols + c)];
    EXPECT_EQ(wrong, 0);
    for (bool wide : {false, true}) {
        ct_tensor *g = ct_gather(x, 1, wide ? i64(along, {rows, cols}) : i32(along32, {rows, cols}));
        ASSERT_NE(g, nullptr) << ct_last_error();
        std::vector<float> gv((size_t)(rows * cols));
        ASSERT_EQ(ct_copy_to_buffer(g, gv.data(), gv.size() * sizeof(float)), CT_OK);
        wrong = 0;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++)
                wrong += (double)gv[(size_t)(r * cols + c)] !=
                         (double)xv[(size_t)(r * cols + along[(size_t)(r * cols + c)])];
        EXPECT_EQ(wrong, 0) << (wide ? "int64" : "int32");
    }
}

TEST_F(Indexing, IndexAddErrors) {
    ct_tensor *x = ct_zeros(2, SHAPE(5, 3), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *src = ct_ones(2, SHAPE(2, 3), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_index_add_(x, 0, i64({0, 1}, {1, 2}), src, 1), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX,
                 "index_add_(): Index is supposed to be a vector, but got dim: 2 with type: Long and size: [1, 2]");
    EXPECT_EQ(ct_index_add_(x, 0, tensor_f32({0, 1}, {2}), src, 1), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "index_add_(): Expected dtype int32/int64 for index but got: Float");
    EXPECT_EQ(ct_index_add_(x, 0, i64({0, 1}, {2}), ct_ones(2, SHAPE(2, 3), CT_FLOAT64, CT_DEVICE_CPU), 1),
              CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "index_add_(): self (Float) and source (Double) must have the same scalar type");
    EXPECT_EQ(ct_index_add_(x, 1, i64({0, 1}, {2}), tensor_f32({1, 2}, {2}), 1), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "index_add_(): Indexing dim 1 is out of bounds of the source tensor with dim 1");
    EXPECT_EQ(ct_index_add_(x, 0, i64({0, 1, 2}, {3}), src, 1), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE,
                 "index_add_(): Number of indices (3) should be equal to source.size(dim): (2), for dim: 0");
    EXPECT_EQ(ct_index_add_(x, 0, i64({0, 1}, {2}), ct_ones(2, SHAPE(2, 4), CT_FLOAT32, CT_DEVICE_CPU), 1),
              CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "source tensor shape must match self tensor shape, excluding the specified dimension. "
                               "Got self.shape = [5, 3] source.shape = [2, 4]");
    ct_tensor *xi = ct_zeros(2, SHAPE(5, 3), CT_INT64, CT_DEVICE_CPU);
    EXPECT_EQ(ct_index_add_(xi, 0, i64({0, 1}, {2}), ct_ones(2, SHAPE(2, 3), CT_INT64, CT_DEVICE_CPU), 0.5),
              CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT,
                 "For integral input tensors, argument alpha must not be a floating point number.");
    EXPECT_EQ(ct_index_add_(x, 0, i64({0, 5}, {2}), src, 1), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX,
                 "ct_index_add_: index out of range in self: index 5 is out of bounds for dimension 0 with size 5");
    EXPECT_EQ(values_of(x), std::vector<double>(15, 0.0)) << "a failed index_add_ wrote";
}

TEST_F(Indexing, IndexCopyErrors) {
    ct_tensor *x = ct_zeros(2, SHAPE(5, 3), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *src = ct_ones(2, SHAPE(2, 3), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_index_copy_(x, 0, i64({0, 1}, {1, 2}), src), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "index_copy_(): Index should have dimension 1 or 0 (got 2)");
    EXPECT_EQ(ct_index_copy_(x, 0, i64({0, 1}, {2}), tensor_f32({1}, {})), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "index_copy_(): When source is scalar, index should have one element (got 2)");
    EXPECT_EQ(ct_index_copy_(x, 0, i64({0, 1}, {2}), tensor_f32({1, 2}, {2})), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "index_copy_(): When source and destination are not scalars, their dimensionality must "
                               "match. Source dimensionality (1), destination dimensionality (2)");
    EXPECT_EQ(ct_index_copy_(x, 0, tensor_f32({0, 1}, {2}), src), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "index_copy_(): Expected a long tensor for index, but got Float");
    EXPECT_EQ(ct_index_copy_(x, 0, i64({0, 1}, {2}), ct_ones(2, SHAPE(2, 3), CT_FLOAT64, CT_DEVICE_CPU)), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "index_copy_(): self and source expected to have the same dtype, but got (self) Float "
                               "and (source) Double");
    EXPECT_EQ(ct_index_copy_(x, 0, i64({0, 1}, {2}), ct_ones(2, SHAPE(2, 4), CT_FLOAT32, CT_DEVICE_CPU)), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE,
                 "index_copy_(): Source/destination tensor must have same slice shapes. Destination slice "
                 "shape: [3] at dimension 0 and source slice shape: [4] at dimension 0.");
    EXPECT_EQ(ct_index_copy_(x, 0, i64({0, 1, 2}, {3}), src), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "index_copy_(): Number of indices (3) should be equal to source.size(dim) (2)");
    EXPECT_EQ(ct_index_copy_(x, 0, i64({0, 5}, {2}), src), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "index_copy_(): index 5 is out of bounds for dimension 0 with size 5");
}

TEST_F(Indexing, IndexFillErrors) {
    ct_tensor *x = ct_zeros(2, SHAPE(2, 3), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_index_fill_(x, 1, tensor_f32({0}, {1}), 1), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "index_fill_(): Expected dtype int64 for index.");
    EXPECT_EQ(ct_index_fill_(x, 1, i64({0, 1}, {1, 2}), 1), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "Index has to be a vector/scalar");
    EXPECT_EQ(ct_index_fill_(x, 1, i64({-4}, {1}), 1), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "index -4 is out of bounds for dimension 1 with size 3");
    EXPECT_EQ(ct_index_fill_(x, 1, i64({3}, {1}), 1), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "index 3 is out of bounds for dimension 1 with size 3");
}

TEST_F(Indexing, TakeAlongDimErrors) {
    ct_tensor *x = ct_zeros(2, SHAPE(3, 4), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_take_along_dim(x, i64({0}, {1}), 0), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "torch.take_along_dim(): input and indices should have the same number of dimensions, "
                               "but got 2 dimensions for input, and 1 dimensions for indices");
    EXPECT_EQ(ct_take_along_dim(x, tensor_f32({0}, {1, 1}), 0), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "torch.take_along_dim(): dtype of indices should be Long but got Float");
    EXPECT_EQ(ct_take_along_dim(x, ct_zeros(2, SHAPE(2, 2), CT_INT64, CT_DEVICE_CPU), 1), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE,
                 "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 0");
    EXPECT_EQ(ct_take_along_dim(x, i64({4}, {1, 1}), 1), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "index 4 is out of bounds for dimension 1 with size 4");
    EXPECT_EQ(ct_take_along_dim_flat(x, i64({12}, {1})), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "index 12 is out of bounds for dimension 0 with size 12");
}

TEST_F(Indexing, MaskedSelectErrors) {
    ct_tensor *x = ct_zeros(2, SHAPE(3, 4), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_masked_select(x, ct_zeros(2, SHAPE(3, 4), CT_UINT8, CT_DEVICE_CPU)), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "masked_select: expected BoolTensor for mask");
    EXPECT_EQ(ct_masked_select(x, ct_zeros(2, SHAPE(3, 5), CT_BOOL, CT_DEVICE_CPU)), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE,
                 "The size of tensor a (5) must match the size of tensor b (4) at non-singleton dimension 1");
}

// ---- determinism ----------------------------------------------------------------------------------------------------

// Runs op on fresh copies of self n times; expects every result to have the same bits.
void expect_same_bits(const std::function<ct_status(ct_tensor *)> &op, const ct_tensor *self, int n) {
    std::vector<float> first;
    for (int run = 0; run < n; run++) {
        ct_tensor *y = ct_clone(self);
        ASSERT_EQ(op(y), CT_OK) << ct_last_error();
        std::vector<float> bits((size_t)ct_numel(y));
        ASSERT_EQ(ct_copy_to_buffer(y, bits.data(), bits.size() * sizeof(float)), CT_OK);
        if (run == 0)
            first = bits;
        else
            ASSERT_EQ(std::memcmp(first.data(), bits.data(), bits.size() * sizeof(float)), 0) << "run " << run;
        ct_release(y);
    }
}

// Many float32 values of very different magnitudes into few destinations, in the parallel size range: any change of
// summation order would show in the last bits.
void check_deterministic(ct_device device) {
    ct_use_deterministic_algorithms(true);
    ct_generator *gen = ct_generator_new(7);
    ct_tensor *self = ct_zeros(2, SHAPE(16, 96), CT_FLOAT32, device);
    ct_tensor *host_src = ct_randn(2, SHAPE(4000, 96), CT_FLOAT32, CT_DEVICE_CPU, gen);
    float *p = (float *)ct_data_ptr(host_src);
    for (int64_t i = 0; i < ct_numel(host_src); i++) p[i] = std::ldexp(p[i], (int)(i % 29) - 14);
    ct_tensor *src = ct_to_device(host_src, device);
    ct_tensor *index = ct_randint(0, 16, 2, SHAPE(4000, 96), CT_INT64, device, gen);
    ct_tensor *rows = ct_randint(0, 16, 1, SHAPE(4000), CT_INT32, device, gen);
    ct_generator_free(gen);
    ASSERT_NE(index, nullptr) << ct_last_error();
    expect_same_bits([&](ct_tensor *y) { return ct_scatter_add_(y, 0, index, src); }, self, 5);
    expect_same_bits([&](ct_tensor *y) { return ct_scatter_reduce_(y, 0, index, src, CT_SCATTER_SUM, false); }, self,
                     5);
    expect_same_bits([&](ct_tensor *y) { return ct_scatter_reduce_(y, 0, index, src, CT_SCATTER_MEAN, true); }, self,
                     5);
    expect_same_bits([&](ct_tensor *y) { return ct_index_add_(y, 0, rows, src, 0.5); }, self, 5);
}

TEST_F(Indexing, DeterministicModeGivesTheSameBitsOnTheCpu) { check_deterministic(CT_DEVICE_CPU); }

TEST_F(Indexing, DeterministicModeGivesTheSameBitsOnCuda) {
    std::string why = cth::gpu_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    check_deterministic(CT_DEVICE_CUDA(0));
}

// On CUDA a bad index raises the device flag: the launch succeeds, the next synchronising call reports it.
TEST_F(Indexing, CudaBadIndexIsReportedAtTheNextSynchronisation) {
    std::string why = cth::gpu_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    ct_device gpu = CT_DEVICE_CUDA(0);
    ct_tensor *x = ct_to_device(ct_zeros(2, SHAPE(3, 5), CT_FLOAT32, CT_DEVICE_CPU), gpu);
    ct_tensor *index = ct_to_device(i64({0, 7, 1}, {3, 1}), gpu);
    ct_tensor *y = ct_gather(x, 1, index);
    ASSERT_NE(y, nullptr) << ct_last_error();
    EXPECT_EQ(ct_synchronize(gpu), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "index 7 is out of bounds for dimension 1 with size 5");
    EXPECT_EQ(ct_synchronize(gpu), CT_OK) << "the flag is cleared once reported";
    ASSERT_EQ(ct_scatter_add_(x, 0, ct_to_device(i64({-2}, {1, 1}), gpu), ct_ones_like(x)), CT_OK);
    std::vector<float> host(15);
    EXPECT_EQ(ct_copy_to_buffer(x, host.data(), sizeof(float) * host.size()), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "index -2 is out of bounds for dimension 0 with size 3");
}

} // namespace
