/* test_faults.c — memory faults (issue 19): a run under ulimit -v ends quickly with a clear
 * message instead of OpenBLAS spinning forever; a run with enough limit works; the limit
 * readers and blas_reserve in-process; OpenBLAS's buffer size as blas.c assumes it; and the
 * injection walk (tests/fault_shim.c): the K-th malloc / write / fsync / rename of a small run,
 * merge and export fails, each followed by checks of the output and a rerun (make faults-long
 * walks every K). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cblas.h>
#include "blas.h"
#include "h5out.h"
#include "memlimit.h"
#include "testutil.h"

static char dir[200];

/* the largest cell of experiments/demo.ini (2 epochs): big enough that every BLAS-calling
 * thread needs its own OpenBLAS buffer (under ulimit -v 400000 the old code spun on it; with
 * n_obs = 1024 it did not) */
static const char *CONFIG =
    "[experiment]\nname = memtest\nseed = 1\n"
    "[data]\nn_obs = 32768\nobs_per_user = 10\nobs_per_item = 10\nuser_intrinsic_dim = 2\n"
    "item_intrinsic_dim = 2\nuser_ambient_dim = 16\nitem_ambient_dim = 16\ntest_cold_pairs = 10000\n"
    "test_warm_pairs = 2000\n"
    "[method.twotower]\ndepth = 2\nwidth = 64\nembed_dim = 8\nepochs = 2\n"
    "[method.baseline]\n";

static int setup(void **state)
{
    (void)state;
    if (!tu_tmpdir("faults", dir, sizeof dir))
        return -1;
    char p[600];
    snprintf(p, sizeof p, "%s/m.ini", dir);
    return tu_write_file(p, CONFIG);
}

static int cells_in(const char *h5)
{
    cell_record *r = NULL;
    int n = 0;
    char err[512];
    if (h5out_read(h5, &r, &n, err, sizeof err) != 0)
        return -1;
    h5out_free_records(r, n);
    return n;
}

/* run the config under `ulimit -v kb` (60 s timeout); returns the exit status */
static int run_limited(long kb, const char *out, char *log, size_t loglen)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "rm -rf %s %s.cells; sh -c 'ulimit -v %ld && exec timeout 60 %s run %s/m.ini -o %s "
             "--threads 2 -j 1 --no-progress' 2>&1", out, out, kb, tu_t2rec(), dir, out);
    return tu_run(cmd, log, loglen);
}

/* The case: 400 MB of address space leave room for one OpenBLAS buffer in the worker
 * but not for the two-tower fit's second one. Before: OpenBLAS retried the mapping forever
 * (timeout, 124). Now: the cell is refused at once with the limit and the need. */
static void test_ulimit_refuses_cleanly(void **state)
{
    (void)state;
    if (tu_sanitized())
        skip();   /* ASan reserves terabytes of shadow address space: ulimit -v cannot apply */
    char out[600], log[16384];
    snprintf(out, sizeof out, "%s/tight.h5", dir);
    int rc = run_limited(400000, out, log, sizeof log);
    if (rc == 124)
        fail_msg("run under ulimit -v 400000 did not end in 60 s (OpenBLAS spinning?)\n%s", log);
    if (rc == 0 || rc >= 128)
        fail_msg("run under ulimit -v 400000: exit %d (want a failure status, no signal)\n%s", rc,
                 log);
    assert_non_null(strstr(log, "memory limit"));
    assert_non_null(strstr(log, "ulimit -v"));
    assert_non_null(strstr(log, "MiB"));
    struct stat st;
    if (stat(out, &st) == 0)
        assert_true(cells_in(out) >= 0);   /* what was stored opens */
}

/* ten times the limit: everything runs */
static void test_ulimit_enough(void **state)
{
    (void)state;
    if (tu_sanitized())
        skip();
    char out[600], log[16384];
    snprintf(out, sizeof out, "%s/roomy.h5", dir);
    int rc = run_limited(4000000, out, log, sizeof log);
    if (rc != 0)
        fail_msg("run under ulimit -v 4000000: exit %d\n%s", rc, log);
    assert_null(strstr(log, "memory limit"));
    assert_int_equal(cells_in(out), 2);
}

/* In a child with RLIMIT_AS = what it uses now + 100 MiB: 200 MiB is refused with the numbers,
 * 10 MiB fits, and blas_reserve of two buffers (256 MiB) is refused without hanging. */
static void test_memlimit_check(void **state)
{
    (void)state;
    if (tu_sanitized())
        skip();
    memlimit m;
    memlimit_read(&m);
    assert_true(m.as_used > 0);
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fd[0]);
        alarm(20);
        memlimit_read(&m);
        struct rlimit rl = {(rlim_t)m.as_used + (100 << 20), (rlim_t)m.as_used + (100 << 20)};
        char err[512] = "", buf[2048];
        int ok = setrlimit(RLIMIT_AS, &rl) == 0;
        int big = memlimit_check(200.0 * (1 << 20), 0, "the test", err, sizeof err);
        int small = memlimit_check(10.0 * (1 << 20), 0, "the test", buf, sizeof buf);
        char err2[512] = "";
        int res = blas_reserve(2, 0, err2, sizeof err2);
        snprintf(buf, sizeof buf, "%d %d %d %d|%s|%s", ok, big, small, res, err, err2);
        if (write(fd[1], buf, strlen(buf)) < 0)
            _exit(3);
        _exit(0);
    }
    close(fd[1]);
    char buf[2048] = "";
    ssize_t n = read(fd[0], buf, sizeof buf - 1);
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_true(n > 0);
    buf[n] = '\0';
    int ok, big, small, res;
    assert_int_equal(sscanf(buf, "%d %d %d %d", &ok, &big, &small, &res), 4);
    assert_int_equal(ok, 1);
    assert_int_equal(big, -1);
    assert_int_equal(small, 0);
    assert_int_equal(res, -1);
    assert_non_null(strstr(buf, "ulimit -v"));
    assert_non_null(strstr(buf, "the test needs about 200 MiB"));
    assert_non_null(strstr(buf, "OpenBLAS (2 work buffers of 128 MiB"));
    assert_non_null(strstr(buf, "2 for the threads calling BLAS"));
}

/* this process's address space in MiB (VmSize; mappings are counted in total because the
 * kernel merges neighbouring ones) */
static double vm_mib(void)
{
    memlimit m;
    memlimit_read(&m);
    return m.as_used / (1 << 20);
}

static float A[512 * 512], B[512 * 512], C[512 * 512];

static void *gemm_thread(void *arg)
{
    (void)arg;
    for (int r = 0; r < 20; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 512, 512, 512, 1.0f, A, 512, B,
                    512, 0.0f, C, 512);
    return NULL;
}

/* OpenBLAS's buffer: a level-3 call on a thread with no buffer maps one more region of
 * blas_buffer_bytes() (the constant blas.c assumes); after blas_reserve(2) two threads calling
 * sgemm at once map nothing more. Each half in a fresh child (the pool is per process). */
static void test_blas_buffers(void **state)
{
    (void)state;
    if (tu_sanitized())
        skip();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(60);
        blas_set_threads(1);
        double before = vm_mib();
        gemm_thread(NULL);
        double grew = vm_mib() - before, buf = blas_buffer_bytes() / (1 << 20);
        if (grew < buf || grew > buf + 1)
            fprintf(stderr, "one sgemm grew the address space by %.1f MiB\n", grew);
        _exit(grew >= buf && grew <= buf + 1 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(60);
        setenv("T2REC_BLAS_AUTO", "0", 1);
        blas_setup(0, NULL);   /* notes OpenBLAS's thread count at load */
        blas_set_threads(1);
        char err[512];
        /* as a worker does: its calling threads plus OpenBLAS's own */
        if (blas_reserve(2, 1, err, sizeof err) != 0)
            _exit(2);
        double before = vm_mib();
        pthread_t th;
        pthread_create(&th, NULL, gemm_thread, NULL);
        double mid = vm_mib();
        gemm_thread(NULL);
        pthread_join(th, NULL);
        if (getenv("T2REC_TEST_DEBUG"))
            fprintf(stderr, "before %.1f mid %.1f after %.1f\n", before, mid, vm_mib());
        /* a thread's stack (8 MiB) and malloc arena (64 MiB) may stay; no new 128 MiB buffer */
        double grew = vm_mib() - before;
        if (grew >= blas_buffer_bytes() / (1 << 20))
            fprintf(stderr, "two threads' sgemm grew the address space by %.1f MiB\n", grew);
        _exit(grew < blas_buffer_bytes() / (1 << 20) ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A cgroup memory limit of 150 MiB (needs root and a writable memory controller, v1 or v2;
 * skipped otherwise): a run whose cell needs more ends (120 s timeout) with the cgroup limit
 * and the need named, exit 3, and what it stored opens. */
static void test_cgroup_limit(void **state)
{
    (void)state;
    if (tu_sanitized() || geteuid() != 0)
        skip();
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        skip();
    char line[1024], grp[1400] = "", limit_file[1500];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c2 = strchr(line, ':') ? strchr(strchr(line, ':') + 1, ':') : NULL;
        if (!c2)
            continue;
        const char *path = strcmp(c2 + 1, "/") == 0 ? "" : c2 + 1;
        if (strncmp(line, "0::", 3) == 0 && !grp[0]) {
            snprintf(grp, sizeof grp, "/sys/fs/cgroup%s/t2rec_test_%d", path, (int)getpid());
            snprintf(limit_file, sizeof limit_file, "%s/memory.max", grp);
        } else if (strstr(line, ":memory:")) {
            snprintf(grp, sizeof grp, "/sys/fs/cgroup/memory%s/t2rec_test_%d", path,
                     (int)getpid());
            snprintf(limit_file, sizeof limit_file, "%s/memory.limit_in_bytes", grp);
            break;   /* v1 memory controller: prefer it (v2 may lack the controller) */
        }
    }
    fclose(f);
    char cmd[8192], log[16384], cfgp[700], out[700];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && echo %d > %s 2>&1", grp, 150 << 20, limit_file);
    if (!grp[0] || tu_run(cmd, log, sizeof log) != 0) {
        printf("skipped: cannot set a cgroup memory limit here (%s)\n", grp);
        if (grp[0])
            rmdir(grp);
        skip();
    }
    snprintf(cfgp, sizeof cfgp, "%s/big.ini", dir);
    assert_int_equal(tu_write_file(cfgp, "[experiment]\nname = big\nseed = 1\n[data]\n"
                                   "n_obs = 3000000\nuser_ambient_dim = 16\nitem_ambient_dim = 16\n"
                                   "test_cold_pairs = 1000\ntest_warm_pairs = 1000\n"
                                   "[method.baseline]\n"), 0);
    snprintf(out, sizeof out, "%s/cg.h5", dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s.cells; timeout 120 sh -c 'echo $$ > %s/cgroup.procs && "
             "exec %s run %s -o %s --threads 1 --no-progress' 2>&1", out, out, grp, tu_t2rec(),
             cfgp, out);
    int rc = tu_run(cmd, log, sizeof log);
    rmdir(grp);
    if (rc != 3)
        fail_msg("run in a 150 MiB cgroup: exit %d (want 3)\n%s", rc, log);
    assert_non_null(strstr(log, "cgroup memory limit is 150 MiB"));
    assert_non_null(strstr(log, "needs about"));
    assert_true(cells_in(out) == 1);   /* the refused cell, stored as failed */
}

/* ---------- the injection walk (issue 19, as SQLite's test suite does it) ----------
 * tests/fault_shim.c makes the K-th malloc (calloc, realloc, strdup), write, fsync or rename of
 * each process fail, for `run`, `merge` and `export` in turn. After every fault point: the
 * command ends (60 s timeout) with exit 1 (3: cells failed; 0) and no signal; when it failed it
 * says why
 * (the errno text or "out of memory"); what it left at its output opens (a results file) or is
 * absent or whole (merge's results file, export's CSV); exit 0 means the output is whole; and a
 * rerun without the fault ends equal to the uninterrupted run (export --no-timing). malloc: K =
 * every allocation up to WALK_DENSE (HDF5's initialisation, the config), then every
 * WALK_STRIDE-th until K passes the last one, rerunning after every WALK_RERUN-th fault point;
 * T2REC_FAULTS_LONG=1 (make faults-long) walks every K and reruns after every point.
 * write/fsync/rename: every K. T2REC_FAULT_CMDS=merge,export walks only those commands. */
static const char *WALK_CFG =
    "[experiment]\nname = walk\nseed = 1\n[data]\nn_obs = 256\nuser_ambient_dim = 4\n"
    "item_ambient_dim = 4\ntest_cold_pairs = 100\ntest_warm_pairs = 100\ntruth = smooth\n"
    "[method.baseline]\nepochs = 2\nreg_u = 1, 2\n";
enum { WALK_DENSE = 150, WALK_STRIDE = 263, WALK_RERUN = 8 };

typedef struct {
    const char *name;    /* run | merge | export */
    char args[4096];     /* t2rec arguments */
    char out[700];       /* what it writes */
    int csv;             /* out is export's CSV (else a results file) */
} walk_cmd;

static char shim[700], flog[700], walk_want[1 << 16];
static int walk_long, walk_lib_crashes, walk_ambiguous;

/* stdout of a shell command, malloc'd (NULL when it fails) */
static char *slurp(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *b = malloc(cap);
    while (b && (got = fread(b + n, 1, cap - 1 - n, p)) > 0)
        if ((n += got) == cap - 1) {
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    int st = pclose(p);
    if (!b || st != 0) {
        free(b);
        return NULL;
    }
    b[n] = '\0';
    return b;
}

/* 1 when cmd's output equals the uninterrupted run's export */
static int output_whole(const walk_cmd *c)
{
    char cmd[1024];
    if (c->csv)
        snprintf(cmd, sizeof cmd, "cat %s", c->out);
    else
        snprintf(cmd, sizeof cmd, "%s export %s --csv --no-timing 2>/dev/null", tu_t2rec(), c->out);
    char *got = slurp(cmd);
    int same = got && strcmp(got, walk_want) == 0;
    free(got);
    return same;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* One fault point: `kind`:k on command c (k = 0: no fault). Returns the exit status; *fired:
 * whether the fault hit a call (else k was past the last one); where: the shim's log line. */
static int walk_once(const walk_cmd *c, const char *kind, long k, int *fired, char *where,
                     size_t wl, char *log, size_t ll)
{
    char cmd[8192];
    /* run's staging folder and merge/export's output go first: each attempt starts afresh */
    snprintf(cmd, sizeof cmd, "rm -rf %s %s.cells %s; %s timeout 60 env T2REC_FAULT=%s:%ld "
             "T2REC_FAULT_LOG=%s LD_PRELOAD=%s %s %s", c->out, c->out, flog,
             tu_sanitized() ? "ASAN_OPTIONS=\"$ASAN_OPTIONS:verify_asan_link_order=0\"" : "",
             kind, k, flog, shim, tu_t2rec(), c->args);
    int rc = tu_run(cmd, log, ll);
    where[0] = '\0';
    FILE *f = fopen(flog, "r");
    if (f) {
        if (!fgets(where, (int)wl, f))
            where[0] = '\0';
        fclose(f);
    }
    where[strcspn(where, "\n")] = '\0';
    *fired = where[0] != '\0';
    return rc;
}

/* the checks after one fault point; returns 0, or fails the test */
static void walk_check(const walk_cmd *c, const char *kind, long k, int rc, const char *where,
                       const char *log, int rerun, int *nrerun)
{
    if (rc == 124)
        fail_msg("%s with %s:%ld: did not end in 60 s (%s)\n%s", c->name, kind, k, where, log);
    /* under ASan a crash is its report and exit 1: one inside HDF5 (whose error paths are not
     * robust to a failed allocation; t2rec's own build turns those into exit 1 with a message),
     * or ASan's runtime failing its own allocation ("CHECK failed"), is counted, not failed */
    const char *asan = strstr(log, "ERROR: AddressSanitizer");
    /* inside HDF5: libhdf5 among the innermost frames #0..#3 (#0, #1 may be libc's strlen
     * and ASan's interceptor of it) */
    const char *frame0 = asan ? strstr(asan, "#0 ") : NULL;
    const char *frame4 = frame0 ? strstr(frame0, "#4 ") : NULL;
    const char *h5 = frame0 ? strstr(frame0, "libhdf5") : NULL;
    int lib = strstr(log, "AddressSanitizer: CHECK failed") || (h5 && (!frame4 || h5 < frame4));
    if (lib) {
        walk_lib_crashes++;
        printf("%s with %s:%ld: ASan reports a failure inside HDF5 or its own runtime (%s)\n",
               c->name, kind, k, where);
    } else if (asan)
        fail_msg("%s with %s:%ld: ASan reports an error (%s)\n%s", c->name, kind, k, where, log);
    /* 2 is for bad input: a failed call is a runtime failure, 1 (3: cells failed or missing);
     * except when HDF5 failed an allocation or crashed reading a results file: a damaged file
     * (asking for absurd sizes) or out of memory cannot be told apart there (said so), counted */
    if (rc == 2 && (strstr(log, "damaged HDF5 file, or out of memory") ||
                    strstr(log, "out of memory, or a damaged file"))) {
        walk_ambiguous++;
        printf("%s with %s:%ld: exit 2, HDF5 crashed reading a results file (%s)\n", c->name,
               kind, k, where);
    } else if (!lib && (rc < 0 || (rc > 1 && rc != 3)))
        fail_msg("%s with %s:%ld: exit %d (want 1 or 3, or 0 when it did not matter; no signal); "
                 "%s\n%s", c->name, kind, k, rc, where, log);
    if (!lib && rc != 0 && !strstr(log, "out of memory") && !strstr(log, "Cannot allocate memory") &&
        !strstr(log, "No space left") && !strstr(log, "Input/output error"))
        fail_msg("%s with %s:%ld: exit %d without saying why (%s)\n%s", c->name, kind, k, rc,
                 where, log);
    if (rc == 0 && !output_whole(c))
        fail_msg("%s with %s:%ld: exit 0 but the output differs from the uninterrupted run (%s)\n"
                 "%s", c->name, kind, k, where, log);
    if (exists(c->out)) {
        if (!c->csv && cells_in(c->out) < 0)
            fail_msg("%s with %s:%ld: %s does not open (%s)", c->name, kind, k, c->out, where);
        /* merge and export write whole files or nothing */
        if ((c->csv || !strcmp(c->name, "merge")) && !output_whole(c))
            fail_msg("%s with %s:%ld: a partial %s was left (%s)", c->name, kind, k, c->out, where);
    }
    if (!rerun)
        return;
    char cmd[4096], rlog[16384];
    snprintf(cmd, sizeof cmd, "%s %s", tu_t2rec(), c->args);
    int rr = tu_run(cmd, rlog, sizeof rlog);
    if (rr != 0 || !output_whole(c))
        fail_msg("%s with %s:%ld: the rerun without the fault (exit %d) does not end equal to "
                 "the uninterrupted run\n%s", c->name, kind, k, rr, rlog);
    (*nrerun)++;
}

/* walk one kind over one command; returns the number of fault points (every one checked) */
static int walk_kind(const walk_cmd *c, const char *kind, int *nrerun, int *exits, long *last)
{
    int points = 0, is_malloc = !strcmp(kind, "malloc");
    /* under ASan (make check) every run is slower: a sparser sample */
    long dense = tu_sanitized() ? WALK_DENSE / 2 : WALK_DENSE;
    long stride = tu_sanitized() ? 3 * WALK_STRIDE : WALK_STRIDE;
    char where[700], log[16384];
    for (long k = 1;; k = !is_malloc || walk_long || k < dense ? k + 1 : k + stride) {
        int fired;
        int rc = walk_once(c, kind, k, &fired, where, sizeof where, log, sizeof log);
        if (!fired) {   /* k passed the last call: an uninterrupted run */
            if (rc != 0 || !output_whole(c))
                fail_msg("%s with %s:%ld (no call failed): exit %d\n%s", c->name, kind, k, rc, log);
            *last = k - 1;
            break;
        }
        if (k > 10000000)
            fail_msg("%s: %s:%ld still fires", c->name, kind, k);
        points++;
        exits[rc == 0 ? 0 : rc == 1 ? 1 : 2]++;
        walk_check(c, kind, k, rc, where, log, walk_long || points % WALK_RERUN == 0, nrerun);
    }
    return points;
}

static void test_fault_walk(void **state)
{
    (void)state;
    char cmd[8192], log[16384], cfgp[700], ref[700], s0[700], s1[700];
    walk_long = getenv("T2REC_FAULTS_LONG") && strcmp(getenv("T2REC_FAULTS_LONG"), "0") != 0;
    snprintf(shim, sizeof shim, "%s/fault_shim.so", dir);
    snprintf(flog, sizeof flog, "%s/fault.log", dir);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -O1 -DFAULT_MALLOC -o %s tests/fault_shim.c -ldl 2>&1",
             shim);
    if (tu_run(cmd, log, sizeof log) != 0) {
        printf("skipped: cannot build the fault shim (%s)\n", log);
        skip();
    }
    snprintf(cfgp, sizeof cfgp, "%s/walk.ini", dir);
    assert_int_equal(tu_write_file(cfgp, WALK_CFG), 0);
    snprintf(ref, sizeof ref, "%s/walk_ref.h5", dir);
    snprintf(s0, sizeof s0, "%s/walk_s0.h5", dir);
    snprintf(s1, sizeof s1, "%s/walk_s1.h5", dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s* %s* %s*; %s run %s -o %s --threads 1 --no-progress && "
             "%s run %s -o %s --shard 0/2 --threads 1 --no-progress && "
             "%s run %s -o %s --shard 1/2 --threads 1 --no-progress", ref, s0, s1, tu_t2rec(),
             cfgp, ref, tu_t2rec(), cfgp, s0, tu_t2rec(), cfgp, s1);
    if (tu_run(cmd, log, sizeof log) != 0)
        fail_msg("the uninterrupted runs failed:\n%s", log);
    snprintf(cmd, sizeof cmd, "%s export %s --csv --no-timing", tu_t2rec(), ref);
    char *want = slurp(cmd);
    assert_non_null(want);
    assert_true(strlen(want) < sizeof walk_want);
    snprintf(walk_want, sizeof walk_want, "%s", want);
    free(want);
    walk_cmd cmds[3] = {{.name = "run"}, {.name = "merge"}, {.name = "export", .csv = 1}};
    snprintf(cmds[0].out, sizeof cmds[0].out, "%s/walk_f.h5", dir);
    snprintf(cmds[0].args, sizeof cmds[0].args, "run %s -o %s --threads 1 -j 1 --no-progress",
             cfgp, cmds[0].out);
    snprintf(cmds[1].out, sizeof cmds[1].out, "%s/walk_m.h5", dir);
    snprintf(cmds[1].args, sizeof cmds[1].args, "merge %s %s %s", cmds[1].out, s0, s1);
    snprintf(cmds[2].out, sizeof cmds[2].out, "%s/walk.csv", dir);
    snprintf(cmds[2].args, sizeof cmds[2].args, "export %s --csv --no-timing -o %s", ref,
             cmds[2].out);
    static const char *const kinds[4] = {"malloc", "write", "fsync", "rename"};
    int points[3][4] = {{0}}, reruns = 0, exits[3] = {0};
    long last[3][4] = {{0}};
    const char *only = getenv("T2REC_FAULT_CMDS");   /* e.g. "merge,export" (default: all) */
    for (int c = 0; c < 3; c++)
        for (int f = 0; f < 4; f++)
            if (!only || strstr(only, cmds[c].name))
                points[c][f] = walk_kind(&cmds[c], kinds[f], &reruns, exits, &last[c][f]);
    for (int c = 0; c < 3; c++)
        printf("fault walk %-6s: %d malloc (of %ld allocations), %d write, %d fsync, %d rename "
               "fault points\n", cmds[c].name, points[c][0], last[c][0], points[c][1],
               points[c][2], points[c][3]);
    printf("fault walk%s: every one ended cleanly (exit 0: %d, 1: %d, 3: %d), no signal, no hang; "
           "%d reruns equal to the uninterrupted run; %d ASan reports inside HDF5 or ASan's "
           "runtime; %d exit 2 reading a results file (damaged file or out of memory)\n",
           walk_long ? " (long)" : "", exits[0], exits[1], exits[2], reruns, walk_lib_crashes,
           walk_ambiguous);
    for (int c = 0; c < 3; c++)   /* the walk reached each command's allocations */
        assert_true(points[c][0] > 20 || (only && !strstr(only, cmds[c].name)));
    assert_true(points[0][1] > 0 || only);
    assert_true(reruns > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memlimit_check),
        cmocka_unit_test(test_blas_buffers),
        cmocka_unit_test(test_ulimit_refuses_cleanly),
        cmocka_unit_test(test_ulimit_enough),
        cmocka_unit_test(test_cgroup_limit),
        cmocka_unit_test(test_fault_walk),
    };
    if (getenv("T2REC_TEST_FILTER"))   /* e.g. T2REC_TEST_FILTER=test_fault_walk */
        cmocka_set_test_filter(getenv("T2REC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, NULL);
}
