/* Internal core of ctorch: the tensor and storage structs, error helpers, allocators and the view descriptor that
 * the CPU and CUDA kernels receive. Nothing here is public. */
#ifndef CTORCH_INTERNAL_H
#define CTORCH_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctorch/tensor.h"
#include "kernels/launch.h"

/* ---- errors ---------------------------------------------------------------------------------------------------- */

/* ct__error and CT_FAIL come from kernels/launch.h, which the CUDA launchers share. */

/* Checks a tensor argument: NULL fails, keeping a pending error (the NULL usually is the failed result of an
 * earlier call) or else naming the argument. */
ct_status ct__check_tensor(const ct_tensor *t, const char *func, const char *arg);
#define CT_CHECK_TENSOR(t) ct__check_tensor((t), __func__, #t)

/* Wraps a negative dim; on failure reports PyTorch's words:
 * "Dimension out of range (expected to be in range of [-2, 1], but got 5)". */
ct_status ct__wrap_dim(int dim, int ndim, const char *func, int *out);
#define CT_WRAP_DIM(dim, ndim, out) ct__wrap_dim((dim), (ndim), __func__, (out))

/* "[2, 3]" into buf. */
const char *ct__shape_str(int ndim, const int64_t *shape, char *buf, size_t size);
#define CT_SHAPE_BUF 8 * 24

/* ---- storage and tensor ----------------------------------------------------------------------------------------- */

typedef struct ct_storage {
    atomic_int refcount;
    void *data;
    size_t nbytes;
    ct_device device;
    bool pinned;                            /* page-locked host memory */
    bool borrowed;                          /* user memory (ct_from_blob): not ctorch's to free */
    void (*release)(void *data, void *ctx); /* called for borrowed memory when the storage goes (may be NULL) */
    void *release_ctx;
    void *alloc_handle; /* the allocator's own bookkeeping for this block */
    atomic_uint_fast64_t version; /* bumped by every in-place write through any view (autograd's version check) */
} ct_storage;

typedef struct ct__scope ct__scope;
typedef struct ct__node ct__node; /* an autograd node (runtime/autograd/autograd.h) */
typedef struct ct__hook ct__hook; /* a gradient hook registered on a tensor */

struct ct_tensor {
    atomic_int refcount;
    ct_storage *storage;
    int64_t offset; /* in elements */
    int ndim;
    int64_t shape[CT_MAX_DIMS];
    int64_t stride[CT_MAX_DIMS]; /* in elements */
    ct_dtype dtype;
    bool requires_grad;
    ct_tensor *grad;
    ct__node *grad_fn; /* the node that made this tensor (owned), NULL for a leaf */
    ct__hook *hooks;   /* gradient hooks, in registration order */
    bool retains_grad; /* a non-leaf whose gradient backward keeps in grad */
    bool is_view;      /* made by a view op: shares its storage with the tensor it was made from */
    /* scope bookkeeping: the scope that owns this reference and the slot in it, or NULL */
    ct__scope *scope;
    int64_t scope_slot;
};

/* A new tensor struct over storage (retained), registered with the current scope. Shape/stride copied. */
ct_tensor *ct__tensor_make(ct_storage *storage, int64_t offset, int ndim, const int64_t *shape,
                           const int64_t *stride, ct_dtype dtype);
/* A new contiguous tensor with fresh storage, registered with the current scope. */
ct_tensor *ct__tensor_new(int ndim, const int64_t *shape, ct_dtype dtype, ct_device device, bool pinned);
/* A view sharing t's storage with the given geometry. */
ct_tensor *ct__tensor_view_of(const ct_tensor *t, int64_t offset, int ndim, const int64_t *shape,
                              const int64_t *stride);
void ct__contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);
int64_t ct__shape_numel(int ndim, const int64_t *shape);
ct_status ct__check_shape(int ndim, const int64_t *shape, const char *func);
/* The kernels' description of t. */
ct__view ct__view_of(const ct_tensor *t);

/* A storage of nbytes from device's allocator, refcount 1; NULL with the error set on failure. */
ct_storage *ct__storage_new(ct_device device, size_t nbytes, bool pinned);
void ct__storage_release(ct_storage *s);
/* Drops one reference without touching scopes (for references ctorch itself holds). */
void ct__tensor_decref(ct_tensor *t);
/* Autograd's part in a tensor's end: drops the grad_fn, detaches the hooks (runtime/autograd/engine.c). */
void ct__autograd_forget_tensor(ct_tensor *t);
/* Records an in-place write to t's storage. */
void ct__bump_version(ct_tensor *t);

/* ---- scopes --------------------------------------------------------------------------------------------------- */

/* Registers a fresh tensor (refcount 1) with the innermost scope of this thread, if any. */
void ct__scope_adopt(ct_tensor *t);
/* Forgets t in the scope that owns it (called when its reference is released). */
void ct__scope_forget(ct_tensor *t);

/* ---- allocators ------------------------------------------------------------------------------------------------- */

/* Allocates nbytes on device (pinned: page-locked host memory, CPU only). On failure sets the error and returns
 * NULL. *handle receives the allocator's bookkeeping pointer to pass back to ct__free. */
void *ct__alloc(ct_device device, size_t nbytes, bool pinned, void **handle);
void ct__free(ct_device device, void *ptr, size_t nbytes, void *handle);
/* True when the CPU block of this handle is page-locked (a pinned request falls back to plain memory without a GPU). */
bool ct__alloc_is_pinned(const void *handle);
/* True when the testing hook says this allocation must fail. */
bool ct__alloc_should_fail(void);

/* ---- dispatch ------------------------------------------------------------------------------------------------ */

/* Calls the CPU or CUDA launcher for an op (the CUDA one gets the device ordinal first) (one kernel per backend, DESIGN.md decision 4). In a build without
 * CUDA the CUDA branch reports CT_ERR_NO_CUDA; the front end has already checked the device anyway. */
#ifdef CTORCH_HAVE_CUDA
#define CT_DISPATCH(device, name, ...) \
    ((device).type == CT_CPU ? ct__cpu_##name(__VA_ARGS__) : ct__cuda_##name((device).index, __VA_ARGS__))
#else
#define CT_DISPATCH(device, name, ...) \
    ((device).type == CT_CPU ? ct__cpu_##name(__VA_ARGS__) \
                             : CT_FAIL(CT_ERR_NO_CUDA, "ctorch was built without CUDA"))
#endif

#endif
