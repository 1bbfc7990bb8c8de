#!/usr/bin/python3
"""bench_gru_torch.py — the PyTorch twin of bench_gru.c: seconds per training epoch of
nn.GRU(C, H) + nn.Linear(H, P) + dot + squared loss + Adam over S sequences of length T in
padded batches of B (random lengths in [T/2, T], pack_padded_sequence), 1 thread, best of 3.
Usage: bench_gru_torch.py [S T B C H P] (default 680 50 32 18 32 17)."""
import sys
import time

import torch


def main():
    S, T, B, C, H, P = (int(v) for v in sys.argv[1:7]) if len(sys.argv) == 7 else (680, 50, 32, 18, 32, 17)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gru, lin = torch.nn.GRU(C, H), torch.nn.Linear(H, P)
    opt = torch.optim.Adam(list(gru.parameters()) + list(lin.parameters()), lr=1e-3)
    x, v, y = torch.rand(T, B, C) - 0.5, torch.rand(T, B, P) - 0.5, torch.rand(T, B)
    best = 1e30
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(0, S, B):
            lens = torch.randint(T // 2, T + 1, (B,))
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, lens, enforce_sorted=False)
            out, _ = gru(packed)
            out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
            states = torch.cat([torch.zeros(1, B, H), out[:-1]], dim=0)
            pred = (lin(states) * v).sum(-1)
            mask = torch.arange(T)[:, None] < lens[None, :]
            loss = ((pred - y) ** 2)[mask].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        best = min(best, time.perf_counter() - t0)
    print("torch_gru_epoch_seconds %d %d %d %d %d %d %.6f" % (S, T, B, C, H, P, best))


if __name__ == "__main__":
    main()
