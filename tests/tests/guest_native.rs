//! Every guest program, in every build, natively: it must compile, run to
//! the same outcome twice (determinism), and give the same output when
//! glibc is told to use only baseline CPU features, as tern's CPU model may
//! lack some of the host's. With `TERN_BIN` set, each build is also run
//! under that emulator and compared with the native run.
//!
//! Prints the total native run time (one run per build) at the end.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tern_tests::{
    build, difference, run_native, run_under, skip_without_compiler, Build, GuestProgram, PROGRAMS,
};

/// Disables the optional CPU features glibc would pick string and maths
/// routines for, leaving the x86-64 baseline (SSE2).
const BASELINE_TUNABLES: &str = "glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512VL,-AVX512BW,\
-FMA,-FMA4,-SSE4_1,-SSE4_2,-SSSE3,-POPCNT,-BMI1,-BMI2,-LZCNT,-MOVBE,-ERMS,-FSRM,-EVEX";

struct Job {
    program: &'static GuestProgram,
    build: Build,
}

fn check(job: &Job, tern: Option<&PathBuf>) -> Result<Duration, String> {
    let p = job.program;
    let name = format!("{} [{}]", p.src, job.build);
    let bin = build(p.src, &job.build);
    let first = run_native(&bin, p.args, p.stdin, p.env);
    let second = run_native(&bin, p.args, p.stdin, p.env);
    if let Some(d) = difference(&first, &second) {
        return Err(format!("{name}: not deterministic\n{d}"));
    }
    // argv_env prints its environment, which the tunable changes.
    if p.src != "argv_env.c" {
        let mut env = p.env.to_vec();
        env.push(("GLIBC_TUNABLES", BASELINE_TUNABLES));
        let baseline = run_native(&bin, p.args, p.stdin, &env);
        if let Some(d) = difference(&first, &baseline) {
            return Err(format!("{name}: output depends on the CPU features glibc uses\n{d}"));
        }
    }
    if let Some(tern) = tern {
        let emulated = run_under(tern, &bin, p.args, p.stdin, p.env);
        if let Some(d) = difference(&first, &emulated) {
            return Err(format!("{name}: tern differs from native\n{d}"));
        }
    }
    Ok(first.elapsed)
}

#[test]
fn every_program_builds_and_is_deterministic() {
    if skip_without_compiler(false) || skip_without_compiler(true) {
        return;
    }
    let tern = std::env::var_os("TERN_BIN").map(PathBuf::from);
    let jobs: Vec<Job> = PROGRAMS
        .iter()
        .flat_map(|program| Build::all_for(program.src).into_iter().map(move |build| Job { program, build }))
        .collect();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let times = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                match std::panic::catch_unwind(|| check(job, tern.as_ref())) {
                    Ok(Ok(t)) => times.lock().unwrap().push((t, job.program.src, job.build)),
                    Ok(Err(msg)) => failures.lock().unwrap().push(msg),
                    Err(_) => failures
                        .lock()
                        .unwrap()
                        .push(format!("{} [{}]: panicked", job.program.src, job.build)),
                }
            });
        }
    });
    let mut times = times.into_inner().unwrap();
    times.sort_by_key(|t| std::cmp::Reverse(t.0));
    let total: Duration = times.iter().map(|t| t.0).sum();
    println!("{} builds, total native run time {:.2} s; slowest:", times.len(), total.as_secs_f64());
    for (t, src, b) in times.iter().take(8) {
        println!("  {:7.3} s  {src} [{b}]", t.as_secs_f64());
    }
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n\n"));
}
