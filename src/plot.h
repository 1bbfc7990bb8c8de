/* plot.h — gnuplot figures of a results file (SPEC section 9): convergence (log-log error
 * against n_obs, mean and 95% CI band per group, theory slope dashed, the report's slope with its
 * per-replicate CI in the key, or the group's status (e.g. BUDGET-LIMITED) instead),
 * methods compared on common axes per data group, and learning curves per epoch. Writes the
 * data (.dat), the gnuplot script (.gp) and the figures (.png, .pdf) into a folder. */
#ifndef PLOT_H
#define PLOT_H

#include "record.h"

typedef struct {
    const char *outdir;      /* created if missing */
    const char *prefix;      /* file name prefix, e.g. the results file's stem */
    const char *metric;      /* default excess_risk_cold */
    const char *gnuplot;     /* gnuplot binary (default "gnuplot") */
    int run_gnuplot;         /* 0: only write .dat/.gp */
} plot_opts;

/* Returns 0, -1 with err on failure. Lists the files it wrote on stdout. */
int plot_all(const cell_record *recs, int n, const plot_opts *o, char *err, size_t errlen);

#endif
