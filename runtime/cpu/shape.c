/* CPU kernels of the shape family (kernels/shape.h): the batched row copy of cat/stack and repeat's tiling.
 * Both write a contiguous output row by row with memcpy, split across the CPU pool's threads (parallel.h) when the
 * work is large. */
#include <string.h>

#include "kernels/shape.h"
#include "parallel.h"

/* Below this many bytes a kernel runs on one thread. */
#define PARALLEL_MIN_BYTES (256 * 1024)
/* A single-row cat input is copied in pieces of this many bytes, so that threads can share it. */
#define PIECE_BYTES (1 << 20)

/* Copies piece p of row r of input i (pieces of at most PIECE_BYTES). */
static void cat_piece(char *out, size_t es, int64_t out_inner, const ct__cat_input *in, int64_t r, int64_t p) {
    size_t row = (size_t)in->inner * es, start = (size_t)p * PIECE_BYTES;
    size_t len = row - start < PIECE_BYTES ? row - start : PIECE_BYTES;
    memcpy(out + ((size_t)(r * out_inner + in->offset)) * es + start, (const char *)in->data + (size_t)r * row + start,
           len);
}

typedef struct cat_job {
    char *out;
    size_t es;
    int64_t out_inner, pieces;
    const ct__cat_input *in;
} cat_job;

static void cat_pieces(int64_t begin, int64_t end, void *arg) {
    const cat_job *c = arg;
    for (int64_t w = begin; w < end; w++) cat_piece(c->out, c->es, c->out_inner, c->in, w / c->pieces, w % c->pieces);
}

ct_status ct__cpu_cat(void *out, ct_dtype dtype, int64_t outer, int64_t out_inner, int n, const ct__cat_input *in) {
    size_t es = ct_dtype_size(dtype);
    for (int i = 0; i < n; i++) {
        if (in[i].inner == 0 || outer == 0) continue;
        cat_job c = {out, es, out_inner, (int64_t)(((size_t)in[i].inner * es + PIECE_BYTES - 1) / PIECE_BYTES), &in[i]};
        /* pieces per item so that about PARALLEL_MIN_BYTES go to a thread at the least */
        size_t item_bytes = (size_t)in[i].inner * es / (size_t)c.pieces + 1;
        ct__parallel_for(outer * c.pieces, (int64_t)(PARALLEL_MIN_BYTES / item_bytes) + 1, cat_pieces, &c);
    }
    return CT_OK;
}

/* Copies n elements of es bytes from src (byte stride sstep) to contiguous dst. */
static void gather_row(char *dst, const char *src, int64_t n, int64_t sstep, size_t es) {
    if (sstep == (int64_t)es) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * es, src + i * sstep, es);
}

/* Fills output row r (the last dim) of a repeat: the matching source row once, then that block doubled in place
 * until the row is full. */
static void repeat_row(const ct__view *dst, const ct__view *src, int64_t r, size_t es) {
    int n = dst->ndim;
    int64_t len = dst->shape[n - 1], slen = src->shape[n - 1];
    char *out = (char *)dst->data + (size_t)(r * len) * es;
    const char *s = src->data;
    for (int d = n - 2; d >= 0; d--) {
        int64_t i = r % dst->shape[d];
        r /= dst->shape[d];
        s += (i % src->shape[d]) * src->stride[d] * (int64_t)es;
    }
    gather_row(out, s, slen, src->stride[n - 1] * (int64_t)es, es);
    for (int64_t done = slen; done < len;) {
        int64_t c = done < len - done ? done : len - done;
        memcpy(out + (size_t)done * es, out, (size_t)c * es);
        done += c;
    }
}

typedef struct repeat_job {
    const ct__view *dst, *src;
    size_t es;
} repeat_job;

static void repeat_rows(int64_t begin, int64_t end, void *arg) {
    const repeat_job *j = arg;
    for (int64_t r = begin; r < end; r++) repeat_row(j->dst, j->src, r, j->es);
}

ct_status ct__cpu_repeat(ct__view dst, ct__view src) {
    size_t es = ct_dtype_size(dst.dtype);
    int64_t numel = 1;
    for (int d = 0; d < dst.ndim; d++) numel *= dst.shape[d];
    if (numel == 0) return CT_OK;
    if (dst.ndim == 0) {
        memcpy(dst.data, src.data, es);
        return CT_OK;
    }
    int64_t rows = numel / dst.shape[dst.ndim - 1];
    repeat_job j = {&dst, &src, es};
    size_t row_bytes = (size_t)(numel / rows) * es + 1;
    ct__parallel_for(rows, (int64_t)(PARALLEL_MIN_BYTES / row_bytes) + 1, repeat_rows, &j);
    return CT_OK;
}
