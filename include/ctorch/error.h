/* ctorch/error.h: status codes and the thread-local error message.
 *
 * Errors are values (DESIGN.md decision 1). A function that makes an object returns NULL on failure; every other
 * public function returns a ct_status, CT_OK (0) on success. Either way ct_last_error() then holds a message naming
 * the function, the argument and the offending values, e.g.
 *   "ct_view: shape '[3, 5]' is invalid for input of size 16".
 * The message is per thread and stays until the next error or ct_clear_error().
 *
 * A function given a NULL tensor (typically the failed result of an earlier call) fails too, but keeps the error
 * that is already pending, so a chain of calls can be checked once at its end. */
#ifndef CTORCH_ERROR_H
#define CTORCH_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ct_status {
    CT_OK = 0,
    CT_ERR_INVALID_ARGUMENT, /* a value is out of its domain: NULL, negative size, bad option */
    CT_ERR_SHAPE,            /* shapes or sizes do not fit together */
    CT_ERR_INDEX,            /* an index or dim is out of range */
    CT_ERR_DTYPE,            /* a dtype is not supported here or does not match */
    CT_ERR_DEVICE,           /* a device is unknown, or tensors are on different devices */
    CT_ERR_NO_CUDA,          /* CUDA asked for, but the build has no CUDA or the machine has no GPU */
    CT_ERR_CUDA,             /* a CUDA, cuBLAS or cuDNN call failed (message has the library's words) */
    CT_ERR_OUT_OF_MEMORY,    /* an allocation failed (after emptying caches and retrying) */
    CT_ERR_IO,               /* reading or writing a file failed */
    CT_ERR_FORMAT,           /* a file's contents are malformed */
    CT_ERR_STATE,            /* the object is in a state that does not allow the call */
    CT_ERR_NOT_IMPLEMENTED,  /* a valid request this build cannot serve yet (e.g. float16 on the CPU) */
    CT_ERR_INTERNAL          /* a broken internal invariant: a ctorch bug, please report */
} ct_status;

/* The message of the last error on this thread, or "" when none. The string is owned by ctorch and valid until
 * the next failing call on this thread. */
const char *ct_last_error(void);

/* The status of the last error on this thread, or CT_OK when none. */
ct_status ct_last_status(void);

/* Forgets the pending error on this thread. */
void ct_clear_error(void);

/* A short constant name for a status, e.g. "CT_ERR_SHAPE". */
const char *ct_status_name(ct_status status);

#ifdef __cplusplus
}
#endif
#endif
