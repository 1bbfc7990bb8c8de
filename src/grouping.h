/* grouping.h — split cell records into groups for reports and plots.
 *
 * Two records are in the same group when they have the same method and agree on every config
 * key except the ignored ones (e.g. data.n_obs for slopes; data.fold for fold averages;
 * the experiment.* keys always). Groups are sorted by method, then by the values of the keys
 * that vary (numerically where both values are numbers). Labels name the method and the keys
 * that vary: data keys that vary across the file, method keys that vary within the method.
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

#endif
