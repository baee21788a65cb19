/* What the optimizer files share: the optimizer struct (its groups, parameters and per-parameter state), the
 * option checks, and a Python-style float formatter for PyTorch's messages. Private to runtime/optim. */
#ifndef CTORCH_OPTIM_INTERNAL_H
#define CTORCH_OPTIM_INTERNAL_H

#include "core/internal.h"
#include "ctorch/optim.h"

typedef enum ct__optim_kind { CT__SGD, CT__ADAM, CT__ADAMW } ct__optim_kind;

/* How many state tensors a parameter can have besides Adam's step: momentum_buffer; exp_avg, exp_avg_sq,
 * max_exp_avg_sq. */
#define CT__OPTIM_BUFS 3

/* One parameter's state: NULL entries until its first update. Owned references, in no scope. */
typedef struct ct__param_state {
    ct_tensor *step;                 /* Adam: 0-d float32 CPU tensor */
    ct_tensor *buf[CT__OPTIM_BUFS];  /* same shape, dtype and device as the parameter, contiguous */
} ct__param_state;

typedef struct ct__param_group {
    ct_optim_options options;
    double initial_lr; /* NAN until a scheduler sets it */
    int nparams;
    ct_tensor **params;       /* retained */
    ct__param_state *state;   /* nparams */
} ct__param_group;

struct ct_optimizer {
    ct__optim_kind kind;
    ct_optim_options defaults;
    int ngroups, cap;
    ct__param_group *groups;
};

/* "SGD", "Adam", "AdamW". */
const char *ct__optim_kind_name(ct__optim_kind kind);
/* The state names of a kind, in state-dict order, as buf[] slots: SGD {"momentum_buffer"}; Adam/AdamW {"exp_avg",
 * "exp_avg_sq", "max_exp_avg_sq"}. Returns the count. */
int ct__optim_buf_names(ct__optim_kind kind, const char *const **names);
/* Checks options for kind in PyTorch's order and words; func names the public function. */
ct_status ct__optim_check_options(ct__optim_kind kind, const ct_optim_options *o, const char *func);
/* Frees a parameter's state. */
void ct__param_state_clear(ct__param_state *s);
/* A tensor made by a public function, taken out of any scope so that only the optimizer owns it. */
ct_tensor *ct__unscoped(ct_tensor *t);

/* dst <- src (same shape and device) and t <- value straight through the backend: the optimizer's writes are not
 * recorded by autograd (PyTorch steps under torch.no_grad). */
ct_status ct__optim_copy(ct_tensor *dst, const ct_tensor *src);
ct_status ct__optim_fill(ct_tensor *t, double value);
/* t itself (one more reference, no scope) when contiguous, else a contiguous unscoped copy. */
ct_tensor *ct__optim_contiguous(ct_tensor *t);

/* Python's repr of a float ("0.1", "-1.0", "1e-08", "inf", "nan") into buf. Returns buf. */
const char *ct__py_float(double v, char *buf, size_t size);
#define CT__PY_FLOAT_BUF 32

#endif
