/* The launchers of the reduce family (reductions, scans, softmax) on both backends, and the plain descriptions
 * they share with the front end in runtime/ops/reduce.c.
 *
 * A reduction is described once, by the front end, as a ct__reduce_geom: the input's kept dims (in output order:
 * the output is contiguous and its flat index walks them row-major) and its reduced dims, each with the input's
 * element strides, with size-1 dims dropped and neighbouring dims merged where the strides allow. Both backends
 * walk the same description, so they agree on which element is "first" for argmax and friends: when `ordered`
 * is set, the reduced dims keep the tensor's order and the linear position in them is the flat index PyTorch
 * returns; otherwise the front end may sort them by stride (innermost = smallest) for a friendlier walk.
 *
 * Scans and softmax get a contiguous input and output seen as [outer, n, inner] with the op's dim in the middle. */
#ifndef CTORCH_KERNELS_REDUCE_H
#define CTORCH_KERNELS_REDUCE_H

#include <stdbool.h>

#include "launch.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct__reduce_op {
    CT__RED_SUM,
    CT__RED_PROD,
    CT__RED_MEAN,
    CT__RED_AMAX,
    CT__RED_AMIN,
    CT__RED_MAX,           /* value into out (if out.data), index of its first occurrence into out2 (if out2.data) */
    CT__RED_MIN,
    CT__RED_VAR,           /* param = correction; the mean into out2 when out2.data */
    CT__RED_STD,
    CT__RED_LOGSUMEXP,
    CT__RED_NORM,          /* param = ord (1, 2, inf, -inf, 0 or any p) */
    CT__RED_COUNT_NONZERO, /* int64 */
    CT__RED_ALL,           /* bool/uint8: count == nred */
    CT__RED_ANY            /* bool/uint8: count > 0 */
} ct__reduce_op;

typedef struct ct__reduce_geom {
    int64_t nout; /* number of outputs: the product of the kept sizes */
    int64_t nred; /* number of elements reduced into each output (0 for an empty reduction) */
    int nkept;
    int64_t kept_shape[CT_MAX_DIMS], kept_stride[CT_MAX_DIMS];
    int nreduced;
    int64_t red_shape[CT_MAX_DIMS], red_stride[CT_MAX_DIMS];
    bool ordered; /* the reduced dims are in the tensor's order: linear position = PyTorch's flat index */
} ct__reduce_geom;

typedef enum ct__scan_op { CT__SCAN_SUM, CT__SCAN_PROD } ct__scan_op;

/* A contiguous tensor seen as [outer, n, inner], the op running along n. */
typedef struct ct__lines {
    int64_t outer, n, inner;
} ct__lines;

/* ---- CPU (runtime/cpu/reduce.c) ------------------------------------------------------------------------------ */

/* Reduces in (g's geometry over in.data) into out (and out2), contiguous tensors of g->nout elements whose dtypes
 * the front end chose. out.data or out2.data may be NULL where the op does not write them. */
ct_status ct__cpu_reduce(ct__reduce_op op, const ct__reduce_geom *g, ct__view in, ct__view out, ct__view out2,
                         double param);
/* out = cumulative sum / product of in along the lines' n (both contiguous; out's dtype may be wider). */
ct_status ct__cpu_scan(ct__scan_op op, ct__lines lines, ct__view in, ct__view out);
/* out = softmax (or log_softmax) of in along the lines' n; same floating dtype, both contiguous. */
ct_status ct__cpu_softmax(bool log, ct__lines lines, ct__view in, ct__view out);

/* ---- CUDA (kernels/reduce.cu, kernels/softmax.cu) ------------------------------------------------------------- */

#ifdef CTORCH_HAVE_CUDA
ct_status ct__cuda_reduce(int dev, ct__reduce_op op, const ct__reduce_geom *g, ct__view in, ct__view out,
                          ct__view out2, double param);
ct_status ct__cuda_scan(int dev, ct__scan_op op, ct__lines lines, ct__view in, ct__view out);
ct_status ct__cuda_softmax(int dev, bool log, ct__lines lines, ct__view in, ct__view out);
#endif

#ifdef __cplusplus
}
#endif
#endif
