#!/usr/bin/python3
"""knn_ref.py — plain-Python reference of the `knn` method (used by test_knn).

Usage: /usr/bin/python3 tests/reference/knn_ref.py DIR

DIR holds what the C test wrote:
  train.txt   line 1: n_users n_items; then "u i r" per training rating (0-based rows)
  cases.txt   one line per setting: "based similarity prediction k min_k min_support shrinkage
              reg_u reg_i baseline_epochs"
Writes pred.txt: for every case, n_users * n_items predictions (user-major), one per line,
unclipped. Written from Surprise's documented formulas (docs/design.md), by pair loops over the
co-rated sets, independently of src/knn_sim.c (which uses BLAS sums):
  similarity of a, b over C_ab (the y both rated), f = |C_ab|, 0 when f < min_support:
    cosine  sum ra rb / sqrt(sum ra^2 sum rb^2)
    msd     1 / (1 + mean (ra - rb)^2)
    pearson the sample correlation over C_ab (0 if either is constant there)
    pearson_baseline  sum da db / sqrt(sum da^2 sum db^2) * (f-1)/(f-1+shrinkage), d = r - b_ui,
            0 when f < max(2, min_support)
    jaccard f / (n_a + n_b - f)
  similarities are rounded to float32 (as the C code stores them) before neighbours are ranked;
  neighbours: the raters x' of y with sim > 0, the k largest (ties: lower x' first).
  basic: sum s r / sum s (fewer than max(min_k, 1): mu); means: mu_x + sum s (r - mu_x') / sum s;
  baseline: b_ui + sum s (r - b_x'y) / sum s; unseen user or item: mu (basic, means) or mu + the
  known biases (baseline). Baselines: Surprise's ALS (items, then users, each epoch).
"""
import math
import os
import sys

import numpy as np


def baselines(nu, ni, ratings, mu, reg_u, reg_i, epochs):
    bu = [0.0] * nu
    bi = [0.0] * ni
    by_item = [[] for _ in range(ni)]
    by_user = [[] for _ in range(nu)]
    for u, i, r in ratings:
        by_item[i].append((u, r))
        by_user[u].append((i, r))
    for _ in range(epochs):
        for i in range(ni):
            if by_item[i]:
                bi[i] = sum(r - mu - bu[u] for u, r in by_item[i]) / (reg_i + len(by_item[i]))
        for u in range(nu):
            if by_user[u]:
                bu[u] = sum(r - mu - bi[i] for i, r in by_user[u]) / (reg_u + len(by_user[u]))
    return bu, bi


def similarity(kind, va, vb, min_support, shrinkage):
    """va, vb: dicts y -> value (ratings, or residuals for pearson_baseline)."""
    common = sorted(set(va) & set(vb))
    f = len(common)
    ms = max(2, min_support) if kind == "pearson_baseline" else min_support
    if f < ms or f == 0:
        return 0.0
    a = [va[y] for y in common]
    b = [vb[y] for y in common]
    if kind == "cosine":
        den = math.sqrt(sum(x * x for x in a) * sum(x * x for x in b))
        return sum(x * y for x, y in zip(a, b)) / den if den > 0 else 0.0
    if kind == "msd":
        return 1.0 / (1.0 + sum((x - y) ** 2 for x, y in zip(a, b)) / f)
    if kind == "pearson":
        ma, mb = sum(a) / f, sum(b) / f
        ca = [x - ma for x in a]
        cb = [y - mb for y in b]
        den = math.sqrt(sum(x * x for x in ca) * sum(y * y for y in cb))
        if den <= 1e-12:
            return 0.0
        return max(-1.0, min(1.0, sum(x * y for x, y in zip(ca, cb)) / den))
    if kind == "pearson_baseline":
        den = math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
        if den <= 0:
            return 0.0
        s = max(-1.0, min(1.0, sum(x * y for x, y in zip(a, b)) / den))
        return s * (f - 1) / (f - 1 + shrinkage)
    if kind == "jaccard":
        return f / (len(va) + len(vb) - f)
    raise ValueError(kind)


def run_case(nu, ni, ratings, case):
    based, kind, pred = case[0], case[1], case[2]
    k, min_k, min_support = int(case[3]), int(case[4]), int(case[5])
    shrinkage, reg_u, reg_i, epochs = float(case[6]), float(case[7]), float(case[8]), int(case[9])
    mu = sum(r for _, _, r in ratings) / len(ratings)
    seen_u = {u for u, _, _ in ratings}
    seen_i = {i for _, i, _ in ratings}
    bu, bi = baselines(nu, ni, ratings, mu, reg_u, reg_i, epochs)
    item_based = based == "item"
    nx = ni if item_based else nu
    # per x: dict y -> rating
    rx = [dict() for _ in range(nx)]
    for u, i, r in ratings:
        x, y = (i, u) if item_based else (u, i)
        rx[x][y] = r
    if kind == "pearson_baseline":
        vx = [dict() for _ in range(nx)]
        for u, i, r in ratings:
            x, y = (i, u) if item_based else (u, i)
            vx[x][y] = r - (mu + bu[u] + bi[i])
    else:
        vx = rx
    sim = np.zeros((nx, nx), dtype=np.float32)
    for a in range(nx):
        for b in range(nx):
            sim[a, b] = 1.0 if a == b else similarity(kind, vx[a], vx[b], min_support, shrinkage)
    xmean = [sum(d.values()) / len(d) if d else 0.0 for d in rx]
    out = []
    for u in range(nu):
        for i in range(ni):
            base = mu
            if pred == "baseline":
                base += (bu[u] if u in seen_u else 0.0) + (bi[i] if i in seen_i else 0.0)
            if u not in seen_u or i not in seen_i:
                out.append(base)
                continue
            x, y = (i, u) if item_based else (u, i)
            if pred == "means":
                base = xmean[x]
            cands = []
            for x2 in range(nx):
                if y in rx[x2] and sim[x, x2] > 0:
                    r = rx[x2][y]
                    if pred == "means":
                        r -= xmean[x2]
                    elif pred == "baseline":
                        uu, ii = (y, x2) if item_based else (x2, y)
                        r -= mu + bu[uu] + bi[ii]
                    cands.append((-float(sim[x, x2]), x2, r))
            cands.sort()
            cands = cands[:k]
            if len(cands) < max(min_k, 1):
                out.append(base)
                continue
            ss = sum(-c[0] for c in cands)
            sv = sum(-c[0] * c[2] for c in cands)
            out.append(sv / ss if pred == "basic" else base + sv / ss)
    return out


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "train.txt")) as fh:
        nu, ni = map(int, fh.readline().split())
        ratings = []
        for line in fh:
            u, i, r = line.split()
            ratings.append((int(u), int(i), float(r)))
    with open(os.path.join(d, "cases.txt")) as fh:
        cases = [line.split() for line in fh if line.strip()]
    with open(os.path.join(d, "pred.txt"), "w") as fh:
        for case in cases:
            for p in run_case(nu, ni, ratings, case):
                fh.write("%.12g\n" % p)


if __name__ == "__main__":
    main()
