#!/usr/bin/python3
"""sae_ref.py — PyTorch reference of the CompresSAE training step (used by test_sae).

Usage: /usr/bin/python3 tests/reference/sae_ref.py DIR

DIR holds what the C test wrote:
  meta.txt   one line: N d s k lr n_steps B
             (N input rows of d entries, latent s, top-k, Adam learning rate, steps, batch B)
  X.bin      float32 (N, d) inputs, rows L2-normalised
  init.bin   float32 parameters We (s, d), be (s), D (s, d) (D: one decoder atom per row)
Step t uses rows (t B + r) mod N, r = 0 .. B-1. Model (src/nn_sae.h):
    a = X We^T + be;  z_k = a * topk_mask(|a|, k);  z_4k likewise with min(4k, s)
    loss = mean_rows (1 - cos(x, z_k D)) + (1 - cos(x, z_4k D)) / 8
optimised with torch.optim.Adam (betas 0.9/0.999, eps 1e-8, no weight decay); after each step
every row of D is rescaled to unit norm.
Writes
  losses.txt  the loss of each step before its update (one per line)
  grads0.bin  float32 gradients of the first step (same layout as init.bin)
  final.bin   float32 parameters after the last step
  masks0.bin  uint8 (B, s) the first step's top-k mask (1 where kept)
"""
import os
import sys

import numpy as np
import torch


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: sae_ref.py DIR\n")
        return 2
    d = sys.argv[1]
    torch.set_num_threads(1)
    with open(os.path.join(d, "meta.txt")) as f:
        t = f.read().split()
    N, D, S, K = (int(v) for v in t[:4])
    lr, nsteps, B = float(t[4]), int(t[5]), int(t[6])
    K4 = min(4 * K, S)
    X = torch.from_numpy(np.fromfile(os.path.join(d, "X.bin"), dtype=np.float32).reshape(N, D))
    flat = np.fromfile(os.path.join(d, "init.bin"), dtype=np.float32)
    if flat.size != 2 * S * D + S:
        sys.stderr.write("init.bin has %d floats, model needs %d\n" % (flat.size, 2 * S * D + S))
        return 1
    We = torch.tensor(flat[:S * D].reshape(S, D), requires_grad=True)
    be = torch.tensor(flat[S * D:S * D + S], requires_grad=True)
    Dec = torch.tensor(flat[S * D + S:].reshape(S, D), requires_grad=True)
    params = [We, be, Dec]
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)

    def topk_mask(a, k):
        idx = torch.topk(a.abs(), k, dim=1).indices
        m = torch.zeros_like(a)
        m.scatter_(1, idx, 1.0)
        return m

    losses = []
    for step in range(nsteps):
        rows = torch.tensor([(step * B + r) % N for r in range(B)])
        x = X[rows]
        opt.zero_grad()
        a = x @ We.T + be
        mk, m4 = topk_mask(a.detach(), K), topk_mask(a.detach(), K4)
        yk, y4 = (a * mk) @ Dec, (a * m4) @ Dec
        cos = torch.nn.functional.cosine_similarity
        loss = ((1 - cos(x, yk, dim=1, eps=1e-30)) + (1 - cos(x, y4, dim=1, eps=1e-30)) / 8).mean()
        loss.backward()
        if step == 0:
            g = np.concatenate([p.grad.detach().numpy().ravel() for p in params])
            g.astype(np.float32).tofile(os.path.join(d, "grads0.bin"))
            mk.numpy().astype(np.uint8).tofile(os.path.join(d, "masks0.bin"))
        opt.step()
        with torch.no_grad():
            Dec /= Dec.norm(dim=1, keepdim=True)
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
