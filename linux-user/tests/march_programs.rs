//! Guest programs built for the newer CPU levels (`gcc -march=x86-64-v3`
//! and `-march=x86-64-v4`, static and dynamic, `-O2`: the table
//! `tern_tests::MARCH_PROGRAMS`) give the native output under tern, in
//! tern's default model and in the lowest model that has their level; and
//! one model below their level they die by SIGILL at a v3 (v4) instruction
//! of the program itself, with that instruction logged, as natively on a CPU
//! without it. A level the host lacks is skipped with a message (the host
//! CPU is the oracle).

use std::path::Path;
use std::process::Command;

use tern_tests::{
    build_march, compare, run_command, run_native, skip_without_compiler, timeout, Build, ExitStatusDesc,
    March, Outcome, MARCH_PROGRAMS,
};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// Whether the host CPU has every feature of `march` (decision 6 of the
/// plan: a level the host lacks is skipped, and the skip is said).
fn host_has(march: March) -> bool {
    let v3 = is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("bmi1")
        && is_x86_feature_detected!("bmi2")
        && is_x86_feature_detected!("f16c")
        && is_x86_feature_detected!("lzcnt")
        && is_x86_feature_detected!("movbe");
    let has = match march {
        March::V3 => v3,
        March::V4 => {
            v3 && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512cd")
                && is_x86_feature_detected!("avx512dq")
                && is_x86_feature_detected!("avx512vl")
        }
    };
    if !has {
        eprintln!("SKIPPED: the host CPU lacks part of {}, so its builds cannot run natively", march.name());
    }
    has
}

/// `tern [--cpu CPU] bin args`.
fn run_tern(cpu: Option<&str>, bin: &Path, args: &[&str], stdin: &[u8]) -> Outcome {
    let mut cmd = Command::new(TERN);
    if let Some(cpu) = cpu {
        cmd.args(["--cpu", cpu]);
    }
    cmd.arg(bin).args(args);
    run_command(cmd, stdin, &[], timeout())
}

fn builds() -> [Build; 2] {
    [false, true].map(|static_| Build { static_, opt: "-O2", cxx: false })
}

/// Every program of the table at both levels, static and dynamic, equals
/// native under tern's default model and under the model named for its
/// level (for v3 builds on a v4 host that is the model where glibc picks its
/// AVX2 variants instead of the EVEX ones). All mismatches are reported
/// together.
#[test]
fn march_builds_equal_native() {
    if skip_without_compiler(false) {
        return;
    }
    let mut failures = Vec::new();
    let mut compared = 0;
    for march in March::ALL {
        if !host_has(march) {
            continue;
        }
        for src in MARCH_PROGRAMS {
            let p = tern_tests::program(src);
            for b in builds() {
                let bin = build_march(src, &b, march);
                let native = run_native(&bin, p.args, p.stdin, p.env);
                assert_eq!(
                    native.status,
                    ExitStatusDesc::Exited(0),
                    "{src} {b} {} natively: {native:?}",
                    march.name()
                );
                for cpu in [None, Some(march.name())] {
                    let tern = run_tern(cpu, &bin, p.args, p.stdin);
                    compared += 1;
                    let what = format!(
                        "{src} [{b} -march={}] under tern --cpu {}",
                        march.name(),
                        cpu.unwrap_or("default")
                    );
                    if let Err(report) = compare(&what, &native, &tern) {
                        failures.push(report);
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} runs differ from native:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The address and bytes tern logged for the instruction that raised
/// SIGILL (`... not in the CPU model at 0xADDR: bytes xx yy -> SIGILL`), and
/// the feature it named.
fn logged_sigill(stderr: &str) -> Option<(u64, Vec<u8>, String)> {
    let line = stderr.lines().find(|l| l.contains("not in the CPU model at 0x"))?;
    let feature = line.split("instruction needs ").nth(1)?.split(',').next()?.to_string();
    let rest = line.split(" at 0x").nth(1)?;
    let (addr, rest) = rest.split_once(':')?;
    let addr = u64::from_str_radix(addr, 16).ok()?;
    let bytes = rest.trim().strip_prefix("bytes ")?.split(" ->").next()?;
    let bytes =
        bytes.split_whitespace().map(|h| u8::from_str_radix(h, 16)).collect::<Result<Vec<u8>, _>>().ok()?;
    Some((addr, bytes, feature))
}

/// The bytes of the static (non-PIE) ELF `bin` at virtual address `addr`,
/// from an executable section.
fn text_bytes(bin: &Path, addr: u64, len: usize) -> Option<Vec<u8>> {
    use object::{Object, ObjectSection, SectionKind};
    let data = std::fs::read(bin).ok()?;
    let file = object::File::parse(&*data).ok()?;
    file.sections()
        .filter(|s| s.kind() == SectionKind::Text)
        .find_map(|s| s.data_range(addr, len as u64).ok().flatten())
        .map(<[u8]>::to_vec)
}

/// The iced-x86 feature names of each level's own instructions (what tern
/// logs as "instruction needs ..."): a v3 binary under the v2 model must
/// stop at one of the v3 names, a v4 binary under v3 at an AVX-512 one.
fn level_features(march: March) -> &'static [&'static str] {
    match march {
        March::V3 => &["AVX", "AVX2", "FMA", "BMI1", "BMI2", "F16C", "LZCNT", "MOVBE"],
        March::V4 => &["AVX512F", "AVX512BW", "AVX512CD", "AVX512DQ", "AVX512VL"],
    }
}

/// The model just below each level.
fn model_below(march: March) -> &'static str {
    match march {
        March::V3 => "x86-64-v2",
        March::V4 => "x86-64-v3",
    }
}

/// Fixed expectation (the host has the level, so native cannot show it): a
/// static `-march=x86-64-v3` build run with `--cpu x86-64-v2` ends by
/// SIGILL, as on a v2 CPU, at an instruction of the program's own text
/// whose bytes tern logs and which needs a v3 feature; what it printed
/// before is a prefix of the native output. The same for v4 builds under
/// `--cpu x86-64-v3`. A build whose run reaches no instruction of its level
/// (`malloc_churn.c` has none) equals native instead; at least one program
/// per level must reach one.
#[test]
fn one_level_below_raises_sigill_at_the_logged_instruction() {
    if skip_without_compiler(false) {
        return;
    }
    let mut problems = Vec::new();
    for march in March::ALL {
        if !host_has(march) {
            continue;
        }
        let below = model_below(march);
        let mut sigills = 0;
        for src in MARCH_PROGRAMS {
            let p = tern_tests::program(src);
            for b in builds() {
                let bin = build_march(src, &b, march);
                let native = run_native(&bin, p.args, p.stdin, p.env);
                let tern = run_tern(Some(below), &bin, p.args, p.stdin);
                let what = format!("{src} [{b} -march={}] under --cpu {below}", march.name());
                if tern.status != ExitStatusDesc::Signaled(libc::SIGILL) {
                    // A build whose run never reaches an instruction of its
                    // level (gcc found nothing to use it for; glibc's code
                    // does not count, it chose variants for the model) must
                    // equal native.
                    if compare(&what, &native, &tern).is_err() {
                        problems.push(format!(
                            "{what}: expected SIGILL, got {:?}: {}",
                            tern.status,
                            String::from_utf8_lossy(&tern.stderr)
                        ));
                    }
                    continue;
                }
                sigills += 1;
                if !native.stdout.starts_with(&tern.stdout) {
                    problems.push(format!("{what}: stdout before SIGILL is not a prefix of native stdout"));
                }
                let stderr = String::from_utf8_lossy(&tern.stderr);
                let Some((addr, bytes, feature)) = logged_sigill(&stderr) else {
                    problems.push(format!("{what}: no logged instruction in stderr: {stderr}"));
                    continue;
                };
                if !level_features(march).contains(&feature.as_str()) {
                    problems.push(format!(
                        "{what}: SIGILL at an instruction needing {feature}, not a {} one",
                        march.name()
                    ));
                }
                if b.static_ && text_bytes(&bin, addr, bytes.len()).as_deref() != Some(&bytes[..]) {
                    problems.push(format!(
                        "{what}: logged bytes {bytes:02x?} at {addr:#x} are not the binary's text there"
                    ));
                }
            }
        }
        if sigills == 0 {
            problems.push(format!("no -march={} program raised SIGILL under --cpu {below}", march.name()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
