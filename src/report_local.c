/* report_local.c — local slopes (`report --local`): the per-replicate slope fit of report.c
 * over sliding windows of consecutive n_obs levels, with the t(R - 1) interval per window,
 * the log^2-corrected variant, the per-window learning check, and their tables (report.h). */
#include "report.h"
#include "grouping.h"
#include "h5out.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int report_local_windows(report_group *g, const report_point *p, int m, int window)
{
    g->nwin = 0;
    g->win = NULL;
    if (window < 2 || g->nlev < window)
        return 0;
    int nw = g->nlev - window + 1;
    g->win = calloc((size_t)nw, sizeof *g->win);
    double *x = malloc((size_t)(m + 1) * sizeof *x), *y = malloc((size_t)(m + 1) * sizeof *y);
    double *y2 = malloc((size_t)(m + 1) * sizeof *y2);
    double *b = malloc((size_t)(g->nrep + 1) * sizeof *b), *b2 = malloc((size_t)(g->nrep + 1) * sizeof *b2);
    if (!g->win || !x || !y || !y2 || !b || !b2) {
        free(x);
        free(y);
        free(y2);
        free(b);
        free(b2);
        return -1;
    }
    g->nwin = nw;
    /* the group's slope is withheld for these whatever the window */
    int none = !strcmp(g->status, "no n_obs axis") || !strcmp(g->status, "no cold predictions");
    for (int w = 0; w < nw; w++) {
        report_window *v = &g->win[w];
        v->l0 = w;
        v->l1 = w + window - 1;
        v->n_lo = round(g->lev_n[v->l0]);   /* n_obs is a whole number (lev_n = exp(log n)) */
        v->n_hi = round(g->lev_n[v->l1]);
        v->n_mid = sqrt(v->n_lo * v->n_hi);
        v->slope = v->lo = v->hi = v->slope_log2 = v->lo_log2 = v->hi_log2 = NAN;
        double xlo = log(v->n_lo), xhi = log(v->n_hi);
        int r = 0;
        for (int k = 0; k < m;) {
            int e = k, c = 0, levels = 0;
            while (e < m && p[e].replicate == p[k].replicate && p[e].data_seed == p[k].data_seed)
                e++;
            for (int j = k; j < e; j++) {
                if (p[j].x < xlo || p[j].x > xhi)
                    continue;
                levels += c == 0 || p[j].x != x[c - 1];
                v->n_capped += p[j].capped;
                x[c] = p[j].x;
                y[c] = p[j].y;
                y2[c++] = p[j].y2;
            }
            double a;
            if (levels == window && report_ols(x, y, c, &a, &b[r]) == 0 &&
                report_ols(x, y2, c, &a, &b2[r]) == 0)
                r++;
            k = e;
        }
        v->n_replicates = r;
        if (none)
            v->status = g->status;
        else if (v->n_capped > 0)
            v->status = "budget-limited";
        else if (r == 0)
            v->status = "too few points";
        else {
            report_mean_ci(b, r, &v->slope, &v->lo, &v->hi);
            report_mean_ci(b2, r, &v->slope_log2, &v->lo_log2, &v->hi_log2);
            v->status = r == 1 ? "one replicate" : "fitted";
        }
        if (strcmp(v->status, "fitted") && strcmp(v->status, "one replicate"))
            v->slope = v->lo = v->hi = v->slope_log2 = v->lo_log2 = v->hi_log2 = NAN;
    }
    free(x);
    free(y);
    free(y2);
    free(b);
    free(b2);
    return 0;
}

void report_local_learning(report *r)
{
    if (strncmp(r->metric, "excess_risk", 11))
        return;
    for (int gi = 0; gi < r->ngroups; gi++) {
        report_group *g = &r->groups[gi];
        if (!strcmp(g->method, "oracle"))
            continue;
        const report_group *b = strcmp(g->method, "baseline") ? report_baseline_of(r, g) : NULL;
        for (int w = 0; w < g->nwin; w++) {
            report_window *v = &g->win[w];
            if (strcmp(v->status, "fitted") && strcmp(v->status, "one replicate"))
                continue;
            double ref = NAN;
            for (int l = 0; b && l < b->nlev; l++)
                if (round(b->lev_n[l]) == v->n_hi)
                    ref = b->lev_mean[l];
            if (!isfinite(ref))
                ref = 1.0;   /* Var R* = 1 */
            if (g->lev_mean[v->l1] >= 0.9 * ref) {
                v->status = "not yet learning";
                v->slope = v->lo = v->hi = v->slope_log2 = v->lo_log2 = v->hi_log2 = NAN;
            }
        }
    }
}

static void fmt(char *buf, size_t n, double v)
{
    if (isfinite(v))
        snprintf(buf, n, "%.3f", v);
    else
        snprintf(buf, n, "-");
}

static void ci_text(char *buf, size_t n, double lo, double hi)
{
    char a[32], b[32];
    fmt(a, sizeof a, lo);
    fmt(b, sizeof b, hi);
    if (isfinite(lo))
        snprintf(buf, n, "[%s, %s]", a, b);
    else
        snprintf(buf, n, "-");
}

void report_print_local(FILE *f, const report *r)
{
    fprintf(f, "metric: %s; local slopes of log(error) on log(n_obs) over windows of %d consecutive "
               "n_obs levels:\nper window, each replicate with a point at every level gets its own "
               "least-squares slope; mean of the R replicate slopes, 95%% t-interval with R - 1 df;\n"
               "slope/l2: the same for error / ln^2(n) (the theory's log^2 factor removed); theory "
               "-2 beta / (2 beta + d), d = max(d_u, d_i) (d_u + d_i for joint)\n", r->metric, r->window);
    for (int i = 0; i < r->ngroups; i++) {
        const report_group *g = &r->groups[i];
        char th[32];
        fmt(th, sizeof th, g->theory_slope);
        fprintf(f, "\n%s (theory %s; whole range: %s)\n", g->label, th, g->status);
        if (!g->nwin) {
            fprintf(f, "  (fewer than %d n_obs levels: no window)\n", r->window);
            continue;
        }
        if (!strcmp(g->status, "no n_obs axis") || !strcmp(g->status, "no cold predictions")) {
            fprintf(f, "  (%s: no local slopes)\n", g->status);
            continue;
        }
        fprintf(f, "  %10s %10s %10s %4s %8s %18s %8s %18s  %s\n", "n from", "n to", "centre", "R",
                "slope", "95% CI", "slope/l2", "95% CI (log^2)", "status");
        for (int w = 0; w < g->nwin; w++) {
            const report_window *v = &g->win[w];
            char s[32], s2[32], ci[80], ci2[80];
            fmt(s, sizeof s, v->slope);
            fmt(s2, sizeof s2, v->slope_log2);
            ci_text(ci, sizeof ci, v->lo, v->hi);
            ci_text(ci2, sizeof ci2, v->lo_log2, v->hi_log2);
            char st[96];
            if (!strcmp(v->status, "budget-limited"))
                snprintf(st, sizeof st, "budget-limited (%d cells at the cap)", v->n_capped);
            else
                snprintf(st, sizeof st, "%s", v->status);
            fprintf(f, "  %10.0f %10.0f %10.0f %4d %8s %18s %8s %18s  %s\n", v->n_lo, v->n_hi, v->n_mid,
                    v->n_replicates, s, ci, s2, ci2, st);
        }
    }
}

static void csv_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.17g", v);
    else
        fputs(",", f);
}

void report_print_local_csv(FILE *f, const report *r)
{
    fputs("method", f);
    for (int k = 0; k < r->nvarying; k++) {
        fputc(',', f);
        h5out_csv_field(f, grouping_short(r->varying[k]));
    }
    fputs(",metric,window,n_from,n_to,n_centre,n_replicates,n_capped,slope,slope_ci_low,"
          "slope_ci_high,slope_log2,slope_log2_ci_low,slope_log2_ci_high,theory_slope,status\n", f);
    for (int i = 0; i < r->ngroups; i++) {
        const report_group *g = &r->groups[i];
        for (int w = 0; w < g->nwin; w++) {
            const report_window *v = &g->win[w];
            h5out_csv_field(f, g->method);
            for (int k = 0; k < r->nvarying; k++) {
                fputc(',', f);
                h5out_csv_field(f, kv_str(&g->keys, r->varying[k], ""));
            }
            fprintf(f, ",%s,%d,%.0f,%.0f,%.10g,%d,%d", r->metric, r->window, v->n_lo, v->n_hi,
                    v->n_mid, v->n_replicates, v->n_capped);
            csv_num(f, v->slope);
            csv_num(f, v->lo);
            csv_num(f, v->hi);
            csv_num(f, v->slope_log2);
            csv_num(f, v->lo_log2);
            csv_num(f, v->hi_log2);
            csv_num(f, g->theory_slope);
            fputc(',', f);
            h5out_csv_field(f, v->status);
            fputc('\n', f);
        }
    }
}
