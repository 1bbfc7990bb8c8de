/* test_datafile.c — dataset HDF5 files: a generated dataset written by dfile_write reads back
 * (covariates equal, h5dump lists every promised object and attribute, split sizes match),
 * the write is atomic (no temp file left, a failed write leaves nothing), and non-HDF5 or
 * incomplete files give clear errors naming the file and the missing object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datafile.h"
#include "synth.h"
#include "testutil.h"

static void small_params(synth_params *p)
{
    synth_params_default(p);
    p->seed = 42;
    p->n_obs = 600;
    p->user_intrinsic_dim = 2;
    p->item_intrinsic_dim = 3;
    p->user_ambient_dim = 8;
    p->item_ambient_dim = 6;
    p->test_cold_pairs = 500;
    p->test_warm_pairs = 200;
}

/* Number of directory entries whose name contains part. */
static int count_entries(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, part) != NULL;
    closedir(d);
    return n;
}

static void test_roundtrip(void **state)
{
    (void)state;
    synth_params p;
    small_params(&p);
    synth_dataset s;
    char err[512];
    if (synth_generate(&p, &s, err, sizeof err))
        fail_msg("synth_generate: %s", err);
    char dir[512], path[600];
    assert_non_null(tu_tmpdir("datafile", dir, sizeof dir));
    snprintf(path, sizeof path, "%s/data.h5", dir);
    const char *cfg = "[data]\nn_obs = 600\nuser_intrinsic_dim = 2\n";
    if (dfile_write(path, &s, cfg, err, sizeof err))
        fail_msg("dfile_write: %s", err);
    assert_int_equal(count_entries(dir, ".tmp."), 0);

    for (int side = 0; side < 2; side++) {
        double *x;
        int n, D;
        if (dfile_read_covariates(path, side, &x, &n, &D, err, sizeof err))
            fail_msg("%s", err);
        int want_n = side ? s.n_items + s.n_cold_items : s.n_users + s.n_cold_users;
        int want_D = side ? p.item_ambient_dim : p.user_ambient_dim;
        assert_int_equal(n, want_n);
        assert_int_equal(D, want_D);
        assert_memory_equal(x, side ? s.item_x : s.user_x, (size_t)n * D * sizeof *x);
        free(x);
        /* the configured d, printed by `t2rec intdim DATA.h5` next to the estimates */
        assert_int_equal(dfile_read_declared_dim(path, side),
                         side ? p.item_intrinsic_dim : p.user_intrinsic_dim);
    }
    assert_int_equal(dfile_read_declared_dim(dir, 0), 0);   /* not a dataset file: unknown */

    /* h5dump lists the promised objects */
    char out[20000], cmd[1400];
    snprintf(cmd, sizeof cmd, "h5dump -n 1 '%s'", path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    const char *paths[] = {"/config", "/users/z", "/users/x", "/items/z", "/items/x",
                           "/splits/train/user", "/splits/train/item", "/splits/train/rating",
                           "/splits/train/oracle", "/splits/valid/oracle", "/splits/test_warm/user",
                           "/splits/test_cold/rating", "/splits/test_cold/oracle", "/seed",
                           "/t2rec_version", "/n_users", "/n_items", "/n_cold_users",
                           "/n_cold_items", "/rstar_mean", "/rstar_var", "/rstar_kurtosis",
                           "/oracle_offset", NULL};
    for (int k = 0; paths[k]; k++)
        if (!strstr(out, paths[k]))
            fail_msg("h5dump -n does not list %s:\n%s", paths[k], out);
    /* values: attributes and a split's size */
    snprintf(cmd, sizeof cmd, "h5dump -a /n_users -a /seed -d /config '%s'", path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    char want[64];
    snprintf(want, sizeof want, "(0): %d", s.n_users);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "(0): 42"));
    assert_non_null(strstr(out, "user_intrinsic_dim = 2"));
    snprintf(cmd, sizeof cmd, "h5dump -H -d /splits/test_cold/oracle '%s'", path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    snprintf(want, sizeof want, "( %ld )", s.test_cold.n);
    if (!strstr(out, want))
        fail_msg("expected dims %s in:\n%s", want, out);

    /* overwriting an existing file replaces it whole */
    if (dfile_write(path, &s, "", err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(count_entries(dir, ".tmp."), 0);
    assert_int_equal(count_entries(dir, "data.h5"), 1);
    synth_dataset_free(&s);
}

static void expect_read_error(const char *path, int side, const char *part)
{
    double *x = (double *)1;
    int n = -1, D = -1;
    char err[512] = "";
    int rc = dfile_read_covariates(path, side, &x, &n, &D, err, sizeof err);
    printf("  %s\n", err);
    assert_int_equal(rc, -1);
    assert_null(x);
    assert_true(strncmp(err, path, strlen(path)) == 0);
    if (!strstr(err, part))
        fail_msg("error '%s' does not mention '%s'", err, part);
}

static void test_bad_files(void **state)
{
    (void)state;
    char dir[512], path[600];
    assert_non_null(tu_tmpdir("datafile_bad", dir, sizeof dir));
    snprintf(path, sizeof path, "%s/garbage.h5", dir);
    tu_write_file(path, "this is not an HDF5 file\n");
    expect_read_error(path, 0, "not an HDF5 file");
    snprintf(path, sizeof path, "%s/absent.h5", dir);
    expect_read_error(path, 0, "cannot open");

    /* a valid HDF5 file without the groups; then with /users but no /items/x */
    snprintf(path, sizeof path, "%s/empty.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    H5Fclose(f);
    expect_read_error(path, 0, "missing /users");
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "/users", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    g = H5Gcreate2(f, "/items", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    H5Fclose(f);
    expect_read_error(path, 0, "missing /users/x");
    expect_read_error(path, 1, "missing /items/x");

    /* an unwritable destination fails cleanly and leaves nothing behind */
    synth_params p;
    small_params(&p);
    synth_dataset s;
    char err[512];
    if (synth_generate(&p, &s, err, sizeof err))
        fail_msg("synth_generate: %s", err);
    snprintf(path, sizeof path, "%s/no/such/dir/out.h5", dir);
    assert_int_equal(dfile_write(path, &s, "", err, sizeof err), -1);
    printf("  %s\n", err);
    assert_true(strncmp(err, path, strlen(path)) == 0);
    synth_dataset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
