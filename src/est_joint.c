/* est_joint.c — the `joint` method: one ReLU MLP on the concatenated pair input (nn_joint.h).
 *
 * Model: R_hat(u, i) = mu + h([x_u, x_i]), h a ReLU MLP with `depth` hidden layers of `width`
 * units and a scalar output, on the user's and the item's standardised covariates side by side
 * (each side standardised per column with the mean and sd over the users / items that appear
 * in the training split, as the two-tower does); mu the mean training rating (center = yes).
 * ids = yes appends the one-hot id blocks of the training users and items (all zero for an
 * entity unseen in training): the MLP arm of NCF (He et al. 2017); the first layer then adds
 * embedding rows instead of multiplying one-hot columns. Unlike the two-tower, the network sees
 * the pair as one point of a (d_u + d_i)-dimensional manifold (docs/theory.md, "Structure").
 *
 * Training is the two-tower's (est_twotower.c), key for key: minibatches of `batch` pairs in an
 * order shuffled every epoch (GSL mt19937 seeded with ctx->seed, which also draws the
 * initialisation: init = torch | he), squared loss, AdamW (decay on weight matrices and id
 * tables, not biases), epoch budget min(epochs, ceil(max_steps / steps per epoch)), lr_schedule
 * constant | cosine | plateau, early stopping on valid RMSE with `patience` (best valid weights
 * kept), curves->stopped_by = patience | cap | diverged. A non-finite loss fails the fit with
 * "non-finite loss at epoch K". width = theory: ceil(width_scale * n^(d / (2 beta + d))) with
 * d = d_u + d_i, the dimension this network sees (the two-tower uses max(d_u, d_i)).
 * One thread: the network is one chain of sgemms (OpenBLAS threads as the runner set them).
 */
#include "estimator.h"
#include "standardise.h"
#include "nn_joint.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#define JT_MAX_IDS 1000000   /* ids = yes: id tables up to this many entities per side */
#define JT_CHUNK 1024        /* rows per inference chunk */

static const param_spec jt_params[] = {
    {"depth", PT_INT, "3", 0, NN_MAX_DEPTH, NULL, "hidden ReLU layers"},
    {"width", PT_INT_OR_THEORY, "128", 1, 65536, NULL,
     "hidden units per layer, or 'theory': ceil(width_scale * n^(d/(2 beta + d))) <= width_max "
     "with d = d_u + d_i"},
    {"width_scale", PT_REAL, "1.0", 1e-6, 1e6, NULL, "constant of the theory width schedule"},
    {"width_max", PT_INT, "1024", 1, 65536, NULL, "cap of the theory width schedule"},
    {"init", PT_ENUM, "torch", 0, 0, "torch|he",
     "torch: PyTorch's default nn.Linear init, U(+-1/sqrt(fan_in)) weights and biases; he: "
     "He-uniform weights U(+-sqrt(6/fan_in)), zero biases"},
    {"lr", PT_REAL, "0.003", 1e-9, 1e9, NULL, "Adam learning rate (absurd values diverge: the cell is recorded failed)"},
    {"lr_schedule", PT_ENUM, "plateau", 0, 0, "constant|cosine|plateau",
     "constant; cosine: lr * (1 + cos(pi e / E)) / 2 at epoch e of the epoch budget E; plateau: "
     "lr halved after patience / 2 epochs without valid improvement (needs patience >= 2; "
     "without a valid split it runs as constant, said in the cell's note)"},
    {"batch", PT_INT, "256", 1, 1 << 20, NULL, "pairs per minibatch"},
    {"epochs", PT_INT, "1000", 1, 1000000, NULL, "largest epoch budget"},
    {"max_steps", PT_INT, "60000", 0, 1e15, NULL,
     "budget in Adam steps: the epoch budget is min(epochs, ceil(max_steps / steps per epoch)) "
     "(0 = epochs only)"},
    {"patience", PT_INT, "20", 0, 1000000, NULL,
     "stop after this many epochs without valid improvement (0 = never stop early); the best "
     "valid epoch's weights are kept either way"},
    {"min_delta", PT_REAL, "0", 0, 1e300, NULL, "smallest valid RMSE decrease that counts"},
    {"weight_decay", PT_REAL, "0", 0, 1e6, NULL,
     "decoupled (AdamW) weight decay on weight matrices and id tables, not biases"},
    {"center", PT_ENUM, "yes", 0, 0, "yes|no", "predict mean training rating + the network"},
    {"ids", PT_ENUM, "no", 0, 0, "no|yes",
     "append the one-hot user and item id blocks to the input (NCF's MLP arm; an embedding "
     "lookup in the first layer; all zero for entities unseen in training)"},
    {"max_batches", PT_INT, "0", 0, 1e15, NULL,
     "stop each epoch's pass after this many minibatches (0 = all; for benchmarks)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

enum { LR_CONSTANT, LR_COSINE, LR_PLATEAU };

/* The parsed keys of [method.joint]: filled once by jt_parse. */
typedef struct {
    int depth, width, width_theory, width_max, batch, epochs, patience;
    double width_scale, lr, min_delta, weight_decay;
    long max_steps, max_batches;
    int init_torch, lr_schedule, center, ids;
    const char *lr_schedule_name;
} jt_param;

/* NULL when kv is valid (p filled), else a message and *bad_key. */
static const char *jt_parse(const kvset *kv, jt_param *p, const char **bad_key)
{
    static _Thread_local char msg[256];
    const char *bad = param_check_table(jt_params, kv, bad_key);
    if (bad)
        return bad;
    const param_spec *T = jt_params;
    p->depth = (int)param_int(T, kv, "depth");
    p->width_theory = strcmp(param_str(T, kv, "width"), "theory") == 0;
    p->width = p->width_theory ? 0 : (int)param_int(T, kv, "width");
    p->width_scale = param_real(T, kv, "width_scale");
    p->width_max = (int)param_int(T, kv, "width_max");
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

static const char *jt_check_parameter(const kvset *params, const char **bad_key)
{
    jt_param p;
    return jt_parse(params, &p, bad_key);
}

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    nn_joint *net;
    double mu;
    int cu, ci;                       /* covariate columns of each side */
    int ids, nid_u, nid_i;
    unsigned char *seen_u, *seen_i;   /* ids: entity has training pairs */
    double *mean_u, *sd_u, *mean_i, *sd_i;
} jt_model;

static void jt_free(void *p)
{
    jt_model *m = p;
    if (!m)
        return;
    nn_joint_free(m->net);
    free(m->seen_u);
    free(m->seen_i);
    free(m->mean_u);
    free(m->mean_i);
    free(m);
}

/* Standardised covariates of all entities of one side: out (rows, dim). */
static void standardise_all(float *out, const double *x, int rows, int dim, const double *mean,
                            const double *sd)
{
    for (int e = 0; e < rows; e++)
        for (int c = 0; c < dim; c++)
            out[(size_t)e * dim + c] =
                (float)((x[(size_t)e * dim + c] - mean[c]) / sd[c]);
}

/* Row b of a batch: x (cu + ci) = [xu[u], xi[i]], id rows (ids; -1 = unseen / no ids). */
static void pair_row(const jt_model *m, const float *xu, const float *xi, int32_t u, int32_t i,
                     float *x, int32_t *iu, int32_t *ii)
{
    memcpy(x, xu + (size_t)u * m->cu, (size_t)m->cu * sizeof *x);
    memcpy(x + m->cu, xi + (size_t)i * m->ci, (size_t)m->ci * sizeof *x);
    *iu = m->ids && u < m->nid_u && m->seen_u[u] ? u : -1;
    *ii = m->ids && i < m->nid_i && m->seen_i[i] ? i : -1;
}

static void standardise_row(float *out, const double *x, const double *mean, const double *sd,
                            int dim)
{
    for (int c = 0; c < dim; c++)
        out[c] = (float)((x[c] - mean[c]) / sd[c]);
}

static void jt_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                       const int32_t *i, double *out)
{
    const jt_model *m = model;
    if (n <= 0)
        return;
    int C = m->cu + m->ci, maxd = m->net->max_dim;
    float *x = malloc((size_t)JT_CHUNK * (C > 0 ? C : 1) * sizeof *x);
    int32_t *iu = malloc((size_t)JT_CHUNK * sizeof *iu), *ii = malloc((size_t)JT_CHUNK * sizeof *ii);
    float *s1 = malloc((size_t)JT_CHUNK * maxd * sizeof *s1);
    float *s2 = malloc((size_t)JT_CHUNK * maxd * sizeof *s2);
    float *o = malloc((size_t)JT_CHUNK * sizeof *o);
    if (!x || !iu || !ii || !s1 || !s2 || !o) {
        for (long k = 0; k < n; k++)
            out[k] = NAN;
        goto done;
    }
    for (long s = 0; s < n; s += JT_CHUNK) {
        int rows = (int)(n - s < JT_CHUNK ? n - s : JT_CHUNK);
        for (int r = 0; r < rows; r++) {
            int32_t uu = u[s + r], it = i[s + r];
            float *xr = x + (size_t)r * C;
            if (m->cu > 0)
                standardise_row(xr, d->user_x + (size_t)uu * m->cu, m->mean_u, m->sd_u, m->cu);
            if (m->ci > 0)
                standardise_row(xr + m->cu, d->item_x + (size_t)it * m->ci, m->mean_i, m->sd_i,
                                m->ci);
            iu[r] = m->ids && uu < m->nid_u && m->seen_u[uu] ? uu : -1;
            ii[r] = m->ids && it < m->nid_i && m->seen_i[it] ? it : -1;
        }
        nn_joint_infer(m->net, x, iu, ii, rows, o, s1, s2);
        for (int r = 0; r < rows; r++)
            out[s + r] = m->mu + o[r];
    }
done:
    free(x);
    free(iu);
    free(ii);
    free(s1);
    free(s2);
    free(o);
}

/* ------------------------------------------------------------------------------------------ */

/* A data.* key the runner adds to the method's kvset (not in jt_params): a finite number, or -1. */
static int data_real(const kvset *kv, const char *key, double *x)
{
    const char *v = kv_get(kv, key);
    char *end;
    if (!v)
        return -1;
    *x = strtod(v, &end);
    return end != v && *end == '\0' && isfinite(*x) ? 0 : -1;
}

static int theory_width(const est_fit_ctx *ctx, const jt_param *p, long n, int *width)
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
    double dd = du + di;
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

static void *jt_train(const est_fit_ctx *ctx)
{
    const ds_data *d = ctx->data;
    jt_param prm;
    const char *bad = NULL, *msg = jt_parse(ctx->params, &prm, &bad);
    if (msg) {
        snprintf(ctx->err, ctx->errlen, "%s: %s", bad, msg);
        return NULL;
    }
    long n = d->train.n;
    if (n < 1) {
        snprintf(ctx->err, ctx->errlen, "empty training split");
        return NULL;
    }
    int cu = d->user_x ? d->user_dim : 0, ci = d->item_x ? d->item_dim : 0;
    if (cu + ci < 1 && !prm.ids) {
        snprintf(ctx->err, ctx->errlen, "joint has no inputs: no covariates, and ids = no "
                 "(add ids = yes)");
        return NULL;
    }
    if (prm.ids && (d->n_users > JT_MAX_IDS || d->n_items > JT_MAX_IDS)) {
        snprintf(ctx->err, ctx->errlen, "ids = yes takes at most %d users and items; this "
                 "dataset has %d and %d", JT_MAX_IDS, d->n_users, d->n_items);
        return NULL;
    }
    int width = prm.width, B = prm.batch, patience = prm.patience;
    if (prm.width_theory && theory_width(ctx, &prm, n, &width) != 0)
        return NULL;
    if (B > n)
        B = (int)n;
    double t0 = now_seconds(), train_s = 0.0, eval_s = 0.0;
    int C = cu + ci;
    jt_model *m = calloc(1, sizeof *m);
    long *idx = malloc((size_t)n * sizeof *idx);
    float *y = malloc((size_t)B * sizeof *y);
    float *xu = malloc((size_t)(d->n_users > 0 ? d->n_users : 1) * (cu > 0 ? cu : 1) * sizeof *xu);
    float *xi = malloc((size_t)(d->n_items > 0 ? d->n_items : 1) * (ci > 0 ? ci : 1) * sizeof *xi);
    double *pv = malloc((size_t)(d->valid.n > 0 ? d->valid.n : 1) * sizeof *pv);
    double *pt = malloc((size_t)(d->test_cold.n > 0 ? d->test_cold.n : 1) * sizeof *pt);
    float *best = NULL;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    int ok = 0;
    if (!m || !idx || !y || !xu || !xi || !pv || !pt || !r) {
        snprintf(ctx->err, ctx->errlen, "out of memory");
        goto done;
    }
    m->cu = cu;
    m->ci = ci;
    m->ids = prm.ids;
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
    if (cu > 0)
        standardise_all(xu, d->user_x, d->n_users, cu, m->mean_u, m->sd_u);
    if (ci > 0)
        standardise_all(xi, d->item_x, d->n_items, ci, m->mean_i, m->sd_i);
    if (prm.ids) {
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
    m->mu = 0.0;
    if (prm.center) {
        for (long k = 0; k < n; k++)
            m->mu += d->train.rating[k];
        m->mu /= n;
    }
    m->net = nn_joint_new(C, m->nid_u, m->nid_i, prm.depth, width, B, (float)prm.lr,
                          (float)prm.weight_decay, ctx->err, ctx->errlen);
    if (!m->net)
        goto done;
    best = malloc(m->net->n_params * sizeof *best);
    if (!best) {
        snprintf(ctx->err, ctx->errlen, "out of memory");
        goto done;
    }
    gsl_rng_set(r, (unsigned long)ctx->seed);
    if (prm.init_torch)
        nn_joint_init_torch(m->net, r);
    else
        nn_joint_init_he(m->net, r);
    memcpy(best, m->net->params, m->net->n_params * sizeof *best);
    for (long k = 0; k < n; k++)
        idx[k] = k;

    est_curves *cv = ctx->curves;
    est_early early;
    est_early_init(&early, patience, prm.min_delta, d->valid.n > 0);
    long spe = (n + B - 1) / B;   /* the epoch budget, as in the two-tower */
    if (prm.max_batches > 0 && spe > prm.max_batches)
        spe = prm.max_batches;
    int epochs = prm.epochs;
    if (prm.max_steps > 0 && (prm.max_steps + spe - 1) / spe < epochs)
        epochs = (int)((prm.max_steps + spe - 1) / spe);
    int plateau_wait = patience / 2 > 1 ? patience / 2 : 1, plateau_since = 0;
    int plateau = prm.lr_schedule == LR_PLATEAU && d->valid.n > 0;
    double lr_now = prm.lr;
    snprintf(cv->stopped_by, sizeof cv->stopped_by, "cap");
    nn_joint *net = m->net;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        if (prm.lr_schedule == LR_COSINE)   /* CosineAnnealingLR(T_max = epochs), per epoch */
            lr_now = prm.lr * 0.5 * (1.0 + cos(M_PI * (double)(epoch - 1) / (double)epochs));
        net->adam.lr = (float)lr_now;
        double te0 = now_seconds(), sum = 0.0;
        long done_pairs = 0, nb = 0;
        gsl_ran_shuffle(r, idx, (size_t)n, sizeof *idx);
        for (long s = 0; s < n; s += B, nb++) {
            if (prm.max_batches > 0 && nb >= prm.max_batches)
                break;
            int Bc = (int)(n - s < B ? n - s : B);
            for (int b = 0; b < Bc; b++) {
                long p = idx[s + b];
                pair_row(m, xu, xi, d->train.user[p], d->train.item[p], net->x + (size_t)b * C,
                         net->iu + b, net->ii + b);
                y[b] = (float)(d->train.rating[p] - m->mu);
            }
            double loss = nn_joint_step(net, Bc, y);
            if (!isfinite(loss)) {
                snprintf(ctx->err, ctx->errlen, "non-finite loss at epoch %d", epoch);
                snprintf(cv->stopped_by, sizeof cv->stopped_by, "diverged");
                goto done;
            }
            sum += loss * Bc;
            done_pairs += Bc;
        }
        double te1 = now_seconds();
        train_s += te1 - te0;
        double vr = NAN, te = NAN;
        if (d->valid.n > 0) {
            jt_predict(m, d, d->valid.n, d->valid.user, d->valid.item, pv);
            vr = sqrt(mse_d(pv, d->valid.rating, d->valid.n));
        }
        if (d->synthetic && d->test_cold.n > 0 && d->test_cold.oracle) {
            jt_predict(m, d, d->test_cold.n, d->test_cold.user, d->test_cold.item, pt);
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
            memcpy(best, net->params, net->n_params * sizeof *best);
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
        memcpy(net->params, best, net->n_params * sizeof *best);
    cv->best_epoch = early.best_epoch;
    snprintf(cv->note, sizeof cv->note,
             "width=%d depth=%d params=%zu batch=%d ids=%s init=%s lr_schedule=%s epoch_budget=%d "
             "decay=adamw(weights only) train_s=%.3f eval_s=%.3f",
             width, prm.depth, net->n_params, B, prm.ids ? "yes" : "no",
             prm.init_torch ? "torch" : "he",
             prm.lr_schedule == LR_PLATEAU && !plateau ? "plateau(no valid split: constant)"
                                                       : prm.lr_schedule_name,
             epochs, train_s, eval_s);
    ok = 1;
done:
    free(idx);
    free(y);
    free(xu);
    free(xi);
    free(pv);
    free(pt);
    free(best);
    if (r)
        gsl_rng_free(r);
    if (!ok) {
        jt_free(m);
        return NULL;
    }
    return m;
}

/* Bytes a fit needs: parameters with gradients, Adam moments and the best copy (5 floats each),
 * a batch's activations, the standardised inputs of all entities. width = theory counts
 * width_max (an upper bound). */
static double jt_memory_bytes(const kvset *kv, const est_shape *sh)
{
    jt_param p;
    const char *bad = NULL;
    if (jt_parse(kv, &p, &bad))
        return 0;
    double w = p.width_theory ? p.width_max : p.width, L = p.depth, B = p.batch;
    double C = (double)sh->user_dim + sh->item_dim;
    double ids = p.ids ? (double)sh->n_users + sh->n_items : 0.0;
    double w1 = L > 0 ? w : 1;
    double par = (C + ids) * w1 + w1 + (L > 0 ? (L - 1) * (w * w + w) + w + 1 : 0);
    double maxdim = C > w ? C : w;
    return 4.0 * (5 * par + B * (C + L * w + 1 + 2 * maxdim) +
                  (double)sh->n_users * sh->user_dim + (double)sh->n_items * sh->item_dim);
}

static const param_condition jt_conditions[] = {
    {"width_scale", "width", "theory"},
    {"width_max", "width", "theory"},
    {NULL, NULL, NULL},
};

const est_method est_joint = {
    .name = "joint",
    .params = jt_params,
    .conditions = jt_conditions,
    .cold_capable = 1,
    .needs_truth = 0,
    .needs_covariates = 0,
    .memory_bytes = jt_memory_bytes,
    .check_parameter = jt_check_parameter,
    .train = jt_train,
    .predict = jt_predict,
    .free_model = jt_free,
};
