/* test_docs.c — the documentation matches the code: docs/configs.md ends with the output of
 * `t2rec keys --markdown` (regenerate with `make docs`), every table in it is valid Markdown (each
 * row has the header's number of cells, a '|' inside a cell escaped), and every command has
 * --help. */
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

/* Cells of one Markdown table row "| a | b |": the unescaped '|' count minus one; -1 when the
 * row does not start and end with '|'. */
static int row_cells(const char *row, size_t n)
{
    while (n && (row[n - 1] == ' ' || row[n - 1] == '\r'))
        n--;
    if (n < 2 || row[0] != '|' || row[n - 1] != '|' || row[n - 2] == '\\')
        return -1;
    int bars = 0;
    for (size_t k = 0; k < n; k++)
        if (row[k] == '\\')
            k++; /* an escaped character, "\\|" included */
        else if (row[k] == '|')
            bars++;
    return bars - 1;
}

/* Every table of a Markdown text: 0 when each has a header, a |---| delimiter row of the same
 * width and rows of the same width; else the 1-based line of the first bad row. */
static int first_bad_table_row(const char *text)
{
    int line = 0, width = -1, row_in_table = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        line++;
        if (n && p[0] == '|') {
            int c = row_cells(p, n);
            if (row_in_table == 0)
                width = c;
            else if (row_in_table == 1)
                for (size_t k = 0; k < n; k++)
                    if (!strchr("|-: ", p[k]))
                        return line; /* the delimiter row holds only | - : */
            if (c < 1 || c != width)
                return line;
            row_in_table++;
        } else {
            if (row_in_table == 1)
                return line - 1; /* a header without a delimiter row */
            row_in_table = 0;
        }
        p += n + (nl != NULL);
    }
    return row_in_table == 1 ? line : 0;
}

static void test_markdown_table_checker(void **state)
{
    (void)state;
    assert_int_equal(first_bad_table_row("| a | b |\n|---|---|\n| x \\| y | z |\n\ntext\n"), 0);
    /* an unescaped bar inside a cell splits it: the row has 3 cells, not 2 */
    assert_int_equal(first_bad_table_row("x\n| a | b |\n|---|---|\n| |n| | z |\n"), 4);
    assert_int_equal(first_bad_table_row("| a | b |\n| x | y |\n"), 2); /* no delimiter row */
    assert_int_equal(first_bad_table_row("| a | b |\n|---|---|\n| x | y\n"), 3);
}

static void test_configs_md_tables_are_valid_markdown(void **state)
{
    (void)state;
    char *doc = read_all("docs/configs.md");
    assert_non_null(doc);
    int bad = first_bad_table_row(doc);
    if (bad) {
        printf("docs/configs.md:%d: table row with the wrong number of cells (escape '|' as '\\|')\n",
               bad);
        fail();
    }
    static char keys[1 << 18];
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s keys --markdown", tu_t2rec());
    assert_int_equal(tu_run(cmd, keys, sizeof keys), 0);
    assert_int_equal(first_bad_table_row(keys), 0);
    /* the rows whose help holds a bar (|Omega|, ||W1||^2) are escaped, not dropped */
    assert_non_null(strstr(keys, "\\|Omega\\|"));
    assert_non_null(strstr(keys, "\\|\\|W1\\|\\|"));
}

static void test_every_command_has_help(void **state)
{
    (void)state;
    const char *cmds[] = {"gen", "run", "merge", "export", "slurm", "report", "plot", "keys", "intdim",
                          "prune", NULL};
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
        cmocka_unit_test(test_markdown_table_checker),
        cmocka_unit_test(test_configs_md_tables_are_valid_markdown),
        cmocka_unit_test(test_every_command_has_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
