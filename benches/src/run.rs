//! Running one program: spawned in its own process group with stdout and
//! stderr going to files, killed (the whole group) at a timeout, reaped with
//! `wait4` to read its peak RSS (`ru_maxrss`) and CPU time (`ru_utime` plus
//! `ru_stime`) alongside the exit status.
//! [`kill_running_on_termination`] makes the harness take the running
//! program's group with it when it is terminated.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd::Pid;

/// One program start.
pub struct Invocation<'a> {
    /// The command: program (a path) then arguments.
    pub argv: &'a [OsString],
    /// Working directory.
    pub cwd: &'a Path,
    /// Variables added to the harness's environment.
    pub env: &'a [(&'a str, OsString)],
    /// Files that receive stdout and stderr (truncated first).
    pub stdout: &'a Path,
    pub stderr: &'a Path,
    /// Wall-clock limit; the process group is killed with SIGKILL after it.
    pub timeout: Duration,
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    Timeout,
}

/// The result of one start.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub exit: Exit,
    pub wall: Duration,
    /// Peak resident set size in KiB (the child's and its reaped descendants').
    pub maxrss_kib: u64,
    /// User plus system CPU time of the child and its reaped descendants,
    /// every thread's: an emulator's helper threads (tern's trace
    /// optimizer) count, and time spent waiting for a CPU does not.
    pub cpu: Duration,
}

/// Runs `inv` to completion or timeout.
pub fn run(inv: &Invocation) -> io::Result<Outcome> {
    let (program, args) = inv.argv.split_first().ok_or_else(|| io::Error::other("empty command"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(inv.cwd)
        .envs(inv.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(File::create(inv.stdout)?)
        .stderr(File::create(inv.stderr)?)
        .process_group(0);
    let start = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as i32;
    RUNNING_GROUP.store(pid, Ordering::SeqCst);
    let (done, finished) = mpsc::channel::<()>();
    let timeout = inv.timeout;
    let watchdog = std::thread::spawn(move || {
        let expired = finished.recv_timeout(timeout) == Err(mpsc::RecvTimeoutError::Timeout);
        if expired {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        expired
    });
    let waited = wait4(pid);
    let wall = start.elapsed();
    let _ = done.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    // Leftovers of the group (daemonised workers, forked children) must not
    // run on into the next measurement.
    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    let _ = RUNNING_GROUP.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
    let (status, maxrss_kib, cpu) = waited?;
    let exit = if timed_out {
        Exit::Timeout
    } else if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    };
    Ok(Outcome { exit, wall, maxrss_kib, cpu })
}

/// The process group of the program [`run`] is running (0: none), for
/// [`on_termination`] to kill.
static RUNNING_GROUP: AtomicI32 = AtomicI32::new(0);

/// Makes SIGTERM, SIGINT and SIGHUP kill the running program's process group
/// before they end the harness as they would have. The program runs in a
/// group of its own, which those signals do not reach: without this it
/// would run on, with no watchdog left to time it out, into whatever the
/// machine does next (such as the resumed run's measurements). A SIGKILL to
/// the harness alone still leaves it running.
pub fn kill_running_on_termination() -> io::Result<()> {
    let action = SigAction::new(SigHandler::Handler(on_termination), SaFlags::SA_RESETHAND, SigSet::empty());
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        // SAFETY: `on_termination` makes only async-signal-safe calls (an
        // atomic load, killpg, raise) and touches no other state.
        unsafe { sigaction(signal, &action) }.map_err(io::Error::from)?;
    }
    Ok(())
}

extern "C" fn on_termination(signal: libc::c_int) {
    let group = RUNNING_GROUP.load(Ordering::SeqCst);
    if group > 0 {
        let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
    }
    // SAFETY: raise is async-signal-safe. SA_RESETHAND has restored the
    // default action, and the signal stays blocked until this handler
    // returns, so the harness then ends as the signal would have ended it.
    unsafe { libc::raise(signal) };
}

/// Waits for child `pid` (not reaped by anyone else: the caller holds its
/// `Child` without waiting on it) and returns its wait status, peak RSS
/// and CPU time.
fn wait4(pid: i32) -> io::Result<(i32, u64, Duration)> {
    loop {
        let mut status = 0;
        // SAFETY: `rusage` is plain integers, for which all-zero is valid; wait4
        // writes only to the two locals passed by exclusive reference.
        let (r, usage) = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            let r = libc::wait4(pid, &mut status, 0, &mut usage);
            (r, usage)
        };
        if r == pid {
            let time =
                |t: libc::timeval| Duration::new(t.tv_sec.max(0) as u64, (t.tv_usec.max(0) as u32) * 1000);
            return Ok((status, usage.ru_maxrss.max(0) as u64, time(usage.ru_utime) + time(usage.ru_stime)));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// 64-bit FNV-1a of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_extend(0xcbf2_9ce4_8422_2325, bytes)
}

fn fnv1a_extend(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A file's FNV-1a hash, its length, and its first `head` bytes as text.
pub fn digest_file(path: &Path, head: usize) -> io::Result<(u64, u64, String)> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    let (mut h, mut len, mut first) = (0xcbf2_9ce4_8422_2325, 0u64, Vec::new());
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h = fnv1a_extend(h, &buf[..n]);
        if first.len() < head {
            first.extend_from_slice(&buf[..n.min(head - first.len())]);
        }
        len += n as u64;
    }
    Ok((h, len, String::from_utf8_lossy(&first).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoke(argv: &[&str], timeout: Duration) -> (Outcome, String) {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tern-bench-run-{}-{k}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
        let (out, err) = (dir.join("out"), dir.join("err"));
        let inv = Invocation { argv: &argv, cwd: &dir, env: &[], stdout: &out, stderr: &err, timeout };
        let o = run(&inv).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        (o, text)
    }

    #[test]
    fn exit_codes_signals_and_timeouts() {
        let (o, out) = invoke(&["/bin/sh", "-c", "echo hi; exit 3"], Duration::from_secs(20));
        assert_eq!((o.exit, out.as_str()), (Exit::Code(3), "hi\n"));
        assert!(o.maxrss_kib > 0);
        assert!(o.cpu <= o.wall * 2, "{:?} of CPU in {:?}", o.cpu, o.wall);
        let (o, _) = invoke(&["/bin/sh", "-c", "kill -USR1 $$"], Duration::from_secs(20));
        assert_eq!(o.exit, Exit::Signal(libc::SIGUSR1));
        let (o, _) = invoke(&["/bin/sleep", "10"], Duration::from_millis(200));
        assert_eq!(o.exit, Exit::Timeout);
        assert!(o.wall < Duration::from_secs(5));
    }

    #[test]
    fn hashing() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
