/* nn_autorec.h — the AutoRec network (Sedhain et al. 2015) on sparse rating vectors, used by
 * src/est_autorec.c, and the sparse layers it is built from (llm.c-style forward/backward pairs,
 * shapes in the comments; backward functions ACCUMULATE into their gradient outputs).
 *
 * A rating vector r in R^D is mostly empty (MovieLens 100K: 6% of the entries of an item's
 * vector over users are observed), and AutoRec's loss only looks at the observed entries. So
 * instead of dense (B, D) matrices, a batch is a list of rows of a CSR matrix (nn_csr_batch),
 * the encoder is a sparse-times-dense product and the decoder is evaluated only at the batch's
 * observed entries (a sampled dense-dense product): the same function and the same gradients as
 * the dense network, with work proportional to the observed entries instead of B x D.
 */
#ifndef NN_AUTOREC_H
#define NN_AUTOREC_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "adam.h"

/* A batch of n sparse rows: row r is vector v = rows[r] (rows NULL: v = r) of a CSR matrix; its
 * entries are k in [ptr[v], ptr[v+1]): column col[k] (0 <= col < D), value val[k]. The batch's
 * entries, in batch order (row by row, CSR order within a row), are numbered e = 0 .. nnz-1;
 * entry e of row r is k = ptr[v] + (e - off[r]), off (n + 1) from nn_csr_offsets. */
typedef struct {
    int n;
    const int32_t *rows;
    const long *ptr;
    const int32_t *col;
    const float *val;
    const long *off;        /* (n + 1) batch-order offsets of the rows; filled by nn_csr_offsets */
} nn_csr_batch;

/* off (n + 1): off[0] = 0, off[r + 1] = off[r] + entries of row r; returns nnz = off[n]. */
long nn_csr_offsets(long *off, const nn_csr_batch *x);

/* ---- sparse layers ---- */

/* out (n, H) = X (n, D) @ W (D, H) + b (H):  out[r] = b + sum_k val[k] W[col[k]]. */
void nn_spmm_forward(float *out, const nn_csr_batch *x, const float *W, const float *b, int H);
/* dW (D, H) += X^T @ dout (n, H);  db (H) += column sums of dout (b may be NULL). No input
 * gradient: X is data. */
void nn_spmm_backward(float *dW, float *db, const float *dout, const nn_csr_batch *x, int H);
/* The dense layer inp (n, H) @ W^T (H, D) + b (D), evaluated only at the batch's entries:
 * out[e] (nnz) = <inp[r], W[col[k]]> + b[col[k]] for entry e = (r, k). W is (D, H) (the
 * torch.nn.Linear(H, D) weight layout). */
void nn_sddmm_forward(float *out, const float *inp, const float *W, const float *b,
                      const nn_csr_batch *x, int H);
/* dinp[r] += dout[e] W[col[k]];  dW[col[k]] += dout[e] inp[r];  db[col[k]] += dout[e]. */
void nn_sddmm_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                       const float *W, const nn_csr_batch *x, int H);

/* ---- elementwise layers and losses ---- */

/* out (N) = 1 / (1 + exp(-inp)); out may equal inp. */
void nn_sigmoid_forward(float *out, const float *inp, long N);
/* dinp (N) += dout * out * (1 - out), out the forward OUTPUT (dinp != dout). */
void nn_sigmoid_backward(float *dinp, const float *out, const float *dout, long N);
/* sum_e (pred[e] - val of entry e)^2 over the batch's entries, accumulated in double. */
double nn_csr_sse_forward(const float *pred, const nn_csr_batch *x);
/* dpred[e] += scale * 2 (pred[e] - val of entry e). */
void nn_csr_sse_backward(float *dpred, const float *pred, const nn_csr_batch *x, float scale);
/* Sum of squares sum_k w[k]^2 (the L2 penalty), accumulated in double. */
double nn_sumsq_forward(const float *w, long N);
/* dw (N) += scale * 2 w. */
void nn_sumsq_backward(float *dw, const float *w, float scale, long N);

/* ---- the network ----
 *     out(r) = W2^T sigmoid(W1^T r + b1) + b2,   W1 (D, H), b1 (H), W2 (D, H), b2 (D)
 * i.e. torch's Linear(D, H) then Linear(H, D), with the ENCODER weight stored transposed
 * (W1[c * H + h] = torch's enc.weight[h, c]: input c's column is contiguous for the sparse
 * product) and the decoder weight in torch's layout (W2[c * H + h] = dec.weight[c, h]). The
 * parameter buffer holds W1 b1 W2 b2 in that order. The loss of a batch is
 *     data_scale * sum over the batch's entries (out_r[col] - val)^2
 *       + reg_scale * (||W1||_F^2 + ||W2||_F^2)                       (biases not penalised)
 * the caller choosing the two scales (est_autorec.c: data_scale = n_vectors / (B N),
 * reg_scale = reg / (2 N), N the training ratings). Adam without decoupled decay (the L2 term is
 * part of the loss, as in the paper's objective). */
typedef struct {
    int in_dim, hidden, max_batch;
    long max_nnz;
    size_t n_params;
    float *params, *grads;
    float *W1, *b1, *W2, *b2;          /* views into params */
    float *dW1, *db1, *dW2, *db2;      /* views into grads */
    adam_state adam;
    long *off;                         /* (max_batch + 1) batch offsets */
    float *a1, *da1, *dz1;             /* (max_batch, H) hidden activations and their gradients */
    float *out, *dout;                 /* (max_nnz) decoder outputs at the batch's entries */
} nn_autorec;

/* max_nnz: the most entries a batch will hold (the training ratings, for a full batch). */
nn_autorec *nn_autorec_new(int in_dim, int hidden, int max_batch, long max_nnz, float lr,
                           char *err, size_t errlen);
void nn_autorec_free(nn_autorec *m);
/* Glorot (Xavier) uniform W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)), drawn in torch's
 * layout order (enc.weight row by row, then dec.weight); biases 0; resets Adam. */
void nn_autorec_init(nn_autorec *m, gsl_rng *r);
/* Forward on batch x (x->n <= max_batch, its entries <= max_nnz; x->off filled): hidden
 * activations in m->a1, outputs at the entries in m->out; returns the loss. */
double nn_autorec_forward(nn_autorec *m, const nn_csr_batch *x, double data_scale,
                          double reg_scale);
/* Zero the gradients and backpropagate the loss of the last forward (same arguments). */
void nn_autorec_backward(nn_autorec *m, const nn_csr_batch *x, double data_scale,
                         double reg_scale);
/* forward + backward + one Adam step on all parameters; returns the loss before the update. */
double nn_autorec_step(nn_autorec *m, const nn_csr_batch *x, double data_scale,
                       double reg_scale);
/* Inference without touching the training buffers: hid (x->n, H) = the hidden activations of
 * the rows of x. */
void nn_autorec_encode(const nn_autorec *m, const nn_csr_batch *x, float *hid);
/* The reconstruction of entry c from a row's hidden activations hid (H). */
float nn_autorec_decode_one(const nn_autorec *m, const float *hid, int c);

/* The parameters in torch layout (enc.weight (H, D), enc.bias, dec.weight (D, H), dec.bias),
 * e.g. for a comparison with PyTorch: out (n_params) from p (n_params, this module's layout),
 * and back. */
void nn_autorec_to_torch(const nn_autorec *m, const float *p, float *out);
void nn_autorec_from_torch(const nn_autorec *m, const float *t, float *p);

#endif
