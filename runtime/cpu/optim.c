/* The CPU optimizer kernels: SGD and Adam/AdamW updates and the gradient-clipping passes over a table of contiguous
 * tensors (kernels/optim.h). One loop per tensor, split across OpenMP threads when the tensor is large; each
 * element is independent, so the result does not depend on the number of threads.
 *
 * The arithmetic follows PyTorch's single-tensor implementations operation by operation, in the parameter's dtype
 * with the Python-side scalars (1 - dampening, 1 - beta1, ...) computed in double and then converted, as PyTorch
 * converts a Python float to the tensor's type: grad.add(param, alpha=wd), buf.mul_(momentum).add_(grad,
 * alpha=1 - dampening), exp_avg.lerp_(grad, 1 - beta1), exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2),
 * denom = sqrt(v) / bias_correction2_sqrt + eps, param.addcdiv_(exp_avg, denom, -step_size). */
#include <math.h>
#include <stdbool.h>

#include "kernels/optim.h"

#define PARALLEL_MIN_ELEMENTS 32768

/* ---- SGD ------------------------------------------------------------------------------------------------------- */

#define DEFINE_SGD(T)                                                                                              \
    static void sgd_##T(const ct__optim_hyper *h, const ct__optim_tensor *t) {                                   \
        T *p = t->param, *buf = t->buf[0];                                                                       \
        const T *grad = t->grad;                                                                                 \
        const T wd = (T)h->weight_decay, mom = (T)h->momentum, damp = (T)(1 - h->dampening), neg_lr = (T)-h->lr; \
        const bool decay = h->weight_decay != 0, use_mom = h->momentum != 0, first = t->first != 0;              \
        const bool nesterov = h->nesterov, maximize = h->maximize;                                               \
        int64_t n = t->numel;                                                                                    \
        _Pragma("omp parallel for if (n >= PARALLEL_MIN_ELEMENTS) schedule(static)")                             \
        for (int64_t i = 0; i < n; i++) {                                                                        \
            T g = maximize ? -grad[i] : grad[i];                                                                 \
            if (decay) g = g + wd * p[i];                                                                        \
            if (use_mom) {                                                                                       \
                T b = first ? g : buf[i] * mom + damp * g;                                                       \
                buf[i] = b;                                                                                      \
                g = nesterov ? g + mom * b : b;                                                                  \
            }                                                                                                    \
            p[i] = p[i] + neg_lr * g;                                                                            \
        }                                                                                                        \
    }

DEFINE_SGD(float)
DEFINE_SGD(double)

/* ---- Adam / AdamW --------------------------------------------------------------------------------------------- */

/* torch.lerp's formula: the weight < 0.5 form from the start, the other from the end. */
#define LERP(a, b, w) (fabs((double)(w)) < 0.5 ? (a) + (w) * ((b) - (a)) : (b) - ((b) - (a)) * (1 - (w)))
/* torch.maximum: NaN wins. */
#define NAN_MAX(a, b) (((a) != (a) || (a) > (b)) ? (a) : (b))

#define DEFINE_ADAM(T, SQRT)                                                                                      \
    static void adam_##T(const ct__optim_hyper *h, const ct__optim_tensor *t) {                                  \
        T *p = t->param, *m = t->buf[0], *v = t->buf[1], *vmax = t->buf[2];                                      \
        const T *grad = t->grad;                                                                                 \
        const T wd = (T)h->weight_decay, decay_factor = (T)(1 - h->lr * h->weight_decay);                        \
        const T w1 = (T)(1 - h->beta1), beta2 = (T)h->beta2, w2 = (T)(1 - h->beta2), eps = (T)h->eps;            \
        const T bc2 = (T)t->bias_correction2_sqrt, neg_step = (T)-t->step_size;                                  \
        const bool decay = h->weight_decay != 0, decoupled = h->decoupled, amsgrad = h->amsgrad;                 \
        const bool maximize = h->maximize;                                                                       \
        int64_t n = t->numel;                                                                                    \
        _Pragma("omp parallel for if (n >= PARALLEL_MIN_ELEMENTS) schedule(static)")                             \
        for (int64_t i = 0; i < n; i++) {                                                                        \
            T g = maximize ? -grad[i] : grad[i], pi = p[i];                                                      \
            if (decay) {                                                                                         \
                if (decoupled) pi = pi * decay_factor;                                                           \
                else g = g + wd * pi;                                                                            \
            }                                                                                                    \
            T mi = LERP(m[i], g, w1);                                                                            \
            T vi = v[i] * beta2 + w2 * g * g;                                                                    \
            m[i] = mi;                                                                                           \
            v[i] = vi;                                                                                           \
            if (amsgrad) vi = vmax[i] = NAN_MAX(vmax[i], vi);                                                    \
            T denom = SQRT(vi) / bc2 + eps;                                                                      \
            p[i] = pi + neg_step * mi / denom;                                                                   \
        }                                                                                                        \
    }

DEFINE_ADAM(float, sqrtf)
DEFINE_ADAM(double, sqrt)

ct_status ct__cpu_optim_step(const ct__optim_hyper *h, ct_dtype dtype, const ct__optim_tensor *tensors, int n) {
    bool f32 = dtype == CT_FLOAT32;
    for (int k = 0; k < n; k++) {
        if (h->algo == CT__OPTIM_SGD) f32 ? sgd_float(h, &tensors[k]) : sgd_double(h, &tensors[k]);
        else f32 ? adam_float(h, &tensors[k]) : adam_double(h, &tensors[k]);
    }
    return CT_OK;
}

/* ---- clipping --------------------------------------------------------------------------------------------------- */

/* sum |x|^p in double; p = 2 and p = 1 without pow. */
#define DEFINE_POWER_SUM(T)                                                                                        \
    static double power_sum_##T(const T *x, int64_t n, double p) {                                               \
        double sum = 0;                                                                                          \
        if (p == 2) {                                                                                            \
            _Pragma("omp parallel for if (n >= PARALLEL_MIN_ELEMENTS) reduction(+ : sum) schedule(static)")      \
            for (int64_t i = 0; i < n; i++) sum += (double)x[i] * (double)x[i];                                  \
        } else if (p == 1) {                                                                                     \
            _Pragma("omp parallel for if (n >= PARALLEL_MIN_ELEMENTS) reduction(+ : sum) schedule(static)")      \
            for (int64_t i = 0; i < n; i++) sum += fabs((double)x[i]);                                           \
        } else {                                                                                                 \
            _Pragma("omp parallel for if (n >= PARALLEL_MIN_ELEMENTS) reduction(+ : sum) schedule(static)")      \
            for (int64_t i = 0; i < n; i++) sum += pow(fabs((double)x[i]), p);                                   \
        }                                                                                                        \
        return sum;                                                                                              \
    }                                                                                                            \
    /* the largest |x|, NaN when some x is NaN */                                                                \
    static double max_abs_##T(const T *x, int64_t n) {                                                          \
        double best = 0;                                                                                         \
        int nan = 0;                                                                                             \
        _Pragma("omp parallel for if (n >= PARALLEL_MIN_ELEMENTS) reduction(max : best) reduction(| : nan)")     \
        for (int64_t i = 0; i < n; i++) {                                                                        \
            double a = fabs((double)x[i]);                                                                       \
            if (a != a) nan = 1;                                                                                 \
            else if (a > best) best = a;                                                                         \
        }                                                                                                        \
        return nan ? NAN : best;                                                                                 \
    }

DEFINE_POWER_SUM(float)
DEFINE_POWER_SUM(double)

ct_status ct__cpu_foreach_norm(ct_dtype dtype, const ct__optim_tensor *tensors, int n, double p, double *out) {
    bool f32 = dtype == CT_FLOAT32;
    double acc = 0;
    for (int k = 0; k < n; k++) {
        const void *x = tensors[k].param;
        int64_t m = tensors[k].numel;
        if (isinf(p)) {
            double a = f32 ? max_abs_float(x, m) : max_abs_double(x, m);
            acc = (a != a || a > acc) ? a : acc;
        } else {
            acc += f32 ? power_sum_float(x, m, p) : power_sum_double(x, m, p);
        }
    }
    *out = acc;
    return CT_OK;
}

#define DEFINE_SCALE_CLAMP(T)                                                                                      \
    static void scale_##T(T *x, int64_t n, T s) {                                                                \
        _Pragma("omp parallel for if (n >= PARALLEL_MIN_ELEMENTS) schedule(static)")                             \
        for (int64_t i = 0; i < n; i++) x[i] = x[i] * s;                                                         \
    }                                                                                                            \
    static void clamp_##T(T *x, int64_t n, T lo, T hi) {                                                        \
        _Pragma("omp parallel for if (n >= PARALLEL_MIN_ELEMENTS) schedule(static)")                             \
        for (int64_t i = 0; i < n; i++) {                                                                        \
            T v = x[i] < lo ? lo : x[i];                                                                         \
            x[i] = v > hi ? hi : v;                                                                              \
        }                                                                                                        \
    }

DEFINE_SCALE_CLAMP(float)
DEFINE_SCALE_CLAMP(double)

ct_status ct__cpu_foreach_scale(ct_dtype dtype, const ct__optim_tensor *tensors, int n, double scale) {
    for (int k = 0; k < n; k++) {
        if (dtype == CT_FLOAT32) scale_float(tensors[k].param, tensors[k].numel, (float)scale);
        else scale_double(tensors[k].param, tensors[k].numel, scale);
    }
    return CT_OK;
}

ct_status ct__cpu_foreach_clamp(ct_dtype dtype, const ct__optim_tensor *tensors, int n, double lo, double hi) {
    for (int k = 0; k < n; k++) {
        if (dtype == CT_FLOAT32) clamp_float(tensors[k].param, tensors[k].numel, (float)lo, (float)hi);
        else clamp_double(tensors[k].param, tensors[k].numel, lo, hi);
    }
    return CT_OK;
}
