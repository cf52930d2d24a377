//! Running a child with piped standard streams and a wall-clock limit,
//! reporting a timeout as an outcome (the harness crate's runner panics).

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Exit code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
    /// Still running at the deadline: killed with its process group.
    TimedOut,
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Exited(c) => write!(f, "exit {c}"),
            End::Signaled(s) => write!(f, "signal {s}"),
            End::TimedOut => write!(f, "timed out"),
        }
    }
}

/// Output and end of one run.
#[derive(Clone, Debug)]
pub struct Run {
    pub end: End,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `cmd` in its own process group with `input` on stdin; kills the
/// group after `limit`.
pub fn run(mut cmd: Command, input: Vec<u8>, limit: Duration) -> std::io::Result<Run> {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = thread::spawn(move || drop(stdin.write_all(&input)));
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_t = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_t = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + limit;
    let mut nap = Duration::from_micros(100);
    let end = loop {
        if let Some(st) = child.try_wait()? {
            break match (st.code(), st.signal()) {
                (Some(c), _) => End::Exited(c),
                (None, Some(s)) => End::Signaled(s),
                _ => End::Signaled(0),
            };
        }
        if Instant::now() >= deadline {
            let pgid = child.id() as i32;
            // SAFETY: kill(2) has no memory effects; the group is the child's own.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            let _ = child.kill();
            let _ = child.wait();
            break End::TimedOut;
        }
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(10));
    };
    let _ = writer.join();
    Ok(Run { end, stdout: out_t.join().unwrap_or_default(), stderr: err_t.join().unwrap_or_default() })
}
