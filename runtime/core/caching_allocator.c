/* The caching allocator of caching_allocator.h: one sorted free list, a mutex, and counters. */
#include "caching_allocator.h"

#include <stdlib.h>

#include "internal.h"

struct ct__block {
    void *ptr;
    size_t size;
    int stream;
    ct__block *next; /* in the free list, when cached */
};

size_t ct__caching_round(size_t nbytes) {
    if (nbytes == 0) nbytes = 1;
    size_t unit = nbytes < CT__SMALL_LIMIT ? CT__SMALL_ROUND : CT__LARGE_ROUND;
    return (nbytes + unit - 1) / unit * unit;
}

void ct__caching_init(ct__caching_allocator *a, ct__raw_allocator raw) {
    a->raw = raw;
    pthread_mutex_init(&a->lock, NULL);
    a->free_blocks = NULL;
    a->stats = (ct_memory_stats){0};
}

/* Takes the smallest cached block of the stream that fits size without wasting half of it. Lock held. */
static ct__block *take_cached(ct__caching_allocator *a, size_t size, int stream) {
    for (ct__block **link = &a->free_blocks; *link; link = &(*link)->next) {
        ct__block *b = *link;
        if (b->size < size || b->stream != stream) continue;
        if (b->size / 2 > size) return NULL; /* the list is sorted: every later block wastes more */
        *link = b->next;
        b->next = NULL;
        return b;
    }
    return NULL;
}

static void empty_cache_locked(ct__caching_allocator *a) {
    while (a->free_blocks) {
        ct__block *b = a->free_blocks;
        a->free_blocks = b->next;
        a->raw.free(a->raw.ctx, b->ptr);
        a->stats.reserved -= (int64_t)b->size;
        free(b);
    }
}

void *ct__caching_alloc(ct__caching_allocator *a, size_t nbytes, int stream, void **handle) {
    size_t size = ct__caching_round(nbytes);
    pthread_mutex_lock(&a->lock);
    ct__block *b = take_cached(a, size, stream);
    if (!b) {
        b = malloc(sizeof *b);
        void *ptr = NULL;
        ct_status st = b ? a->raw.alloc(a->raw.ctx, size, &ptr) : CT_ERR_OUT_OF_MEMORY;
        if (b && st == CT_ERR_OUT_OF_MEMORY) {
            a->stats.num_ooms++;
            empty_cache_locked(a);
            st = a->raw.alloc(a->raw.ctx, size, &ptr);
        }
        if (st != CT_OK) {
            ct_memory_stats s = a->stats;
            pthread_mutex_unlock(&a->lock);
            free(b);
            if (st == CT_ERR_OUT_OF_MEMORY)
                CT_FAIL(st,
                        "out of memory: tried to allocate %zu bytes (%lld bytes allocated, %lld reserved, the cache "
                        "was emptied and the allocation retried)",
                        size, (long long)s.allocated, (long long)s.reserved);
            return NULL;
        }
        *b = (ct__block){ptr, size, stream, NULL};
        a->stats.reserved += (int64_t)size;
    }
    a->stats.allocated += (int64_t)b->size;
    a->stats.num_allocs++;
    if (a->stats.allocated > a->stats.peak_allocated) a->stats.peak_allocated = a->stats.allocated;
    pthread_mutex_unlock(&a->lock);
    *handle = b;
    return b->ptr;
}

void ct__caching_free(ct__caching_allocator *a, void *handle) {
    ct__block *b = handle;
    if (!b) return;
    pthread_mutex_lock(&a->lock);
    a->stats.allocated -= (int64_t)b->size;
    a->stats.num_allocs--;
    ct__block **link = &a->free_blocks;
    while (*link && (*link)->size < b->size) link = &(*link)->next;
    b->next = *link;
    *link = b;
    pthread_mutex_unlock(&a->lock);
}

void ct__caching_empty_cache(ct__caching_allocator *a) {
    pthread_mutex_lock(&a->lock);
    empty_cache_locked(a);
    pthread_mutex_unlock(&a->lock);
}

ct_memory_stats ct__caching_stats(ct__caching_allocator *a) {
    pthread_mutex_lock(&a->lock);
    ct_memory_stats s = a->stats;
    pthread_mutex_unlock(&a->lock);
    return s;
}

void ct__caching_reset_peak(ct__caching_allocator *a) {
    pthread_mutex_lock(&a->lock);
    a->stats.peak_allocated = a->stats.allocated;
    pthread_mutex_unlock(&a->lock);
}

int64_t ct__caching_destroy(ct__caching_allocator *a) {
    ct__caching_empty_cache(a);
    int64_t live = ct__caching_stats(a).num_allocs;
    pthread_mutex_destroy(&a->lock);
    return live;
}
