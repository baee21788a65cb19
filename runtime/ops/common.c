/* Broadcasting, type promotion and device checks for the op front ends (common.h). */
#include "common.h"

ct_status ct__broadcast_shapes(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out,
                               const char *func) {
    int n = na > nb ? na : nb;
    for (int i = n - 1; i >= 0; i--) {
        int ia = i - (n - na), ib = i - (n - nb);
        int64_t sa = ia >= 0 ? a[ia] : 1, sb = ib >= 0 ? b[ib] : 1;
        if (sa != sb && sa != 1 && sb != 1)
            return ct__error(CT_ERR_SHAPE, func,
                             "The size of tensor a (%lld) must match the size of tensor b (%lld) at non-singleton "
                             "dimension %d",
                             (long long)sa, (long long)sb, i);
        out[i] = sa == 1 ? sb : sa;
    }
    *nout = n;
    return CT_OK;
}

static int rank(ct_dtype d) {
    switch (d) {
    case CT_BOOL: return 0;
    case CT_UINT8: return 1;
    case CT_INT32: return 2;
    case CT_INT64: return 3;
    case CT_FLOAT16: return 4;
    case CT_BFLOAT16: return 4;
    case CT_FLOAT32: return 5;
    case CT_FLOAT64: return 6;
    default: return 0;
    }
}

ct_dtype ct__promote_types(ct_dtype a, ct_dtype b) {
    if ((a == CT_FLOAT16 && b == CT_BFLOAT16) || (a == CT_BFLOAT16 && b == CT_FLOAT16)) return CT_FLOAT32;
    return rank(a) >= rank(b) ? a : b;
}

static int category(ct_dtype d) { return d == CT_BOOL ? 0 : ct_dtype_is_floating(d) ? 2 : 1; }

ct_dtype ct__result_type(const ct_tensor *a, const ct_tensor *b) {
    bool a0 = a->ndim == 0, b0 = b->ndim == 0;
    if (a0 == b0) return ct__promote_types(a->dtype, b->dtype);
    const ct_tensor *dimmed = a0 ? b : a, *zero = a0 ? a : b;
    /* a 0-d tensor only matters when it is of a higher category: then it promotes within the default types */
    if (category(zero->dtype) <= category(dimmed->dtype)) return dimmed->dtype;
    return ct__promote_types(dimmed->dtype, zero->dtype);
}

ct_dtype ct__result_type_scalar(const ct_tensor *t, bool scalar_is_floating) {
    if (scalar_is_floating && !ct_dtype_is_floating(t->dtype)) return CT_FLOAT32;
    if (!scalar_is_floating && t->dtype == CT_BOOL) return CT_INT64;
    return t->dtype;
}

ct_status ct__check_same_device(const ct_tensor *a, const ct_tensor *b, const char *func) {
    ct_device da = ct_tensor_device(a), db = ct_tensor_device(b);
    if (ct_device_equal(da, db)) return CT_OK;
    char sa[16], sb[16];
    return ct__error(CT_ERR_DEVICE, func,
                     "Expected all tensors to be on the same device, but found at least two devices, %s and %s!",
                     ct_device_str(da, sa, sizeof sa), ct_device_str(db, sb, sizeof sb));
}

ct_status ct__check_supported_dtype(const ct_tensor *t, const char *func) {
    if (t->dtype == CT_FLOAT16 || t->dtype == CT_BFLOAT16)
        return ct__error(CT_ERR_NOT_IMPLEMENTED, func, "\"%s\" is not implemented for '%s' yet", func,
                         ct_dtype_name(t->dtype));
    return CT_OK;
}

const char *ct__scalar_type_name(ct_dtype d) {
    switch (d) {
    case CT_FLOAT32: return "Float";
    case CT_FLOAT64: return "Double";
    case CT_INT64: return "Long";
    case CT_INT32: return "Int";
    case CT_UINT8: return "Byte";
    case CT_BOOL: return "Bool";
    case CT_FLOAT16: return "Half";
    case CT_BFLOAT16: return "BFloat16";
    default: return "invalid";
    }
}

const char *ct__c_type_name(ct_dtype d) {
    switch (d) {
    case CT_FLOAT32: return "float";
    case CT_FLOAT64: return "double";
    case CT_INT64: return "long int";
    case CT_INT32: return "int";
    case CT_UINT8: return "unsigned char";
    case CT_BOOL: return "bool";
    case CT_FLOAT16: return "c10::Half";
    case CT_BFLOAT16: return "c10::BFloat16";
    default: return "invalid";
    }
}
