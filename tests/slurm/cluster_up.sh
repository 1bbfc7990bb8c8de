#!/usr/bin/env bash
# cluster_up.sh — start a throwaway single-node Slurm (munged, slurmctld, slurmd from Debian's
# munge and slurm-wlm packages) under $BASE, without systemd or cgroups, for the Slurm test.
# Prints "export SLURM_CONF=..." on stdout; progress on stderr. Records the PID and start time
# of each daemon in $BASE/pids so that cluster_down.sh stops exactly these processes.
# Needs root (apt-get, daemons). Usage: BASE=/tmp/t2rec-slurm bash cluster_up.sh
set -euo pipefail
BASE=${BASE:-/tmp/t2rec-slurm}
CTLD_PORT=${CTLD_PORT:-6917}
SLURMD_PORT=${SLURMD_PORT:-6918}
say() { echo "[cluster_up] $*" >&2; }
[ "$(id -u)" -eq 0 ] || { say "needs root"; exit 3; }

need=()
for p in munge slurm-wlm slurmctld slurmd slurm-client; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    # keep the packages' postinst from starting system services
    policy_made=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; policy_made=1
    fi
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confold "${need[@]}") > "$BASE.apt.log" 2>&1 || {
        [ $policy_made = 1 ] && rm -f /usr/sbin/policy-rc.d; tail -20 "$BASE.apt.log" >&2; exit 1; }
    [ $policy_made = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# a stale cluster of ours? stop it first
[ -d "$BASE/pids" ] && bash "$(dirname "$0")/cluster_down.sh" >/dev/null 2>&1 || true
rm -rf "$BASE"
mkdir -p "$BASE"/{etc,state,spool,log,pids,run/munge,munge-lib}
chmod 755 "$BASE/run/munge"; chmod 700 "$BASE/munge-lib"
dd if=/dev/urandom of="$BASE/etc/munge.key" bs=1024 count=1 status=none
chmod 600 "$BASE/etc/munge.key"
HOST=$(hostname -s)
MEM=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -1)
SOCK=$BASE/run/munge/munge.socket.2
cat > "$BASE/etc/slurm.conf" <<CONF
ClusterName=t2rectest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
MinJobAge=4
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=${MEM:-1000} State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$BASE/etc/slurm.conf

start() { # name, command...
    local name=$1; shift
    setsid "$@" </dev/null >>"$BASE/log/$name.out" 2>&1 &
    local pid=$!
    sleep 0.3
    kill -0 "$pid" 2>/dev/null || { tail -20 "$BASE/log/$name.out" >&2; say "$name did not start"; exit 1; }
    echo "$pid $(awk '{print $22}' /proc/$pid/stat)" > "$BASE/pids/$name"
    say "started $name ($pid)"
}
wait_until() { # seconds, command...
    local n=$(( $1 * 5 )); shift
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    return 1
}
start munged munged -F --key-file="$BASE/etc/munge.key" --socket="$SOCK" \
    --pid-file="$BASE/run/munged.pid" --log-file="$BASE/log/munged.log" --seed-file="$BASE/munge-lib/seed"
wait_until 10 bash -c "munge -S '$SOCK' -n | unmunge -S '$SOCK'" || { say "munge not answering"; exit 1; }
start slurmctld slurmctld -D -f "$SLURM_CONF"
wait_until 30 scontrol ping || { tail -20 "$BASE/log/slurmctld.log" >&2; say "slurmctld not answering"; exit 1; }
start slurmd slurmd -D -f "$SLURM_CONF"
state() { sinfo -h -n "$HOST" -o '%T' 2>/dev/null | grep -q -E '^(idle|mixed|allocated)'; }
wait_until 60 state || { tail -20 "$BASE/log/slurmd.log" >&2; say "node not idle"; exit 1; }
say "cluster up under $BASE"
echo "export SLURM_CONF=$SLURM_CONF"
