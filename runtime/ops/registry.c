/* The op registry (ops.h) and the process-wide op settings. Each family lists its ops in its own ops_*.def. */
#include <stdatomic.h>

#include "ctorch/ops.h"

static const struct {
    const char *name;
    bool differentiable;
} ops[] = {
#define CT_OP(name, differentiable) {#name, differentiable},
#include "ops_core.def"
#include "ops_elementwise.def"
#include "ops_indexing.def"
#include "ops_reduce.def"
#include "ops_shape.def"
#include "ops_linalg.def"
#include "ops_conv.def"
#undef CT_OP
};

int ct_op_count(void) { return (int)(sizeof ops / sizeof ops[0]); }
const char *ct_op_name(int i) { return i >= 0 && i < ct_op_count() ? ops[i].name : 0; }
bool ct_op_is_differentiable(int i) { return i >= 0 && i < ct_op_count() && ops[i].differentiable; }

static atomic_bool deterministic, tf32;
void ct_use_deterministic_algorithms(bool on) { atomic_store(&deterministic, on); }
bool ct_are_deterministic_algorithms_enabled(void) { return atomic_load(&deterministic); }
void ct_set_allow_tf32(bool on) { atomic_store(&tf32, on); }
bool ct_allow_tf32(void) { return atomic_load(&tf32); }
