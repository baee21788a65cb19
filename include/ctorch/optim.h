/* ctorch/optim.h: optimizers (SGD, Adam, AdamW), gradient clipping, optimizer state dicts and learning-rate
 * schedulers, with PyTorch's update formulas, defaults, state layout and error messages (torch.optim).
 *
 * Parameters are leaf tensors whose gradient is read with ct_grad(p) (set by backward, or by hand with
 * ct_set_grad). A parameter without a gradient is skipped by step, exactly as PyTorch skips `p.grad is None`.
 *
 *     ct_optim_options head = ct_optim_adamw_defaults();       // lr 1e-3, betas (0.9, 0.999), weight_decay 1e-2
 *     ct_optim_options backbone = head;
 *     backbone.lr = 1e-5;                                       // fine-tuning: a small lr for the backbone
 *     ct_param_group groups[2] = {{backbone_params, nb, &backbone}, {head_params, nh, &head}};
 *     ct_optimizer *opt = ct_optim_adamw_new(groups, 2, &head);
 *     ct_lr_scheduler *sched = ct_cosine_annealing_lr_new(opt, 100, 0.0);
 *     for (...) { ...backward...; ct_optimizer_step(opt); ct_optimizer_zero_grad(opt, true); }
 *     ct_lr_scheduler_step(sched);                              // once per epoch
 *     ct_lr_scheduler_free(sched);
 *     ct_optimizer_free(opt);
 *
 * Ownership: an optimizer retains every parameter (ct_retain) and releases them in ct_optimizer_free; the
 * caller's handles stay valid and its own references are untouched. Its state tensors (momentum buffers, moments)
 * belong to it and to no scope. A scheduler borrows its optimizer: free the scheduler first.
 *
 * Devices: parameters may live on the CPU or a GPU (each parameter's state lives with it). On the CPU, step loops
 * over the parameters (the CPU pool across the elements of large ones); on CUDA, one fused kernel per parameter group,
 * dtype and step updates every parameter of the group (a multi-tensor launch over a table of chunks). float32 and
 * float64 parameters; the arithmetic is done in the parameter's dtype, in PyTorch's order of operations.
 *
 * Errors: constructors return NULL, the rest a ct_status; ct_last_error() has the message, in PyTorch's words
 * where PyTorch has words ("Invalid learning rate: -0.1"). */
#ifndef CTORCH_OPTIM_H
#define CTORCH_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- optimizers --------------------------------------------------------------------------------------------- */

typedef struct ct_optimizer ct_optimizer;

/* The hyperparameters of one parameter group. One struct serves the three optimizers; each reads its own fields
 * (SGD: lr, momentum, dampening, nesterov, weight_decay, maximize; Adam and AdamW: lr, beta1, beta2, eps,
 * weight_decay, amsgrad, maximize). Start from ct_optim_*_defaults() and change what differs: a zeroed struct is
 * not a valid Adam configuration (betas and eps would be 0). */
typedef struct ct_optim_options {
    double lr;
    double momentum;     /* SGD */
    double dampening;    /* SGD */
    bool nesterov;       /* SGD: needs momentum > 0 and dampening 0 */
    double weight_decay; /* SGD, Adam: L2 penalty added to the gradient; AdamW: decoupled, p *= 1 - lr * wd */
    bool maximize;       /* ascend instead of descend */
    double beta1, beta2; /* Adam/AdamW: PyTorch's betas */
    double eps;          /* Adam/AdamW */
    bool amsgrad;        /* Adam/AdamW */
} ct_optim_options;

/* PyTorch's defaults: SGD lr 1e-3, momentum 0, dampening 0, weight_decay 0, nesterov and maximize off.
 * Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, amsgrad off. AdamW as Adam with weight_decay 1e-2. */
ct_optim_options ct_optim_sgd_defaults(void);
ct_optim_options ct_optim_adam_defaults(void);
ct_optim_options ct_optim_adamw_defaults(void);

/* A parameter group: nparams tensors (borrowed for the call; the optimizer retains them) and their options
 * (copied; NULL means the optimizer's defaults). */
typedef struct ct_param_group {
    ct_tensor **params;
    int nparams;
    const ct_optim_options *options;
} ct_param_group;

/* Makes an optimizer over ngroups parameter groups. defaults (copied; NULL: ct_optim_*_defaults()) are the
 * options of every group given none, and of groups added later without options.
 * Fails (NULL) with CT_ERR_INVALID_ARGUMENT, in PyTorch's words, for: no parameters at all ("optimizer got an
 * empty parameter list"); an option out of range ("Invalid learning rate: -0.1", "Invalid momentum value: -1.0",
 * "Invalid weight_decay value: ...", "Invalid epsilon value: ...", "Invalid beta parameter at index 0: 1.0",
 * "Nesterov momentum requires a momentum and zero dampening"); a parameter listed in two groups ("some parameters
 * appear in more than one parameter group") or twice in one ("optimizer contains a parameter group with duplicate
 * parameters": PyTorch only warns, since it steps such a parameter twice); a NULL parameter; a non-leaf tensor
 * ("can't optimize a non-leaf Tensor"). A parameter of a dtype other than float32 or float64 fails with
 * CT_ERR_DTYPE (float16/bfloat16: CT_ERR_NOT_IMPLEMENTED). */
ct_optimizer *ct_optim_sgd_new(const ct_param_group *groups, int ngroups, const ct_optim_options *defaults);
ct_optimizer *ct_optim_adam_new(const ct_param_group *groups, int ngroups, const ct_optim_options *defaults);
/* AdamW: Adam with decoupled weight decay (torch.optim.AdamW). */
ct_optimizer *ct_optim_adamw_new(const ct_param_group *groups, int ngroups, const ct_optim_options *defaults);

/* Releases the parameters and frees the state. NULL-safe. */
void ct_optimizer_free(ct_optimizer *opt);

/* "SGD", "Adam" or "AdamW" ("" for NULL). */
const char *ct_optimizer_name(const ct_optimizer *opt);

/* One update of every parameter that has a gradient (optimizer.step()). The state of a parameter is made at its
 * first update (momentum buffer = its first gradient; Adam's moments zero, step 0). Fails with CT_ERR_DTYPE,
 * CT_ERR_SHAPE or CT_ERR_DEVICE when a gradient does not match its parameter (before anything is changed). */
ct_status ct_optimizer_step(ct_optimizer *opt);

/* Clears the gradients (optimizer.zero_grad): set_to_none drops them (ct_set_grad(p, NULL), PyTorch's default),
 * otherwise they are filled with zeros in place. */
ct_status ct_optimizer_zero_grad(ct_optimizer *opt, bool set_to_none);

/* Adds a group (optimizer.add_param_group), e.g. layers unfrozen later in fine-tuning. The same checks as at
 * construction, against the parameters already present. */
ct_status ct_optimizer_add_param_group(ct_optimizer *opt, const ct_param_group *group);

/* Number of parameter groups (0 for NULL). */
int ct_optimizer_num_param_groups(const ct_optimizer *opt);
/* Number of parameters in group g (-1 and an error when g is out of range). */
int ct_optimizer_group_size(const ct_optimizer *opt, int g);
/* The i-th parameter of group g, borrowed (NULL and an error when out of range). */
ct_tensor *ct_optimizer_param(const ct_optimizer *opt, int g, int i);
/* Reads or replaces group g's options (a replacement is validated as at construction). */
ct_status ct_optimizer_get_options(const ct_optimizer *opt, int g, ct_optim_options *out);
ct_status ct_optimizer_set_options(ct_optimizer *opt, int g, const ct_optim_options *options);
/* Group g's learning rate (param_groups[g]["lr"]); NAN and an error when g is out of range. */
double ct_optimizer_get_lr(const ct_optimizer *opt, int g);
/* Sets group g's learning rate. A negative lr fails ("Invalid learning rate: -0.1"). */
ct_status ct_optimizer_set_lr(ct_optimizer *opt, int g, double lr);

/* ---- state dicts ---------------------------------------------------------------------------------------------- */

/* An optimizer's state in PyTorch's layout (optimizer.state_dict()):
 *   state:        per-parameter tensors by parameter index (the position over all groups, in order): SGD
 *                 "momentum_buffer" (when momentum != 0); Adam/AdamW "step" (0-d float32 on the CPU),
 *                 "exp_avg", "exp_avg_sq", and "max_exp_avg_sq" with amsgrad. A parameter not yet updated has none.
 *   param_groups: each group's hyperparameters, "initial_lr" once a scheduler has set it, and its parameter indices.
 * A checkpoint writes it with keys "state.<index>.<name>" (ct_optim_state_key) and "param_groups.<g>.<name>"
 * (ct_optim_group_hparams).
 *
 * The struct and its arrays belong to the state dict (made with malloc); ct_optim_state_dict_free releases all of
 * it. Each entry holds one reference to its tensor. A state dict taken from an optimizer shares the optimizer's
 * live state tensors, as PyTorch's does: serialise it before the next step, or clone what must not change. */
typedef struct ct_optim_state_entry {
    int64_t param;  /* the parameter's index */
    char name[24];  /* "step", "momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq" */
    ct_tensor *value;
} ct_optim_state_entry;

typedef struct ct_optim_group_record {
    ct_optim_options options;
    double initial_lr; /* NAN when no scheduler has set it */
    int nparams;
    int64_t *params; /* parameter indices */
} ct_optim_group_record;

typedef struct ct_optim_state_dict {
    char optimizer[16]; /* "SGD", "Adam", "AdamW": which optimizer made it */
    int nentries;
    ct_optim_state_entry *entries; /* from an optimizer: by parameter index, then in the order of the names above */
    int ngroups;
    ct_optim_group_record *groups;
} ct_optim_state_dict;

/* The optimizer's state dict (NULL and an error on failure). */
ct_optim_state_dict *ct_optimizer_state_dict(const ct_optimizer *opt);

/* Restores state and hyperparameters (optimizer.load_state_dict): the saved groups' options (and initial_lr) replace
 * the current ones; each saved state tensor is copied into a new tensor of its parameter's dtype and device ("step"
 * stays a float32 CPU scalar). The k-th index listed by the saved groups (in order) is the k-th current parameter,
 * as PyTorch maps them. Everything is checked before anything changes; a failure leaves the optimizer as it was:
 * a state dict from another optimizer ("loaded state dict is from SGD, but this optimizer is Adam"), a different
 * number of groups ("loaded state dict has a different number of parameter groups"), a group of another size
 * ("loaded state dict contains a parameter group that doesn't match the size of optimizer's group"), a state
 * tensor whose shape differs from its parameter's, an unknown state name, an index no group lists, state missing a
 * tensor the optimizer needs (Adam's exp_avg without exp_avg_sq), invalid options. */
ct_status ct_optimizer_load_state_dict(ct_optimizer *opt, const ct_optim_state_dict *sd);

/* Building a state dict by hand (a checkpoint reader): an empty one for optimizer "SGD", "Adam" or "AdamW". */
ct_optim_state_dict *ct_optim_state_dict_new(const char *optimizer);
/* Appends state entry (param, name) holding value (retained). */
ct_status ct_optim_state_dict_add_entry(ct_optim_state_dict *sd, int64_t param, const char *name, ct_tensor *value);
/* Appends a group record (options and the nparams indices copied; initial_lr NAN for none). */
ct_status ct_optim_state_dict_add_group(ct_optim_state_dict *sd, const ct_optim_options *options, double initial_lr,
                                        int nparams, const int64_t *params);
/* Frees the state dict and releases its tensors. NULL-safe. */
void ct_optim_state_dict_free(ct_optim_state_dict *sd);

/* "state.<param>.<name>" into buf (size bytes, always terminated). Returns buf. */
const char *ct_optim_state_key(const ct_optim_state_entry *entry, char *buf, int size);

/* One hyperparameter of a group by PyTorch's name in param_groups: "lr", "momentum", "dampening", "weight_decay",
 * "nesterov", "maximize" (SGD); "lr", "betas.0", "betas.1", "eps", "weight_decay", "amsgrad", "maximize" (Adam,
 * AdamW); and "initial_lr" when set. Booleans are 0 or 1. */
typedef struct ct_optim_hparam {
    const char *name; /* a constant string */
    double value;
} ct_optim_hparam;
#define CT_OPTIM_MAX_HPARAMS 12
/* Fills out (room for CT_OPTIM_MAX_HPARAMS) with the hyperparameters of sd's group g, named as sd->optimizer's
 * param_groups name them; returns how many (-1 and an error for an unknown optimizer or g out of range). */
int ct_optim_group_hparams(const ct_optim_state_dict *sd, int g, ct_optim_hparam *out);
/* Sets group g's hyperparameter by name (the inverse, for a reader). An unknown name fails. */
ct_status ct_optim_group_set_hparam(ct_optim_state_dict *sd, int g, const char *name, double value);

/* ---- gradient clipping ------------------------------------------------------------------------------------------ */

/* torch.nn.utils.clip_grad_norm_: the norm of order norm_type (> 0, or INFINITY for the largest magnitude) of all
 * the parameters' gradients together, as if concatenated, is written to *total_norm (may be NULL); when it exceeds
 * max_norm every gradient is scaled by max_norm / (total_norm + 1e-6) in place. Parameters without a gradient are
 * skipped; with none, the total is 0. error_if_nonfinite: a NaN or infinite total fails (CT_ERR_INVALID_ARGUMENT,
 * PyTorch's message) instead of scaling. The sums are kept in float64. On CUDA, one launch per device and dtype
 * computes the norm and one scales, and the call waits for the result. */
ct_status ct_clip_grad_norm_(ct_tensor *const *params, int n, double max_norm, double norm_type,
                             bool error_if_nonfinite, double *total_norm);
/* torch.nn.utils.clip_grad_value_: clamps every gradient element into [-clip_value, clip_value] in place (NaN
 * stays NaN). Parameters without a gradient are skipped. */
ct_status ct_clip_grad_value_(ct_tensor *const *params, int n, double clip_value);

/* ---- learning-rate schedulers ---------------------------------------------------------------------------------- */

/* A scheduler sets each group's lr of its optimizer as torch.optim.lr_scheduler does, with PyTorch's recursive
 * ("chainable") formulas, so its numbers are PyTorch's to the last bit. Making one records each group's
 * initial_lr (when not already set) and takes the first step (epoch 0), as PyTorch's constructor does (LinearLR's
 * start factor applies at once). Call ct_lr_scheduler_step after the epoch's optimizer steps. */
typedef struct ct_lr_scheduler ct_lr_scheduler;

/* lr = initial_lr * gamma ^ (epoch / step_size) (integer division). step_size must be positive. */
ct_lr_scheduler *ct_step_lr_new(ct_optimizer *opt, int64_t step_size, double gamma);
/* lr *= gamma at each milestone (a milestone listed k times multiplies by gamma^k). */
ct_lr_scheduler *ct_multi_step_lr_new(ct_optimizer *opt, const int64_t *milestones, int nmilestones, double gamma);
/* lr *= gamma every epoch. */
ct_lr_scheduler *ct_exponential_lr_new(ct_optimizer *opt, double gamma);
/* Cosine from initial_lr down to eta_min over T_max epochs (and back up after, as PyTorch's). T_max positive. */
ct_lr_scheduler *ct_cosine_annealing_lr_new(ct_optimizer *opt, int64_t T_max, double eta_min);
/* Linear warmup: factor start_factor (in (0, 1]) at epoch 0 to end_factor (in [0, 1]) at total_iters, then
 * constant. PyTorch's defaults are 1/3, 1.0, 5. */
ct_lr_scheduler *ct_linear_lr_new(ct_optimizer *opt, double start_factor, double end_factor, int64_t total_iters);
/* Runs schedulers[0] until milestones[0], then schedulers[1], ... (n schedulers and n - 1 increasing milestones),
 * as torch.optim.lr_scheduler.SequentialLR. On success it owns the schedulers (ct_lr_scheduler_free frees them; do
 * not step or free them yourself); on failure they stay the caller's. They must all belong to opt, be distinct,
 * and not be SequentialLRs themselves. */
ct_lr_scheduler *ct_sequential_lr_new(ct_optimizer *opt, ct_lr_scheduler **schedulers, int n,
                                      const int64_t *milestones, int nmilestones);

/* One epoch on (scheduler.step()). Fails with CT_ERR_STATE when the optimizer's number of groups has changed. */
ct_status ct_lr_scheduler_step(ct_lr_scheduler *s);
/* The lrs of the last step, one per group (get_last_lr()): n must be the number of groups. */
ct_status ct_lr_scheduler_get_last_lr(const ct_lr_scheduler *s, double *out, int n);
/* The epoch counter (last_epoch); -1 and an error for NULL. */
int64_t ct_lr_scheduler_last_epoch(const ct_lr_scheduler *s);
/* "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "SequentialLR" ("" for NULL). */
const char *ct_lr_scheduler_name(const ct_lr_scheduler *s);
/* Frees the scheduler (and a SequentialLR's schedulers). NULL-safe. */
void ct_lr_scheduler_free(ct_lr_scheduler *s);

/* A scheduler's state (scheduler.state_dict()): the counters and lr lists; a SequentialLR's has one child per
 * scheduler. The hyperparameters (gamma, milestones, ...) are the constructor's and are not part of it. Resuming
 * exactly, as in PyTorch, takes the optimizer's state dict too (its param_groups hold lr and initial_lr, which the
 * recursive formulas continue from). Malloc'd; free with ct_lr_scheduler_state_free. */
typedef struct ct_lr_scheduler_state {
    char kind[24];      /* ct_lr_scheduler_name */
    int64_t last_epoch; /* "last_epoch" */
    int64_t step_count; /* "_step_count" */
    int ngroups;
    double *base_lrs; /* "base_lrs", ngroups */
    double *last_lr;  /* "_last_lr", ngroups */
    int nchildren;
    struct ct_lr_scheduler_state *children; /* "_schedulers" of a SequentialLR */
} ct_lr_scheduler_state;

ct_lr_scheduler_state *ct_lr_scheduler_state_dict(const ct_lr_scheduler *s);
/* Restores the counters and lrs. Fails (changing nothing) for a state of another kind, another number of groups or
 * of children. It does not touch the optimizer's lrs: load the optimizer's state dict as well. */
ct_status ct_lr_scheduler_load_state_dict(ct_lr_scheduler *s, const ct_lr_scheduler_state *state);
void ct_lr_scheduler_state_free(ct_lr_scheduler_state *state);

#ifdef __cplusplus
}
#endif
#endif
