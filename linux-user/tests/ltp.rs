//! The `tests/ltp` conformance suite (crate `tern-ltp`): one test per
//! scenario in `tests/ltp/scenarios/`, run natively and under the tern
//! binary, verdicts compared; see `tern_ltp::check`.

use std::path::Path;

fn check(name: &str) {
    tern_ltp::check(Path::new(env!("CARGO_BIN_EXE_tern")), name);
}

tern_ltp::scenario_tests!(check);

/// Every entry of the expected-to-differ table names a scenario.
#[test]
fn expected_differ_table_names_scenarios() {
    let stale: Vec<String> = tern_ltp::expected::table()
        .into_keys()
        .filter(|n| !tern_ltp::SCENARIOS.contains(&n.as_str()))
        .collect();
    assert!(
        stale.is_empty(),
        "{} lists no such scenario: {stale:?}",
        tern_ltp::expected::table_path().display()
    );
}
