/* faiss_c.h — a C interface to two approximate inner-product indexes of Faiss (Debian's
 * libfaiss-dev ships the C++ library without the C API objects): HNSW (IndexHNSWFlat) and IVF
 * (IndexIVFFlat over a flat inner-product quantizer). Errors (C++ exceptions) come back as -1
 * or NULL with a message; nothing is printed.
 */
#ifndef FAISS_C_H
#define FAISS_C_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdint.h>

enum { FAISSC_HNSW = 1, FAISSC_IVF = 2 };

typedef struct faissc_index faissc_index;

/* kind FAISSC_HNSW: a = M (graph degree), b = efConstruction, c = efSearch;
 *      FAISSC_IVF:  a = nlist (clusters), b unused, c = nprobe.
 * The index is built on V (n x dim floats): IVF is trained (k-means) on V first. Faiss's
 * OpenMP threads: nthread (> 0). NULL with err filled on failure. */
faissc_index *faissc_build(int kind, int dim, const float *V, long n, int a, int b, int c,
                           int nthread, char *err, unsigned long errlen);
/* The K best items (inner product, best first) of each of the nq queries Q (nq x dim):
 * ids[q K + r] (-1 when fewer were found), score[q K + r]. 0, or -1 with err filled. */
int faissc_search(const faissc_index *x, const float *Q, long nq, int K, int64_t *ids,
                  float *score, char *err, unsigned long errlen);
void faissc_free(faissc_index *x);

#ifdef __cplusplus
}
#endif

#endif
