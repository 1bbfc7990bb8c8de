/* sweep.h — the sweep driver behind `t2rec run`: cell selection (shards, resume, --force,
 * --retry-failed), worker processes, and crash-safe updates of the results file.
 *
 * Crash safety: the results file is only ever replaced whole by an atomic rename (h5out_write),
 * after every finished cell. With -j N > 1, workers write each finished cell to its own file
 * in OUT.cells/ (also atomically) and the coordinator folds it into OUT; a rerun folds in any
 * cell files a killed coordinator left behind. So a kill -9 loses at most the cells in flight.
 */
#ifndef SWEEP_H
#define SWEEP_H

#include <stddef.h>

typedef struct {
    const char *config_path;
    const char *output;        /* NULL: [experiment] output (or its shard name) */
    int jobs;                  /* worker processes (-j), >= 1 */
    int shard_i, shard_n;      /* run cells with index % shard_n == shard_i; 0/1 = all */
    int force;                 /* rerun cells that already have a record */
    int retry_failed;          /* rerun cells whose record says failed */
    int dry_run;               /* list the cells, run nothing */
    int threads;               /* BLAS threads per worker; 0 = auto */
    int progress;              /* -1 auto (tty), 0 never, 1 always */
} sweep_opts;

/* Returns the exit status: 0 done (failed cells are recorded results, not errors),
 * 1 runtime failure, 2 bad input (config, output path, results file). */
int sweep_run(const sweep_opts *o);

/* The shard file name for OUT: results/x.h5 -> results/x.shard-I-of-N.h5 (I 0-based). */
void sweep_shard_path(const char *out, int i, int n, char *buf, size_t len);

#endif
