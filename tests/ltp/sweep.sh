#!/bin/bash
# Runs every runtest/syscalls entry of a real LTP installation natively and
# under tern, one after the other, and prints one line per test:
#   SAME|DIFF TAG NATIVE_EXIT TERN_EXIT NATIVE_PASS/FAIL TERN_PASS/FAIL
# DIFF when the exit codes (the verdicts) or the numbers of TPASS lines
# differ; both outputs of a DIFF are kept in OUT/diff/TAG/ (each run is
# limited to SWEEP_TIMEOUT seconds, 60 by default; posix_sweep.sh runs its
# tests through `sweep.sh --one TAG CMD...` too). This is the
# broad survey behind README "Running a real LTP"; `ltp_real` is the CI
# test of the signal families.
#
# usage: tests/ltp/sweep.sh TERN LTPROOT OUT [JOBS [TAGS]]
#   TERN     the tern binary (target/release/tern)
#   LTPROOT  an LTP installation with runtest/syscalls and testcases/bin
#   OUT      a new directory for results.txt and diff/
#   JOBS     tests run at once (default 1: some tests share loop devices,
#            and a few signal whole process groups)
#   TAGS     an extended regular expression: only tags it matches run
# SWEEP_RUNTEST names another runtest file of LTPROOT/runtest to run
# instead of `syscalls` (cve, syscalls-ipc, mm, nptl, math, pty ...).
# Shell-script tests (`runtest/commands`: tar, cp, gzip, ld ... driven by
# tst_test.sh) run too when SWEEP_SCRIPTS is set: tern runs the shell,
# and the shell's children under it.
#
# Tests that change the machine (the clock, mounts, swap, modules, the
# hostname, reboot...) are left out; run the sweep in a throw-away VM or
# container anyway, as root for the tests that need it, and alone.
set -u
if [ "${1:-}" = --one ]; then
    shift
    tag=$1
    shift
    w=$(mktemp -d "$OUT/w.XXXXXX")
    cd "$w" || exit 1
    limit=${SWEEP_TIMEOUT:-60}
    (TMPDIR=$w timeout -k 5 "$limit" setsid "$@" >"$w/n.out" 2>&1 </dev/null)
    nrc=$?
    (TMPDIR=$w timeout -k 5 "$limit" setsid "$TERN" "$@" >"$w/t.out" 2>&1 </dev/null)
    trc=$?
    np=$(grep -c TPASS "$w/n.out")
    nf=$(grep -cE "TFAIL|TBROK" "$w/n.out")
    tp=$(grep -c TPASS "$w/t.out")
    tf=$(grep -cE "TFAIL|TBROK" "$w/t.out")
    v=SAME
    if [ "$nrc" != "$trc" ] || [ "$np" != "$tp" ]; then
        v=DIFF
        mkdir -p "$OUT/diff/$tag"
        cp "$w/n.out" "$w/t.out" "$OUT/diff/$tag/"
    fi
    echo "$v $tag $nrc $trc $np/$nf $tp/$tf"
    cd / && rm -rf "$w"
    exit 0
fi
if [ $# -lt 3 ]; then
    sed -n '2,22p' "$0"
    exit 2
fi
TERN=$(realpath "$1")
LTPROOT=$(realpath "$2")
OUT=$3
JOBS=${4:-1}
TAGS=${5:-.}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
export TERN LTPROOT OUT PATH="$LTPROOT/testcases/bin:$PATH" LTP_TIMEOUT_MUL=1
skip='settime|stime|adjtime|reboot|swapon|swapoff|mount|init_module|delete_module|kexec|quotactl|acct|sethostname|setdomainname|ioperm|iopl|syslog|vhangup|pivot_root|cgroup|oom|hugetlb|hugemmap|leapsec|msgstress|fork1[34]|fsconfig|fsopen|fspick|open_tree|move_mount|statmount|listmount'
grep -vE '^#|^$' "$LTPROOT/runtest/${SWEEP_RUNTEST:-syscalls}" | while read -r tag cmd rest; do
    [[ $tag =~ $TAGS ]] || continue
    [[ $tag =~ $skip || $cmd =~ $skip ]] && continue
    [[ $cmd == *.sh && -z ${SWEEP_SCRIPTS:-} ]] && continue
    [ -x "$LTPROOT/testcases/bin/$cmd" ] && echo "$tag $cmd${rest:+ $rest}"
done | xargs -r -P "$JOBS" -L1 "$0" --one | tee "$OUT/results.txt"
echo "$(grep -c ^SAME "$OUT/results.txt") same, $(grep -c ^DIFF "$OUT/results.txt") differ"
