//! Memory per extra guest thread: `benches/kernels/mem_threads.c` starts
//! idle threads and reports the growth of the resident set per thread,
//! natively and under tern; tern's own share (its `CpuState` with the
//! lookup table, host stack, alternate signal stack, signal queue) must
//! stay within 256 KiB per thread (issue 11), also when another thread
//! keeps invalidating code and a small code cache keeps being flushed
//! (neither may make the idle threads' lookup tables resident).
//! `cargo nextest run --release -p tern --test thread_memory
//! --no-capture` prints the figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use tern_tests::{build_source, cache_dir, Build};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// tern's allowance per guest thread beyond native, in KiB.
const MAX_EXTRA_KIB: f64 = 256.0;

fn kernel() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/kernels/mem_threads.c");
    build_source(&cache_dir(), &src, &Build { static_: false, opt: "-O2", cxx: false })
}

/// Runs `prefix... bin args...` and returns its per-thread growth in KiB.
fn per_thread(prefix: &[&str], bin: &Path, args: &[&str]) -> f64 {
    let (cmd, rest) = match prefix.split_first() {
        Some((c, rest)) => (*c, rest),
        None => (bin.to_str().expect("utf-8 path"), &[][..]),
    };
    let mut c = Command::new(cmd);
    c.args(rest);
    if !prefix.is_empty() {
        c.arg(bin);
    }
    let out = c.args(args).output().expect("run mem_threads");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{prefix:?} {args:?}: {:?}\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text.split_whitespace()
        .skip_while(|w| *w != "per_thread_kib")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no per_thread_kib in {text}"))
}

fn check(tern_options: &[&str], args: &[&str]) {
    let bin = kernel();
    let native = per_thread(&[], &bin, args);
    let mut prefix = vec![TERN];
    prefix.extend_from_slice(tern_options);
    let tern = per_thread(&prefix, &bin, args);
    let extra = tern - native;
    eprintln!("mem_threads {args:?} {tern_options:?}: native {native:.1} KiB/thread, tern {tern:.1}, tern's own {extra:.1}");
    assert!(
        extra <= MAX_EXTRA_KIB,
        "tern {tern_options:?} {args:?}: {extra:.1} KiB per thread beyond native"
    );
}

#[test]
fn idle_threads_cost_little_beyond_native() {
    check(&[], &["128"]);
}

#[test]
fn invalidations_leave_idle_threads_tables_alone() {
    check(&[], &["64", "4096"]);
}

#[test]
fn flushes_leave_idle_threads_tables_alone() {
    check(&["--cache-size", "1"], &["64", "20000"]);
}
