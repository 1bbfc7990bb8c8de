// faiss_c.cpp — the extern "C" wrapper of faiss_c.h around IndexHNSWFlat and IndexIVFFlat.
#include "faiss_c.h"
#include <cstdio>
#include <exception>
#include <new>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>

/* libgomp (Faiss's OpenMP runtime); declared here so that any C++ compiler builds this file */
extern "C" void omp_set_num_threads(int);

struct faissc_index {
    int kind = 0;
    faiss::IndexFlatIP *quantizer = nullptr;
    faiss::Index *index = nullptr;
    int nthread = 1;
};

extern "C" void faissc_free(faissc_index *x)
{
    if (!x)
        return;
    delete x->index;
    delete x->quantizer;
    delete x;
}

extern "C" faissc_index *faissc_build(int kind, int dim, const float *V, long n, int a, int b,
                                      int c, int nthread, char *err, unsigned long errlen)
{
    faissc_index *x = nullptr;
    try {
        x = new faissc_index;
        x->kind = kind;
        x->nthread = nthread > 0 ? nthread : 1;
        omp_set_num_threads(x->nthread);
        if (kind == FAISSC_HNSW) {
            auto *h = new faiss::IndexHNSWFlat(dim, a, faiss::METRIC_INNER_PRODUCT);
            x->index = h;
            h->hnsw.efConstruction = b;
            h->hnsw.efSearch = c;
            h->add(n, V);
        } else if (kind == FAISSC_IVF) {
            x->quantizer = new faiss::IndexFlatIP(dim);
            int nlist = a < n ? a : (int)n;
            auto *v = new faiss::IndexIVFFlat(x->quantizer, dim, nlist < 1 ? 1 : nlist,
                                              faiss::METRIC_INNER_PRODUCT);
            x->index = v;
            v->cp.verbose = false;
            v->verbose = false;
            v->train(n, V);
            v->add(n, V);
            v->nprobe = c;
        } else {
            std::snprintf(err, errlen, "faiss: unknown index kind %d", kind);
            faissc_free(x);
            return nullptr;
        }
        return x;
    } catch (const std::bad_alloc &) {
        std::snprintf(err, errlen, "out of memory (faiss index)");
    } catch (const std::exception &e) {
        std::snprintf(err, errlen, "faiss: %s", e.what());
    }
    faissc_free(x);
    return nullptr;
}

extern "C" int faissc_search(const faissc_index *x, const float *Q, long nq, int K, int64_t *ids,
                             float *score, char *err, unsigned long errlen)
{
    try {
        omp_set_num_threads(x->nthread);
        static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "faiss idx_t is 64-bit");
        x->index->search(nq, Q, K, score, reinterpret_cast<faiss::Index::idx_t *>(ids));
        return 0;
    } catch (const std::bad_alloc &) {
        std::snprintf(err, errlen, "out of memory (faiss search)");
    } catch (const std::exception &e) {
        std::snprintf(err, errlen, "faiss: %s", e.what());
    }
    return -1;
}
