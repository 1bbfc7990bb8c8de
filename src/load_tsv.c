/* load_tsv.c — the generic ratings-TSV loader (load_tsv) and the line/field/split helpers
 * shared with load_movielens.c (see loaders.h).
 * Header rule: empty lines and lines starting with '#' are skipped; the first other line of a
 * file is a header (skipped) when its value field is a word, not a number (is_header_word): the
 * rating (third field) of the ratings file, the first feature (second field) of a feature file.
 * Any later line with a non-number there (and a first line with NaN/inf) is an error naming
 * file and line. The ratings file's optional 4th field is a timestamp (any finite number);
 * split = temporal / leave_last refuse a file where a data line lacks it (naming the line). */
#include "loaders.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---------------------------------------------------------------- shared helpers */

int load_open(load_reader *r, const char *path, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->f = fopen(path, "r");
    if (!r->f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int load_next(load_reader *r, char *err, size_t errlen)
{
    errno = 0;
    ssize_t len = getline(&r->buf, &r->cap, r->f);
    if (len < 0) {
        if (ferror(r->f)) {
            snprintf(err, errlen, "%s:%ld: read error: %s", r->path, r->line + 1, strerror(errno));
            return -1;
        }
        return 0;
    }
    r->line++;
    r->had_newline = len > 0 && r->buf[len - 1] == '\n';
    while (len > 0 && (r->buf[len - 1] == '\n' || r->buf[len - 1] == '\r'))
        r->buf[--len] = 0;
    if ((size_t)len != strlen(r->buf)) {
        snprintf(err, errlen, "%s:%ld: line contains a NUL byte", r->path, r->line);
        return -1;
    }
    return 1;
}

void load_close(load_reader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

int load_split_fields(char *s, char sep, char **f, int maxf)
{
    int n = 0;
    for (;;) {
        if (n < maxf)
            f[n] = s;
        n++;
        char *q = strchr(s, sep);
        if (!q)
            break;
        *q = 0;
        s = q + 1;
    }
    return n;
}

int load_parse_long(const char *s, long *v)
{
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (*end || errno)
        return -1;
    *v = x;
    return 0;
}

int load_parse_double(const char *s, double *v)
{
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (*end || !isfinite(x))
        return -1;
    *v = x;
    return 0;
}

int load_pick(long n, int8_t *code, int8_t from, int8_t to, long k, void *rng)
{
    if (k <= 0)
        return 0;
    long m = 0;
    for (long r = 0; r < n; r++)
        m += code[r] == from;
    if (k > m)
        k = m;
    long *idx = malloc((size_t)(m > 0 ? m : 1) * sizeof *idx);
    if (!idx)
        return -1;
    m = 0;
    for (long r = 0; r < n; r++)
        if (code[r] == from)
            idx[m++] = r;
    gsl_ran_shuffle((gsl_rng *)rng, idx, (size_t)m, sizeof *idx);
    for (long t = 0; t < k; t++)
        code[idx[t]] = to;
    free(idx);
    return 0;
}

int load_fill_splits(long n, const int8_t *code, const int32_t *u, const int32_t *i,
                     const double *r, const double *t, ds_data *out)
{
    ds_split *sp[4] = {&out->train, &out->valid, &out->test_warm, &out->test_cold};
    long cnt[4] = {0, 0, 0, 0};
    for (long k = 0; k < n; k++)
        cnt[code[k]]++;
    for (int s = 0; s < 4; s++) {
        if (ds_split_alloc(sp[s], cnt[s], 0) != 0)
            return -1;
        if (t && !(sp[s]->time = malloc((size_t)(cnt[s] > 0 ? cnt[s] : 1) * sizeof *sp[s]->time)))
            return -1;
    }
    long at[4] = {0, 0, 0, 0};
    for (long k = 0; k < n; k++) {
        ds_split *s = sp[code[k]];
        long q = at[code[k]]++;
        s->user[q] = u[k];
        s->item[q] = i[k];
        s->rating[q] = r[k];
        if (t)
            s->time[q] = t[k];
    }
    return 0;
}

/* ---------------------------------------------------------------- splits by time */

typedef struct {
    const int32_t *user;
    const double *time;
    int by_user;
} time_ctx;

/* (user,) time, then position in the file: the deterministic tie rule of loaders.h */
static int cmp_time(const void *a, const void *b, void *ctx)
{
    const time_ctx *c = ctx;
    long x = *(const long *)a, y = *(const long *)b;
    if (c->by_user && c->user[x] != c->user[y])
        return c->user[x] < c->user[y] ? -1 : 1;
    if (c->time[x] != c->time[y])
        return c->time[x] < c->time[y] ? -1 : 1;
    return (x > y) - (x < y);
}

int load_time_codes(long n, const int32_t *u, const double *t, const load_time_opts *o,
                    int8_t *code)
{
    long *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    if (!order)
        return -1;
    for (long k = 0; k < n; k++)
        order[k] = k;
    time_ctx c = {.user = u, .time = t, .by_user = o->kind == LOAD_LEAVE_LAST};
    qsort_r(order, (size_t)n, sizeof *order, cmp_time, &c);
    if (o->kind == LOAD_TEMPORAL) {
        long n_test = (long)floor(o->test_fraction * n + 0.5);
        long n_valid = (long)floor(o->valid_fraction * n + 0.5);
        if (n_test + n_valid > n)
            n_valid = n - n_test;
        for (long q = 0; q < n; q++)
            code[order[q]] = q >= n - n_test ? 2 : q >= n - n_test - n_valid ? 1 : 0;
    } else {
        long k = o->k;
        for (long a = 0; a < n;) {
            long b = a + 1;
            while (b < n && u[order[b]] == u[order[a]])
                b++;
            long nu = b - a;
            long nt = nu - 1 < k ? nu - 1 : k;
            long nv = nu - 1 - nt < k ? nu - 1 - nt : k;
            for (long q = a; q < b; q++)
                code[order[q]] = q >= b - nt ? 2 : q >= b - nt - nv ? 1 : 0;
            a = b;
        }
    }
    free(order);
    return 0;
}

int load_time_opts_check(const load_time_opts *o, char *err, size_t errlen)
{
    if (o->kind == LOAD_TEMPORAL &&
        !(o->valid_fraction >= 0 && o->test_fraction > 0 && o->valid_fraction + o->test_fraction < 1)) {
        snprintf(err, errlen, "split = temporal: need temporal_valid >= 0, temporal_test > 0 with "
                 "sum < 1 (got %g, %g)", o->valid_fraction, o->test_fraction);
        return -1;
    }
    if (o->kind == LOAD_LEAVE_LAST && o->k < 1) {
        snprintf(err, errlen, "split = leave_last: need leave_last_k >= 1 (got %d)", o->k);
        return -1;
    }
    if (o->kind != LOAD_TEMPORAL && o->kind != LOAD_LEAVE_LAST) {
        snprintf(err, errlen, "unknown time split %d", (int)o->kind);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- id map (string -> row) */

typedef struct {
    char **name;       /* row -> id text */
    int n, cap_names;
    int *slot;         /* open addressing: row + 1, 0 = empty */
    size_t nslot;
} idmap;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void idmap_free(idmap *m)
{
    for (int r = 0; r < m->n; r++)
        free(m->name[r]);
    free(m->name);
    free(m->slot);
    memset(m, 0, sizeof *m);
}

static int idmap_rehash(idmap *m, size_t nslot)
{
    int *slot = calloc(nslot, sizeof *slot);
    if (!slot)
        return -1;
    for (int r = 0; r < m->n; r++) {
        size_t h = str_hash(m->name[r]) & (nslot - 1);
        while (slot[h])
            h = (h + 1) & (nslot - 1);
        slot[h] = r + 1;
    }
    free(m->slot);
    m->slot = slot;
    m->nslot = nslot;
    return 0;
}

/* Row of id, or -1 if absent. */
static int idmap_find(const idmap *m, const char *id)
{
    if (!m->nslot)
        return -1;
    size_t h = str_hash(id) & (m->nslot - 1);
    while (m->slot[h]) {
        if (strcmp(m->name[m->slot[h] - 1], id) == 0)
            return m->slot[h] - 1;
        h = (h + 1) & (m->nslot - 1);
    }
    return -1;
}

/* Row of id, adding it if new (*added = 1); -1 on out of memory. */
static int idmap_get(idmap *m, const char *id, int *added)
{
    *added = 0;
    int r = idmap_find(m, id);
    if (r >= 0)
        return r;
    if ((size_t)(m->n + 1) * 2 > m->nslot && idmap_rehash(m, m->nslot ? m->nslot * 2 : 1024) != 0)
        return -1;
    if (m->n == m->cap_names) {
        int cap = m->cap_names ? 2 * m->cap_names : 1024;
        char **nn = realloc(m->name, (size_t)cap * sizeof *nn);
        if (!nn)
            return -1;
        m->name = nn;
        m->cap_names = cap;
    }
    char *copy = strdup(id);
    if (!copy)
        return -1;
    m->name[m->n] = copy;
    size_t h = str_hash(id) & (m->nslot - 1);
    while (m->slot[h])
        h = (h + 1) & (m->nslot - 1);
    m->slot[h] = m->n + 1;
    *added = 1;
    return m->n++;
}

/* ---------------------------------------------------------------- the TSV loader */

typedef struct {
    long n, cap;
    int32_t *u, *i;
    double *r;
    double *t;          /* the timestamp column (NaN where a line has none) */
} triplets;

static int trip_push(triplets *t, int32_t u, int32_t i, double r, double time)
{
    if (t->n == t->cap) {
        long cap = t->cap ? 2 * t->cap : 4096;
        int32_t *nu = realloc(t->u, (size_t)cap * sizeof *nu);
        if (nu)
            t->u = nu;
        int32_t *ni = realloc(t->i, (size_t)cap * sizeof *ni);
        if (ni)
            t->i = ni;
        double *nr = realloc(t->r, (size_t)cap * sizeof *nr);
        if (nr)
            t->r = nr;
        double *nt = realloc(t->t, (size_t)cap * sizeof *nt);
        if (nt)
            t->t = nt;
        if (!nu || !ni || !nr || !nt)
            return -1;
        t->cap = cap;
    }
    t->u[t->n] = u;
    t->i[t->n] = i;
    t->r[t->n] = r;
    t->t[t->n] = time;
    t->n++;
    return 0;
}

static int is_skipped(const char *line)
{
    return line[0] == 0 || line[0] == '#';
}

/* A header word: a field that does not start like a number ("rating", "age"); "NaN", "inf",
 * "1e999" and "3x" start like numbers, so a first line holding them is data (and an error). */
static int is_header_word(const char *field)
{
    char *end;
    (void)strtod(field, &end);
    return end == field;
}

/* Read a feature file for the entities of map (which may grow); *x = rows x *dim. */
static int read_features(const char *path, const char *what, idmap *map, double **x, int *dim,
                         char *err, size_t errlen)
{
    load_reader rd;
    if (load_open(&rd, path, err, errlen) != 0)
        return -1;
    int ncol = -1, rc = 0, cap_rows = 0;
    double *feat = NULL;
    char *seen = NULL;
    char **f = NULL;
    int maxf = 0, got, first = 1;
    while ((got = load_next(&rd, err, errlen)) == 1) {
        if (is_skipped(rd.buf))
            continue;
        int header_ok = first;
        first = 0;
        int nf = 1;
        for (const char *p = rd.buf; *p; p++)
            nf += *p == '\t';
        if (nf > maxf) {
            char **nfp = realloc(f, (size_t)nf * sizeof *nfp);
            if (!nfp) {
                snprintf(err, errlen, "%s:%ld: out of memory", path, rd.line);
                rc = -1;
                break;
            }
            f = nfp;
            maxf = nf;
        }
        load_split_fields(rd.buf, '\t', f, maxf);
        if (nf < 2) {
            snprintf(err, errlen, "%s:%ld: expected an id and at least one feature, found %d field%s",
                     path, rd.line, nf, nf == 1 ? "" : "s");
            rc = -1;
            break;
        }
        if (header_ok && is_header_word(f[1]))
            continue; /* a header line: "id<TAB>age<TAB>..." */
        if (ncol < 0) {
            ncol = nf - 1;
        } else if (nf - 1 != ncol) {
            snprintf(err, errlen, "%s:%ld: %d features, but earlier lines have %d", path, rd.line,
                     nf - 1, ncol);
            rc = -1;
            break;
        }
        if (!f[0][0]) {
            snprintf(err, errlen, "%s:%ld: empty %s id", path, rd.line, what);
            rc = -1;
            break;
        }
        int added;
        int row = idmap_get(map, f[0], &added);
        if (row < 0) {
            snprintf(err, errlen, "%s:%ld: out of memory", path, rd.line);
            rc = -1;
            break;
        }
        if (row >= cap_rows) {
            int cap = cap_rows ? cap_rows : 1024;
            while (cap <= row || cap < map->n)
                cap *= 2;
            double *nfe = realloc(feat, (size_t)cap * ncol * sizeof *nfe);
            char *ns = realloc(seen, (size_t)cap);
            if (nfe)
                feat = nfe;
            if (ns)
                seen = ns;
            if (!nfe || !ns) {
                snprintf(err, errlen, "%s:%ld: out of memory", path, rd.line);
                rc = -1;
                break;
            }
            memset(seen + cap_rows, 0, (size_t)(cap - cap_rows));
            cap_rows = cap;
        }
        if (seen[row]) {
            snprintf(err, errlen, "%s:%ld: %s id '%s' appears twice", path, rd.line, what, f[0]);
            rc = -1;
            break;
        }
        seen[row] = 1;
        for (int c = 0; c < ncol; c++) {
            if (load_parse_double(f[c + 1], &feat[(size_t)row * ncol + c]) != 0) {
                snprintf(err, errlen, "%s:%ld: column %d: '%s' is not a finite number", path,
                         rd.line, c + 2, f[c + 1]);
                rc = -1;
                break;
            }
        }
        if (rc)
            break;
    }
    if (got < 0)
        rc = -1;
    if (rc == 0 && ncol < 0) {
        snprintf(err, errlen, "%s: no feature lines", path);
        rc = -1;
    }
    if (rc == 0) {
        for (int row = 0; row < map->n; row++) {
            if (row >= cap_rows || !seen[row]) {
                snprintf(err, errlen, "%s: no features for %s '%s'", path, what, map->name[row]);
                rc = -1;
                break;
            }
        }
    }
    load_close(&rd);
    free(seen);
    free(f);
    if (rc) {
        free(feat);
        return -1;
    }
    *x = feat;
    *dim = ncol;
    return 0;
}

/* split = cold_users: round(fraction * n_users) of the rated users, chosen at random, are held
 * out entirely: every rating of theirs gets code 3 (test_cold), so none is in train or valid.
 * *n_base = the ratings left for train/valid. */
static int hold_out_users(const triplets *t, int n_users, double fraction, int8_t *code,
                          long *n_base, gsl_rng *rng, const char *ratings, char *err, size_t errlen)
{
    long n_cold = (long)floor(fraction * n_users + 0.5);
    if (n_cold < 1 || n_cold >= n_users) {
        snprintf(err, errlen, "%s: cold_user_fraction = %g holds out %ld of the %d users "
                 "(at least one must be held out and one kept)", ratings, fraction, n_cold, n_users);
        return -1;
    }
    int8_t *ucode = calloc((size_t)n_users, sizeof *ucode);
    if (!ucode || load_pick(n_users, ucode, 0, 1, n_cold, rng) != 0) {
        free(ucode);
        snprintf(err, errlen, "load_tsv: out of memory");
        return -1;
    }
    long base = 0;
    for (long k = 0; k < t->n; k++) {
        if (ucode[t->u[k]])
            code[k] = 3;
        else
            base++;
    }
    free(ucode);
    *n_base = base;
    return 0;
}

/* topt: split = temporal / leave_last (the fractions and seed unused); else
 * cold_user_fraction > 0: split = cold_users (test_fraction unused), else split = fold. */
static int tsv_load(const char *ratings, const char *user_features, const char *item_features,
                    double valid_fraction, double test_fraction, double cold_user_fraction,
                    const load_time_opts *topt, uint64_t seed, ds_data *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    gsl_set_error_handler_off();   /* GSL failures are return values here, never abort() */
    if (topt) {
        if (load_time_opts_check(topt, err, errlen) != 0)
            return -1;
        valid_fraction = test_fraction = cold_user_fraction = 0;
    }
    int cold = cold_user_fraction > 0;
    if (cold && !(cold_user_fraction < 1 && valid_fraction >= 0 && valid_fraction < 1)) {
        snprintf(err, errlen, "load_tsv: need cold_user_fraction in (0, 1) and valid_fraction in "
                 "[0, 1) (got %g, %g)", cold_user_fraction, valid_fraction);
        return -1;
    }
    if (!topt && !cold && !(valid_fraction >= 0 && test_fraction >= 0 && valid_fraction + test_fraction < 1)) {
        snprintf(err, errlen, "load_tsv: need valid_fraction, test_fraction >= 0 with sum < 1 "
                 "(got %g, %g)", valid_fraction, test_fraction);
        return -1;
    }
    idmap um = {0}, im = {0};
    triplets t = {0};
    int8_t *code = NULL;
    double *ux = NULL, *ix = NULL;
    int udim = 0, idim = 0, rc = 0, got, first = 1;
    long no_time_line = 0;   /* first data line without a numeric timestamp (0: none) */
    char no_time_what[160] = "";
    load_reader rd;
    if (load_open(&rd, ratings, err, errlen) != 0)
        return -1;
    while ((got = load_next(&rd, err, errlen)) == 1) {
        if (is_skipped(rd.buf))
            continue;
        int header_ok = first;
        first = 0;
        char *f[4];
        int nf = load_split_fields(rd.buf, '\t', f, 4);
        if (nf != 3 && nf != 4) {
            snprintf(err, errlen, "%s:%ld: expected 3 tab-separated fields (user, item, rating; "
                     "a 4th, timestamp, is optional), found %d%s", ratings, rd.line, nf, rd.had_newline ? "" : " (truncated line)");
            rc = -1;
            break;
        }
        if (!f[0][0] || !f[1][0]) {
            snprintf(err, errlen, "%s:%ld: empty %s id", ratings, rd.line, !f[0][0] ? "user" : "item");
            rc = -1;
            break;
        }
        double r, time = NAN;
        if (header_ok && is_header_word(f[2]))
            continue; /* a header line: "user<TAB>item<TAB>rating[<TAB>timestamp]" */
        if (load_parse_double(f[2], &r) != 0) {
            snprintf(err, errlen, "%s:%ld: rating '%s' is not a finite number", ratings, rd.line, f[2]);
            rc = -1;
            break;
        }
        /* the optional timestamp: only split = temporal / leave_last needs it on every line */
        int has_time = nf == 4 && load_parse_double(f[3], &time) == 0;
        if (!has_time && !no_time_line) {
            no_time_line = rd.line;
            if (nf == 4)
                snprintf(no_time_what, sizeof no_time_what, "timestamp '%.60s' is not a finite "
                         "number", f[3]);
            else
                snprintf(no_time_what, sizeof no_time_what, "no timestamp (4th field)");
        }
        int added;
        int u = idmap_get(&um, f[0], &added);
        int i = idmap_get(&im, f[1], &added);
        if (u < 0 || i < 0 || trip_push(&t, u, i, r, time) != 0) {
            snprintf(err, errlen, "%s:%ld: out of memory", ratings, rd.line);
            rc = -1;
            break;
        }
    }
    if (got < 0)
        rc = -1;
    load_close(&rd);
    if (rc == 0 && t.n == 0) {
        snprintf(err, errlen, "%s: no ratings", ratings);
        rc = -1;
    }
    if (rc == 0 && topt && no_time_line) {
        snprintf(err, errlen, "%s:%ld: %s; split = %s needs a timestamp on every line", ratings,
                 no_time_line, no_time_what, topt->kind == LOAD_TEMPORAL ? "temporal" : "leave_last");
        rc = -1;
    }
    int n_rated_users = um.n;   /* feature-only users (added below) are never held out */
    if (rc == 0 && user_features)
        rc = read_features(user_features, "user", &um, &ux, &udim, err, errlen);
    if (rc == 0 && item_features)
        rc = read_features(item_features, "item", &im, &ix, &idim, err, errlen);
    if (rc == 0) {
        code = calloc((size_t)t.n, sizeof *code);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        if (!code || !rng) {
            snprintf(err, errlen, "load_tsv: out of memory");
            rc = -1;
        } else {
            gsl_rng_set(rng, (unsigned long)seed);
            long n_test = cold ? 0 : (long)floor(test_fraction * t.n + 0.5);
            long n_base = t.n;
            if (cold)
                rc = hold_out_users(&t, n_rated_users, cold_user_fraction, code, &n_base, rng,
                                    ratings, err, errlen);
            long n_valid = (long)floor(valid_fraction * (cold ? n_base : t.n) + 0.5);
            if (rc == 0 && topt && load_time_codes(t.n, t.u, t.t, topt, code) != 0) {
                snprintf(err, errlen, "load_tsv: out of memory");
                rc = -1;
            }
            if (rc == 0 && (load_pick(t.n, code, 0, 2, n_test, rng) != 0 ||
                            load_pick(t.n, code, 0, 1, n_valid, rng) != 0 ||
                            load_fill_splits(t.n, code, t.u, t.i, t.r, no_time_line ? NULL : t.t,
                                             out) != 0)) {
                snprintf(err, errlen, "load_tsv: out of memory");
                rc = -1;
            }
        }
        gsl_rng_free(rng);
    }
    if (rc == 0) {
        out->n_users = um.n;
        out->n_items = im.n;
        out->user_dim = udim;
        out->item_dim = idim;
        out->user_x = ux;
        out->item_x = ix;
        ux = ix = NULL;
        out->synthetic = 0;
        double lo = t.r[0], hi = t.r[0];
        for (long k = 1; k < t.n; k++) {
            if (t.r[k] < lo)
                lo = t.r[k];
            if (t.r[k] > hi)
                hi = t.r[k];
        }
        out->rating_min = lo;
        out->rating_max = hi;
    } else {
        ds_free(out);
    }
    free(ux);
    free(ix);
    free(code);
    free(t.u);
    free(t.i);
    free(t.r);
    free(t.t);
    idmap_free(&um);
    idmap_free(&im);
    return rc;
}

int load_tsv(const char *ratings, const char *user_features, const char *item_features,
             double valid_fraction, double test_fraction, uint64_t seed, ds_data *out,
             char *err, size_t errlen)
{
    return tsv_load(ratings, user_features, item_features, valid_fraction, test_fraction, 0, NULL,
                    seed, out, err, errlen);
}

int load_tsv_by_time(const char *ratings, const char *user_features, const char *item_features,
                     const load_time_opts *opts, ds_data *out, char *err, size_t errlen)
{
    return tsv_load(ratings, user_features, item_features, 0, 0, 0, opts, 0, out, err, errlen);
}

int load_tsv_cold_users(const char *ratings, const char *user_features, const char *item_features,
                        double valid_fraction, double cold_user_fraction, uint64_t seed,
                        ds_data *out, char *err, size_t errlen)
{
    if (!(cold_user_fraction > 0)) {
        snprintf(err, errlen, "load_tsv: need cold_user_fraction in (0, 1) (got %g)",
                 cold_user_fraction);
        return -1;
    }
    return tsv_load(ratings, user_features, item_features, valid_fraction, 0, cold_user_fraction,
                    NULL, seed, out, err, errlen);
}
