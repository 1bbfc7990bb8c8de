#!/usr/bin/python3
"""pipeline_summary.py — the summary of the two-stage pipeline study (issue 16).

Usage: /usr/bin/python3 paper_configs/pipeline_summary.py [--plot OUTDIR] FILE.h5 [FILE.h5 ...]

Reads t2rec results files (h5py; docs/results-format.md) holding `pipeline` cells on synthetic
data (paper_configs/pipeline.ini or a reduced copy) and prints, per (sampling, n_obs), a Markdown
table with one row per (K, arm):
  s1 recall@K   pl_s1_recall_at_K: the share of the oracle's top 10 that stage 1 retrieved
  regret@10     pl_regret_at_10, end to end, = missed + misranked:
  missed        pl_regret_missed_at_10   (oracle top 10 minus the best 10 among the K candidates)
  misranked     pl_regret_misranked_at_10 (best 10 among the candidates minus the final 10)
  s1 regret     pl_s1_regret_at_10: the stage-1 model's own top 10 (same fit as the arm's stage 1)
Arms: `single` (rerank = none: the two-tower's own top 10, fitted on every training pair) and
one per reranker set-up, `xgb OBJECTIVE/NEGATIVES`. With several replicates a cell shows
mean ± the half-width of the 95% t-interval over the replicates; with one, the value.
Cells from several files are pooled by (sampling, n_obs, K, arm).
--plot OUTDIR writes OUTDIR/pipeline_regret.png (gnuplot): one panel per (sampling, n_obs),
regret@10 against K (log axis) per arm, solid with the t-interval bars, and the stage-1 missed
part of the same arm dashed in the same colour (the gap between the two is the misranking).
"""
import math
import os
import subprocess
import sys
from collections import defaultdict

import h5py

# two-sided 95% Student t quantiles t_{0.975, df}, df = 1..30 (beyond: 1.96)
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]

METRICS = ["pl_s1_recall_at_K", "pl_regret_at_10", "pl_regret_missed_at_10",
           "pl_regret_misranked_at_10", "pl_s1_regret_at_10"]


def s(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def arm_of(cfg):
    if cfg.get("method.rerank", "none") == "none":
        return "single"
    return "xgb %s/%s" % (cfg.get("method.objective", "?"), cfg.get("method.negatives", "?"))


def load(paths):
    """(sampling, n_obs, K, arm) -> metric -> list of values over replicates."""
    groups = defaultdict(lambda: defaultdict(list))
    failed = 0
    for path in paths:
        with h5py.File(path, "r") as f:
            for key in f["cells"]:
                c = f["cells"][key]
                cfg = {k: s(v) for k, v in c["config"].attrs.items()}
                if cfg.get("method") != "pipeline":
                    continue
                if s(c.attrs["status"]) != "ok":
                    failed += 1
                    continue
                met = {k: float(v) for k, v in c["metrics"].attrs.items()}
                g = (cfg.get("data.sampling", "?"), int(cfg.get("data.n_obs", "-1")),
                     int(cfg.get("method.K", "0")), arm_of(cfg))
                for m in METRICS:
                    if m in met and not math.isnan(met[m]):
                        groups[g][m].append(met[m])
    return groups, failed


def mean_ci(xs):
    """mean and the half-width of the 95% t-interval (NaN for a single value)."""
    n = len(xs)
    if n == 0:
        return float("nan"), float("nan")
    m = sum(xs) / n
    if n < 2:
        return m, float("nan")
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    t = T975[n - 2] if n - 1 <= len(T975) else 1.96
    return m, t * sd / math.sqrt(n)


def fmt(xs, digits):
    m, h = mean_ci(xs)
    if math.isnan(m):
        return "–"
    if math.isnan(h):
        return "%.*f" % (digits, m)
    return "%.*f ± %.*f" % (digits, m, digits, h)


def arm_order(a):
    return (a != "single", a)


def tables(groups):
    panels = sorted({(g[0], g[1]) for g in groups})
    for samp, n in panels:
        keys = sorted((g for g in groups if g[0] == samp and g[1] == n),
                      key=lambda g: (g[2], arm_order(g[3])))
        reps = sorted({len(groups[g]["pl_regret_at_10"]) for g in keys})
        print("### sampling = %s, n_obs = %d (replicates: %s)\n" %
              (samp, n, ", ".join(str(r) for r in reps)))
        print("| K | arm | s1 recall@K | regret@10 | missed | misranked | s1 regret@10 |")
        print("|---:|---|---:|---:|---:|---:|---:|")
        for g in keys:
            d = groups[g]
            print("| %d | %s | %s | %s | %s | %s | %s |" % (
                g[2], g[3], fmt(d["pl_s1_recall_at_K"], 3), fmt(d["pl_regret_at_10"], 3),
                fmt(d["pl_regret_missed_at_10"], 3), fmt(d["pl_regret_misranked_at_10"], 3),
                fmt(d["pl_s1_regret_at_10"], 3)))
        print()


def plot(groups, outdir):
    os.makedirs(outdir, exist_ok=True)
    panels = sorted({(g[0], g[1]) for g in groups})
    samplings = sorted({p[0] for p in panels})
    ns = sorted({p[1] for p in panels})
    arms = sorted({g[3] for g in groups}, key=arm_order)
    colours = ["#000000", "#d95f02", "#1b9e77", "#7570b3", "#e7298a"]
    datdir = os.path.join(outdir, "pipeline_regret_data")
    os.makedirs(datdir, exist_ok=True)
    out = os.path.join(outdir, "pipeline_regret.png")
    ymax = 0.0
    for g, d in groups.items():
        m, h = mean_ci(d["pl_regret_at_10"])
        ymax = max(ymax, m + (0 if math.isnan(h) else h))
    lines = ["set terminal pngcairo size %d,%d font 'Sans,10' noenhanced" % (520 * len(ns), 420 * len(samplings)),
             "set output '%s'" % out,
             "set multiplot layout %d,%d title 'Pipeline study: end-to-end regret@10 (solid, 95%% t-CI) "
             "and its stage-1 missed part (dashed) vs K'" % (len(samplings), len(ns)),
             "set logscale x", "set xrange [7:700]", "set xtics (10, 50, 100, 500)",
             "set yrange [0:%.3f]" % (ymax * 1.05 + 1e-9), "set grid",
             "set xlabel 'K (stage-1 candidates)'", "set ylabel 'regret@10'",
             "set key top left font ',8'"]
    for samp in samplings:
        for n in ns:
            plots = []
            for ai, arm in enumerate(arms):
                rows = []
                for g in sorted(groups):
                    if g[0] == samp and g[1] == n and g[3] == arm:
                        d = groups[g]
                        m, h = mean_ci(d["pl_regret_at_10"])
                        mm, _ = mean_ci(d["pl_regret_missed_at_10"])
                        rows.append((g[2], m, 0.0 if math.isnan(h) else h, mm,
                                     len(d["pl_regret_at_10"])))
                if not rows:
                    continue
                fn = os.path.join(datdir, "%s_%d_%d.dat" % (samp, n, ai))
                with open(fn, "w") as fh:
                    fh.write("# K regret ci missed reps\n")
                    for r in rows:
                        fh.write("%d %.6g %.6g %.6g %d\n" % r)
                col = colours[ai % len(colours)]
                plots.append("'%s' u 1:2:3 w yerrorlines lw 2 lc rgb '%s' t '%s'" % (fn, col, arm))
                plots.append("'%s' u 1:4 w lp dt 2 lw 1.5 pt 6 lc rgb '%s' notitle" % (fn, col))
            if not plots:
                lines.append("set multiplot next")
                continue
            reps = sorted({len(groups[g]["pl_regret_at_10"]) for g in groups
                           if g[0] == samp and g[1] == n})
            lines.append("set title '%s sampling, n_obs = %d (%s rep.)'" %
                         (samp, n, "/".join(str(r) for r in reps)))
            lines.append("plot " + ", \\\n     ".join(plots))
    lines.append("unset multiplot")
    gp = os.path.join(outdir, "pipeline_regret.gp")
    with open(gp, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    subprocess.run(["gnuplot", gp], check=True)
    print("wrote %s (script %s)" % (out, gp), file=sys.stderr)


def main(argv):
    outdir = None
    paths = []
    i = 0
    while i < len(argv):
        if argv[i] == "--plot" and i + 1 < len(argv):
            outdir = argv[i + 1]
            i += 2
        elif argv[i] in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            paths.append(argv[i])
            i += 1
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    groups, failed = load(paths)
    if not groups:
        print("pipeline_summary: no ok pipeline cells in %s" % " ".join(paths), file=sys.stderr)
        return 2
    if failed:
        print("(%d failed cells left out)\n" % failed)
    tables(groups)
    if outdir:
        plot(groups, outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
