/* synth_manifold.c — embeddings of the latent cube [0,1]^d into the ambient R^D:
 * linear x = Q z, or curved x = Q phi(z) with phi(z) = (cos(pi z_j), sin(pi z_j))_j,
 * Q a D x d (or D x 2d) matrix with orthonormal columns from the QR of a Gaussian matrix.
 * The products are plain loops (no BLAS) so that the bits do not depend on the BLAS kernel. */
#include "synth.h"
#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>

struct synth_embedding {
    int d, D, cols;          /* cols = d (linear) or 2d (curved) */
    synth_manifold m;
    double *Q;               /* D x cols, row-major, orthonormal columns */
};

synth_embedding *synth_embedding_new(int d, int D, synth_manifold m, uint64_t seed)
{
    int cols = m == SYNTH_CURVED ? 2 * d : d;
    if (d < 1 || cols > D)
        return NULL;
    synth_embedding *e = calloc(1, sizeof *e);
    gsl_rng *r = synth_rng_from_seed(seed);
    gsl_matrix *A = gsl_matrix_alloc((size_t)D, (size_t)cols);
    gsl_vector *tau = gsl_vector_alloc((size_t)cols);
    gsl_matrix *Qf = gsl_matrix_alloc((size_t)D, (size_t)D);
    gsl_matrix *R = gsl_matrix_alloc((size_t)D, (size_t)cols);
    if (!e || !r || !A || !tau || !Qf || !R)
        goto fail;
    e->d = d;
    e->D = D;
    e->cols = cols;
    e->m = m;
    e->Q = malloc((size_t)D * cols * sizeof *e->Q);
    if (!e->Q)
        goto fail;
    for (int a = 0; a < D; a++)
        for (int b = 0; b < cols; b++)
            gsl_matrix_set(A, (size_t)a, (size_t)b, gsl_ran_gaussian_ziggurat(r, 1.0));
    if (gsl_linalg_QR_decomp(A, tau) != 0 || gsl_linalg_QR_unpack(A, tau, Qf, R) != 0)
        goto fail;
    /* Sign convention diag(R) > 0 makes Q Haar-distributed and unique. */
    for (int b = 0; b < cols; b++) {
        double sg = gsl_matrix_get(R, (size_t)b, (size_t)b) < 0 ? -1.0 : 1.0;
        for (int a = 0; a < D; a++)
            e->Q[(size_t)a * cols + b] = sg * gsl_matrix_get(Qf, (size_t)a, (size_t)b);
    }
    gsl_rng_free(r);
    gsl_matrix_free(A);
    gsl_vector_free(tau);
    gsl_matrix_free(Qf);
    gsl_matrix_free(R);
    return e;
fail:
    if (r)
        gsl_rng_free(r);
    if (A)
        gsl_matrix_free(A);
    if (tau)
        gsl_vector_free(tau);
    if (Qf)
        gsl_matrix_free(Qf);
    if (R)
        gsl_matrix_free(R);
    synth_embedding_free(e);
    return NULL;
}

void synth_embedding_free(synth_embedding *e)
{
    if (!e)
        return;
    free(e->Q);
    free(e);
}

void synth_embed_point(const synth_embedding *e, const double *z, double *x)
{
    double phi[2 * 64];
    const double *v = z;
    if (e->m == SYNTH_CURVED) {
        double *buf = e->d <= 64 ? phi : malloc((size_t)2 * e->d * sizeof *buf);
        if (!buf) {
            for (int a = 0; a < e->D; a++)
                x[a] = NAN;
            return;
        }
        for (int j = 0; j < e->d; j++) {
            buf[2 * j] = cos(M_PI * z[j]);
            buf[2 * j + 1] = sin(M_PI * z[j]);
        }
        v = buf;
    }
    for (int a = 0; a < e->D; a++) {
        const double *q = e->Q + (size_t)a * e->cols;
        double s = 0;
        for (int b = 0; b < e->cols; b++)
            s += q[b] * v[b];
        x[a] = s;
    }
    if (v != z && v != phi)
        free((void *)v);
}
