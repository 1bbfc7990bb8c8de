/* test_slurm.c — the Slurm path. Without Slurm: the scripts `t2rec slurm` writes (set-up lines
 * in both, #SBATCH options, placeholders substituted outside comments only, the --dir default its
 * --help states), the merge script run by bash on shard files where one task failed and one never
 * ended, and --shard I/N --balance (every cell in exactly one shard, methods mixed). For real:
 * tests/slurm/slurm_test.sh starts a single-node Slurm (Debian's slurm-wlm and munge; installed
 * when missing), submits a 4-task array sweep with `t2rec slurm --submit --setup FILE`, compares
 * the merged export with a local run, then submits again with tasks 1 and 2 failing and checks
 * that the merge job still runs and names them; it stops exactly the daemons it started. That
 * part needs root (apt-get, daemons): skipped with a printed reason otherwise, or when
 * T2REC_SKIP_SLURM=1. */
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

/* 3 n x 2 replicates x (twotower, baseline) = 12 cells; index % 2 would give one shard every
 * two-tower cell. */
static const char *CONFIG =
    "[experiment]\nname = slurmunit\nseed = 5\nreplicates = 2\noutput = results/unit.h5\n"
    "[data]\nn_obs = 256, 512, 1024\nuser_ambient_dim = 8\nitem_ambient_dim = 8\n"
    "test_cold_pairs = 300\ntest_warm_pairs = 100\n"
    "[method.twotower]\ndepth = 2\nwidth = 16\nembed_dim = 4\nepochs = 5\nbatch = 128\n"
    "[method.baseline]\n";

static char dir[256], exe[PATH_MAX];
static char out[1 << 16];

static int setup(void **state)
{
    (void)state;
    if (!tu_tmpdir("slurm", dir, sizeof dir) || !realpath(tu_t2rec(), exe))
        return -1;
    char p[512];
    snprintf(p, sizeof p, "%s/c.ini", dir);
    if (tu_write_file(p, CONFIG))
        return -1;
    snprintf(p, sizeof p, "%s/echo.sh", dir);
    if (tu_write_file(p, "echo \"set-up ran in ${SLURM_ARRAY_TASK_ID:-merge}\" >&2\n"))
        return -1;
    snprintf(p, sizeof p, "%s/setup.sh", dir);
    return tu_write_file(p, "module load hdf5/1.12 # @NAME@ stays as written\n"
                            "echo \"set-up ran in ${SLURM_ARRAY_TASK_ID:-merge}\" >&2\n");
}

/* run "cd DIR && CMD" (CMD a format with its arguments); output in `out` */
static int run_in(const char *fmt, ...)
{
    char cmd[4096], body[3500];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd %s && %s", dir, body);
    return tu_run(cmd, out, sizeof out);
}

static void test_scripts(void **state)
{
    (void)state;
    /* --help states the --dir default, and it is where the scripts go */
    assert_int_equal(run_in("%s slurm --help", exe), 0);
    assert_non_null(strstr(out, "results/x.slurm for results/x.h5"));
    assert_non_null(strstr(out, "afterany"));
    assert_int_equal(run_in("%s slurm c.ini --tasks 3 --setup setup.sh --partition short --account proj7 "
                            "--qos normal --time 01:30:00 --mem 3G --sbatch-arg=--constraint=avx2", exe), 0);
    assert_non_null(strstr(out, "results/unit.slurm/array.sbatch (3 tasks, 12 cells)"));
    assert_non_null(strstr(out, "expected cost of the heaviest task over the mean"));
    assert_int_equal(run_in("cat results/unit.slurm/array.sbatch"), 0);
    const char *want[] = {"#SBATCH --job-name=slurmunit\n", "#SBATCH --array=0-2\n", "#SBATCH --time=01:30:00\n",
                          "#SBATCH --mem=3G\n", "#SBATCH --partition=short\n", "#SBATCH --account=proj7\n",
                          "#SBATCH --qos=normal\n", "#SBATCH --constraint=avx2\n",
                          "module load hdf5/1.12 # @NAME@ stays as written\n",
                          "--shard \"${SLURM_ARRAY_TASK_ID}/3\" --balance",
                          "placeholders of the form @NAME@ are filled"};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if (!strstr(out, want[k]))
            fail_msg("array.sbatch lacks '%s':\n%s", want[k], out);
    /* the set-up lines come before t2rec runs */
    assert_true(strstr(out, "module load hdf5") < strstr(out, " run '"));
    assert_null(strstr(out, "the slurmunit placeholders"));
    assert_int_equal(run_in("cat results/unit.slurm/merge.sbatch"), 0);
    assert_non_null(strstr(out, "module load hdf5/1.12"));
    assert_non_null(strstr(out, "#SBATCH --partition=short\n"));
    assert_non_null(strstr(out, "(--dependency=afterany)"));
    /* --dir elsewhere; a missing --setup file: exit 2, nothing written */
    assert_int_equal(run_in("%s slurm c.ini --tasks 2 --dir elsewhere/jobs && test -f elsewhere/jobs/merge.sbatch", exe), 0);
    assert_int_equal(run_in("%s slurm c.ini --tasks 2 --setup nosuch.sh --dir nothing 2>&1", exe), 2);
    assert_non_null(strstr(out, "nosuch.sh"));
    assert_int_equal(run_in("test -e nothing"), 1);
    /* a time or memory Slurm would refuse: exit 2 before anything is written */
    assert_int_equal(run_in("%s slurm c.ini --tasks 2 --time 4h --dir nothing 2>&1", exe), 2);
    assert_non_null(strstr(out, "--time '4h'"));
    assert_int_equal(run_in("%s slurm c.ini --tasks 2 --mem 4GB --dir nothing 2>&1", exe), 2);
    assert_non_null(strstr(out, "--mem '4GB'"));
    assert_int_equal(run_in("test -e nothing"), 1);
    assert_int_equal(run_in("%s slurm c.ini --tasks 2 --time 1-12:00:00 --mem 500M --dir d2", exe), 0);
}

/* every cell in exactly one of the balanced shards; each shard gets two-tower cells */
static void test_balance(void **state)
{
    (void)state;
    int seen[12] = {0}, total = 0;
    for (int s = 0; s < 2; s++) {
        assert_int_equal(run_in("%s run c.ini --shard %d/2 --balance --dry-run -o results/b%d.h5 2>/dev/null", exe,
                                s, s), 0);
        int tt = 0;
        char *save = NULL;
        for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            int idx;
            char key[32], method[32];
            if (sscanf(line, "%d %31s %*d %31s", &idx, key, method) != 3)
                continue;
            assert_true(idx >= 0 && idx < 12);
            seen[idx]++;
            total++;
            tt += !strcmp(method, "twotower");
        }
        printf("balanced shard %d/2: %d two-tower cells\n", s, tt);
        assert_true(tt >= 2);
        /* index % 2 gives one shard all six two-tower cells and the other none */
        assert_int_equal(run_in("%s run c.ini --shard %d/2 --dry-run -o results/m%d.h5 2>/dev/null | grep -c twotower",
                                exe, s, s), s == 0 ? 0 : 1);
        assert_int_equal(atoi(out), s == 0 ? 6 : 0);
    }
    assert_int_equal(total, 12);
    for (int k = 0; k < 12; k++)
        assert_int_equal(seen[k], 1);
    /* 5 shards: still a partition of the 12 cells */
    assert_int_equal(run_in("for s in 0 1 2 3 4; do %s run c.ini --shard $s/5 --balance --dry-run -o results/p$s.h5 "
                            "2>/dev/null | awk '$1 ~ /^[0-9]+$/ && $2 != \"cells\" {print $1}'; done | sort -n | uniq -c | "
                            "awk '$1 == 1' | wc -l", exe), 0);
    assert_int_equal(atoi(out), 12);
}

/* the merge script, run by bash outside Slurm: shard 1's task exited 1, shard 2's never ended */
static void test_merge_script_missing_shards(void **state)
{
    (void)state;
    assert_int_equal(run_in("%s slurm c.ini --tasks 4 -o results/m.h5 --setup echo.sh", exe), 0);
    for (int s = 0; s < 4; s++)
        if (s != 1 && s != 2)
            assert_int_equal(run_in("%s run c.ini --shard %d/4 --balance -o results/m.shard-%d-of-4.h5 "
                                    "--threads 1 --no-progress && echo 0 > results/m.slurm/shard-%d-of-4.status",
                                    exe, s, s, s), 0);
    assert_int_equal(run_in("echo 1 > results/m.slurm/shard-1-of-4.status"), 0);
    /* shard 3's task was stopped at its time limit after storing its cells (t2rec run: 130) */
    assert_int_equal(run_in("echo 130 > results/m.slurm/shard-3-of-4.status"), 0);
    int rc = run_in("bash results/m.slurm/merge.sbatch 2>&1");
    printf("%s", out);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "set-up ran in merge"));
    assert_non_null(strstr(out, "shard 1 of 4 FAILED: its task exited with status 1; shard file: no"));
    assert_non_null(strstr(out, "shard 2 of 4 MISSING: its task did not finish"));
    assert_non_null(strstr(out, "merged 2 of 4 shard files"));
    assert_non_null(strstr(out, "shard 3 of 4 FAILED: its task exited with status 130 (interrupted: the time limit"));
    assert_non_null(strstr(out, "missing or failed shards: 1 2 3"));
    assert_null(strstr(out, "shard 0 of 4"));
    /* the merged file holds the cells of shards 0 and 3 */
    assert_int_equal(run_in("for s in 0 3; do %s run c.ini --shard $s/4 --balance --dry-run -o results/m.h5 "
                            "2>&1 | grep -c ' ok '; done | awk '{s += $1} END {print s}'", exe), 0);
    int want = atoi(out);
    assert_int_equal(run_in("%s run c.ini --dry-run -o results/m.h5 2>&1 | grep -c ' ok '", exe), 0);
    assert_int_equal(atoi(out), want);
    assert_true(want > 0 && want < 12);
    /* the missing shards rerun: the merge now reports all shards and exits 0 */
    for (int s = 1; s <= 3; s++)
        assert_int_equal(run_in("%s run c.ini --shard %d/4 --balance -o results/m.shard-%d-of-4.h5 "
                                "--threads 1 --no-progress && echo 0 > results/m.slurm/shard-%d-of-4.status",
                                exe, s, s, s), 0);
    rc = run_in("bash results/m.slurm/merge.sbatch 2>&1");
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "merged all 4 shards"));
    assert_int_equal(run_in("%s run c.ini --dry-run -o results/m.h5 2>&1 | grep -c ' ok '", exe), 0);
    assert_int_equal(atoi(out), 12);
}

static void test_slurm_array_and_merge(void **state)
{
    (void)state;
    const char *skipenv = getenv("T2REC_SKIP_SLURM");
    if (geteuid() != 0 || (skipenv && !strcmp(skipenv, "1"))) {
        printf("skipped: the Slurm test needs root (to install and start munge/slurm daemons)%s\n",
               skipenv ? " and T2REC_SKIP_SLURM is set" : "");
        skip();
    }
    char d[256], cmd[1024];
    assert_non_null(tu_tmpdir("slurm-real", d, sizeof d));
    snprintf(cmd, sizeof cmd, "bash tests/slurm/slurm_test.sh %s %s", tu_t2rec(), d);
    int rc = tu_run(cmd, out, sizeof out);
    printf("%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "equals the local run"));
    assert_non_null(strstr(out, "named shards 1 and 2"));
    /* the daemons we started are gone */
    assert_null(strstr(out, "did not start"));
    snprintf(cmd, sizeof cmd, "ls %s/results/slurmtest.slurm/", d);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "array.sbatch"));
    assert_non_null(strstr(out, "merge.sbatch"));
    /* the tasks ran balanced shards that together hold the 12 cells, and the set-up line ran */
    int sum = 0;
    for (int t = 0; t < 4; t++) {
        snprintf(cmd, sizeof cmd, "cat %s/results/slurmtest.slurm/slurmtest-*_%d.err", d, t);
        assert_int_equal(tu_run(cmd, out, sizeof out), 0);
        char want[64];
        snprintf(want, sizeof want, "set-up line ran in %d", t);
        if (!strstr(out, want))
            fail_msg("task %d log lacks '%s':\n%s", t, want, out);
        snprintf(want, sizeof want, "shard %d/4: ", t);
        const char *p = strstr(out, want);
        if (!p)
            fail_msg("task %d log lacks '%s':\n%s", t, want, out);
        int k = 0, n = 0;
        assert_int_equal(sscanf(p + strlen(want), "%d of %d cells", &k, &n), 2);
        assert_int_equal(n, 12);
        sum += k;
    }
    assert_int_equal(sum, 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scripts),
        cmocka_unit_test(test_balance),
        cmocka_unit_test(test_merge_script_missing_shards),
        cmocka_unit_test(test_slurm_array_and_merge),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
