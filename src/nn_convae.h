/* nn_convae.h — the implicit + explicit autoencoder (our reading of Ledent, Kasalický, Alves,
 * Lauw, TNNLS 2025): one user's row over the M items, one CHANNEL per rating level plus
 * "observed", mixed by a 1 x 1 convolution shared across items, an AutoRec-like encoder /
 * decoder with item-specific weights, and two heads shared across items (1 x 1 convolutions
 * back from the C channels): P(observe) and P(rating = r | observed). llm.c style: forward and
 * backward written out, shapes in the comments; one user at a time (sparse: work is
 * proportional to the observed entries and the sampled unobserved ones).
 *
 * For a user with observed items O (item i rated r_i in 1..L) and sampled unobserved items N:
 *   x_i   (L+1)  = onehot(r_i) | 1                   input channels of item i (0 for i not in O)
 *   c_i   (C)    = Wc (C, L+1) @ x_i                 1x1 conv (= Wc[:, r_i - 1] + Wc[:, L])
 *   h     (H)    = sigmoid(be + sum_{i in O} E_i (H, C) @ c_i)     encoder; E_i row block i
 *   y_j   (C)    = D_j (C, H) @ h + dd_j             decoder, at j in O and N only
 *   o_j          = wo (C) . y_j + bo                 head 1: logit of P(observe j)
 *   l_j   (L)    = Wr (L, C) @ y_j + br              head 2: logits of P(r | observed)
 * loss of a batch = [ sum_{j in O} (-log sig(o_j) - log softmax(l_j)[r_j - 1])
 *                   + w_neg sum_{j in N} -log(1 - sig(o_j)) ] / (observed entries in batch)
 * E and D are stored (M C, H): row i C + c holds E_i[:, c] (resp. D_j[c, :]).
 */
#ifndef NN_CONVAE_H
#define NN_CONVAE_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "adam.h"

typedef struct {
    int M, L, C, H;            /* items, rating levels, channels, hidden units */
    size_t n_params;
    float *params, *grads;     /* [Wc | E | be | D | dd | wo | bo | Wr | br] */
    float *Wc, *E, *be, *D, *dd, *wo, *bo, *Wr, *br;
    float *gWc, *gE, *gbe, *gD, *gdd, *gwo, *gbo, *gWr, *gbr;
    adam_state opt;
    float *h, *dh, *y, *dy;    /* scratch: (H), (H), (C), (C) */
} nn_convae;

/* One user's row: n_obs observed (item, rating level 1..L), n_neg sampled unobserved items. */
typedef struct {
    int n_obs, n_neg;
    const int32_t *obs_item;
    const int8_t *obs_level;
    const int32_t *neg_item;
} nn_convae_row;

nn_convae *nn_convae_new(int M, int L, int C, int H, float lr, float weight_decay, char *err,
                         size_t errlen);
void nn_convae_free(nn_convae *m);
/* Glorot-uniform weights (Wc, E, D, wo, Wr), zero biases. */
void nn_convae_init(nn_convae *m, gsl_rng *rng);

/* h (H) of a row (its observed part only). */
void nn_convae_encode(const nn_convae *m, const nn_convae_row *r, float *h);
/* For item j given h: *p_obs = P(observe j), p_r (L) = P(rating = level | observed). */
void nn_convae_heads(const nn_convae *m, const float *h, int j, double *p_obs, double *p_r);

/* Sum of the row losses of rows[0..n) (unnormalised, w_neg on the negatives); when grads is
 * nonzero, grads += d(sum / scale)/d params (zero them first with nn_convae_zero_grad). */
double nn_convae_rows(nn_convae *m, const nn_convae_row *rows, int n, double w_neg,
                      double scale, int grads);
void nn_convae_zero_grad(nn_convae *m);
/* zero_grad + rows (scale = observed entries of the batch) + AdamW step (decay on Wc, E, D,
 * wo, Wr); returns the mean loss per observed entry before the step. */
double nn_convae_step(nn_convae *m, const nn_convae_row *rows, int n, double w_neg);

#endif
