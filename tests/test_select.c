/* test_select.c — selecting and pruning cells: grouping_where (--where KEY=VALUE of report,
 * plot and export: full and short keys, record fields, numbers by value, alternatives on one
 * key, bad conditions) and `t2rec prune OUT.h5 --config CONFIG` end to end (after a config
 * edit the old cells go, the kept ones are unchanged, nothing written when nothing is dropped,
 * refused under a held lock and with staged cells, bad config exits 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "grouping.h"
#include "h5out.h"
#include "outlock.h"
#include "testutil.h"

static void make_rec(cell_record *r, const char *key, const char *method, const char *nobs,
                     int rep, const char *status)
{
    record_init(r);
    snprintf(r->key, sizeof r->key, "%s", key);
    kv_set(&r->config, "method", method);
    kv_set(&r->config, "data.n_obs", nobs);
    kv_set(&r->config, "experiment.description", "v1");
    if (!strcmp(method, "twotower"))
        kv_set(&r->config, "method.depth", "2");
    r->replicate = rep;
    snprintf(r->status, sizeof r->status, "%s", status);
}

/* 6 records: {baseline, twotower, mf} x n_obs {1024, 2048}, replicate = index % 2, one failed */
static cell_record *six(int *n)
{
    static const char *m[] = {"baseline", "twotower", "mf"};
    cell_record *r = calloc(6, sizeof *r);
    assert_non_null(r);
    for (int i = 0; i < 6; i++) {
        char key[17];
        snprintf(key, sizeof key, "%016x", i + 1);
        make_rec(&r[i], key, m[i / 2], i % 2 ? "2048" : "1024", i % 2, i == 3 ? "failed" : "ok");
    }
    *n = 6;
    return r;
}

/* The keys left after selecting with conds, as "1 2 ..." (last hex digit of each key). */
static int select_keys(const char *const *conds, int nc, char *out, size_t ol, char *err,
                       size_t el)
{
    int n;
    cell_record *r = six(&n);
    int rc = grouping_where(r, &n, conds, nc, err, el);
    out[0] = 0;
    for (int i = 0; rc == 0 && i < n; i++)
        snprintf(out + strlen(out), ol - strlen(out), "%s%c", i ? " " : "", r[i].key[15]);
    h5out_free_records(r, n);
    return rc;
}

static void test_where(void **state)
{
    (void)state;
    char out[64], err[512];
    struct {
        const char *conds[4];
        int nc;
        const char *want;
    } ok[] = {
        {{"method=twotower"}, 1, "3 4"},
        {{"data.n_obs=2048"}, 1, "2 4 6"},
        {{"n_obs=1024.0"}, 1, "1 3 5"},                       /* short name, numeric match */
        {{"n_obs=1024", "method=mf"}, 2, "5"},                /* different keys: both */
        {{"method=mf", "method=baseline"}, 2, "1 2 5 6"},     /* same key: either */
        {{"method=mf", "n_obs=2048", "method=baseline"}, 3, "2 6"},
        {{"status=failed"}, 1, "4"},
        {{"replicate=1"}, 1, "2 4 6"},
        {{"key=0000000000000005"}, 1, "5"},
        {{"depth=2"}, 1, "3 4"},                              /* only cells that have the key */
        {{"description=v1"}, 1, "1 2 3 4 5 6"},
    };
    for (size_t k = 0; k < sizeof ok / sizeof *ok; k++) {
        int rc = select_keys(ok[k].conds, ok[k].nc, out, sizeof out, err, sizeof err);
        if (rc != 0 || strcmp(out, ok[k].want))
            print_error("case %zu (%s): rc %d, got '%s' want '%s' (%s)\n", k, ok[k].conds[0], rc,
                        out, ok[k].want, rc ? err : "");
        assert_int_equal(rc, 0);
        assert_string_equal(out, ok[k].want);
    }
    struct {
        const char *cond, *want1, *want2;
    } bad[] = {
        {"n_obs", "write KEY=VALUE", NULL},
        {"=3", "write KEY=VALUE", NULL},
        {"n_obs=", "write KEY=VALUE", NULL},
        {"nobs=1024", "nobs: no cell has this key", NULL},
        {"n_obs=4096", "no cell matches n_obs=4096", "n_obs takes: 1024, 2048"},
        {"method=autorec", "no cell matches", "baseline, twotower, mf"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        const char *c[1] = {bad[k].cond};
        err[0] = 0;
        int rc = select_keys(c, 1, out, sizeof out, err, sizeof err);
        if (rc != -1 || !strstr(err, bad[k].want1) || (bad[k].want2 && !strstr(err, bad[k].want2)))
            print_error("bad %s: rc %d err '%s'\n", bad[k].cond, rc, err);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, bad[k].want1));
        if (bad[k].want2)
            assert_non_null(strstr(err, bad[k].want2));
    }
    /* an ambiguous short name: data.depth and method.depth */
    int n;
    cell_record *r = six(&n);
    kv_set(&r[0].config, "data.depth", "2");
    const char *c[1] = {"depth=2"};
    assert_int_equal(grouping_where(r, &n, c, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "ambiguous"));
    assert_int_equal(n, 6); /* unchanged on error */
    h5out_free_records(r, n);
}

static char dir[512], t2rec[PATH_MAX];

static int sh(const char *fmt, const char *arg, char *out, size_t ol)
{
    char cmd[8192], inner[2048];
    snprintf(inner, sizeof inner, fmt, arg ? arg : "");
    snprintf(cmd, sizeof cmd, "cd '%s' && T2REC='%s' && %s", dir, t2rec, inner);
    return tu_run(cmd, out, ol);
}

static int file_cells(const char *name)
{
    char p[1024], err[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cell_record *r;
    int n;
    if (h5out_read(p, &r, &n, err, sizeof err) != 0)
        return -1;
    h5out_free_records(r, n);
    return n;
}

static const char *CFG_A =
    "[experiment]\nseed = 4\ndescription = first\n[data]\nn_obs = 256, 512\nobs_per_user = 4\n"
    "obs_per_item = 4\ntest_cold_pairs = 50\ntest_warm_pairs = 50\n[method.baseline]\n"
    "[method.oracle]\n";
/* the edit: n_obs 512 dropped, oracle dropped, description changed (not in the key) */
static const char *CFG_B =
    "[experiment]\nseed = 4\ndescription = second\n[data]\nn_obs = 256\nobs_per_user = 4\n"
    "obs_per_item = 4\ntest_cold_pairs = 50\ntest_warm_pairs = 50\n[method.baseline]\n";

static void test_prune_cli(void **state)
{
    (void)state;
    char out[16384], p[1024], before[16384], after[16384];
    assert_non_null(tu_tmpdir("select_prune", dir, sizeof dir));
    assert_non_null(realpath(tu_t2rec(), t2rec));
    snprintf(p, sizeof p, "%s/a.ini", dir);
    assert_int_equal(tu_write_file(p, CFG_A), 0);
    snprintf(p, sizeof p, "%s/b.ini", dir);
    assert_int_equal(tu_write_file(p, CFG_B), 0);
    snprintf(p, sizeof p, "%s/bad.ini", dir);
    assert_int_equal(tu_write_file(p, "[data]\nn_obs = 256\nnoize = 1\n[method.baseline]\n"), 0);
    assert_int_equal(sh("\"$T2REC\" run a.ini -o r.h5 --no-progress", NULL, out, sizeof out), 0);
    assert_int_equal(file_cells("r.h5"), 4);

    /* --where on export and report, on the real file */
    assert_int_equal(sh("\"$T2REC\" export r.h5 --no-timing --where method=oracle --where n_obs=512",
                        NULL, out, sizeof out), 0);
    int lines = 0;
    for (const char *q = out; *q; q++)
        lines += *q == '\n';
    assert_int_equal(lines, 2); /* header + one cell */
    assert_non_null(strstr(out, "oracle"));
    assert_null(strstr(out, "baseline"));
    assert_int_equal(sh("\"$T2REC\" report r.h5 --means --where method=baseline", NULL, out,
                        sizeof out), 0);
    assert_non_null(strstr(out, "baseline"));
    assert_null(strstr(out, "oracle"));
    assert_int_equal(sh("\"$T2REC\" export r.h5 --where n_obs=300", NULL, out, sizeof out), 2);
    assert_non_null(strstr(out, "n_obs takes"));
    assert_int_equal(sh("\"$T2REC\" plot r.h5 --no-render -o figs --where method=nope", NULL, out,
                        sizeof out), 2);
    assert_int_equal(sh("\"$T2REC\" plot r.h5 --no-render -o figs --where method=baseline", NULL,
                        out, sizeof out), 0);

    /* prune: bad config, no --config: exit 2, file untouched */
    assert_int_equal(sh("\"$T2REC\" export r.h5 --no-timing", NULL, before, sizeof before), 0);
    assert_int_equal(sh("\"$T2REC\" prune r.h5 --config bad.ini", NULL, out, sizeof out), 2);
    assert_non_null(strstr(out, "bad.ini:3: [data] noize"));
    assert_int_equal(sh("\"$T2REC\" prune r.h5", NULL, out, sizeof out), 2);
    /* dry run lists and writes nothing */
    assert_int_equal(sh("\"$T2REC\" prune r.h5 --config b.ini --dry-run", NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "would drop 3 of 4 cells"));
    assert_int_equal(file_cells("r.h5"), 4);
    /* a held lock (a run writing r.h5): exit 2, nothing written */
    outlock l;
    char msg[512], rp[1024];
    snprintf(rp, sizeof rp, "%s/r.h5", dir);
    assert_int_equal(outlock_take(&l, rp, 0, msg, sizeof msg), OUTLOCK_OK);
    assert_int_equal(sh("\"$T2REC\" prune r.h5 --config b.ini", NULL, out, sizeof out), 2);
    outlock_release(&l);
    assert_int_equal(file_cells("r.h5"), 4);
    /* staged cells of an unfinished run: refused */
    assert_int_equal(sh("mkdir r.h5.cells && touch r.h5.cells/0123456789abcdef.h5", NULL, out,
                        sizeof out), 0);
    assert_int_equal(sh("\"$T2REC\" prune r.h5 --config b.ini", NULL, out, sizeof out), 2);
    assert_non_null(strstr(out, "staged cells"));
    assert_int_equal(sh("rm -r r.h5.cells", NULL, out, sizeof out), 0);

    /* the prune: 3 of 4 go, the kept cell is byte-for-byte the same row, no temp file left */
    assert_int_equal(sh("\"$T2REC\" prune r.h5 --config b.ini", NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "dropped 3 of 4 cells not in b.ini, 1 kept"));
    assert_int_equal(file_cells("r.h5"), 1);
    assert_int_equal(sh("\"$T2REC\" export r.h5 --no-timing", NULL, after, sizeof after), 0);
    char *row = strchr(after, '\n');
    assert_non_null(row);
    assert_non_null(strstr(before, row + 1)); /* the kept row is one of the old rows */
    assert_int_equal(sh("ls | grep -c tmp || true", NULL, out, sizeof out), 0);
    assert_int_equal(atoi(out), 0);
    /* again: nothing to drop, file not rewritten */
    struct stat s1, s2;
    assert_int_equal(stat(rp, &s1), 0);
    assert_int_equal(sh("\"$T2REC\" prune r.h5 --config b.ini", NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "nothing to drop"));
    assert_int_equal(stat(rp, &s2), 0);
    assert_true(s1.st_mtim.tv_sec == s2.st_mtim.tv_sec && s1.st_mtim.tv_nsec == s2.st_mtim.tv_nsec);
    /* the run of the edited config finds its cell: nothing to run */
    assert_int_equal(sh("\"$T2REC\" run b.ini -o r.h5 --no-progress", NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "1 cells ok"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_where),
        cmocka_unit_test(test_prune_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
