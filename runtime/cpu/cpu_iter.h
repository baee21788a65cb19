/* Walking strided views on the CPU: the loop skeleton every elementwise CPU kernel shares.
 *
 * ct__cpu_for_each runs a kernel's inner loop over the last (coalesced) dim of up to CT__ITER_MAX views of one
 * shape, with byte strides, splitting the work across the CPU pool's threads (parallel.h) when it is large enough
 * to pay for it. Dims that are contiguous with each other in every view are merged first, so a contiguous tensor is one
 * inner loop of numel elements. */
#ifndef CTORCH_CPU_ITER_H
#define CTORCH_CPU_ITER_H

#include <stdint.h>

#include "kernels/launch.h"

#define CT__ITER_MAX 4

/* One inner loop: n elements; ptr[k] is view k's first element, step[k] its byte stride along the loop. */
typedef void (*ct__inner_loop)(char **ptr, const int64_t *step, int64_t n, void *ctx);

/* views[0..nviews-1] all have views[0]'s shape (broadcast ones carry stride 0). */
void ct__cpu_for_each(int nviews, const ct__view *views, ct__inner_loop loop, void *ctx);

/* A scalar of any dtype, read exactly: integers and bool as int64, floating types as double. */
typedef struct ct__scalar {
    bool is_float;
    double f;
    int64_t i;
} ct__scalar;

ct__scalar ct__load_scalar(const void *p, ct_dtype dtype);
/* Stores with C's conversion rules, made defined where C leaves them undefined: NaN -> 0, out-of-range
 * floating values -> INT64_MIN before narrowing (what x86 and PyTorch give), narrowing wraps. */
void ct__store_scalar(void *p, ct_dtype dtype, ct__scalar v);

#endif
