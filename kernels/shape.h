/* The launchers of the shape family that are more than a strided copy: the batched copy of cat (and stack), and
 * repeat. (flip and constant padding run on the copy and fill kernels of launch.h, over views of the output.) */
#ifndef CTORCH_KERNELS_SHAPE_H
#define CTORCH_KERNELS_SHAPE_H

#include "launch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One input of a cat: `inner` contiguous elements per outer row, placed at element `offset` of each output row. */
typedef struct ct__cat_input {
    const void *data;
    int64_t inner, offset;
} ct__cat_input;

/* Writes n contiguous inputs (all of dtype) into the contiguous output out, seen as `outer` rows of out_inner
 * elements: row r of input i goes to out[r * out_inner + offset_i ..]. One launch on CUDA for up to
 * CT__CAT_BATCH inputs. */
#define CT__CAT_BATCH 64
ct_status ct__cpu_cat(void *out, ct_dtype dtype, int64_t outer, int64_t out_inner, int n, const ct__cat_input *in);

/* dst (contiguous) = src tiled: dst[i_0, .., i_k] = src[i_0 mod s_0, .., i_k mod s_k] where s is src's shape;
 * dst and src have the same ndim and dtype, every src size divides the dst size. */
ct_status ct__cpu_repeat(ct__view dst, ct__view src);

#ifdef CTORCH_HAVE_CUDA
ct_status ct__cuda_cat(int dev, void *out, ct_dtype dtype, int64_t outer, int64_t out_inner, int n,
                       const ct__cat_input *in);
ct_status ct__cuda_repeat(int dev, ct__view dst, ct__view src);
#endif

#ifdef __cplusplus
}
#endif
#endif
