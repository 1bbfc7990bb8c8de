/* intdim.c — TwoNN and Levina-Bickel MLE intrinsic-dimension estimators (see intdim.h).
 *
 * Exact kNN by brute force: for a block of B query rows, G = Xb X^T (cblas_dgemm) gives the
 * squared distances |xi|^2 + |xj|^2 - 2 G_ij of the whole block at once; every row keeps its
 * k best candidates in a small sorted list, whose distances are then recomputed exactly
 * (so cancellation in the expansion never reaches the estimates). Memory: B x n doubles for
 * the block (B chosen so that this is at most 32 MB) plus n x k for the answer.
 */
#include "intdim.h"

#include <cblas.h>
#include <gsl/gsl_sort.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_DOUBLES (1L << 22)
#define TWONN_DISCARD 0.10

static double sqdist(const double *a, const double *b, int D)
{
    double s = 0;
    for (int t = 0; t < D; t++) {
        double e = a[t] - b[t];
        s += e * e;
    }
    return s;
}

/* Insert (v, j) into the ascending list (len m, capacity k); returns the new length. */
static int cand_insert(double *cd, int *cj, int m, int k, double v, int j)
{
    int p = m < k ? m : k - 1;
    while (p > 0 && cd[p - 1] > v) {
        cd[p] = cd[p - 1];
        cj[p] = cj[p - 1];
        p--;
    }
    cd[p] = v;
    cj[p] = j;
    return m < k ? m + 1 : k;
}

static int check_finite(const double *x, int n, int D, char *err, size_t errlen)
{
    for (long t = 0; t < (long)n * D; t++) {
        if (!isfinite(x[t])) {
            snprintf(err, errlen, "intdim: point %ld has a non-finite coordinate", t / D);
            return -1;
        }
    }
    return 0;
}

int intdim_knn(const double *x, int n, int D, int k, double *dist, char *err, size_t errlen)
{
    if (n < 2 || D < 1 || k < 1 || k >= n) {
        snprintf(err, errlen, "intdim: need n >= 2 points, D >= 1 and 1 <= k < n (n=%d, D=%d, k=%d)",
                 n, D, k);
        return -1;
    }
    if (check_finite(x, n, D, err, errlen) != 0)
        return -1;
    long B = BLOCK_DOUBLES / n;
    if (B < 1)
        B = 1;
    if (B > n)
        B = n;
    double *norm = malloc((size_t)n * sizeof *norm);
    double *G = malloc((size_t)B * n * sizeof *G);
    double *cd = malloc((size_t)k * sizeof *cd);
    int *cj = malloc((size_t)k * sizeof *cj);
    if (!norm || !G || !cd || !cj) {
        free(norm);
        free(G);
        free(cd);
        free(cj);
        snprintf(err, errlen, "intdim: out of memory (n=%d)", n);
        return -1;
    }
    for (int i = 0; i < n; i++)
        norm[i] = cblas_ddot(D, x + (size_t)i * D, 1, x + (size_t)i * D, 1);

    for (int i0 = 0; i0 < n; i0 += (int)B) {
        int b = (int)(n - i0 < B ? n - i0 : B);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, n, D, 1.0, x + (size_t)i0 * D, D,
                    x, D, 0.0, G, n);
        for (int r = 0; r < b; r++) {
            int i = i0 + r;
            const double *xi = x + (size_t)i * D;
            const double *g = G + (size_t)r * n;
            int m = 0;
            for (int j = 0; j < n; j++) {
                if (j == i)
                    continue;
                double a = norm[i] + norm[j] - 2.0 * g[j];
                if (a <= 1e-12 * (norm[i] + norm[j])) {
                    a = sqdist(xi, x + (size_t)j * D, D);   /* near-coincident: measure exactly */
                    if (a == 0.0)
                        continue;                           /* duplicate: not a neighbour */
                }
                if (m < k || a < cd[m - 1])
                    m = cand_insert(cd, cj, m, k, a, j);
            }
            for (int t = 0; t < m; t++)
                cd[t] = sqrt(sqdist(xi, x + (size_t)cj[t] * D, D));
            gsl_sort(cd, 1, (size_t)m);
            double *out = dist + (size_t)i * k;
            for (int t = 0; t < k; t++)
                out[t] = t < m ? cd[t] : NAN;
        }
    }
    free(norm);
    free(G);
    free(cd);
    free(cj);
    return 0;
}

static int twonn_distinct(const double *x, int n, int D, double *d_hat, char *err, size_t errlen);
static int mle_distinct(const double *x, int n, int D, int k1, int k2, double *d_hat,
                        char *err, size_t errlen);

typedef struct {
    const double *x;
    int D;
} row_ctx;

static int row_cmp(const void *a, const void *b, void *arg)
{
    const row_ctx *c = arg;
    const double *p = c->x + (size_t)*(const int *)a * c->D, *q = c->x + (size_t)*(const int *)b * c->D;
    for (int t = 0; t < c->D; t++)
        if (p[t] != q[t])
            return p[t] < q[t] ? -1 : 1;
    return 0;
}

/* The distinct rows of x (a malloc'd copy, in sorted order) and their count. */
static double *distinct_rows(const double *x, int n, int D, int *m, char *err, size_t errlen)
{
    int *idx = malloc((size_t)n * sizeof *idx);
    double *u = malloc((size_t)n * D * sizeof *u);
    if (!idx || !u) {
        free(idx);
        free(u);
        snprintf(err, errlen, "intdim: out of memory (n=%d)", n);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        idx[i] = i;
    row_ctx c = {x, D};
    qsort_r(idx, (size_t)n, sizeof *idx, row_cmp, &c);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && row_cmp(&idx[i - 1], &idx[i], &c) == 0)
            continue;
        memcpy(u + (size_t)k * D, x + (size_t)idx[i] * D, (size_t)D * sizeof *u);
        k++;
    }
    free(idx);
    *m = k;
    return u;
}

int intdim_twonn(const double *x, int n, int D, double *d_hat, char *err, size_t errlen)
{
    if (n < 3 || D < 1) {
        snprintf(err, errlen, "intdim twonn: need at least 3 points and D >= 1 (got n=%d, D=%d)", n, D);
        return -1;
    }
    if (check_finite(x, n, D, err, errlen) != 0)
        return -1;
    int nu;
    double *ux = distinct_rows(x, n, D, &nu, err, errlen);
    if (!ux)
        return -1;
    if (nu < 3) {
        free(ux);
        snprintf(err, errlen, "intdim twonn: only %d distinct points (need 3)", nu);
        return -1;
    }
    int rc = twonn_distinct(ux, nu, D, d_hat, err, errlen);
    free(ux);
    return rc;
}

int intdim_mle(const double *x, int n, int D, int k1, int k2, double *d_hat,
               char *err, size_t errlen)
{
    if (k1 < 2 || k2 < k1 || k2 >= n || D < 1) {
        snprintf(err, errlen, "intdim mle: need 2 <= k1 <= k2 < n and D >= 1 (k1=%d, k2=%d, n=%d, D=%d)",
                 k1, k2, n, D);
        return -1;
    }
    if (check_finite(x, n, D, err, errlen) != 0)
        return -1;
    int nu;
    double *ux = distinct_rows(x, n, D, &nu, err, errlen);
    if (!ux)
        return -1;
    if (k2 >= nu) {
        free(ux);
        snprintf(err, errlen, "intdim mle: only %d distinct points, need more than k2=%d", nu, k2);
        return -1;
    }
    int rc = mle_distinct(ux, nu, D, k1, k2, d_hat, err, errlen);
    free(ux);
    return rc;
}

static int twonn_distinct(const double *x, int n, int D, double *d_hat, char *err, size_t errlen)
{
    if (n < 3) {
        snprintf(err, errlen, "intdim twonn: need at least 3 points (got %d)", n);
        return -1;
    }
    double *dist = malloc((size_t)n * 2 * sizeof *dist);
    double *mu = malloc((size_t)n * sizeof *mu);
    if (!dist || !mu) {
        free(dist);
        free(mu);
        snprintf(err, errlen, "intdim twonn: out of memory (n=%d)", n);
        return -1;
    }
    int rc = intdim_knn(x, n, D, 2, dist, err, errlen);
    int N = 0;
    if (rc == 0) {
        for (int i = 0; i < n; i++) {
            double r1 = dist[2 * i], r2 = dist[2 * i + 1];
            if (isfinite(r1) && isfinite(r2) && r1 > 0)
                mu[N++] = r2 / r1;
        }
        if (N < 3) {
            snprintf(err, errlen, "intdim twonn: only %d points have two distinct neighbours", N);
            rc = -1;
        }
    }
    if (rc == 0) {
        gsl_sort(mu, 1, (size_t)N);
        int keep = (int)floor((1.0 - TWONN_DISCARD) * N);
        if (keep < 2)
            keep = 2;
        double sxy = 0, sxx = 0;
        for (int i = 0; i < keep; i++) {
            double xv = log(mu[i]);
            double F = (double)(i + 1) / N;   /* i + 1 <= keep < N: 1 - F > 0 */
            double yv = -log(1.0 - F);
            sxy += xv * yv;
            sxx += xv * xv;
        }
        if (!(sxx > 0)) {
            snprintf(err, errlen, "intdim twonn: all neighbour-distance ratios are 1 (degenerate data)");
            rc = -1;
        } else {
            *d_hat = sxy / sxx;
        }
    }
    free(dist);
    free(mu);
    return rc;
}

static int mle_distinct(const double *x, int n, int D, int k1, int k2, double *d_hat,
                        char *err, size_t errlen)
{
    if (k1 < 2 || k2 < k1 || k2 >= n) {
        snprintf(err, errlen, "intdim mle: need 2 <= k1 <= k2 < n (k1=%d, k2=%d, n=%d)", k1, k2, n);
        return -1;
    }
    double *dist = malloc((size_t)n * k2 * sizeof *dist);
    double *logt = malloc((size_t)k2 * sizeof *logt);
    double *sinv = calloc((size_t)(k2 + 1), sizeof *sinv);   /* sum over points of 1/m_k(x) */
    long *cnt = calloc((size_t)(k2 + 1), sizeof *cnt);
    if (!dist || !logt || !sinv || !cnt) {
        free(dist);
        free(logt);
        free(sinv);
        free(cnt);
        snprintf(err, errlen, "intdim mle: out of memory (n=%d, k2=%d)", n, k2);
        return -1;
    }
    int rc = intdim_knn(x, n, D, k2, dist, err, errlen);
    if (rc == 0) {
        for (int i = 0; i < n; i++) {
            const double *di = dist + (size_t)i * k2;
            int m = 0;   /* usable neighbours of point i */
            while (m < k2 && isfinite(di[m]))
                m++;
            for (int t = 0; t < m; t++)
                logt[t] = log(di[t]);
            double cum = 0;   /* sum_{j<k} log T_j */
            for (int k = 1; k <= m; k++) {
                if (k >= k1) {
                    /* 1/m_k = (1/(k-1)) sum_{j<k} (log T_k - log T_j) */
                    sinv[k] += ((k - 1) * logt[k - 1] - cum) / (k - 1);
                    cnt[k]++;
                }
                cum += logt[k - 1];
            }
        }
        double sum = 0;
        int nk = 0;
        for (int k = k1; k <= k2; k++) {
            if (cnt[k] < 3 || !(sinv[k] > 0))
                continue;
            sum += (double)cnt[k] / sinv[k];
            nk++;
        }
        if (nk == 0) {
            snprintf(err, errlen, "intdim mle: too few points with %d distinct neighbours", k1);
            rc = -1;
        } else {
            *d_hat = sum / nk;
        }
    }
    free(dist);
    free(logt);
    free(sinv);
    free(cnt);
    return rc;
}
