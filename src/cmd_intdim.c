/* cmd_intdim.c — `t2rec intdim DATA.h5|CONFIG`: TwoNN and Levina-Bickel MLE estimates of the
 * intrinsic dimension of the user and item covariates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "datafile.h"
#include "gencell.h"
#include "intdim.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: t2rec intdim DATA.h5|CONFIG [--points N] [--k1 K1] [--k2 K2] [--cell K]\n\n"
        "Estimate the intrinsic dimension of the user and item covariates of a dataset file\n"
        "written by `t2rec gen`, or of the dataset a config generates, with TwoNN (Facco et al.\n"
        "2017) and the Levina-Bickel MLE averaged over k = K1..K2 neighbours. Uses the first N\n"
        "training rows of each side (default 4000). For synthetic data the config's intrinsic\n"
        "dimension is printed next to the estimates.\n");
}

static int estimate(const char *what, const double *x, int n, int D, int declared, int k1, int k2)
{
    char err[512];
    double twonn, mle;
    if (intdim_twonn(x, n, D, &twonn, err, sizeof err) != 0 ||
        intdim_mle(x, n, D, k1, k2, &mle, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec intdim: %s: %s\n", what, err);
        return 1;
    }
    if (declared > 0)
        printf("%-6s %6d %4d %8d %8.3f %8.3f\n", what, n, D, declared, twonn, mle);
    else
        printf("%-6s %6d %4d %8s %8.3f %8.3f\n", what, n, D, "-", twonn, mle);
    return 0;
}

static int is_hdf5(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char sig[8] = {0};
    size_t got = fread(sig, 1, 8, f);
    fclose(f);
    return got == 8 && memcmp(sig, "\x89HDF\r\n\x1a\n", 8) == 0;
}

int cmd_intdim(int argc, char **argv)
{
    const char *input = NULL;
    int points = 4000, k1 = 10, k2 = 20, cell_k = -1;
    for (int k = 1; k < argc; k++) {
        int *target = NULL;
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[k], "--points"))
            target = &points;
        else if (!strcmp(argv[k], "--k1"))
            target = &k1;
        else if (!strcmp(argv[k], "--k2"))
            target = &k2;
        else if (!strcmp(argv[k], "--cell"))
            target = &cell_k;
        else if (argv[k][0] == '-') {
            fprintf(stderr, "t2rec intdim: unknown option '%s'\n", argv[k]);
            return 2;
        } else if (!input) {
            input = argv[k];
            continue;
        } else {
            fprintf(stderr, "t2rec intdim: one input only ('%s' is extra)\n", argv[k]);
            return 2;
        }
        if (k + 1 >= argc) {
            fprintf(stderr, "t2rec intdim: %s needs a value\n", argv[k]);
            return 2;
        }
        char *end;
        long v = strtol(argv[++k], &end, 10);
        if (*end || v < (target == &cell_k ? 0 : 2) || v > 10000000) {
            fprintf(stderr, "t2rec intdim: bad value '%s' for %s\n", argv[k], argv[k - 1]);
            return 2;
        }
        *target = (int)v;
    }
    if (!input) {
        usage(stderr);
        return 2;
    }
    if (k1 > k2) {
        fprintf(stderr, "t2rec intdim: --k1 must not exceed --k2\n");
        return 2;
    }
    char err[2048];
    printf("%-6s %6s %4s %8s %8s %8s\n", "side", "points", "D", "config_d", "TwoNN", "MLE");
    int rc = 0;
    if (is_hdf5(input)) {
        for (int side = 0; side < 2 && rc == 0; side++) {
            double *x = NULL;
            int n = 0, D = 0;
            if (dfile_read_covariates(input, side, &x, &n, &D, err, sizeof err) != 0) {
                fprintf(stderr, "t2rec intdim: %s\n", err);
                return 2;
            }
            rc = estimate(side ? "items" : "users", x, n < points ? n : points, D,
                          dfile_read_declared_dim(input, side), k1, k2);
            free(x);
        }
        return rc;
    }
    gencell g;
    rc = gencell_open(input, cell_k, 0, &g, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "t2rec intdim: %s\n", err);
        return rc;
    }
    synth_params p = g.params;
    /* enough users/items for the requested number of points */
    long need = (long)points;
    if (synth_n_users(&p) < need)
        p.n_obs = (long)(need * p.obs_per_user);
    if (synth_n_items(&p) < need && p.n_obs < (long)(need * p.obs_per_item))
        p.n_obs = (long)(need * p.obs_per_item);
    p.test_warm_pairs = 0;
    synth_dataset s;
    if (synth_generate(&p, &s, err, sizeof err) != 0) {
        fprintf(stderr, "t2rec intdim: %s: %s\n", input, err);
        gencell_close(&g);
        return 2;
    }
    int nu = s.n_users < points ? s.n_users : points, ni = s.n_items < points ? s.n_items : points;
    rc = estimate("users", s.user_x, nu, p.user_ambient_dim, p.user_intrinsic_dim, k1, k2);
    if (rc == 0)
        rc = estimate("items", s.item_x, ni, p.item_ambient_dim, p.item_intrinsic_dim, k1, k2);
    synth_dataset_free(&s);
    gencell_close(&g);
    return rc;
}
