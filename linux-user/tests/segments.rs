//! Segment registers under tern compared with the host CPU: loads of FS and
//! GS that fault natively end the guest with the same signal (the plain run
//! of `segments.c` is in `guest_programs`), DS/ES/SS loads run as they are,
//! and the FS/GS base instructions raise SIGILL under a model that lacks
//! FSGSBASE (a level: checked against a fixed expectation, since the host
//! has it) and run as natively under the default, `host`.

use std::path::Path;
use tern_tests::{differential, run_native, run_under, run_under_opts, Build, ExitStatusDesc};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// `segments.c` cases: invalid selectors (#GP: SIGSEGV), the null selector
/// in FS (clears the C library's thread pointer: the next TLS access
/// faults), SS and DS loads that run natively, and valid ones.
const CASES: &[&str] = &[
    "gs:0x63",
    "gs:0x4",
    "gs:0x8",
    "gs:0x10",
    "gs:0xfff8",
    "gs:0x40",
    "gs:0x7b",
    "gs:0x2b",
    "fs:0x63",
    "fs:0",
    "fs:0x3",
    "ss:0",
    "ss:0x33",
    "ss:0x2b",
    "ds:0x63",
    "ds:0x2b",
    "pop:0x10",
    "pop:0x2b",
    "pop:0",
    "lgs:0x63",
    "lgs:0x2b",
    "lss:0x2b",
    "lss:0",
];

#[test]
fn segment_loads_end_the_guest_as_natively() {
    let b = Build { static_: true, opt: "-O2", cxx: false };
    for case in CASES {
        differential(Path::new(TERN), "segments.c", &b, &[case], b"");
    }
    // A case that faults natively, so the comparison above cannot pass by
    // running nothing.
    let bin = tern_tests::build("segments.c", &b);
    let native = run_native(&bin, &["gs:0x63"], b"", &[]);
    assert_eq!(native.status, ExitStatusDesc::Signaled(libc::SIGSEGV), "{native:?}");
}

/// Writes a C source to a scratch directory and builds it.
fn build_source(name: &str, body: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-segments-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join(name);
    std::fs::write(&src, body).unwrap();
    let out = dir.join(name.trim_end_matches(".c"));
    let st = std::process::Command::new("gcc").args(["-O1", "-o"]).arg(&out).arg(&src).status().unwrap();
    assert!(st.success());
    out
}

#[test]
fn fsgsbase_instructions_follow_the_model() {
    let prog = |insn: &str| {
        format!(
            "#include <stdio.h>\nint main(void){{ setvbuf(stdout,0,_IONBF,0); unsigned long v = 0; puts(\"start\");\n\
             __asm__ volatile(\"{insn}\" : \"+r\"(v)); puts(\"after\"); return 0; }}\n"
        )
    };
    for (name, insn) in
        [("rdgsbase", "rdgsbase %0"), ("wrgsbase", "wrgsbase %0"), ("rdfsbase", "rdfsbase %0")]
    {
        let bin = build_source(&format!("{name}.c"), &prog(insn));
        // The levels lack FSGSBASE: SIGILL, as on a CPU without it.
        let out = run_under_opts(Path::new(TERN), &["--cpu", "x86-64-v2"], &bin, &[], b"", &[]);
        assert_eq!(out.status, ExitStatusDesc::Signaled(libc::SIGILL), "{name}: {out:?}");
        assert_eq!(out.stdout, b"start\n", "{name}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("FSGSBASE"), "{name}: {out:?}");
        // The default model (`host`) has it where the host does, and the
        // instruction runs (emulated on the guest's bases) as natively.
        let native = run_native(&bin, &[], b"", &[]);
        let tern = run_under(Path::new(TERN), &bin, &[], b"", &[]);
        tern_tests::assert_same(name, &native, &tern);
    }
    // swapgs is privileged: #GP (SIGSEGV) natively and under tern.
    let bin = build_source("swapgs.c", &prog("swapgs"));
    let native = run_native(&bin, &[], b"", &[]);
    let tern = run_under(Path::new(TERN), &bin, &[], b"", &[]);
    assert_eq!(native.status, ExitStatusDesc::Signaled(libc::SIGSEGV), "{native:?}");
    tern_tests::assert_same("swapgs", &native, &tern);
}
