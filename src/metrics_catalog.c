/* metrics_catalog.c — ranking over the whole item catalogue (SPEC section 6; issue 15).
 *
 * Real data: for every user of the test split with at least one relevant test item (rating >=
 * threshold), the model scores EVERY item of the catalogue except those the user has in the
 * excluded splits (train and valid: items the user is known to have rated already). The top k
 * of that ranking (score descending, ties by item id ascending) is compared with the user's
 * relevant test items: items the user never rated count as not relevant.
 * catalog_opts.max_pairs > 0 scores an evenly spaced subset of those users (synthetic data).
 * Synthetic data (metrics_catalog_oracle): the catalogue is the training items, the users are
 * the training users (an evenly spaced subset when users x items exceeds CAT_ORACLE_PAIRS), and
 * the relevant items of a user are the oracle's top k among the same candidates (ties by item
 * id): the truth replaces held-out ratings.
 *
 * Per user (hits = relevant items in the top k, n_rel = relevant items, w_i = max(pop_i, 1)^-gamma
 * with pop_i the item's number of training pairs):
 *   precision@k = hits / k;   recall@k = hits / n_rel;   calibrated recall@k = hits / min(k, n_rel);
 *   AP@k = sum over relevant ranks r <= k of precision@r, / min(k, n_rel);
 *   NDCG@k = DCG / IDCG with binary gains, discount 1 / log2(rank + 1);
 *   pop recall@k = sum of w over hits / sum of w over the relevant items (Steck 2011);
 *   pop NDCG@k = sum over hit ranks r of w_i / log2(r + 1), / the same for the relevant items
 *   sorted by w descending in the first min(k, n_rel) ranks (a perfect ranking scores 1).
 * With gamma = 0 every w is 1 and the pop metrics equal recall and NDCG exactly.
 * Over all users' top-k lists (exposure e_i = number of lists holding item i, over the
 * n_cat catalogue items): coverage@k = #{i: e_i > 0} / n_cat; Gini of exposure =
 * sum_j (2j - n_cat - 1) e_(j) / (n_cat sum e) with e sorted ascending (0 = every item equally
 * exposed, -> 1 = one item takes all); average recommendation popularity = mean over users of
 * the mean pop_i of their top k.
 * Users are scored in blocks (one predict call per block of users x catalogue).
 */
#include "metrics.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CAT_BLOCK_PAIRS (1L << 18)   /* predictions per predict() call */

/* Is item i in the sorted array a[0..n)? */
static int in_sorted(const int32_t *a, long n, int32_t i)
{
    long lo = 0, hi = n;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (a[mid] == i)
            return 1;
        if (a[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Per-user item lists of a set of splits in CSR form: items of user u are
 * items[start[u] .. start[u+1]), sorted ascending (duplicates kept). */
typedef struct {
    long *start;
    int32_t *items;
} user_items;

static void user_items_free(user_items *ui)
{
    free(ui->start);
    free(ui->items);
    ui->start = NULL;
    ui->items = NULL;
}

static int user_items_build(user_items *ui, int n_users, const ds_split *const *splits, int ns)
{
    ui->start = calloc((size_t)n_users + 1, sizeof *ui->start);
    long total = 0;
    for (int s = 0; s < ns; s++)
        total += splits[s]->n;
    ui->items = malloc((size_t)(total > 0 ? total : 1) * sizeof *ui->items);
    long *fill = calloc((size_t)n_users + 1, sizeof *fill);
    if (!ui->start || !ui->items || !fill) {
        free(fill);
        user_items_free(ui);
        return -1;
    }
    for (int s = 0; s < ns; s++)
        for (long j = 0; j < splits[s]->n; j++)
            ui->start[splits[s]->user[j] + 1]++;
    for (int u = 0; u < n_users; u++)
        ui->start[u + 1] += ui->start[u];
    for (int s = 0; s < ns; s++)
        for (long j = 0; j < splits[s]->n; j++) {
            int32_t u = splits[s]->user[j];
            ui->items[ui->start[u] + fill[u]++] = splits[s]->item[j];
        }
    for (int u = 0; u < n_users; u++)
        qsort(ui->items + ui->start[u], (size_t)(ui->start[u + 1] - ui->start[u]),
              sizeof *ui->items, cmp_i32);
    free(fill);
    return 0;
}

/* Insert (score, item) into the top list of length *len <= k (descending score, then ascending
 * item id). */
static void top_insert(double *ts, int32_t *ti, int *len, int k, double s, int32_t item)
{
    int n = *len;
    if (n == k && !(s > ts[n - 1] || (s == ts[n - 1] && item < ti[n - 1])))
        return;
    int p = n < k ? n : k - 1;
    while (p > 0 && (s > ts[p - 1] || (s == ts[p - 1] && item < ti[p - 1]))) {
        ts[p] = ts[p - 1];
        ti[p] = ti[p - 1];
        p--;
    }
    ts[p] = s;
    ti[p] = item;
    if (n < k)
        (*len)++;
}

void catalog_rank_free(catalog_rank *c)
{
    free(c->user);
    for (int q = 0; q < CAT_PER_USER; q++)
        free(c->per_user[q]);
    c->user = NULL;
    for (int q = 0; q < CAT_PER_USER; q++)
        c->per_user[q] = NULL;
}

/* Everything one ranking pass needs. */
typedef struct {
    const est_method *m;
    const void *model;
    const ds_data *d;
    int k, n_cat;                /* items 0..n_cat-1 form the catalogue */
    const int32_t *users;        /* users to score */
    long n_users;
    user_items known;            /* excluded items per user (train, valid) */
    user_items rel;              /* real data: relevant test items per user */
    const double *user_f, *item_g;   /* synthetic: f*(z_u) (per user row), g*(z_i); NULL = real */
    int p;
    double offset;
    double gamma;
    int keep_per_user;
} cat_job;

static int run_job(cat_job *j, catalog_rank *out)
{
    const int k = j->k, ni = j->n_cat;
    const ds_data *d = j->d;
    /* scores are ranked unclipped: the same data with an empty rating scale (estimator.h) */
    ds_data unclipped = *d;
    unclipped.rating_max = unclipped.rating_min;
    double *w = malloc((size_t)ni * sizeof *w);
    long *pop = calloc((size_t)ni, sizeof *pop);
    long *expo = calloc((size_t)ni, sizeof *expo);
    long per_block = CAT_BLOCK_PAIRS / ni > 0 ? CAT_BLOCK_PAIRS / ni : 1;
    size_t bp = (size_t)per_block * (size_t)ni;
    int32_t *pu = malloc(bp * sizeof *pu), *pi = malloc(bp * sizeof *pi);
    double *score = malloc(bp * sizeof *score);
    double *ts = malloc((size_t)k * sizeof *ts), *os = malloc((size_t)k * sizeof *os);
    int32_t *ti = malloc((size_t)k * sizeof *ti), *orl = malloc((size_t)k * sizeof *orl);
    double *wrel = NULL;
    long wrel_cap = 0;
    int rc = -1;
    if (!w || !pop || !expo || !pu || !pi || !score || !ts || !os || !ti || !orl)
        goto done;
    if (j->keep_per_user) {
        size_t m = (size_t)(j->n_users > 0 ? j->n_users : 1);
        if (!(out->user = malloc(m * sizeof *out->user)))
            goto done;
        for (int q = 0; q < CAT_PER_USER; q++)
            if (!(out->per_user[q] = malloc(m * sizeof *out->per_user[q])))
                goto done;
    }
    for (long t = 0; t < d->train.n; t++)
        if (d->train.item[t] >= 0 && d->train.item[t] < ni)
            pop[d->train.item[t]]++;
    for (int i = 0; i < ni; i++)
        w[i] = j->gamma == 0 ? 1.0 : pow(pop[i] > 1 ? (double)pop[i] : 1.0, -j->gamma);
    double sum[CAT_PER_USER] = {0}, sum_pop = 0;
    long counted = 0, avg_users = 0;
    int finite = 1;
    for (long b = 0; b < j->n_users; b += per_block) {
        long nb = j->n_users - b < per_block ? j->n_users - b : per_block;
        size_t np = 0;
        for (long q = 0; q < nb; q++)
            for (int i = 0; i < ni; i++) {
                pu[np] = j->users[b + q];
                pi[np++] = i;
            }
        j->m->predict(j->model, &unclipped, (long)np, pu, pi, score);
        for (long q = 0; q < nb; q++) {
            int32_t u = j->users[b + q];
            const int32_t *kn = j->known.items + j->known.start[u];
            long nkn = j->known.start[u + 1] - j->known.start[u];
            const double *sc = score + (size_t)q * ni;
            int len = 0, olen = 0;
            const double *fu = j->user_f ? j->user_f + (size_t)u * j->p : NULL;
            for (int i = 0; i < ni; i++) {
                if (in_sorted(kn, nkn, i))
                    continue;
                if (fu) {   /* synthetic: the oracle's own top k among the candidates */
                    const double *gi = j->item_g + (size_t)i * j->p;
                    double o = 0;   /* summed as synth_truth_rating does: ds_oracle's value */
                    for (int c = 0; c < j->p; c++)
                        o += fu[c] * gi[c];
                    top_insert(os, orl, &olen, k, o + j->offset, i);
                }
                if (!isfinite(sc[i])) {
                    finite = 0;
                    continue;
                }
                top_insert(ts, ti, &len, k, sc[i], i);
            }
            const int32_t *rl;
            long nrl;
            if (fu) {
                qsort(orl, (size_t)olen, sizeof *orl, cmp_i32);
                rl = orl;
                nrl = olen;
            } else {
                rl = j->rel.items + j->rel.start[u];
                nrl = j->rel.start[u + 1] - j->rel.start[u];
            }
            if (nrl == 0)
                continue;
            long hits = 0;
            double ap = 0, dcg = 0, idcg = 0, wh = 0, wt = 0, pdcg = 0, pidcg = 0, mp = 0;
            for (int r = 0; r < len; r++) {
                expo[ti[r]]++;
                mp += (double)pop[ti[r]];
                if (in_sorted(rl, nrl, ti[r])) {
                    hits++;
                    ap += (double)hits / (r + 1);
                    dcg += 1.0 / log2(r + 2.0);
                    wh += w[ti[r]];
                    pdcg += w[ti[r]] / log2(r + 2.0);
                }
            }
            if (len > 0) {
                sum_pop += mp / len;
                avg_users++;
            }
            long ideal = nrl < k ? nrl : k;
            for (long r = 0; r < ideal; r++)
                idcg += 1.0 / log2(r + 2.0);
            if (nrl > wrel_cap) {
                double *nw = realloc(wrel, (size_t)nrl * sizeof *nw);
                if (!nw)
                    goto done;
                wrel = nw;
                wrel_cap = nrl;
            }
            for (long r = 0; r < nrl; r++) {
                wrel[r] = w[rl[r]];
                wt += wrel[r];
            }
            qsort(wrel, (size_t)nrl, sizeof *wrel, cmp_desc);
            for (long r = 0; r < ideal; r++)
                pidcg += wrel[r] / log2(r + 2.0);
            double v[CAT_PER_USER];
            v[CAT_PRECISION] = (double)hits / k;
            v[CAT_RECALL] = (double)hits / nrl;
            v[CAT_MAP] = ap / (double)ideal;
            v[CAT_NDCG] = dcg / idcg;
            v[CAT_POP_RECALL] = wh / wt;
            v[CAT_POP_NDCG] = pdcg / pidcg;
            v[CAT_CALIBRATED_RECALL] = (double)hits / (double)ideal;
            for (int c = 0; c < CAT_PER_USER; c++)
                sum[c] += v[c];
            if (j->keep_per_user) {
                out->user[counted] = u;
                for (int c = 0; c < CAT_PER_USER; c++)
                    out->per_user[c][counted] = v[c];
            }
            counted++;
        }
    }
    out->n_users = counted;
    if (counted > 0) {
        double *mean[CAT_PER_USER] = {&out->precision, &out->recall, &out->map, &out->ndcg,
                                      &out->pop_recall, &out->pop_ndcg, &out->calibrated_recall};
        for (int c = 0; c < CAT_PER_USER; c++)
            *mean[c] = finite ? sum[c] / counted : NAN;
        long covered = 0, total = 0;
        for (int i = 0; i < ni; i++) {
            covered += expo[i] > 0;
            total += expo[i];
        }
        out->coverage = finite ? (double)covered / ni : NAN;
        double g = NAN;
        if (total > 0) {
            /* exposure counts sorted ascending (counting sort would do; qsort of doubles is simple) */
            double *e = (double *)score;   /* bp >= ni: reuse the score buffer */
            for (int i = 0; i < ni; i++)
                e[i] = (double)expo[i];
            qsort(e, (size_t)ni, sizeof *e, cmp_desc);
            double acc = 0;
            for (int r = 0; r < ni; r++)   /* e[r] is the (ni - r)-th smallest */
                acc += (2.0 * (ni - r) - ni - 1.0) * e[r];
            g = acc / ((double)ni * (double)total);
        }
        out->gini_exposure = finite ? g : NAN;
        out->avg_rec_popularity = finite && avg_users ? sum_pop / avg_users : NAN;
    }
    rc = 0;
done:
    if (rc != 0)
        catalog_rank_free(out);
    free(w);
    free(pop);
    free(expo);
    free(pu);
    free(pi);
    free(score);
    free(ts);
    free(os);
    free(ti);
    free(orl);
    free(wrel);
    return rc;
}

int metrics_catalog_rank_opts(const est_method *m, const void *model, const ds_data *d,
                              const ds_split *test, double threshold, int k,
                              const catalog_opts *o, catalog_rank *out)
{
    memset(out, 0, sizeof *out);
    if (k < 1 || d->n_items < 1 || test->n < 1)
        return 0;
    int nu = d->n_users;
    cat_job j = {.m = m, .model = model, .d = d, .k = k,
                 .n_cat = o && o->n_cat > 0 && o->n_cat < d->n_items ? o->n_cat : d->n_items,
                 .gamma = o ? o->pop_gamma : 0, .keep_per_user = o ? o->keep_per_user : 0};
    const ds_split *ex[2] = {&d->train, &d->valid};
    if (user_items_build(&j.known, nu, ex, 2) != 0)
        return -1;
    /* relevant test items per user */
    ds_split relsplit = {0};
    long nrel = 0;
    for (long t = 0; t < test->n; t++)
        nrel += test->rating[t] >= threshold;
    relsplit.user = malloc((size_t)(nrel > 0 ? nrel : 1) * sizeof *relsplit.user);
    relsplit.item = malloc((size_t)(nrel > 0 ? nrel : 1) * sizeof *relsplit.item);
    const ds_split *rs[1] = {&relsplit};
    int rc = -1;
    int32_t *users = NULL;
    if (!relsplit.user || !relsplit.item)
        goto done;
    for (long t = 0; t < test->n; t++)
        if (test->rating[t] >= threshold && test->item[t] < j.n_cat) {
            relsplit.user[relsplit.n] = test->user[t];
            relsplit.item[relsplit.n++] = test->item[t];
        }
    if (user_items_build(&j.rel, nu, rs, 1) != 0)
        goto done;
    /* eligible users: at least one relevant test item */
    users = malloc((size_t)nu * sizeof *users);
    if (!users)
        goto done;
    for (int u = 0; u < nu; u++)
        if (j.rel.start[u + 1] > j.rel.start[u])
            users[j.n_users++] = u;
    if (o && o->max_pairs > 0 && (double)j.n_users * j.n_cat > (double)o->max_pairs) {
        long keep = o->max_pairs / j.n_cat > 0 ? o->max_pairs / j.n_cat : 1;
        for (long q = 0; q < keep; q++)   /* evenly spaced, in row order (q * n / keep >= q) */
            users[q] = users[(q * j.n_users) / keep];
        j.n_users = keep;
    }
    j.users = users;
    rc = run_job(&j, out);
done:
    free(users);
    free(relsplit.user);
    free(relsplit.item);
    user_items_free(&j.known);
    user_items_free(&j.rel);
    return rc;
}

int metrics_catalog_rank(const est_method *m, const void *model, const ds_data *d,
                         const ds_split *test, double threshold, int k, catalog_rank *out)
{
    return metrics_catalog_rank_opts(m, model, d, test, threshold, k, NULL, out);
}

int metrics_catalog_oracle(const est_method *m, const void *model, const ds_data *d, int k,
                           const catalog_opts *o, catalog_rank *out)
{
    memset(out, 0, sizeof *out);
    int nwu = d->n_warm_users, nwi = d->n_warm_items;
    if (!d->truth || k < 1 || nwu < 1 || nwi < 1)
        return 0;
    const synth_truth *t = d->truth;
    int p = synth_truth_dim(t);
    long n_eval = nwu;
    if ((double)nwu * nwi > CAT_ORACLE_PAIRS)
        n_eval = CAT_ORACLE_PAIRS / nwi > 0 ? CAT_ORACLE_PAIRS / nwi : 1;
    cat_job j = {.m = m, .model = model, .d = d, .k = k, .n_cat = nwi, .p = p,
                 .offset = d->oracle_offset, .gamma = o ? o->pop_gamma : 0,
                 .keep_per_user = o ? o->keep_per_user : 0};
    int32_t *users = malloc((size_t)n_eval * sizeof *users);
    double *f = malloc((size_t)nwu * p * sizeof *f), *g = malloc((size_t)nwi * p * sizeof *g);
    const ds_split *ex[2] = {&d->train, &d->valid};
    int rc = -1;
    if (!users || !f || !g || user_items_build(&j.known, d->n_users, ex, 2) != 0)
        goto done;
    for (long q = 0; q < n_eval; q++) {   /* evenly spaced training users */
        users[q] = (int32_t)((q * (long)nwu) / n_eval);
        synth_truth_embed(t, 0, d->user_z + (size_t)users[q] * d->user_latent_dim,
                          f + (size_t)users[q] * p);
    }
    for (int i = 0; i < nwi; i++)
        synth_truth_embed(t, 1, d->item_z + (size_t)i * d->item_latent_dim, g + (size_t)i * p);
    j.users = users;
    j.n_users = n_eval;
    j.user_f = f;
    j.item_g = g;
    rc = run_job(&j, out);
done:
    free(users);
    free(f);
    free(g);
    user_items_free(&j.known);
    return rc;
}
