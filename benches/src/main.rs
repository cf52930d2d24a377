//! `tern-bench`: runs tern's benchmark suite and writes the report (a thin
//! command line over the `tern_benches` library; see `benches/README.md`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use clap::Parser;
use tern_benches::{clock, report, run as process, workloads, ConfigId, Options, Results};

/// Run tern's benchmark suite: each workload under native, tern, tern
/// --no-traces, qemu-x86_64 and valgrind, reported as ratios to native.
#[derive(Parser, Debug)]
#[command(name = "tern-bench")]
struct Cli {
    /// Quick mode: small inputs, a subset of workloads.
    #[arg(long)]
    quick: bool,
    /// Workloads or groups to run, comma separated (default: all of the mode's).
    #[arg(long, value_delimiter = ',', value_name = "A,B,...")]
    workloads: Vec<String>,
    /// Configurations, comma separated; native is always run
    /// [default: native,tern,tern-baseline,qemu,valgrind].
    #[arg(long, value_name = "A,B,...")]
    configs: Option<String>,
    /// Repetitions per configuration [default: 3].
    #[arg(long, value_name = "N")]
    reps: Option<usize>,
    /// Results folder (default: bench-results/<UTC timestamp>/), saved into
    /// after every workload.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the run saved in DIR (its results.json) with its settings,
    /// measuring the workloads it lacks.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["list", "render"])]
    resume: Option<PathBuf>,
    /// The tern binary (default: target/release/tern, honouring CARGO_TARGET_DIR).
    #[arg(long, value_name = "PATH")]
    tern: Option<PathBuf>,
    /// Cache of built kernels and generated inputs (default: bench-results/cache/).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Use this size for every workload instead of the table's (for trying things out).
    #[arg(long, value_name = "N")]
    size: Option<u64>,
    /// A fixed per-run timeout in seconds (default: from the native time).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Skip the untimed `tern --stats` run per workload.
    #[arg(long)]
    no_stats: bool,
    /// List the workloads and exit.
    #[arg(long)]
    list: bool,
    /// Re-render the report from a results.json (into --out, default its folder) and exit.
    #[arg(long, value_name = "RESULTS_JSON")]
    render: Option<PathBuf>,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn list() {
    println!("quick n in parentheses: not part of quick mode unless named\n");
    println!("{:<20} {:<9} {:>10} {:>8}  about", "workload", "group", "full n", "quick n");
    for w in workloads::all() {
        let quick = if w.in_quick() { w.scale.quick.to_string() } else { format!("({})", w.scale.quick) };
        println!("{:<20} {:<9} {:>10} {:>8}  {}", w.name, w.group.name(), w.scale.full, quick, w.about);
    }
}

fn run(cli: Cli) -> Result<()> {
    if cli.list {
        list();
        return Ok(());
    }
    if let Some(json) = &cli.render {
        let results = Results::load(json)?;
        let dir = cli.out.clone().unwrap_or_else(|| json.parent().map(PathBuf::from).unwrap_or_default());
        report::write_report(&results, &dir)?;
        println!("report: {}", dir.join("report.md").display());
        return Ok(());
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), PathBuf::from);
    let mut opts = Options::new(cli.tern.unwrap_or_else(|| target.join("release/tern")));
    opts.quick = cli.quick;
    opts.workloads = cli.workloads;
    opts.configs =
        cli.configs.as_deref().map(ConfigId::parse_list).transpose().map_err(anyhow::Error::msg)?;
    opts.reps = cli.reps;
    opts.size = cli.size;
    opts.timeout = cli.timeout.map(Duration::from_secs_f64);
    opts.tern_stats = !cli.no_stats;
    if let Some(cache) = cli.cache {
        opts.cache = cache;
    }
    process::kill_running_on_termination().context("installing signal handlers")?;
    let out = match cli.resume {
        Some(dir) => {
            tern_benches::resume(&opts, &dir)?;
            dir
        }
        None => {
            let out = cli
                .out
                .unwrap_or_else(|| repo_root().join("bench-results").join(clock::compact(SystemTime::now())));
            tern_benches::run_into(&opts, &out).context("running the suite")?;
            out
        }
    };
    println!("report: {}", out.join("report.md").display());
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tern-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
