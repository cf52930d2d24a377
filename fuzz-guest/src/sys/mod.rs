//! The syscall fuzzer: random calls with hostile arguments made by a guest
//! (`fuzz-guest/guest/syscall_guest.c`) under tern, inside user, mount, pid
//! and network namespaces, as user `nobody` ([`sandbox`]).
//!
//! Oracle: tern never reports an internal fault (`tern: internal fault`,
//! written by `signals/src/fault.rs`) nor panics, never outlives the
//! timeout, and the guest reaches its final `DONE` record; when the guest
//! does not, the same calls are replayed natively, and only a guest that
//! finishes natively counts against tern.
//!
//! Arguments are drawn per position from: pointers into the guest's arenas
//! (read-write, read-only, no-access pages), addresses inside tern's own
//! mappings (read from the host's `/proc/PID/maps` of the running tern, so
//! they are where tern's data really is), kernel addresses, NULL, all-ones
//! masks, huge lengths, bad descriptors and small numbers. [`policy`] keeps
//! the calls from ending or wedging the child for reasons that are not
//! tern's. Each case is deterministic per seed except the resolved tern
//! addresses, which the failure log prints.

pub mod policy;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::rng::Rng;

/// Seeds that once found a bug (500 calls each, without tern pointers): the
/// CI test runs them every time. 78, 113: brk(-1); 85: madvise; see
/// fuzz-findings.md.
pub const REGRESSION_SEEDS: &[u64] = &[78, 85, 113];

/// Seeds of later findings, each with the calls per case and the pointer
/// mode it was found with: 48 (tern panicked writing its log to a
/// descriptor 2 the guest had replaced), 285 and 411 (`brk(-1)` unmapped
/// the guest). (The exit-signal SIGILL case is `sigmask.c exit_signal`.)
pub const LATER_REGRESSION_SEEDS: &[(u64, usize, bool)] =
    &[(48, 200, true), (285, 200, true), (411, 200, true)];

/// Known failures: a failing case whose last call is one of these syscall
/// numbers is reported, not counted. Each names its reason.
pub const KNOWN: &[(u64, &str)] = &[
    // Empty: brk(-1) (S1) and madvise over a huge range (S2) of
    // fuzz-findings.md now behave as natively. A new known failure goes
    // here as `(number, "reason")`.
];

/// The guest's data arena and its memory calls' target (`syscall_guest.c`
/// maps both with MAP_FIXED_NOREPLACE): above where the kernel may start
/// a static program's break (up to 1 GiB past its end, at random), which
/// took them now and then, natively and under tern alike.
const ARENA: u64 = 0x5000_0000;
const ARENA_DATA: u64 = 0x1_0000;
const ARENA_RO: u64 = ARENA + ARENA_DATA;
const ARENA_NONE: u64 = ARENA_RO + 0x1000;
const MM_ARENA: u64 = 0x6000_0000;
const MM_ARENA_SIZE: u64 = 0x10_0000;

/// The sandbox a fuzz child runs in: limits on its address space (16 GiB)
/// and file sizes (soft, 256 MiB), so that random `mmap`/`ftruncate`/`fallocate`
/// calls cannot drive the machine out of memory (a run without them woke
/// the OOM killer); then the user `nobody` (so that even when the fuzzer
/// runs as root, the namespace's root owns no host file: a random
/// `chmod("/")` must fail); then new user, mount, pid, network and IPC
/// namespaces (System V segments die with the child instead of piling up
/// in the host's), with a private /proc, the child killed when `unshare`
/// dies.
pub fn sandbox() -> Command {
    let mut cmd = Command::new("prlimit");
    cmd.args([
        "--as=17179869184",
        "--fsize=268435456:unlimited",
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "unshare",
        "-Urmpfni",
        "--mount-proc",
        "--kill-child",
    ]);
    cmd
}

/// Builds the guest (cached) and returns it.
pub fn guest() -> PathBuf {
    crate::compile::build("syscall_guest.c")
}

/// An argument as drawn: kept symbolic until tern's maps are known.
#[derive(Clone, Copy, Debug)]
pub enum Arg {
    /// A plain value.
    Value(u64),
    /// Mapping `n` (modulo the count) of tern's, at this fraction of its size
    /// (in 1/65536).
    Tern(u32, u32),
}

/// One call.
#[derive(Clone, Debug)]
pub struct Call {
    pub nr: u64,
    pub args: [Arg; 6],
}

/// Draws one argument value.
fn arg(rng: &mut Rng) -> Arg {
    let v = match rng.below(100) {
        0..=17 => (ARENA + rng.below(ARENA_DATA)) & if rng.chance(50) { !0xfff } else { !0 },
        18..=21 => ARENA_RO + rng.below(0x1000),
        22..=24 => ARENA_NONE + rng.below(0x1000),
        25..=39 => return Arg::Tern(rng.next_u64() as u32, rng.below(0x1_0000) as u32),
        40..=59 => rng.below(17),
        60..=66 => rng.pick(&[u64::MAX, 1000, 0x7fff_ffff, 3, 4, 0]),
        67..=76 => rng.pick(&[u64::MAX, u64::MAX >> 1, 1 << 63, 0xffff_ffff, 1 << 40, 0x7fff_ffff_f000]),
        77..=81 => 0,
        82..=86 => rng.pick(&[0xffff_ffff_ff60_0000, 0xffff_8880_0000_0000, 0xffff_ffff_8100_0000, 1 << 47]),
        _ => rng.interesting(),
    };
    Arg::Value(if v == policy::PROGRESS_FD { 1000 } else { v })
}

/// Generates `n` calls for `seed`; with `tern_pointers` false, no argument
/// points into tern's memory.
pub fn generate(seed: u64, n: usize, tern_pointers: bool) -> Vec<Call> {
    let mut rng = Rng::new(seed);
    let mut calls = Vec::with_capacity(n);
    while calls.len() < n {
        let nr = if rng.chance(2) {
            rng.pick(&[u64::MAX, 1000, 0x4000_0000, 512])
        } else {
            rng.below(policy::MAX_NR)
        };
        if policy::denied(nr) {
            continue;
        }
        let mut args = [Arg::Value(0); 6];
        for a in args.iter_mut() {
            *a = arg(&mut rng);
        }
        if policy::MEMORY_CALLS.contains(&nr) {
            args[0] = match rng.below(4) {
                0 | 1 => Arg::Value(MM_ARENA + (rng.below(MM_ARENA_SIZE) & !0xfff)),
                2 => Arg::Tern(rng.next_u64() as u32, rng.below(0x1_0000) as u32),
                _ => Arg::Value(rng.pick(&[0, 0xffff_ffff_ff60_0000, 1 << 47, MM_ARENA + 1])),
            };
            if nr == 9 && rng.chance(50) {
                // mmap: sometimes MAP_FIXED (0x10) or MAP_FIXED_NOREPLACE on the
                // chosen address, anonymous and private.
                args[3] = Arg::Value(0x22 | rng.pick(&[0x10, 0x10_0000, 0]));
                args[4] = Arg::Value(u64::MAX);
            }
        }
        if policy::READ_CALLS.contains(&nr) {
            args[0] = Arg::Value(rng.pick(&[0, 3, 4, 1000, u64::MAX]));
        }
        for &(n2, i) in policy::FD_REPLACING {
            if n2 == nr && matches!(args[i], Arg::Value(0..=4) | Arg::Value(policy::PROGRESS_FD)) {
                args[i] = Arg::Value(1000);
            }
        }
        if nr == 157 && policy::PRCTL_DENY.iter().any(|d| matches!(args[0], Arg::Value(v) if v == d.0)) {
            continue;
        }
        if nr == 72 && policy::FCNTL_DENY.iter().any(|d| matches!(args[1], Arg::Value(v) if v == *d)) {
            continue;
        }
        if !tern_pointers {
            for a in args.iter_mut() {
                if let Arg::Tern(m, _) = *a {
                    *a = Arg::Value(u64::from(m) << 12);
                }
            }
        }
        calls.push(Call { nr, args });
    }
    calls
}

/// Address ranges of a process's mappings, from `/proc/PID/maps`.
fn maps_of(pid: u32) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    text.lines()
        // The vDSO and vsyscall pages are the guest's as well.
        .filter(|l| !l.contains("[vdso]") && !l.contains("[vvar") && !l.contains("[vsyscall]"))
        .filter_map(|l| {
            let (a, b) = l.split_whitespace().next()?.split_once('-')?;
            Some((u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?))
        })
        // The guest's own arenas and text are also in tern's maps: only keep
        // mappings outside them (tern's binary, heap, code cache, libraries,
        // stacks). The guest's stack and heap cannot be told apart from
        // tern's anonymous mappings here; a failure through them is counted
        // with the known tern-pointer failures.
        .filter(|&(a, _)| !(0x30_0000..0x5000_0000).contains(&a))
        .collect()
}

fn resolve(calls: &[Call], maps: &[(u64, u64)]) -> Vec<[u64; 7]> {
    calls
        .iter()
        .map(|c| {
            let mut r = [c.nr, 0, 0, 0, 0, 0, 0];
            for (i, a) in c.args.iter().enumerate() {
                r[i + 1] = match *a {
                    Arg::Value(v) => v,
                    Arg::Tern(m, f) if !maps.is_empty() => {
                        let (lo, hi) = maps[m as usize % maps.len()];
                        let off = ((hi - lo) * u64::from(f)) >> 16;
                        if f & 1 == 0 {
                            lo + (off & !0xfff)
                        } else {
                            lo + off
                        }
                    }
                    // Natively there is no tern: any address of a former tern
                    // mapping is unmapped, like this one.
                    Arg::Tern(..) => 0x7ff0_0000_0000,
                };
            }
            r
        })
        .collect()
}

fn input(records: &[[u64; 7]]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"TFUZSYS1");
    v.extend_from_slice(&(records.len() as u64).to_le_bytes());
    let mut rng = Rng::new(records.len() as u64);
    let strings: [&[u8]; 6] =
        [b"/proc/self/maps\0", b"/proc/self/mem\0", b"/dev/zero\0", b".\0", b"fuzzfile\0", b"/\0"];
    let mut arena = vec![0u8; ARENA_DATA as usize];
    for chunk in arena.chunks_mut(64) {
        if rng.chance(30) {
            let s = rng.pick(&strings);
            chunk[..s.len()].copy_from_slice(s);
        } else {
            for b in chunk.chunks_mut(8) {
                b.copy_from_slice(&rng.interesting().to_le_bytes());
            }
        }
    }
    v.extend_from_slice(&arena);
    for r in records {
        for x in r {
            v.extend_from_slice(&x.to_le_bytes());
        }
    }
    v
}

/// How one run ended.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// `exit N`, `signal N` or `timed out`.
    pub end: String,
    /// The guest wrote its final record.
    pub done: bool,
    /// Index of the last call started, and its result when it returned.
    pub last: Option<(u64, Option<i64>)>,
    pub stderr: String,
    /// The records as resolved for this run.
    pub records: Vec<[u64; 7]>,
}

impl RunReport {
    /// tern reported an internal fault or panicked.
    pub fn internal_fault(&self) -> bool {
        self.stderr.contains("internal fault")
            || self.stderr.contains("panicked")
            || self.stderr.contains("tern: bug")
    }
}

/// Runs `calls` in the sandbox, under `tern` when given.
pub fn run(guest: &Path, tern: Option<&Path>, calls: &[Call], limit: Duration) -> std::io::Result<RunReport> {
    // A fresh directory for every run: files a run leaves (a FIFO that a
    // later `creat` blocks on) must not change the next run, native or not.
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tern-fuzz-sys-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777));
    let mut cmd = sandbox();
    if let Some(t) = tern {
        cmd.arg(t);
    }
    cmd.arg(guest).current_dir(&dir).env_clear().env("PATH", "/usr/bin:/bin");
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let unshare_pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let out_t = thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let err_t = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = (&mut err).take(1 << 20).read_to_end(&mut b);
        // Drain the rest so the child never blocks on a full pipe.
        let _ = std::io::copy(&mut err, &mut std::io::sink());
        b
    });
    let deadline = start + limit;
    let mut stdout = Vec::new();
    // Wait for READY, then find the process that runs the guest.
    while !stdout.starts_with(b"READY\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => stdout.extend(chunk),
            Err(_) => break,
        }
    }
    let ready = stdout.starts_with(b"READY\n");
    let mut records = Vec::new();
    if ready {
        let maps = if tern.is_some() {
            let children =
                std::fs::read_to_string(format!("/proc/{unshare_pid}/task/{unshare_pid}/children"))
                    .unwrap_or_default();
            children.split_whitespace().next().and_then(|p| p.parse().ok()).map(maps_of).unwrap_or_default()
        } else {
            Vec::new()
        };
        if tern.is_some() && maps.is_empty() {
            return Err(std::io::Error::other("cannot read the maps of the tern process"));
        }
        records = resolve(calls, &maps);
        let data = input(&records);
        thread::spawn(move || drop(stdin.write_all(&data)));
    } else {
        drop(stdin);
    }
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if Instant::now() >= deadline {
            // SAFETY: kill(2) has no memory effects; the group is the child's own.
            unsafe { libc::kill(-(unshare_pid as i32), libc::SIGKILL) };
            let _ = child.kill();
            let _ = child.wait();
            timed_out = true;
            break None;
        }
        while let Ok(chunk) = rx.try_recv() {
            stdout.extend(chunk);
        }
        thread::sleep(Duration::from_millis(2));
    };
    let _ = out_t.join();
    while let Ok(chunk) = rx.try_recv() {
        stdout.extend(chunk);
    }
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned();
    let end = match status {
        _ if timed_out => "timed out".to_string(),
        Some(st) => match (st.code(), st.signal()) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("signal {s}"),
            _ => "unknown".into(),
        },
        None => "unknown".into(),
    };
    let progress = stdout.get(6..).unwrap_or_default();
    let words: Vec<u64> =
        progress.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
    let done = progress.ends_with(b"DONEDONE");
    let words = if done { &words[..words.len() - 1] } else { &words[..] };
    let last = match words.len() {
        0 => None,
        n if n % 2 == 1 => Some((words[n - 1], None)),
        n => Some((words[n - 2], Some(words[n - 1] as i64))),
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(RunReport { end, done: done && ready, last, stderr, records })
}

/// The verdict on one case.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// The guest finished under tern.
    Pass,
    /// It did not, and natively it did not either: not tern's doing.
    NativeFails(String),
    /// tern failed: the description, and the number of the last call made.
    Fail(String, Option<u64>),
}

/// Name of a syscall number (for logs), from tern's syscall table.
fn name(nr: u64) -> String {
    match tern_syscalls::strace::syscall_name(nr) {
        Some(s) => s.to_string(),
        None => format!("#{nr}"),
    }
}

/// Lists the calls around `last` (the failing one last).
pub fn describe(records: &[[u64; 7]], last: Option<(u64, Option<i64>)>) -> String {
    let mut s = String::new();
    let upto = last.map_or(records.len(), |(i, _)| (i as usize + 1).min(records.len()));
    for (i, r) in records.iter().enumerate().take(upto).skip(upto.saturating_sub(12)) {
        let _ = writeln!(
            s,
            "  #{i} {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x})",
            name(r[0]),
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6]
        );
    }
    s
}

/// Runs case `seed` (`n` calls) under tern, replaying natively if needed.
pub fn check(
    guest: &Path,
    tern: &Path,
    seed: u64,
    n: usize,
    tern_pointers: bool,
    limit: Duration,
) -> Verdict {
    let calls = generate(seed, n, tern_pointers);
    let t = match run(guest, Some(tern), &calls, limit) {
        Ok(r) => r,
        Err(e) => return Verdict::Fail(format!("seed {seed}: cannot run unshare: {e}"), None),
    };
    let all_made = t.last.is_some_and(|(i, r)| i + 1 == n as u64 && r.is_some());
    if t.done && all_made && !t.internal_fault() && t.end == "exit 0" {
        return Verdict::Pass;
    }
    let summary = format!(
        "seed {seed}: under tern: {}, guest {}, last call {:?}\n{}stderr: {}",
        t.end,
        if t.done { "finished" } else { "did not finish" },
        t.last,
        describe(&t.records, t.last),
        t.stderr.chars().take(2000).collect::<String>()
    );
    let last_nr = t.last.and_then(|(i, _)| t.records.get(i as usize)).map(|r| r[0]);
    if t.internal_fault() || t.end == "timed out" {
        return Verdict::Fail(summary, last_nr);
    }
    let native = run(guest, None, &calls, limit);
    match native {
        Ok(nr) if !nr.done => {
            Verdict::NativeFails(format!("{summary}\nnatively also: {}, last call {:?}", nr.end, nr.last))
        }
        _ => Verdict::Fail(summary, last_nr),
    }
}

/// Figures of a campaign.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    pub cases: u64,
    pub calls: u64,
    pub passed: u64,
    pub native_fails: u64,
    pub failures: u64,
    pub known: u64,
    pub internal_faults: u64,
    pub failing_seeds: Vec<u64>,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cases, {} syscalls, {} passed, {} also failing natively, {} failures ({} known), {} tern internal faults; failing seeds {:?}",
            self.cases, self.calls, self.passed, self.native_fails, self.failures, self.known, self.internal_faults, self.failing_seeds
        )
    }
}

/// Runs `seeds`, `n` calls each, logging failures. With `tern_pointers`,
/// arguments point into tern's memory too.
pub fn campaign(
    guest: &Path,
    tern: &Path,
    seeds: impl Iterator<Item = u64>,
    n: usize,
    tern_pointers: bool,
    deadline: Option<Instant>,
    log: &mut dyn FnMut(&str),
) -> Figures {
    let mut fig = Figures::default();
    for seed in seeds {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        fig.cases += 1;
        fig.calls += n as u64;
        match check(guest, tern, seed, n, tern_pointers, Duration::from_secs(10)) {
            Verdict::Pass => fig.passed += 1,
            Verdict::NativeFails(s) => {
                fig.native_fails += 1;
                log(&format!("(also natively) {s}"));
            }
            Verdict::Fail(s, last_nr) => {
                fig.failures += 1;
                if s.contains("internal fault") || s.contains("panicked") {
                    fig.internal_faults += 1;
                }
                let known = KNOWN.iter().find(|(nr, _)| Some(*nr) == last_nr).map(|k| k.1);
                if let Some(why) = known {
                    fig.known += 1;
                    log(&format!("known ({why}): {s}"));
                } else {
                    fig.failing_seeds.push(seed);
                    log(&format!("FAIL {s}"));
                }
            }
        }
    }
    fig
}
