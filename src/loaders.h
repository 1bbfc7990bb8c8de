/* loaders.h — real-data loaders (SPEC section 4, "Real data"): MovieLens 100K and a generic TSV.
 *
 * Both fill a ds_data (src/dataset.h): entity rows are 0-based, synthetic = 0, truth and
 * oracle arrays are NULL. Every malformed line gives -1 with err = "FILE:LINE: what is wrong"
 * (FILE as passed in / joined with dir); a missing file gives "FILE: cannot open: <strerror>".
 * On failure *out is left empty (all zero), on success the caller frees it with ds_free().
 * Random splits use a GSL mt19937 generator seeded with `seed` (same seed -> same split).
 *
 * Times: every split's time[] holds the interaction times when the data have them (MovieLens:
 * always, the u.data timestamp in seconds; TSV: when every data line has a numeric 4th field),
 * else time = NULL.
 * Splits by time (load_*_by_time, `split = temporal | leave_last`): the ratings are ordered by
 * time, ties broken by position in the file (line order; deterministic, no seed):
 *   temporal   global cut: the latest round(test_fraction * n) ratings are test_warm, the
 *              round(valid_fraction * n) before them valid, the rest train. So no test rating
 *              is earlier than any training rating.
 *   leave_last per user (ordered by time): the last min(k, n_u - 1) ratings are test_warm, the
 *              min(k, n_u - 1 - n_test) before them valid, the rest train (every user keeps at
 *              least one training rating; a user with one rating is train only).
 * test_cold is empty. Each split lists its ratings in file order.
 */
#ifndef LOADERS_H
#define LOADERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "dataset.h"

/* MovieLens 100K from the directory `dir` (u.data, u.user, u.item, u.occupation, uN.base/.test).
 *
 * Rows: user id u -> row u-1, item id i -> row i-1 (n_users, n_items = lines of u.user, u.item;
 * ids must be 1..count, each once). rating_min/max = 1/5.
 *
 * split = "fold": fold is u1..u5, ua, ub or "all". The fold's .base file is split at random into
 *   valid (round(valid_fraction * lines), seeded) and train (the rest, file order kept);
 *   test_warm = the fold's .test file; test_cold is empty. fold = "all": base = u.data and
 *   test_warm is empty.
 * split = "cold_users": round(cold_user_fraction * n_users) users (seeded) are held out entirely:
 *   all their ratings in u.data go to test_cold. The other ratings are split into train/valid as
 *   above; test_warm is empty. `fold` is ignored.
 *
 * Covariates, user (user_dim = 2 + number of occupations = 23):
 *   col 0 age in years (raw), col 1 gender (1 = F, 0 = M), cols 2.. occupation one-hot in the
 *   order of u.occupation.
 * Covariates, item (item_dim = 20): cols 0..18 the 19 genre flags of u.item (in file order,
 *   "unknown" first), col 19 release year (from the release date dd-Mon-yyyy; an item with no
 *   date gets the median year of the dated items, so the table is NaN-free).
 * valid_fraction in [0, 1); cold_user_fraction in (0, 1) for split = "cold_users". */
int load_movielens100k(const char *dir, const char *fold, const char *split, double valid_fraction,
                       double cold_user_fraction, uint64_t seed, ds_data *out, char *err,
                       size_t errlen);

/* Generic ratings TSV.
 *
 * ratings: lines "user \t item \t rating [\t timestamp]" (the optional 4th field is the time of
 *   the rating, any finite number, e.g. Unix seconds; see "Times" above);
 *   empty lines and lines starting with '#' are skipped. Ids are arbitrary strings (e.g.
 *   non-negative integers), mapped to rows in order of first appearance (users and items
 *   separately). Ratings must be finite numbers. rating_min/max = the smallest and largest
 *   rating in the file (not a fixed 1..5 scale: a TSV may use any scale).
 * user_features / item_features: optional (NULL = no covariates): lines "id \t f1 \t f2 ...",
 *   the same number of columns on every line, finite numbers only, each id at most once.
 *   Every user (item) of the ratings must have a line; ids that occur only in the feature file
 *   become extra rows after the rated ones (entities with covariates but no ratings).
 * Split: the ratings are shuffled (seeded); round(test_fraction * n) go to test_warm,
 *   round(valid_fraction * n) to valid, the rest to train (each in file order); test_cold is
 *   empty. valid_fraction + test_fraction < 1. */
int load_tsv(const char *ratings, const char *user_features, const char *item_features,
             double valid_fraction, double test_fraction, uint64_t seed, ds_data *out,
             char *err, size_t errlen);
/* The same file formats with split = cold_users, as load_movielens100k does it:
 * round(cold_user_fraction * U) of the U users that have ratings (seeded) are held out
 * entirely: all their ratings go to test_cold, none to train or valid. Of the other ratings,
 * round(valid_fraction * n) go to valid, the rest to train; test_warm is empty.
 * cold_user_fraction in (0, 1), and it must hold out at least one user and keep one. */
int load_tsv_cold_users(const char *ratings, const char *user_features, const char *item_features,
                        double valid_fraction, double cold_user_fraction, uint64_t seed,
                        ds_data *out, char *err, size_t errlen);

/* The time-aware splits (see the top of this file). */
typedef enum { LOAD_TEMPORAL = 1, LOAD_LEAVE_LAST = 2 } load_time_kind;
typedef struct {
    load_time_kind kind;
    double valid_fraction, test_fraction;   /* temporal: valid >= 0, test > 0, sum < 1 */
    int k;                                  /* leave_last: >= 1 */
} load_time_opts;
/* MovieLens 100K (u.data, all ratings) split by time; the other files as load_movielens100k. */
int load_movielens100k_by_time(const char *dir, const load_time_opts *opts, ds_data *out,
                               char *err, size_t errlen);
/* A ratings TSV with a timestamp on every line (4th field; else -1 naming the first line
 * without one), split by time. */
int load_tsv_by_time(const char *ratings, const char *user_features, const char *item_features,
                     const load_time_opts *opts, ds_data *out, char *err, size_t errlen);

/* ---- internal helpers shared by load_movielens.c and load_tsv.c (defined in load_tsv.c) ---- */

typedef struct {
    FILE *f;
    const char *path;
    long line;          /* 1-based number of the line in buf */
    char *buf;          /* current line, end-of-line characters stripped */
    size_t cap;
    int had_newline;    /* 0: the current line was the last one and had no '\n' */
} load_reader;

int load_open(load_reader *r, const char *path, char *err, size_t errlen);
/* 1: a line is in r->buf; 0: end of file; -1: read error (message in err). */
int load_next(load_reader *r, char *err, size_t errlen);
void load_close(load_reader *r);
/* Split s in place at sep; fills f[0..maxf-1]; returns the total number of fields. */
int load_split_fields(char *s, char sep, char **f, int maxf);
/* Strict parses of a whole field: 0 on success. */
int load_parse_long(const char *s, long *v);
int load_parse_double(const char *s, double *v);   /* finite values only */
/* Among the rows with code[r] == from, pick k at random (rng: a gsl_rng *) and set them to to. */
int load_pick(long n, int8_t *code, int8_t from, int8_t to, long k, void *rng);
/* Build out->train/valid/test_warm/test_cold from the triplets by code 0/1/2/3 (no oracle;
 * times t may be NULL: then the splits have none). */
int load_fill_splits(long n, const int8_t *code, const int32_t *u, const int32_t *i,
                     const double *r, const double *t, ds_data *out);
/* Codes 0/1/2 (train/valid/test_warm) of n ratings by time (opts: see the top of the file). */
int load_time_codes(long n, const int32_t *u, const double *t, const load_time_opts *opts,
                    int8_t *code);
/* Range and cross checks of opts: 0, or -1 with a message. */
int load_time_opts_check(const load_time_opts *opts, char *err, size_t errlen);

#endif
