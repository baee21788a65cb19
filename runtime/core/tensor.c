/* Tensors and storages: creation, reference counts, scopes and queries (DESIGN.md decision 2). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- dtypes ------------------------------------------------------------------------------------------------------ */

static const struct {
    const char *name;
    size_t size;
    bool floating;
} dtype_info[CT_NUM_DTYPES] = {
    [CT_FLOAT32] = {"float32", 4, true}, [CT_FLOAT64] = {"float64", 8, true}, [CT_INT64] = {"int64", 8, false},
    [CT_INT32] = {"int32", 4, false},    [CT_UINT8] = {"uint8", 1, false},    [CT_BOOL] = {"bool", 1, false},
    [CT_FLOAT16] = {"float16", 2, true}, [CT_BFLOAT16] = {"bfloat16", 2, true},
};

static bool dtype_valid(ct_dtype d) { return (int)d >= 0 && d < CT_NUM_DTYPES; }
const char *ct_dtype_name(ct_dtype d) { return dtype_valid(d) ? dtype_info[d].name : "invalid"; }
size_t ct_dtype_size(ct_dtype d) { return dtype_valid(d) ? dtype_info[d].size : 0; }
bool ct_dtype_is_floating(ct_dtype d) { return dtype_valid(d) && dtype_info[d].floating; }

/* ---- storage ------------------------------------------------------------------------------------------------------ */

ct_storage *ct__storage_new(ct_device device, size_t nbytes, bool pinned) {
    ct_storage *s = calloc(1, sizeof *s);
    if (!s) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a storage header");
        return NULL;
    }
    s->data = ct__alloc(device, nbytes, pinned && device.type == CT_CPU, &s->alloc_handle);
    if (!s->data) {
        free(s);
        return NULL;
    }
    atomic_init(&s->refcount, 1);
    s->nbytes = nbytes;
    s->device = device;
    s->pinned = device.type == CT_CPU && ct__alloc_is_pinned(s->alloc_handle);
    return s;
}

void ct__storage_release(ct_storage *s) {
    if (!s || atomic_fetch_sub(&s->refcount, 1) != 1) return;
    if (s->borrowed) {
        if (s->release) s->release(s->data, s->release_ctx);
    } else
        ct__free(s->device, s->data, s->nbytes, s->alloc_handle);
    free(s);
}

void ct__bump_version(ct_tensor *t) { atomic_fetch_add(&t->storage->version, 1); }

/* ---- tensors ------------------------------------------------------------------------------------------------------ */

int64_t ct__shape_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

void ct__contiguous_strides(int ndim, const int64_t *shape, int64_t *stride) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= shape[i] > 1 ? shape[i] : 1;
    }
}

ct_status ct__check_shape(int ndim, const int64_t *shape, const char *func) {
    if (ndim < 0 || ndim > CT_MAX_DIMS)
        return ct__error(CT_ERR_SHAPE, func, "number of dims %d is out of range [0, %d]", ndim, CT_MAX_DIMS);
    if (ndim > 0 && !shape) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "argument 'shape' is NULL");
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            char buf[CT_SHAPE_BUF];
            return ct__error(CT_ERR_SHAPE, func, "Trying to create tensor with negative dimension %lld: %s",
                             (long long)shape[i], ct__shape_str(ndim, shape, buf, sizeof buf));
        }
        if (shape[i] > 0 && numel > (INT64_MAX >> 4) / shape[i])
            return ct__error(CT_ERR_SHAPE, func, "shape has too many elements (dim %d of size %lld overflows)", i,
                             (long long)shape[i]);
        numel *= shape[i];
    }
    return CT_OK;
}

ct_tensor *ct__tensor_make(ct_storage *storage, int64_t offset, int ndim, const int64_t *shape,
                           const int64_t *stride, ct_dtype dtype) {
    ct_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a tensor header");
        return NULL;
    }
    atomic_init(&t->refcount, 1);
    atomic_fetch_add(&storage->refcount, 1);
    t->storage = storage;
    t->offset = offset;
    t->ndim = ndim;
    if (ndim) {
        memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
        memcpy(t->stride, stride, sizeof(int64_t) * (size_t)ndim);
    }
    t->dtype = dtype;
    ct__scope_adopt(t);
    return t;
}

ct_tensor *ct__tensor_new(int ndim, const int64_t *shape, ct_dtype dtype, ct_device device, bool pinned) {
    if (ct__check_shape(ndim, shape, "ct_empty") != CT_OK) return NULL;
    if (!dtype_valid(dtype)) {
        CT_FAIL(CT_ERR_DTYPE, "invalid dtype %d", (int)dtype);
        return NULL;
    }
    if (ct_device_check(device) != CT_OK) return NULL;
    int64_t stride[CT_MAX_DIMS];
    ct__contiguous_strides(ndim, shape, stride);
    ct_storage *s = ct__storage_new(device, (size_t)ct__shape_numel(ndim, shape) * ct_dtype_size(dtype), pinned);
    if (!s) return NULL;
    ct_tensor *t = ct__tensor_make(s, 0, ndim, shape, stride, dtype);
    ct__storage_release(s); /* t holds it now (or, on failure, nobody) */
    return t;
}

ct_tensor *ct__tensor_view_of(const ct_tensor *t, int64_t offset, int ndim, const int64_t *shape,
                              const int64_t *stride) {
    ct_tensor *v = ct__tensor_make(t->storage, offset, ndim, shape, stride, t->dtype);
    if (v) v->is_view = true;
    return v;
}

ct__view ct__view_of(const ct_tensor *t) {
    ct__view v;
    v.data = (char *)t->storage->data + (size_t)t->offset * ct_dtype_size(t->dtype);
    v.ndim = t->ndim;
    for (int i = 0; i < CT_MAX_DIMS; i++) {
        v.shape[i] = i < t->ndim ? t->shape[i] : 1;
        v.stride[i] = i < t->ndim ? t->stride[i] : 0;
    }
    v.dtype = t->dtype;
    return v;
}

/* ---- references ------------------------------------------------------------------------------------------------- */

ct_tensor *ct_retain(ct_tensor *t) {
    if (t) atomic_fetch_add(&t->refcount, 1);
    return t;
}

void ct__tensor_decref(ct_tensor *t) {
    if (!t || atomic_fetch_sub(&t->refcount, 1) != 1) return;
    if (t->grad_fn || t->hooks) ct__autograd_forget_tensor(t);
    ct__tensor_decref(t->grad);
    ct__storage_release(t->storage);
    free(t);
}

void ct_release(ct_tensor *t) {
    if (!t) return;
    if (t->scope) ct__scope_forget(t);
    ct__tensor_decref(t);
}

/* ---- scopes ------------------------------------------------------------------------------------------------------ */

struct ct__scope {
    ct_tensor **items; /* owned references; NULL where one was released or kept */
    int64_t count, cap;
    ct__scope *parent;
};

static _Thread_local ct__scope *innermost;
static _Thread_local int depth;

static void scope_push(ct__scope *s, ct_tensor *t) {
    if (s->count == s->cap) {
        int64_t cap = s->cap ? s->cap * 2 : 64;
        ct_tensor **items = realloc(s->items, sizeof *items * (size_t)cap);
        if (!items) return; /* out of memory: t stays with its creator, which is the caller */
        s->items = items;
        s->cap = cap;
    }
    t->scope = s;
    t->scope_slot = s->count;
    s->items[s->count++] = t;
}

void ct__scope_adopt(ct_tensor *t) {
    if (innermost) scope_push(innermost, t);
}

void ct__scope_forget(ct_tensor *t) {
    t->scope->items[t->scope_slot] = NULL;
    t->scope = NULL;
}

void ct_scope_begin(void) {
    ct__scope *s = calloc(1, sizeof *s);
    if (!s) abort(); /* a few bytes: nothing sensible remains to be done */
    s->parent = innermost;
    innermost = s;
    depth++;
}

ct_status ct_scope_end(void) {
    ct__scope *s = innermost;
    if (!s) return CT_FAIL(CT_ERR_STATE, "no scope is open on this thread");
    innermost = s->parent;
    depth--;
    for (int64_t i = 0; i < s->count; i++) {
        ct_tensor *t = s->items[i];
        if (!t) continue;
        t->scope = NULL;
        ct__tensor_decref(t);
    }
    free(s->items);
    free(s);
    return CT_OK;
}

ct_tensor *ct_keep(ct_tensor *t) {
    if (!t || !t->scope) return t;
    ct__scope *parent = t->scope->parent;
    ct__scope_forget(t);
    if (parent) scope_push(parent, t);
    return t;
}

int ct_scope_depth(void) { return depth; }

/* ---- queries ----------------------------------------------------------------------------------------------------- */

int ct_dim(const ct_tensor *t) { return t ? t->ndim : 0; }

int64_t ct_size(const ct_tensor *t, int d) {
    if (CT_CHECK_TENSOR(t) != CT_OK || CT_WRAP_DIM(d, t->ndim, &d) != CT_OK) return -1;
    return t->ndim ? t->shape[d] : 1;
}

int64_t ct_stride(const ct_tensor *t, int d) {
    if (CT_CHECK_TENSOR(t) != CT_OK || CT_WRAP_DIM(d, t->ndim, &d) != CT_OK) return -1;
    return t->ndim ? t->stride[d] : 1;
}

const int64_t *ct_shape(const ct_tensor *t) { return t ? t->shape : NULL; }
const int64_t *ct_strides(const ct_tensor *t) { return t ? t->stride : NULL; }
int64_t ct_numel(const ct_tensor *t) { return t ? ct__shape_numel(t->ndim, t->shape) : 0; }
ct_dtype ct_tensor_dtype(const ct_tensor *t) { return t ? t->dtype : CT_FLOAT32; }
ct_device ct_tensor_device(const ct_tensor *t) { return t ? t->storage->device : CT_DEVICE_CPU; }
int64_t ct_storage_offset(const ct_tensor *t) { return t ? t->offset : 0; }
bool ct_shares_storage(const ct_tensor *a, const ct_tensor *b) { return a && b && a->storage == b->storage; }
bool ct_requires_grad(const ct_tensor *t) { return t && t->requires_grad; }

void *ct_data_ptr(const ct_tensor *t) {
    return t ? (char *)t->storage->data + (size_t)t->offset * ct_dtype_size(t->dtype) : NULL;
}

bool ct_is_contiguous(const ct_tensor *t) {
    if (!t) return false;
    int64_t expected = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] == 0) return true;
        if (t->shape[i] == 1) continue;
        if (t->stride[i] != expected) return false;
        expected *= t->shape[i];
    }
    return true;
}

ct_status ct_set_requires_grad(ct_tensor *t, bool requires_grad) {
    ct_status st = CT_CHECK_TENSOR(t);
    if (st != CT_OK) return st;
    if (requires_grad && !ct_dtype_is_floating(t->dtype))
        return CT_FAIL(CT_ERR_DTYPE, "only Tensors of floating point dtype can require gradients (got %s)",
                       ct_dtype_name(t->dtype));
    if (!requires_grad && t->grad_fn)
        return CT_FAIL(CT_ERR_STATE, "you can only change requires_grad flags of leaf variables. If you want to use a "
                                     "computed variable in a subgraph that doesn't require differentiation use "
                                     "var_no_grad = var.detach().");
    t->requires_grad = requires_grad;
    return CT_OK;
}

ct_tensor *ct_grad(const ct_tensor *t) { return t ? t->grad : NULL; }

ct_status ct_set_grad(ct_tensor *t, ct_tensor *grad) {
    ct_status st = CT_CHECK_TENSOR(t);
    if (st != CT_OK) return st;
    if (grad) {
        char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF], da[16], db[16];
        bool same_shape = grad->ndim == t->ndim && memcmp(grad->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim) == 0;
        if (!same_shape)
            return CT_FAIL(CT_ERR_SHAPE, "assigned grad has data of a different size: grad %s, tensor %s",
                           ct__shape_str(grad->ndim, grad->shape, a, sizeof a), ct__shape_str(t->ndim, t->shape, b, sizeof b));
        if (grad->dtype != t->dtype)
            return CT_FAIL(CT_ERR_DTYPE, "assigned grad has data of a different type: grad %s, tensor %s",
                           ct_dtype_name(grad->dtype), ct_dtype_name(t->dtype));
        if (!ct_device_equal(grad->storage->device, t->storage->device))
            return CT_FAIL(CT_ERR_DEVICE, "assigned grad has data located on a different device: grad %s, tensor %s",
                           ct_device_str(grad->storage->device, da, sizeof da), ct_device_str(t->storage->device, db, sizeof db));
        ct_retain(grad);
    }
    ct__tensor_decref(t->grad);
    t->grad = grad;
    return CT_OK;
}
