/* synth_rng.c — random streams of the generator: splitmix64 hashing of (master seed, purpose)
 * into independent seeds, and GSL mt19937 generators seeded from them. */
#include "synth.h"

uint64_t synth_splitmix64(uint64_t *state)
{
    *state += 0x9E3779B97F4A7C15ULL;
    return synth_hash64(*state);
}

uint64_t synth_hash64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

uint64_t synth_stream_seed(uint64_t master, synth_stream purpose)
{
    /* Two splitmix64 steps: the master seed, then the purpose, each mixed in fully. */
    uint64_t state = master;
    uint64_t a = synth_splitmix64(&state);
    state = a ^ ((uint64_t)purpose * 0xD1B54A32D192ED03ULL);
    return synth_splitmix64(&state);
}

gsl_rng *synth_rng_from_seed(uint64_t seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r)
        return NULL;
    /* mt19937 uses the low 32 bits of its seed: fold the high half in first. */
    unsigned long s32 = (unsigned long)((seed ^ (seed >> 32)) & 0xFFFFFFFFULL);
    gsl_rng_set(r, s32);
    return r;
}

gsl_rng *synth_rng_new(uint64_t master, synth_stream purpose)
{
    return synth_rng_from_seed(synth_stream_seed(master, purpose));
}
