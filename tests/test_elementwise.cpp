// Tests of the elementwise family (ctorch/elementwise.h).
//
// Op cases (harness.h) run every op on the CPU against a float64 reference computed here from the same inputs, and
// on CUDA against the CPU when a GPU is present: contiguous, broadcast, transposed (non-contiguous), zero-size and
// 0-d inputs, every dtype an op accepts, type promotion, in-place forms and large inputs that take the threaded
// paths. float32 results are held to the harness's default bound (normalised MSE 1e-10): a float32 result is the
// exact value rounded once or a few times, a relative error near 6e-8 per element, so about 1e-14 squared; bool
// and integer results must match exactly (one wrong element of n already costs 1/n).
//
// Plain TESTs cover the errors (status and PyTorch's words), the result dtypes of promotion, integer wrap-around,
// and small examples whose results are worked out by hand.
#include "fixtures/division_reference.h"
#include "harness.h"
#include "test_helpers.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <functional>

namespace {

using cth::Inputs;
using cth::Ref;
using RefFn = std::function<Ref(const std::vector<Ref> &)>;
using Fn1 = std::function<double(double)>;
using Fn2 = std::function<double(double, double)>;

// ---- float64 references with broadcasting ---------------------------------------------------------------------

std::vector<int64_t> broadcast_shape(std::vector<int64_t> a, const std::vector<int64_t> &b) {
    if (a.size() < b.size()) a.insert(a.begin(), b.size() - a.size(), 1);
    for (size_t i = 0; i < b.size(); i++) {
        int64_t &x = a[a.size() - b.size() + i];
        if (x == 1) x = b[i];
    }
    return a;
}

// The flat index into an input of shape `in` that broadcasts to element `flat` of `out`.
int64_t source_index(const std::vector<int64_t> &out, int64_t flat, const std::vector<int64_t> &in) {
    int64_t index = 0, stride = 1;
    for (size_t k = 0; k < out.size(); k++) {
        size_t d = out.size() - 1 - k;
        int64_t i = flat % out[d];
        flat /= out[d];
        if (k < in.size()) {
            size_t e = in.size() - 1 - k;
            if (in[e] != 1) index += i * stride;
            stride *= in[e];
        }
    }
    return index;
}

// f applied elementwise to the inputs broadcast together.
Ref zip(const std::vector<Ref> &in, const std::function<double(const std::vector<double> &)> &f) {
    std::vector<int64_t> shape;
    for (const Ref &r : in) shape = broadcast_shape(shape, r.shape);
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    Ref out{shape, std::vector<double>((size_t)n)};
    std::vector<double> args(in.size());
    for (int64_t i = 0; i < n; i++) {
        for (size_t k = 0; k < in.size(); k++) args[k] = in[k].values[(size_t)source_index(shape, i, in[k].shape)];
        out.values[(size_t)i] = f(args);
    }
    return out;
}

RefFn ref1(Fn1 f) {
    return [f](const std::vector<Ref> &in) { return zip({in[0]}, [&](const std::vector<double> &v) { return f(v[0]); }); };
}
RefFn ref2(Fn2 f) {
    return [f](const std::vector<Ref> &in) {
        return zip({in[0], in[1]}, [&](const std::vector<double> &v) { return f(v[0], v[1]); });
    };
}

double gelu_exact(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh(double x) {
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double clamp(double x, double lo, double hi) { return std::isnan(x) ? x : std::min(std::max(x, lo), hi); }
double int_pow(double base, double e) {
    if (e < 0) return base == 1 ? 1 : base == -1 ? (std::fmod(-e, 2) == 1 ? -1 : 1) : 0;
    return std::pow(base, e);
}

// ---- case builders ---------------------------------------------------------------------------------------------

using Run = std::function<ct_tensor *(const Inputs &)>;

Run binary(ct_tensor *(*f)(const ct_tensor *, const ct_tensor *)) {
    return [f](const Inputs &in) { return f(in[0], in[1]); };
}
Run binary_alpha(ct_tensor *(*f)(const ct_tensor *, const ct_tensor *, double), double alpha) {
    return [f, alpha](const Inputs &in) { return f(in[0], in[1], alpha); };
}
Run with_scalar(ct_tensor *(*f)(const ct_tensor *, double), double s) {
    return [f, s](const Inputs &in) { return f(in[0], s); };
}
Run unary(ct_tensor *(*f)(const ct_tensor *)) {
    return [f](const Inputs &in) { return f(in[0]); };
}
// In-place forms: the result is the first input after the call.
Run in_place(std::function<ct_status(const Inputs &)> f) {
    return [f](const Inputs &in) -> ct_tensor * { return f(in) == CT_OK ? ct_retain(in[0]) : nullptr; };
}

cth::OpCase with_dtype(cth::OpCase c, ct_dtype dtype) {
    c.expected_dtype = dtype;
    return c;
}

using cth::add_case;
using cth::arange;
using cth::bools;
using cth::given;
using cth::integers;
using cth::normal;
using cth::transposed;
using cth::uniform;

void register_arithmetic() {
    auto add = [](double a) { return [a](double x, double y) { return x + a * y; }; };
    auto sub = [](double a) { return [a](double x, double y) { return x - a * y; }; };
    Fn2 mul = [](double x, double y) { return x * y; }, div = [](double x, double y) { return x / y; };
    add_case({"add", "f32_alpha", {uniform({5, 7}), uniform({5, 7})}, binary_alpha(ct_add, 2.5), ref2(add(2.5))});
    add_case({"add", "broadcast_row", {uniform({3, 4}), uniform({4})}, binary_alpha(ct_add, 1), ref2(add(1))});
    add_case({"add", "broadcast_outer", {uniform({3, 1}), uniform({1, 4})}, binary_alpha(ct_add, 1), ref2(add(1))});
    add_case({"add", "broadcast_rank3", {normal({2, 1, 5}, CT_FLOAT64), normal({3, 1})}, binary_alpha(ct_add, -1),
              ref2(add(-1))});
    add_case({"add", "transposed", {transposed(uniform({6, 9})), transposed(uniform({6, 9}))},
              binary_alpha(ct_add, 1), ref2(add(1))});
    add_case({"add", "transposed_4d_f64", {transposed(normal({2, 3, 4, 5}, CT_FLOAT64)), normal({2, 3, 4, 5}, CT_FLOAT64)},
              binary_alpha(ct_add, 0.5), ref2(add(0.5))});
    add_case({"add", "zero_size", {uniform({0, 4}), uniform({4})}, binary_alpha(ct_add, 1), ref2(add(1))});
    add_case({"add", "scalar_0d", {uniform({}), uniform({})}, binary_alpha(ct_add, 1), ref2(add(1))});
    add_case({"add", "large_threaded", {uniform({300, 257}), uniform({300, 257})}, binary_alpha(ct_add, 1),
              ref2(add(1))});
    add_case({"add", "large_broadcast_threaded", {uniform({300, 257}), uniform({257})}, binary_alpha(ct_add, 1),
              ref2(add(1))});
    add_case(with_dtype({"add", "int64_alpha3", {integers({4, 5}, -100, 100), integers({5}, -100, 100)},
                         binary_alpha(ct_add, 3), ref2(add(3))}, CT_INT64));
    add_case(with_dtype({"add", "int64_plus_f32_is_f32", {integers({4, 5}, -9, 9), uniform({4, 5})},
                         binary_alpha(ct_add, 1), ref2(add(1))}, CT_FLOAT32));
    // a 0-d operand of a higher category promotes with its own dtype: int32 + 0-d float64 -> float64
    add_case(with_dtype({"add", "int32_plus_0d_f64_is_f64", {integers({6}, -9, 9, CT_INT32), normal({}, CT_FLOAT64)},
                         binary_alpha(ct_add, 1), ref2(add(1))}, CT_FLOAT64));
    add_case(with_dtype({"add", "uint8_plus_int32_is_int32", {integers({7}, 0, 200, CT_UINT8), integers({7}, -9, 9, CT_INT32)},
                         binary_alpha(ct_add, 1), ref2(add(1))}, CT_INT32));
    add_case(with_dtype({"add", "bool_plus_bool_is_or", {bools({3, 4}), bools({3, 4})}, binary_alpha(ct_add, 1),
                         ref2([](double x, double y) { return (double)(x || y); })}, CT_BOOL));
    add_case({"add", "scalar_alpha", {uniform({4, 3})}, [](const Inputs &in) { return ct_add_scalar(in[0], 0.5, 2); },
              ref1([](double x) { return x + 1; })});
    add_case(with_dtype({"add", "int_tensor_plus_float_scalar", {integers({8}, -5, 5)},
                         [](const Inputs &in) { return ct_add_scalar(in[0], 2.5, 1); },
                         ref1([](double x) { return x + 2.5; })}, CT_FLOAT32));
    add_case(with_dtype({"add", "int_tensor_plus_int_scalar", {integers({8}, -5, 5, CT_INT32)},
                         [](const Inputs &in) { return ct_add_scalar(in[0], 7, -2); },
                         ref1([](double x) { return x - 14; })}, CT_INT32));
    add_case(with_dtype({"add", "bool_plus_int_scalar_is_int64", {bools({5})},
                         [](const Inputs &in) { return ct_add_scalar(in[0], 1, 1); },
                         ref1([](double x) { return x + 1; })}, CT_INT64));

    add_case({"sub", "f32_alpha", {uniform({4, 6}), uniform({4, 6})}, binary_alpha(ct_sub, 0.25), ref2(sub(0.25))});
    add_case({"sub", "transposed_broadcast", {transposed(uniform({5, 3})), uniform({3})}, binary_alpha(ct_sub, 1),
              ref2(sub(1))});
    add_case(with_dtype({"sub", "int32_alpha", {integers({9}, -50, 50, CT_INT32), integers({9}, -50, 50, CT_INT32)},
                         binary_alpha(ct_sub, -2), ref2(sub(-2))}, CT_INT32));
    add_case({"sub", "scalar", {normal({3, 3}, CT_FLOAT64)}, [](const Inputs &in) { return ct_sub_scalar(in[0], 1.5, 2); },
              ref1([](double x) { return x - 3; })});

    add_case({"mul", "f32", {uniform({5, 7}), uniform({5, 7})}, binary(ct_mul), ref2(mul)});
    add_case({"mul", "f64_broadcast", {normal({2, 3, 1}, CT_FLOAT64), normal({4}, CT_FLOAT64)}, binary(ct_mul), ref2(mul)});
    add_case(with_dtype({"mul", "int64_broadcast", {integers({3, 4}, -30, 30), integers({3, 1}, -30, 30)},
                         binary(ct_mul), ref2(mul)}, CT_INT64));
    add_case(with_dtype({"mul", "bool_is_and", {bools({10}), bools({10})}, binary(ct_mul), ref2(mul)}, CT_BOOL));
    add_case({"mul", "scalar_transposed", {transposed(uniform({4, 5}))}, with_scalar(ct_mul_scalar, -3),
              ref1([](double x) { return -3 * x; })});
    add_case(with_dtype({"mul", "uint8_scalar", {integers({6}, 0, 20, CT_UINT8)}, with_scalar(ct_mul_scalar, 3),
                         ref1([](double x) { return 3 * x; })}, CT_UINT8));

    add_case({"div", "f32", {uniform({5, 7}), uniform({5, 7}, CT_FLOAT32, 0.5, 2)}, binary(ct_div), ref2(div)});
    add_case({"div", "f64_broadcast", {normal({3, 4}, CT_FLOAT64), uniform({3, 1}, CT_FLOAT64, 1, 2)}, binary(ct_div),
              ref2(div)});
    add_case(with_dtype({"div", "int_by_int_is_f32", {integers({12}, -50, 50), integers({12}, 1, 9)}, binary(ct_div),
                         ref2(div)}, CT_FLOAT32));
    add_case(with_dtype({"div", "int_by_int_scalar_is_f32", {integers({12}, -50, 50, CT_INT32)},
                         with_scalar(ct_div_scalar, 4), ref1([](double x) { return x / 4; })}, CT_FLOAT32));
    add_case({"div", "by_zero", {given({4}, {1, -1, 0, 2})}, with_scalar(ct_div_scalar, 0),
              ref1([](double x) { return x / 0.0; })});
}

void register_arithmetic_in_place() {
    add_case({"add_", "broadcast_other", {uniform({4, 5}), uniform({5})},
              in_place([](const Inputs &in) { return ct_add_(in[0], in[1], 2); }),
              ref2([](double x, double y) { return x + 2 * y; })});
    add_case({"add_", "transposed_self", {transposed(uniform({6, 4})), uniform({6, 4})},
              in_place([](const Inputs &in) { return ct_add_(in[0], in[1], 1); }),
              ref2([](double x, double y) { return x + y; })});
    // float32 self += float64 other: computed in float64, then rounded into self
    add_case(with_dtype({"add_", "f32_self_f64_other", {uniform({10}), normal({10}, CT_FLOAT64)},
                         in_place([](const Inputs &in) { return ct_add_(in[0], in[1], 1); }),
                         ref2([](double x, double y) { return x + y; })}, CT_FLOAT32));
    add_case(with_dtype({"add_", "int32_self_int64_other", {integers({8}, -9, 9, CT_INT32), integers({8}, -9, 9)},
                         in_place([](const Inputs &in) { return ct_add_(in[0], in[1], 1); }),
                         ref2([](double x, double y) { return x + y; })}, CT_INT32));
    // self reads its own transpose: the other operand is read whole before self is written
    add_case({"add_", "other_is_self_transposed", {uniform({7, 7})},
              in_place([](const Inputs &in) -> ct_status {
                  ct_tensor *t = ct_t(in[0]);
                  ct_status st = ct_add_(in[0], t, 1);
                  ct_release(t);
                  return st;
              }),
              [](const std::vector<Ref> &in) {
                  Ref r = in[0];
                  for (int64_t i = 0; i < 7; i++)
                      for (int64_t j = 0; j < 7; j++) r.values[(size_t)(i * 7 + j)] = in[0].at({i, j}) + in[0].at({j, i});
                  return r;
              }});
    add_case({"add_", "scalar", {uniform({3, 5})}, in_place([](const Inputs &in) { return ct_add_scalar_(in[0], 1.5, 1); }),
              ref1([](double x) { return x + 1.5; })});
    add_case({"sub_", "broadcast_other", {uniform({4, 5}), uniform({4, 1})},
              in_place([](const Inputs &in) { return ct_sub_(in[0], in[1], 0.5); }),
              ref2([](double x, double y) { return x - 0.5 * y; })});
    add_case({"sub_", "scalar", {integers({6}, -9, 9)}, in_place([](const Inputs &in) { return ct_sub_scalar_(in[0], 3, 2); }),
              ref1([](double x) { return x - 6; })});
    add_case({"mul_", "f64", {normal({3, 4}, CT_FLOAT64), normal({3, 4}, CT_FLOAT64)},
              in_place([](const Inputs &in) { return ct_mul_(in[0], in[1]); }), ref2([](double x, double y) { return x * y; })});
    add_case({"mul_", "scalar_int32", {integers({6}, -9, 9, CT_INT32)},
              in_place([](const Inputs &in) { return ct_mul_scalar_(in[0], -4); }), ref1([](double x) { return -4 * x; })});
    add_case({"div_", "f32", {uniform({3, 4}), uniform({4}, CT_FLOAT32, 1, 3)},
              in_place([](const Inputs &in) { return ct_div_(in[0], in[1]); }), ref2([](double x, double y) { return x / y; })});
    add_case({"div_", "scalar", {uniform({9})}, in_place([](const Inputs &in) { return ct_div_scalar_(in[0], 8); }),
              ref1([](double x) { return x / 8; })});
}

void register_pow() {
    Fn2 pw = [](double x, double y) { return std::pow(x, y); };
    add_case({"pow", "f32_tensor", {uniform({4, 5}, CT_FLOAT32, 0.1, 3), uniform({4, 5}, CT_FLOAT32, -2, 2)}, binary(ct_pow),
              ref2(pw)});
    add_case({"pow", "f64_broadcast", {uniform({3, 1}, CT_FLOAT64, 0.5, 2), uniform({4}, CT_FLOAT64, -3, 3)},
              binary(ct_pow), ref2(pw)});
    add_case(with_dtype({"pow", "int64_tensor", {integers({10}, -6, 7), integers({10}, 0, 8)}, binary(ct_pow),
                         ref2(int_pow)}, CT_INT64));
    add_case(with_dtype({"pow", "int64_negative_exponents", {given({6}, {1, -1, -1, 2, -3, 0}, CT_INT64),
                                                             given({6}, {-3, -3, -2, -1, -2, 2}, CT_INT64)},
                         binary(ct_pow), ref2(int_pow)}, CT_INT64));
    add_case({"pow", "scalar_2_5", {uniform({6, 3}, CT_FLOAT32, 0, 4)}, with_scalar(ct_pow_scalar, 2.5),
              ref1([](double x) { return std::pow(x, 2.5); })});
    add_case({"pow", "scalar_square_transposed", {transposed(normal({5, 4}))}, with_scalar(ct_pow_scalar, 2),
              ref1([](double x) { return x * x; })});
    add_case(with_dtype({"pow", "int_scalar_3", {integers({9}, -9, 9)}, with_scalar(ct_pow_scalar, 3),
                         ref1([](double x) { return x * x * x; })}, CT_INT64));
    add_case(with_dtype({"pow", "int_scalar_half_is_f32", {integers({9}, 0, 50, CT_INT32)}, with_scalar(ct_pow_scalar, 0.5),
                         ref1([](double x) { return std::sqrt(x); })}, CT_FLOAT32));
    add_case({"pow_", "scalar", {uniform({8}, CT_FLOAT32, 0, 2)}, in_place([](const Inputs &in) { return ct_pow_scalar_(in[0], 3); }),
              ref1([](double x) { return x * x * x; })});
    add_case({"pow_", "tensor", {uniform({2, 4}, CT_FLOAT64, 0.5, 2), uniform({4}, CT_FLOAT64, -1, 1)},
              in_place([](const Inputs &in) { return ct_pow_(in[0], in[1]); }), ref2(pw)});
}

struct UnaryOp {
    const char *name;
    ct_tensor *(*f)(const ct_tensor *);
    ct_status (*f_)(ct_tensor *);
    Fn1 ref;
    double lo, hi; // the input range drawn
};

void register_unary() {
    const UnaryOp ops[] = {
        {"neg", ct_neg, ct_neg_, [](double x) { return -x; }, -3, 3},
        {"abs", ct_abs, ct_abs_, [](double x) { return std::fabs(x); }, -3, 3},
        {"exp", ct_exp, ct_exp_, [](double x) { return std::exp(x); }, -5, 5},
        {"log", ct_log, ct_log_, [](double x) { return std::log(x); }, 0.01, 10},
        {"log1p", ct_log1p, ct_log1p_, [](double x) { return std::log1p(x); }, -0.9, 5},
        {"sqrt", ct_sqrt, ct_sqrt_, [](double x) { return std::sqrt(x); }, 0, 10},
        {"rsqrt", ct_rsqrt, ct_rsqrt_, [](double x) { return 1 / std::sqrt(x); }, 0.01, 10},
        {"sigmoid", ct_sigmoid, ct_sigmoid_, sigmoid, -8, 8},
        {"tanh", ct_tanh, ct_tanh_, [](double x) { return std::tanh(x); }, -4, 4},
        {"relu", ct_relu, ct_relu_, [](double x) { return x < 0 ? 0 : x; }, -2, 2},
        {"silu", ct_silu, ct_silu_, [](double x) { return x * sigmoid(x); }, -6, 6},
    };
    for (const UnaryOp &op : ops) {
        std::string name = op.name, name_ = name + "_";
        add_case({name, "f32", {uniform({5, 7}, CT_FLOAT32, op.lo, op.hi)}, unary(op.f), ref1(op.ref)});
        add_case({name, "f64_transposed", {transposed(uniform({4, 6}, CT_FLOAT64, op.lo, op.hi))}, unary(op.f),
                  ref1(op.ref)});
        add_case({name, "zero_size", {uniform({3, 0})}, unary(op.f), ref1(op.ref)});
        add_case({name, "scalar_0d", {uniform({}, CT_FLOAT64, op.lo, op.hi)}, unary(op.f), ref1(op.ref)});
        add_case({name, "large_threaded", {uniform({70000}, CT_FLOAT32, op.lo, op.hi)}, unary(op.f), ref1(op.ref)});
        auto f_ = op.f_;
        add_case({name_, "f32_transposed", {transposed(uniform({6, 5}, CT_FLOAT32, op.lo, op.hi))},
                  in_place([f_](const Inputs &in) { return f_(in[0]); }), ref1(op.ref)});
        add_case({name_, "f64", {uniform({9}, CT_FLOAT64, op.lo, op.hi)}, in_place([f_](const Inputs &in) { return f_(in[0]); }),
                  ref1(op.ref)});
    }
    // integer inputs: neg, abs and relu keep the dtype; floating functions give float32
    for (const char *name : {"neg", "abs", "relu"}) {
        const UnaryOp &op = *std::find_if(std::begin(ops), std::end(ops), [&](const UnaryOp &o) { return name == std::string(o.name); });
        add_case(with_dtype({name, "int64", {integers({12}, -20, 20)}, unary(op.f), ref1(op.ref)}, CT_INT64));
        add_case(with_dtype({name, "int32_transposed", {transposed(integers({3, 4}, -20, 20, CT_INT32))}, unary(op.f),
                             ref1(op.ref)}, CT_INT32));
        auto f_ = op.f_;
        add_case(with_dtype({std::string(name) + "_", "int64", {integers({12}, -20, 20)},
                             in_place([f_](const Inputs &in) { return f_(in[0]); }), ref1(op.ref)}, CT_INT64));
    }
    add_case(with_dtype({"abs", "uint8_is_identity", {integers({12}, 0, 256, CT_UINT8)}, unary(ct_abs),
                         ref1([](double x) { return x; })}, CT_UINT8));
    add_case(with_dtype({"neg", "uint8_wraps", {integers({12}, 0, 256, CT_UINT8)}, unary(ct_neg),
                         ref1([](double x) { return std::fmod(256 - x, 256); })}, CT_UINT8));
    for (const char *name : {"exp", "log", "log1p", "sqrt", "rsqrt", "sigmoid", "tanh"}) {
        const UnaryOp &op = *std::find_if(std::begin(ops), std::end(ops), [&](const UnaryOp &o) { return name == std::string(o.name); });
        add_case(with_dtype({name, "int64_is_f32", {integers({10}, 1, 9)}, unary(op.f), ref1(op.ref)}, CT_FLOAT32));
    }
    add_case(with_dtype({"exp", "bool_is_f32", {bools({6})}, unary(ct_exp), ref1([](double x) { return std::exp(x); })},
                        CT_FLOAT32));
    // edges: log(0) = -inf, log(-1) = nan, sqrt(-1) = nan, sigmoid saturates without overflow trouble
    add_case({"log", "edges", {given({4}, {0, -1, INFINITY, 1})}, unary(ct_log), ref1([](double x) { return std::log(x); })});
    add_case({"sqrt", "edges", {given({3}, {-1, 0, INFINITY})}, unary(ct_sqrt), ref1([](double x) { return std::sqrt(x); })});
    add_case({"log1p", "tiny", {given({3}, {1e-10, -1e-12, 3e-8}, CT_FLOAT64)}, unary(ct_log1p),
              ref1([](double x) { return std::log1p(x); })});
    add_case({"sigmoid", "saturation", {given({5}, {-100, -20, 0, 20, 100})}, unary(ct_sigmoid), ref1(sigmoid)});
    add_case({"relu", "nan_stays_nan", {given({3}, {NAN, -1, 1})}, unary(ct_relu), ref1([](double x) { return x < 0 ? 0 : x; })});
}

void register_gelu_clamp() {
    for (ct_gelu_approximate approx : {CT_GELU_NONE, CT_GELU_TANH}) {
        std::string tag = approx == CT_GELU_NONE ? "exact" : "tanh";
        Fn1 ref = approx == CT_GELU_NONE ? Fn1(gelu_exact) : Fn1(gelu_tanh);
        Run run = [approx](const Inputs &in) { return ct_gelu(in[0], approx); };
        add_case({"gelu", tag + "_f32", {uniform({5, 7}, CT_FLOAT32, -5, 5)}, run, ref1(ref)});
        add_case({"gelu", tag + "_f64_transposed", {transposed(uniform({4, 6}, CT_FLOAT64, -5, 5))}, run, ref1(ref)});
        add_case({"gelu", tag + "_large_threaded", {normal({300, 200})}, run, ref1(ref)});
        add_case({"gelu_", tag + "_f32", {uniform({3, 4}, CT_FLOAT32, -4, 4)},
                  in_place([approx](const Inputs &in) { return ct_gelu_(in[0], approx); }), ref1(ref)});
    }
    auto clamp_run = [](double lo, double hi) { return [lo, hi](const Inputs &in) { return ct_clamp(in[0], lo, hi); }; };
    auto clamp_ref = [](double lo, double hi) {
        return ref1([lo, hi](double x) { return clamp(x, std::isnan(lo) ? -INFINITY : lo, std::isnan(hi) ? INFINITY : hi); });
    };
    add_case({"clamp", "both", {uniform({5, 7}, CT_FLOAT32, -2, 2)}, clamp_run(-0.5, 0.75), clamp_ref(-0.5, 0.75)});
    add_case({"clamp", "min_only", {transposed(normal({4, 6}, CT_FLOAT64))}, clamp_run(0.25, NAN), clamp_ref(0.25, NAN)});
    add_case({"clamp", "max_only", {normal({30})}, clamp_run(NAN, -0.1), clamp_ref(NAN, -0.1)});
    add_case({"clamp", "min_above_max_gives_max", {normal({10})}, clamp_run(1, -1),
              ref1([](double x) { return -1.0; })});
    add_case({"clamp", "nan_stays_nan", {given({3}, {NAN, -5, 5})}, clamp_run(-1, 1), clamp_ref(-1, 1)});
    add_case(with_dtype({"clamp", "int64_int_bounds", {integers({20}, -10, 10)}, clamp_run(-3, 4), clamp_ref(-3, 4)},
                        CT_INT64));
    add_case(with_dtype({"clamp", "int32_min_only", {integers({20}, -10, 10, CT_INT32)}, clamp_run(2, NAN),
                         clamp_ref(2, NAN)}, CT_INT32));
    add_case(with_dtype({"clamp", "int64_float_bound_is_f32", {integers({20}, -10, 10)}, clamp_run(-2.5, NAN),
                         clamp_ref(-2.5, NAN)}, CT_FLOAT32));
    add_case(with_dtype({"clamp", "uint8_max_only", {integers({20}, 0, 256, CT_UINT8)}, clamp_run(NAN, 100),
                         clamp_ref(NAN, 100)}, CT_UINT8));
    add_case({"clamp", "large_threaded", {normal({100000})}, clamp_run(-1, 1), clamp_ref(-1, 1)});
    add_case({"clamp_", "f32_transposed", {transposed(normal({5, 8}))},
              in_place([](const Inputs &in) { return ct_clamp_(in[0], -0.5, 0.5); }), clamp_ref(-0.5, 0.5)});
    add_case({"clamp_", "int64", {integers({20}, -10, 10)}, in_place([](const Inputs &in) { return ct_clamp_(in[0], NAN, 3); }),
              clamp_ref(NAN, 3)});
}

void register_comparisons() {
    struct Cmp {
        const char *name;
        ct_tensor *(*f)(const ct_tensor *, const ct_tensor *);
        ct_tensor *(*fs)(const ct_tensor *, double);
        Fn2 ref;
    };
    const Cmp cmps[] = {
        {"eq", ct_eq, ct_eq_scalar, [](double x, double y) { return (double)(x == y); }},
        {"ne", ct_ne, ct_ne_scalar, [](double x, double y) { return (double)(x != y); }},
        {"lt", ct_lt, ct_lt_scalar, [](double x, double y) { return (double)(x < y); }},
        {"le", ct_le, ct_le_scalar, [](double x, double y) { return (double)(x <= y); }},
        {"gt", ct_gt, ct_gt_scalar, [](double x, double y) { return (double)(x > y); }},
        {"ge", ct_ge, ct_ge_scalar, [](double x, double y) { return (double)(x >= y); }},
    };
    for (const Cmp &c : cmps) {
        Fn2 ref = c.ref;
        auto fs = c.fs;
        // small integers drawn as floats, so that ties (where eq/le/ge differ from lt/gt) are frequent
        add_case(with_dtype({c.name, "f32_ties", {integers({6, 7}, 0, 3, CT_FLOAT32), integers({6, 7}, 0, 3, CT_FLOAT32)},
                             binary(c.f), ref2(ref)}, CT_BOOL));
        add_case(with_dtype({c.name, "f64_broadcast_transposed",
                             {transposed(integers({4, 5}, 0, 3, CT_FLOAT64)), integers({5}, 0, 3, CT_FLOAT64)},
                             binary(c.f), ref2(ref)}, CT_BOOL));
        add_case(with_dtype({c.name, "int64_vs_f32", {integers({12}, -3, 3), uniform({12}, CT_FLOAT32, -3, 3)},
                             binary(c.f), ref2(ref)}, CT_BOOL));
        add_case(with_dtype({c.name, "int32_vs_int64", {integers({3, 4}, -2, 2, CT_INT32), integers({4}, -2, 2)},
                             binary(c.f), ref2(ref)}, CT_BOOL));
        add_case(with_dtype({c.name, "bool", {bools({9}), bools({9})}, binary(c.f), ref2(ref)}, CT_BOOL));
        add_case(with_dtype({c.name, "nan", {given({4}, {NAN, 1, NAN, 2}), given({4}, {NAN, NAN, 1, 2})}, binary(c.f),
                             ref2(ref)}, CT_BOOL));
        add_case(with_dtype({c.name, "zero_size", {uniform({0, 3}), uniform({3})}, binary(c.f), ref2(ref)}, CT_BOOL));
        add_case(with_dtype({c.name, "scalar", {integers({5, 4}, 0, 4, CT_FLOAT32)}, with_scalar(fs, 2),
                             ref1([ref](double x) { return ref(x, 2); })}, CT_BOOL));
        add_case(with_dtype({c.name, "int_tensor_vs_2_5", {integers({12}, 0, 5)}, with_scalar(fs, 2.5),
                             ref1([ref](double x) { return ref(x, 2.5); })}, CT_BOOL));
        add_case(with_dtype({c.name, "large_threaded", {normal({400, 100}), normal({100})}, binary(c.f), ref2(ref)},
                            CT_BOOL));
    }
}

void register_selection() {
    RefFn where_ref = [](const std::vector<Ref> &in) {
        return zip(in, [](const std::vector<double> &v) { return v[0] != 0 ? v[1] : v[2]; });
    };
    Run where = [](const Inputs &in) { return ct_where(in[0], in[1], in[2]); };
    add_case({"where", "f32", {bools({4, 5}), uniform({4, 5}), uniform({4, 5})}, where, where_ref});
    add_case({"where", "broadcast_all", {bools({3, 1}), uniform({3, 4}), uniform({4})}, where, where_ref});
    add_case({"where", "transposed_f64", {bools({5, 6}), transposed(normal({5, 6}, CT_FLOAT64)), normal({1}, CT_FLOAT64)},
              where, where_ref});
    add_case(with_dtype({"where", "int64_f32_is_f32", {bools({8}), integers({8}, -9, 9), uniform({8})}, where, where_ref},
                        CT_FLOAT32));
    add_case(with_dtype({"where", "bool_values", {bools({8}), bools({8}), bools({8})}, where, where_ref}, CT_BOOL));
    add_case(with_dtype({"where", "int32", {bools({2, 3}), integers({2, 3}, -9, 9, CT_INT32), integers({3}, -9, 9, CT_INT32)},
                         where, where_ref}, CT_INT32));
    add_case({"where", "zero_size", {bools({0}), uniform({0}), uniform({1})}, where, where_ref});
    // one side a broadcast scalar (a gradient's zero), the rest contiguous: the loops' scalar fast paths
    add_case({"where", "scalar_a", {bools({70}), uniform({1}), uniform({70})}, where, where_ref});
    add_case({"where", "scalar_b_f64", {bools({70}), normal({70}, CT_FLOAT64), normal({1}, CT_FLOAT64)}, where, where_ref});
    add_case({"where", "large_threaded", {bools({300, 300}), normal({300, 300}), normal({300, 300})}, where, where_ref});

    auto fill_ref = [](double value) {
        return [value](const std::vector<Ref> &in) {
            return zip({in[0], in[1]}, [value](const std::vector<double> &v) { return v[1] != 0 ? value : v[0]; });
        };
    };
    auto fill = [](double value) { return [value](const Inputs &in) { return ct_masked_fill(in[0], in[1], value); }; };
    add_case({"masked_fill", "f32", {uniform({4, 5}), bools({4, 5})}, fill(-INFINITY), fill_ref(-INFINITY)});
    add_case({"masked_fill", "broadcast_mask", {transposed(normal({5, 6}, CT_FLOAT64)), bools({6})}, fill(2.5), fill_ref(2.5)});
    add_case({"masked_fill", "broadcast_self", {uniform({1, 6}), bools({3, 1})}, fill(7), fill_ref(7)});
    add_case(with_dtype({"masked_fill", "int64", {integers({10}, -9, 9), bools({10})}, fill(-100), fill_ref(-100)},
                        CT_INT64));
    add_case(with_dtype({"masked_fill", "int32_truncates", {integers({10}, -9, 9, CT_INT32), bools({10})}, fill(3.75),
                         fill_ref(3)}, CT_INT32));
    add_case(with_dtype({"masked_fill", "uint8", {integers({10}, 0, 9, CT_UINT8), bools({10})}, fill(200), fill_ref(200)},
                        CT_UINT8));
    add_case(with_dtype({"masked_fill", "bool", {bools({10}), bools({10})}, fill(1), fill_ref(1)}, CT_BOOL));
    add_case({"masked_fill", "zero_size", {uniform({0, 2}), bools({2})}, fill(1), fill_ref(1)});
    add_case({"masked_fill", "large_threaded", {normal({250, 250}), bools({250, 250})}, fill(0), fill_ref(0)});
    add_case({"masked_fill_", "transposed", {transposed(uniform({6, 4})), bools({6, 4})},
              in_place([](const Inputs &in) { return ct_masked_fill_(in[0], in[1], -1); }), fill_ref(-1)});
    add_case({"masked_fill_", "broadcast_mask", {normal({3, 4}, CT_FLOAT64), bools({3, 1})},
              in_place([](const Inputs &in) { return ct_masked_fill_(in[0], in[1], 0.5); }), fill_ref(0.5)});
}

// The division family's float64 references: exact for the small integers and well-separated quotients drawn here;
// the tricky points are checked against PyTorch's own values (fixtures/division_reference.h) below.
double floor_div(double x, double y) { return std::floor(x / y); }
double trunc_div(double x, double y) { return std::trunc(x / y); }
double python_mod(double x, double y) {
    double m = std::fmod(x, y);
    return m != 0 && (y < 0) != (m < 0) ? m + y : m;
}
double c_fmod(double x, double y) { return std::fmod(x, y); }

Run div_mode(ct_rounding_mode mode) {
    return [mode](const Inputs &in) { return ct_div_mode(in[0], in[1], mode); };
}
Run div_mode_scalar(ct_rounding_mode mode, double s) {
    return [mode, s](const Inputs &in) { return ct_div_mode_scalar(in[0], s, mode); };
}
RefFn with_scalar_ref(Fn2 f, double s) {
    return ref1([f, s](double x) { return f(x, s); });
}

void register_division() {
    // divisors of both signs, never 0, broadcast along the rows of an integer numerator
    auto mixed = [](ct_dtype d) { return given({8}, {3, -3, 7, -7, 1, -1, 2, -5}, d); };
    add_case({"div", "trunc_f32", {uniform({5, 7}, CT_FLOAT32, -5, 5), uniform({5, 7}, CT_FLOAT32, 0.5, 2)},
              div_mode(CT_ROUND_TRUNC), ref2(trunc_div)});
    add_case({"div", "floor_f64_negative_divisors", {normal({3, 4}, CT_FLOAT64), uniform({4}, CT_FLOAT64, -2, -0.25)},
              div_mode(CT_ROUND_FLOOR), ref2(floor_div)});
    add_case({"div", "floor_transposed", {transposed(uniform({6, 5}, CT_FLOAT32, -5, 5)), uniform({6, 5}, CT_FLOAT32, 0.5, 2)},
              div_mode(CT_ROUND_FLOOR), ref2(floor_div)});
    add_case({"div", "none_is_true_division", {integers({12}, -50, 50), integers({12}, 1, 9)}, div_mode(CT_ROUND_NONE),
              ref2([](double x, double y) { return x / y; }), 1e-10, true, CT_FLOAT32});
    add_case(with_dtype({"div", "trunc_int64_mixed_signs", {integers({5, 8}, -50, 50), mixed(CT_INT64)},
                         div_mode(CT_ROUND_TRUNC), ref2(trunc_div)}, CT_INT64));
    add_case(with_dtype({"div", "floor_int64_mixed_signs", {integers({5, 8}, -50, 50), mixed(CT_INT64)},
                         div_mode(CT_ROUND_FLOOR), ref2(floor_div)}, CT_INT64));
    add_case(with_dtype({"div", "floor_int32_transposed", {transposed(integers({8, 5}, -50, 50, CT_INT32)),
                                                           integers({8, 5}, 1, 9, CT_INT32)},
                         div_mode(CT_ROUND_FLOOR), ref2(floor_div)}, CT_INT32));
    add_case(with_dtype({"div", "floor_int32_by_negative_scalar", {integers({12}, -50, 50, CT_INT32)},
                         div_mode_scalar(CT_ROUND_FLOOR, -3), with_scalar_ref(floor_div, -3)}, CT_INT32));
    add_case(with_dtype({"div", "trunc_int64_by_scalar", {integers({12}, -50, 50)}, div_mode_scalar(CT_ROUND_TRUNC, 4),
                         with_scalar_ref(trunc_div, 4)}, CT_INT64));
    add_case(with_dtype({"div", "trunc_uint8", {integers({12}, 0, 256, CT_UINT8), integers({12}, 1, 20, CT_UINT8)},
                         div_mode(CT_ROUND_TRUNC), ref2(trunc_div)}, CT_UINT8));
    add_case(with_dtype({"div", "floor_int_by_float_scalar_is_f32", {integers({12}, -50, 50)},
                         div_mode_scalar(CT_ROUND_FLOOR, 2.5), with_scalar_ref(floor_div, 2.5)}, CT_FLOAT32));
    add_case(with_dtype({"div", "floor_int64_by_f32_is_f32", {integers({12}, -50, 50), uniform({12}, CT_FLOAT32, 0.5, 2)},
                         div_mode(CT_ROUND_FLOOR), ref2(floor_div)}, CT_FLOAT32));
    add_case(with_dtype({"div", "floor_bool_by_int_scalar_is_int64", {bools({6})}, div_mode_scalar(CT_ROUND_FLOOR, 2),
                         with_scalar_ref(floor_div, 2)}, CT_INT64));
    add_case({"div", "floor_scalar_transposed_f64", {transposed(normal({4, 3}, CT_FLOAT64))},
              div_mode_scalar(CT_ROUND_FLOOR, -0.375), with_scalar_ref(floor_div, -0.375)});
    add_case({"div", "floor_zero_size", {uniform({0, 3}), uniform({3}, CT_FLOAT32, 0.5, 2)}, div_mode(CT_ROUND_FLOOR),
              ref2(floor_div)});
    add_case({"div", "trunc_0d", {uniform({}, CT_FLOAT64, -5, 5), uniform({}, CT_FLOAT64, 0.5, 2)},
              div_mode(CT_ROUND_TRUNC), ref2(trunc_div)});
    add_case({"div", "floor_large_threaded", {uniform({300, 257}, CT_FLOAT32, -100, 100), uniform({257}, CT_FLOAT32, 0.5, 2)},
              div_mode(CT_ROUND_FLOOR), ref2(floor_div)});
    add_case(with_dtype({"div", "floor_int64_large_threaded", {integers({300, 257}, -1000, 1000), integers({257}, 1, 50)},
                         div_mode(CT_ROUND_FLOOR), ref2(floor_div)}, CT_INT64));
    add_case(with_dtype({"div_", "floor_int64", {integers({5, 8}, -50, 50), mixed(CT_INT64)},
                         in_place([](const Inputs &in) { return ct_div_mode_(in[0], in[1], CT_ROUND_FLOOR); }),
                         ref2(floor_div)}, CT_INT64));
    // int32 self, int64 other: computed in int64, cast into self
    add_case(with_dtype({"div_", "trunc_int32_self_int64_other", {integers({5, 8}, -50, 50, CT_INT32), mixed(CT_INT64)},
                         in_place([](const Inputs &in) { return ct_div_mode_(in[0], in[1], CT_ROUND_TRUNC); }),
                         ref2(trunc_div)}, CT_INT32));
    add_case({"div_", "floor_scalar_f32", {uniform({3, 5}, CT_FLOAT32, -5, 5)},
              in_place([](const Inputs &in) { return ct_div_mode_scalar_(in[0], 0.75, CT_ROUND_FLOOR); }),
              with_scalar_ref(floor_div, 0.75)});

    add_case({"floor_divide", "f32_negative_divisors", {uniform({4, 6}, CT_FLOAT32, -5, 5), uniform({6}, CT_FLOAT32, -2, -0.5)},
              binary(ct_floor_divide), ref2(floor_div)});
    add_case(with_dtype({"floor_divide", "int64_mixed_signs", {integers({5, 8}, -50, 50), mixed(CT_INT64)},
                         binary(ct_floor_divide), ref2(floor_div)}, CT_INT64));
    add_case(with_dtype({"floor_divide", "int32_scalar_transposed", {transposed(integers({4, 3}, -50, 50, CT_INT32))},
                         with_scalar(ct_floor_divide_scalar, -7), with_scalar_ref(floor_div, -7)}, CT_INT32));
    add_case({"floor_divide", "zero_size", {uniform({2, 0})}, with_scalar(ct_floor_divide_scalar, 3),
              with_scalar_ref(floor_div, 3)});
    add_case(with_dtype({"floor_divide_", "int64", {integers({5, 8}, -50, 50), mixed(CT_INT64)},
                         in_place([](const Inputs &in) { return ct_floor_divide_(in[0], in[1]); }), ref2(floor_div)},
                        CT_INT64));
    add_case({"floor_divide_", "scalar_f64", {normal({7}, CT_FLOAT64)},
              in_place([](const Inputs &in) { return ct_floor_divide_scalar_(in[0], 0.25); }), with_scalar_ref(floor_div, 0.25)});

    struct ModOp {
        const char *name;
        ct_tensor *(*f)(const ct_tensor *, const ct_tensor *);
        ct_tensor *(*fs)(const ct_tensor *, double);
        ct_status (*f_)(ct_tensor *, const ct_tensor *);
        ct_status (*fs_)(ct_tensor *, double);
        Fn2 ref;
    };
    const ModOp mods[] = {
        {"remainder", ct_remainder, ct_remainder_scalar, ct_remainder_, ct_remainder_scalar_, python_mod},
        {"fmod", ct_fmod, ct_fmod_scalar, ct_fmod_, ct_fmod_scalar_, c_fmod},
    };
    for (const ModOp &m : mods) {
        std::string name_ = std::string(m.name) + "_";
        Fn2 ref = m.ref;
        auto f_ = m.f_;
        auto fs_ = m.fs_;
        add_case({m.name, "f32", {uniform({5, 7}, CT_FLOAT32, -5, 5), uniform({5, 7}, CT_FLOAT32, 0.5, 2)}, binary(m.f),
                  ref2(ref)});
        add_case({m.name, "f64_broadcast_negative_divisors", {normal({3, 4}, CT_FLOAT64), uniform({4}, CT_FLOAT64, -2, -0.25)},
                  binary(m.f), ref2(ref)});
        add_case({m.name, "transposed", {transposed(uniform({6, 5}, CT_FLOAT32, -5, 5)), uniform({5}, CT_FLOAT32, -2, -0.5)},
                  binary(m.f), ref2(ref)});
        add_case(with_dtype({m.name, "int64_mixed_signs", {integers({5, 8}, -50, 50), mixed(CT_INT64)}, binary(m.f),
                             ref2(ref)}, CT_INT64));
        add_case(with_dtype({m.name, "int32_negative_scalar", {integers({12}, -50, 50, CT_INT32)}, with_scalar(m.fs, -7),
                             with_scalar_ref(ref, -7)}, CT_INT32));
        add_case(with_dtype({m.name, "uint8", {integers({12}, 0, 256, CT_UINT8), integers({12}, 1, 30, CT_UINT8)},
                             binary(m.f), ref2(ref)}, CT_UINT8));
        add_case(with_dtype({m.name, "int_by_float_scalar_is_f32", {integers({12}, -50, 50)}, with_scalar(m.fs, 2.5),
                             with_scalar_ref(ref, 2.5)}, CT_FLOAT32));
        add_case(with_dtype({m.name, "bool_by_int_scalar_is_int64", {bools({6})}, with_scalar(m.fs, 2),
                             with_scalar_ref(ref, 2)}, CT_INT64));
        add_case({m.name, "scalar_transposed", {transposed(normal({4, 3}, CT_FLOAT64))}, with_scalar(m.fs, -0.375),
                  with_scalar_ref(ref, -0.375)});
        add_case({m.name, "zero_size", {uniform({0, 3}), uniform({3}, CT_FLOAT32, 0.5, 2)}, binary(m.f), ref2(ref)});
        add_case({m.name, "scalar_0d", {uniform({}, CT_FLOAT64, -5, 5), uniform({}, CT_FLOAT64, 0.5, 2)}, binary(m.f),
                  ref2(ref)});
        add_case({m.name, "large_threaded", {uniform({300, 257}, CT_FLOAT32, -100, 100), uniform({257}, CT_FLOAT32, -3, -0.5)},
                  binary(m.f), ref2(ref)});
        add_case(with_dtype({m.name, "int64_large_threaded", {integers({300, 257}, -1000, 1000), integers({257}, 1, 50)},
                             binary(m.f), ref2(ref)}, CT_INT64));
        add_case(with_dtype({name_, "int64", {integers({5, 8}, -50, 50), mixed(CT_INT64)},
                             in_place([f_](const Inputs &in) { return f_(in[0], in[1]); }), ref2(ref)}, CT_INT64));
        add_case({name_, "transposed_f32", {transposed(uniform({4, 6}, CT_FLOAT32, -5, 5)), uniform({6}, CT_FLOAT32, 0.5, 2)},
                  in_place([f_](const Inputs &in) { return f_(in[0], in[1]); }), ref2(ref)});
        add_case({name_, "scalar_f64", {normal({7}, CT_FLOAT64)}, in_place([fs_](const Inputs &in) { return fs_(in[0], -0.75); }),
                  with_scalar_ref(ref, -0.75)});
    }
}

const int cases_registered = [] {
    register_arithmetic();
    register_arithmetic_in_place();
    register_pow();
    register_unary();
    register_gelu_clamp();
    register_comparisons();
    register_selection();
    register_division();
    return 0;
}();

// ---- plain tests: errors -----------------------------------------------------------------------------------------

struct ElementwiseErrors : testing::Test {
    void SetUp() override { ct_clear_error(); }
    void TearDown() override { ct_clear_error(); }
};

TEST_F(ElementwiseErrors, ShapeMismatchUsesPyTorchWords) {
    ct_tensor *a = ct_zeros(2, SHAPE(2, 3), CT_FLOAT32, CT_DEVICE_CPU), *b = ct_zeros(2, SHAPE(2, 4), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_add(a, b, 1), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1");
    EXPECT_EQ(ct_lt(a, b), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "ct_lt: The size of tensor a (3)");
    ct_tensor *cond = ct_zeros(1, SHAPE(4), CT_BOOL, CT_DEVICE_CPU);
    EXPECT_EQ(ct_where(cond, a, a), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "must match the size of tensor b");
    ct_release(a), ct_release(b), ct_release(cond);
}

TEST_F(ElementwiseErrors, NullInputFailsAndKeepsThePendingError) {
    ct_tensor *a = ct_ones(1, SHAPE(3), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_add(nullptr, a, 1), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_add: argument 'a' is NULL");
    EXPECT_EQ(ct_exp(nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_exp: argument 't' is NULL");
    EXPECT_EQ(ct_mul_(a, nullptr), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "argument 'other' is NULL");
    // a chain: the first failure's message survives the calls that receive its NULL
    ct_tensor *bad = ct_view(a, 1, SHAPE(4));
    ct_tensor *r = ct_relu(ct_mul_scalar(ct_add(bad, a, 1), 2));
    EXPECT_EQ(r, nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "ct_view");
    ct_release(a);
}

TEST_F(ElementwiseErrors, DeviceMismatch) {
    std::string why = cth::gpu_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    ct_tensor *a = ct_ones(1, SHAPE(3), CT_FLOAT32, CT_DEVICE_CPU), *b = ct_ones(1, SHAPE(3), CT_FLOAT32, CT_DEVICE_CUDA(0));
    EXPECT_EQ(ct_add(a, b, 1), nullptr);
    EXPECT_ERROR(CT_ERR_DEVICE, "Expected all tensors to be on the same device, but found at least two devices, cpu and cuda:0!");
    EXPECT_EQ(ct_mul_(b, a), CT_ERR_DEVICE);
    ct_clear_error();
    ct_tensor *mask = ct_zeros(1, SHAPE(3), CT_BOOL, CT_DEVICE_CPU);
    EXPECT_EQ(ct_masked_fill(b, mask, 0), nullptr);
    EXPECT_ERROR(CT_ERR_DEVICE, "same device");
    ct_release(a), ct_release(b), ct_release(mask);
}

TEST_F(ElementwiseErrors, InPlaceResultMustBeCastableToSelf) {
    ct_tensor *i = ct_ones(1, SHAPE(3), CT_INT64, CT_DEVICE_CPU), *f = ct_ones(1, SHAPE(3), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_add_(i, f, 1), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "result type Float can't be cast to the desired output type Long");
    EXPECT_EQ(ct_exp_(i), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "ct_exp_: result type Float can't be cast to the desired output type Long");
    EXPECT_EQ(ct_mul_scalar_(i, 2.5), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "result type Float can't be cast to the desired output type Long");
    EXPECT_EQ(ct_div_(i, i), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "result type Float can't be cast to the desired output type Long");
    EXPECT_EQ(ct_clamp_(i, 0.5, NAN), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "result type Float can't be cast to the desired inplace output type Long");
    ct_tensor *b = ct_ones(1, SHAPE(3), CT_BOOL, CT_DEVICE_CPU);
    EXPECT_EQ(ct_add_scalar_(b, 1, 1), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "result type Long can't be cast to the desired output type Bool");
    // a failed in-place op leaves self untouched
    EXPECT_EQ(values_of(i), (std::vector<double>{1, 1, 1}));
    ct_release(i), ct_release(f), ct_release(b);
}

TEST_F(ElementwiseErrors, InPlaceCannotChangeSelfShape) {
    ct_tensor *a = ct_zeros(2, SHAPE(3, 1), CT_FLOAT32, CT_DEVICE_CPU), *b = ct_zeros(2, SHAPE(3, 4), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_add_(a, b, 1), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "output with shape [3, 1] doesn't match the broadcast shape [3, 4]");
    ct_tensor *mask = ct_zeros(2, SHAPE(3, 4), CT_BOOL, CT_DEVICE_CPU);
    EXPECT_EQ(ct_masked_fill_(a, mask, 1), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "output with shape [3, 1] doesn't match the broadcast shape [3, 4]");
    // an expanded self would write one element through several indices
    ct_tensor *e = ct_expand(a, 2, SHAPE(3, 4));
    EXPECT_EQ(ct_add_(e, b, 1), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "more than one element of the written-to tensor refers to a single memory location");
    EXPECT_EQ(ct_relu_(e), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "Please clone() the tensor before performing the operation.");
    ct_release(a), ct_release(b), ct_release(mask), ct_release(e);
}

TEST_F(ElementwiseErrors, BoolAndIntegerRefusals) {
    ct_tensor *b = ct_ones(1, SHAPE(2), CT_BOOL, CT_DEVICE_CPU), *i = ct_ones(1, SHAPE(2), CT_INT64, CT_DEVICE_CPU);
    EXPECT_EQ(ct_sub(b, b, 1), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "Subtraction, the `-` operator, with two bool tensors is not supported");
    EXPECT_EQ(ct_sub(i, b, 1), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "Subtraction, the `-` operator, with a bool tensor is not supported");
    EXPECT_EQ(ct_neg(b), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "Negation, the `-` operator, on a bool tensor is not supported");
    EXPECT_EQ(ct_relu(b), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "Boolean inputs not supported for relu");
    EXPECT_EQ(ct_abs(b), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "\"abs\" not implemented for 'Bool'");
    EXPECT_EQ(ct_gelu(i, CT_GELU_NONE), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "\"gelu\" not implemented for 'Long'");
    EXPECT_EQ(ct_silu(i), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "\"silu\" not implemented for 'Long'");
    EXPECT_EQ(ct_pow(b, b), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "\"pow\" not implemented for 'Bool'");
    EXPECT_EQ(ct_pow_scalar(i, -2), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "Integers to negative integer powers are not allowed.");
    EXPECT_EQ(ct_add(i, i, 0.5), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "For integral input tensors, argument alpha must not be a floating point number.");
    ct_release(b), ct_release(i);
}

TEST_F(ElementwiseErrors, ArgumentRefusals) {
    ct_tensor *f = ct_ones(1, SHAPE(2), CT_FLOAT32, CT_DEVICE_CPU), *u = ct_ones(1, SHAPE(2), CT_UINT8, CT_DEVICE_CPU);
    EXPECT_EQ(ct_clamp(f, NAN, NAN), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "At least one of 'min' or 'max' must not be None");
    EXPECT_EQ(ct_where(f, f, f), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "where expected condition to be a boolean tensor, but got a tensor with dtype Float");
    EXPECT_EQ(ct_masked_fill(f, f, 0), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "masked_fill_ only supports boolean masks, but got mask with dtype float");
    EXPECT_EQ(ct_masked_fill_(f, u, 0), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "but got mask with dtype unsigned char");
    ct_tensor *mask = ct_ones(1, SHAPE(2), CT_BOOL, CT_DEVICE_CPU);
    EXPECT_EQ(ct_masked_fill(u, mask, 300), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "value cannot be converted to type uint8_t without overflow");
    EXPECT_EQ(ct_clamp(u, 0, 1000), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "value cannot be converted to type uint8_t without overflow");
    ct_tensor *h = ct_empty(1, SHAPE(2), CT_FLOAT16, CT_DEVICE_CPU);
    ASSERT_NE(h, nullptr) << ct_last_error();
    EXPECT_EQ(ct_add(h, h, 1), nullptr);
    EXPECT_ERROR(CT_ERR_NOT_IMPLEMENTED, "float16");
    ct_release(f), ct_release(u), ct_release(mask), ct_release(h);
}

// ---- plain tests: dtypes, wrap-around, hand-computed examples ---------------------------------------------------

ct_tensor *from(std::vector<double> v, std::vector<int64_t> shape, ct_dtype dtype) {
    ct_tensor *d = ct_tensor_from_data(v.data(), (int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *t = ct_to_dtype(d, dtype);
    ct_release(d);
    return t;
}

// The result dtype of a + b for tensors of the given dtypes and ranks.
ct_dtype add_dtype(ct_dtype a, int a_dims, ct_dtype b, int b_dims) {
    ct_tensor *x = ct_zeros(a_dims, SHAPE(2), a, CT_DEVICE_CPU), *y = ct_zeros(b_dims, SHAPE(2), b, CT_DEVICE_CPU);
    ct_tensor *r = ct_add(x, y, 1);
    EXPECT_NE(r, nullptr) << ct_last_error();
    ct_dtype d = ct_tensor_dtype(r);
    ct_release(x), ct_release(y), ct_release(r);
    return d;
}

TEST(ElementwisePromotion, TensorTensor) {
    EXPECT_EQ(add_dtype(CT_INT64, 1, CT_FLOAT32, 1), CT_FLOAT32);
    EXPECT_EQ(add_dtype(CT_FLOAT32, 1, CT_FLOAT64, 1), CT_FLOAT64);
    EXPECT_EQ(add_dtype(CT_INT32, 1, CT_INT64, 1), CT_INT64);
    EXPECT_EQ(add_dtype(CT_UINT8, 1, CT_BOOL, 1), CT_UINT8);
    EXPECT_EQ(add_dtype(CT_BOOL, 1, CT_BOOL, 1), CT_BOOL);
    // a 0-d tensor counts only when its category is higher: int64 + 0-d float64 -> float64, but
    // float32 + 0-d float64 -> float32 and int32 + 0-d int64 -> int32
    EXPECT_EQ(add_dtype(CT_INT64, 1, CT_FLOAT64, 0), CT_FLOAT64);
    EXPECT_EQ(add_dtype(CT_FLOAT32, 1, CT_FLOAT64, 0), CT_FLOAT32);
    EXPECT_EQ(add_dtype(CT_INT32, 1, CT_INT64, 0), CT_INT32);
    EXPECT_EQ(add_dtype(CT_INT32, 0, CT_INT64, 0), CT_INT64);
}

TEST(ElementwisePromotion, TensorScalarAndUnary) {
    ct_tensor *i = ct_ones(1, SHAPE(2), CT_INT32, CT_DEVICE_CPU), *b = ct_ones(1, SHAPE(2), CT_BOOL, CT_DEVICE_CPU);
    ct_scope_begin();
    EXPECT_EQ(ct_tensor_dtype(ct_add_scalar(i, 2, 1)), CT_INT32);
    EXPECT_EQ(ct_tensor_dtype(ct_add_scalar(i, 2.5, 1)), CT_FLOAT32);
    EXPECT_EQ(ct_tensor_dtype(ct_add_scalar(b, 1, 1)), CT_INT64);
    EXPECT_EQ(ct_tensor_dtype(ct_mul_scalar(b, 0.5)), CT_FLOAT32);
    EXPECT_EQ(ct_tensor_dtype(ct_div(i, i)), CT_FLOAT32);
    EXPECT_EQ(ct_tensor_dtype(ct_div(b, b)), CT_FLOAT32);
    EXPECT_EQ(ct_tensor_dtype(ct_sqrt(i)), CT_FLOAT32);
    EXPECT_EQ(ct_tensor_dtype(ct_sigmoid(b)), CT_FLOAT32);
    EXPECT_EQ(ct_tensor_dtype(ct_neg(i)), CT_INT32);
    EXPECT_EQ(ct_tensor_dtype(ct_clamp(b, 0, 1)), CT_INT64);
    EXPECT_EQ(ct_tensor_dtype(ct_lt_scalar(i, 2.5)), CT_BOOL);
    EXPECT_EQ(ct_tensor_dtype(ct_pow_scalar(i, 2)), CT_INT32);
    EXPECT_EQ(ct_tensor_dtype(ct_pow_scalar(i, 0.5)), CT_FLOAT32);
    EXPECT_EQ(ct_scope_end(), CT_OK);
    ct_release(i), ct_release(b);
}

TEST(ElementwiseValues, IntegerOverflowWrapsAsPyTorch) {
    int64_t max64 = INT64_MAX;
    ct_tensor *m = ct_tensor_from_data(&max64, 1, SHAPE(1), CT_INT64, CT_DEVICE_CPU);
    ct_tensor *r = ct_add_scalar(m, 1, 1);
    int64_t got;
    ASSERT_EQ(ct_item_int64(r, &got), CT_OK);
    EXPECT_EQ(got, INT64_MIN);
    ct_tensor *n = ct_neg(r); // -INT64_MIN wraps to itself
    ASSERT_EQ(ct_item_int64(n, &got), CT_OK);
    EXPECT_EQ(got, INT64_MIN);
    ct_tensor *a = ct_abs(r);
    ASSERT_EQ(ct_item_int64(a, &got), CT_OK);
    EXPECT_EQ(got, INT64_MIN);
    ct_tensor *u = from({250, 3}, {2}, CT_UINT8);
    ct_tensor *s = ct_add_scalar(u, 10, 1);
    EXPECT_EQ(values_of(s), (std::vector<double>{4, 13}));
    ct_tensor *i32 = from({2147483647, -2147483648.0}, {2}, CT_INT32);
    ct_tensor *p = ct_mul_scalar(i32, 2);
    EXPECT_EQ(values_of(p), (std::vector<double>{-2, 0}));
    for (ct_tensor *t : {m, r, n, a, u, s, i32, p}) ct_release(t);
}

TEST(ElementwiseValues, AddWithAlphaBroadcastsByHand) {
    // [1, 2, 3] + 10 * [[1], [2]] = [[11, 12, 13], [21, 22, 23]]
    ct_tensor *a = tensor_f32({1, 2, 3}, {3}), *b = tensor_f32({1, 2}, {2, 1});
    ct_tensor *r = ct_add(a, b, 10);
    ASSERT_NE(r, nullptr) << ct_last_error();
    EXPECT_EQ(shape_of(r), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(values_of(r), (std::vector<double>{11, 12, 13, 21, 22, 23}));
    ct_release(a), ct_release(b), ct_release(r);
}

TEST(ElementwiseValues, PyTorchDocsExamples) {
    // torch.div(a, 0.5) from the docs: doubling is exact in float32
    std::vector<float> a_values = {0.3810f, 1.2774f, -0.2972f, -0.3719f, 0.4637f};
    ct_tensor *a = tensor_f32(a_values, {5});
    ct_tensor *d = ct_div_scalar(a, 0.5);
    std::vector<double> dv = values_of(d);
    for (size_t i = 0; i < a_values.size(); i++) EXPECT_EQ(dv[i], (double)(a_values[i] * 2.0f));
    // torch.clamp(a, min=-0.5, max=0.5) from the docs: [-1.7120, 0.1734, -0.0478, -0.0922] -> [-0.5, 0.1734, ...]
    std::vector<float> c_values = {-1.7120f, 0.1734f, -0.0478f, -0.0922f};
    ct_tensor *c = tensor_f32(c_values, {4});
    ct_tensor *cl = ct_clamp(c, -0.5, 0.5);
    EXPECT_EQ(values_of(cl), (std::vector<double>{-0.5, (double)0.1734f, (double)-0.0478f, (double)-0.0922f}));
    // torch.where(x > 0, 1.0, 0.0)-style selection, and masked_fill with -inf (attention masks)
    ct_tensor *x = tensor_f32({-1, 2, 0, 3}, {2, 2});
    ct_tensor *pos = ct_gt_scalar(x, 0), *ones = ct_ones(0, nullptr, CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *zeros = ct_zeros(0, nullptr, CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *w = ct_where(pos, ones, zeros);
    EXPECT_EQ(values_of(w), (std::vector<double>{0, 1, 0, 1}));
    ct_tensor *mf = ct_masked_fill(x, pos, -INFINITY);
    EXPECT_EQ(values_of(mf), (std::vector<double>{-1, -INFINITY, 0, -INFINITY}));
    for (ct_tensor *t : {a, d, c, cl, x, pos, ones, zeros, w, mf}) ct_release(t);
}

TEST(ElementwiseValues, ActivationsAtKnownPoints) {
    ct_tensor *x = from({-1, 0, 1}, {3}, CT_FLOAT64);
    ct_tensor *g = ct_gelu(x, CT_GELU_NONE), *gt = ct_gelu(x, CT_GELU_TANH), *s = ct_sigmoid(x), *si = ct_silu(x);
    // gelu(1) = Phi(1) = 0.841344746068543; the tanh form gives 0.841191990607477 there
    std::vector<double> gv = values_of(g), gtv = values_of(gt), sv = values_of(s), siv = values_of(si);
    EXPECT_NEAR(gv[2], 0.8413447460685429, 1e-15);
    EXPECT_NEAR(gv[0], 0.8413447460685429 - 1, 1e-15); // gelu(-x) = gelu(x) - x
    EXPECT_EQ(gv[1], 0);
    EXPECT_NEAR(gtv[2], 0.8411919906082768, 1e-15);
    EXPECT_EQ(sv[1], 0.5);
    EXPECT_NEAR(sv[2], 0.7310585786300049, 1e-15);
    EXPECT_NEAR(siv[2], 0.7310585786300049, 1e-15);
    EXPECT_NEAR(siv[0], -0.2689414213699951, 1e-15);
    for (ct_tensor *t : {x, g, gt, s, si}) ct_release(t);
}

// Error of a float32 result in units of the float32 spacing at the exact value (outputs below FLT_MIN, where the
// spacing is that of the denormals, are held to FLT_MIN in absolute terms instead).
double ulp_error(float got, double exact) {
    if (std::isnan(exact)) return std::isnan(got) ? 0 : INFINITY;
    if (std::isinf((float)exact)) return got == (float)exact ? 0 : INFINITY;
    if (std::fabs(exact) < FLT_MIN) return std::fabs(got - exact) <= FLT_MIN ? 0 : INFINITY;
    return std::fabs(got - exact) / std::ldexp(1.0, std::ilogb(exact) - 23);
}

// float32 exp, tanh, sigmoid, silu and both gelus run on the CPU through ctorch's own branch-free approximations
// (so that their loops vectorise); over a dense sweep their error stays within a few ulp of the exact values. The
// ranges cover where the results are normal floats. The tanh gelu is x sigmoid(2u) with u = sqrt(2/pi) (x +
// 0.044715 x^3) computed in float32: a relative rounding error d in 2u becomes |2u| d in the result, and |2u| grows
// as x^3, so it is swept over [-3, 5] (|2u| <= 7 on the negative side, where that error is not divided away) with
// a bound of 16 ulp; PyTorch's float32 form 0.5 x (1 + tanh u) has the same argument error plus the cancellation
// in 1 + tanh u.
TEST(ElementwiseValues, Float32TranscendentalsAreAccurate) {
    struct Check {
        const char *name;
        std::function<ct_tensor *(const ct_tensor *)> f;
        Fn1 exact;
        double lo, hi, max_ulp;
    };
    auto beta = std::sqrt(2 / M_PI);
    const Check checks[] = {
        {"exp", ct_exp, [](double x) { return std::exp(x); }, -87, 88, 2},
        {"tanh", ct_tanh, [](double x) { return std::tanh(x); }, -20, 20, 2},
        {"sigmoid", ct_sigmoid, sigmoid, -80, 30, 3},
        {"silu", ct_silu, [](double x) { return x * sigmoid(x); }, -80, 30, 4},
        {"gelu", [](const ct_tensor *t) { return ct_gelu(t, CT_GELU_NONE); },
         [](double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }, -13, 13, 8},
        {"gelu_tanh", [](const ct_tensor *t) { return ct_gelu(t, CT_GELU_TANH); },
         [beta](double x) { return x * sigmoid(2 * beta * (x + 0.044715 * x * x * x)); }, -3, 5, 16},
    };
    for (const Check &c : checks) {
        std::vector<float> xs;
        for (double x = c.lo; x <= c.hi; x += (c.hi - c.lo) / 100000) xs.push_back((float)x);
        ct_tensor *t = tensor_f32(xs, {(int64_t)xs.size()});
        ct_tensor *y = c.f(t);
        ASSERT_NE(y, nullptr) << ct_last_error();
        std::vector<float> got(xs.size());
        ASSERT_EQ(ct_copy_to_buffer(y, got.data(), got.size() * sizeof(float)), CT_OK);
        double worst = 0, at = 0;
        for (size_t i = 0; i < xs.size(); i++) {
            double e = ulp_error(got[i], c.exact(xs[i]));
            if (e > worst) worst = e, at = xs[i];
        }
        EXPECT_LE(worst, c.max_ulp) << c.name << " at x = " << at;
        std::printf("%-10s worst %.2f ulp (x = %.6g)\n", c.name, worst, at);
        ct_release(t), ct_release(y);
    }
}

// Contiguous float32 operands take the explicit AVX-512 code where the CPU has it (runtime/cpu/vecmath_avx512.h),
// strided ones the scalar functions: the two must agree bit for bit, over a dense sweep, every float exponent, the
// special values and random bit patterns. (Without AVX-512 both sides are the scalar code and this holds trivially.)
// Bit for bit needs the scalar code's multiply-adds fused as the vector code's are, which GCC does when optimising;
// an unoptimised build (the sanitizer builds) rounds them separately, and there only closeness is checked: a rounding
// apart in an exponential's argument of -100 (gelu_tanh's) is a relative 1e-5 in its value, and a unit apart in a
// denormal intermediate becomes |x| units once multiplied by x.
TEST(ElementwiseValues, Float32TranscendentalsContiguousMatchStrided) {
#ifdef __OPTIMIZE__
    const bool exact = true;
#else
    const bool exact = false;
#endif
    std::vector<float> xs = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, FLT_MAX, -FLT_MAX, FLT_MIN, -FLT_MIN,
                             FLT_TRUE_MIN, -FLT_TRUE_MIN, 88.72f, 88.73f, 89.0f, 89.5f, -87.33f, -103.97f, -104.0f,
                             -104.5f, 13.25f, -13.25f, 13.3f, -13.3f, 0.625f, -0.625f, 0.62499994f, -0.62499994f};
    for (double x = -120; x <= 120; x += 240.0 / 200000) xs.push_back((float)x);
    for (int e = -149; e <= 127; e++)
        for (float s : {1.0f, -1.0f, 1.5f, -1.75f}) xs.push_back(s * std::ldexp(1.0f, e));
    uint32_t state = 12345;
    for (int i = 0; i < 100000; i++) {
        state = state * 1664525u + 1013904223u;
        float f;
        std::memcpy(&f, &state, sizeof f);
        xs.push_back(f);
    }
    xs.resize(xs.size() + 7, 0.5f); // a length that leaves a partial vector at the end
    const int64_t n = (int64_t)xs.size();
    std::vector<float> spread(2 * xs.size(), -1.0f);
    for (size_t i = 0; i < xs.size(); i++) spread[2 * i] = xs[i];
    ct_tensor *dense = tensor_f32(xs, {n}), *wide = tensor_f32(spread, {2 * n});
    ct_tensor *strided = ct_slice(wide, 0, 0, 2 * n, 2);
    ASSERT_NE(strided, nullptr) << ct_last_error();
    const std::pair<const char *, std::function<ct_tensor *(const ct_tensor *)>> ops[] = {
        {"exp", ct_exp},
        {"sigmoid", ct_sigmoid},
        {"silu", ct_silu},
        {"tanh", ct_tanh},
        {"gelu", [](const ct_tensor *t) { return ct_gelu(t, CT_GELU_NONE); }},
        {"gelu_tanh", [](const ct_tensor *t) { return ct_gelu(t, CT_GELU_TANH); }},
    };
    for (const auto &[name, f] : ops) {
        ct_tensor *a = f(dense), *b = f(strided);
        ASSERT_NE(a, nullptr) << ct_last_error();
        ASSERT_NE(b, nullptr) << ct_last_error();
        std::vector<float> got_a(xs.size()), got_b(xs.size());
        ASSERT_EQ(ct_copy_to_buffer(a, got_a.data(), got_a.size() * sizeof(float)), CT_OK);
        ASSERT_EQ(ct_copy_to_buffer(b, got_b.data(), got_b.size() * sizeof(float)), CT_OK);
        int mismatches = 0;
        for (size_t i = 0; i < xs.size() && mismatches < 5; i++) {
            double a_i = got_a[i], b_i = got_b[i];
            bool same = std::isnan(a_i) ? std::isnan(b_i)
                        : std::memcmp(&got_a[i], &got_b[i], 4) == 0 ||
                              (!exact && std::fabs(a_i - b_i) <= 1e-4 * std::fabs(b_i) + 16 * FLT_TRUE_MIN * (1 + std::fabs(xs[i])));
            if (!same) {
                ADD_FAILURE() << name << "(" << xs[i] << "): contiguous " << got_a[i] << ", strided " << got_b[i];
                mismatches++;
            }
        }
        ct_release(a), ct_release(b);
    }
    ct_release(dense), ct_release(wide), ct_release(strided);
}

TEST(ElementwiseValues, IntegerPowersAreExact) {
    ct_tensor *b = from({3, -2, 1, -1, 2, 7}, {6}, CT_INT64), *e = from({39, 5, -4, -3, -1, 0}, {6}, CT_INT64);
    ct_tensor *p = ct_pow(b, e);
    ASSERT_NE(p, nullptr) << ct_last_error();
    std::vector<int64_t> got(6);
    ASSERT_EQ(ct_copy_to_buffer(p, got.data(), got.size() * sizeof(int64_t)), CT_OK);
    EXPECT_EQ(got, (std::vector<int64_t>{4052555153018976267LL, -32, 1, -1, 0, 1})); // 3^39 exactly
    ct_release(b), ct_release(e), ct_release(p);
}

TEST(ElementwiseValues, InPlaceWritesThroughViews) {
    ct_tensor *a = tensor_f32({1, 2, 3, 4, 5, 6}, {2, 3});
    ct_tensor *row = ct_select(a, 0, 1); // [4, 5, 6], a view
    ASSERT_EQ(ct_mul_scalar_(row, 10), CT_OK);
    EXPECT_EQ(values_of(a), (std::vector<double>{1, 2, 3, 40, 50, 60}));
    ct_tensor *col = ct_select(a, 1, 0); // [1, 40]
    ASSERT_EQ(ct_neg_(col), CT_OK);
    EXPECT_EQ(values_of(a), (std::vector<double>{-1, 2, 3, -40, 50, 60}));
    // a row added into the whole: self overlaps other, which is read before any write
    ct_tensor *first = ct_select(a, 0, 0); // [-1, 2, 3]
    ASSERT_EQ(ct_add_(a, first, 1), CT_OK) << ct_last_error();
    EXPECT_EQ(values_of(a), (std::vector<double>{-2, 4, 6, -41, 52, 63}));
    ct_release(a), ct_release(row), ct_release(col), ct_release(first);
}

TEST(ElementwiseValues, ComparisonsWithNaN) {
    ct_tensor *x = from({NAN, 1}, {2}, CT_FLOAT32);
    ct_tensor *eq = ct_eq(x, x), *ne = ct_ne(x, x), *le = ct_le_scalar(x, INFINITY);
    EXPECT_EQ(values_of(eq), (std::vector<double>{0, 1}));
    EXPECT_EQ(values_of(ne), (std::vector<double>{1, 0}));
    EXPECT_EQ(values_of(le), (std::vector<double>{0, 1}));
    for (ct_tensor *t : {x, eq, ne, le}) ct_release(t);
}

// ---- the division family against PyTorch (fixtures/division_reference.h) ------------------------------------------

// The table columns after a and b: floor, trunc, remainder, fmod.
enum DivisionOp { kFloor, kTrunc, kRemainder, kFmod };
const char *const kDivisionOpNames[] = {"floor", "trunc", "remainder", "fmod"};

ct_tensor *divide(int op, const ct_tensor *a, const ct_tensor *b) {
    switch (op) {
    case kFloor: return ct_div_mode(a, b, CT_ROUND_FLOOR);
    case kTrunc: return ct_div_mode(a, b, CT_ROUND_TRUNC);
    case kRemainder: return ct_remainder(a, b);
    default: return ct_fmod(a, b);
    }
}

ct_tensor *divide_scalar(int op, const ct_tensor *a, double s) {
    switch (op) {
    case kFloor: return ct_div_mode_scalar(a, s, CT_ROUND_FLOOR);
    case kTrunc: return ct_div_mode_scalar(a, s, CT_ROUND_TRUNC);
    case kRemainder: return ct_remainder_scalar(a, s);
    default: return ct_fmod_scalar(a, s);
    }
}

// Equal as PyTorch prints them: NaN matches NaN, and zeros must have the same sign.
bool same_float(double got, double want) {
    return std::isnan(want) ? std::isnan(got) : got == want && std::signbit(got) == std::signbit(want);
}

ct_tensor *column(const double (*table)[6], size_t rows, int col, ct_dtype dtype, ct_device device) {
    std::vector<double> v(rows);
    for (size_t i = 0; i < rows; i++) v[i] = table[i][col];
    ct_tensor *d = ct_tensor_from_data(v.data(), 1, SHAPE((int64_t)rows), CT_FLOAT64, device);
    ct_tensor *t = ct_to_dtype(d, dtype);
    ct_release(d);
    return t;
}

// Every op of the table on tensors of dtype on device, element for element, and the scalar forms on the CPU.
void check_float_table(const double (*table)[6], size_t rows, ct_dtype dtype, ct_device device) {
    ct_tensor *a = column(table, rows, 0, dtype, device), *b = column(table, rows, 1, dtype, device);
    for (int op = kFloor; op <= kFmod; op++) {
        ct_tensor *r = divide(op, a, b);
        ASSERT_NE(r, nullptr) << ct_last_error();
        EXPECT_EQ(ct_tensor_dtype(r), dtype);
        std::vector<double> got = values_of(r);
        for (size_t i = 0; i < rows; i++)
            EXPECT_TRUE(same_float(got[i], table[i][2 + op]))
                << kDivisionOpNames[op] << "(" << table[i][0] << ", " << table[i][1] << ") = " << got[i]
                << ", PyTorch gives " << table[i][2 + op];
        ct_release(r);
        if (device.type != CT_CPU) continue;
        for (size_t i = 0; i < rows; i++) { // the broadcast-scalar loops
            ct_tensor *rs = divide_scalar(op, a, table[i][1]);
            ASSERT_NE(rs, nullptr) << ct_last_error();
            EXPECT_TRUE(same_float(values_of(rs)[i], table[i][2 + op]))
                << kDivisionOpNames[op] << "_scalar(" << table[i][0] << ", " << table[i][1] << ")";
            ct_release(rs);
        }
    }
    ct_release(a), ct_release(b);
}

template <typename T, size_t C>
void check_int_table(const T (*table)[C], size_t rows, ct_dtype dtype, ct_device device, std::vector<int> ops) {
    std::vector<T> av(rows), bv(rows);
    for (size_t i = 0; i < rows; i++) av[i] = table[i][0], bv[i] = table[i][1];
    ct_tensor *a = ct_tensor_from_data(av.data(), 1, SHAPE((int64_t)rows), dtype, device);
    ct_tensor *b = ct_tensor_from_data(bv.data(), 1, SHAPE((int64_t)rows), dtype, device);
    for (size_t k = 0; k < ops.size(); k++) {
        ct_tensor *r = divide(ops[k], a, b);
        ASSERT_NE(r, nullptr) << ct_last_error();
        ASSERT_EQ(ct_tensor_dtype(r), dtype);
        std::vector<T> got(rows);
        ASSERT_EQ(ct_copy_to_buffer(r, got.data(), rows * sizeof(T)), CT_OK) << ct_last_error();
        for (size_t i = 0; i < rows; i++)
            EXPECT_EQ(got[i], table[i][2 + k]) << kDivisionOpNames[ops[k]] << "(" << table[i][0] << ", " << table[i][1] << ")";
        ct_release(r);
    }
    ct_release(a), ct_release(b);
}

void check_against_pytorch(ct_device device) {
    check_float_table(divref_f64, std::size(divref_f64), CT_FLOAT64, device);
    check_float_table(divref_f32, std::size(divref_f32), CT_FLOAT32, device);
    std::vector<int> all = {kFloor, kTrunc, kRemainder, kFmod}, no_trunc = {kFloor, kRemainder, kFmod};
    check_int_table(divref_i64, std::size(divref_i64), CT_INT64, device, all);
    check_int_table(divref_i32, std::size(divref_i32), CT_INT32, device, all);
    check_int_table(divref_i64_min_by_minus_one, 1, CT_INT64, device, no_trunc);
    check_int_table(divref_i32_min_by_minus_one, 1, CT_INT32, device, no_trunc);
}

// 1 // 0.1 = 9 and 1 % 0.1 = 0.0999..., signed zeros, inf, nan, huge ratios, INT64_MIN // -1: PyTorch's values.
TEST(DivisionValues, MatchPyTorchAtTheTrickyPoints) { check_against_pytorch(CT_DEVICE_CPU); }

TEST(DivisionValues, CudaMatchesPyTorchAtTheTrickyPoints) {
    std::string why = cth::gpu_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    check_against_pytorch(CT_DEVICE_CUDA(0));
}

// PyTorch's CPU kernel traps (SIGFPE) on MIN / -1 with rounding_mode='trunc'; ctorch wraps to MIN, as floor does.
TEST(DivisionValues, TruncatingMinByMinusOneWraps) {
    int64_t a64[] = {INT64_MIN, INT64_MAX}, b64[] = {-1, -1};
    int32_t a32[] = {INT32_MIN}, b32[] = {-1};
    ct_tensor *a = ct_tensor_from_data(a64, 1, SHAPE(2), CT_INT64, CT_DEVICE_CPU);
    ct_tensor *b = ct_tensor_from_data(b64, 1, SHAPE(2), CT_INT64, CT_DEVICE_CPU);
    ct_tensor *c = ct_tensor_from_data(a32, 1, SHAPE(1), CT_INT32, CT_DEVICE_CPU);
    ct_tensor *d = ct_tensor_from_data(b32, 1, SHAPE(1), CT_INT32, CT_DEVICE_CPU);
    ct_tensor *q = ct_div_mode(a, b, CT_ROUND_TRUNC), *q32 = ct_div_mode(c, d, CT_ROUND_TRUNC);
    ASSERT_NE(q, nullptr);
    ASSERT_NE(q32, nullptr);
    int64_t got[2];
    int32_t got32;
    ASSERT_EQ(ct_copy_to_buffer(q, got, sizeof got), CT_OK);
    ASSERT_EQ(ct_copy_to_buffer(q32, &got32, sizeof got32), CT_OK);
    EXPECT_EQ(got[0], INT64_MIN);
    EXPECT_EQ(got[1], -INT64_MAX);
    EXPECT_EQ(got32, INT32_MIN);
    for (ct_tensor *t : {a, b, c, d, q, q32}) ct_release(t);
}

TEST(DivisionValues, PyTorchDocsExamples) {
    // values checked with torch 2.x: torch.div(a, b, rounding_mode='trunc'), a // b, a % b, torch.fmod(a, b)
    ct_tensor *a = from({4, -3, 5, -7}, {4}, CT_INT64), *b = from({3, 3, -2, -2}, {4}, CT_INT64);
    ct_tensor *t = ct_div_mode(a, b, CT_ROUND_TRUNC), *f = ct_floor_divide(a, b);
    ct_tensor *r = ct_remainder(a, b), *m = ct_fmod(a, b);
    EXPECT_EQ(values_of(t), (std::vector<double>{1, -1, -2, 3}));
    EXPECT_EQ(values_of(f), (std::vector<double>{1, -1, -3, 3}));
    EXPECT_EQ(values_of(r), (std::vector<double>{1, 0, -1, -1}));
    EXPECT_EQ(values_of(m), (std::vector<double>{1, 0, 1, -1}));
    // the docs' torch.remainder(torch.tensor([-3., -2, -1, 1, 2, 3]), 2) and torch.fmod(..., 2), and by -1.5
    ct_tensor *x = from({-3, -2, -1, 1, 2, 3}, {6}, CT_FLOAT32);
    ct_tensor *rx = ct_remainder_scalar(x, 2), *fx = ct_fmod_scalar(x, 2), *rn = ct_remainder_scalar(x, -1.5);
    EXPECT_EQ(values_of(rx), (std::vector<double>{1, 0, 1, 1, 0, 1}));
    EXPECT_EQ(values_of(fx), (std::vector<double>{-1, -0.0, -1, 1, 0, 1}));
    EXPECT_EQ(values_of(rn), (std::vector<double>{-0.0, -0.5, -1, -0.5, -1, 0}));
    for (ct_tensor *v : {a, b, t, f, r, m, x, rx, fx, rn}) ct_release(v);
}

TEST_F(ElementwiseErrors, IntegerDivisionByZero) {
    ct_tensor *a = from({5, -3, 7}, {3}, CT_INT64), *z = from({1, 0, 2}, {3}, CT_INT64);
    EXPECT_EQ(ct_div_mode(a, z, CT_ROUND_TRUNC), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_div_mode: ZeroDivisionError");
    EXPECT_EQ(ct_div_mode(a, z, CT_ROUND_FLOOR), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ZeroDivisionError");
    EXPECT_EQ(ct_floor_divide(a, z), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_floor_divide: ZeroDivisionError");
    EXPECT_EQ(ct_remainder(a, z), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_remainder: ZeroDivisionError");
    EXPECT_EQ(ct_fmod(a, z), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_fmod: ZeroDivisionError");
    // scalar divisors: refused before anything is written
    EXPECT_EQ(ct_div_mode_scalar(a, 0, CT_ROUND_FLOOR), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_div_mode_scalar: ZeroDivisionError");
    EXPECT_EQ(ct_remainder_scalar(a, 0), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ZeroDivisionError");
    EXPECT_EQ(ct_fmod_scalar_(a, 0), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_fmod_scalar_: ZeroDivisionError");
    EXPECT_EQ(values_of(a), (std::vector<double>{5, -3, 7}));
    EXPECT_EQ(ct_floor_divide_(a, z), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_floor_divide_: ZeroDivisionError");
    // int32, and uint8 with a scalar that wraps to 0 (256), as PyTorch's
    ct_tensor *i32 = from({4, 5}, {2}, CT_INT32), *z32 = from({0, 0}, {2}, CT_INT32), *u8 = from({200}, {1}, CT_UINT8);
    EXPECT_EQ(ct_remainder(i32, z32), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ZeroDivisionError");
    EXPECT_EQ(ct_floor_divide_scalar(u8, 256), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ZeroDivisionError");
    // nothing to divide, no error (as PyTorch); floating division by zero is IEEE's, no error either
    ct_tensor *e = ct_zeros(1, SHAPE(0), CT_INT64, CT_DEVICE_CPU), *ee = ct_remainder_scalar(e, 0);
    EXPECT_NE(ee, nullptr) << ct_last_error();
    ct_tensor *fz = from({1, -1, 0}, {3}, CT_FLOAT32), *fq = ct_div_mode_scalar(fz, 0, CT_ROUND_FLOOR);
    ASSERT_NE(fq, nullptr) << ct_last_error();
    std::vector<double> q = values_of(fq);
    EXPECT_EQ(q[0], INFINITY);
    EXPECT_EQ(q[1], -INFINITY);
    EXPECT_TRUE(std::isnan(q[2]));
    for (ct_tensor *t : {a, z, i32, z32, u8, e, ee, fz, fq}) ct_release(t);
}

TEST_F(ElementwiseErrors, DivisionRefusals) {
    ct_tensor *i = from({5, 6}, {2}, CT_INT64), *j = from({2, 2}, {2}, CT_INT64);
    // in place: true division of integers, or a float operand, cannot go back into an integer self
    EXPECT_EQ(ct_div_mode_(i, j, CT_ROUND_NONE), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "ct_div_mode_: result type Float can't be cast to the desired output type Long");
    EXPECT_EQ(ct_div_mode_scalar_(i, 2.5, CT_ROUND_FLOOR), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "result type Float can't be cast to the desired output type Long");
    EXPECT_EQ(ct_remainder_scalar_(i, 2.5), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "result type Float can't be cast to the desired output type Long");
    EXPECT_EQ(values_of(i), (std::vector<double>{5, 6}));
    // shapes
    ct_tensor *a = ct_ones(2, SHAPE(2, 3), CT_FLOAT32, CT_DEVICE_CPU), *b = ct_ones(2, SHAPE(2, 4), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_remainder(a, b), nullptr);
    EXPECT_ERROR(CT_ERR_SHAPE, "ct_remainder: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1");
    ct_tensor *col = ct_ones(2, SHAPE(3, 1), CT_FLOAT32, CT_DEVICE_CPU), *wide = ct_ones(2, SHAPE(3, 4), CT_FLOAT32, CT_DEVICE_CPU);
    EXPECT_EQ(ct_fmod_(col, wide), CT_ERR_SHAPE);
    EXPECT_ERROR(CT_ERR_SHAPE, "ct_fmod_: output with shape [3, 1] doesn't match the broadcast shape [3, 4]");
    // bool // bool, as PyTorch's kernels
    ct_tensor *t = from({1, 0}, {2}, CT_BOOL), *u = from({1, 1}, {2}, CT_BOOL);
    EXPECT_EQ(ct_div_mode(t, u, CT_ROUND_FLOOR), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "\"div_floor_cpu\" not implemented for 'Bool'");
    EXPECT_EQ(ct_div_mode(t, u, CT_ROUND_TRUNC), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "\"div_trunc_cpu\" not implemented for 'Bool'");
    EXPECT_EQ(ct_floor_divide(t, u), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "\"div_floor_cpu\" not implemented for 'Bool'");
    EXPECT_EQ(ct_remainder(t, u), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "\"remainder_cpu\" not implemented for 'Bool'");
    EXPECT_EQ(ct_fmod_(t, u), CT_ERR_DTYPE);
    EXPECT_ERROR(CT_ERR_DTYPE, "\"fmod_cpu\" not implemented for 'Bool'");
    ct_tensor *tn = ct_div_mode(t, u, CT_ROUND_NONE); // true division of bools is fine: float32
    ASSERT_NE(tn, nullptr);
    EXPECT_EQ(ct_tensor_dtype(tn), CT_FLOAT32);
    // an unknown rounding mode; NULL arguments
    EXPECT_EQ(ct_div_mode(a, a, (ct_rounding_mode)7), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found 7");
    EXPECT_EQ(ct_div_mode_scalar_(a, 2, (ct_rounding_mode)-1), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "but found -1");
    EXPECT_EQ(ct_fmod(nullptr, a), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ct_fmod: argument 'a' is NULL");
    EXPECT_EQ(ct_remainder_(a, nullptr), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "argument 'other' is NULL");
    for (ct_tensor *v : {i, j, a, b, col, wide, t, u, tn}) ct_release(v);
}

// On CUDA a zero divisor element cannot stop the kernel: it writes 0 there and raises the device error flag, which
// the next synchronising call reports; the flag is then clear again.
TEST_F(ElementwiseErrors, CudaIntegerDivisionByZeroRaisesTheDeviceFlag) {
    std::string why = cth::gpu_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    ct_tensor *a = from({7, -7, 9}, {3}, CT_INT64), *z = from({2, 0, 4}, {3}, CT_INT64);
    ct_tensor *ga = ct_to_device(a, CT_DEVICE_CUDA(0)), *gz = ct_to_device(z, CT_DEVICE_CUDA(0));
    for (int op = kFloor; op <= kFmod; op++) {
        ct_tensor *q = divide(op, ga, gz);
        ASSERT_NE(q, nullptr) << ct_last_error();
        int64_t got[3];
        EXPECT_EQ(ct_copy_to_buffer(q, got, sizeof got), CT_ERR_INVALID_ARGUMENT) << kDivisionOpNames[op];
        EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ZeroDivisionError");
        std::vector<double> v = values_of(q); // the flag was cleared: this read succeeds
        EXPECT_EQ(v[1], 0) << kDivisionOpNames[op];
        ct_release(q);
    }
    EXPECT_EQ(ct_remainder_scalar(ga, 0), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "ZeroDivisionError");
    for (ct_tensor *t : {a, z, ga, gz}) ct_release(t);
}

} // namespace
