/* IDX files (the MNIST format: http://yann.lecun.com/exdb/mnist/), plain or gzip-compressed, read into tensors
 * and written from them. zlib's gz* functions read both kinds (a plain file passes through untouched). Every field
 * of the header is checked against the file before anything is allocated: a plain file's data must be exactly
 * as long as its dims say; a gzip file's declared size must fit in what its compressed bytes can inflate to
 * (deflate expands at most 1032:1), and the stream must end where the data ends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/internal.h"
#include "ctorch/io.h"

#define CHUNK (1u << 30) /* gzread and gzwrite take an unsigned count */
#define DEFLATE_MAX_RATIO 1032

typedef struct {
    unsigned char code;
    ct_dtype dtype;
    int size; /* bytes per value in the file */
} idx_type;

static const idx_type idx_types[] = {
    {0x08, CT_UINT8, 1}, {0x09, CT_INT32, 1},   {0x0B, CT_INT32, 2},
    {0x0C, CT_INT32, 4}, {0x0D, CT_FLOAT32, 4}, {0x0E, CT_FLOAT64, 8},
};

static const idx_type *type_of_code(unsigned char code) {
    for (size_t i = 0; i < sizeof idx_types / sizeof idx_types[0]; i++)
        if (idx_types[i].code == code) return &idx_types[i];
    return NULL;
}

/* ---- reading -------------------------------------------------------------------------------------------------------- */

/* Reads up to n bytes; returns how many, or -1 on a read or inflate error (the message in *why). */
static int64_t read_bytes(gzFile gz, void *buf, int64_t n, const char **why) {
    int64_t done = 0;
    while (done < n) {
        unsigned want = n - done < CHUNK ? (unsigned)(n - done) : CHUNK;
        int got = gzread(gz, (char *)buf + done, want);
        if (got < 0) {
            int code;
            *why = gzerror(gz, &code);
            return -1;
        }
        if (got == 0) break;
        done += got;
    }
    return done;
}

/* Reports a short or failed read of `what` in path. */
static ct_status read_failure(const char *path, int64_t got, int64_t want, const char *why, const char *what) {
    if (got < 0) return CT_FAIL(CT_ERR_FORMAT, "'%s' is corrupt: %s (while reading %s)", path, why, what);
    return CT_FAIL(CT_ERR_FORMAT, "'%s' is truncated: %s needs %lld bytes, only %lld are there", path, what,
                   (long long)want, (long long)got);
}

typedef struct {
    const idx_type *type;
    int ndim;
    int64_t shape[CT_MAX_DIMS];
    int64_t data_bytes, header_bytes;
} idx_header;

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads and checks the magic number and the dims. */
static ct_status read_header(gzFile gz, const char *path, idx_header *h) {
    unsigned char magic[4], dims[4 * CT_MAX_DIMS];
    const char *why = "";
    int64_t got = read_bytes(gz, magic, 4, &why);
    if (got != 4) return read_failure(path, got, 4, why, "the magic number");
    if (magic[0] || magic[1])
        return CT_FAIL(CT_ERR_FORMAT, "'%s' is not an IDX file: its magic number 0x%02X%02X%02X%02X does not start "
                                      "with two zero bytes", path, magic[0], magic[1], magic[2], magic[3]);
    if (!(h->type = type_of_code(magic[2])))
        return CT_FAIL(CT_ERR_FORMAT, "'%s' has an unknown IDX type code 0x%02X (known: 0x08 unsigned byte, 0x09 "
                                      "signed byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double)", path, magic[2]);
    h->ndim = magic[3];
    if (h->ndim < 1 || h->ndim > CT_MAX_DIMS)
        return CT_FAIL(CT_ERR_FORMAT, "'%s' declares %d dims (1 to %d supported)", path, h->ndim, CT_MAX_DIMS);
    got = read_bytes(gz, dims, 4 * h->ndim, &why);
    if (got != 4 * h->ndim) return read_failure(path, got, 4 * h->ndim, why, "the dims");
    int64_t numel = 1, limit = INT64_MAX / 16;
    for (int i = 0; i < h->ndim; i++) {
        h->shape[i] = be32(dims + 4 * i);
        if (h->shape[i] > 0 && numel > limit / h->shape[i])
            return CT_FAIL(CT_ERR_FORMAT, "'%s' declares dims whose product overflows (dim %d is %lld)", path, i,
                           (long long)h->shape[i]);
        numel *= h->shape[i];
    }
    h->data_bytes = numel * h->type->size;
    h->header_bytes = 4 + 4 * (int64_t)h->ndim;
    return CT_OK;
}

/* Checks the declared data size against the file's size, before anything is allocated for it. */
static ct_status check_size(const char *path, const idx_header *h, int64_t file_bytes, bool plain) {
    char dims[CT_SHAPE_BUF];
    ct__shape_str(h->ndim, h->shape, dims, sizeof dims);
    if (plain && file_bytes - h->header_bytes < h->data_bytes)
        return CT_FAIL(CT_ERR_FORMAT, "'%s' is truncated: dims %s need %lld bytes of data after the %lld-byte header, "
                                      "but the file has %lld", path, dims, (long long)h->data_bytes,
                       (long long)h->header_bytes, (long long)(file_bytes - h->header_bytes));
    if (plain && file_bytes - h->header_bytes > h->data_bytes)
        return CT_FAIL(CT_ERR_FORMAT, "'%s' has %lld bytes after the %lld bytes of data that dims %s describe", path,
                       (long long)(file_bytes - h->header_bytes - h->data_bytes), (long long)h->data_bytes, dims);
    if (!plain && h->data_bytes / DEFLATE_MAX_RATIO > file_bytes)
        return CT_FAIL(CT_ERR_FORMAT, "'%s' declares dims %s (%lld bytes of data), more than its %lld compressed "
                                      "bytes can hold", path, dims, (long long)h->data_bytes, (long long)file_bytes);
    return CT_OK;
}

/* Converts n big-endian values of the file's type from raw into t's dtype. */
static void convert(const idx_type *type, const unsigned char *raw, int64_t n, void *out) {
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *p = raw + i * type->size;
        uint32_t u = type->size == 4 ? be32(p) : 0;
        switch (type->code) {
        case 0x09: ((int32_t *)out)[i] = (int8_t)p[0]; break;
        case 0x0B: ((int32_t *)out)[i] = (int16_t)(uint16_t)(p[0] << 8 | p[1]); break;
        case 0x0C: ((int32_t *)out)[i] = (int32_t)u; break;
        case 0x0D: memcpy((float *)out + i, &u, 4); break;
        case 0x0E: {
            uint64_t v = (uint64_t)be32(p) << 32 | be32(p + 4);
            memcpy((double *)out + i, &v, 8);
            break;
        }
        }
    }
}

/* Reads the data into a new tensor and checks that nothing follows it. */
static ct_tensor *read_data(gzFile gz, const char *path, const idx_header *h) {
    ct_tensor *t = ct__tensor_new(h->ndim, h->shape, h->type->dtype, CT_DEVICE_CPU, false);
    bool direct = h->type->size == 1 && h->type->dtype == CT_UINT8; /* bytes land where they belong */
    unsigned char *raw = !t ? NULL : direct ? ct_data_ptr(t) : malloc((size_t)(h->data_bytes ? h->data_bytes : 1));
    if (!raw) {
        if (t) CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory for the %lld bytes of '%s'", (long long)h->data_bytes, path);
        ct_release(t);
        return NULL;
    }
    const char *why = "";
    unsigned char extra;
    int64_t got = read_bytes(gz, raw, h->data_bytes, &why), more = got == h->data_bytes ? read_bytes(gz, &extra, 1, &why) : 0;
    ct_status st = CT_OK;
    if (got != h->data_bytes) st = read_failure(path, got, h->data_bytes, why, "the data");
    else if (more < 0) st = read_failure(path, -1, 0, why, "the end of the stream");
    else if (more > 0) st = CT_FAIL(CT_ERR_FORMAT, "'%s' has data after the %lld bytes its dims describe", path,
                                    (long long)h->data_bytes);
    if (st == CT_OK && !direct) convert(h->type, raw, ct_numel(t), ct_data_ptr(t));
    if (!direct) free(raw);
    if (st != CT_OK) {
        ct_release(t);
        return NULL;
    }
    return t;
}

ct_tensor *ct_idx_read(const char *path) {
    if (!path) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'path' is NULL");
        return NULL;
    }
    struct stat sb;
    gzFile gz = stat(path, &sb) == 0 ? gzopen(path, "rb") : NULL;
    if (!gz) {
        CT_FAIL(CT_ERR_IO, "cannot open '%s': %s", path, strerror(errno ? errno : ENOENT));
        return NULL;
    }
    idx_header h;
    ct_tensor *t = NULL;
    if (read_header(gz, path, &h) == CT_OK && check_size(path, &h, (int64_t)sb.st_size, gzdirect(gz)) == CT_OK)
        t = read_data(gz, path, &h);
    gzclose(gz);
    return t;
}

/* ---- writing -------------------------------------------------------------------------------------------------------- */

static ct_status check_writable(const ct_tensor *t, unsigned char *code) {
    ct_status st = CT_CHECK_TENSOR(t);
    if (st != CT_OK) return st;
    switch (ct_tensor_dtype(t)) {
    case CT_UINT8: *code = 0x08; break;
    case CT_INT32: *code = 0x0C; break;
    case CT_FLOAT32: *code = 0x0D; break;
    case CT_FLOAT64: *code = 0x0E; break;
    default: return CT_FAIL(CT_ERR_DTYPE, "IDX has no type code for %s", ct_dtype_name(ct_tensor_dtype(t)));
    }
    if (ct_dim(t) < 1) return CT_FAIL(CT_ERR_SHAPE, "IDX cannot hold a 0-d tensor");
    for (int i = 0; i < ct_dim(t); i++)
        if (ct_shape(t)[i] > (int64_t)UINT32_MAX)
            return CT_FAIL(CT_ERR_SHAPE, "dim %d of size %lld does not fit IDX's 32-bit dims", i,
                           (long long)ct_shape(t)[i]);
    return CT_OK;
}

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* The file's bytes: header, then the values big-endian. */
static unsigned char *encode(const ct_tensor *host, unsigned char code, int64_t *nbytes) {
    int nd = ct_dim(host);
    size_t es = ct_dtype_size(ct_tensor_dtype(host)), header = 4 + 4 * (size_t)nd;
    int64_t n = ct_numel(host);
    unsigned char *buf = malloc(header + (size_t)n * es);
    if (!buf) return NULL;
    buf[0] = buf[1] = 0, buf[2] = code, buf[3] = (unsigned char)nd;
    for (int i = 0; i < nd; i++) put_be32(buf + 4 + 4 * i, (uint32_t)ct_shape(host)[i]);
    const unsigned char *src = ct_data_ptr(host);
    for (int64_t i = 0; i < n; i++) {
        unsigned char *p = buf + header + (size_t)i * es;
        if (es == 1) {
            p[0] = src[i];
        } else if (es == 4) {
            uint32_t v;
            memcpy(&v, src + (size_t)i * 4, 4);
            put_be32(p, v);
        } else {
            uint64_t v;
            memcpy(&v, src + (size_t)i * 8, 8);
            put_be32(p, (uint32_t)(v >> 32));
            put_be32(p + 4, (uint32_t)v);
        }
    }
    *nbytes = (int64_t)(header + (size_t)n * es);
    return buf;
}

static ct_status write_bytes(const char *path, const unsigned char *buf, int64_t n, bool gzip) {
    gzFile gz = gzopen(path, gzip ? "wb" : "wbT"); /* T: written as it is, no compression */
    if (!gz) return CT_FAIL(CT_ERR_IO, "cannot open '%s' for writing: %s", path, strerror(errno ? errno : EIO));
    int64_t done = 0;
    while (done < n) {
        unsigned want = n - done < CHUNK ? (unsigned)(n - done) : CHUNK;
        int put = gzwrite(gz, buf + done, want);
        if (put <= 0) break;
        done += put;
    }
    int closed = gzclose(gz);
    if (done != n || closed != Z_OK) return CT_FAIL(CT_ERR_IO, "writing '%s' failed (%lld of %lld bytes)", path,
                                                     (long long)done, (long long)n);
    return CT_OK;
}

ct_status ct_idx_write(const char *path, const ct_tensor *t, bool gzip) {
    unsigned char code = 0;
    ct_status st = check_writable(t, &code);
    if (st != CT_OK) return st;
    if (!path) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'path' is NULL");
    ct_tensor *cpu = ct_to_device(t, CT_DEVICE_CPU), *host = cpu ? ct_contiguous(cpu) : NULL;
    int64_t nbytes = 0;
    unsigned char *buf = host ? encode(host, code, &nbytes) : NULL;
    if (!buf) st = host ? CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory encoding '%s'", path) : ct_last_status();
    else st = write_bytes(path, buf, nbytes, gzip);
    free(buf);
    ct_release(host);
    ct_release(cpu);
    return st;
}
