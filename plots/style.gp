# style.gp — the look shared by every t2rec figure: colours, fonts, sizes, grid, tick labels.
# Loaded by convergence.gp, learning.gp and methods.gp (which t2rec plot copies next to the
# figures, with this file). Edit here to restyle every figure, then rerun gnuplot on the
# generated NAME_*.gp (the data in NAME_*.dat are kept):  cd plots/out && gnuplot demo_convergence.gp

# Colours: t2rec gives every group of a results file one index into this list (the same in
# every figure of the file); 10 colours, then they repeat (the dash/point style still differs).
array col[10] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", \
                 "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
ncol = 10
colour(i) = col[(i - 1) % ncol + 1]

# Bands (95% confidence intervals): transparent fill, so overlapping bands stay visible,
# with a thin edge line in the group's colour.
band_alpha = 0.16
band_edge_lw = 0.6

# Figure size in pixels (PNG); the PDF is the same shape at 150 pixels per inch.
fig_w = 1000
font_png = 'Sans,11'
font_pdf = 'Sans,9'
key_font = ',9'

# Output formats written by every figure script (png, pdf or both).
formats = "png pdf"

# Open the output file `outbase.FMT` for format FMT with height h (pixels).
set_out(fmt, h) = (fmt eq "png") \
    ? sprintf("set terminal pngcairo enhanced color font '%s' size %d,%d; set output '%s.png'", \
              font_png, fig_w, h, outbase) \
    : sprintf("set terminal pdfcairo enhanced color font '%s' size %.2fin,%.2fin; set output '%s.pdf'", \
              font_pdf, fig_w / 150.0, h / 150.0, outbase)

# Log-scale tick labels at 1, 2, 5 x 10^k (plain numbers, never run together); call after
# `set logscale y`.
log_ytics = "set ytics (); do for [e = -8:8] { do for [m in '1 2 5'] { v = m * 10.0**e; set ytics add (sprintf('%g', v) v) } }; set mytics 10"
log_xtics = "set xtics (); do for [e = -8:8] { do for [m in '1 2 5'] { v = m * 10.0**e; set xtics add (sprintf('%g', v) v) } }; set mxtics 10"

# A tick step giving at most about n ticks on [0, x] (1, 2 or 5 x 10^k).
nice_step(x, n) = (s0 = 10.0**floor(log10(x / n > 0 ? x / n : 1)), \
                   x / s0 <= n ? s0 : x / (2 * s0) <= n ? 2 * s0 : x / (5 * s0) <= n ? 5 * s0 : 10 * s0)

set grid xtics ytics lc rgb '#e0e0e0' lw 1
set border lw 1 lc rgb '#404040'
set tics nomirror out scale 0.6
set key noopaque nobox samplen 3 spacing 1.1 font key_font
