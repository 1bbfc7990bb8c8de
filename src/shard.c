/* shard.c — cells dealt to shards by expected cost (see shard.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "shard.h"

/* Size of the training set: n_obs for synthetic data; real data (no n_obs key) counts as a
 * MovieLens-100k-sized set. */
#define REAL_DATA_N 80000.0
/* Epochs an early-stopped method runs, in multiples of its patience (a guess, not a bound). */
#define PATIENCE_EPOCHS 5.0

static double key_real(const kvset *kv, const char *key, double fallback)
{
    return kv_real(kv, key, fallback);   /* keys are resolved (defaults filled) in a cell */
}

/* Epochs actually expected: the budget, or fewer when early stopping is on. */
static double epochs_expected(const kvset *m, double budget)
{
    double e = key_real(m, "epochs", budget), pat = key_real(m, "patience", 0);
    if (pat > 0 && PATIENCE_EPOCHS * pat < e)
        e = PATIENCE_EPOCHS * pat;
    return e > 1 ? e : 1;
}

double shard_cell_cost(const cfg_cell *cell)
{
    double n = key_real(&cell->data, "n_obs", REAL_DATA_N);
    double dims = key_real(&cell->data, "user_ambient_dim", 16) + key_real(&cell->data, "item_ambient_dim", 16);
    const kvset *m = &cell->method_params;
    double per = 1;   /* cost per training pair and epoch */
    double epochs = 1;
    if (!strcmp(cell->method, "twotower")) {
        const char *w = kv_get(m, "width");
        double width = w && strcmp(w, "theory") ? key_real(m, "width", 128)
                                               : fmin(key_real(m, "width_max", 1024),
                                                      key_real(m, "width_scale", 1) * sqrt(n));
        double depth = key_real(m, "depth", 3);
        per = width * (dims + depth * width + key_real(m, "embed_dim", 8));
        epochs = epochs_expected(m, 1000);
        double steps = key_real(m, "max_steps", 0), batch = key_real(m, "batch", 256);
        if (steps > 0 && steps * batch < epochs * n)
            epochs = steps * batch / n;
    } else if (!strcmp(cell->method, "autorec")) {
        per = key_real(m, "hidden", 500) * 4;
        epochs = epochs_expected(m, 1000);
    } else if (!strcmp(cell->method, "mf")) {
        double r = key_real(m, "rank", 16);
        per = r * r + r;
        epochs = epochs_expected(m, 20);
    } else if (!strcmp(cell->method, "baseline")) {
        epochs = epochs_expected(m, 10);
    }
    double c = n * per * epochs;
    return c > 1 ? c : 1;
}

typedef struct {
    double cost;
    int index;
} costed;

static int by_cost_desc(const void *a, const void *b)
{
    const costed *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

int shard_assign(const cfg_cell *cells, int ncells, int nshards, int *owner)
{
    if (nshards <= 1) {
        for (int k = 0; k < ncells; k++)
            owner[k] = 0;
        return 0;
    }
    costed *order = malloc((size_t)(ncells > 0 ? ncells : 1) * sizeof *order);
    double *load = calloc((size_t)nshards, sizeof *load);
    if (!order || !load) {
        free(order);
        free(load);
        return -1;
    }
    for (int k = 0; k < ncells; k++) {
        order[k].cost = shard_cell_cost(&cells[k]);
        order[k].index = k;
    }
    qsort(order, (size_t)ncells, sizeof *order, by_cost_desc);
    for (int k = 0; k < ncells; k++) {
        int best = 0;
        for (int s = 1; s < nshards; s++)
            if (load[s] < load[best])
                best = s;
        owner[order[k].index] = best;
        load[best] += order[k].cost;
    }
    free(order);
    free(load);
    return 0;
}
