/* cellrun.c — one cell: data -> fit -> metrics -> record (see cellrun.h). */
#include "cellrun.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "blas.h"
#include "estimator.h"
#include "kshot.h"
#include "loaders.h"
#include "memlimit.h"
#include "metrics.h"
#include "provenance.h"

void cellrun_cache_init(cellrun_cache *c)
{
    memset(c, 0, sizeof *c);
}

void cellrun_cache_free(cellrun_cache *c)
{
    if (c->have)
        ds_free(&c->data);
    free(c->data_key);
    memset(c, 0, sizeof *c);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int load_source(const cfg *c, const cfg_cell *cell, ds_data *d, char *err, size_t errlen)
{
    /* typed reads from the source's key table: the defaults live only there */
    const char *source = kv_get(&cell->data, "source");
    const param_spec *T = cfg_data_keys(source ? source : "synthetic");
    if (!T) {
        snprintf(err, errlen, "unknown data source '%s'", source);
        return -1;
    }
    source = param_str(T, &cell->data, "source");
    if (strcmp(source, "synthetic") == 0) {
        synth_params p;
        if (cfg_cell_synth_params(c, cell, &p, err, errlen) != 0)
            return -1;
        synth_dataset s;
        if (synth_generate(&p, &s, err, errlen) != 0)
            return -1;
        ds_from_synth(&s, d);
        synth_dataset_free(&s);
        d->pop_gamma = param_real(T, &cell->data, "pop_gamma");
        return 0;
    }
    double vf = param_real(T, &cell->data, "valid_fraction");
    double thr = param_real(T, &cell->data, "relevance_threshold");
    int rc, cold = strcmp(param_str(T, &cell->data, "split"), "cold_users") == 0;
    /* split = temporal / leave_last (issue 15): deterministic cuts by time, no seed */
    const char *split = param_str(T, &cell->data, "split");
    load_time_opts to = {.kind = strcmp(split, "temporal") == 0     ? LOAD_TEMPORAL
                                 : strcmp(split, "leave_last") == 0 ? LOAD_LEAVE_LAST : 0,
                         .valid_fraction = param_real(T, &cell->data, "temporal_valid"),
                         .test_fraction = param_real(T, &cell->data, "temporal_test"),
                         .k = (int)param_int(T, &cell->data, "leave_last_k")};
    if (to.kind) {
        if (strcmp(source, "movielens100k") == 0)
            rc = load_movielens100k_by_time(param_str(T, &cell->data, "path"), &to, d, err, errlen);
        else
            rc = load_tsv_by_time(param_str(T, &cell->data, "ratings"),
                                  kv_get(&cell->data, "user_features"),
                                  kv_get(&cell->data, "item_features"), &to, d, err, errlen);
        d->relevance_threshold = thr;
        d->pop_gamma = param_real(T, &cell->data, "pop_gamma");
        return rc;
    }
    if (strcmp(source, "movielens100k") == 0) {
        /* split = cold_users ignores the fold files; the fold name then picks one of several
         * independent random hold-outs of users (u1..u5: five), so a fold axis gives replicates */
        const char *fold = param_str(T, &cell->data, "fold");
        uint64_t seed = cell->data_seed;
        if (cold)
            for (const char *p = fold; *p; p++)
                seed = synth_hash64(seed ^ (unsigned char)*p);
        rc = load_movielens100k(param_str(T, &cell->data, "path"), fold,
                                param_str(T, &cell->data, "split"), vf,
                                param_real(T, &cell->data, "cold_user_fraction"), seed, d, err,
                                errlen);
        d->relevance_threshold = thr;
        d->pop_gamma = param_real(T, &cell->data, "pop_gamma");
        return rc;
    }
    /* tsv: the feature files are optional (no default in the table) */
    const char *ratings = param_str(T, &cell->data, "ratings");
    const char *uf = kv_get(&cell->data, "user_features"), *itf = kv_get(&cell->data, "item_features");
    if (cold)
        rc = load_tsv_cold_users(ratings, uf, itf, vf,
                                 param_real(T, &cell->data, "cold_user_fraction"),
                                 cell->data_seed, d, err, errlen);
    else
        rc = load_tsv(ratings, uf, itf, vf, param_real(T, &cell->data, "test_fraction"),
                      cell->data_seed, d, err, errlen);
    d->relevance_threshold = thr;
    d->pop_gamma = param_real(T, &cell->data, "pop_gamma");
    return rc;
}

/* The source's data, then the k-shot protocol (data key kshot, kshot.h) when it is on. */
int cellrun_load_data(const cfg *c, const cfg_cell *cell, ds_data *d, char *err, size_t errlen)
{
    if (load_source(c, cell, d, err, errlen) != 0)
        return -1;
    const char *source = kv_get(&cell->data, "source");
    int synthetic = !source || strcmp(source, "synthetic") == 0;
    long K = param_int(cfg_data_keys(synthetic ? "synthetic" : source), &cell->data, "kshot");
    synth_params p;
    if (K >= 0 && ((synthetic && cfg_cell_synth_params(c, cell, &p, err, errlen) != 0) ||
                   kshot_apply(d, K, synthetic ? &p : NULL, err, errlen) != 0)) {
        ds_free(d);
        return -1;
    }
    return 0;
}

char *cellrun_data_identity(const cfg_cell *cell)
{
    size_t len = 64;
    for (int k = 0; k < cell->data.n; k++)
        len += strlen(cell->data.key[k]) + strlen(cell->data.val[k]) + 2;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t at = (size_t)snprintf(s, len, "seed=%llu\n", (unsigned long long)cell->data_seed);
    for (int k = 0; k < cell->data.n; k++)
        at += (size_t)snprintf(s + at, len - at, "%s=%s\n", cell->data.key[k], cell->data.val[k]);
    return s;
}

static const ds_data *cached_data(const cfg *c, const cfg_cell *cell, cellrun_cache *cache,
                                  char *err, size_t errlen)
{
    char *id = cellrun_data_identity(cell);
    if (!id) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (cache->have && cache->data_key && strcmp(cache->data_key, id) == 0) {
        free(id);
        return &cache->data;
    }
    if (cache->have)
        ds_free(&cache->data);
    cache->have = 0;
    free(cache->data_key);
    cache->data_key = NULL;
    if (cellrun_load_data(c, cell, &cache->data, err, errlen) != 0) {
        free(id);
        return NULL;
    }
    cache->have = 1;
    cache->data_key = id;
    return &cache->data;
}

static void fail(cell_record *rec, const char *what, const char *why)
{
    snprintf(rec->status, sizeof rec->status, "failed");
    size_t n = strlen(what) + strlen(why) + 4;
    free(rec->reason);
    rec->reason = malloc(n);
    if (rec->reason)
        snprintf(rec->reason, n, "%s: %s", what, why);
}

/* Issue 19: before any BLAS call or big allocation of a cell, make sure OpenBLAS's work buffers
 * exist (blas_reserve: two threads call BLAS when a two-tower fit runs its towers in parallel,
 * else one; plus OpenBLAS's own threads when threaded BLAS may run) and that the cell's estimated memory (data + method, as at load time) fits in what
 * ulimit -v and the cgroup leave. 0 ok; -1 with the message. */
static int preflight(const cfg *c, const cfg_cell *cell, const est_method *m, int threads,
                     char *err, size_t errlen)
{
    int callers = threads >= 2 && strcmp(m->name, "twotower") == 0 ? 2 : 1;
    if (blas_reserve(callers, threads >= 2, err, errlen) != 0) {
        if (threads >= 2) {
            size_t at = strlen(err);
            snprintf(err + at, errlen - at, "; --threads 1 needs fewer");
        }
        return -1;
    }
    double need = 0;
    est_shape sh;
    memset(&sh, 0, sizeof sh);
    const char *source = kv_get(&cell->data, "source");
    synth_params p;
    if ((!source || strcmp(source, "synthetic") == 0) &&
        cfg_cell_synth_params(c, cell, &p, err, errlen) == 0) {
        need += synth_memory_bytes(&p);
        sh = (est_shape){.n_train = p.n_obs,
                         .n_users = synth_n_users(&p) + synth_n_cold_users(&p),
                         .n_items = synth_n_items(&p) + synth_n_cold_items(&p),
                         .user_dim = p.user_ambient_dim, .item_dim = p.item_ambient_dim};
    }
    err[0] = '\0';
    if (m->memory_bytes) {
        kvset params;
        if (kv_copy(&params, &cell->method_params) == 0) {
            for (int k = 0; k < cell->data.n; k++) {
                char name[160];
                snprintf(name, sizeof name, "data.%s", cell->data.key[k]);
                kv_set(&params, name, cell->data.val[k]);
            }
            need += m->memory_bytes(&params, &sh);
            kv_free(&params);
        }
    }
    return memlimit_check(need, need, "this cell (data and model, estimated)", err, errlen);
}

int cellrun_run(const cfg *c, const cfg_cell *cell, cellrun_cache *cache, int threads,
                cell_record *rec)
{
    char err[1024] = "";
    char when[40];
    memcpy(rec->key, cell->key, sizeof rec->key);
    rec->replicate = cell->replicate;
    rec->data_seed = cell->data_seed;
    rec->train_seed = cell->train_seed;
    kv_free(&rec->config);
    if (kv_copy(&rec->config, &cell->all) != 0)
        return -1;
    prov_collect(&rec->provenance);
    prov_now_iso(when, sizeof when);
    kv_set(&rec->provenance, "start_time", when);
    snprintf(rec->status, sizeof rec->status, "ok");
    free(rec->reason);
    rec->reason = strdup("");

    const est_method *m = est_find(cell->method);
    const ds_data *d = NULL;
    if (!m) {
        fail(rec, "config", "unknown method");
    } else if (preflight(c, cell, m, threads, err, sizeof err) != 0) {
        fail(rec, "memory", err);
    } else if (!(d = cached_data(c, cell, cache, err, sizeof err))) {
        fail(rec, "data", err);
    } else if (m->needs_truth && !d->synthetic) {
        fail(rec, "data", "this method needs synthetic data (the truth is unknown)");
    } else {
        /* The method sees its own keys plus the data keys it may need (twotower width = theory). */
        kvset params;
        if (kv_copy(&params, &cell->method_params) != 0)
            return -1;
        for (int k = 0; k < cell->data.n; k++) {
            char name[160];
            snprintf(name, sizeof name, "data.%s", cell->data.key[k]);
            kv_set(&params, name, cell->data.val[k]);
        }
        est_fit_ctx ctx = {.data = d, .params = &params, .seed = cell->train_seed,
                           .threads = threads, .curves = &rec->curves, .err = err,
                           .errlen = sizeof err};
        double t0 = now_seconds();
        void *model = m->train(&ctx);
        rec->fit_seconds = now_seconds() - t0;
        rec->epochs_run = rec->curves.epochs_run;
        if (!model) {
            fail(rec, "fit", err[0] ? err : "training failed");
        } else {
            rec->metrics.keep_per_user = 1;   /* per-user values of the ranking metrics */
            if (metrics_evaluate(m, model, d, &rec->metrics) != 0 ||
                (m->extra_metrics && m->extra_metrics(model, d, &rec->metrics) != 0)) {
                fail(rec, "metrics", "out of memory");
            } else {
                for (int k = 0; k < rec->metrics.n; k++)
                    if (!isfinite(rec->metrics.value[k])) {
                        char why[128];
                        snprintf(why, sizeof why, "%s is not finite (non-finite predictions)",
                                 rec->metrics.name[k]);
                        fail(rec, "metrics", why);
                        break;
                    }
            }
            m->free_model(model);
        }
        kv_free(&params);
    }
    prov_now_iso(when, sizeof when);
    kv_set(&rec->provenance, "end_time", when);
    return 0;
}
