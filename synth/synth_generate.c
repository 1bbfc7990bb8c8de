/* synth_generate.c — the whole synthetic dataset from (params, seed): entities (latent z and
 * ambient x), the truth, train / valid / test_warm pairs of the training population and
 * test_cold pairs of fresh entities, each with observed ratings and oracle values.
 *
 * Stream use (each an independent mt19937, see synth_rng.c):
 *   USER_X / ITEM_X    training entities in row order (user k does not depend on n_obs);
 *   COLD               cold users, cold items, test_cold pairs and their noise (so test_cold is
 *                      the same across an n_obs sweep with the same seed);
 *   SAMPLING           popularity permutation, then the train pairs;
 *   SPLIT              valid pairs (same law), then test_warm pairs (uniform over unseen pairs);
 *   NOISE              noise of train, valid, test_warm in that order;
 *   TIME               interaction times of every pair (synth_time.c), drawn last; then the
 *                      protocol (temporal, leave_last) reassigns train / valid / test_warm.
 *   DRIFT              user_drift > 0 only (synth_drift.c): after the times, before the
 *                      protocol, ratings and oracle values are recomputed at z_u(time) with
 *                      the same noise draws; user_drift = 0 takes none of these steps. */
#include <gsl/gsl_errno.h>
#include "synth.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

static int split_alloc(synth_split *s, long n)
{
    size_t m = n > 0 ? (size_t)n : 1;
    s->n = n;
    s->user = malloc(m * sizeof *s->user);
    s->item = malloc(m * sizeof *s->item);
    s->rating = malloc(m * sizeof *s->rating);
    s->oracle = malloc(m * sizeof *s->oracle);
    s->time = malloc(m * sizeof *s->time);
    return s->user && s->item && s->rating && s->oracle && s->time ? 0 : -1;
}

static void split_free(synth_split *s)
{
    free(s->user);
    free(s->item);
    free(s->rating);
    free(s->oracle);
    free(s->time);
    memset(s, 0, sizeof *s);
}

/* Rows [first, first + n) of (z, x): z ~ U[0,1]^d, x = embed(z) + tau N(0, I_D). */
static void draw_entities(gsl_rng *r, const synth_embedding *e, int d, int D, double tau,
                          long first, long n, double *z, double *x)
{
    for (long k = first; k < first + n; k++) {
        double *zk = z + (size_t)k * d, *xk = x + (size_t)k * D;
        for (int m = 0; m < d; m++)
            zk[m] = gsl_rng_uniform(r);
        synth_embed_point(e, zk, xk);
        if (tau > 0)
            for (int a = 0; a < D; a++)
                xk[a] += tau * gsl_ran_gaussian_ziggurat(r, 1.0);
    }
}

/* Oracle values and noisy ratings of a split (noise from r, in pair order; each draw also
 * into noise[k] when noise is not NULL, for the user drift). */
static void observe_split(const synth_dataset *ds, gsl_rng *r, synth_split *s, double *noise)
{
    const synth_params *p = &ds->params;
    for (long k = 0; k < s->n; k++) {
        double rs = synth_truth_rating(ds->truth, ds->user_z + (size_t)s->user[k] * p->user_intrinsic_dim,
                                       ds->item_z + (size_t)s->item[k] * p->item_intrinsic_dim);
        s->oracle[k] = rs + ds->oracle_offset;
        double e = synth_noise_draw(p, r);
        if (noise)
            noise[k] = e;
        s->rating[k] = synth_observe(p, rs, e);
    }
}

/* test_cold: each cold user gets cold_list_size distinct cold items (partial Fisher-Yates). */
static int draw_cold_pairs(synth_dataset *ds, gsl_rng *r)
{
    int L = ds->params.cold_list_size, nci = ds->n_cold_items;
    int32_t *perm = malloc((size_t)(nci > 0 ? nci : 1) * sizeof *perm);
    if (!perm)
        return -1;
    for (int k = 0; k < nci; k++)
        perm[k] = k;
    long q = 0;
    for (int cu = 0; cu < ds->n_cold_users; cu++) {
        for (int t = 0; t < L; t++) {
            int pick = t + (int)gsl_rng_uniform_int(r, (unsigned long)(nci - t));
            int32_t tmp = perm[t];
            perm[t] = perm[pick];
            perm[pick] = tmp;
            ds->test_cold.user[q] = ds->n_users + cu;
            ds->test_cold.item[q] = ds->n_items + perm[t];
            q++;
        }
    }
    free(perm);
    return 0;
}

int synth_generate(const synth_params *p, synth_dataset *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    gsl_set_error_handler_off();   /* a failed GSL allocation returns NULL here, never aborts */
    const char *bad = NULL;
    if (synth_params_check(p, &bad, err, errlen) != 0)
        return -1;
    synth_dataset *ds = out;
    ds->params = *p;
    ds->n_users = synth_n_users(p);
    ds->n_items = synth_n_items(p);
    ds->n_cold_users = synth_n_cold_users(p);
    ds->n_cold_items = synth_n_cold_items(p);
    ds->oracle_offset = p->stars ? 3.0 : 0.0;
    int du = p->user_intrinsic_dim, di = p->item_intrinsic_dim;
    int Du = p->user_ambient_dim, Di = p->item_ambient_dim;
    size_t nu_all = (size_t)ds->n_users + ds->n_cold_users;
    size_t ni_all = (size_t)ds->n_items + ds->n_cold_items;
    long n_valid = synth_n_valid(p);
    long n_cold_pairs = (long)ds->n_cold_users * p->cold_list_size;

    synth_embedding *eu = NULL, *ei = NULL;
    synth_sampler *smp = NULL;
    synth_pairset *seen = NULL;
    gsl_rng *r = NULL;
    synth_drift *drift = NULL;
    double *noise[4] = {NULL, NULL, NULL, NULL};   /* user_drift > 0: each pair's noise draw */
    int rc = -1;

    ds->truth = synth_truth_new(p, err, errlen);
    if (!ds->truth)
        goto done;
    synth_truth_stats(ds->truth, &ds->rstar_mean, &ds->rstar_var, &ds->rstar_kurtosis);

    ds->user_z = malloc(nu_all * du * sizeof(double));
    ds->item_z = malloc(ni_all * di * sizeof(double));
    ds->user_x = malloc(nu_all * Du * sizeof(double));
    ds->item_x = malloc(ni_all * Di * sizeof(double));
    eu = synth_embedding_new(du, Du, p->manifold, synth_stream_seed(p->seed, SYNTH_STREAM_EMBED_USER));
    ei = synth_embedding_new(di, Di, p->manifold, synth_stream_seed(p->seed, SYNTH_STREAM_EMBED_ITEM));
    if (!ds->user_z || !ds->item_z || !ds->user_x || !ds->item_x || !eu || !ei ||
        split_alloc(&ds->train, p->n_obs) || split_alloc(&ds->valid, n_valid) ||
        split_alloc(&ds->test_warm, p->test_warm_pairs) ||
        split_alloc(&ds->test_cold, n_cold_pairs)) {
        snprintf(err, errlen, "synth: out of memory");
        goto done;
    }
    if (p->user_drift > 0) {
        long ns[4] = {p->n_obs, n_valid, p->test_warm_pairs, n_cold_pairs};
        for (int s = 0; s < 4; s++)
            if (!(noise[s] = malloc((size_t)(ns[s] > 0 ? ns[s] : 1) * sizeof(double))))
                goto oom;
    }

    /* Training entities, one stream per side. */
    if (!(r = synth_rng_new(p->seed, SYNTH_STREAM_USER_X)))
        goto oom;
    draw_entities(r, eu, du, Du, p->ambient_noise, 0, ds->n_users, ds->user_z, ds->user_x);
    gsl_rng_free(r);
    if (!(r = synth_rng_new(p->seed, SYNTH_STREAM_ITEM_X)))
        goto oom;
    draw_entities(r, ei, di, Di, p->ambient_noise, 0, ds->n_items, ds->item_z, ds->item_x);
    gsl_rng_free(r);

    /* Cold entities and test_cold, all from the COLD stream. */
    if (!(r = synth_rng_new(p->seed, SYNTH_STREAM_COLD)))
        goto oom;
    draw_entities(r, eu, du, Du, p->ambient_noise, ds->n_users, ds->n_cold_users, ds->user_z,
                  ds->user_x);
    draw_entities(r, ei, di, Di, p->ambient_noise, ds->n_items, ds->n_cold_items, ds->item_z,
                  ds->item_x);
    if (draw_cold_pairs(ds, r) != 0) {
        gsl_rng_free(r);
        goto oom;
    }
    observe_split(ds, r, &ds->test_cold, noise[3]);
    gsl_rng_free(r);

    /* Train (SAMPLING), valid and test_warm (SPLIT), all distinct. */
    if (!(r = synth_rng_new(p->seed, SYNTH_STREAM_SAMPLING)))
        goto oom;
    smp = synth_sampler_new(p, ds->n_users, ds->n_items, ds->truth, ds->user_z, ds->item_z, r);
    seen = synth_pairset_new(p->n_obs + n_valid + p->test_warm_pairs);
    if (!smp || !seen) {
        gsl_rng_free(r);
        goto oom;
    }
    char msg[400];
    if (synth_sampler_draw(smp, r, 0, p->n_obs, seen, ds->train.user, ds->train.item, msg,
                           sizeof msg) != 0) {
        snprintf(err, errlen, "train pairs: %s", msg);
        gsl_rng_free(r);
        goto done;
    }
    gsl_rng_free(r);
    if (!(r = synth_rng_new(p->seed, SYNTH_STREAM_SPLIT)))
        goto oom;
    if (synth_sampler_draw(smp, r, 0, n_valid, seen, ds->valid.user, ds->valid.item, msg,
                           sizeof msg) != 0) {
        snprintf(err, errlen, "valid pairs: %s", msg);
        gsl_rng_free(r);
        goto done;
    }
    if (synth_sampler_draw(smp, r, 1, p->test_warm_pairs, seen, ds->test_warm.user,
                           ds->test_warm.item, msg, sizeof msg) != 0) {
        snprintf(err, errlen, "test_warm pairs: %s", msg);
        gsl_rng_free(r);
        goto done;
    }
    gsl_rng_free(r);

    if (!(r = synth_rng_new(p->seed, SYNTH_STREAM_NOISE)))
        goto oom;
    observe_split(ds, r, &ds->train, noise[0]);
    observe_split(ds, r, &ds->valid, noise[1]);
    observe_split(ds, r, &ds->test_warm, noise[2]);
    gsl_rng_free(r);
    r = NULL;
    if (synth_assign_times(ds, err, errlen) != 0)
        goto done;
    if (p->user_drift > 0 && !(drift = synth_drift_apply(ds, noise, err, errlen)))
        goto done;
    if (synth_apply_protocol(ds, err, errlen) != 0)
        goto done;
    if (drift && synth_drift_settle(drift, ds) != 0)
        goto oom;
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "synth: out of memory");
done:
    synth_drift_free(drift);
    for (int s = 0; s < 4; s++)
        free(noise[s]);
    synth_embedding_free(eu);
    synth_embedding_free(ei);
    synth_sampler_free(smp);
    synth_pairset_free(seen);
    if (rc != 0)
        synth_dataset_free(ds);
    return rc;
}

void synth_dataset_free(synth_dataset *ds)
{
    if (!ds)
        return;
    synth_truth_free(ds->truth);
    free(ds->user_z);
    free(ds->item_z);
    free(ds->user_x);
    free(ds->item_x);
    split_free(&ds->train);
    split_free(&ds->valid);
    split_free(&ds->test_warm);
    split_free(&ds->test_cold);
    synth_params keep = ds->params;
    memset(ds, 0, sizeof *ds);
    ds->params = keep;
}
