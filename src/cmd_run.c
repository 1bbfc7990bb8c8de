/* cmd_run.c — `t2rec run`: parse the command line, hand over to the sweep driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "sweep.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: t2rec run CONFIG [-j N] [--shard I/N] [--force] [--retry-failed] [-o OUT.h5]\n"
        "                        [--threads T] [--dry-run] [--progress|--no-progress]\n\n"
        "Run every cell of CONFIG (the cartesian product of its comma-list axes, times\n"
        "replicates, times methods) and store one record per cell in an HDF5 results file.\n\n"
        "  -o OUT.h5         results file (default: [experiment] output of the config)\n"
        "  -j N              run cells in N worker processes (default 1)\n"
        "  --shard I/N       run only cells with index %% N == I (I = 0..N-1) into its own shard\n"
        "                    file OUT.shard-I-of-N.h5; defaults from SLURM_ARRAY_TASK_ID and\n"
        "                    SLURM_ARRAY_TASK_COUNT when those are set. Merge with `t2rec merge`.\n"
        "  --force           rerun cells that already have a record\n"
        "  --retry-failed    rerun cells whose record says failed (ok cells are kept)\n"
        "  --threads T       BLAS threads per worker (default: $OPENBLAS_NUM_THREADS, else\n"
        "                    cores / workers). Same config + seed + threads -> same numbers.\n"
        "  --dry-run         list the cells (index, key, replicate, method, status, the keys\n"
        "                    that vary) and run nothing\n"
        "  --progress        progress line even when stderr is not a terminal (default: only\n"
        "                    on a terminal); --no-progress never\n\n"
        "Resume: a rerun skips every cell whose record exists (ok or failed); a run killed at\n"
        "any moment loses at most the cells in flight, and the results file always opens.\n"
        "Exit status: 0 done (failed cells are recorded with their reason), 1 runtime error,\n"
        "2 bad input (config error naming file, line and key; unwritable output).\n");
}

static int parse_shard(const char *s, int *i, int *n)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || *end != '/')
        return -1;
    const char *q = end + 1;
    long b = strtol(q, &end, 10);
    if (end == q || *end || b < 1 || a < 0 || a >= b || b > 1000000)
        return -1;
    *i = (int)a;
    *n = (int)b;
    return 0;
}

int cmd_run(int argc, char **argv)
{
    sweep_opts o = {.jobs = 1, .shard_n = 1, .progress = -1};
    int shard_given = 0;
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-o") && k + 1 < argc) {
            o.output = argv[++k];
        } else if (!strcmp(a, "-j") && k + 1 < argc) {
            char *end;
            long j = strtol(argv[++k], &end, 10);
            if (*end || j < 1 || j > 256) {
                fprintf(stderr, "t2rec run: -j takes a number of workers from 1 to 256, not '%s'\n", argv[k]);
                return 2;
            }
            o.jobs = (int)j;
        } else if (!strncmp(a, "-j", 2) && a[2]) {
            char *end;
            long j = strtol(a + 2, &end, 10);
            if (*end || j < 1 || j > 256) {
                fprintf(stderr, "t2rec run: -j takes a number of workers from 1 to 256, not '%s'\n", a + 2);
                return 2;
            }
            o.jobs = (int)j;
        } else if (!strcmp(a, "--shard") && k + 1 < argc) {
            if (parse_shard(argv[++k], &o.shard_i, &o.shard_n) != 0) {
                fprintf(stderr, "t2rec run: --shard takes I/N with 0 <= I < N, not '%s'\n", argv[k]);
                return 2;
            }
            shard_given = 1;
        } else if (!strcmp(a, "--threads") && k + 1 < argc) {
            char *end;
            long t = strtol(argv[++k], &end, 10);
            if (*end || t < 1 || t > 1024) {
                fprintf(stderr, "t2rec run: --threads takes a positive number, not '%s'\n", argv[k]);
                return 2;
            }
            o.threads = (int)t;
        } else if (!strcmp(a, "--force")) {
            o.force = 1;
        } else if (!strcmp(a, "--retry-failed")) {
            o.retry_failed = 1;
        } else if (!strcmp(a, "--dry-run")) {
            o.dry_run = 1;
        } else if (!strcmp(a, "--progress")) {
            o.progress = 1;
        } else if (!strcmp(a, "--no-progress")) {
            o.progress = 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "t2rec run: unknown option '%s' (t2rec run --help)\n", a);
            return 2;
        } else if (!o.config_path) {
            o.config_path = a;
        } else {
            fprintf(stderr, "t2rec run: one config only ('%s' is extra)\n", a);
            return 2;
        }
    }
    if (!o.config_path) {
        usage(stderr);
        return 2;
    }
    if (!shard_given) {
        const char *id = getenv("SLURM_ARRAY_TASK_ID"), *cnt = getenv("SLURM_ARRAY_TASK_COUNT");
        const char *mn = getenv("SLURM_ARRAY_TASK_MIN");
        if (id && cnt && *id && *cnt) {
            int i = atoi(id) - (mn && *mn ? atoi(mn) : 0), n = atoi(cnt);
            if (n < 1 || i < 0 || i >= n) {
                fprintf(stderr, "t2rec run: SLURM_ARRAY_TASK_ID=%s / SLURM_ARRAY_TASK_COUNT=%s do "
                                "not give a shard (want 0 <= id - min < count)\n", id, cnt);
                return 2;
            }
            o.shard_i = i;
            o.shard_n = n;
        }
    }
    return sweep_run(&o);
}
