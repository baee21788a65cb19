// Reductions, scans and softmax (include/ctorch/reduce.h).
//
// Op cases: each op over several geometries (one dim, a tuple of dims, keepdim, negative dims, every dim,
// transposed inputs, 0-d and zero-size inputs, long reductions that the CPU splits into parts), checked on the CPU
// against float64 references computed here from the inputs, and on CUDA against the CPU. Plain tests: the PyTorch
// docs' examples, float32 precision over 10^7 elements, softmax stability, ties and NaN, dtypes, and every error.
//
// Tolerances (normalised mean squared error, see harness.h):
//  - kF32: float32 results. The CPU accumulates in double, or (float32 sums) in short float32 blocks whose totals
//    it adds in double, so each output carries about one float32 rounding (relative error ~2^-24, squared ~3.6e-15); CUDA accumulates in float, adding ~sqrt(n) * 2^-24 relative for the n <= 6e3
//    terms per output of the ordinary cases. 1e-12 bounds both with room.
//  - kF32Long: float32 reductions of 10^5 terms per output, where CUDA's float accumulation can reach ~1e-6
//    relative in the worst case (squared 1e-12): 1e-10.
//  - kF64: float64 results; the error is a few multiples of n * 2^-53 relative (n <= 10^5): below 1e-22 squared.
//  - kExact: integer results and indices, which must match exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "harness.h"
#include "test_helpers.h"

namespace {

constexpr double kF32 = 1e-12, kF32Long = 1e-10, kF64 = 1e-20, kExact = 0;

using Fold = std::function<double(const std::vector<double> &)>;
using DimsOp = std::function<ct_tensor *(ct_tensor *, int, const int *, bool)>;

// ---- float64 references ------------------------------------------------------------------------------------------

// Reduces x over dims (empty: all) with fold, which sees each output's elements in row-major order.
cth::Ref reduce_ref(const cth::Ref &x, const std::vector<int> &dims, bool keepdim, const Fold &fold) {
    size_t nd = x.shape.size();
    if (nd == 0) return cth::Ref{{}, {fold(x.values)}};
    std::vector<bool> mask(nd, dims.empty());
    for (int d : dims) mask[(size_t)(d < 0 ? d + (int)nd : d)] = true;
    cth::Ref out;
    std::vector<int64_t> kept;
    for (size_t d = 0; d < nd; d++) {
        if (!mask[d]) out.shape.push_back(x.shape[d]), kept.push_back(x.shape[d]);
        else if (keepdim) out.shape.push_back(1);
    }
    int64_t nout = 1;
    for (int64_t s : kept) nout *= s;
    std::vector<std::vector<double>> buckets((size_t)nout);
    for (int64_t flat = 0; flat < x.numel(); flat++) {
        int64_t rest = flat, o = 0, scale = 1;
        for (size_t d = nd; d-- > 0;) {
            int64_t i = rest % x.shape[d];
            rest /= x.shape[d];
            if (!mask[d]) o += i * scale, scale *= x.shape[d];
        }
        buckets[(size_t)o].push_back(x.values[(size_t)flat]);
    }
    for (auto &b : buckets) out.values.push_back(fold(b));
    return out;
}

double f_sum(const std::vector<double> &v) {
    double s = 0;
    for (double x : v) s += x;
    return s;
}
double f_mean(const std::vector<double> &v) { return v.empty() ? NAN : f_sum(v) / (double)v.size(); }
double f_prod(const std::vector<double> &v) {
    double s = 1;
    for (double x : v) s *= x;
    return s;
}
double f_amax(const std::vector<double> &v) {
    double m = -INFINITY;
    for (double x : v) m = std::isnan(x) || std::isnan(m) ? NAN : std::max(m, x);
    return m;
}
double f_amin(const std::vector<double> &v) {
    double m = INFINITY;
    for (double x : v) m = std::isnan(x) || std::isnan(m) ? NAN : std::min(m, x);
    return m;
}
// Index of the first largest (smallest) element, or of the first NaN.
double first_index(const std::vector<double> &v, bool largest) {
    for (size_t i = 0; i < v.size(); i++)
        if (std::isnan(v[i])) return (double)i;
    double best = largest ? f_amax(v) : f_amin(v);
    for (size_t i = 0; i < v.size(); i++)
        if (v[i] == best) return (double)i;
    return -1;
}
double f_argmax(const std::vector<double> &v) { return first_index(v, true); }
double f_argmin(const std::vector<double> &v) { return first_index(v, false); }
Fold f_var(double correction, bool take_sqrt) {
    return [=](const std::vector<double> &v) {
        double mean = f_mean(v), m2 = 0;
        for (double x : v) m2 += (x - mean) * (x - mean);
        double var = v.empty() ? NAN : m2 / std::max(0.0, (double)v.size() - correction);
        return take_sqrt ? std::sqrt(var) : var;
    };
}
double f_logsumexp(const std::vector<double> &v) {
    double m = f_amax(v), s = 0;
    if (std::isinf(m)) m = 0;
    for (double x : v) s += std::exp(x - m);
    return std::log(s) + m;
}
Fold f_norm(double p) {
    return [=](const std::vector<double> &v) {
        if (std::isinf(p)) {
            std::vector<double> a;
            for (double x : v) a.push_back(std::fabs(x));
            return p > 0 ? f_amax(a) : f_amin(a);
        }
        double s = 0;
        for (double x : v) s += p == 0 ? (x != 0) : std::pow(std::fabs(x), p);
        return p == 0 ? s : std::pow(s, 1 / p);
    };
}
double f_count(const std::vector<double> &v) {
    double c = 0;
    for (double x : v) c += x != 0;
    return c;
}
double f_all(const std::vector<double> &v) { return f_count(v) == (double)v.size(); }
double f_any(const std::vector<double> &v) { return f_count(v) > 0; }

// The reference of a scan along dim of x.
cth::Ref scan_ref(const cth::Ref &x, int dim, bool product) {
    cth::Ref out = x;
    size_t nd = x.shape.size();
    if (nd == 0) return out;
    size_t d = (size_t)(dim < 0 ? dim + (int)nd : dim);
    int64_t n = x.shape[d], inner = 1;
    for (size_t i = d + 1; i < nd; i++) inner *= x.shape[i];
    for (int64_t flat = 0; flat < x.numel(); flat++) {
        int64_t k = flat / inner % n;
        if (k > 0) {
            double prev = out.values[(size_t)(flat - inner)];
            out.values[(size_t)flat] = product ? prev * x.values[(size_t)flat] : prev + x.values[(size_t)flat];
        }
    }
    return out;
}

// The reference of softmax (log_softmax) along dim of x, in the textbook stable form.
cth::Ref softmax_ref(const cth::Ref &x, int dim, bool log) {
    cth::Ref out = x;
    size_t nd = x.shape.size();
    size_t d = nd == 0 ? 0 : (size_t)(dim < 0 ? dim + (int)nd : dim);
    int64_t n = nd ? x.shape[d] : 1, inner = 1;
    for (size_t i = d + 1; i < nd; i++) inner *= x.shape[i];
    for (int64_t flat = 0; flat < x.numel(); flat++) {
        int64_t k = flat / inner % n, first = flat - k * inner;
        std::vector<double> line;
        for (int64_t j = 0; j < n; j++) line.push_back(x.values[(size_t)(first + j * inner)]);
        double m = f_amax(line), s = 0;
        for (double v : line) s += std::exp(v - m);
        double v = x.values[(size_t)flat];
        out.values[(size_t)flat] = log ? v - m - std::log(s) : std::exp(v - m) / s;
    }
    return out;
}

// ---- registering cases --------------------------------------------------------------------------------------------

double tol_for(ct_dtype dtype, bool long_case) {
    if (dtype == CT_FLOAT64) return kF64;
    if (dtype == CT_FLOAT32) return long_case ? kF32Long : kF32;
    return kExact;
}

void add_reduction(const std::string &op, const std::string &name, cth::InputSpec in, std::vector<int> dims,
                   bool keepdim, DimsOp fn, Fold fold, double tol, ct_dtype expected = CT_NUM_DTYPES) {
    cth::OpCase c;
    c.op = op;
    c.name = name;
    c.inputs = {in};
    c.run = [=](const cth::Inputs &x) { return fn(x[0], (int)dims.size(), dims.empty() ? nullptr : dims.data(), keepdim); };
    c.reference = [=](const std::vector<cth::Ref> &r) { return reduce_ref(r[0], dims, keepdim, fold); };
    c.max_nmse = tol;
    c.expected_dtype = expected;
    cth::add_case(c);
}

// An op's standard geometries. `values` draws the input of a shape and dtype; `result` maps an input dtype to the
// result's; `long_cases` adds the reductions of 10^5 terms per output (the CPU splits them into parts).
struct Family {
    std::string op;
    DimsOp fn;
    Fold fold;
    std::function<cth::InputSpec(std::vector<int64_t>, ct_dtype)> values;
    std::function<ct_dtype(ct_dtype)> result;
    bool long_cases = true;
    std::string prefix = ""; // tells apart the families of one op (the norms' orders)
};

void add_standard(const Family &f) {
    auto add = [&](const std::string &name, cth::InputSpec in, std::vector<int> dims, bool keepdim, bool long_case) {
        ct_dtype out = f.result(in.dtype);
        keepdim = keepdim && f.op != "count_nonzero"; // torch.count_nonzero has no keepdim
        add_reduction(f.op, f.prefix + name, in, dims, keepdim, f.fn, f.fold, tol_for(out, long_case), out);
    };
    add("f32_dim1", f.values({4, 5, 6}, CT_FLOAT32), {1}, false, false);
    add("f32_dims_0_2_keepdim", f.values({4, 5, 6}, CT_FLOAT32), {0, 2}, true, false);
    add("f32_negative_dim", f.values({4, 5, 6}, CT_FLOAT32), {-1}, false, false);
    add("f32_negative_tuple", f.values({4, 5, 6}, CT_FLOAT32), {-3, -2}, false, false);
    add("f32_all_dims", f.values({4, 5, 6}, CT_FLOAT32), {}, false, false);
    add("f32_all_dims_keepdim", f.values({3, 4}, CT_FLOAT32), {}, true, false);
    add("f32_4d_middle_dims", f.values({2, 3, 4, 5}, CT_FLOAT32), {1, 2}, false, false);
    add("f32_transposed_dim0", cth::transposed(f.values({7, 9}, CT_FLOAT32)), {0}, false, false);
    add("f32_transposed_dim1", cth::transposed(f.values({7, 9}, CT_FLOAT32)), {1}, true, false);
    add("f32_transposed_all", cth::transposed(f.values({7, 9}, CT_FLOAT32)), {}, false, false);
    add("f32_wide_rows_dim0", f.values({50, 300}, CT_FLOAT32), {0}, false, false);
    add("f32_many_short_rows", f.values({3000, 3}, CT_FLOAT32), {1}, false, false);
    add("f32_scalar_0d", f.values({}, CT_FLOAT32), {0}, false, false);
    add("f32_size1_dims", f.values({1, 6, 1}, CT_FLOAT32), {0, 2}, false, false);
    add("f64_tuple_2_0", f.values({3, 4, 5}, CT_FLOAT64), {2, 0}, false, false);
    add("f64_transposed_4d", cth::transposed(f.values({2, 3, 4, 5}, CT_FLOAT64)), {3, 1}, true, false);
    if (!f.long_cases) return;
    add("f32_long_rows_parts", f.values({3, 100000}, CT_FLOAT32), {1}, false, true);
    add("f32_long_columns_parts", f.values({70000, 20}, CT_FLOAT32), {0}, false, true);
    add("f32_long_narrow_columns", f.values({100000, 3}, CT_FLOAT32), {0}, false, true);
    add("f32_everything_parts", f.values({200000}, CT_FLOAT32), {}, false, true);
}

std::function<cth::InputSpec(std::vector<int64_t>, ct_dtype)> uniform_in(double lo, double hi) {
    return [=](std::vector<int64_t> shape, ct_dtype dtype) { return cth::uniform(shape, dtype, lo, hi); };
}

ct_dtype same(ct_dtype d) { return d; }
ct_dtype widened(ct_dtype d) { return d == CT_FLOAT32 || d == CT_FLOAT64 ? d : CT_INT64; }
ct_dtype to_int64(ct_dtype) { return CT_INT64; }
ct_dtype to_bool(ct_dtype d) { return d == CT_UINT8 ? CT_UINT8 : CT_BOOL; }

// Runs a single-dim-with-indices op and keeps one of its two results.
DimsOp values_or_indices(ct_status (*fn)(const ct_tensor *, int, bool, ct_tensor **, ct_tensor **), bool indices) {
    return [=](ct_tensor *t, int, const int *dims, bool keepdim) -> ct_tensor * {
        ct_tensor *v = nullptr, *i = nullptr;
        if (fn(t, dims[0], keepdim, &v, &i) != CT_OK) return nullptr;
        ct_release(indices ? v : i);
        return indices ? i : v;
    };
}

DimsOp arg_op(ct_tensor *(*fn)(const ct_tensor *, const int *, bool)) {
    return [=](ct_tensor *t, int ndims, const int *dims, bool keepdim) { return fn(t, ndims ? dims : nullptr, keepdim); };
}

DimsOp moments_op(ct_status (*fn)(const ct_tensor *, int, const int *, double, bool, ct_tensor **, ct_tensor **),
                  double correction, bool mean) {
    return [=](ct_tensor *t, int ndims, const int *dims, bool keepdim) -> ct_tensor * {
        ct_tensor *s = nullptr, *m = nullptr;
        if (fn(t, ndims, dims, correction, keepdim, &s, &m) != CT_OK) return nullptr;
        ct_release(mean ? s : m);
        return mean ? m : s;
    };
}

// Ties and NaN for the ops that return an index: the first occurrence must win.
const std::vector<double> kTies = {1, 3, 3, 0, 3, 2, 2, 1, 2, 0, -1, -1, -1, -1, -1};
const std::vector<double> kWithNaN = {1, NAN, 3, NAN, 0, 5, 2, 5};

// 6 x 70 small integers with ties in every column, NaN in some (twice in a few), -inf in others.
std::vector<double> nan_ties_6x70() {
    std::vector<double> v(6 * 70);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 70; j++) {
            int k = (i * 31 + j * 17) % 11;
            v[i * 70 + j] = k == 0 && j % 3 == 0 ? NAN : k == 1 ? -INFINITY : (double)(k % 3);
        }
    return v;
}

void register_index_cases() {
    using namespace cth;
    struct Op {
        std::string name;
        bool largest;
        ct_status (*dim_fn)(const ct_tensor *, int, bool, ct_tensor **, ct_tensor **);
        ct_tensor *(*arg_fn)(const ct_tensor *, const int *, bool);
    };
    for (const Op &op : {Op{"max", true, ct_max_dim, ct_argmax}, Op{"min", false, ct_min_dim, ct_argmin}}) {
        Fold value = op.largest ? Fold(f_amax) : Fold(f_amin), index = op.largest ? Fold(f_argmax) : Fold(f_argmin);
        std::string arg = op.largest ? "argmax" : "argmin";
        for (bool want_index : {false, true}) {
            std::string what = want_index ? "_indices" : "_values";
            DimsOp fn = values_or_indices(op.dim_fn, want_index);
            Fold fold = want_index ? index : value;
            add_reduction(op.name, "ties_dim1" + what, given({3, 5}, kTies), {1}, false, fn, fold, kExact);
            add_reduction(op.name, "ties_dim0_keepdim" + what, given({3, 5}, kTies), {0}, true, fn, fold, kExact);
            add_reduction(op.name, "nan_first" + what, given({2, 4}, kWithNaN), {-1}, false, fn, fold, kExact);
            add_reduction(op.name, "f32_3d_dim1" + what, uniform({4, 5, 6}), {1}, false, fn, fold, kExact);
            add_reduction(op.name, "transposed_dim0" + what, transposed(integers({9, 7}, 0, 3, CT_FLOAT32)), {0},
                          false, fn, fold, kExact);
            add_reduction(op.name, "int32_ties_dim0" + what, integers({60, 70}, -2, 2, CT_INT32), {0}, false, fn,
                          fold, kExact);
            // the vectorised columns of float max/min with indices: ties, NaN (first one wins), -inf, long parts
            add_reduction(op.name, "f32_ties_nan_columns" + what, given({6, 70}, nan_ties_6x70()), {0}, false, fn,
                          fold, kExact);
            add_reduction(op.name, "f64_columns_parts" + what, integers({3000, 90}, -3, 3, CT_FLOAT64), {0}, false,
                          fn, fold, kExact);
            add_reduction(op.name, "f64_long_ties_parts" + what, integers({2, 100000}, 0, 3, CT_FLOAT64), {1}, false,
                          fn, fold, kExact);
            add_reduction(op.name, "scalar_0d" + what, uniform({}), {0}, false, fn, fold, kExact);
            add_reduction(op.name, "zero_size_outputs" + what, uniform({0, 4}), {1}, false, fn, fold, kExact);
        }
        add_reduction(op.name, "all_elements",
                      given({3, 5}, kTies), {}, false,
                      [=](ct_tensor *t, int, const int *, bool) { return op.largest ? ct_max(t) : ct_min(t); }, value,
                      kExact);
        add_reduction(op.name, "all_elements_nan", given({2, 4}, kWithNaN), {}, false,
                      [=](ct_tensor *t, int, const int *, bool) { return op.largest ? ct_max(t) : ct_min(t); }, value,
                      kExact);
        add_reduction(op.name, "all_elements_long_int64", integers({300000}, -1000000, 1000000), {}, false,
                      [=](ct_tensor *t, int, const int *, bool) { return op.largest ? ct_max(t) : ct_min(t); }, value,
                      kExact, CT_INT64);
        DimsOp argfn = arg_op(op.arg_fn);
        add_reduction(arg, "flattened", given({3, 5}, kTies), {}, false, argfn, index, kExact, CT_INT64);
        add_reduction(arg, "flattened_keepdim", given({3, 5}, kTies), {}, true, argfn, index, kExact, CT_INT64);
        add_reduction(arg, "flattened_transposed", transposed(integers({6, 5}, 0, 4, CT_FLOAT32)), {}, false, argfn,
                      index, kExact, CT_INT64);
        add_reduction(arg, "dim0_ties", given({3, 5}, kTies), {0}, false, argfn, index, kExact, CT_INT64);
        add_reduction(arg, "dim_neg1_nan", given({2, 4}, kWithNaN), {-1}, true, argfn, index, kExact, CT_INT64);
        add_reduction(arg, "bool_dim1", bools({5, 8}), {1}, false, argfn, index, kExact, CT_INT64);
        add_reduction(arg, "all_equal_long_parts", integers({300000}, 0, 1, CT_FLOAT32), {}, false, argfn, index,
                      kExact, CT_INT64);
        add_reduction(arg, "long_ties_parts", integers({300000}, 0, 4, CT_FLOAT32), {}, false, argfn, index, kExact,
                      CT_INT64);
        add_reduction(arg, "long_odd_rows_ties", integers({3, 4099}, 0, 5, CT_FLOAT32), {1}, false, argfn, index,
                      kExact, CT_INT64);
        add_reduction(arg, "columns_ties", integers({500, 70}, 0, 3, CT_INT64), {0}, false, argfn, index, kExact,
                      CT_INT64);
    }
}

// 2.5 -> "2p5", -1 -> "m1": a number as a test-name part.
std::string number_tag(double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
    for (char &ch : s) ch = ch == '.' ? 'p' : ch == '-' ? 'm' : ch;
    return s;
}

void register_reduction_cases() {
    using namespace cth;
    add_standard({"sum", ct_sum, f_sum, uniform_in(-1, 1), widened});
    add_standard({"mean", ct_mean, f_mean, uniform_in(-1, 1), same});
    add_standard({"prod", ct_prod, f_prod, uniform_in(0.5, 1.5), widened, false});
    add_standard({"amax", ct_amax, f_amax, uniform_in(-1, 1), same});
    add_standard({"amin", ct_amin, f_amin, uniform_in(-1, 1), same});
    add_standard({"logsumexp", ct_logsumexp, f_logsumexp, uniform_in(-5, 5), same});
    add_standard({"count_nonzero", [](ct_tensor *t, int n, const int *d, bool) { return ct_count_nonzero(t, n, d); },
                  f_count, [](std::vector<int64_t> s, ct_dtype d) { return integers(s, -1, 2, d); }, to_int64});
    add_standard({"all", ct_all, f_all, [](std::vector<int64_t> s, ct_dtype d) { return integers(s, 0, 9, d); },
                  to_bool});
    add_standard({"any", ct_any, f_any, [](std::vector<int64_t> s, ct_dtype d) { return integers(s, -1, 1, d); },
                  to_bool});
    const double inf = std::numeric_limits<double>::infinity();
    for (double p : {1.0, 2.0, inf, -inf, 0.0, 3.0, 0.5, -1.0}) {
        std::string tag = std::isinf(p) ? (p > 0 ? "inf" : "neg_inf") : number_tag(p);
        Family f{"vector_norm", [p](ct_tensor *t, int n, const int *d, bool k) { return ct_vector_norm(t, p, n, d, k); },
                 f_norm(p), uniform_in(-2, 2), same, p == 2 || std::isinf(p), "ord_" + tag + "_"};
        if (p == 2 || std::isinf(p) || p == 1) { // the common orders get every geometry
            add_standard(f);
            continue;
        }
        add_reduction("vector_norm", "ord_" + tag + "_dims_0_2", uniform({4, 5, 6}, CT_FLOAT32, -2, 2), {0, 2}, false,
                      f.fn, f.fold, kF32, CT_FLOAT32);
        add_reduction("vector_norm", "ord_" + tag + "_f64_all", uniform({6, 7}, CT_FLOAT64, -2, 2), {}, true, f.fn,
                      f.fold, kF64, CT_FLOAT64);
    }
    for (double c : {1.0, 0.0, 2.5}) {
        std::string tag = "correction_" + number_tag(c);
        add_reduction("var", tag + "_dim1", uniform({4, 5, 6}), {1}, false, [c](ct_tensor *t, int n, const int *d, bool k) {
            return ct_var(t, n, d, c, k);
        }, f_var(c, false), kF32, CT_FLOAT32);
        add_reduction("std", tag + "_all_f64", normal({5, 6}, CT_FLOAT64), {}, true,
                      [c](ct_tensor *t, int n, const int *d, bool k) { return ct_std(t, n, d, c, k); }, f_var(c, true),
                      kF64, CT_FLOAT64);
    }
    add_standard({"var", [](ct_tensor *t, int n, const int *d, bool k) { return ct_var(t, n, d, 1, k); },
                  f_var(1, false), uniform_in(-1, 3), same});
    add_standard({"std", [](ct_tensor *t, int n, const int *d, bool k) { return ct_std(t, n, d, 1, k); },
                  f_var(1, true), uniform_in(-1, 3), same});
    add_reduction("var", "offset_1e4_stable", uniform({4, 3000}, CT_FLOAT64, 1e4, 1e4 + 1), {1}, false,
                  [](ct_tensor *t, int n, const int *d, bool k) { return ct_var(t, n, d, 1, k); }, f_var(1, false),
                  1e-16, CT_FLOAT64);
    for (bool mean : {false, true}) {
        std::string what = mean ? "_mean" : "_spread";
        add_reduction("var_mean", "dim1" + what, uniform({4, 5, 6}), {1}, false, moments_op(ct_var_mean, 1, mean),
                      mean ? Fold(f_mean) : f_var(1, false), kF32, CT_FLOAT32);
        add_reduction("var_mean", "long_columns" + what, uniform({70000, 20}), {0}, true,
                      moments_op(ct_var_mean, 0, mean), mean ? Fold(f_mean) : f_var(0, false), kF32Long, CT_FLOAT32);
        add_reduction("std_mean", "tuple_f64" + what, normal({3, 4, 5}, CT_FLOAT64), {0, -1}, true,
                      moments_op(ct_std_mean, 1, mean), mean ? Fold(f_mean) : f_var(1, true), kF64, CT_FLOAT64);
        add_reduction("std_mean", "empty" + what, uniform({0, 3}), {0}, false, moments_op(ct_std_mean, 1, mean),
                      mean ? Fold(f_mean) : f_var(1, true), kF32, CT_FLOAT32);
    }
    // zero-size reductions: the identities
    // the CPU's column plan: groups of 2048 outputs (two per row here), and a split into parts of two blocks each
    add_reduction("sum", "f32_two_groups_per_row", uniform({3, 2500}), {0}, false, ct_sum, f_sum, kF32, CT_FLOAT32);
    add_reduction("sum", "f32_long_wide_columns_parts", uniform({65600, 70}), {0}, true, ct_sum, f_sum, kF32Long,
                  CT_FLOAT32);
    // rows whose starts are not 16-byte aligned (CUDA's vector loads start after a scalar head)
    add_reduction("sum", "f32_long_odd_rows", uniform({3, 4099}), {1}, false, ct_sum, f_sum, kF32, CT_FLOAT32);
    add_reduction("sum", "f64_odd_rows", normal({5, 1027}, CT_FLOAT64), {-1}, false, ct_sum, f_sum, kF64, CT_FLOAT64);
    add_reduction("amax", "f32_long_odd_rows", uniform({3, 4099}), {1}, false, ct_amax, f_amax, kExact, CT_FLOAT32);
    add_reduction("sum", "zero_size_dim0", uniform({0, 4}), {0}, false, ct_sum, f_sum, kExact, CT_FLOAT32);
    add_reduction("sum", "zero_size_outputs", uniform({0, 4}), {1}, true, ct_sum, f_sum, kExact, CT_FLOAT32);
    add_reduction("prod", "zero_size_all", uniform({3, 0}), {}, false, ct_prod, f_prod, kExact, CT_FLOAT32);
    add_reduction("mean", "zero_size_is_nan", uniform({0, 4}), {0}, false, ct_mean, f_mean, kExact, CT_FLOAT32);
    add_reduction("var", "zero_size_is_nan", uniform({2, 0}), {1}, false,
                  [](ct_tensor *t, int n, const int *d, bool k) { return ct_var(t, n, d, 1, k); }, f_var(1, false),
                  kExact, CT_FLOAT32);
    add_reduction("logsumexp", "zero_size_is_neg_inf", uniform({0, 3}), {0}, false, ct_logsumexp, f_logsumexp, kExact,
                  CT_FLOAT32);
    add_reduction("vector_norm", "zero_size_ord2", uniform({0, 3}), {0}, false,
                  [](ct_tensor *t, int n, const int *d, bool k) { return ct_vector_norm(t, 2, n, d, k); }, f_norm(2),
                  kExact, CT_FLOAT32);
    add_reduction("all", "zero_size_is_true", uniform({0, 3}), {0}, false, ct_all, f_all, kExact, CT_BOOL);
    add_reduction("any", "zero_size_is_false", uniform({0, 3}), {0}, false, ct_any, f_any, kExact, CT_BOOL);
    add_reduction("count_nonzero", "zero_size",
                  uniform({3, 0}), {1}, false, [](ct_tensor *t, int n, const int *d, bool) { return ct_count_nonzero(t, n, d); },
                  f_count, kExact, CT_INT64);
    add_reduction("amax", "zero_size_outputs", uniform({0, 4}), {1}, false, ct_amax, f_amax, kExact, CT_FLOAT32);
    // integer and bool inputs
    add_reduction("sum", "int32_to_int64", integers({5, 6}, -100, 100, CT_INT32), {1}, false, ct_sum, f_sum, kExact,
                  CT_INT64);
    add_reduction("sum", "uint8_columns", integers({300, 40}, 0, 256, CT_UINT8), {0}, false, ct_sum, f_sum, kExact,
                  CT_INT64);
    add_reduction("sum", "bool_counts", bools({7, 9}), {}, false, ct_sum, f_sum, kExact, CT_INT64);
    add_reduction("sum", "int64_long_parts", integers({300000}, -1000, 1000), {}, false, ct_sum, f_sum, kExact,
                  CT_INT64);
    add_reduction("prod", "int64_small", integers({4, 5}, -3, 4), {1}, false, ct_prod, f_prod, kExact, CT_INT64);
    add_reduction("prod", "bool_is_all", bools({6, 3}), {0}, false, ct_prod, f_prod, kExact, CT_INT64);
    add_reduction("amax", "int32_keeps_dtype", integers({6, 7}, -50, 50, CT_INT32), {0}, false, ct_amax, f_amax,
                  kExact, CT_INT32);
    add_reduction("amin", "uint8_keeps_dtype", integers({6, 7}, 0, 256, CT_UINT8), {1}, true, ct_amin, f_amin, kExact,
                  CT_UINT8);
    add_reduction("amax", "nan_propagates", given({2, 4}, kWithNaN), {1}, false, ct_amax, f_amax, kExact, CT_FLOAT32);
    add_reduction("amin", "nan_propagates_columns", given({4, 2}, kWithNaN), {0}, false, ct_amin, f_amin, kExact,
                  CT_FLOAT32);
    add_reduction("logsumexp", "int64_becomes_float32", integers({3, 4}, -5, 5), {1}, false, ct_logsumexp,
                  f_logsumexp, kF32, CT_FLOAT32);
    add_reduction("logsumexp", "large_values_stable", uniform({4, 50}, CT_FLOAT32, -1000, 1000), {1}, false,
                  ct_logsumexp, f_logsumexp, kF32, CT_FLOAT32);
    add_reduction("logsumexp", "infinities", given({3, 3}, {-INFINITY, -INFINITY, -INFINITY, 1, INFINITY, 2, 0, -INFINITY, 3}),
                  {1}, false, ct_logsumexp, f_logsumexp, kF32, CT_FLOAT32);
    add_reduction("all", "uint8_gives_uint8", integers({4, 5}, 0, 3, CT_UINT8), {1}, false, ct_all, f_all, kExact,
                  CT_UINT8);
    add_reduction("any", "nan_is_nonzero", given({2, 3}, {0, NAN, 0, 0, 0, 0}), {1}, false, ct_any, f_any, kExact,
                  CT_BOOL);
    add_reduction("all", "bool_columns", bools({40, 70}), {0}, false, ct_all, f_all, kExact, CT_BOOL);
    // the typed counting pass over contiguous lines (floats tested by their bits): -0.0 is zero, NaN, inf and a
    // denormal are not, on lines longer than a vector with a partial one at the end
    std::vector<double> signs;
    for (int i = 0; i < 3 * 37; i++) {
        const double v[] = {0.0, -0.0, NAN, INFINITY, -INFINITY, 1e-45, -2.5, 0.0, -0.0};
        signs.push_back(v[(i * 7) % 9]);
    }
    for (ct_dtype d : {CT_FLOAT32, CT_FLOAT64}) {
        add_reduction("count_nonzero", d == CT_FLOAT32 ? "float32_signed_zeros_nan_denormal" : "float64_signed_zeros_nan",
                      given({3, 37}, signs, d), {1}, false,
                      [](ct_tensor *t, int n, const int *dd, bool) { return ct_count_nonzero(t, n, dd); }, f_count,
                      kExact, CT_INT64);
        add_reduction("all", d == CT_FLOAT32 ? "float32_rows" : "float64_rows", given({3, 37}, signs, d), {1},
                      false, ct_all, f_all, kExact, CT_BOOL);
    }
    add_reduction("any", "bool_long_rows", bools({5, 1000}), {1}, false, ct_any, f_any, kExact, CT_BOOL);
    add_reduction("count_nonzero", "int32_rows", integers({4, 100}, -2, 2, CT_INT32), {1}, false,
                  [](ct_tensor *t, int n, const int *d, bool) { return ct_count_nonzero(t, n, d); }, f_count, kExact,
                  CT_INT64);
    add_reduction("count_nonzero", "uint8_all", integers({3, 333}, 0, 3, CT_UINT8), {}, false,
                  [](ct_tensor *t, int n, const int *d, bool) { return ct_count_nonzero(t, n, d); }, f_count, kExact,
                  CT_INT64);
}

void register_scan_and_softmax_cases() {
    using namespace cth;
    struct Scan {
        std::string op;
        ct_tensor *(*fn)(const ct_tensor *, int);
        bool product;
    };
    for (const Scan &s : {Scan{"cumsum", ct_cumsum, false}, Scan{"cumprod", ct_cumprod, true}}) {
        auto add = [&](const std::string &name, InputSpec in, int dim, double tol, ct_dtype out) {
            cth::OpCase c{s.op, name, {in}, [=](const Inputs &x) { return s.fn(x[0], dim); },
                          [=](const std::vector<Ref> &r) { return scan_ref(r[0], dim, s.product); }, tol};
            c.expected_dtype = out;
            add_case(c);
        };
        double lo = s.product ? 0.7 : -1, hi = s.product ? 1.3 : 1;
        add("f32_dim1", uniform({5, 6}, CT_FLOAT32, lo, hi), 1, kF32, CT_FLOAT32);
        add("f32_dim0", uniform({5, 6}, CT_FLOAT32, lo, hi), 0, kF32, CT_FLOAT32);
        add("f32_3d_middle", uniform({3, 4, 70}, CT_FLOAT32, lo, hi), 1, kF32, CT_FLOAT32);
        add("f32_negative_dim", uniform({3, 4, 5}, CT_FLOAT32, lo, hi), -1, kF32, CT_FLOAT32);
        add("f32_transposed", transposed(uniform({6, 8}, CT_FLOAT32, lo, hi)), 1, kF32, CT_FLOAT32);
        add("f32_long_line", uniform({2, 3000}, CT_FLOAT32, s.product ? 0.99 : -1, s.product ? 1.01 : 1), 1, kF32,
            CT_FLOAT32);
        add("f64_dim0_columns", uniform({300, 9}, CT_FLOAT64, lo, hi), 0, kF64, CT_FLOAT64);
        add("int32_to_int64", integers({4, 6}, -3, 4, CT_INT32), 1, kExact, CT_INT64);
        add("bool_to_int64", bools({3, 7}), 0, kExact, CT_INT64);
        add("scalar_0d", uniform({}, CT_FLOAT32, lo, hi), 0, kF32, CT_FLOAT32);
        add("zero_size", uniform({0, 5}), 1, kExact, CT_FLOAT32);
    }
    for (bool log : {false, true}) {
        std::string op = log ? "log_softmax" : "softmax";
        auto add = [&](const std::string &name, InputSpec in, int dim, double tol) {
            cth::OpCase c{op, name, {in},
                          [=](const Inputs &x) { return log ? ct_log_softmax(x[0], dim) : ct_softmax(x[0], dim); },
                          [=](const std::vector<Ref> &r) { return softmax_ref(r[0], dim, log); }, tol};
            c.expected_dtype = in.dtype;
            add_case(c);
        };
        add("f32_last_dim", uniform({4, 7}, CT_FLOAT32, -3, 3), 1, kF32);
        add("f32_first_dim", uniform({4, 7}, CT_FLOAT32, -3, 3), 0, kF32);
        add("f32_3d_middle_dim", normal({3, 5, 70}), 1, kF32);
        add("f32_negative_dim", normal({3, 5, 4}), -1, kF32);
        add("f32_transposed", transposed(normal({9, 6})), 1, kF32);
        add("f32_long_rows", normal({3, 5000}), 1, kF32);
        add("f32_many_rows", normal({2000, 10}), 1, kF32);
        add("f32_plus_minus_1000_stable", uniform({5, 33}, CT_FLOAT32, -1000, 1000), 1, kF32);
        add("f64_columns", normal({300, 7}, CT_FLOAT64), 0, kF64);
        add("f64_wide_inner", normal({2, 6, 150}, CT_FLOAT64), 1, kF64);
        add("scalar_0d", uniform({}), 0, kF32);
        add("zero_size", uniform({0, 5}), 1, kExact);
        add("with_neg_inf", given({2, 3}, {-INFINITY, 0, 1, 2, -INFINITY, -INFINITY}), 1, kF32);
    }
}

const int cases_registered = [] {
    register_reduction_cases();
    register_index_cases();
    register_scan_and_softmax_cases();
    return 0;
}();

// ---- helpers for the plain tests --------------------------------------------------------------------------------

ct_tensor *tensor_f64(std::vector<double> values, std::vector<int64_t> shape) {
    return ct_tensor_from_data(values.data(), (int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
}

void expect_near_all(const std::vector<double> &got, const std::vector<double> &want, double tol) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); i++) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

// ---- the PyTorch docs' examples --------------------------------------------------------------------------------

TEST(ReduceExamples, SumOverEachDimAndAll) {
    ct_scope_begin();
    ct_tensor *a = tensor_f32({1, 2, 3, 4, 5, 6}, {2, 3});
    int d0 = 0, d1 = 1;
    EXPECT_EQ(values_of(ct_sum(a, 1, &d0, false)), (std::vector<double>{5, 7, 9}));
    EXPECT_EQ(values_of(ct_sum(a, 1, &d1, false)), (std::vector<double>{6, 15}));
    EXPECT_EQ(values_of(ct_sum(a, 0, nullptr, false)), (std::vector<double>{21}));
    EXPECT_EQ(shape_of(ct_sum(a, 1, &d1, true)), (std::vector<int64_t>{2, 1}));
    EXPECT_EQ(shape_of(ct_sum(a, 0, nullptr, false)), (std::vector<int64_t>{}));
    EXPECT_EQ(shape_of(ct_sum(a, 0, nullptr, true)), (std::vector<int64_t>{1, 1}));
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceExamples, MaxWithDimGivesValuesAndFirstIndices) {
    // torch.max(torch.tensor([[1., 5., 5.], [7., 2., 7.]]), 1) -> values [5, 7], indices [1, 0]
    ct_scope_begin();
    ct_tensor *a = tensor_f32({1, 5, 5, 7, 2, 7}, {2, 3}), *v = nullptr, *i = nullptr;
    ASSERT_EQ(ct_max_dim(a, 1, false, &v, &i), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(v), (std::vector<double>{5, 7}));
    EXPECT_EQ(values_of(i), (std::vector<double>{1, 0}));
    EXPECT_EQ(ct_tensor_dtype(i), CT_INT64);
    ASSERT_EQ(ct_min_dim(a, 0, true, &v, &i), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(v), (std::vector<double>{1, 2, 5}));
    EXPECT_EQ(values_of(i), (std::vector<double>{0, 1, 0}));
    EXPECT_EQ(shape_of(v), (std::vector<int64_t>{1, 3}));
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceExamples, ArgmaxFlattenedAndAlongDim) {
    ct_scope_begin();
    ct_tensor *a = tensor_f32({1, 9, 3, 9, 0, -2}, {2, 3});
    int d1 = 1;
    EXPECT_EQ(values_of(ct_argmax(a, nullptr, false)), (std::vector<double>{1}));
    EXPECT_EQ(values_of(ct_argmin(a, nullptr, false)), (std::vector<double>{5}));
    EXPECT_EQ(values_of(ct_argmax(a, &d1, false)), (std::vector<double>{1, 0}));
    EXPECT_EQ(shape_of(ct_argmax(a, nullptr, true)), (std::vector<int64_t>{1, 1}));
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceExamples, VarAndStdOfTheDocsMatrix) {
    // torch.var(a, dim=1, keepdim=True) and torch.std from the PyTorch docs (4 decimals shown there)
    ct_scope_begin();
    ct_tensor *a = tensor_f32({0.2035f, 1.2959f, 1.8101f, -0.4644f, 1.5027f, -0.3270f, 0.5905f, 0.6538f, -1.5745f,
                               1.3330f, -0.5596f, -0.6548f, 0.1264f, -0.5080f, 1.6420f, 0.1992f},
                              {4, 4});
    int d1 = 1;
    expect_near_all(values_of(ct_var(a, 1, &d1, 1, true)), {1.0631, 0.5590, 1.4893, 0.8258}, 1e-4);
    expect_near_all(values_of(ct_std(a, 1, &d1, 1, true)), {1.0311, 0.7477, 1.2204, 0.9087}, 1e-4);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceExamples, MeanVarMeanAndPopulationVariance) {
    ct_scope_begin();
    ct_tensor *a = tensor_f64({2, 4, 4, 4, 5, 5, 7, 9}, {8}), *v = nullptr, *m = nullptr;
    ASSERT_EQ(ct_var_mean(a, 0, nullptr, 0, false, &v, &m), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(m), (std::vector<double>{5}));
    EXPECT_EQ(values_of(v), (std::vector<double>{4})); // the population variance of the textbook example
    ASSERT_EQ(ct_std_mean(a, 0, nullptr, 0, false, &v, &m), CT_OK);
    EXPECT_EQ(values_of(v), (std::vector<double>{2}));
    EXPECT_NEAR(values_of(ct_var(a, 0, nullptr, 1, false))[0], 32.0 / 7.0, 1e-15);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceExamples, SoftmaxLogSoftmaxLogsumexp) {
    ct_scope_begin();
    ct_tensor *a = tensor_f32({1, 2, 3}, {3});
    expect_near_all(values_of(ct_softmax(a, 0)), {0.0900306, 0.2447285, 0.6652410}, 1e-6);
    expect_near_all(values_of(ct_log_softmax(a, 0)), {-2.4076059, -1.4076059, -0.4076059}, 1e-6);
    expect_near_all(values_of(ct_logsumexp(a, 0, nullptr, false)), {3.4076059}, 1e-6);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceExamples, CumsumAndCumprod) {
    ct_scope_begin();
    ct_tensor *a = tensor_f32({1, 2, 3, 4, 5, 6}, {2, 3});
    EXPECT_EQ(values_of(ct_cumsum(a, 1)), (std::vector<double>{1, 3, 6, 4, 9, 15}));
    EXPECT_EQ(values_of(ct_cumsum(a, 0)), (std::vector<double>{1, 2, 3, 5, 7, 9}));
    EXPECT_EQ(values_of(ct_cumprod(a, 1)), (std::vector<double>{1, 2, 6, 4, 20, 120}));
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceExamples, VectorNormOfArange) {
    // torch.linalg.vector_norm(torch.arange(9.) - 4, ord) for ord 2, inf, -inf, 0, 1, 3.5
    ct_scope_begin();
    ct_tensor *a = tensor_f32({-4, -3, -2, -1, 0, 1, 2, 3, 4}, {9});
    auto norm = [&](double ord) { return values_of(ct_vector_norm(a, ord, 0, nullptr, false))[0]; };
    EXPECT_NEAR(norm(2), std::sqrt(60.0), 1e-6);
    EXPECT_EQ(norm(INFINITY), 4);
    EXPECT_EQ(norm(-INFINITY), 0);
    EXPECT_EQ(norm(0), 8);
    EXPECT_EQ(norm(1), 20);
    EXPECT_NEAR(norm(3.5), std::pow(2 * (std::pow(1, 3.5) + std::pow(2, 3.5) + std::pow(3, 3.5) + std::pow(4, 3.5)),
                                    1 / 3.5),
                1e-5);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceExamples, AllAnyCountNonzero) {
    ct_scope_begin();
    ct_tensor *a = tensor_f32({0, 1, 1, 0, 2, 3}, {2, 3});
    int d0 = 0, d1 = 1;
    EXPECT_EQ(values_of(ct_count_nonzero(a, 0, nullptr)), (std::vector<double>{4}));
    EXPECT_EQ(values_of(ct_count_nonzero(a, 1, &d0)), (std::vector<double>{0, 2, 2}));
    EXPECT_EQ(values_of(ct_all(a, 1, &d0, false)), (std::vector<double>{0, 1, 1}));
    EXPECT_EQ(values_of(ct_any(a, 1, &d1, false)), (std::vector<double>{1, 1}));
    EXPECT_EQ(ct_tensor_dtype(ct_all(a, 0, nullptr, false)), CT_BOOL);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

// ---- precision and stability ---------------------------------------------------------------------------------------

// A float32 sum of 10^7 values in [0, 1) must be the float64 sum rounded once: naive float accumulation would be off
// by ~1e-3 relative here (each addition to a sum near 5e6 rounds to 0.25-0.5).
TEST(ReducePrecision, Float32SumOfTenMillionIsCorrectlyRounded) {
    ct_scope_begin();
    int64_t n = 10000000;
    ct_tensor *x = ct_rand(1, &n, CT_FLOAT32, CT_DEVICE_CPU, nullptr);
    ct_tensor *x64 = ct_to_dtype(x, CT_FLOAT64);
    ASSERT_TRUE(x && x64) << ct_last_error();
    const double *v = (const double *)ct_data_ptr(x64);
    long double exact = 0;
    for (int64_t i = 0; i < n; i++) exact += v[i];
    double s32 = values_of(ct_sum(x, 0, nullptr, false))[0], s64 = values_of(ct_sum(x64, 0, nullptr, false))[0];
    EXPECT_NEAR(s64, (double)exact, 1e-9 * (double)exact);
    EXPECT_LE(std::fabs(s32 - (double)exact), std::ldexp((double)exact, -24) * 1.01) << "float32 sum " << s32;
    double m32 = values_of(ct_mean(x, 0, nullptr, false))[0];
    EXPECT_LE(std::fabs(m32 - (double)exact / n), std::ldexp((double)exact / n, -24) * 1.01);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

// The same on a device with a GPU: float accumulation in a tree stays within a few float32 roundings.
TEST(ReducePrecision, Float32SumOfTenMillionOnCuda) {
    std::string why = cth::gpu_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    ct_scope_begin();
    int64_t n = 10000000;
    ct_tensor *x = ct_rand(1, &n, CT_FLOAT32, CT_DEVICE_CPU, nullptr);
    double cpu = values_of(ct_sum(x, 0, nullptr, false))[0];
    double gpu = values_of(ct_sum(ct_to_device(x, CT_DEVICE_CUDA(0)), 0, nullptr, false))[0];
    EXPECT_NEAR(gpu, cpu, 1e-6 * cpu);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReducePrecision, VarianceOfOffsetDataHasNoCancellation) {
    // 1e8 + {0, 1, 2, 3}: the naive E[x^2] - E[x]^2 in double loses everything; the merge of moments does not.
    ct_scope_begin();
    ct_tensor *a = tensor_f64({1e8, 1e8 + 1, 1e8 + 2, 1e8 + 3}, {4});
    EXPECT_NEAR(values_of(ct_var(a, 0, nullptr, 1, false))[0], 5.0 / 3.0, 1e-9);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(SoftmaxStability, PlusMinusThousandStaysFiniteAndNormalised) {
    ct_scope_begin();
    ct_tensor *a = tensor_f32({1000, 999, -1000, 1000, -1000, -999}, {2, 3});
    std::vector<double> s = values_of(ct_softmax(a, 1)), l = values_of(ct_log_softmax(a, 1));
    double e1 = std::exp(-1.0);
    expect_near_all(s, {1 / (1 + e1), e1 / (1 + e1), 0, 1, 0, 0}, 1e-6);
    for (double v : l) EXPECT_FALSE(std::isnan(v));
    EXPECT_NEAR(l[0], -std::log1p(e1), 1e-6);
    EXPECT_NEAR(l[2], -2000 - std::log1p(e1), 1e-3);
    EXPECT_NEAR(l[4], -2000, 1e-3);
    EXPECT_NEAR(values_of(ct_logsumexp(a, 0, nullptr, false))[0], 1000 + std::log(2 + e1), 1e-4);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(SoftmaxStability, NanAndInfinityRowsGiveNanLikePytorch) {
    ct_scope_begin();
    ct_tensor *a = tensor_f32({1, NAN, 2, 1, INFINITY, 2, -INFINITY, -INFINITY, -INFINITY}, {3, 3});
    for (double v : values_of(ct_softmax(a, 1))) EXPECT_TRUE(std::isnan(v));
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

// ---- special values, dtypes, ownership ----------------------------------------------------------------------------

TEST(ReduceSpecialValues, NanPropagatesThroughMaxAndSum) {
    ct_scope_begin();
    ct_tensor *a = tensor_f32({1, NAN, 3, 2}, {4});
    EXPECT_TRUE(std::isnan(values_of(ct_max(a))[0]));
    EXPECT_TRUE(std::isnan(values_of(ct_amin(a, 0, nullptr, false))[0]));
    EXPECT_TRUE(std::isnan(values_of(ct_sum(a, 0, nullptr, false))[0]));
    EXPECT_EQ(values_of(ct_argmax(a, nullptr, false)), (std::vector<double>{1}));
    EXPECT_EQ(values_of(ct_argmin(a, nullptr, false)), (std::vector<double>{1}));
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceSpecialValues, AllNegativeInfinityRowStillGivesAnIndex) {
    ct_scope_begin();
    ct_tensor *a = tensor_f32({-INFINITY, -INFINITY, -INFINITY}, {3});
    EXPECT_EQ(values_of(ct_argmax(a, nullptr, false)), (std::vector<double>{0}));
    EXPECT_EQ(values_of(ct_max(a)), (std::vector<double>{-INFINITY}));
    EXPECT_EQ(values_of(ct_logsumexp(a, 0, nullptr, false)), (std::vector<double>{-INFINITY}));
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceDtypes, ResultDtypesFollowPytorch) {
    ct_scope_begin();
    int64_t shape[2] = {2, 3};
    ct_tensor *i32 = ct_ones(2, shape, CT_INT32, CT_DEVICE_CPU), *b = ct_ones(2, shape, CT_BOOL, CT_DEVICE_CPU);
    ct_tensor *u8 = ct_ones(2, shape, CT_UINT8, CT_DEVICE_CPU), *f64 = ct_ones(2, shape, CT_FLOAT64, CT_DEVICE_CPU);
    EXPECT_EQ(ct_tensor_dtype(ct_sum(i32, 0, nullptr, false)), CT_INT64);
    EXPECT_EQ(ct_tensor_dtype(ct_prod(b, 0, nullptr, false)), CT_INT64);
    EXPECT_EQ(ct_tensor_dtype(ct_cumsum(b, 0)), CT_INT64);
    EXPECT_EQ(ct_tensor_dtype(ct_amax(u8, 0, nullptr, false)), CT_UINT8);
    EXPECT_EQ(ct_tensor_dtype(ct_any(u8, 0, nullptr, false)), CT_UINT8);
    EXPECT_EQ(ct_tensor_dtype(ct_any(i32, 0, nullptr, false)), CT_BOOL);
    EXPECT_EQ(ct_tensor_dtype(ct_logsumexp(i32, 0, nullptr, false)), CT_FLOAT32);
    EXPECT_EQ(ct_tensor_dtype(ct_mean(f64, 0, nullptr, false)), CT_FLOAT64);
    EXPECT_EQ(ct_tensor_dtype(ct_count_nonzero(f64, 0, nullptr)), CT_INT64);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceDtypes, IntegerSumIsExactBeyondDoublePrecision) {
    ct_scope_begin();
    int64_t big = (int64_t)1 << 60;
    std::vector<int64_t> v = {big, 1, 1, -5};
    int64_t n = 4, out = 0;
    ct_tensor *a = ct_tensor_from_data(v.data(), 1, &n, CT_INT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_item_int64(ct_sum(a, 0, nullptr, false), &out), CT_OK);
    EXPECT_EQ(out, big - 3);
    ASSERT_EQ(ct_item_int64(ct_amax(a, 0, nullptr, false), &out), CT_OK);
    EXPECT_EQ(out, big);
    EXPECT_EQ(ct_scope_end(), CT_OK);
}

TEST(ReduceOwnership, TwoResultOpsReleaseCleanly) {
    int64_t before = cpu_allocated();
    ct_tensor *a = tensor_f32({1, 2, 3, 4}, {2, 2}), *v = nullptr, *m = nullptr;
    ASSERT_EQ(ct_var_mean(a, 0, nullptr, 1, true, &v, &m), CT_OK);
    ct_release(v), ct_release(m);
    ASSERT_EQ(ct_max_dim(a, 0, false, &v, &m), CT_OK);
    ct_release(v), ct_release(m), ct_release(a);
    EXPECT_EQ(cpu_allocated(), before);
}

// ---- errors ------------------------------------------------------------------------------------------------------

class ReduceErrors : public testing::Test {
  protected:
    void SetUp() override {
        ct_scope_begin();
        x = tensor_f32({1, 2, 3, 4, 5, 6}, {2, 3});
        int64_t s[2] = {0, 3};
        empty = ct_zeros(2, s, CT_FLOAT32, CT_DEVICE_CPU);
        int64_t n = 3;
        ints = ct_ones(1, &n, CT_INT64, CT_DEVICE_CPU);
        ct_clear_error();
    }
    void TearDown() override { EXPECT_EQ(ct_scope_end(), CT_OK); }
    ct_tensor *x = nullptr, *empty = nullptr, *ints = nullptr;
};

TEST_F(ReduceErrors, DimOutOfRangeInPytorchWords) {
    int bad = 5;
    EXPECT_EQ(ct_sum(x, 1, &bad, false), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "Dimension out of range (expected to be in range of [-2, 1], but got 5)");
    int neg = -3;
    EXPECT_EQ(ct_amax(x, 1, &neg, false), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "but got -3");
    ct_tensor *v, *i;
    EXPECT_EQ(ct_max_dim(x, 2, false, &v, &i), CT_ERR_INDEX);
    EXPECT_EQ(v, nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "Dimension out of range");
    EXPECT_EQ(ct_cumsum(x, 7), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "Dimension out of range (expected to be in range of [-2, 1], but got 7)");
    EXPECT_EQ(ct_softmax(x, -4), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "but got -4");
}

TEST_F(ReduceErrors, RepeatedDims) {
    int dims[2] = {0, -2};
    EXPECT_EQ(ct_sum(x, 2, dims, false), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "dim 0 appears multiple times in the list of dims");
    int dims2[3] = {1, 0, 1};
    EXPECT_EQ(ct_var(x, 3, dims2, 1, false), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "dim 1 appears multiple times in the list of dims");
}

TEST_F(ReduceErrors, BadDimList) {
    EXPECT_EQ(ct_sum(x, -1, nullptr, false), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ndims must be non-negative");
    EXPECT_EQ(ct_mean(x, 2, nullptr, false), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "argument 'dims' is NULL");
}

TEST_F(ReduceErrors, NullInputKeepsThePendingError) {
    EXPECT_EQ(ct_sum(nullptr, 0, nullptr, false), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "argument 't' is NULL");
    int bad = 9;
    ct_tensor *failed = ct_sum(x, 1, &bad, false);
    EXPECT_EQ(ct_softmax(failed, 0), nullptr);
    EXPECT_EQ(ct_argmax(failed, nullptr, false), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "but got 9"); // still the first error
    ct_tensor *v = nullptr, *m = nullptr;
    EXPECT_EQ(ct_var_mean(x, 0, nullptr, 1, false, nullptr, &m), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "argument 'var' is NULL");
    EXPECT_EQ(ct_max_dim(x, 0, false, &v, nullptr), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "argument 'indices' is NULL");
}

TEST_F(ReduceErrors, FloatingOnlyOpsRejectIntegers) {
    EXPECT_EQ(ct_mean(ints, 0, nullptr, false), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "mean(): could not infer output dtype. Input dtype must be either a floating point or "
                               "complex dtype. Got: Long");
    EXPECT_EQ(ct_var(ints, 0, nullptr, 1, false), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "std and var only support floating point and complex dtypes");
    ct_tensor *s, *m;
    EXPECT_EQ(ct_std_mean(ints, 0, nullptr, 1, false, &s, &m), CT_ERR_DTYPE);
    EXPECT_EQ(s, nullptr);
    EXPECT_EQ(m, nullptr);
    ct_clear_error();
    EXPECT_EQ(ct_vector_norm(ints, 2, 0, nullptr, false), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long");
    EXPECT_EQ(ct_softmax(ints, 0), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "\"softmax\" not implemented for 'Long'");
    EXPECT_EQ(ct_log_softmax(ints, 0), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "\"log_softmax\" not implemented for 'Long'");
}

TEST_F(ReduceErrors, ReservedDtypesAreNotImplemented) {
    int64_t n = 4;
    ct_tensor *h = ct_empty(1, &n, CT_FLOAT16, CT_DEVICE_CPU);
    if (!h) GTEST_SKIP() << "float16 tensors cannot be made: " << ct_last_error();
    EXPECT_EQ(ct_sum(h, 0, nullptr, false), nullptr);
    EXPECT_ERROR(CT_ERR_NOT_IMPLEMENTED, "float16");
    EXPECT_EQ(ct_cumsum(h, 0), nullptr);
    EXPECT_ERROR(CT_ERR_NOT_IMPLEMENTED, "float16");
}

TEST_F(ReduceErrors, ExtremesOfNothing) {
    EXPECT_EQ(ct_max(empty), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "max(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                               "reduction dim with the 'dim' argument.");
    EXPECT_EQ(ct_min(empty), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "min(): Expected reduction dim to be specified for input.numel() == 0.");
    EXPECT_EQ(ct_amax(empty, 0, nullptr, false), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "amax(): Expected reduction dim to be specified for input.numel() == 0.");
    int d0 = 0, d1 = 1;
    EXPECT_EQ(ct_amin(empty, 1, &d0, false), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "amin(): Expected reduction dim 0 to have non-zero size.");
    ct_tensor *v, *i;
    EXPECT_EQ(ct_max_dim(empty, 0, false, &v, &i), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "max(): Expected reduction dim 0 to have non-zero size.");
    EXPECT_EQ(ct_argmax(empty, nullptr, false), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "argmax(): Expected reduction dim to be specified for input.numel() == 0.");
    EXPECT_EQ(ct_argmin(empty, &d0, false), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "argmin(): Expected reduction dim 0 to have non-zero size.");
    // reducing the non-empty dim of an empty tensor is fine: the result is empty
    ct_tensor *ok = ct_amax(empty, 1, &d1, false);
    ASSERT_NE(ok, nullptr) << ct_last_error();
    EXPECT_EQ(shape_of(ok), (std::vector<int64_t>{0}));
}

TEST_F(ReduceErrors, InfinityNormOfNothing) {
    EXPECT_EQ(ct_vector_norm(empty, INFINITY, 0, nullptr, false), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "linalg.vector_norm cannot compute the inf norm on an empty tensor because the "
                               "operation does not have an identity");
    int d0 = 0;
    EXPECT_EQ(ct_vector_norm(empty, -1, 1, &d0, false), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "cannot compute the -1 norm on the dimension 0 because this dimension is empty");
    EXPECT_EQ(ct_vector_norm(x, NAN, 0, nullptr, false), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ord must be a number");
}

TEST_F(ReduceErrors, CudaTensorsGiveTheSameErrors) {
    std::string why = cth::gpu_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    ct_tensor *g = ct_to_device(x, CT_DEVICE_CUDA(0));
    int bad = 5;
    EXPECT_EQ(ct_sum(g, 1, &bad, false), nullptr);
    EXPECT_ERROR(CT_ERR_INDEX, "Dimension out of range (expected to be in range of [-2, 1], but got 5)");
    EXPECT_EQ(ct_max(ct_to_device(empty, CT_DEVICE_CUDA(0))), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "max(): Expected reduction dim to be specified");
}

} // namespace
