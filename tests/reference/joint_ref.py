#!/usr/bin/python3
"""joint_ref.py — PyTorch reference of the joint network's training step (used by test_joint).

Usage: /usr/bin/python3 tests/reference/joint_ref.py DIR

DIR holds what the C test wrote:
  meta.txt   line 1: in_dim n_uid n_iid depth width lr weight_decay n_steps
             then one line per step: n_pairs
  init.bin   float32 parameters in the layout of src/nn_joint.h: W0 (dim1, in_dim) b0, W1 b1,
             ..., W_depth b_depth (W stored (out, in) as torch.nn.Linear), then the id tables
             Eu (n_uid, dim1) and Ei (n_iid, dim1) when n_uid, n_iid > 0
  step_K_x.bin   float32 (n_pairs, in_dim) inputs
  step_K_iu.bin, step_K_ii.bin   int32 id rows (-1 = no id: adds nothing)
  step_K_y.bin   float32 targets
The model: h0 = Linear(x) + Eu[iu] + Ei[ii], ReLU, (depth - 1) more Linear + ReLU layers, a final
Linear to 1 output (depth = 0: the first layer is the output); mean squared error;
torch.optim.AdamW (betas 0.9/0.999, eps 1e-8) with weight decay on the weight matrices and the
id tables and none on the biases, as src/nn_joint.c does. Writes
  losses.txt  the loss of each step before its update
  grad0.bin   float32 gradients of the first step (before its update), same layout as init.bin
  final.bin   float32 parameters after the last step, same layout
"""
import os
import sys

import numpy as np
import torch


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: joint_ref.py DIR\n")
        return 2
    d = sys.argv[1]
    torch.set_num_threads(1)
    with open(os.path.join(d, "meta.txt")) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    in_dim, n_uid, n_iid, depth, width = (int(v) for v in lines[0][:5])
    lr, wd, nsteps = float(lines[0][5]), float(lines[0][6]), int(lines[0][7])
    sizes = [int(ln[0]) for ln in lines[1:1 + nsteps]]

    dims = [in_dim] + [width] * depth + [1]
    lins = [torch.nn.Linear(dims[l], dims[l + 1]) for l in range(depth + 1)]
    emb = [torch.nn.Parameter(torch.zeros(n, dims[1])) for n in (n_uid, n_iid) if n > 0]
    order = []   # the parameters in the layout of init.bin
    for lin in lins:
        order += [lin.weight, lin.bias]
    order += emb
    flat = np.fromfile(os.path.join(d, "init.bin"), dtype=np.float32)
    need = sum(p.numel() for p in order)
    if flat.size != need:
        sys.stderr.write("init.bin has %d floats, the model needs %d\n" % (flat.size, need))
        return 1
    off = 0
    with torch.no_grad():
        for p in order:
            p.copy_(torch.from_numpy(flat[off:off + p.numel()].reshape(p.shape)))
            off += p.numel()
    Eu = emb[0] if n_uid > 0 else None
    Ei = emb[-1] if n_iid > 0 else None

    def forward(x, iu, ii):
        h = lins[0](x)
        for E, idx in ((Eu, iu), (Ei, ii)):
            if E is not None:
                keep = (idx >= 0).float().unsqueeze(1)
                h = h + E[idx.clamp(min=0)] * keep
        for lin in lins[1:]:
            h = lin(torch.relu(h))
        return h.squeeze(1)

    opt = torch.optim.AdamW([{"params": [l.weight for l in lins] + emb, "weight_decay": wd},
                             {"params": [l.bias for l in lins], "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), eps=1e-8)

    def load(k, name, dtype, shape):
        a = np.fromfile(os.path.join(d, "step_%d_%s.bin" % (k, name)), dtype=dtype)
        return torch.from_numpy(a.reshape(shape))

    losses = []
    for k, b in enumerate(sizes):
        x = load(k, "x", np.float32, (b, in_dim))
        iu = load(k, "iu", np.int32, (b,)).long()
        ii = load(k, "ii", np.int32, (b,)).long()
        y = load(k, "y", np.float32, (b,))
        opt.zero_grad()
        loss = ((forward(x, iu, ii) - y) ** 2).mean()
        loss.backward()
        if k == 0:
            np.concatenate([p.grad.detach().numpy().ravel() for p in order]).astype(
                np.float32).tofile(os.path.join(d, "grad0.bin"))
        opt.step()
        losses.append(loss.item())
    with open(os.path.join(d, "losses.txt"), "w") as f:
        for v in losses:
            f.write("%.9g\n" % v)
    with torch.no_grad():
        np.concatenate([p.detach().numpy().ravel() for p in order]).astype(np.float32).tofile(
            os.path.join(d, "final.bin"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
