/* test_docs.c — the documentation matches the code: docs/configs.md ends with the output of
 * `t2rec keys --markdown` (regenerate with `make docs`), and every command has --help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_configs_md_matches_key_tables(void **state)
{
    (void)state;
    static char keys[1 << 18];
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s keys --markdown", tu_t2rec());
    assert_int_equal(tu_run(cmd, keys, sizeof keys), 0);
    assert_non_null(strstr(keys, "| `n_obs` |"));
    assert_non_null(strstr(keys, "### method.twotower"));
    char *doc = read_all("docs/configs.md");
    assert_non_null(doc);
    size_t ld = strlen(doc), lk = strlen(keys);
    if (ld < lk || strcmp(doc + ld - lk, keys) != 0) {
        printf("docs/configs.md is out of date: run `make docs`\n");
        fail();
    }
}

static void test_every_command_has_help(void **state)
{
    (void)state;
    const char *cmds[] = {"gen", "run", "merge", "export", "slurm", "report", "plot", "keys", "intdim", NULL};
    for (int k = 0; cmds[k]; k++) {
        char cmd[512], out[8192];
        snprintf(cmd, sizeof cmd, "%s %s --help", tu_t2rec(), cmds[k]);
        assert_int_equal(tu_run(cmd, out, sizeof out), 0);
        assert_non_null(strstr(out, "usage: t2rec"));
    }
    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "%s no-such-command", tu_t2rec());
    assert_int_equal(tu_run(cmd, out, sizeof out), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configs_md_matches_key_tables),
        cmocka_unit_test(test_every_command_has_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
