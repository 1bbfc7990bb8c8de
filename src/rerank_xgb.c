/* rerank_xgb.c — the second-stage reranker through XGBoost's C API (rerank_xgb.h). */
#include "rerank_xgb.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

struct rerank_xgb {
    BoosterHandle booster;
    int nf;
};

static int xgb_fail(char *err, size_t errlen, const char *what)
{
    const char *m = XGBGetLastError();
    /* XGBoost's messages carry a source location and a stack trace: keep the first line */
    char line[200];
    snprintf(line, sizeof line, "%s", m ? m : "");
    line[strcspn(line, "\n")] = '\0';
    snprintf(err, errlen, "xgboost %s: %s", what, line);
    return -1;
}

static int set(BoosterHandle b, const char *k, const char *v, char *err, size_t errlen)
{
    return XGBoosterSetParam(b, k, v) == 0 ? 0 : xgb_fail(err, errlen, k);
}

rerank_xgb *rerank_xgb_train(const rerank_xgb_param *p, const float *X, long n, int nf,
                             const float *label, const unsigned *group, long ng, char *err,
                             size_t errlen)
{
    DMatrixHandle dm = NULL;
    rerank_xgb *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory (reranker)");
        return NULL;
    }
    m->nf = nf;
    char buf[64];
    XGBSetGlobalConfig("{\"verbosity\":0}");
    if (XGDMatrixCreateFromMat(X, (bst_ulong)n, (bst_ulong)nf, NAN, &dm) != 0) {
        xgb_fail(err, errlen, "training matrix");
        goto fail;
    }
    if (XGDMatrixSetFloatInfo(dm, "label", label, (bst_ulong)n) != 0) {
        xgb_fail(err, errlen, "labels");
        goto fail;
    }
    if (p->objective == RERANK_NDCG && XGDMatrixSetUIntInfo(dm, "group", group, (bst_ulong)ng) != 0) {
        xgb_fail(err, errlen, "groups");
        goto fail;
    }
    if (XGBoosterCreate(&dm, 1, &m->booster) != 0) {
        xgb_fail(err, errlen, "booster");
        goto fail;
    }
    if (set(m->booster, "verbosity", "0", err, errlen) ||
        set(m->booster, "objective", p->objective == RERANK_NDCG ? "rank:ndcg" : "reg:squarederror",
            err, errlen) ||
        set(m->booster, "tree_method", "hist", err, errlen))
        goto fail;
    snprintf(buf, sizeof buf, "%d", p->max_depth);
    if (set(m->booster, "max_depth", buf, err, errlen))
        goto fail;
    snprintf(buf, sizeof buf, "%.17g", p->eta);
    if (set(m->booster, "eta", buf, err, errlen))
        goto fail;
    snprintf(buf, sizeof buf, "%.17g", p->subsample);
    if (set(m->booster, "subsample", buf, err, errlen))
        goto fail;
    snprintf(buf, sizeof buf, "%d", (int)(p->seed & 0x7fffffff));
    if (set(m->booster, "seed", buf, err, errlen))
        goto fail;
    snprintf(buf, sizeof buf, "%d", p->nthread > 0 ? p->nthread : 1);
    if (set(m->booster, "nthread", buf, err, errlen))
        goto fail;
    for (int it = 0; it < p->rounds; it++)
        if (XGBoosterUpdateOneIter(m->booster, it, dm) != 0) {
            xgb_fail(err, errlen, "training");
            goto fail;
        }
    XGDMatrixFree(dm);
    return m;
fail:
    if (dm)
        XGDMatrixFree(dm);
    rerank_xgb_free(m);
    return NULL;
}

int rerank_xgb_predict(const rerank_xgb *m, const float *X, long n, int nf, float *out,
                       char *err, size_t errlen)
{
    if (nf != m->nf) {
        snprintf(err, errlen, "reranker: %d features, trained on %d", nf, m->nf);
        return -1;
    }
    if (n == 0)
        return 0;
    DMatrixHandle dm = NULL;
    bst_ulong len = 0;
    const float *res = NULL;
    if (XGDMatrixCreateFromMat(X, (bst_ulong)n, (bst_ulong)nf, NAN, &dm) != 0)
        return xgb_fail(err, errlen, "prediction matrix");
    int rc = XGBoosterPredict(m->booster, dm, 0, 0, 0, &len, &res);
    if (rc != 0 || len != (bst_ulong)n) {
        XGDMatrixFree(dm);
        return rc != 0 ? xgb_fail(err, errlen, "prediction")
                       : (snprintf(err, errlen, "xgboost prediction: %lu values for %ld rows",
                                   (unsigned long)len, n), -1);
    }
    memcpy(out, res, (size_t)n * sizeof *out);
    XGDMatrixFree(dm);
    return 0;
}

void rerank_xgb_free(rerank_xgb *m)
{
    if (!m)
        return;
    if (m->booster)
        XGBoosterFree(m->booster);
    free(m);
}
