/* test_sweep.c — the sweep driver end to end through bin/t2rec: resume after SIGKILL,
 * shards + merge, -j 2 against -j 1, --force / --retry-failed, failed cells, bad output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include "h5out.h"
#include "testutil.h"

static char dir[200];

/* 2 n_obs x 2 d x 2 replicates x (twotower, baseline) = 16 small cells, a few seconds. */
static const char *CONFIG =
    "[experiment]\nname = sweeptest\nseed = 3\nreplicates = 2\n"
    "[data]\nn_obs = 512, 1024\nuser_intrinsic_dim = 2, 3\nitem_intrinsic_dim = 2, 3\n"
    "user_ambient_dim = 8\nitem_ambient_dim = 8\ntest_cold_pairs = 1000\ntest_warm_pairs = 200\n"
    "[zip]\naxes = user_intrinsic_dim, item_intrinsic_dim\n"
    "[method.twotower]\ndepth = 2\nwidth = 16\nembed_dim = 4\nepochs = 15\nbatch = 128\npatience = 3\n"
    "[method.baseline]\n";

static int setup(void **state)
{
    (void)state;
    if (!tu_tmpdir("sweep", dir, sizeof dir))
        return -1;
    char p[600];
    snprintf(p, sizeof p, "%s/c.ini", dir);
    return tu_write_file(p, CONFIG);
}

static char *slurp(const char *cmd)
{
    char *buf = malloc(1 << 20);
    int rc = tu_run(cmd, buf, 1 << 20);
    if (rc != 0) {
        fprintf(stderr, "command failed (%d): %s\n%s\n", rc, cmd, buf);
        free(buf);
        return NULL;
    }
    return buf;
}

static char *export_of(const char *h5)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s export %s --csv --no-timing 2>/dev/null", tu_t2rec(), h5);
    return slurp(cmd);
}

static int count_cells(const char *h5)
{
    cell_record *r = NULL;
    int n = 0;
    char err[512];
    if (h5out_read(h5, &r, &n, err, sizeof err) != 0)
        return -1;
    h5out_free_records(r, n);
    return n;
}

/* Cells a resume would find: those in the results file plus the staged cell files in
 * OUT.cells/ not (yet) in it (a kill can land between two rewrites of the results file). */
static int stored_cells(const char *h5)
{
    cell_record *r = NULL;
    int n = 0;
    char err[512], staging[700];
    struct stat st;
    if (stat(h5, &st) == 0 && h5out_read(h5, &r, &n, err, sizeof err) != 0)
        return -1;
    int total = n;
    snprintf(staging, sizeof staging, "%s.cells", h5);
    DIR *d = opendir(staging);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l != 19 || strcmp(e->d_name + 16, ".h5") != 0)
            continue;
        int dup = 0;
        for (int k = 0; k < n && !dup; k++)
            dup = strncmp(r[k].key, e->d_name, 16) == 0;
        total += !dup;
    }
    if (d)
        closedir(d);
    h5out_free_records(r, n);
    return total;
}

static char *reference_export(void)
{
    static char *ref = NULL;
    if (!ref) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "%s run %s/c.ini -o %s/ref.h5 --threads 1 --no-progress",
                 tu_t2rec(), dir, dir);
        char out[8192];
        int rc = tu_run(cmd, out, sizeof out);
        if (rc != 0)
            fprintf(stderr, "%s\n", out);
        assert_int_equal(rc, 0);
        char p[600];
        snprintf(p, sizeof p, "%s/ref.h5", dir);
        assert_int_equal(count_cells(p), 16);
        ref = export_of(p);
        assert_non_null(ref);
    }
    return ref;
}

static void test_reference_run(void **state)
{
    (void)state;
    char *ref = reference_export();
    /* 16 rows + header, every row ok */
    int lines = 0, oks = 0;
    for (char *p = ref; *p; p++)
        lines += *p == '\n';
    for (char *p = strstr(ref, ",ok,"); p; p = strstr(p + 1, ",ok,"))
        oks++;
    assert_int_equal(lines, 17);
    assert_int_equal(oks, 16);
    /* a rerun skips everything and leaves the export unchanged */
    char cmd[4096], out[4096];
    snprintf(cmd, sizeof cmd, "%s run %s/c.ini -o %s/ref.h5 --threads 1", tu_t2rec(), dir, dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "16 of 16 cells already done"));
    char p[600];
    snprintf(p, sizeof p, "%s/ref.h5", dir);
    char *again = export_of(p);
    assert_string_equal(again, ref);
    free(again);
}

/* t2rec run c.ini -o OUT -j JOBS [extra] with stderr to log (NULL: /dev/null). */
static pid_t spawn_run_log(const char *out, int jobs, const char *extra, const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        char cfgp[600], j[16];
        snprintf(cfgp, sizeof cfgp, "%s/c.ini", dir);
        snprintf(j, sizeof j, "%d", jobs);
        if (!freopen(log ? log : "/dev/null", "w", stderr))
            _exit(126);
        if (extra)
            execl(tu_t2rec(), "t2rec", "run", cfgp, "-o", out, "--threads", "1", "-j", j, extra,
                  (char *)NULL);
        else
            execl(tu_t2rec(), "t2rec", "run", cfgp, "-o", out, "--threads", "1", "-j", j, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static pid_t spawn_run(const char *out, int jobs)
{
    return spawn_run_log(out, jobs, NULL, NULL);
}

static char *read_file(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    return buf;
}

static int wait_status(pid_t pid)
{
    int st = 0;
    for (int t = 0; t < 1200; t++) {   /* 120 s at most */
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Two runs on one output: the second exits 2 naming the first's pid and host, writes nothing;
 * the first finishes every cell (nothing lost). With --wait the second waits for the first. */
static void test_output_lock(void **state)
{
    (void)state;
    char *ref = reference_export();
    char out[600], lockp[700], logp[700], cmd[4096], log[8192];
    snprintf(out, sizeof out, "%s/locked.h5", dir);
    snprintf(lockp, sizeof lockp, "%s.lock", out);
    snprintf(logp, sizeof logp, "%s/locked.log", dir);
    pid_t a = spawn_run(out, 1);
    struct stat st;
    for (int t = 0; t < 200 && stat(lockp, &st) != 0; t++)
        usleep(10000);
    assert_int_equal(stat(lockp, &st), 0);
    snprintf(cmd, sizeof cmd, "%s run %s/c.ini -o %s --threads 1", tu_t2rec(), dir, out);
    assert_int_equal(tu_run(cmd, log, sizeof log), 2);
    char pidtxt[64];
    snprintf(pidtxt, sizeof pidtxt, "pid %ld on host ", (long)a);
    assert_non_null(strstr(log, pidtxt));
    assert_non_null(strstr(log, "--wait"));
    /* merge refuses it too */
    snprintf(cmd, sizeof cmd, "%s merge %s %s/ref.h5", tu_t2rec(), out, dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 2);
    assert_int_equal(wait_status(a), 0);
    char *got = export_of(out);
    assert_string_equal(got, ref);   /* nothing lost, nothing doubled */
    free(got);
    assert_true(stat(lockp, &st) != 0);   /* released: the lock file is gone */
    /* --wait: the second run waits for the first (rerunning everything with --force), then
     * finds every cell done */
    a = spawn_run_log(out, 1, "--force", NULL);
    for (int t = 0; t < 200 && stat(lockp, &st) != 0; t++)
        usleep(10000);
    pid_t b = spawn_run_log(out, 1, "--wait", logp);
    assert_int_equal(wait_status(a), 0);
    assert_int_equal(wait_status(b), 0);
    char *bl = read_file(logp);
    assert_non_null(strstr(bl, "waiting for it"));
    assert_non_null(strstr(bl, "16 of 16 cells already done"));
    got = export_of(out);
    assert_string_equal(got, ref);
    free(got);
}

/* Issue 19: the disk fills up mid-sweep (a 600 KB tmpfs; needs root, skipped otherwise). The run
 * says which file and "No space left on device", exits 1 (it crashed with SIGSEGV in HDF5's
 * clean-up at exit before), its summary counts only the cells actually stored (results file +
 * staged cell files), the results file opens, and with space again a rerun ends equal to the
 * uninterrupted run. */
static void test_disk_full(void **state)
{
    (void)state;
    char mnt[600], cmd[4096], log[16384], out[700];
    snprintf(mnt, sizeof mnt, "%s/full", dir);
    mkdir(mnt, 0777);
    snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=600k tmpfs %s 2>&1", mnt);
    if (geteuid() != 0 || tu_run(cmd, log, sizeof log) != 0) {
        printf("skipped: mounting a small tmpfs needs root (%s)\n", log);
        skip();
    }
    char *ref = reference_export();
    snprintf(out, sizeof out, "%s/r.h5", mnt);
    for (int jobs = 1; jobs <= 2; jobs++) {
        snprintf(cmd, sizeof cmd, "rm -rf %s/r.h5*; %s run %s/c.ini -o %s --threads 1 -j %d 2>&1",
                 mnt, tu_t2rec(), dir, out, jobs);
        int rc = tu_run(cmd, log, sizeof log);
        printf("-j %d on a full disk: exit %d\n%s", jobs, rc, log);
        assert_int_equal(rc, 1);
        assert_non_null(strstr(log, "No space left on device"));
        assert_non_null(strstr(log, mnt));
        int stored = stored_cells(out), nok = -1;
        const char *sum = strstr(log, "cells ok");
        assert_non_null(sum);
        while (sum > log && sum[-1] != ':')
            sum--;
        nok = atoi(sum);
        assert_true(stored >= 1 && stored < 16);
        assert_int_equal(nok, stored);        /* no cell claimed that is not stored */
        assert_true(count_cells(out) >= 0);   /* the results file opens */
    }
    snprintf(cmd, sizeof cmd, "mount -o remount,size=16m %s", mnt);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    snprintf(cmd, sizeof cmd, "%s run %s/c.ini -o %s --threads 1 -j 2 2>&1", tu_t2rec(), dir, out);
    int rc = tu_run(cmd, log, sizeof log);
    char *full = rc == 0 ? export_of(out) : NULL;
    snprintf(cmd, sizeof cmd, "umount %s", mnt);
    tu_run(cmd, log, sizeof log);
    assert_int_equal(rc, 0);
    assert_non_null(full);
    assert_string_equal(full, ref);
    free(full);
}

/* Issue 19's injection walk, as SQLite does it: an LD_PRELOAD shim (tests/fault_shim.c) makes
 * the K-th write / fsync / rename (of each process) fail, for K = 1, 2, ... until K passes the
 * last call, for a small run, a merge and an export. After every fault: the command ends (60 s
 * timeout) with an error status and no signal, its summary claims no cell that is not stored,
 * the results file opens, nothing half-written is left as the output, and a rerun without the
 * fault ends equal to the uninterrupted run. */
static const char *TINY =
    "[experiment]\nname = tiny\nseed = 1\n"
    "[data]\nn_obs = 256\nuser_ambient_dim = 4\nitem_ambient_dim = 4\ntest_cold_pairs = 100\n"
    "test_warm_pairs = 100\n[method.baseline]\nepochs = 2\nreg_u = 1, 2, 3, 4\n";

/* a sanitizer build (make check) must accept the shim preloaded before its runtime */
#define ASAN_ENV "ASAN_OPTIONS=\"$ASAN_OPTIONS:verify_asan_link_order=0\" "

static int fault_fired(const char *log)
{
    struct stat st;
    return stat(log, &st) == 0 && st.st_size > 0;
}

static void test_fault_walk(void **state)
{
    (void)state;
    char shim[700], cfgp[700], ref[700], flog[700], cmd[8192], log[16384];
    snprintf(shim, sizeof shim, "%s/fault_shim.so", dir);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -O1 -o %s tests/fault_shim.c -ldl 2>&1", shim);
    if (tu_run(cmd, log, sizeof log) != 0) {
        printf("skipped: cannot build the fault shim (%s)\n", log);
        skip();
    }
    snprintf(cfgp, sizeof cfgp, "%s/tiny.ini", dir);
    assert_int_equal(tu_write_file(cfgp, TINY), 0);
    snprintf(ref, sizeof ref, "%s/tiny_ref.h5", dir);
    snprintf(flog, sizeof flog, "%s/fault.log", dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s*; %s run %s -o %s --threads 1 2>&1", ref, tu_t2rec(), cfgp, ref);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    char *want = export_of(ref);
    assert_non_null(want);
    static const char *const fns[3] = {"write", "fsync", "rename"};
    int points[3][3] = {{0}};   /* [command][function] */
    /* 1. run, -j 1 and -j 2 (K counts in each process: the coordinator and every worker) */
    char out[700];
    snprintf(out, sizeof out, "%s/tiny_f.h5", dir);
    for (int jobs = 1; jobs <= 2; jobs++)
    for (int f = 0; f < 3; f++)
        for (int k = 1; k <= 200; k++) {
            snprintf(cmd, sizeof cmd, "rm -rf %s* %s; T2REC_FAULT=%s:%d T2REC_FAULT_LOG=%s "
                     ASAN_ENV "LD_PRELOAD=%s timeout 60 %s run %s -o %s --threads 1 -j %d 2>&1",
                     out, flog, fns[f], k, flog, shim, tu_t2rec(), cfgp, out, jobs);
            int rc = tu_run(cmd, log, sizeof log);
            if (!fault_fired(flog)) {
                assert_int_equal(rc, 0);
                break;
            }
            points[0][f]++;
            if (rc != 1 && rc != 0)
                fail_msg("run -j %d with %s:%d: exit %d (want 1, or 0 when the fault did not "
                         "matter)\n%s", jobs, fns[f], k, rc, log);
            const char *sum = strstr(log, "cells ok");
            if (sum) {   /* the summary claims only what is stored */
                while (sum > log && sum[-1] != ':')
                    sum--;
                if (atoi(sum) != stored_cells(out))
                    fail_msg("run with %s:%d: summary says %d ok, %d stored\n%s", fns[f], k,
                             atoi(sum), stored_cells(out), log);
            }
            struct stat st;
            if (stat(out, &st) == 0)
                assert_true(count_cells(out) >= 0);
            snprintf(cmd, sizeof cmd, "%s run %s -o %s --threads 1 2>&1", tu_t2rec(), cfgp, out);
            if (tu_run(cmd, log, sizeof log) != 0)
                fail_msg("rerun after %s:%d failed:\n%s", fns[f], k, log);
            char *got = export_of(out);
            if (!got || strcmp(got, want) != 0)
                fail_msg("rerun after %s:%d differs from the uninterrupted run", fns[f], k);
            free(got);
        }
    /* 2. merge of two shards */
    char s0[700], s1[700], m[700];
    snprintf(s0, sizeof s0, "%s/tiny_s0.h5", dir);
    snprintf(s1, sizeof s1, "%s/tiny_s1.h5", dir);
    snprintf(m, sizeof m, "%s/tiny_m.h5", dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s* %s*; %s run %s -o %s --shard 0/2 && %s run %s -o %s --shard 1/2",
             s0, s1, tu_t2rec(), cfgp, s0, tu_t2rec(), cfgp, s1);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    for (int f = 0; f < 3; f++)
        for (int k = 1; k <= 200; k++) {
            snprintf(cmd, sizeof cmd, "rm -f %s %s; T2REC_FAULT=%s:%d T2REC_FAULT_LOG=%s "
                     ASAN_ENV "LD_PRELOAD=%s timeout 60 %s merge %s %s %s 2>&1", m, flog, fns[f], k, flog, shim, tu_t2rec(),
                     m, s0, s1);
            int rc = tu_run(cmd, log, sizeof log);
            struct stat st;
            if (!fault_fired(flog)) {
                assert_int_equal(rc, 0);
                break;
            }
            points[1][f]++;
            if (rc == 0) {   /* only the directory sync or the like: the output must be whole */
                char *got = export_of(m);
                assert_non_null(got);
                assert_string_equal(got, want);
                free(got);
            } else {
                if (rc != 1 && rc != 2)
                    fail_msg("merge with %s:%d: exit %d\n%s", fns[f], k, rc, log);
                assert_true(stat(m, &st) != 0);   /* nothing half-written */
            }
        }
    /* 3. export -o (its CSV goes through stdio, whose writes the shim does not see) */
    char csv[700];
    snprintf(csv, sizeof csv, "%s/tiny.csv", dir);
    for (int f = 1; f < 3; f++)
        for (int k = 1; k <= 50; k++) {
            snprintf(cmd, sizeof cmd, "rm -f %s %s; T2REC_FAULT=%s:%d T2REC_FAULT_LOG=%s "
                     ASAN_ENV "LD_PRELOAD=%s timeout 60 %s export %s --csv --no-timing -o %s 2>&1", csv, flog, fns[f], k,
                     flog, shim, tu_t2rec(), ref, csv);
            int rc = tu_run(cmd, log, sizeof log);
            struct stat st;
            if (!fault_fired(flog)) {
                assert_int_equal(rc, 0);
                break;
            }
            points[2][f]++;
            if (rc != 1)
                fail_msg("export with %s:%d: exit %d\n%s", fns[f], k, rc, log);
            assert_non_null(strstr(log, "Input/output error"));
            assert_true(stat(csv, &st) != 0);
        }
    printf("fault walk: run %d/%d/%d, merge %d/%d/%d, export -/%d/%d fault points "
           "(write/fsync/rename); every one ended cleanly\n", points[0][0], points[0][1],
           points[0][2], points[1][0], points[1][1], points[1][2], points[2][1], points[2][2]);
    assert_true(points[0][0] > 0 && points[0][1] > 0 && points[0][2] > 0);
    free(want);
}

/* SIGINT (serial) and SIGTERM (-j 2) mid-sweep: exit 130 with the 'interrupted' line, the file
 * opens with the stored cells, no staging left when everything was folded, and the rerun ends
 * equal to the uninterrupted run. */
static void test_interrupt(void **state)
{
    (void)state;
    char *ref = reference_export();
    const int sigs[2] = {SIGINT, SIGTERM}, jobs[2] = {1, 2};
    for (int k = 0; k < 2; k++) {
        char out[600], logp[700], cmd[4096], log[8192];
        snprintf(out, sizeof out, "%s/intr%d.h5", dir, k);
        snprintf(logp, sizeof logp, "%s/intr%d.log", dir, k);
        pid_t pid = spawn_run_log(out, jobs[k], NULL, logp);
        int cells = 0;
        for (int t = 0; t < 600 && cells < 3; t++) {
            usleep(50000);
            cells = stored_cells(out);
        }
        assert_true(cells >= 3);
        kill(pid, sigs[k]);
        int rc = wait_status(pid);
        char *l = read_file(logp);
        printf("signal %d after %d cells: exit %d; %s", sigs[k], cells, rc,
               strstr(l, "interrupted") ? strstr(l, "interrupted") : "(no line)\n");
        assert_int_equal(rc, 130);
        assert_non_null(strstr(l, "interrupted: "));
        assert_non_null(strstr(l, "cells done; rerun to resume"));
        int in_file = count_cells(out);
        assert_true(in_file >= 3 && in_file < 16);
        assert_int_equal(stored_cells(out), in_file);   /* every stored cell is in the file */
        snprintf(cmd, sizeof cmd, "%s run %s/c.ini -o %s --threads 1 -j 2", tu_t2rec(), dir, out);
        assert_int_equal(tu_run(cmd, log, sizeof log), 0);
        char *full = export_of(out);
        assert_string_equal(full, ref);
        free(full);
    }
}

/* Kill a serial run with SIGKILL once some cells are done; the file must hold exactly the
 * completed cells and open; the rerun must end equal to the uninterrupted run. */
static void test_resume_after_sigkill(void **state)
{
    (void)state;
    char *ref = reference_export();
    char out[600];
    snprintf(out, sizeof out, "%s/killed.h5", dir);
    pid_t pid = spawn_run(out, 1);
    int cells = 0;
    for (int t = 0; t < 600 && cells < 5; t++) {
        usleep(50000);
        cells = stored_cells(out);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    int after = stored_cells(out), in_file = count_cells(out);
    printf("killed after %d cells; file opens with %d cells, %d stored in all\n", cells, in_file,
           after);
    assert_true(after >= 5 && after < 16);
    assert_true(in_file >= 0 && in_file <= after);
    /* a dry run sees the staged cells as done (a resume skips them) */
    char cmd0[4096], log0[16384];
    snprintf(cmd0, sizeof cmd0, "%s run %s/c.ini -o %s --dry-run | grep -c -E ' (ok|failed) '",
             tu_t2rec(), dir, out);
    tu_run(cmd0, log0, sizeof log0);
    assert_int_equal(atoi(log0), after);
    /* a run with nothing to do (shard 0/1000 is cell 0, the first one done) folds the staged
     * cells into the file */
    snprintf(cmd0, sizeof cmd0, "%s run %s/c.ini -o %s --shard 0/1000 --threads 1 2>&1",
             tu_t2rec(), dir, out);
    assert_int_equal(tu_run(cmd0, log0, sizeof log0), 0);
    assert_non_null(strstr(log0, "1 of 1 cells already done"));
    assert_int_equal(count_cells(out), after);
    /* every stored cell equals the reference row with the same key */
    char *partial = export_of(out);
    assert_non_null(partial);
    char *save = NULL;
    int rows = 0;
    for (char *line = strtok_r(partial, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        assert_non_null(strstr(ref, line));
        rows++;
    }
    assert_int_equal(rows, after + 1);
    free(partial);
    char cmd[4096], log[4096];
    snprintf(cmd, sizeof cmd, "%s run %s/c.ini -o %s --threads 1", tu_t2rec(), dir, out);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    char *full = export_of(out);
    assert_string_equal(full, ref);
    free(full);
}

/* Kill a -j 2 run 10 times at random moments (some kills land in a staged cell write, some in a
 * rewrite of the results file); every file opens; the resumed export equals the reference. */
static void test_parallel_kills(void **state)
{
    (void)state;
    char *ref = reference_export();
    char out[600];
    snprintf(out, sizeof out, "%s/pkilled.h5", dir);
    srand(12345);
    int n_kills = 0;
    for (int round = 0; round < 10; round++) {
        pid_t pid = spawn_run(out, 2);
        usleep(100000 + rand() % 900000);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        n_kills++;
        usleep(100000);   /* workers die with their parent (PR_SET_PDEATHSIG) */
        struct stat st;
        if (stat(out, &st) == 0)
            assert_true(count_cells(out) >= 0);   /* always opens */
    }
    char cmd[4096], log[4096];
    snprintf(cmd, sizeof cmd, "%s run %s/c.ini -o %s --threads 1 -j 2", tu_t2rec(), dir, out);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    char *full = export_of(out);
    assert_string_equal(full, ref);
    free(full);
    /* no cell files or temp files left behind */
    snprintf(cmd, sizeof cmd, "ls -a %s | grep -c -E 'tmp|cells' || true", dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    assert_int_equal(atoi(log), 0);
    printf("%d kills, resumed export equals the uninterrupted run\n", n_kills);
}

/* The pids of the children of `parent` (scan of /proc/N/stat); returns how many, at most max. */
static int children_of(pid_t parent, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < max) {
        char p[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[got] = 0;
        const char *rp = strrchr(buf, ')');   /* after "pid (comm) state ppid" */
        char state;
        int ppid;
        if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == parent)
            out[n++] = (pid_t)atoi(e->d_name);
    }
    if (d)
        closedir(d);
    return n;
}

/* A -j 2 worker killed mid-sweep: the sweep goes on with the other worker and finishes, the
 * killed worker's cell is recorded failed ("worker died: signal 9"), every other cell is done,
 * and --retry-failed then ends equal to the uninterrupted run. */
static void test_worker_death(void **state)
{
    (void)state;
    char *ref = reference_export();
    char out[600];
    snprintf(out, sizeof out, "%s/wdeath.h5", dir);
    pid_t pid = spawn_run(out, 2), kids[8];
    int nk = 0;
    for (int t = 0; t < 200 && nk < 2; t++) {   /* up to 2 s for the workers to start */
        usleep(10000);
        nk = children_of(pid, kids, 8);
    }
    assert_int_equal(nk, 2);
    usleep(300000);   /* let both workers get into cells */
    assert_int_equal(kill(kids[0], SIGKILL), 0);
    int st = 0, done = 0;
    for (int t = 0; t < 600 && !done; t++) {   /* the sweep must finish (60 s at most) */
        done = waitpid(pid, &st, WNOHANG) == pid;
        if (!done)
            usleep(100000);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    assert_true(done);
    assert_true(WIFEXITED(st));
    assert_int_equal(count_cells(out), 16);   /* every cell recorded: ok or failed */
    char cmd[4096], log[8192];
    snprintf(cmd, sizeof cmd, "%s export %s --csv", tu_t2rec(), out);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    int died = 0;
    for (char *q = strstr(log, "worker died: signal 9"); q; q = strstr(q + 1, "worker died: signal 9"))
        died++;
    assert_true(died <= 1);   /* 0 only if the worker was between two cells */
    snprintf(cmd, sizeof cmd, "%s run %s/c.ini -o %s --threads 1 -j 2 --retry-failed --no-progress",
             tu_t2rec(), dir, out);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    char *full = export_of(out);
    assert_string_equal(full, ref);
    free(full);
    snprintf(cmd, sizeof cmd, "ls -a %s | grep -c -E 'wdeath.*(tmp|cells)' || true", dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    assert_int_equal(atoi(log), 0);   /* no staging or temp files left behind */
    printf("worker killed mid-sweep: %d cell recorded 'worker died', the rest done by the other "
           "worker; --retry-failed equals the uninterrupted run\n", died);
}

static void test_shards_merge(void **state)
{
    (void)state;
    char *ref = reference_export();
    char cmd[4096], log[8192];
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "%s run %s/c.ini --shard %d/3 -o %s/s%d.h5 --threads 1",
                 tu_t2rec(), dir, i, dir, i);
        assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    }
    snprintf(cmd, sizeof cmd, "%s merge %s/merged.h5 %s/s0.h5 %s/s1.h5 %s/s2.h5", tu_t2rec(), dir,
             dir, dir, dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    char p[600];
    snprintf(p, sizeof p, "%s/merged.h5", dir);
    char *m = export_of(p);
    assert_string_equal(m, ref);
    free(m);
    /* shard sizes: 16 cells over 3 shards -> 6, 5, 5 */
    snprintf(p, sizeof p, "%s/s0.h5", dir);
    assert_int_equal(count_cells(p), 6);
    /* inside a Slurm array job without --shard: no sharding at all */
    snprintf(cmd, sizeof cmd, "SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 %s run %s/c.ini "
             "-o %s/env1.h5 --threads 1 --dry-run 2>&1", tu_t2rec(), dir, dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    assert_non_null(strstr(log, "16 cells in this selection (16 in the config)"));
    assert_null(strstr(log, "shard"));
    /* --shard auto takes the shard from SLURM_ARRAY_* (id - min of count) and says so */
    snprintf(cmd, sizeof cmd, "SLURM_ARRAY_TASK_ID=6 SLURM_ARRAY_TASK_MIN=5 SLURM_ARRAY_TASK_COUNT=3 "
             "%s run %s/c.ini -o %s/env1.h5 --threads 1 --dry-run --shard auto 2>&1", tu_t2rec(), dir, dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    assert_non_null(strstr(log, "shard 1/3: 5 of 16 cells"));
    assert_non_null(strstr(log, "5 cells in this selection (16 in the config)"));
    /* --shard auto outside a Slurm array: exit 2, nothing written */
    snprintf(cmd, sizeof cmd, "env -u SLURM_ARRAY_TASK_ID -u SLURM_ARRAY_TASK_COUNT %s run %s/c.ini "
             "-o %s/env2.h5 --shard auto 2>&1", tu_t2rec(), dir, dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 2);
    assert_non_null(strstr(log, "SLURM_ARRAY_TASK_ID"));
    snprintf(p, sizeof p, "%s/env2.h5", dir);
    struct stat st;
    assert_true(stat(p, &st) != 0);
    /* a real sharded run prints its shard line */
    snprintf(cmd, sizeof cmd, "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=3 %s run %s/c.ini "
             "-o %s/auto2.h5 --threads 1 --shard auto 2>&1", tu_t2rec(), dir, dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    assert_non_null(strstr(log, "shard 2/3: 5 of 16 cells"));
    snprintf(p, sizeof p, "%s/auto2.h5", dir);
    assert_int_equal(count_cells(p), 5);
}

static void test_parallel_equals_serial(void **state)
{
    (void)state;
    char *ref = reference_export();
    char cmd[4096], log[4096], p[600];
    snprintf(cmd, sizeof cmd, "%s run %s/c.ini -o %s/j2.h5 --threads 1 -j 2", tu_t2rec(), dir, dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    snprintf(p, sizeof p, "%s/j2.h5", dir);
    char *j2 = export_of(p);
    assert_string_equal(j2, ref);
    free(j2);
}

/* Compare two CSV exports field by field: numbers within rel relative difference, text equal. */
static int csv_close(const char *a, const char *b, double rel, double *worst)
{
    *worst = 0;
    while (*a || *b) {
        size_t la = strcspn(a, ",\n"), lb = strcspn(b, ",\n");
        char fa[256], fb[256];
        snprintf(fa, sizeof fa, "%.*s", (int)la, a);
        snprintf(fb, sizeof fb, "%.*s", (int)lb, b);
        char *ea, *eb;
        double x = strtod(fa, &ea), y = strtod(fb, &eb);
        if (la && lb && !*ea && !*eb) {
            double d = fabs(x - y) / fmax(fabs(x), 1e-300);
            if (x != y && d > *worst)
                *worst = d;
            if (x != y && d > rel)
                return 0;
        } else if (strcmp(fa, fb) != 0) {
            return 0;
        }
        if (a[la] != b[lb])
            return 0;
        a += la + (a[la] ? 1 : 0);
        b += lb + (b[lb] ? 1 : 0);
    }
    return 1;
}

/* Same config and seed with 1 and 2 BLAS threads: numbers agree within 1e-5 relative. */
static void test_threads_determinism(void **state)
{
    (void)state;
    double w;
    /* the comparison itself can fail */
    assert_false(csv_close("k,a\nx,1.0\n", "k,a\nx,1.1\n", 1e-5, &w));
    assert_false(csv_close("k,a\nx,ok\n", "k,a\nx,failed\n", 1e-5, &w));
    assert_true(csv_close("k,a\nx,1.0\n", "k,a\nx,1.000001\n", 1e-5, &w));
    char *ref = reference_export();
    char cmd[4096], log[4096], p[600];
    snprintf(cmd, sizeof cmd, "%s run %s/c.ini -o %s/t2.h5 --threads 2", tu_t2rec(), dir, dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    snprintf(p, sizeof p, "%s/t2.h5", dir);
    char *t2 = export_of(p);
    double worst;
    assert_true(csv_close(ref, t2, 1e-5, &worst));
    printf("1 vs 2 BLAS threads: largest relative difference %.3g\n", worst);
    free(t2);
}

static void test_force_and_bad_output(void **state)
{
    (void)state;
    char cmd[4096], log[4096];
    /* output under a regular file (a folder that cannot be created): exit 2, nothing created;
     * missing folders themselves are created (test_run_output) */
    snprintf(cmd, sizeof cmd, "%s run %s/c.ini -o %s/c.ini/nowhere/x.h5", tu_t2rec(), dir, dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 2);
    assert_non_null(strstr(log, "nowhere"));
    struct stat st;
    char p[600];
    snprintf(p, sizeof p, "%s/c.ini/nowhere", dir);
    assert_true(stat(p, &st) != 0);
    /* a results file that is not HDF5: exit 2, file untouched */
    snprintf(p, sizeof p, "%s/garbage.h5", dir);
    tu_write_file(p, "not an hdf5 file\n");
    snprintf(cmd, sizeof cmd, "%s run %s/c.ini -o %s", tu_t2rec(), dir, p);
    assert_int_equal(tu_run(cmd, log, sizeof log), 2);
    snprintf(cmd, sizeof cmd, "cat %s", p);
    tu_run(cmd, log, sizeof log);
    assert_string_equal(log, "not an hdf5 file\n");
}

/* A diverging cell is recorded as failed with its reason; the others finish; a rerun skips
 * it, --retry-failed reruns it. */
static void test_failed_cells(void **state)
{
    (void)state;
    char p[600], cmd[1024], log[8192];
    snprintf(p, sizeof p, "%s/div.ini", dir);
    tu_write_file(p, "[experiment]\nname = div\nseed = 1\n"
                     "[data]\nn_obs = 512\nuser_ambient_dim = 8\nitem_ambient_dim = 8\n"
                     "test_cold_pairs = 500\ntest_warm_pairs = 100\n"
                     "[method.twotower]\nlr = 1e5, 0.001\nepochs = 60\nwidth = 16\n");
    snprintf(cmd, sizeof cmd, "%s run %s -o %s/div.h5 --threads 1", tu_t2rec(), p, dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 3);   /* a failed cell: exit 3, not 0 */
    assert_non_null(strstr(log, "1 cells ok, 1 failed"));
    assert_non_null(strstr(log, "failed: cell "));        /* which cell and why */
    assert_non_null(strstr(log, "non-finite"));
    snprintf(cmd, sizeof cmd, "%s export %s/div.h5 --csv", tu_t2rec(), dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 0);
    assert_non_null(strstr(log, "non-finite"));
    snprintf(cmd, sizeof cmd, "%s run %s -o %s/div.h5 --threads 1 --retry-failed", tu_t2rec(), p, dir);
    assert_int_equal(tu_run(cmd, log, sizeof log), 3);
    assert_non_null(strstr(log, "1 of 2 cells already done"));
    assert_non_null(strstr(log, "ran 1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_run),
        cmocka_unit_test(test_resume_after_sigkill),
        cmocka_unit_test(test_parallel_kills),
        cmocka_unit_test(test_worker_death),
        cmocka_unit_test(test_shards_merge),
        cmocka_unit_test(test_parallel_equals_serial),
        cmocka_unit_test(test_threads_determinism),
        cmocka_unit_test(test_force_and_bad_output),
        cmocka_unit_test(test_failed_cells),
        cmocka_unit_test(test_output_lock),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_fault_walk),
    };
    if (getenv("T2REC_TEST_FILTER"))   /* e.g. T2REC_TEST_FILTER=test_fault_walk */
        cmocka_set_test_filter(getenv("T2REC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, NULL);
}
