#!/usr/bin/python3
"""two_time_scale_plot.py — the k-shot figure and table of issue 17 from a results file of
paper_configs/two_time_scale*.ini: error against K (data key kshot) per method (twotimescale
per t_star), mean and 95% t-interval over the replicates (synthetic) or folds (MovieLens).

Usage: two_time_scale_plot.py RESULTS.h5 [METRIC] [OUTDIR]
  METRIC default: excess_risk_cold when the file has it (synthetic), else rmse_cold.
  Writes OUTDIR/NAME_kshot.dat, .gp, .png (gnuplot) and prints the table (Markdown).
T2REC (env) is the t2rec binary (default bin/t2rec)."""
import csv
import math
import os
import subprocess
import sys

T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    path = sys.argv[1]
    t2rec = os.environ.get("T2REC", "bin/t2rec")
    out = subprocess.run([t2rec, "export", "--csv", path], capture_output=True, text=True, check=True).stdout
    rows = [r for r in csv.DictReader(out.splitlines()) if r["status"] == "ok"]
    metric = sys.argv[2] if len(sys.argv) > 2 else (
        "excess_risk_cold" if rows and rows[0].get("excess_risk_cold") else "rmse_cold")
    outdir = sys.argv[3] if len(sys.argv) > 3 else "plots/out"
    os.makedirs(outdir, exist_ok=True)
    name = os.path.splitext(os.path.basename(path))[0]
    groups = {}
    for r in rows:
        g = r["method"] + (" t*=" + r["t_star"] if r["method"] == "twotimescale" else "")
        groups.setdefault(g, {}).setdefault(int(r["kshot"]), []).append(float(r[metric]))
    ks = sorted({k for g in groups.values() for k in g})
    print("| method | " + " | ".join("K=%d" % k for k in ks) + " |")
    print("|---|" + "---|" * len(ks))
    dat = os.path.join(outdir, name + "_kshot.dat")
    with open(dat, "w") as f:
        for gi, g in enumerate(sorted(groups)):
            cells = []
            f.write("# %s\n" % g)
            for k in ks:
                v = groups[g].get(k, [])
                if not v:
                    cells.append("-")
                    continue
                m = sum(v) / len(v)
                h = T975.get(len(v) - 1, 1.96) * math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)) if len(v) > 1 else float("nan")
                cells.append("%.3f ± %.3f" % (m, h))
                f.write("%g %g %g\n" % (k + 1, m, h if h == h else 0))
            f.write("\n\n")
            print("| %s | %s |" % (g, " | ".join(cells)))
    gp = os.path.join(outdir, name + "_kshot.gp")
    with open(gp, "w") as f:
        f.write('set terminal pngcairo size 900,600 noenhanced\nset output "%s_kshot.png"\n' % name)
        f.write('set logscale x\nset xlabel "K + 1 (revealed ratings per fresh user, plus one)"\n')
        f.write('set ylabel "%s (mean, 95%% t-interval)"\nset key outside right\n' % metric)
        f.write("plot " + ", ".join('"%s_kshot.dat" index %d with yerrorlines title "%s"' % (name, i, g)
                                    for i, g in enumerate(sorted(groups))) + "\n")
    subprocess.run(["gnuplot", os.path.basename(gp)], cwd=outdir, check=False)
    print("\n%s: %s_kshot.png (%s)" % (outdir, name, metric))
    return 0


if __name__ == "__main__":
    sys.exit(main())
