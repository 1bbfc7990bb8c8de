/* record.h — one cell's result as stored in the results file (SPEC section 8). */
#ifndef RECORD_H
#define RECORD_H

#include <stdint.h>
#include "params.h"
#include "estimator.h"
#include "metrics.h"

typedef struct {
    char key[17];            /* 16 hex digits: hash of the canonical resolved config + replicate */
    int replicate;
    uint64_t data_seed, train_seed;
    kvset config;            /* full resolved config: "experiment.name", "data.n_obs", ...,
                                "method" (the method name), "method.depth", ... */
    char status[8];          /* "ok" or "failed" */
    char *reason;            /* failure reason ("" when ok; NULL is read as "") */
    metric_set metrics;
    double fit_seconds;
    int epochs_run;
    est_curves curves;       /* per-epoch train loss, valid RMSE, test excess risk, wall time */
    kvset provenance;        /* code_version, code_dirty, compiler, blas_core, blas_threads,
                                host, start_time, end_time, t2rec_schema ... */
} cell_record;

void record_init(cell_record *r);
void record_free(cell_record *r);     /* frees everything and leaves r initialised (empty) */
/* Deep copy: dst is overwritten (not freed first; pass an initialised or garbage record).
 * 0, or -1 on allocation failure (dst is then left initialised and empty). */
int record_copy(cell_record *dst, const cell_record *src);
/* Replace the reason text (copied); 0 or -1 on allocation failure. */
int record_set_reason(cell_record *r, const char *reason);

#endif
