/* test_config.c — config parsing, validation messages, sweep expansion, canonical keys, seeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <cmocka.h>
#include "config.h"
#include "estimator.h"
#include "testutil.h"

static char tmpdir[512];

static const char *write_cfg(const char *name, const char *text)
{
    static char path[8][768];
    static int slot;
    char *p = path[slot++ % 8];
    snprintf(p, 768, "%s/%s", tmpdir, name);
    assert_int_equal(tu_write_file(p, text), 0);
    return p;
}

static cfg *load_ok(const char *path)
{
    cfg *c = NULL;
    char err[1024] = "";
    int rc = cfg_load(path, &c, err, sizeof err);
    if (rc != 0)
        print_error("unexpected error: %s\n", err);
    assert_int_equal(rc, 0);
    assert_non_null(c);
    return c;
}

#define cfg_method_count_for_test cfg_n_methods

/* cfg_expand, or cfg_expand_data for the data-only configs of these tests */
static int expand(const cfg *c, cfg_cell **cells)
{
    int n = 0;
    char err[1024] = "";
    int rc = cfg_method_count_for_test(c) ? cfg_expand(c, cells, &n, err, sizeof err)
                                          : cfg_expand_data(c, cells, &n, err, sizeof err);
    if (rc != 0)
        print_error("expand: %s\n", err);
    assert_int_equal(rc, 0);
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted list of the cell keys of a config text, joined by spaces. */
static char *keys_of(const char *name, const char *text)
{
    cfg *c = load_ok(write_cfg(name, text));
    cfg_cell *cells;
    int n = expand(c, &cells);
    const char **k = malloc((size_t)n * sizeof *k);
    for (int j = 0; j < n; j++)
        k[j] = cells[j].key;
    qsort(k, (size_t)n, sizeof *k, cmp_str);
    char *out = calloc((size_t)n * 17 + 1, 1);
    for (int j = 0; j < n; j++) {
        strcat(out, k[j]);
        strcat(out, " ");
    }
    free(k);
    cfg_cells_free(cells, n);
    cfg_free(c);
    return out;
}

static const char *BASE_SECTIONS[] = {
    "[experiment]\nname = base\nseed = 7\nreplicates = 2\n",
    "[data]\nsource = synthetic\nn_obs = 1024, 2048\nuser_intrinsic_dim = 2, 3\n"
    "item_intrinsic_dim = 2, 3\nuser_ambient_dim = 8\nitem_ambient_dim = 8\nbeta = 1.5\n"
    "noise = 0.2\ntruth = bumps\n",
    "[zip]\naxes = user_intrinsic_dim, item_intrinsic_dim\n",
    "[method.twotower]\ndepth = 2\nwidth = 16, 32\nlr = 0.01\nepochs = 5\n",
    "[method.oracle]\n",
};

/* Shuffle the key lines within each section and the order of the sections. */
static char *shuffled(unsigned seed)
{
    int ns = (int)(sizeof BASE_SECTIONS / sizeof *BASE_SECTIONS);
    int order[8];
    for (int k = 0; k < ns; k++)
        order[k] = k;
    srand(seed);
    for (int k = ns - 1; k > 0; k--) {
        int j = rand() % (k + 1), t = order[k];
        order[k] = order[j];
        order[j] = t;
    }
    char *out = calloc(8192, 1);
    for (int s = 0; s < ns; s++) {
        char buf[2048];
        snprintf(buf, sizeof buf, "%s", BASE_SECTIONS[order[s]]);
        char *lines[32];
        int nl = 0;
        for (char *p = strtok(buf, "\n"); p; p = strtok(NULL, "\n"))
            lines[nl++] = p;
        for (int k = nl - 1; k > 1; k--) {   /* lines[0] is the header */
            int j = 1 + rand() % k;
            char *t = lines[k];
            lines[k] = lines[j];
            lines[j] = t;
        }
        for (int k = 0; k < nl; k++) {
            strcat(out, lines[k]);
            strcat(out, "\n");
        }
        strcat(out, "\n");
    }
    return out;
}

static void test_order_independent(void **state)
{
    (void)state;
    char *base = shuffled(0);
    char *ref = keys_of("shuf0.ini", base);
    /* 2 n_obs x 2 zipped dims x 2 replicates x (2 widths + oracle) = 24 distinct keys */
    assert_int_equal((int)strlen(ref), 24 * 17);
    for (unsigned s = 1; s <= 6; s++) {
        char *text = shuffled(s);
        char name[32];
        snprintf(name, sizeof name, "shuf%u.ini", s);
        char *keys = keys_of(name, text);
        assert_string_equal(keys, ref);
        free(keys);
        free(text);
    }
    free(ref);
    free(base);
}

/* A config without axes: one cell; each single-value change must change its key. */
static const char *single_cell(const char *key, const char *val, char *buf, size_t n)
{
    static const char *lines[][2] = {
        {"experiment", NULL},     {"seed", "3"},           {"replicates", "1"},
        {"data", NULL},           {"n_obs", "512"},        {"obs_per_user", "8"},
        {"obs_per_item", "8"},    {"user_intrinsic_dim", "2"}, {"item_intrinsic_dim", "2"},
        {"user_ambient_dim", "6"}, {"item_ambient_dim", "6"}, {"manifold", "linear"},
        {"ambient_noise", "0"},   {"truth", "lacunary"},   {"truth_levels", "3"},
        {"beta", "1"},            {"truth_dim", "3"},      {"noise", "0.1"},
        {"noise_dist", "student_t"}, {"noise_df", "5"},    {"stars", "0"},
        {"sampling", "popularity"}, {"zipf_s", "1"},       {"mnar_strength", "1"},
        {"test_cold_pairs", "1000"}, {"test_warm_pairs", "500"}, {"valid_fraction", "0.1"},
        {"cold_list_size", "20"},
        {"method.twotower", NULL}, {"depth", "2"},         {"width", "16"},
        {"lr", "0.01"},           {"epochs", "3"},         {"batch", "64"},
        {NULL, NULL},
    };
    /* a conditional key is written only where it acts (else the config is refused) */
    static const char *cond[][3] = {
        {"noise_df", "noise_dist", "student_t"}, {"zipf_s", "sampling", "popularity"},
        {"mnar_strength", "sampling", "mnar"},    {"truth_levels", "truth", "lacunary"},
    };
    size_t at = 0;
    for (int k = 0; lines[k][0]; k++) {
        int skip = 0;
        for (int q = 0; q < 4; q++)
            if (!strcmp(lines[k][0], cond[q][0])) {
                const char *v = NULL;
                for (int j = 0; lines[j][0]; j++)
                    if (!strcmp(lines[j][0], cond[q][1]))
                        v = key && !strcmp(key, cond[q][1]) ? val : lines[j][1];
                skip = strcmp(v, cond[q][2]) != 0;
            }
        if (skip)
            continue;
        if (!lines[k][1])
            at += (size_t)snprintf(buf + at, n - at, "[%s]\n", lines[k][0]);
        else
            at += (size_t)snprintf(buf + at, n - at, "%s = %s\n", lines[k][0],
                                   key && !strcmp(key, lines[k][0]) ? val : lines[k][1]);
    }
    return buf;
}

static void test_single_value_changes_key(void **state)
{
    (void)state;
    static const char *alt[][2] = {
        {"seed", "4"},           {"n_obs", "600"},         {"obs_per_user", "9"},
        {"obs_per_item", "7.5"}, {"user_intrinsic_dim", "3"}, {"item_intrinsic_dim", "1"},
        {"user_ambient_dim", "7"}, {"item_ambient_dim", "12"}, {"manifold", "curved"},
        {"ambient_noise", "0.01"}, {"truth", "smooth"},    {"truth_levels", "4"},
        {"beta", "1.25"},        {"truth_dim", "2"},       {"noise", "0.3"},
        {"noise_dist", "gaussian"}, {"noise_df", "4"},     {"stars", "1"},
        {"sampling", "mnar"},    {"zipf_s", "1.1"},
        {"test_cold_pairs", "999"}, {"test_warm_pairs", "400"}, {"valid_fraction", "0.2"},
        {"cold_list_size", "21"}, {"depth", "3"},          {"width", "theory"},
        {"lr", "0.02"},          {"epochs", "4"},          {"batch", "65"},
    };
    char buf[4096];
    char *base = keys_of("single.ini", single_cell(NULL, NULL, buf, sizeof buf));
    assert_int_equal((int)strlen(base), 17);
    int n = (int)(sizeof alt / sizeof *alt);
    char **seen = calloc((size_t)n, sizeof *seen);
    for (int k = 0; k < n; k++) {
        seen[k] = keys_of("single_alt.ini", single_cell(alt[k][0], alt[k][1], buf, sizeof buf));
        if (!strcmp(seen[k], base))
            print_error("changing %s did not change the key\n", alt[k][0]);
        assert_string_not_equal(seen[k], base);
        for (int j = 0; j < k; j++)
            assert_string_not_equal(seen[k], seen[j]);
    }
    for (int k = 0; k < n; k++)
        free(seen[k]);
    free(seen);
    /* renaming the experiment or its output does not change the key */
    char text[4200];
    snprintf(text, sizeof text, "%s[experiment]\n", single_cell(NULL, NULL, buf, sizeof buf));
    char *p = strstr(buf, "[experiment]\n");
    snprintf(text, sizeof text, "[experiment]\nname = other\noutput = /tmp/x.h5\n"
             "description = renamed, with a comma\n%s", p + strlen("[experiment]\n"));
    char *renamed = keys_of("renamed.ini", text);
    assert_string_equal(renamed, base);
    free(renamed);
    free(base);
}

/* Cell keys are what resume and merge match results by: a config of session 3 (commit 60f2e9e,
 * before the time, k-shot, drift and popularity keys existed) keeps its keys, written as
 * constants here (from `t2rec run g.ini --dry-run` of that commit). The keys added since join a
 * key only when set away from their default (cfg_keyed_if_changed). */
static const char *GOLDEN_CFG = "[experiment]\nname = golden\nseed = 3\nreplicates = 2\n"
                                "[data]\nn_obs = 512\nobs_per_user = 8\ntest_warm_pairs = 500\n"
                                "user_ambient_dim = 4\nitem_ambient_dim = 4\n%s"
                                "[method.twotower]\nepochs = 2\n[method.mf]\nrank = 4\n";

static void test_keys_stable_across_versions(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof text, GOLDEN_CFG, "");
    char *keys = keys_of("golden.ini", text);
    assert_string_equal(keys, "3604d4f857c96910 6780a271b4c1435d a847d1c23107d96d b8268080978def8d ");
    /* a newer key written at its default: the same cells */
    static const char *at_default[] = {"pop_gamma = 0.5\n", "kshot = -1\n", "protocol = random\n",
                                       "user_drift = 0\n", NULL};
    for (int k = 0; at_default[k]; k++) {
        snprintf(text, sizeof text, GOLDEN_CFG, at_default[k]);
        char *again = keys_of("golden_def.ini", text);
        if (strcmp(again, keys))
            print_error("writing %s at its default changed the keys\n", at_default[k]);
        assert_string_equal(again, keys);
        free(again);
    }
    /* set away from the default: other cells */
    static const char *changed[] = {"pop_gamma = 0.25\n", "protocol = temporal\n",
                                    "user_drift = 0.1\n", NULL};
    for (int k = 0; changed[k]; k++) {
        snprintf(text, sizeof text, GOLDEN_CFG, changed[k]);
        char *other = keys_of("golden_alt.ini", text);
        if (!strcmp(other, keys))
            print_error("%s did not change the keys\n", changed[k]);
        assert_string_not_equal(other, keys);
        free(other);
    }
    free(keys);
}

static void test_canonical_numbers(void **state)
{
    (void)state;
    char *a = keys_of("num_a.ini", "[data]\nbeta = 1\nnoise = 0.1\nn_obs = 2048\n"
                                   "[method.twotower]\nlr = 0.001\nwidth = 32\n");
    char *b = keys_of("num_b.ini", "[data]\nbeta = 1.0\nnoise = 0.10\nn_obs = +2048\n"
                                   "[method.twotower]\nlr = 1e-3\nwidth = 032\n");
    char *c = keys_of("num_c.ini", "[data]\nbeta = 1e0\nnoise = 1.0e-1\nn_obs = 2048\n"
                                   "[method.twotower]\nlr = 0.0010\nwidth = 32\n");
    /* defaults filled: writing the default value explicitly gives the same key */
    char *d = keys_of("num_d.ini", "[data]\nbeta = 1.00\nnoise = 0.1\nn_obs = 2048\n"
                                   "[method.twotower]\nwidth = 32\nlr = 1e-3\n");
    char *e = keys_of("num_e.ini", "[data]\nbeta = 1.01\nnoise = 0.1\nn_obs = 2048\n"
                                   "[method.twotower]\nwidth = 32\n");
    assert_string_equal(a, b);
    assert_string_equal(a, c);
    assert_string_equal(a, d);
    assert_string_not_equal(a, e);
    free(a), free(b), free(c), free(d), free(e);

    /* an omitted key gives the key of its default written in any spelling (issue 12 item 5:
     * the table's default text "1.0" used to enter the key as written) */
    const char *ws[] = {"", "width_scale = 1\n", "width_scale = 1.0\n", "width_scale = 1e0\n"};
    char *w0 = NULL;
    for (int k = 0; k < 4; k++) {
        char text[256], name[32];
        snprintf(text, sizeof text, "[data]\nn_obs = 2048\n[method.twotower]\nwidth = theory\n%s",
                 ws[k]);
        snprintf(name, sizeof name, "ws_%d.ini", k);
        char *wk = keys_of(name, text);
        if (k == 0)
            w0 = wk;
        else {
            assert_string_equal(wk, w0);
            free(wk);
        }
    }
    char *w2 = keys_of("ws_2.ini", "[data]\nn_obs = 2048\n[method.twotower]\nwidth = theory\n"
                                   "width_scale = 2\n");
    assert_string_not_equal(w2, w0);
    free(w2), free(w0);
    /* every resolved value in a cell is canonical, defaults included */
    cfg *cw = load_ok(write_cfg("ws_4.ini", "[method.twotower]\n"));
    cfg_cell *cc;
    int nc = expand(cw, &cc);
    for (int k = 0; k < cc[0].all.n; k++) {
        const char *key = cc[0].all.key[k], *val = cc[0].all.val[k];
        const param_spec *sp = !strncmp(key, "data.", 5) ? param_find(cfg_data_keys("synthetic"), key + 5)
                               : !strncmp(key, "method.", 7) ? param_find(est_find("twotower")->params, key + 7)
                                                             : NULL;
        if (!sp)
            continue;
        char canon[256];
        assert_int_equal(param_canonical(sp, val, canon, sizeof canon), 0);
        assert_string_equal(val, canon);
    }
    assert_string_equal(kv_get(&cc[0].method_params, "width_scale"), "1");
    cfg_cells_free(cc, nc);
    cfg_free(cw);

    cfg *cf = load_ok(write_cfg("num_f.ini", "[data]\nbeta = 1.0\nnoise = 1e-1\n[method.oracle]\n"));
    cfg_cell *cells;
    int n = expand(cf, &cells);
    assert_int_equal(n, 1);
    assert_string_equal(kv_get(&cells[0].data, "beta"), "1");
    assert_string_equal(kv_get(&cells[0].data, "noise"), "0.1");
    assert_string_equal(kv_get(&cells[0].all, "data.beta"), "1");
    assert_non_null(strstr(cells[0].canonical, "data.beta=1\n"));
    assert_non_null(strstr(cells[0].canonical, "replicate=0\n"));
    assert_null(strstr(cells[0].canonical, "experiment.name"));
    assert_string_equal(kv_get(&cells[0].all, "experiment.name"), "num_f");
    assert_string_equal(cfg_output(cf), "results/num_f.h5");
    assert_string_equal(cells[0].method, "oracle");
    cfg_cells_free(cells, n);
    cfg_free(cf);
}

static void test_cell_count_and_order(void **state)
{
    (void)state;
    cfg *c = load_ok(write_cfg("count.ini",
                               "[experiment]\nreplicates = 3\n"
                               "[data]\nn_obs = 1024, 2048, 4096\nbeta = 1, 2\n"
                               "[method.twotower]\nlr = 0.01, 0.001\nepochs = 2\n"
                               "[method.baseline]\n[method.oracle]\n"));
    cfg_cell *cells;
    int n = expand(c, &cells);
    assert_int_equal(cfg_n_methods(c), 3);
    assert_int_equal(n, 3 * 2 * 3 * (2 + 1 + 1));
    const char *ax[8];
    assert_int_equal(cfg_axes(c, "twotower", ax, 8), 3);
    assert_string_equal(ax[0], "n_obs");
    assert_string_equal(ax[1], "beta");
    assert_string_equal(ax[2], "lr");
    /* keys distinct, index = position, order: data axes (first slowest), replicate, method */
    for (int k = 0; k < n; k++) {
        assert_int_equal(cells[k].index, k);
        for (int j = 0; j < k; j++)
            assert_string_not_equal(cells[k].key, cells[j].key);
    }
    assert_string_equal(kv_get(&cells[0].data, "n_obs"), "1024");
    assert_string_equal(kv_get(&cells[n - 1].data, "n_obs"), "4096");
    assert_string_equal(kv_get(&cells[0].data, "beta"), "1");
    assert_string_equal(kv_get(&cells[12].data, "beta"), "2");    /* 3 reps x 4 method cells */
    assert_int_equal(cells[0].replicate, 0);
    assert_int_equal(cells[4].replicate, 1);
    assert_string_equal(cells[0].method, "twotower");
    assert_string_equal(cells[2].method, "baseline");
    assert_string_equal(cells[3].method, "oracle");
    assert_string_equal(kv_get(&cells[0].method_params, "lr"), "0.01");
    assert_string_equal(kv_get(&cells[1].method_params, "lr"), "0.001");
    assert_string_equal(kv_get(&cells[0].all, "method"), "twotower");
    assert_string_equal(kv_get(&cells[0].all, "method.lr"), "0.01");
    assert_string_equal(kv_get(&cells[0].all, "experiment.replicates"), "3");
    assert_non_null(kv_get(&cells[0].method_params, "depth"));   /* defaults filled */
    assert_int_equal(cells[3].method_params.n, 0);
    cfg_cells_free(cells, n);
    cfg_free(c);
}

static void test_zip(void **state)
{
    (void)state;
    const char *data = "[data]\nuser_intrinsic_dim = 1, 2, 4\nitem_intrinsic_dim = 1, 2, 4\n"
                       "n_obs = 1024, 2048\n";
    char text[1024];
    snprintf(text, sizeof text, "%s[zip]\naxes = user_intrinsic_dim, item_intrinsic_dim\n", data);
    cfg *c = load_ok(write_cfg("zip.ini", text));
    cfg_cell *cells;
    int n = expand(c, &cells);
    assert_int_equal(n, 3 * 2);
    for (int k = 0; k < n; k++)
        assert_string_equal(kv_get(&cells[k].data, "user_intrinsic_dim"),
                            kv_get(&cells[k].data, "item_intrinsic_dim"));
    cfg_cells_free(cells, n);
    cfg_free(c);
    c = load_ok(write_cfg("nozip.ini", data));
    n = expand(c, &cells);
    assert_int_equal(n, 3 * 3 * 2);
    int differ = 0;
    for (int k = 0; k < n; k++)
        differ += strcmp(kv_get(&cells[k].data, "user_intrinsic_dim"),
                         kv_get(&cells[k].data, "item_intrinsic_dim")) != 0;
    assert_int_equal(differ, 6 * 2);   /* 6 of the 9 (d_u, d_i) pairs differ, x 2 n_obs */
    cfg_cells_free(cells, n);
    cfg_free(c);
    /* zipped lists may repeat values as long as the combinations differ (the structure study) */
    c = load_ok(write_cfg("ziprep.ini", "[data]\nuser_intrinsic_dim = 1, 1, 3, 2, 3\n"
                                        "item_intrinsic_dim = 1, 3, 1, 2, 3\n[zip]\n"
                                        "axes = user_intrinsic_dim, item_intrinsic_dim\n"));
    n = expand(c, &cells);
    assert_int_equal(n, 5);
    const char *pairs[] = {"11", "13", "31", "22", "33"};
    for (int k = 0; k < n; k++) {
        char pr[8];
        snprintf(pr, sizeof pr, "%s%s", kv_get(&cells[k].data, "user_intrinsic_dim"),
                 kv_get(&cells[k].data, "item_intrinsic_dim"));
        int hit = 0;
        for (int j = 0; j < 5; j++)
            hit += strcmp(pr, pairs[j]) == 0;
        assert_int_equal(hit, 1);
        for (int j = 0; j < k; j++)   /* each combination once */
            assert_true(strcmp(kv_get(&cells[j].data, "user_intrinsic_dim"),
                               kv_get(&cells[k].data, "user_intrinsic_dim")) ||
                        strcmp(kv_get(&cells[j].data, "item_intrinsic_dim"),
                               kv_get(&cells[k].data, "item_intrinsic_dim")));
    }
    cfg_cells_free(cells, n);
    cfg_free(c);
    /* a zip group of method keys */
    c = load_ok(write_cfg("zipm.ini", "[method.twotower]\nwidth = 16, 32, 64\nlr = 0.1, 0.01, 0.001\n"
                                      "depth = 1, 2\n[zip]\naxes = method.twotower.width, "
                                      "method.twotower.lr\n"));
    n = expand(c, &cells);
    assert_int_equal(n, 3 * 2);
    for (int k = 0; k < n; k++) {
        long w = kv_int(&cells[k].method_params, "width", 0);
        double lr = kv_real(&cells[k].method_params, "lr", 0);
        assert_true((w == 16 && lr == 0.1) || (w == 32 && lr == 0.01) || (w == 64 && lr == 0.001));
    }
    cfg_cells_free(cells, n);
    cfg_free(c);
}

static void test_method_axes(void **state)
{
    (void)state;
    cfg *c = load_ok(write_cfg("maxes.ini", "[method.twotower]\ndepth = 1, 2\nwidth = 16, theory\n"));
    cfg_cell *cells;
    int n = expand(c, &cells);
    assert_int_equal(n, 4);
    int seen[4] = {0};
    for (int k = 0; k < n; k++) {
        int d = (int)kv_int(&cells[k].method_params, "depth", 0);
        const char *w = kv_get(&cells[k].method_params, "width");
        seen[(d - 1) * 2 + (strcmp(w, "theory") == 0)]++;
        assert_string_equal(cells[k].method, "twotower");
    }
    for (int k = 0; k < 4; k++)
        assert_int_equal(seen[k], 1);
    cfg_cells_free(cells, n);
    cfg_free(c);
}

static void test_seeds(void **state)
{
    (void)state;
    cfg *c = load_ok(write_cfg("seeds.ini", "[experiment]\nseed = 11\nreplicates = 3\n"
                                            "[data]\nn_obs = 1024, 2048, 4096\n"
                                            "[method.twotower]\n[method.baseline]\n"));
    cfg_cell *cells;
    int n = expand(c, &cells);
    assert_int_equal(n, 3 * 3 * 2);
    for (int a = 0; a < n; a++)
        for (int b = 0; b < a; b++) {
            if (cells[a].replicate == cells[b].replicate)
                assert_true(cells[a].data_seed == cells[b].data_seed);
            else
                assert_true(cells[a].data_seed != cells[b].data_seed);
            assert_true(cells[a].train_seed != cells[b].train_seed);
        }
    /* the synth params of a cell carry its data seed */
    synth_params p;
    char err[512];
    assert_int_equal(cfg_cell_synth_params(c, &cells[0], &p, err, sizeof err), 0);
    assert_true(p.seed == cells[0].data_seed);
    assert_int_equal(p.n_obs, 1024);
    uint64_t s0 = cells[0].data_seed;
    cfg_cells_free(cells, n);
    cfg_free(c);
    /* another master seed moves every seed */
    c = load_ok(write_cfg("seeds2.ini", "[experiment]\nseed = 12\nreplicates = 3\n"
                                        "[data]\nn_obs = 1024, 2048, 4096\n"));
    n = expand(c, &cells);
    assert_true(cells[0].data_seed != s0);
    cfg_cells_free(cells, n);
    cfg_free(c);
}

/* The defaults of the [data] table are synth_params_default's. */
static void test_defaults_from_synth(void **state)
{
    (void)state;
    cfg *c = load_ok(write_cfg("defaults.ini", "[method.oracle]\n"));
    cfg_cell *cells;
    int n = expand(c, &cells);
    assert_int_equal(n, 1);
    assert_string_equal(cells[0].method, "oracle");
    synth_params p, d;
    char err[512];
    assert_int_equal(cfg_cell_synth_params(c, &cells[0], &p, err, sizeof err), 0);
    synth_params_default(&d);
    assert_int_equal(p.n_obs, d.n_obs);
    assert_true(p.obs_per_user == d.obs_per_user && p.obs_per_item == d.obs_per_item);
    assert_int_equal(p.user_intrinsic_dim, d.user_intrinsic_dim);
    assert_int_equal(p.item_ambient_dim, d.item_ambient_dim);
    assert_int_equal(p.manifold, d.manifold);
    assert_int_equal(p.truth, d.truth);
    assert_int_equal(p.truth_levels, d.truth_levels);
    assert_true(p.beta == d.beta && p.noise == d.noise && p.noise_df == d.noise_df);
    assert_true(p.zipf_s == d.zipf_s && p.mnar_strength == d.mnar_strength);
    assert_true(p.valid_fraction == d.valid_fraction && p.ambient_noise == d.ambient_noise);
    assert_int_equal(p.sampling, d.sampling);
    assert_int_equal(p.noise_dist, d.noise_dist);
    assert_int_equal(p.test_cold_pairs, d.test_cold_pairs);
    assert_int_equal(p.test_warm_pairs, d.test_warm_pairs);
    assert_int_equal(p.cold_list_size, d.cold_list_size);
    assert_int_equal(p.stars, d.stars);
    assert_int_equal(p.truth_dim, d.truth_dim);
    /* every synthetic table key is in the cell */
    const param_spec *t = cfg_data_keys("synthetic");
    int nk = 0;
    for (; t[nk].name; nk++)
        assert_non_null(kv_get(&cells[0].data, t[nk].name));
    assert_int_equal(cells[0].data.n, nk);
    cfg_cells_free(cells, n);
    cfg_free(c);
}

static void test_comments(void **state)
{
    (void)state;
    cfg *c = load_ok(write_cfg("comments.ini",
                               "; a comment\n# another\n[experiment]   ; trailing\n"
                               "name = cmt # inline hash comment\n"
                               "description = n_obs sweep, beta fixed ; note\n"
                               "seed = 5 ; seed\n\n"
                               "[data]\r\nn_obs = 1024, 2048   # two values\r\n"
                               "  noise = 0.5\n"
                               "[method.oracle]\n"));
    assert_string_equal(cfg_name(c), "cmt");
    assert_string_equal(cfg_description(c), "n_obs sweep, beta fixed");
    assert_true(cfg_seed(c) == 5);
    assert_int_equal(cfg_line_of(c, "experiment", "seed"), 6);
    assert_int_equal(cfg_line_of(c, "data", "n_obs"), 9);
    assert_int_equal(cfg_line_of(c, "data", "noise"), 10);
    assert_int_equal(cfg_line_of(c, "data", NULL), 8);
    assert_int_equal(cfg_line_of(c, "method.oracle", NULL), 11);
    assert_int_equal(cfg_line_of(c, "data", "beta"), 0);
    cfg_cell *cells;
    int n = expand(c, &cells);
    assert_int_equal(n, 2);
    assert_string_equal(kv_get(&cells[1].data, "n_obs"), "2048");
    assert_string_equal(kv_get(&cells[1].data, "noise"), "0.5");
    cfg_cells_free(cells, n);
    cfg_free(c);
}

/* ---- bad input: each message names FILE:LINE:, the key (or section) and what is wrong ---- */

typedef struct {
    const char *name, *text;
    int line;
    const char *want1, *want2;   /* substrings that must appear (want2 may be NULL) */
} bad_case;

static const bad_case BAD[] = {
    {"range_end_missed", "[data]\nnoise = 0\nn_obs = 2^10 .. 3000\n", 3, "[data] n_obs",
     "the end 3000 is not one of its values (the last is 2048)"},
    {"range_backwards", "[data]\nn_obs = 4096 .. 1024\n", 2, "[data] n_obs", "start is above the end"},
    {"range_factor_one", "[method.twotower]\nlr = 0.1 .. 1 x 1\n", 2, "[method.twotower] lr",
     "factor F of 'x F' must be above 1"},
    {"range_step_zero", "[data]\nnoise = 0.1 .. 1 + 0\n", 2, "[data] noise", "step S"},
    {"range_not_numbers", "[data]\nn_obs = a .. b\n", 2, "[data] n_obs", "write A .. B"},
    {"range_too_many", "[data]\nn_obs = 1 .. 1e9 + 1\n", 2, "[data] n_obs", "more than 1000 values"},
    {"range_not_integer", "[data]\nn_obs = 1 .. 2 + 0.5\n", 2, "[data] n_obs",
     "range '1 .. 2 + 0.5': '1.5' is not an integer"},
    {"range_out_of_range", "[data]\nnoise = 0 .. 2e6 + 1e6\n", 2, "[data] noise",
     "range '0 .. 2e6 + 1e6': 2e+06 is out of range"},
    {"range_repeats", "[data]\nn_obs = 2^10 .. 2^12, 2048\n", 2, "[data] n_obs",
     "'2048' appears twice"},
    {"range_in_choice", "[data]\nmanifold = linear .. curved\n", 2, "[data] manifold", ""},
    {"width_scale_without_theory", "[method.twotower]\nwidth = 64\nwidth_scale = 2\n", 3,
     "[method.twotower] width_scale", "width = theory"},
    {"mf_lr_with_als", "[method.mf]\nsolver = als\nlr = 0.01\n", 3, "[method.mf] lr",
     "solver = sgd"},
    {"max_memory_network", "[experiment]\nmax_memory = 1\n[method.twotower]\ndepth = 4\n"
     "width = 8192\n", 5, "[method.twotower] width", "for the method"},
    {"max_memory", "[experiment]\nmax_memory = 1\n[data]\nuser_ambient_dim = 50000\n", 4,
     "[data] user_ambient_dim", "limit of 1.0 GiB"},
    {"max_memory_sweep", "[experiment]\nmax_memory = 0.5\n[data]\nn_obs = 1024, 8000000\n", 4,
     "[data] n_obs", "n_obs = 8000000"},
    /* issue 12: refused at load time instead of failing (or doing nothing) at run time */
    {"width_theory_real", "[data]\nsource = movielens100k\n[method.twotower]\nwidth = 64, theory\n", 4,
     "[method.twotower] width", "needs synthetic data"},
    {"twotower_tsv_no_features", "[data]\nsource = tsv\nratings = r.tsv\nuser_features = u.tsv\n"
     "[method.twotower]\n", 5, "[method.twotower]", "no item_features"},
    {"noise_df_gaussian", "[data]\nnoise_df = 4\n[method.oracle]\n", 2, "[data] noise_df",
     "noise_dist = student_t"},
    {"zipf_uniform_sweep", "[data]\nsampling = uniform, mnar\nzipf_s = 1.2\n", 3, "[data] zipf_s",
     "sampling = popularity"},
    {"truth_levels_smooth", "[data]\ntruth = smooth\ntruth_levels = 6\n", 3, "[data] truth_levels",
     "lacunary/bumps"},
    {"tsv_test_fraction_cold", "[data]\nsource = tsv\nratings = r.tsv\nsplit = cold_users\n"
     "test_fraction = 0.3\n", 5, "[data] test_fraction", "split = fold"},
    {"tsv_cold_fraction_fold", "[data]\nsource = tsv\nratings = r.tsv\ncold_user_fraction = 0.3\n",
     4, "[data] cold_user_fraction", "split = cold_users"},
    {"ml_cold_fraction_fold", "[data]\nsource = movielens100k\ncold_user_fraction = 0.3\n", 3,
     "[data] cold_user_fraction", "split = cold_users"},
    {"section_typo", "[experiment]\nseed = 1\n[dat]\nn_obs = 5\n", 3, "[dat]", "did you mean [data]"},
    {"method_prefix_typo", "[data]\nn_obs = 1024\n\n[methd.twotower]\ndepth = 2\n", 4,
     "[methd.twotower]", "did you mean [method.twotower]"},
    {"unknown_method", "[method.foo]\n", 1, "[method.foo]", "unknown method 'foo'"},
    {"unknown_key", "[data]\nn_obs = 1024\nuser_intrinsc_dim = 2\n", 3, "[data] user_intrinsc_dim",
     "did you mean 'user_intrinsic_dim'"},
    {"method_unknown_key", "[method.twotower]\ndepht = 2\n", 2, "[method.twotower] depht",
     "did you mean 'depth'"},
    {"wrong_type", "[data]\nn_obs = many\n", 2, "[data] n_obs", "not an integer"},
    {"out_of_range", "[data]\nvalid_fraction = 1.5\n", 2, "[data] valid_fraction", "out of range"},
    {"bad_enum", "[data]\n\ntruth = wavy\n", 3, "[data] truth", "lacunary|bumps|smooth"},
    {"bad_list_element", "[data]\nn_obs = 1024, lots, 4096\n", 2, "[data] n_obs", "element 2"},
    {"empty_axis", "[data]\nbeta = 1\nn_obs = \n", 3, "[data] n_obs", "empty value"},
    {"hole_in_list", "[data]\nn_obs = 1024, ,2048\n", 2, "[data] n_obs", "element 2"},
    {"trailing_comma", "[data]\nn_obs = 1024, 2048,\n", 2, "[data] n_obs", "ends with a comma"},
    {"bracket_list", "[data]\nn_obs = [1024, 2048\n", 2, "[data] n_obs", "without brackets"},
    {"duplicate_key", "[data]\nn_obs = 1024\nbeta = 1\nn_obs = 2048\n", 4, "[data] n_obs",
     "first set at line 2"},
    {"duplicate_section", "[data]\nn_obs = 1024\n[data]\nbeta = 2\n", 3, "[data]", "line 1"},
    {"d_gt_D", "[data]\nuser_ambient_dim = 4\nuser_intrinsic_dim = 8\n", 3,
     "[data] user_intrinsic_dim", "exceeds"},
    {"d_gt_D_in_axis", "[data]\nuser_ambient_dim = 4\nuser_intrinsic_dim = 2, 8\n", 3,
     "[data] user_intrinsic_dim", "user_intrinsic_dim = 8"},
    {"student_t_df", "[data]\nnoise_dist = student_t\nnoise_df = 2\n", 3, "[data] noise_df", "> 2"},
    {"wrong_source_key", "[data]\nsource = synthetic\nfold = u1\n", 3, "[data] fold",
     "movielens100k"},
    {"bad_source", "[data]\nn_obs = 10\nsource = netflix\n", 3, "[data] source", "not one of"},
    {"tsv_needs_ratings", "[experiment]\nseed = 1\n[data]\nsource = tsv\n", 3, "[data] ratings",
     "required"},
    {"oracle_on_real", "[data]\nsource = movielens100k\n[method.oracle]\n", 3, "[method.oracle]",
     "synthetic"},
    {"method_check", "[method.twotower]\nlr = 0.5\nweight_decay = 4\n", 3,
     "[method.twotower] weight_decay", "lr * weight_decay"},
    {"method_bad_value", "[method.twotower]\nwidth = wide\n", 2, "[method.twotower] width",
     "theory"},
    {"zip_unequal", "[data]\nuser_intrinsic_dim = 1, 2\nitem_intrinsic_dim = 1, 2, 4\n"
                    "item_ambient_dim = 8\n[zip]\naxes = user_intrinsic_dim, item_intrinsic_dim\n",
     6, "[zip] axes", "unequal length"},
    {"zip_unknown", "[data]\nn_obs = 1, 2\n[zip]\naxes = n_obs, betta\n", 4, "[zip] axes",
     "did you mean 'beta'"},
    {"zip_not_set", "[data]\nn_obs = 1024, 2048\n[zip]\naxes = n_obs, beta\n", 4, "[zip] axes",
     "not set"},
    {"zip_same_combination", "[data]\nuser_intrinsic_dim = 1, 1\nitem_intrinsic_dim = 2, 2\n"
                             "[zip]\naxes = user_intrinsic_dim, item_intrinsic_dim\n",
     5, "[zip] axes", "same combination"},
    {"zip_bad_key", "[zip]\ngroup = n_obs\n", 2, "[zip] group", "axes"},
    {"seed_list", "[experiment]\nseed = 1, 2\n", 2, "[experiment] seed", "cannot be a list"},
    {"replicates_zero", "[experiment]\nreplicates = 0\n", 2, "[experiment] replicates",
     "out of range"},
    {"outside_section", "n_obs = 5\n[data]\n", 1, "n_obs", "outside any section"},
    {"no_equals", "[data]\nn_obs 1024\n", 2, "n_obs 1024", "key = value"},
    {"unterminated_header", "[data]\nn_obs = 4\n[method.twotower\n", 3, "[method.twotower",
     "no closing"},
    {"control_char", "[data]\nn_obs = 1\x01\n", 2, "control character", "binary"},
    {"bad_utf8", "[experiment]\ndescription = caf\xe9\n", 2, "invalid UTF-8", NULL},
    {"empty_key", "[data]\n= 5\n", 2, "[data]", "missing key name"},
};

static void check_error(const char *path, int line, const char *w1, const char *w2)
{
    cfg *c = NULL;
    char err[1024] = "";
    int rc = cfg_load(path, &c, err, sizeof err);
    char where[800];
    snprintf(where, sizeof where, "%s:%d: ", path, line);
    int ok = rc == -1 && c == NULL && strncmp(err, where, strlen(where)) == 0 && strstr(err, w1) &&
             (!w2 || strstr(err, w2));
    if (!ok)
        print_error("config %s: rc %d, message '%s'; wanted '%s' '%s' '%s'\n", path, rc, err,
                    where, w1, w2 ? w2 : "");
    assert_true(ok);
}

/* A file's mistakes come in one report: every syntax error, unknown or duplicate key and bad
 * value, one "FILE:LINE: [section] key: message" line each, in line order; the keys of a refused
 * section are not blamed; past CFG_MAX_ERRORS the rest are counted. */
static void test_all_errors_at_once(void **state)
{
    (void)state;
    const char *p = write_cfg("many.ini", "[experiment]\nsede = 1\n[data]\nn_obss = 10\nnoise = -1\n"
                              "garbage\n[dat]\nfoo = 1\n[method.baseline]\nepochs = 0\n"
                              "epochs = 2\n");
    cfg *c = NULL;
    char err[4096] = "";
    assert_int_equal(cfg_load(p, &c, err, sizeof err), -1);
    assert_null(c);
    const char *want[] = {":2: [experiment] sede: unknown key", ":4: [data] n_obss: unknown key",
                          ":5: [data] noise: ", ":6: expected '[section]' or 'key = value'",
                          ":7: [dat]: unknown section", ":10: [method.baseline] epochs: ",
                          ":11: [method.baseline] epochs: duplicate key", NULL};
    const char *at = err;
    int nl = 0;
    for (const char *q = err; *q; q++)
        nl += *q == '\n';
    if (nl != 6)
        print_error("want 7 lines, got:\n%s\n", err);
    assert_int_equal(nl, 6);
    for (int k = 0; want[k]; k++) {
        char line[800];
        snprintf(line, sizeof line, "%s%s", p, want[k]);
        const char *hit = strstr(at, line);
        if (!hit)
            print_error("missing or out of order: '%s' in\n%s\n", line, err);
        assert_non_null(hit);
        assert_true(hit == err || hit[-1] == '\n'); /* each error starts its own line */
        at = hit + 1;
    }
    assert_null(strstr(err, "foo")); /* the key of the refused [dat] section is not blamed */

    /* 25 unknown keys: 20 shown, then a count of the other 5 */
    char text[2048] = "[data]\n";
    for (int k = 0; k < 25; k++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "zz%d = 1\n", k);
    p = write_cfg("many25.ini", text);
    assert_int_equal(cfg_load(p, &c, err, sizeof err), -1);
    nl = 0;
    for (const char *q = err; *q; q++)
        nl += *q == '\n';
    assert_int_equal(nl, CFG_MAX_ERRORS);
    assert_non_null(strstr(err, "(5 more errors in this file not shown)"));
    assert_non_null(strstr(err, "zz19: unknown key"));
    assert_null(strstr(err, "zz20: unknown key"));

    /* a small buffer: whole messages only, the rest counted */
    char small[300];
    assert_int_equal(cfg_load(p, &c, small, sizeof small), -1);
    assert_true(strlen(small) < sizeof small);
    assert_non_null(strstr(small, "more errors in this file not shown)"));
}

/* Ranges: "A .. B" doubles, "x F" multiplies, "+ S" adds, BASE^EXP numbers; a range is the
 * list of its values (same cells, same keys), and strings with ".." are no ranges. */
static void test_ranges(void **state)
{
    (void)state;
    const char *M = "[method.twotower]\nlr = 1e-3 .. 1e-2 x 10\n";
    char *list = keys_of("rg_list.ini", "[data]\nn_obs = 1024, 2048, 4096, 8192\n"
                         "noise = 0.1, 0.2, 0.3\n[method.twotower]\nlr = 0.001, 0.01\n");
    const char *same[] = {"n_obs = 2^10 .. 2^13\nnoise = 0.1 .. 0.3 + 0.1\n",
                          "n_obs = 1024 .. 8192\nnoise = 0.1, 0.2 .. 0.3 + 0.1\n",
                          "n_obs = 1024 .. 2048 x 2, 4096 .. 8192 x2\nnoise = 0.1 .. 0.3 +0.1\n",
                          "n_obs = 2^10, 2^11, 2^12 .. 2^13\nnoise = 1e-1 .. 3e-1 + 1e-1\n", NULL};
    for (int k = 0; same[k]; k++) {
        char text[512], name[32];
        snprintf(text, sizeof text, "[data]\n%s%s", same[k], M);
        snprintf(name, sizeof name, "rg_%d.ini", k);
        char *r = keys_of(name, text);
        assert_string_equal(list, r);
        free(r);
    }
    char *other = keys_of("rg_other.ini", "[data]\nn_obs = 2^10 .. 2^12\nnoise = 0.1 .. 0.3 + 0.1\n"
                          "[method.twotower]\nlr = 1e-3 .. 1e-2 x 10\n");
    assert_string_not_equal(list, other); /* 3 n_obs values, not 4 */
    free(other);
    free(list);
    /* ".." in a path is no range */
    cfg *c = load_ok(write_cfg("rg_path.ini", "[data]\nsource = tsv\nratings = ../r.tsv\n"
                               "[method.baseline]\n"));
    cfg_free(c);
}

/* [experiment] description is stored with every cell (the cell's resolved config, so the
 * results file's config/ group and export --csv), and is not part of the key. */
static void test_description_stored(void **state)
{
    (void)state;
    const char *body = "[data]\nn_obs = 256\nobs_per_user = 4\nobs_per_item = 4\n"
                       "test_cold_pairs = 50\ntest_warm_pairs = 50\n[method.baseline]\n";
    char text[1024];
    snprintf(text, sizeof text, "[experiment]\nseed = 3\ndescription = pilot, small n ; a comment\n%s",
             body);
    cfg *c = load_ok(write_cfg("desc.ini", text));
    assert_string_equal(cfg_description(c), "pilot, small n");
    cfg_cell *cells;
    int n = expand(c, &cells);
    assert_int_equal(n, 1);
    assert_string_equal(kv_get(&cells[0].all, "experiment.description"), "pilot, small n");
    assert_null(strstr(cells[0].canonical, "pilot"));
    char key[17];
    snprintf(key, sizeof key, "%s", cells[0].key);
    cfg_cells_free(cells, n);
    cfg_free(c);
    snprintf(text, sizeof text, "[experiment]\nseed = 3\n%s", body);
    c = load_ok(write_cfg("nodesc.ini", text));
    n = expand(c, &cells);
    assert_string_equal(cells[0].key, key); /* same cell without a description */
    assert_null(kv_get(&cells[0].all, "experiment.description"));
    cfg_cells_free(cells, n);
    cfg_free(c);

    /* end to end: run, then export --csv shows the description column */
    char cmd[3 * PATH_MAX], out[16384], t2rec[PATH_MAX];
    assert_non_null(realpath(tu_t2rec(), t2rec));
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' run desc.ini -o desc.h5 --no-progress >/dev/null "
             "2>&1 && '%s' export desc.h5 --csv", tmpdir, t2rec, t2rec);
    if (tu_run(cmd, out, sizeof out) != 0)
        print_error("%s\n%s\n", cmd, out);
    assert_non_null(strstr(out, "description"));
    assert_non_null(strstr(out, "\"pilot, small n\""));
}

/* kv_set_pair: "key=value" strings as bench drivers and tests pass them. */
static void test_kv_set_pair(void **state)
{
    (void)state;
    kvset kv;
    kv_init(&kv);
    assert_int_equal(kv_set_pair(&kv, "lr=0.01"), 0);
    assert_int_equal(kv_set_pair(&kv, "note=a=b"), 0);   /* the first '=' splits */
    assert_int_equal(kv_set_pair(&kv, "empty="), 0);
    assert_int_equal(kv_set_pair(&kv, "lr=0.02"), 0);    /* replaces */
    assert_string_equal(kv_get(&kv, "lr"), "0.02");
    assert_string_equal(kv_get(&kv, "note"), "a=b");
    assert_string_equal(kv_get(&kv, "empty"), "");
    assert_int_equal(kv_set_pair(&kv, "novalue"), -1);
    assert_int_equal(kv_set_pair(&kv, "=1"), -1);
    char longkey[200];
    memset(longkey, 'k', 150);
    strcpy(longkey + 150, "=1");
    assert_int_equal(kv_set_pair(&kv, longkey), -1);
    assert_int_equal(kv.n, 3);
    kv_free(&kv);
}

static void test_bad_configs(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof BAD / sizeof *BAD; k++) {
        char name[96];
        snprintf(name, sizeof name, "bad_%s.ini", BAD[k].name);
        check_error(write_cfg(name, BAD[k].text), BAD[k].line, BAD[k].want1, BAD[k].want2);
    }
}

/* A conditional key that acts in some cell of the sweep is fine; a config without methods
 * expands for gen (data only) but not for run. */
static void test_conditions_and_methods(void **state)
{
    (void)state;
    cfg *c = load_ok(write_cfg("cond_ok.ini", "[data]\nsampling = uniform, popularity\n"
                                              "zipf_s = 1.2\n[method.oracle]\n"));
    cfg_free(c);
    c = load_ok(write_cfg("cond_tt.ini", "[method.twotower]\nwidth = 64, theory\nwidth_max = 256\n"));
    cfg_free(c);
    /* where its condition does not hold, a conditional key takes its default: the uniform
     * cell of a sweep that sets mnar_strength (for its mnar cell) is the cell of a config
     * with sampling = uniform alone; same for width_max in the width = 64 cell */
    char *sweep = keys_of("cond_sweep.ini", "[data]\nn_obs = 2048\nsampling = uniform, mnar\n"
                                            "mnar_strength = 2\n[method.oracle]\n");
    char *uni = keys_of("cond_uni.ini", "[data]\nn_obs = 2048\nsampling = uniform\n[method.oracle]\n");
    char *mnar = keys_of("cond_mnar.ini", "[data]\nn_obs = 2048\nsampling = mnar\n"
                                          "mnar_strength = 2\n[method.oracle]\n");
    char both[64];
    snprintf(both, sizeof both, "%s%s", strcmp(uni, mnar) < 0 ? uni : mnar,
             strcmp(uni, mnar) < 0 ? mnar : uni);
    assert_string_equal(sweep, both);
    free(sweep), free(uni), free(mnar);
    char *tsweep = keys_of("cond_tsw.ini", "[data]\nn_obs = 2048\n[method.twotower]\n"
                                           "width = 64, theory\nwidth_max = 256\n");
    char *t64 = keys_of("cond_t64.ini", "[data]\nn_obs = 2048\n[method.twotower]\nwidth = 64\n");
    assert_non_null(strstr(tsweep, t64));
    free(tsweep), free(t64);
    c = load_ok(write_cfg("cond_tsv.ini", "[data]\nsource = tsv\nratings = r.tsv\n"
                                          "split = cold_users\ncold_user_fraction = 0.3\n"
                                          "[method.baseline]\n"));
    cfg_free(c);
    c = load_ok(write_cfg("nomethod.ini", "[data]\nn_obs = 2048\n"));
    cfg_cell *cells = NULL;
    int n = 0;
    char err[512] = "";
    assert_int_equal(cfg_expand(c, &cells, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "nomethod.ini:0: no [method.NAME] section"));
    assert_int_equal(cfg_expand_data(c, &cells, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    cfg_cells_free(cells, n);
    cfg_free(c);
}

static void test_bad_files(void **state)
{
    (void)state;
    /* over-long line (line 3) */
    char text[600];
    snprintf(text, sizeof text, "[experiment]\nseed = 1\ndescription = %0250d\n", 0);
    check_error(write_cfg("long.ini", text), 3, "line too long (264 characters, the limit is 199",
                "as a range");
    /* a 199-character line is fine */
    char desc[200];
    memset(desc, 'x', sizeof desc);
    desc[199 - strlen("description = ")] = '\0';
    snprintf(text, sizeof text, "[experiment]\ndescription = %s\n", desc);
    cfg *c = load_ok(write_cfg("long_ok.ini", text));
    assert_int_equal((int)strlen(cfg_description(c)), 199 - (int)strlen("description = "));
    cfg_free(c);
    /* NUL bytes */
    char path[768];
    snprintf(path, sizeof path, "%s/nul.ini", tmpdir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    static const char garbage[] = "[data]\nn_obs = 1024\nbeta\0\0\x7f\x45LF\n";
    fwrite(garbage, 1, sizeof garbage - 1, f);
    fclose(f);
    check_error(path, 3, "NUL byte", NULL);
    /* missing file */
    snprintf(path, sizeof path, "%s/does_not_exist.ini", tmpdir);
    check_error(path, 0, "cannot open", NULL);
    /* empty sections are accepted and count */
    c = load_ok(write_cfg("empty_sections.ini", "[experiment]\n[data]\n[method.oracle]\n"
                                                "[method.baseline]\n[zip]\n"));
    assert_int_equal(cfg_n_methods(c), 2);
    assert_string_equal(cfg_method_name(c, 0), "oracle");
    assert_string_equal(cfg_method_name(c, 1), "baseline");
    assert_int_equal(cfg_line_of(c, "method.baseline", NULL), 4);
    cfg_cell *cells;
    int n = expand(c, &cells);
    assert_int_equal(n, 2);
    cfg_cells_free(cells, n);
    cfg_free(c);
}

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir("test_config", tmpdir, sizeof tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return tu_run(cmd, NULL, 0) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_single_value_changes_key),
        cmocka_unit_test(test_keys_stable_across_versions),
        cmocka_unit_test(test_canonical_numbers),
        cmocka_unit_test(test_cell_count_and_order),
        cmocka_unit_test(test_zip),
        cmocka_unit_test(test_method_axes),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_defaults_from_synth),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_kv_set_pair),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_all_errors_at_once),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_description_stored),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_conditions_and_methods),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
