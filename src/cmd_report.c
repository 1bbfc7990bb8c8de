/* cmd_report.c — `t2rec report RESULTS.h5 [--csv]`: slope tables with 95% CIs vs theory,
 * and a table of mean metrics with 95% CIs per group. */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "h5out.h"
#include "report.h"
#include "summary.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: t2rec report RESULTS.h5 [--csv] [--metric NAME] [--means]\n\n"
        "Per group (method and every config key that varies in the file, except n_obs and the\n"
        "replicate), fit log(error) = a + b log(n_obs) by least squares over the replicate-level\n"
        "points and print b with its 95%% CI next to the theory slope -2 beta / (2 beta + d),\n"
        "d = max(d_u, d_i); the same for error / log^2(n_obs). Failed cells are left out and\n"
        "counted. Groups with fewer than 3 n_obs levels are reported as 'too few points';\n"
        "groups whose error at the largest n_obs is still >= 0.9 of the baseline method's (or\n"
        "of Var R* = 1) as 'not yet learning'. Neither is fitted.\n\n"
        "  --metric NAME   error to fit (default excess_risk_cold)\n"
        "  --csv           the slope table as CSV (columns: method, the varying keys, metric,\n"
        "                  n_points, n_levels, n_failed, slope, slope_ci_low, slope_ci_high,\n"
        "                  slope_log2, ..., theory_slope, error_at_max_n, status)\n"
        "  --means         the table of mean metrics per group (and n_obs) with 95%% CIs instead\n");
}

int cmd_report(int argc, char **argv)
{
    const char *path = NULL, *metric = "excess_risk_cold";
    int csv = 0, means = 0;
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[k], "--csv"))
            csv = 1;
        else if (!strcmp(argv[k], "--means"))
            means = 1;
        else if (!strcmp(argv[k], "--metric") && k + 1 < argc)
            metric = argv[++k];
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
    char err[1024];
    cell_record *recs = NULL;
    int n = 0;
    if (h5out_read(path, &recs, &n, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec report: %s\n", err);
        return 2;
    }
    int rc = 0;
    if (means) {
        if (summary_print(csv ? NULL : stdout, csv ? stdout : NULL, recs, n) != 0)
            rc = 1;
    } else {
        report r;
        if (report_build(recs, n, metric, &r) != 0) {
            fprintf(stderr, "t2rec report: out of memory\n");
            rc = 1;
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
