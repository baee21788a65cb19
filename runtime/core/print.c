/* PyTorch's tensor repr: the same number formats (integer-valued floats as "1.", fixed "%.4f", or scientific
 * "%.4e" when magnitudes span more than 1000x or leave [1e-4, 1e8]), one common width, rows wrapped at 80 columns,
 * edges of 3 items per dim when over 1000 elements, and the dtype/device/requires_grad suffix. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_iter.h"
#include "internal.h"

#define EDGE 3
#define SUMMARY_THRESHOLD 1000
#define LINE_WIDTH 80

typedef struct {
    char *s;
    size_t len, cap;
    bool failed;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
    if (t->failed) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->failed = true;
            return;
        }
        t->s = s, t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

typedef struct {
    const char *data; /* contiguous CPU copy */
    ct_dtype dtype;
    int ndim;
    const int64_t *shape;
    bool summarize;
    enum { INTS, BOOLS, FLOAT_INT_MODE, FLOAT_FIXED, FLOAT_SCI } mode;
    int width, indent;
    double stat_max, stat_min; /* of the finite nonzero magnitudes displayed */
    bool stat_all_int, stat_any;
} printer;

static void format_value(const printer *p, int64_t flat, char *buf, size_t size) {
    ct__scalar v = ct__load_scalar(p->data + (size_t)flat * ct_dtype_size(p->dtype), p->dtype);
    if (p->mode == INTS) {
        snprintf(buf, size, "%lld", (long long)v.i);
    } else if (p->mode == BOOLS) {
        snprintf(buf, size, "%s", v.i ? "True" : "False");
    } else if (isnan(v.f)) {
        snprintf(buf, size, "nan");
    } else if (isinf(v.f)) {
        snprintf(buf, size, v.f > 0 ? "inf" : "-inf");
    } else if (p->mode == FLOAT_INT_MODE) {
        snprintf(buf, size, "%.0f.", v.f);
    } else if (p->mode == FLOAT_FIXED) {
        snprintf(buf, size, "%.4f", v.f);
    } else {
        snprintf(buf, size, "%.4e", v.f);
    }
}

/* Calls visit for every element that is displayed (all, or the edges when summarising). */
static void for_displayed(const printer *p, int dim, int64_t flat, void (*visit)(printer *, int64_t), printer *ctx) {
    if (dim == p->ndim) {
        visit(ctx, flat);
        return;
    }
    int64_t n = p->shape[dim];
    int64_t inner = ct__shape_numel(p->ndim - dim - 1, p->shape + dim + 1);
    for (int64_t i = 0; i < n; i++) {
        if (p->summarize && n > 2 * EDGE && i == EDGE) i = n - EDGE;
        for_displayed(p, dim + 1, flat + i * inner, visit, ctx);
    }
}

static void gather_stats(printer *p, int64_t flat) {
    double f = ct__load_scalar(p->data + (size_t)flat * ct_dtype_size(p->dtype), p->dtype).f;
    if (!isfinite(f)) return;
    if (f != nearbyint(f)) p->stat_all_int = false;
    double a = fabs(f);
    if (a == 0) return;
    if (!p->stat_any || a > p->stat_max) p->stat_max = a;
    if (!p->stat_any || a < p->stat_min) p->stat_min = a;
    p->stat_any = true;
}

/* PyTorch measures integers over all values, floats over the nonzero finite ones only (so nan/inf/0 do not widen). */
static void measure_width(printer *p, int64_t flat) {
    if (p->mode != INTS && p->mode != BOOLS) {
        double f = ct__load_scalar(p->data + (size_t)flat * ct_dtype_size(p->dtype), p->dtype).f;
        if (!isfinite(f) || f == 0) return;
    }
    char buf[64];
    format_value(p, flat, buf, sizeof buf);
    int w = (int)strlen(buf);
    if (w > p->width) p->width = w;
}

static void choose_format(printer *p) {
    if (p->dtype == CT_BOOL) {
        p->mode = BOOLS;
    } else if (!ct_dtype_is_floating(p->dtype)) {
        p->mode = INTS;
    } else {
        p->stat_all_int = true, p->stat_any = false;
        for_displayed(p, 0, 0, gather_stats, p);
        if (p->stat_all_int)
            p->mode = p->stat_any && (p->stat_max / p->stat_min > 1000 || p->stat_max > 1e8) ? FLOAT_SCI
                                                                                               : FLOAT_INT_MODE;
        else
            p->mode = p->stat_any && (p->stat_max / p->stat_min > 1000 || p->stat_max > 1e8 || p->stat_min < 1e-4) ? FLOAT_SCI
                                                                                                  : FLOAT_FIXED;
    }
    p->width = 1;
    for_displayed(p, 0, 0, measure_width, p);
}

static void print_dim(const printer *p, text *out, int dim, int64_t flat) {
    char buf[64];
    if (dim == p->ndim) {
        format_value(p, flat, buf, sizeof buf);
        put(out, "%*s", p->width, buf);
        return;
    }
    put(out, "[");
    int64_t n = p->shape[dim];
    int64_t inner = ct__shape_numel(p->ndim - dim - 1, p->shape + dim + 1);
    bool last = dim == p->ndim - 1;
    int per_line = (LINE_WIDTH - p->indent - dim) / (p->width + 2); /* " ..." counts as an element */
    if (per_line < 1) per_line = 1;
    int on_line = 0;
    for (int64_t i = 0; i < n; i++) {
        bool skip = p->summarize && n > 2 * EDGE && i == EDGE;
        if (i > 0) {
            if (last && on_line < per_line) {
                put(out, ", ");
            } else {
                put(out, ",");
                for (int k = 0; k < (last ? 1 : p->ndim - dim - 1); k++) put(out, "\n");
                put(out, "%*s", p->indent + dim + 1, "");
                on_line = 0;
            }
        }
        if (skip) {
            put(out, last ? " ..." : "...");
            i = n - EDGE - 1;
            on_line++;
            continue;
        }
        print_dim(p, out, dim + 1, flat + i * inner);
        on_line++;
    }
    put(out, "]");
}

char *ct_tensor_repr(const ct_tensor *t) {
    if (CT_CHECK_TENSOR(t) != CT_OK) return NULL;
    if (t->dtype >= CT_FLOAT16) {
        CT_FAIL(CT_ERR_NOT_IMPLEMENTED, "printing %s tensors is not supported yet", ct_dtype_name(t->dtype));
        return NULL;
    }
    ct_tensor *host = ct_contiguous(t); /* on the CPU */
    if (host && t->storage->device.type != CT_CPU) {
        ct_tensor *h = ct_to_device(host, CT_DEVICE_CPU);
        ct_release(host);
        host = h;
    }
    if (!host) return NULL;
    text out = {0};
    const char *prefix = "tensor(";
    printer p = {ct_data_ptr(host), t->dtype, t->ndim, t->shape, ct_numel(t) > SUMMARY_THRESHOLD, INTS, 0,
                 (int)strlen(prefix), 0, 0, true, false};
    put(&out, "%s", prefix);
    bool empty = ct_numel(t) == 0;
    if (empty) {
        put(&out, "[]");
        if (t->ndim != 1) {
            put(&out, ", size=(");
            for (int i = 0; i < t->ndim; i++) put(&out, i ? ", %lld" : "%lld", (long long)t->shape[i]);
            put(&out, t->ndim == 1 ? ",)" : ")");
        }
    } else {
        choose_format(&p);
        print_dim(&p, &out, 0, 0);
    }
    ct_release(host);
    bool default_dtype = t->dtype == CT_FLOAT32 || t->dtype == CT_INT64 || t->dtype == CT_BOOL;
    if (!default_dtype || (empty && t->dtype != CT_FLOAT32)) put(&out, ", dtype=torch.%s", ct_dtype_name(t->dtype));
    if (t->storage->device.type == CT_CUDA) put(&out, ", device='cuda:%d'", t->storage->device.index);
    if (t->requires_grad) put(&out, ", requires_grad=True");
    put(&out, ")");
    if (out.failed) {
        free(out.s);
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory formatting a tensor");
        return NULL;
    }
    return out.s;
}

ct_status ct_print(const ct_tensor *t) {
    char *s = ct_tensor_repr(t);
    if (!s) return ct_last_status();
    puts(s);
    free(s);
    return CT_OK;
}
