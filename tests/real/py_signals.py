"""Python signal handling (alarm, setitimer, os.kill to self), threads,
ThreadPoolExecutor, ProcessPoolExecutor and multiprocessing.Pool (fork),
and subprocess: output independent of scheduling."""
import signal, os, threading, time, subprocess, sys
import concurrent.futures as cf, multiprocessing as mp
got = []
def h(s, f): got.append(signal.Signals(s).name)
signal.signal(signal.SIGALRM, h); signal.signal(signal.SIGUSR1, h)
signal.alarm(1)
while not got: time.sleep(0.01)
print("alarm", got)
got.clear()
signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
while len(got) < 3: time.sleep(0.01)
signal.setitimer(signal.ITIMER_REAL, 0)
print("itimer", got[:3]); got.clear()
os.kill(os.getpid(), signal.SIGUSR1)
print("kill", got); got.clear()
def busy(n):
    s = 0
    for i in range(n): s += i * i
    return s
ts = [threading.Thread(target=lambda i=i: got.append(busy(10000 + i))) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print("threads", sorted(got))
with cf.ThreadPoolExecutor(4) as ex: print("tpe", list(ex.map(busy, range(1000, 1008))))
with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as ex: print("ppe", list(ex.map(busy, range(1000, 1008))))
with mp.get_context("fork").Pool(2) as p: print("pool", p.map(busy, range(2000, 2008)))
print("sub", subprocess.run(["echo", "hi"], capture_output=True).stdout)
print("sub2", subprocess.check_output("echo a | tr a b", shell=True))
