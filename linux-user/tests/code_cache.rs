//! Code memory reclamation: a guest that keeps generating code (as a JIT
//! does, `tests/guest/code_churn.c`) runs under a tiny `--cache-size` with
//! the output of its native run, `--stats` shows that the cache was flushed
//! many times, and the peak RSS of tern stays far below what the code it
//! translated would take if it were never freed. A flush also reaches a
//! vfork or CLONE_VM child spinning in generated code on the same memory
//! (it is kicked out, as threads are, instead of being waited for).
//! The executable view sits just above the guest's libraries, so their
//! RIP-relative operands need no glue. Lookup tables keep the entries they
//! evict, and forget them when their code changes.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use tern_tests::{run_native, stats_counter, Build};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// Peak RSS allowed for tern, in KiB: the 2 MiB cache, tern's own tables
/// and the guest's. Without flushes the 4-thread run translates over
/// 200 MiB of host code.
const MAX_RSS_KIB: i64 = 96 << 10;

/// Seconds a run may take (a few under tern when nothing hangs).
const TIMEOUT: &str = "120";

/// Runs `tern --cache-size 2 --stats bin args...` and returns stdout,
/// stderr, the exit status and the peak RSS (KiB) from `wait4`.
fn run_small_cache(bin: &Path, args: &[&str]) -> (Vec<u8>, String, i32, i64) {
    // Reaped by the wait4 below, which also gives the peak RSS.
    #[allow(clippy::zombie_processes)]
    // A flush that waits for a thread it cannot stop hangs: killed after
    // TIMEOUT, the run fails with SIGKILL's status.
    let mut child = Command::new("timeout")
        .args(["--signal=KILL", TIMEOUT, TERN, "--cache-size", "2", "--stats"])
        .arg(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tern");
    let (mut out, mut err) = (Vec::new(), String::new());
    // The outputs are a few lines: read them to the end, then reap.
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data filled by wait4 for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on the child we spawned and have not reaped.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(r, child.id() as i32, "wait4");
    (out, err, status, ru.ru_maxrss)
}

fn check(args: &[&str], min_flushes: u64) {
    let bin = tern_tests::build("code_churn.c", &Build { static_: true, opt: "-O2", cxx: false });
    let native = run_native(&bin, args, b"", &[]);
    assert_eq!(native.status, tern_tests::ExitStatusDesc::Exited(0), "native run failed: {native:?}");
    let (out, err, status, rss) = run_small_cache(&bin, args);
    assert_eq!(status, 0, "tern {args:?}: status {status:#x}, stderr:\n{err}");
    assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&native.stdout), "tern {args:?}");
    let n = stats_counter(&err, "code cache flushes");
    assert!(n >= min_flushes, "tern {args:?}: only {n} flushes:\n{err}");
    assert!(rss < MAX_RSS_KIB, "tern {args:?}: peak RSS {rss} KiB");
}

#[test]
fn one_thread_churning_code_runs_in_a_small_cache() {
    check(&["1", "20000"], 5);
}

#[test]
fn four_threads_churning_code_run_in_a_small_cache() {
    check(&["4", "8000"], 10);
}

#[test]
fn code_rewritten_in_place_runs_in_a_small_cache() {
    check(&["2", "6000", "rwx"], 3);
}

#[test]
fn flush_kicks_a_spinning_vfork_child() {
    check(&["2", "8000", "vfork"], 5);
}

#[test]
fn flush_kicks_a_spinning_clone_vm_child() {
    check(&["2", "8000", "clonevm"], 5);
}

/// The code cache's executable view is placed before the guest's libraries
/// are mapped, where the kernel puts fresh mappings, so libc's and libm's
/// RIP-relative operands are re-encoded with a `disp32`: only the PIE main
/// program's (at 0x55...) need a scratch register and a `mov r, imm64`
/// around them. With the view in tern's far region, over a thousand of
/// this program's operands did.
#[test]
fn shared_libraries_are_in_reach_of_their_code() {
    let err = stats_of_native_equal_run("printf_float.c", false);
    let (blocks, glue) = (stats_counter(&err, "blocks translated"), stats_counter(&err, "rip-relative glue"));
    assert!(blocks > 1000, "too few blocks to judge:\n{err}");
    assert!(glue < blocks / 20, "{glue} RIP-relative operands given glue in {blocks} blocks:\n{err}");
}

/// A program with more indirect-branch targets than the lookup table's
/// first half keeps apart (`tests/guest/many_targets.c`) keeps what its
/// lookups evict in the victim half, and every target rewritten or
/// remapped runs its new code there too: the output equals the native
/// run's, and `--stats` shows that victims were kept (the test would
/// otherwise prove nothing about them).
#[test]
fn lookups_keep_what_they_evict_and_forget_it_when_code_changes() {
    let err = stats_of_native_equal_run("many_targets.c", true);
    assert!(stats_counter(&err, "lookup victims kept") > 1000, "few victims kept:\n{err}");
}

/// Builds guest program `src` (`-O2`, static or not), runs it natively
/// and under `tern --no-code-cache --stats`, checks that the outputs are
/// the same, and returns tern's log (the counters).
fn stats_of_native_equal_run(src: &str, static_: bool) -> String {
    let bin = tern_tests::build(src, &Build { static_, opt: "-O2", cxx: false });
    let native = run_native(&bin, &[], b"", &[]);
    let out = Command::new(TERN).args(["--no-code-cache", "--stats"]).arg(&bin).output().expect("run tern");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&native.stdout), "{err}");
    err
}

/// A process that ends by `exit_group` while its other threads are blocked
/// in read, futex wait and nanosleep or busy in a loop
/// (`tests/guest/threads_exit_group.c`, from `main`, from another thread,
/// or ended by a SIGSEGV tern delivers) keeps its translations: the other threads are stopped for good
/// first (`tern_signals::exit_park`), then the cache is written, so the
/// next run reuses nearly every block. Each run prints and exits as the
/// native one. Before, a multithreaded program never wrote the cache (a
/// warm rustc translated its 200,000 blocks again at every run).
#[test]
fn exit_group_with_other_threads_running_keeps_translations() {
    let bin = tern_tests::build("threads_exit_group.c", &Build { static_: false, opt: "-O2", cxx: false });
    for mode in ["exit", "thread", "signal"] {
        let dir = std::env::temp_dir().join(format!("tern-exit-park-{mode}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Blocks translated and reused, from `--stats` (not printed by a
        // process a signal ends).
        let run = |mode: &str| {
            let native = run_native(&bin, &[mode], b"", &[]);
            let out = Command::new(TERN)
                .arg("--code-cache")
                .arg(&dir)
                .arg("--stats")
                .arg(&bin)
                .arg(mode)
                .output()
                .expect("run tern");
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&native.stdout),
                "{mode}: {err}"
            );
            assert_eq!(tern_tests::ExitStatusDesc::from(out.status), native.status, "{mode}: {err}");
            err.contains("blocks translated")
                .then(|| (stats_counter(&err, "blocks translated"), stats_counter(&err, "of which reused")))
        };
        run(mode);
        // The same path again; after the signal's end, `main`'s exit,
        // which shares all but its last steps.
        let again = if mode == "signal" { "exit" } else { mode };
        let (blocks, reused) = run(again).expect("--stats");
        let min = if mode == "signal" { 8 } else { 9 };
        assert!(reused * 10 >= blocks * min, "{mode}: {reused} of {blocks} blocks reused");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
