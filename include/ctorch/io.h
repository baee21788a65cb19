/* ctorch/io.h: reading data files into tensors: IDX (the MNIST format, plain or gzip) and CSV of numbers.
 *
 * Readers validate everything before they trust it and never crash on a bad file: a wrong magic number, an unknown
 * type code, a dims count out of range, sizes that disagree with the file's length, a truncated or corrupt gzip
 * stream all give CT_ERR_FORMAT (or CT_ERR_IO when the file cannot be opened or read), with a message naming the
 * file and what is wrong. Tensors returned are new CPU tensors, owned as tensor.h says (the innermost scope, or
 * the caller). Datasets built from these files (MNIST, Fashion-MNIST, CSV) are in data.h. */
#ifndef CTORCH_IO_H
#define CTORCH_IO_H

#include <stdbool.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- IDX -------------------------------------------------------------------------------------------------------- */

/* Reads an IDX file: 2 zero bytes, a type code, a dims count, the dims as big-endian 32-bit integers, then the
 * values big-endian in row-major order. Gzip-compressed files (as distributed: "train-images-idx3-ubyte.gz") are
 * recognised by their magic bytes and inflated through zlib.
 * Type codes and the dtypes they give: 0x08 unsigned byte -> uint8, 0x09 signed byte -> int32, 0x0B short -> int32
 * (ctorch has no int8 or int16), 0x0C int -> int32, 0x0D float -> float32, 0x0E double -> float64.
 * Errors: CT_ERR_IO (cannot open or read), CT_ERR_FORMAT (bad magic, unknown type code, 0 or more than CT_MAX_DIMS
 * dims, data shorter or longer than the dims say, corrupt gzip), CT_ERR_OUT_OF_MEMORY. */
ct_tensor *ct_idx_read(const char *path);

/* Writes t (uint8, int32, float32 or float64; at least 1 dim) as an IDX file, gzip-compressed when gzip is true.
 * Errors: CT_ERR_DTYPE (no IDX type code for t's dtype), CT_ERR_SHAPE (0-d, or a dim above 2^32-1), CT_ERR_IO. */
ct_status ct_idx_write(const char *path, const ct_tensor *t, bool gzip);

/* ---- CSV -------------------------------------------------------------------------------------------------------- */

typedef struct ct_csv_options {
    char delimiter; /* 0: ',' */
    bool header;    /* skip the first non-empty line */
    ct_dtype dtype; /* float32 (the zero value), float64, int64 or int32 */
} ct_csv_options;

/* Reads a CSV file of numbers into a (rows, columns) tensor. Empty lines are skipped; fields may have spaces around
 * them; "\r\n" line ends are accepted. options may be NULL (defaults). For an integer dtype every value must be a
 * whole number. Errors: CT_ERR_IO, CT_ERR_FORMAT (a field that is not a number, or a row whose number of fields
 * differs from the first row's; the message gives the line and column), CT_ERR_DTYPE. */
ct_tensor *ct_csv_read(const char *path, const ct_csv_options *options);

#ifdef __cplusplus
}
#endif
#endif
