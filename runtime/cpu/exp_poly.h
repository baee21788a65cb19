/* The float32 exponential's core, shared by the elementwise exp and GELU loops and the softmax/logsumexp passes of
 * the reductions: e^r for a reduced argument |r| <= ln 2 / 2, as the degree-7 Taylor polynomial in Horner form
 * (truncation error below 2^-26 there). Each caller picks n = round(x / ln 2) its own way (clamping, where the
 * rounding error goes) and scales by 2^n; the operation order here is fixed, so every caller's results stay
 * bit-identical to the loops this replaced. Always inlined, so it vectorises inside the callers' simd loops and
 * takes each caller's target (SSE2, AVX2, AVX-512) clone. */
#ifndef CTORCH_CPU_EXP_POLY_H
#define CTORCH_CPU_EXP_POLY_H

/* ln 2 in two parts: n times the first (9 significant bits) is exact for |n| < 2^15. */
#define CT__LN2_HI_F32 0.693359375f
#define CT__LN2_LO_F32 -2.12194440e-4f

static inline __attribute__((always_inline)) float ct__exp_reduced_f32(float r) {
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    return p * r + 1.0f;
}

#endif
