/* nn.h — the layers of the two-tower network, llm.c style, and the two-tower model built on them.
 *
 * Layers are X_forward / X_backward pairs on plain row-major float32 arrays. Backward functions
 * ACCUMULATE (+=) into their gradient outputs (as in llm.c; nn_relu_backward excepted), so
 * callers zero them first; a NULL
 * gradient pointer means "not needed". All dense work goes through cblas_sgemm (OpenBLAS).
 * Linear weights are stored (OC, C), as torch.nn.Linear does, so weights can be exchanged with
 * PyTorch unchanged.
 *
 * The two-tower model (nn_twotower): a user tower f and an item tower g, each `depth` hidden
 * Linear+ReLU layers of `width` units and a final Linear layer to `embed_dim` outputs; the
 * prediction for a pair is <f(x_u), g(x_i)>; the loss is the mean squared error over the batch.
 * A batch is given as its DISTINCT users (nu rows of user inputs) and items (ni rows) and, per
 * pair b, the local row indices pu[b] < nu, pi[b] < ni: each entity goes through its tower once,
 * and the dot-product backward scatter-adds the gradients of repeated entities.
 *
 * Parameter layout (one contiguous float buffer, the order used by the PyTorch reference):
 * user tower W0 (dim1 x dim0), b0 (dim1), W1, b1, ..., W_depth, b_depth, then the item tower
 * in the same order. dim0 = input columns, dim1..dim_depth = width, dim_{depth+1} = embed_dim.
 */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "adam.h"

#define NN_MAX_DEPTH 16                    /* hidden layers per tower at most */
#define NN_MAX_LAYERS (NN_MAX_DEPTH + 1)   /* linear layers per tower at most */

/* ---- layers ---- */

/* out (B, OC) = inp (B, C) @ w^T + b;  w (OC, C), b (OC) or NULL. */
void nn_linear_forward(float *out, const float *inp, const float *w, const float *b,
                       int B, int C, int OC);
/* dinp (B, C) += dout (B, OC) @ w;  dw (OC, C) += dout^T @ inp;  db (OC) += column sums of dout.
 * inp (B, C), w (OC, C). Any of dinp, dw, db may be NULL. */
void nn_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int B, int C, int OC);
/* out (N) = max(inp, 0); out may equal inp. */
void nn_relu_forward(float *out, const float *inp, long N);
/* dinp (N) = dout * [out > 0], out the forward OUTPUT (N). The one layer that OVERWRITES its
 * gradient instead of accumulating, so that it can mask in place (dinp may equal dout). */
void nn_relu_backward(float *dinp, const float *out, const float *dout, long N);
/* out (B) = sum_p fu[pu[b], p] * gi[pi[b], p];  fu (nu, P), gi (ni, P), pu/pi (B). */
void nn_dot_forward(float *out, const float *fu, const float *gi, const int32_t *pu,
                    const int32_t *pi, int B, int P);
/* dfu[pu[b], :] += dout[b] gi[pi[b], :];  dgi[pi[b], :] += dout[b] fu[pu[b], :] (scatter-add). */
void nn_dot_backward(float *dfu, float *dgi, const float *dout, const float *fu, const float *gi,
                     const int32_t *pu, const int32_t *pi, int B, int P);
/* Mean squared error (1/B) sum_b (pred[b] - target[b])^2, accumulated in double. */
double nn_mse_forward(const float *pred, const float *target, int B);
/* dpred (B) += 2 (pred - target) / B. */
void nn_mse_backward(float *dpred, const float *pred, const float *target, int B);

/* ---- one tower ---- */
typedef struct {
    int depth;                        /* hidden ReLU layers */
    int n_layers;                     /* depth + 1 linear layers */
    int dim[NN_MAX_LAYERS + 1];       /* dim[0] input, dim[n_layers] output */
    int max_dim;                      /* largest dim[] */
    int max_rows;                     /* rows the activation buffers hold */
    size_t off;                       /* offset of this tower in the model's parameter buffer */
    size_t n_params;
    float *W[NN_MAX_LAYERS], *b[NN_MAX_LAYERS];      /* views into the parameter buffer */
    float *dW[NN_MAX_LAYERS], *db[NN_MAX_LAYERS];    /* views into the gradient buffer */
    float *x;                         /* (max_rows, dim[0]) input, filled by the caller */
    float *h[NN_MAX_LAYERS];          /* (max_rows, dim[l+1]) linear outputs (hidden layers:
                                         overwritten by their ReLU, in place) */
    float *a[NN_MAX_LAYERS];          /* ReLU outputs of hidden layers: a[l] == h[l] */
    float *s1, *s2;                   /* (max_rows, max_dim) backward scratch */
} nn_tower;

/* Forward on rows of t->x; returns the output (rows, dim[n_layers]) (= t->h[n_layers-1]). */
float *nn_tower_forward(nn_tower *t, int rows);
/* Backward from dout (rows, out_dim) into t->dW, t->db (accumulating); needs the forward state. */
void nn_tower_backward(nn_tower *t, int rows, const float *dout);
/* Inference without touching the tower's buffers: out (rows, out_dim) from x (rows, dim[0]);
 * s1, s2 are caller scratch of rows * max_dim floats each. */
void nn_tower_infer(const nn_tower *t, const float *x, int rows, float *out, float *s1, float *s2);

/* ---- the two-tower model ---- */
typedef struct {
    int user_dim, item_dim, depth, width, embed_dim;
    int max_rows, max_batch;
    nn_tower tower[2];                /* 0 = user, 1 = item */
    size_t n_params;
    float *params, *grads;            /* layout in the header comment */
    adam_state adam;
    float *pred, *dpred;              /* (max_batch) */
    float *dfu, *dgi;                 /* (max_rows, embed_dim) */
    float *pred2, *dpred2;            /* (max_batch) item-side scratch of nn_twotower_tower_step */
    long side_t[2];                   /* Adam steps each tower took alone (nn_twotower_tower_step) */
    int threads;                      /* 1, or 2 (nn_twotower_set_threads) */
    struct nn_worker *worker;         /* the helper thread when threads == 2 */
} nn_twotower;

/* Allocate everything a fit needs (no allocation happens per batch afterwards). max_rows bounds
 * the distinct users (items) of a batch, max_batch its pairs. Returns NULL with a message. */
nn_twotower *nn_twotower_new(int user_dim, int item_dim, int depth, int width, int embed_dim,
                             int max_rows, int max_batch, float lr, float weight_decay,
                             char *err, size_t errlen);
void nn_twotower_free(nn_twotower *m);
/* He (Kaiming) initialisation, uniform form: W ~ U(-sqrt(6/fan_in), sqrt(6/fan_in)), variance
 * 2 / fan_in, drawn in layout order; b = 0; resets Adam. (Uniform, not Gaussian: gsl_randist.h
 * cannot be included next to OpenBLAS's cblas.h, and only the variance matters for He.) */
void nn_twotower_init_he(nn_twotower *m, gsl_rng *r);
/* PyTorch's default nn.Linear initialisation (kaiming_uniform(a = sqrt(5))): every weight and
 * bias of a layer with fan_in inputs ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the output layer's
 * scaled by out_scale; drawn layer by layer in layout order (W then b); resets Adam. The weights
 * have variance 1 / (3 fan_in), a sixth of He's, so the initial <f, g> is small against ratings
 * of sd ~1 (docs/theory.md, "Initialisation and training budget"). */
void nn_twotower_init_torch(nn_twotower *m, gsl_rng *r, double out_scale);
/* Inputs of the distinct users / items of the next batch: (max_rows, user_dim) / (.., item_dim). */
static inline float *nn_twotower_user_x(nn_twotower *m) { return m->tower[0].x; }
static inline float *nn_twotower_item_x(nn_twotower *m) { return m->tower[1].x; }
/* Forward: predictions into m->pred and, if y is not NULL, the returned loss (else 0). */
double nn_twotower_forward(nn_twotower *m, int nu, int ni, int B, const int32_t *pu,
                           const int32_t *pi, const float *y);
/* Zero the gradients and backpropagate the loss of the last forward (same arguments). */
void nn_twotower_backward(nn_twotower *m, int nu, int ni, int B, const int32_t *pu,
                          const int32_t *pi, const float *y);
/* One training step: forward, backward, AdamW update (weight decay on W, not on b).
 * Returns the loss before the update. */
double nn_twotower_step(nn_twotower *m, int nu, int ni, int B, const int32_t *pu,
                        const int32_t *pi, const float *y);

/* Two threads: with threads = 2 a helper thread is started, and nn_twotower_step runs the item
 * tower (forward, backward, its AdamW update) on it while the calling thread does the user
 * tower; the numbers are bitwise those of threads = 1, as each tower's work is unchanged.
 * OpenBLAS's thread count is process-wide and not touched here: callers set it to 1 for
 * threads = 2 (est_twotower.c does and restores it). threads = 1 stops the helper.
 * Returns 0, or -1 with a message when the thread cannot be started. */
int nn_twotower_set_threads(nn_twotower *m, int threads, char *err, size_t errlen);
/* Run fa(a) on the calling thread and, at the same time, fb(b) on the helper thread (in turn on
 * the calling thread when there is none); returns when both are done. */
void nn_twotower_run2(nn_twotower *m, void (*fa)(void *), void *a, void (*fb)(void *), void *b);
/* One training step of ONE tower (side 0 user, 1 item) against fixed embeddings of the other
 * side (the alternating schedule): the tower's input rows are t->x[0..rows); pair b predicts
 * <out[prow[b]], E[eidx[b]]> (E (*, embed_dim), e.g. all item embeddings, indexed by entity),
 * squared loss against y[b]; backward and AdamW update of this tower only, with its own step
 * count side_t[side] for the bias corrections. The two sides use disjoint buffers, so a user
 * step and an item step may run at the same time (nn_twotower_run2). Returns the loss. */
double nn_twotower_tower_step(nn_twotower *m, int side, int rows, int B, const int32_t *prow,
                              const float *E, const int32_t *eidx, const float *y);

#endif
