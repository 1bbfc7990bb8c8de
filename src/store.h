/* store.h — the results store of a running sweep: the results file OUT plus one staged cell file
 * per finished cell in OUT.cells/, consolidated into OUT now and then (docs/results-format.md,
 * "How a sweep stores its cells").
 *
 * Cost per cell does not grow with the sweep: a finished cell is written to its own small file
 * (OUT.cells/KEY.h5, written whole and renamed into place, like every results file), and OUT is
 * rewritten only when the staged cells are as many as the cells already in OUT (so all rewrites
 * together write at most 3x the final number of cells: constant per cell), when the file is older than
 * STORE_MAX_LAG seconds (but at most 1/STORE_MAX_OVERHEAD of the wall time goes to this), and at
 * the end. Lookups by key go through a hash index. A kill -9 at any moment leaves OUT (always a
 * complete file) and complete staged files; the next store_open folds them in.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include "keyindex.h"
#include "record.h"

/* Defaults of the consolidation policy (one place). */
#define STORE_MIN_BATCH 64          /* never rewrite OUT for fewer staged cells (except at end) */
#define STORE_MAX_LAG 60.0          /* seconds: OUT lags the staged cells at most this long ... */
#define STORE_MAX_OVERHEAD 10.0     /* ... unless rewriting would take more than 1/10 of the time */

typedef struct {
    char *path;              /* the results file */
    char *staging;           /* PATH.cells: staged cell files */
    cell_record *recs;       /* every record (file + staged), newest per key */
    int n, cap;
    keyindex ix;
    char (*staged)[17];      /* keys whose staged file is not yet in the results file */
    int nstaged, capstaged;
    int in_file;             /* records in the results file as last written */
    int file_current;        /* the results file holds exactly recs */
    int min_batch;           /* policy (defaults above; a bench may change them) */
    double max_lag, max_overhead;
    double last_flush, flush_cost;   /* monotonic time of the last rewrite, seconds it took */
    double seconds;          /* total seconds spent in store_put/take/flush */
    int flushes;
    int ignored;             /* staged files store_open could not read (left in place) */
    char note[1024];         /* the first such file and why */
} store;

/* Open the store of path: read path when it exists, then fold in the staged cell files an
 * interrupted run left in PATH.cells (*folded = how many). Nothing is written. 0; -1 with err
 * (the results file cannot be read: bad input); -2 with err (out of memory). */
int store_open(store *s, const char *path, int *folded, char *err, size_t errlen);
void store_close(store *s);       /* frees everything; writes nothing */

const cell_record *store_find(const store *s, const char *key);

/* The staged file of key: PATH.cells/KEY.h5 (buf of at least strlen(path) + 32). */
void store_staged_path(const store *s, const char *key, char *buf, size_t len);
/* Make PATH.cells (0, or -1 with err naming it and the errno text). */
int store_make_staging(store *s, char *err, size_t errlen);

/* Store a finished cell: write its staged file, take it in, rewrite the results file when due.
 * 0 stored; -1 not stored (err: the write failed); -2 stored in its staged file but the due
 * rewrite of the results file failed (err). */
int store_put(store *s, const cell_record *r, char *err, size_t errlen);
/* Take in the staged file of key that a worker of this run wrote; same returns as store_put.
 * *rec (may be NULL) points at the stored record afterwards. */
int store_take(store *s, const char *key, const cell_record **rec, char *err, size_t errlen);
/* Rewrite the results file now when it differs from memory (or force), then remove the
 * staged files it now holds. 0, or -1 with err (the file and the staged files are unchanged). */
int store_flush(store *s, int force, char *err, size_t errlen);
/* Remove temporary files of writers that are gone (PATH.tmp.PID, PATH.cells/ *.tmp.PID with PID
 * not running) and, when it is empty, PATH.cells itself. Call while holding the output lock. */
void store_cleanup(store *s);

#endif
