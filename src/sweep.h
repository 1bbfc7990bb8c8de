/* sweep.h — the sweep driver behind `t2rec run`: cell selection (shards, resume, --force,
 * --retry-failed), the output lock, worker processes, the results store, exit status.
 *
 * Crash safety: every cell runs in a worker process, which writes the cell's record to its own
 * staged file OUT.cells/KEY.h5 (written whole and renamed into place); the coordinator takes it
 * into the store (src/store.h), which rewrites OUT (again whole, by an atomic rename) now and
 * then and at the end. A rerun folds in any staged files a killed run left behind. So a kill -9
 * loses at most the cells in flight, and OUT always opens.
 */
#ifndef SWEEP_H
#define SWEEP_H

#include <stddef.h>

typedef struct {
    const char *config_path;
    const char *output;        /* NULL: [experiment] output (or its shard name) */
    int jobs;                  /* worker processes (-j), >= 1 */
    int shard_i, shard_n;      /* run cells with index % shard_n == shard_i; 0/1 = all */
    int balance;               /* with shard_n > 1: shard_i's cells of shard_assign (src/shard.h,
                                  balanced by expected cost) instead of index % shard_n */
    int force;                 /* rerun cells that already have a record */
    int retry_failed;          /* rerun cells whose record says failed */
    int dry_run;               /* list the cells, run nothing */
    int threads;               /* BLAS threads per worker; 0 = auto */
    int progress;              /* -1 auto (tty), 0 never, 1 always */
    int wait;                  /* another run holds the output: wait for it (else exit 2) */
} sweep_opts;

/* Exit statuses of `t2rec run` (documented in `t2rec run --help`). */
enum {
    SWEEP_OK = 0,              /* every selected cell is stored and ok */
    SWEEP_RUNTIME = 1,         /* a cell could not be stored (disk full, ...), workers died, ... */
    SWEEP_BAD_INPUT = 2,       /* config, output path, unreadable results file, output in use */
    SWEEP_CELLS_FAILED = 3,    /* done, but some selected cells failed (or are missing) */
    SWEEP_INTERRUPTED = 130    /* SIGINT / SIGTERM: stored cells kept, rerun to resume */
};

/* Returns one of the statuses above. */
int sweep_run(const sweep_opts *o);

/* The shard file name for OUT: results/x.h5 -> results/x.shard-I-of-N.h5 (I 0-based). */
void sweep_shard_path(const char *out, int i, int n, char *buf, size_t len);

#endif
