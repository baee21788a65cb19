/* Views: new shapes and strides over the same storage, copying nothing (reshape and flatten copy only when the
 * strides cannot express the result). The rules and error words are PyTorch's.
 *
 * A view of a tensor that requires grad records a node whose backward maps the gradient back to the input's
 * shape: reshape-like views reshape it, permutes permute it back, slices and selects scatter it into zeros, and
 * expand hands it to the engine, which sums it over the broadcast dims. */
#include <stdlib.h>
#include <string.h>

#include "autograd/autograd.h"
#include "core/internal.h"
#include "ctorch/tensor.h"

/* ---- backward of views --------------------------------------------------------------------------------------- */

static ct_status reshape_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    gi[0] = ct_reshape(grad, n->in_ndim[0], n->in_shape[0]);
    return gi[0] ? CT_OK : ct_last_status();
}

static ct_status permute_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    int inverse[CT_MAX_DIMS];
    for (int i = 0; i < grad->ndim; i++) inverse[n->iargs[i]] = i;
    gi[0] = ct_permute(grad, grad->ndim, inverse);
    return gi[0] ? CT_OK : ct_last_status();
}

static ct_status pass_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    gi[0] = (ct_tensor *)grad; /* expand: the engine sums over the broadcast dims; alias: unchanged */
    return CT_OK;
}

/* slice (iargs: 0, dim, start, end, step) and select (iargs: 1, dim, index): the gradient lands in zeros */
static ct_status scatter_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    ct_tensor *z = ct_zeros(n->in_ndim[0], n->in_shape[0], grad->dtype, grad->storage->device);
    ct_tensor *part = !z              ? NULL
                      : n->iargs[0] == 0 ? ct_slice(z, (int)n->iargs[1], n->iargs[2], n->iargs[3], n->iargs[4])
                                         : ct_select(z, (int)n->iargs[1], n->iargs[2]);
    ct_status st = part ? ct_copy_(part, grad) : ct_last_status();
    ct_release(part);
    gi[0] = z;
    return st;
}

/* Records the view v of t (when t requires grad and grad mode is on). Returns v. */
static ct_tensor *recorded(ct_tensor *v, const ct_tensor *t, const char *name, ct__backward_fn backward, int nargs,
                           const int64_t *args) {
    if (!v) return NULL;
    ct__node *node = ct__record(name, backward, 1, &t);
    if (!node) return v;
    for (int i = 0; i < nargs; i++) node->iargs[i] = args[i];
    ct__attach(node, v);
    return v;
}

#define CHECK_T(t)                                    \
    do {                                              \
        if (CT_CHECK_TENSOR(t) != CT_OK) return NULL; \
    } while (0)

/* Resolves one -1 in shape against numel; checks the product. */
static ct_status infer_shape(const char *func, int64_t numel, int ndim, const int64_t *shape, int64_t *out) {
    if (ndim < 0 || ndim > CT_MAX_DIMS)
        return ct__error(CT_ERR_SHAPE, func, "number of dims %d is out of range [0, %d]", ndim, CT_MAX_DIMS);
    if (ndim > 0 && !shape) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "argument 'shape' is NULL");
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < ndim; i++) {
        out[i] = shape[i];
        if (shape[i] == -1) {
            if (infer >= 0) return ct__error(CT_ERR_SHAPE, func, "only one dimension can be inferred");
            infer = i;
        } else if (shape[i] < 0) {
            return ct__error(CT_ERR_SHAPE, func, "invalid shape dimension %lld", (long long)shape[i]);
        } else {
            known *= shape[i];
        }
    }
    char buf[CT_SHAPE_BUF];
    if (infer >= 0) {
        if (known == 0 || numel % known != 0)
            return ct__error(CT_ERR_SHAPE, func, "shape '%s' is invalid for input of size %lld",
                             ct__shape_str(ndim, shape, buf, sizeof buf), (long long)numel);
        out[infer] = numel / known;
    } else if (known != numel) {
        return ct__error(CT_ERR_SHAPE, func, "shape '%s' is invalid for input of size %lld",
                         ct__shape_str(ndim, shape, buf, sizeof buf), (long long)numel);
    }
    return CT_OK;
}

/* Strides for viewing (shape, stride) as new_shape without a copy, or false when impossible. Splits the old dims
 * into chunks that are contiguous among themselves and maps the new dims onto whole chunks. */
static bool view_strides(int ndim, const int64_t *shape, const int64_t *stride, int new_ndim,
                         const int64_t *new_shape, int64_t *new_stride) {
    if (ct__shape_numel(ndim, shape) == 0 || ndim == 0) {
        ct__contiguous_strides(new_ndim, new_shape, new_stride);
        return true;
    }
    int view_d = new_ndim - 1;
    int64_t chunk_base = stride[ndim - 1], tensor_numel = 1, view_numel = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        tensor_numel *= shape[d];
        bool chunk_ends = d == 0 || (shape[d - 1] != 1 && stride[d - 1] != tensor_numel * chunk_base);
        if (!chunk_ends) continue;
        while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
            new_stride[view_d] = view_numel * chunk_base;
            view_numel *= new_shape[view_d];
            view_d--;
        }
        if (view_numel != tensor_numel) return false;
        if (d > 0) {
            chunk_base = stride[d - 1];
            tensor_numel = view_numel = 1;
        }
    }
    return view_d == -1;
}

ct_tensor *ct_view(const ct_tensor *t, int ndim, const int64_t *shape) {
    CHECK_T(t);
    int64_t s[CT_MAX_DIMS], st[CT_MAX_DIMS];
    if (infer_shape(__func__, ct_numel(t), ndim, shape, s) != CT_OK) return NULL;
    if (!view_strides(t->ndim, t->shape, t->stride, ndim, s, st)) {
        CT_FAIL(CT_ERR_SHAPE,
                "view size is not compatible with input tensor's size and stride (at least one dimension spans "
                "across two contiguous subspaces). Use .reshape(...) instead.");
        return NULL;
    }
    return recorded(ct__tensor_view_of(t, t->offset, ndim, s, st), t, "ViewBackward0", reshape_backward, 0, NULL);
}

ct_tensor *ct_reshape(const ct_tensor *t, int ndim, const int64_t *shape) {
    CHECK_T(t);
    int64_t s[CT_MAX_DIMS], st[CT_MAX_DIMS];
    if (infer_shape(__func__, ct_numel(t), ndim, shape, s) != CT_OK) return NULL;
    if (view_strides(t->ndim, t->shape, t->stride, ndim, s, st))
        return recorded(ct__tensor_view_of(t, t->offset, ndim, s, st), t, "ViewBackward0", reshape_backward, 0, NULL);
    ct_tensor *c = ct_clone(t);
    if (!c) return NULL;
    ct_tensor *v = ct_view(c, ndim, s);
    ct_release(c);
    return v;
}

ct_tensor *ct_permute(const ct_tensor *t, int ndim, const int *dims) {
    CHECK_T(t);
    if (ndim != t->ndim) {
        CT_FAIL(CT_ERR_SHAPE, "number of dims don't match in permute (input has %d, dims has %d)", t->ndim, ndim);
        return NULL;
    }
    if (ndim > 0 && !dims) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'dims' is NULL");
        return NULL;
    }
    int64_t s[CT_MAX_DIMS], st[CT_MAX_DIMS];
    bool seen[CT_MAX_DIMS] = {false};
    for (int i = 0; i < ndim; i++) {
        int d;
        if (CT_WRAP_DIM(dims[i], ndim, &d) != CT_OK) return NULL;
        if (seen[d]) {
            CT_FAIL(CT_ERR_SHAPE, "repeated dim in permute (dim %d)", dims[i]);
            return NULL;
        }
        seen[d] = true;
        s[i] = t->shape[d];
        st[i] = t->stride[d];
    }
    int64_t perm[CT_MAX_DIMS];
    for (int i = 0; i < ndim; i++) perm[i] = dims[i] < 0 ? dims[i] + ndim : dims[i];
    return recorded(ct__tensor_view_of(t, t->offset, ndim, s, st), t, "PermuteBackward0", permute_backward, ndim, perm);
}

ct_tensor *ct_transpose(const ct_tensor *t, int dim0, int dim1) {
    CHECK_T(t);
    int a, b;
    if (CT_WRAP_DIM(dim0, t->ndim, &a) != CT_OK || CT_WRAP_DIM(dim1, t->ndim, &b) != CT_OK) return NULL;
    if (t->ndim == 0) return ct_alias(t);
    int64_t s[CT_MAX_DIMS], st[CT_MAX_DIMS];
    memcpy(s, t->shape, sizeof s);
    memcpy(st, t->stride, sizeof st);
    s[a] = t->shape[b], s[b] = t->shape[a];
    st[a] = t->stride[b], st[b] = t->stride[a];
    int64_t perm[CT_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) perm[i] = i == a ? b : i == b ? a : i;
    return recorded(ct__tensor_view_of(t, t->offset, t->ndim, s, st), t, "TransposeBackward0", permute_backward,
                    t->ndim, perm);
}

ct_tensor *ct_swapdims(const ct_tensor *t, int dim0, int dim1) { return ct_transpose(t, dim0, dim1); }
ct_tensor *ct_swapaxes(const ct_tensor *t, int dim0, int dim1) { return ct_transpose(t, dim0, dim1); }

ct_tensor *ct_t(const ct_tensor *t) {
    CHECK_T(t);
    if (t->ndim > 2) {
        CT_FAIL(CT_ERR_SHAPE, "t() expects a tensor with <= 2 dimensions, but self is %dD", t->ndim);
        return NULL;
    }
    return t->ndim < 2 ? ct_alias(t) : ct_transpose(t, 0, 1);
}

ct_tensor *ct_alias(const ct_tensor *t) {
    CHECK_T(t);
    return recorded(ct__tensor_view_of(t, t->offset, t->ndim, t->shape, t->stride), t, "AliasBackward0", pass_backward, 0, NULL);
}

ct_tensor *ct_squeeze(const ct_tensor *t) {
    CHECK_T(t);
    int64_t s[CT_MAX_DIMS], st[CT_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] != 1) s[n] = t->shape[i], st[n++] = t->stride[i];
    return recorded(ct__tensor_view_of(t, t->offset, n, s, st), t, "SqueezeBackward0", reshape_backward, 0, NULL);
}

ct_tensor *ct_squeeze_dim(const ct_tensor *t, int dim) {
    CHECK_T(t);
    int d;
    if (CT_WRAP_DIM(dim, t->ndim, &d) != CT_OK) return NULL;
    if (t->ndim == 0 || t->shape[d] != 1) return ct_alias(t);
    int64_t s[CT_MAX_DIMS], st[CT_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < t->ndim; i++)
        if (i != d) s[n] = t->shape[i], st[n++] = t->stride[i];
    return recorded(ct__tensor_view_of(t, t->offset, n, s, st), t, "SqueezeBackward1", reshape_backward, 0, NULL);
}

ct_tensor *ct_unsqueeze(const ct_tensor *t, int dim) {
    CHECK_T(t);
    int d;
    if (CT_WRAP_DIM(dim, t->ndim + 1, &d) != CT_OK) return NULL;
    if (t->ndim == CT_MAX_DIMS) {
        CT_FAIL(CT_ERR_SHAPE, "cannot unsqueeze a tensor of %d dims (the most is %d)", t->ndim, CT_MAX_DIMS);
        return NULL;
    }
    int64_t s[CT_MAX_DIMS], st[CT_MAX_DIMS];
    for (int i = 0, j = 0; i <= t->ndim; i++) {
        if (i == d) {
            s[i] = 1;
            st[i] = d < t->ndim ? t->shape[d] * t->stride[d] : 1;
        } else {
            s[i] = t->shape[j], st[i] = t->stride[j], j++;
        }
    }
    return recorded(ct__tensor_view_of(t, t->offset, t->ndim + 1, s, st), t, "UnsqueezeBackward0", reshape_backward, 0, NULL);
}

ct_tensor *ct_expand(const ct_tensor *t, int ndim, const int64_t *shape) {
    CHECK_T(t);
    char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF];
    if (ndim < t->ndim || ndim > CT_MAX_DIMS) {
        CT_FAIL(CT_ERR_SHAPE,
                "the number of sizes provided (%d) must be greater or equal to the number of dimensions in the "
                "tensor (%d)",
                ndim, t->ndim);
        return NULL;
    }
    if (ndim > 0 && !shape) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'shape' is NULL");
        return NULL;
    }
    int64_t s[CT_MAX_DIMS], st[CT_MAX_DIMS];
    int lead = ndim - t->ndim;
    for (int i = ndim - 1; i >= 0; i--) {
        int j = i - lead;
        int64_t want = shape[i];
        if (j < 0) { /* a new leading dim */
            if (want < 0) {
                CT_FAIL(CT_ERR_SHAPE, "The expanded size of the tensor (%lld) isn't allowed in a leading, "
                                      "non-existing dimension %d", (long long)want, i);
                return NULL;
            }
            s[i] = want, st[i] = 0;
            continue;
        }
        if (want == -1) want = t->shape[j];
        if (want == t->shape[j]) {
            s[i] = want, st[i] = t->stride[j];
        } else if (t->shape[j] == 1 && want >= 0) {
            s[i] = want, st[i] = 0;
        } else {
            CT_FAIL(CT_ERR_SHAPE,
                    "The expanded size of the tensor (%lld) must match the existing size (%lld) at non-singleton "
                    "dimension %d.  Target sizes: %s.  Tensor sizes: %s",
                    (long long)shape[i], (long long)t->shape[j], i, ct__shape_str(ndim, shape, a, sizeof a),
                    ct__shape_str(t->ndim, t->shape, b, sizeof b));
            return NULL;
        }
    }
    return recorded(ct__tensor_view_of(t, t->offset, ndim, s, st), t, "ExpandBackward0", pass_backward, 0, NULL);
}

ct_tensor *ct_narrow(const ct_tensor *t, int dim, int64_t start, int64_t length) {
    CHECK_T(t);
    int d;
    if (t->ndim == 0) {
        CT_FAIL(CT_ERR_SHAPE, "narrow() cannot be applied to a 0-dim tensor.");
        return NULL;
    }
    if (CT_WRAP_DIM(dim, t->ndim, &d) != CT_OK) return NULL;
    int64_t size = t->shape[d];
    if (start < -size || start > size) {
        CT_FAIL(CT_ERR_INDEX, "start out of range (expected to be in range of [%lld, %lld], but got %lld)",
                (long long)-size, (long long)size, (long long)start);
        return NULL;
    }
    if (start < 0) start += size;
    if (length < 0 || start + length > size) {
        CT_FAIL(CT_ERR_INDEX, "start (%lld) + length (%lld) exceeds dimension size (%lld).", (long long)start,
                (long long)length, (long long)size);
        return NULL;
    }
    return ct_slice(t, d, start, start + length, 1);
}

ct_tensor *ct_slice(const ct_tensor *t, int dim, int64_t start, int64_t end, int64_t step) {
    CHECK_T(t);
    int d;
    if (t->ndim == 0) {
        CT_FAIL(CT_ERR_SHAPE, "slice() cannot be applied to a 0-dim tensor.");
        return NULL;
    }
    if (CT_WRAP_DIM(dim, t->ndim, &d) != CT_OK) return NULL;
    if (step <= 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "slice step must be positive (got %lld)", (long long)step);
        return NULL;
    }
    int64_t size = t->shape[d];
    if (start < 0) start += size;
    if (end < 0) end += size;
    start = start < 0 ? 0 : start > size ? size : start;
    end = end < start ? start : end > size ? size : end;
    int64_t s[CT_MAX_DIMS], st[CT_MAX_DIMS];
    memcpy(s, t->shape, sizeof s);
    memcpy(st, t->stride, sizeof st);
    s[d] = (end - start + step - 1) / step;
    st[d] = t->stride[d] * step;
    int64_t args[5] = {0, d, start, end, step};
    return recorded(ct__tensor_view_of(t, t->offset + start * t->stride[d], t->ndim, s, st), t, "SliceBackward0",
                    scatter_backward, 5, args);
}

ct_tensor *ct_select(const ct_tensor *t, int dim, int64_t index) {
    CHECK_T(t);
    int d;
    if (t->ndim == 0) {
        CT_FAIL(CT_ERR_SHAPE, "select() cannot be applied to a 0-dim tensor.");
        return NULL;
    }
    if (CT_WRAP_DIM(dim, t->ndim, &d) != CT_OK) return NULL;
    int64_t size = t->shape[d];
    if (index < -size || index >= size) {
        CT_FAIL(CT_ERR_INDEX, "index %lld is out of bounds for dimension %d with size %lld", (long long)index, d,
                (long long)size);
        return NULL;
    }
    if (index < 0) index += size;
    int64_t s[CT_MAX_DIMS], st[CT_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < t->ndim; i++)
        if (i != d) s[n] = t->shape[i], st[n++] = t->stride[i];
    int64_t args[3] = {1, d, index};
    return recorded(ct__tensor_view_of(t, t->offset + index * t->stride[d], n, s, st), t, "SelectBackward0",
                    scatter_backward, 3, args);
}

ct_tensor *ct_flatten(const ct_tensor *t, int start_dim, int end_dim) {
    CHECK_T(t);
    int a, b;
    if (CT_WRAP_DIM(start_dim, t->ndim, &a) != CT_OK || CT_WRAP_DIM(end_dim, t->ndim, &b) != CT_OK) return NULL;
    if (a > b) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "flatten() has invalid args: start_dim cannot come after end_dim");
        return NULL;
    }
    if (t->ndim == 0) {
        int64_t one = 1;
        return ct_reshape(t, 1, &one);
    }
    int64_t s[CT_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < a; i++) s[n++] = t->shape[i];
    s[n++] = ct__shape_numel(b - a + 1, t->shape + a);
    for (int i = b + 1; i < t->ndim; i++) s[n++] = t->shape[i];
    return ct_reshape(t, n, s);
}

ct_tensor *ct_unflatten(const ct_tensor *t, int dim, int nsizes, const int64_t *sizes) {
    CHECK_T(t);
    int d;
    if (CT_WRAP_DIM(dim, t->ndim, &d) != CT_OK) return NULL;
    if (nsizes < 1 || !sizes) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "unflatten: sizes must be non-empty");
        return NULL;
    }
    if (t->ndim - 1 + nsizes > CT_MAX_DIMS) {
        CT_FAIL(CT_ERR_SHAPE, "unflatten: the result would have %d dims (the most is %d)", t->ndim - 1 + nsizes,
                CT_MAX_DIMS);
        return NULL;
    }
    int64_t inner[CT_MAX_DIMS];
    if (infer_shape(__func__, t->ndim ? t->shape[d] : 1, nsizes, sizes, inner) != CT_OK) return NULL;
    int64_t s[CT_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < d; i++) s[n++] = t->shape[i];
    for (int i = 0; i < nsizes; i++) s[n++] = inner[i];
    for (int i = d + 1; i < t->ndim; i++) s[n++] = t->shape[i];
    return ct_view(t, n, s);
}
