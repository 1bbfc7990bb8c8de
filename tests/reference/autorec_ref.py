#!/usr/bin/python3
"""autorec_ref.py — PyTorch reference of the AutoRec training step (used by test_autorec).

Usage: /usr/bin/python3 tests/reference/autorec_ref.py DIR

DIR holds what the C test wrote:
  meta.txt   line 1: V D H N lr reg n_steps
             (V vectors of D entries, H hidden units, N observed ratings in all V vectors,
             Adam learning rate, the paper's L2 lambda)
             then one line per step: the number of vectors B of the step's batch
  R.bin      float32 (V, D) ratings, 0 where not observed
  M.bin      float32 (V, D) mask, 1 where observed
  init.bin   float32 parameters W1 (H, D), b1 (H), W2 (D, H), b2 (D) (torch.nn.Linear layout)
  step_K_idx.bin   int32 (B) the rows of R in step K's batch
Model: out = W2 sigmoid(W1 x + b1) + b2 on x = R[idx]; loss of a step
    (V / (B N)) * sum M[idx] (out - R[idx])^2 + (reg / (2 N)) (||W1||^2 + ||W2||^2)
(the paper's objective SSE + lambda/2 ||W||^2 divided by N, minibatch-unbiased), optimised with
torch.optim.Adam (betas 0.9/0.999, eps 1e-8, no weight decay: the L2 term is in the loss).
Writes
  losses.txt  the loss of each step before its update (one per line)
  final.bin   float32 parameters after the last step, same layout as init.bin
"""
import os
import sys

import numpy as np
import torch


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: autorec_ref.py DIR\n")
        return 2
    d = sys.argv[1]
    torch.set_num_threads(1)
    with open(os.path.join(d, "meta.txt")) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    V, D, H, N = (int(v) for v in lines[0][:4])
    lr, reg = float(lines[0][4]), float(lines[0][5])
    nsteps = int(lines[0][6])
    sizes = [int(ln[0]) for ln in lines[1:1 + nsteps]]

    R = torch.from_numpy(np.fromfile(os.path.join(d, "R.bin"), dtype=np.float32).reshape(V, D))
    M = torch.from_numpy(np.fromfile(os.path.join(d, "M.bin"), dtype=np.float32).reshape(V, D))
    enc, dec = torch.nn.Linear(D, H), torch.nn.Linear(H, D)
    flat = np.fromfile(os.path.join(d, "init.bin"), dtype=np.float32)
    off = 0
    with torch.no_grad():
        for lin in (enc, dec):
            for p in (lin.weight, lin.bias):
                n = p.numel()
                p.copy_(torch.from_numpy(flat[off:off + n].reshape(p.shape)))
                off += n
    if off != flat.size:
        sys.stderr.write("init.bin has %d floats, model needs %d\n" % (flat.size, off))
        return 1

    params = [enc.weight, enc.bias, dec.weight, dec.bias]
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    reg_scale = reg / (2.0 * N)
    losses = []
    for k, b in enumerate(sizes):
        idx = np.fromfile(os.path.join(d, "step_%d_idx.bin" % k), dtype=np.int32)
        if idx.size != b:
            sys.stderr.write("step %d: %d indices, meta says %d\n" % (k, idx.size, b))
            return 1
        idx = torch.from_numpy(idx).long()
        x, m = R[idx], M[idx]
        opt.zero_grad()
        out = dec(torch.sigmoid(enc(x)))
        data_scale = V / (b * N)
        loss = data_scale * (m * (out - x) ** 2).sum() + \
            reg_scale * ((enc.weight ** 2).sum() + (dec.weight ** 2).sum())
        loss.backward()
        opt.step()
        losses.append(loss.item())

    with open(os.path.join(d, "losses.txt"), "w") as f:
        for v in losses:
            f.write("%.9g\n" % v)
    with torch.no_grad():
        out = np.concatenate([p.detach().numpy().ravel() for p in params])
    out.astype(np.float32).tofile(os.path.join(d, "final.bin"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
