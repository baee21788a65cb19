/* The main job, for now: trains a small MLP (784 -> 128 -> 10, ReLU) on Fashion-MNIST (Debian's
 * dataset-fashion-mnist) with the DataLoader (worker threads, shuffling, to-float + normalize transforms),
 * autograd, and AdamW, then reports the test accuracy. On a GPU when there is one. The transfer-learning pipeline
 * replaces it later.
 *
 *   ctorch_demo [--epochs N] [--train-samples N] [--device cpu|cuda] [--data DIR]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctorch/ctorch.h"

#define TRY(x)                                                                          \
    do {                                                                                \
        if (!(x)) {                                                                     \
            fprintf(stderr, "ctorch_demo: %s failed: %s\n", #x, ct_last_error());       \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

typedef struct {
    ct_tensor *w1, *b1, *w2, *b2;
} mlp;

/* A parameter of the given shape, uniform in [-bound, bound) as torch.nn.Linear initialises (bound 1/sqrt(fan_in)). */
static ct_tensor *parameter(int ndim, const int64_t *shape, double bound, ct_device device) {
    ct_scope_begin();
    ct_tensor *u = ct_rand(ndim, shape, CT_FLOAT32, device, NULL);
    ct_tensor *p = ct_keep(ct_add_scalar(ct_mul_scalar(u, 2 * bound), -bound, 1.0));
    ct_scope_end();
    TRY(p && ct_set_requires_grad(p, true) == CT_OK);
    return p;
}

static ct_tensor *logits_of(const mlp *m, const ct_tensor *images) {
    ct_tensor *x = ct_flatten(images, 1, -1); /* (B, 1, 28, 28) -> (B, 784) */
    return ct_linear(ct_relu(ct_linear(x, m->w1, m->b1)), m->w2, m->b2);
}

/* Cross-entropy: -mean(log_softmax(logits)[i, label_i]). */
static ct_tensor *cross_entropy(const ct_tensor *logits, const ct_tensor *labels) {
    ct_tensor *picked = ct_gather(ct_log_softmax(logits, 1), 1, ct_unsqueeze(labels, 1));
    return ct_neg(ct_mean(picked, 0, NULL, false));
}

static ct_dataloader *loader_for(ct_dataset *ds, bool train) {
    double mean = 0.2860, std = 0.3530; /* Fashion-MNIST's training-set statistics */
    ct_transform *steps[2] = {ct_transform_to_float(), ct_transform_normalize(1, &mean, &std)};
    ct_dataloader_options o = {0};
    o.batch_size = train ? 128 : 1000;
    o.shuffle = train;
    o.num_workers = 2;
    o.pin_memory = ct_cuda_is_available();
    o.transforms[0] = ct_transform_compose(2, steps);
    ct_dataloader *dl = ct_dataloader_new(ds, &o);
    ct_transform_release(steps[0]);
    ct_transform_release(steps[1]);
    ct_transform_release(o.transforms[0]);
    TRY(dl);
    return dl;
}

static double evaluate(const mlp *m, ct_dataset *test, ct_device device) {
    ct_dataloader *dl = loader_for(test, false);
    ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
    ct_sample batch;
    int64_t correct = 0, total = 0;
    ct_no_grad_begin();
    while (ct_dataloader_next(it, &batch)) {
        ct_scope_begin();
        ct_tensor *x = ct_to_device(batch.field[0], device), *y = ct_to_device(batch.field[1], device);
        int dim = 1;
        ct_tensor *hits = ct_sum(ct_eq(ct_argmax(logits_of(m, x), &dim, false), y), 0, NULL, false);
        int64_t n = 0;
        TRY(ct_item_int64(hits, &n) == CT_OK);
        correct += n, total += ct_size(y, 0);
        ct_scope_end();
        for (int k = 0; k < batch.n; k++) ct_release(batch.field[k]);
    }
    ct_no_grad_end();
    TRY(ct_dataloader_iter_status(it) == CT_OK);
    ct_dataloader_iter_free(it);
    ct_dataloader_free(dl);
    return total ? (double)correct / (double)total : 0;
}

int main(int argc, char **argv) {
    int epochs = 1;
    int64_t train_samples = 60000;
    const char *data = NULL;
    ct_device device = ct_cuda_is_available() ? CT_DEVICE_CUDA(0) : CT_DEVICE_CPU;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--epochs") == 0) epochs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--train-samples") == 0) train_samples = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--data") == 0) data = argv[i + 1];
        else if (strcmp(argv[i], "--device") == 0) TRY(ct_device_parse(argv[i + 1], &device) == CT_OK);
        else {
            fprintf(stderr, "usage: ctorch_demo [--epochs N] [--train-samples N] [--device cpu|cuda] [--data DIR]\n");
            return 2;
        }
    }
    char dev[16];
    printf("ctorch demo: MLP on Fashion-MNIST, %d epoch(s) over %lld samples, on %s\n", epochs,
           (long long)train_samples, ct_device_str(device, dev, sizeof dev));
    ct_manual_seed(0);
    ct_dataset *full = ct_fashion_mnist(data, true), *test = ct_fashion_mnist(data, false);
    TRY(full && test);
    int64_t n_full = 0;
    TRY(ct_dataset_len(full, &n_full) == CT_OK);
    if (train_samples <= 0 || train_samples > n_full) train_samples = n_full;
    int64_t *first = malloc(sizeof *first * (size_t)train_samples);
    for (int64_t i = 0; i < train_samples; i++) first[i] = i;
    ct_dataset *train = ct_subset(full, train_samples, first);
    free(first);
    TRY(train);

    mlp m = {parameter(2, (int64_t[]){128, 784}, 1 / sqrt(784.0), device),
             parameter(1, (int64_t[]){128}, 1 / sqrt(784.0), device),
             parameter(2, (int64_t[]){10, 128}, 1 / sqrt(128.0), device),
             parameter(1, (int64_t[]){10}, 1 / sqrt(128.0), device)};
    ct_tensor *params[4] = {m.w1, m.b1, m.w2, m.b2};
    ct_optim_options options = ct_optim_adamw_defaults();
    options.lr = 2e-3;
    ct_param_group group = {params, 4, NULL};
    ct_optimizer *opt = ct_optim_adamw_new(&group, 1, &options);
    TRY(opt);

    printf("test accuracy before training: %.4f\n", evaluate(&m, test, device));
    ct_dataloader *dl = loader_for(train, true);
    for (int epoch = 0; epoch < epochs; epoch++) {
        ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
        TRY(it);
        ct_sample batch;
        int64_t step = 0;
        double running = 0;
        while (ct_dataloader_next(it, &batch)) {
            ct_scope_begin(); /* one training step: every temporary goes at its end */
            ct_tensor *x = ct_to_device(batch.field[0], device), *y = ct_to_device(batch.field[1], device);
            ct_tensor *loss = cross_entropy(logits_of(&m, x), y);
            TRY(loss);
            TRY(ct_optimizer_zero_grad(opt, true) == CT_OK);
            TRY(ct_backward(loss, NULL, false) == CT_OK);
            TRY(ct_optimizer_step(opt) == CT_OK);
            double l = 0;
            TRY(ct_item(loss, &l) == CT_OK);
            running += l;
            if (++step % 100 == 0) {
                printf("epoch %d step %4lld  loss %.4f\n", epoch + 1, (long long)step, running / 100);
                running = 0;
            }
            ct_scope_end();
            for (int k = 0; k < batch.n; k++) ct_release(batch.field[k]);
        }
        TRY(ct_dataloader_iter_status(it) == CT_OK);
        ct_dataloader_iter_free(it);
        printf("epoch %d: test accuracy %.4f\n", epoch + 1, evaluate(&m, test, device));
    }
    ct_dataloader_free(dl);
    ct_optimizer_free(opt);
    for (int i = 0; i < 4; i++) ct_release(params[i]);
    ct_dataset_release(train);
    ct_dataset_release(full);
    ct_dataset_release(test);
    return 0;
}
