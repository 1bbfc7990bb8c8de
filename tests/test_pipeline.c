/* test_pipeline.c — the two-stage `pipeline` method (est_pipeline.c) and its reranker
 * (rerank_xgb.h):
 *  - XGBoost given the oracle value as a feature (among noise features) recovers each group's
 *    oracle top 10 on new groups, with both objectives; the same model scored with the oracle
 *    column replaced by noise does not (so the assertion can fail);
 *  - a pipeline whose reranker sees the oracle (candidates_from = oracle) on synthetic data
 *    recovers most of the oracle's catalogue top 10 and cuts the stage-1 regret; the regret
 *    split adds up (missed + misranked = end to end; nothing missed when K = the catalogue);
 *  - bad sub-method keys are refused with a message naming them;
 *  - a pipeline sweep through bin/t2rec: every cell ok with its pl_* metrics, a rerun skips
 *    every cell, two shards merged give the same cells and metric values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "estimator.h"
#include "h5out.h"
#include "metrics.h"
#include "record.h"
#include "rerank_xgb.h"
#include "testutil.h"

static uint64_t rs = 99;
static double unif(void)
{
    rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rs >> 11) / 9007199254740992.0;
}

#define G 40      /* items per group */
#define NF 4      /* features: oracle, three noise columns */

/* groups of G rows: oracle value o ~ U(0, 1) in column 0, noise in the others */
static void make_groups(int ng, float *X, double *o)
{
    for (long r = 0; r < (long)ng * G; r++) {
        o[r] = unif();
        X[r * NF] = (float)o[r];
        for (int c = 1; c < NF; c++)
            X[r * NF + c] = (float)unif();
    }
}

/* mean over groups of |top 10 by score ∩ top 10 by o| / 10 */
static double top10_overlap(int ng, const float *score, const double *o)
{
    double s = 0;
    for (int g = 0; g < ng; g++) {
        const float *sc = score + (long)g * G;
        const double *og = o + (long)g * G;
        int hit = 0;
        for (int a = 0; a < G; a++) {
            int ra = 0, rb = 0;   /* ranks of a by score and by the oracle */
            for (int b = 0; b < G; b++) {
                ra += sc[b] > sc[a] || (sc[b] == sc[a] && b < a);
                rb += og[b] > og[a];
            }
            hit += ra < 10 && rb < 10;
        }
        s += hit / 10.0;
    }
    return s / ng;
}

static void oracle_feature(int objective)
{
    int ng = 200, nt = 50;
    float *X = malloc((size_t)ng * G * NF * sizeof *X), *lab = malloc((size_t)ng * G * sizeof *lab);
    float *Xt = malloc((size_t)nt * G * NF * sizeof *Xt), *out = malloc((size_t)nt * G * sizeof *out);
    double *o = malloc((size_t)ng * G * sizeof *o), *ot = malloc((size_t)nt * G * sizeof *ot);
    unsigned *grp = malloc((size_t)ng * sizeof *grp);
    make_groups(ng, X, o);
    make_groups(nt, Xt, ot);
    for (int g = 0; g < ng; g++)
        grp[g] = G;
    for (long r = 0; r < (long)ng * G; r++)   /* graded labels 0..4 (rank) or the value (reg) */
        lab[r] = objective == RERANK_NDCG ? (float)floor(5 * o[r]) : (float)(o[r] + 0.01 * (unif() - 0.5));
    rerank_xgb_param p = {.objective = objective, .rounds = 100, .max_depth = 6, .eta = 0.3,
                          .subsample = 1, .seed = 5, .nthread = 1};
    char err[256] = "";
    rerank_xgb *m = rerank_xgb_train(&p, X, (long)ng * G, NF, lab, grp, ng, err, sizeof err);
    if (!m)
        fail_msg("train: %s", err);
    assert_int_equal(rerank_xgb_predict(m, Xt, (long)nt * G, NF, out, err, sizeof err), 0);
    double ov = top10_overlap(nt, out, ot);
    /* the oracle column replaced by noise: the same model must lose the top 10 */
    for (long r = 0; r < (long)nt * G; r++)
        Xt[r * NF] = (float)unif();
    assert_int_equal(rerank_xgb_predict(m, Xt, (long)nt * G, NF, out, err, sizeof err), 0);
    double ov_noise = top10_overlap(nt, out, ot);
    printf("%s: oracle top-10 overlap %.3f (oracle column replaced by noise: %.3f)\n",
           objective == RERANK_NDCG ? "rank:ndcg" : "reg:squarederror", ov, ov_noise);
    assert_true(ov >= 0.9);
    assert_true(ov_noise < 0.5);
    assert_int_equal(rerank_xgb_predict(m, Xt, 1, NF - 1, out, err, sizeof err), -1);
    rerank_xgb_free(m);
    free(X);
    free(lab);
    free(Xt);
    free(out);
    free(o);
    free(ot);
    free(grp);
}

static void test_rerank_oracle_feature_ndcg(void **state)
{
    (void)state;
    oracle_feature(RERANK_NDCG);
}

static void test_rerank_oracle_feature_squared(void **state)
{
    (void)state;
    oracle_feature(RERANK_SQUARED);
}

static int make_data(ds_data *d, long n_obs)
{
    synth_params p;
    synth_params_default(&p);
    p.seed = 11;
    p.n_obs = n_obs;
    p.user_intrinsic_dim = p.item_intrinsic_dim = 2;
    p.user_ambient_dim = p.item_ambient_dim = 8;
    p.noise = 0.1;
    p.test_cold_pairs = 200;
    p.test_warm_pairs = 200;
    synth_dataset s;
    char err[256];
    if (synth_generate(&p, &s, err, sizeof err) != 0) {
        print_error("synth_generate: %s\n", err);
        return -1;
    }
    ds_from_synth(&s, d);
    synth_dataset_free(&s);
    return 0;
}

static double metric(const metric_set *m, const char *name)
{
    for (int k = 0; k < m->n; k++)
        if (strcmp(m->name[k], name) == 0)
            return m->value[k];
    fail_msg("metric %s missing", name);
    return NAN;
}

static void test_pipeline_oracle_reranker(void **state)
{
    (void)state;
    const est_method *m = est_find("pipeline");
    assert_non_null(m);
    ds_data d;
    assert_int_equal(make_data(&d, 4000), 0);
    char kall[32];
    snprintf(kall, sizeof kall, "K=%d", d.n_items);   /* the whole catalogue: nothing missed */
    const char *kv[] = {"retrieve=mf", "retrieve_keys=rank=2 epochs=5", kall,
                        "candidates_from=oracle", "negatives=none", "objective=reg:squarederror",
                        "covariates=no", "eval_users=200", NULL};
    tu_fit_result r;
    assert_int_equal(tu_fit(m, &d, 3, kv, &r), 0);
    if (!r.model)
        fail_msg("fit: %s", r.err);
    metric_set ms;
    memset(&ms, 0, sizeof ms);
    assert_int_equal(m->extra_metrics(r.model, &d, &ms), 0);
    double rec = metric(&ms, "pl_oracle_recall_at_10"), rec1 = metric(&ms, "pl_s1_oracle_recall_at_10");
    double reg = metric(&ms, "pl_regret_at_10"), reg1 = metric(&ms, "pl_s1_regret_at_10");
    double miss = metric(&ms, "pl_regret_missed_at_10"), mis = metric(&ms, "pl_regret_misranked_at_10");
    printf("oracle top-10 recall: end to end %.3f, stage 1 %.3f; regret@10 %.4f (stage 1 %.4f)\n",
           rec, rec1, reg, reg1);
    assert_true(rec >= 0.7);
    assert_true(rec > rec1 + 0.2);
    assert_true(reg < 0.3 * reg1);
    assert_true(fabs(miss) < 1e-12);
    assert_true(fabs(miss + mis - reg) < 1e-9);
    assert_true(fabs(metric(&ms, "pl_s1_recall_at_K") - 1.0) < 1e-12);
    /* predict() is the stage-1 model's: finite on every test pair */
    double *pred = malloc((size_t)d.test_warm.n * sizeof *pred);
    m->predict(r.model, &d, d.test_warm.n, d.test_warm.user, d.test_warm.item, pred);
    for (long k = 0; k < d.test_warm.n; k++)
        assert_true(isfinite(pred[k]));
    free(pred);
    tu_fit_free(m, &r);
    ds_free(&d);
}

static void refused(const char *pair, const char *want_key, const char *want_text)
{
    const est_method *m = est_find("pipeline");
    kvset kv;
    kv_init(&kv);
    assert_int_equal(kv_set_pair(&kv, pair), 0);
    const char *bad = NULL, *msg = m->check_parameter(&kv, &bad);
    assert_non_null(msg);
    assert_non_null(bad);
    assert_string_equal(bad, want_key);
    if (!strstr(msg, want_text))
        fail_msg("'%s': message '%s' lacks '%s'", pair, msg, want_text);
    kv_free(&kv);
}

static void test_bad_keys(void **state)
{
    (void)state;
    refused("retrieve_keys=widht=3", "retrieve_keys", "'widht' is not a key of [method.twotower]");
    refused("retrieve_keys=width", "retrieve_keys", "not key=value");
    refused("retrieve_keys=epochs=-2", "retrieve_keys", "[method.twotower]");
    refused("candidates_from=mf nosuch", "candidates_from", "'nosuch'");
    refused("candidates_from=mf mf", "candidates_from", "twice");
    refused("candidates_keys=knn.k=3", "candidates_keys", "candidates_from");
    const est_method *m = est_find("pipeline");
    kvset kv;
    kv_init(&kv);
    assert_int_equal(kv_set_pair(&kv, "candidates_from=mf baseline"), 0);
    assert_int_equal(kv_set_pair(&kv, "candidates_keys=mf.rank=4"), 0);
    assert_int_equal(kv_set_pair(&kv, "retrieve_keys=width=8 embed_dim=4"), 0);
    const char *bad = NULL;
    assert_null(m->check_parameter(&kv, &bad));
    kv_free(&kv);
}

/* ---- through bin/t2rec ---- */

static char dir[512];

static const char *config =
    "[experiment]\nname = pl\nseed = 4\nreplicates = 1\n\n"
    "[data]\nn_obs = 1500, 3000\nuser_intrinsic_dim = 2\nitem_intrinsic_dim = 2\n"
    "user_ambient_dim = 4\nitem_ambient_dim = 4\nnoise = 0.1\ntest_cold_pairs = 100\n"
    "test_warm_pairs = 100\n\n"
    "[method.pipeline]\nretrieve = mf\nretrieve_keys = rank=4 epochs=5\nK = 20, 50\n"
    "candidates_from = baseline\nrounds = 20\neval_users = 200\n";

static int read_cells(const char *name, cell_record **r)
{
    char p[700], err[512];
    int n = 0;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (h5out_read(p, r, &n, err, sizeof err) != 0) {
        print_error("%s: %s\n", p, err);
        return -1;
    }
    return n;
}

static void test_run_resume_shards(void **state)
{
    (void)state;
    assert_non_null(tu_tmpdir("pipeline", dir, sizeof dir));
    char path[700], cmd[16384], out[8192];
    snprintf(path, sizeof path, "%s/c.ini", dir);
    assert_int_equal(tu_write_file(path, config), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s/*.h5 %s/*.cells; %s run %s -o %s/ref.h5 --threads 1 --no-progress 2>&1",
             dir, dir, tu_t2rec(), path, dir);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc != 0)
        fail_msg("%s", out);
    cell_record *ref = NULL;
    int n = read_cells("ref.h5", &ref);
    assert_int_equal(n, 4);
    for (int k = 0; k < n; k++) {
        if (strcmp(ref[k].status, "ok") != 0)
            fail_msg("cell %s: %s", ref[k].key, ref[k].reason);
        double s1 = metric(&ref[k].metrics, "pl_s1_recall_at_K");
        assert_true(s1 >= 0 && s1 <= 1);
        double reg = metric(&ref[k].metrics, "pl_regret_at_10");
        assert_true(isfinite(reg));
    }
    /* a rerun skips every cell */
    snprintf(cmd, sizeof cmd, "%s run %s -o %s/ref.h5 --threads 1 2>&1", tu_t2rec(), path, dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    if (!strstr(out, "4 of 4 cells already done"))
        fail_msg("rerun: %s", out);
    /* two shards, merged: the same cells, the same (deterministic) metric values */
    snprintf(cmd, sizeof cmd,
             "%s run %s -o %s/s0.h5 --shard 0/2 --threads 1 --no-progress && "
             "%s run %s -o %s/s1.h5 --shard 1/2 --threads 1 --no-progress && "
             "%s merge %s/m.h5 %s/s0.h5 %s/s1.h5 2>&1",
             tu_t2rec(), path, dir, tu_t2rec(), path, dir, tu_t2rec(), dir, dir, dir);
    rc = tu_run(cmd, out, sizeof out);
    if (rc != 0)
        fail_msg("%s", out);
    cell_record *mg = NULL;
    assert_int_equal(read_cells("m.h5", &mg), 4);
    const char *same[] = {"pl_s1_recall_at_K", "pl_regret_at_10", "pl_ndcg_at_10",
                          "pl_s1_regret_at_10", "pl_s2_train_rows", NULL};
    for (int a = 0; a < 4; a++) {
        int b = 0;
        while (b < 4 && strcmp(mg[b].key, ref[a].key) != 0)
            b++;
        assert_true(b < 4);
        for (int q = 0; same[q]; q++)
            assert_true(metric(&ref[a].metrics, same[q]) == metric(&mg[b].metrics, same[q]));
    }
    h5out_free_records(ref, 4);
    h5out_free_records(mg, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rerank_oracle_feature_ndcg),
        cmocka_unit_test(test_rerank_oracle_feature_squared),
        cmocka_unit_test(test_pipeline_oracle_reranker),
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_run_resume_shards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
