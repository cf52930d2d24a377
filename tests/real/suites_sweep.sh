#!/bin/bash
# Runs two real programs' own test suites natively and under tern and
# prints where the verdicts differ:
#   - CPython's regression tests (`python3 -m test`, Debian's
#     libpython3.X-testsuite), the modules listed below, each run in a
#     worker process (so every test module is a fresh guest process);
#   - Go's standard library tests (Debian golang-go), each package's test
#     binary built natively with `go test -c` and run in its source
#     directory, natively and as a tern guest;
#   - GLib's installed tests (Debian libglib2.0-tests: threads, main
#     loops, child watches, spawning, unix signals, sockets, GIO), each
#     test program run in a fresh directory, natively and under tern.
# One line per suite part: SAME|DIFF NAME NATIVE TERN, with the outputs in
# OUT/ (for Python, each module's tests that did not pass, per run, in
# OUT/python.MODE.MODULE.notok). This is the broad survey behind
# README "Real test suites"; it takes about 20 minutes on 2 cores.
#
# usage: tests/real/suites_sweep.sh TERN OUT [python|go|glib]
# (PY_TESTS, GO_PKGS and GLIB_TESTS, when set, replace the lists below)
#
# Signals ignored by whoever started the sweep (a shell's `&` ignores
# SIGINT) would be inherited by both runs, and CPython keeps an ignored
# SIGINT ignored: the KeyboardInterrupt tests would then fail natively and
# under tern alike, so the dispositions are reset first.
set -u
TERN=$(realpath "$1")
OUT=$2
WHICH=${3:-all}
mkdir -p "$OUT"
PY=/usr/bin/python3
reset() { "$PY" -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
    signal.signal(s, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"; }

PY_TESTS=${PY_TESTS:-"test_signal test_threading test_subprocess test_os test_posix test_fcntl
 test_select test_selectors test_mmap test_time test_pty test_thread test_threadsignals
 test_multiprocessing_fork test_multiprocessing_spawn test_multiprocessing_forkserver
 test_faulthandler test_resource test_epoll test_poll test_wait3 test_wait4 test_tempfile
 test_shutil test_io test_sched test_concurrent_futures test_queue test_pwd test_grp
 test_sys test_ctypes test_math test_float test_struct test_zlib test_lzma test_bz2
 test_hashlib test_json test_re test_eintr test_fork1 test_popen test_file_eintr
 test_openpty test_asyncio test_httpservers test_logging
 test_tracemalloc test_sys_settrace test_decimal test_datetime test_pickle
 test_itertools test_builtin test_exceptions test_cmd_line_script test_uuid test_random
 test_largefile test_fileio test_tarfile test_zipfile test_gzip test_platform
 test_sysconfig test_getpass test_pathlib test_glob test_stat test_xmlrpc test_wsgiref
 test_urllib2_localnet test_importlib test_gc test_weakref test_memoryview test_array
 test_bytes test_long test_complex test_cmath test_statistics test_fractions
 test_unittest test_sys_setprofile test_generators test_coroutines test_contextlib
 test_enum test_typing test_dataclasses test_inspect test_traceback test_warnings
 test_codecs test_csv test_locale test_calendar test_embed test_venv test_pdb
 test_threading_local test_threadedtempfile test_genericpath test_posixpath"}

GO_PKGS=${GO_PKGS:-"os/signal os/exec os sync sync/atomic syscall context runtime runtime/debug
 runtime/pprof runtime/trace net net/http internal/poll math math/big strconv
 crypto/sha256 crypto/sha512 crypto/aes crypto/cipher crypto/ecdsa crypto/ed25519
 crypto/x509 crypto/tls hash/crc32 compress/flate compress/gzip archive/tar image/png
 encoding/json encoding/base64 regexp strings bytes sort reflect path/filepath io bufio
 os/user unicode/utf8 math/rand"}

compare() { # NAME NATIVE-SUMMARY TERN-SUMMARY
    if [ "$2" = "$3" ]; then echo "SAME $1 $2"; else echo "DIFF $1 native: $2 tern: $3"; fi
}

if [ "$WHICH" = all ] || [ "$WHICH" = python ]; then
    # One worker per test module, verbose: each module's verdict and the
    # tests that did not pass (skipped, failed, errors, expected failures)
    # are compared. Passing tests are only counted: a child's output can
    # break the line of a test that passed.
    for mode in native tern; do
        pre=""; [ $mode = tern ] && pre=$TERN
        # shellcheck disable=SC2086
        reset $pre "$PY" -m test -j2 -v --timeout 900 $PY_TESTS >"$OUT/python.$mode.log" 2>&1 </dev/null
    done
    summary() { # MODE MODULE: its verdict and its tests that did not pass
        local v others
        v=$(grep -aoE "\] $2 (passed|failed|skipped|crashed|timed out|resource denied)" "$OUT/python.$1.log" | head -1)
        others=$(grep -aoE "^test_[a-zA-Z0-9_]+ \(test\.$2\.[^)]*\).* \.\.\. (skipped|FAIL|ERROR|expected failure|unexpected success)" "$OUT/python.$1.log" | sort -u)
        echo "$others" >"$OUT/python.$1.$2.notok"
        echo "${v#] }; not passed: $(echo -n "$others" | grep -c .) $(echo "$others" | md5sum | cut -c1-8)"
    }
    for t in $PY_TESTS; do
        compare "python:$t" "$(summary native "$t")" "$(summary tern "$t")"
    done
fi

if [ "$WHICH" = all ] || [ "$WHICH" = go ]; then
    GOROOT=$(go env GOROOT)
    mkdir -p "$OUT/go"
    for p in $GO_PKGS; do
        n=$(echo "$p" | tr / _)
        go test -c -o "$OUT/go/$n.test" "$p" >/dev/null 2>&1 || { echo "SKIP go:$p (does not build)"; continue; }
        for mode in native tern; do
            pre=""; [ $mode = tern ] && pre=$TERN
            (cd "$GOROOT/src/$p" && reset timeout 900 $pre "$OUT/go/$n.test" -test.short -test.v \
                -test.timeout 800s >"$OUT/go/$n.$mode.log" 2>&1 </dev/null)
            echo $? >"$OUT/go/$n.$mode.rc"
        done
        # Each test's verdict, without timings.
        v() { grep -E -- "^ *--- (PASS|FAIL|SKIP)" "$1" | sed 's/ (.*//' | sort | md5sum | cut -c1-8; }
        s() { echo "rc=$(cat "$OUT/go/$n.$1.rc") pass=$(grep -c -- '--- PASS' "$OUT/go/$n.$1.log") fail=$(grep -c -- '--- FAIL' "$OUT/go/$n.$1.log") skip=$(grep -c -- '--- SKIP' "$OUT/go/$n.$1.log") $(v "$OUT/go/$n.$1.log")"; }
        compare "go:$p" "$(s native)" "$(s tern)"
    done
fi

if [ "$WHICH" = all ] || [ "$WHICH" = glib ]; then
    # Each .test file names a program (and its arguments) that prints TAP;
    # the exit status and every subtest's verdict (ok / not ok, with its
    # skips) are compared. Two tests run at a time.
    GT=/usr/share/installed-tests/glib
    mkdir -p "$OUT/glib"
    GLIB_TESTS=${GLIB_TESTS:-$(cd $GT && ls -- *.test | sed 's/\.test$//')}
    glib_one() { # NAME
        local t=$1 cmd mode pre dir
        cmd=$(sed -n 's/^Exec=//p' "$GT/$t.test")
        for mode in native tern; do
            pre=""; [ $mode = tern ] && pre=$TERN
            dir=$(mktemp -d) || return
            # shellcheck disable=SC2086
            (cd "$dir" && G_TEST_TMPDIR=$dir reset timeout 300 $pre $cmd >"$OUT/glib/$t.$mode.log" 2>&1 </dev/null)
            echo $? >"$OUT/glib/$t.$mode.rc"
            rm -rf "$dir"
        done
        s() { echo "rc=$(cat "$OUT/glib/$t.$1.rc") ok=$(grep -ac '^ok ' "$OUT/glib/$t.$1.log") notok=$(grep -ac '^not ok' "$OUT/glib/$t.$1.log") $(grep -aE '^(not )?ok ' "$OUT/glib/$t.$1.log" | sed -E 's/^(not )?ok [0-9]+ /\1ok /; s/seed:[0-9]+/seed/' | sort | md5sum | cut -c1-8)"; }
        compare "glib:$t" "$(s native)" "$(s tern)"
    }
    export -f glib_one compare reset
    export OUT TERN GT PY
    echo "$GLIB_TESTS" | tr ' ' '\n' | grep . | xargs -P2 -I{} bash -c 'glib_one {}'
fi
