/* Front ends of the linalg family (ctorch/linalg.h): dot, mv, mm, bmm, matmul, addmm and linear, with PyTorch's
 * checks and words.
 *
 * Every product ends in one call of the GEMM launcher (kernels/blas.h) on a fresh contiguous output. Operands are
 * handed to BLAS as they lie whenever BLAS can describe them: a matrix whose rows or whose columns are contiguous
 * goes as a leading dimension plus a transpose flag (so x @ W^T reads W in place), and batch dims that collapse into
 * one stride (including stride 0, a broadcast operand) go as a strided batch. Only operands BLAS cannot describe are
 * copied (ct_contiguous) first. matmul follows PyTorch: 1-D x 1-D is dot, 2-D x 1-D mv, 1-D x 2-D a row vector
 * times a matrix; an N-D (N >= 3) times a 1-D/2-D operand is folded into one 2-D product when its leading dims
 * allow a view; anything else is a broadcast batched product. Results are recorded for autograd by
 * runtime/autograd/backward_linalg.c. */
#include <stdlib.h>
#include <string.h>

#include "autograd/backward_linalg.h"
#include "common.h"
#include "kernels/blas.h"

/* ---- dtype names and checks ------------------------------------------------------------------------------------- */

/* The kernel PyTorch runs for a product, which its "not implemented for" messages name: on the CPU and on CUDA. */
typedef enum { KIND_MM, KIND_MV, KIND_BMM, KIND_DOT } product_kind;

static const char *kernel_name(product_kind kind, bool cuda) {
    switch (kind) {
    case KIND_MM: return cuda ? "addmm_cuda" : "addmm_impl_cpu_";
    case KIND_MV: return cuda ? "addmv_impl_cuda" : "addmv_impl_cpu";
    case KIND_BMM: return cuda ? "bmm_cuda" : "bmm";
    default: return "dot";
    }
}

static bool is_float(ct_dtype d) { return d == CT_FLOAT32 || d == CT_FLOAT64; }
static bool is_integer(ct_dtype d) { return d == CT_INT64 || d == CT_INT32 || d == CT_UINT8; }

/* Both operands present, on one device, of one dtype, and that dtype one the device multiplies: float32 and
 * float64 everywhere, int64, int32 and uint8 on the CPU (as PyTorch: its CUDA products are floating only). PyTorch
 * prints the dtypes as C type names ("float != double") or ScalarType names ("'Long'"). */
static ct_status check_operands(const ct_tensor *a, const ct_tensor *b, const char *func, product_kind kind) {
    ct_status st = ct__check_tensor(a, func, "a");
    if (st == CT_OK) st = ct__check_tensor(b, func, "b");
    if (st == CT_OK) st = ct__check_same_device(a, b, func);
    if (st != CT_OK) return st;
    if (a->dtype != b->dtype)
        return ct__error(CT_ERR_DTYPE, func, "expected m1 and m2 to have the same dtype, but got: %s != %s",
                         ct__c_type_name(a->dtype), ct__c_type_name(b->dtype));
    bool cuda = a->storage->device.type == CT_CUDA;
    if (!is_float(a->dtype) && (cuda || !is_integer(a->dtype)))
        return ct__error(CT_ERR_NOT_IMPLEMENTED, func, "\"%s\" not implemented for '%s'", kernel_name(kind, cuda),
                         ct__scalar_type_name(a->dtype));
    return CT_OK;
}

/* An integer product's alpha or beta, which PyTorch converts to the dtype (truncating toward zero) and refuses when
 * it does not fit: NaN, infinities and values beyond the type's range (uint8 takes -255..255, negative values
 * wrapping). */
static ct_status check_int_scalar(double v, ct_dtype dtype, const char *func) {
    double lo = dtype == CT_INT32 ? -2147483648.0 : dtype == CT_UINT8 ? -255.0 : -9223372036854775808.0;
    double hi = dtype == CT_INT32 ? 2147483647.0 : dtype == CT_UINT8 ? 255.0 : 9223372036854775807.0;
    bool fits = v >= lo && (dtype == CT_INT64 ? v < 9223372036854775808.0 : v <= hi); /* false for NaN */
    if (!fits)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "value cannot be converted to type %s without overflow",
                         dtype == CT_INT32 ? "int" : dtype == CT_UINT8 ? "uint8_t" : "int64_t");
    return CT_OK;
}

/* A third tensor (addmm's input, linear's bias) on the operands' device and of their dtype. */
static ct_status check_addend(const ct_tensor *t, const ct_tensor *mat, const char *func) {
    ct_status st = ct__check_same_device(t, mat, func);
    if (st != CT_OK) return st;
    if (t->dtype != mat->dtype)
        return ct__error(CT_ERR_DTYPE, func, "self and mat2 must have the same dtype, but got %s and %s",
                         ct__scalar_type_name(t->dtype), ct__scalar_type_name(mat->dtype));
    return CT_OK;
}

/* t can broadcast to shape; otherwise PyTorch's expand error. */
static ct_status check_expandable(const ct_tensor *t, int ndim, const int64_t *shape, const char *func) {
    char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF];
    if (t->ndim > ndim)
        return ct__error(CT_ERR_SHAPE, func,
                         "expand: the number of sizes provided (%d) must be greater or equal to the number of "
                         "dimensions in the tensor (%d)",
                         ndim, t->ndim);
    for (int i = ndim - 1, j = t->ndim - 1; j >= 0; i--, j--)
        if (t->shape[j] != 1 && t->shape[j] != shape[i])
            return ct__error(CT_ERR_SHAPE, func,
                             "The expanded size of the tensor (%lld) must match the existing size (%lld) at "
                             "non-singleton dimension %d.  Target sizes: %s.  Tensor sizes: %s",
                             (long long)shape[i], (long long)t->shape[j], i, ct__shape_str(ndim, shape, a, sizeof a),
                             ct__shape_str(t->ndim, t->shape, b, sizeof b));
    return CT_OK;
}

/* ---- operands as BLAS sees them -------------------------------------------------------------------------------- */

/* How BLAS reads a rows x cols matrix with element strides (rs, cs): stored row-major with leading dim *ld, or
 * stored transposed (its columns contiguous) with *trans set. False when neither describes it. */
static bool matrix_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, int64_t *ld, bool *trans) {
    if (rows == 0 || cols == 0) { /* never read */
        *ld = cols > 1 ? cols : 1, *trans = false;
        return true;
    }
    if ((cs == 1 || cols == 1) && (rows == 1 || rs >= (cols > 1 ? cols : 1))) {
        *ld = rows == 1 ? (cols > 1 ? cols : 1) : rs, *trans = false;
        return true;
    }
    if ((rs == 1 || rows == 1) && (cols == 1 || cs >= (rows > 1 ? rows : 1))) {
        *ld = cols == 1 ? (rows > 1 ? rows : 1) : cs, *trans = true;
        return true;
    }
    return false;
}

/* The one element stride that walks dims [0, nb) of t in row-major order (size-1 dims ignored; 0 when every dim
 * is broadcast), or false when those dims do not collapse into one. */
static bool collapsed_stride(const ct_tensor *t, int nb, int64_t *stride) {
    bool have = false;
    int64_t span = 0;
    *stride = 0;
    for (int d = nb - 1; d >= 0; d--) {
        if (t->shape[d] == 1) continue;
        if (have && t->stride[d] != span) return false;
        if (!have) *stride = t->stride[d];
        have = true;
        span = t->stride[d] * t->shape[d];
    }
    return true;
}

/* One GEMM operand: the tensor BLAS reads (t itself, or `copy` when t had to be made contiguous). */
typedef struct blas_operand {
    const ct_tensor *t;
    ct_tensor *copy;
    int64_t ld, stride;
    bool trans;
} blas_operand;

/* t is batch dims [0, nb) + one matrix. */
static ct_status prepare_operand(const ct_tensor *t, int nb, blas_operand *op) {
    op->t = t, op->copy = NULL;
    int64_t rows = t->shape[nb], cols = t->shape[nb + 1];
    if (matrix_layout(rows, cols, t->stride[nb], t->stride[nb + 1], &op->ld, &op->trans) &&
        collapsed_stride(t, nb, &op->stride))
        return CT_OK;
    op->copy = ct_contiguous(t);
    if (!op->copy) return ct_last_status();
    op->t = op->copy;
    matrix_layout(rows, cols, cols, 1, &op->ld, &op->trans);
    op->stride = rows * cols;
    return CT_OK;
}

/* out (contiguous, batch * m * n elements) = alpha * a @ b + beta * out, plus bias rows when bias is not NULL:
 * a is batch dims + (m x k), b the same batch dims + (k x n). */
static ct_status run_gemm(ct_tensor *out, const ct_tensor *a, const ct_tensor *b, double alpha, double beta,
                          const ct_tensor *bias) {
    int nb = a->ndim - 2;
    blas_operand pa, pb = {0};
    ct_status st = prepare_operand(a, nb, &pa);
    if (st == CT_OK) st = prepare_operand(b, nb, &pb);
    if (st == CT_OK) {
        ct__gemm g = {.dtype = out->dtype, .batch = 1, .m = a->shape[nb], .n = b->shape[nb + 1], .k = a->shape[nb + 1]};
        for (int d = 0; d < nb; d++) g.batch *= a->shape[d];
        g.a = ct_data_ptr(pa.t), g.lda = pa.ld, g.stride_a = pa.stride, g.trans_a = pa.trans;
        g.b = ct_data_ptr(pb.t), g.ldb = pb.ld, g.stride_b = pb.stride, g.trans_b = pb.trans;
        g.c = ct_data_ptr(out), g.ldc = g.n > 1 ? g.n : 1, g.stride_c = g.m * g.n;
        g.alpha = alpha, g.beta = beta;
        g.bias = bias ? ct_data_ptr(bias) : NULL;
        g.allow_tf32 = ct_allow_tf32();
        st = CT_DISPATCH(out->storage->device, gemm, &g);
    }
    ct_release(pa.copy);
    ct_release(pb.copy);
    return st;
}

/* A new tensor of the given shape holding a @ b (a: batch + (m x k), b: batch + (k x n); shape has the batch *
 * m * n elements). Releases nothing. */
static ct_tensor *product(const ct_tensor *a, const ct_tensor *b, int ndim, const int64_t *shape) {
    ct_tensor *out = ct__tensor_new(ndim, shape, a->dtype, a->storage->device, false);
    if (out && run_gemm(out, a, b, 1.0, 0.0, NULL) != CT_OK) {
        ct_release(out);
        return NULL;
    }
    return out;
}

/* A 2-D view of t at t's offset: rows x cols with element strides (rs, cs). */
static ct_tensor *view2(const ct_tensor *t, int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
    return ct__tensor_view_of(t, t->offset, 2, (int64_t[]){rows, cols}, (int64_t[]){rs, cs});
}

/* ---- dot, mv, mm ------------------------------------------------------------------------------------------------- */

/* a (k) . b (k) as (1 x k) @ (k x 1). Dims already checked. */
static ct_tensor *dot_impl(const ct_tensor *a, const ct_tensor *b, const char *func) {
    if (a->dtype != b->dtype) {
        ct__error(CT_ERR_DTYPE, func, "dot : expected both vectors to have same dtype, but found %s and %s",
                  ct__scalar_type_name(a->dtype), ct__scalar_type_name(b->dtype));
        return NULL;
    }
    if (check_operands(a, b, func, KIND_DOT) != CT_OK) return NULL;
    int64_t k = a->shape[0];
    if (b->shape[0] != k) {
        ct__error(CT_ERR_SHAPE, func,
                  "inconsistent tensor size, expected tensor [%lld] and src [%lld] to have the same number of "
                  "elements, but got %lld and %lld elements respectively",
                  (long long)k, (long long)b->shape[0], (long long)k, (long long)b->shape[0]);
        return NULL;
    }
    ct_tensor *row = view2(a, 1, k, k * a->stride[0], a->stride[0]);
    ct_tensor *col = view2(b, k, 1, b->stride[0], 1);
    ct_tensor *out = row && col ? product(row, col, 0, NULL) : NULL;
    ct_release(row);
    ct_release(col);
    return out;
}

/* mat (r x k, any leading dims already folded into r) @ vec (k), into a tensor of the given shape. */
static ct_tensor *mv_impl(const ct_tensor *mat, const ct_tensor *vec, int ndim, const int64_t *shape, const char *func) {
    if (mat->shape[1] != vec->shape[0]) {
        ct__error(CT_ERR_SHAPE, func, "size mismatch, got input (%lld), mat (%lldx%lld), vec (%lld)",
                  (long long)mat->shape[0], (long long)mat->shape[0], (long long)mat->shape[1],
                  (long long)vec->shape[0]);
        return NULL;
    }
    ct_tensor *col = view2(vec, vec->shape[0], 1, vec->stride[0], 1);
    ct_tensor *out = col ? product(mat, col, ndim, shape) : NULL;
    ct_release(col);
    return out;
}

/* a (m x k) @ b (k x n), into a tensor of the given shape (m * n elements). */
static ct_tensor *mm_impl(const ct_tensor *a, const ct_tensor *b, int ndim, const int64_t *shape, const char *func) {
    if (a->shape[1] != b->shape[0]) {
        ct__error(CT_ERR_SHAPE, func, "mat1 and mat2 shapes cannot be multiplied (%lldx%lld and %lldx%lld)",
                  (long long)a->shape[0], (long long)a->shape[1], (long long)b->shape[0], (long long)b->shape[1]);
        return NULL;
    }
    return product(a, b, ndim, shape);
}

ct_tensor *ct_dot(const ct_tensor *a, const ct_tensor *b) {
    if (CT_CHECK_TENSOR(a) != CT_OK || CT_CHECK_TENSOR(b) != CT_OK) return NULL;
    if (a->ndim != 1 || b->ndim != 1) {
        CT_FAIL(CT_ERR_SHAPE, "1D tensors expected, but got %dD and %dD tensors", a->ndim, b->ndim);
        return NULL;
    }
    return ct__record_matmul(dot_impl(a, b, __func__), a, b, "DotBackward0");
}

ct_tensor *ct_mv(const ct_tensor *mat, const ct_tensor *vec) {
    if (check_operands(mat, vec, __func__, KIND_MV) != CT_OK) return NULL;
    if (mat->ndim != 2 || vec->ndim != 1) {
        CT_FAIL(CT_ERR_SHAPE, "vector + matrix @ vector expected, got 1, %d, %d", mat->ndim, vec->ndim);
        return NULL;
    }
    return ct__record_matmul(mv_impl(mat, vec, 1, mat->shape, __func__), mat, vec, "MvBackward0");
}

ct_tensor *ct_mm(const ct_tensor *a, const ct_tensor *b) {
    if (CT_CHECK_TENSOR(a) != CT_OK || CT_CHECK_TENSOR(b) != CT_OK) return NULL;
    if (a->ndim != 2 || b->ndim != 2) {
        CT_FAIL(CT_ERR_SHAPE, "%s must be a matrix", a->ndim != 2 ? "self" : "mat2");
        return NULL;
    }
    if (check_operands(a, b, __func__, KIND_MM) != CT_OK) return NULL;
    return ct__record_matmul(mm_impl(a, b, 2, (int64_t[]){a->shape[0], b->shape[1]}, __func__), a, b, "MmBackward0");
}

/* ---- bmm and matmul ---------------------------------------------------------------------------------------------- */

/* The batch2 size check of bmm (and of matmul's batched path), over `batch` items. */
static ct_status check_batch2(int64_t batch, int64_t k, int64_t batch2, int64_t k2, const char *func) {
    if (batch2 == batch && k2 == k) return CT_OK;
    return ct__error(CT_ERR_SHAPE, func,
                     "Expected size for first two dimensions of batch2 tensor to be: [%lld, %lld] but got: [%lld, "
                     "%lld].",
                     (long long)batch, (long long)k, (long long)batch2, (long long)k2);
}

ct_tensor *ct_bmm(const ct_tensor *a, const ct_tensor *b) {
    if (CT_CHECK_TENSOR(a) != CT_OK || CT_CHECK_TENSOR(b) != CT_OK) return NULL;
    if (a->ndim != 3 || b->ndim != 3) {
        CT_FAIL(CT_ERR_SHAPE, "%s must be a 3D tensor", a->ndim != 3 ? "batch1" : "batch2");
        return NULL;
    }
    if (check_operands(a, b, __func__, KIND_BMM) != CT_OK) return NULL;
    if (check_batch2(a->shape[0], a->shape[2], b->shape[0], b->shape[1], __func__) != CT_OK) return NULL;
    return ct__record_matmul(product(a, b, 3, (int64_t[]){a->shape[0], a->shape[1], b->shape[2]}), a, b,
                             "BmmBackward0");
}

/* a (..., m, k) with >= 3 dims whose leading dims fold into one (a view), times b (k, n) or (k). */
static ct_tensor *matmul_folded(const ct_tensor *a, const ct_tensor *b, int64_t row_stride) {
    int da = a->ndim;
    int64_t rows = 1, shape[CT_MAX_DIMS];
    for (int d = 0; d < da - 1; d++) rows *= a->shape[d], shape[d] = a->shape[d];
    ct_tensor *a2 = view2(a, rows, a->shape[da - 1], row_stride, a->stride[da - 1]);
    if (!a2) return NULL;
    ct_tensor *out;
    if (b->ndim == 2) {
        shape[da - 1] = b->shape[1];
        out = mm_impl(a2, b, da, shape, "ct_matmul");
    } else {
        out = mv_impl(a2, b, da - 1, shape, "ct_matmul");
    }
    ct_release(a2);
    return out;
}

/* The general case: 1-D operands become a row (a) or a column (b), the batch dims broadcast, and the dims added
 * for 1-D operands are dropped from the result. */
static ct_tensor *matmul_batched(const ct_tensor *a, const ct_tensor *b) {
    const char *func = "ct_matmul";
    ct_tensor *a3 = a->ndim == 1 ? ct_unsqueeze(a, 0) : ct_alias(a);
    ct_tensor *b3 = b->ndim == 1 ? ct_unsqueeze(b, -1) : ct_alias(b);
    ct_tensor *ae = NULL, *be = NULL, *out = NULL;
    if (!a3 || !b3) goto done;
    int na = a3->ndim - 2, nb = b3->ndim - 2, n;
    int64_t shape[CT_MAX_DIMS], batch = 1;
    if (ct__broadcast_shapes(na, a3->shape, nb, b3->shape, &n, shape, func) != CT_OK) goto done;
    for (int d = 0; d < n; d++) batch *= shape[d];
    int64_t m = a3->shape[na], k = a3->shape[na + 1], k2 = b3->shape[nb], cols = b3->shape[nb + 1];
    if (check_batch2(batch, k, batch, k2, func) != CT_OK) goto done;
    shape[n] = m, shape[n + 1] = k;
    ae = ct_expand(a3, n + 2, shape);
    shape[n] = k, shape[n + 1] = cols;
    be = ct_expand(b3, n + 2, shape);
    if (!ae || !be) goto done;
    int nout = n;
    if (a->ndim > 1) shape[nout++] = m;
    if (b->ndim > 1) shape[nout++] = cols;
    out = product(ae, be, nout, shape);
done:
    ct_release(a3), ct_release(b3), ct_release(ae), ct_release(be);
    return out;
}

/* matmul's product on the path its operands' dims choose (no recording). */
static ct_tensor *matmul_unrecorded(const ct_tensor *a, const ct_tensor *b) {
    int da = a->ndim, db = b->ndim;
    if (da == 1 && db == 1) return dot_impl(a, b, "ct_matmul");
    int64_t row_stride;
    bool folded = da >= 3 && db <= 2 && collapsed_stride(a, da - 1, &row_stride);
    product_kind kind = da == 2 && db == 1 ? KIND_MV : (da <= 2 && db <= 2) || folded ? KIND_MM : KIND_BMM;
    if (check_operands(a, b, "ct_matmul", kind) != CT_OK) return NULL;
    if (da == 2 && db == 1) return mv_impl(a, b, 1, a->shape, "ct_matmul");
    if (da == 1 && db == 2) {
        ct_tensor *row = view2(a, 1, a->shape[0], a->shape[0] * a->stride[0], a->stride[0]);
        ct_tensor *out = row ? mm_impl(row, b, 1, &b->shape[1], "ct_matmul") : NULL;
        ct_release(row);
        return out;
    }
    if (da == 2 && db == 2) return mm_impl(a, b, 2, (int64_t[]){a->shape[0], b->shape[1]}, "ct_matmul");
    if (folded) return matmul_folded(a, b, row_stride);
    return matmul_batched(a, b);
}

ct_tensor *ct_matmul(const ct_tensor *a, const ct_tensor *b) {
    if (CT_CHECK_TENSOR(a) != CT_OK || CT_CHECK_TENSOR(b) != CT_OK) return NULL;
    int da = a->ndim, db = b->ndim;
    if (da == 0 || db == 0) {
        CT_FAIL(CT_ERR_SHAPE, "both arguments to matmul need to be at least 1D, but they are %dD and %dD", da, db);
        return NULL;
    }
    /* the grad_fn is named after the primitive PyTorch's matmul runs for these dims */
    const char *name = da == 1 && db == 1 ? "DotBackward0"
                       : da == 2 && db == 1 ? "MvBackward0"
                       : da == 2 && db == 2 ? "MmBackward0"
                                            : "MatmulBackward0";
    return ct__record_matmul(matmul_unrecorded(a, b), a, b, name);
}

/* ---- addmm and linear -------------------------------------------------------------------------------------------- */

/* Copies input, broadcast to out's shape, into out. */
static ct_status broadcast_into(ct_tensor *out, const ct_tensor *input) {
    ct_tensor *e = ct_expand(input, out->ndim, out->shape);
    if (!e) return ct_last_status();
    ct_status st = CT_DISPATCH(out->storage->device, copy, ct__view_of(out), ct__view_of(e));
    ct_release(e);
    return st;
}

ct_tensor *ct_addmm(const ct_tensor *input, const ct_tensor *mat1, const ct_tensor *mat2, double beta, double alpha) {
    if (CT_CHECK_TENSOR(input) != CT_OK || CT_CHECK_TENSOR(mat1) != CT_OK || CT_CHECK_TENSOR(mat2) != CT_OK)
        return NULL;
    if (mat1->ndim != 2 || mat2->ndim != 2) {
        CT_FAIL(CT_ERR_SHAPE, "%s must be a matrix, got %d-D tensor", mat1->ndim != 2 ? "mat1" : "mat2",
                mat1->ndim != 2 ? mat1->ndim : mat2->ndim);
        return NULL;
    }
    if (check_operands(mat1, mat2, __func__, KIND_MM) != CT_OK || check_addend(input, mat2, __func__) != CT_OK)
        return NULL;
    if (is_integer(mat1->dtype) && (check_int_scalar(beta, mat1->dtype, __func__) != CT_OK ||
                                    check_int_scalar(alpha, mat1->dtype, __func__) != CT_OK))
        return NULL;
    if (mat1->shape[1] != mat2->shape[0]) {
        CT_FAIL(CT_ERR_SHAPE, "mat1 and mat2 shapes cannot be multiplied (%lldx%lld and %lldx%lld)",
                (long long)mat1->shape[0], (long long)mat1->shape[1], (long long)mat2->shape[0],
                (long long)mat2->shape[1]);
        return NULL;
    }
    int64_t shape[2] = {mat1->shape[0], mat2->shape[1]};
    if (check_expandable(input, 2, shape, __func__) != CT_OK) return NULL;
    ct_tensor *out = ct__tensor_new(2, shape, mat1->dtype, mat1->storage->device, false);
    if (!out) return NULL;
    ct_status st = beta != 0 ? broadcast_into(out, input) : CT_OK;
    if (st == CT_OK) st = run_gemm(out, mat1, mat2, alpha, beta, NULL);
    if (st != CT_OK) {
        ct_release(out);
        return NULL;
    }
    return ct__record_addmm(out, input, mat1, mat2, beta, alpha);
}

/* True when bias can go to the GEMM as a contiguous row of n elements (the fused-epilogue path). */
static bool bias_is_row(const ct_tensor *bias, int64_t n) {
    return bias->ndim == 1 && bias->shape[0] == n && (bias->stride[0] == 1 || n <= 1);
}

/* x (rows x in) @ weight^T into out (rows x out_features elements), plus bias. */
static ct_status linear_into(ct_tensor *out, const ct_tensor *x2, const ct_tensor *weight, const ct_tensor *bias) {
    ct_tensor *wt = ct_t(weight);
    if (!wt) return ct_last_status();
    ct_status st;
    if (!bias || bias_is_row(bias, weight->shape[0])) {
        st = run_gemm(out, x2, wt, 1.0, 0.0, bias);
    } else {
        st = broadcast_into(out, bias);
        if (st == CT_OK) st = run_gemm(out, x2, wt, 1.0, 1.0, NULL);
    }
    ct_release(wt);
    return st;
}

ct_tensor *ct_linear(const ct_tensor *x, const ct_tensor *weight, const ct_tensor *bias) {
    if (CT_CHECK_TENSOR(x) != CT_OK || CT_CHECK_TENSOR(weight) != CT_OK) return NULL;
    if (x->ndim == 0) {
        CT_FAIL(CT_ERR_SHAPE, "both arguments to matmul need to be at least 1D, but they are 0D and %dD",
                weight->ndim);
        return NULL;
    }
    if (weight->ndim != 2) {
        CT_FAIL(CT_ERR_SHAPE, "weight must be a 2-D (out_features, in_features) matrix, but got a %d-D tensor",
                weight->ndim);
        return NULL;
    }
    if (check_operands(x, weight, __func__, KIND_MM) != CT_OK) return NULL;
    int64_t in = x->shape[x->ndim - 1], rows = 1, shape[CT_MAX_DIMS];
    for (int d = 0; d < x->ndim - 1; d++) rows *= x->shape[d], shape[d] = x->shape[d];
    shape[x->ndim - 1] = weight->shape[0];
    if (in != weight->shape[1]) {
        CT_FAIL(CT_ERR_SHAPE, "mat1 and mat2 shapes cannot be multiplied (%lldx%lld and %lldx%lld)", (long long)rows,
                (long long)in, (long long)weight->shape[1], (long long)weight->shape[0]);
        return NULL;
    }
    if (bias && (CT_CHECK_TENSOR(bias) != CT_OK || check_addend(bias, weight, __func__) != CT_OK ||
                 check_expandable(bias, x->ndim, shape, __func__) != CT_OK))
        return NULL;
    int64_t row_stride;
    ct_tensor *x2 = collapsed_stride(x, x->ndim - 1, &row_stride)
                        ? view2(x, rows, in, x->ndim == 1 ? in * x->stride[0] : row_stride, x->stride[x->ndim - 1])
                        : ct_reshape(x, 2, (int64_t[]){rows, in});
    ct_tensor *out = x2 ? ct__tensor_new(x->ndim, shape, x->dtype, x->storage->device, false) : NULL;
    if (out && linear_into(out, x2, weight, bias) != CT_OK) {
        ct_release(out);
        out = NULL;
    }
    ct_release(x2);
    return ct__record_linear(out, x, weight, bias);
}
