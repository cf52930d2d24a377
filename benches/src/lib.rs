//! tern's benchmark suite as a library, so that tests can drive it.
//!
//! [`run_into`] runs the workload table ([`workloads`]) under each
//! configuration ([`config`]) with the [`settings`] resolved from
//! [`Options`], saving the raw [`results::Results`] and the report
//! (`results.json`, `report.md`, `ratios.svg`, see [`write_report`]) after
//! every workload; [`resume`] continues such a run after it was cut off
//! ([`session`]). The `tern-bench` binary is a thin command line over these;
//! `benches/run` builds everything and calls it. See `benches/README.md`.

pub mod atomic;
pub mod ceiling;
pub mod chart;
pub mod clock;
pub mod config;
pub mod inputs;
pub mod kernels;
pub mod machine;
pub mod report;
pub mod results;
pub mod run;
pub mod scaling;
pub mod session;
pub mod settings;
pub mod smoke;
pub mod stats;
pub mod status;
pub mod suite;
pub mod summary;
pub mod trace_tier;
pub mod workloads;

pub use config::ConfigId;
pub use report::write_report;
pub use results::Results;
pub use session::{resume, run_into, run_suite};
pub use settings::Settings;
pub use suite::Options;
