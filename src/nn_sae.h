/* nn_sae.h — CompresSAE (Kasalický et al., RecSys 2025): a sparse autoencoder that turns a
 * dense embedding into a k-sparse code in a wider space, llm.c-style forward/backward with the
 * shapes in the comments.
 *
 * Model, for an input x in R^d (L2-normalised by the caller: xn = x / |x|):
 *     a     (s)    = We (s, d) @ xn + be (s)            affine encoder to s >= d dimensions
 *     z_k   (s)    = a * M_k(a)                         signed top-k: M_k keeps the k entries of
 *                                                       largest |a| (signs kept, no ReLU)
 *     xh_k  (d)    = D^T (d, s) @ z_k = sum_j z_k[j] D[j]   bias-free linear decoder; D (s, d)
 *                                                       holds one unit-norm ATOM per row (the
 *                                                       columns of torch's Linear(s, d).weight)
 *     loss         = (1 - cos(xn, xh_k)) + (1 - cos(xn, xh_4k)) / 8,  4k capped at s
 * averaged over a batch. After every Adam step (adam.c, no weight decay) each row of D is
 * rescaled to unit norm. Ties in the top-k are broken by the lower index.
 * The loss is scale-invariant in xh, so a code carries a direction; callers that need the
 * input's length store it beside the code (est_compress.c).
 */
#ifndef NN_SAE_H
#define NN_SAE_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "adam.h"

typedef struct {
    int d, s, k, k4;          /* input dim, latent dim, top-k, min(4k, s) */
    int cap;                  /* largest batch the buffers hold */
    size_t n_params;          /* s d + s + s d */
    float *params, *grads;    /* [We (s, d) | be (s) | D (s, d)] */
    float *We, *be, *D;       /* views into params */
    float *gWe, *gbe, *gD;    /* views into grads */
    adam_state opt;
    int freeze_mask;          /* 1: forward reuses the masks of the previous forward (gradient
                                 checks hold the top-k selection fixed) */
    /* activations of the last forward, batch B <= cap */
    float *a;                 /* (B, s) pre-activations */
    unsigned char *mk, *m4;   /* (B, s) top-k and top-4k masks */
    float *yk, *y4;           /* (B, d) reconstructions from k and 4k entries */
    float *gy, *gz, *ga, *z;  /* scratch: (B, d), (B, s), (B, s), (B, s) */
    int *heap;                /* (k4) selection scratch */
} nn_sae;

/* NULL with a message when memory runs out or the sizes are invalid (1 <= k <= s, d >= 1). */
nn_sae *nn_sae_new(int d, int s, int k, int cap, float lr, char *err, size_t errlen);
void nn_sae_free(nn_sae *m);
/* Initialisation: D rows Gaussian then unit norm; We = D (tied start, scaled by 1); be = 0. */
void nn_sae_init(nn_sae *m, gsl_rng *rng);
/* Rescale every row of D to unit norm (rows of norm 0 are left alone). */
void nn_sae_renorm(nn_sae *m);

/* Forward on X (B, d) (rows L2-normalised): fills a, masks, yk, y4; returns the mean loss. */
double nn_sae_forward(nn_sae *m, const float *X, int B);
/* Backward of the last forward: grads = d(mean loss)/d params (overwritten, not accumulated). */
void nn_sae_backward(nn_sae *m, const float *X, int B);
/* forward + backward + Adam step + renorm; returns the batch loss before the step. */
double nn_sae_step(nn_sae *m, const float *X, int B);

/* A standard normal draw (Box-Muller on gsl_rng_uniform_pos; gsl_randist.h clashes with
 * OpenBLAS's cblas.h). */
double nn_sae_gauss(gsl_rng *rng);

/* The signed top-kk of a (s): idx (kk, ascending index order) and val; kk <= m->k4. */
void nn_sae_topk(nn_sae *m, const float *a, int kk, int32_t *idx, float *val);
/* The k-sparse code of one L2-normalised input x (d): idx (k) ascending, val (k). */
void nn_sae_encode(nn_sae *m, const float *x, int32_t *idx, float *val);

#endif
