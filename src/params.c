/* params.c — key specifications (validation, nearest-name suggestions) and kvset getters. */
#include "params.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const param_spec *param_find(const param_spec *table, const char *name)
{
    for (const param_spec *s = table; s && s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    int d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = c < del ? (c < ins ? c : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

const char *param_nearest(const param_spec *table, const char *name)
{
    const char *best = NULL;
    int bestd = 1 << 30;
    for (const param_spec *s = table; s && s->name; s++) {
        int dd = edit_distance(name, s->name);
        if (dd < bestd) {
            bestd = dd;
            best = s->name;
        }
    }
    size_t len = strlen(name);
    int limit = len < 5 ? 2 : (int)(len / 2);
    return bestd <= limit ? best : NULL;
}

static int parse_long(const char *v, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || errno)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return -1;
    *out = x;
    return 0;
}

static int parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || errno)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end || !isfinite(x))
        return -1;
    *out = x;
    return 0;
}

static int choice_ok(const char *choices, const char *v)
{
    size_t lv = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == lv && strncmp(p, v, l) == 0)
            return 1;
        if (!bar)
            break;
        p = bar + 1;
    }
    return 0;
}

int param_check_value(const param_spec *s, const char *val, char *err, size_t errlen)
{
    long l;
    double x;
    switch (s->type) {
    case PT_INT_OR_THEORY:
        if (strcmp(val, "theory") == 0)
            return 0;
        /* fall through */
    case PT_INT:
        if (parse_long(val, &l) != 0) {
            snprintf(err, errlen, "'%s' is not an integer%s", val,
                     s->type == PT_INT_OR_THEORY ? " (or 'theory')" : "");
            return -1;
        }
        if (l < s->min || l > s->max) {
            snprintf(err, errlen, "%ld is out of range [%.17g, %.17g]", l, s->min, s->max);
            return -1;
        }
        return 0;
    case PT_REAL:
        if (parse_double(val, &x) != 0) {
            snprintf(err, errlen, "'%s' is not a finite number", val);
            return -1;
        }
        if (x < s->min || x > s->max) {
            snprintf(err, errlen, "%g is out of range [%.17g, %.17g]", x, s->min, s->max);
            return -1;
        }
        return 0;
    case PT_ENUM:
        if (!choice_ok(s->choices, val)) {
            snprintf(err, errlen, "'%s' is not one of %s", val, s->choices);
            return -1;
        }
        return 0;
    case PT_STRING:
        if (!*val) {
            snprintf(err, errlen, "empty value");
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "unknown parameter type");
    return -1;
}

void kv_init(kvset *kv)
{
    kv->n = 0;
    kv->key = kv->val = NULL;
}

void kv_free(kvset *kv)
{
    for (int k = 0; k < kv->n; k++) {
        free(kv->key[k]);
        free(kv->val[k]);
    }
    free(kv->key);
    free(kv->val);
    kv_init(kv);
}

int kv_set_pair(kvset *kv, const char *pair)
{
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair || eq - pair > 127)
        return -1;
    char key[128];
    memcpy(key, pair, (size_t)(eq - pair));
    key[eq - pair] = 0;
    return kv_set(kv, key, eq + 1);
}

int kv_set(kvset *kv, const char *key, const char *val)
{
    int lo = 0, hi = kv->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(kv->key[mid], key);
        if (c == 0) {
            char *v = strdup(val);
            if (!v)
                return -1;
            free(kv->val[mid]);
            kv->val[mid] = v;
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    char **nk = realloc(kv->key, (size_t)(kv->n + 1) * sizeof *nk);
    if (!nk)
        return -1;
    kv->key = nk;
    char **nv = realloc(kv->val, (size_t)(kv->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    kv->val = nv;
    char *k = strdup(key), *v = strdup(val);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    memmove(kv->key + lo + 1, kv->key + lo, (size_t)(kv->n - lo) * sizeof *nk);
    memmove(kv->val + lo + 1, kv->val + lo, (size_t)(kv->n - lo) * sizeof *nv);
    kv->key[lo] = k;
    kv->val[lo] = v;
    kv->n++;
    return 0;
}

const char *kv_get(const kvset *kv, const char *key)
{
    int lo = 0, hi = kv->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(kv->key[mid], key);
        if (c == 0)
            return kv->val[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

long kv_int(const kvset *kv, const char *key, long def)
{
    const char *v = kv_get(kv, key);
    long x;
    return v && parse_long(v, &x) == 0 ? x : def;
}

double kv_real(const kvset *kv, const char *key, double def)
{
    const char *v = kv_get(kv, key);
    double x;
    return v && parse_double(v, &x) == 0 ? x : def;
}

const char *kv_str(const kvset *kv, const char *key, const char *def)
{
    const char *v = kv_get(kv, key);
    return v ? v : def;
}

int kv_copy(kvset *dst, const kvset *src)
{
    kv_init(dst);
    for (int k = 0; k < src->n; k++)
        if (kv_set(dst, src->key[k], src->val[k]) != 0) {
            kv_free(dst);
            return -1;
        }
    return 0;
}

int kv_fill_defaults(kvset *kv, const param_spec *table)
{
    for (const param_spec *s = table; s && s->name; s++)
        if (s->def && !kv_get(kv, s->name) && kv_set(kv, s->name, s->def) != 0)
            return -1;
    return 0;
}

const char *param_check_table(const param_spec *table, const kvset *kv, const char **bad_key)
{
    static _Thread_local char msg[256];
    for (const param_spec *s = table; s && s->name; s++) {
        const char *v = kv_get(kv, s->name);
        if (v && param_check_value(s, v, msg, sizeof msg) != 0) {
            if (bad_key)
                *bad_key = s->name;
            return msg;
        }
    }
    return NULL;
}

/* ---- typed reads (see params.h) ---------------------------------------------------------- */

static const char *param_raw(const param_spec *table, const kvset *kv, const char *key,
                             const param_spec **spec)
{
    const param_spec *s = param_find(table, key);
    if (!s) {
        fprintf(stderr, "t2rec: internal error: key '%s' read but not in its parameter table\n", key);
        abort();
    }
    const char *v = kv ? kv_get(kv, key) : NULL;
    if (!v)
        v = s->def;
    if (!v) {
        fprintf(stderr, "t2rec: internal error: required key '%s' read but not set\n", key);
        abort();
    }
    *spec = s;
    return v;
}

long param_int(const param_spec *table, const kvset *kv, const char *key)
{
    const param_spec *s;
    const char *v = param_raw(table, kv, key, &s);
    long x;
    if ((s->type != PT_INT && s->type != PT_INT_OR_THEORY) || parse_long(v, &x) != 0) {
        if (s->type == PT_INT_OR_THEORY && strcmp(v, "theory") == 0)
            return -1;     /* caller checks param_str(...) == "theory" first */
        fprintf(stderr, "t2rec: internal error: key '%s' = '%s' read as an integer\n", key, v);
        abort();
    }
    return x;
}

double param_real(const param_spec *table, const kvset *kv, const char *key)
{
    const param_spec *s;
    const char *v = param_raw(table, kv, key, &s);
    double x;
    if (s->type != PT_REAL || parse_double(v, &x) != 0) {
        fprintf(stderr, "t2rec: internal error: key '%s' = '%s' read as a real\n", key, v);
        abort();
    }
    return x;
}

const char *param_str(const param_spec *table, const kvset *kv, const char *key)
{
    const param_spec *s;
    return param_raw(table, kv, key, &s);
}

int param_canonical(const param_spec *s, const char *val, char *out, size_t outlen)
{
    long l;
    double x;
    int n;
    if ((s->type == PT_INT || s->type == PT_INT_OR_THEORY) && parse_long(val, &l) == 0)
        n = snprintf(out, outlen, "%ld", l);
    else if (s->type == PT_REAL && parse_double(val, &x) == 0) {
        if (x == 0)
            x = 0;   /* -0 -> 0 */
        n = 0;
        if (x == floor(x) && fabs(x) < 1e15)   /* whole numbers in plain form: 10, not 1e+01 */
            n = snprintf(out, outlen, "%.0f", x);
        else
            for (int prec = 1; prec <= 17; prec++) {   /* shortest text that round-trips */
                n = snprintf(out, outlen, "%.*g", prec, x);
                if (n > 0 && (size_t)n < outlen && strtod(out, NULL) == x)
                    break;
            }
    } else
        n = snprintf(out, outlen, "%s", val);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
