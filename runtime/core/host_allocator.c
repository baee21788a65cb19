/* The pinned host allocator of host_allocator.h: blocks with a list of recorded events, a pending list polled on
 * every call, and a cache served by exact (power-of-two) size class. */
#include "host_allocator.h"

#include <stdlib.h>

#include "internal.h"

typedef struct ct__host_event {
    void *event;
    struct ct__host_event *next;
} ct__host_event;

struct ct__host_block {
    void *ptr;
    size_t size;            /* rounded */
    ct__host_event *events; /* recorded after asynchronous copies; NULL when none may still be running */
    ct__host_block *next;   /* in the pending or cached list */
};

size_t ct__host_round(size_t nbytes) {
    size_t size = 64;
    while (size < nbytes) size <<= 1;
    return size;
}

void ct__host_init(ct__host_allocator *a, ct__raw_allocator raw, ct__event_api events) {
    a->raw = raw;
    a->events = events;
    pthread_mutex_init(&a->lock, NULL);
    a->pending = a->cached = NULL;
    a->stats = (ct__host_stats){0};
}

/* Drops b's completed events; true when none is left. Lock held. */
static bool drop_completed_events(ct__host_allocator *a, ct__host_block *b) {
    for (ct__host_event **link = &b->events; *link;) {
        ct__host_event *e = *link;
        if (a->events.query(a->events.ctx, e->event) == 0) {
            link = &e->next;
            continue;
        }
        *link = e->next;
        a->events.destroy(a->events.ctx, e->event);
        a->stats.events_live--;
        free(e);
    }
    return b->events == NULL;
}

static void poll_locked(ct__host_allocator *a) {
    for (ct__host_block **link = &a->pending; *link;) {
        ct__host_block *b = *link;
        if (!drop_completed_events(a, b)) {
            link = &b->next;
            continue;
        }
        *link = b->next;
        b->next = a->cached;
        a->cached = b;
        a->stats.pending--;
        a->stats.cached++;
    }
}

static void empty_cache_locked(ct__host_allocator *a) {
    while (a->cached) {
        ct__host_block *b = a->cached;
        a->cached = b->next;
        a->raw.free(a->raw.ctx, b->ptr);
        a->stats.reserved -= (int64_t)b->size;
        a->stats.cached--;
        free(b);
    }
}

/* Takes a cached block of exactly size. Lock held. */
static ct__host_block *take_cached(ct__host_allocator *a, size_t size) {
    for (ct__host_block **link = &a->cached; *link; link = &(*link)->next) {
        ct__host_block *b = *link;
        if (b->size != size) continue;
        *link = b->next;
        b->next = NULL;
        a->stats.cached--;
        return b;
    }
    return NULL;
}

void *ct__host_alloc(ct__host_allocator *a, size_t nbytes, ct__host_block **block) {
    size_t size = ct__host_round(nbytes);
    *block = NULL;
    pthread_mutex_lock(&a->lock);
    poll_locked(a);
    ct__host_block *b = take_cached(a, size);
    if (!b) {
        void *ptr = NULL;
        b = malloc(sizeof *b);
        ct_status st = b ? a->raw.alloc(a->raw.ctx, size, &ptr) : CT_ERR_OUT_OF_MEMORY;
        if (b && st == CT_ERR_OUT_OF_MEMORY) { /* cached blocks of other sizes may be in the way */
            empty_cache_locked(a);
            st = a->raw.alloc(a->raw.ctx, size, &ptr);
        }
        if (st != CT_OK) {
            pthread_mutex_unlock(&a->lock);
            free(b);
            if (st == CT_ERR_OUT_OF_MEMORY)
                CT_FAIL(st, "out of pinned host memory: tried to allocate %zu bytes (the pinned cache was emptied and "
                            "the allocation retried)", size);
            else if (!b)
                CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory for a pinned block's header");
            return NULL; /* another raw error keeps the raw allocator's message */
        }
        *b = (ct__host_block){ptr, size, NULL, NULL};
        a->stats.reserved += (int64_t)size;
        a->stats.raw_allocs++;
    }
    a->stats.in_use++;
    pthread_mutex_unlock(&a->lock);
    *block = b;
    return b->ptr;
}

ct_status ct__host_record_use(ct__host_allocator *a, ct__host_block *block, int device) {
    ct__host_event *e = malloc(sizeof *e);
    if (!e) return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory for a pinned block's event");
    pthread_mutex_lock(&a->lock);
    drop_completed_events(a, block);
    ct_status st = a->events.record(a->events.ctx, device, &e->event);
    if (st == CT_OK) {
        e->next = block->events;
        block->events = e;
        a->stats.events_live++;
    }
    pthread_mutex_unlock(&a->lock);
    if (st != CT_OK) free(e);
    return st;
}

void ct__host_free(ct__host_allocator *a, ct__host_block *block) {
    if (!block) return;
    pthread_mutex_lock(&a->lock);
    a->stats.in_use--;
    if (drop_completed_events(a, block)) {
        block->next = a->cached;
        a->cached = block;
        a->stats.cached++;
    } else { /* a copy from or into it may still run: not to be reused yet */
        block->next = a->pending;
        a->pending = block;
        a->stats.pending++;
    }
    poll_locked(a);
    pthread_mutex_unlock(&a->lock);
}

void ct__host_poll(ct__host_allocator *a) {
    pthread_mutex_lock(&a->lock);
    poll_locked(a);
    pthread_mutex_unlock(&a->lock);
}

void ct__host_empty_cache(ct__host_allocator *a) {
    pthread_mutex_lock(&a->lock);
    poll_locked(a);
    empty_cache_locked(a);
    pthread_mutex_unlock(&a->lock);
}

ct__host_stats ct__host_get_stats(ct__host_allocator *a) {
    pthread_mutex_lock(&a->lock);
    ct__host_stats s = a->stats;
    pthread_mutex_unlock(&a->lock);
    return s;
}

int64_t ct__host_destroy(ct__host_allocator *a) {
    pthread_mutex_lock(&a->lock);
    for (ct__host_block *b = a->pending; b; b = b->next)
        for (ct__host_event *e = b->events; e; e = e->next) a->events.wait(a->events.ctx, e->event);
    poll_locked(a); /* every event has completed now: all pending blocks move to the cache */
    empty_cache_locked(a);
    int64_t in_use = a->stats.in_use;
    pthread_mutex_unlock(&a->lock);
    pthread_mutex_destroy(&a->lock);
    return in_use;
}
