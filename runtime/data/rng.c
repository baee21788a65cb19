/* The data module's small random number generator (SplitMix64, Steele et al., OOPSLA'14) and the derivation of
 * independent seeds from (base seed, numbers). Samplers and transforms draw from it: a stream per epoch and one per
 * sample, so results depend on the seed and the sample's position only, never on threads or worker counts. */
#include "data/data_internal.h"

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t ct_rng_next(ct_rng *rng) {
    rng->state += 0x9E3779B97F4A7C15ull;
    return mix64(rng->state);
}

double ct_rng_uniform(ct_rng *rng) { return (double)(ct_rng_next(rng) >> 11) * 0x1.0p-53; }

int64_t ct_rng_below(ct_rng *rng, int64_t n) {
    if (n <= 1) return 0;
    uint64_t range = (uint64_t)n, limit = UINT64_MAX - UINT64_MAX % range; /* reject the biased tail */
    uint64_t r;
    do r = ct_rng_next(rng);
    while (r >= limit);
    return (int64_t)(r % range);
}

uint64_t ct__seed_derive(uint64_t base, uint64_t a, uint64_t b) {
    return mix64(mix64(mix64(base) ^ (a + 0x9E3779B97F4A7C15ull)) ^ (b + 0xD1B54A32D192ED03ull));
}
