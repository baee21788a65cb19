/* Autograd of the elementwise family: which node each differentiable call records, what it saves, and the backward
 * functions (backward_elementwise.h says how the front end calls this file).
 *
 * The formulas are PyTorch's (tools/autograd/derivatives.yaml and its *_backward helpers), written with the public
 * ops so that the CPU and CUDA share them. They run in the engine's scope with grad mode off and release their own
 * temporaries, so that a long backward does not hold every intermediate until it ends. A gradient is returned in the
 * output's dtype and broadcast shape: the engine casts it and sums it down to each input's shape. Where PyTorch
 * selects (clamp, relu, where, masked_fill, pow at a zero exponent) this file selects too (ct_where), so that an
 * infinite gradient outside the selected region does not turn into NaN.
 *
 * gelu's exact backward needs the normal CDF Phi(x) = (1 + erf(x / sqrt 2)) / 2 and ctorch has no erf op: Phi is
 * read off the forward instead, Phi(x) = gelu(x) / x, which is the same float computation divided back out (within
 * one rounding), with Phi = 1/2 for |x| < 2^-60 where the division would lose precision or be 0 / 0.
 *
 * Saved tensors: node->iargs[SAVED_A], [SAVED_B], [SAVED_OUT] hold the ct__save indices of input 0 (self's old
 * values for an in-place call, copied before the write), input 1 (other, exponent, mask) and the result, -1 when not
 * saved. node->args: [0] the scalar operand (or clamp's min), [1] alpha, negated for sub (or clamp's max);
 * node->iargs[3]: gelu's form (1 for tanh), or the rounding mode of remainder's (floor) and fmod's (trunc)
 * quotient. */
#include <math.h>
#include <stdbool.h>

#include "autograd/backward_elementwise.h"
#include "ctorch/elementwise.h"

enum { SAVED_A = 0, SAVED_B = 1, SAVED_OUT = 2 };
enum { NEED_A = 1, NEED_B = 2, NEED_OUT = 4 }; /* what a backward reads */

/* ---- helpers -------------------------------------------------------------------------------------------------- */

static const ct_tensor *saved(ct__node *n, int slot) {
    if (n->iargs[slot] < 0) {
        CT_FAIL(CT_ERR_INTERNAL, "%s: saved tensor %d was not recorded", n->name, slot);
        return NULL;
    }
    return ct__saved(n, (int)n->iargs[slot]);
}

/* r, after releasing the temporaries a and b (either may be NULL). */
static ct_tensor *freeing(ct_tensor *r, ct_tensor *a, ct_tensor *b) {
    ct_release(a);
    ct_release(b);
    return r;
}

static void release_all(ct_tensor *const *ts, size_t n) {
    for (size_t i = 0; i < n; i++) ct_release(ts[i]);
}
/* Releases the temporaries listed (NULLs allowed). */
#define RELEASE(...) \
    release_all((ct_tensor *[]){__VA_ARGS__}, sizeof((ct_tensor *[]){__VA_ARGS__}) / sizeof(ct_tensor *))

/* A 0-d tensor holding v, in like's dtype and on its device (the other branch of a selection). */
static ct_tensor *constant(double v, const ct_tensor *like) {
    return like ? ct_full(0, NULL, v, ct_tensor_dtype(like), ct_tensor_device(like)) : NULL;
}

/* mask ? grad : 0 (keep true) or mask ? 0 : grad (keep false); releases mask. */
static ct_tensor *select_grad(ct_tensor *mask, const ct_tensor *grad, bool keep) {
    ct_tensor *zero = constant(0, grad);
    ct_tensor *r = keep ? ct_where(mask, grad, zero) : ct_where(mask, zero, grad);
    return freeing(r, zero, mask);
}

/* 1 - t; releases t. */
static ct_tensor *one_minus(ct_tensor *t) {
    ct_tensor *n = ct_neg(t);
    return freeing(ct_add_scalar(n, 1, 1), n, t);
}

/* grad * t; releases t. */
static ct_tensor *grad_times(const ct_tensor *grad, ct_tensor *t) { return freeing(ct_mul(grad, t), t, NULL); }

/* CT_OK when every gradient asked for was made. */
static ct_status made(const ct__node *n, ct_tensor *const *gi) {
    for (int i = 0; i < n->n_inputs; i++) {
        if (!n->needs_grad[i] || gi[i]) continue;
        ct_status st = ct_last_status();
        return st != CT_OK ? st : CT_FAIL(CT_ERR_INTERNAL, "%s made no gradient for input %d", n->name, i);
    }
    return CT_OK;
}

/* ---- arithmetic ------------------------------------------------------------------------------------------------- */

/* a + alpha b and a - alpha b (args[1] = +-alpha): the gradient passes to a, and to b times args[1]. */
static ct_status add_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    if (n->needs_grad[0]) gi[0] = (ct_tensor *)grad;
    if (n->n_inputs > 1 && n->needs_grad[1])
        gi[1] = n->args[1] == 1 ? (ct_tensor *)grad : ct_mul_scalar(grad, n->args[1]);
    return made(n, gi);
}

static ct_status mul_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    if (n->n_inputs == 1) {
        gi[0] = ct_mul_scalar(grad, n->args[0]);
        return made(n, gi);
    }
    if (n->needs_grad[0]) gi[0] = ct_mul(grad, saved(n, SAVED_B));
    if (n->needs_grad[1]) gi[1] = ct_mul(grad, saved(n, SAVED_A));
    return made(n, gi);
}

/* d(a/b)/da = 1/b, d(a/b)/db = -a / b^2. */
static ct_status div_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    if (n->n_inputs == 1) {
        gi[0] = ct_div_scalar(grad, n->args[0]);
        return made(n, gi);
    }
    const ct_tensor *b = saved(n, SAVED_B);
    if (n->needs_grad[0]) gi[0] = ct_div(grad, b);
    if (n->needs_grad[1]) {
        ct_tensor *ga = ct_mul(grad, saved(n, SAVED_A)), *bb = ct_mul(b, b), *q = ct_div(ga, bb);
        gi[1] = ct_neg(q);
        RELEASE(ga, bb, q);
    }
    return made(n, gi);
}

/* x ** e, e a scalar: e x^(e-1), and zero for e == 0 (as PyTorch, even at x == 0). */
static ct_status pow_scalar_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    double e = n->args[0];
    if (e == 0) {
        gi[0] = ct_zeros_like(grad);
        return made(n, gi);
    }
    ct_tensor *p = ct_pow_scalar(saved(n, SAVED_A), e - 1);
    gi[0] = grad_times(grad, freeing(ct_mul_scalar(p, e), p, NULL));
    return made(n, gi);
}

/* d(a^b)/da = b a^(b-1), zero where b == 0. */
static ct_tensor *pow_base_grad(const ct_tensor *grad, const ct_tensor *a, const ct_tensor *b) {
    ct_tensor *b1 = ct_sub_scalar(b, 1, 1), *p = ct_pow(a, b1), *bp = ct_mul(b, p), *v = ct_mul(grad, bp);
    ct_tensor *g = select_grad(ct_eq_scalar(b, 0), v, false);
    RELEASE(b1, p, bp, v);
    return g;
}

/* d(a^b)/db = a^b log a, zero where a == 0 and b >= 0 (the limit PyTorch takes). */
static ct_tensor *pow_exponent_grad(const ct_tensor *grad, const ct_tensor *a, const ct_tensor *b, const ct_tensor *r) {
    ct_tensor *l = ct_log(a), *rl = ct_mul(r, l), *a0 = ct_eq_scalar(a, 0), *b0 = ct_ge_scalar(b, 0);
    ct_tensor *d = select_grad(ct_mul(a0, b0), rl, false);
    RELEASE(l, rl, a0, b0);
    return grad_times(grad, d);
}

static ct_status pow_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *a = saved(n, SAVED_A), *b = a ? saved(n, SAVED_B) : NULL;
    if (n->needs_grad[0]) gi[0] = pow_base_grad(grad, a, b);
    if (n->needs_grad[1]) gi[1] = pow_exponent_grad(grad, a, b, b ? saved(n, SAVED_OUT) : NULL);
    return made(n, gi);
}

/* ---- the division family ----------------------------------------------------------------------------------------- */

/* div with trunc or floor: a step function, zero gradients (PyTorch's DivBackward2/3). */
static ct_status rounded_div_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    for (int i = 0; i < n->n_inputs; i++)
        if (n->needs_grad[i]) gi[i] = ct_zeros_like(grad);
    return made(n, gi);
}

/* floor_divide: PyTorch records it with no derivative, and fails when backward reaches it. */
static ct_status no_derivative_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    return CT_FAIL(CT_ERR_NOT_IMPLEMENTED, "derivative for aten::floor_divide is not implemented");
}

/* remainder(a, b) = a - b floor(a / b) and fmod(a, b) = a - b trunc(a / b) (args[2]: the rounding mode): the
 * gradient passes to a, and b gets -grad times the rounded quotient. */
static ct_status remainder_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    if (n->needs_grad[0]) gi[0] = (ct_tensor *)grad;
    if (n->n_inputs > 1 && n->needs_grad[1]) {
        ct_tensor *q = ct_div_mode(saved(n, SAVED_A), saved(n, SAVED_B), (ct_rounding_mode)n->iargs[3]);
        ct_tensor *g = ct_mul(grad, q);
        gi[1] = freeing(ct_neg(g), g, q);
    }
    return made(n, gi);
}

/* ---- unary functions -------------------------------------------------------------------------------------------- */

static ct_status neg_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    gi[0] = ct_neg(grad);
    return made(n, gi);
}

/* grad * sign(x): sign as (x > 0) - (x < 0) in x's dtype. */
static ct_status abs_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *x = saved(n, SAVED_A);
    ct_tensor *gt = ct_gt_scalar(x, 0), *lt = ct_lt_scalar(x, 0);
    ct_tensor *p = x ? ct_to_dtype(gt, ct_tensor_dtype(x)) : NULL, *m = x ? ct_to_dtype(lt, ct_tensor_dtype(x)) : NULL;
    ct_tensor *sign = freeing(ct_sub(p, m, 1), p, m);
    gi[0] = freeing(grad_times(grad, sign), gt, lt);
    return made(n, gi);
}

static ct_status exp_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    gi[0] = ct_mul(grad, saved(n, SAVED_OUT));
    return made(n, gi);
}

static ct_status log_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    gi[0] = ct_div(grad, saved(n, SAVED_A));
    return made(n, gi);
}

static ct_status log1p_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    ct_tensor *x1 = ct_add_scalar(saved(n, SAVED_A), 1, 1);
    gi[0] = freeing(ct_div(grad, x1), x1, NULL);
    return made(n, gi);
}

/* grad / (2 sqrt x), from the result. */
static ct_status sqrt_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    ct_tensor *r2 = ct_mul_scalar(saved(n, SAVED_OUT), 2);
    gi[0] = freeing(ct_div(grad, r2), r2, NULL);
    return made(n, gi);
}

/* -grad r^3 / 2, from the result r = x^(-1/2). */
static ct_status rsqrt_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    ct_tensor *r3 = ct_pow_scalar(saved(n, SAVED_OUT), 3), *g = grad_times(grad, r3);
    gi[0] = freeing(ct_mul_scalar(g, -0.5), g, NULL);
    return made(n, gi);
}

/* grad (1 - y) y, from the result y. */
static ct_status sigmoid_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *y = saved(n, SAVED_OUT);
    ct_tensor *g = grad_times(grad, one_minus(ct_alias(y)));
    gi[0] = freeing(ct_mul(g, y), g, NULL);
    return made(n, gi);
}

/* grad (1 - y^2), from the result y. */
static ct_status tanh_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *y = saved(n, SAVED_OUT);
    gi[0] = grad_times(grad, one_minus(ct_mul(y, y)));
    return made(n, gi);
}

/* The gradient passes where min <= x <= max (bounds included, as PyTorch), zero elsewhere and at NaN. */
static ct_status clamp_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *x = saved(n, SAVED_A);
    double lo = n->args[0], hi = n->args[1];
    ct_tensor *above = isnan(lo) ? NULL : ct_ge_scalar(x, lo), *below = isnan(hi) ? NULL : ct_le_scalar(x, hi);
    ct_tensor *inside = !above ? ct_alias(below) : !below ? ct_alias(above) : ct_mul(above, below);
    gi[0] = freeing(select_grad(inside, grad, true), above, below);
    return made(n, gi);
}

/* Zero where the result is <= 0 (PyTorch's threshold_backward on the result), grad elsewhere. */
static ct_status relu_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    gi[0] = select_grad(ct_le_scalar(saved(n, SAVED_OUT), 0), grad, false);
    return made(n, gi);
}

/* Phi(x), the normal CDF, as gelu(x) / x (see the top of the file). */
static ct_tensor *normal_cdf(const ct_tensor *x) {
    ct_tensor *y = ct_gelu(x, CT_GELU_NONE), *q = ct_div(y, x);
    ct_tensor *ax = ct_abs(x), *tiny = ct_lt_scalar(ax, 0x1p-60), *half = constant(0.5, q);
    ct_tensor *cdf = ct_where(tiny, half, q);
    RELEASE(y, q, ax, tiny, half);
    return cdf;
}

/* d gelu / dx = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi). */
static ct_tensor *gelu_exact_grad(const ct_tensor *grad, const ct_tensor *x) {
    ct_tensor *x2 = ct_mul(x, x), *e = ct_mul_scalar(x2, -0.5), *ex = ct_exp(e);
    ct_tensor *pdf = ct_mul_scalar(ex, 0.3989422804014327); /* 1 / sqrt(2 pi) */
    ct_tensor *xpdf = ct_mul(x, pdf), *cdf = normal_cdf(x), *d = ct_add(cdf, xpdf, 1);
    RELEASE(x2, e, ex, pdf, xpdf, cdf);
    return grad_times(grad, d);
}

/* The tanh form: with u = sqrt(2/pi) (x + k x^3) and t = tanh u,
 * d/dx [x (1 + t) / 2] = (1 + t) / 2 + (x / 2) (1 - t^2) sqrt(2/pi) (1 + 3 k x^2). */
static ct_tensor *gelu_tanh_grad(const ct_tensor *grad, const ct_tensor *x) {
    const double beta = 0.7978845608028654, kappa = 0.044715; /* sqrt(2 / pi) */
    ct_tensor *x2 = ct_mul(x, x), *x3 = ct_mul(x2, x), *kx3 = ct_mul_scalar(x3, kappa), *s = ct_add(x, kx3, 1);
    ct_tensor *u = ct_mul_scalar(s, beta), *t = ct_tanh(u), *t1 = ct_add_scalar(t, 1, 1);
    ct_tensor *dleft = ct_mul_scalar(t1, 0.5); /* (1 + t) / 2 */
    ct_tensor *dt = one_minus(ct_mul(t, t)), *q = ct_mul_scalar(x2, 3 * kappa), *q1 = ct_add_scalar(q, 1, 1);
    ct_tensor *hx = ct_mul_scalar(x, 0.5 * beta), *a = ct_mul(hx, dt), *dright = ct_mul(a, q1), *d = ct_add(dleft, dright, 1);
    RELEASE(x2, x3, kx3, s, u, t, t1, dleft, dt, q, q1, hx, a, dright);
    return grad_times(grad, d);
}

static ct_status gelu_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *x = saved(n, SAVED_A);
    gi[0] = n->iargs[3] ? gelu_tanh_grad(grad, x) : gelu_exact_grad(grad, x);
    return made(n, gi);
}

/* grad s (1 + x (1 - s)), s = sigmoid(x). */
static ct_status silu_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *x = saved(n, SAVED_A);
    ct_tensor *s = ct_sigmoid(x), *om = one_minus(ct_alias(s)), *xs = ct_mul(x, om), *f = ct_add_scalar(xs, 1, 1);
    ct_tensor *d = ct_mul(s, f);
    RELEASE(s, om, xs, f);
    gi[0] = grad_times(grad, d);
    return made(n, gi);
}

/* ---- selection ---------------------------------------------------------------------------------------------------- */

/* where(condition, a, b): the gradient goes to a where condition holds, to b elsewhere. */
static ct_status where_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    const ct_tensor *condition = saved(n, SAVED_A);
    if (n->needs_grad[1]) gi[1] = select_grad(ct_alias(condition), grad, true);
    if (n->needs_grad[2]) gi[2] = select_grad(ct_alias(condition), grad, false);
    return made(n, gi);
}

/* masked_fill(t, mask, v): the filled places no longer depend on t. */
static ct_status masked_fill_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    gi[0] = ct_masked_fill(grad, saved(n, SAVED_B), 0);
    return made(n, gi);
}

/* ---- recording ------------------------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    ct__backward_fn backward;
    unsigned needs; /* NEED_*, before narrowing to the inputs that need grad */
} grad_rule;

static grad_rule binary_rule(ct__ew_op op, bool scalar) {
    switch (op) {
    case CT__EW_ADD: return (grad_rule){"AddBackward0", add_backward, 0};
    case CT__EW_SUB: return (grad_rule){"SubBackward0", add_backward, 0};
    case CT__EW_MUL: return (grad_rule){"MulBackward0", mul_backward, scalar ? 0 : NEED_A | NEED_B};
    case CT__EW_DIV: return (grad_rule){"DivBackward0", div_backward, scalar ? 0 : NEED_A | NEED_B};
    case CT__EW_POW:
        return scalar ? (grad_rule){"PowBackward0", pow_scalar_backward, NEED_A}
                      : (grad_rule){"PowBackward1", pow_backward, NEED_A | NEED_B | NEED_OUT};
    case CT__EW_DIV_TRUNC: case CT__EW_DIV_FLOOR:
        return (grad_rule){scalar ? "DivBackward3" : "DivBackward2", rounded_div_backward, 0};
    case CT__EW_REMAINDER:
        return (grad_rule){scalar ? "RemainderBackward0" : "RemainderBackward1", remainder_backward, 0};
    case CT__EW_FMOD: return (grad_rule){scalar ? "FmodBackward0" : "FmodBackward1", remainder_backward, 0};
    default: return (grad_rule){NULL, NULL, 0}; /* comparisons: no gradient */
    }
}

static grad_rule unary_rule(ct__ew_op op) {
    switch (op) {
    case CT__EW_NEG: return (grad_rule){"NegBackward0", neg_backward, 0};
    case CT__EW_ABS: return (grad_rule){"AbsBackward0", abs_backward, NEED_A};
    case CT__EW_RELU: return (grad_rule){"ReluBackward0", relu_backward, NEED_OUT};
    case CT__EW_CLAMP: return (grad_rule){"ClampBackward1", clamp_backward, NEED_A};
    case CT__EW_EXP: return (grad_rule){"ExpBackward0", exp_backward, NEED_OUT};
    case CT__EW_LOG: return (grad_rule){"LogBackward0", log_backward, NEED_A};
    case CT__EW_LOG1P: return (grad_rule){"Log1PBackward0", log1p_backward, NEED_A};
    case CT__EW_SQRT: return (grad_rule){"SqrtBackward0", sqrt_backward, NEED_OUT};
    case CT__EW_RSQRT: return (grad_rule){"RsqrtBackward0", rsqrt_backward, NEED_OUT};
    case CT__EW_SIGMOID: return (grad_rule){"SigmoidBackward0", sigmoid_backward, NEED_OUT};
    case CT__EW_TANH: return (grad_rule){"TanhBackward0", tanh_backward, NEED_OUT};
    case CT__EW_GELU: case CT__EW_GELU_TANH: return (grad_rule){"GeluBackward0", gelu_backward, NEED_A};
    case CT__EW_SILU: return (grad_rule){"SiluBackward0", silu_backward, NEED_A};
    default: return (grad_rule){NULL, NULL, 0};
    }
}

static grad_rule rule_of(const ct__ew_grad_call *c) {
    switch (c->kind) {
    case CT__EW_GRAD_BINARY:
        if (c->no_derivative) return (grad_rule){"NotImplemented", no_derivative_backward, 0};
        return binary_rule(c->op, c->in[1] == NULL);
    case CT__EW_GRAD_UNARY: return unary_rule(c->op);
    case CT__EW_GRAD_WHERE: return (grad_rule){"WhereBackward0", where_backward, NEED_A};
    case CT__EW_GRAD_MASKED_FILL: return (grad_rule){"MaskedFillBackward0", masked_fill_backward, NEED_B};
    }
    return (grad_rule){NULL, NULL, 0};
}

static int input_count(const ct__ew_grad_call *c) {
    switch (c->kind) {
    case CT__EW_GRAD_BINARY: return c->in[1] ? 2 : 1;
    case CT__EW_GRAD_WHERE: return 3;
    case CT__EW_GRAD_MASKED_FILL: return 2;
    default: return 1;
    }
}

/* What backward will read, given which inputs need a gradient: a product's gradient for a needs b, and so on. */
static unsigned needs_of(const ct__ew_grad_call *c, const ct__node *n) {
    unsigned needs = rule_of(c).needs;
    if (c->kind != CT__EW_GRAD_BINARY || !c->in[1]) return needs;
    bool ga = n->needs_grad[0], gb = n->needs_grad[1];
    switch (c->op) {
    case CT__EW_MUL: return (ga ? NEED_B : 0) | (gb ? NEED_A : 0);
    case CT__EW_DIV: return (ga ? NEED_B : 0) | (gb ? NEED_A | NEED_B : 0);
    case CT__EW_POW: return NEED_A | NEED_B | (gb ? NEED_OUT : 0);
    case CT__EW_REMAINDER: case CT__EW_FMOD: return c->no_derivative || !gb ? 0 : NEED_A | NEED_B;
    default: return needs;
    }
}

static bool any_requires_grad(const ct__ew_grad_call *c) {
    for (int i = 0; i < input_count(c); i++)
        if (c->in[i] && c->in[i]->requires_grad) return true;
    return false;
}

/* Saves input 0; for an in-place call, a copy of self's values before the write. */
static ct_status save_first_input(ct__node *n, const ct__ew_grad_call *c) {
    if (!c->self) {
        n->iargs[SAVED_A] = ct__save(n, c->in[0]);
        return CT_OK;
    }
    ct_tensor *d = ct_detach(c->self), *old = ct_clone(d); /* detached: the copy records nothing */
    ct_release(d);
    if (!old) return ct_last_status();
    n->iargs[SAVED_A] = ct__save(n, old);
    ct_release(old);
    return CT_OK;
}

/* The node's arguments: the scalar operand and +-alpha, or clamp's bounds; gelu's form. */
static void set_args(ct__node *n, const ct__ew_grad_call *c) {
    bool clamp = c->kind == CT__EW_GRAD_UNARY && c->op == CT__EW_CLAMP;
    n->args[0] = clamp ? c->lo : c->scalar;
    n->args[1] = clamp ? c->hi : c->kind == CT__EW_GRAD_BINARY && c->op == CT__EW_SUB ? -c->alpha : c->alpha;
    n->iargs[SAVED_A] = n->iargs[SAVED_B] = n->iargs[SAVED_OUT] = -1;
    n->iargs[3] = c->kind == CT__EW_GRAD_UNARY && c->op == CT__EW_GELU_TANH;
    if (c->kind == CT__EW_GRAD_BINARY && (c->op == CT__EW_REMAINDER || c->op == CT__EW_FMOD))
        n->iargs[3] = c->op == CT__EW_REMAINDER ? CT_ROUND_FLOOR : CT_ROUND_TRUNC;
}

ct_status ct__ew_grad_begin(const ct__ew_grad_call *c, ct__node **node) {
    *node = NULL;
    ct_status st;
    if (c->self && (st = ct__check_inplace(c->self, c->func)) != CT_OK) return st;
    grad_rule rule = rule_of(c);
    if (!rule.backward || !ct_is_grad_enabled() || !any_requires_grad(c)) return CT_OK;
    if (c->self && c->self->is_view)
        return ct__error(CT_ERR_NOT_IMPLEMENTED, c->func,
                         "an in-place operation on a view is not differentiable yet (the tensor it views would not "
                         "learn of the change): use the out-of-place op, or write under ct_no_grad_begin()");
    ct__node *n = ct__record(rule.name, rule.backward, input_count(c), c->in);
    if (!n) return ct_last_status();
    set_args(n, c);
    unsigned needs = needs_of(c, n);
    if ((needs & NEED_A) && (st = save_first_input(n, c)) != CT_OK) {
        ct__node_release(n);
        return st;
    }
    if (needs & NEED_B) n->iargs[SAVED_B] = ct__save(n, c->in[1]);
    *node = n;
    return CT_OK;
}

void ct__ew_grad_end(ct__node *node, const ct__ew_grad_call *c, ct_tensor *out) {
    if (!node) return;
    if (!out) {
        ct__node_release(node);
        return;
    }
    if (needs_of(c, node) & NEED_OUT) node->iargs[SAVED_OUT] = ct__save(node, out);
    ct__attach(node, out);
}
