#!/usr/bin/env bash
# slurm_test.sh — the Slurm path for real: start a single-node Slurm, submit a 4-task array
# sweep with `t2rec slurm --submit --setup FILE`, wait for it and its merge job, compare the
# merged export with a local run of the same config; then submit it again (other output) with
# set-up lines that make task 1 exit 1 and task 2 die by SIGKILL: the merge job (afterany) must
# still run, merge shards 0 and 3 and name shards 1 and 2. Stops exactly the daemons we started.
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
# wait for job $1 to end (MinJobAge=4 keeps finished jobs briefly visible); prints its state
wait_job() {
    local state=""
    for _ in $(seq 600); do
        state=$(scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1)
        case "$state" in COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL) break ;; esac
        if [ -z "$state" ] && ! squeue -h -j "$1" 2>/dev/null | grep -q .; then state=GONE; break; fi
        sleep 0.5
    done
    echo "$state"
}
cat > setup.sh <<'SETUP'
echo "set-up line ran in ${SLURM_ARRAY_TASK_ID:-the merge job}" >&2
SETUP
out=$("$T2REC" slurm slurm.ini --tasks 4 --time 00:10:00 --mem 500M --setup setup.sh --submit)
echo "$out"
array=$(echo "$out" | sed -n 's/^submitted array job \([0-9]*\) and merge job \([0-9]*\) (afterany:.*/\1/p')
merge=$(echo "$out" | sed -n 's/^submitted array job \([0-9]*\) and merge job \([0-9]*\) (afterany:.*/\2/p')
[ -n "$array" ] && [ -n "$merge" ] || { echo "no job ids"; exit 1; }
state=$(wait_job "$merge")
t_done=$(date +%s.%N)
echo "merge job $merge: $state"
grep -q "set-up line ran in the merge job" results/slurmtest.slurm/slurmtest-merge-*.err || { echo "no set-up line in the merge log"; exit 1; }
# the job's state can read COMPLETED a moment before slurmstepd has written the last lines of
# its output files (seen once under load): give the log up to 10 s to arrive
for _ in $(seq 1 20); do
    cat results/slurmtest.slurm/slurmtest-merge-*.out results/slurmtest.slurm/slurmtest-merge-*.err | grep -q "merged all 4 shards" && break
    sleep 0.5
done
cat results/slurmtest.slurm/slurmtest-merge-*.out results/slurmtest.slurm/slurmtest-merge-*.err | grep -q "merged all 4 shards" || { echo "merge job did not report all 4 shards"; cat results/slurmtest.slurm/slurmtest-merge-*.err; exit 1; }
ls results/
[ -f results/slurmtest.h5 ] || { echo "merged file missing"; cat results/slurmtest.slurm/*.err 2>/dev/null | tail -20; exit 1; }
for i in 0 1 2 3; do [ -f "results/slurmtest.shard-$i-of-4.h5" ] || { echo "shard $i missing"; exit 1; }; done
"$T2REC" export results/slurmtest.h5 --csv --no-timing > slurm.csv
"$T2REC" run slurm.ini -o results/local.h5 --threads 1 --no-progress 2>/dev/null
"$T2REC" export results/local.h5 --csv --no-timing > local.csv
rows=$(($(wc -l < slurm.csv) - 1))
if ! cmp -s slurm.csv local.csv; then echo "merged export differs from the local run"; diff slurm.csv local.csv | head; exit 1; fi
echo "slurm: merged export of $rows cells equals the local run"

# --- one task fails (exit 1 in its set-up), one is killed (SIGKILL, no status file) ---
cat > setup-fail.sh <<'SETUP'
if [ "${SLURM_ARRAY_TASK_ID:-}" = 1 ]; then echo "set-up: task 1 fails on purpose" >&2; exit 1; fi
if [ "${SLURM_ARRAY_TASK_ID:-}" = 2 ]; then echo "set-up: task 2 kills itself" >&2; kill -9 $$; fi
SETUP
t_f0=$(date +%s.%N)
out=$("$T2REC" slurm slurm.ini --tasks 4 --time 00:10:00 --mem 500M --setup setup-fail.sh \
      -o results/fail.h5 --submit)
echo "$out"
merge=$(echo "$out" | sed -n 's/^submitted array job \([0-9]*\) and merge job \([0-9]*\) (afterany:.*/\2/p')
[ -n "$merge" ] || { echo "no job ids"; exit 1; }
state=$(wait_job "$merge")
t_f1=$(date +%s.%N)
echo "merge job $merge (tasks 1 and 2 failed): $state"
case "$state" in COMPLETED) echo "merge job completed although shards are missing"; exit 1 ;; esac
log=$(cat results/fail.slurm/slurmtest-merge-*.out results/fail.slurm/slurmtest-merge-*.err)
echo "$log"
echo "$log" | grep -q "shard 1 of 4 FAILED: its task exited with status 1" || { echo "shard 1 not named"; exit 1; }
echo "$log" | grep -q "shard 2 of 4 MISSING: its task did not finish" || { echo "shard 2 not named"; exit 1; }
echo "$log" | grep -q "missing or failed shards: 1 2" || { echo "no summary line"; exit 1; }
[ -f results/fail.h5 ] || { echo "merged file of the shards that exist is missing"; exit 1; }
# it holds exactly the cells of shards 0 and 3 (the counts the first submission's tasks printed)
want=0
for i in 0 3; do
    k=$(sed -n "s/.*shard $i\/4: \([0-9]*\) of 12 cells.*/\1/p" results/slurmtest.slurm/slurmtest-*_$i.err | head -1)
    want=$((want + k))
done
got=$(($("$T2REC" export results/fail.h5 --csv --no-timing | wc -l) - 1))
[ "$got" -eq "$want" ] && [ "$want" -gt 0 ] || { echo "merged $got cells, want $want (shards 0 and 3)"; exit 1; }
awk -v a="$t0" -v b="$t_up" -v c="$t_done" -v d="$t_f0" -v e="$t_f1" 'BEGIN{printf "slurm test: cluster up in %.1f s, array + merge done in %.1f s; failing submission done in %.1f s\n", b-a, c-b, e-d}'
echo "slurm: with tasks 1 and 2 failed the merge job ran ($state), merged the $got cells of shards 0 and 3 and named shards 1 and 2"
