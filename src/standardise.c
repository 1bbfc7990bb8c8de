/* standardise.c — column means and sds over distinct entities (see standardise.h). */
#include "standardise.h"
#include <math.h>
#include <stdlib.h>

int std_fit(const double *x, int rows, int dim, const int32_t *ent, long n, double *mean,
            double *sd)
{
    char *seen = calloc((size_t)(rows > 0 ? rows : 1), 1);
    if (!seen)
        return -1;
    long cnt = 0;
    for (int c = 0; c < dim; c++)
        mean[c] = sd[c] = 0.0;
    for (long k = 0; k < n; k++) {
        int32_t e = ent[k];
        if (seen[e])
            continue;
        seen[e] = 1;
        cnt++;
        const double *r = x + (size_t)e * dim;
        for (int c = 0; c < dim; c++) {   /* Welford */
            double dlt = r[c] - mean[c];
            mean[c] += dlt / cnt;
            sd[c] += dlt * (r[c] - mean[c]);
        }
    }
    for (int c = 0; c < dim; c++) {
        sd[c] = cnt > 1 ? sqrt(sd[c] / cnt) : 0.0;
        if (!(sd[c] > 1e-12))
            sd[c] = 1.0;
    }
    free(seen);
    return 0;
}
