# trap.sh - bash traps: signals sent to the shell itself, a `wait`
# interrupted by a trapped signal (status 128+SIGUSR1), the EXIT trap.
trap 'echo got USR1' USR1
trap 'echo got TERM' TERM
trap 'echo got INT' INT
trap 'echo bye EXIT' EXIT
kill -USR1 $$
kill -TERM $$
kill -INT $$
sleep 2 & p=$!
( sleep 0.3; kill -USR1 $$ ) &
wait $p; echo "wait status $?"
kill $p
wait $p 2>/dev/null; echo "killed sleep: $?"
echo done
