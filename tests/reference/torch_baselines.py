#!/usr/bin/python3
"""torch_baselines.py — PyTorch references of t2rec's baselines on MovieLens 100K (`make bench`).

Usage: /usr/bin/python3 tests/reference/torch_baselines.py DIR FOLD METHOD [--threads T] [--reps R]
           [--epochs E] [key=value ...]
METHOD: als | sgd (the `mf` method, src/est_mf.c) or autorec (src/est_autorec.c); the keys are
the t2rec method keys (rank, reg, reg_bias, reg_scale, lr, init_sd, epochs; side, hidden, batch).
Trains on the whole FOLD.base and reports the test RMSE on FOLD.test (clipped to 1..5), the
same objective and update rule as t2rec, written the way one would write it in PyTorch:
  als      each half-step builds every entity's (rank+1) x (rank+1) normal equations at once
           (outer products of [1, q_i] scattered with index_add_), then one batched Cholesky
           solve (torch.linalg.cholesky / cholesky_solve), float64 like t2rec.
  sgd      Surprise's per-rating SGD update (batch of one rating: the algorithm is sequential),
           a Python loop over the shuffled ratings on float64 tensors.
  autorec  I-/U-AutoRec, nn.Linear + sigmoid, loss [(V/B) SSE_observed + reg/2 ||W||^2] / N,
           torch.optim.Adam, full batch (batch = 0) or minibatches of `batch` vectors.
Initial values come from torch's generator (not t2rec's GSL streams), so final RMSEs agree to
the run-to-run spread, not bitwise. Prints one JSON line: best-of-R fit seconds, seconds per
epoch, test RMSE, core, threads.
"""
import argparse
import json
import os
import time

import numpy as np
import torch

from openblas_core import blas_core   # tests/reference/openblas_core.py


def load(d, fold):
    def read(name):
        a = np.loadtxt(os.path.join(d, name), dtype=np.int64, usecols=(0, 1, 2))
        return a[:, 0] - 1, a[:, 1] - 1, a[:, 2].astype(np.float64)
    with open(os.path.join(d, "u.user"), encoding="latin-1") as f:
        n_users = sum(1 for ln in f if ln.strip())
    with open(os.path.join(d, "u.item"), encoding="latin-1") as f:
        n_items = sum(1 for ln in f if ln.strip())
    return read(fold + ".base"), read(fold + ".test"), n_users, n_items


def rmse(pred, r):
    pred = np.clip(pred, 1.0, 5.0)
    return float(np.sqrt(np.mean((pred - r) ** 2)))


# ---------------------------------------------------------------- MF

def mf_fit(train, n_users, n_items, kv, solver):
    u = torch.from_numpy(train[0])
    i = torch.from_numpy(train[1])
    r = torch.from_numpy(train[2])
    k = int(kv.get("rank", 16))
    reg = float(kv.get("reg", 0.05))
    reg_b = float(kv.get("reg_bias", 0.05))
    count = kv.get("reg_scale", "count") == "count"
    epochs = int(kv.get("epochs", 20))
    lr = float(kv.get("lr", 0.005))
    sd = float(kv.get("init_sd", 0.1))
    mu = float(r.mean())
    bu = torch.zeros(n_users, dtype=torch.float64)
    bi = torch.zeros(n_items, dtype=torch.float64)
    P = torch.randn(n_users, k, dtype=torch.float64) * sd
    Q = torch.randn(n_items, k, dtype=torch.float64) * sd
    nu = torch.bincount(u, minlength=n_users).double()
    ni = torch.bincount(i, minlength=n_items).double()
    if solver == "als":
        eye_w = torch.full((k + 1,), reg, dtype=torch.float64)
        eye_w[0] = reg_b
        for _ in range(epochs):
            for side in (0, 1):
                ent, oth = (u, i) if side == 0 else (i, u)
                n_ent = n_users if side == 0 else n_items
                Bo, Fo = (bi, Q) if side == 0 else (bu, P)
                Z = torch.cat([torch.ones(len(r), 1, dtype=torch.float64), Fo[oth]], 1)
                y = r - mu - Bo[oth]
                A = torch.zeros(n_ent, k + 1, k + 1, dtype=torch.float64)
                A.index_add_(0, ent, Z[:, :, None] * Z[:, None, :])
                rhs = torch.zeros(n_ent, k + 1, dtype=torch.float64).index_add_(0, ent, Z * y[:, None])
                cnt = nu if side == 0 else ni
                w = cnt if count else torch.ones_like(cnt)
                A += torch.diag_embed(w[:, None] * eye_w[None, :])
                seen = cnt > 0
                L = torch.linalg.cholesky(A[seen])
                sol = torch.cholesky_solve(rhs[seen][:, :, None], L)[:, :, 0]
                if side == 0:
                    bu[seen] = sol[:, 0]
                    P[seen] = sol[:, 1:]
                else:
                    bi[seen] = sol[:, 0]
                    Q[seen] = sol[:, 1:]
            _ = float(((mu + bu[u] + bi[i] + (P[u] * Q[i]).sum(1) - r) ** 2).mean())   # train MSE
    else:
        uu, ii, rr = train[0].tolist(), train[1].tolist(), train[2].tolist()
        bu_l, bi_l = [0.0] * n_users, [0.0] * n_items
        nu_l, ni_l = nu.tolist(), ni.tolist()
        for _ in range(epochs):
            for p in torch.randperm(len(rr)).tolist():
                a, b = uu[p], ii[p]
                pu, qi = P[a], Q[b]
                e = rr[p] - (mu + bu_l[a] + bi_l[b] + float(torch.dot(pu, qi)))
                cu = 1.0 if count else 1.0 / nu_l[a]
                ci = 1.0 if count else 1.0 / ni_l[b]
                bu_l[a] += lr * (e - cu * reg_b * bu_l[a])
                bi_l[b] += lr * (e - ci * reg_b * bi_l[b])
                pu_old = pu.clone()
                pu.mul_(1.0 - lr * cu * reg).add_(qi, alpha=lr * e)
                qi.mul_(1.0 - lr * ci * reg).add_(pu_old, alpha=lr * e)
            bu_t, bi_t = torch.tensor(bu_l, dtype=torch.float64), torch.tensor(bi_l, dtype=torch.float64)
            _ = float(((mu + bu_t[u] + bi_t[i] + (P[u] * Q[i]).sum(1) - r) ** 2).mean())   # train MSE
        bu, bi = torch.tensor(bu_l, dtype=torch.float64), torch.tensor(bi_l, dtype=torch.float64)

    def predict(tu, ti):
        tu, ti = torch.from_numpy(tu), torch.from_numpy(ti)
        p = mu + bu[tu] + bi[ti] + (P[tu] * Q[ti]).sum(1)
        fb = (nu[tu] == 0) | (ni[ti] == 0)   # unseen: fall back as t2rec does
        p = torch.where(fb, mu + torch.where(nu[tu] > 0, bu[tu], 0.0) + torch.where(ni[ti] > 0, bi[ti], 0.0), p)
        return p.numpy()
    return predict, epochs


# ---------------------------------------------------------------- AutoRec

def autorec_fit(train, n_users, n_items, kv):
    side = kv.get("side", "item")
    H = int(kv.get("hidden", 500))
    reg = float(kv.get("reg", 100))
    lr = float(kv.get("lr", 0.01))
    B = int(kv.get("batch", 0))
    epochs = int(kv.get("epochs", 1000))
    u, i, r = train
    vec, col = (i, u) if side == "item" else (u, i)
    n_vec, dim = (n_items, n_users) if side == "item" else (n_users, n_items)
    N = len(r)
    R = torch.zeros(n_vec, dim)
    M = torch.zeros(n_vec, dim)
    R[torch.from_numpy(vec), torch.from_numpy(col)] = torch.from_numpy(r).float()
    M[torch.from_numpy(vec), torch.from_numpy(col)] = 1.0
    vecs = torch.nonzero(M.sum(1) > 0)[:, 0]
    V = len(vecs)
    if B <= 0 or B > V:
        B = V
    enc, dec = torch.nn.Linear(dim, H), torch.nn.Linear(H, dim)
    for lin in (enc, dec):   # Glorot uniform, zero biases (as nn_autorec_init)
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
    opt = torch.optim.Adam([enc.weight, enc.bias, dec.weight, dec.bias], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    reg_scale = reg / (2.0 * N)
    for _ in range(epochs):
        perm = vecs[torch.randperm(V)]
        for s in range(0, V, B):
            idx = perm[s:s + B]
            x, m = R[idx], M[idx]
            opt.zero_grad()
            out = dec(torch.sigmoid(enc(x)))
            loss = (V / (len(idx) * N)) * (m * (out - x) ** 2).sum() + \
                reg_scale * ((enc.weight ** 2).sum() + (dec.weight ** 2).sum())
            loss.backward()
            opt.step()
    mu = float(r.mean())
    seen_vec = (M.sum(1) > 0).numpy()
    seen_col = (M.sum(0) > 0).numpy()

    def predict(tu, ti):
        with torch.no_grad():
            out = dec(torch.sigmoid(enc(R))).numpy()
        tv, tc = (ti, tu) if side == "item" else (tu, ti)
        p = out[tv, tc].astype(np.float64)
        ok = seen_vec[tv] & seen_col[tc]
        return np.where(ok, p, mu)
    return predict, epochs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("fold")
    ap.add_argument("method", choices=["als", "sgd", "autorec"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=None, help="overrides the epochs key")
    ap.add_argument("kv", nargs="*")
    a = ap.parse_intermixed_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(7)
    kv = dict(x.split("=", 1) for x in a.kv)
    if a.epochs is not None:
        kv["epochs"] = str(a.epochs)
    train, test, n_users, n_items = load(a.dir, a.fold)
    best, best_rmse, epochs = float("inf"), None, 0
    for _ in range(a.reps):
        t0 = time.perf_counter()
        if a.method == "autorec":
            predict, epochs = autorec_fit(train, n_users, n_items, kv)
        else:
            predict, epochs = mf_fit(train, n_users, n_items, kv, a.method)
        s = time.perf_counter() - t0
        if s < best:
            best = s
            best_rmse = rmse(predict(test[0], test[1]), test[2])
    core = blas_core()
    print(json.dumps({"impl": "pytorch", "method": a.method, "fold": a.fold, "threads": a.threads,
                      "torch": torch.__version__, "core": core, "params": kv, "reps": a.reps,
                      "epochs": epochs, "fit_seconds": best, "epoch_seconds": best / max(epochs, 1),
                      "test_rmse": best_rmse, "n_train": int(len(train[2])), "n_test": int(len(test[2]))}))


if __name__ == "__main__":
    main()
