/* testutil.c — helpers shared by the test programs (temp dirs, running commands). */
#include "testutil.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *tu_tmpdir(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "tests/tmp/%s.%d", name, (int)getpid());
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", buf, buf);
    if (system(cmd) != 0)
        return NULL;
    return buf;
}

int tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

int tu_run(const char *cmd, char *out, size_t outlen)
{
    char full[8192];
    snprintf(full, sizeof full, "( %s ) 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return -1;
    size_t used = 0;
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0) {
        if (out && used + 1 < outlen) {
            size_t take = got < outlen - 1 - used ? got : outlen - 1 - used;
            memcpy(out + used, buf, take);
            used += take;
        }
    }
    if (out && outlen)
        out[used] = 0;
    int st = pclose(p);
    if (st == -1)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

const char *tu_t2rec(void)
{
    const char *e = getenv("T2REC");
    return e && *e ? e : "bin/t2rec";
}

const char *tu_python(void)
{
    const char *e = getenv("PYTHON");
    return e && *e ? e : "/usr/bin/python3";
}

int tu_have_movielens(void)
{
    struct stat st;
    return stat("data/ml-100k/u.data", &st) == 0;
}

int tu_sanitized(void)
{
    const char *e = getenv("T2REC_SANITIZED");
    return e && *e && strcmp(e, "0") != 0;
}

int tu_write_bin(const char *dir, const char *name, const void *p, size_t bytes)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, bytes, f);
    return fclose(f) == 0 && w == bytes ? 0 : -1;
}

int tu_compare_losses(const char *dir, const double *loss, int n, double tol, double *worst)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/losses.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int bad = 0;
    *worst = 0;
    for (int k = 0; k < n; k++) {
        double t;
        if (fscanf(f, "%lf", &t) != 1) {
            fclose(f);
            return -1;
        }
        double rel = fabs(loss[k] - t) / fmax(fabs(t), 1e-12);
        if (rel > *worst)
            *worst = rel;
        if (!(rel <= tol)) {
            fprintf(stderr, "step %d: C loss %.9g, reference %.9g\n", k, loss[k], t);
            bad++;
        }
    }
    fclose(f);
    return bad;
}

int tu_compare_params(const char *dir, const char *name, const float *params, const float *init,
                      size_t n, double *worst, double *moved)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    float *b = malloc((n ? n : 1) * sizeof *b);
    int ok = b && fread(b, sizeof *b, n, f) == n && fgetc(f) == EOF;
    fclose(f);
    *worst = *moved = 0;
    for (size_t k = 0; ok && k < n; k++) {
        double d = fabs((double)params[k] - b[k]) / fmax(1.0, fabs(b[k]));
        if (d > *worst)
            *worst = d;
        if (fabs((double)b[k] - init[k]) > *moved)
            *moved = fabs((double)b[k] - init[k]);
    }
    free(b);
    return ok ? 0 : -1;
}

int tu_fit(const est_method *m, const ds_data *d, uint64_t seed, const char **kv, tu_fit_result *r)
{
    kvset params;
    kv_init(&params);
    est_curves_init(&r->curves);
    r->model = NULL;
    r->err[0] = 0;
    int rc = 0;
    for (int k = 0; kv && kv[k] && rc == 0; k++)
        rc = kv_set_pair(&params, kv[k]);
    if (rc == 0)
        rc = kv_fill_defaults(&params, m->params);
    if (rc == 0) {
        est_fit_ctx ctx = {d, &params, seed, 1, &r->curves, r->err, sizeof r->err};
        r->model = m->train(&ctx);
    }
    kv_free(&params);
    return rc;
}

void tu_fit_free(const est_method *m, tu_fit_result *r)
{
    if (r->model)
        m->free_model(r->model);
    r->model = NULL;
    est_curves_free(&r->curves);
}
