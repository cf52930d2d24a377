//! tern-only checks of what guest syscalls may reach, with the kernel rule
//! each expectation follows (the differential part, kernel writes into code
//! pages compared with native, is `syscall_kernel_writes.c` in
//! `guest_programs.rs`).

use std::path::Path;
use tern_tests::{build, run_native, run_under, Build, ExitStatusDesc};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A guest pointer into tern's memory fails as one into unmapped memory
/// does natively: EFAULT when the kernel would read or write through it,
/// ENOMEM (madvise, mlock, mprotect) for an address range there, while
/// `munmap` of it succeeds (a hole) and leaves tern's memory in place; and
/// tern survives. The guest finds tern's ranges as those its
/// /proc/PID/maps read by a child lists and its /proc/self/maps hides (natively
/// there are none), and probes both ends of each.
#[test]
fn pointers_into_tern_memory_fail_as_unmapped() {
    for static_ in [false, true] {
        let b = Build { static_, opt: "-O2", cxx: false };
        let bin = build("tern_memory.c", &b);
        let native = run_native(&bin, &[], b"", &[]);
        assert_eq!(text(&native.stdout), "hidden 0\nbad probes 0\nalive\n", "native run [{b}]: {native:?}");
        let out = run_under(Path::new(TERN), &bin, &[], b"", &[]);
        assert_eq!(out.status, ExitStatusDesc::Exited(0), "[{b}] {out:?}");
        let stdout = text(&out.stdout);
        let hidden: u32 = stdout
            .lines()
            .find_map(|l| l.strip_prefix("hidden "))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("[{b}] no count: {stdout}"));
        // tern's binary (4 segments), its heap, the code cache (2 views).
        assert!(hidden >= 7, "[{b}] only {hidden} hidden ranges: {stdout}");
        assert!(stdout.ends_with("bad probes 0\nalive\n"), "[{b}] {stdout}");
    }
}

/// Calls refused as by a kernel built without the feature:
/// `kernel/sys_ni.c` makes `map_shadow_stack` ENOSYS without
/// CONFIG_X86_USER_SHADOW_STACK (Linux AIO, io_uring, userfaultfd,
/// seccomp, bpf and `process_madvise` are supported: `tests/guest/aio.c`,
/// `io_uring.c`, `userfaultfd.c`, `seccomp.c`, `bpf.c`,
/// `process_madvise.c`, and syscall user dispatch: `user_dispatch.c`);
/// Yama's `ptrace_scope` 3 makes
/// `PTRACE_TRACEME` EPERM. And what tern refuses although this kernel
/// allows it: a userfaultfd range of guest code (tern translates code with
/// its lock held: `guard.rs`) and seccomp's user-notification listener
/// (EINVAL, as from a kernel before it: `seccomp.rs`).
#[test]
fn features_tern_cannot_offer_are_refused_as_by_a_kernel_without_them() {
    let bin = build("tern_memory.c", &Build { static_: false, opt: "-O2", cxx: false });
    let out = run_under(Path::new(TERN), &bin, &["features"], b"", &[]);
    assert_eq!(out.status, ExitStatusDesc::Exited(0), "{out:?}");
    assert_eq!(
        text(&out.stdout),
        "userfaultfd register code -1 EINVAL\n\
         seccomp SECCOMP_GET_NOTIF_SIZES -1 EINVAL\n\
         seccomp SECCOMP_FILTER_FLAG_NEW_LISTENER -1 EINVAL\n\
         ptrace PTRACE_TRACEME -1 EPERM\n\
         map_shadow_stack -1 ENOSYS\n"
    );
}

/// `--strace` shows a call a seccomp filter answered, as strace does: its
/// arguments, the errno the filter gave (or that SIGSYS was forced), and
/// why; the call itself never reaches the host.
#[test]
fn strace_shows_calls_a_seccomp_filter_answers() {
    let bin = build("seccomp.c", &Build { static_: false, opt: "-O2", cxx: false });
    let out = tern_tests::run_under_opts(Path::new(TERN), &["--strace"], &bin, &[], b"", &[]);
    assert_eq!(out.status, ExitStatusDesc::Exited(0), "{out:?}");
    let log = text(&out.stderr);
    for want in
        ["getppid() = -1 EPERM (seccomp)", "getgid() = -1 ENOSYS (seccomp)", "uname() = ? (seccomp: SIGSYS)"]
    {
        assert!(log.lines().any(|l| l.ends_with(want)), "no line ending {want:?} in:\n{log}");
    }
}
