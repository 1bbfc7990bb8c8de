/* test_run_output.c — `run -o DIR/SUB/OUT.h5` creates the missing output folders (mkdir -p) and
 * says so; a folder that cannot be created (its parent is a file) is refused with exit 2 and
 * nothing written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static const char *CFG =
    "[experiment]\nname = t\nseed = 1\nreplicates = 1\n"
    "[data]\nsource = synthetic\nn_obs = 512\nuser_intrinsic_dim = 2\nitem_intrinsic_dim = 2\n"
    "user_ambient_dim = 4\nitem_ambient_dim = 4\nmanifold = linear\ntruth = smooth\nbeta = 1\n"
    "noise = 0.1\nsampling = uniform\ntest_cold_pairs = 200\ntest_warm_pairs = 100\n"
    "[method.baseline]\n";

static void test_output_folders_created(void **state)
{
    (void)state;
    char dir[512], path[700], cmd[8192], out[8192], bin[PATH_MAX];
    assert_non_null(realpath(tu_t2rec(), bin));
    tu_tmpdir("run_output", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/c.ini", dir);
    assert_int_equal(tu_write_file(path, CFG), 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' run c.ini -o a/b/out.h5 --no-progress", dir, bin);
    int rc = tu_run(cmd, out, sizeof out);
    printf("%s", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "created output directory 'a/b'"));
    snprintf(path, sizeof path, "%s/a/b/out.h5", dir);
    assert_int_equal(access(path, R_OK), 0);

    /* a parent that is a file: exit 2, nothing created */
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' run c.ini -o c.ini/x/out.h5 --no-progress", dir, bin);
    rc = tu_run(cmd, out, sizeof out);
    printf("%s", out);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "cannot create output directory 'c.ini/x'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_folders_created),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
