/* retrieve.h — exact top-K retrieval over a whole item catalogue by inner product.
 *
 * Scores users x items in blocks with one sgemm per block (S = U_b V^T) and selects each user's
 * K best items with a bounded heap: O(n_users n_items dim) flops, O(n_items log K) selection.
 * Ranking order: score descending, ties by item id ascending (deterministic). Items listed in a
 * user's exclusion set (e.g. the items the user has in training) are never returned. A user
 * with fewer than K eligible items gets the eligible ones followed by id -1 (score -inf).
 * Library code: no printing; errors are return codes.
 */
#ifndef RETRIEVE_H
#define RETRIEVE_H

#include <stdint.h>

/* Items to exclude per query, CSR: the items of query q are idx[ptr[q] .. ptr[q+1]). */
typedef struct {
    long *ptr;      /* n_queries + 1 */
    int32_t *idx;
    int n_queries;
} retrieve_excl;

/* Exclusion sets of the users us[0..nq) from the pairs (user[k], item[k]), k < n (duplicates
 * are harmless). 0, or -1 when memory ran out (e then holds nothing to free). */
int retrieve_excl_build(retrieve_excl *e, const int32_t *us, int nq, int n_users, long n,
                        const int32_t *user, const int32_t *item);
void retrieve_excl_free(retrieve_excl *e);

/* Top-K lists of queries Q (nq x dim, row-major floats) against items V (ni x dim):
 * top[q K + r] = item of rank r (best first), score[q K + r] its score (score may be NULL).
 * excl may be NULL. block = users per sgemm block (0 = a default that keeps the score block
 * near 8 MB). 0, or -1 when memory ran out or the arguments are invalid (K < 1, dim < 1). */
int retrieve_topk(const float *Q, int nq, const float *V, int ni, int dim, int K,
                  const retrieve_excl *excl, int block, int32_t *top, float *score);

/* The same selection on one precomputed score row sc[0..ni) (excluded items marked by
 * sc = -INFINITY count as ineligible): the K best, best first. */
void retrieve_select(const float *sc, int ni, int K, int32_t *top, float *score);

#endif
