/* synth_truth.c — the true embeddings f*, g* and R*(z_u, z_i) = <f*(z_u), g*(z_i)>.
 *
 * Three kinds (SPEC section 4):
 *   lacunary  coordinate k = sum_{j=0..J} sum_r 2^(-j beta) cos(2^j pi <w_kjr, z> + b_kjr),
 *             w a random unit direction, b uniform on [0, 2 pi);
 *   bumps     smooth value noise: coordinate k = sum_{j=1..J} 2^(-j beta) V_kj(2^j z), where
 *             V_kj blends the hashed random signs s(seed, side, k, j, c + e) of the 2^d corners
 *             of the cell c = floor(2^j z) with C-infinity smooth-step weights
 *             S(t) = e(t) / (e(t) + e(1 - t)), e(t) = exp(-1/t). Nothing is stored but keys;
 *   smooth    a few low-frequency cosine ridges (beta = infinity).
 * Calibration: SYNTH_CALIBRATION_PAIRS independent (z_u, z_i) from the CALIBRATE stream give the
 * mean, variance and kurtosis of the raw R*; f* and g* are then each scaled by 1/sqrt(sd) so
 * that Var R* = 1. The truth depends on (seed, kind, beta, J, p, d_u, d_i) only, so the
 * calibration of recent truths is remembered (per thread) and not recomputed. */
#include "synth.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_statistics_double.h>

#define LACUNARY_RIDGES 3   /* ridges per coordinate and level */
#define SMOOTH_RIDGES 4     /* ridges per coordinate */
#define STACK_CORNERS 1024  /* bumps scratch on the stack up to d = 10 */

struct synth_truth {
    synth_truth_kind kind;
    int p, J, d[2];
    double beta;
    double scale;                 /* applied to f* and g* each: 1/sqrt(sd of raw R*) */
    double mean, var, kurtosis;   /* of the scaled R* over the calibration pairs */
    /* ridge truths (lacunary, smooth): ridge r of coordinate k is
     * amp[k][r] * cos(freq[k][r] * <w[k][r], z> + b[k][r]) */
    int n_ridge;                  /* per coordinate */
    double *w[2], *b[2], *amp[2], *freq[2];
    /* bumps: per (k, j, m) keys of the hashed corner signs */
    uint64_t *key[2];
    double *level_amp;            /* bumps: 2^(-j beta), j = 1..J at [j-1] */
};

static double smooth_e(double t)
{
    return t > 0 ? exp(-1.0 / t) : 0.0;
}

/* ---- ridge truths ---- */

static int ridges_init(synth_truth *t, int side, gsl_rng *r)
{
    int d = t->d[side];
    size_t n = (size_t)t->p * t->n_ridge;
    t->w[side] = malloc(n * d * sizeof(double));
    t->b[side] = malloc(n * sizeof(double));
    t->amp[side] = malloc(n * sizeof(double));
    t->freq[side] = malloc(n * sizeof(double));
    if (!t->w[side] || !t->b[side] || !t->amp[side] || !t->freq[side])
        return -1;
    for (int k = 0; k < t->p; k++) {
        for (int q = 0; q < t->n_ridge; q++) {
            size_t idx = (size_t)k * t->n_ridge + q;
            double *w = t->w[side] + idx * d, nrm = 0;
            do {
                nrm = 0;
                for (int m = 0; m < d; m++) {
                    w[m] = gsl_ran_gaussian_ziggurat(r, 1.0);
                    nrm += w[m] * w[m];
                }
            } while (nrm < 1e-12);
            nrm = sqrt(nrm);
            for (int m = 0; m < d; m++)
                w[m] /= nrm;
            t->b[side][idx] = 2 * M_PI * gsl_rng_uniform(r);
            if (t->kind == SYNTH_LACUNARY) {
                int j = q / LACUNARY_RIDGES;
                t->amp[side][idx] = pow(2.0, -j * t->beta);
                t->freq[side][idx] = ldexp(M_PI, j);
            } else {
                t->amp[side][idx] = 1.0;
                t->freq[side][idx] = M_PI * (0.5 + gsl_rng_uniform(r));
            }
        }
    }
    return 0;
}

static void ridges_embed(const synth_truth *t, int side, const double *z, double *out)
{
    int d = t->d[side];
    for (int k = 0; k < t->p; k++) {
        double s = 0;
        for (int q = 0; q < t->n_ridge; q++) {
            size_t idx = (size_t)k * t->n_ridge + q;
            const double *w = t->w[side] + idx * d;
            double dot = 0;
            for (int m = 0; m < d; m++)
                dot += w[m] * z[m];
            s += t->amp[side][idx] * cos(t->freq[side][idx] * dot + t->b[side][idx]);
        }
        out[k] = s;
    }
}

/* ---- bumps (value noise with hashed corner signs) ---- */

static int bumps_init(synth_truth *t, int side, uint64_t stream_seed)
{
    int d = t->d[side];
    size_t n = (size_t)t->p * t->J * d;
    t->key[side] = malloc(n * sizeof(uint64_t));
    if (!t->key[side])
        return -1;
    uint64_t st = stream_seed;
    for (size_t q = 0; q < n; q++)
        t->key[side][q] = synth_splitmix64(&st);
    return 0;
}

static const uint64_t *bumps_keys(const synth_truth *t, int side, int k, int j)
{
    return t->key[side] + ((size_t)k * t->J + (size_t)(j - 1)) * t->d[side];
}

static uint64_t coord_hash(uint64_t key, int64_t c)
{
    return synth_hash64(key + (uint64_t)c);
}

static void bumps_embed(const synth_truth *t, int side, const double *z, double *out)
{
    int d = t->d[side];
    size_t nc = (size_t)1 << d;
    double wbuf[STACK_CORNERS];
    uint64_t hbuf[STACK_CORNERS];
    double *w = wbuf;
    uint64_t *h = hbuf;
    if (nc > STACK_CORNERS) {
        w = malloc(nc * sizeof *w);
        h = malloc(nc * sizeof *h);
        if (!w || !h) {
            free(w);
            free(h);
            for (int k = 0; k < t->p; k++)
                out[k] = NAN;
            return;
        }
    }
    int64_t c[16];
    double lo[16], hi[16];
    for (int k = 0; k < t->p; k++)
        out[k] = 0;
    for (int j = 1; j <= t->J; j++) {
        double sc = ldexp(1.0, j);
        for (int m = 0; m < d; m++) {
            double y = z[m] * sc, fl = floor(y), u = y - fl;
            double e0 = smooth_e(u), e1 = smooth_e(1 - u);
            c[m] = (int64_t)fl;
            hi[m] = e0 / (e0 + e1);   /* weight of corner c+1: S(u) */
            lo[m] = e1 / (e0 + e1);   /* weight of corner c:   S(1-u) */
        }
        w[0] = 1;
        for (int m = 0; m < d; m++) {
            size_t half = (size_t)1 << m;
            for (size_t e = 0; e < half; e++) {
                w[e + half] = w[e] * hi[m];
                w[e] *= lo[m];
            }
        }
        double amp = t->level_amp[j - 1];
        for (int k = 0; k < t->p; k++) {
            const uint64_t *key = bumps_keys(t, side, k, j);
            uint64_t h0 = 0;
            for (int m = 0; m < d; m++)
                h0 ^= coord_hash(key[m], c[m]);
            h[0] = h0;
            for (int m = 0; m < d; m++) {
                uint64_t flip = coord_hash(key[m], c[m]) ^ coord_hash(key[m], c[m] + 1);
                size_t half = (size_t)1 << m;
                for (size_t e = 0; e < half; e++)
                    h[e + half] = h[e] ^ flip;
            }
            /* sum of w[e] * sign: the hash's top bit flips the sign bit of w[e] (branch-free,
             * exact). */
            double v = 0;
            for (size_t e = 0; e < nc; e++) {
                uint64_t bits;
                double we;
                memcpy(&bits, &w[e], sizeof bits);
                bits ^= synth_hash64(h[e]) & 0x8000000000000000ULL;
                memcpy(&we, &bits, sizeof we);
                v += we;
            }
            out[k] += amp * v;
        }
    }
    if (w != wbuf) {
        free(w);
        free(h);
    }
}

uint64_t synth_truth_cell_key(const synth_truth *t, int side, int k, int j, const double *z)
{
    if (!t || t->kind != SYNTH_BUMPS || side < 0 || side > 1 || k < 0 || k >= t->p || j < 1 ||
        j > t->J)
        return 0;
    const uint64_t *key = bumps_keys(t, side, k, j);
    uint64_t h0 = 0;
    for (int m = 0; m < t->d[side]; m++)
        h0 ^= coord_hash(key[m], (int64_t)floor(ldexp(z[m], j)));
    return synth_hash64(h0);
}

/* ---- public interface ---- */

void synth_truth_embed(const synth_truth *t, int side, const double *z, double *out)
{
    if (t->kind == SYNTH_BUMPS)
        bumps_embed(t, side, z, out);
    else
        ridges_embed(t, side, z, out);
    for (int k = 0; k < t->p; k++)
        out[k] *= t->scale;
}

double synth_truth_rating(const synth_truth *t, const double *zu, const double *zi)
{
    double fb[64], gb[64];
    double *f = fb, *g = gb;
    if (t->p > 64) {
        f = malloc((size_t)t->p * sizeof *f);
        g = malloc((size_t)t->p * sizeof *g);
        if (!f || !g) {
            free(f);
            free(g);
            return NAN;
        }
    }
    synth_truth_embed(t, 0, zu, f);
    synth_truth_embed(t, 1, zi, g);
    double s = 0;
    for (int k = 0; k < t->p; k++)
        s += f[k] * g[k];
    if (f != fb) {
        free(f);
        free(g);
    }
    return s;
}

int synth_truth_dim(const synth_truth *t)
{
    return t->p;
}

void synth_truth_stats(const synth_truth *t, double *mean, double *var, double *kurtosis)
{
    if (mean)
        *mean = t->mean;
    if (var)
        *var = t->var;
    if (kurtosis)
        *kurtosis = t->kurtosis;
}

void synth_truth_free(synth_truth *t)
{
    if (!t)
        return;
    for (int s = 0; s < 2; s++) {
        free(t->w[s]);
        free(t->b[s]);
        free(t->amp[s]);
        free(t->freq[s]);
        free(t->key[s]);
    }
    free(t->level_amp);
    free(t);
}

/* Calibration results of the last few truths, per thread. A sweep regenerates the same truth
 * for every n_obs and method of a data setting (the truth depends on its keys and the seed
 * only), and at d = 4..8 the 2^17 calibration evaluations cost a good part of a small cell. The
 * cached numbers are the ones the computation gives (it is deterministic), so a hit changes
 * nothing but the time. */
#define CALIB_CACHE 256   /* a sweep may cycle through many truths before repeating one */
typedef struct {
    int used, kind, p, J, du, di;
    uint64_t seed;
    double beta, scale, mean, var, kurtosis;
} calib_entry;
static _Thread_local calib_entry calib_cache[CALIB_CACHE];
static _Thread_local unsigned calib_next;

void synth_truth_cache_clear(void)
{
    memset(calib_cache, 0, sizeof calib_cache);
    calib_next = 0;
}

static calib_entry *calib_find(const synth_truth *t, uint64_t seed)
{
    for (int k = 0; k < CALIB_CACHE; k++) {
        calib_entry *e = &calib_cache[k];
        if (e->used && e->seed == seed && e->kind == (int)t->kind && e->p == t->p && e->J == t->J &&
            e->du == t->d[0] && e->di == t->d[1] && e->beta == t->beta)
            return e;
    }
    return NULL;
}

static void calib_store(const synth_truth *t, uint64_t seed)
{
    calib_entry *e = &calib_cache[calib_next++ % CALIB_CACHE];
    *e = (calib_entry){1, (int)t->kind, t->p, t->J, t->d[0], t->d[1], seed, t->beta, t->scale,
                       t->mean, t->var, t->kurtosis};
}

static int calibrate(synth_truth *t, uint64_t seed, char *err, size_t errlen)
{
    const calib_entry *hit = calib_find(t, seed);
    if (hit) {
        t->scale = hit->scale;
        t->mean = hit->mean;
        t->var = hit->var;
        t->kurtosis = hit->kurtosis;
        return 0;
    }
    long n = SYNTH_CALIBRATION_PAIRS;
    int du = t->d[0], di = t->d[1];
    double *r = malloc((size_t)n * sizeof *r);
    double *zu = malloc((size_t)du * sizeof *zu), *zi = malloc((size_t)di * sizeof *zi);
    gsl_rng *rng = synth_rng_new(seed, SYNTH_STREAM_CALIBRATE);
    int rc = -1;
    if (!r || !zu || !zi || !rng) {
        snprintf(err, errlen, "truth calibration: out of memory");
        goto done;
    }
    t->scale = 1.0;
    for (long q = 0; q < n; q++) {
        for (int m = 0; m < du; m++)
            zu[m] = gsl_rng_uniform(rng);
        for (int m = 0; m < di; m++)
            zi[m] = gsl_rng_uniform(rng);
        r[q] = synth_truth_rating(t, zu, zi);
    }
    double mean = gsl_stats_mean(r, 1, (size_t)n);
    double var = gsl_stats_variance_m(r, 1, (size_t)n, mean);
    double sd = sqrt(var);
    if (!(sd > 1e-300) || !isfinite(sd)) {
        snprintf(err, errlen, "truth: R* has zero or non-finite variance (%g) in calibration",
                 var);
        goto done;
    }
    t->kurtosis = gsl_stats_kurtosis_m_sd(r, 1, (size_t)n, mean, sd) + 3.0;
    t->scale = 1.0 / sqrt(sd);
    t->mean = mean / sd;
    t->var = var / (sd * sd);
    calib_store(t, seed);
    rc = 0;
done:
    free(r);
    free(zu);
    free(zi);
    if (rng)
        gsl_rng_free(rng);
    return rc;
}

synth_truth *synth_truth_new(const synth_params *p, char *err, size_t errlen)
{
    /* Only the truth's own keys are checked here (synth_params_check checks them all). */
    synth_params q;
    synth_params_default(&q);
    q.seed = p->seed;
    q.user_intrinsic_dim = q.user_ambient_dim = p->user_intrinsic_dim;
    q.item_intrinsic_dim = q.item_ambient_dim = p->item_intrinsic_dim;
    q.truth = p->truth;
    q.truth_levels = p->truth_levels;
    q.beta = p->beta;
    q.truth_dim = p->truth_dim;
    q.test_warm_pairs = 0;
    if (synth_params_check(&q, NULL, err, errlen) != 0)
        return NULL;
    synth_truth *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "truth: out of memory");
        return NULL;
    }
    t->kind = p->truth;
    t->p = p->truth_dim;
    t->J = p->truth_levels;
    t->beta = p->beta;
    t->d[0] = p->user_intrinsic_dim;
    t->d[1] = p->item_intrinsic_dim;
    t->scale = 1.0;
    static const synth_stream streams[2] = {SYNTH_STREAM_TRUTH_USER, SYNTH_STREAM_TRUTH_ITEM};
    for (int side = 0; side < 2; side++) {
        int rc;
        if (t->kind == SYNTH_BUMPS) {
            rc = bumps_init(t, side, synth_stream_seed(p->seed, streams[side]));
        } else {
            t->n_ridge = t->kind == SYNTH_LACUNARY ? LACUNARY_RIDGES * (t->J + 1) : SMOOTH_RIDGES;
            gsl_rng *r = synth_rng_new(p->seed, streams[side]);
            rc = r ? ridges_init(t, side, r) : -1;
            if (r)
                gsl_rng_free(r);
        }
        if (rc != 0) {
            snprintf(err, errlen, "truth: out of memory");
            synth_truth_free(t);
            return NULL;
        }
    }
    if (t->kind == SYNTH_BUMPS) {
        t->level_amp = malloc((size_t)t->J * sizeof *t->level_amp);
        if (!t->level_amp) {
            snprintf(err, errlen, "truth: out of memory");
            synth_truth_free(t);
            return NULL;
        }
        for (int j = 1; j <= t->J; j++)
            t->level_amp[j - 1] = pow(2.0, -j * t->beta);
    }
    if (calibrate(t, p->seed, err, errlen) != 0) {
        synth_truth_free(t);
        return NULL;
    }
    return t;
}
