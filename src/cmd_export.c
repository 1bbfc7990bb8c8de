/* cmd_export.c — `t2rec export RESULTS.h5 --csv`: the long per-cell table for pandas/R. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "grouping.h"
#include "h5out.h"

static void export_usage(FILE *f)
{
    fprintf(f,
            "usage: t2rec export RESULTS.h5 --csv [--no-timing] [-o FILE] [--where KEY=VALUE]...\n\n"
            "Write one CSV row per cell of a results file, sorted by cell key: every config key\n"
            "(named as in the config), method, replicate, seed (training seed), data_seed, key,\n"
            "status, reason, the metrics (empty when a cell has none), fit_seconds, epochs_run,\n"
            "best_epoch (the epoch whose weights were kept), stopped_by (patience | cap |\n"
            "diverged, empty for methods without epochs).\n"
            "Numbers are printed with 17 significant digits. See docs/results-format.md.\n\n"
            "  --csv          CSV output (the only format; the default)\n"
            "  --no-timing    leave out fit_seconds, the one column that differs between two\n"
            "                 runs of the same config (compare exports with this)\n"
            "  -o FILE        write to FILE (atomically) instead of standard output\n"
            "  --where KEY=VALUE  only the cells with this value (repeatable; as in `t2rec report\n"
            "                 --help`: the same KEY twice is either value, different keys must all\n"
            "                 hold; no matching cell exits 2)\n"
            "  -h, --help     this help\n");
}

int cmd_export(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    int timing = 1, nwhere = 0;
    const char *where[64];
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            export_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--csv")) {
            /* the only format */
        } else if (!strcmp(a, "--no-timing")) {
            timing = 0;
        } else if (!strcmp(a, "--where")) {
            if (k + 1 >= argc || nwhere >= 64) {
                fprintf(stderr, "t2rec export: --where needs KEY=VALUE (at most 64)\n");
                return 2;
            }
            where[nwhere++] = argv[++k];
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (k + 1 >= argc) {
                fprintf(stderr, "t2rec export: %s needs a file name\n", a);
                return 2;
            }
            out = argv[++k];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "t2rec export: unknown option '%s' (t2rec export --help)\n", a);
            return 2;
        } else if (!in) {
            in = a;
        } else {
            fprintf(stderr, "t2rec export: one results file only ('%s' and '%s')\n", in, a);
            return 2;
        }
    }
    if (!in) {
        fprintf(stderr, "t2rec export: no results file given\n");
        export_usage(stderr);
        return 2;
    }
    char err[1024];
    cell_record *recs;
    int n;
    int rrc = h5out_read(in, &recs, &n, err, sizeof err);
    if (rrc != 0) {
        fprintf(stderr, "t2rec export: %s\n", err);
        return rrc == -2 ? 1 : 2;   /* out of memory: a runtime failure */
    }
    int wrc = grouping_where(recs, &n, where, nwhere, err, sizeof err);
    if (wrc != 0) {
        fprintf(stderr, "t2rec export: %s: %s\n", in, wrc == -2 ? "out of memory" : err);
        h5out_free_records(recs, n);
        return wrc == -2 ? 1 : 2;
    }
    int rc = 0;
    if (!out) {
        if (h5out_export_csv_opts(stdout, recs, n, timing) != 0 || fflush(stdout) != 0) {
            fprintf(stderr, "t2rec export: error writing to standard output\n");
            rc = 1;
        }
    } else {
        /* write FILE.tmp.PID and rename: a failed export never leaves half a table */
        size_t tl = strlen(out) + 32;
        char *tmp = malloc(tl);
        FILE *f = NULL;
        if (tmp) {
            snprintf(tmp, tl, "%s.tmp.%ld", out, (long)getpid());
            f = fopen(tmp, "w");
        }
        if (!f) {
            fprintf(stderr, "t2rec export: cannot write %s: %s\n", out, strerror(errno));
            rc = 2;
        } else {
            errno = 0;
            int bad = h5out_export_csv_opts(f, recs, n, timing) != 0;
            bad |= fflush(f) != 0;
            bad |= fsync(fileno(f)) != 0;
            int e = errno;
            bad |= fclose(f) != 0;
            if (!bad && rename(tmp, out) != 0)
                bad = 1;
            if (bad) {
                if (!e)
                    e = errno;
                fprintf(stderr, "t2rec export: cannot write %s: %s (%s left as it was)\n", out,
                        e ? strerror(e) : "write error", out);
                unlink(tmp);
                rc = 1;
            }
        }
        free(tmp);
    }
    h5out_free_records(recs, n);
    return rc;
}
