/* estimator.h — the one interface every method implements (SPEC section 5).
 *
 * liblinear style: a method checks its parameters (returning a message, never exiting),
 * trains a model on the train split (early stopping on valid where it has epochs), and
 * predicts any list of pairs. The CLI and the sweep driver only dispatch through this table.
 * Methods: twotower, baseline, oracle (and mf, autorec). New ones are added to est_methods[]
 * in estimator.c.
 */
#ifndef ESTIMATOR_H
#define ESTIMATOR_H

#include <stdint.h>
#include "dataset.h"
#include "params.h"

struct metric_set;   /* metrics.h */

/* Per-epoch curves and notes a fit leaves for the results file. */
typedef struct {
    int n, cap;
    double *train_loss;      /* mean training loss of the epoch */
    double *valid_rmse;      /* RMSE on the valid split after the epoch */
    double *test_excess;     /* excess risk on test_cold after the epoch (NaN for real data) */
    double *wall_seconds;    /* seconds since the fit started */
    int epochs_run;
    int best_epoch;          /* epoch whose weights were kept (early stopping), 1-based; 0 = n/a */
    char stopped_by[16];     /* why the fit ended: "patience" (early stopping ended it),
                                "cap" (the epoch/step budget ended it while the valid error
                                was still improving within the patience window), "diverged"
                                (non-finite loss), "" for methods without epochs */
    long n_fallback;         /* predictions that fell back to biases/mean (unseen entities) */
    char note[256];          /* free text for the results file */
} est_curves;

void est_curves_init(est_curves *c);
void est_curves_free(est_curves *c);
int est_curves_push(est_curves *c, double train_loss, double valid_rmse, double test_excess,
                    double wall_seconds);

/* Early stopping on the valid RMSE, shared by the epoch-based methods: an epoch improves when
 * its valid RMSE is below the best so far minus min_delta; `patience` epochs without an
 * improvement stop the fit (0 = never). Without a valid split every epoch is the best. */
typedef struct {
    int patience, have_valid;
    double min_delta, best_rmse;
    int best_epoch, since;
} est_early;

enum { EST_EARLY_GO = 0, EST_EARLY_BEST = 1, EST_EARLY_STOP = 2, EST_EARLY_NONFINITE = -1 };

void est_early_init(est_early *e, int patience, double min_delta, int have_valid);
/* After epoch `epoch` with valid RMSE vr: EST_EARLY_BEST (a new best with a valid split: keep
 * the weights), EST_EARLY_GO, EST_EARLY_STOP (patience used up) or EST_EARLY_NONFINITE (err
 * says "non-finite loss at epoch K (valid RMSE)"). */
int est_early_step(est_early *e, int epoch, double vr, char *err, size_t errlen);

/* The sizes of a dataset as far as they are known at config load time (0 = unknown), for
 * est_method.memory_bytes. */
typedef struct {
    long n_train;
    int n_users, n_items, user_dim, item_dim;
} est_shape;

/* What a fit gets. */
typedef struct {
    const ds_data *data;
    const kvset *params;     /* this method's resolved keys, defaults filled (no "method." prefix) */
    uint64_t seed;           /* training seed (initialisation, shuffling) */
    int threads;             /* BLAS threads in use (informational) */
    est_curves *curves;      /* to fill; never NULL */
    char *err;               /* message on failure, e.g. "non-finite loss at epoch 7" */
    size_t errlen;
} est_fit_ctx;

typedef struct {
    const char *name;
    const param_spec *params;       /* accepted keys of [method.NAME] */
    const param_condition *conditions; /* optional: keys that act only under another key's value */
    int cold_capable;               /* 1: can score users/items never seen in training */
    int needs_truth;                /* 1: only on synthetic data (oracle) */
    int needs_covariates;           /* 1: needs user and item covariates (refused at load time
                                       on a TSV without feature files) */
    /* NULL if the parameters are valid, else a message; *bad_key names the key. */
    const char *(*check_parameter)(const kvset *params, const char **bad_key);
    /* Returns the model, or NULL with ctx->err filled (a failed cell, not a crash). */
    void *(*train)(const est_fit_ctx *ctx);
    /* out[k] = prediction for (u[k], i[k]); u, i are rows of d's entity tables. A method that
     * clips to the rating scale clips to [d->rating_min, d->rating_max] of the d given, and not
     * at all when rating_max <= rating_min: ranking metrics (metrics_catalog.c) pass such a d,
     * since clipping ties every item scored above the scale's top and the tie-break by item id
     * would then decide the top 10. */
    void (*predict)(const void *model, const ds_data *d, long n, const int32_t *u,
                    const int32_t *i, double *out);
    void (*free_model)(void *model);
    /* Optional: the model as an inner-product scorer, for retrieval and embedding compression.
     * Writes to out (n x dim floats, row-major) the vectors of the entity rows ids[0..n) of one
     * side (0 = users, 1 = items), such that <user vector, item vector> equals predict() before
     * any clipping to the rating scale, fallbacks for unseen entities included. Returns dim
     * (> 0; out may be NULL to ask for dim only), or -1 when memory ran out. NULL: the method
     * is not an inner-product model. */
    /* Optional: metrics only this method can compute (a pipeline's stage-wise recall, a
     * compressor's recall against dense retrieval, ...), added to the cell's metrics after the
     * standard ones (metrics_evaluate). Names are static strings, distinct from the standard
     * names. 0, or -1 when memory ran out. NULL: none. */
    int (*extra_metrics)(const void *model, const ds_data *d, struct metric_set *out);
    int (*vectors)(const void *model, const ds_data *d, int side, long n, const int32_t *ids,
                   float *out);
    /* Optional: bytes a fit with these (valid) parameters needs on data of this shape, within a
     * small factor, so that absurd sizes are refused at load time. NULL: negligible. */
    double (*memory_bytes)(const kvset *params, const est_shape *shape);
} est_method;

extern const est_method *const est_methods[];     /* NULL-terminated */
const est_method *est_find(const char *name);

#endif
