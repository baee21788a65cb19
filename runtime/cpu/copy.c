/* CPU copy (with dtype conversion and broadcasting) and fill kernels. */
#include <string.h>

#include "cpu_iter.h"

static void copy_same_dtype(char **ptr, const int64_t *step, int64_t n, void *ctx) {
    size_t size = *(const size_t *)ctx;
    char *d = ptr[0];
    const char *s = ptr[1];
    if (step[0] == (int64_t)size && step[1] == (int64_t)size) {
        memcpy(d, s, (size_t)n * size);
        return;
    }
    switch (size) {
    case 8:
        for (int64_t i = 0; i < n; i++) *(uint64_t *)(d + i * step[0]) = *(const uint64_t *)(s + i * step[1]);
        break;
    case 4:
        for (int64_t i = 0; i < n; i++) *(uint32_t *)(d + i * step[0]) = *(const uint32_t *)(s + i * step[1]);
        break;
    case 2:
        for (int64_t i = 0; i < n; i++) *(uint16_t *)(d + i * step[0]) = *(const uint16_t *)(s + i * step[1]);
        break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(d + i * step[0], s + i * step[1], size);
    }
}

typedef struct {
    ct_dtype dst, src;
} convert_ctx;

static void copy_convert(char **ptr, const int64_t *step, int64_t n, void *ctx) {
    const convert_ctx *c = ctx;
    if (c->dst == CT_FLOAT32 && c->src == CT_FLOAT64) {
        for (int64_t i = 0; i < n; i++) *(float *)(ptr[0] + i * step[0]) = (float)*(const double *)(ptr[1] + i * step[1]);
        return;
    }
    if (c->dst == CT_FLOAT64 && c->src == CT_FLOAT32) {
        for (int64_t i = 0; i < n; i++) *(double *)(ptr[0] + i * step[0]) = *(const float *)(ptr[1] + i * step[1]);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        ct__store_scalar(ptr[0] + i * step[0], c->dst, ct__load_scalar(ptr[1] + i * step[1], c->src));
}

ct_status ct__cpu_copy(ct__view dst, ct__view src) {
    ct__view views[2] = {dst, src};
    if (dst.dtype == src.dtype && dst.dtype != CT_BOOL) {
        size_t size = ct_dtype_size(dst.dtype);
        ct__cpu_for_each(2, views, copy_same_dtype, &size);
    } else {
        convert_ctx c = {dst.dtype, src.dtype};
        ct__cpu_for_each(2, views, copy_convert, &c);
    }
    return CT_OK;
}

static void fill_loop(char **ptr, const int64_t *step, int64_t n, void *ctx) {
    const unsigned char *value = ctx; /* the value's bytes in the dtype, then its size at [15] */
    size_t size = value[15];
    for (int64_t i = 0; i < n; i++) memcpy(ptr[0] + i * step[0], value, size);
}

ct_status ct__cpu_fill(ct__view dst, double value) {
    unsigned char bytes[16] = {0};
    ct__store_scalar(bytes, dst.dtype, (ct__scalar){true, value, 0});
    bytes[15] = (unsigned char)ct_dtype_size(dst.dtype);
    ct__cpu_for_each(1, &dst, fill_loop, bytes);
    return CT_OK;
}
