/* metrics_catalog.c — ranking over the whole item catalogue (real data; SPEC section 6).
 *
 * For every user of the test split with at least one relevant test item (rating >= threshold),
 * the model scores EVERY item of the catalogue except those the user has in the excluded splits
 * (train and valid: items the user is known to have rated already). The top k of that ranking
 * (score descending, ties by item id ascending) is compared with the user's relevant test
 * items: items the user never rated count as not relevant. So a model that ranks the user's
 * liked items above the rest of the catalogue scores higher than one that does not; ranking
 * only the user's own test items (the old convention) made the metrics model-independent.
 *   precision@k = hits / k;   recall@k = hits / n_rel;
 *   AP@k = sum over relevant ranks r <= k of precision@r, / min(k, n_rel);
 *   NDCG@k = DCG / IDCG with binary gains, discount 1 / log2(rank + 1).
 * Values are means over the eligible users. Users are scored in blocks (one predict call per
 * block of users x catalogue) so the cost is one pass over n_users x n_items predictions.
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

int metrics_catalog_rank(const est_method *m, const void *model, const ds_data *d,
                         const ds_split *test, double threshold, int k, catalog_rank *out)
{
    memset(out, 0, sizeof *out);
    if (k < 1 || d->n_items < 1 || test->n < 1)
        return 0;
    int nu = d->n_users, ni = d->n_items;
    user_items known, rel;
    const ds_split *ex[2] = {&d->train, &d->valid};
    if (user_items_build(&known, nu, ex, 2) != 0)
        return -1;
    /* relevant test items per user */
    ds_split relsplit = {0};
    long nrel = 0;
    for (long j = 0; j < test->n; j++)
        nrel += test->rating[j] >= threshold;
    relsplit.user = malloc((size_t)(nrel > 0 ? nrel : 1) * sizeof *relsplit.user);
    relsplit.item = malloc((size_t)(nrel > 0 ? nrel : 1) * sizeof *relsplit.item);
    const ds_split *rs[1] = {&relsplit};
    int rc = -1;
    int32_t *users = NULL, *pu = NULL, *pi = NULL;
    double *score = NULL, *ts = NULL;
    int32_t *ti = NULL;
    rel.start = NULL;
    rel.items = NULL;
    if (!relsplit.user || !relsplit.item)
        goto done;
    for (long j = 0; j < test->n; j++)
        if (test->rating[j] >= threshold) {
            relsplit.user[relsplit.n] = test->user[j];
            relsplit.item[relsplit.n++] = test->item[j];
        }
    if (user_items_build(&rel, nu, rs, 1) != 0)
        goto done;
    /* eligible users: at least one relevant test item */
    long neu = 0;
    users = malloc((size_t)nu * sizeof *users);
    if (!users)
        goto done;
    for (int u = 0; u < nu; u++)
        if (rel.start[u + 1] > rel.start[u])
            users[neu++] = u;
    long per_block = CAT_BLOCK_PAIRS / ni > 0 ? CAT_BLOCK_PAIRS / ni : 1;
    size_t bp = (size_t)per_block * (size_t)ni;
    pu = malloc(bp * sizeof *pu);
    pi = malloc(bp * sizeof *pi);
    score = malloc(bp * sizeof *score);
    ts = malloc((size_t)k * sizeof *ts);
    ti = malloc((size_t)k * sizeof *ti);
    if (!pu || !pi || !score || !ts || !ti)
        goto done;
    double sp = 0, sr = 0, sm = 0, sn = 0;
    int finite = 1;
    for (long b = 0; b < neu; b += per_block) {
        long nb = neu - b < per_block ? neu - b : per_block;
        size_t np = 0;
        for (long q = 0; q < nb; q++)
            for (int i = 0; i < ni; i++) {
                pu[np] = users[b + q];
                pi[np++] = i;
            }
        m->predict(model, d, (long)np, pu, pi, score);
        for (long q = 0; q < nb; q++) {
            int32_t u = users[b + q];
            const int32_t *kn = known.items + known.start[u];
            long nkn = known.start[u + 1] - known.start[u];
            const int32_t *rl = rel.items + rel.start[u];
            long nrl = rel.start[u + 1] - rel.start[u];
            const double *sc = score + (size_t)q * ni;
            int len = 0;
            for (int i = 0; i < ni; i++) {
                if (!isfinite(sc[i])) {
                    finite = 0;
                    continue;
                }
                if (!in_sorted(kn, nkn, i))
                    top_insert(ts, ti, &len, k, sc[i], i);
            }
            long hits = 0;
            double ap = 0, dcg = 0, idcg = 0;
            for (int r = 0; r < len; r++)
                if (in_sorted(rl, nrl, ti[r])) {
                    hits++;
                    ap += (double)hits / (r + 1);
                    dcg += 1.0 / log2(r + 2.0);
                }
            long ideal = nrl < k ? nrl : k;
            for (long r = 0; r < ideal; r++)
                idcg += 1.0 / log2(r + 2.0);
            sp += (double)hits / k;
            sr += (double)hits / nrl;
            sm += ap / (double)ideal;
            sn += dcg / idcg;
        }
    }
    out->n_users = neu;
    if (neu > 0) {
        out->precision = finite ? sp / neu : NAN;
        out->recall = finite ? sr / neu : NAN;
        out->map = finite ? sm / neu : NAN;
        out->ndcg = finite ? sn / neu : NAN;
    }
    rc = 0;
done:
    free(users);
    free(pu);
    free(pi);
    free(score);
    free(ts);
    free(ti);
    free(relsplit.user);
    free(relsplit.item);
    user_items_free(&known);
    user_items_free(&rel);
    return rc;
}
