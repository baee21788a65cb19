/* Elementwise bandwidth: add, mul, relu, gelu and exp on contiguous float32 tensors of 1 MiB to 1 GiB (--quick:
 * 1 MiB and 16 MiB), held against the device's copy bandwidth measured in the same run for the same tensor size.
 *
 * Bytes per call are what the op must move at least: two reads and a write for add and mul, a read and a write for
 * the unary ops. The out-of-place cases allocate their result each call, as `torch.add(a, b)` does (on CUDA the
 * caching allocator makes that free; on the CPU fresh pages cost their first touch); add_ and relu_ are the same
 * kernels in place, with no allocation. */
#include <stdio.h>

#include "bench.h"

typedef struct {
    ct_tensor *a, *b;
    int op;
} operands;

enum { ADD, MUL, RELU, GELU, EXP, ADD_INPLACE, RELU_INPLACE };

static const struct {
    const char *name;
    int reads; /* tensors read per call (one is written) */
} cases[] = {
    [ADD] = {"add", 2}, [MUL] = {"mul", 2}, [RELU] = {"relu", 1}, [GELU] = {"gelu", 1},
    [EXP] = {"exp", 1}, [ADD_INPLACE] = {"add_", 2}, [RELU_INPLACE] = {"relu_", 1},
};

static ct_tensor *out_of_place(const operands *o) {
    switch (o->op) {
    case ADD: return ct_add(o->a, o->b, 1);
    case MUL: return ct_mul(o->a, o->b);
    case RELU: return ct_relu(o->a);
    case GELU: return ct_gelu(o->a, CT_GELU_NONE);
    default: return ct_exp(o->a);
    }
}

static int run(void *p) {
    const operands *o = p;
    if (o->op == ADD_INPLACE) return ct_add_(o->a, o->b, 1) != CT_OK;
    if (o->op == RELU_INPLACE) return ct_relu_(o->a) != CT_OK;
    ct_scope_begin();
    int failed = out_of_place(o) == NULL;
    ct_scope_end();
    return failed;
}

int main(int argc, char **argv) {
    bench_options opt = bench_init(argc, argv, "bench_elementwise");
    const int64_t mib = 1 << 20, sizes[] = {1 * mib, 16 * mib, 256 * mib, 1024 * mib};
    int nsizes = opt.quick ? 2 : 4;
    for (int s = 0; s < nsizes; s++) {
        int64_t bytes = sizes[s], n = bytes / 4;
        double limit = bench_copy_bandwidth_gbs(&opt, bytes);
        char shape[32];
        snprintf(shape, sizeof shape, "%lld", (long long)n);
        ct_scope_begin();
        /* inputs in [-1, 1) so that relu and gelu see both signs */
        ct_tensor *a = ct_add_scalar(ct_rand(1, &n, CT_FLOAT32, opt.device, NULL), -0.5, 2);
        ct_tensor *b = ct_rand(1, &n, CT_FLOAT32, opt.device, NULL);
        if (!a || !b) {
            fprintf(stderr, "bench_elementwise: %s\n", ct_last_error());
            return 1;
        }
        for (int c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
            operands o = {a, b, c};
            double ms = bench_time_ms(&opt, run, &o, 5);
            bench_report(&opt, "elementwise", cases[c].name, shape, "float32", ms,
                         (double)bytes * (cases[c].reads + 1), "GB/s", limit);
        }
        ct_scope_end();
    }
    return 0;
}
