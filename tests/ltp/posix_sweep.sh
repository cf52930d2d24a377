#!/bin/bash
# Builds LTP's Open POSIX conformance tests (testcases/open_posix_testsuite/
# conformance/interfaces: signals, threads, timers, semaphores, message
# queues, mmap...) and runs each natively and under tern (30 s each) with
# sweep.sh's comparison, one line per test: SAME|DIFF NAME NATIVE_EXIT
# TERN_EXIT and two pass counts (always 0/0 here: the exit code is the
# verdict, 0 pass, 1 fail, 2 unresolved, 4 unsupported, 5 untested).
# Outputs of a DIFF are kept in OUT/diff/NAME/.
#
# usage: tests/ltp/posix_sweep.sh TERN LTP_SOURCE OUT [JOBS]
#   TERN        the tern binary (target/release/tern)
#   LTP_SOURCE  a checkout of https://github.com/linux-test-project/ltp
#   OUT         a new directory for bin/, results.txt and diff/
#   JOBS        tests run at once (default 2)
#
# Tests that change the machine or need real-time scheduling
# (clock_settime, sched_setscheduler, sched_setparam and the pthread
# scheduling attributes) are left out.
set -u
SELF=$(realpath "$0")
if [ $# -lt 3 ]; then
    sed -n '2,18p' "$0"
    exit 2
fi
TERN=$(realpath "$1")
S=$(realpath "$2")/testcases/open_posix_testsuite
OUT=$3
JOBS=${4:-2}
mkdir -p "$OUT/bin"
OUT=$(realpath "$OUT")
export TERN OUT
skip='^(clock_settime|sched_setscheduler|sched_setparam|pthread_setschedparam|pthread_setschedprio|pthread_attr_setschedpolicy|pthread_attr_setschedparam|pthread_attr_setinheritsched|sched_yield|sched_getparam|sched_get_priority)$'
cd "$S/conformance/interfaces" || exit 1
for d in */; do
    d=${d%/}
    [[ $d =~ $skip ]] && continue
    for f in "$d"/*.c; do
        b=$(basename "$f" .c)
        [[ $b =~ ^[0-9]+-[0-9]+$ ]] && echo "$d $b"
    done
done | xargs -r -P "$JOBS" -L1 sh -c 'cd "$0" && gcc -O0 -w -pthread -D_GNU_SOURCE -D_XOPEN_SOURCE=700 \
    -I'"$S"'/include "$1.c" '"$S"'/lib/common.c -o "'"$OUT"'/bin/$0__$1" -lrt -lm 2>/dev/null ||
    echo "not built: $0/$1" >&2'
for name in $(ls "$OUT/bin"); do echo "$name $OUT/bin/$name"; done |
    SWEEP_TIMEOUT=30 xargs -r -P "$JOBS" -L1 "$(dirname "$SELF")/sweep.sh" --one | tee "$OUT/results.txt"
echo "$(grep -c ^SAME "$OUT/results.txt") same, $(grep -c ^DIFF "$OUT/results.txt") differ"
