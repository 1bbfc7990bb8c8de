/* report.h — convergence slopes per group (SPEC section 9).
 *
 * Records are grouped by method and every config key that varies across the file, except
 * n_obs, the replicate and the seeds. Inside a group, a replicate is the set of cells with one
 * replicate index and one data seed: they share the truth, the test set and the entities, so
 * their points are not independent. Each replicate with at least REPORT_MIN_LEVELS distinct
 * n_obs values gets its own least-squares slope of log(error) on log(n_obs) (failed cells left
 * out and counted); the group's slope is the mean of its R replicate slopes and its 95% CI is
 * mean +- t(0.975, R - 1) sd / sqrt(R) (the replicate slopes are independent; the spread of the
 * replicate slopes carries both the per-point noise and each replicate's own slope). The same
 * for error / log^2(n_obs). The theory slope is -2 beta / (2 beta + max(d_u, d_i)).
 *
 * Statuses (only "fitted" and "one replicate" carry a slope; "one replicate" has no CI):
 *   "no n_obs axis"        n_obs does not vary in the file;
 *   "no cold predictions"  a method without covariates (mf, baseline, autorec) on a test_cold
 *                          metric: it cannot score unseen users/items (it predicts the mean);
 *   "too few points"       fewer than REPORT_MIN_LEVELS n_obs levels, or no replicate with that
 *                          many levels;
 *   "budget-limited"       some cell stopped at its epoch/step cap while still improving
 *                          (stopped_by = "cap"): the curve measures the budget, not the rate;
 *   "not yet learning"     the error at the largest n_obs is >= 0.9 of the `baseline` method's
 *                          error at the same data (or of Var R* = 1 without a baseline, and
 *                          for the baseline itself): excess-risk metrics only.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdint.h>
#include <stdio.h>
#include "record.h"

#define REPORT_MIN_LEVELS 3
#define REPORT_MIN_POINTS 3

/* Local slopes (`report --local`): the same per-replicate fit over a window of `window`
 * consecutive n_obs levels of the group, slid one level at a time. A replicate enters a
 * window when it has a point at every level of it; the window's slope is the mean of those
 * replicate slopes with the t(R - 1) interval, as for the group. Status per window: "fitted",
 * "one replicate", "too few points" (no replicate with every level), "budget-limited" (a cell
 * of the window stopped at the cap), "not yet learning" (excess risk at the window's largest
 * n >= 0.9 of the baseline's there, or of 1), or the group's own status when that excludes
 * any slope ("no n_obs axis", "no cold predictions"). slope_log2 is the slope of
 * log(error / ln^2 n): the theory's log^2 n factor removed. */
typedef struct {
    int l0, l1;                 /* first and last level (indices into lev_n) */
    double n_lo, n_hi, n_mid;   /* n at l0 and l1; n_mid = sqrt(n_lo n_hi) */
    int n_replicates, n_capped;
    double slope, lo, hi;
    double slope_log2, lo_log2, hi_log2;
    const char *status;
} report_window;

#define REPORT_DEFAULT_WINDOW 3

/* One usable point of a group (internal to report.c and report_local.c). */
typedef struct {
    int replicate;
    uint64_t data_seed;
    double x, y, y2;   /* log n, log err, log(err / log^2 n) */
    int capped;        /* the cell stopped at its epoch/step cap */
} report_point;

/* One replicate's own fit inside a group. */
typedef struct {
    int replicate;
    uint64_t data_seed;
    int n_points, n_levels;
    double slope, slope_log2;  /* NaN when the replicate has < REPORT_MIN_LEVELS levels */
} report_rep;

typedef struct {
    char *method;
    kvset keys;               /* the varying keys that define the group (full names) */
    char *label;              /* "twotower d_u=2 d_i=2" style */
    int n_points, n_levels, n_failed;
    int n_cells;              /* ok cells with a usable value of the metric */
    int n_capped;             /* ok cells with stopped_by = "cap" */
    int n_replicates;         /* replicates with a slope (the R of the CI) */
    int nrep;                 /* every replicate seen (with or without a slope) */
    report_rep *reps;         /* sorted by replicate index, then data seed */
    double slope, slope_lo, slope_hi, intercept;
    double slope_log2, slope_log2_lo, slope_log2_hi;
    double theory_slope;      /* NaN when d or beta is unknown */
    double err_at_max_n;      /* geometric mean error at the largest n_obs */
    const char *status;       /* see the top of this file */
    /* per-level summary, sorted by n: geometric mean of the error and the 95% t-interval of
     * the mean of log(error), mapped back (the scale of the fit) */
    int nlev;
    double *lev_n, *lev_mean, *lev_lo, *lev_hi;
    int *lev_count;
    int nwin;                 /* local slopes (report_build_local only; else 0) */
    report_window *win;
} report_group;

typedef struct {
    const char *metric;       /* e.g. excess_risk_cold */
    int ngroups;
    report_group *groups;
    int n_failed_total;
    int n_budget_limited;     /* groups with status "budget-limited" */
    char **varying;           /* names of the keys that vary (excluding n_obs): see grouping.h */
    int nvarying;
    int *rec_group;           /* per input record: its group */
    int window;               /* levels per local-slope window (0: none computed) */
} report;

/* Build the report of recs for one metric. 0 ok, -1 out of memory (out is then empty). */
int report_build(const cell_record *recs, int n, const char *metric, report *out);
/* The same, plus the local slopes over windows of `window` (>= 2) consecutive n_obs levels
 * in every group (report_window). 0 ok, -1 out of memory. */
int report_build_local(const cell_record *recs, int n, const char *metric, int window, report *out);
void report_free(report *r);
void report_print_local(FILE *f, const report *r);
void report_print_local_csv(FILE *f, const report *r);
void report_print(FILE *f, const report *r);
void report_print_csv(FILE *f, const report *r);
/* Does a group carry a slope (status "fitted" or "one replicate")? */
int report_has_slope(const report_group *g);

/* Is `metric` a metric of at least one record? 0 yes; -1 no, with msg listing the metrics the
 * records have (or saying they have none). */
int report_check_metric(const cell_record *recs, int n, const char *metric, char *msg, size_t msglen);

/* Failed cells, one line each: key, method, the config keys that vary in the file, replicate
 * and reason (text, or CSV when csv). 0, or -1 out of memory. */
int report_print_failed(FILE *f, const cell_record *recs, int n, int csv);

/* Pooled OLS (the former group fit, kept for comparison): y = a + b x with a 95% CI on b
 * (t quantile, n - 2 df, every point taken as independent). -1 if n < 3 or x constant. */
int report_fit(const double *x, const double *y, int n, double *a, double *b, double *lo, double *hi);
/* OLS slope (and intercept) only. -1 if n < 2 or x constant. */
int report_ols(const double *x, const double *y, int n, double *a, double *b);
/* Mean of v[0..n) and its 95% t-interval with n - 1 df. n = 1: lo = hi = NaN. -1 if n < 1. */
int report_mean_ci(const double *v, int n, double *mean, double *lo, double *hi);

/* Internal (report_local.c): the windows of group g from its points p[0..m) (sorted by
 * replicate, data seed, x; levels already summarised). 0, or -1 out of memory. */
int report_local_windows(report_group *g, const report_point *p, int m, int window);
/* The `baseline` group with the same data keys as g (NULL when none). */
const report_group *report_baseline_of(const report *r, const report_group *g);
/* Internal: the per-window learning check once the baseline groups are built. */
void report_local_learning(report *r);

/* ---- differences of slopes between two groups (report_diff.c) ----
 * `report --diff KEY=A,B`: every pair of groups (gA, gB) with KEY = A in gA and KEY = B in gB
 * that agree on every other varying key, except keys tied to KEY (keys whose value is the same
 * function of KEY's value in every group, e.g. the zipped item_intrinsic_dim when KEY is
 * user_intrinsic_dim). KEY is a config key (short or full name) or "method".
 * Difference slope(gA) - slope(gB) with a 95% CI:
 *   paired   when the two groups have the same replicates (replicate index and data seed):
 *            the per-replicate differences, mean +- t(R - 1) sd / sqrt(R);
 *   Welch    otherwise: sqrt(sA^2/RA + sB^2/RB) with Welch-Satterthwaite df. */
typedef struct {
    int a, b;                 /* group indices into the report */
    int paired, n_pairs;      /* paired: replicates matched; n_pairs: matched replicates */
    double diff, lo, hi, df;
    double diff_log2, lo_log2, hi_log2;
    char status[96];          /* "ok" or why there is no difference (e.g. "B: too few points") */
} report_diff_row;

typedef struct {
    char *key;                /* the full key name, or "method" */
    char *val_a, *val_b;
    int nrows;
    report_diff_row *rows;
} report_diff;

/* spec: "KEY=A,B". 0 ok; -1 bad spec / unknown key / no matching groups (msg says which);
 * -2 out of memory. */
int report_diff_build(const report *r, const char *spec, report_diff *out, char *msg, size_t msglen);
void report_diff_free(report_diff *d);
void report_diff_print(FILE *f, const report *r, const report_diff *d);
void report_diff_print_csv(FILE *f, const report *r, const report_diff *d);

#endif
