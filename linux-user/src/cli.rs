//! The command line: `tern [OPTIONS] PROGRAM [ARGS...]`.

use clap::Parser;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// Run an x86-64 Linux program under dynamic binary translation.
#[derive(Parser, Debug, Clone)]
#[command(name = "tern", version, about, args_override_self = true)]
pub struct Cli {
    /// Print every guest syscall with decoded arguments and result.
    #[arg(long)]
    pub strace: bool,
    /// Set VAR=VALUE in the guest environment (repeatable).
    #[arg(short = 'E', value_name = "VAR=VALUE", allow_hyphen_values = true)]
    pub set_env: Vec<OsString>,
    /// Remove VAR from the guest environment (repeatable).
    #[arg(short = 'U', value_name = "VAR", allow_hyphen_values = true)]
    pub unset_env: Vec<OsString>,
    /// argv[0] the guest sees (default: PROGRAM as given).
    #[arg(short = '0', value_name = "ARGV0", allow_hyphen_values = true)]
    pub argv0: Option<OsString>,
    /// Guest CPU model: x86-64, x86-64-v2, x86-64-v3, x86-64-v4 or host
    /// (default: host, the host's user-mode features tern runs faithfully).
    #[arg(long, value_name = "MODEL", default_value = "default")]
    pub cpu: String,
    /// Log items, comma separated: in_asm (guest code), op (IR), out_asm (host code),
    /// trace (each hot trace's dumps), persist (what the persistent translation cache gave).
    #[arg(short = 'd', value_name = "ITEMS")]
    pub debug: Option<String>,
    /// Restrict -d output to guest blocks starting in START-END or START+LEN (hex).
    #[arg(long, value_name = "RANGE")]
    pub dfilter: Option<String>,
    /// Write logs (-d, --strace, warnings) to FILE instead of stderr.
    #[arg(long = "log-file", short = 'D', value_name = "FILE")]
    pub log_file: Option<std::path::PathBuf>,
    /// Log to this inherited descriptor (used by tern when a guest execs).
    #[arg(long, value_name = "FD", hide = true)]
    pub log_fd: Option<i32>,
    /// Write /tmp/perf-PID.map so `perf report` attributes samples to guest code.
    #[arg(long)]
    pub perf_map: bool,
    /// Compile hot loops into traces with LLVM on background threads (off
    /// by default while traces run slower than the baseline).
    #[arg(long)]
    pub traces: bool,
    /// Run only the baseline translator (no hot traces; the default).
    #[arg(long)]
    pub no_traces: bool,
    /// Executions of a backward branch (per thread) that make its target a
    /// trace head.
    #[arg(long, value_name = "N", default_value_t = 4000, value_parser = clap::value_parser!(u32).range(1..))]
    pub trace_threshold: u32,
    /// Most blocks in one trace (1: a trace is one block).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub trace_max_blocks: u32,
    /// Form traces only at heads in LO-HI or LO+LEN (hex).
    #[arg(long, value_name = "RANGE")]
    pub trace_range: Option<String>,
    /// Install only the first N traces compiled.
    #[arg(long, value_name = "N")]
    pub trace_limit: Option<u64>,
    /// Take a trace out of use when its runs average fewer than N loop
    /// turns (entering it would cost more than it saves); 0: never.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub trace_min_loops: u64,
    /// Start counting loops, and compiling traces, once the process has
    /// run for MS milliseconds (a short process runs the baseline's code
    /// alone, never loads LLVM, nor pays for compilations that a run this
    /// short cannot earn back).
    #[arg(long, value_name = "MS", default_value_t = 400)]
    pub trace_delay: u64,
    /// Compile a head only when its branches reach the threshold twice
    /// within US microseconds: a loop that holds the CPU now, not code
    /// that got hot slowly over a long run; 0: the first time.
    #[arg(long, value_name = "US", default_value_t = 2000)]
    pub trace_window: u64,
    /// Count loops in bursts, PCT percent of the time (a burst every
    /// 500 ms, or less often where pausing and arming the counting would
    /// take more than 1 % of that): a loop that holds the CPU gets hot
    /// within any burst, and code that runs briefly costs only while one
    /// lasts; 100: all the time.
    #[arg(long, value_name = "PCT", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub trace_duty: u32,
    /// Compile traces (the optimizer threads' CPU time) for at most PCT
    /// percent of the time the process has run, beyond a first 100 ms,
    /// and beyond those for no longer than traces have run (or 1 % of the
    /// run time): a flat profile's compiles pay nothing back (the hottest
    /// waiting head goes first when the budget allows; compiling competes
    /// with the guest for the CPU); 0: no limit.
    #[arg(long, value_name = "PCT", default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub trace_budget: u32,
    /// Background threads compiling traces.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub optimizer_threads: u32,
    /// Optimisation of traces (0 to 3): 0, 1 and 3 LLVM's `default<ON>`
    /// pipelines; 2 tern's own, the passes a trace needs (a third of
    /// `default<O2>`'s time, the same loops).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub trace_opt: u8,
    /// Test only: wait for each hot head's trace to be compiled.
    #[arg(long, hide = true)]
    pub trace_sync: bool,
    /// Append each installed trace's head and id to FILE (`tern bisect`).
    #[arg(long, value_name = "FILE", hide = true)]
    pub trace_log: Option<std::path::PathBuf>,
    /// Test only: miscompile the trace at this head (hex) on purpose.
    #[arg(long, value_name = "PC", hide = true)]
    pub trace_miscompile: Option<String>,
    /// Most generated code kept, in MiB (1 to 1024): a full cache is
    /// flushed and its memory reused.
    #[arg(long, value_name = "MIB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub cache_size: u64,
    /// Directory of the persistent translation cache, where tern processes
    /// keep the code they translated for later ones (default:
    /// $XDG_CACHE_HOME/tern, else ~/.cache/tern).
    #[arg(long, value_name = "DIR")]
    pub code_cache: Option<PathBuf>,
    /// Keep no translations across processes.
    #[arg(long, conflicts_with = "code_cache")]
    pub no_code_cache: bool,
    /// Print counters (blocks, chaining, lookups, syscalls, time) at exit.
    #[arg(long)]
    pub stats: bool,
    /// Print the syscall table (number, name, support, reason) and exit.
    #[arg(long)]
    pub syscalls: bool,
    /// Run the programs the guest execs natively, not under tern (as
    /// qemu-user without binfmt_misc).
    #[arg(long)]
    pub no_follow_exec: bool,
    /// Start a new tern (a host execve) for every program the guest execs,
    /// instead of loading it into the exec'ing process where that process
    /// has one thread and shares its memory with no other.
    #[arg(long)]
    pub no_exec_in_place: bool,
    /// An inherited descriptor PROGRAM's path goes through (a guest
    /// `execveat` of a close-on-exec descriptor); closed once loaded.
    #[arg(long, value_name = "FD", hide = true)]
    pub exec_fd: Option<i32>,
    /// The guest's RLIMIT_AS and RLIMIT_DATA, handed over by the tern that
    /// ran the guest's `execve` (`tern_syscalls::rlimit`).
    #[arg(long, value_name = "LIMITS", hide = true)]
    pub guest_rlimits: Option<String>,
    /// The host's CPUID answers, handed over by the tern that ran the
    /// guest's `execve` (`tern_translate::model::host_cpuid_handover`).
    #[arg(long, value_name = "ANSWERS", hide = true)]
    pub host_cpuid: Option<String>,
    /// The guest's seccomp mode and filters, handed over by the tern that
    /// ran the guest's `execve` (`tern_syscalls::seccomp`).
    #[arg(long, value_name = "MODE", hide = true)]
    pub guest_seccomp: Option<String>,
    /// PROGRAM is a path as a guest `execve` gave it: no PATH search (used
    /// by tern when a guest execs).
    #[arg(long, hide = true)]
    pub execve: bool,
    /// The program to run (looked up in PATH when it has no slash), then its
    /// arguments. Everything after PROGRAM goes to the program.
    #[arg(value_name = "PROGRAM [ARGS]", required_unless_present = "syscalls", num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<OsString>,
}

impl Cli {
    /// The program as given.
    pub fn program(&self) -> &OsStr {
        &self.command[0]
    }

    /// The program's arguments (after argv[0]).
    pub fn args(&self) -> &[OsString] {
        &self.command[1..]
    }

    /// True if anything is logged (the log then follows the guest's execs).
    pub fn logging(&self) -> bool {
        self.strace || self.stats || self.debug.is_some() || self.log_file.is_some() || self.log_fd.is_some()
    }

    /// Options to repeat when the guest execs another program (the log
    /// descriptor is added by the exec itself).
    pub fn reexec_options(&self) -> Vec<String> {
        let mut o = Vec::new();
        if self.strace {
            o.push("--strace".into());
        }
        if self.stats {
            o.push("--stats".into());
        }
        if self.perf_map {
            o.push("--perf-map".into());
        }
        o.push("--cpu".into());
        o.push(self.cpu.clone());
        if let Some(d) = &self.debug {
            o.push("-d".into());
            o.push(d.clone());
        }
        if let Some(f) = &self.dfilter {
            o.push("--dfilter".into());
            o.push(f.clone());
        }
        if self.cache_size != 1024 {
            o.push("--cache-size".into());
            o.push(self.cache_size.to_string());
        }
        match &self.code_cache {
            Some(d) => {
                o.push("--code-cache".into());
                o.push(d.to_string_lossy().into_owned());
            }
            None => o.push("--no-code-cache".into()),
        }
        if self.no_exec_in_place {
            o.push("--no-exec-in-place".into());
        }
        if self.no_traces {
            o.push("--no-traces".into());
        } else if self.traces {
            o.push("--traces".into());
        }
        let mut num = |flag: &str, v: String, default: &str| {
            if v != default {
                o.push(flag.into());
                o.push(v);
            }
        };
        num("--trace-threshold", self.trace_threshold.to_string(), "4000");
        num("--trace-max-blocks", self.trace_max_blocks.to_string(), "16");
        num("--optimizer-threads", self.optimizer_threads.to_string(), "1");
        num("--trace-min-loops", self.trace_min_loops.to_string(), "256");
        num("--trace-delay", self.trace_delay.to_string(), "400");
        num("--trace-window", self.trace_window.to_string(), "2000");
        num("--trace-budget", self.trace_budget.to_string(), "10");
        num("--trace-duty", self.trace_duty.to_string(), "5");
        num("--trace-opt", self.trace_opt.to_string(), "2");
        if let Some(r) = &self.trace_range {
            o.push("--trace-range".into());
            o.push(r.clone());
        }
        if let Some(n) = self.trace_limit {
            o.push("--trace-limit".into());
            o.push(n.to_string());
        }
        if self.trace_sync {
            o.push("--trace-sync".into());
        }
        if let Some(f) = &self.trace_log {
            o.push("--trace-log".into());
            o.push(f.display().to_string());
        }
        if let Some(pc) = &self.trace_miscompile {
            o.push("--trace-miscompile".into());
            o.push(pc.clone());
        }
        o
    }
}

/// Parses a `--dfilter` range.
pub fn parse_range(s: &str) -> Option<(u64, u64)> {
    let hex = |t: &str| u64::from_str_radix(t.trim().trim_start_matches("0x"), 16).ok();
    if let Some((a, b)) = s.split_once('-') {
        Some((hex(a)?, hex(b)?))
    } else if let Some((a, b)) = s.split_once('+') {
        let a = hex(a)?;
        Some((a, a.checked_add(hex(b)?)?))
    } else {
        let a = hex(s)?;
        Some((a, a + 1))
    }
}
