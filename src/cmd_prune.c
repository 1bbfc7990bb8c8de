/* cmd_prune.c — `t2rec prune OUT.h5 --config CONFIG`: drop the cells of a results file whose
 * key is not among the cells of CONFIG (left over after a config edit), rewriting the file
 * atomically (h5out_write) under its writer lock. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "config.h"
#include "h5out.h"
#include "outlock.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: t2rec prune OUT.h5 --config CONFIG [--dry-run]\n\n"
        "Drop from the results file OUT.h5 every cell whose key is not a cell of CONFIG (cells\n"
        "left by an earlier version of the config: another axis value, a removed method, fewer\n"
        "replicates, ...). The cell keys are computed as `t2rec run CONFIG` computes them, so the\n"
        "experiment's name, output and description do not matter. OUT.h5 is rewritten whole and\n"
        "renamed into place (a crash leaves the old or the new file) while holding its writer lock\n"
        "(OUT.h5.lock): a running `t2rec run` on the same file makes prune exit 2. Refused too\n"
        "while OUT.h5.cells/ holds staged cells of an unfinished run (rerun `t2rec run` first).\n"
        "Prints 'OUT: dropped D of N cells not in CONFIG, K kept' (nothing is written when D = 0).\n\n"
        "  --config CONFIG  the config whose cells are kept (required)\n"
        "  --dry-run        list the cells that would be dropped (key, method, status) and write\n"
        "                   nothing\n\n"
        "Exit status: 0 done (or nothing to drop), 1 the file could not be rewritten (left as it\n"
        "was), 2 bad input (config error, unreadable results file, locked, staged cells).\n"
        "To look at a subset without deleting anything: report/plot/export --where KEY=VALUE.\n");
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Does OUT.cells/ hold any staged cell file? */
static int has_staged(const char *out)
{
    size_t l = strlen(out) + 8;
    char *dir = malloc(l);
    if (!dir)
        return 0;
    snprintf(dir, l, "%s.cells", out);
    DIR *d = opendir(dir);
    free(dir);
    if (!d)
        return 0;
    int any = 0;
    struct dirent *e;
    while (!any && (e = readdir(d)))
        any = strstr(e->d_name, ".h5") != NULL;
    closedir(d);
    return any;
}

int cmd_prune(int argc, char **argv)
{
    const char *out = NULL, *config = NULL;
    int dry = 0;
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[k], "--config") && k + 1 < argc)
            config = argv[++k];
        else if (!strcmp(argv[k], "--dry-run"))
            dry = 1;
        else if (argv[k][0] == '-') {
            fprintf(stderr, "t2rec prune: unknown option '%s' (t2rec prune --help)\n", argv[k]);
            return 2;
        } else if (!out)
            out = argv[k];
        else {
            fprintf(stderr, "t2rec prune: one results file only ('%s' is extra)\n", argv[k]);
            return 2;
        }
    }
    if (!out || !config) {
        fprintf(stderr, "t2rec prune: %s (t2rec prune OUT.h5 --config CONFIG)\n",
                !out ? "no results file given" : "no --config given");
        return 2;
    }
    char err[4096];
    cfg *c = NULL;
    int erc = cfg_load(config, &c, err, sizeof err);
    if (erc != 0) {
        fprintf(stderr, "t2rec prune: %s\n", err);
        return erc == CFG_NOMEM ? 1 : 2;
    }
    cfg_cell *cells = NULL;
    int ncells = 0;
    erc = cfg_expand(c, &cells, &ncells, err, sizeof err);
    cfg_free(c);
    if (erc != 0) {
        fprintf(stderr, "t2rec prune: %s\n", err);
        return erc == CFG_NOMEM ? 1 : 2;
    }
    char (*keys)[17] = malloc((size_t)(ncells > 0 ? ncells : 1) * sizeof *keys);
    if (!keys) {
        cfg_cells_free(cells, ncells);
        fprintf(stderr, "t2rec prune: out of memory\n");
        return 1;
    }
    for (int k = 0; k < ncells; k++)
        memcpy(keys[k], cells[k].key, sizeof keys[k]);
    cfg_cells_free(cells, ncells);
    qsort(keys, (size_t)ncells, sizeof *keys, cmp_key);

    outlock lock = {.fd = -1};
    int rc = 0;
    cell_record *recs = NULL;
    int n = 0;
    if (!dry) {
        int lrc = outlock_take(&lock, out, 0, err, sizeof err);
        if (lrc == OUTLOCK_HELD || lrc == OUTLOCK_ERROR || lrc == OUTLOCK_NOMEM) {
            fprintf(stderr, "t2rec prune: %s\n", err);
            free(keys);
            return lrc == OUTLOCK_NOMEM ? 1 : 2;
        }
    }
    if (has_staged(out)) {
        fprintf(stderr, "t2rec prune: %s.cells/ holds staged cells of an unfinished run: rerun "
                "`t2rec run` first (it folds them into %s)\n", out, out);
        rc = 2;
        goto done;
    }
    if (h5out_read(out, &recs, &n, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec prune: %s\n", err);
        rc = 2;
        goto done;
    }
    /* kept records to the front (order is free: the file is sorted by key on reading) */
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (bsearch(recs[i].key, keys, (size_t)ncells, sizeof *keys, cmp_key)) {
            if (i != kept) {
                cell_record t = recs[kept];
                recs[kept] = recs[i];
                recs[i] = t;
            }
            kept++;
        } else if (dry)
            printf("would drop %s %s %s\n", recs[i].key, kv_str(&recs[i].config, "method", "-"),
                   recs[i].status);
    }
    int dropped = n - kept;
    if (dry)
        printf("%s: would drop %d of %d cells not in %s, %d kept\n", out, dropped, n, config, kept);
    else if (dropped == 0)
        printf("%s: nothing to drop (all %d cells are cells of %s)\n", out, n, config);
    else if (h5out_write(out, recs, kept, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec prune: %s (%s left as it was)\n", err, out);
        rc = 1;
    } else
        printf("%s: dropped %d of %d cells not in %s, %d kept\n", out, dropped, n, config, kept);
done:
    h5out_free_records(recs, n);
    outlock_release(&lock);
    free(keys);
    return rc;
}
