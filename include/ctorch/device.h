/* ctorch/device.h: devices, availability and the per-device allocators' statistics.
 *
 * A ct_device is a small value: {CT_CPU, 0} or {CT_CUDA, n}. CUDA memory comes from a caching allocator that keeps
 * freed blocks in size-classed free lists per stream for reuse, empties its cache and retries once when the
 * driver reports out-of-memory, and counts what it holds (DESIGN.md decision 3). CPU memory is 64-byte aligned and
 * can be page-locked ("pinned") for fast asynchronous copies to a GPU. */
#ifndef CTORCH_DEVICE_H
#define CTORCH_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct_device_type { CT_CPU = 0, CT_CUDA = 1 } ct_device_type;

typedef struct ct_device {
    ct_device_type type;
    int index; /* 0 for the CPU; the CUDA ordinal otherwise */
} ct_device;

#define CT_DEVICE_CPU ((ct_device){CT_CPU, 0})
#define CT_DEVICE_CUDA(n) ((ct_device){CT_CUDA, (n)})

/* Parses "cpu", "cuda" (= cuda:0) or "cuda:N" into *out. Fails with CT_ERR_INVALID_ARGUMENT on anything else.
 * Does not check that the device exists: a tensor made on it does. */
ct_status ct_device_parse(const char *text, ct_device *out);

/* Writes "cpu" or "cuda:N" into buf (at most size bytes, always terminated). Returns buf. */
const char *ct_device_str(ct_device device, char *buf, int size);

bool ct_device_equal(ct_device a, ct_device b);

/* True when this build has CUDA and the machine has at least one usable GPU. Never fails. */
bool ct_cuda_is_available(void);

/* Number of usable GPUs; 0 in a build without CUDA or on a machine without a GPU. Never fails. */
int ct_cuda_device_count(void);

/* True when the library was built with CUDA kernels. */
bool ct_built_with_cuda(void);

/* Checks that the device can be used now: CT_OK for the CPU, CT_ERR_NO_CUDA (with the reason: built without CUDA,
 * no CUDA device) or CT_ERR_DEVICE (ordinal out of range) for a CUDA device that is not there. */
ct_status ct_device_check(ct_device device);

/* Waits for all work queued on the device (torch.cuda.synchronize), including non-blocking copies
 * (ct_copy_async_), and reports a pending device-side error (e.g. an index that a kernel found out of bounds) as
 * this call's error. Pinned host blocks released while their copies ran become reusable. No-op for the CPU. */
ct_status ct_synchronize(ct_device device);

/* Statistics of one device's allocator, in bytes. */
typedef struct ct_memory_stats {
    int64_t allocated;      /* bytes in live tensors' storages */
    int64_t reserved;       /* bytes held from the system: allocated plus the allocator's cache */
    int64_t peak_allocated; /* highest `allocated` since the start or the last ct_memory_reset_peak */
    int64_t num_allocs;     /* live allocations */
    int64_t num_ooms;       /* out-of-memory events seen (each followed by emptying the cache and one retry) */
} ct_memory_stats;

ct_status ct_memory_stats_get(ct_device device, ct_memory_stats *out);

/* Sets peak_allocated to the current allocated. */
ct_status ct_memory_reset_peak(ct_device device);

/* Returns the cached but unused blocks of a CUDA device to the driver (torch.cuda.empty_cache), and the cached
 * pinned host blocks whose copies are over. No-op for the CPU. */
ct_status ct_cuda_empty_cache(ct_device device);

/* The CPU block cache. Freed CPU blocks of 256 KiB and more are kept, up to a limit of idle bytes, and handed out
 * again to requests of the same size class (sizes rounded up to an eighth of their power of two): a training loop
 * allocates the same temporaries every step, and fresh memory from the system costs a page fault per 4 KiB on its
 * first write (a CNN step on Fashion-MNIST spent about a third of its time there). When a free would take the idle
 * bytes over the limit, the largest cached blocks go back to the system first. The default limit is 1 GiB or an
 * eighth of the machine's memory, whichever is less; the environment variable CTORCH_CPU_CACHE_LIMIT (bytes, read
 * at the first allocation) overrides it, and 0 turns the cache off. Under AddressSanitizer the default is 0, so
 * that freed memory stays poisoned. Pinned blocks have their own cache (ct_cuda_empty_cache).
 *
 * ct_cpu_set_cache_limit sets the limit (bytes >= 0, else CT_ERR_INVALID_ARGUMENT) and trims the cache to it;
 * ct_cpu_get_cache_limit returns it; ct_cpu_empty_cache returns every cached block to the system. All three are
 * thread-safe. ct_memory_stats_get(CT_DEVICE_CPU) counts the cached bytes in `reserved`. */
ct_status ct_cpu_set_cache_limit(int64_t bytes);
int64_t ct_cpu_get_cache_limit(void);
void ct_cpu_empty_cache(void);

#ifdef __cplusplus
}
#endif
#endif
