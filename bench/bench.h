/* Shared plumbing of the benchmark binaries: options, timing, the hardware limits measured in the same run, and
 * the output (a readable table on stdout, plus JSON lines appended to --json FILE).
 *
 * Options every binary takes:
 *   --device cpu|cuda   where to run (default: cpu; cuda needs a GPU)
 *   --quick             small sizes only (seconds; what CI runs to prove the binary works)
 *   --json FILE         append one JSON object per case to FILE
 * Each case reports the median time of its repetitions, the bytes or FLOPs it moved or computed per call, the
 * rate, and the rate as a fraction of the limit (device copy bandwidth, or the BLAS peak) measured in this run. */
#ifndef CTORCH_BENCH_H
#define CTORCH_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "ctorch/ctorch.h"

typedef struct bench_options {
    ct_device device;
    bool quick;
    const char *json_path;
} bench_options;

/* Parses the options above; exits with a usage message on anything else. Prints the table header. */
bench_options bench_init(int argc, char **argv, const char *bench_name);

/* Median milliseconds per call of fn(ctx), after a warm-up call, over at least min_reps calls and 0.2 s; the
 * device is synchronised around each call. Returns a negative value if fn returns non-zero (its error printed). */
double bench_time_ms(const bench_options *opt, int (*fn)(void *ctx), void *ctx, int min_reps);

/* Copy bandwidth of the device in GB/s (bytes read + bytes written per second) for a copy of `bytes` bytes,
 * measured now through ct_copy_: the limit that bandwidth-bound kernels are held against. Cached per size. */
double bench_copy_bandwidth_gbs(const bench_options *opt, int64_t bytes);

/* One result line. kind is "GB/s" (amount in bytes) or "GFLOP/s" (amount in FLOPs); limit is the same unit's
 * hardware figure measured in this run (0 when none). */
void bench_report(const bench_options *opt, const char *bench, const char *case_name, const char *shape,
                  const char *dtype, double ms, double amount, const char *kind, double limit);

/* One result line of a throughput case: ms per batch and samples per second (no hardware limit). */
void bench_report_samples(const bench_options *opt, const char *bench, const char *case_name, const char *shape,
                          const char *dtype, double ms, double samples_per_s);

/* The loader benches' data: Fashion-MNIST's training set where Debian's package put it (*source = "fashion-mnist"),
 * else 60,000 random uint8 images with random labels (*source = "random", the reason on stderr). Caller releases. */
ct_dataset *bench_training_images(const char **source);

/* The augmenting transforms of the loader benches: to float, normalize with Fashion-MNIST's mean and std, random
 * horizontal flip, random crop 28 with padding 4. NULL on error. Caller releases. */
ct_transform *bench_augmentations(void);

#endif
