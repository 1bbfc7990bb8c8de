/* est_twotower.c — the two-tower estimator (SPEC section 5): the training loop around nn.[ch].
 *
 * Model: R_hat(u, i) = mu + <f(x_u), g(x_i)>, f and g ReLU MLPs (nn_twotower), mu the mean
 * training rating (center = yes; 0 with center = no). Inputs are standardised per column with
 * the mean and sd of the covariates of the users (items) that appear in the training split.
 * Training: minibatches of `batch` pairs in an order shuffled every epoch by a GSL mt19937
 * seeded with ctx->seed (which also draws the initialisation: `init = torch`, PyTorch's default
 * nn.Linear scale, so the initial <f, g> is small; or `he`); in each batch every distinct
 * user and item goes through its tower once (gather, forward, scatter-add of the gradients).
 * Squared loss, AdamW (decoupled weight decay on weight matrices, not on biases; see adam.h).
 * After every epoch: valid RMSE and test_cold excess risk (synthetic data); early stopping on
 * valid RMSE with `patience` epochs (an improvement must exceed `min_delta`), keeping the best
 * weights (patience = 0: every epoch of the budget, still the best one kept). The epoch budget
 * is min(epochs, ceil(max_steps / steps per epoch)); `lr_schedule` = constant, cosine over that
 * budget, or plateau (halve after patience / 2 epochs without improvement). curves->stopped_by
 * says what ended the fit: patience, cap (the budget) or diverged. Why these defaults:
 * docs/theory.md, "Initialisation and training budget". A non-finite loss fails the fit with
 * "non-finite loss at epoch K".
 *
 * Schedules (`schedule`): how the epoch's minibatches are formed. The tower cost of a batch
 * scales with its DISTINCT users and items, not with its pairs, so
 *   pairs         pairs shuffled uniformly (the textbook algorithm; the default);
 *   user_grouped  users shuffled, each user's pairs kept together: a batch of B pairs holds
 *                 about B / obs_per_user distinct users, so the user tower runs on far fewer rows;
 *   alternating   per epoch, two phases (block coordinate descent, as in ALS): the embeddings G
 *                 of all training items are computed once and the user tower takes one pass over
 *                 the pairs grouped by user against the fixed G; then the embeddings F of all
 *                 training users are computed with the updated user tower and the item tower
 *                 takes one pass grouped by item against the fixed F. Each entity goes through
 *                 its tower about once per pass instead of once per observation. (Running both
 *                 passes at once from the same F, G, block-Jacobi style, oscillated.)
 * Every schedule takes ceil(n / batch) Adam steps per tower per epoch.
 *
 * Threads: ctx->threads >= 2 runs the user and the item tower on two threads (nn.h,
 * nn_twotower_set_threads) with OpenBLAS set to one thread for the fit (restored afterwards):
 * sgemm's own threading does not scale on these shapes. The numbers do not depend on the thread
 * count. The note of the curves ends with the seconds spent training and evaluating.
 *
 * width = theory: width = ceil(width_scale * n^(d / (2 beta + d))), capped by width_max, with
 * n = |train|, d = max(user, item intrinsic dim) and beta read from the keys
 * "data.user_intrinsic_dim", "data.item_intrinsic_dim" and "data.beta" that the runner adds to
 * the method's kvset (ctx->params); without them width = theory is an error.
 */
#include "blas.h"
#include "estimator.h"
#include "standardise.h"
#include "nn.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#define TT_MAX_IDS 50000   /* ids = yes: one-hot blocks up to this many entities per side */

static const param_spec tt_params[] = {
    {"depth", PT_INT, "3", 0, NN_MAX_DEPTH, NULL, "hidden ReLU layers per tower"},
    {"width", PT_INT_OR_THEORY, "128", 1, 65536, NULL,
     "hidden units per layer, or 'theory': ceil(width_scale * n^(d/(2 beta + d))) <= width_max"},
    {"width_scale", PT_REAL, "1.0", 1e-6, 1e6, NULL, "constant of the theory width schedule"},
    {"width_max", PT_INT, "1024", 1, 65536, NULL, "cap of the theory width schedule"},
    {"embed_dim", PT_INT, "8", 1, 4096, NULL, "output dimension p of each tower"},
    {"init", PT_ENUM, "torch", 0, 0, "torch|he",
     "torch: PyTorch's default nn.Linear init, U(+-1/sqrt(fan_in)) weights and biases; he: "
     "He-uniform weights U(+-sqrt(6/fan_in)), zero biases (makes <f, g> large at the start)"},
    {"lr", PT_REAL, "0.003", 1e-9, 1e9, NULL, "Adam learning rate (absurd values diverge: the cell is recorded failed)"},
    {"lr_schedule", PT_ENUM, "plateau", 0, 0, "constant|cosine|plateau",
     "constant; cosine: lr * (1 + cos(pi e / E)) / 2 at epoch e of the epoch budget E; plateau: "
     "lr halved after patience / 2 epochs without valid improvement (needs patience >= 2; "
     "without a valid split it runs as constant, said in the cell's note)"},
    {"batch", PT_INT, "256", 1, 1 << 20, NULL, "pairs per minibatch"},
    {"epochs", PT_INT, "1000", 1, 1000000, NULL, "largest epoch budget"},
    {"max_steps", PT_INT, "60000", 0, 1e15, NULL,
     "budget in Adam steps: the epoch budget is min(epochs, ceil(max_steps / steps per epoch)), "
     "so small n gets as many optimiser steps as large n (0 = epochs only)"},
    {"patience", PT_INT, "20", 0, 1000000, NULL,
     "stop after this many epochs without valid improvement (0 = never stop early); the best "
     "valid epoch's weights are kept either way"},
    {"min_delta", PT_REAL, "0", 0, 1e300, NULL, "smallest valid RMSE decrease that counts"},
    {"weight_decay", PT_REAL, "0", 0, 1e6, NULL,
     "decoupled (AdamW) weight decay on weight matrices, not biases"},
    {"center", PT_ENUM, "yes", 0, 0, "yes|no", "predict mean training rating + <f, g>"},
    {"schedule", PT_ENUM, "pairs", 0, 0, "pairs|user_grouped|alternating",
     "minibatch schedule: shuffled pairs, pairs grouped by user, or alternating user/item tower "
     "passes against the other side's fixed embeddings"},
    {"ids", PT_ENUM, "no", 0, 0, "no|yes",
     "append a one-hot id block to each tower's input (a learned offset per training user / "
     "item; all zero for entities unseen in training)"},
    {"max_batches", PT_INT, "0", 0, 1e15, NULL,
     "stop each epoch's pass after this many minibatches (0 = all; for benchmarks)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

enum { SCHED_PAIRS, SCHED_USER_GROUPED, SCHED_ALTERNATING };
enum { LR_CONSTANT, LR_COSINE, LR_PLATEAU };

/* The parsed keys of [method.twotower] (liblinear's `parameter`): filled once by tt_parse. */
typedef struct {
    int depth, width, width_theory, width_max, embed_dim, batch, epochs, patience;
    double width_scale, lr, min_delta, weight_decay;
    long max_steps, max_batches;
    int init_torch, lr_schedule, center, schedule, ids;
    const char *schedule_name, *lr_schedule_name;
} tt_param;

/* NULL when kv is valid (p filled), else a message and *bad_key. */
static const char *tt_parse(const kvset *kv, tt_param *p, const char **bad_key)
{
    static _Thread_local char msg[256];
    const char *bad = param_check_table(tt_params, kv, bad_key);
    if (bad)
        return bad;
    const param_spec *T = tt_params;
    p->depth = (int)param_int(T, kv, "depth");
    p->width_theory = strcmp(param_str(T, kv, "width"), "theory") == 0;
    p->width = p->width_theory ? 0 : (int)param_int(T, kv, "width");
    p->width_scale = param_real(T, kv, "width_scale");
    p->width_max = (int)param_int(T, kv, "width_max");
    p->embed_dim = (int)param_int(T, kv, "embed_dim");
    p->init_torch = strcmp(param_str(T, kv, "init"), "torch") == 0;
    p->lr = param_real(T, kv, "lr");
    p->lr_schedule_name = param_str(T, kv, "lr_schedule");
    p->lr_schedule = !strcmp(p->lr_schedule_name, "cosine")    ? LR_COSINE
                     : !strcmp(p->lr_schedule_name, "plateau") ? LR_PLATEAU
                                                               : LR_CONSTANT;
    p->batch = (int)param_int(T, kv, "batch");
    p->epochs = (int)param_int(T, kv, "epochs");
    p->max_steps = param_int(T, kv, "max_steps");
    p->patience = (int)param_int(T, kv, "patience");
    p->min_delta = param_real(T, kv, "min_delta");
    p->weight_decay = param_real(T, kv, "weight_decay");
    p->center = strcmp(param_str(T, kv, "center"), "yes") == 0;
    p->schedule_name = param_str(T, kv, "schedule");
    p->schedule = !strcmp(p->schedule_name, "user_grouped")  ? SCHED_USER_GROUPED
                  : !strcmp(p->schedule_name, "alternating") ? SCHED_ALTERNATING
                                                             : SCHED_PAIRS;
    p->ids = strcmp(param_str(T, kv, "ids"), "yes") == 0;
    p->max_batches = param_int(T, kv, "max_batches");
    if (p->lr * p->weight_decay >= 1.0) {
        *bad_key = "weight_decay";
        snprintf(msg, sizeof msg,
                 "lr * weight_decay = %g must be below 1 (decoupled decay multiplies weights by "
                 "1 - lr * weight_decay each step)", p->lr * p->weight_decay);
        return msg;
    }
    if (p->lr_schedule == LR_PLATEAU && p->patience < 2) {
        *bad_key = "lr_schedule";
        snprintf(msg, sizeof msg,
                 "lr_schedule = plateau (the default) halves the lr after patience / 2 epochs "
                 "without improvement and needs patience >= 2 (patience = %d); with patience = 0 "
                 "set lr_schedule = constant or cosine", p->patience);
        return msg;
    }
    return NULL;
}

static const char *tt_check_parameter(const kvset *params, const char **bad_key)
{
    tt_param p;
    return tt_parse(params, &p, bad_key);
}

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    nn_twotower *net;
    double mu;
    int du, di;                 /* tower input widths: covariates (+ id block) */
    int cu, ci;                 /* covariate columns */
    int ids;                    /* 1: one-hot id block of nid_u / nid_i columns after them */
    int nid_u, nid_i;
    unsigned char *seen_u, *seen_i;   /* ids: entity has training pairs */
    double *mean_u, *sd_u, *mean_i, *sd_i;
} tt_model;

static void tt_free(void *p)
{
    tt_model *m = p;
    if (!m)
        return;
    nn_twotower_free(m->net);
    free(m->seen_u);
    free(m->seen_i);
    free(m->mean_u);
    free(m->mean_i);
    free(m);
}

static void standardise_row(float *out, const double *x, const double *mean, const double *sd,
                            int dim)
{
    for (int c = 0; c < dim; c++)
        out[c] = (float)((x[c] - mean[c]) / sd[c]);
}

/* The tower input of entity `ent` of one side: its standardised covariates, then (ids = yes)
 * the one-hot id block, all zero for an entity without training pairs. */
static void make_input(const tt_model *m, int side, const double *x, int32_t ent, float *out)
{
    int c = side ? m->ci : m->cu;
    standardise_row(out, x + (size_t)ent * c, side ? m->mean_i : m->mean_u,
                    side ? m->sd_i : m->sd_u, c);
    if (!m->ids)
        return;
    int w = side ? m->nid_i : m->nid_u;
    const unsigned char *seen = side ? m->seen_i : m->seen_u;
    memset(out + c, 0, (size_t)w * sizeof *out);
    if (ent >= 0 && ent < w && seen[ent])
        out[c + ent] = 1.0f;
}

/* Embeddings of entities list[0..count) of one side, in chunks through the tower: row k goes to
 * E + k * P, or with table = 1 to E + list[k] * P (obuf then holds chunk * P floats). */
static void embed(const tt_model *m, int side, const double *x, const int32_t *list, long count,
                  float *E, int table, float *xbuf, float *s1, float *s2, float *obuf, int chunk)
{
    const nn_tower *t = &m->net->tower[side];
    int dim = side ? m->di : m->du, P = m->net->embed_dim;
    for (long s = 0; s < count; s += chunk) {
        int rows = (int)(count - s < chunk ? count - s : chunk);
        for (int r = 0; r < rows; r++)
            make_input(m, side, x, list[s + r], xbuf + (size_t)r * dim);
        if (!table) {
            nn_tower_infer(t, xbuf, rows, E + (size_t)s * P, s1, s2);
            continue;
        }
        nn_tower_infer(t, xbuf, rows, obuf, s1, s2);
        for (int r = 0; r < rows; r++)
            memcpy(E + (size_t)list[s + r] * P, obuf + (size_t)r * P, (size_t)P * sizeof *E);
    }
}

/* Embedding work split over the model's two threads (nn_twotower_run2): the users and items to
 * embed are laid end to end and cut in two halves of equal rows. */
#define EMB_CHUNK 1024
typedef struct {
    const tt_model *m;
    const ds_data *d;
    struct { int side; const int32_t *list; long count; float *E; } seg[2];
    int nseg, table;
    float *xbuf, *s1, *s2, *obuf;
} emb_job;

static void emb_run(void *p)
{
    emb_job *j = p;
    for (int k = 0; k < j->nseg; k++) {
        int side = j->seg[k].side;
        embed(j->m, side, side ? j->d->item_x : j->d->user_x, j->seg[k].list, j->seg[k].count,
              j->seg[k].E, j->table, j->xbuf, j->s1, j->s2, j->obuf, EMB_CHUNK);
    }
}

static int emb_scratch(emb_job *j, const tt_model *m)
{
    int maxd = m->net->tower[0].max_dim > m->net->tower[1].max_dim ? m->net->tower[0].max_dim
                                                                   : m->net->tower[1].max_dim;
    int xd = m->du > m->di ? m->du : m->di;
    j->xbuf = malloc((size_t)EMB_CHUNK * xd * sizeof(float));
    j->s1 = malloc((size_t)EMB_CHUNK * maxd * sizeof(float));
    j->s2 = malloc((size_t)EMB_CHUNK * maxd * sizeof(float));
    j->obuf = malloc((size_t)EMB_CHUNK * m->net->embed_dim * sizeof(float));
    return j->xbuf && j->s1 && j->s2 && j->obuf ? 0 : -1;
}

static void emb_free(emb_job *j)
{
    free(j->xbuf);
    free(j->s1);
    free(j->s2);
    free(j->obuf);
}

/* Embed users lu[0..nu) into Eu and items li[0..ni) into Ei (table or list order). -1 = no memory. */
static int embed_both(const tt_model *m, const ds_data *d, const int32_t *lu, long nu, float *Eu,
                      const int32_t *li, long ni, float *Ei, int table)
{
    emb_job a = {m, d, {{0, lu, nu, Eu}, {1, li, ni, Ei}}, 2, table, NULL, NULL, NULL, NULL};
    emb_job b = {m, d, {{0, NULL, 0, NULL}, {0, NULL, 0, NULL}}, 0, table, NULL, NULL, NULL, NULL};
    int two = m->net->worker != NULL, rc = 0;
    if (emb_scratch(&a, m) != 0 || (two && emb_scratch(&b, m) != 0)) {
        rc = -1;
        goto done;
    }
    if (two) {   /* a: users [0, h) (and items when h > nu); b: the rest */
        int P = m->net->embed_dim;
        /* cut at a chunk boundary of its segment, so every row is embedded in the same chunk
         * (the same sgemm shape) as with one thread: the numbers do not depend on threads */
        long h = (nu + ni) / 2;
        if (h <= nu) {
            h = (h + EMB_CHUNK / 2) / EMB_CHUNK * EMB_CHUNK;
            if (h > nu)
                h = nu;
        } else {
            long off = (h - nu + EMB_CHUNK / 2) / EMB_CHUNK * EMB_CHUNK;
            h = nu + (off > ni ? ni : off);
        }
        if (h <= nu) {
            a.nseg = 1;
            a.seg[0].count = h;
            b.seg[0].side = 0;
            b.seg[0].list = nu > 0 ? lu + h : NULL;
            b.seg[0].count = nu - h;
            b.seg[0].E = table || nu == 0 ? Eu : Eu + (size_t)h * P;
            b.seg[1] = a.seg[1];
            b.nseg = 2;
        } else {
            a.seg[1].count = h - nu;
            b.seg[0].side = 1;
            b.seg[0].list = li + (h - nu);
            b.seg[0].count = ni - (h - nu);
            b.seg[0].E = table ? Ei : Ei + (size_t)(h - nu) * P;
            b.nseg = 1;
        }
        nn_twotower_run2(m->net, emb_run, &a, emb_run, &b);
    } else
        emb_run(&a);
done:
    emb_free(&a);
    emb_free(&b);
    return rc;
}

/* Distinct entries of ids[0..n) in first-appearance order; loc[id] = position. */
static long distinct(const int32_t *ids, long n, int32_t *loc, int32_t *list)
{
    long c = 0;
    for (long k = 0; k < n; k++)
        if (loc[ids[k]] < 0) {
            loc[ids[k]] = (int32_t)c;
            list[c++] = ids[k];
        }
    return c;
}

static void tt_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                       const int32_t *i, double *out)
{
    const tt_model *m = model;
    if (n <= 0)
        return;
    int P = m->net->embed_dim;
    long nlu = n < d->n_users ? n : d->n_users, nli = n < d->n_items ? n : d->n_items;
    int32_t *locu = malloc((size_t)d->n_users * sizeof *locu);
    int32_t *loci = malloc((size_t)d->n_items * sizeof *loci);
    int32_t *lu = calloc((size_t)nlu, sizeof *lu), *li = calloc((size_t)nli, sizeof *li);
    float *Eu = malloc((size_t)nlu * P * sizeof *Eu), *Ei = malloc((size_t)nli * P * sizeof *Ei);
    if (!locu || !loci || !lu || !li || !Eu || !Ei)
        goto fail;
    memset(locu, 0xff, (size_t)d->n_users * sizeof *locu);
    memset(loci, 0xff, (size_t)d->n_items * sizeof *loci);
    long nu = distinct(u, n, locu, lu), ni = distinct(i, n, loci, li);
    if (embed_both(m, d, lu, nu, Eu, li, ni, Ei, 0) != 0)
        goto fail;
    for (long k = 0; k < n; k++) {
        const float *f = Eu + (size_t)locu[u[k]] * P, *g = Ei + (size_t)loci[i[k]] * P;
        double s = 0.0;
        for (int p = 0; p < P; p++)
            s += (double)f[p] * g[p];
        out[k] = m->mu + s;
    }
    goto done;
fail:
    for (long k = 0; k < n; k++)
        out[k] = NAN;
done:
    free(locu);
    free(loci);
    free(lu);
    free(li);
    free(Eu);
    free(Ei);
}

/* Inner-product vectors (est_method.vectors): user [f(x_u), mu], item [g(x_i), 1], so that
 * <user, item> = mu + <f, g> = tt_predict. */
static int tt_vectors(const void *model, const ds_data *d, int side, long n, const int32_t *ids,
                      float *out)
{
    const tt_model *m = model;
    int P = m->net->embed_dim, dim = P + 1;
    if (!out || n <= 0)
        return dim;
    float *E = malloc((size_t)n * P * sizeof *E);
    int rc = E ? (side ? embed_both(m, d, NULL, 0, NULL, ids, n, E, 0)
                       : embed_both(m, d, ids, n, E, NULL, 0, NULL, 0))
               : -1;
    if (rc == 0)
        for (long k = n - 1; k >= 0; k--) {   /* widen rows P -> P + 1 */
            memcpy(out + (size_t)k * dim, E + (size_t)k * P, (size_t)P * sizeof *out);
            out[(size_t)k * dim + P] = side ? 1.0f : (float)m->mu;
        }
    free(E);
    return rc == 0 ? dim : -1;
}

/* ------------------------------------------------------------------------------------------ */

/* A data.* key the runner adds to the method's kvset (not in tt_params): a finite number, or -1. */
static int data_real(const kvset *kv, const char *key, double *x)
{
    const char *v = kv_get(kv, key);
    char *end;
    if (!v)
        return -1;
    *x = strtod(v, &end);
    return end != v && *end == '\0' && isfinite(*x) ? 0 : -1;
}

static int theory_width(const est_fit_ctx *ctx, const tt_param *p, long n, int *width)
{
    const kvset *kv = ctx->params;
    double du, di, beta;
    if (data_real(kv, "data.user_intrinsic_dim", &du) || data_real(kv, "data.item_intrinsic_dim", &di) ||
        data_real(kv, "data.beta", &beta)) {
        snprintf(ctx->err, ctx->errlen,
                 "width = theory needs the data keys user_intrinsic_dim, item_intrinsic_dim and "
                 "beta (passed as data.*), which this run does not provide");
        return -1;
    }
    double dd = du > di ? du : di;
    if (!(dd > 0) || !(beta > 0)) {
        snprintf(ctx->err, ctx->errlen, "width = theory: bad intrinsic dim (%g) or beta (%g)", dd, beta);
        return -1;
    }
    double w = ceil(p->width_scale * pow((double)n, dd / (2.0 * beta + dd)));
    if (w > (double)p->width_max)
        w = (double)p->width_max;
    *width = w < 1 ? 1 : (int)w;
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double mse_d(const double *a, const double *b, long n)
{
    double s = 0.0;
    for (long k = 0; k < n; k++)
        s += (a[k] - b[k]) * (a[k] - b[k]);
    return n > 0 ? s / n : NAN;
}

/* Pairs grouped by entity (CSR): pairs[start[e] .. start[e+1]) are the training pairs of
 * entity e; ents[0..n_ents) the entities that have any. */
typedef struct {
    long *start, *pairs;
    int32_t *ents;
    long n_ents;
} tt_groups;

static void groups_free(tt_groups *g)
{
    free(g->start);
    free(g->pairs);
    free(g->ents);
}

static int groups_build(tt_groups *g, const int32_t *ent, long n, int n_ent)
{
    memset(g, 0, sizeof *g);
    g->start = calloc((size_t)n_ent + 1, sizeof *g->start);
    g->pairs = malloc((size_t)n * sizeof *g->pairs);
    g->ents = malloc((size_t)(n_ent > 0 ? n_ent : 1) * sizeof *g->ents);
    if (!g->start || !g->pairs || !g->ents)
        return -1;
    for (long k = 0; k < n; k++)
        g->start[ent[k] + 1]++;
    for (int e = 0; e < n_ent; e++) {
        if (g->start[e + 1] > 0)
            g->ents[g->n_ents++] = e;
        g->start[e + 1] += g->start[e];
    }
    long *fill = malloc((size_t)(n_ent > 0 ? n_ent : 1) * sizeof *fill);
    if (!fill)
        return -1;
    memcpy(fill, g->start, (size_t)n_ent * sizeof *fill);
    for (long k = 0; k < n; k++)
        g->pairs[fill[ent[k]]++] = k;
    free(fill);
    return 0;
}

/* idx[0..n) = the pairs, entity by entity in a freshly shuffled entity order. */
static void groups_order(tt_groups *g, gsl_rng *r, long *idx)
{
    gsl_ran_shuffle(r, g->ents, (size_t)g->n_ents, sizeof *g->ents);
    long o = 0;
    for (long k = 0; k < g->n_ents; k++) {
        int32_t e = g->ents[k];
        for (long q = g->start[e]; q < g->start[e + 1]; q++)
            idx[o++] = g->pairs[q];
    }
}

/* One pass of one tower over the pairs in order[0..n) against the fixed embeddings E of the
 * other side (alternating schedule). Runs on either thread; touches only its side's buffers. */
typedef struct {
    nn_twotower *net;
    const ds_data *d;
    int side, B, dim;
    double mu;
    const long *order;
    long n, max_batches;
    const float *xs;        /* standardised covariates of this side (rows = entities) */
    const float *E;         /* embeddings of the other side, indexed by entity */
    long *stamp, *bno;      /* this side's batch stamps and counter */
    int32_t *loc, *prow, *eidx;
    float *y;
    double loss_sum;
    long pairs_done;
    int bad;
} phase_job;

static void phase_run(void *p)
{
    phase_job *j = p;
    const ds_split *tr = &j->d->train;
    float *X = j->net->tower[j->side].x;
    j->loss_sum = 0.0;
    j->pairs_done = 0;
    j->bad = 0;
    long nb = 0;
    for (long s = 0; s < j->n; s += j->B, nb++) {
        if (j->max_batches > 0 && nb >= j->max_batches)
            break;
        long bn = ++*j->bno;
        int Bc = (int)(j->n - s < j->B ? j->n - s : j->B), rows = 0;
        for (int b = 0; b < Bc; b++) {
            long q = j->order[s + b];
            int32_t own = j->side ? tr->item[q] : tr->user[q];
            int32_t other = j->side ? tr->user[q] : tr->item[q];
            if (j->stamp[own] != bn) {
                j->stamp[own] = bn;
                j->loc[own] = rows;
                memcpy(X + (size_t)rows * j->dim, j->xs + (size_t)own * j->dim,
                       (size_t)j->dim * sizeof *X);
                rows++;
            }
            j->prow[b] = j->loc[own];
            j->eidx[b] = other;
            j->y[b] = (float)(tr->rating[q] - j->mu);
        }
        double loss = nn_twotower_tower_step(j->net, j->side, rows, Bc, j->prow, j->E, j->eidx, j->y);
        if (!isfinite(loss)) {
            j->bad = 1;
            return;
        }
        j->loss_sum += loss * Bc;
        j->pairs_done += Bc;
    }
}

static void *tt_train(const est_fit_ctx *ctx)
{
    const ds_data *d = ctx->data;
    tt_param prm;
    const char *bad = NULL, *msg = tt_parse(ctx->params, &prm, &bad);
    if (msg) {
        snprintf(ctx->err, ctx->errlen, "%s: %s", bad, msg);
        return NULL;
    }
    long n = d->train.n;
    if (n < 1) {
        snprintf(ctx->err, ctx->errlen, "empty training split");
        return NULL;
    }
    if (d->user_dim < 1 || d->item_dim < 1 || !d->user_x || !d->item_x) {
        snprintf(ctx->err, ctx->errlen, "twotower needs user and item covariates (user_dim %d, item_dim %d)",
                 d->user_dim, d->item_dim);
        return NULL;
    }
    int depth = prm.depth, P = prm.embed_dim, B = prm.batch, patience = prm.patience;
    double lr = prm.lr, wd = prm.weight_decay, min_delta = prm.min_delta;
    int center = prm.center, sched = prm.schedule;
    const char *sched_s = prm.schedule_name;
    long max_batches = prm.max_batches;
    int width = prm.width;
    if (prm.width_theory && theory_width(ctx, &prm, n, &width) != 0)
        return NULL;
    if (B > n)
        B = (int)n;
    int threads = ctx->threads > 0 ? ctx->threads : blas_threads();
    int blas_saved = blas_threads();

    double t0 = now_seconds(), train_s = 0.0, eval_s = 0.0;
    int cu = d->user_dim, ci = d->item_dim;
    int ids = prm.ids;
    if (ids && (d->n_users > TT_MAX_IDS || d->n_items > TT_MAX_IDS)) {
        snprintf(ctx->err, ctx->errlen, "ids = yes takes at most %d users and items (one-hot inputs); "
                 "this dataset has %d and %d", TT_MAX_IDS, d->n_users, d->n_items);
        return NULL;
    }
    int du = cu + (ids ? d->n_users : 0), di = ci + (ids ? d->n_items : 0);
    if (du < 1 || di < 1) {
        snprintf(ctx->err, ctx->errlen, "the %s side has no covariates: add ids = yes",
                 du < 1 ? "user" : "item");
        return NULL;
    }
    int alt = sched == SCHED_ALTERNATING;
    tt_model *m = calloc(1, sizeof *m);
    long *idx = malloc((size_t)n * sizeof *idx);
    long *idx2 = alt ? malloc((size_t)n * sizeof *idx2) : NULL;
    long *stamp_u = malloc((size_t)d->n_users * sizeof *stamp_u);
    long *stamp_i = malloc((size_t)d->n_items * sizeof *stamp_i);
    int32_t *loc_u = malloc((size_t)d->n_users * sizeof *loc_u);
    int32_t *loc_i = malloc((size_t)d->n_items * sizeof *loc_i);
    int32_t *pu = malloc((size_t)B * sizeof *pu), *pi = malloc((size_t)B * sizeof *pi);
    int32_t *pu2 = alt ? malloc((size_t)B * sizeof *pu2) : NULL;
    int32_t *pi2 = alt ? malloc((size_t)B * sizeof *pi2) : NULL;
    float *y = malloc((size_t)B * sizeof *y), *y2 = alt ? malloc((size_t)B * sizeof *y2) : NULL;
    float *xu = malloc((size_t)d->n_users * du * sizeof *xu);
    float *xi = malloc((size_t)d->n_items * di * sizeof *xi);
    float *F = alt ? malloc((size_t)d->n_users * P * sizeof *F) : NULL;
    float *G = alt ? malloc((size_t)d->n_items * P * sizeof *G) : NULL;
    double *pv = malloc((size_t)(d->valid.n > 0 ? d->valid.n : 1) * sizeof *pv);
    double *pt = malloc((size_t)(d->test_cold.n > 0 ? d->test_cold.n : 1) * sizeof *pt);
    tt_groups gu = {0}, gi = {0};
    float *best = NULL;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    int ok = 0, blas_changed = 0;
    if (!m || !idx || !stamp_u || !stamp_i || !loc_u || !loc_i || !pu || !pi || !y || !xu || !xi ||
        !pv || !pt || !r || (alt && (!idx2 || !pu2 || !pi2 || !y2 || !F || !G))) {
        snprintf(ctx->err, ctx->errlen, "out of memory");
        goto done;
    }
    if ((sched != SCHED_PAIRS && groups_build(&gu, d->train.user, n, d->n_users) != 0) ||
        (alt && groups_build(&gi, d->train.item, n, d->n_items) != 0)) {
        snprintf(ctx->err, ctx->errlen, "out of memory");
        goto done;
    }
    m->du = du;
    m->di = di;
    m->cu = cu;
    m->ci = ci;
    m->ids = ids;
    m->mean_u = malloc((2 * (size_t)cu + 1) * sizeof(double));
    m->mean_i = malloc((2 * (size_t)ci + 1) * sizeof(double));
    if (!m->mean_u || !m->mean_i) {
        snprintf(ctx->err, ctx->errlen, "out of memory");
        goto done;
    }
    m->sd_u = m->mean_u + cu;
    m->sd_i = m->mean_i + ci;
    if (std_fit(d->user_x, d->n_users, cu, d->train.user, n, m->mean_u, m->sd_u) != 0 ||
        std_fit(d->item_x, d->n_items, ci, d->train.item, n, m->mean_i, m->sd_i) != 0) {
        snprintf(ctx->err, ctx->errlen, "out of memory");
        goto done;
    }
    if (ids) {
        m->nid_u = d->n_users;
        m->nid_i = d->n_items;
        m->seen_u = calloc((size_t)d->n_users + 1, 1);
        m->seen_i = calloc((size_t)d->n_items + 1, 1);
        if (!m->seen_u || !m->seen_i) {
            snprintf(ctx->err, ctx->errlen, "out of memory");
            goto done;
        }
        for (long k = 0; k < n; k++) {
            m->seen_u[d->train.user[k]] = 1;
            m->seen_i[d->train.item[k]] = 1;
        }
    }
    for (int k = 0; k < d->n_users; k++)
        make_input(m, 0, d->user_x, k, xu + (size_t)k * du);
    for (int k = 0; k < d->n_items; k++)
        make_input(m, 1, d->item_x, k, xi + (size_t)k * di);
    m->mu = 0.0;
    if (center) {
        for (long k = 0; k < n; k++)
            m->mu += d->train.rating[k];
        m->mu /= n;
    }

    m->net = nn_twotower_new(du, di, depth, width, P, B, B, (float)lr, (float)wd, ctx->err, ctx->errlen);
    if (!m->net)
        goto done;
    best = malloc(m->net->n_params * sizeof *best);
    if (!best) {
        snprintf(ctx->err, ctx->errlen, "out of memory");
        goto done;
    }
    if (threads >= 2) {
        blas_set_threads(1);   /* one BLAS thread per tower thread */
        blas_changed = 1;
        if (nn_twotower_set_threads(m->net, 2, ctx->err, ctx->errlen) != 0)
            goto done;
    }
    gsl_rng_set(r, (unsigned long)ctx->seed);
    if (prm.init_torch)
        nn_twotower_init_torch(m->net, r, 1.0);
    else
        nn_twotower_init_he(m->net, r);
    memcpy(best, m->net->params, m->net->n_params * sizeof *best);
    for (long k = 0; k < n; k++)
        idx[k] = k;
    for (int k = 0; k < d->n_users; k++)
        stamp_u[k] = -1;
    for (int k = 0; k < d->n_items; k++)
        stamp_i[k] = -1;

    est_curves *cv = ctx->curves;
    est_early early;
    est_early_init(&early, patience, min_delta, d->valid.n > 0);
    /* the epoch budget: enough passes for max_steps Adam steps, at most `epochs` */
    long spe = (n + B - 1) / B;
    if (max_batches > 0 && spe > max_batches)
        spe = max_batches;
    int epochs = prm.epochs;
    if (prm.max_steps > 0 && (prm.max_steps + spe - 1) / spe < epochs)
        epochs = (int)((prm.max_steps + spe - 1) / spe);
    int plateau_wait = patience / 2 > 1 ? patience / 2 : 1, plateau_since = 0;
    int plateau = prm.lr_schedule == LR_PLATEAU && d->valid.n > 0;
    double lr_now = lr;
    snprintf(cv->stopped_by, sizeof cv->stopped_by, "cap");
    int epoch;
    long bno_u = 0, bno_i = 0;
    float *XU = nn_twotower_user_x(m->net), *XI = nn_twotower_item_x(m->net);
    for (epoch = 1; epoch <= epochs; epoch++) {
        if (prm.lr_schedule == LR_COSINE)   /* CosineAnnealingLR(T_max = epochs), per epoch */
            lr_now = lr * 0.5 * (1.0 + cos(M_PI * (double)(epoch - 1) / (double)epochs));
        m->net->adam.lr = (float)lr_now;
        double te0 = now_seconds();
        double sum = 0.0;
        long done_pairs = 0;
        if (alt) {
            groups_order(&gu, r, idx);
            groups_order(&gi, r, idx2);
            phase_job ju = {m->net, d, 0, B, du, m->mu, idx, n, max_batches, xu, G, stamp_u, &bno_u,
                            loc_u, pu, pu2, y, 0.0, 0, 0};
            phase_job ji = {m->net, d, 1, B, di, m->mu, idx2, n, max_batches, xi, F, stamp_i, &bno_i,
                            loc_i, pi, pi2, y2, 0.0, 0, 0};
            /* user phase against the fixed item embeddings, then item phase against the users' */
            int emb = embed_both(m, d, NULL, 0, NULL, gi.ents, gi.n_ents, G, 1);
            if (emb == 0)
                phase_run(&ju);
            if (emb == 0 && !ju.bad)
                emb = embed_both(m, d, gu.ents, gu.n_ents, F, NULL, 0, NULL, 1);
            if (emb == 0 && !ju.bad)
                phase_run(&ji);
            if (emb != 0) {
                snprintf(ctx->err, ctx->errlen, "out of memory");
                goto done;
            }
            if (ju.bad || ji.bad) {
                snprintf(ctx->err, ctx->errlen, "non-finite loss at epoch %d", epoch);
                snprintf(cv->stopped_by, sizeof cv->stopped_by, "diverged");
                goto done;
            }
            sum = 0.5 * (ju.loss_sum + ji.loss_sum);
            done_pairs = ju.pairs_done;
        } else {
            if (sched == SCHED_USER_GROUPED)
                groups_order(&gu, r, idx);
            else
                gsl_ran_shuffle(r, idx, (size_t)n, sizeof *idx);
            long nb = 0;
            for (long s = 0; s < n; s += B, nb++) {
                if (max_batches > 0 && nb >= max_batches)
                    break;
                int Bc = (int)(n - s < B ? n - s : B), nu = 0, ni = 0;
                bno_u++;
                bno_i++;
                for (int b = 0; b < Bc; b++) {
                    long p = idx[s + b];
                    int32_t uu = d->train.user[p], ii = d->train.item[p];
                    if (stamp_u[uu] != bno_u) {
                        stamp_u[uu] = bno_u;
                        loc_u[uu] = nu;
                        memcpy(XU + (size_t)nu * du, xu + (size_t)uu * du, (size_t)du * sizeof *XU);
                        nu++;
                    }
                    if (stamp_i[ii] != bno_i) {
                        stamp_i[ii] = bno_i;
                        loc_i[ii] = ni;
                        memcpy(XI + (size_t)ni * di, xi + (size_t)ii * di, (size_t)di * sizeof *XI);
                        ni++;
                    }
                    pu[b] = loc_u[uu];
                    pi[b] = loc_i[ii];
                    y[b] = (float)(d->train.rating[p] - m->mu);
                }
                double loss = nn_twotower_step(m->net, nu, ni, Bc, pu, pi, y);
                if (!isfinite(loss)) {
                    snprintf(ctx->err, ctx->errlen, "non-finite loss at epoch %d", epoch);
                    snprintf(cv->stopped_by, sizeof cv->stopped_by, "diverged");
                    goto done;
                }
                sum += loss * Bc;
                done_pairs += Bc;
            }
        }
        double te1 = now_seconds();
        train_s += te1 - te0;
        double vr = NAN, te = NAN;
        if (d->valid.n > 0) {
            tt_predict(m, d, d->valid.n, d->valid.user, d->valid.item, pv);
            vr = sqrt(mse_d(pv, d->valid.rating, d->valid.n));
        }
        if (d->synthetic && d->test_cold.n > 0 && d->test_cold.oracle) {
            tt_predict(m, d, d->test_cold.n, d->test_cold.user, d->test_cold.item, pt);
            te = mse_d(pt, d->test_cold.oracle, d->test_cold.n);
        }
        eval_s += now_seconds() - te1;
        if (est_curves_push(cv, done_pairs > 0 ? sum / done_pairs : NAN, vr, te, now_seconds() - t0) != 0) {
            snprintf(ctx->err, ctx->errlen, "out of memory");
            goto done;
        }
        cv->epochs_run = epoch;
        int es = est_early_step(&early, epoch, vr, ctx->err, ctx->errlen);
        if (es == EST_EARLY_NONFINITE) {
            snprintf(cv->stopped_by, sizeof cv->stopped_by, "diverged");
            goto done;
        }
        if (es == EST_EARLY_BEST) {
            memcpy(best, m->net->params, m->net->n_params * sizeof *best);
            plateau_since = 0;
        } else if (es == EST_EARLY_STOP) {
            snprintf(cv->stopped_by, sizeof cv->stopped_by, "patience");
            break;
        } else if (plateau && ++plateau_since >= plateau_wait) {
            lr_now *= 0.5;   /* ReduceLROnPlateau(factor 0.5, patience / 2) */
            plateau_since = 0;
        }
    }
    if (d->valid.n > 0)
        memcpy(m->net->params, best, m->net->n_params * sizeof *best);
    cv->best_epoch = early.best_epoch;
    snprintf(cv->note, sizeof cv->note,
             "width=%d depth=%d embed_dim=%d params=%zu batch=%d init=%s lr_schedule=%s "
             "epoch_budget=%d decay=adamw(weights only) "
             "schedule=%s threads=%d train_s=%.3f eval_s=%.3f",
             width, depth, P, m->net->n_params, B, prm.init_torch ? "torch" : "he",
             prm.lr_schedule == LR_PLATEAU && !plateau ? "plateau(no valid split: constant)"
                                                       : prm.lr_schedule_name,
             epochs, sched_s, threads >= 2 ? 2 : 1, train_s, eval_s);
    ok = 1;
done:
    if (m && m->net)
        nn_twotower_set_threads(m->net, 1, NULL, 0);
    if (blas_changed)
        blas_set_threads(blas_saved);
    free(idx);
    free(idx2);
    free(stamp_u);
    free(stamp_i);
    free(loc_u);
    free(loc_i);
    free(pu);
    free(pi);
    free(pu2);
    free(pi2);
    free(y);
    free(y2);
    free(xu);
    free(xi);
    free(F);
    free(G);
    free(pv);
    free(pt);
    free(best);
    groups_free(&gu);
    groups_free(&gi);
    if (r)
        gsl_rng_free(r);
    if (!ok) {
        tt_free(m);
        return NULL;
    }
    return m;
}

/* Bytes a fit needs: per tower the parameters with their gradients, the two Adam moments and
 * the kept best copy (5 floats per parameter), the activations of a batch, and the
 * standardised inputs of all entities. width = theory counts width_max (an upper bound). */
static double tt_memory_bytes(const kvset *kv, const est_shape *sh)
{
    tt_param p;
    const char *bad = NULL;
    if (tt_parse(kv, &p, &bad))
        return 0;
    double w = p.width_theory ? p.width_max : p.width, P = p.embed_dim, L = p.depth;
    double B = p.batch, total = 0;
    for (int side = 0; side < 2; side++) {
        double n = side ? sh->n_items : sh->n_users;
        double in = (side ? sh->item_dim : sh->user_dim) + (p.ids ? n : 0);
        double par = L > 0 ? in * w + w + (L - 1) * (w * w + w) + w * P + P : in * P + P;
        double maxdim = in > w ? in : w;
        total += 4.0 * (5 * par + B * (in + 2 * L * w + P + 2 * maxdim) + n * in);
    }
    return total;
}

/* width_scale and width_max shape width = theory only */
static const param_condition tt_conditions[] = {
    {"width_scale", "width", "theory"},
    {"width_max", "width", "theory"},
    {NULL, NULL, NULL},
};

const est_method est_twotower = {
    .name = "twotower",
    .params = tt_params,
    .conditions = tt_conditions,
    .cold_capable = 1,
    .needs_truth = 0,
    .needs_covariates = 1,
    .memory_bytes = tt_memory_bytes,
    .check_parameter = tt_check_parameter,
    .train = tt_train,
    .predict = tt_predict,
    .free_model = tt_free,
    .vectors = tt_vectors,
};
