/* Samplers (the order of one epoch's indices) and batch samplers (how those indices group into batches), after
 * torch.utils.data.sampler: Sequential, Random (with or without replacement, num_samples), SubsetRandom,
 * WeightedRandom, a predicate sampler (the indices a test keeps), user samplers from a vtable, and BatchSampler.
 * A sampler writes a whole epoch's indices at once from a generator the caller seeds: the loader runs it once per
 * epoch in the calling thread and the workers then fetch batches by number. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

/* ---- the sampler handle -------------------------------------------------------------------------------------------- */

ct_sampler *ct_sampler_new(const ct_sampler_vtable *vt, void *ctx) {
    ct_sampler *s = vt && vt->len && vt->sample ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        if (!vt || !vt->len || !vt->sample)
            CT_FAIL(CT_ERR_INVALID_ARGUMENT, "a sampler vtable needs len and sample");
        else
            CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a sampler");
        if (vt && vt->destroy) vt->destroy(ctx);
        return NULL;
    }
    atomic_init(&s->refcount, 1);
    s->vt = vt;
    s->ctx = ctx;
    return s;
}

ct_sampler *ct_sampler_retain(ct_sampler *s) {
    if (s) atomic_fetch_add(&s->refcount, 1);
    return s;
}

void ct_sampler_release(ct_sampler *s) {
    if (!s || atomic_fetch_sub(&s->refcount, 1) != 1) return;
    if (s->vt->destroy) s->vt->destroy(s->ctx);
    free(s);
}

int64_t ct_sampler_len(const ct_sampler *s) { return s ? s->vt->len(s->ctx) : 0; }

ct_status ct_sampler_indices(ct_sampler *s, uint64_t seed, int64_t *out) {
    if (!s) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 's' is NULL");
    if (!out && ct_sampler_len(s) > 0) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'out' is NULL");
    ct_rng rng = {seed};
    return s->vt->sample(s->ctx, &rng, out);
}

/* A sampler whose ctx is one malloc'd struct. */
static ct_sampler *sampler_with(const ct_sampler_vtable *vt, void *ctx, const char *what) {
    if (!ctx) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a %s", what);
        return NULL;
    }
    return ct_sampler_new(vt, ctx);
}

static void free_ctx(void *ctx) { free(ctx); }

/* ---- SequentialSampler ----------------------------------------------------------------------------------------- */

typedef struct {
    int64_t n;
} sequential;

static int64_t sequential_len(void *ctx) { return ((sequential *)ctx)->n; }

static ct_status sequential_sample(void *ctx, ct_rng *rng, int64_t *out) {
    for (int64_t i = 0; i < ((sequential *)ctx)->n; i++) out[i] = i;
    return CT_OK;
}

static const ct_sampler_vtable sequential_vt = {
    .name = "SequentialSampler", .len = sequential_len, .sample = sequential_sample, .destroy = free_ctx};

ct_sampler *ct_sequential_sampler(int64_t n) {
    if (n < 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "the dataset length must be non-negative, got %lld", (long long)n);
        return NULL;
    }
    sequential *s = malloc(sizeof *s);
    if (s) s->n = n;
    return sampler_with(&sequential_vt, s, "SequentialSampler");
}

/* ---- RandomSampler ------------------------------------------------------------------------------------------- */

/* Fisher-Yates: out[0..n) becomes a uniform random permutation of 0..n-1. */
static void permutation(ct_rng *rng, int64_t n, int64_t *out) {
    for (int64_t i = 0; i < n; i++) out[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = ct_rng_below(rng, i + 1), t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}

typedef struct {
    int64_t n, num_samples;
    bool replacement;
} random_sampler;

static int64_t random_len(void *ctx) { return ((random_sampler *)ctx)->num_samples; }

static ct_status random_sample(void *ctx, ct_rng *rng, int64_t *out) {
    random_sampler *r = ctx;
    if (r->replacement) {
        for (int64_t i = 0; i < r->num_samples; i++) out[i] = ct_rng_below(rng, r->n);
        return CT_OK;
    }
    int64_t *perm = malloc(sizeof *perm * (size_t)(r->n > 0 ? r->n : 1));
    if (!perm) return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory for a permutation of %lld", (long long)r->n);
    for (int64_t done = 0; done < r->num_samples;) { /* whole permutations, then part of one */
        permutation(rng, r->n, perm);
        int64_t take = r->num_samples - done < r->n ? r->num_samples - done : r->n;
        memcpy(out + done, perm, sizeof *perm * (size_t)take);
        done += take;
    }
    free(perm);
    return CT_OK;
}

static const ct_sampler_vtable random_vt = {
    .name = "RandomSampler", .len = random_len, .sample = random_sample, .destroy = free_ctx};

ct_sampler *ct_random_sampler(int64_t n, bool replacement, int64_t num_samples) {
    int64_t count = num_samples ? num_samples : n;
    if (count <= 0 || n < 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "num_samples should be a positive integer value, but got num_samples=%lld",
                (long long)count);
        return NULL;
    }
    if (n == 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "cannot draw %lld samples from an empty dataset", (long long)count);
        return NULL;
    }
    random_sampler *r = malloc(sizeof *r);
    if (r) *r = (random_sampler){n, count, replacement};
    return sampler_with(&random_vt, r, "RandomSampler");
}

/* ---- SubsetRandomSampler ---------------------------------------------------------------------------------------- */

typedef struct {
    int64_t n;
    int64_t indices[]; /* n of them */
} subset_random;

static int64_t subset_random_len(void *ctx) { return ((subset_random *)ctx)->n; }

static ct_status subset_random_sample(void *ctx, ct_rng *rng, int64_t *out) {
    subset_random *s = ctx;
    permutation(rng, s->n, out);
    for (int64_t i = 0; i < s->n; i++) out[i] = s->indices[out[i]];
    return CT_OK;
}

static const ct_sampler_vtable subset_random_vt = {
    .name = "SubsetRandomSampler", .len = subset_random_len, .sample = subset_random_sample, .destroy = free_ctx};

ct_sampler *ct_subset_random_sampler(int64_t n, const int64_t *indices) {
    if (n < 0 || (n > 0 && !indices)) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "%s", n < 0 ? "number of indices is negative" : "argument 'indices' is NULL");
        return NULL;
    }
    subset_random *s = malloc(sizeof *s + sizeof(int64_t) * (size_t)n);
    if (s) {
        s->n = n;
        if (n) memcpy(s->indices, indices, sizeof(int64_t) * (size_t)n);
    }
    return sampler_with(&subset_random_vt, s, "SubsetRandomSampler");
}

/* ---- WeightedRandomSampler ---------------------------------------------------------------------------------------- */

typedef struct {
    int64_t n, num_samples;
    bool replacement;
    double *cumulative; /* cumulative[i] = weights[0] + ... + weights[i] */
    double weights[];   /* n of them */
} weighted;

static int64_t weighted_len(void *ctx) { return ((weighted *)ctx)->num_samples; }

/* With replacement: inverse transform sampling on the cumulative weights. */
static void weighted_with_replacement(weighted *w, ct_rng *rng, int64_t *out) {
    double total = w->cumulative[w->n - 1];
    for (int64_t s = 0; s < w->num_samples; s++) {
        double u = ct_rng_uniform(rng) * total;
        int64_t lo = 0, hi = w->n - 1; /* the first i with cumulative[i] > u */
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (w->cumulative[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        while (w->weights[lo] == 0 && lo > 0) lo--; /* u landed on a boundary: never pick a zero weight */
        out[s] = lo;
    }
}

typedef struct {
    double key;
    int64_t index;
} keyed;

static int by_key_descending(const void *a, const void *b) {
    double x = ((const keyed *)a)->key, y = ((const keyed *)b)->key;
    return x > y ? -1 : x < y;
}

/* Without replacement: the num_samples largest keys log(u) / w (Efraimidis and Spirakis, 2006), in decreasing order
 * of key, which is distributed as successive draws that each remove the drawn item. */
static ct_status weighted_without_replacement(weighted *w, ct_rng *rng, int64_t *out) {
    keyed *keys = malloc(sizeof *keys * (size_t)w->n);
    if (!keys) return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory for %lld sampling keys", (long long)w->n);
    for (int64_t i = 0; i < w->n; i++) {
        double u = 1.0 - ct_rng_uniform(rng); /* (0, 1] */
        keys[i] = (keyed){w->weights[i] > 0 ? log(u) / w->weights[i] : -INFINITY, i};
    }
    qsort(keys, (size_t)w->n, sizeof *keys, by_key_descending);
    for (int64_t s = 0; s < w->num_samples; s++) out[s] = keys[s].index;
    free(keys);
    return CT_OK;
}

static ct_status weighted_sample(void *ctx, ct_rng *rng, int64_t *out) {
    weighted *w = ctx;
    if (w->replacement) {
        weighted_with_replacement(w, rng, out);
        return CT_OK;
    }
    return weighted_without_replacement(w, rng, out);
}

static const ct_sampler_vtable weighted_vt = {
    .name = "WeightedRandomSampler", .len = weighted_len, .sample = weighted_sample, .destroy = free_ctx};

static ct_status check_weights(int64_t n, const double *weights, int64_t num_samples, bool replacement) {
    if (num_samples <= 0)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                       "num_samples should be a positive integer value, but got num_samples=%lld",
                       (long long)num_samples);
    if (n <= 0 || !weights)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "prob_dist must have at least one category (got %lld weights)",
                       (long long)n);
    double sum = 0;
    int64_t nonzero = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(weights[i]))
            return CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                           "invalid multinomial distribution (encountering probability entry = infinity or NaN)");
        if (weights[i] < 0)
            return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "invalid multinomial distribution (encountering probability entry < 0)");
        sum += weights[i];
        nonzero += weights[i] > 0;
    }
    if (!(sum > 0) || !isfinite(sum))
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "invalid multinomial distribution (sum of probabilities <= 0)");
    if (!replacement && num_samples > n)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "cannot sample n_sample > prob_dist.size(-1) samples without replacement");
    if (!replacement && num_samples > nonzero)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "invalid multinomial distribution (with replacement=False, not enough "
                                                "non-negative category to sample)");
    return CT_OK;
}

ct_sampler *ct_weighted_random_sampler(int64_t n, const double *weights, int64_t num_samples, bool replacement) {
    if (check_weights(n, weights, num_samples, replacement) != CT_OK) return NULL;
    weighted *w = malloc(sizeof *w + sizeof(double) * 2 * (size_t)n);
    if (w) {
        *w = (weighted){n, num_samples, replacement, NULL};
        w->cumulative = w->weights + n;
        double c = 0;
        for (int64_t i = 0; i < n; i++) w->cumulative[i] = c += w->weights[i] = weights[i];
    }
    return sampler_with(&weighted_vt, w, "WeightedRandomSampler");
}

/* ---- predicate sampler ------------------------------------------------------------------------------------------- */

typedef struct {
    int64_t n;
    bool (*keep)(int64_t index, void *ctx);
    void *ctx;
} predicate;

static int64_t predicate_len(void *ctx) {
    predicate *p = ctx;
    int64_t count = 0;
    for (int64_t i = 0; i < p->n; i++) count += p->keep(i, p->ctx);
    return count;
}

static ct_status predicate_sample(void *ctx, ct_rng *rng, int64_t *out) {
    predicate *p = ctx;
    int64_t k = 0;
    for (int64_t i = 0; i < p->n; i++)
        if (p->keep(i, p->ctx)) out[k++] = i;
    return CT_OK;
}

static const ct_sampler_vtable predicate_vt = {
    .name = "PredicateSampler", .len = predicate_len, .sample = predicate_sample, .destroy = free_ctx};

ct_sampler *ct_predicate_sampler(int64_t n, bool (*keep)(int64_t index, void *ctx), void *ctx) {
    if (n < 0 || !keep) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "%s", n < 0 ? "the dataset length must be non-negative" : "argument 'keep' is NULL");
        return NULL;
    }
    predicate *p = malloc(sizeof *p);
    if (p) *p = (predicate){n, keep, ctx};
    return sampler_with(&predicate_vt, p, "PredicateSampler");
}

/* ---- batch lists --------------------------------------------------------------------------------------------------- */

ct_batch_list *ct_batch_list_new(void) {
    ct_batch_list *l = calloc(1, sizeof *l);
    if (l) l->offsets = calloc(1, sizeof *l->offsets), l->cap_offsets = 1;
    if (!l || !l->offsets) {
        free(l);
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a batch list");
        return NULL;
    }
    return l;
}

static bool grow(int64_t **array, int64_t *cap, int64_t need) {
    if (need <= *cap) return true;
    int64_t cap2 = *cap * 2 > need ? *cap * 2 : need;
    int64_t *a = realloc(*array, sizeof *a * (size_t)cap2);
    if (!a) return false;
    *array = a;
    *cap = cap2;
    return true;
}

ct_status ct_batch_list_push(ct_batch_list *l, int64_t n, const int64_t *indices) {
    if (!l) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'list' is NULL");
    if (n < 1 || !indices)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "a batch needs at least one index (got %lld)", (long long)n);
    if (!grow(&l->indices, &l->cap_indices, l->nindices + n) || !grow(&l->offsets, &l->cap_offsets, l->count + 2))
        return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory growing a batch list");
    memcpy(l->indices + l->nindices, indices, sizeof *indices * (size_t)n);
    l->nindices += n;
    l->offsets[++l->count] = l->nindices;
    return CT_OK;
}

int64_t ct_batch_list_count(const ct_batch_list *l) { return l ? l->count : 0; }

const int64_t *ct_batch_list_at(const ct_batch_list *l, int64_t k, int64_t *n) {
    if (!l || k < 0 || k >= l->count) {
        CT_FAIL(CT_ERR_INDEX, "batch %lld is out of range for a list of %lld batches", (long long)k,
                (long long)ct_batch_list_count(l));
        return NULL;
    }
    if (n) *n = l->offsets[k + 1] - l->offsets[k];
    return l->indices + l->offsets[k];
}

void ct_batch_list_free(ct_batch_list *l) {
    if (!l) return;
    free(l->indices);
    free(l->offsets);
    free(l);
}

/* ---- the batch sampler handle -------------------------------------------------------------------------------------- */

ct_batch_sampler *ct_batch_sampler_new(const ct_batch_sampler_vtable *vt, void *ctx) {
    ct_batch_sampler *bs = vt && vt->len && vt->sample ? calloc(1, sizeof *bs) : NULL;
    if (!bs) {
        if (!vt || !vt->len || !vt->sample)
            CT_FAIL(CT_ERR_INVALID_ARGUMENT, "a batch sampler vtable needs len and sample");
        else
            CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a batch sampler");
        if (vt && vt->destroy) vt->destroy(ctx);
        return NULL;
    }
    atomic_init(&bs->refcount, 1);
    bs->vt = vt;
    bs->ctx = ctx;
    return bs;
}

ct_batch_sampler *ct_batch_sampler_retain(ct_batch_sampler *bs) {
    if (bs) atomic_fetch_add(&bs->refcount, 1);
    return bs;
}

void ct_batch_sampler_release(ct_batch_sampler *bs) {
    if (!bs || atomic_fetch_sub(&bs->refcount, 1) != 1) return;
    if (bs->vt->destroy) bs->vt->destroy(bs->ctx);
    free(bs);
}

int64_t ct_batch_sampler_len(const ct_batch_sampler *bs) { return bs ? bs->vt->len(bs->ctx) : 0; }

ct_batch_list *ct_batch_sampler_batches(ct_batch_sampler *bs, uint64_t seed) {
    if (!bs) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'bs' is NULL");
        return NULL;
    }
    ct_batch_list *l = ct_batch_list_new();
    ct_rng rng = {seed};
    if (l && bs->vt->sample(bs->ctx, &rng, l) != CT_OK) {
        ct_batch_list_free(l);
        return NULL;
    }
    return l;
}

/* ---- BatchSampler ------------------------------------------------------------------------------------------------- */

typedef struct {
    ct_sampler *sampler;
    int64_t batch_size;
    bool drop_last;
} batch_sampler;

static int64_t batch_sampler_len(void *ctx) {
    batch_sampler *b = ctx;
    int64_t n = ct_sampler_len(b->sampler);
    return b->drop_last ? n / b->batch_size : (n + b->batch_size - 1) / b->batch_size;
}

static ct_status batch_sampler_sample(void *ctx, ct_rng *rng, ct_batch_list *out) {
    batch_sampler *b = ctx;
    int64_t n = ct_sampler_len(b->sampler);
    int64_t *indices = malloc(sizeof *indices * (size_t)(n > 0 ? n : 1));
    if (!indices) return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory for %lld indices", (long long)n);
    ct_status st = b->sampler->vt->sample(b->sampler->ctx, rng, indices);
    for (int64_t start = 0; st == CT_OK && start < n; start += b->batch_size) {
        int64_t size = n - start < b->batch_size ? n - start : b->batch_size;
        if (size < b->batch_size && b->drop_last) break;
        st = ct_batch_list_push(out, size, indices + start);
    }
    free(indices);
    return st;
}

static void batch_sampler_destroy(void *ctx) {
    ct_sampler_release(((batch_sampler *)ctx)->sampler);
    free(ctx);
}

static const ct_batch_sampler_vtable batch_sampler_vt = {
    .name = "BatchSampler", .len = batch_sampler_len, .sample = batch_sampler_sample, .destroy = batch_sampler_destroy};

ct_batch_sampler *ct_batch_sampler_from(ct_sampler *sampler, int64_t batch_size, bool drop_last) {
    if (!sampler) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'sampler' is NULL");
        return NULL;
    }
    if (batch_size <= 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "batch_size should be a positive integer value, but got batch_size=%lld",
                (long long)batch_size);
        return NULL;
    }
    batch_sampler *b = malloc(sizeof *b);
    if (!b) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a BatchSampler");
        return NULL;
    }
    *b = (batch_sampler){ct_sampler_retain(sampler), batch_size, drop_last};
    return ct_batch_sampler_new(&batch_sampler_vt, b);
}
