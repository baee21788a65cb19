/* The autograd engine: recording nodes, grad mode, hooks, and ct_backward's reverse topological walk. */
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "ctorch/elementwise.h"
#include "ctorch/reduce.h"

/* ---- grad mode ------------------------------------------------------------------------------------------------ */

static _Thread_local int no_grad_depth;

void ct_no_grad_begin(void) { no_grad_depth++; }

ct_status ct_no_grad_end(void) {
    if (no_grad_depth == 0) return CT_FAIL(CT_ERR_STATE, "no ct_no_grad_begin is open on this thread");
    no_grad_depth--;
    return CT_OK;
}

bool ct_is_grad_enabled(void) { return no_grad_depth == 0; }

/* ---- nodes ---------------------------------------------------------------------------------------------------- */

ct__node *ct__record(const char *name, ct__backward_fn backward, int n, const ct_tensor *const *inputs) {
    if (no_grad_depth > 0) return NULL;
    bool any = false;
    for (int i = 0; i < n; i++) any |= inputs[i] && inputs[i]->requires_grad;
    if (!any) return NULL;
    ct__node *node = calloc(1, sizeof *node);
    if (!node) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory recording %s", name);
        return NULL;
    }
    atomic_init(&node->refcount, 1);
    node->name = name;
    node->backward = backward;
    node->n_inputs = n;
    for (int i = 0; i < n; i++) {
        const ct_tensor *t = inputs[i];
        if (!t) continue;
        node->in_ndim[i] = t->ndim;
        memcpy(node->in_shape[i], t->shape, sizeof t->shape);
        node->in_dtype[i] = t->dtype;
        node->in_device[i] = t->storage->device;
        if (!t->requires_grad) continue;
        node->needs_grad[i] = true;
        if (t->grad_fn) {
            node->next[i] = t->grad_fn;
            atomic_fetch_add(&t->grad_fn->refcount, 1);
        } else {
            node->leaf[i] = (ct_tensor *)t;
            atomic_fetch_add(&node->leaf[i]->refcount, 1);
        }
    }
    return node;
}

int ct__save(ct__node *node, const ct_tensor *t) {
    int i = node->n_saved++;
    ct_tensor *alias = ct__tensor_make(t->storage, t->offset, t->ndim, t->shape, t->stride, t->dtype);
    if (alias && alias->scope) ct__scope_forget(alias);
    node->saved[i] = alias; /* NULL on allocation failure: backward reports it */
    node->saved_version[i] = atomic_load(&t->storage->version);
    return i;
}

const ct_tensor *ct__saved(ct__node *node, int i) {
    ct_tensor *t = node->saved[i];
    if (!t) {
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "%s: a saved tensor could not be kept (out of memory when recording)", node->name);
        return NULL;
    }
    uint64_t now = atomic_load(&t->storage->version);
    if (now != node->saved_version[i]) {
        char shape[CT_SHAPE_BUF];
        CT_FAIL(CT_ERR_STATE,
                "one of the variables needed for gradient computation has been modified by an inplace operation: "
                "[%s %s] is at version %llu; expected version %llu instead (saved by %s)",
                ct_dtype_name(t->dtype), ct__shape_str(t->ndim, t->shape, shape, sizeof shape),
                (unsigned long long)now, (unsigned long long)node->saved_version[i], node->name);
        return NULL;
    }
    return t;
}

void ct__attach(ct__node *node, ct_tensor *out) {
    if (out->grad_fn) ct__node_release(out->grad_fn);
    out->grad_fn = node;
    out->requires_grad = true;
    node->output = out;
}

static void free_saved(ct__node *node) {
    for (int i = 0; i < node->n_saved; i++) {
        ct__tensor_decref(node->saved[i]);
        node->saved[i] = NULL;
    }
    if (node->n_saved) node->freed = true;
}

void ct__node_release(ct__node *node) {
    /* iterative: a long chain of nodes must not recurse once per node */
    ct__node *stack[64];
    int top = 0;
    stack[top++] = node;
    while (top > 0) {
        ct__node *n = stack[--top];
        if (!n || atomic_fetch_sub(&n->refcount, 1) != 1) continue;
        free_saved(n);
        for (int i = 0; i < n->n_inputs; i++) {
            ct__tensor_decref(n->leaf[i]);
            if (n->next[i]) {
                if (top < 64)
                    stack[top++] = n->next[i];
                else
                    ct__node_release(n->next[i]); /* rare: a node with many pending inputs */
            }
        }
        ct__tensor_decref(n->grad_sum);
        free(n);
    }
}

/* ---- tensors and hooks ----------------------------------------------------------------------------------------- */

struct ct__hook {
    ct_grad_hook fn;
    void *ctx;
    ct__hook *next;
    ct_hook_handle *handle; /* told when the tensor goes, so a later ct_hook_remove finds nothing to detach */
};

struct ct_hook_handle {
    ct_tensor *tensor; /* NULL once the tensor is gone */
    ct__hook *hook;
};

void ct__autograd_forget_tensor(ct_tensor *t) {
    if (t->grad_fn) {
        if (t->grad_fn->output == t) t->grad_fn->output = NULL;
        ct__node_release(t->grad_fn);
        t->grad_fn = NULL;
    }
    while (t->hooks) {
        ct__hook *h = t->hooks;
        t->hooks = h->next;
        h->handle->tensor = NULL;
        free(h);
    }
}

ct_hook_handle *ct_register_hook(ct_tensor *t, ct_grad_hook fn, void *ctx) {
    if (CT_CHECK_TENSOR(t) != CT_OK) return NULL;
    if (!fn) {
        CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'hook' is NULL");
        return NULL;
    }
    if (!t->requires_grad) {
        CT_FAIL(CT_ERR_STATE, "cannot register a hook on a tensor that doesn't require gradient");
        return NULL;
    }
    ct__hook *h = calloc(1, sizeof *h);
    ct_hook_handle *handle = calloc(1, sizeof *handle);
    if (!h || !handle) {
        free(h), free(handle);
        CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory registering a hook");
        return NULL;
    }
    h->fn = fn, h->ctx = ctx;
    ct__hook **link = &t->hooks;
    while (*link) link = &(*link)->next;
    *link = h;
    handle->tensor = t;
    handle->hook = h;
    h->handle = handle;
    return handle;
}

ct_status ct_hook_remove(ct_hook_handle *handle) {
    if (!handle) return CT_FAIL(CT_ERR_INVALID_ARGUMENT, "argument 'handle' is NULL");
    ct_tensor *t = handle->tensor;
    for (ct__hook **link = t ? &t->hooks : NULL; link && *link; link = &(*link)->next)
        if (*link == handle->hook) {
            ct__hook *h = *link;
            *link = h->next;
            free(h);
            break;
        }
    free(handle);
    return CT_OK;
}

/* ---- queries ------------------------------------------------------------------------------------------------------ */

ct_tensor *ct_detach(const ct_tensor *t) {
    if (CT_CHECK_TENSOR(t) != CT_OK) return NULL;
    return ct__tensor_make(t->storage, t->offset, t->ndim, t->shape, t->stride, t->dtype);
}

bool ct_is_leaf(const ct_tensor *t) { return t && !t->grad_fn; }
const char *ct_grad_fn_name(const ct_tensor *t) { return t && t->grad_fn ? t->grad_fn->name : NULL; }

ct_status ct_retain_grad(ct_tensor *t) {
    ct_status st = CT_CHECK_TENSOR(t);
    if (st != CT_OK) return st;
    if (!t->requires_grad) return CT_FAIL(CT_ERR_STATE, "can't retain_grad on Tensor that has requires_grad=False");
    if (t->grad_fn) t->retains_grad = true;
    return CT_OK;
}

ct_status ct__check_inplace(const ct_tensor *t, const char *func) {
    if (no_grad_depth == 0 && t->requires_grad && !t->grad_fn)
        return ct__error(CT_ERR_STATE, func, "a leaf Variable that requires grad is being used in an in-place operation.");
    return CT_OK;
}

ct_tensor *ct__sum_to(const ct_tensor *grad, int ndim, const int64_t *shape) {
    int lead = grad->ndim - ndim, dims[CT_MAX_DIMS], n = 0;
    for (int i = 0; i < grad->ndim; i++)
        if (i < lead || (shape[i - lead] == 1 && grad->shape[i] != 1)) dims[n++] = i;
    if (n == 0 && lead == 0) return ct_alias(grad);
    ct_tensor *s = ct_sum(grad, n, dims, true);
    if (!s) return NULL;
    ct_tensor *r = ct_reshape(s, ndim, shape);
    ct_release(s);
    return r;
}

/* ---- backward ------------------------------------------------------------------------------------------------ */

static _Thread_local uint64_t visit_epoch;

/* Runs t's hooks on grad; returns the (possibly replaced) gradient, borrowed from the engine's scope. */
static const ct_tensor *run_hooks(ct_tensor *t, const ct_tensor *grad) {
    for (ct__hook *h = t ? t->hooks : NULL; h; h = h->next) {
        ct_tensor *r = h->fn(grad, h->ctx);
        if (!r) continue;
        if (!r->scope) ct__scope_adopt(r); /* a reference handed to us: the engine's scope releases it */
        grad = r;
    }
    return grad;
}

/* grad += g for a leaf (or a non-leaf that retains its grad). */
static ct_status accumulate_into_grad(ct_tensor *t, const ct_tensor *g) {
    if (t->grad) return ct_add_(t->grad, g, 1.0);
    ct_tensor *c = ct_clone(g); /* never share: a later in-place accumulation must not touch another tensor */
    return c ? ct_set_grad(t, c) : ct_last_status();
}

/* Input i's gradient in the input's dtype and shape. Borrowed from the engine's scope. */
static const ct_tensor *shaped_for_input(ct__node *n, int i, const ct_tensor *g) {
    if (g->dtype != n->in_dtype[i]) g = ct_to_dtype(g, n->in_dtype[i]);
    if (g && !ct_device_equal(g->storage->device, n->in_device[i])) g = ct_to_device(g, n->in_device[i]);
    if (g && (g->ndim != n->in_ndim[i] || memcmp(g->shape, n->in_shape[i], sizeof(int64_t) * (size_t)g->ndim) != 0))
        g = ct__sum_to(g, n->in_ndim[i], n->in_shape[i]);
    return g;
}

typedef struct {
    ct__node **items;
    int64_t count, cap;
} node_list;

static bool push(node_list *l, ct__node *n) {
    if (l->count == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 64;
        ct__node **items = realloc(l->items, sizeof *items * (size_t)cap);
        if (!items) return false;
        l->items = items, l->cap = cap;
    }
    l->items[l->count++] = n;
    return true;
}

/* Every node reachable from root, each with deps = the number of edges into it from reachable nodes. */
static ct_status collect(ct__node *root, node_list *all) {
    uint64_t epoch = ++visit_epoch;
    node_list todo = {0};
    root->visit = epoch, root->deps = 0;
    ct_status st = push(&todo, root) && push(all, root) ? CT_OK : CT_ERR_OUT_OF_MEMORY;
    while (st == CT_OK && todo.count > 0) {
        ct__node *n = todo.items[--todo.count];
        for (int i = 0; i < n->n_inputs; i++) {
            ct__node *m = n->next[i];
            if (!m) continue;
            if (m->visit != epoch) {
                m->visit = epoch, m->deps = 0;
                if (!push(&todo, m) || !push(all, m)) st = CT_ERR_OUT_OF_MEMORY;
            }
            m->deps++;
        }
    }
    free(todo.items);
    return st == CT_OK ? CT_OK : CT_FAIL(st, "out of memory walking the autograd graph");
}

static ct_status run_node(ct__node *n, node_list *ready) {
    const ct_tensor *g = run_hooks(n->output, n->grad_sum);
    ct_status st = CT_OK;
    if (n->output && n->output->retains_grad) st = accumulate_into_grad(n->output, g);
    ct_tensor *grad_inputs[CT__MAX_EDGES] = {NULL};
    if (st == CT_OK) st = n->backward(n, g, grad_inputs);
    for (int i = 0; st == CT_OK && i < n->n_inputs; i++) {
        if (!n->needs_grad[i] || !grad_inputs[i]) continue;
        const ct_tensor *gi = shaped_for_input(n, i, grad_inputs[i]);
        if (!gi) return ct_last_status();
        ct__node *m = n->next[i];
        if (!m) {
            gi = run_hooks(n->leaf[i], gi);
            st = accumulate_into_grad(n->leaf[i], gi);
            continue;
        }
        ct_tensor *sum = m->grad_sum ? ct_add(m->grad_sum, gi, 1.0) : (ct_tensor *)gi;
        if (!sum) return ct_last_status();
        ct_retain(sum); /* grad_sum holds a reference of its own */
        ct__tensor_decref(m->grad_sum);
        m->grad_sum = sum;
        if (--m->deps == 0 && !push(ready, m)) st = CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory in backward");
    }
    ct__tensor_decref(n->grad_sum);
    n->grad_sum = NULL;
    return st;
}

static ct_status backward_graph(ct_tensor *root, const ct_tensor *g0, bool retain_graph) {
    if (!root->grad_fn) { /* backward on a leaf: its gradient is g0 */
        const ct_tensor *g = run_hooks(root, g0);
        return accumulate_into_grad(root, g);
    }
    node_list all = {0}, ready = {0};
    ct_status st = collect(root->grad_fn, &all);
    for (int64_t i = 0; st == CT_OK && i < all.count; i++)
        if (all.items[i]->freed)
            st = CT_FAIL(CT_ERR_STATE,
                         "Trying to backward through the graph a second time (or directly access saved tensors after "
                         "they have already been freed). Saved intermediate values of the graph are freed when you "
                         "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
                         "through the graph a second time or if you need to access saved intermediate values after "
                         "calling backward. (node %s)",
                         all.items[i]->name);
    if (st == CT_OK) {
        root->grad_fn->grad_sum = ct_retain((ct_tensor *)g0);
        if (!push(&ready, root->grad_fn)) st = CT_FAIL(CT_ERR_OUT_OF_MEMORY, "out of memory in backward");
    }
    while (st == CT_OK && ready.count > 0) st = run_node(ready.items[--ready.count], &ready);
    for (int64_t i = 0; i < all.count; i++) {
        ct__node *n = all.items[i];
        ct__tensor_decref(n->grad_sum); /* left over only after an error */
        n->grad_sum = NULL;
        if (!retain_graph && st == CT_OK) free_saved(n);
    }
    free(all.items);
    free(ready.items);
    return st;
}

ct_status ct_backward(ct_tensor *root, const ct_tensor *grad, bool retain_graph) {
    ct_status st = CT_CHECK_TENSOR(root);
    if (st != CT_OK) return st;
    if (!root->requires_grad)
        return CT_FAIL(CT_ERR_STATE, "element 0 of tensors does not require grad and does not have a grad_fn");
    char a[CT_SHAPE_BUF], b[CT_SHAPE_BUF];
    if (!grad && ct_numel(root) != 1)
        return CT_FAIL(CT_ERR_SHAPE, "grad can be implicitly created only for scalar outputs (output has shape %s)",
                       ct__shape_str(root->ndim, root->shape, a, sizeof a));
    if (grad && (grad->ndim != root->ndim || memcmp(grad->shape, root->shape, sizeof(int64_t) * (size_t)root->ndim)))
        return CT_FAIL(CT_ERR_SHAPE, "Mismatch in shape: grad_output[0] has a shape of %s and output[0] has a shape of %s.",
                       ct__shape_str(grad->ndim, grad->shape, a, sizeof a), ct__shape_str(root->ndim, root->shape, b, sizeof b));
    ct_scope_begin();
    ct_no_grad_begin();
    const ct_tensor *g0 = grad ? grad : ct_ones_like(root);
    if (g0 && !ct_device_equal(g0->storage->device, root->storage->device)) g0 = ct_to_device(g0, root->storage->device);
    if (g0 && g0->dtype != root->dtype) g0 = ct_to_dtype(g0, root->dtype);
    st = g0 ? backward_graph(root, g0, retain_graph) : ct_last_status();
    ct_no_grad_end();
    ct_scope_end();
    return st;
}
