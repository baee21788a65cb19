/* Launchers of the gather/scatter family: runtime/cpu/indexing.c (CPU) and kernels/gather_scatter.cu (CUDA).
 *
 * Every op of include/ctorch/indexing.h comes down to three primitives, which the front end (runtime/ops/indexing.c)
 * feeds with views it has shaped and checked:
 *  - gather:  out[c] = input[c with c[dim] replaced by index[c]], for every coordinate c of the iteration shape
 *             (out's shape). index_select and take_along_dim are gathers whose index view repeats (stride 0) off dim.
 *  - scatter: self[c with c[dim] replaced by index[c]] = op(that element, src[c] * alpha) for every c of the
 *             iteration shape (index's shape); index_add_, index_copy_ and index_fill_ are scatters whose index view
 *             repeats off dim.
 *  - masked select: count the true elements of a mask, then copy the selected elements in row-major order.
 * All views of one call have the same number of dims (a 0-d tensor is passed as one element along dim 0).
 *
 * Bad indices. The CPU launchers check before they write, fill *bad and return CT_ERR_INDEX without setting a
 * message: the front end words it for its op. The CUDA launchers ignore `bad`; their kernels raise the device error
 * flag (launch.h, CT__DEVICE_ERROR_INDEX with value, dim, size), skip the element, and the next synchronising call
 * reports it. */
#ifndef CTORCH_KERNELS_INDEXING_H
#define CTORCH_KERNELS_INDEXING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An out-of-range index: its value, the dim it indexes, that dim's size. */
typedef struct ct__bad_index {
    bool found;
    int64_t value;
    int dim;
    int64_t size;
} ct__bad_index;

typedef enum ct__scatter_op {
    CT__SCATTER_ASSIGN = 0, /* scatter_, index_copy_, index_fill_: the last write wins */
    CT__SCATTER_SUM,
    CT__SCATTER_PROD,
    CT__SCATTER_MEAN,
    CT__SCATTER_AMAX,
    CT__SCATTER_AMIN
} ct__scatter_op;

typedef struct ct__scatter_args {
    ct__view self;   /* written in place; self.shape[dim] bounds the indices */
    ct__view index;  /* the iteration shape; int32 or int64; stride 0 off dim for the index_* ops */
    ct__view src;    /* strided over the iteration shape; src.data == NULL: every element is `value` */
    ct__view count;  /* CT__SCATTER_MEAN only: int64 zeros of self's shape (scratch for the counts) */
    ct__view workspace; /* CUDA deterministic path: uint8 scratch of ct__cuda_scatter_workspace_bytes bytes */
    double value;
    double alpha;      /* CT__SCATTER_SUM: src * alpha is added (1 for scatter_add) */
    int dim;
    ct__scatter_op op;
    bool include_self; /* false: elements that index points at start from the op's identity */
    bool wrap_negative; /* index_fill_: an index in [-size, 0) counts from the end */
    bool deterministic; /* CUDA: sort by destination instead of atomics (the CPU always is deterministic) */
} ct__scatter_args;

ct_status ct__cpu_gather(ct__view out, ct__view input, ct__view index, int dim, ct__bad_index *bad);
ct_status ct__cpu_scatter(const ct__scatter_args *args, ct__bad_index *bad);
/* Number of true elements of mask (bool). workspace: CUDA scratch of ct__cuda_masked_workspace_bytes (the CPU needs
 * none). */
ct_status ct__cpu_masked_count(ct__view mask, ct__view workspace, int64_t *count);
/* out (1-D, contiguous, of the count's length) = input's elements where mask is true, in row-major order; input and
 * mask have one (broadcast) shape. */
ct_status ct__cpu_masked_select(ct__view out, ct__view input, ct__view mask, ct__view workspace);

#ifdef CTORCH_HAVE_CUDA
ct_status ct__cuda_gather(int dev, ct__view out, ct__view input, ct__view index, int dim, ct__bad_index *bad);
ct_status ct__cuda_scatter(int dev, const ct__scatter_args *args, ct__bad_index *bad);
/* Bytes of workspace the scatter needs (0 when it needs none: not deterministic, or an op that needs no sort). */
size_t ct__cuda_scatter_workspace_bytes(const ct__scatter_args *args);
/* Bytes of workspace the masked count and select need for mask's shape. */
size_t ct__cuda_masked_workspace_bytes(ct__view mask);
/* Synchronises: the count is copied to the host. */
ct_status ct__cuda_masked_count(int dev, ct__view mask, ct__view workspace, int64_t *count);
ct_status ct__cuda_masked_select(int dev, ct__view out, ct__view input, ct__view mask, ct__view workspace);
#endif

#ifdef __cplusplus
}
#endif
#endif
