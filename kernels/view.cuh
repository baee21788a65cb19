/* Host-side questions about a ct__view (kernels/launch.h) that every family's launcher asks before it picks a
 * kernel: how many elements, and whether the view is dense row-major (size-1 dims, whose stride never matters, are
 * skipped, as in PyTorch's is_contiguous). */
#ifndef CTORCH_KERNELS_VIEW_CUH
#define CTORCH_KERNELS_VIEW_CUH

#include "launch.h"

static inline long long ct__view_numel(const ct__view &v) {
    long long n = 1;
    for (int d = 0; d < v.ndim; d++) n *= v.shape[d];
    return n;
}

static inline bool ct__view_contiguous(const ct__view &v) {
    long long expected = 1;
    for (int d = v.ndim - 1; d >= 0; d--) {
        if (v.shape[d] == 1) continue;
        if (v.stride[d] != expected) return false;
        expected *= v.shape[d];
    }
    return true;
}

#endif
