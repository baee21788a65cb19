/* ctorch/tensor.h: strided tensors, views, factories, copies, printing, scopes.
 *
 * A tensor is a strided view (shape, stride, offset in elements) of a reference-counted storage on one device.
 * Views (view, permute, narrow, ...) share the storage and copy nothing; an in-place change through one view is seen
 * through all.
 *
 * Ownership (DESIGN.md decision 2). Every function that returns a new ct_tensor * hands out one reference:
 *  - with no scope open on this thread, the caller owns it and drops it with ct_release;
 *  - inside a scope (ct_scope_begin .. ct_scope_end) the scope owns it, and ct_scope_end releases it, unless it was
 *    passed to ct_keep, which hands it to the enclosing scope (or, at the outermost scope, to the caller).
 * ct_release on a tensor that a scope owns is allowed: the scope then forgets it. ct_retain adds a reference the
 * caller owns. Scopes are per thread; a tensor made in a scope must not be released from another thread while that
 * scope is open.
 *
 * Errors: functions returning ct_tensor * return NULL and set ct_last_error(); the others return ct_status. */
#ifndef CTORCH_TENSOR_H
#define CTORCH_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most dimensions a tensor may have. */
#define CT_MAX_DIMS 8

typedef enum ct_dtype {
    CT_FLOAT32 = 0,
    CT_FLOAT64,
    CT_INT64,
    CT_INT32,
    CT_UINT8,
    CT_BOOL,
    CT_FLOAT16,  /* reserved: tensors of it can be described, no op runs on it yet */
    CT_BFLOAT16, /* reserved, as float16 */
    CT_NUM_DTYPES
} ct_dtype;

typedef struct ct_tensor ct_tensor;

/* "float32", "int64", ... ; "invalid" for a value out of range. */
const char *ct_dtype_name(ct_dtype dtype);
/* Bytes per element; 0 for an invalid dtype. */
size_t ct_dtype_size(ct_dtype dtype);
bool ct_dtype_is_floating(ct_dtype dtype);

/* ---- references and scopes ---------------------------------------------------------------------------------- */

/* Adds a reference owned by the caller. Returns t. NULL-safe. */
ct_tensor *ct_retain(ct_tensor *t);
/* Drops one reference; the storage goes when its last tensor goes. NULL-safe. */
void ct_release(ct_tensor *t);

/* Opens a scope on this thread. Scopes nest. */
void ct_scope_begin(void);
/* Closes the innermost scope, releasing every tensor it owns. Fails with CT_ERR_STATE when no scope is open. */
ct_status ct_scope_end(void);
/* Moves t out of the innermost scope into the enclosing one, or to the caller at the outermost scope. Returns t.
 * A tensor no scope owns is returned as it is. NULL-safe. */
ct_tensor *ct_keep(ct_tensor *t);
/* Number of scopes open on this thread. */
int ct_scope_depth(void);

/* ---- queries (never fail on a valid tensor; NULL gives 0/false/CPU) ------------------------------------------- */

int ct_dim(const ct_tensor *t);
/* Size of dim d; negative d counts from the end. -1 (and an error) for d out of range. */
int64_t ct_size(const ct_tensor *t, int d);
int64_t ct_stride(const ct_tensor *t, int d);
/* Pointers to the tensor's own shape/stride arrays (ct_dim entries), valid while t lives. */
const int64_t *ct_shape(const ct_tensor *t);
const int64_t *ct_strides(const ct_tensor *t);
int64_t ct_numel(const ct_tensor *t);
ct_dtype ct_tensor_dtype(const ct_tensor *t);
ct_device ct_tensor_device(const ct_tensor *t);
int64_t ct_storage_offset(const ct_tensor *t);
bool ct_is_contiguous(const ct_tensor *t);
/* True when a and b view the same storage. */
bool ct_shares_storage(const ct_tensor *a, const ct_tensor *b);
/* Address of the first element (storage data + offset). For a CUDA tensor this is a device pointer. */
void *ct_data_ptr(const ct_tensor *t);
bool ct_requires_grad(const ct_tensor *t);
/* Sets requires_grad on a leaf. Fails for an integer or bool dtype (only floating tensors can require grad). */
ct_status ct_set_requires_grad(ct_tensor *t, bool requires_grad);

/* The gradient accumulated into t by backward (Tensor.grad): a borrowed reference valid while t holds it, or NULL
 * when none. Never fails. */
ct_tensor *ct_grad(const ct_tensor *t);
/* Replaces t's gradient with grad (retained; NULL clears it, as `t.grad = None`). grad must have t's shape, dtype
 * and device. */
ct_status ct_set_grad(ct_tensor *t, ct_tensor *grad);

/* ---- factories -------------------------------------------------------------------------------------------- */

/* Uninitialised tensor of the given shape (ndim may be 0 for a scalar). */
ct_tensor *ct_empty(int ndim, const int64_t *shape, ct_dtype dtype, ct_device device);
ct_tensor *ct_zeros(int ndim, const int64_t *shape, ct_dtype dtype, ct_device device);
ct_tensor *ct_ones(int ndim, const int64_t *shape, ct_dtype dtype, ct_device device);
/* Every element set to value (converted to dtype as a C cast would; bool: value != 0). */
ct_tensor *ct_full(int ndim, const int64_t *shape, double value, ct_dtype dtype, ct_device device);
/* Same shape, dtype and device as t (always contiguous). */
ct_tensor *ct_empty_like(const ct_tensor *t);
ct_tensor *ct_zeros_like(const ct_tensor *t);
ct_tensor *ct_ones_like(const ct_tensor *t);
ct_tensor *ct_full_like(const ct_tensor *t, double value);
/* start, start+step, ... while < end (> end for a negative step), as torch.arange. step 0 is an error. */
ct_tensor *ct_arange(double start, double end, double step, ct_dtype dtype, ct_device device);
/* steps values from start to end inclusive, as torch.linspace. steps < 0 is an error. */
ct_tensor *ct_linspace(double start, double end, int64_t steps, ct_dtype dtype, ct_device device);
/* n x m identity (m < 0 means m = n). */
ct_tensor *ct_eye(int64_t n, int64_t m, ct_dtype dtype, ct_device device);

/* Copies numel(shape) elements of the given dtype from a C array (like torch.tensor). */
ct_tensor *ct_tensor_from_data(const void *data, int ndim, const int64_t *shape, ct_dtype dtype, ct_device device);

/* Wraps user memory without copying (like torch.from_numpy). data must stay valid until release(data, ctx) is
 * called, which happens when the last tensor viewing it goes (release may be NULL). strides may be NULL for
 * contiguous. The memory is host memory for a CPU device, device memory for a CUDA device. */
ct_tensor *ct_from_blob(void *data, int ndim, const int64_t *shape, const int64_t *strides, ct_dtype dtype,
                        ct_device device, void (*release)(void *data, void *ctx), void *ctx);

/* ---- random numbers --------------------------------------------------------------------------------------- */

/* A generator: a seeded Philox4x32-10 counter stream. The same seed gives the same numbers on every machine. */
typedef struct ct_generator ct_generator;
ct_generator *ct_generator_new(uint64_t seed);
void ct_generator_free(ct_generator *gen);
void ct_generator_manual_seed(ct_generator *gen, uint64_t seed);
/* Seeds the default generator (used when a function is given gen = NULL). */
void ct_manual_seed(uint64_t seed);

/* Uniform on [0, 1). Floating dtypes only. */
ct_tensor *ct_rand(int ndim, const int64_t *shape, ct_dtype dtype, ct_device device, ct_generator *gen);
/* Standard normal. Floating dtypes only. */
ct_tensor *ct_randn(int ndim, const int64_t *shape, ct_dtype dtype, ct_device device, ct_generator *gen);
/* Integers uniform on [low, high). high <= low is an error. */
ct_tensor *ct_randint(int64_t low, int64_t high, int ndim, const int64_t *shape, ct_dtype dtype, ct_device device,
                      ct_generator *gen);
/* A random permutation of 0..n-1. */
ct_tensor *ct_randperm(int64_t n, ct_dtype dtype, ct_device device, ct_generator *gen);

/* ---- views (share storage, copy nothing) ----------------------------------------------------------------- */

/* Same data, new shape; one entry may be -1 (inferred). Fails when the strides cannot express it without a copy. */
ct_tensor *ct_view(const ct_tensor *t, int ndim, const int64_t *shape);
/* As view, but copies when a view is impossible. */
ct_tensor *ct_reshape(const ct_tensor *t, int ndim, const int64_t *shape);
/* dims is a permutation of 0..ndim-1 (negative entries allowed). */
ct_tensor *ct_permute(const ct_tensor *t, int ndim, const int *dims);
ct_tensor *ct_transpose(const ct_tensor *t, int dim0, int dim1);
/* Same as ct_transpose (NumPy names). */
ct_tensor *ct_swapdims(const ct_tensor *t, int dim0, int dim1);
ct_tensor *ct_swapaxes(const ct_tensor *t, int dim0, int dim1);
/* 2-D transpose (dims 0 and 1; a tensor of fewer dims is returned as a view of itself). */
ct_tensor *ct_t(const ct_tensor *t);
/* Removes every size-1 dim. */
ct_tensor *ct_squeeze(const ct_tensor *t);
/* Removes dim if its size is 1, else returns a view of t unchanged (as PyTorch). */
ct_tensor *ct_squeeze_dim(const ct_tensor *t, int dim);
/* Inserts a size-1 dim at dim, which may be in [-ndim-1, ndim]. */
ct_tensor *ct_unsqueeze(const ct_tensor *t, int dim);
/* Broadcasts size-1 dims (stride 0) and prepends new leading dims; -1 keeps a size. */
ct_tensor *ct_expand(const ct_tensor *t, int ndim, const int64_t *shape);
/* Elements start .. start+length-1 of dim. */
ct_tensor *ct_narrow(const ct_tensor *t, int dim, int64_t start, int64_t length);
/* Python's t[..., start:end:step, ...] on dim: start/end clamp like Python slices (negative count from the end);
 * step must be positive. */
ct_tensor *ct_slice(const ct_tensor *t, int dim, int64_t start, int64_t end, int64_t step);
/* t[..., index, ...]: removes dim. Negative index counts from the end. */
ct_tensor *ct_select(const ct_tensor *t, int dim, int64_t index);
/* Merges dims start_dim..end_dim into one (a copy only when the strides do not allow a view, as reshape). */
ct_tensor *ct_flatten(const ct_tensor *t, int start_dim, int end_dim);
/* Splits dim into sizes (one may be -1); their product must be the dim's size. */
ct_tensor *ct_unflatten(const ct_tensor *t, int dim, int nsizes, const int64_t *sizes);
/* A view of the same tensor (a new handle on the same storage, same shape). */
ct_tensor *ct_alias(const ct_tensor *t);

/* ---- copies and conversions --------------------------------------------------------------------------------- */

/* A contiguous tensor: t itself (one more reference) when already contiguous, else a copy. */
ct_tensor *ct_contiguous(const ct_tensor *t);
/* A contiguous copy of t (same dtype and device). */
ct_tensor *ct_clone(const ct_tensor *t);
/* Copies src into dst elementwise, broadcasting src to dst's shape, converting dtype and crossing devices. */
ct_status ct_copy_(ct_tensor *dst, const ct_tensor *src);
/* t itself (one more reference) when it is already on device, else a copy there. */
ct_tensor *ct_to_device(const ct_tensor *t, ct_device device);
/* Non-blocking versions, as PyTorch's dst.copy_(src, non_blocking=True) and t.to(device, non_blocking=True).
 *
 * A copy between a CPU tensor in page-locked memory (ct_pin_memory, or a pinned DataLoader batch) and a GPU is
 * queued on the stream every ctorch kernel runs on, and the call returns before it is done. Kernels launched
 * afterwards on that GPU (any op on the result) run after it without a host wait; the host must not touch the CPU
 * side until ct_synchronize(device) has returned:
 * - CPU -> GPU: do not write into the pinned source before then. Releasing it is safe at any time: its pinned block
 *   carries an event and is neither reused nor freed until the copy is over (PyTorch's CachingHostAllocator).
 * - GPU -> CPU: the values in the CPU destination are undefined until ct_synchronize(device), which also reports
 *   a device-side error (an index out of range found by a kernel) that a blocking copy would have reported.
 * Every other case is the same as the blocking call, synchronously: pageable (ordinary) host memory, a conversion
 * of dtype or a non-contiguous layout on the CPU side, GPU to GPU, CPU to CPU (a plain copy, as in PyTorch).
 * Arguments, errors (including "built without CUDA" / "no CUDA device") and autograd recording are those of
 * ct_copy_ and ct_to_device. */
ct_status ct_copy_async_(ct_tensor *dst, const ct_tensor *src);
/* t itself (one more reference) when it is already on device, else a copy there as ct_copy_async_ makes it. A
 * copy to the CPU lands in page-locked memory (as PyTorch's t.to("cpu", non_blocking=True)), so that it is
 * asynchronous: call ct_synchronize on t's device before reading it. */
ct_tensor *ct_to_device_async(const ct_tensor *t, ct_device device);
/* t itself (one more reference) when it already has dtype, else a converted copy. */
ct_tensor *ct_to_dtype(const ct_tensor *t, ct_dtype dtype);
/* A copy of CPU tensor t in page-locked ("pinned") memory, from which copies to a GPU run asynchronously
 * (ct_copy_async_, ct_to_device_async) and at full bus speed (Tensor.pin_memory). Pinned blocks are cached and
 * reused by size class (a power of two), so pinning every batch of a loop does not page-lock new memory each time.
 * Where no GPU is usable, page-locking buys nothing and the copy is in ordinary memory (ct_is_pinned tells which).
 * A CUDA tensor is an error. */
ct_tensor *ct_pin_memory(const ct_tensor *t);
/* True when t's storage is page-locked host memory. */
bool ct_is_pinned(const ct_tensor *t);
/* Fills t in place with value. */
ct_status ct_fill_(ct_tensor *t, double value);
ct_status ct_zero_(ct_tensor *t);

/* ---- values out ---------------------------------------------------------------------------------------------- */

/* The value of a one-element tensor as a double (int64 values beyond 2^53 round). */
ct_status ct_item(const ct_tensor *t, double *out);
/* The value of a one-element integer or bool tensor, exact. */
ct_status ct_item_int64(const ct_tensor *t, int64_t *out);
/* Copies every element, in row-major order and t's dtype, into buf of nbytes (must be numel * element size). */
ct_status ct_copy_to_buffer(const ct_tensor *t, void *buf, size_t nbytes);

/* ---- printing -------------------------------------------------------------------------------------------------- */

/* PyTorch's repr: "tensor([[1., 2.],\n        [3., 4.]], dtype=torch.float64, device='cuda:0')". Large tensors
 * (over 1000 elements) show three items at each edge of each dim with "..." between. Returns a string the caller
 * frees with free(), or NULL on error. */
char *ct_tensor_repr(const ct_tensor *t);
/* Writes ct_tensor_repr(t) and a newline to stdout. */
ct_status ct_print(const ct_tensor *t);

/* ---- testing aids ------------------------------------------------------------------------------------------- */

/* Makes the n-th CPU or CUDA storage allocation from now (1 = the next) fail as out-of-memory; n <= 0 turns this
 * off. For tests of the error paths. */
void ct_debug_fail_allocation_after(int64_t n);
/* Guard mode: each CPU storage gets guard bytes after its end, checked when it is freed. */
void ct_debug_set_guard_memory(bool on);
/* Number of storages whose guard bytes were found overwritten since the start. */
int64_t ct_debug_guard_violations(void);

#ifdef __cplusplus
}
#endif
#endif
