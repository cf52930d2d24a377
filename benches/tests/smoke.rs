//! End-to-end run of the harness on one tiny workload. Needs a tern binary:
//! set TERN_BIN (e.g. `TERN_BIN=target/release/tern cargo test -p tern-benches`);
//! skipped when it is unset. `linux-user/tests/bench_smoke.rs` runs the same
//! with the tern that cargo builds.

use std::path::PathBuf;

use tern_benches::{smoke, ConfigId, Results};

#[test]
fn tiny_suite_writes_the_report() {
    let Some(tern) = std::env::var_os("TERN_BIN") else {
        eprintln!("skipped: set TERN_BIN to a tern binary to run the harness end to end");
        return;
    };
    let dir = std::env::temp_dir().join(format!("tern-benches-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let results = smoke::run(&PathBuf::from(tern), &dir).expect("running the smoke suite");
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
