/* Optimizer step time: SGD with momentum and AdamW over 10^6, 10^7 and 10^8 float32 parameters (--quick: 10^6),
 * split into 4 tensors as a model's layers would be, all in one group with a gradient each. The rate counts the bytes
 * a step must move at least: SGD momentum reads p, g, buf and writes p, buf (5 x 4 bytes per parameter); AdamW reads
 * p, g, m, v and writes p, m, v (7 x 4 bytes). It is held against the device's copy bandwidth measured in this run.
 * On CUDA each step is one fused launch for the 4 tensors. */
#include <stdio.h>

#include "bench.h"

#define NTENSORS 4

typedef struct {
    ct_optimizer *opt;
} stepper;

static int run_step(void *p) {
    stepper *s = p;
    return ct_optimizer_step(s->opt) != CT_OK;
}

/* NTENSORS parameters of n / NTENSORS elements each, with random values and gradients. */
static int make_params(const bench_options *opt, int64_t n, ct_tensor **params) {
    int64_t each = n / NTENSORS;
    for (int i = 0; i < NTENSORS; i++) {
        params[i] = ct_rand(1, &each, CT_FLOAT32, opt->device, NULL);
        ct_tensor *g = ct_rand(1, &each, CT_FLOAT32, opt->device, NULL);
        if (!params[i] || !g || ct_set_grad(params[i], g) != CT_OK) return 1;
    }
    return 0;
}

/* Times one optimizer over n parameters and reports it. */
static int bench_one(const bench_options *opt, const char *name, int64_t n, int bytes_per_param) {
    ct_tensor *params[NTENSORS];
    if (make_params(opt, n, params)) return 1;
    ct_param_group group = {params, NTENSORS, NULL};
    ct_optim_options o;
    ct_optimizer *optimizer;
    if (name[0] == 's') {
        o = ct_optim_sgd_defaults();
        o.lr = 0.01, o.momentum = 0.9;
        optimizer = ct_optim_sgd_new(&group, 1, &o);
    } else {
        o = ct_optim_adamw_defaults();
        optimizer = ct_optim_adamw_new(&group, 1, &o);
    }
    if (!optimizer) return 1;
    stepper s = {optimizer};
    char shape[48];
    snprintf(shape, sizeof shape, "%dx%lld", NTENSORS, (long long)(n / NTENSORS));
    double ms = bench_time_ms(opt, run_step, &s, 5);
    double limit = bench_copy_bandwidth_gbs(opt, n * 4);
    ct_optimizer_free(optimizer);
    if (ms < 0) return 1;
    bench_report(opt, "optim", name, shape, "float32", ms, (double)n * bytes_per_param, "GB/s", limit);
    return 0;
}

int main(int argc, char **argv) {
    bench_options opt = bench_init(argc, argv, "bench_optim");
    int64_t sizes[] = {1000000, 10000000, 100000000};
    int nsizes = opt.quick ? 1 : 3;
    for (int i = 0; i < nsizes; i++) {
        ct_scope_begin();
        int failed = bench_one(&opt, "sgd_momentum", sizes[i], 5 * 4) || bench_one(&opt, "adamw", sizes[i], 7 * 4);
        ct_scope_end();
        if (failed) {
            fprintf(stderr, "bench_optim: %s\n", ct_last_error());
            return 1;
        }
    }
    return 0;
}
