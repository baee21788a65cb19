/* DataLoader throughput on Fashion-MNIST (samples/s) with 0, 1 and 2 worker threads, raw and with the training
 * augmentations (to float, normalize, random horizontal flip, random crop with padding 4), batches of 64,
 * shuffled; and host-to-device copy bandwidth from pageable and from pinned memory, with the blocking copy
 * (ct_copy_) and the non-blocking one (ct_copy_async_), when a GPU is present. With --device cuda every batch is
 * also pinned by the loader and moved to the GPU with ct_to_device_async, as a training loop would.
 * bench/compare_cases_loader.py is the PyTorch counterpart (torch.utils.data.DataLoader over the same files).
 * Without the Fashion-MNIST files a random uint8 dataset of the same shape stands in (said in the output). */
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

/* Loads `batches` batches (moving them to the device for CUDA, without waiting for the copies); returns the seconds
 * taken including a final synchronisation, or -1 on error. */
static double time_epoch(ct_dataloader *dl, int64_t batches, ct_device device, int64_t *samples) {
    double t0 = now_s();
    ct_dataloader_iter *it = ct_dataloader_iter_new(dl);
    *samples = 0;
    ct_sample b;
    for (int64_t k = 0; it && k < batches && ct_dataloader_next(it, &b); k++) {
        *samples += ct_size(b.field[0], 0);
        if (device.type == CT_CUDA) { /* the pinned batch may go at once: its blocks wait for the copies */
            ct_tensor *x = ct_to_device_async(b.field[0], device), *y = ct_to_device_async(b.field[1], device);
            bool moved = x && y;
            ct_release(x), ct_release(y);
            if (!moved) {
                ct_sample_release(&b);
                *samples = 0; /* reported as an error below */
                break;
            }
        }
        ct_sample_release(&b);
    }
    bool ok = it && ct_dataloader_iter_status(it) == CT_OK && *samples > 0;
    ct_dataloader_iter_free(it);
    if (device.type == CT_CUDA && ct_synchronize(device) != CT_OK) ok = false;
    return ok ? now_s() - t0 : -1;
}

static int bench_throughput(const bench_options *opt, ct_dataset *ds, const char *source) {
    ct_transform *aug = bench_augmentations();
    if (!aug) return 1;
    int64_t batches = opt->quick ? 100 : (60000 + BATCH - 1) / BATCH; /* quick: 100 batches; else one epoch */
    for (int augmented = 0; augmented < 2; augmented++)
        for (int workers = 0; workers <= 2; workers++) {
            ct_generator *g = ct_generator_new(0);
            ct_dataloader_options o = {.batch_size = BATCH, .shuffle = true, .num_workers = workers, .generator = g,
                                       .pin_memory = opt->device.type == CT_CUDA};
            o.transforms[0] = augmented ? aug : NULL;
            ct_dataloader *dl = ct_dataloader_new(ds, &o);
            int64_t samples = 0;
            double s = dl ? time_epoch(dl, batches, opt->device, &samples) : -1;
            ct_dataloader_free(dl);
            ct_generator_free(g);
            if (s < 0) {
                fprintf(stderr, "bench_loader: %s\n", ct_last_error());
                ct_transform_release(aug);
                return 1;
            }
            char name[64];
            snprintf(name, sizeof name, "%s_workers%d", augmented ? "augmented" : "raw", workers);
            bench_report_samples(opt, "loader", name, source, "uint8", 1e3 * s / (double)batches,
                                 (double)samples / s);
        }
    ct_transform_release(aug);
    return 0;
}

typedef struct {
    ct_tensor *dst, *src;
} copy_pair;

static int run_copy(void *p) {
    copy_pair *c = p;
    return ct_copy_(c->dst, c->src) != CT_OK;
}

/* Queues the copy and returns; bench_time_ms synchronises the device after each call. */
static int run_copy_async(void *p) {
    copy_pair *c = p;
    return ct_copy_async_(c->dst, c->src) != CT_OK;
}

/* Host-to-device bandwidth from pageable and pinned memory, blocking and non-blocking copies (the non-blocking
 * copy from pageable memory is a blocking one, as in PyTorch), for one batch and for 64 MiB. */
static int bench_h2d(const bench_options *opt) {
    if (!ct_cuda_is_available()) {
        printf("%-28s no GPU: host-to-device bandwidth not measured\n", "h2d");
        return 0;
    }
    ct_device gpu = opt->device.type == CT_CUDA ? opt->device : CT_DEVICE_CUDA(0);
    bench_options on_gpu = *opt;
    on_gpu.device = gpu;
    int64_t sizes[] = {BATCH * 28 * 28, 16 << 20}; /* float32 elements: one batch, 64 MiB */
    for (int i = 0; i < 2; i++) {
        ct_tensor *pageable = ct_rand(1, &sizes[i], CT_FLOAT32, CT_DEVICE_CPU, NULL);
        ct_tensor *pinned = pageable ? ct_pin_memory(pageable) : NULL;
        ct_tensor *dst = ct_empty(1, &sizes[i], CT_FLOAT32, gpu);
        if (!pinned || !dst) {
            fprintf(stderr, "bench_loader: %s\n", ct_last_error());
            return 1;
        }
        char shape[32];
        snprintf(shape, sizeof shape, "%lld", (long long)sizes[i]);
        double bytes = (double)sizes[i] * 4;
        copy_pair from_pageable = {dst, pageable}, from_pinned = {dst, pinned};
        bool locked = ct_is_pinned(pinned);
        bench_report(&on_gpu, "loader", "h2d_pageable", shape, "float32", bench_time_ms(&on_gpu, run_copy, &from_pageable, 5),
                     bytes, "GB/s", 0);
        bench_report(&on_gpu, "loader", locked ? "h2d_pinned" : "h2d_pinned(not page-locked)", shape, "float32",
                     bench_time_ms(&on_gpu, run_copy, &from_pinned, 5), bytes, "GB/s", 0);
        bench_report(&on_gpu, "loader", "h2d_pageable_async", shape, "float32",
                     bench_time_ms(&on_gpu, run_copy_async, &from_pageable, 5), bytes, "GB/s", 0);
        bench_report(&on_gpu, "loader", locked ? "h2d_pinned_async" : "h2d_pinned_async(not page-locked)", shape,
                     "float32", bench_time_ms(&on_gpu, run_copy_async, &from_pinned, 5), bytes, "GB/s", 0);
        ct_release(pageable), ct_release(pinned), ct_release(dst);
    }
    return 0;
}

int main(int argc, char **argv) {
    bench_options opt = bench_init(argc, argv, "bench_loader");
    const char *source = "";
    double t0 = now_s();
    ct_dataset *ds = bench_training_images(&source);
    if (!ds) {
        fprintf(stderr, "bench_loader: %s\n", ct_last_error());
        return 1;
    }
    printf("# dataset %s loaded in %.2f s; batches of %d, shuffled\n", source, now_s() - t0, BATCH);
    int rc = bench_throughput(&opt, ds, source);
    ct_dataset_release(ds);
    return rc ? rc : bench_h2d(&opt);
}
