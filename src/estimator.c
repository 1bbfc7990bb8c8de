/* estimator.c — the method registry and the per-epoch curve buffer shared by all methods. */
#include "estimator.h"
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Each method defines its table in its own file (est_NAME.c). */
extern const est_method est_baseline, est_oracle, est_twotower, est_mf, est_autorec;
extern const est_method est_joint;
extern const est_method est_compress;
extern const est_method est_convae;
extern const est_method est_pipeline;
extern const est_method est_knn;
extern const est_method est_twotimescale;

const est_method *const est_methods[] = {
    &est_twotower, &est_baseline, &est_oracle, &est_mf, &est_autorec, &est_joint, &est_compress, &est_knn, &est_twotimescale, &est_pipeline, &est_convae, NULL,
};

const est_method *est_find(const char *name)
{
    for (int k = 0; est_methods[k]; k++)
        if (strcmp(est_methods[k]->name, name) == 0)
            return est_methods[k];
    return NULL;
}

void est_curves_init(est_curves *c)
{
    memset(c, 0, sizeof *c);
}

void est_curves_free(est_curves *c)
{
    free(c->train_loss);
    free(c->valid_rmse);
    free(c->test_excess);
    free(c->wall_seconds);
    memset(c, 0, sizeof *c);
}

static int grow(double **p, int cap)
{
    double *q = realloc(*p, (size_t)cap * sizeof *q);
    if (!q)
        return -1;
    *p = q;
    return 0;
}

int est_curves_push(est_curves *c, double train_loss, double valid_rmse, double test_excess,
                    double wall_seconds)
{
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        if (grow(&c->train_loss, cap) || grow(&c->valid_rmse, cap) || grow(&c->test_excess, cap) ||
            grow(&c->wall_seconds, cap))
            return -1;
        c->cap = cap;
    }
    c->train_loss[c->n] = train_loss;
    c->valid_rmse[c->n] = valid_rmse;
    c->test_excess[c->n] = test_excess;
    c->wall_seconds[c->n] = wall_seconds;
    c->n++;
    return 0;
}

void est_early_init(est_early *e, int patience, double min_delta, int have_valid)
{
    memset(e, 0, sizeof *e);
    e->patience = patience;
    e->min_delta = min_delta;
    e->have_valid = have_valid;
    e->best_rmse = INFINITY;
}

int est_early_step(est_early *e, int epoch, double vr, char *err, size_t errlen)
{
    if (!e->have_valid) {
        e->best_epoch = epoch;
        return EST_EARLY_GO;
    }
    if (!isfinite(vr)) {
        snprintf(err, errlen, "non-finite loss at epoch %d (valid RMSE)", epoch);
        return EST_EARLY_NONFINITE;
    }
    if (vr < e->best_rmse - e->min_delta) {
        e->best_rmse = vr;
        e->best_epoch = epoch;
        e->since = 0;
        return EST_EARLY_BEST;
    }
    if (e->patience > 0 && ++e->since >= e->patience)
        return EST_EARLY_STOP;
    return EST_EARLY_GO;
}
