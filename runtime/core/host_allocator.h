/* The page-locked ("pinned") host allocator, after PyTorch's CachingHostAllocator, over a raw allocator
 * (cudaMallocHost/cudaFreeHost on a GPU; a fake one in the tests) and an event API (CUDA events; a fake one in the
 * tests), so that its logic is plain C that runs and is tested without a GPU.
 *
 * The hazard it handles: a non-blocking copy from (or to) a pinned block is still running on the GPU when the
 * host lets go of the tensor. The block must then not be handed out again nor returned to the driver until the
 * copy is over. So each asynchronous copy records an event on the block (ct__host_record_use, after the copy is
 * queued), and a released block whose events have not all completed waits on a pending list. Pending blocks are
 * polled (cudaEventQuery, never a wait) on every later allocation and release, and at ct_synchronize; those whose
 * events have completed go to the cache, from which a request of the same size class is served again without a
 * new cudaMallocHost (page-locking is slow: milliseconds for a few MiB). Sizes are rounded up to a power of two,
 * as PyTorch does, so the loader's batches of one shape reuse the same few blocks. Thread-safe (one lock). */
#ifndef CTORCH_HOST_ALLOCATOR_H
#define CTORCH_HOST_ALLOCATOR_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "caching_allocator.h" /* ct__raw_allocator */

typedef struct ct__event_api {
    /* A new event recorded after the work queued so far on device's stream (the stream our kernels use). */
    ct_status (*record)(void *ctx, int device, void **event);
    /* 1: the event has completed; 0: not yet; -1: the query failed (the device is in error: nothing more will run
     * there, so the allocator counts the event as completed rather than keep the block forever). Never waits. */
    int (*query)(void *ctx, void *event);
    /* Waits for the event (used only when the allocator is destroyed with copies in flight). */
    void (*wait)(void *ctx, void *event);
    void (*destroy)(void *ctx, void *event);
    void *ctx;
} ct__event_api;

typedef struct ct__host_block ct__host_block;

typedef struct ct__host_stats {
    int64_t in_use;      /* blocks held by live storages */
    int64_t pending;     /* released blocks waiting for their copies to finish */
    int64_t cached;      /* released blocks ready for reuse */
    int64_t reserved;    /* bytes held from the raw allocator (all three kinds of block) */
    int64_t raw_allocs;  /* calls to the raw allocator since init */
    int64_t events_live; /* events recorded and not yet destroyed */
} ct__host_stats;

typedef struct ct__host_allocator {
    ct__raw_allocator raw;
    ct__event_api events;
    pthread_mutex_t lock;
    ct__host_block *pending; /* released, with events not yet seen complete */
    ct__host_block *cached;  /* released, idle: reusable */
    ct__host_stats stats;
} ct__host_allocator;

/* The size a request is served with: the next power of two (at least 64 bytes). */
size_t ct__host_round(size_t nbytes);
void ct__host_init(ct__host_allocator *a, ct__raw_allocator raw, ct__event_api events);
/* Page-locked memory of at least nbytes, and the block handle for the calls below; NULL with the error set on
 * failure (the raw allocator's out-of-memory empties the cache and is retried once). Polls pending blocks first. */
void *ct__host_alloc(ct__host_allocator *a, size_t nbytes, ct__host_block **block);
/* Records an event on block's device stream after an asynchronous copy that reads or writes it has been queued.
 * Completed events already on the block are dropped first, so a long-lived block copied many times keeps few. */
ct_status ct__host_record_use(ct__host_allocator *a, ct__host_block *block, int device);
/* Releases a block: to the cache when none of its copies is still running, else to the pending list. */
void ct__host_free(ct__host_allocator *a, ct__host_block *block);
/* Moves pending blocks whose events have all completed to the cache. */
void ct__host_poll(ct__host_allocator *a);
/* Returns the cached blocks to the raw allocator (pending ones stay until their copies finish). */
void ct__host_empty_cache(ct__host_allocator *a);
ct__host_stats ct__host_get_stats(ct__host_allocator *a);
/* Waits for every pending block's events, returns every released block to the raw allocator and frees the
 * allocator's state. Returns the number of blocks still in use (not released: leaked by the caller). */
int64_t ct__host_destroy(ct__host_allocator *a);

/* ---- the process's pinned allocator (allocator.c): the glue for copy.c and device.c ----
 * It is made on the first pinned allocation with a GPU present and never destroyed: at exit its page-locked memory
 * goes with the process (as PyTorch's does), since the CUDA runtime may already be torn down by then. */

struct ct_storage;
/* After an asynchronous copy reading or writing s's memory has been queued on device: when s is pinned, records an
 * event on its block, so that releasing s defers the block's reuse until the copy is over. */
ct_status ct__pinned_record_use(const struct ct_storage *s, int device);
/* Moves pinned blocks whose copies have finished to the pinned cache (after a device synchronisation). */
void ct__pinned_poll(void);

#endif
