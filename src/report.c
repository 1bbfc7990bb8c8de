/* report.c — convergence slopes per group with 95% CIs from per-replicate slopes (see
 * report.h); the metric check and the list of failed cells. */
#include "report.h"
#include "grouping.h"
#include "h5out.h"
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Methods that use no covariates: on users and items never seen in training they predict
 * the (biased) mean, so a test_cold metric measures no learning of theirs. */
static const char *const no_covariate_methods[] = {"mf", "baseline", "autorec", NULL};

int report_ols(const double *x, const double *y, int n, double *a, double *b)
{
    if (n < 2)
        return -1;
    double xmin = x[0], xmax = x[0];
    for (int k = 1; k < n; k++) {
        xmin = fmin(xmin, x[k]);
        xmax = fmax(xmax, x[k]);
    }
    if (!(xmax - xmin > 0))
        return -1;
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(x, 1, y, 1, (size_t)n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    *a = c0;
    *b = c1;
    return 0;
}

int report_fit(const double *x, const double *y, int n, double *a, double *b, double *lo, double *hi)
{
    if (n < 3 || report_ols(x, y, n, a, b) != 0)
        return -1;
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(x, 1, y, 1, (size_t)n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    /* gsl_fit_linear's cov11 is sumsq/(n-2) / Sxx: the usual OLS variance of the slope */
    double t = gsl_cdf_tdist_Pinv(0.975, n - 2);
    double se = sqrt(cov11);
    *lo = c1 - t * se;
    *hi = c1 + t * se;
    return 0;
}

int report_mean_ci(const double *v, int n, double *mean, double *lo, double *hi)
{
    if (n < 1)
        return -1;
    double m = gsl_stats_mean(v, 1, (size_t)n);
    *mean = m;
    if (n < 2) {
        *lo = *hi = NAN;
        return 0;
    }
    double half = gsl_cdf_tdist_Pinv(0.975, n - 1) * gsl_stats_sd_m(v, 1, (size_t)n, m) / sqrt(n);
    *lo = m - half;
    *hi = m + half;
    return 0;
}

int report_has_slope(const report_group *g)
{
    return !strcmp(g->status, "fitted") || !strcmp(g->status, "one replicate");
}

static double metric_of(const cell_record *r, const char *metric)
{
    for (int k = 0; k < r->metrics.n; k++)
        if (!strcmp(r->metrics.name[k], metric))
            return r->metrics.value[k];
    return NAN;
}

/* Is the metric measured on test_cold for this record? (*_cold; on synthetic data the
 * ranking metrics are computed on test_cold too, SPEC section 6.) */
static int metric_on_test_cold(const char *metric, const cell_record *r)
{
    size_t len = strlen(metric);
    if (len >= 5 && !strcmp(metric + len - 5, "_cold"))
        return 1;
    if (strcmp(kv_str(&r->config, "data.source", "synthetic"), "synthetic"))
        return 0;
    return !strcmp(metric, "ndcg_at_10") || !strcmp(metric, "recall_at_10") ||
           !strcmp(metric, "regret_at_10");
}

static int uses_covariates(const char *method)
{
    for (int k = 0; no_covariate_methods[k]; k++)
        if (!strcmp(no_covariate_methods[k], method))
            return 0;
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

const report_group *report_baseline_of(const report *r, const report_group *g)
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
            return b;
    }
    return NULL;
}

/* Mean error at the largest n of the baseline group with the same data keys. */
static double baseline_error(const report *r, const report_group *g)
{
    const report_group *b = report_baseline_of(r, g);
    return b ? b->lev_mean[b->nlev - 1] : NAN;
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

typedef report_point point;

static int cmp_point(const void *pa, const void *pb)
{
    const point *a = pa, *b = pb;
    if (a->replicate != b->replicate)
        return a->replicate < b->replicate ? -1 : 1;
    if (a->data_seed != b->data_seed)
        return a->data_seed < b->data_seed ? -1 : 1;
    return (a->x > b->x) - (a->x < b->x);
}

/* Per-level summary of the group's points (sorted by replicate). 0 or -1 (memory). */
static int level_summary(report_group *g, const point *p, int m)
{
    double *xs = malloc((size_t)(m + 1) * sizeof *xs);
    double *vals = malloc((size_t)(m + 1) * sizeof *vals);
    if (!xs || !vals) {
        free(xs);
        free(vals);
        return -1;
    }
    for (int k = 0; k < m; k++)
        xs[k] = p[k].x;
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
    if (!g->lev_n || !g->lev_mean || !g->lev_lo || !g->lev_hi || !g->lev_count) {
        free(xs);
        free(vals);
        return -1;
    }
    for (int l = 0; l < nlev; l++) {
        int c = 0;
        for (int k = 0; k < m; k++)
            if (p[k].x == xs[l])
                vals[c++] = p[k].y;   /* log error */
        /* geometric mean and a 95% t-interval of the mean of log(error): the same scale
         * as the fit, and never below zero */
        double mean, lo, hi;
        report_mean_ci(vals, c, &mean, &lo, &hi);
        if (c < 2)
            lo = hi = mean;
        g->lev_n[l] = exp(xs[l]);
        g->lev_mean[l] = exp(mean);
        g->lev_lo[l] = exp(lo);
        g->lev_hi[l] = exp(hi);
        g->lev_count[l] = c;
    }
    free(xs);
    free(vals);
    return 0;
}

/* Per-replicate fits of the group's points (sorted by replicate, seed, x). 0 or -1. */
static int replicate_fits(report_group *g, const point *p, int m)
{
    int nrep = 0;
    for (int k = 0; k < m; k++)
        nrep += k == 0 || p[k].replicate != p[k - 1].replicate || p[k].data_seed != p[k - 1].data_seed;
    g->reps = calloc((size_t)nrep + 1, sizeof *g->reps);
    double *x = malloc((size_t)(m + 1) * sizeof *x), *y = malloc((size_t)(m + 1) * sizeof *y);
    double *y2 = malloc((size_t)(m + 1) * sizeof *y2);
    if (!g->reps || !x || !y || !y2) {
        free(x);
        free(y);
        free(y2);
        return -1;
    }
    g->nrep = 0;
    for (int k = 0; k < m;) {
        int e = k;
        while (e < m && p[e].replicate == p[k].replicate && p[e].data_seed == p[k].data_seed)
            e++;
        report_rep *rp = &g->reps[g->nrep++];
        rp->replicate = p[k].replicate;
        rp->data_seed = p[k].data_seed;
        rp->n_points = e - k;
        rp->n_levels = 0;
        for (int j = k; j < e; j++) {
            rp->n_levels += j == k || p[j].x != p[j - 1].x;
            x[j - k] = p[j].x;
            y[j - k] = p[j].y;
            y2[j - k] = p[j].y2;
        }
        rp->slope = rp->slope_log2 = NAN;
        double a;
        if (rp->n_levels >= REPORT_MIN_LEVELS) {
            report_ols(x, y, e - k, &a, &rp->slope);
            report_ols(x, y2, e - k, &a, &rp->slope_log2);
        }
        k = e;
    }
    free(x);
    free(y);
    free(y2);
    return 0;
}

/* Slope, CI and intercept of the group from its replicate fits. */
static void group_slope(report_group *g, const point *p, int m)
{
    double *b = malloc((size_t)(g->nrep + 1) * sizeof *b), *b2 = malloc((size_t)(g->nrep + 1) * sizeof *b2);
    if (!b || !b2) {   /* no slope rather than a wrong one; callers see the NaNs */
        free(b);
        free(b2);
        return;
    }
    int r = 0;
    for (int k = 0; k < g->nrep; k++)
        if (isfinite(g->reps[k].slope)) {
            b[r] = g->reps[k].slope;
            b2[r++] = g->reps[k].slope_log2;
        }
    g->n_replicates = r;
    if (r > 0) {
        report_mean_ci(b, r, &g->slope, &g->slope_lo, &g->slope_hi);
        report_mean_ci(b2, r, &g->slope_log2, &g->slope_log2_lo, &g->slope_log2_hi);
        /* the line's intercept through the mean point with the group slope (for plots) */
        double mx = 0, my = 0;
        for (int k = 0; k < m; k++) {
            mx += p[k].x;
            my += p[k].y;
        }
        g->intercept = my / m - g->slope * (mx / m);
    }
    free(b);
    free(b2);
}

/* Fill group g (keys, label, method already set) from the records of group gi. 0 or -1. */
static int build_group(report_group *g, int gi, const int *gid, const cell_record *recs, int n,
                       const char *metric, int nobs_varies, int window)
{
    point *p = malloc((size_t)(n + 1) * sizeof *p);
    if (!p)
        return -1;
    int m = 0;
    const cell_record *any = NULL;
    int cold = 0;
    for (int i = 0; i < n; i++) {
        if (gid[i] != gi)
            continue;
        any = &recs[i];
        cold |= metric_on_test_cold(metric, &recs[i]);
        if (strcmp(recs[i].status, "ok")) {
            g->n_failed++;
            continue;
        }
        double e = metric_of(&recs[i], metric);
        double nobs = kv_real(&recs[i].config, "data.n_obs", NAN);
        if (!isfinite(e))   /* the metric does not apply (e.g. real data): not a failure */
            continue;
        g->n_cells++;
        if (!strcmp(recs[i].curves.stopped_by, "cap"))
            g->n_capped++;
        if (!(e > 0) || !(nobs > 1))
            continue;
        p[m].replicate = recs[i].replicate;
        p[m].data_seed = recs[i].data_seed;
        p[m].x = log(nobs);
        p[m].y = log(e);
        p[m].y2 = log(e / (log(nobs) * log(nobs)));
        p[m].capped = !strcmp(recs[i].curves.stopped_by, "cap");
        m++;
    }
    g->n_points = m;
    qsort(p, (size_t)m, sizeof *p, cmp_point);
    if (level_summary(g, p, m) != 0 || replicate_fits(g, p, m) != 0) {
        free(p);
        return -1;
    }
    g->err_at_max_n = g->nlev ? g->lev_mean[g->nlev - 1] : NAN;
    double beta = any ? kv_real(&any->config, "data.beta", NAN) : NAN;
    double du = any ? kv_real(&any->config, "data.user_intrinsic_dim", NAN) : NAN;
    double di = any ? kv_real(&any->config, "data.item_intrinsic_dim", NAN) : NAN;
    const char *truth = any ? kv_str(&any->config, "data.truth", "") : "";
    /* the theory's d: max(d_u, d_i) for a model that factorises into a user and an item tower;
     * d_u + d_i for the joint network on [x_u, x_i] (docs/theory.md, "Structure") */
    double dth = !strcmp(g->method, "joint") ? du + di : fmax(du, di);
    g->theory_slope = !strcmp(truth, "smooth") ? -1.0 : -2 * beta / (2 * beta + dth);
    g->slope = g->slope_lo = g->slope_hi = g->intercept = NAN;
    g->slope_log2 = g->slope_log2_lo = g->slope_log2_hi = NAN;
    int usable = 0;
    for (int k = 0; k < g->nrep; k++)
        usable += isfinite(g->reps[k].slope);
    g->n_replicates = usable;
    if (!nobs_varies)
        g->status = "no n_obs axis";
    else if (cold && !uses_covariates(g->method))
        g->status = "no cold predictions";
    else if (g->nlev < REPORT_MIN_LEVELS || m < REPORT_MIN_POINTS || usable == 0)
        g->status = "too few points";
    else if (g->n_capped > 0)
        g->status = "budget-limited";
    else {
        group_slope(g, p, m);
        g->status = !isfinite(g->slope) ? "too few points"
                    : g->n_replicates == 1 ? "one replicate" : "fitted";
    }
    if (window > 0 && report_local_windows(g, p, m, window) != 0) {
        free(p);
        return -1;
    }
    free(p);
    return 0;
}

static int build(const cell_record *recs, int n, const char *metric, report *out)
{
    grouping gr;
    if (grouping_build(recs, n, slope_ignore, &gr) != 0) {
        grouping_free(&gr);
        return -1;
    }
    out->varying = gr.keys;
    out->nvarying = gr.nkeys;
    gr.keys = NULL;
    gr.nkeys = 0;
    out->groups = calloc((size_t)(gr.ngroups + 1), sizeof *out->groups);
    out->rec_group = malloc((size_t)(n + 1) * sizeof *out->rec_group);
    if (!out->groups || !out->rec_group) {
        grouping_free(&gr);
        return -1;
    }
    out->ngroups = gr.ngroups;
    for (int q = 0; q < gr.ngroups; q++) {
        report_group *g = &out->groups[q];
        kv_init(&g->keys);
        g->status = "too few points";
    }
    memcpy(out->rec_group, gr.gid, (size_t)n * sizeof *gr.gid);
    int nobs_varies = nobs_varies_in(recs, n);
    for (int q = 0; q < gr.ngroups; q++) {
        report_group *g = &out->groups[q];
        const cell_record *r = &recs[gr.first[q]];
        g->method = strdup(kv_str(&r->config, "method", "?"));
        g->label = gr.label[q];
        gr.label[q] = NULL;
        if (!g->method) {
            grouping_free(&gr);
            return -1;
        }
        for (int k = 0; k < out->nvarying; k++) {
            const char *v = kv_get(&r->config, out->varying[k]);
            if (kv_set(&g->keys, out->varying[k], v ? v : "") != 0) {
                grouping_free(&gr);
                return -1;
            }
        }
        if (build_group(g, q, gr.gid, recs, n, metric, nobs_varies, out->window) != 0) {
            grouping_free(&gr);
            return -1;
        }
        out->n_failed_total += g->n_failed;
    }
    grouping_free(&gr);
    /* learning check: needs the baseline groups built first */
    for (int gi = 0; gi < out->ngroups; gi++) {
        report_group *g = &out->groups[gi];
        out->n_budget_limited += !strcmp(g->status, "budget-limited");
        if (!report_has_slope(g) || !strcmp(g->method, "oracle") || strncmp(metric, "excess_risk", 11))
            continue;
        /* the baseline itself is compared with Var R* only */
        double ref = strcmp(g->method, "baseline") ? baseline_error(out, g) : NAN;
        if (!isfinite(ref))
            ref = 1.0;   /* Var R* = 1: the error of predicting the mean */
        if (g->err_at_max_n >= 0.9 * ref) {
            g->status = "not yet learning";
            g->slope = g->slope_lo = g->slope_hi = g->intercept = NAN;
            g->slope_log2 = g->slope_log2_lo = g->slope_log2_hi = NAN;
        }
    }
    if (out->window > 0)
        report_local_learning(out);
    return 0;
}

int report_build(const cell_record *recs, int n, const char *metric, report *out)
{
    return report_build_local(recs, n, metric, 0, out);
}

int report_build_local(const cell_record *recs, int n, const char *metric, int window, report *out)
{
    memset(out, 0, sizeof *out);
    out->metric = metric;
    out->window = window;
    if (build(recs, n, metric, out) != 0) {
        report_free(out);
        return -1;
    }
    return 0;
}

void report_free(report *r)
{
    for (int i = 0; r->groups && i < r->ngroups; i++) {
        report_group *g = &r->groups[i];
        free(g->method);
        free(g->label);
        kv_free(&g->keys);
        free(g->reps);
        free(g->lev_n);
        free(g->lev_mean);
        free(g->lev_lo);
        free(g->lev_hi);
        free(g->lev_count);
        free(g->win);
    }
    free(r->groups);
    for (int i = 0; i < r->nvarying; i++)
        free(r->varying[i]);
    free(r->varying);
    free(r->rec_group);
    memset(r, 0, sizeof *r);
}

int report_check_metric(const cell_record *recs, int n, const char *metric, char *msg, size_t msglen)
{
    enum { MAX_NAMES = 64 };
    const char *names[MAX_NAMES];
    int nn = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < recs[i].metrics.n; k++) {
            const char *name = recs[i].metrics.name[k];
            if (!strcmp(name, metric))
                return 0;
            int seen = 0;
            for (int j = 0; j < nn && !seen; j++)
                seen = !strcmp(names[j], name);
            if (!seen && nn < MAX_NAMES)
                names[nn++] = name;
        }
    size_t at = (size_t)snprintf(msg, msglen, "unknown metric '%s'; ", metric);
    if (!nn && at < msglen)
        snprintf(msg + at, msglen - at, "the file has no metrics (no ok cells?)");
    for (int j = 0; j < nn && at < msglen; j++)
        at += (size_t)snprintf(msg + at, msglen - at, "%s%s", j ? ", " : "metrics in this file: ", names[j]);
    return -1;
}

int report_print_failed(FILE *f, const cell_record *recs, int n, int csv)
{
    grouping gr;
    if (grouping_build(recs, n, NULL, &gr) != 0) {
        grouping_free(&gr);
        return -1;
    }
    int nfail = 0;
    if (csv) {
        fputs("key,method", f);
        for (int k = 0; k < gr.nkeys; k++) {
            fputc(',', f);
            h5out_csv_field(f, grouping_short(gr.keys[k]));
        }
        fputs(",replicate,reason\n", f);
    }
    for (int i = 0; i < n; i++) {
        const cell_record *r = &recs[i];
        if (!strcmp(r->status, "ok"))
            continue;
        nfail++;
        const char *reason = r->reason && *r->reason ? r->reason : "(no reason recorded)";
        if (csv) {
            fprintf(f, "%s,", r->key);
            h5out_csv_field(f, kv_str(&r->config, "method", ""));
            for (int k = 0; k < gr.nkeys; k++) {
                fputc(',', f);
                h5out_csv_field(f, kv_str(&r->config, gr.keys[k], ""));
            }
            fprintf(f, ",%d,", r->replicate);
            h5out_csv_field(f, reason);
            fputc('\n', f);
            continue;
        }
        fprintf(f, "%s %s", r->key, kv_str(&r->config, "method", "?"));
        for (int k = 0; k < gr.nkeys; k++) {
            const char *v = kv_get(&r->config, gr.keys[k]);
            if (v)
                fprintf(f, " %s=%s", grouping_short(gr.keys[k]), v);
        }
        fprintf(f, " replicate=%d: %s\n", r->replicate, reason);
    }
    if (!csv)
        fprintf(f, "%d failed cell%s of %d\n", nfail, nfail == 1 ? "" : "s", n);
    grouping_free(&gr);
    return 0;
}

static void fmt(char *buf, size_t n, double v)
{
    if (isfinite(v))
        snprintf(buf, n, "%.3f", v);
    else
        snprintf(buf, n, "-");
}

/* The status column: budget-limited groups say how many of their cells hit the cap. */
static void status_text(char *buf, size_t n, const report_group *g)
{
    if (!strcmp(g->status, "budget-limited"))
        snprintf(buf, n, "budget-limited (%d of %d cells at the cap)", g->n_capped, g->n_cells);
    else if (g->n_capped)
        snprintf(buf, n, "%s (%d of %d cells at the cap)", g->status, g->n_capped, g->n_cells);
    else
        snprintf(buf, n, "%s", g->status);
}

void report_print(FILE *f, const report *r)
{
    fprintf(f, "metric: %s; slope of log(error) on log(n_obs): mean of the per-replicate slopes, "
               "95%% t-interval with R - 1 df over the R replicates\n", r->metric);
    fprintf(f, "%-44s %6s %6s %4s %8s %18s %8s %18s %8s  %s\n", "group", "points", "levels", "R",
            "slope", "95% CI", "slope/l2", "95% CI (log^2)", "theory", "status");
    for (int i = 0; i < r->ngroups; i++) {
        const report_group *g = &r->groups[i];
        char s[32], lo[32], hi[32], s2[32], lo2[32], hi2[32], th[32], ci[80], ci2[80], st[96];
        fmt(s, sizeof s, g->slope);
        fmt(lo, sizeof lo, g->slope_lo);
        fmt(hi, sizeof hi, g->slope_hi);
        fmt(s2, sizeof s2, g->slope_log2);
        fmt(lo2, sizeof lo2, g->slope_log2_lo);
        fmt(hi2, sizeof hi2, g->slope_log2_hi);
        fmt(th, sizeof th, g->theory_slope);
        snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
        snprintf(ci2, sizeof ci2, "[%s, %s]", lo2, hi2);
        if (!report_has_slope(g) || g->n_replicates < 2) {
            snprintf(ci, sizeof ci, "-");
            snprintf(ci2, sizeof ci2, "-");
        }
        status_text(st, sizeof st, g);
        fprintf(f, "%-44s %6d %6d %4d %8s %18s %8s %18s %8s  %s\n", g->label, g->n_points, g->n_levels,
                g->n_replicates, s, ci, s2, ci2, th, st);
    }
    if (r->n_budget_limited)
        fprintf(f, "%d group%s budget-limited: some cells stopped at the epoch cap while still "
                   "improving, so no rate is given (raise the budget and rerun)\n",
                r->n_budget_limited, r->n_budget_limited == 1 ? "" : "s");
    if (r->n_failed_total)
        fprintf(f, "%d failed cells left out (t2rec report --failed lists them)\n", r->n_failed_total);
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
    fputs(",metric,n_points,n_levels,n_replicates,n_failed,n_capped,slope,slope_ci_low,"
          "slope_ci_high,slope_log2,slope_log2_ci_low,slope_log2_ci_high,theory_slope,"
          "error_at_max_n,status\n", f);
    for (int i = 0; i < r->ngroups; i++) {
        const report_group *g = &r->groups[i];
        h5out_csv_field(f, g->method);
        for (int k = 0; k < r->nvarying; k++) {
            fputc(',', f);
            h5out_csv_field(f, kv_str(&g->keys, r->varying[k], ""));
        }
        fprintf(f, ",%s,%d,%d,%d,%d,%d", r->metric, g->n_points, g->n_levels, g->n_replicates,
                g->n_failed, g->n_capped);
        csv_num(f, g->slope);
        csv_num(f, g->slope_lo);
        csv_num(f, g->slope_hi);
        csv_num(f, g->slope_log2);
        csv_num(f, g->slope_log2_lo);
        csv_num(f, g->slope_log2_hi);
        csv_num(f, g->theory_slope);
        csv_num(f, g->err_at_max_n);
        fputc(',', f);
        h5out_csv_field(f, g->status);
        fputc('\n', f);
    }
}
