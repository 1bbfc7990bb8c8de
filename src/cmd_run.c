/* cmd_run.c — `t2rec run`: parse the command line, hand over to the sweep driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "sweep.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: t2rec run CONFIG [-j N] [--shard I/N|auto] [--force] [--retry-failed] [-o OUT.h5]\n"
        "                        [--threads T] [--dry-run] [--wait] [--progress|--no-progress]\n\n"
        "Run every cell of CONFIG (the cartesian product of its comma-list axes, times\n"
        "replicates, times methods) and store one record per cell in an HDF5 results file.\n\n"
        "  -o OUT.h5         results file (default: [experiment] output of the config)\n"
        "  -j N              run cells in N worker processes (default 1)\n"
        "  --shard I/N       run only cells with index %% N == I (I = 0..N-1); without -o into its\n"
        "                    own shard file OUT.shard-I-of-N.h5. Merge with `t2rec merge`.\n"
        "  --shard auto      I and N from a Slurm array job: I = SLURM_ARRAY_TASK_ID -\n"
        "                    SLURM_ARRAY_TASK_MIN, N = SLURM_ARRAY_TASK_COUNT (what `t2rec slurm`\n"
        "                    writes). Without --shard a run never shards itself, in Slurm or not.\n"
        "                    A sharded run prints 'shard I/N: k of M cells'.\n"
        "  --balance         with --shard: deal the cells to shards by expected cost (n_obs times\n"
        "                    a method factor, longest first) instead of index %% N, as the tasks\n"
        "                    of `t2rec slurm` do; every cell is still in exactly one shard\n"
        "  --force           rerun cells that already have a record\n"
        "  --retry-failed    rerun cells whose record says failed (ok cells are kept)\n"
        "  --threads T       BLAS threads per worker (default: $OPENBLAS_NUM_THREADS, else\n"
        "                    cores / workers). Same config + seed + threads -> same numbers.\n"
        "  --dry-run         list the cells (index, key, replicate, method, status, the keys\n"
        "                    that vary) and run nothing\n"
        "  --wait            when another run is writing OUT, wait for it to finish (default:\n"
        "                    exit 2 naming its pid and host)\n"
        "  --progress        progress line even when stderr is not a terminal (default: only\n"
        "                    on a terminal); --no-progress never\n\n"
        "Paths: relative paths in CONFIG (data path, ratings, user_features, item_features,\n"
        "output) and -o are relative to the working directory, not to the config's folder.\n"
        "One writer per results file: a run holds an exclusive lock (OUT.lock) while it runs.\n"
        "Resume: a rerun skips every cell whose record exists (ok or failed); a run killed at\n"
        "any moment loses at most the cells in flight, and the results file always opens.\n"
        "Finished cells go to OUT.cells/ first and into OUT now and then (at least once a\n"
        "minute while that costs under a tenth of the run) and at the end.\n"
        "SIGINT (Ctrl-C) / SIGTERM: the cells in flight are abandoned, every finished cell is\n"
        "kept in OUT, 'interrupted: k cells done; rerun to resume' is printed, exit 130.\n\n"
        "The summary line counts the selected cells that are stored (in OUT, or kept in\n"
        "OUT.cells/ when OUT itself could not be rewritten): 'N cells ok, F failed, M missing'.\n"
        "Exit status:\n"
        "  0    every selected cell is stored and ok\n"
        "  1    runtime error: a cell could not be stored (disk full, I/O error: the message\n"
        "       names the file; finished cells are kept for the next run), every worker died\n"
        "  2    bad input: config error (file, line and key), unwritable output, a results\n"
        "       file that cannot be read, OUT being written by another run (without --wait)\n"
        "  3    the sweep ran, but some selected cells failed (their reasons are printed and\n"
        "       stored; rerun them with --retry-failed) or are missing\n"
        "  130  interrupted by SIGINT or SIGTERM (rerun to resume)\n");
}

/* --shard auto: the Slurm array task. 0, or -1 with a message. */
static int shard_from_slurm(int *i, int *n)
{
    const char *id = getenv("SLURM_ARRAY_TASK_ID"), *cnt = getenv("SLURM_ARRAY_TASK_COUNT");
    const char *mn = getenv("SLURM_ARRAY_TASK_MIN");
    if (!id || !cnt || !*id || !*cnt) {
        fprintf(stderr, "t2rec run: --shard auto: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT "
                        "are not set (not a Slurm array job); give --shard I/N\n");
        return -1;
    }
    char *e1, *e2, *e3 = NULL;
    long a = strtol(id, &e1, 10), b = strtol(cnt, &e2, 10), m = mn && *mn ? strtol(mn, &e3, 10) : 0;
    if (*e1 || *e2 || (e3 && *e3) || b < 1 || b > 1000000 || a - m < 0 || a - m >= b) {
        fprintf(stderr, "t2rec run: --shard auto: SLURM_ARRAY_TASK_ID=%s, SLURM_ARRAY_TASK_MIN=%s, "
                        "SLURM_ARRAY_TASK_COUNT=%s do not give a shard (want 0 <= id - min < count)\n",
                id, mn ? mn : "(unset)", cnt);
        return -1;
    }
    *i = (int)(a - m);
    *n = (int)b;
    return 0;
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
            if (!strcmp(argv[++k], "auto")) {
                if (shard_from_slurm(&o.shard_i, &o.shard_n) != 0)
                    return 2;
            } else if (parse_shard(argv[k], &o.shard_i, &o.shard_n) != 0) {
                fprintf(stderr, "t2rec run: --shard takes I/N with 0 <= I < N, or auto, not '%s'\n",
                        argv[k]);
                return 2;
            }
        } else if (!strcmp(a, "--threads") && k + 1 < argc) {
            char *end;
            long t = strtol(argv[++k], &end, 10);
            if (*end || t < 1 || t > 1024) {
                fprintf(stderr, "t2rec run: --threads takes a positive number, not '%s'\n", argv[k]);
                return 2;
            }
            o.threads = (int)t;
        } else if (!strcmp(a, "--balance")) {
            o.balance = 1;
        } else if (!strcmp(a, "--force")) {
            o.force = 1;
        } else if (!strcmp(a, "--retry-failed")) {
            o.retry_failed = 1;
        } else if (!strcmp(a, "--wait")) {
            o.wait = 1;
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
    return sweep_run(&o);
}
