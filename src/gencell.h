/* gencell.h — pick one synthetic dataset out of a config (for `gen` and `intdim`). */
#ifndef GENCELL_H
#define GENCELL_H

#include <stdio.h>
#include "config.h"
#include "synth.h"

typedef struct {
    cfg *c;
    cfg_cell *cells;
    int ncells;
    const cfg_cell *cell;     /* the chosen cell */
    synth_params params;
} gencell;

/* Load CONFIG and choose its K-th distinct dataset (K < 0: the only one, else an error that
 * lists how many there are). list = 1: print the distinct datasets to stdout instead.
 * Returns 0, or the exit status (2 bad input) with a message in err. */
int gencell_open(const char *config, int k, int list, gencell *g, char *err, size_t errlen);
void gencell_close(gencell *g);
void gencell_print_summary(FILE *f, const synth_dataset *s);

#endif
