/* The DataLoader (torch.utils.data.DataLoader): PyTorch's options and their rules, the loader's length, and the
 * epoch iterator. An iterator draws the epoch's base seed from the loader's generator, runs the (batch) sampler
 * once to fix every batch's indices, then either makes batches itself on each ct_dataloader_next (no workers) or
 * has the worker pool (workers.c) make them ahead, and hands them out in order. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

struct ct_dataloader {
    atomic_int refcount; /* the caller's reference plus one per live iterator */
    ct_dataloader_options opt;
    ct_sampler *sampler;             /* map-style: the sampler in use (user's, Random or Sequential) */
    ct_batch_sampler *batch_sampler; /* map-style with automatic batching: the user's or a BatchSampler */
    ct__fetch_config fetch;
    ct__worker_pool *persistent;     /* persistent workers, made by the first epoch */
    ct_dataloader_iter *current;     /* the newest iterator (persistent workers serve only it) */
};

struct ct_dataloader_iter {
    ct_dataloader *dl;
    ct__epoch epoch;
    ct__worker_pool *pool; /* the loader's persistent one, or this iterator's own */
    bool owns_pool;
    int64_t next_batch;    /* no workers, map-style */
    ct__iterable_pass pass; /* no workers, iterable */
    bool done, stale;
    ct_status status;
};

/* ---- options ---------------------------------------------------------------------------------------------------- */

static ct_status check_worker_options(const ct_dataloader_options *o) {
    if (o->num_workers < 0)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                       "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.");
    if (o->timeout < 0) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "timeout option should be non-negative");
    if (o->num_workers == 0 && o->prefetch_factor != 0)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                       "prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 to "
                       "enable multiprocessing, otherwise set prefetch_factor to None.");
    if (o->prefetch_factor < 0) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "prefetch_factor option should be non-negative");
    if (o->persistent_workers && o->num_workers == 0)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "persistent_workers option needs num_workers > 0");
    return CT_OK;
}

static ct_status check_sampling_options(const ct_dataset *ds, const ct_dataloader_options *o) {
    const char *pre = "DataLoader with IterableDataset: expected unspecified";
    if (ct_dataset_is_iterable(ds)) {
        if (o->shuffle) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "%s shuffle option, but got shuffle=True", pre);
        if (o->sampler)
            return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "%s sampler option, but got sampler=%s", pre, o->sampler->vt->name);
        if (o->batch_sampler)
            return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "%s batch_sampler option, but got batch_sampler=%s", pre,
                           o->batch_sampler->vt->name);
    }
    if (o->sampler && o->shuffle)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "sampler option is mutually exclusive with shuffle");
    if (o->batch_sampler) {
        if ((o->batch_size != 0 && o->batch_size != 1) || o->shuffle || o->sampler || o->drop_last)
            return CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                           "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last");
    } else if (o->batch_size == CT_BATCH_SIZE_NONE) {
        if (o->drop_last)
            return CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                           "batch_size=None option disables auto-batching and is mutually exclusive with drop_last");
    } else if (o->batch_size < 0) {
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "batch_size should be a positive integer value, but got batch_size=%lld",
                       (long long)o->batch_size);
    }
    return CT_OK;
}

/* The sampler and batch sampler of a map-style loader, as PyTorch picks them. */
static ct_status make_samplers(ct_dataloader *dl, ct_dataset *ds) {
    const ct_dataloader_options *o = &dl->opt;
    if (o->batch_sampler) {
        dl->batch_sampler = ct_batch_sampler_retain(o->batch_sampler);
        return CT_OK;
    }
    int64_t n = ds->vt->len(ds->ctx);
    dl->sampler = o->sampler ? ct_sampler_retain(o->sampler) : o->shuffle ? ct_random_sampler(n, false, 0)
                                                                          : ct_sequential_sampler(n);
    if (!dl->sampler) return ct_last_status();
    if (!dl->fetch.auto_batch) return CT_OK;
    dl->batch_sampler = ct_batch_sampler_from(dl->sampler, dl->fetch.batch_size, o->drop_last);
    return dl->batch_sampler ? CT_OK : ct_last_status();
}

static void loader_destroy(ct_dataloader *dl) {
    ct__pool_free(dl->persistent);
    ct_sampler_release(dl->sampler);
    ct_batch_sampler_release(dl->batch_sampler);
    ct_sampler_release(dl->opt.sampler);
    ct_batch_sampler_release(dl->opt.batch_sampler);
    for (int k = 0; k < CT_SAMPLE_MAX_FIELDS; k++) ct_transform_release(dl->opt.transforms[k]);
    ct_dataset_release(dl->fetch.dataset);
    free(dl);
}

ct_dataloader *ct_dataloader_new(ct_dataset *ds, const ct_dataloader_options *options) {
    static const ct_dataloader_options defaults;
    const ct_dataloader_options *o = options ? options : &defaults;
    if (!ds) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'ds' is NULL");
        return NULL;
    }
    if (check_worker_options(o) != CT_OK || check_sampling_options(ds, o) != CT_OK) return NULL;
    ct_dataloader *dl = calloc(1, sizeof *dl);
    if (!dl) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a DataLoader");
        return NULL;
    }
    atomic_init(&dl->refcount, 1);
    dl->opt = *o;
    if (dl->opt.num_workers > 0 && dl->opt.prefetch_factor == 0) dl->opt.prefetch_factor = 2;
    ct_sampler_retain(o->sampler);
    ct_batch_sampler_retain(o->batch_sampler);
    for (int k = 0; k < CT_SAMPLE_MAX_FIELDS; k++) ct_transform_retain(o->transforms[k]);
    dl->fetch = (ct__fetch_config){
        .dataset = ct_dataset_retain(ds),
        .auto_batch = o->batch_sampler || o->batch_size != CT_BATCH_SIZE_NONE,
        .batch_size = o->batch_size > 0 ? o->batch_size : 1,
        .drop_last = o->drop_last,
        .collate_fn = o->collate_fn == ct_default_collate ? NULL : o->collate_fn, /* NULL: the pinning-aware path */
        .collate_ctx = o->collate_ctx,
        .pin_memory = o->pin_memory,
    };
    memcpy(dl->fetch.transforms, o->transforms, sizeof dl->fetch.transforms);
    if (!ct_dataset_is_iterable(ds) && make_samplers(dl, ds) != CT_OK) {
        loader_destroy(dl);
        return NULL;
    }
    return dl;
}

static void loader_release(ct_dataloader *dl) {
    if (dl && atomic_fetch_sub(&dl->refcount, 1) == 1) loader_destroy(dl);
}

void ct_dataloader_free(ct_dataloader *dl) { loader_release(dl); }

ct_status ct_dataloader_len(const ct_dataloader *dl, int64_t *out) {
    if (!dl) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'dl' is NULL");
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'out' is NULL");
    if (dl->batch_sampler) {
        *out = ct_batch_sampler_len(dl->batch_sampler);
    } else if (dl->sampler) {
        *out = ct_sampler_len(dl->sampler);
    } else { /* iterable: len(dataset), in batches */
        int64_t n;
        ct_status st = ct_dataset_len(dl->fetch.dataset, &n);
        if (st != CT_OK) return st;
        int64_t bs = dl->fetch.batch_size;
        *out = !dl->fetch.auto_batch ? n : dl->opt.drop_last ? n / bs : (n + bs - 1) / bs;
    }
    return CT_OK;
}

/* ---- epochs -------------------------------------------------------------------------------------------------------- */

/* The epoch's base seed: one draw from the loader's generator (torch.empty((), dtype=int64).random_(generator)). */
static ct_status draw_seed(ct_generator *gen, uint64_t *out) {
    ct_tensor *t = ct_randint(INT64_MIN, INT64_MAX, 0, NULL, CT_INT64, CT_DEVICE_CPU, gen);
    int64_t v = 0;
    ct_status st = t ? ct_item_int64(t, &v) : ct_last_status();
    ct_release(t);
    *out = (uint64_t)v;
    return st;
}

/* Every batch of a map-style epoch: the batch sampler's, or each index of the sampler alone. */
static ct_batch_list *epoch_batches(ct_dataloader *dl, uint64_t seed) {
    uint64_t sampler_seed = ct__seed_derive(seed, CT__SEED_SAMPLER, 0);
    if (dl->batch_sampler) return ct_batch_sampler_batches(dl->batch_sampler, sampler_seed);
    int64_t n = ct_sampler_len(dl->sampler);
    int64_t *indices = malloc(sizeof *indices * (size_t)(n > 0 ? n : 1));
    ct_batch_list *list = indices ? ct_batch_list_new() : NULL;
    ct_status st = list ? ct_sampler_indices(dl->sampler, sampler_seed, indices) : CT_ERR_OUT_OF_MEMORY;
    for (int64_t i = 0; st == CT_OK && i < n; i++) st = ct_batch_list_push(list, 1, &indices[i]);
    free(indices);
    if (st != CT_OK) {
        if (!list || !indices) CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory for an epoch of %lld indices", (long long)n);
        ct_batch_list_free(list);
        return NULL;
    }
    return list;
}

/* Sets the workers going on the iterator's epoch: the loader's persistent pool (made on first use) or its own. */
static ct_status start_workers(ct_dataloader_iter *it) {
    ct_dataloader *dl = it->dl;
    ct__pool_config cfg = {&dl->fetch,          dl->opt.num_workers,     dl->opt.prefetch_factor, dl->opt.timeout,
                           it->epoch.seed,       dl->opt.worker_init_fn, dl->opt.worker_init_ctx};
    if (dl->opt.persistent_workers) {
        if (dl->current) { /* the previous epoch's iterator: stop it, its handle now reports CT_ERR_STATE */
            ct__pool_stop_epoch(dl->persistent);
            dl->current->stale = true;
        }
        if (!dl->persistent && !(dl->persistent = ct__pool_new(&cfg))) return ct_last_status();
        it->pool = dl->persistent;
    } else {
        if (!(it->pool = ct__pool_new(&cfg))) return ct_last_status();
        it->owns_pool = true;
    }
    ct__pool_start_epoch(it->pool, &it->epoch);
    return CT_OK;
}

ct_dataloader_iter *ct_dataloader_iter_new(ct_dataloader *dl) {
    if (!dl) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'dl' is NULL");
        return NULL;
    }
    ct_dataloader_iter *it = calloc(1, sizeof *it);
    if (!it) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a DataLoader iterator");
        return NULL;
    }
    atomic_fetch_add(&dl->refcount, 1);
    it->dl = dl;
    ct_status st = draw_seed(dl->opt.generator, &it->epoch.seed);
    if (st == CT_OK && dl->fetch.dataset->vt->get && !(it->epoch.batches = epoch_batches(dl, it->epoch.seed)))
        st = ct_last_status();
    if (st == CT_OK && dl->opt.num_workers > 0) st = start_workers(it);
    else if (st == CT_OK && ct_dataset_is_iterable(dl->fetch.dataset)) st = ct__iterable_begin(&dl->fetch, &it->pass, 0);
    if (st != CT_OK) {
        ct_dataloader_iter_free(it);
        return NULL;
    }
    if (dl->opt.persistent_workers) dl->current = it;
    return it;
}

/* Ends the iterator's use of the workers: its own pool is joined, the persistent pool's epoch stopped. */
static void release_workers(ct_dataloader_iter *it) {
    if (it->owns_pool) ct__pool_free(it->pool);
    else if (it->pool && !it->stale) ct__pool_stop_epoch(it->pool);
    it->pool = NULL;
    it->owns_pool = false;
}

void ct_dataloader_iter_free(ct_dataloader_iter *it) {
    if (!it) return;
    release_workers(it);
    ct__iterable_end(&it->dl->fetch, &it->pass);
    ct_batch_list_free(it->epoch.batches);
    if (it->dl->current == it) it->dl->current = NULL;
    loader_release(it->dl);
    free(it);
}

/* Hands the batch's tensors, made by a worker thread that has no scope, to this thread's innermost scope. */
static void adopt(ct_sample *batch) {
    for (int k = 0; k < batch->n; k++)
        if (!batch->field[k]->scope) ct__scope_adopt(batch->field[k]);
}

/* The next batch from wherever this iterator gets them. */
static ct_status next_batch(ct_dataloader_iter *it, ct_sample *batch, bool *end) {
    const ct__fetch_config *cfg = &it->dl->fetch;
    *end = false;
    if (it->pool) return ct__pool_next(it->pool, batch, end);
    if (!it->epoch.batches) return ct__iterable_next_batch(cfg, &it->epoch, &it->pass, batch, end);
    if (it->next_batch >= ct_batch_list_count(it->epoch.batches)) {
        *end = true;
        return CT_OK;
    }
    return ct__fetch_map_batch(cfg, &it->epoch, it->next_batch++, batch);
}

bool ct_dataloader_next(ct_dataloader_iter *it, ct_sample *batch) {
    if (!it || !batch) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument '%s' is NULL", it ? "batch" : "it");
        if (it) it->status = CT_ERR_INVALID_ARGUMENT;
        return false;
    }
    memset(batch, 0, sizeof *batch);
    if (it->stale) {
        it->status = CT_FAIL(CT_ERR_STATE, "this iterator was replaced by a newer one of the same loader (persistent "
                                           "workers serve one epoch at a time)");
        return false;
    }
    bool end = it->done;
    it->status = end ? CT_OK : next_batch(it, batch, &end);
    if (it->status != CT_OK) return false;
    if (end) {
        if (!it->done) release_workers(it); /* the workers are not needed any more this epoch */
        it->done = true;
        return false;
    }
    adopt(batch);
    return true;
}

ct_status ct_dataloader_iter_status(const ct_dataloader_iter *it) { return it ? it->status : CT_ERR_INVALID_ARGUMENT; }
