/* CPU kernels of the reduce family (kernels/reduce.h): reductions over a ct__reduce_geom, scans, softmax.
 *
 * Reductions run one of two plans, picked from the strides:
 *  - inner: each output walks its own reduced elements (runs along the innermost reduced dim). Used when a
 *    reduced dim has the smallest stride, e.g. a sum over the last dim or over everything.
 *  - outer: the kept innermost dim has the smallest stride (a sum over the first dim of a row-major matrix). A
 *    group of up to GROUP_BLOCKS x BLOCK neighbouring outputs keeps its accumulators in cache and, for each reduced
 *    position, sweeps along memory updating them a BLOCK at a time, so the loops run along memory and vectorise.
 * The general path loads elements a chunk at a time into a small buffer of doubles (int64 for the exact integer
 * ops), so each op is written once over plain arrays instead of once per dtype; it accumulates floating types in
 * double and integers in wrapping int64. The hot float32/float64 cases skip the buffers (reduce_vec.h has the
 * kernels): sum, mean, prod, amax, amin, max, min and logsumexp over contiguous runs (inner plan; a line per output
 * is written straight to the output), and sum, mean, amax and amin over an outer dim when the kept innermost dim is
 * contiguous (outer plan: rows added into a row of accumulators). Float32 sums add short blocks in float32 vector
 * lanes and the block totals in double, which is both fast and more accurate than one float32 rounding needs.
 *
 * Parallelism: outputs (or blocks of them) are spread over the CPU pool's threads (parallel.h), in chunks worth
 * at least PARALLEL_MIN elements. When there are few of them, the reduced range is also split into parts that are
 * reduced separately and combined in order. The number of parts depends on the sizes alone, so a result does not
 * change with the number of threads.
 *
 * Scans and softmax see contiguous [outer, n, inner] tensors; the inner dim is handled in blocks so the loops
 * along it vectorise. Softmax subtracts the line's maximum before exponentiating; for float32/float64 it runs
 * three vectorised passes (max, fused exp + sum, scale) with the exponential in the input's type. */
#pragma GCC optimize("no-trapping-math") /* lets the branch-free selects of exp_nonpositive_f32 vectorise */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clones.h"
#include "cpu_iter.h"
#include "kernels/reduce.h"
#include "parallel.h"
#include "reduce_vec.h"

#define BLOCK 64        /* outputs updated together by the outer plan; inner-dim block of scans and softmax */
#define CHUNK 256       /* elements loaded at once */
#define LANES 8         /* independent accumulators of the inner sums */
#define PART_MIN 32768  /* fewest elements worth a part of their own */
#define MAX_PARTS 64
#define OUTER_PART_MIN 131072 /* the same for the outer plan, whose parts cost a row of slots each to set up and combine */
#define PARALLEL_MIN 32768
#define GROUP_BLOCKS 32 /* blocks of BLOCK outputs swept together by the outer plan (see make_plan) */
#define SOFTMAX_COLUMNS 256 /* neighbouring lines a softmax over an outer dim handles together */

/* ---- loading and storing chunks ------------------------------------------------------------------------------ */

#define LOAD_LOOP(T, EXPR)                                                           \
    do {                                                                             \
        if (step == (int64_t)sizeof(T)) {                                            \
            const T *q = (const T *)p;                                               \
            for (int64_t i = 0; i < m; i++) out[i] = EXPR(q[i]);                     \
        } else {                                                                     \
            for (int64_t i = 0; i < m; i++) out[i] = EXPR(*(const T *)(p + i * step)); \
        }                                                                            \
    } while (0)
#define AS_DOUBLE(v) ((double)(v))
#define AS_INT64(v) ((int64_t)(v))
#define AS_BIT(v) ((v) != 0)

/* m elements of dtype from p, `step` bytes apart, as doubles (the conversions vectorise: clones.h). */
CT__LOOP_CLONES static void load_f64(const char *p, int64_t step, ct_dtype dtype, int64_t m, double *out) {
    switch (dtype) {
    case CT_FLOAT32: LOAD_LOOP(float, AS_DOUBLE); break;
    case CT_FLOAT64: LOAD_LOOP(double, AS_DOUBLE); break;
    case CT_INT64: LOAD_LOOP(int64_t, AS_DOUBLE); break;
    case CT_INT32: LOAD_LOOP(int32_t, AS_DOUBLE); break;
    case CT_UINT8: LOAD_LOOP(uint8_t, AS_DOUBLE); break;
    case CT_BOOL: LOAD_LOOP(uint8_t, AS_BIT); break;
    default: break;
    }
}

/* m elements of an integer or bool dtype, exactly, as int64. */
CT__LOOP_CLONES static void load_i64(const char *p, int64_t step, ct_dtype dtype, int64_t m, int64_t *out) {
    switch (dtype) {
    case CT_INT64: LOAD_LOOP(int64_t, AS_INT64); break;
    case CT_INT32: LOAD_LOOP(int32_t, AS_INT64); break;
    case CT_UINT8: LOAD_LOOP(uint8_t, AS_INT64); break;
    case CT_BOOL: LOAD_LOOP(uint8_t, AS_BIT); break;
    default: break;
    }
}

/* m contiguous values into a contiguous float32, float64 or int64 tensor at element `at`. */
static void store_f64(ct__view out, int64_t at, const double *x, int64_t m) {
    if (out.dtype == CT_FLOAT32)
        for (int64_t i = 0; i < m; i++) ((float *)out.data)[at + i] = (float)x[i];
    else
        for (int64_t i = 0; i < m; i++) ((double *)out.data)[at + i] = x[i];
}

static void store_i64(ct__view out, int64_t at, const uint64_t *x, int64_t m) {
    for (int64_t i = 0; i < m; i++) ((int64_t *)out.data)[at + i] = (int64_t)x[i];
}

/* ---- accumulators ------------------------------------------------------------------------------------------------ */

/* The accumulators of up to BLOCK outputs, as separate arrays so the outer plan's loops vectorise.
 *   sum, mean, prod, norms:  v (double) or u (integer sum/product, wrapping)
 *   amax, amin:              v, or u holding the int64 bits
 *   max, min (with index):   v or u, and n = index of the first occurrence (-1: nothing seen yet)
 *   var, std:                n = count, v = mean, w = sum of squared deviations (Chan et al.'s merge)
 *   logsumexp:               v = running maximum, w = sum of exp(x - shift(v))
 *   count_nonzero, all, any: u = count */
typedef struct acc_block {
    double v[BLOCK], w[BLOCK];
    int64_t n[BLOCK];
    uint64_t u[BLOCK];
} acc_block;

typedef enum norm_kind { NORM_1, NORM_2, NORM_INF, NORM_NEG_INF, NORM_0, NORM_P } norm_kind;

typedef struct reducer {
    ct__reduce_op op;
    bool integer; /* exact int64 path: integer/bool input and an op whose result stays integer */
    bool largest; /* max/amax rather than min/amin */
    norm_kind norm;
    double param; /* the norm's order, or var/std's correction */
    const ct__reduce_geom *g;
    const char *in;
    ct_dtype dtype;
    int64_t esize;
    ct__view out, out2;
} reducer;

static void init_slot(const reducer *r, acc_block *b, int j) {
    b->v[j] = 0, b->w[j] = 0, b->n[j] = 0, b->u[j] = 0;
    switch (r->op) {
    case CT__RED_PROD: b->v[j] = 1, b->u[j] = 1; break;
    case CT__RED_AMAX: b->v[j] = -INFINITY, b->u[j] = (uint64_t)INT64_MIN; break;
    case CT__RED_AMIN: b->v[j] = INFINITY, b->u[j] = (uint64_t)INT64_MAX; break;
    case CT__RED_MAX:
    case CT__RED_MIN: b->n[j] = -1; break;
    case CT__RED_LOGSUMEXP: b->v[j] = -INFINITY; break;
    case CT__RED_NORM: b->v[j] = r->norm == NORM_NEG_INF ? INFINITY : 0; break;
    default: break;
    }
}

/* NaN-propagating maximum and minimum (a NaN, once in, stays). */
static inline double nan_max(double acc, double x) { return (x > acc || x != x) ? x : acc; }
static inline double nan_min(double acc, double x) { return (x < acc || x != x) ? x : acc; }

/* Whether x replaces best as the max (min): larger (smaller), or a NaN over a number. Ties keep the earlier. */
static inline bool beats(double x, double best, bool largest) {
    if (x != x) return best == best;
    return largest ? x > best : x < best;
}
static inline bool beats_int(int64_t x, int64_t best, bool largest) { return largest ? x > best : x < best; }

static inline double lse_shift(double m) { return isfinite(m) ? m : 0; }
/* s, a sum of exp(x - shift(m)), re-expressed against the shift t. */
static inline double lse_rescale(double s, double m, double t) { return s == 0 ? 0 : s * exp(lse_shift(m) - t); }

static void merge_lse(acc_block *b, int j, double m2, double s2) {
    double m = nan_max(b->v[j], m2), t = lse_shift(m);
    b->w[j] = lse_rescale(b->w[j], b->v[j], t) + lse_rescale(s2, m2, t);
    b->v[j] = m;
}

static void merge_moments(acc_block *b, int j, int64_t nb, double mean_b, double m2_b) {
    int64_t na = b->n[j];
    if (nb == 0) return;
    if (na == 0) {
        b->n[j] = nb, b->v[j] = mean_b, b->w[j] = m2_b;
        return;
    }
    double n = (double)(na + nb), delta = mean_b - b->v[j];
    b->v[j] += delta * ((double)nb / n);
    b->w[j] += m2_b + delta * delta * ((double)na * (double)nb / n);
    b->n[j] = na + nb;
}

/* Combines slot jb of b (a later part of the reduced range) into slot ja of a. */
static void combine_slot(const reducer *r, acc_block *a, int ja, const acc_block *b, int jb) {
    switch (r->op) {
    case CT__RED_PROD: a->v[ja] *= b->v[jb], a->u[ja] *= b->u[jb]; break;
    case CT__RED_AMAX:
    case CT__RED_AMIN:
        if (r->integer) {
            int64_t x = (int64_t)b->u[jb];
            if (beats_int(x, (int64_t)a->u[ja], r->largest)) a->u[ja] = b->u[jb];
        } else {
            a->v[ja] = r->largest ? nan_max(a->v[ja], b->v[jb]) : nan_min(a->v[ja], b->v[jb]);
        }
        break;
    case CT__RED_MAX:
    case CT__RED_MIN: {
        if (b->n[jb] < 0) break;
        bool take = a->n[ja] < 0 || (r->integer ? beats_int((int64_t)b->u[jb], (int64_t)a->u[ja], r->largest)
                                                : beats(b->v[jb], a->v[ja], r->largest));
        if (take) a->v[ja] = b->v[jb], a->u[ja] = b->u[jb], a->n[ja] = b->n[jb];
        break;
    }
    case CT__RED_VAR:
    case CT__RED_STD: merge_moments(a, ja, b->n[jb], b->v[jb], b->w[jb]); break;
    case CT__RED_LOGSUMEXP: merge_lse(a, ja, b->v[jb], b->w[jb]); break;
    case CT__RED_NORM:
        if (r->norm == NORM_INF) a->v[ja] = nan_max(a->v[ja], b->v[jb]);
        else if (r->norm == NORM_NEG_INF) a->v[ja] = nan_min(a->v[ja], b->v[jb]);
        else a->v[ja] += b->v[jb];
        break;
    default: a->v[ja] += b->v[jb], a->u[ja] += b->u[jb]; break; /* sums and counts */
    }
}

/* ---- one chunk into one accumulator (inner plan) ---------------------------------------------------------------- */

static double sum_of(const double *x, int64_t m) {
    double lane[LANES] = {0}, s = 0;
    int64_t i = 0;
    for (; i + LANES <= m; i += LANES)
        for (int k = 0; k < LANES; k++) lane[k] += x[i + k];
    for (; i < m; i++) s += x[i];
    for (int k = 0; k < LANES; k++) s += lane[k];
    return s;
}

static double prod_of(const double *x, int64_t m) {
    double lane[LANES] = {1, 1, 1, 1, 1, 1, 1, 1}, s = 1;
    int64_t i = 0;
    for (; i + LANES <= m; i += LANES)
        for (int k = 0; k < LANES; k++) lane[k] *= x[i + k];
    for (; i < m; i++) s *= x[i];
    for (int k = 0; k < LANES; k++) s *= lane[k];
    return s;
}

static double max_of(const double *x, int64_t m, double acc) {
    double lane[LANES];
    int64_t i = 0;
    for (int k = 0; k < LANES; k++) lane[k] = acc;
    for (; i + LANES <= m; i += LANES)
        for (int k = 0; k < LANES; k++) lane[k] = nan_max(lane[k], x[i + k]);
    for (; i < m; i++) acc = nan_max(acc, x[i]);
    for (int k = 0; k < LANES; k++) acc = nan_max(acc, lane[k]);
    return acc;
}

static double min_of(const double *x, int64_t m, double acc) {
    double lane[LANES];
    int64_t i = 0;
    for (int k = 0; k < LANES; k++) lane[k] = acc;
    for (; i + LANES <= m; i += LANES)
        for (int k = 0; k < LANES; k++) lane[k] = nan_min(lane[k], x[i + k]);
    for (; i < m; i++) acc = nan_min(acc, x[i]);
    for (int k = 0; k < LANES; k++) acc = nan_min(acc, lane[k]);
    return acc;
}

/* Moments of the chunk by two passes over it (it is in L1), merged into the running ones. */
static void chunk_moments(acc_block *b, int j, const double *x, int64_t m) {
    double mean = sum_of(x, m) / (double)m, lane[LANES] = {0}, m2 = 0;
    int64_t i = 0;
    for (; i + LANES <= m; i += LANES)
        for (int k = 0; k < LANES; k++) lane[k] += (x[i + k] - mean) * (x[i + k] - mean);
    for (; i < m; i++) m2 += (x[i] - mean) * (x[i] - mean);
    for (int k = 0; k < LANES; k++) m2 += lane[k];
    merge_moments(b, j, m, mean, m2);
}

static void chunk_logsumexp(acc_block *b, int j, double *x, int64_t m) {
    double mx = max_of(x, m, -INFINITY), t = lse_shift(mx);
    for (int64_t i = 0; i < m; i++) x[i] = exp(x[i] - t);
    merge_lse(b, j, mx, sum_of(x, m));
}

static void chunk_norm(const reducer *r, acc_block *b, int j, double *x, int64_t m) {
    switch (r->norm) {
    case NORM_1: for (int64_t i = 0; i < m; i++) x[i] = fabs(x[i]); break;
    case NORM_2: for (int64_t i = 0; i < m; i++) x[i] = x[i] * x[i]; break;
    case NORM_0: for (int64_t i = 0; i < m; i++) x[i] = x[i] != 0; break;
    case NORM_P: for (int64_t i = 0; i < m; i++) x[i] = pow(fabs(x[i]), r->param); break;
    case NORM_INF:
        for (int64_t i = 0; i < m; i++) b->v[j] = nan_max(b->v[j], fabs(x[i]));
        return;
    case NORM_NEG_INF:
        for (int64_t i = 0; i < m; i++) b->v[j] = nan_min(b->v[j], fabs(x[i]));
        return;
    }
    b->v[j] += sum_of(x, m);
}

/* x[0..m) are the elements with indices first, first+1, ... of output slot j. */
static void chunk_f64(const reducer *r, acc_block *b, int j, double *x, int64_t m, int64_t first) {
    switch (r->op) {
    case CT__RED_SUM:
    case CT__RED_MEAN: b->v[j] += sum_of(x, m); break;
    case CT__RED_PROD: b->v[j] *= prod_of(x, m); break;
    case CT__RED_AMAX: b->v[j] = max_of(x, m, b->v[j]); break;
    case CT__RED_AMIN: b->v[j] = min_of(x, m, b->v[j]); break;
    case CT__RED_MAX:
    case CT__RED_MIN:
        for (int64_t i = 0; i < m; i++)
            if (b->n[j] < 0 || beats(x[i], b->v[j], r->largest)) b->v[j] = x[i], b->n[j] = first + i;
        break;
    case CT__RED_VAR:
    case CT__RED_STD: chunk_moments(b, j, x, m); break;
    case CT__RED_LOGSUMEXP: chunk_logsumexp(b, j, x, m); break;
    case CT__RED_NORM: chunk_norm(r, b, j, x, m); break;
    default: /* counts */
        for (int64_t i = 0; i < m; i++) b->u[j] += x[i] != 0;
        break;
    }
}

static void chunk_i64(const reducer *r, acc_block *b, int j, const int64_t *x, int64_t m, int64_t first) {
    uint64_t acc = b->u[j];
    switch (r->op) {
    case CT__RED_SUM:
        for (int64_t i = 0; i < m; i++) acc += (uint64_t)x[i];
        break;
    case CT__RED_PROD:
        for (int64_t i = 0; i < m; i++) acc *= (uint64_t)x[i];
        break;
    case CT__RED_AMAX:
    case CT__RED_AMIN:
        for (int64_t i = 0; i < m; i++)
            if (beats_int(x[i], (int64_t)acc, r->largest)) acc = (uint64_t)x[i];
        break;
    case CT__RED_MAX:
    case CT__RED_MIN:
        for (int64_t i = 0; i < m; i++)
            if (b->n[j] < 0 || beats_int(x[i], (int64_t)acc, r->largest)) acc = (uint64_t)x[i], b->n[j] = first + i;
        break;
    default: /* counts */
        for (int64_t i = 0; i < m; i++) acc += x[i] != 0;
        break;
    }
    b->u[j] = acc;
}

/* ---- one reduced position into m accumulators (outer plan) ------------------------------------------------------- */

static void step_f64(const reducer *r, acc_block *b, const double *x, int64_t m, int64_t pos) {
    switch (r->op) {
    case CT__RED_SUM:
    case CT__RED_MEAN: for (int64_t j = 0; j < m; j++) b->v[j] += x[j]; break;
    case CT__RED_PROD: for (int64_t j = 0; j < m; j++) b->v[j] *= x[j]; break;
    case CT__RED_AMAX: for (int64_t j = 0; j < m; j++) b->v[j] = nan_max(b->v[j], x[j]); break;
    case CT__RED_AMIN: for (int64_t j = 0; j < m; j++) b->v[j] = nan_min(b->v[j], x[j]); break;
    case CT__RED_MAX:
    case CT__RED_MIN:
        for (int64_t j = 0; j < m; j++)
            if (b->n[j] < 0 || beats(x[j], b->v[j], r->largest)) b->v[j] = x[j], b->n[j] = pos;
        break;
    case CT__RED_VAR:
    case CT__RED_STD: /* Welford's update; every slot has seen the same count */
        for (int64_t j = 0; j < m; j++) {
            double d = x[j] - b->v[j];
            b->n[j]++;
            b->v[j] += d / (double)b->n[j];
            b->w[j] += d * (x[j] - b->v[j]);
        }
        break;
    case CT__RED_LOGSUMEXP:
        for (int64_t j = 0; j < m; j++) merge_lse(b, (int)j, x[j], exp(x[j] - lse_shift(x[j])));
        break;
    case CT__RED_NORM:
        if (r->norm == NORM_INF || r->norm == NORM_NEG_INF) {
            for (int64_t j = 0; j < m; j++)
                b->v[j] = r->norm == NORM_INF ? nan_max(b->v[j], fabs(x[j])) : nan_min(b->v[j], fabs(x[j]));
            break;
        }
        for (int64_t j = 0; j < m; j++) {
            double a = fabs(x[j]);
            b->v[j] += r->norm == NORM_1 ? a : r->norm == NORM_2 ? a * a : r->norm == NORM_0 ? (a != 0) : pow(a, r->param);
        }
        break;
    default:
        for (int64_t j = 0; j < m; j++) b->u[j] += x[j] != 0;
        break;
    }
}

static void step_i64(const reducer *r, acc_block *b, const int64_t *x, int64_t m, int64_t pos) {
    switch (r->op) {
    case CT__RED_SUM: for (int64_t j = 0; j < m; j++) b->u[j] += (uint64_t)x[j]; break;
    case CT__RED_PROD: for (int64_t j = 0; j < m; j++) b->u[j] *= (uint64_t)x[j]; break;
    case CT__RED_AMAX:
    case CT__RED_AMIN:
        for (int64_t j = 0; j < m; j++)
            if (beats_int(x[j], (int64_t)b->u[j], r->largest)) b->u[j] = (uint64_t)x[j];
        break;
    case CT__RED_MAX:
    case CT__RED_MIN:
        for (int64_t j = 0; j < m; j++)
            if (b->n[j] < 0 || beats_int(x[j], (int64_t)b->u[j], r->largest)) b->u[j] = (uint64_t)x[j], b->n[j] = pos;
        break;
    default:
        for (int64_t j = 0; j < m; j++) b->u[j] += x[j] != 0;
        break;
    }
}

/* ---- finishing -------------------------------------------------------------------------------------------------- */

static void store_at(ct__view v, int64_t o, ct__scalar s) {
    if (v.data) ct__store_scalar((char *)v.data + o * (int64_t)ct_dtype_size(v.dtype), v.dtype, s);
}

static ct__scalar real(double f) { return (ct__scalar){true, f, 0}; }
static ct__scalar whole(int64_t i) { return (ct__scalar){false, (double)i, i}; }

static double norm_result(const reducer *r, double v) {
    if (r->norm == NORM_2) return sqrt(v);
    if (r->norm == NORM_P) return pow(v, 1.0 / r->param);
    return v;
}

/* Writes the result of slot j into output o. */
static void finish_slot(const reducer *r, const acc_block *b, int j, int64_t o) {
    ct__scalar value = r->integer ? whole((int64_t)b->u[j]) : real(b->v[j]);
    switch (r->op) {
    case CT__RED_MEAN: value = real(b->v[j] / (double)r->g->nred); break;
    case CT__RED_MAX:
    case CT__RED_MIN: store_at(r->out2, o, whole(b->n[j])); break;
    case CT__RED_VAR:
    case CT__RED_STD: {
        double dof = (double)b->n[j] - r->param, var = b->w[j] / (dof > 0 ? dof : 0);
        value = real(r->op == CT__RED_STD ? sqrt(var) : var);
        store_at(r->out2, o, real(b->n[j] ? b->v[j] : NAN));
        break;
    }
    case CT__RED_LOGSUMEXP: value = real(isnan(b->v[j]) ? NAN : log(b->w[j]) + lse_shift(b->v[j])); break;
    case CT__RED_NORM: value = real(norm_result(r, b->v[j])); break;
    case CT__RED_COUNT_NONZERO: value = whole((int64_t)b->u[j]); break;
    case CT__RED_ALL: value = whole(b->u[j] == (uint64_t)r->g->nred); break;
    case CT__RED_ANY: value = whole(b->u[j] > 0); break;
    default: break;
    }
    store_at(r->out, o, value);
}

/* ---- contiguous float32 / float64 runs (the kernels are in reduce_vec.h) ------------------------------------- */

/* Whether r's op has a vectorised path over contiguous runs of its dtype. */
static bool has_fast_run(const reducer *r) {
    if (r->dtype != CT_FLOAT32 && r->dtype != CT_FLOAT64) return false;
    switch (r->op) {
    case CT__RED_SUM:
    case CT__RED_MEAN:
    case CT__RED_PROD:
    case CT__RED_AMAX:
    case CT__RED_AMIN:
    case CT__RED_MAX:
    case CT__RED_MIN:
    case CT__RED_LOGSUMEXP: return true;
    default: return false;
    }
}

/* Whether the outer plan has a vectorised row-of-accumulators path for r (contiguous kept innermost dim). */
static bool has_fast_columns(const reducer *r) {
    return (r->dtype == CT_FLOAT32 || r->dtype == CT_FLOAT64) &&
           (r->op == CT__RED_SUM || r->op == CT__RED_MEAN || r->op == CT__RED_AMAX || r->op == CT__RED_AMIN);
}

/* Whether the outer plan has a vectorised path for max / min with indices (f32_columns: values and first indices
 * kept in the generic slots, so initialising, combining and finishing stay the general code's). */
static bool has_fast_arg_columns(const reducer *r) {
    return (r->dtype == CT_FLOAT32 || r->dtype == CT_FLOAT64) && (r->op == CT__RED_MAX || r->op == CT__RED_MIN);
}

/* Odometer step over the reduced dims: the next reduced position's element offset. */
static inline void next_position(const ct__reduce_geom *g, int64_t *idx, int64_t *off) {
    for (int d = g->nreduced - 1; d >= 0; d--) {
        *off += g->red_stride[d];
        if (++idx[d] < g->red_shape[d]) return;
        *off -= g->red_stride[d] * g->red_shape[d];
        idx[d] = 0;
    }
}

#define FAST_PATHS(S, T)                                                                                            \
    /* The m contiguous elements x (reduced positions first, first + 1, ...) into slot 0 of b. */                  \
    static void S##_run(const reducer *r, acc_block *b, const T *x, int64_t m, int64_t first) {                     \
        switch (r->op) {                                                                                            \
        case CT__RED_SUM:                                                                                           \
        case CT__RED_MEAN: b->v[0] += S##_sum(x, m); break;                                                         \
        case CT__RED_PROD: b->v[0] *= S##_prod(x, m); break;                                                        \
        case CT__RED_AMAX: b->v[0] = nan_max(b->v[0], S##_extreme(x, m, x[0], true)); break;                        \
        case CT__RED_AMIN: b->v[0] = nan_min(b->v[0], S##_extreme(x, m, x[0], false)); break;                       \
        case CT__RED_MAX:                                                                                           \
        case CT__RED_MIN: {                                                                                         \
            T best = S##_extreme(x, m, x[0], r->largest);                                                           \
            if (b->n[0] < 0 || beats(best, b->v[0], r->largest))                                                    \
                b->v[0] = best, b->n[0] = first + S##_first_of(x, m, best);                                         \
            break;                                                                                                  \
        }                                                                                                           \
        case CT__RED_LOGSUMEXP:                                                                                     \
            for (int64_t c = 0; c < m; c += CASCADE) {                                                              \
                int64_t w = m - c < CASCADE ? m - c : CASCADE;                                                      \
                T mx = S##_extreme(x + c, w, (T)-INFINITY, true);                                                   \
                if (isfinite(mx)) {                                                                                 \
                    merge_lse(b, 0, mx, S##_exp_sum(NULL, x + c, w, mx));                                           \
                    continue;                                                                                       \
                }                                                                                                   \
                double buf[CHUNK]; /* an infinity or NaN: the general path */                                       \
                for (int64_t q = 0; q < w; q += CHUNK) {                                                            \
                    int64_t k = w - q < CHUNK ? w - q : CHUNK;                                                      \
                    load_f64((const char *)(x + c + q), (int64_t)sizeof(T), r->dtype, k, buf);                      \
                    chunk_logsumexp(b, 0, buf, k);                                                                  \
                }                                                                                                   \
            }                                                                                                       \
            break;                                                                                                  \
        default: break;                                                                                             \
        }                                                                                                           \
    }                                                                                                               \
                                                                                                                    \
    /* Sum, mean, amax or amin of one contiguous line of n > 0 elements, written straight into out[o]. */          \
    static void S##_line(const reducer *r, const T *x, int64_t n, int64_t o) {                                      \
        double v = 0;                                                                                               \
        switch (r->op) {                                                                                            \
        case CT__RED_SUM: v = S##_sum(x, n); break;                                                                 \
        case CT__RED_MEAN: v = S##_sum(x, n) / (double)n; break;                                                    \
        case CT__RED_PROD: v = S##_prod(x, n); break;                                                               \
        case CT__RED_AMAX: v = S##_extreme(x, n, x[0], true); break;                                                \
        case CT__RED_AMIN: v = S##_extreme(x, n, x[0], false); break;                                               \
        default: break;                                                                                             \
        }                                                                                                           \
        ((T *)r->out.data)[o] = (T)v;                                                                               \
    }                                                                                                               \
                                                                                                                    \
    /* Outer plan, kept innermost dim contiguous: reduced positions [r0, r1) of the w = (nb - 1) * BLOCK + last    \
     * neighbouring outputs starting at base. Each position adds one row of w elements into a row of accumulators  \
     * of type T (four rows at once); every ROWS_CASCADE positions they join the blocks' doubles. */      \
    static void S##_columns(const reducer *r, acc_block *b, int64_t nb, int64_t last, const char *base, int64_t r0,  \
                            int64_t r1) {                                                                           \
        const ct__reduce_geom *g = r->g;                                                                            \
        int64_t w = (nb - 1) * BLOCK + last, idx[CT_MAX_DIMS], off = 0, rest = r0;                                  \
        bool sum = r->op == CT__RED_SUM || r->op == CT__RED_MEAN;                                                   \
        T acc[GROUP_BLOCKS * BLOCK], start = sum ? 0 : r->largest ? (T)-INFINITY : (T)INFINITY;                     \
        for (int d = g->nreduced - 1; d >= 0; d--) {                                                                \
            idx[d] = rest % g->red_shape[d];                                                                        \
            rest /= g->red_shape[d];                                                                                \
            off += idx[d] * g->red_stride[d];                                                                       \
        }                                                                                                           \
        if (r->op == CT__RED_MAX || r->op == CT__RED_MIN) { /* values and first indices, in the blocks' slots */    \
            int64_t at[GROUP_BLOCKS * BLOCK];                                                                       \
            for (int64_t j = 0; j < w; j++) acc[j] = (T)b[j / BLOCK].v[j % BLOCK], at[j] = b[j / BLOCK].n[j % BLOCK]; \
            for (int64_t pos = r0; pos < r1; pos++)                                                                 \
                S##_row_arg_extreme(acc, at, (const T *)base + off, w, pos, r->largest), next_position(g, idx, &off); \
            for (int64_t j = 0; j < w; j++) b[j / BLOCK].v[j % BLOCK] = acc[j], b[j / BLOCK].n[j % BLOCK] = at[j];  \
            return;                                                                                                 \
        }                                                                                                           \
        for (int64_t pos = r0; pos < r1;) {                                                                         \
            int64_t rows = r1 - pos < ROWS_CASCADE ? r1 - pos : ROWS_CASCADE, k = 0;                                \
            for (int64_t j = 0; j < w; j++) acc[j] = start;                                                         \
            if (sum) {                                                                                              \
                for (; k + 4 <= rows; k += 4) {                                                                     \
                    const T *p[4];                                                                                  \
                    for (int q = 0; q < 4; q++) p[q] = (const T *)base + off, next_position(g, idx, &off);          \
                    S##_row_add4(acc, p[0], p[1], p[2], p[3], w);                                                   \
                }                                                                                                   \
                for (; k < rows; k++) S##_row_add(acc, (const T *)base + off, w), next_position(g, idx, &off);      \
                for (int64_t j = 0; j < w; j++) b[j / BLOCK].v[j % BLOCK] += acc[j];                                \
            } else {                                                                                                \
                for (; k + 4 <= rows; k += 4) {                                                                     \
                    const T *p[4];                                                                                  \
                    for (int q = 0; q < 4; q++) p[q] = (const T *)base + off, next_position(g, idx, &off);          \
                    S##_row_extreme4(acc, p[0], p[1], p[2], p[3], w, r->largest);                                   \
                }                                                                                                   \
                for (; k < rows; k++)                                                                               \
                    S##_row_extreme(acc, (const T *)base + off, w, r->largest), next_position(g, idx, &off);        \
                for (int64_t j = 0; j < w; j++) {                                                                   \
                    double *v = &b[j / BLOCK].v[j % BLOCK];                                                         \
                    *v = r->largest ? nan_max(*v, acc[j]) : nan_min(*v, acc[j]);                                    \
                }                                                                                                   \
            }                                                                                                       \
            pos += rows;                                                                                            \
        }                                                                                                           \
    }

FAST_PATHS(f32, float)
FAST_PATHS(f64, double)

/* ---- walking the geometry ---------------------------------------------------------------------------------------- */

/* Element offset of output o's first element (kept dims first..last-1 of the geometry, row-major). */
static int64_t kept_offset(const ct__reduce_geom *g, int ndims, int64_t o) {
    int64_t off = 0;
    for (int d = ndims - 1; d >= 0; d--) {
        off += (o % g->kept_shape[d]) * g->kept_stride[d];
        o /= g->kept_shape[d];
    }
    return off;
}

/* The nonzero elements of x[0..n) of dtype (NaN counts, -0.0 does not; bool and uint8 by their bytes), for
 * count_nonzero, all and any over contiguous runs: one typed pass instead of loading doubles. Floats are tested as
 * their bits without the sign (an integer compare, which vectorises where a float compare, NaN-aware, does not). */
#define COUNT_LOOP(T, MASK)                                                                                          \
    do {                                                                                                             \
        const T *x = (const T *)p;                                                                                   \
        for (int64_t b = 0; b < n; b += 1 << 20) { /* int32 counts per block: they vectorise well */                \
            int64_t e = n - b < (1 << 20) ? n : b + (1 << 20);                                                       \
            int32_t c = 0;                                                                                           \
            _Pragma("omp simd reduction(+ : c)") for (int64_t i = b; i < e; i++) c += (x[i] & (MASK)) != 0;          \
            count += (uint64_t)c;                                                                                    \
        }                                                                                                            \
    } while (0)

CT__LOOP_CLONES static uint64_t count_nonzero_run(const char *p, int64_t n, ct_dtype dtype) {
    uint64_t count = 0;
    switch (dtype) {
    case CT_FLOAT32: COUNT_LOOP(uint32_t, 0x7fffffffu); break;
    case CT_FLOAT64: COUNT_LOOP(uint64_t, 0x7fffffffffffffffu); break;
    case CT_INT64: COUNT_LOOP(uint64_t, ~(uint64_t)0); break;
    case CT_INT32: COUNT_LOOP(uint32_t, ~(uint32_t)0); break;
    case CT_UINT8:
    case CT_BOOL: { /* byte lanes, each counting up to 255 rows of 64 bytes, then summed: no widening per byte */
        const uint8_t *x = (const uint8_t *)p;
        int64_t i = 0;
        while (n - i >= 64) {
            uint8_t lane[64] = {0};
            int64_t end = n - i >= 64 * 255 ? i + 64 * 255 : i + (n - i) / 64 * 64;
            for (; i < end; i += 64)
                _Pragma("omp simd") for (int k = 0; k < 64; k++) lane[k] = (uint8_t)(lane[k] + (x[i + k] != 0));
            for (int k = 0; k < 64; k++) count += lane[k];
        }
        for (; i < n; i++) count += x[i] != 0;
        break;
    }
    default: break;
    }
    return count;
}

static bool is_count(ct__reduce_op op) { return op == CT__RED_COUNT_NONZERO || op == CT__RED_ALL || op == CT__RED_ANY; }

/* Inner plan: reduced positions [r0, r1) of the output whose first element is at base, into slot 0 of b. */
static void reduce_run(const reducer *r, acc_block *b, const char *base, int64_t r0, int64_t r1) {
    const ct__reduce_geom *g = r->g;
    int nd = g->nreduced;
    int64_t len = nd ? g->red_shape[nd - 1] : 1, stride = nd ? g->red_stride[nd - 1] : 0;
    double x[CHUNK];
    int64_t xi[CHUNK];
    for (int64_t pos = r0; pos < r1;) {
        int64_t inner = pos % len, rest = pos / len, off = inner * stride;
        for (int d = nd - 2; d >= 0; d--) {
            off += (rest % g->red_shape[d]) * g->red_stride[d];
            rest /= g->red_shape[d];
        }
        int64_t run = len - inner < r1 - pos ? len - inner : r1 - pos;
        const char *p = base + off * r->esize;
        if (stride == 1 && has_fast_run(r)) {
            if (r->dtype == CT_FLOAT32) f32_run(r, b, (const float *)p, run, pos);
            else f64_run(r, b, (const double *)p, run, pos);
            pos += run;
            continue;
        }
        if (stride == 1 && is_count(r->op)) {
            b->u[0] += count_nonzero_run(p, run, r->dtype);
            pos += run;
            continue;
        }
        for (int64_t c = 0; c < run; c += CHUNK) {
            int64_t m = run - c < CHUNK ? run - c : CHUNK;
            if (r->integer) {
                load_i64(p + c * stride * r->esize, stride * r->esize, r->dtype, m, xi);
                chunk_i64(r, b, 0, xi, m, pos + c);
            } else {
                load_f64(p + c * stride * r->esize, stride * r->esize, r->dtype, m, x);
                chunk_f64(r, b, 0, x, m, pos + c);
            }
        }
        pos += run;
    }
}

/* Outer plan: reduced positions [r0, r1) of nb blocks of neighbouring outputs (the last one `last` wide, the
 * others BLOCK); output j's elements start at base + j * kstep. Each reduced position is one sweep along memory. */
static void reduce_columns(const reducer *r, acc_block *b, int64_t nb, int64_t last, const char *base, int64_t kstep,
                           int64_t r0, int64_t r1) {
    const ct__reduce_geom *g = r->g;
    int nd = g->nreduced;
    int64_t idx[CT_MAX_DIMS], off = 0, rest = r0;
    if (r0 >= r1) return; /* nothing, or an empty reduced dim */
    if (kstep == 1 && (has_fast_columns(r) || has_fast_arg_columns(r))) {
        if (r->dtype == CT_FLOAT32) f32_columns(r, b, nb, last, base, r0, r1);
        else f64_columns(r, b, nb, last, base, r0, r1);
        return;
    }
    for (int d = nd - 1; d >= 0; d--) {
        idx[d] = rest % g->red_shape[d];
        rest /= g->red_shape[d];
        off += idx[d] * g->red_stride[d];
    }
    double x[BLOCK];
    int64_t xi[BLOCK];
    for (int64_t pos = r0; pos < r1; pos++) {
        for (int64_t k = 0; k < nb; k++) {
            int64_t m = k == nb - 1 ? last : BLOCK;
            const char *p = base + (off + k * BLOCK * kstep) * r->esize;
            if (r->integer) {
                load_i64(p, kstep * r->esize, r->dtype, m, xi);
                step_i64(r, &b[k], xi, m, pos);
            } else {
                load_f64(p, kstep * r->esize, r->dtype, m, x);
                step_f64(r, &b[k], x, m, pos);
            }
        }
        for (int d = nd - 1; d >= 0; d--) { /* odometer */
            off += g->red_stride[d];
            if (++idx[d] < g->red_shape[d]) break;
            off -= g->red_stride[d] * g->red_shape[d];
            idx[d] = 0;
        }
    }
}

/* How the work is cut: groups of outputs, each split into `parts` ranges of the reduced positions. A group is one
 * output (inner plan) or up to GROUP_BLOCKS blocks of BLOCK neighbouring outputs along the kept innermost dim
 * (outer plan: a sweep of GROUP_BLOCKS * BLOCK elements of each reduced position). */
#define MAX_PARTIAL_BLOCKS 512 /* bound on the partial accumulators kept when the reduction is split */

typedef struct plan {
    bool outer;
    int64_t groups, parts;
    int64_t row, blocks_per_row, groups_per_row; /* outer plan: the kept innermost size, cut in blocks and groups */
    int64_t max_blocks;                          /* accumulator blocks a group needs */
} plan;

static plan make_plan(const ct__reduce_geom *g) {
    plan p = {false, g->nout, 1, 1, 1, 1, 1};
    if (g->nkept > 0) {
        int64_t ks = g->kept_stride[g->nkept - 1], k = g->kept_shape[g->nkept - 1];
        bool smallest = true;
        for (int d = 0; d < g->nreduced; d++) smallest = smallest && ks < g->red_stride[d];
        if (smallest && k >= 4) {
            p.outer = true;
            p.row = k;
            p.blocks_per_row = (k + BLOCK - 1) / BLOCK;
            p.groups_per_row = (p.blocks_per_row + GROUP_BLOCKS - 1) / GROUP_BLOCKS;
            p.max_blocks = p.blocks_per_row < GROUP_BLOCKS ? p.blocks_per_row : GROUP_BLOCKS;
            p.groups = g->nout / k * p.groups_per_row;
        }
    }
    /* a group's work: its reduced elements times the outputs it sweeps together */
    int64_t work = g->nred * (p.outer ? (p.row < GROUP_BLOCKS * BLOCK ? p.row : GROUP_BLOCKS * BLOCK) : 1);
    if (p.groups < MAX_PARTS && work >= 2 * PART_MIN) { /* sizes alone decide: results do not vary with threads */
        int64_t most = MAX_PARTIAL_BLOCKS / (p.groups * p.max_blocks);
        p.parts = work / (p.outer ? OUTER_PART_MIN : PART_MIN);
        if (p.parts > g->nred) p.parts = g->nred;
        if (p.parts > MAX_PARTS) p.parts = MAX_PARTS;
        if (p.parts > most) p.parts = most;
        if (p.parts < 1) p.parts = 1;
    }
    return p;
}

/* Group grp's accumulator blocks: how many, the width of the last, and its first output. */
static int64_t group_extent(const plan *p, int64_t grp, int64_t *last, int64_t *first) {
    if (!p->outer) {
        *last = 1, *first = grp;
        return 1;
    }
    int64_t row = grp / p->groups_per_row, b0 = grp % p->groups_per_row * GROUP_BLOCKS;
    int64_t nb = p->blocks_per_row - b0 < GROUP_BLOCKS ? p->blocks_per_row - b0 : GROUP_BLOCKS;
    *last = p->row - (b0 + nb - 1) * BLOCK;
    if (*last > BLOCK) *last = BLOCK; /* a group that ends before the row does */
    *first = row * p->row + b0 * BLOCK;
    return nb;
}

/* Reduces part `part` of group grp into the blocks b (initialised here). */
static void run_item(const reducer *r, const plan *p, int64_t grp, int64_t part, acc_block *b) {
    const ct__reduce_geom *g = r->g;
    int64_t chunk = (g->nred + p->parts - 1) / p->parts;
    int64_t r0 = part * chunk, r1 = r0 + chunk < g->nred ? r0 + chunk : g->nred;
    if (r0 > r1) r0 = r1;
    int64_t last, first, nb = group_extent(p, grp, &last, &first);
    bool fast = p->outer && has_fast_columns(r); /* uses v alone: a plain fill */
    double identity = r->op == CT__RED_AMAX ? -INFINITY : r->op == CT__RED_AMIN ? INFINITY : 0;
    for (int64_t k = 0; k < nb; k++)
        for (int j = 0; j < (k == nb - 1 ? last : BLOCK); j++) {
            if (fast) b[k].v[j] = identity;
            else init_slot(r, &b[k], j);
        }
    if (!p->outer) {
        reduce_run(r, b, r->in + kept_offset(g, g->nkept, grp) * r->esize, r0, r1);
        return;
    }
    int64_t kstride = g->kept_stride[g->nkept - 1], row = first / p->row, start = first % p->row;
    const char *base = r->in + (kept_offset(g, g->nkept - 1, row) + start * kstride) * r->esize;
    reduce_columns(r, b, nb, last, base, kstride, r0, r1);
}

/* Writes group grp's results from its blocks. */
static void finish_group(const reducer *r, const plan *p, int64_t grp, const acc_block *b) {
    int64_t last, first, nb = group_extent(p, grp, &last, &first);
    bool direct = r->out.dtype == r->dtype && has_fast_columns(r); /* float sums and extremes: store directly */
    double divisor = r->op == CT__RED_MEAN ? (double)r->g->nred : 1;
    for (int64_t k = 0; k < nb; k++) {
        int64_t m = k == nb - 1 ? last : BLOCK, o = first + k * BLOCK;
        if (direct && r->dtype == CT_FLOAT32)
            for (int64_t j = 0; j < m; j++) ((float *)r->out.data)[o + j] = (float)(b[k].v[j] / divisor);
        else if (direct)
            for (int64_t j = 0; j < m; j++) ((double *)r->out.data)[o + j] = b[k].v[j] / divisor;
        else
            for (int j = 0; j < m; j++) finish_slot(r, &b[k], j, o + j);
    }
}

/* Combines the parts of group grp (stored part after part, max_blocks blocks each) into the first, in order. */
static void combine_group(const reducer *r, const plan *p, int64_t grp, acc_block *parts) {
    int64_t last, first, nb = group_extent(p, grp, &last, &first);
    bool fast = p->outer && has_fast_columns(r), sum = r->op == CT__RED_SUM || r->op == CT__RED_MEAN;
    for (int64_t q = 1; q < p->parts; q++)
        for (int64_t k = 0; k < nb; k++) {
            int m = k == nb - 1 ? (int)last : BLOCK;
            double *a = parts[k].v;
            const double *b = parts[q * p->max_blocks + k].v;
            if (fast && sum)
                for (int j = 0; j < m; j++) a[j] += b[j];
            else if (fast)
                for (int j = 0; j < m; j++) a[j] = r->largest ? nan_max(a[j], b[j]) : nan_min(a[j], b[j]);
            else
                for (int j = 0; j < m; j++) combine_slot(r, &parts[k], j, &parts[q * p->max_blocks + k], j);
        }
}

static norm_kind norm_of(double ord) {
    if (ord == 1) return NORM_1;
    if (ord == 2) return NORM_2;
    if (ord == 0) return NORM_0;
    if (isinf(ord)) return ord > 0 ? NORM_INF : NORM_NEG_INF;
    return NORM_P;
}

/* Items of `work` elements each, per chunk of the CPU pool, so that a chunk is worth a thread: at least PARALLEL_MIN
 * elements. */
static int64_t grain_of(int64_t work) {
    return work >= PARALLEL_MIN ? 1 : (PARALLEL_MIN + work - 1) / (work > 0 ? work : 1);
}

typedef struct reduce_job {
    const reducer *r;
    const plan *p;
    acc_block *store; /* split plans: every item's blocks, kept until the combine */
    bool direct;      /* lines: plain ops written straight to the output */
    _Atomic bool out_of_memory;
} reduce_job;

/* Outputs [begin, end), each one contiguous line of the input. */
static void reduce_lines(int64_t begin, int64_t end, void *ctx) {
    reduce_job *j = ctx;
    const reducer *r = j->r;
    const ct__reduce_geom *g = r->g;
    for (int64_t o = begin; o < end; o++) {
        const char *x = r->in + kept_offset(g, g->nkept, o) * r->esize;
        if (j->direct && r->dtype == CT_FLOAT32) {
            f32_line(r, (const float *)x, g->nred, o);
        } else if (j->direct) {
            f64_line(r, (const double *)x, g->nred, o);
        } else {
            acc_block slot;
            init_slot(r, &slot, 0);
            reduce_run(r, &slot, x, 0, g->nred);
            finish_slot(r, &slot, 0, o);
        }
    }
}

/* Items [begin, end): part it % parts of group it / parts. Unsplit plans finish their groups here, in a set of
 * blocks of the chunk's own. */
static void reduce_items(int64_t begin, int64_t end, void *ctx) {
    reduce_job *j = ctx;
    const plan *p = j->p;
    acc_block *own = NULL;
    if (p->parts == 1 && !(own = malloc((size_t)p->max_blocks * sizeof *own))) {
        j->out_of_memory = true;
        return;
    }
    for (int64_t it = begin; it < end; it++) {
        acc_block *b = own ? own : j->store + it * p->max_blocks;
        run_item(j->r, p, it / p->parts, it % p->parts, b);
        if (own) finish_group(j->r, p, it, b);
    }
    free(own);
}

static void combine_groups(int64_t begin, int64_t end, void *ctx) {
    reduce_job *j = ctx;
    for (int64_t grp = begin; grp < end; grp++) {
        acc_block *b = j->store + grp * j->p->parts * j->p->max_blocks;
        combine_group(j->r, j->p, grp, b);
        finish_group(j->r, j->p, grp, b);
    }
}

ct_status ct__cpu_reduce(ct__reduce_op op, const ct__reduce_geom *g, ct__view in, ct__view out, ct__view out2,
                         double param) {
    if (g->nout == 0) return CT_OK;
    bool int_op = op == CT__RED_SUM || op == CT__RED_PROD || op == CT__RED_AMAX || op == CT__RED_AMIN ||
                  op == CT__RED_MAX || op == CT__RED_MIN;
    reducer r = {op, int_op && !ct_dtype_is_floating(in.dtype), op == CT__RED_AMAX || op == CT__RED_MAX,
                 norm_of(param), param, g, in.data, in.dtype, (int64_t)ct_dtype_size(in.dtype), out, out2};
    plan p = make_plan(g);
    reduce_job j = {&r, &p, NULL, false, false};
    if (!p.outer && p.parts == 1 && g->nred > 0 && g->nreduced == 1 && g->red_stride[0] == 1 && has_fast_run(&r)) {
        /* every output is one contiguous line: the plain ops write their results directly, with no slot */
        j.direct = out.dtype == in.dtype && (op == CT__RED_SUM || op == CT__RED_MEAN || op == CT__RED_PROD ||
                                             op == CT__RED_AMAX || op == CT__RED_AMIN);
        ct__parallel_for(g->nout, grain_of(g->nred), reduce_lines, &j);
        return CT_OK;
    }
    int64_t items = p.groups * p.parts, width = p.outer ? p.max_blocks * BLOCK : 1;
    if (p.parts > 1) {
        j.store = malloc((size_t)(items * p.max_blocks) * sizeof *j.store);
        if (!j.store) return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "no memory for %lld accumulator blocks", (long long)items);
    }
    ct__parallel_for(items, grain_of(g->nred / p.parts * width), reduce_items, &j);
    if (p.parts > 1 && !j.out_of_memory) ct__parallel_for(p.groups, grain_of(p.parts * width), combine_groups, &j);
    free(j.store);
    if (j.out_of_memory)
        return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "no memory for %lld accumulator blocks", (long long)p.max_blocks);
    return CT_OK;
}

/* ---- scans ----------------------------------------------------------------------------------------------------- */

/* One line along n with inner == 1: x[0..n) of line `line`. */
static void scan_line(ct__scan_op op, ct__lines l, ct__view in, ct__view out, int64_t line) {
    int64_t esize = (int64_t)ct_dtype_size(in.dtype), at = line * l.n;
    const char *p = (const char *)in.data + at * esize;
    double x[CHUNK], acc = op == CT__SCAN_PROD;
    int64_t xi[CHUNK];
    uint64_t ui[CHUNK], iacc = op == CT__SCAN_PROD;
    bool integer = !ct_dtype_is_floating(in.dtype);
    for (int64_t c = 0; c < l.n; c += CHUNK) {
        int64_t m = l.n - c < CHUNK ? l.n - c : CHUNK;
        if (integer) {
            load_i64(p + c * esize, esize, in.dtype, m, xi);
            for (int64_t i = 0; i < m; i++) ui[i] = iacc = op == CT__SCAN_SUM ? iacc + (uint64_t)xi[i] : iacc * (uint64_t)xi[i];
            store_i64(out, at + c, ui, m);
        } else {
            load_f64(p + c * esize, esize, in.dtype, m, x);
            for (int64_t i = 0; i < m; i++) x[i] = acc = op == CT__SCAN_SUM ? acc + x[i] : acc * x[i];
            store_f64(out, at + c, x, m);
        }
    }
}

/* A block of up to BLOCK neighbouring lines along n (inner > 1): the loop along the block vectorises. */
static void scan_block(ct__scan_op op, ct__lines l, ct__view in, ct__view out, int64_t o, int64_t i0, int64_t m) {
    int64_t esize = (int64_t)ct_dtype_size(in.dtype);
    bool integer = !ct_dtype_is_floating(in.dtype);
    double x[BLOCK], acc[BLOCK];
    int64_t xi[BLOCK];
    uint64_t iacc[BLOCK];
    for (int64_t i = 0; i < m; i++) acc[i] = op == CT__SCAN_PROD, iacc[i] = op == CT__SCAN_PROD;
    for (int64_t k = 0; k < l.n; k++) {
        int64_t at = (o * l.n + k) * l.inner + i0;
        const char *p = (const char *)in.data + at * esize;
        if (integer) {
            load_i64(p, esize, in.dtype, m, xi);
            for (int64_t i = 0; i < m; i++) iacc[i] = op == CT__SCAN_SUM ? iacc[i] + (uint64_t)xi[i] : iacc[i] * (uint64_t)xi[i];
            store_i64(out, at, iacc, m);
        } else {
            load_f64(p, esize, in.dtype, m, x);
            for (int64_t i = 0; i < m; i++) acc[i] = op == CT__SCAN_SUM ? acc[i] + x[i] : acc[i] * x[i];
            store_f64(out, at, acc, m);
        }
    }
}

typedef struct scan_job {
    ct__scan_op op;
    ct__lines l;
    ct__view in, out;
    int64_t blocks;
} scan_job;

static void scan_items(int64_t begin, int64_t end, void *ctx) {
    const scan_job *j = ctx;
    for (int64_t it = begin; it < end; it++) {
        if (j->l.inner == 1) {
            scan_line(j->op, j->l, j->in, j->out, it);
            continue;
        }
        int64_t o = it / j->blocks, i0 = it % j->blocks * BLOCK;
        scan_block(j->op, j->l, j->in, j->out, o, i0, j->l.inner - i0 < BLOCK ? j->l.inner - i0 : BLOCK);
    }
}

ct_status ct__cpu_scan(ct__scan_op op, ct__lines l, ct__view in, ct__view out) {
    if (l.outer == 0 || l.n == 0 || l.inner == 0) return CT_OK;
    int64_t blocks = l.inner == 1 ? 1 : (l.inner + BLOCK - 1) / BLOCK;
    scan_job j = {op, l, in, out, blocks};
    ct__parallel_for(l.outer * blocks, grain_of(l.n * (l.inner < BLOCK ? l.inner : BLOCK)), scan_items, &j);
    return CT_OK;
}

/* ---- softmax ---------------------------------------------------------------------------------------------------- */

/* x[i] = e^x[i] for softmax's non-positive arguments: in float for a float32 tensor (vectorised), else libm. */
static void exp_line(double *x, int64_t m, ct_dtype dtype) {
    if (dtype != CT_FLOAT32) {
        for (int64_t i = 0; i < m; i++) x[i] = exp(x[i]);
        return;
    }
    float f[CHUNK];
    for (int64_t i = 0; i < m; i++) f[i] = (float)x[i];
    exp_nonpositive_f32(f, m);
    for (int64_t i = 0; i < m; i++) x[i] = f[i];
}

/* Softmax runs three passes over each line: the maximum; exp(x - max), summed in double (and kept in the output,
 * for softmax); the result, e / sum or x - (max + log(sum)). One exponential per element. A line of -inf or with a
 * NaN or +inf gives NaN, as PyTorch. */

/* shift: what the last pass subtracts (log_softmax) or multiplies by (softmax). */
static double softmax_shift(bool log_out, double mx, double sum) { return log_out ? mx + log(sum) : 1 / sum; }

static void softmax_apply(bool log_out, double *x, int64_t m, const double *shift, bool one_shift) {
    if (log_out)
        for (int64_t i = 0; i < m; i++) x[i] -= shift[one_shift ? 0 : i];
    else
        for (int64_t i = 0; i < m; i++) x[i] *= shift[one_shift ? 0 : i];
}

/* One line of n contiguous elements starting at element `at` (softmax over the innermost dim). */
static void softmax_row(bool log_out, ct__view in, ct__view out, int64_t at, int64_t n) {
    int64_t esize = (int64_t)ct_dtype_size(in.dtype);
    const char *src = (const char *)in.data + at * esize, *kept = (const char *)out.data + at * esize;
    double x[CHUNK], mx = -INFINITY, sum = 0, shift;
    for (int64_t c = 0; c < n; c += CHUNK) {
        int64_t w = n - c < CHUNK ? n - c : CHUNK;
        load_f64(src + c * esize, esize, in.dtype, w, x);
        mx = max_of(x, w, mx);
    }
    for (int64_t c = 0; c < n; c += CHUNK) {
        int64_t w = n - c < CHUNK ? n - c : CHUNK;
        load_f64(src + c * esize, esize, in.dtype, w, x);
        for (int64_t i = 0; i < w; i++) x[i] -= mx;
        exp_line(x, w, in.dtype);
        sum += sum_of(x, w);
        if (!log_out) store_f64(out, at + c, x, w);
    }
    shift = softmax_shift(log_out, mx, sum);
    for (int64_t c = 0; c < n; c += CHUNK) { /* softmax rescales what the second pass kept */
        int64_t w = n - c < CHUNK ? n - c : CHUNK;
        load_f64((log_out ? src : kept) + c * esize, esize, in.dtype, w, x);
        softmax_apply(log_out, x, w, &shift, true);
        store_f64(out, at + c, x, w);
    }
}

/* m <= BLOCK neighbouring lines along an outer dim: line j's k-th element is at first + k * inner + j. */
static void softmax_columns(bool log_out, ct__view in, ct__view out, ct__lines l, int64_t first, int64_t m) {
    int64_t esize = (int64_t)ct_dtype_size(in.dtype);
    double x[BLOCK], mx[BLOCK], sum[BLOCK], shift[BLOCK];
    for (int64_t j = 0; j < m; j++) mx[j] = -INFINITY, sum[j] = 0;
    for (int64_t k = 0; k < l.n; k++) {
        load_f64((const char *)in.data + (first + k * l.inner) * esize, esize, in.dtype, m, x);
        for (int64_t j = 0; j < m; j++) mx[j] = nan_max(mx[j], x[j]);
    }
    for (int64_t k = 0; k < l.n; k++) {
        int64_t at = first + k * l.inner;
        load_f64((const char *)in.data + at * esize, esize, in.dtype, m, x);
        for (int64_t j = 0; j < m; j++) x[j] -= mx[j];
        exp_line(x, m, in.dtype);
        for (int64_t j = 0; j < m; j++) sum[j] += x[j];
        if (!log_out) store_f64(out, at, x, m);
    }
    for (int64_t j = 0; j < m; j++) shift[j] = softmax_shift(log_out, mx[j], sum[j]);
    for (int64_t k = 0; k < l.n; k++) {
        int64_t at = first + k * l.inner;
        load_f64((const char *)(log_out ? in.data : out.data) + at * esize, esize, in.dtype, m, x);
        softmax_apply(log_out, x, m, shift, false);
        store_f64(out, at, x, m);
    }
}

/* The float32 / float64 paths (reduce_vec.h): the same three passes with the exponentials in the input's type and
 * the sums cascaded into double. They return false, having written nothing, for a line whose maximum is not finite
 * (-inf, +inf or NaN), which the general path above then handles. */
#define FAST_SOFTMAX(S, T)                                                                                          \
    /* One contiguous line x[0..n) into y. */                                                                       \
    static bool S##_softmax_line(bool log_out, const T *x, T *y, int64_t n) {                                       \
        T mx = S##_extreme(x, n, (T)-INFINITY, true);                                                               \
        if (!isfinite(mx)) return false;                                                                            \
        if (log_out) {                                                                                              \
            S##_sub(y, x, n, mx, (T)log(S##_exp_sum(NULL, x, n, mx)));                                              \
        } else {                                                                                                    \
            S##_scale(y, n, (T)(1 / S##_exp_sum(y, x, n, mx)));                                                     \
        }                                                                                                           \
        return true;                                                                                                \
    }                                                                                                               \
                                                                                                                    \
    /* w <= SOFTMAX_COLUMNS neighbouring lines of n: line j's k-th element is x[k * inner + j]. */                   \
    static bool S##_softmax_columns(bool log_out, const T *x, T *y, int64_t n, int64_t inner, int64_t w) {          \
        T mx[SOFTMAX_COLUMNS], sum[SOFTMAX_COLUMNS], shift[SOFTMAX_COLUMNS], scratch[SOFTMAX_COLUMNS];              \
        double total[SOFTMAX_COLUMNS];                                                                              \
        for (int64_t j = 0; j < w; j++) mx[j] = (T)-INFINITY, sum[j] = 0, total[j] = 0;                             \
        for (int64_t k = 0; k < n; k++) S##_row_extreme(mx, x + k * inner, w, true);                                \
        for (int64_t j = 0; j < w; j++)                                                                             \
            if (!isfinite(mx[j])) return false;                                                                     \
        for (int64_t k = 0; k < n; k++) {                                                                           \
            S##_row_exp_sum(log_out ? scratch : y + k * inner, sum, x + k * inner, mx, w);                          \
            if ((k + 1) % ROWS_CASCADE == 0 || k == n - 1)                                                          \
                for (int64_t j = 0; j < w; j++) total[j] += sum[j], sum[j] = 0;                                     \
        }                                                                                                           \
        for (int64_t j = 0; j < w; j++) shift[j] = (T)(log_out ? log(total[j]) : 1 / total[j]);                     \
        for (int64_t k = 0; k < n; k++) {                                                                           \
            if (log_out) S##_row_sub(y + k * inner, x + k * inner, mx, shift, w);                                   \
            else S##_row_mul(y + k * inner, shift, w);                                                              \
        }                                                                                                           \
        return true;                                                                                                \
    }

FAST_SOFTMAX(f32, float)
FAST_SOFTMAX(f64, double)

/* Item `it` of a softmax: one line (inner == 1), or SOFTMAX_COLUMNS neighbouring lines along an outer dim. */
static void softmax_item(bool log_out, ct__lines l, ct__view in, ct__view out, int64_t it, int64_t blocks) {
    bool f32 = in.dtype == CT_FLOAT32, f64 = in.dtype == CT_FLOAT64;
    if (l.inner == 1) {
        int64_t at = it * l.n;
        bool done = f32 ? f32_softmax_line(log_out, (const float *)in.data + at, (float *)out.data + at, l.n)
                  : f64 ? f64_softmax_line(log_out, (const double *)in.data + at, (double *)out.data + at, l.n)
                        : false;
        if (!done) softmax_row(log_out, in, out, at, l.n);
        return;
    }
    int64_t o = it / blocks, i0 = it % blocks * SOFTMAX_COLUMNS, first = o * l.n * l.inner + i0;
    int64_t w = l.inner - i0 < SOFTMAX_COLUMNS ? l.inner - i0 : SOFTMAX_COLUMNS;
    bool done = f32 ? f32_softmax_columns(log_out, (const float *)in.data + first, (float *)out.data + first, l.n,
                                          l.inner, w)
              : f64 ? f64_softmax_columns(log_out, (const double *)in.data + first, (double *)out.data + first, l.n,
                                          l.inner, w)
                    : false;
    for (int64_t j = 0; !done && j < w; j += BLOCK)
        softmax_columns(log_out, in, out, l, first + j, w - j < BLOCK ? w - j : BLOCK);
}

typedef struct softmax_job {
    bool log_out;
    ct__lines l;
    ct__view in, out;
    int64_t blocks;
} softmax_job;

static void softmax_items(int64_t begin, int64_t end, void *ctx) {
    const softmax_job *j = ctx;
    for (int64_t it = begin; it < end; it++) softmax_item(j->log_out, j->l, j->in, j->out, it, j->blocks);
}

ct_status ct__cpu_softmax(bool log_out, ct__lines l, ct__view in, ct__view out) {
    if (l.outer == 0 || l.n == 0 || l.inner == 0) return CT_OK;
    int64_t blocks = l.inner == 1 ? 1 : (l.inner + SOFTMAX_COLUMNS - 1) / SOFTMAX_COLUMNS;
    softmax_job j = {log_out, l, in, out, blocks};
    ct__parallel_for(l.outer * blocks, grain_of(l.n * (l.inner < SOFTMAX_COLUMNS ? l.inner : SOFTMAX_COLUMNS)),
                     softmax_items, &j);
    return CT_OK;
}
