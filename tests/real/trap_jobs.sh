# trap_jobs.sh - bash job control without a tty, CHLD traps, wait -n, read -t,
# RETURN and ERR traps, a subshell's own TERM trap, a coprocess.
set -m
# bash's own notices about its jobs ("Terminated", "wait_for: No record of
# process" when the CHLD trap reaped a job before `wait`) depend on timing,
# natively too: only stdout is compared.
exec 2>/dev/null
n=0
trap 'n=$((n+1))' CHLD
sleep 0.1 & sleep 0.2 &
wait -n; echo "wait -n $?"
wait
echo "chld traps >= 2: $([ $n -ge 2 ] && echo yes)"
# Quiet and without its status: bash may reap the job in the CHLD trap
# before `wait` (then "No record of process", status 127), natively too.
{ sleep 10 & kill %1; wait %1; echo "job killed"; } 2>/dev/null
read -t 0.2 x < <(sleep 1); echo "read -t $?"
f() { trap 'echo in-func-RETURN' RETURN; echo f; }; f
trap 'echo ERR at $LINENO' ERR; false; trap - ERR
(trap 'echo sub TERM; exit 5' TERM; kill -TERM $BASHPID; echo not here); echo "sub $?"
coproc { read l; echo "co:$l"; }; echo hi >&${COPROC[1]}; read r <&${COPROC[0]}; echo "$r"
