/* plot.c — gnuplot figures of a results file (see plot.h): the data (.dat), a small driver
 * script per figure (.gp: the data-dependent variables, then `load` of the copied style
 * script from plots/), and gnuplot run on it in the output folder. */
#include "shquote.h"
#include "plot.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "grouping.h"
#include "report.h"

#define LEARN_MAX_GROUPS 16   /* learning figure: the first groups only */
#define METHODS_MAX_CATS 8    /* methods figure: more categories -> the largest n_obs only */
#define METHODS_MAX_PANELS 4

static const char *const script_names[] = {"style.gp", "convergence.gp", "learning.gp", "methods.gp",
                                           "local.gp", NULL};

/* ---- small text helpers ---- */

const char *plot_metric_words(const char *m)
{
    static const char *const words[][2] = {
        {"excess_risk_cold", "Excess risk on fresh users and items (test_cold)"},
        {"excess_risk_warm", "Excess risk on new pairs of known users and items (test_warm)"},
        {"rmse_cold", "RMSE on cold-start users or items (test_cold)"},
        {"rmse_warm", "RMSE on new pairs of known users and items (test_warm)"},
        {"mae_cold", "MAE on cold-start users or items (test_cold)"},
        {"mae_warm", "MAE on new pairs of known users and items (test_warm)"},
        {"rmse", "RMSE on the test ratings"},
        {"mae", "MAE on the test ratings"},
        {"rmse_valid", "RMSE on the validation ratings"},
        {"precision_at_10", "Precision@10 (whole-catalogue ranking)"},
        {"recall_at_10", "Recall@10 (whole-catalogue ranking)"},
        {"map_at_10", "MAP@10 (whole-catalogue ranking)"},
        {"ndcg_at_10", "NDCG@10 (ranking)"},
        {"regret_at_10", "Regret@10 (true value lost by the top 10)"},
        {NULL, NULL}};
    for (int k = 0; words[k][0]; k++)
        if (!strcmp(words[k][0], m))
            return words[k][1];
    return m;
}

/* Text for a double-quoted gnuplot string in enhanced mode: the special characters of
 * enhanced text get a backslash, which itself must be doubled inside double quotes. */
static void gq(const char *s, char *buf, size_t n)
{
    size_t at = 0;
    for (; *s && at + 4 < n; s++) {
        if (*s == '_' || *s == '^' || *s == '{' || *s == '}' || *s == '@' || *s == '&' || *s == '~') {
            buf[at++] = '\\';
            buf[at++] = '\\';
        } else if (*s == '"' || *s == '\\')
            buf[at++] = '\\';
        else if (*s == '\n') {   /* a line break in the title */
            buf[at++] = '\\';
            buf[at++] = 'n';
            continue;
        }
        buf[at++] = *s;
    }
    buf[at] = 0;
}

/* name = "text" (enhanced-text escaped) */
static void gp_str(FILE *f, const char *name, const char *text)
{
    char buf[2048];
    gq(text, buf, sizeof buf);
    fprintf(f, "%s = \"%s\"\n", name, buf);
}

static void gp_str_array(FILE *f, const char *name, const char *const *v, int n)
{
    fprintf(f, "array %s[%d] = [", name, n > 0 ? n : 1);
    char buf[1024];
    for (int k = 0; k < n; k++) {
        gq(v[k], buf, sizeof buf);
        fprintf(f, "%s\"%s\"", k ? ", " : "", buf);
    }
    fprintf(f, n > 0 ? "]\n" : "\"\"]\n");
}

static void gp_num_array(FILE *f, const char *name, const double *v, int n)
{
    fprintf(f, "array %s[%d] = [", name, n > 0 ? n : 1);
    for (int k = 0; k < n; k++)
        fprintf(f, "%s%.10g", k ? ", " : "", v[k]);
    fprintf(f, n > 0 ? "]\n" : "0]\n");
}

static void gp_int_array(FILE *f, const char *name, const int *v, int n)
{
    fprintf(f, "array %s[%d] = [", name, n > 0 ? n : 1);
    for (int k = 0; k < n; k++)
        fprintf(f, "%s%d", k ? ", " : "", v[k]);
    fprintf(f, n > 0 ? "]\n" : "0]\n");
}

static double metric_of(const cell_record *r, const char *name)
{
    for (int k = 0; k < r->metrics.n; k++)
        if (!strcmp(r->metrics.name[k], name))
            return r->metrics.value[k];
    return NAN;
}

static int has_metric(const cell_record *recs, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(recs[i].status, "ok") && isfinite(metric_of(&recs[i], name)))
            return 1;
    return 0;
}

/* ---- the scripts ---- */

int plot_find_scripts(const char *given, char *dir, size_t n)
{
    char cand[5][PATH_MAX];
    int nc = 0;
    const char *env = getenv("T2REC_PLOT_SCRIPTS");
    if (given)
        snprintf(cand[nc++], PATH_MAX, "%s", given);
    else {
        if (env && *env)
            snprintf(cand[nc++], PATH_MAX, "%s", env);
#ifdef T2REC_SRCDIR
        snprintf(cand[nc++], PATH_MAX, "%s/plots", T2REC_SRCDIR);
#endif
#ifdef T2REC_PREFIX
        snprintf(cand[nc++], PATH_MAX, "%s/share/t2rec/plots", T2REC_PREFIX);
#endif
        snprintf(cand[nc++], PATH_MAX, "plots");
    }
    for (int k = 0; k < nc; k++) {
        int all = 1;
        for (int s = 0; script_names[s] && all; s++) {
            char p[PATH_MAX + 32];
            snprintf(p, sizeof p, "%.4000s/%s", cand[k], script_names[s]);
            all = access(p, R_OK) == 0;
        }
        if (all) {
            snprintf(dir, n, "%.4000s", cand[k]);
            return 0;
        }
    }
    return -1;
}

/* Copy the scripts into outdir (not when it is the scripts folder itself). */
static int copy_scripts(const char *sdir, const char *outdir, char *err, size_t errlen)
{
    char a[PATH_MAX], b[PATH_MAX];
    if (realpath(sdir, a) && realpath(outdir, b) && !strcmp(a, b))
        return 0;
    for (int s = 0; script_names[s]; s++) {
        char src[PATH_MAX + 32], dst[PATH_MAX + 32], tmp[PATH_MAX + 40];
        snprintf(src, sizeof src, "%.4000s/%s", sdir, script_names[s]);
        snprintf(dst, sizeof dst, "%.4000s/%s", outdir, script_names[s]);
        snprintf(tmp, sizeof tmp, "%.4000s/.%s.tmp", outdir, script_names[s]);
        FILE *in = fopen(src, "rb");
        if (!in) {
            snprintf(err, errlen, "%s: %s", src, strerror(errno));
            return -1;
        }
        FILE *out = fopen(tmp, "wb");
        if (!out) {
            snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
            fclose(in);
            return -1;
        }
        char buf[8192];
        size_t got;
        int bad = 0;
        while ((got = fread(buf, 1, sizeof buf, in)) > 0)
            bad |= fwrite(buf, 1, got, out) != got;
        bad |= ferror(in);
        fclose(in);
        bad |= fclose(out) != 0;
        if (bad || rename(tmp, dst) != 0) {
            snprintf(err, errlen, "%s: %s", dst, strerror(errno ? errno : EIO));
            unlink(tmp);
            return -1;
        }
    }
    return 0;
}

/* gnuplot NAME.gp in the output folder; the driver's paths are relative to it. */
static int run_script(const plot_opts *o, const char *name, char *err, size_t errlen)
{
    if (!o->run_gnuplot)
        return 0;
    char qd[2 * PATH_MAX], qn[2 * PATH_MAX], qg[2 * PATH_MAX], qlog[2 * PATH_MAX];
    char logname[PATH_MAX], gpname[PATH_MAX], cmd[9 * PATH_MAX];
    snprintf(logname, sizeof logname, "%.2000s.gp.log", name);
    snprintf(gpname, sizeof gpname, "%.2000s.gp", name);
    sh_quote(o->outdir, qd, sizeof qd);
    sh_quote(gpname, qn, sizeof qn);
    sh_quote(o->gnuplot ? o->gnuplot : "gnuplot", qg, sizeof qg);
    sh_quote(logname, qlog, sizeof qlog);
    snprintf(cmd, sizeof cmd, "cd %s && %s %s 2>%s", qd, qg, qn, qlog);
    int st = system(cmd);
    if (st != 0) {
        snprintf(err, errlen, "gnuplot failed on %s/%s.gp (see %s/%s)", o->outdir, name, o->outdir, logname);
        return -1;
    }
    return 0;
}

static void list_outputs(const plot_opts *o, const char *name)
{
    if (!o->out)
        return;
    if (o->run_gnuplot)
        fprintf(o->out, "%s/%s.png\n%s/%s.pdf\n", o->outdir, name, o->outdir, name);
    else
        fprintf(o->out, "%s/%s.gp\n", o->outdir, name);
}

static FILE *open_in(const plot_opts *o, const char *name, const char *ext, char *err, size_t errlen)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%.3000s/%.1000s%s", o->outdir, name, ext);
    FILE *f = fopen(p, "w");
    if (!f)
        snprintf(err, errlen, "%s: %s", p, strerror(errno));
    return f;
}

static int close_checked(FILE *f, const plot_opts *o, const char *name, const char *ext, char *err,
                         size_t errlen)
{
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad)
        snprintf(err, errlen, "%s/%s%s: write failed: %s", o->outdir, name, ext, strerror(errno ? errno : EIO));
    return bad ? -1 : 0;
}

static void driver_head(FILE *f, const char *name, const char *what, const char *script)
{
    char q[1200];   /* a file name in double quotes: only " and \ need a backslash */
    size_t at = 0;
    for (const char *p = name; *p && at + 3 < sizeof q; p++) {
        if (*p == '"' || *p == '\\')
            q[at++] = '\\';
        q[at++] = *p;
    }
    q[at] = 0;
    fprintf(f, "# %s.gp — written by `t2rec plot` (%s). Edit the settings below, or the style in\n"
               "# %s / style.gp (copied here), then redraw from the kept data in this folder:\n"
               "#     gnuplot %s.gp\n",
            name, what, script, name);
    fprintf(f, "scriptdir = '.'   # where %s and style.gp are\n", script);
    fprintf(f, "datafile = \"%s.dat\"\noutbase = \"%s\"\n", q, q);
}

/* ---- groups, labels and styles, shared by every figure of a file ---- */

/* Display names of data keys in labels. */
static const char *short_key(const char *full)
{
    static const char *const abbrev[][2] = {
        {"data.user_intrinsic_dim", "d_u"}, {"data.item_intrinsic_dim", "d_i"},
        {"data.user_ambient_dim", "D_u"},   {"data.item_ambient_dim", "D_i"},
        {"data.beta", "β"},                 {NULL, NULL}};
    for (int k = 0; abbrev[k][0]; k++)
        if (!strcmp(abbrev[k][0], full))
            return abbrev[k][1];
    return grouping_short(full);
}

/* The other key of a user/item pair ("data.user_X" <-> "data.item_X"), or NULL. */
static const char *pair_key(const char *full, char *buf, size_t n)
{
    if (!strncmp(full, "data.user_", 10))
        snprintf(buf, n, "data.item_%s", full + 10);
    else if (!strncmp(full, "data.item_", 10))
        snprintf(buf, n, "data.user_%s", full + 10);
    else
        return NULL;
    return buf;
}

/* "key=value ..." of the keys (full names) with a value in cfg; which: 'd' data keys only,
 * 'm' method keys only. User/item pairs with equal values print once ("d=2", "D=16"). */
static void keys_text(const kvset *cfg, char *const *keys, int nkeys, char which, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = 0;
    for (int k = 0; k < nkeys && at < n; k++) {
        const char *key = keys[k];
        int is_data = !strncmp(key, "data.", 5);
        if ((which == 'd') != is_data)
            continue;
        const char *v = kv_get(cfg, key);
        if (!v || !*v)
            continue;
        char pk[256];
        const char *other = pair_key(key, pk, sizeof pk);
        const char *ov = other ? kv_get(cfg, other) : NULL;
        int other_listed = 0;
        for (int q = 0; other && q < nkeys; q++)
            other_listed |= !strcmp(keys[q], other);
        if (other && ov && !strcmp(ov, v) && other_listed) {
            if (!strncmp(key, "data.item_", 10))
                continue;   /* printed with the user key */
            char nm[64];
            snprintf(nm, sizeof nm, "%s", short_key(key));
            char *us = strstr(nm, "_u");
            if (us && !us[2])
                *us = 0;   /* "d_u" -> "d" */
            at += (size_t)snprintf(buf + at, n - at, "%s%s=%s", at ? " " : "", nm, v);
        } else
            at += (size_t)snprintf(buf + at, n - at, "%s%s=%s", at ? " " : "", short_key(key), v);
    }
}

/* One series: a group of the file with n_obs and fold set aside (method variant x data
 * setting); every figure styles a group by its series. */
typedef struct {
    grouping gr;
    int nser;
    char **label;            /* "twotower d=2" */
    char **variant;          /* "twotower" or "mf solver=als" */
    char **setting;          /* "d=2" or "" */
    int *cval;               /* index of the series' colour value (0-based) */
    int ncval;
    char **cval_label;       /* per colour value: its text for keys */
    int *oval;               /* index of the other dimension's value (0-based) */
    int noval;
    char **oval_label;
    int colour_by_method;    /* 1: colour = variant, 0: colour = setting */
    int *dtype, *ptype;
    double *lw;
} styles;

static void styles_free(styles *s)
{
    for (int k = 0; k < s->nser; k++) {
        free(s->label ? s->label[k] : NULL);
        free(s->variant ? s->variant[k] : NULL);
        free(s->setting ? s->setting[k] : NULL);
    }
    free(s->label);
    free(s->variant);
    free(s->setting);
    free(s->cval);
    free(s->oval);
    free(s->cval_label);   /* point into variant/setting */
    free(s->oval_label);
    free(s->dtype);
    free(s->ptype);
    free(s->lw);
    grouping_free(&s->gr);
    memset(s, 0, sizeof *s);
}

static int index_of(char **v, int n, const char *s)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(v[k], s))
            return k;
    return -1;
}

static void method_dash(const char *variant, int *dt, int *pt, double *lw)
{
    static const char *const order[] = {"twotower", "baseline", "mf", "autorec", "oracle", NULL};
    static const int dts[] = {1, 4, 5, 3, 2};
    static const int pts[] = {7, 5, 9, 13, 11};
    char m[64];
    snprintf(m, sizeof m, "%s", variant);
    char *sp = strchr(m, ' ');
    if (sp)
        *sp = 0;
    int k = 0;
    while (order[k] && strcmp(order[k], m))
        k++;
    *dt = order[k] ? dts[k] : 1;
    *pt = order[k] ? pts[k] : 6;
    *lw = k == 0 ? 2.2 : 1.6;
}

/* Distinct values (up to 64) of key, or of the pair (key, key2) when key2 is not NULL, over the
 * records of method m; 65 when there are more. */
#define MAXDISTINCT 64
static int distinct(const cell_record *recs, int n, const char *key, const char *key2, const char *m)
{
    const char *a[MAXDISTINCT], *b[MAXDISTINCT];
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(kv_str(&recs[i].config, "method", ""), m))
            continue;
        const char *x = kv_str(&recs[i].config, key, ""), *y = key2 ? kv_str(&recs[i].config, key2, "") : "";
        int seen = 0;
        for (int j = 0; j < k && !seen; j++)
            seen = !strcmp(a[j], x) && !strcmp(b[j], y);
        if (seen)
            continue;
        if (k == MAXDISTINCT)
            return MAXDISTINCT + 1;
        a[k] = x;
        b[k++] = y;
    }
    return k;
}

/* Are the values of key in method m's records numbers? */
static int numeric_key(const cell_record *recs, int n, const char *key, const char *m)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(kv_str(&recs[i].config, "method", ""), m))
            continue;
        const char *v = kv_get(&recs[i].config, key);
        if (!v || !*v)
            continue;
        char *end;
        strtod(v, &end);
        return !*end;
    }
    return 1;
}

/* The method keys a label of method m shows: keys that vary within m, except keys tied to one
 * shown before (zipped axes, e.g. mf solver/rank/reg: "mf solver=als" says it). */
static int method_keys(const cell_record *recs, int n, char *const *keys, int nkeys, const char *m,
                       char **out)
{
    int k = 0;
    /* the keys that name a variant (solver, side, ids) first, then other words, then numbers */
    for (int pass = 0; pass < 3; pass++)
    for (int q = 0; q < nkeys; q++) {
        if (strncmp(keys[q], "method.", 7))
            continue;
        int naming = !strcmp(keys[q], "method.solver") || !strcmp(keys[q], "method.side") ||
                     !strcmp(keys[q], "method.ids");
        if ((naming ? 0 : 1 + numeric_key(recs, n, keys[q], m)) != pass)
            continue;
        int dq = distinct(recs, n, keys[q], NULL, m);
        if (dq < 2)
            continue;
        int tied = 0;
        for (int j = 0; j < k && !tied; j++)
            tied = dq <= MAXDISTINCT && distinct(recs, n, out[j], NULL, m) == dq &&
                   distinct(recs, n, keys[q], out[j], m) == dq;
        if (!tied)
            out[k++] = keys[q];
    }
    return k;
}

static int styles_build(const cell_record *recs, int n, styles *s)
{
    static const char *const ignore[] = {"data.n_obs", "data.fold", NULL};
    memset(s, 0, sizeof *s);
    if (grouping_build(recs, n, ignore, &s->gr) != 0)
        return -1;
    int ns = s->nser = s->gr.ngroups;
    size_t np = (size_t)ns + 1;
    s->label = calloc(np, sizeof *s->label);
    s->variant = calloc(np, sizeof *s->variant);
    s->setting = calloc(np, sizeof *s->setting);
    s->cval = calloc(np, sizeof *s->cval);
    s->oval = calloc(np, sizeof *s->oval);
    s->cval_label = calloc(np, sizeof *s->cval_label);
    s->oval_label = calloc(np, sizeof *s->oval_label);
    s->dtype = calloc(np, sizeof *s->dtype);
    s->ptype = calloc(np, sizeof *s->ptype);
    s->lw = calloc(np, sizeof *s->lw);
    if (!s->label || !s->variant || !s->setting || !s->cval || !s->oval || !s->cval_label ||
        !s->oval_label || !s->dtype || !s->ptype || !s->lw)
        return -1;
    char **vars = calloc(np, sizeof *vars), **sets = calloc(np, sizeof *sets);
    int nv = 0, nst = 0;
    if (!vars || !sets) {
        free(vars);
        free(sets);
        return -1;
    }
    for (int q = 0; q < ns; q++) {
        const kvset *cfg = &recs[s->gr.first[q]].config;
        char mk[1024], dk[1024], buf[2100];
        char **shown = malloc((size_t)(s->gr.nkeys + 1) * sizeof *shown);
        if (!shown) {
            free(vars);
            free(sets);
            return -1;
        }
        int nshown = method_keys(recs, n, s->gr.keys, s->gr.nkeys, kv_str(cfg, "method", ""), shown);
        keys_text(cfg, shown, nshown, 'm', mk, sizeof mk);
        free(shown);
        keys_text(cfg, s->gr.keys, s->gr.nkeys, 'd', dk, sizeof dk);
        snprintf(buf, sizeof buf, "%s%s%s", kv_str(cfg, "method", "?"), *mk ? " " : "", mk);
        s->variant[q] = strdup(buf);
        s->setting[q] = strdup(dk);
        snprintf(buf, sizeof buf, "%s%s%s%s%s", kv_str(cfg, "method", "?"), *mk ? " " : "", mk, *dk ? " " : "", dk);
        s->label[q] = strdup(buf);
        if (!s->variant[q] || !s->setting[q] || !s->label[q]) {
            free(vars);
            free(sets);
            return -1;
        }
        if (index_of(vars, nv, s->variant[q]) < 0)
            vars[nv++] = s->variant[q];
        if (index_of(sets, nst, s->setting[q]) < 0)
            sets[nst++] = s->setting[q];
    }
    /* the estimator under test first: it gets the first colours when colour follows the method */
    for (int k = 1, front = 0; k < nv; k++)
        if (!strncmp(vars[k], "twotower", 8)) {
            while (front < k && !strncmp(vars[front], "twotower", 8))
                front++;
            if (front < k) {
                char *t = vars[k];
                memmove(vars + front + 1, vars + front, (size_t)(k - front) * sizeof *vars);
                vars[front] = t;
            }
        }
    /* colour follows the method when the data setting does not vary or the methods
     * outnumber the settings; else the setting (the demo: d = 2 and 4, twotower and baseline) */
    s->colour_by_method = nst <= 1 || (nv > 1 && nv > nst);
    char **cv = s->colour_by_method ? vars : sets, **ov = s->colour_by_method ? sets : vars;
    s->ncval = s->colour_by_method ? nv : nst;
    s->noval = s->colour_by_method ? nst : nv;
    for (int k = 0; k < s->ncval; k++)
        s->cval_label[k] = cv[k];
    for (int k = 0; k < s->noval; k++)
        s->oval_label[k] = ov[k];
    for (int q = 0; q < ns; q++) {
        s->cval[q] = index_of(cv, s->ncval, s->colour_by_method ? s->variant[q] : s->setting[q]);
        s->oval[q] = index_of(ov, s->noval, s->colour_by_method ? s->setting[q] : s->variant[q]);
        method_dash(s->variant[q], &s->dtype[q], &s->ptype[q], &s->lw[q]);
        if (s->colour_by_method && s->noval > 1) {   /* dash and point follow the setting */
            static const int dts[] = {1, 4, 5, 3}, pts[] = {7, 5, 9, 13, 11, 4, 6, 8};
            s->dtype[q] = dts[s->oval[q] % 4];
            s->ptype[q] = pts[s->oval[q] % 8];
        }
    }
    free(vars);
    free(sets);
    return 0;
}

/* The data settings that are the same in every cell, for titles ("truth = lacunary, d = 2,
 * D = 16, β = 1, noise = 0.1"; "MovieLens 100K (data/ml-100k)"). */
static void fixed_settings(const cell_record *recs, int n, char *buf, size_t len)
{
    static const char *const keys[][2] = {
        {"data.truth", "truth"}, {"data.user_intrinsic_dim", "d"}, {"data.user_ambient_dim", "D"},
        {"data.beta", "β"},      {"data.noise", "noise"},          {"data.manifold", "manifold"},
        {"data.split", "split"}, {NULL, NULL}};
    size_t at = 0;
    buf[0] = 0;
    if (n <= 0)
        return;
    const kvset *c0 = &recs[0].config;
    const char *src = kv_str(c0, "data.source", "synthetic");
    if (strcmp(src, "synthetic"))
        at += (size_t)snprintf(buf + at, len - at, "%s%s%s%s",
                               !strcmp(src, "movielens100k") ? "MovieLens 100K" : src,
                               kv_get(c0, "data.path") ? " (" : "", kv_str(c0, "data.path", ""),
                               kv_get(c0, "data.path") ? ")" : "");
    for (int k = 0; keys[k][0] && at < len; k++) {
        const char *v = kv_get(c0, keys[k][0]);
        if (!v)
            continue;
        int same = 1;
        char pk[128];
        const char *other = pair_key(keys[k][0], pk, sizeof pk);
        for (int i = 1; i < n && same; i++) {
            const char *w = kv_get(&recs[i].config, keys[k][0]);
            same = w && !strcmp(w, v);
        }
        for (int i = 0; other && i < n && same; i++) {
            const char *w = kv_get(&recs[i].config, other);
            same = !w || !strcmp(w, v);
        }
        if (same)
            at += (size_t)snprintf(buf + at, len - at, "%s%s = %s", at ? ", " : "", keys[k][1], v);
    }
}

/* ---- convergence ---- */

/* The series (styles) of a report group: the series of its first record. */
static int group_series(const report *r, const styles *s, int g, int n)
{
    for (int i = 0; i < n; i++)
        if (r->rec_group[i] == g)
            return s->gr.gid[i];
    return 0;
}

/* Is the metric exactly 0 in every ok cell of report group g (and is there one)? */
static int all_zero(const cell_record *recs, int n, const report *r, int g)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (r->rec_group[i] != g || strcmp(recs[i].status, "ok"))
            continue;
        double v = metric_of(&recs[i], r->metric);
        if (!isfinite(v))
            continue;
        if (v != 0)
            return 0;
        k++;
    }
    return k > 0;
}

static int plot_convergence(const cell_record *recs, int n, const report *r, const styles *s,
                            const plot_opts *o, const char *fixed, char *err, size_t errlen)
{
    const char *metric = r->metric;
    char name[1200];
    if (strcmp(metric, "excess_risk_cold"))
        snprintf(name, sizeof name, "%s_convergence_%s", o->prefix, metric);
    else
        snprintf(name, sizeof name, "%s_convergence", o->prefix);
    int ng = r->ngroups, np = 0, maxrep = 0, minrep = INT_MAX;
    int *which = malloc((size_t)(ng + 1) * sizeof *which);
    if (!which) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    double ymin = INFINITY, ymax = 0;
    char zero[512] = "";   /* groups whose error is 0 at every n_obs: not on a log axis */
    for (int i = 0; i < ng; i++) {
        const report_group *g = &r->groups[i];
        int pos = 0;
        for (int l = 0; l < g->nlev; l++)
            pos += g->lev_mean[l] > 0;
        if (pos >= 2)   /* a convergence line needs two n_obs levels */
            which[np++] = i;
        else if (pos == 0 && all_zero(recs, n, r, i)) {   /* e.g. the oracle: error 0 */
            size_t at = strlen(zero);
            if (at + strlen(g->label) + 8 < sizeof zero)
                snprintf(zero + at, sizeof zero - at, "%s%s", at ? ", " : "", g->label);
        }
    }
    if (!np) {
        free(which);
        return 1;   /* nothing to plot */
    }
    FILE *d = open_in(o, name, ".dat", err, errlen);
    if (!d) {
        free(which);
        return -1;
    }
    fprintf(d, "# t2rec plot: %s against n_obs, one block per group (gnuplot index k-1 = group k)\n"
               "# columns: n_obs, geometric mean over the replicates, 95%% t-interval of the mean log error"
               " (low, high), replicates\n", metric);
    for (int k = 0; k < np; k++) {
        const report_group *g = &r->groups[which[k]];
        fprintf(d, "# group %d: %s\n", k + 1, g->label);
        for (int l = 0; l < g->nlev; l++) {
            if (!(g->lev_mean[l] > 0))
                continue;
            double lo = g->lev_lo[l] > 0 ? g->lev_lo[l] : g->lev_mean[l] * 0.5;
            double hi = isfinite(g->lev_hi[l]) ? g->lev_hi[l] : g->lev_mean[l] * 2;
            fprintf(d, "%.10g %.10g %.10g %.10g %d\n", g->lev_n[l], g->lev_mean[l], lo, hi, g->lev_count[l]);
            maxrep = g->lev_count[l] > maxrep ? g->lev_count[l] : maxrep;
            minrep = g->lev_count[l] < minrep ? g->lev_count[l] : minrep;
            ymin = fmin(ymin, g->lev_mean[l]);
            ymax = fmax(ymax, g->lev_mean[l]);
        }
        fprintf(d, "\n\n");
    }
    if (close_checked(d, o, name, ".dat", err, errlen) != 0) {
        free(which);
        return -1;
    }
    FILE *f = open_in(o, name, ".gp", err, errlen);
    if (!f) {
        free(which);
        return -1;
    }
    driver_head(f, name, "convergence figure", "convergence.gp");
    gp_str(f, "title_main", plot_metric_words(metric));
    gp_str(f, "title_fixed", *fixed ? fixed : "synthetic data");
    char reps[64], note[1024];
    if (minrep == maxrep)
        snprintf(reps, sizeof reps, "%d replicate%s", maxrep, maxrep == 1 ? "" : "s");
    else
        snprintf(reps, sizeof reps, "%d-%d replicates", minrep, maxrep);
    int anyth = 0;
    for (int k = 0; k < np; k++)
        anyth |= isfinite(r->groups[which[k]].theory_slope) && (!strcmp(r->groups[which[k]].method, "twotower") ||
                                                                  !strcmp(r->groups[which[k]].method, "joint"));
    snprintf(note, sizeof note,
             "line: geometric mean over %s at each n_obs; band: 95%% t-interval of the mean log error%s\n"
             "key: slope = mean of the per-replicate slopes, 95%% t-interval with R-1 df (R replicates)%s",
             reps, anyth ? "; dashed: theory slope -2β/(2β+d) from the first point" : "", "");
    if (r->n_failed_total) {
        size_t at = strlen(note);
        snprintf(note + at, sizeof note - at, "; %d failed cell%s left out", r->n_failed_total,
                 r->n_failed_total == 1 ? "" : "s");
    }
    if (*zero) {
        size_t at = strlen(note);
        snprintf(note + at, sizeof note - at, "; not drawn (error 0): %s", zero);
    }
    /* the note spans two lines, each in the script's small font */
    {
        char *nl = strchr(note, '\n'), e1[1024], e2[1024];
        *nl = 0;
        gq(note, e1, sizeof e1);
        gq(nl + 1, e2, sizeof e2);
        fprintf(f, "title_note = \"%s}\\n{/*0.75 %s\"\n", e1, e2);
    }
    {
        char yl[256];
        snprintf(yl, sizeof yl, "%s (log scale)", metric);
        gp_str(f, "ylabel_text", yl);
    }
    char **labels = calloc((size_t)np + 1, sizeof *labels);
    int *ci = calloc((size_t)np + 1, sizeof *ci), *dt = calloc((size_t)np + 1, sizeof *dt);
    int *pt = calloc((size_t)np + 1, sizeof *pt), *band = calloc((size_t)np + 1, sizeof *band);
    int *th = calloc((size_t)np + 1, sizeof *th);
    double *lw = calloc((size_t)np + 1, sizeof *lw), *ts = calloc((size_t)np + 1, sizeof *ts);
    double *tx0 = calloc((size_t)np + 1, sizeof *tx0), *tx1 = calloc((size_t)np + 1, sizeof *tx1);
    double *ty0 = calloc((size_t)np + 1, sizeof *ty0);
    int rc = 0;
    if (!labels || !ci || !dt || !pt || !band || !th || !lw || !ts || !tx0 || !tx1 || !ty0) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
        goto done;
    }
    for (int k = 0; k < np && rc == 0; k++) {
        const report_group *g = &r->groups[which[k]];
        int q = group_series(r, s, which[k], n);
        const char *lab = s->label[q];
        char text[1024];
        if (!strcmp(g->status, "fitted"))
            snprintf(text, sizeof text, "%s: slope %.2f [%.2f, %.2f] (R=%d)", lab, g->slope, g->slope_lo,
                     g->slope_hi, g->n_replicates);
        else if (!strcmp(g->status, "one replicate"))
            snprintf(text, sizeof text, "%s: slope %.2f (one replicate, no CI)", lab, g->slope);
        else if (!strcmp(g->status, "budget-limited"))
            snprintf(text, sizeof text, "%s: BUDGET-LIMITED (%d of %d cells stopped at the epoch cap): no rate",
                     lab, g->n_capped, g->n_cells);
        else
            snprintf(text, sizeof text, "%s: %s (no rate)", lab, g->status);
        int has_th = isfinite(g->theory_slope) &&
                     (!strcmp(g->method, "twotower") || !strcmp(g->method, "joint"));
        if (has_th) {
            size_t at = strlen(text);
            snprintf(text + at, sizeof text - at, ", theory %.2f", g->theory_slope);
        }
        labels[k] = strdup(text);
        if (!labels[k]) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        ci[k] = s->cval[q] + 1;
        dt[k] = s->dtype[q];
        pt[k] = s->ptype[q];
        lw[k] = s->lw[q];
        /* bands: every group when few, else the estimator under test only */
        band[k] = np <= 8 || !strcmp(g->method, "twotower");
        int l0 = 0;
        while (l0 < g->nlev && !(g->lev_mean[l0] > 0))
            l0++;
        th[k] = has_th && l0 < g->nlev;
        ts[k] = th[k] ? g->theory_slope : 0;
        tx0[k] = th[k] ? g->lev_n[l0] : 1;
        tx1[k] = th[k] ? g->lev_n[g->nlev - 1] : 1;
        ty0[k] = th[k] ? g->lev_mean[l0] : 1;
    }
    if (rc == 0) {
        fprintf(f, "ngroups = %d\n", np);
        gp_str_array(f, "label", (const char *const *)labels, np);
        gp_int_array(f, "cidx", ci, np);
        gp_int_array(f, "dtype", dt, np);
        gp_int_array(f, "ptype", pt, np);
        gp_num_array(f, "lwidth", lw, np);
        gp_int_array(f, "band", band, np);
        gp_int_array(f, "th", th, np);
        gp_num_array(f, "th_slope", ts, np);
        gp_num_array(f, "th_x0", tx0, np);
        gp_num_array(f, "th_x1", tx1, np);
        gp_num_array(f, "th_y0", ty0, np);
        /* the means decide the range (a 1-2-5 tick at least inside); wide bands are clipped */
        fprintf(f, "ymin = %.6g\nymax = %.6g\n", ymin / 2.5, ymax * 2.5);
        fprintf(f, "load scriptdir.'/convergence.gp'\n");
    }
done:
    if (close_checked(f, o, name, ".gp", err, errlen) != 0)
        rc = -1;
    for (int k = 0; labels && k < np; k++)
        free(labels[k]);
    free(labels);
    free(ci);
    free(dt);
    free(pt);
    free(band);
    free(th);
    free(lw);
    free(ts);
    free(tx0);
    free(tx1);
    free(ty0);
    free(which);
    if (rc == 0 && run_script(o, name, err, errlen) != 0)
        rc = -1;
    if (rc == 0)
        list_outputs(o, name);
    return rc;
}

/* ---- local slopes (plot --local) ---- */

/* Local slope against the window centre n per group, 95% CI bars, the theory slope as a
 * dashed level line; left panel the raw slope, right the log^2-corrected one. 1 when no group
 * has a local slope (nothing drawn). */
static int plot_local(const report *r, const styles *s, int n, const plot_opts *o, const char *fixed,
                      char *err, size_t errlen)
{
    char name[1200];
    if (strcmp(r->metric, "excess_risk_cold"))
        snprintf(name, sizeof name, "%s_local_%s", o->prefix, r->metric);
    else
        snprintf(name, sizeof name, "%s_local", o->prefix);
    int ng = r->ngroups, np = 0;
    int *which = malloc((size_t)(ng + 1) * sizeof *which);
    if (!which) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    double ymin = INFINITY, ymax = -INFINITY, xmin = INFINITY, xmax = 0;
    for (int i = 0; i < ng; i++) {
        const report_group *g = &r->groups[i];
        int any = 0;
        for (int w = 0; w < g->nwin; w++)
            if (isfinite(g->win[w].slope)) {
                any = 1;
                ymin = fmin(ymin, fmin(g->win[w].slope, g->win[w].slope_log2));
                ymax = fmax(ymax, fmax(g->win[w].slope, g->win[w].slope_log2));
                xmin = fmin(xmin, g->win[w].n_mid);
                xmax = fmax(xmax, g->win[w].n_mid);
            }
        if (any) {
            which[np++] = i;
            if (isfinite(g->theory_slope)) {
                ymin = fmin(ymin, g->theory_slope);
                ymax = fmax(ymax, g->theory_slope);
            }
        }
    }
    if (!np) {
        free(which);
        if (o->out)
            fprintf(o->out, "note: no group has a local slope (%d n_obs levels per window): no local figure\n",
                    r->window);
        return 1;
    }
    FILE *d = open_in(o, name, ".dat", err, errlen);
    if (!d) {
        free(which);
        return -1;
    }
    fprintf(d, "# t2rec plot --local: local slopes of log(%s) on log(n_obs) over windows of %d n_obs "
               "levels, one block per group (gnuplot index k-1 = group k)\n"
               "# columns: window centre n, slope, 95%% CI low, high, slope of error/ln^2 n, CI low, high, "
               "replicates, window n from, n to\n", r->metric, r->window);
    for (int k = 0; k < np; k++) {
        const report_group *g = &r->groups[which[k]];
        fprintf(d, "# group %d: %s\n", k + 1, g->label);
        for (int w = 0; w < g->nwin; w++) {
            const report_window *v = &g->win[w];
            if (!isfinite(v->slope))
                continue;
            /* one replicate: no interval, the bar collapses onto the point */
            fprintf(d, "%.10g %.10g %.10g %.10g %.10g %.10g %.10g %d %.10g %.10g\n", v->n_mid, v->slope,
                    isfinite(v->lo) ? v->lo : v->slope, isfinite(v->hi) ? v->hi : v->slope, v->slope_log2,
                    isfinite(v->lo_log2) ? v->lo_log2 : v->slope_log2,
                    isfinite(v->hi_log2) ? v->hi_log2 : v->slope_log2, v->n_replicates, v->n_lo, v->n_hi);
            if (isfinite(v->lo)) {
                ymin = fmin(ymin, fmin(v->lo, v->lo_log2));
                ymax = fmax(ymax, fmax(v->hi, v->hi_log2));
            }
        }
        fprintf(d, "\n\n");
    }
    if (close_checked(d, o, name, ".dat", err, errlen) != 0) {
        free(which);
        return -1;
    }
    FILE *f = open_in(o, name, ".gp", err, errlen);
    if (!f) {
        free(which);
        return -1;
    }
    driver_head(f, name, "local-slope figure", "local.gp");
    char title[512], note[512];
    snprintf(title, sizeof title, "Local slopes against n_obs: %s", plot_metric_words(r->metric));
    gp_str(f, "title_main", title);
    gp_str(f, "title_fixed", *fixed ? fixed : "synthetic data");
    snprintf(note, sizeof note, "windows of %d consecutive n_obs levels, plotted at their geometric centre; "
             "bars: 95%% t-interval over the per-replicate slopes; dashed: theory -2β/(2β+d)", r->window);
    gp_str(f, "title_note", note);
    char **labels = calloc((size_t)np + 1, sizeof *labels);
    int *ci = calloc((size_t)np + 1, sizeof *ci), *dt = calloc((size_t)np + 1, sizeof *dt);
    int *pt = calloc((size_t)np + 1, sizeof *pt), *th = calloc((size_t)np + 1, sizeof *th);
    double *ts = calloc((size_t)np + 1, sizeof *ts);
    int rc = 0;
    if (!labels || !ci || !dt || !pt || !th || !ts) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    for (int k = 0; k < np && rc == 0; k++) {
        const report_group *g = &r->groups[which[k]];
        int q = group_series(r, s, which[k], n);
        char text[1024];
        if (isfinite(g->theory_slope))
            snprintf(text, sizeof text, "%s (theory %.2f)", s->label[q], g->theory_slope);
        else
            snprintf(text, sizeof text, "%s", s->label[q]);
        if (!(labels[k] = strdup(text))) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
        ci[k] = s->cval[q] + 1;
        dt[k] = s->dtype[q];
        pt[k] = s->ptype[q];
        th[k] = isfinite(g->theory_slope);
        ts[k] = th[k] ? g->theory_slope : 0;
    }
    if (rc == 0) {
        fprintf(f, "ngroups = %d\n", np);
        gp_str_array(f, "label", (const char *const *)labels, np);
        gp_int_array(f, "cidx", ci, np);
        gp_int_array(f, "dtype", dt, np);
        gp_int_array(f, "ptype", pt, np);
        gp_int_array(f, "th", th, np);
        gp_num_array(f, "th_slope", ts, np);
        double pad = 0.08 * (ymax - ymin > 0 ? ymax - ymin : 1);
        fprintf(f, "ymin = %.6g\nymax = %.6g\n", ymin - pad, fmin(ymax + pad, 0.5));
        fprintf(f, "xmin = %.6g\nxmax = %.6g\n", xmin / 1.5, xmax * 1.5);
        fprintf(f, "load scriptdir.'/local.gp'\n");
    }
    if (close_checked(f, o, name, ".gp", err, errlen) != 0)
        rc = -1;
    for (int k = 0; labels && k < np; k++)
        free(labels[k]);
    free(labels);
    free(ci);
    free(dt);
    free(pt);
    free(th);
    free(ts);
    free(which);
    if (rc == 0 && run_script(o, name, err, errlen) != 0)
        rc = -1;
    if (rc == 0)
        list_outputs(o, name);
    return rc;
}

/* ---- learning curves ---- */

/* Per series, the cell with the largest n_obs, then the lowest replicate, then the first
 * fold. Panels: the training loss, and the valid RMSE and the test_cold excess risk where some
 * series has them (real data run without a valid split has neither). */
static int plot_learning(const cell_record *recs, int n, const styles *s, const plot_opts *o,
                         const char *fixed, char *err, size_t errlen)
{
    char name[1200];
    snprintf(name, sizeof name, "%s_learning", o->prefix);
    int nb = 0, has[3] = {0, 0, 0}, shown[LEARN_MAX_GROUPS], maxep = 1;
    const cell_record *best_of[LEARN_MAX_GROUPS];
    int with_curves = 0;
    for (int q = 0; q < s->nser; q++) {
        const cell_record *best = NULL;
        for (int i = 0; i < n; i++) {
            const cell_record *c = &recs[i];
            if (s->gr.gid[i] != q || strcmp(c->status, "ok") || c->curves.n < 2)
                continue;
            double nn = kv_real(&c->config, "data.n_obs", 0);
            double bn = best ? kv_real(&best->config, "data.n_obs", 0) : -1;
            if (!best || nn > bn || (nn == bn && (c->replicate < best->replicate ||
                (c->replicate == best->replicate &&
                 strcmp(kv_str(&c->config, "data.fold", ""), kv_str(&best->config, "data.fold", "")) < 0))))
                best = c;
        }
        if (!best)
            continue;
        with_curves++;
        if (nb < LEARN_MAX_GROUPS) {
            shown[nb] = q;
            best_of[nb++] = best;
        }
    }
    if (!nb)
        return 1;
    FILE *d = open_in(o, name, ".dat", err, errlen);
    if (!d)
        return -1;
    fprintf(d, "# t2rec plot: learning curves, one block per group (gnuplot index k-1 = group k)\n"
               "# columns: epoch, training loss, valid RMSE, test_cold excess risk, wall seconds\n");
    for (int k = 0; k < nb; k++) {
        const cell_record *best = best_of[k];
        fprintf(d, "# group %d: %s, n_obs=%s, fold=%s, replicate %d\n", k + 1, s->label[shown[k]],
                kv_str(&best->config, "data.n_obs", "-"), kv_str(&best->config, "data.fold", "-"), best->replicate);
        const est_curves *cv = &best->curves;
        for (int e = 0; e < cv->n; e++) {
            fprintf(d, "%d %.10g %.10g %.10g %.10g\n", e + 1, cv->train_loss[e], cv->valid_rmse[e],
                    cv->test_excess[e], cv->wall_seconds[e]);
            has[0] |= isfinite(cv->train_loss[e]) && cv->train_loss[e] > 0;
            has[1] |= isfinite(cv->valid_rmse[e]) && cv->valid_rmse[e] > 0;
            has[2] |= isfinite(cv->test_excess[e]) && cv->test_excess[e] > 0;
        }
        maxep = cv->n > maxep ? cv->n : maxep;
        fprintf(d, "\n\n");
    }
    if (close_checked(d, o, name, ".dat", err, errlen) != 0)
        return -1;
    FILE *f = open_in(o, name, ".gp", err, errlen);
    if (!f)
        return -1;
    driver_head(f, name, "learning curves", "learning.gp");
    {
        char t[700];
        snprintf(t, sizeof t, "Learning curves%s%s", *fixed ? ": " : "", fixed);
        gp_str(f, "title_main", t);
    }
    {
        char note[512], esc[1024];
        snprintf(note, sizeof note, "per group: its cell with the largest n_obs, first replicate and fold; "
                                    "log scale%s", with_curves > nb ? "; the first groups only" : "");
        gq(note, esc, sizeof esc);
        fprintf(f, "title_note = \"%s\"\n", esc);
    }
    const char *labels[LEARN_MAX_GROUPS];
    int ci[LEARN_MAX_GROUPS], dt[LEARN_MAX_GROUPS];
    double lw[LEARN_MAX_GROUPS];
    for (int k = 0; k < nb; k++) {
        labels[k] = s->label[shown[k]];
        ci[k] = s->cval[shown[k]] + 1;
        /* many points per line: dashes are hard to read, so solid unless colours repeat */
        dt[k] = s->ncval == s->nser && s->nser <= 10 ? 1 : s->dtype[shown[k]];
        lw[k] = s->lw[shown[k]];
    }
    fprintf(f, "ngroups = %d\n", nb);
    gp_str_array(f, "label", labels, nb);
    gp_int_array(f, "cidx", ci, nb);
    gp_int_array(f, "dtype", dt, nb);
    gp_num_array(f, "lwidth", lw, nb);
    static const char *const ylabel[3] = {"training loss (mean squared error)", "valid RMSE",
                                          "test_cold excess risk"};
    const char *pl[3];
    int pc[3], npan = 0;
    for (int p = 0; p < 3; p++)
        if (has[p]) {
            pl[npan] = ylabel[p];
            pc[npan++] = p + 2;
        }
    if (!npan) {   /* nothing positive to draw on a log axis: the training loss panel anyway */
        pl[0] = ylabel[0];
        pc[0] = 2;
        npan = 1;
    }
    fprintf(f, "npanels = %d\n", npan);
    gp_int_array(f, "pcol", pc, npan);
    gp_str_array(f, "plabel", pl, npan);
    fprintf(f, "xmax = %d\n", maxep);
    fprintf(f, "load scriptdir.'/learning.gp'\n");
    if (close_checked(f, o, name, ".gp", err, errlen) != 0)
        return -1;
    if (run_script(o, name, err, errlen) != 0)
        return -1;
    list_outputs(o, name);
    return 0;
}

/* ---- methods compared ---- */

typedef struct {
    int oval;       /* the other dimension's value */
    double nobs;    /* NaN: n_obs does not vary */
} category;

/* Mean and 95% t-interval of metric over the ok cells of series q (at n_obs = nobs when
 * nobs_varies); returns the count (lo = hi = mean for one cell). vals: scratch of n. */
static int cell_stats(const cell_record *recs, int n, const styles *s, int q, int nobs_varies, double nobs,
                      const char *metric, double *vals, double *mean, double *lo, double *hi)
{
    int cnt = 0;
    for (int i = 0; i < n; i++) {
        if (s->gr.gid[i] != q || strcmp(recs[i].status, "ok"))
            continue;
        if (nobs_varies && kv_real(&recs[i].config, "data.n_obs", NAN) != nobs)
            continue;
        double v = metric_of(&recs[i], metric);
        if (isfinite(v))
            vals[cnt++] = v;
    }
    if (cnt)
        report_mean_ci(vals, cnt, mean, lo, hi);
    if (cnt == 1)
        *lo = *hi = *mean;
    return cnt;
}

static int plot_methods(const cell_record *recs, int n, const styles *s, const plot_opts *o,
                        const char *fixed, char *err, size_t errlen)
{
    /* only when more than one method is in the file */
    int nmeth = 0;
    const char *m0 = NULL;
    for (int i = 0; i < n; i++) {
        const char *m = kv_str(&recs[i].config, "method", "");
        if (!m0)
            m0 = m, nmeth = 1;
        else if (strcmp(m, m0))
            nmeth = 2;
    }
    if (nmeth < 2)
        return 1;
    /* metrics */
    static const char *const synthetic[] = {"excess_risk_cold", "excess_risk_warm", "ndcg_at_10", NULL};
    static const char *const real[] = {"rmse", "rmse_cold", "precision_at_10", "ndcg_at_10", NULL};
    const char *const *defaults = has_metric(recs, n, "excess_risk_cold") ? synthetic : real;
    const char *mets[METHODS_MAX_PANELS];
    int nm = 0;
    if (o->metric) {
        if (has_metric(recs, n, o->metric))
            mets[nm++] = o->metric;
    } else
        for (int k = 0; defaults[k] && nm < METHODS_MAX_PANELS; k++)
            if (has_metric(recs, n, defaults[k]))
                mets[nm++] = defaults[k];
    if (!nm)
        return 1;
    /* n_obs levels */
    double *lev = malloc((size_t)(n + 1) * sizeof *lev);
    category *cat = malloc((size_t)(n + 1) * sizeof *cat);
    double *vals = malloc((size_t)(n + 1) * sizeof *vals);
    int *pos = malloc((size_t)(n + 1) * METHODS_MAX_PANELS * sizeof *pos);
    if (!lev || !cat || !vals || !pos) {
        free(pos);
        free(lev);
        free(cat);
        free(vals);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int nlev = 0;
    for (int i = 0; i < n; i++) {
        double v = kv_real(&recs[i].config, "data.n_obs", NAN);
        int seen = 0;
        for (int l = 0; l < nlev && !seen; l++)
            seen = lev[l] == v || (isnan(v) && isnan(lev[l]));
        if (!seen)
            lev[nlev++] = v;
    }
    for (int a = 1; a < nlev; a++)   /* sort ascending */
        for (int b = a; b > 0 && lev[b] < lev[b - 1]; b--) {
            double t = lev[b];
            lev[b] = lev[b - 1];
            lev[b - 1] = t;
        }
    int nobs_varies = nlev > 1, only_largest = 0;
    if (nobs_varies && s->noval * nlev > METHODS_MAX_CATS)
        only_largest = 1;
    int ncat = 0;
    for (int v = 0; v < s->noval; v++)
        for (int l = only_largest ? nlev - 1 : 0; l < nlev; l++) {
            cat[ncat].oval = v;
            cat[ncat++].nobs = nobs_varies ? lev[l] : NAN;
        }
    char name[1200];
    if (o->metric)   /* one panel: its own file, next to the default figure */
        snprintf(name, sizeof name, "%s_methods_%s", o->prefix, o->metric);
    else
        snprintf(name, sizeof name, "%s_methods", o->prefix);
    FILE *d = open_in(o, name, ".dat", err, errlen);
    if (!d) {
        free(lev);
        free(cat);
        free(vals);
        free(pos);
        return -1;
    }
    fprintf(d, "# t2rec plot: methods compared; block (p-1)*%d + (c-1) = panel p (metric), colour c\n"
               "# columns: x (category + offset), mean over replicates/folds, 95%% t-interval (low, high), "
               "count\n", s->ncval);
    int rc = 0, zero_on_log[64] = {0}, ncatp[METHODS_MAX_PANELS];
    double slot_w = 0.7 / (s->ncval > 0 ? s->ncval : 1), mean, lo, hi;
    /* per panel, the categories where the metric has values (1-based positions, 0 = none):
     * real data has rmse on the fold split and rmse_cold on cold_users */
    for (int p = 0; p < nm; p++) {
        ncatp[p] = 0;
        for (int k = 0; k < ncat; k++) {
            int any = 0;
            for (int q = 0; q < s->nser && !any; q++)
                any = s->oval[q] == cat[k].oval &&
                      cell_stats(recs, n, s, q, nobs_varies, cat[k].nobs, mets[p], vals, &mean, &lo, &hi) > 0;
            pos[p * ncat + k] = any ? ++ncatp[p] : 0;
        }
    }
    for (int p = 0; p < nm; p++)
        for (int c = 0; c < s->ncval; c++) {
            fprintf(d, "# panel %d (%s), %s\n", p + 1, mets[p], s->cval_label[c]);
            int rows = 0;
            for (int k = 0; k < ncat; k++) {
                /* the series with colour value c and the category's other value */
                int q = -1;
                for (int t = 0; t < s->nser && q < 0; t++)
                    if (s->cval[t] == c && s->oval[t] == cat[k].oval)
                        q = t;
                if (q < 0 || !pos[p * ncat + k])
                    continue;
                int cnt = cell_stats(recs, n, s, q, nobs_varies, cat[k].nobs, mets[p], vals, &mean, &lo, &hi);
                if (!cnt)
                    continue;
                if (!(mean > 0) && !strncmp(mets[p], "excess_risk", 11) && c < 64)
                    zero_on_log[c] = 1;   /* drawn on a log axis: say so in the key */
                double x = pos[p * ncat + k] + (c - (s->ncval - 1) / 2.0) * slot_w;
                fprintf(d, "%.6g %.10g %.10g %.10g %d\n", x, mean, lo, hi, cnt);
                rows++;
            }
            if (!rows)
                fprintf(d, "NaN NaN NaN NaN 0\n");
            fprintf(d, "\n\n");
        }
    if (close_checked(d, o, name, ".dat", err, errlen) != 0)
        rc = -1;
    FILE *f = rc ? NULL : open_in(o, name, ".gp", err, errlen);
    if (!f)
        rc = -1;
    if (rc == 0) {
        driver_head(f, name, "methods compared", "methods.gp");
        char t[512];
        if (only_largest)
            snprintf(t, sizeof t, "Methods compared at n_obs = %.0f", lev[nlev - 1]);
        else
            snprintf(t, sizeof t, "Methods compared");
        gp_str(f, "title_main", t);
        gp_str(f, "title_fixed", *fixed ? fixed : "synthetic data");
        int folds = 0;
        for (int i = 0; i < n && !folds; i++)
            folds = kv_get(&recs[i].config, "data.fold") != NULL;
        snprintf(t, sizeof t, "point: mean over the %s; bar: 95%% t-interval; "
                              "failed cells left out", folds ? "folds (and replicates)" : "replicates");
        gp_str(f, "title_note", t);
        const char *cl[64];
        char zl[64][300];
        int ci[64], pt[64], nc = s->ncval < 64 ? s->ncval : 64;
        for (int c = 0; c < nc; c++) {
            cl[c] = s->cval_label[c];
            if (zero_on_log[c]) {
                snprintf(zl[c], sizeof zl[c], "%s (excess risk 0: below the log axis)", s->cval_label[c]);
                cl[c] = zl[c];
            }
            ci[c] = c + 1;
            pt[c] = 7;
            for (int q = 0; q < s->nser; q++)
                if (s->cval[q] == c) {
                    pt[c] = s->colour_by_method ? s->ptype[q] : 7;
                    break;
                }
        }
        fprintf(f, "nseries = %d\n", nc);
        gp_str_array(f, "label", cl, nc);
        gp_int_array(f, "cidx", ci, nc);
        gp_int_array(f, "ptype", pt, nc);
        const char *pti[METHODS_MAX_PANELS];
        int plog[METHODS_MAX_PANELS];
        char wrapped[METHODS_MAX_PANELS][256];
        for (int p = 0; p < nm; p++) {
            /* panel titles in two lines: "Excess risk on fresh users and items\n(test_cold)" */
            snprintf(wrapped[p], sizeof wrapped[p], "%s", plot_metric_words(mets[p]));
            char *par = strstr(wrapped[p], " (");
            if (par && nm > 1)
                *par = '\n';
            pti[p] = wrapped[p];
            plog[p] = !strncmp(mets[p], "excess_risk", 11);
        }
        fprintf(f, "npanels = %d\n", nm);
        gp_str_array(f, "ptitle", pti, nm);
        gp_int_array(f, "plog", plog, nm);
        /* category labels per panel, flattened: catlabel[(p - 1) * ncat + c] */
        int nflat = nm * ncat;
        char **cls = calloc((size_t)nflat + 1, sizeof *cls);
        int crowd = 0;
        for (int p = 0; cls && p < nm && rc == 0; p++) {
            int longest = 0;
            for (int k = 0; k < ncat; k++) {
                char b[1200] = "";
                const char *ov = s->oval_label[cat[k].oval];
                if (nobs_varies && !only_largest)
                    snprintf(b, sizeof b, "%s%sn=%.0f", ov, *ov ? " " : "", cat[k].nobs);
                else
                    snprintf(b, sizeof b, "%s", *ov ? ov : "all");
                if (pos[p * ncat + k]) {
                    cls[p * ncat + pos[p * ncat + k] - 1] = strdup(b);
                    if (!cls[p * ncat + pos[p * ncat + k] - 1])
                        rc = -1;
                    longest = (int)strlen(b) > longest ? (int)strlen(b) : longest;
                }
            }
            crowd = longest * ncatp[p] * nm > crowd ? longest * ncatp[p] * nm : crowd;
        }
        for (int k = 0; cls && rc == 0 && k < nflat; k++)
            if (!cls[k] && !(cls[k] = strdup("")))
                rc = -1;
        if (!cls || rc) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else {
            fprintf(f, "ncat = %d\n", ncat);
            gp_int_array(f, "ncatp", ncatp, nm);
            gp_str_array(f, "catlabel", (const char *const *)cls, nflat);
            /* long category names on a crowded axis are turned */
            fprintf(f, "xrot = %d\n", crowd > 80 ? 30 : 0);
            fprintf(f, "load scriptdir.'/methods.gp'\n");
        }
        for (int k = 0; cls && k < nflat; k++)
            free(cls[k]);
        free(cls);
        if (close_checked(f, o, name, ".gp", err, errlen) != 0)
            rc = -1;
    }
    free(lev);
    free(cat);
    free(vals);
    free(pos);
    if (rc == 0 && run_script(o, name, err, errlen) != 0)
        rc = -1;
    if (rc == 0)
        list_outputs(o, name);
    return rc;
}

int plot_all(const cell_record *recs, int n, const plot_opts *o, char *err, size_t errlen)
{
    if (mkdir(o->outdir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create: %s", o->outdir, strerror(errno));
        return -1;
    }
    char sdir[PATH_MAX];
    if (plot_find_scripts(o->scripts, sdir, sizeof sdir) != 0) {
        snprintf(err, errlen, "cannot find the gnuplot scripts (%s): give --scripts DIR or set "
                              "T2REC_PLOT_SCRIPTS", o->scripts ? o->scripts : "plots/convergence.gp ...");
        return -1;
    }
    if (copy_scripts(sdir, o->outdir, err, errlen) != 0)
        return -1;
    /* convergence: the named metric, else the test_cold excess risk, else (real data) rmse */
    const char *metric = o->metric ? o->metric
                         : has_metric(recs, n, "excess_risk_cold") || !has_metric(recs, n, "rmse") ? "excess_risk_cold"
                                                                                                  : "rmse";
    styles st;
    if (styles_build(recs, n, &st) != 0) {
        styles_free(&st);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    report r;
    if (report_build(recs, n, metric, &r) != 0) {
        styles_free(&st);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char fixed[512];
    fixed_settings(recs, n, fixed, sizeof fixed);
    int rc = 0;
    if (plot_convergence(recs, n, &r, &st, o, fixed, err, errlen) < 0)
        rc = -1;
    if (rc == 0 && plot_learning(recs, n, &st, o, fixed, err, errlen) < 0)
        rc = -1;
    if (rc == 0 && plot_methods(recs, n, &st, o, fixed, err, errlen) < 0)
        rc = -1;
    if (rc == 0 && o->local_window > 0) {
        report lr;
        if (report_build_local(recs, n, metric, o->local_window, &lr) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else {
            if (plot_local(&lr, &st, n, o, fixed, err, errlen) < 0)
                rc = -1;
            report_free(&lr);
        }
    }
    if (o->out) {
        if (r.n_failed_total)
            fprintf(o->out, "note: %d failed cells left out of the figures\n", r.n_failed_total);
        for (int i = 0; i < r.ngroups; i++)
            if (!strcmp(r.groups[i].status, "budget-limited"))
                fprintf(o->out, "note: %s: budget-limited, %d of %d cells stopped at the epoch cap while still "
                                "improving (no rate shown)\n", r.groups[i].label, r.groups[i].n_capped,
                        r.groups[i].n_cells);
        if (rc == 0)
            fprintf(o->out, "to restyle: edit %s/*.gp (style.gp: colours and fonts), then "
                            "cd %s && gnuplot %s_NAME.gp (the data stay in the .dat files)\n",
                    o->outdir, o->outdir, o->prefix);
    }
    report_free(&r);
    styles_free(&st);
    return rc;
}
