// The op-test harness (harness.h) and the test program's main(), which turns every registered case into two tests:
// OpCases/<op>.<case>/cpu and OpCases/<op>.<case>/cuda.
#include "harness.h"

#include <gtest/gtest.h>

#include "ctorch/autograd.h"

#include <cmath>
#include <cstring>
#include <set>

namespace cth {

InputSpec uniform(std::vector<int64_t> shape, ct_dtype dtype, double lo, double hi) {
    return {shape, dtype, Draw::Uniform, lo, hi};
}
InputSpec normal(std::vector<int64_t> shape, ct_dtype dtype) { return {shape, dtype, Draw::Normal}; }
InputSpec integers(std::vector<int64_t> shape, int64_t lo, int64_t hi, ct_dtype dtype) {
    return {shape, dtype, Draw::Integers, (double)lo, (double)hi};
}
InputSpec arange(std::vector<int64_t> shape, ct_dtype dtype, double start) {
    return {shape, dtype, Draw::Arange, start, 0};
}
InputSpec bools(std::vector<int64_t> shape) { return {shape, CT_BOOL, Draw::Bools}; }
InputSpec given(std::vector<int64_t> shape, std::vector<double> values, ct_dtype dtype) {
    InputSpec s{shape, dtype, Draw::Given};
    s.values = std::move(values);
    return s;
}
InputSpec transposed(InputSpec spec) {
    spec.transposed = true;
    return spec;
}

int64_t Ref::numel() const { return (int64_t)values.size(); }

double Ref::at(std::initializer_list<int64_t> index) const {
    int64_t flat = 0, d = 0;
    for (int64_t i : index) flat = flat * shape[(size_t)d++] + i;
    return values[(size_t)flat];
}

static std::vector<OpCase> &registry() {
    static std::vector<OpCase> all;
    return all;
}
int add_case(OpCase c) {
    registry().push_back(std::move(c));
    return (int)registry().size() - 1;
}
const std::vector<OpCase> &cases() { return registry(); }

// Draws the values of spec on the CPU as float64, then converts.
static ct_tensor *draw_cpu(const InputSpec &spec, const std::vector<int64_t> &shape, ct_generator *gen) {
    int nd = (int)shape.size();
    const int64_t *s = shape.data();
    ct_tensor *f = nullptr;
    switch (spec.draw) {
    case Draw::Uniform: {
        ct_tensor *u = ct_rand(nd, s, CT_FLOAT64, CT_DEVICE_CPU, gen);
        if (!u) return nullptr;
        double *p = (double *)ct_data_ptr(u);
        for (int64_t i = 0; i < ct_numel(u); i++) p[i] = spec.lo + (spec.hi - spec.lo) * p[i];
        f = u;
        break;
    }
    case Draw::Normal: f = ct_randn(nd, s, CT_FLOAT64, CT_DEVICE_CPU, gen); break;
    case Draw::Integers: f = ct_randint((int64_t)spec.lo, (int64_t)spec.hi, nd, s, CT_FLOAT64, CT_DEVICE_CPU, gen); break;
    case Draw::Bools: f = ct_randint(0, 2, nd, s, CT_FLOAT64, CT_DEVICE_CPU, gen); break;
    case Draw::Arange: {
        f = ct_empty(nd, s, CT_FLOAT64, CT_DEVICE_CPU);
        if (!f) return nullptr;
        double *p = (double *)ct_data_ptr(f);
        for (int64_t i = 0; i < ct_numel(f); i++) p[i] = spec.lo + (double)i;
        break;
    }
    case Draw::Given: {
        int64_t n = 1;
        for (int64_t x : shape) n *= x;
        if ((int64_t)spec.values.size() != n) {
            ADD_FAILURE() << "given input has " << spec.values.size() << " values for " << n << " elements";
            return nullptr;
        }
        f = ct_tensor_from_data(spec.values.data(), nd, s, CT_FLOAT64, CT_DEVICE_CPU);
        break;
    }
    }
    if (!f) return nullptr;
    ct_tensor *t = ct_to_dtype(f, spec.dtype);
    ct_release(f);
    return t;
}

ct_tensor *make_input(const InputSpec &spec, ct_device device, uint64_t seed) {
    ct_generator *gen = ct_generator_new(seed);
    std::vector<int64_t> shape = spec.shape;
    size_t n = shape.size();
    bool swap = spec.transposed && n >= 2;
    if (swap) std::swap(shape[n - 1], shape[n - 2]);
    ct_tensor *host = draw_cpu(spec, shape, gen);
    ct_generator_free(gen);
    if (!host) return nullptr;
    if (swap && spec.draw == Draw::Given) { // given values are in the final layout: lay them out transposed
        ct_tensor *v = ct_view(host, (int)n, spec.shape.data());
        ct_tensor *vt = ct_transpose(v, -1, -2);
        ct_tensor *c = ct_contiguous(vt);
        ct_release(v), ct_release(vt), ct_release(host);
        host = c;
    }
    ct_tensor *on = ct_to_device(host, device);
    ct_release(host);
    if (!on || !swap) return on;
    ct_tensor *t = ct_transpose(on, -1, -2);
    ct_release(on);
    return t;
}

Ref to_ref(const ct_tensor *t) {
    Ref r;
    r.shape.assign(ct_shape(t), ct_shape(t) + ct_dim(t));
    ct_tensor *d = ct_to_dtype(t, CT_FLOAT64);
    r.values.resize((size_t)ct_numel(t));
    if (!d || ct_copy_to_buffer(d, r.values.data(), r.values.size() * sizeof(double)) != CT_OK)
        ADD_FAILURE() << "to_ref: " << ct_last_error();
    ct_release(d);
    return r;
}

double nmse(const Ref &a, const Ref &b, std::string *why) {
    if (a.shape != b.shape) {
        std::string sa, sb;
        for (auto x : a.shape) sa += std::to_string(x) + ",";
        for (auto x : b.shape) sb += std::to_string(x) + ",";
        *why = "shape [" + sa + "] != expected [" + sb + "]";
        return INFINITY;
    }
    double err = 0, norm = 0;
    for (size_t i = 0; i < a.values.size(); i++) {
        double x = a.values[i], y = b.values[i];
        if (std::isnan(y) && std::isnan(x)) continue;
        if (std::isnan(x) != std::isnan(y)) {
            *why = "NaN mismatch at flat index " + std::to_string(i);
            return INFINITY;
        }
        if (std::isinf(x) || std::isinf(y)) {
            if (x != y) {
                *why = "infinity mismatch at flat index " + std::to_string(i) + ": " + std::to_string(x) + " vs " +
                       std::to_string(y);
                return INFINITY;
            }
            continue;
        }
        err += (x - y) * (x - y);
        norm += y * y;
    }
    return norm > 0 ? err / norm : err;
}

std::string gpu_skip_reason() {
    if (!ct_built_with_cuda()) return "ctorch was built without CUDA";
    if (!ct_cuda_is_available()) return "no CUDA device on this machine";
    return "";
}

static std::vector<GradCase> &grad_registry() {
    static std::vector<GradCase> all;
    return all;
}
int add_grad_case(GradCase c) {
    grad_registry().push_back(std::move(c));
    return (int)grad_registry().size() - 1;
}
const std::vector<GradCase> &grad_cases() { return grad_registry(); }

std::vector<std::vector<double>> numerical_jacobian(const std::function<ct_tensor *(const Inputs &)> &f,
                                                    const Inputs &inputs, size_t which, double eps) {
    struct NoGrad {
        NoGrad() { ct_no_grad_begin(); }
        ~NoGrad() { ct_no_grad_end(); }
    } no_grad;
    ct_tensor *x = inputs[which];
    int64_t n = ct_numel(x);
    std::vector<std::vector<double>> columns;
    for (int64_t j = 0; j < n; j++) {
        Ref base = to_ref(x);
        double orig = base.values[(size_t)j];
        Ref outs[2];
        for (int side = 0; side < 2; side++) {
            base.values[(size_t)j] = orig + (side ? -eps : eps);
            ct_tensor *flat = ct_tensor_from_data(base.values.data(), ct_dim(x), ct_shape(x), CT_FLOAT64,
                                                  ct_tensor_device(x));
            ct_copy_(x, flat);
            ct_release(flat);
            ct_tensor *y = f(inputs);
            outs[side] = to_ref(y);
            ct_release(y);
        }
        base.values[(size_t)j] = orig;
        ct_tensor *flat = ct_tensor_from_data(base.values.data(), ct_dim(x), ct_shape(x), CT_FLOAT64, ct_tensor_device(x));
        ct_copy_(x, flat);
        ct_release(flat);
        std::vector<double> col(outs[0].values.size());
        for (size_t i = 0; i < col.size(); i++) col[i] = (outs[0].values[i] - outs[1].values[i]) / (2 * eps);
        columns.push_back(col);
    }
    std::vector<std::vector<double>> jac(columns.empty() ? 0 : columns[0].size(), std::vector<double>((size_t)n));
    for (size_t j = 0; j < columns.size(); j++)
        for (size_t i = 0; i < jac.size(); i++) jac[i][j] = columns[j][i];
    return jac;
}

} // namespace cth

namespace {

uint64_t seed_of(const std::string &s) {
    uint64_t h = 1469598103934665603ull; // FNV-1a: a stable seed per case name
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

// Runs case c on device; returns the result's Ref (empty shape and a failure on error).
bool run_case(const cth::OpCase &c, ct_device device, cth::Ref *out) {
    uint64_t seed = seed_of(c.op + "/" + c.name);
    cth::Inputs in;
    for (size_t i = 0; i < c.inputs.size(); i++) {
        ct_tensor *t = cth::make_input(c.inputs[i], device, seed + i);
        if (!t) {
            ADD_FAILURE() << "input " << i << ": " << ct_last_error();
            for (auto *x : in) ct_release(x);
            return false;
        }
        in.push_back(t);
    }
    ct_tensor *y = c.run(in);
    bool ok = y != nullptr;
    if (!ok) ADD_FAILURE() << c.op << " failed: " << ct_last_error();
    if (ok && c.expected_dtype != CT_NUM_DTYPES) {
        EXPECT_EQ(ct_tensor_dtype(y), c.expected_dtype) << "result dtype " << ct_dtype_name(ct_tensor_dtype(y));
    }
    if (ok) *out = cth::to_ref(y);
    ct_release(y);
    for (auto *x : in) ct_release(x);
    return ok;
}

class OpCaseTest : public testing::Test {
  public:
    OpCaseTest(size_t index, bool cuda) : index_(index), cuda_(cuda) {}
    void TestBody() override {
        const cth::OpCase &c = cth::cases()[index_];
        if (cuda_) {
            std::string why = cth::gpu_skip_reason();
            if (!why.empty()) GTEST_SKIP() << why;
        }
        ct_memory_stats before, after;
        ASSERT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, &before), CT_OK);
        int64_t violations = ct_debug_guard_violations();
        ct_debug_set_guard_memory(true);
        cth::Ref got, expected;
        bool ok = run_case(c, CT_DEVICE_CPU, &got);
        ct_debug_set_guard_memory(false);
        ASSERT_TRUE(ok);
        EXPECT_EQ(ct_debug_guard_violations(), violations) << "a kernel wrote past the end of a CPU tensor";
        ASSERT_EQ(ct_memory_stats_get(CT_DEVICE_CPU, &after), CT_OK);
        EXPECT_EQ(after.allocated, before.allocated) << "the case leaked CPU memory";
        if (cuda_) {
            expected = got;
            ASSERT_TRUE(run_case(c, CT_DEVICE_CUDA(0), &got));
            ASSERT_EQ(ct_synchronize(CT_DEVICE_CUDA(0)), CT_OK) << ct_last_error();
        } else {
            if (!c.reference) return; // checked across devices only
            std::vector<cth::Ref> refs;
            uint64_t seed = seed_of(c.op + "/" + c.name);
            for (size_t i = 0; i < c.inputs.size(); i++) {
                ct_tensor *t = cth::make_input(c.inputs[i], CT_DEVICE_CPU, seed + i);
                refs.push_back(cth::to_ref(t));
                ct_release(t);
            }
            expected = c.reference(refs);
        }
        std::string why;
        double e = cth::nmse(got, expected, &why);
        EXPECT_LE(e, c.max_nmse) << why;
    }

  private:
    size_t index_;
    bool cuda_;
};

class GradCaseTest : public testing::Test {
  public:
    GradCaseTest(size_t index, bool cuda) : index_(index), cuda_(cuda) {}
    void TestBody() override {
        const cth::GradCase &c = cth::grad_cases()[index_];
        if (cuda_) {
            std::string why = cth::gpu_skip_reason();
            if (!why.empty()) GTEST_SKIP() << why;
        }
        ct_device dev = cuda_ ? CT_DEVICE_CUDA(0) : CT_DEVICE_CPU;
        uint64_t seed = seed_of("grad/" + c.op + "/" + c.name);
        ct_scope_begin();
        cth::Inputs in;
        std::vector<int> wrt = c.wrt;
        for (size_t i = 0; i < c.inputs.size(); i++) {
            cth::InputSpec spec = c.inputs[i];
            bool floating = ct_dtype_is_floating(spec.dtype);
            if (floating) spec.dtype = CT_FLOAT64;
            if (c.wrt.empty() && floating) wrt.push_back((int)i);
            ct_tensor *t = cth::make_input(spec, dev, seed + i);
            ASSERT_NE(t, nullptr) << ct_last_error();
            in.push_back(t);
        }
        for (int i : wrt) { // a leaf that requires grad: a non-contiguous input is detached from its making
            in[(size_t)i] = ct_detach(in[(size_t)i]);
            ASSERT_EQ(ct_set_requires_grad(in[(size_t)i], true), CT_OK) << ct_last_error();
        }
        ct_tensor *y = c.run(in);
        ASSERT_NE(y, nullptr) << ct_last_error();
        ct_tensor *w = cth::make_input(cth::uniform(std::vector<int64_t>(ct_shape(y), ct_shape(y) + ct_dim(y)),
                                                    ct_tensor_dtype(y), -1, 1),
                                       dev, seed + 99);
        ASSERT_EQ(ct_backward(y, w, false), CT_OK) << ct_last_error();
        cth::Ref wr = cth::to_ref(w);
        for (int i : wrt) {
            auto jac = cth::numerical_jacobian(c.run, in, (size_t)i, c.eps);
            ct_tensor *g = ct_grad(in[(size_t)i]);
            ASSERT_NE(g, nullptr) << "input " << i << " got no gradient";
            cth::Ref gr = cth::to_ref(g);
            ASSERT_EQ(gr.values.size(), (size_t)ct_numel(in[(size_t)i]));
            for (size_t j = 0; j < gr.values.size(); j++) {
                double numeric = 0;
                for (size_t k = 0; k < jac.size(); k++) numeric += jac[k][j] * wr.values[k];
                EXPECT_NEAR(gr.values[j], numeric, c.tol * (1 + std::fabs(numeric)))
                    << "input " << i << ", element " << j;
            }
        }
        ct_scope_end();
    }

  private:
    size_t index_;
    bool cuda_;
};

} // namespace

// Every differentiable op has a gradient check, except those listed in tests/no_gradient_yet.txt (what autograd
// does not cover yet, in view).
TEST(OpCoverage, EveryDifferentiableOpHasAGradientCheck) {
    std::set<std::string> checked, exempt;
    for (const auto &c : cth::grad_cases()) checked.insert(c.op);
    FILE *f = std::fopen(CTORCH_TESTS_DIR "/no_gradient_yet.txt", "r");
    char line[256];
    while (f && std::fgets(line, sizeof line, f)) {
        std::string name(line);
        while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
        if (!name.empty() && name[0] != '#') exempt.insert(name);
    }
    if (f) std::fclose(f);
    std::string missing, listed;
    for (int i = 0; i < ct_op_count(); i++) {
        if (!ct_op_is_differentiable(i) || checked.count(ct_op_name(i))) continue;
        (exempt.count(ct_op_name(i)) ? listed : missing) += std::string(" ") + ct_op_name(i);
    }
    if (!listed.empty()) std::printf("differentiable ops with no gradient yet (tests/no_gradient_yet.txt):%s\n", listed.c_str());
    EXPECT_TRUE(missing.empty()) << "differentiable ops with no gradient check:" << missing;
}

// Every registered op has at least one case (the listing names those that have none).
TEST(OpCoverage, EveryRegisteredOpHasACase) {
    std::set<std::string> covered;
    for (const auto &c : cth::cases()) covered.insert(c.op);
    std::string missing;
    for (int i = 0; i < ct_op_count(); i++)
        if (!covered.count(ct_op_name(i))) missing += std::string(" ") + ct_op_name(i);
    if (!missing.empty()) std::printf("ops with no test case:%s\n", missing.c_str());
    EXPECT_TRUE(missing.empty()) << "ops with no test case:" << missing;
}

// Every case names a registered op, so a typo cannot make a case count for nothing.
TEST(OpCoverage, EveryCaseNamesARegisteredOp) {
    std::set<std::string> ops;
    for (int i = 0; i < ct_op_count(); i++) ops.insert(ct_op_name(i));
    for (const auto &c : cth::cases()) EXPECT_TRUE(ops.count(c.op)) << c.op << "/" << c.name << " names no registered op";
}

int main(int argc, char **argv) {
    testing::InitGoogleTest(&argc, argv);
    const auto &all = cth::cases();
    for (size_t i = 0; i < all.size(); i++) {
        for (bool cuda : {false, true}) {
            std::string suite = "OpCases/" + all[i].op;
            std::string name = all[i].name + (cuda ? "/cuda" : "/cpu");
            testing::RegisterTest(suite.c_str(), name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                                  [i, cuda]() -> testing::Test * { return new OpCaseTest(i, cuda); });
        }
    }
    const auto &grads = cth::grad_cases();
    for (size_t i = 0; i < grads.size(); i++) {
        for (bool cuda : {false, true}) {
            std::string suite = "GradCases/" + grads[i].op;
            std::string name = grads[i].name + (cuda ? "/cuda" : "/cpu");
            testing::RegisterTest(suite.c_str(), name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                                  [i, cuda]() -> testing::Test * { return new GradCaseTest(i, cuda); });
        }
    }
    return RUN_ALL_TESTS();
}
