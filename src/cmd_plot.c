/* cmd_plot.c — `t2rec plot RESULTS.h5 [-o DIR]`: gnuplot figures (PNG and PDF). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "commands.h"
#include "h5out.h"
#include "plot.h"
#include "report.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: t2rec plot RESULTS.h5 [-o DIR] [--metric NAME] [--no-render]\n\n"
        "Draw with gnuplot (PNG and PDF): PREFIX_convergence (log-log error against n_obs per\n"
        "group: mean over replicates, 95%% t-interval band, the theory slope dashed, the fitted\n"
        "slope with its CI in the key; every method of the file on the same axes) and\n"
        "PREFIX_learning (valid RMSE and test_cold excess risk per epoch). Failed cells are\n"
        "left out and counted. The fitted slope is the mean of the per-replicate slopes with a\n"
        "95%% t-interval over the R replicates (as `t2rec report`); groups the report does not\n"
        "fit say why in the key, and groups with cells stopped at the epoch cap are marked\n"
        "BUDGET-LIMITED (no rate shown; also noted on stdout). PREFIX is the results file's name\n"
        "without .h5.\n\n"
        "  -o DIR         output folder (default plots/out)\n"
        "  --metric NAME  error on the y axis (default excess_risk_cold); a name no cell has\n"
        "                 exits 2 and lists the metrics of the file\n"
        "  --no-render    write the .dat and .gp files only\n");
}

int cmd_plot(int argc, char **argv)
{
    const char *path = NULL;
    plot_opts o = {.outdir = "plots/out", .run_gnuplot = 1};
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[k], "-o") && k + 1 < argc)
            o.outdir = argv[++k];
        else if (!strcmp(argv[k], "--metric") && k + 1 < argc)
            o.metric = argv[++k];
        else if (!strcmp(argv[k], "--no-render"))
            o.run_gnuplot = 0;
        else if (argv[k][0] == '-') {
            fprintf(stderr, "t2rec plot: unknown option '%s' (t2rec plot --help)\n", argv[k]);
            return 2;
        } else if (!path)
            path = argv[k];
        else {
            fprintf(stderr, "t2rec plot: one results file only ('%s' is extra)\n", argv[k]);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    char err[1024], prefix[512];
    const char *slash = strrchr(path, '/');
    snprintf(prefix, sizeof prefix, "%s", slash ? slash + 1 : path);
    char *dot = strrchr(prefix, '.');
    if (dot)
        *dot = 0;
    o.prefix = prefix;
    cell_record *recs = NULL;
    int n = 0;
    if (h5out_read(path, &recs, &n, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec plot: %s\n", err);
        return 2;
    }
    int any = 0;
    for (int i = 0; i < n && !any; i++)
        any = recs[i].metrics.n > 0;
    if ((o.metric || any) &&
        report_check_metric(recs, n, o.metric ? o.metric : "excess_risk_cold", err, sizeof err) != 0) {
        fprintf(stderr, "t2rec plot: %s: %s%s\n", path, err, o.metric ? "" : " (choose one with --metric)");
        h5out_free_records(recs, n);
        return 2;
    }
    /* an output folder that cannot be made or written is bad input (exit 2), like run's -o */
    struct stat st;
    if ((mkdir(o.outdir, 0777) != 0 && errno != EEXIST) || stat(o.outdir, &st) != 0 ||
        (!S_ISDIR(st.st_mode) && (errno = ENOTDIR)) || access(o.outdir, W_OK | X_OK) != 0) {
        fprintf(stderr, "t2rec plot: %s: cannot write figures there: %s\n", o.outdir, strerror(errno));
        h5out_free_records(recs, n);
        return 2;
    }
    int rc = plot_all(recs, n, &o, err, sizeof err) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "t2rec plot: %s\n", err);
    h5out_free_records(recs, n);
    return rc;
}
