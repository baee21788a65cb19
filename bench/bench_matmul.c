/* Matmul throughput: square products, transposed operands (which reach BLAS as flags, not copies), float64, and
 * LLM-like shapes (a linear layer with bias, attention's q @ k^T as a batched matmul), an int64 product on the CPU,
 * in GFLOP/s (2*M*N*K per
 * product) against the BLAS peak measured in the same run: the best rate of large square float32 products.
 *
 * Sizes: the CPU runs up to 2048^3 (the peak), squares from 64^3 and conv2d's tall-skinny im2col product, and the
 * CUDA device up to 8192^3, with 4096^3 and a Llama-7B MLP layer (8192 tokens, 4096 -> 11008) as cases; --quick
 * shrinks everything to seconds. */
#include <stdio.h>

#include "bench.h"

typedef enum { OP_MM, OP_MM_AT, OP_MM_BT, OP_MATMUL_BT, OP_LINEAR, OP_LINEAR_NO_BIAS } op_kind;

typedef struct work {
    op_kind op;
    ct_tensor *a, *b, *bias;
} work;

static int run(void *p) {
    const work *w = p;
    ct_tensor *y;
    switch (w->op) {
    case OP_LINEAR: y = ct_linear(w->a, w->b, w->bias); break;
    case OP_LINEAR_NO_BIAS: y = ct_linear(w->a, w->b, NULL); break;
    case OP_MATMUL_BT: y = ct_matmul(w->a, w->b); break;
    default: y = ct_mm(w->a, w->b); break;
    }
    ct_release(y);
    return y == NULL;
}

static ct_tensor *rand_of(const bench_options *opt, int ndim, const int64_t *shape, ct_dtype dtype) {
    if (dtype == CT_INT64) return ct_randint(-100, 100, ndim, shape, dtype, opt->device, NULL);
    return ct_rand(ndim, shape, dtype, opt->device, NULL);
}

/* The operands of one case: a is (batch,) m x k and b (batch,) k x n in the op's layout; stored transposed where
 * the op says so, then viewed back with ct_t / ct_transpose. */
static work make_work(const bench_options *opt, op_kind op, int64_t batch, int64_t m, int64_t n, int64_t k,
                      ct_dtype dtype) {
    work w = {op, NULL, NULL, NULL};
    switch (op) {
    case OP_MM: w.a = rand_of(opt, 2, (int64_t[]){m, k}, dtype), w.b = rand_of(opt, 2, (int64_t[]){k, n}, dtype); break;
    case OP_MM_AT: w.a = ct_t(rand_of(opt, 2, (int64_t[]){k, m}, dtype)), w.b = rand_of(opt, 2, (int64_t[]){k, n}, dtype); break;
    case OP_MM_BT: w.a = rand_of(opt, 2, (int64_t[]){m, k}, dtype), w.b = ct_t(rand_of(opt, 2, (int64_t[]){n, k}, dtype)); break;
    case OP_MATMUL_BT:
        w.a = rand_of(opt, 3, (int64_t[]){batch, m, k}, dtype);
        w.b = ct_transpose(rand_of(opt, 3, (int64_t[]){batch, n, k}, dtype), 1, 2);
        break;
    case OP_LINEAR:
    case OP_LINEAR_NO_BIAS:
        w.a = rand_of(opt, 2, (int64_t[]){m, k}, dtype), w.b = rand_of(opt, 2, (int64_t[]){n, k}, dtype);
        w.bias = rand_of(opt, 1, (int64_t[]){n}, dtype);
        break;
    }
    return w;
}

/* Times one case; returns its GFLOP/s (0 on failure). Reports it when report is set. */
static double bench_case(const bench_options *opt, const char *name, op_kind op, int64_t batch, int64_t m, int64_t n,
                         int64_t k, ct_dtype dtype, double peak, bool report) {
    ct_scope_begin();
    work w = make_work(opt, op, batch, m, n, k, dtype);
    double ms = -1, flops = 2.0 * (double)batch * (double)m * (double)n * (double)k;
    if (w.a && w.b && (op < OP_LINEAR || w.bias)) ms = bench_time_ms(opt, run, &w, 3);
    else fprintf(stderr, "bench_matmul: %s\n", ct_last_error());
    ct_scope_end();
    char shape[64];
    if (batch > 1) snprintf(shape, sizeof shape, "%lldx%lldx%lldx%lld", (long long)batch, (long long)m, (long long)n, (long long)k);
    else snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)m, (long long)n, (long long)k);
    if (report && ms > 0) bench_report(opt, "matmul", name, shape, ct_dtype_name(dtype), ms, flops, "GFLOP/s", peak);
    return ms > 0 ? flops / (ms * 1e-3) / 1e9 : 0;
}

/* The BLAS peak: the best float32 rate over large square products, two rounds each (reported, each against the
 * best). */
static double measure_peak(const bench_options *opt, const int64_t *sizes, int n) {
    double best = 0, rate[4];
    for (int i = 0; i < n; i++) {
        rate[i] = 0;
        for (int round = 0; round < 2; round++) { /* best of two medians: a busy machine only ever slows a probe */
            double r = bench_case(opt, "peak_probe", OP_MM, 1, sizes[i], sizes[i], sizes[i], CT_FLOAT32, 0, false);
            if (r > rate[i]) rate[i] = r;
        }
        if (rate[i] > best) best = rate[i];
    }
    for (int i = 0; i < n; i++) {
        double flops = 2.0 * (double)sizes[i] * (double)sizes[i] * (double)sizes[i];
        char shape[64];
        snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)sizes[i], (long long)sizes[i], (long long)sizes[i]);
        if (rate[i] > 0)
            bench_report(opt, "matmul", "peak_square_sgemm", shape, "float32", flops / (rate[i] * 1e9) * 1e3, flops,
                         "GFLOP/s", best);
    }
    return best;
}

int main(int argc, char **argv) {
    bench_options opt = bench_init(argc, argv, "bench_matmul");
    bool cuda = opt.device.type == CT_CUDA, q = opt.quick;
    int64_t peak_sizes[2] = {cuda ? (q ? 1024 : 4096) : (q ? 256 : 1024), cuda ? (q ? 2048 : 8192) : (q ? 512 : 2048)};
    double peak = measure_peak(&opt, peak_sizes, 2);
    int64_t cuda_squares[3] = {1024, 2048, 4096}, cpu_squares[5] = {64, 128, 256, 512, 1024};
    const int64_t *squares = cuda ? cuda_squares : cpu_squares;
    int nsq = cuda ? (q ? 2 : 3) : (q ? 3 : 5);
    for (int i = 0; i < nsq; i++) {
        int64_t s = squares[i];
        bench_case(&opt, "mm_square", OP_MM, 1, s, s, s, CT_FLOAT32, peak, true);
    }
    int64_t s = squares[nsq - 1];
    bench_case(&opt, "mm_a_transposed", OP_MM_AT, 1, s, s, s, CT_FLOAT32, peak, true);
    bench_case(&opt, "mm_b_transposed", OP_MM_BT, 1, s, s, s, CT_FLOAT32, peak, true);
    bench_case(&opt, "mm_square_f64", OP_MM, 1, s, s, s, CT_FLOAT64, 0, true);
    if (!cuda) /* integer products: the CPU only, as PyTorch (GFLOP/s counts the integer multiply-adds) */
        bench_case(&opt, "mm_square_int64", OP_MM, 1, 256, 256, 256, CT_INT64, 0, true);
    /* conv2d's product: im2col columns (batch 64 x 14 x 14 positions, 16 channels x 3 x 3) @ the weights (32 out) */
    bench_case(&opt, "mm_im2col", OP_MM, 1, q ? 16 * 14 * 14 : 64 * 14 * 14, 32, 16 * 3 * 3, CT_FLOAT32, peak, true);
    /* LLM-like: a linear layer (tokens x hidden -> 4 x hidden, or Llama-7B's 4096 -> 11008) and q @ k^T */
    int64_t tokens = cuda ? (q ? 2048 : 8192) : (q ? 128 : 512), hidden = cuda ? (q ? 1024 : 4096) : (q ? 256 : 1024);
    int64_t ffn = cuda ? (q ? 2752 : 11008) : 4 * hidden;
    bench_case(&opt, "linear_bias", OP_LINEAR, 1, tokens, ffn, hidden, CT_FLOAT32, peak, true);
    bench_case(&opt, "linear_no_bias", OP_LINEAR_NO_BIAS, 1, tokens, ffn, hidden, CT_FLOAT32, peak, true);
    bench_case(&opt, "linear_down_proj", OP_LINEAR, 1, tokens, hidden, ffn, CT_FLOAT32, peak, true);
    int64_t heads = cuda ? 32 : 8, seq = cuda ? (q ? 512 : 2048) : (q ? 64 : 256), head_dim = cuda ? 128 : 64;
    bench_case(&opt, "attention_q_kT", OP_MATMUL_BT, heads, seq, seq, head_dim, CT_FLOAT32, peak, true);
    if (cuda) {
        ct_set_allow_tf32(true);
        bench_case(&opt, "mm_square_tf32", OP_MM, 1, s, s, s, CT_FLOAT32, peak, true);
        bench_case(&opt, "linear_bias_tf32", OP_LINEAR, 1, tokens, ffn, hidden, CT_FLOAT32, peak, true);
        ct_set_allow_tf32(false);
    }
    return 0;
}
