#!/usr/bin/env bash
# slurm_test.sh — the Slurm path for real: start a single-node Slurm, submit a 4-task array
# sweep with `t2rec slurm --submit`, wait for it and its merge job, compare the merged export
# with a local run of the same config, stop exactly the daemons we started.
# Usage: slurm_test.sh T2REC WORKDIR ; exit 0 on success.
set -euo pipefail
T2REC=$(readlink -f "$1")
WORK=$(readlink -f "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
export BASE=${BASE:-/tmp/t2rec-slurm.$$}
t0=$(date +%s.%N)
trap 'bash "$HERE/cluster_down.sh"' EXIT
eval "$(bash "$HERE/cluster_up.sh")"
t_up=$(date +%s.%N)
mkdir -p "$WORK/results"
cd "$WORK"
cat > slurm.ini <<'INI'
[experiment]
name = slurmtest
seed = 5
replicates = 2
output = results/slurmtest.h5
[data]
n_obs = 256, 512, 1024
user_ambient_dim = 8
item_ambient_dim = 8
test_cold_pairs = 500
test_warm_pairs = 100
[method.twotower]
depth = 2
width = 16
embed_dim = 4
epochs = 10
batch = 128
[method.baseline]
INI
out=$("$T2REC" slurm slurm.ini --tasks 4 --time 00:10:00 --mem 500M --submit)
echo "$out"
array=$(echo "$out" | sed -n 's/^submitted array job \([0-9]*\) and merge job \([0-9]*\).*/\1/p')
merge=$(echo "$out" | sed -n 's/^submitted array job \([0-9]*\) and merge job \([0-9]*\).*/\2/p')
[ -n "$array" ] && [ -n "$merge" ] || { echo "no job ids"; exit 1; }
# wait for the merge job to leave the queue (MinJobAge=4 keeps finished jobs briefly visible)
state=""
for _ in $(seq 600); do
    state=$(scontrol show job "$merge" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1)
    case "$state" in COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL) break ;; esac
    if [ -z "$state" ] && ! squeue -h -j "$merge" 2>/dev/null | grep -q .; then state=GONE; break; fi
    sleep 0.5
done
t_done=$(date +%s.%N)
echo "merge job $merge: $state"
ls results/
[ -f results/slurmtest.h5 ] || { echo "merged file missing"; cat results/slurmtest.slurm/*.err 2>/dev/null | tail -20; exit 1; }
for i in 0 1 2 3; do [ -f "results/slurmtest.shard-$i-of-4.h5" ] || { echo "shard $i missing"; exit 1; }; done
"$T2REC" export results/slurmtest.h5 --csv --no-timing > slurm.csv
"$T2REC" run slurm.ini -o results/local.h5 --threads 1 --no-progress 2>/dev/null
"$T2REC" export results/local.h5 --csv --no-timing > local.csv
rows=$(($(wc -l < slurm.csv) - 1))
if ! cmp -s slurm.csv local.csv; then echo "merged export differs from the local run"; diff slurm.csv local.csv | head; exit 1; fi
awk -v a="$t0" -v b="$t_up" -v c="$t_done" 'BEGIN{printf "slurm test: cluster up in %.1f s, array + merge done in %.1f s\n", b-a, c-b}'
echo "slurm: merged export of $rows cells equals the local run"
