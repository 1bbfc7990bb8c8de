/* knn_sim.h — all-pairs similarities of memory-based CF (the `knn` method), by BLAS.
 *
 * The entities compared ("x": users for user-based kNN, items for item-based) are rated on the
 * other side ("y"). For a pair (a, b) only the y both rated count (the co-rated set C_ab,
 * f_ab = |C_ab|), as in Surprise:
 *   cosine            sum r_a r_b / sqrt(sum r_a^2 * sum r_b^2)
 *   msd               1 / (1 + sum (r_a - r_b)^2 / f_ab)
 *   pearson           the sample correlation of r_a and r_b over C_ab (each centred by its
 *                     mean over C_ab); 0 when either is constant there (always when f_ab = 1)
 *   pearson_baseline  sum d_a d_b / sqrt(sum d_a^2 * sum d_b^2) * (f_ab - 1) / (f_ab - 1 +
 *                     shrinkage), with d = r - b the residuals of a baseline (passed in v);
 *                     needs f_ab >= max(2, min_support)
 *   jaccard           f_ab / (n_a + n_b - f_ab), n_a = number of y rated by a (values unused)
 * Every similarity is 0 when f_ab < min_support (pearson_baseline: max(2, min_support)) or a
 * denominator is 0; the diagonal is 1.
 *
 * Kernel: the y are taken in blocks of rows; each block becomes dense B x n_x float matrices
 * M (indicator), R (value), Q (value^2), and the co-rating sums are accumulated as
 *   F += M^T M, P += R^T R (cblas_ssyrk),  S2 += Q^T M, S1 += R^T M (cblas_sgemm),
 * so S2[a][b] = sum over C_ab of r_a^2, S1[a][b] = sum over C_ab of r_a. Only the sums a
 * similarity needs are formed (jaccard: F; cosine, msd, pearson_baseline: F, P, S2; pearson:
 * all four). msd and pearson are invariant to a common shift of the values, so they are
 * computed on v - round(mean v) (exact for integer ratings, smaller sums otherwise).
 * Memory: (number of sums) x n_x^2 floats plus the block (knn_sim_bytes).
 */
#ifndef KNN_SIM_H
#define KNN_SIM_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    KNN_COSINE,
    KNN_MSD,
    KNN_PEARSON,
    KNN_PEARSON_BASELINE,
    KNN_JACCARD
} knn_sim_kind;

/* Ratings grouped by y (CSR): the ratings of y are entries off[y] .. off[y+1), each an x in
 * [0, n_x) and a value. A pair (x, y) present twice counts once (the later value). */
typedef struct {
    int n_x, n_y;
    const long *off;        /* n_y + 1 */
    const int32_t *x;       /* off[n_y] */
    const float *v;         /* off[n_y] */
} knn_csr;

/* The n_x x n_x similarity matrix (row-major, symmetric, malloc'ed; the caller frees), or NULL
 * with a message in err when memory runs out. */
float *knn_similarity(const knn_csr *c, knn_sim_kind kind, int min_support, double shrinkage,
                      char *err, size_t errlen);

/* The similarity of one pair (a, b) from its co-rating sums (doubles): f = |C_ab|, p = sum
 * r_a r_b, sab = sum r_a^2, sba = sum r_b^2, tab = sum r_a, tba = sum r_b (over C_ab), na, nb
 * = the numbers of y rated by a and b (jaccard). Used for k-shot users (est_knn.c). */
double knn_pair_similarity(knn_sim_kind kind, double f, double p, double sab, double sba,
                           double tab, double tba, double na, double nb, int min_support,
                           double shrinkage);

/* Bytes knn_similarity needs at most (sums, result and block) for these sizes. */
double knn_sim_bytes(knn_sim_kind kind, double n_x, double n_y);

#endif
