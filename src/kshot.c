/* kshot.c — the k-shot user protocol (see kshot.h). */
#include "kshot.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KSHOT_MIN_QUERIES 10   /* synthetic: cold_list_size >= K + this */

int kshot_check_synth(long K, const synth_params *p, const char **bad_key, char *msg, size_t n)
{
    if (K < 0)
        return 0;
    if (p->test_cold_pairs <= 0) {
        *bad_key = "kshot";
        snprintf(msg, n, "kshot = %ld needs fresh users: set test_cold_pairs > 0", K);
        return -1;
    }
    if ((long)p->cold_list_size < K + KSHOT_MIN_QUERIES) {
        *bad_key = "kshot";
        snprintf(msg, n, "kshot = %ld reveals %ld pairs of each fresh user's cold_list_size = %d: "
                 "set cold_list_size >= %ld (kshot + %d queries per user)", K, K,
                 p->cold_list_size, K + KSHOT_MIN_QUERIES, KSHOT_MIN_QUERIES);
        return -1;
    }
    if (p->cold_list_size > synth_n_items(p)) {
        *bad_key = "cold_list_size";
        snprintf(msg, n, "kshot draws cold_list_size = %d distinct training items per fresh user, "
                 "but there are %d training items", p->cold_list_size, synth_n_items(p));
        return -1;
    }
    return 0;
}

static int alloc_split(ds_split *s, long n, int oracle, int time)
{
    if (ds_split_alloc(s, n, oracle) != 0)
        return -1;
    if (time && !(s->time = malloc((size_t)(n > 0 ? n : 1) * sizeof *s->time))) {
        ds_split_free(s);
        return -1;
    }
    return 0;
}

/* Synthetic: replace test_cold by cold_list_size pairs of each cold user with distinct training
 * items (kshot.h). */
static int redraw_synthetic(ds_data *d, const synth_params *p, char *err, size_t errlen)
{
    int n_tr_users = synth_n_users(p), n_tr_items = synth_n_items(p), L = p->cold_list_size;
    if (L > n_tr_items || n_tr_users > d->n_users || !d->truth) {
        snprintf(err, errlen, "kshot: cannot draw %d distinct training items per fresh user", L);
        return -1;
    }
    int n_cold = d->n_users - n_tr_users;
    ds_split s;
    long *stamp = calloc((size_t)n_tr_items, sizeof *stamp);
    gsl_rng *r = synth_rng_from_seed(synth_hash64(p->seed ^ 0x6b73686f74ULL));   /* "kshot" */
    if (!stamp || !r || alloc_split(&s, (long)n_cold * L, 1, 1) != 0) {
        free(stamp);
        if (r)
            gsl_rng_free(r);
        snprintf(err, errlen, "kshot: out of memory");
        return -1;
    }
    long q = 0;
    for (int c = 0; c < n_cold; c++) {
        int32_t u = (int32_t)(n_tr_users + c);
        for (int j = 0; j < L; j++) {
            int32_t i;
            do
                i = (int32_t)gsl_rng_uniform_int(r, (unsigned long)n_tr_items);
            while (stamp[i] == (long)c + 1);
            stamp[i] = (long)c + 1;
            double o = ds_oracle(d, u, i);
            s.user[q] = u;
            s.item[q] = i;
            s.oracle[q] = o;
            s.rating[q] = synth_observe(p, o - d->oracle_offset, synth_noise_draw(p, r));
            s.time[q] = j;
            q++;
        }
    }
    free(stamp);
    gsl_rng_free(r);
    ds_split_free(&d->test_cold);
    d->test_cold = s;
    return 0;
}

/* (time, row) order of test_cold rows */
static int by_time(const void *a, const void *b, void *ctx)
{
    const double *t = ctx;
    long x = *(const long *)a, y = *(const long *)b;
    if (t && t[x] != t[y])
        return t[x] < t[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static void copy_row(ds_split *dst, long to, const ds_split *src, long from)
{
    dst->user[to] = src->user[from];
    dst->item[to] = src->item[from];
    dst->rating[to] = src->rating[from];
    if (dst->oracle)
        dst->oracle[to] = src->oracle[from];
    if (dst->time)
        dst->time[to] = src->time[from];
}

int kshot_apply(ds_data *d, long K, const synth_params *p, char *err, size_t errlen)
{
    if (K < 0)
        return 0;
    if (d->test_cold.n <= 0) {
        snprintf(err, errlen, "kshot = %ld needs fresh users, but test_cold is empty (synthetic: "
                 "test_cold_pairs > 0; real data: split = cold_users)", K);
        return -1;
    }
    if (p && redraw_synthetic(d, p, err, errlen) != 0)
        return -1;
    ds_split *tc = &d->test_cold;
    int nu = d->n_users;
    long *off = calloc((size_t)nu + 1, sizeof *off), *idx = malloc((size_t)tc->n * sizeof *idx);
    long *fill = calloc((size_t)nu + 1, sizeof *fill);
    unsigned char *trained = calloc((size_t)nu + 1, 1);
    ds_split rev = {0}, qry = {0};
    int rc = -1;
    if (!off || !idx || !fill || !trained) {
        snprintf(err, errlen, "kshot: out of memory");
        goto out;
    }
    for (long k = 0; k < d->train.n; k++)
        if (d->train.user[k] >= 0 && d->train.user[k] < nu)
            trained[d->train.user[k]] = 1;
    for (long k = 0; k < tc->n; k++) {
        int32_t u = tc->user[k];
        if (u < 0 || u >= nu || trained[u]) {
            snprintf(err, errlen, "kshot: test_cold user %d is not a fresh user", (int)u);
            goto out;
        }
        off[u + 1]++;
    }
    for (int u = 0; u < nu; u++)
        off[u + 1] += off[u];
    for (long k = 0; k < tc->n; k++)
        idx[off[tc->user[k]] + fill[tc->user[k]]++] = k;
    long n_rev = 0, n_qry = 0;
    for (int u = 0; u < nu; u++) {
        long n = off[u + 1] - off[u];
        if (n > 1)
            qsort_r(idx + off[u], (size_t)n, sizeof *idx, by_time, tc->time);
        if (n > K) {
            n_rev += K;
            n_qry += n - K;
        }
    }
    if (n_qry == 0) {
        snprintf(err, errlen, "kshot = %ld leaves no query: no fresh user has more than %ld pairs",
                 K, K);
        goto out;
    }
    if (alloc_split(&rev, n_rev, tc->oracle != NULL, tc->time != NULL) != 0 ||
        alloc_split(&qry, n_qry, tc->oracle != NULL, tc->time != NULL) != 0) {
        snprintf(err, errlen, "kshot: out of memory");
        goto out;
    }
    long a = 0, b = 0;
    for (int u = 0; u < nu; u++) {
        long n = off[u + 1] - off[u];
        if (n <= K)
            continue;   /* no query left: out of the protocol */
        for (long j = 0; j < n; j++) {
            if (j < K)
                copy_row(&rev, a++, tc, idx[off[u] + j]);
            else
                copy_row(&qry, b++, tc, idx[off[u] + j]);
        }
    }
    ds_split_free(&d->reveal);
    ds_split_free(&d->test_cold);
    d->reveal = rev;
    d->test_cold = qry;
    memset(&rev, 0, sizeof rev);
    memset(&qry, 0, sizeof qry);
    rc = 0;
out:
    free(off);
    free(idx);
    free(fill);
    free(trained);
    ds_split_free(&rev);
    ds_split_free(&qry);
    return rc;
}
