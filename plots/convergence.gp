# convergence.gp — error against n_obs on log-log axes, one line per group (mean over the
# replicates at each n_obs), its 95% band, the theory slope dashed.
# Driven by a generated NAME_convergence.gp that sets the variables below and loads this file;
# the data are in NAME_convergence.dat (one block per group: n mean ci_low ci_high count).
#   datafile, outbase             data file and output name (without .png/.pdf)
#   title_main, title_fixed       what is plotted (in words) and the data settings that are fixed
#   title_note                    what the line, band, dashed line and key mean
#   ylabel_text                   y axis label
#   ngroups                       number of groups (blocks of datafile, in order)
#   label[k]                      key entry of group k (with its slope or status)
#   cidx[k], dtype[k], ptype[k], lwidth[k]   colour index (style.gp), dash, point, line width
#   band[k]                       1: draw the 95% band of group k
#   th[k], th_slope[k], th_x0[k], th_x1[k], th_y0[k]   theory line of group k (th[k] = 1):
#                                 slope th_slope through (th_x0, th_y0), drawn from th_x0 to th_x1
#   ymin, ymax                    y range (the means decide it; wide bands are clipped)
load scriptdir.'/style.gp'

key_rows = ngroups
fig_h = 700 + 22 * key_rows

set logscale x 2
set format x '2^{%L}'
set logscale y 10
eval log_ytics
set yrange [ymin:ymax]
set xlabel "number of training ratings n\\_obs = |{/Symbol W}| (log scale)"
set ylabel ylabel_text
set title title_main."\n{/*0.85 ".title_fixed."}\n{/*0.75 ".title_note."}"
set key outside below left Left reverse vertical maxrows key_rows width 2

do for [fmt in formats] {
    eval set_out(fmt, fig_h)
    plot for [k = 1:ngroups] datafile index (k - 1) using 1:(band[k] ? $3 : NaN):(band[k] ? $4 : NaN) \
             with filledcurves fc rgb colour(cidx[k]) fs transparent solid band_alpha noborder notitle, \
         for [k = 1:ngroups] datafile index (k - 1) using 1:(band[k] ? $3 : NaN) \
             with lines lw band_edge_lw dt 1 lc rgb colour(cidx[k]) notitle, \
         for [k = 1:ngroups] datafile index (k - 1) using 1:(band[k] ? $4 : NaN) \
             with lines lw band_edge_lw dt 1 lc rgb colour(cidx[k]) notitle, \
         for [k = 1:ngroups] (th[k] && x >= th_x0[k] && x <= th_x1[k] ? th_y0[k] * (x / th_x0[k])**th_slope[k] : 1/0) \
             with lines dt 2 lw 1.5 lc rgb colour(cidx[k]) notitle, \
         for [k = 1:ngroups] datafile index (k - 1) using 1:2 \
             with linespoints dt dtype[k] lw lwidth[k] pt ptype[k] ps 1.0 lc rgb colour(cidx[k]) title label[k]
    unset output
}
