#!/usr/bin/env bash
# run_tests.sh — run every cmocka test program given on the command line, from the repo root,
# and close with one line 'tests: N passed, N failed, N skipped' (cmocka test counts).
set -u
pass=0; fail=0; skip=0; failed_progs=()
mkdir -p tests/tmp
for prog in "$@"; do
    name=$(basename "$prog")
    echo "=== $name"
    log=tests/tmp/$name.log
    start=$(date +%s)
    "$prog" >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | tail -1)
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | tail -1)
    pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0})); skip=$((skip + ${s:-0}))
    if [ "$rc" -ne 0 ] && [ -z "$f" ]; then fail=$((fail + 1)); fi   # crashed before reporting
    [ "$rc" -ne 0 ] && failed_progs+=("$name")
    echo "--- $name: exit $rc in $(( $(date +%s) - start )) s"
done
if [ ${#failed_progs[@]} -gt 0 ]; then echo "failed programs: ${failed_progs[*]}"; fi
echo "tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ ${#failed_progs[@]} -eq 0 ]
