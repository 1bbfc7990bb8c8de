#!/usr/bin/python3
"""check_results.py — open a t2rec results file with h5py and assert every object and
attribute that docs/results-format.md (schema version 2) promises. Exit 0 if the file
conforms, 1 with one line per problem otherwise.

usage: /usr/bin/python3 tests/reference/check_results.py RESULTS.h5 [--expect-cells N]
"""
import math
import sys

import h5py
import numpy as np

SCHEMA = 2
STD_METRICS = ["excess_risk_cold", "excess_risk_warm", "rmse_cold", "rmse_warm", "mae_cold",
               "mae_warm", "ndcg_at_10", "recall_at_10", "regret_at_10", "rmse", "mae",
               "precision_at_10", "map_at_10"]
TABLE_COLUMNS = (["key", "method", "status", "replicate", "n_obs", "user_intrinsic_dim",
                  "item_intrinsic_dim", "user_ambient_dim", "item_ambient_dim", "beta",
                  "train_seed", "data_seed", "fit_seconds", "epochs_run", "best_epoch",
                  "stopped_by"] + STD_METRICS)
CELL_ATTRS = {  # name -> numpy kind ('U' = string)
    "key": "U", "replicate": "i", "data_seed": "u", "train_seed": "u", "status": "U",
    "reason": "U", "fit_seconds": "f", "epochs_run": "i", "best_epoch": "i", "n_fallback": "i",
    "note": "U", "stopped_by": "U",
}
PROVENANCE = ["code_version", "code_dirty", "compiler", "blas_core", "blas_threads", "host",
              "start_time", "end_time"]
CURVES = ["epoch", "train_loss", "valid_rmse", "test_excess", "wall_seconds"]

problems = []


def bad(msg):
    problems.append(msg)


def as_str(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.bytes_):
        return bytes(v).decode()
    return v


def kind_ok(v, kind):
    if kind == "U":
        return isinstance(v, (str, bytes, np.bytes_))
    a = np.asarray(v)
    return a.shape == () and a.dtype.kind == kind


def same_double(a, b):
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or np.float64(a).tobytes() == np.float64(b).tobytes()


def check(path, expect_cells):
    with h5py.File(path, "r") as f:
        root = f.attrs
        if root.get("t2rec_schema") is None or int(root["t2rec_schema"]) != SCHEMA:
            bad(f"/: t2rec_schema is {root.get('t2rec_schema')}, expected {SCHEMA}")
        if as_str(root.get("creator")) != "t2rec":
            bad(f"/: creator is {root.get('creator')!r}")
        if not isinstance(as_str(root.get("t2rec_version")), str):
            bad("/: t2rec_version missing")
        if "cells" not in f or not isinstance(f["cells"], h5py.Group):
            bad("/cells missing")
            return
        cells = f["cells"]
        names = sorted(cells.keys())
        if int(root.get("n_cells", -1)) != len(names):
            bad(f"/: n_cells {root.get('n_cells')} but /cells has {len(names)} groups")
        if expect_cells is not None and len(names) != expect_cells:
            bad(f"/cells has {len(names)} groups, expected {expect_cells}")

        if "table" not in f or not isinstance(f["table"], h5py.Dataset):
            bad("/table missing")
            return
        table = f["table"][()]
        cols = list(f["table"].dtype.names or [])
        if cols != TABLE_COLUMNS:
            bad(f"/table columns {cols} != {TABLE_COLUMNS}")
            return
        for c in TABLE_COLUMNS[9:]:
            if c not in ("train_seed", "data_seed", "epochs_run", "best_epoch", "stopped_by") and \
                    f["table"].dtype[c] != np.float64:
                bad(f"/table column {c} is {f['table'].dtype[c]}, expected float64")
        if len(table) != len(names):
            bad(f"/table has {len(table)} rows, /cells has {len(names)}")
        rows = {as_str(r["key"]): r for r in table}

        for name in names:
            g = cells[name]
            where = f"/cells/{name}"
            for a, kind in CELL_ATTRS.items():
                if a not in g.attrs:
                    bad(f"{where}: attribute {a} missing")
                elif not kind_ok(g.attrs[a], kind):
                    bad(f"{where}: attribute {a} has the wrong type ({type(g.attrs[a])})")
            if as_str(g.attrs.get("key")) != name:
                bad(f"{where}: key attribute {g.attrs.get('key')!r} != group name")
            if as_str(g.attrs.get("status")) not in ("ok", "failed"):
                bad(f"{where}: status {g.attrs.get('status')!r}")
            for sub in ("config", "metrics", "curves", "provenance"):
                if sub not in g or not isinstance(g[sub], h5py.Group):
                    bad(f"{where}/{sub} missing")
            if problems:
                continue
            conf = {k: as_str(v) for k, v in g["config"].attrs.items()}
            if not all(isinstance(v, str) for v in conf.values()):
                bad(f"{where}/config: non-string value")
            if "method" not in conf:
                bad(f"{where}/config: no method key")
            prov = {k: as_str(v) for k, v in g["provenance"].attrs.items()}
            for p in PROVENANCE:
                if p not in prov or not isinstance(prov[p], str):
                    bad(f"{where}/provenance: {p} missing")
            if prov.get("code_dirty") not in ("0", "1"):
                bad(f"{where}/provenance: code_dirty {prov.get('code_dirty')!r}")
            metrics = {}
            for k, v in g["metrics"].attrs.items():
                if not kind_ok(v, "f") or np.asarray(v).dtype != np.float64:
                    bad(f"{where}/metrics/{k}: not a float64 scalar")
                else:
                    metrics[k] = float(v)
            cg = g["curves"]
            lens = set()
            for c in CURVES:
                if c not in cg or not isinstance(cg[c], h5py.Dataset):
                    bad(f"{where}/curves/{c} missing")
                    continue
                d = cg[c]
                if d.ndim != 1 or d.dtype != np.float64:
                    bad(f"{where}/curves/{c}: shape {d.shape} dtype {d.dtype}, expected 1-D float64")
                lens.add(d.shape[0] if d.ndim == 1 else -1)
            if len(lens) > 1:
                bad(f"{where}/curves: datasets of different lengths {sorted(lens)}")
            elif "epoch" in cg and not np.array_equal(cg["epoch"][()], np.arange(1, cg["epoch"].shape[0] + 1)):
                bad(f"{where}/curves/epoch is not 1..n")
            if "epochs_run" not in cg.attrs:
                bad(f"{where}/curves: attribute epochs_run missing")

            # the /table row mirrors the cell
            r = rows.get(name)
            if r is None:
                bad(f"/table: no row for {name}")
                continue
            if as_str(r["method"]) != conf.get("method", "")[:47]:
                bad(f"/table[{name}].method {r['method']!r} != config method {conf.get('method')!r}")
            if as_str(r["status"]) != as_str(g.attrs["status"]):
                bad(f"/table[{name}].status differs from the cell")
            for col, attr in (("replicate", "replicate"), ("train_seed", "train_seed"),
                              ("data_seed", "data_seed"), ("epochs_run", "epochs_run"),
                              ("best_epoch", "best_epoch")):
                if int(r[col]) != int(g.attrs[attr]):
                    bad(f"/table[{name}].{col} {r[col]} != cell {g.attrs[attr]}")
            if as_str(r["stopped_by"]) != as_str(g.attrs.get("stopped_by", "")):
                bad(f"/table[{name}].stopped_by differs from the cell")
            if as_str(g.attrs.get("stopped_by", "")) not in ("patience", "cap", "diverged", ""):
                bad(f"{where}: stopped_by {g.attrs.get('stopped_by')!r} is not patience|cap|diverged|''")
            if not same_double(r["fit_seconds"], g.attrs["fit_seconds"]):
                bad(f"/table[{name}].fit_seconds differs from the cell")
            for col in ("n_obs", "user_intrinsic_dim", "item_intrinsic_dim", "user_ambient_dim",
                        "item_ambient_dim"):
                want = int(conf["data." + col]) if "data." + col in conf else -1
                if int(r[col]) != want:
                    bad(f"/table[{name}].{col} {r[col]} != config {want}")
            want_beta = float(conf["data.beta"]) if "data.beta" in conf else float("nan")
            if not same_double(r["beta"], want_beta):
                bad(f"/table[{name}].beta {r['beta']} != config {want_beta}")
            for m in STD_METRICS:
                want = metrics.get(m, float("nan"))
                if not same_double(r[m], want):
                    bad(f"/table[{name}].{m} {r[m]!r} != cell metric {want!r}")


def main():
    args = sys.argv[1:]
    expect = None
    if "--expect-cells" in args:
        i = args.index("--expect-cells")
        expect = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        check(args[0], expect)
    except Exception as e:  # an unreadable file is a failure too
        bad(f"{args[0]}: {type(e).__name__}: {e}")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"{args[0]}: conforms to results schema version {SCHEMA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
