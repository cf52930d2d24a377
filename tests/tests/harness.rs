//! Tests of the harness itself. None of them needs tern: they compare
//! native runs with native runs, or use a shell script standing in for tern.
//! Failures are checked through the `Result`-returning forms (`compare`,
//! `try_differential`, `try_run_command`), never by a test raising the
//! panic it expects.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tern_tests::{
    assert_same, build, build_in, compare, differential, find_program, guest_dir, have_compiler, in_ci,
    run_command, run_native, run_under, skip_without_compiler, try_differential, try_run_command, Build,
    ExitStatusDesc, Outcome, RunError, PROGRAMS,
};

const STATIC_O0: Build = Build { static_: true, opt: "-O0", cxx: false };
const DYN_O2: Build = Build { static_: false, opt: "-O2", cxx: false };

/// Writes an executable shell script into a private temp directory.
fn script(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-harness-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A stand-in for tern that just runs the program natively (dash exports
/// PWD, which the guest would see, so it is removed again), taking the
/// option the harness gives every tern.
fn fake_tern() -> PathBuf {
    script("fake-tern", "[ \"$1\" = --code-cache ] && shift 2; exec env -u PWD \"$@\"")
}

/// Two runs that really differ in stdout: a guest program with different
/// arguments, or `echo` when there is no compiler.
fn differing_outcomes() -> (Outcome, Outcome) {
    if have_compiler(false) {
        let bin = build("argv_env.c", &DYN_O2);
        (run_native(&bin, &["same", "one"], b"", &[]), run_native(&bin, &["same", "two"], b"", &[]))
    } else {
        let echo = Path::new("/bin/echo");
        (run_native(echo, &["one"], b"", &[]), run_native(echo, &["two"], b"", &[]))
    }
}

#[test]
fn native_against_native_agrees() {
    if skip_without_compiler(false) {
        return;
    }
    for b in [STATIC_O0, DYN_O2] {
        let bin = build("argv_env.c", &b);
        let env = [("TERN_TEST_VAR", "x")];
        let first = run_native(&bin, &["a", "b c"], b"in\nput\n", &env);
        let second = run_native(&bin, &["a", "b c"], b"in\nput\n", &env);
        assert_eq!(first.status, ExitStatusDesc::Exited(0));
        let text = String::from_utf8_lossy(&first.stdout);
        assert!(text.contains("argv[2]=\"b c\""), "{text}");
        assert!(text.contains("getenv(TERN_TEST_VAR)=x"), "{text}");
        assert!(text.contains("stdin: 2 lines"), "{text}");
        assert_same("argv_env twice", &first, &second);
    }
}

#[test]
fn compare_rejects_different_stdout() {
    let (a, b) = differing_outcomes();
    let err = compare("different arguments", &a, &b).unwrap_err();
    assert!(err.starts_with("different arguments: tern differs from native\n"), "{err}");
    assert!(err.contains("stdout: first difference"), "{err}");
}

#[test]
fn compare_rejects_different_status() {
    let sh = Path::new("/bin/sh");
    let three = run_native(sh, &["-c", "echo same; exit 3"], b"", &[]);
    let forty_two = run_native(sh, &["-c", "echo same; exit 42"], b"", &[]);
    let err = compare("exit codes", &three, &forty_two).unwrap_err();
    assert!(err.contains("status: native exited with code 3, tern exited with code 42"), "{err}");
    assert!(!err.contains("stdout: first"), "only the status differs: {err}");
}

#[test]
fn exit_statuses_are_decoded() {
    if skip_without_compiler(false) {
        return;
    }
    let run = |src: &str| run_native(&build(src, &DYN_O2), &[], b"", &[]);
    let code = run("exit_code.c");
    assert_eq!(code.status, ExitStatusDesc::Exited(3));
    assert_eq!(code.stderr, b"a line on stderr\n");
    let underscore = run("exit_underscore.c");
    assert_eq!(underscore.status, ExitStatusDesc::Exited(42));
    assert_eq!(underscore.stdout, b"flushed before _exit\n");
    let abort = run("exit_abort.c");
    assert_eq!(abort.status, ExitStatusDesc::Signaled(6));
    assert_eq!(abort.status.to_string(), "killed by signal 6 (SIGABRT)");
}

#[test]
fn environment_is_clean() {
    let out = run_command(Command::new("env"), b"", &[("EXTRA", "1 2")], Duration::from_secs(10));
    let mut vars: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    vars.sort_unstable();
    assert_eq!(vars.len(), 3, "{vars:?}");
    assert_eq!(vars[0], "EXTRA=1 2");
    assert_eq!(vars[1], "LANG=C");
    assert!(vars[2].starts_with("PATH="), "{vars:?}");
}

#[test]
fn stdin_is_fed_and_output_captured() {
    let input: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let out = run_command(Command::new("cat"), &input, &[], Duration::from_secs(10));
    assert_eq!(out.status, ExitStatusDesc::Exited(0));
    assert!(out.stdout == input, "cat did not echo its input");
}

#[test]
fn timeout_kills_and_reports() {
    let mut cmd = Command::new("sleep");
    cmd.arg("30");
    let started = std::time::Instant::now();
    let err = try_run_command(cmd, b"", &[], Duration::from_millis(300)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "not killed in time");
    assert!(
        matches!(err, RunError::TimedOut { limit, .. } if limit == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("timed out after 0.3 s, killed: "), "{err}");
}

#[test]
fn a_missing_program_cannot_start() {
    let err = try_run_command(Command::new("/nonexistent/tern-test"), b"", &[], Duration::from_secs(5));
    assert!(matches!(err, Err(RunError::Spawn { .. })), "{err:?}");
}

/// A missing tool fails the test in CI (the `missing` call panics) and is
/// only reported elsewhere; checked in a child test process with and
/// without `CI`.
#[test]
fn missing_tools_fail_in_ci() {
    assert!(find_program("sh").is_some_and(|p| p.is_file()));
    assert!(find_program("tern-no-such-tool").is_none());
    if std::env::var_os("TERN_HARNESS_CHILD").is_some() {
        // In the child: report a tool missing and see whether we survive.
        tern_tests::missing("the program `tern-no-such-tool`");
        println!("survived, in_ci={}", in_ci());
        return;
    }
    let me = std::env::current_exe().unwrap();
    for (ci, survives) in [("true", false), ("1", false), ("false", true), ("", true)] {
        let mut cmd = Command::new(&me);
        cmd.args(["--exact", "missing_tools_fail_in_ci", "--nocapture", "--test-threads=1"]);
        cmd.env("TERN_HARNESS_CHILD", "1").env("CI", ci).env_remove("TERN_TESTS_REQUIRE_GCC");
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), survives, "CI={ci:?}: {stdout}{stderr}");
        assert_eq!(stdout.contains("survived, in_ci=false"), survives, "CI={ci:?}: {stdout}");
        if survives {
            assert!(stderr.contains("SKIPPED: the program `tern-no-such-tool` is missing"), "{stderr}");
        } else {
            assert!(stderr.contains("CI is set"), "CI={ci:?}: {stderr}");
        }
    }
}

#[test]
fn fake_tern_passes_differential() {
    if skip_without_compiler(false) {
        return;
    }
    let tern = fake_tern();
    differential(&tern, "intmath.c", &STATIC_O0, &[], b"");
    differential(&tern, "exit_abort.c", &DYN_O2, &[], b"");
    differential(&tern, "argv_env.c", &DYN_O2, &["x", "y"], b"stdin\n");
    let out = run_under(&tern, &build("exit_code.c", &DYN_O2), &[], b"", &[]);
    assert_eq!(out.status, ExitStatusDesc::Exited(3));
}

#[test]
fn lying_tern_fails_differential() {
    if skip_without_compiler(false) {
        return;
    }
    // Passes one extra argument to the guest.
    let tern = script("lying-tern", "shift 2; prog=\"$1\"; shift; exec \"$prog\" extra \"$@\"");
    let err = try_differential(&tern, "argv_env.c", &DYN_O2, &["x"], b"", &[]).unwrap_err();
    assert!(err.starts_with("argv_env.c [dynamic -O2]: tern differs from native\n"), "{err}");
    assert!(try_differential(&fake_tern(), "argv_env.c", &DYN_O2, &["x"], b"", &[]).is_ok());
}

#[test]
fn builds_are_cached() {
    if skip_without_compiler(false) {
        return;
    }
    let b = Build { static_: false, opt: "-O0", cxx: false };
    let first = build("exit_code.c", &b);
    let stamp = fs::metadata(&first).unwrap().modified().unwrap();
    let second = build("exit_code.c", &b);
    assert_eq!(first, second);
    assert_eq!(stamp, fs::metadata(&second).unwrap().modified().unwrap());
}

#[test]
fn concurrent_builds_are_safe() {
    if skip_without_compiler(false) {
        return;
    }
    // A fresh cache directory, so that the four threads really compile at once.
    let dir = std::env::temp_dir().join(format!("tern-harness-cache-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let b = Build { static_: true, opt: "-O2", cxx: false };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| build_in(&dir, "recursion.c", &b))).collect();
        let paths: Vec<PathBuf> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(paths.windows(2).all(|w| w[0] == w[1]));
        let out = run_native(&paths[0], &[], b"", &[]);
        assert_eq!(out.status, ExitStatusDesc::Exited(0));
    });
    let leftovers = fs::read_dir(&dir).unwrap().count();
    assert_eq!(leftovers, 1, "temporary files left in {}", dir.display());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn table_lists_every_guest_source() {
    let mut on_disk: Vec<String> = fs::read_dir(guest_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".c") || n.ends_with(".cpp"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = PROGRAMS.iter().map(|p| p.src.to_string()).collect();
    listed.extend(tern_tests::TERN_ONLY.iter().map(|s| s.to_string()));
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn cxx_builds_use_gxx() {
    assert_eq!(Build::all_for("cxx_exceptions.cpp").len(), 4);
    assert!(Build::all_for("cxx_exceptions.cpp").iter().all(|b| b.cxx));
    assert!(Build::all_for("intmath.c").iter().all(|b| !b.cxx));
}
