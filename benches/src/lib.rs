//! tern's benchmark suite as a library, so that tests can drive it.
//!
//! [`run_suite`] runs the workload table ([`workloads`]) under each
//! configuration ([`config`]) and returns raw [`results::Results`];
//! [`write_report`] renders them as `report.md`, `ratios.svg` and
//! `results.json`. The `tern-bench` binary is a thin command line over these;
//! `benches/run` builds everything and calls it. See `benches/README.md`.

pub mod chart;
pub mod clock;
pub mod config;
pub mod inputs;
pub mod kernels;
pub mod machine;
pub mod report;
pub mod results;
pub mod run;
pub mod smoke;
pub mod stats;
pub mod suite;
pub mod summary;
pub mod workloads;

pub use config::ConfigId;
pub use report::write_report;
pub use results::Results;
pub use suite::{run_suite, Options};
