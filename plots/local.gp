# local.gp — local slopes against n_obs: for each group, the slope of log(error) on log(n_obs)
# over a window of consecutive n_obs levels, plotted at the window's geometric centre, with
# its 95% CI bar (t over the per-replicate slopes, as `t2rec report --local`), and the theory
# slope -2 beta / (2 beta + d) as a dashed level line in the group's colour. Left: the raw
# slope; right: the slope of error / ln^2 n (the theory's log^2 factor removed).
# Driven by a generated NAME_local.gp that sets the variables below and loads this file; the
# data are in NAME_local.dat (one block per group: n_centre slope lo hi slope_l2 lo_l2 hi_l2
# replicates n_from n_to).
#   datafile, outbase             data file and output name (without .png/.pdf)
#   title_main, title_fixed, title_note   what is plotted, the fixed data settings, how to read it
#   ngroups, label[k]             groups (blocks of datafile, in order) and their key entries
#   cidx[k], dtype[k], ptype[k]   colour index (style.gp), dash and point type
#   th[k], th_slope[k]            1: draw group k's theory slope th_slope[k]
#   xmin, xmax, ymin, ymax        axis ranges
load scriptdir.'/style.gp'

key_rows = ngroups
fig_h = 620 + 22 * key_rows
# a small horizontal shift per group so that the bars of groups at the same n do not overlap
shift(k) = 2 ** (0.06 * (k - (ngroups + 1) / 2.0))

do for [fmt in formats] {
    eval set_out(fmt, fig_h)
    set multiplot layout 1, 2 title title_main."\n{/*0.85 ".title_fixed."}\n{/*0.75 ".title_note."}"
    set logscale x 2
    set format x '2^{%L}'
    set xrange [xmin:xmax]
    set yrange [ymin:ymax]
    set xlabel "window centre n\\_obs (log scale)"
    set key outside below left Left reverse vertical maxrows key_rows width 2
    do for [panel = 0:1] {
        set ylabel (panel == 0 ? "local slope of log(error) on log(n)" : "local slope of log(error / ln^2 n)")
        set title (panel == 0 ? "raw" : "log^2-corrected")
        if (panel == 1) { unset key }
        plot for [k = 1:ngroups] (th[k] ? th_slope[k] : 1/0) with lines dt 2 lw 1.5 lc rgb colour(cidx[k]) notitle, \
             for [k = 1:ngroups] datafile index (k - 1) using ($1 * shift(k)):(column(2 + 3 * panel)):(column(3 + 3 * panel)):(column(4 + 3 * panel)) \
                 with yerrorbars pt ptype[k] ps 1.0 lw 1.2 lc rgb colour(cidx[k]) notitle, \
             for [k = 1:ngroups] datafile index (k - 1) using ($1 * shift(k)):(column(2 + 3 * panel)) \
                 with linespoints dt dtype[k] pt ptype[k] ps 1.0 lw 1.5 lc rgb colour(cidx[k]) title label[k]
    }
    unset multiplot
    unset output
}
