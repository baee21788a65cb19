/* Reductions and softmax against the device's copy bandwidth: sum over everything, over the last dim (rows) and
 * over the first dim (columns), amax over everything and over the first dim, mean, max (values and indices) and
 * logsumexp over the last dim, softmax over the last and the first dim, log_softmax over the last dim, argmax over
 * the first dim, count_nonzero over everything, and any over the last dim of a bool matrix (x > 0.5), on float32
 * square matrices from 1 MiB to 1 GiB (--quick: the two smallest), then float64 on the two smallest sides.
 *
 * Bytes per call: a reduction reads the input once (the output is small and not counted); softmax reads and
 * writes the tensor once each, so it counts twice the input (it reads the input a second time on top: a line
 * that stays in cache makes that nearly free). The limit is bench_copy_bandwidth_gbs for the same amount of data,
 * which counts read + write bytes, so "of limit" is the fraction of the copy's streaming rate reached. */
#include <stdio.h>

#include "bench.h"

typedef struct job {
    ct_tensor *x, *mask;
    int which;
} job;

enum {
    SUM_ALL,
    SUM_ROWS,
    SUM_COLUMNS,
    AMAX_ALL,
    SOFTMAX_ROWS,
    MEAN_ROWS,
    AMAX_COLUMNS,
    MAX_ROWS,
    LOGSUMEXP_ROWS,
    LOG_SOFTMAX_ROWS,
    SOFTMAX_COLUMNS,
    ARGMAX_COLUMNS,
    COUNT_NONZERO_ALL,
    ANY_ROWS,
    NUM_CASES
};

static const char *case_names[NUM_CASES] = {"sum_all",     "sum_dim_-1",     "sum_dim_0",      "amax_all",
                                            "softmax_dim_-1", "mean_dim_-1", "amax_dim_0",     "max_dim_-1",
                                            "logsumexp_dim_-1", "log_softmax_dim_-1", "softmax_dim_0",
                                            "argmax_dim_0", "count_nonzero_all", "any_dim_-1_bool"};

static int run(void *p) {
    job *j = p;
    int last = -1, first = 0;
    ct_scope_begin();
    ct_tensor *r = NULL;
    switch (j->which) {
    case SUM_ALL: r = ct_sum(j->x, 0, NULL, false); break;
    case SUM_ROWS: r = ct_sum(j->x, 1, &last, false); break;
    case SUM_COLUMNS: r = ct_sum(j->x, 1, &first, false); break;
    case AMAX_ALL: r = ct_amax(j->x, 0, NULL, false); break;
    case SOFTMAX_ROWS: r = ct_softmax(j->x, -1); break;
    case MEAN_ROWS: r = ct_mean(j->x, 1, &last, false); break;
    case AMAX_COLUMNS: r = ct_amax(j->x, 1, &first, false); break;
    case MAX_ROWS: {
        ct_tensor *indices = NULL;
        if (ct_max_dim(j->x, -1, false, &r, &indices) != CT_OK) r = NULL;
        break;
    }
    case LOGSUMEXP_ROWS: r = ct_logsumexp(j->x, 1, &last, false); break;
    case LOG_SOFTMAX_ROWS: r = ct_log_softmax(j->x, -1); break;
    case SOFTMAX_COLUMNS: r = ct_softmax(j->x, 0); break;
    case ARGMAX_COLUMNS: r = ct_argmax(j->x, &first, false); break;
    case COUNT_NONZERO_ALL: r = ct_count_nonzero(j->x, 0, NULL); break;
    case ANY_ROWS: r = ct_any(j->mask, 1, &last, false); break;
    default: break;
    }
    int failed = r == NULL;
    ct_scope_end();
    return failed;
}

/* Every case on an n x n matrix of dtype. */
static int run_side(const bench_options *opt, int64_t n, ct_dtype dtype, const char *dtype_name) {
    int64_t shape[2] = {n, n}, esize = dtype == CT_FLOAT64 ? 8 : 4;
    double bytes = (double)(n * n * esize);
    double limit = bench_copy_bandwidth_gbs(opt, n * n * esize);
    char sh[32];
    snprintf(sh, sizeof sh, "%lldx%lld", (long long)n, (long long)n);
    ct_scope_begin();
    ct_tensor *x = ct_rand(2, shape, dtype, opt->device, NULL), *mask = x ? ct_gt_scalar(x, 0.5) : NULL;
    if (!mask) {
        fprintf(stderr, "bench_reduce: %s\n", ct_last_error());
        ct_scope_end();
        return 1;
    }
    for (int c = 0; c < NUM_CASES; c++) {
        job j = {x, mask, c};
        bool writes = c == SOFTMAX_ROWS || c == LOG_SOFTMAX_ROWS || c == SOFTMAX_COLUMNS;
        double amount = writes ? 2 * bytes : c == ANY_ROWS ? (double)(n * n) : bytes; /* a bool is one byte */
        bench_report(opt, "reduce", case_names[c], sh, dtype_name, bench_time_ms(opt, run, &j, 5), amount, "GB/s",
                     limit);
    }
    ct_scope_end();
    return 0;
}

int main(int argc, char **argv) {
    bench_options opt = bench_init(argc, argv, "bench_reduce");
    int64_t sides[] = {512, 2048, 8192, 16384};
    int nsides = opt.quick ? 2 : 4;
    for (int i = 0; i < nsides; i++)
        if (run_side(&opt, sides[i], CT_FLOAT32, "float32")) return 1;
    for (int i = 0; i < 2; i++) /* float64 on the two smallest sizes */
        if (run_side(&opt, sides[i], CT_FLOAT64, "float64")) return 1;
    return 0;
}
