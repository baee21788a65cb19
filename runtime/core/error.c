/* The thread-local error state behind ct_last_error() (DESIGN.md decision 1). */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static _Thread_local ct_status last_status = CT_OK;
static _Thread_local char last_message[1024];

ct_status ct__error(ct_status status, const char *func, const char *fmt, ...) {
    int n = snprintf(last_message, sizeof last_message, "%s: ", func);
    if (n < 0 || (size_t)n >= sizeof last_message) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message + n, sizeof last_message - (size_t)n, fmt, ap);
    va_end(ap);
    last_status = status;
    return status;
}

ct_status ct__check_tensor(const ct_tensor *t, const char *func, const char *arg) {
    if (t) return CT_OK;
    if (last_status != CT_OK) return last_status;
    return ct__error(CT_ERR_INVALID_ARGUMENT, func, "argument '%s' is NULL", arg);
}

ct_status ct__wrap_dim(int dim, int ndim, const char *func, int *out) {
    int n = ndim > 0 ? ndim : 1; /* a 0-d tensor accepts dims -1 and 0, as PyTorch */
    if (dim < -n || dim >= n)
        return ct__error(CT_ERR_INDEX, func, "Dimension out of range (expected to be in range of [%d, %d], but got %d)",
                         -n, n - 1, dim);
    *out = dim < 0 ? dim + n : dim;
    return CT_OK;
}

const char *ct__shape_str(int ndim, const int64_t *shape, char *buf, size_t size) {
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

const char *ct_last_error(void) { return last_status == CT_OK ? "" : last_message; }
ct_status ct_last_status(void) { return last_status; }
void ct_clear_error(void) {
    last_status = CT_OK;
    last_message[0] = '\0';
}

const char *ct_status_name(ct_status status) {
    static const char *const names[] = {
        "CT_OK",        "CT_ERR_INVALID_ARGUMENT", "CT_ERR_SHAPE",     "CT_ERR_INDEX",  "CT_ERR_DTYPE",
        "CT_ERR_DEVICE", "CT_ERR_NO_CUDA",         "CT_ERR_CUDA",      "CT_ERR_OUT_OF_MEMORY",
        "CT_ERR_IO",    "CT_ERR_FORMAT",           "CT_ERR_STATE",     "CT_ERR_NOT_IMPLEMENTED",
        "CT_ERR_INTERNAL"};
    if ((int)status < 0 || (size_t)status >= sizeof names / sizeof names[0]) return "CT_ERR_UNKNOWN";
    return names[status];
}
