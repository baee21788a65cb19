/* A caching allocator over a raw allocator (cudaMalloc/cudaFree for GPUs; a fake one in the tests).
 *
 * Freed blocks are kept in a free list per stream, sorted by size, and handed out again to a request on the same
 * stream whose rounded size they fit without wasting more than half of the block. Sizes are rounded up: to 512 bytes
 * below 1 MiB, to 2 MiB above, so that the shapes of a training loop's temporaries repeat exactly and every step after
 * the first reuses the blocks of the one before. When the raw allocator reports out-of-memory, every cached block
 * is returned to it and the request is tried once more (torch.cuda's behaviour). Thread-safe. */
#ifndef CTORCH_CACHING_ALLOCATOR_H
#define CTORCH_CACHING_ALLOCATOR_H

#include <pthread.h>
#include <stddef.h>

#include "ctorch/device.h"

typedef struct ct__raw_allocator {
    /* CT_OK, CT_ERR_OUT_OF_MEMORY (the cache is emptied and the call retried once) or another error. */
    ct_status (*alloc)(void *ctx, size_t nbytes, void **out);
    void (*free)(void *ctx, void *ptr);
    void *ctx;
} ct__raw_allocator;

typedef struct ct__block ct__block;

typedef struct ct__caching_allocator {
    ct__raw_allocator raw;
    pthread_mutex_t lock;
    ct__block *free_blocks; /* all cached blocks, sorted by size ascending */
    ct_memory_stats stats;
} ct__caching_allocator;

#define CT__SMALL_LIMIT ((size_t)1 << 20)
#define CT__SMALL_ROUND ((size_t)512)
#define CT__LARGE_ROUND ((size_t)2 << 20)

/* The size a request is served with. */
size_t ct__caching_round(size_t nbytes);
void ct__caching_init(ct__caching_allocator *a, ct__raw_allocator raw);
/* Returns the memory and an opaque block handle for ct__caching_free; NULL with the error set on failure. */
void *ct__caching_alloc(ct__caching_allocator *a, size_t nbytes, int stream, void **handle);
void ct__caching_free(ct__caching_allocator *a, void *handle);
/* Returns every cached block to the raw allocator. */
void ct__caching_empty_cache(ct__caching_allocator *a);
ct_memory_stats ct__caching_stats(ct__caching_allocator *a);
void ct__caching_reset_peak(ct__caching_allocator *a);
/* Empties the cache and frees the allocator's own state; blocks still in use are reported by the return value. */
int64_t ct__caching_destroy(ct__caching_allocator *a);

#endif
