/* h5out.h — the results store: HDF5 files of cell records (SPEC section 8,
 * docs/results-format.md), merging of shard files and the long CSV export (SPEC section 7).
 *
 * Crash safety: a results file is always written whole to "PATH.tmp.PID" in the same
 * directory and renamed over PATH, so a kill -9 at any moment leaves either the old or the
 * new file, both valid. To update a file: h5out_read, h5out_merge, h5out_write.
 */
#ifndef H5OUT_H
#define H5OUT_H

#include <stddef.h>
#include <stdio.h>
#include "record.h"

/* Files are written in schema 2 (adds stopped_by per cell and two /table columns); files of
 * schema 1 are still read (their cells read stopped_by ""). */
#define H5OUT_SCHEMA_VERSION 2
#define H5OUT_SCHEMA_OLDEST 1

/* The metric columns of the export and of /table, in order (SPEC sections 6 and 7). */
#define H5OUT_N_STD_METRICS 13
extern const char *const h5out_std_metrics[H5OUT_N_STD_METRICS];

/* Write n records (keys must be distinct) atomically to path. 0, or -1 with a message naming
 * the path; on failure nothing is left behind and an existing file at path is untouched. */
int h5out_write(const char *path, const cell_record *recs, int n, char *err, size_t errlen);
/* Read every record of a results file (sorted by key). 0, or -1 with a message naming the
 * file (missing, not HDF5, other schema version, missing objects), or -2 when memory ran out
 * (a runtime failure, not a bad file); *recs is then NULL. */
int h5out_read(const char *path, cell_record **recs, int *n, char *err, size_t errlen);
/* The same; trusted = 1 skips the child-process probe (for a file this run's own worker has just
 * written whole and renamed into place: the probe's fork costs more as the caller's memory grows). */
int h5out_read_opts(const char *path, int trusted, cell_record **recs, int *n, char *err,
                    size_t errlen);
void h5out_free_records(cell_record *recs, int n);

/* Merge copies of more[0..m) into the array *acc of *n records: a record whose key is new is
 * appended; one whose key exists replaces it when its provenance end_time (ISO 8601 UTC) is
 * not older (a tie goes to the record from more). 0, or -1 on allocation failure. */
int h5out_merge(cell_record **acc, int *n, const cell_record *more, int m);

/* One CSV row per cell, sorted by key, with a header line (docs/results-format.md):
 * the config keys, replicate, seed (training seed), data_seed, key, status, reason, the
 * metrics, then fit_seconds (only when include_timing), epochs_run, best_epoch, stopped_by.
 * 0, or -1 on a write or allocation error. */
int h5out_export_csv_opts(FILE *f, const cell_record *recs, int n, int include_timing);
int h5out_export_csv(FILE *f, const cell_record *recs, int n);   /* include_timing = 1 */
/* One CSV field: as is, or double-quoted (inner quotes doubled) when it holds a comma, a quote
 * or a line break; NULL writes an empty field. Shared with the report's CSV tables. */
void h5out_csv_field(FILE *f, const char *s);

#endif
