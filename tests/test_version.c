/* test_version.c — provenance cannot go stale: the code version a build records follows the git
 * state. In a clone of this repository (HEAD): a clean build says the commit hash; after editing
 * a source file, `make` alone makes `t2rec version` say -dirty; after committing, the new hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

#ifndef T2REC_SRCDIR
#define T2REC_SRCDIR "."
#endif


static void first_line(char *s)
{
    char *nl = strchr(s, '\n');
    if (nl)
        *nl = 0;
}

static void version_of(const char *dir, char *out, size_t n)
{
    char cmd[512], buf[4096];
    snprintf(cmd, sizeof cmd, "'%s/bin/t2rec' version", dir);
    assert_int_equal(tu_run(cmd, buf, sizeof buf), 0);
    first_line(buf);
    buf[n - 1 < sizeof buf ? n - 1 : sizeof buf - 1] = 0;
    memcpy(out, buf, strlen(buf) + 1);
}

static void test_version_follows_git_state(void **state)
{
    (void)state;
    char out[8192], cmd[1024], v[256], want[256];
    if (tu_run("git --version", NULL, 0) != 0 ||
        tu_run("git -C '" T2REC_SRCDIR "' rev-parse --git-dir", NULL, 0) != 0) {
        printf("no git or not a git checkout: skipped\n");
        skip();
    }
    char dir[512];
    tu_tmpdir("version", dir, sizeof dir);
    char clone[600];
    snprintf(clone, sizeof clone, "%s/clone", dir);
    snprintf(cmd, sizeof cmd, "git clone -q '%s' '%s'", T2REC_SRCDIR, clone);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);

    /* 1. clean build: the hash, no -dirty */
    snprintf(cmd, sizeof cmd, "cd '%s' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -j2 OPT=-O0 SAN= BUILD=build BIN=bin all", clone);
    if (tu_run(cmd, out, sizeof out) != 0) {
        printf("%s\n", out);
        fail();
    }
    snprintf(cmd, sizeof cmd, "git -C '%s' describe --always --abbrev=12", clone);
    assert_int_equal(tu_run(cmd, want, sizeof want), 0);
    first_line(want);
    version_of(clone, v, sizeof v);
    printf("clean clone: %s (git: %s)\n", v, want);
    assert_non_null(strstr(v, want));
    assert_null(strstr(v, "-dirty"));

    /* 2. edit a source file, plain make: -dirty */
    snprintf(cmd, sizeof cmd, "echo '/* edited by test_version */' >> '%s/src/params.c'", clone);
    assert_int_equal(tu_run(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -j2 OPT=-O0 SAN= BUILD=build BIN=bin all", clone);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    version_of(clone, v, sizeof v);
    printf("after an edit: %s\n", v);
    assert_non_null(strstr(v, want));
    assert_non_null(strstr(v, "-dirty"));

    /* 3. commit it, plain make: the new hash, clean again */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && git -c user.name=t -c user.email=t@t commit -qam edit && "
             "git describe --always --abbrev=12", clone);
    assert_int_equal(tu_run(cmd, want, sizeof want), 0);
    first_line(want);
    snprintf(cmd, sizeof cmd, "cd '%s' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -j2 OPT=-O0 SAN= BUILD=build BIN=bin all", clone);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    version_of(clone, v, sizeof v);
    printf("after a commit: %s (git: %s)\n", v, want);
    assert_non_null(strstr(v, want));
    assert_null(strstr(v, "-dirty"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_follows_git_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
