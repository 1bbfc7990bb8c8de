#!/usr/bin/python3
"""convae_ref.py — PyTorch reference of the implicit + explicit autoencoder step (test_convae).

Usage: /usr/bin/python3 tests/reference/convae_ref.py DIR

DIR holds what the C test wrote:
  meta.txt   line 1: M L C H lr weight_decay w_neg n_steps
             then per step one line per user row: "n_obs n_neg item:level ... | item ..."
             rows of a step separated by a line "--"
  init.bin   float32 parameters Wc (C, L+1), E (M C, H), be (H), D (M C, H), dd (M C),
             wo (C), bo (1), Wr (L, C), br (L)
Model (src/nn_convae.h): for each row, x_i = onehot(level) | 1 over the observed items,
c_i = Wc x_i, h = sigmoid(be + sum_i E_i c_i) with E_i[:, c] = E[i C + c], y_j = D_j h + dd_j,
o_j = wo . y_j + bo, l_j = Wr y_j + br; loss = [sum_obs (softplus(-o) + CE(l, level))
+ w_neg sum_neg softplus(o)] / observed entries of the step; torch.optim.AdamW (betas 0.9/0.999,
eps 1e-8) with weight_decay on Wc, E, D, wo, Wr only.
Writes losses.txt (loss of each step before its update), grads0.bin (first step's gradients,
init.bin layout), final.bin (parameters after the last step).
"""
import os
import sys

import numpy as np
import torch


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: convae_ref.py DIR\n")
        return 2
    d = sys.argv[1]
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    lines = open(os.path.join(d, "meta.txt")).read().splitlines()
    M, L, C, H = (int(v) for v in lines[0].split()[:4])
    lr, wd, w_neg = (float(v) for v in lines[0].split()[4:7])
    nsteps = int(lines[0].split()[7])
    steps, cur = [], []
    for ln in lines[1:]:
        if ln.strip() == "--":
            steps.append(cur)
            cur = []
        elif ln.strip():
            left, right = ln.split("|")
            obs = [tuple(int(x) for x in t.split(":")) for t in left.split()[2:]]
            neg = [int(x) for x in right.split()]
            cur.append((obs, neg))
    if len(steps) != nsteps:
        sys.stderr.write("meta.txt: %d steps, header says %d\n" % (len(steps), nsteps))
        return 1
    flat = np.fromfile(os.path.join(d, "init.bin"), dtype=np.float32).astype(np.float64)
    shapes = [("Wc", (C, L + 1)), ("E", (M * C, H)), ("be", (H,)), ("D", (M * C, H)),
              ("dd", (M * C,)), ("wo", (C,)), ("bo", (1,)), ("Wr", (L, C)), ("br", (L,))]
    P, off = {}, 0
    for name, shp in shapes:
        n = int(np.prod(shp))
        P[name] = torch.tensor(flat[off:off + n].reshape(shp), requires_grad=True)
        off += n
    if off != flat.size:
        sys.stderr.write("init.bin has %d floats, model needs %d\n" % (flat.size, off))
        return 1
    decay = [P[k] for k in ("Wc", "E", "D", "wo", "Wr")]
    nodecay = [P[k] for k in ("be", "dd", "bo", "br")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), eps=1e-8)
    sp = torch.nn.functional.softplus
    losses = []
    for s, rows in enumerate(steps):
        opt.zero_grad()
        total = 0.0
        nobs = sum(len(o) for o, _ in rows)
        for obs, neg in rows:
            Ev = P["E"].view(M, C, H)
            Dv = P["D"].view(M, C, H)
            dd = P["dd"].view(M, C)
            pre = P["be"].clone()
            for item, lv in obs:
                x = torch.zeros(L + 1)
                x[lv - 1] = 1.0
                x[L] = 1.0
                c = P["Wc"] @ x
                pre = pre + c @ Ev[item]
            h = torch.sigmoid(pre)
            for item, lv in obs:
                y = Dv[item] @ h + dd[item]
                o = P["wo"] @ y + P["bo"][0]
                lg = P["Wr"] @ y + P["br"]
                total = total + sp(-o) - torch.log_softmax(lg, 0)[lv - 1]
            for item in neg:
                y = Dv[item] @ h + dd[item]
                o = P["wo"] @ y + P["bo"][0]
                total = total + w_neg * sp(o)
        loss = total / max(nobs, 1)
        loss.backward()
        if s == 0:
            g = np.concatenate([P[k].grad.detach().numpy().ravel() for k, _ in shapes])
            g.astype(np.float32).tofile(os.path.join(d, "grads0.bin"))
        opt.step()
        losses.append(loss.item())
    with open(os.path.join(d, "losses.txt"), "w") as f:
        for v in losses:
            f.write("%.12g\n" % v)
    out = np.concatenate([P[k].detach().numpy().ravel() for k, _ in shapes])
    out.astype(np.float32).tofile(os.path.join(d, "final.bin"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
