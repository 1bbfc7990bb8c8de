/* nn_gru.h — a GRU layer (llm.c style forward/backward pair) over a batch of padded sequences.
 *
 * PyTorch's gate convention, so weights map 1:1 to torch.nn.GRU (weight_ih_l0, weight_hh_l0,
 * bias_ih_l0, bias_hh_l0; gate blocks in the order r, z, n):
 *     r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
 *     z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
 *     n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
 *     h_t = (1 - z_t) * n_t + z_t * h_{t-1}
 * Layout is time-major, as torch.nn.GRU without batch_first: x (T, B, C), so the B rows of one
 * step are contiguous. Sequence b has len[b] <= T valid steps; for t >= len[b] the state is
 * carried unchanged (h_t = h_{t-1}) and those steps get no gradient, so h_T of every row is the
 * state after its last valid input (what pack_padded_sequence gives in PyTorch).
 * The input products of all T steps are one sgemm; the recurrent product is one sgemm per step
 * over the whole batch; the weight gradients are one sgemm each after the backward loop.
 * Weights: w_ih (3H, C), w_hh (3H, H), b_ih (3H), b_hh (3H), stored as torch does.
 * Backward ACCUMULATES (+=) into its gradient outputs (callers zero them), NULL = not needed.
 */
#ifndef NN_GRU_H
#define NN_GRU_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "adam.h"

/* hall (T+1, B, H): on entry hall[0] = h0 (B, H) (zeros for a zero start); on return hall[t] =
 *     h_t for t = 1..T.
 * gates (T, B, 3H) out: r, z, n of every step (0 on padded steps) — the backward needs them.
 * ghn (T, B, H) out: W_hn h_{t-1} + b_hn of every step (the backward needs it for dr).
 * gh (B, 3H) scratch.
 * inp (T, B, C); len (B), each in [0, T]. */
void gru_forward(float *hall, float *gates, float *ghn, float *gh, const float *inp,
                 const float *w_ih, const float *w_hh, const float *b_ih, const float *b_hh,
                 const int *len, int T, int B, int C, int H);

/* dhall (T+1, B, H): gradient of the loss w.r.t. hall[0..T] (row 0, h0's own direct gradient,
 *     is usually 0). It is used as working memory and left modified.
 * dinp (T, B, C) +=, dw_ih (3H, C) +=, dw_hh (3H, H) +=, db_ih (3H) +=, db_hh (3H) +=,
 * dh0 (B, H) += the total gradient w.r.t. h0. Any of them may be NULL.
 * dgi, dgh (T, B, 3H) scratch (gradients of the input and recurrent pre-activations).
 * hall, gates, ghn: as left by gru_forward with the same inp, weights and len. */
void gru_backward(float *dinp, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh, float *dh0,
                  float *dhall, float *dgi, float *dgh, const float *hall, const float *gates,
                  const float *ghn, const float *inp, const float *w_ih, const float *w_hh,
                  const int *len, int T, int B, int C, int H);


/* ---- the sequence encoder of `twotimescale` (est_twotimescale.c) built on the layer ----
 * One GRU (input C, hidden H) and a Linear (H -> P) read-out: the state after the first t
 * interactions of a sequence gives phi_t = W_o h_t + b_o (P); position t (0-based) of the
 * sequence is predicted from the state BEFORE it: pred_t = <phi_t, v_t> + off_t (teacher forcing;
 * v_t the target item's vector, off_t its fixed offset); loss = mean over the valid positions
 * (t < len[b]) of (pred_t - y_t)^2.
 * Parameter layout (one float buffer): w_ih (3H, C), w_hh (3H, H), b_ih (3H), b_hh (3H),
 * w_o (P, H), b_o (P) — torch.nn.GRU's weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, then
 * torch.nn.Linear's weight and bias. */

typedef struct {
    int C, H, P, max_T, max_B;
    size_t n_params;
    float *params, *grads;
    float *w_ih, *w_hh, *b_ih, *b_hh, *w_o, *b_o;         /* views into params */
    float *dw_ih, *dw_hh, *db_ih, *db_hh, *dw_o, *db_o;   /* views into grads */
    adam_state adam;
    /* the batch, filled by the caller (time-major, as the layer) */
    float *x;                 /* (max_T, max_B, C) inputs */
    float *v;                 /* (max_T, max_B, P) target vectors */
    float *off, *y;           /* (max_T, max_B) target offsets and ratings */
    int *len;                 /* (max_B) valid steps per sequence */
    /* state of the last forward */
    float *hall, *gates, *ghn, *gh, *dhall, *dgi, *dgh, *phi, *dphi, *pred;
    long n_valid;
} gru_enc;

/* Allocate for batches of up to max_B sequences of up to max_T steps; NULL when out of memory. */
gru_enc *gru_enc_new(int C, int H, int P, int max_T, int max_B, float lr);
void gru_enc_free(gru_enc *e);
/* PyTorch's default initialisation of nn.GRU and nn.Linear: every parameter ~ U(-1/sqrt(H),
 * 1/sqrt(H)) (H = fan_in of the read-out too), drawn in layout order; resets Adam. */
void gru_enc_init(gru_enc *e, gsl_rng *r);
/* Forward on the batch in e (T steps, B sequences); h0 (B, H) or NULL for zeros. Returns the
 * loss (0 when no position is valid). */
double gru_enc_forward(gru_enc *e, int T, int B, const float *h0);
/* Zero e->grads and backpropagate the loss of the last forward (same T, B). dx (T, B, C) and
 * dh0 (B, H), when not NULL, are zeroed and receive the input and h0 gradients. */
void gru_enc_backward(gru_enc *e, int T, int B, float *dx, float *dh0);
/* forward + backward + Adam (no weight decay); returns the loss before the update. */
double gru_enc_step(gru_enc *e, int T, int B);
/* phi (B, P) of the state after each sequence's len[b] inputs (h0 = 0), from the batch in e
 * (x and len only); overwrites the forward state. */
void gru_enc_encode(gru_enc *e, int T, int B, float *phi);

#endif
