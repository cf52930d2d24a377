//! Smoke test of the benchmark harness (`benches/`, crate tern-benches): one
//! tiny C kernel under native and this build's tern, one repetition, into a
//! temporary directory; the report files must exist and hold the workload.

use std::fs;
use std::path::Path;

use tern_benches::{smoke, ConfigId, Results};

#[test]
fn bench_harness_writes_a_report() {
    let dir = std::env::temp_dir().join(format!("tern-bench-smoke-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let results =
        smoke::run(Path::new(env!("CARGO_BIN_EXE_tern")), &dir).expect("running the benchmark harness");

    let report = fs::read_to_string(dir.join("report.md")).expect("report.md written");
    assert!(report.contains(&format!("| {} |", smoke::WORKLOAD)), "no workload row in report.md:\n{report}");
    let svg = fs::read_to_string(dir.join("ratios.svg")).expect("ratios.svg written");
    assert!(svg.contains("<svg") && svg.contains(smoke::WORKLOAD), "chart lacks the workload");
    let saved = Results::load(&dir.join("results.json")).expect("results.json written");
    assert_eq!(saved.workloads.len(), 1);

    let w = &results.workloads[0];
    for config in [ConfigId::Native, ConfigId::Tern] {
        let runs = w.config(config).expect("configuration was run");
        assert!(runs.failure.is_none(), "{} failed: {:?}", config.name(), runs.failure);
        assert_eq!(runs.samples.len(), 1);
    }
    assert!(w.tern_stats.as_ref().is_some_and(|s| !s.counters.is_empty()), "no `tern --stats` counters");
    fs::remove_dir_all(&dir).expect("removing the temporary directory");
}
