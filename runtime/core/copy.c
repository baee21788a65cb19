/* Copies between tensors of any dtype and device, conversions, fills, and values out to C.
 *
 * Non-blocking copies (ct_copy_async_, ct_to_device_async) take the same path as the blocking ones down to the one
 * memcpy between host and device: when the host side of that memcpy is page-locked, it is queued with
 * cudaMemcpyAsync on the kernels' stream and an event is recorded on the pinned block (so the block is not reused
 * before the copy is over, host_allocator.h); otherwise it is the synchronous copy, as in PyTorch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/autograd.h"
#include "cpu/cpu_iter.h"
#include "host_allocator.h"
#include "internal.h"

/* True when some element of t is reached by two indices (a size > 1 dim with stride 0, as after expand). */
static bool has_internal_overlap(const ct_tensor *t) {
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] > 1 && t->stride[i] == 0) return true;
    return false;
}

/* The element range [lo, hi] of the storage that t can touch. */
static void extent(const ct_tensor *t, int64_t *lo, int64_t *hi) {
    *lo = *hi = t->offset;
    for (int i = 0; i < t->ndim; i++) {
        int64_t span = (t->shape[i] - 1) * t->stride[i];
        if (span > 0) *hi += span; else *lo += span;
    }
}

static bool may_overlap(const ct_tensor *a, const ct_tensor *b) {
    if (a->storage != b->storage || ct_numel(a) == 0 || ct_numel(b) == 0) return false;
    int64_t alo, ahi, blo, bhi;
    extent(a, &alo, &ahi);
    extent(b, &blo, &bhi);
    size_t ea = ct_dtype_size(a->dtype), eb = ct_dtype_size(b->dtype);
    return (alo * (int64_t)ea) <= (bhi + 1) * (int64_t)eb - 1 && (blo * (int64_t)eb) <= (ahi + 1) * (int64_t)ea - 1;
}

static bool same_geometry(const ct_tensor *a, const ct_tensor *b) {
    if (a->storage != b->storage || a->offset != b->offset || a->ndim != b->ndim || a->dtype != b->dtype) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i] || (a->shape[i] > 1 && a->stride[i] != b->stride[i])) return false;
    return true;
}

/* A contiguous tensor on `device` holding src converted to dtype (src itself, retained, when nothing changes). */
static ct_tensor *staged(const ct_tensor *src, ct_dtype dtype, ct_device device);

#ifdef CTORCH_HAVE_CUDA
/* Moves the bytes of contiguous src into contiguous dst, one of them on the CPU. Asynchronous when non_blocking and
 * the host side is pinned: the host block then carries an event until the copy is over. */
static ct_status memcpy_between(ct_tensor *dst, const ct_tensor *src, bool non_blocking) {
    ct_device dd = dst->storage->device, sd = src->storage->device;
    ct__memcpy_kind kind = dd.type == CT_CPU ? CT__D2H : sd.type == CT_CPU ? CT__H2D : CT__D2D;
    int dev = dd.type == CT_CUDA ? dd.index : sd.index;
    size_t nbytes = (size_t)ct_numel(dst) * ct_dtype_size(dst->dtype);
    const ct_storage *host = kind == CT__H2D ? src->storage : kind == CT__D2H ? dst->storage : NULL;
    if (!non_blocking || !host || !host->pinned || host->borrowed)
        return ct__cuda_memcpy(dev, ct_data_ptr(dst), ct_data_ptr(src), nbytes, kind);
    ct_status st = ct__cuda_memcpy_async(dev, ct_data_ptr(dst), ct_data_ptr(src), nbytes, kind);
    if (st != CT_OK || nbytes == 0) return st;
    st = ct__pinned_record_use(host, dev);
    if (st != CT_OK) { /* without its event the block could be reused mid-copy: wait for the copy instead */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ct_last_error());
        ct__cuda_synchronize(dev);
        st = CT_FAIL(st, "%s", msg);
    }
    return st;
}
#endif

/* Copy of same-shaped tensors: same device through the backend, else through contiguous staging buffers.
 * non_blocking: the host-device memcpy may be asynchronous (memcpy_between). */
static ct_status copy_shaped(ct_tensor *dst, const ct_tensor *src, bool non_blocking) {
    ct_device dd = dst->storage->device, sd = src->storage->device;
    if (ct_device_equal(dd, sd)) return CT_DISPATCH(dd, copy, ct__view_of(dst), ct__view_of(src));
#ifdef CTORCH_HAVE_CUDA
    if (dd.type == CT_CUDA && sd.type == CT_CUDA) { /* between two GPUs: through the host */
        ct_tensor *host = staged(src, src->dtype, CT_DEVICE_CPU);
        ct_status st = host ? copy_shaped(dst, host, false) : ct_last_status();
        ct__tensor_decref(host);
        return st;
    }
    /* one side is the CPU: convert on the source side, move bytes, lay out on the destination side */
    ct_tensor *from = staged(src, dst->dtype, sd);
    if (!from) return ct_last_status();
    ct_status st;
    if (ct_is_contiguous(dst)) {
        st = memcpy_between(dst, from, non_blocking);
    } else {
        ct_tensor *landing = ct__tensor_new(dst->ndim, dst->shape, dst->dtype, dd, false);
        st = landing ? memcpy_between(landing, from, non_blocking) : ct_last_status();
        if (st == CT_OK) st = CT_DISPATCH(dd, copy, ct__view_of(dst), ct__view_of(landing));
        ct_release(landing);
    }
    ct__tensor_decref(from);
    return st;
#else
    (void)non_blocking;
    return CT_FAIL(CT_ERR_NO_CUDA, "ctorch was built without CUDA");
#endif
}

/* A new contiguous tensor on device holding src converted to dtype; no scope owns it. */
static ct_tensor *fresh_copy(const ct_tensor *src, ct_dtype dtype, ct_device device) {
    ct_tensor *t = ct__tensor_new(src->ndim, src->shape, dtype, device, false);
    if (!t) return NULL;
    if (t->scope) ct__scope_forget(t);
    if (copy_shaped(t, src, false) != CT_OK) {
        ct__tensor_decref(t);
        return NULL;
    }
    return t;
}

static ct_tensor *staged(const ct_tensor *src, ct_dtype dtype, ct_device device) {
    if (src->dtype == dtype && ct_device_equal(src->storage->device, device) && ct_is_contiguous(src))
        return ct_retain((ct_tensor *)src);
    return fresh_copy(src, dtype, device);
}

/* The gradient of a copy is the gradient itself: the engine converts it back to the source's dtype and device and
 * sums it over any broadcast dims. */
static ct_status copy_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    gi[0] = (ct_tensor *)grad;
    return CT_OK;
}

/* Records out = copy of src (clone, contiguous, to). Returns out. */
static ct_tensor *record_copy(ct_tensor *out, const ct_tensor *src, const char *name) {
    ct__node *node = out ? ct__record(name, copy_backward, 1, &src) : NULL;
    if (node) ct__attach(node, out);
    return out;
}

/* copy_ writes dst in place: while recording, dst's history becomes "a copy of src" (what it held before no longer
 * matters to its value). A leaf parameter cannot be overwritten that way, and a view cannot yet, since the tensor it
 * views would not learn of it. */
static ct_status check_copy_autograd(ct_tensor *dst, const ct_tensor *src, const char *func) {
    ct_status st = ct__check_inplace(dst, func);
    if (st != CT_OK || !ct_is_grad_enabled() || !src->requires_grad) return st;
    if (dst->is_view)
        return ct__error(CT_ERR_NOT_IMPLEMENTED, func,
                       "copying a tensor that requires grad into a view is not differentiable yet: build the result "
                       "with ct_cat/ct_stack, or copy under ct_no_grad_begin()");
    return CT_OK;
}

/* ct_copy_ and ct_copy_async_, messages under func's name. */
static ct_status copy_into(ct_tensor *dst, const ct_tensor *src, bool non_blocking, const char *func) {
    ct_status st;
    if ((st = ct__check_tensor(dst, func, "dst")) != CT_OK || (st = ct__check_tensor(src, func, "src")) != CT_OK)
        return st;
    if ((st = check_copy_autograd(dst, src, func)) != CT_OK) return st;
    if (has_internal_overlap(dst))
        return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                       "unsupported operation: more than one element of the written-to tensor refers to a single "
                       "memory location. Please clone() the tensor before performing the operation.");
    if (dst->dtype >= CT_FLOAT16 || src->dtype >= CT_FLOAT16)
        return ct__error(CT_ERR_NOT_IMPLEMENTED, func, "copying %s to %s is not supported yet",
                         ct_dtype_name(src->dtype), ct_dtype_name(dst->dtype));
    ct_tensor *b = ct_expand(src, dst->ndim, dst->shape);
    if (!b) {
        char a[CT_SHAPE_BUF], c[CT_SHAPE_BUF];
        return ct__error(CT_ERR_SHAPE, func, "the size of src %s cannot be broadcast to the size of dst %s",
                         ct__shape_str(src->ndim, src->shape, a, sizeof a),
                         ct__shape_str(dst->ndim, dst->shape, c, sizeof c));
    }
    if (b->scope) ct__scope_forget(b);
    if (same_geometry(dst, b)) { /* copying a tensor onto itself */
        ct__tensor_decref(b);
        return CT_OK;
    }
    if (may_overlap(dst, b)) { /* read everything before writing anything */
        ct_tensor *copy = fresh_copy(b, b->dtype, b->storage->device);
        ct__tensor_decref(b);
        if (!copy) return ct_last_status();
        b = copy;
    }
    st = copy_shaped(dst, b, non_blocking);
    ct__tensor_decref(b);
    if (st != CT_OK) return st;
    ct__bump_version(dst);
    if (dst->grad_fn && !src->requires_grad && ct_is_grad_enabled()) { /* overwritten by a constant */
        ct__node_release(dst->grad_fn);
        dst->grad_fn = NULL;
        dst->requires_grad = false;
    }
    record_copy(dst, src, "CopyBackwards");
    return CT_OK;
}

ct_status ct_copy_(ct_tensor *dst, const ct_tensor *src) { return copy_into(dst, src, false, __func__); }

ct_status ct_copy_async_(ct_tensor *dst, const ct_tensor *src) { return copy_into(dst, src, true, __func__); }

ct_tensor *ct_clone(const ct_tensor *t) {
    if (CT_CHECK_TENSOR(t) != CT_OK) return NULL;
    ct_tensor *c = ct__tensor_new(t->ndim, t->shape, t->dtype, t->storage->device, false);
    if (c && copy_shaped(c, t, false) != CT_OK) {
        ct_release(c);
        return NULL;
    }
    return record_copy(c, t, "CloneBackward0");
}

ct_tensor *ct_contiguous(const ct_tensor *t) {
    if (CT_CHECK_TENSOR(t) != CT_OK) return NULL;
    return ct_is_contiguous(t) ? ct_alias(t) : ct_clone(t);
}

static ct_tensor *converted(const ct_tensor *t, ct_dtype dtype, ct_device device) {
    ct_tensor *c = ct__tensor_new(t->ndim, t->shape, dtype, device, false);
    if (c && ct_copy_(c, t) != CT_OK) { /* records ToCopyBackward0's work as CopyBackwards on c */
        ct_release(c);
        return NULL;
    }
    if (c && c->grad_fn) c->grad_fn->name = "ToCopyBackward0";
    return c;
}

ct_tensor *ct_to_device(const ct_tensor *t, ct_device device) {
    if (CT_CHECK_TENSOR(t) != CT_OK || ct_device_check(device) != CT_OK) return NULL;
    if (ct_device_equal(t->storage->device, device)) return ct_alias(t);
    return converted(t, t->dtype, device);
}

ct_tensor *ct_to_device_async(const ct_tensor *t, ct_device device) {
    if (CT_CHECK_TENSOR(t) != CT_OK || ct_device_check(device) != CT_OK) return NULL;
    if (ct_device_equal(t->storage->device, device)) return ct_alias(t);
    /* to the CPU: into page-locked memory, which the device can write asynchronously (PyTorch does the same) */
    ct_tensor *c = ct__tensor_new(t->ndim, t->shape, t->dtype, device, device.type == CT_CPU);
    if (c && copy_into(c, t, true, __func__) != CT_OK) {
        ct_release(c);
        return NULL;
    }
    if (c && c->grad_fn) c->grad_fn->name = "ToCopyBackward0";
    return c;
}

ct_tensor *ct_to_dtype(const ct_tensor *t, ct_dtype dtype) {
    if (CT_CHECK_TENSOR(t) != CT_OK) return NULL;
    if (ct_dtype_size(dtype) == 0) {
        CT_FAIL(CT_ERR_DTYPE, "invalid dtype %d", (int)dtype);
        return NULL;
    }
    if (t->dtype == dtype) return ct_alias(t);
    return converted(t, dtype, t->storage->device);
}

ct_status ct_fill_(ct_tensor *t, double value) {
    ct_status st = CT_CHECK_TENSOR(t);
    if (st != CT_OK) return st;
    if ((st = ct__check_inplace(t, __func__)) != CT_OK) return st;
    if (t->dtype >= CT_FLOAT16)
        return CT_FAIL(CT_ERR_NOT_IMPLEMENTED, "fill_ is not supported for %s yet", ct_dtype_name(t->dtype));
    st = CT_DISPATCH(t->storage->device, fill, ct__view_of(t), value);
    if (st != CT_OK) return st;
    ct__bump_version(t);
    if (t->grad_fn && ct_is_grad_enabled()) { /* now a constant: its history no longer matters */
        ct__node_release(t->grad_fn);
        t->grad_fn = NULL;
        t->requires_grad = false;
    }
    return CT_OK;
}

ct_status ct_zero_(ct_tensor *t) { return ct_fill_(t, 0.0); }

ct_status ct_copy_to_buffer(const ct_tensor *t, void *buf, size_t nbytes) {
    ct_status st = CT_CHECK_TENSOR(t);
    if (st != CT_OK) return st;
    size_t need = (size_t)ct_numel(t) * ct_dtype_size(t->dtype);
    if (!buf && need) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'buf' is NULL");
    if (nbytes != need)
        return CT_FAIL(CT_ERR_SHAPE, "buffer of %zu bytes given for %lld elements of %s (%zu bytes)", nbytes,
                       (long long)ct_numel(t), ct_dtype_name(t->dtype), need);
    if (need == 0) return CT_OK;
    ct_tensor *host = staged(t, t->dtype, CT_DEVICE_CPU);
    if (!host) return ct_last_status();
    memcpy(buf, ct_data_ptr(host), need);
    ct__tensor_decref(host);
    return CT_OK;
}

static ct_status read_one(const ct_tensor *t, unsigned char bytes[8], const char *func) {
    ct_status st = ct__check_tensor(t, func, "t");
    if (st != CT_OK) return st;
    if (ct_numel(t) != 1)
        return ct__error(CT_ERR_SHAPE, func, "a Tensor with %lld elements cannot be converted to Scalar",
                         (long long)ct_numel(t));
    return ct_copy_to_buffer(t, bytes, ct_dtype_size(t->dtype));
}

ct_status ct_item(const ct_tensor *t, double *out) {
    unsigned char bytes[8];
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'out' is NULL");
    ct_status st = read_one(t, bytes, __func__);
    if (st == CT_OK) *out = ct__load_scalar(bytes, t->dtype).f;
    return st;
}

ct_status ct_item_int64(const ct_tensor *t, int64_t *out) {
    unsigned char bytes[8];
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'out' is NULL");
    if (t && ct_dtype_is_floating(t->dtype))
        return CT_FAIL(CT_ERR_DTYPE, "expected an integer or bool tensor, got %s", ct_dtype_name(t->dtype));
    ct_status st = read_one(t, bytes, __func__);
    if (st == CT_OK) *out = ct__load_scalar(bytes, t->dtype).i;
    return st;
}

ct_tensor *ct_pin_memory(const ct_tensor *t) {
    if (CT_CHECK_TENSOR(t) != CT_OK) return NULL;
    if (t->storage->device.type != CT_CPU) {
        CT_FAIL(CT_ERR_DEVICE, "cannot pin a %s tensor on %s: only dense CPU tensors can be pinned",
                ct_dtype_name(t->dtype), "cuda");
        return NULL;
    }
    ct_tensor *p = ct__tensor_new(t->ndim, t->shape, t->dtype, CT_DEVICE_CPU, true);
    if (p && copy_shaped(p, t, false) != CT_OK) {
        ct_release(p);
        return NULL;
    }
    return p;
}

bool ct_is_pinned(const ct_tensor *t) { return t && t->storage->pinned; }
