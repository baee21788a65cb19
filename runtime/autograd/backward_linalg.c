/* The backward functions of the linalg family and the recording calls of its front end
 * (runtime/autograd/backward_linalg.h). With G the gradient of the result:
 *
 *   matmul (and dot, mv, mm, bmm)   dA = G @ B^T, dB = A^T @ G. A 1-D operand is first seen as a row (A) or a
 *                                   column (B) and G gets the dim the product dropped; batch dims that were
 *                                   broadcast come back summed (the engine sums a gradient to its input's shape)
 *   addmm                           d input = beta G (summed to input's shape), d mat1 = alpha G @ mat2^T,
 *                                   d mat2 = alpha mat1^T @ G
 *   linear                          dx = G @ W, dW = G^T @ x over all leading dims flattened, d bias = G (summed)
 *
 * Each node saves an operand only when the other one needs a gradient; iargs[0] and iargs[1] hold the saved index
 * of the first and second operand (-1: not saved). Backward runs with grad mode off inside the engine's scope, so
 * its temporaries need no release; ops given a NULL input return NULL and keep the first error, so a chain is
 * checked once at its end. */
#include "autograd/backward_linalg.h"
#include "ctorch/elementwise.h"
#include "ctorch/linalg.h"

/* ---- shared ------------------------------------------------------------------------------------------------------ */

/* Saves operand i's partner j (needed for operand i's gradient), recording the saved index in iargs[j]. */
static void save_partners(ct__node *node, const ct_tensor *a, const ct_tensor *b) {
    node->iargs[0] = node->needs_grad[1] ? ct__save(node, a) : -1;
    node->iargs[1] = node->needs_grad[0] ? ct__save(node, b) : -1;
}

/* The saved operand i (0 or 1), NULL with the error set. */
static const ct_tensor *operand(ct__node *n, int i) {
    if (n->iargs[i] < 0) {
        CT_FAIL(CT_ERR_STATE, "%s: operand %d was not saved", n->name, i);
        return NULL;
    }
    return ct__saved(n, (int)n->iargs[i]);
}

/* t * s, or t itself when s is 1. */
static ct_tensor *scaled(const ct_tensor *t, double s) { return s == 1.0 ? (ct_tensor *)t : ct_mul_scalar(t, s); }

/* ---- matmul ------------------------------------------------------------------------------------------------------ */

/* dA = G @ B^T, dB = A^T @ G with 1-D operands as a row (A) or a column (B). */
static ct_status matmul_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    int da = n->in_ndim[0], db = n->in_ndim[1];
    const ct_tensor *g = grad; /* batch + (m, cols), the dims of 1-D operands put back */
    if (db == 1) g = ct_unsqueeze(g, -1);
    if (g && da == 1) g = ct_unsqueeze(g, -2);
    if (!g) return ct_last_status();
    if (n->needs_grad[0]) {
        const ct_tensor *b = operand(n, 1);
        ct_tensor *bt = !b ? NULL : db == 1 ? ct_unsqueeze(b, 0) : ct_transpose(b, -1, -2);
        ct_tensor *ga = bt ? ct_matmul(g, bt) : NULL; /* batch + (m, k) */
        gi[0] = ga && da == 1 ? ct_squeeze_dim(ga, -2) : ga;
        if (!gi[0]) return ct_last_status();
    }
    if (n->needs_grad[1]) {
        const ct_tensor *a = operand(n, 0);
        ct_tensor *at = !a ? NULL : da == 1 ? ct_unsqueeze(a, -1) : ct_transpose(a, -1, -2);
        ct_tensor *gb = at ? ct_matmul(at, g) : NULL; /* batch + (k, cols) */
        gi[1] = gb && db == 1 ? ct_squeeze_dim(gb, -1) : gb;
        if (!gi[1]) return ct_last_status();
    }
    return CT_OK;
}

ct_tensor *ct__record_matmul(ct_tensor *out, const ct_tensor *a, const ct_tensor *b, const char *name) {
    const ct_tensor *in[2] = {a, b};
    ct__node *node = out ? ct__record(name, matmul_backward, 2, in) : NULL;
    if (!node) return out;
    save_partners(node, a, b);
    ct__attach(node, out);
    return out;
}

/* ---- addmm ------------------------------------------------------------------------------------------------------- */

/* Inputs: input, mat1, mat2; args: beta, alpha; iargs[0..1]: the saved mat1, mat2. */
static ct_status addmm_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    double beta = n->args[0], alpha = n->args[1];
    if (n->needs_grad[0] && !(gi[0] = scaled(grad, beta))) return ct_last_status();
    if (n->needs_grad[1]) {
        const ct_tensor *mat2 = operand(n, 1);
        ct_tensor *p = mat2 ? ct_mm(grad, ct_t(mat2)) : NULL;
        if (!p || !(gi[1] = scaled(p, alpha))) return ct_last_status();
    }
    if (n->needs_grad[2]) {
        const ct_tensor *mat1 = operand(n, 0);
        ct_tensor *p = mat1 ? ct_mm(ct_t(mat1), grad) : NULL;
        if (!p || !(gi[2] = scaled(p, alpha))) return ct_last_status();
    }
    return CT_OK;
}

ct_tensor *ct__record_addmm(ct_tensor *out, const ct_tensor *input, const ct_tensor *mat1, const ct_tensor *mat2,
                            double beta, double alpha) {
    const ct_tensor *in[3] = {input, mat1, mat2};
    ct__node *node = out ? ct__record("AddmmBackward0", addmm_backward, 3, in) : NULL;
    if (!node) return out;
    node->args[0] = beta, node->args[1] = alpha;
    node->iargs[0] = node->needs_grad[2] ? ct__save(node, mat1) : -1;
    node->iargs[1] = node->needs_grad[1] ? ct__save(node, mat2) : -1;
    ct__attach(node, out);
    return out;
}

/* ---- linear ------------------------------------------------------------------------------------------------------ */

/* Inputs: x (*, in), weight (out, in), bias; iargs[0..1]: the saved x, weight. */
static ct_status linear_backward(ct__node *n, const ct_tensor *grad, ct_tensor **gi) {
    if (n->needs_grad[0]) {
        const ct_tensor *w = operand(n, 1);
        if (!(gi[0] = w ? ct_matmul(grad, w) : NULL)) return ct_last_status();
    }
    if (n->needs_grad[1]) {
        const ct_tensor *x = operand(n, 0);
        int64_t in = n->in_shape[1][1], out = n->in_shape[1][0], rows = 1;
        for (int d = 0; d < n->in_ndim[0] - 1; d++) rows *= n->in_shape[0][d];
        ct_tensor *x2 = x ? ct_reshape(x, 2, (int64_t[]){rows, in}) : NULL;
        ct_tensor *g2 = x2 ? ct_reshape(grad, 2, (int64_t[]){rows, out}) : NULL;
        if (!(gi[1] = g2 ? ct_mm(ct_t(g2), x2) : NULL)) return ct_last_status();
    }
    if (n->needs_grad[2]) gi[2] = (ct_tensor *)grad; /* the engine sums it to the bias's shape */
    return CT_OK;
}

ct_tensor *ct__record_linear(ct_tensor *out, const ct_tensor *x, const ct_tensor *weight, const ct_tensor *bias) {
    const ct_tensor *in[3] = {x, weight, bias};
    const char *name = x && x->ndim == 2 ? (bias ? "AddmmBackward0" : "MmBackward0") : "LinearBackward0";
    ct__node *node = out ? ct__record(name, linear_backward, 3, in) : NULL;
    if (!node) return out;
    save_partners(node, x, weight);
    ct__attach(node, out);
    return out;
}
