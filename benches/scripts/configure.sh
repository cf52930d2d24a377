#!/bin/sh
# A ./configure-like run: N checks, each a handful of short processes
# (grep, sed, tr, expr, cat, wc, uname, mkdir, rmdir, rm) started by the
# shell, with command substitutions, pipes and redirections; about 7
# processes per check. Usage: configure.sh N DIR.
n=$1
cd "$2" || exit 1
: > config.h
: > config.log
i=0
while [ "$i" -lt "$n" ]; do
    i=$((i + 1))
    echo "checking for feature $i... " >> config.log
    printf '#define HAVE_FEATURE_%d 1\n' "$i" > conftest.h
    if grep -q "HAVE_FEATURE_$i" conftest.h; then
        sed "s/HAVE_/TERN_HAVE_/" conftest.h >> config.h
    fi
    name=$(echo "feature$i" | tr a-z A-Z)
    echo "result: $name" >> config.log
    case $(expr "$i" % 3) in
        0) cat conftest.h | wc -l > /dev/null ;;
        1) uname -m > /dev/null ;;
        *) mkdir -p "sub$i" && rmdir "sub$i" ;;
    esac
    rm -f conftest.h
done
wc -l < config.h
cksum < config.h
wc -l < config.log
