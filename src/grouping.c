/* grouping.c — group records by method and varying config keys, and select records by
 * KEY=VALUE conditions (see grouping.h). */
#include "grouping.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *grouping_short(const char *k)
{
    const char *dot = strchr(k, '.');
    return dot ? dot + 1 : k;
}

static int ignored(const char *k, const char *const *ignore)
{
    if (!strncmp(k, "experiment.", 11) && strcmp(k, "experiment.seed"))
        return 1;
    for (int i = 0; ignore && ignore[i]; i++)
        if (!strcmp(k, ignore[i]))
            return 1;
    return 0;
}

static int same(const cell_record *a, const cell_record *b, const char *const *ignore)
{
    const kvset *x = &a->config, *y = &b->config;
    for (int pass = 0; pass < 2; pass++) {
        const kvset *p = pass ? y : x, *q = pass ? x : y;
        for (int k = 0; k < p->n; k++) {
            if (ignored(p->key[k], ignore))
                continue;
            const char *v = kv_get(q, p->key[k]);
            if (!v || strcmp(v, p->val[k]))
                return 0;
        }
    }
    return 1;
}

/* Does key k take more than one value (or is it absent somewhere) among recs whose method is
 * `method` (NULL: all records)? */
static int varies(const cell_record *recs, int n, const char *k, const char *method)
{
    const char *first = NULL;
    int absent = 0, present = 0;
    for (int i = 0; i < n; i++) {
        if (method && strcmp(kv_str(&recs[i].config, "method", ""), method))
            continue;
        const char *v = kv_get(&recs[i].config, k);
        if (!v) {
            absent = 1;
            continue;
        }
        present = 1;
        if (!first)
            first = v;
        else if (strcmp(first, v))
            return 1;
    }
    return absent && present && !method;
}

static int add_key(grouping *g, const char *k)
{
    for (int i = 0; i < g->nkeys; i++)
        if (!strcmp(g->keys[i], k))
            return 0;
    char **q = realloc(g->keys, (size_t)(g->nkeys + 1) * sizeof *q);
    if (!q)
        return -1;
    g->keys = q;
    q[g->nkeys] = strdup(k);
    return q[g->nkeys++] ? 0 : -1;
}

static int cmp_values(const char *a, const char *b)
{
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    if (ea != a && !*ea && eb != b && !*eb)
        return (x > y) - (x < y);
    return strcmp(a, b);
}

static const cell_record *sort_recs;
static const grouping *sort_g;

static int cmp_groups(const void *pa, const void *pb)
{
    const cell_record *a = &sort_recs[sort_g->first[*(const int *)pa]];
    const cell_record *b = &sort_recs[sort_g->first[*(const int *)pb]];
    int c = strcmp(kv_str(&a->config, "method", ""), kv_str(&b->config, "method", ""));
    if (c)
        return c;
    for (int k = 0; k < sort_g->nkeys; k++) {
        const char *x = kv_get(&a->config, sort_g->keys[k]), *y = kv_get(&b->config, sort_g->keys[k]);
        if (!x || !y) {
            if (x != y)
                return x ? 1 : -1;
            continue;
        }
        c = cmp_values(x, y);
        if (c)
            return c;
    }
    return 0;
}

int grouping_build(const cell_record *recs, int n, const char *const *ignore, grouping *g)
{
    memset(g, 0, sizeof *g);
    g->gid = malloc((size_t)(n + 1) * sizeof *g->gid);
    g->first = malloc((size_t)(n + 1) * sizeof *g->first);
    if (!g->gid || !g->first)
        return -1;
    for (int i = 0; i < n; i++) {
        g->gid[i] = -1;
        for (int q = 0; q < g->ngroups && g->gid[i] < 0; q++)
            if (same(&recs[i], &recs[g->first[q]], ignore))
                g->gid[i] = q;
        if (g->gid[i] < 0) {
            g->first[g->ngroups] = i;
            g->gid[i] = g->ngroups++;
        }
    }
    /* display keys: data keys varying over the file, then method keys varying within a method */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++)
            for (int k = 0; k < recs[i].config.n; k++) {
                const char *key = recs[i].config.key[k];
                if (ignored(key, ignore) || !strcmp(key, "method"))
                    continue;
                int is_method = !strncmp(key, "method.", 7);
                if (is_method != pass)
                    continue;
                const char *m = is_method ? kv_str(&recs[i].config, "method", "") : NULL;
                if (varies(recs, n, key, m) && add_key(g, key) != 0)
                    return -1;
            }
    /* sort groups; renumber */
    int *order = malloc((size_t)(g->ngroups + 1) * sizeof *order);
    int *rank = malloc((size_t)(g->ngroups + 1) * sizeof *rank);
    int *first = malloc((size_t)(g->ngroups + 1) * sizeof *first);
    if (!order || !rank || !first) {
        free(order);
        free(rank);
        free(first);
        return -1;
    }
    for (int q = 0; q < g->ngroups; q++)
        order[q] = q;
    sort_recs = recs;
    sort_g = g;
    qsort(order, (size_t)g->ngroups, sizeof *order, cmp_groups);
    for (int q = 0; q < g->ngroups; q++) {
        rank[order[q]] = q;
        first[q] = g->first[order[q]];
    }
    for (int i = 0; i < n; i++)
        g->gid[i] = rank[g->gid[i]];
    free(g->first);
    g->first = first;
    free(order);
    free(rank);
    /* labels */
    g->label = calloc((size_t)(g->ngroups + 1), sizeof *g->label);
    if (!g->label)
        return -1;
    for (int q = 0; q < g->ngroups; q++) {
        const cell_record *r = &recs[g->first[q]];
        const char *method = kv_str(&r->config, "method", "?");
        size_t len = strlen(method) + 1;
        for (int k = 0; k < g->nkeys; k++) {
            const char *v = kv_get(&r->config, g->keys[k]);
            if (v)
                len += strlen(g->keys[k]) + strlen(v) + 2;
        }
        g->label[q] = malloc(len);
        if (!g->label[q])
            return -1;
        size_t at = (size_t)snprintf(g->label[q], len, "%s", method);
        for (int k = 0; k < g->nkeys; k++) {
            const char *v = kv_get(&r->config, g->keys[k]);
            if (!v || (!strncmp(g->keys[k], "method.", 7) && !varies(recs, n, g->keys[k], method)))
                continue;
            at += (size_t)snprintf(g->label[q] + at, len - at, " %s=%s", grouping_short(g->keys[k]), v);
        }
    }
    return 0;
}

void grouping_free(grouping *g)
{
    for (int q = 0; g->label && q < g->ngroups; q++)
        free(g->label[q]);
    free(g->label);
    for (int k = 0; k < g->nkeys; k++)
        free(g->keys[k]);
    free(g->keys);
    free(g->gid);
    free(g->first);
    memset(g, 0, sizeof *g);
}

/* ---- selecting records: --where KEY=VALUE ---- */

#define WHERE_MAX 64

/* The value of a resolved where key in a record (a config key or a record field); NULL when
 * absent. num is a buffer for the replicate. */
static const char *where_value(const cell_record *r, const char *key, char *num, size_t nl)
{
    if (!strcmp(key, "key"))
        return r->key;
    if (!strcmp(key, "status"))
        return r->status;
    if (!strcmp(key, "replicate")) {
        snprintf(num, nl, "%d", r->replicate);
        return num;
    }
    return kv_get(&r->config, key);
}

static int where_equal(const char *a, const char *b)
{
    if (!strcmp(a, b))
        return 1;
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    return ea != a && eb != b && !*ea && !*eb && isfinite(x) && x == y;
}

/* Resolve a condition's key to the full name it matches (a pointer into recs or a literal);
 * NULL with a message when no record has it or a short name is ambiguous. */
static const char *where_key(const cell_record *recs, int n, const char *key, char *err,
                             size_t errlen)
{
    if (!strcmp(key, "key") || !strcmp(key, "status") || !strcmp(key, "replicate"))
        return key;
    const char *hit = NULL;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < recs[i].config.n; k++)
            if (!strcmp(recs[i].config.key[k], key))
                return recs[i].config.key[k];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < recs[i].config.n; k++) {
            const char *full = recs[i].config.key[k];
            if (strchr(key, '.') || strcmp(grouping_short(full), key))
                continue;
            if (hit && strcmp(hit, full)) {
                snprintf(err, errlen, "--where %s: ambiguous (%s or %s): give the full name", key,
                         hit, full);
                return NULL;
            }
            hit = full;
        }
    if (!hit)
        snprintf(err, errlen, "--where %s: no cell has this key (config keys such as data.n_obs "
                 "or n_obs, method, method.depth; or key, status, replicate)", key);
    return hit;
}

int grouping_where(cell_record *recs, int *n, const char *const *conds, int nconds, char *err,
                   size_t errlen)
{
    if (nconds <= 0)
        return 0;
    if (nconds > WHERE_MAX) {
        snprintf(err, errlen, "more than %d --where conditions", WHERE_MAX);
        return -1;
    }
    const char *key[WHERE_MAX], *val[WHERE_MAX];
    char name[WHERE_MAX][128];
    for (int c = 0; c < nconds; c++) {
        const char *eq = strchr(conds[c], '=');
        if (!eq || eq == conds[c] || !eq[1] || (size_t)(eq - conds[c]) >= sizeof name[c]) {
            snprintf(err, errlen, "--where '%s': write KEY=VALUE (e.g. --where n_obs=1024)",
                     conds[c]);
            return -1;
        }
        snprintf(name[c], sizeof name[c], "%.*s", (int)(eq - conds[c]), conds[c]);
        val[c] = eq + 1;
        if (!(key[c] = where_key(recs, *n, name[c], err, errlen)))
            return -1;
    }
    char *keep = calloc((size_t)(*n > 0 ? *n : 1), 1);
    if (!keep)
        return -2;
    int kept = 0;
    for (int i = 0; i < *n; i++) {
        int all = 1;
        for (int c = 0; c < nconds && all; c++) {
            int seen = 0, any = 0;   /* the first condition of its key decides for the key */
            for (int d = 0; d < c; d++)
                seen |= !strcmp(key[d], key[c]);
            if (seen)
                continue;
            char num[32];
            const char *v = where_value(&recs[i], key[c], num, sizeof num);
            for (int d = c; d < nconds && v && !any; d++)
                any = !strcmp(key[d], key[c]) && where_equal(v, val[d]);
            all = any;
        }
        keep[i] = (char)all;
        kept += all;
    }
    if (!kept) {
        /* name the values the first condition's key takes */
        int at = snprintf(err, errlen, "--where: no cell matches");
        for (int c = 0; c < nconds && at > 0 && (size_t)at < errlen; c++)
            at += snprintf(err + at, errlen - (size_t)at, " %s=%s", name[c], val[c]);
        const char *shown[8];
        int ns = 0, more = 0;
        for (int i = 0; i < *n; i++) {
            char num[32];
            const char *v = where_value(&recs[i], key[0], num, sizeof num);
            if (!v)
                continue;
            int dup = 0;
            for (int j = 0; j < ns && !dup; j++)
                dup = !strcmp(shown[j], v);
            if (dup)
                continue;
            if (ns < 8 && strcmp(key[0], "replicate") != 0)
                shown[ns++] = v;
            else
                more = 1;
        }
        if (at > 0 && (size_t)at < errlen && ns > 0) {
            at += snprintf(err + at, errlen - (size_t)at, " (%s takes:", name[0]);
            for (int j = 0; j < ns && at > 0 && (size_t)at < errlen; j++)
                at += snprintf(err + at, errlen - (size_t)at, "%s %s", j ? "," : "", shown[j]);
            if (at > 0 && (size_t)at < errlen)
                snprintf(err + at, errlen - (size_t)at, "%s)", more ? ", ..." : "");
        }
        free(keep);
        return -1;
    }
    int w = 0;
    for (int i = 0; i < *n; i++) {
        if (keep[i]) {
            if (w != i)
                recs[w] = recs[i];
            w++;
        } else
            record_free(&recs[i]);
    }
    free(keep);
    *n = w;
    return 0;
}
