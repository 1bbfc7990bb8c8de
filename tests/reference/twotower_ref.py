#!/usr/bin/python3
"""twotower_ref.py — PyTorch reference of the two-tower training step (used by test_twotower).

Usage: /usr/bin/python3 tests/reference/twotower_ref.py DIR

DIR holds what the C test wrote:
  meta.txt   line 1: user_dim item_dim depth width embed_dim lr weight_decay n_steps
             then one line per step: n_users n_items n_pairs [kind] (distinct users/items of
             the batch; kind 0 or absent: a joint step of both towers (nn_twotower_step);
             1: a step of the user tower alone against the item embeddings the current item
             tower gives (held fixed), 2: the item tower alone against the user embeddings
             (the alternating schedule's nn_twotower_tower_step))
  init.bin   float32 parameters in the layout of src/nn.h (user tower W0 b0 W1 b1 ...,
             then item tower; W stored (out, in) row-major as torch.nn.Linear)
  step_K_xu.bin, step_K_xi.bin   float32 inputs of the distinct users / items
  step_K_pu.bin, step_K_pi.bin   int32 local row index of each pair
  step_K_y.bin                   float32 targets
It builds the same model (depth Linear+ReLU layers per tower, a final Linear to embed_dim,
prediction <f(x_u), g(x_i)>, mean squared error), runs the same steps with torch.optim.AdamW
(betas 0.9/0.999, eps 1e-8; weight decay on weight matrices only, biases in a group with
weight_decay 0, as src/adam.c does; one optimiser over both towers for joint steps, one per
tower, each with its own step count, for tower steps), and writes
  losses.txt  the loss of each step before its update (one per line)
  final.bin   float32 parameters after the last step, same layout as init.bin
"""
import os
import sys

import numpy as np
import torch


def standardise(x, ents):
    """Columns standardised with the mean and sd over the distinct entities ents (sd 0 -> 1),
    as est_twotower.c does; float32 numpy."""
    e = np.unique(ents)
    mean = x[e].mean(axis=0)
    sd = x[e].std(axis=0)
    sd[~(sd > 1e-12)] = 1.0
    return ((x - mean) / sd).astype(np.float32)


def read_data(path):
    """A `t2rec gen` data file: user and item covariates and the train/valid/test_cold splits
    (user, item, rating, oracle)."""
    import h5py
    with h5py.File(path, "r") as f:
        ux, ix = f["users/x"][...], f["items/x"][...]
        sp = {k: {c: f["splits/%s/%s" % (k, c)][...] for c in ("user", "item", "rating", "oracle")}
              for k in ("train", "valid", "test_cold")}
    return ux, ix, sp


def tower(in_dim, depth, width, out_dim):
    layers, d = [], in_dim
    for _ in range(depth):
        layers += [torch.nn.Linear(d, width), torch.nn.ReLU()]
        d = width
    layers.append(torch.nn.Linear(d, out_dim))
    return torch.nn.Sequential(*layers)


def linears(t):
    return [m for m in t if isinstance(m, torch.nn.Linear)]


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: twotower_ref.py DIR\n")
        return 2
    d = sys.argv[1]
    torch.set_num_threads(1)
    with open(os.path.join(d, "meta.txt")) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    du, di, depth, width, p = (int(v) for v in lines[0][:5])
    lr, wd = float(lines[0][5]), float(lines[0][6])
    nsteps = int(lines[0][7])
    sizes = [tuple(int(v) for v in ln) + (0,) * (4 - len(ln)) for ln in lines[1:1 + nsteps]]

    fu, gi = tower(du, depth, width, p), tower(di, depth, width, p)
    flat = np.fromfile(os.path.join(d, "init.bin"), dtype=np.float32)
    off = 0
    with torch.no_grad():
        for t in (fu, gi):
            for lin in linears(t):
                nw = lin.weight.numel()
                lin.weight.copy_(torch.from_numpy(flat[off:off + nw].reshape(lin.weight.shape)))
                off += nw
                nb = lin.bias.numel()
                lin.bias.copy_(torch.from_numpy(flat[off:off + nb].copy()))
                off += nb
    if off != flat.size:
        sys.stderr.write("init.bin has %d floats, model needs %d\n" % (flat.size, off))
        return 1

    def adamw(towers):
        weights = [lin.weight for t in towers for lin in linears(t)]
        biases = [lin.bias for t in towers for lin in linears(t)]
        return torch.optim.AdamW([{"params": weights, "weight_decay": wd},
                                  {"params": biases, "weight_decay": 0.0}],
                                 lr=lr, betas=(0.9, 0.999), eps=1e-8)

    opts = {0: adamw((fu, gi)), 1: adamw((fu,)), 2: adamw((gi,))}

    def load(k, name, dtype, shape):
        a = np.fromfile(os.path.join(d, "step_%d_%s.bin" % (k, name)), dtype=dtype)
        return torch.from_numpy(a.reshape(shape))

    losses = []
    for k, (nu, ni, b, kind) in enumerate(sizes):
        xu = load(k, "xu", np.float32, (nu, du))
        xi = load(k, "xi", np.float32, (ni, di))
        pu = load(k, "pu", np.int32, (b,)).long()
        pi = load(k, "pi", np.int32, (b,)).long()
        y = load(k, "y", np.float32, (b,))
        opt = opts[kind]
        opt.zero_grad()
        if kind == 1:
            with torch.no_grad():
                g = gi(xi)
            pred = (fu(xu)[pu] * g[pi]).sum(dim=1)
        elif kind == 2:
            with torch.no_grad():
                f = fu(xu)
            pred = (f[pu] * gi(xi)[pi]).sum(dim=1)
        else:
            pred = (fu(xu)[pu] * gi(xi)[pi]).sum(dim=1)
        loss = ((pred - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())

    with open(os.path.join(d, "losses.txt"), "w") as f:
        for v in losses:
            f.write("%.9g\n" % v)
    out = []
    with torch.no_grad():
        for t in (fu, gi):
            for lin in linears(t):
                out.append(lin.weight.detach().numpy().ravel())
                out.append(lin.bias.detach().numpy().ravel())
    np.concatenate(out).astype(np.float32).tofile(os.path.join(d, "final.bin"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
