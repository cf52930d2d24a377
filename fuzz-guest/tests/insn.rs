//! Short runs of the differential instruction fuzzer in the normal suite:
//! any difference that no allowlist entry explains fails the test.

use std::time::{Duration, Instant};

use tern_fuzz_guest::insn::{self, GenOptions};

/// Cases per run: `TERN_FUZZ_CASES` or 300, stopped early after 45 s (the
/// count run is printed).
fn cases() -> u64 {
    std::env::var("TERN_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(300)
}

fn run(name: &str, seeds: impl Iterator<Item = u64>, opts: &GenOptions, budget: Duration) {
    let tern = tern_fuzz_guest::tern_binary();
    let harness = insn::harness();
    let fig = insn::campaign(
        &harness,
        &tern,
        seeds,
        opts,
        Duration::from_secs(20),
        Some(Instant::now() + budget),
        &mut |s| println!("{s}"),
    );
    println!("{name}: {fig}");
    assert!(fig.cases > 0, "no case ran");
    assert!(fig.invalid * 10 <= fig.cases, "too many invalid cases: {fig}");
    assert!(fig.failing_seeds.is_empty(), "{name}: differences from native: {fig}");
}

/// Everything but segment register loads (a known divergence, below).
#[test]
fn random_sequences_match_native() {
    let opts = GenOptions { avoid_known: true, ..Default::default() };
    run("strict", 1_000_000..1_000_000 + cases(), &opts, Duration::from_secs(45));
}

/// All classes, segment loads included: differences matching the allowlist
/// are printed, others fail.
#[test]
fn random_sequences_with_segment_loads() {
    run("all", 2_000_000..2_000_000 + cases() / 10, &GenOptions::default(), Duration::from_secs(30));
}

/// Seeds that once found a bug.
#[test]
fn regression_seeds() {
    run(
        "regressions",
        insn::REGRESSION_SEEDS.iter().copied(),
        &GenOptions::default(),
        Duration::from_secs(120),
    );
}

/// The generator is deterministic and its table covers the model.
#[test]
fn generator_is_deterministic_and_broad() {
    let a = insn::encode(&insn::generate(7, &GenOptions::default())).unwrap();
    let b = insn::encode(&insn::generate(7, &GenOptions::default())).unwrap();
    assert_eq!(a, b);
    let n = insn::gen::usable_codes().len();
    assert!(n > 1000, "only {n} usable instruction forms");
}

/// The harness hands the state through unchanged for an empty program, and
/// the comparison sees a one-bit change in a register, XMM or memory.
#[test]
fn the_oracle_sees_differences() {
    let harness = insn::harness();
    let mut p = insn::generate(5, &GenOptions::default());
    p.groups.clear();
    let code = insn::encode(&p).unwrap();
    let run = |p: &insn::Program| match insn::run_harness(&harness, None, &insn::harness_input(p, &code)) {
        insn::Outcome::Done(st, mem) => (st, mem),
        other => panic!("empty program did not run to the end: {other:?}"),
    };
    let (a, ma) = run(&p);
    assert_eq!(a.gpr, p.init.gpr, "registers are not handed through");
    assert_eq!(a.xmm, p.init.xmm, "XMM registers are not handed through");
    assert_eq!(ma, p.scratch, "memory is not handed through");
    assert_eq!(a.rflags & insn::state::FLAGS_MASK, p.init.rflags & insn::state::FLAGS_MASK);
    let mut q = p.clone();
    q.init.gpr[3] ^= 1;
    q.init.xmm[9][1] ^= 1 << 63;
    q.scratch[100] ^= 4;
    let (b, mb) = run(&q);
    let d = insn::state::diff(&a, &ma, &b, &mb);
    assert_eq!(d.len(), 3, "{d:?}");
}
