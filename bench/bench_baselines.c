/* bench_baselines.c — times the baseline estimators (mf ALS / SGD, autorec) on MovieLens 100K
 * for bench/run_bench.py, next to their PyTorch references (tests/reference/torch_baselines.py).
 *
 *   bench_baselines DIR FOLD METHOD THREADS [reps=R] [key=value ...]
 *       DIR the MovieLens 100K folder (u.data, u1.base ...), FOLD u1..u5, METHOD mf | autorec,
 *       keys as in [method.METHOD] (defaults filled from the method's table). The fit uses the
 *       whole FOLD.base as training data (valid_fraction 0, as the final fits of
 *       paper_configs/movielens100k.ini). The fit is repeated R times (default 3); prints one
 *       JSON object: the best fit's seconds, seconds per epoch (fit seconds / epochs, which
 *       includes the per-epoch training-loss bookkeeping each method does), the test RMSE on
 *       FOLD.test (predictions clipped to 1..5, as est_*.predict does), and the BLAS core.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "blas.h"
#include "dataset.h"
#include "estimator.h"
#include "loaders.h"
#include "params.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv)
{
    blas_setup(argc, argv);
    if (argc < 5) {
        fprintf(stderr, "usage: bench_baselines DIR FOLD mf|autorec THREADS [reps=R] [key=value ...]\n");
        return 2;
    }
    const char *dir = argv[1], *fold = argv[2], *name = argv[3];
    int threads = atoi(argv[4]);
    const est_method *em = est_find(name);
    if (!em || (strcmp(name, "mf") && strcmp(name, "autorec"))) {
        fprintf(stderr, "bench_baselines: method must be mf or autorec, not '%s'\n", name);
        return 2;
    }
    if (threads < 1) {
        fprintf(stderr, "bench_baselines: THREADS must be >= 1\n");
        return 2;
    }
    kvset kv;
    kv_init(&kv);
    int reps = 3;
    for (int k = 5; k < argc; k++) {
        if (!strncmp(argv[k], "reps=", 5))
            reps = atoi(argv[k] + 5);
        else if (kv_set_pair(&kv, argv[k]) != 0) {
            fprintf(stderr, "bench_baselines: bad key=value '%s'\n", argv[k]);
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
    if (kv_fill_defaults(&kv, em->params) != 0) {
        fprintf(stderr, "bench_baselines: out of memory\n");
        return 1;
    }
    const char *bad = NULL, *msg = em->check_parameter(&kv, &bad);
    if (msg) {
        fprintf(stderr, "bench_baselines: %s: %s\n", bad ? bad : "?", msg);
        return 2;
    }
    ds_data d;
    char err[512] = "";
    if (load_movielens100k(dir, fold, "fold", 0.0, 0.2, 1, &d, err, sizeof err) != 0) {
        fprintf(stderr, "bench_baselines: %s\n", err);
        return 2;
    }
    blas_set_threads(threads);
    double best = INFINITY, rmse = NAN;
    int epochs = 0;
    double *pr = malloc((size_t)(d.test_warm.n > 0 ? d.test_warm.n : 1) * sizeof *pr);
    if (!pr) {
        fprintf(stderr, "bench_baselines: out of memory\n");
        return 1;
    }
    for (int rep = 0; rep < reps; rep++) {
        est_curves cv;
        est_curves_init(&cv);
        est_fit_ctx ctx = {&d, &kv, 7, threads, &cv, err, sizeof err};
        double t0 = now();
        void *model = em->train(&ctx);
        double s = now() - t0;
        if (!model) {
            fprintf(stderr, "bench_baselines: fit failed: %s\n", err);
            return 1;
        }
        if (s < best) {
            best = s;
            epochs = cv.epochs_run;
            em->predict(model, &d, d.test_warm.n, d.test_warm.user, d.test_warm.item, pr);
            double acc = 0;
            for (long k = 0; k < d.test_warm.n; k++)
                acc += (pr[k] - d.test_warm.rating[k]) * (pr[k] - d.test_warm.rating[k]);
            rmse = sqrt(acc / (double)d.test_warm.n);
        }
        em->free_model(model);
        est_curves_free(&cv);
    }
    printf("{\"impl\": \"t2rec\", \"method\": \"%s\", \"fold\": \"%s\", \"threads\": %d, \"core\": \"%s\", "
           "\"params\": {", name, fold, threads, blas_core());
    for (int k = 0; k < kv.n; k++)
        printf("%s\"%s\": \"%s\"", k ? ", " : "", kv.key[k], kv.val[k]);
    printf("}, \"reps\": %d, \"epochs\": %d, \"fit_seconds\": %.5f, \"epoch_seconds\": %.6f, "
           "\"test_rmse\": %.6f, \"n_train\": %ld, \"n_test\": %ld}\n",
           reps, epochs, best, best / (epochs > 0 ? epochs : 1), rmse, d.train.n, d.test_warm.n);
    free(pr);
    kv_free(&kv);
    ds_free(&d);
    return 0;
}
