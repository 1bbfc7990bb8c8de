/* test_loaders.c — the real-data loaders: MovieLens 100K (counts, folds, cold users, covariates,
 * malformed files) and the generic TSV loader (round trip, malformed files). The MovieLens data
 * tests skip, with the reason printed, when data/ml-100k is absent (`make data/ml-100k`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellrun.h"
#include "config.h"
#include "loaders.h"
#include "testutil.h"

#define ML "data/ml-100k"

static int need_movielens(void)
{
    if (!tu_have_movielens()) {
        printf("skipped: " ML "/u.data is absent (run `make data/ml-100k`)\n");
        return 0;
    }
    return 1;
}

/* (user, item, rating) packed into one sortable key. */
static int64_t key(int32_t u, int32_t i, double r)
{
    return ((int64_t)u * 4096 + i) * 8 + (int64_t)r;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long append_keys(const ds_split *s, int64_t *k, long at)
{
    for (long t = 0; t < s->n; t++)
        k[at++] = key(s->user[t], s->item[t], s->rating[t]);
    return at;
}

static void test_ml_all(void **state)
{
    (void)state;
    if (!need_movielens())
        skip();
    ds_data d;
    char err[512];
    int rc = load_movielens100k(ML, "all", "fold", 0.0, 0.0, 1, &d, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    assert_int_equal(d.train.n, 100000);
    assert_int_equal(d.valid.n, 0);
    assert_int_equal(d.test_warm.n, 0);
    assert_int_equal(d.test_cold.n, 0);
    assert_int_equal(d.n_users, 943);
    assert_int_equal(d.n_items, 1682);
    assert_int_equal(d.synthetic, 0);
    assert_null(d.train.oracle);
    assert_true(d.rating_min == 1 && d.rating_max == 5);
    /* documented widths: age, gender, 21 occupations; 19 genres + year */
    assert_int_equal(d.user_dim, 2 + 21);
    assert_int_equal(d.item_dim, 19 + 1);
    int n_female = 0;
    for (int u = 0; u < d.n_users; u++) {
        const double *x = d.user_x + (size_t)u * d.user_dim;
        assert_true(x[0] >= 5 && x[0] <= 100);
        assert_true(x[1] == 0 || x[1] == 1);
        n_female += x[1] == 1;
        double s = 0;
        for (int k = 2; k < d.user_dim; k++) {
            assert_true(x[k] == 0 || x[k] == 1);
            s += x[k];
        }
        assert_true(s == 1);   /* exactly one occupation */
    }
    assert_true(n_female > 100 && n_female < 943 - 100);
    /* user 1 is "1|24|M|technician|85711"; technician is line 20 of u.occupation */
    assert_true(d.user_x[0] == 24 && d.user_x[1] == 0 && d.user_x[2 + 19] == 1);
    double *years = malloc((size_t)d.n_items * sizeof *years);
    int ny = 0;
    for (int i = 0; i < d.n_items; i++) {
        const double *x = d.item_x + (size_t)i * d.item_dim;
        for (int g = 0; g < 19; g++)
            assert_true(x[g] == 0 || x[g] == 1);
        assert_true(isfinite(x[19]) && x[19] >= 1900 && x[19] <= 2000);
        if (i != 266)
            years[ny++] = x[19];
    }
    /* item 267 has no date: it gets the median year of the others */
    qsort(years, (size_t)ny, sizeof *years, cmpd);
    double med = ny % 2 ? years[ny / 2] : 0.5 * (years[ny / 2 - 1] + years[ny / 2]);
    assert_true(d.item_x[266 * 20 + 19] == med);
    /* item 1 is Toy Story (1995): Animation, Children's, Comedy */
    assert_true(d.item_x[19] == 1995 && d.item_x[3] == 1 && d.item_x[4] == 1 && d.item_x[5] == 1);
    for (long t = 0; t < d.train.n; t++) {
        assert_true(d.train.user[t] >= 0 && d.train.user[t] < 943);
        assert_true(d.train.item[t] >= 0 && d.train.item[t] < 1682);
        assert_true(d.train.rating[t] >= 1 && d.train.rating[t] <= 5);
    }
    free(years);
    ds_free(&d);
}

static void test_ml_folds(void **state)
{
    (void)state;
    if (!need_movielens())
        skip();
    char err[512];
    ds_data all;
    if (load_movielens100k(ML, "all", "fold", 0.0, 0.0, 1, &all, err, sizeof err))
        fail_msg("%s", err);
    int64_t *ref = malloc(100000 * sizeof *ref);
    int64_t *got = malloc(100000 * sizeof *got);
    append_keys(&all.train, ref, 0);
    qsort(ref, 100000, sizeof *ref, cmp64);
    const char *folds[] = {"u1", "u2", "u3", "u4", "u5"};
    for (int f = 0; f < 5; f++) {
        ds_data d;
        if (load_movielens100k(ML, folds[f], "fold", 0.1, 0.0, 7, &d, err, sizeof err))
            fail_msg("%s", err);
        assert_int_equal(d.train.n + d.valid.n, 80000);
        assert_int_equal(d.valid.n, 8000);
        assert_int_equal(d.test_warm.n, 20000);
        assert_int_equal(d.test_cold.n, 0);
        long at = append_keys(&d.train, got, 0);
        at = append_keys(&d.valid, got, at);
        at = append_keys(&d.test_warm, got, at);
        assert_int_equal(at, 100000);
        qsort(got, 100000, sizeof *got, cmp64);
        assert_memory_equal(got, ref, 100000 * sizeof *ref);
        ds_free(&d);
    }
    /* ua/ub: 10 test ratings per user */
    ds_data a;
    if (load_movielens100k(ML, "ua", "fold", 0.0, 0.0, 7, &a, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(a.test_warm.n, 9430);
    assert_int_equal(a.train.n, 90570);
    ds_free(&a);
    /* the valid part is seeded: same seed -> same split, another seed -> another */
    ds_data s1, s2, s3;
    assert_int_equal(load_movielens100k(ML, "u1", "fold", 0.1, 0, 3, &s1, err, sizeof err), 0);
    assert_int_equal(load_movielens100k(ML, "u1", "fold", 0.1, 0, 3, &s2, err, sizeof err), 0);
    assert_int_equal(load_movielens100k(ML, "u1", "fold", 0.1, 0, 4, &s3, err, sizeof err), 0);
    assert_memory_equal(s1.valid.user, s2.valid.user, 8000 * sizeof(int32_t));
    assert_memory_equal(s1.valid.item, s2.valid.item, 8000 * sizeof(int32_t));
    long same = 0;
    for (long t = 0; t < 8000; t++)
        same += s1.valid.user[t] == s3.valid.user[t] && s1.valid.item[t] == s3.valid.item[t];
    assert_true(same < 8000);
    ds_free(&s1);
    ds_free(&s2);
    ds_free(&s3);
    free(ref);
    free(got);
    ds_free(&all);
}

static void test_ml_cold_users(void **state)
{
    (void)state;
    if (!need_movielens())
        skip();
    char err[512];
    ds_data d;
    if (load_movielens100k(ML, "u1", "cold_users", 0.1, 0.2, 11, &d, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(d.train.n + d.valid.n + d.test_cold.n, 100000);
    assert_int_equal(d.test_warm.n, 0);
    char *cold = calloc((size_t)d.n_users, 1);
    for (long t = 0; t < d.test_cold.n; t++)
        cold[d.test_cold.user[t]] = 1;
    int n_cold = 0;
    for (int u = 0; u < d.n_users; u++)
        n_cold += cold[u];
    /* round(0.2 * 943) = 189 users held out; every ML user has >= 20 ratings */
    assert_int_equal(n_cold, 189);
    for (long t = 0; t < d.train.n; t++)
        assert_false(cold[d.train.user[t]]);
    for (long t = 0; t < d.valid.n; t++)
        assert_false(cold[d.valid.user[t]]);
    long nb = d.train.n + d.valid.n;
    assert_int_equal(d.valid.n, (long)floor(0.1 * nb + 0.5));
    printf("cold_users: %d users, %ld ratings held out; train %ld valid %ld\n", n_cold,
           d.test_cold.n, d.train.n, d.valid.n);
    free(cold);
    ds_free(&d);
}

/* ---- malformed MovieLens-format files (built in a temp dir; no real data needed) ---- */

static const char *OCC = "artist\nother\ntechnician\n";
static const char *USERS = "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|artist|32067\n";
static const char *ITEMS =
    "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "2|Caf\xe9 (1996)|01-Jan-1996||http://x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n"
    "3|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n";

static void write_ml(const char *dir, const char *data, int with_items)
{
    char p[600];
    snprintf(p, sizeof p, "%s/u.occupation", dir);
    assert_int_equal(tu_write_file(p, OCC), 0);
    snprintf(p, sizeof p, "%s/u.user", dir);
    assert_int_equal(tu_write_file(p, USERS), 0);
    snprintf(p, sizeof p, "%s/u.item", dir);
    if (with_items)
        assert_int_equal(tu_write_file(p, ITEMS), 0);
    else
        remove(p);
    snprintf(p, sizeof p, "%s/u.data", dir);
    assert_int_equal(tu_write_file(p, data), 0);
}

/* Load dir as "all" and check the error starts with prefix (dir-relative). */
static void expect_ml_error(const char *dir, const char *data, int with_items, const char *file,
                            const char *where)
{
    write_ml(dir, data, with_items);
    ds_data d;
    char err[512] = "", want[700];
    int rc = load_movielens100k(dir, "all", "fold", 0.0, 0.0, 1, &d, err, sizeof err);
    snprintf(want, sizeof want, "%s/%s%s", dir, file, where);
    printf("  %s\n", err);
    assert_int_equal(rc, -1);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("error '%s' does not start with '%s'", err, want);
    assert_int_equal(d.train.n, 0);
    assert_null(d.user_x);
}

static void test_ml_malformed(void **state)
{
    (void)state;
    char dir[512];
    assert_non_null(tu_tmpdir("loaders_ml", dir, sizeof dir));
    /* the good version loads, and item 3 (no date) gets the median year 1995.5 */
    write_ml(dir, "1\t1\t5\t881250949\n2\t3\t1\t881250950\n3\t2\t4\t881250951\n", 1);
    ds_data d;
    char err[512];
    if (load_movielens100k(dir, "all", "fold", 0.0, 0.0, 1, &d, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(d.train.n, 3);
    assert_int_equal(d.user_dim, 5);
    assert_true(d.item_x[2 * 20 + 19] == 1995.5);
    assert_true(d.user_x[1 * 5 + 1] == 1 && d.user_x[1 * 5 + 3] == 1);   /* F, other */
    ds_free(&d);

    expect_ml_error(dir, "1\t1\t5\t881250949\n2\t3\t1\t881250950\n3\t2", 1, "u.data", ":3:");
    expect_ml_error(dir, "1\t1\t5\t881250949\n2\t3\t7\t881250950\n", 1, "u.data", ":2:");
    expect_ml_error(dir, "1\t1\t5\t881250949\n2\t3\t1\t881250950\n1\t99999\t4\t881250951\n", 1,
                    "u.data", ":3:");
    expect_ml_error(dir, "abc\t1\t5\t881250949\n", 1, "u.data", ":1:");
    expect_ml_error(dir, "1\t1\t5\n", 1, "u.data", ":1:");
    expect_ml_error(dir, "1\t1\t5\t881250949\n", 0, "u.item", ": cannot open:");
    /* a bad user line */
    write_ml(dir, "1\t1\t5\t881250949\n", 1);
    char p[600];
    snprintf(p, sizeof p, "%s/u.user", dir);
    tu_write_file(p, "1|24|M|technician|85711\n2|53|X|other|94043\n");
    assert_int_equal(load_movielens100k(dir, "all", "fold", 0.0, 0.0, 1, &d, err, sizeof err), -1);
    char want[700];
    snprintf(want, sizeof want, "%s/u.user:2:", dir);
    assert_true(strncmp(err, want, strlen(want)) == 0);
    /* bad arguments */
    assert_int_equal(load_movielens100k(dir, "u9", "fold", 0.0, 0.0, 1, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "u9"));
    assert_int_equal(load_movielens100k(dir, "u1", "cold", 0.0, 0.0, 1, &d, err, sizeof err), -1);
}

/* ---- TSV ---- */

static void test_tsv_roundtrip(void **state)
{
    (void)state;
    char dir[512], rp[600], up[600], ip[600];
    assert_non_null(tu_tmpdir("loaders_tsv", dir, sizeof dir));
    snprintf(rp, sizeof rp, "%s/ratings.tsv", dir);
    snprintf(up, sizeof up, "%s/users.tsv", dir);
    snprintf(ip, sizeof ip, "%s/items.tsv", dir);
    /* 400 ratings of users "u<k>" (k = 7t mod 37) and items "<k>" (k = 11t mod 53) */
    const int N = 400;
    size_t cap = 64 * N;
    char *txt = malloc(cap);
    size_t at = (size_t)snprintf(txt, cap, "# user\titem\trating\n");
    for (int t = 0; t < N; t++)
        at += (size_t)snprintf(txt + at, cap - at, "u%d\t%d\t%g\n", (7 * t) % 37, (11 * t) % 53,
                               0.5 * (t % 9));
    assert_int_equal(tu_write_file(rp, txt), 0);
    at = 0;
    for (int k = 0; k < 37; k++)
        at += (size_t)snprintf(txt + at, cap - at, "u%d\t%d\t%g\n", 36 - k, 36 - k, 0.25 * (36 - k));
    at += (size_t)snprintf(txt + at, cap - at, "u999\t1\t2\n");   /* features only: an extra row */
    assert_int_equal(tu_write_file(up, txt), 0);
    at = 0;
    for (int k = 0; k < 53; k++)
        at += (size_t)snprintf(txt + at, cap - at, "%d\t%d\n", k, 1000 + k);
    assert_int_equal(tu_write_file(ip, txt), 0);

    ds_data d;
    char err[512];
    if (load_tsv(rp, up, ip, 0.1, 0.2, 5, &d, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(d.n_users, 37 + 1);
    assert_int_equal(d.n_items, 53);
    assert_int_equal(d.user_dim, 2);
    assert_int_equal(d.item_dim, 1);
    assert_int_equal(d.test_warm.n, 80);
    assert_int_equal(d.valid.n, 40);
    assert_int_equal(d.train.n, 280);
    assert_true(d.rating_min == 0 && d.rating_max == 4);
    /* rows in order of first appearance: user row r holds the id (7 t_r) mod 37 of the first
     * t that uses it; check through the features, which encode the id */
    int *urow_id = malloc(37 * sizeof *urow_id), *irow_id = malloc(53 * sizeof *irow_id);
    int nu = 0, ni = 0;
    char *useen = calloc(37, 1), *iseen = calloc(53, 1);
    for (int t = 0; t < N; t++) {
        int u = (7 * t) % 37, i = (11 * t) % 53;
        if (!useen[u]) {
            useen[u] = 1;
            urow_id[nu++] = u;
        }
        if (!iseen[i]) {
            iseen[i] = 1;
            irow_id[ni++] = i;
        }
    }
    assert_int_equal(nu, 37);
    for (int r = 0; r < 37; r++) {
        assert_true(d.user_x[2 * r] == urow_id[r]);
        assert_true(d.user_x[2 * r + 1] == 0.25 * urow_id[r]);
    }
    assert_true(d.user_x[2 * 37] == 1 && d.user_x[2 * 37 + 1] == 2);
    for (int r = 0; r < 53; r++)
        assert_true(d.item_x[r] == 1000 + irow_id[r]);
    /* the ratings survive as a multiset of (user id, item id, rating) */
    int64_t *want = malloc((size_t)N * sizeof *want), *got = malloc((size_t)N * sizeof *got);
    for (int t = 0; t < N; t++)
        want[t] = key((7 * t) % 37, (11 * t) % 53, 2.0 * 0.5 * (t % 9));
    long k = 0;
    const ds_split *sp[3] = {&d.train, &d.valid, &d.test_warm};
    for (int s = 0; s < 3; s++)
        for (long t = 0; t < sp[s]->n; t++)
            got[k++] = key(urow_id[sp[s]->user[t]], irow_id[sp[s]->item[t]], 2.0 * sp[s]->rating[t]);
    assert_int_equal(k, N);
    qsort(want, (size_t)N, sizeof *want, cmp64);
    qsort(got, (size_t)N, sizeof *got, cmp64);
    assert_memory_equal(got, want, (size_t)N * sizeof *got);
    ds_free(&d);

    /* no feature files: dims 0 */
    if (load_tsv(rp, NULL, NULL, 0.0, 0.0, 5, &d, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(d.user_dim, 0);
    assert_null(d.user_x);
    assert_int_equal(d.train.n, N);
    assert_int_equal(d.n_users, 37);
    ds_free(&d);
    free(txt);
    free(urow_id);
    free(irow_id);
    free(useen);
    free(iseen);
    free(want);
    free(got);
}

/* split = cold_users on a TSV (issue 12: it was accepted and ignored, a random pair split was
 * used): the held-out users never appear in train or valid, all their ratings are in test_cold,
 * and the config path (cfg_load -> cellrun_load_data) really uses it. */
static void check_cold_users(const ds_data *d, int n_total, int want_cold)
{
    char *in_train = calloc((size_t)d->n_users, 1), *in_cold = calloc((size_t)d->n_users, 1);
    for (long t = 0; t < d->train.n; t++)
        in_train[d->train.user[t]] = 1;
    for (long t = 0; t < d->valid.n; t++)
        in_train[d->valid.user[t]] = 1;
    for (long t = 0; t < d->test_cold.n; t++)
        in_cold[d->test_cold.user[t]] = 1;
    int ncold = 0;
    for (int u = 0; u < d->n_users; u++) {
        assert_false(in_train[u] && in_cold[u]);
        ncold += in_cold[u];
    }
    assert_int_equal(ncold, want_cold);
    assert_true(d->test_cold.n > 0);
    assert_int_equal(d->test_warm.n, 0);
    assert_int_equal(d->train.n + d->valid.n + d->test_cold.n, n_total);
    free(in_train);
    free(in_cold);
}

static void test_tsv_cold_users(void **state)
{
    (void)state;
    char dir[512], rp[600], cp[600];
    assert_non_null(tu_tmpdir("loaders_tsvcold", dir, sizeof dir));
    snprintf(rp, sizeof rp, "%s/ratings.tsv", dir);
    const int N = 400;
    size_t cap = 64 * N, at = 0;
    char *txt = malloc(cap);
    for (int t = 0; t < N; t++)
        at += (size_t)snprintf(txt + at, cap - at, "u%d\t%d\t%d\n", (7 * t) % 37, (11 * t) % 53,
                               1 + t % 5);
    assert_int_equal(tu_write_file(rp, txt), 0);
    ds_data d, d2;
    char err[512];
    if (load_tsv_cold_users(rp, NULL, NULL, 0.1, 0.25, 5, &d, err, sizeof err))
        fail_msg("%s", err);
    check_cold_users(&d, N, 9);   /* round(0.25 * 37) */
    /* another seed holds out other users */
    if (load_tsv_cold_users(rp, NULL, NULL, 0.1, 0.25, 6, &d2, err, sizeof err))
        fail_msg("%s", err);
    int same = d.test_cold.n == d2.test_cold.n;
    for (long t = 0; same && t < d.test_cold.n; t++)
        same = d.test_cold.user[t] == d2.test_cold.user[t];
    assert_false(same);
    ds_free(&d2);
    ds_free(&d);
    /* a fraction that holds out nobody is an error, not a silent random split */
    assert_int_equal(load_tsv_cold_users(rp, NULL, NULL, 0.1, 0.01, 5, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "holds out 0 of the 37 users"));

    /* through a config, as `run` loads it */
    snprintf(cp, sizeof cp, "%s/c.ini", dir);
    snprintf(txt, cap, "[data]\nsource = tsv\nratings = %s\nsplit = cold_users\n"
                       "cold_user_fraction = 0.25\n[method.baseline]\n", rp);
    assert_int_equal(tu_write_file(cp, txt), 0);
    cfg *c = NULL;
    cfg_cell *cells = NULL;
    int n = 0;
    if (cfg_load(cp, &c, err, sizeof err) != 0 || cfg_expand(c, &cells, &n, err, sizeof err) != 0)
        fail_msg("%s", err);
    if (cellrun_load_data(c, &cells[0], &d, err, sizeof err) != 0)
        fail_msg("%s", err);
    check_cold_users(&d, N, 9);
    ds_free(&d);
    cfg_cells_free(cells, n);
    cfg_free(c);
    free(txt);
}

static void expect_tsv_error(const char *ratings, const char *uf, const char *want)
{
    ds_data d;
    char err[512] = "";
    int rc = load_tsv(ratings, uf, NULL, 0.1, 0.1, 1, &d, err, sizeof err);
    printf("  %s\n", err);
    assert_int_equal(rc, -1);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("error '%s' does not start with '%s'", err, want);
}

static void test_tsv_malformed(void **state)
{
    (void)state;
    char dir[512], rp[600], up[600], want[700];
    assert_non_null(tu_tmpdir("loaders_tsvbad", dir, sizeof dir));
    snprintf(rp, sizeof rp, "%s/r.tsv", dir);
    snprintf(up, sizeof up, "%s/u.tsv", dir);
    tu_write_file(rp, "a\tx\t1\nb\ty\t2\n");
    tu_write_file(up, "a\t1\t2\nb\tnan\t3\n");
    snprintf(want, sizeof want, "%s:2: column 2:", up);
    expect_tsv_error(rp, up, want);
    tu_write_file(up, "a\t1\t2\nb\tinf\t3\n");
    expect_tsv_error(rp, up, want);
    tu_write_file(up, "a\t1\t2\nb\t3\n");
    snprintf(want, sizeof want, "%s:2:", up);
    expect_tsv_error(rp, up, want);
    tu_write_file(up, "a\t1\t2\n");
    snprintf(want, sizeof want, "%s: no features for user 'b'", up);
    expect_tsv_error(rp, up, want);
    tu_write_file(rp, "a\tx\t1\n# c\nb\ty\tfive\n");
    snprintf(want, sizeof want, "%s:3:", rp);
    expect_tsv_error(rp, NULL, want);
    tu_write_file(rp, "a\tx\t1\nb\ty");
    snprintf(want, sizeof want, "%s:2:", rp);
    expect_tsv_error(rp, NULL, want);
    snprintf(want, sizeof want, "%s/none.tsv: cannot open:", dir);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none.tsv", dir);
    expect_tsv_error(missing, NULL, want);
}

/* Header rule: the first line is a header when its value field is not a number (ratings: the
 * rating, features: the first feature); the same words further down are an error. */
static void test_tsv_header(void **state)
{
    (void)state;
    char dir[512], rp[600], up[600], ip[600], want[700];
    assert_non_null(tu_tmpdir("loaders_tsvhead", dir, sizeof dir));
    snprintf(rp, sizeof rp, "%s/r.tsv", dir);
    snprintf(up, sizeof up, "%s/u.tsv", dir);
    snprintf(ip, sizeof ip, "%s/i.tsv", dir);
    char txt[4096];
    size_t at = (size_t)snprintf(txt, sizeof txt, "# written by hand\nuser\titem\trating\n");
    for (int t = 0; t < 40; t++)
        at += (size_t)snprintf(txt + at, sizeof txt - at, "u%d\ti%d\t%d\n", t % 8, t % 5, 1 + t % 5);
    assert_int_equal(tu_write_file(rp, txt), 0);
    at = (size_t)snprintf(txt, sizeof txt, "id\tage\theight\n");
    for (int k = 0; k < 8; k++)
        at += (size_t)snprintf(txt + at, sizeof txt - at, "u%d\t%d\t%d\n", k, 20 + k, 150 + k);
    assert_int_equal(tu_write_file(up, txt), 0);
    at = 0;
    for (int k = 0; k < 5; k++)
        at += (size_t)snprintf(txt + at, sizeof txt - at, "i%d\t%d\n", k, k);
    assert_int_equal(tu_write_file(ip, txt), 0);
    ds_data d;
    char err[512] = "";
    if (load_tsv(rp, up, ip, 0.1, 0.2, 5, &d, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(d.n_users, 8);   /* no user "user", no feature row "id" */
    assert_int_equal(d.n_items, 5);
    assert_int_equal(d.user_dim, 2);
    assert_int_equal(d.train.n + d.valid.n + d.test_warm.n, 40);
    ds_free(&d);
    /* a header-like line after the first data line is an error */
    tu_write_file(rp, "a\tx\t1\nuser\titem\trating\n");
    snprintf(want, sizeof want, "%s:2: rating 'rating'", rp);
    expect_tsv_error(rp, NULL, want);
    tu_write_file(rp, "a\tx\t1\nb\ty\t2\n");
    tu_write_file(up, "a\t1\nid\tage\nb\t2\n");
    snprintf(want, sizeof want, "%s:2: column 2:", up);
    expect_tsv_error(rp, up, want);
}

/* ---------- issue 15: times and the splits by time ---------- */

static double max_time(const ds_split *s)
{
    double m = -INFINITY;
    for (long k = 0; k < s->n; k++)
        m = fmax(m, s->time[k]);
    return m;
}

static double min_time(const ds_split *s)
{
    double m = INFINITY;
    for (long k = 0; k < s->n; k++)
        m = fmin(m, s->time[k]);
    return m;
}

/* per user: every valid/test time >= every train time, every test time >= every valid time,
 * and the counts of the leave_last rule */
static void check_leave_last(const ds_data *d, int k)
{
    for (int u = 0; u < d->n_users; u++) {
        double tr = -INFINITY, v_lo = INFINITY, v_hi = -INFINITY, te = INFINITY;
        long n_tr = 0, n_v = 0, n_te = 0;
        for (long q = 0; q < d->train.n; q++)
            if (d->train.user[q] == u)
                n_tr++, tr = fmax(tr, d->train.time[q]);
        for (long q = 0; q < d->valid.n; q++)
            if (d->valid.user[q] == u)
                n_v++, v_lo = fmin(v_lo, d->valid.time[q]), v_hi = fmax(v_hi, d->valid.time[q]);
        for (long q = 0; q < d->test_warm.n; q++)
            if (d->test_warm.user[q] == u)
                n_te++, te = fmin(te, d->test_warm.time[q]);
        long n = n_tr + n_v + n_te;
        if (n == 0)
            continue;
        long want_te = n - 1 < k ? n - 1 : k, want_v = n - 1 - want_te < k ? n - 1 - want_te : k;
        assert_int_equal(n_te, want_te);
        assert_int_equal(n_v, want_v);
        assert_true(n_tr >= 1);
        assert_true(tr <= v_lo && tr <= te && v_hi <= te);
    }
}

static void test_ml_by_time(void **state)
{
    (void)state;
    if (!need_movielens())
        skip();
    ds_data d;
    char err[512];
    /* the fold loaders carry the u.data timestamps */
    if (load_movielens100k(ML, "u1", "fold", 0.1, 0, 1, &d, err, sizeof err))
        fail_msg("%s", err);
    assert_non_null(d.train.time);
    assert_non_null(d.test_warm.time);
    assert_true(min_time(&d.train) > 8e8 && max_time(&d.train) < 9e8);   /* 1997-98 */
    ds_free(&d);
    load_time_opts o = {.kind = LOAD_TEMPORAL, .valid_fraction = 0.2, .test_fraction = 0.2};
    if (load_movielens100k_by_time(ML, &o, &d, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(d.train.n, 60000);
    assert_int_equal(d.valid.n, 20000);
    assert_int_equal(d.test_warm.n, 20000);
    assert_int_equal(d.test_cold.n, 0);
    /* no test (or valid) interaction is earlier than any training interaction */
    assert_true(min_time(&d.test_warm) >= max_time(&d.train));
    assert_true(min_time(&d.test_warm) >= max_time(&d.valid));
    assert_true(min_time(&d.valid) >= max_time(&d.train));
    printf("temporal: train until %.0f, test from %.0f\n", max_time(&d.train), min_time(&d.test_warm));
    ds_free(&d);
    o = (load_time_opts){.kind = LOAD_LEAVE_LAST, .k = 2};
    if (load_movielens100k_by_time(ML, &o, &d, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(d.test_warm.n, 2 * 943);   /* every user has >= 20 ratings */
    assert_int_equal(d.valid.n, 2 * 943);
    assert_int_equal(d.train.n, 100000 - 4 * 943);
    check_leave_last(&d, 2);
    ds_free(&d);
}

static void test_tsv_by_time(void **state)
{
    (void)state;
    char dir[512], rp[600], bp[600], cp[600];
    assert_non_null(tu_tmpdir("loaders_tsvtime", dir, sizeof dir));
    snprintf(rp, sizeof rp, "%s/ratings.tsv", dir);
    snprintf(bp, sizeof bp, "%s/bad.tsv", dir);
    /* 10 ratings; times with ties (5, 5 at lines 3 and 4; 9, 9 at the end) */
    const char *txt = "user\titem\trating\ttime\n"
                      "a\t1\t5\t1\n"
                      "a\t2\t4\t5\n"
                      "b\t1\t3\t5\n"
                      "b\t3\t2\t2\n"
                      "a\t3\t1\t7\n"
                      "c\t1\t5\t3\n"
                      "c\t2\t4\t8\n"
                      "b\t2\t5\t6\n"
                      "c\t3\t3\t9\n"
                      "a\t4\t2\t9\n";
    assert_int_equal(tu_write_file(rp, txt), 0);
    ds_data d;
    char err[512];
    load_time_opts o = {.kind = LOAD_TEMPORAL, .valid_fraction = 0.2, .test_fraction = 0.3};
    if (load_tsv_by_time(rp, NULL, NULL, &o, &d, err, sizeof err))
        fail_msg("%s", err);
    /* by (time, line): 1 2 3 5(a2) 5(b1) 6 7 8 | 9(c3) 9(a4)... sizes 5 / 2 / 3 */
    assert_int_equal(d.train.n, 5);
    assert_int_equal(d.valid.n, 2);
    assert_int_equal(d.test_warm.n, 3);
    /* test = the 3 latest: times 8, 9, 9 (file order in the split: c2, c3, a4) */
    assert_true(d.test_warm.time[0] == 8 && d.test_warm.time[1] == 9 && d.test_warm.time[2] == 9);
    /* valid = times 6, 7; train holds both 5s (the tie at the train/valid border is by line) */
    assert_true(min_time(&d.valid) == 6 && max_time(&d.valid) == 7);
    assert_true(max_time(&d.train) == 5);
    assert_true(min_time(&d.test_warm) >= max_time(&d.train));
    ds_free(&d);
    /* leave_last, k = 1: a: last = a4 (t 9), valid a3 (t 7); b: last b2 (6), valid b1 (5);
     * c: last c3 (9), valid c2 (8) */
    o = (load_time_opts){.kind = LOAD_LEAVE_LAST, .k = 1};
    if (load_tsv_by_time(rp, NULL, NULL, &o, &d, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(d.test_warm.n, 3);
    assert_int_equal(d.valid.n, 3);
    assert_int_equal(d.train.n, 4);
    check_leave_last(&d, 1);
    /* rows: a = 0, b = 1, c = 2; items 1 = 0, 2 = 1, 3 = 2, 4 = 3 */
    for (long q = 0; q < d.test_warm.n; q++) {
        int32_t u = d.test_warm.user[q], i = d.test_warm.item[q];
        assert_true((u == 0 && i == 3) || (u == 1 && i == 1) || (u == 2 && i == 2));
    }
    ds_free(&d);
    /* a file without timestamps loads for split = fold (time NULL) ... */
    assert_int_equal(tu_write_file(bp, "a\t1\t5\t1\nb\t1\t4\nc\t2\t3\t2\n"), 0);
    if (load_tsv(bp, NULL, NULL, 0, 0.3, 1, &d, err, sizeof err))
        fail_msg("%s", err);
    assert_null(d.train.time);
    ds_free(&d);
    /* ... and is refused by a split by time, naming the line */
    assert_int_equal(load_tsv_by_time(bp, NULL, NULL, &o, &d, err, sizeof err), -1);
    printf("  %s\n", err);
    assert_non_null(strstr(err, "bad.tsv:2: no timestamp"));
    assert_int_equal(tu_write_file(bp, "a\t1\t5\t1\nb\t1\t4\tyesterday\n"), 0);
    assert_int_equal(load_tsv_by_time(bp, NULL, NULL, &o, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad.tsv:2: timestamp 'yesterday' is not a finite number"));
    /* fractions that leave no training data */
    o = (load_time_opts){.kind = LOAD_TEMPORAL, .valid_fraction = 0.5, .test_fraction = 0.5};
    assert_int_equal(load_tsv_by_time(rp, NULL, NULL, &o, &d, err, sizeof err), -1);

    /* through a config, as `run` loads it */
    snprintf(cp, sizeof cp, "%s/c.ini", dir);
    char ini[1024];
    snprintf(ini, sizeof ini, "[data]\nsource = tsv\nratings = %s\nsplit = temporal\n"
                              "temporal_valid = 0.2\ntemporal_test = 0.3\npop_gamma = 0.25\n"
                              "[method.baseline]\n", rp);
    assert_int_equal(tu_write_file(cp, ini), 0);
    cfg *c = NULL;
    cfg_cell *cells = NULL;
    int n = 0;
    if (cfg_load(cp, &c, err, sizeof err) != 0 || cfg_expand(c, &cells, &n, err, sizeof err) != 0)
        fail_msg("%s", err);
    if (cellrun_load_data(c, &cells[0], &d, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(d.test_warm.n, 3);
    assert_int_equal(d.valid.n, 2);
    assert_true(d.pop_gamma == 0.25);
    ds_free(&d);
    cfg_cells_free(cells, n);
    cfg_free(c);
    /* bad keys are refused when the config loads: range, and a key its split does not use */
    const char *bad[][2] = {
        {"split = temporal\ntemporal_test = 0.7\n", "temporal_test"},
        {"split = leave_last\nleave_last_k = 0\n", "leave_last_k"},
        {"split = fold\nleave_last_k = 2\n", "leave_last_k"},
        {"split = temporal\npop_gamma = -1\n", "pop_gamma"},
        {"split = sideways\n", "split"},
    };
    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
        snprintf(ini, sizeof ini, "[data]\nsource = tsv\nratings = %s\n%s[method.baseline]\n", rp,
                 bad[b][0]);
        assert_int_equal(tu_write_file(cp, ini), 0);
        c = NULL;
        int rc = cfg_load(cp, &c, err, sizeof err);
        if (rc == 0) {
            rc = cfg_expand(c, &cells, &n, err, sizeof err);
            if (rc == 0)
                cfg_cells_free(cells, n);
        }
        cfg_free(c);
        printf("  %s\n", err);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, "c.ini:"));
        assert_non_null(strstr(err, bad[b][1]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ml_all),
        cmocka_unit_test(test_ml_folds),
        cmocka_unit_test(test_ml_cold_users),
        cmocka_unit_test(test_ml_malformed),
        cmocka_unit_test(test_tsv_roundtrip),
        cmocka_unit_test(test_tsv_malformed),
        cmocka_unit_test(test_tsv_header),
        cmocka_unit_test(test_tsv_cold_users),
        cmocka_unit_test(test_ml_by_time),
        cmocka_unit_test(test_tsv_by_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
