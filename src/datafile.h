/* datafile.h — dataset HDF5 files: written by `t2rec gen`, read by `t2rec intdim`.
 *
 * Schema (format "t2rec-dataset", format_version 1; readable by h5dump and h5py):
 *
 *   /                 attrs: format (string "t2rec-dataset"), format_version (int 1),
 *                            t2rec_version (string, T2REC_VERSION), seed (uint64),
 *                            n_users, n_items, n_cold_users, n_cold_items (int; training
 *                            population and fresh entities),
 *                            user_intrinsic_dim, item_intrinsic_dim, user_ambient_dim,
 *                            item_ambient_dim (int),
 *                            rstar_mean, rstar_var, rstar_kurtosis, oracle_offset (double)
 *   /config           string dataset: the resolved config text the data came from
 *   /users/z          double (n_users + n_cold_users) x d_u   latent points (training rows first)
 *   /users/x          double (n_users + n_cold_users) x D_u   ambient covariates
 *   /items/z, /items/x   the same for items
 *   /splits/NAME      NAME in train, valid, test_warm, test_cold; attr n (long)
 *   /splits/NAME/user, item     int32 [n]   rows of the entity tables
 *   /splits/NAME/rating, oracle double [n]  observed rating and R* (+ oracle_offset)
 *
 * The file is written to PATH.tmp.PID and renamed onto PATH only when complete, so a failed or
 * killed write never leaves a half-written file at PATH. HDF5's automatic error printing is
 * switched off inside these functions (and restored); errors come back in err, naming the file.
 */
#ifndef DATAFILE_H
#define DATAFILE_H

#include <stddef.h>
#include "synth.h"

#define DFILE_FORMAT "t2rec-dataset"
#define DFILE_FORMAT_VERSION 1

/* Write s (and the config text, may be NULL = "") to path. 0, or -1 with a message. */
int dfile_write(const char *path, const synth_dataset *s, const char *config_text, char *err,
                size_t errlen);

/* Read the ambient covariates of one side (0 = users, 1 = items): *x = malloc'd row-major
 * *n x *D matrix holding ALL rows of /users/x (or /items/x): the training population and the
 * cold entities, which are drawn from the same distribution. Caller frees *x.
 * A missing file, a file that is not HDF5, or a missing object gives -1 with a message naming
 * the file (and the object). */
int dfile_read_covariates(const char *path, int side, double **x, int *n, int *D, char *err,
                          size_t errlen);

/* The intrinsic dimension the generator was configured with for one side (root attribute
 * user_intrinsic_dim / item_intrinsic_dim), or 0 when the file does not say (or cannot be
 * read: dfile_read_covariates reports such files). */
int dfile_read_declared_dim(const char *path, int side);

#endif
