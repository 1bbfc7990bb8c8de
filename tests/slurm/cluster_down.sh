#!/usr/bin/env bash
# cluster_down.sh — stop exactly the daemons cluster_up.sh started (by recorded PID and start
# time, so a recycled PID is never signalled). Usage: BASE=/tmp/t2rec-slurm bash cluster_down.sh
set -u
BASE=${BASE:-/tmp/t2rec-slurm}
for name in slurmd slurmctld munged; do
    f=$BASE/pids/$name
    [ -s "$f" ] || continue
    read -r pid st < "$f"
    if [ "$(awk '{print $22}' /proc/$pid/stat 2>/dev/null)" = "$st" ]; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do
            [ "$(awk '{print $22}' /proc/$pid/stat 2>/dev/null)" = "$st" ] || break
            sleep 0.1
        done
        [ "$(awk '{print $22}' /proc/$pid/stat 2>/dev/null)" = "$st" ] && kill -KILL "$pid" 2>/dev/null
        echo "[cluster_down] stopped $name ($pid)" >&2
    fi
    rm -f "$f"
done
exit 0
