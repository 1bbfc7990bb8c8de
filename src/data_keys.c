/* data_keys.c — the key tables of the [experiment] and [data] sections (types, ranges,
 * defaults, help). The synthetic knobs take their defaults from synth_params_default, so the
 * generator stays the one place where a default is decided. */
#include "config.h"
#include "estimator.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG 1e9

const param_spec cfg_experiment_keys[] = {
    {"name", PT_STRING, NULL, 0, 0, NULL, "experiment name (default: the config file's basename)"},
    {"seed", PT_INT, "1", 0, 9.2e18, NULL, "master seed: data and training seeds derive from it"},
    {"replicates", PT_INT, "1", 1, 100000, NULL, "independent repetitions of every cell"},
    {"output", PT_STRING, NULL, 0, 0, NULL, "results file (default: results/NAME.h5)"},
    {"description", PT_STRING, NULL, 0, 0, NULL, "free text"},
    {"max_memory", PT_REAL, "0", 0, 1e9, NULL,
     "GiB one cell may need, estimated at load time from the keys (dataset, and the network "
     "of methods that say); a larger cell is refused. 0 = 80% of physical memory"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

#define SOURCE_KEY {"source", PT_ENUM, "synthetic", 0, 0, "synthetic|movielens100k|tsv", \
                    "where the ratings come from"}
#define END_KEY {NULL, 0, NULL, 0, 0, NULL, NULL}

/* The synthetic knobs; defaults (NULL here) are filled from synth_params_default. Order
 * follows synth_params. */
enum { NSYNTH = 27 };
/* Keys of every source: how the ranking metrics weigh popular items (metrics.h). */
#define POP_GAMMA_KEY {"pop_gamma", PT_REAL, "0.5", 0, 10, NULL, \
                       "pop_* metrics: relevant item i weighs pop(i)^-gamma (0 = plain metric)"}
/* The k-shot user protocol (kshot.h): fresh users reveal their earliest K pairs. */
#define KSHOT_KEY {"kshot", PT_INT, "-1", -1, 1000000, NULL, \
                   "k-shot protocol: each fresh user's earliest K pairs are revealed (ds_data.reveal), " \
                   "the rest scored as test_cold; synthetic: fresh users x training items, needs " \
                   "cold_list_size >= K + 10; real data: needs split = cold_users; -1 = off"}
/* Room for the keys of other protocols goes after these. */
static param_spec synth_keys[NSYNTH + 4] = {
    SOURCE_KEY,
    {"n_obs", PT_INT, NULL, 1, BIG, NULL, "|Omega|: number of training pairs"},
    {"obs_per_user", PT_REAL, NULL, 1e-3, BIG, NULL, "n_users = ceil(n_obs / obs_per_user)"},
    {"obs_per_item", PT_REAL, NULL, 1e-3, BIG, NULL, "n_items = ceil(n_obs / obs_per_item)"},
    {"user_intrinsic_dim", PT_INT, NULL, 1, 64, NULL, "d_u: dimension of the user manifold"},
    {"item_intrinsic_dim", PT_INT, NULL, 1, 64, NULL, "d_i: dimension of the item manifold"},
    {"user_ambient_dim", PT_INT, NULL, 1, 1000000, NULL, "D_u: user covariate dimension"},
    {"item_ambient_dim", PT_INT, NULL, 1, 1000000, NULL, "D_i: item covariate dimension"},
    {"manifold", PT_ENUM, NULL, 0, 0, "linear|curved", "embedding of the latent points"},
    {"ambient_noise", PT_REAL, NULL, 0, 1e6, NULL, "tau: off-manifold noise sd"},
    {"truth", PT_ENUM, NULL, 0, 0, "lacunary|bumps|smooth", "the true rating function"},
    {"truth_levels", PT_INT, NULL, 1, 30, NULL, "J: levels of the rough truths"},
    {"beta", PT_REAL, NULL, 1e-6, 1000, NULL, "Hoelder smoothness of f*, g*"},
    {"truth_dim", PT_INT, NULL, 1, 4096, NULL, "p: dimension of the true embeddings"},
    {"noise", PT_REAL, NULL, 0, 1e6, NULL, "sigma: rating noise sd (Var R* = 1)"},
    {"noise_dist", PT_ENUM, NULL, 0, 0, "gaussian|student_t", "noise distribution"},
    {"noise_df", PT_REAL, NULL, 1e-6, 1e9, NULL, "student_t degrees of freedom (> 2)"},
    {"stars", PT_INT, NULL, 0, 1, NULL, "1: round observed ratings to 1..5 stars"},
    {"sampling", PT_ENUM, NULL, 0, 0, "uniform|popularity|mnar", "which pairs are observed"},
    {"zipf_s", PT_REAL, NULL, 0, 100, NULL, "popularity: Zipf exponent of item draws"},
    {"mnar_strength", PT_REAL, NULL, -1000, 1000, NULL, "mnar: P(observe) = logistic(s R*)"},
    {"test_cold_pairs", PT_INT, NULL, 0, BIG, NULL, "pairs of fresh users x fresh items"},
    {"test_warm_pairs", PT_INT, NULL, 0, BIG, NULL, "unseen pairs of training entities"},
    {"valid_fraction", PT_REAL, NULL, 0, 1, NULL, "valid pairs = ceil(fraction * n_obs)"},
    {"cold_list_size", PT_INT, NULL, 1, BIG, NULL, "candidate items per cold user (ranking)"},
    {"protocol", PT_ENUM, NULL, 0, 0, "random|temporal|leave_last",
     "train/valid/test_warm: as drawn, a global cut by time, or each user's last pairs"},
    {"leave_last_k", PT_INT, NULL, 1, 1000000, NULL,
     "protocol = leave_last: each user's last k pairs are test_warm, the k before valid"},
    {"user_drift", PT_REAL, NULL, 0, 1e6, NULL,
     "s: each user's latent point drifts as a reflected Brownian motion s W(t) over the user's "
     "timeline; ratings and oracle use z_u at the pair's time (docs/theory.md); 0 = none"},
    POP_GAMMA_KEY,
    KSHOT_KEY,
    END_KEY,
};

/* split = temporal / leave_last (real data). The ranges keep valid + test < 1. */
#define TIME_KEYS                                                                                 \
    {"temporal_valid", PT_REAL, "0.2", 0, 0.49, NULL,                                            \
     "split = temporal: fraction of ratings (by time, before the test ones) held out as valid"}, \
    {"temporal_test", PT_REAL, "0.2", 0.001, 0.5, NULL,                                          \
     "split = temporal: fraction of ratings (the latest) held out as test"},                     \
    {"leave_last_k", PT_INT, "1", 1, 1000000, NULL,                                               \
     "split = leave_last: each user's last k ratings are test, the k before valid"}

static const param_spec movielens_keys[] = {
    SOURCE_KEY,
    {"path", PT_STRING, "data/ml-100k", 0, 0, NULL, "directory holding u.data, u.user, u.item"},
    {"fold", PT_ENUM, "u1", 0, 0, "u1|u2|u3|u4|u5|ua|ub", "MovieLens train/test split"},
    {"split", PT_ENUM, "fold", 0, 0, "fold|cold_users|temporal|leave_last",
     "fold: the fold's test file; cold_users: hold out whole users; temporal: global cut by "
     "time of u.data; leave_last: each user's last ratings"},
    {"cold_user_fraction", PT_REAL, "0.2", 0, 1, NULL, "split = cold_users: users held out"},
    {"valid_fraction", PT_REAL, "0.1", 0, 1, NULL, "training ratings held out for early stopping"},
    {"relevance_threshold", PT_REAL, "4", -1e300, 1e300, NULL,
     "ranking metrics: a test rating >= this is relevant (4 on the 1..5 scale)"},
    TIME_KEYS,
    POP_GAMMA_KEY,
    KSHOT_KEY,
    END_KEY,
};

static const param_spec tsv_keys[] = {
    SOURCE_KEY,
    {"ratings", PT_STRING, NULL, 0, 0, NULL, "TSV of user, item, rating triplets (required)"},
    {"user_features", PT_STRING, NULL, 0, 0, NULL, "TSV of user id then covariates (optional)"},
    {"item_features", PT_STRING, NULL, 0, 0, NULL, "TSV of item id then covariates (optional)"},
    {"split", PT_ENUM, "fold", 0, 0, "fold|cold_users|temporal|leave_last",
     "fold: random test pairs; cold_users: hold out whole users; temporal: global cut by "
     "time (needs the timestamp column); leave_last: each user's last ratings"},
    {"cold_user_fraction", PT_REAL, "0.2", 0, 1, NULL, "split = cold_users: users held out"},
    {"test_fraction", PT_REAL, "0.2", 0, 1, NULL, "split = fold: ratings held out for test"},
    {"valid_fraction", PT_REAL, "0.1", 0, 1, NULL, "training ratings held out for early stopping"},
    {"relevance_threshold", PT_REAL, "4", -1e300, 1e300, NULL,
     "ranking metrics: a test rating >= this is relevant (4 on the 1..5 scale)"},
    TIME_KEYS,
    POP_GAMMA_KEY,
    KSHOT_KEY,
    END_KEY,
};

static param_spec all_keys[64];
static char synth_defaults[NSYNTH][48];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* Shortest text that reads back to the same double. */
static void real_text(char *buf, size_t n, double x)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

static const char *enum_text(const char *choices, int k, char *buf, size_t n)
{
    const char *p = choices;
    for (int j = 0; j < k && p; j++) {
        p = strchr(p, '|');
        if (p)
            p++;
    }
    if (!p)
        p = "";
    size_t l = strcspn(p, "|");
    snprintf(buf, n, "%.*s", (int)(l < n ? l : n - 1), p);
    return buf;
}

static void build_tables(void)
{
    synth_params p;
    synth_params_default(&p);
    char(*d)[48] = synth_defaults;
    int k = 0;
#define SETI(v) snprintf(d[k], sizeof d[k], "%ld", (long)(v)), synth_keys[k + 1].def = d[k], k++
#define SETR(v) real_text(d[k], sizeof d[k], (v)), synth_keys[k + 1].def = d[k], k++
#define SETE(v) enum_text(synth_keys[k + 1].choices, (int)(v), d[k], sizeof d[k]), \
                synth_keys[k + 1].def = d[k], k++
    SETI(p.n_obs);
    SETR(p.obs_per_user);
    SETR(p.obs_per_item);
    SETI(p.user_intrinsic_dim);
    SETI(p.item_intrinsic_dim);
    SETI(p.user_ambient_dim);
    SETI(p.item_ambient_dim);
    SETE(p.manifold);
    SETR(p.ambient_noise);
    SETE(p.truth);
    SETI(p.truth_levels);
    SETR(p.beta);
    SETI(p.truth_dim);
    SETR(p.noise);
    SETE(p.noise_dist);
    SETR(p.noise_df);
    SETI(p.stars);
    SETE(p.sampling);
    SETR(p.zipf_s);
    SETR(p.mnar_strength);
    SETI(p.test_cold_pairs);
    SETI(p.test_warm_pairs);
    SETR(p.valid_fraction);
    SETI(p.cold_list_size);
    SETE(p.protocol);
    SETI(p.leave_last_k);
    SETR(p.user_drift);
#undef SETI
#undef SETR
#undef SETE
    /* the union, each name once */
    int n = 0;
    const param_spec *tabs[] = {synth_keys, movielens_keys, tsv_keys};
    for (int t = 0; t < 3; t++)
        for (const param_spec *s = tabs[t]; s->name; s++)
            if (!param_find(all_keys, s->name) && n + 1 < (int)(sizeof all_keys / sizeof *all_keys))
                all_keys[n++] = *s;
    all_keys[n].name = NULL;
}

const param_spec *cfg_data_keys(const char *source)
{
    pthread_once(&tables_once, build_tables);
    if (!source || strcmp(source, "synthetic") == 0)
        return synth_keys;
    if (strcmp(source, "movielens100k") == 0)
        return movielens_keys;
    if (strcmp(source, "tsv") == 0)
        return tsv_keys;
    return NULL;
}

const param_spec *cfg_data_keys_all(void)
{
    pthread_once(&tables_once, build_tables);
    return all_keys;
}

const char *cfg_data_key_sources(const char *key)
{
    pthread_once(&tables_once, build_tables);
    int s = param_find(synth_keys, key) != NULL, m = param_find(movielens_keys, key) != NULL,
        t = param_find(tsv_keys, key) != NULL;
    if (s && m && t)
        return "synthetic, movielens100k, tsv";
    if (s && (m || t))
        return m ? "synthetic, movielens100k" : "synthetic, tsv";
    if (m && t)
        return "movielens100k, tsv";
    return s ? "synthetic" : m ? "movielens100k" : t ? "tsv" : NULL;
}

/* Keys that only act under another key's value. A key written in the config whose condition
 * holds in no cell of the sweep would be accepted and do nothing: the config check refuses it. */
static const cfg_key_condition synth_conditions[] = {
    {"noise_df", "noise_dist", "student_t"},
    {"zipf_s", "sampling", "popularity"},
    {"mnar_strength", "sampling", "mnar"},
    {"truth_levels", "truth", "lacunary|bumps"},
    {"leave_last_k", "protocol", "leave_last"},
    {NULL, NULL, NULL},
};
static const cfg_key_condition movielens_conditions[] = {
    {"cold_user_fraction", "split", "cold_users"},
    {"valid_fraction", "split", "fold|cold_users"},   /* temporal: temporal_valid */
    {"temporal_valid", "split", "temporal"},
    {"temporal_test", "split", "temporal"},
    {"leave_last_k", "split", "leave_last"},
    {"kshot", "split", "cold_users"},
    {NULL, NULL, NULL},
};
static const cfg_key_condition tsv_conditions[] = {
    {"cold_user_fraction", "split", "cold_users"},
    {"valid_fraction", "split", "fold|cold_users"},
    {"temporal_valid", "split", "temporal"},
    {"temporal_test", "split", "temporal"},
    {"leave_last_k", "split", "leave_last"},
    {"test_fraction", "split", "fold"},
    {"kshot", "split", "cold_users"},
    {NULL, NULL, NULL},
};

const cfg_key_condition *cfg_data_key_conditions(const char *source)
{
    if (!source || strcmp(source, "synthetic") == 0)
        return synth_conditions;
    if (strcmp(source, "movielens100k") == 0)
        return movielens_conditions;
    if (strcmp(source, "tsv") == 0)
        return tsv_conditions;
    return NULL;
}

/* Keys added after results files existed, with defaults that do what the code did before:
 * such a key joins a cell's key only when it is set away from its default, so the cells of
 * older results files keep their keys (and resume). "data.KEY" or "method.NAME.KEY". A key
 * added to an existing table from now on belongs here too; keys of new methods do not. */
static const char *const keyed_if_changed[] = {
    "data.pop_gamma", "data.kshot", "data.protocol", "data.leave_last_k", "data.user_drift",
    "data.temporal_valid", "data.temporal_test", NULL,
};

int cfg_keyed_if_changed(const char *method, const char *key)
{
    char full[256];
    if (method)
        snprintf(full, sizeof full, "method.%s.%s", method, key);
    else
        snprintf(full, sizeof full, "data.%s", key);
    for (int k = 0; keyed_if_changed[k]; k++)
        if (strcmp(keyed_if_changed[k], full) == 0)
            return 1;
    return 0;
}

/* A record written before such a key existed has no value for it, one written after has its
 * default: both describe the same cell. Reading gives the older record the default, so reports,
 * plots and compare group the two together (and export prints the value the code used). */
int cfg_fill_keyed_defaults(kvset *config)
{
    const char *source = kv_get(config, "data.source");
    const char *method = kv_get(config, "method");
    const param_spec *dtab = cfg_data_keys(source ? source : "synthetic");
    for (int k = 0; keyed_if_changed[k]; k++) {
        const char *full = keyed_if_changed[k], *name;
        const param_spec *table;
        char rkey[256];
        if (strncmp(full, "data.", 5) == 0) {
            table = dtab;
            name = full + 5;
            snprintf(rkey, sizeof rkey, "%s", full);
        } else {   /* method.NAME.KEY: the record says "method.KEY" */
            const char *dot = strchr(full + 7, '.');
            const est_method *m;
            if (!dot || !method || strlen(method) != (size_t)(dot - (full + 7)) ||
                strncmp(method, full + 7, strlen(method)) || !(m = est_find(method)))
                continue;
            table = m->params;
            name = dot + 1;
            snprintf(rkey, sizeof rkey, "method.%s", name);
        }
        const param_spec *p = table ? param_find(table, name) : NULL;
        char canon[256];
        if (!p || !p->def || kv_get(config, rkey) ||
            param_canonical(p, p->def, canon, sizeof canon) != 0)
            continue;
        if (kv_set(config, rkey, canon) != 0)
            return -1;
    }
    return 0;
}
