/* The shared benchmark plumbing of bench.h. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *bench_title;

bench_options bench_init(int argc, char **argv, const char *bench_name) {
    bench_options o = {CT_DEVICE_CPU, false, NULL};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            o.quick = true;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            o.json_path = argv[++i];
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            if (ct_device_parse(argv[++i], &o.device) != CT_OK || ct_device_check(o.device) != CT_OK) {
                fprintf(stderr, "%s: %s\n", bench_name, ct_last_error());
                exit(2);
            }
        } else {
            fprintf(stderr, "usage: %s [--device cpu|cuda] [--quick] [--json FILE]\n", bench_name);
            exit(2);
        }
    }
    bench_title = bench_name;
    char dev[16];
    printf("# %s on %s%s\n", bench_name, ct_device_str(o.device, dev, sizeof dev), o.quick ? " (quick)" : "");
    printf("%-28s %-22s %-8s %10s %12s %10s\n", "case", "shape", "dtype", "ms", "rate", "of limit");
    return o;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_time_ms(const bench_options *opt, int (*fn)(void *ctx), void *ctx, int min_reps) {
    enum { MAX_REPS = 1000 };
    double times[MAX_REPS];
    if (fn(ctx) != 0 || ct_synchronize(opt->device) != CT_OK) { /* warm-up: caches, allocator, lazy init */
        fprintf(stderr, "%s: %s\n", bench_title, ct_last_error());
        return -1;
    }
    int n = 0;
    double start = now_s();
    while (n < MAX_REPS && (n < min_reps || now_s() - start < 0.2)) {
        double t0 = now_s();
        if (fn(ctx) != 0 || ct_synchronize(opt->device) != CT_OK) {
            fprintf(stderr, "%s: %s\n", bench_title, ct_last_error());
            return -1;
        }
        times[n++] = (now_s() - t0) * 1e3;
    }
    qsort(times, (size_t)n, sizeof times[0], compare_double);
    return times[n / 2];
}

typedef struct {
    ct_tensor *dst, *src;
} copy_ctx;

static int run_copy(void *p) {
    copy_ctx *c = p;
    return ct_copy_(c->dst, c->src) != CT_OK;
}

double bench_copy_bandwidth_gbs(const bench_options *opt, int64_t bytes) {
    static int64_t cached_bytes[8];
    static double cached_gbs[8];
    static int ncached;
    for (int i = 0; i < ncached; i++)
        if (cached_bytes[i] == bytes) return cached_gbs[i];
    int64_t n = bytes / 4;
    copy_ctx c = {ct_empty(1, &n, CT_FLOAT32, opt->device), ct_zeros(1, &n, CT_FLOAT32, opt->device)};
    double gbs = 0;
    if (c.dst && c.src) {
        double ms = bench_time_ms(opt, run_copy, &c, 5);
        if (ms > 0) gbs = 2.0 * (double)bytes / (ms * 1e-3) / 1e9;
    }
    ct_release(c.dst);
    ct_release(c.src);
    if (ncached < 8) cached_bytes[ncached] = bytes, cached_gbs[ncached++] = gbs;
    return gbs;
}

static void write_json(const bench_options *opt, const char *bench, const char *case_name, const char *shape,
                       const char *dtype, double ms, double rate, const char *unit, double limit) {
    if (!opt->json_path) return;
    FILE *f = fopen(opt->json_path, "a");
    if (!f) return;
    char dev[16];
    fprintf(f,
            "{\"bench\": \"%s\", \"case\": \"%s\", \"shape\": \"%s\", \"dtype\": \"%s\", \"device\": \"%s\", "
            "\"impl\": \"ctorch\", \"ms\": %.6f, \"rate\": %.3f, \"unit\": \"%s\", \"limit\": %.3f}\n",
            bench, case_name, shape, dtype, ct_device_str(opt->device, dev, sizeof dev), ms, rate, unit, limit);
    fclose(f);
}

void bench_report(const bench_options *opt, const char *bench, const char *case_name, const char *shape,
                  const char *dtype, double ms, double amount, const char *kind, double limit) {
    double rate = ms > 0 ? amount / (ms * 1e-3) / 1e9 : 0;
    char frac[32] = "-";
    if (limit > 0) snprintf(frac, sizeof frac, "%.0f %%", 100.0 * rate / limit);
    printf("%-28s %-22s %-8s %10.4f %7.1f %-5s %9s\n", case_name, shape, dtype, ms, rate, kind, frac);
    fflush(stdout);
    write_json(opt, bench, case_name, shape, dtype, ms, rate, kind, limit);
}

void bench_report_samples(const bench_options *opt, const char *bench, const char *case_name, const char *shape,
                          const char *dtype, double ms, double samples_per_s) {
    printf("%-28s %-22s %-8s %10.4f %9.0f samples/s\n", case_name, shape, dtype, ms, samples_per_s);
    fflush(stdout);
    write_json(opt, bench, case_name, shape, dtype, ms, samples_per_s, "samples/s", 0);
}

ct_dataset *bench_training_images(const char **source) {
    ct_dataset *ds = ct_fashion_mnist(NULL, true);
    if (ds) {
        *source = "fashion-mnist";
        return ds;
    }
    fprintf(stderr, "%s: %s; using random uint8 images instead\n", bench_title, ct_last_error());
    ct_clear_error();
    *source = "random";
    int64_t shape[4] = {60000, 1, 28, 28}, n = 60000;
    ct_tensor *x = ct_randint(0, 256, 4, shape, CT_UINT8, CT_DEVICE_CPU, NULL);
    ct_tensor *y = ct_randint(0, 10, 1, &n, CT_INT64, CT_DEVICE_CPU, NULL);
    ds = x && y ? ct_tensor_dataset(2, (ct_tensor *[]){x, y}) : NULL;
    ct_release(x), ct_release(y);
    return ds;
}

ct_transform *bench_augmentations(void) {
    double mean[] = {0.2860}, std[] = {0.3530};
    ct_transform *steps[] = {ct_transform_to_float(), ct_transform_normalize(1, mean, std),
                             ct_transform_random_horizontal_flip(0.5), ct_transform_random_crop(28, 28, 4)};
    ct_transform *all = steps[0] && steps[1] && steps[2] && steps[3] ? ct_transform_compose(4, steps) : NULL;
    for (int i = 0; i < 4; i++) ct_transform_release(steps[i]);
    return all;
}
