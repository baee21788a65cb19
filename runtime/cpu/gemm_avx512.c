/* A packed float32 GEMM for AVX-512 CPUs, in the BLIS way: the operands are copied into panels whose layout the
 * micro-kernel reads in order, and the loops around it keep each panel in the cache level that feeds it.
 *
 *   the micro-kernel  a tile of C of MR = 12 rows x NR = 32 columns (two zmm per row): 24 accumulators; per k it
 *                     loads the B row (2 vectors) and broadcasts 12 A values, 24 FMAs. The A panel (12 x kc,
 *                     <= 18 KB) stays in L1 while the kernel sweeps the B panels, which stream from L2.
 *   packing           A into panels of MR rows, k-major (ap[p * MR + i]); B into panels of NR columns, k-major
 *                     (bp[p * NR + j]). Packing reads either layout, so the transpose flags and leading dims end
 *                     there; rows and columns past the edge are zeros. A product of at most 64 columns (conv2d's
 *                     im2col @ weights) reads its full A panels in place instead: each would be used by one or two
 *                     B panels only, and packing cost as much as the product (12544x32x144: 0.96 -> 0.72 ms on
 *                     one thread).
 *   blocking          K in blocks of at most KC_MAX (split evenly: k = 1000 gives 3 x 334), N in blocks of NB columns
 *                     (a packed B block, kc x NB, is sized for L2); A is packed for the task's rows at once.
 *   the store         C = alpha * acc + (beta * C | bias) on the first K block, C += alpha * acc on later ones;
 *                     beta == 0 never reads C. Edge tiles use masked loads and stores (the same arithmetic as
 *                     full tiles, so where a tile boundary falls does not change a result).
 *   threads           the product is cut into tasks, a rectangle of C each (a batch item, rows, columns), which the
 *                     CPU pool (parallel.h) runs; each task packs its own A rows and B columns into buffers of its
 *                     own. A task split along M repacks B, one along N repacks A, so the split goes along the
 *                     longer dim. The K blocks do not depend on the thread count, and every element of C is
 *                     computed by one task in one order, so the results are the same for any number of threads.
 */
#include "gemm_avx512.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"

#define MR 12
#define NR 32
#define KC_MAX 384
#define NB 480                          /* columns of a packed B block: 384 x 480 floats = 720 KB, in L2 */
#define A_PART_MAX_BYTES (1 << 20)      /* a task's packed A rows: more rows than this fit become more tasks */
#define DIRECT_MAX_N (2 * NR)          /* up to this many columns, A is read in place (direct_kernel) */
#define TASK_MIN_FLOPS (2.0 * 48 * 48 * 48) /* below this a product is one task */

#define TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,fma")))

bool ct__gemm_avx512_available(void) {
    static int cached = -1; /* a benign race: every thread computes the same value */
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
    }
    return cached;
}

/* What the store does with a tile. */
typedef struct store_mode {
    float alpha, beta;
    const float *bias; /* the row added on the first K block (then beta is not used), or NULL */
    bool first;        /* the first K block: C = alpha * acc + (bias | beta * C); later: C += alpha * acc */
} store_mode;

static inline __mmask16 mask_of(int64_t count) { /* the first min(max(count, 0), 16) lanes */
    return count >= 16 ? (__mmask16)0xffff : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

/* C[0:rows, 0:cols] (rows <= MR, cols <= NR) from an A panel, element (i, p) at a[i * a_rs + p * a_ps], and a packed
 * B panel (kc x NR). Inlined into a kernel for packed A panels (a_rs = 1, a_ps = MR) and one that reads A where it
 * is (direct_kernel). */
TARGET_AVX512 static inline __attribute__((always_inline)) void
kernel_body(int64_t kc, const float *a, int64_t a_rs, int64_t a_ps, const float *restrict b, float *c, int64_t ldc,
            int rows, int cols, const store_mode *s) {
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i * a_rs]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += a_ps, b += NR;
    }
    __mmask16 m0 = mask_of(cols), m1 = mask_of(cols - 16);
    __m512 alpha = _mm512_set1_ps(s->alpha), beta = _mm512_set1_ps(s->beta);
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
    bool add_c = !s->first, add_bias = s->first && s->bias, scale_c = s->first && !s->bias && s->beta != 0;
    if (add_bias) bias0 = _mm512_maskz_loadu_ps(m0, s->bias), bias1 = _mm512_maskz_loadu_ps(m1, s->bias + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        if (i >= rows) break;
        float *ci = c + i * ldc;
        __m512 x0 = _mm512_mul_ps(acc[i][0], alpha), x1 = _mm512_mul_ps(acc[i][1], alpha);
        if (add_c) {
            x0 = _mm512_add_ps(x0, _mm512_maskz_loadu_ps(m0, ci));
            x1 = _mm512_add_ps(x1, _mm512_maskz_loadu_ps(m1, ci + 16));
        } else if (add_bias) {
            x0 = _mm512_add_ps(x0, bias0), x1 = _mm512_add_ps(x1, bias1);
        } else if (scale_c) {
            x0 = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(m0, ci), x0);
            x1 = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(m1, ci + 16), x1);
        }
        _mm512_mask_storeu_ps(ci, m0, x0);
        _mm512_mask_storeu_ps(ci + 16, m1, x1);
    }
}

TARGET_AVX512 static void micro_kernel(int64_t kc, const float *restrict a, const float *restrict b, float *c,
                                       int64_t ldc, int rows, int cols, const store_mode *s) {
    kernel_body(kc, a, 1, MR, b, c, ldc, rows, cols, s);
}

/* A full panel of MR rows read from A itself: for products with few columns, where a packed panel would be read
 * by one or two B panels only and packing would cost as much as the product. */
TARGET_AVX512 static void direct_kernel(int64_t kc, const float *a, int64_t a_rs, int64_t a_ps,
                                        const float *restrict b, float *c, int64_t ldc, int cols, const store_mode *s) {
    kernel_body(kc, a, a_rs, a_ps, b, c, ldc, MR, cols, s);
}

/* Transposes the 16 x 16 matrix whose rows are r[0..15] in place. */
TARGET_AVX512 static inline void transpose16(__m512 r[16]) {
    __m512 t[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i += 2) t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
#pragma GCC unroll 4
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
#pragma GCC unroll 2
    for (int h = 0; h < 16; h += 8)
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
            t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
        }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
}

/* Packs op(A)[i0:i1, p0:p0+kc] into panels of MR rows (the last one zero-padded): dst[panel][p][i]. */
TARGET_AVX512 static void pack_a(const float *a, int64_t lda, bool trans, int64_t i0, int64_t i1, int64_t p0,
                                 int64_t kc, float *restrict dst) {
    for (int64_t ip = i0; ip < i1; ip += MR, dst += MR * kc) {
        int rows = i1 - ip < MR ? (int)(i1 - ip) : MR;
        if (trans) { /* op(A)[i][p] = a[p * lda + i]: each p is a contiguous run of rows */
            __mmask16 load = mask_of(rows), store = mask_of(MR);
            for (int64_t p = 0; p < kc; p++)
                _mm512_mask_storeu_ps(dst + p * MR, store, _mm512_maskz_loadu_ps(load, a + (p0 + p) * lda + ip));
        } else { /* op(A)[i][p] = a[i * lda + p]: 16 columns at a time through a 16 x 16 transpose */
            const float *src = a + ip * lda + p0;
            for (int64_t p = 0; p < kc; p += 16) {
                int64_t width = kc - p < 16 ? kc - p : 16;
                __mmask16 cols = mask_of(width);
                __m512 r[16];
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    r[i] = i < rows ? _mm512_maskz_loadu_ps(cols, src + i * lda + p) : _mm512_setzero_ps();
                transpose16(r);
#pragma GCC unroll 16
                for (int q = 0; q < 16; q++)
                    if (q < width) _mm512_mask_storeu_ps(dst + (p + q) * MR, mask_of(MR), r[q]);
            }
        }
    }
}

/* Packs op(B)[p0:p0+kc, j0:j1] into panels of NR columns (the last one zero-padded): dst[panel][p][j]. */
TARGET_AVX512 static void pack_b(const float *b, int64_t ldb, bool trans, int64_t j0, int64_t j1, int64_t p0,
                                 int64_t kc, float *restrict dst) {
    for (int64_t jp = j0; jp < j1; jp += NR, dst += NR * kc) {
        int cols = j1 - jp < NR ? (int)(j1 - jp) : NR;
        if (!trans) { /* op(B)[p][j] = b[p * ldb + j]: each p is a contiguous run of columns */
            __mmask16 m0 = mask_of(cols), m1 = mask_of(cols - 16);
            for (int64_t p = 0; p < kc; p++) {
                const float *src = b + (p0 + p) * ldb + jp;
                _mm512_store_ps(dst + p * NR, _mm512_maskz_loadu_ps(m0, src));
                _mm512_store_ps(dst + p * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
            }
        } else { /* op(B)[p][j] = b[j * ldb + p]: 16 x 16 blocks through a transpose */
            for (int jh = 0; jh < NR; jh += 16) {
                const float *src = b + (jp + jh) * ldb + p0;
                for (int64_t p = 0; p < kc; p += 16) {
                    int64_t width = kc - p < 16 ? kc - p : 16;
                    __mmask16 ps = mask_of(width);
                    __m512 r[16];
#pragma GCC unroll 16
                    for (int j = 0; j < 16; j++)
                        r[j] = jh + j < cols ? _mm512_maskz_loadu_ps(ps, src + j * ldb + p) : _mm512_setzero_ps();
                    transpose16(r);
#pragma GCC unroll 16
                    for (int q = 0; q < 16; q++)
                        if (q < width) _mm512_store_ps(dst + (p + q) * NR + jh, r[q]);
                }
            }
        }
    }
}

/* The packing buffers: one per thread, kept between calls (a fresh allocation of a few hundred KB would be
 * mapped and faulted in again on every call) and freed when the thread exits. A thread's buffer is used by one
 * call at a time: a thread runs one task at a time, and a GEMM called from inside a task runs serially. */
typedef struct thread_buf {
    float *data;
    size_t floats;
} thread_buf;

static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;
static bool buf_key_ok;

static void free_thread_buf(void *p) {
    thread_buf *tb = p;
    free(tb->data);
    free(tb);
}

static void make_buf_key(void) { buf_key_ok = pthread_key_create(&buf_key, free_thread_buf) == 0; }

/* This thread's buffer of at least `floats` floats (64-byte aligned), or NULL when out of memory. */
static float *thread_buffer(size_t floats) {
    pthread_once(&buf_once, make_buf_key);
    if (!buf_key_ok) return NULL;
    thread_buf *tb = pthread_getspecific(buf_key);
    if (!tb) {
        if (!(tb = calloc(1, sizeof *tb))) return NULL;
        if (pthread_setspecific(buf_key, tb) != 0) {
            free(tb);
            return NULL;
        }
    }
    if (tb->floats < floats) {
        free(tb->data);
        tb->floats = 0;
        if (!(tb->data = aligned_alloc(64, floats * sizeof(float)))) return NULL;
        tb->floats = floats;
    }
    return tb->data;
}

/* The work: the descriptor, and how it is cut into tasks. */
typedef struct plan {
    const ct__gemm *g;
    float alpha, beta;
    int64_t kc;             /* the K block (the last one may be shorter) */
    bool direct_a;          /* full A panels are read in place, not packed (products of at most DIRECT_MAX_N columns) */
    int64_t mparts, nparts; /* tasks per batch item: mparts x nparts rectangles of C */
    int64_t mt, nt;         /* rows and columns of a task (multiples of MR and NR) */
    size_t abuf_floats, bbuf_floats;
    atomic_bool failed; /* a task could not allocate its buffers */
} plan;

static inline int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
static inline int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }
static inline int64_t round_up(int64_t x, int64_t y) { return ceil_div(x, y) * y; }

/* C_item[m0:m1, n0:n1]. */
static void run_rectangle(const plan *pl, int64_t item, int64_t m0, int64_t m1, int64_t n0, int64_t n1, float *abuf,
                          float *bbuf) {
    const ct__gemm *g = pl->g;
    const float *a = (const float *)g->a + item * g->stride_a, *b = (const float *)g->b + item * g->stride_b;
    float *c = (float *)g->c + item * g->stride_c;
    for (int64_t p0 = 0; p0 < g->k; p0 += pl->kc) {
        int64_t kc = min64(pl->kc, g->k - p0);
        /* direct: full panels are read from A, only a last partial one is packed (at abuf) */
        int64_t full_end = pl->direct_a ? m0 + (m1 - m0) / MR * MR : m0;
        pack_a(a, g->lda, g->trans_a, full_end, m1, p0, kc, abuf);
        for (int64_t j0 = n0; j0 < n1; j0 += NB) {
            int64_t j1 = min64(j0 + NB, n1);
            pack_b(b, g->ldb, g->trans_b, j0, j1, p0, kc, bbuf);
            for (int64_t i = m0; i < m1; i += MR) {
                const float *ap = i < full_end ? NULL : abuf + (i - full_end) * kc;
                const float *direct = g->trans_a ? a + p0 * g->lda + i : a + i * g->lda + p0;
                int rows = (int)min64(MR, m1 - i);
                for (int64_t j = j0; j < j1; j += NR) {
                    store_mode s = {pl->alpha, pl->beta, g->bias ? (const float *)g->bias + j : NULL, p0 == 0};
                    int cols = (int)min64(NR, j1 - j);
                    if (i < full_end)
                        direct_kernel(kc, direct, g->trans_a ? 1 : g->lda, g->trans_a ? g->lda : 1,
                                      bbuf + (j - j0) * kc, c + i * g->ldc + j, g->ldc, cols, &s);
                    else
                        micro_kernel(kc, ap, bbuf + (j - j0) * kc, c + i * g->ldc + j, g->ldc, rows, cols, &s);
                }
            }
        }
    }
}

/* Tasks [begin, end): task t is batch item t / (mparts * nparts), then a rectangle in row-major order. */
static void run_tasks(int64_t begin, int64_t end, void *ctx) {
    plan *pl = ctx;
    const ct__gemm *g = pl->g;
    float *abuf = thread_buffer(pl->abuf_floats + pl->bbuf_floats), *bbuf = abuf + pl->abuf_floats;
    if (!abuf) {
        atomic_store(&pl->failed, true);
        return;
    }
    int64_t per_item = pl->mparts * pl->nparts;
    for (int64_t t = begin; t < end; t++) {
        int64_t item = t / per_item, mi = t % per_item / pl->nparts, ni = t % pl->nparts;
        int64_t m0 = mi * pl->mt, n0 = ni * pl->nt;
        if (m0 >= g->m || n0 >= g->n) continue;
        run_rectangle(pl, item, m0, min64(m0 + pl->mt, g->m), n0, min64(n0 + pl->nt, g->n), abuf, bbuf);
    }
}

ct_status ct__gemm_avx512_f32(const ct__gemm *g) {
    plan pl = {.g = g, .alpha = (float)g->alpha, .beta = g->bias ? 1.0f : (float)g->beta, .direct_a = g->n <= DIRECT_MAX_N};
    int64_t kblocks = ceil_div(g->k, KC_MAX);
    pl.kc = ceil_div(g->k, kblocks);

    /* The cut: a product big enough for several threads is split along its longer dim into `threads` parts (or
     * more), unless the batch alone gives every thread whole items; A rows beyond A_PART_MAX_BYTES make more
     * M parts. */
    int threads = ct__parallel_threads();
    double flops = 2.0 * (double)g->m * (double)g->n * (double)g->k;
    int64_t parts = 1;
    if (threads > 1 && flops >= TASK_MIN_FLOPS && g->batch % threads != 0 && g->batch < 4 * threads)
        parts = threads;
    int64_t mparts = 1, nparts = 1;
    if (parts > 1) {
        if (g->m >= g->n && g->m >= parts * MR) mparts = parts;
        else if (g->n >= parts * NR) nparts = parts;
        else if (g->m >= parts * MR) mparts = parts;
    }
    int64_t mt_max = round_up(A_PART_MAX_BYTES / (int64_t)sizeof(float) / pl.kc, MR);
    if (mt_max < MR) mt_max = MR;
    if (ceil_div(g->m, mparts) > mt_max) {
        mparts = ceil_div(g->m, mt_max);
        if (threads > 1 && parts > 1) mparts = round_up(mparts, threads);
    }
    pl.mt = round_up(ceil_div(g->m, mparts), MR);
    pl.nt = round_up(ceil_div(g->n, nparts), NR);
    pl.mparts = ceil_div(g->m, pl.mt);
    pl.nparts = ceil_div(g->n, pl.nt);
    pl.abuf_floats = (size_t)round_up(pl.mt * pl.kc, 16); /* aligned_alloc takes whole 64-byte lines */
    pl.bbuf_floats = (size_t)round_up(min64(pl.nt, NB) * pl.kc, 16);
    atomic_init(&pl.failed, false);

    int64_t tasks = g->batch * pl.mparts * pl.nparts;
    ct__parallel_for(tasks, 1, run_tasks, &pl);
    if (atomic_load(&pl.failed))
        return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "no memory for the GEMM's packing buffers (%zu floats)",
                       pl.abuf_floats + pl.bbuf_floats);
    return CT_OK;
}
