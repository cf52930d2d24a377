//! A run of the suite, over one session or several: [`run_into`] starts a run
//! and saves the results so far into its folder (`results.json`, `report.md`,
//! `ratios.svg`) at the start and after every workload; [`resume`] continues
//! a run from its `results.json` with the saved settings, skipping the
//! workloads already measured. A workload cut off midway left nothing behind
//! and is measured again from scratch. Each workload records its session and
//! the tern build that measured it.

use std::path::Path;
use std::process::Command;
use std::time::{Instant, SystemTime};

use anyhow::{bail, Context, Result};

use crate::clock;
use crate::machine;
use crate::report;
use crate::results::{Measured, Meta, Results, TernBuild, WorkloadResult};
use crate::run;
use crate::settings::Settings;
use crate::suite::{Options, Suite};
use crate::workloads::Workload;

/// Measures one workload: settings, workload, size, progress prefix.
type Measure<'a> = dyn FnMut(&Settings, &Workload, u64, &str) -> WorkloadResult + 'a;
/// Called with the results so far after each workload.
type Checkpoint<'a> = dyn FnMut(&Results) -> Result<()> + 'a;

/// Runs the suite as `opts` asks and returns the results, saving nothing.
pub fn run_suite(opts: &Options) -> Result<Results> {
    let (suite, mut results) = start(opts)?;
    measure_with(&suite, &mut results, &mut |_| Ok(()))?;
    Ok(results)
}

/// Runs the suite as `opts` asks into the folder `out`, which must not hold
/// a `results.json` yet, saving the results and the report there at the
/// start and after every workload.
pub fn run_into(opts: &Options, out: &Path) -> Result<Results> {
    if out.join("results.json").exists() {
        bail!(
            "{} already holds results: continue that run with --resume {0}, or choose another --out",
            out.display()
        );
    }
    let (suite, mut results) = start(opts)?;
    if suite.progress() {
        eprintln!(
            "tern-bench: saving into {} after every workload; if this run is cut off, continue it with \
             `benches/run --resume {0}`",
            out.display()
        );
    }
    report::write_report(&results, out)?;
    measure_with(&suite, &mut results, &mut |r| report::write_report(r, out))?;
    Ok(results)
}

/// Continues the run saved in `dir` (its `results.json`) with its saved
/// settings, measuring the workloads it lacks, and renders the final report.
/// `asked` supplies the paths (tern, cache) and must not ask for settings
/// other than the saved ones ([`Settings::check_request`]).
pub fn resume(asked: &Options, dir: &Path) -> Result<Results> {
    let json = dir.join("results.json");
    let mut results = Results::load(&json)?;
    let settings = &results.meta.settings;
    if settings.plan.is_empty() {
        bail!(
            "{} has no workload plan (an older tern-bench wrote it), so it cannot be resumed",
            json.display()
        );
    }
    settings.check_request(asked).with_context(|| format!("cannot resume {}", dir.display()))?;
    settings.workloads()?;
    let suite = Suite::new(asked)?;
    if suite.progress() {
        let (left, of) = (results.unmeasured().len(), settings.plan.len());
        eprintln!(
            "tern-bench: resuming {}: {} of {of} workloads measured, {left} to go",
            dir.display(),
            of - left
        );
    }
    measure_with(&suite, &mut results, &mut |r| report::write_report(r, dir))?;
    report::write_report(&results, dir)?;
    Ok(results)
}

/// The suite and fresh results for a new run.
fn start(opts: &Options) -> Result<(Suite, Results)> {
    let started = SystemTime::now();
    let settings = Settings::resolve(opts)?;
    let suite = Suite::new(opts)?;
    let meta = Meta { started_utc: clock::utc(started), duration_s: 0.0, settings, machine: suite.machine() };
    Ok((suite, Results { meta, workloads: Vec::new() }))
}

/// Measures what `results` lacks with `suite`.
fn measure_with(suite: &Suite, results: &mut Results, checkpoint: &mut Checkpoint) -> Result<()> {
    let build = tern_build(suite.tern(), suite.bench_dir());
    measure_remaining(results, &build, &mut |s, w, n, p| suite.measure(s, w, n, p), checkpoint)
}

/// Measures the planned workloads that `results` lacks, in plan order, as a
/// new session with tern `build`; after each, records when and with which
/// tern it was measured, adds it to `results` and calls `checkpoint`.
fn measure_remaining(
    results: &mut Results,
    build: &TernBuild,
    measure: &mut Measure,
    checkpoint: &mut Checkpoint,
) -> Result<()> {
    let settings = results.meta.settings.clone();
    let planned = settings.workloads()?;
    let session = results.workloads.iter().filter_map(|w| w.measured.as_ref()).map(|m| m.session).max();
    let session = session.unwrap_or(0) + 1;
    let (measured_before, clock_start) = (results.meta.duration_s, Instant::now());
    for (i, (w, n)) in planned.iter().enumerate() {
        if results.workloads.iter().any(|r| r.name == w.name) {
            continue;
        }
        let started = clock::utc(SystemTime::now());
        let mut result = measure(&settings, w, *n, &format!("[{}/{}] {}", i + 1, planned.len(), w.name));
        let finished_utc = clock::utc(SystemTime::now());
        result.measured = Some(Measured { session, started_utc: started, finished_utc, tern: build.clone() });
        results.workloads.push(result);
        let place = |r: &WorkloadResult| settings.plan.iter().position(|p| p.name == r.name);
        results.workloads.sort_by_key(place);
        results.meta.duration_s = measured_before + clock_start.elapsed().as_secs_f64();
        checkpoint(results)?;
    }
    Ok(())
}

/// Identifies the tern binary `tern`: its version, the commit of the source
/// tree `bench_dir` is in, and its hash.
fn tern_build(tern: &Path, bench_dir: &Path) -> TernBuild {
    let commit = Command::new("git")
        .arg("-C")
        .arg(bench_dir)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty());
    let binary_fnv1a = run::digest_file(tern, 0)
        .map_or_else(|e| format!("unreadable: {e}"), |(h, _, _)| format!("{h:016x}"));
    TernBuild { version: machine::first_line(tern, "--version"), commit, binary_fnv1a }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigId;
    use crate::results::{ConfigRuns, MetricKind, Sample};
    use crate::suite::Options;

    /// Three tiny workloads in quick mode, native and tern.
    fn three() -> Results {
        let mut o = Options::new("tern".into());
        o.quick = true;
        o.workloads = vec!["sort-static".into(), "hash-static".into(), "true".into()];
        o.configs = Some(vec![ConfigId::Tern]);
        let settings = Settings::resolve(&o).unwrap();
        let meta = Meta {
            started_utc: "2026-11-26 03:30:00".into(),
            duration_s: 0.0,
            settings,
            machine: Default::default(),
        };
        Results { meta, workloads: Vec::new() }
    }

    fn build(commit: &str) -> TernBuild {
        TernBuild {
            version: "tern 0.1.0".into(),
            commit: Some(commit.into()),
            binary_fnv1a: format!("{commit}0000"),
        }
    }

    /// A measurement without running anything: native 1 s, tern 2 s.
    fn fake(settings: &Settings, w: &Workload, n: u64) -> WorkloadResult {
        let sample = |value| Sample { value, wall_s: value, maxrss_kib: 1024, cpu_s: value };
        let runs = settings
            .configs
            .iter()
            .map(|&config| {
                let value = if config == ConfigId::Native { 1.0 } else { 2.0 };
                ConfigRuns { config, samples: vec![sample(value); settings.reps], failure: None }
            })
            .collect();
        WorkloadResult {
            name: w.name.clone(),
            group: w.group,
            about: w.about.into(),
            command: format!("{} {n}", w.name),
            n,
            metric: MetricKind::Time,
            runs,
            tern_stats: None,
            tern_trace_stats: None,
            measured: None,
        }
    }

    /// Runs `measure_remaining` with the fake measurement, recording which
    /// workloads it measured; `stop_after` cuts the session off (like a kill)
    /// after that many workloads by failing the checkpoint.
    fn session(results: &mut Results, b: &TernBuild, dir: &Path, stop_after: Option<usize>) -> Vec<String> {
        let mut measured = Vec::new();
        let mut measure = |s: &Settings, w: &Workload, n: u64, _: &str| {
            measured.push(w.name.clone());
            fake(s, w, n)
        };
        let mut saved = 0;
        let mut checkpoint = |r: &Results| {
            report::write_report(r, dir)?;
            saved += 1;
            if Some(saved) == stop_after {
                bail!("killed");
            }
            Ok(())
        };
        let _ = measure_remaining(results, b, &mut measure, &mut checkpoint);
        measured
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tern-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn resume_measures_only_what_is_missing() {
        let dir = temp_dir("resume");
        let mut results = three();
        assert_eq!(session(&mut results, &build("aaaa"), &dir, Some(2)), ["sort-static", "hash-static"]);

        // What a killed run leaves: a partial results.json and report.
        let mut saved = Results::load(&dir.join("results.json")).unwrap();
        assert_eq!(saved.workloads.len(), 2);
        assert_eq!(saved.unmeasured().iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["true"]);
        let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(report.contains("Partial: 2 of 3 workloads measured"), "{report}");
        assert!(report.contains("--resume"), "{report}");

        assert_eq!(session(&mut saved, &build("aaaa"), &dir, None), ["true"]);
        let done = Results::load(&dir.join("results.json")).unwrap();
        let names: Vec<&str> = done.workloads.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["sort-static", "hash-static", "true"]);
        let sessions: Vec<u32> =
            done.workloads.iter().map(|w| w.measured.as_ref().unwrap().session).collect();
        assert_eq!(sessions, [1, 1, 2]);
        let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(!report.contains("Partial"), "{report}");
        assert!(report.contains("Measured over 2 sessions"), "{report}");
        assert!(!report.contains("Caveat"), "same tern, no caveat:\n{report}");

        // A complete run has nothing left to measure.
        let mut again = done.clone();
        assert!(session(&mut again, &build("aaaa"), &dir, None).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_changed_tern_is_a_caveat() {
        let dir = temp_dir("caveat");
        let mut results = three();
        session(&mut results, &build("aaaa"), &dir, Some(1));
        session(&mut results, &build("bbbb"), &dir, None);
        let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(report.contains("Caveat"), "{report}");
        assert!(report.contains("commit aaaa") && report.contains("commit bbbb"), "{report}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn run_into_refuses_a_folder_with_results() {
        let dir = temp_dir("occupied");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("results.json"), "{}").unwrap();
        let e = run_into(&Options::new("tern".into()), &dir).unwrap_err().to_string();
        assert!(e.contains("--resume"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn resume_refuses_other_settings() {
        let dir = temp_dir("refuse");
        let mut results = three();
        session(&mut results, &build("aaaa"), &dir, Some(1));
        let mut asked = Options::new("tern".into());
        asked.reps = Some(5);
        let e = format!("{:#}", resume(&asked, &dir).unwrap_err());
        assert!(e.contains("cannot resume") && e.contains("--reps 5"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
