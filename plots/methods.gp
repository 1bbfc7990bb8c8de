# methods.gp — methods compared: per metric one panel, per group a point at the mean over
# replicates (or folds) with its 95% t-interval as an error bar; groups side by side within
# each category of the x axis (e.g. n_obs, or the split); one key for all panels.
# Driven by a generated NAME_methods.gp that sets the variables below and loads this file;
# the data are in NAME_methods.dat: block (p - 1) * nseries + (s - 1) holds group s of panel p,
# one row per category: x mean ci_low ci_high count (x = category + a small offset per group).
#   datafile, outbase, title_main, title_fixed, title_note
#   nseries, label[s], cidx[s], ptype[s]     key entry, colour index, point type of group s
#   npanels, ptitle[p], plog[p]              panel title (the metric in words), 1: log y axis
#   ncat, ncatp[p], catlabel[(p-1)*ncat + c], xrot   x categories of panel p (at x = 1..ncatp[p];
#                                            the categories where its metric has values), tick angle
load scriptdir.'/style.gp'

key_rows = nseries <= 6 ? nseries : int((nseries + 1) / 2)
key_h = 12 + 18 * key_rows
fig_h = 560 + key_h
key_frac = (key_h + 0.0) / fig_h
set xtics () rotate by xrot right
if (xrot == 0) { set xtics norotate center }
set grid noxtics ytics
set style fill solid 1.0
set bars small

do for [fmt in formats] {
    eval set_out(fmt, fig_h)
    set multiplot layout 1, npanels margins 0.08, 0.98, key_frac + (xrot ? 0.14 : 0.08), 1 - 135.0 / fig_h spacing 0.08, 0 \
        title title_main."\n{/*0.85 ".title_fixed."}\n{/*0.75 ".title_note."}"
    do for [p = 1:npanels] {
        set title ptitle[p] font ',10'
        set xrange [0.5:ncatp[p] + 0.5]
        set xtics ()
        do for [c = 1:ncatp[p]] { set xtics add (catlabel[(p - 1) * ncat + c] c) }
        if (plog[p]) { set logscale y 10; eval log_ytics; set offsets 0, 0, 0, 0 } else { unset logscale y; set ytics autofreq; set mytics default; set offsets 0, 0, graph 0.06, graph 0.06 }
        if (p == 1) {
            set key at screen 0.08, key_frac top left Left reverse vertical maxrows key_rows
        } else {
            unset key
        }
        plot for [s = 1:nseries] datafile index ((p - 1) * nseries + s - 1) \
            using 1:(plog[p] && $2 <= 0 ? NaN : $2):(plog[p] && $3 <= 0 ? $2 / 100 : $3):4 \
            with yerrorbars pt ptype[s] ps 1.3 lw 1.6 lc rgb colour(cidx[s]) title label[s]
    }
    unset multiplot
    unset output
}
