// Optimizers, gradient clipping, state dicts and learning-rate schedulers against PyTorch's numbers
// (tests/fixtures/optim_reference.h, made by tests/fixtures/optim_reference.py), hand-computed examples, and every
// misuse with its message.
//
// Tolerances. float64 runs: 1e-12 relative (plus 1e-15 absolute for values near 0). PyTorch's vectorised CPU
// kernels fuse some multiply-adds (vec::fmadd) where ctorch rounds twice, so the two differ by an ulp or so per
// operation: about 1e-16 relative per operation, 1e-14 after five steps of ~20 operations each.
// float32 runs: the same argument at float32's unit roundoff u = 2^-24 = 6e-8: each of the ~20 rounded operations of
// a step can differ by about u relative to the magnitudes involved (parameters and moments of order 1), and an
// error in a parameter carries into the following steps, so after 5 steps 5 * 20 * u = 6e-6 bounds the difference;
// we allow 8e-6 * max(1, |ref|).
#include "harness.h"
#include "test_helpers.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "ctorch/optim.h"
#include "fixtures/optim_reference.h"

namespace {

const int64_t kOffsets[3] = {0, 6, 10}; // each parameter's first element in the fixture's flat arrays

int64_t numel_of(int i) { return OPTREF_NDIMS[i] == 2 ? OPTREF_SHAPES[i][0] * OPTREF_SHAPES[i][1] : OPTREF_SHAPES[i][0]; }

// A tensor of `dtype` on `device` holding the fixture values at values[offset of parameter i ...].
ct_tensor *fixture_tensor(const double *values, int i, ct_dtype dtype, ct_device device) {
    ct_tensor *t64 = ct_tensor_from_data(values + kOffsets[i], OPTREF_NDIMS[i], OPTREF_SHAPES[i], CT_FLOAT64,
                                         CT_DEVICE_CPU);
    ct_tensor *t = ct_empty(OPTREF_NDIMS[i], OPTREF_SHAPES[i], dtype, device);
    EXPECT_EQ(ct_copy_(t, t64), CT_OK) << ct_last_error();
    ct_release(t64);
    return t;
}

ct_optim_options options_of(const optref_group &g) {
    ct_optim_options o = ct_optim_adam_defaults();
    o.lr = g.lr, o.momentum = g.momentum, o.dampening = g.dampening, o.nesterov = g.nesterov;
    o.weight_decay = g.weight_decay, o.maximize = g.maximize;
    o.beta1 = g.beta1, o.beta2 = g.beta2, o.eps = g.eps, o.amsgrad = g.amsgrad;
    return o;
}

ct_optimizer *make_optimizer(const std::string &name, const ct_param_group *groups, int n,
                             const ct_optim_options *defaults = nullptr) {
    if (name == "SGD") return ct_optim_sgd_new(groups, n, defaults);
    if (name == "Adam") return ct_optim_adam_new(groups, n, defaults);
    return ct_optim_adamw_new(groups, n, defaults);
}

// The three fixture parameters, released at the end of the test.
struct Params {
    std::vector<ct_tensor *> p;
    Params(ct_dtype dtype, ct_device device) {
        for (int i = 0; i < 3; i++) p.push_back(fixture_tensor(OPTREF_INIT, i, dtype, device));
    }
    ~Params() {
        for (ct_tensor *t : p) ct_release(t);
    }
    // The fixture's two groups: parameters 0 and 1, then 2.
    ct_optimizer *optimizer(const optref_run &run, const ct_optim_options *override0 = nullptr) {
        ct_optim_options o0 = override0 ? *override0 : options_of(run.groups[0]), o1 = options_of(run.groups[1]);
        ct_tensor *g0[2] = {p[0], p[1]}, *g1[1] = {p[2]};
        ct_param_group groups[2] = {{g0, 2, &o0}, {g1, 1, &o1}};
        return make_optimizer(run.optimizer, groups, 2);
    }
    // Sets the gradients of step `step` (none where the fixture has none).
    void set_grads(int step) {
        for (int i = 0; i < 3; i++) {
            ct_tensor *g = nullptr;
            if (OPTREF_HAS_GRAD[step][i])
                g = fixture_tensor(OPTREF_GRADS + step * OPTREF_NUMEL, i, ct_tensor_dtype(p[i]),
                                   ct_tensor_device(p[i]));
            ASSERT_EQ(ct_set_grad(p[i], g), CT_OK) << ct_last_error();
            ct_release(g);
        }
    }
    std::vector<double> values() const {
        std::vector<double> all;
        for (ct_tensor *t : p) {
            std::vector<double> v = values_of(t);
            all.insert(all.end(), v.begin(), v.end());
        }
        return all;
    }
};

// Expects got to match want (OPTREF_NUMEL values) within rel * max(floor, |want|).
void expect_close(const std::vector<double> &got, const double *want, double rel, double floor,
                  const std::string &what) {
    ASSERT_EQ(got.size(), (size_t)OPTREF_NUMEL);
    for (int k = 0; k < OPTREF_NUMEL; k++)
        EXPECT_LE(std::fabs(got[k] - want[k]), rel * std::max(floor, std::fabs(want[k])))
            << what << " element " << k << ": got " << got[k] << ", PyTorch " << want[k];
}

double rel_tol(ct_dtype dtype) { return dtype == CT_FLOAT64 ? 1e-12 : 8e-6; }
double floor_tol(ct_dtype dtype) { return dtype == CT_FLOAT64 ? 1e-3 : 1.0; }

// Runs a fixture run for all its steps, checking the parameters after each against PyTorch.
void check_run_against_pytorch(const optref_run &run, ct_dtype dtype, ct_device device) {
    Params ps(dtype, device);
    ct_optimizer *opt = ps.optimizer(run);
    ASSERT_NE(opt, nullptr) << ct_last_error();
    const double *want = dtype == CT_FLOAT64 ? run.f64 : run.f32;
    for (int step = 0; step < OPTREF_STEPS; step++) {
        ps.set_grads(step);
        ASSERT_EQ(ct_optimizer_step(opt), CT_OK) << ct_last_error();
        expect_close(ps.values(), want + step * OPTREF_NUMEL, rel_tol(dtype), floor_tol(dtype),
                     std::string(run.name) + " " + ct_dtype_name(dtype) + " step " + std::to_string(step + 1));
    }
    ct_optimizer_free(opt);
}

std::string skip_without_gpu() { return cth::gpu_skip_reason(); }

} // namespace

// ---- update rules against PyTorch ----------------------------------------------------------------------------------

TEST(Optim, MatchesPyTorchFloat64) {
    for (const optref_run &run : OPTREF_RUNS) check_run_against_pytorch(run, CT_FLOAT64, CT_DEVICE_CPU);
}

TEST(Optim, MatchesPyTorchFloat32) {
    for (const optref_run &run : OPTREF_RUNS) check_run_against_pytorch(run, CT_FLOAT32, CT_DEVICE_CPU);
}

TEST(Optim, CudaMatchesPyTorch) {
    std::string why = skip_without_gpu();
    if (!why.empty()) GTEST_SKIP() << why;
    for (const optref_run &run : OPTREF_RUNS) {
        check_run_against_pytorch(run, CT_FLOAT64, CT_DEVICE_CUDA(0));
        check_run_against_pytorch(run, CT_FLOAT32, CT_DEVICE_CUDA(0));
    }
}

// A parameter that is a non-contiguous view is updated in place through its view.
TEST(Optim, NonContiguousParameterIsUpdatedThroughItsView) {
    const optref_run &run = OPTREF_RUNS[4]; // adamw
    ASSERT_STREQ(run.name, "adamw");
    Params ps(CT_FLOAT64, CT_DEVICE_CPU);
    // parameter 0 (2 x 3) becomes the transpose of a contiguous 3 x 2 base holding the same values
    ct_tensor *transposed = ct_t(ps.p[0]);
    ct_tensor *base = ct_contiguous(transposed);
    ct_release(transposed);
    ct_tensor *view = ct_t(base);
    ASSERT_FALSE(ct_is_contiguous(view));
    ct_release(ps.p[0]);
    ps.p[0] = view;
    ct_optimizer *opt = ps.optimizer(run);
    ASSERT_NE(opt, nullptr) << ct_last_error();
    for (int step = 0; step < OPTREF_STEPS; step++) {
        ps.set_grads(step);
        ASSERT_EQ(ct_optimizer_step(opt), CT_OK) << ct_last_error();
    }
    expect_close(ps.values(), run.f64 + (OPTREF_STEPS - 1) * OPTREF_NUMEL, 1e-12, 1e-3, "transposed parameter");
    std::vector<double> through_base = values_of(base); // the base sees the update: base = view^T
    std::vector<double> v = values_of(view);
    EXPECT_EQ(through_base[1], v[3]); // base[0][1] == view[1][0]
    ct_optimizer_free(opt);
    ct_release(base);
}

TEST(Optim, SgdMomentumByHand) {
    // p = [1, 2], g = [0.5, -1], lr 0.1, momentum 0.9: step 1 buf = g, p -= 0.1 g; step 2 buf = 0.9 g + g = 1.9 g.
    ct_tensor *p = ct_tensor_from_data(std::vector<double>{1, 2}.data(), 1, SHAPE(2), CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *g = ct_tensor_from_data(std::vector<double>{0.5, -1}.data(), 1, SHAPE(2), CT_FLOAT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_set_grad(p, g), CT_OK);
    ct_optim_options o = ct_optim_sgd_defaults();
    o.lr = 0.1, o.momentum = 0.9;
    ct_param_group group = {&p, 1, nullptr};
    ct_optimizer *opt = ct_optim_sgd_new(&group, 1, &o);
    ASSERT_NE(opt, nullptr) << ct_last_error();
    ASSERT_EQ(ct_optimizer_step(opt), CT_OK);
    EXPECT_EQ(values_of(p), (std::vector<double>{1 - 0.1 * 0.5, 2 - 0.1 * -1}));
    ASSERT_EQ(ct_optimizer_step(opt), CT_OK);
    std::vector<double> v = values_of(p);
    EXPECT_NEAR(v[0], 0.95 - 0.1 * 1.9 * 0.5, 1e-15);
    EXPECT_NEAR(v[1], 2.1 - 0.1 * 1.9 * -1, 1e-15);
    ct_optimizer_free(opt);
    ct_release(g);
    ct_release(p);
}

TEST(Optim, AdamFirstStepMovesEachWeightByAboutLr) {
    // After one step the bias-corrected moments are g and g^2, so p -= lr * g / (|g| + eps).
    std::vector<float> init = {0.5f, -0.25f, 3.0f}, grad = {2.0f, -0.001f, 0.0f};
    ct_tensor *p = tensor_f32(init, {3}), *g = tensor_f32(grad, {3});
    ASSERT_EQ(ct_set_grad(p, g), CT_OK);
    ct_param_group group = {&p, 1, nullptr};
    ct_optimizer *opt = ct_optim_adam_new(&group, 1, nullptr); // lr 1e-3, eps 1e-8
    ASSERT_NE(opt, nullptr) << ct_last_error();
    ASSERT_EQ(ct_optimizer_step(opt), CT_OK);
    std::vector<double> v = values_of(p);
    for (int i = 0; i < 3; i++) {
        double expected = init[i] - 1e-3 * grad[i] / (std::fabs(grad[i]) + 1e-8);
        EXPECT_NEAR(v[i], expected, 4 * 6e-8 * std::fabs(init[i])) << i; // float32: a few roundings of p
    }
    ct_optimizer_free(opt);
    ct_release(g);
    ct_release(p);
}

// ---- groups, grads, ownership ------------------------------------------------------------------------------------

TEST(Optim, ParametersWithoutGradAreSkippedAndGetNoState) {
    Params ps(CT_FLOAT64, CT_DEVICE_CPU);
    ct_optimizer *opt = ps.optimizer(OPTREF_RUNS[2]); // adam
    ASSERT_NE(opt, nullptr);
    ps.set_grads(0);
    ASSERT_EQ(ct_set_grad(ps.p[1], nullptr), CT_OK);
    std::vector<double> before = values_of(ps.p[1]);
    ASSERT_EQ(ct_optimizer_step(opt), CT_OK);
    EXPECT_EQ(values_of(ps.p[1]), before);
    ct_optim_state_dict *sd = ct_optimizer_state_dict(opt);
    ASSERT_NE(sd, nullptr);
    for (int k = 0; k < sd->nentries; k++) EXPECT_NE(sd->entries[k].param, 1) << sd->entries[k].name;
    EXPECT_EQ(sd->nentries, 6); // step, exp_avg, exp_avg_sq for parameters 0 and 2
    ct_optim_state_dict_free(sd);
    ct_optimizer_free(opt);
}

TEST(Optim, ZeroGradSetsToNoneOrZeroesInPlace) {
    Params ps(CT_FLOAT32, CT_DEVICE_CPU);
    ct_optimizer *opt = ps.optimizer(OPTREF_RUNS[0]);
    ASSERT_NE(opt, nullptr);
    ps.set_grads(0);
    ct_tensor *g0 = ct_grad(ps.p[0]);
    ASSERT_EQ(ct_optimizer_zero_grad(opt, false), CT_OK);
    EXPECT_EQ(ct_grad(ps.p[0]), g0); // the same tensor, now zeros
    EXPECT_EQ(values_of(g0), std::vector<double>(6, 0.0));
    ASSERT_EQ(ct_optimizer_zero_grad(opt, true), CT_OK);
    for (ct_tensor *p : ps.p) EXPECT_EQ(ct_grad(p), nullptr);
    ct_optimizer_free(opt);
}

TEST(Optim, RetainsParametersUntilFreed) {
    int64_t start = cpu_allocated();
    ct_optimizer *opt;
    ct_tensor *p;
    ct_scope_begin();
    p = ct_ones(1, SHAPE(4), CT_FLOAT32, CT_DEVICE_CPU);
    ct_param_group group = {&p, 1, nullptr};
    opt = ct_optim_sgd_new(&group, 1, nullptr);
    ASSERT_NE(opt, nullptr);
    ASSERT_EQ(ct_scope_end(), CT_OK); // the scope's reference is gone; the optimizer's keeps p alive
    EXPECT_EQ(ct_optimizer_param(opt, 0, 0), p);
    EXPECT_EQ(values_of(p), std::vector<double>(4, 1.0));
    ct_optimizer_free(opt);
    EXPECT_EQ(cpu_allocated(), start);
}

TEST(Optim, StepInsideAScopeKeepsTheStateOutOfIt) {
    Params ps(CT_FLOAT64, CT_DEVICE_CPU);
    ct_optimizer *opt = ps.optimizer(OPTREF_RUNS[3]); // adam amsgrad
    ASSERT_NE(opt, nullptr);
    for (int step = 0; step < OPTREF_STEPS; step++) {
        ct_scope_begin();
        ps.set_grads(step);
        ASSERT_EQ(ct_optimizer_step(opt), CT_OK) << ct_last_error();
        ASSERT_EQ(ct_scope_end(), CT_OK);
    }
    expect_close(ps.values(), OPTREF_RUNS[3].f64 + (OPTREF_STEPS - 1) * OPTREF_NUMEL, 1e-12, 1e-3, "scoped steps");
    ct_optimizer_free(opt);
}

TEST(Optim, GroupsHaveTheirOwnOptionsAndLr) {
    Params ps(CT_FLOAT64, CT_DEVICE_CPU);
    ct_optimizer *opt = ps.optimizer(OPTREF_RUNS[1]);
    ASSERT_NE(opt, nullptr);
    EXPECT_STREQ(ct_optimizer_name(opt), "SGD");
    EXPECT_EQ(ct_optimizer_num_param_groups(opt), 2);
    EXPECT_EQ(ct_optimizer_group_size(opt, 0), 2);
    EXPECT_EQ(ct_optimizer_group_size(opt, 1), 1);
    EXPECT_EQ(ct_optimizer_get_lr(opt, 0), 0.1);
    EXPECT_EQ(ct_optimizer_get_lr(opt, 1), 0.01);
    ASSERT_EQ(ct_optimizer_set_lr(opt, 1, 0.5), CT_OK);
    ct_optim_options o;
    ASSERT_EQ(ct_optimizer_get_options(opt, 1, &o), CT_OK);
    EXPECT_EQ(o.lr, 0.5);
    EXPECT_EQ(o.momentum, 0.5);
    EXPECT_TRUE(o.maximize);
    // a group added later (unfreezing a layer) takes the optimizer's defaults
    ct_tensor *extra = ct_zeros(1, SHAPE(2), CT_FLOAT64, CT_DEVICE_CPU);
    ct_param_group more = {&extra, 1, nullptr};
    ASSERT_EQ(ct_optimizer_add_param_group(opt, &more), CT_OK) << ct_last_error();
    EXPECT_EQ(ct_optimizer_get_lr(opt, 2), 1e-3);
    ct_release(extra);
    ct_optimizer_free(opt);
}

// ---- state dicts ---------------------------------------------------------------------------------------------------

// Save after k steps, load into a fresh optimizer over fresh copies of the parameters, continue: the parameters
// must be bit-identical to an uninterrupted run.
void check_round_trip(const optref_run &run, ct_dtype dtype, int k) {
    Params straight(dtype, CT_DEVICE_CPU), first(dtype, CT_DEVICE_CPU), second(dtype, CT_DEVICE_CPU);
    ct_optimizer *a = straight.optimizer(run), *b = first.optimizer(run);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    for (int step = 0; step < OPTREF_STEPS; step++) {
        straight.set_grads(step);
        ASSERT_EQ(ct_optimizer_step(a), CT_OK);
    }
    for (int step = 0; step < k; step++) {
        first.set_grads(step);
        ASSERT_EQ(ct_optimizer_step(b), CT_OK);
    }
    ct_optim_state_dict *sd = ct_optimizer_state_dict(b);
    ASSERT_NE(sd, nullptr) << ct_last_error();
    // the resumed optimizer starts from other hyperparameters: load_state_dict restores them
    ct_optim_options other = options_of(run.groups[0]);
    other.lr = 0.5;
    ct_optimizer *c = second.optimizer(run, &other);
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 3; i++) ASSERT_EQ(ct_copy_(second.p[i], first.p[i]), CT_OK);
    ASSERT_EQ(ct_optimizer_load_state_dict(c, sd), CT_OK) << ct_last_error();
    ct_optim_state_dict_free(sd);
    ct_optimizer_free(b);
    for (int step = k; step < OPTREF_STEPS; step++) {
        second.set_grads(step);
        ASSERT_EQ(ct_optimizer_step(c), CT_OK);
    }
    for (int i = 0; i < 3; i++) {
        size_t bytes = (size_t)numel_of(i) * ct_dtype_size(dtype);
        std::vector<char> x(bytes), y(bytes);
        ASSERT_EQ(ct_copy_to_buffer(straight.p[i], x.data(), bytes), CT_OK);
        ASSERT_EQ(ct_copy_to_buffer(second.p[i], y.data(), bytes), CT_OK);
        EXPECT_EQ(std::memcmp(x.data(), y.data(), bytes), 0)
            << run.name << " " << ct_dtype_name(dtype) << " resumed after " << k << ": parameter " << i;
    }
    ct_optimizer_free(a);
    ct_optimizer_free(c);
}

TEST(OptimStateDict, ResumeIsBitIdentical) {
    for (const optref_run &run : OPTREF_RUNS)
        for (int k : {1, 2, 3}) {
            check_round_trip(run, CT_FLOAT64, k);
            check_round_trip(run, CT_FLOAT32, k);
        }
}

TEST(OptimStateDict, HasPyTorchsLayout) {
    Params ps(CT_FLOAT32, CT_DEVICE_CPU);
    ct_optimizer *opt = ps.optimizer(OPTREF_RUNS[4]); // adamw, amsgrad in group 1
    ASSERT_NE(opt, nullptr);
    for (int step = 0; step < 3; step++) { // parameter 1 misses step 2's gradient
        ps.set_grads(step);
        ASSERT_EQ(ct_optimizer_step(opt), CT_OK);
    }
    ct_lr_scheduler *sched = ct_exponential_lr_new(opt, 0.5); // records initial_lr in the groups
    ASSERT_NE(sched, nullptr);
    ct_optim_state_dict *sd = ct_optimizer_state_dict(opt);
    ASSERT_NE(sd, nullptr);
    EXPECT_STREQ(sd->optimizer, "AdamW");
    std::vector<std::string> keys;
    char key[64];
    for (int k = 0; k < sd->nentries; k++) keys.push_back(ct_optim_state_key(&sd->entries[k], key, sizeof key));
    EXPECT_EQ(keys, (std::vector<std::string>{"state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.1.step",
                                              "state.1.exp_avg", "state.1.exp_avg_sq", "state.2.step",
                                              "state.2.exp_avg", "state.2.exp_avg_sq", "state.2.max_exp_avg_sq"}));
    double step;
    ASSERT_EQ(ct_item(sd->entries[0].value, &step), CT_OK);
    EXPECT_EQ(step, 3);
    EXPECT_EQ(ct_tensor_dtype(sd->entries[0].value), CT_FLOAT32);
    EXPECT_EQ(ct_dim(sd->entries[0].value), 0);
    ASSERT_EQ(ct_item(sd->entries[3].value, &step), CT_OK);
    EXPECT_EQ(step, 2); // skipped once
    ASSERT_EQ(sd->ngroups, 2);
    EXPECT_EQ(std::vector<int64_t>(sd->groups[0].params, sd->groups[0].params + 2), (std::vector<int64_t>{0, 1}));
    EXPECT_EQ(sd->groups[1].params[0], 2);
    ct_optim_hparam hp[CT_OPTIM_MAX_HPARAMS];
    int n = ct_optim_group_hparams(sd, 1, hp);
    std::vector<std::string> names;
    for (int i = 0; i < n; i++) names.push_back(hp[i].name);
    EXPECT_EQ(names, (std::vector<std::string>{"lr", "betas.0", "betas.1", "eps", "weight_decay", "amsgrad",
                                               "maximize", "initial_lr"}));
    EXPECT_EQ(hp[0].value, 0.02);
    EXPECT_EQ(hp[4].value, 0.01);
    EXPECT_EQ(hp[5].value, 1);
    EXPECT_EQ(hp[7].value, 0.02);
    ASSERT_EQ(ct_optim_group_set_hparam(sd, 1, "betas.1", 0.5), CT_OK);
    EXPECT_EQ(sd->groups[1].options.beta2, 0.5);
    EXPECT_EQ(ct_optim_group_set_hparam(sd, 1, "momentum", 0.5), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "AdamW has no hyperparameter 'momentum'");
    ct_optim_state_dict_free(sd);
    ct_lr_scheduler_free(sched);
    ct_optimizer_free(opt);
}

TEST(OptimStateDict, SgdKeepsMomentumBuffersOnlyWithMomentum) {
    Params ps(CT_FLOAT64, CT_DEVICE_CPU);
    ct_optimizer *plain = ps.optimizer(OPTREF_RUNS[0]);
    ps.set_grads(0);
    ASSERT_EQ(ct_optimizer_step(plain), CT_OK);
    ct_optim_state_dict *sd = ct_optimizer_state_dict(plain);
    EXPECT_EQ(sd->nentries, 0);
    ct_optim_hparam hp[CT_OPTIM_MAX_HPARAMS];
    EXPECT_EQ(ct_optim_group_hparams(sd, 0, hp), 6);
    EXPECT_STREQ(hp[4].name, "nesterov");
    ct_optim_state_dict_free(sd);
    ct_optimizer_free(plain);
    ct_optimizer *mom = ps.optimizer(OPTREF_RUNS[1]);
    ASSERT_EQ(ct_optimizer_step(mom), CT_OK);
    sd = ct_optimizer_state_dict(mom);
    ASSERT_EQ(sd->nentries, 3);
    EXPECT_STREQ(sd->entries[2].name, "momentum_buffer");
    ct_optim_state_dict_free(sd);
    ct_optimizer_free(mom);
}

// A state dict built by hand (as a checkpoint reader would) loads like one taken from an optimizer.
TEST(OptimStateDict, BuiltByHandLoadsAndCastsToTheParameterDtype) {
    ct_tensor *p = ct_zeros(1, SHAPE(3), CT_FLOAT32, CT_DEVICE_CPU);
    ct_param_group group = {&p, 1, nullptr};
    ct_optimizer *opt = ct_optim_sgd_new(&group, 1, nullptr);
    ct_optim_state_dict *sd = ct_optim_state_dict_new("SGD");
    ASSERT_NE(sd, nullptr);
    ct_optim_options o = ct_optim_sgd_defaults();
    o.lr = 1.0, o.momentum = 0.5;
    int64_t index = 7; // any saved index: the k-th listed maps to the k-th parameter
    ASSERT_EQ(ct_optim_state_dict_add_group(sd, &o, NAN, 1, &index), CT_OK);
    ct_tensor *buf = ct_full(1, SHAPE(3), 2.0, CT_FLOAT64, CT_DEVICE_CPU);
    ASSERT_EQ(ct_optim_state_dict_add_entry(sd, 7, "momentum_buffer", buf), CT_OK);
    ct_release(buf);
    ASSERT_EQ(ct_optimizer_load_state_dict(opt, sd), CT_OK) << ct_last_error();
    ct_optim_state_dict_free(sd);
    ct_tensor *g = ct_ones(1, SHAPE(3), CT_FLOAT32, CT_DEVICE_CPU);
    ASSERT_EQ(ct_set_grad(p, g), CT_OK);
    ASSERT_EQ(ct_optimizer_step(opt), CT_OK); // buf = 0.5 * 2 + 1 = 2, p = 0 - 1.0 * 2
    EXPECT_EQ(values_of(p), std::vector<double>(3, -2.0));
    sd = ct_optimizer_state_dict(opt);
    EXPECT_EQ(ct_tensor_dtype(sd->entries[0].value), CT_FLOAT32);
    ct_optim_state_dict_free(sd);
    ct_optimizer_free(opt);
    ct_release(g);
    ct_release(p);
}

// ---- errors -------------------------------------------------------------------------------------------------------

TEST(OptimErrors, EmptyParameterList) {
    EXPECT_EQ(ct_optim_sgd_new(nullptr, 0, nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "optimizer got an empty parameter list");
    ct_param_group empty = {nullptr, 0, nullptr};
    EXPECT_EQ(ct_optim_adam_new(&empty, 1, nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "optimizer got an empty parameter list");
}

TEST(OptimErrors, InvalidHyperparametersInPyTorchsWords) {
    ct_tensor *p = ct_zeros(1, SHAPE(2), CT_FLOAT32, CT_DEVICE_CPU);
    ct_param_group group = {&p, 1, nullptr};
    struct Bad {
        const char *optimizer;
        std::function<void(ct_optim_options &)> spoil;
        const char *words;
    };
    std::vector<Bad> bad = {
        {"SGD", [](ct_optim_options &o) { o.lr = -0.1; }, "Invalid learning rate: -0.1"},
        {"Adam", [](ct_optim_options &o) { o.lr = -0.1; }, "Invalid learning rate: -0.1"},
        {"AdamW", [](ct_optim_options &o) { o.lr = NAN; }, "Invalid learning rate: nan"},
        {"SGD", [](ct_optim_options &o) { o.momentum = -1; }, "Invalid momentum value: -1.0"},
        {"SGD", [](ct_optim_options &o) { o.weight_decay = -1e-5; }, "Invalid weight_decay value: -1e-05"},
        {"Adam", [](ct_optim_options &o) { o.weight_decay = -0.5; }, "Invalid weight_decay value: -0.5"},
        {"Adam", [](ct_optim_options &o) { o.eps = -1e-8; }, "Invalid epsilon value: -1e-08"},
        {"Adam", [](ct_optim_options &o) { o.beta1 = 1.0; }, "Invalid beta parameter at index 0: 1.0"},
        {"AdamW", [](ct_optim_options &o) { o.beta2 = -0.1; }, "Invalid beta parameter at index 1: -0.1"},
        {"SGD", [](ct_optim_options &o) { o.nesterov = true; },
         "Nesterov momentum requires a momentum and zero dampening"},
        {"SGD", [](ct_optim_options &o) { o.nesterov = true, o.momentum = 0.9, o.dampening = 0.1; },
         "Nesterov momentum requires a momentum and zero dampening"},
    };
    for (const Bad &b : bad) {
        ct_optim_options o = b.optimizer == std::string("SGD") ? ct_optim_sgd_defaults() : ct_optim_adam_defaults();
        b.spoil(o);
        EXPECT_EQ(make_optimizer(b.optimizer, &group, 1, &o), nullptr) << b.words; // as defaults
        EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, b.words);
        ct_param_group own = {&p, 1, &o};
        EXPECT_EQ(make_optimizer(b.optimizer, &own, 1), nullptr) << b.words; // as a group's options
        EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, b.words);
    }
    ct_optimizer *opt = ct_optim_sgd_new(&group, 1, nullptr);
    EXPECT_EQ(ct_optimizer_set_lr(opt, 0, -0.1), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "Invalid learning rate: -0.1");
    EXPECT_EQ(ct_optimizer_get_lr(opt, 0), 1e-3);
    EXPECT_EQ(ct_optimizer_set_lr(opt, 3, 0.1), CT_ERR_INDEX);
    EXPECT_ERROR(CT_ERR_INDEX, "param group 3 is out of range");
    ct_optimizer_free(opt);
    ct_release(p);
}

TEST(OptimErrors, RepeatedAndInvalidParameters) {
    ct_tensor *a = ct_zeros(1, SHAPE(2), CT_FLOAT32, CT_DEVICE_CPU), *b = ct_zeros(1, SHAPE(2), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *g0[2] = {a, b}, *g1[1] = {a};
    ct_param_group across[2] = {{g0, 2, nullptr}, {g1, 1, nullptr}};
    EXPECT_EQ(ct_optim_sgd_new(across, 2, nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "some parameters appear in more than one parameter group");
    ct_tensor *twice[2] = {b, b};
    ct_param_group within = {twice, 2, nullptr};
    EXPECT_EQ(ct_optim_adam_new(&within, 1, nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "optimizer contains a parameter group with duplicate parameters");
    ct_tensor *with_null[2] = {a, nullptr};
    ct_param_group nulls = {with_null, 2, nullptr};
    EXPECT_EQ(ct_optim_sgd_new(&nulls, 1, nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "parameter 1 of the group is NULL");
    ct_tensor *ints = ct_zeros(1, SHAPE(2), CT_INT64, CT_DEVICE_CPU);
    ct_param_group int_group = {&ints, 1, nullptr};
    EXPECT_EQ(ct_optim_sgd_new(&int_group, 1, nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_DTYPE, "parameter 0 is int64");
    // add_param_group checks against the parameters already there
    ct_param_group first = {&a, 1, nullptr};
    ct_optimizer *opt = ct_optim_sgd_new(&first, 1, nullptr);
    ASSERT_NE(opt, nullptr);
    EXPECT_EQ(ct_optimizer_add_param_group(opt, &first), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "some parameters appear in more than one parameter group");
    EXPECT_EQ(ct_optimizer_num_param_groups(opt), 1);
    ct_optimizer_free(opt);
    ct_release(ints);
    ct_release(a);
    ct_release(b);
}

TEST(OptimErrors, NullArguments) {
    EXPECT_EQ(ct_optimizer_step(nullptr), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "'opt' is NULL");
    EXPECT_EQ(ct_optimizer_zero_grad(nullptr, true), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "'opt' is NULL");
    EXPECT_EQ(ct_optimizer_state_dict(nullptr), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "'opt' is NULL");
    EXPECT_EQ(ct_optimizer_load_state_dict(nullptr, nullptr), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "'opt' is NULL");
    EXPECT_EQ(ct_lr_scheduler_step(nullptr), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "is NULL");
    EXPECT_EQ(ct_step_lr_new(nullptr, 3, 0.1), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "'opt' is NULL");
    EXPECT_EQ(ct_clip_grad_norm_(nullptr, 2, 1.0, 2.0, false, nullptr), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "2 parameters");
    EXPECT_EQ(ct_optim_state_dict_new("Adagrad"), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "unknown optimizer 'Adagrad'");
    ct_optimizer_free(nullptr);
    ct_lr_scheduler_free(nullptr);
    ct_optim_state_dict_free(nullptr);
}

// Each bad state dict is refused with a clear message, and the optimizer is left as it was.
TEST(OptimErrors, BadStateDictsAreRefusedAndChangeNothing) {
    Params ps(CT_FLOAT64, CT_DEVICE_CPU), other_ps(CT_FLOAT64, CT_DEVICE_CPU);
    ct_optimizer *adam = ps.optimizer(OPTREF_RUNS[3]); // amsgrad in both groups
    ct_optimizer *sgd = other_ps.optimizer(OPTREF_RUNS[1]);
    ps.set_grads(0), other_ps.set_grads(0);
    ASSERT_EQ(ct_optimizer_step(adam), CT_OK);
    ASSERT_EQ(ct_optimizer_step(sgd), CT_OK);
    ct_optim_state_dict *from_sgd = ct_optimizer_state_dict(sgd);
    EXPECT_EQ(ct_optimizer_load_state_dict(adam, from_sgd), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "loaded state dict is from SGD, but this optimizer is Adam");
    ct_optim_state_dict_free(from_sgd);

    struct Spoil {
        std::function<void(ct_optim_state_dict *)> spoil;
        ct_status status;
        const char *words;
    };
    std::vector<Spoil> spoils = {
        {[](ct_optim_state_dict *sd) { sd->ngroups = 1; }, CT_ERR_INVALID_ARGUMENT,
         "loaded state dict has a different number of parameter groups"},
        {[](ct_optim_state_dict *sd) { sd->groups[0].nparams = 1; }, CT_ERR_INVALID_ARGUMENT,
         "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"},
        {[](ct_optim_state_dict *sd) { sd->groups[1].options.lr = -0.1; }, CT_ERR_INVALID_ARGUMENT,
         "Invalid learning rate: -0.1"},
        {[](ct_optim_state_dict *sd) { sd->groups[1].params[0] = 0; }, CT_ERR_INVALID_ARGUMENT,
         "parameter index 0 is listed twice"},
        {[](ct_optim_state_dict *sd) { sd->entries[1].param = 9; }, CT_ERR_INVALID_ARGUMENT,
         "loaded state has an entry for parameter 9, which no parameter group lists"},
        {[](ct_optim_state_dict *sd) { std::strcpy(sd->entries[1].name, "momentum_buffer"); },
         CT_ERR_INVALID_ARGUMENT, "has an entry 'momentum_buffer' that Adam does not keep"},
        {[](ct_optim_state_dict *sd) { std::strcpy(sd->entries[2].name, "exp_avg"); }, CT_ERR_INVALID_ARGUMENT,
         "loaded state has two 'exp_avg' entries for parameter 0"},
        {[](ct_optim_state_dict *sd) { std::strcpy(sd->entries[3].name, "step"); }, CT_ERR_SHAPE,
         "loaded state 'step' of parameter 0 has shape [2, 3], but a step count is one element"},
        {[](ct_optim_state_dict *sd) { sd->nentries = 2; }, CT_ERR_INVALID_ARGUMENT,
         "loaded state of parameter 0 lacks 'exp_avg_sq'"},
        {[](ct_optim_state_dict *sd) {
             ct_tensor *t = ct_zeros(2, SHAPE(3, 2), CT_FLOAT64, CT_DEVICE_CPU);
             ct_release(sd->entries[1].value);
             sd->entries[1].value = t;
         },
         CT_ERR_SHAPE, "loaded state 'exp_avg' of parameter 0 has shape [3, 2], but the parameter has shape [2, 3]"},
    };
    for (const Spoil &s : spoils) {
        ct_optim_state_dict *sd = ct_optimizer_state_dict(adam);
        ASSERT_NE(sd, nullptr);
        ASSERT_GE(sd->nentries, 4);
        int ngroups = sd->ngroups, nentries = sd->nentries, n0 = sd->groups[0].nparams;
        s.spoil(sd);
        EXPECT_EQ(ct_optimizer_load_state_dict(adam, sd), s.status) << s.words;
        EXPECT_ERROR(s.status, s.words);
        sd->ngroups = ngroups, sd->nentries = nentries, sd->groups[0].nparams = n0; // so that free sees it all
        ct_optim_state_dict_free(sd);
    }
    // after all the refusals the optimizer continues exactly as PyTorch's
    for (int step = 1; step < OPTREF_STEPS; step++) {
        ps.set_grads(step);
        ASSERT_EQ(ct_optimizer_step(adam), CT_OK);
    }
    expect_close(ps.values(), OPTREF_RUNS[3].f64 + (OPTREF_STEPS - 1) * OPTREF_NUMEL, 1e-12, 1e-3, "after refusals");
    ct_optimizer_free(adam);
    ct_optimizer_free(sgd);
}

// ---- gradient clipping ---------------------------------------------------------------------------------------------

void check_clip_cases(ct_dtype dtype, ct_device device) {
    for (const optref_clip &c : OPTREF_CLIPS) {
        Params ps(dtype, device);
        for (int i = 0; i < 3; i++) {
            ct_tensor *g = fixture_tensor(OPTREF_CLIP_GRADS, i, dtype, device);
            ASSERT_EQ(ct_set_grad(ps.p[i], g), CT_OK);
            ct_release(g);
        }
        double total = -1;
        ASSERT_EQ(ct_clip_grad_norm_(ps.p.data(), 3, c.max_norm, c.norm_type, false, &total), CT_OK) << ct_last_error();
        // the norm is summed in float64 from the gradients' values: float32 gradients are the float64 ones rounded
        // (relative error u = 6e-8 each), which moves the norm by at most u relative
        double tol = dtype == CT_FLOAT64 ? 1e-14 : 1.2e-7;
        EXPECT_NEAR(total, c.total_norm, tol * c.total_norm) << c.name;
        std::vector<double> got;
        for (ct_tensor *p : ps.p) {
            std::vector<double> v = values_of(ct_grad(p));
            got.insert(got.end(), v.begin(), v.end());
        }
        // scaled gradients: the grad's rounding, the coefficient's, and the product's
        expect_close(got, c.grads, dtype == CT_FLOAT64 ? 1e-14 : 4e-7, 0, std::string("clip ") + c.name);
    }
}

TEST(OptimClip, GradNormMatchesPyTorch) {
    check_clip_cases(CT_FLOAT64, CT_DEVICE_CPU);
    check_clip_cases(CT_FLOAT32, CT_DEVICE_CPU);
}

TEST(OptimClip, CudaGradNormMatchesPyTorch) {
    std::string why = skip_without_gpu();
    if (!why.empty()) GTEST_SKIP() << why;
    check_clip_cases(CT_FLOAT64, CT_DEVICE_CUDA(0));
    check_clip_cases(CT_FLOAT32, CT_DEVICE_CUDA(0));
}

TEST(OptimClip, GradNormByHandSkipsMissingGradsAndHandlesStrides) {
    // grads [3, 4] (through a transposed 2 x 1 view) and none: the 2-norm is 5; max_norm 1 scales by 1 / (5 + 1e-6)
    ct_tensor *a = ct_zeros(2, SHAPE(1, 2), CT_FLOAT64, CT_DEVICE_CPU), *b = ct_zeros(1, SHAPE(3), CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *at = ct_t(a); // 2 x 1, non-contiguous grad below
    ct_tensor *gbase = ct_tensor_from_data(std::vector<double>{3, 4}.data(), 2, SHAPE(1, 2), CT_FLOAT64, CT_DEVICE_CPU);
    ct_tensor *g = ct_t(gbase);
    ASSERT_EQ(ct_set_grad(at, g), CT_OK);
    ct_tensor *params[2] = {at, b};
    double total;
    ASSERT_EQ(ct_clip_grad_norm_(params, 2, 1.0, 2.0, false, &total), CT_OK);
    EXPECT_EQ(total, 5.0);
    std::vector<double> v = values_of(gbase); // scaled in place, through the view
    EXPECT_DOUBLE_EQ(v[0], 3 / (5 + 1e-6));
    EXPECT_DOUBLE_EQ(v[1], 4 / (5 + 1e-6));
    EXPECT_EQ(ct_grad(b), nullptr);
    // with no gradient at all the total is 0 and nothing happens
    ct_tensor *only_b[1] = {b};
    ASSERT_EQ(ct_clip_grad_norm_(only_b, 1, 1.0, INFINITY, true, &total), CT_OK);
    EXPECT_EQ(total, 0.0);
    ct_release(g), ct_release(gbase), ct_release(at), ct_release(a), ct_release(b);
}

TEST(OptimClip, GradValueClampsAndKeepsNan) {
    ct_tensor *p = ct_zeros(1, SHAPE(5), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *g = tensor_f32({-3.0f, -0.5f, 0.25f, 7.0f, NAN}, {5});
    ASSERT_EQ(ct_set_grad(p, g), CT_OK);
    ASSERT_EQ(ct_clip_grad_value_(&p, 1, 1.0), CT_OK);
    std::vector<double> v = values_of(g);
    EXPECT_EQ(std::vector<double>(v.begin(), v.begin() + 4), (std::vector<double>{-1.0, -0.5, 0.25, 1.0}));
    EXPECT_TRUE(std::isnan(v[4]));
    ct_release(g), ct_release(p);
}

TEST(OptimClip, Errors) {
    ct_tensor *p = ct_zeros(1, SHAPE(2), CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *g = tensor_f32({1.0f, INFINITY}, {2});
    ASSERT_EQ(ct_set_grad(p, g), CT_OK);
    double total = 0;
    EXPECT_EQ(ct_clip_grad_norm_(&p, 1, 1.0, 2.0, true, &total), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "The total norm of order 2.0 for gradients from `parameters` is non-finite, "
                                          "so it cannot be clipped");
    EXPECT_TRUE(std::isinf(total));
    EXPECT_EQ(values_of(g)[0], 1.0); // not scaled
    EXPECT_EQ(ct_clip_grad_norm_(&p, 1, 1.0, 0.0, false, &total), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "norm_type must be positive or inf, got 0.0");
    ct_tensor *with_null[2] = {p, nullptr};
    EXPECT_EQ(ct_clip_grad_value_(with_null, 2, 1.0), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "parameter 1 is NULL");
    // without error_if_nonfinite PyTorch scales by max_norm / (inf + 1e-6) = 0: the finite entries become 0
    ASSERT_EQ(ct_clip_grad_norm_(&p, 1, 1.0, 2.0, false, &total), CT_OK);
    EXPECT_EQ(values_of(g)[0], 0.0);
    ct_release(g), ct_release(p);
}

// ---- learning-rate schedulers ------------------------------------------------------------------------------------

namespace {

// Two groups, lr 0.1 and 0.01, as the fixture's optimizer.
struct SchedOptimizer {
    ct_tensor *a = ct_zeros(1, SHAPE(1), CT_FLOAT32, CT_DEVICE_CPU), *b = ct_zeros(1, SHAPE(1), CT_FLOAT32, CT_DEVICE_CPU);
    ct_optimizer *opt;
    SchedOptimizer() {
        ct_optim_options o0 = ct_optim_sgd_defaults(), o1 = o0;
        o0.lr = 0.1, o1.lr = 0.01;
        ct_param_group groups[2] = {{&a, 1, &o0}, {&b, 1, &o1}};
        opt = ct_optim_sgd_new(groups, 2, &o0);
    }
    ~SchedOptimizer() {
        ct_optimizer_free(opt);
        ct_release(a), ct_release(b);
    }
};

ct_lr_scheduler *make_schedule(const std::string &name, ct_optimizer *opt) {
    if (name == "step_lr") return ct_step_lr_new(opt, 7, 0.5);
    if (name == "multi_step_lr") {
        int64_t m[4] = {3, 8, 8, 20};
        return ct_multi_step_lr_new(opt, m, 4, 0.3);
    }
    if (name == "exponential_lr") return ct_exponential_lr_new(opt, 0.9);
    if (name == "cosine_annealing_lr") return ct_cosine_annealing_lr_new(opt, 10, 0.001);
    if (name == "linear_lr") return ct_linear_lr_new(opt, 0.25, 1.0, 6);
    if (name == "sequential_warmup_cosine") {
        ct_lr_scheduler *parts[2] = {ct_linear_lr_new(opt, 0.1, 1.0, 5), ct_cosine_annealing_lr_new(opt, 20, 1e-4)};
        int64_t m[1] = {5};
        return ct_sequential_lr_new(opt, parts, 2, m, 1);
    }
    ct_lr_scheduler *parts[3] = {ct_linear_lr_new(opt, 0.5, 1.0, 4), ct_step_lr_new(opt, 3, 0.5),
                                 ct_exponential_lr_new(opt, 0.95)};
    int64_t m[2] = {4, 12};
    return ct_sequential_lr_new(opt, parts, 3, m, 2);
}

void expect_lrs(const ct_lr_scheduler *s, const ct_optimizer *opt, const double *want, const std::string &what) {
    double lr[2];
    ASSERT_EQ(ct_lr_scheduler_get_last_lr(s, lr, 2), CT_OK);
    for (int g = 0; g < 2; g++) {
        EXPECT_EQ(lr[g], want[g]) << what << " group " << g; // exact: the same float64 operations as PyTorch
        EXPECT_EQ(ct_optimizer_get_lr(opt, g), want[g]) << what << " group " << g;
    }
}

} // namespace

TEST(LrScheduler, MatchesPyTorchExactly) {
    for (const optref_schedule &ref : OPTREF_SCHEDULES) {
        SchedOptimizer so;
        ct_lr_scheduler *s = make_schedule(ref.name, so.opt);
        ASSERT_NE(s, nullptr) << ref.name << ": " << ct_last_error();
        expect_lrs(s, so.opt, ref.lrs[0], std::string(ref.name) + " epoch 0");
        for (int e = 1; e <= OPTREF_EPOCHS; e++) {
            ASSERT_EQ(ct_lr_scheduler_step(s), CT_OK);
            expect_lrs(s, so.opt, ref.lrs[e], std::string(ref.name) + " epoch " + std::to_string(e));
        }
        EXPECT_EQ(ct_lr_scheduler_last_epoch(s), OPTREF_EPOCHS);
        ct_lr_scheduler_free(s);
    }
}

// Save the optimizer's and the scheduler's state at epoch 12, resume in fresh objects, continue: PyTorch's numbers.
TEST(LrScheduler, StateRoundTripResumesExactly) {
    for (const optref_schedule &ref : OPTREF_SCHEDULES) {
        SchedOptimizer first, second;
        ct_lr_scheduler *s = make_schedule(ref.name, first.opt);
        for (int e = 1; e <= 12; e++) ASSERT_EQ(ct_lr_scheduler_step(s), CT_OK);
        ct_lr_scheduler_state *state = ct_lr_scheduler_state_dict(s);
        ct_optim_state_dict *sd = ct_optimizer_state_dict(first.opt);
        ASSERT_NE(state, nullptr);
        ASSERT_NE(sd, nullptr);
        EXPECT_STREQ(state->kind, ct_lr_scheduler_name(s));
        EXPECT_EQ(state->last_epoch, 12);
        ct_lr_scheduler *resumed = make_schedule(ref.name, second.opt);
        ASSERT_EQ(ct_optimizer_load_state_dict(second.opt, sd), CT_OK) << ct_last_error();
        ASSERT_EQ(ct_lr_scheduler_load_state_dict(resumed, state), CT_OK) << ct_last_error();
        for (int e = 13; e <= OPTREF_EPOCHS; e++) {
            ASSERT_EQ(ct_lr_scheduler_step(resumed), CT_OK);
            expect_lrs(resumed, second.opt, ref.lrs[e], std::string(ref.name) + " resumed, epoch " + std::to_string(e));
        }
        ct_lr_scheduler_state_free(state);
        ct_optim_state_dict_free(sd);
        ct_lr_scheduler_free(s);
        ct_lr_scheduler_free(resumed);
    }
}

TEST(LrScheduler, Errors) {
    SchedOptimizer so, other;
    EXPECT_EQ(ct_linear_lr_new(so.opt, 0.0, 1.0, 5), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT,
                 "Starting multiplicative factor expected to be greater than 0 and less or equal to 1.");
    EXPECT_EQ(ct_linear_lr_new(so.opt, 0.5, 1.5, 5), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "Ending multiplicative factor expected to be between 0 and 1.");
    EXPECT_EQ(ct_step_lr_new(so.opt, 0, 0.1), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "step_size must be positive, got 0");
    EXPECT_EQ(ct_cosine_annealing_lr_new(so.opt, 0, 0.0), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "T_max must be positive");
    EXPECT_EQ(ct_sequential_lr_new(so.opt, nullptr, 0, nullptr, 0), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "SequentialLR expects at least one scheduler, but got no scheduler.");
    ct_lr_scheduler *mine = ct_exponential_lr_new(so.opt, 0.9), *theirs = ct_exponential_lr_new(other.opt, 0.9);
    ct_lr_scheduler *pair[2] = {mine, theirs};
    int64_t m[1] = {3};
    EXPECT_EQ(ct_sequential_lr_new(so.opt, pair, 2, m, 1), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "SequentialLR expects all schedulers to belong to the same optimizer, but got "
                                          "scheduler ExponentialLR at index 1");
    pair[1] = mine;
    EXPECT_EQ(ct_sequential_lr_new(so.opt, pair, 1, m, 1), nullptr);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "Sequential Schedulers expects number of schedulers provided to be one more "
                                          "than the number of milestone points, but got number of schedulers 1 and the "
                                          "number of milestones to be equal to 1");
    // a state of another kind is refused
    ct_lr_scheduler_state *state = ct_lr_scheduler_state_dict(theirs);
    ct_lr_scheduler *steps = ct_step_lr_new(so.opt, 2, 0.5);
    EXPECT_EQ(ct_lr_scheduler_load_state_dict(steps, state), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "the state is a ExponentialLR's, but the scheduler is a StepLR");
    // a group added after the scheduler was made
    ct_tensor *extra = ct_zeros(1, SHAPE(1), CT_FLOAT32, CT_DEVICE_CPU);
    ct_param_group more = {&extra, 1, nullptr};
    ASSERT_EQ(ct_optimizer_add_param_group(so.opt, &more), CT_OK);
    EXPECT_EQ(ct_lr_scheduler_step(steps), CT_ERR_STATE);
    EXPECT_ERROR(CT_ERR_STATE, "the optimizer has 3 parameter groups, but had 2");
    double lr[3];
    EXPECT_EQ(ct_lr_scheduler_get_last_lr(steps, lr, 3), CT_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR(CT_ERR_INVALID_ARGUMENT, "the scheduler has 2 parameter groups");
    ct_release(extra);
    ct_lr_scheduler_state_free(state);
    ct_lr_scheduler_free(steps);
    ct_lr_scheduler_free(mine);
    ct_lr_scheduler_free(theirs);
}
