/* summary.c — mean metrics per group with 95% CIs (see summary.h). */
#include "summary.h"
#include "grouping.h"
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *metric_order[] = {
    "excess_risk_cold", "excess_risk_warm", "rmse_cold", "rmse_warm", "mae_cold", "mae_warm",
    "ndcg_at_10", "recall_at_10", "regret_at_10", "rmse", "mae", "precision_at_10", "map_at_10",
    "rmse_valid",
    NULL};

/* characters (not bytes) of a UTF-8 string, for column alignment */
static size_t mbs_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
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

static const char *const fold_ignore[] = {"data.fold", NULL};
/* the text table shows these (when present); --csv has every metric */
static const char *text_metrics[] = {"excess_risk_cold", "excess_risk_warm", "rmse_cold",
                                     "ndcg_at_10", "regret_at_10", "rmse", "mae",
                                     "precision_at_10", "map_at_10", "fit_seconds", NULL};

int summary_print(FILE *txt, FILE *csv, const cell_record *recs, int n)
{
    grouping gr;
    if (grouping_build(recs, n, fold_ignore, &gr) != 0) {
        grouping_free(&gr);
        return -1;
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
    double *vals = malloc((size_t)(n + 1) * sizeof *vals);
    if (!vals) {
        grouping_free(&gr);
        return -1;
    }
    size_t width = 8;
    for (int g = 0; g < gr.ngroups; g++)
        if (strlen(gr.label[g]) > width)
            width = strlen(gr.label[g]);
    if (txt) {
        fprintf(txt, "mean ± 95%% t-interval half-width over the ok replicates (or folds) of each group\n");
        fprintf(txt, "%-*s %4s", (int)width, "group", "n");
        for (int m = 0; m < nm; m++)
            for (int t = 0; text_metrics[t]; t++)
                if (!strcmp(text_metrics[t], mets[m]))
                    fprintf(txt, " %19s", mets[m]);
        fprintf(txt, "\n");
    }
    if (csv) {
        fprintf(csv, "method");
        for (int q = 0; q < gr.nkeys; q++)
            fprintf(csv, ",%s", grouping_short(gr.keys[q]));
        fprintf(csv, ",n_ok,n_failed");
        for (int m = 0; m < nm; m++)
            fprintf(csv, ",%s_mean,%s_ci_low,%s_ci_high", mets[m], mets[m], mets[m]);
        fprintf(csv, "\n");
    }
    int failed_total = 0;
    for (int g = 0; g < gr.ngroups; g++) {
        const cell_record *r0 = &recs[gr.first[g]];
        int nok = 0, nfail = 0;
        for (int i = 0; i < n; i++)
            if (gr.gid[i] == g) {
                if (!strcmp(recs[i].status, "ok"))
                    nok++;
                else
                    nfail++;
            }
        failed_total += nfail;
        if (txt)
            fprintf(txt, "%-*s %4d", (int)width, gr.label[g], nok);
        if (csv) {
            fprintf(csv, "%s", kv_str(&r0->config, "method", ""));
            for (int q = 0; q < gr.nkeys; q++)
                fprintf(csv, ",%s", kv_str(&r0->config, gr.keys[q], ""));
            fprintf(csv, ",%d,%d", nok, nfail);
        }
        for (int m = 0; m < nm; m++) {
            int c = 0;
            for (int i = 0; i < n; i++)
                if (gr.gid[i] == g && !strcmp(recs[i].status, "ok")) {
                    double v = metric_of(&recs[i], mets[m]);
                    if (isfinite(v))
                        vals[c++] = v;
                }
            double mean = c ? gsl_stats_mean(vals, 1, (size_t)c) : NAN, half = NAN;
            if (c > 1)
                half = gsl_cdf_tdist_Pinv(0.975, c - 1) * gsl_stats_sd_m(vals, 1, (size_t)c, mean) / sqrt(c);
            int shown = 0;
            for (int t = 0; text_metrics[t]; t++)
                shown |= !strcmp(text_metrics[t], mets[m]);
            if (txt && shown) {
                char cell[64];
                if (!c)
                    snprintf(cell, sizeof cell, "-");
                else if (isfinite(half))
                    snprintf(cell, sizeof cell, "%.4f ± %.4f", mean, half);
                else
                    snprintf(cell, sizeof cell, "%.4f", mean);
                fprintf(txt, " %*s", 19 + (int)(strlen(cell) - mbs_len(cell)), cell);
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
    if (txt && failed_total)
        fprintf(txt, "%d failed cells left out in all (t2rec report --failed lists them)\n", failed_total);
    free(vals);
    grouping_free(&gr);
    return 0;
}
