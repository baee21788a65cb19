// The CUDA runtime behind runtime/core: device count, raw memory for the caching allocator, pinned host memory,
// synchronous and asynchronous copies, events that guard pinned blocks in flight, and synchronisation that reports
// the device-side error flag.
//
// The error flag: a kernel that finds bad data (an index out of range) never traps, since a trap kills the CUDA
// context; it stores a code and the offending values in this device's flag word instead, and skips the write.
// ct__cuda_synchronize reads and clears the flag, and turns it into the error PyTorch would have given.
#include <string.h>

#include "cuda_check.h"

static ct_status report_error_flag(int dev);

extern "C" int ct__cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); // clear: "no device" is an answer here, not an error
        return 0;
    }
    return n;
}

extern "C" ct_status ct__cuda_malloc_raw(int dev, size_t nbytes, void **out) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    cudaError_t err = cudaMalloc(out, nbytes);
    if (err == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        return ct__error(CT_ERR_OUT_OF_MEMORY, __func__, "CUDA out of memory: tried to allocate %zu bytes on cuda:%d",
                         nbytes, dev);
    }
    CT_CUDA_CHECK(err);
    return CT_OK;
}

extern "C" ct_status ct__cuda_free_raw(int dev, void *ptr) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    CT_CUDA_CHECK(cudaFree(ptr));
    return CT_OK;
}

extern "C" ct_status ct__cuda_host_alloc(size_t nbytes, void **out) {
    cudaError_t err = cudaMallocHost(out, nbytes);
    if (err == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        return ct__error(CT_ERR_OUT_OF_MEMORY, __func__, "out of pinned host memory: tried to allocate %zu bytes",
                         nbytes);
    }
    CT_CUDA_CHECK(err);
    return CT_OK;
}

extern "C" ct_status ct__cuda_host_free(void *ptr) {
    CT_CUDA_CHECK(cudaFreeHost(ptr));
    return CT_OK;
}

extern "C" ct_status ct__cuda_memcpy(int dev, void *dst, const void *src, size_t nbytes, ct__memcpy_kind kind) {
    static const cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice,
                                           cudaMemcpyHostToHost};
    if (nbytes == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    CT_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, kinds[kind]));
    return kind == CT__D2H ? report_error_flag(dev) : CT_OK; // reading results back synchronises: report bad data
}

// ---- asynchronous copies and the events that guard their pinned host blocks --------------------------------------

// Stream 0 is the legacy default stream, the one every kernel launch uses (no stream argument): a copy queued there
// is ordered before the kernels queued after it, and after those queued before.
extern "C" ct_status ct__cuda_memcpy_async(int dev, void *dst, const void *src, size_t nbytes,
                                           ct__memcpy_kind kind) {
    static const cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice,
                                           cudaMemcpyHostToHost};
    if (nbytes == 0) return CT_OK;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    CT_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, kinds[kind], 0));
    return CT_OK;
}

extern "C" ct_status ct__cuda_event_record(int dev, void **event) {
    cudaEvent_t e;
    CT_CUDA_CHECK(cudaSetDevice(dev));
    CT_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    cudaError_t err = cudaEventRecord(e, 0);
    if (err != cudaSuccess) cudaEventDestroy(e);
    CT_CUDA_CHECK(err);
    *event = (void *)e;
    return CT_OK;
}

extern "C" int ct__cuda_event_query(void *event) {
    cudaError_t err = cudaEventQuery((cudaEvent_t)event);
    if (err == cudaSuccess) return 1;
    cudaGetLastError(); // "not ready" is an answer, not an error to leave for the next checked call
    return err == cudaErrorNotReady ? 0 : -1;
}

extern "C" void ct__cuda_event_wait(void *event) {
    if (cudaEventSynchronize((cudaEvent_t)event) != cudaSuccess) cudaGetLastError();
}

extern "C" void ct__cuda_event_destroy(void *event) { cudaEventDestroy((cudaEvent_t)event); }

// ---- the device-side error flag ---------------------------------------------------------------------------------

#define CT_MAX_GPUS 64
static long long *flag_words[CT_MAX_GPUS]; // device memory: {code, value, dim, size}

extern "C" ct_status ct__cuda_error_flag(int dev, long long **out) {
    if (!flag_words[dev]) {
        CT_CUDA_CHECK(cudaSetDevice(dev));
        CT_CUDA_CHECK(cudaMalloc(&flag_words[dev], 4 * sizeof(long long)));
        CT_CUDA_CHECK(cudaMemset(flag_words[dev], 0, 4 * sizeof(long long)));
    }
    *out = flag_words[dev];
    return CT_OK;
}

extern "C" ct_status ct__cuda_synchronize(int dev) {
    CT_CUDA_CHECK(cudaSetDevice(dev));
    CT_CUDA_CHECK(cudaDeviceSynchronize());
    return report_error_flag(dev);
}

// Reads and clears dev's error flag (the device is idle: called after a synchronising call).
static ct_status report_error_flag(int dev) {
    if (!flag_words[dev]) return CT_OK;
    long long flag[4];
    CT_CUDA_CHECK(cudaMemcpy(flag, flag_words[dev], sizeof flag, cudaMemcpyDeviceToHost));
    if (flag[0] == 0) return CT_OK;
    CT_CUDA_CHECK(cudaMemset(flag_words[dev], 0, sizeof flag));
    if (flag[0] == CT__DEVICE_ERROR_INDEX)
        return ct__error(CT_ERR_INDEX, __func__, "index %lld is out of bounds for dimension %lld with size %lld",
                         flag[1], flag[2], flag[3]);
    if (flag[0] == CT__DEVICE_ERROR_ZERO_DIVISION)
        return ct__error(CT_ERR_INVALID_ARGUMENT, __func__, "ZeroDivisionError");
    return ct__error(CT_ERR_CUDA, __func__, "a kernel raised device error code %lld", flag[0]);
}
