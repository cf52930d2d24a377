//! glibc picks the same string-function variants under tern as natively
//! (checked by behaviour): the IFUNC-resolved addresses of memcpy, strlen,
//! memchr and the rest (`tests/guest/glibc_ifuncs.c`, dynamic: offsets into
//! libc.so.6) and what the dynamic loader reports of the CPU it found
//! (`ld.so --list-diagnostics`: glibc's `cpu_features`, its ISA level,
//! the `glibc-hwcaps` subdirectories it would search, the copy thresholds)
//! equal native, in tern's default CPU model (`host`).

use std::path::Path;
use std::process::Command;

use tern_tests::{build, compare, run_command, run_native, skip_without_compiler, timeout, Build, Outcome};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// The CPU models compared: tern's default, `host` (naming `--cpu host`
/// gives the same model: `cpu_model.rs` checks it, so it is not run twice).
const MODELS: [Option<&str>; 1] = [None];

fn run_tern(cpu: Option<&str>, bin: &Path, args: &[&str]) -> Outcome {
    let mut cmd = Command::new(TERN);
    if let Some(cpu) = cpu {
        cmd.args(["--cpu", cpu]);
    }
    cmd.arg(bin).args(args);
    run_command(cmd, b"", &[], timeout())
}

#[test]
fn string_function_variants_equal_native() {
    if skip_without_compiler(false) {
        return;
    }
    let bin = build("glibc_ifuncs.c", &Build { static_: false, opt: "-O2", cxx: false });
    let native = run_native(&bin, &[], b"", &[]);
    assert!(String::from_utf8_lossy(&native.stdout).contains("strlen       libc.so.6+0x"), "{native:?}");
    let mut failures = Vec::new();
    for cpu in MODELS {
        let tern = run_tern(cpu, &bin, &[]);
        if let Err(report) =
            compare(&format!("glibc_ifuncs.c under --cpu {}", cpu.unwrap_or("default")), &native, &tern)
        {
            failures.push(report);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether a `--list-diagnostics` line legitimately differs between runs or
/// between the host CPU and tern's model, so it is left out:
/// - `auxv[...]`: addresses (AT_PHDR, AT_ENTRY, AT_BASE, AT_RANDOM,
///   AT_SYSINFO_EHDR) change with ASLR natively too; tern gives no
///   AT_RSEQ_* entries (rseq is refused), so the indices shift; AT_HWCAP2
///   lacks FSGSBASE and AT_MINSIGSTKSZ counts only the model's xsave
///   components (no PKRU, no AMX): both by design. The auxv tern builds is
///   checked in `cpu_model.rs`.
/// - `dl_hwcap2`: that AT_HWCAP2 (FSGSBASE is outside every model).
/// - `x86.cpu_features.features[...]`: the raw CPUID words and glibc's
///   "usable" words. tern reports the model's features only: even `host`
///   hides what tern cannot run faithfully for a user-mode guest (OSPKE/PKU,
///   FSGSBASE, the hypervisor bit, HTT, MONITOR, HLE, WAITPKG, AMX...),
///   so these words differ by design; what glibc *does* with them is
///   compared: the `preferred` flags, `isa_1`, the xsave sizes, cache sizes
///   and thresholds (and `glibc_ifuncs.c` compares the resulting choices).
/// - `x86.cpu_features.basic.max_cpuid`: tern answers fewer CPUID leaves.
fn legitimately_differs(line: &str) -> bool {
    line.starts_with("auxv[")
        || line.starts_with("dl_hwcap2=")
        || line.starts_with("x86.cpu_features.features[")
        || line.starts_with("x86.cpu_features.basic.max_cpuid=")
}

fn kept_lines(out: &Outcome) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !legitimately_differs(l))
        .map(str::to_string)
        .collect()
}

#[test]
fn ld_so_diagnostics_equal_native() {
    let ld = Path::new("/lib64/ld-linux-x86-64.so.2");
    if !ld.is_file() {
        tern_tests::missing("the dynamic loader /lib64/ld-linux-x86-64.so.2");
        return;
    }
    let native = run_native(ld, &["--list-diagnostics"], b"", &[]);
    let native_lines = kept_lines(&native);
    // The lines glibc's choices hang on must be there (a glibc without
    // --list-diagnostics, before 2.33, would print nothing to compare).
    for key in [
        "x86.cpu_features.isa_1=",
        "dl_hwcaps_subdirs_active=",
        "x86.cpu_features.preferred.",
        "x86.cpu_features.rep_movsb_threshold=",
    ] {
        assert!(native_lines.iter().any(|l| l.starts_with(key)), "no {key} line natively: {native:?}");
    }
    let mut failures = Vec::new();
    for cpu in MODELS {
        let tern = run_tern(cpu, ld, &["--list-diagnostics"]);
        let what = format!("ld.so --list-diagnostics under --cpu {}", cpu.unwrap_or("default"));
        if tern.status != native.status {
            failures.push(format!("{what}: status {:?}, natively {:?}", tern.status, native.status));
            continue;
        }
        let tern_lines = kept_lines(&tern);
        let only_native: Vec<&String> = native_lines.iter().filter(|l| !tern_lines.contains(l)).collect();
        let only_tern: Vec<&String> = tern_lines.iter().filter(|l| !native_lines.contains(l)).collect();
        if !only_native.is_empty() || !only_tern.is_empty() {
            failures.push(format!("{what}:\n  natively: {only_native:?}\n  under tern: {only_tern:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
