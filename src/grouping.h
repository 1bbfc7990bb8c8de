/* grouping.h — split cell records into groups for reports and plots.
 *
 * Two records are in the same group when they have the same method and agree on every config
 * key except the ignored ones (e.g. data.n_obs for slopes; data.fold for fold averages;
 * the experiment.* keys always). Groups are sorted by method, then by the values of the keys
 * that vary (numerically where both values are numbers). Labels name the method and the keys
 * that vary: data keys that vary across the file, method keys that vary within the method.
 *
 * Selecting cells before grouping (`--where KEY=VALUE` of report, plot and export):
 * grouping_where keeps the records that match every condition. KEY is a full config key
 * (data.n_obs, method.depth, method, experiment.description), its short name when only one
 * config key of the file has it (n_obs, depth), or one of the record fields key (the cell key),
 * status (ok | failed) and replicate. VALUE matches as text or, when both are numbers, by value
 * (n_obs=1024 matches 1024.0). Conditions on the same key are alternatives (method=mf
 * --where method=twotower: either), conditions on different keys must all hold.
 */
#ifndef GROUPING_H
#define GROUPING_H

#include "record.h"

typedef struct {
    int ngroups;
    int *gid;            /* per record: its group */
    int *first;          /* per group: one record of it (the first in file order) */
    char **label;        /* per group: "twotower d_u=2 ..." */
    char **keys;         /* display keys (full names, e.g. data.user_intrinsic_dim), in order */
    int nkeys;
} grouping;

/* ignore: NULL-terminated list of full key names to leave out (besides experiment.*).
 * 0, or -1 out of memory (call grouping_free either way). */
int grouping_build(const cell_record *recs, int n, const char *const *ignore, grouping *g);
void grouping_free(grouping *g);
/* The short name of a key for labels and CSV headers ("data.beta" -> "beta"). */
const char *grouping_short(const char *key);

/* Keep in recs[0..*n) the records matching conds[0..nconds) ("KEY=VALUE" each), in their
 * order; the others are freed and *n is the number kept. 0; -1 with a message in err (a
 * condition without '=', a key no record has, an ambiguous short name, or no record matching:
 * the message lists the values the key takes), recs then unchanged; -2 out of memory. */
int grouping_where(cell_record *recs, int *n, const char *const *conds, int nconds, char *err,
                   size_t errlen);

#endif
