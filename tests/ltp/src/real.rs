//! The runner for a real LTP installation (`LTPROOT`, default `/opt/ltp`;
//! built from LTP's source by the user, tern ships none of it): the
//! `runtest/syscalls` entries of the signal, timer, sleep, wait,
//! userfaultfd, seccomp/prctl, io_uring and bpf families and `ioctl10`
//! ([`FAMILIES`]) run natively and under tern, each verdict read from the
//! exit status the LTP library gives (0 pass, bit 1 fail, bit 2 broken,
//! bit 4 warning, 32 not applicable), printed side by side with totals per
//! family.
//!
//! Tests that pass natively and are listed in `tests/ltp/ltp-allowlist.txt`
//! must give the native verdict under tern too (the list only grows, as
//! Blink's LTP allowlist does); every other difference is reported, not
//! failed, while signal delivery is being built.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tern_tests::ExitStatusDesc;

/// The families compared, each with the runtest tag prefixes that belong
/// to it. A tag goes to the first family with a matching prefix.
pub const FAMILIES: &[(&str, &[&str])] = &[
    ("sigaction", &["sigaction"]),
    ("sigaltstack", &["sigaltstack"]),
    ("sigpending", &["sigpending"]),
    ("sigprocmask", &["sigprocmask"]),
    ("sigsuspend", &["sigsuspend"]),
    ("sigtimedwait", &["sigtimedwait"]),
    ("sigwaitinfo", &["sigwaitinfo"]),
    ("rt_sig*", &["rt_sig", "rt_tgsig"]),
    ("signalfd", &["signalfd"]),
    ("signal", &["signal"]),
    ("kill", &["kill"]),
    ("tkill", &["tkill"]),
    ("tgkill", &["tgkill"]),
    ("pause", &["pause"]),
    ("alarm", &["alarm"]),
    ("setitimer", &["setitimer", "getitimer"]),
    ("timer_*", &["timer_"]),
    ("nanosleep", &["nanosleep"]),
    ("clock_nanosleep", &["clock_nanosleep"]),
    ("wait4/waitid", &["wait4", "waitid"]),
    ("userfaultfd", &["userfaultfd", "mremap07"]),
    ("seccomp/prctl", &["seccomp", "prctl"]),
    ("io_uring", &["io_uring"]),
    ("bpf", &["bpf_"]),
    ("PROCMAP_QUERY", &["ioctl10"]),
];

/// Where the LTP installation is: `$LTPROOT`, else `/opt/ltp`.
pub fn ltproot() -> PathBuf {
    std::env::var_os("LTPROOT").map_or_else(|| PathBuf::from("/opt/ltp"), PathBuf::from)
}

/// The per-run limit: `TERN_LTP_REAL_TIMEOUT` seconds, else 10.
pub fn real_timeout() -> Duration {
    std::env::var("TERN_LTP_REAL_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .map_or(Duration::from_secs(10), Duration::from_secs_f64)
}

/// The family a runtest tag belongs to, if it is one of ours.
pub fn family_of(tag: &str) -> Option<&'static str> {
    FAMILIES.iter().find(|(_, prefixes)| prefixes.iter().any(|p| tag.starts_with(p))).map(|(f, _)| *f)
}

/// One `runtest/syscalls` line of our families.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub tag: String,
    pub family: &'static str,
    /// The program (a name in `testcases/bin`) and its arguments.
    pub argv: Vec<String>,
}

/// The entries of our families in a runtest file's text, in file order.
/// Lines are `TAG COMMAND ARGS...`; `#` starts a comment line.
pub fn parse_runtest(text: &str) -> Vec<Entry> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut words = l.split_whitespace().map(str::to_owned);
            let tag = words.next()?;
            let argv: Vec<String> = words.collect();
            let family = family_of(&tag)?;
            (!argv.is_empty()).then_some(Entry { tag, family, argv })
        })
        .collect()
}

/// An LTP test's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Pass,
    Conf,
    Fail,
    Broken,
    Warn,
    /// Exited with a code the LTP library does not use.
    Exit(i32),
    Killed(i32),
    Timeout,
    /// The program is not in `testcases/bin` (not built).
    Missing,
}

impl Verdict {
    /// The verdict of an exit status of the LTP library (`tst_test.c`
    /// exits with the OR of TFAIL=1, TBROK=2, TWARN=4; TCONF alone is 32).
    pub fn from_status(status: ExitStatusDesc) -> Verdict {
        match status {
            ExitStatusDesc::Signaled(sig) => Verdict::Killed(sig),
            ExitStatusDesc::Exited(0) => Verdict::Pass,
            ExitStatusDesc::Exited(32) => Verdict::Conf,
            ExitStatusDesc::Exited(c) if c & 2 != 0 => Verdict::Broken,
            ExitStatusDesc::Exited(c) if c & 1 != 0 => Verdict::Fail,
            ExitStatusDesc::Exited(c) if c & 4 != 0 => Verdict::Warn,
            ExitStatusDesc::Exited(c) => Verdict::Exit(c),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass => f.write_str("PASS"),
            Verdict::Conf => f.write_str("CONF"),
            Verdict::Fail => f.write_str("FAIL"),
            Verdict::Broken => f.write_str("BROK"),
            Verdict::Warn => f.write_str("WARN"),
            Verdict::Exit(c) => write!(f, "exit {c}"),
            Verdict::Killed(s) => write!(f, "signal {s}"),
            Verdict::Timeout => f.write_str("TIMEOUT"),
            Verdict::Missing => f.write_str("missing"),
        }
    }
}

/// Runs one entry natively (`tern` = None) or under tern, with `LTPROOT`
/// and `testcases/bin` first in `PATH` (the way LTP's own runners start a
/// test), output discarded (the verdict is the exit status).
pub fn run_entry(root: &Path, e: &Entry, tern: Option<&Path>) -> Verdict {
    let bin_dir = root.join("testcases/bin");
    let prog = bin_dir.join(&e.argv[0]);
    if !prog.is_file() {
        return Verdict::Missing;
    }
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = match tern {
        Some(t) => {
            let mut c = Command::new(t);
            c.arg(&prog);
            c
        }
        None => Command::new(&prog),
    };
    cmd.args(&e.argv[1..])
        .env_clear()
        .env("PATH", path)
        .env("LANG", "C")
        .env("LTPROOT", root)
        .env("TMPDIR", std::env::temp_dir())
        .current_dir(std::env::temp_dir());
    run_tree(cmd, real_timeout())
}

/// Runs `cmd` with no standard streams (so no pipe can keep us waiting)
/// in a new session, and kills every process of that session when the
/// test ends or its time is up: the LTP library moves the test into a
/// process group of its own, so killing our group alone would leave it.
fn run_tree(mut cmd: Command, limit: Duration) -> Verdict {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let Ok(mut child) = cmd.spawn() else { return Verdict::Missing };
    let sid = i32::try_from(child.id()).unwrap_or(0);
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => break None,
        }
    };
    kill_session(sid);
    match status {
        Some(st) => Verdict::from_status(st.into()),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Verdict::Timeout
        }
    }
}

/// SIGKILLs every process whose session id is `sid` (read from /proc).
fn kill_session(sid: i32) {
    if sid <= 0 {
        return;
    }
    let Ok(dir) = std::fs::read_dir("/proc") else { return };
    for ent in dir.flatten() {
        let Some(pid) = ent.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // Fields after the command's closing parenthesis: state ppid pgrp session ...
        let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
        let session = after.split_whitespace().nth(3).and_then(|s| s.parse::<i32>().ok());
        if session == Some(sid) {
            // SAFETY: kill has no memory effects on this process.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// One entry's two verdicts.
#[derive(Clone, Debug)]
pub struct Row {
    pub entry: Entry,
    pub native: Verdict,
    pub tern: Verdict,
}

/// Runs every entry natively and under `tern`, `jobs` entries at a time
/// (the tests mostly sleep), in file order in the result.
pub fn run_all(root: &Path, tern: &Path, entries: &[Entry], jobs: usize) -> Vec<Row> {
    let next = AtomicUsize::new(0);
    let rows: Mutex<Vec<Option<Row>>> = Mutex::new(vec![None; entries.len()]);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(e) = entries.get(i) else { break };
                let native = run_entry(root, e, None);
                let tern_v = if native == Verdict::Missing {
                    Verdict::Missing
                } else {
                    run_entry(root, e, Some(tern))
                };
                let row = Row { entry: e.clone(), native, tern: tern_v };
                rows.lock().expect("rows lock")[i] = Some(row);
            });
        }
    });
    rows.into_inner().expect("rows lock").into_iter().flatten().collect()
}

/// The comparison as text: one line per test, then totals per family and
/// overall (tests run, passing natively, passing under tern, same verdict).
pub fn report(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<24} {:<16} {:<9} {:<9} same", "test", "family", "native", "tern");
    for r in rows {
        let same = if r.native == r.tern { "yes" } else { "NO" };
        let (native, tern) = (r.native.to_string(), r.tern.to_string());
        let _ = writeln!(out, "{:<24} {:<16} {native:<9} {tern:<9} {same}", r.entry.tag, r.entry.family);
    }
    #[derive(Default)]
    struct Totals {
        run: usize,
        missing: usize,
        native_pass: usize,
        tern_pass: usize,
        same: usize,
    }
    let mut by_family: BTreeMap<&str, Totals> = BTreeMap::new();
    let mut all = Totals::default();
    for r in rows {
        for t in [by_family.entry(r.entry.family).or_default(), &mut all] {
            if r.native == Verdict::Missing {
                t.missing += 1;
                continue;
            }
            t.run += 1;
            t.native_pass += usize::from(r.native == Verdict::Pass);
            t.tern_pass += usize::from(r.tern == Verdict::Pass);
            t.same += usize::from(r.native == r.tern);
        }
    }
    let _ = writeln!(
        out,
        "\n{:<16} {:>4} {:>12} {:>10} {:>5} {:>8}",
        "family", "run", "native pass", "tern pass", "same", "missing"
    );
    for (family, t) in by_family.iter().map(|(f, t)| (*f, t)).chain(std::iter::once(("total", &all))) {
        let _ = writeln!(
            out,
            "{family:<16} {:>4} {:>12} {:>10} {:>5} {:>8}",
            t.run, t.native_pass, t.tern_pass, t.same, t.missing
        );
    }
    out
}

/// The allowlist: LTP tags that must give their native verdict under tern.
pub fn allowlist_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ltp-allowlist.txt")
}

/// The tags of the allowlist (one per line, `#` comments).
pub fn allowlist() -> Vec<String> {
    let path = allowlist_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtest_lines_are_filtered_by_family() {
        let text =
            "# comment\n\nsignal01 signal01\nsignalfd4_01 signalfd4_01\nrt_sigaction02 rt_sigaction02 -x 1\n\
                    read01 read01\nwait401 wait401\nkillpg01 killpg01\nclock_nanosleep02 clock_nanosleep02\n";
        let got: Vec<(String, &str, usize)> =
            parse_runtest(text).into_iter().map(|e| (e.tag, e.family, e.argv.len())).collect();
        let want = vec![
            ("signal01".to_owned(), "signal", 1),
            ("signalfd4_01".to_owned(), "signalfd", 1),
            ("rt_sigaction02".to_owned(), "rt_sig*", 3),
            ("wait401".to_owned(), "wait4/waitid", 1),
            ("killpg01".to_owned(), "kill", 1),
            ("clock_nanosleep02".to_owned(), "clock_nanosleep", 1),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn ltp_exit_codes() {
        assert_eq!(Verdict::from_status(ExitStatusDesc::Exited(0)), Verdict::Pass);
        assert_eq!(Verdict::from_status(ExitStatusDesc::Exited(32)), Verdict::Conf);
        assert_eq!(Verdict::from_status(ExitStatusDesc::Exited(1)), Verdict::Fail);
        assert_eq!(Verdict::from_status(ExitStatusDesc::Exited(3)), Verdict::Broken);
        assert_eq!(Verdict::from_status(ExitStatusDesc::Exited(4)), Verdict::Warn);
        assert_eq!(Verdict::from_status(ExitStatusDesc::Exited(33)), Verdict::Fail);
        assert_eq!(Verdict::from_status(ExitStatusDesc::Exited(9)), Verdict::Fail);
        assert_eq!(Verdict::from_status(ExitStatusDesc::Exited(64)), Verdict::Exit(64));
        assert_eq!(Verdict::from_status(ExitStatusDesc::Signaled(9)), Verdict::Killed(9));
    }

    #[test]
    fn report_totals() {
        let e =
            |tag: &str| Entry { tag: tag.into(), family: family_of(tag).unwrap(), argv: vec![tag.into()] };
        let rows = vec![
            Row { entry: e("pause01"), native: Verdict::Pass, tern: Verdict::Pass },
            Row { entry: e("pause02"), native: Verdict::Pass, tern: Verdict::Timeout },
            Row { entry: e("alarm02"), native: Verdict::Missing, tern: Verdict::Missing },
        ];
        let text = report(&rows);
        let words = |l: &str| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert!(text.lines().any(|l| words(l) == ["pause02", "pause", "PASS", "TIMEOUT", "NO"]), "{text}");
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["pause", "2", "2", "1", "1", "0"]),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["total", "2", "2", "1", "1", "1"]),
            "{text}"
        );
    }
}
