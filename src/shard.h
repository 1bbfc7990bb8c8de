/* shard.h — which shard runs which cell under `t2rec run --shard I/N --balance` (what the tasks
 * of `t2rec slurm` use): cells dealt to N shards by expected cost, greedy longest processing
 * time first, so every shard gets a similar mix of methods and sizes instead of one shard all the
 * costly cells. The cost is a rough estimate from the cell's keys, in arbitrary units. */
#ifndef SHARD_H
#define SHARD_H

#include "config.h"

/* Expected cost of one cell (> 0): n_obs times a method factor (epochs, width, rank, ...). */
double shard_cell_cost(const cfg_cell *cell);

/* owner[k] = the shard (0..nshards-1) of cell k, every cell exactly one. Cells in decreasing
 * cost (equal costs in index order) each go to the shard with the least cost so far (the lowest
 * such shard): deterministic, so every task computes the same owners; equal costs give index %
 * nshards. 0, or -1 when out of memory. */
int shard_assign(const cfg_cell *cells, int ncells, int nshards, int *owner);

#endif
