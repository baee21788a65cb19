/* Front ends of the shape family (ctorch/shape.h): cat, stack, split, split_with_sizes, chunk, repeat, flip,
 * constant_pad_nd and pad, with PyTorch's checks and words.
 *
 * split and chunk return views. The others write a fresh contiguous output through kernels that see views of it:
 * cat and stack copy each input into its slab of the output (contiguous inputs of the output's dtype in one
 * batched launch, the rest through the converting strided copy); flip is a strided copy whose source view walks
 * the flipped dims backwards (negative strides, inside the kernel view only); constant padding fills the border
 * slabs and copies the (possibly cropped) input into the interior; repeat has its own tiling kernel. Results are
 * recorded for autograd by runtime/autograd/backward_shape.c (split's views through ct_narrow's view nodes). */
#include <stdlib.h>
#include <string.h>

#include "autograd/backward_shape.h"
#include "common.h"
#include "kernels/shape.h"

/* ---- helpers --------------------------------------------------------------------------------------------------- */

/* "[2, 3]" for the sizes list of an error message. */
static const char *list_str(int n, const int64_t *v, char *buf, size_t size) {
    return ct__shape_str(n < CT_MAX_DIMS * 2 ? n : CT_MAX_DIMS * 2, v, buf, size);
}

/* True when every size > 1 dim of v is laid out contiguously (row-major). */
static bool view_is_contiguous(const ct__view *v) {
    int64_t expected = 1;
    for (int d = v->ndim - 1; d >= 0; d--) {
        if (v->shape[d] == 1) continue;
        if (v->stride[d] != expected) return false;
        expected *= v->shape[d];
    }
    return true;
}

/* v restricted to [start, start + length) along dim. */
static ct__view narrowed(ct__view v, int dim, int64_t start, int64_t length) {
    v.data = (char *)v.data + start * v.stride[dim] * (int64_t)ct_dtype_size(v.dtype);
    v.shape[dim] = length;
    return v;
}

static int64_t view_numel(const ct__view *v) {
    int64_t n = 1;
    for (int d = 0; d < v->ndim; d++) n *= v->shape[d];
    return n;
}

/* ---- cat and stack ------------------------------------------------------------------------------------------------ */

/* Checks the list argument of cat/stack: n > 0 tensors, none NULL, none of a reserved dtype, one device. */
static ct_status check_list(int n, ct_tensor *const *tensors, const char *func, const char *empty_message) {
    if (n < 0 || (n > 0 && !tensors))
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "argument 'tensors' is NULL or n (%d) is negative", n);
    if (n == 0) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "%s", empty_message);
    ct_status st;
    for (int i = 0; i < n; i++) {
        if ((st = ct__check_tensor(tensors[i], func, "tensors")) != CT_OK) return st;
        if ((st = ct__check_supported_dtype(tensors[i], func)) != CT_OK) return st;
        if ((st = ct__check_same_device(tensors[0], tensors[i], func)) != CT_OK) return st;
    }
    return CT_OK;
}

static ct_dtype promoted_dtype(int n, ct_tensor *const *tensors) {
    ct_dtype d = tensors[0]->dtype;
    for (int i = 1; i < n; i++) d = ct__promote_types(d, tensors[i]->dtype);
    return d;
}

/* Writes the parts into consecutive slabs of out along dim: part i (already shaped like its slab, lens[i] long
 * along dim) goes to [offset, offset + lens[i]). Contiguous parts of out's dtype go in one batched kernel call
 * (CT__CAT_BATCH at a time); the others through the converting strided copy. */
static ct_status write_slabs(ct_tensor *out, int dim, int n, const ct__view *parts, const int64_t *lens) {
    ct__view o = ct__view_of(out);
    ct_device dev = out->storage->device;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; d++) outer *= o.shape[d];
    for (int d = dim + 1; d < o.ndim; d++) inner *= o.shape[d];
    ct__cat_input batch[CT__CAT_BATCH];
    int nb = 0;
    ct_status st = CT_OK;
    for (int64_t i = 0, start = 0; i < n && st == CT_OK; start += lens[i], i++) {
        if (view_numel(&parts[i]) == 0) continue;
        if (parts[i].dtype == out->dtype && view_is_contiguous(&parts[i])) {
            batch[nb++] = (ct__cat_input){parts[i].data, lens[i] * inner, start * inner};
            if (nb == CT__CAT_BATCH) {
                st = CT_DISPATCH(dev, cat, o.data, out->dtype, outer, o.shape[dim] * inner, nb, batch);
                nb = 0;
            }
        } else {
            st = CT_DISPATCH(dev, copy, narrowed(o, dim, start, lens[i]), parts[i]);
        }
    }
    if (st == CT_OK && nb > 0) st = CT_DISPATCH(dev, cat, o.data, out->dtype, outer, o.shape[dim] * inner, nb, batch);
    return st;
}

/* A tensor of 1 dim and no elements: PyTorch's cat skips these whatever the other shapes (legacy behaviour). */
static bool cat_skips(const ct_tensor *t) { return t->ndim == 1 && t->shape[0] == 0; }

/* Checks the shapes of a cat and computes the output shape; *first is the first tensor not skipped (n if none). */
static ct_status cat_shape(int n, ct_tensor *const *tensors, int dim, int *wrapped, int *first, int64_t *shape) {
    for (int i = 0; i < n; i++)
        if (tensors[i]->ndim == 0)
            return ct__error(CT_ERR_SHAPE, "ct_cat", "zero-dimensional tensor (at position %d) cannot be concatenated",
                             i);
    for (*first = 0; *first < n && cat_skips(tensors[*first]); (*first)++) {}
    if (*first == n) return CT_OK;
    const ct_tensor *ref = tensors[*first];
    ct_status st = ct__wrap_dim(dim, ref->ndim, "ct_cat", wrapped);
    if (st != CT_OK) return st;
    memcpy(shape, ref->shape, sizeof(int64_t) * (size_t)ref->ndim);
    shape[*wrapped] = 0;
    for (int i = *first; i < n; i++) {
        const ct_tensor *t = tensors[i];
        if (cat_skips(t)) continue;
        if (t->ndim != ref->ndim)
            return ct__error(CT_ERR_SHAPE, "ct_cat", "Tensors must have same number of dimensions: got %d and %d",
                             ref->ndim, t->ndim);
        for (int d = 0; d < t->ndim; d++)
            if (d != *wrapped && t->shape[d] != ref->shape[d])
                return ct__error(CT_ERR_SHAPE, "ct_cat",
                                 "Sizes of tensors must match except in dimension %d. Expected size %lld but got "
                                 "size %lld for tensor number %d in the list.",
                                 *wrapped, (long long)ref->shape[d], (long long)t->shape[d], i);
        shape[*wrapped] += t->shape[*wrapped];
    }
    return CT_OK;
}

ct_tensor *ct_cat(int n, ct_tensor *const *tensors, int dim) {
    if (check_list(n, tensors, __func__, "torch.cat(): expected a non-empty list of Tensors") != CT_OK) return NULL;
    int wrapped = 0, first = 0;
    int64_t shape[CT_MAX_DIMS];
    if (cat_shape(n, tensors, dim, &wrapped, &first, shape) != CT_OK) return NULL;
    ct_dtype dtype = promoted_dtype(n, tensors);
    ct_device dev = tensors[0]->storage->device;
    if (first == n) return ct__record_cat(ct__tensor_new(1, (int64_t[]){0}, dtype, dev, false), n, tensors, 0);
    ct_tensor *out = ct__tensor_new(tensors[first]->ndim, shape, dtype, dev, false);
    ct__view *parts = malloc(sizeof(ct__view) * (size_t)n);
    int64_t *lens = malloc(sizeof(int64_t) * (size_t)n);
    int np = 0;
    ct_status st = out && parts && lens ? CT_OK : CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = first; i < n && st == CT_OK; i++) {
        if (cat_skips(tensors[i])) continue;
        parts[np] = ct__view_of(tensors[i]);
        lens[np++] = tensors[i]->shape[wrapped];
    }
    if (st == CT_OK) st = write_slabs(out, wrapped, np, parts, lens);
    free(parts);
    free(lens);
    if (st != CT_OK) {
        ct_release(out);
        return NULL;
    }
    return ct__record_cat(out, n, tensors, wrapped);
}

ct_tensor *ct_stack(int n, ct_tensor *const *tensors, int dim) {
    if (check_list(n, tensors, __func__, "stack expects a non-empty TensorList") != CT_OK) return NULL;
    const ct_tensor *ref = tensors[0];
    char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF];
    for (int i = 1; i < n; i++) {
        const ct_tensor *t = tensors[i];
        if (t->ndim != ref->ndim || memcmp(t->shape, ref->shape, sizeof(int64_t) * (size_t)t->ndim) != 0) {
            CT_FAIL(CT_ERR_SHAPE, "stack expects each tensor to be equal size, but got %s at entry 0 and %s at entry %d",
                    ct__shape_str(ref->ndim, ref->shape, a, sizeof a), ct__shape_str(t->ndim, t->shape, b, sizeof b),
                    i);
            return NULL;
        }
    }
    int d;
    if (CT_WRAP_DIM(dim, ref->ndim + 1, &d) != CT_OK) return NULL;
    if (ref->ndim == CT_MAX_DIMS) {
        CT_FAIL(CT_ERR_SHAPE, "cannot stack tensors of %d dims (the most is %d)", ref->ndim, CT_MAX_DIMS);
        return NULL;
    }
    int64_t shape[CT_MAX_DIMS];
    for (int i = 0, j = 0; i <= ref->ndim; i++) shape[i] = i == d ? n : ref->shape[j++];
    ct_tensor *out = ct__tensor_new(ref->ndim + 1, shape, promoted_dtype(n, tensors), ref->storage->device, false);
    ct__view *parts = malloc(sizeof(ct__view) * (size_t)n);
    int64_t *lens = malloc(sizeof(int64_t) * (size_t)n);
    ct_status st = out && parts && lens ? CT_OK : CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < n && st == CT_OK; i++) { /* each input is a slab of length 1 along the new dim */
        ct__view v = ct__view_of(tensors[i]);
        for (int k = ref->ndim; k > d; k--) v.shape[k] = v.shape[k - 1], v.stride[k] = v.stride[k - 1];
        v.shape[d] = 1, v.stride[d] = 0, v.ndim = ref->ndim + 1;
        parts[i] = v;
        lens[i] = 1;
    }
    if (st == CT_OK) st = write_slabs(out, d, n, parts, lens);
    free(parts);
    free(lens);
    if (st != CT_OK) {
        ct_release(out);
        return NULL;
    }
    return ct__record_stack(out, n, tensors, d);
}

/* ---- split, split_with_sizes, chunk ---------------------------------------------------------------------------- */

void ct_tensors_free(ct_tensor **tensors, int count) {
    if (!tensors) return;
    for (int i = 0; i < count; i++) ct_release(tensors[i]);
    free(tensors);
}

/* n views of t along dim with the given lengths, laid end to end; grad_name names their grad_fn. */
static ct_tensor **views_along(const ct_tensor *t, int dim, int n, const int64_t *lens, int *count,
                               const char *grad_name) {
    ct_tensor **out = calloc((size_t)(n > 0 ? n : 1), sizeof *out);
    if (!out) {
        ct__error(CT_ERR_OUT_OF_MEMORY, "ct_split", "out of memory");
        return NULL;
    }
    int64_t start = 0;
    for (int i = 0; i < n; i++) {
        out[i] = ct__split_view(t, dim, start, lens[i], grad_name);
        if (!out[i]) {
            ct_tensors_free(out, i);
            return NULL;
        }
        start += lens[i];
    }
    *count = n;
    return out;
}

/* Checks t and its dim for the split family; *wrapped receives the dim. */
static ct_status check_split(const ct_tensor *t, int dim, int *count, const char *func, const char *what, int *wrapped) {
    if (!count) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "argument 'count' is NULL");
    *count = 0;
    ct_status st = ct__check_tensor(t, func, "t");
    if (st != CT_OK) return st;
    if (t->ndim == 0) return ct__error(CT_ERR_SHAPE, func, "%s expects at least a 1-dimensional tensor", what);
    return ct__wrap_dim(dim, t->ndim, func, wrapped);
}

/* The lengths of splitting `size` into pieces of split_size (the last one shorter); NULL on allocation failure. */
static int64_t *split_lengths(int64_t size, int64_t split_size, int *n) {
    int64_t num = split_size == 0 ? 1 : (size + split_size - 1) / split_size;
    if (num < 1) num = 1;
    int64_t *lens = malloc(sizeof(int64_t) * (size_t)num);
    if (!lens) return NULL;
    for (int64_t i = 0; i < num; i++) {
        int64_t left = size - i * split_size;
        lens[i] = left < split_size ? left : split_size;
    }
    *n = (int)num;
    return lens;
}

ct_tensor **ct_split(const ct_tensor *t, int64_t split_size, int dim, int *count) {
    int d;
    if (check_split(t, dim, count, __func__, "split", &d) != CT_OK) return NULL;
    int64_t size = t->shape[d];
    if (split_size < 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "split expects split_size be non-negative, but got split_size=%lld",
                (long long)split_size);
        return NULL;
    }
    if (split_size == 0 && size != 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "split_size can only be 0 if dimension size is 0, but got dimension size of %lld",
                (long long)size);
        return NULL;
    }
    if (split_size > 0 && (size + split_size - 1) / split_size > INT32_MAX) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "split into more than %d pieces", INT32_MAX);
        return NULL;
    }
    int n = 0;
    int64_t *lens = split_lengths(size, split_size, &n);
    if (!lens) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    ct_tensor **out = views_along(t, d, n, lens, count, "SplitBackward0");
    free(lens);
    return out;
}

ct_tensor **ct_split_with_sizes(const ct_tensor *t, int n, const int64_t *sizes, int dim, int *count) {
    int d;
    if (check_split(t, dim, count, __func__, "split", &d) != CT_OK) return NULL;
    if (n < 0 || (n > 0 && !sizes)) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'sizes' is NULL or n (%d) is negative", n);
        return NULL;
    }
    char buf[CT_SHAPE_BUF * 2];
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        if (sizes[i] < 0) {
            CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                    "split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes=%s",
                    list_str(n, sizes, buf, sizeof buf));
            return NULL;
        }
        sum += sizes[i];
    }
    if (sum != t->shape[d]) {
        CT_FAIL(CT_ERR_SHAPE,
                "split_with_sizes expects split_sizes to sum exactly to %lld (input tensor's size at dimension %d), "
                "but got split_sizes=%s",
                (long long)t->shape[d], d, list_str(n, sizes, buf, sizeof buf));
        return NULL;
    }
    return views_along(t, d, n, sizes, count, "SplitWithSizesBackward0");
}

ct_tensor **ct_chunk(const ct_tensor *t, int64_t chunks, int dim, int *count) {
    int d;
    if (check_split(t, dim, count, __func__, "chunk", &d) != CT_OK) return NULL;
    if (chunks <= 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "chunk expects `chunks` to be greater than 0, got: %lld", (long long)chunks);
        return NULL;
    }
    int64_t size = t->shape[d];
    int64_t split_size = (size + chunks - 1) / chunks;
    if (split_size == 0 && size == 0) { /* `chunks` empty views, as PyTorch */
        if (chunks > INT32_MAX) {
            CT_FAIL(CT_ERR_INVALID_ARGUMENT, "chunk into more than %d pieces", INT32_MAX);
            return NULL;
        }
        int64_t *zeros = calloc((size_t)chunks, sizeof(int64_t));
        ct_tensor **out = zeros ? views_along(t, d, (int)chunks, zeros, count, "SplitWithSizesBackward0") : NULL;
        if (!zeros) CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
        free(zeros);
        return out;
    }
    return ct_split(t, split_size, d, count);
}

/* ---- repeat ------------------------------------------------------------------------------------------------------ */

ct_tensor *ct_repeat(const ct_tensor *t, int n, const int64_t *repeats) {
    if (CT_CHECK_TENSOR(t) != CT_OK || ct__check_supported_dtype(t, __func__) != CT_OK) return NULL;
    if (n < t->ndim) {
        CT_FAIL(CT_ERR_SHAPE,
                "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor");
        return NULL;
    }
    if (n > CT_MAX_DIMS || (n > 0 && !repeats)) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "repeats: %d values given (at most %d, and not NULL)", n, CT_MAX_DIMS);
        return NULL;
    }
    ct__view src = ct__view_of(t);
    int lead = n - t->ndim;
    for (int d = n - 1; d >= 0; d--) { /* t viewed with `lead` leading size-1 dims */
        src.shape[d] = d >= lead ? t->shape[d - lead] : 1;
        src.stride[d] = d >= lead ? t->stride[d - lead] : 0;
    }
    src.ndim = n;
    int64_t shape[CT_MAX_DIMS];
    for (int d = 0; d < n; d++) shape[d] = src.shape[d] * repeats[d];
    for (int d = 0; d < n; d++) {
        if (repeats[d] < 0) {
            char buf[CT_SHAPE_BUF];
            CT_FAIL(CT_ERR_INVALID_ARGUMENT, "Trying to create tensor with negative dimension %lld: %s",
                    (long long)shape[d], ct__shape_str(n, shape, buf, sizeof buf));
            return NULL;
        }
    }
    ct_tensor *out = ct__tensor_new(n, shape, t->dtype, t->storage->device, false);
    if (out && ct_numel(out) > 0 && CT_DISPATCH(out->storage->device, repeat, ct__view_of(out), src) != CT_OK) {
        ct_release(out);
        return NULL;
    }
    return ct__record_repeat(out, t, n, repeats);
}

/* ---- flip ------------------------------------------------------------------------------------------------------- */

ct_tensor *ct_flip(const ct_tensor *t, int n, const int *dims) {
    if (CT_CHECK_TENSOR(t) != CT_OK || ct__check_supported_dtype(t, __func__) != CT_OK) return NULL;
    if (n < 0 || (n > 0 && !dims)) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'dims' is NULL or n (%d) is negative", n);
        return NULL;
    }
    bool flip[CT_MAX_DIMS] = {false};
    for (int i = 0; i < n; i++) {
        int d;
        if (CT_WRAP_DIM(dims[i], t->ndim, &d) != CT_OK) return NULL;
        if (t->ndim == 0) continue; /* a 0-d tensor has nothing to flip */
        if (flip[d]) {
            CT_FAIL(CT_ERR_INVALID_ARGUMENT, "dim %d appears multiple times in the list of dims", d);
            return NULL;
        }
        flip[d] = true;
    }
    ct_tensor *out = ct__tensor_new(t->ndim, t->shape, t->dtype, t->storage->device, false);
    if (!out || ct_numel(out) == 0) return ct__record_flip(out, t, n, dims);
    ct__view src = ct__view_of(t);
    for (int d = 0; d < t->ndim; d++) { /* start at the last element of a flipped dim and walk backwards */
        if (!flip[d]) continue;
        src.data = (char *)src.data + (src.shape[d] - 1) * src.stride[d] * (int64_t)ct_dtype_size(t->dtype);
        src.stride[d] = -src.stride[d];
    }
    if (CT_DISPATCH(out->storage->device, copy, ct__view_of(out), src) != CT_OK) {
        ct_release(out);
        return NULL;
    }
    return ct__record_flip(out, t, n, dims);
}

/* ---- constant padding ----------------------------------------------------------------------------------------- */

/* Checks pad against t and computes the output shape. */
static ct_status pad_shape(const ct_tensor *t, int npad, const int64_t *pad, int64_t *shape, const char *func) {
    if (npad < 0 || (npad > 0 && !pad))
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "argument 'pad' is NULL or npad (%d) is negative", npad);
    if (npad % 2 != 0)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "Length of pad must be even but instead it equals %d", npad);
    if (npad / 2 > t->ndim)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                         "Length of pad should be no more than twice the number of dimensions of the input. Pad "
                         "length is %d while the input has %d dimensions.",
                         npad, t->ndim);
    memcpy(shape, t->shape, sizeof(int64_t) * CT_MAX_DIMS);
    for (int k = 0; k < npad / 2; k++) {
        int d = t->ndim - 1 - k;
        int64_t lo = pad[2 * k], hi = pad[2 * k + 1];
        shape[d] = t->shape[d] + lo + hi;
        if (shape[d] < 0)
            return ct__error(CT_ERR_SHAPE, func,
                             "The input size %lld, plus negative padding %lld and %lld resulted in a negative output "
                             "size, which is invalid. Check dimension %d of your input.",
                             (long long)t->shape[d], (long long)lo, (long long)hi, d);
        if ((lo < 0 ? -lo : 0) + (hi < 0 ? -hi : 0) > t->shape[d])
            return ct__error(CT_ERR_SHAPE, func, "narrow(): length must be non-negative.");
    }
    return CT_OK;
}

/* Fills the border slabs of out with value and copies t's kept part into the interior. */
static ct_status pad_write(ct_tensor *out, const ct_tensor *t, int npad, const int64_t *pad, double value) {
    ct__view o = ct__view_of(out), interior = o, src = ct__view_of(t);
    ct_device dev = out->storage->device;
    ct_status st = CT_OK;
    for (int k = 0; k < npad / 2 && st == CT_OK; k++) {
        int d = t->ndim - 1 - k;
        int64_t lo = pad[2 * k], hi = pad[2 * k + 1];
        int64_t keep = t->shape[d] - (lo < 0 ? -lo : 0) - (hi < 0 ? -hi : 0);
        if (lo > 0) st = CT_DISPATCH(dev, fill, narrowed(o, d, 0, lo), value);
        if (hi > 0 && st == CT_OK) st = CT_DISPATCH(dev, fill, narrowed(o, d, o.shape[d] - hi, hi), value);
        interior = narrowed(interior, d, lo > 0 ? lo : 0, keep);
        src = narrowed(src, d, lo < 0 ? -lo : 0, keep);
    }
    if (st == CT_OK && view_numel(&interior) > 0) st = CT_DISPATCH(dev, copy, interior, src);
    return st;
}

ct_tensor *ct_constant_pad_nd(const ct_tensor *t, int npad, const int64_t *pad, double value) {
    if (CT_CHECK_TENSOR(t) != CT_OK || ct__check_supported_dtype(t, __func__) != CT_OK) return NULL;
    int64_t shape[CT_MAX_DIMS];
    if (pad_shape(t, npad, pad, shape, __func__) != CT_OK) return NULL;
    ct_tensor *out = ct__tensor_new(t->ndim, shape, t->dtype, t->storage->device, false);
    if (out && ct_numel(out) > 0 && pad_write(out, t, npad, pad, value) != CT_OK) {
        ct_release(out);
        return NULL;
    }
    return ct__record_constant_pad(out, t, npad, pad);
}

ct_tensor *ct_pad(const ct_tensor *t, int npad, const int64_t *pad, const char *mode, double value) {
    if (!mode || strcmp(mode, "constant") == 0) return ct_constant_pad_nd(t, npad, pad, value);
    if (strcmp(mode, "reflect") == 0 || strcmp(mode, "replicate") == 0 || strcmp(mode, "circular") == 0) {
        CT_FAIL(CT_ERR_NOT_IMPLEMENTED, "padding mode '%s' is not implemented yet (only 'constant' is)", mode);
        return NULL;
    }
    CT_FAIL(CT_ERR_INVALID_ARGUMENT,
            "Unrecognised padding mode %s (expected one of 'constant', 'reflect', 'replicate' or 'circular')", mode);
    return NULL;
}
