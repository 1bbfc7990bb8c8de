/* datafile.c — write a generated dataset to HDF5 and read covariates back (see datafile.h).
 * Uses the H5LT high-level API for datasets and attributes; writes go to a temporary file that
 * is renamed into place when complete. */
#include "datafile.h"

#include <errno.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "version.h"

typedef struct {
    H5E_auto2_t func;
    void *data;
} quiet_state;

static void quiet_on(quiet_state *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void quiet_off(const quiet_state *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

/* A rank-1 or rank-2 dataset; zero-sized datasets are created without writing. */
static int make_ds(hid_t loc, const char *name, int rank, hsize_t n0, hsize_t n1, hid_t type,
                   const void *buf)
{
    hsize_t dims[2] = {n0, n1};
    if (n0 > 0 && (rank == 1 || n1 > 0))
        return H5LTmake_dataset(loc, name, rank, dims, type, buf) < 0 ? -1 : 0;
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    if (sp < 0)
        return -1;
    hid_t ds = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Sclose(sp);
    if (ds < 0)
        return -1;
    H5Dclose(ds);
    return 0;
}

static int set_int(hid_t f, const char *name, int v)
{
    return H5LTset_attribute_int(f, "/", name, &v, 1) < 0 ? -1 : 0;
}

static int set_double(hid_t f, const char *name, double v)
{
    return H5LTset_attribute_double(f, "/", name, &v, 1) < 0 ? -1 : 0;
}

static int make_group(hid_t f, const char *name)
{
    hid_t g = H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    H5Gclose(g);
    return 0;
}

/* Fills the file; on failure what[] names the object that could not be written. */
static int write_all(hid_t f, const synth_dataset *s, const char *config_text, char *what,
                     size_t wl)
{
    const synth_params *p = &s->params;
    unsigned long seed = (unsigned long)p->seed;
    snprintf(what, wl, "%s", "/config");
    if (H5LTmake_dataset_string(f, "/config", config_text ? config_text : "") < 0)
        return -1;
    snprintf(what, wl, "root attributes");
    if (H5LTset_attribute_string(f, "/", "format", DFILE_FORMAT) < 0 ||
        set_int(f, "format_version", DFILE_FORMAT_VERSION) ||
        H5LTset_attribute_string(f, "/", "t2rec_version", T2REC_VERSION) < 0 ||
        H5LTset_attribute_ulong(f, "/", "seed", &seed, 1) < 0 ||
        set_int(f, "n_users", s->n_users) || set_int(f, "n_items", s->n_items) ||
        set_int(f, "n_cold_users", s->n_cold_users) || set_int(f, "n_cold_items", s->n_cold_items) ||
        set_int(f, "user_intrinsic_dim", p->user_intrinsic_dim) ||
        set_int(f, "item_intrinsic_dim", p->item_intrinsic_dim) ||
        set_int(f, "user_ambient_dim", p->user_ambient_dim) ||
        set_int(f, "item_ambient_dim", p->item_ambient_dim) ||
        set_double(f, "rstar_mean", s->rstar_mean) || set_double(f, "rstar_var", s->rstar_var) ||
        set_double(f, "rstar_kurtosis", s->rstar_kurtosis) ||
        set_double(f, "oracle_offset", s->oracle_offset))
        return -1;
    hsize_t nu = (hsize_t)(s->n_users + s->n_cold_users), ni = (hsize_t)(s->n_items + s->n_cold_items);
    snprintf(what, wl, "%s", "/users");
    if (make_group(f, "/users") || make_group(f, "/items") || make_group(f, "/splits"))
        return -1;
    snprintf(what, wl, "%s", "/users/z");
    if (make_ds(f, "/users/z", 2, nu, (hsize_t)p->user_intrinsic_dim, H5T_NATIVE_DOUBLE, s->user_z))
        return -1;
    snprintf(what, wl, "%s", "/users/x");
    if (make_ds(f, "/users/x", 2, nu, (hsize_t)p->user_ambient_dim, H5T_NATIVE_DOUBLE, s->user_x))
        return -1;
    snprintf(what, wl, "%s", "/items/z");
    if (make_ds(f, "/items/z", 2, ni, (hsize_t)p->item_intrinsic_dim, H5T_NATIVE_DOUBLE, s->item_z))
        return -1;
    snprintf(what, wl, "%s", "/items/x");
    if (make_ds(f, "/items/x", 2, ni, (hsize_t)p->item_ambient_dim, H5T_NATIVE_DOUBLE, s->item_x))
        return -1;
    static const char *const names[4] = {"train", "valid", "test_warm", "test_cold"};
    const synth_split *sp[4] = {&s->train, &s->valid, &s->test_warm, &s->test_cold};
    for (int k = 0; k < 4; k++) {
        char g[48];
        snprintf(g, sizeof g, "/splits/%s", names[k]);
        snprintf(what, wl, "%s", g);
        if (make_group(f, g))
            return -1;
        long n = sp[k]->n;
        if (H5LTset_attribute_long(f, g, "n", &n, 1) < 0)
            return -1;
        hid_t gid = H5Gopen2(f, g, H5P_DEFAULT);
        if (gid < 0)
            return -1;
        hsize_t m = (hsize_t)(n > 0 ? n : 0);
        int rc = 0;
        snprintf(what, wl, "%s/user", g);
        rc = make_ds(gid, "user", 1, m, 0, H5T_NATIVE_INT32, sp[k]->user);
        if (!rc) {
            snprintf(what, wl, "%s/item", g);
            rc = make_ds(gid, "item", 1, m, 0, H5T_NATIVE_INT32, sp[k]->item);
        }
        if (!rc) {
            snprintf(what, wl, "%s/rating", g);
            rc = make_ds(gid, "rating", 1, m, 0, H5T_NATIVE_DOUBLE, sp[k]->rating);
        }
        if (!rc) {
            snprintf(what, wl, "%s/oracle", g);
            rc = make_ds(gid, "oracle", 1, m, 0, H5T_NATIVE_DOUBLE, sp[k]->oracle);
        }
        H5Gclose(gid);
        if (rc)
            return -1;
    }
    return 0;
}

int dfile_write(const char *path, const synth_dataset *s, const char *config_text, char *err,
                size_t errlen)
{
    if (!s->user_x || !s->item_x || !s->user_z || !s->item_z) {
        snprintf(err, errlen, "%s: dataset has no covariate tables to write", path);
        return -1;
    }
    size_t L = strlen(path) + 32;
    char *tmp = malloc(L);
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, L, "%s.tmp.%d", path, (int)getpid());
    quiet_state q;
    quiet_on(&q);
    int rc = 0;
    errno = 0;
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        snprintf(err, errlen, "%s: cannot create %s: %s", path, tmp,
                 errno ? strerror(errno) : "HDF5 error");
        rc = -1;
    } else {
        char what[96] = "";
        if (write_all(f, s, config_text, what, sizeof what) != 0) {
            snprintf(err, errlen, "%s: cannot write %s", path, what);
            rc = -1;
        }
        if (H5Fclose(f) < 0 && rc == 0) {
            snprintf(err, errlen, "%s: cannot close %s (disk full?)", path, tmp);
            rc = -1;
        }
        if (rc == 0 && rename(tmp, path) != 0) {
            snprintf(err, errlen, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
            rc = -1;
        }
        if (rc != 0)
            unlink(tmp);
    }
    quiet_off(&q);
    free(tmp);
    return rc;
}

int dfile_read_covariates(const char *path, int side, double **x, int *n, int *D, char *err,
                          size_t errlen)
{
    *x = NULL;
    *n = *D = 0;
    if (side != 0 && side != 1) {
        snprintf(err, errlen, "%s: side must be 0 (users) or 1 (items), got %d", path, side);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    quiet_state q;
    quiet_on(&q);
    int rc = -1;
    hid_t f = -1;
    const char *group = side == 0 ? "/users" : "/items";
    const char *name = side == 0 ? "/users/x" : "/items/x";
    if (H5Fis_hdf5(path) <= 0) {
        snprintf(err, errlen, "%s: not an HDF5 file", path);
        goto done;
    }
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        snprintf(err, errlen, "%s: cannot open as HDF5", path);
        goto done;
    }
    if (H5LTpath_valid(f, group, 1) <= 0) {
        snprintf(err, errlen, "%s: missing %s (not a t2rec dataset file?)", path, group);
        goto done;
    }
    if (H5LTpath_valid(f, name, 1) <= 0) {
        snprintf(err, errlen, "%s: missing %s", path, name);
        goto done;
    }
    int rank;
    if (H5LTget_dataset_ndims(f, name, &rank) < 0 || rank != 2) {
        snprintf(err, errlen, "%s: %s is not a 2-D dataset", path, name);
        goto done;
    }
    hsize_t dims[2];
    H5T_class_t cls;
    size_t tsize;
    if (H5LTget_dataset_info(f, name, dims, &cls, &tsize) < 0 || cls != H5T_FLOAT) {
        snprintf(err, errlen, "%s: %s is not a floating-point dataset", path, name);
        goto done;
    }
    if (dims[0] > 0x7fffffff || dims[1] > 0x7fffffff) {
        snprintf(err, errlen, "%s: %s is too large", path, name);
        goto done;
    }
    size_t cnt = (size_t)(dims[0] * dims[1]);
    double *buf = malloc((cnt ? cnt : 1) * sizeof *buf);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory reading %s", path, name);
        goto done;
    }
    if (cnt && H5LTread_dataset_double(f, name, buf) < 0) {
        free(buf);
        snprintf(err, errlen, "%s: cannot read %s", path, name);
        goto done;
    }
    *x = buf;
    *n = (int)dims[0];
    *D = (int)dims[1];
    rc = 0;
done:
    if (f >= 0)
        H5Fclose(f);
    quiet_off(&q);
    return rc;
}

int dfile_read_declared_dim(const char *path, int side)
{
    quiet_state q;
    quiet_on(&q);
    int d = 0;
    const char *name = side == 0 ? "user_intrinsic_dim" : "item_intrinsic_dim";
    hid_t f = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (f >= 0) {
        int v = 0;
        if (H5Aexists(f, name) > 0 && H5LTget_attribute_int(f, "/", name, &v) >= 0 && v > 0)
            d = v;
        H5Fclose(f);
    }
    quiet_off(&q);
    return d;
}
