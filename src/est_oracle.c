/* est_oracle.c — the `oracle` method: predicts the true rating R*(u, i) (+ the dataset's oracle
 * offset) through ds_oracle. Synthetic data only; it is the calibration line (excess risk 0)
 * of every plot. No parameters, nothing is learned.
 */
#include "estimator.h"
#include <stdio.h>
#include <stdlib.h>

static const param_spec oracle_params[] = {
    { NULL, 0, NULL, 0, 0, NULL, NULL },
};

typedef struct {
    int unused;
} oracle_model;

/* No parameters: the struct exists so that oracle follows the X_param / X_parse pattern of
 * every method (a key given to it is refused by the config check against the empty table). */
typedef struct {
    int none;
} oracle_param;

static const char *oracle_parse(const kvset *kv, oracle_param *p, const char **bad_key)
{
    p->none = 0;
    return param_check_table(oracle_params, kv, bad_key);
}

static const char *oracle_check(const kvset *params, const char **bad_key)
{
    oracle_param p;
    return oracle_parse(params, &p, bad_key);
}

static void *oracle_train(const est_fit_ctx *ctx)
{
    const ds_data *d = ctx->data;
    oracle_param par;
    const char *bad = NULL, *msg = oracle_parse(ctx->params, &par, &bad);
    if (msg) {
        snprintf(ctx->err, ctx->errlen, "oracle: %s: %s", bad ? bad : "?", msg);
        return NULL;
    }
    if (!d->synthetic || !d->truth) {
        snprintf(ctx->err, ctx->errlen, "oracle needs synthetic data");
        return NULL;
    }
    oracle_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(ctx->err, ctx->errlen, "oracle: out of memory");
        return NULL;
    }
    ctx->curves->epochs_run = 0;
    ctx->curves->best_epoch = 0;
    snprintf(ctx->curves->note, sizeof ctx->curves->note, "oracle: predicts R* (nothing fitted)");
    return m;
}

static void oracle_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                           const int32_t *i, double *out)
{
    (void)model;
    for (long k = 0; k < n; k++)
        out[k] = ds_oracle(d, u[k], i[k]);
}

static void oracle_free(void *model)
{
    free(model);
}

const est_method est_oracle = {
    .name = "oracle",
    .params = oracle_params,
    .cold_capable = 1,
    .needs_truth = 1,
    .check_parameter = oracle_check,
    .train = oracle_train,
    .predict = oracle_predict,
    .free_model = oracle_free,
};
