/* Optimizer state dicts in PyTorch's layout: taking one (sharing the live state tensors, as PyTorch does), building
 * one by hand, naming its hyperparameters as param_groups does, and loading one, which checks everything (kind,
 * groups, indices, names, shapes, completeness, options) before it changes anything. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim_internal.h"

/* ---- building and freeing ------------------------------------------------------------------------------------- */

static int kind_of_name(const char *name) {
    for (int k = CT__SGD; k <= CT__ADAMW; k++)
        if (name && strcmp(name, ct__optim_kind_name((ct__optim_kind)k)) == 0) return k;
    return -1;
}

ct_optim_state_dict *ct_optim_state_dict_new(const char *optimizer) {
    if (kind_of_name(optimizer) < 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "unknown optimizer '%s' (expected SGD, Adam or AdamW)",
                optimizer ? optimizer : "(null)");
        return NULL;
    }
    ct_optim_state_dict *sd = calloc(1, sizeof *sd);
    if (!sd) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    snprintf(sd->optimizer, sizeof sd->optimizer, "%s", optimizer);
    return sd;
}

void ct_optim_state_dict_free(ct_optim_state_dict *sd) {
    if (!sd) return;
    for (int i = 0; i < sd->nentries; i++) ct__tensor_decref(sd->entries[i].value);
    for (int g = 0; g < sd->ngroups; g++) free(sd->groups[g].params);
    free(sd->entries);
    free(sd->groups);
    free(sd);
}

ct_status ct_optim_state_dict_add_entry(ct_optim_state_dict *sd, int64_t param, const char *name, ct_tensor *value) {
    if (!sd) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'sd' is NULL");
    ct_status st = CT_CHECK_TENSOR(value);
    if (st != CT_OK) return st;
    if (!name || strlen(name) >= sizeof sd->entries[0].name)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "state name '%s' is NULL or too long", name ? name : "(null)");
    ct_optim_state_entry *entries = realloc(sd->entries, sizeof *entries * (size_t)(sd->nentries + 1));
    if (!entries) return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
    sd->entries = entries;
    ct_optim_state_entry *e = &sd->entries[sd->nentries++];
    e->param = param;
    snprintf(e->name, sizeof e->name, "%s", name);
    e->value = ct_retain(value);
    return CT_OK;
}

ct_status ct_optim_state_dict_add_group(ct_optim_state_dict *sd, const ct_optim_options *options, double initial_lr,
                                        int nparams, const int64_t *params) {
    if (!sd || !options) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'%s' is NULL", sd ? "options" : "sd");
    if (nparams < 0 || (nparams > 0 && !params))
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "%d parameter indices at %p", nparams, (const void *)params);
    ct_optim_group_record *groups = realloc(sd->groups, sizeof *groups * (size_t)(sd->ngroups + 1));
    if (!groups) return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
    sd->groups = groups;
    int64_t *copy = malloc(sizeof *copy * (size_t)(nparams + 1));
    if (!copy) return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
    if (nparams) memcpy(copy, params, sizeof *copy * (size_t)nparams);
    sd->groups[sd->ngroups++] = (ct_optim_group_record){*options, initial_lr, nparams, copy};
    return CT_OK;
}

const char *ct_optim_state_key(const ct_optim_state_entry *entry, char *buf, int size) {
    if (!buf || size <= 0) return buf;
    if (!entry) buf[0] = '\0';
    else snprintf(buf, (size_t)size, "state.%lld.%s", (long long)entry->param, entry->name);
    return buf;
}

/* ---- taking one from an optimizer ---------------------------------------------------------------------------- */

static ct_status add_param_state(ct_optim_state_dict *sd, const ct_optimizer *opt, const ct__param_state *s,
                                 int64_t index) {
    const char *const *names;
    int nbufs = ct__optim_buf_names(opt->kind, &names);
    ct_status st = s->step ? ct_optim_state_dict_add_entry(sd, index, "step", s->step) : CT_OK;
    for (int k = 0; st == CT_OK && k < nbufs; k++)
        if (s->buf[k]) st = ct_optim_state_dict_add_entry(sd, index, names[k], s->buf[k]);
    return st;
}

ct_optim_state_dict *ct_optimizer_state_dict(const ct_optimizer *opt) {
    if (!opt) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'opt' is NULL");
        return NULL;
    }
    ct_optim_state_dict *sd = ct_optim_state_dict_new(ct__optim_kind_name(opt->kind));
    int64_t index = 0;
    for (int g = 0; sd && g < opt->ngroups; g++) {
        const ct__param_group *grp = &opt->groups[g];
        int64_t *indices = malloc(sizeof *indices * (size_t)(grp->nparams + 1));
        ct_status st = indices ? CT_OK : CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
        for (int i = 0; st == CT_OK && i < grp->nparams; i++, index++) {
            indices[i] = index;
            st = add_param_state(sd, opt, &grp->state[i], index);
        }
        if (st == CT_OK) st = ct_optim_state_dict_add_group(sd, &grp->options, grp->initial_lr, grp->nparams, indices);
        free(indices);
        if (st != CT_OK) {
            ct_optim_state_dict_free(sd);
            return NULL;
        }
    }
    return sd;
}

/* ---- hyperparameters by name ---------------------------------------------------------------------------------- */

typedef struct hparam_field {
    const char *name;
    size_t offset;
    bool is_bool;
} hparam_field;

#define DOUBLE_FIELD(key, member) {key, offsetof(ct_optim_options, member), false}
#define BOOL_FIELD(key, member) {key, offsetof(ct_optim_options, member), true}

/* PyTorch's param_groups keys of each optimizer, in its defaults' order. */
static int fields_of(int kind, const hparam_field **out) {
    static const hparam_field sgd[] = {DOUBLE_FIELD("lr", lr), DOUBLE_FIELD("momentum", momentum),
                                       DOUBLE_FIELD("dampening", dampening), DOUBLE_FIELD("weight_decay", weight_decay),
                                       BOOL_FIELD("nesterov", nesterov), BOOL_FIELD("maximize", maximize)};
    static const hparam_field adam[] = {DOUBLE_FIELD("lr", lr), DOUBLE_FIELD("betas.0", beta1),
                                        DOUBLE_FIELD("betas.1", beta2), DOUBLE_FIELD("eps", eps),
                                        DOUBLE_FIELD("weight_decay", weight_decay), BOOL_FIELD("amsgrad", amsgrad),
                                        BOOL_FIELD("maximize", maximize)};
    *out = kind == CT__SGD ? sgd : adam;
    return kind == CT__SGD ? 6 : 7;
}

static ct_status check_record(const ct_optim_state_dict *sd, int g, int *kind, const char *func) {
    if (!sd) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "'sd' is NULL");
    if ((*kind = kind_of_name(sd->optimizer)) < 0)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "unknown optimizer '%.16s'", sd->optimizer);
    if (g < 0 || g >= sd->ngroups)
        return ct__error(CT_ERR_INDEX, func, "param group %d is out of range: the state dict has %d", g, sd->ngroups);
    return CT_OK;
}

int ct_optim_group_hparams(const ct_optim_state_dict *sd, int g, ct_optim_hparam *out) {
    int kind;
    if (check_record(sd, g, &kind, __func__) != CT_OK) return -1;
    if (!out) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'out' is NULL"), -1;
    const hparam_field *fields;
    int n = fields_of(kind, &fields);
    const ct_optim_group_record *rec = &sd->groups[g];
    for (int i = 0; i < n; i++) {
        const char *field = (const char *)&rec->options + fields[i].offset;
        out[i].name = fields[i].name;
        out[i].value = fields[i].is_bool ? (double)*(const bool *)field : *(const double *)field;
    }
    if (!isnan(rec->initial_lr)) out[n++] = (ct_optim_hparam){"initial_lr", rec->initial_lr};
    return n;
}

ct_status ct_optim_group_set_hparam(ct_optim_state_dict *sd, int g, const char *name, double value) {
    int kind;
    ct_status st = check_record(sd, g, &kind, __func__);
    if (st != CT_OK) return st;
    if (!name) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'name' is NULL");
    if (strcmp(name, "initial_lr") == 0) {
        sd->groups[g].initial_lr = value;
        return CT_OK;
    }
    const hparam_field *fields;
    int n = fields_of(kind, &fields);
    for (int i = 0; i < n; i++) {
        if (strcmp(name, fields[i].name) != 0) continue;
        char *field = (char *)&sd->groups[g].options + fields[i].offset;
        if (fields[i].is_bool) *(bool *)field = value != 0;
        else *(double *)field = value;
        return CT_OK;
    }
    return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "%s has no hyperparameter '%s'", sd->optimizer, name);
}

/* ---- loading ------------------------------------------------------------------------------------------------------- */

/* Where each saved parameter index goes: the k-th index listed by the saved groups is the k-th current parameter. */
typedef struct slot {
    int64_t saved;
    int g, i;
} slot;

static int compare_slots(const void *a, const void *b) {
    int64_t x = ((const slot *)a)->saved, y = ((const slot *)b)->saved;
    return (x > y) - (x < y);
}

static const slot *find_slot(const slot *slots, int n, int64_t saved) {
    slot key = {saved, 0, 0};
    return bsearch(&key, slots, (size_t)n, sizeof *slots, compare_slots);
}

static ct_status check_groups(const ct_optimizer *opt, const ct_optim_state_dict *sd, const char *func) {
    if (kind_of_name(sd->optimizer) != (int)opt->kind)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "loaded state dict is from %.16s, but this optimizer is %s",
                         sd->optimizer, ct__optim_kind_name(opt->kind));
    if (sd->ngroups != opt->ngroups)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                         "loaded state dict has a different number of parameter groups (%d, the optimizer has %d)",
                         sd->ngroups, opt->ngroups);
    for (int g = 0; g < opt->ngroups; g++) {
        if (sd->groups[g].nparams != opt->groups[g].nparams)
            return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                             "loaded state dict contains a parameter group that doesn't match the size of optimizer's "
                             "group (param_groups[%d] has %d parameters, the optimizer's %d)",
                             g, sd->groups[g].nparams, opt->groups[g].nparams);
        ct_status st = ct__optim_check_options(opt->kind, &sd->groups[g].options, func);
        if (st != CT_OK) return st;
    }
    return CT_OK;
}

/* The sorted slot table of the saved indices; fails for an index listed twice. */
static ct_status map_indices(const ct_optimizer *opt, const ct_optim_state_dict *sd, slot *slots, int *nslots,
                             const char *func) {
    int n = 0;
    for (int g = 0; g < sd->ngroups; g++)
        for (int i = 0; i < sd->groups[g].nparams; i++) slots[n++] = (slot){sd->groups[g].params[i], g, i};
    qsort(slots, (size_t)n, sizeof *slots, compare_slots);
    for (int k = 1; k < n; k++)
        if (slots[k].saved == slots[k - 1].saved)
            return ct__error(CT_ERR_INVALID_ARGUMENT, func, "parameter index %lld is listed twice in the loaded "
                             "param_groups", (long long)slots[k].saved);
    *nslots = n;
    return CT_OK;
}

/* Which slot of ct__param_state a state name fills: -1 for "step", 0.. for buffers, -2 for an unknown name. */
static int state_slot(ct__optim_kind kind, const char *name) {
    if (kind != CT__SGD && strcmp(name, "step") == 0) return -1;
    const char *const *names;
    int n = ct__optim_buf_names(kind, &names);
    for (int k = 0; k < n; k++)
        if (strcmp(name, names[k]) == 0) return k;
    return -2;
}

/* One saved entry: a known name, a listed index, and a value of the right size for its parameter. */
static ct_status check_entry(const ct_optimizer *opt, const ct_optim_state_entry *e, const slot *slots, int nslots,
                             const char *func) {
    const slot *sl = find_slot(slots, nslots, e->param);
    if (!sl)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                         "loaded state has an entry for parameter %lld, which no parameter group lists",
                         (long long)e->param);
    int k = state_slot(opt->kind, e->name);
    if (k == -2)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "loaded state of parameter %lld has an entry '%.24s' that %s "
                         "does not keep", (long long)e->param, e->name, ct__optim_kind_name(opt->kind));
    if (!e->value) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "loaded state '%.24s' of parameter %lld is NULL",
                                    e->name, (long long)e->param);
    const ct_tensor *p = opt->groups[sl->g].params[sl->i], *v = e->value;
    char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF];
    if (k == -1 && ct_numel(v) != 1)
        return ct__error(CT_ERR_SHAPE, func, "loaded state 'step' of parameter %lld has shape %s, but a step count is "
                         "one element", (long long)e->param, ct__shape_str(v->ndim, v->shape, a, sizeof a));
    if (k >= 0 && (v->ndim != p->ndim || memcmp(v->shape, p->shape, sizeof(int64_t) * (size_t)p->ndim) != 0))
        return ct__error(CT_ERR_SHAPE, func, "loaded state '%.24s' of parameter %lld has shape %s, but the parameter "
                         "has shape %s", e->name, (long long)e->param, ct__shape_str(v->ndim, v->shape, a, sizeof a),
                         ct__shape_str(p->ndim, p->shape, b, sizeof b));
    if (v->dtype >= CT_FLOAT16)
        return ct__error(CT_ERR_NOT_IMPLEMENTED, func, "loaded state '%.24s' has dtype %s", e->name,
                         ct_dtype_name(v->dtype));
    return CT_OK;
}

/* A copy of saved value v for parameter p: a float32 CPU scalar for "step", else p's dtype and device. */
static ct_tensor *loaded_copy(const ct_tensor *p, const ct_tensor *v, bool is_step) {
    if (is_step) {
        double step;
        ct_tensor *t = ct_item(v, &step) == CT_OK ? ct__unscoped(ct_zeros(0, NULL, CT_FLOAT32, CT_DEVICE_CPU)) : NULL;
        if (t) *(float *)ct_data_ptr(t) = (float)step;
        return t;
    }
    ct_tensor *t = ct__unscoped(ct__tensor_new(p->ndim, p->shape, p->dtype, p->storage->device, false));
    if (t && ct_copy_(t, v) != CT_OK) {
        ct__tensor_decref(t);
        return NULL;
    }
    return t;
}

/* Adam keeps step, exp_avg and exp_avg_sq together, and max_exp_avg_sq with amsgrad. */
static ct_status check_complete(const ct_optimizer *opt, const ct__param_state *s, bool amsgrad, int64_t index,
                                const char *func) {
    if (opt->kind == CT__SGD || (!s->step && !s->buf[0] && !s->buf[1] && !s->buf[2])) return CT_OK;
    const char *missing = !s->step ? "step" : !s->buf[0] ? "exp_avg" : !s->buf[1] ? "exp_avg_sq"
                                                 : amsgrad && !s->buf[2] ? "max_exp_avg_sq" : NULL;
    if (missing)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "loaded state of parameter %lld lacks '%s'", (long long)index,
                         missing);
    return CT_OK;
}

/* Fills fresh[] (one per current parameter, in order; base[g] is group g's first) from the saved entries. */
static ct_status build_states(const ct_optimizer *opt, const ct_optim_state_dict *sd, const slot *slots, int nslots,
                              const int *base, ct__param_state *fresh, const char *func) {
    for (int k = 0; k < sd->nentries; k++) {
        const ct_optim_state_entry *e = &sd->entries[k];
        ct_status st = check_entry(opt, e, slots, nslots, func);
        if (st != CT_OK) return st;
        const slot *sl = find_slot(slots, nslots, e->param);
        int which = state_slot(opt->kind, e->name);
        ct__param_state *s = &fresh[base[sl->g] + sl->i];
        ct_tensor **target = which == -1 ? &s->step : &s->buf[which];
        if (*target)
            return ct__error(CT_ERR_INVALID_ARGUMENT, func, "loaded state has two '%.24s' entries for parameter %lld",
                             e->name, (long long)e->param);
        if (!(*target = loaded_copy(opt->groups[sl->g].params[sl->i], e->value, which == -1))) return ct_last_status();
    }
    for (int g = 0; g < opt->ngroups; g++)
        for (int i = 0; i < opt->groups[g].nparams; i++) {
            ct_status st = check_complete(opt, &fresh[base[g] + i], sd->groups[g].options.amsgrad,
                                          sd->groups[g].params[i], func);
            if (st != CT_OK) return st;
        }
    return CT_OK;
}

/* Replaces every parameter's state and every group's options with the loaded ones. */
static void install(ct_optimizer *opt, const ct_optim_state_dict *sd, const int *base, ct__param_state *fresh) {
    for (int g = 0; g < opt->ngroups; g++) {
        ct__param_group *grp = &opt->groups[g];
        for (int i = 0; i < grp->nparams; i++) {
            ct__param_state_clear(&grp->state[i]);
            grp->state[i] = fresh[base[g] + i];
        }
        grp->options = sd->groups[g].options;
        grp->initial_lr = sd->groups[g].initial_lr;
    }
}

ct_status ct_optimizer_load_state_dict(ct_optimizer *opt, const ct_optim_state_dict *sd) {
    if (!opt || !sd) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'%s' is NULL", opt ? "sd" : "opt");
    ct_status st = check_groups(opt, sd, __func__);
    if (st != CT_OK) return st;
    int total = 0;
    int *base = malloc(sizeof *base * (size_t)(opt->ngroups + 1));
    for (int g = 0; base && g < opt->ngroups; g++) base[g] = total, total += opt->groups[g].nparams;
    slot *slots = malloc(sizeof *slots * (size_t)(total + 1));
    ct__param_state *fresh = calloc((size_t)total + 1, sizeof *fresh);
    int nslots = 0;
    st = base && slots && fresh ? map_indices(opt, sd, slots, &nslots, __func__) : CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == CT_OK) st = build_states(opt, sd, slots, nslots, base, fresh, __func__);
    if (st == CT_OK) install(opt, sd, base, fresh);
    else
        for (int k = 0; fresh && k < total; k++) ct__param_state_clear(&fresh[k]);
    free(base), free(slots), free(fresh);
    return st;
}
