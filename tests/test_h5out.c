/* test_h5out.c — the results store: bit-exact round trip of every record field, atomic
 * writes (no temp files, clean failure on a bad directory), schema-version and damaged-file
 * messages, newest-per-key merge, sorted and order-independent CSV export, the h5py reader
 * (tests/reference/check_results.py) and h5dump, and the export/merge commands. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "h5out.h"
#include "provenance.h"
#include "store.h"
#include "testutil.h"

/* ---------------------------------------------------------------- fixtures */

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* A record with every field set from (idx, seed): config, metrics (one NaN, one extra name),
 * curves of n_epochs entries (non-round numbers), provenance, a reason needing CSV quoting. */
static void make_record(cell_record *r, int idx, int n_epochs, const char *end_time)
{
    char buf[128];
    record_init(r);
    snprintf(r->key, sizeof r->key, "%016llx", 0x9e3779b97f4a7c15ULL * (unsigned long long)(idx + 1));
    r->replicate = idx % 3;
    r->data_seed = 0xfedcba9876543210ULL + (uint64_t)idx;     /* above 2^63: needs uint64 */
    r->train_seed = 0x8000000000000001ULL * (uint64_t)(idx + 3);
    kv_set(&r->config, "experiment.name", "unit");
    kv_set(&r->config, "experiment.seed", "7");
    snprintf(buf, sizeof buf, "%d", 1024 << (idx % 4));
    kv_set(&r->config, "data.n_obs", buf);
    kv_set(&r->config, "data.user_intrinsic_dim", "2");
    kv_set(&r->config, "data.item_intrinsic_dim", "4");
    kv_set(&r->config, "data.user_ambient_dim", "32");
    kv_set(&r->config, "data.item_ambient_dim", "16");
    snprintf(buf, sizeof buf, "%.17g", 0.5 + idx / 3.0);
    kv_set(&r->config, "data.beta", buf);
    kv_set(&r->config, "method", idx % 2 ? "mf" : "twotower");
    kv_set(&r->config, "method.epochs", "100");
    kv_set(&r->config, "method.note_text", "a, \"quoted\" value");
    if (idx % 2) {
        snprintf(r->status, sizeof r->status, "failed");
        record_set_reason(r, "fit: non-finite loss at epoch 7, \"diverged\"");
    } else {
        snprintf(r->status, sizeof r->status, "ok");
        record_set_reason(r, "");
    }
    metrics_add(&r->metrics, "excess_risk_cold", 1.0 / (3.0 + idx));
    metrics_add(&r->metrics, "excess_risk_warm", sqrt(2.0) * (idx + 1));
    metrics_add(&r->metrics, "rmse_cold", NAN);
    metrics_add(&r->metrics, "ndcg_at_10", exp(-1.0 / (idx + 1)));
    metrics_add(&r->metrics, "custom_metric", -M_PI * 1e-300);
    r->fit_seconds = 0.1 * (idx + 1) / 7.0;
    r->epochs_run = n_epochs;
    for (int e = 0; e < n_epochs; e++)
        assert_int_equal(est_curves_push(&r->curves, 1.0 / (e + 1.0 + idx), sin(e + 0.5),
                                         e == 2 ? NAN : cos(e) / 3.0, 0.01 * e * M_E), 0);
    r->curves.epochs_run = n_epochs;
    r->curves.best_epoch = n_epochs / 2;
    static const char *const stops[3] = {"patience", "cap", ""};
    snprintf(r->curves.stopped_by, sizeof r->curves.stopped_by, "%s", stops[idx % 3]);
    r->curves.n_fallback = 123456789012LL + idx;
    snprintf(r->curves.note, sizeof r->curves.note, "width %d (theory)", 64 + idx);
    assert_int_equal(prov_collect(&r->provenance), 0);
    kv_set(&r->provenance, "start_time", "2024-01-01T00:00:00.000Z");
    kv_set(&r->provenance, "end_time", end_time);
    /* a record of this version carries every key (reading fills older records: see below) */
    assert_int_equal(cfg_fill_keyed_defaults(&r->config), 0);
}

static void assert_kv_equal(const kvset *a, const kvset *b)
{
    assert_int_equal(a->n, b->n);
    for (int k = 0; k < a->n; k++) {
        assert_string_equal(a->key[k], b->key[k]);
        assert_string_equal(a->val[k], b->val[k]);
    }
}

static void assert_record_equal(const cell_record *a, const cell_record *b)
{
    assert_string_equal(a->key, b->key);
    assert_int_equal(a->replicate, b->replicate);
    assert_true(a->data_seed == b->data_seed);
    assert_true(a->train_seed == b->train_seed);
    assert_kv_equal(&a->config, &b->config);
    assert_string_equal(a->status, b->status);
    assert_string_equal(a->reason ? a->reason : "", b->reason ? b->reason : "");
    assert_int_equal(a->metrics.n, b->metrics.n);
    for (int k = 0; k < a->metrics.n; k++) {
        assert_string_equal(a->metrics.name[k], b->metrics.name[k]);
        assert_true(same_bits(a->metrics.value[k], b->metrics.value[k]));
    }
    assert_true(same_bits(a->fit_seconds, b->fit_seconds));
    assert_int_equal(a->epochs_run, b->epochs_run);
    assert_int_equal(a->curves.n, b->curves.n);
    for (int e = 0; e < a->curves.n; e++) {
        assert_true(same_bits(a->curves.train_loss[e], b->curves.train_loss[e]));
        assert_true(same_bits(a->curves.valid_rmse[e], b->curves.valid_rmse[e]));
        assert_true(same_bits(a->curves.test_excess[e], b->curves.test_excess[e]));
        assert_true(same_bits(a->curves.wall_seconds[e], b->curves.wall_seconds[e]));
    }
    assert_int_equal(a->curves.epochs_run, b->curves.epochs_run);
    assert_int_equal(a->curves.best_epoch, b->curves.best_epoch);
    assert_string_equal(a->curves.stopped_by, b->curves.stopped_by);
    assert_true(a->curves.n_fallback == b->curves.n_fallback);
    assert_string_equal(a->curves.note, b->curves.note);
    assert_kv_equal(&a->provenance, &b->provenance);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

#define NREC 5

static void make_records(cell_record *r, int n)
{
    for (int k = 0; k < n; k++)
        make_record(&r[k], k, k == 3 ? 0 : 40 + 13 * k, "2024-01-01T00:00:01.000Z");
}

static void free_records(cell_record *r, int n)
{
    for (int k = 0; k < n; k++)
        record_free(&r[k]);
}

static const cell_record *find_key(const cell_record *r, int n, const char *key)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(r[k].key, key))
            return &r[k];
    return NULL;
}

/* Remove a test's temporary directory once the test has passed (kept on failure). */
static void cleanup(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(tu_run(cmd, NULL, 0), 0);
}

/* ---------------------------------------------------------------- tests */

static void test_round_trip(void **state)
{
    (void)state;
    char dir[256], path[512], err[1024];
    assert_non_null(tu_tmpdir("h5out_rt", dir, sizeof dir));
    snprintf(path, sizeof path, "%s/results.h5", dir);
    cell_record recs[NREC];
    make_records(recs, NREC);
    assert_int_equal(h5out_write(path, recs, NREC, err, sizeof err), 0);
    assert_int_equal(count_entries(dir), 1); /* no temp file left */

    cell_record *back;
    int n;
    assert_int_equal(h5out_read(path, &back, &n, err, sizeof err), 0);
    assert_int_equal(n, NREC);
    for (int k = 1; k < n; k++) /* returned sorted by key */
        assert_true(strcmp(back[k - 1].key, back[k].key) < 0);
    for (int k = 0; k < NREC; k++) {
        const cell_record *b = find_key(back, n, recs[k].key);
        assert_non_null(b);
        assert_record_equal(&recs[k], b);
    }
    assert_true(isnan(metrics_get(&back[0].metrics, "rmse_cold")));

    /* rewriting what was read gives the same records again; an empty file is valid */
    assert_int_equal(h5out_write(path, back, n, err, sizeof err), 0);
    cell_record *again;
    int n2;
    assert_int_equal(h5out_read(path, &again, &n2, err, sizeof err), 0);
    assert_int_equal(n2, n);
    for (int k = 0; k < n; k++)
        assert_record_equal(&back[k], &again[k]);
    h5out_free_records(again, n2);
    assert_int_equal(h5out_write(path, NULL, 0, err, sizeof err), 0);
    assert_int_equal(h5out_read(path, &again, &n2, err, sizeof err), 0);
    assert_int_equal(n2, 0);
    h5out_free_records(again, n2);
    assert_int_equal(count_entries(dir), 1);

    /* record_copy is deep: freeing the source leaves the copy intact */
    cell_record c;
    assert_int_equal(record_copy(&c, &back[1]), 0);
    h5out_free_records(back, n);
    const cell_record *orig = find_key(recs, NREC, c.key);
    assert_non_null(orig);
    assert_record_equal(orig, &c);
    record_free(&c);
    free_records(recs, NREC);
    cleanup(dir);
}

/* A record written before pop_gamma, protocol, ... existed (no such keys in its config) reads
 * back with their defaults, so it groups with a newer record of the same cell; a value away
 * from the default is kept; keys of another source are not added. */
static void test_older_records_get_newer_keys(void **state)
{
    (void)state;
    char dir[256], path[512], err[1024];
    assert_non_null(tu_tmpdir("h5out_old", dir, sizeof dir));
    snprintf(path, sizeof path, "%s/results.h5", dir);
    cell_record recs[3];
    for (int k = 0; k < 3; k++) {
        make_record(&recs[k], k, 2, "2024-01-01T00:00:01.000Z");
        kv_free(&recs[k].config);
        kv_init(&recs[k].config);
        kv_set(&recs[k].config, "data.n_obs", "1024");
        kv_set(&recs[k].config, "method", "twotower");
    }
    kv_set(&recs[1].config, "data.pop_gamma", "0.25");
    kv_set(&recs[2].config, "data.source", "movielens100k");
    assert_int_equal(h5out_write(path, recs, 3, err, sizeof err), 0);
    cell_record *back;
    int n;
    assert_int_equal(h5out_read(path, &back, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    const cell_record *b0 = find_key(back, n, recs[0].key), *b1 = find_key(back, n, recs[1].key),
                      *b2 = find_key(back, n, recs[2].key);
    assert_non_null(b0);
    assert_non_null(b1);
    assert_non_null(b2);
    assert_string_equal(kv_get(&b0->config, "data.pop_gamma"), "0.5");
    assert_string_equal(kv_get(&b0->config, "data.protocol"), "random");
    assert_string_equal(kv_get(&b0->config, "data.kshot"), "-1");
    assert_string_equal(kv_get(&b0->config, "data.user_drift"), "0");
    assert_null(kv_get(&b0->config, "data.temporal_valid"));   /* a movielens100k key */
    assert_string_equal(kv_get(&b1->config, "data.pop_gamma"), "0.25");
    assert_string_equal(kv_get(&b2->config, "data.temporal_valid"), "0.2");
    assert_null(kv_get(&b2->config, "data.user_drift"));        /* a synthetic key */
    assert_string_equal(kv_get(&b0->config, "data.n_obs"), "1024");
    h5out_free_records(back, n);
    free_records(recs, 3);
    cleanup(dir);
}

static void test_atomic_write_errors(void **state)
{
    (void)state;
    char dir[256], path[512], err[1024];
    assert_non_null(tu_tmpdir("h5out_atomic", dir, sizeof dir));
    cell_record recs[2];
    make_records(recs, 2);

    /* missing directory: a clear message naming the path, nothing created */
    snprintf(path, sizeof path, "%s/no_such_dir/out.h5", dir);
    err[0] = 0;
    assert_int_equal(h5out_write(path, recs, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file or directory"));
    assert_int_equal(count_entries(dir), 0);

    /* a regular file where the directory should be */
    char file[512];
    snprintf(file, sizeof file, "%s/plainfile", dir);
    assert_int_equal(tu_write_file(file, "x"), 0);
    snprintf(path, sizeof path, "%s/plainfile/out.h5", dir);
    assert_int_equal(h5out_write(path, recs, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_int_equal(count_entries(dir), 1);

    /* a read-only directory (meaningful only when not root: root may write anywhere) */
    if (geteuid() != 0) {
        char ro[300];
        snprintf(ro, sizeof ro, "%s/ro", dir);
        assert_int_equal(mkdir(ro, 0555), 0);
        snprintf(path, sizeof path, "%s/out.h5", ro);
        assert_int_equal(h5out_write(path, recs, 2, err, sizeof err), -1);
        assert_non_null(strstr(err, "not writable"));
        assert_int_equal(count_entries(ro), 0);
        chmod(ro, 0755);
        rmdir(ro);
    }

    /* a failing update (duplicate keys) leaves the old file as it was */
    snprintf(path, sizeof path, "%s/good.h5", dir);
    assert_int_equal(h5out_write(path, recs, 1, err, sizeof err), 0);
    cell_record dup[2];
    assert_int_equal(record_copy(&dup[0], &recs[1]), 0);
    assert_int_equal(record_copy(&dup[1], &recs[1]), 0);
    assert_int_equal(h5out_write(path, dup, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "two records have the cell key"));
    cell_record *back;
    int n;
    assert_int_equal(h5out_read(path, &back, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_record_equal(&recs[0], &back[0]);
    h5out_free_records(back, n);
    assert_int_equal(count_entries(dir), 2); /* plainfile + good.h5: no temp files */
    free_records(dup, 2);
    free_records(recs, 2);
    cleanup(dir);
}

/* Open path read-write and apply fn (with HDF5 calls written by hand). */
static void tamper(const char *path, void (*fn)(hid_t))
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    fn(f);
    assert_true(H5Fclose(f) >= 0);
}

static void set_version(hid_t f, int32_t v)
{
    hid_t a = H5Aopen_by_name(f, "/", "t2rec_schema", H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, H5T_NATIVE_INT32, &v) >= 0);
    H5Aclose(a);
}

static void set_version_99(hid_t f)
{
    set_version(f, 99);
}

static char tampered_key[17];

/* A schema 1 file: version 1, no stopped_by attribute in the cells. */
static void make_schema_1(hid_t f)
{
    set_version(f, 1);
    char p[128];
    snprintf(p, sizeof p, "/cells/%s", tampered_key);
    assert_true(H5Adelete_by_name(f, p, "stopped_by", H5P_DEFAULT) >= 0);
}

/* A schema 2 cell without stopped_by is malformed. */
static void drop_stopped_by(hid_t f)
{
    char p[128];
    snprintf(p, sizeof p, "/cells/%s", tampered_key);
    assert_true(H5Adelete_by_name(f, p, "stopped_by", H5P_DEFAULT) >= 0);
}

static void drop_version(hid_t f)
{
    assert_true(H5Adelete_by_name(f, "/", "t2rec_schema", H5P_DEFAULT) >= 0);
}

static void drop_table(hid_t f)
{
    assert_true(H5Ldelete(f, "/table", H5P_DEFAULT) >= 0);
}

static void drop_curve(hid_t f)
{
    char p[128];
    snprintf(p, sizeof p, "/cells/%s/curves/valid_rmse", tampered_key);
    assert_true(H5Ldelete(f, p, H5P_DEFAULT) >= 0);
}

static void expect_read_error(const char *path, const char *what)
{
    char err[1024] = "";
    cell_record *back = (cell_record *)1;
    int n = 99;
    assert_int_equal(h5out_read(path, &back, &n, err, sizeof err), -1);
    assert_null(back);
    assert_int_equal(n, 0);
    if (!strstr(err, path) || !strstr(err, what))
        fail_msg("message '%s' should name '%s' and say '%s'", err, path, what);
}

static void test_read_errors(void **state)
{
    (void)state;
    char dir[256], path[512], err[1024];
    assert_non_null(tu_tmpdir("h5out_schema", dir, sizeof dir));
    cell_record recs[2];
    make_records(recs, 2);
    snprintf(tampered_key, sizeof tampered_key, "%s", recs[1].key);

    snprintf(path, sizeof path, "%s/missing.h5", dir);
    expect_read_error(path, "No such file");
    snprintf(path, sizeof path, "%s/text.h5", dir);
    assert_int_equal(tu_write_file(path, "key,status\nabc,ok\n"), 0);
    expect_read_error(path, "not an HDF5 file");

    snprintf(path, sizeof path, "%s/v99.h5", dir);
    assert_int_equal(h5out_write(path, recs, 2, err, sizeof err), 0);
    tamper(path, set_version_99);
    expect_read_error(path, "results schema version 99, this t2rec reads 1 to 2");

    /* schema 1 files (before stopped_by) still read, stopped_by "" */
    snprintf(path, sizeof path, "%s/v1.h5", dir);
    assert_int_equal(h5out_write(path, recs, 2, err, sizeof err), 0);
    tamper(path, make_schema_1);
    cell_record *back = NULL;
    int nb = 0;
    assert_int_equal(h5out_read(path, &back, &nb, err, sizeof err), 0);
    assert_int_equal(nb, 2);
    for (int k = 0; k < nb; k++)   /* recs[1] had "cap": a schema 1 reader knows no stopped_by */
        assert_string_equal(back[k].curves.stopped_by, "");
    h5out_free_records(back, nb);
    snprintf(path, sizeof path, "%s/nostop.h5", dir);
    assert_int_equal(h5out_write(path, recs, 2, err, sizeof err), 0);
    tamper(path, drop_stopped_by);
    expect_read_error(path, "stopped_by");

    snprintf(path, sizeof path, "%s/nov.h5", dir);
    assert_int_equal(h5out_write(path, recs, 2, err, sizeof err), 0);
    tamper(path, drop_version);
    expect_read_error(path, "schema version");

    snprintf(path, sizeof path, "%s/notable.h5", dir);
    assert_int_equal(h5out_write(path, recs, 2, err, sizeof err), 0);
    tamper(path, drop_table);
    expect_read_error(path, "missing table /table");

    snprintf(path, sizeof path, "%s/nocurve.h5", dir);
    assert_int_equal(h5out_write(path, recs, 2, err, sizeof err), 0);
    tamper(path, drop_curve);
    expect_read_error(path, "curves/valid_rmse");
    free_records(recs, 2);
    cleanup(dir);
}

static void test_merge_newest(void **state)
{
    (void)state;
    cell_record a[3], b[4];
    /* acc: keys 0,1,2 ; more: key 0 newer, key 1 older, key 2 same time, key 3 new */
    make_record(&a[0], 0, 5, "2024-03-01T10:00:00.000Z");
    make_record(&a[1], 1, 5, "2024-03-01T10:00:00.000Z");
    make_record(&a[2], 2, 5, "2024-03-01T10:00:00.000Z");
    make_record(&b[0], 0, 7, "2024-03-01T10:00:00.001Z");
    make_record(&b[1], 1, 7, "2024-03-01T09:59:59.999Z");
    make_record(&b[2], 2, 7, "2024-03-01T10:00:00.000Z");
    make_record(&b[3], 3, 7, "2024-03-02T00:00:00.000Z");
    cell_record *acc = NULL;
    int n = 0;
    assert_int_equal(h5out_merge(&acc, &n, a, 3), 0);
    assert_int_equal(n, 3);
    assert_int_equal(h5out_merge(&acc, &n, b, 4), 0);
    assert_int_equal(n, 4);
    assert_record_equal(find_key(acc, n, a[0].key), &b[0]); /* newer wins */
    assert_record_equal(find_key(acc, n, a[1].key), &a[1]); /* older loses */
    assert_record_equal(find_key(acc, n, a[2].key), &b[2]); /* tie: later argument */
    assert_record_equal(find_key(acc, n, b[3].key), &b[3]); /* new key added */
    assert_int_equal(find_key(acc, n, a[0].key)->curves.n, 7);
    /* merging the same records again changes nothing (idempotent) */
    assert_int_equal(h5out_merge(&acc, &n, a, 3), 0);
    assert_int_equal(n, 4);
    assert_record_equal(find_key(acc, n, a[0].key), &b[0]);
    assert_record_equal(find_key(acc, n, a[1].key), &a[1]);
    assert_record_equal(find_key(acc, n, a[2].key), &a[2]); /* tie again: later argument */
    h5out_free_records(acc, n);
    free_records(a, 3);
    free_records(b, 4);
}

static char *export_to_string(const cell_record *r, int n, int timing)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(h5out_export_csv_opts(f, r, n, timing), 0);
    fclose(f);
    return buf;
}

/* Split one CSV line (with quoting) into fields; returns the count. */
static int csv_split(const char *line, char fields[][256], int max)
{
    int nf = 0;
    const char *p = line;
    while (nf < max) {
        char *o = fields[nf];
        size_t l = 0;
        if (*p == '"') {
            p++;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"')
                    p++;
                if (l < 255)
                    o[l++] = *p;
                p++;
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',' && *p != '\n') {
                if (l < 255)
                    o[l++] = *p;
                p++;
            }
        }
        o[l] = 0;
        nf++;
        if (*p != ',')
            break;
        p++;
    }
    return nf;
}

static int col_index(char hdr[][256], int nh, const char *name)
{
    for (int k = 0; k < nh; k++)
        if (!strcmp(hdr[k], name))
            return k;
    return -1;
}

static void test_export_csv(void **state)
{
    (void)state;
    cell_record recs[NREC], perm[NREC];
    make_records(recs, NREC);
    int order[NREC] = {3, 0, 4, 2, 1};
    for (int k = 0; k < NREC; k++)
        perm[k] = recs[order[k]]; /* shallow: same records, another order */
    char *a = export_to_string(recs, NREC, 1);
    char *b = export_to_string(perm, NREC, 1);
    assert_string_equal(a, b);
    char *c = export_to_string(perm, NREC, 0);

    static char hdr[64][256], row[64][256];
    char *line = a, *nl = strchr(line, '\n');
    assert_non_null(nl);
    int nh = csv_split(line, hdr, 64);
    /* config keys by bare name; experiment.seed renamed since 'seed' is the training seed */
    const char *want[] = {"name", "n_obs", "beta", "user_intrinsic_dim", "method", "epochs",
                          "note_text", "experiment_seed", "replicate", "seed", "data_seed", "key",
                          "status", "reason", "excess_risk_cold", "map_at_10", "custom_metric",
                          "fit_seconds", "epochs_run", "best_epoch", "stopped_by"};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if (col_index(hdr, nh, want[k]) < 0)
            fail_msg("column %s missing from header %.*s", want[k], (int)(nl - line), line);
    assert_int_equal(col_index(hdr, nh, "stopped_by"), nh - 1);
    assert_int_equal(col_index(hdr, nh, "best_epoch"), nh - 2);
    assert_int_equal(col_index(hdr, nh, "epochs_run"), nh - 3);
    assert_int_equal(col_index(hdr, nh, "fit_seconds"), nh - 4);
    assert_true(col_index(hdr, nh, "method") < col_index(hdr, nh, "epochs"));
    assert_true(col_index(hdr, nh, "excess_risk_cold") < col_index(hdr, nh, "map_at_10"));

    int ik = col_index(hdr, nh, "key"), iw = col_index(hdr, nh, "excess_risk_warm"),
        ir = col_index(hdr, nh, "rmse_cold"), im = col_index(hdr, nh, "map_at_10"),
        is = col_index(hdr, nh, "seed"), ire = col_index(hdr, nh, "reason"),
        inote = col_index(hdr, nh, "note_text"), ifit = col_index(hdr, nh, "fit_seconds"),
        ibest = col_index(hdr, nh, "best_epoch"), istop = col_index(hdr, nh, "stopped_by");
    char prev[64] = "";
    int rows = 0;
    for (line = nl + 1; *line; line = nl + 1, rows++) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_int_equal(csv_split(line, row, 64), nh);
        assert_true(strcmp(prev, row[ik]) < 0); /* sorted by key */
        snprintf(prev, sizeof prev, "%s", row[ik]);
        const cell_record *r = find_key(recs, NREC, row[ik]);
        assert_non_null(r);
        /* full precision: the printed numbers read back to the same bits */
        assert_true(same_bits(strtod(row[iw], NULL), metrics_get(&r->metrics, "excess_risk_warm")));
        assert_true(same_bits(strtod(row[ifit], NULL), r->fit_seconds));
        assert_string_equal(row[ir], "nan");
        assert_string_equal(row[im], ""); /* absent */
        assert_true(strtoull(row[is], NULL, 10) == r->train_seed);
        assert_string_equal(row[ire], r->reason);
        assert_string_equal(row[inote], "a, \"quoted\" value");
        assert_int_equal(atoi(row[ibest]), r->curves.best_epoch);
        assert_string_equal(row[istop], r->curves.stopped_by);
    }
    assert_int_equal(rows, NREC);

    /* --no-timing: same table without the fit_seconds column */
    assert_null(strstr(c, "fit_seconds"));
    int nl_a = 0, nl_c = 0;
    for (char *p = a; *p; p++)
        nl_a += *p == '\n';
    for (char *p = c; *p; p++)
        nl_c += *p == '\n';
    assert_int_equal(nl_a, nl_c);
    assert_int_equal(csv_split(c, hdr, 64), nh - 1);
    free(a);
    free(b);
    free(c);
    free_records(recs, NREC);
}

static void test_h5py_and_h5dump(void **state)
{
    (void)state;
    char dir[256], path[512], bad[512], err[1024], cmd[2048], out[8192];
    assert_non_null(tu_tmpdir("h5out_py", dir, sizeof dir));
    snprintf(path, sizeof path, "%s/results.h5", dir);
    cell_record recs[NREC];
    make_records(recs, NREC);
    assert_int_equal(h5out_write(path, recs, NREC, err, sizeof err), 0);

    snprintf(cmd, sizeof cmd, "%s tests/reference/check_results.py %s --expect-cells %d", tu_python(), path, NREC);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc != 0)
        fail_msg("check_results.py exit %d:\n%s", rc, out);
    /* the checker can fail: a wrong cell count, and a file with a curve removed */
    snprintf(cmd, sizeof cmd, "%s tests/reference/check_results.py %s --expect-cells %d", tu_python(), path, NREC + 1);
    assert_int_not_equal(tu_run(cmd, out, sizeof out), 0);
    snprintf(bad, sizeof bad, "%s/bad.h5", dir);
    assert_int_equal(h5out_write(bad, recs, NREC, err, sizeof err), 0);
    snprintf(tampered_key, sizeof tampered_key, "%s", recs[2].key);
    tamper(bad, drop_curve);
    snprintf(cmd, sizeof cmd, "%s tests/reference/check_results.py %s", tu_python(), bad);
    assert_int_not_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "valid_rmse"));

    snprintf(cmd, sizeof cmd, "h5dump -H %s", path);
    rc = tu_run(cmd, out, sizeof out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "t2rec_schema"));
    assert_non_null(strstr(out, "GROUP \"cells\""));
    free_records(recs, NREC);
    cleanup(dir);
}

static int have_binary(void)
{
    return access(tu_t2rec(), X_OK) == 0;
}

static void test_cli_export_merge(void **state)
{
    (void)state;
    if (!have_binary())
        skip();
    char dir[256], s1[512], s2[512], outp[512], err[1024], cmd[4096], out[16384];
    assert_non_null(tu_tmpdir("h5out_cli", dir, sizeof dir));
    cell_record recs[NREC];
    make_records(recs, NREC);
    snprintf(s1, sizeof s1, "%s/shard1.h5", dir);
    snprintf(s2, sizeof s2, "%s/shard2.h5", dir);
    snprintf(outp, sizeof outp, "%s/all.h5", dir);
    assert_int_equal(h5out_write(s1, recs, 3, err, sizeof err), 0);
    assert_int_equal(h5out_write(s2, recs + 3, NREC - 3, err, sizeof err), 0);
    snprintf(cmd, sizeof cmd, "%s merge %s %s %s", tu_t2rec(), outp, s1, s2);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc != 0)
        fail_msg("merge exit %d: %s", rc, out);
    cell_record *back;
    int n;
    assert_int_equal(h5out_read(outp, &back, &n, err, sizeof err), 0);
    assert_int_equal(n, NREC);
    h5out_free_records(back, n);

    /* export of the merged file equals the export of the records themselves */
    char csv[512], want[512];
    snprintf(csv, sizeof csv, "%s/all.csv", dir);
    snprintf(cmd, sizeof cmd, "%s export %s --csv --no-timing -o %s", tu_t2rec(), outp, csv);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    snprintf(want, sizeof want, "%s/want.csv", dir);
    FILE *f = fopen(want, "w");
    assert_non_null(f);
    assert_int_equal(h5out_export_csv_opts(f, recs, NREC, 0), 0);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cmp %s %s", csv, want);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);

    /* bad inputs: exit 2, message naming the file, output untouched */
    struct stat before, after;
    assert_int_equal(stat(outp, &before), 0);
    snprintf(cmd, sizeof cmd, "%s merge %s %s %s/nope.h5", tu_t2rec(), outp, s1, dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "nope.h5"));
    assert_int_equal(stat(outp, &after), 0);
    assert_true(before.st_ino == after.st_ino && before.st_mtime == after.st_mtime);
    snprintf(cmd, sizeof cmd, "%s export %s/nope.h5 --csv", tu_t2rec(), dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "nope.h5"));
    snprintf(cmd, sizeof cmd, "%s export %s --bogus", tu_t2rec(), outp);
    assert_int_equal(tu_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s merge --help && %s export --help", tu_t2rec(), tu_t2rec());
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    free_records(recs, NREC);
    cleanup(dir);
}

/* The sweep's store (src/store.h): staged cells survive a "crash" (no flush) and are folded in
 * by the next store_open; the results file is rewritten O(log n) times for n cells (so the cost
 * per cell does not grow with the sweep); after the final flush the file holds every cell and
 * no staged file is left. */
static void test_store(void **state)
{
    (void)state;
    char dir[256], path[512], err[1024];
    assert_non_null(tu_tmpdir("h5out_store", dir, sizeof dir));
    snprintf(path, sizeof path, "%s/s.h5", dir);
    const int n = 300;
    cell_record *recs = calloc(n, sizeof *recs);
    assert_non_null(recs);
    make_record(&recs[0], 0, 3, "2024-01-01T00:00:01.000Z");
    for (int k = 1; k < n; k++) {
        assert_int_equal(record_copy(&recs[k], &recs[0]), 0);
        snprintf(recs[k].key, sizeof recs[k].key, "%016x", 0xa0000000u + (unsigned)k);
    }
    /* 10 cells, then a crash: no rewrite yet (fewer than STORE_MIN_BATCH), 10 staged files */
    store s;
    int folded = -1;
    assert_int_equal(store_open(&s, path, &folded, err, sizeof err), 0);
    assert_int_equal(folded, 0);
    assert_int_equal(store_make_staging(&s, err, sizeof err), 0);
    for (int k = 0; k < 10; k++)
        assert_int_equal(store_put(&s, &recs[k], err, sizeof err), 0);
    assert_int_equal(s.flushes, 0);
    store_close(&s);
    struct stat st;
    assert_true(stat(path, &st) != 0);
    char staging[600];
    snprintf(staging, sizeof staging, "%s.cells", path);
    assert_int_equal(count_entries(staging), 10);
    /* reopen: the 10 are folded in and found through the index */
    assert_int_equal(store_open(&s, path, &folded, err, sizeof err), 0);
    assert_int_equal(folded, 10);
    assert_int_equal(s.n, 10);
    for (int k = 0; k < 10; k++)
        assert_non_null(store_find(&s, recs[k].key));
    assert_null(store_find(&s, recs[10].key));
    assert_int_equal(store_make_staging(&s, err, sizeof err), 0);
    for (int k = 10; k < n; k++)
        assert_int_equal(store_put(&s, &recs[k], err, sizeof err), 0);
    int during = s.flushes;
    assert_int_equal(store_flush(&s, 0, err, sizeof err), 0);
    /* doubling from 64: rewrites at 64, 128, 256 cells (+ the final one) */
    printf("%d cells: %d rewrites during the sweep, %d in all\n", n, during, s.flushes);
    assert_true(during >= 1 && during <= 3);
    store_cleanup(&s);
    store_close(&s);
    assert_true(stat(staging, &st) != 0);   /* no staged file left, the folder is gone */
    cell_record *back = NULL;
    int nb = 0;
    assert_int_equal(h5out_read(path, &back, &nb, err, sizeof err), 0);
    assert_int_equal(nb, n);
    for (int k = 0; k < n; k++)
        assert_record_equal(&back[k], find_key(recs, n, back[k].key));
    h5out_free_records(back, nb);
    for (int k = 0; k < n; k++)
        record_free(&recs[k]);
    free(recs);
    cleanup(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_older_records_get_newer_keys),
        cmocka_unit_test(test_atomic_write_errors),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_merge_newest),
        cmocka_unit_test(test_export_csv),
        cmocka_unit_test(test_h5py_and_h5dump),
        cmocka_unit_test(test_cli_export_merge),
        cmocka_unit_test(test_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
