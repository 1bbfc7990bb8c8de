#!/usr/bin/python3
"""torch_twotower.py — the PyTorch reference of t2rec's two-tower fit, for bench/run_bench.py.

Usage: /usr/bin/python3 tests/reference/torch_twotower.py DATA.h5 --threads T --epochs E [--variant unique|pairs]
       [--max-batches K] [--depth 3 --width 256 --embed-dim 16 --batch 1024 --lr 0.001 --seed 7]

Same model, data and hyperparameters as `bench_twotower fit` (src/est_twotower.c, schedule
pairs): inputs standardised with the mean and sd of the training users (items), ratings centred
on the training mean, towers of `depth` Linear+ReLU layers and a final Linear to embed_dim,
He-uniform weights and zero biases, AdamW (betas 0.9/0.999, eps 1e-8, no weight decay), pairs
shuffled every epoch, valid RMSE and test_cold excess risk after every epoch.
--variant unique runs each distinct user/item of a batch through its tower once (t2rec's
algorithm, torch.unique); --variant pairs runs every pair's rows (the textbook PyTorch way).
Prints one JSON object (per-epoch wall clock, training and evaluation seconds, peak RSS).
"""
import argparse
import json
import resource
import sys
import time

import numpy as np
import torch

from openblas_core import blas_core   # tests/reference/openblas_core.py
from twotower_ref import read_data, standardise, tower   # shared with the other references


def he_uniform_(t):
    with torch.no_grad():
        for m in t:
            if isinstance(m, torch.nn.Linear):
                a = (6.0 / m.weight.shape[1]) ** 0.5
                m.weight.uniform_(-a, a)
                m.bias.zero_()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--variant", default="unique", choices=["unique", "pairs"])
    ap.add_argument("--max-batches", type=int, default=0)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--embed-dim", type=int, default=16)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    ux, ix, sp = read_data(a.data)
    tr = sp["train"]
    XU = torch.from_numpy(standardise(ux, tr["user"]))
    XI = torch.from_numpy(standardise(ix, tr["item"]))
    mu = float(tr["rating"].mean())
    tu = torch.from_numpy(tr["user"].astype(np.int64))
    ti = torch.from_numpy(tr["item"].astype(np.int64))
    ty = torch.from_numpy((tr["rating"] - mu).astype(np.float32))
    n = tu.shape[0]

    fu = tower(XU.shape[1], a.depth, a.width, a.embed_dim)
    gi = tower(XI.shape[1], a.depth, a.width, a.embed_dim)
    he_uniform_(fu)
    he_uniform_(gi)
    lins = [m for t in (fu, gi) for m in t if isinstance(m, torch.nn.Linear)]
    opt = torch.optim.AdamW([{"params": [m.weight for m in lins], "weight_decay": 0.0},
                             {"params": [m.bias for m in lins], "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999), eps=1e-8)

    def predict(s):
        u = torch.from_numpy(s["user"].astype(np.int64))
        i = torch.from_numpy(s["item"].astype(np.int64))
        with torch.no_grad():
            uu, iu = torch.unique(u, return_inverse=True)
            ii, ii_inv = torch.unique(i, return_inverse=True)
            F = torch.cat([fu(XU[uu[k:k + 1024]]) for k in range(0, uu.shape[0], 1024)])
            G = torch.cat([gi(XI[ii[k:k + 1024]]) for k in range(0, ii.shape[0], 1024)])
            return (F[iu] * G[ii_inv]).sum(dim=1).double().numpy() + mu

    t0 = time.perf_counter()
    wall, vr, te, tl = [], [], [], []
    train_s = eval_s = train_cpu = 0.0
    epoch_train_s = []
    for _ in range(a.epochs):
        e0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n)
        tot, cnt = 0.0, 0
        for nb, s in enumerate(range(0, n, a.batch)):
            if a.max_batches and nb >= a.max_batches:
                break
            b = perm[s:s + a.batch]
            u, i, y = tu[b], ti[b], ty[b]
            opt.zero_grad()
            if a.variant == "unique":
                uu, inv_u = torch.unique(u, return_inverse=True)
                ii, inv_i = torch.unique(i, return_inverse=True)
                pred = (fu(XU[uu])[inv_u] * gi(XI[ii])[inv_i]).sum(dim=1)
            else:
                pred = (fu(XU[u]) * gi(XI[i])).sum(dim=1)
            loss = ((pred - y) ** 2).mean()
            loss.backward()
            opt.step()
            tot += loss.item() * b.shape[0]
            cnt += b.shape[0]
        e1 = time.perf_counter()
        train_cpu += time.process_time() - c0
        train_s += e1 - e0
        epoch_train_s.append(e1 - e0)
        pv = predict(sp["valid"])
        vr.append(float(np.sqrt(np.mean((pv - sp["valid"]["rating"]) ** 2))))
        pt = predict(sp["test_cold"])
        te.append(float(np.mean((pt - sp["test_cold"]["oracle"]) ** 2)))
        e2 = time.perf_counter()
        eval_s += e2 - e1
        tl.append(tot / max(cnt, 1))
        wall.append(e2 - t0)
    best = int(np.argmin(vr))
    print(json.dumps({
        "impl": "pytorch", "torch": torch.__version__, "variant": a.variant, "threads": a.threads,
        "core": blas_core(), "n_obs": int(n), "epochs_run": a.epochs, "best_epoch": best + 1,
        "train_s": train_s, "train_cpu_s": train_cpu, "epoch_train_s": epoch_train_s,
        "eval_s": eval_s, "wall": wall, "valid_rmse": vr, "test_excess": te,
        "train_loss": tl, "final_test_excess": te[best],
        "process_peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
