/* cmd_merge.c — `t2rec merge OUT.h5 SHARD.h5 ...`: combine shard files, newest record per key. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "commands.h"
#include "h5out.h"
#include "outlock.h"

static void merge_usage(FILE *f)
{
    fprintf(f,
            "usage: t2rec merge OUT.h5 SHARD.h5 [SHARD.h5 ...]\n\n"
            "Read every shard file (and OUT.h5 itself when it exists), keep for every cell key the\n"
            "newest record (by provenance end_time; on a tie the later file on the command line\n"
            "wins, OUT.h5 counting as the first), and write OUT.h5 atomically. If any input cannot\n"
            "be read, nothing is written and OUT.h5 is left as it was (exit status 2). While a\n"
            "`t2rec run` (or another merge) writes OUT.h5, merge refuses it (exit 2).\n\n"
            "  -h, --help     this help\n");
}

int cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    const char *shards[argc > 0 ? argc : 1];
    int ns = 0;
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            merge_usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "t2rec merge: unknown option '%s' (t2rec merge --help)\n", a);
            return 2;
        } else if (!out) {
            out = a;
        } else {
            shards[ns++] = a;
        }
    }
    if (!out || ns == 0) {
        fprintf(stderr, "t2rec merge: %s\n", !out ? "no output file given" : "no shard files given");
        merge_usage(stderr);
        return 2;
    }
    char err[1024];
    cell_record *acc = NULL;
    int nacc = 0, nread = 0, rc = 0;
    /* one writer per results file: not into a file a run (or another merge) is writing */
    outlock lock = {.fd = -1};
    int lr = outlock_take(&lock, out, 0, err, sizeof err);
    if (lr == OUTLOCK_HELD) {
        fprintf(stderr, "t2rec merge: %s; nothing written (merge when it is done)\n", err);
        return 2;
    } else if (lr == OUTLOCK_ERROR || lr == OUTLOCK_NOMEM) {
        fprintf(stderr, "t2rec merge: %s\n", err);
        return lr == OUTLOCK_NOMEM ? 1 : 2;
    }
    struct stat st;
    if (stat(out, &st) == 0) {
        int r = h5out_read(out, &acc, &nacc, err, sizeof err);
        if (r != 0) {
            fprintf(stderr, "t2rec merge: %s (the output exists but cannot be read; left untouched)\n", err);
            outlock_release(&lock);
            return r == -2 ? 1 : 2;
        }
        nread += nacc;
    }
    for (int k = 0; k < ns && rc == 0; k++) {
        cell_record *recs;
        int n;
        int r = h5out_read(shards[k], &recs, &n, err, sizeof err);
        if (r != 0) {
            fprintf(stderr, "t2rec merge: %s (nothing written; %s left untouched)\n", err, out);
            rc = r == -2 ? 1 : 2;   /* out of memory: a runtime failure */
            break;
        }
        nread += n;
        if (h5out_merge(&acc, &nacc, recs, n) != 0) {
            fprintf(stderr, "t2rec merge: out of memory\n");
            rc = 1;
        }
        h5out_free_records(recs, n);
    }
    if (rc == 0) {
        if (h5out_write(out, acc, nacc, err, sizeof err) != 0) {
            fprintf(stderr, "t2rec merge: %s\n", err);
            rc = 1;   /* disk full, out of memory: a runtime failure */
        } else {
            int nok = 0;
            for (int k = 0; k < nacc; k++)
                nok += strcmp(acc[k].status, "ok") == 0;
            printf("merged %d records from %d file(s) into %s: %d cells (%d ok, %d failed)\n", nread, ns,
                   out, nacc, nok, nacc - nok);
        }
    }
    h5out_free_records(acc, nacc);
    outlock_release(&lock);
    return rc;
}
