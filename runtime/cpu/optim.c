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


/* Vectorisation. Each loop is instantiated per variant with the switches as literal constants (GCC turns a select
 * on a loop-invariant flag into a branch, and a branch stops `omp simd`), and the file is built with
 * -fno-math-errno (CMakeLists.txt) so that sqrt is the bare instruction. Per-element results are unchanged: a
 * 4-wide SSE loop rounds each lane as the scalar loop does. */
#define PARALLEL_SIMD _Pragma("omp parallel for simd if (n >= PARALLEL_MIN_ELEMENTS) schedule(static)")

/* ---- SGD ------------------------------------------------------------------------------------------------------- */

/* g: the gradient, negated for maximize, plus weight decay (DECAY); MODE 0: p += -lr g; MODE 1 (the buffer's first
 * step): b = g; MODE 2: b = momentum b + (1 - dampening) g; then p += -lr (NESTEROV ? g + momentum b : b). */
#define SGD_LOOP(DECAY, MODE, NESTEROV)                                                                            \
    PARALLEL_SIMD for (int64_t i = 0; i < n; i++) {                                                              \
        T g = grad[i] * sgn;                                                                                     \
        if (DECAY) g = g + wd * p[i];                                                                            \
        if (MODE == 0) {                                                                                         \
            p[i] = p[i] + neg_lr * g;                                                                            \
        } else {                                                                                                 \
            T b = MODE == 1 ? g : buf[i] * mom + damp * g;                                                       \
            buf[i] = b;                                                                                          \
            p[i] = p[i] + neg_lr * (NESTEROV ? g + mom * b : b);                                                 \
        }                                                                                                        \
    }

#define DEFINE_SGD(T_)                                                                                             \
    static void sgd_##T_(const ct__optim_hyper *h, const ct__optim_tensor *t) {                                  \
        typedef T_ T;                                                                                            \
        T *p = t->param, *buf = t->buf[0];                                                                       \
        const T *grad = t->grad;                                                                                 \
        const T wd = (T)h->weight_decay, mom = (T)h->momentum, damp = (T)(1 - h->dampening), neg_lr = (T)-h->lr; \
        const T sgn = h->maximize ? -1 : 1; /* -g exactly */                                                     \
        int64_t n = t->numel;                                                                                    \
        int mode = h->momentum == 0 ? 0 : t->first ? 1 : 2;                                                      \
        switch ((h->weight_decay != 0) * 6 + mode * 2 + (mode != 0 && h->nesterov)) {                            \
        case 0: SGD_LOOP(0, 0, 0) break;                                                                         \
        case 2: SGD_LOOP(0, 1, 0) break;                                                                         \
        case 3: SGD_LOOP(0, 1, 1) break;                                                                         \
        case 4: SGD_LOOP(0, 2, 0) break;                                                                         \
        case 5: SGD_LOOP(0, 2, 1) break;                                                                         \
        case 6: SGD_LOOP(1, 0, 0) break;                                                                         \
        case 8: SGD_LOOP(1, 1, 0) break;                                                                         \
        case 9: SGD_LOOP(1, 1, 1) break;                                                                         \
        case 10: SGD_LOOP(1, 2, 0) break;                                                                        \
        default: SGD_LOOP(1, 2, 1) break;                                                                        \
        }                                                                                                        \
    }

DEFINE_SGD(float)
DEFINE_SGD(double)

/* ---- Adam / AdamW --------------------------------------------------------------------------------------------- */

/* One element: the gradient (negated for maximize; plus L2 decay), the parameter's decoupled decay (AdamW:
 * decay_mul = 1 - lr wd, else 1, which changes nothing), exp_avg.lerp_(g, 1 - beta1) in torch.lerp's form for
 * weights below 0.5 (LOW) or not, exp_avg_sq * beta2 + (1 - beta2) g g, with AMSGRAD the running maximum (NaN
 * wins, as torch.maximum), then p += -step_size m / (sqrt(v) / bias_correction2_sqrt + eps). */
#define ADAM_LOOP(L2, LOW, AMSGRAD)                                                                                \
    PARALLEL_SIMD for (int64_t i = 0; i < n; i++) {                                                              \
        T g = grad[i] * sgn, pi = p[i];                                                                          \
        if (L2) g = g + wd * pi;                                                                                 \
        pi = pi * decay_mul;                                                                                     \
        T m0 = m[i];                                                                                             \
        T mi = LOW ? m0 + w1 * (g - m0) : g - (g - m0) * (1 - w1);                                               \
        T vi = v[i] * beta2 + w2 * g * g;                                                                        \
        m[i] = mi;                                                                                               \
        v[i] = vi;                                                                                               \
        if (AMSGRAD) {                                                                                           \
            T top = vmax[i];                                                                                     \
            vi = (top != top || top > vi) ? top : vi;                                                            \
            vmax[i] = vi;                                                                                        \
        }                                                                                                        \
        p[i] = pi + neg_step * mi / (SQRT(vi) / bc2 + eps);                                                      \
    }

#define DEFINE_ADAM(T_)                                                                                            \
    static void adam_##T_(const ct__optim_hyper *h, const ct__optim_tensor *t) {                                 \
        typedef T_ T;                                                                                            \
        T *p = t->param, *m = t->buf[0], *v = t->buf[1], *vmax = t->buf[2];                                      \
        const T *grad = t->grad;                                                                                 \
        bool decay = h->weight_decay != 0;                                                                       \
        const T wd = (T)h->weight_decay, decay_mul = decay && h->decoupled ? (T)(1 - h->lr * h->weight_decay) : 1; \
        const T w1 = (T)(1 - h->beta1), beta2 = (T)h->beta2, w2 = (T)(1 - h->beta2), eps = (T)h->eps;            \
        const T bc2 = (T)t->bias_correction2_sqrt, neg_step = (T)-t->step_size, sgn = h->maximize ? -1 : 1;      \
        int64_t n = t->numel;                                                                                    \
        switch ((decay && !h->decoupled) * 4 + (fabs((double)w1) < 0.5) * 2 + h->amsgrad) {                      \
        case 0: ADAM_LOOP(0, 0, 0) break;                                                                        \
        case 1: ADAM_LOOP(0, 0, 1) break;                                                                        \
        case 2: ADAM_LOOP(0, 1, 0) break;                                                                        \
        case 3: ADAM_LOOP(0, 1, 1) break;                                                                        \
        case 4: ADAM_LOOP(1, 0, 0) break;                                                                        \
        case 5: ADAM_LOOP(1, 0, 1) break;                                                                        \
        case 6: ADAM_LOOP(1, 1, 0) break;                                                                        \
        default: ADAM_LOOP(1, 1, 1) break;                                                                       \
        }                                                                                                        \
    }

#define SQRT(x) _Generic((x), float: sqrtf, default: sqrt)(x)
DEFINE_ADAM(float)
DEFINE_ADAM(double)

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
        PARALLEL_SIMD                                                                                            \
        for (int64_t i = 0; i < n; i++) x[i] = x[i] * s;                                                         \
    }                                                                                                            \
    static void clamp_##T(T *x, int64_t n, T lo, T hi) {                                                        \
        PARALLEL_SIMD                                                                                            \
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
