// End to end against PyTorch: a two-layer network (linear, relu, linear) trained three steps with SGD (momentum,
// nesterov, weight decay), Adam (amsgrad) and AdamW, two parameter groups with their own learning rates, on an MSE
// and a cross-entropy loss, in float64. Every loss and every parameter after every step must match the values
// tests/fixtures/network_reference.py computed with torch (tests/fixtures/network_reference.h).
#include <cmath>

#include "fixtures/network_reference.h"
#include "test_helpers.h"

namespace {

ct_tensor *f64(const double *data, std::vector<int64_t> shape) {
    return ct_tensor_from_data(data, (int)shape.size(), shape.data(), CT_FLOAT64, CT_DEVICE_CPU);
}

ct_tensor *forward_loss(ct_tensor *const *p, bool mse) {
    ct_tensor *x = f64(netref_x, {4, 3});
    ct_tensor *h = ct_relu(ct_linear(x, p[0], p[1]));
    ct_tensor *out = ct_linear(h, p[2], p[3]);
    if (mse) {
        ct_tensor *d = ct_sub(out, f64(netref_y, {4, 2}), 1.0);
        return ct_mean(ct_mul(d, d), 0, nullptr, false);
    }
    ct_tensor *target = ct_tensor_from_data(netref_target, 2, SHAPE(4, 1), CT_INT64, CT_DEVICE_CPU);
    return ct_neg(ct_mean(ct_gather(ct_log_softmax(out, 1), 1, target), 0, nullptr, false));
}

struct OptimizerConfig {
    ct_optim_options options; // the first group's; the second group's differs in lr only
    ct_optimizer *(*make)(const ct_param_group *, int, const ct_optim_options *);
};

void train_and_compare(const OptimizerConfig &cfg, bool mse, const double *losses, const double *params) {
    ct_tensor *p[4] = {f64(netref_w1, {5, 3}), f64(netref_b1, {5}), f64(netref_w2, {2, 5}), f64(netref_b2, {2})};
    for (ct_tensor *t : p) ASSERT_EQ(ct_set_requires_grad(t, true), CT_OK);
    ct_optim_options first = cfg.options, second = cfg.options;
    first.lr = 0.1, second.lr = 0.05;
    ct_param_group groups[2] = {{p, 2, &first}, {p + 2, 2, &second}};
    ct_optimizer *opt = cfg.make(groups, 2, &cfg.options);
    ASSERT_NE(opt, nullptr) << ct_last_error();
    const int64_t total = 15 + 5 + 10 + 2;
    for (int step = 0; step < NETREF_STEPS; step++) {
        ct_scope_begin();
        ASSERT_EQ(ct_optimizer_zero_grad(opt, true), CT_OK);
        ct_tensor *loss = forward_loss(p, mse);
        ASSERT_NE(loss, nullptr) << ct_last_error();
        ASSERT_EQ(ct_backward(loss, nullptr, false), CT_OK) << ct_last_error();
        ASSERT_EQ(ct_optimizer_step(opt), CT_OK) << ct_last_error();
        double l;
        ASSERT_EQ(ct_item(loss, &l), CT_OK);
        EXPECT_NEAR(l, losses[step], 1e-12 * (1 + std::fabs(losses[step]))) << "loss at step " << step;
        std::vector<double> got;
        for (ct_tensor *t : p) {
            std::vector<double> v = values_of(t);
            got.insert(got.end(), v.begin(), v.end());
        }
        for (int64_t i = 0; i < total; i++) {
            double want = params[step * total + i];
            EXPECT_NEAR(got[(size_t)i], want, 1e-12 * (1 + std::fabs(want))) << "param " << i << " at step " << step;
        }
        ct_scope_end();
    }
    ct_optimizer_free(opt);
    for (ct_tensor *t : p) ct_release(t);
}

OptimizerConfig sgd() {
    ct_optim_options o = ct_optim_sgd_defaults();
    o.momentum = 0.9, o.nesterov = true, o.weight_decay = 0.01;
    return {o, ct_optim_sgd_new};
}
OptimizerConfig adam() {
    ct_optim_options o = ct_optim_adam_defaults();
    o.amsgrad = true;
    return {o, ct_optim_adam_new};
}
OptimizerConfig adamw() {
    ct_optim_options o = ct_optim_adamw_defaults();
    o.weight_decay = 0.05;
    return {o, ct_optim_adamw_new};
}

} // namespace

TEST(TrainingMatchesPyTorch, MseWithSgdNesterov) { train_and_compare(sgd(), true, netref_mse_sgd_loss, netref_mse_sgd_params); }
TEST(TrainingMatchesPyTorch, MseWithAdamAmsgrad) { train_and_compare(adam(), true, netref_mse_adam_loss, netref_mse_adam_params); }
TEST(TrainingMatchesPyTorch, MseWithAdamW) { train_and_compare(adamw(), true, netref_mse_adamw_loss, netref_mse_adamw_params); }
TEST(TrainingMatchesPyTorch, CrossEntropyWithSgdNesterov) {
    train_and_compare(sgd(), false, netref_ce_sgd_loss, netref_ce_sgd_params);
}
TEST(TrainingMatchesPyTorch, CrossEntropyWithAdamAmsgrad) {
    train_and_compare(adam(), false, netref_ce_adam_loss, netref_ce_adam_params);
}
TEST(TrainingMatchesPyTorch, CrossEntropyWithAdamW) {
    train_and_compare(adamw(), false, netref_ce_adamw_loss, netref_ce_adamw_params);
}
