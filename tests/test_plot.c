/* test_plot.c — the figures: plot_all writes the .dat, the driver .gp and the copied scripts,
 * gnuplot renders them (and renders them again when run by hand in the output folder, the
 * documented way to restyle), each method has its own colour when only the method varies and
 * keeps it in every figure, the data setting decides the colour when it varies as much as the
 * method, the methods figure holds the mean and 95% t-interval per group, and the CLI exits 2
 * (writing nothing) for an unknown metric or a scripts folder without the scripts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include "h5out.h"
#include "plot.h"
#include "testutil.h"

static int have_gnuplot(void)
{
    return tu_run("gnuplot --version", NULL, 0) == 0;
}

/* A synthetic cell: method, d, n_obs, replicate; excess risk err; a 5-epoch learning curve. */
static void make_rec(cell_record *r, const char *method, int d, double nobs, int rep, double err)
{
    record_init(r);
    char buf[64];
    kv_set(&r->config, "method", method);
    snprintf(buf, sizeof buf, "%d", d);
    kv_set(&r->config, "data.user_intrinsic_dim", buf);
    kv_set(&r->config, "data.item_intrinsic_dim", buf);
    snprintf(buf, sizeof buf, "%.0f", nobs);
    kv_set(&r->config, "data.n_obs", buf);
    kv_set(&r->config, "data.beta", "1");
    kv_set(&r->config, "data.truth", "lacunary");
    kv_set(&r->config, "data.user_ambient_dim", "16");
    kv_set(&r->config, "data.item_ambient_dim", "16");
    kv_set(&r->config, "experiment.name", "t");
    r->replicate = rep;
    r->data_seed = 7000 + (uint64_t)rep;
    snprintf(r->status, sizeof r->status, "ok");
    snprintf(r->key, sizeof r->key, "%08x%08x", (unsigned)(nobs), (unsigned)(rep * 64 + d * 8 + (int)method[0]));
    metrics_add(&r->metrics, "excess_risk_cold", err);
    metrics_add(&r->metrics, "excess_risk_warm", err * 0.8);
    for (int e = 0; e < 5; e++)
        est_curves_push(&r->curves, err * (5 - e), sqrt(err * (5 - e)), err * (1 + 0.2 * (4 - e)), 0.1 * e);
    snprintf(r->curves.stopped_by, sizeof r->curves.stopped_by, "patience");
}

static void free_recs(cell_record *recs, int n)
{
    for (int i = 0; i < n; i++)
        record_free(&recs[i]);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b)
        b[n] = 0;
    fclose(f);
    return b;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The integers of `array NAME[k] = [a, b, ...]` in a driver script; returns k (or -1). */
static int int_array(const char *text, const char *name, int *v, int max)
{
    char pat[64];
    snprintf(pat, sizeof pat, "array %s[", name);
    const char *p = strstr(text, pat);
    if (!p)
        return -1;
    p = strchr(p, '=');
    if (!p || !(p = strchr(p, '[')))
        return -1;
    int k = 0;
    for (p++; *p && *p != ']' && k < max; k++) {
        char *end;
        v[k] = (int)strtol(p, &end, 10);
        if (end == p)
            return -1;
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return k;
}

/* The k-th (0-based) string of `array NAME[..] = ["..", ..]` copied to buf (escapes kept). */
static int str_elem(const char *text, const char *name, int k, char *buf, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof pat, "array %s[", name);
    const char *p = strstr(text, pat);
    if (!p || !(p = strchr(p, '=')))
        return -1;
    for (int i = 0; i <= k; i++) {
        p = strchr(p + 1, '"');
        if (!p)
            return -1;
        const char *q = p + 1;
        while (*q && *q != '"')
            q += *q == '\\' && q[1] ? 2 : 1;
        if (i == k) {
            snprintf(buf, n, "%.*s", (int)(q - p - 1), p + 1);
            return 0;
        }
        p = q;
    }
    return -1;
}

/* twotower, mf and baseline on one data setting: 4 n_obs levels x 3 replicates each. */
static int methods_only(cell_record *recs)
{
    static const char *const meth[] = {"baseline", "mf", "twotower"};
    int n = 0;
    for (int m = 0; m < 3; m++)
        for (int l = 0; l < 4; l++)
            for (int rep = 0; rep < 3; rep++)
                make_rec(&recs[n++], meth[m], 2, 1024.0 * (1 << l), rep,
                         m == 2 ? 0.3 * pow(2, -0.5 * l) * (1 + 0.05 * rep) : 1.0 + 0.01 * rep);
    return n;
}

/* The files are written, gnuplot renders them, and rerunning gnuplot by hand on the kept data
 * in the output folder (after an edit of the style) renders again. */
static void test_files_and_render(void **state)
{
    (void)state;
    if (!have_gnuplot())
        skip();
    char dir[512], p[900], out[4096];
    tu_tmpdir("plot_files", dir, sizeof dir);
    cell_record recs[64];
    int n = methods_only(recs);
    char err[512];
    FILE *log = tmpfile();
    plot_opts o = {.outdir = dir, .prefix = "t", .run_gnuplot = 1, .out = log};
    if (plot_all(recs, n, &o, err, sizeof err) != 0)
        fail_msg("plot_all: %s", err);
    static const char *const fig[] = {"convergence", "learning", "methods"};
    for (int k = 0; k < 3; k++) {
        static const char *const ext[] = {".dat", ".gp", ".png", ".pdf"};
        for (int e = 0; e < 4; e++) {
            snprintf(p, sizeof p, "%s/t_%s%s", dir, fig[k], ext[e]);
            if (file_size(p) <= 0)
                fail_msg("%s missing or empty", p);
        }
        snprintf(p, sizeof p, "%s/%s.gp", dir, fig[k]);   /* the copied script */
        assert_true(file_size(p) > 0);
        snprintf(p, sizeof p, "%s/t_%s.gp.log", dir, fig[k]);   /* gnuplot said nothing */
        char *l = slurp(p);
        assert_non_null(l);
        if (*l)
            fail_msg("gnuplot wrote to %s: %s", p, l);
        free(l);
    }
    /* the listing names the figures and how to redraw */
    rewind(log);
    size_t got = fread(out, 1, sizeof out - 1, log);
    out[got] = 0;
    fclose(log);
    assert_non_null(strstr(out, "t_convergence.png"));
    assert_non_null(strstr(out, "t_methods.png"));
    assert_non_null(strstr(out, "gnuplot"));
    /* the .dat holds the data: 3 groups x 4 levels of the convergence figure */
    snprintf(p, sizeof p, "%s/t_convergence.dat", dir);
    char *dat = slurp(p);
    assert_non_null(dat);
    int rows = 0;
    for (char *line = dat; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        rows += *line != '#' && *line != '\n';
    assert_int_equal(rows, 12);
    free(dat);
    /* restyle by hand: a colour changed in the copied style.gp, the PNG drawn again from the
     * kept .dat by gnuplot alone */
    snprintf(p, sizeof p, "%s/t_convergence.png", dir);
    remove(p);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && sed -i 's/#1f77b4/#000000/' style.gp && gnuplot t_convergence.gp", dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_true(file_size(p) > 0);
    free_recs(recs, n);
}

/* Only the method varies: every method its own colour, the same one in every figure. */
static void test_colour_per_method(void **state)
{
    (void)state;
    char dir[512], p[900];
    tu_tmpdir("plot_colours", dir, sizeof dir);
    cell_record recs[64];
    int n = methods_only(recs);
    char err[512];
    plot_opts o = {.outdir = dir, .prefix = "t", .run_gnuplot = 0};
    if (plot_all(recs, n, &o, err, sizeof err) != 0)
        fail_msg("plot_all: %s", err);
    free_recs(recs, n);
    static const char *const fig[] = {"convergence", "learning", "methods"};
    int c[3][8], nc[3];
    char lab[3][8][256];
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof p, "%s/t_%s.gp", dir, fig[k]);
        char *t = slurp(p);
        assert_non_null(t);
        nc[k] = int_array(t, "cidx", c[k], 8);
        assert_int_equal(nc[k], 3);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(str_elem(t, "label", i, lab[k][i], sizeof lab[k][i]), 0);
            for (int j = 0; j < i; j++)
                if (c[k][i] == c[k][j])
                    fail_msg("%s: '%s' and '%s' share colour %d", fig[k], lab[k][i], lab[k][j], c[k][i]);
        }
        free(t);
    }
    /* the same method has the same colour in every figure (labels start with the method) */
    for (int k = 1; k < 3; k++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                char a[64], b[64];
                sscanf(lab[0][i], "%63[^: ]", a);
                sscanf(lab[k][j], "%63[^: ]", b);
                if (!strcmp(a, b) && c[0][i] != c[k][j])
                    fail_msg("%s: colour %d in the convergence figure, %d in %s", a, c[0][i], c[k][j], fig[k]);
            }
    /* the title names the metric in words and the fixed settings */
    snprintf(p, sizeof p, "%s/t_convergence.gp", dir);
    char *t = slurp(p);
    assert_non_null(strstr(t, "Excess risk on fresh users and items (test\\\\_cold)"));
    assert_non_null(strstr(t, "truth = lacunary"));
    assert_non_null(strstr(t, "D = 16"));
    assert_non_null(strstr(t, "β = 1"));
    free(t);
}

/* d and the method both vary (2 x 2, the demo): the colour follows d, the method the dash. */
static void test_colour_per_setting(void **state)
{
    (void)state;
    char dir[512], p[900];
    tu_tmpdir("plot_colours2", dir, sizeof dir);
    cell_record recs[64];
    int n = 0;
    for (int m = 0; m < 2; m++)
        for (int d = 2; d <= 4; d += 2)
            for (int l = 0; l < 3; l++)
                for (int rep = 0; rep < 2; rep++)
                    make_rec(&recs[n++], m ? "twotower" : "baseline", d, 1024.0 * (1 << l), rep,
                             m ? 0.3 * pow(2, -0.3 * l) : 1.0);
    char err[512];
    plot_opts o = {.outdir = dir, .prefix = "t", .run_gnuplot = 0};
    if (plot_all(recs, n, &o, err, sizeof err) != 0)
        fail_msg("plot_all: %s", err);
    free_recs(recs, n);
    snprintf(p, sizeof p, "%s/t_convergence.gp", dir);
    char *t = slurp(p);
    assert_non_null(t);
    int c[8], dt[8];
    assert_int_equal(int_array(t, "cidx", c, 8), 4);
    assert_int_equal(int_array(t, "dtype", dt, 8), 4);
    char l0[256], l2[256];
    assert_int_equal(str_elem(t, "label", 0, l0, sizeof l0), 0);
    assert_int_equal(str_elem(t, "label", 2, l2, sizeof l2), 0);
    /* groups sorted by method then d: baseline d=2, baseline d=4, twotower d=2, twotower d=4 */
    assert_non_null(strstr(l0, "baseline d=2"));
    assert_non_null(strstr(l2, "twotower d=2"));
    assert_int_equal(c[0], c[2]);
    assert_int_equal(c[1], c[3]);
    assert_int_not_equal(c[0], c[1]);
    assert_int_not_equal(dt[0], dt[2]);
    free(t);
}

/* Real data (folds, no n_obs axis): the methods figure has rmse, precision_at_10, ndcg_at_10
 * panels with the mean and 95% t-interval over the folds. */
static void test_methods_real_data(void **state)
{
    (void)state;
    char dir[512], p[900];
    tu_tmpdir("plot_methods", dir, sizeof dir);
    cell_record recs[16];
    int n = 0;
    static const char *const meth[] = {"baseline", "mf"};
    static const double rmse[2][5] = {{0.95, 0.94, 0.96, 0.93, 0.97}, {0.91, 0.92, 0.90, 0.93, 0.89}};
    for (int m = 0; m < 2; m++)
        for (int f = 0; f < 5; f++) {
            cell_record *r = &recs[n++];
            record_init(r);
            char fold[16];
            snprintf(fold, sizeof fold, "u%d", f + 1);
            kv_set(&r->config, "method", meth[m]);
            kv_set(&r->config, "data.source", "movielens100k");
            kv_set(&r->config, "data.path", "data/ml-100k");
            kv_set(&r->config, "data.fold", fold);
            snprintf(r->status, sizeof r->status, "ok");
            snprintf(r->key, sizeof r->key, "00000000000000%d%d", m & 7, f & 7);
            metrics_add(&r->metrics, "rmse", rmse[m][f]);
            metrics_add(&r->metrics, "precision_at_10", 0.05 + 0.02 * m + 0.001 * f);
            metrics_add(&r->metrics, "ndcg_at_10", 0.1 + 0.03 * m);
        }
    char err[512];
    plot_opts o = {.outdir = dir, .prefix = "ml", .run_gnuplot = have_gnuplot()};
    if (plot_all(recs, n, &o, err, sizeof err) != 0)
        fail_msg("plot_all: %s", err);
    free_recs(recs, n);
    snprintf(p, sizeof p, "%s/ml_convergence.gp", dir);
    assert_true(file_size(p) < 0);   /* no n_obs axis: no convergence figure */
    snprintf(p, sizeof p, "%s/ml_methods.gp", dir);
    char *t = slurp(p);
    assert_non_null(t);
    assert_non_null(strstr(t, "npanels = 3"));
    assert_non_null(strstr(t, "RMSE on the test ratings"));
    assert_non_null(strstr(t, "Precision\\\\@10"));
    assert_non_null(strstr(t, "MovieLens 100K"));
    int c[4];
    assert_int_equal(int_array(t, "cidx", c, 4), 2);
    assert_int_not_equal(c[0], c[1]);
    free(t);
    /* block 0 = rmse of baseline: mean 0.95, t(0.975, 4) * sd / sqrt(5) */
    snprintf(p, sizeof p, "%s/ml_methods.dat", dir);
    char *dat = slurp(p);
    assert_non_null(dat);
    char *line = dat;
    while (*line == '#')
        line = strchr(line, '\n') + 1;
    double x, mean, lo, hi;
    int cnt;
    assert_int_equal(sscanf(line, "%lf %lf %lf %lf %d", &x, &mean, &lo, &hi, &cnt), 5);
    double sd = sqrt((0.0 + 0.0001 + 0.0001 + 0.0004 + 0.0004) / 4);
    double half = 2.7764451051977987 * sd / sqrt(5);
    assert_int_equal(cnt, 5);
    assert_true(fabs(mean - 0.95) < 1e-9);
    assert_true(fabs(lo - (0.95 - half)) < 1e-9 && fabs(hi - (0.95 + half)) < 1e-9);
    free(dat);
    if (o.run_gnuplot) {
        snprintf(p, sizeof p, "%s/ml_methods.png", dir);
        assert_true(file_size(p) > 0);
    }
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int k = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        k += e->d_name[0] != '.';
    closedir(d);
    return k;
}

/* CLI: an unknown metric exits 2 and names the file's metrics, a scripts folder without the
 * scripts exits 2; neither writes anything. */
static void test_cli_errors(void **state)
{
    (void)state;
    char dir[512], path[700], cmd[2048], out[8192], od[700];
    tu_tmpdir("plot_cli", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/r.h5", dir);
    snprintf(od, sizeof od, "%s/figs", dir);
    cell_record recs[64];
    int n = methods_only(recs);
    char err[512];
    if (h5out_write(path, recs, n, err, sizeof err) != 0)
        fail_msg("h5out_write: %s", err);
    free_recs(recs, n);
    snprintf(cmd, sizeof cmd, "'%s' plot '%s' --metric excess_risk_clod -o '%s'", tu_t2rec(), path, od);
    assert_int_equal(tu_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "unknown metric 'excess_risk_clod'"));
    assert_non_null(strstr(out, "excess_risk_warm"));
    assert_true(count_files(od) <= 0);
    snprintf(cmd, sizeof cmd, "'%s' plot '%s' --scripts '%s' -o '%s'", tu_t2rec(), path, dir, od);
    assert_int_equal(tu_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "--scripts"));
    assert_true(count_files(od) <= 0);
    snprintf(cmd, sizeof cmd, "'%s' plot --help", tu_t2rec());
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "gnuplot PREFIX_convergence.gp"));
    snprintf(cmd, sizeof cmd, "'%s' plot '%s' -o '%s' --no-render --metric excess_risk_warm", tu_t2rec(), path, od);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    char gp[800];
    snprintf(gp, sizeof gp, "%.700s/r_convergence_excess_risk_warm.gp", od);
    assert_true(file_size(gp) > 0);
    snprintf(gp, sizeof gp, "%.700s/r_methods_excess_risk_warm.gp", od);   /* one panel, own name */
    char *t = slurp(gp);
    assert_non_null(t);
    assert_non_null(strstr(t, "npanels = 1"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_and_render),
        cmocka_unit_test(test_colour_per_method),
        cmocka_unit_test(test_colour_per_setting),
        cmocka_unit_test(test_methods_real_data),
        cmocka_unit_test(test_cli_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
