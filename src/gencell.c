/* gencell.c — choose one synthetic dataset of a config (see gencell.h). */
#include "gencell.h"
#include <stdlib.h>
#include <string.h>

/* Two cells describe the same dataset when their data keys and data seed agree. */
static int same_data(const cfg_cell *a, const cfg_cell *b)
{
    if (a->data_seed != b->data_seed || a->data.n != b->data.n)
        return 0;
    for (int k = 0; k < a->data.n; k++)
        if (strcmp(a->data.key[k], b->data.key[k]) || strcmp(a->data.val[k], b->data.val[k]))
            return 0;
    return 1;
}

int gencell_open(const char *config, int k, int list, gencell *g, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    int crc = cfg_load(config, &g->c, err, errlen);
    if (crc != 0)
        return crc == CFG_NOMEM ? 1 : 2;
    if ((crc = cfg_expand_data(g->c, &g->cells, &g->ncells, err, errlen)) != 0) {
        gencell_close(g);
        return crc == CFG_NOMEM ? 1 : 2;
    }
    int *distinct = malloc((size_t)(g->ncells + 1) * sizeof *distinct), nd = 0;
    if (!distinct) {
        snprintf(err, errlen, "out of memory");
        gencell_close(g);
        return 1;
    }
    for (int q = 0; q < g->ncells; q++) {
        int seen = 0;
        for (int r = 0; r < nd && !seen; r++)
            seen = same_data(&g->cells[q], &g->cells[distinct[r]]);
        if (!seen)
            distinct[nd++] = q;
    }
    if (list) {
        for (int r = 0; r < nd; r++) {
            const cfg_cell *c = &g->cells[distinct[r]];
            printf("%d: replicate %d, data seed %llu:", r, c->replicate,
                   (unsigned long long)c->data_seed);
            for (int j = 0; j < c->data.n; j++)
                printf(" %s=%s", c->data.key[j], c->data.val[j]);
            printf("\n");
        }
        free(distinct);
        err[0] = 0;
        return 0;
    }
    if (k < 0 && nd > 1) {
        snprintf(err, errlen, "%s: the config defines %d datasets (sweep axes or replicates); "
                 "choose one with --cell K (--list lists them)", config, nd);
        free(distinct);
        gencell_close(g);
        return 2;
    }
    if (k >= nd) {
        snprintf(err, errlen, "%s: --cell %d, but the config defines %d datasets", config, k, nd);
        free(distinct);
        gencell_close(g);
        return 2;
    }
    g->cell = &g->cells[distinct[k < 0 ? 0 : k]];
    free(distinct);
    const char *source = cfg_source(g->c);
    if (strcmp(source, "synthetic") != 0) {
        snprintf(err, errlen, "%s:%d: [data] source: gen needs source = synthetic, not '%s'",
                 config, cfg_line_of(g->c, "data", "source"), source);
        gencell_close(g);
        return 2;
    }
    if (cfg_cell_synth_params(g->c, g->cell, &g->params, err, errlen) != 0) {
        gencell_close(g);
        return 2;
    }
    return 0;
}

void gencell_close(gencell *g)
{
    if (g->cells)
        cfg_cells_free(g->cells, g->ncells);
    if (g->c)
        cfg_free(g->c);
    memset(g, 0, sizeof *g);
}

void gencell_print_summary(FILE *f, const synth_dataset *s)
{
    const synth_params *p = &s->params;
    static const char *truths[] = {"lacunary", "bumps", "smooth"};
    static const char *manifolds[] = {"linear", "curved"};
    fprintf(f, "dataset: seed %llu, truth %s (beta %g, %d levels, p %d), manifold %s\n",
            (unsigned long long)p->seed, truths[p->truth], p->beta, p->truth_levels, p->truth_dim,
            manifolds[p->manifold]);
    fprintf(f, "  users: %d training + %d cold, d_u %d in D_u %d\n", s->n_users, s->n_cold_users,
            p->user_intrinsic_dim, p->user_ambient_dim);
    fprintf(f, "  items: %d training + %d cold, d_i %d in D_i %d\n", s->n_items, s->n_cold_items,
            p->item_intrinsic_dim, p->item_ambient_dim);
    fprintf(f, "  pairs: train %ld, valid %ld, test_warm %ld, test_cold %ld\n", s->train.n,
            s->valid.n, s->test_warm.n, s->test_cold.n);
    fprintf(f, "  R* over the population: mean %.4f, variance %.4f, kurtosis %.3f\n", s->rstar_mean,
            s->rstar_var, s->rstar_kurtosis);
    double m = 0, v = 0;
    for (long k = 0; k < s->train.n; k++)
        m += s->train.rating[k];
    m /= s->train.n > 0 ? s->train.n : 1;
    for (long k = 0; k < s->train.n; k++)
        v += (s->train.rating[k] - m) * (s->train.rating[k] - m);
    v /= s->train.n > 1 ? s->train.n - 1 : 1;
    fprintf(f, "  training ratings: mean %.4f, variance %.4f (noise sd %g)\n", m, v, p->noise);
}
