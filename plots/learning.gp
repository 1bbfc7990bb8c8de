# learning.gp — learning curves: one panel per quantity (training loss, valid RMSE, test_cold
# excess risk), one line per group (its cell with the largest n_obs, first replicate and fold),
# one key for all panels.
# Driven by a generated NAME_learning.gp that sets the variables below and loads this file;
# the data are in NAME_learning.dat (one block per group: epoch train_loss valid_rmse
# test_excess wall_seconds).
#   datafile, outbase, title_main, title_note
#   ngroups, label[k], cidx[k], dtype[k], lwidth[k]   as in convergence.gp
#   npanels, pcol[p], plabel[p]   panel p draws column pcol[p] of datafile, y label plabel[p]
#   xmax                          the largest epoch
load scriptdir.'/style.gp'

key_rows = ngroups <= 6 ? ngroups : int((ngroups + 1) / 2)   # two columns when many
key_h = 12 + 18 * key_rows
fig_h = 560 + key_h
key_frac = (key_h + 0.0) / fig_h
set xrange [0:xmax]
set xtics 0, nice_step(xmax, 8)
set mxtics 2
set logscale y 10
eval log_ytics

do for [fmt in formats] {
    eval set_out(fmt, fig_h)
    set multiplot layout 1, npanels margins 0.08, 0.98, key_frac + 0.09, 1 - 80.0 / fig_h spacing 0.08, 0 \
        title title_main."\n{/*0.75 ".title_note."}"
    do for [p = 1:npanels] {
        set xlabel 'epoch'
        set ylabel plabel[p]
        if (p == 1) {
            set key at screen 0.08, key_frac top left Left reverse vertical maxrows key_rows
        } else {
            unset key
        }
        plot for [k = 1:ngroups] datafile index (k - 1) using 1:(column(pcol[p]) > 0 ? column(pcol[p]) : NaN) \
            with lines dt dtype[k] lw lwidth[k] lc rgb colour(cidx[k]) title label[k]
    }
    unset multiplot
    unset output
}
