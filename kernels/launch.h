/* The plain C boundary between runtime/ and the kernels: the view descriptor every kernel receives, the error
 * helper, and the launchers of each backend. runtime/ sees nothing else of CUDA (DESIGN.md, "The house").
 *
 * A launcher validates nothing: the op front ends in runtime/ops have checked shapes, dtypes and devices already.
 * Launchers return CT_OK or an error set with ct__error (a failed CUDA call, with the library's message). */
#ifndef CTORCH_KERNELS_LAUNCH_H
#define CTORCH_KERNELS_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

#include "ctorch/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records an error on this thread: the message is "<func>: " followed by the formatted text. Returns status. */
ct_status ct__error(ct_status status, const char *func, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define CT_FAIL(status, ...) ct__error((status), __func__, __VA_ARGS__)

/* A strided view as kernels see it: data points at the first element; shape/stride in elements. */
typedef struct ct__view {
    void *data;
    int ndim;
    int64_t shape[CT_MAX_DIMS];
    int64_t stride[CT_MAX_DIMS];
    ct_dtype dtype;
} ct__view;

/* ---- CPU launchers (runtime/cpu) ------------------------------------------------------------------------------ */

/* dst[i] = (dst dtype) src[i] over dst's shape; src has been broadcast to dst's shape (stride 0 where expanded). */
ct_status ct__cpu_copy(ct__view dst, ct__view src);
/* Every element of dst = value converted to dst's dtype. */
ct_status ct__cpu_fill(ct__view dst, double value);

/* ---- CUDA (kernels/) ------------------------------------------------------------------------------------------- */

#ifdef CTORCH_HAVE_CUDA
typedef enum ct__memcpy_kind { CT__H2D, CT__D2H, CT__D2D, CT__H2H } ct__memcpy_kind;

/* Usable GPUs; 0 when the driver finds none or fails (never an error). */
int ct__cuda_device_count(void);
/* Raw device memory on device dev. Out of memory is reported as CT_ERR_OUT_OF_MEMORY with the driver's words,
 * and clears the driver's sticky error state. */
ct_status ct__cuda_malloc_raw(int dev, size_t nbytes, void **out);
ct_status ct__cuda_free_raw(int dev, void *ptr);
/* Page-locked host memory. */
ct_status ct__cuda_host_alloc(size_t nbytes, void **out);
ct_status ct__cuda_host_free(void *ptr);
/* Synchronous copy of nbytes (dev is the device for D2H/H2D/D2D). */
ct_status ct__cuda_memcpy(int dev, void *dst, const void *src, size_t nbytes, ct__memcpy_kind kind);
/* Asynchronous copy of nbytes (cudaMemcpyAsync) queued on dev's stream, the legacy default stream on which every
 * kernel runs: later kernels are ordered after it without a host wait. The host side must be page-locked and must
 * stay alive until the copy is over (runtime/core/host_allocator.h records an event for that). */
ct_status ct__cuda_memcpy_async(int dev, void *dst, const void *src, size_t nbytes, ct__memcpy_kind kind);
/* Events for the pinned host allocator: a new event recorded on dev's stream after the work queued so far; its
 * state (1 completed, 0 not yet, -1 the query failed; never waits); a wait for it; its destruction. */
ct_status ct__cuda_event_record(int dev, void **event);
int ct__cuda_event_query(void *event);
void ct__cuda_event_wait(void *event);
void ct__cuda_event_destroy(void *event);
/* The device-side error flag of dev: 4 words {code, value, dim, size} in device memory, zero while no kernel has
 * raised one. A kernel that finds bad data writes it with atomicCAS on word 0 (first error wins) and skips the
 * bad element; it never traps. */
#define CT__DEVICE_ERROR_INDEX 1 /* value = the index, dim, size: "index v is out of bounds for dimension d ..." */
#define CT__DEVICE_ERROR_ZERO_DIVISION 2 /* an integer division op met a zero divisor: "ZeroDivisionError" */
ct_status ct__cuda_error_flag(int dev, long long **out);
/* Waits for the device and reports a device-side error flag raised by a kernel since the last check. */
ct_status ct__cuda_synchronize(int dev);
/* Same-device strided copy with dtype conversion (dst and src on device dev). */
ct_status ct__cuda_copy(int dev, ct__view dst, ct__view src);
ct_status ct__cuda_fill(int dev, ct__view dst, double value);
#endif

#ifdef __cplusplus
}
#endif
#endif
