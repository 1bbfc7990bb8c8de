/* adam.c — AdamW update (see adam.h for the exact formula it follows). */
#include "adam.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int adam_init(adam_state *a, size_t n, float lr, float weight_decay)
{
    memset(a, 0, sizeof *a);
    a->lr = lr;
    a->beta1 = 0.9f;
    a->beta2 = 0.999f;
    a->eps = 1e-8f;
    a->weight_decay = weight_decay;
    a->n = n;
    a->m = calloc(n ? n : 1, sizeof *a->m);
    a->v = calloc(n ? n : 1, sizeof *a->v);
    if (!a->m || !a->v) {
        adam_free(a);
        return -1;
    }
    return 0;
}

void adam_free(adam_state *a)
{
    free(a->m);
    free(a->v);
    a->m = a->v = NULL;
    a->n = 0;
}

void adam_reset(adam_state *a)
{
    a->t = 0;
    if (a->n) {
        memset(a->m, 0, a->n * sizeof *a->m);
        memset(a->v, 0, a->n * sizeof *a->v);
    }
}

void adam_begin_step(adam_state *a)
{
    a->t++;
}

void adam_update(adam_state *a, float *params, const float *grads, size_t off, size_t n, int decay)
{
    double bc1 = 1.0 - pow((double)a->beta1, (double)a->t);
    double bc2 = 1.0 - pow((double)a->beta2, (double)a->t);
    float step = (float)(a->lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float shrink = decay ? 1.0f - a->lr * a->weight_decay : 1.0f;
    float b1 = a->beta1, b2 = a->beta2, eps = a->eps;
    float *m = a->m + off, *v = a->v + off;
    for (size_t k = 0; k < n; k++) {
        float g = grads[k];
        float p = params[k] * shrink;
        m[k] = b1 * m[k] + (1.0f - b1) * g;
        v[k] = b2 * v[k] + (1.0f - b2) * g * g;
        float denom = sqrtf(v[k]) / bc2_sqrt + eps;
        params[k] = p - step * (m[k] / denom);
    }
}
