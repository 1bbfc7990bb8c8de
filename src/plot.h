/* plot.h — gnuplot figures of a results file (SPEC section 9).
 *
 * The figures are drawn by the gnuplot scripts in plots/ (style.gp, convergence.gp,
 * learning.gp, methods.gp). For a results file NAME, plot_all writes into the output folder:
 *   NAME_convergence.dat/.gp   error against n_obs (log-log), mean and 95% band per group, the
 *                              theory slope dashed, the report's slope with its per-replicate
 *                              CI in the key, or the group's status (e.g. BUDGET-LIMITED);
 *   NAME_learning.dat/.gp      learning curves per epoch (training loss, valid RMSE, test_cold
 *                              excess risk), one key for every panel;
 *   NAME_methods.dat/.gp       methods compared: mean and 95% t-interval over replicates (or
 *                              folds) per group, one panel per metric (rmse, precision_at_10,
 *                              ndcg_at_10 on real data; excess risks on synthetic data);
 *   NAME_local.dat/.gp         (plot --local) local slopes against the window centre n with
 *                              95% CI bars and the theory slope, raw and log^2-corrected;
 * a copy of the scripts, and NAME_*.png/.pdf (gnuplot runs in the output folder on the
 * generated NAME_*.gp, which set the data-dependent variables and `load` the copied script).
 * Editing a copied script (or the settings at the top of NAME_*.gp) and rerunning
 * `gnuplot NAME_convergence.gp` in the folder redraws from the kept .dat files.
 *
 * Colours: each group (method with its varying method keys, and the varying data keys) gets
 * one colour index for every figure of the file. The colour follows the method when only the
 * method varies (or when methods outnumber data settings), else the data setting; the other
 * of the two sets the dash and point type. */
#ifndef PLOT_H
#define PLOT_H

#include <stdio.h>
#include "record.h"

typedef struct {
    const char *outdir;      /* created if missing */
    const char *prefix;      /* file name prefix, e.g. the results file's stem */
    const char *metric;      /* default excess_risk_cold (convergence); NULL: methods figure
                                shows its default metrics, else only this one */
    const char *gnuplot;     /* gnuplot binary (default "gnuplot") */
    const char *scripts;     /* folder with the gnuplot scripts; NULL: see plot_find_scripts */
    int run_gnuplot;         /* 0: only write .dat/.gp */
    FILE *out;               /* the files written and notes go here, one a line (NULL: silent) */
    int local_window;        /* > 0: also NAME_local (local slopes over windows of this many
                                n_obs levels, report --local); 0: not drawn */
} plot_opts;

/* The folder holding convergence.gp and the other scripts: `given` if not NULL, else
 * $T2REC_PLOT_SCRIPTS, else the source tree this binary was built from (T2REC_SRCDIR/plots),
 * else PREFIX/share/t2rec/plots (make install), else ./plots. 0, or -1 when none has them. */
int plot_find_scripts(const char *given, char *dir, size_t n);

/* The metric in words for titles ("Excess risk on fresh users and items (test_cold)"); the
 * name itself for a metric it does not know. */
const char *plot_metric_words(const char *metric);

/* Returns 0, -1 with err on failure. */
int plot_all(const cell_record *recs, int n, const plot_opts *o, char *err, size_t errlen);

#endif
