#!/usr/bin/python3
"""gru_ref.py — PyTorch reference of the twotimescale sequence encoder (used by test_gru).

Usage: /usr/bin/python3 tests/reference/gru_ref.py DIR

DIR holds what the C test wrote (float32 raw, time-major as src/nn_gru.h):
  meta.txt    line 1: T B C H P; line 2: the B sequence lengths (each >= 1)
  params.bin  w_ih (3H, C), w_hh (3H, H), b_ih (3H), b_hh (3H), w_o (P, H), b_o (P)
  x.bin (T, B, C), v.bin (T, B, P), off.bin (T, B), y.bin (T, B), h0.bin (B, H)
It loads the weights into torch.nn.GRU(C, H) and torch.nn.Linear(H, P), runs the padded batch
through pack_padded_sequence, predicts position t of each sequence from the state before it
(h0 for t = 0, the GRU output of step t-1 otherwise): pred = <Linear(state), v_t> + off_t,
loss = mean over the valid positions of (pred - y)^2, and writes
  losses.txt   the loss
  dparams.bin  the gradient of every parameter, in the layout of params.bin
  dx.bin       the gradient of x (T, B, C);  dh0.bin  the gradient of h0 (B, H)
"""
import os
import sys

import numpy as np
import torch


def rd(d, name, shape):
    return torch.from_numpy(np.fromfile(os.path.join(d, name), dtype=np.float32).reshape(shape).copy())


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: gru_ref.py DIR\n")
        return 2
    d = sys.argv[1]
    torch.set_num_threads(1)
    with open(os.path.join(d, "meta.txt")) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    T, B, C, H, P = (int(v) for v in lines[0])
    lens = [int(v) for v in lines[1]]
    par = np.fromfile(os.path.join(d, "params.bin"), dtype=np.float32)
    gru, lin = torch.nn.GRU(C, H), torch.nn.Linear(H, P)
    G, at = 3 * H, 0
    with torch.no_grad():
        for t, n in ((gru.weight_ih_l0, G * C), (gru.weight_hh_l0, G * H), (gru.bias_ih_l0, G),
                     (gru.bias_hh_l0, G), (lin.weight, P * H), (lin.bias, P)):
            t.copy_(torch.from_numpy(par[at:at + n].reshape(t.shape)))
            at += n
    assert at == par.size
    x = rd(d, "x.bin", (T, B, C)).requires_grad_()
    h0 = rd(d, "h0.bin", (1, B, H)).requires_grad_()
    v, off, y = rd(d, "v.bin", (T, B, P)), rd(d, "off.bin", (T, B)), rd(d, "y.bin", (T, B))
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lens), enforce_sorted=False)
    out, _ = gru(packed, h0)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    states = torch.cat([h0, out[:-1]], dim=0)          # (T, B, H): the state before position t
    pred = (lin(states) * v).sum(-1) + off
    mask = torch.arange(T)[:, None] < torch.tensor(lens)[None, :]
    loss = ((pred - y) ** 2)[mask].mean()
    loss.backward()
    with open(os.path.join(d, "losses.txt"), "w") as f:
        f.write("%.12g\n" % loss.item())
    g = torch.cat([p.grad.reshape(-1) for p in (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0,
                                                gru.bias_hh_l0, lin.weight, lin.bias)])
    g.detach().numpy().astype(np.float32).tofile(os.path.join(d, "dparams.bin"))
    x.grad.numpy().astype(np.float32).tofile(os.path.join(d, "dx.bin"))
    h0.grad.reshape(B, H).numpy().astype(np.float32).tofile(os.path.join(d, "dh0.bin"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
