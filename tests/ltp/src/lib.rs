//! The `tests/ltp` conformance suite: signal (and blocking-syscall)
//! behaviour checked the way LTP checks it, one small C program per
//! scenario in `tests/ltp/scenarios/`, each printing one `PASS`/`FAIL`/`CONF`
//! line per check (`scenarios/tst.h`) and exiting 0 (pass), 1 (fail),
//! 2 (broken) or 32 (not applicable).
//!
//! [`check`] builds a scenario with gcc, runs it natively (the oracle: it
//! must pass or be CONF there) and under tern, each with a timeout and in
//! its own process group, and requires the same stdout and exit status.
//! Scenarios that tern is known to get wrong today are listed with their
//! reason in `tests/ltp/expected-differ.txt` ([`expected`]); one of them
//! that starts matching fails its test until its entry is removed.
//!
//! The scenarios are discovered by `build.rs`: [`SCENARIOS`] lists them and
//! [`scenario_tests!`] expands to one `#[test]` per scenario (used by
//! `linux-user/tests/ltp.rs`, which knows where the tern binary is).

mod check;
pub mod expected;
pub mod real;
mod run;
mod scenario;

pub use check::{check, native_defect, verdict_difference};
pub use run::{run_grouped, timeout};
pub use scenario::{scenario_dir, scenario_source, Scenario};

include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));
