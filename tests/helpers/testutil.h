/* testutil.h — small helpers shared by the cmocka test programs. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include "estimator.h"

/* A fresh empty directory under tests/tmp/ for this test (path written to buf). */
const char *tu_tmpdir(const char *name, char *buf, size_t n);
/* Write text to a file; returns 0 on success. */
int tu_write_file(const char *path, const char *text);
/* Run a shell command; returns its exit status (or -1); stdout+stderr captured into out (may be NULL). */
int tu_run(const char *cmd, char *out, size_t outlen);
/* Path of the t2rec binary under test ($T2REC or bin/t2rec). */
const char *tu_t2rec(void);
/* Python with torch/h5py ($PYTHON or /usr/bin/python3). */
const char *tu_python(void);
/* 1 if data/ml-100k/u.data exists. */
int tu_have_movielens(void);
/* Write bytes to DIR/NAME (raw, for the PyTorch references). 0 or -1. */
int tu_write_bin(const char *dir, const char *name, const void *p, size_t bytes);
/* Compare per-step losses with DIR/losses.txt (one number per line, written by a reference):
 * returns how many steps differ by more than tol relative (printing each), -1 if the file is
 * missing or short; *worst = the largest relative difference. */
int tu_compare_losses(const char *dir, const double *loss, int n, double tol, double *worst);
/* Compare n float32 parameters with DIR/NAME (raw float32, exactly n): *worst = largest
 * |a - b| / max(1, |b|), *moved = largest |b - init| (how far the reference moved). 0 or -1
 * when the file is missing or not n floats long. */
int tu_compare_params(const char *dir, const char *name, const float *params, const float *init,
                      size_t n, double *worst, double *moved);
/* One fit of an estimator, as the estimator tests run it. */
typedef struct {
    void *model;          /* NULL when the fit failed (err says why) */
    est_curves curves;
    char err[256];
} tu_fit_result;
/* Fit m on d with "key=value" pairs kv (NULL-terminated, may be NULL; the method's defaults
 * fill the rest), seed, one BLAS thread. Returns -1 when a pair is malformed or memory runs out,
 * else 0 (check r->model). */
int tu_fit(const est_method *m, const ds_data *d, uint64_t seed, const char **kv, tu_fit_result *r);
void tu_fit_free(const est_method *m, tu_fit_result *r);

/* 1 when built with sanitizers (slow statistical tests may shrink). */
int tu_sanitized(void);

#endif
