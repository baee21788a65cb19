/* A small CNN's training step on Fashion-MNIST-sized batches (samples/s), against the data loader that feeds it.
 *
 * The model: conv 1->16 3x3 pad 1, relu, max_pool 2, conv 16->32 3x3 pad 1, relu, max_pool 2, linear 32*7*7 -> 10,
 * cross-entropy as tools/demo.c computes it (-mean(log_softmax(logits)[i, label_i])), AdamW step; batches of 64
 * float32 images [64, 1, 28, 28]. Three figures:
 *   cnn_train_step           the step alone, on one batch already on the device (bench_time_ms: median of repeats)
 *   loader_{raw,augmented}_workersN   the loader alone, exactly as bench_loader runs it (Fashion-MNIST, batches of
 *                            64, shuffled, 0/1/2 worker threads, raw uint8 or with the training augmentations)
 *   cnn_fed_by_loader_workersN   the two together: each step trains on the loader's next augmented batch
 * and then one line per loader configuration: "loader/cnn ratio" = loader samples/s / CNN step samples/s. Above 1
 * the loader outpaces the training step (it is not the bottleneck); on a CPU the workers share the cores with the
 * step, so the fed figure is the one that says what a training loop gets. bench/compare_cases_cnn.py is the
 * PyTorch counterpart of cnn_train_step (same model, sizes, optimizer and thread count). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define BATCH 64

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the model -------------------------------------------------------------------------------------------------- */

typedef struct cnn {
    ct_tensor *w1, *b1, *w2, *b2, *w3, *b3; /* conv1 [16,1,3,3], conv2 [32,16,3,3], fc [10,1568] */
    ct_optimizer *opt;
} cnn;

/* A parameter uniform in [-bound, bound) (PyTorch's default bound for conv and linear: 1/sqrt(fan_in)). */
static ct_tensor *parameter(int ndim, const int64_t *shape, int64_t fan_in, ct_device device) {
    double bound = 1 / sqrt((double)fan_in);
    ct_scope_begin();
    ct_tensor *u = ct_rand(ndim, shape, CT_FLOAT32, device, NULL);
    ct_tensor *p = ct_keep(ct_add_scalar(ct_mul_scalar(u, 2 * bound), -bound, 1.0));
    ct_scope_end();
    if (p && ct_set_requires_grad(p, true) != CT_OK) ct_release(p), p = NULL;
    return p;
}

static bool cnn_init(cnn *m, ct_device device) {
    m->w1 = parameter(4, (int64_t[]){16, 1, 3, 3}, 9, device);
    m->b1 = parameter(1, (int64_t[]){16}, 9, device);
    m->w2 = parameter(4, (int64_t[]){32, 16, 3, 3}, 144, device);
    m->b2 = parameter(1, (int64_t[]){32}, 144, device);
    m->w3 = parameter(2, (int64_t[]){10, 32 * 7 * 7}, 32 * 7 * 7, device);
    m->b3 = parameter(1, (int64_t[]){10}, 32 * 7 * 7, device);
    ct_tensor *params[6] = {m->w1, m->b1, m->w2, m->b2, m->w3, m->b3};
    for (int i = 0; i < 6; i++)
        if (!params[i]) return false;
    ct_optim_options o = ct_optim_adamw_defaults();
    ct_param_group group = {params, 6, NULL};
    m->opt = ct_optim_adamw_new(&group, 1, &o);
    return m->opt != NULL;
}

static void cnn_free(cnn *m) {
    ct_optimizer_free(m->opt);
    ct_tensor *params[6] = {m->w1, m->b1, m->w2, m->b2, m->w3, m->b3};
    for (int i = 0; i < 6; i++) ct_release(params[i]);
}

/* One training step on images x [B, 1, 28, 28] (float32) and labels y [B] (int64), both on the model's device. */
static ct_status cnn_step(cnn *m, const ct_tensor *x, const ct_tensor *y) {
    static const int64_t pad1[2] = {1, 1}, pool2[2] = {2, 2};
    ct_scope_begin();
    ct_tensor *h = ct_max_pool2d(ct_relu(ct_conv2d(x, m->w1, m->b1, NULL, pad1, NULL, 1)), pool2, NULL, NULL, NULL, false);
    h = ct_max_pool2d(ct_relu(ct_conv2d(h, m->w2, m->b2, NULL, pad1, NULL, 1)), pool2, NULL, NULL, NULL, false);
    ct_tensor *logits = ct_linear(ct_flatten(h, 1, -1), m->w3, m->b3); /* [B, 1568] -> [B, 10] */
    ct_tensor *loss = ct_neg(ct_mean(ct_gather(ct_log_softmax(logits, 1), 1, ct_unsqueeze(y, 1)), 0, NULL, false));
    ct_status st = loss ? CT_OK : ct_last_status();
    if (st == CT_OK) st = ct_optimizer_zero_grad(m->opt, true);
    if (st == CT_OK) st = ct_backward(loss, NULL, false);
    if (st == CT_OK) st = ct_optimizer_step(m->opt);
    ct_scope_end();
    return st;
}

typedef struct step_ctx {
    cnn *m;
    ct_tensor *x, *y;
} step_ctx;

static int run_step(void *p) {
    step_ctx *c = p;
    return cnn_step(c->m, c->x, c->y) != CT_OK;
}

/* ---- the loader, as bench_loader runs it -------------------------------------------------------------------------- */

static ct_dataloader *make_loader(ct_dataset *ds, ct_transform *aug, int workers, ct_device device,
                                  ct_generator **g) {
    *g = ct_generator_new(0);
    ct_dataloader_options o = {.batch_size = BATCH, .shuffle = true, .num_workers = workers, .generator = *g,
                               .pin_memory = device.type == CT_CUDA};
    o.transforms[0] = aug;
    return ct_dataloader_new(ds, &o);
}

/* Samples/s of `batches` batches from the loader, each moved to the device (and trained on when m is not NULL);
 * negative on error. */
static double loader_rate(ct_dataset *ds, ct_transform *aug, int workers, ct_device device, int64_t batches, cnn *m) {
    ct_generator *g = NULL;
    ct_dataloader *dl = make_loader(ds, aug, workers, device, &g);
    ct_dataloader_iter *it = dl ? ct_dataloader_iter_new(dl) : NULL;
    double t0 = now_s();
    int64_t samples = 0;
    bool ok = it != NULL;
    ct_sample b;
    for (int64_t k = 0; ok && k < batches && ct_dataloader_next(it, &b); k++) {
        samples += ct_size(b.field[0], 0);
        ct_scope_begin();
        ct_tensor *x = ct_to_device(b.field[0], device), *y = ct_to_device(b.field[1], device);
        ok = x && y && (!m || cnn_step(m, x, y) == CT_OK);
        ct_scope_end();
        ct_sample_release(&b);
    }
    if (ok) ok = ct_dataloader_iter_status(it) == CT_OK && samples > 0 && ct_synchronize(device) == CT_OK;
    double s = now_s() - t0;
    ct_dataloader_iter_free(it);
    ct_dataloader_free(dl);
    ct_generator_free(g);
    return ok ? (double)samples / s : -1;
}

/* ---- output ------------------------------------------------------------------------------------------------------- */

static void report(const bench_options *opt, const char *case_name, const char *shape, const char *dtype,
                   double samples_per_s) {
    bench_report_samples(opt, "cnn", case_name, shape, dtype, 1e3 * BATCH / samples_per_s, samples_per_s);
}

static int fail(const char *what) {
    fprintf(stderr, "bench_cnn: %s: %s\n", what, ct_last_error());
    return 1;
}

int main(int argc, char **argv) {
    bench_options opt = bench_init(argc, argv, "bench_cnn");
    ct_device dev = opt.device;
    ct_manual_seed(0);
    cnn m = {0};
    if (!cnn_init(&m, dev)) return fail("model");

    /* the step alone, on one fixed batch on the device */
    int64_t xs[4] = {BATCH, 1, 28, 28}, ys[1] = {BATCH};
    step_ctx c = {&m, ct_randn(4, xs, CT_FLOAT32, dev, NULL), ct_randint(0, 10, 1, ys, CT_INT64, dev, NULL)};
    if (!c.x || !c.y) return fail("batch");
    double ms = bench_time_ms(&opt, run_step, &c, opt.quick ? 3 : 20);
    if (ms < 0) return fail("cnn step");
    double cnn_rate = BATCH / (ms * 1e-3);
    report(&opt, "cnn_train_step", "64x1x28x28", "float32", cnn_rate);
    ct_release(c.x), ct_release(c.y);

    /* the loader alone, and feeding the step */
    const char *source = "";
    ct_dataset *ds = bench_training_images(&source);
    ct_transform *aug = ds ? bench_augmentations() : NULL;
    if (!aug) return fail("dataset");
    int64_t batches = opt.quick ? 30 : 300;
    double loader[2][3];
    for (int augmented = 0; augmented < 2; augmented++)
        for (int workers = 0; workers <= 2; workers++) {
            double r = loader_rate(ds, augmented ? aug : NULL, workers, dev, batches, NULL);
            if (r < 0) return fail("loader");
            loader[augmented][workers] = r;
            char name[64];
            snprintf(name, sizeof name, "loader_%s_workers%d", augmented ? "augmented" : "raw", workers);
            report(&opt, name, source, augmented ? "float32" : "uint8", r);
        }
    int64_t fed_batches = opt.quick ? 10 : 100;
    for (int workers = 0; workers <= 2; workers += 2) {
        double r = loader_rate(ds, aug, workers, dev, fed_batches, &m);
        if (r < 0) return fail("cnn fed by the loader");
        char name[64];
        snprintf(name, sizeof name, "cnn_fed_by_loader_workers%d", workers);
        report(&opt, name, source, "float32", r);
    }
    printf("# loader/cnn ratio (loader samples/s over CNN step samples/s %.0f; above 1: the loader outpaces the step)\n",
           cnn_rate);
    for (int augmented = 0; augmented < 2; augmented++)
        for (int workers = 0; workers <= 2; workers++)
            printf("loader/cnn ratio %-9s workers %d  %6.2f  %s\n", augmented ? "augmented" : "raw", workers,
                   loader[augmented][workers] / cnn_rate,
                   loader[augmented][workers] > cnn_rate ? "loader outpaces the step" : "LOADER IS THE BOTTLENECK");
    ct_transform_release(aug);
    ct_dataset_release(ds);
    cnn_free(&m);
    return 0;
}
