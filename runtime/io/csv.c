/* CSV files of numbers read into a (rows, columns) tensor. The file is read whole, parsed line by line with
 * strtod, and every problem is reported with the file, line and column: a field that is not a number, an empty
 * field, a row with a different number of fields, a fraction where an integer dtype wants whole numbers. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "ctorch/io.h"

/* The whole file as a NUL-terminated string (the caller frees it). */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        CT_FAIL(CT_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    bool failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        free(buf);
        CT_FAIL(failed ? CT_ERR_IO : CT_ERR_OUT_OF_MEMORY, "%s '%s'", failed ? "error reading" : "out of memory reading",
                path);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

typedef struct {
    double *values;
    int64_t count, cap, rows, cols;
} table;

static bool append(table *t, double v) {
    if (t->count == t->cap) {
        int64_t cap = t->cap ? t->cap * 2 : 1024;
        double *values = realloc(t->values, sizeof *values * (size_t)cap);
        if (!values) return false;
        t->values = values;
        t->cap = cap;
    }
    t->values[t->count++] = v;
    return true;
}

typedef struct {
    const char *path;
    char delimiter;
    bool integral;
    int64_t line;
} parse_ctx;

/* Parses one field [start, end) of a line. */
static ct_status parse_field(const parse_ctx *p, char *start, char *end, int64_t col, table *t) {
    while (start < end && isspace((unsigned char)*start)) start++;
    while (end > start && isspace((unsigned char)end[-1])) end--;
    char saved = *end, *stop;
    *end = '\0';
    errno = 0;
    double v = strtod(start, &stop);
    bool ok = start < end && stop == end;
    ct_status st = CT_OK;
    if (!ok)
        st = CT_FAIL(CT_ERR_FORMAT, "'%s' line %lld, column %lld: %s%s%s is not a number", p->path, (long long)p->line,
                     (long long)col + 1, start < end ? "'" : "", start < end ? start : "an empty field", start < end ? "'" : "");
    else if (p->integral && (v != floor(v) || !isfinite(v)))
        st = CT_FAIL(CT_ERR_FORMAT, "'%s' line %lld, column %lld: %s is not a whole number, as an integer dtype needs",
                     p->path, (long long)p->line, (long long)col + 1, start);
    *end = saved;
    if (st == CT_OK && !append(t, v)) st = CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory reading '%s'", p->path);
    return st;
}

/* Parses one non-empty line into the table. */
static ct_status parse_line(const parse_ctx *p, char *line, char *end, table *t) {
    int64_t col = 0;
    for (char *start = line;; col++) {
        char *stop = memchr(start, p->delimiter, (size_t)(end - start));
        ct_status st = parse_field(p, start, stop ? stop : end, col, t);
        if (st != CT_OK) return st;
        if (!stop) break;
        start = stop + 1;
    }
    if (t->rows == 0) t->cols = col + 1;
    else if (col + 1 != t->cols)
        return CT_FAIL(CT_ERR_FORMAT, "'%s' line %lld has %lld fields, but the first row has %lld", p->path,
                       (long long)p->line, (long long)col + 1, (long long)t->cols);
    t->rows++;
    return CT_OK;
}

static bool blank(const char *s, const char *end) {
    for (; s < end; s++)
        if (!isspace((unsigned char)*s)) return false;
    return true;
}

static ct_status parse(const parse_ctx *base, char *text, bool header, table *t) {
    parse_ctx p = *base;
    bool skip = header;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n'), *end = nl ? nl : line + strlen(line);
        p.line++;
        if (end > line && end[-1] == '\r') end--;
        if (!blank(line, end)) {
            if (skip) skip = false;
            else {
                ct_status st = parse_line(&p, line, end, t);
                if (st != CT_OK) return st;
            }
        }
        if (!nl) break;
        line = nl + 1;
    }
    return CT_OK;
}

ct_tensor *ct_csv_read(const char *path, const ct_csv_options *options) {
    static const ct_csv_options defaults;
    const ct_csv_options *o = options ? options : &defaults;
    if (!path) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'path' is NULL");
        return NULL;
    }
    if (o->dtype != CT_FLOAT32 && o->dtype != CT_FLOAT64 && o->dtype != CT_INT64 && o->dtype != CT_INT32) {
        CT_FAIL(CT_ERR_DTYPE, "CSV values can be read as float32, float64, int64 or int32, not %s", ct_dtype_name(o->dtype));
        return NULL;
    }
    char *text = slurp(path);
    if (!text) return NULL;
    parse_ctx p = {path, o->delimiter ? o->delimiter : ',', !ct_dtype_is_floating(o->dtype), 0};
    table t = {0};
    ct_tensor *out = NULL;
    if (parse(&p, text, o->header, &t) == CT_OK) {
        int64_t shape[2] = {t.rows, t.cols};
        ct_tensor *f64 = ct_tensor_from_data(t.values, 2, shape, CT_FLOAT64, CT_DEVICE_CPU);
        out = f64 ? ct_to_dtype(f64, o->dtype) : NULL;
        ct_release(f64);
    }
    free(t.values);
    free(text);
    return out;
}
