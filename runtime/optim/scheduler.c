/* Learning-rate schedulers (torch.optim.lr_scheduler): StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
 * LinearLR and SequentialLR, with PyTorch's mechanics kept step for step so the numbers agree to the last bit:
 *  - making one records each group's initial_lr, sets base_lrs from it and takes an initial step (epoch 0) in
 *    "initial mode" (_initial_step);
 *  - step() increments last_epoch and applies the recursive (chainable) formula to each group's current lr;
 *  - SequentialLR resets the lrs to initial_lr, moves its schedulers' epochs back by one, restarts the first, and
 *    at each milestone restarts the next one at epoch 0 with its closed form (_update_lr(0)).
 * Every expression is written in Python's order of operations, with libm's cos and pow as Python's math uses. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim_internal.h"

typedef enum sched_kind { STEP_LR, MULTI_STEP_LR, EXPONENTIAL_LR, COSINE_ANNEALING_LR, LINEAR_LR, SEQUENTIAL_LR } sched_kind;

static const char *const kind_names[] = {"StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
                                         "SequentialLR"};

struct ct_lr_scheduler {
    sched_kind kind;
    ct_optimizer *opt; /* borrowed */
    int64_t last_epoch, step_count;
    int ngroups;
    double *base_lrs, *last_lr;
    bool is_initial; /* inside the initial step */
    /* hyperparameters */
    int64_t step_size, T_max, total_iters;
    double gamma, eta_min, start_factor, end_factor;
    int nmilestones;
    int64_t *milestones; /* MultiStepLR: sorted, repeats kept; SequentialLR: as given */
    int nchildren;
    ct_lr_scheduler **children; /* SequentialLR: owned */
};

/* ---- arithmetic helpers ----------------------------------------------------------------------------------------- */

static int64_t py_mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

static int64_t py_floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Python's bisect_right over a sorted array: how many entries are <= x. */
static int bisect_right(const int64_t *a, int n, int64_t x) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (x < a[mid]) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

static double group_lr(const ct_lr_scheduler *s, int g) { return s->opt->groups[g].options.lr; }

/* ---- the formulas ---------------------------------------------------------------------------------------------- */

/* get_lr(): the recursive form, from each group's current lr. */
static double recursive_lr(const ct_lr_scheduler *s, int g) {
    double lr = group_lr(s, g), base = s->base_lrs[g];
    int64_t e = s->last_epoch;
    switch (s->kind) {
    case STEP_LR:
        return (e == 0 || py_mod(e, s->step_size) != 0) ? lr : lr * s->gamma;
    case MULTI_STEP_LR: {
        int count = bisect_right(s->milestones, s->nmilestones, e) - bisect_right(s->milestones, s->nmilestones, e - 1);
        return count == 0 ? lr : lr * pow(s->gamma, count);
    }
    case EXPONENTIAL_LR:
        return s->is_initial ? lr : lr * s->gamma;
    case COSINE_ANNEALING_LR: {
        double T = (double)s->T_max, eta = s->eta_min;
        if (s->is_initial) return lr;
        if (s->step_count == 1 && e > 0) return eta + (base - eta) * (1 + cos((double)e * M_PI / T)) / 2;
        if (py_mod(e - 1 - s->T_max, 2 * s->T_max) == 0) return lr + (base - eta) * (1 - cos(M_PI / T)) / 2;
        return (1 + cos(M_PI * (double)e / T)) / (1 + cos(M_PI * (double)(e - 1) / T)) * (lr - eta) + eta;
    }
    case LINEAR_LR: {
        double a = s->start_factor, b = s->end_factor;
        if (e == 0) return lr * a;
        if (s->is_initial || e > s->total_iters) return lr;
        return lr * (1.0 + (b - a) / ((double)s->total_iters * a + (double)(e - 1) * (b - a)));
    }
    case SEQUENTIAL_LR:
        break;
    }
    return lr;
}

/* _get_closed_form_lr(): from base_lrs and last_epoch alone. */
static double closed_form_lr(const ct_lr_scheduler *s, int g) {
    double base = s->base_lrs[g];
    int64_t e = s->last_epoch;
    switch (s->kind) {
    case STEP_LR:
        return base * pow(s->gamma, (double)py_floordiv(e, s->step_size));
    case MULTI_STEP_LR:
        return base * pow(s->gamma, bisect_right(s->milestones, s->nmilestones, e));
    case EXPONENTIAL_LR:
        return base * pow(s->gamma, (double)e);
    case COSINE_ANNEALING_LR:
        return s->eta_min + (base - s->eta_min) * (1 + cos(M_PI * (double)e / (double)s->T_max)) / 2;
    case LINEAR_LR: {
        double a = s->start_factor, b = s->end_factor;
        if (s->total_iters == 0) return base * b;
        int64_t k = e < s->total_iters ? e : s->total_iters;
        return base * (a + (b - a) * (double)k / (double)s->total_iters);
    }
    case SEQUENTIAL_LR:
        break;
    }
    return group_lr(s, g);
}

/* _update_lr: the next epoch by the recursive form, or epoch `epoch` by the closed form (epoch >= 0). */
static void update_lr(ct_lr_scheduler *s, int64_t epoch) {
    if (epoch < 0) s->last_epoch++;
    else s->last_epoch = epoch;
    /* all values first (the formulas read the groups' current lrs), then set */
    for (int g = 0; g < s->ngroups; g++) s->last_lr[g] = epoch < 0 ? recursive_lr(s, g) : closed_form_lr(s, g);
    for (int g = 0; g < s->ngroups; g++) s->opt->groups[g].options.lr = s->last_lr[g];
}

static void plain_step(ct_lr_scheduler *s) {
    s->step_count++;
    update_lr(s, -1);
}

static void initial_step(ct_lr_scheduler *s) {
    s->step_count = 0;
    s->is_initial = true;
    plain_step(s);
    s->is_initial = false;
}

/* ---- construction ---------------------------------------------------------------------------------------------- */

/* A scheduler of kind over opt with last_epoch -1 and base_lrs from initial_lr (recorded now where missing); the
 * caller sets the hyperparameters and takes the initial step. */
static ct_lr_scheduler *scheduler_new(ct_optimizer *opt, sched_kind kind, const char *func) {
    if (!opt) {
        ct__error(CT_ERR_INVALID_ARGUMENT, func, "'opt' is NULL");
        return NULL;
    }
    ct_lr_scheduler *s = calloc(1, sizeof *s);
    int n = opt->ngroups;
    if (s) s->base_lrs = calloc((size_t)n + 1, sizeof(double)), s->last_lr = calloc((size_t)n + 1, sizeof(double));
    if (!s || !s->base_lrs || !s->last_lr) {
        ct_lr_scheduler_free(s);
        ct__error(CT_ERR_OUT_OF_MEMORY, func, "out of memory");
        return NULL;
    }
    s->kind = kind, s->opt = opt, s->ngroups = n, s->last_epoch = -1;
    for (int g = 0; g < n; g++) {
        ct__param_group *grp = &opt->groups[g];
        if (isnan(grp->initial_lr)) grp->initial_lr = grp->options.lr;
        s->base_lrs[g] = grp->initial_lr;
    }
    return s;
}

static ct_lr_scheduler *started(ct_lr_scheduler *s) {
    if (s) initial_step(s);
    return s;
}

ct_lr_scheduler *ct_step_lr_new(ct_optimizer *opt, int64_t step_size, double gamma) {
    if (step_size <= 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "step_size must be positive, got %lld", (long long)step_size);
        return NULL;
    }
    ct_lr_scheduler *s = scheduler_new(opt, STEP_LR, __func__);
    if (s) s->step_size = step_size, s->gamma = gamma;
    return started(s);
}

static int compare_int64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

ct_lr_scheduler *ct_multi_step_lr_new(ct_optimizer *opt, const int64_t *milestones, int nmilestones, double gamma) {
    if (nmilestones < 0 || (nmilestones > 0 && !milestones)) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "%d milestones at %p", nmilestones, (const void *)milestones);
        return NULL;
    }
    ct_lr_scheduler *s = scheduler_new(opt, MULTI_STEP_LR, __func__);
    if (!s) return NULL;
    s->gamma = gamma, s->nmilestones = nmilestones;
    if (!(s->milestones = malloc(sizeof(int64_t) * (size_t)(nmilestones + 1)))) {
        ct_lr_scheduler_free(s);
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    if (nmilestones) memcpy(s->milestones, milestones, sizeof(int64_t) * (size_t)nmilestones);
    qsort(s->milestones, (size_t)nmilestones, sizeof(int64_t), compare_int64);
    return started(s);
}

ct_lr_scheduler *ct_exponential_lr_new(ct_optimizer *opt, double gamma) {
    ct_lr_scheduler *s = scheduler_new(opt, EXPONENTIAL_LR, __func__);
    if (s) s->gamma = gamma;
    return started(s);
}

ct_lr_scheduler *ct_cosine_annealing_lr_new(ct_optimizer *opt, int64_t T_max, double eta_min) {
    if (T_max <= 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "T_max must be positive, got %lld", (long long)T_max);
        return NULL;
    }
    ct_lr_scheduler *s = scheduler_new(opt, COSINE_ANNEALING_LR, __func__);
    if (s) s->T_max = T_max, s->eta_min = eta_min;
    return started(s);
}

ct_lr_scheduler *ct_linear_lr_new(ct_optimizer *opt, double start_factor, double end_factor, int64_t total_iters) {
    if (start_factor > 1.0 || start_factor <= 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT,
                "Starting multiplicative factor expected to be greater than 0 and less or equal to 1.");
        return NULL;
    }
    if (end_factor > 1.0 || end_factor < 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "Ending multiplicative factor expected to be between 0 and 1.");
        return NULL;
    }
    if (total_iters < 0) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "total_iters must not be negative, got %lld", (long long)total_iters);
        return NULL;
    }
    ct_lr_scheduler *s = scheduler_new(opt, LINEAR_LR, __func__);
    if (s) s->start_factor = start_factor, s->end_factor = end_factor, s->total_iters = total_iters;
    return started(s);
}

/* SequentialLR's checks, in PyTorch's order and words where it has them. */
static ct_status check_sequential(const ct_optimizer *opt, ct_lr_scheduler *const *children, int n,
                                  const int64_t *milestones, int nmilestones, const char *func) {
    if (!opt) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "'opt' is NULL");
    if (n < 1 || !children)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                         "SequentialLR expects at least one scheduler, but got no scheduler.");
    for (int i = 0; i < n; i++) {
        if (!children[i]) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "scheduler %d is NULL", i);
        if (children[i]->kind == SEQUENTIAL_LR)
            return ct__error(CT_ERR_INVALID_ARGUMENT, func, "SequentialLR cannot hold a SequentialLR (index %d)", i);
        if (children[i]->opt != opt)
            return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                             "SequentialLR expects all schedulers to belong to the same optimizer, but got scheduler %s "
                             "at index %d has another optimizer, which is different from %s.",
                             kind_names[children[i]->kind], i, ct__optim_kind_name(opt->kind));
        for (int j = 0; j < i; j++)
            if (children[j] == children[i])
                return ct__error(CT_ERR_INVALID_ARGUMENT, func, "scheduler %d is scheduler %d again", i, j);
    }
    if (nmilestones != n - 1)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                         "Sequential Schedulers expects number of schedulers provided to be one more than the number "
                         "of milestone points, but got number of schedulers %d and the number of milestones to be "
                         "equal to %d", n, nmilestones);
    if (nmilestones > 0 && !milestones) return ct__error(CT_ERR_INVALID_ARGUMENT, func, "'milestones' is NULL");
    for (int i = 1; i < nmilestones; i++)
        if (milestones[i] <= milestones[i - 1])
            return ct__error(CT_ERR_INVALID_ARGUMENT, func, "milestones must be increasing, got %lld after %lld",
                             (long long)milestones[i], (long long)milestones[i - 1]);
    return CT_OK;
}

ct_lr_scheduler *ct_sequential_lr_new(ct_optimizer *opt, ct_lr_scheduler **schedulers, int n,
                                      const int64_t *milestones, int nmilestones) {
    if (check_sequential(opt, schedulers, n, milestones, nmilestones, __func__) != CT_OK) return NULL;
    ct_lr_scheduler *s = scheduler_new(opt, SEQUENTIAL_LR, __func__);
    if (!s) return NULL;
    s->milestones = malloc(sizeof(int64_t) * (size_t)(nmilestones + 1));
    s->children = malloc(sizeof *s->children * (size_t)n);
    if (!s->milestones || !s->children) {
        ct_lr_scheduler_free(s);
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    if (nmilestones) memcpy(s->milestones, milestones, sizeof(int64_t) * (size_t)nmilestones);
    memcpy(s->children, schedulers, sizeof *s->children * (size_t)n);
    s->nmilestones = nmilestones, s->nchildren = n;
    s->last_epoch = 0; /* last_epoch + 1 */
    for (int g = 0; g < s->ngroups; g++) opt->groups[g].options.lr = opt->groups[g].initial_lr;
    for (int i = 0; i < n; i++) s->children[i]->last_epoch -= 1; /* recursive_undo */
    ct_lr_scheduler *first = s->children[bisect_right(s->milestones, nmilestones, 0)];
    initial_step(first);
    memcpy(s->last_lr, first->last_lr, sizeof(double) * (size_t)s->ngroups);
    return s;
}

void ct_lr_scheduler_free(ct_lr_scheduler *s) {
    if (!s) return;
    for (int i = 0; i < s->nchildren; i++) ct_lr_scheduler_free(s->children[i]);
    free(s->children);
    free(s->milestones);
    free(s->base_lrs);
    free(s->last_lr);
    free(s);
}

/* ---- stepping and queries ------------------------------------------------------------------------------------- */

ct_status ct_lr_scheduler_step(ct_lr_scheduler *s) {
    if (!s) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'s' is NULL");
    if (s->opt->ngroups != s->ngroups)
        return CT_FAIL(CT_ERR_STATE, "the optimizer has %d parameter groups, but had %d when the %s was made",
                       s->opt->ngroups, s->ngroups, kind_names[s->kind]);
    if (s->kind != SEQUENTIAL_LR) {
        plain_step(s);
        return CT_OK;
    }
    s->last_epoch++;
    int idx = bisect_right(s->milestones, s->nmilestones, s->last_epoch);
    ct_lr_scheduler *child = s->children[idx];
    if (idx > 0 && s->milestones[idx - 1] == s->last_epoch) update_lr(child, 0);
    else plain_step(child);
    memcpy(s->last_lr, child->last_lr, sizeof(double) * (size_t)s->ngroups);
    return CT_OK;
}

ct_status ct_lr_scheduler_get_last_lr(const ct_lr_scheduler *s, double *out, int n) {
    if (!s || !out) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'%s' is NULL", s ? "out" : "s");
    if (n != s->ngroups)
        return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "n is %d, but the scheduler has %d parameter groups", n, s->ngroups);
    memcpy(out, s->last_lr, sizeof(double) * (size_t)n);
    return CT_OK;
}

int64_t ct_lr_scheduler_last_epoch(const ct_lr_scheduler *s) {
    if (!s) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'s' is NULL"), -1;
    return s->last_epoch;
}

const char *ct_lr_scheduler_name(const ct_lr_scheduler *s) { return s ? kind_names[s->kind] : ""; }

/* ---- state -------------------------------------------------------------------------------------------------------- */

static void state_release(ct_lr_scheduler_state *st) {
    for (int i = 0; i < st->nchildren; i++) state_release(&st->children[i]);
    free(st->children);
    free(st->base_lrs);
    free(st->last_lr);
}

void ct_lr_scheduler_state_free(ct_lr_scheduler_state *state) {
    if (!state) return;
    state_release(state);
    free(state);
}

/* Fills *st (zeroed) from s. */
static ct_status state_fill(const ct_lr_scheduler *s, ct_lr_scheduler_state *st) {
    snprintf(st->kind, sizeof st->kind, "%s", kind_names[s->kind]);
    st->last_epoch = s->last_epoch, st->step_count = s->step_count, st->ngroups = s->ngroups;
    st->base_lrs = malloc(sizeof(double) * (size_t)(s->ngroups + 1));
    st->last_lr = malloc(sizeof(double) * (size_t)(s->ngroups + 1));
    st->children = calloc((size_t)s->nchildren + 1, sizeof *st->children);
    if (!st->base_lrs || !st->last_lr || !st->children) return CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(st->base_lrs, s->base_lrs, sizeof(double) * (size_t)s->ngroups);
    memcpy(st->last_lr, s->last_lr, sizeof(double) * (size_t)s->ngroups);
    for (int i = 0; i < s->nchildren; i++) {
        st->nchildren = i + 1;
        ct_status rc = state_fill(s->children[i], &st->children[i]);
        if (rc != CT_OK) return rc;
    }
    return CT_OK;
}

ct_lr_scheduler_state *ct_lr_scheduler_state_dict(const ct_lr_scheduler *s) {
    if (!s) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'s' is NULL");
        return NULL;
    }
    ct_lr_scheduler_state *st = calloc(1, sizeof *st);
    if (!st) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    if (state_fill(s, st) != CT_OK) {
        ct_lr_scheduler_state_free(st);
        return NULL;
    }
    return st;
}

static ct_status state_check(const ct_lr_scheduler *s, const ct_lr_scheduler_state *st, const char *func) {
    if (strcmp(st->kind, kind_names[s->kind]) != 0)
        return ct__error(CT_ERR_INVALID_ARGUMENT, func, "the state is a %.24s's, but the scheduler is a %s", st->kind,
                         kind_names[s->kind]);
    if (st->ngroups != s->ngroups || st->nchildren != s->nchildren || !st->base_lrs || !st->last_lr ||
        (st->nchildren > 0 && !st->children))
        return ct__error(CT_ERR_INVALID_ARGUMENT, func,
                         "the state has %d parameter groups and %d schedulers, the %s %d and %d", st->ngroups,
                         st->nchildren, kind_names[s->kind], s->ngroups, s->nchildren);
    for (int i = 0; i < s->nchildren; i++) {
        ct_status rc = state_check(s->children[i], &st->children[i], func);
        if (rc != CT_OK) return rc;
    }
    return CT_OK;
}

static void state_apply(ct_lr_scheduler *s, const ct_lr_scheduler_state *st) {
    s->last_epoch = st->last_epoch, s->step_count = st->step_count;
    memcpy(s->base_lrs, st->base_lrs, sizeof(double) * (size_t)s->ngroups);
    memcpy(s->last_lr, st->last_lr, sizeof(double) * (size_t)s->ngroups);
    for (int i = 0; i < s->nchildren; i++) state_apply(s->children[i], &st->children[i]);
}

ct_status ct_lr_scheduler_load_state_dict(ct_lr_scheduler *s, const ct_lr_scheduler_state *state) {
    if (!s || !state) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "'%s' is NULL", s ? "state" : "s");
    ct_status rc = state_check(s, state, __func__);
    if (rc == CT_OK) state_apply(s, state);
    return rc;
}
