/* Storage memory for each device: a 64-byte aligned CPU allocator (page-locked blocks from the caching pinned host
 * allocator, host_allocator.c over cudaMallocHost and CUDA events), a caching allocator per GPU
 * (caching_allocator.c over cudaMalloc), the statistics of both, the allocation-failure hook for tests, and guard
 * bytes after CPU blocks for the op-test harness. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "caching_allocator.h"
#include "host_allocator.h"
#include "internal.h"

#define CPU_ALIGN 64
#define GUARD_BYTES 64
#define GUARD_BYTE 0xA5

static atomic_llong fail_countdown;
static atomic_bool guard_on;
static atomic_llong guard_violations;

static atomic_llong cpu_allocated, cpu_peak, cpu_num_allocs;
static const char GUARDED_BLOCK; /* its address, as a block's handle, marks a guarded block */

/* A CPU block's handle: NULL for plain memory, &GUARDED_BLOCK for a guarded one, else its pinned host block. */
bool ct__alloc_is_pinned(const void *handle) { return handle && handle != &GUARDED_BLOCK; }

#ifdef CTORCH_HAVE_CUDA
/* ---- the pinned host allocator over cudaMallocHost and CUDA events ---- */

static ct__host_allocator host_allocator;
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

static ct_status raw_host_alloc(void *ctx, size_t n, void **out) { return ct__cuda_host_alloc(n, out); }
static void raw_host_free(void *ctx, void *p) { ct__cuda_host_free(p); }
static ct_status event_record(void *ctx, int dev, void **event) { return ct__cuda_event_record(dev, event); }
static int event_query(void *ctx, void *event) { return ct__cuda_event_query(event); }
static void event_wait(void *ctx, void *event) { ct__cuda_event_wait(event); }
static void event_destroy(void *ctx, void *event) { ct__cuda_event_destroy(event); }

static void host_init(void) {
    ct__host_init(&host_allocator, (ct__raw_allocator){raw_host_alloc, raw_host_free, NULL},
                  (ct__event_api){event_record, event_query, event_wait, event_destroy, NULL});
}

static ct__host_allocator *host(void) {
    pthread_once(&host_once, host_init);
    return &host_allocator;
}
#endif

ct_status ct__pinned_record_use(const ct_storage *s, int device) {
    if (!s->pinned || s->borrowed) return CT_OK;
#ifdef CTORCH_HAVE_CUDA
    return ct__host_record_use(host(), s->alloc_handle, device);
#else
    (void)device;
    return CT_OK;
#endif
}

void ct__pinned_poll(void) {
#ifdef CTORCH_HAVE_CUDA
    ct__host_poll(host());
#endif
}

void ct_debug_fail_allocation_after(int64_t n) { atomic_store(&fail_countdown, n > 0 ? n : 0); }
void ct_debug_set_guard_memory(bool on) { atomic_store(&guard_on, on); }
int64_t ct_debug_guard_violations(void) { return atomic_load(&guard_violations); }

bool ct__alloc_should_fail(void) {
    long long n = atomic_load(&fail_countdown);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1)) return n == 1;
    }
    return false;
}

static void cpu_count(int64_t delta) {
    long long now = atomic_fetch_add(&cpu_allocated, delta) + delta;
    atomic_fetch_add(&cpu_num_allocs, delta > 0 ? 1 : -1);
    long long peak = atomic_load(&cpu_peak);
    while (now > peak && !atomic_compare_exchange_weak(&cpu_peak, &peak, now)) {
    }
}

static size_t cpu_block_size(size_t nbytes, bool guarded) {
    size_t n = (nbytes + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN;
    if (n == 0) n = CPU_ALIGN;
    return guarded ? n + GUARD_BYTES : n;
}

/* Blocks of HUGE_MIN bytes or more are aligned to a 2 MiB huge page and marked for transparent huge pages, where
 * the kernel hands them out only on request (THP "madvise" mode, Debian's default). glibc maps blocks that large
 * fresh on each allocation (32 MiB is the most its dynamic mmap threshold grows to) and unmaps them on free, so
 * every 4 KiB page of a large output used to fault on its first write: ~30 % of a 256 MiB elementwise op's time.
 * One fault per 2 MiB instead (67M-element add: 140 -> 62-77 ms). Smaller blocks are left to glibc: a fresh huge
 * page (zeroed on its first touch) would only slow them down. Either kind, once freed, may wait in the block cache
 * below and be reused without any fault. */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN ((size_t)32 << 20)

static void *cpu_alloc_plain(size_t size) {
    if (size < HUGE_MIN) return aligned_alloc(CPU_ALIGN, size);
    size_t rounded = (size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = aligned_alloc(HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, rounded, MADV_HUGEPAGE); /* advice only: where it is refused, small pages serve as before */
#endif
    return p;
}

/* ---- the CPU block cache (ct_cpu_set_cache_limit in device.h) ----
 * Idle blocks wait in one list sorted by size, linked through their own first bytes (no bookkeeping allocations).
 * Every block of CACHE_MIN bytes or more is allocated at its size class, whether the cache is on or not, so that a
 * freed block always goes back under the size it really has. */
#define CACHE_MIN ((size_t)256 << 10)
#define CACHE_MAX ((size_t)1 << 56) /* larger requests (which fail anyway) are not rounded: no overflow there */
#define CACHE_DEFAULT_MAX ((int64_t)1 << 30)

typedef struct cached_block {
    struct cached_block *next;
    size_t size;
} cached_block;

static struct {
    pthread_mutex_t lock;
    cached_block *head; /* ascending sizes */
    int64_t bytes, limit;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_lock(void) { pthread_mutex_lock(&cache.lock); }
static void cache_unlock(void) { pthread_mutex_unlock(&cache.lock); }

static void cache_init(void) {
    int64_t limit = 0;
#ifndef __SANITIZE_ADDRESS__
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    limit = pages > 0 && page > 0 ? (int64_t)pages * page / 8 : CACHE_DEFAULT_MAX;
    if (limit > CACHE_DEFAULT_MAX) limit = CACHE_DEFAULT_MAX;
#endif
    const char *env = getenv("CTORCH_CPU_CACHE_LIMIT");
    if (env && *env) {
        char *end;
        long long v = strtoll(env, &end, 10);
        if (*end == '\0' && v >= 0) limit = v; /* anything else is ignored, as documented */
    }
    cache.limit = limit;
    pthread_atfork(cache_lock, cache_unlock, cache_unlock); /* a forked child finds the lock free */
}

/* The size class of a block of size >= CACHE_MIN bytes: rounded up to an eighth of its power of two. */
static size_t cache_class(size_t size) {
    size_t unit = ((size_t)1 << (63 - __builtin_clzll((unsigned long long)size))) / 8;
    return (size + unit - 1) / unit * unit;
}

/* A cached block of exactly `size` bytes, or NULL. */
static void *cache_take(size_t size) {
    cache_lock();
    cached_block *b = NULL;
    for (cached_block **link = &cache.head; *link && (*link)->size <= size; link = &(*link)->next)
        if ((*link)->size == size) {
            b = *link;
            *link = b->next;
            cache.bytes -= (int64_t)size;
            break;
        }
    cache_unlock();
    return b;
}

/* Takes the largest cached blocks off the list until at most limit bytes stay; returns them, linked. Lock held. */
static cached_block *cache_trim_locked(int64_t limit) {
    cached_block *out = NULL;
    while (cache.bytes > limit) {
        cached_block **link = &cache.head;
        while ((*link)->next) link = &(*link)->next;
        cached_block *b = *link;
        *link = NULL;
        cache.bytes -= (int64_t)b->size;
        b->next = out;
        out = b;
    }
    return out;
}

static void free_blocks(cached_block *b) {
    while (b) {
        cached_block *next = b->next;
        free(b);
        b = next;
    }
}

/* Keeps the free block p of `size` bytes (its class) while the limit allows, else returns it to the system. */
static void cache_put(void *p, size_t size) {
    cache_lock();
    if ((int64_t)size > cache.limit) {
        cache_unlock();
        free(p);
        return;
    }
    cached_block *b = p, **link = &cache.head;
    while (*link && (*link)->size < size) link = &(*link)->next;
    b->size = size;
    b->next = *link;
    *link = b;
    cache.bytes += (int64_t)size;
    cached_block *evicted = cache_trim_locked(cache.limit);
    cache_unlock();
    free_blocks(evicted);
}

ct_status ct_cpu_set_cache_limit(int64_t bytes) {
    if (bytes < 0) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'bytes' must be >= 0, got %lld", (long long)bytes);
    pthread_once(&cache_once, cache_init);
    cache_lock();
    cache.limit = bytes;
    cached_block *evicted = cache_trim_locked(bytes);
    cache_unlock();
    free_blocks(evicted);
    return CT_OK;
}

int64_t ct_cpu_get_cache_limit(void) {
    pthread_once(&cache_once, cache_init);
    cache_lock();
    int64_t limit = cache.limit;
    cache_unlock();
    return limit;
}

void ct_cpu_empty_cache(void) {
    pthread_once(&cache_once, cache_init);
    cache_lock();
    cached_block *evicted = cache_trim_locked(0);
    cache_unlock();
    free_blocks(evicted);
}

static int64_t cache_bytes(void) {
    cache_lock();
    int64_t n = cache.bytes;
    cache_unlock();
    return n;
}

static void *cpu_alloc(size_t nbytes, bool pinned, void **handle) {
    bool guarded = atomic_load(&guard_on) && !pinned;
    size_t size = cpu_block_size(nbytes, guarded);
    void *p = NULL;
#ifdef CTORCH_HAVE_CUDA
    if (pinned && ct_cuda_is_available()) {
        ct__host_block *block;
        if (!(p = ct__host_alloc(host(), size, &block))) return NULL;
        *handle = block;
        cpu_count((int64_t)size);
        return p;
    } else
#endif
    {
        pinned = false; /* without a GPU, page-locking buys nothing: plain memory, as the docs of pin_memory say */
        if (!guarded && size >= CACHE_MIN && size <= CACHE_MAX) {
            pthread_once(&cache_once, cache_init);
            size = cache_class(size);
            p = cache_take(size);
        }
        if (!p) p = cpu_alloc_plain(size);
        if (!p) {
            CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory: tried to allocate %zu bytes on the CPU", nbytes);
            return NULL;
        }
    }
    if (guarded) memset((char *)p + nbytes, GUARD_BYTE, size - nbytes);
    *handle = guarded ? (void *)&GUARDED_BLOCK : NULL;
    cpu_count((int64_t)size);
    return p;
}

static void cpu_free(void *p, size_t nbytes, void *handle) {
    bool guarded = handle == &GUARDED_BLOCK, pinned = ct__alloc_is_pinned(handle);
    size_t size = cpu_block_size(nbytes, guarded);
    bool cached = !guarded && !pinned && size >= CACHE_MIN && size <= CACHE_MAX;
    if (cached) size = cache_class(size);
    if (guarded) {
        const unsigned char *g = (const unsigned char *)p + nbytes;
        for (size_t i = 0; i < size - nbytes; i++)
            if (g[i] != GUARD_BYTE) {
                atomic_fetch_add(&guard_violations, 1);
                break;
            }
    }
    cpu_count(-(int64_t)size);
#ifdef CTORCH_HAVE_CUDA
    if (pinned) { /* to the pinned cache, once the copies recorded on it are over */
        ct__host_free(host(), handle);
        return;
    }
#else
    (void)pinned;
#endif
    if (cached) cache_put(p, size);
    else free(p);
}

#ifdef CTORCH_HAVE_CUDA
#define MAX_GPUS 64
static ct__caching_allocator gpu_allocators[MAX_GPUS];
static bool gpu_ready[MAX_GPUS];
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

static ct_status raw_cuda_alloc(void *ctx, size_t n, void **out) { return ct__cuda_malloc_raw((int)(intptr_t)ctx, n, out); }
static void raw_cuda_free(void *ctx, void *p) { ct__cuda_free_raw((int)(intptr_t)ctx, p); }

static ct__caching_allocator *gpu_allocator(int dev) {
    pthread_mutex_lock(&init_lock);
    if (!gpu_ready[dev]) {
        ct__caching_init(&gpu_allocators[dev],
                         (ct__raw_allocator){raw_cuda_alloc, raw_cuda_free, (void *)(intptr_t)dev});
        gpu_ready[dev] = true;
    }
    pthread_mutex_unlock(&init_lock);
    return &gpu_allocators[dev];
}
#endif

void *ct__alloc(ct_device device, size_t nbytes, bool pinned, void **handle) {
    *handle = NULL;
    if (ct__alloc_should_fail()) {
        char dev[16];
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory: tried to allocate %zu bytes on %s (injected failure)", nbytes,
                ct_device_str(device, dev, sizeof dev));
        return NULL;
    }
    if (device.type == CT_CPU) return cpu_alloc(nbytes, pinned, handle);
#ifdef CTORCH_HAVE_CUDA
    if (device.index < 0 || device.index >= MAX_GPUS) {
        CT_FAIL(CT_ERR_DEVICE, "CUDA device index %d is out of range", device.index);
        return NULL;
    }
    return ct__caching_alloc(gpu_allocator(device.index), nbytes, 0, handle);
#else
    CT_FAIL(CT_ERR_NO_CUDA, "ctorch was built without CUDA");
    return NULL;
#endif
}

void ct__free(ct_device device, void *ptr, size_t nbytes, void *handle) {
    if (device.type == CT_CPU) {
        cpu_free(ptr, nbytes, handle);
        return;
    }
#ifdef CTORCH_HAVE_CUDA
    ct__caching_free(gpu_allocator(device.index), handle);
#endif
}

ct_status ct_memory_stats_get(ct_device device, ct_memory_stats *out) {
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'out' is NULL");
    ct_status st = ct_device_check(device);
    if (st != CT_OK) return st;
    if (device.type == CT_CPU) {
        out->allocated = atomic_load(&cpu_allocated);
        out->reserved = out->allocated + cache_bytes();
        out->peak_allocated = atomic_load(&cpu_peak);
        out->num_allocs = atomic_load(&cpu_num_allocs);
        out->num_ooms = 0;
        return CT_OK;
    }
#ifdef CTORCH_HAVE_CUDA
    *out = ct__caching_stats(gpu_allocator(device.index));
#endif
    return CT_OK;
}

ct_status ct_memory_reset_peak(ct_device device) {
    ct_status st = ct_device_check(device);
    if (st != CT_OK) return st;
    if (device.type == CT_CPU) {
        atomic_store(&cpu_peak, atomic_load(&cpu_allocated));
        return CT_OK;
    }
#ifdef CTORCH_HAVE_CUDA
    ct__caching_reset_peak(gpu_allocator(device.index));
#endif
    return CT_OK;
}

ct_status ct_cuda_empty_cache(ct_device device) {
    ct_status st = ct_device_check(device);
    if (st != CT_OK || device.type == CT_CPU) return st;
#ifdef CTORCH_HAVE_CUDA
    ct__caching_empty_cache(gpu_allocator(device.index));
    ct__host_empty_cache(host());
#endif
    return CT_OK;
}
