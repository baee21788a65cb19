/* The CPU optimizer kernels: SGD and Adam/AdamW updates and the gradient-clipping passes over a table of contiguous
 * tensors (kernels/optim.h). One loop per tensor, split across the CPU pool's threads (parallel.h) when the tensor
 * is large; each element is independent, and the norms sum fixed parts in a fixed order, so no result depends on
 * the number of threads.
 *
 * The arithmetic follows PyTorch's single-tensor implementations operation by operation, in the parameter's dtype
 * with the Python-side scalars (1 - dampening, 1 - beta1, ...) computed in double and then converted, as PyTorch
 * converts a Python float to the tensor's type: grad.add(param, alpha=wd), buf.mul_(momentum).add_(grad,
 * alpha=1 - dampening), exp_avg.lerp_(grad, 1 - beta1), exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2),
 * denom = sqrt(v) / bias_correction2_sqrt + eps, param.addcdiv_(exp_avg, denom, -step_size). */
#include <math.h>
#include <stdbool.h>

#include "kernels/optim.h"
#include "parallel.h"

#define PARALLEL_MIN_ELEMENTS 32768
#define MAX_PARTS 256 /* the norms' partial sums: parts of at least PARALLEL_MIN_ELEMENTS, at most this many */

/* What a range function of this file needs: the hyperparameters, one tensor, and (for the clipping passes) the
 * norm's order, the scale or the bounds, and the partial results. */
typedef struct range_ctx {
    const ct__optim_hyper *h;
    const ct__optim_tensor *t;
    double p, lo, hi;
    int64_t part;
    double *partial;
} range_ctx;

/* Buffer k of the tensor, from element begin on (NULL stays NULL: an unused buffer). */
#define BUF(T, k) (t->buf[k] ? (T *)t->buf[k] + begin : NULL)


/* Vectorisation. Each loop is instantiated per variant with the switches as literal constants (GCC turns a select
 * on a loop-invariant flag into a branch, and a branch stops `omp simd`), and the file is built with
 * -fno-math-errno (CMakeLists.txt) so that sqrt is the bare instruction. Per-element results are unchanged: a
 * 4-wide SSE loop rounds each lane as the scalar loop does. Each DEFINE_ makes a range function over elements
 * [begin, end) of one tensor, which ct__parallel_for splits. */
#define SIMD _Pragma("omp simd")

/* ---- SGD ------------------------------------------------------------------------------------------------------- */

/* g: the gradient, negated for maximize, plus weight decay (DECAY); MODE 0: p += -lr g; MODE 1 (the buffer's first
 * step): b = g; MODE 2: b = momentum b + (1 - dampening) g; then p += -lr (NESTEROV ? g + momentum b : b). */
#define SGD_LOOP(DECAY, MODE, NESTEROV)                                                                            \
    SIMD for (int64_t i = 0; i < n; i++) {                                                                       \
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
    static void sgd_##T_(int64_t begin, int64_t end, void *arg) {                                                \
        typedef T_ T;                                                                                            \
        const ct__optim_hyper *h = ((range_ctx *)arg)->h;                                                        \
        const ct__optim_tensor *t = ((range_ctx *)arg)->t;                                                       \
        T *p = (T *)t->param + begin, *buf = BUF(T, 0);                                                          \
        const T *grad = (const T *)t->grad + begin;                                                              \
        const T wd = (T)h->weight_decay, mom = (T)h->momentum, damp = (T)(1 - h->dampening), neg_lr = (T)-h->lr; \
        const T sgn = h->maximize ? -1 : 1; /* -g exactly */                                                     \
        int64_t n = end - begin;                                                                                 \
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
    SIMD for (int64_t i = 0; i < n; i++) {                                                                       \
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
    static void adam_##T_(int64_t begin, int64_t end, void *arg) {                                               \
        typedef T_ T;                                                                                            \
        const ct__optim_hyper *h = ((range_ctx *)arg)->h;                                                        \
        const ct__optim_tensor *t = ((range_ctx *)arg)->t;                                                       \
        T *p = (T *)t->param + begin, *m = BUF(T, 0), *v = BUF(T, 1), *vmax = BUF(T, 2);                         \
        const T *grad = (const T *)t->grad + begin;                                                              \
        bool decay = h->weight_decay != 0;                                                                       \
        const T wd = (T)h->weight_decay, decay_mul = decay && h->decoupled ? (T)(1 - h->lr * h->weight_decay) : 1; \
        const T w1 = (T)(1 - h->beta1), beta2 = (T)h->beta2, w2 = (T)(1 - h->beta2), eps = (T)h->eps;            \
        const T bc2 = (T)t->bias_correction2_sqrt, neg_step = (T)-t->step_size, sgn = h->maximize ? -1 : 1;      \
        int64_t n = end - begin;                                                                                 \
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
    ct__range_fn fn = h->algo == CT__OPTIM_SGD ? (f32 ? sgd_float : sgd_double) : (f32 ? adam_float : adam_double);
    for (int k = 0; k < n; k++) {
        range_ctx c = {.h = h, .t = &tensors[k]};
        ct__parallel_for(tensors[k].numel, PARALLEL_MIN_ELEMENTS, fn, &c);
    }
    return CT_OK;
}

/* ---- clipping --------------------------------------------------------------------------------------------------- */

/* Part i of the norm pass: sum |x|^p in double (p = 2 and p = 1 without pow), or for p = inf the largest |x| (NaN
 * when some x is NaN), over elements [i part, (i + 1) part) into partial[i]. */
#define DEFINE_NORM_PART(T)                                                                                        \
    static void norm_part_##T(int64_t begin, int64_t end, void *arg) {                                           \
        const range_ctx *c = arg;                                                                                \
        const T *x = c->t->param;                                                                                \
        double p = c->p;                                                                                         \
        for (int64_t part = begin; part < end; part++) {                                                         \
            int64_t lo = part * c->part, hi = lo + c->part < c->t->numel ? lo + c->part : c->t->numel;           \
            double acc = 0;                                                                                      \
            if (isinf(p)) {                                                                                      \
                for (int64_t i = lo; i < hi; i++) {                                                              \
                    double a = fabs((double)x[i]);                                                               \
                    if (a != a || a > acc) acc = a;                                                              \
                    if (a != a) break;                                                                           \
                }                                                                                                \
            } else if (p == 2) {                                                                                 \
                for (int64_t i = lo; i < hi; i++) acc += (double)x[i] * (double)x[i];                            \
            } else if (p == 1) {                                                                                 \
                for (int64_t i = lo; i < hi; i++) acc += fabs((double)x[i]);                                     \
            } else {                                                                                             \
                for (int64_t i = lo; i < hi; i++) acc += pow(fabs((double)x[i]), p);                             \
            }                                                                                                    \
            c->partial[part] = acc;                                                                              \
        }                                                                                                        \
    }

DEFINE_NORM_PART(float)
DEFINE_NORM_PART(double)

ct_status ct__cpu_foreach_norm(ct_dtype dtype, const ct__optim_tensor *tensors, int n, double p, double *out) {
    double acc = 0, partial[MAX_PARTS];
    for (int k = 0; k < n; k++) {
        int64_t m = tensors[k].numel;
        if (m == 0) continue;
        int64_t part = (m + MAX_PARTS - 1) / MAX_PARTS;
        if (part < PARALLEL_MIN_ELEMENTS) part = PARALLEL_MIN_ELEMENTS;
        int64_t parts = (m + part - 1) / part;
        range_ctx c = {.t = &tensors[k], .p = p, .part = part, .partial = partial};
        ct__parallel_for(parts, 1, dtype == CT_FLOAT32 ? norm_part_float : norm_part_double, &c);
        for (int64_t i = 0; i < parts; i++) {
            if (isinf(p)) acc = (partial[i] != partial[i] || partial[i] > acc) ? partial[i] : acc;
            else acc += partial[i];
        }
    }
    *out = acc;
    return CT_OK;
}

#define DEFINE_SCALE_CLAMP(T)                                                                                      \
    static void scale_##T(int64_t begin, int64_t end, void *arg) {                                               \
        const range_ctx *c = arg;                                                                                \
        T *x = c->t->param, s = (T)c->p;                                                                         \
        SIMD                                                                                                     \
        for (int64_t i = begin; i < end; i++) x[i] = x[i] * s;                                                   \
    }                                                                                                            \
    static void clamp_##T(int64_t begin, int64_t end, void *arg) {                                               \
        const range_ctx *c = arg;                                                                                \
        T *x = c->t->param, lo = (T)c->lo, hi = (T)c->hi;                                                        \
        SIMD                                                                                                     \
        for (int64_t i = begin; i < end; i++) {                                                                  \
            T v = x[i] < lo ? lo : x[i];                                                                         \
            x[i] = v > hi ? hi : v;                                                                              \
        }                                                                                                        \
    }

DEFINE_SCALE_CLAMP(float)
DEFINE_SCALE_CLAMP(double)

ct_status ct__cpu_foreach_scale(ct_dtype dtype, const ct__optim_tensor *tensors, int n, double scale) {
    for (int k = 0; k < n; k++) {
        range_ctx c = {.t = &tensors[k], .p = scale};
        ct__parallel_for(tensors[k].numel, PARALLEL_MIN_ELEMENTS, dtype == CT_FLOAT32 ? scale_float : scale_double, &c);
    }
    return CT_OK;
}

ct_status ct__cpu_foreach_clamp(ct_dtype dtype, const ct__optim_tensor *tensors, int n, double lo, double hi) {
    for (int k = 0; k < n; k++) {
        range_ctx c = {.t = &tensors[k], .lo = lo, .hi = hi};
        ct__parallel_for(tensors[k].numel, PARALLEL_MIN_ELEMENTS, dtype == CT_FLOAT32 ? clamp_float : clamp_double, &c);
    }
    return CT_OK;
}
