//! `tern bisect [OPTIONS] -- PROGRAM [ARGS...]`: finds the trace whose
//! compilation changes a program's behaviour.
//!
//! The reference is a run with `--no-traces` (stdout, stderr, exit status
//! or signal). A run with traces that differs lists the traces it installed
//! (the hidden `--trace-log`); their heads are narrowed by halves with
//! `--trace-range` until one head is left, then the trace's length with
//! `--trace-max-blocks` until its last block is the one that makes the
//! difference. The trace's dumps (`-d trace`) are printed at the end.
//! Traced runs compile synchronously (`--trace-sync`: a thread whose branch
//! gets hot waits for the trace), so that a trace is installed before its
//! loop is over whatever the machine's load; a run that shows no
//! difference is still tried again before it counts as good (threads
//! race). Every run has the personality ADDR_NO_RANDOMIZE (as under gdb),
//! so that the guest's code sits at the same addresses each time.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tern_translate::clock::Instant;

/// What a run showed.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Exit status, or 128 + signal, or -1 for a timeout.
    status: i32,
}

/// Runs of one configuration before it counts as behaving like the
/// reference.
const TRIES: usize = 3;

struct Bisect {
    tern: PathBuf,
    /// tern options given before `--`.
    opts: Vec<OsString>,
    program: Vec<OsString>,
    reference: Outcome,
    timeout: Duration,
    dir: PathBuf,
    runs: usize,
}

fn usage() -> i32 {
    eprintln!("usage: tern bisect [TERN OPTIONS] -- PROGRAM [ARGS...]");
    2
}

/// Entry point: `args` follow `bisect`. Returns the process's exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let Some(dash) = args.iter().position(|a| a == "--") else { return usage() };
    let (opts, program) = (args[..dash].to_vec(), args[dash + 1..].to_vec());
    if program.is_empty() {
        return usage();
    }
    let tern = std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into());
    let dir = std::env::temp_dir().join(format!("tern-bisect-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("tern bisect: cannot create {}: {e}", dir.display());
        return 1;
    }
    let mut b = Bisect {
        tern,
        opts,
        program,
        reference: Outcome { stdout: Vec::new(), stderr: Vec::new(), status: 0 },
        timeout: Duration::from_secs(3600),
        dir,
        runs: 0,
    };
    let r = b.run_all();
    let _ = std::fs::remove_dir_all(&b.dir);
    r
}

impl Bisect {
    fn run_all(&mut self) -> i32 {
        let t0 = Instant::now();
        self.reference = self.run(&["--no-traces".into()]);
        // A hung trace shows as a timeout: ten times the reference, at
        // least two seconds.
        self.timeout = (t0.elapsed() * 10).max(Duration::from_secs(2));
        eprintln!("tern bisect: reference run (no traces): status {}", self.reference.status);
        let log = self.dir.join("traces.log");
        let mut heads = Vec::new();
        let mut differs = false;
        for _ in 0..TRIES {
            let _ = std::fs::remove_file(&log);
            let o = self.run(&["--trace-log".into(), log.clone().into()]);
            if o != self.reference {
                differs = true;
                heads = read_heads(&log);
                break;
            }
        }
        if !differs {
            println!("tern bisect: no difference with traces in {TRIES} runs");
            return 0;
        }
        eprintln!("tern bisect: traces change the behaviour; {} trace heads to narrow", heads.len());
        let mut set = heads;
        while set.len() > 1 {
            let (a, b) = set.split_at(set.len() / 2);
            if self.differs_with(&range_opts(a, None)) {
                set = a.to_vec();
            } else if self.differs_with(&range_opts(b, None)) {
                set = b.to_vec();
            } else {
                println!(
                    "tern bisect: no single trace: the difference needs traces at heads in both {} and {}",
                    names(a),
                    names(b)
                );
                return 1;
            }
            eprintln!("tern bisect: {} heads left", set.len());
        }
        let Some(&head) = set.first() else {
            println!("tern bisect: the runs with traces differ, but installed no trace (nondeterministic program?)");
            return 1;
        };
        if !self.differs_with(&range_opts(&set, None)) {
            println!("tern bisect: the trace at {head:#x} alone does not reproduce the difference");
            return 1;
        }
        // The shortest prefix of the trace that still differs: its last
        // block holds the miscompiled code.
        let max = self.max_blocks();
        let (mut lo, mut hi) = (1u32, max);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.differs_with(&range_opts(&set, Some(mid))) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let dump = self.dump(head, lo);
        let block = block_of(&dump, lo);
        println!("tern bisect: the trace at head {head:#x} changes the behaviour ({} runs)", self.runs);
        match block {
            Some(pc) => println!("tern bisect: its block {lo} (guest {pc:#x}) makes the difference"),
            None => println!("tern bisect: with its first {lo} blocks"),
        }
        println!("{dump}");
        1
    }

    /// `--trace-max-blocks` as given, else the default.
    fn max_blocks(&self) -> u32 {
        let mut it = self.opts.iter();
        while let Some(o) = it.next() {
            if o == "--trace-max-blocks" {
                if let Some(v) = it.next().and_then(|v| v.to_str()).and_then(|v| v.parse().ok()) {
                    return v;
                }
            }
        }
        16
    }

    /// True if a run with `extra` options differs from the reference (in
    /// any of a few tries).
    fn differs_with(&mut self, extra: &[OsString]) -> bool {
        (0..TRIES).any(|_| self.run(extra) != self.reference)
    }

    /// The dumps of the trace at `head` cut to `blocks` blocks.
    fn dump(&mut self, head: u64, blocks: u32) -> String {
        let log = self.dir.join("dump.log");
        let mut extra = range_opts(&[head], Some(blocks));
        extra.extend(["-d".into(), "trace".into(), "-D".into(), log.clone().into()]);
        self.run(&extra);
        std::fs::read_to_string(&log).unwrap_or_default()
    }

    /// Runs the program under tern with the user's options and `extra`.
    fn run(&mut self, extra: &[OsString]) -> Outcome {
        self.runs += 1;
        let mut cmd = Command::new(&self.tern);
        cmd.args(&self.opts).args(extra);
        if !extra.iter().any(|o| o == "--no-traces") {
            cmd.args(["--traces", "--trace-sync"]);
        }
        cmd.arg("--").args(&self.program);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // The guest's addresses the same in every run (as gdb runs a
        // program), so that a trace range names the same code each time.
        // SAFETY: personality is a plain system call, safe between fork
        // and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                const ADDR_NO_RANDOMIZE: libc::c_ulong = 0x0040000;
                let now = libc::personality(0xffff_ffff);
                if now != -1 {
                    libc::personality(now as libc::c_ulong | ADDR_NO_RANDOMIZE);
                }
                Ok(())
            })
        };
        let Ok(mut child) = cmd.spawn() else {
            return Outcome { stdout: Vec::new(), stderr: b"cannot start tern".to_vec(), status: -2 };
        };
        let (out, err) = (read_all(child.stdout.take()), read_all(child.stderr.take()));
        let t0 = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break status_code(s),
                Ok(None) if t0.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break -1;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => break -2,
            }
        };
        Outcome { stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default(), status }
    }
}

/// Reads `p` to its end on a thread of its own.
fn read_all<R: std::io::Read + Send + 'static>(p: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(mut p) = p {
            let _ = p.read_to_end(&mut v);
        }
        v
    })
}

fn status_code(s: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
}

/// The heads of the traces a `--trace-log` lists, sorted, once each.
fn read_heads(log: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut v: Vec<u64> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|h| u64::from_str_radix(h, 16).ok())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Options restricting traces to the heads `set` (sorted; a range from
/// the first to just past the last), cut to `blocks` blocks.
fn range_opts(set: &[u64], blocks: Option<u32>) -> Vec<OsString> {
    let (lo, hi) = (set[0], set[set.len() - 1] + 1);
    let mut v: Vec<OsString> = vec!["--trace-range".into(), format!("{lo:x}-{hi:x}").into()];
    if let Some(b) = blocks {
        v.extend(["--trace-max-blocks".into(), b.to_string().into()]);
    }
    v
}

fn names(set: &[u64]) -> String {
    let v: Vec<String> = set.iter().map(|h| format!("{h:#x}")).collect();
    v.join(" ")
}

/// The guest start of block `n` (1-based) in a trace dump: the n-th
/// `block START..END` line.
fn block_of(dump: &str, n: u32) -> Option<u64> {
    let line = dump.lines().filter(|l| l.trim_start().starts_with("block ")).nth(n as usize - 1)?;
    let start = line.trim_start().strip_prefix("block ")?.split("..").next()?;
    u64::from_str_radix(start.trim_start_matches("0x"), 16).ok()
}
