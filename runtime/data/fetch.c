/* The loader's fetch steps, run by a worker thread or, without workers, by the thread that asks for the batch:
 * get the samples of one batch (map-style) or the next samples of a pass (iterable), apply the transforms with
 * per-sample seeds, collate, and pin. Everything a batch depends on is the epoch (its batches and seed) and the
 * batch's number, so the result is the same whichever thread makes it. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

#define FUNC "ct_dataloader_next" /* the public call these steps serve, for messages */

/* Applies cfg's transforms to the fields of s, field k with a generator seeded from (seed, k). */
static ct_status apply_transforms(const ct__fetch_config *cfg, uint64_t seed, ct_sample *s) {
    for (int k = 0; k < CT_SAMPLE_MAX_FIELDS; k++) {
        ct_transform *t = cfg->transforms[k];
        if (!t) continue;
        if (k >= s->n)
            return ct__error(CT_ERR_INVALID_ARGUMENT, FUNC, "a transform is given for field %d, but samples have %d "
                                                            "fields", k, s->n);
        ct_rng rng = {ct__seed_derive(seed, (uint64_t)k, 0)};
        ct_tensor *out = t->vt->apply(t->ctx, s->field[k], &rng);
        if (!out) return ct_last_status();
        ct_release(s->field[k]);
        s->field[k] = out;
    }
    return CT_OK;
}

/* Checks what a user's collate function handed back; releases it on failure. */
static ct_status check_batch(ct_sample *batch, ct_status st) {
    if (st == CT_OK && (batch->n < 1 || batch->n > CT_SAMPLE_MAX_FIELDS))
        st = ct__error(CT_ERR_STATE, FUNC, "collate_fn returned a batch with %d fields (1 to %d allowed)", batch->n,
                       CT_SAMPLE_MAX_FIELDS);
    for (int k = 0; st == CT_OK && k < batch->n; k++)
        if (!batch->field[k]) st = ct__error(CT_ERR_STATE, FUNC, "collate_fn returned a batch whose field %d is NULL", k);
    if (st != CT_OK) {
        if (batch->n < 0 || batch->n > CT_SAMPLE_MAX_FIELDS) batch->n = CT_SAMPLE_MAX_FIELDS;
        ct_sample_release(batch);
    }
    return st;
}

/* Merges n samples into out (taking the single sample as it is without automatic batching), then pins it. */
static ct_status collate(const ct__fetch_config *cfg, ct_sample *samples, int64_t n, ct_sample *out) {
    ct_status st;
    memset(out, 0, sizeof *out);
    if (cfg->collate_fn) {
        st = check_batch(out, cfg->collate_fn(samples, n, out, cfg->collate_ctx));
    } else if (cfg->auto_batch) {
        st = ct__collate_stack(samples, n, out, cfg->pin_memory, FUNC);
    } else {
        *out = samples[0]; /* moved: no automatic batching, no collate_fn */
        memset(&samples[0], 0, sizeof samples[0]);
        st = CT_OK;
    }
    if (st == CT_OK && cfg->pin_memory) st = ct__pin_sample(out);
    if (st != CT_OK) ct_sample_release(out);
    return st;
}

static void release_samples(ct_sample *samples, int64_t n) {
    for (int64_t j = 0; j < n; j++) ct_sample_release(&samples[j]);
    free(samples);
}

static uint64_t transform_seed(const ct__epoch *ep, uint64_t stream, int64_t position) {
    return ct__seed_derive(ct__seed_derive(ep->seed, CT__SEED_TRANSFORM, stream), (uint64_t)position, 0);
}

ct_status ct__fetch_map_batch(const ct__fetch_config *cfg, const ct__epoch *ep, int64_t k, ct_sample *out) {
    int64_t n;
    const int64_t *indices = ct_batch_list_at(ep->batches, k, &n);
    if (!indices) return ct_last_status();
    int64_t first = ep->batches->offsets[k]; /* position of the batch's first sample in the epoch */
    ct_sample *samples = calloc((size_t)n, sizeof *samples);
    if (!samples) return ct__error(CT_ERR_OUT_OF_MEMORY, FUNC, "out of memory for a batch of %lld samples", (long long)n);
    ct_status st = CT_OK;
    for (int64_t j = 0; st == CT_OK && j < n; j++) {
        st = ct_dataset_get(cfg->dataset, indices[j], &samples[j]);
        if (st == CT_OK) st = apply_transforms(cfg, transform_seed(ep, 0, first + j), &samples[j]);
    }
    if (st == CT_OK) st = collate(cfg, samples, n, out);
    release_samples(samples, n);
    return st;
}

/* ---- iterable datasets ------------------------------------------------------------------------------------------ */

ct_status ct__iterable_begin(const ct__fetch_config *cfg, ct__iterable_pass *pass, uint64_t stream) {
    memset(pass, 0, sizeof *pass);
    pass->stream = stream;
    ct_dataset *ds = cfg->dataset;
    ct_status st = ds->vt->iter_begin(ds->ctx, &pass->iter);
    pass->started = st == CT_OK;
    return st;
}

void ct__iterable_end(const ct__fetch_config *cfg, ct__iterable_pass *pass) {
    ct_dataset *ds = cfg->dataset;
    if (pass->started && ds->vt->iter_end) ds->vt->iter_end(ds->ctx, pass->iter);
    pass->started = false;
}

/* The next sample of the pass into s, transformed; *end at the end of the pass. */
static ct_status next_sample(const ct__fetch_config *cfg, const ct__epoch *ep, ct__iterable_pass *pass,
                             ct_sample *s, bool *end) {
    ct_dataset *ds = cfg->dataset;
    memset(s, 0, sizeof *s);
    *end = false;
    ct_status st = ds->vt->iter_next(ds->ctx, pass->iter, s, end);
    if (st != CT_OK || *end) {
        if (*end) pass->ended = true;
        if (st != CT_OK && s->n > 0 && s->n <= CT_SAMPLE_MAX_FIELDS) ct_sample_release(s);
        return st;
    }
    st = ct__check_sample(ds, s, st);
    if (st == CT_OK) st = apply_transforms(cfg, transform_seed(ep, pass->stream + 1, pass->count++), s);
    if (st != CT_OK) ct_sample_release(s);
    return st;
}

ct_status ct__iterable_next_batch(const ct__fetch_config *cfg, const ct__epoch *ep, ct__iterable_pass *pass,
                                  ct_sample *out, bool *end) {
    *end = false;
    memset(out, 0, sizeof *out);
    if (!pass->started || pass->ended) {
        *end = true;
        return CT_OK;
    }
    int64_t want = cfg->auto_batch ? cfg->batch_size : 1, got = 0;
    ct_sample *samples = calloc((size_t)want, sizeof *samples);
    if (!samples) return ct__error(CT_ERR_OUT_OF_MEMORY, FUNC, "out of memory for a batch of %lld samples", (long long)want);
    ct_status st = CT_OK;
    bool over = false;
    while (st == CT_OK && !over && got < want) {
        st = next_sample(cfg, ep, pass, &samples[got], &over);
        if (st == CT_OK && !over) got++;
    }
    if (st == CT_OK && (got == 0 || (got < want && cfg->drop_last)))
        *end = true; /* nothing left, or only an incomplete batch that drop_last drops */
    else if (st == CT_OK)
        st = collate(cfg, samples, got, out);
    release_samples(samples, want);
    return st;
}
