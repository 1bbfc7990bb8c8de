/* report_diff.c — 95% CIs for the difference of two groups' slopes (`report --diff KEY=A,B`),
 * paired by replicate when the groups share replicates, Welch otherwise (see report.h). */
#include "report.h"
#include "grouping.h"
#include "h5out.h"
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *value_of(const report_group *g, const char *key)
{
    return !strcmp(key, "method") ? g->method : kv_str(&g->keys, key, "");
}

/* Is key k's value the same function of `key`'s value in every group (a zipped axis)? */
static int tied(const report *r, const char *key, const char *k)
{
    for (int i = 0; i < r->ngroups; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(value_of(&r->groups[i], key), value_of(&r->groups[j], key)) &&
                strcmp(kv_str(&r->groups[i].keys, k, ""), kv_str(&r->groups[j].keys, k, "")))
                return 0;
    return 1;
}

/* Do groups a and b agree on everything but `key` and the keys in skip? */
static int comparable(const report *r, const report_group *a, const report_group *b, const char *key,
                      const int *skip)
{
    if (strcmp(key, "method") && strcmp(a->method, b->method))
        return 0;
    for (int k = 0; k < r->nvarying; k++)
        if (!skip[k] && strcmp(kv_str(&a->keys, r->varying[k], ""), kv_str(&b->keys, r->varying[k], "")))
            return 0;
    return 1;
}

/* CI of a difference: paired over shared replicates when there are >= 2, else Welch. */
static void diff_ci(const report_group *a, const report_group *b, report_diff_row *row, double *d,
                    double *d2, double *va, double *vb, double *va2, double *vb2)
{
    int np = 0, na = 0, nb = 0;
    for (int i = 0; i < a->nrep; i++) {
        if (!isfinite(a->reps[i].slope))
            continue;
        va[na] = a->reps[i].slope;
        va2[na++] = a->reps[i].slope_log2;
        for (int j = 0; j < b->nrep; j++)
            if (isfinite(b->reps[j].slope) && b->reps[j].replicate == a->reps[i].replicate &&
                b->reps[j].data_seed == a->reps[i].data_seed) {
                d[np] = a->reps[i].slope - b->reps[j].slope;
                d2[np++] = a->reps[i].slope_log2 - b->reps[j].slope_log2;
            }
    }
    for (int j = 0; j < b->nrep; j++)
        if (isfinite(b->reps[j].slope)) {
            vb[nb] = b->reps[j].slope;
            vb2[nb++] = b->reps[j].slope_log2;
        }
    row->n_pairs = np;
    if (np >= 2) {
        row->paired = 1;
        row->df = np - 1;
        report_mean_ci(d, np, &row->diff, &row->lo, &row->hi);
        report_mean_ci(d2, np, &row->diff_log2, &row->lo_log2, &row->hi_log2);
        return;
    }
    row->paired = 0;
    for (int pass = 0; pass < 2; pass++) {
        const double *x = pass ? va2 : va, *y = pass ? vb2 : vb;
        double mx = gsl_stats_mean(x, 1, (size_t)na), my = gsl_stats_mean(y, 1, (size_t)nb);
        double sx = gsl_stats_variance_m(x, 1, (size_t)na, mx) / na;
        double sy = gsl_stats_variance_m(y, 1, (size_t)nb, my) / nb;
        double se = sqrt(sx + sy);
        double df = se > 0 ? (sx + sy) * (sx + sy) / (sx * sx / (na - 1) + sy * sy / (nb - 1)) : na + nb - 2;
        double half = se > 0 ? gsl_cdf_tdist_Pinv(0.975, df) * se : 0;
        double *dd = pass ? &row->diff_log2 : &row->diff;
        double *lo = pass ? &row->lo_log2 : &row->lo, *hi = pass ? &row->hi_log2 : &row->hi;
        *dd = mx - my;
        *lo = mx - my - half;
        *hi = mx - my + half;
        if (!pass)
            row->df = df;
    }
}

static int fill_row(const report_group *a, const report_group *b, report_diff_row *row)
{
    row->diff = row->lo = row->hi = row->df = NAN;
    row->diff_log2 = row->lo_log2 = row->hi_log2 = NAN;
    if (!report_has_slope(a) || a->n_replicates < 2) {
        snprintf(row->status, sizeof row->status, "A: %s", report_has_slope(a) ? "one replicate" : a->status);
        return 0;
    }
    if (!report_has_slope(b) || b->n_replicates < 2) {
        snprintf(row->status, sizeof row->status, "B: %s", report_has_slope(b) ? "one replicate" : b->status);
        return 0;
    }
    size_t cap = (size_t)(a->nrep + b->nrep + 1);
    double *buf = malloc(6 * cap * sizeof *buf);
    if (!buf)
        return -1;
    diff_ci(a, b, row, buf, buf + cap, buf + 2 * cap, buf + 3 * cap, buf + 4 * cap, buf + 5 * cap);
    free(buf);
    snprintf(row->status, sizeof row->status, "ok");
    return 0;
}

int report_diff_build(const report *r, const char *spec, report_diff *out, char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    const char *eq = strchr(spec, '='), *comma = eq ? strchr(eq + 1, ',') : NULL;
    if (!eq || eq == spec || !comma || comma == eq + 1 || !comma[1] || strchr(comma + 1, ',')) {
        snprintf(msg, msglen, "--diff '%s': expected KEY=A,B (e.g. user_intrinsic_dim=2,4 or "
                              "method=twotower,mf)", spec);
        return -1;
    }
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - spec), spec);
    const char *full = NULL;
    if (!strcmp(key, "method"))
        full = "method";
    for (int k = 0; k < r->nvarying && !full; k++)
        if (!strcmp(r->varying[k], key) || !strcmp(grouping_short(r->varying[k]), key))
            full = r->varying[k];
    if (!full) {
        size_t at = (size_t)snprintf(msg, msglen, "--diff: '%s' is not a key that varies in this file "
                                                  "(keys that vary: method", key);
        for (int k = 0; k < r->nvarying && at < msglen; k++)
            at += (size_t)snprintf(msg + at, msglen - at, ", %s", grouping_short(r->varying[k]));
        if (at < msglen)
            snprintf(msg + at, msglen - at, ")");
        return -1;
    }
    out->key = strdup(full);
    out->val_a = strndup(eq + 1, (size_t)(comma - eq - 1));
    out->val_b = strdup(comma + 1);
    int *skip = calloc((size_t)r->nvarying + 1, sizeof *skip);
    out->rows = calloc((size_t)r->ngroups * (size_t)r->ngroups + 1, sizeof *out->rows);
    if (!out->key || !out->val_a || !out->val_b || !skip || !out->rows) {
        free(skip);
        report_diff_free(out);
        return -2;
    }
    int is_method = !strcmp(full, "method");
    for (int k = 0; k < r->nvarying; k++)
        skip[k] = !strcmp(r->varying[k], full) ||
                  (is_method ? !strncmp(r->varying[k], "method.", 7) : tied(r, full, r->varying[k]));
    int seen_a = 0, seen_b = 0;
    for (int i = 0; i < r->ngroups; i++) {
        const report_group *a = &r->groups[i];
        if (strcmp(value_of(a, full), out->val_a))
            continue;
        seen_a = 1;
        for (int j = 0; j < r->ngroups; j++) {
            const report_group *b = &r->groups[j];
            if (strcmp(value_of(b, full), out->val_b))
                continue;
            seen_b = 1;
            if (!comparable(r, a, b, full, skip))
                continue;
            report_diff_row *row = &out->rows[out->nrows++];
            row->a = i;
            row->b = j;
            if (fill_row(a, b, row) != 0) {
                free(skip);
                report_diff_free(out);
                return -2;
            }
        }
    }
    free(skip);
    if (!seen_a || !seen_b || !out->nrows) {
        snprintf(msg, msglen, "--diff %s: %s", spec,
                 !seen_a ? "no group has the first value" : !seen_b ? "no group has the second value"
                         : "no two groups differ only in that key");
        report_diff_free(out);
        return -1;
    }
    return 0;
}

void report_diff_free(report_diff *d)
{
    free(d->key);
    free(d->val_a);
    free(d->val_b);
    free(d->rows);
    memset(d, 0, sizeof *d);
}

static void fmt3(char *buf, size_t n, double v)
{
    if (isfinite(v))
        snprintf(buf, n, "%.3f", v);
    else
        snprintf(buf, n, "-");
}

void report_diff_print(FILE *f, const report *r, const report_diff *d)
{
    const char *k = grouping_short(d->key);
    fprintf(f, "metric: %s; difference of slopes slope(%s=%s) - slope(%s=%s) with a 95%% CI\n"
               "(paired: over the replicates both groups share (replicate index and data seed), t with "
               "R - 1 df; welch: unpaired, Welch-Satterthwaite df)\n",
            r->metric, k, d->val_a, k, d->val_b);
    fprintf(f, "%-36s %-36s %8s %18s %8s %18s %-12s %s\n", "group A", "group B", "diff", "95% CI",
            "diff/l2", "95% CI (log^2)", "pairing", "status");
    for (int i = 0; i < d->nrows; i++) {
        const report_diff_row *w = &d->rows[i];
        char s[32], lo[32], hi[32], s2[32], lo2[32], hi2[32], ci[80], ci2[80], pairing[32];
        fmt3(s, sizeof s, w->diff);
        fmt3(lo, sizeof lo, w->lo);
        fmt3(hi, sizeof hi, w->hi);
        fmt3(s2, sizeof s2, w->diff_log2);
        fmt3(lo2, sizeof lo2, w->lo_log2);
        fmt3(hi2, sizeof hi2, w->hi_log2);
        snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
        snprintf(ci2, sizeof ci2, "[%s, %s]", lo2, hi2);
        if (strcmp(w->status, "ok"))
            snprintf(pairing, sizeof pairing, "-");
        else if (w->paired)
            snprintf(pairing, sizeof pairing, "paired R=%d", w->n_pairs);
        else
            snprintf(pairing, sizeof pairing, "welch %d/%d", r->groups[w->a].n_replicates,
                     r->groups[w->b].n_replicates);
        fprintf(f, "%-36s %-36s %8s %18s %8s %18s %-12s %s\n", r->groups[w->a].label,
                r->groups[w->b].label, s, strcmp(w->status, "ok") ? "-" : ci, s2,
                strcmp(w->status, "ok") ? "-" : ci2, pairing, w->status);
    }
}

static void num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.17g", v);
    else
        fputs(",", f);
}

void report_diff_print_csv(FILE *f, const report *r, const report_diff *d)
{
    fputs("metric,key,value_a,value_b,group_a,group_b,pairing,n_pairs,df,diff,diff_ci_low,"
          "diff_ci_high,diff_log2,diff_log2_ci_low,diff_log2_ci_high,status\n", f);
    for (int i = 0; i < d->nrows; i++) {
        const report_diff_row *w = &d->rows[i];
        h5out_csv_field(f, r->metric);
        fputc(',', f);
        h5out_csv_field(f, grouping_short(d->key));
        fputc(',', f);
        h5out_csv_field(f, d->val_a);
        fputc(',', f);
        h5out_csv_field(f, d->val_b);
        fputc(',', f);
        h5out_csv_field(f, r->groups[w->a].label);
        fputc(',', f);
        h5out_csv_field(f, r->groups[w->b].label);
        int ok = !strcmp(w->status, "ok");
        fprintf(f, ",%s,%d", !ok ? "" : w->paired ? "paired" : "welch", w->n_pairs);
        num(f, w->df);
        num(f, w->diff);
        num(f, w->lo);
        num(f, w->hi);
        num(f, w->diff_log2);
        num(f, w->lo_log2);
        num(f, w->hi_log2);
        fputc(',', f);
        h5out_csv_field(f, w->status);
        fputc('\n', f);
    }
}
