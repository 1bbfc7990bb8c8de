#!/usr/bin/python3
"""run_bench.py — `make bench`: t2rec's two-tower estimator against the PyTorch reference.

Runs, in one go and on the same synthetic data (bench_twotower.c writes it; D = 32, 3 hidden
layers of 256, embed_dim 16, batch 1024, Adam lr 1e-3):
  1. sgemm peak of the exact tower GEMM shapes (sgemm_peak.c), per OpenBLAS core;
  2. seconds per epoch (training pass only; best of 3): t2rec at 1 and 2 threads, PyTorch at
     1 and 2 threads over its settings (OpenBLAS core, OMP_WAIT_POLICY, per-pair or per-distinct
     towers); its best setting is the fastest of them;
  3. tower GEMM rate inside t2rec's training step next to the sgemm peak;
  4. seconds per epoch at n_obs = 2^16, 2^18, 2^20 (linear growth);
  5. time-to-accuracy: wall time (training + per-epoch evaluation) until the valid RMSE first
     comes within 1% of the PyTorch reference's best, for each t2rec schedule, and the final
     test_cold excess risk (at the best valid epoch) next to PyTorch's;
  6. peak RSS of a fit at n_obs = 10^7 (a partial epoch) against data + model + optimizer;
  7. the baselines on MovieLens 100K fold u1 (data/ml-100k) next to their PyTorch references
     (bench_baselines.c, tests/reference/torch_baselines.py): MF ALS and SGD and I-AutoRec with the tuned
     settings of paper_configs/movielens100k.ini, seconds per epoch and test RMSE;
  8. the ceiling: the core's FP32 FMA peak, and the fastest 1-thread epoch it allows for t2rec's
     tower flops (what "x times faster than PyTorch" can reach at all);
  9. accuracy of a converged fit: on synthetic cells (bumps d = 2 and lacunary d = 3, D = 16,
     n_obs = 8192; depth 2, width 64, embed_dim 8, every training key at t2rec's DEFAULT), the
     final test_cold excess risk of `t2rec run` next to the full-training PyTorch reference
     (tests/reference/twotower_full_ref.py: PyTorch's default init, Adam lr 3e-3, cosine over
     200 epochs, early stopping on valid, best weights kept) on the same data file (`t2rec gen
     --cell K`); the check fails when t2rec's mean excess risk of a cell is above 1.2x the
     reference's.
 10. the results store: seconds per cell spent storing as the sweep grows (bench_store.c);
 11. the twotimescale GRU encoder (bench_gru.c, src/nn_gru.c) against torch nn.GRU
     (bench_gru_torch.py): seconds per training epoch at the shapes of a MovieLens 100K u1
     cold_users fit (680 sequences of length <= 50, batch 32, input 18, hidden 32, read-out 17),
     1 thread each, best of 3 (smoke: 64 sequences).
Writes results/bench.json (every raw run with its command line and the load average when it
started) and prints a table. BENCH_SCALE=small (default, ~5 min on 2 cores), full (1M obs,
~15 min) or smoke (toy sizes, ~1 min, writes results/bench_smoke.json: checks the bench runs).
"""
import json
import re
import os
import shlex
import subprocess
import sys
import time

SCALE = os.environ.get("BENCH_SCALE", "small")
BUILD = os.environ.get("BUILD", "build")
PY = os.environ.get("PYTHON", "/usr/bin/python3")
BT = os.path.join(BUILD, "bench", "bench_twotower")
BB = os.path.join(BUILD, "bench", "bench_baselines")
REF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "reference")
TORCH_BL = os.path.join(REF, "torch_baselines.py")
ML = os.environ.get("ML100K", os.path.join("data", "ml-100k"))
SP = os.path.join(BUILD, "bench", "sgemm_peak")
T2REC = os.environ.get("T2REC", os.path.join("bin", "t2rec"))
FULL_REF = os.path.join(REF, "twotower_full_ref.py")
TORCH = os.path.join(REF, "torch_twotower.py")
WORK = os.path.join("results", "bench_work")
OUT = os.path.join("results", "bench_smoke.json" if SCALE == "smoke" else "bench.json")

CFG = {
    "small": dict(n=1 << 18, scaling=[1 << 16, 1 << 18, 1 << 20], tta_epochs=12, speed_reps=3,
                  mem_n=10_000_000, mem_batches=200, conv_n=8192, conv_reps=2, conv_ref_epochs=200,
                  conv_keys=[]),
    "full": dict(n=1_000_000, scaling=[1 << 16, 1 << 18, 1 << 20], tta_epochs=12, speed_reps=3,
                 mem_n=10_000_000, mem_batches=1000, conv_n=8192, conv_reps=3, conv_ref_epochs=200,
                 conv_keys=[]),
    # every step of the bench at toy sizes (about a minute): checks that `make bench` works, the
    # numbers mean nothing
    "smoke": dict(n=1 << 13, scaling=[1 << 12, 1 << 13], tta_epochs=2, speed_reps=1,
                  mem_n=100_000, mem_batches=10, conv_n=1024, conv_reps=1, conv_ref_epochs=3,
                  conv_keys=["epochs = 3"]),
}[SCALE]
SP_SECS = "0.02" if SCALE == "smoke" else "0.3"   # seconds per shape in sgemm_peak

runs = []


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(label, cmd, env_over, parse_json=True):
    env = dict(os.environ)
    for k, v in env_over.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    shown = " ".join(("env -u %s" % k) if v is None else "%s=%s" % (k, v)
                     for k, v in env_over.items()) + " " + " ".join(shlex.quote(c) for c in cmd)
    la = loadavg()
    sys.stderr.write("[bench] %s (load %s)\n        %s\n" % (label, la, shown.strip()))
    t0 = time.time()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit("bench: '%s' failed (exit %d)" % (shown, p.returncode))
    res = json.loads(p.stdout.strip().splitlines()[-1]) if parse_json else p.stdout
    runs.append({"label": label, "command": shown.strip(), "load_before": la, "load_after": loadavg(),
                 "seconds": time.time() - t0, "result": res})
    with open(os.path.join(WORK, "runs_partial.json"), "w") as f:   # survives a failure later on
        json.dump(runs, f, indent=1)
    return res


def auto_core():   # OpenBLAS's own choice (OPENBLAS_CORETYPE unset)
    return {"OPENBLAS_CORETYPE": None}


def core_env(core):
    return auto_core() if core == "auto" else {"OPENBLAS_CORETYPE": core}


def t2rec_fit(n, threads, core, extra, label):
    env = core_env(core)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    return run(label, [BT, "fit", str(n), str(threads)] + extra, env)


def torch_fit(data, threads, core, variant, epochs, policy, label, extra=()):
    env = core_env(core)
    env.update({"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)})
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    return run(label, [PY, TORCH, data, "--threads", str(threads), "--epochs", str(epochs),
                       "--variant", variant] + list(extra), env)


def main():
    os.makedirs(WORK, exist_ok=True)
    n = CFG["n"]
    reps = CFG["speed_reps"]
    summary = {"scale": SCALE, "n_obs": n, "model": "D=32 (users and items), depth 3, width 256, "
               "embed_dim 16, batch 1024, AdamW lr 1e-3 wd 0", "nproc": os.cpu_count()}

    # 1. sgemm peak per core (1 thread), and at 2 OpenBLAS threads for the best core
    peaks = {}
    for core in ("auto", "SkylakeX", "Haswell"):
        peaks[core] = run("sgemm_peak %s 1 thread" % core, [SP, "1000", "32", "3", "256", "16", "1", SP_SECS],
                          core_env(core))
    best_peak_core = max(peaks, key=lambda c: peaks[c]["peak_gflops"])
    # t2rec's core: the one whose training step is fastest (the peaks are close and noisy)
    probe = {c: run("t2rec step probe core=%s" % c, [BT, "step", str(min(n, 65536)), "1", "60"], core_env(c))
             for c in ("auto", "SkylakeX")}
    best_core = min(probe, key=lambda c: probe[c]["step_seconds"])
    summary["t2rec_core_probe"] = {probe[c]["core"]: probe[c]["step_seconds"] for c in probe}
    peak2 = run("sgemm_peak %s 2 threads" % best_peak_core, [SP, "1000", "32", "3", "256", "16", "2", SP_SECS],
                core_env(best_peak_core))
    summary["sgemm_peak"] = {c: {"core": peaks[c]["core"], "gflops_1thread": peaks[c]["peak_gflops"]}
                             for c in peaks}
    summary["fma_peak_gflops_1thread"] = max(peaks[c]["fma_peak_gflops"] for c in peaks)
    summary["best_core"] = probe[best_core]["core"]
    summary["sgemm_peak_2threads_openblas"] = peak2["peak_gflops"]

    # 2. seconds per epoch
    data = os.path.join(WORK, "data_%d.h5" % n)
    if not os.path.exists(data):
        run("gen %d" % n, [BT, "gen", str(n), data], {}, parse_json=False)
    t1 = t2rec_fit(n, 1, best_core, ["epochs=1", "reps=%d" % reps], "t2rec epoch 1 thread")
    t2 = t2rec_fit(n, 2, best_core, ["epochs=1", "reps=%d" % reps], "t2rec epoch 2 threads")
    t2rec_epoch = {1: min(r["train_s"] for r in t1["reps"]), 2: min(r["train_s"] for r in t2["reps"])}
    settings = [(1, "auto", "pairs", None), (1, "auto", "unique", None), (1, "SkylakeX", "pairs", None),
                (2, "auto", "pairs", "PASSIVE")]
    if SCALE == "full":   # OMP's default (active) wait policy: much slower at 2 threads when loaded
        settings.append((2, "auto", "pairs", None))
    torch_speed = []
    for th, core, var, pol in settings:
        r = torch_fit(data, th, core, var, reps, pol,
                      "torch epoch %d thread(s) core=%s %s OMP_WAIT_POLICY=%s" % (th, core, var, pol or "default"))
        torch_speed.append({"threads": th, "core_setting": core, "core": r["core"], "variant": var,
                            "omp_wait_policy": pol or "default", "epoch_s": min(r["epoch_train_s"])})
    tbest = {th: min((s for s in torch_speed if s["threads"] == th), key=lambda s: s["epoch_s"])
             for th in (1, 2)}
    tbest_any = min(torch_speed, key=lambda s: s["epoch_s"])
    summary["epoch_seconds"] = {
        "t2rec_1thread": t2rec_epoch[1], "t2rec_2threads": t2rec_epoch[2],
        "torch_settings": torch_speed, "torch_best_1thread": tbest[1], "torch_best_2threads": tbest[2],
        "torch_best": tbest_any,
        "speedup_t2rec1_vs_torch_best_1thread": tbest[1]["epoch_s"] / t2rec_epoch[1],
        "speedup_t2rec1_vs_torch_best_any": tbest_any["epoch_s"] / t2rec_epoch[1],
        "speedup_t2rec2_vs_torch_best_any": tbest_any["epoch_s"] / t2rec_epoch[2],
        "t2rec_2thread_scaling": t2rec_epoch[1] / t2rec_epoch[2],
        "obs_per_second_t2rec_1thread": n / t2rec_epoch[1],
    }

    # 3. tower GEMM rate in the training step vs the sgemm peak of the same shapes
    st1 = run("t2rec step GEMM rate 1 thread", [BT, "step", str(n), "1", "100"], core_env(best_core))
    st2 = run("t2rec step GEMM rate 2 threads", [BT, "step", str(n), "2", "100"], core_env(best_core))
    rows = int(round(st1["mean_rows"]))
    pk = run("sgemm_peak at the step's mean rows", [SP, str(rows), "32", "3", "256", "16", "1", SP_SECS],
             core_env(best_core))
    summary["gemm"] = {
        "mean_rows_per_tower": st1["mean_rows"], "sgemm_peak_1thread": pk["peak_gflops"],
        "step_gflops_1thread": st1["step_gemm_gflops"], "step_gflops_2threads": st2["step_gemm_gflops"],
        "fraction_of_peak_1thread": st1["step_gemm_gflops"] / pk["peak_gflops"],
        "fraction_of_2x_peak_2threads": st2["step_gemm_gflops"] / (2 * pk["peak_gflops"]),
        "epoch_gflops_1thread": st1["gemm_flops_per_step"] * (n / 1024.0) / t2rec_epoch[1] * 1e-9,
        "note": "step GFLOP/s = GEMM flops of the towers / time of the WHOLE training step (gather, "
                "ReLU, dot, AdamW included), so it understates the GEMMs' own rate",
    }

    # 8. the ceiling set by the FMA peak (computed here: it needs the step's flops)
    fma = summary["fma_peak_gflops_1thread"]
    t2rec_flops_epoch = st1["gemm_flops_per_step"] * (n / 1024.0)
    pair_flops = 2.0 * pk["tower_step_flops"] / rows   # both towers, one row each
    torch_flops_epoch = {"pairs": pair_flops * n, "unique": t2rec_flops_epoch}
    floor_s = t2rec_flops_epoch / (fma * 1e9)
    summary["ceiling"] = {
        "fma_peak_gflops_1thread": fma,
        "t2rec_tower_gflop_per_epoch": t2rec_flops_epoch * 1e-9,
        "t2rec_epoch_at_fma_peak_s": floor_s,
        "max_speedup_vs_torch_best_1thread": tbest[1]["epoch_s"] / floor_s,
        "t2rec_1thread_fraction_of_fma_peak": t2rec_flops_epoch / t2rec_epoch[1] / (fma * 1e9),
        "torch_best_1thread_fraction_of_fma_peak":
            torch_flops_epoch[tbest[1]["variant"]] / tbest[1]["epoch_s"] / (fma * 1e9),
        "note": "tower GEMM flops only (ReLU, dot, AdamW, gathers not counted); t2rec computes each "
                "distinct entity once per batch, PyTorch 'pairs' once per pair",
    }

    # 4. linear growth of the epoch time
    scal = []
    for m in CFG["scaling"]:
        r = t1 if m == n else t2rec_fit(m, 1, best_core, ["epochs=1", "reps=%d" % reps],
                                        "t2rec epoch n_obs=%d 1 thread" % m)
        s = min(x["train_s"] for x in r["reps"])
        scal.append({"n_obs": m, "epoch_s": s, "us_per_obs": 1e6 * s / m})
    summary["scaling"] = scal

    # 5. time-to-accuracy
    E = CFG["tta_epochs"]
    tb = tbest_any
    ref = torch_fit(data, tb["threads"], tb["core_setting"], tb["variant"], E,
                    None if tb["omp_wait_policy"] == "default" else tb["omp_wait_policy"],
                    "torch time-to-accuracy (best setting) %d epochs" % E)
    target = 1.01 * min(ref["valid_rmse"])

    def tta(res):
        for k, v in enumerate(res["valid_rmse"]):
            if v <= target:
                return res["wall"][k], k + 1
        return None, None

    ref_t, ref_e = tta(ref)
    tta_rows = [{"impl": "pytorch", "schedule": "pairs", "threads": tb["threads"], "tta_s": ref_t,
                 "tta_epoch": ref_e, "best_valid_rmse": min(ref["valid_rmse"]),
                 "final_test_excess": ref["final_test_excess"], "wall_total": ref["wall"][-1]}]
    for sched in ("pairs", "user_grouped", "alternating"):
        for th in (1, 2):
            r = t2rec_fit(n, th, best_core, ["epochs=%d" % E, "patience=0", "schedule=" + sched],
                          "t2rec time-to-accuracy %s %d thread(s)" % (sched, th))
            t, e = tta(r)
            tta_rows.append({"impl": "t2rec", "schedule": sched, "threads": th, "tta_s": t, "tta_epoch": e,
                             "best_valid_rmse": min(r["valid_rmse"]), "final_test_excess": r["final_test_excess"],
                             "wall_total": r["wall"][-1],
                             "speedup_vs_torch": (ref_t / t) if (t and ref_t) else None,
                             "excess_no_worse": r["final_test_excess"] <= ref["final_test_excess"]})
    summary["time_to_accuracy"] = {"target_valid_rmse": target, "epochs": E, "rows": tta_rows}

    # 6. memory at 10^7 observations (a partial epoch)
    mm = run("t2rec memory n_obs=%d (%d batches, 2 threads)" % (CFG["mem_n"], CFG["mem_batches"]),
             [BT, "mem", str(CFG["mem_n"]), "2", str(CFG["mem_batches"])], core_env(best_core))
    base = mm["data_bytes"] + mm["model_opt_bytes"]
    summary["memory"] = {"n_obs": CFG["mem_n"], "data_bytes": mm["data_bytes"],
                         "model_opt_bytes": mm["model_opt_bytes"], "fit_peak_rss_bytes": 1024 * mm["fit_peak_rss_kb"],
                         "process_peak_rss_bytes": 1024 * mm["process_peak_rss_kb"],
                         "fit_peak_over_data_model_opt": 1024 * mm["fit_peak_rss_kb"] / base,
                         "process_peak_over_data_model_opt": 1024 * mm["process_peak_rss_kb"] / base,
                         "generator_peak_rss_bytes": 1024 * mm["gen_peak_rss_kb"],
                         "gen_seconds": mm["gen_seconds"]}

    # 7. baselines on MovieLens 100K vs PyTorch
    summary["baselines"] = baselines(best_core)

    # 9. converged accuracy against the full-training PyTorch reference
    summary["converged"] = converged(best_core)

    # 10. the results store: cost per cell as the sweep grows (store_bench below)
    summary["store"] = store_bench()

    # 11. the GRU encoder of twotimescale vs torch nn.GRU (gru_bench below)
    summary["gru"] = gru_bench(best_core)

    loads = [float(r["load_before"].split()[0]) for r in runs]
    summary["load_average_1min"] = {"min": min(loads), "max": max(loads),
                                    "note": "1-minute load average before each run (2 cores)"}
    with open(OUT, "w") as f:
        json.dump({"summary": summary, "runs": runs}, f, indent=1)
    print_table(summary)
    print_store(summary["store"])
    print_gru(summary["gru"])
    if not summary["store"]["within"] and SCALE != "smoke":
        sys.stderr.write("bench: storing a cell at %d cells costs more than %.0fx what it costs at %d\n"
                         % (summary["store"]["sizes"][-1], STORE_RATIO, summary["store"]["sizes"][0]))
        return 1
    bad = [r for r in summary["converged"]["cells"] if not r["within"]]
    if bad and SCALE != "smoke":
        sys.stderr.write("bench: t2rec's default fit is above %.1fx the PyTorch reference on %s\n" %
                         (CONV_RATIO, ", ".join(r["cell"] for r in bad)))
        return 1
    return 0


CONV_RATIO = 1.2
CONV_CELLS = [("bumps d=2", "bumps", 2), ("lacunary d=3", "lacunary", 3)]


def converged(core):
    """Step 9: t2rec's defaults vs the full-training PyTorch reference, same data files."""
    if not os.path.exists(T2REC):
        raise SystemExit("bench: %s missing (make all)" % T2REC)
    n, reps = CFG["conv_n"], CFG["conv_reps"]
    rows = []
    for label, truth, d in CONV_CELLS:
        tag = "%s_d%d_n%d" % (truth, d, n)
        cfg = os.path.join(WORK, "conv_%s.ini" % tag)
        out = os.path.join(WORK, "conv_%s.h5" % tag)
        with open(cfg, "w") as f:
            f.write("[experiment]\nname = bench_converged\nseed = 11\nreplicates = %d\noutput = %s\n\n"
                    "[data]\nn_obs = %d\nuser_intrinsic_dim = %d\nitem_intrinsic_dim = %d\n"
                    "user_ambient_dim = 16\nitem_ambient_dim = 16\ntruth = %s\nbeta = 1.0\nnoise = 0.1\n"
                    "test_cold_pairs = 10000\ntest_warm_pairs = 2000\n\n"
                    "[method.twotower]\ndepth = 2\nwidth = 64\nembed_dim = 8\n%s\n"
                    % (reps, out, n, d, d, truth, "\n".join(CFG["conv_keys"])))
        env = dict(core_env(core), OPENBLAS_NUM_THREADS="1")
        run("t2rec run %s (defaults, %d replicates)" % (label, reps),
            [T2REC, "run", cfg, "--force", "--threads", "1", "--no-progress"], env, parse_json=False)
        csv = run("t2rec export %s" % label, [T2REC, "export", out, "--csv"], env, parse_json=False)
        lines = [ln for ln in csv.splitlines() if ln.strip()]
        head = lines[0].split(",")
        ours = {}
        for ln in lines[1:]:   # no field of these rows holds a comma
            v = dict(zip(head, ln.split(",")))
            ours[int(v["replicate"])] = {"excess": float(v["excess_risk_cold"]),
                                         "stopped_by": v.get("stopped_by", ""),
                                         "best_epoch": v.get("best_epoch", "")}
        for k in range(reps):
            data = os.path.join(WORK, "conv_%s_rep%d.h5" % (tag, k))
            run("t2rec gen %s replicate %d" % (label, k), [T2REC, "gen", cfg, "--cell", str(k), "-o", data],
                env, parse_json=False)
            ref = run("torch full-training reference %s replicate %d" % (label, k),
                      [PY, FULL_REF, data, "--epochs", str(CFG["conv_ref_epochs"]), "--seed", str(k + 1)],
                      dict(core_env("auto"), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"))
            ours[k]["ref_excess"] = ref["final_test_excess"]
            ours[k]["ref_best_epoch"] = ref["best_epoch"]
        t = sum(ours[k]["excess"] for k in range(reps)) / reps
        r = sum(ours[k]["ref_excess"] for k in range(reps)) / reps
        rows.append({"cell": label, "n_obs": n, "replicates": [ours[k] for k in range(reps)],
                     "t2rec_mean_excess": t, "ref_mean_excess": r, "ratio": t / r,
                     "within": t <= CONV_RATIO * r})
    return {"ratio_limit": CONV_RATIO, "cells": rows,
            "note": "t2rec run with every training key at its default (depth 2, width 64, embed_dim 8, "
                    "D = 16) vs tests/reference/twotower_full_ref.py on the same `t2rec gen` data"}


# tuned settings of paper_configs/movielens100k.ini (final fits)
BASELINES = [
    # label, t2rec method + keys, torch method, t2rec reps, torch epochs override / reps
    ("MF ALS (rank 16, 21 epochs)", "mf", ["solver=als", "rank=16", "reg=15", "reg_bias=2",
                                           "reg_scale=none", "epochs=21"], "als", 3, None, 3),
    ("MF SGD (rank 64, 3 epochs)", "mf", ["solver=sgd", "rank=64", "reg=0.12", "reg_bias=0.05",
                                          "reg_scale=count", "lr=0.01", "epochs=3"], "sgd", 3, None, 1),
    ("I-AutoRec (hidden 500, 105 epochs)", "autorec", ["side=item", "hidden=500", "reg=100", "lr=0.01",
                                                       "batch=0", "epochs=105", "patience=0"],
     "autorec", 1, None, 1),
]


def baselines(core):
    if not os.path.exists(os.path.join(ML, "u1.base")):
        sys.stderr.write("[bench] %s/u1.base missing: baselines skipped (make data/ml-100k)\n" % ML)
        return {"skipped": "no MovieLens 100K at %s" % ML}
    rows = []
    for label, meth, keys, tmeth, reps, tep, treps in BASELINES:
        if SCALE == "smoke":
            keys = [("epochs=2" if k.startswith("epochs=") else k) for k in keys]
            reps = treps = 1
            label = re.sub(r"\d+ epochs", "2 epochs", label)
        tk = [k for k in keys if k.split("=")[0] not in ("solver", "patience")]
        c = run("t2rec %s" % label, [BB, ML, "u1", meth, "1", "reps=%d" % reps] + keys,
                dict(core_env(core), OPENBLAS_NUM_THREADS="1"))
        row = {"method": label, "t2rec_epoch_s": c["epoch_seconds"], "t2rec_test_rmse": c["test_rmse"],
               "t2rec_epochs": c["epochs"], "torch": []}
        for th, pol in ((1, None), (2, "PASSIVE")):
            if tmeth == "sgd" and th == 2:   # a per-rating Python loop: threads do not apply
                continue
            env = dict(core_env("auto"), OMP_NUM_THREADS=str(th), OPENBLAS_NUM_THREADS=str(th))
            if pol:
                env["OMP_WAIT_POLICY"] = pol
            t = run("torch %s %d thread(s)" % (label, th),
                    [PY, TORCH_BL, ML, "u1", tmeth, "--threads", str(th), "--reps", str(treps)] + tk, env)
            row["torch"].append({"threads": th, "omp_wait_policy": pol or "default", "epoch_s": t["epoch_seconds"],
                                 "test_rmse": t["test_rmse"], "core": t["core"]})
        tb = min(row["torch"], key=lambda x: x["epoch_s"])
        row["torch_best_epoch_s"] = tb["epoch_s"]
        row["torch_best_threads"] = tb["threads"]
        row["speedup_t2rec1_vs_torch_best"] = tb["epoch_s"] / c["epoch_seconds"]
        row["rmse_difference"] = c["test_rmse"] - row["torch"][0]["test_rmse"]
        rows.append(row)
    return {"fold": "u1", "rows": rows, "note": "t2rec at 1 thread; PyTorch at 1 and 2 threads (best shown); "
            "test RMSE on u1.test after the same number of epochs (different initial values: not bitwise)"}


# ---- step 10: the results store (bench/bench_store.c and t2rec run itself) ----
STORE_RATIO = 2.0
STORE_SIZES = {"smoke": [20, 200], "small": [100, 1000, 10000], "full": [100, 1000, 10000]}[SCALE]
STORE_RUN_SIZES = {"smoke": [20], "small": [100, 1000], "full": [100, 1000, 10000]}[SCALE]


def store_run_config(cells, path, out):
    """A sweep of `cells` tiny baseline cells on one small dataset (the cells differ in reg_u,
    reg_i and epochs, so the data is built once and storing is most of a cell's cost)."""
    axes = {"epochs": 1, "reg_u": 1, "reg_i": 1}
    left = cells
    for k, cap in (("reg_u", 50), ("reg_i", 50), ("epochs", 40)):
        axes[k] = min(cap, left)
        left = -(-left // axes[k])
    if axes["reg_u"] * axes["reg_i"] * axes["epochs"] != cells:
        raise SystemExit("bench: store sweep of %d cells: use a product of <= 50 x 50 x 40" % cells)
    vals = lambda n: ", ".join(str(v) for v in range(1, n + 1))
    with open(path, "w") as f:
        f.write("[experiment]\nname = benchstore%d\nseed = 1\noutput = %s\n"
                "[data]\nn_obs = 256\nuser_ambient_dim = 4\nitem_ambient_dim = 4\n"
                "test_cold_pairs = 100\ntest_warm_pairs = 100\n"
                "[method.baseline]\nepochs = %s\nreg_u = %s\nreg_i = %s\n"
                % (cells, out, vals(axes["epochs"]), vals(axes["reg_u"]), vals(axes["reg_i"])))


def store_bench():
    """Step 10: seconds spent storing one cell at N cells. bench_store: the store API with a
    real cell record cloned N times, next to the old cost (the whole file rewritten per cell);
    t2rec run: a real sweep of N tiny cells, its 'storing X s' over N."""
    sizes = STORE_SIZES
    res = run("results store: %s cells (bench_store)" % "/".join(map(str, sizes)),
              [os.path.join(BUILD, "bench", "bench_store"), os.path.join(WORK, "store")] +
              [str(n) for n in sizes], {}, parse_json=False)
    rows = [json.loads(l) for l in res.strip().splitlines()]
    sweep = []
    for n in STORE_RUN_SIZES:
        cfg = os.path.join(WORK, "store_run_%d.ini" % n)
        out = os.path.join(WORK, "store_run_%d.h5" % n)
        if os.path.exists(out):
            os.remove(out)
        store_run_config(n, cfg, out)
        t0 = time.time()
        # its last line (stderr) says "N cells ok, ... (ran N, T s; storing S s)"
        log = run("t2rec run: %d tiny cells" % n,
                  ["sh", "-c", 'exec "$0" run "$1" --no-progress 2>&1', T2REC, cfg], {},
                  parse_json=False)
        m = re.search(r"(\d+) cells ok.*\(ran (\d+), ([0-9.]+) s; storing ([0-9.]+) s\)", log)
        sweep.append({"cells": n, "wall_seconds": time.time() - t0,
                      "store_seconds_per_cell": float(m.group(4)) / n if m else None,
                      "ok": int(m.group(1)) if m else None})
        os.remove(out)
    base = rows[0]["store_seconds_per_cell"]
    ratio = rows[-1]["store_seconds_per_cell"] / base
    return {"sizes": sizes, "bench_store": rows, "t2rec_run": sweep,
            "ratio_largest_vs_smallest": ratio, "within": ratio <= STORE_RATIO,
            "note": "seconds per cell spent storing (staged write + fsync, rewrites of the results "
                    "file); legacy = one whole-file rewrite at N cells, what every cell cost before"}


# ---- step 11: the twotimescale GRU encoder vs torch nn.GRU ----
# S sequences, length T, batch B, input C = rank + 2, hidden H, read-out P = rank + 1
GRU_SHAPE = [64 if SCALE == "smoke" else 680, 50, 32, 18, 32, 17]


def gru_bench(core):
    """Step 11: seconds per training epoch of the GRU encoder (teacher-forced next-rating loss,
    Adam), t2rec's nn_gru against torch nn.GRU + pack_padded_sequence, 1 thread each, same shapes."""
    shape = [str(v) for v in GRU_SHAPE]
    c = run("t2rec GRU encoder epoch (bench_gru %s)" % " ".join(shape),
            [os.path.join(BUILD, "bench", "bench_gru")] + shape,
            dict(core_env(core), OPENBLAS_NUM_THREADS="1"), parse_json=False)
    t = run("torch nn.GRU epoch (bench_gru_torch.py %s)" % " ".join(shape),
            [PY, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_gru_torch.py")] + shape,
            dict(core_env("auto"), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"), parse_json=False)
    cs = float(c.strip().splitlines()[-1].split()[-1])
    ts = float(t.strip().splitlines()[-1].split()[-1])
    return {"shape": dict(zip(["S", "T", "B", "C", "H", "P"], GRU_SHAPE)), "t2rec_epoch_s": cs,
            "torch_epoch_s": ts, "speedup_t2rec_vs_torch": ts / cs if cs > 0 else None,
            "note": "1 thread each, best of 3 epochs; MovieLens 100K u1 cold_users shapes"}


def print_gru(g):
    sh = g["shape"]
    print("\ntwotimescale GRU encoder, seconds per epoch (S=%d T=%d B=%d C=%d H=%d P=%d, 1 thread): "
          "t2rec %.4f, torch nn.GRU %.4f (%.2fx)" % (sh["S"], sh["T"], sh["B"], sh["C"], sh["H"], sh["P"],
                                                   g["t2rec_epoch_s"], g["torch_epoch_s"],
                                                   g["speedup_t2rec_vs_torch"] or 0))


def print_store(st):
    print("\nresults store: seconds per cell spent storing, as the sweep grows")
    print("  %8s %12s %14s %10s %14s" % ("cells", "store/cell", "worst cell", "rewrites", "before/cell"))
    for r in st["bench_store"]:
        print("  %8d %12.4f %14.3f %10d %14.3f" % (r["cells"], r["store_seconds_per_cell"],
                                                   r["store_worst_cell_seconds"], r["rewrites"],
                                                   r["legacy_seconds_per_cell_at_n"]))
    for r in st["t2rec_run"]:
        print("  t2rec run, %d tiny cells: %s s storing per cell, %.1f s wall" %
              (r["cells"], "%.4f" % r["store_seconds_per_cell"] if r["store_seconds_per_cell"] else "?",
               r["wall_seconds"]))
    print("  largest / smallest sweep: %.2fx (must be <= %.0fx) %s" %
          (st["ratio_largest_vs_smallest"], STORE_RATIO, "ok" if st["within"] else "FAIL"))


def print_table(s):
    e = s["epoch_seconds"]
    print("\nt2rec bench (%s scale, n_obs = %d; %s)" % (s["scale"], s["n_obs"], s["model"]))
    print("OpenBLAS cores, sgemm peak of the tower shapes (1 thread): " +
          ", ".join("%s %.0f GFLOP/s" % (v["core"], v["gflops_1thread"]) for v in s["sgemm_peak"].values()))
    print("\nseconds per epoch (training pass, best of %d)" % CFG["speed_reps"])
    print("  t2rec   1 thread  %8.3f   2 threads %8.3f   (scaling %.2fx)" %
          (e["t2rec_1thread"], e["t2rec_2threads"], e["t2rec_2thread_scaling"]))
    for t in e["torch_settings"]:
        print("  torch   %d thread(s) core %-9s %-6s OMP_WAIT_POLICY=%-8s %8.3f" %
              (t["threads"], t["core"], t["variant"], t["omp_wait_policy"], t["epoch_s"]))
    print("  t2rec 1 thread vs PyTorch best 1-thread setting: %.2fx; vs best setting overall: %.2fx; "
          "t2rec 2 threads vs PyTorch best: %.2fx" % (e["speedup_t2rec1_vs_torch_best_1thread"],
                                                  e["speedup_t2rec1_vs_torch_best_any"],
                                                  e["speedup_t2rec2_vs_torch_best_any"]))
    g = s["gemm"]
    print("\ntower GEMMs: %.0f GFLOP/s in the 1-thread training step vs sgemm peak %.0f for the same shapes "
          "(%.0f%%); 2 threads %.0f GFLOP/s (%.0f%% of 2x the 1-thread peak)" %
          (g["step_gflops_1thread"], g["sgemm_peak_1thread"], 100 * g["fraction_of_peak_1thread"],
           g["step_gflops_2threads"], 100 * g["fraction_of_2x_peak_2threads"]))
    print("\nepoch time vs n_obs (t2rec, 1 thread): " +
          ", ".join("%d: %.3f s (%.2f us/obs)" % (x["n_obs"], x["epoch_s"], x["us_per_obs"]) for x in s["scaling"]))
    t = s["time_to_accuracy"]
    print("\ntime-to-accuracy (valid RMSE <= %.4f = 1.01 x PyTorch best, %d epochs each)" %
          (t["target_valid_rmse"], t["epochs"]))
    print("  %-8s %-13s %3s %9s %6s %10s %12s %8s" % ("impl", "schedule", "thr", "tta_s", "epoch", "best_rmse",
                                                    "test_excess", "speedup"))
    for r in t["rows"]:
        print("  %-8s %-13s %3d %9s %6s %10.4f %12.5f %8s" % (
            r["impl"], r["schedule"], r["threads"], "%.2f" % r["tta_s"] if r["tta_s"] else "never",
            r["tta_epoch"] or "-", r["best_valid_rmse"], r["final_test_excess"],
            "%.2fx" % r["speedup_vs_torch"] if r.get("speedup_vs_torch") else "-"))
    m = s["memory"]
    print("\nmemory at n_obs = %d: data %.0f MB + model/optimizer %.1f MB; fit peak RSS %.0f MB (%.2fx), "
          "process peak %.0f MB (%.2fx, includes the generator)" %
          (m["n_obs"], m["data_bytes"] / 1e6, m["model_opt_bytes"] / 1e6, m["fit_peak_rss_bytes"] / 1e6,
           m["fit_peak_over_data_model_opt"], m["process_peak_rss_bytes"] / 1e6,
           m["process_peak_over_data_model_opt"]))
    c = s["ceiling"]
    print("\nceiling: FP32 FMA peak %.0f GFLOP/s per core; t2rec's tower GEMMs are %.2f GFLOP per epoch, so a "
          "1-thread epoch takes at least %.3f s, at most %.2fx faster than PyTorch's best 1-thread epoch. "
          "Share of the FMA peak: t2rec %.0f%%, PyTorch %.0f%% (tower flops / epoch time)" %
          (c["fma_peak_gflops_1thread"], c["t2rec_tower_gflop_per_epoch"], c["t2rec_epoch_at_fma_peak_s"],
           c["max_speedup_vs_torch_best_1thread"], 100 * c["t2rec_1thread_fraction_of_fma_peak"],
           100 * c["torch_best_1thread_fraction_of_fma_peak"]))
    b = s["baselines"]
    if "rows" in b:
        print("\nbaselines on MovieLens 100K u1 (seconds per epoch; test RMSE after the same epochs)")
        print("  %-36s %10s %10s %8s %8s %8s %8s" % ("method", "t2rec 1th", "torch best", "(thr)", "speedup",
                                                  "RMSE t2r", "RMSE pt"))
        for r in b["rows"]:
            print("  %-36s %10.5f %10.5f %8d %7.1fx %8.4f %8.4f" % (
                r["method"], r["t2rec_epoch_s"], r["torch_best_epoch_s"], r["torch_best_threads"],
                r["speedup_t2rec1_vs_torch_best"], r["t2rec_test_rmse"], r["torch"][0]["test_rmse"]))
    else:
        print("\nbaselines: %s" % b.get("skipped"))
    c = s["converged"]
    print("\nconverged accuracy: test_cold excess risk, t2rec defaults vs full-training PyTorch (limit %.1fx)"
          % c["ratio_limit"])
    for r in c["cells"]:
        print("  %-14s n_obs %6d  t2rec %.4f  torch %.4f  ratio %.2f  %s  (t2rec stopped by: %s)" % (
            r["cell"], r["n_obs"], r["t2rec_mean_excess"], r["ref_mean_excess"], r["ratio"],
            "ok" if r["within"] else "ABOVE LIMIT", ", ".join(x["stopped_by"] or "?" for x in r["replicates"])))
    la = s["load_average_1min"]
    print("\nmachine load (1-min load average before each run, 2 cores): %.2f .. %.2f" % (la["min"], la["max"]))
    print("wrote %s" % OUT)


if __name__ == "__main__":
    sys.exit(main())
