/* A packed float32 and float64 GEMM for AVX-512 CPUs, in the BLIS way: the operands are copied into panels whose
 * layout the micro-kernel reads in order, and the loops around it keep each panel in the cache level that feeds it.
 * Both types share one body (gemm_avx512_typed.h, included once per type); they differ in the lanes of a register
 * (16 floats, 8 doubles), the transpose used by the packing, and the block sizes, which halve for doubles so that
 * the panels keep their bytes. Below, float32's numbers, then float64's in brackets.
 *
 *   the micro-kernel  a tile of C of MR = 12 rows x NR = 32 [16] columns (two zmm per row): 24 accumulators; per k
 *                     it loads the B row (2 vectors) and broadcasts 12 A values, 24 FMAs. The A panel (12 x kc,
 *                     <= 18 KB) stays in L1 while the kernel sweeps the B panels, which stream from L2.
 *   packing           A into panels of MR rows, k-major (ap[p * MR + i]); B into panels of NR columns, k-major
 *                     (bp[p * NR + j]). Packing reads either layout, so the transpose flags and leading dims end
 *                     there (row-major operands go through 16 x 16 [8 x 8] register transposes); rows and columns
 *                     past the edge are zeros. A product of at most 2 * NR columns (conv2d's im2col @ weights) reads
 *                     its full A panels in place instead: each would be used by one or two B panels only, and
 *                     packing cost as much as the product (12544x32x144: 0.96 -> 0.72 ms on one thread).
 *   blocking          K in blocks of at most KC_MAX = 384 [192] (split evenly: k = 1000 gives 3 x 334 [6 x 167]),
 *                     N in blocks of NB = 480 columns (a packed B block, kc x NB, 720 KB, is sized for L2); A is
 *                     packed for the task's rows at once.
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

#define MR 12                           /* rows of a tile; its columns, NR, are two registers' worth */
#define A_PART_MAX_BYTES (1 << 20)      /* a task's packed A rows: more rows than this fit become more tasks */
#define DIRECT_MAX_N (2 * NR)           /* up to this many columns, A is read in place (direct_kernel) */
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

/* The first min(max(count, 0), lanes) of `lanes` lanes (lanes <= 16). */
static inline unsigned lanes_mask(int64_t count, int lanes) {
    return count >= lanes ? (1u << lanes) - 1 : count <= 0 ? 0u : (1u << count) - 1;
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

/* Transposes the 8 x 8 matrix of doubles whose rows are r[0..7] in place. */
TARGET_AVX512 static inline void transpose8(__m512d r[8]) {
    __m512d t[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 2) t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]), t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
    /* t[2h + e] holds rows 2h, 2h + 1 at columns e, e + 2, e + 4, e + 6 (a 128-bit lane each) */
#pragma GCC unroll 2
    for (int h = 0; h < 8; h += 4)
#pragma GCC unroll 2
        for (int e = 0; e < 2; e++) {
            r[h + e] = _mm512_shuffle_f64x2(t[h + e], t[h + e + 2], 0x88);     /* columns e, e + 4 of 4 rows */
            r[h + e + 2] = _mm512_shuffle_f64x2(t[h + e], t[h + e + 2], 0xdd); /* columns e + 2, e + 6 */
        }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f64x2(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f64x2(r[i], r[i + 4], 0xdd);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) r[i] = t[i];
}

/* The packing buffers: one per thread, kept between calls (a fresh allocation of a few hundred KB would be
 * mapped and faulted in again on every call) and freed when the thread exits. A thread's buffer is used by one
 * call at a time: a thread runs one task at a time, and a GEMM called from inside a task runs serially. */
typedef struct thread_buf {
    void *data;
    size_t bytes;
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

/* This thread's buffer of at least `bytes` bytes (a multiple of 64; 64-byte aligned), or NULL when out of memory.
 * Both element types share it. */
static void *thread_buffer(size_t bytes) {
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
    if (tb->bytes < bytes) {
        free(tb->data);
        tb->bytes = 0;
        if (!(tb->data = aligned_alloc(64, bytes))) return NULL;
        tb->bytes = bytes;
    }
    return tb->data;
}


static inline int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
static inline int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }
static inline int64_t round_up(int64_t x, int64_t y) { return ceil_div(x, y) * y; }

/* float32: 12 x 32 tiles, K blocks of <= 384 (an A panel 18 KB, a B panel 48 KB), B blocks of 384 x 480 floats
 * (720 KB, in L2). */
#define GEMM_T float
#define GEMM_SUFFIX f32
#define GEMM_LANES 16
#define GEMM_VEC __m512
#define GEMM_MASK __mmask16
#define GEMM_OP(op) _mm512_##op##_ps
#define GEMM_TRANSPOSE transpose16
#define GEMM_KC_MAX 384
#define GEMM_NB 480
#include "gemm_avx512_typed.h"

/* float64: 12 x 16 tiles, K blocks of <= 192 (the same bytes: an A panel 18 KB, a B panel 24 KB), B blocks of
 * 192 x 480 doubles (720 KB). Measured on one thread against K blocks of 128, 160, 224, 256 and 320 and B blocks of
 * 384 to 960 columns: 512^3 2.67 ms (K 256: 2.81, 320: 2.85), the others within noise. */
#define GEMM_T double
#define GEMM_SUFFIX f64
#define GEMM_LANES 8
#define GEMM_VEC __m512d
#define GEMM_MASK __mmask8
#define GEMM_OP(op) _mm512_##op##_pd
#define GEMM_TRANSPOSE transpose8
#define GEMM_KC_MAX 192
#define GEMM_NB 480
#include "gemm_avx512_typed.h"
