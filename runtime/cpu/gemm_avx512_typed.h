/* The type-generic part of the AVX-512 GEMM (gemm_avx512.c, whose top comment explains the design): the
 * micro-kernel, the packing, the loops and the task split for one element type. gemm_avx512.c includes this file
 * once per type, after defining
 *     GEMM_T          the element type (float, double)
 *     GEMM_SUFFIX     the name suffix (f32, f64): the entry point is ct__gemm_avx512_<suffix>
 *     GEMM_LANES      elements per zmm register (16, 8); a tile is MR x 2 * GEMM_LANES
 *     GEMM_VEC        the register type (__m512, __m512d) and GEMM_MASK its lane mask (__mmask16, __mmask8)
 *     GEMM_OP(op)     the intrinsic _mm512_<op>_ps or _mm512_<op>_pd
 *     GEMM_TRANSPOSE  transposes GEMM_LANES registers of GEMM_LANES elements in place
 *     GEMM_KC_MAX     the largest K block, GEMM_NB the columns of a packed B block
 * and undefines them at the end. Not a header to include anywhere else. */

#define GEMM_CAT_(a, b) a##_##b
#define GEMM_CAT(a, b) GEMM_CAT_(a, b)
#define FN(name) GEMM_CAT(name, GEMM_SUFFIX)

#define T GEMM_T
#define V GEMM_VEC
#define L GEMM_LANES
#define OP GEMM_OP
#define NR (2 * GEMM_LANES)
#define MASK(count) ((GEMM_MASK)lanes_mask((count), GEMM_LANES))

/* What the store does with a tile. */
typedef struct FN(store_mode) {
    T alpha, beta;
    const T *bias; /* the row added on the first K block (then beta is not used), or NULL */
    bool first;    /* the first K block: C = alpha * acc + (bias | beta * C); later: C += alpha * acc */
} FN(store_mode);

/* C[0:rows, 0:cols] (rows <= MR, cols <= NR) from an A panel, element (i, p) at a[i * a_rs + p * a_ps], and a packed
 * B panel (kc x NR). Inlined into a kernel for packed A panels (a_rs = 1, a_ps = MR) and one that reads A where it
 * is (direct_kernel). */
TARGET_AVX512 static inline __attribute__((always_inline)) void
FN(kernel_body)(int64_t kc, const T *a, int64_t a_rs, int64_t a_ps, const T *restrict b, T *c, int64_t ldc, int rows,
                int cols, const FN(store_mode) *s) {
    V acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = OP(setzero)();
    for (int64_t p = 0; p < kc; p++) {
        V b0 = OP(load)(b), b1 = OP(load)(b + L);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            V ai = OP(set1)(a[i * a_rs]);
            acc[i][0] = OP(fmadd)(ai, b0, acc[i][0]);
            acc[i][1] = OP(fmadd)(ai, b1, acc[i][1]);
        }
        a += a_ps, b += NR;
    }
    GEMM_MASK m0 = MASK(cols), m1 = MASK(cols - L);
    V alpha = OP(set1)(s->alpha), beta = OP(set1)(s->beta);
    V bias0 = OP(setzero)(), bias1 = OP(setzero)();
    bool add_c = !s->first, add_bias = s->first && s->bias, scale_c = s->first && !s->bias && s->beta != 0;
    if (add_bias) bias0 = OP(maskz_loadu)(m0, s->bias), bias1 = OP(maskz_loadu)(m1, s->bias + L);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        if (i >= rows) break;
        T *ci = c + i * ldc;
        V x0 = OP(mul)(acc[i][0], alpha), x1 = OP(mul)(acc[i][1], alpha);
        if (add_c) {
            x0 = OP(add)(x0, OP(maskz_loadu)(m0, ci));
            x1 = OP(add)(x1, OP(maskz_loadu)(m1, ci + L));
        } else if (add_bias) {
            x0 = OP(add)(x0, bias0), x1 = OP(add)(x1, bias1);
        } else if (scale_c) {
            x0 = OP(fmadd)(beta, OP(maskz_loadu)(m0, ci), x0);
            x1 = OP(fmadd)(beta, OP(maskz_loadu)(m1, ci + L), x1);
        }
        OP(mask_storeu)(ci, m0, x0);
        OP(mask_storeu)(ci + L, m1, x1);
    }
}

TARGET_AVX512 static void FN(micro_kernel)(int64_t kc, const T *restrict a, const T *restrict b, T *c, int64_t ldc,
                                           int rows, int cols, const FN(store_mode) *s) {
    FN(kernel_body)(kc, a, 1, MR, b, c, ldc, rows, cols, s);
}

/* A full panel of MR rows read from A itself: for products with few columns, where a packed panel would be read
 * by one or two B panels only and packing would cost as much as the product. */
TARGET_AVX512 static void FN(direct_kernel)(int64_t kc, const T *a, int64_t a_rs, int64_t a_ps, const T *restrict b,
                                            T *c, int64_t ldc, int cols, const FN(store_mode) *s) {
    FN(kernel_body)(kc, a, a_rs, a_ps, b, c, ldc, MR, cols, s);
}

/* Packs op(A)[i0:i1, p0:p0+kc] into panels of MR rows (the last one zero-padded): dst[panel][p][i]. A panel's rows
 * go in groups of L (one group of 16 floats, or 8 + 4 doubles). */
TARGET_AVX512 static void FN(pack_a)(const T *a, int64_t lda, bool trans, int64_t i0, int64_t i1, int64_t p0,
                                     int64_t kc, T *restrict dst) {
    for (int64_t ip = i0; ip < i1; ip += MR, dst += MR * kc) {
        int rows = i1 - ip < MR ? (int)(i1 - ip) : MR;
        if (trans) { /* op(A)[i][p] = a[p * lda + i]: each p is a contiguous run of rows */
            for (int64_t p = 0; p < kc; p++)
#pragma GCC unroll 2
                for (int ih = 0; ih < MR; ih += L)
                    OP(mask_storeu)(dst + p * MR + ih, MASK(MR - ih),
                                    OP(maskz_loadu)(MASK(rows - ih), a + (p0 + p) * lda + ip + ih));
        } else { /* op(A)[i][p] = a[i * lda + p]: L columns at a time through an L x L transpose */
            const T *src = a + ip * lda + p0;
            for (int64_t p = 0; p < kc; p += L) {
                int64_t width = kc - p < L ? kc - p : L;
                GEMM_MASK cols = MASK(width);
#pragma GCC unroll 2
                for (int ih = 0; ih < MR; ih += L) {
                    V r[L];
#pragma GCC unroll 16
                    for (int i = 0; i < L; i++)
                        r[i] = ih + i < rows ? OP(maskz_loadu)(cols, src + (ih + i) * lda + p) : OP(setzero)();
                    GEMM_TRANSPOSE(r);
#pragma GCC unroll 16
                    for (int q = 0; q < L; q++)
                        if (q < width) OP(mask_storeu)(dst + (p + q) * MR + ih, MASK(MR - ih), r[q]);
                }
            }
        }
    }
}

/* Packs op(B)[p0:p0+kc, j0:j1] into panels of NR columns (the last one zero-padded): dst[panel][p][j]. */
TARGET_AVX512 static void FN(pack_b)(const T *b, int64_t ldb, bool trans, int64_t j0, int64_t j1, int64_t p0,
                                     int64_t kc, T *restrict dst) {
    for (int64_t jp = j0; jp < j1; jp += NR, dst += NR * kc) {
        int cols = j1 - jp < NR ? (int)(j1 - jp) : NR;
        if (!trans) { /* op(B)[p][j] = b[p * ldb + j]: each p is a contiguous run of columns */
            GEMM_MASK m0 = MASK(cols), m1 = MASK(cols - L);
            for (int64_t p = 0; p < kc; p++) {
                const T *src = b + (p0 + p) * ldb + jp;
                OP(store)(dst + p * NR, OP(maskz_loadu)(m0, src));
                OP(store)(dst + p * NR + L, OP(maskz_loadu)(m1, src + L));
            }
        } else { /* op(B)[p][j] = b[j * ldb + p]: L x L blocks through a transpose */
            for (int jh = 0; jh < NR; jh += L) {
                const T *src = b + (jp + jh) * ldb + p0;
                for (int64_t p = 0; p < kc; p += L) {
                    int64_t width = kc - p < L ? kc - p : L;
                    GEMM_MASK ps = MASK(width);
                    V r[L];
#pragma GCC unroll 16
                    for (int j = 0; j < L; j++)
                        r[j] = jh + j < cols ? OP(maskz_loadu)(ps, src + j * ldb + p) : OP(setzero)();
                    GEMM_TRANSPOSE(r);
#pragma GCC unroll 16
                    for (int q = 0; q < L; q++)
                        if (q < width) OP(store)(dst + (p + q) * NR + jh, r[q]);
                }
            }
        }
    }
}

/* The work: the descriptor, and how it is cut into tasks. */
typedef struct FN(plan) {
    const ct__gemm *g;
    T alpha, beta;
    int64_t kc;             /* the K block (the last one may be shorter) */
    bool direct_a;          /* full A panels are read in place, not packed (products of at most DIRECT_MAX_N columns) */
    int64_t mparts, nparts; /* tasks per batch item: mparts x nparts rectangles of C */
    int64_t mt, nt;         /* rows and columns of a task (multiples of MR and NR) */
    size_t abuf_elems, bbuf_elems;
    atomic_bool failed; /* a task could not allocate its buffers */
} FN(plan);

/* C_item[m0:m1, n0:n1]. */
static void FN(run_rectangle)(const FN(plan) *pl, int64_t item, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                              T *abuf, T *bbuf) {
    const ct__gemm *g = pl->g;
    const T *a = (const T *)g->a + item * g->stride_a, *b = (const T *)g->b + item * g->stride_b;
    T *c = (T *)g->c + item * g->stride_c;
    for (int64_t p0 = 0; p0 < g->k; p0 += pl->kc) {
        int64_t kc = min64(pl->kc, g->k - p0);
        /* direct: full panels are read from A, only a last partial one is packed (at abuf) */
        int64_t full_end = pl->direct_a ? m0 + (m1 - m0) / MR * MR : m0;
        FN(pack_a)(a, g->lda, g->trans_a, full_end, m1, p0, kc, abuf);
        for (int64_t j0 = n0; j0 < n1; j0 += GEMM_NB) {
            int64_t j1 = min64(j0 + GEMM_NB, n1);
            FN(pack_b)(b, g->ldb, g->trans_b, j0, j1, p0, kc, bbuf);
            for (int64_t i = m0; i < m1; i += MR) {
                const T *ap = i < full_end ? NULL : abuf + (i - full_end) * kc;
                const T *direct = g->trans_a ? a + p0 * g->lda + i : a + i * g->lda + p0;
                int rows = (int)min64(MR, m1 - i);
                for (int64_t j = j0; j < j1; j += NR) {
                    FN(store_mode) s = {pl->alpha, pl->beta, g->bias ? (const T *)g->bias + j : NULL, p0 == 0};
                    int cols = (int)min64(NR, j1 - j);
                    if (i < full_end)
                        FN(direct_kernel)(kc, direct, g->trans_a ? 1 : g->lda, g->trans_a ? g->lda : 1,
                                          bbuf + (j - j0) * kc, c + i * g->ldc + j, g->ldc, cols, &s);
                    else
                        FN(micro_kernel)(kc, ap, bbuf + (j - j0) * kc, c + i * g->ldc + j, g->ldc, rows, cols, &s);
                }
            }
        }
    }
}

/* Tasks [begin, end): task t is batch item t / (mparts * nparts), then a rectangle in row-major order. */
static void FN(run_tasks)(int64_t begin, int64_t end, void *ctx) {
    FN(plan) *pl = ctx;
    const ct__gemm *g = pl->g;
    T *abuf = thread_buffer((pl->abuf_elems + pl->bbuf_elems) * sizeof(T)), *bbuf = abuf + pl->abuf_elems;
    if (!abuf) {
        atomic_store(&pl->failed, true);
        return;
    }
    int64_t per_item = pl->mparts * pl->nparts;
    for (int64_t t = begin; t < end; t++) {
        int64_t item = t / per_item, mi = t % per_item / pl->nparts, ni = t % pl->nparts;
        int64_t m0 = mi * pl->mt, n0 = ni * pl->nt;
        if (m0 >= g->m || n0 >= g->n) continue;
        FN(run_rectangle)(pl, item, m0, min64(m0 + pl->mt, g->m), n0, min64(n0 + pl->nt, g->n), abuf, bbuf);
    }
}

ct_status FN(ct__gemm_avx512)(const ct__gemm *g) {
    FN(plan) pl = {.g = g, .alpha = (T)g->alpha, .beta = g->bias ? (T)1 : (T)g->beta, .direct_a = g->n <= DIRECT_MAX_N};
    int64_t kblocks = ceil_div(g->k, GEMM_KC_MAX);
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
    int64_t mt_max = round_up(A_PART_MAX_BYTES / (int64_t)sizeof(T) / pl.kc, MR);
    if (mt_max < MR) mt_max = MR;
    if (ceil_div(g->m, mparts) > mt_max) {
        mparts = ceil_div(g->m, mt_max);
        if (threads > 1 && parts > 1) mparts = round_up(mparts, threads);
    }
    pl.mt = round_up(ceil_div(g->m, mparts), MR);
    pl.nt = round_up(ceil_div(g->n, nparts), NR);
    pl.mparts = ceil_div(g->m, pl.mt);
    pl.nparts = ceil_div(g->n, pl.nt);
    int64_t line = 64 / (int64_t)sizeof(T); /* aligned_alloc takes whole 64-byte lines; B panels start on one */
    pl.abuf_elems = (size_t)round_up(pl.mt * pl.kc, line);
    pl.bbuf_elems = (size_t)round_up(min64(pl.nt, GEMM_NB) * pl.kc, line);
    atomic_init(&pl.failed, false);

    int64_t tasks = g->batch * pl.mparts * pl.nparts;
    ct__parallel_for(tasks, 1, FN(run_tasks), &pl);
    if (atomic_load(&pl.failed))
        return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "no memory for the GEMM's packing buffers (%zu bytes)",
                       (pl.abuf_elems + pl.bbuf_elems) * sizeof(T));
    return CT_OK;
}

#undef MASK
#undef NR
#undef OP
#undef L
#undef V
#undef T
#undef FN
#undef GEMM_CAT
#undef GEMM_CAT_
#undef GEMM_T
#undef GEMM_SUFFIX
#undef GEMM_LANES
#undef GEMM_VEC
#undef GEMM_MASK
#undef GEMM_OP
#undef GEMM_TRANSPOSE
#undef GEMM_KC_MAX
#undef GEMM_NB
