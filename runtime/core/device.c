/* Device values, their names, and whether a CUDA device can be used (DESIGN.md decisions 3 and 4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_allocator.h"
#include "internal.h"

ct_status ct_device_parse(const char *text, ct_device *out) {
    if (!text) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'text' is NULL");
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'out' is NULL");
    if (strcmp(text, "cpu") == 0) {
        *out = CT_DEVICE_CPU;
        return CT_OK;
    }
    if (strcmp(text, "cuda") == 0) {
        *out = CT_DEVICE_CUDA(0);
        return CT_OK;
    }
    if (strncmp(text, "cuda:", 5) == 0 && text[5] >= '0' && text[5] <= '9') {
        char *end;
        long n = strtol(text + 5, &end, 10);
        if (*end == '\0' && n <= 1 << 20) {
            *out = CT_DEVICE_CUDA((int)n);
            return CT_OK;
        }
    }
    return CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                   "Expected one of cpu, cuda device type at start of device string: '%s' (or 'cuda:N')", text);
}

const char *ct_device_str(ct_device device, char *buf, int size) {
    if (!buf || size <= 0) return buf;
    if (device.type == CT_CPU)
        snprintf(buf, (size_t)size, "cpu");
    else
        snprintf(buf, (size_t)size, "cuda:%d", device.index);
    return buf;
}

bool ct_device_equal(ct_device a, ct_device b) {
    return a.type == b.type && (a.type == CT_CPU || a.index == b.index);
}

bool ct_built_with_cuda(void) {
#ifdef CTORCH_HAVE_CUDA
    return true;
#else
    return false;
#endif
}

int ct_cuda_device_count(void) {
#ifdef CTORCH_HAVE_CUDA
    return ct__cuda_device_count();
#else
    return 0;
#endif
}

bool ct_cuda_is_available(void) { return ct_cuda_device_count() > 0; }

ct_status ct_device_check(ct_device device) {
    if (device.type == CT_CPU) {
        if (device.index != 0) return CT_FAIL(CT_ERR_DEVICE, "CPU device index must be 0, got %d", device.index);
        return CT_OK;
    }
    if (device.type != CT_CUDA) return CT_FAIL(CT_ERR_DEVICE, "unknown device type %d", (int)device.type);
    if (!ct_built_with_cuda())
        return CT_FAIL(CT_ERR_NO_CUDA, "Torch not compiled with CUDA enabled (ctorch was built without CUDA; cuda:%d "
                                       "was asked for)", device.index);
    int n = ct_cuda_device_count();
    if (n == 0) return CT_FAIL(CT_ERR_NO_CUDA, "no CUDA device is available (cuda:%d was asked for)", device.index);
    if (device.index < 0 || device.index >= n)
        return CT_FAIL(CT_ERR_DEVICE, "CUDA error: invalid device ordinal %d (%d device%s available)", device.index, n,
                       n == 1 ? "" : "s");
    return CT_OK;
}

ct_status ct_synchronize(ct_device device) {
    ct_status st = ct_device_check(device);
    if (st != CT_OK || device.type == CT_CPU) return st;
#ifdef CTORCH_HAVE_CUDA
    st = ct__cuda_synchronize(device.index);
    ct__pinned_poll(); /* the copies are over: pinned blocks released during them can be reused now */
    return st;
#else
    return CT_OK;
#endif
}
