/* adam.h — Adam with decoupled weight decay (AdamW, Loshchilov & Hutter), float32 state.
 *
 * The update is the one of torch.optim.AdamW (so the PyTorch reference can match it step for
 * step): for each parameter slice, with step t (1-based) and gradient g,
 *     p <- p * (1 - lr * wd)                    (decoupled decay; wd = 0 for slices not decayed)
 *     m <- beta1 m + (1 - beta1) g
 *     v <- beta2 v + (1 - beta2) g^2
 *     p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * The bias corrections are computed in double, the rest in float32.
 */
#ifndef ADAM_H
#define ADAM_H

#include <stddef.h>

typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
    long t;            /* steps taken (adam_begin_step increments it) */
    int simd;          /* vector unit of adam_update (set by adam_init: 2 avx512f, 1 avx2, 0 none) */
    size_t n;          /* length of the moment buffers */
    float *m, *v;      /* first and second moments, zero at start */
} adam_state;

/* Allocate zeroed moments for n parameters; betas 0.9, 0.999 and eps 1e-8 as in PyTorch.
 * Returns 0, or -1 on allocation failure. */
int adam_init(adam_state *a, size_t n, float lr, float weight_decay);
void adam_free(adam_state *a);
/* Zero the moments and the step count (a fresh optimiser over the same parameters). */
void adam_reset(adam_state *a);
/* Start a new step (t += 1); call once per step, before the adam_update calls. */
void adam_begin_step(adam_state *a);
/* Update params[0..n) from grads[0..n), using moment slice [off, off + n) of the state.
 * decay = 1 applies the decoupled weight decay to this slice, 0 skips it (biases). */
void adam_update(adam_state *a, float *params, const float *grads, size_t off, size_t n, int decay);

#endif
