#!/usr/bin/env bash
# fresh_machine.sh — the README's first command on a machine that has nothing installed.
#
# Builds a fresh Debian bookworm root with mmdebstrap (minbase + make, gcc, git: what a new user
# starts from), mounts proc, dev, sysfs and the cgroup tree, clones this repository's HEAD into
# it and runs `make demo` there (and `make test` too with FRESH_TEST=1). It passes when the demo
# writes results/demo.h5 and plots/out/*.png and prints the slope table. Needs root (chroot,
# mounts); without root it says so and exits 0 (skipped). Used by `make fresh-check` and .ci/run.
#   FRESH_ROOT=DIR   where to build the root (default: a new directory under /tmp; removed after)
#   FRESH_TEST=1     also run `make test` in the fresh root
#   FRESH_KEEP=1     keep the root afterwards (for looking around)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
    echo "fresh-check: skipped (needs root for chroot and mounts)"
    exit 0
fi
command -v mmdebstrap >/dev/null || {
    echo "fresh-check: installing mmdebstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap >/dev/null
}
root=${FRESH_ROOT:-$(mktemp -d /tmp/t2rec-fresh.XXXXXX)}
mounted=()
cleanup() {
    for ((k = ${#mounted[@]} - 1; k >= 0; k--)); do umount -l "${mounted[k]}" 2>/dev/null || true; done
    [ "${FRESH_KEEP:-0}" = 1 ] || rm -rf "$root"
}
trap cleanup EXIT
t0=$(date +%s)
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
rm -rf "$root"
mmdebstrap --quiet --variant=minbase --include=make,gcc,git,ca-certificates \
    bookworm "$root" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
t1=$(date +%s)
echo "fresh-check: bookworm root in $((t1 - t0)) s"
for m in proc sys dev; do
    mkdir -p "$root/$m"
done
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount -t sysfs sys "$root/sys" && mounted+=("$root/sys")
mount --rbind /dev "$root/dev" && mounted+=("$root/dev")
if [ -d /sys/fs/cgroup ]; then
    mkdir -p "$root/sys/fs/cgroup"
    mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup" && mounted+=("$root/sys/fs/cgroup")
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
git clone -q "$here" "$root/work/t2rec"
if [ -d "$here/../shared" ]; then    # SPEC.md and the MovieLens files, as on the CI machine
    mkdir -p "$root/work/shared"
    cp -r "$here/../shared/." "$root/work/shared/" 2>/dev/null || true
fi
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb \
    bash -c 'cd /work/t2rec && make demo' 2>&1 | tee "$root/demo.log" | tail -n 30
t2=$(date +%s)
echo "fresh-check: make demo in $((t2 - t1)) s"
ok=1
[ -s "$root/work/t2rec/results/demo.h5" ] || { echo "fresh-check: no results/demo.h5"; ok=0; }
ls "$root"/work/t2rec/plots/out/*.png >/dev/null 2>&1 || { echo "fresh-check: no plots/out/*.png"; ok=0; }
grep -q "slope" "$root/demo.log" || { echo "fresh-check: no slope table in the demo output"; ok=0; }
if [ "${FRESH_TEST:-0}" = 1 ] && [ $ok = 1 ]; then
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb \
        bash -c 'cd /work/t2rec && make test' 2>&1 | tee "$root/test.log" | tail -n 5
    cp "$root/test.log" "${FRESH_LOG:-/tmp/t2rec-fresh-test.log}" 2>/dev/null || true
    t3=$(date +%s)
    echo "fresh-check: make test in $((t3 - t2)) s"
    grep -q "tests: .* 0 failed" "$root/test.log" || {
        echo "fresh-check: make test failed:"
        grep -E "^\[  (FAILED|ERROR) |^\[   LINE   \]|^=== |exit [1-9]" "$root/test.log" | grep -B1 -E "FAILED|ERROR|LINE|exit [1-9]" | head -n 40
        ok=0
    }
fi
if [ $ok = 1 ]; then echo "fresh-check: passed"; else echo "fresh-check: FAILED"; exit 1; fi
