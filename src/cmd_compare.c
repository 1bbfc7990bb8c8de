/* cmd_compare.c — `t2rec compare RESULTS.h5`: paired comparisons of every two methods on the
 * same data (paired t, Wilcoxon signed-rank, Holm), and of their per-replicate slopes. */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "compare.h"
#include "grouping.h"
#include "h5out.h"
#include "report.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: t2rec compare RESULTS.h5 [--metric NAME] [--where KEY=VALUE]... [--csv FILE]\n\n"
        "Paired comparisons of methods on the same data. A block is a set of cells equal in every\n"
        "config key except the method, its method.* keys and data.fold (e.g. one n_obs and d);\n"
        "an arm is one method configuration in a block; a unit is one replicate index, data seed\n"
        "and fold. The cells of two arms in one unit were fitted on the same data (same truth,\n"
        "training pairs and test sets), so for every two arms of a block the statistics are\n"
        "computed on the differences A - B over the units both arms have (ok cells with a\n"
        "finite metric):\n"
        "  diff, 95%% CI   mean difference, mean +- t(0.975, n - 1) sd / sqrt(n)\n"
        "  p_t            two-sided paired t-test, n - 1 df\n"
        "  p_W            two-sided Wilcoxon signed-rank test (zero differences dropped, tied\n"
        "                 |differences| get average ranks): exact null distribution up to %d\n"
        "                 non-zero differences, else the normal approximation with the\n"
        "                 tie-corrected variance and a continuity correction of 1/2\n"
        "  Holm           each test's p-values adjusted (Holm's step-down) over the pairs of\n"
        "                 the block: the family is every method pair on one data setting\n"
        "Units that only one arm has are counted in 'only' (A/B); a pair without a shared unit\n"
        "says 'unpaired (no shared data seed)', one with a single pair 'one pair' (no test).\n"
        "With 5 units the smallest possible Wilcoxon p is 0.0625: it cannot reach 0.05.\n\n"
        "When n_obs varies, a second table compares the slopes of `t2rec report` the same way:\n"
        "the per-replicate slopes of log(error) on log(n_obs) of two groups that differ only in\n"
        "the method, paired by replicate (index and data seed). Groups that print no slope in\n"
        "the report (budget-limited, not yet learning, ...) get no difference (status says why).\n\n"
        "  --metric NAME      the metric (default excess_risk_cold, else rmse, whichever the\n"
        "                     file has); a name no cell has exits 2 and lists the metrics\n"
        "  --where KEY=VALUE  only the cells with this value (as in t2rec report --help)\n"
        "  --csv FILE         also write both tables as CSV to FILE ('-': stdout, instead of the\n"
        "                     text), columns: what (the metric or 'slope'), block, arm_a, arm_b,\n"
        "                     n_pairs, n_only_a, n_only_b, mean_a, mean_b, diff, diff_ci_low,\n"
        "                     diff_ci_high, t, p_t, p_t_holm, n_nonzero, w_plus, p_wilcoxon,\n"
        "                     p_wilcoxon_holm, wilcoxon_exact (1/0), status\n",
        COMPARE_WILCOXON_EXACT_MAX);
}

static int has_metric(const cell_record *recs, int n, const char *m)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < recs[i].metrics.n; k++)
            if (!strcmp(recs[i].metrics.name[k], m))
                return 1;
    return 0;
}

/* Does data.n_obs take more than one value? */
static int nobs_varies(const cell_record *recs, int n)
{
    for (int i = 1; i < n; i++)
        if (strcmp(kv_str(&recs[i].config, "data.n_obs", ""), kv_str(&recs[0].config, "data.n_obs", "")))
            return 1;
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    const char *path = NULL, *metric = NULL, *csv = NULL;
    const char *where[64];
    int nwhere = 0;
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[k], "--metric") && k + 1 < argc)
            metric = argv[++k];
        else if (!strcmp(argv[k], "--csv") && k + 1 < argc)
            csv = argv[++k];
        else if (!strcmp(argv[k], "--where") && k + 1 < argc && nwhere < 64)
            where[nwhere++] = argv[++k];
        else if (!strcmp(argv[k], "--where") || !strcmp(argv[k], "--metric") || !strcmp(argv[k], "--csv")) {
            fprintf(stderr, "t2rec compare: %s needs a value (t2rec compare --help)\n", argv[k]);
            return 2;
        } else if (argv[k][0] == '-' && argv[k][1]) {
            fprintf(stderr, "t2rec compare: unknown option '%s' (t2rec compare --help)\n", argv[k]);
            return 2;
        } else if (!path)
            path = argv[k];
        else {
            fprintf(stderr, "t2rec compare: one results file only ('%s' is extra)\n", argv[k]);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    char err[2048];
    cell_record *recs = NULL;
    int n = 0;
    if (h5out_read(path, &recs, &n, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec compare: %s\n", err);
        return 2;
    }
    int wrc = grouping_where(recs, &n, where, nwhere, err, sizeof err);
    if (wrc != 0) {
        fprintf(stderr, "t2rec compare: %s: %s\n", path, wrc == -2 ? "out of memory" : err);
        h5out_free_records(recs, n);
        return wrc == -2 ? 1 : 2;
    }
    int given = metric != NULL;
    if (!metric)
        metric = has_metric(recs, n, "excess_risk_cold") ? "excess_risk_cold" : "rmse";
    if (report_check_metric(recs, n, metric, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec compare: %s: %s%s\n", path, err, given ? "" : " (choose one with --metric)");
        h5out_free_records(recs, n);
        return 2;
    }
    FILE *cf = NULL;
    if (csv && strcmp(csv, "-") && !(cf = fopen(csv, "w"))) {
        fprintf(stderr, "t2rec compare: cannot write %s\n", csv);
        h5out_free_records(recs, n);
        return 2;
    }
    int to_stdout = csv && !strcmp(csv, "-");
    if (to_stdout)
        cf = stdout;
    int rc = 0;
    compare_table t;
    if (compare_build(recs, n, metric, &t) != 0) {
        fprintf(stderr, "t2rec compare: out of memory\n");
        rc = 1;
    } else {
        if (!to_stdout)
            compare_print(stdout, &t);
        if (cf)
            compare_print_csv(cf, &t, 1);
        compare_free(&t);
    }
    if (!rc && nobs_varies(recs, n)) {
        report r;
        compare_table s;
        if (report_build(recs, n, metric, &r) != 0) {
            fprintf(stderr, "t2rec compare: out of memory\n");
            rc = 1;
        } else {
            if (compare_build_slopes(&r, &s) != 0) {
                fprintf(stderr, "t2rec compare: out of memory\n");
                rc = 1;
            } else {
                if (!to_stdout) {
                    printf("\n");
                    compare_print(stdout, &s);
                }
                if (cf)
                    compare_print_csv(cf, &s, 0);
                compare_free(&s);
            }
            report_free(&r);
        }
    }
    if (cf && cf != stdout && fclose(cf) != 0) {
        fprintf(stderr, "t2rec compare: writing %s failed\n", csv);
        rc = 1;
    }
    h5out_free_records(recs, n);
    return rc;
}
