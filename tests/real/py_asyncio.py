"""asyncio signal handlers and subprocesses, sigwait with pthread_kill,
subprocess timeouts and children killed by signals, SIGALRM exceptions
interrupting a sleep and a busy loop."""
import asyncio, signal, os, threading, time, subprocess, faulthandler
async def main():
    loop = asyncio.get_running_loop()
    ev = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR2, ev.set)
    loop.call_later(0.05, os.kill, os.getpid(), signal.SIGUSR2)
    await ev.wait()
    print("asyncio signal ok")
    p = await asyncio.create_subprocess_exec("sh", "-c", "echo sub; exit 7", stdout=asyncio.subprocess.PIPE)
    out, _ = await p.communicate()
    print("async sub", out, p.returncode)
asyncio.run(main())
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
t = threading.Thread(target=lambda: (time.sleep(0.05), signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)))
t.start()
print("sigwait", signal.sigwait({signal.SIGUSR1}))
t.join()
try:
    subprocess.run(["sleep", "5"], timeout=0.3)
except subprocess.TimeoutExpired:
    print("timeout expired")
r = subprocess.run(["sh", "-c", "kill -TERM $$"])
print("child rc", r.returncode)
signal.signal(signal.SIGALRM, lambda s, f: (_ for _ in ()).throw(TimeoutError("alarm")))
signal.setitimer(signal.ITIMER_REAL, 0.1)
try:
    time.sleep(2)
except TimeoutError as e:
    print("interrupted sleep", e)
try:
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    while True: pass
except TimeoutError as e:
    print("interrupted loop", e)
