/* synth_params.c — defaults, semantic checks and derived sizes of the generator's parameters. */
#include "synth.h"
#include <math.h>
#include <stdio.h>

#define SYNTH_MAX_LEVELS 30          /* 2^J must stay far inside double precision of z */
#define SYNTH_MAX_ENTITIES 1000000000L
#define SYNTH_BUMPS_BUDGET (1L << 16) /* truth_dim * truth_levels * 2^d hashed corners per point */

void synth_params_default(synth_params *p)
{
    p->seed = 1;
    p->n_obs = 1024;
    p->obs_per_user = 10;
    p->obs_per_item = 10;
    p->user_intrinsic_dim = 2;
    p->item_intrinsic_dim = 2;
    p->user_ambient_dim = 16;
    p->item_ambient_dim = 16;
    p->manifold = SYNTH_LINEAR;
    p->ambient_noise = 0;
    p->truth = SYNTH_LACUNARY;
    p->truth_levels = 4;
    p->beta = 1.0;
    p->truth_dim = 4;
    p->noise = 0.1;
    p->noise_dist = SYNTH_GAUSSIAN;
    p->noise_df = 5;
    p->stars = 0;
    p->sampling = SYNTH_UNIFORM;
    p->zipf_s = 1.0;
    p->mnar_strength = 1.0;
    p->test_cold_pairs = 20000;
    p->test_warm_pairs = 5000;
    p->valid_fraction = 0.1;
    p->cold_list_size = 50;
    p->protocol = SYNTH_PROTOCOL_RANDOM;
    p->leave_last_k = 1;
    p->user_drift = 0;
}

/* ceil(n / per) computed so that per * (result - 1) < n <= per * result holds exactly. */
static double ceil_div(long n, double per)
{
    double c = ceil((double)n / per);
    if (c > 1 && (c - 1) * per >= (double)n)
        c -= 1;
    return c;
}

int synth_n_users(const synth_params *p)
{
    return (int)ceil_div(p->n_obs, p->obs_per_user);
}

int synth_n_items(const synth_params *p)
{
    return (int)ceil_div(p->n_obs, p->obs_per_item);
}

int synth_n_cold_users(const synth_params *p)
{
    if (p->test_cold_pairs <= 0)
        return 0;
    return (int)((p->test_cold_pairs + p->cold_list_size - 1) / p->cold_list_size);
}

int synth_n_cold_items(const synth_params *p)
{
    if (p->test_cold_pairs <= 0)
        return 0;
    long n = (p->test_cold_pairs + 19) / 20;
    return (int)(n > p->cold_list_size ? n : p->cold_list_size);
}

long synth_n_valid(const synth_params *p)
{
    return (long)ceil(p->valid_fraction * (double)p->n_obs);
}

#define FAIL(key, ...)                                                                            \
    do {                                                                                          \
        if (bad_key)                                                                              \
            *bad_key = key;                                                                       \
        if (err && errlen)                                                                        \
            snprintf(err, errlen, __VA_ARGS__);                                                   \
        return -1;                                                                                \
    } while (0)

static int check_side(int side, int d, int D, synth_manifold m, const char **bad_key, char *err,
                      size_t errlen)
{
    static const char *const key_d[2] = {"user_intrinsic_dim", "item_intrinsic_dim"};
    static const char *const key_D[2] = {"user_ambient_dim", "item_ambient_dim"};
    int s = side;
    if (d < 1)
        FAIL(key_d[s], "%s = %d: must be >= 1", key_d[s], d);
    if (D < 1)
        FAIL(key_D[s], "%s = %d: must be >= 1", key_D[s], D);
    if (d > D)
        FAIL(key_d[s], "%s = %d exceeds %s = %d (the manifold must fit in the ambient space)",
             key_d[s], d, key_D[s], D);
    if (m == SYNTH_CURVED && D < 2 * d)
        FAIL(key_d[s], "%s = %d: manifold = curved needs %s >= 2 * %s = %d, got %d", key_d[s], d,
             key_D[s], key_d[s], 2 * d, D);
    return 0;
}

int synth_params_check(const synth_params *p, const char **bad_key, char *err, size_t errlen)
{
    if (p->n_obs < 1)
        FAIL("n_obs", "n_obs = %ld: must be >= 1", p->n_obs);
    if (!isfinite(p->obs_per_user) || p->obs_per_user <= 0)
        FAIL("obs_per_user", "obs_per_user = %g: must be > 0", p->obs_per_user);
    if (!isfinite(p->obs_per_item) || p->obs_per_item <= 0)
        FAIL("obs_per_item", "obs_per_item = %g: must be > 0", p->obs_per_item);
    if (ceil_div(p->n_obs, p->obs_per_user) > SYNTH_MAX_ENTITIES)
        FAIL("obs_per_user", "obs_per_user = %g gives more than %ld users", p->obs_per_user,
             SYNTH_MAX_ENTITIES);
    if (ceil_div(p->n_obs, p->obs_per_item) > SYNTH_MAX_ENTITIES)
        FAIL("obs_per_item", "obs_per_item = %g gives more than %ld items", p->obs_per_item,
             SYNTH_MAX_ENTITIES);
    if (p->manifold != SYNTH_LINEAR && p->manifold != SYNTH_CURVED)
        FAIL("manifold", "manifold = %d: must be linear or curved", (int)p->manifold);
    if (check_side(0, p->user_intrinsic_dim, p->user_ambient_dim, p->manifold, bad_key, err,
                   errlen) != 0 ||
        check_side(1, p->item_intrinsic_dim, p->item_ambient_dim, p->manifold, bad_key, err,
                   errlen) != 0)
        return -1;
    if (!isfinite(p->ambient_noise) || p->ambient_noise < 0)
        FAIL("ambient_noise", "ambient_noise = %g: must be >= 0", p->ambient_noise);
    if (p->truth != SYNTH_LACUNARY && p->truth != SYNTH_BUMPS && p->truth != SYNTH_SMOOTH)
        FAIL("truth", "truth = %d: must be lacunary, bumps or smooth", (int)p->truth);
    if (!isfinite(p->beta) || p->beta <= 0)
        FAIL("beta", "beta = %g: must be > 0", p->beta);
    if (p->truth_dim < 1 || p->truth_dim > 4096)
        FAIL("truth_dim", "truth_dim = %d: must be in 1..4096", p->truth_dim);
    if (p->truth_levels < 1 || p->truth_levels > SYNTH_MAX_LEVELS)
        FAIL("truth_levels", "truth_levels = %d: must be in 1..%d", p->truth_levels,
             SYNTH_MAX_LEVELS);
    if (p->truth == SYNTH_BUMPS) {
        int d = p->user_intrinsic_dim > p->item_intrinsic_dim ? p->user_intrinsic_dim
                                                              : p->item_intrinsic_dim;
        double cost = ldexp((double)p->truth_dim * p->truth_levels, d);
        if (d > 16 || cost > (double)SYNTH_BUMPS_BUDGET)
            FAIL("truth_levels",
                 "truth = bumps costs truth_dim * truth_levels * 2^d = %d * %d * 2^%d hashed "
                 "corners per point, above the limit %ld: lower truth_levels, truth_dim or the "
                 "intrinsic dim (or use truth = lacunary)",
                 p->truth_dim, p->truth_levels, d, SYNTH_BUMPS_BUDGET);
    }
    if (!isfinite(p->noise) || p->noise < 0)
        FAIL("noise", "noise = %g: must be >= 0", p->noise);
    if (p->noise_dist != SYNTH_GAUSSIAN && p->noise_dist != SYNTH_STUDENT_T)
        FAIL("noise_dist", "noise_dist = %d: must be gaussian or student_t", (int)p->noise_dist);
    if (p->noise_dist == SYNTH_STUDENT_T && (!isfinite(p->noise_df) || p->noise_df <= 2))
        FAIL("noise_df", "noise_df = %g: student_t noise needs noise_df > 2 (finite variance)",
             p->noise_df);
    if (p->stars != 0 && p->stars != 1)
        FAIL("stars", "stars = %d: must be 0 or 1", p->stars);
    if (p->sampling != SYNTH_UNIFORM && p->sampling != SYNTH_POPULARITY &&
        p->sampling != SYNTH_MNAR)
        FAIL("sampling", "sampling = %d: must be uniform, popularity or mnar", (int)p->sampling);
    if (!isfinite(p->zipf_s) || p->zipf_s < 0)
        FAIL("zipf_s", "zipf_s = %g: must be >= 0", p->zipf_s);
    if (!isfinite(p->mnar_strength))
        FAIL("mnar_strength", "mnar_strength = %g: must be finite", p->mnar_strength);
    if (p->test_cold_pairs < 0)
        FAIL("test_cold_pairs", "test_cold_pairs = %ld: must be >= 0", p->test_cold_pairs);
    if (p->test_warm_pairs < 0)
        FAIL("test_warm_pairs", "test_warm_pairs = %ld: must be >= 0", p->test_warm_pairs);
    if (!isfinite(p->valid_fraction) || p->valid_fraction < 0 || p->valid_fraction > 1)
        FAIL("valid_fraction", "valid_fraction = %g: must be in [0, 1]", p->valid_fraction);
    if (p->cold_list_size < 1)
        FAIL("cold_list_size", "cold_list_size = %d: must be >= 1", p->cold_list_size);
    if (p->protocol < SYNTH_PROTOCOL_RANDOM || p->protocol > SYNTH_PROTOCOL_LEAVE_LAST)
        FAIL("protocol", "protocol = %d: must be random, temporal or leave_last", (int)p->protocol);
    if (p->leave_last_k < 1 || p->leave_last_k > 1000000)
        FAIL("leave_last_k", "leave_last_k = %d: must be in 1..1000000", p->leave_last_k);
    if (!isfinite(p->user_drift) || p->user_drift < 0 || p->user_drift > 1e6)
        FAIL("user_drift", "user_drift = %g: must be in [0, 1e6]", p->user_drift);
    if (p->test_cold_pairs > 0 && p->test_cold_pairs / p->cold_list_size > SYNTH_MAX_ENTITIES)
        FAIL("test_cold_pairs", "test_cold_pairs = %ld: too many cold users", p->test_cold_pairs);

    /* The training population must hold train + valid + test_warm distinct pairs. */
    double cap = ceil_div(p->n_obs, p->obs_per_user) * ceil_div(p->n_obs, p->obs_per_item);
    double n_tv = (double)p->n_obs + (double)synth_n_valid(p);
    if (n_tv > cap)
        FAIL("n_obs",
             "n_obs = %ld: train + valid need %.0f distinct pairs but the %d users x %d items "
             "(n_obs / obs_per_user x n_obs / obs_per_item) hold only %.0f: lower obs_per_user "
             "or obs_per_item",
             p->n_obs, n_tv, synth_n_users(p), synth_n_items(p), cap);
    if (n_tv + (double)p->test_warm_pairs > cap)
        FAIL("test_warm_pairs",
             "test_warm_pairs = %ld: train + valid + test_warm need %.0f distinct pairs but the "
             "%d users x %d items hold only %.0f: lower test_warm_pairs (or raise n_obs)",
             p->test_warm_pairs, n_tv + (double)p->test_warm_pairs, synth_n_users(p),
             synth_n_items(p), cap);
    return 0;
}

double synth_memory_bytes(const synth_params *p)
{
    double nu = (double)synth_n_users(p) + synth_n_cold_users(p);
    double ni = (double)synth_n_items(p) + synth_n_cold_items(p);
    double Du = p->user_ambient_dim, Di = p->item_ambient_dim;
    double cu = p->manifold == SYNTH_CURVED ? 2.0 * p->user_intrinsic_dim : p->user_intrinsic_dim;
    double ci = p->manifold == SYNTH_CURVED ? 2.0 * p->item_intrinsic_dim : p->item_intrinsic_dim;
    double pairs = (double)p->n_obs + (double)synth_n_valid(p) + (double)p->test_warm_pairs +
                   (double)synth_n_cold_users(p) * p->cold_list_size;
    double b = 8.0 * (nu * (Du + p->user_intrinsic_dim) + ni * (Di + p->item_intrinsic_dim));
    b += 8.0 * (Du * Du + 2.0 * Du * cu + Di * Di + 2.0 * Di * ci);   /* QR: full Q, A, R */
    b += pairs * (4 + 4 + 8 + 8 + 8); /* user, item, rating, oracle, time */
    b += pairs * 32.0;                /* the pair set that keeps pairs distinct */
    return b;
}
