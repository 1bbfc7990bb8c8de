#!/usr/bin/python3
"""evaluation_rankings.py — the summary of the evaluation study (issue 15).

Usage: /usr/bin/python3 paper_configs/evaluation_rankings.py [--plot OUTDIR] \
           results/evaluation.h5 [results/evaluation_synthetic.h5]

Reads t2rec results files (h5py; docs/results-format.md) and prints, as Markdown tables:
  MovieLens (evaluation.ini): per protocol (random = mean over the folds u1..u5, temporal) and
    pop_gamma (0 = plain, > 0 = popularity-penalised), each method's recall/NDCG@10 and the
    ranking of the methods by them; then Kendall's tau (tau-b) between the rankings of every
    pair of (protocol, gamma), and which methods move.
  Synthetic (evaluation_synthetic.ini): per protocol and gamma, the ranking by the offline
    metric (heldout_pop_ndcg_at_10: held-out ratings as relevance) and by the truth
    (pop_ndcg_at_10 against the oracle's top 10, same models), and Kendall's tau between the two:
    the protocol with the largest tau ranks methods closest to the truth.
A method is labelled by its name and, for mf, its solver. Means over replicates / folds.
--plot OUTDIR also writes the figures (gnuplot, PNG): OUTDIR/evaluation_movielens.png, NDCG@10
per method under each (protocol, pop_gamma), bars with the 95% t-interval over the folds
where there are several (random: u1..u5; the temporal cut is one split, no interval); and
OUTDIR/evaluation_synthetic.png, per protocol the offline score of each method against its
true score (a protocol that ranks like the truth puts the points on a rising line).
"""
import math
import os
import subprocess
import sys
from collections import defaultdict

import h5py


def label(cfg):
    m = cfg.get("method", "?")
    if m == "mf":
        return "mf-" + cfg.get("method.solver", "")
    if m == "twotower":
        return "twotower-" + ("ids" if cfg.get("method.ids", "no") == "yes" else "cov")
    if m == "knn":
        return "knn-" + cfg.get("method.based", "")
    return m


def cells(path):
    with h5py.File(path, "r") as f:
        for key in f["cells"]:
            c = f["cells"][key]
            if c.attrs["status"] != "ok" and c.attrs["status"] != b"ok":
                continue
            cfg = {k: (v.decode() if isinstance(v, bytes) else str(v))
                   for k, v in c["config"].attrs.items()}
            met = {k: float(v) for k, v in c["metrics"].attrs.items()}
            yield cfg, met


def kendall_tau(a, b):
    """tau-b between two score dicts over their common keys (higher score = better)."""
    keys = sorted(set(a) & set(b))
    conc = disc = ta = tb = 0
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            x = a[keys[i]] - a[keys[j]]
            y = b[keys[i]] - b[keys[j]]
            if x == 0 and y == 0:
                continue
            if x == 0:
                ta += 1
            elif y == 0:
                tb += 1
            elif (x > 0) == (y > 0):
                conc += 1
            else:
                disc += 1
    den = ((conc + disc + ta) * (conc + disc + tb)) ** 0.5
    return (conc - disc) / den if den > 0 else float("nan")


def ranking(scores):
    return sorted(scores, key=lambda m: -scores[m])


def mean_by(rows, keyf, metric):
    acc = defaultdict(list)
    for cfg, met in rows:
        if metric in met:
            acc[keyf(cfg)].append(met[metric])
    return {k: sum(v) / len(v) for k, v in acc.items()}


def tcrit975(df):
    """0.975 quantile of Student's t (table; df >= 30 uses 2.0)."""
    table = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
             9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 29: 2.045}
    return table.get(df, 2.0 if df >= 30 else table[max(k for k in table if k <= df)])


def mean_ci(v):
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, 0.0
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
    return m, tcrit975(len(v) - 1) * sd / math.sqrt(len(v))


def gnuplot(script, outdir, name):
    gp = os.path.join(outdir, name + ".gp")
    with open(gp, "w") as f:
        f.write(script)
    subprocess.run(["gnuplot", gp], check=True)
    print(f"wrote {os.path.join(outdir, name + '.png')}\n")


def plot_movielens(rows, proto, outdir):
    acc = defaultdict(list)
    for cfg, met in rows:
        if "pop_ndcg_at_10" in met:
            acc[(label(cfg), proto(cfg), float(cfg.get("data.pop_gamma", "0")))].append(
                met["pop_ndcg_at_10"])
    methods = sorted({k[0] for k in acc})
    groups = sorted({k[1:] for k in acc})
    dat = os.path.join(outdir, "evaluation_movielens.dat")
    with open(dat, "w") as f:
        f.write("# method " + " ".join(f"{p}_g{g:g} ci" for p, g in groups) + "\n")
        for m in methods:
            cols = []
            for g in groups:
                v = acc.get((m,) + g, [])
                mean, ci = mean_ci(v) if v else (float("nan"), 0.0)
                cols += [f"{mean:.6g}", f"{ci:.6g}"]
            f.write(m + " " + " ".join(cols) + "\n")
    plots = ", ".join(
        f"'{dat}' using {2 + 2 * k}:{3 + 2 * k}:xtic(1) title '{p}, gamma {g:g}'"
        for k, (p, g) in enumerate(groups))
    gnuplot(f"""set terminal pngcairo size 1100,520 noenhanced
set output '{os.path.join(outdir, "evaluation_movielens.png")}'
set title "MovieLens 100K: NDCG@10 over the whole catalogue (pop_ndcg_at_10; gamma 0 = plain)\\nbars: 95% t-interval over folds u1..u5 (temporal: one cut, no interval)"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set ylabel 'NDCG@10'
set yrange [0:*]
set key top right
set grid ytics
plot {plots}
""", outdir, "evaluation_movielens")


def plot_synthetic(off, tru, outdir):
    dat = os.path.join(outdir, "evaluation_synthetic.dat")
    groups = sorted({k[:2] for k in off})
    with open(dat, "w") as f:
        for g in groups:
            f.write(f"# {g[0]} gamma {g[1]:g}: method offline true\n")
            for k in sorted(off):
                if k[:2] == g and k in tru:
                    f.write(f"{k[2]} {off[k]:.6g} {tru[k]:.6g}\n")
            f.write("\n\n")
    plots = ", ".join(
        f"'{dat}' index {i} using 2:3 with points ps 1.5 title '{g[0]}, gamma {g[1]:g}', "
        f"'' index {i} using 2:3:1 with labels offset 1,0.5 font ',8' notitle"
        for i, g in enumerate(groups))
    gnuplot(f"""set terminal pngcairo size 900,650 noenhanced
set output '{os.path.join(outdir, "evaluation_synthetic.png")}'
set title "Synthetic, popularity sampling: offline score (held-out ratings)\\nvs true score (oracle top 10) of each method, per protocol"
set xlabel 'offline: heldout_pop_ndcg_at_10'
set ylabel 'truth: pop_ndcg_at_10 against the oracle'
set key outside right
set grid
plot {plots}
""", outdir, "evaluation_synthetic")


PLOT_DIR = None


def movielens(path):
    rows = list(cells(path))
    proto = lambda c: "random" if c.get("data.split") == "fold" else c.get("data.split")
    key = lambda c: (proto(c), float(c.get("data.pop_gamma", "0")), label(c))
    print(f"## MovieLens 100K ({path})\n")
    for metric in ("pop_ndcg_at_10", "pop_recall_at_10"):
        means = mean_by(rows, key, metric)
        groups = sorted({k[:2] for k in means})
        print(f"### {metric} (pop_gamma 0 = plain {metric[4:]})\n")
        print("| protocol | pop_gamma | ranking (best first, value) |")
        print("|---|---|---|")
        rank = {}
        for g in groups:
            sc = {k[2]: v for k, v in means.items() if k[:2] == g}
            rank[g] = sc
            print(f"| {g[0]} | {g[1]:g} | " +
                  ", ".join(f"{m} {sc[m]:.4f}" for m in ranking(sc)) + " |")
        print("\nKendall's tau between rankings:\n")
        print("| | " + " | ".join(f"{g[0]} g={g[1]:g}" for g in groups) + " |")
        print("|---" * (len(groups) + 1) + "|")
        for g in groups:
            print(f"| {g[0]} g={g[1]:g} | " +
                  " | ".join(f"{kendall_tau(rank[g], rank[h]):.2f}" for h in groups) + " |")
        # which methods move: rank positions per group
        print("\nRank of each method (1 = best):\n")
        methods = sorted({k[2] for k in means})
        print("| method | " + " | ".join(f"{g[0]} g={g[1]:g}" for g in groups) + " |")
        print("|---" * (len(groups) + 1) + "|")
        for m in methods:
            print(f"| {m} | " + " | ".join(
                str(ranking(rank[g]).index(m) + 1) if m in rank[g] else "-" for g in groups) + " |")
        print()
    if PLOT_DIR:
        plot_movielens(rows, proto, PLOT_DIR)
    rm = mean_by(rows, lambda c: (proto(c), label(c)), "rmse")
    print("RMSE: " + "; ".join(f"{p}/{m} {v:.4f}" for (p, m), v in sorted(rm.items())) + "\n")


def synthetic(path):
    rows = list(cells(path))
    key = lambda c: (c.get("data.protocol"), float(c.get("data.pop_gamma", "0")), label(c))
    off = mean_by(rows, key, "heldout_pop_ndcg_at_10")
    tru = mean_by(rows, key, "pop_ndcg_at_10")
    print(f"## Synthetic ({path}): offline (held-out ratings) vs truth (oracle top 10)\n")
    print("| protocol | pop_gamma | offline ranking (heldout_pop_ndcg_at_10) | "
          "true ranking (pop_ndcg_at_10 vs oracle) | Kendall tau |")
    print("|---|---|---|---|---|")
    for g in sorted({k[:2] for k in off}):
        a = {k[2]: v for k, v in off.items() if k[:2] == g}
        b = {k[2]: v for k, v in tru.items() if k[:2] == g}
        print(f"| {g[0]} | {g[1]:g} | " + ", ".join(f"{m} {a[m]:.3f}" for m in ranking(a)) +
              " | " + ", ".join(f"{m} {b[m]:.3f}" for m in ranking(b)) +
              f" | {kendall_tau(a, b):.2f} |")
    print()
    if PLOT_DIR:
        plot_synthetic(off, tru, PLOT_DIR)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--plot":
        PLOT_DIR = args[1]
        os.makedirs(PLOT_DIR, exist_ok=True)
        args = args[2:]
    if not args:
        sys.exit(__doc__)
    movielens(args[0])
    for p in args[1:]:
        synthetic(p)
