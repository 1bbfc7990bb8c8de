/* synth_observe.c — the true observation (sampling) law of a generated dataset, so that a
 * model's P(observe) can be scored against it (issue 18).
 *
 * Model (synth_sample.c): every training draw takes a user uniformly and an item by the law
 * (uniform; popularity: Zipf(zipf_s) over a random permutation of the items; mnar: a uniform
 * item kept with probability logistic(mnar_strength R*(u, i)), else the whole candidate pair is
 * redrawn). Conditioned on the user, the item of an accepted candidate has law
 *   P(i | u) = w(u, i) / sum_j w(u, j),  w = 1 | zipf(rank(i)) | logistic(s R*(u, i)).
 * (Under mnar the users are not uniform among accepted pairs: P(u) is proportional to
 * sum_j w(u, j); the per-user law above is what a per-user P(observe) estimates.)
 * Decision: nothing is excluded. The generator also rejects pairs already drawn, so a user's
 * realised draws deviate from P(. | u) by the collisions; this matters only when the user's
 * draws are not few against 1 / max_i P(i | u) (a saturated head item).
 * Valid for the pairs as drawn: with protocol temporal / leave_last the training split mixes in
 * uniform test_warm draws, and with user_drift > 0 user_z is no longer the z of the draws;
 * the caller (ds_from_synth) exposes the law only for protocol random and no drift.
 */
#include "synth.h"
#include <math.h>

synth_sampler *synth_observe_law_new(const synth_params *p, int n_users, int n_items,
                                     const synth_truth *t, const double *user_z,
                                     const double *item_z)
{
    /* synth_generate builds its sampler from a fresh SAMPLING stream, whose first draws are
     * the popularity shuffle: the same stream gives the same permutation. */
    gsl_rng *r = synth_rng_new(p->seed, SYNTH_STREAM_SAMPLING);
    if (!r)
        return NULL;
    synth_sampler *s = synth_sampler_new(p, n_users, n_items, t, user_z, item_z, r);
    gsl_rng_free(r);
    return s;
}

double synth_tv_distance(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += fabs(a[i] - b[i]);
    return 0.5 * s;
}
