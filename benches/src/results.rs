//! Raw results: what was run and every sample, saved as `results.json` (after
//! every workload, so that a run cut off midway can be resumed) and read back
//! to re-render a report (`tern-bench --render results.json`).

use std::fmt;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::atomic;
use crate::config::ConfigId;
use crate::settings::{Planned, Settings};
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
    /// Start time of the first session, UTC, `YYYY-MM-DD HH:MM:SS`.
    pub started_utc: String,
    /// Wall time in seconds spent measuring, summed over sessions (up to
    /// the last workload each finished).
    pub duration_s: f64,
    /// Mode, repetitions, configurations, workload plan, ...
    #[serde(flatten)]
    pub settings: Settings,
    /// The machine as the first session found it.
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
    #[serde(default)]
    pub tern_stats: Option<StatsRun>,
    /// The untimed `tern --traces --stats` run, when tern-traces was among
    /// the configurations (absent in older results).
    #[serde(default)]
    pub tern_trace_stats: Option<StatsRun>,
    /// When and with which tern it was measured (absent in older results).
    #[serde(default)]
    pub measured: Option<Measured>,
}

/// When and with which tern a workload was measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// The session: 1 for the run that started the results, one more for
    /// each `--resume`.
    pub session: u32,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub started_utc: String,
    pub finished_utc: String,
    pub tern: TernBuild,
}

/// Which tern binary ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TernBuild {
    /// The first line of `tern --version`.
    pub version: String,
    /// `git rev-parse --short HEAD` of the harness's source tree, if it is a
    /// git checkout.
    pub commit: Option<String>,
    /// The FNV-1a hash of the binary in hex: tells rebuilds apart.
    pub binary_fnv1a: String,
}

impl fmt::Display for TernBuild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.version)?;
        if let Some(commit) = &self.commit {
            write!(f, ", commit {commit}")?;
        }
        write!(f, ", binary FNV-1a {}", self.binary_fnv1a)
    }
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
    /// CPU time of the run (user plus system, every thread and reaped
    /// child) in seconds; 0 in results written before it was recorded.
    #[serde(default)]
    pub cpu_s: f64,
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

impl StatsRun {
    /// The counter labelled `label` (see [`crate::stats::parse`] for how
    /// units enter labels), if the run printed it.
    pub fn get(&self, label: &str) -> Option<f64> {
        self.counters.iter().find(|(l, _)| l == label).map(|&(_, v)| v)
    }
}

impl Results {
    /// Writes `results.json` into `dir` (atomically).
    pub fn save(&self, dir: &Path) -> Result<()> {
        atomic::write(&dir.join("results.json"), serde_json::to_string_pretty(self)?.as_bytes())
    }

    /// The planned workloads not measured yet (none for results saved
    /// before runs had a plan).
    pub fn unmeasured(&self) -> Vec<&Planned> {
        let plan = &self.meta.settings.plan;
        plan.iter().filter(|p| !self.workloads.iter().any(|w| w.name == p.name)).collect()
    }

    /// Reads a `results.json`.
    pub fn load(path: &Path) -> Result<Results> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// Test support: a time workload in `group` whose configurations each
/// ran once, taking the given seconds.
#[cfg(test)]
pub(crate) fn timed(name: &str, group: Group, times: &[(ConfigId, f64)]) -> WorkloadResult {
    let runs = times
        .iter()
        .map(|&(config, t)| ConfigRuns {
            config,
            samples: vec![Sample { value: t, wall_s: t, maxrss_kib: 1, cpu_s: t }],
            failure: None,
        })
        .collect();
    WorkloadResult {
        name: name.into(),
        group,
        about: String::new(),
        command: name.into(),
        n: 1,
        metric: MetricKind::Time,
        runs,
        tern_stats: None,
        tern_trace_stats: None,
        measured: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_workload_results_still_load() {
        // As saved before the `tern --traces --stats` run existed.
        let json = r#"{"name": "sieve", "group": "int", "about": "", "command": "sieve 1", "n": 1,
            "metric": {"kind": "time"}, "runs": [],
            "tern_stats": {"counters": [["blocks translated", 12.0]], "note": null}}"#;
        let w: WorkloadResult = serde_json::from_str(json).unwrap();
        assert!(w.tern_trace_stats.is_none() && w.measured.is_none());
        assert_eq!(w.tern_stats.unwrap().get("blocks translated"), Some(12.0));
        let back = serde_json::to_string(&WorkloadResult {
            tern_stats: None,
            ..serde_json::from_str(json).unwrap()
        });
        assert!(back.unwrap().contains("\"tern_trace_stats\":null"));
    }
}
