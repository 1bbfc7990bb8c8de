/* compare.c — paired t and Wilcoxon signed-rank tests, Holm's adjustment, and the tables of
 * paired method comparisons per data setting and of per-replicate slopes (see compare.h). */
#include "compare.h"
#include "grouping.h"
#include "h5out.h"
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- statistics ---- */

double compare_t_p(const double *d, int n, double *t)
{
    if (t)
        *t = NAN;
    if (n < 2)
        return NAN;
    double m = gsl_stats_mean(d, 1, (size_t)n), sd = gsl_stats_sd_m(d, 1, (size_t)n, m);
    if (!(sd > 0)) {   /* every difference equal: no spread to test against */
        if (t)
            *t = m == 0 ? 0 : m > 0 ? INFINITY : -INFINITY;
        return m == 0 ? 1.0 : 0.0;
    }
    double tt = m / (sd / sqrt(n));
    if (t)
        *t = tt;
    return fmin(1.0, 2 * gsl_cdf_tdist_Q(fabs(tt), n - 1));
}

typedef struct {
    double a;   /* |d| */
    int pos;
} absd;

static int cmp_absd(const void *pa, const void *pb)
{
    double x = ((const absd *)pa)->a, y = ((const absd *)pb)->a;
    return (x > y) - (x < y);
}

int compare_wilcoxon(const double *d, int n, double *p, double *w_plus, int *n_nonzero, int *exact)
{
    absd *v = malloc((size_t)(n + 1) * sizeof *v);
    int *r2 = malloc((size_t)(n + 1) * sizeof *r2);   /* doubled (average) ranks: integers */
    if (!v || !r2) {
        free(v);
        free(r2);
        return -1;
    }
    int m = 0;
    for (int k = 0; k < n; k++)
        if (d[k] != 0 && !isnan(d[k])) {
            v[m].a = fabs(d[k]);
            v[m++].pos = d[k] > 0;
        }
    qsort(v, (size_t)m, sizeof *v, cmp_absd);
    long w2 = 0;          /* doubled W+ */
    double ties = 0;      /* sum of t^3 - t over tie groups */
    for (int k = 0; k < m;) {
        int e = k;
        while (e < m && v[e].a == v[k].a)
            e++;
        int rank2 = k + 1 + e;   /* 2 * the average of ranks k+1 .. e */
        for (int j = k; j < e; j++) {
            r2[j] = rank2;
            if (v[j].pos)
                w2 += rank2;
        }
        double t = e - k;
        ties += t * t * t - t;
        k = e;
    }
    if (n_nonzero)
        *n_nonzero = m;
    if (w_plus)
        *w_plus = w2 / 2.0;
    int is_exact = 0;
    double pv;
    if (n == 0)
        pv = NAN;
    else if (m == 0)
        pv = 1.0;
    else if (m <= COMPARE_WILCOXON_EXACT_MAX) {
        /* exact: under H0 each sign is + or - with probability 1/2 independently, so the
         * doubled W+ is a sum of a random subset of the doubled ranks; count subsets by sum */
        long total = 0;
        for (int j = 0; j < m; j++)
            total += r2[j];
        double *cnt = calloc((size_t)total + 1, sizeof *cnt);
        if (!cnt) {
            free(v);
            free(r2);
            return -1;
        }
        cnt[0] = 1;
        long reach = 0;
        for (int j = 0; j < m; j++) {
            for (long s = reach; s >= 0; s--)
                if (cnt[s] != 0)
                    cnt[s + r2[j]] += cnt[s];
            reach += r2[j];
        }
        double all = ldexp(1.0, m), lo = 0, hi = 0;
        for (long s = 0; s <= total; s++) {
            if (s <= w2)
                lo += cnt[s];
            if (s >= w2)
                hi += cnt[s];
        }
        pv = fmin(1.0, 2 * fmin(lo, hi) / all);
        free(cnt);
        is_exact = 1;
    } else {
        double mean = m * (m + 1.0) / 4;
        double var = m * (m + 1.0) * (2 * m + 1.0) / 24 - ties / 48;
        double dev = w2 / 2.0 - mean;
        dev = dev > 0 ? fmax(0, dev - 0.5) : fmin(0, dev + 0.5);   /* continuity correction */
        pv = var > 0 ? fmin(1.0, 2 * gsl_cdf_ugaussian_Q(fabs(dev) / sqrt(var))) : 1.0;
    }
    if (p)
        *p = pv;
    if (exact)
        *exact = is_exact;
    free(v);
    free(r2);
    return 0;
}

int compare_paired(const double *d, int n, compare_stats *o)
{
    memset(o, 0, sizeof *o);
    o->n = n;
    o->mean = o->lo = o->hi = o->t = o->p_t = o->w_plus = o->p_w = NAN;
    if (n < 1)
        return 0;
    report_mean_ci(d, n, &o->mean, &o->lo, &o->hi);
    o->p_t = compare_t_p(d, n, &o->t);
    return compare_wilcoxon(d, n, &o->p_w, &o->w_plus, &o->n_nonzero, &o->exact);
}

static const double *holm_p;

static int cmp_pidx(const void *pa, const void *pb)
{
    double x = holm_p[*(const int *)pa], y = holm_p[*(const int *)pb];
    return (x > y) - (x < y);
}

int compare_holm(const double *p, int n, double *adj)
{
    int *idx = malloc((size_t)(n + 1) * sizeof *idx);
    double *pc = malloc((size_t)(n + 1) * sizeof *pc);
    if (!idx || !pc) {
        free(idx);
        free(pc);
        return -1;
    }
    int m = 0;
    for (int k = 0; k < n; k++) {
        pc[k] = p[k];
        if (!isnan(p[k]))
            idx[m++] = k;
    }
    holm_p = pc;
    qsort(idx, (size_t)m, sizeof *idx, cmp_pidx);
    for (int k = 0; k < n; k++)
        adj[k] = NAN;
    double run = 0;
    for (int k = 0; k < m; k++) {
        run = fmax(run, fmin(1.0, (m - k) * pc[idx[k]]));
        adj[idx[k]] = run;
    }
    free(idx);
    free(pc);
    return 0;
}

/* ---- units and pairs ---- */

typedef struct {
    int replicate;
    uint64_t seed;
    const char *fold;   /* "" when none */
    double v;           /* mean over the unit's cells (NaN: no usable cell) */
    int nv;
} unit;

static int same_unit(const unit *a, const unit *b)
{
    return a->replicate == b->replicate && a->seed == b->seed && !strcmp(a->fold, b->fold);
}

/* Add value v of a unit to the list (averaging duplicates). -1 out of memory. */
static int unit_add(unit **u, int *nu, int *cap, int replicate, uint64_t seed, const char *fold, double v)
{
    unit key = {replicate, seed, fold, NAN, 0};
    for (int k = 0; k < *nu; k++)
        if (same_unit(&(*u)[k], &key)) {
            if (isfinite(v)) {
                (*u)[k].v = (*u)[k].nv ? (*u)[k].v + (v - (*u)[k].v) / ((*u)[k].nv + 1) : v;
                (*u)[k].nv++;
            }
            return 0;
        }
    if (*nu == *cap) {
        int nc = *cap ? 2 * *cap : 8;
        unit *q = realloc(*u, (size_t)nc * sizeof *q);
        if (!q)
            return -1;
        *u = q;
        *cap = nc;
    }
    key.v = isfinite(v) ? v : NAN;
    key.nv = isfinite(v);
    (*u)[(*nu)++] = key;
    return 0;
}

/* Fill row from two arms' units. -1 out of memory. */
static int pair_row(const unit *a, int na, const unit *b, int nb, compare_row *row)
{
    double *d = malloc((size_t)(na + 1) * sizeof *d);
    if (!d)
        return -1;
    int np = 0;
    double sa = 0, sb = 0;
    row->n_only_a = row->n_only_b = 0;
    for (int i = 0; i < na; i++) {
        if (!a[i].nv)
            continue;
        int hit = -1;
        for (int j = 0; j < nb && hit < 0; j++)
            if (b[j].nv && same_unit(&a[i], &b[j]))
                hit = j;
        if (hit < 0) {
            row->n_only_a++;
            continue;
        }
        d[np++] = a[i].v - b[hit].v;
        sa += a[i].v;
        sb += b[hit].v;
    }
    for (int j = 0; j < nb; j++) {
        if (!b[j].nv)
            continue;
        int hit = 0;
        for (int i = 0; i < na && !hit; i++)
            hit = a[i].nv && same_unit(&a[i], &b[j]);
        row->n_only_b += !hit;
    }
    row->mean_a = np ? sa / np : NAN;
    row->mean_b = np ? sb / np : NAN;
    int rc = compare_paired(d, np, &row->s);
    free(d);
    if (rc != 0)
        return -1;
    row->p_t_holm = row->p_w_holm = NAN;
    if (np == 0)
        snprintf(row->status, sizeof row->status, "unpaired (no shared data seed)");
    else if (np == 1)
        snprintf(row->status, sizeof row->status, "one pair");
    else
        snprintf(row->status, sizeof row->status, "ok");
    return 0;
}

static int add_row(compare_table *t, int *cap)
{
    if (t->nrows == *cap) {
        int nc = *cap ? 2 * *cap : 16;
        compare_row *q = realloc(t->rows, (size_t)nc * sizeof *q);
        if (!q)
            return -1;
        t->rows = q;
        *cap = nc;
    }
    memset(&t->rows[t->nrows], 0, sizeof t->rows[t->nrows]);
    t->nrows++;
    return 0;
}

/* Holm over the rows of each block. -1 out of memory. */
static int holm_blocks(compare_table *t)
{
    double *p = malloc((size_t)(t->nrows + 1) * sizeof *p), *adj = malloc((size_t)(t->nrows + 1) * sizeof *adj);
    int *at = malloc((size_t)(t->nrows + 1) * sizeof *at);
    int rc = (!p || !adj || !at) ? -1 : 0;
    for (int b = 0; b < t->nblocks && !rc; b++)
        for (int pass = 0; pass < 2 && !rc; pass++) {
            int m = 0;
            for (int k = 0; k < t->nrows; k++)
                if (t->rows[k].block == b) {
                    at[m] = k;
                    p[m++] = pass ? t->rows[k].s.p_w : t->rows[k].s.p_t;
                }
            rc = compare_holm(p, m, adj);
            for (int k = 0; k < m && !rc; k++)
                *(pass ? &t->rows[at[k]].p_w_holm : &t->rows[at[k]].p_t_holm) = adj[k];
        }
    free(p);
    free(adj);
    free(at);
    return rc;
}

/* ---- blocks of cells ---- */

/* keys that do not define the data setting: the method's own, the fold (a unit), experiment.* */
static int not_block_key(const char *k)
{
    return !strcmp(k, "method") || !strncmp(k, "method.", 7) || !strcmp(k, "data.fold") ||
           (!strncmp(k, "experiment.", 11) && strcmp(k, "experiment.seed"));
}

static int same_block(const kvset *x, const kvset *y)
{
    for (int pass = 0; pass < 2; pass++) {
        const kvset *p = pass ? y : x, *q = pass ? x : y;
        for (int k = 0; k < p->n; k++) {
            if (not_block_key(p->key[k]))
                continue;
            const char *v = kv_get(q, p->key[k]);
            if (!v || strcmp(v, p->val[k]))
                return 0;
        }
    }
    return 1;
}

/* "KEY=VALUE ..." of the display keys that are block keys ("all" when none). */
static char *block_label(const kvset *cfg, char *const *keys, int nkeys)
{
    size_t len = 4;
    for (int k = 0; k < nkeys; k++)
        len += strlen(keys[k]) + strlen(kv_str(cfg, keys[k], "")) + 2;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t at = 0;
    s[0] = 0;
    for (int k = 0; k < nkeys; k++) {
        const char *v = kv_get(cfg, keys[k]);
        if (!v || not_block_key(keys[k]))
            continue;
        at += (size_t)snprintf(s + at, len - at, "%s%s=%s", at ? " " : "", grouping_short(keys[k]), v);
    }
    if (!at)
        snprintf(s, len, "all");
    return s;
}

/* Labels of the arms: "method k=v ..." with the method.* keys (of keys) whose value differs
 * between two arms of the same method. -1 out of memory. */
static int arm_labels(const kvset *const *cfg, const char *const *method, int narm, char *const *keys,
                      int nkeys, char **labels)
{
    for (int q = 0; q < narm; q++) {
        size_t len = strlen(method[q]) + 1;
        for (int k = 0; k < nkeys; k++)
            len += strlen(keys[k]) + strlen(kv_str(cfg[q], keys[k], "")) + 2;
        char *s = labels[q] = malloc(len);
        if (!s)
            return -1;
        size_t at = (size_t)snprintf(s, len, "%s", method[q]);
        for (int k = 0; k < nkeys; k++) {
            const char *v = kv_get(cfg[q], keys[k]);
            if (!v || !*v || strncmp(keys[k], "method.", 7))
                continue;
            int differs = 0;
            for (int p = 0; p < narm && !differs; p++) {
                const char *w = kv_get(cfg[p], keys[k]);
                differs = !strcmp(method[p], method[q]) && (!w || strcmp(w, v));
            }
            if (differs)
                at += (size_t)snprintf(s + at, len - at, " %s=%s", grouping_short(keys[k]), v);
        }
    }
    return 0;
}

static double metric_of(const cell_record *r, const char *metric)
{
    for (int k = 0; k < r->metrics.n; k++)
        if (!strcmp(r->metrics.name[k], metric))
            return r->metrics.value[k];
    return NAN;
}

static int add_block(compare_table *t, char *label)
{
    if (!label)
        return -1;
    char **q = realloc(t->block_label, (size_t)(t->nblocks + 1) * sizeof *q);
    if (!q) {
        free(label);
        return -1;
    }
    t->block_label = q;
    q[t->nblocks++] = label;
    return 0;
}

/* The rows of every arm pair of every block. arms: narm arms with their block, label and
 * units. -1 out of memory. */
typedef struct {
    int block;
    const char *label;
    unit *u;
    int nu, cap;
    const char *bad;   /* why the arm has no values to compare (slopes), or NULL */
} arm;

static const char no_metric[] = "no ok cell with this metric";

static int pair_arms(compare_table *t, arm *arms, int narm)
{
    int cap = 0;
    for (int i = 0; i < narm; i++)
        for (int j = i + 1; j < narm; j++) {
            if (arms[i].block != arms[j].block || (arms[i].bad == no_metric && arms[j].bad == no_metric))
                continue;
            if (add_row(t, &cap) != 0)
                return -1;
            compare_row *row = &t->rows[t->nrows - 1];
            row->block = arms[i].block;
            row->label_a = strdup(arms[i].label);
            row->label_b = strdup(arms[j].label);
            if (!row->label_a || !row->label_b)
                return -1;
            if (arms[i].bad || arms[j].bad) {
                memset(&row->s, 0, sizeof row->s);
                row->s.mean = row->s.lo = row->s.hi = row->s.t = row->s.p_t = NAN;
                row->s.w_plus = row->s.p_w = NAN;
                row->mean_a = row->mean_b = row->p_t_holm = row->p_w_holm = NAN;
                snprintf(row->status, sizeof row->status, "%s: %s", arms[i].bad ? "A" : "B",
                         arms[i].bad ? arms[i].bad : arms[j].bad);
                continue;
            }
            if (pair_row(arms[i].u, arms[i].nu, arms[j].u, arms[j].nu, row) != 0)
                return -1;
        }
    return holm_blocks(t);
}

static void free_arms(arm *arms, int narm, char **labels)
{
    for (int i = 0; i < narm; i++) {
        free(arms[i].u);
        if (labels)
            free(labels[i]);
    }
    free(arms);
    free(labels);
}

static const char *const fold_ignore[] = {"data.fold", NULL};

int compare_build(const cell_record *recs, int n, const char *metric, compare_table *out)
{
    memset(out, 0, sizeof *out);
    out->what = metric;
    grouping gr;
    if (grouping_build(recs, n, fold_ignore, &gr) != 0) {
        grouping_free(&gr);
        return -1;
    }
    arm *arms = calloc((size_t)gr.ngroups + 1, sizeof *arms);
    char **labels = calloc((size_t)gr.ngroups + 1, sizeof *labels);
    int rc = (!arms || !labels) ? -1 : 0;
    for (int q = 0; q < gr.ngroups && !rc; q++) {
        const cell_record *r = &recs[gr.first[q]];
        arms[q].block = -1;
        for (int p = 0; p < q && arms[q].block < 0; p++)
            if (same_block(&r->config, &recs[gr.first[p]].config))
                arms[q].block = arms[p].block;
        if (arms[q].block < 0) {
            arms[q].block = out->nblocks;
            rc = add_block(out, block_label(&r->config, gr.keys, gr.nkeys));
        }
    }
    const kvset **cfg = calloc((size_t)gr.ngroups + 1, sizeof *cfg);
    const char **meth = calloc((size_t)gr.ngroups + 1, sizeof *meth);
    if (!cfg || !meth)
        rc = -1;
    for (int q = 0; q < gr.ngroups && !rc; q++) {
        cfg[q] = &recs[gr.first[q]].config;
        meth[q] = kv_str(cfg[q], "method", "?");
    }
    if (!rc)
        rc = arm_labels(cfg, meth, gr.ngroups, gr.keys, gr.nkeys, labels);
    for (int q = 0; q < gr.ngroups && !rc; q++)
        arms[q].label = labels[q];
    free(cfg);
    free(meth);
    for (int i = 0; i < n && !rc; i++) {
        arm *a = &arms[gr.gid[i]];
        double v = strcmp(recs[i].status, "ok") ? NAN : metric_of(&recs[i], metric);
        rc = unit_add(&a->u, &a->nu, &a->cap, recs[i].replicate, recs[i].data_seed,
                      kv_str(&recs[i].config, "data.fold", ""), v);
    }
    for (int q = 0; q < gr.ngroups && !rc; q++) {
        int any = 0;
        for (int k = 0; k < arms[q].nu; k++)
            any |= arms[q].u[k].nv > 0;
        arms[q].bad = any ? NULL : no_metric;
    }
    if (!rc)
        rc = pair_arms(out, arms, gr.ngroups);
    free_arms(arms, arms ? gr.ngroups : 0, labels);
    grouping_free(&gr);
    if (rc)
        compare_free(out);
    return rc;
}

int compare_build_slopes(const report *r, compare_table *out)
{
    memset(out, 0, sizeof *out);
    out->what = "slope";
    arm *arms = calloc((size_t)r->ngroups + 1, sizeof *arms);
    char **labels = calloc((size_t)r->ngroups + 1, sizeof *labels);
    int rc = (!arms || !labels) ? -1 : 0;
    for (int q = 0; q < r->ngroups && !rc; q++) {
        const report_group *g = &r->groups[q];
        arms[q].block = -1;
        for (int p = 0; p < q && arms[q].block < 0; p++)
            if (same_block(&g->keys, &r->groups[p].keys))
                arms[q].block = arms[p].block;
        if (arms[q].block < 0) {
            arms[q].block = out->nblocks;
            rc = add_block(out, block_label(&g->keys, r->varying, r->nvarying));
        }
        arms[q].bad = report_has_slope(g) ? NULL : g->status;
        for (int k = 0; k < g->nrep && !rc && !arms[q].bad; k++)
            if (isfinite(g->reps[k].slope))
                rc = unit_add(&arms[q].u, &arms[q].nu, &arms[q].cap, g->reps[k].replicate,
                              g->reps[k].data_seed, "", g->reps[k].slope);
    }
    const kvset **cfg = calloc((size_t)r->ngroups + 1, sizeof *cfg);
    const char **meth = calloc((size_t)r->ngroups + 1, sizeof *meth);
    if (!cfg || !meth)
        rc = -1;
    for (int q = 0; q < r->ngroups && !rc; q++) {
        cfg[q] = &r->groups[q].keys;
        meth[q] = r->groups[q].method;
    }
    if (!rc)
        rc = arm_labels(cfg, meth, r->ngroups, r->varying, r->nvarying, labels);
    for (int q = 0; q < r->ngroups && !rc; q++)
        arms[q].label = labels[q];
    free(cfg);
    free(meth);
    if (!rc)
        rc = pair_arms(out, arms, r->ngroups);
    free_arms(arms, arms ? r->ngroups : 0, labels);
    if (rc)
        compare_free(out);
    return rc;
}

void compare_free(compare_table *t)
{
    for (int k = 0; k < t->nrows; k++) {
        free(t->rows[k].label_a);
        free(t->rows[k].label_b);
    }
    free(t->rows);
    for (int b = 0; b < t->nblocks; b++)
        free(t->block_label[b]);
    free(t->block_label);
    memset(t, 0, sizeof *t);
}

/* ---- output ---- */

static void fnum(char *buf, size_t n, double v, const char *f)
{
    if (isfinite(v))
        snprintf(buf, n, f, v);
    else if (isinf(v))
        snprintf(buf, n, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, n, "-");
}

void compare_print(FILE *f, const compare_table *t)
{
    int slope = !strcmp(t->what, "slope");
    if (slope)
        fprintf(f, "slopes of log(error) on log(n_obs): differences of the per-replicate slopes "
                   "A - B over the replicates (index and data seed) both groups have\n");
    else
        fprintf(f, "metric: %s; differences A - B over the units (replicate, data seed, fold) "
                   "both arms have\n", t->what);
    fprintf(f, "95%% t-interval of the mean difference; p: two-sided paired t and Wilcoxon "
               "signed-rank (exact up to %d pairs), Holm-adjusted over the pairs of a block\n",
            COMPARE_WILCOXON_EXACT_MAX);
    int wa = 1, wb = 1;
    for (int k = 0; k < t->nrows; k++) {
        wa = wa > (int)strlen(t->rows[k].label_a) ? wa : (int)strlen(t->rows[k].label_a);
        wb = wb > (int)strlen(t->rows[k].label_b) ? wb : (int)strlen(t->rows[k].label_b);
    }
    for (int b = 0; b < t->nblocks; b++) {
        fprintf(f, "\n%s\n", t->block_label[b]);
        int any = 0;
        for (int k = 0; k < t->nrows; k++)
            any |= t->rows[k].block == b;
        if (!any) {
            fprintf(f, "  (no two arms with values to compare)\n");
            continue;
        }
        fprintf(f, "  %-*s %-*s %5s %7s %10s %10s %10s %22s %9s %9s %9s %9s  %s\n", wa, "A", wb, "B", "pairs",
                "only", "mean A", "mean B", "diff", "95% CI", "p_t", "p_t Holm", "p_W", "p_W Holm",
                "status");
        for (int k = 0; k < t->nrows; k++) {
            const compare_row *w = &t->rows[k];
            if (w->block != b)
                continue;
            char ma[32], mb[32], d[32], lo[32], hi[32], ci[72], pt[32], pth[32], pw[32], pwh[32], only[32];
            fnum(ma, sizeof ma, w->mean_a, "%.4g");
            fnum(mb, sizeof mb, w->mean_b, "%.4g");
            fnum(d, sizeof d, w->s.mean, "%.4g");
            fnum(lo, sizeof lo, w->s.lo, "%.4g");
            fnum(hi, sizeof hi, w->s.hi, "%.4g");
            fnum(pt, sizeof pt, w->s.p_t, "%.3g");
            fnum(pth, sizeof pth, w->p_t_holm, "%.3g");
            fnum(pw, sizeof pw, w->s.p_w, "%.3g");
            fnum(pwh, sizeof pwh, w->p_w_holm, "%.3g");
            if (isfinite(w->s.lo))
                snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
            else
                snprintf(ci, sizeof ci, "-");
            snprintf(only, sizeof only, "%d/%d", w->n_only_a, w->n_only_b);
            fprintf(f, "  %-*s %-*s %5d %7s %10s %10s %10s %22s %9s %9s %9s %9s  %s\n", wa, w->label_a,
                    wb, w->label_b, w->s.n, only, ma, mb, d, ci, pt, pth, pw, pwh, w->status);
        }
    }
    if (!t->nrows)
        fprintf(f, "(no two %s to compare)\n", slope ? "groups with slopes" : "methods on the same data");
}

static void cnum(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.17g", v);
    else if (isinf(v))
        fprintf(f, ",%s", v > 0 ? "inf" : "-inf");
    else
        fputs(",", f);
}

void compare_print_csv(FILE *f, const compare_table *t, int header)
{
    if (header)
        fputs("what,block,arm_a,arm_b,n_pairs,n_only_a,n_only_b,mean_a,mean_b,diff,diff_ci_low,"
              "diff_ci_high,t,p_t,p_t_holm,n_nonzero,w_plus,p_wilcoxon,p_wilcoxon_holm,"
              "wilcoxon_exact,status\n", f);
    for (int k = 0; k < t->nrows; k++) {
        const compare_row *w = &t->rows[k];
        h5out_csv_field(f, t->what);
        fputc(',', f);
        h5out_csv_field(f, t->block_label[w->block]);
        fputc(',', f);
        h5out_csv_field(f, w->label_a);
        fputc(',', f);
        h5out_csv_field(f, w->label_b);
        fprintf(f, ",%d,%d,%d", w->s.n, w->n_only_a, w->n_only_b);
        cnum(f, w->mean_a);
        cnum(f, w->mean_b);
        cnum(f, w->s.mean);
        cnum(f, w->s.lo);
        cnum(f, w->s.hi);
        cnum(f, w->s.t);
        cnum(f, w->s.p_t);
        cnum(f, w->p_t_holm);
        fprintf(f, ",%d", w->s.n_nonzero);
        cnum(f, w->s.w_plus);
        cnum(f, w->s.p_w);
        cnum(f, w->p_w_holm);
        fprintf(f, ",%d,", w->s.exact);
        h5out_csv_field(f, w->status);
        fputc('\n', f);
    }
}
