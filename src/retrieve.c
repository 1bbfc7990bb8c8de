/* retrieve.c — exact top-K retrieval by blocked sgemm and a per-user bounded heap (retrieve.h). */
#include "retrieve.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int retrieve_excl_build(retrieve_excl *e, const int32_t *us, int nq, int n_users, long n,
                        const int32_t *user, const int32_t *item)
{
    memset(e, 0, sizeof *e);
    int *slot = malloc((size_t)(n_users > 0 ? n_users : 1) * sizeof *slot);
    e->ptr = calloc((size_t)nq + 1, sizeof *e->ptr);
    if (!slot || !e->ptr)
        goto oom;
    for (int u = 0; u < n_users; u++)
        slot[u] = -1;
    for (int q = 0; q < nq; q++)
        if (us[q] >= 0 && us[q] < n_users)
            slot[us[q]] = q;
    for (long k = 0; k < n; k++)
        if (user[k] >= 0 && user[k] < n_users && slot[user[k]] >= 0)
            e->ptr[slot[user[k]] + 1]++;
    for (int q = 0; q < nq; q++)
        e->ptr[q + 1] += e->ptr[q];
    /* a user listed twice in us keeps its items in the last slot only; the others are empty */
    e->idx = malloc((size_t)(e->ptr[nq] > 0 ? e->ptr[nq] : 1) * sizeof *e->idx);
    long *fill = malloc((size_t)(nq > 0 ? nq : 1) * sizeof *fill);
    if (!e->idx || !fill) {
        free(fill);
        goto oom;
    }
    memcpy(fill, e->ptr, (size_t)nq * sizeof *fill);
    for (long k = 0; k < n; k++)
        if (user[k] >= 0 && user[k] < n_users && slot[user[k]] >= 0)
            e->idx[fill[slot[user[k]]]++] = item[k];
    for (int q = 0; q < nq; q++)
        qsort(e->idx + e->ptr[q], (size_t)(e->ptr[q + 1] - e->ptr[q]), sizeof *e->idx, cmp_i32);
    free(fill);
    free(slot);
    e->n_queries = nq;
    return 0;
oom:
    free(slot);
    retrieve_excl_free(e);
    return -1;
}

void retrieve_excl_free(retrieve_excl *e)
{
    free(e->ptr);
    free(e->idx);
    memset(e, 0, sizeof *e);
}

/* item i ranks above item j */
static int above(const float *sc, int32_t i, int32_t j)
{
    return sc[i] > sc[j] || (sc[i] == sc[j] && i < j);
}

/* min-heap on rank order: h[0] is the worst of the kept items */
static void sift_down(int32_t *h, int n, int p, const float *sc)
{
    for (;;) {
        int l = 2 * p + 1, r = l + 1, w = p;
        if (l < n && above(sc, h[w], h[l]))
            w = l;
        if (r < n && above(sc, h[w], h[r]))
            w = r;
        if (w == p)
            return;
        int32_t t = h[p];
        h[p] = h[w];
        h[w] = t;
        p = w;
    }
}

static void sift_up(int32_t *h, int c, const float *sc)
{
    while (c > 0) {
        int p = (c - 1) / 2;
        if (!above(sc, h[p], h[c]))
            return;
        int32_t t = h[p];
        h[p] = h[c];
        h[c] = t;
        c = p;
    }
}

void retrieve_select(const float *sc, int ni, int K, int32_t *top, float *score)
{
    /* thr = the score of the worst kept item once K are kept (-inf before): an item must beat
     * it strictly, since ids increase and a tie goes to the lower id (the kept one). The fast
     * path is one compare per item; -inf (excluded) and NaN never pass. */
    int n = 0;
    float thr = -INFINITY;
    for (int32_t i = 0; i < ni; i++) {
        float s = sc[i];
        if (!(s > thr))
            continue;
        if (n < K) {
            top[n++] = i;
            sift_up(top, n - 1, sc);
            if (n == K)
                thr = sc[top[0]];
        } else {
            top[0] = i;
            sift_down(top, K, 0, sc);
            thr = sc[top[0]];
        }
    }
    /* heap sort: repeatedly move the worst to the end */
    for (int m = n - 1; m > 0; m--) {
        int32_t t = top[0];
        top[0] = top[m];
        top[m] = t;
        sift_down(top, m, 0, sc);
    }
    for (int r = 0; r < K; r++) {
        if (r >= n)
            top[r] = -1;
        if (score)
            score[r] = r < n ? sc[top[r]] : -INFINITY;
    }
}

int retrieve_topk(const float *Q, int nq, const float *V, int ni, int dim, int K,
                  const retrieve_excl *excl, int block, int32_t *top, float *score)
{
    if (K < 1 || dim < 1 || nq < 0 || ni < 0 || (excl && excl->n_queries != nq))
        return -1;
    if (nq == 0)
        return 0;
    if (block <= 0) {
        long b = ni > 0 ? (8L << 20) / (4L * ni) : nq;
        block = b < 16 ? 16 : b > 1024 ? 1024 : (int)b;
    }
    if (block > nq)
        block = nq;
    float *S = malloc((size_t)block * (ni > 0 ? ni : 1) * sizeof *S);
    if (!S)
        return -1;
    for (int at = 0; at < nq; at += block) {
        int b = nq - at < block ? nq - at : block;
        if (ni > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, ni, dim, 1.0f,
                        Q + (size_t)at * dim, dim, V, dim, 0.0f, S, ni);
        for (int r = 0; r < b; r++) {
            float *sr = S + (size_t)r * ni;
            int q = at + r;
            if (excl)
                for (long k = excl->ptr[q]; k < excl->ptr[q + 1]; k++)
                    if (excl->idx[k] >= 0 && excl->idx[k] < ni)
                        sr[excl->idx[k]] = -INFINITY;
            retrieve_select(sr, ni, K, top + (size_t)q * K, score ? score + (size_t)q * K : NULL);
        }
    }
    free(S);
    return 0;
}
