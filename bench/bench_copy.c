/* Copy bandwidth: contiguous copies (the hardware limit other benchmarks are held against), transposed copies
 * (the strided-copy kernel that contiguous() runs) and converting copies, from 1 MiB to 1 GiB. */
#include <stdio.h>

#include "bench.h"

typedef struct {
    ct_tensor *dst, *src;
} pair;

static int run(void *p) {
    pair *c = p;
    return ct_copy_(c->dst, c->src) != CT_OK;
}

int main(int argc, char **argv) {
    bench_options opt = bench_init(argc, argv, "bench_copy");
    int64_t sides[] = {512, 2048, 8192, 16384};
    int nsides = opt.quick ? 2 : 4;
    for (int i = 0; i < nsides; i++) {
        int64_t n = sides[i], shape[2] = {n, n};
        double bytes = (double)(n * n) * 4;
        double limit = bench_copy_bandwidth_gbs(&opt, n * n * 4);
        char sh[32];
        snprintf(sh, sizeof sh, "%lldx%lld", (long long)n, (long long)n);
        ct_scope_begin();
        ct_tensor *src = ct_rand(2, shape, CT_FLOAT32, opt.device, NULL);
        pair contiguous = {ct_empty(2, shape, CT_FLOAT32, opt.device), src};
        pair transposed = {ct_empty(2, shape, CT_FLOAT32, opt.device), ct_t(src)};
        pair widened = {ct_empty(2, shape, CT_FLOAT64, opt.device), src};
        if (!contiguous.dst || !transposed.dst || !widened.dst) {
            fprintf(stderr, "bench_copy: %s\n", ct_last_error());
            return 1;
        }
        bench_report(&opt, "copy", "contiguous", sh, "float32", bench_time_ms(&opt, run, &contiguous, 5), 2 * bytes,
                     "GB/s", limit);
        bench_report(&opt, "copy", "transposed", sh, "float32", bench_time_ms(&opt, run, &transposed, 5), 2 * bytes,
                     "GB/s", limit);
        bench_report(&opt, "copy", "float32_to_float64", sh, "float32", bench_time_ms(&opt, run, &widened, 5),
                     3 * bytes, "GB/s", limit);
        ct_scope_end();
    }
    return 0;
}
