/* test_slurm.c — the Slurm path for real: tests/slurm/slurm_test.sh starts a single-node Slurm
 * (Debian's slurm-wlm and munge; installed when missing), submits a 4-task array sweep with
 * `t2rec slurm --submit` (its tasks shard with `run --shard auto`), waits for it and its merge
 * job, compares the merged export with a local run, and stops exactly the daemons it started. Needs root (apt-get, daemons): skipped
 * with a printed reason otherwise, or when T2REC_SKIP_SLURM=1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static void test_slurm_array_and_merge(void **state)
{
    (void)state;
    const char *skipenv = getenv("T2REC_SKIP_SLURM");
    if (geteuid() != 0 || (skipenv && !strcmp(skipenv, "1"))) {
        printf("skipped: the Slurm test needs root (to install and start munge/slurm daemons)%s\n",
               skipenv ? " and T2REC_SKIP_SLURM is set" : "");
        skip();
    }
    char dir[256], cmd[1024];
    assert_non_null(tu_tmpdir("slurm", dir, sizeof dir));
    static char out[1 << 16];
    snprintf(cmd, sizeof cmd, "bash tests/slurm/slurm_test.sh %s %s", tu_t2rec(), dir);
    int rc = tu_run(cmd, out, sizeof out);
    printf("%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "equals the local run"));
    /* the daemons we started are gone */
    assert_null(strstr(out, "did not start"));
    snprintf(cmd, sizeof cmd, "ls %s/results/slurmtest.slurm/", dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "array.sbatch"));
    assert_non_null(strstr(out, "merge.sbatch"));
    /* the tasks shard through --shard auto and say which shard they ran */
    snprintf(cmd, sizeof cmd, "grep -c -- '--shard auto' %s/results/slurmtest.slurm/array.sbatch", dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    for (int t = 0; t < 4; t++) {
        snprintf(cmd, sizeof cmd, "cat %s/results/slurmtest.slurm/slurmtest-*_%d.err", dir, t);
        assert_int_equal(tu_run(cmd, out, sizeof out), 0);
        char want[64];
        snprintf(want, sizeof want, "shard %d/4: 3 of 12 cells", t);
        if (!strstr(out, want))
            fail_msg("task %d log lacks '%s':\n%s", t, want, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slurm_array_and_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
