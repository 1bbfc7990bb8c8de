/* summary.h — mean metrics per group with 95% t-intervals over replicates (or folds):
 * the baselines table and the MovieLens table. Groups are the method plus every config key
 * that varies in the file except the replicate, seeds and fold. */
#ifndef SUMMARY_H
#define SUMMARY_H

#include <stdio.h>
#include "record.h"

/* Text table to txt and/or CSV to csv (either may be NULL). 0 ok, -1 out of memory. */
int summary_print(FILE *txt, FILE *csv, const cell_record *recs, int n);

#endif
