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

/// The AVX class (x86-64-v3: VEX instructions on ymm registers). Needs the
/// host to have AVX2/FMA/BMI2 and tern's CPU model to include x86-64-v3.
#[test]
fn random_avx_sequences_match_native() {
    assert!(
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"),
        "the host lacks AVX2/FMA: this test cannot run here"
    );
    let opts = GenOptions { avoid_known: true, avx: true, ..Default::default() };
    run("avx", 3_000_000..3_000_000 + cases(), &opts, Duration::from_secs(45));
}

/// The AVX class is opt-in: off, no group is drawn from it and the ymm
/// upper halves are not used; on, programs hold VEX instructions, and the
/// harness hands the upper halves through and the comparison sees them.
#[test]
fn avx_class_is_opt_in_and_compared() {
    let off = insn::generate(11, &GenOptions::default());
    assert!(!off.init.avx && off.groups.iter().all(|g| g.class != insn::Class::Avx));
    let n = insn::gen::avx_codes().len();
    assert!(n > 500, "only {n} AVX instruction forms");
    let opts = GenOptions { avx: true, ..Default::default() };
    let vex = (0..20u64)
        .flat_map(|s| insn::generate(s, &opts).groups)
        .filter(|g| g.class == insn::Class::Avx)
        .count();
    assert!(vex > 20, "only {vex} AVX groups in 20 programs");
    if !std::arch::is_x86_feature_detected!("avx") {
        println!("skipped the harness part: the host lacks AVX");
        return;
    }
    let harness = insn::harness();
    let mut p = insn::generate(5, &opts);
    p.groups.clear();
    let code = insn::encode(&p).unwrap();
    let run = |p: &insn::Program| match insn::run_harness(&harness, None, &insn::harness_input(p, &code)) {
        insn::Outcome::Done(st, mem) => (st, mem),
        other => panic!("empty program did not run to the end: {other:?}"),
    };
    let (a, ma) = run(&p);
    assert_eq!(a.ymmh, p.init.ymmh, "ymm upper halves are not handed through");
    let mut q = p.clone();
    q.init.ymmh[13][0] ^= 2;
    let (b, mb) = run(&q);
    let d = insn::state::diff(&a, &ma, &b, &mb);
    assert_eq!(d.len(), 1, "{d:?}");
}
