//! A tiny end-to-end run of the harness for smoke tests: one small C kernel
//! under native and tern, one repetition, everything (cache included) in a
//! given directory.

use std::path::Path;

use anyhow::Result;

use crate::{run_into, ConfigId, Options, Results};

/// The workload the smoke run uses.
pub const WORKLOAD: &str = "sort-static";

/// Options of the smoke run: [`WORKLOAD`] at size 2000, native and tern,
/// 1 repetition, cache in `dir/cache`, no progress output.
pub fn options(tern: &Path, dir: &Path) -> Options {
    let mut opts = Options::new(tern.to_path_buf());
    opts.quick = true;
    opts.workloads = vec![WORKLOAD.to_string()];
    opts.configs = Some(vec![ConfigId::Native, ConfigId::Tern]);
    opts.reps = Some(1);
    opts.size = Some(2000);
    opts.cache = dir.join("cache");
    opts.progress = false;
    opts
}

/// Runs the smoke suite with tern binary `tern` and writes its report
/// (`report.md`, `ratios.svg`, `results.json`) into `dir`, which must not
/// hold a `results.json` yet.
pub fn run(tern: &Path, dir: &Path) -> Result<Results> {
    run_into(&options(tern, dir), dir)
}
