/* Datasets (torch.utils.data.Dataset and IterableDataset as C vtables) and the built-in ones: TensorDataset,
 * Subset, ConcatDataset, and random_split with lengths or fractions. A dataset is a reference-counted handle over
 * a user's vtable and context; ct_dataset_get checks the index once so that no get implementation has to. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

/* ---- samples ------------------------------------------------------------------------------------------------------ */

void ct_sample_release(ct_sample *s) {
    if (!s) return;
    for (int k = 0; k < s->n && k < CT_SAMPLE_MAX_FIELDS; k++) ct_release(s->field[k]);
    memset(s, 0, sizeof *s);
}

/* ---- the dataset handle -------------------------------------------------------------------------------------------- */

ct_dataset *ct_dataset_new(const ct_dataset_vtable *vt, void *ctx) {
    if (!vt) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'vtable' is NULL");
        return NULL;
    }
    bool map_style = vt->get && vt->len, iterable = vt->iter_begin && vt->iter_next;
    ct_dataset *ds = map_style || iterable ? calloc(1, sizeof *ds) : NULL;
    if (!ds) {
        if (map_style || iterable)
            CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a dataset");
        else
            CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                    "dataset type '%s' needs either len and get (map-style) or iter_begin and iter_next (iterable)",
                    vt->name ? vt->name : "?");
        if (vt->destroy) vt->destroy(ctx);
        return NULL;
    }
    atomic_init(&ds->refcount, 1);
    ds->vt = vt;
    ds->ctx = ctx;
    return ds;
}

ct_dataset *ct_dataset_retain(ct_dataset *ds) {
    if (ds) atomic_fetch_add(&ds->refcount, 1);
    return ds;
}

void ct_dataset_release(ct_dataset *ds) {
    if (!ds || atomic_fetch_sub(&ds->refcount, 1) != 1) return;
    if (ds->vt->destroy) ds->vt->destroy(ds->ctx);
    free(ds);
}

bool ct_dataset_is_iterable(const ct_dataset *ds) { return ds && !ds->vt->get; }

const char *ct_dataset_name(const ct_dataset *ds) { return ds && ds->vt->name ? ds->vt->name : "Dataset"; }

ct_status ct_dataset_len(const ct_dataset *ds, int64_t *out) {
    if (!ds) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'ds' is NULL");
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'out' is NULL");
    if (!ds->vt->len) return CT_FAIL(CT_ERR_STATE, "object of type '%s' has no len()", ct_dataset_name(ds));
    *out = ds->vt->len(ds->ctx);
    return CT_OK;
}

ct_status ct__check_sample(const ct_dataset *ds, ct_sample *out, ct_status st) {
    if (st == CT_OK && (out->n < 1 || out->n > CT_SAMPLE_MAX_FIELDS))
        st = CT_FAIL(CT_ERR_STATE, "dataset of type '%s' returned a sample with %d fields (1 to %d allowed)",
                     ct_dataset_name(ds), out->n, CT_SAMPLE_MAX_FIELDS);
    for (int k = 0; st == CT_OK && k < out->n; k++)
        if (!out->field[k])
            st = CT_FAIL(CT_ERR_STATE, "dataset of type '%s' returned a sample whose field %d is NULL",
                         ct_dataset_name(ds), k);
    if (st != CT_OK) {
        if (out->n < 0 || out->n > CT_SAMPLE_MAX_FIELDS) out->n = CT_SAMPLE_MAX_FIELDS;
        ct_sample_release(out);
    }
    return st;
}

ct_status ct_dataset_get(ct_dataset *ds, int64_t index, ct_sample *out) {
    if (!ds) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'ds' is NULL");
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'out' is NULL");
    memset(out, 0, sizeof *out);
    if (!ds->vt->get)
        return CT_FAIL(CT_ERR_STATE, "dataset of type '%s' is iterable-style: it cannot be indexed",
                       ct_dataset_name(ds));
    int64_t n = ds->vt->len(ds->ctx), i = index < 0 ? index + n : index;
    if (i < 0 || i >= n)
        return CT_FAIL(CT_ERR_INDEX, "index %lld is out of bounds for dimension 0 with size %lld", (long long)index,
                       (long long)n);
    return ct__check_sample(ds, out, ds->vt->get(ds->ctx, i, out));
}

/* ---- TensorDataset ---------------------------------------------------------------------------------------------- */

typedef struct {
    int n;
    ct_tensor *tensors[CT_SAMPLE_MAX_FIELDS];
} tensor_dataset;

static int64_t tensor_dataset_len(void *ctx) { return ct_size(((tensor_dataset *)ctx)->tensors[0], 0); }

static ct_status tensor_dataset_get(void *ctx, int64_t index, ct_sample *out) {
    tensor_dataset *td = ctx;
    for (int k = 0; k < td->n; k++) {
        out->field[k] = ct_select(td->tensors[k], 0, index);
        out->n = k + 1;
        if (!out->field[k]) return ct_last_status();
    }
    return CT_OK;
}

static void tensor_dataset_destroy(void *ctx) {
    tensor_dataset *td = ctx;
    for (int k = 0; k < td->n; k++) ct__tensor_decref(td->tensors[k]);
    free(td);
}

static const ct_dataset_vtable tensor_dataset_vt = {
    .name = "TensorDataset",
    .len = tensor_dataset_len,
    .get = tensor_dataset_get,
    .destroy = tensor_dataset_destroy,
};

static ct_status check_tensor_dataset_args(int n, ct_tensor *const *tensors) {
    if (n < 1 || n > CT_SAMPLE_MAX_FIELDS)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "expected 1 to %d tensors, got %d", CT_SAMPLE_MAX_FIELDS, n);
    if (!tensors) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'tensors' is NULL");
    for (int k = 0; k < n; k++) {
        ct_status st = ct__check_tensor(tensors[k], "ct_tensor_dataset", "tensors[k]");
        if (st != CT_OK) return st;
        if (ct_dim(tensors[k]) == 0)
            return CT_FAIL(CT_ERR_SHAPE, "tensor %d is 0-d: every tensor needs a dim 0 to index samples along", k);
        if (ct_size(tensors[k], 0) != ct_size(tensors[0], 0))
            return CT_FAIL(CT_ERR_SHAPE, "Size mismatch between tensors: tensor 0 has %lld samples, tensor %d has %lld",
                           (long long)ct_size(tensors[0], 0), k, (long long)ct_size(tensors[k], 0));
    }
    return CT_OK;
}

ct_dataset *ct_tensor_dataset(int n, ct_tensor *const *tensors) {
    if (check_tensor_dataset_args(n, tensors) != CT_OK) return NULL;
    tensor_dataset *td = calloc(1, sizeof *td);
    if (!td) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a TensorDataset");
        return NULL;
    }
    td->n = n;
    for (int k = 0; k < n; k++) td->tensors[k] = ct_retain(tensors[k]);
    return ct_dataset_new(&tensor_dataset_vt, td);
}

/* ---- Subset ------------------------------------------------------------------------------------------------------ */

typedef struct {
    ct_dataset *dataset;
    int64_t n;
    int64_t *indices;
} subset;

static int64_t subset_len(void *ctx) { return ((subset *)ctx)->n; }

static ct_status subset_get(void *ctx, int64_t index, ct_sample *out) {
    subset *s = ctx;
    return ct_dataset_get(s->dataset, s->indices[index], out);
}

static void subset_destroy(void *ctx) {
    subset *s = ctx;
    ct_dataset_release(s->dataset);
    free(s->indices);
    free(s);
}

static const ct_dataset_vtable subset_vt = {
    .name = "Subset", .len = subset_len, .get = subset_get, .destroy = subset_destroy};

ct_dataset *ct_subset(ct_dataset *ds, int64_t n, const int64_t *indices) {
    if (!ds || (n > 0 && !indices) || n < 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "%s", !ds ? "argument 'ds' is NULL" : n < 0 ? "number of indices is negative"
                                                                                     : "argument 'indices' is NULL");
        return NULL;
    }
    if (ct_dataset_is_iterable(ds)) {
        CT_FAIL(CT_ERR_STATE, "dataset of type '%s' is iterable-style: it cannot be indexed", ct_dataset_name(ds));
        return NULL;
    }
    subset *s = calloc(1, sizeof *s);
    int64_t *copy = malloc(sizeof *copy * (size_t)(n > 0 ? n : 1));
    if (!s || !copy) {
        free(s);
        free(copy);
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a Subset of %lld indices", (long long)n);
        return NULL;
    }
    if (n > 0) memcpy(copy, indices, sizeof *copy * (size_t)n);
    *s = (subset){ct_dataset_retain(ds), n, copy};
    return ct_dataset_new(&subset_vt, s);
}

/* ---- ConcatDataset --------------------------------------------------------------------------------------------- */

typedef struct {
    int n;
    ct_dataset **datasets;
    int64_t *cumulative; /* cumulative[k] = total length of datasets 0..k */
} concat;

static int64_t concat_len(void *ctx) {
    concat *c = ctx;
    return c->cumulative[c->n - 1];
}

static ct_status concat_get(void *ctx, int64_t index, ct_sample *out) {
    concat *c = ctx;
    int lo = 0, hi = c->n - 1; /* the first dataset whose cumulative length exceeds index */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (c->cumulative[mid] > index) hi = mid;
        else lo = mid + 1;
    }
    int64_t start = lo ? c->cumulative[lo - 1] : 0;
    return ct_dataset_get(c->datasets[lo], index - start, out);
}

static void concat_destroy(void *ctx) {
    concat *c = ctx;
    for (int k = 0; k < c->n; k++) ct_dataset_release(c->datasets[k]);
    free(c->datasets);
    free(c->cumulative);
    free(c);
}

static const ct_dataset_vtable concat_vt = {
    .name = "ConcatDataset", .len = concat_len, .get = concat_get, .destroy = concat_destroy};

static ct_status check_concat_args(int n, ct_dataset *const *datasets) {
    if (n <= 0 || !datasets) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "datasets should not be an empty iterable");
    for (int k = 0; k < n; k++) {
        if (!datasets[k]) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "datasets[%d] is NULL", k);
        if (ct_dataset_is_iterable(datasets[k]))
            return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "ConcatDataset does not support IterableDataset");
    }
    return CT_OK;
}

ct_dataset *ct_concat_dataset(int n, ct_dataset *const *datasets) {
    if (check_concat_args(n, datasets) != CT_OK) return NULL;
    concat *c = calloc(1, sizeof *c);
    if (c) c->datasets = calloc((size_t)n, sizeof *c->datasets), c->cumulative = calloc((size_t)n, sizeof(int64_t));
    if (!c || !c->datasets || !c->cumulative) {
        if (c) free(c->datasets), free(c->cumulative);
        free(c);
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory allocating a ConcatDataset");
        return NULL;
    }
    c->n = n;
    for (int k = 0; k < n; k++) {
        c->datasets[k] = ct_dataset_retain(datasets[k]);
        c->cumulative[k] = (k ? c->cumulative[k - 1] : 0) + datasets[k]->vt->len(datasets[k]->ctx);
    }
    return ct_dataset_new(&concat_vt, c);
}

/* ---- random_split ---------------------------------------------------------------------------------------------- */

/* A random permutation of 0..n-1 from gen, into a new array. */
static int64_t *random_permutation(int64_t n, ct_generator *gen) {
    int64_t *perm = malloc(sizeof *perm * (size_t)(n > 0 ? n : 1));
    ct_tensor *t = perm ? ct_randperm(n, CT_INT64, CT_DEVICE_CPU, gen) : NULL;
    if (!perm) CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory for a permutation of %lld", (long long)n);
    if (!t || ct_copy_to_buffer(t, perm, sizeof *perm * (size_t)n) != CT_OK) {
        free(perm);
        perm = NULL;
    }
    ct_release(t);
    return perm;
}

static ct_status check_split_lengths(const ct_dataset *ds, int n, const int64_t *lengths, int64_t *total) {
    if (!ds) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'ds' is NULL");
    if (n < 1 || !lengths) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "expected at least one length");
    int64_t len, sum = 0;
    ct_status st = ct_dataset_len(ds, &len);
    if (st != CT_OK) return st;
    for (int k = 0; k < n; k++) {
        if (lengths[k] < 0)
            return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "lengths[%d] is negative (%lld)", k, (long long)lengths[k]);
        sum += lengths[k];
    }
    if (sum != len)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                       "Sum of input lengths does not equal the length of the input dataset! (%lld vs %lld)",
                       (long long)sum, (long long)len);
    *total = len;
    return CT_OK;
}

ct_status ct_random_split(ct_dataset *ds, int n, const int64_t *lengths, ct_generator *gen, ct_dataset **out) {
    int64_t total = 0;
    ct_status st = check_split_lengths(ds, n, lengths, &total);
    if (st != CT_OK) return st;
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'out' is NULL");
    int64_t *perm = random_permutation(total, gen);
    if (!perm) return ct_last_status();
    int64_t offset = 0;
    int made = 0;
    for (; made < n; offset += lengths[made], made++) {
        out[made] = ct_subset(ds, lengths[made], perm + offset);
        if (!out[made]) break;
    }
    free(perm);
    if (made == n) return CT_OK;
    st = ct_last_status();
    for (int k = 0; k < made; k++) ct_dataset_release(out[k]), out[k] = NULL;
    return st;
}

ct_status ct_random_split_fractions(ct_dataset *ds, int n, const double *fractions, ct_generator *gen,
                                    ct_dataset **out) {
    if (!ds) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'ds' is NULL");
    if (n < 1 || !fractions) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "expected at least one fraction");
    int64_t len;
    ct_status st = ct_dataset_len(ds, &len);
    if (st != CT_OK) return st;
    double sum = 0;
    for (int k = 0; k < n; k++) {
        if (!(fractions[k] >= 0 && fractions[k] <= 1))
            return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "Fraction at index %d is not between 0 and 1", k);
        sum += fractions[k];
    }
    if (!(fabs(sum - 1) <= 1e-9 && sum <= 1)) /* math.isclose(sum, 1) and sum <= 1, as PyTorch */
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "fractions should add up to 1, but they add up to %.17g", sum);
    int64_t *lengths = malloc(sizeof *lengths * (size_t)n), assigned = 0;
    if (!lengths) return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
    for (int k = 0; k < n; k++) assigned += lengths[k] = (int64_t)floor((double)len * fractions[k]);
    for (int64_t i = 0; i < len - assigned; i++) lengths[i % n]++; /* the remainder, round-robin */
    st = ct_random_split(ds, n, lengths, gen, out);
    free(lengths);
    return st;
}
