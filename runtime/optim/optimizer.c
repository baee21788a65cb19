/* The optimizers' front end: construction and its checks (PyTorch's words), parameter groups, zero_grad, and step,
 * which validates every gradient first, makes missing state, gathers each group's parameters into a table of
 * contiguous buffers per (device, dtype), and hands each table to one backend launch (kernels/optim.h).
 *
 * A non-contiguous parameter or gradient is updated through a contiguous copy (copied back after the launch), so
 * the kernels see flat arrays only; state buffers are always contiguous. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/optim.h"
#include "optim_internal.h"

/* ---- small helpers --------------------------------------------------------------------------------------------- */

const char *ct__optim_kind_name(ct__optim_kind kind) {
    static const char *names[] = {"SGD", "Adam", "AdamW"};
    return names[kind];
}

int ct__optim_buf_names(ct__optim_kind kind, const char *const **names) {
    static const char *const sgd[] = {"momentum_buffer"};
    static const char *const adam[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    *names = kind == CT__SGD ? sgd : adam;
    return kind == CT__SGD ? 1 : 3;
}

ct_tensor *ct__unscoped(ct_tensor *t) {
    if (t && t->scope) ct__scope_forget(t);
    return t;
}

ct_status ct__optim_copy(ct_tensor *dst, const ct_tensor *src) {
    return CT_DISPATCH(dst->storage->device, copy, ct__view_of(dst), ct__view_of(src));
}

ct_status ct__optim_fill(ct_tensor *t, double value) {
    return CT_DISPATCH(t->storage->device, fill, ct__view_of(t), value);
}

ct_tensor *ct__optim_contiguous(ct_tensor *t) {
    if (ct_is_contiguous(t)) return ct_retain(t);
    ct_tensor *c = ct__unscoped(ct__tensor_new(t->ndim, t->shape, t->dtype, t->storage->device, false));
    if (c && ct__optim_copy(c, t) != CT_OK) {
        ct__tensor_decref(c);
        return NULL;
    }
    return c;
}

void ct__param_state_clear(ct__param_state *s) {
    ct__tensor_decref(s->step);
    for (int k = 0; k < CT__OPTIM_BUFS; k++) ct__tensor_decref(s->buf[k]);
    memset(s, 0, sizeof *s);
}

ct_optim_options ct_optim_sgd_defaults(void) {
    return (ct_optim_options){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
}

ct_optim_options ct_optim_adam_defaults(void) {
    return (ct_optim_options){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
}

ct_optim_options ct_optim_adamw_defaults(void) {
    ct_optim_options o = ct_optim_adam_defaults();
    o.weight_decay = 1e-2;
    return o;
}

static ct_optim_options defaults_of(ct__optim_kind kind) {
    return kind == CT__SGD ? ct_optim_sgd_defaults() : kind == CT__ADAM ? ct_optim_adam_defaults()
                                                                        : ct_optim_adamw_defaults();
}

/* ---- option checks: PyTorch's conditions, order and words --------------------------------------------------- */

#define BAD_VALUE(what, v)                                                                                 \
    ct__error(CT_ERR_INVALID_ARGUMENT, func, "Invalid " what ": %s", ct__py_float((v), num, sizeof num))

ct_status ct__optim_check_options(ct__optim_kind kind, const ct_optim_options *o, const char *func) {
    char num[CT__PY_FLOAT_BUF];
    if (kind == CT__SGD) {
        if (o->lr < 0.0) return BAD_VALUE("learning rate", o->lr);
        if (o->momentum < 0.0) return BAD_VALUE("momentum value", o->momentum);
        if (o->weight_decay < 0.0) return BAD_VALUE("weight_decay value", o->weight_decay);
        if (o->nesterov && (o->momentum <= 0 || o->dampening != 0))
            return ct__error(CT_ERR_INVALID_ARGUMENT, func, "Nesterov momentum requires a momentum and zero dampening");
        return CT_OK;
    }
    if (!(0.0 <= o->lr)) return BAD_VALUE("learning rate", o->lr);
    if (!(0.0 <= o->eps)) return BAD_VALUE("epsilon value", o->eps);
    if (!(0.0 <= o->beta1 && o->beta1 < 1.0)) return BAD_VALUE("beta parameter at index 0", o->beta1);
    if (!(0.0 <= o->beta2 && o->beta2 < 1.0)) return BAD_VALUE("beta parameter at index 1", o->beta2);
    if (!(0.0 <= o->weight_decay)) return BAD_VALUE("weight_decay value", o->weight_decay);
    return CT_OK;
}

/* ---- construction ---------------------------------------------------------------------------------------------- */

static ct_status check_param(const ct_tensor *p, int index, const char *func) {
    if (!p) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "parameter %d of the group is NULL", index);
    if (p->grad_fn) /* made by an op: not a leaf */
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "can't optimize a non-leaf Tensor");
    if (p->dtype == CT_FLOAT16 || p->dtype == CT_BFLOAT16)
        return ct__error(CT_ERR_NOT_IMPLEMENTED, func, "optimizers do not support %s parameters yet",
                         ct_dtype_name(p->dtype));
    if (p->dtype != CT_FLOAT32 && p->dtype != CT_FLOAT64)
        return ct__error(CT_ERR_DTYPE, func,
                         "optimizers update floating-point parameters (float32, float64), but parameter %d is %s",
                         index, ct_dtype_name(p->dtype));
    return CT_OK;
}

static bool optimizer_holds(const ct_optimizer *opt, const ct_tensor *p) {
    for (int g = 0; g < opt->ngroups; g++)
        for (int i = 0; i < opt->groups[g].nparams; i++)
            if (opt->groups[g].params[i] == p) return true;
    return false;
}

/* Every check of add_param_group, before anything changes. */
static ct_status check_group(const ct_optimizer *opt, const ct_param_group *group, const ct_optim_options *o,
                             const char *func) {
    if (!group) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "'group' is NULL");
    if (group->nparams < 0 || (group->nparams > 0 && !group->params))
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "the group has %d parameters at %p", group->nparams,
                         (void *)group->params);
    ct_status st = ct__optim_check_options(opt->kind, o, func);
    if (st != CT_OK) return st;
    for (int i = 0; i < group->nparams; i++) {
        if ((st = check_param(group->params[i], i, func)) != CT_OK) return st;
        for (int j = 0; j < i; j++)
            if (group->params[j] == group->params[i])
                return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                                 "optimizer contains a parameter group with duplicate parameters (%d and %d)", j, i);
    }
    for (int i = 0; i < group->nparams; i++)
        if (optimizer_holds(opt, group->params[i]))
            return ct__error(CT_ERR_INVALID_ARGUMENT, func, "some parameters appear in more than one parameter group");
    return CT_OK;
}

static ct_status add_group(ct_optimizer *opt, const ct_param_group *group, const char *func) {
    const ct_optim_options *o = group && group->options ? group->options : &opt->defaults;
    ct_status st = check_group(opt, group, o, func);
    if (st != CT_OK) return st;
    if (opt->ngroups == opt->cap) {
        int cap = opt->cap ? 2 * opt->cap : 4;
        ct__param_group *groups = realloc(opt->groups, sizeof *groups * (size_t)cap);
        if (!groups) return ct__error(CT_ERR_OUT_OF_MEMORY, func, "out of memory");
        opt->groups = groups, opt->cap = cap;
    }
    ct__param_group *g = &opt->groups[opt->ngroups];
    *g = (ct__param_group){.options = *o, .initial_lr = NAN, .nparams = group->nparams};
    g->params = calloc((size_t)group->nparams + 1, sizeof *g->params);
    g->state = calloc((size_t)group->nparams + 1, sizeof *g->state);
    if (!g->params || !g->state) {
        free(g->params), free(g->state);
        return ct__error(CT_ERR_OUT_OF_MEMORY, func, "out of memory");
    }
    for (int i = 0; i < group->nparams; i++) g->params[i] = ct_retain(group->params[i]);
    opt->ngroups++;
    return CT_OK;
}

static ct_optimizer *optimizer_new(ct__optim_kind kind, const ct_param_group *groups, int ngroups,
                                   const ct_optim_options *defaults, const char *func) {
    int64_t total = 0;
    for (int g = 0; groups && g < ngroups; g++) total += groups[g].nparams > 0 ? groups[g].nparams : 0;
    if (!groups || ngroups <= 0 || total == 0) {
        ct__error(CT_ERR_INVALID_ARGUMENT, func, "optimizer got an empty parameter list");
        return NULL;
    }
    ct_optim_options d = defaults ? *defaults : defaults_of(kind);
    if (ct__optim_check_options(kind, &d, func) != CT_OK) return NULL;
    ct_optimizer *opt = calloc(1, sizeof *opt);
    if (!opt) {
        ct__error(CT_ERR_OUT_OF_MEMORY, func, "out of memory");
        return NULL;
    }
    opt->kind = kind, opt->defaults = d;
    for (int g = 0; g < ngroups; g++) {
        if (add_group(opt, &groups[g], func) != CT_OK) {
            ct_optimizer_free(opt);
            return NULL;
        }
    }
    return opt;
}

ct_optimizer *ct_optim_sgd_new(const ct_param_group *groups, int ngroups, const ct_optim_options *defaults) {
    return optimizer_new(CT__SGD, groups, ngroups, defaults, __func__);
}

ct_optimizer *ct_optim_adam_new(const ct_param_group *groups, int ngroups, const ct_optim_options *defaults) {
    return optimizer_new(CT__ADAM, groups, ngroups, defaults, __func__);
}

ct_optimizer *ct_optim_adamw_new(const ct_param_group *groups, int ngroups, const ct_optim_options *defaults) {
    return optimizer_new(CT__ADAMW, groups, ngroups, defaults, __func__);
}

void ct_optimizer_free(ct_optimizer *opt) {
    if (!opt) return;
    for (int g = 0; g < opt->ngroups; g++) {
        for (int i = 0; i < opt->groups[g].nparams; i++) {
            ct__param_state_clear(&opt->groups[g].state[i]);
            ct__tensor_decref(opt->groups[g].params[i]);
        }
        free(opt->groups[g].params);
        free(opt->groups[g].state);
    }
    free(opt->groups);
    free(opt);
}

ct_status ct_optimizer_add_param_group(ct_optimizer *opt, const ct_param_group *group) {
    if (!opt) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'opt' is NULL");
    return add_group(opt, group, __func__);
}

/* ---- accessors ------------------------------------------------------------------------------------------------- */

const char *ct_optimizer_name(const ct_optimizer *opt) { return opt ? ct__optim_kind_name(opt->kind) : ""; }

int ct_optimizer_num_param_groups(const ct_optimizer *opt) { return opt ? opt->ngroups : 0; }

static ct_status check_group_index(const ct_optimizer *opt, int g, const char *func) {
    if (!opt) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "'opt' is NULL");
    if (g < 0 || g >= opt->ngroups)
        return ct__error(CT_ERR_INDEX, func, "param group %d is out of range: the optimizer has %d", g, opt->ngroups);
    return CT_OK;
}

int ct_optimizer_group_size(const ct_optimizer *opt, int g) {
    return check_group_index(opt, g, __func__) == CT_OK ? opt->groups[g].nparams : -1;
}

ct_tensor *ct_optimizer_param(const ct_optimizer *opt, int g, int i) {
    if (check_group_index(opt, g, __func__) != CT_OK) return NULL;
    if (i < 0 || i >= opt->groups[g].nparams) {
        CT_FAIL(CT_ERR_INDEX, "parameter %d is out of range: param group %d has %d", i, g, opt->groups[g].nparams);
        return NULL;
    }
    return opt->groups[g].params[i];
}

ct_status ct_optimizer_get_options(const ct_optimizer *opt, int g, ct_optim_options *out) {
    ct_status st = check_group_index(opt, g, __func__);
    if (st != CT_OK) return st;
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'out' is NULL");
    *out = opt->groups[g].options;
    return CT_OK;
}

ct_status ct_optimizer_set_options(ct_optimizer *opt, int g, const ct_optim_options *options) {
    ct_status st = check_group_index(opt, g, __func__);
    if (st != CT_OK) return st;
    if (!options) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'options' is NULL");
    if ((st = ct__optim_check_options(opt->kind, options, __func__)) != CT_OK) return st;
    opt->groups[g].options = *options;
    return CT_OK;
}

double ct_optimizer_get_lr(const ct_optimizer *opt, int g) {
    return check_group_index(opt, g, __func__) == CT_OK ? opt->groups[g].options.lr : NAN;
}

ct_status ct_optimizer_set_lr(ct_optimizer *opt, int g, double lr) {
    ct_status st = check_group_index(opt, g, __func__);
    if (st != CT_OK) return st;
    if (lr < 0.0) {
        char num[CT__PY_FLOAT_BUF];
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "Invalid learning rate: %s", ct__py_float(lr, num, sizeof num));
    }
    opt->groups[g].options.lr = lr;
    return CT_OK;
}

/* ---- zero_grad --------------------------------------------------------------------------------------------------- */

ct_status ct_optimizer_zero_grad(ct_optimizer *opt, bool set_to_none) {
    if (!opt) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'opt' is NULL");
    for (int g = 0; g < opt->ngroups; g++) {
        for (int i = 0; i < opt->groups[g].nparams; i++) {
            ct_tensor *p = opt->groups[g].params[i], *grad = p->grad;
            if (!grad) continue;
            ct_status st = set_to_none ? ct_set_grad(p, NULL) : ct__optim_fill(grad, 0.0);
            if (st != CT_OK) return st;
            if (!set_to_none) ct__bump_version(grad);
        }
    }
    return CT_OK;
}

/* ---- step ------------------------------------------------------------------------------------------------------- */

/* A gradient must match its parameter (ct_set_grad ensures it, but a parameter can be moved or reshaped since). */
static ct_status check_grad(const ct_tensor *p, const ct_tensor *grad, int g, int i) {
    char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF], da[16], db[16];
    if (grad->dtype != p->dtype)
        return ct__error(CT_ERR_DTYPE, "ct_optimizer_step", "param_groups[%d] parameter %d is %s but its grad is %s", g,
                         i, ct_dtype_name(p->dtype), ct_dtype_name(grad->dtype));
    if (grad->ndim != p->ndim || memcmp(grad->shape, p->shape, sizeof(int64_t) * (size_t)p->ndim) != 0)
        return ct__error(CT_ERR_SHAPE, "ct_optimizer_step", "param_groups[%d] parameter %d has shape %s but its grad %s",
                         g, i, ct__shape_str(p->ndim, p->shape, a, sizeof a),
                         ct__shape_str(grad->ndim, grad->shape, b, sizeof b));
    if (!ct_device_equal(grad->storage->device, p->storage->device))
        return ct__error(CT_ERR_DEVICE, "ct_optimizer_step", "param_groups[%d] parameter %d is on %s but its grad on %s",
                         g, i, ct_device_str(p->storage->device, da, sizeof da),
                         ct_device_str(grad->storage->device, db, sizeof db));
    return CT_OK;
}

/* A contiguous, unscoped buffer shaped like p: zeros, or uninitialised. */
static ct_tensor *state_buffer(const ct_tensor *p, bool zero) {
    ct_tensor *t = ct__unscoped(ct__tensor_new(p->ndim, p->shape, p->dtype, p->storage->device, false));
    if (t && zero && ct__optim_fill(t, 0.0) != CT_OK) {
        ct__tensor_decref(t);
        return NULL;
    }
    return t;
}

/* Makes the state a parameter is missing (lazy initialisation, as PyTorch's _init_group) and fills its table row:
 * the state buffers and, for Adam, the step count and its bias corrections. */
static ct_status prepare_state(const ct_optimizer *opt, const ct__param_group *g, ct__param_state *s,
                               const ct_tensor *p, ct__optim_tensor *row) {
    const ct_optim_options *o = &g->options;
    if (opt->kind == CT__SGD) {
        if (o->momentum != 0 && !s->buf[0]) {
            if (!(s->buf[0] = state_buffer(p, false))) return ct_last_status();
            row->first = 1; /* the kernel sets buf = grad */
        }
    } else {
        if (!s->step && !(s->step = ct__unscoped(ct_zeros(0, NULL, CT_FLOAT32, CT_DEVICE_CPU)))) return ct_last_status();
        for (int k = 0; k < (o->amsgrad ? 3 : 2); k++)
            if (!s->buf[k] && !(s->buf[k] = state_buffer(p, true))) return ct_last_status();
        float *step = ct_data_ptr(s->step);
        *step += 1;
        double t = *step;
        row->step_size = o->lr / (1 - pow(o->beta1, t));
        row->bias_correction2_sqrt = pow(1 - pow(o->beta2, t), 0.5);
    }
    for (int k = 0; k < CT__OPTIM_BUFS; k++) row->buf[k] = s->buf[k] ? ct_data_ptr(s->buf[k]) : NULL;
    return CT_OK;
}

static ct__optim_hyper hyper_of(const ct_optimizer *opt, const ct_optim_options *o) {
    return (ct__optim_hyper){
        .algo = opt->kind == CT__SGD ? CT__OPTIM_SGD : CT__OPTIM_ADAM,
        .lr = o->lr, .weight_decay = o->weight_decay, .momentum = o->momentum, .dampening = o->dampening,
        .beta1 = o->beta1, .beta2 = o->beta2, .eps = o->eps,
        .nesterov = o->nesterov, .maximize = o->maximize, .amsgrad = o->amsgrad, .decoupled = opt->kind == CT__ADAMW,
    };
}

/* The contiguous tensors a launch reads and writes for one parameter: work is p itself (one more reference) or a
 * contiguous copy of it (to be copied back), grad_work likewise for the gradient. */
typedef struct work_item {
    ct_tensor *param, *work, *grad_work;
} work_item;

static ct_status make_work(ct_tensor *p, work_item *w) {
    w->param = p;
    w->work = ct__optim_contiguous(p);
    w->grad_work = ct__optim_contiguous(p->grad);
    return w->work && w->grad_work ? CT_OK : ct_last_status();
}

static void drop_work(work_item *items, int n) {
    for (int k = 0; k < n; k++) ct__tensor_decref(items[k].work), ct__tensor_decref(items[k].grad_work);
}

/* One backend launch over a table of n rows, all of dtype on device. */
static ct_status launch_step(ct_device device, const ct__optim_hyper *h, ct_dtype dtype, const ct__optim_tensor *rows,
                             int n) {
    if (device.type == CT_CPU) return ct__cpu_optim_step(h, dtype, rows, n);
#ifdef CTORCH_HAVE_CUDA
    int64_t bytes = (int64_t)ct__cuda_optim_table_bytes(n);
    ct_tensor *scratch = ct__tensor_new(1, &bytes, CT_UINT8, device, false);
    if (!scratch) return ct_last_status();
    ct_status st = ct__cuda_optim_step(device.index, h, dtype, rows, n, ct_data_ptr(scratch));
    ct_release(scratch);
    return st;
#else
    return CT_FAIL(CT_ERR_NO_CUDA, "ctorch was built without CUDA");
#endif
}

/* Updates the parameters of group g listed in idx[0..n-1] (all with a gradient, one device and dtype). */
static ct_status step_bucket(ct_optimizer *opt, int g, const int *idx, int n) {
    ct__param_group *grp = &opt->groups[g];
    ct__optim_tensor *rows = calloc((size_t)n, sizeof *rows);
    work_item *items = calloc((size_t)n, sizeof *items);
    ct_status st = rows && items ? CT_OK : CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
    for (int k = 0; st == CT_OK && k < n; k++) {
        ct_tensor *p = grp->params[idx[k]];
        if ((st = make_work(p, &items[k])) != CT_OK) break;
        rows[k].param = ct_data_ptr(items[k].work);
        rows[k].grad = ct_data_ptr(items[k].grad_work);
        rows[k].numel = ct_numel(p);
        st = prepare_state(opt, grp, &grp->state[idx[k]], p, &rows[k]);
    }
    if (st == CT_OK) {
        ct__optim_hyper h = hyper_of(opt, &grp->options);
        const ct_tensor *p0 = grp->params[idx[0]];
        st = launch_step(p0->storage->device, &h, p0->dtype, rows, n);
    }
    for (int k = 0; st == CT_OK && k < n; k++) {
        if (items[k].work != items[k].param) st = ct__optim_copy(items[k].param, items[k].work);
        ct__bump_version(items[k].param);
    }
    if (items) drop_work(items, n);
    free(rows), free(items);
    return st;
}

static bool same_bucket(const ct_tensor *a, const ct_tensor *b) {
    return a->dtype == b->dtype && ct_device_equal(a->storage->device, b->storage->device);
}

/* Steps group g: its parameters with a gradient, one launch per (device, dtype) among them. */
static ct_status step_group(ct_optimizer *opt, int g) {
    ct__param_group *grp = &opt->groups[g];
    int *todo = malloc(sizeof(int) * (size_t)(grp->nparams + 1)), *idx = malloc(sizeof(int) * (size_t)(grp->nparams + 1));
    if (!todo || !idx) {
        free(todo), free(idx);
        return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
    }
    int ntodo = 0;
    for (int i = 0; i < grp->nparams; i++)
        if (grp->params[i]->grad) todo[ntodo++] = i;
    ct_status st = CT_OK;
    while (st == CT_OK && ntodo > 0) {
        const ct_tensor *lead = grp->params[todo[0]];
        int n = 0, rest = 0;
        for (int k = 0; k < ntodo; k++) {
            if (same_bucket(grp->params[todo[k]], lead)) idx[n++] = todo[k];
            else todo[rest++] = todo[k];
        }
        ntodo = rest;
        st = step_bucket(opt, g, idx, n);
    }
    free(todo), free(idx);
    return st;
}

ct_status ct_optimizer_step(ct_optimizer *opt) {
    if (!opt) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'opt' is NULL");
    for (int g = 0; g < opt->ngroups; g++) {
        for (int i = 0; i < opt->groups[g].nparams; i++) {
            const ct_tensor *p = opt->groups[g].params[i];
            ct_status st = p->grad ? check_grad(p, p->grad, g, i) : CT_OK;
            if (st != CT_OK) return st;
        }
    }
    for (int g = 0; g < opt->ngroups; g++) {
        ct_status st = step_group(opt, g);
        if (st != CT_OK) return st;
    }
    return CT_OK;
}
