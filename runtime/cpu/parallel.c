/* The CPU thread pool behind ct__parallel_for (parallel.h says why it is not OpenMP).
 *
 * One job runs at a time. The caller publishes it (a pointer to a struct on its stack, and a bumped generation
 * number), works through chunks itself, then closes the job (no new worker may join) and waits for the workers
 * that joined to finish the chunks they claimed. A worker joins only under the pool's mutex and only while the job
 * is open, and counts itself in `active` there; its last touch of the job is the decrement when it leaves. So the
 * caller's stack frame outlives every use of the job. */
#define _GNU_SOURCE
#include "parallel.h"

#include <cblas.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "ctorch/ops.h"
#include "runtime/core/internal.h"

#define MAX_THREADS 1024
#define CHUNKS_PER_THREAD 4 /* more chunks than threads: a late or slow thread's share is taken over by the others */
#define SPIN_NS 50000       /* an idle worker polls this long (pause loops) before it sleeps */

typedef struct job {
    ct__range_fn fn;
    void *ctx;
    int64_t n, chunk, nchunks;
    atomic_llong next; /* the next unclaimed chunk */
    atomic_int active; /* workers inside run_chunks: joined under mu, leave with a decrement */
} job;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;    /* a job was published, or the pool is stopping */
static pthread_cond_t drained = PTHREAD_COND_INITIALIZER; /* the last active worker left the closed job */
static job *current;                                      /* the open job, or NULL (under mu) */
static atomic_ullong generation;                          /* bumped (under mu) when a job is published */
static atomic_bool stopping;
static pthread_t *workers;
static int nworkers;
static atomic_int threads_setting; /* 0: not decided yet */
static atomic_bool busy;           /* a job is running (taken by compare-and-swap) */
static _Thread_local bool inside;  /* this thread is a worker, or is running a job's chunks */

static void run_chunks(job *j) {
    for (;;) {
        int64_t c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (c >= j->nchunks) return;
        int64_t begin = c * j->chunk, end = begin + j->chunk < j->n ? begin + j->chunk : j->n;
        j->fn(begin, end, j->ctx);
    }
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *worker_main(void *arg) {
    (void)arg;
    inside = true;
    pthread_mutex_lock(&mu);
    unsigned long long seen = atomic_load(&generation);
    pthread_mutex_unlock(&mu);
    for (;;) {
        for (int64_t until = now_ns() + SPIN_NS; atomic_load_explicit(&generation, memory_order_relaxed) == seen &&
                                                 !atomic_load_explicit(&stopping, memory_order_relaxed) &&
                                                 now_ns() < until;)
            for (int i = 0; i < 64 && atomic_load_explicit(&generation, memory_order_relaxed) == seen; i++)
                cpu_relax();
        pthread_mutex_lock(&mu);
        while (!atomic_load(&stopping) && atomic_load(&generation) == seen) pthread_cond_wait(&wake, &mu);
        if (atomic_load(&stopping)) {
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        seen = atomic_load(&generation);
        job *j = current;
        if (!j) { /* published and closed again before this thread woke */
            pthread_mutex_unlock(&mu);
            continue;
        }
        atomic_fetch_add(&j->active, 1);
        pthread_mutex_unlock(&mu);
        run_chunks(j);
        if (atomic_fetch_sub(&j->active, 1) == 1) { /* j may be gone from here on: only the pool's globals */
            pthread_mutex_lock(&mu);
            pthread_cond_broadcast(&drained);
            pthread_mutex_unlock(&mu);
        }
    }
}

/* OMP_NUM_THREADS when set (so existing settings and scripts keep working), else the CPUs this process may use. */
static int default_threads(void) {
    const char *env = getenv("OMP_NUM_THREADS");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (v >= 1 && (*end == 0 || *end == ',')) return v > MAX_THREADS ? MAX_THREADS : (int)v;
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1) return CPU_COUNT(&set);
    return 1;
}

int ct__parallel_threads(void) {
    int t = atomic_load(&threads_setting);
    if (t == 0) {
        int expected = 0;
        atomic_compare_exchange_strong(&threads_setting, &expected, default_threads());
        t = atomic_load(&threads_setting);
    }
    return t;
}

/* Stops and joins every worker. The caller holds `busy`, so no job is running. */
static void stop_workers(void) {
    pthread_mutex_lock(&mu);
    atomic_store(&stopping, true);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < nworkers; i++) pthread_join(workers[i], NULL);
    free(workers);
    workers = NULL;
    nworkers = 0;
    atomic_store(&stopping, false);
}

/* fork(): the child has none of the workers, and mu must not be left locked by a thread that is not copied. */
static void before_fork(void) { pthread_mutex_lock(&mu); }
static void after_fork_parent(void) { pthread_mutex_unlock(&mu); }
static void after_fork_child(void) {
    pthread_mutex_unlock(&mu);
    free(workers);
    workers = NULL;
    nworkers = 0;
    current = NULL;
    atomic_store(&busy, false);
}
static void register_fork_handlers(void) { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }

/* Starts threads - 1 workers if they are not running yet (the caller holds `busy`). False if none could start. */
static bool start_workers(int threads) {
    if (nworkers == threads - 1) return true;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork_handlers);
    if (nworkers) stop_workers();
    workers = malloc(sizeof *workers * (size_t)(threads - 1));
    if (!workers) return false;
    while (nworkers < threads - 1 && pthread_create(&workers[nworkers], NULL, worker_main, NULL) == 0) nworkers++;
    return nworkers > 0;
}

static void take_pool(void) {
    bool expected = false;
    while (!atomic_compare_exchange_weak(&busy, &expected, true)) {
        expected = false;
        sched_yield();
    }
}

static int64_t chunk_size(int64_t n, int64_t grain, int threads) {
    int64_t pieces = (int64_t)threads * CHUNKS_PER_THREAD;
    int64_t chunk = (n + pieces - 1) / pieces;
    return chunk < grain ? grain : chunk;
}

void ct__parallel_for(int64_t n, int64_t grain, ct__range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int threads = ct__parallel_threads();
    bool expected = false;
    if (n <= grain || threads <= 1 || inside || !atomic_compare_exchange_strong(&busy, &expected, true)) {
        fn(0, n, ctx);
        return;
    }
    threads = ct__parallel_threads(); /* as set now that the pool is ours (ct_set_num_threads takes it too) */
    job j = {.fn = fn, .ctx = ctx, .n = n, .chunk = chunk_size(n, grain, threads)};
    j.nchunks = (n + j.chunk - 1) / j.chunk;
    atomic_init(&j.next, 0);
    atomic_init(&j.active, 0);
    if (threads <= 1 || j.nchunks < 2 || !start_workers(threads)) {
        atomic_store(&busy, false);
        fn(0, n, ctx);
        return;
    }
    pthread_mutex_lock(&mu);
    current = &j;
    atomic_fetch_add(&generation, 1);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mu);

    inside = true;
    run_chunks(&j);
    inside = false;

    pthread_mutex_lock(&mu);
    current = NULL; /* closed: from here no worker joins */
    pthread_mutex_unlock(&mu);
    /* the workers still inside are finishing their last chunk: poll a while (a sleep and a wake-up would cost more
     * than a small op), then sleep until the last one leaves */
    for (int64_t until = now_ns() + SPIN_NS; atomic_load(&j.active) > 0 && now_ns() < until;) cpu_relax();
    if (atomic_load(&j.active) > 0) {
        pthread_mutex_lock(&mu);
        while (atomic_load(&j.active) > 0) pthread_cond_wait(&drained, &mu);
        pthread_mutex_unlock(&mu);
    }
    atomic_store(&busy, false);
}

/* ---- the public setting (ops.h) ---------------------------------------------------------------------------------- */

ct_status ct_set_num_threads(int n) {
    if (n < 1 || n > MAX_THREADS)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "n must be between 1 and %d, got %d", MAX_THREADS, n);
    if (inside) return CT_FAIL(CT_ERR_STATE, "cannot change the thread count from inside a parallel CPU kernel");
    take_pool();
    if (nworkers) stop_workers(); /* restarted with the new count by the next parallel call */
    atomic_store(&threads_setting, n);
    atomic_store(&busy, false);
    omp_set_num_threads(n);      /* the kernels that still use OpenMP regions follow the setting */
    openblas_set_num_threads(n); /* and so do matmuls, as torch.set_num_threads sets MKL's count */
    return CT_OK;
}

int ct_get_num_threads(void) { return ct__parallel_threads(); }
