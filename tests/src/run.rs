//! Running a program (natively or under tern) with a clean environment, fed
//! standard input, with its output captured and a timeout enforced.

use std::fmt;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Timeout applied by [`run_native`] and [`run_under`] unless the
/// `TERN_TEST_TIMEOUT` environment variable gives another number of seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatusDesc {
    /// It called `exit`/`_exit` (or returned from `main`) with this code.
    Exited(i32),
    /// It was killed by this signal number.
    Signaled(i32),
}

impl From<ExitStatus> for ExitStatusDesc {
    fn from(status: ExitStatus) -> Self {
        match (status.code(), status.signal()) {
            (Some(code), _) => Self::Exited(code),
            (None, Some(sig)) => Self::Signaled(sig),
            // A stopped/continued status is never returned by `wait` here.
            (None, None) => Self::Signaled(0),
        }
    }
}

impl fmt::Display for ExitStatusDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Exited(code) => write!(f, "exited with code {code}"),
            Self::Signaled(sig) => write!(f, "killed by signal {sig}{}", signal_name(sig)),
        }
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        3 => " (SIGQUIT)",
        4 => " (SIGILL)",
        5 => " (SIGTRAP)",
        6 => " (SIGABRT)",
        7 => " (SIGBUS)",
        8 => " (SIGFPE)",
        9 => " (SIGKILL)",
        10 => " (SIGUSR1)",
        11 => " (SIGSEGV)",
        12 => " (SIGUSR2)",
        13 => " (SIGPIPE)",
        14 => " (SIGALRM)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

/// Everything observable about one run of a program.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: ExitStatusDesc,
    /// Wall-clock time of the run (informational; never compared).
    pub elapsed: Duration,
}

/// Runs `bin args...` natively.
pub fn run_native(bin: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Outcome {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    run_command(cmd, stdin, env, timeout())
}

/// Runs `tern bin args...`.
pub fn run_under(tern: &Path, bin: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Outcome {
    run_under_opts(tern, &[], bin, args, stdin, env)
}

/// [`run_under`] with tern options `opts` before the program.
pub fn run_under_opts(
    tern: &Path,
    opts: &[&str],
    bin: &Path,
    args: &[&str],
    stdin: &[u8],
    env: &[(&str, &str)],
) -> Outcome {
    let mut cmd = Command::new(tern);
    if !opts.iter().any(|o| o.contains("code-cache")) {
        cmd.arg("--code-cache").arg(code_cache(tern));
    }
    cmd.args(opts).arg(bin).args(args);
    // Compiling traces synchronously puts every compilation on the guest's
    // way: insn_sse_int with every loop a trace compiles 549 traces, 22 s
    // alone on the project's machine, past a minute in CI beside other
    // tests.
    let limit = if opts.contains(&"--trace-sync") { timeout() * 4 } else { timeout() };
    run_command(cmd, stdin, env, limit)
}

/// The persistent translation cache of every guest program the tests run
/// under `tern` (their environment has no HOME): next to the binary, in
/// the build's directory, and shared by the test processes, so that
/// programs run on blocks other tests translated (the dynamic loader's and
/// libc's above all) as well as on blocks translated afresh, and the
/// stores take concurrent writers.
pub fn code_cache(tern: &Path) -> std::path::PathBuf {
    tern.parent().unwrap_or(Path::new("/tmp")).join("test-code-cache")
}

/// The timeout in force: `TERN_TEST_TIMEOUT` seconds, else [`DEFAULT_TIMEOUT`].
pub fn timeout() -> Duration {
    std::env::var("TERN_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64)
}

/// Why [`try_run_command`] has no outcome.
#[derive(Debug, PartialEq, Eq)]
pub enum RunError {
    /// The program could not be started.
    Spawn { what: String, error: String },
    /// The program was still running after the limit and was killed.
    TimedOut { what: String, limit: Duration },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spawn { what, error } => write!(f, "cannot start {what}: {error}"),
            Self::TimedOut { what, limit } => {
                write!(f, "timed out after {:.1} s, killed: {what}", limit.as_secs_f64())
            }
        }
    }
}

/// [`try_run_command`], panicking with its error (for tests).
pub fn run_command(cmd: Command, stdin: &[u8], env: &[(&str, &str)], limit: Duration) -> Outcome {
    try_run_command(cmd, stdin, env, limit).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `cmd` with a clean environment (`PATH`, `LANG=C`, then `env`), feeds it
/// `stdin`, and collects its output. Kills it and returns
/// [`RunError::TimedOut`] if it is still running after `limit`.
pub fn try_run_command(
    mut cmd: Command,
    stdin: &[u8],
    env: &[(&str, &str)],
    limit: Duration,
) -> Result<Outcome, RunError> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    cmd.env_clear().env("PATH", path).env("LANG", "C");
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let what = format!("{cmd:?}");
    let start = Instant::now();
    let mut child =
        spawn(&mut cmd).map_err(|e| RunError::Spawn { what: what.clone(), error: e.to_string() })?;

    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    // A program that does not read its input makes this fail with EPIPE: fine.
    let writer = thread::spawn(move || drop(input.write_all(&data)));
    let stdout = reader(child.stdout.take().expect("piped stdout"));
    let stderr = reader(child.stderr.take().expect("piped stderr"));

    let Some(status) = wait_with_deadline(&mut child, start + limit) else {
        // Best effort: the child may have exited just now.
        let _ = child.kill();
        let _ = child.wait();
        return Err(RunError::TimedOut { what, limit });
    };
    let elapsed = start.elapsed();
    let _ = writer.join();
    Ok(Outcome {
        stdout: stdout.join().expect("stdout reader thread"),
        stderr: stderr.join().expect("stderr reader thread"),
        status: status.into(),
        elapsed,
    })
}

/// Spawns `cmd`, retrying briefly on ETXTBSY: a file just written by this
/// process (a script, say) can be held open for writing for a moment by a
/// child that another thread is forking.
fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    const ETXTBSY: i32 = 26;
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && tries < 50 => {
                tries += 1;
                thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error just truncates the captured output.
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Polls `child` until it exits (`Some`) or `deadline` passes (`None`).
fn wait_with_deadline(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    let mut nap = Duration::from_micros(200);
    loop {
        if let Some(status) = child.try_wait().expect("waitpid on child") {
            return Some(status);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::sleep(nap.min(deadline - now));
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

/// The value of the `--stats` counter `name` in tern's log `stats`, from
/// the first block of counters printed in it.
pub fn stats_counter(stats: &str, name: &str) -> u64 {
    stats
        .lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in --stats:\n{stats}"))
}

/// Runs `cmd` to its end and returns its output; panics, showing both
/// output streams, if it cannot run or fails (a build step, a native
/// client of a server under test).
pub fn output_ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
