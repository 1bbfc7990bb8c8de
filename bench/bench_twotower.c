/* bench_twotower.c — benchmark driver of t2rec's two-tower estimator (called by bench/run_bench.py).
 *
 * Every subcommand generates the same synthetic dataset from (n_obs, seed) with the settings of
 * the performance issue (D = 32 on both sides, obs_per_user 10, obs_per_item 50), so the
 * PyTorch reference (tests/reference/torch_twotower.py) can train on the identical data written by `gen`.
 *
 *   bench_twotower gen N_OBS OUT.h5
 *       write the dataset (t2rec-dataset HDF5, see src/datafile.h) for the PyTorch side.
 *   bench_twotower fit N_OBS THREADS [key=value ...]
 *       fit est_twotower (method keys as in [method.twotower]; bench defaults: depth 3,
 *       width 256, embed_dim 16, batch 1024, lr 0.001) and print one JSON object: per-epoch
 *       curves, training / evaluation seconds, final test_cold excess risk, peak RSS of the fit
 *       (VmHWM after resetting it just before the fit), of the generation before it, and of the
 *       whole process; data / model bytes.
 *   bench_twotower step N_OBS THREADS N_STEPS
 *       time nn_twotower_step on real shuffled batches and report the GEMM flop rate of the
 *       towers inside the training step (GEMM flops of the step / step time; best of 3).
 *   bench_twotower mem N_OBS THREADS BATCHES
 *       like fit, but stops after BATCHES minibatches of one epoch (epochs=1 with a max_batches
 *       cap), to measure peak memory at n_obs = 10^7 in reasonable time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <gsl/gsl_rng.h>
#include "blas.h"
#include "datafile.h"
#include "dataset.h"
#include "estimator.h"
#include "nn.h"
#include "synth.h"

extern const est_method est_twotower;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void bench_params(synth_params *p, long n_obs)
{
    synth_params_default(p);
    p->seed = 20240601;
    p->n_obs = n_obs;
    p->obs_per_user = 10;
    p->obs_per_item = 50;
    p->user_intrinsic_dim = p->item_intrinsic_dim = 4;
    p->user_ambient_dim = p->item_ambient_dim = 32;
    p->beta = 1.0;
    p->noise = 0.5;
    p->test_cold_pairs = 20000;
    p->test_warm_pairs = 1000;
    p->valid_fraction = 0.1;
}

static int make_synth(long n_obs, synth_dataset *s)
{
    synth_params p;
    bench_params(&p, n_obs);
    char err[256];
    if (synth_generate(&p, s, err, sizeof err) != 0) {
        fprintf(stderr, "bench_twotower: synth_generate: %s\n", err);
        return -1;
    }
    return 0;
}

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':')
            v = atol(line + kl + 1);
    if (f)
        fclose(f);
    return v;
}

static void reset_hwm(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");   /* "5" resets VmHWM (Linux >= 4.0) */
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static size_t split_bytes(const ds_split *s)
{
    return (size_t)s->n * (2 * sizeof(int32_t) + sizeof(double) + (s->oracle ? sizeof(double) : 0));
}

static size_t data_bytes(const ds_data *d)
{
    return (size_t)d->n_users * d->user_dim * sizeof(double) + (size_t)d->n_items * d->item_dim * sizeof(double) +
           (size_t)d->n_users * d->user_latent_dim * sizeof(double) +
           (size_t)d->n_items * d->item_latent_dim * sizeof(double) + split_bytes(&d->train) +
           split_bytes(&d->valid) + split_bytes(&d->test_warm) + split_bytes(&d->test_cold);
}

/* the speed benchmark's model, trained as torch_twotower.py trains it (He init, constant lr, no
 * step budget), so that the per-epoch and time-to-accuracy comparisons stay like for like */
static const char *defaults[] = {"depth=3", "width=256", "embed_dim=16", "batch=1024", "lr=0.001",
                                 "epochs=10", "patience=0", "init=he", "lr_schedule=constant",
                                 "max_steps=0", NULL};

static int cmd_fit(long n_obs, int threads, int argc, char **argv, long max_batches)
{
    synth_dataset s;
    double tg = now();
    if (make_synth(n_obs, &s) != 0)
        return 1;
    ds_data d;
    ds_from_synth(&s, &d);
    synth_dataset_free(&s);
    double gen_s = now() - tg;
    kvset kv;
    kv_init(&kv);
    for (int k = 0; defaults[k]; k++)
        kv_set_pair(&kv, defaults[k]);
    int reps = 1;
    for (int k = 0; k < argc; k++)
        if (!strncmp(argv[k], "reps=", 5))
            reps = atoi(argv[k] + 5) > 0 ? atoi(argv[k] + 5) : 1;
        else if (kv_set_pair(&kv, argv[k]) != 0) {
            fprintf(stderr, "bench_twotower: bad key=value '%s'\n", argv[k]);
            return 2;
        }
    if (max_batches > 0) {
        char b[32];
        snprintf(b, sizeof b, "%ld", max_batches);
        kv_set(&kv, "max_batches", b);
        kv_set(&kv, "epochs", "1");
    }
    if (kv_fill_defaults(&kv, est_twotower.params) != 0) {
        fprintf(stderr, "bench_twotower: kv_fill_defaults failed\n");
        return 2;
    }
    const char *bad = NULL, *msg = est_twotower.check_parameter(&kv, &bad);
    if (msg) {
        fprintf(stderr, "bench_twotower: %s: %s\n", bad, msg);
        return 2;
    }
    blas_set_threads(threads);
    est_curves cv;
    char err[256] = "";
    long rss_before = status_kb("VmRSS"), gen_hwm = status_kb("VmHWM"), hwm = 0;
    double fit_s = 0, fit_cpu = 0, rep_train[64], rep_eval[64], rep_cpu[64];
    void *model = NULL;
    if (reps > 64)
        reps = 64;
    for (int rep = 0; rep < reps; rep++) {   /* the same fit repeated (timing: best of reps) */
        if (model) {
            est_twotower.free_model(model);
            est_curves_free(&cv);
        }
        est_curves_init(&cv);
        est_fit_ctx ctx = {&d, &kv, 7, threads, &cv, err, sizeof err};
        reset_hwm();
        double t0 = now(), c0 = cpu_now();
        model = est_twotower.train(&ctx);
        fit_s = now() - t0;
        fit_cpu = cpu_now() - c0;
        long h = status_kb("VmHWM");
        hwm = h > hwm ? h : hwm;
        if (!model) {
            fprintf(stderr, "bench_twotower: fit failed: %s\n", err);
            return 1;
        }
        const char *ts = strstr(cv.note, "train_s="), *es = strstr(cv.note, "eval_s=");
        rep_train[rep] = ts ? atof(ts + 8) : NAN;
        rep_eval[rep] = es ? atof(es + 7) : NAN;
        rep_cpu[rep] = fit_cpu;
    }
    double ex = NAN;
    if (d.test_cold.n > 0) {
        double *pr = malloc((size_t)d.test_cold.n * sizeof *pr);
        est_twotower.predict(model, &d, d.test_cold.n, d.test_cold.user, d.test_cold.item, pr);
        ex = 0;
        for (long k = 0; k < d.test_cold.n; k++)
            ex += (pr[k] - d.test_cold.oracle[k]) * (pr[k] - d.test_cold.oracle[k]);
        ex /= d.test_cold.n;
        free(pr);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* model + optimizer: parameters, gradients, best copy, Adam m and v (5 floats/param) */
    long np = 0;
    {
        const char *np_s = strstr(cv.note, "params=");
        if (np_s)
            np = atol(np_s + 7);
    }
    printf("{\"impl\": \"t2rec\", \"n_obs\": %ld, \"threads\": %d, \"core\": \"%s\", \"params\": {",
           n_obs, threads, blas_core());
    for (int k = 0; k < kv.n; k++)
        printf("%s\"%s\": \"%s\"", k ? ", " : "", kv.key[k], kv.val[k]);
    printf("}, \"gen_seconds\": %.3f, \"fit_seconds\": %.4f, \"fit_cpu_seconds\": %.4f, \"note\": \"%s\", \"epochs_run\": %d, "
           "\"best_epoch\": %d, \"final_test_excess\": %.6g, ",
           gen_s, fit_s, fit_cpu, cv.note, cv.epochs_run, cv.best_epoch, ex);
    printf("\"reps\": [");
    for (int k = 0; k < reps; k++)
        printf("%s{\"train_s\": %.4f, \"eval_s\": %.4f, \"fit_cpu_s\": %.4f}", k ? ", " : "",
               rep_train[k], rep_eval[k], rep_cpu[k]);
    printf("], \"wall\": [");
    for (int k = 0; k < cv.n; k++)
        printf("%s%.4f", k ? ", " : "", cv.wall_seconds[k]);
    printf("], \"valid_rmse\": [");
    for (int k = 0; k < cv.n; k++)
        printf("%s%.6f", k ? ", " : "", cv.valid_rmse[k]);
    printf("], \"test_excess\": [");
    for (int k = 0; k < cv.n; k++)
        printf("%s%.6f", k ? ", " : "", cv.test_excess[k]);
    printf("], \"train_loss\": [");
    for (int k = 0; k < cv.n; k++)
        printf("%s%.6f", k ? ", " : "", cv.train_loss[k]);
    printf("], \"rss_before_fit_kb\": %ld, \"fit_peak_rss_kb\": %ld, \"gen_peak_rss_kb\": %ld, \"process_peak_rss_kb\": %ld, "
           "\"data_bytes\": %zu, \"model_params\": %ld, \"model_opt_bytes\": %ld}\n",
           rss_before, hwm, gen_hwm, ru.ru_maxrss > gen_hwm ? ru.ru_maxrss : gen_hwm, data_bytes(&d), np, np * 5L * 4L);
    est_twotower.free_model(model);
    est_curves_free(&cv);
    kv_free(&kv);
    ds_free(&d);
    return 0;
}

/* GEMM flops of one tower forward + backward over `rows` rows (no input gradient at layer 0). */
static double tower_gemm_flops(const nn_tower *t, int rows)
{
    double f = 0;
    for (int l = 0; l < t->n_layers; l++) {
        double mnk = 2.0 * rows * t->dim[l] * t->dim[l + 1];
        f += mnk * (l > 0 ? 3 : 2);
    }
    return f;
}

static int cmd_step(long n_obs, int threads, int nsteps)
{
    synth_dataset s;
    if (make_synth(n_obs, &s) != 0)
        return 1;
    ds_data d;
    ds_from_synth(&s, &d);
    synth_dataset_free(&s);
    const int B = 1024, P = 16, W = 256, depth = 3;
    char err[256];
    blas_set_threads(1);   /* threads = 2: one tower per thread, each with one BLAS thread */
    nn_twotower *m = nn_twotower_new(d.user_dim, d.item_dim, depth, W, P, B, B, 1e-3f, 0.0f, err, sizeof err);
    if (!m) {
        fprintf(stderr, "bench_twotower: %s\n", err);
        return 1;
    }
    if (nn_twotower_set_threads(m, threads, err, sizeof err) != 0) {
        fprintf(stderr, "bench_twotower: %s\n", err);
        return 1;
    }
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    nn_twotower_init_he(m, r);
    int32_t *loc_u = malloc((size_t)d.n_users * sizeof *loc_u), *loc_i = malloc((size_t)d.n_items * sizeof *loc_i);
    int32_t *pu = malloc((size_t)nsteps * B * sizeof *pu), *pi = malloc((size_t)nsteps * B * sizeof *pi);
    float *y = malloc((size_t)nsteps * B * sizeof *y);
    int *nu = malloc((size_t)nsteps * sizeof *nu), *ni = malloc((size_t)nsteps * sizeof *ni);
    float *xu = malloc((size_t)nsteps * B * d.user_dim * sizeof *xu);
    float *xi = malloc((size_t)nsteps * B * d.item_dim * sizeof *xi);
    double flops = 0;
    for (int st = 0; st < nsteps; st++) {
        memset(loc_u, 0xff, (size_t)d.n_users * sizeof *loc_u);
        memset(loc_i, 0xff, (size_t)d.n_items * sizeof *loc_i);
        nu[st] = ni[st] = 0;
        for (int b = 0; b < B; b++) {
            long p = (long)gsl_rng_uniform_int(r, (unsigned long)d.train.n);
            int32_t u = d.train.user[p], i = d.train.item[p];
            if (loc_u[u] < 0) {
                loc_u[u] = nu[st];
                for (int c = 0; c < d.user_dim; c++)
                    xu[((size_t)st * B + nu[st]) * d.user_dim + c] = (float)d.user_x[(size_t)u * d.user_dim + c];
                nu[st]++;
            }
            if (loc_i[i] < 0) {
                loc_i[i] = ni[st];
                for (int c = 0; c < d.item_dim; c++)
                    xi[((size_t)st * B + ni[st]) * d.item_dim + c] = (float)d.item_x[(size_t)i * d.item_dim + c];
                ni[st]++;
            }
            pu[(size_t)st * B + b] = loc_u[u];
            pi[(size_t)st * B + b] = loc_i[i];
            y[(size_t)st * B + b] = (float)d.train.rating[p];
        }
        flops += tower_gemm_flops(&m->tower[0], nu[st]) + tower_gemm_flops(&m->tower[1], ni[st]);
    }
    double best = 1e30, best_cpu = 1e30;
    double mean_rows = 0;
    for (int st = 0; st < nsteps; st++)
        mean_rows += 0.5 * (nu[st] + ni[st]) / nsteps;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now(), c0 = cpu_now();
        for (int st = 0; st < nsteps; st++) {
            memcpy(nn_twotower_user_x(m), xu + (size_t)st * B * d.user_dim, (size_t)nu[st] * d.user_dim * sizeof(float));
            memcpy(nn_twotower_item_x(m), xi + (size_t)st * B * d.item_dim, (size_t)ni[st] * d.item_dim * sizeof(float));
            nn_twotower_step(m, nu[st], ni[st], B, pu + (size_t)st * B, pi + (size_t)st * B, y + (size_t)st * B);
        }
        double t = now() - t0, c = cpu_now() - c0;
        if (t < best)
            best = t;
        if (c < best_cpu)
            best_cpu = c;
    }
    printf("{\"impl\": \"t2rec\", \"what\": \"step\", \"threads\": %d, \"core\": \"%s\", \"steps\": %d, "
           "\"mean_rows\": %.1f, \"gemm_flops_per_step\": %.0f, \"step_seconds\": %.6f, "
           "\"step_gemm_gflops\": %.2f, \"step_cpu_seconds\": %.6f}\n",
           threads, blas_core(), nsteps, mean_rows, flops / nsteps, best / nsteps, flops / best * 1e-9,
           best_cpu / nsteps);
    gsl_rng_free(r);
    nn_twotower_free(m);
    free(loc_u);
    free(loc_i);
    free(pu);
    free(pi);
    free(y);
    free(nu);
    free(ni);
    free(xu);
    free(xi);
    ds_free(&d);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_twotower gen N_OBS OUT.h5 | fit N_OBS THREADS [k=v ...] | "
                        "step N_OBS THREADS N_STEPS | mem N_OBS THREADS BATCHES\n");
        return 2;
    }
    long n_obs = atol(argv[2]);
    if (!strcmp(argv[1], "gen")) {
        synth_dataset s;
        if (make_synth(n_obs, &s) != 0)
            return 1;
        char err[256];
        int rc = dfile_write(argv[3], &s, "bench_twotower", err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "bench_twotower: %s\n", err);
        synth_dataset_free(&s);
        return rc ? 1 : 0;
    }
    int threads = atoi(argv[3]);
    if (threads < 1)
        threads = 1;
    if (!strcmp(argv[1], "fit"))
        return cmd_fit(n_obs, threads, argc - 4, argv + 4, 0);
    if (!strcmp(argv[1], "step") && argc > 4)
        return cmd_step(n_obs, threads, atoi(argv[4]));
    if (!strcmp(argv[1], "mem") && argc > 4)
        return cmd_fit(n_obs, threads, argc - 5, argv + 5, atol(argv[4]));
    fprintf(stderr, "bench_twotower: unknown command '%s'\n", argv[1]);
    return 2;
}
