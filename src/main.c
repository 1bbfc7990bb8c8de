/* main.c — the t2rec binary: picks the BLAS core, then dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>
#include <gsl/gsl_errno.h>
#include "blas.h"
#include "commands.h"
#include "version.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} command;

static const command commands[] = {
    {"gen", cmd_gen, "generate a synthetic dataset (with oracle values) as HDF5"},
    {"run", cmd_run, "run the cells of a config (resume, -j workers, --shard) into a results file"},
    {"merge", cmd_merge, "merge shard results files; the newest record per cell key wins"},
    {"export", cmd_export, "print a results file as a long CSV table (one row per cell)"},
    {"slurm", cmd_slurm, "write (and submit) a Slurm array job of shards plus its merge job"},
    {"report", cmd_report, "slope tables with 95% CIs against theory; tables of mean metrics"},
    {"compare", cmd_compare, "paired comparisons of methods on the same data: t, Wilcoxon, Holm"},
    {"plot", cmd_plot, "gnuplot figures (PNG, PDF): convergence with CI bands, learning curves"},
    {"keys", cmd_keys, "every config key with its type, default, range and meaning"},
    {"prune", cmd_prune, "drop the cells of a results file that are no longer cells of a config"},
    {"intdim", cmd_intdim, "TwoNN and MLE intrinsic-dimension estimates of the covariates"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "t2rec %s — a harness for the theory of two-tower recommenders\n\n"
               "usage: t2rec COMMAND [ARGS]   (t2rec COMMAND --help for each)\n\ncommands:\n",
            T2REC_VERSION);
    for (const command *c = commands; c->name; c++)
        fprintf(f, "  %-8s %s\n", c->name, c->summary);
    fprintf(f, "  %-8s %s\n", "version", "print the code version, compiler and BLAS core");
}

int main(int argc, char **argv)
{
    /* GSL's default handler aborts (exit 134) on e.g. a failed allocation: every GSL call
     * site checks its return value and reports a message instead */
    gsl_set_error_handler_off();
    blas_setup(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("t2rec %s\ncompiler %s\nblas %s (core %s, %d threads)\n", T2REC_VERSION, T2REC_CC,
               blas_config(), blas_core(), blas_threads());
        return 0;
    }
    for (const command *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name))
            return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "t2rec: unknown command '%s' (t2rec --help lists them)\n", argv[1]);
    return 2;
}
