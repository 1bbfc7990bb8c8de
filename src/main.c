/* main.c — the t2rec binary: picks the BLAS core, then dispatches to a subcommand. */
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gsl/gsl_errno.h>
#include <hdf5.h>
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

static void die(const char *msg)
{
    if (write(2, msg, strlen(msg)) < 0) { /* nothing more to do */ }
    _exit(1);
}

static void h5_init_failed(int sig)
{
    (void)sig;
    die("t2rec: out of memory while initialising the HDF5 library\n");
}

static volatile sig_atomic_t h5_starting, main_returned;

/* In place of HDF5's own exit handler (H5dont_atexit below). An exit that is not main's return
 * comes from inside HDF5: during its initialisation, or its exit(-1) in H5I_register when an
 * allocation fails (t2rec's own code never calls exit): a message and exit 1 instead of 255.
 * The library is not closed at exit: after some allocation failures HDF5's shutdown crashes
 * (H5D_close of a half-made dataset), and t2rec has closed every file it opened by then. */
static void h5_at_exit(void)
{
    if (h5_starting)
        h5_init_failed(0);
    if (!main_returned)
        die("t2rec: the HDF5 library ended the process (an allocation failed inside it: out of "
            "memory)\n");
}

/* HDF5 1.10 does not survive a failed allocation while it initialises (issue 19's malloc walk):
 * the error it pushes names its error class before that class is registered, H5I_inc_ref of
 * it fails and pushes the same error, and the recursion ends in a stack overflow; or it calls
 * exit(-1) from H5I_register, and its exit handler loops on the half-made library ("infinite
 * loop closing library", exit 255). Once initialised, its allocation failures are ordinary
 * errors. So it is initialised here, before any work, under a guard: the overflow (SIGSEGV,
 * caught on an alternate stack), an exit or a failed H5open during it end the process with a
 * message and exit 1. Its automatic error printing is turned off: t2rec reports its own. */
static void h5_start(void)
{
    static char alt[64 * 1024];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt}, old_ss;
    struct sigaction sa = {.sa_handler = h5_init_failed, .sa_flags = SA_ONSTACK}, old_sa;
    sigemptyset(&sa.sa_mask);
    int guarded = sigaltstack(&ss, &old_ss) == 0;
    guarded = guarded && sigaction(SIGSEGV, &sa, &old_sa) == 0;
    h5_starting = 1;
    if (atexit(h5_at_exit) != 0)
        h5_init_failed(0);
    H5dont_atexit();
    herr_t rc = H5open();
    if (rc >= 0)
        rc = H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    h5_starting = 0;
    if (guarded) {
        sigaction(SIGSEGV, &old_sa, NULL);
        sigaltstack(&old_ss, NULL);
    }
    if (rc < 0)
        h5_init_failed(0);
}

static int dispatch(int argc, char **argv)
{
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

#ifndef __SANITIZE_ADDRESS__
/* A crash with HDF5 on the stack. HDF5 1.10's error paths are not robust to a failed allocation
 * (issue 19's malloc walk: H5CX_pop after a failed context push, heap corruption found by free):
 * such a crash ends the process with a message and exit 1; any other crash stays a crash. */
static void crashed(int sig)
{
    void *frames[64];
    int n = backtrace(frames, 64), in_hdf5 = 0;
    for (int k = 0; k < n && !in_hdf5; k++) {
        Dl_info info;
        in_hdf5 = dladdr(frames[k], &info) && info.dli_fname && strstr(info.dli_fname, "libhdf5");
    }
    if (in_hdf5)
        die(sig == SIGABRT ? "t2rec: the HDF5 library aborted after a failure inside it (out of "
                             "memory?)\n"
                           : "t2rec: the HDF5 library crashed after a failure inside it (out of "
                             "memory?)\n");
    signal(sig, SIG_DFL);
    raise(sig);
}

static void guard_hdf5_crashes(void)
{
    static char alt[64 * 1024];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
    void *f[1];
    backtrace(f, 1);   /* loads libgcc_s now, not in the handler */
    struct sigaction sa = {.sa_handler = crashed, .sa_flags = SA_ONSTACK | SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    if (sigaltstack(&ss, NULL) != 0)
        return;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
}
#else
static void guard_hdf5_crashes(void) {}   /* ASan reports crashes itself */
#endif

int main(int argc, char **argv)
{
    /* GSL's default handler aborts (exit 134) on e.g. a failed allocation: every GSL call
     * site checks its return value and reports a message instead */
    gsl_set_error_handler_off();
    blas_setup(argc, argv);
    h5_start();
    guard_hdf5_crashes();
    int rc = dispatch(argc, argv);
    main_returned = 1;
    return rc;
}
