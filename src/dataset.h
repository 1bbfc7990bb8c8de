/* dataset.h — the in-memory dataset every estimator and metric works on (synthetic or real).
 *
 * Entity tables are row-major covariate matrices. Splits are lists of (user, item) pairs with
 * the observed rating and, for synthetic data, the oracle R* (NULL for real data).
 * Synthetic data: training entities first, then cold entities (see synth/synth.h).
 * Real data: `test_warm` holds the fold's test file; `test_cold` holds pairs of users that
 * never appear in training (split = cold_users), otherwise it is empty.
 */
#ifndef DATASET_H
#define DATASET_H

#include <stdint.h>
#include <stddef.h>
#include "synth.h"

typedef struct {
    long n;
    int32_t *user, *item;
    double *rating;
    double *oracle;          /* NULL when the truth is unknown (real data) */
    double *time;            /* interaction time of each pair (seconds or generator time units;
                                NULL when the data have none); freed by ds_split_free */
} ds_split;

typedef struct {
    int n_users, n_items;    /* rows of the entity tables (all entities, train + cold) */
    int user_dim, item_dim;  /* covariate columns (may be 0) */
    double *user_x, *item_x; /* n_users x user_dim, n_items x item_dim (NULL when dim = 0) */
    ds_split train, valid, test_warm, test_cold;
    ds_split reveal;         /* k-shot protocol (kshot.h): the revealed (earliest) pairs of the
                                fresh users whose other pairs are in test_cold; empty (n = 0)
                                without data key kshot */
    int synthetic;           /* 1: oracle values present, truth below is set */
    /* synthetic only: the truth, for oracle values of arbitrary pairs (ds_oracle) */
    synth_truth *truth;
    int user_latent_dim, item_latent_dim;
    double *user_z, *item_z;
    double oracle_offset;
    synth_sampling sampling;         /* synthetic: the [data] sampling law */
    synth_sampler *sampling_law;     /* synthetic, protocol random, no user drift: the true
                                        per-user observation law over the training items
                                        (synth_sampler_user_law; owned, borrows truth / z);
                                        NULL otherwise (or when memory ran out) */
    int n_warm_users, n_warm_items;  /* synthetic: the training population (rows 0..n-1; the
                                        cold rows follow); 0 for real data */
    double rating_min, rating_max;   /* real data: rating scale (for clipping); 0,0 = none */
    double relevance_threshold;      /* real data: a rating >= this is relevant (ranking
                                        metrics; data key relevance_threshold) */
    double pop_gamma;                /* pop_* metrics: weight pop(i)^-pop_gamma (data key) */
} ds_data;

/* Move a synthetic dataset into a ds_data (takes ownership of its arrays; *s is emptied). */
void ds_from_synth(synth_dataset *s, ds_data *d);
void ds_free(ds_data *d);
/* R*(u, i) + offset for any pair of a synthetic dataset (NaN for real data). */
double ds_oracle(const ds_data *d, int32_t u, int32_t i);
/* Synthetic data with a known sampling law: out[n_warm_items] = P(a training draw of user u
 * picks item i) (synth_sampler_user_law); -1 when the law is not known (real data, drift,
 * protocol other than random) or u is not a training user. */
int ds_observe_law(const ds_data *d, int32_t u, double *out);
int ds_split_alloc(ds_split *s, long n, int with_oracle);
void ds_split_free(ds_split *s);

#endif
