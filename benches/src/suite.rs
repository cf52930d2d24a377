//! Measuring workloads: builds the kernels and generates the inputs, runs a
//! workload under every configuration in interleaved order (native, tern,
//! ..., native, tern, ...), checks each run against native, and makes one
//! untimed `tern --stats` run for its counters (and, when tern-traces is
//! measured, one under `tern --traces --stats`). Which workloads a run
//! measures, and the saving between them, is `session.rs`'s business.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::config::{ConfigId, Tools};
use crate::inputs;
use crate::kernels;
use crate::machine;
use crate::results::{ConfigRuns, Failure, Machine, MetricKind, Sample, StatsRun, WorkloadResult};
use crate::run::{self, Exit, Invocation, Outcome};
use crate::settings::Settings;
use crate::stats;
use crate::summary;
use crate::workloads::{Check, Metric, Program, Workload};

/// How much of stdout is kept as text (for rate parsing and mismatch reports).
const STDOUT_HEAD: usize = 64 * 1024;
/// How many stderr lines a failure report keeps.
const STDERR_LINES: usize = 6;

/// What to measure and where. The fields up to `timeout` and `tern_stats`
/// say what to measure: [`Settings::resolve`] turns them into a run's
/// settings, and a resumed run checks them against the saved ones
/// ([`Settings::check_request`]); the rest say where things are.
#[derive(Clone, Debug)]
pub struct Options {
    /// Quick mode: smaller sizes, fewer workloads.
    pub quick: bool,
    /// Workload or group names; empty for all of the mode's workloads.
    pub workloads: Vec<String>,
    /// Configurations (native is always included); `None` for all.
    pub configs: Option<Vec<ConfigId>>,
    /// Repetitions per configuration; `None` for [`crate::settings::DEFAULT_REPS`].
    pub reps: Option<usize>,
    /// Overrides every workload's size (for smoke tests and development).
    pub size: Option<u64>,
    /// A fixed per-run timeout instead of the one derived from native time.
    pub timeout: Option<Duration>,
    /// Make the untimed `tern --stats` run per workload (`false`: `--no-stats`).
    pub tern_stats: bool,
    /// The tern binary.
    pub tern: PathBuf,
    /// Where kernel binaries, generated inputs and scratch directories go.
    pub cache: PathBuf,
    /// `benches/` (holds `kernels/` and `scripts/`).
    pub bench_dir: PathBuf,
    /// Print a line per run to stderr.
    pub progress: bool,
}

impl Options {
    /// Full mode, every configuration, caches under `<repo>/bench-results/cache`.
    pub fn new(tern: PathBuf) -> Options {
        let bench_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        Options {
            quick: false,
            workloads: Vec::new(),
            configs: None,
            reps: None,
            size: None,
            timeout: None,
            tern_stats: true,
            tern,
            cache: bench_dir.join("../bench-results/cache"),
            bench_dir,
            progress: true,
        }
    }

    /// The same options with absolute paths (runs start in a scratch
    /// directory), creating the cache directory.
    fn absolute(&self) -> Result<Options> {
        fs::create_dir_all(&self.cache).with_context(|| format!("creating {}", self.cache.display()))?;
        let abs = |p: &Path| p.canonicalize().with_context(|| format!("{} not found", p.display()));
        Ok(Options {
            cache: abs(&self.cache)?,
            bench_dir: abs(&self.bench_dir)?,
            tern: abs(&self.tern)?,
            ..self.clone()
        })
    }
}

/// Everything needed to measure workloads: the paths (absolute), the
/// emulators found, and the runner with its scratch directory.
pub struct Suite {
    opts: Options,
    tools: Tools,
    runner: Runner,
}

impl Suite {
    /// Checks that the tern binary exists and finds the emulators. Only the
    /// paths and `progress` of `opts` are used: what to measure comes from
    /// the [`Settings`] given to [`Suite::measure`].
    pub fn new(opts: &Options) -> Result<Suite> {
        if !opts.tern.is_file() {
            bail!(
                "tern binary {} not found (build it with cargo build --release -p tern)",
                opts.tern.display()
            );
        }
        let opts = opts.absolute()?;
        let tools = Tools::find(&opts.tern);
        let runner = Runner::new(&opts.cache)?;
        Ok(Suite { opts, tools, runner })
    }

    /// The tern binary (absolute).
    pub fn tern(&self) -> &Path {
        &self.opts.tern
    }

    /// `benches/` (absolute).
    pub fn bench_dir(&self) -> &Path {
        &self.opts.bench_dir
    }

    /// Whether to print a line per run.
    pub fn progress(&self) -> bool {
        self.opts.progress
    }

    /// This machine and the tools' versions.
    pub fn machine(&self) -> Machine {
        machine::describe(&self.tools)
    }

    /// Measures workload `w` at size `n` under `settings`' configurations
    /// and repetitions; `progress` prefixes its progress lines. Failures are
    /// recorded in the result, never returned.
    pub fn measure(&self, settings: &Settings, w: &Workload, n: u64, progress: &str) -> WorkloadResult {
        let (opts, tools, runner) = (&self.opts, &self.tools, &self.runner);
        let starts = w.starts(n);
        let mut runs: Vec<ConfigRuns> = settings
            .configs
            .iter()
            .map(|&config| ConfigRuns { config, samples: Vec::new(), failure: None })
            .collect();
        let mut result = WorkloadResult {
            name: w.name.clone(),
            group: w.group,
            about: w.about.to_string(),
            command: String::new(),
            n,
            metric: match w.metric {
                Metric::Time => MetricKind::Time,
                Metric::PerStart => MetricKind::PerStart { starts },
                Metric::Rate { unit, .. } => MetricKind::Rate { unit: unit.to_string() },
            },
            runs: Vec::new(),
            tern_stats: None,
            tern_trace_stats: None,
            measured: None,
        };
        let prepared = match prepare(opts, w, n, &runner.scratch) {
            Ok(p) => p,
            Err(e) => {
                if opts.progress {
                    eprintln!("{progress}: setup failed: {e:#}");
                }
                for r in &mut runs {
                    r.failure = Some(Failure { kind: "setup failed".into(), detail: format!("{e:#}") });
                }
                result.runs = runs;
                return result;
            }
        };
        result.command = display_command(&prepared.argv);
        for r in &mut runs {
            if let Err(e) = tools.prefix(r.config) {
                r.failure = Some(Failure { kind: "unavailable".into(), detail: e });
            }
        }
        let mut reference: Option<Output> = None;
        for rep in 0..settings.reps {
            for ci in 0..runs.len() {
                let config = runs[ci].config;
                if runs[ci].failure.is_some() {
                    continue;
                }
                let native = &runs[0];
                if config != ConfigId::Native && native.failure.is_some() {
                    runs[ci].failure = Some(Failure {
                        kind: "skipped".into(),
                        detail: "the native run failed: nothing to compare".into(),
                    });
                    continue;
                }
                let timeout = if config == ConfigId::Native {
                    settings.native_timeout()
                } else {
                    settings.emulated_timeout(summary::values(native).map(|s| s.median))
                };
                let prefix = tools.prefix(config).unwrap_or_default();
                let argv: Vec<OsString> = prefix.into_iter().chain(prepared.argv.iter().cloned()).collect();
                let measured = runner.measure(w, &argv, starts, timeout, reference.as_ref());
                let line = match measured {
                    Ok((sample, output)) => {
                        if reference.is_none() && config == ConfigId::Native {
                            reference = Some(output);
                        }
                        runs[ci].samples.push(sample);
                        format!("{:.3} s", sample.wall_s)
                    }
                    Err(f) => {
                        let line = format!("FAILED: {}", f.kind);
                        runs[ci].failure = Some(f);
                        line
                    }
                };
                if opts.progress {
                    eprintln!("{progress} rep {}/{} {}: {line}", rep + 1, settings.reps, config.name());
                }
            }
        }
        let wants_stats = settings
            .configs
            .iter()
            .any(|c| matches!(c, ConfigId::Tern | ConfigId::TernBaseline | ConfigId::TernTraces));
        if settings.tern_stats && wants_stats {
            result.tern_stats = Some(self.stats_run(settings, &prepared, &runs, false));
        }
        if settings.tern_stats && settings.configs.contains(&ConfigId::TernTraces) {
            result.tern_trace_stats = Some(self.stats_run(settings, &prepared, &runs, true));
        }
        result.runs = runs;
        result
    }

    /// One untimed run under `tern --stats` (with `traces`, `tern --traces
    /// --stats`), for its counters. Not made when a timed run it stands for
    /// (any tern configuration; with `traces`, tern-traces) timed out.
    fn stats_run(
        &self,
        settings: &Settings,
        prepared: &Prepared,
        runs: &[ConfigRuns],
        traces: bool,
    ) -> StatsRun {
        let timed_out = runs
            .iter()
            .filter(|r| match r.config {
                ConfigId::TernTraces => true,
                ConfigId::Tern | ConfigId::TernBaseline => !traces,
                _ => false,
            })
            .any(|r| r.failure.as_ref().is_some_and(|f| f.kind.starts_with("timeout")));
        if timed_out {
            let which = if traces { "tern --traces" } else { "tern" };
            return StatsRun {
                counters: Vec::new(),
                note: Some(format!("not run: {which} timed out on this workload")),
            };
        }
        let native = runs.iter().find(|r| r.config == ConfigId::Native).and_then(summary::values);
        let argv: Vec<OsString> =
            self.tools.stats_prefix(traces).into_iter().chain(prepared.argv.iter().cloned()).collect();
        match self.runner.start(&argv, settings.emulated_timeout(native.map(|s| s.median))) {
            Ok(outcome) => {
                let stderr = fs::read(&self.runner.stderr).unwrap_or_default();
                let counters = stats::parse(&String::from_utf8_lossy(&stderr));
                let note = match outcome.exit {
                    Exit::Code(0) if counters.is_empty() => {
                        Some("exit 0 but no `tern stats:` block on stderr".into())
                    }
                    Exit::Code(0) => None,
                    other => Some(exit_kind(other, outcome.wall)),
                };
                StatsRun { counters, note }
            }
            Err(e) => StatsRun { counters: Vec::new(), note: Some(format!("could not start: {e}")) },
        }
    }
}

/// A workload ready to run: the native command line.
struct Prepared {
    argv: Vec<OsString>,
}

fn prepare(opts: &Options, w: &Workload, n: u64, scratch: &Path) -> Result<Prepared> {
    let program = match w.program {
        Program::Kernel { src, link, march } => {
            kernels::build(src, link, march, &opts.bench_dir.join("kernels"), &opts.cache)?
        }
        Program::System { path, package } => {
            let p = PathBuf::from(path);
            if !p.is_file() {
                bail!("{path} not found (apt-get install {package})");
            }
            p
        }
        Program::GccCc1 => cc1_path()?,
    };
    let scripts = opts.bench_dir.join("scripts");
    let input = inputs::materialize(w.input, n, &opts.cache, &scripts)?;
    let mut argv = vec![program.into_os_string()];
    for a in w.args {
        let mut s = a.replace("{n}", &n.to_string());
        s = s.replace("{scripts}", &scripts.to_string_lossy());
        s = s.replace("{scratch}", &scratch.to_string_lossy());
        if let Some(input) = &input {
            s = s.replace("{input}", &input.to_string_lossy());
        }
        argv.push(s.into());
    }
    Ok(Prepared { argv })
}

/// The host gcc's `cc1`.
fn cc1_path() -> Result<PathBuf> {
    let out = std::process::Command::new("gcc")
        .arg("-print-prog-name=cc1")
        .output()
        .context("running gcc (apt-get install gcc)")?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !path.is_absolute() || !path.is_file() {
        bail!("gcc -print-prog-name=cc1 gave {}, not a file", path.display());
    }
    Ok(path)
}

/// What a successful native run printed, to compare the others with.
struct Output {
    hash: u64,
    len: u64,
    head: String,
}

/// Runs programs with stdout/stderr in files and a fresh scratch directory.
struct Runner {
    scratch: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
    env: Vec<(&'static str, OsString)>,
}

impl Runner {
    fn new(cache: &Path) -> Result<Runner> {
        let dir = cache.join("run");
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let scratch = dir.join("scratch");
        let env = vec![
            ("LC_ALL", "C".into()),
            ("PYTHONHASHSEED", "0".into()),
            ("PYTHONDONTWRITEBYTECODE", "1".into()),
            ("TMPDIR", scratch.clone().into_os_string()),
        ];
        Ok(Runner { stdout: dir.join("stdout"), stderr: dir.join("stderr"), scratch, env })
    }

    /// One start in an emptied scratch directory.
    fn start(&self, argv: &[OsString], timeout: Duration) -> std::io::Result<Outcome> {
        let _ = fs::remove_dir_all(&self.scratch);
        fs::create_dir_all(&self.scratch)?;
        run::run(&Invocation {
            argv,
            cwd: &self.scratch,
            env: &self.env,
            stdout: &self.stdout,
            stderr: &self.stderr,
            timeout,
        })
    }

    /// One sample: `starts` starts, judged by exit status and `w.check`
    /// against the native `reference`, valued by `w.metric`.
    fn measure(
        &self,
        w: &Workload,
        argv: &[OsString],
        starts: u64,
        timeout: Duration,
        reference: Option<&Output>,
    ) -> Result<(Sample, Output), Failure> {
        let (mut wall, mut cpu, mut maxrss_kib) = (Duration::ZERO, Duration::ZERO, 0);
        for _ in 0..starts {
            let o = self
                .start(argv, timeout)
                .map_err(|e| Failure { kind: "could not start".into(), detail: e.to_string() })?;
            if o.exit != Exit::Code(0) {
                return Err(Failure { kind: exit_kind(o.exit, timeout), detail: self.stderr_head() });
            }
            wall += o.wall;
            cpu += o.cpu;
            maxrss_kib = maxrss_kib.max(o.maxrss_kib);
        }
        let (hash, len, head) = run::digest_file(&self.stdout, STDOUT_HEAD)
            .map_err(|e| Failure { kind: "could not read stdout".into(), detail: e.to_string() })?;
        let output = Output { hash, len, head };
        if let (Check::Stdout, Some(r)) = (w.check, reference) {
            if (r.hash, r.len) != (output.hash, output.len) {
                return Err(Failure { kind: "output differs".into(), detail: describe_mismatch(r, &output) });
            }
        }
        let value = match w.metric {
            Metric::Time => wall.as_secs_f64(),
            Metric::PerStart => wall.as_secs_f64() / starts as f64,
            Metric::Rate { parse, unit } => match parse(&output.head) {
                Some(rate) if rate > 0.0 => rate,
                _ => {
                    return Err(Failure {
                        kind: "no rate in output".into(),
                        detail: format!(
                            "expected a rate in {unit}; stdout began: {}",
                            first_lines(&output.head, 3)
                        ),
                    })
                }
            },
        };
        let cpu_s = match w.metric {
            Metric::PerStart => cpu.as_secs_f64() / starts as f64,
            _ => cpu.as_secs_f64(),
        };
        Ok((Sample { value, wall_s: wall.as_secs_f64(), maxrss_kib, cpu_s }, output))
    }

    fn stderr_head(&self) -> String {
        let text = fs::read(&self.stderr).unwrap_or_default();
        let text = String::from_utf8_lossy(&text[..text.len().min(STDOUT_HEAD)]).into_owned();
        let lines = first_lines(&text, STDERR_LINES);
        if lines.is_empty() {
            "(no stderr output)".into()
        } else {
            lines
        }
    }
}

/// `exit 1`, `signal 14 (SIGALRM)`, `timeout (60 s)`.
fn exit_kind(exit: Exit, timeout: Duration) -> String {
    match exit {
        Exit::Code(c) => format!("exit {c}"),
        Exit::Signal(s) => {
            let name = nix::sys::signal::Signal::try_from(s).map_or("?", |s| s.as_str());
            format!("signal {s} ({name})")
        }
        Exit::Timeout => format!("timeout ({:.0} s)", timeout.as_secs_f64()),
    }
}

/// The first `n` non-empty lines of `text`, each cut to 200 characters, joined with newlines.
fn first_lines(text: &str, n: usize) -> String {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .take(n)
        .map(|l| {
            if l.chars().count() > 200 {
                format!("{}…", l.chars().take(200).collect::<String>())
            } else {
                l.into()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where two outputs first differ.
fn describe_mismatch(native: &Output, got: &Output) -> String {
    let sizes = format!("native printed {} bytes, this run {} bytes", native.len, got.len);
    let differing = native.head.lines().zip(got.head.lines()).enumerate().find(|(_, (a, b))| a != b);
    match differing {
        Some((i, (a, b))) => {
            format!("{sizes}; line {}: native `{}`, got `{}`", i + 1, first_lines(a, 1), first_lines(b, 1))
        }
        None if got.len == 0 => format!("{sizes}; no output"),
        None => format!("{sizes}; the first {} bytes agree", native.head.len().min(got.head.len())),
    }
}

fn display_command(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| {
            let s = a.to_string_lossy();
            if s.contains(' ') {
                format!("'{s}'")
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_names_the_first_differing_line() {
        let a = Output { hash: 1, len: 8, head: "one\ntwo\n".into() };
        let b = Output { hash: 2, len: 8, head: "one\ntwx\n".into() };
        let d = describe_mismatch(&a, &b);
        assert!(d.contains("line 2: native `two`, got `twx`"), "{d}");
    }
}
