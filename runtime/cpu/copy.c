/* CPU copy (with dtype conversion and broadcasting) and fill kernels.
 *
 * Most copies walk both views with ct__cpu_for_each, whose inner loop runs along the dims that are contiguous in
 * every view. A transposing copy has no such dim: the destination is contiguous along one dim and the source along
 * another, so a plain walk reads (or writes) one element per cache line and runs at a tenth of the bandwidth. Those
 * copies go through transposed_copy instead: the two dims are cut into TILE x TILE tiles, and each tile is copied
 * row by row while its source lines stay in L1, so every cache line brought in is used whole. */
#include <string.h>

#include "clones.h"
#include "cpu_iter.h"
#include "parallel.h"

/* Tile side in elements: 32 x 32 elements of 8 bytes is 8 KiB of source lines, well inside L1. */
#define TILE 32
/* Below this many elements a transposing copy runs on one thread (as ct__cpu_for_each). */
#define PARALLEL_MIN_ELEMENTS 32768

static void copy_same_dtype(char **ptr, const int64_t *step, int64_t n, void *ctx) {
    size_t size = *(const size_t *)ctx;
    char *d = ptr[0];
    const char *s = ptr[1];
    if (step[0] == (int64_t)size && step[1] == (int64_t)size) {
        memcpy(d, s, (size_t)n * size);
        return;
    }
    switch (size) {
    case 8:
        for (int64_t i = 0; i < n; i++) *(uint64_t *)(d + i * step[0]) = *(const uint64_t *)(s + i * step[1]);
        break;
    case 4:
        for (int64_t i = 0; i < n; i++) *(uint32_t *)(d + i * step[0]) = *(const uint32_t *)(s + i * step[1]);
        break;
    case 2:
        for (int64_t i = 0; i < n; i++) *(uint16_t *)(d + i * step[0]) = *(const uint16_t *)(s + i * step[1]);
        break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(d + i * step[0], s + i * step[1], size);
    }
}

/* ---- converting copies ------------------------------------------------------------------------------------------
 *
 * One typed loop per (destination, source) pair of the dtypes the CPU computes in, with a contiguous fast path the
 * compiler vectorises (built for the baseline, AVX2 and AVX-512, as the elementwise loops) and a strided fallback.
 * The conversions are ct__store_scalar's (cpu_iter.h), element for element: floating to integer truncates, with NaN
 * giving 0 and values beyond int64 giving INT64_MIN before narrowing; narrowing wraps; bool is != 0. Pairs outside the
 * table (the reserved half types) go through ct__load_scalar / ct__store_scalar. */

#define LOOP_CLONES CT__LOOP_CLONES

static inline int64_t float_to_i64(double f) {
    return f != f ? 0 : (f >= 9223372036854775808.0 || f < -9223372036854775808.0) ? INT64_MIN : (int64_t)f;
}

/* Reading one source element as the value it converts from: bool is stored as a byte, any non-zero byte is true. */
#define READ_F32(x) (x)
#define READ_F64(x) (x)
#define READ_I64(x) (x)
#define READ_I32(x) (x)
#define READ_U8(x) (x)
#define READ_B8(x) ((x) != 0)
/* Writing a value of a source kind (FLOAT or INT) to a destination type. */
#define TO_F32_FROM_FLOAT(v) ((float)(v))
#define TO_F32_FROM_INT(v) ((float)(v))
#define TO_F64_FROM_FLOAT(v) ((double)(v))
#define TO_F64_FROM_INT(v) ((double)(v))
#define TO_I64_FROM_FLOAT(v) float_to_i64((double)(v))
#define TO_I64_FROM_INT(v) ((int64_t)(v))
#define TO_I32_FROM_FLOAT(v) ((int32_t)(uint32_t)(uint64_t)float_to_i64((double)(v)))
#define TO_I32_FROM_INT(v) ((int32_t)(uint32_t)(uint64_t)(int64_t)(v))
#define TO_U8_FROM_FLOAT(v) ((uint8_t)(uint64_t)float_to_i64((double)(v)))
#define TO_U8_FROM_INT(v) ((uint8_t)(uint64_t)(int64_t)(v))
#define TO_B8_FROM_FLOAT(v) ((uint8_t)((v) != 0))
#define TO_B8_FROM_INT(v) ((uint8_t)((v) != 0))

#define KIND_F32 FLOAT
#define KIND_F64 FLOAT
#define KIND_I64 INT
#define KIND_I32 INT
#define KIND_U8 INT
#define KIND_B8 INT
#define CT_F32 float
#define CT_F64 double
#define CT_I64 int64_t
#define CT_I32 int32_t
#define CT_U8 uint8_t
#define CT_B8 uint8_t

#define CAT3_(a, b, c) a##b##c
#define CAT3(a, b, c) CAT3_(a, b, c)
#define CONVERT(D, S, x) CAT3(TO_##D, _FROM_, KIND_##S)(READ_##S(x))

#define CONVERT_LOOP(D, S)                                                                                         \
    LOOP_CLONES static void convert_##D##_##S(char **ptr, const int64_t *step, int64_t n, void *ctx) {             \
        typedef CT_##D dst_t;                                                                                      \
        typedef CT_##S src_t;                                                                                      \
        if (step[0] == (int64_t)sizeof(dst_t) && step[1] == (int64_t)sizeof(src_t)) {                              \
            dst_t *restrict d = (dst_t *)ptr[0];                                                                   \
            const src_t *restrict s = (const src_t *)ptr[1];                                                       \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) d[i] = CONVERT(D, S, s[i]);                        \
            return;                                                                                                \
        }                                                                                                          \
        for (int64_t i = 0; i < n; i++)                                                                            \
            *(dst_t *)(ptr[0] + i * step[0]) = CONVERT(D, S, *(const src_t *)(ptr[1] + i * step[1]));              \
    }

#define CONVERT_FROM(S)                                                                                            \
    CONVERT_LOOP(F32, S) CONVERT_LOOP(F64, S) CONVERT_LOOP(I64, S) CONVERT_LOOP(I32, S) CONVERT_LOOP(U8, S)         \
    CONVERT_LOOP(B8, S)

CONVERT_FROM(F32)
CONVERT_FROM(F64)
CONVERT_FROM(I64)
CONVERT_FROM(I32)
CONVERT_FROM(U8)
CONVERT_FROM(B8)

#define CONVERT_ROW(D)                                                                                             \
    {[CT_FLOAT32] = convert_##D##_F32, [CT_FLOAT64] = convert_##D##_F64, [CT_INT64] = convert_##D##_I64,           \
     [CT_INT32] = convert_##D##_I32,   [CT_UINT8] = convert_##D##_U8,    [CT_BOOL] = convert_##D##_B8}

/* [dst][src]; NULL for the pairs copy_convert handles one scalar at a time */
static const ct__inner_loop convert_loops[CT_NUM_DTYPES][CT_NUM_DTYPES] = {
    [CT_FLOAT32] = CONVERT_ROW(F32), [CT_FLOAT64] = CONVERT_ROW(F64), [CT_INT64] = CONVERT_ROW(I64),
    [CT_INT32] = CONVERT_ROW(I32),   [CT_UINT8] = CONVERT_ROW(U8),    [CT_BOOL] = CONVERT_ROW(B8),
};

typedef struct {
    ct_dtype dst, src;
} convert_ctx;

static void copy_convert(char **ptr, const int64_t *step, int64_t n, void *ctx) {
    const convert_ctx *c = ctx;
    for (int64_t i = 0; i < n; i++)
        ct__store_scalar(ptr[0] + i * step[0], c->dst, ct__load_scalar(ptr[1] + i * step[1], c->src));
}

/* The geometry of a transposing copy: the dim `wi` along which dst is contiguous, the dim `wj` along which src is
 * contiguous, and the other dims (size > 1) that are walked around the tiles. Byte strides. */
typedef struct {
    int64_t size_i, size_j, dst_i, dst_j, src_i, src_j;
    int nouter;
    int64_t outer_size[CT_MAX_DIMS], outer_dst[CT_MAX_DIMS], outer_src[CT_MAX_DIMS];
} transpose_geometry;

/* Fills g and returns true when dst and src are contiguous along two different dims (both of size > 1). */
static bool find_transpose(const ct__view *dst, const ct__view *src, transpose_geometry *g) {
    int64_t dsize = (int64_t)ct_dtype_size(dst->dtype), ssize = (int64_t)ct_dtype_size(src->dtype);
    int wi = -1, wj = -1;
    for (int d = 0; d < dst->ndim; d++) {
        if (dst->shape[d] <= 1) continue;
        if (wi < 0 && dst->stride[d] * dsize == dsize) wi = d;
        if (wj < 0 && src->stride[d] * ssize == ssize) wj = d;
    }
    if (wi < 0 || wj < 0 || wi == wj) return false;
    g->size_i = dst->shape[wi], g->size_j = dst->shape[wj];
    g->dst_i = dsize, g->dst_j = dst->stride[wj] * dsize;
    g->src_i = src->stride[wi] * ssize, g->src_j = ssize;
    g->nouter = 0;
    for (int d = dst->ndim - 1; d >= 0; d--) {
        if (d == wi || d == wj || dst->shape[d] == 1) continue;
        g->outer_size[g->nouter] = dst->shape[d];
        g->outer_dst[g->nouter] = dst->stride[d] * dsize;
        g->outer_src[g->nouter++] = src->stride[d] * ssize;
    }
    return true;
}

/* Writes the destination rows of a buffered tile of elements of type T (same dtype on both sides). */
#define WRITE_TILE(T)                                                                 \
    for (int64_t j = 0; j < jlen; j++) {                                              \
        T *d = (T *)(dst + (j0 + j) * g->dst_j + i0 * (int64_t)sizeof(T));            \
        const T *b = (const T *)buf + j;                                              \
        for (int64_t i = 0; i < ilen; i++) d[i] = b[i * TILE];                        \
    }

/* Copies tile number t (tiles ordered along i, then j, then the outer dims): the source rows (contiguous along j)
 * are first read whole into a small buffer, then the destination rows (contiguous along i) are written from it
 * with loop. Going through the buffer keeps every cache line touched once even when the strides are powers of
 * two, where the lines of one tile would otherwise fall into the same cache set and evict each other. */
static void copy_tile(const transpose_geometry *g, char *dst, const char *src, int64_t t, ct__inner_loop loop,
                      void *ctx) {
    _Alignas(64) unsigned char buf[TILE * TILE * 8];
    int64_t ni = (g->size_i + TILE - 1) / TILE, nj = (g->size_j + TILE - 1) / TILE;
    int64_t ti = t % ni, tj = (t / ni) % nj, rest = t / (ni * nj);
    for (int d = 0; d < g->nouter; d++) {
        int64_t k = rest % g->outer_size[d];
        rest /= g->outer_size[d];
        dst += k * g->outer_dst[d];
        src += k * g->outer_src[d];
    }
    int64_t i0 = ti * TILE, j0 = tj * TILE;
    int64_t ilen = g->size_i - i0 < TILE ? g->size_i - i0 : TILE;
    int64_t jlen = g->size_j - j0 < TILE ? g->size_j - j0 : TILE;
    int64_t row = TILE * g->src_j; /* bytes per buffered source row */
    for (int64_t i = 0; i < ilen; i++)
        memcpy(buf + i * row, src + (i0 + i) * g->src_i + j0 * g->src_j, (size_t)(jlen * g->src_j));
    if (loop == copy_same_dtype) { /* no conversion: inlined per element size, so the compiler unrolls it */
        switch (g->dst_i) {
        case 1: WRITE_TILE(uint8_t); return;
        case 2: WRITE_TILE(uint16_t); return;
        case 4: WRITE_TILE(uint32_t); return;
        case 8: WRITE_TILE(uint64_t); return;
        default: break;
        }
    }
    int64_t step[2] = {g->dst_i, row};
    for (int64_t j = 0; j < jlen; j++) {
        char *ptr[2] = {dst + (j0 + j) * g->dst_j + i0 * g->dst_i, (char *)buf + j * g->src_j};
        loop(ptr, step, ilen, ctx);
    }
}

typedef struct tiles_job {
    const transpose_geometry *g;
    char *dst;
    const char *src;
    ct__inner_loop loop;
    void *ctx;
} tiles_job;

static void copy_tiles(int64_t begin, int64_t end, void *vjob) {
    const tiles_job *j = vjob;
    for (int64_t t = begin; t < end; t++) copy_tile(j->g, j->dst, j->src, t, j->loop, j->ctx);
}

/* The tiles split across the CPU pool's threads (parallel.h), PARALLEL_MIN_ELEMENTS elements at least per chunk. */
static void transposed_copy(const ct__view *dst, const ct__view *src, const transpose_geometry *g,
                            ct__inner_loop loop, void *ctx) {
    int64_t outer = 1;
    for (int d = 0; d < g->nouter; d++) outer *= g->outer_size[d];
    int64_t ntiles = ((g->size_i + TILE - 1) / TILE) * ((g->size_j + TILE - 1) / TILE) * outer;
    tiles_job j = {g, dst->data, src->data, loop, ctx};
    ct__parallel_for(ntiles, PARALLEL_MIN_ELEMENTS / (TILE * TILE), copy_tiles, &j);
}

/* Runs loop over every element of dst/src, tiled when the copy transposes. */
static void walk_copy(ct__view dst, ct__view src, ct__inner_loop loop, void *ctx) {
    transpose_geometry g;
    int64_t numel = 1;
    for (int d = 0; d < dst.ndim; d++) numel *= dst.shape[d];
    if (numel >= TILE * TILE && find_transpose(&dst, &src, &g)) {
        transposed_copy(&dst, &src, &g, loop, ctx);
        return;
    }
    ct__view views[2] = {dst, src};
    ct__cpu_for_each(2, views, loop, ctx);
}

ct_status ct__cpu_copy(ct__view dst, ct__view src) {
    if (dst.dtype == src.dtype && dst.dtype != CT_BOOL) {
        size_t size = ct_dtype_size(dst.dtype);
        walk_copy(dst, src, copy_same_dtype, &size);
    } else {
        convert_ctx c = {dst.dtype, src.dtype};
        ct__inner_loop loop = (unsigned)dst.dtype < CT_NUM_DTYPES && (unsigned)src.dtype < CT_NUM_DTYPES
                                  ? convert_loops[dst.dtype][src.dtype]
                                  : NULL;
        walk_copy(dst, src, loop ? loop : copy_convert, &c);
    }
    return CT_OK;
}

static void fill_loop(char **ptr, const int64_t *step, int64_t n, void *ctx) {
    const unsigned char *value = ctx; /* the value's bytes in the dtype, then its size at [15] */
    size_t size = value[15];
    for (int64_t i = 0; i < n; i++) memcpy(ptr[0] + i * step[0], value, size);
}

ct_status ct__cpu_fill(ct__view dst, double value) {
    unsigned char bytes[16] = {0};
    ct__store_scalar(bytes, dst.dtype, (ct__scalar){true, value, 0});
    bytes[15] = (unsigned char)ct_dtype_size(dst.dtype);
    ct__cpu_for_each(1, &dst, fill_loop, bytes);
    return CT_OK;
}
