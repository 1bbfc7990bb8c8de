/* knn_sim.c — all-pairs kNN similarities from co-rating sums accumulated by cblas_ssyrk /
 * cblas_sgemm over dense blocks of the rating matrix (formulas and kernel in knn_sim.h). */
#include "knn_sim.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cblas.h>   /* the cblas_* prototypes; OpenBLAS provides the symbols */

#define KNN_BLOCK_FLOATS (12L << 20)   /* the three dense blocks together: at most 48 MiB */

/* Which co-rating sums a similarity needs: F always; P (products), S2 (squares), S1 (sums). */
static void needs(knn_sim_kind kind, int *p, int *s2, int *s1)
{
    *p = kind != KNN_JACCARD;
    *s2 = kind != KNN_JACCARD;
    *s1 = kind == KNN_PEARSON;
}

static long block_rows(int n_x, int n_y)
{
    long b = KNN_BLOCK_FLOATS / (3L * (n_x > 0 ? n_x : 1));
    if (b < 1)
        b = 1;
    return b < n_y ? b : (n_y > 0 ? n_y : 1);
}

double knn_sim_bytes(knn_sim_kind kind, double n_x, double n_y)
{
    int p, s2, s1;
    needs(kind, &p, &s2, &s1);
    double sums = 1 + p + s2 + s1;
    double b = KNN_BLOCK_FLOATS / (3.0 * (n_x > 0 ? n_x : 1));
    if (b > n_y)
        b = n_y;
    return 4.0 * (sums * n_x * n_x + 3.0 * b * n_x);
}

/* The similarity of one pair from its sums (doubles; see knn_sim.h). sab = S2[a][b] = sum over
 * C_ab of r_a^2, sba = S2[b][a]; tab, tba likewise for S1. */
static double pair_sim(knn_sim_kind kind, double f, double p, double sab, double sba, double tab,
                       double tba, double na, double nb, int min_support, double shrinkage)
{
    int ms = min_support;
    if (kind == KNN_PEARSON_BASELINE && ms < 2)
        ms = 2;
    if (f < ms || f <= 0)
        return 0;
    double den, s;
    switch (kind) {
    case KNN_COSINE:
        den = sqrt(sab * sba);
        return den > 0 ? p / den : 0;
    case KNN_MSD: {
        double d = sab + sba - 2 * p;   /* sum over C_ab of (r_a - r_b)^2 */
        return 1.0 / (1.0 + (d > 0 ? d : 0) / f);
    }
    case KNN_PEARSON: {
        if (f < 2)
            return 0;   /* one co-rating: both are constant there */
        double va = f * sab - tab * tab, vb = f * sba - tba * tba;
        if (!(va > 0 && vb > 0))
            return 0;
        s = (f * p - tab * tba) / sqrt(va * vb);
        return s > 1 ? 1 : s < -1 ? -1 : s;
    }
    case KNN_PEARSON_BASELINE:
        den = sqrt(sab * sba);
        if (!(den > 0))
            return 0;
        s = p / den;
        s = s > 1 ? 1 : s < -1 ? -1 : s;
        return s * (f - 1) / (f - 1 + shrinkage);
    case KNN_JACCARD:
        den = na + nb - f;
        return den > 0 ? f / den : 0;
    }
    return 0;
}

double knn_pair_similarity(knn_sim_kind kind, double f, double p, double sab, double sba,
                           double tab, double tba, double na, double nb, int min_support,
                           double shrinkage)
{
    return pair_sim(kind, f, p, sab, sba, tab, tba, na, nb, min_support, shrinkage);
}

float *knn_similarity(const knn_csr *c, knn_sim_kind kind, int min_support, double shrinkage,
                      char *err, size_t errlen)
{
    int nx = c->n_x, ny = c->n_y;
    int use_p, use_s2, use_s1;
    needs(kind, &use_p, &use_s2, &use_s1);
    size_t nn = (size_t)(nx > 0 ? nx : 1) * (size_t)(nx > 0 ? nx : 1);
    long B = block_rows(nx, ny);
    size_t bsz = (size_t)B * (size_t)(nx > 0 ? nx : 1);
    float *F = malloc(nn * sizeof *F);
    float *P = use_p ? malloc(nn * sizeof *P) : NULL;
    float *S2 = use_s2 ? malloc(nn * sizeof *S2) : NULL;
    float *S1 = use_s1 ? malloc(nn * sizeof *S1) : NULL;
    float *Mb = malloc(bsz * sizeof *Mb);
    float *Rb = use_p ? malloc(bsz * sizeof *Rb) : NULL;
    float *Qb = use_s2 ? malloc(bsz * sizeof *Qb) : NULL;
    float *out = NULL;
    if (!F || (use_p && !P) || (use_s2 && !S2) || (use_s1 && !S1) || !Mb || (use_p && !Rb) ||
        (use_s2 && !Qb)) {
        snprintf(err, errlen, "knn: out of memory (similarity sums of %d x %d floats)", nx, nx);
        goto done;
    }
    /* msd and pearson: shift the values by the rounded mean (they are shift invariant) */
    double shift = 0;
    long nr = c->off[ny];
    if ((kind == KNN_MSD || kind == KNN_PEARSON) && nr > 0) {
        double s = 0;
        for (long q = 0; q < nr; q++)
            s += c->v[q];
        shift = round(s / (double)nr);
    }
    for (int y0 = 0; y0 < ny; y0 += (int)B) {
        int nb = ny - y0 < B ? ny - y0 : (int)B;
        float beta = y0 == 0 ? 0.0f : 1.0f;
        size_t used = (size_t)nb * (size_t)nx;
        memset(Mb, 0, used * sizeof *Mb);
        if (Rb)
            memset(Rb, 0, used * sizeof *Rb);
        if (Qb)
            memset(Qb, 0, used * sizeof *Qb);
        for (int r = 0; r < nb; r++)
            for (long q = c->off[y0 + r]; q < c->off[y0 + r + 1]; q++) {
                size_t at = (size_t)r * nx + (size_t)c->x[q];
                float v = (float)(c->v[q] - shift);
                Mb[at] = 1.0f;
                if (Rb)
                    Rb[at] = v;
                if (Qb)
                    Qb[at] = v * v;
            }
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, nx, nb, 1.0f, Mb, nx, beta, F, nx);
        if (use_p)
            cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, nx, nb, 1.0f, Rb, nx, beta, P, nx);
        if (use_s2)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nx, nx, nb, 1.0f, Qb, nx, Mb, nx,
                        beta, S2, nx);
        if (use_s1)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nx, nx, nb, 1.0f, Rb, nx, Mb, nx,
                        beta, S1, nx);
    }
    if (ny == 0) {   /* no ratings: every sum is 0 */
        memset(F, 0, nn * sizeof *F);
        if (P)
            memset(P, 0, nn * sizeof *P);
        if (S2)
            memset(S2, 0, nn * sizeof *S2);
        if (S1)
            memset(S1, 0, nn * sizeof *S1);
    }
    /* The result overwrites the buffer whose upper triangle is read last: P (or F for
     * jaccard). Pair (a, b), a < b, reads only upper entries [a][b] of F and P (ssyrk fills
     * the upper triangle) and both [a][b] and [b][a] of S1, S2, then writes [a][b], [b][a]. */
    out = use_p ? P : F;
    for (int a = 0; a < nx; a++) {
        double na = F[(size_t)a * nx + a];
        for (int b = a + 1; b < nx; b++) {
            size_t ab = (size_t)a * nx + b, ba = (size_t)b * nx + a;
            double s = pair_sim(kind, F[ab], use_p ? P[ab] : 0, use_s2 ? S2[ab] : 0,
                                use_s2 ? S2[ba] : 0, use_s1 ? S1[ab] : 0, use_s1 ? S1[ba] : 0,
                                na, F[(size_t)b * nx + b], min_support, shrinkage);
            out[ab] = out[ba] = (float)s;
        }
    }
    /* the diagonal last: jaccard reads F's diagonal (n_a) above */
    for (int a = 0; a < nx; a++)
        out[(size_t)a * nx + a] = 1.0f;
    if (out == P)
        P = NULL;
    else
        F = NULL;
done:
    free(F);
    free(P);
    free(S2);
    free(S1);
    free(Mb);
    free(Rb);
    free(Qb);
    return out;
}
