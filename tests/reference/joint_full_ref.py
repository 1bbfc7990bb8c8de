#!/usr/bin/python3
"""joint_full_ref.py — a full-training PyTorch joint MLP: the accuracy t2rec's `joint` must reach.

Usage: /usr/bin/python3 tests/reference/joint_full_ref.py DATA.h5 [--depth 2 --width 96
       --batch 256 --lr 3e-3 --epochs 200 --patience 30 --seed 1 --threads 1]

DATA.h5 is a dataset written by `t2rec gen CONFIG --cell K -o DATA.h5` (docs/results-format.md).
Written independently of t2rec's training loop, the way a PyTorch user would train this model:
  - user and item inputs standardised with the mean and sd of the users (items) that appear in
    the training split, concatenated per pair; ratings centred on the mean training rating;
  - `depth` torch.nn.Linear + ReLU layers of `width` units and a final nn.Linear to one output,
    PyTorch's DEFAULT initialisation drawn from torch.manual_seed(seed);
  - mean squared error, torch.optim.Adam(lr), minibatches of `batch` pairs reshuffled every
    epoch, cosine annealing of the learning rate over `epochs` epochs (stepped per epoch);
  - the weights of the best valid epoch are kept; `patience` epochs without a new best stop it.
Prints one JSON object: epochs_run, best_epoch, valid_rmse / test_excess per epoch, and
final_test_excess = the test_cold excess risk mean((prediction - R*)^2) of the kept weights.
"""
import argparse
import copy
import json
import sys
import time

import numpy as np
import torch

from twotower_ref import read_data, standardise, tower   # shared with the other references


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--width", type=int, default=96)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--patience", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
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

    net = tower(XU.shape[1] + XI.shape[1], a.depth, a.width, 1)   # one MLP, scalar output
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs)

    def f(u, i):
        return net(torch.cat([XU[u], XI[i]], dim=1)).squeeze(1)

    def predict(s):
        with torch.no_grad():
            u = torch.from_numpy(s["user"].astype(np.int64))
            i = torch.from_numpy(s["item"].astype(np.int64))
            return f(u, i).double().numpy() + mu

    def excess():
        return float(np.mean((predict(sp["test_cold"]) - sp["test_cold"]["oracle"]) ** 2))

    t0 = time.perf_counter()
    vr, te = [], []
    best, best_state, since = np.inf, None, 0
    for ep in range(a.epochs):
        perm = torch.randperm(n)
        for s in range(0, n, a.batch):
            b = perm[s:s + a.batch]
            opt.zero_grad()
            loss = ((f(tu[b], ti[b]) - ty[b]) ** 2).mean()
            loss.backward()
            opt.step()
        sched.step()
        v = float(np.sqrt(np.mean((predict(sp["valid"]) - sp["valid"]["rating"]) ** 2)))
        vr.append(v)
        te.append(excess())
        if v < best:
            best, since = v, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            since += 1
            if a.patience > 0 and since >= a.patience:
                break
    net.load_state_dict(best_state)
    print(json.dumps({
        "impl": "pytorch-joint-full", "n_train": int(n), "seed": a.seed, "lr": a.lr,
        "batch": a.batch, "epochs": a.epochs, "patience": a.patience, "epochs_run": len(vr),
        "best_epoch": int(np.argmin(vr)) + 1, "valid_rmse": vr, "test_excess": te,
        "final_valid_rmse": best, "final_test_excess": excess(),
        "seconds": time.perf_counter() - t0}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
