/* test_fuzz_regressions.c — replays every saved fuzzer finding in tests/fuzz/regressions/TARGET/
 * through the same entry point as the libFuzzer target (tests/fuzz/fuzz_TARGET.c, built here
 * without its LLVMFuzzerTestOneInput): no crash, and a failure comes with a one-line message
 * (the entry points abort otherwise). Damaged results files also go through `t2rec report`,
 * which must exit 2 with exactly one line on stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

#define FUZZ_NO_MAIN
#include "fuzz/fuzz_config.c"
#include "fuzz/fuzz_movielens.c"
#include "fuzz/fuzz_results.c"
#include "fuzz/fuzz_tsv.c"

typedef int (*entry_fn)(const uint8_t *, size_t);

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

/* Replay every file of tests/fuzz/regressions/target (also the seed corpus); returns the count. */
static int replay(const char *target, const char *under, entry_fn fn)
{
    char dir[512];
    snprintf(dir, sizeof dir, "tests/fuzz/%s/%s", under, target);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        size_t len;
        uint8_t *buf = slurp(p, &len);
        assert_int_equal(fn(buf, len), 0);
        free(buf);
        print_message("ok   %s %s\n", target, p);
        n++;
    }
    closedir(d);
    return n;
}

static void test_config(void **s) { (void)s; replay("fuzz_config", "regressions", fuzz_config_one); replay("fuzz_config", "corpus", fuzz_config_one); }
static void test_movielens(void **s) { (void)s; replay("fuzz_movielens", "regressions", fuzz_movielens_one); replay("fuzz_movielens", "corpus", fuzz_movielens_one); }
static void test_tsv(void **s) { (void)s; replay("fuzz_tsv", "regressions", fuzz_tsv_one); replay("fuzz_tsv", "corpus", fuzz_tsv_one); }

/* Damaged results files: h5out_read fails cleanly, and `t2rec report` exits 2 with one line. */
static void test_results(void **s)
{
    (void)s;
    int n = replay("fuzz_results", "regressions", fuzz_results_one);
    replay("fuzz_results", "corpus", fuzz_results_one);
    assert_true(n >= 1);
    DIR *d = opendir("tests/fuzz/regressions/fuzz_results");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[1024], cmd[2048], out[4096];
        snprintf(p, sizeof p, "tests/fuzz/regressions/fuzz_results/%s", e->d_name);
        cell_record *recs = NULL;
        int nrec = 0;
        char err[1024] = "";
        assert_int_equal(h5out_read(p, &recs, &nrec, err, sizeof err), -1);
        assert_null(recs);
        assert_non_null(strstr(err, p));
        snprintf(cmd, sizeof cmd, "'%s' report '%s' 2>&1 >/dev/null", tu_t2rec(), p);
        int rc = tu_run(cmd, out, sizeof out);
        print_message("     report %s -> exit %d: %s", e->d_name, rc, out);
        assert_int_equal(rc, 2);
        assert_non_null(strstr(out, p));
        assert_non_null(strchr(out, '\n'));
        assert_string_equal(strchr(out, '\n'), "\n");   /* exactly one line */
    }
    closedir(d);
}

/* Files on which HDF5 loops or allocates gigabytes (tests/fuzz/hangs/): `t2rec report` must
 * still end with exit 2 and one line (h5out_read's time-limited child). About a minute each,
 * so only with T2REC_FUZZ_HANGS=1. */
static void test_results_hangs(void **s)
{
    (void)s;
    const char *on = getenv("T2REC_FUZZ_HANGS");
    if (!on || strcmp(on, "1") != 0) {
        print_message("skipped: set T2REC_FUZZ_HANGS=1 to replay tests/fuzz/hangs/\n");
        skip();
    }
    DIR *d = opendir("tests/fuzz/hangs/fuzz_results");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char cmd[2048], out[4096];
        snprintf(cmd, sizeof cmd, "timeout 300 '%s' report 'tests/fuzz/hangs/fuzz_results/%s' 2>&1 >/dev/null",
                 tu_t2rec(), e->d_name);
        int rc = tu_run(cmd, out, sizeof out);
        print_message("     report %s -> exit %d: %s", e->d_name, rc, out);
        assert_int_equal(rc, 2);
        assert_string_equal(strchr(out, '\n'), "\n");
    }
    closedir(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_movielens),
        cmocka_unit_test(test_tsv),
        cmocka_unit_test(test_results),
        cmocka_unit_test(test_results_hangs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
