/* Checked CUDA calls for the launchers, after llm.c's cudaCheck: instead of exiting, a failure becomes a returned
 * ct_status whose message names the call, the file, the line and CUDA's own words. */
#ifndef CTORCH_CUDA_CHECK_H
#define CTORCH_CUDA_CHECK_H

#include <cuda_runtime.h>

#include "launch.h"

#define CT_CUDA_CHECK(call)                                                                                     \
    do {                                                                                                        \
        cudaError_t ct_err_ = (call);                                                                           \
        if (ct_err_ != cudaSuccess)                                                                             \
            return ct__error(CT_ERR_CUDA, __func__, "%s failed at %s:%d: %s (%s)", #call, __FILE__, __LINE__, \
                             cudaGetErrorString(ct_err_), cudaGetErrorName(ct_err_));                          \
    } while (0)

/* Checks the launch of the kernel just queued. */
#define CT_CUDA_CHECK_LAUNCH() CT_CUDA_CHECK(cudaGetLastError())

/* Threads per block for the elementwise kernels, and blocks for n elements (grid-stride loops cap the count). */
#define CT_CUDA_THREADS 256
static inline unsigned ct__cuda_blocks(long long n) {
    long long b = (n + CT_CUDA_THREADS - 1) / CT_CUDA_THREADS;
    if (b < 1) b = 1;
    return (unsigned)(b > 65535LL * 16 ? 65535LL * 16 : b);
}

#endif
