/* standardise.h — covariate standardisation shared by the networks on covariates (twotower,
 * joint): column means and sds over the distinct entities of the training pairs. */
#ifndef STANDARDISE_H
#define STANDARDISE_H

#include <stdint.h>

/* Column means and population sds of x (rows x dim, row-major) over the distinct entities
 * listed in ent[0..n) (each counted once); an sd of 0 (or one entity) becomes 1. 0, or -1 when
 * memory ran out. */
int std_fit(const double *x, int rows, int dim, const int32_t *ent, long n, double *mean,
            double *sd);

#endif
