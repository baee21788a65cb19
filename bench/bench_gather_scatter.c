/* Gather, scatter_add and index_select bandwidth, float32 with random indices, from 1 MiB to 1 GiB of traffic per
 * call, in GB/s against the device's copy bandwidth measured in the same run (bench_copy_bandwidth_gbs).
 *
 * Bytes counted per call (n = elements of the index or output):
 *   gather:        index read + input element read + output write   = (8 + 4 + 4) n  (int64 index; 4 + 4 + 4 int32)
 *   index_select:  rows read + rows written + the row indices       = 8 n + 8 rows
 *   scatter_add:   index read + src read + self element read+write  = (8 + 4 + 8) n
 *   index_add_:    rows of src read + rows of self read and written  = 12 n + 8 rows (dim 0, random rows)
 *   masked_select: input and mask read, the selected half written    = (4 + 1 + 2) n (mask: x > 0.5)
 * Shapes are rows x cols of the iterated tensor. On CUDA scatter_add also runs in deterministic mode (sort by
 * destination); on the CPU that mode is the default path, so it is not repeated. */
#include <stdio.h>

#include "bench.h"

typedef enum { OP_GATHER, OP_INDEX_SELECT, OP_SCATTER_ADD, OP_INDEX_ADD, OP_MASKED_SELECT } op_kind;

typedef struct work {
    op_kind op;
    int dim;
    ct_tensor *input, *index, *src;
} work;

static int run(void *p) {
    const work *w = p;
    if (w->op == OP_SCATTER_ADD) return ct_scatter_add_(w->input, w->dim, w->index, w->src) != CT_OK;
    if (w->op == OP_INDEX_ADD) return ct_index_add_(w->input, w->dim, w->index, w->src, 1.0) != CT_OK;
    ct_tensor *y = w->op == OP_GATHER         ? ct_gather(w->input, w->dim, w->index)
                   : w->op == OP_MASKED_SELECT ? ct_masked_select(w->input, w->index)
                                               : ct_index_select(w->input, w->dim, w->index);
    ct_release(y);
    return y == NULL;
}

/* Times one case and reports it; bytes is the traffic of one call. */
static void measure(const bench_options *opt, const char *name, work *w, int64_t rows, int64_t cols, double bytes,
                    double limit) {
    char shape[48];
    snprintf(shape, sizeof shape, "%lldx%lld", (long long)rows, (long long)cols);
    if (!w->input || !w->index || ((w->op == OP_SCATTER_ADD || w->op == OP_INDEX_ADD) && !w->src)) {
        fprintf(stderr, "bench_gather_scatter: %s\n", ct_last_error());
        return;
    }
    bench_report(opt, "gather_scatter", name, shape, "float32", bench_time_ms(opt, run, w, 5), bytes, "GB/s", limit);
}

static void bench_size(const bench_options *opt, int64_t rows, int64_t cols) {
    ct_device dev = opt->device;
    int64_t shape[2] = {rows, cols}, n = rows * cols;
    double limit = bench_copy_bandwidth_gbs(opt, n * 4);
    ct_scope_begin();
    ct_tensor *input = ct_rand(2, shape, CT_FLOAT32, dev, NULL);

    work g1 = {OP_GATHER, 1, input, ct_randint(0, cols, 2, shape, CT_INT64, dev, NULL), NULL};
    measure(opt, "gather_dim1", &g1, rows, cols, 16.0 * (double)n, limit);
    work g1i = {OP_GATHER, 1, input, ct_randint(0, cols, 2, shape, CT_INT32, dev, NULL), NULL};
    measure(opt, "gather_dim1_int32", &g1i, rows, cols, 12.0 * (double)n, limit);
    work g0 = {OP_GATHER, 0, input, ct_randint(0, rows, 2, shape, CT_INT64, dev, NULL), NULL};
    measure(opt, "gather_dim0", &g0, rows, cols, 16.0 * (double)n, limit);

    work sel = {OP_INDEX_SELECT, 0, input, ct_randint(0, rows, 1, &rows, CT_INT64, dev, NULL), NULL};
    measure(opt, "index_select_rows", &sel, rows, cols, 8.0 * (double)n + 8.0 * (double)rows, limit);

    work add = {OP_SCATTER_ADD, 0, ct_zeros(2, shape, CT_FLOAT32, dev), g0.index, input};
    measure(opt, "scatter_add_dim0", &add, rows, cols, 20.0 * (double)n, limit);
    if (dev.type == CT_CUDA) {
        ct_use_deterministic_algorithms(true);
        measure(opt, "scatter_add_dim0_deterministic", &add, rows, cols, 20.0 * (double)n, limit);
        ct_use_deterministic_algorithms(false);
    }

    work index_add = {OP_INDEX_ADD, 0, ct_zeros(2, shape, CT_FLOAT32, dev), sel.index, input};
    measure(opt, "index_add_dim0", &index_add, rows, cols, 12.0 * (double)n + 8.0 * (double)rows, limit);
    work masked = {OP_MASKED_SELECT, 0, input, ct_gt_scalar(input, 0.5), NULL};
    measure(opt, "masked_select", &masked, rows, cols, 7.0 * (double)n, limit);
    ct_scope_end();
}

int main(int argc, char **argv) {
    bench_options opt = bench_init(argc, argv, "bench_gather_scatter");
    /* 256K to 64M elements: gather's traffic goes from 4 MiB to 1 GiB per call */
    int64_t rows[] = {256, 4096, 16384, 65536};
    int nsizes = opt.quick ? 2 : 4;
    for (int i = 0; i < nsizes; i++) bench_size(&opt, rows[i], 1024);
    return 0;
}
