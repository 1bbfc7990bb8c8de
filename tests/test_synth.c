/* test_synth.c — tests of the synthetic generator (synth/): parameter checks, bitwise
 * determinism, the n_obs-sweep invariants (prefix entities, shared truth, identical test_cold),
 * Hölder smoothness of the truths (log-log slopes of increments), the hardness of bumps
 * (distinct hashed cells, kurtosis), Var R* = 1, sizes and disjointness of the splits, the
 * Zipf exponent of popularity sampling and the selection bias of mnar sampling.
 * Measured numbers are printed (they go into the lead's notes). Runs in well under 90 s. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_fit.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>

#include "synth.h"
#include "testutil.h"

static char err[1024];

/* ---------- helpers ---------- */

static void small_params(synth_params *p)
{
    synth_params_default(p);
    p->test_cold_pairs = 2000;
    p->test_warm_pairs = 1000;
}

static synth_truth *truth_or_fail(const synth_params *p)
{
    synth_truth *t = synth_truth_new(p, err, sizeof err);
    if (!t)
        fail_msg("synth_truth_new: %s", err);
    return t;
}

static void generate_or_fail(const synth_params *p, synth_dataset *ds)
{
    if (synth_generate(p, ds, err, sizeof err) != 0)
        fail_msg("synth_generate: %s", err);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_long_desc(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x > y ? -1 : x < y;
}

static long count_distinct_u64(uint64_t *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    long c = n > 0;
    for (long k = 1; k < n; k++)
        c += v[k] != v[k - 1];
    return c;
}

static uint64_t key_of(int32_t u, int32_t i)
{
    return ((uint64_t)(uint32_t)u << 32) | (uint32_t)i;
}

static int split_equal(const synth_split *a, const synth_split *b)
{
    if (a->n != b->n)
        return 0;
    size_t n = (size_t)a->n;
    return memcmp(a->user, b->user, n * sizeof *a->user) == 0 &&
           memcmp(a->item, b->item, n * sizeof *a->item) == 0 &&
           memcmp(a->rating, b->rating, n * sizeof *a->rating) == 0 &&
           memcmp(a->oracle, b->oracle, n * sizeof *a->oracle) == 0;
}

/* Every array of every split and table is byte-identical. */
static int dataset_equal(const synth_dataset *a, const synth_dataset *b)
{
    if (a->n_users != b->n_users || a->n_items != b->n_items ||
        a->n_cold_users != b->n_cold_users || a->n_cold_items != b->n_cold_items)
        return 0;
    const synth_params *p = &a->params;
    size_t nu = (size_t)a->n_users + a->n_cold_users, ni = (size_t)a->n_items + a->n_cold_items;
    return memcmp(a->user_z, b->user_z, nu * p->user_intrinsic_dim * sizeof(double)) == 0 &&
           memcmp(a->item_z, b->item_z, ni * p->item_intrinsic_dim * sizeof(double)) == 0 &&
           memcmp(a->user_x, b->user_x, nu * p->user_ambient_dim * sizeof(double)) == 0 &&
           memcmp(a->item_x, b->item_x, ni * p->item_ambient_dim * sizeof(double)) == 0 &&
           split_equal(&a->train, &b->train) && split_equal(&a->valid, &b->valid) &&
           split_equal(&a->test_warm, &b->test_warm) &&
           split_equal(&a->test_cold, &b->test_cold) &&
           memcmp(&a->rstar_var, &b->rstar_var, sizeof(double)) == 0 &&
           memcmp(&a->rstar_kurtosis, &b->rstar_kurtosis, sizeof(double)) == 0;
}

/* ---------- parameter checks ---------- */

typedef struct {
    const char *key;
    void (*mutate)(synth_params *p);
} bad_case;

static void m_nobs(synth_params *p) { p->n_obs = 0; }
static void m_opu(synth_params *p) { p->obs_per_user = 0; }
static void m_opi(synth_params *p) { p->obs_per_item = -1; }
static void m_ud0(synth_params *p) { p->user_intrinsic_dim = 0; }
static void m_id0(synth_params *p) { p->item_intrinsic_dim = 0; }
static void m_udD(synth_params *p) { p->user_intrinsic_dim = 17; }
static void m_idD(synth_params *p) { p->item_ambient_dim = 1; }
static void m_uD0(synth_params *p) { p->user_ambient_dim = 0; p->user_intrinsic_dim = 0; }
static void m_curved(synth_params *p) { p->manifold = SYNTH_CURVED; p->item_intrinsic_dim = 9; }
static void m_manifold(synth_params *p) { p->manifold = (synth_manifold)7; }
static void m_tau(synth_params *p) { p->ambient_noise = -0.1; }
static void m_truth(synth_params *p) { p->truth = (synth_truth_kind)9; }
static void m_beta0(synth_params *p) { p->beta = 0; }
static void m_betanan(synth_params *p) { p->beta = NAN; }
static void m_levels0(synth_params *p) { p->truth_levels = 0; }
static void m_levels99(synth_params *p) { p->truth_levels = 99; }
static void m_bumps_big(synth_params *p)
{
    p->truth = SYNTH_BUMPS;
    p->user_intrinsic_dim = 12;
    p->truth_levels = 12;
}
static void m_tdim(synth_params *p) { p->truth_dim = 0; }
static void m_noise(synth_params *p) { p->noise = -1; }
static void m_dist(synth_params *p) { p->noise_dist = (synth_noise_dist)5; }
static void m_df(synth_params *p) { p->noise_dist = SYNTH_STUDENT_T; p->noise_df = 2; }
static void m_stars(synth_params *p) { p->stars = 3; }
static void m_sampling(synth_params *p) { p->sampling = (synth_sampling)4; }
static void m_zipf(synth_params *p) { p->zipf_s = -1; }
static void m_mnar(synth_params *p) { p->mnar_strength = INFINITY; }
static void m_cold(synth_params *p) { p->test_cold_pairs = -1; }
static void m_warm(synth_params *p) { p->test_warm_pairs = -5; }
static void m_valid(synth_params *p) { p->valid_fraction = 1.5; }
static void m_list(synth_params *p) { p->cold_list_size = 0; }
static void m_cap_train(synth_params *p) { p->n_obs = 100; }          /* 10 x 10 < 100 + 10 */
static void m_cap_warm(synth_params *p) { p->n_obs = 400; }           /* 40 x 40 < 440 + 5000 */

static void test_params_check(void **state)
{
    (void)state;
    synth_params p;
    synth_params_default(&p);
    const char *bad = "untouched";
    assert_int_equal(synth_params_check(&p, &bad, err, sizeof err), 0);
    static const bad_case cases[] = {
        {"n_obs", m_nobs}, {"obs_per_user", m_opu}, {"obs_per_item", m_opi},
        {"user_intrinsic_dim", m_ud0}, {"item_intrinsic_dim", m_id0},
        {"user_intrinsic_dim", m_udD}, {"item_intrinsic_dim", m_idD},
        {"user_intrinsic_dim", m_uD0}, {"item_intrinsic_dim", m_curved},
        {"manifold", m_manifold}, {"ambient_noise", m_tau}, {"truth", m_truth},
        {"beta", m_beta0}, {"beta", m_betanan}, {"truth_levels", m_levels0},
        {"truth_levels", m_levels99}, {"truth_levels", m_bumps_big}, {"truth_dim", m_tdim},
        {"noise", m_noise}, {"noise_dist", m_dist}, {"noise_df", m_df}, {"stars", m_stars},
        {"sampling", m_sampling}, {"zipf_s", m_zipf}, {"mnar_strength", m_mnar},
        {"test_cold_pairs", m_cold}, {"test_warm_pairs", m_warm},
        {"valid_fraction", m_valid}, {"cold_list_size", m_list}, {"n_obs", m_cap_train},
        {"test_warm_pairs", m_cap_warm},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        synth_params_default(&p);
        cases[c].mutate(&p);
        bad = NULL;
        err[0] = 0;
        int rc = synth_params_check(&p, &bad, err, sizeof err);
        printf("check %-20s -> %s: %s\n", cases[c].key, bad ? bad : "(none)", err);
        assert_int_equal(rc, -1);
        assert_non_null(bad);
        assert_string_equal(bad, cases[c].key);
        assert_non_null(strstr(err, cases[c].key));   /* the message names the key */
        /* synth_generate refuses it too, without leaking */
        synth_dataset ds;
        assert_int_equal(synth_generate(&p, &ds, err, sizeof err), -1);
        synth_dataset_free(&ds);
    }
    /* curved is fine when D >= 2d; bumps at d = 8, J = 4 is within budget */
    synth_params_default(&p);
    p.manifold = SYNTH_CURVED;
    p.user_intrinsic_dim = p.item_intrinsic_dim = 8;
    p.truth = SYNTH_BUMPS;
    assert_int_equal(synth_params_check(&p, &bad, err, sizeof err), 0);
}

/* ---------- streams ---------- */

static void test_streams(void **state)
{
    (void)state;
    uint64_t seen[2 * SYNTH_STREAM_CALIBRATE + 2];
    int n = 0;
    for (uint64_t master = 1; master <= 2; master++)
        for (int s = SYNTH_STREAM_USER_X; s <= SYNTH_STREAM_CALIBRATE; s++)
            seen[n++] = synth_stream_seed(master, (synth_stream)s);
    assert_int_equal(count_distinct_u64(seen, n), n);
    /* a pure function */
    assert_true(synth_stream_seed(5, SYNTH_STREAM_NOISE) == synth_stream_seed(5, SYNTH_STREAM_NOISE));
    gsl_rng *a = synth_rng_new(5, SYNTH_STREAM_NOISE), *b = synth_rng_new(5, SYNTH_STREAM_NOISE),
            *c = synth_rng_new(5, SYNTH_STREAM_SPLIT);
    int same_ab = 1, same_ac = 1;
    for (int k = 0; k < 100; k++) {
        unsigned long x = gsl_rng_get(a), y = gsl_rng_get(b), z = gsl_rng_get(c);
        same_ab &= x == y;
        same_ac &= x == z;
    }
    assert_true(same_ab);
    assert_false(same_ac);
    gsl_rng_free(a);
    gsl_rng_free(b);
    gsl_rng_free(c);
}

/* ---------- determinism ---------- */

/* The remembered calibration (synth_truth_cache_clear) is keyed by everything the truth depends
 * on: a truth that differs in any one of those keys, generated right after the base one, equals
 * the same truth generated with nothing remembered. */
static void test_calibration_cache_keys(void **state)
{
    (void)state;
    for (int change = 0; change < 7; change++) {
        synth_params base, p;
        small_params(&base);
        base.truth = SYNTH_BUMPS;
        p = base;
        switch (change) {
        case 0: p.seed += 1; break;
        case 1: p.truth = SYNTH_LACUNARY; break;
        case 2: p.beta = 0.5; break;
        case 3: p.truth_levels = base.truth_levels - 1; break;
        case 4: p.truth_dim = base.truth_dim + 1; break;
        case 5: p.user_intrinsic_dim = base.user_intrinsic_dim + 1; break;
        default: p.item_intrinsic_dim = base.item_intrinsic_dim + 1; break;
        }
        synth_dataset a, b, c;
        synth_truth_cache_clear();
        generate_or_fail(&base, &c);   /* remembered: the base truth */
        generate_or_fail(&p, &a);      /* must not reuse it */
        synth_truth_cache_clear();
        generate_or_fail(&p, &b);      /* fresh */
        if (!dataset_equal(&a, &b) || a.rstar_mean != b.rstar_mean)
            fail_msg("change %d: the dataset depends on what was generated before it", change);
        synth_dataset_free(&a);
        synth_dataset_free(&b);
        synth_dataset_free(&c);
    }
}

static void test_determinism(void **state)
{
    (void)state;
    for (int variant = 0; variant < 3; variant++) {
        synth_params p;
        small_params(&p);
        if (variant == 1) {
            p.manifold = SYNTH_CURVED;
            p.ambient_noise = 0.05;
            p.truth = SYNTH_BUMPS;
            p.sampling = SYNTH_POPULARITY;
            p.noise_dist = SYNTH_STUDENT_T;
            p.stars = 1;
        } else if (variant == 2) {
            p.truth = SYNTH_SMOOTH;
            p.sampling = SYNTH_MNAR;
            p.user_intrinsic_dim = 3;
            p.item_ambient_dim = 5;
        }
        synth_dataset a, b, c;
        synth_truth_cache_clear();   /* a: a fresh calibration; b: the remembered one */
        generate_or_fail(&p, &a);
        generate_or_fail(&p, &b);
        assert_true(dataset_equal(&a, &b));
        assert_true(a.rstar_mean == b.rstar_mean && a.rstar_kurtosis == b.rstar_kurtosis);
        p.seed += 1;
        generate_or_fail(&p, &c);
        assert_false(dataset_equal(&a, &c));
        /* a different seed changes every part, not just one array */
        size_t nz = (size_t)a.n_users * p.user_intrinsic_dim;
        assert_true(memcmp(a.user_z, c.user_z, nz * sizeof(double)) != 0);
        assert_true(memcmp(a.train.rating, c.train.rating, a.train.n * sizeof(double)) != 0);
        assert_true(memcmp(a.test_cold.oracle, c.test_cold.oracle,
                           a.test_cold.n * sizeof(double)) != 0);
        assert_true(a.rstar_var == b.rstar_var);
        printf("determinism variant %d: identical over %ld train, %ld valid, %ld warm, %ld cold "
               "pairs; seed+1 differs\n",
               variant, a.train.n, a.valid.n, a.test_warm.n, a.test_cold.n);
        synth_dataset_free(&a);
        synth_dataset_free(&b);
        synth_dataset_free(&c);
    }
}

/* ---------- n_obs sweep: prefix entities, same truth, same test_cold ---------- */

static void test_nobs_sweep(void **state)
{
    (void)state;
    synth_params p1, p2;
    small_params(&p1);
    p1.truth = SYNTH_BUMPS;
    p1.ambient_noise = 0.1;
    p2 = p1;
    p2.n_obs = 4 * p1.n_obs;
    synth_dataset a, b;
    generate_or_fail(&p1, &a);
    generate_or_fail(&p2, &b);
    assert_true(b.n_users > a.n_users && b.n_items > a.n_items);
    /* training entities of the small cell are a prefix of the large cell's */
    assert_memory_equal(a.user_z, b.user_z, (size_t)a.n_users * p1.user_intrinsic_dim * sizeof(double));
    assert_memory_equal(a.user_x, b.user_x, (size_t)a.n_users * p1.user_ambient_dim * sizeof(double));
    assert_memory_equal(a.item_z, b.item_z, (size_t)a.n_items * p1.item_intrinsic_dim * sizeof(double));
    assert_memory_equal(a.item_x, b.item_x, (size_t)a.n_items * p1.item_ambient_dim * sizeof(double));
    /* test_cold: the same fresh entities and pairs (indices shift by the training sizes) */
    assert_int_equal(a.n_cold_users, b.n_cold_users);
    assert_int_equal(a.n_cold_items, b.n_cold_items);
    assert_int_equal(a.test_cold.n, b.test_cold.n);
    assert_memory_equal(a.user_z + (size_t)a.n_users * p1.user_intrinsic_dim,
                        b.user_z + (size_t)b.n_users * p1.user_intrinsic_dim,
                        (size_t)a.n_cold_users * p1.user_intrinsic_dim * sizeof(double));
    assert_memory_equal(a.item_x + (size_t)a.n_items * p1.item_ambient_dim,
                        b.item_x + (size_t)b.n_items * p1.item_ambient_dim,
                        (size_t)a.n_cold_items * p1.item_ambient_dim * sizeof(double));
    for (long k = 0; k < a.test_cold.n; k++) {
        assert_int_equal(a.test_cold.user[k] - a.n_users, b.test_cold.user[k] - b.n_users);
        assert_int_equal(a.test_cold.item[k] - a.n_items, b.test_cold.item[k] - b.n_items);
    }
    assert_memory_equal(a.test_cold.oracle, b.test_cold.oracle, a.test_cold.n * sizeof(double));
    assert_memory_equal(a.test_cold.rating, b.test_cold.rating, a.test_cold.n * sizeof(double));
    /* the truth is the same function: identical R* at fresh latent points */
    gsl_rng *r = synth_rng_from_seed(4242);
    double zu[2], zi[2];
    for (int k = 0; k < 1000; k++) {
        zu[0] = gsl_rng_uniform(r);
        zu[1] = gsl_rng_uniform(r);
        zi[0] = gsl_rng_uniform(r);
        zi[1] = gsl_rng_uniform(r);
        double x = synth_truth_rating(a.truth, zu, zi), y = synth_truth_rating(b.truth, zu, zi);
        assert_memory_equal(&x, &y, sizeof x);
    }
    gsl_rng_free(r);
    printf("n_obs sweep %ld vs %ld: prefix entities, truth and %ld test_cold pairs identical\n",
           p1.n_obs, p2.n_obs, a.test_cold.n);
    synth_dataset_free(&a);
    synth_dataset_free(&b);
}

/* ---------- smoothness: log-log slope of mean |R*(z+h) - R*(z)| against h ---------- */

#define SM_H 12
#define SM_PTS 3000

/* mode 0: z_u moves along a random unit direction, z_i fixed; mode 1: both move. */
static double increment_slope(const synth_truth *t, int mode, double hlo, double hhi)
{
    double lh[SM_H], lm[SM_H];
    gsl_rng *r = synth_rng_from_seed(777);   /* not a generator stream */
    static double base[SM_PTS][8];
    for (int q = 0; q < SM_PTS; q++)
        for (int m = 0; m < 8; m++)
            base[q][m] = gsl_rng_uniform(r);
    for (int a = 0; a < SM_H; a++) {
        double h = exp(log(hlo) + (log(hhi) - log(hlo)) * a / (SM_H - 1)), s = 0;
        for (int q = 0; q < SM_PTS; q++) {
            /* same base points and directions at every h (common random numbers) */
            double a1 = 2 * M_PI * base[q][4], a2 = 2 * M_PI * base[q][5];
            double zu[2] = {base[q][0], base[q][1]}, zi[2] = {base[q][2], base[q][3]};
            double zu2[2] = {zu[0] + h * cos(a1), zu[1] + h * sin(a1)};
            double zi2[2] = {zi[0] + h * cos(a2), zi[1] + h * sin(a2)};
            double r0 = synth_truth_rating(t, zu, zi);
            double r1 = synth_truth_rating(t, zu2, mode ? zi2 : zi);
            s += fabs(r1 - r0);
        }
        lh[a] = log(h);
        lm[a] = log(s / SM_PTS);
    }
    gsl_rng_free(r);
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(lh, 1, lm, 1, SM_H, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    return c1;
}

static void test_smoothness(void **state)
{
    (void)state;
    /* J = 12: the finest scale is 2^-12; h spans two decades above it, 2^-10 .. 2^-10 * 100 */
    const double hlo = ldexp(1.0, -10), hhi = 100 * ldexp(1.0, -10);
    const double betas[3] = {0.3, 0.5, 0.7};
    const synth_truth_kind kinds[2] = {SYNTH_BUMPS, SYNTH_LACUNARY};
    const char *names[2] = {"bumps", "lacunary"};
    for (int k = 0; k < 2; k++) {
        for (int b = 0; b < 3; b++) {
            synth_params p;
            synth_params_default(&p);
            p.truth = kinds[k];
            p.beta = betas[b];
            p.truth_levels = 12;
            synth_truth *t = truth_or_fail(&p);
            double s_user = increment_slope(t, 0, hlo, hhi), s_both = increment_slope(t, 1, hlo, hhi);
            printf("smoothness %-8s beta %.1f: slope (z_u moves) %.3f, (both move) %.3f\n",
                   names[k], betas[b], s_user, s_both);
            assert_true(fabs(s_user - betas[b]) < 0.15);
            assert_true(fabs(s_both - betas[b]) < 0.15);
            synth_truth_free(t);
        }
    }
    synth_params p;
    synth_params_default(&p);
    p.truth = SYNTH_SMOOTH;
    synth_truth *t = truth_or_fail(&p);
    double s_user = increment_slope(t, 0, hlo, hhi), s_both = increment_slope(t, 1, hlo, hhi);
    printf("smoothness smooth: slope (z_u moves) %.3f, (both move) %.3f (expect 1)\n", s_user,
           s_both);
    assert_true(fabs(s_user - 1) < 0.15);
    assert_true(fabs(s_both - 1) < 0.15);
    synth_truth_free(t);
}

/* ---------- hardness of bumps: distinct hashed cells, kurtosis ---------- */

#define CELL_PTS 100000

static void test_bumps_cells(void **state)
{
    (void)state;
    const int dims[3] = {2, 4, 8};
    const int levels[3] = {8, 4, 4};
    uint64_t *keys = malloc(CELL_PTS * sizeof *keys);
    double *z = malloc((size_t)CELL_PTS * 8 * sizeof *z);
    assert_non_null(keys);
    assert_non_null(z);
    gsl_rng *r = synth_rng_from_seed(99);
    for (long q = 0; q < (long)CELL_PTS * 8; q++)
        z[q] = gsl_rng_uniform(r);
    gsl_rng_free(r);
    for (int c = 0; c < 3; c++) {
        int d = dims[c];
        synth_params p;
        synth_params_default(&p);
        p.truth = SYNTH_BUMPS;
        p.user_intrinsic_dim = p.item_intrinsic_dim = d;
        p.user_ambient_dim = p.item_ambient_dim = 16;
        p.truth_levels = levels[c];
        synth_truth *t = truth_or_fail(&p);
        for (int j = 1; j <= levels[c]; j++) {
            long plus = 0;
            for (long q = 0; q < CELL_PTS; q++) {
                keys[q] = synth_truth_cell_key(t, 0, 1, j, z + q * 8);
                plus += keys[q] >> 63;
            }
            long distinct = count_distinct_u64(keys, CELL_PTS);
            double M = ldexp(1.0, j * d);
            /* N points in M equally likely cells: expected distinct M (1 - (1 - 1/M)^N) */
            double expect = M * -expm1((double)CELL_PTS * log1p(-1.0 / M));
            double mn = M < CELL_PTS ? M : CELL_PTS;
            printf("bumps d=%d level %d: %ld distinct cells (expected %.0f, min(2^(jd), N) = %.0f); "
                   "positive signs %.3f\n",
                   d, j, distinct, expect, mn, (double)plus / CELL_PTS);
            assert_true(fabs(distinct - expect) <= 0.03 * expect + 2);
            assert_true(distinct >= 0.6 * mn && distinct <= mn);
            /* signs are balanced over points (each cell + or - with probability 1/2) */
            if (M >= 1024)
                assert_true(fabs((double)plus / CELL_PTS - 0.5) < 0.02);
        }
        double mean, var, kurt;
        synth_truth_stats(t, &mean, &var, &kurt);
        printf("bumps d=%d J=%d: calibration mean %.3f var %.3f kurtosis %.2f\n", d, levels[c],
               mean, var, kurt);
        assert_true(kurt > 1 && kurt < 10);
        synth_truth_free(t);
    }
    free(keys);
    free(z);
}

/* ---------- scale: Var R* = 1 on fresh pairs; training ratings Var = 1 + sigma^2 ---------- */

static void test_scale(void **state)
{
    (void)state;
    const synth_truth_kind kinds[3] = {SYNTH_LACUNARY, SYNTH_BUMPS, SYNTH_SMOOTH};
    const int dims[3] = {2, 4, 3};
    const char *names[3] = {"lacunary", "bumps", "smooth"};
    enum { N = 100000 };
    double *v = malloc(N * sizeof *v);
    assert_non_null(v);
    for (int k = 0; k < 3; k++) {
        synth_params p;
        small_params(&p);
        p.truth = kinds[k];
        p.user_intrinsic_dim = p.item_intrinsic_dim = dims[k];
        p.n_obs = 20000;
        p.noise = 0.5;
        p.seed = 11;
        synth_dataset ds;
        generate_or_fail(&p, &ds);
        gsl_rng *r = synth_rng_from_seed(2024);   /* fresh pairs, not the calibration stream */
        double zu[8], zi[8];
        for (int q = 0; q < N; q++) {
            for (int m = 0; m < dims[k]; m++) {
                zu[m] = gsl_rng_uniform(r);
                zi[m] = gsl_rng_uniform(r);
            }
            v[q] = synth_truth_rating(ds.truth, zu, zi);
        }
        gsl_rng_free(r);
        double pop_var = gsl_stats_variance(v, 1, N);
        double pop_kurt = gsl_stats_kurtosis(v, 1, N) + 3;
        double tr_var = gsl_stats_variance(ds.train.rating, 1, (size_t)ds.train.n);
        double want = 1 + p.noise * p.noise;
        printf("scale %-8s d=%d: population Var R* %.4f (kurtosis %.2f), calibration var %.4f; "
               "train rating var %.4f (want %.4f)\n",
               names[k], dims[k], pop_var, pop_kurt, ds.rstar_var, tr_var, want);
        assert_true(fabs(pop_var - 1) < 0.05);
        assert_true(fabs(ds.rstar_var - 1) < 1e-9);
        assert_true(fabs(tr_var / want - 1) < 0.10);
        /* the noise has sd sigma: rating - oracle */
        for (long q = 0; q < ds.train.n; q++)
            v[q] = ds.train.rating[q] - ds.train.oracle[q];
        double nsd = gsl_stats_sd(v, 1, (size_t)ds.train.n);
        printf("scale %-8s: noise sd %.4f (want %.2f)\n", names[k], nsd, p.noise);
        assert_true(fabs(nsd / p.noise - 1) < 0.03);
        synth_dataset_free(&ds);
    }
    free(v);
}

/* ---------- sizes, splits, disjointness, oracle values, manifolds ---------- */

static void check_splits(const synth_dataset *ds)
{
    const synth_params *p = &ds->params;
    assert_int_equal(ds->n_users, (int)ceil((double)p->n_obs / p->obs_per_user));
    assert_int_equal(ds->n_items, (int)ceil((double)p->n_obs / p->obs_per_item));
    long ncu = (p->test_cold_pairs + p->cold_list_size - 1) / p->cold_list_size;
    long nci = (p->test_cold_pairs + 19) / 20;
    if (nci < p->cold_list_size)
        nci = p->cold_list_size;
    assert_int_equal(ds->n_cold_users, ncu);
    assert_int_equal(ds->n_cold_items, nci);
    assert_int_equal(ds->train.n, p->n_obs);
    assert_int_equal(ds->valid.n, (long)ceil(p->valid_fraction * p->n_obs));
    assert_int_equal(ds->test_warm.n, p->test_warm_pairs);
    assert_int_equal(ds->test_cold.n, ncu * p->cold_list_size);

    const synth_split *warmish[3] = {&ds->train, &ds->valid, &ds->test_warm};
    long total = ds->train.n + ds->valid.n + ds->test_warm.n + ds->test_cold.n;
    uint64_t *keys = malloc((size_t)total * sizeof *keys);
    assert_non_null(keys);
    long n = 0;
    for (int s = 0; s < 3; s++)
        for (long k = 0; k < warmish[s]->n; k++) {
            assert_true(warmish[s]->user[k] >= 0 && warmish[s]->user[k] < ds->n_users);
            assert_true(warmish[s]->item[k] >= 0 && warmish[s]->item[k] < ds->n_items);
            keys[n++] = key_of(warmish[s]->user[k], warmish[s]->item[k]);
        }
    int *per_user = calloc((size_t)ncu, sizeof *per_user);
    assert_non_null(per_user);
    for (long k = 0; k < ds->test_cold.n; k++) {
        int32_t u = ds->test_cold.user[k], i = ds->test_cold.item[k];
        assert_true(u >= ds->n_users && u < ds->n_users + ds->n_cold_users);
        assert_true(i >= ds->n_items && i < ds->n_items + ds->n_cold_items);
        per_user[u - ds->n_users]++;
        keys[n++] = key_of(u, i);
    }
    for (long c = 0; c < ncu; c++)
        assert_int_equal(per_user[c], p->cold_list_size);
    free(per_user);
    /* no pair twice anywhere: within a split and across splits (so test_warm is in neither
     * train nor valid, and cold lists have distinct items) */
    assert_int_equal(count_distinct_u64(keys, n), n);
    free(keys);

    /* oracle = R* + offset, recomputed */
    const synth_split *all[4] = {&ds->train, &ds->valid, &ds->test_warm, &ds->test_cold};
    for (int s = 0; s < 4; s++)
        for (long k = 0; k < all[s]->n; k += 7) {
            double o = synth_truth_rating(
                           ds->truth, ds->user_z + (size_t)all[s]->user[k] * p->user_intrinsic_dim,
                           ds->item_z + (size_t)all[s]->item[k] * p->item_intrinsic_dim) +
                       ds->oracle_offset;
            assert_true(o == all[s]->oracle[k]);
            if (p->stars) {
                double rt = all[s]->rating[k];
                assert_true(rt >= 1 && rt <= 5 && rt == floor(rt));
            }
        }
}

static void test_sizes_splits(void **state)
{
    (void)state;
    synth_params p;
    small_params(&p);
    p.n_obs = 1000;
    p.obs_per_user = 7;      /* 143 users */
    p.obs_per_item = 3.5;    /* 286 items */
    p.test_cold_pairs = 1234;
    p.cold_list_size = 30;   /* 42 cold users x 30, 62 cold items */
    p.test_warm_pairs = 3000;
    synth_dataset ds;
    generate_or_fail(&p, &ds);
    printf("sizes: %d users, %d items, %d cold users, %d cold items; train %ld valid %ld "
           "warm %ld cold %ld\n",
           ds.n_users, ds.n_items, ds.n_cold_users, ds.n_cold_items, ds.train.n, ds.valid.n,
           ds.test_warm.n, ds.test_cold.n);
    assert_int_equal(ds.n_users, 143);
    assert_int_equal(ds.n_items, 286);
    check_splits(&ds);
    assert_true(ds.oracle_offset == 0);
    synth_dataset_free(&ds);

    /* a nearly full population (train + valid + warm = 95% of all pairs), stars, popularity */
    small_params(&p);
    p.n_obs = 200;
    p.obs_per_user = p.obs_per_item = 5;   /* 40 x 40 = 1600 pairs */
    p.test_warm_pairs = 1300;
    p.stars = 1;
    p.sampling = SYNTH_POPULARITY;
    generate_or_fail(&p, &ds);
    check_splits(&ds);
    assert_true(ds.oracle_offset == 3);
    synth_dataset_free(&ds);

    /* mnar + curved + exact fill of the population */
    small_params(&p);
    p.n_obs = 200;
    p.obs_per_user = p.obs_per_item = 5;
    p.valid_fraction = 0.5;
    p.test_warm_pairs = 1300;
    p.sampling = SYNTH_MNAR;
    p.manifold = SYNTH_CURVED;
    generate_or_fail(&p, &ds);
    check_splits(&ds);
    synth_dataset_free(&ds);

    /* too many pairs: a clear error */
    small_params(&p);
    p.n_obs = 400;
    p.test_warm_pairs = 5000;
    assert_int_equal(synth_generate(&p, &ds, err, sizeof err), -1);
    printf("over-full population: %s\n", err);
    assert_non_null(strstr(err, "test_warm_pairs"));
    synth_dataset_free(&ds);
}

static void test_manifolds(void **state)
{
    (void)state;
    for (int curved = 0; curved < 2; curved++) {
        synth_params p;
        small_params(&p);
        p.manifold = curved ? SYNTH_CURVED : SYNTH_LINEAR;
        p.user_intrinsic_dim = 3;
        p.user_ambient_dim = 7;
        synth_dataset ds;
        generate_or_fail(&p, &ds);
        /* orthonormal columns preserve norms: |x| = |z| (linear), |x| = sqrt(d) (curved) */
        double worst = 0;
        int nu = ds.n_users + ds.n_cold_users;
        for (int u = 0; u < nu; u++) {
            const double *z = ds.user_z + (size_t)u * 3, *x = ds.user_x + (size_t)u * 7;
            double nx = 0, nz = 0;
            for (int a = 0; a < 7; a++)
                nx += x[a] * x[a];
            for (int m = 0; m < 3; m++) {
                assert_true(z[m] >= 0 && z[m] < 1);
                nz += z[m] * z[m];
            }
            double want = curved ? 3.0 : nz;
            worst = fmax(worst, fabs(nx - want));
        }
        printf("manifold %s: max | |x|^2 - target | = %.2e\n", curved ? "curved" : "linear", worst);
        assert_true(worst < 1e-10);
        /* the covariates span d (linear) or 2d (curved) dimensions of R^D, no more:
         * a D x D Gram matrix rank check would need LAPACK; instead check x is not constant */
        assert_true(memcmp(ds.user_x, ds.user_x + 7, 7 * sizeof(double)) != 0);
        synth_dataset_free(&ds);
    }
    /* ambient noise moves x off the manifold by about tau sqrt(D) */
    synth_params p;
    small_params(&p);
    p.ambient_noise = 0.2;
    synth_dataset ds;
    generate_or_fail(&p, &ds);
    synth_embedding *e = synth_embedding_new(2, 16, SYNTH_LINEAR,
                                             synth_stream_seed(p.seed, SYNTH_STREAM_EMBED_USER));
    assert_non_null(e);
    double ss = 0, x0[16];
    for (int u = 0; u < ds.n_users; u++) {
        synth_embed_point(e, ds.user_z + 2 * u, x0);
        for (int a = 0; a < 16; a++)
            ss += (ds.user_x[16 * u + a] - x0[a]) * (ds.user_x[16 * u + a] - x0[a]);
    }
    double sd = sqrt(ss / (16.0 * ds.n_users));
    printf("ambient noise: measured sd %.4f (tau 0.2)\n", sd);
    assert_true(fabs(sd - 0.2) < 0.02);
    synth_embedding_free(e);
    synth_dataset_free(&ds);
}

/* ---------- sampling laws ---------- */

static double zipf_fit(const synth_dataset *ds, int head)
{
    long *cnt = calloc((size_t)ds->n_items, sizeof *cnt);
    assert_non_null(cnt);
    for (long k = 0; k < ds->train.n; k++)
        cnt[ds->train.item[k]]++;
    qsort(cnt, (size_t)ds->n_items, sizeof *cnt, cmp_long_desc);
    double lx[1000], ly[1000];
    for (int r = 0; r < head; r++) {
        lx[r] = log(r + 1.0);
        ly[r] = log(cnt[r] > 0 ? (double)cnt[r] : 0.5);
    }
    free(cnt);
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(lx, 1, ly, 1, (size_t)head, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    return -c1;
}

static void test_popularity(void **state)
{
    (void)state;
    const double ss[2] = {0.8, 1.3};
    for (int k = 0; k < 3; k++) {
        synth_params p;
        small_params(&p);
        p.n_obs = 20000;
        p.obs_per_user = 2;    /* 10000 users: the head items never run out of users */
        p.obs_per_item = 20;   /* 1000 items */
        p.test_warm_pairs = 0;
        p.test_cold_pairs = 0;
        p.sampling = k < 2 ? SYNTH_POPULARITY : SYNTH_UNIFORM;
        p.zipf_s = k < 2 ? ss[k] : 1.0;
        synth_dataset ds;
        generate_or_fail(&p, &ds);
        double s = zipf_fit(&ds, 50);
        printf("sampling %s zipf_s %.1f: fitted exponent over the top 50 items %.3f\n",
               k < 2 ? "popularity" : "uniform", p.zipf_s, s);
        if (k < 2)
            assert_true(fabs(s - p.zipf_s) < 0.2);
        else
            assert_true(fabs(s) < 0.2);
        synth_dataset_free(&ds);
    }
}

static void test_mnar(void **state)
{
    (void)state;
    double means[2];
    for (int k = 0; k < 2; k++) {
        synth_params p;
        small_params(&p);
        p.n_obs = 8000;
        p.sampling = k ? SYNTH_MNAR : SYNTH_UNIFORM;
        p.mnar_strength = 2.0;
        synth_dataset ds;
        generate_or_fail(&p, &ds);
        means[k] = gsl_stats_mean(ds.train.oracle, 1, (size_t)ds.train.n);
        double warm = gsl_stats_mean(ds.test_warm.oracle, 1, (size_t)ds.test_warm.n);
        printf("sampling %s: mean R* train %.3f, test_warm %.3f, population %.3f\n",
               k ? "mnar" : "uniform", means[k], warm, ds.rstar_mean);
        if (k == 0)
            assert_true(fabs(means[0] - ds.rstar_mean) < 0.1);
        else
            assert_true(means[1] > ds.rstar_mean + 0.3 && fabs(warm - ds.rstar_mean) < 0.15);
        synth_dataset_free(&ds);
    }
}

/* issue 12: user_ambient_dim = 50000 needs a 50000 x 50000 QR factor (20 GB). Under a memory
 * limit, GSL's default error handler used to abort() (exit 134); synth_generate must turn the
 * failed allocation into an error message. Run in a child with a 2 GiB address-space limit. */
static void test_huge_ambient_fails_cleanly(void **state)
{
    (void)state;
    synth_params p;
    synth_params_default(&p);
    p.n_obs = 1024;
    p.user_ambient_dim = 50000;
    p.test_cold_pairs = 100;
    p.test_warm_pairs = 100;
    /* the load-time estimate sees it: above 16 GB */
    assert_true(synth_memory_bytes(&p) > 16e9);
    synth_params q;
    synth_params_default(&q);
    assert_true(synth_memory_bytes(&q) < 64e6);
    assert_true(synth_memory_bytes(&q) > 1e5);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {(rlim_t)2 << 30, (rlim_t)2 << 30};
        setrlimit(RLIMIT_AS, &rl);
        synth_dataset s;
        char err[256] = "";
        int rc = synth_generate(&p, &s, err, sizeof err);
        _exit(rc == -1 && strstr(err, "out of memory") ? 0 : 3);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("synth_generate died of signal %d (GSL abort?)", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---------- issue 15: interaction times and the time-aware protocols ---------- */

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t k = 0; k < n; k++)
        h = (h ^ c[k]) * 1099511628211ULL;
    return h;
}

static uint64_t hash_split(uint64_t h, const synth_split *s)
{
    h = fnv_bytes(h, &s->n, sizeof s->n);
    h = fnv_bytes(h, s->user, (size_t)s->n * sizeof *s->user);
    h = fnv_bytes(h, s->item, (size_t)s->n * sizeof *s->item);
    h = fnv_bytes(h, s->rating, (size_t)s->n * sizeof *s->rating);
    return fnv_bytes(h, s->oracle, (size_t)s->n * sizeof *s->oracle);
}

/* The data of a seed before times existed (commit 2da566e, before issue 15): pairs, ratings,
 * oracle values and covariates must be bit for bit the same (the TIME stream is new, drawn
 * last). The hashes were printed by that code with these very parameters. */
static void test_times_keep_old_data(void **state)
{
    (void)state;
    static const uint64_t want[3] = {0xeada76a9261368d0ULL, 0x296992e03c17b833ULL,
                                     0xf7e0687616173a6aULL};
    for (int v = 0; v < 3; v++) {
        synth_params p;
        small_params(&p);
        if (v == 1) {
            p.sampling = SYNTH_POPULARITY;
            p.stars = 1;
            p.seed = 7;
        }
        if (v == 2) {
            p.sampling = SYNTH_MNAR;
            p.truth = SYNTH_BUMPS;
            p.n_obs = 3000;
        }
        synth_dataset ds;
        generate_or_fail(&p, &ds);
        uint64_t h = 1469598103934665603ULL;
        h = hash_split(h, &ds.train);
        h = hash_split(h, &ds.valid);
        h = hash_split(h, &ds.test_warm);
        h = hash_split(h, &ds.test_cold);
        size_t nu = (size_t)ds.n_users + ds.n_cold_users, ni = (size_t)ds.n_items + ds.n_cold_items;
        h = fnv_bytes(h, ds.user_x, nu * p.user_ambient_dim * sizeof(double));
        h = fnv_bytes(h, ds.item_x, ni * p.item_ambient_dim * sizeof(double));
        printf("data hash %d: 0x%016llx\n", v, (unsigned long long)h);
        assert_true(h == want[v]);
        /* every observation has a finite time after its user's start (>= 0) */
        synth_split *sp[4] = {&ds.train, &ds.valid, &ds.test_warm, &ds.test_cold};
        for (int s = 0; s < 4; s++)
            for (long k = 0; k < sp[s]->n; k++)
                assert_true(isfinite(sp[s]->time[k]) && sp[s]->time[k] > 0);
        synth_dataset_free(&ds);
    }
}

/* user_drift: 0 is the data of today (the hashes above, with the key set explicitly); > 0 keeps
 * the pairs, times, covariates and noise draws, gives every user's first pair the undrifted
 * oracle, and changes the oracle of later pairs (in the user's timeline) more than of earlier
 * ones; the user's settled latent point is the one of the last training pair. */
static void test_user_drift(void **state)
{
    (void)state;
    synth_params p;
    small_params(&p);
    p.user_drift = 0;
    synth_dataset a, b;
    generate_or_fail(&p, &a);
    uint64_t h = 1469598103934665603ULL;
    h = hash_split(h, &a.train);
    h = hash_split(h, &a.valid);
    h = hash_split(h, &a.test_warm);
    h = hash_split(h, &a.test_cold);
    size_t nu = (size_t)a.n_users + a.n_cold_users, ni = (size_t)a.n_items + a.n_cold_items;
    h = fnv_bytes(h, a.user_x, nu * p.user_ambient_dim * sizeof(double));
    h = fnv_bytes(h, a.item_x, ni * p.item_ambient_dim * sizeof(double));
    assert_true(h == 0xeada76a9261368d0ULL);   /* test_times_keep_old_data's first case */
    p.user_drift = 0.3;
    generate_or_fail(&p, &b);
    synth_split *sa[4] = {&a.train, &a.valid, &a.test_warm, &a.test_cold};
    synth_split *sb[4] = {&b.train, &b.valid, &b.test_warm, &b.test_cold};
    /* each user's first time (any split) */
    double *t1 = malloc(nu * sizeof *t1);
    assert_non_null(t1);
    for (size_t u = 0; u < nu; u++)
        t1[u] = INFINITY;
    for (int s = 0; s < 4; s++)
        for (long k = 0; k < sa[s]->n; k++)
            if (sa[s]->time[k] < t1[sa[s]->user[k]])
                t1[sa[s]->user[k]] = sa[s]->time[k];
    /* mean |change of oracle| by time since the user's first pair: [0], (0, 0.25], > 0.75 */
    double sum[3] = {0, 0, 0};
    long cnt[3] = {0, 0, 0}, first_changed = 0;
    for (int s = 0; s < 4; s++) {
        assert_int_equal(sa[s]->n, sb[s]->n);
        assert_memory_equal(sa[s]->user, sb[s]->user, (size_t)sa[s]->n * sizeof(int32_t));
        assert_memory_equal(sa[s]->item, sb[s]->item, (size_t)sa[s]->n * sizeof(int32_t));
        assert_memory_equal(sa[s]->time, sb[s]->time, (size_t)sa[s]->n * sizeof(double));
        for (long k = 0; k < sa[s]->n; k++) {
            double dt = sa[s]->time[k] - t1[sa[s]->user[k]];
            double ch = fabs(sb[s]->oracle[k] - sa[s]->oracle[k]);
            /* same noise draw: rating - oracle unchanged (no stars) */
            assert_true(fabs((sb[s]->rating[k] - sb[s]->oracle[k]) -
                             (sa[s]->rating[k] - sa[s]->oracle[k])) < 1e-9);
            if (dt == 0) {
                first_changed += ch != 0;
                sum[0] += ch, cnt[0]++;
            } else if (dt <= 0.25) {
                sum[1] += ch, cnt[1]++;
            } else if (dt > 0.75) {
                sum[2] += ch, cnt[2]++;
            }
        }
    }
    assert_int_equal(first_changed, 0);
    assert_true(cnt[1] > 100 && cnt[2] > 100);
    double early = sum[1] / cnt[1], late = sum[2] / cnt[2];
    printf("user_drift 0.3: mean |oracle change| early %.4f, late %.4f\n", early, late);
    assert_true(early > 0);
    assert_true(late > 1.5 * early);
    assert_memory_equal(a.user_x, b.user_x, nu * p.user_ambient_dim * sizeof(double));
    /* settled user_z: a training user's oracle at the last training pair = R*(user_z, item) */
    int d = p.user_intrinsic_dim;
    long checked = 0, moved = 0;
    for (int u = 0; u < b.n_users; u++) {
        long last = -1;
        for (long k = 0; k < b.train.n; k++)
            if (b.train.user[k] == u && (last < 0 || b.train.time[k] > b.train.time[last]))
                last = k;
        if (last < 0)
            continue;
        double o = synth_truth_rating(b.truth, b.user_z + (size_t)u * d,
                                      b.item_z + (size_t)b.train.item[last] * p.item_intrinsic_dim) +
                   b.oracle_offset;
        assert_true(fabs(o - b.train.oracle[last]) < 1e-12);
        checked++;
        moved += memcmp(a.user_z + (size_t)u * d, b.user_z + (size_t)u * d, d * sizeof(double)) != 0;
        if (u >= 50)
            break;
    }
    assert_true(checked > 40 && moved > 30);
    /* a negative drift is refused */
    p.user_drift = -1;
    const char *bad = NULL;
    char msg[200];
    assert_int_not_equal(synth_params_check(&p, &bad, msg, sizeof msg), 0);
    assert_string_equal(bad, "user_drift");
    free(t1);
    synth_dataset_free(&a);
    synth_dataset_free(&b);
}

typedef struct {
    int32_t u, i;
    double r, o, t;
} obs_row;

static int cmp_obs(const void *a, const void *b)
{
    const obs_row *x = a, *y = b;
    if (x->u != y->u)
        return x->u < y->u ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* train + valid + test_warm as one sorted list */
static obs_row *pool_rows(const synth_dataset *ds, long *n)
{
    const synth_split *sp[3] = {&ds->train, &ds->valid, &ds->test_warm};
    *n = ds->train.n + ds->valid.n + ds->test_warm.n;
    obs_row *r = malloc((size_t)*n * sizeof *r);
    assert_non_null(r);
    long at = 0;
    for (int s = 0; s < 3; s++)
        for (long k = 0; k < sp[s]->n; k++)
            r[at++] = (obs_row){sp[s]->user[k], sp[s]->item[k], sp[s]->rating[k], sp[s]->oracle[k],
                                sp[s]->time[k]};
    qsort(r, (size_t)*n, sizeof *r, cmp_obs);
    return r;
}

static double split_min_time(const synth_split *s)
{
    double m = INFINITY;
    for (long k = 0; k < s->n; k++)
        m = s->time[k] < m ? s->time[k] : m;
    return m;
}

static double split_max_time(const synth_split *s)
{
    double m = -INFINITY;
    for (long k = 0; k < s->n; k++)
        m = s->time[k] > m ? s->time[k] : m;
    return m;
}

static void test_protocols(void **state)
{
    (void)state;
    synth_params p;
    small_params(&p);
    p.sampling = SYNTH_POPULARITY;
    p.n_obs = 3000;
    synth_dataset r, t, l;
    generate_or_fail(&p, &r);
    p.protocol = SYNTH_PROTOCOL_TEMPORAL;
    generate_or_fail(&p, &t);
    p.protocol = SYNTH_PROTOCOL_LEAVE_LAST;
    p.leave_last_k = 2;
    generate_or_fail(&p, &l);
    /* the same observations (pair, rating, oracle, time), only reassigned */
    long nr, nt, nl;
    obs_row *a = pool_rows(&r, &nr), *b = pool_rows(&t, &nt), *c = pool_rows(&l, &nl);
    assert_int_equal(nr, nt);
    assert_int_equal(nr, nl);
    assert_memory_equal(a, b, (size_t)nr * sizeof *a);
    assert_memory_equal(a, c, (size_t)nr * sizeof *a);
    /* test_cold is untouched by the protocol */
    assert_int_equal(r.test_cold.n, t.test_cold.n);
    assert_memory_equal(r.test_cold.rating, l.test_cold.rating, (size_t)r.test_cold.n * sizeof(double));
    /* temporal: random's sizes, and train < valid < test_warm in time */
    assert_int_equal(t.train.n, r.train.n);
    assert_int_equal(t.valid.n, r.valid.n);
    assert_int_equal(t.test_warm.n, r.test_warm.n);
    assert_true(split_max_time(&t.train) <= split_min_time(&t.valid));
    assert_true(split_max_time(&t.valid) <= split_min_time(&t.test_warm));
    assert_true(split_max_time(&t.train) <= split_min_time(&t.test_warm));
    /* random is not ordered so (the protocol does something) */
    assert_true(split_max_time(&r.train) > split_min_time(&r.test_warm));
    /* leave_last k = 2: per user, the test pairs are the latest, valid the 2 before */
    long users_seen = 0, want_test = 0, want_valid = 0;
    for (long q = 0; q < nl;) {
        long e = q + 1;
        while (e < nl && c[e].u == c[q].u)
            e++;
        long n = e - q, nt2 = n - 1 < 2 ? n - 1 : 2, nv2 = n - 1 - nt2 < 2 ? n - 1 - nt2 : 2;
        want_test += nt2;
        want_valid += nv2;
        double last_train = -INFINITY, first_valid = INFINITY, last_valid = -INFINITY,
               first_test = INFINITY;
        long ntest = 0, nvalid = 0;
        for (long k = 0; k < l.train.n; k++)
            if (l.train.user[k] == c[q].u && l.train.time[k] > last_train)
                last_train = l.train.time[k];
        for (long k = 0; k < l.valid.n; k++)
            if (l.valid.user[k] == c[q].u) {
                nvalid++;
                first_valid = fmin(first_valid, l.valid.time[k]);
                last_valid = fmax(last_valid, l.valid.time[k]);
            }
        for (long k = 0; k < l.test_warm.n; k++)
            if (l.test_warm.user[k] == c[q].u) {
                ntest++;
                first_test = fmin(first_test, l.test_warm.time[k]);
            }
        assert_int_equal(ntest, nt2);
        assert_int_equal(nvalid, nv2);
        assert_true(last_train > -INFINITY);   /* every user keeps a training pair */
        if (nvalid)
            assert_true(last_train < first_valid);
        if (ntest)
            assert_true((nvalid ? last_valid : last_train) < first_test);
        users_seen++;
        q = e;
    }
    assert_int_equal(l.test_warm.n, want_test);
    assert_int_equal(l.valid.n, want_valid);
    printf("protocols: %ld users; leave_last(2): train %ld valid %ld test %ld; temporal cut at "
           "t = %.3f\n", users_seen, l.train.n, l.valid.n, l.test_warm.n,
           split_min_time(&t.test_warm));
    free(a);
    free(b);
    free(c);
    synth_dataset_free(&r);
    synth_dataset_free(&t);
    synth_dataset_free(&l);
    /* the new keys are checked */
    const char *bad = NULL;
    small_params(&p);
    p.leave_last_k = 0;
    assert_int_equal(synth_params_check(&p, &bad, err, sizeof err), -1);
    assert_string_equal(bad, "leave_last_k");
    small_params(&p);
    p.protocol = (synth_protocol)7;
    assert_int_equal(synth_params_check(&p, &bad, err, sizeof err), -1);
    assert_string_equal(bad, "protocol");
}

/* issue 18: the true per-user observation law (synth_sampler_user_law / synth_observe_law_new).
 * Sums to 1 per user; uniform under uniform sampling; under popularity and mnar the training
 * items drawn by synth_generate match it (chi-square over items, pooled over users; mnar pools
 * P(i | u) with the user's acceptance mass Z_u = sum_j logistic(s R*(u, j)), since accepted
 * pairs are not uniform over users). Many users with well under one draw each, so the
 * distinctness rejection (which the law does not model) changes the counts by far less than
 * their sampling error. A law with another seed's permutation must fail the same test. */
static double observe_chi2(const synth_dataset *ds, const double *expect)
{
    int ni = ds->n_items;
    double *cnt = calloc((size_t)ni, sizeof *cnt), chi2 = 0;
    assert_non_null(cnt);
    for (long k = 0; k < ds->train.n; k++)
        cnt[ds->train.item[k]] += 1;
    for (int i = 0; i < ni; i++) {
        double e = expect[i] * (double)ds->train.n;
        chi2 += (cnt[i] - e) * (cnt[i] - e) / e;
    }
    free(cnt);
    return chi2;
}

static void test_observe_law(void **state)
{
    (void)state;
    for (int law = 0; law < 3; law++) {
        synth_params p;
        small_params(&p);
        p.user_ambient_dim = p.item_ambient_dim = 2;
        p.n_obs = 20000;
        p.obs_per_user = law == SYNTH_MNAR ? 0.1 : 0.02;   /* 200000 / 1000000 users */
        p.obs_per_item = 1000;                              /* 20 items */
        p.valid_fraction = 0;
        p.test_warm_pairs = 0;
        p.test_cold_pairs = 0;
        p.truth = SYNTH_SMOOTH;
        p.sampling = (synth_sampling)law;
        p.zipf_s = 1.0;
        p.mnar_strength = 2.0;
        synth_dataset ds;
        generate_or_fail(&p, &ds);
        int nu = ds.n_users, ni = ds.n_items;
        synth_sampler *s = synth_observe_law_new(&p, nu, ni, ds.truth, ds.user_z, ds.item_z);
        assert_non_null(s);
        double *q = malloc((size_t)ni * sizeof *q), *expect = calloc((size_t)ni, sizeof *expect);
        assert_non_null(q);
        assert_non_null(expect);
        assert_int_equal(synth_sampler_user_law(s, nu, q), -1);
        double ztot = 0, maxdev = 0;
        for (int u = 0; u < nu; u++) {
            assert_int_equal(synth_sampler_user_law(s, u, q), 0);
            double sum = 0, z = 1;
            for (int i = 0; i < ni; i++) {
                sum += q[i];
                maxdev = fmax(maxdev, fabs(q[i] - 1.0 / ni));
            }
            assert_true(fabs(sum - 1) < 1e-12);
            assert_true(synth_tv_distance(q, q, ni) == 0);
            if (law == SYNTH_MNAR) {
                z = 0;
                for (int j = 0; j < ni; j++)
                    z += 1 / (1 + exp(-p.mnar_strength *
                                      synth_truth_rating(ds.truth, ds.user_z + (size_t)u * 2,
                                                         ds.item_z + (size_t)j * 2)));
            }
            for (int i = 0; i < ni; i++)
                expect[i] += z * q[i];
            ztot += z;
        }
        for (int i = 0; i < ni; i++)
            expect[i] /= ztot;
        double chi2 = observe_chi2(&ds, expect);
        /* chi-square with 19 degrees of freedom: P(> 45) < 1e-3 */
        printf("observe law %s: max |P(i|u) - 1/n_items| %.4f, chi2 of the %ld training draws "
               "against it %.1f (19 df)\n", law == 0 ? "uniform" : law == 1 ? "popularity" : "mnar",
               maxdev, ds.train.n, chi2);
        if (law == SYNTH_UNIFORM)
            assert_true(maxdev < 1e-15);
        else
            assert_true(maxdev > 0.02);
        assert_true(chi2 < 45);
        if (law == SYNTH_POPULARITY) {
            /* another seed's permutation: the same check must fail */
            synth_params p2 = p;
            p2.seed = p.seed + 1;
            synth_sampler *s2 = synth_observe_law_new(&p2, nu, ni, ds.truth, ds.user_z, ds.item_z);
            assert_non_null(s2);
            assert_int_equal(synth_sampler_user_law(s2, 0, q), 0);
            double chi2b = observe_chi2(&ds, q);
            printf("observe law popularity, wrong permutation: chi2 %.1f\n", chi2b);
            assert_true(chi2b > 1000);
            synth_sampler_free(s2);
        }
        free(q);
        free(expect);
        synth_sampler_free(s);
        synth_dataset_free(&ds);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_check), cmocka_unit_test(test_streams),
        cmocka_unit_test(test_determinism),  cmocka_unit_test(test_calibration_cache_keys),  cmocka_unit_test(test_nobs_sweep),
        cmocka_unit_test(test_smoothness),   cmocka_unit_test(test_bumps_cells),
        cmocka_unit_test(test_scale),        cmocka_unit_test(test_sizes_splits),
        cmocka_unit_test(test_manifolds),    cmocka_unit_test(test_popularity),
        cmocka_unit_test(test_mnar),
        cmocka_unit_test(test_huge_ambient_fails_cleanly),
        cmocka_unit_test(test_times_keep_old_data), cmocka_unit_test(test_protocols),
        cmocka_unit_test(test_user_drift),
        cmocka_unit_test(test_observe_law),
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
