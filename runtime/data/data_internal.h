/* Internal pieces of the data module (runtime/data) shared between its files: the object structs behind the
 * opaque handles of data.h, seed derivation, stacking into (optionally pinned) batches, and the loader's fetch
 * steps that both the calling thread and the worker threads run. Nothing here is public. */
#ifndef CTORCH_DATA_INTERNAL_H
#define CTORCH_DATA_INTERNAL_H

#include <stdatomic.h>

#include "core/internal.h"
#include "ctorch/data.h"

/* ---- objects ------------------------------------------------------------------------------------------------------ */

struct ct_dataset {
    atomic_int refcount;
    const ct_dataset_vtable *vt;
    void *ctx;
};

struct ct_sampler {
    atomic_int refcount;
    const ct_sampler_vtable *vt;
    void *ctx;
};

struct ct_batch_sampler {
    atomic_int refcount;
    const ct_batch_sampler_vtable *vt;
    void *ctx;
};

struct ct_transform {
    atomic_int refcount;
    const ct_transform_vtable *vt;
    void *ctx;
};

/* Batches as one flat array of indices with offsets: batch k is indices[offsets[k] .. offsets[k+1]). */
struct ct_batch_list {
    int64_t *indices, *offsets;
    int64_t count, nindices, cap_indices, cap_offsets;
};

/* Checks a sample that a dataset's get or iter_next handed back with status st: 1 to CT_SAMPLE_MAX_FIELDS fields,
 * none NULL. Releases the sample on failure. Returns st or the error found. */
ct_status ct__check_sample(const ct_dataset *ds, ct_sample *out, ct_status st);

/* ---- seeds -------------------------------------------------------------------------------------------------------- */

/* A seed derived from base and two numbers (well mixed: neighbouring inputs give unrelated seeds). */
uint64_t ct__seed_derive(uint64_t base, uint64_t a, uint64_t b);

/* Tags that keep the derived streams of one epoch apart. */
#define CT__SEED_SAMPLER 0x53414d504c4552ull   /* "SAMPLER" */
#define CT__SEED_TRANSFORM 0x5452414e53ull     /* "TRANS" */

/* ---- collation ---------------------------------------------------------------------------------------------------- */

/* default_collate, with the batch tensors in page-locked memory when pinned. */
ct_status ct__collate_stack(const ct_sample *samples, int64_t n, ct_sample *batch, bool pinned, const char *func);
/* Replaces each field of batch that is not in page-locked memory by a pinned copy. */
ct_status ct__pin_sample(ct_sample *batch);

/* ---- the loader's fetch steps -------------------------------------------------------------------------------------- */

/* What one epoch is: the batches, its base seed and how batches are made. Immutable while workers run on it. */
typedef struct ct__epoch {
    ct_batch_list *batches; /* map-style datasets; NULL for iterable ones */
    uint64_t seed;          /* base seed of the epoch */
} ct__epoch;

/* The parts of a loader that fetching needs (set at construction, then read-only). */
typedef struct ct__fetch_config {
    ct_dataset *dataset;
    bool auto_batch;      /* batch_size or batch_sampler given */
    int64_t batch_size;   /* iterable datasets with auto_batch */
    bool drop_last;       /* iterable datasets */
    ct_collate_fn collate_fn;
    void *collate_ctx;
    bool pin_memory;
    ct_transform *transforms[CT_SAMPLE_MAX_FIELDS];
} ct__fetch_config;

/* Batch k of a map-style epoch into out. */
ct_status ct__fetch_map_batch(const ct__fetch_config *cfg, const ct__epoch *ep, int64_t k, ct_sample *out);

/* One pass of an iterable dataset in the current thread. */
typedef struct ct__iterable_pass {
    void *iter;
    bool started, ended;
    uint64_t stream; /* transform seeds of this pass: derived from (epoch seed, stream, sample count) */
    int64_t count;   /* samples produced so far */
} ct__iterable_pass;

ct_status ct__iterable_begin(const ct__fetch_config *cfg, ct__iterable_pass *pass, uint64_t stream);
/* The next batch (or sample, without automatic batching) of the pass into out, or *end = true. */
ct_status ct__iterable_next_batch(const ct__fetch_config *cfg, const ct__epoch *ep, ct__iterable_pass *pass,
                                  ct_sample *out, bool *end);
void ct__iterable_end(const ct__fetch_config *cfg, ct__iterable_pass *pass);

/* ---- workers ----------------------------------------------------------------------------------------------------- */

typedef struct ct__worker_pool ct__worker_pool;

typedef struct ct__pool_config {
    const ct__fetch_config *fetch;
    int num_workers;
    int prefetch_factor;
    double timeout;
    uint64_t seed; /* workers' seeds: seed + id */
    void (*worker_init_fn)(int worker_id, void *ctx);
    void *worker_init_ctx;
} ct__pool_config;

/* Starts the worker threads (idle until an epoch starts). */
ct__worker_pool *ct__pool_new(const ct__pool_config *cfg);
/* Sets the workers on an epoch (ep must stay valid until ct__pool_stop_epoch returns). The pool must be idle. */
void ct__pool_start_epoch(ct__worker_pool *pool, const ct__epoch *ep);
/* The next batch in order into out; *end = true when every worker has finished the epoch. Errors: a worker's
 * error (then the next call goes on), a timeout. */
ct_status ct__pool_next(ct__worker_pool *pool, ct_sample *out, bool *end);
/* Stops the epoch: waits for the workers to leave it and releases the batches loaded in advance. */
void ct__pool_stop_epoch(ct__worker_pool *pool);
/* Stops and joins the workers, frees the pool. NULL-safe. */
void ct__pool_free(ct__worker_pool *pool);

#endif
