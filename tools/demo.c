/* The demo job: makes tensors on the CPU (and on the GPU when there is one), views and copies them, prints them as
 * PyTorch would, and shows the allocator's statistics and an error message. Replaced by the transfer-learning
 * pipeline later. */
#include <stdio.h>

#include "ctorch/ctorch.h"

#define CHECK(x)                                                    \
    do {                                                            \
        if (!(x)) {                                                 \
            fprintf(stderr, "demo failed: %s\n", ct_last_error()); \
            return 1;                                               \
        }                                                           \
    } while (0)

static int demo_on(ct_device device) {
    char name[16];
    printf("== on %s\n", ct_device_str(device, name, sizeof name));
    ct_scope_begin();
    ct_tensor *x = ct_arange(0, 12, 1, CT_FLOAT32, device);
    ct_tensor *m = ct_view(x, 2, (int64_t[]){3, 4});
    ct_tensor *mt = ct_t(m);
    CHECK(mt);
    printf("x.view(3, 4).t() =\n");
    CHECK(ct_print(mt) == CT_OK);
    ct_tensor *r = ct_randn(2, (int64_t[]){2, 3}, CT_FLOAT64, device, NULL);
    CHECK(r);
    printf("randn(2, 3, dtype=float64) =\n");
    CHECK(ct_print(r) == CT_OK);
    ct_memory_stats stats;
    CHECK(ct_memory_stats_get(device, &stats) == CT_OK);
    printf("allocator: %lld bytes in %lld blocks, peak %lld\n", (long long)stats.allocated,
           (long long)stats.num_allocs, (long long)stats.peak_allocated);
    CHECK(ct_scope_end() == CT_OK);
    return 0;
}

int main(void) {
    ct_manual_seed(0);
    if (demo_on(CT_DEVICE_CPU)) return 1;
    if (ct_cuda_is_available()) {
        if (demo_on(CT_DEVICE_CUDA(0))) return 1;
    } else {
        ct_tensor *t = ct_zeros(1, (int64_t[]){4}, CT_FLOAT32, CT_DEVICE_CUDA(0));
        printf("== no GPU here: asking for one says \"%s\"\n", t ? "(a GPU after all)" : ct_last_error());
        ct_release(t);
    }
    ct_tensor *a = ct_ones(1, (int64_t[]){16}, CT_FLOAT32, CT_DEVICE_CPU);
    ct_tensor *bad = ct_view(a, 2, (int64_t[]){3, 5});
    printf("== a bad view: %s\n", bad ? "(accepted?)" : ct_last_error());
    ct_release(bad);
    ct_release(a);
    return 0;
}
