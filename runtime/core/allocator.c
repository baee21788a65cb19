/* Storage memory for each device: a 64-byte aligned CPU allocator (page-locked blocks from the caching pinned host
 * allocator, host_allocator.c over cudaMallocHost and CUDA events), a caching allocator per GPU
 * (caching_allocator.c over cudaMalloc), the statistics of both, the allocation-failure hook for tests, and guard
 * bytes after CPU blocks for the op-test harness. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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
 * One fault per 2 MiB instead (67M-element add: 140 -> 62-77 ms). Smaller blocks are left alone: glibc reuses them
 * from its heap without faulting, which a fresh huge page (zeroed on its first touch) would only slow down. */
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
        p = cpu_alloc_plain(size);
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
    free(p);
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
        out->allocated = out->reserved = atomic_load(&cpu_allocated);
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
