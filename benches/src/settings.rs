//! What a run measures: mode, repetitions, configurations, timeouts, and the
//! workload plan (names and sizes, in order). Resolved once from the command
//! line ([`Settings::resolve`]), saved in `results.json`, and kept as they are
//! by `--resume`, which refuses a command line that asks for something else
//! ([`Settings::check_request`]).

use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};

use crate::config::ConfigId;
use crate::suite::Options;
use crate::workloads::{self, Workload};

/// Repetitions per configuration when `--reps` is not given (both modes).
pub const DEFAULT_REPS: usize = 3;

/// A run's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// `quick` or `full`.
    pub mode: String,
    /// Repetitions per configuration.
    pub reps: usize,
    /// The configurations, native first.
    pub configs: Vec<ConfigId>,
    /// The workloads to measure, in order, with their sizes. Empty in
    /// results saved before runs could be resumed.
    #[serde(default)]
    pub plan: Vec<Planned>,
    /// A fixed per-run timeout in seconds; `None`: derived from native time.
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// Whether each workload gets an untimed `tern --stats` run.
    #[serde(default = "yes")]
    pub tern_stats: bool,
}

fn yes() -> bool {
    true
}

/// A workload of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub name: String,
    /// The size it runs at.
    pub n: u64,
}

impl Settings {
    /// The settings `opts` asks for, with defaults for what it leaves open.
    pub fn resolve(opts: &Options) -> Result<Settings> {
        let selected = workloads::select(&opts.workloads, opts.quick).map_err(anyhow::Error::msg)?;
        Ok(Settings {
            mode: if opts.quick { "quick" } else { "full" }.into(),
            reps: opts.reps.unwrap_or(DEFAULT_REPS).max(1),
            configs: ConfigId::with_native(opts.configs.as_deref().unwrap_or(&ConfigId::ALL)),
            plan: selected
                .iter()
                .map(|w| Planned { name: w.name.clone(), n: opts.size.unwrap_or(w.n(opts.quick)) })
                .collect(),
            timeout_s: opts.timeout.map(|t| t.as_secs_f64()),
            tern_stats: opts.tern_stats,
        })
    }

    /// Whether this is a quick-mode run.
    pub fn quick(&self) -> bool {
        self.mode == "quick"
    }

    /// The planned workloads, looked up in the table, with their sizes.
    pub fn workloads(&self) -> Result<Vec<(Workload, u64)>> {
        let table = workloads::all();
        self.plan
            .iter()
            .map(|p| {
                let w = table.iter().find(|w| w.name == p.name).ok_or_else(|| {
                    anyhow!("workload `{}` of the saved run is no longer in src/workloads.rs", p.name)
                })?;
                Ok((w.clone(), p.n))
            })
            .collect()
    }

    /// Checks a command line that resumes a run with these settings: every
    /// setting it names must agree with them (the ones it leaves out, and
    /// `opts`' defaults, take the saved values).
    pub fn check_request(&self, asked: &Options) -> Result<()> {
        let mut conflicts: Vec<String> = Vec::new();
        let mut differs =
            |asked: String, saved: String| conflicts.push(format!("{asked}, but the run has {saved}"));
        if asked.quick && !self.quick() {
            differs("--quick".into(), "full mode".into());
        }
        if let Some(reps) = asked.reps.filter(|&r| r.max(1) != self.reps) {
            differs(format!("--reps {reps}"), format!("{} repetitions", self.reps));
        }
        if let Some(configs) = asked.configs.as_deref().filter(|c| ConfigId::with_native(c) != self.configs) {
            differs(format!("--configs {}", config_names(configs)), config_names(&self.configs));
        }
        if !asked.workloads.is_empty() {
            let picked = workloads::select(&asked.workloads, self.quick()).map_err(anyhow::Error::msg)?;
            let planned: Vec<&str> = self.plan.iter().map(|p| p.name.as_str()).collect();
            let (mut want, mut have) =
                (picked.iter().map(|w| w.name.as_str()).collect::<Vec<_>>(), planned.clone());
            want.sort_unstable();
            have.sort_unstable();
            if want != have {
                differs(
                    format!("--workloads {}", asked.workloads.join(",")),
                    format!("workloads {}", planned.join(",")),
                );
            }
        }
        if let Some(n) = asked.size.filter(|&n| self.plan.iter().any(|p| p.n != n)) {
            differs(format!("--size {n}"), "the sizes in the workloads table of its report".into());
        }
        if let Some(t) = asked.timeout.filter(|t| self.timeout_s != Some(t.as_secs_f64())) {
            let saved = self
                .timeout_s
                .map_or("timeouts derived from native time".into(), |s| format!("--timeout {s}"));
            differs(format!("--timeout {}", t.as_secs_f64()), saved);
        }
        if !asked.tern_stats && self.tern_stats {
            differs("--no-stats".into(), "a tern --stats run per workload".into());
        }
        if !conflicts.is_empty() {
            bail!(
                "the command line asks for other settings than the run has: {}. Leave these options out \
                 to keep the run's settings, or start a new run (another --out folder)",
                conflicts.join("; ")
            );
        }
        Ok(())
    }

    fn fixed_timeout(&self) -> Option<Duration> {
        self.timeout_s.map(Duration::from_secs_f64)
    }

    /// The timeout of a native run.
    pub fn native_timeout(&self) -> Duration {
        self.fixed_timeout().unwrap_or(Duration::from_secs(if self.quick() { 60 } else { 300 }))
    }

    /// The timeout of an emulated run, from the native median so far.
    pub fn emulated_timeout(&self, native_median: Option<f64>) -> Duration {
        if let Some(t) = self.fixed_timeout() {
            return t;
        }
        let (floor, ceiling) = if self.quick() { (10.0, 120.0) } else { (30.0, 900.0) };
        let secs = native_median.map_or(ceiling, |m| (m * 50.0 + 5.0).clamp(floor, ceiling));
        Duration::from_secs_f64(secs)
    }
}

fn config_names(configs: &[ConfigId]) -> String {
    configs.iter().map(|c| c.name()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick(workloads: &[&str]) -> Options {
        let mut o = Options::new("tern".into());
        o.quick = true;
        o.workloads = workloads.iter().map(|w| w.to_string()).collect();
        o
    }

    #[test]
    fn resolve_fills_in_defaults() {
        let s = Settings::resolve(&Options::new("tern".into())).unwrap();
        assert_eq!((s.mode.as_str(), s.reps, s.configs.as_slice()), ("full", 3, &ConfigId::ALL[..]));
        assert_eq!(s.plan.len(), workloads::all().len());
        let mut o = quick(&["int"]);
        o.configs = Some(vec![ConfigId::Qemu]);
        o.size = Some(7);
        let s = Settings::resolve(&o).unwrap();
        assert_eq!(s.configs, vec![ConfigId::Native, ConfigId::Qemu]);
        assert!(s.plan.iter().all(|p| p.n == 7) && s.plan.len() == 6, "{:?}", s.plan);
        assert_eq!(s.workloads().unwrap().len(), 6);
    }

    #[test]
    fn a_resume_may_repeat_or_leave_out_settings() {
        let mut started = quick(&["sort-static", "true"]);
        started.reps = Some(2);
        started.configs = Some(vec![ConfigId::Tern]);
        let s = Settings::resolve(&started).unwrap();
        s.check_request(&started).unwrap();
        // Nothing named: everything is taken from the saved settings.
        s.check_request(&Options::new("other-tern".into())).unwrap();
        // The same workloads in another order.
        s.check_request(&quick(&["true", "sort-static"])).unwrap();
    }

    #[test]
    fn a_resume_refuses_other_settings() {
        let s = Settings::resolve(&quick(&["sort-static", "true"])).unwrap();
        let refused = |change: &dyn Fn(&mut Options), expect: &str| {
            let mut o = Options::new("tern".into());
            change(&mut o);
            let e = s.check_request(&o).expect_err(expect).to_string();
            assert!(e.contains(expect), "{e}");
        };
        let full = Settings::resolve(&Options::new("tern".into())).unwrap();
        assert!(full
            .check_request(&quick(&[]))
            .unwrap_err()
            .to_string()
            .contains("--quick, but the run has full mode"));
        refused(&|o| o.reps = Some(5), "--reps 5, but the run has 3 repetitions");
        refused(&|o| o.configs = Some(vec![ConfigId::Tern]), "--configs tern, but the run has native,tern,");
        refused(
            &|o| o.workloads = vec!["sort-static".into()],
            "--workloads sort-static, but the run has workloads",
        );
        refused(&|o| o.size = Some(10), "--size 10");
        refused(
            &|o| o.timeout = Some(Duration::from_secs(5)),
            "--timeout 5, but the run has timeouts derived",
        );
        refused(&|o| o.tern_stats = false, "--no-stats");
    }

    #[test]
    fn emulated_timeouts_follow_native_time() {
        let mut s = Settings::resolve(&quick(&["true"])).unwrap();
        assert_eq!(s.emulated_timeout(Some(0.01)), Duration::from_secs(10));
        assert_eq!(s.emulated_timeout(Some(1.0)), Duration::from_secs(55));
        assert_eq!(s.emulated_timeout(None), Duration::from_secs(120));
        s.timeout_s = Some(7.0);
        assert_eq!(s.emulated_timeout(Some(100.0)), Duration::from_secs(7));
    }

    #[test]
    fn results_saved_before_resuming_existed_still_load() {
        let json = r#"{"mode": "quick", "reps": 3, "configs": ["native", "tern"]}"#;
        let s: Settings = serde_json::from_str(json).unwrap();
        assert!(s.plan.is_empty() && s.tern_stats && s.timeout_s.is_none());
    }
}
