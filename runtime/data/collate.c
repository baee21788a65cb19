/* Collation: default_collate (each field of the samples stacked along a new batch dim into one preallocated
 * tensor, optionally in page-locked memory), pad_sequence and the padding collate for variable-length samples,
 * and pinning whole batches. Stacking is written here with ct_select + ct_copy_ (and a memcpy when the
 * sample is a contiguous CPU tensor of the batch's dtype) so the data module needs no other op family. Pinning
 * itself is ct_pin_memory (tensor.h). */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

/* ---- pinned memory --------------------------------------------------------------------------------------------- */

ct_status ct__pin_sample(ct_sample *batch) {
    for (int k = 0; k < batch->n; k++) {
        if (ct_is_pinned(batch->field[k]) || batch->field[k]->storage->device.type != CT_CPU) continue;
        ct_tensor *pinned = ct_pin_memory(batch->field[k]);
        if (!pinned) return ct_last_status();
        ct_release(batch->field[k]);
        batch->field[k] = pinned;
    }
    return CT_OK;
}

/* ---- stacking ------------------------------------------------------------------------------------------------- */

static bool same_shape(const ct_tensor *a, const ct_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

/* Checks that field k of every sample can be stacked with field k of sample 0. */
static ct_status check_stackable(const ct_sample *samples, int64_t n, int k, const char *func) {
    const ct_tensor *first = samples[0].field[k];
    for (int64_t j = 1; j < n; j++) {
        const ct_tensor *t = samples[j].field[k];
        char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF], da[16], db[16];
        if (!same_shape(first, t))
            return ct__error(CT_ERR_SHAPE, func,
                             "stack expects each tensor to be equal size, but got %s at entry 0 and %s at entry %lld "
                             "(field %d)",
                             ct__shape_str(first->ndim, first->shape, a, sizeof a),
                             ct__shape_str(t->ndim, t->shape, b, sizeof b), (long long)j, k);
        if (t->dtype != first->dtype)
            return ct__error(CT_ERR_DTYPE, func,
                             "expected field %d of every sample to have dtype %s, but got %s at entry %lld", k,
                             ct_dtype_name(first->dtype), ct_dtype_name(t->dtype), (long long)j);
        if (!ct_device_equal(t->storage->device, first->storage->device))
            return ct__error(CT_ERR_DEVICE, func,
                             "expected field %d of every sample to be on %s, but got %s at entry %lld", k,
                             ct_device_str(first->storage->device, da, sizeof da),
                             ct_device_str(t->storage->device, db, sizeof db), (long long)j);
    }
    return CT_OK;
}

/* out[j] = src, where out is a contiguous batch tensor. */
static ct_status copy_row(ct_tensor *out, int64_t j, const ct_tensor *src) {
    if (src->storage->device.type == CT_CPU && out->storage->device.type == CT_CPU && src->dtype == out->dtype &&
        ct_is_contiguous(src)) {
        size_t row = (size_t)ct_numel(src) * ct_dtype_size(src->dtype);
        if (row) memcpy((char *)ct_data_ptr(out) + (size_t)j * row, ct_data_ptr(src), row);
        return CT_OK;
    }
    ct_tensor *dst = ct_select(out, 0, j);
    ct_status st = dst ? ct_copy_(dst, src) : ct_last_status();
    ct_release(dst);
    return st;
}

/* Field k of the n samples stacked along a new dim 0, into a new tensor. */
static ct_tensor *stack_field(const ct_sample *samples, int64_t n, int k, bool pinned, const char *func) {
    if (check_stackable(samples, n, k, func) != CT_OK) return NULL;
    const ct_tensor *first = samples[0].field[k];
    if (first->ndim + 1 > CT_MAX_DIMS) {
        ct__error(CT_ERR_SHAPE, func, "cannot stack %d-d samples: a batch would have more than %d dims", first->ndim,
                  CT_MAX_DIMS);
        return NULL;
    }
    int64_t shape[CT_MAX_DIMS];
    shape[0] = n;
    memcpy(shape + 1, first->shape, sizeof(int64_t) * (size_t)first->ndim);
    ct_device device = first->storage->device;
    ct_tensor *out = ct__tensor_new(first->ndim + 1, shape, first->dtype, device, pinned && device.type == CT_CPU);
    for (int64_t j = 0; out && j < n; j++)
        if (copy_row(out, j, samples[j].field[k]) != CT_OK) {
            ct_release(out);
            return NULL;
        }
    return out;
}

/* Checks that there are samples and that all have the same number of fields. */
static ct_status check_samples(const ct_sample *samples, int64_t n, const char *func) {
    if (!samples || n < 1) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "cannot collate an empty batch");
    for (int64_t j = 0; j < n; j++) {
        if (samples[j].n != samples[0].n)
            return ct__error(CT_ERR_SHAPE, func,
                             "each element in list of batch should be of equal size (entry 0 has %d fields, entry "
                             "%lld has %d)", samples[0].n, (long long)j, samples[j].n);
        for (int k = 0; k < samples[j].n; k++)
            if (!samples[j].field[k])
                return ct__error(CT_ERR_INVALID_ARGUMENT, func, "field %d of entry %lld is NULL", k, (long long)j);
    }
    if (samples[0].n < 1 || samples[0].n > CT_SAMPLE_MAX_FIELDS)
        return ct__error(CT_ERR_SHAPE, func, "samples have %d fields (1 to %d allowed)", samples[0].n,
                         CT_SAMPLE_MAX_FIELDS);
    return CT_OK;
}

ct_status ct__collate_stack(const ct_sample *samples, int64_t n, ct_sample *batch, bool pinned, const char *func) {
    memset(batch, 0, sizeof *batch);
    ct_status st = check_samples(samples, n, func);
    if (st != CT_OK) return st;
    for (int k = 0; k < samples[0].n; k++) {
        batch->field[k] = stack_field(samples, n, k, pinned, func);
        if (!batch->field[k]) {
            st = ct_last_status();
            ct_sample_release(batch);
            return st;
        }
        batch->n = k + 1;
    }
    return CT_OK;
}

ct_status ct_default_collate(const ct_sample *samples, int64_t n, ct_sample *batch, void *ctx) {
    if (!batch) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'batch' is NULL");
    return ct__collate_stack(samples, n, batch, false, __func__);
}

/* ---- padding ------------------------------------------------------------------------------------------------------ */

static ct_status check_sequences(int64_t n, ct_tensor *const *seqs, int64_t *max_len) {
    if (n < 1 || !seqs) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "received an empty list of sequences");
    *max_len = 0;
    for (int64_t i = 0; i < n; i++) {
        const ct_tensor *s = seqs[i], *first = seqs[0];
        char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF];
        if (!s) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "sequence %lld is NULL", (long long)i);
        if (s->ndim == 0)
            return CT_FAIL(CT_ERR_SHAPE, "sequence %lld is 0-d: each sequence needs a length dim", (long long)i);
        bool trailing_equal = s->ndim == first->ndim && s->ndim < CT_MAX_DIMS;
        for (int d = 1; trailing_equal && d < s->ndim; d++) trailing_equal = s->shape[d] == first->shape[d];
        if (!trailing_equal)
            return CT_FAIL(CT_ERR_SHAPE, "the trailing dims of every sequence must match: sequence 0 has shape %s and "
                                         "sequence %lld has shape %s", ct__shape_str(first->ndim, first->shape, a, sizeof a),
                           (long long)i, ct__shape_str(s->ndim, s->shape, b, sizeof b));
        if (s->dtype != first->dtype || !ct_device_equal(s->storage->device, first->storage->device))
            return CT_FAIL(CT_ERR_DTYPE, "every sequence must have the dtype and device of sequence 0 (%s), but "
                                         "sequence %lld is %s", ct_dtype_name(first->dtype), (long long)i,
                           ct_dtype_name(s->dtype));
        if (s->shape[0] > *max_len) *max_len = s->shape[0];
    }
    return CT_OK;
}

ct_tensor *ct_pad_sequence(int64_t n, ct_tensor *const *seqs, bool batch_first, double padding_value) {
    int64_t max_len = 0;
    if (check_sequences(n, seqs, &max_len) != CT_OK) return NULL;
    const ct_tensor *first = seqs[0];
    int64_t shape[CT_MAX_DIMS];
    shape[0] = batch_first ? n : max_len;
    shape[1] = batch_first ? max_len : n;
    memcpy(shape + 2, first->shape + 1, sizeof(int64_t) * (size_t)(first->ndim - 1));
    ct_tensor *out = ct_full(first->ndim + 1, shape, padding_value, first->dtype, first->storage->device);
    for (int64_t i = 0; out && i < n; i++) {
        ct_tensor *row = ct_select(out, batch_first ? 0 : 1, i);         /* (max_len, *) */
        ct_tensor *dst = ct_narrow(row, 0, 0, seqs[i]->shape[0]);        /* (L_i, *) */
        ct_status st = dst ? ct_copy_(dst, seqs[i]) : ct_last_status();
        ct_release(dst);
        ct_release(row);
        if (st != CT_OK) {
            ct_release(out);
            out = NULL;
        }
    }
    return out;
}

/* The lengths of field k of the samples as an int64 (n,) tensor. */
static ct_tensor *lengths_of(const ct_sample *samples, int64_t n, int k) {
    int64_t *lengths = malloc(sizeof *lengths * (size_t)n);
    if (!lengths) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    for (int64_t j = 0; j < n; j++) lengths[j] = samples[j].field[k]->ndim ? samples[j].field[k]->shape[0] : 0;
    ct_tensor *t = ct_tensor_from_data(lengths, 1, &n, CT_INT64, CT_DEVICE_CPU);
    free(lengths);
    return t;
}

/* The padded field: pad_sequence over field k of every sample. */
static ct_tensor *padded_field(const ct_sample *samples, int64_t n, const ct_pad_collate_options *o) {
    ct_tensor **seqs = malloc(sizeof *seqs * (size_t)n);
    if (!seqs) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    for (int64_t j = 0; j < n; j++) seqs[j] = samples[j].field[o->field];
    ct_tensor *t = ct_pad_sequence(n, seqs, o->batch_first, o->padding_value);
    free(seqs);
    return t;
}

ct_status ct_pad_collate(const ct_sample *samples, int64_t n, ct_sample *batch, void *ctx) {
    static const ct_pad_collate_options defaults = {0, false, 0.0};
    const ct_pad_collate_options *o = ctx ? ctx : &defaults;
    if (!batch) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'batch' is NULL");
    memset(batch, 0, sizeof *batch);
    ct_status st = check_samples(samples, n, __func__);
    if (st != CT_OK) return st;
    int nf = samples[0].n;
    if (o->field < 0 || o->field >= nf)
        return CT_FAIL(CT_ERR_INDEX, "field %d is out of range for samples of %d fields", o->field, nf);
    if (nf + 1 > CT_SAMPLE_MAX_FIELDS)
        return CT_FAIL(CT_ERR_SHAPE, "no room for the lengths field: samples have %d fields (at most %d)", nf,
                       CT_SAMPLE_MAX_FIELDS - 1);
    for (int k = 0; k <= nf; k++) {
        batch->field[k] = k == nf         ? lengths_of(samples, n, o->field)
                          : k == o->field ? padded_field(samples, n, o)
                                          : stack_field(samples, n, k, false, __func__);
        if (!batch->field[k]) {
            st = ct_last_status();
            ct_sample_release(batch);
            return st;
        }
        batch->n = k + 1;
    }
    return CT_OK;
}
