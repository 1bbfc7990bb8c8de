/* cellrun.h — run one cell of a sweep: build its data, fit its method, measure, fill a record.
 * A cell that fails (data cannot be generated, the fit diverges, predictions are not finite)
 * gives a record with status "failed" and the reason; only allocation failures return -1. */
#ifndef CELLRUN_H
#define CELLRUN_H

#include "config.h"
#include "dataset.h"
#include "record.h"

/* Keeps the last dataset so that consecutive cells on the same data do not regenerate it. */
typedef struct {
    char *data_key;   /* canonical text of the data keys + data seed */
    ds_data data;
    int have;
} cellrun_cache;

void cellrun_cache_init(cellrun_cache *c);
void cellrun_cache_free(cellrun_cache *c);

/* The canonical text of a cell's data (every data key plus the data seed; malloc'd, NULL when
 * out of memory): cells with equal texts run on the same dataset. */
char *cellrun_data_identity(const cfg_cell *cell);

/* Build the dataset of a cell (synthetic, movielens100k or tsv). 0 ok; -1 with err. */
int cellrun_load_data(const cfg *c, const cfg_cell *cell, ds_data *d, char *err, size_t errlen);

/* Run the cell and fill rec (record_init'ed by the caller). threads = BLAS threads in use. */
int cellrun_run(const cfg *c, const cfg_cell *cell, cellrun_cache *cache, int threads,
                cell_record *rec);

#endif
