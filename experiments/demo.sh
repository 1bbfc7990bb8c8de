#!/usr/bin/env bash
# demo.sh — what `make demo` runs after building: a dataset summary with intrinsic-dimension
# estimates, then a small convergence study (twotower vs baseline, d = 2 and 4), its slope
# table and its figures.
set -euo pipefail
cd "$(dirname "$0")/.."
T2REC=${T2REC:-bin/t2rec}
mkdir -p results plots/out
echo "== one dataset of the demo study (d = 2, n_obs = 16384), and its intrinsic dimension"
cat > results/demo_gen.ini <<'INI'
[experiment]
name = demo_gen
seed = 1
[data]
n_obs = 16384
user_intrinsic_dim = 2
item_intrinsic_dim = 2
user_ambient_dim = 16
item_ambient_dim = 16
INI
"$T2REC" gen results/demo_gen.ini -o results/demo_data.h5
"$T2REC" intdim results/demo_data.h5
echo
echo "== convergence study: experiments/demo.ini ($("$T2REC" run experiments/demo.ini --dry-run | tail -1))"
start=$(date +%s)
"$T2REC" run experiments/demo.ini -j 2
echo "(run took $(( $(date +%s) - start )) s)"
echo
echo "== slopes of the test_cold excess risk against n_obs"
"$T2REC" report results/demo.h5
echo
"$T2REC" report results/demo.h5 --means | head -40
echo
"$T2REC" plot results/demo.h5 -o plots/out
