//! Statistics over the raw samples: median and spread, ratios to native,
//! geometric means. Failed runs never enter a ratio or a mean.

use crate::config::ConfigId;
use crate::results::{ConfigRuns, MetricKind, Results, WorkloadResult};
use crate::workloads::Group;

/// Median and range of a set of values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// Median (mean of the middle two for an even count), min and max.
pub fn spread(values: &[f64]) -> Option<Spread> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 };
    Some(Spread { median, min: v[0], max: v[v.len() - 1] })
}

/// The spread of a configuration's values, if it ran without failure.
pub fn values(runs: &ConfigRuns) -> Option<Spread> {
    if runs.failure.is_some() {
        return None;
    }
    spread(&runs.samples.iter().map(|s| s.value).collect::<Vec<_>>())
}

/// The median value of workload `name` under `config`, if it was measured.
pub fn median_of(workloads: &[WorkloadResult], name: &str, config: ConfigId) -> Option<f64> {
    let w = workloads.iter().find(|w| w.name == name)?;
    Some(values(w.config(config)?)?.median)
}

/// How many times slower than native a configuration is on a workload (time
/// ratio, or native rate / rate for rate metrics): median, and the range
/// given by the configuration's fastest and slowest sample.
pub fn ratio(w: &WorkloadResult, config: ConfigId) -> Option<Spread> {
    let native = values(w.config(ConfigId::Native)?)?;
    let mine = values(w.config(config)?)?;
    Some(match w.metric {
        MetricKind::Rate { .. } => Spread {
            median: native.median / mine.median,
            min: native.median / mine.max,
            max: native.median / mine.min,
        },
        _ => Spread {
            median: mine.median / native.median,
            min: mine.min / native.median,
            max: mine.max / native.median,
        },
    })
}

/// tern's median ratio over qemu's (below 1: tern is faster).
pub fn tern_over_qemu(w: &WorkloadResult) -> Option<f64> {
    Some(ratio(w, ConfigId::Tern)?.median / ratio(w, ConfigId::Qemu)?.median)
}

/// Geometric mean; None for an empty list.
pub fn geomean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    Some((xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp())
}

/// A geometric mean over the workloads that succeeded.
#[derive(Clone, Copy, Debug)]
pub struct Mean {
    pub value: Option<f64>,
    /// Workloads that entered the mean.
    pub used: usize,
    /// Workloads considered (used + failed).
    pub of: usize,
}

/// The geometric mean of `config`'s ratios over `group` (all groups when None).
pub fn group_mean(results: &Results, config: ConfigId, group: Option<Group>) -> Mean {
    let in_group: Vec<&WorkloadResult> =
        results.workloads.iter().filter(|w| group.map_or(true, |g| w.group == g)).collect();
    let ratios: Vec<f64> = in_group.iter().filter_map(|w| ratio(w, config)).map(|r| r.median).collect();
    Mean { value: geomean(&ratios), used: ratios.len(), of: in_group.len() }
}

/// Median peak RSS (KiB) of a configuration's successful samples.
pub fn median_rss(runs: &ConfigRuns) -> Option<f64> {
    if runs.failure.is_some() {
        return None;
    }
    spread(&runs.samples.iter().map(|s| s.maxrss_kib as f64).collect::<Vec<_>>()).map(|s| s.median)
}

/// A configuration's median CPU time over native's on a workload measured
/// in time (not rate), if both ran and recorded it.
pub fn cpu_ratio(w: &WorkloadResult, config: ConfigId) -> Option<f64> {
    if matches!(w.metric, MetricKind::Rate { .. }) {
        return None;
    }
    let cpu = |c| {
        let runs = w.config(c)?;
        let s = spread(&runs.samples.iter().map(|s| s.cpu_s).collect::<Vec<_>>())?;
        (runs.failure.is_none() && s.min > 0.0).then_some(s.median)
    };
    Some(cpu(config)? / cpu(ConfigId::Native)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_means() {
        assert_eq!(spread(&[3.0, 1.0, 2.0]), Some(Spread { median: 2.0, min: 1.0, max: 3.0 }));
        assert_eq!(spread(&[4.0, 1.0]).unwrap().median, 2.5);
        assert!(spread(&[]).is_none());
        assert!((geomean(&[2.0, 8.0]).unwrap() - 4.0).abs() < 1e-12);
    }
}
