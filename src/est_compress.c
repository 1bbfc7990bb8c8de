/* est_compress.c — the `compress` method: a base inner-product model (twotower | mf) whose
 * ITEM vectors are compressed, scored as a retrieval index against exact dense retrieval.
 *
 * train: fits the base method (keys of [method.<base>] given as one string, base_keys =
 * "width=64 embed_dim=128", space-separated key=value pairs checked against the base's table;
 * the data.* keys the runner passes go through too), takes its user and item vectors
 * (est_method.vectors: <u, v> = base prediction), and fits the codec on the item vectors:
 *   none  the float32 vectors (4 d bytes per item; the reference);
 *   int8  per item a float32 scale max|v| / 127 and d int8 values (d + 4 bytes; `compression`
 *         is ignored: its ratio is 4d / (d + 4));
 *   pca   centred PCA of the item vectors (LAPACK dsyev on the d x d scatter matrix),
 *         m = round(B / 4) leading components (4 m bytes; the mean and the components are
 *         shared, not counted per item); score <u, mean> + <P u, c_v>;
 *   rp    Gaussian random projection R (m x d, N(0, 1/m)), m = round(B / 4): score <R u, R v>;
 *   sae   CompresSAE (nn_sae.h) trained on the L2-normalised item vectors (latent s, k, epochs,
 *         lr, batch); an item stores its k (int32 index, float32 value) pairs and its norm |v|
 *         (8 k + 4 bytes; k = max(1, round((B - 4) / 8)) unless k > 0 is given).
 * where B = 4 d / compression is the target bytes per item, and d counts the columns that vary
 * over the items (constant_columns = drop, the default: a column equal on every item, like the
 * 1 of the two-tower's [g, 1] or MF's [q, b, 1], adds one number per user to every score, so it
 * changes no ranking and is not stored per item; keep: compressed like the others — then a
 * large user weight on it, MF's mu + b_u, turns its reconstruction error into ranking noise). SAE retrieval, two ways, both over
 * the items' codes in CSR (O(k) per pair):
 *   sparse (cmp_*)      the user vector is normalised and encoded by the same SAE: score =
 *                       |v| <s_u, s_v> / |s_v| (sparse x sparse);
 *   reconstructed (cmp_rec_*)  score = |v| <u, D^T s_v> / |D^T s_v| = |v| s_v^T (D u) / |xh_v|:
 *                       the kernel s^T (D D^T) s with the user kept dense (D u computed once
 *                       per query).
 * (the norms |s_v|, |xh_v| follow from the stored code and the shared decoder: not stored).
 *
 * extra_metrics (all users, or eval_users of them evenly spaced; the full item catalogue,
 * excluding nothing — no seen-item filter, cold items included): cmp_recall_at_10/100 =
 * |compressed top-K ∩ exact dense top-K| / K (ties: lower item id first); on synthetic data
 * cmp_regret_at_10 = (oracle value of the oracle's catalogue top-10 - that of the compressed
 * top-10) / 10, and cmp_dense_regret_at_10 for the uncompressed vectors; cmp_bytes_per_item,
 * cmp_ratio = 4 d / bytes, cmp_dim; cmp_qps and cmp_dense_qps: queries per second of scoring
 * the catalogue and selecting the top 100 (dense: sgemm over batches of 64 users; pca/rp/int8
 * the same on their codes, int8 dequantised to float); SAE: cmp_recon_cos (mean cosine of the
 * items' k-reconstructions), cmp_sae_loss (last epoch's mean training loss).
 * predict() = the base method's prediction, so the standard metrics are the base's.
 */
#include "estimator.h"
#include "metrics.h"
#include "nn_sae.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* LAPACK's symmetric eigensolver (in libopenblas; Fortran ABI, hidden string lengths last) */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                   double *w, double *work, const int *lwork, int *info, size_t, size_t);
#include <gsl/gsl_rng.h>

static const param_spec cmp_params[] = {
    {"base", PT_ENUM, "twotower", 0, 0, "twotower|mf", "the inner-product model whose item vectors are compressed"},
    {"base_keys", PT_STRING, "", 0, 0, NULL,
     "keys of [method.<base>] as space-separated key=value pairs, e.g. 'embed_dim=128 width=64'"},
    {"base_seed", PT_INT, "0", 0, 1e15, NULL,
     "seed of the base fit; 0 = the cell's training seed (which differs between cells: give a "
     "number so that every codec and ratio compresses the same base model)"},
    {"codec", PT_ENUM, "sae", 0, 0, "sae|pca|int8|rp|none",
     "item codec: CompresSAE, PCA truncation, int8 scalar quantisation, random projection, none"},
    {"compression", PT_REAL, "12", 1, 1e6, NULL,
     "target ratio 4d / (bytes per item); sets k (sae) or m (pca, rp); ignored by int8, none"},
    {"k", PT_INT, "0", 0, 65536, NULL, "sae: non-zeros per code; 0 = from compression"},
    {"latent", PT_INT, "512", 1, 65536, NULL, "sae: latent size s"},
    {"epochs", PT_INT, "100", 1, 1000000, NULL, "sae: passes over the item vectors"},
    {"lr", PT_REAL, "0.001", 1e-9, 10, NULL, "sae: Adam learning rate"},
    {"batch", PT_INT, "256", 1, 1 << 20, NULL, "sae: item vectors per minibatch"},
    {"constant_columns", PT_ENUM, "drop", 0, 0, "drop|keep",
     "drop: vector columns equal on every item (the 1 of [g, 1]) are left out before compressing "
     "(they change no ranking and need no per-item bytes; d counts the others); keep: compress them"},
    {"eval_users", PT_INT, "0", 0, 1 << 30, NULL,
     "users scored in the retrieval metrics (evenly spaced); 0 = all"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static const param_condition cmp_conditions[] = {
    {"k", "codec", "sae"},
    {"latent", "codec", "sae"},
    {"epochs", "codec", "sae"},
    {"lr", "codec", "sae"},
    {"batch", "codec", "sae"},
    {"compression", "codec", "sae|pca|rp"},
    {NULL, NULL, NULL},
};

enum { C_SAE, C_PCA, C_INT8, C_RP, C_NONE };

typedef struct {
    const est_method *base;
    kvset base_kv;
    int codec, k, latent, epochs, batch, eval_users;
    double compression, lr;
    uint64_t base_seed;
    int drop_constant;
} cmp_param;

static void cmp_param_free(cmp_param *p)
{
    kv_free(&p->base_kv);
}

static int choice(const char *choices, const char *v)
{
    int k = 0;
    for (const char *p = choices; *p; k++) {
        size_t n = strcspn(p, "|");
        if (strlen(v) == n && strncmp(p, v, n) == 0)
            return k;
        p += n + (p[n] == '|');
    }
    return -1;
}

/* NULL when valid, else a message and *bad_key. Fills p (p->base_kv to free with
 * cmp_param_free, also on failure). */
static const char *cmp_parse(const kvset *kv, cmp_param *p, const char **bad_key)
{
    static _Thread_local char msg[400];
    memset(p, 0, sizeof *p);
    kv_init(&p->base_kv);
    const char *m = param_check_table(cmp_params, kv, bad_key);
    if (m)
        return m;
    p->base = est_find(param_str(cmp_params, kv, "base"));
    p->codec = choice("sae|pca|int8|rp|none", param_str(cmp_params, kv, "codec"));
    p->compression = param_real(cmp_params, kv, "compression");
    p->k = (int)param_int(cmp_params, kv, "k");
    p->latent = (int)param_int(cmp_params, kv, "latent");
    p->epochs = (int)param_int(cmp_params, kv, "epochs");
    p->lr = param_real(cmp_params, kv, "lr");
    p->batch = (int)param_int(cmp_params, kv, "batch");
    p->eval_users = (int)param_int(cmp_params, kv, "eval_users");
    p->base_seed = (uint64_t)param_int(cmp_params, kv, "base_seed");
    p->drop_constant = strcmp(param_str(cmp_params, kv, "constant_columns"), "drop") == 0;
    if (!p->base || !p->base->vectors) {
        *bad_key = "base";
        return "the base method has no inner-product vectors";
    }
    if (p->codec == C_SAE && p->k > p->latent) {
        *bad_key = "k";
        snprintf(msg, sizeof msg, "k = %d exceeds latent = %d", p->k, p->latent);
        return msg;
    }
    /* base_keys: "key=value key=value", each a key of the base's table */
    const char *s = param_str(cmp_params, kv, "base_keys");
    *bad_key = "base_keys";
    while (*s) {
        size_t sp = strspn(s, " \t");
        s += sp;
        size_t n = strcspn(s, " \t");
        if (!n)
            break;
        char tok[256];
        if (n >= sizeof tok) {
            snprintf(msg, sizeof msg, "a pair longer than %zu characters", sizeof tok - 1);
            return msg;
        }
        memcpy(tok, s, n);
        tok[n] = '\0';
        s += n;
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1]) {
            snprintf(msg, sizeof msg, "'%s' is not key=value (write 'key=value key=value')", tok);
            return msg;
        }
        *eq = '\0';
        if (!param_find(p->base->params, tok)) {
            const char *near = param_nearest(p->base->params, tok);
            snprintf(msg, sizeof msg, "'%s' is not a key of [method.%s]%s%s%s", tok,
                     p->base->name, near ? "; did you mean '" : "", near ? near : "",
                     near ? "'?" : "");
            return msg;
        }
        if (kv_set(&p->base_kv, tok, eq + 1) != 0)
            return "out of memory";
    }
    const char *bk = NULL;
    if ((m = param_check_table(p->base->params, &p->base_kv, &bk)) ||
        (p->base->check_parameter && (m = p->base->check_parameter(&p->base_kv, &bk)))) {
        snprintf(msg, sizeof msg, "%s (key %s of [method.%s])", m, bk ? bk : "?", p->base->name);
        return msg;
    }
    *bad_key = NULL;
    return NULL;
}

static const char *cmp_check_parameter(const kvset *params, const char **bad_key)
{
    cmp_param p;
    const char *m = cmp_parse(params, &p, bad_key);
    cmp_param_free(&p);
    return m;
}

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    const est_method *base;
    void *bm;                 /* the base model */
    int codec, dim, nu, ni;
    float *U, *V;             /* (nu, dim), (ni, dim) dense vectors */
    double bytes;             /* per item */
    /* dense-form codecs (none, int8, pca, rp): scores = T(u) (m) . C[i] (m) */
    int m;
    float *C;                 /* (ni, m) */
    float *T;                 /* (m, dim) query map, NULL = identity */
    /* sae */
    nn_sae *sae;
    int32_t *idx;             /* (ni, k) */
    float *val;               /* (ni, k) */
    float *sc_sp, *sc_rec;    /* (ni) |v| / |s_v|, |v| / |xh_v| */
    double recon_cos, sae_loss;
    int eval_users;
} cmp_model;

static void cmp_free(void *model)
{
    cmp_model *M = model;
    if (!M)
        return;
    if (M->bm)
        M->base->free_model(M->bm);
    free(M->U);
    free(M->V);
    free(M->C);
    free(M->T);
    nn_sae_free(M->sae);
    free(M->idx);
    free(M->val);
    free(M->sc_sp);
    free(M->sc_rec);
    free(M);
}

static void cmp_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                        const int32_t *i, double *out)
{
    const cmp_model *M = model;
    M->base->predict(M->bm, d, n, u, i, out);
}

static double norm2f(const float *x, int n)
{
    double s = 0;
    for (int c = 0; c < n; c++)
        s += (double)x[c] * x[c];
    return sqrt(s);
}

static int fit_pca(cmp_model *M, int m)
{
    int dim = M->dim, ni = M->ni, info = 0, lwork = -1;
    double *A = calloc((size_t)dim * dim, sizeof *A), *ev = malloc((size_t)dim * sizeof *ev);
    double *mu = calloc(dim, sizeof *mu), wq = 0, *work = NULL;
    M->T = malloc((size_t)m * dim * sizeof(float));
    M->C = malloc((size_t)ni * m * sizeof(float));
    int rc = -1;
    if (!A || !ev || !mu || !M->T || !M->C)
        goto out;
    for (int i = 0; i < ni; i++)
        for (int c = 0; c < dim; c++)
            mu[c] += M->V[(size_t)i * dim + c] / (double)ni;
    for (int i = 0; i < ni; i++) {   /* scatter matrix, lower triangle (column-major upper) */
        const float *v = M->V + (size_t)i * dim;
        for (int a = 0; a < dim; a++)
            for (int b = 0; b <= a; b++)
                A[(size_t)a * dim + b] += (v[a] - mu[a]) * (v[b] - mu[b]);
    }
    dsyev_("V", "U", &dim, A, &dim, ev, &wq, &lwork, &info, 1, 1);
    lwork = info == 0 && wq >= 3 * dim ? (int)wq : 3 * dim;
    if (!(work = malloc((size_t)lwork * sizeof *work)))
        goto out;
    dsyev_("V", "U", &dim, A, &dim, ev, work, &lwork, &info, 1, 1);
    if (info != 0)
        goto out;
    /* eigenvalues ascending; eigenvector j is column j = A[j dim .. j dim + dim) */
    for (int j = 0; j < m; j++)
        for (int c = 0; c < dim; c++)
            M->T[(size_t)j * dim + c] = (float)A[(size_t)(dim - 1 - j) * dim + c];
    /* codes c_v = P (v - mu); the <u, mu> term is the same for every item of a query: it does
     * not change a ranking, so scores drop it */
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < m; j++) {
            double s = 0;
            for (int c = 0; c < dim; c++)
                s += M->T[(size_t)j * dim + c] * (M->V[(size_t)i * dim + c] - mu[c]);
            M->C[(size_t)i * m + j] = (float)s;
        }
    rc = 0;
out:
    free(A);
    free(ev);
    free(mu);
    free(work);
    return rc;
}

static int fit_sae(cmp_model *M, const cmp_param *p, int k, gsl_rng *rng, char *err, size_t errlen)
{
    int dim = M->dim, ni = M->ni;
    int B = p->batch < ni ? p->batch : ni;
    M->sae = nn_sae_new(dim, p->latent, k, B, (float)p->lr, err, errlen);
    float *X = malloc((size_t)ni * dim * sizeof *X), *xb = malloc((size_t)B * dim * sizeof *xb);
    int *perm = malloc((size_t)ni * sizeof *perm);
    M->idx = malloc((size_t)ni * k * sizeof *M->idx);
    M->val = malloc((size_t)ni * k * sizeof *M->val);
    M->sc_sp = malloc((size_t)ni * sizeof *M->sc_sp);
    M->sc_rec = malloc((size_t)ni * sizeof *M->sc_rec);
    float *xh = malloc((size_t)dim * sizeof *xh);
    int rc = -1;
    if (!M->sae)
        goto out;
    if (!X || !xb || !perm || !M->idx || !M->val || !M->sc_sp || !M->sc_rec || !xh) {
        snprintf(err, errlen, "out of memory (CompresSAE data)");
        goto out;
    }
    for (int i = 0; i < ni; i++) {
        double n = norm2f(M->V + (size_t)i * dim, dim);
        for (int c = 0; c < dim; c++)
            X[(size_t)i * dim + c] = n > 0 ? (float)(M->V[(size_t)i * dim + c] / n) : 0.0f;
        perm[i] = i;
    }
    nn_sae_init(M->sae, rng);
    for (int ep = 0; ep < p->epochs; ep++) {
        for (int i = ni - 1; i > 0; i--) {   /* Fisher-Yates */
            int j = (int)gsl_rng_uniform_int(rng, (unsigned long)i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        double sum = 0;
        int nb = 0;
        for (int at = 0; at < ni; at += B) {
            int b = ni - at < B ? ni - at : B;
            for (int r = 0; r < b; r++)
                memcpy(xb + (size_t)r * dim, X + (size_t)perm[at + r] * dim, dim * sizeof *xb);
            sum += nn_sae_step(M->sae, xb, b);
            nb++;
        }
        M->sae_loss = sum / nb;
        if (!isfinite(M->sae_loss)) {
            snprintf(err, errlen, "CompresSAE: non-finite loss at epoch %d", ep + 1);
            goto out;
        }
    }
    double cs = 0;
    for (int i = 0; i < ni; i++) {
        int32_t *ix = M->idx + (size_t)i * k;
        float *vl = M->val + (size_t)i * k;
        nn_sae_encode(M->sae, X + (size_t)i * dim, ix, vl);
        memset(xh, 0, dim * sizeof *xh);
        double sn = 0;
        for (int q = 0; q < k; q++) {
            sn += (double)vl[q] * vl[q];
            for (int c = 0; c < dim; c++)
                xh[c] += vl[q] * M->sae->D[(size_t)ix[q] * dim + c];
        }
        double vn = norm2f(M->V + (size_t)i * dim, dim), hn = norm2f(xh, dim), dot = 0;
        for (int c = 0; c < dim; c++)
            dot += (double)xh[c] * X[(size_t)i * dim + c];
        cs += hn > 0 ? dot / hn : 0;
        M->sc_sp[i] = sn > 0 ? (float)(vn / sqrt(sn)) : 0.0f;
        M->sc_rec[i] = hn > 0 ? (float)(vn / hn) : 0.0f;
    }
    M->recon_cos = cs / ni;
    rc = 0;
out:
    free(X);
    free(xb);
    free(perm);
    free(xh);
    return rc;
}

static void *cmp_train(const est_fit_ctx *ctx)
{
    cmp_param p;
    const char *bad = NULL, *msg = cmp_parse(ctx->params, &p, &bad);
    if (msg) {
        snprintf(ctx->err, ctx->errlen, "%s: %s", bad ? bad : "?", msg);
        cmp_param_free(&p);
        return NULL;
    }
    const ds_data *d = ctx->data;
    cmp_model *M = calloc(1, sizeof *M);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int32_t *ids = NULL;
    if (!M || !rng)
        goto oom;
    gsl_rng_set(rng, (unsigned long)(ctx->seed ^ 0x5ae5ae5aULL));
    M->base = p.base;
    M->codec = p.codec;
    M->eval_users = p.eval_users;
    /* the base sees its keys and the runner's data.* keys */
    for (int q = 0; q < ctx->params->n; q++)
        if (strncmp(ctx->params->key[q], "data.", 5) == 0 &&
            kv_set(&p.base_kv, ctx->params->key[q], ctx->params->val[q]) != 0)
            goto oom;
    est_fit_ctx bctx = *ctx;
    bctx.params = &p.base_kv;
    if (p.base_seed)
        bctx.seed = p.base_seed;
    if (!(M->bm = p.base->train(&bctx)))
        goto fail;   /* ctx->err filled by the base */
    M->nu = d->n_users;
    M->ni = d->n_items;
    int dim = M->dim = p.base->vectors(M->bm, d, 0, 0, NULL, NULL);
    int nmax = M->nu > M->ni ? M->nu : M->ni;
    ids = malloc((size_t)nmax * sizeof *ids);
    M->U = malloc((size_t)M->nu * dim * sizeof *M->U);
    M->V = malloc((size_t)M->ni * dim * sizeof *M->V);
    if (!ids || !M->U || !M->V)
        goto oom;
    for (int q = 0; q < nmax; q++)
        ids[q] = q;
    if (p.base->vectors(M->bm, d, 0, M->nu, ids, M->U) != dim ||
        p.base->vectors(M->bm, d, 1, M->ni, ids, M->V) != dim)
        goto oom;
    if (p.drop_constant) {
        /* columns equal on every item add the same amount to every item's score for a user:
         * they change no ranking and are not stored per item (est_compress.c header) */
        int kept = 0;
        for (int c = 0; c < dim; c++) {
            int same = 1;
            for (int i = 1; i < M->ni && same; i++)
                same = M->V[(size_t)i * dim + c] == M->V[c];
            if (same && M->ni > 1)
                continue;
            for (int i = 0; i < M->ni; i++)
                M->V[(size_t)i * dim + kept] = M->V[(size_t)i * dim + c];
            for (int u = 0; u < M->nu; u++)
                M->U[(size_t)u * dim + kept] = M->U[(size_t)u * dim + c];
            kept++;
        }
        if (kept == 0) {
            snprintf(ctx->err, ctx->errlen, "compress: every item vector is the same");
            goto fail;
        }
        /* rows are compacted in place in row order: reread them with the new stride */
        if (kept < dim) {
            for (int i = 0; i < M->ni; i++)
                memmove(M->V + (size_t)i * kept, M->V + (size_t)i * dim, (size_t)kept * sizeof(float));
            for (int u = 0; u < M->nu; u++)
                memmove(M->U + (size_t)u * kept, M->U + (size_t)u * dim, (size_t)kept * sizeof(float));
        }
        dim = M->dim = kept;
    }
    double target = 4.0 * dim / p.compression;    /* bytes per item */
    int m = (int)lround(target / 4.0);
    m = m < 1 ? 1 : m > dim ? dim : m;
    int k = p.k > 0 ? p.k : (int)lround((target - 4.0) / 8.0);
    k = k < 1 ? 1 : k > p.latent ? p.latent : k;
    switch (p.codec) {
    case C_NONE:
    case C_INT8:
        M->m = dim;
        M->C = malloc((size_t)M->ni * dim * sizeof *M->C);
        if (!M->C)
            goto oom;
        memcpy(M->C, M->V, (size_t)M->ni * dim * sizeof *M->C);
        M->bytes = 4.0 * dim;
        if (p.codec == C_INT8) {
            M->bytes = dim + 4.0;
            for (int i = 0; i < M->ni; i++) {
                float *v = M->C + (size_t)i * dim, mx = 0;
                for (int c = 0; c < dim; c++)
                    mx = fabsf(v[c]) > mx ? fabsf(v[c]) : mx;
                float scale = mx > 0 ? mx / 127.0f : 1.0f;
                for (int c = 0; c < dim; c++)
                    v[c] = scale * (float)lrintf(v[c] / scale);
            }
        }
        break;
    case C_PCA:
        M->m = m;
        M->bytes = 4.0 * m;
        if (fit_pca(M, m) != 0)
            goto oom;
        break;
    case C_RP:
        M->m = m;
        M->bytes = 4.0 * m;
        M->T = malloc((size_t)m * dim * sizeof *M->T);
        M->C = malloc((size_t)M->ni * m * sizeof *M->C);
        if (!M->T || !M->C)
            goto oom;
        for (size_t q = 0; q < (size_t)m * dim; q++)
            M->T[q] = (float)(nn_sae_gauss(rng) / sqrt((double)m));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M->ni, m, dim, 1.0f, M->V, dim,
                    M->T, dim, 0.0f, M->C, m);
        break;
    case C_SAE:
        M->m = k;
        M->bytes = 8.0 * k + 4.0;
        if (fit_sae(M, &p, k, rng, ctx->err, ctx->errlen) != 0)
            goto fail;
        break;
    }
    size_t at = strlen(ctx->curves->note);
    if (at < sizeof ctx->curves->note - 1)
        snprintf(ctx->curves->note + at, sizeof ctx->curves->note - at,
                 "%scompress: base %s, codec %s, dim %d, %s %d, %.1f bytes/item",
                 at ? "; " : "", p.base->name, param_str(cmp_params, ctx->params, "codec"), dim,
                 p.codec == C_SAE ? "k" : "m", M->m, M->bytes);
    free(ids);
    gsl_rng_free(rng);
    cmp_param_free(&p);
    return M;
oom:
    snprintf(ctx->err, ctx->errlen, "out of memory (compress)");
fail:
    free(ids);
    if (rng)
        gsl_rng_free(rng);
    cmp_free(M);
    cmp_param_free(&p);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* retrieval */

static int better(const float *sc, int i, int j)   /* i ranks above j */
{
    return sc[i] > sc[j] || (sc[i] == sc[j] && i < j);
}

static void heap_down(int *h, int n, int p, const float *sc)
{
    for (;;) {
        int l = 2 * p + 1, r = l + 1, w = p;
        if (l < n && better(sc, h[w], h[l]))
            w = l;
        if (r < n && better(sc, h[w], h[r]))
            w = r;
        if (w == p)
            return;
        int t = h[p];
        h[p] = h[w];
        h[w] = t;
        p = w;
    }
}

/* out (K) = the K best items of sc (n), best first (score descending, lower id first) */
static void topk_desc(const float *sc, int n, int K, int *out)
{
    for (int i = 0; i < K; i++)
        out[i] = i;
    for (int p = K / 2 - 1; p >= 0; p--)
        heap_down(out, K, p, sc);
    for (int i = K; i < n; i++)
        if (better(sc, i, out[0])) {
            out[0] = i;
            heap_down(out, K, 0, sc);
        }
    for (int n2 = K - 1; n2 > 0; n2--) {
        int t = out[0];
        out[0] = out[n2];
        out[n2] = t;
        heap_down(out, n2, 0, sc);
    }
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define QB 64   /* users per dense scoring batch */

/* Top-K lists (nq, K) of users us[0..nq) over the whole catalogue. mode 0: exact dense;
 * 1: the codec (sae: sparse codes); 2: sae reconstructed kernel. Returns seconds, -1 on OOM. */
static double retrieve(const cmp_model *M, int mode, const int *us, int nq, int K, int *top)
{
    int dim = M->dim, ni = M->ni;
    int dense = mode == 0 || M->codec != C_SAE;
    int w = mode == 0 ? dim : M->m;                       /* dense width of the scored codes */
    const float *C = mode == 0 ? M->V : M->C;
    const float *T = mode == 0 ? NULL : M->T;
    int s = M->sae ? M->sae->s : 1;
    float *Q = malloc((size_t)QB * (dense ? w : s) * sizeof *Q);
    float *S = malloc((size_t)QB * ni * sizeof *S);
    float *Ub = malloc((size_t)QB * dim * sizeof *Ub);
    int32_t *ci = malloc((size_t)(M->sae ? M->sae->k : 1) * sizeof *ci);
    float *cv = malloc((size_t)(M->sae ? M->sae->k : 1) * sizeof *cv);
    if (!Q || !S || !Ub || !ci || !cv) {
        free(Q);
        free(S);
        free(Ub);
        free(ci);
        free(cv);
        return -1;
    }
    double t0 = now_s();
    for (int at = 0; at < nq; at += QB) {
        int b = nq - at < QB ? nq - at : QB;
        for (int r = 0; r < b; r++)
            memcpy(Ub + (size_t)r * dim, M->U + (size_t)us[at + r] * dim, dim * sizeof *Ub);
        if (dense) {
            const float *A = Ub;
            if (T) {   /* Q (b, w) = Ub (b, dim) @ T^T (dim, w) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, w, dim, 1.0f, Ub, dim, T,
                            dim, 0.0f, Q, w);
                A = Q;
            }
            /* S (b, ni) = A (b, w) @ C^T (w, ni) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, ni, w, 1.0f, A, w, C, w,
                        0.0f, S, ni);
        } else {
            const nn_sae *sae = M->sae;
            int k = sae->k;
            for (int r = 0; r < b; r++) {
                float *q = Q + (size_t)r * s, *u = Ub + (size_t)r * dim;
                const float *scale = mode == 1 ? M->sc_sp : M->sc_rec;
                if (mode == 1) {   /* q = the user's sparse code, scattered */
                    double n = norm2f(u, dim);
                    for (int c = 0; c < dim; c++)
                        u[c] = n > 0 ? (float)(u[c] / n) : 0.0f;
                    memset(q, 0, (size_t)s * sizeof *q);
                    nn_sae_encode((nn_sae *)sae, u, ci, cv);
                    for (int j = 0; j < k; j++)
                        q[ci[j]] = cv[j];
                } else {           /* q = D u */
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, s, dim, 1.0f, sae->D, dim, u, 1,
                                0.0f, q, 1);
                }
                float *sr = S + (size_t)r * ni;
                for (int i = 0; i < ni; i++) {
                    const int32_t *ix = M->idx + (size_t)i * k;
                    const float *vl = M->val + (size_t)i * k;
                    float acc = 0;
                    for (int j = 0; j < k; j++)
                        acc += vl[j] * q[ix[j]];
                    sr[i] = scale[i] * acc;
                }
            }
        }
        for (int r = 0; r < b; r++)
            topk_desc(S + (size_t)r * ni, ni, K, top + (size_t)(at + r) * K);
    }
    double t = now_s() - t0;
    free(Q);
    free(S);
    free(Ub);
    free(ci);
    free(cv);
    return t;
}

static double overlap(const int *a, const int *b, int K)
{
    int hit = 0;
    for (int x = 0; x < K; x++)
        for (int y = 0; y < K; y++)
            if (a[x] == b[y]) {
                hit++;
                break;
            }
    return (double)hit / K;
}

/* Mean over users of |a top-K ∩ b top-K| / K, both lists (nq, stride) best first. */
static double mean_recall(const int *a, const int *b, int nq, int stride, int K)
{
    double s = 0;
    for (int q = 0; q < nq; q++)
        s += overlap(a + (size_t)q * stride, b + (size_t)q * stride, K);
    return s / nq;
}

/* Mean over the users of the regret@K10 of each mode's list (tops[mode], rows of stride)
 * against the oracle's catalogue top-K10: reg[mode]. Oracle values in double; 0 or -1. */
static int regrets(const ds_data *d, const int *us, int nq, int *const *tops, int modes,
                   int stride, int K10, double *reg)
{
    int ni = d->n_items;
    double *o = malloc((size_t)ni * sizeof *o);
    float *of = malloc((size_t)ni * sizeof *of);
    int *best = malloc((size_t)K10 * sizeof *best);
    if (!o || !of || !best) {
        free(o);
        free(of);
        free(best);
        return -1;
    }
    for (int md = 0; md < modes; md++)
        reg[md] = 0;
    for (int q = 0; q < nq; q++) {
        for (int i = 0; i < ni; i++) {
            o[i] = ds_oracle(d, us[q], i);
            of[i] = (float)o[i];
        }
        topk_desc(of, ni, K10, best);
        double opt = 0;
        for (int x = 0; x < K10; x++)
            opt += o[best[x]];
        for (int md = 0; md < modes; md++) {
            double got = 0;
            for (int x = 0; x < K10; x++)
                got += o[tops[md][(size_t)q * stride + x]];
            reg[md] += (opt - got) / K10;
        }
    }
    for (int md = 0; md < modes; md++)
        reg[md] /= nq;
    free(o);
    free(of);
    free(best);
    return 0;
}

static int cmp_extra(const void *model, const ds_data *d, metric_set *out)
{
    const cmp_model *M = model;
    int ni = M->ni, nu = M->nu;
    int nq = M->eval_users > 0 && M->eval_users < nu ? M->eval_users : nu;
    int K = ni < 100 ? ni : 100, K10 = ni < 10 ? ni : 10;
    int modes = M->codec == C_SAE ? 3 : 2;
    int *us = malloc((size_t)nq * sizeof *us);
    int *top[3] = {NULL, NULL, NULL};
    double secs[3] = {0, 0, 0}, reg[3];
    int rc = -1;
    if (!us || nq < 1 || K < 1)
        goto out;
    for (int q = 0; q < nq; q++)
        us[q] = (int)((long)q * nu / nq);
    for (int md = 0; md < modes; md++) {
        if (!(top[md] = malloc((size_t)nq * K * sizeof(int))))
            goto out;
        if ((secs[md] = retrieve(M, md, us, nq, K, top[md])) < 0)
            goto out;
    }
    metrics_add(out, "cmp_recall_at_10", mean_recall(top[0], top[1], nq, K, K10));
    metrics_add(out, "cmp_recall_at_100", mean_recall(top[0], top[1], nq, K, K));
    if (modes == 3) {
        metrics_add(out, "cmp_rec_recall_at_10", mean_recall(top[0], top[2], nq, K, K10));
        metrics_add(out, "cmp_rec_recall_at_100", mean_recall(top[0], top[2], nq, K, K));
    }
    if (d->synthetic && d->truth) {
        if (regrets(d, us, nq, top, modes, K, K10, reg) != 0)
            goto out;
        metrics_add(out, "cmp_dense_regret_at_10", reg[0]);
        metrics_add(out, "cmp_regret_at_10", reg[1]);
        if (modes == 3)
            metrics_add(out, "cmp_rec_regret_at_10", reg[2]);
    }
    metrics_add(out, "cmp_dim", M->dim);
    metrics_add(out, "cmp_bytes_per_item", M->bytes);
    metrics_add(out, "cmp_ratio", 4.0 * M->dim / M->bytes);
    metrics_add(out, "cmp_dense_qps", nq / (secs[0] > 1e-9 ? secs[0] : 1e-9));
    metrics_add(out, "cmp_qps", nq / (secs[1] > 1e-9 ? secs[1] : 1e-9));
    if (modes == 3) {
        metrics_add(out, "cmp_rec_qps", nq / (secs[2] > 1e-9 ? secs[2] : 1e-9));
        metrics_add(out, "cmp_recon_cos", M->recon_cos);
        metrics_add(out, "cmp_sae_loss", M->sae_loss);
    }
    rc = 0;
out:
    free(us);
    for (int md = 0; md < 3; md++)
        free(top[md]);
    return rc;
}

const est_method est_compress = {
    .name = "compress",
    .params = cmp_params,
    .conditions = cmp_conditions,
    .cold_capable = 1,
    .check_parameter = cmp_check_parameter,
    .train = cmp_train,
    .predict = cmp_predict,
    .free_model = cmp_free,
    .extra_metrics = cmp_extra,
};
