/* Datasets made from data files: MNIST-style IDX pairs (Fashion-MNIST found by default where Debian's
 * dataset-fashion-mnist package installs it) and CSV files with a label column. Each is a TensorDataset over
 * tensors read whole into memory; images get a channel dim and labels become int64, as torchvision gives them. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "data/data_internal.h"

/* Checks that t (read from path) is a uint8 tensor of ndim dims. */
static ct_status check_idx_kind(const ct_tensor *t, const char *path, int ndim, const char *what) {
    if (ct_tensor_dtype(t) == CT_UINT8 && ct_dim(t) == ndim) return CT_OK;
    char s[CT_SHAPE_BUF];
    return CT_FAIL(CT_ERR_FORMAT, "'%s' holds a %s tensor of shape %s, expected %s", path,
                   ct_dtype_name(ct_tensor_dtype(t)), ct__shape_str(ct_dim(t), ct_shape(t), s, sizeof s), what);
}

ct_dataset *ct_mnist_dataset(const char *images_path, const char *labels_path) {
    if (!images_path || !labels_path) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument '%s' is NULL", images_path ? "labels_path" : "images_path");
        return NULL;
    }
    ct_tensor *images = ct_idx_read(images_path), *labels = images ? ct_idx_read(labels_path) : NULL;
    ct_tensor *channels = NULL, *targets = NULL;
    ct_dataset *ds = NULL;
    if (!labels || check_idx_kind(images, images_path, 3, "uint8 images (N, H, W)") != CT_OK ||
        check_idx_kind(labels, labels_path, 1, "uint8 labels (N)") != CT_OK)
        goto done;
    if (ct_size(images, 0) != ct_size(labels, 0)) {
        CT_FAIL(CT_ERR_FORMAT, "'%s' has %lld images but '%s' has %lld labels", images_path,
                (long long)ct_size(images, 0), labels_path, (long long)ct_size(labels, 0));
        goto done;
    }
    channels = ct_unsqueeze(images, 1); /* (N, 1, H, W) */
    targets = ct_to_dtype(labels, CT_INT64);
    if (channels && targets) ds = ct_tensor_dataset(2, (ct_tensor *[]){channels, targets});
done:
    ct_release(images), ct_release(labels), ct_release(channels), ct_release(targets);
    return ds;
}

/* dir/name or dir/name.gz, whichever exists, into path. */
static ct_status find_file(const char *dir, const char *name, char *path, size_t size) {
    snprintf(path, size, "%s/%s", dir, name);
    if (access(path, R_OK) == 0) return CT_OK;
    snprintf(path, size, "%s/%s.gz", dir, name);
    if (access(path, R_OK) == 0) return CT_OK;
    return ct__error(CT_ERR_IO, "ct_fashion_mnist",
                     "no file '%s' or '%s.gz' in '%s' (install Debian's dataset-fashion-mnist package, or pass the "
                     "directory that holds the files)", name, name, dir);
}

ct_dataset *ct_fashion_mnist(const char *root, bool train) {
    const char *dir = root ? root : CT_FASHION_MNIST_DEFAULT_ROOT, *split = train ? "train" : "t10k";
    char images_name[64], labels_name[64], images[4096], labels[4096];
    snprintf(images_name, sizeof images_name, "%s-images-idx3-ubyte", split);
    snprintf(labels_name, sizeof labels_name, "%s-labels-idx1-ubyte", split);
    if (find_file(dir, images_name, images, sizeof images) != CT_OK ||
        find_file(dir, labels_name, labels, sizeof labels) != CT_OK)
        return NULL;
    return ct_mnist_dataset(images, labels);
}

/* The columns of data other than `skip`, as a new (rows, cols - 1) tensor of dtype. */
static ct_tensor *without_column(const ct_tensor *data, int64_t skip, ct_dtype dtype) {
    int64_t rows = ct_size(data, 0), cols = ct_size(data, 1), shape[2] = {rows, cols - 1};
    ct_tensor *out = ct_empty(2, shape, dtype, CT_DEVICE_CPU);
    int64_t spans[2][3] = {{0, 0, skip}, {skip + 1, skip, cols - skip - 1}}; /* from, to, width */
    for (int i = 0; out && i < 2; i++) {
        if (spans[i][2] == 0) continue;
        ct_tensor *src = ct_narrow(data, 1, spans[i][0], spans[i][2]), *dst = ct_narrow(out, 1, spans[i][1], spans[i][2]);
        ct_status st = src && dst ? ct_copy_(dst, src) : ct_last_status();
        ct_release(src), ct_release(dst);
        if (st != CT_OK) ct_release(out), out = NULL;
    }
    return out;
}

/* Column `col` of data as a (rows,) tensor of dtype; integer dtypes need whole numbers. */
static ct_tensor *label_column_of(const ct_tensor *data, int64_t col, ct_dtype dtype, const char *path) {
    ct_tensor *column = ct_select(data, 1, col), *dense = column ? ct_contiguous(column) : NULL, *out = NULL;
    if (dense && !ct_dtype_is_floating(dtype)) {
        const double *v = ct_data_ptr(dense);
        for (int64_t i = 0; i < ct_numel(dense); i++)
            if (v[i] != floor(v[i]) || !(fabs(v[i]) < 0x1p63)) {
                CT_FAIL(CT_ERR_FORMAT, "'%s': label %g in data row %lld is not a whole number, as %s labels need", path,
                        v[i], (long long)i + 1, ct_dtype_name(dtype));
                goto done;
            }
    }
    if (dense) out = ct_to_dtype(dense, dtype);
done:
    ct_release(column), ct_release(dense);
    return out;
}

ct_dataset *ct_csv_dataset(const char *path, const ct_csv_options *options, int label_column, ct_dtype label_dtype) {
    ct_csv_options o = options ? *options : (ct_csv_options){0};
    ct_dtype feature_dtype = o.dtype;
    o.dtype = CT_FLOAT64; /* read exactly, convert each part afterwards */
    ct_tensor *data = ct_csv_read(path, &o), *features = NULL, *labels = NULL;
    ct_dataset *ds = NULL;
    if (!data) return NULL;
    int64_t cols = ct_size(data, 1), col = label_column < 0 ? label_column + cols : label_column;
    if (cols < 2 || col < 0 || col >= cols) {
        CT_FAIL(CT_ERR_INDEX, "label column %d is out of range for '%s' with %lld columns (a label and at least one "
                              "feature needed)", label_column, path, (long long)cols);
        goto done;
    }
    features = without_column(data, col, feature_dtype);
    labels = features ? label_column_of(data, col, label_dtype, path) : NULL;
    if (labels) ds = ct_tensor_dataset(2, (ct_tensor *[]){features, labels});
done:
    ct_release(data), ct_release(features), ct_release(labels);
    return ds;
}
