//! End-to-end run of the harness on one tiny workload. Needs a tern binary:
//! `TERN_BIN` if set, else the `tern` that the same cargo build put next to
//! this test (a workspace build makes it: `cargo nextest run --workspace`).
//! Without one the test fails. `linux-user/tests/bench_smoke.rs` runs the
//! same with the tern that cargo builds for it.

use std::path::PathBuf;

use tern_benches::{smoke, ConfigId, Results};

/// `TERN_BIN`, else `target/<profile>/tern` beside `target/<profile>/deps/`
/// where this test runs from.
fn tern_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("TERN_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps/<test>");
    profile_dir.join("tern")
}

#[test]
fn tiny_suite_writes_the_report() {
    let tern = tern_binary();
    assert!(
        tern.is_file(),
        "no tern binary at {}: build it (cargo build --release -p tern) or set TERN_BIN",
        tern.display()
    );
    let dir = std::env::temp_dir().join(format!("tern-benches-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let results = smoke::run(&tern, &dir).expect("running the smoke suite");
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(report.contains(&format!("| {} |", smoke::WORKLOAD)), "{report}");
    let svg = std::fs::read_to_string(dir.join("ratios.svg")).expect("ratios.svg");
    assert!(svg.contains("<svg") && svg.contains(smoke::WORKLOAD));
    let reloaded = Results::load(&dir.join("results.json")).expect("results.json");
    assert_eq!(reloaded.workloads.len(), 1);
    let w = &results.workloads[0];
    for config in [ConfigId::Native, ConfigId::Tern] {
        let runs = w.config(config).expect("configuration ran");
        assert!(runs.failure.is_none(), "{config:?} failed: {:?}", runs.failure);
        assert_eq!(runs.samples.len(), 1);
    }
    assert!(w.tern_stats.as_ref().is_some_and(|s| !s.counters.is_empty()), "no tern counters");
    std::fs::remove_dir_all(&dir).unwrap();
}
