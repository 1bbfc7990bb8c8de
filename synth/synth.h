/* synth.h — the synthetic data generator of t2rec (SPEC section 4).
 *
 * A library of its own: it depends on GSL and libm only, never on src/.
 * Everything is a pure function of (params, seed): the same inputs give bitwise the
 * same dataset on any machine and any thread count. Independent random streams per
 * purpose (user covariates, item covariates, truth, noise, sampling, split, cold set)
 * are derived from the master seed by splitmix64 hashing (synth_stream_seed).
 *
 * Conventions
 *   - Latent points z in [0,1]^d, ambient covariates x in R^D, both row-major.
 *   - Entity tables hold the training population first, then the fresh ("cold")
 *     entities: user rows 0..n_users-1 are training users, n_users..n_users+n_cold_users-1
 *     are cold users (same for items). test_cold pairs only use cold rows.
 *   - The truth (f*, g*) depends only on (seed, truth kind, beta, truth_levels, truth_dim,
 *     intrinsic dims): never on n_obs, so the cells of an n_obs sweep share it.
 *   - Functions return 0 on success, -1 on error with a message in err (naming the key).
 */
#ifndef SYNTH_H
#define SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>

typedef enum { SYNTH_LINEAR = 0, SYNTH_CURVED = 1 } synth_manifold;
typedef enum { SYNTH_LACUNARY = 0, SYNTH_BUMPS = 1, SYNTH_SMOOTH = 2 } synth_truth_kind;
typedef enum { SYNTH_UNIFORM = 0, SYNTH_POPULARITY = 1, SYNTH_MNAR = 2 } synth_sampling;
typedef enum { SYNTH_GAUSSIAN = 0, SYNTH_STUDENT_T = 1 } synth_noise_dist;

/* Purposes of the derived random streams. */
typedef enum {
    SYNTH_STREAM_USER_X = 1, SYNTH_STREAM_ITEM_X, SYNTH_STREAM_TRUTH_USER, SYNTH_STREAM_TRUTH_ITEM,
    SYNTH_STREAM_NOISE, SYNTH_STREAM_SAMPLING, SYNTH_STREAM_SPLIT, SYNTH_STREAM_COLD,
    SYNTH_STREAM_EMBED_USER, SYNTH_STREAM_EMBED_ITEM, SYNTH_STREAM_CALIBRATE,
    SYNTH_STREAM_TIME,           /* interaction times (added last: the others keep their seeds) */
    SYNTH_STREAM_DRIFT           /* user drift increments (synth_drift.c; after TIME) */
} synth_stream;

/* How train / valid / test_warm are told apart (synth_time.c):
 *   random     as drawn (train by the sampling law, valid likewise, test_warm uniform);
 *   temporal   the pooled pairs sorted by time: the earliest n_obs are train, the next n_valid
 *              valid, the last test_warm_pairs test_warm (the sizes of random);
 *   leave_last per user (pairs sorted by time): the last min(k, n_u - 1) are test_warm, the
 *              min(k, rest - 1) before them valid, the rest train (so train keeps >= 1 pair
 *              of every user; the sizes then differ from random). */
typedef enum { SYNTH_PROTOCOL_RANDOM = 0, SYNTH_PROTOCOL_TEMPORAL = 1,
               SYNTH_PROTOCOL_LEAVE_LAST = 2 } synth_protocol;

/* All knobs; names match the [data] keys of SPEC section 7. */
typedef struct {
    uint64_t seed;               /* master data seed */
    long n_obs;                  /* |Omega|: training pairs */
    double obs_per_user;         /* n_users = ceil(n_obs / obs_per_user) */
    double obs_per_item;         /* n_items = ceil(n_obs / obs_per_item) */
    int user_intrinsic_dim, item_intrinsic_dim;   /* d_u, d_i >= 1 */
    int user_ambient_dim, item_ambient_dim;       /* D_u >= d_u (curved: D >= 2d) */
    synth_manifold manifold;
    double ambient_noise;        /* tau: x += tau N(0, I_D) */
    synth_truth_kind truth;
    int truth_levels;            /* J */
    double beta;                 /* Hölder smoothness, > 0 */
    int truth_dim;               /* p of f*, g* */
    double noise;                /* sigma */
    synth_noise_dist noise_dist;
    double noise_df;             /* student_t degrees of freedom (> 2) */
    int stars;                   /* 1: observed ratings rounded to 1..5 stars (after +3 shift) */
    synth_sampling sampling;
    double zipf_s;               /* popularity: Zipf exponent of item draws */
    double mnar_strength;        /* mnar: P(observe) = logistic(mnar_strength * R*) */
    long test_cold_pairs, test_warm_pairs;
    double valid_fraction;       /* valid = ceil(valid_fraction * n_obs) extra observed pairs */
    int cold_list_size;          /* items per cold user in test_cold (ranking candidates) */
    synth_protocol protocol;     /* split of the training population's pairs by time */
    int leave_last_k;            /* protocol = leave_last: k test (and k valid) pairs per user */
    double user_drift;           /* s >= 0: z_u drifts as a reflected Brownian motion s W(t)
                                  * over the user's timeline (synth_drift.c); 0 = none */
} synth_params;

typedef struct synth_truth synth_truth;

/* One set of (user, item) pairs with observed ratings and the oracle R* of each. */
typedef struct {
    long n;
    int32_t *user, *item;        /* row indices into the entity tables */
    double *rating;              /* observed (noisy) rating */
    double *oracle;              /* R*(x_u, x_i) */
    double *time;                /* interaction time (synth_time.c) */
} synth_split;

typedef struct {
    synth_params params;
    int n_users, n_items;            /* training population */
    int n_cold_users, n_cold_items;  /* fresh entities, stored after the training ones */
    double *user_z, *item_z;         /* latent points, (n_users+n_cold_users) x d_u, ... */
    double *user_x, *item_x;         /* ambient covariates, rows x D_u, rows x D_i */
    synth_split train, valid, test_warm, test_cold;
    double rstar_mean, rstar_var, rstar_kurtosis;   /* population stats of R* (calibration) */
    double oracle_offset;            /* added to R* in every oracle value (3 when stars = 1) */
    synth_truth *truth;              /* owned; oracle(u,i) = synth_truth_rating(...) + oracle_offset */
} synth_dataset;

/* ---- parameters ---- */
void synth_params_default(synth_params *p);
/* Semantic check (d <= D, beta > 0, ...). On error returns -1, *bad_key = the offending key
 * name (as in the config), and a message in err. Limits: truth_levels <= 30; bumps needs
 * truth_dim * truth_levels * 2^max(d_u, d_i) <= 2^16 (bad_key "truth_levels"); d > D and
 * curved with D < 2d name the intrinsic dim; train + valid (+ test_warm) must fit in
 * n_users x n_items distinct pairs (bad_key "n_obs", resp. "test_warm_pairs"). The enum of
 * the noise distribution is reported as "noise_dist". */
int synth_params_check(const synth_params *p, const char **bad_key, char *err, size_t errlen);
int synth_n_users(const synth_params *p);
int synth_n_items(const synth_params *p);

/* ---- random streams ---- */
uint64_t synth_splitmix64(uint64_t *state);
uint64_t synth_hash64(uint64_t x);                            /* one splitmix64 finaliser */
uint64_t synth_stream_seed(uint64_t master, synth_stream purpose);
/* A gsl_rng_mt19937 seeded from synth_stream_seed(master, purpose) (NULL when out of memory). */
gsl_rng *synth_rng_new(uint64_t master, synth_stream purpose);
/* The same from an explicit 64-bit seed (folded to the 32 bits mt19937 uses). */
gsl_rng *synth_rng_from_seed(uint64_t seed);

/* ---- the truth f*, g* (side 0 = user, 1 = item) ---- */
synth_truth *synth_truth_new(const synth_params *p, char *err, size_t errlen);
void synth_truth_free(synth_truth *t);
/* out[truth_dim] = f*(z) (side 0) or g*(z) (side 1), already scaled so that Var R* = 1. */
void synth_truth_embed(const synth_truth *t, int side, const double *z, double *out);
double synth_truth_rating(const synth_truth *t, const double *zu, const double *zi);
void synth_truth_stats(const synth_truth *t, double *mean, double *var, double *kurtosis);
int synth_truth_dim(const synth_truth *t);   /* p: length of f*(z), g*(z) */
/* Number of calibration pairs used for the stats and the scaling. */
#define SYNTH_CALIBRATION_PAIRS (1L << 17)
/* synth_truth_new remembers the calibration of the last 256 truths of the calling thread (a
 * sweep regenerates the same truth for every n_obs and method; at d = 8 the calibration is
 * most of a dataset's cost). The remembered numbers are those a fresh calibration gives.
 * Forget them (for tests that compare a fresh calibration with a remembered one): */
void synth_truth_cache_clear(void);
/* bumps only: the 64-bit hash of the level-j cell floor(2^j z) of coordinate k (its sign is the
 * top bit); 0 for the other truths. For tests of the construction (distinct cells, sign balance). */
uint64_t synth_truth_cell_key(const synth_truth *t, int side, int k, int j, const double *z);

/* ---- manifold embedding ---- */
typedef struct synth_embedding synth_embedding;
synth_embedding *synth_embedding_new(int d, int D, synth_manifold m, uint64_t seed);
void synth_embedding_free(synth_embedding *e);
void synth_embed_point(const synth_embedding *e, const double *z, double *x);   /* no noise */

/* ---- sets of (user, item) pairs (open addressing; used for distinct sampling) ---- */
typedef struct synth_pairset synth_pairset;
synth_pairset *synth_pairset_new(long expected);
void synth_pairset_free(synth_pairset *s);
/* 1 if (u, i) was added, 0 if already present, -1 when out of memory. */
int synth_pairset_add(synth_pairset *s, int32_t u, int32_t i);
int synth_pairset_has(const synth_pairset *s, int32_t u, int32_t i);
long synth_pairset_size(const synth_pairset *s);

/* ---- observed pairs and noise ---- */
typedef struct synth_sampler synth_sampler;
/* The sampling law of p over n_users x n_items (rows 0.. of user_z / item_z); r draws the
 * popularity permutation of the items (nothing for the other laws). */
synth_sampler *synth_sampler_new(const synth_params *p, int n_users, int n_items,
                                 const synth_truth *t, const double *user_z, const double *item_z,
                                 gsl_rng *r);
void synth_sampler_free(synth_sampler *s);
/* Draw n pairs, distinct from each other and from those in seen (each is added to seen), with
 * the sampler's law (force_uniform = 1: uniform law instead). -1 and a message when the
 * population cannot supply them. */
int synth_sampler_draw(const synth_sampler *s, gsl_rng *r, int force_uniform, long n,
                       synth_pairset *seen, int32_t *user, int32_t *item, char *err,
                       size_t errlen);
/* The true per-user observation law (see synth_observe.c for the model and its limits):
 * out[i] = P(a training draw of user u picks item i), i over the training items 0..n_items-1,
 * summing to 1: uniform 1 / n_items; popularity zipf weight of i's rank / sum over ranks;
 * mnar logistic(mnar_strength R*(u, i)) / sum_j logistic(mnar_strength R*(u, j)). Nothing is
 * excluded (pairs drawn before are not removed: the law of a candidate, before the
 * distinctness rejection). 0, or -1 when u is out of range. */
int synth_sampler_user_law(const synth_sampler *s, int32_t u, double *out);
/* The sampler synth_generate used for the training pairs of p (same SAMPLING stream, so the
 * same popularity permutation), over the training population (n_users x n_items, rows 0.. of
 * user_z / item_z, which must be the generator's latent points: not after user drift). NULL
 * when out of memory. The result borrows t, user_z, item_z. */
synth_sampler *synth_observe_law_new(const synth_params *p, int n_users, int n_items,
                                     const synth_truth *t, const double *user_z,
                                     const double *item_z);
/* Total variation 0.5 sum_i |a_i - b_i| of two distributions over n items. */
double synth_tv_distance(const double *a, const double *b, int n);
/* One noise draw eps (sd = noise; student_t scaled to that sd). */
double synth_noise_draw(const synth_params *p, gsl_rng *r);
/* The observed rating of a pair with truth rstar and noise eps (stars: clamp(round(3+R*+eps))). */
double synth_observe(const synth_params *p, double rstar, double eps);

/* ---- interaction times (synth_time.c) ----
 * Model: every user row u (training and cold) starts at s_u ~ U(0, 1); its pairs (train, valid,
 * test_warm together; test_cold for a cold user) are taken in a uniformly random order and
 * stamped with the successive arrival times of a Poisson process of rate obs_per_user started
 * at s_u (gaps ~ Exp(mean 1 / obs_per_user)): a user with the mean number of pairs is active
 * for about one time unit, and users start over one time unit. All draws come from the TIME
 * stream (starts for all users in row order, then per user in row order: the shuffle, then the
 * gaps), so times never change ratings, pairs or oracle values of a seed.
 * Ties (probability 0) are broken by user, then item, ascending. */
int synth_assign_times(synth_dataset *ds, char *err, size_t errlen);
/* Reassign train / valid / test_warm by p->protocol (nothing for random). */
int synth_apply_protocol(synth_dataset *ds, char *err, size_t errlen);

/* ---- user drift (synth_drift.c; user_drift > 0 only) ----
 * synth_drift_apply (after the times, before the protocol): the rating and oracle of every pair
 * from z_u at the pair's time, the pair's noise draw noise[s][k] (s = train, valid, test_warm,
 * test_cold) kept; returns the paths (NULL and a message on failure). synth_drift_settle
 * (after the protocol): user_z of a training user := z_u at the user's last training time;
 * 0, or -1 when memory ran out. */
typedef struct synth_drift synth_drift;
synth_drift *synth_drift_apply(synth_dataset *ds, double *const noise[4], char *err, size_t errlen);
int synth_drift_settle(synth_drift *dr, synth_dataset *ds);
void synth_drift_free(synth_drift *dr);

/* ---- the whole dataset ---- */
/* Sizes of the cold population: n_cold_users = ceil(test_cold_pairs / cold_list_size),
 * n_cold_items = max(cold_list_size, ceil(test_cold_pairs / 20)) (both 0 when test_cold_pairs = 0). */
int synth_n_cold_users(const synth_params *p);
int synth_n_cold_items(const synth_params *p);
long synth_n_valid(const synth_params *p);   /* ceil(valid_fraction * n_obs) */
/* Bytes synth_generate needs at its peak (entity tables, the D x D QR factor of each
 * embedding, the pair splits and the pair set), within a small factor: for refusing absurd
 * sizes at load time instead of failing (or being killed) mid-run. */
double synth_memory_bytes(const synth_params *p);
int synth_generate(const synth_params *p, synth_dataset *out, char *err, size_t errlen);
void synth_dataset_free(synth_dataset *ds);

#endif
