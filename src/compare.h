/* compare.h — paired comparisons of methods on the same data (`t2rec compare`).
 *
 * The statistics (no I/O):
 *   compare_paired    mean of paired differences with a 95% t-interval, the paired t-test
 *                     p-value (two-sided, n - 1 df) and the Wilcoxon signed-rank p-value
 *                     (two-sided; zero differences dropped, tied |d| get average ranks;
 *                     exact null distribution of W+ given the ranks for up to
 *                     COMPARE_WILCOXON_EXACT_MAX non-zero differences, else the normal
 *                     approximation with the tie-corrected variance and a continuity
 *                     correction of 0.5);
 *   compare_holm      Holm's step-down adjustment of a family of p-values.
 *
 * The tables (compare_build):
 *   A *block* is a set of cells that agree on every config key except the method, its
 *   method.* keys, data.fold and the experiment.* keys: the same data setting. Inside a block
 *   an *arm* is one method configuration (method plus its method.* values). A *unit* is one
 *   replicate index, data seed and fold: the cells of two arms in one unit were fitted on the
 *   same data, so their metric difference is one paired observation. For every two arms of a
 *   block: the differences arm A - arm B over the units both have (ok cells with a finite
 *   metric), paired t and Wilcoxon p-values, Holm-adjusted over the pairs of the block (each
 *   test separately). Units only one arm has are counted (n_only_a, n_only_b); a pair with no
 *   shared unit has status "unpaired (no shared data seed)".
 *   Slopes: when n_obs varies, the same for the per-replicate slopes of `t2rec report`
 *   (report.h): blocks are the report's groups without the method keys; the units are its
 *   replicates (replicate index and data seed).
 */
#ifndef COMPARE_H
#define COMPARE_H

#include <stdio.h>
#include "record.h"
#include "report.h"

#define COMPARE_WILCOXON_EXACT_MAX 50

typedef struct {
    int n;                 /* pairs */
    double mean, lo, hi;   /* mean difference and its 95% t-interval (NaN when n < 2) */
    double t, p_t;         /* paired t statistic and two-sided p (NaN when n < 2) */
    int n_nonzero;         /* non-zero differences (the Wilcoxon n) */
    double w_plus;         /* Wilcoxon W+: sum of the ranks of the positive differences */
    double p_w;            /* two-sided Wilcoxon p (1 when every difference is 0; NaN if n = 0) */
    int exact;             /* 1 when p_w comes from the exact null distribution */
} compare_stats;

/* Statistics of the paired differences d[0..n). 0, or -1 out of memory. */
int compare_paired(const double *d, int n, compare_stats *out);
/* Two-sided paired t-test p-value of d[0..n) (n >= 2); *t gets the statistic. NaN if n < 2. */
double compare_t_p(const double *d, int n, double *t);
/* Two-sided Wilcoxon signed-rank p-value of d[0..n); *w_plus, *n_nonzero and *exact as in
 * compare_stats (any may be NULL). -1 when out of memory (*p untouched), else 0. */
int compare_wilcoxon(const double *d, int n, double *p, double *w_plus, int *n_nonzero, int *exact);
/* Holm adjustment: adj[k] for p[k], k < n; NaN entries are not counted in the family and
 * stay NaN. adj may alias p. 0, or -1 out of memory. */
int compare_holm(const double *p, int n, double *adj);

typedef struct {
    int block;             /* index into compare_table.block_label */
    char *label_a, *label_b;
    int n_only_a, n_only_b;        /* units one arm has and the other has not */
    double mean_a, mean_b;         /* means of the arms over the paired units */
    compare_stats s;
    double p_t_holm, p_w_holm;
    char status[64];       /* "ok", "one pair", "unpaired (no shared data seed)" ... */
} compare_row;

typedef struct {
    const char *what;      /* metric name, or "slope" */
    int nblocks;
    char **block_label;    /* the keys that define the block: "n_obs=4096 d_u=2" ("all") */
    int nrows;
    compare_row *rows;
} compare_table;

/* The paired comparisons of the metric over recs. 0; -1 out of memory. */
int compare_build(const cell_record *recs, int n, const char *metric, compare_table *out);
/* The paired comparisons of the per-replicate slopes of report r (built from the same
 * records): 0; -1 out of memory. An empty table when no group has replicate slopes. */
int compare_build_slopes(const report *r, compare_table *out);
void compare_free(compare_table *t);
void compare_print(FILE *f, const compare_table *t);
/* CSV; header when header != 0. Columns: see `t2rec compare --help`. */
void compare_print_csv(FILE *f, const compare_table *t, int header);

#endif
