/* plot.c — gnuplot figures of a results file (see plot.h). */
#include "plot.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "grouping.h"
#include "report.h"

static const char *colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define NCOLORS 10

static int run_script(const plot_opts *o, const char *gp, char *err, size_t errlen)
{
    if (!o->run_gnuplot)
        return 0;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s '%s' 2>'%s.log'", o->gnuplot ? o->gnuplot : "gnuplot", gp, gp);
    int st = system(cmd);
    if (st != 0) {
        snprintf(err, errlen, "gnuplot failed on %s (see %s.log)", gp, gp);
        return -1;
    }
    return 0;
}

/* Text for a double-quoted gnuplot string in enhanced mode: the special characters of
 * enhanced text get a backslash, which itself must be doubled inside double quotes. */
static void gq(const char *s, char *buf, size_t n)
{
    size_t at = 0;
    for (; *s && at + 4 < n; s++) {
        if (*s == '_' || *s == '^' || *s == '{' || *s == '}' || *s == '@' || *s == '&' || *s == '~') {
            buf[at++] = '\\';
            buf[at++] = '\\';
        } else if (*s == '"' || *s == '\\')
            buf[at++] = '\\';
        buf[at++] = *s;
    }
    buf[at] = 0;
}

static void terminals(FILE *gp, const char *base, int pdf, int extra_rows)
{
    if (pdf)
        fprintf(gp, "set terminal pdfcairo enhanced color font 'Sans,9' size 6.4in,%.2fin\n"
                    "set output '%s.pdf'\n", 5.2 + 0.16 * extra_rows, base);
    else
        fprintf(gp, "set terminal pngcairo enhanced color font 'Sans,10' size 1000,%d\n"
                    "set output '%s.png'\n", 800 + 18 * extra_rows, base);
}

/* Line styles: colour = the data setting (the label without the method), so the methods of
 * one setting share a colour; the method decides dash, width and point type (the estimator
 * under test solid and thick). */
static int method_style(const char *method, int *pt, double *lw)
{
    static const char *const order[] = {"twotower", "baseline", "mf", "autorec", "oracle", NULL};
    static const int pts[] = {7, 4, 6, 8, 1};
    int k = 0;
    while (order[k] && strcmp(order[k], method))
        k++;
    *pt = order[k] ? pts[k] : 10;
    *lw = k == 0 ? 2.0 : 1.3;
    return k == 0 ? 1 : 3 + (k % 3);   /* dash type */
}

/* Convergence: one line + band per group of the report. */
static int plot_convergence(const report *r, const plot_opts *o, const char *title_extra,
                            const char *name, char *err, size_t errlen)
{
    char base[4096], dat[4200], gpp[4200];
    snprintf(base, sizeof base, "%s/%s", o->outdir, name);
    snprintf(dat, sizeof dat, "%s.dat", base);
    snprintf(gpp, sizeof gpp, "%s.gp", base);
    FILE *d = fopen(dat, "w");
    if (!d) {
        snprintf(err, errlen, "%s: %s", dat, strerror(errno));
        return -1;
    }
    int nplotted = 0, maxrep = 0, minrep = 1 << 30;
    int *which = malloc((size_t)(r->ngroups + 1) * sizeof *which);
    if (!which) {
        fclose(d);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < r->ngroups; i++) {
        const report_group *g = &r->groups[i];
        int pos = 0;
        for (int l = 0; l < g->nlev; l++)
            pos += g->lev_mean[l] > 0;
        if (pos < 2)   /* a convergence line needs two n_obs levels */
            continue;
        fprintf(d, "# group %d: %s\n# n mean ci_low ci_high count\n", nplotted, g->label);
        for (int l = 0; l < g->nlev; l++) {
            if (!(g->lev_mean[l] > 0))
                continue;
            double lo = g->lev_lo[l] > 0 ? g->lev_lo[l] : g->lev_mean[l] * 0.5;
            fprintf(d, "%.10g %.10g %.10g %.10g %d\n", g->lev_n[l], g->lev_mean[l], lo, g->lev_hi[l],
                    g->lev_count[l]);
            if (g->lev_count[l] > maxrep)
                maxrep = g->lev_count[l];
            if (g->lev_count[l] < minrep)
                minrep = g->lev_count[l];
        }
        fprintf(d, "\n\n");
        which[nplotted++] = i;
    }
    fclose(d);
    if (!nplotted) {
        free(which);
        return 1;   /* nothing to plot */
    }
    FILE *gp = fopen(gpp, "w");
    if (!gp) {
        snprintf(err, errlen, "%s: %s", gpp, strerror(errno));
        free(which);
        return -1;
    }
    char metric[128];
    gq(r->metric, metric, sizeof metric);
    double ymin = INFINITY, ymax = 0;
    for (int k = 0; k < nplotted; k++) {
        const report_group *g = &r->groups[which[k]];
        for (int l = 0; l < g->nlev; l++)
            if (g->lev_mean[l] > 0) {
                ymin = fmin(ymin, g->lev_mean[l]);
                ymax = fmax(ymax, g->lev_mean[l]);
            }
    }
    /* colour index per plotted group: its data setting (label without the method) */
    int *sig = calloc((size_t)nplotted + 1, sizeof *sig), nsig = 0;
    const char **sigs = calloc((size_t)nplotted + 1, sizeof *sigs);
    for (int k = 0; k < nplotted && sig && sigs; k++) {
        const char *lab = r->groups[which[k]].label, *sp = strchr(lab, ' ');
        const char *key = sp ? sp : "";
        int q = 0;
        while (q < nsig && strcmp(sigs[q], key))
            q++;
        if (q == nsig)
            sigs[nsig++] = key;
        sig[k] = q;
    }
    if (!sig || !sigs) {
        free(sig);
        free(sigs);
        fclose(gp);
        free(which);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int pdf = 0; pdf < 2; pdf++) {
        int rows = nplotted;   /* one column: long labels do not fit two */
        terminals(gp, base, pdf, rows > 4 ? rows - 4 : 0);
        fprintf(gp, "set logscale xy 2\nset format x '2^{%%L}'\nset format y '%%.2g'\n"
                    "set xlabel '|{/Symbol W}| = n\\_obs (training pairs)'\n"
                    "set ylabel \"%s (log scale)\"\n"
                    "set key below left vertical maxrows %d font ',8' spacing 1.0 width -4\n"
                    "set grid xtics ytics mxtics mytics lc rgb '#dddddd'\n"
                    "set style fill transparent solid 0.18 noborder\n",
                metric, rows);
        /* the means decide the range; wide bands (few replicates) are clipped, not followed */
        fprintf(gp, "set yrange [%.6g:%.6g]\n", ymin / 3, ymax * 3);
        char reps[64];
        if (minrep == maxrep)
            snprintf(reps, sizeof reps, "%d replicates", maxrep);
        else
            snprintf(reps, sizeof reps, "%d-%d replicates", minrep, maxrep);
        fprintf(gp, "set title \"Convergence%s\\n{/*0.8 line: geometric mean over %s; band: 95%% "
                    "t-interval of the mean log error; dashed: theory slope -2{/Symbol b}/(2{/Symbol b}+d) "
                    "(two-tower), through its first point}\\n{/*0.8 key: slope = mean of the R per-replicate "
                    "slopes, 95%% t-interval with R-1 df%s%s}\"\n",
                title_extra, reps, r->n_failed_total ? "; failed cells left out" : "",
                r->n_budget_limited ? "; BUDGET-LIMITED groups stopped at the epoch cap" : "");
        fprintf(gp, "plot ");
        for (int k = 0; k < nplotted; k++) {
            const report_group *g = &r->groups[which[k]];
            char label[600], lab[700];
            gq(g->label, label, sizeof label);
            if (!strcmp(g->status, "fitted"))
                snprintf(lab, sizeof lab, "%s: slope %.2f [%.2f, %.2f] (R=%d)", label, g->slope, g->slope_lo,
                         g->slope_hi, g->n_replicates);
            else if (!strcmp(g->status, "one replicate"))
                snprintf(lab, sizeof lab, "%s: slope %.2f (one replicate, no CI)", label, g->slope);
            else if (!strcmp(g->status, "budget-limited"))
                snprintf(lab, sizeof lab, "%s: BUDGET-LIMITED, %d of %d cells stopped at the epoch cap: no rate",
                         label, g->n_capped, g->n_cells);
            else
                snprintf(lab, sizeof lab, "%s: %s", label, g->status);
            if (isfinite(g->theory_slope) && report_has_slope(g) && !strcmp(g->method, "twotower")) {
                size_t at = strlen(lab);
                snprintf(lab + at, sizeof lab - at, ", theory %.2f", g->theory_slope);
            }
            const char *col = colors[sig[k] % NCOLORS];
            int pt;
            double lw;
            int dt = method_style(g->method, &pt, &lw);
            /* bands: always for the estimator under test; for the others when few groups */
            if (!strcmp(g->method, "twotower") || nplotted <= 6)
                fprintf(gp, "%s'%s' index %d using 1:3:4 with filledcurves lc rgb '%s' notitle, \\\n     ",
                        k ? "     " : "", dat, k, col);
            else if (k)
                fprintf(gp, "     ");
            fprintf(gp, "'%s' index %d using 1:2 with linespoints dt %d lw %.1f pt %d ps 0.7 lc rgb '%s' title \"%s\"",
                    dat, k, dt, lw, pt, col, lab);
            if (isfinite(g->theory_slope) && g->nlev > 0 && !strcmp(g->method, "twotower")) {
                int l0 = 0;
                while (l0 < g->nlev && !(g->lev_mean[l0] > 0))
                    l0++;
                if (l0 < g->nlev)
                    fprintf(gp, ", \\\n     (x >= %.10g && x <= %.10g ? %.10g * (x / %.10g)**(%.6f) : 1/0) "
                                "with lines dt 2 lw 1.2 lc rgb '%s' notitle",
                            g->lev_n[l0], g->lev_n[g->nlev - 1], g->lev_mean[l0], g->lev_n[l0],
                            g->theory_slope, col);
            }
            fprintf(gp, k + 1 < nplotted ? ", \\\n" : "\n");
        }
        fprintf(gp, "unset output\n");
    }
    fclose(gp);
    free(which);
    free(sig);
    free(sigs);
    if (run_script(o, gpp, err, errlen) != 0)
        return -1;
    printf("%s.png\n%s.pdf\n", base, base);
    return 0;
}

/* Learning curves: per group (method and varying keys, n_obs and fold aside), the cell with
 * the largest n_obs, then the lowest replicate, then the first fold. Panels: the training loss,
 * and the valid RMSE and the test_cold excess risk where some group has them (real data run
 * without a valid split has neither). At most LEARN_MAX_GROUPS groups are drawn. */
#define LEARN_MAX_GROUPS 12
static int plot_learning(const cell_record *recs, int n, const plot_opts *o, char *err, size_t errlen)
{
    static const char *const ignore[] = {"data.n_obs", "data.fold", NULL};
    grouping gr;
    if (grouping_build(recs, n, ignore, &gr) != 0) {
        grouping_free(&gr);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char base[4096], dat[4200], gpp[4200];
    snprintf(base, sizeof base, "%s/%s_learning", o->outdir, o->prefix);
    snprintf(dat, sizeof dat, "%s.dat", base);
    snprintf(gpp, sizeof gpp, "%s.gp", base);
    FILE *d = fopen(dat, "w");
    if (!d) {
        snprintf(err, errlen, "%s: %s", dat, strerror(errno));
        grouping_free(&gr);
        return -1;
    }
    int nb = 0, has[3] = {0, 0, 0};
    const char *labels[LEARN_MAX_GROUPS];
    for (int gi = 0; gi < gr.ngroups && nb < LEARN_MAX_GROUPS; gi++) {
        const cell_record *best = NULL;
        for (int i = 0; i < n; i++) {
            const cell_record *c = &recs[i];
            if (gr.gid[i] != gi || strcmp(c->status, "ok") || c->curves.n < 2)
                continue;
            double nn = kv_real(&c->config, "data.n_obs", 0);
            double bn = best ? kv_real(&best->config, "data.n_obs", 0) : -1;
            if (!best || nn > bn || (nn == bn && (c->replicate < best->replicate ||
                (c->replicate == best->replicate &&
                 strcmp(kv_str(&c->config, "data.fold", ""), kv_str(&best->config, "data.fold", "")) < 0))))
                best = c;
        }
        if (!best)
            continue;
        fprintf(d, "# %s, n_obs=%s, fold=%s, replicate %d\n# epoch train_loss valid_rmse test_excess wall\n",
                gr.label[gi], kv_str(&best->config, "data.n_obs", "-"),
                kv_str(&best->config, "data.fold", "-"), best->replicate);
        for (int e = 0; e < best->curves.n; e++) {
            const est_curves *cv = &best->curves;
            fprintf(d, "%d %.10g %.10g %.10g %.10g\n", e + 1, cv->train_loss[e], cv->valid_rmse[e],
                    cv->test_excess[e], cv->wall_seconds[e]);
            has[0] |= isfinite(cv->train_loss[e]) && cv->train_loss[e] > 0;
            has[1] |= isfinite(cv->valid_rmse[e]) && cv->valid_rmse[e] > 0;
            has[2] |= isfinite(cv->test_excess[e]) && cv->test_excess[e] > 0;
        }
        fprintf(d, "\n\n");
        labels[nb++] = gr.label[gi];
    }
    fclose(d);
    int rc = 0;
    if (!nb) {
        rc = 1;
        goto out;
    }
    FILE *gp = fopen(gpp, "w");
    if (!gp) {
        snprintf(err, errlen, "%s: %s", gpp, strerror(errno));
        rc = -1;
        goto out;
    }
    static const char *ylabel[3] = {"training loss (mean squared error)", "valid RMSE",
                                    "test\\_cold excess risk"};
    int npanels = has[0] + has[1] + has[2];
    for (int pdf = 0; pdf < 2; pdf++) {
        terminals(gp, base, pdf, nb > 4 ? nb - 4 : 0);
        fprintf(gp, "set multiplot layout 1,%d title \"Learning curves (per group: the cell with the "
                    "largest n\\\\_obs, first replicate and fold)%s\"\n"
                    "set grid lc rgb '#dddddd'\nset xlabel 'epoch'\nset key below left vertical font ',8'\n"
                    "set logscale y\n", npanels > 0 ? npanels : 1,
                gr.ngroups > nb ? "; first groups only" : "");
        for (int panel = 0; panel < 3; panel++) {
            if (!has[panel])
                continue;
            fprintf(gp, "set ylabel '%s'\nplot ", ylabel[panel]);
            for (int k = 0; k < nb; k++) {
                char lab[600];
                gq(labels[k], lab, sizeof lab);
                fprintf(gp, "%s'%s' index %d using 1:%d with lines lw 2 lc rgb '%s' title \"%s\"%s",
                        k ? "     " : "", dat, k, panel + 2, colors[k % NCOLORS], lab,
                        k + 1 < nb ? ", \\\n" : "\n");
            }
        }
        fprintf(gp, "unset multiplot\nunset output\n");
    }
    fclose(gp);
    if (run_script(o, gpp, err, errlen) != 0) {
        rc = -1;
        goto out;
    }
    printf("%s.png\n%s.pdf\n", base, base);
out:
    grouping_free(&gr);
    return rc;
}

int plot_all(const cell_record *recs, int n, const plot_opts *o, char *err, size_t errlen)
{
    if (mkdir(o->outdir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create: %s", o->outdir, strerror(errno));
        return -1;
    }
    const char *metric = o->metric ? o->metric : "excess_risk_cold";
    report r;
    if (report_build(recs, n, metric, &r) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    char name[1024];
    if (strcmp(metric, "excess_risk_cold"))
        snprintf(name, sizeof name, "%s_convergence_%s", o->prefix, metric);
    else
        snprintf(name, sizeof name, "%s_convergence", o->prefix);
    char extra[256] = "";
    {
        char m[128];
        gq(metric, m, sizeof m);
        snprintf(extra, sizeof extra, " of %s", m);
    }
    int c = plot_convergence(&r, o, extra, name, err, errlen);
    if (c < 0)
        rc = -1;
    if (rc == 0 && plot_learning(recs, n, o, err, errlen) < 0)
        rc = -1;
    if (r.n_failed_total)
        printf("note: %d failed cells left out of the figures\n", r.n_failed_total);
    for (int i = 0; i < r.ngroups; i++)
        if (!strcmp(r.groups[i].status, "budget-limited"))
            printf("note: %s: budget-limited, %d of %d cells stopped at the epoch cap while still "
                   "improving (no rate shown)\n", r.groups[i].label, r.groups[i].n_capped, r.groups[i].n_cells);
    report_free(&r);
    return rc;
}
