/* Random numbers: a Philox4x32-10 counter-based generator (Salmon et al., SC'11), the same one cuRAND and PyTorch's
 * CUDA generator use, so a later GPU sampler can produce the same stream from (seed, offset). Values are drawn on
 * the CPU and moved once to the device; the same seed gives the same tensor on every device and machine. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "cpu/cpu_iter.h"
#include "internal.h"

struct ct_generator {
    pthread_mutex_t lock;
    uint64_t seed;
    uint64_t counter; /* blocks of 4 x 32 bits used so far */
};

static void philox(uint64_t key64, uint64_t ctr64, uint32_t out[4]) {
    uint32_t c[4] = {(uint32_t)ctr64, (uint32_t)(ctr64 >> 32), 0, 0};
    uint32_t k[2] = {(uint32_t)key64, (uint32_t)(key64 >> 32)};
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k[0], n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k[1];
        c[0] = n0, c[1] = (uint32_t)p1, c[2] = n2, c[3] = (uint32_t)p0;
        k[0] += 0x9E3779B9u, k[1] += 0xBB67AE85u;
    }
    for (int i = 0; i < 4; i++) out[i] = c[i];
}

/* A stream of 32-bit words from a reserved counter range. */
typedef struct {
    uint64_t seed, counter;
    uint32_t block[4];
    int used;
} stream;

static uint32_t next32(stream *s) {
    if (s->used == 4) {
        philox(s->seed, s->counter++, s->block);
        s->used = 0;
    }
    return s->block[s->used++];
}

static uint64_t next64(stream *s) {
    uint64_t hi = next32(s);
    return hi << 32 | next32(s);
}

static double uniform53(stream *s) { return (double)(next64(s) >> 11) * 0x1.0p-53; }

static ct_generator default_gen = {PTHREAD_MUTEX_INITIALIZER, 0, 0};

ct_generator *ct_generator_new(uint64_t seed) {
    ct_generator *g = malloc(sizeof *g);
    if (!g) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a generator");
        return NULL;
    }
    pthread_mutex_init(&g->lock, NULL);
    g->seed = seed;
    g->counter = 0;
    return g;
}

void ct_generator_free(ct_generator *g) {
    if (!g || g == &default_gen) return;
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void ct_generator_manual_seed(ct_generator *g, uint64_t seed) {
    if (!g) g = &default_gen;
    pthread_mutex_lock(&g->lock);
    g->seed = seed;
    g->counter = 0;
    pthread_mutex_unlock(&g->lock);
}

void ct_manual_seed(uint64_t seed) { ct_generator_manual_seed(&default_gen, seed); }

/* Reserves enough counter blocks for `words` 32-bit words and returns a stream over them. */
static stream reserve(ct_generator *g, int64_t words) {
    if (!g) g = &default_gen;
    pthread_mutex_lock(&g->lock);
    stream s = {g->seed, g->counter, {0}, 4};
    g->counter += (uint64_t)(words + 3) / 4;
    pthread_mutex_unlock(&g->lock);
    return s;
}

typedef enum { UNIFORM, NORMAL, INTEGER } distribution;

static ct_tensor *sample(const char *func, distribution dist, int64_t low, int64_t high, int ndim,
                         const int64_t *shape, ct_dtype dtype, ct_device device, ct_generator *gen) {
    if (ct__check_shape(ndim, shape, func) != CT_OK) return NULL;
    if (dist != INTEGER && dtype != CT_FLOAT32 && dtype != CT_FLOAT64) {
        ct__error(CT_ERR_DTYPE, func, "expected a floating dtype (float32 or float64), got %s", ct_dtype_name(dtype));
        return NULL;
    }
    if (dist == INTEGER && (ct_dtype_size(dtype) == 0 || dtype >= CT_FLOAT16)) {
        ct__error(CT_ERR_DTYPE, func, "unsupported dtype %s", ct_dtype_name(dtype));
        return NULL;
    }
    if (ct_device_check(device) != CT_OK) return NULL;
    ct_tensor *host = ct__tensor_new(ndim, shape, dtype, CT_DEVICE_CPU, false);
    if (!host) return NULL;
    int64_t n = ct_numel(host);
    char *p = ct_data_ptr(host);
    size_t size = ct_dtype_size(dtype);
    /* a value uses at most four 32-bit words; only a rejected integer draw (probability below range / 2^64) can
     * read past the reservation, which then shares words with the next call's: still uniform, just not disjoint */
    stream s = reserve(gen, 4 * n);
    uint64_t range = (uint64_t)high - (uint64_t)low;
    uint64_t limit = range ? UINT64_MAX - UINT64_MAX % range : 0;
    for (int64_t i = 0; i < n; i++) {
        ct__scalar v = {true, 0, 0};
        if (dist == UNIFORM) {
            v.f = dtype == CT_FLOAT32 ? (double)(next32(&s) >> 8) * 0x1.0p-24 : uniform53(&s);
        } else if (dist == NORMAL) {
            double u1 = 1.0 - uniform53(&s), u2 = uniform53(&s);
            v.f = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
        } else {
            uint64_t r;
            do r = next64(&s);
            while (r >= limit);
            v = (ct__scalar){false, 0, (int64_t)((uint64_t)low + r % range)};
        }
        ct__store_scalar(p + (size_t)i * size, dtype, v);
    }
    if (device.type == CT_CPU) return host;
    ct_tensor *t = ct_to_device(host, device);
    ct_release(host);
    return t;
}

ct_tensor *ct_rand(int ndim, const int64_t *shape, ct_dtype dtype, ct_device device, ct_generator *gen) {
    return sample(__func__, UNIFORM, 0, 0, ndim, shape, dtype, device, gen);
}

ct_tensor *ct_randn(int ndim, const int64_t *shape, ct_dtype dtype, ct_device device, ct_generator *gen) {
    return sample(__func__, NORMAL, 0, 0, ndim, shape, dtype, device, gen);
}

ct_tensor *ct_randint(int64_t low, int64_t high, int ndim, const int64_t *shape, ct_dtype dtype, ct_device device,
                      ct_generator *gen) {
    if (high <= low) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "random_ expects 'from' to be less than 'to', but got from=%lld >= to=%lld",
                (long long)low, (long long)high);
        return NULL;
    }
    return sample(__func__, INTEGER, low, high, ndim, shape, dtype, device, gen);
}

ct_tensor *ct_randperm(int64_t n, ct_dtype dtype, ct_device device, ct_generator *gen) {
    if (n < 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "n must be non-negative, got %lld", (long long)n);
        return NULL;
    }
    if (dtype != CT_INT64 && dtype != CT_INT32 && dtype != CT_FLOAT32 && dtype != CT_FLOAT64) {
        CT_FAIL(CT_ERR_DTYPE, "randperm is not implemented for %s", ct_dtype_name(dtype));
        return NULL;
    }
    if (ct_device_check(device) != CT_OK) return NULL;
    int64_t *perm = malloc(sizeof *perm * (size_t)(n ? n : 1));
    if (!perm) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory for a permutation of %lld", (long long)n);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    stream s = reserve(gen, 2 * n);
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int64_t j = (int64_t)(next64(&s) % (uint64_t)(i + 1));
        int64_t x = perm[i];
        perm[i] = perm[j], perm[j] = x;
    }
    ct_tensor *p64 = ct_tensor_from_data(perm, 1, &n, CT_INT64, CT_DEVICE_CPU);
    free(perm);
    if (!p64) return NULL;
    ct_tensor *typed = ct_to_dtype(p64, dtype);
    ct_release(p64);
    if (!typed || device.type == CT_CPU) return typed;
    ct_tensor *t = ct_to_device(typed, device);
    ct_release(typed);
    return t;
}
