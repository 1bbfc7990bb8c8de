/* h5out.c — the results store: write/read HDF5 results files (schema in
 * docs/results-format.md), merge records newest-per-key, export the long CSV table. */
#include "h5out.h"
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "keyindex.h"
#include "version.h"

const char *const h5out_std_metrics[H5OUT_N_STD_METRICS] = {
    "excess_risk_cold", "excess_risk_warm", "rmse_cold", "rmse_warm", "mae_cold",
    "mae_warm", "ndcg_at_10", "recall_at_10", "regret_at_10", "rmse",
    "mae", "precision_at_10", "map_at_10",
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* HDF5 prints its error stack by default; a library function must not print. */
typedef struct {
    H5E_auto2_t fn;
    void *data;
} h5_quiet;

static void quiet_on(h5_quiet *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void quiet_off(const h5_quiet *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->fn, q->data);
}

/* Metric names in a metric_set are static strings: reuse the standard ones, keep the others
 * in a process-wide pool (a handful of names at most; never freed, always reachable). */
static const char *intern_metric_name(const char *s)
{
    static char **pool;
    static int npool;
    for (int k = 0; k < H5OUT_N_STD_METRICS; k++)
        if (strcmp(h5out_std_metrics[k], s) == 0)
            return h5out_std_metrics[k];
    for (int k = 0; k < npool; k++)
        if (strcmp(pool[k], s) == 0)
            return pool[k];
    char **np = realloc(pool, (size_t)(npool + 1) * sizeof *np);
    if (!np)
        return NULL;
    pool = np;
    if (!(pool[npool] = strdup(s)))
        return NULL;
    return pool[npool++];
}

/* File access: keep HDF5's file locking but do not fail on file systems without locks
 * (NFS/Lustre on clusters); safety comes from the write-to-temp-and-rename rule anyway. */
static hid_t make_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    if (fapl >= 0)
        H5Pset_file_locking(fapl, 1, 1);
#endif
    return fapl;
}

/* ---------------------------------------------------------------- attributes */

static hid_t vstr_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

static int attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *val)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, mtype, val);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc < 0 ? -1 : 0;
}

static int attr_str(hid_t loc, const char *name, const char *s)
{
    hid_t t = vstr_type();
    const char *p = s ? s : "";
    int rc = attr_write(loc, name, t, t, &p);
    H5Tclose(t);
    return rc;
}

static int attr_i32(hid_t loc, const char *name, int v)
{
    int32_t x = v;
    return attr_write(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &x);
}

static int attr_i64(hid_t loc, const char *name, long long v)
{
    int64_t x = v;
    return attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &x);
}

static int attr_u64(hid_t loc, const char *name, uint64_t v)
{
    return attr_write(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
}

static int attr_f64(hid_t loc, const char *name, double v)
{
    return attr_write(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

/* Reads a scalar numeric attribute converted to mtype; -1 if absent or not numeric. */
static int attr_read_num(hid_t loc, const char *name, hid_t mtype, void *out)
{
    if (H5Aexists(loc, name) <= 0)
        return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t ft = H5Aget_type(a);
    hid_t sp = H5Aget_space(a);
    H5T_class_t cl = H5Tget_class(ft);
    int ok = (cl == H5T_INTEGER || cl == H5T_FLOAT) && H5Sget_simple_extent_npoints(sp) == 1 &&
             H5Aread(a, mtype, out) >= 0;
    H5Sclose(sp);
    H5Tclose(ft);
    H5Aclose(a);
    return ok ? 0 : -1;
}

/* Reads a string attribute (variable or fixed length) into a malloc'd string. */
static int attr_read_str(hid_t loc, const char *name, char **out)
{
    *out = NULL;
    if (H5Aexists(loc, name) <= 0)
        return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t ft = H5Aget_type(a);
    hid_t sp = H5Aget_space(a);
    int rc = -1;
    if (H5Tget_class(ft) == H5T_STRING && H5Sget_simple_extent_npoints(sp) == 1) {
        if (H5Tis_variable_str(ft) > 0) {
            hid_t mt = vstr_type();
            char *p = NULL;
            if (H5Aread(a, mt, &p) >= 0) {
                *out = strdup(p ? p : "");
                rc = *out ? 0 : -1;
                H5free_memory(p);
            }
            H5Tclose(mt);
        } else {
            size_t sz = H5Tget_size(ft);
            char *buf = calloc(sz + 1, 1);
            hid_t mt = H5Tcopy(ft);
            if (buf && H5Aread(a, mt, buf) >= 0) {
                *out = buf;
                rc = 0;
            } else {
                free(buf);
            }
            H5Tclose(mt);
        }
    }
    H5Sclose(sp);
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

/* ---------------------------------------------------------------- datasets */

static int dset_f64(hid_t loc, const char *name, const double *v, int n)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(loc, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : 0;
    if (d >= 0 && n > 0)
        rc = H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(sp);
    return rc < 0 ? -1 : 0;
}

/* Reads a 1-D dataset as doubles; *v malloc'd (NULL when empty). */
static int dset_read_f64(hid_t loc, const char *name, double **v, int *n)
{
    *v = NULL;
    *n = 0;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t sp = H5Dget_space(d);
    int rc = -1;
    hsize_t dims[1];
    if (H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, dims, NULL) == 1 &&
        dims[0] < (1u << 30)) {
        *n = (int)dims[0];
        if (*n == 0) {
            rc = 0;
        } else if ((*v = malloc((size_t)*n * sizeof **v)) &&
                   H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *v) >= 0) {
            rc = 0;
        }
    }
    if (rc != 0) {
        free(*v);
        *v = NULL;
        *n = 0;
    }
    H5Sclose(sp);
    H5Dclose(d);
    return rc;
}

/* ---------------------------------------------------------------- writing */

static int write_kv_group(hid_t parent, const char *name, const kvset *kv)
{
    hid_t g = H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    int rc = 0;
    for (int k = 0; k < kv->n && rc == 0; k++)
        rc = attr_str(g, kv->key[k], kv->val[k]);
    H5Gclose(g);
    return rc;
}

static int write_per_user(hid_t cell, const metric_set *m);   /* below, with its reader */

static int write_cell(hid_t cells, const cell_record *r)
{
    hid_t g = H5Gcreate2(cells, r->key, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    int rc = 0;
    rc |= attr_str(g, "key", r->key);
    rc |= attr_i32(g, "replicate", r->replicate);
    rc |= attr_u64(g, "data_seed", r->data_seed);
    rc |= attr_u64(g, "train_seed", r->train_seed);
    rc |= attr_str(g, "status", r->status);
    rc |= attr_str(g, "reason", r->reason ? r->reason : "");
    rc |= attr_f64(g, "fit_seconds", r->fit_seconds);
    rc |= attr_i32(g, "epochs_run", r->epochs_run);
    rc |= attr_i32(g, "best_epoch", r->curves.best_epoch);
    rc |= attr_str(g, "stopped_by", r->curves.stopped_by);
    rc |= attr_i64(g, "n_fallback", r->curves.n_fallback);
    rc |= attr_str(g, "note", r->curves.note);
    if (rc == 0)
        rc = write_kv_group(g, "config", &r->config);
    if (rc == 0)
        rc = write_kv_group(g, "provenance", &r->provenance);
    if (rc == 0) {
        /* metrics keep their order: track attribute creation order */
        hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
        H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
        hid_t m = H5Gcreate2(g, "metrics", H5P_DEFAULT, gcpl, H5P_DEFAULT);
        H5Pclose(gcpl);
        if (m < 0)
            rc = -1;
        for (int k = 0; m >= 0 && k < r->metrics.n && rc == 0; k++)
            rc = attr_f64(m, r->metrics.name[k], r->metrics.value[k]);
        if (m >= 0)
            H5Gclose(m);
    }
    if (rc == 0)
        rc = write_per_user(g, &r->metrics);
    if (rc == 0) {
        const est_curves *c = &r->curves;
        hid_t cg = H5Gcreate2(g, "curves", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (cg < 0) {
            rc = -1;
        } else {
            double *epoch = malloc((size_t)(c->n > 0 ? c->n : 1) * sizeof *epoch);
            if (!epoch)
                rc = -1;
            for (int k = 0; epoch && k < c->n; k++)
                epoch[k] = k + 1;
            rc |= attr_i32(cg, "epochs_run", c->epochs_run);
            if (rc == 0)
                rc = dset_f64(cg, "epoch", epoch, c->n) | dset_f64(cg, "train_loss", c->train_loss, c->n) |
                     dset_f64(cg, "valid_rmse", c->valid_rmse, c->n) |
                     dset_f64(cg, "test_excess", c->test_excess, c->n) |
                     dset_f64(cg, "wall_seconds", c->wall_seconds, c->n);
            free(epoch);
            H5Gclose(cg);
        }
    }
    H5Gclose(g);
    return rc;
}

/* One row of /table (docs/results-format.md). */
typedef struct {
    char key[17];
    char method[48];
    char status[8];
    int64_t replicate;
    int64_t n_obs, user_intrinsic_dim, item_intrinsic_dim, user_ambient_dim, item_ambient_dim;
    double beta;
    uint64_t train_seed, data_seed;
    double fit_seconds;
    int64_t epochs_run, best_epoch;
    char stopped_by[16];
    double metric[H5OUT_N_STD_METRICS];
} table_row;

#define TABLE_NFIX 16

static int write_table(hid_t f, const cell_record *recs, int n)
{
    const char *names[TABLE_NFIX + H5OUT_N_STD_METRICS] = {
        "key", "method", "status", "replicate", "n_obs", "user_intrinsic_dim",
        "item_intrinsic_dim", "user_ambient_dim", "item_ambient_dim", "beta",
        "train_seed", "data_seed", "fit_seconds", "epochs_run", "best_epoch", "stopped_by",
    };
    size_t off[TABLE_NFIX + H5OUT_N_STD_METRICS] = {
        offsetof(table_row, key), offsetof(table_row, method), offsetof(table_row, status),
        offsetof(table_row, replicate), offsetof(table_row, n_obs),
        offsetof(table_row, user_intrinsic_dim), offsetof(table_row, item_intrinsic_dim),
        offsetof(table_row, user_ambient_dim), offsetof(table_row, item_ambient_dim),
        offsetof(table_row, beta), offsetof(table_row, train_seed), offsetof(table_row, data_seed),
        offsetof(table_row, fit_seconds), offsetof(table_row, epochs_run),
        offsetof(table_row, best_epoch), offsetof(table_row, stopped_by),
    };
    hid_t types[TABLE_NFIX + H5OUT_N_STD_METRICS];
    hid_t tkey = H5Tcopy(H5T_C_S1), tmethod = H5Tcopy(H5T_C_S1), tstatus = H5Tcopy(H5T_C_S1);
    hid_t tstop = H5Tcopy(H5T_C_S1);
    H5Tset_size(tstop, sizeof ((table_row *)0)->stopped_by);
    H5Tset_size(tkey, sizeof ((table_row *)0)->key);
    H5Tset_size(tmethod, sizeof ((table_row *)0)->method);
    H5Tset_size(tstatus, sizeof ((table_row *)0)->status);
    types[0] = tkey;
    types[1] = tmethod;
    types[2] = tstatus;
    for (int k = 3; k <= 8; k++)
        types[k] = H5T_NATIVE_INT64;
    types[9] = H5T_NATIVE_DOUBLE;
    types[10] = types[11] = H5T_NATIVE_UINT64;
    types[12] = H5T_NATIVE_DOUBLE;
    types[13] = H5T_NATIVE_INT64;
    types[14] = H5T_NATIVE_INT64;
    types[15] = tstop;
    int nf = TABLE_NFIX;
    for (int k = 0; k < H5OUT_N_STD_METRICS; k++, nf++) {
        names[nf] = h5out_std_metrics[k];
        off[nf] = offsetof(table_row, metric) + (size_t)k * sizeof(double);
        types[nf] = H5T_NATIVE_DOUBLE;
    }
    table_row *rows = calloc((size_t)(n > 0 ? n : 1), sizeof *rows);
    int rc = -1;
    if (rows) {
        for (int r = 0; r < n; r++) {
            const cell_record *c = &recs[r];
            const kvset *cf = &c->config;
            table_row *t = &rows[r];
            snprintf(t->key, sizeof t->key, "%s", c->key);
            snprintf(t->method, sizeof t->method, "%s", kv_str(cf, "method", ""));
            snprintf(t->status, sizeof t->status, "%s", c->status);
            t->replicate = c->replicate;
            t->n_obs = kv_int(cf, "data.n_obs", -1);
            t->user_intrinsic_dim = kv_int(cf, "data.user_intrinsic_dim", -1);
            t->item_intrinsic_dim = kv_int(cf, "data.item_intrinsic_dim", -1);
            t->user_ambient_dim = kv_int(cf, "data.user_ambient_dim", -1);
            t->item_ambient_dim = kv_int(cf, "data.item_ambient_dim", -1);
            t->beta = kv_real(cf, "data.beta", NAN);
            t->train_seed = c->train_seed;
            t->data_seed = c->data_seed;
            t->fit_seconds = c->fit_seconds;
            t->epochs_run = c->epochs_run;
            t->best_epoch = c->curves.best_epoch;
            snprintf(t->stopped_by, sizeof t->stopped_by, "%s", c->curves.stopped_by);
            for (int k = 0; k < H5OUT_N_STD_METRICS; k++)
                t->metric[k] = metrics_get(&c->metrics, h5out_std_metrics[k]);
        }
        rc = H5TBmake_table("t2rec cells", f, "table", (hsize_t)nf, (hsize_t)n, sizeof(table_row),
                            names, off, types, 64, NULL, 0, n > 0 ? rows : NULL) < 0 ? -1 : 0;
        free(rows);
    }
    H5Tclose(tkey);
    H5Tclose(tmethod);
    H5Tclose(tstatus);
    H5Tclose(tstop);
    return rc;
}

static int write_all(hid_t f, const cell_record *recs, int n)
{
    hid_t root = H5Gopen2(f, "/", H5P_DEFAULT);
    if (root < 0)
        return -1;
    int rc = attr_i32(root, "t2rec_schema", H5OUT_SCHEMA_VERSION) | attr_str(root, "creator", "t2rec") |
             attr_str(root, "t2rec_version", T2REC_VERSION) | attr_i64(root, "n_cells", n);
    H5Gclose(root);
    if (rc)
        return -1;
    hid_t cells = H5Gcreate2(f, "cells", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (cells < 0)
        return -1;
    for (int k = 0; k < n && rc == 0; k++)
        rc = write_cell(cells, &recs[k]);
    H5Gclose(cells);
    if (rc == 0)
        rc = write_table(f, recs, n);
    return rc;
}

static int key_ok(const char *key)
{
    size_t l = strnlen(key, 17);
    return l > 0 && l <= 16 && !strchr(key, '/') && strcmp(key, ".") != 0;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Build the file image and write it to tmp (fsync'd), for h5out_write. 0, or -1 with a message. */
static int build_and_write(const char *path, const char *tmp, const cell_record *recs, int n,
                           char *err, size_t errlen)
{
    /* The file is built in memory (HDF5's core driver, no backing store) and written out with
     * plain write(2) calls: HDF5 never does I/O on the disk here, so a full disk or an I/O error
     * is one errno we report, and never an HDF5 file left half-closed (which crashed HDF5's
     * clean-up at exit: issue 19). The bytes are those of a file written directly. */
    h5_quiet q;
    quiet_on(&q);
    int rc = -1;
    void *image = NULL;
    ssize_t size = -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    size_t incr = (size_t)n * 16384 > (1u << 20) ? (size_t)n * 16384 : (1u << 20);
    hid_t f = fapl < 0 || H5Pset_fapl_core(fapl, incr, 0) < 0 ? -1
              : H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (f < 0) {
        seterr(err, errlen, "cannot write %s: HDF5 cannot create a file (out of memory?)", path);
    } else {
        rc = write_all(f, recs, n);
        if (rc == 0 && H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
            rc = -1;
        if (rc == 0 && (size = H5Fget_file_image(f, NULL, 0)) <= 0)
            rc = -1;
        if (rc == 0 && !(image = malloc((size_t)size)))
            rc = -1;
        if (rc == 0 && H5Fget_file_image(f, image, (size_t)size) != size)
            rc = -1;
        if (H5Fclose(f) < 0)
            rc = -1;
        if (rc != 0)
            seterr(err, errlen, "cannot write %s: HDF5 error while building the file in memory "
                   "(out of memory?)", path);
    }
    quiet_off(&q);
    if (rc == 0) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0) {
            seterr(err, errlen, "cannot write %s: cannot create the temporary file %s: %s", path,
                   tmp, strerror(errno));
            rc = -1;
        }
        for (size_t off = 0; rc == 0 && off < (size_t)size;) {
            ssize_t w = write(fd, (const char *)image + off, (size_t)size - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                seterr(err, errlen, "cannot write %s: writing %s failed: %s", path, tmp,
                       w < 0 ? strerror(errno) : "no progress");
                rc = -1;
            } else {
                off += (size_t)w;
            }
        }
        if (rc == 0 && fsync(fd) != 0) {
            seterr(err, errlen, "cannot write %s: sync of %s failed: %s", path, tmp, strerror(errno));
            rc = -1;
        }
        if (fd >= 0 && close(fd) != 0 && rc == 0) {
            seterr(err, errlen, "cannot write %s: closing %s failed: %s", path, tmp, strerror(errno));
            rc = -1;
        }
    }
    free(image);
    return rc;
}

#define CHILD_MSG "\x1e"   /* ASCII record separator: starts a reading child's own message */

/* What a child process wrote to the pipe fd, read to the end into msg (cap bytes, NUL
 * terminated); when it is longer, the last bytes are kept: the child's own message comes last,
 * after anything a library printed (a long sanitizer report must not push it out). */
static size_t read_child_message(int fd, char *msg, size_t cap)
{
    size_t got = 0;
    for (;;) {
        if (got == cap - 1) {
            memmove(msg, msg + got / 2, got - got / 2);
            got -= got / 2;
        }
        ssize_t r = read(fd, msg + got, cap - 1 - got);
        if (r > 0)
            got += (size_t)r;
        else if (r < 0 && errno == EINTR)
            continue;
        else
            break;
    }
    msg[got] = '\0';
    return got;
}

/* HDF5 1.10 does not always survive a failed allocation while it builds a file: some of its
 * error paths corrupt its heap or its state (issue 19's malloc walk: crashes in H5O__alloc, heap
 * corruption aborts, and at exit in H5D_close). So, like reading's probe, the file is built and
 * written to tmp by a child process: a failure or a crash there fails this write with a message,
 * and the caller's HDF5 library is untouched. When no child can be made: in this process. */
static int write_isolated(const char *path, const char *tmp, const cell_record *recs, int n,
                          char *err, size_t errlen)
{
    int fd[2];
    if (pipe(fd) != 0)
        return build_and_write(path, tmp, recs, n, err, errlen);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return build_and_write(path, tmp, recs, n, err, errlen);
    }
    if (pid == 0) {
        close(fd[0]);
#ifndef __SANITIZE_ADDRESS__   /* (ASan's own report stays on stderr, whole) */
        dup2(fd[1], 2);   /* what the child says (also t2rec's exit-inside-HDF5 message) */
#endif
        char e[1024] = "";
        if (build_and_write(path, tmp, recs, n, e, sizeof e) == 0)
            _exit(0);
        if (write(fd[1], e, strlen(e)) < 0)
            _exit(1);
        _exit(1);
    }
    close(fd[1]);
    char msg[4096];
    size_t got = read_child_message(fd[0], msg, sizeof msg);
    close(fd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            seterr(err, errlen, "cannot write %s: lost the writing process: %s", path,
                   strerror(errno));
            return -1;
        }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    while (got > 0 && msg[got - 1] == '\n')   /* several lines (glibc's, then main.c's): one */
        msg[--got] = '\0';
    for (char *p = msg; (p = strchr(p, '\n'));)
        *p = ';';
    if (WIFEXITED(st) && got > 0 && strncmp(msg, "cannot write ", 13) == 0)
        seterr(err, errlen, "%s", msg);
    else if (WIFEXITED(st) && got > 0)   /* e.g. main.c's message after HDF5 exit()ed */
        seterr(err, errlen, "cannot write %s: %s", path, msg);
    else if (WIFSIGNALED(st))
        seterr(err, errlen, "cannot write %s: the HDF5 library crashed building it (signal %d; "
               "out of memory?)", path, WTERMSIG(st));
    else
        seterr(err, errlen, "cannot write %s: the writing process failed (exit %d)", path,
               WEXITSTATUS(st));
    return -1;
}

int h5out_write(const char *path, const cell_record *recs, int n, char *err, size_t errlen)
{
    if (!path || !*path) {
        seterr(err, errlen, "results file: empty path");
        return -1;
    }
    if (n < 0 || (n > 0 && !recs)) {
        seterr(err, errlen, "%s: no records given", path);
        return -1;
    }
    /* distinct, valid keys */
    const char **keys = malloc((size_t)(n > 0 ? n : 1) * sizeof *keys);
    if (!keys) {
        seterr(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (int k = 0; k < n; k++) {
        if (!key_ok(recs[k].key)) {
            seterr(err, errlen, "%s: record %d has an invalid cell key '%.16s'", path, k, recs[k].key);
            free(keys);
            return -1;
        }
        keys[k] = recs[k].key;
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_str_ptr);
    for (int k = 1; k < n; k++)
        if (strcmp(keys[k - 1], keys[k]) == 0) {
            seterr(err, errlen, "%s: two records have the cell key %s", path, keys[k]);
            free(keys);
            return -1;
        }
    free(keys);

    /* the directory must exist and be writable */
    char *dir = strdup(path);
    if (!dir) {
        seterr(err, errlen, "%s: out of memory", path);
        return -1;
    }
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    struct stat st;
    if (stat(dir, &st) != 0) {
        seterr(err, errlen, "cannot write %s: directory %s: %s", path, dir, strerror(errno));
        free(dir);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        seterr(err, errlen, "cannot write %s: %s is not a directory", path, dir);
        free(dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        seterr(err, errlen, "cannot write %s: directory %s is not writable", path, dir);
        free(dir);
        return -1;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        seterr(err, errlen, "cannot write %s: it is a directory", path);
        free(dir);
        return -1;
    }

    size_t tl = strlen(path) + 32;
    char *tmp = malloc(tl);
    if (!tmp) {
        free(dir);
        seterr(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
    int rc = write_isolated(path, tmp, recs, n, err, errlen);
    if (rc == 0 && rename(tmp, path) != 0) {
        seterr(err, errlen, "cannot write %s: rename from %s failed: %s", path, tmp, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        unlink(tmp);
    } else {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd); /* best effort: make the rename durable */
            close(dfd);
        }
    }
    free(tmp);
    free(dir);
    return rc;
}

/* ---------------------------------------------------------------- reading */

typedef struct {
    char **name;
    int n, cap;
    int failed;
} name_list;

static herr_t collect_name(hid_t loc, const char *name, const H5L_info_t *info, void *data)
{
    (void)loc;
    (void)info;
    name_list *l = data;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **p = realloc(l->name, (size_t)cap * sizeof *p);
        if (!p) {
            l->failed = 1;
            return -1;
        }
        l->name = p;
        l->cap = cap;
    }
    if (!(l->name[l->n] = strdup(name))) {
        l->failed = 1;
        return -1;
    }
    l->n++;
    return 0;
}

static herr_t collect_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)loc;
    (void)info;
    return collect_name(loc, name, NULL, data);
}

static void name_list_free(name_list *l)
{
    for (int k = 0; k < l->n; k++)
        free(l->name[k]);
    free(l->name);
    memset(l, 0, sizeof *l);
}

/* Names of the attributes of loc, in name order (or creation order when tracked). */
static int attr_names(hid_t loc, name_list *l, int crt_order)
{
    memset(l, 0, sizeof *l);
    hsize_t idx = 0;
    if (H5Aiterate2(loc, crt_order ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME, H5_ITER_INC, &idx,
                    collect_attr, l) < 0 || l->failed) {
        name_list_free(l);
        return -1;
    }
    return 0;
}

/* The group `name` of a cell, or -1 with "missing group NAME" / "NAME is not a group". */
static hid_t open_subgroup(hid_t cell, const char *name, char *msg, size_t ml)
{
    if (H5Lexists(cell, name, H5P_DEFAULT) <= 0) {
        seterr(msg, ml, "missing group %s", name);
        return -1;
    }
    hid_t g = H5Gopen2(cell, name, H5P_DEFAULT);
    if (g < 0)
        seterr(msg, ml, "%s is not a group", name);
    return g;
}

static int read_kv_group(hid_t cell, const char *gname, kvset *kv, char *msg, size_t ml)
{
    hid_t g = open_subgroup(cell, gname, msg, ml);
    if (g < 0)
        return -1;
    name_list l;
    int rc = attr_names(g, &l, 0);
    if (rc != 0)
        seterr(msg, ml, "cannot list the attributes of %s", gname);
    for (int k = 0; rc == 0 && k < l.n; k++) {
        char *v;
        if (attr_read_str(g, l.name[k], &v) != 0) {
            seterr(msg, ml, "%s attribute '%s' is not a string", gname, l.name[k]);
            rc = -1;
        } else {
            if (kv_set(kv, l.name[k], v) != 0) {
                seterr(msg, ml, "out of memory");
                rc = -1;
            }
            free(v);
        }
    }
    name_list_free(&l);
    H5Gclose(g);
    return rc;
}

static int read_metrics(hid_t cell, metric_set *m, char *msg, size_t ml)
{
    hid_t g = open_subgroup(cell, "metrics", msg, ml);
    if (g < 0)
        return -1;
    hid_t gcpl = H5Gget_create_plist(g);
    unsigned flags = 0;
    H5Pget_attr_creation_order(gcpl, &flags);
    H5Pclose(gcpl);
    name_list l;
    int rc = attr_names(g, &l, (flags & H5P_CRT_ORDER_INDEXED) != 0);
    if (rc != 0)
        seterr(msg, ml, "cannot list the metrics");
    metrics_init(m);
    if (rc == 0 && l.n > METRICS_MAX) {
        seterr(msg, ml, "%d metrics, at most %d supported", l.n, METRICS_MAX);
        rc = -1;
    }
    for (int k = 0; rc == 0 && k < l.n; k++) {
        double v;
        const char *name = intern_metric_name(l.name[k]);
        if (!name) {
            seterr(msg, ml, "out of memory");
            rc = -1;
        } else if (attr_read_num(g, l.name[k], H5T_NATIVE_DOUBLE, &v) != 0) {
            seterr(msg, ml, "metric '%s' is not a number", l.name[k]);
            rc = -1;
        } else {
            metrics_add(m, name, v);
        }
    }
    name_list_free(&l);
    H5Gclose(g);
    return rc;
}

/* ---------------------------------------------------------------- per-user metric values
 * Optional group per_user/ of a cell: one dataset per ranking metric, named like the metric,
 * a compound {int32 user; float32 value} per user it was averaged over (issue 15). Old
 * readers ignore the group; a cell without it reads with no per-user values. */

typedef struct {
    int32_t user;
    float value;
} pu_row;

static hid_t pu_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(pu_row));
    if (t < 0)
        return -1;
    if (H5Tinsert(t, "user", HOFFSET(pu_row, user), H5T_STD_I32LE) < 0 ||
        H5Tinsert(t, "value", HOFFSET(pu_row, value), H5T_IEEE_F32LE) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static int write_per_user(hid_t cell, const metric_set *m)
{
    if (m->n_user <= 0)
        return 0;
    hid_t g = H5Gcreate2(cell, "per_user", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = pu_type();
    int rc = g < 0 || t < 0 ? -1 : 0;
    for (int k = 0; rc == 0 && k < m->n_user; k++) {
        const metric_user_values *v = &m->user[k];
        pu_row *rows = malloc((size_t)(v->n > 0 ? v->n : 1) * sizeof *rows);
        if (!rows) {
            rc = -1;
            break;
        }
        for (long j = 0; j < v->n; j++)
            rows[j] = (pu_row){.user = v->user[j], .value = v->value[j]};
        hsize_t dim = (hsize_t)v->n;
        hid_t sp = H5Screate_simple(1, &dim, NULL);
        hid_t d = sp < 0 ? -1 : H5Dcreate2(g, v->name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (d < 0 || (v->n > 0 && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0))
            rc = -1;
        if (d >= 0)
            H5Dclose(d);
        if (sp >= 0)
            H5Sclose(sp);
        free(rows);
    }
    if (t >= 0)
        H5Tclose(t);
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

static int read_per_user(hid_t cell, metric_set *m, char *msg, size_t ml)
{
    if (H5Lexists(cell, "per_user", H5P_DEFAULT) <= 0)
        return 0;
    hid_t g = H5Gopen2(cell, "per_user", H5P_DEFAULT);
    if (g < 0) {
        seterr(msg, ml, "per_user is not a group");
        return -1;
    }
    name_list l;
    memset(&l, 0, sizeof l);
    hsize_t idx = 0;
    int rc = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &l) < 0 || l.failed ? -1 : 0;
    if (rc != 0)
        seterr(msg, ml, "cannot list per_user");
    hid_t t = pu_type();
    for (int k = 0; rc == 0 && k < l.n; k++) {
        const char *name = intern_metric_name(l.name[k]);
        hid_t d = H5Dopen2(g, l.name[k], H5P_DEFAULT);
        hid_t sp = d < 0 ? -1 : H5Dget_space(d);
        hssize_t n = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
        pu_row *rows = n >= 0 ? malloc((size_t)(n > 0 ? n : 1) * sizeof *rows) : NULL;
        int32_t *u = rows ? malloc((size_t)(n > 0 ? n : 1) * sizeof *u) : NULL;
        double *v = u ? malloc((size_t)(n > 0 ? n : 1) * sizeof *v) : NULL;
        if (!name || t < 0 || !v || (n > 0 && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)) {
            seterr(msg, ml, "per_user/%s is not readable", l.name[k]);
            rc = -1;
        } else {
            for (hssize_t j = 0; j < n; j++) {
                u[j] = rows[j].user;
                v[j] = rows[j].value;
            }
            if (metrics_add_user_values(m, name, (long)n, u, v) != 0) {
                seterr(msg, ml, "out of memory");
                rc = -1;
            }
        }
        free(rows);
        free(u);
        free(v);
        if (sp >= 0)
            H5Sclose(sp);
        if (d >= 0)
            H5Dclose(d);
    }
    if (t >= 0)
        H5Tclose(t);
    name_list_free(&l);
    H5Gclose(g);
    return rc;
}

static int read_curves(hid_t cell, est_curves *c, char *msg, size_t ml)
{
    static const char *const names[4] = {"train_loss", "valid_rmse", "test_excess", "wall_seconds"};
    hid_t g = open_subgroup(cell, "curves", msg, ml);
    if (g < 0)
        return -1;
    double *v[4] = {NULL, NULL, NULL, NULL}, *epoch = NULL;
    int len[4], ne = 0, rc = 0;
    int32_t er = 0;
    if (dset_read_f64(g, "epoch", &epoch, &ne) != 0) {
        seterr(msg, ml, "missing or unreadable dataset curves/epoch");
        rc = -1;
    }
    for (int k = 0; rc == 0 && k < 4; k++)
        if (dset_read_f64(g, names[k], &v[k], &len[k]) != 0) {
            seterr(msg, ml, "missing or unreadable dataset curves/%s", names[k]);
            rc = -1;
        } else if (len[k] != ne) {
            seterr(msg, ml, "curves/%s has %d entries, curves/epoch has %d", names[k], len[k], ne);
            rc = -1;
        }
    if (rc == 0 && attr_read_num(g, "epochs_run", H5T_NATIVE_INT32, &er) != 0) {
        seterr(msg, ml, "missing attribute curves/epochs_run");
        rc = -1;
    }
    for (int k = 0; rc == 0 && k < ne; k++)
        if (est_curves_push(c, v[0][k], v[1][k], v[2][k], v[3][k]) != 0) {
            seterr(msg, ml, "out of memory");
            rc = -1;
        }
    c->epochs_run = er;
    for (int k = 0; k < 4; k++)
        free(v[k]);
    free(epoch);
    H5Gclose(g);
    return rc;
}

static int read_cell(hid_t cells, const char *name, int schema, cell_record *r, char *msg,
                     size_t ml)
{
    hid_t g = H5Gopen2(cells, name, H5P_DEFAULT);
    if (g < 0) {
        seterr(msg, ml, "not a group");
        return -1;
    }
    int rc = 0;
    char *s = NULL;
    int32_t i32;
    int64_t i64;
#define NEED(cond, what)                                                   \
    do {                                                                   \
        if (rc == 0 && !(cond)) {                                          \
            seterr(msg, ml, "missing or malformed attribute '%s'", what);  \
            rc = -1;                                                       \
        }                                                                  \
    } while (0)
    NEED(attr_read_str(g, "key", &s) == 0, "key");
    if (rc == 0) {
        if (strcmp(s, name) != 0 || !key_ok(s)) {
            seterr(msg, ml, "attribute key '%s' does not match the group name", s);
            rc = -1;
        } else {
            snprintf(r->key, sizeof r->key, "%s", s);
        }
    }
    free(s);
    s = NULL;
    NEED(attr_read_num(g, "replicate", H5T_NATIVE_INT32, &i32) == 0, "replicate");
    r->replicate = i32;
    NEED(attr_read_num(g, "data_seed", H5T_NATIVE_UINT64, &r->data_seed) == 0, "data_seed");
    NEED(attr_read_num(g, "train_seed", H5T_NATIVE_UINT64, &r->train_seed) == 0, "train_seed");
    NEED(attr_read_str(g, "status", &s) == 0 && strlen(s) < sizeof r->status, "status");
    if (rc == 0)
        snprintf(r->status, sizeof r->status, "%s", s);
    free(s);
    s = NULL;
    NEED(attr_read_str(g, "reason", &r->reason) == 0, "reason");
    NEED(attr_read_num(g, "fit_seconds", H5T_NATIVE_DOUBLE, &r->fit_seconds) == 0, "fit_seconds");
    NEED(attr_read_num(g, "epochs_run", H5T_NATIVE_INT32, &i32) == 0, "epochs_run");
    r->epochs_run = i32;
    NEED(attr_read_num(g, "best_epoch", H5T_NATIVE_INT32, &i32) == 0, "best_epoch");
    int best = i32;
    NEED(attr_read_num(g, "n_fallback", H5T_NATIVE_INT64, &i64) == 0, "n_fallback");
    long fallback = (long)i64;
    NEED(attr_read_str(g, "note", &s) == 0, "note");
    char *stop = NULL;   /* schema 2; a schema 1 file has none: "" */
    NEED(schema < 2 || (attr_read_str(g, "stopped_by", &stop) == 0 &&
                        strlen(stop) < sizeof r->curves.stopped_by), "stopped_by");
#undef NEED
    if (rc == 0)
        rc = read_kv_group(g, "config", &r->config, msg, ml);
    if (rc == 0)
        rc = read_kv_group(g, "provenance", &r->provenance, msg, ml);
    if (rc == 0)
        rc = read_metrics(g, &r->metrics, msg, ml);
    if (rc == 0)
        rc = read_per_user(g, &r->metrics, msg, ml);
    if (rc == 0)
        rc = read_curves(g, &r->curves, msg, ml);
    if (rc == 0) {
        r->curves.best_epoch = best;
        r->curves.n_fallback = fallback;
        snprintf(r->curves.note, sizeof r->curves.note, "%s", s);
        snprintf(r->curves.stopped_by, sizeof r->curves.stopped_by, "%s", stop ? stop : "");
    }
    free(stop);
    free(s);
    H5Gclose(g);
    return rc;
}

static int read_records(const char *path, cell_record **recs, int *n, char *err, size_t errlen);

/* HDF5 1.10 itself misbehaves on some damaged files (found by tests/fuzz/fuzz_results): it can
 * crash (SIGSEGV in H5Aiterate2 -> H5A__close on a corrupt attribute table), hang, or fail to close
 * the file, leak its metadata cache and print "HDF5: infinite loop closing library" at exit.
 * So the file is first read in a child process (stderr silenced, default signal actions):
 * a child that dies of a signal means a damaged file, and a child that fails sends its message
 * back, so the caller's HDF5 library never touches a bad file. 1: read it here; -1: bad file;
 * -2: out of memory. */
static int probe_in_child(const char *path, off_t size, char *err, size_t errlen)
{
    /* HDF5 can also loop (for ever, as far as we waited) in H5HG_read on a damaged global heap:
     * the child gets a time limit far above any real read (60 s + 1 s per MB) */
    unsigned limit = 60 + (unsigned)(size / 1000000);
    int fd[2];
    if (pipe(fd) != 0)
        return 1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return 1;   /* cannot probe: read directly */
    }
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 2);   /* what the child says (also t2rec's exit-inside-HDF5 message) */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        signal(SIGFPE, SIG_DFL);
        signal(SIGILL, SIG_DFL);
        signal(SIGABRT, SIG_DFL);
        signal(SIGALRM, SIG_DFL);
        alarm(limit);
        cell_record *r = NULL;
        int m = 0;
        char e[1024] = "";
        int rr = read_records(path, &r, &m, e, sizeof e);
        if (rr == 0)
            _exit(0);
        /* CHILD_MSG marks the child's own message among whatever else reached stderr */
        if (write(fd[1], CHILD_MSG, 1) < 0 || write(fd[1], e, strlen(e)) < 0)
            _exit(1);
        _exit(rr == -2 ? 3 : 1);   /* 3: out of memory */
    }
    close(fd[1]);
    char msg[4096];
    size_t got = read_child_message(fd[0], msg, sizeof msg);
    close(fd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 1;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
        seterr(err, errlen, "%s: damaged HDF5 file? (the HDF5 library did not finish reading it "
               "in %u s)", path, limit);
        return -1;
    }
    if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL) {
        seterr(err, errlen, "%s: damaged HDF5 file, or out of memory (the HDF5 library crashed "
               "reading it: signal %d)", path, WTERMSIG(st));
        return -1;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
        /* 3: out of memory; or main.c's message after HDF5 exit()ed inside (out of memory) */
        if (got > 0 && (WEXITSTATUS(st) == 3 || strstr(msg, "t2rec: the HDF5 library ended"))) {
            while (got > 0 && msg[got - 1] == '\n')
                msg[--got] = '\0';
            for (char *p = msg; (p = strchr(p, '\n'));)
                *p = ';';
            const char *own = strrchr(msg, CHILD_MSG[0]);
            if (WEXITSTATUS(st) == 3)
                seterr(err, errlen, "%s", own ? own + 1 : msg);
            else
                seterr(err, errlen, "%s: out of memory reading it (%s)", path, msg);
            return -2;
        }
        /* the child's own message follows CHILD_MSG; anything else went to stderr from a
         * library (a sanitizer's warning or report, say) and is not the message */
        const char *own = strrchr(msg, CHILD_MSG[0]);
        if (own && own[1] && own[1] != '\n') {
            char *nl = strchr(own + 1, '\n');
            if (nl)
                *nl = '\0';
            seterr(err, errlen, "%s", own + 1);
        } else
            seterr(err, errlen, "%s: cannot be read (the reading process ended with exit %d and "
                   "no message: a damaged HDF5 file, or out of memory)", path, WEXITSTATUS(st));
        return -1;
    }
    return 1;
}

int h5out_read(const char *path, cell_record **recs, int *n, char *err, size_t errlen)
{
    return h5out_read_opts(path, 0, recs, n, err, errlen);
}

int h5out_read_opts(const char *path, int trusted, cell_record **recs, int *n, char *err,
                    size_t errlen)
{
    *recs = NULL;
    *n = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        seterr(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        seterr(err, errlen, "%s: is a directory, not a results file", path);
        return -1;
    }
#ifndef H5OUT_NO_PROBE   /* the libFuzzer build reads in-process, to see HDF5's faults itself */
    int pr = trusted ? 1 : probe_in_child(path, st.st_size, err, errlen);
    if (pr < 0)
        return pr;
#endif
    return read_records(path, recs, n, err, errlen);
}

static int read_records(const char *path, cell_record **recs, int *n, char *err, size_t errlen)
{
    h5_quiet q;
    quiet_on(&q);
    int rc = -1;
    hid_t f = -1, root = -1, cells = -1;
    name_list l = {0};
    cell_record *out = NULL;
    int nout = 0;
    errno = 0;
    if (H5Fis_hdf5(path) <= 0) {
        seterr(err, errlen, "%s: not an HDF5 file", path);
        goto done;
    }
    hid_t fapl = make_fapl();
    f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f < 0 ||
        (root = H5Gopen2(f, "/", H5P_DEFAULT)) < 0) {
        seterr(err, errlen, "%s: cannot open the HDF5 file (damaged?)", path);
        goto done;
    }
    int64_t ver = 0;
    if (H5Aexists(root, "t2rec_schema") <= 0) {
        seterr(err, errlen,
               "%s: no results schema version (attribute /t2rec_schema): not a t2rec results file? "
               "this t2rec reads results schema version %d",
               path, H5OUT_SCHEMA_VERSION);
        goto done;
    }
    if (attr_read_num(root, "t2rec_schema", H5T_NATIVE_INT64, &ver) != 0) {
        seterr(err, errlen, "%s: attribute /t2rec_schema is not an integer; this t2rec reads results schema version %d",
               path, H5OUT_SCHEMA_VERSION);
        goto done;
    }
    if (ver < H5OUT_SCHEMA_OLDEST || ver > H5OUT_SCHEMA_VERSION) {
        seterr(err, errlen, "%s: results schema version %lld, this t2rec reads %d to %d", path,
               (long long)ver, H5OUT_SCHEMA_OLDEST, H5OUT_SCHEMA_VERSION);
        goto done;
    }
    if (H5Lexists(root, "cells", H5P_DEFAULT) <= 0 || (cells = H5Gopen2(root, "cells", H5P_DEFAULT)) < 0) {
        seterr(err, errlen, "%s: missing group /cells", path);
        goto done;
    }
    if (H5Lexists(root, "table", H5P_DEFAULT) <= 0) {
        seterr(err, errlen, "%s: missing table /table", path);
        goto done;
    }
    hsize_t idx = 0;
    if (H5Literate(cells, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &l) < 0 || l.failed) {
        seterr(err, errlen, "%s: cannot list /cells", path);
        goto done;
    }
    out = calloc((size_t)(l.n > 0 ? l.n : 1), sizeof *out);
    if (!out) {
        seterr(err, errlen, "%s: out of memory", path);
        rc = -2;
        goto done;
    }
    for (int k = 0; k < l.n; k++) {
        char msg[512];
        record_init(&out[k]);
        nout = k + 1;
        if (read_cell(cells, l.name[k], (int)ver, &out[k], msg, sizeof msg) != 0) {
            seterr(err, errlen, "%s: /cells/%s: %s", path, l.name[k], msg);
            goto done;
        }
        /* keys newer than the record, at the defaults it was computed with (config.h) */
        if (cfg_fill_keyed_defaults(&out[k].config) != 0) {
            seterr(err, errlen, "%s: out of memory", path);
            rc = -2;
            goto done;
        }
    }
    rc = 0;
done:
    /* an allocation failed inside HDF5, which then reports e.g. a missing group: memory ran
     * out, or a damaged length asked for too much (cannot be told apart: bad input, -1) */
    if (rc == -1 && errno == ENOMEM)
        seterr(err, errlen, "%s: cannot read it: out of memory, or a damaged file", path);
    if (cells >= 0)
        H5Gclose(cells);
    if (root >= 0)
        H5Gclose(root);
    if (f >= 0)
        H5Fclose(f);
    quiet_off(&q);
    name_list_free(&l);
    if (rc != 0) {
        h5out_free_records(out, nout);
        return rc;
    }
    *recs = out;
    *n = nout;
    return 0;
}

void h5out_free_records(cell_record *recs, int n)
{
    if (!recs)
        return;
    for (int k = 0; k < n; k++)
        record_free(&recs[k]);
    free(recs);
}

/* ---------------------------------------------------------------- merge */

static const char *end_time(const cell_record *r)
{
    return kv_str(&r->provenance, "end_time", "");
}

static const char *rec_key_at(const void *ctx, int pos)
{
    return (*(cell_record *const *)ctx)[pos].key;
}

int h5out_merge(cell_record **acc, int *n, const cell_record *more, int m)
{
    if (m <= 0)
        return 0;
    /* room for every new record at once (one realloc, not one per record) */
    cell_record *p = realloc(*acc, (size_t)(*n + m) * sizeof *p);
    if (!p)
        return -1;
    *acc = p;
    keyindex ix;
    keyindex_init(&ix);
    int rc = 0;
    for (int k = 0; k < *n && rc == 0; k++)
        if (keyindex_find(&ix, (*acc)[k].key, rec_key_at, acc) < 0)
            rc = keyindex_add(&ix, (*acc)[k].key, k, rec_key_at, acc);
    for (int j = 0; j < m && rc == 0; j++) {
        const cell_record *src = &more[j];
        int at = keyindex_find(&ix, src->key, rec_key_at, acc);
        if (at >= 0) {
            if (strcmp(end_time(src), end_time(&(*acc)[at])) < 0)
                continue; /* the record we have is newer */
            cell_record c;
            if (record_copy(&c, src) != 0) {
                rc = -1;
                break;
            }
            record_free(&(*acc)[at]);
            (*acc)[at] = c;
        } else {
            if (record_copy(&(*acc)[*n], src) != 0 ||
                keyindex_add(&ix, src->key, *n, rec_key_at, acc) != 0) {
                rc = -1;
                break;
            }
            (*n)++;
        }
    }
    keyindex_free(&ix);
    return rc;
}

/* ---------------------------------------------------------------- CSV export */

void h5out_csv_field(FILE *f, const char *s)
{
    if (!s)
        s = "";
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_double(FILE *f, double x)
{
    if (isnan(x))
        fputs("nan", f);
    else if (isinf(x))
        fputs(x > 0 ? "inf" : "-inf", f);
    else
        fprintf(f, "%.17g", x);
}

typedef struct {
    const char *full;   /* config key */
    int section;        /* display order: 0 experiment, 1 data, 2 method, 3 method keys, 4 other */
    char *col;          /* column name */
} csv_col;

static int section_of(const char *key, const char **bare)
{
    static const struct {
        const char *prefix;
        int section;
    } secs[] = {{"experiment.", 0}, {"data.", 1}, {"method.", 3}};
    if (strcmp(key, "method") == 0) {
        *bare = key;
        return 2;
    }
    for (size_t k = 0; k < sizeof secs / sizeof secs[0]; k++) {
        size_t l = strlen(secs[k].prefix);
        if (strncmp(key, secs[k].prefix, l) == 0) {
            *bare = key + l;
            return secs[k].section;
        }
    }
    const char *dot = strchr(key, '.');
    *bare = dot ? dot + 1 : key;
    return 4;
}

static int cmp_col(const void *a, const void *b)
{
    const csv_col *x = a, *y = b;
    if (x->section != y->section)
        return x->section - y->section;
    return strcmp(x->full, y->full);
}

static const cell_record *sort_base;

static int cmp_rec_idx(const void *a, const void *b)
{
    const cell_record *x = &sort_base[*(const int *)a], *y = &sort_base[*(const int *)b];
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    if (x->replicate != y->replicate)
        return x->replicate < y->replicate ? -1 : 1;
    return strcmp(end_time(x), end_time(y));
}

static int name_taken(const kvset *used, const char *name)
{
    return kv_get(used, name) != NULL;
}

int h5out_export_csv_opts(FILE *f, const cell_record *recs, int n, int include_timing)
{
    int rc = -1;
    kvset keys, extra, used;
    kv_init(&keys);
    kv_init(&extra);
    kv_init(&used);
    csv_col *cols = NULL;
    int *order = NULL;
    /* union of config keys and of non-standard metric names */
    for (int r = 0; r < n; r++) {
        for (int k = 0; k < recs[r].config.n; k++)
            if (kv_set(&keys, recs[r].config.key[k], "") != 0)
                goto done;
        for (int k = 0; k < recs[r].metrics.n; k++) {
            int std = 0;
            for (int s = 0; s < H5OUT_N_STD_METRICS; s++)
                std |= strcmp(recs[r].metrics.name[k], h5out_std_metrics[s]) == 0;
            if (!std && kv_set(&extra, recs[r].metrics.name[k], "") != 0)
                goto done;
        }
    }
    /* fixed columns reserve their names */
    static const char *const fixed[] = {"replicate", "seed", "data_seed", "key", "status",
                                        "reason", "fit_seconds", "epochs_run", "best_epoch",
                                        "stopped_by"};
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        if (kv_set(&used, fixed[k], "") != 0)
            goto done;
    for (int k = 0; k < H5OUT_N_STD_METRICS; k++)
        if (kv_set(&used, h5out_std_metrics[k], "") != 0)
            goto done;
    for (int k = 0; k < extra.n; k++)
        if (kv_set(&used, extra.key[k], "") != 0)
            goto done;
    cols = calloc((size_t)(keys.n > 0 ? keys.n : 1), sizeof *cols);
    if (!cols)
        goto done;
    for (int k = 0; k < keys.n; k++) {
        const char *bare;
        cols[k].full = keys.key[k];
        cols[k].section = section_of(keys.key[k], &bare);
    }
    /* names: data keys first, then method, other sections, method keys, experiment keys;
     * a name already taken becomes the full key with '.' -> '_' (method_epochs, experiment_seed) */
    static const int priority[] = {1, 2, 4, 3, 0};
    for (size_t p = 0; p < sizeof priority / sizeof priority[0]; p++)
        for (int k = 0; k < keys.n; k++) {
            if (cols[k].section != priority[p])
                continue;
            const char *bare;
            section_of(cols[k].full, &bare);
            char *name = strdup(bare);
            if (!name)
                goto done;
            if (name_taken(&used, name)) {
                free(name);
                if (!(name = strdup(cols[k].full)))
                    goto done;
                for (char *c = name; *c; c++)
                    if (*c == '.')
                        *c = '_';
                if (name_taken(&used, name)) {
                    free(name);
                    if (!(name = strdup(cols[k].full)))
                        goto done;
                }
            }
            cols[k].col = name;
            if (kv_set(&used, name, "") != 0)
                goto done;
        }
    qsort(cols, (size_t)keys.n, sizeof *cols, cmp_col);

    order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    if (!order)
        goto done;
    for (int r = 0; r < n; r++)
        order[r] = r;
    sort_base = recs;
    qsort(order, (size_t)n, sizeof *order, cmp_rec_idx);

    /* header */
    for (int k = 0; k < keys.n; k++) {
        h5out_csv_field(f, cols[k].col);
        fputc(',', f);
    }
    fputs("replicate,seed,data_seed,key,status,reason", f);
    for (int k = 0; k < H5OUT_N_STD_METRICS; k++)
        fprintf(f, ",%s", h5out_std_metrics[k]);
    for (int k = 0; k < extra.n; k++) {
        fputc(',', f);
        h5out_csv_field(f, extra.key[k]);
    }
    if (include_timing)
        fputs(",fit_seconds", f);
    fputs(",epochs_run,best_epoch,stopped_by\n", f);

    /* rows */
    for (int o = 0; o < n; o++) {
        const cell_record *r = &recs[order[o]];
        for (int k = 0; k < keys.n; k++) {
            h5out_csv_field(f, kv_get(&r->config, cols[k].full));
            fputc(',', f);
        }
        fprintf(f, "%d,%" PRIu64 ",%" PRIu64 ",", r->replicate, r->train_seed, r->data_seed);
        h5out_csv_field(f, r->key);
        fputc(',', f);
        h5out_csv_field(f, r->status);
        fputc(',', f);
        h5out_csv_field(f, r->reason);
        for (int k = 0; k < H5OUT_N_STD_METRICS + extra.n; k++) {
            const char *name = k < H5OUT_N_STD_METRICS ? h5out_std_metrics[k] : extra.key[k - H5OUT_N_STD_METRICS];
            fputc(',', f);
            for (int j = 0; j < r->metrics.n; j++)
                if (strcmp(r->metrics.name[j], name) == 0) {
                    csv_double(f, r->metrics.value[j]);
                    break;
                }
        }
        if (include_timing) {
            fputc(',', f);
            csv_double(f, r->fit_seconds);
        }
        fprintf(f, ",%d,%d,", r->epochs_run, r->curves.best_epoch);
        h5out_csv_field(f, r->curves.stopped_by);
        fputc('\n', f);
    }
    rc = ferror(f) ? -1 : 0;
done:
    if (cols)
        for (int k = 0; k < keys.n; k++)
            free(cols[k].col);
    free(cols);
    free(order);
    kv_free(&keys);
    kv_free(&extra);
    kv_free(&used);
    return rc;
}

int h5out_export_csv(FILE *f, const cell_record *recs, int n)
{
    return h5out_export_csv_opts(f, recs, n, 1);
}
