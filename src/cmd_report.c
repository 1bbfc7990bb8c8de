/* cmd_report.c — `t2rec report RESULTS.h5 [--csv]`: slope tables with 95% CIs vs theory,
 * local slopes over windows of n_obs levels, differences of slopes, the table of mean metrics
 * per group, and the list of failed cells. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "grouping.h"
#include "h5out.h"
#include "report.h"
#include "summary.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: t2rec report RESULTS.h5 [--csv] [--metric NAME] [--diff KEY=A,B] [--means] [--failed]\n"
        "                    [--local [--window W]] [--where KEY=VALUE]...\n\n"
        "Per group (method and every config key that varies in the file, except n_obs and the\n"
        "replicate), fit log(error) = a + b log(n_obs) by least squares SEPARATELY FOR EACH\n"
        "REPLICATE (the cells of one replicate index and data seed share the truth, the test set\n"
        "and the entities, so their points are not independent). The group's slope is the mean of\n"
        "its R replicate slopes; its 95%% CI is mean +- t(0.975, R - 1) * sd / sqrt(R) over the\n"
        "replicate slopes (column R). The same for error / log^2(n_obs). Printed next to the\n"
        "theory slope -2 beta / (2 beta + d), d = max(d_u, d_i) (joint: d_u + d_i). A replicate needs 3 n_obs levels\n"
        "to get a slope; failed cells are left out and counted.\n\n"
        "Status (only 'fitted' and 'one replicate' print a slope; 'one replicate' has no CI):\n"
        "  fitted               slope and CI as above\n"
        "  one replicate        a single replicate has a slope: no CI\n"
        "  too few points       fewer than 3 n_obs levels, or no replicate with 3 levels\n"
        "  not yet learning     error at the largest n_obs >= 0.9 of the baseline method's (or of\n"
        "                       Var R* = 1): a line through a flat curve is no rate\n"
        "  budget-limited       some cell stopped at the epoch cap while still improving\n"
        "                       (stopped_by = cap; the count is shown): the curve measures the\n"
        "                       budget, not the estimator. Raise the budget and rerun.\n"
        "  no cold predictions  mf, baseline, autorec on a test_cold metric: they use no\n"
        "                       covariates and predict the mean for unseen users and items\n"
        "  no n_obs axis        n_obs does not vary in the file\n\n"
        "  --metric NAME   error to fit (default excess_risk_cold); a name no cell has exits 2\n"
        "                  and lists the metrics of the file\n"
        "  --csv           CSV output (slope table columns: method, the varying keys, metric,\n"
        "                  n_points, n_levels, n_replicates, n_failed, n_capped, slope,\n"
        "                  slope_ci_low, slope_ci_high, slope_log2, slope_log2_ci_low,\n"
        "                  slope_log2_ci_high, theory_slope, error_at_max_n, status)\n"
        "  --diff KEY=A,B  the difference slope(KEY=A) - slope(KEY=B) with a 95%% CI for every\n"
        "                  two groups that differ only in KEY (keys zipped with KEY move with it),\n"
        "                  e.g. --diff user_intrinsic_dim=2,4 or --diff method=twotower,mf.\n"
        "                  Paired when both groups have the same replicates (same replicate index\n"
        "                  and data seed, as cells of one experiment do): the mean and t(R - 1)\n"
        "                  interval of the per-replicate differences; otherwise Welch's interval.\n"
        "                  Only groups that print a slope with a CI get a difference.\n"
        "  --local         local slopes: the same per-replicate fit over every window of W\n"
        "                  consecutive n_obs levels (slid one level at a time), per group: n range\n"
        "                  and geometric centre, R (replicates with a point at every level of the\n"
        "                  window), mean slope with its t(R - 1) 95%% CI, the same for error /\n"
        "                  ln^2(n) (slope/l2: the theory's log^2 factor removed), the theory slope\n"
        "                  and a status per window (budget-limited and not yet learning are judged\n"
        "                  per window: a group flat at small n may learn in its last windows).\n"
        "                  Does the slope approach the theory as n grows? `t2rec plot --local`\n"
        "                  draws it. CSV columns: method, the varying keys, metric, window,\n"
        "                  n_from, n_to, n_centre, n_replicates, n_capped, slope, slope_ci_low,\n"
        "                  slope_ci_high, slope_log2, slope_log2_ci_low, slope_log2_ci_high,\n"
        "                  theory_slope, status\n"
        "  --window W      levels per local window (default %d, at least 2)\n"
        "  --means         the table of mean metrics per group (and n_obs) with 95%% CIs instead\n"
        "  --failed        list the failed cells: key, method, the varying keys, replicate, reason\n"
        "  --where KEY=VALUE  only the cells with this value (repeatable: the same KEY twice is\n"
        "                  either value, different keys must all hold). KEY: a config key (n_obs,\n"
        "                  data.n_obs, method, depth, description, ...) or key, status, replicate;\n"
        "                  numbers match by value. No matching cell exits 2 with the key's values\n"
        "                  (e.g. after a config edit: --where description=v2, or t2rec prune)\n",
        REPORT_DEFAULT_WINDOW);
}

/* Does any record carry a metric? (a file whose cells all failed has none: its table still
 * shows the groups and their failed counts) */
static int any_metric(const cell_record *recs, int n)
{
    for (int i = 0; i < n; i++)
        if (recs[i].metrics.n > 0)
            return 1;
    return 0;
}

int cmd_report(int argc, char **argv)
{
    const char *path = NULL, *metric = "excess_risk_cold", *diff = NULL;
    int csv = 0, means = 0, failed = 0, metric_given = 0, nwhere = 0, local = 0;
    int window = REPORT_DEFAULT_WINDOW;
    const char *where[64];
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[k], "--csv"))
            csv = 1;
        else if (!strcmp(argv[k], "--means"))
            means = 1;
        else if (!strcmp(argv[k], "--failed"))
            failed = 1;
        else if (!strcmp(argv[k], "--local"))
            local = 1;
        else if (!strcmp(argv[k], "--window")) {
            char *end = NULL;
            long w = k + 1 < argc ? strtol(argv[k + 1], &end, 10) : 0;
            if (k + 1 >= argc || end == argv[k + 1] || *end || w < 2 || w > 1000) {
                fprintf(stderr, "t2rec report: --window needs a whole number of n_obs levels >= 2 "
                                "(got '%s')\n", k + 1 < argc ? argv[k + 1] : "");
                return 2;
            }
            window = (int)w;
            k++;
        }
        else if (!strcmp(argv[k], "--metric") && k + 1 < argc) {
            metric = argv[++k];
            metric_given = 1;
        } else if (!strcmp(argv[k], "--diff") && k + 1 < argc)
            diff = argv[++k];
        else if (!strcmp(argv[k], "--where") && k + 1 < argc && nwhere < 64)
            where[nwhere++] = argv[++k];
        else if (!strcmp(argv[k], "--where")) {
            fprintf(stderr, "t2rec report: --where needs KEY=VALUE (at most 64)\n");
            return 2;
        }
        else if (argv[k][0] == '-') {
            fprintf(stderr, "t2rec report: unknown option '%s' (t2rec report --help)\n", argv[k]);
            return 2;
        } else if (!path)
            path = argv[k];
        else {
            fprintf(stderr, "t2rec report: one results file only ('%s' is extra)\n", argv[k]);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    if (means + failed + local + (diff != NULL) > 1) {
        fprintf(stderr, "t2rec report: --means, --failed, --local and --diff are separate tables: give one\n");
        return 2;
    }
    char err[2048];
    cell_record *recs = NULL;
    int n = 0;
    if (h5out_read(path, &recs, &n, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec report: %s\n", err);
        return 2;
    }
    int wrc = grouping_where(recs, &n, where, nwhere, err, sizeof err);
    if (wrc != 0) {
        fprintf(stderr, "t2rec report: %s: %s\n", path, wrc == -2 ? "out of memory" : err);
        h5out_free_records(recs, n);
        return wrc == -2 ? 1 : 2;
    }
    int rc = 0;
    if (failed) {
        if (report_print_failed(stdout, recs, n, csv) != 0) {
            fprintf(stderr, "t2rec report: out of memory\n");
            rc = 1;
        }
    } else if (means) {
        if (summary_print(csv ? NULL : stdout, csv ? stdout : NULL, recs, n) != 0)
            rc = 1;
    } else if ((metric_given || any_metric(recs, n)) && report_check_metric(recs, n, metric, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec report: %s: %s%s\n", path, err, metric_given ? "" : " (choose one with --metric)");
        rc = 2;
    } else {
        report r;
        if (report_build_local(recs, n, metric, local ? window : 0, &r) != 0) {
            fprintf(stderr, "t2rec report: out of memory\n");
            rc = 1;
        } else if (diff) {
            report_diff d;
            int drc = report_diff_build(&r, diff, &d, err, sizeof err);
            if (drc == -1) {
                fprintf(stderr, "t2rec report: %s: %s\n", path, err);
                rc = 2;
            } else if (drc != 0) {
                fprintf(stderr, "t2rec report: out of memory\n");
                rc = 1;
            } else {
                if (csv)
                    report_diff_print_csv(stdout, &r, &d);
                else
                    report_diff_print(stdout, &r, &d);
                report_diff_free(&d);
            }
            report_free(&r);
        } else if (local) {
            if (csv)
                report_print_local_csv(stdout, &r);
            else
                report_print_local(stdout, &r);
            report_free(&r);
        } else {
            if (csv)
                report_print_csv(stdout, &r);
            else
                report_print(stdout, &r);
            report_free(&r);
        }
    }
    h5out_free_records(recs, n);
    return rc;
}
