//! The report's *Trace tier* table: per workload, the ratio to native
//! without hot traces (tern-baseline, or tern when tern-baseline was not
//! measured) and with them (tern-traces), from the timed runs' medians, next
//! to the counters of the untimed `tern --traces --stats` run
//! ([`WorkloadResult::tern_trace_stats`]): the share of guest instructions
//! executed inside traces, trace entries, exits to the CPU loop per entry,
//! traces installed and retired, and compile time. A geomean row sums up the
//! ratios.

use std::fmt::Write as _;

use crate::config::ConfigId;
use crate::report::{si, times};
use crate::results::{Results, StatsRun, WorkloadResult};
use crate::summary;

/// The `tern --stats` rows read, as [`crate::stats::parse`] labels them.
pub mod label {
    /// Guest instructions executed in baseline code (counted under `--stats` only).
    pub const BASELINE_INSNS: &str = "guest insns: baseline";
    /// Guest instructions executed inside traces.
    pub const TRACE_INSNS: &str = "traces: insns run";
    /// Times a trace was entered.
    pub const ENTRIES: &str = "traces: entries";
    /// Exits from a trace to the CPU loop.
    pub const LEFT_TO_LOOP: &str = "traces: left to loop";
    pub const INSTALLED: &str = "traces: installed";
    pub const RETIRED: &str = "traces: retired";
    /// Optimizer time, microseconds.
    pub const COMPILE_US: &str = "traces: compile us";
}

/// The configuration the "without traces" column shows: tern-baseline if it
/// was measured, else tern; `None` if neither was.
fn without_traces(configs: &[ConfigId]) -> Option<ConfigId> {
    [ConfigId::TernBaseline, ConfigId::Tern].into_iter().find(|c| configs.contains(c))
}

/// The share of guest instructions executed inside traces, in [0, 1]:
/// trace instructions over baseline plus trace instructions.
pub fn share_in_traces(s: &StatsRun) -> Option<f64> {
    let (baseline, traces) = (s.get(label::BASELINE_INSNS)?, s.get(label::TRACE_INSNS)?);
    let total = baseline + traces;
    (total > 0.0).then(|| traces / total)
}

/// Exits from traces to the CPU loop per trace entry.
pub fn exits_per_entry(s: &StatsRun) -> Option<f64> {
    let (entries, left) = (s.get(label::ENTRIES)?, s.get(label::LEFT_TO_LOOP)?);
    (entries > 0.0).then(|| left / entries)
}

/// The section as Markdown, empty unless tern-traces was among the
/// configurations.
pub fn render(results: &Results) -> String {
    let configs = &results.meta.settings.configs;
    if !configs.contains(&ConfigId::TernTraces) {
        return String::new();
    }
    let without = without_traces(configs);
    let without_name = without.map_or("no traces", |c| c.name());
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## Trace tier\n\n*{without_name}* and *tern-traces* are the median ratios to native of the timed \
         runs without and with hot traces; *traces / {without_name}* is their quotient (below 1: traces \
         pay). The other columns come from one extra, untimed run per workload under `tern --traces \
         --stats`: *in traces* is the share of guest instructions executed inside traces (trace \
         instructions over baseline plus trace instructions), *entries* how often a trace was entered, \
         *exits / entry* the exits from a trace to the CPU loop per entry, *installed / retired* the \
         traces installed and later retired, *compile* the optimizer's time. – means not measured or \
         not printed by this tern.\n"
    );
    let columns = [
        without_name.to_string(),
        "tern-traces".into(),
        format!("traces / {without_name}"),
        "in traces".into(),
        "entries".into(),
        "exits / entry".into(),
        "installed / retired".into(),
        "compile".into(),
    ];
    let _ = writeln!(md, "| workload | {} | note |", columns.join(" | "));
    let _ = writeln!(md, "| --- |{} --- |", " ---: |".repeat(columns.len()));
    let (mut base_ratios, mut trace_ratios, mut quotients) = (Vec::new(), Vec::new(), Vec::new());
    for w in &results.workloads {
        let base = without.and_then(|c| summary::ratio(w, c)).map(|s| s.median);
        let traced = summary::ratio(w, ConfigId::TernTraces).map(|s| s.median);
        base_ratios.extend(base);
        trace_ratios.extend(traced);
        let quotient = base.zip(traced).map(|(b, t)| t / b);
        quotients.extend(quotient);
        let mut cells = vec![
            without.map_or("–".into(), |c| ratio_cell(w, c)),
            ratio_cell(w, ConfigId::TernTraces),
            quotient.map_or("–".into(), |q| format!("{q:.2}")),
        ];
        cells.extend(counter_cells(w.tern_trace_stats.as_ref()));
        let note = w.tern_trace_stats.as_ref().and_then(|s| s.note.as_deref()).unwrap_or_default();
        cells.push(note.replace('|', "\\|").replace('\n', " "));
        let _ = writeln!(md, "| {} | {} |", w.name, cells.join(" | "));
    }
    let n = results.workloads.len();
    let mean = |xs: &[f64], text: &dyn Fn(f64) -> String| {
        summary::geomean(xs).map_or(format!("– (0/{n})"), |m| format!("{} ({}/{n})", text(m), xs.len()))
    };
    let mut cells = vec![
        mean(&base_ratios, &times),
        mean(&trace_ratios, &times),
        mean(&quotients, &|q| format!("{q:.2}")),
    ];
    cells.extend(std::iter::repeat(String::new()).take(6));
    let _ = writeln!(md, "| **geomean** | {} |\n", cells.join(" | "));
    md
}

/// The median ratio, or the failure's kind.
fn ratio_cell(w: &WorkloadResult, config: ConfigId) -> String {
    match w.config(config) {
        None => "–".into(),
        Some(runs) => match &runs.failure {
            Some(f) => format!("FAIL: {}", f.kind.replace('|', "\\|")),
            None => summary::ratio(w, config).map_or("–".into(), |s| times(s.median)),
        },
    }
}

/// in traces, entries, exits / entry, installed / retired, compile.
fn counter_cells(stats: Option<&StatsRun>) -> Vec<String> {
    let dash = || "–".to_string();
    let Some(s) = stats else { return vec![dash(); 5] };
    let count = |l| s.get(l).map_or_else(dash, si);
    vec![
        share_in_traces(s).map_or_else(dash, percent),
        count(label::ENTRIES),
        exits_per_entry(s).map_or_else(dash, ratio3),
        match (s.get(label::INSTALLED), s.get(label::RETIRED)) {
            (None, None) => dash(),
            _ => format!("{} / {}", count(label::INSTALLED), count(label::RETIRED)),
        },
        s.get(label::COMPILE_US).map_or_else(dash, |us| format!("{} ms", ratio3(us / 1e3))),
    ]
}

/// 0.873 -> `87.3%`; keeps a small nonzero share visible.
fn percent(x: f64) -> String {
    let p = x * 100.0;
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

/// Three significant digits for a small quotient (`0.0123`, `1.50`, `250`).
fn ratio3(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        let digits = (2 - x.log10().floor() as i32).clamp(2, 6) as usize;
        format!("{x:.digits$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{ConfigRuns, Failure, Meta};
    use crate::settings::Settings;
    use crate::stats;
    use crate::workloads::Group;

    /// tern `--traces --stats` stderr as the trace tier prints it.
    const TRACE_STDERR: &str = "guest output\ntern stats:\n  blocks translated    2081\n  \
        guest insns: baseline 1200000\n  traces: installed    12\n  traces: retired      3\n  \
        traces: compile us   27090\n  traces: entries      40000\n  traces: left to loop 500\n  \
        traces: insns run    10800000\n  exits: syscall       29\n";

    fn workload(name: &str, times: &[(ConfigId, f64)], trace_stats: Option<StatsRun>) -> WorkloadResult {
        WorkloadResult { tern_trace_stats: trace_stats, ..crate::results::timed(name, Group::Int, times) }
    }

    fn results(configs: &[ConfigId], workloads: Vec<WorkloadResult>) -> Results {
        let settings = Settings {
            mode: "full".into(),
            reps: 1,
            configs: configs.to_vec(),
            plan: Vec::new(),
            timeout_s: None,
            tern_stats: true,
        };
        let meta = Meta {
            started_utc: "2026-12-01 00:00:00".into(),
            duration_s: 1.0,
            settings,
            machine: Default::default(),
        };
        Results { meta, workloads }
    }

    #[test]
    fn parses_the_trace_rows() {
        let s = StatsRun { counters: stats::parse(TRACE_STDERR), note: None };
        assert_eq!(s.get(label::BASELINE_INSNS), Some(1_200_000.0));
        assert_eq!(s.get(label::TRACE_INSNS), Some(10_800_000.0));
        assert_eq!(s.get(label::LEFT_TO_LOOP), Some(500.0));
        assert_eq!(s.get(label::COMPILE_US), Some(27_090.0));
        assert_eq!(share_in_traces(&s), Some(0.9));
        assert_eq!(exits_per_entry(&s), Some(0.0125));
        // A tern without the baseline count: no share.
        let old = StatsRun { counters: vec![(label::TRACE_INSNS.into(), 5.0)], note: None };
        assert_eq!(share_in_traces(&old), None);
        assert_eq!(exits_per_entry(&old), None);
    }

    #[test]
    fn formats() {
        assert_eq!(percent(0.9), "90.0%");
        assert_eq!(percent(0.000_01), "<0.1%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(ratio3(0.0125), "0.0125");
        assert_eq!(ratio3(0.5), "0.500");
        assert_eq!(ratio3(27.09), "27.1");
        assert_eq!(ratio3(0.0), "0");
    }

    #[test]
    fn table_rows_and_geomean() {
        use ConfigId::{Native, Tern, TernBaseline, TernTraces};
        let configs = [Native, Tern, TernBaseline, TernTraces];
        let stats = StatsRun { counters: stats::parse(TRACE_STDERR), note: None };
        let mut failed = workload("lua", &[(Native, 1.0), (TernBaseline, 2.0), (TernTraces, 1.0)], None);
        failed.runs[2] = ConfigRuns {
            config: TernTraces,
            samples: Vec::new(),
            failure: Some(Failure { kind: "output differs".into(), detail: String::new() }),
        };
        failed.tern_trace_stats = Some(StatsRun { counters: Vec::new(), note: Some("exit 1".into()) });
        let ws = vec![
            workload(
                "matmul",
                &[(Native, 1.0), (Tern, 1.3), (TernBaseline, 1.2), (TernTraces, 0.9)],
                Some(stats),
            ),
            workload("sieve", &[(Native, 2.0), (TernBaseline, 4.0), (TernTraces, 2.0)], None),
            failed,
        ];
        let md = render(&results(&configs, ws));
        assert!(md.starts_with("## Trace tier\n"), "{md}");
        assert!(
            md.contains(
                "| workload | tern-baseline | tern-traces | traces / tern-baseline | in traces | entries | \
                 exits / entry | installed / retired | compile | note |\n| --- | ---: | ---: | ---: | ---: \
                 | ---: | ---: | ---: | ---: | --- |\n"
            ),
            "{md}"
        );
        assert!(
            md.contains("| matmul | 1.20× | 0.90× | 0.75 | 90.0% | 40.0k | 0.0125 | 12 / 3 | 27.1 ms |  |\n"),
            "{md}"
        );
        assert!(md.contains("| sieve | 2.00× | 1.00× | 0.50 | – | – | – | – | – |  |\n"), "{md}");
        assert!(
            md.contains("| lua | 2.00× | FAIL: output differs | – | – | – | – | – | – | exit 1 |\n"),
            "{md}"
        );
        // Geomeans: baseline (1.2·2·2)^(1/3), traces (0.9·1)^(1/2), quotients (0.75·0.5)^(1/2).
        assert!(md.contains("| **geomean** | 1.69× (3/3) | 0.95× (2/3) | 0.61 (2/3) |"), "{md}");
    }

    #[test]
    fn falls_back_to_tern_and_stays_out_without_traces() {
        use ConfigId::{Native, Tern, TernTraces};
        let w = || workload("sieve", &[(Native, 1.0), (Tern, 1.5), (TernTraces, 1.0)], None);
        let md = render(&results(&[Native, Tern, TernTraces], vec![w()]));
        assert!(md.contains("| workload | tern | tern-traces | traces / tern |"), "{md}");
        assert!(md.contains("| sieve | 1.50× | 1.00× | 0.67 |"), "{md}");
        assert_eq!(render(&results(&[Native, Tern], vec![w()])), "");
    }
}
