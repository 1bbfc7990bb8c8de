/* cmd_plot.c — `t2rec plot RESULTS.h5 [-o DIR]`: gnuplot figures (PNG and PDF) drawn by the
 * scripts in plots/ (see plot.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "commands.h"
#include "grouping.h"
#include "h5out.h"
#include "plot.h"
#include "report.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: t2rec plot RESULTS.h5 [-o DIR] [--metric NAME] [--scripts DIR] [--no-render]\n"
        "                  [--local [--window W]] [--where KEY=VALUE]...\n\n"
        "Draw with gnuplot (PNG and PDF), PREFIX being the results file's name without .h5:\n"
        "  PREFIX_convergence  error against n_obs (log-log) per group: mean over the replicates,\n"
        "                      95%% t-interval band, the theory slope dashed, the fitted slope with\n"
        "                      its CI in the key (the mean of the per-replicate slopes, t with R-1\n"
        "                      df, as `t2rec report`), or why a group has none; groups with cells\n"
        "                      stopped at the epoch cap are marked BUDGET-LIMITED (noted on stdout)\n"
        "  PREFIX_learning     training loss, valid RMSE and test_cold excess risk per epoch\n"
        "  PREFIX_methods      methods compared (files with more than one method): mean and 95%%\n"
        "                      t-interval over replicates or folds per group, one panel per metric\n"
        "                      (rmse, rmse_cold, precision_at_10, ndcg_at_10 on real data;\n"
        "                      excess_risk_cold, excess_risk_warm, ndcg_at_10 on synthetic data)\n"
        "  PREFIX_local        (with --local) the local slope of each group against n_obs: the\n"
        "                      slope over windows of W consecutive n_obs levels (default 3) at\n"
        "                      the window's geometric centre, 95%% CI bars over the per-replicate\n"
        "                      slopes, the theory slope dashed; left raw, right log^2-corrected\n"
        "                      (the numbers of `t2rec report --local`)\n"
        "Each group keeps one colour in every figure (one colour per method when only the method\n"
        "varies). Failed cells are left out and counted.\n\n"
        "Restyling: the figures are drawn by the gnuplot scripts style.gp, convergence.gp,\n"
        "learning.gp and methods.gp, copied into DIR next to the data (PREFIX_*.dat) and a small\n"
        "PREFIX_*.gp per figure that sets the data-dependent variables and loads its script.\n"
        "Edit any of them and redraw from the kept data:  cd DIR && gnuplot PREFIX_convergence.gp\n"
        "(`t2rec plot` overwrites the copies: keep a restyled set in a folder of your own and\n"
        "give it with --scripts).\n\n"
        "  -o DIR         output folder (default plots/out; created if missing)\n"
        "  --metric NAME  error on the y axis of the convergence figure (default excess_risk_cold;\n"
        "                 PREFIX_convergence_NAME for another) and the only panel of the methods\n"
        "                 figure (PREFIX_methods_NAME); a name no cell has exits 2 and lists the\n"
        "                 metrics of the file\n"
        "  --scripts DIR  the gnuplot scripts (default: $T2REC_PLOT_SCRIPTS, else plots/ of the\n"
        "                 source tree t2rec was built from, else PREFIX/share/t2rec/plots of\n"
        "                 `make install`, else ./plots)\n"
        "  --no-render    write the .dat and .gp files only\n"
        "  --local        also draw PREFIX_local (local slopes, see above)\n"
        "  --window W     n_obs levels per local window (default 3, at least 2; implies --local)\n"
        "  --where KEY=VALUE  draw only the cells with this value (repeatable; as in `t2rec report\n"
        "                 --help`: the same KEY twice is either value, different keys must all\n"
        "                 hold); the figures keep their names: give another -o DIR\n");
}

int cmd_plot(int argc, char **argv)
{
    const char *path = NULL;
    plot_opts o = {.outdir = "plots/out", .run_gnuplot = 1, .out = stdout};
    const char *where[64];
    int nwhere = 0;
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[k], "-o") && k + 1 < argc)
            o.outdir = argv[++k];
        else if (!strcmp(argv[k], "--metric") && k + 1 < argc)
            o.metric = argv[++k];
        else if (!strcmp(argv[k], "--scripts") && k + 1 < argc)
            o.scripts = argv[++k];
        else if (!strcmp(argv[k], "--no-render"))
            o.run_gnuplot = 0;
        else if (!strcmp(argv[k], "--local"))
            o.local_window = o.local_window ? o.local_window : REPORT_DEFAULT_WINDOW;
        else if (!strcmp(argv[k], "--window")) {
            char *end = NULL;
            long w = k + 1 < argc ? strtol(argv[k + 1], &end, 10) : 0;
            if (k + 1 >= argc || end == argv[k + 1] || *end || w < 2 || w > 1000) {
                fprintf(stderr, "t2rec plot: --window needs a whole number of n_obs levels >= 2\n");
                return 2;
            }
            o.local_window = (int)w;
            k++;
        }
        else if (!strcmp(argv[k], "--where") && k + 1 < argc && nwhere < 64)
            where[nwhere++] = argv[++k];
        else if (!strcmp(argv[k], "--where")) {
            fprintf(stderr, "t2rec plot: --where needs KEY=VALUE (at most 64)\n");
            return 2;
        }
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
    int wrc = grouping_where(recs, &n, where, nwhere, err, sizeof err);
    if (wrc != 0) {
        fprintf(stderr, "t2rec plot: %s: %s\n", path, wrc == -2 ? "out of memory" : err);
        h5out_free_records(recs, n);
        return wrc == -2 ? 1 : 2;
    }
    /* a named metric must exist; without one, real data (no excess risk) still gets its
     * learning and methods figures */
    if (o.metric && report_check_metric(recs, n, o.metric, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec plot: %s: %s\n", path, err);
        h5out_free_records(recs, n);
        return 2;
    }
    char sdir[4096];
    if (o.scripts && plot_find_scripts(o.scripts, sdir, sizeof sdir) != 0) {
        fprintf(stderr, "t2rec plot: --scripts %s: no convergence.gp, learning.gp, methods.gp and style.gp "
                        "there\n", o.scripts);
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
