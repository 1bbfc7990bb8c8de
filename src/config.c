/* config.c — experiment configs: INI parsing through inih with our own line reader (line
 * numbers, section headers, comments, over-long lines, binary garbage), validation against the
 * key tables, sweep axes and [zip] groups, cell expansion, canonical keys and seeds.
 * See config.h for the expansion order and the key/seed definitions. */
#include "config.h"
#include "kshot.h"
#include "estimator.h"
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_MAX_FILE (4 << 20)      /* bytes: a config larger than this is not a config */
#define CFG_MAX_CELLS 1000000

enum { SEC_EXPERIMENT, SEC_DATA, SEC_ZIP, SEC_METHOD };

typedef struct {
    char *name;                 /* "data", "method.twotower", ... */
    int line;
    int kind;
    const est_method *method;   /* SEC_METHOD */
    int ngroups;                /* sweep axis groups of this section (file order) */
    int *glen;                  /* values per group */
} cfg_section;

typedef struct {
    int sec;                    /* index into sections */
    char *key;
    char *raw;                  /* the value as written (comments and outer blanks removed) */
    int line;
    int nv;
    char **v;                   /* normalised values (one unless a sweep axis) */
    int group;                  /* axis group within its section, -1 when fixed */
    int zip_line;               /* line of the [zip] key naming it, 0 if none */
} cfg_entry;

struct cfg {
    char *path;
    char *name, *output, *description;
    uint64_t seed;
    int replicates;
    double max_memory;          /* bytes a cell may need (max_memory GiB, or 80% of RAM) */
    char source[32];
    cfg_section *sec;
    int nsec;
    cfg_entry *ent;
    int nent;
};

/* ---------- small helpers ---------- */

static char *xstrdup(const char *s)
{
    return strdup(s ? s : "");
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static uint64_t fmix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t data_seed_of(uint64_t master, int replicate)
{
    return fmix64(fmix64(master) ^ (0xd1b54a32d192ed03ULL * (uint64_t)(replicate + 1)));
}

static uint64_t train_seed_of(uint64_t master, uint64_t keyhash)
{
    return fmix64(fmix64(master ^ 0x5851f42d4c957f2dULL) ^ keyhash);
}

/* Set when a message says memory ran out (fmt starting "out of memory", always a literal):
 * cfg_load and cfg_expand then return CFG_NOMEM, a runtime failure, not bad input. */
static _Thread_local int nomem;

/* "FILE:LINE: [section] key: " prefix followed by the message. */
static void seterr(char *err, size_t errlen, const char *path, int line, const char *section,
                   const char *key, const char *fmt, ...)
{
    if (strncmp(fmt, "out of memory", 13) == 0)
        nomem = 1;
    if (!err || !errlen)
        return;
    int at;
    if (section && key && *key)
        at = snprintf(err, errlen, "%s:%d: [%s] %s: ", path, line, section, key);
    else if (section)
        at = snprintf(err, errlen, "%s:%d: [%s]: ", path, line, section);
    else if (key && *key)
        at = snprintf(err, errlen, "%s:%d: %s: ", path, line, key);
    else
        at = snprintf(err, errlen, "%s:%d: ", path, line);
    if (at < 0 || (size_t)at >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + at, errlen - (size_t)at, fmt, ap);
    va_end(ap);
}

/* The errors of one load, so a file's mistakes come together (syntax, unknown and duplicate
 * keys, bad values): up to CFG_MAX_ERRORS kept, shown in line order, the rest counted. */
typedef struct {
    int n, total;
    int line[CFG_MAX_ERRORS];
    char msg[CFG_MAX_ERRORS][512];
} errlist;

static void errlist_add(errlist *l, int line, const char *msg)
{
    l->total++;
    if (l->n >= CFG_MAX_ERRORS)
        return;
    int at = l->n++;
    while (at > 0 && l->line[at - 1] > line) { /* stable insertion by line */
        l->line[at] = l->line[at - 1];
        memcpy(l->msg[at], l->msg[at - 1], sizeof l->msg[at]);
        at--;
    }
    l->line[at] = line;
    snprintf(l->msg[at], sizeof l->msg[at], "%s", msg);
}

/* The kept errors one per line into err; a message that does not fit is left out and counted
 * with the others in a last "(N more errors)" line. */
static void errlist_text(const errlist *l, char *err, size_t errlen)
{
    if (!err || !errlen)
        return;
    err[0] = '\0';
    size_t at = 0;
    int shown = 0;
    for (int k = 0; k < l->n; k++) {
        size_t m = strlen(l->msg[k]);
        if (at + m + 1 + 48 >= errlen && k > 0)
            break;
        at += (size_t)snprintf(err + at, errlen - at, "%s%s", k ? "\n" : "", l->msg[k]);
        if (at >= errlen)
            at = errlen - 1;
        shown++;
    }
    if (l->total > shown)
        snprintf(err + at, errlen - at, "\n(%d more error%s in this file not shown)",
                 l->total - shown, l->total - shown == 1 ? "" : "s");
}

static int find_section(const cfg *c, const char *name)
{
    for (int k = 0; k < c->nsec; k++)
        if (strcmp(c->sec[k].name, name) == 0)
            return k;
    return -1;
}

static int find_entry(const cfg *c, int sec, const char *key)
{
    for (int k = 0; k < c->nent; k++)
        if (c->ent[k].sec == sec && strcmp(c->ent[k].key, key) == 0)
            return k;
    return -1;
}

static const param_spec *section_table(const cfg *c, int sec)
{
    switch (c->sec[sec].kind) {
    case SEC_EXPERIMENT:
        return cfg_experiment_keys;
    case SEC_DATA:
        return cfg_data_keys(c->source);
    case SEC_METHOD:
        return c->sec[sec].method->params;
    }
    return NULL;
}

static void method_list(char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; est_methods[k] && at < n; k++)
        at += (size_t)snprintf(buf + at, n - at, "%s%s", k ? ", " : "", est_methods[k]->name);
}

/* ---------- the line reader fed to inih ---------- */

typedef struct {
    cfg *c;
    const char *buf;
    size_t len, pos;
    int lineno;
    int cur_sec;                /* section of the current line, -1 before any header, -2 in a
                                   refused section (its keys are skipped) */
    int stop;                   /* binary garbage or out of memory: read no further */
    errlist *errs;
} reader_state;

/* Length of a valid UTF-8 sequence at s (n bytes available), 0 if invalid. */
static int utf8_len(const unsigned char *s, size_t n)
{
    int len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
                                : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!len || (size_t)len > n || (len == 2 && s[0] < 0xc2))
        return 0;
    for (int k = 1; k < len; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* Record an error of the current line (reading goes on); returns 0. */
static int rfail(reader_state *st, const char *section, const char *key, const char *fmt,
                 const char *arg)
{
    char msg[512];
    seterr(msg, sizeof msg, st->c->path, st->lineno, section, key, fmt, arg);
    errlist_add(st->errs, st->lineno, msg);
    return 0;
}

static int nearest_dist_ok(const char *a, const char *b)
{
    param_spec t[2] = {{b, PT_STRING, NULL, 0, 0, NULL, NULL}, {NULL, 0, NULL, 0, 0, NULL, NULL}};
    return param_nearest(t, a) != NULL;
}

/* Register a section header; 0 and a message in st on error. */
static int open_section(reader_state *st, const char *name)
{
    cfg *c = st->c;
    int kind;
    const est_method *m = NULL;
    char msg[512];
    if (strcmp(name, "experiment") == 0)
        kind = SEC_EXPERIMENT;
    else if (strcmp(name, "data") == 0)
        kind = SEC_DATA;
    else if (strcmp(name, "zip") == 0)
        kind = SEC_ZIP;
    else if (strncmp(name, "method.", 7) == 0) {
        kind = SEC_METHOD;
        m = est_find(name + 7);
        if (!m) {
            char known[256];
            method_list(known, sizeof known);
            param_spec t[32];
            int n = 0;
            for (int k = 0; est_methods[k] && n < 31; k++)
                t[n++] = (param_spec){est_methods[k]->name, PT_STRING, NULL, 0, 0, NULL, NULL};
            t[n].name = NULL;
            const char *near = param_nearest(t, name + 7);
            if (near)
                snprintf(msg, sizeof msg, "unknown method '%.60s'; did you mean [method.%s]? "
                         "(methods: %s)", name + 7, near, known);
            else
                snprintf(msg, sizeof msg, "unknown method '%.60s' (methods: %s)", name + 7, known);
            return rfail(st, name, NULL, "%s", msg);
        }
    } else {
        char known[256];
        method_list(known, sizeof known);
        const char *dot = strchr(name, '.');
        if (strcmp(name, "method") == 0)
            snprintf(msg, sizeof msg, "a method section names its method: [method.NAME] with NAME "
                     "one of %s", known);
        else if (dot && dot > name && dot - name < 20) {
            char prefix[24];
            snprintf(prefix, sizeof prefix, "%.*s", (int)(dot - name), name);
            if (nearest_dist_ok(prefix, "method"))
                snprintf(msg, sizeof msg, "unknown section; did you mean [method.%.60s]?", dot + 1);
            else
                snprintf(msg, sizeof msg, "unknown section (sections: [experiment], [data], "
                         "[zip], [method.NAME] with NAME one of %s)", known);
        } else {
            param_spec t[4] = {{"experiment", PT_STRING, NULL, 0, 0, NULL, NULL},
                               {"data", PT_STRING, NULL, 0, 0, NULL, NULL},
                               {"zip", PT_STRING, NULL, 0, 0, NULL, NULL},
                               {NULL, 0, NULL, 0, 0, NULL, NULL}};
            const char *near = param_nearest(t, name);
            if (near)
                snprintf(msg, sizeof msg, "unknown section; did you mean [%s]?", near);
            else
                snprintf(msg, sizeof msg, "unknown section (sections: [experiment], [data], "
                         "[zip], [method.NAME] with NAME one of %s)", known);
        }
        return rfail(st, name, NULL, "%s", msg);
    }
    int old = find_section(c, name);
    if (old >= 0) {
        snprintf(msg, sizeof msg, "section given twice (first at line %d)", c->sec[old].line);
        return rfail(st, name, NULL, "%s", msg);
    }
    cfg_section *ns = realloc(c->sec, (size_t)(c->nsec + 1) * sizeof *ns);
    if (!ns)
        return st->stop = 1, rfail(st, NULL, NULL, "out of memory", NULL);
    c->sec = ns;
    cfg_section *s = &c->sec[c->nsec];
    memset(s, 0, sizeof *s);
    s->name = xstrdup(name);
    s->line = st->lineno;
    s->kind = kind;
    s->method = m;
    if (!s->name)
        return st->stop = 1, rfail(st, NULL, NULL, "out of memory", NULL);
    st->cur_sec = c->nsec++;
    return 1;
}

/* fgets-style: hands inih one physical line at a time, cleaned (comments, blanks removed). */
static char *reader(char *str, int num, void *stream)
{
    reader_state *st = stream;
    if (st->stop || st->pos >= st->len)
        return NULL;
    const char *line = st->buf + st->pos;
    size_t rest = st->len - st->pos;
    const char *nl = memchr(line, '\n', rest);
    size_t n = nl ? (size_t)(nl - line) : rest;
    st->pos += n + (nl ? 1 : 0);
    st->lineno++;
    if (n && line[n - 1] == '\r')
        n--;
    /* binary garbage: NUL bytes, control characters, invalid UTF-8 */
    for (size_t k = 0; k < n;) {
        unsigned char ch = (unsigned char)line[k];
        char what[64];
        if (ch == 0) {
            rfail(st, NULL, NULL, "%s", "NUL byte in the file (a binary file, not an INI config?)");
            st->stop = 1;
            return NULL;
        }
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            snprintf(what, sizeof what, "control character 0x%02x", ch);
            rfail(st, NULL, NULL, "%s (a binary file, not an INI config?)", what);
            st->stop = 1;
            return NULL;
        }
        int l = utf8_len((const unsigned char *)line + k, n - k);
        if (!l) {
            rfail(st, NULL, NULL, "%s", "invalid UTF-8 (a binary file, not an INI config?)");
            st->stop = 1;
            return NULL;
        }
        k += (size_t)l;
    }
    if (n > CFG_MAX_LINE || (int)n + 1 > num) {
        char msg[192];
        snprintf(msg, sizeof msg, "line too long (%zu characters, the limit is %d; write a long "
                 "sweep as a range, e.g. n_obs = 2^10 .. 2^20)", n,
                 CFG_MAX_LINE < num - 1 ? CFG_MAX_LINE : num - 1);
        rfail(st, NULL, NULL, "%s", msg);
        str[0] = '\0'; /* the line is skipped, reading goes on */
        return str;
    }
    char tmp[CFG_MAX_LINE + 1];
    memcpy(tmp, line, n);
    tmp[n] = '\0';
    /* comments: ';' or '#' at the start of the line or after a blank */
    for (size_t k = 0; k < n; k++)
        if ((tmp[k] == ';' || tmp[k] == '#') && (k == 0 || tmp[k - 1] == ' ' || tmp[k - 1] == '\t')) {
            tmp[k] = '\0';
            break;
        }
    char *t = trim(tmp);
    if (*t == '[') {
        char *close = strchr(t, ']');
        /* a refused header: the keys up to the next header are skipped, not blamed */
        str[0] = '\0';
        st->cur_sec = -2;
        if (!close)
            return rfail(st, NULL, NULL, "section header '%s' has no closing ']'", t), str;
        if (*trim(close + 1))
            return rfail(st, NULL, NULL, "unexpected text after the section header: '%s'", t), str;
        *close = '\0';
        char *name = trim(t + 1);
        if (!*name)
            return rfail(st, NULL, NULL, "%s", "empty section name '[]'"), str;
        if (!open_section(st, name))
            return str;
        snprintf(str, (size_t)num, "[%s]", name);
        return str;
    }
    if (*t && !strpbrk(t, "=:")) {
        char text[64];
        snprintf(text, sizeof text, "%.60s", t);
        rfail(st, NULL, NULL, "expected '[section]' or 'key = value', got '%s'", text);
        str[0] = '\0';
        return str;
    }
    snprintf(str, (size_t)num, "%s", t);
    return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    (void)section;   /* inih truncates long section names: we track our own */
    reader_state *st = user;
    cfg *c = st->c;
    if (st->stop)
        return 0;
    if (st->cur_sec == -2)
        return 1; /* in a refused section, already reported */
    if (st->cur_sec < 0)
        return rfail(st, NULL, name, "%s", "key outside any section (start with [experiment], "
                     "[data], [zip] or [method.NAME])") + 1;
    const char *sname = c->sec[st->cur_sec].name;
    if (!name || !*name)
        return rfail(st, sname, NULL, "%s", "missing key name before '='") + 1;
    int old = find_entry(c, st->cur_sec, name);
    if (old >= 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "duplicate key (first set at line %d)", c->ent[old].line);
        return rfail(st, sname, name, "%s", msg) + 1;
    }
    cfg_entry *ne = realloc(c->ent, (size_t)(c->nent + 1) * sizeof *ne);
    if (!ne)
        return st->stop = 1, rfail(st, NULL, NULL, "out of memory", NULL);
    c->ent = ne;
    cfg_entry *e = &c->ent[c->nent];
    memset(e, 0, sizeof *e);
    e->sec = st->cur_sec;
    e->key = xstrdup(name);
    e->raw = xstrdup(value ? value : "");
    e->line = st->lineno;
    e->group = -1;
    c->nent++;
    if (!e->key || !e->raw)
        return st->stop = 1, rfail(st, NULL, NULL, "out of memory", NULL);
    return 1;
}

/* ---------- validation ---------- */

/* A number as written in a config list: a decimal number or BASE^EXP (2^10 = 1024, integer
 * exponent). 0 ok, -1 otherwise. */
static int range_number(const char *t, double *x)
{
    char *end;
    errno = 0;
    double b = strtod(t, &end);
    if (end == t || errno || !isfinite(b))
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end == '^') {
        char *e2;
        long ex = strtol(end + 1, &e2, 10);
        if (e2 == end + 1 || ex < -64 || ex > 64)
            return -1;
        b = pow(b, (double)ex);
        end = e2;
        while (*end == ' ' || *end == '\t')
            end++;
    }
    if (*end || !isfinite(b))
        return -1;
    *x = b;
    return 0;
}

/* The values of a range item "A .. B" (doubling), "A .. B x F" (times F > 1) or "A .. B + S"
 * (plus S > 0), A <= B, each of A, B, F, S a number or BASE^EXP; B must be one of the values.
 * Returns the count (at most max) written to vals, or -1 with a message. */
static int expand_range(const char *item, double *vals, int max, char *msg, size_t msglen)
{
    char t[256];
    snprintf(t, sizeof t, "%s", item);
    char *dots = strstr(t, "..");
    *dots = '\0';
    char *rest = dots + 2, *step = NULL;
    for (char *q = rest + 1; *q && !step; q++) /* the step: 'x' or '+' after a blank */
        if ((*q == 'x' || *q == '+') && (q[-1] == ' ' || q[-1] == '\t'))
            step = q;
    char op = step ? *step : 'x';
    if (step)
        *step++ = '\0';
    double a, b, f = 2;
    if (range_number(trim(t), &a) != 0 || range_number(trim(rest), &b) != 0 ||
        (step && range_number(trim(step), &f) != 0)) {
        snprintf(msg, msglen, "range '%s': write A .. B (doubling), A .. B x F or A .. B + S, "
                 "with numbers or powers such as 2^10", item);
        return -1;
    }
    if (a > b) {
        snprintf(msg, msglen, "range '%s': the start is above the end", item);
        return -1;
    }
    if ((op == 'x' && (f <= 1 || a <= 0)) || (op == '+' && f <= 0)) {
        snprintf(msg, msglen, "range '%s': %s", item, op == '+' ? "the step S of '+ S' must be "
                 "above 0" : a <= 0 ? "a geometric range starts above 0" : "the factor F of "
                 "'x F' must be above 1");
        return -1;
    }
    int n = 0;
    double tol = 1e-9 * fabs(b) + 1e-12;
    for (int k = 0;; k++) {
        double v = op == 'x' ? a * pow(f, k) : a + f * k;
        if (v > b + tol)
            break;
        if (n == max) {
            snprintf(msg, msglen, "range '%s': more than %d values", item, max);
            return -1;
        }
        vals[n++] = v;
    }
    if (fabs(vals[n - 1] - b) > tol) {
        snprintf(msg, msglen, "range '%s': the end %.15g is not one of its values (the last "
                 "is %.15g)", item, b, vals[n - 1]);
        return -1;
    }
    vals[n - 1] = b;
    return n;
}

/* 1 when a [zip] key names entry e (bare KEY or data.KEY for [data], method.NAME.KEY): a zipped
 * list may repeat a value (user_intrinsic_dim = 1, 1, 3 with item_intrinsic_dim = 1, 3, 1); its
 * zipped combinations must differ, which resolve_axes checks. */
static int named_in_zip(const cfg *c, const cfg_entry *e)
{
    int zsec = find_section(c, "zip"), found = 0;
    const char *sname = c->sec[e->sec].name;
    for (int z = 0; zsec >= 0 && z < c->nent && !found; z++) {
        if (c->ent[z].sec != zsec)
            continue;
        char *copy = xstrdup(c->ent[z].raw), *save = NULL;
        for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && !found;
             tok = strtok_r(NULL, ",", &save)) {
            char *name = trim(tok);
            size_t ls = strlen(sname);
            found = (strcmp(sname, "data") == 0 && strcmp(name, e->key) == 0) ||
                    (strncmp(name, sname, ls) == 0 && name[ls] == '.' &&
                     strcmp(name + ls + 1, e->key) == 0);
        }
        free(copy);
    }
    return found;
}

/* Append one checked, canonical value to e->v (cap grows as needed); what names the value in
 * messages ("element 2 of the list: ", "range '1 .. 8': ", or ""). */
static int add_value(cfg *c, cfg_entry *e, const param_spec *s, const char *item, int *cap,
                     const char *what, char *err, size_t errlen)
{
    const char *sname = c->sec[e->sec].name;
    char msg[256], norm[256];
    if (param_check_value(s, item, msg, sizeof msg) != 0) {
        seterr(err, errlen, c->path, e->line, sname, e->key, "%s%s", what, msg);
        return -1;
    }
    if (param_canonical(s, item, norm, sizeof norm) != 0) {
        seterr(err, errlen, c->path, e->line, sname, e->key, "value too long");
        return -1;
    }
    int zipped = e->nv > 0 && named_in_zip(c, e);
    for (int j = 0; j < e->nv && !zipped; j++)
        if (strcmp(e->v[j], norm) == 0) {
            seterr(err, errlen, c->path, e->line, sname, e->key,
                   "value '%s' appears twice in the list", item);
            return -1;
        }
    if (e->nv == *cap) {
        char **nv = realloc(e->v, (size_t)(2 * *cap) * sizeof *nv);
        if (!nv) {
            seterr(err, errlen, c->path, e->line, NULL, NULL, "out of memory");
            return -1;
        }
        e->v = nv;
        *cap *= 2;
    }
    if (!(e->v[e->nv++] = xstrdup(norm))) {
        seterr(err, errlen, c->path, e->line, NULL, NULL, "out of memory");
        return -1;
    }
    return 0;
}

/* Split e->raw into validated, normalised values. list = 0: a single value. In a list of a
 * numeric key an element may be a range (expand_range) and a number may be written BASE^EXP. */
static int parse_values(cfg *c, cfg_entry *e, const param_spec *s, int list, char *err,
                        size_t errlen)
{
    const char *sname = c->sec[e->sec].name;
    int numeric = s->type == PT_INT || s->type == PT_REAL || s->type == PT_INT_OR_THEORY;
    char *copy = xstrdup(e->raw);
    if (!copy) {
        seterr(err, errlen, c->path, e->line, NULL, NULL, "out of memory");
        return -1;
    }
    int rc = -1;
    if (!*trim(copy)) {
        seterr(err, errlen, c->path, e->line, sname, e->key, "empty value%s",
               list ? " (a sweep axis needs at least one value)" : "");
        goto out;
    }
    if (list && strchr("[({\"'", copy[0])) {
        seterr(err, errlen, c->path, e->line, sname, e->key,
               "'%s': write lists as plain comma lists (a, b, c), without brackets or quotes",
               e->raw);
        goto out;
    }
    int items = 1;
    if (list)
        for (const char *p = copy; *p; p++)
            items += *p == ',';
    int cap = items;
    e->v = calloc((size_t)cap, sizeof *e->v);
    if (!e->v) {
        seterr(err, errlen, c->path, e->line, NULL, NULL, "out of memory");
        goto out;
    }
    char *p = copy;
    for (int k = 0; k < items; k++) {
        char *comma = list ? strchr(p, ',') : NULL;
        if (comma)
            *comma = '\0';
        char *item = trim(p);
        if (!*item) {
            seterr(err, errlen, c->path, e->line, sname, e->key,
                   k == items - 1 && items > 1 ? "'%s': list ends with a comma (empty last value)"
                                               : "'%s': empty value in the list (element %d)",
                   e->raw, k + 1);
            goto out;
        }
        char what[300] = "", num[64];
        if (items > 1)
            snprintf(what, sizeof what, "element %d of the list: ", k + 1);
        double x;
        if (numeric && list && strstr(item, "..")) {
            double vals[CFG_MAX_RANGE];
            char msg[400];
            int n = expand_range(item, vals, CFG_MAX_RANGE, msg, sizeof msg);
            if (n < 0) {
                seterr(err, errlen, c->path, e->line, sname, e->key, "%s", msg);
                goto out;
            }
            snprintf(what, sizeof what, "range '%.200s': ", item);
            for (int j = 0; j < n; j++) {
                snprintf(num, sizeof num, "%.15g", vals[j]);
                if (vals[j] == floor(vals[j]) && fabs(vals[j]) < 1e15)
                    snprintf(num, sizeof num, "%.0f", vals[j]);
                if (add_value(c, e, s, num, &cap, what, err, errlen) != 0)
                    goto out;
            }
        } else if (numeric && strchr(item, '^') && range_number(item, &x) == 0) {
            snprintf(num, sizeof num, "%.15g", x);
            if (x == floor(x) && fabs(x) < 1e15)
                snprintf(num, sizeof num, "%.0f", x);
            if (add_value(c, e, s, num, &cap, what, err, errlen) != 0)
                goto out;
        } else if (add_value(c, e, s, item, &cap, what, err, errlen) != 0)
            goto out;
        p = comma ? comma + 1 : p + strlen(p);
    }
    rc = 0;
out:
    free(copy);
    return rc;
}

static int unknown_key(const cfg *c, const cfg_entry *e, const param_spec *table, char *err,
                       size_t errlen)
{
    const char *sname = c->sec[e->sec].name;
    const char *near = param_nearest(table, e->key);
    if (near)
        seterr(err, errlen, c->path, e->line, sname, e->key, "unknown key; did you mean '%s'?",
               near);
    else
        seterr(err, errlen, c->path, e->line, sname, e->key, "unknown key");
    return -1;
}

static int check_entry(cfg *c, cfg_entry *e, char *err, size_t errlen)
{
    cfg_section *s = &c->sec[e->sec];
    const param_spec *table = section_table(c, e->sec), *spec;
    switch (s->kind) {
    case SEC_EXPERIMENT:
        if (!(spec = param_find(table, e->key)))
            return unknown_key(c, e, table, err, errlen);
        if (strcmp(e->key, "seed") == 0 || strcmp(e->key, "replicates") == 0)
            if (strchr(e->raw, ',')) {
                seterr(err, errlen, c->path, e->line, s->name, e->key, "'%s': cannot be a list "
                       "(sweep axes belong in [data] or [method.NAME])", e->raw);
                return -1;
            }
        return parse_values(c, e, spec, 0, err, errlen);
    case SEC_DATA:
        if (!(spec = param_find(table, e->key))) {
            const char *srcs = cfg_data_key_sources(e->key);
            if (srcs) {
                seterr(err, errlen, c->path, e->line, s->name, e->key,
                       "not a key of source = %s (it belongs to source = %s)", c->source, srcs);
                return -1;
            }
            return unknown_key(c, e, table, err, errlen);
        }
        if (strcmp(e->key, "source") == 0 && strchr(e->raw, ',')) {
            seterr(err, errlen, c->path, e->line, s->name, e->key,
                   "'%s': the data source cannot be a sweep axis", e->raw);
            return -1;
        }
        return parse_values(c, e, spec, 1, err, errlen);
    case SEC_METHOD:
        if (!(spec = param_find(table, e->key)))
            return unknown_key(c, e, table, err, errlen);
        return parse_values(c, e, spec, 1, err, errlen);
    case SEC_ZIP:
        if (strncmp(e->key, "axes", 4) != 0) {
            seterr(err, errlen, c->path, e->line, s->name, e->key,
                   "unknown key; [zip] takes 'axes = key1, key2, ...' (or axes2, axes_dims, ... "
                   "for more groups)");
            return -1;
        }
        return 0;
    }
    return 0;
}

/* Resolve the [zip] groups and number every section's axis groups. */
static int resolve_axes(cfg *c, char *err, size_t errlen)
{
    int zsec = find_section(c, "zip");
    int ngroup_total = 0;
    int *gid_of_zip = NULL;   /* entry index -> zip group id (per zip key), -1 */
    int rc = -1;
    gid_of_zip = malloc((size_t)(c->nent ? c->nent : 1) * sizeof *gid_of_zip);
    if (!gid_of_zip)
        goto out;
    for (int k = 0; k < c->nent; k++)
        gid_of_zip[k] = -1;
    for (int z = 0; zsec >= 0 && z < c->nent; z++) {
        cfg_entry *ze = &c->ent[z];
        if (ze->sec != zsec)
            continue;
        char *copy = xstrdup(ze->raw);
        if (!copy)
            goto out;
        char *p = copy;
        int first = -1, count = 0;
        if (!*trim(copy)) {
            seterr(err, errlen, c->path, ze->line, "zip", ze->key, "empty list of axes");
            free(copy);
            goto out;
        }
        for (;;) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            char *name = trim(p);
            char secname[128], key[128];
            int bad = 0;
            if (!*name) {
                seterr(err, errlen, c->path, ze->line, "zip", ze->key,
                       "'%s': empty name in the list", ze->raw);
                bad = 1;
            } else if (strncmp(name, "method.", 7) == 0 && strrchr(name, '.') > name + 7) {
                const char *dot = strrchr(name, '.');
                snprintf(secname, sizeof secname, "%.*s", (int)(dot - name), name);
                snprintf(key, sizeof key, "%s", dot + 1);
            } else {
                snprintf(secname, sizeof secname, "data");
                snprintf(key, sizeof key, "%s", strncmp(name, "data.", 5) == 0 ? name + 5 : name);
            }
            int s = -1, e = -1;
            if (!bad) {
                s = find_section(c, secname);
                const param_spec *table = s >= 0 ? section_table(c, s)
                                          : strcmp(secname, "data") == 0 ? cfg_data_keys(c->source)
                                                                         : NULL;
                if (strcmp(secname, "data") != 0 && s < 0) {
                    seterr(err, errlen, c->path, ze->line, "zip", ze->key,
                           "'%s': there is no section [%s]", name, secname);
                    bad = 1;
                } else if (!param_find(table, key)) {
                    const char *near = param_nearest(table, key);
                    seterr(err, errlen, c->path, ze->line, "zip", ze->key,
                           "'%s' is not a key of [%s]%s%s%s", name, secname,
                           near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
                    bad = 1;
                } else if (s < 0 || (e = find_entry(c, s, key)) < 0) {
                    seterr(err, errlen, c->path, ze->line, "zip", ze->key,
                           "'%s' is not set in [%s]: only keys given as comma lists can be zipped",
                           name, secname);
                    bad = 1;
                } else if (strcmp(key, "source") == 0) {
                    seterr(err, errlen, c->path, ze->line, "zip", ze->key,
                           "'source' cannot be a sweep axis");
                    bad = 1;
                } else if (c->ent[e].zip_line) {
                    seterr(err, errlen, c->path, ze->line, "zip", ze->key,
                           "'%s' is already zipped (at line %d)", name, c->ent[e].zip_line);
                    bad = 1;
                } else if (first >= 0 && c->ent[first].sec != s) {
                    seterr(err, errlen, c->path, ze->line, "zip", ze->key,
                           "'%s' is in [%s] but '%s' is in [%s]: a [zip] group ties keys of "
                           "one section", name, secname, c->ent[first].key,
                           c->sec[c->ent[first].sec].name);
                    bad = 1;
                } else if (first >= 0 && c->ent[first].nv != c->ent[e].nv) {
                    seterr(err, errlen, c->path, ze->line, "zip", ze->key,
                           "axes of unequal length: '%s' has %d values, '%s' has %d", name,
                           c->ent[e].nv, c->ent[first].key, c->ent[first].nv);
                    bad = 1;
                }
            }
            if (bad) {
                free(copy);
                goto out;
            }
            c->ent[e].zip_line = ze->line;
            gid_of_zip[e] = ngroup_total;
            if (first < 0)
                first = e;
            count++;
            if (!comma)
                break;
            p = comma + 1;
        }
        free(copy);
        /* zipped lists may repeat values (named_in_zip), not whole combinations */
        for (int a = 0; first >= 0 && a < c->ent[first].nv; a++)
            for (int b = a + 1; b < c->ent[first].nv; b++) {
                int same = 1;
                for (int k = 0; k < c->nent && same; k++)
                    if (gid_of_zip[k] == ngroup_total && strcmp(c->ent[k].v[a], c->ent[k].v[b]))
                        same = 0;
                if (same) {
                    seterr(err, errlen, c->path, ze->line, "zip", ze->key,
                           "values %d and %d of the zipped lists are the same combination "
                           "(each cell would run twice)", a + 1, b + 1);
                    goto out;
                }
            }
        ngroup_total++;
    }
    /* number the axis groups per section, in file order of their first key */
    int *sec_gid = malloc((size_t)(ngroup_total ? ngroup_total : 1) * sizeof *sec_gid);
    if (!sec_gid)
        goto out;
    for (int g = 0; g < ngroup_total; g++)
        sec_gid[g] = -1;
    for (int k = 0; k < c->nent; k++) {
        cfg_entry *e = &c->ent[k];
        cfg_section *s = &c->sec[e->sec];
        if (s->kind != SEC_DATA && s->kind != SEC_METHOD)
            continue;
        if (gid_of_zip[k] < 0 && e->nv <= 1)
            continue;
        int g;
        if (gid_of_zip[k] >= 0 && sec_gid[gid_of_zip[k]] >= 0) {
            g = sec_gid[gid_of_zip[k]];
        } else {
            int *nl = realloc(s->glen, (size_t)(s->ngroups + 1) * sizeof *nl);
            if (!nl) {
                free(sec_gid);
                goto out;
            }
            s->glen = nl;
            g = s->ngroups++;
            s->glen[g] = e->nv;
            if (gid_of_zip[k] >= 0)
                sec_gid[gid_of_zip[k]] = g;
        }
        e->group = g;
    }
    free(sec_gid);
    rc = 0;
out:
    if (rc != 0 && err && !*err)
        seterr(err, errlen, c->path, 0, NULL, NULL, "out of memory");
    free(gid_of_zip);
    return rc;
}

static double section_combos(const cfg *c, int sec)
{
    double n = 1;
    if (sec < 0)
        return 1;
    for (int g = 0; g < c->sec[sec].ngroups; g++)
        n *= c->sec[sec].glen[g];
    return n;
}

static int in_choices(const char *choices, const char *v);

/* Resolved key/values of section sec for combination ci (odometer, last group fastest),
 * defaults filled from table, every value canonical. A conditional key whose condition does
 * not hold in this combination takes its default: it does not act there, so it must not split
 * the cell key (the sampling = uniform cells of a sweep that sets mnar_strength for its mnar
 * cells are the same cells as those of a config without mnar_strength). */
static int section_kv(const cfg *c, int sec, long ci, const param_spec *table, kvset *kv)
{
    kv_init(kv);
    if (sec >= 0) {
        const cfg_section *s = &c->sec[sec];
        int digit[256];
        int ng = s->ngroups < 256 ? s->ngroups : 256;
        for (int g = ng - 1; g >= 0; g--) {
            digit[g] = (int)(ci % s->glen[g]);
            ci /= s->glen[g];
        }
        for (int k = 0; k < c->nent; k++) {
            const cfg_entry *e = &c->ent[k];
            if (e->sec != sec)
                continue;
            const char *v = e->group >= 0 && e->group < ng ? e->v[digit[e->group]] : e->v[0];
            if (kv_set(kv, e->key, v) != 0)
                goto oom;
        }
    }
    /* defaults enter as canonical text too: an omitted key, "1", "1.0" and "1e0" give one key */
    for (const param_spec *p = table; p && p->name; p++) {
        const char *v = kv_get(kv, p->name);
        if (!v && !(v = p->def))
            continue;
        char canon[256];
        if (param_canonical(p, v, canon, sizeof canon) != 0 || kv_set(kv, p->name, canon) != 0)
            goto oom;
    }
    const param_condition *cond = NULL;
    if (sec >= 0 && c->sec[sec].kind == SEC_DATA)
        cond = cfg_data_key_conditions(c->source);
    else if (sec >= 0 && c->sec[sec].kind == SEC_METHOD)
        cond = c->sec[sec].method->conditions;
    for (; cond && cond->key; cond++) {
        const char *w = kv_get(kv, cond->when_key);
        const param_spec *p = param_find(table, cond->key);
        char canon[256];
        if (!p || !p->def || (w && in_choices(cond->when_values, w)) || !kv_get(kv, cond->key))
            continue;
        if (param_canonical(p, p->def, canon, sizeof canon) != 0 || kv_set(kv, p->name, canon) != 0)
            goto oom;
    }
    return 0;
oom:
    kv_free(kv);
    return -1;
}

/* " (in the cell with a = 1, b = 2)" for the axis keys of section sec in kv. */
static void describe_combo(const cfg *c, int sec, const kvset *kv, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    if (sec < 0)
        return;
    for (int k = 0; k < c->nent && at < n; k++) {
        const cfg_entry *e = &c->ent[k];
        if (e->sec != sec || e->group < 0)
            continue;
        at += (size_t)snprintf(buf + at, n - at, "%s%s = %s", at ? ", " : " (in the cell with ",
                               e->key, kv_str(kv, e->key, "?"));
    }
    if (at && at < n)
        snprintf(buf + at, n - at, ")");
}

static int choice_index(const char *choices, const char *v)
{
    int k = 0;
    size_t lv = strlen(v);
    for (const char *p = choices; p;) {
        size_t l = strcspn(p, "|");
        if (l == lv && strncmp(p, v, l) == 0)
            return k;
        p = p[l] ? p + l + 1 : NULL;
        k++;
    }
    return 0;
}

/* The typed synthetic parameters of one resolved [data] combination: every knob read through
 * the table (param_int / param_real / param_str), whose defaults are synth_params_default's,
 * so no default is written here. */
static void fill_synth(const kvset *d, synth_params *p)
{
    synth_params_default(p);   /* the seed; every knob is overwritten below */
    const param_spec *t = cfg_data_keys("synthetic");
#define I(key) param_int(t, d, key)
#define R(key) param_real(t, d, key)
#define CH(key) choice_index(param_find(t, key)->choices, param_str(t, d, key))
    p->n_obs = I("n_obs");
    p->obs_per_user = R("obs_per_user");
    p->obs_per_item = R("obs_per_item");
    p->user_intrinsic_dim = (int)I("user_intrinsic_dim");
    p->item_intrinsic_dim = (int)I("item_intrinsic_dim");
    p->user_ambient_dim = (int)I("user_ambient_dim");
    p->item_ambient_dim = (int)I("item_ambient_dim");
    p->manifold = (synth_manifold)CH("manifold");
    p->ambient_noise = R("ambient_noise");
    p->truth = (synth_truth_kind)CH("truth");
    p->truth_levels = (int)I("truth_levels");
    p->beta = R("beta");
    p->truth_dim = (int)I("truth_dim");
    p->noise = R("noise");
    p->noise_dist = (synth_noise_dist)CH("noise_dist");
    p->noise_df = R("noise_df");
    p->stars = (int)I("stars");
    p->sampling = (synth_sampling)CH("sampling");
    p->zipf_s = R("zipf_s");
    p->mnar_strength = R("mnar_strength");
    p->test_cold_pairs = I("test_cold_pairs");
    p->test_warm_pairs = I("test_warm_pairs");
    p->valid_fraction = R("valid_fraction");
    p->cold_list_size = (int)I("cold_list_size");
    p->protocol = (synth_protocol)CH("protocol");
    p->leave_last_k = (int)I("leave_last_k");
    p->user_drift = R("user_drift");
#undef I
#undef R
#undef CH
}

/* The line to blame for key in section sec: the key's own line, else the section header. */
static int blame_line(const cfg *c, int sec, const char *key)
{
    if (sec < 0)
        return 0;
    int e = key ? find_entry(c, sec, key) : -1;
    return e >= 0 ? c->ent[e].line : c->sec[sec].line;
}

/* "12.3 GiB" */
static void bytes_text(char *buf, size_t n, double b)
{
    if (b >= 1073741824.0)
        snprintf(buf, n, "%.1f GiB", b / 1073741824.0);
    else
        snprintf(buf, n, "%.1f MiB", b / 1048576.0);
}

static int check_synth(const cfg *c, int dsec, const kvset *kv, char *err, size_t errlen)
{
    synth_params p;
    fill_synth(kv, &p);
    const char *bad = NULL;
    char msg[512];
    msg[0] = '\0';
    if (synth_params_check(&p, &bad, msg, sizeof msg) == 0 &&   /* + the k-shot protocol's */
        kshot_check_synth(param_int(cfg_data_keys("synthetic"), kv, "kshot"), &p, &bad, msg, sizeof msg) == 0) {
        double need = synth_memory_bytes(&p);
        if (need <= c->max_memory)
            return 0;
        /* blame the key behind the largest term: an ambient dimension (D x D QR factor and
         * the entity tables) or n_obs (the pairs) */
        double au = (double)p.user_ambient_dim * p.user_ambient_dim +
                    (double)synth_n_users(&p) * p.user_ambient_dim;
        double ai = (double)p.item_ambient_dim * p.item_ambient_dim +
                    (double)synth_n_items(&p) * p.item_ambient_dim;
        double pr = 8.0 * (double)p.n_obs;
        bad = au >= ai && au >= pr ? "user_ambient_dim" : ai >= pr ? "item_ambient_dim" : "n_obs";
        char nb[32], lb[32];
        bytes_text(nb, sizeof nb, need);
        bytes_text(lb, sizeof lb, c->max_memory);
        snprintf(msg, sizeof msg, "this dataset needs about %s of memory, above the limit of %s "
                 "([experiment] max_memory, default 80%% of physical memory)", nb, lb);
    }
    char where[512];
    describe_combo(c, dsec, kv, where, sizeof where);
    seterr(err, errlen, c->path, blame_line(c, dsec, bad), "data", bad, "%s%s", msg, where);
    return -1;
}

static int in_choices(const char *choices, const char *v)
{
    size_t lv = strlen(v);
    for (const char *p = choices; p;) {
        size_t l = strcspn(p, "|");
        if (l == lv && strncmp(p, v, l) == 0)
            return 1;
        p = p[l] ? p + l + 1 : NULL;
    }
    return 0;
}

/* A conditional key written in section sec but acting in no cell (noise_df without student_t
 * noise, test_fraction with split = cold_users, width_scale without width = theory, ...) would
 * silently do nothing: refused. */
static int check_conditions(const cfg *c, int sec, const param_spec *table,
                            const param_condition *cond, char *err, size_t errlen)
{
    if (sec < 0 || !cond)
        return 0;
    long n = (long)section_combos(c, sec);
    for (; cond->key; cond++) {
        int e = find_entry(c, sec, cond->key);
        if (e < 0)
            continue;
        int acts = 0;
        char seen[64] = "";
        for (long ci = 0; ci < n && !acts; ci++) {
            kvset kv;
            if (section_kv(c, sec, ci, table, &kv) != 0) {
                seterr(err, errlen, c->path, 0, NULL, NULL, "out of memory");
                return -1;
            }
            const char *v = kv_get(&kv, cond->when_key);
            acts = v && in_choices(cond->when_values, v);
            if (v && !seen[0])
                snprintf(seen, sizeof seen, "%s", v);
            kv_free(&kv);
        }
        if (!acts) {
            char want[128];
            snprintf(want, sizeof want, "%s", cond->when_values);
            for (char *p = want; *p; p++)
                if (*p == '|')
                    *p = '/';
            seterr(err, errlen, c->path, c->ent[e].line, c->sec[sec].name, cond->key,
                   "has no effect unless %s = %s (here %s = %s): remove it", cond->when_key, want,
                   cond->when_key, seen[0] ? seen : "?");
            return -1;
        }
    }
    return 0;
}

/* Checks of method section k that depend on the data source: width = theory needs the
 * synthetic keys (intrinsic dims, beta); a method that needs covariates needs them on a TSV. */
static int check_method_data(const cfg *c, int k, int dsec, char *err, size_t errlen)
{
    const cfg_section *s = &c->sec[k];
    int synthetic = strcmp(c->source, "synthetic") == 0;
    for (int q = 0; q < c->nent && !synthetic; q++) {
        const cfg_entry *e = &c->ent[q];
        const param_spec *sp = e->sec == k ? param_find(s->method->params, e->key) : NULL;
        if (!sp || sp->type != PT_INT_OR_THEORY)
            continue;
        for (int j = 0; j < e->nv; j++)
            if (strcmp(e->v[j], "theory") == 0) {
                seterr(err, errlen, c->path, e->line, s->name, e->key,
                       "'theory' needs synthetic data (the intrinsic dimensions and beta of the "
                       "truth), but source = %s: give a number", c->source);
                return -1;
            }
    }
    if (s->method->needs_covariates && strcmp(c->source, "tsv") == 0) {
        const char *missing = find_entry(c, dsec, "user_features") < 0 ? "user_features"
                              : find_entry(c, dsec, "item_features") < 0 ? "item_features" : NULL;
        if (missing) {
            seterr(err, errlen, c->path, s->line, s->name, NULL,
                   "method '%s' needs user and item covariates, but [data] has no %s file "
                   "(source = tsv)", s->method->name, missing);
            return -1;
        }
    }
    return 0;
}

/* The shape of the data of combination ci of [data] and its memory, as known before loading:
 * synthetic sizes from the keys, MovieLens 100K's fixed sizes, a TSV's unknown (0). */
static void data_shape(const cfg *c, const kvset *kv, est_shape *sh, double *bytes)
{
    memset(sh, 0, sizeof *sh);
    *bytes = 0;
    if (strcmp(c->source, "synthetic") == 0) {
        synth_params p;
        fill_synth(kv, &p);
        sh->n_train = p.n_obs;
        sh->n_users = synth_n_users(&p) + synth_n_cold_users(&p);
        sh->n_items = synth_n_items(&p) + synth_n_cold_items(&p);
        sh->user_dim = p.user_ambient_dim;
        sh->item_dim = p.item_ambient_dim;
        *bytes = synth_memory_bytes(&p);
    } else if (strcmp(c->source, "movielens100k") == 0) {
        *sh = (est_shape){.n_train = 100000, .n_users = 943, .n_items = 1682, .user_dim = 23,
                          .item_dim = 20};
        *bytes = 100000 * 24.0;
    }
}

/* Every (data, method) combination of method section k must fit in c->max_memory. */
static int check_method_memory(const cfg *c, int k, int dsec, char *err, size_t errlen)
{
    const cfg_section *s = &c->sec[k];
    if (!s->method->memory_bytes)
        return 0;
    const param_spec *dtab = cfg_data_keys(c->source);
    long nd = (long)section_combos(c, dsec), nm = (long)section_combos(c, k);
    for (long di = 0; di < nd; di++) {
        kvset dkv;
        if (section_kv(c, dsec, di, dtab, &dkv) != 0)
            goto oom;
        est_shape sh;
        double dbytes;
        data_shape(c, &dkv, &sh, &dbytes);
        kv_free(&dkv);
        for (long mi = 0; mi < nm; mi++) {
            kvset mkv;
            if (section_kv(c, k, mi, s->method->params, &mkv) != 0)
                goto oom;
            double mbytes = s->method->memory_bytes(&mkv, &sh);
            if (dbytes + mbytes > c->max_memory) {
                char where[512], nb[32], mb[32], lb[32];
                describe_combo(c, k, &mkv, where, sizeof where);
                bytes_text(nb, sizeof nb, dbytes + mbytes);
                bytes_text(mb, sizeof mb, mbytes);
                bytes_text(lb, sizeof lb, c->max_memory);
                const char *key = find_entry(c, k, "width") >= 0 ? "width" : NULL;
                seterr(err, errlen, c->path, blame_line(c, k, key), s->name, key,
                       "this cell needs about %s of memory (%s for the method), above the limit "
                       "of %s ([experiment] max_memory, default 80%% of physical memory)%s", nb,
                       mb, lb, where);
                kv_free(&mkv);
                return -1;
            }
            kv_free(&mkv);
        }
    }
    return 0;
oom:
    seterr(err, errlen, c->path, 0, NULL, NULL, "out of memory");
    return -1;
}

static int check_semantics(cfg *c, char *err, size_t errlen)
{
    int dsec = find_section(c, "data");
    const param_spec *dtab = cfg_data_keys(c->source);
    double nd = section_combos(c, dsec), ncells = 0, nm = 0;
    /* required keys (user_features / item_features have no default but are optional) */
    for (const param_spec *s = dtab; s->name; s++)
        if (!s->def && strcmp(s->name, "user_features") != 0 &&
            strcmp(s->name, "item_features") != 0 && (dsec < 0 || find_entry(c, dsec, s->name) < 0)) {
            seterr(err, errlen, c->path, dsec >= 0 ? c->sec[dsec].line : 0, "data", s->name,
                   "required with source = %s", c->source);
            return -1;
        }
    for (int k = 0; k < c->nsec; k++) {
        cfg_section *s = &c->sec[k];
        if (s->kind != SEC_METHOD)
            continue;
        nm += section_combos(c, k);
        for (const param_spec *p = s->method->params; p && p->name; p++)
            if (!p->def && find_entry(c, k, p->name) < 0) {
                seterr(err, errlen, c->path, s->line, s->name, p->name, "required key is missing");
                return -1;
            }
        if (s->method->needs_truth && strcmp(c->source, "synthetic") != 0) {
            seterr(err, errlen, c->path, s->line, s->name, NULL,
                   "method '%s' needs synthetic data (the truth R*), but source = %s",
                   s->method->name, c->source);
            return -1;
        }
        if (check_method_data(c, k, dsec, err, errlen) != 0 ||
            check_conditions(c, k, s->method->params, s->method->conditions, err, errlen) != 0)
            return -1;
    }
    if (check_conditions(c, dsec, dtab, cfg_data_key_conditions(c->source), err, errlen) != 0)
        return -1;
    ncells = nd * (nm > 0 ? nm : 1) * c->replicates;
    if (ncells > CFG_MAX_CELLS) {
        seterr(err, errlen, c->path, 0, NULL, NULL, "the sweep has %.0f cells (the limit is %d)",
               ncells, CFG_MAX_CELLS);
        return -1;
    }
    if (strcmp(c->source, "synthetic") == 0)
        for (long ci = 0; ci < (long)nd; ci++) {
            kvset kv;
            if (section_kv(c, dsec, ci, dtab, &kv) != 0) {
                seterr(err, errlen, c->path, 0, NULL, NULL, "out of memory");
                return -1;
            }
            int rc = check_synth(c, dsec, &kv, err, errlen);
            kv_free(&kv);
            if (rc != 0)
                return -1;
        }
    for (int k = 0; k < c->nsec; k++) {
        cfg_section *s = &c->sec[k];
        if (s->kind != SEC_METHOD || !s->method->check_parameter)
            continue;
        long n = (long)section_combos(c, k);
        for (long ci = 0; ci < n; ci++) {
            kvset kv;
            if (section_kv(c, k, ci, s->method->params, &kv) != 0) {
                seterr(err, errlen, c->path, 0, NULL, NULL, "out of memory");
                return -1;
            }
            const char *bad = NULL;
            const char *msg = s->method->check_parameter(&kv, &bad);
            if (msg) {
                char where[512];
                describe_combo(c, k, &kv, where, sizeof where);
                seterr(err, errlen, c->path, blame_line(c, k, bad), s->name, bad, "%s%s", msg,
                       where);
                kv_free(&kv);
                return -1;
            }
            kv_free(&kv);
        }
        if (check_method_memory(c, k, dsec, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* ---------- load ---------- */

static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        nomem |= errno == ENOMEM;   /* fopen's own allocation: a runtime failure */
        seterr(err, errlen, path, 0, NULL, NULL, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        seterr(err, errlen, path, 0, NULL, NULL, "is a directory, not a config file");
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        if (cap >= CFG_MAX_FILE) {
            fclose(f);
            free(b);
            seterr(err, errlen, path, 0, NULL, NULL, "file too large for a config (over %d bytes)",
                   CFG_MAX_FILE);
            return -1;
        }
        char *nb = realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (b && !bad)
        b[n] = '\0';   /* n < cap here */
    if (!b || bad) {
        free(b);
        seterr(err, errlen, path, 0, NULL, NULL, b ? "read error" : "out of memory");
        return -1;
    }
    *buf = b;
    *len = n;
    return 0;
}

static char *basename_noext(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *b = slash ? slash + 1 : path;
    char *s = xstrdup(b);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    if (n > 4 && strcmp(s + n - 4, ".ini") == 0)
        s[n - 4] = '\0';
    return s;
}

static int load(const char *path, cfg **out, char *err, size_t errlen);

int cfg_load(const char *path, cfg **out, char *err, size_t errlen)
{
    nomem = 0;
    int rc = load(path, out, err, errlen);
    return rc != 0 && nomem ? CFG_NOMEM : rc;
}

static int load(const char *path, cfg **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    cfg *c = calloc(1, sizeof *c);
    if (!c || !(c->path = xstrdup(path))) {
        free(c);
        seterr(err, errlen, path, 0, NULL, NULL, "out of memory");
        return -1;
    }
    snprintf(c->source, sizeof c->source, "synthetic");
    char *buf = NULL;
    size_t len = 0;
    if (read_file(path, &buf, &len, err, errlen) != 0)
        goto fail;
    errlist *errs = calloc(1, sizeof *errs);
    if (!errs)
        goto oom;
    reader_state st = {.c = c, .buf = buf, .len = len, .cur_sec = -1, .errs = errs};
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        st.pos = 3;
    int rc = ini_parse_stream(reader, &st, handler, &st);
    for (int k = 0; k < c->nent; k++)   /* an entry whose key or value could not be copied */
        if (!c->ent[k].key || !c->ent[k].raw) {
            free(errs);
            goto oom;
        }
    if (rc != 0 && !errs->total) {
        /* a syntax error inih found itself: a line with neither [section] nor key = value */
        if (rc > 0) {
            const char *p;
            int line = 1;
            for (p = buf; *p && line < rc; p++)
                line += *p == '\n';
            size_t n = strcspn(p, "\r\n");
            char text[64];
            snprintf(text, sizeof text, "%.*s", (int)(n < 60 ? n : 60), p);
            seterr(err, errlen, path, rc, NULL, NULL,
                   "expected '[section]' or 'key = value', got '%s'", trim(text));
        } else {
            seterr(err, errlen, path, 0, NULL, NULL, "cannot parse (inih error %d)", rc);
        }
        free(errs);
        goto fail;
    }
    /* [data] source first: the accepted keys depend on it (a bad source: the other [data]
     * keys are not checked against a guessed source) */
    int dsec = find_section(c, "data");
    int se = dsec >= 0 ? find_entry(c, dsec, "source") : -1, bad_source = 0;
    char one[512];
    if (se >= 0) {
        if (check_entry(c, &c->ent[se], one, sizeof one) != 0) {
            errlist_add(errs, c->ent[se].line, one);
            bad_source = 1;
        } else
            snprintf(c->source, sizeof c->source, "%s", c->ent[se].v[0]);
    }
    for (int k = 0; k < c->nent; k++)
        if (k != se && !(bad_source && c->ent[k].sec == dsec) &&
            check_entry(c, &c->ent[k], one, sizeof one) != 0)
            errlist_add(errs, c->ent[k].line, one);
    if (errs->total) {
        errlist_text(errs, err, errlen);
        free(errs);
        goto fail;
    }
    free(errs);
    /* [experiment]: typed reads, defaults from cfg_experiment_keys */
    int esec = find_section(c, "experiment");
    kvset ekv;
    kv_init(&ekv);
    for (int k = 0; esec >= 0 && k < c->nent; k++)
        if (c->ent[k].sec == esec && kv_set(&ekv, c->ent[k].key, c->ent[k].v[0]) != 0) {
            kv_free(&ekv);
            goto oom;
        }
    c->seed = (uint64_t)param_int(cfg_experiment_keys, &ekv, "seed");
    c->replicates = (int)param_int(cfg_experiment_keys, &ekv, "replicates");
    c->max_memory = param_real(cfg_experiment_keys, &ekv, "max_memory") * 1073741824.0;
    if (c->max_memory <= 0) {
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        c->max_memory = pages > 0 && psize > 0 ? 0.8 * (double)pages * (double)psize : 1e300;
    }
    const char *ev;
    int eoom = ((ev = kv_get(&ekv, "name")) && !(c->name = xstrdup(ev))) ||
               ((ev = kv_get(&ekv, "output")) && !(c->output = xstrdup(ev))) ||
               ((ev = kv_get(&ekv, "description")) && !(c->description = xstrdup(ev)));
    kv_free(&ekv);
    if (eoom)
        goto oom;
    if (!c->name && !(c->name = basename_noext(path)))
        goto oom;
    if (!c->output) {
        size_t n = strlen(c->name) + 16;
        if (!(c->output = malloc(n)))
            goto oom;
        snprintf(c->output, n, "results/%s.h5", c->name);
    }
    if (!c->description && !(c->description = xstrdup("")))
        goto oom;
    if (resolve_axes(c, err, errlen) != 0)
        goto fail;
    if (check_semantics(c, err, errlen) != 0)
        goto fail;
    free(buf);
    *out = c;
    return 0;
oom:
    seterr(err, errlen, path, 0, NULL, NULL, "out of memory");
fail:
    free(buf);
    cfg_free(c);
    return -1;
}

void cfg_free(cfg *c)
{
    if (!c)
        return;
    for (int k = 0; k < c->nent; k++) {
        for (int j = 0; j < c->ent[k].nv; j++)
            free(c->ent[k].v[j]);
        free(c->ent[k].v);
        free(c->ent[k].key);
        free(c->ent[k].raw);
    }
    for (int k = 0; k < c->nsec; k++) {
        free(c->sec[k].name);
        free(c->sec[k].glen);
    }
    free(c->ent);
    free(c->sec);
    free(c->path);
    free(c->name);
    free(c->output);
    free(c->description);
    free(c);
}

const char *cfg_path(const cfg *c) { return c->path; }
const char *cfg_name(const cfg *c) { return c->name; }
uint64_t cfg_seed(const cfg *c) { return c->seed; }
int cfg_replicates(const cfg *c) { return c->replicates; }
const char *cfg_output(const cfg *c) { return c->output; }
const char *cfg_description(const cfg *c) { return c->description; }
const char *cfg_source(const cfg *c) { return c->source; }

int cfg_line_of(const cfg *c, const char *section, const char *key)
{
    int s = find_section(c, section);
    if (s < 0)
        return 0;
    if (!key || !*key)
        return c->sec[s].line;
    int e = find_entry(c, s, key);
    return e >= 0 ? c->ent[e].line : 0;
}

int cfg_n_methods(const cfg *c)
{
    int n = 0;
    for (int k = 0; k < c->nsec; k++)
        n += c->sec[k].kind == SEC_METHOD;
    return n;
}

const char *cfg_method_name(const cfg *c, int k)
{
    for (int j = 0; j < c->nsec; j++)
        if (c->sec[j].kind == SEC_METHOD && k-- == 0)
            return c->sec[j].method->name;
    return NULL;
}

int cfg_axes(const cfg *c, const char *method, const char **names, int max)
{
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        char sname[64];
        if (pass == 0)
            snprintf(sname, sizeof sname, "data");
        else if (method)
            snprintf(sname, sizeof sname, "method.%s", method);
        else
            break;
        int s = find_section(c, sname);
        for (int k = 0; s >= 0 && k < c->nent; k++)
            if (c->ent[k].sec == s && c->ent[k].group >= 0) {
                if (n < max)
                    names[n] = c->ent[k].key;
                n++;
            }
    }
    return n;
}

/* ---------- expansion ---------- */

static int append(char **buf, size_t *len, size_t *cap, const char *a, const char *b,
                  const char *c3)
{
    size_t need = strlen(a) + strlen(b) + strlen(c3) + 1;
    if (*len + need + 1 > *cap) {
        size_t nc = (*cap + need) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = nc;
    }
    *len += (size_t)sprintf(*buf + *len, "%s%s%s", a, b, c3);
    return 0;
}

/* 1 when key = val leaves the cell key alone: a cfg_keyed_if_changed key at its default
 * (values are canonical here, so the default is compared in canonical form). */
static int key_neutral(const param_spec *table, const char *method, const char *key,
                       const char *val)
{
    const param_spec *p = param_find(table, key);
    char canon[256];
    return p && p->def && cfg_keyed_if_changed(method, key) &&
           param_canonical(p, p->def, canon, sizeof canon) == 0 && strcmp(canon, val) == 0;
}

static int build_cell(const cfg *c, cfg_cell *cell, const kvset *data, int replicate,
                      int msec, long mci)
{
    memset(cell, 0, sizeof *cell);
    kv_init(&cell->data);
    kv_init(&cell->method_params);
    kv_init(&cell->all);
    cell->replicate = replicate;
    if (kv_copy(&cell->data, data) != 0)
        return -1;
    if (msec >= 0) {
        const cfg_section *s = &c->sec[msec];
        snprintf(cell->method, sizeof cell->method, "%s", s->method->name);
        kv_free(&cell->method_params);
        if (section_kv(c, msec, mci, s->method->params, &cell->method_params) != 0)
            return -1;
    }
    char num[64], full[256];
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;
    const param_spec *dtab = cfg_data_keys(c->source);
    for (int k = 0; k < data->n; k++)
        if (!key_neutral(dtab, NULL, data->key[k], data->val[k]) &&
            (append(&text, &len, &cap, "data.", data->key[k], "=") ||
             append(&text, &len, &cap, data->val[k], "\n", "")))
            goto out;
    snprintf(num, sizeof num, "%llu", (unsigned long long)c->seed);
    if (append(&text, &len, &cap, "experiment.seed=", num, "\n") ||
        append(&text, &len, &cap, "method=", cell->method, "\n"))
        goto out;
    for (int k = 0; k < cell->method_params.n; k++)
        if (!(msec >= 0 && key_neutral(c->sec[msec].method->params, cell->method,
                                       cell->method_params.key[k], cell->method_params.val[k])) &&
            (append(&text, &len, &cap, "method.", cell->method_params.key[k], "=") ||
             append(&text, &len, &cap, cell->method_params.val[k], "\n", "")))
            goto out;
    snprintf(num, sizeof num, "%d", replicate);
    if (append(&text, &len, &cap, "replicate=", num, "\n"))
        goto out;
    cell->canonical = text;
    text = NULL;
    uint64_t h = fmix64(fnv1a(cell->canonical));
    snprintf(cell->key, sizeof cell->key, "%016llx", (unsigned long long)h);
    cell->data_seed = data_seed_of(c->seed, replicate);
    cell->train_seed = train_seed_of(c->seed, h);
    /* everything a results file stores as config */
    if (kv_set(&cell->all, "experiment.name", c->name) ||
        kv_set(&cell->all, "experiment.seed", (snprintf(num, sizeof num, "%llu",
                                                        (unsigned long long)c->seed), num)) ||
        kv_set(&cell->all, "experiment.replicates",
               (snprintf(num, sizeof num, "%d", c->replicates), num)) ||
        kv_set(&cell->all, "method", cell->method))
        goto out;
    /* the description is stored with every cell (not part of the key) */
    if (c->description && *c->description &&
        kv_set(&cell->all, "experiment.description", c->description))
        goto out;
    for (int k = 0; k < data->n; k++) {
        snprintf(full, sizeof full, "data.%s", data->key[k]);
        if (kv_set(&cell->all, full, data->val[k]))
            goto out;
    }
    for (int k = 0; k < cell->method_params.n; k++) {
        snprintf(full, sizeof full, "method.%s", cell->method_params.key[k]);
        if (kv_set(&cell->all, full, cell->method_params.val[k]))
            goto out;
    }
    rc = 0;
out:
    free(text);
    return rc;
}

static int expand(const cfg *c, int data_only_ok, cfg_cell **cells, int *ncells, char *err,
                  size_t errlen)
{
    *cells = NULL;
    *ncells = 0;
    if (!data_only_ok && cfg_n_methods(c) == 0) {
        char list[256];
        method_list(list, sizeof list);
        seterr(err, errlen, c->path, 0, NULL, NULL,
               "no [method.NAME] section: nothing to run (methods: %s)", list);
        return -1;
    }
    int dsec = find_section(c, "data");
    const param_spec *dtab = cfg_data_keys(c->source);
    long nd = (long)section_combos(c, dsec);
    long per_data = 0;
    for (int k = 0; k < c->nsec; k++)
        if (c->sec[k].kind == SEC_METHOD)
            per_data += (long)section_combos(c, k);
    if (per_data == 0)
        per_data = 1;   /* no method: data-only cells (gen, intdim) */
    long total = nd * c->replicates * per_data;
    if (total > CFG_MAX_CELLS) {
        seterr(err, errlen, c->path, 0, NULL, NULL, "the sweep has %ld cells (the limit is %d)",
               total, CFG_MAX_CELLS);
        return -1;
    }
    cfg_cell *out = calloc((size_t)total, sizeof *out);
    if (!out)
        goto oom;
    int n = 0, nmeth = cfg_n_methods(c);
    for (long di = 0; di < nd; di++) {
        kvset data;
        if (section_kv(c, dsec, di, dtab, &data) != 0)
            goto oom;
        for (int r = 0; r < c->replicates; r++) {
            if (nmeth == 0) {
                if (build_cell(c, &out[n], &data, r, -1, 0) != 0) {
                    n++;
                    kv_free(&data);
                    goto oom;
                }
                out[n].index = n;
                n++;
                continue;
            }
            for (int k = 0; k < c->nsec; k++) {
                if (c->sec[k].kind != SEC_METHOD)
                    continue;
                long nmc = (long)section_combos(c, k);
                for (long mc = 0; mc < nmc; mc++) {
                    if (build_cell(c, &out[n], &data, r, k, mc) != 0) {
                        n++;
                        kv_free(&data);
                        goto oom;
                    }
                    out[n].index = n;
                    n++;
                }
            }
        }
        kv_free(&data);
    }
    *cells = out;
    *ncells = n;
    return 0;
oom:
    cfg_cells_free(out, out ? n : 0);
    seterr(err, errlen, c->path, 0, NULL, NULL, "out of memory expanding the sweep");
    return -1;
}

int cfg_expand(const cfg *c, cfg_cell **cells, int *ncells, char *err, size_t errlen)
{
    nomem = 0;
    int rc = expand(c, 0, cells, ncells, err, errlen);
    return rc != 0 && nomem ? CFG_NOMEM : rc;
}

int cfg_expand_data(const cfg *c, cfg_cell **cells, int *ncells, char *err, size_t errlen)
{
    nomem = 0;
    int rc = expand(c, 1, cells, ncells, err, errlen);
    return rc != 0 && nomem ? CFG_NOMEM : rc;
}

void cfg_cells_free(cfg_cell *cells, int n)
{
    if (!cells)
        return;
    for (int k = 0; k < n; k++) {
        kv_free(&cells[k].data);
        kv_free(&cells[k].method_params);
        kv_free(&cells[k].all);
        free(cells[k].canonical);
    }
    free(cells);
}

int cfg_cell_synth_params(const cfg *c, const cfg_cell *cell, synth_params *p, char *err,
                          size_t errlen)
{
    const char *src = c->source;
    int dsec = find_section(c, "data");
    if (strcmp(src, "synthetic") != 0) {
        seterr(err, errlen, c->path, blame_line(c, dsec, "source"), "data", "source",
               "'%s' is not synthetic data", src);
        return -1;
    }
    fill_synth(&cell->data, p);
    p->seed = cell->data_seed;
    const char *bad = NULL;
    char msg[512];
    msg[0] = '\0';
    if (synth_params_check(p, &bad, msg, sizeof msg) != 0) {
        seterr(err, errlen, c->path, blame_line(c, dsec, bad), "data", bad, "%s", msg);
        return -1;
    }
    return 0;
}
