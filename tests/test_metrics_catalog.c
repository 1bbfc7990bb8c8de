/* test_metrics_catalog.c — real-data ranking over the whole catalogue (src/metrics_catalog.c):
 * exact values on a hand-made case (train items excluded, unrated items not relevant), and a
 * model that knows the held-out ratings beats one that does not (the old per-user-own-items
 * convention gave every model the same precision); issue 15: popularity-penalised recall and NDCG,
 * calibrated recall, coverage, Gini of exposure and average popularity by hand, gamma = 0 equal to
 * the plain metrics bit for bit, per-user values, and the synthetic oracle catalogue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "h5out.h"
#include "testutil.h"

#define TOL 1e-12

static void make_split(ds_split *s, long n, const int32_t *u, const int32_t *i, const double *r)
{
    assert_int_equal(ds_split_alloc(s, n, 0), 0);
    for (long k = 0; k < n; k++) {
        s->user[k] = u[k];
        s->item[k] = i[k];
        s->rating[k] = r[k];
    }
}

/* model = a table of scores, n_users x n_items */
typedef struct {
    int ni;
    const double *score;
} table_model;

static void table_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                          const int32_t *i, double *out)
{
    (void)d;
    const table_model *t = model;
    for (long k = 0; k < n; k++)
        out[k] = t->score[(size_t)u[k] * t->ni + i[k]];
}

static const est_method table_method = { .name = "table", .predict = table_predict };

static void test_catalog_exact(void **state)
{
    (void)state;
    ds_data d;
    memset(&d, 0, sizeof d);
    d.n_users = 1;
    d.n_items = 5;
    const int32_t tu[] = {0}, ti[] = {0};
    const double tr[] = {5};
    make_split(&d.train, 1, tu, ti, tr);
    const int32_t su[] = {0, 0}, si[] = {1, 2};
    const double sr[] = {5, 2};     /* item 1 relevant, item 2 not (threshold 4) */
    make_split(&d.test_warm, 2, su, si, sr);
    catalog_rank c;

    /* scores = item id, the train item scored highest: excluded; top 2 = items 4, 3: no hit */
    double s1[5] = {100, 1, 2, 3, 4};
    table_model m1 = {5, s1};
    assert_int_equal(metrics_catalog_rank(&table_method, &m1, &d, &d.test_warm, 4.0, 2, &c), 0);
    assert_int_equal(c.n_users, 1);
    assert_true(fabs(c.precision) < TOL && fabs(c.recall) < TOL && fabs(c.map) < TOL &&
                fabs(c.ndcg) < TOL);

    /* item 1 on top: top 2 = items 1, 4 */
    double s2[5] = {100, 10, 2, 3, 4};
    table_model m2 = {5, s2};
    assert_int_equal(metrics_catalog_rank(&table_method, &m2, &d, &d.test_warm, 4.0, 2, &c), 0);
    assert_true(fabs(c.precision - 0.5) < TOL);
    assert_true(fabs(c.recall - 1.0) < TOL);
    assert_true(fabs(c.map - 1.0) < TOL);
    assert_true(fabs(c.ndcg - 1.0) < TOL);

    /* item 1 second (after an unrated item): AP = 1/2, NDCG = (1/log2 3) / 1 */
    double s3[5] = {100, 3.5, 2, 3, 4};
    table_model m3 = {5, s3};
    assert_int_equal(metrics_catalog_rank(&table_method, &m3, &d, &d.test_warm, 4.0, 2, &c), 0);
    assert_true(fabs(c.precision - 0.5) < TOL);
    assert_true(fabs(c.map - 0.5) < TOL);
    assert_true(fabs(c.ndcg - 1.0 / log2(3.0)) < TOL);

    /* ties broken by item id ascending: all equal -> top 2 = items 1, 2 */
    double s4[5] = {0, 0, 0, 0, 0};
    table_model m4 = {5, s4};
    assert_int_equal(metrics_catalog_rank(&table_method, &m4, &d, &d.test_warm, 4.0, 2, &c), 0);
    assert_true(fabs(c.precision - 0.5) < TOL);

    /* threshold 6: no relevant item, no eligible user */
    assert_int_equal(metrics_catalog_rank(&table_method, &m4, &d, &d.test_warm, 6.0, 2, &c), 0);
    assert_int_equal(c.n_users, 0);
    ds_split_free(&d.train);
    ds_split_free(&d.test_warm);
}

/* a table model that clips to the rating scale of the d it is given, as mf, knn, autorec ... */
static void clipping_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                             const int32_t *i, double *out)
{
    table_predict(model, d, n, u, i, out);
    if (d->rating_max > d->rating_min)
        for (long k = 0; k < n; k++)
            out[k] = out[k] < d->rating_min ? d->rating_min
                                            : out[k] > d->rating_max ? d->rating_max : out[k];
}

static const est_method clipping_method = {.name = "clipping", .predict = clipping_predict};

/* The ranking uses unclipped scores: clipped at 5, items 1..4 would all tie at 5 and the
 * tie-break by item id would put items 1, 2 on top (a hit on item 1); unclipped the order is
 * 4, 3 (no hit). RMSE-type metrics still see clipped values (predict with the real d). */
static void test_catalog_ranks_unclipped(void **state)
{
    (void)state;
    ds_data d;
    memset(&d, 0, sizeof d);
    d.n_users = 1;
    d.n_items = 5;
    d.rating_min = 1;
    d.rating_max = 5;
    const int32_t tu[] = {0}, ti[] = {0};
    const double tr[] = {5};
    make_split(&d.train, 1, tu, ti, tr);
    const int32_t su[] = {0, 0}, si[] = {1, 2};
    const double sr[] = {5, 2};
    make_split(&d.test_warm, 2, su, si, sr);
    double sc[5] = {9, 5.5, 6, 7, 8};
    table_model m = {5, sc};
    catalog_rank c;
    assert_int_equal(metrics_catalog_rank(&clipping_method, &m, &d, &d.test_warm, 4.0, 2, &c), 0);
    assert_int_equal(c.n_users, 1);
    assert_true(fabs(c.precision) < TOL);
    catalog_rank_free(&c);
    double out;
    int32_t uu = 0, ii = 3;
    clipping_predict(&m, &d, 1, &uu, &ii, &out);
    assert_true(out == 5.0);
    ds_split_free(&d.train);
    ds_split_free(&d.test_warm);
}

static void test_catalog_knowing_model_wins(void **state)
{
    (void)state;
    enum { NU = 40, NI = 60, NTR = 8, NTE = 4 };
    ds_data d;
    memset(&d, 0, sizeof d);
    d.n_users = NU;
    d.n_items = NI;
    int32_t tu[NU * NTR], ti[NU * NTR], su[NU * NTE], si[NU * NTE];
    double tr[NU * NTR], sr[NU * NTE];
    unsigned seed = 7;
    static double truth[NU * NI], know[NU * NI], blind[NU * NI];
    for (int k = 0; k < NU * NI; k++) {
        truth[k] = 1 + rand_r(&seed) % 5;
        blind[k] = (double)(NI - k % NI);           /* same ranking for everyone */
    }
    for (int u = 0; u < NU; u++) {
        int perm[NI];
        for (int i = 0; i < NI; i++)
            perm[i] = i;
        for (int i = NI - 1; i > 0; i--) {
            int j = rand_r(&seed) % (i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int q = 0; q < NTR; q++) {
            tu[u * NTR + q] = u;
            ti[u * NTR + q] = perm[q];
            tr[u * NTR + q] = truth[u * NI + perm[q]];
        }
        for (int q = 0; q < NTE; q++) {
            su[u * NTE + q] = u;
            si[u * NTE + q] = perm[NTR + q];
            sr[u * NTE + q] = truth[u * NI + perm[NTR + q]];
        }
    }
    /* the knowing model: the true rating of the user's held-out items, 0 elsewhere */
    for (int k = 0; k < NU * NI; k++)
        know[k] = 0;
    for (int k = 0; k < NU * NTE; k++)
        know[su[k] * NI + si[k]] = sr[k];
    make_split(&d.train, NU * NTR, tu, ti, tr);
    make_split(&d.test_warm, NU * NTE, su, si, sr);
    catalog_rank a, b;
    table_model mk = {NI, know}, mb = {NI, blind};
    assert_int_equal(metrics_catalog_rank(&table_method, &mk, &d, &d.test_warm, 4.0, 10, &a), 0);
    assert_int_equal(metrics_catalog_rank(&table_method, &mb, &d, &d.test_warm, 4.0, 10, &b), 0);
    printf("knowing: P@10 %.3f R@10 %.3f MAP %.3f NDCG %.3f; blind: %.3f %.3f %.3f %.3f (%ld users)\n",
           a.precision, a.recall, a.map, a.ndcg, b.precision, b.recall, b.map, b.ndcg, a.n_users);
    assert_true(a.n_users > 10 && a.n_users == b.n_users);
    assert_true(fabs(a.recall - 1.0) < TOL && fabs(a.ndcg - 1.0) < TOL && fabs(a.map - 1.0) < TOL);
    assert_true(a.precision > b.precision + 0.05);
    assert_true(a.ndcg > b.ndcg + 0.2);
    ds_split_free(&d.train);
    ds_split_free(&d.test_warm);
}

/* ---------- issue 15: popularity-penalised, calibrated and exposure metrics ---------- */

/* Hand-computed (k = 2, 6 items; train pairs (2,0) (2,1) (2,2) (1,0): pop = 2 1 1 0 0 0).
 * user 0: relevant {0, 3, 4}, top 2 = {0, 1} (hit at rank 1);
 * user 1: relevant {1} (item 0 known), top 2 = {5, 1} (hit at rank 2); user 2 has no test. */
static void pop_case(ds_data *d, table_model *m, double *score)
{
    memset(d, 0, sizeof *d);
    d->n_users = 3;
    d->n_items = 6;
    const int32_t tu[] = {2, 2, 2, 1}, ti[] = {0, 1, 2, 0};
    const double tr[] = {5, 5, 5, 5};
    make_split(&d->train, 4, tu, ti, tr);
    const int32_t su[] = {0, 0, 0, 0, 1, 1}, si[] = {0, 3, 4, 5, 1, 2};
    const double sr[] = {5, 5, 5, 2, 5, 1};
    make_split(&d->test_warm, 6, su, si, sr);
    const double sc[18] = {10, 9, 1, 8, 7, 0,      /* user 0: top 2 = 0, 1 */
                           99, 8, 1, 2, 3, 9,      /* user 1: item 0 known; top 2 = 5, 1 */
                           0, 0, 0, 0, 0, 0};
    memcpy(score, sc, sizeof sc);
    *m = (table_model){6, score};
}

static void test_pop_metrics_exact(void **state)
{
    (void)state;
    ds_data d;
    table_model m;
    double score[18];
    pop_case(&d, &m, score);
    catalog_rank c;
    catalog_opts o = {.pop_gamma = 1.0, .keep_per_user = 1};
    assert_int_equal(metrics_catalog_rank_opts(&table_method, &m, &d, &d.test_warm, 4.0, 2, &o, &c), 0);
    assert_int_equal(c.n_users, 2);
    const double l3 = log2(3.0);
    /* w = max(pop, 1)^-1 = 0.5 1 1 1 1 1 */
    double pr0 = 0.5 / (0.5 + 1 + 1), pr1 = 1.0;
    double pn0 = 0.5 / (1 + 1 / l3), pn1 = (1 / l3) / 1.0;
    assert_true(fabs(c.pop_recall - (pr0 + pr1) / 2) < TOL);
    assert_true(fabs(c.pop_ndcg - (pn0 + pn1) / 2) < TOL);
    assert_true(fabs(c.recall - (1.0 / 3 + 1.0) / 2) < TOL);
    assert_true(fabs(c.calibrated_recall - (0.5 + 1.0) / 2) < TOL);   /* hits / min(k, n_rel) */
    assert_true(fabs(c.ndcg - (1 / (1 + 1 / l3) + 1 / l3) / 2) < TOL);
    /* exposure e = 1 2 0 0 0 1: coverage 3/6; Gini over sorted 0 0 0 1 1 2 = 14 / (6 * 4) */
    assert_true(fabs(c.coverage - 0.5) < TOL);
    assert_true(fabs(c.gini_exposure - 14.0 / 24.0) < TOL);
    /* mean pop of the lists: user 0 (2 + 1) / 2, user 1 (0 + 1) / 2 */
    assert_true(fabs(c.avg_rec_popularity - 1.0) < TOL);
    /* per-user values, users in row order */
    assert_non_null(c.user);
    assert_int_equal(c.user[0], 0);
    assert_int_equal(c.user[1], 1);
    assert_true(fabs(c.per_user[CAT_POP_RECALL][0] - pr0) < TOL);
    assert_true(fabs(c.per_user[CAT_POP_NDCG][1] - pn1) < TOL);
    assert_true(fabs(c.per_user[CAT_CALIBRATED_RECALL][0] - 0.5) < TOL);
    catalog_rank_free(&c);
    /* max_pairs: room for one user x 6 items keeps the first eligible user only */
    o.max_pairs = 11;
    assert_int_equal(metrics_catalog_rank_opts(&table_method, &m, &d, &d.test_warm, 4.0, 2, &o, &c), 0);
    assert_int_equal(c.n_users, 1);
    assert_int_equal(c.user[0], 0);
    assert_true(fabs(c.pop_recall - pr0) < TOL);
    catalog_rank_free(&c);
    o.max_pairs = 0;

    /* gamma = 0 reproduces the plain metrics exactly (bit for bit) */
    o.pop_gamma = 0;
    assert_int_equal(metrics_catalog_rank_opts(&table_method, &m, &d, &d.test_warm, 4.0, 2, &o, &c), 0);
    assert_true(c.pop_recall == c.recall);
    assert_true(c.pop_ndcg == c.ndcg);
    for (long u = 0; u < c.n_users; u++) {
        assert_true(c.per_user[CAT_POP_RECALL][u] == c.per_user[CAT_RECALL][u]);
        assert_true(c.per_user[CAT_POP_NDCG][u] == c.per_user[CAT_NDCG][u]);
    }
    catalog_rank_free(&c);
    /* a perfect ranking (relevant items first, by weight: user 0's item 0 is the popular one)
     * scores pop NDCG 1 whatever gamma */
    double perfect[18] = {7, 0, 0, 9, 8, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    table_model mp = {6, perfect};
    o.pop_gamma = 2.0;
    assert_int_equal(metrics_catalog_rank_opts(&table_method, &mp, &d, &d.test_warm, 4.0, 2, &o, &c), 0);
    assert_true(fabs(c.pop_ndcg - 1.0) < TOL);
    assert_true(fabs(c.calibrated_recall - 1.0) < TOL);
    catalog_rank_free(&c);
    ds_split_free(&d.train);
    ds_split_free(&d.test_warm);
}

/* metrics_evaluate (real data) adds the new names and, when asked, per-user values that
 * average to the stored metric; metrics_copy is deep. */
static void test_evaluate_per_user(void **state)
{
    (void)state;
    ds_data d;
    table_model m;
    double score[18];
    pop_case(&d, &m, score);
    d.pop_gamma = 0.5;
    d.relevance_threshold = 4;
    metric_set ms, copy;
    metrics_init(&ms);
    ms.keep_per_user = 1;
    assert_int_equal(metrics_evaluate(&table_method, &m, &d, &ms), 0);
    const char *names[] = {"pop_recall_at_10", "pop_ndcg_at_10", "calibrated_recall_at_10",
                           "coverage_at_10", "gini_exposure_at_10", "avg_rec_popularity_at_10"};
    for (int k = 0; k < 6; k++)
        assert_true(isfinite(metrics_get(&ms, names[k])));
    const char *pu[] = {"precision_at_10", "recall_at_10", "map_at_10", "ndcg_at_10",
                        "pop_recall_at_10", "pop_ndcg_at_10", "calibrated_recall_at_10"};
    for (int k = 0; k < 7; k++) {
        const metric_user_values *v = metrics_user_values(&ms, pu[k]);
        assert_non_null(v);
        assert_int_equal(v->n, 2);
        double mean = ((double)v->value[0] + v->value[1]) / 2;
        assert_true(fabs(mean - metrics_get(&ms, pu[k])) < 1e-6);   /* float32 values */
    }
    assert_null(metrics_user_values(&ms, "rmse"));
    assert_int_equal(metrics_copy(&copy, &ms), 0);
    const metric_user_values *a = metrics_user_values(&ms, "pop_ndcg_at_10"),
                             *b = metrics_user_values(&copy, "pop_ndcg_at_10");
    assert_true(a->value != b->value && a->value[1] == b->value[1]);
    metrics_free(&ms);
    assert_int_equal(ms.n_user, 0);
    assert_true(b->value[0] == b->value[0]);   /* the copy survives the original */
    metrics_free(&copy);
    /* without keep_per_user nothing is allocated */
    metrics_init(&ms);
    assert_int_equal(metrics_evaluate(&table_method, &m, &d, &ms), 0);
    assert_int_equal(ms.n_user, 0);
    ds_split_free(&d.train);
    ds_split_free(&d.test_warm);
}

/* Synthetic: the warm catalogue against the oracle's top 10. The oracle itself scores 1. */
static void oracle_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                           const int32_t *i, double *out)
{
    double sign = *(const double *)model;
    for (long k = 0; k < n; k++)
        out[k] = sign * ds_oracle(d, u[k], i[k]);
}
static const est_method oracle_method = {.name = "oracle-table", .predict = oracle_predict};

static void test_oracle_catalogue(void **state)
{
    (void)state;
    synth_params p;
    synth_params_default(&p);
    p.n_obs = 2000;
    p.sampling = SYNTH_POPULARITY;
    p.test_cold_pairs = 500;
    p.test_warm_pairs = 500;
    synth_dataset s;
    char err[256];
    if (synth_generate(&p, &s, err, sizeof err) != 0)
        fail_msg("%s", err);
    ds_data d;
    ds_from_synth(&s, &d);
    synth_dataset_free(&s);
    catalog_opts o = {.pop_gamma = 0.5};
    catalog_rank good, bad;
    double plus = 1, minus = -1;
    assert_int_equal(metrics_catalog_oracle(&oracle_method, &plus, &d, 10, &o, &good), 0);
    assert_int_equal(metrics_catalog_oracle(&oracle_method, &minus, &d, 10, &o, &bad), 0);
    printf("oracle catalogue: %ld users x %d items; oracle pop_ndcg %.3f, reversed %.3f, "
           "coverage %.3f, gini %.3f\n", good.n_users, d.n_warm_items, good.pop_ndcg, bad.pop_ndcg,
           good.coverage, good.gini_exposure);
    assert_int_equal(good.n_users, d.n_warm_users);   /* 200 x 200 pairs: every user */
    /* the oracle's top 10 is the relevant set: every recall is 1; pop NDCG is 1 only when the
     * relevant items also come in order of weight, which the oracle need not do */
    assert_true(fabs(good.calibrated_recall - 1) < TOL && fabs(good.pop_recall - 1) < TOL &&
                fabs(good.ndcg - 1) < TOL);
    assert_true(good.pop_ndcg > 0.5 && good.pop_ndcg <= 1 + TOL);
    assert_true(bad.calibrated_recall < 0.05 && bad.pop_ndcg < 0.05);
    /* the metrics_evaluate names on synthetic data */
    metric_set ms;
    metrics_init(&ms);
    d.pop_gamma = 0.5;
    assert_int_equal(metrics_evaluate(&oracle_method, &plus, &d, &ms), 0);
    assert_true(fabs(metrics_get(&ms, "calibrated_recall_at_10") - 1) < TOL);
    assert_true(isfinite(metrics_get(&ms, "heldout_recall_at_10")));
    assert_true(isfinite(metrics_get(&ms, "heldout_pop_ndcg_at_10")));
    ds_free(&d);
}

/* per_user/<metric> survives write -> read -> merge -> write (src/h5out.c), record_copy is deep */
static void test_per_user_roundtrip(void **state)
{
    (void)state;
    cell_record r, back_copy;
    record_init(&r);
    snprintf(r.key, sizeof r.key, "00000000000000ab");
    snprintf(r.status, sizeof r.status, "ok");
    record_set_reason(&r, "");
    kv_set(&r.config, "experiment.name", "pu");
    kv_set(&r.config, "method", "baseline");
    kv_set(&r.provenance, "end_time", "2026-01-01T00:00:00.000Z");
    metrics_add(&r.metrics, "pop_ndcg_at_10", 0.25);
    metrics_add(&r.metrics, "recall_at_10", 0.5);
    const int32_t users[3] = {4, 9, 100000};
    const double v1[3] = {0.1, 0.2, 0.45}, v2[3] = {1, 0, 0.5};
    assert_int_equal(metrics_add_user_values(&r.metrics, "pop_ndcg_at_10", 3, users, v1), 0);
    assert_int_equal(metrics_add_user_values(&r.metrics, "recall_at_10", 3, users, v2), 0);
    char dir[512], path[600], err[512];
    assert_non_null(tu_tmpdir("metrics_pu", dir, sizeof dir));
    snprintf(path, sizeof path, "%s/pu.h5", dir);
    assert_int_equal(h5out_write(path, &r, 1, err, sizeof err), 0);
    cell_record *back = NULL;
    int n = 0;
    if (h5out_read(path, &back, &n, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(n, 1);
    assert_int_equal(back[0].metrics.n_user, 2);
    const metric_user_values *a = metrics_user_values(&back[0].metrics, "pop_ndcg_at_10");
    assert_non_null(a);
    assert_int_equal(a->n, 3);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(a->user[k], users[k]);
        assert_true(a->value[k] == (float)v1[k]);
    }
    /* a deep copy outlives the records it came from, and writes the same */
    assert_int_equal(record_copy(&back_copy, &back[0]), 0);
    h5out_free_records(back, n);
    record_free(&r);
    const metric_user_values *b = metrics_user_values(&back_copy.metrics, "recall_at_10");
    assert_non_null(b);
    assert_true(b->value[0] == 1.0f && b->user[2] == 100000);
    assert_int_equal(h5out_write(path, &back_copy, 1, err, sizeof err), 0);
    record_free(&back_copy);
    if (h5out_read(path, &back, &n, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_non_null(metrics_user_values(&back[0].metrics, "recall_at_10"));
    h5out_free_records(back, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog_exact),
        cmocka_unit_test(test_catalog_ranks_unclipped),
        cmocka_unit_test(test_catalog_knowing_model_wins),
        cmocka_unit_test(test_pop_metrics_exact),
        cmocka_unit_test(test_evaluate_per_user),
        cmocka_unit_test(test_oracle_catalogue),
        cmocka_unit_test(test_per_user_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
