//! `fuzz-syscall`: long runs of the syscall fuzzer.
//!
//! ```text
//! fuzz-syscall [--seed N] [--cases N | --minutes M] [--calls-per-case K] [--no-tern-pointers] [--tern PATH]
//! ```
//! Runs cases with seeds N, N+1, ... (K calls each, default 200), prints every
//! failure (seed, the last calls with their arguments, tern's stderr) and the
//! figures at the end. Exits 1 when an unknown failure was found. Arguments
//! point into tern's memory unless `--no-tern-pointers` is given; until
//! issue 10 item 1 is resolved, failures of such cases count as known.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tern_fuzz_guest::sys;

fn main() {
    let mut seed = 1u64;
    let mut cases = u64::MAX;
    let mut minutes = None;
    let mut per_case = 200usize;
    let mut tern = None;
    let mut tern_pointers = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage(&format!("{a} needs a value")));
        match a.as_str() {
            "--seed" => seed = val().parse().unwrap_or_else(|_| usage("bad --seed")),
            "--cases" => cases = val().parse().unwrap_or_else(|_| usage("bad --cases")),
            "--minutes" => minutes = Some(val().parse::<f64>().unwrap_or_else(|_| usage("bad --minutes"))),
            "--calls-per-case" => per_case = val().parse().unwrap_or_else(|_| usage("bad --calls-per-case")),
            "--no-tern-pointers" => tern_pointers = false,
            "--tern" => tern = Some(PathBuf::from(val())),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    let tern = tern.unwrap_or_else(tern_fuzz_guest::tern_binary);
    let guest = sys::guest();
    if cases == u64::MAX && minutes.is_none() {
        cases = 50;
    }
    let start = Instant::now();
    let deadline = minutes.map(|m| start + Duration::from_secs_f64(m * 60.0));
    let fig = sys::campaign(
        &guest,
        &tern,
        (seed..).take(cases.try_into().unwrap_or(usize::MAX)),
        per_case,
        tern_pointers,
        deadline,
        &mut |s| println!("{s}"),
    );
    println!("fuzz-syscall: {fig} in {:.0} s (seeds from {seed})", start.elapsed().as_secs_f64());
    if !fig.failing_seeds.is_empty() {
        std::process::exit(1);
    }
}

fn usage(why: &str) -> ! {
    eprintln!("fuzz-syscall: {why}\nusage: fuzz-syscall [--seed N] [--cases N | --minutes M] [--calls-per-case K] [--no-tern-pointers] [--tern PATH]");
    std::process::exit(2);
}
