/* test_bad_inputs.c — the bad-input corpus (SPEC section 11): every case of
 * tests/bad_inputs/cases.tsv is copied to a temp folder and run there with bin/t2rec; the test
 * asserts exit status 2, exactly one line on stderr (or the count of the optional fifth column:
 * a config's errors come together, one per line) containing the expected substrings (file,
 * line, [section] key, ...), and that no file in the folder was created, removed or changed
 * (names, sizes and mtimes: no results file, no .tmp files). One summary line per case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "testutil.h"

#define CASES_DIR "tests/bad_inputs"
#define MAX_SNAP (64 * 1024)

/* ---- folder snapshots: one "relpath type size mtime" line per entry, sorted ---- */

static char **snap_lines;
static int snap_n, snap_cap;
static size_t snap_root_len;

static int snap_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    if (ftw->level == 0)
        return 0;
    char line[PATH_MAX + 128];
    snprintf(line, sizeof line, "%s %c %lld %lld.%09ld", path + snap_root_len,
             S_ISDIR(st->st_mode) ? 'd' : S_ISREG(st->st_mode) ? 'f' : 'o', (long long)st->st_size,
             (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
    if (snap_n == snap_cap) {
        snap_cap = snap_cap ? 2 * snap_cap : 64;
        snap_lines = realloc(snap_lines, (size_t)snap_cap * sizeof *snap_lines);
        assert_non_null(snap_lines);
    }
    snap_lines[snap_n++] = strdup(line);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The snapshot of dir as one malloc'ed text. */
static char *snapshot(const char *dir)
{
    snap_n = 0;
    snap_root_len = strlen(dir);
    assert_int_equal(nftw(dir, snap_visit, 16, FTW_PHYS), 0);
    qsort(snap_lines, (size_t)snap_n, sizeof *snap_lines, cmp_str);
    char *out = calloc(MAX_SNAP, 1);
    assert_non_null(out);
    size_t at = 0;
    for (int k = 0; k < snap_n; k++) {
        at += (size_t)snprintf(out + at, MAX_SNAP - at, "%s\n", snap_lines[k]);
        free(snap_lines[k]);
        assert_true(at < MAX_SNAP);
    }
    return out;
}

/* ---- helpers ---- */

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    char *buf = calloc(1 << 16, 1);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Number of non-empty lines of s. */
static int count_lines(const char *s)
{
    int n = 0;
    for (const char *p = s; *p;) {
        size_t l = strcspn(p, "\n");
        n += l > 0;
        p += l + (p[l] == '\n');
    }
    return n;
}

/* ---- the test ---- */

static void test_bad_inputs(void **state)
{
    (void)state;
    char t2rec[PATH_MAX], root[512], manifest[] = CASES_DIR "/cases.tsv";
    assert_non_null(realpath(tu_t2rec(), t2rec));
    assert_non_null(tu_tmpdir("bad_inputs", root, sizeof root));
    FILE *mf = fopen(manifest, "r");
    assert_non_null(mf);
    char line[4096];
    int ncases = 0, nfail = 0;
    while (fgets(line, sizeof line, mf)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        char *name = strtok(line, "\t"), *args = strtok(NULL, "\t"), *expect = strtok(NULL, "\t"),
             *desc = strtok(NULL, "\t"), *nlines = strtok(NULL, "\t");
        int want_lines = nlines ? atoi(nlines) : 1;
        assert_non_null(name);
        assert_non_null(args);
        assert_non_null(expect);
        assert_non_null(desc);
        ncases++;
        char dir[1024], cmd[8192], errp[1100], outp[1100];
        snprintf(dir, sizeof dir, "%s/%s", root, name);
        snprintf(errp, sizeof errp, "%s/%s.stderr", root, name);
        snprintf(outp, sizeof outp, "%s/%s.stdout", root, name);
        snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp -a '" CASES_DIR "/%s/.' '%s/'", dir, name, dir);
        assert_int_equal(system(cmd), 0);
        char *before = snapshot(dir);
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >'../%s.stdout' 2>'../%s.stderr'", dir, t2rec,
                 args, name, name);
        int st = system(cmd);
        int rc = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        char *after = snapshot(dir);
        char *err = read_all(errp);
        char why[1024] = "";
        if (rc != 2)
            snprintf(why, sizeof why, "exit status %d, want 2", rc);
        else if (count_lines(err) != want_lines)
            snprintf(why, sizeof why, "%d lines on stderr, want %d", count_lines(err), want_lines);
        else if (strcmp(before, after) != 0)
            snprintf(why, sizeof why, "files changed:\n--- before\n%s--- after\n%s", before, after);
        else {
            char ex[2048];
            snprintf(ex, sizeof ex, "%s", expect);
            for (char *save = NULL, *e = strtok_r(ex, "|", &save); e; e = strtok_r(NULL, "|", &save))
                if (!strstr(err, e)) {
                    snprintf(why, sizeof why, "message lacks '%s'", e);
                    break;
                }
        }
        err[strcspn(err, "\n")] = 0;
        if (why[0]) {
            nfail++;
            print_message("FAIL %-30s %s (%s)\n     t2rec %s\n     stderr: %s\n", name, why, desc, args, err);
        } else {
            print_message("ok   %-30s %.150s\n", name, err);
        }
        free(before);
        free(after);
        free(err);
    }
    fclose(mf);
    free(snap_lines);
    snap_lines = NULL;
    snap_cap = 0;
    print_message("%d bad-input cases, %d failed\n", ncases, nfail);
    assert_true(ncases >= 30);
    assert_int_equal(nfail, 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

/* Every folder of tests/bad_inputs/ is a case of the manifest and the other way round. */
static void test_manifest_matches_folders(void **state)
{
    (void)state;
    char out[1 << 16];
    /* tu_run uses /bin/sh: the comparison needs bash */
    int rc = tu_run("bash -c \"cd " CASES_DIR " && diff <(ls -d */ | tr -d / | sort) "
                "<(grep -v '^#' cases.tsv | cut -f1 | sort) && echo same\"",
                out, sizeof out);
    if (rc != 0)
        print_message("%s", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "same"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_matches_folders),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
