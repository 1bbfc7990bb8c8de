/* report.c — convergence slopes per group with 95% CIs (see report.h). */
#include "report.h"
#include "grouping.h"
#include "h5out.h"
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int report_fit(const double *x, const double *y, int n, double *a, double *b, double *lo, double *hi)
{
    if (n < 3)
        return -1;
    double c0, c1, cov00, cov01, cov11, sumsq;
    double xmin = x[0], xmax = x[0];
    for (int k = 1; k < n; k++) {
        xmin = fmin(xmin, x[k]);
        xmax = fmax(xmax, x[k]);
    }
    if (xmax - xmin <= 0)
        return -1;
    gsl_fit_linear(x, 1, y, 1, (size_t)n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    /* gsl_fit_linear's cov11 is sumsq/(n-2) / Sxx: the usual OLS variance of the slope */
    double t = gsl_cdf_tdist_Pinv(0.975, n - 2);
    double se = sqrt(cov11);
    *a = c0;
    *b = c1;
    *lo = c1 - t * se;
    *hi = c1 + t * se;
    return 0;
}

static double metric_of(const cell_record *r, const char *metric)
{
    for (int k = 0; k < r->metrics.n; k++)
        if (!strcmp(r->metrics.name[k], metric))
            return r->metrics.value[k];
    return NAN;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}




/* Mean error at the largest n of the baseline group with the same data keys. */
static double baseline_error(const report *r, const report_group *g)
{
    for (int i = 0; i < r->ngroups; i++) {
        const report_group *b = &r->groups[i];
        if (strcmp(b->method, "baseline") || b->nlev == 0)
            continue;
        int same = 1;
        for (int j = 0; j < g->keys.n && same; j++) {
            if (strncmp(g->keys.key[j], "data.", 5))
                continue;
            const char *v = kv_get(&b->keys, g->keys.key[j]);
            same = v && !strcmp(v, g->keys.val[j]);
        }
        if (same)
            return b->lev_mean[b->nlev - 1];
    }
    return NAN;
}

static const char *const slope_ignore[] = {"data.n_obs", NULL};

/* Does any record have a different n_obs than the first? */
static int nobs_varies_in(const cell_record *recs, int n)
{
    const char *first = NULL;
    for (int i = 0; i < n; i++) {
        const char *v = kv_get(&recs[i].config, "data.n_obs");
        if (!v)
            continue;
        if (!first)
            first = v;
        else if (strcmp(first, v))
            return 1;
    }
    return 0;
}

int report_build(const cell_record *recs, int n, const char *metric, report *out)
{
    memset(out, 0, sizeof *out);
    out->metric = metric;
    grouping gr;
    if (grouping_build(recs, n, slope_ignore, &gr) != 0) {
        grouping_free(&gr);
        return -1;
    }
    out->varying = gr.keys;
    out->nvarying = gr.nkeys;
    gr.keys = NULL;
    gr.nkeys = 0;
    int nobs_varies = nobs_varies_in(recs, n);
    int *gid = gr.gid;
    out->ngroups = gr.ngroups;
    out->groups = calloc((size_t)(gr.ngroups + 1), sizeof *out->groups);
    out->rec_group = malloc((size_t)(n + 1) * sizeof *out->rec_group);
    if (!out->groups || !out->rec_group) {
        grouping_free(&gr);
        return -1;
    }
    memcpy(out->rec_group, gid, (size_t)n * sizeof *gid);
    for (int q = 0; q < gr.ngroups; q++) {
        report_group *g = &out->groups[q];
        const cell_record *r = &recs[gr.first[q]];
        g->method = strdup(kv_str(&r->config, "method", "?"));
        g->label = gr.label[q];
        gr.label[q] = NULL;
        kv_init(&g->keys);
        for (int k = 0; k < out->nvarying; k++) {
            const char *v = kv_get(&r->config, out->varying[k]);
            kv_set(&g->keys, out->varying[k], v ? v : "");
        }
    }

    for (int gi = 0; gi < out->ngroups; gi++) {
        report_group *g = &out->groups[gi];
        double *x = malloc((size_t)(n + 1) * sizeof *x), *y = malloc((size_t)(n + 1) * sizeof *y);
        double *y2 = malloc((size_t)(n + 1) * sizeof *y2);
        if (!x || !y || !y2)
            return -1;
        int m = 0;
        const cell_record *any = NULL;
        for (int i = 0; i < n; i++) {
            if (gid[i] != gi)
                continue;
            any = &recs[i];
            double e = metric_of(&recs[i], metric);
            double nobs = kv_real(&recs[i].config, "data.n_obs", NAN);
            if (strcmp(recs[i].status, "ok")) {
                g->n_failed++;
                continue;
            }
            if (!isfinite(e))   /* the metric does not apply (e.g. real data): not a failure */
                continue;
            if (!(e > 0) || !(nobs > 1))
                continue;
            x[m] = log(nobs);
            y[m] = log(e);
            y2[m] = log(e / (log(nobs) * log(nobs)));
            m++;
        }
        out->n_failed_total += g->n_failed;
        g->n_points = m;
        /* per-level summaries */
        double *xs = malloc((size_t)(m + 1) * sizeof *xs);
        memcpy(xs, x, (size_t)m * sizeof *xs);
        qsort(xs, (size_t)m, sizeof *xs, cmp_double);
        int nlev = 0;
        for (int k = 0; k < m; k++)
            if (k == 0 || xs[k] != xs[k - 1])
                xs[nlev++] = xs[k];
        g->n_levels = g->nlev = nlev;
        g->lev_n = malloc((size_t)(nlev + 1) * sizeof(double));
        g->lev_mean = malloc((size_t)(nlev + 1) * sizeof(double));
        g->lev_lo = malloc((size_t)(nlev + 1) * sizeof(double));
        g->lev_hi = malloc((size_t)(nlev + 1) * sizeof(double));
        g->lev_count = malloc((size_t)(nlev + 1) * sizeof(int));
        double *vals = malloc((size_t)(m + 1) * sizeof *vals);
        for (int l = 0; l < nlev; l++) {
            int c = 0;
            for (int k = 0; k < m; k++)
                if (x[k] == xs[l])
                    vals[c++] = y[k];   /* log error */
            /* geometric mean and a 95% t-interval of the mean of log(error): the same scale
             * as the fit, and never below zero */
            double mean = gsl_stats_mean(vals, 1, (size_t)c);
            double half = 0;
            if (c > 1)
                half = gsl_cdf_tdist_Pinv(0.975, c - 1) * gsl_stats_sd_m(vals, 1, (size_t)c, mean) / sqrt(c);
            g->lev_n[l] = exp(xs[l]);
            g->lev_mean[l] = exp(mean);
            g->lev_lo[l] = exp(mean - half);
            g->lev_hi[l] = exp(mean + half);
            g->lev_count[l] = c;
            if (c > g->n_replicates)
                g->n_replicates = c;
        }
        free(vals);
        free(xs);
        g->err_at_max_n = nlev ? g->lev_mean[nlev - 1] : NAN;
        double beta = any ? kv_real(&any->config, "data.beta", NAN) : NAN;
        double du = any ? kv_real(&any->config, "data.user_intrinsic_dim", NAN) : NAN;
        double di = any ? kv_real(&any->config, "data.item_intrinsic_dim", NAN) : NAN;
        const char *truth = any ? kv_str(&any->config, "data.truth", "") : "";
        g->theory_slope = !strcmp(truth, "smooth") ? -1.0 : -2 * beta / (2 * beta + fmax(du, di));
        g->slope = g->slope_lo = g->slope_hi = g->slope_log2 = g->slope_log2_lo = g->slope_log2_hi = NAN;
        if (!nobs_varies)
            g->status = "no n_obs axis";
        else if (nlev < REPORT_MIN_LEVELS || m < REPORT_MIN_POINTS)
            g->status = "too few points";
        else {
            double a, a2;
            report_fit(x, y, m, &a, &g->slope, &g->slope_lo, &g->slope_hi);
            report_fit(x, y2, m, &a2, &g->slope_log2, &g->slope_log2_lo, &g->slope_log2_hi);
            g->intercept = a;
            g->status = "fitted";
        }
        free(x);
        free(y);
        free(y2);
    }
    grouping_free(&gr);
    /* learning check: needs the baseline groups built first */
    for (int gi = 0; gi < out->ngroups; gi++) {
        report_group *g = &out->groups[gi];
        if (strcmp(g->status, "fitted") || !strcmp(g->method, "baseline") ||
            !strcmp(g->method, "oracle") || strncmp(metric, "excess_risk", 11))
            continue;
        double ref = baseline_error(out, g);
        if (!isfinite(ref))
            ref = 1.0;   /* Var R* = 1: the error of predicting the mean */
        if (g->err_at_max_n >= 0.9 * ref)
            g->status = "not yet learning";
    }
    return 0;
}

void report_free(report *r)
{
    for (int i = 0; i < r->ngroups; i++) {
        report_group *g = &r->groups[i];
        free(g->method);
        free(g->label);
        kv_free(&g->keys);
        free(g->lev_n);
        free(g->lev_mean);
        free(g->lev_lo);
        free(g->lev_hi);
        free(g->lev_count);
    }
    free(r->groups);
    for (int i = 0; i < r->nvarying; i++)
        free(r->varying[i]);
    free(r->varying);
    free(r->rec_group);
    memset(r, 0, sizeof *r);
}

static void fmt(char *buf, size_t n, double v)
{
    if (isfinite(v))
        snprintf(buf, n, "%.3f", v);
    else
        snprintf(buf, n, "-");
}

void report_print(FILE *f, const report *r)
{
    fprintf(f, "metric: %s; slope of log(error) on log(n_obs), 95%% CI over replicate-level points\n",
            r->metric);
    fprintf(f, "%-44s %6s %6s %8s %18s %8s %18s %8s  %s\n", "group", "points", "levels", "slope",
            "95% CI", "slope/l2", "95% CI (log^2)", "theory", "status");
    for (int i = 0; i < r->ngroups; i++) {
        const report_group *g = &r->groups[i];
        char s[32], lo[32], hi[32], s2[32], lo2[32], hi2[32], th[32], ci[80], ci2[80];
        fmt(s, sizeof s, g->slope);
        fmt(lo, sizeof lo, g->slope_lo);
        fmt(hi, sizeof hi, g->slope_hi);
        fmt(s2, sizeof s2, g->slope_log2);
        fmt(lo2, sizeof lo2, g->slope_log2_lo);
        fmt(hi2, sizeof hi2, g->slope_log2_hi);
        fmt(th, sizeof th, g->theory_slope);
        snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
        snprintf(ci2, sizeof ci2, "[%s, %s]", lo2, hi2);
        fprintf(f, "%-44s %6d %6d %8s %18s %8s %18s %8s  %s\n", g->label, g->n_points, g->n_levels,
                s, ci, s2, ci2, th, g->status);
    }
    if (r->n_failed_total)
        fprintf(f, "%d failed cells left out (t2rec export shows their reasons)\n", r->n_failed_total);
}

static void csv_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.17g", v);
    else
        fputs(",", f);
}

void report_print_csv(FILE *f, const report *r)
{
    fputs("method", f);
    for (int k = 0; k < r->nvarying; k++) {
        fputc(',', f);
        h5out_csv_field(f, grouping_short(r->varying[k]));
    }
    fputs(",metric,n_points,n_levels,n_failed,slope,slope_ci_low,slope_ci_high,slope_log2,"
          "slope_log2_ci_low,slope_log2_ci_high,theory_slope,error_at_max_n,status\n", f);
    for (int i = 0; i < r->ngroups; i++) {
        const report_group *g = &r->groups[i];
        h5out_csv_field(f, g->method);
        for (int k = 0; k < r->nvarying; k++) {
            fputc(',', f);
            h5out_csv_field(f, kv_str(&g->keys, r->varying[k], ""));
        }
        fprintf(f, ",%s,%d,%d,%d", r->metric, g->n_points, g->n_levels, g->n_failed);
        csv_num(f, g->slope);
        csv_num(f, g->slope_lo);
        csv_num(f, g->slope_hi);
        csv_num(f, g->slope_log2);
        csv_num(f, g->slope_log2_lo);
        csv_num(f, g->slope_log2_hi);
        csv_num(f, g->theory_slope);
        csv_num(f, g->err_at_max_n);
        fprintf(f, ",%s\n", g->status);
    }
}
