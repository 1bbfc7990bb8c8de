/* synth_time.c — interaction times of the synthetic pairs and the time-aware protocols
 * (temporal, leave_last) that reassign train / valid / test_warm by time (see synth.h).
 *
 * Times come from their own stream (SYNTH_STREAM_TIME), drawn after everything else, so the
 * pairs, ratings and oracle values of a seed are those of a generator without times. */
#include "synth.h"
#include <gsl/gsl_randist.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One pair of the pooled splits: split s (0 train, 1 valid, 2 test_warm, 3 test_cold), row k. */
typedef struct {
    int8_t s;
    long k;
} pair_ref;

static synth_split *split_of(synth_dataset *ds, int s)
{
    return s == 0 ? &ds->train : s == 1 ? &ds->valid : s == 2 ? &ds->test_warm : &ds->test_cold;
}

int synth_assign_times(synth_dataset *ds, char *err, size_t errlen)
{
    long nu = (long)ds->n_users + ds->n_cold_users;
    long total = 0;
    for (int s = 0; s < 4; s++)
        total += split_of(ds, s)->n;
    double *start = malloc((size_t)(nu > 0 ? nu : 1) * sizeof *start);
    long *first = calloc((size_t)nu + 1, sizeof *first);
    long *fill = calloc((size_t)nu + 1, sizeof *fill);
    pair_ref *ref = malloc((size_t)(total > 0 ? total : 1) * sizeof *ref);
    gsl_rng *r = synth_rng_new(ds->params.seed, SYNTH_STREAM_TIME);
    int rc = -1;
    if (!start || !first || !fill || !ref || !r)
        goto done;
    for (int s = 0; s < 4; s++) {
        synth_split *sp = split_of(ds, s);
        if (!sp->time && !(sp->time = malloc((size_t)(sp->n > 0 ? sp->n : 1) * sizeof *sp->time)))
            goto done;
        for (long k = 0; k < sp->n; k++)
            first[sp->user[k] + 1]++;
    }
    for (long u = 0; u < nu; u++)
        first[u + 1] += first[u];
    /* canonical order within a user: train, valid, test_warm, test_cold, each in split order */
    for (int s = 0; s < 4; s++) {
        synth_split *sp = split_of(ds, s);
        for (long k = 0; k < sp->n; k++) {
            int32_t u = sp->user[k];
            ref[first[u] + fill[u]++] = (pair_ref){.s = (int8_t)s, .k = k};
        }
    }
    for (long u = 0; u < nu; u++)
        start[u] = gsl_rng_uniform(r);
    double mean_gap = 1.0 / ds->params.obs_per_user;
    for (long u = 0; u < nu; u++) {
        long n = first[u + 1] - first[u];
        if (n > 1)
            gsl_ran_shuffle(r, ref + first[u], (size_t)n, sizeof *ref);
        double t = start[u];
        for (long q = 0; q < n; q++) {
            t += gsl_ran_exponential(r, mean_gap);
            pair_ref p = ref[first[u] + q];
            split_of(ds, p.s)->time[p.k] = t;
        }
    }
    rc = 0;
done:
    if (rc != 0)
        snprintf(err, errlen, "synth: out of memory (interaction times)");
    gsl_rng_free(r);
    free(start);
    free(first);
    free(fill);
    free(ref);
    return rc;
}

/* ---------------------------------------------------------------- protocols */

typedef struct {
    const int32_t *user, *item;
    const double *time;
    int by_user;          /* 1: user first (leave_last), 0: time first (temporal) */
} pool_ctx;

static int cmp_pool(const void *a, const void *b, void *ctx)
{
    const pool_ctx *c = ctx;
    long x = *(const long *)a, y = *(const long *)b;
    if (c->by_user && c->user[x] != c->user[y])
        return c->user[x] < c->user[y] ? -1 : 1;
    if (c->time[x] != c->time[y])
        return c->time[x] < c->time[y] ? -1 : 1;
    if (c->user[x] != c->user[y])
        return c->user[x] < c->user[y] ? -1 : 1;
    if (c->item[x] != c->item[y])
        return c->item[x] < c->item[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static void free_split(synth_split *s)
{
    free(s->user);
    free(s->item);
    free(s->rating);
    free(s->oracle);
    free(s->time);
    memset(s, 0, sizeof *s);
}

int synth_apply_protocol(synth_dataset *ds, char *err, size_t errlen)
{
    const synth_params *p = &ds->params;
    if (p->protocol == SYNTH_PROTOCOL_RANDOM)
        return 0;
    synth_split *old[3] = {&ds->train, &ds->valid, &ds->test_warm};
    long n = 0;
    for (int s = 0; s < 3; s++) {
        if (!old[s]->time) {
            snprintf(err, errlen, "synth: protocol needs interaction times");
            return -1;
        }
        n += old[s]->n;
    }
    /* the pool: train, valid, test_warm concatenated */
    synth_split pool = {0}, out[3];
    memset(out, 0, sizeof out);
    size_t m = (size_t)(n > 0 ? n : 1);
    pool.user = malloc(m * sizeof *pool.user);
    pool.item = malloc(m * sizeof *pool.item);
    pool.rating = malloc(m * sizeof *pool.rating);
    pool.oracle = malloc(m * sizeof *pool.oracle);
    pool.time = malloc(m * sizeof *pool.time);
    long *order = malloc(m * sizeof *order);
    int8_t *code = malloc(m);
    int rc = -1;
    if (!pool.user || !pool.item || !pool.rating || !pool.oracle || !pool.time || !order || !code)
        goto done;
    long at = 0;
    for (int s = 0; s < 3; s++) {
        synth_split *o = old[s];
        memcpy(pool.user + at, o->user, (size_t)o->n * sizeof *pool.user);
        memcpy(pool.item + at, o->item, (size_t)o->n * sizeof *pool.item);
        memcpy(pool.rating + at, o->rating, (size_t)o->n * sizeof *pool.rating);
        memcpy(pool.oracle + at, o->oracle, (size_t)o->n * sizeof *pool.oracle);
        memcpy(pool.time + at, o->time, (size_t)o->n * sizeof *pool.time);
        at += o->n;
    }
    for (long j = 0; j < n; j++)
        order[j] = j;
    pool_ctx c = {.user = pool.user, .item = pool.item, .time = pool.time,
                  .by_user = p->protocol == SYNTH_PROTOCOL_LEAVE_LAST};
    qsort_r(order, (size_t)n, sizeof *order, cmp_pool, &c);
    if (p->protocol == SYNTH_PROTOCOL_TEMPORAL) {
        /* the sizes of random: earliest n_train train, then n_valid valid, the rest test_warm */
        long n_train = old[0]->n, n_valid = old[1]->n;
        for (long q = 0; q < n; q++)
            code[q] = q < n_train ? 0 : q < n_train + n_valid ? 1 : 2;
    } else {
        long k = p->leave_last_k;
        for (long a = 0; a < n;) {
            long b = a + 1;
            while (b < n && pool.user[order[b]] == pool.user[order[a]])
                b++;
            long nu = b - a;
            long nt = nu - 1 < k ? nu - 1 : k;
            long nv = nu - 1 - nt < k ? nu - 1 - nt : k;
            for (long q = a; q < b; q++)
                code[q] = q >= b - nt ? 2 : q >= b - nt - nv ? 1 : 0;
            a = b;
        }
    }
    long cnt[3] = {0, 0, 0};
    for (long q = 0; q < n; q++)
        cnt[code[q]]++;
    for (int s = 0; s < 3; s++) {
        size_t ms = (size_t)(cnt[s] > 0 ? cnt[s] : 1);
        out[s].n = cnt[s];
        out[s].user = malloc(ms * sizeof *out[s].user);
        out[s].item = malloc(ms * sizeof *out[s].item);
        out[s].rating = malloc(ms * sizeof *out[s].rating);
        out[s].oracle = malloc(ms * sizeof *out[s].oracle);
        out[s].time = malloc(ms * sizeof *out[s].time);
        if (!out[s].user || !out[s].item || !out[s].rating || !out[s].oracle || !out[s].time)
            goto done;
    }
    /* each split in the pool's sorted order (temporal: time; leave_last: user, then time) */
    long fill[3] = {0, 0, 0};
    for (long q = 0; q < n; q++) {
        long j = order[q];
        synth_split *o = &out[code[q]];
        long k = fill[code[q]]++;
        o->user[k] = pool.user[j];
        o->item[k] = pool.item[j];
        o->rating[k] = pool.rating[j];
        o->oracle[k] = pool.oracle[j];
        o->time[k] = pool.time[j];
    }
    for (int s = 0; s < 3; s++) {
        free_split(old[s]);
        *old[s] = out[s];
        memset(&out[s], 0, sizeof out[s]);
    }
    rc = 0;
done:
    if (rc != 0)
        snprintf(err, errlen, "synth: out of memory (protocol)");
    for (int s = 0; s < 3; s++)
        free_split(&out[s]);
    free_split(&pool);
    free(order);
    free(code);
    return rc;
}
