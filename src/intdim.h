/* intdim.h — intrinsic-dimension estimates of a point cloud (SPEC section 4, `t2rec intdim`).
 *
 * Two estimators, both built on exact k-nearest-neighbour distances (brute force: squared
 * distances come from cblas_dgemm in row blocks, candidates are then re-measured exactly):
 *
 *   TwoNN (Facco, d'Errico, Rodriguez & Laio 2017). For every point mu = r2 / r1, the ratio
 *     of its second to its first nearest-neighbour distance. Under local uniformity
 *     F(mu) = 1 - mu^(-d), so -log(1 - F(mu)) = d log(mu). We sort the mu, use the empirical
 *     F(mu_(i)) = i / N, discard the largest 10% (the heavy tail), and fit the line through the
 *     origin by least squares: d = sum(x y) / sum(x x), x = log mu, y = -log(1 - F). This is
 *     the estimator of the paper (not the maximum-likelihood variant N / sum log mu).
 *
 *   Levina-Bickel MLE (2005) with the MacKay-Ghahramani correction. For one point and k
 *     neighbours, 1/m_k(x) = 1/(k-1) sum_{j<k} log(T_k / T_j) (T_j: j-th neighbour distance);
 *     inverses are averaged over the points (which is unbiased for 1/d under a local Poisson
 *     model) and inverted: m_k = 1 / mean(1/m_k(x)). The result is the mean of m_k over
 *     k = k1..k2 (2 <= k1 <= k2 < n); k1 = 10, k2 = 20 is the usual choice.
 *
 * Duplicate points: intdim_twonn and intdim_mle first merge bitwise-identical rows (the
 * estimates are those of the set of distinct points), so a zero distance never produces log(0)
 * or NaN, and a duplicated neighbour never fakes r2 = r1. intdim_knn itself skips neighbours at
 * distance exactly 0 (a point's own duplicates) but does not merge duplicates among the
 * neighbours. Fewer than 3 distinct points (MLE: k2 + 1) is an error.
 *
 * x is row-major n x D. Functions return 0, or -1 with a message in err.
 */
#ifndef INTDIM_H
#define INTDIM_H

#include <stddef.h>

/* dist[i*k + j] = distance from point i to its (j+1)-th nearest distinct neighbour
 * (ascending), or NAN where point i has fewer than j+1 distinct neighbours. */
int intdim_knn(const double *x, int n, int D, int k, double *dist, char *err, size_t errlen);

int intdim_twonn(const double *x, int n, int D, double *d_hat, char *err, size_t errlen);

int intdim_mle(const double *x, int n, int D, int k1, int k2, double *d_hat,
               char *err, size_t errlen);

#endif
