/* cmd_gen.c — `t2rec gen CONFIG -o data.h5`: generate one synthetic dataset and write it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "config.h"
#include "datafile.h"
#include "gencell.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: t2rec gen CONFIG -o DATA.h5 [--cell K]\n\n"
        "Generate the synthetic dataset of CONFIG ([data] with source = synthetic) and write\n"
        "it as HDF5: latent points and covariates of users and items (training entities first,\n"
        "then the fresh entities of test_cold), the train / valid / test_warm / test_cold\n"
        "pairs with observed ratings and the oracle R* of every pair, and the resolved config.\n"
        "The dataset is a pure function of the config and its seed: the same inputs give\n"
        "bitwise the same arrays. Prints a summary (sizes, mean / variance / kurtosis of R*).\n\n"
        "  -o DATA.h5   output file (written to a temp file, then renamed)\n"
        "  --cell K     when the config sweeps [data] keys or has replicates, the K-th distinct\n"
        "               dataset (0-based; `t2rec gen CONFIG --list` lists them)\n"
        "  --list       list the distinct datasets of CONFIG and exit\n"
        "Layout: docs/results-format.md (dataset files). Exit 2 on bad input.\n");
}

int cmd_gen(int argc, char **argv)
{
    const char *config = NULL, *out = NULL;
    int cell_k = -1, list = 0;
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[k], "-o") && k + 1 < argc) {
            out = argv[++k];
        } else if (!strcmp(argv[k], "--cell") && k + 1 < argc) {
            char *end;
            cell_k = (int)strtol(argv[++k], &end, 10);
            if (*end || cell_k < 0) {
                fprintf(stderr, "t2rec gen: --cell takes a number >= 0, not '%s'\n", argv[k]);
                return 2;
            }
        } else if (!strcmp(argv[k], "--list")) {
            list = 1;
        } else if (argv[k][0] == '-') {
            fprintf(stderr, "t2rec gen: unknown option '%s' (t2rec gen --help)\n", argv[k]);
            return 2;
        } else if (!config) {
            config = argv[k];
        } else {
            fprintf(stderr, "t2rec gen: one config only ('%s' is extra)\n", argv[k]);
            return 2;
        }
    }
    if (!config || (!out && !list)) {
        usage(stderr);
        return 2;
    }
    char err[2048];
    gencell g;
    int rc = gencell_open(config, cell_k, list, &g, err, sizeof err);
    if (rc != 0) {
        if (err[0])
            fprintf(stderr, "t2rec gen: %s\n", err);
        return rc;
    }
    if (list) {
        gencell_close(&g);
        return 0;
    }
    synth_dataset s;
    if (synth_generate(&g.params, &s, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec gen: %s: %s\n", config, err);
        gencell_close(&g);
        return 2;
    }
    if (dfile_write(out, &s, g.cell->canonical, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec gen: %s\n", err);
        synth_dataset_free(&s);
        gencell_close(&g);
        return 2;
    }
    gencell_print_summary(stdout, &s);
    printf("wrote %s\n", out);
    synth_dataset_free(&s);
    gencell_close(&g);
    return 0;
}
