/* load_movielens.c — the MovieLens 100K loader (load_movielens100k, see loaders.h):
 * u.occupation, u.user, u.item and the ratings files (u.data, uN.base/.test) into a ds_data,
 * with the timestamps of the ratings files in every split's time[]; split = temporal /
 * leave_last (load_movielens100k_by_time) cut u.data by time. */
#include "loaders.h"

#include <ctype.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ML_GENRES 19
#define ML_ITEM_FIELDS (5 + ML_GENRES)

typedef struct {
    int n_occ;
    char **occ;
    int n_users, n_items;
    double *user_x, *item_x;
    /* all triplets read so far, with their split codes */
    long n, cap;
    int32_t *u, *i;
    double *r, *t;      /* rating, timestamp (seconds since 1970) */
    int8_t *code;
} ml_state;

static void ml_free(ml_state *s)
{
    for (int k = 0; k < s->n_occ; k++)
        free(s->occ[k]);
    free(s->occ);
    free(s->user_x);
    free(s->item_x);
    free(s->u);
    free(s->i);
    free(s->r);
    free(s->t);
    free(s->code);
    memset(s, 0, sizeof *s);
}

static void join(char *buf, size_t n, const char *dir, const char *name)
{
    size_t L = strlen(dir);
    snprintf(buf, n, "%s%s%s", dir, (L && dir[L - 1] == '/') ? "" : "/", name);
}

static int read_occupations(ml_state *s, const char *path, char *err, size_t errlen)
{
    load_reader rd;
    if (load_open(&rd, path, err, errlen) != 0)
        return -1;
    int got, cap = 0;
    while ((got = load_next(&rd, err, errlen)) == 1) {
        if (!rd.buf[0])
            continue;
        for (int k = 0; k < s->n_occ; k++) {
            if (strcmp(s->occ[k], rd.buf) == 0) {
                snprintf(err, errlen, "%s:%ld: occupation '%s' listed twice", path, rd.line, rd.buf);
                load_close(&rd);
                return -1;
            }
        }
        if (s->n_occ == cap) {
            cap = cap ? 2 * cap : 32;
            char **no = realloc(s->occ, (size_t)cap * sizeof *no);
            if (!no) {
                got = -1;
                snprintf(err, errlen, "%s: out of memory", path);
                break;
            }
            s->occ = no;
        }
        if (!(s->occ[s->n_occ] = strdup(rd.buf))) {
            got = -1;
            snprintf(err, errlen, "%s: out of memory", path);
            break;
        }
        s->n_occ++;
    }
    load_close(&rd);
    if (got < 0)
        return -1;
    if (s->n_occ == 0) {
        snprintf(err, errlen, "%s: no occupations listed", path);
        return -1;
    }
    return 0;
}

/* Count the non-empty lines of a file (the number of users / items). */
static int count_lines(const char *path, int *n, char *err, size_t errlen)
{
    load_reader rd;
    if (load_open(&rd, path, err, errlen) != 0)
        return -1;
    int got;
    *n = 0;
    while ((got = load_next(&rd, err, errlen)) == 1)
        *n += rd.buf[0] != 0;
    load_close(&rd);
    if (got < 0)
        return -1;
    if (*n == 0) {
        snprintf(err, errlen, "%s: empty file", path);
        return -1;
    }
    return 0;
}

/* Parse an entity id field: 1..count, not seen before. Returns the row or -1. */
static int entity_id(const char *path, long line, const char *field, int count, char *seen,
                     const char *what, char *err, size_t errlen)
{
    long id;
    if (load_parse_long(field, &id) != 0) {
        snprintf(err, errlen, "%s:%ld: %s id '%s' is not an integer", path, line, what, field);
        return -1;
    }
    if (id < 1 || id > count) {
        snprintf(err, errlen, "%s:%ld: %s id %ld out of range 1..%d", path, line, what, id, count);
        return -1;
    }
    if (seen) {
        if (seen[id - 1]) {
            snprintf(err, errlen, "%s:%ld: %s id %ld appears twice", path, line, what, id);
            return -1;
        }
        seen[id - 1] = 1;
    }
    return (int)(id - 1);
}

static int read_users(ml_state *s, const char *path, char *err, size_t errlen)
{
    if (count_lines(path, &s->n_users, err, errlen) != 0)
        return -1;
    int dim = 2 + s->n_occ;
    s->user_x = calloc((size_t)s->n_users * dim, sizeof *s->user_x);
    char *seen = calloc((size_t)s->n_users, 1);
    load_reader rd;
    if (!s->user_x || !seen) {
        free(seen);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (load_open(&rd, path, err, errlen) != 0) {
        free(seen);
        return -1;
    }
    int got, rc = 0;
    while (rc == 0 && (got = load_next(&rd, err, errlen)) == 1) {
        if (!rd.buf[0])
            continue;
        char *f[5];
        int nf = load_split_fields(rd.buf, '|', f, 5);
        if (nf != 5) {
            snprintf(err, errlen, "%s:%ld: expected 5 '|'-separated fields "
                     "(id|age|gender|occupation|zip), found %d", path, rd.line, nf);
            rc = -1;
            break;
        }
        int row = entity_id(path, rd.line, f[0], s->n_users, seen, "user", err, errlen);
        if (row < 0) {
            rc = -1;
            break;
        }
        double *x = s->user_x + (size_t)row * dim;
        long age;
        if (load_parse_long(f[1], &age) != 0 || age < 0 || age > 150) {
            snprintf(err, errlen, "%s:%ld: age '%s' is not an integer in 0..150", path, rd.line, f[1]);
            rc = -1;
            break;
        }
        x[0] = (double)age;
        if (strcmp(f[2], "M") && strcmp(f[2], "F")) {
            snprintf(err, errlen, "%s:%ld: gender '%s' is not M or F", path, rd.line, f[2]);
            rc = -1;
            break;
        }
        x[1] = f[2][0] == 'F';
        int k = 0;
        while (k < s->n_occ && strcmp(s->occ[k], f[3]))
            k++;
        if (k == s->n_occ) {
            snprintf(err, errlen, "%s:%ld: occupation '%s' is not in u.occupation", path, rd.line, f[3]);
            rc = -1;
            break;
        }
        x[2 + k] = 1.0;
    }
    if (rc == 0 && got < 0)
        rc = -1;
    load_close(&rd);
    free(seen);
    return rc;
}

/* Year of a "dd-Mon-yyyy" date; -1 if malformed. */
static int parse_year(const char *s)
{
    size_t L = strlen(s);
    if (L < 4 || (L > 4 && s[L - 5] != '-'))
        return -1;
    int y = 0;
    for (size_t k = L - 4; k < L; k++) {
        if (!isdigit((unsigned char)s[k]))
            return -1;
        y = 10 * y + (s[k] - '0');
    }
    return y;
}

static int read_items(ml_state *s, const char *path, char *err, size_t errlen)
{
    if (count_lines(path, &s->n_items, err, errlen) != 0)
        return -1;
    const int dim = ML_GENRES + 1;
    s->item_x = calloc((size_t)s->n_items * dim, sizeof *s->item_x);
    char *seen = calloc((size_t)s->n_items, 1);
    double *years = malloc((size_t)s->n_items * sizeof *years);
    load_reader rd;
    if (!s->item_x || !seen || !years) {
        free(seen);
        free(years);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (load_open(&rd, path, err, errlen) != 0) {
        free(seen);
        free(years);
        return -1;
    }
    int got, rc = 0, n_years = 0;
    while (rc == 0 && (got = load_next(&rd, err, errlen)) == 1) {
        if (!rd.buf[0])
            continue;
        char *f[ML_ITEM_FIELDS];
        int nf = load_split_fields(rd.buf, '|', f, ML_ITEM_FIELDS);
        if (nf != ML_ITEM_FIELDS) {
            snprintf(err, errlen, "%s:%ld: expected %d '|'-separated fields (id|title|date|video "
                     "date|url|19 genre flags), found %d", path, rd.line, ML_ITEM_FIELDS, nf);
            rc = -1;
            break;
        }
        int row = entity_id(path, rd.line, f[0], s->n_items, seen, "item", err, errlen);
        if (row < 0) {
            rc = -1;
            break;
        }
        double *x = s->item_x + (size_t)row * dim;
        for (int g = 0; g < ML_GENRES; g++) {
            const char *v = f[5 + g];
            if (strcmp(v, "0") && strcmp(v, "1")) {
                snprintf(err, errlen, "%s:%ld: genre flag %d is '%s', not 0 or 1", path, rd.line,
                         g + 1, v);
                rc = -1;
                break;
            }
            x[g] = v[0] == '1';
        }
        if (rc)
            break;
        if (f[2][0]) {
            int y = parse_year(f[2]);
            if (y < 1800 || y > 2100) {
                snprintf(err, errlen, "%s:%ld: release date '%s' is not dd-Mon-yyyy", path, rd.line, f[2]);
                rc = -1;
                break;
            }
            x[ML_GENRES] = y;
            years[n_years++] = y;
        } else {
            x[ML_GENRES] = NAN;   /* filled with the median below */
        }
    }
    if (rc == 0 && got < 0)
        rc = -1;
    load_close(&rd);
    if (rc == 0) {
        double med = 0;
        if (n_years > 0) {
            gsl_sort(years, 1, (size_t)n_years);
            med = gsl_stats_median_from_sorted_data(years, 1, (size_t)n_years);
        }
        for (int row = 0; row < s->n_items; row++)
            if (isnan(s->item_x[(size_t)row * dim + ML_GENRES]))
                s->item_x[(size_t)row * dim + ML_GENRES] = med;
    }
    free(seen);
    free(years);
    return rc;
}

/* Append the ratings of a u.data-format file with split code `code`. */
static int read_ratings(ml_state *s, const char *path, int8_t code, char *err, size_t errlen)
{
    load_reader rd;
    if (load_open(&rd, path, err, errlen) != 0)
        return -1;
    int got, rc = 0;
    while (rc == 0 && (got = load_next(&rd, err, errlen)) == 1) {
        if (!rd.buf[0])
            continue;
        char *f[4];
        int nf = load_split_fields(rd.buf, '\t', f, 4);
        if (nf != 4) {
            snprintf(err, errlen, "%s:%ld: expected 4 tab-separated fields "
                     "(user, item, rating, timestamp), found %d%s", path, rd.line, nf,
                     rd.had_newline ? "" : " (truncated line)");
            rc = -1;
            break;
        }
        int u = entity_id(path, rd.line, f[0], s->n_users, NULL, "user", err, errlen);
        int i = u < 0 ? -1 : entity_id(path, rd.line, f[1], s->n_items, NULL, "item", err, errlen);
        if (u < 0 || i < 0) {
            rc = -1;
            break;
        }
        long r, ts;
        if (load_parse_long(f[2], &r) != 0 || r < 1 || r > 5) {
            snprintf(err, errlen, "%s:%ld: rating '%s' is not an integer in 1..5", path, rd.line, f[2]);
            rc = -1;
            break;
        }
        if (load_parse_long(f[3], &ts) != 0) {
            snprintf(err, errlen, "%s:%ld: timestamp '%s' is not an integer", path, rd.line, f[3]);
            rc = -1;
            break;
        }
        if (s->n == s->cap) {
            long cap = s->cap ? 2 * s->cap : 1 << 16;
            int32_t *nu = realloc(s->u, (size_t)cap * sizeof *nu);
            if (nu)
                s->u = nu;
            int32_t *ni = realloc(s->i, (size_t)cap * sizeof *ni);
            if (ni)
                s->i = ni;
            double *nr = realloc(s->r, (size_t)cap * sizeof *nr);
            if (nr)
                s->r = nr;
            double *nt = realloc(s->t, (size_t)cap * sizeof *nt);
            if (nt)
                s->t = nt;
            int8_t *nc = realloc(s->code, (size_t)cap * sizeof *nc);
            if (nc)
                s->code = nc;
            if (!nu || !ni || !nr || !nt || !nc) {
                snprintf(err, errlen, "%s: out of memory", path);
                rc = -1;
                break;
            }
            s->cap = cap;
        }
        s->u[s->n] = u;
        s->i[s->n] = i;
        s->r[s->n] = (double)r;
        s->t[s->n] = (double)ts;
        s->code[s->n] = code;
        s->n++;
    }
    if (rc == 0 && got < 0)
        rc = -1;
    load_close(&rd);
    return rc;
}

static int valid_fold(const char *fold)
{
    static const char *const folds[] = {"u1", "u2", "u3", "u4", "u5", "ua", "ub", "all", NULL};
    for (int k = 0; folds[k]; k++)
        if (strcmp(fold, folds[k]) == 0)
            return 1;
    return 0;
}

/* topt != NULL: split = temporal / leave_last over u.data (fold, split, fractions and seed
 * unused). */
static int ml_load(const char *dir, const char *fold, const char *split, double valid_fraction,
                   double cold_user_fraction, const load_time_opts *topt, uint64_t seed,
                   ds_data *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    gsl_set_error_handler_off();   /* GSL failures are return values here, never abort() */
    int cold = 0;
    if (topt) {
        if (load_time_opts_check(topt, err, errlen) != 0)
            return -1;
        fold = "all";
        valid_fraction = 0;
    } else if (split && strcmp(split, "cold_users") == 0) {
        cold = 1;
        if (!(cold_user_fraction > 0 && cold_user_fraction < 1)) {
            snprintf(err, errlen, "movielens: cold_user_fraction must be in (0, 1), got %g",
                     cold_user_fraction);
            return -1;
        }
    } else if (!split || strcmp(split, "fold") != 0) {
        snprintf(err, errlen, "movielens: split '%s' is not one of fold, cold_users",
                 split ? split : "(null)");
        return -1;
    }
    if (!cold && (!fold || !valid_fold(fold))) {
        snprintf(err, errlen, "movielens: fold '%s' is not one of u1..u5, ua, ub, all",
                 fold ? fold : "(null)");
        return -1;
    }
    if (!(valid_fraction >= 0 && valid_fraction < 1)) {
        snprintf(err, errlen, "movielens: valid_fraction must be in [0, 1), got %g", valid_fraction);
        return -1;
    }
    ml_state s = {0};
    char path[4096], name[64];
    int rc = 0;
    join(path, sizeof path, dir, "u.occupation");
    rc = read_occupations(&s, path, err, errlen);
    if (rc == 0) {
        join(path, sizeof path, dir, "u.user");
        rc = read_users(&s, path, err, errlen);
    }
    if (rc == 0) {
        join(path, sizeof path, dir, "u.item");
        rc = read_items(&s, path, err, errlen);
    }
    if (rc == 0) {
        if (cold || strcmp(fold, "all") == 0) {
            join(path, sizeof path, dir, "u.data");
            rc = read_ratings(&s, path, 0, err, errlen);
        } else {
            snprintf(name, sizeof name, "%s.base", fold);
            join(path, sizeof path, dir, name);
            rc = read_ratings(&s, path, 0, err, errlen);
            if (rc == 0) {
                snprintf(name, sizeof name, "%s.test", fold);
                join(path, sizeof path, dir, name);
                rc = read_ratings(&s, path, 2, err, errlen);
            }
        }
    }
    gsl_rng *rng = NULL;
    if (rc == 0) {
        rng = gsl_rng_alloc(gsl_rng_mt19937);
        if (!rng) {
            snprintf(err, errlen, "movielens: out of memory");
            rc = -1;
        } else {
            gsl_rng_set(rng, (unsigned long)seed);
        }
    }
    if (rc == 0 && cold) {
        /* pick the cold users, then move all their ratings to test_cold (code 3) */
        int8_t *ucode = calloc((size_t)s.n_users, sizeof *ucode);
        long n_cold = (long)floor(cold_user_fraction * s.n_users + 0.5);
        if (!ucode || load_pick(s.n_users, ucode, 0, 1, n_cold, rng) != 0) {
            snprintf(err, errlen, "movielens: out of memory");
            rc = -1;
        } else {
            for (long t = 0; t < s.n; t++)
                if (ucode[s.u[t]])
                    s.code[t] = 3;
        }
        free(ucode);
    }
    if (rc == 0 && topt && load_time_codes(s.n, s.u, s.t, topt, s.code) != 0) {
        snprintf(err, errlen, "movielens: out of memory");
        rc = -1;
    }
    if (rc == 0) {
        long n_base = 0;
        for (long t = 0; t < s.n; t++)
            n_base += s.code[t] == 0;
        long n_valid = (long)floor(valid_fraction * n_base + 0.5);
        if (load_pick(s.n, s.code, 0, 1, n_valid, rng) != 0 ||
            load_fill_splits(s.n, s.code, s.u, s.i, s.r, s.t, out) != 0) {
            snprintf(err, errlen, "movielens: out of memory");
            rc = -1;
        }
    }
    gsl_rng_free(rng);
    if (rc == 0) {
        out->n_users = s.n_users;
        out->n_items = s.n_items;
        out->user_dim = 2 + s.n_occ;
        out->item_dim = ML_GENRES + 1;
        out->user_x = s.user_x;
        out->item_x = s.item_x;
        s.user_x = s.item_x = NULL;
        out->synthetic = 0;
        out->rating_min = 1;
        out->rating_max = 5;
    } else {
        ds_free(out);
    }
    ml_free(&s);
    return rc;
}

int load_movielens100k(const char *dir, const char *fold, const char *split, double valid_fraction,
                       double cold_user_fraction, uint64_t seed, ds_data *out, char *err,
                       size_t errlen)
{
    return ml_load(dir, fold, split, valid_fraction, cold_user_fraction, NULL, seed, out, err,
                   errlen);
}

int load_movielens100k_by_time(const char *dir, const load_time_opts *opts, ds_data *out,
                               char *err, size_t errlen)
{
    return ml_load(dir, "all", "fold", 0, 0, opts, 0, out, err, errlen);
}
