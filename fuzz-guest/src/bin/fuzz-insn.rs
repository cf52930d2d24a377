//! `fuzz-insn`: long runs of the differential instruction fuzzer.
//!
//! ```text
//! fuzz-insn [--seed N] [--cases N | --minutes M] [--tern PATH] [--shrink-secs S] [--avoid-known] [--avx] [--evex] [--show SEED]
//! ```
//! Runs cases with seeds N, N+1, ... until the case count or the time is
//! used, prints every difference (seed, disassembly, state diff) and the
//! figures at the end. `--show SEED` prints one case's code and verdict.
//! `--avx` adds the x86-64-v3 class (VEX instructions, ymm upper halves);
//! `--evex` the x86-64-v4 class (AVX-512 with opmasks, broadcast, rounding,
//! zmm and opmask registers, FS-relative operands; implies the ymm state).
//! Exits 1 when an unknown difference was found.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tern_fuzz_guest::insn;

fn main() {
    let mut seed = 1u64;
    let mut cases = u64::MAX;
    let mut minutes = None;
    let mut tern = None;
    let mut shrink = 30.0;
    let mut show = None;
    let mut strict = false;
    let mut avx = false;
    let mut evex = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage(&format!("{a} needs a value")));
        match a.as_str() {
            "--seed" => seed = val().parse().unwrap_or_else(|_| usage("bad --seed")),
            "--cases" => cases = val().parse().unwrap_or_else(|_| usage("bad --cases")),
            "--minutes" => minutes = Some(val().parse::<f64>().unwrap_or_else(|_| usage("bad --minutes"))),
            "--tern" => tern = Some(PathBuf::from(val())),
            "--shrink-secs" => shrink = val().parse().unwrap_or_else(|_| usage("bad --shrink-secs")),
            "--avoid-known" => strict = true,
            "--avx" => avx = true,
            "--evex" => evex = true,
            "--show" => show = Some(val().parse::<u64>().unwrap_or_else(|_| usage("bad --show"))),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    let tern = tern.unwrap_or_else(tern_fuzz_guest::tern_binary);
    let harness = insn::harness();
    let opts = insn::GenOptions { avoid_known: strict, avx, evex, ..Default::default() };
    if let Some(s) = show {
        let p = insn::generate(s, &opts);
        let code = insn::encode(&p).expect("encode");
        println!("seed {s}: {} groups\n{}", p.groups.len(), insn::disassemble(&code));
        println!("{:?}", insn::check(&harness, &tern, &p));
        return;
    }
    if cases == u64::MAX && minutes.is_none() {
        cases = 1000;
    }
    let start = Instant::now();
    let deadline = minutes.map(|m| start + Duration::from_secs_f64(m * 60.0));
    let fig = insn::campaign(
        &harness,
        &tern,
        (seed..).take(cases.try_into().unwrap_or(usize::MAX)),
        &opts,
        Duration::from_secs_f64(shrink),
        deadline,
        &mut |s| println!("{s}"),
    );
    println!("fuzz-insn: {fig} in {:.0} s (seeds from {seed})", start.elapsed().as_secs_f64());
    if !fig.failing_seeds.is_empty() {
        std::process::exit(1);
    }
}

fn usage(why: &str) -> ! {
    eprintln!("fuzz-insn: {why}\nusage: fuzz-insn [--seed N] [--cases N | --minutes M] [--tern PATH] [--shrink-secs S] [--avoid-known] [--avx] [--evex] [--show SEED]");
    std::process::exit(2);
}
