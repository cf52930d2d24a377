//! Raw results: what was run and every sample, saved as `results.json` so a
//! report can be re-rendered (`tern-bench --render results.json`).

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::ConfigId;
use crate::workloads::Group;

/// A whole suite run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    pub meta: Meta,
    pub workloads: Vec<WorkloadResult>,
}

/// When, where and how the suite ran.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    /// Start time, UTC, `YYYY-MM-DD HH:MM:SS`.
    pub started_utc: String,
    /// Wall time of the whole suite in seconds.
    pub duration_s: f64,
    /// `quick` or `full`.
    pub mode: String,
    pub reps: usize,
    pub configs: Vec<ConfigId>,
    pub machine: Machine,
}

/// The host and tool versions.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cores: usize,
    pub kernel: String,
    pub os: String,
    /// (tool, first line of its version output); "not found" when missing.
    pub versions: Vec<(String, String)>,
}

/// How a workload's value is to be read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum MetricKind {
    /// Seconds per run; lower is better.
    Time,
    /// Seconds per program start (mean of `starts` back-to-back starts).
    PerStart { starts: u64 },
    /// A rate in `unit` reported by the program; higher is better.
    Rate { unit: String },
}

/// One workload under every configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WorkloadResult {
    pub name: String,
    pub group: Group,
    pub about: String,
    /// The native command line (emulators put their prefix in front).
    pub command: String,
    /// The size used.
    pub n: u64,
    pub metric: MetricKind,
    pub runs: Vec<ConfigRuns>,
    /// The untimed `tern --stats` run, when tern was among the configurations.
    pub tern_stats: Option<StatsRun>,
}

impl WorkloadResult {
    /// The runs under `config`, if it was selected.
    pub fn config(&self, config: ConfigId) -> Option<&ConfigRuns> {
        self.runs.iter().find(|r| r.config == config)
    }
}

/// One configuration's samples for a workload. Once a run fails, the
/// remaining repetitions under that configuration are skipped.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConfigRuns {
    pub config: ConfigId,
    pub samples: Vec<Sample>,
    pub failure: Option<Failure>,
}

/// One successful timed run.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds (time metrics) or the rate (rate metrics).
    pub value: f64,
    /// Wall time of the run in seconds.
    pub wall_s: f64,
    /// Peak RSS in KiB.
    pub maxrss_kib: u64,
}

/// Why a configuration failed on a workload.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Failure {
    /// Short: `exit 1`, `signal 11 (SIGSEGV)`, `timeout (60 s)`, `output differs`, ...
    pub kind: String,
    /// The first lines of stderr, or what differed.
    pub detail: String,
}

/// The `tern --stats` run of a workload.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StatsRun {
    pub counters: Vec<(String, f64)>,
    /// Set when the run did not end normally (its counters may be missing).
    pub note: Option<String>,
}

impl Results {
    /// Writes `results.json` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join("results.json");
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))
    }

    /// Reads a `results.json`.
    pub fn load(path: &Path) -> Result<Results> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}
