/* summary.c — mean metrics per group with 95% CIs (see summary.h). */
#include "summary.h"
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *metric_order[] = {
    "excess_risk_cold", "excess_risk_warm", "rmse_cold", "rmse_warm", "mae_cold", "mae_warm",
    "ndcg_at_10", "recall_at_10", "regret_at_10", "rmse", "mae", "precision_at_10", "map_at_10",
    NULL};

static int skip_key(const char *k)
{
    return !strcmp(k, "data.fold") || !strncmp(k, "experiment.", 11);
}

static int varies(const cell_record *recs, int n, const char *k)
{
    const char *first = NULL;
    for (int i = 0; i < n; i++) {
        const char *v = kv_get(&recs[i].config, k);
        if (!v)
            return 1;
        if (!first)
            first = v;
        else if (strcmp(first, v))
            return 1;
    }
    return 0;
}

static double metric_of(const cell_record *r, const char *name)
{
    if (!strcmp(name, "fit_seconds"))
        return r->fit_seconds;
    for (int k = 0; k < r->metrics.n; k++)
        if (!strcmp(r->metrics.name[k], name))
            return r->metrics.value[k];
    return NAN;
}

int summary_print(FILE *txt, FILE *csv, const cell_record *recs, int n)
{
    /* grouping keys */
    const char **keys = malloc(sizeof *keys * 256);
    int nk = 0;
    if (!keys)
        return -1;
    keys[nk++] = "method";
    for (int i = 0; i < n && nk < 255; i++)
        for (int j = 0; j < recs[i].config.n && nk < 255; j++) {
            const char *k = recs[i].config.key[j];
            int dup = 0;
            for (int q = 0; q < nk; q++)
                dup |= !strcmp(keys[q], k);
            if (!dup && !skip_key(k) && varies(recs, n, k))
                keys[nk++] = k;
        }
    /* metrics present */
    const char *mets[32];
    int nm = 0;
    for (int q = 0; metric_order[q]; q++)
        for (int i = 0; i < n; i++)
            if (isfinite(metric_of(&recs[i], metric_order[q]))) {
                mets[nm++] = metric_order[q];
                break;
            }
    mets[nm++] = "fit_seconds";

    int *gid = malloc((size_t)(n + 1) * sizeof *gid), ng = 0;
    int *rep = malloc((size_t)(n + 1) * sizeof *rep);
    double *vals = malloc((size_t)(n + 1) * sizeof *vals);
    if (!gid || !rep || !vals)
        return -1;
    for (int i = 0; i < n; i++) {
        gid[i] = -1;
        for (int j = 0; j < i && gid[i] < 0; j++) {
            int same = 1;
            for (int q = 0; q < nk && same; q++) {
                const char *a = kv_get(&recs[i].config, keys[q]), *b = kv_get(&recs[j].config, keys[q]);
                same = (a == NULL) == (b == NULL) && (!a || !strcmp(a, b));
            }
            if (same)
                gid[i] = gid[j];
        }
        if (gid[i] < 0) {
            gid[i] = ng;
            rep[ng++] = i;
        }
    }
    if (txt) {
        fprintf(txt, "mean over ok replicates/folds with 95%% t-interval half-width\n");
        fprintf(txt, "%-40s %4s", "group", "n");
        for (int m = 0; m < nm; m++)
            fprintf(txt, " %22s", mets[m]);
        fprintf(txt, "\n");
    }
    if (csv) {
        for (int q = 0; q < nk; q++) {
            const char *dot = strchr(keys[q], '.');
            fprintf(csv, "%s%s", q ? "," : "", dot ? dot + 1 : keys[q]);
        }
        fprintf(csv, ",n_ok,n_failed");
        for (int m = 0; m < nm; m++)
            fprintf(csv, ",%s_mean,%s_ci_low,%s_ci_high", mets[m], mets[m], mets[m]);
        fprintf(csv, "\n");
    }
    for (int g = 0; g < ng; g++) {
        const cell_record *r0 = &recs[rep[g]];
        int nok = 0, nfail = 0;
        for (int i = 0; i < n; i++)
            if (gid[i] == g) {
                if (!strcmp(recs[i].status, "ok"))
                    nok++;
                else
                    nfail++;
            }
        char label[512];
        size_t at = (size_t)snprintf(label, sizeof label, "%s", kv_str(&r0->config, "method", "?"));
        for (int q = 1; q < nk && at < sizeof label; q++) {
            const char *dot = strchr(keys[q], '.');
            at += (size_t)snprintf(label + at, sizeof label - at, " %s=%s", dot ? dot + 1 : keys[q],
                                   kv_str(&r0->config, keys[q], "-"));
        }
        if (txt)
            fprintf(txt, "%-40s %4d", label, nok);
        if (csv) {
            for (int q = 0; q < nk; q++)
                fprintf(csv, "%s%s", q ? "," : "", kv_str(&r0->config, keys[q], ""));
            fprintf(csv, ",%d,%d", nok, nfail);
        }
        for (int m = 0; m < nm; m++) {
            int c = 0;
            for (int i = 0; i < n; i++)
                if (gid[i] == g && !strcmp(recs[i].status, "ok")) {
                    double v = metric_of(&recs[i], mets[m]);
                    if (isfinite(v))
                        vals[c++] = v;
                }
            double mean = c ? gsl_stats_mean(vals, 1, (size_t)c) : NAN, half = NAN;
            if (c > 1)
                half = gsl_cdf_tdist_Pinv(0.975, c - 1) * gsl_stats_sd_m(vals, 1, (size_t)c, mean) / sqrt(c);
            if (txt) {
                char cell[64];
                if (!c)
                    snprintf(cell, sizeof cell, "-");
                else if (isfinite(half))
                    snprintf(cell, sizeof cell, "%.4f ± %.4f", mean, half);
                else
                    snprintf(cell, sizeof cell, "%.4f", mean);
                fprintf(txt, " %22s", cell);
            }
            if (csv) {
                if (c)
                    fprintf(csv, ",%.17g", mean);
                else
                    fprintf(csv, ",");
                if (isfinite(half))
                    fprintf(csv, ",%.17g,%.17g", mean - half, mean + half);
                else
                    fprintf(csv, ",,");
            }
        }
        if (txt)
            fprintf(txt, nfail ? "  (%d failed, left out)\n" : "\n", nfail);
        if (csv)
            fprintf(csv, "\n");
    }
    free(gid);
    free(rep);
    free(vals);
    free(keys);
    return 0;
}
