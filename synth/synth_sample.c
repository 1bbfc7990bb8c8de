/* synth_sample.c — which pairs are observed: uniform distinct pairs, popularity (items drawn
 * from Zipf(zipf_s) over a random permutation of the items, users uniform) or mnar (a candidate
 * pair is kept with probability logistic(mnar_strength * R*)). Distinctness by a pair set. */
#include "synth.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <gsl/gsl_randist.h>

struct synth_sampler {
    synth_sampling law;
    int n_users, n_items;
    gsl_ran_discrete_t *zipf;   /* popularity: rank distribution */
    int32_t *perm;              /* popularity: rank -> item */
    double strength;            /* mnar */
    double zipf_s;              /* popularity (for synth_sampler_user_law) */
    const synth_truth *truth;
    const double *user_z, *item_z;
    int du, di;
};

synth_sampler *synth_sampler_new(const synth_params *p, int n_users, int n_items,
                                 const synth_truth *t, const double *user_z, const double *item_z,
                                 gsl_rng *r)
{
    synth_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->law = p->sampling;
    s->n_users = n_users;
    s->n_items = n_items;
    s->strength = p->mnar_strength;
    s->zipf_s = p->zipf_s;
    s->truth = t;
    s->user_z = user_z;
    s->item_z = item_z;
    s->du = p->user_intrinsic_dim;
    s->di = p->item_intrinsic_dim;
    if (s->law == SYNTH_POPULARITY) {
        double *wt = malloc((size_t)n_items * sizeof *wt);
        s->perm = malloc((size_t)n_items * sizeof *s->perm);
        if (!wt || !s->perm) {
            free(wt);
            synth_sampler_free(s);
            return NULL;
        }
        for (int k = 0; k < n_items; k++) {
            wt[k] = pow((double)(k + 1), -p->zipf_s);
            s->perm[k] = k;
        }
        gsl_ran_shuffle(r, s->perm, (size_t)n_items, sizeof *s->perm);
        s->zipf = gsl_ran_discrete_preproc((size_t)n_items, wt);
        free(wt);
        if (!s->zipf) {
            synth_sampler_free(s);
            return NULL;
        }
    }
    return s;
}

void synth_sampler_free(synth_sampler *s)
{
    if (!s)
        return;
    if (s->zipf)
        gsl_ran_discrete_free(s->zipf);
    free(s->perm);
    free(s);
}

int synth_sampler_user_law(const synth_sampler *s, int32_t u, double *out)
{
    int n = s->n_items;
    if (u < 0 || u >= s->n_users || n <= 0)
        return -1;
    double sum = 0;
    for (int k = 0; k < n; k++) {
        double w;
        int i = k;
        if (s->law == SYNTH_POPULARITY) {
            w = pow((double)(k + 1), -s->zipf_s);   /* rank k holds item perm[k] */
            i = s->perm[k];
        } else if (s->law == SYNTH_MNAR) {
            double rs = synth_truth_rating(s->truth, s->user_z + (size_t)u * s->du,
                                           s->item_z + (size_t)k * s->di);
            w = 1.0 / (1.0 + exp(-s->strength * rs));
        } else {
            w = 1.0;
        }
        out[i] = w;
        sum += w;
    }
    if (!(sum > 0) || !isfinite(sum))
        return -1;
    for (int i = 0; i < n; i++)
        out[i] /= sum;
    return 0;
}

/* One candidate pair under the law (mnar acceptance included); 0 if rejected. */
static int candidate(const synth_sampler *s, gsl_rng *r, int force_uniform, int32_t *u,
                     int32_t *i)
{
    *u = (int32_t)gsl_rng_uniform_int(r, (unsigned long)s->n_users);
    if (!force_uniform && s->law == SYNTH_POPULARITY)
        *i = s->perm[gsl_ran_discrete(r, s->zipf)];
    else
        *i = (int32_t)gsl_rng_uniform_int(r, (unsigned long)s->n_items);
    if (!force_uniform && s->law == SYNTH_MNAR) {
        double rs = synth_truth_rating(s->truth, s->user_z + (size_t)*u * s->du,
                                       s->item_z + (size_t)*i * s->di);
        double pr = 1.0 / (1.0 + exp(-s->strength * rs));
        if (gsl_rng_uniform(r) >= pr)
            return 0;
    }
    return 1;
}

int synth_sampler_draw(const synth_sampler *s, gsl_rng *r, int force_uniform, long n,
                       synth_pairset *seen, int32_t *user, int32_t *item, char *err,
                       size_t errlen)
{
    double cap = (double)s->n_users * (double)s->n_items;
    if ((double)synth_pairset_size(seen) + (double)n > cap) {
        snprintf(err, errlen,
                 "cannot draw %ld more distinct pairs: %ld are taken of the %d users x %d items",
                 n, synth_pairset_size(seen), s->n_users, s->n_items);
        return -1;
    }
    double max_attempts = 200.0 * (double)n + 1e7, attempts = 0;
    for (long k = 0; k < n;) {
        if (++attempts > max_attempts) {
            snprintf(err, errlen,
                     "drew only %ld of %ld distinct pairs in %.0f attempts: the sampling law "
                     "concentrates on too few of the %d users x %d items (raise obs_per_user / "
                     "obs_per_item or lower zipf_s / mnar_strength)",
                     k, n, max_attempts, s->n_users, s->n_items);
            return -1;
        }
        int32_t u, i;
        if (!candidate(s, r, force_uniform, &u, &i))
            continue;
        int added = synth_pairset_add(seen, u, i);
        if (added < 0) {
            snprintf(err, errlen, "out of memory drawing pairs");
            return -1;
        }
        if (added) {
            user[k] = u;
            item[k] = i;
            k++;
        }
    }
    return 0;
}
