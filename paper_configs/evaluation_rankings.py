#!/usr/bin/python3
"""evaluation_rankings.py — the summary of the evaluation study (issue 15).

Usage: /usr/bin/python3 paper_configs/evaluation_rankings.py results/evaluation.h5 \
           [results/evaluation_synthetic.h5]

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
"""
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


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    movielens(sys.argv[1])
    for p in sys.argv[2:]:
        synthetic(p)
