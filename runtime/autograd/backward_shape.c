/* The backward functions of the shape family and the recording calls of its front end
 * (runtime/autograd/backward_shape.h). With G the gradient of the result:
 *
 *   cat               input i gets G narrowed to its slab along dim (an empty skipped 1-D input: an empty gradient)
 *   stack             input i gets G selected at i along the new dim
 *   repeat            G summed over the repeats of each dim: viewed as (before, repeats, size, after), summed over
 *                     the repeats (four dims whatever the rank, so CT_MAX_DIMS dims still work)
 *   flip              G flipped back along the same dims
 *   constant_pad_nd   G padded by the negated pads: positive pads narrow it, crops (negative pads) put zeros back
 *   split, chunk      views made by ct_narrow: the view's own node scatters G into zeros of the input's shape
 *
 * cat and stack take any number of inputs, while a node has at most CT__MAX_EDGES edges. A list of more inputs is
 * recorded as a chain: a node's last edge leads to a node of the same kind over the remaining inputs, which is
 * fed G's remaining slab along dim. The edge is made by handing ct__record a stand-in tensor of that slab's shape
 * whose grad_fn is the node over the rest, so the engine needs no special case.
 *
 * Backward runs with grad mode off inside the engine's scope, so its temporaries need no release; ops given a NULL
 * input return NULL and keep the first error, so each chain is checked once at its end. */
#include <string.h>

#include "autograd/backward_shape.h"
#include "ctorch/reduce.h"
#include "ctorch/shape.h"

/* ---- cat and stack ------------------------------------------------------------------------------------------------ */

/* A list node's iargs: [0] the dim, [1] the number of edges that are inputs of the op (an edge after them leads to
 * the node over the rest of the list). */

static bool is_skipped_by_cat(const ct__node *n, int i) { return n->in_ndim[i] == 1 && n->in_shape[i][0] == 0; }

/* Input i: G narrowed to its slab; an input cat skipped gets an empty gradient. */
static ct_status cat_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    int dim = (int)n->iargs[0];
    int64_t start = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        if (is_skipped_by_cat(n, i)) {
            if (n->needs_grad[i] && !(gi[i] = ct_zeros(1, n->in_shape[i], grad->dtype, grad->storage->device)))
                return ct_last_status();
            continue;
        }
        int64_t length = n->in_shape[i][dim];
        if (n->needs_grad[i] && !(gi[i] = ct_narrow(grad, dim, start, length))) return ct_last_status();
        start += length;
    }
    return CT_OK;
}

/* Input i: G at i along the new dim; the edge to the rest of the list: G's remaining slab. */
static ct_status stack_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    int dim = (int)n->iargs[0], inputs = (int)n->iargs[1];
    for (int i = 0; i < n->n_inputs; i++) {
        if (!n->needs_grad[i]) continue;
        gi[i] = i < inputs ? ct_select(grad, dim, i) : ct_narrow(grad, dim, i, grad->shape[dim] - i);
        if (!gi[i]) return ct_last_status();
    }
    return CT_OK;
}

/* What a list op's node needs to know of its kind. */
typedef struct list_kind {
    const char *name;
    ct__backward_fn backward;
    bool stack;
} list_kind;

/* The length along dim that tensors[i] takes in the result. */
static int64_t slab_length(const list_kind *kind, const ct_tensor *t, int dim) {
    if (kind->stack) return 1;
    return t->ndim == 1 && t->shape[0] == 0 ? 0 : t->shape[dim];
}

/* Records the list op's chain of nodes (see the top of the file), from its last node to its first, and attaches
 * the first to out. Groups hold CT__MAX_EDGES - 1 inputs plus the edge to the rest, the last group up to
 * CT__MAX_EDGES inputs. */
static ct_tensor *record_list(const list_kind *kind, ct_tensor *out, int n, ct_tensor *const *tensors, int dim) {
    if (!out) return NULL;
    const int per = CT__MAX_EDGES - 1;
    int last = n <= CT__MAX_EDGES ? 0 : ((n - CT__MAX_EDGES + per - 1) / per) * per;
    ct__node *rest = NULL; /* the node over tensors[start + per ..], or NULL when none of those requires grad */
    int64_t rest_length = 0;
    for (int start = last; start >= 0; start -= per) {
        int inputs = start == last ? n - start : per;
        const ct_tensor *edges[CT__MAX_EDGES];
        for (int i = 0; i < inputs; i++) edges[i] = tensors[start + i];
        ct_tensor stand_in; /* the slab of out that the rest of the list fills */
        memset(&stand_in, 0, sizeof stand_in);
        if (start != last) {
            stand_in.storage = out->storage;
            stand_in.ndim = out->ndim;
            memcpy(stand_in.shape, out->shape, sizeof stand_in.shape);
            stand_in.shape[dim] = rest_length;
            stand_in.dtype = out->dtype;
            stand_in.requires_grad = rest != NULL;
            stand_in.grad_fn = rest;
            edges[inputs] = &stand_in;
        }
        ct__node *node = ct__record(kind->name, kind->backward, inputs + (start != last), edges);
        if (rest) ct__node_release(rest); /* node holds its own reference */
        if (node) node->iargs[0] = dim, node->iargs[1] = inputs;
        for (int i = 0; i < inputs; i++) rest_length += slab_length(kind, tensors[start + i], dim);
        rest = node;
    }
    if (rest) ct__attach(rest, out);
    return out;
}

ct_tensor *ct__record_cat(ct_tensor *out, int n, ct_tensor *const *tensors, int dim) {
    static const list_kind cat = {"CatBackward0", cat_backward, false};
    return record_list(&cat, out, n, tensors, dim);
}

ct_tensor *ct__record_stack(ct_tensor *out, int n, ct_tensor *const *tensors, int dim) {
    static const list_kind stack = {"StackBackward0", stack_backward, true};
    return record_list(&stack, out, n, tensors, dim);
}

/* ---- repeat, flip, constant_pad_nd ------------------------------------------------------------------------------ */

/* iargs: [0] n, [1..n] the repeats. */
static ct_status repeat_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    int nr = (int)n->iargs[0], lead = nr - n->in_ndim[0];
    const ct_tensor *g = grad;
    for (int d = 0; d < nr && g; d++) {
        int64_t r = n->iargs[1 + d];
        if (r == 1) continue;
        int64_t size = d < lead ? 1 : n->in_shape[0][d - lead], before = 1, after = 1, shape[CT_MAX_DIMS];
        for (int k = 0; k < d; k++) before *= g->shape[k];
        for (int k = d + 1; k < nr; k++) after *= g->shape[k];
        ct_tensor *v = ct_reshape(g, 4, (int64_t[]){before, r, size, after});
        ct_tensor *s = v ? ct_sum(v, 1, (int[]){1}, false) : NULL;
        memcpy(shape, g->shape, sizeof shape);
        shape[d] = size;
        g = s ? ct_reshape(s, nr, shape) : NULL;
    }
    gi[0] = g ? ct_reshape(g, n->in_ndim[0], n->in_shape[0]) : NULL;
    return gi[0] ? CT_OK : ct_last_status();
}

ct_tensor *ct__record_repeat(ct_tensor *out, const ct_tensor *t, int n, const int64_t *repeats) {
    ct__node *node = out ? ct__record("RepeatBackward0", repeat_backward, 1, &t) : NULL;
    if (!node) return out;
    node->iargs[0] = n;
    for (int d = 0; d < n; d++) node->iargs[1 + d] = repeats[d];
    ct__attach(node, out);
    return out;
}

/* iargs: [0] n, [1..n] the dims. */
static ct_status flip_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    int dims[CT_MAX_DIMS], nd = (int)n->iargs[0];
    for (int i = 0; i < nd; i++) dims[i] = (int)n->iargs[1 + i];
    gi[0] = ct_flip(grad, nd, dims);
    return gi[0] ? CT_OK : ct_last_status();
}

ct_tensor *ct__record_flip(ct_tensor *out, const ct_tensor *t, int n, const int *dims) {
    ct__node *node = out ? ct__record("FlipBackward0", flip_backward, 1, &t) : NULL;
    if (!node) return out;
    node->iargs[0] = n;
    for (int i = 0; i < n; i++) node->iargs[1 + i] = dims[i];
    ct__attach(node, out);
    return out;
}

/* iargs: [0] npad, [1..npad] the pads negated. */
static ct_status constant_pad_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    gi[0] = ct_constant_pad_nd(grad, (int)n->iargs[0], &n->iargs[1], 0.0);
    return gi[0] ? CT_OK : ct_last_status();
}

ct_tensor *ct__record_constant_pad(ct_tensor *out, const ct_tensor *t, int npad, const int64_t *pad) {
    ct__node *node = out ? ct__record("ConstantPadNdBackward0", constant_pad_backward, 1, &t) : NULL;
    if (!node) return out;
    node->iargs[0] = npad;
    for (int i = 0; i < npad; i++) node->iargs[1 + i] = -pad[i];
    ct__attach(node, out);
    return out;
}

/* ---- split ------------------------------------------------------------------------------------------------------ */

ct_tensor *ct__split_view(const ct_tensor *t, int dim, int64_t start, int64_t length, const char *name) {
    ct_tensor *v = ct_narrow(t, dim, start, length);
    if (v && v->grad_fn) v->grad_fn->name = name;
    return v;
}
