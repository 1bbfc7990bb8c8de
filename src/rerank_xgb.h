/* rerank_xgb.h — gradient-boosted trees for the second stage of a pipeline, through XGBoost's
 * C API (libxgboost): train on feature rows grouped by query (user), predict scores.
 * Objectives: rank:ndcg (LambdaMART on the groups) or reg:squarederror (pointwise; groups
 * ignored). XGBoost's own messages are silenced (verbosity 0). Library code: no printing.
 */
#ifndef RERANK_XGB_H
#define RERANK_XGB_H

#include <stddef.h>
#include <stdint.h>

enum { RERANK_NDCG = 0, RERANK_SQUARED = 1 };

typedef struct {
    int objective;          /* RERANK_NDCG | RERANK_SQUARED */
    int rounds;             /* boosting rounds */
    int max_depth;
    double eta;             /* learning rate */
    double subsample;       /* row subsampling per tree (1 = none) */
    uint64_t seed;
    int nthread;
} rerank_xgb_param;

typedef struct rerank_xgb rerank_xgb;

/* X: n rows of nf features (row-major; NaN = missing), label[n]; group[0..ng) the sizes of
 * consecutive query groups (sum n; needed by rank:ndcg). NULL with err filled on failure. */
rerank_xgb *rerank_xgb_train(const rerank_xgb_param *p, const float *X, long n, int nf,
                             const float *label, const unsigned *group, long ng, char *err,
                             size_t errlen);
/* out[k] = the model's score of row k of X (n x nf). 0, or -1 with err filled. */
int rerank_xgb_predict(const rerank_xgb *m, const float *X, long n, int nf, float *out,
                       char *err, size_t errlen);
void rerank_xgb_free(rerank_xgb *m);

#endif
