//! The Markdown report (`report.md`): machine and versions, a ratio table
//! per group with geometric means, the `-march=native` ceilings
//! ([`ceiling`]), the trace tier ([`trace_tier`]), the failures with their
//! stderr, peak RSS, tern's counters (of `tern --stats` and, when measured,
//! `tern --traces --stats`) and the workload commands; at the top, whether the run is partial and the
//! sessions it took ([`status`]). [`write_report`] also writes
//! `results.json` and the `ratios.svg` chart.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::atomic;
use crate::ceiling;
use crate::chart;
use crate::config::ConfigId;
use crate::results::{MetricKind, Results, StatsRun, WorkloadResult};
use crate::scaling;
use crate::status;
use crate::summary::{self, Spread};
use crate::trace_tier;
use crate::workloads::Group;

/// Writes `results.json`, `ratios.svg` and `report.md` into `dir`, each
/// atomically (a run killed meanwhile leaves whole files).
pub fn write_report(results: &Results, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    results.save(dir)?;
    atomic::replace(&dir.join("ratios.svg"), |tmp| chart::write_svg(results, tmp))?;
    atomic::write(&dir.join("report.md"), render(results, dir).as_bytes())
}

/// The configurations that are compared with native.
fn emulated(results: &Results) -> Vec<ConfigId> {
    results.meta.settings.configs.iter().copied().filter(|&c| c != ConfigId::Native).collect()
}

fn has_tern_and_qemu(results: &Results) -> bool {
    [ConfigId::Tern, ConfigId::Qemu].iter().all(|c| results.meta.settings.configs.contains(c))
}

/// The whole report as Markdown; `dir` is where its `results.json` is.
pub fn render(results: &Results, dir: &Path) -> String {
    let mut md = String::new();
    header(&mut md, results, dir);
    ratio_tables(&mut md, results);
    md.push_str(&ceiling::render(&results.workloads, &results.meta.settings.configs));
    md.push_str(&scaling::render(&results.workloads, &results.meta.settings.configs));
    means_table(&mut md, results);
    md.push_str(&trace_tier::render(results));
    failures(&mut md, results);
    rss_table(&mut md, results);
    cpu_table(&mut md, results);
    counters_table(&mut md, results);
    workloads_table(&mut md, results);
    md
}

fn header(md: &mut String, r: &Results, dir: &Path) {
    let m = &r.meta;
    let _ = writeln!(md, "# tern benchmark report\n");
    md.push_str(&status::partial(r, dir));
    let _ = writeln!(
        md,
        "Started {} UTC, {} mode, {} repetition(s) per configuration in interleaved order; measuring took {}.\n",
        m.started_utc,
        m.settings.mode,
        m.settings.reps,
        duration(m.duration_s)
    );
    md.push_str(&status::sessions_and_builds(r));
    let _ = writeln!(md, "| machine | |\n| --- | --- |");
    let _ = writeln!(md, "| CPU | {} ({} cores) |", cell(&m.machine.cpu_model), m.machine.cores);
    let _ = writeln!(md, "| kernel | {} |", cell(&m.machine.kernel));
    let _ = writeln!(md, "| OS | {} |", cell(&m.machine.os));
    for (tool, version) in &m.machine.versions {
        let _ = writeln!(md, "| {tool} | {} |", cell(version));
    }
    let _ = writeln!(
        md,
        "\nEach configuration's cell is its median time over native's median time, with the range of its \
         runs (fastest–slowest over native's median) in parentheses: 2.00× means twice as slow. For rate \
         workloads (fixed-duration benchmarks) it is native rate / its rate. The native column shows the \
         median and range of the native runs. tern/qemu is tern's median over qemu's: below 1, tern is \
         faster. A FAIL cell names the failure, detailed under [Failures](#failures). Geometric means \
         leave failures out and say how many workloads entered.\n"
    );
    let _ = writeln!(md, "![ratios per workload and configuration](ratios.svg)\n");
}

/// A Markdown table's header row (a left column, then right-aligned ones).
pub(crate) fn table_head(md: &mut String, first: &str, columns: &[String]) {
    let _ = writeln!(md, "| {first} | {} |", columns.join(" | "));
    let _ = writeln!(md, "| --- |{}", " ---: |".repeat(columns.len()));
}

fn ratio_tables(md: &mut String, r: &Results) {
    let configs = emulated(r);
    let tq = has_tern_and_qemu(r);
    let mut columns: Vec<String> = vec!["native".into()];
    columns.extend(configs.iter().map(|c| c.name().to_string()));
    if tq {
        columns.push("tern/qemu".into());
    }
    let _ = writeln!(md, "## Results\n");
    for group in Group::ALL {
        let ws: Vec<&WorkloadResult> = r.workloads.iter().filter(|w| w.group == group).collect();
        if ws.is_empty() {
            continue;
        }
        let _ = writeln!(md, "### {}\n", group.name());
        table_head(md, "workload", &columns);
        for w in &ws {
            let mut cells = vec![native_cell(w)];
            cells.extend(configs.iter().map(|&c| ratio_cell(w, c)));
            if tq {
                cells.push(summary::tern_over_qemu(w).map_or("–".into(), |x| format!("{x:.2}")));
            }
            let _ = writeln!(md, "| {} | {} |", w.name, cells.join(" | "));
        }
        let mut cells = vec![String::new()];
        cells.extend(configs.iter().map(|&c| mean_cell(summary::group_mean(r, c, Some(group)))));
        if tq {
            cells.push(tern_qemu_mean(r, Some(group)));
        }
        let _ = writeln!(md, "| **geomean** | {} |\n", cells.join(" | "));
    }
}

fn means_table(md: &mut String, r: &Results) {
    let configs = emulated(r);
    let tq = has_tern_and_qemu(r);
    let mut columns: Vec<String> = configs.iter().map(|c| c.name().to_string()).collect();
    if tq {
        columns.push("tern/qemu".into());
    }
    let _ = writeln!(
        md,
        "## Geometric means\n\nRatio to native per group; (k/m): k of the group's m workloads ran \
         successfully under the configuration and entered the mean, failures are excluded.\n"
    );
    table_head(md, "group", &columns);
    let groups: Vec<Option<Group>> =
        Group::ALL.iter().filter(|g| r.workloads.iter().any(|w| w.group == **g)).map(|&g| Some(g)).collect();
    for group in groups.into_iter().chain([None]) {
        let mut cells: Vec<String> =
            configs.iter().map(|&c| mean_cell(summary::group_mean(r, c, group))).collect();
        if tq {
            cells.push(tern_qemu_mean(r, group));
        }
        let name = group.map_or("**all**", |g| g.name());
        let _ = writeln!(md, "| {name} | {} |", cells.join(" | "));
    }
    md.push('\n');
}

fn tern_qemu_mean(r: &Results, group: Option<Group>) -> String {
    let xs: Vec<f64> = r
        .workloads
        .iter()
        .filter(|w| group.map_or(true, |g| w.group == g))
        .filter_map(summary::tern_over_qemu)
        .collect();
    summary::geomean(&xs).map_or("–".into(), |x| format!("{x:.2} ({})", xs.len()))
}

fn failures(md: &mut String, r: &Results) {
    let _ = writeln!(md, "## Failures\n");
    let mut any = false;
    for w in &r.workloads {
        for runs in &w.runs {
            if let Some(f) = &runs.failure {
                any = true;
                let _ = writeln!(md, "- **{}** under **{}**: {}", w.name, runs.config.name(), f.kind);
                if !f.detail.is_empty() {
                    let _ = writeln!(md, "\n  ```text");
                    for line in f.detail.lines() {
                        let _ = writeln!(md, "  {line}");
                    }
                    let _ = writeln!(md, "  ```");
                }
            }
        }
    }
    if !any {
        let _ = writeln!(md, "None.");
    }
    md.push('\n');
}

fn rss_table(md: &mut String, r: &Results) {
    let _ = writeln!(
        md,
        "## Peak RSS\n\nMedian over runs of the child's `ru_maxrss` (from `wait4`), in MiB; for an \
         emulator this includes the emulator itself.\n"
    );
    let columns: Vec<String> = r.meta.settings.configs.iter().map(|c| c.name().to_string()).collect();
    table_head(md, "workload", &columns);
    for w in &r.workloads {
        let cells: Vec<String> = r
            .meta
            .settings
            .configs
            .iter()
            .map(|&c| match w.config(c).and_then(summary::median_rss) {
                Some(kib) => format!("{:.1}", kib / 1024.0),
                None => "–".into(),
            })
            .collect();
        let _ = writeln!(md, "| {} | {} |", w.name, cells.join(" | "));
    }
    md.push('\n');
}

/// CPU time ratios: on a host whose cores are busy, or hyperthreads of
/// one, wall time moves with the neighbours; CPU time less so, and it
/// counts what helper threads (tern's trace optimizer) take.
fn cpu_table(md: &mut String, r: &Results) {
    let configs = emulated(r);
    let rows: Vec<(&str, Vec<Option<f64>>)> = r
        .workloads
        .iter()
        .map(|w| (w.name.as_str(), configs.iter().map(|&c| summary::cpu_ratio(w, c)).collect::<Vec<_>>()))
        .filter(|(_, cells)| cells.iter().any(Option::is_some))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## CPU time\n\nMedian user plus system CPU time (from `wait4`: every thread, and reaped \
         children) over native's median, for workloads measured in time.\n"
    );
    table_head(md, "workload", &configs.iter().map(|c| c.name().to_string()).collect::<Vec<_>>());
    let cell = |x: &Option<f64>| x.map_or("–".into(), |x| format!("{x:.2}×"));
    for (name, cells) in &rows {
        let _ = writeln!(md, "| {name} | {} |", cells.iter().map(cell).collect::<Vec<_>>().join(" | "));
    }
    let means: Vec<String> = (0..configs.len())
        .map(|i| {
            let xs: Vec<f64> = rows.iter().filter_map(|(_, cells)| cells[i]).collect();
            summary::geomean(&xs).map_or("–".into(), |g| format!("{g:.2}× ({})", xs.len()))
        })
        .collect();
    let _ = writeln!(md, "| **geomean** | {} |", means.join(" | "));
    md.push('\n');
}

fn counters_table(md: &mut String, r: &Results) {
    counters(md, r, "tern counters", "`tern --stats`", |w| w.tern_stats.as_ref());
    counters(
        md,
        r,
        "tern --traces counters",
        "`tern --traces --stats` (made when tern-traces is measured; see [Trace tier](#trace-tier))",
        |w| w.tern_trace_stats.as_ref(),
    );
}

/// A table of every counter of the stats runs `run` picks, one row per
/// workload that has one.
fn counters(
    md: &mut String,
    r: &Results,
    title: &str,
    command: &str,
    run: impl Fn(&WorkloadResult) -> Option<&StatsRun>,
) {
    let with_stats: Vec<(&WorkloadResult, &StatsRun)> =
        r.workloads.iter().filter_map(|w| Some((w, run(w)?))).collect();
    if with_stats.is_empty() {
        return;
    }
    // Columns: every counter label, in order of first appearance.
    let mut labels: Vec<&str> = Vec::new();
    for (_, stats) in &with_stats {
        for (label, _) in &stats.counters {
            if !labels.contains(&label.as_str()) {
                labels.push(label);
            }
        }
    }
    let _ = writeln!(
        md,
        "## {title}\n\nFrom one extra, untimed run per workload under {command} (summed over the \
         processes of the run). k = thousand, M = million, G = billion.\n"
    );
    let mut columns: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    columns.push("note".into());
    table_head(md, "workload", &columns);
    for (w, stats) in with_stats {
        let mut cells: Vec<String> = labels.iter().map(|l| stats.get(l).map_or("–".into(), si)).collect();
        cells.push(stats.note.as_deref().map(cell).unwrap_or_default());
        let _ = writeln!(md, "| {} | {} |", w.name, cells.join(" | "));
    }
    md.push('\n');
}

fn workloads_table(md: &mut String, r: &Results) {
    let _ = writeln!(
        md,
        "## Workloads\n\nThe native command line of each workload (emulators put their own in front).\n"
    );
    let _ = writeln!(md, "| workload | group | n | what | command |\n| --- | --- | ---: | --- | --- |");
    for w in &r.workloads {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | `{}` |",
            w.name,
            w.group.name(),
            w.n,
            cell(&w.about),
            cell(&w.command)
        );
    }
}

/// The native column: median value and range.
fn native_cell(w: &WorkloadResult) -> String {
    let Some(runs) = w.config(ConfigId::Native) else { return "–".into() };
    if let Some(f) = &runs.failure {
        return format!("FAIL: {}", cell(&f.kind));
    }
    let Some(s) = summary::values(runs) else { return "–".into() };
    let fmt = |v: f64| value(&w.metric, v);
    let suffix = match &w.metric {
        MetricKind::PerStart { .. } => " per start",
        _ => "",
    };
    format!("{}{suffix} ({}–{})", fmt(s.median), fmt(s.min), fmt(s.max))
}

fn ratio_cell(w: &WorkloadResult, config: ConfigId) -> String {
    let Some(runs) = w.config(config) else { return "–".into() };
    if let Some(f) = &runs.failure {
        return format!("FAIL: {}", cell(&f.kind));
    }
    summary::ratio(w, config).map_or("–".into(), |s| ratio_text(&s))
}

fn ratio_text(s: &Spread) -> String {
    format!("{} ({}–{})", times(s.median), times_bare(s.min), times_bare(s.max))
}

fn mean_cell(m: summary::Mean) -> String {
    match m.value {
        Some(v) => format!("{} ({}/{})", times(v), m.used, m.of),
        None => format!("– (0/{})", m.of),
    }
}

fn times_bare(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

pub fn times(x: f64) -> String {
    format!("{}×", times_bare(x))
}

/// A metric value with its unit.
fn value(metric: &MetricKind, v: f64) -> String {
    match metric {
        MetricKind::Rate { unit } => format!("{} {unit}", sig3(v)),
        _ => seconds(v),
    }
}

/// Seconds with a unit that keeps three significant digits.
pub fn seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{} ms", sig3(s * 1e3))
    } else {
        format!("{} µs", sig3(s * 1e6))
    }
}

fn sig3(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn duration(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// A counter with a k/M/G suffix.
pub fn si(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{}G", sig3(v / 1e9))
    } else if a >= 1e6 {
        format!("{}M", sig3(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", sig3(v / 1e3))
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        sig3(v)
    }
}

/// Text made safe for one Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(seconds(1.5), "1.50 s");
        assert_eq!(seconds(0.0123), "12.3 ms");
        assert_eq!(seconds(0.000_5), "500 µs");
        assert_eq!(si(2_081.0), "2081");
        assert_eq!(si(1_234_567.0), "1.23M");
        assert_eq!(si(1.5), "1.50");
        assert_eq!(times(2.0), "2.00×");
        assert_eq!(duration(3.0), "3s");
        assert_eq!(duration(158.0), "2m38s");
        assert_eq!(duration(6300.0), "1h45m");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn both_counter_runs_and_the_trace_tier_are_reported() {
        use crate::results::{ConfigRuns, Meta, Sample};
        use crate::settings::Settings;
        let configs = vec![ConfigId::Native, ConfigId::TernBaseline, ConfigId::TernTraces];
        let stats = |stderr: &str| Some(StatsRun { counters: crate::stats::parse(stderr), note: None });
        // The traces' optimizer thread took CPU time beside the guest's.
        let cpu = |c| if c == ConfigId::TernTraces { 1.5 } else { 1.0 };
        let w = WorkloadResult {
            name: "sieve".into(),
            group: Group::Int,
            about: String::new(),
            command: "sieve 1".into(),
            n: 1,
            metric: MetricKind::Time,
            runs: configs
                .iter()
                .map(|&config| ConfigRuns {
                    config,
                    samples: vec![Sample { value: 1.0, wall_s: 1.0, maxrss_kib: 1, cpu_s: cpu(config) }],
                    failure: None,
                })
                .collect(),
            tern_stats: stats("tern stats:\n  blocks translated    20\n"),
            tern_trace_stats: stats("tern stats:\n  traces: installed    7\n"),
            measured: None,
        };
        let settings = Settings {
            mode: "full".into(),
            reps: 1,
            configs,
            plan: Vec::new(),
            timeout_s: None,
            tern_stats: true,
        };
        let meta =
            Meta { started_utc: String::new(), duration_s: 0.0, settings, machine: Default::default() };
        let md = render(&Results { meta, workloads: vec![w] }, Path::new("."));
        assert!(md.contains("## Trace tier"), "{md}");
        assert!(md.contains("## tern counters") && md.contains("| sieve | 20 |  |"), "{md}");
        assert!(md.contains("## tern --traces counters") && md.contains("| sieve | 7 |  |"), "{md}");
        assert!(md.contains("| sieve | 1.00× | 1.00× | 1.00 | – | – | – | 7 / – | – |  |"), "{md}");
        assert!(md.contains("## CPU time") && md.contains("| sieve | 1.00× | 1.50× |"), "{md}");
        assert!(md.contains("| **geomean** | 1.00× (1) | 1.50× (1) |"), "{md}");
    }
}
