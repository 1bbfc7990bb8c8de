/* test_compress.c — the `compress` method (src/est_compress.c): key checks (base_keys against
 * the base's table, k <= latent), predict() = the base's predict, and its retrieval metrics on a
 * small synthetic problem: codec none is exact dense retrieval (recall 1, regret = dense), PCA
 * keeping every component is exact up to rounding, int8 nearly so, and a trained CompresSAE
 * (reconstructed kernel) beats random projection at about the same bytes per item. */
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
#include "metrics.h"
#include "testutil.h"

static int make_data(ds_data *d)
{
    synth_params p;
    synth_params_default(&p);
    p.seed = 7;
    p.n_obs = 4000;
    p.user_intrinsic_dim = p.item_intrinsic_dim = 2;
    p.user_ambient_dim = p.item_ambient_dim = 8;
    p.noise = 0.1;
    p.test_cold_pairs = 200;
    p.test_warm_pairs = 50;
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

#define BASE "base_keys=epochs=10 width=32 depth=1 embed_dim=32"

/* fit compress with kv, fill ms with its extra metrics */
static void fit_metrics(const ds_data *d, const char **kv, metric_set *ms)
{
    const est_method *m = est_find("compress");
    assert_non_null(m);
    tu_fit_result r;
    assert_int_equal(tu_fit(m, d, 3, kv, &r), 0);
    if (!r.model)
        print_error("fit failed: %s\n", r.err);
    assert_non_null(r.model);
    metrics_init(ms);
    assert_int_equal(m->extra_metrics(r.model, d, ms), 0);
    tu_fit_free(m, &r);
}

static const char *check(const char *const *pairs, const char **bad)
{
    const est_method *m = est_find("compress");
    kvset kv;
    kv_init(&kv);
    for (int k = 0; pairs[k]; k++)
        kv_set_pair(&kv, pairs[k]);
    *bad = NULL;
    const char *msg = m->check_parameter(&kv, bad);
    static char keep[512];
    if (msg)
        snprintf(keep, sizeof keep, "%s", msg);
    kv_free(&kv);
    return msg ? keep : NULL;
}

static void test_keys(void **state)
{
    (void)state;
    const char *bad;
    const char *ok[] = {"base=mf", "base_keys=rank=8 epochs=3", NULL};
    assert_null(check(ok, &bad));
    const char *typo[] = {"base_keys=widht=3", NULL};
    const char *msg = check(typo, &bad);
    assert_non_null(msg);
    assert_string_equal(bad, "base_keys");
    assert_non_null(strstr(msg, "not a key of [method.twotower]"));
    assert_non_null(strstr(msg, "did you mean 'width'"));
    const char *range[] = {"base_keys=embed_dim=0", NULL};
    msg = check(range, &bad);
    assert_non_null(msg);
    assert_string_equal(bad, "base_keys");
    assert_non_null(strstr(msg, "embed_dim"));
    const char *noeq[] = {"base_keys=embed_dim", NULL};
    assert_non_null(check(noeq, &bad));
    const char *bigk[] = {"k=65", "latent=64", NULL};
    assert_non_null(check(bigk, &bad));
    assert_string_equal(bad, "k");
}

/* predict() is the base's: the same seed and keys give the same predictions */
static void test_predict_is_base(void **state)
{
    (void)state;
    ds_data d;
    assert_int_equal(make_data(&d), 0);
    const est_method *c = est_find("compress"), *t = est_find("twotower");
    const char *kc[] = {BASE, "codec=int8", NULL};
    const char *kt[] = {"epochs=10", "width=32", "depth=1", "embed_dim=32", NULL};
    tu_fit_result rc, rt;
    assert_int_equal(tu_fit(c, &d, 3, kc, &rc), 0);
    assert_int_equal(tu_fit(t, &d, 3, kt, &rt), 0);
    assert_non_null(rc.model);
    assert_non_null(rt.model);
    long n = d.test_cold.n;
    double *pc = malloc((size_t)n * sizeof *pc), *pt = malloc((size_t)n * sizeof *pt);
    c->predict(rc.model, &d, n, d.test_cold.user, d.test_cold.item, pc);
    t->predict(rt.model, &d, n, d.test_cold.user, d.test_cold.item, pt);
    for (long k = 0; k < n; k++)
        assert_true(pc[k] == pt[k]);
    free(pc);
    free(pt);
    tu_fit_free(c, &rc);
    tu_fit_free(t, &rt);
    ds_free(&d);
}

static void test_exact_codecs(void **state)
{
    (void)state;
    ds_data d;
    assert_int_equal(make_data(&d), 0);
    metric_set ms;
    const char *none[] = {BASE, "codec=none", NULL};
    fit_metrics(&d, none, &ms);
    double dim = metrics_get(&ms, "cmp_dim");
    print_message("none: dim %.0f, recall@10 %.4f, @100 %.4f, regret %.4f (dense %.4f), qps "
                  "%.0f\n", dim, metrics_get(&ms, "cmp_recall_at_10"),
                  metrics_get(&ms, "cmp_recall_at_100"), metrics_get(&ms, "cmp_regret_at_10"),
                  metrics_get(&ms, "cmp_dense_regret_at_10"), metrics_get(&ms, "cmp_dense_qps"));
    assert_true(dim == 32);   /* embed_dim 32; the constant 1 of [g, 1] is dropped */
    assert_true(metrics_get(&ms, "cmp_recall_at_10") == 1.0);
    assert_true(metrics_get(&ms, "cmp_recall_at_100") == 1.0);
    assert_true(metrics_get(&ms, "cmp_ratio") == 1.0);
    assert_true(metrics_get(&ms, "cmp_regret_at_10") == metrics_get(&ms, "cmp_dense_regret_at_10"));
    assert_true(metrics_get(&ms, "cmp_dense_regret_at_10") >= 0);

    const char *pca[] = {BASE, "codec=pca", "compression=1", NULL};
    fit_metrics(&d, pca, &ms);
    print_message("pca (all components): recall@10 %.4f, @100 %.4f\n",
                  metrics_get(&ms, "cmp_recall_at_10"), metrics_get(&ms, "cmp_recall_at_100"));
    assert_true(metrics_get(&ms, "cmp_recall_at_100") > 0.99);
    assert_true(metrics_get(&ms, "cmp_bytes_per_item") == 4 * dim);

    const char *keep[] = {BASE, "codec=none", "constant_columns=keep", NULL};
    fit_metrics(&d, keep, &ms);
    assert_true(metrics_get(&ms, "cmp_dim") == 33);
    assert_true(metrics_get(&ms, "cmp_recall_at_100") == 1.0);

    const char *i8[] = {BASE, "codec=int8", NULL};
    fit_metrics(&d, i8, &ms);
    print_message("int8: recall@10 %.4f, @100 %.4f, ratio %.3f\n",
                  metrics_get(&ms, "cmp_recall_at_10"), metrics_get(&ms, "cmp_recall_at_100"),
                  metrics_get(&ms, "cmp_ratio"));
    assert_true(metrics_get(&ms, "cmp_recall_at_100") > 0.9);
    assert_true(metrics_get(&ms, "cmp_bytes_per_item") == dim + 4);
    ds_free(&d);
}

/* the same target ratio 4: rp keeps m = 8 floats (32 bytes), sae k = 4 pairs + norm (36 bytes) */
static void test_sae_beats_rp(void **state)
{
    (void)state;
    ds_data d;
    assert_int_equal(make_data(&d), 0);
    metric_set ms;
    const char *rp[] = {BASE, "codec=rp", "compression=4", NULL};
    fit_metrics(&d, rp, &ms);
    double rrp = metrics_get(&ms, "cmp_recall_at_100"), brp = metrics_get(&ms, "cmp_bytes_per_item");
    const char *sae[] = {BASE, "codec=sae", "compression=4", "latent=128", "epochs=200", NULL};
    fit_metrics(&d, sae, &ms);
    double rsae = metrics_get(&ms, "cmp_rec_recall_at_100");
    print_message("ratio 4: rp recall@100 %.4f (%.0f bytes), sae reconstructed %.4f, sparse %.4f "
                  "(%.0f bytes), recon cos %.4f, qps sparse %.0f / dense %.0f\n", rrp, brp, rsae,
                  metrics_get(&ms, "cmp_recall_at_100"), metrics_get(&ms, "cmp_bytes_per_item"),
                  metrics_get(&ms, "cmp_recon_cos"), metrics_get(&ms, "cmp_qps"),
                  metrics_get(&ms, "cmp_dense_qps"));
    assert_true(metrics_get(&ms, "cmp_bytes_per_item") == 36);
    assert_true(metrics_get(&ms, "cmp_recon_cos") > 0.95);
    assert_true(rsae > rrp + 0.1);
    ds_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_predict_is_base),
        cmocka_unit_test(test_exact_codecs),
        cmocka_unit_test(test_sae_beats_rp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
