#!/bin/bash
# usage: [T=tern] [OUT=dir] profile.sh NAME CMD...  (from the repository root)
# 1) perf stat task-clock, native and tern --no-traces, 3 runs each
# 2) tern --stats (clean run): translation us, exits by kind
# 3) perf record of tern -d out_asm --perf-map, then classify.py
set -u
here=$(cd "$(dirname "$0")" && pwd)
T=${T:-$PWD/target/release/tern}
OUT=${OUT:-/tmp/measure/prof}
name=$1; shift
d=$OUT/$name; mkdir -p $d; cd $d; rm -rf scratch; mkdir scratch; cd scratch
export LC_ALL=C PYTHONHASHSEED=0
for r in 1 2 3; do rm -rf ./*; perf stat -e task-clock -o ../native.stat.$r -- "$@" >/dev/null 2>&1 </dev/null; done; cat ../native.stat.? > ../native.stat
for r in 1 2 3; do rm -rf ./*; perf stat -e task-clock -o ../tern.stat.$r -- $T --no-traces "$@" >/dev/null 2>&1 </dev/null; done; cat ../tern.stat.? > ../tern.stat
rm -rf ./*; $T --no-traces --stats -D ../stats.txt "$@" >/dev/null 2>&1 </dev/null
rm -rf ./*; perf record -q -F 1999 -e cpu-clock -o ../perf.data -- $T --no-traces -d out_asm -D ../dump.log --perf-map "$@" >/dev/null 2>../rec.err </dev/null
cd ..
python3 $here/classify.py dump.log perf.data --blocks 15 > classes.txt
SHIFT=1 python3 $here/classify.py dump.log perf.data > classes-shift.txt
perf report -i perf.data --sort sym --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 > report-sym.txt
rm -f dump.log
echo "== $name"; grep -E "task-clock|elapsed" native.stat tern.stat; grep -E "translation|exits: (direct|indirect|syscall)" stats.txt
