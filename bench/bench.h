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

#endif
