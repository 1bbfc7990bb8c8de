/* report.h — convergence slopes per group (SPEC section 9).
 *
 * Records are grouped by method and every config key that varies across the file, except
 * n_obs, the replicate and the seeds. In each group, log(error) is fitted on log(n_obs) by
 * least squares over the replicate-level points (failed cells left out and counted), with a
 * 95% t-interval for the slope; the same for error / log^2(n_obs). The theory slope is
 * -2 beta / (2 beta + max(d_u, d_i)). A group with fewer than REPORT_MIN_LEVELS distinct
 * n_obs values or REPORT_MIN_POINTS points is reported as "too few points", and a group whose
 * error at its largest n_obs is still at the level of predicting without learning (>= 0.9 of
 * the `baseline` method's error at the same data, or of Var R* = 1 without a baseline) as
 * "not yet learning": neither is fitted.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>
#include "record.h"

#define REPORT_MIN_LEVELS 3
#define REPORT_MIN_POINTS 3

typedef struct {
    char *method;
    kvset keys;               /* the varying keys that define the group (bare names) */
    char *label;              /* "twotower d_u=2 d_i=2" style */
    int n_points, n_levels, n_failed;
    int n_replicates;         /* max points at one n_obs */
    double slope, slope_lo, slope_hi, intercept;
    double slope_log2, slope_log2_lo, slope_log2_hi;
    double theory_slope;      /* NaN when d or beta is unknown */
    double err_at_max_n;      /* mean error at the largest n_obs */
    const char *status;       /* "fitted", "too few points", "not yet learning", "no n_obs axis" */
    /* per-level summary, sorted by n: geometric mean of the error and the 95% t-interval of
     * the mean of log(error), mapped back (the scale of the fit) */
    int nlev;
    double *lev_n, *lev_mean, *lev_lo, *lev_hi;
    int *lev_count;
} report_group;

typedef struct {
    const char *metric;       /* e.g. excess_risk_cold */
    int ngroups;
    report_group *groups;
    int n_failed_total;
    char **varying;           /* names of the keys that vary (excluding n_obs): see grouping.h */
    int nvarying;
    int *rec_group;           /* per input record: its group */
} report;

/* Build the report of recs for one metric. 0 ok, -1 out of memory. */
int report_build(const cell_record *recs, int n, const char *metric, report *out);
void report_free(report *r);
void report_print(FILE *f, const report *r);
void report_print_csv(FILE *f, const report *r);
/* Fit y = a + b x with a 95% CI on b (t quantile, n - 2 df). -1 if n < 3 or x constant. */
int report_fit(const double *x, const double *y, int n, double *a, double *b, double *lo, double *hi);

#endif
