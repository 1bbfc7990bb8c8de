/* synth_drift.c — optional user drift (data key user_drift = s >= 0; 0, the default, leaves the
 * generator untouched: nothing here runs and no draw is made).
 *
 * Model: a user's latent point moves as a reflected Brownian motion in the latent cube [0,1]^d
 * over the user's own timeline (synth_time.c):
 *     z_u(t) = fold(z_u + s W_u(t - t_u1)),  fold(v) = per coordinate, v mod 2, then 2 - v above 1,
 * with W_u a standard d-dimensional Brownian motion per user, t_u1 the time of the user's first
 * pair (any split) and z_u the point drawn by the generator, so z_u(t_u1) = z_u: the covariates
 * x_u (computed from z_u) are those of the user at the first interaction. Folding the free path
 * into the cube is exactly the Brownian motion reflected at the faces. A user with the mean
 * number of pairs is active for about one time unit, so s is the latent sd moved over a typical
 * timeline (the cube has side 1). The rating and the oracle of every pair (train, valid,
 * test_warm, test_cold) use z_u at the pair's time, with the pair's own noise draw unchanged
 * (synth_observe(R*(z_u(t), z_i), eps)). The increments come from a stream of their own
 * (SYNTH_STREAM_DRIFT): users in row order, each user's pairs in time order (ties by the
 * canonical order train, valid, test_warm, test_cold), d Gaussians per pair.
 *
 * Afterwards (synth_drift_settle, after the protocol): ds->user_z of a user with training pairs
 * becomes z_u at the user's last TRAINING time, so everything that scores an arbitrary pair
 * through user_z (ds_oracle: the catalogue ranking metrics, the oracle method, kshot's redrawn
 * pairs) uses the user as last seen in training; only the stored pairs carry R* at their own
 * time. Users without training pairs (cold users) keep z_u (their first time). */
#include "synth.h"
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct synth_drift {
    long nu, total;
    int d;
    long *first;        /* nu + 1: the user's path points first[u] .. first[u+1), by time */
    double *time;       /* total */
    double *z;          /* total x d: z_u at that time */
};

typedef struct {
    int8_t s;
    long k;
} drift_ref;

static synth_split *split_of(synth_dataset *ds, int s)
{
    return s == 0 ? &ds->train : s == 1 ? &ds->valid : s == 2 ? &ds->test_warm : &ds->test_cold;
}

static double fold(double v)
{
    v = fmod(v, 2.0);
    if (v < 0)
        v += 2.0;
    return v > 1.0 ? 2.0 - v : v;
}

void synth_drift_free(synth_drift *dr)
{
    if (!dr)
        return;
    free(dr->first);
    free(dr->time);
    free(dr->z);
    free(dr);
}

/* Sort the refs of one user by time (insertion sort: stable, so ties keep canonical order). */
static void sort_by_time(synth_dataset *ds, drift_ref *a, long n)
{
    for (long i = 1; i < n; i++) {
        drift_ref x = a[i];
        double t = split_of(ds, x.s)->time[x.k];
        long j = i;
        while (j > 0 && split_of(ds, a[j - 1].s)->time[a[j - 1].k] > t) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

synth_drift *synth_drift_apply(synth_dataset *ds, double *const noise[4], char *err, size_t errlen)
{
    const synth_params *p = &ds->params;
    int d = p->user_intrinsic_dim;
    long nu = (long)ds->n_users + ds->n_cold_users, total = 0;
    for (int s = 0; s < 4; s++)
        total += split_of(ds, s)->n;
    synth_drift *dr = calloc(1, sizeof *dr);
    drift_ref *ref = malloc((size_t)(total > 0 ? total : 1) * sizeof *ref);
    long *fill = calloc((size_t)nu + 1, sizeof *fill);
    double *w = malloc((size_t)d * sizeof *w);
    gsl_rng *r = synth_rng_new(p->seed, SYNTH_STREAM_DRIFT);
    if (!dr || !ref || !fill || !w || !r)
        goto oom;
    dr->nu = nu;
    dr->total = total;
    dr->d = d;
    dr->first = calloc((size_t)nu + 1, sizeof *dr->first);
    dr->time = malloc((size_t)(total > 0 ? total : 1) * sizeof *dr->time);
    dr->z = malloc((size_t)(total > 0 ? total : 1) * (size_t)d * sizeof *dr->z);
    if (!dr->first || !dr->time || !dr->z)
        goto oom;
    for (int s = 0; s < 4; s++) {
        synth_split *sp = split_of(ds, s);
        if (!sp->time) {
            snprintf(err, errlen, "synth: user_drift needs interaction times");
            goto fail;
        }
        for (long k = 0; k < sp->n; k++)
            dr->first[sp->user[k] + 1]++;
    }
    for (long u = 0; u < nu; u++)
        dr->first[u + 1] += dr->first[u];
    for (int s = 0; s < 4; s++) {
        synth_split *sp = split_of(ds, s);
        for (long k = 0; k < sp->n; k++) {
            int32_t u = sp->user[k];
            ref[dr->first[u] + fill[u]++] = (drift_ref){.s = (int8_t)s, .k = k};
        }
    }
    for (long u = 0; u < nu; u++) {
        long a0 = dr->first[u], n = dr->first[u + 1] - a0;
        sort_by_time(ds, ref + a0, n);
        const double *z0 = ds->user_z + (size_t)u * d;
        for (int m = 0; m < d; m++)
            w[m] = z0[m];   /* the free (unfolded) path */
        double tprev = 0;
        for (long q = 0; q < n; q++) {
            drift_ref f = ref[a0 + q];
            synth_split *sp = split_of(ds, f.s);
            double t = sp->time[f.k], *zq = dr->z + (size_t)(a0 + q) * d;
            if (q > 0) {
                double sd = p->user_drift * sqrt(t - tprev > 0 ? t - tprev : 0);
                for (int m = 0; m < d; m++)
                    w[m] += sd * gsl_ran_gaussian_ziggurat(r, 1.0);
            }
            tprev = t;
            for (int m = 0; m < d; m++)
                zq[m] = fold(w[m]);
            dr->time[a0 + q] = t;
            double rs = synth_truth_rating(ds->truth, zq,
                                           ds->item_z + (size_t)sp->item[f.k] * p->item_intrinsic_dim);
            sp->oracle[f.k] = rs + ds->oracle_offset;
            sp->rating[f.k] = synth_observe(p, rs, noise[f.s][f.k]);
        }
    }
    gsl_rng_free(r);
    free(ref);
    free(fill);
    free(w);
    return dr;
oom:
    snprintf(err, errlen, "synth: out of memory (user drift)");
fail:
    if (r)
        gsl_rng_free(r);
    free(ref);
    free(fill);
    free(w);
    synth_drift_free(dr);
    return NULL;
}

int synth_drift_settle(synth_drift *dr, synth_dataset *ds)
{
    int d = dr->d;
    /* the last training time of every training user */
    double *last = malloc(((size_t)ds->n_users + 1) * sizeof *last);
    if (!last)
        return -1;
    for (int u = 0; u < ds->n_users; u++)
        last[u] = -INFINITY;
    for (long k = 0; k < ds->train.n; k++)
        if (ds->train.time[k] > last[ds->train.user[k]])
            last[ds->train.user[k]] = ds->train.time[k];
    for (int u = 0; u < ds->n_users; u++) {
        if (last[u] == -INFINITY)
            continue;
        /* the path point at that time (the path is sorted by time) */
        for (long a = dr->first[u + 1] - 1; a >= dr->first[u]; a--)
            if (dr->time[a] == last[u]) {
                memcpy(ds->user_z + (size_t)u * d, dr->z + (size_t)a * d, (size_t)d * sizeof(double));
                break;
            }
    }
    free(last);
    return 0;
}
