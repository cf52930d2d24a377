//! Short runs of the differential instruction fuzzer in the normal suite:
//! any difference that no allowlist entry explains fails the test.

use std::time::{Duration, Instant};

use iced_x86::{Decoder, DecoderOptions, EncodingKind, Register};
use tern_fuzz_guest::insn::{self, GenOptions};
use tern_translate::model::CpuModel;

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

/// The AVX class draws the features tern's table puts in x86-64-v3, and
/// the EVEX class those of x86-64-v4 (one source: `model::FEATURES`).
#[test]
fn classes_follow_the_models_table() {
    use iced_x86::CpuidFeature as F;
    let v3 = insn::gen::features_new_in(CpuModel::V3);
    for f in [F::AVX, F::AVX2, F::FMA, F::F16C, F::BMI1, F::BMI2, F::LZCNT, F::MOVBE] {
        assert!(v3.contains(&f), "{f:?} not in v3: {v3:?}");
    }
    let v4 = insn::gen::features_new_in(CpuModel::V4);
    for f in [F::AVX512F, F::AVX512BW, F::AVX512CD, F::AVX512DQ, F::AVX512VL] {
        assert!(v4.contains(&f), "{f:?} not in v4: {v4:?}");
    }
    for &c in insn::gen::avx_codes() {
        assert!(c.cpuid_features().iter().all(|&f| CpuModel::V3.has(f)), "{c:?}");
    }
    for &c in insn::gen::evex_codes() {
        assert!(c.cpuid_features().iter().all(|&f| CpuModel::V4.has(f)), "{c:?}");
        assert!(c.cpuid_features().iter().any(|f| v4.contains(f)), "{c:?}");
    }
}

/// Whether the host has the features of the EVEX class; if not, says the
/// test is skipped and why (`tern_tests::missing_hardware`).
fn host_has_avx512() -> bool {
    let has = std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512cd")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vl");
    if !has {
        tern_tests::missing_hardware("AVX-512 F/BW/CD/DQ/VL (the EVEX class runs them natively)");
    }
    has
}

/// The EVEX class (x86-64-v4: AVX-512 F/BW/CD/DQ/VL with opmasks,
/// zeroing, broadcast, embedded rounding, disp8*N, RIP- and FS-relative
/// operands) against native, and the seeds it once failed on.
#[test]
fn random_evex_sequences_match_native() {
    if !host_has_avx512() {
        return;
    }
    let opts = GenOptions { avoid_known: true, evex: true, ..Default::default() };
    run("evex", 4_000_000..4_000_000 + cases(), &opts, Duration::from_secs(45));
    run("evex regressions", insn::EVEX_REGRESSION_SEEDS.iter().copied(), &opts, Duration::from_secs(60));
}

/// The EVEX class is opt-in and draws what it promises: masks with merging
/// and zeroing, broadcasts, rounding and SAE, zmm16-31, opmask
/// instructions, FS-relative, RIP-relative and disp8*N operands; the
/// harness hands the zmm and opmask registers through, starts the code with
/// the FS base asked for, and the comparison sees a flipped bit in each.
#[test]
fn evex_class_is_opt_in_and_compared() {
    let off = insn::generate(11, &GenOptions { avx: true, ..Default::default() });
    assert!(!off.init.evex && off.groups.iter().all(|g| g.class != insn::Class::Evex));
    let n = insn::gen::evex_codes().len();
    assert!(n > 1000, "only {n} EVEX instruction forms");
    let opts = GenOptions { evex: true, ..Default::default() };
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for seed in 0..60u64 {
        let p = insn::generate(seed, &opts);
        assert!(p.init.evex && p.init.avx && p.init.fsbase == insn::state::SCRATCH_ADDR);
        let code = insn::encode(&p).unwrap();
        let mut d = Decoder::with_ip(64, &code, insn::state::CODE_ADDR, DecoderOptions::NONE);
        while d.can_decode() {
            let i = d.decode();
            let mut count = |what| *seen.entry(what).or_default() += 1;
            if i.op_code().encoding() == EncodingKind::VEX
                && i.op_code().op_kinds().iter().any(|k| {
                    matches!(k, iced_x86::OpCodeOperandKind::k_reg | iced_x86::OpCodeOperandKind::k_rm)
                })
            {
                count("opmask instruction");
            }
            if i.encoding() != EncodingKind::EVEX {
                continue;
            }
            count("evex");
            if i.op_mask() != Register::None {
                count(if i.zeroing_masking() { "zeroing" } else { "merging" });
            }
            if i.is_broadcast() {
                count("broadcast");
            }
            if i.rounding_control() != iced_x86::RoundingControl::None {
                count("rounding");
            }
            if i.suppress_all_exceptions() {
                count("sae");
            }
            if (0..i.op_count())
                .any(|k| i.op_kind(k) == iced_x86::OpKind::Register && i.op_register(k).number() % 32 >= 16)
            {
                count("register 16-31");
            }
            let mem = (0..i.op_count()).any(|k| i.op_kind(k) == iced_x86::OpKind::Memory);
            if mem && i.segment_prefix() == Register::FS {
                count("fs");
            }
            if mem && i.is_ip_rel_memory_operand() {
                count("rip");
            }
            // A displacement that needs more than disp8 but is encoded in
            // one byte: disp8*N.
            let disp = i.memory_displacement64() as i64;
            if mem && i.memory_displ_size() == 1 && !(-128..128).contains(&disp) {
                count("disp8*N");
            }
        }
    }
    for what in [
        "evex",
        "merging",
        "zeroing",
        "broadcast",
        "rounding",
        "sae",
        "register 16-31",
        "fs",
        "rip",
        "disp8*N",
        "opmask instruction",
    ] {
        assert!(seen.get(what).copied().unwrap_or(0) >= 3, "too few {what} in 60 programs: {seen:?}");
    }
    if !host_has_avx512() {
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
    assert_eq!(a.zmmh, p.init.zmmh, "zmm0-15 upper halves are not handed through");
    assert_eq!(a.zmm16, p.init.zmm16, "zmm16-31 are not handed through");
    assert_eq!(a.k, p.init.k, "opmask registers are not handed through");
    assert_eq!(a.seg[2], insn::state::SCRATCH_ADDR, "the FS base is not the one asked for");
    let mut q = p.clone();
    q.init.zmmh[3][2] ^= 1;
    q.init.zmm16[14][7] ^= 1 << 63;
    q.init.k[5] ^= 0x10;
    let (b, mb) = run(&q);
    let d = insn::state::diff(&a, &ma, &b, &mb);
    assert_eq!(d.len(), 3, "{d:?}");
}

/// `fs:[rip+disp]` operands (legacy, SSE, VEX and EVEX forms, loads and
/// stores, masked): the FS base is the guest's, as natively.
#[test]
fn fs_relative_rip_operands_match_native() {
    use iced_x86::{Code, Instruction, MemoryOperand};
    if !host_has_avx512() {
        return;
    }
    let opts = GenOptions { evex: true, ..Default::default() };
    let mut p = insn::generate(9, &opts);
    // fs:[rip -> target] addresses SCRATCH_ADDR + target (the FS base).
    let at = |off: u64| {
        let mut m = MemoryOperand::with_base_displ(Register::RIP, off as i64);
        m.segment_prefix = Register::FS;
        m
    };
    let mut masked =
        Instruction::with2(Code::EVEX_Vmovdqu32_zmm_k1z_zmmm512, Register::ZMM20, at(0x140)).unwrap();
    masked.set_op_mask(Register::K3);
    masked.set_zeroing_masking(true);
    let mut bcst = Instruction::with3(
        Code::EVEX_Vpaddd_ymm_k1z_ymm_ymmm256b32,
        Register::YMM4,
        Register::YMM4,
        at(0x344),
    )
    .unwrap();
    bcst.set_op_mask(Register::K2);
    bcst.set_is_broadcast(true);
    let insns = vec![
        Instruction::with2(Code::Mov_r64_rm64, Register::RAX, at(0x100)).unwrap(),
        Instruction::with2(Code::Mov_rm64_r64, at(0x108), Register::RBX).unwrap(),
        Instruction::with2(Code::Movdqu_xmm_xmmm128, Register::XMM1, at(0x110)).unwrap(),
        Instruction::with2(Code::VEX_Vmovdqu_ymm_ymmm256, Register::YMM2, at(0x120)).unwrap(),
        Instruction::with2(Code::VEX_Vmovdqu_ymmm256_ymm, at(0x200), Register::YMM2).unwrap(),
        masked,
        bcst,
        Instruction::with2(Code::EVEX_Vmovdqu64_zmmm512_k1z_zmm, at(0x240), Register::ZMM20).unwrap(),
    ];
    p.groups = vec![insn::gen::Group {
        class: insn::Class::Evex,
        items: insns.into_iter().map(insn::gen::Item::Insn).collect(),
    }];
    let harness = insn::harness();
    let tern = tern_fuzz_guest::tern_binary();
    match insn::check(&harness, &tern, &p) {
        insn::Verdict::Same(true) => {}
        v => panic!("{v:?}\n{}", insn::report(&p, &[])),
    }
}
