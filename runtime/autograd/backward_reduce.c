/* The backward functions of the reduce family, and the recording calls its front end makes
 * (runtime/autograd/backward_reduce.h). The formulas are PyTorch's (tools/autograd/derivatives.yaml and
 * FunctionsManual.cpp), written with ctorch's public ops so that the CPU and CUDA both run them:
 *
 *   sum, mean            the gradient expanded back over the reduced dims (mean: divided by their count)
 *   prod                 grad * prod / t; with a zero in the input, the product of the other elements (exclusive
 *                        cumulative products from both ends), so zeros get their exact gradient
 *   amax, amin, max()    the gradient split evenly among the elements equal to the result (ties)
 *   max(dim), min(dim)   the gradient scattered to the returned indices
 *   logsumexp            grad * exp(t - result)
 *   vector_norm          ord 0: zero; 1: sign(t); 2: t / norm (0 where the norm is 0); inf: split among the
 *                        maxima of |t|; other ord: sign(t) |t|^(ord-1) / norm^(ord-1)
 *   var, std             2 (t - mean) / (N - correction); std: divided by 2 std (0 where std is 0)
 *   cumsum, cumprod      reversed cumulative sums; cumprod handles zeros exactly (the first zero of a line gets the
 *                        product before it times the reversed sum of what follows; later elements get 0)
 *   softmax              y (grad - sum(grad y)); log_softmax: grad - exp(y) sum(grad)
 *
 * A node's integer arguments: iargs[0] a bit mask of the reduced dims (or the dim of an op along one dim),
 * iargs[1] keepdim; args[0] the op's scalar (ord, correction). Backward runs with grad mode off inside the engine's
 * scope, so the temporaries made here need no release; an op given a NULL input returns NULL and keeps the first
 * error, so each chain is checked once, at its end. */
#include <math.h>

#include "autograd/backward_reduce.h"
#include "ctorch/elementwise.h"
#include "ctorch/indexing.h"
#include "ctorch/reduce.h"
#include "ctorch/shape.h"

/* ---- shapes ------------------------------------------------------------------------------------------------------ */

static bool is_reduced(const ct__node *n, int d) { return (n->iargs[0] >> d) & 1; }

/* The reduced dims as a list (for ct_sum / ct_mean with keepdim); returns their number. */
static int reduced_dims(const ct__node *n, int *dims) {
    int k = 0;
    for (int d = 0; d < n->in_ndim[0]; d++)
        if (is_reduced(n, d)) dims[k++] = d;
    return k;
}

/* The number of input elements that make one output element. */
static int64_t reduced_count(const ct__node *n) {
    int64_t count = 1;
    for (int d = 0; d < n->in_ndim[0]; d++)
        if (is_reduced(n, d)) count *= n->in_shape[0][d];
    return count;
}

/* t (the output's shape) with the reduced dims back in place as size 1, so that it broadcasts against the input. */
static ct_tensor *kept(const ct__node *n, const ct_tensor *t) {
    if (n->iargs[1]) return ct_alias(t);
    int64_t shape[CT_MAX_DIMS];
    for (int d = 0; d < n->in_ndim[0]; d++) shape[d] = is_reduced(n, d) ? 1 : n->in_shape[0][d];
    return ct_reshape(t, n->in_ndim[0], shape);
}

/* t (the output's shape) expanded over the input's shape: the gradient of a sum. */
static ct_tensor *expanded(const ct__node *n, const ct_tensor *t) {
    return ct_expand(kept(n, t), n->in_ndim[0], n->in_shape[0]);
}

static ct_tensor *zeros_for_input(const ct__node *n, const ct_tensor *grad) {
    return ct_zeros(n->in_ndim[0], n->in_shape[0], ct_tensor_dtype(grad), ct_tensor_device(grad));
}

static ct_status done(ct_tensor **gi, ct_tensor *g) {
    gi[0] = g;
    return g ? CT_OK : ct_last_status();
}

/* sign(t) in t's dtype: -1, 0 or 1 (0 for NaN, as PyTorch's CPU sign). */
static ct_tensor *sign_of(const ct_tensor *t) {
    ct_dtype dt = ct_tensor_dtype(t);
    return ct_sub(ct_to_dtype(ct_gt_scalar(t, 0), dt), ct_to_dtype(ct_lt_scalar(t, 0), dt), 1);
}

/* Whether any element of t is 0 (a synchronising read, as PyTorch's prod and cumprod backward make). */
static ct_status has_zero(const ct_tensor *t, bool *out) {
    double any = 0;
    ct_status st = ct_item(ct_any(ct_eq_scalar(t, 0), 0, NULL, false), &any);
    *out = any != 0;
    return st;
}

/* ---- sum, mean, prod -------------------------------------------------------------------------------------------- */

static ct_status sum_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    return done(gi, expanded(n, grad));
}

static ct_status mean_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    return done(gi, expanded(n, ct_div_scalar(grad, (double)reduced_count(n))));
}

/* x (M, N) -> (M, N) with column j holding the product of columns 0..j-1 (1 for j = 0). */
static ct_tensor *exclusive_cumprod(const ct_tensor *x) {
    const int64_t *shape = ct_shape(x);
    ct_tensor *parts[2] = {ct_ones(2, (int64_t[]){shape[0], 1}, ct_tensor_dtype(x), ct_tensor_device(x)),
                           ct_slice(x, 1, 0, shape[1] - 1, 1)};
    return ct_cumprod(ct_cat(2, parts, 1), 1);
}

/* prod's gradient when the input has a zero: grad times the product of every other element of the reduced set,
 * from exclusive cumulative products taken from the left and from the right (the reduced dims moved last and
 * flattened). */
static ct_tensor *prod_backward_with_zeros(const ct__node *n, const ct_tensor *grad, const ct_tensor *x) {
    int nd = n->in_ndim[0], perm[CT_MAX_DIMS], inverse[CT_MAX_DIMS], k = 0;
    int64_t kept_count = 1, red_count = 1, permuted_shape[CT_MAX_DIMS];
    for (int pass = 0; pass < 2; pass++) /* kept dims first, then the reduced ones */
        for (int d = 0; d < nd; d++)
            if (is_reduced(n, d) == (pass == 1)) perm[k++] = d;
    for (int i = 0; i < nd; i++) {
        inverse[perm[i]] = i;
        permuted_shape[i] = n->in_shape[0][perm[i]];
        if (is_reduced(n, perm[i])) red_count *= permuted_shape[i];
        else kept_count *= permuted_shape[i];
    }
    int flip_dim = 1;
    ct_tensor *lines = ct_reshape(nd ? ct_permute(x, nd, perm) : ct_alias(x), 2, (int64_t[]){kept_count, red_count});
    ct_tensor *left = exclusive_cumprod(lines);
    ct_tensor *right = ct_flip(exclusive_cumprod(ct_flip(lines, 1, &flip_dim)), 1, &flip_dim);
    ct_tensor *g = ct_mul(ct_mul(ct_reshape(grad, 2, (int64_t[]){kept_count, 1}), left), right);
    g = ct_reshape(g, nd, permuted_shape);
    return nd ? ct_permute(g, nd, inverse) : g;
}

static ct_status prod_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *x = ct__saved(n, 0), *result = ct__saved(n, 1);
    if (!x || !result) return ct_last_status();
    if (ct_numel(x) == 0) return done(gi, zeros_for_input(n, grad));
    bool zero;
    ct_status st = has_zero(x, &zero);
    if (st != CT_OK) return st;
    if (zero) return done(gi, prod_backward_with_zeros(n, grad, x));
    return done(gi, ct_div(ct_mul(kept(n, grad), kept(n, result)), x));
}

/* ---- amax, amin, max(), min(), max(dim), min(dim) -------------------------------------------------------------- */

/* grad split evenly among the elements where mask (the input's shape, bool) is true, per output element. */
static ct_tensor *split_among(const ct__node *n, const ct_tensor *grad, const ct_tensor *mask) {
    int dims[CT_MAX_DIMS], nd = reduced_dims(n, dims);
    ct_tensor *count = ct_sum(mask, nd, dims, true);
    return ct_mul(ct_div(kept(n, grad), count), mask);
}

static ct_status amax_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *x = ct__saved(n, 0), *result = ct__saved(n, 1);
    if (!x || !result) return ct_last_status();
    return done(gi, split_among(n, grad, ct_eq(x, kept(n, result))));
}

/* torch.max(t) / torch.min(t): as amax, except that a NaN result sends the gradient to the NaN elements. */
static ct_status max_all_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *x = ct__saved(n, 0), *result = ct__saved(n, 1);
    if (!x || !result) return ct_last_status();
    ct_tensor *mask = ct_where(ct_ne(result, result), ct_ne(x, x), ct_eq(x, result));
    return done(gi, split_among(n, grad, mask));
}

static ct_status extreme_dim_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    if (n->in_ndim[0] == 0) return done(gi, (ct_tensor *)grad); /* a 0-d input is its own maximum */
    const ct_tensor *indices = ct__saved(n, 0);
    if (!indices) return ct_last_status();
    int dim = (int)n->iargs[2];
    return done(gi, ct_scatter(zeros_for_input(n, grad), dim, kept(n, indices), kept(n, grad)));
}

/* ---- logsumexp, vector_norm ------------------------------------------------------------------------------------- */

static ct_status logsumexp_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *x = ct__saved(n, 0), *result = ct__saved(n, 1);
    if (!x || !result) return ct_last_status();
    return done(gi, ct_mul(kept(n, grad), ct_exp(ct_sub(x, kept(n, result), 1))));
}

/* grad / norm^(ord-1), 0 where the norm is 0 (ord >= 1 and not 1, 2 or inf). */
static ct_tensor *norm_scale(const ct_tensor *grad, const ct_tensor *norm, double ord) {
    return ct_masked_fill(ct_div(grad, ct_pow_scalar(norm, ord - 1)), ct_eq_scalar(norm, 0), 0);
}

static ct_status norm_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *x = ct__saved(n, 0), *saved_norm = ct__saved(n, 1);
    if (!x || !saved_norm) return ct_last_status();
    double ord = n->args[0];
    if (ord == 0) return done(gi, zeros_for_input(n, grad)); /* a count: constant almost everywhere */
    ct_tensor *g = kept(n, grad), *norm = kept(n, saved_norm);
    if (ord == 1) return done(gi, ct_mul(sign_of(x), g));
    if (ord == 2) return done(gi, ct_mul(g, ct_masked_fill(ct_div(x, norm), ct_eq_scalar(norm, 0), 0)));
    ct_tensor *abs = ct_abs(x);
    if (isinf(ord)) { /* the maxima (minima for -inf) of |t|, and NaNs, share the gradient */
        ct_tensor *mask = ct_add(ct_eq(abs, norm), ct_ne(abs, abs), 1); /* bool + bool: or */
        return done(gi, ct_mul(sign_of(x), split_among(n, grad, mask)));
    }
    if (ord < 1) { /* |t|^(ord-1) is infinite at 0: PyTorch takes 0 there */
        ct_tensor *scaled = ct_mul(sign_of(x), ct_masked_fill(ct_pow_scalar(abs, ord - 1), ct_eq_scalar(x, 0), 0));
        return done(gi, ct_mul(ct_mul(scaled, g), ct_pow_scalar(norm, 1 - ord)));
    }
    if (ord < 2) return done(gi, ct_mul(ct_mul(sign_of(x), ct_pow_scalar(abs, ord - 1)), norm_scale(g, norm, ord)));
    return done(gi, ct_mul(ct_mul(x, ct_pow_scalar(abs, ord - 2)), norm_scale(g, norm, ord)));
}

/* ---- var, std, and their means ---------------------------------------------------------------------------------- */

/* grad_var (the output's shape) -> 2 (t - mean) grad_var / (N - correction), as PyTorch (no clamp at 0). */
static ct_tensor *var_gradient(const ct__node *n, const ct_tensor *grad_var, const ct_tensor *x) {
    int dims[CT_MAX_DIMS], nd = reduced_dims(n, dims);
    double scale = 2.0 / ((double)reduced_count(n) - n->args[0]);
    return ct_mul_scalar(ct_mul(kept(n, grad_var), ct_sub(x, ct_mean(x, nd, dims, true), 1)), scale);
}

static ct_status var_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *x = ct__saved(n, 0);
    if (!x) return ct_last_status();
    return done(gi, var_gradient(n, grad, x));
}

/* d std = d var / (2 std), 0 where std is 0 (PyTorch's choice of subgradient). */
static ct_status std_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *x = ct__saved(n, 0), *std = ct__saved(n, 1);
    if (!x || !std) return ct_last_status();
    ct_tensor *grad_var = ct_masked_fill(ct_div(grad, ct_mul_scalar(std, 2)), ct_eq_scalar(std, 0), 0);
    return done(gi, var_gradient(n, grad_var, x));
}

/* ---- cumsum, cumprod, softmax, log_softmax --------------------------------------------------------------------- */

/* The sum of t's elements from each position to the end of its line along dim. */
static ct_tensor *reversed_cumsum(const ct_tensor *t, int dim) {
    return ct_flip(ct_cumsum(ct_flip(t, 1, &dim), dim), 1, &dim);
}

static ct_status cumsum_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    if (n->in_ndim[0] == 0) return done(gi, (ct_tensor *)grad);
    return done(gi, reversed_cumsum(grad, (int)n->iargs[0]));
}

/* cumprod's gradient with zeros in the input. Along a line with its first zero at k (z: zeros so far, inclusive):
 *   i < k   the usual reversed_cumsum(grad y)_i / x_i (the terms from k on are 0 since y is);
 *   i = k   prod(x_0..x_k-1) * sum_{j>=k} grad_j prod(x_k+1..x_j);
 *   i > k   0 (every y_j with j >= i holds the factor x_k = 0). */
static ct_tensor *cumprod_backward_with_zeros(const ct_tensor *grad, const ct_tensor *x, const ct_tensor *y, int dim) {
    ct_tensor *is_zero = ct_to_dtype(ct_eq_scalar(x, 0), CT_INT64);
    ct_tensor *zeros_so_far = ct_cumsum(is_zero, dim);
    ct_tensor *before_first = ct_eq_scalar(zeros_so_far, 0);
    ct_tensor *up_to_first = ct_eq_scalar(ct_sub(zeros_so_far, is_zero, 1), 0); /* no zero strictly before */
    ct_tensor *usual = ct_div(reversed_cumsum(ct_mul(grad, y), dim), x);
    /* prod(x_k+1..x_j) for j >= k, 0 before k */
    ct_tensor *after = ct_cumprod(ct_masked_fill(x, up_to_first, 1), dim);
    ct_tensor *terms = ct_masked_fill(ct_mul(grad, after), before_first, 0);
    ct_tensor *prefix = ct_cumprod(ct_masked_fill(x, ct_ne_scalar(zeros_so_far, 0), 1), dim);
    ct_tensor *at_first = ct_mul(reversed_cumsum(terms, dim), prefix);
    ct_tensor *zero = ct_zeros(0, NULL, ct_tensor_dtype(grad), ct_tensor_device(grad));
    return ct_where(before_first, usual, ct_where(up_to_first, at_first, zero));
}

static ct_status cumprod_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    if (n->in_ndim[0] == 0) return done(gi, (ct_tensor *)grad);
    const ct_tensor *x = ct__saved(n, 0), *y = ct__saved(n, 1);
    if (!x || !y) return ct_last_status();
    if (ct_numel(x) == 0) return done(gi, (ct_tensor *)grad);
    int dim = (int)n->iargs[0];
    bool zero;
    ct_status st = has_zero(x, &zero);
    if (st != CT_OK) return st;
    if (zero) return done(gi, cumprod_backward_with_zeros(grad, x, y, dim));
    return done(gi, ct_div(reversed_cumsum(ct_mul(grad, y), dim), x));
}

static ct_status softmax_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *y = ct__saved(n, 0);
    if (!y) return ct_last_status();
    int dim = (int)n->iargs[0];
    return done(gi, ct_mul(y, ct_sub(grad, ct_sum(ct_mul(grad, y), 1, &dim, true), 1)));
}

static ct_status log_softmax_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *y = ct__saved(n, 0);
    if (!y) return ct_last_status();
    int dim = (int)n->iargs[0];
    return done(gi, ct_sub(grad, ct_mul(ct_exp(y), ct_sum(grad, 1, &dim, true)), 1));
}

/* ---- recording -------------------------------------------------------------------------------------------------- */

typedef struct {
    const char *name_all; /* every dim reduced (ndims == 0, no keepdim): PyTorch's dim-less overload */
    const char *name_dims;
    ct__backward_fn backward;
    bool save_input, save_output;
} reduce_rule;

static const reduce_rule reduce_rules[CT__GRAD_NUM_REDUCTIONS] = {
    [CT__GRAD_SUM] = {"SumBackward0", "SumBackward1", sum_backward, false, false},
    [CT__GRAD_MEAN] = {"MeanBackward0", "MeanBackward1", mean_backward, false, false},
    [CT__GRAD_PROD] = {"ProdBackward0", "ProdBackward1", prod_backward, true, true},
    [CT__GRAD_AMAX] = {"AmaxBackward0", "AmaxBackward0", amax_backward, true, true},
    [CT__GRAD_AMIN] = {"AminBackward0", "AminBackward0", amax_backward, true, true},
    [CT__GRAD_MAX_ALL] = {"MaxBackward1", "MaxBackward1", max_all_backward, true, true},
    [CT__GRAD_MIN_ALL] = {"MinBackward1", "MinBackward1", max_all_backward, true, true},
    [CT__GRAD_LOGSUMEXP] = {"LogsumexpBackward0", "LogsumexpBackward0", logsumexp_backward, true, true},
    [CT__GRAD_NORM] = {"LinalgVectorNormBackward0", "LinalgVectorNormBackward0", norm_backward, true, true},
    [CT__GRAD_VAR] = {"VarBackward0", "VarBackward0", var_backward, true, false},
    [CT__GRAD_STD] = {"StdBackward0", "StdBackward0", std_backward, true, true},
    [CT__GRAD_VAR_MEAN_VAR] = {"VarMeanBackward0", "VarMeanBackward0", var_backward, true, false},
    [CT__GRAD_VAR_MEAN_MEAN] = {"VarMeanBackward0", "VarMeanBackward0", mean_backward, false, false},
    [CT__GRAD_STD_MEAN_STD] = {"StdMeanBackward0", "StdMeanBackward0", std_backward, true, true},
    [CT__GRAD_STD_MEAN_MEAN] = {"StdMeanBackward0", "StdMeanBackward0", mean_backward, false, false},
};

ct_tensor *ct__record_reduction(ct__reduce_grad kind, const ct_tensor *t, ct_tensor *out, int ndims, const bool *mask,
                                bool keepdim, double param) {
    if (!out) return NULL;
    const reduce_rule *rule = &reduce_rules[kind];
    const char *name = ndims == 0 && !keepdim ? rule->name_all : rule->name_dims;
    ct__node *node = ct__record(name, rule->backward, 1, &t);
    if (!node) return out;
    for (int d = 0; d < t->ndim; d++)
        if (mask[d]) node->iargs[0] |= (int64_t)1 << d;
    node->iargs[1] = keepdim;
    node->args[0] = param;
    if (rule->save_input) ct__save(node, t);
    if (rule->save_output) ct__save(node, out);
    ct__attach(node, out);
    return out;
}

ct_tensor *ct__record_extreme_dim(bool largest, const ct_tensor *t, ct_tensor *values, const ct_tensor *indices,
                                  int dim, bool keepdim) {
    if (!values) return NULL;
    ct__node *node = ct__record(largest ? "MaxBackward0" : "MinBackward0", extreme_dim_backward, 1, &t);
    if (!node) return values;
    int d = t->ndim == 0 ? 0 : dim < 0 ? dim + t->ndim : dim; /* checked by the front end */
    node->iargs[0] = (int64_t)1 << d;
    node->iargs[1] = keepdim;
    node->iargs[2] = d;
    ct__save(node, indices);
    ct__attach(node, values);
    return values;
}

typedef struct {
    const char *name;
    ct__backward_fn backward;
    bool save_input, save_output;
} along_dim_rule;

static const along_dim_rule along_dim_rules[] = {
    [CT__GRAD_CUMSUM] = {"CumsumBackward0", cumsum_backward, false, false},
    [CT__GRAD_CUMPROD] = {"CumprodBackward0", cumprod_backward, true, true},
    [CT__GRAD_SOFTMAX] = {"SoftmaxBackward0", softmax_backward, false, true},
    [CT__GRAD_LOG_SOFTMAX] = {"LogSoftmaxBackward0", log_softmax_backward, false, true},
};

ct_tensor *ct__record_along_dim(ct__along_dim_grad kind, const ct_tensor *t, ct_tensor *out, int dim) {
    if (!out) return NULL;
    const along_dim_rule *rule = &along_dim_rules[kind];
    ct__node *node = ct__record(rule->name, rule->backward, 1, &t);
    if (!node) return out;
    node->iargs[0] = t->ndim == 0 ? 0 : dim < 0 ? dim + t->ndim : dim; /* checked by the front end */
    if (rule->save_input) ct__save(node, t);
    if (rule->save_output) ct__save(node, out);
    ct__attach(node, out);
    return out;
}
