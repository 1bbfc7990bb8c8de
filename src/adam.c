/* adam.c — AdamW update (see adam.h for the exact formula it follows). */
#include "adam.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The vector unit adam_update uses: 2 avx512f, 1 avx2, 0 scalar. Asked once per optimiser (in
 * adam_init, no shared state): a function-level static cache here was written by every thread
 * that trained a model at the same time, a data race. */
static int simd_level(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

int adam_init(adam_state *a, size_t n, float lr, float weight_decay)
{
    memset(a, 0, sizeof *a);
    a->lr = lr;
    a->beta1 = 0.9f;
    a->beta2 = 0.999f;
    a->eps = 1e-8f;
    a->weight_decay = weight_decay;
    a->simd = simd_level();
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

/* The update loop, vectorised by hand (GCC will not vectorise sqrtf under the default
 * -fmath-errno): AVX-512 and AVX2 versions chosen at run time, scalar otherwise. Every version
 * performs the same IEEE operations in the same order (separate multiplies and adds, no FMA;
 * correctly rounded sqrt and division), so the results are bitwise those of the scalar loop. */
typedef struct {
    float shrink, b1, b1c, b2, b2c, step, bc2s, eps;
} adam_coef;

static void adam_scalar(float *p, const float *g, float *m, float *v, size_t k, size_t n,
                        const adam_coef *c)
{
    for (; k < n; k++) {
        float gk = g[k];
        float pk = p[k] * c->shrink;
        m[k] = c->b1 * m[k] + c->b1c * gk;
        v[k] = c->b2 * v[k] + c->b2c * gk * gk;
        float denom = sqrtf(v[k]) / c->bc2s + c->eps;
        p[k] = pk - c->step * (m[k] / denom);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ADAM_SIMD 1
__attribute__((target("avx512f"))) static void adam_avx512(float *p, const float *g, float *m,
                                                           float *v, size_t n, const adam_coef *c)
{
    __m512 shrink = _mm512_set1_ps(c->shrink), b1 = _mm512_set1_ps(c->b1), b1c = _mm512_set1_ps(c->b1c);
    __m512 b2 = _mm512_set1_ps(c->b2), b2c = _mm512_set1_ps(c->b2c), step = _mm512_set1_ps(c->step);
    __m512 bc2s = _mm512_set1_ps(c->bc2s), eps = _mm512_set1_ps(c->eps);
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 gk = _mm512_loadu_ps(g + k);
        __m512 pk = _mm512_mul_ps(_mm512_loadu_ps(p + k), shrink);
        __m512 mk = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(m + k)), _mm512_mul_ps(b1c, gk));
        __m512 vk = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_loadu_ps(v + k)),
                                  _mm512_mul_ps(_mm512_mul_ps(b2c, gk), gk));
        _mm512_storeu_ps(m + k, mk);
        _mm512_storeu_ps(v + k, vk);
        __m512 den = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vk), bc2s), eps);
        _mm512_storeu_ps(p + k, _mm512_sub_ps(pk, _mm512_mul_ps(step, _mm512_div_ps(mk, den))));
    }
    adam_scalar(p, g, m, v, k, n, c);
}

__attribute__((target("avx2"))) static void adam_avx2(float *p, const float *g, float *m, float *v,
                                                      size_t n, const adam_coef *c)
{
    __m256 shrink = _mm256_set1_ps(c->shrink), b1 = _mm256_set1_ps(c->b1), b1c = _mm256_set1_ps(c->b1c);
    __m256 b2 = _mm256_set1_ps(c->b2), b2c = _mm256_set1_ps(c->b2c), step = _mm256_set1_ps(c->step);
    __m256 bc2s = _mm256_set1_ps(c->bc2s), eps = _mm256_set1_ps(c->eps);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 gk = _mm256_loadu_ps(g + k);
        __m256 pk = _mm256_mul_ps(_mm256_loadu_ps(p + k), shrink);
        __m256 mk = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + k)), _mm256_mul_ps(b1c, gk));
        __m256 vk = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + k)),
                                  _mm256_mul_ps(_mm256_mul_ps(b2c, gk), gk));
        _mm256_storeu_ps(m + k, mk);
        _mm256_storeu_ps(v + k, vk);
        __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vk), bc2s), eps);
        _mm256_storeu_ps(p + k, _mm256_sub_ps(pk, _mm256_mul_ps(step, _mm256_div_ps(mk, den))));
    }
    adam_scalar(p, g, m, v, k, n, c);
}
#endif

void adam_update(adam_state *a, float *params, const float *grads, size_t off, size_t n, int decay)
{
    double bc1 = 1.0 - pow((double)a->beta1, (double)a->t);
    double bc2 = 1.0 - pow((double)a->beta2, (double)a->t);
    adam_coef c = {decay ? 1.0f - a->lr * a->weight_decay : 1.0f, a->beta1, 1.0f - a->beta1,
                   a->beta2, 1.0f - a->beta2, (float)(a->lr / bc1), (float)sqrt(bc2), a->eps};
    float *m = a->m + off, *v = a->v + off;
#ifdef ADAM_SIMD
    int level = a->simd;
    if (level == 2) {
        adam_avx512(params, grads, m, v, n, &c);
        return;
    }
    if (level == 1) {
        adam_avx2(params, grads, m, v, n, &c);
        return;
    }
#endif
    adam_scalar(params, grads, m, v, 0, n, &c);
}
