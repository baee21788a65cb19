/* The loader's worker threads. Each worker owns a bounded queue of prefetch_factor slots and makes batches into
 * it: for a map-style dataset worker w makes batches w, w + W, w + 2W, ... (W workers), for an iterable one it runs
 * its own pass of the dataset (sharded through ct_get_worker_info). The calling thread takes batches from the
 * queues in turn, worker 0, 1, ..., W-1, 0, ..., skipping workers that have finished, so a map-style epoch comes out
 * in the sampler's order whatever W is, and at most W * prefetch_factor batches are ever waiting.
 *
 * One mutex guards the queues and the epoch state; workers wait on `work` (a new epoch, a free slot, a stop), the
 * calling thread on `ready` (a batch, a worker leaving the epoch). Stopping an epoch mid-way (an iterator freed
 * early) lets each worker finish the batch in its hands, discards what is queued, and waits until no worker is
 * inside the epoch, so nothing is leaked and nothing touches the epoch after it is gone. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/data_internal.h"

typedef enum { ITEM_BATCH, ITEM_END, ITEM_ERROR } item_kind;

typedef struct {
    item_kind kind;
    ct_sample batch;
    ct_status status;
    char message[1024]; /* the worker's ct_last_error() for ITEM_ERROR */
} item;

typedef struct {
    item *slots; /* prefetch_factor of them */
    int head, count;
} queue;

typedef struct {
    ct__worker_pool *pool;
    ct_worker_info info;
} worker;

struct ct__worker_pool {
    pthread_mutex_t lock;
    pthread_cond_t work, ready;
    ct__pool_config cfg;
    worker *workers;
    pthread_t *threads;
    int started;          /* threads running */
    queue *queues;
    bool *ended;          /* calling thread: the worker has finished the epoch */
    int next_worker;      /* calling thread: whose batch comes next */
    const ct__epoch *epoch; /* NULL while idle */
    uint64_t epoch_id;    /* bumped by every start */
    bool cancel, shutdown;
    int busy;             /* workers inside the epoch */
};

static _Thread_local const ct_worker_info *current_worker;

const ct_worker_info *ct_get_worker_info(void) { return current_worker; }

/* ---- the worker side ------------------------------------------------------------------------------------------- */

/* Waits for a free slot in worker id's queue; false when the epoch is being stopped. */
static bool wait_for_slot(ct__worker_pool *pool, int id) {
    pthread_mutex_lock(&pool->lock);
    while (!pool->cancel && pool->queues[id].count == pool->cfg.prefetch_factor)
        pthread_cond_wait(&pool->work, &pool->lock);
    bool go = !pool->cancel;
    pthread_mutex_unlock(&pool->lock);
    return go;
}

/* Queues it (the slot was reserved by wait_for_slot); false, leaving it to the caller, when the epoch is stopping. */
static bool push(ct__worker_pool *pool, int id, const item *it) {
    pthread_mutex_lock(&pool->lock);
    bool go = !pool->cancel;
    if (go) {
        queue *q = &pool->queues[id];
        q->slots[(q->head + q->count) % pool->cfg.prefetch_factor] = *it;
        q->count++;
        pthread_cond_broadcast(&pool->ready);
    }
    pthread_mutex_unlock(&pool->lock);
    return go;
}

/* Queues the outcome of one fetch (a batch, the end, or the error now pending on this thread); false when the
 * epoch is stopping, the batch then released here. */
static bool queue_item(ct__worker_pool *pool, int id, ct_status st, ct_sample *batch, bool end) {
    item it;
    it.kind = st != CT_OK ? ITEM_ERROR : end ? ITEM_END : ITEM_BATCH;
    it.status = st;
    it.batch = *batch;
    it.message[0] = '\0';
    if (st != CT_OK) {
        strncpy(it.message, ct_last_error(), sizeof it.message - 1);
        it.message[sizeof it.message - 1] = '\0';
        ct_clear_error();
    }
    if (push(pool, id, &it)) return true;
    ct_sample_release(&it.batch);
    return false;
}

/* Makes and queues worker w's batches of a map-style epoch, then ITEM_END, unless the epoch is stopped. */
static void run_map_epoch(ct__worker_pool *pool, const worker *w, const ct__epoch *ep) {
    int id = w->info.id;
    int64_t count = ct_batch_list_count(ep->batches);
    for (int64_t k = id; wait_for_slot(pool, id); k += pool->cfg.num_workers) {
        ct_sample batch = {0};
        ct_status st = k < count ? ct__fetch_map_batch(pool->cfg.fetch, ep, k, &batch) : CT_OK;
        if (!queue_item(pool, id, st, &batch, k >= count) || k >= count) return;
    }
}

/* Runs worker w's pass of an iterable dataset, queueing its batches, then ITEM_END, unless the epoch is stopped. */
static void run_iterable_epoch(ct__worker_pool *pool, const worker *w, const ct__epoch *ep) {
    int id = w->info.id;
    const ct__fetch_config *cfg = pool->cfg.fetch;
    ct__iterable_pass pass;
    ct_status st = ct__iterable_begin(cfg, &pass, (uint64_t)id);
    if (st != CT_OK && wait_for_slot(pool, id)) /* report a pass that could not start; it then just ends */
        queue_item(pool, id, st, &(ct_sample){0}, false);
    while (wait_for_slot(pool, id)) {
        ct_sample batch = {0};
        bool end = false;
        st = ct__iterable_next_batch(cfg, ep, &pass, &batch, &end);
        if (!queue_item(pool, id, st, &batch, end) || (st == CT_OK && end)) break;
    }
    ct__iterable_end(cfg, &pass);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    ct__worker_pool *pool = w->pool;
    current_worker = &w->info;
    if (pool->cfg.worker_init_fn) pool->cfg.worker_init_fn(w->info.id, pool->cfg.worker_init_ctx);
    uint64_t seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->shutdown && (!pool->epoch || pool->epoch_id == seen)) pthread_cond_wait(&pool->work, &pool->lock);
        if (pool->shutdown) break;
        seen = pool->epoch_id;
        const ct__epoch *ep = pool->epoch;
        pool->busy++;
        pthread_mutex_unlock(&pool->lock);
        if (ep->batches) run_map_epoch(pool, w, ep);
        else run_iterable_epoch(pool, w, ep);
        pthread_mutex_lock(&pool->lock);
        pool->busy--;
        pthread_cond_broadcast(&pool->ready);
    }
    pthread_mutex_unlock(&pool->lock);
    current_worker = NULL;
    return NULL;
}

/* ---- the calling side ------------------------------------------------------------------------------------------- */

static void pool_destroy(ct__worker_pool *pool) {
    for (int i = 0; pool->queues && i < pool->cfg.num_workers; i++) free(pool->queues[i].slots);
    free(pool->queues);
    free(pool->ended);
    free(pool->workers);
    free(pool->threads);
    pthread_cond_destroy(&pool->work);
    pthread_cond_destroy(&pool->ready);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

static bool pool_alloc(ct__worker_pool *pool) {
    int n = pool->cfg.num_workers;
    pool->workers = calloc((size_t)n, sizeof *pool->workers);
    pool->threads = calloc((size_t)n, sizeof *pool->threads);
    pool->queues = calloc((size_t)n, sizeof *pool->queues);
    pool->ended = calloc((size_t)n, sizeof *pool->ended);
    if (!pool->workers || !pool->threads || !pool->queues || !pool->ended) return false;
    for (int i = 0; i < n; i++) {
        pool->queues[i].slots = calloc((size_t)pool->cfg.prefetch_factor, sizeof(item));
        if (!pool->queues[i].slots) return false;
        pool->workers[i] = (worker){pool, {i, n, pool->cfg.seed + (uint64_t)i, pool->cfg.fetch->dataset}};
    }
    return true;
}

ct__worker_pool *ct__pool_new(const ct__pool_config *cfg) {
    ct__worker_pool *pool = calloc(1, sizeof *pool);
    if (!pool) {
        ct__error(CT_ERR_OUT_OF_MEMORY, "ct_dataloader_iter_new", "out of memory allocating the worker pool");
        return NULL;
    }
    pool->cfg = *cfg;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->ready, NULL);
    if (!pool_alloc(pool)) {
        pool_destroy(pool);
        ct__error(CT_ERR_OUT_OF_MEMORY, "ct_dataloader_iter_new", "out of memory allocating the worker queues");
        return NULL;
    }
    for (; pool->started < cfg->num_workers; pool->started++) {
        int err = pthread_create(&pool->threads[pool->started], NULL, worker_main, &pool->workers[pool->started]);
        if (err) {
            ct__error(CT_ERR_STATE, "ct_dataloader_iter_new", "could not start DataLoader worker %d: %s", pool->started,
                      strerror(err));
            ct__pool_free(pool);
            return NULL;
        }
    }
    return pool;
}

void ct__pool_start_epoch(ct__worker_pool *pool, const ct__epoch *ep) {
    pthread_mutex_lock(&pool->lock);
    for (int i = 0; i < pool->cfg.num_workers; i++) pool->ended[i] = false;
    pool->next_worker = 0;
    pool->epoch = ep;
    pool->epoch_id++;
    pool->cancel = false;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
}

/* Waits for an item in worker w's queue; CT_ERR_STATE on timeout. Called with the lock held. */
static ct_status wait_for_item(ct__worker_pool *pool, int w) {
    struct timespec deadline;
    if (pool->cfg.timeout > 0) {
        clock_gettime(CLOCK_REALTIME, &deadline);
        double t = (double)deadline.tv_sec + (double)deadline.tv_nsec * 1e-9 + pool->cfg.timeout;
        deadline.tv_sec = (time_t)t;
        deadline.tv_nsec = (long)((t - (double)deadline.tv_sec) * 1e9);
    }
    while (pool->queues[w].count == 0) {
        if (pool->cfg.timeout <= 0) {
            pthread_cond_wait(&pool->ready, &pool->lock);
        } else if (pthread_cond_timedwait(&pool->ready, &pool->lock, &deadline) == ETIMEDOUT &&
                   pool->queues[w].count == 0) {
            return ct__error(CT_ERR_STATE, "ct_dataloader_next", "DataLoader timed out after %g seconds",
                             pool->cfg.timeout);
        }
    }
    return CT_OK;
}

/* Takes the next item in turn into *it, from worker *from; *all_done when every worker has finished. Called with
 * the lock held. */
static ct_status take_next(ct__worker_pool *pool, item *it, int *from, bool *all_done) {
    int n = pool->cfg.num_workers;
    for (;;) {
        int w = pool->next_worker, finished = 0;
        for (int i = 0; i < n; i++) finished += pool->ended[i];
        if (finished == n) {
            *all_done = true;
            return CT_OK;
        }
        if (pool->ended[w]) {
            pool->next_worker = (w + 1) % n;
            continue;
        }
        ct_status st = wait_for_item(pool, w);
        if (st != CT_OK) return st;
        queue *q = &pool->queues[w];
        *it = q->slots[q->head];
        q->head = (q->head + 1) % pool->cfg.prefetch_factor;
        q->count--;
        pthread_cond_broadcast(&pool->work);
        pool->next_worker = (w + 1) % n;
        *from = w;
        if (it->kind != ITEM_END) return CT_OK;
        pool->ended[w] = true;
    }
}

ct_status ct__pool_next(ct__worker_pool *pool, ct_sample *out, bool *end) {
    item it;
    *end = false;
    memset(out, 0, sizeof *out);
    int from = 0;
    pthread_mutex_lock(&pool->lock);
    ct_status st = pool->epoch ? take_next(pool, &it, &from, end) : CT_OK;
    if (!pool->epoch) *end = true;
    pthread_mutex_unlock(&pool->lock);
    if (st != CT_OK || *end) return st;
    if (it.kind == ITEM_ERROR)
        return ct__error(it.status, "ct_dataloader_next", "Caught an error in DataLoader worker %d: %s", from,
                         it.message);
    *out = it.batch;
    return CT_OK;
}

/* Releases every queued batch. Called with the lock held and no worker in the epoch. */
static void drain(ct__worker_pool *pool) {
    for (int i = 0; i < pool->cfg.num_workers; i++) {
        queue *q = &pool->queues[i];
        for (; q->count > 0; q->count--, q->head = (q->head + 1) % pool->cfg.prefetch_factor)
            ct_sample_release(&q->slots[q->head].batch);
        q->head = 0;
    }
}

void ct__pool_stop_epoch(ct__worker_pool *pool) {
    pthread_mutex_lock(&pool->lock);
    if (pool->epoch) {
        pool->cancel = true;
        pthread_cond_broadcast(&pool->work);
        while (pool->busy > 0) pthread_cond_wait(&pool->ready, &pool->lock);
        drain(pool);
        pool->epoch = NULL;
        pool->cancel = false;
    }
    pthread_mutex_unlock(&pool->lock);
}

void ct__pool_free(ct__worker_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    pool->shutdown = true;
    pool->cancel = true;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->started; i++) pthread_join(pool->threads[i], NULL);
    drain(pool);
    pool_destroy(pool);
}
