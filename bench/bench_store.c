/* bench_store.c — what storing one finished cell costs as a sweep grows, for bench/run_bench.py.
 *
 *   bench_store DIR N [N ...]
 *
 * One real cell record (a baseline cell on a tiny synthetic dataset, run through cellrun like a
 * sweep cell, 4 epochs of curves) is cloned under N distinct keys. For each N, in a fresh
 * DIR/N/ folder:
 *   store:  the sweep's store (src/store.h): store_put of the N cells one after the other, as
 *           the coordinator does (each cell's staged file written and synced; the results file
 *           rewritten when the policy says; the final rewrite included). seconds per cell.
 *   legacy: what the store cost before (every finished cell rewrote the whole file): the time of
 *           one h5out_write of N records, i.e. the cost of the N-th cell (measured once per N).
 * Prints one JSON object per N on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cellrun.h"
#include "config.h"
#include "h5out.h"
#include "store.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static const char *CONFIG =
    "[experiment]\nname = benchstore\nseed = 1\n"
    "[data]\nn_obs = 256\nuser_ambient_dim = 4\nitem_ambient_dim = 4\n"
    "test_cold_pairs = 100\ntest_warm_pairs = 100\n"
    "[method.baseline]\nepochs = 4\n";

static int one_record(const char *dir, cell_record *rec)
{
    char p[4096], err[1024];
    snprintf(p, sizeof p, "%s/benchstore.ini", dir);
    FILE *f = fopen(p, "w");
    if (!f || fputs(CONFIG, f) < 0 || fclose(f) != 0)
        return -1;
    cfg *c = NULL;
    cfg_cell *cells = NULL;
    int n = 0;
    if (cfg_load(p, &c, err, sizeof err) != 0 || cfg_expand(c, &cells, &n, err, sizeof err) != 0) {
        fprintf(stderr, "bench_store: %s\n", err);
        return -1;
    }
    cellrun_cache cache;
    cellrun_cache_init(&cache);
    record_init(rec);
    int rc = cellrun_run(c, &cells[0], &cache, 1, rec);
    cellrun_cache_free(&cache);
    cfg_cells_free(cells, n);
    cfg_free(c);
    return rc == 0 && strcmp(rec->status, "ok") == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_store DIR N [N ...]\n");
        return 2;
    }
    const char *dir = argv[1];
    mkdir(dir, 0777);
    cell_record base;
    if (one_record(dir, &base) != 0) {
        fprintf(stderr, "bench_store: the baseline cell failed\n");
        return 1;
    }
    for (int a = 2; a < argc; a++) {
        int n = atoi(argv[a]);
        if (n < 1)
            return 2;
        char sub[4096], out[4200], err[1024];
        snprintf(sub, sizeof sub, "%s/%d", dir, n);
        mkdir(sub, 0777);
        snprintf(out, sizeof out, "%s/store.h5", sub);
        unlink(out);
        cell_record *recs = calloc((size_t)n, sizeof *recs);
        if (!recs)
            return 1;
        for (int k = 0; k < n; k++) {
            if (record_copy(&recs[k], &base) != 0)
                return 1;
            snprintf(recs[k].key, sizeof recs[k].key, "%016x", 0x10000000u + (unsigned)k);
            recs[k].replicate = k;
        }
        /* the store, as a sweep uses it */
        store s;
        int folded;
        if (store_open(&s, out, &folded, err, sizeof err) != 0 ||
            store_make_staging(&s, err, sizeof err) != 0) {
            fprintf(stderr, "bench_store: %s\n", err);
            return 1;
        }
        double t0 = now(), worst = 0;
        for (int k = 0; k < n; k++) {
            double t = now();
            if (store_put(&s, &recs[k], err, sizeof err) != 0) {
                fprintf(stderr, "bench_store: %s\n", err);
                return 1;
            }
            if (now() - t > worst)
                worst = now() - t;
        }
        if (store_flush(&s, 0, err, sizeof err) != 0) {
            fprintf(stderr, "bench_store: %s\n", err);
            return 1;
        }
        double t_store = now() - t0;
        int flushes = s.flushes;
        store_cleanup(&s);
        store_close(&s);
        /* before: the N-th cell rewrote all N records */
        snprintf(out, sizeof out, "%s/legacy.h5", sub);
        double t1 = now();
        if (h5out_write(out, recs, n, err, sizeof err) != 0) {
            fprintf(stderr, "bench_store: %s\n", err);
            return 1;
        }
        double t_legacy = now() - t1;
        struct stat st;
        long long bytes = stat(out, &st) == 0 ? (long long)st.st_size : -1;
        unlink(out);
        snprintf(out, sizeof out, "%s/store.h5", sub);
        unlink(out);
        printf("{\"cells\": %d, \"store_seconds_per_cell\": %.6f, \"store_worst_cell_seconds\": %.4f, "
               "\"rewrites\": %d, \"legacy_seconds_per_cell_at_n\": %.6f, \"file_bytes\": %lld}\n",
               n, t_store / n, worst, flushes, t_legacy, bytes);
        fflush(stdout);
        h5out_free_records(recs, n);
        rmdir(sub);
    }
    record_free(&base);
    return 0;
}
