/* dataset.c — ownership helpers for ds_data (see dataset.h). */
#include "dataset.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>

static void take_split(synth_split *in, ds_split *out)
{
    out->n = in->n;
    out->user = in->user;
    out->item = in->item;
    out->rating = in->rating;
    out->oracle = in->oracle;
    out->time = in->time;
    memset(in, 0, sizeof *in);
}

void ds_from_synth(synth_dataset *s, ds_data *d)
{
    memset(d, 0, sizeof *d);
    d->n_users = s->n_users + s->n_cold_users;
    d->n_items = s->n_items + s->n_cold_items;
    d->n_warm_users = s->n_users;
    d->n_warm_items = s->n_items;
    d->user_dim = s->params.user_ambient_dim;
    d->item_dim = s->params.item_ambient_dim;
    d->user_x = s->user_x;
    d->item_x = s->item_x;
    s->user_x = s->item_x = NULL;
    take_split(&s->train, &d->train);
    take_split(&s->valid, &d->valid);
    take_split(&s->test_warm, &d->test_warm);
    take_split(&s->test_cold, &d->test_cold);
    d->synthetic = 1;
    d->truth = s->truth;
    s->truth = NULL;
    d->user_latent_dim = s->params.user_intrinsic_dim;
    d->item_latent_dim = s->params.item_intrinsic_dim;
    d->user_z = s->user_z;
    d->item_z = s->item_z;
    s->user_z = s->item_z = NULL;
    d->oracle_offset = s->oracle_offset;
    d->sampling = s->params.sampling;
    if (s->params.protocol == SYNTH_PROTOCOL_RANDOM && !(s->params.user_drift > 0))
        d->sampling_law = synth_observe_law_new(&s->params, s->n_users, s->n_items, d->truth,
                                                d->user_z, d->item_z);
}

int ds_observe_law(const ds_data *d, int32_t u, double *out)
{
    if (!d->sampling_law)
        return -1;
    return synth_sampler_user_law(d->sampling_law, u, out);
}

double ds_oracle(const ds_data *d, int32_t u, int32_t i)
{
    if (!d->truth)
        return NAN;
    return synth_truth_rating(d->truth, d->user_z + (size_t)u * d->user_latent_dim,
                              d->item_z + (size_t)i * d->item_latent_dim) + d->oracle_offset;
}

int ds_split_alloc(ds_split *s, long n, int with_oracle)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    size_t m = n > 0 ? (size_t)n : 1;
    s->user = malloc(m * sizeof *s->user);
    s->item = malloc(m * sizeof *s->item);
    s->rating = malloc(m * sizeof *s->rating);
    s->oracle = with_oracle ? malloc(m * sizeof *s->oracle) : NULL;
    if (!s->user || !s->item || !s->rating || (with_oracle && !s->oracle)) {
        ds_split_free(s);
        return -1;
    }
    return 0;
}

void ds_split_free(ds_split *s)
{
    free(s->user);
    free(s->item);
    free(s->rating);
    free(s->oracle);
    free(s->time);
    memset(s, 0, sizeof *s);
}

void ds_free(ds_data *d)
{
    synth_sampler_free(d->sampling_law);
    synth_truth_free(d->truth);
    free(d->user_z);
    free(d->item_z);
    free(d->user_x);
    free(d->item_x);
    ds_split_free(&d->train);
    ds_split_free(&d->valid);
    ds_split_free(&d->test_warm);
    ds_split_free(&d->test_cold);
    ds_split_free(&d->reveal);
    memset(d, 0, sizeof *d);
}
