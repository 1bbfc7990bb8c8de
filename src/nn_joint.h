/* nn_joint.h — the joint network: one ReLU MLP on the concatenated pair input [x_u, x_i]
 * (optionally with one-hot id blocks: the MLP arm of NCF), scalar output, squared loss.
 *
 * Built from the llm.c-style layers of nn.h (nn_linear_*, nn_relu_*, nn_mse_*) and one new
 * pair, nn_embed_forward / nn_embed_backward: the one-hot id blocks are never materialised;
 * the first layer adds the id's column of the first weight matrix (stored as a row of an
 * embedding table) to the dense part, which is the same function as a Linear layer on
 * [x_u, x_i, onehot(u), onehot(i)].
 *
 * Shapes: dim[0] = C (dense input columns), dim[1..depth] = width, dim[depth+1] = 1.
 *   h0 (B, dim1) = x (B, C) @ W0^T + b0 + Eu[iu] + Ei[ii];  a0 = relu(h0)
 *   h_l (B, dim_{l+1}) = a_{l-1} @ W_l^T + b_l;  a_l = relu(h_l) for l < depth
 *   pred (B) = h_depth (B, 1)
 * Parameter layout (one contiguous float buffer, also the order of the PyTorch reference):
 * W0 (dim1, C), b0 (dim1), W1, b1, ..., W_depth, b_depth, then (ids) Eu (n_uid, dim1) and
 * Ei (n_iid, dim1). An id index < 0 adds nothing (an entity unseen in training: all-zero
 * one-hot). AdamW: decay on the W and the id tables (they are columns of W0), not on b.
 */
#ifndef NN_JOINT_H
#define NN_JOINT_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "adam.h"
#include "nn.h"

/* out (B, OC) += table[idx[b], :] for idx[b] >= 0;  table (N, OC), idx (B). */
void nn_embed_forward(float *out, const float *table, const int32_t *idx, int B, int OC);
/* dtable[idx[b], :] += dout[b, :] for idx[b] >= 0 (scatter-add);  dout (B, OC). */
void nn_embed_backward(float *dtable, const float *dout, const int32_t *idx, int B, int OC);

typedef struct {
    int in_dim, depth, n_layers, n_uid, n_iid, max_batch;
    int dim[NN_MAX_LAYERS + 1];
    int max_dim;
    size_t n_params;
    float *params, *grads;
    float *W[NN_MAX_LAYERS], *b[NN_MAX_LAYERS], *dW[NN_MAX_LAYERS], *db[NN_MAX_LAYERS];
    float *Eu, *Ei, *dEu, *dEi;        /* (n_uid, dim1), (n_iid, dim1); NULL without ids */
    float *x;                          /* (max_batch, in_dim) input, filled by the caller */
    int32_t *iu, *ii;                  /* (max_batch) id rows (ids; -1 = none), by the caller */
    float *h[NN_MAX_LAYERS];           /* (max_batch, dim[l+1]); hidden ones ReLU'd in place */
    float *s1, *s2;                    /* (max_batch, max_dim) backward scratch */
    float *dpred;                      /* (max_batch) */
    adam_state adam;
} nn_joint;

/* n_uid = n_iid = 0: no id blocks. NULL with a message on bad sizes or no memory. */
nn_joint *nn_joint_new(int in_dim, int n_uid, int n_iid, int depth, int width, int max_batch,
                       float lr, float weight_decay, char *err, size_t errlen);
void nn_joint_free(nn_joint *m);
/* PyTorch nn.Linear default on the full input (fan_in = in_dim + n_uid + n_iid for layer 0):
 * W, E and b ~ U(+-1/sqrt(fan_in)); drawn W0, E_u, E_i, b0, then W1, b1, ...; resets Adam. */
void nn_joint_init_torch(nn_joint *m, gsl_rng *r);
/* He-uniform: W, E ~ U(+-sqrt(6 / fan_in)), b = 0, same order; resets Adam. */
void nn_joint_init_he(nn_joint *m, gsl_rng *r);
/* Forward on rows of m->x (and m->iu, m->ii); returns pred (B) (= m->h[depth]); with y not
 * NULL also *loss = MSE. */
const float *nn_joint_forward(nn_joint *m, int B, const float *y, double *loss);
/* Zero the gradients and backpropagate the MSE of the last forward against y. */
void nn_joint_backward(nn_joint *m, int B, const float *y);
/* forward + backward + one AdamW step; returns the loss before the update. */
double nn_joint_step(nn_joint *m, int B, const float *y);
/* Inference without touching the training buffers: out (rows) from x (rows, in_dim) and ids
 * iu, ii (rows; NULL without ids); s1, s2 caller scratch of rows * max_dim floats. */
void nn_joint_infer(const nn_joint *m, const float *x, const int32_t *iu, const int32_t *ii,
                    int rows, float *out, float *s1, float *s2);

#endif
