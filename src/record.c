/* record.c — life cycle of a cell_record (init, free, deep copy); see record.h. */
#include "record.h"
#include <stdlib.h>
#include <string.h>

void record_init(cell_record *r)
{
    memset(r, 0, sizeof *r);
    kv_init(&r->config);
    kv_init(&r->provenance);
    metrics_init(&r->metrics);
    est_curves_init(&r->curves);
}

void record_free(cell_record *r)
{
    kv_free(&r->config);
    kv_free(&r->provenance);
    free(r->reason);
    est_curves_free(&r->curves);
    metrics_free(&r->metrics);   /* per-user values */
    record_init(r);
}

int record_set_reason(cell_record *r, const char *reason)
{
    char *s = strdup(reason ? reason : "");
    if (!s)
        return -1;
    free(r->reason);
    r->reason = s;
    return 0;
}

int record_copy(cell_record *dst, const cell_record *src)
{
    record_init(dst);
    memcpy(dst->key, src->key, sizeof dst->key);
    dst->replicate = src->replicate;
    dst->data_seed = src->data_seed;
    dst->train_seed = src->train_seed;
    memcpy(dst->status, src->status, sizeof dst->status);
    if (metrics_copy(&dst->metrics, &src->metrics) != 0)   /* deep: per-user values */
        goto fail;
    dst->fit_seconds = src->fit_seconds;
    dst->epochs_run = src->epochs_run;
    if (kv_copy(&dst->config, &src->config) != 0 || kv_copy(&dst->provenance, &src->provenance) != 0 ||
        record_set_reason(dst, src->reason) != 0)
        goto fail;
    for (int k = 0; k < src->curves.n; k++)
        if (est_curves_push(&dst->curves, src->curves.train_loss[k], src->curves.valid_rmse[k],
                            src->curves.test_excess[k], src->curves.wall_seconds[k]) != 0)
            goto fail;
    dst->curves.epochs_run = src->curves.epochs_run;
    dst->curves.best_epoch = src->curves.best_epoch;
    dst->curves.n_fallback = src->curves.n_fallback;
    memcpy(dst->curves.note, src->curves.note, sizeof dst->curves.note);
    memcpy(dst->curves.stopped_by, src->curves.stopped_by, sizeof dst->curves.stopped_by);
    return 0;
fail:
    record_free(dst);
    return -1;
}
