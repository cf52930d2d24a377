//! Translation by several threads at once (`translate::Jit::translate`
//! builds blocks without the translation lock) and the translator's
//! recovery from a vfork or CLONE_VM child killed while translating.
//!
//! - `tests/guest/jit_stress.c`: threads generating and running many
//!   distinct functions while another thread invalidates code of its own
//!   (self-modifying code, `mprotect`, `munmap`); also in a small code
//!   cache, so that flushes happen while blocks are being emitted outside
//!   the lock. Output equals native, nothing hangs (the harness timeout).
//! - `tests/guest/jit_kill_child.c`: a vfork or CLONE_VM child that keeps
//!   translating new code is SIGKILLed, then the parent translates on
//!   (before: the parent hung on the lock, or on glibc's arena lock, that
//!   the dead child held).
//! - `translation_figures`: wall times of 1 and 2 translating threads
//!   (printed, never asserted: run with `--nocapture` to see them).

// The harness times runs from its own threads, not guest threads.
#![allow(clippy::disallowed_methods)]

use std::process::Command;
use std::time::{Duration, Instant};
use tern_tests::{compare, run_command, run_native, Build};

const TERN: &str = env!("CARGO_BIN_EXE_tern");
const STATIC: Build = Build { static_: true, opt: "-O2", cxx: false };

/// Runs `bin args` natively and under `tern opts...` and compares.
fn check(src: &str, opts: &[&str], args: &[&str]) {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = tern_tests::build(src, &STATIC);
    let native = run_native(&bin, args, b"", &[]);
    assert_eq!(native.status, tern_tests::ExitStatusDesc::Exited(0), "native run failed: {native:?}");
    let mut cmd = Command::new(TERN);
    cmd.args(opts).arg(&bin).args(args);
    let tern = run_command(cmd, b"", &[], tern_tests::timeout());
    if let Err(report) = compare(&format!("{src} {opts:?} {args:?}"), &native, &tern) {
        panic!("{report}");
    }
}

#[test]
fn threads_translate_while_code_is_invalidated() {
    check("jit_stress.c", &[], &["4", "1500"]);
}

#[test]
fn threads_translate_while_the_small_cache_is_flushed() {
    check("jit_stress.c", &["--cache-size", "2"], &["4", "1500"]);
}

#[test]
fn killed_vfork_child_leaves_the_translator_usable() {
    check("jit_kill_child.c", &[], &["vfork", "30"]);
}

#[test]
fn killed_clone_vm_child_leaves_the_translator_usable() {
    check("jit_kill_child.c", &[], &["clonevm", "30"]);
}

/// Median wall time of three runs of `tern bin args`, checked for success.
fn time_tern(bin: &std::path::Path, args: &[&str]) -> Duration {
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let t0 = Instant::now();
            let out = Command::new(TERN).arg(bin).args(args).output().expect("run tern");
            assert!(out.status.success(), "tern {args:?}: {out:?}");
            t0.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}

/// Figures only: the same number of freshly generated functions
/// translated by one thread, then split between two. With translation
/// outside the lock the two-thread run takes less wall time on a
/// multi-core host; the ratio is printed, not asserted (a loaded machine
/// would make any bound flaky).
#[test]
fn translation_figures() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = tern_tests::build("jit_stress.c", &STATIC);
    let one = time_tern(&bin, &["1", "8000", "bulk"]);
    let two = time_tern(&bin, &["2", "4000", "bulk"]);
    println!(
        "8,000 fresh functions: 1 thread {:.1} ms, 2 threads {:.1} ms ({:.2}x)",
        one.as_secs_f64() * 1e3,
        two.as_secs_f64() * 1e3,
        one.as_secs_f64() / two.as_secs_f64()
    );
}
