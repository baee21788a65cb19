/* CPU kernels of the gather/scatter family (kernels/indexing.h): gather, scatter with every reduction, masked
 * select.
 *
 * The iteration shape (out's for a gather, index's for a scatter) is cut into lines: the coordinates off `dim`
 * pick a line, and a line runs along dim. Lines are handed out in blocks of consecutive columns (the innermost
 * off-dim coordinate), blocks split across the CPU pool's threads (parallel.h). A scatter writes self only at its line's own off-dim
 * coordinates, so two tasks never touch the same element of self: there are no atomics and no races, and each
 * destination combines its values in index order. That makes every op here deterministic, run to run and whatever
 * the thread count. Inside a block the loop along dim is the inner one when that walks memory more closely than
 * the columns do. index_select's long rows are copied whole instead, the rows (positions along dim) split across
 * the threads.
 *
 * A scatter checks all its indices before it writes anything, so a failed in-place op leaves self unchanged; a
 * gather checks as it goes (its output is thrown away on error). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clones.h"
#include "cpu_iter.h"
#include "kernels/indexing.h"
#include "parallel.h"

#define MAX_VIEWS 4
#define PARALLEL_MIN_WORK 32768 /* elements below which threads cost more than they bring */
#define MIN_BLOCK_COLS 16       /* 64 bytes of float32: blocks of different tasks do not share cache lines */
#define WHOLE_ROW_BYTES 256     /* index_select rows at least this long are copied whole, one memcpy each */

/* ---- lines: the off-dim part of the iteration shape, coalesced --------------------------------------------------- */

typedef struct lines {
    int n;                     /* off-dim dims left after coalescing; [0] is the innermost */
    int64_t shape[CT_MAX_DIMS];
    int64_t step[MAX_VIEWS][CT_MAX_DIMS]; /* byte strides of each view */
    char *base[MAX_VIEWS];
    int nviews;
} lines;

/* One block: ncols columns from ptr[k] on (column stride col_step[k]), each a whole line along dim. */
typedef void (*block_fn)(char **ptr, const int64_t *col_step, int64_t ncols, void *ctx);

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* views[k] give the strides; shape is the iteration shape (views may be larger than it off dim). */
static void lines_init(lines *L, int ndim, const int64_t *shape, int dim, int nviews, const ct__view *views) {
    L->n = 0;
    L->nviews = nviews;
    for (int k = 0; k < nviews; k++) L->base[k] = views[k].data;
    for (int d = ndim - 1; d >= 0; d--) {
        if (d == dim || shape[d] == 1) continue;
        int64_t st[MAX_VIEWS];
        bool merge = L->n > 0;
        for (int k = 0; k < nviews; k++) {
            st[k] = views[k].stride[d] * (int64_t)ct_dtype_size(views[k].dtype);
            if (merge) merge = st[k] == L->step[k][L->n - 1] * L->shape[L->n - 1];
        }
        if (merge) {
            L->shape[L->n - 1] *= shape[d];
            continue;
        }
        L->shape[L->n] = shape[d];
        for (int k = 0; k < nviews; k++) L->step[k][L->n] = st[k];
        L->n++;
    }
}

/* Byte stride of view k along the innermost off-dim (0 when the lines have no off-dim dims). */
static int64_t col_step_of(const lines *L, int k) { return L->n ? L->step[k][0] : 0; }

typedef struct blocks_job {
    const lines *L;
    block_fn fn;
    void *ctx;
    int64_t cols, inner, per_row, col_step[MAX_VIEWS];
} blocks_job;

/* Blocks [begin, end): block t is columns [c0, c0 + cols) of outer line-row t / per_row. */
static void run_blocks(int64_t begin, int64_t end, void *vjob) {
    const blocks_job *b = vjob;
    const lines *L = b->L;
    for (int64_t t = begin; t < end; t++) {
        int64_t row = t / b->per_row, c0 = (t % b->per_row) * b->cols;
        char *ptr[MAX_VIEWS];
        for (int k = 0; k < L->nviews; k++) ptr[k] = L->base[k] + c0 * b->col_step[k];
        int64_t rest = row;
        for (int d = 1; d < L->n; d++) {
            int64_t i = rest % L->shape[d];
            rest /= L->shape[d];
            for (int k = 0; k < L->nviews; k++) ptr[k] += i * L->step[k][d];
        }
        b->fn(ptr, b->col_step, b->cols < b->inner - c0 ? b->cols : b->inner - c0, b->ctx);
    }
}

/* Runs fn over every block, on the CPU pool (parallel.h); line_len (the length along dim) sizes the work for the
 * threading decision. */
/* wide: the block function works a row at a time (index_add_'s whole rows), so blocks are cut only as far as one
 * per thread; otherwise to about four per thread. */
static void lines_run(const lines *L, int64_t line_len, block_fn fn, void *ctx, bool wide) {
    int64_t inner = L->n ? L->shape[0] : 1, outer = 1;
    for (int d = 1; d < L->n; d++) outer *= L->shape[d];
    int threads = ct__parallel_threads();
    bool parallel = threads > 1 && inner * outer * line_len >= PARALLEL_MIN_WORK;
    int64_t cols = inner, per_thread = wide ? 1 : 4;
    while (parallel && cols > MIN_BLOCK_COLS && outer * ceil_div(inner, cols) < per_thread * (int64_t)threads)
        cols = ceil_div(cols, 2);
    blocks_job b = {L, fn, ctx, cols, inner, ceil_div(inner, cols), {0}};
    for (int k = 0; k < L->nviews; k++) b.col_step[k] = col_step_of(L, k);
    int64_t tasks = outer * b.per_row, work_per_task = cols * line_len;
    /* at least PARALLEL_MIN_WORK elements per chunk of tasks; everything in one chunk when not parallel */
    int64_t grain = parallel ? (PARALLEL_MIN_WORK + work_per_task - 1) / work_per_task : tasks;
    ct__parallel_for(tasks, grain > 0 ? grain : 1, run_blocks, &b);
}

/* Runs BODY (which sees i along dim and j along the columns) for every element of a block, the dim loop inside
 * when dim_inner. */
#define LINE_LOOP(dim_inner, len, ncols, ...)                                                                        \
    do {                                                                                                             \
        if (dim_inner) {                                                                                             \
            for (int64_t j = 0; j < (ncols); j++)                                                                    \
                for (int64_t i = 0; i < (len); i++) { __VA_ARGS__ }                                                  \
        } else {                                                                                                     \
            for (int64_t i = 0; i < (len); i++)                                                                      \
                for (int64_t j = 0; j < (ncols); j++) { __VA_ARGS__ }                                                \
        }                                                                                                            \
    } while (0)

static inline int64_t load_index(const char *p, bool idx64) {
    return idx64 ? *(const int64_t *)p : (int64_t) * (const int32_t *)p;
}

/* Keeps the first bad index any thread reports. */
static void record_bad(ct__bad_index *bad, int64_t value, int dim, int64_t size) {
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    if (!bad->found) *bad = (ct__bad_index){true, value, dim, size};
    pthread_mutex_unlock(&mu);
}

/* ---- gather ------------------------------------------------------------------------------------------------------ */

typedef struct gather_ctx {
    int64_t len;   /* out.shape[dim] */
    int64_t ds[3]; /* byte strides along dim: out, index, input */
    int64_t bound; /* input.shape[dim] */
    int dim;
    bool idx64, dim_inner;
    size_t esize;
    ct__bad_index *bad;
} gather_ctx;

/* index_select's case: one index per line and contiguous columns: whole rows are copied. */
static void gather_rows(char **p, int64_t ncols, const gather_ctx *c) {
    for (int64_t i = 0; i < c->len; i++) {
        int64_t idx = load_index(p[1] + i * c->ds[1], c->idx64);
        if (idx < 0 || idx >= c->bound) {
            record_bad(c->bad, idx, c->dim, c->bound);
            continue;
        }
        memcpy(p[0] + i * c->ds[0], p[2] + idx * c->ds[2], (size_t)ncols * c->esize);
    }
}

/* The line loops below are built for the baseline, AVX2 and AVX-512 (clones.h). */
#define LOOP_CLONES CT__LOOP_CLONES

/* Gathers one line whose out, index and input are all contiguous along dim (gather along the last dim), when its
 * indices are all in range: they are checked first, with a min/max pass the compiler vectorises, so the copy
 * itself is a tight loop with no test per element. False (nothing written) when some index is out of range. */
#define DEFINE_GATHER_LINE(NAME, T, IT)                                                                              \
    LOOP_CLONES static bool NAME(T *restrict out, const IT *restrict index, const T *restrict input, int64_t len, int64_t bound) { \
        IT lo = 0, hi = 0;                                                                                           \
        _Pragma("omp simd reduction(min : lo) reduction(max : hi)") for (int64_t i = 0; i < len; i++) {              \
            lo = index[i] < lo ? index[i] : lo;                                                                      \
            hi = index[i] > hi ? index[i] : hi;                                                                      \
        }                                                                                                            \
        if (lo < 0 || (int64_t)hi >= bound) return false;                                                            \
        _Pragma("omp simd") for (int64_t i = 0; i < len; i++) out[i] = input[index[i]];                              \
        return true;                                                                                                 \
    }

/* The context's fields are copied into locals first: the element stores could alias the context, which would make
 * the compiler reload every field for every element. */
#define DEFINE_GATHER_BLOCK(NAME, T)                                                                                 \
    DEFINE_GATHER_LINE(NAME##_line32, T, int32_t)                                                                    \
    DEFINE_GATHER_LINE(NAME##_line64, T, int64_t)                                                                    \
    static void NAME(char **p, const int64_t *step, int64_t ncols, void *vctx) {                                     \
        const gather_ctx *c = vctx;                                                                                  \
        if (step[1] == 0 && step[0] == (int64_t)sizeof(T) && step[2] == (int64_t)sizeof(T)) {                        \
            gather_rows(p, ncols, c);                                                                                \
            return;                                                                                                  \
        }                                                                                                            \
        char *out = p[0];                                                                                            \
        const char *index = p[1], *input = p[2];                                                                     \
        const int64_t len = c->len, bound = c->bound, os = step[0], xs = step[1], is = step[2];                      \
        const int64_t ods = c->ds[0], xds = c->ds[1], ids = c->ds[2];                                                \
        const bool idx64 = c->idx64;                                                                                 \
        if (c->dim_inner && ods == (int64_t)sizeof(T) && ids == (int64_t)sizeof(T) && xds == (idx64 ? 8 : 4)) {      \
            int64_t j = 0;                                                                                           \
            for (; j < ncols; j++) {                                                                                 \
                T *o = (T *)(out + j * os);                                                                          \
                const T *in = (const T *)(input + j * is);                                                           \
                bool ok = idx64 ? NAME##_line64(o, (const int64_t *)(index + j * xs), in, len, bound)                \
                                : NAME##_line32(o, (const int32_t *)(index + j * xs), in, len, bound);               \
                if (!ok) break;                                                                                      \
            }                                                                                                        \
            if (j == ncols) return;                                                                                  \
            out += j * os, index += j * xs, input += j * is, ncols -= j; /* the checked loop finds the bad index */  \
        }                                                                                                            \
        LINE_LOOP(c->dim_inner, len, ncols, {                                                                        \
            int64_t idx = load_index(index + i * xds + j * xs, idx64);                                               \
            if (idx < 0 || idx >= bound) {                                                                           \
                record_bad(c->bad, idx, c->dim, bound);                                                              \
                continue;                                                                                            \
            }                                                                                                        \
            *(T *)(out + i * ods + j * os) = *(const T *)(input + idx * ids + j * is);                               \
        });                                                                                                          \
    }

DEFINE_GATHER_BLOCK(gather_block_1, uint8_t)
DEFINE_GATHER_BLOCK(gather_block_4, uint32_t)
DEFINE_GATHER_BLOCK(gather_block_8, uint64_t)

/* index_select's case when the rows are long (contiguous columns in out and input, one index per line): the work is
 * cut along dim, whole rows per thread, instead of into column blocks that every thread walks over all rows. */
typedef struct rows_job {
    const lines *L;
    const gather_ctx *c;
    size_t bytes; /* per row */
} rows_job;

/* Rows [begin, end) of the (outer lines x positions along dim) rows. */
static void copy_whole_rows(int64_t begin, int64_t end, void *vjob) {
    const rows_job *job = vjob;
    const lines *L = job->L;
    const gather_ctx *c = job->c;
    for (int64_t r = begin; r < end; r++) {
        int64_t i = r % c->len, rest = r / c->len;
        char *ptr[3] = {L->base[0], L->base[1], L->base[2]};
        for (int d = 1; d < L->n; d++) {
            int64_t at = rest % L->shape[d];
            rest /= L->shape[d];
            for (int k = 0; k < 3; k++) ptr[k] += at * L->step[k][d];
        }
        int64_t idx = load_index(ptr[1] + i * c->ds[1], c->idx64);
        if (idx < 0 || idx >= c->bound) {
            record_bad(c->bad, idx, c->dim, c->bound);
            continue;
        }
        memcpy(ptr[0] + i * c->ds[0], ptr[2] + idx * c->ds[2], job->bytes);
    }
}

static void gather_whole_rows(const lines *L, const gather_ctx *c) {
    int64_t inner = L->shape[0], rows = c->len;
    for (int d = 1; d < L->n; d++) rows *= L->shape[d];
    rows_job job = {L, c, (size_t)inner * c->esize};
    ct__parallel_for(rows, (PARALLEL_MIN_WORK + inner - 1) / inner, copy_whole_rows, &job);
}

ct_status ct__cpu_gather(ct__view out, ct__view input, ct__view index, int dim, ct__bad_index *bad) {
    for (int d = 0; d < out.ndim; d++)
        if (out.shape[d] == 0) return CT_OK;
    ct__view views[3] = {out, index, input};
    lines L;
    lines_init(&L, out.ndim, out.shape, dim, 3, views);
    size_t es = ct_dtype_size(out.dtype);
    gather_ctx c = {out.shape[dim], {0, 0, 0}, input.shape[dim], dim, index.dtype == CT_INT64, false, es, bad};
    for (int k = 0; k < 3; k++) c.ds[k] = views[k].stride[dim] * (int64_t)ct_dtype_size(views[k].dtype);
    c.dim_inner = L.n == 0 || llabs(c.ds[0]) <= llabs(col_step_of(&L, 0));
    if (L.n > 0 && col_step_of(&L, 1) == 0 && col_step_of(&L, 0) == (int64_t)es && col_step_of(&L, 2) == (int64_t)es &&
        L.shape[0] * (int64_t)es >= WHOLE_ROW_BYTES)
        gather_whole_rows(&L, &c);
    else
        lines_run(&L, c.len, es == 8 ? gather_block_8 : es == 4 ? gather_block_4 : gather_block_1, &c, false);
    return bad->found ? CT_ERR_INDEX : CT_OK;
}

/* ---- index checks ------------------------------------------------------------------------------------------------ */

typedef struct check_ctx {
    int64_t bound;
    int dim;
    bool idx64, wrap_negative;
    ct__bad_index *bad;
} check_ctx;

static void check_loop(char **p, const int64_t *step, int64_t n, void *vctx) {
    const check_ctx *c = vctx;
    int64_t lo = c->wrap_negative ? -c->bound : 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t idx = load_index(p[0] + i * step[0], c->idx64);
        if (idx < lo || idx >= c->bound) record_bad(c->bad, idx, c->dim, c->bound);
    }
}

/* Checks every index of the scatter before anything is written. Dims along which the index view repeats (stride 0)
 * are read once. */
static void check_indices(const ct__scatter_args *a, ct__bad_index *bad) {
    ct__view iv = a->index;
    for (int d = 0; d < iv.ndim; d++)
        if (iv.stride[d] == 0) iv.shape[d] = 1;
    check_ctx c = {a->self.shape[a->dim], a->dim, iv.dtype == CT_INT64, a->wrap_negative, bad};
    ct__cpu_for_each(1, &iv, check_loop, &c);
}

/* ---- scatter ----------------------------------------------------------------------------------------------------- */

typedef struct scatter_ctx {
    int64_t len;   /* index.shape[dim] */
    int64_t ds[4]; /* byte strides along dim: self, index, src, count */
    int64_t bound; /* self.shape[dim] */
    bool idx64, wrap_negative, dim_inner, include_self, scale;
    ct__scatter_op op;
    _Alignas(8) unsigned char alpha[8]; /* alpha in self's dtype */
} scatter_ctx;

/* A checked index as a position along dim: negative ones (allowed only when wrap_negative) count from the end. */
static inline int64_t dest_index(int64_t idx, int64_t bound) { return idx < 0 ? idx + bound : idx; }

/* Integer arithmetic wraps (through unsigned types: signed overflow would be undefined); bool adds as "or" and
 * multiplies as "and"; floating max/min let a NaN win, as PyTorch's scatter_reduce. */
#define ADD_FLOAT(a, b) ((a) + (b))
#define MUL_FLOAT(a, b) ((a) * (b))
#define MAX_FLOAT(a, b) ((b) != (b) || (b) > (a) ? (b) : (a))
#define MIN_FLOAT(a, b) ((b) != (b) || (b) < (a) ? (b) : (a))
#define DIV_FLOAT(T, a, n) ((a) / (T)(n))
#define ADD_I64(a, b) ((int64_t)((uint64_t)(a) + (uint64_t)(b)))
#define MUL_I64(a, b) ((int64_t)((uint64_t)(a) * (uint64_t)(b)))
#define ADD_I32(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b)))
#define MUL_I32(a, b) ((int32_t)((uint32_t)(a) * (uint32_t)(b)))
#define ADD_U8(a, b) ((uint8_t)((a) + (b)))
#define MUL_U8(a, b) ((uint8_t)((a) * (b)))
#define MAX_INT(a, b) ((b) > (a) ? (b) : (a))
#define MIN_INT(a, b) ((b) < (a) ? (b) : (a))
#define DIV_FLOOR(T, a, n) ((T)floor_div((int64_t)(a), (n)))
#define OR_BOOL(a, b) ((uint8_t)((a) | (b)))
#define AND_BOOL(a, b) ((uint8_t)((a) & (b)))

/* Division rounding toward minus infinity (integer scatter_reduce mean, as PyTorch's rounding_mode="floor"). */
static inline int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The accumulating pass of a scatter block: the statements given combine s (scaled with MUL) into *d, the element
 * at position idx along dim. It uses the locals of scatter_block_*. */
#define SCATTER_PASS(T, MUL, ...)                                                                                    \
    LINE_LOOP(dim_inner, len, ncols, {                                                                               \
        int64_t idx = dest_index(load_index(index + i * xds + j * xs, idx64), bound);                                \
        T s = *(const T *)(src + i * rds + j * rs);                                                                  \
        if (scale) s = MUL(s, alpha);                                                                                \
        T *d = (T *)(self + idx * sds + j * ss);                                                                     \
        __VA_ARGS__;                                                                                                 \
    })

#define DEFINE_SCATTER_TYPE(NAME, T, ADD, MUL, MAX, MIN, LOWEST, HIGHEST, DIV)                                       \
    /* d[j] += s[j] (* alpha): restrict, since self and src never overlap (the front end's scatter_unaliased) */     \
    CT__LOOP_CLONES static void row_add_##NAME(T *restrict d, const T *restrict s, int64_t n, bool scale, T alpha) { \
        if (scale) {                                                                                                 \
            _Pragma("omp simd") for (int64_t j = 0; j < n; j++) d[j] = ADD(d[j], MUL(s[j], alpha));                  \
        } else {                                                                                                     \
            _Pragma("omp simd") for (int64_t j = 0; j < n; j++) d[j] = ADD(d[j], s[j]);                              \
        }                                                                                                            \
    }                                                                                                                \
    static T identity_##NAME(ct__scatter_op op) {                                                                    \
        return op == CT__SCATTER_PROD ? (T)1 : op == CT__SCATTER_AMAX ? LOWEST : op == CT__SCATTER_AMIN ? HIGHEST    \
                                                                                                      : (T)0;        \
    }                                                                                                                \
    static void scatter_block_##NAME(char **p, const int64_t *step, int64_t ncols, void *vctx) {                     \
        const scatter_ctx *c = vctx;                                                                                 \
        char *self = p[0], *count = p[3];                                                                            \
        const char *index = p[1], *src = p[2];                                                                       \
        const int64_t len = c->len, bound = c->bound, ss = step[0], xs = step[1], rs = step[2], cs = step[3];        \
        const int64_t sds = c->ds[0], xds = c->ds[1], rds = c->ds[2], cds = c->ds[3];                                \
        const bool idx64 = c->idx64, dim_inner = c->dim_inner, scale = c->scale;                                     \
        const ct__scatter_op op = c->op;                                                                             \
        T alpha;                                                                                                     \
        memcpy(&alpha, c->alpha, sizeof alpha);                                                                      \
        if (!c->include_self) {                                                                                      \
            T start = identity_##NAME(op);                                                                           \
            LINE_LOOP(dim_inner, len, ncols, {                                                                       \
                int64_t idx = dest_index(load_index(index + i * xds + j * xs, idx64), bound);                        \
                *(T *)(self + idx * sds + j * ss) = start;                                                           \
            });                                                                                                      \
        }                                                                                                            \
        if (op == CT__SCATTER_SUM && !dim_inner && xs == 0 && ss == (int64_t)sizeof(T) && rs == ss) {               \
            /* index_add_ along an outer dim: one index per row, whole rows added (vectorised) */                    \
            for (int64_t i = 0; i < len; i++) {                                                                      \
                int64_t idx = dest_index(load_index(index + i * xds, idx64), bound);                                 \
                row_add_##NAME((T *)(self + idx * sds), (const T *)(src + i * rds), ncols, scale, alpha);            \
            }                                                                                                        \
            return;                                                                                                  \
        }                                                                                                            \
        switch (op) { /* one loop per reduction: no switch per element */                                            \
        case CT__SCATTER_SUM: SCATTER_PASS(T, MUL, *d = ADD(*d, s)); break;                                          \
        case CT__SCATTER_MEAN:                                                                                       \
            SCATTER_PASS(T, MUL, *d = ADD(*d, s); (*(int64_t *)(count + idx * cds + j * cs))++);                     \
            break;                                                                                                   \
        case CT__SCATTER_PROD: SCATTER_PASS(T, MUL, *d = MUL(*d, s)); break;                                         \
        case CT__SCATTER_AMAX: SCATTER_PASS(T, MUL, *d = MAX(*d, s)); break;                                         \
        case CT__SCATTER_AMIN: SCATTER_PASS(T, MUL, *d = MIN(*d, s)); break;                                         \
        default: SCATTER_PASS(T, MUL, *d = s); break;                                                                \
        }                                                                                                            \
    }                                                                                                                \
    static void mean_finish_##NAME(char **p, const int64_t *step, int64_t n, void *vctx) {                           \
        int64_t extra = *(const bool *)vctx ? 1 : 0;                                                                 \
        for (int64_t i = 0; i < n; i++) {                                                                            \
            int64_t count = *(const int64_t *)(p[1] + i * step[1]);                                                  \
            T *d = (T *)(p[0] + i * step[0]);                                                                        \
            if (count > 0) *d = DIV(T, *d, count + extra);                                                           \
        }                                                                                                            \
    }

DEFINE_SCATTER_TYPE(f32, float, ADD_FLOAT, MUL_FLOAT, MAX_FLOAT, MIN_FLOAT, -INFINITY, INFINITY, DIV_FLOAT)
DEFINE_SCATTER_TYPE(f64, double, ADD_FLOAT, MUL_FLOAT, MAX_FLOAT, MIN_FLOAT, -INFINITY, INFINITY, DIV_FLOAT)
DEFINE_SCATTER_TYPE(i64, int64_t, ADD_I64, MUL_I64, MAX_INT, MIN_INT, INT64_MIN, INT64_MAX, DIV_FLOOR)
DEFINE_SCATTER_TYPE(i32, int32_t, ADD_I32, MUL_I32, MAX_INT, MIN_INT, INT32_MIN, INT32_MAX, DIV_FLOOR)
DEFINE_SCATTER_TYPE(u8, uint8_t, ADD_U8, MUL_U8, MAX_INT, MIN_INT, 0, UINT8_MAX, DIV_FLOOR)
DEFINE_SCATTER_TYPE(b8, uint8_t, OR_BOOL, AND_BOOL, OR_BOOL, AND_BOOL, 0, 1, DIV_FLOOR)

typedef struct scatter_kernels {
    block_fn block;
    ct__inner_loop mean_finish;
} scatter_kernels;

static scatter_kernels kernels_for(ct_dtype dtype) {
    switch (dtype) {
    case CT_FLOAT32: return (scatter_kernels){scatter_block_f32, mean_finish_f32};
    case CT_FLOAT64: return (scatter_kernels){scatter_block_f64, mean_finish_f64};
    case CT_INT64: return (scatter_kernels){scatter_block_i64, mean_finish_i64};
    case CT_INT32: return (scatter_kernels){scatter_block_i32, mean_finish_i32};
    case CT_UINT8: return (scatter_kernels){scatter_block_u8, mean_finish_u8};
    case CT_BOOL: return (scatter_kernels){scatter_block_b8, mean_finish_b8};
    default: return (scatter_kernels){NULL, NULL};
    }
}

static ct__scalar scalar_of(double v) { return (ct__scalar){true, v, 0}; }

ct_status ct__cpu_scatter(const ct__scatter_args *a, ct__bad_index *bad) {
    const ct__view *iv = &a->index;
    for (int d = 0; d < iv->ndim; d++)
        if (iv->shape[d] == 0) return CT_OK;
    scatter_kernels k = kernels_for(a->self.dtype);
    if (!k.block) return CT_FAIL(CT_ERR_NOT_IMPLEMENTED, "scatter on %s", ct_dtype_name(a->self.dtype));
    check_indices(a, bad);
    if (bad->found) return CT_ERR_INDEX;
    _Alignas(8) unsigned char value[8] = {0};
    ct__view src = a->src;
    if (!src.data) { /* the value form: a one-element source repeated everywhere */
        ct__store_scalar(value, a->self.dtype, scalar_of(a->value));
        src = a->self;
        src.data = value;
        for (int d = 0; d < CT_MAX_DIMS; d++) src.stride[d] = 0;
    }
    ct__view count = a->op == CT__SCATTER_MEAN ? a->count : a->self; /* only dereferenced for mean */
    ct__view views[4] = {a->self, *iv, src, count};
    lines L;
    lines_init(&L, iv->ndim, iv->shape, a->dim, 4, views);
    scatter_ctx c = {iv->shape[a->dim], {0}, a->self.shape[a->dim], iv->dtype == CT_INT64, a->wrap_negative, false,
                     a->include_self || a->op == CT__SCATTER_ASSIGN, a->alpha != 1.0, a->op, {0}};
    for (int v = 0; v < 4; v++) c.ds[v] = views[v].stride[a->dim] * (int64_t)ct_dtype_size(views[v].dtype);
    c.dim_inner = L.n == 0 || llabs(c.ds[0]) <= llabs(col_step_of(&L, 0));
    ct__store_scalar(c.alpha, a->self.dtype, scalar_of(a->alpha));
    /* index_add_ along an outer dim adds whole rows (scatter_block_*'s fast path): wide blocks */
    bool rows = a->op == CT__SCATTER_SUM && c.include_self && !c.dim_inner && L.n > 0 && col_step_of(&L, 1) == 0 &&
                col_step_of(&L, 0) == (int64_t)ct_dtype_size(a->self.dtype) && col_step_of(&L, 2) == col_step_of(&L, 0);
    lines_run(&L, c.len, k.block, &c, rows);
    if (a->op == CT__SCATTER_MEAN) {
        ct__view finish[2] = {a->self, a->count};
        bool include_self = a->include_self;
        ct__cpu_for_each(2, finish, k.mean_finish, &include_self);
    }
    return CT_OK;
}

/* ---- masked select --------------------------------------------------------------------------------------------- */

static void count_loop(char **p, const int64_t *step, int64_t n, void *ctx) {
    int64_t found = 0;
    for (int64_t i = 0; i < n; i++) found += *(const uint8_t *)(p[0] + i * step[0]) != 0;
#pragma omp atomic
    *(int64_t *)ctx += found;
}

ct_status ct__cpu_masked_count(ct__view mask, ct__view workspace, int64_t *count) {
    *count = 0;
    ct__cpu_for_each(1, &mask, count_loop, count);
    return CT_OK;
}

/* Whether v is laid out row-major without gaps (size-1 dims aside). */
static bool row_major(const ct__view *v) {
    int64_t expect = 1;
    for (int d = v->ndim - 1; d >= 0; d--) {
        if (v->shape[d] != 1 && v->stride[d] != expect) return false;
        expect *= v->shape[d];
    }
    return true;
}

/* Contiguous input and mask: each element is stored at the output's next position and the position advances when
 * its mask byte is set, with no branch to mispredict. A block of BLOCK elements writes at most BLOCK positions past
 * the current one, so blocks run that way while the output has that much room left, and the rest one by one. */
#define COMPACT_BLOCK 64
#define DEFINE_COMPACT(T)                                                                                             \
    static void compact_##T(T *restrict o, int64_t capacity, const T *restrict in, const uint8_t *restrict m,      \
                            int64_t n) {                                                                             \
        int64_t w = 0, i = 0;                                                                                        \
        for (; i + COMPACT_BLOCK <= n && capacity - w >= COMPACT_BLOCK; i += COMPACT_BLOCK)                          \
            for (int64_t k = i; k < i + COMPACT_BLOCK; k++) {                                                        \
                o[w] = in[k];                                                                                        \
                w += m[k] != 0;                                                                                      \
            }                                                                                                        \
        for (; i < n; i++)                                                                                           \
            if (m[i]) o[w++] = in[i];                                                                                \
    }
DEFINE_COMPACT(uint8_t)
DEFINE_COMPACT(uint32_t)
DEFINE_COMPACT(uint64_t)

/* Row-major and serial: the output position of an element is the number of true mask elements before it. */
ct_status ct__cpu_masked_select(ct__view out, ct__view input, ct__view mask, ct__view workspace) {
    int64_t n = 1, coord[CT_MAX_DIMS] = {0}, in_off = 0, mask_off = 0, written = 0;
    for (int d = 0; d < input.ndim; d++) n *= input.shape[d];
    size_t es = ct_dtype_size(input.dtype);
    if (row_major(&input) && row_major(&mask) && (es == 1 || es == 4 || es == 8)) {
        int64_t capacity = out.ndim ? out.shape[0] : 1;
        if (es == 1) compact_uint8_t(out.data, capacity, input.data, mask.data, n);
        else if (es == 4) compact_uint32_t(out.data, capacity, input.data, mask.data, n);
        else compact_uint64_t(out.data, capacity, input.data, mask.data, n);
        return CT_OK;
    }
    const char *in = input.data;
    const uint8_t *m = mask.data;
    char *o = out.data;
    for (int64_t e = 0; e < n; e++) {
        if (m[mask_off]) memcpy(o + (size_t)written++ * es, in + in_off * (int64_t)es, es);
        for (int d = input.ndim - 1; d >= 0; d--) { /* the next coordinate, last dim fastest */
            in_off += input.stride[d];
            mask_off += mask.stride[d];
            if (++coord[d] < input.shape[d]) break;
            in_off -= input.stride[d] * input.shape[d];
            mask_off -= mask.stride[d] * mask.shape[d];
            coord[d] = 0;
        }
    }
    return CT_OK;
}
