//! Running one scenario binary (natively or under tern) in a process group
//! of its own, with a timeout: when the scenario ends, or when the time is
//! up, the whole group is killed, so a forked child that a broken run left
//! behind can neither hang the test nor outlive it.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tern_tests::{ExitStatusDesc, Outcome, RunError};

/// The per-run limit: `TERN_LTP_TIMEOUT` seconds, else 10 (every scenario
/// takes under a second natively; a run past the limit is a hang).
pub fn timeout() -> Duration {
    std::env::var("TERN_LTP_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .map_or(Duration::from_secs(10), Duration::from_secs_f64)
}

/// Runs `cmd` with a clean environment (`PATH`, `LANG=C`), stdin from
/// `/dev/null`, in a new process group, and collects its output. Kills the
/// group when the leader has ended or after `limit` ([`RunError::TimedOut`]).
pub fn run_grouped(mut cmd: Command, limit: Duration) -> Result<Outcome, RunError> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    cmd.env_clear().env("PATH", path).env("LANG", "C");
    // The stress scenarios' iteration count (scenarios/stress.h).
    if let Some(n) = std::env::var_os("TERN_LTP_STRESS_N") {
        cmd.env("TERN_LTP_STRESS_N", n);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let what = format!("{cmd:?}");
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| RunError::Spawn { what: what.clone(), error: e.to_string() })?;
    let stdout = reader(child.stdout.take().expect("piped stdout"));
    let stderr = reader(child.stderr.take().expect("piped stderr"));
    let ended = wait_ended(&child, start + limit);
    let elapsed = start.elapsed();
    kill_group(&child);
    let status = child.wait().expect("waitpid on scenario");
    let stdout = stdout.join().expect("stdout reader thread");
    let stderr = stderr.join().expect("stderr reader thread");
    if !ended {
        return Err(RunError::TimedOut { what, limit });
    }
    Ok(Outcome { stdout, stderr, status: ExitStatusDesc::from(status), elapsed })
}

fn reader(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error just truncates the captured output.
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Polls until `child` has exited or been killed (true) or `deadline`
/// passes (false), without reaping it: the zombie keeps its pid, so the
/// group id stays valid for [`kill_group`].
fn wait_ended(child: &Child, deadline: Instant) -> bool {
    let pid = libc::id_t::from(child.id());
    let mut nap = Duration::from_micros(200);
    loop {
        // SAFETY: an all-zero siginfo_t is a valid value for waitid to fill.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t; WNOWAIT leaves the
        // child for `Child::wait`.
        let r = unsafe {
            libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT)
        };
        // SAFETY: waitid filled `info` (or left it zeroed: pid 0, not ended).
        if r == 0 && unsafe { info.si_pid() } != 0 {
            return true;
        }
        let now = Instant::now();
        if r != 0 || now >= deadline {
            return r != 0;
        }
        thread::sleep(nap.min(deadline - now));
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

/// SIGKILL to every process left in the scenario's group (an ESRCH when
/// none is left is fine).
fn kill_group(child: &Child) {
    let Ok(pgid) = libc::pid_t::try_from(child.id()) else { return };
    // SAFETY: kill has no memory effects; the group is the scenario's own
    // (it was created by `process_group(0)` and its leader is unreaped).
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}
