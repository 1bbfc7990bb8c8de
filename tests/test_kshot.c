/* test_kshot.c — the k-shot user protocol (src/kshot.c) and the methods' use of revealed pairs:
 *   - synthetic: every fresh user reveals exactly K pairs and keeps cold_list_size - K queries,
 *     all on distinct training items, no query pair in the revealed set or in training, the
 *     revealed pairs are the earliest, oracle values are R*; the same draws for every K;
 *   - real-data shape (a hand-made split with shuffled times): the earliest K by time are
 *     revealed, users with K or fewer pairs leave the protocol, nothing leaks;
 *   - mf: the folded-in user is exactly the ALS user solve against the fixed item factors, and
 *     reproduces the full refit (the user's pairs in training) within tolerance;
 *   - baseline: the revealed user's bias is the shrunk mean residual;
 *   - U-AutoRec: revealed ratings change a new user's predictions (I-AutoRec falls back);
 *   - knn (user- and item-based, the paper_configs default and Surprise's item settings): K = 10
 *     revealed ratings beat K = 0 (the global-mean fallback) on the same k-shot queries
 *     (hand-computed k-shot cases: tests/test_knn.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "estimator.h"
#include "kshot.h"
#include "testutil.h"

/* test hooks of est_mf.c */
void mf_get(const void *model, int *n_users, int *n_items, int *rank, double *mu,
            const double **bu, const double **bi, const double **P, const double **Q);
int mf_als_half_step(void *model, const ds_data *d, int side, const kvset *params, char *err,
                     size_t errlen);

static void synth_setup(synth_params *p, long n_obs, int list)
{
    synth_params_default(p);
    p->seed = 11;
    p->n_obs = n_obs;
    p->obs_per_user = 30;
    p->obs_per_item = 30;
    p->user_intrinsic_dim = p->item_intrinsic_dim = 2;
    p->user_ambient_dim = p->item_ambient_dim = 4;
    p->noise = 0.1;
    p->cold_list_size = list;
    p->test_cold_pairs = 20L * list;
    p->test_warm_pairs = 200;
}

static void make_synth(const synth_params *p, ds_data *d)
{
    synth_dataset s;
    char err[256];
    if (synth_generate(p, &s, err, sizeof err) != 0) {
        print_error("synth_generate: %s\n", err);
        fail();
    }
    ds_from_synth(&s, d);
    synth_dataset_free(&s);
}

/* 1 if (u, i) is a pair of split s */
static int has_pair(const ds_split *s, int32_t u, int32_t i)
{
    for (long k = 0; k < s->n; k++)
        if (s->user[k] == u && s->item[k] == i)
            return 1;
    return 0;
}

/* Nothing leaks: no query pair in reveal or train, revealed users have no training pair, and
 * per user every revealed time <= every query time. */
static void assert_no_leak(const ds_data *d)
{
    for (long k = 0; k < d->test_cold.n; k++) {
        int32_t u = d->test_cold.user[k], i = d->test_cold.item[k];
        assert_false(has_pair(&d->reveal, u, i));
        assert_false(has_pair(&d->train, u, i));
    }
    for (long k = 0; k < d->reveal.n; k++) {
        int32_t u = d->reveal.user[k];
        for (long q = 0; q < d->train.n; q++)
            assert_true(d->train.user[q] != u);
        if (d->reveal.time)
            for (long q = 0; q < d->test_cold.n; q++)
                if (d->test_cold.user[q] == u)
                    assert_true(d->reveal.time[k] <= d->test_cold.time[q]);
    }
}

static void test_synthetic_split(void **state)
{
    (void)state;
    enum { L = 15 };
    synth_params p;
    synth_setup(&p, 3000, L);
    const char *bad = NULL;
    char msg[256];
    assert_int_equal(kshot_check_synth(3, &p, &bad, msg, sizeof msg), 0);
    assert_int_equal(kshot_check_synth(6, &p, &bad, msg, sizeof msg), -1);   /* 6 + 10 > 15 */
    assert_string_equal(bad, "kshot");
    ds_data d3, d5;
    make_synth(&p, &d3);
    make_synth(&p, &d5);
    char err[256];
    assert_int_equal(kshot_apply(&d3, 3, &p, err, sizeof err), 0);
    assert_int_equal(kshot_apply(&d5, 5, &p, err, sizeof err), 0);
    int n_tr_items = synth_n_items(&p), n_tr_users = synth_n_users(&p);
    int n_cold = d3.n_users - n_tr_users;
    assert_true(n_cold >= 10);
    assert_int_equal(d3.reveal.n, (long)n_cold * 3);
    assert_int_equal(d3.test_cold.n, (long)n_cold * (L - 3));
    assert_int_equal(d5.reveal.n, (long)n_cold * 5);
    assert_no_leak(&d3);
    assert_no_leak(&d5);
    for (long k = 0; k < d3.test_cold.n; k++) {
        int32_t u = d3.test_cold.user[k], i = d3.test_cold.item[k];
        assert_true(u >= n_tr_users && i < n_tr_items);
        assert_true(fabs(d3.test_cold.oracle[k] - ds_oracle(&d3, u, i)) < 1e-12);
        /* the same draws for every K: each K = 3 query is a K = 5 reveal or query, same rating */
        int found = 0;
        for (long q = 0; q < d5.test_cold.n && !found; q++)
            found = d5.test_cold.user[q] == u && d5.test_cold.item[q] == i &&
                    d5.test_cold.rating[q] == d3.test_cold.rating[k];
        for (long q = 0; q < d5.reveal.n && !found; q++)
            found = d5.reveal.user[q] == u && d5.reveal.item[q] == i &&
                    d5.reveal.rating[q] == d3.test_cold.rating[k];
        assert_true(found);
    }
    /* noise is there: ratings differ from the oracle by about sigma */
    double s = 0;
    for (long k = 0; k < d3.test_cold.n; k++)
        s += pow(d3.test_cold.rating[k] - d3.test_cold.oracle[k], 2);
    s = sqrt(s / d3.test_cold.n);
    assert_true(s > 0.05 && s < 0.2);
    ds_free(&d3);
    ds_free(&d5);
}

/* A hand-made real-data-shaped dataset: 4 training users, fresh users 4..6 with 2, 5 and 6
 * pairs in test_cold, times shuffled. */
static void make_real(ds_data *d)
{
    memset(d, 0, sizeof *d);
    d->n_users = 7;
    d->n_items = 8;
    assert_int_equal(ds_split_alloc(&d->train, 8, 0), 0);
    for (int k = 0; k < 8; k++) {
        d->train.user[k] = k % 4;
        d->train.item[k] = k;
        d->train.rating[k] = 1 + k % 5;
    }
    static const int32_t u[] = {5, 4, 6, 5, 6, 6, 5, 4, 6, 5, 6, 5, 6};
    static const int32_t it[] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 1, 2, 3};
    static const double t[] = {50, 3, 9, 10, 2, 8, 30, 1, 7, 20, 1, 40, 5};
    int n = 13;
    assert_int_equal(ds_split_alloc(&d->test_cold, n, 0), 0);
    d->test_cold.time = malloc(n * sizeof(double));
    for (int k = 0; k < n; k++) {
        d->test_cold.user[k] = u[k];
        d->test_cold.item[k] = it[k];
        d->test_cold.rating[k] = 1 + k % 5;
        d->test_cold.time[k] = t[k];
    }
}

static void test_real_split(void **state)
{
    (void)state;
    ds_data d;
    make_real(&d);
    char err[256];
    assert_int_equal(kshot_apply(&d, 2, NULL, err, sizeof err), 0);
    /* user 4 (2 pairs) leaves; user 5: times 50 10 30 20 40 -> reveal items 3 (10), 1 (20);
     * user 6: times 9 2 8 7 1 5 -> reveal items 1 (1), 4 (2) */
    assert_int_equal(d.reveal.n, 4);
    assert_int_equal(d.test_cold.n, 3 + 4);
    assert_no_leak(&d);
    assert_true(has_pair(&d.reveal, 5, 3) && has_pair(&d.reveal, 5, 1));
    assert_true(has_pair(&d.reveal, 6, 1) && has_pair(&d.reveal, 6, 4));
    for (long k = 0; k < d.test_cold.n; k++)
        assert_true(d.test_cold.user[k] != 4);
    ds_free(&d);
    /* a test_cold user with training pairs is not fresh; K above every count leaves no query */
    make_real(&d);
    d.test_cold.user[0] = 1;
    assert_int_equal(kshot_apply(&d, 1, NULL, err, sizeof err), -1);
    ds_free(&d);
    make_real(&d);
    assert_int_equal(kshot_apply(&d, 6, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "no query"));
    ds_free(&d);
    /* without times: the order of the split */
    make_real(&d);
    free(d.test_cold.time);
    d.test_cold.time = NULL;
    assert_int_equal(kshot_apply(&d, 1, NULL, err, sizeof err), 0);
    assert_true(has_pair(&d.reveal, 5, 0) && has_pair(&d.reveal, 6, 2) && has_pair(&d.reveal, 4, 1));
    assert_no_leak(&d);
    ds_free(&d);
}

/* Move the training pairs of user U into d->reveal (U becomes a k-shot user). */
static void reveal_user(ds_data *d, int32_t U)
{
    long n = 0, r = 0;
    for (long k = 0; k < d->train.n; k++)
        r += d->train.user[k] == U;
    ds_split_free(&d->reveal);
    assert_int_equal(ds_split_alloc(&d->reveal, r, 0), 0);
    r = 0;
    for (long k = 0; k < d->train.n; k++) {
        if (d->train.user[k] == U) {
            d->reveal.user[r] = U;
            d->reveal.item[r] = d->train.item[k];
            d->reveal.rating[r++] = d->train.rating[k];
            continue;
        }
        d->train.user[n] = d->train.user[k];
        d->train.item[n] = d->train.item[k];
        d->train.rating[n] = d->train.rating[k];
        if (d->train.oracle)
            d->train.oracle[n] = d->train.oracle[k];
        if (d->train.time)
            d->train.time[n] = d->train.time[k];
        n++;
    }
    d->train.n = n;
}

static void test_mf_fold_in(void **state)
{
    (void)state;
    synth_params p;
    synth_setup(&p, 6000, 15);
    ds_data A, B;
    make_synth(&p, &A);
    make_synth(&p, &B);
    const int32_t U = 3;
    long nU = 0;
    for (long k = 0; k < A.train.n; k++)
        nU += A.train.user[k] == U;
    assert_true(nU >= 10);
    reveal_user(&B, U);
    ds_split_free(&A.valid);   /* no early stopping: both fits run every sweep */
    ds_split_free(&B.valid);
    const est_method *mf = est_find("mf");
    const char *kv[] = {"rank=4", "reg=0.1", "reg_bias=0.1", "epochs=60", NULL};
    tu_fit_result ra, rb;
    assert_int_equal(tu_fit(mf, &A, 5, kv, &ra), 0);
    assert_int_equal(tu_fit(mf, &B, 5, kv, &rb), 0);
    assert_non_null(ra.model);
    assert_non_null(rb.model);
    assert_non_null(strstr(rb.curves.note, "1 users folded in"));
    int nu, ni, k;
    double mu_a, mu_b;
    const double *bua, *bia, *Pa, *Qa, *bub, *bib, *Pb, *Qb;
    mf_get(ra.model, &nu, &ni, &k, &mu_a, &bua, &bia, &Pa, &Qa);
    mf_get(rb.model, &nu, &ni, &k, &mu_b, &bub, &bib, &Pb, &Qb);
    double fold[5] = {bub[U], Pb[U * k], Pb[U * k + 1], Pb[U * k + 2], Pb[U * k + 3]};
    /* 1. exact: one ALS user half-step of model B on data where U's pairs are training pairs
     * gives the folded-in vector */
    kvset kvs;
    kv_init(&kvs);
    for (int j = 0; kv[j]; j++)
        kv_set_pair(&kvs, kv[j]);
    kv_fill_defaults(&kvs, mf->params);
    ds_data B2;
    make_synth(&p, &B2);   /* U's pairs in train, as in A */
    char err[256];
    assert_int_equal(mf_als_half_step(rb.model, &B2, 0, &kvs, err, sizeof err), 0);
    double solve[5] = {bub[U], Pb[U * k], Pb[U * k + 1], Pb[U * k + 2], Pb[U * k + 3]};
    for (int c = 0; c < 5; c++)
        assert_true(fabs(fold[c] - solve[c]) < 1e-9 * fmax(1, fabs(solve[c])));
    /* 2. the full refit: U's predictions over all training items from A (U trained with
     * everyone) and from B (U folded in afterwards; B's items never saw U) agree closely */
    double se = 0, var = 0, mean = 0;
    int n_tr_items = synth_n_items(&p);
    double *pa = malloc(n_tr_items * sizeof *pa), *pb = malloc(n_tr_items * sizeof *pb);
    int32_t *uu = malloc(n_tr_items * sizeof *uu), *ii = malloc(n_tr_items * sizeof *ii);
    for (int i = 0; i < n_tr_items; i++)
        uu[i] = U, ii[i] = i;
    mf->predict(ra.model, &A, n_tr_items, uu, ii, pa);
    mf->predict(rb.model, &B, n_tr_items, uu, ii, pb);
    for (int i = 0; i < n_tr_items; i++)
        mean += pa[i] / n_tr_items;
    for (int i = 0; i < n_tr_items; i++) {
        se += (pa[i] - pb[i]) * (pa[i] - pb[i]);
        var += (pa[i] - mean) * (pa[i] - mean);
    }
    double rel = sqrt(se / var);
    print_message("fold-in vs full refit: RMS prediction difference / sd of predictions = %.4f "
                  "(b_u %.4f vs %.4f)\n", rel, fold[0], bua[U]);
    assert_true(rel < 0.1);
    assert_true(fabs(fold[0] - bua[U]) < 0.1);
    free(pa);
    free(pb);
    free(uu);
    free(ii);
    kv_free(&kvs);
    tu_fit_free(mf, &ra);
    tu_fit_free(mf, &rb);
    ds_free(&A);
    ds_free(&B);
    ds_free(&B2);
}

static void test_baseline_and_autorec(void **state)
{
    (void)state;
    synth_params p;
    synth_setup(&p, 3000, 15);
    ds_data A, B;
    make_synth(&p, &A);
    make_synth(&p, &B);
    const int32_t U = 3;
    reveal_user(&B, U);
    /* baseline: U's bias = sum (r - mu - b_i) / (reg_u + n) over the revealed pairs */
    const est_method *bl = est_find("baseline");
    tu_fit_result r;
    assert_int_equal(tu_fit(bl, &B, 1, NULL, &r), 0);
    assert_non_null(r.model);
    int32_t u1[1] = {U}, i1[1], none[1] = {B.n_users - 1};
    double acc = 0, pr, p0, mu = 0;
    for (long k = 0; k < B.train.n; k++)
        mu += B.train.rating[k] / B.train.n;
    /* b_i from the prediction of a user without any pairs (the last cold user): mu + b_i */
    for (long k = 0; k < B.reveal.n; k++) {
        i1[0] = B.reveal.item[k];
        bl->predict(r.model, &B, 1, none, i1, &p0);
        acc += B.reveal.rating[k] - p0;
    }
    double bu = acc / (15.0 + B.reveal.n);   /* reg_u default 15 */
    i1[0] = 0;
    bl->predict(r.model, &B, 1, u1, i1, &pr);
    bl->predict(r.model, &B, 1, none, i1, &p0);
    assert_true(fabs((pr - p0) - bu) < 1e-9);
    assert_true(fabs(bu) > 1e-6);
    tu_fit_free(bl, &r);
    /* U-AutoRec: the revealed vector moves U away from the mean fallback; I-AutoRec falls back */
    const est_method *ar = est_find("autorec");
    const char *kvu[] = {"side=user", "hidden=20", "epochs=30", NULL};
    const char *kvi[] = {"side=item", "hidden=20", "epochs=30", NULL};
    assert_int_equal(tu_fit(ar, &B, 1, kvu, &r), 0);
    assert_non_null(r.model);
    assert_non_null(strstr(r.curves.note, "1 users encoded from revealed pairs"));
    double q[20], q0[20];
    int32_t uu[20], nn[20], ii[20];
    for (int k = 0; k < 20; k++)
        uu[k] = U, nn[k] = none[0], ii[k] = k;
    ar->predict(r.model, &B, 20, uu, ii, q);
    ar->predict(r.model, &B, 20, nn, ii, q0);
    int differ = 0;
    for (int k = 0; k < 20; k++)
        differ += fabs(q[k] - q0[k]) > 1e-6;
    assert_true(differ >= 15);
    tu_fit_free(ar, &r);
    assert_int_equal(tu_fit(ar, &B, 1, kvi, &r), 0);
    assert_non_null(r.model);
    ar->predict(r.model, &B, 20, uu, ii, q);
    ar->predict(r.model, &B, 20, nn, ii, q0);
    for (int k = 0; k < 20; k++)
        assert_true(q[k] == q0[k]);
    tu_fit_free(ar, &r);
    ds_free(&A);
    ds_free(&B);
}

/* RMSE against the oracle of method m (kv) fitted on d, on the pairs of q */
static double kshot_rmse(const est_method *m, const char **kv, ds_data *d, const ds_split *q)
{
    tu_fit_result r;
    assert_int_equal(tu_fit(m, d, 1, kv, &r), 0);
    if (!r.model)
        fail_msg("fit failed: %s", r.err);
    double *pr = malloc((size_t)q->n * sizeof *pr), s = 0;
    assert_non_null(pr);
    m->predict(r.model, d, q->n, q->user, q->item, pr);
    for (long k = 0; k < q->n; k++)
        s += pow(pr[k] - q->oracle[k], 2);
    free(pr);
    tu_fit_free(m, &r);
    return sqrt(s / (double)q->n);
}

static void test_knn_revealed(void **state)
{
    (void)state;
    synth_params p;
    synth_setup(&p, 4000, 30);
    ds_data d0, d10;
    make_synth(&p, &d0);
    make_synth(&p, &d10);
    char err[256];
    assert_int_equal(kshot_apply(&d0, 0, &p, err, sizeof err), 0);
    assert_int_equal(kshot_apply(&d10, 10, &p, err, sizeof err), 0);
    assert_int_equal(d0.reveal.n, 0);
    assert_true(d10.reveal.n > 0);
    const est_method *knn = est_find("knn");
    const char *user[] = {NULL};   /* paper_configs/two_time_scale.ini: the defaults */
    const char *item[] = {"based=item", "similarity=pearson_baseline", "prediction=baseline", NULL};
    const char *imsd[] = {"based=item", "similarity=msd", "prediction=means", NULL};
    const char **kvs[] = {user, item, imsd};
    for (int c = 0; c < 3; c++) {
        /* the same queries: d10's test_cold pairs (a subset of d0's, same draws) */
        double e0 = kshot_rmse(knn, kvs[c], &d0, &d10.test_cold);
        double e10 = kshot_rmse(knn, kvs[c], &d10, &d10.test_cold);
        print_message("knn setting %d: k-shot RMSE vs oracle K=0 %.4f, K=10 %.4f\n", c, e0, e10);
        assert_true(e10 < 0.9 * e0);
    }
    ds_free(&d0);
    ds_free(&d10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthetic_split),
        cmocka_unit_test(test_real_split),
        cmocka_unit_test(test_mf_fold_in),
        cmocka_unit_test(test_baseline_and_autorec),
        cmocka_unit_test(test_knn_revealed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
