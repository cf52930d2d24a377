//! The command line: options, environment, argv[0], PATH lookup, exit
//! status, logs, `--strace`, `-d`, `--stats`, CPU models; arguments,
//! environment and paths that are not UTF-8.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

fn tern(args: &[&str]) -> Output {
    Command::new(TERN).args(args).output().expect("run tern")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn exit_status_is_the_guests() {
    assert_eq!(tern(&["/bin/sh", "-c", "exit 42"]).status.code(), Some(42));
    assert_eq!(tern(&["/bin/true"]).status.code(), Some(0));
    assert_eq!(tern(&["/bin/false"]).status.code(), Some(1));
}

#[test]
fn killed_guest_kills_tern_with_the_same_signal() {
    let out = tern(&["/bin/sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{:?}", out.status);
}

#[test]
fn program_looked_up_in_path() {
    let out = tern(&["echo", "hello", "-n", "--version"]);
    assert_eq!(text(&out.stdout), "hello -n --version\n");
}

#[test]
fn options_after_the_program_belong_to_it() {
    let out = tern(&["/bin/echo", "--strace", "--help"]);
    assert_eq!(text(&out.stdout), "--strace --help\n");
    assert!(out.stderr.is_empty());
}

#[test]
fn environment_edits() {
    let out = Command::new(TERN)
        .args(["-E", "TERN_A=1", "-E", "TERN_B=x=y", "-U", "TERN_GONE", "/usr/bin/env"])
        .env("TERN_GONE", "here")
        .env("TERN_KEPT", "yes")
        .output()
        .unwrap();
    let env = text(&out.stdout);
    assert!(env.lines().any(|l| l == "TERN_A=1"), "{env}");
    assert!(env.lines().any(|l| l == "TERN_B=x=y"), "{env}");
    assert!(env.lines().any(|l| l == "TERN_KEPT=yes"), "{env}");
    assert!(!env.contains("TERN_GONE"), "{env}");
}

#[test]
fn argv0_and_proc_self() {
    let out = tern(&["-0", "custom-name", "/bin/cat", "/proc/self/cmdline"]);
    assert_eq!(out.stdout, b"custom-name\0/proc/self/cmdline\0");
    let out = tern(&["/bin/readlink", "/proc/self/exe"]);
    assert_eq!(text(&out.stdout), "/usr/bin/readlink\n");
    // The guest's auxv, not tern's: tern's host auxv has AT_RSEQ_FEATURE_SIZE
    // (27), the guest's does not (tern refuses rseq); AT_EXECFN names the guest.
    let out = tern(&["/bin/cat", "/proc/self/auxv"]);
    let words: Vec<u64> = out.stdout.chunks(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
    let pairs: Vec<(u64, u64)> = words.chunks(2).map(|p| (p[0], p[1])).collect();
    assert_eq!(pairs.last(), Some(&(0, 0)), "{pairs:?}");
    assert!(pairs.contains(&(6, 4096)) && pairs.contains(&(4, 56)), "{pairs:?}");
    assert!(!pairs.iter().any(|p| p.0 == 27), "{pairs:?}");
}

#[test]
fn version_and_help() {
    let out = tern(&["--version"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).starts_with("tern "));
    let out = tern(&["--help"]);
    assert!(out.status.success());
    for opt in ["--strace", "-E", "-U", "-0", "--cpu", "-d", "--log-file", "--stats", "--no-follow-exec"] {
        assert!(text(&out.stdout).contains(opt), "--help lacks {opt}");
    }
}

#[test]
fn strace_prints_calls_and_results() {
    let out = tern(&["--strace", "/bin/cat", "/nonexistent-tern-file"]);
    let err = text(&out.stderr);
    assert!(err.starts_with("execve(\"/bin/cat\", [\"/bin/cat\", \"/nonexistent-tern-file\"]"), "{err}");
    assert!(
        err.contains(
            "openat(AT_FDCWD, \"/nonexistent-tern-file\", O_RDONLY) = -1 ENOENT (No such file or directory)"
        ),
        "{err}"
    );
    assert!(err.contains("write(2, \"/bin/cat: \", 10) = 10"), "{err}");
    assert!(err.trim_end().ends_with("exit_group(1) = ?"), "{err}");
    assert_eq!(out.status.code(), Some(1));
}

/// A signal delivered to a guest handler (a shell `trap`) is shown as
/// strace shows it, and the handler runs.
#[test]
fn strace_prints_delivered_signals() {
    let out = tern(&["--strace", "/bin/sh", "-c", "trap 'echo trapped' USR1; kill -USR1 $$; echo after"]);
    let err = text(&out.stderr);
    let pid = err
        .lines()
        .find_map(|l| l.strip_prefix("getpid() = "))
        .unwrap_or_else(|| panic!("no getpid line: {err}"))
        .trim();
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let want = format!("--- SIGUSR1 {{si_signo=SIGUSR1, si_code=SI_USER, si_pid={pid}, si_uid={uid}}} ---");
    assert!(err.lines().any(|l| l == want), "{want} missing: {err}");
    assert_eq!(text(&out.stdout), "trapped\nafter\n");
}

#[test]
fn log_file_takes_the_logs() {
    let log = std::env::temp_dir().join(format!("tern-cli-log-{}", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let out = tern(&["--strace", "--log-file", log.to_str().unwrap(), "/bin/echo", "hi"]);
    assert_eq!(text(&out.stdout), "hi\n");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("write(1, \"hi\\n\", 3) = 3"), "{logged}");
    std::fs::remove_file(&log).unwrap();
}

#[test]
fn guest_closing_stderr_keeps_the_log() {
    let out = tern(&["--strace", "/bin/sh", "-c", "exec 2>&-; exec /bin/true"]);
    let err = text(&out.stderr);
    assert!(err.contains("close(2) = 0") || err.contains("dup2"), "{err}");
    assert!(err.trim_end().ends_with("exit_group(0) = ?"), "{err}");
}

#[test]
fn dump_switches_log_guest_ir_and_host_code() {
    let out = tern(&["-d", "in_asm,op,out_asm", "/bin/true"]);
    let err = text(&out.stderr);
    for tag in ["IN: guest", "IR:", "OUT: host"] {
        assert!(err.contains(tag), "missing {tag}");
    }
    // A range that holds no code dumps nothing.
    let out = tern(&["-d", "in_asm", "--dfilter", "1000-1010", "/bin/true"]);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let bad = tern(&["-d", "nonsense", "/bin/true"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn stats_are_printed_at_exit() {
    let out = tern(&["--stats", "/bin/true"]);
    let err = text(&out.stderr);
    assert!(err.contains("tern stats:") && err.contains("blocks translated"), "{err}");
    assert!(out.status.success());
}

#[test]
fn cpu_models() {
    assert!(tern(&["--cpu", "x86-64", "/bin/true"]).status.success());
    assert!(tern(&["--cpu", "x86-64-v2", "/bin/true"]).status.success());
    let out = tern(&["--cpu", "pentium", "/bin/true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown CPU model"));
}

#[test]
fn perf_map_names_blocks_by_guest_address() {
    let child = Command::new(TERN).args(["--perf-map", "/bin/true"]).spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let path = format!("/tmp/perf-{pid}.map");
    let map = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let first = map.lines().next().unwrap();
    let f: Vec<&str> = first.split(' ').collect();
    assert_eq!(f.len(), 3, "{first}");
    assert!(u64::from_str_radix(f[0], 16).is_ok() && u64::from_str_radix(f[1], 16).is_ok(), "{first}");
    assert!(f[2].starts_with("guest_"), "{first}");
    assert!(map.lines().count() > 100);
}

#[test]
fn perf_map_follows_forks_and_execs() {
    // A subshell (a fork that runs on) and /bin/true (a fork that execs):
    // each has its own map, named by its pid.
    let script = "(read x; : $x) & echo $!; /bin/true & echo $!; wait";
    let out = Command::new(TERN)
        .args(["--perf-map", "/bin/sh", "-c", script])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pids: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    for pid in &pids {
        let path = format!("/tmp/perf-{pid}.map");
        let map = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        assert!(map.lines().count() > 100, "{path}: {} lines", map.lines().count());
    }
}

/// Runs `cmd` with only PATH in its environment (plus `env`).
fn clean(mut cmd: Command, env: &[(&OsStr, &OsStr)]) -> Output {
    cmd.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run")
}

fn bytes(b: &[u8]) -> &OsStr {
    OsStr::from_bytes(b)
}

fn same(what: &str, native: &Output, tern: &Output) {
    assert_eq!(native.status.code(), tern.status.code(), "{what}: status {}", text(&tern.stderr));
    assert_eq!(native.stdout, tern.stdout, "{what}: stdout");
    assert_eq!(native.stderr, tern.stderr, "{what}: stderr");
}

#[test]
fn arguments_and_environment_are_bytes() {
    // tern /bin/echo $'\xff' $'a\x80b'
    let args = [bytes(b"\xff"), bytes(b"a\x80b"), bytes(b"")];
    let mut native = Command::new("/bin/echo");
    native.args(args);
    let mut under = Command::new(TERN);
    under.arg("/bin/echo").args(args);
    let (native, under) = (clean(native, &[]), clean(under, &[]));
    assert_eq!(native.stdout, b"\xff a\x80b \n");
    same("echo", &native, &under);

    // tern -E $'X=\xfe' -E $'\xfd=1' -U $'\xfc' /usr/bin/env
    let native =
        clean(Command::new("/usr/bin/env"), &[(bytes(b"X"), bytes(b"\xfe")), (bytes(b"Y\xfd"), bytes(b"1"))]);
    let mut under = Command::new(TERN);
    under.arg("-E").arg(bytes(b"X=\xfe")).arg("-E").arg(bytes(b"Y\xfd=1")).arg("-U").arg(bytes(b"\xfc"));
    under.arg("/usr/bin/env");
    let under = clean(under, &[(bytes(b"\xfc"), bytes(b"gone"))]);
    assert!(native.stdout.ends_with(b"X=\xfe\nY\xfd=1\n"), "{}", text(&native.stdout));
    same("env", &native, &under);
}

#[test]
fn argv0_and_program_path_are_bytes() {
    let out =
        Command::new(TERN).arg("-0").arg(bytes(b"\xff-")).args(["/bin/cat", "/proc/self/cmdline"]).output();
    assert_eq!(out.unwrap().stdout, b"\xff-\0/proc/self/cmdline\0");
    // argv[0] may look like an option (a login shell's "-sh").
    let out = tern(&["-0", "-sh", "/bin/sh", "-c", "echo $0"]);
    assert_eq!(text(&out.stdout), "-sh\n");

    // A program and a script whose paths, interpreter path and #! argument
    // are not UTF-8, run from the command line as a shell runs them.
    let dir = std::env::temp_dir().join(format!("tern-cli-bytes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let echo = dir.join(bytes(b"echo-\xff"));
    let _ = std::fs::remove_file(&echo);
    std::os::unix::fs::symlink("/bin/echo", &echo).unwrap();
    let script = dir.join(bytes(b"script-\xfe"));
    let mut body = b"#!".to_vec();
    body.extend(echo.as_os_str().as_bytes());
    body.extend(b" \xfd arg\n");
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    for prog in [&echo, &script] {
        let mut native = Command::new(prog);
        native.arg(bytes(b"\xfc"));
        let mut under = Command::new(TERN);
        under.arg(prog).arg(bytes(b"\xfc"));
        same(&prog.display().to_string(), &clean(native, &[]), &clean(under, &[]));
    }
    let mut expected = b"\xfd arg ".to_vec();
    expected.extend(script.as_os_str().as_bytes());
    expected.extend(b" \xfc\n");
    assert_eq!(Command::new(TERN).arg(&script).arg(bytes(b"\xfc")).output().unwrap().stdout, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--syscalls` prints the syscall table as a compatibility list: one line
/// per x86-64 number in order, with its support and, unless passed
/// through, the reason.
#[test]
fn syscalls_lists_the_table() {
    let out = tern(&["--syscalls"]);
    assert!(out.status.success(), "{out:?}");
    let list = text(&out.stdout);
    let rows: Vec<Vec<&str>> =
        list.lines().filter(|l| !l.starts_with('#')).map(|l| l.split_whitespace().collect()).collect();
    let numbers: Vec<u32> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "not in order");
    assert_eq!(numbers[..3], [0, 1, 2]);
    assert!(rows.len() > 350, "{} rows", rows.len());
    let row = |name: &str| rows.iter().find(|r| r[1] == name).unwrap_or_else(|| panic!("no {name}")).clone();
    assert_eq!(row("lseek")[..3], ["8", "lseek", "pass"]);
    assert_eq!(row("lseek").len(), 3, "pass-through rows have no reason");
    assert_eq!(row("mmap")[..3], ["9", "mmap", "tern"]);
    assert_eq!(row("uselib")[..4], ["134", "uselib", "refused", "ENOSYS"]);
    assert!(row("uselib").len() > 4, "a refusal gives its reason");
    assert_eq!(row("ptrace")[2], "tern", "emulated between processes on one memory");
    // Every refusal and every tern handler says why.
    assert!(rows.iter().filter(|r| r[2] != "pass").all(|r| r.len() > 4));
    // It needs no program, and a program after it is not run.
    assert!(out.stderr.is_empty());
    let out = tern(&["--syscalls", "/bin/echo", "ran"]);
    assert!(out.status.success() && !text(&out.stdout).lines().any(|l| l == "ran"), "{out:?}");
}

/// A guest started under `ulimit -f` (RLIMIT_FSIZE, inherited by tern)
/// runs as natively: tern's own code memory is not a file the limit counts.
#[test]
fn file_size_limit_applies_to_the_guest_only() {
    let run = |prefix: &str| {
        let out = Command::new("/bin/sh")
            .args([
                "-c",
                &format!("ulimit -f 8; {prefix} /bin/sh -c 'echo ok; head -c 20000 /dev/zero > big'"),
            ])
            .current_dir(std::env::temp_dir())
            .output()
            .expect("sh");
        (out.status.code(), out.status.signal(), text(&out.stdout), text(&out.stderr).contains("File size"))
    };
    let native = run("");
    assert_eq!(native.2, "ok\n", "{native:?}");
    assert_eq!(run(TERN), native);
}

/// Address-space and data limits are the guest's: tern starts under a
/// `ulimit -v` or `ulimit -d` far below its own gigabytes of reserved
/// address space, a guest shell that lowers them goes on running programs
/// (tern used to abort on its next allocation), and the programs see and
/// hit the limits as natively.
#[test]
fn address_space_limits_apply_to_the_guest_only() {
    let script = "ulimit -v; ulimit -d; /bin/sh -c 'ulimit -v 150000; ulimit -v; ulimit -Hv; \
                  head -c 1000 /dev/zero | wc -c; ulimit -d 100000; ulimit -d; echo ok'; \
                  /bin/sh -c 'ulimit -v 1000; ls /' 2>/dev/null; echo status $?";
    let run = |tern: Option<&str>, limit: &str| {
        let out = Command::new("/bin/sh")
            .args(["-c", &format!("{limit}; exec \"$@\""), "sh"])
            .args(tern)
            .args(["/bin/sh", "-c", script])
            .output()
            .expect("sh");
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    for limit in ["ulimit -v 600000", "ulimit -Sv 600000", "ulimit -d 300000", "true"] {
        let native = run(None, limit);
        assert!(native.1.contains("ok\nstatus 1"), "{native:?}");
        assert_eq!(run(Some(TERN), limit), native, "{limit}");
    }
}

/// Under a hard address-space limit too tight for tern's own memory
/// beside the guest's, tern says what it could not get and exits with
/// status 1, at every limit from where its own libraries load up to where
/// the guest runs: no Rust abort ("memory allocation of N bytes failed",
/// SIGABRT and a backtrace, as at 20 MB before), no panic; under 40 MB a
/// shell runs.
#[test]
fn tight_address_space_limits_end_tern_with_a_message() {
    let run = |kib: u32| {
        let out = Command::new("/bin/sh")
            .args(["-c", &format!("ulimit -v {kib}; exec \"$@\""), "sh", TERN, "/bin/sh", "-c", "echo ok"])
            .output()
            .expect("sh");
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    for kib in (8000..40000).step_by(4000) {
        let (code, out, err) = run(kib);
        if code == Some(0) && out == "ok\n" {
            continue;
        }
        assert_eq!(code, Some(1), "ulimit -v {kib}: {out:?} {err:?}");
        assert!(
            err.starts_with("tern: ") && err.ends_with('\n') && err.lines().count() == 1,
            "ulimit -v {kib}: {err:?}"
        );
        assert!(
            !err.contains("memory allocation of") && !err.contains("panicked"),
            "ulimit -v {kib}: {err:?}"
        );
    }
    assert_eq!(run(40000), (Some(0), "ok\n".to_string(), String::new()));
}

/// tern run as a guest program keeps its own layer across the programs it
/// execs: its `TERN_EXEC` and the variables it hid for its guest travel
/// hidden once more through the outer tern. The outer tern once took the
/// inner one's `TERN_EXEC` for its own and ran the program directly (the
/// inner `--strace` saw nothing of it), and handed the inner tern its own
/// hidden `LD_LIBRARY_PATH` back, on which it exec'd itself for ever.
#[test]
fn tern_under_tern_keeps_both_layers() {
    let out = Command::new(TERN)
        .args([TERN, "--strace", "/bin/sh", "-c", "echo $LD_LIBRARY_PATH; /bin/echo hi"])
        .env("LD_LIBRARY_PATH", "/nonexistent/tern-lib")
        .output()
        .expect("run tern");
    assert_eq!(text(&out.stdout), "/nonexistent/tern-lib\nhi\n", "{out:?}");
    assert!(text(&out.stderr).contains("write(1, \"hi\\n\", 3) = 3"), "{out:?}");
}

/// A program the guest shell execs runs under tern by default, natively
/// with `--no-follow-exec`.
#[test]
fn no_follow_exec_runs_execd_programs_natively() {
    // Whether tern's binary is mapped in the exec'd shell, as another
    // process reads its maps (its `exe` link names the guest's program
    // either way, `proc_other.rs`).
    let tern_path = std::fs::canonicalize(TERN).unwrap();
    let script = format!("/bin/sh -c 'grep -c -F {} /proc/$$/maps'", tern_path.to_str().unwrap());
    let followed = text(&tern(&["/bin/sh", "-c", &script]).stdout);
    assert_ne!(followed.trim_end(), "0", "tern's binary mapped under tern");
    let native = text(&tern(&["--no-follow-exec", "/bin/sh", "-c", &script]).stdout);
    assert_eq!(native.trim_end(), "0", "nothing of tern in the native shell");
}

/// A fork child's `execve` is loaded by the child's own tern (bash runs
/// commands by fork + exec), a chain of them too, and so is a vfork
/// child's (dash's simple commands: the vfork is a fork that copies back,
/// `vfork_copy.rs`), with the output and status the guest expects;
/// `--no-exec-in-place` starts a new tern for each.
#[test]
fn fork_children_exec_in_place() {
    let log = std::env::temp_dir().join(format!("tern-cli-inplace-{}", std::process::id()));
    // Runs `shell -c script`, checks its output and status; returns how
    // many programs were loaded in place.
    let run = |extra: &[&str], shell: &str, script: &str, want: &str, status: i32| {
        let _ = std::fs::remove_file(&log);
        let mut args = vec!["--log-file", log.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[shell, "-c", script]);
        let out = Command::new(TERN).args(&args).env("TERN_LOG", "debug").output().expect("run tern");
        assert_eq!(text(&out.stdout), want);
        assert_eq!(out.status.code(), Some(status));
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        logged.lines().filter(|l| l.contains("execve in place")).count()
    };
    let bash = |extra: &[&str]| {
        let script = "/bin/echo one; /bin/sh -c 'exec /bin/echo two'; exit 3";
        run(extra, "/bin/bash", script, "one\ntwo\n", 3)
    };
    // /bin/echo, /bin/sh, then the shell's exec of /bin/echo.
    assert_eq!(bash(&[]), 3);
    assert_eq!(bash(&["--no-exec-in-place"]), 0);
    // dash vforks for /bin/echo and /bin/true, forks for the pipeline.
    let dash = |extra: &[&str]| {
        let script = "/bin/echo one; /bin/true; /bin/echo two | /bin/cat; exit 4";
        run(extra, "/bin/dash", script, "one\ntwo\n", 4)
    };
    assert_eq!(dash(&[]), 4);
    assert_eq!(dash(&["--no-exec-in-place"]), 0);
    let _ = std::fs::remove_file(&log);
}

/// Variables that would change tern itself reach the guest, under their
/// names, and the programs it execs; never renamed for a guest.
#[test]
fn loader_variables_reach_the_guest_only() {
    let out = Command::new(TERN)
        .args(["/bin/sh", "-c", "env; echo --; /usr/bin/env"])
        .env("LD_LIBRARY_PATH", "/nonexistent/tern-lib")
        .env("GLIBC_TUNABLES", "glibc.malloc.check=0")
        .env("MALLOC_ARENA_MAX", "1")
        .output()
        .unwrap();
    let env = text(&out.stdout);
    for part in env.split("--\n") {
        for want in [
            "LD_LIBRARY_PATH=/nonexistent/tern-lib",
            "GLIBC_TUNABLES=glibc.malloc.check=0",
            "MALLOC_ARENA_MAX=1",
        ] {
            assert!(part.lines().any(|l| l == want), "{want} missing from\n{part}");
        }
        assert!(!part.contains("TERN_GUEST_ENV_"), "{part}");
    }
}

/// A fresh directory for a test's persistent translation cache.
fn cache_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The directories of tern binaries and options in cache directory
/// `cache` (beside them: the host's CPUID record).
fn tag_dirs(cache: &std::path::Path) -> Vec<std::path::PathBuf> {
    let dirs = std::fs::read_dir(cache).into_iter().flatten().flatten().map(|e| e.path());
    dirs.filter(|p| p.is_dir()).collect()
}

/// The value of the `--stats` counter `name` in the last block of
/// counters in tern's log (that of the first process, which waited for
/// any children it started).
fn stat(stderr: &[u8], name: &str) -> u64 {
    let log = text(stderr);
    let line = log
        .lines()
        .rfind(|l| l.trim_start().starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in {log}"));
    line.rsplit(' ').next().and_then(|n| n.parse().ok()).expect("a number")
}

/// Every value of the `--stats` counter `name` in tern's log (one per
/// process that printed its counters).
fn stats_of(stderr: &[u8], name: &str) -> Vec<u64> {
    let log = text(stderr);
    log.lines()
        .filter(|l| l.trim_start().starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect()
}

/// A fork child shares the code its parent translated until one of them
/// has to write it: children that only run and exit copy nothing, and
/// neither does their parent. A program whose processes rewrite shared
/// code, run hot new paths through it and fail an exec does take copies
/// and a flush (the paths `fork_shared_code.c` checks against native).
#[test]
fn fork_children_share_code_until_one_writes_it() {
    let script = "for i in 1 2 3 4; do (echo $i > /dev/null); done; echo done";
    let out = tern(&["--no-code-cache", "--stats", "/bin/sh", "-c", script]);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "done\n".into()), "{out:?}");
    let copies = stats_of(&out.stderr, "code cache copies");
    assert_eq!(copies, [0; 5], "{}", text(&out.stderr));

    let out = guest_with_stats("fork_shared_code");
    let log = text(&out.stderr);
    assert!(stats_of(&out.stderr, "code cache copies").iter().sum::<u64>() >= 1, "{log}");
    assert!(stats_of(&out.stderr, "code cache flushes").contains(&1), "the failed exec: {log}");
}

/// Runs `tests/guest/NAME.c` (gcc -O2) under tern with `--stats` and no
/// persistent cache; it must exit 0.
fn guest_with_stats(name: &str) -> std::process::Output {
    let dir = cache_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/guest/{name}.c"));
    let bin = dir.join(name);
    let cc = Command::new("gcc").arg("-O2").arg("-o").arg(&bin).arg(&src).status().expect("gcc");
    assert!(cc.success());
    let out = Command::new(TERN).args(["--no-code-cache", "--stats"]).arg(&bin).output().expect("run tern");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    std::fs::remove_dir_all(&dir).unwrap();
    out
}

/// A guest that maps much memory does not carry the persistent cache's
/// pages in its resident set (nor in its peak, `ru_maxrss`): once it has
/// mapped 8 MiB more, the stores' pages it read are dropped. The guest
/// maps and touches 32 MiB twice (the second time by paths that ran
/// the first), then waits; its
/// stores' resident bytes are read from tern's own `/proc/PID/smaps`.
#[test]
fn stores_leave_the_resident_set_when_the_guest_grows() {
    use std::io::{BufRead, Write};
    let dir = cache_dir("rss");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("grow.c");
    std::fs::write(
        &src,
        "#include <string.h>\n#include <sys/mman.h>\n#include <unistd.h>\n\
         int main(void) { char b; do { size_t n = 32 << 20; char *p = mmap(0, n, PROT_READ |\n\
         PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); memset(p, 1, n); write(1, \"x\\n\", 2);\n\
         } while (read(0, &b, 1) == 1); return 0; }\n",
    )
    .unwrap();
    let bin = dir.join("grow");
    assert!(Command::new("gcc").arg("-O2").arg("-o").arg(&bin).arg(&src).status().expect("gcc").success());
    let cache = dir.join("cache");
    let run = || {
        let mut child = Command::new(TERN)
            .arg("--code-cache")
            .arg(&cache)
            .arg(&bin)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run tern");
        // The second turn of the guest's loop runs only paths the first
        // ran: nothing is loaded from the stores after its drop.
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"\n").unwrap();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, "x\nx\n");
        let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", child.id())).unwrap();
        drop(stdin);
        assert!(child.wait().unwrap().success());
        // Resident kB of the store files' mappings, and how many there are.
        let (mut stores, mut rss, mut in_store) = (0, 0, false);
        for l in smaps.lines() {
            if l.split_whitespace().next().is_some_and(|r| r.contains('-') && !r.ends_with(':')) {
                in_store = l.ends_with(".tbc");
                stores += usize::from(in_store);
            } else if in_store && l.starts_with("Rss:") {
                rss += l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).unwrap();
            }
        }
        (stores, rss)
    };
    run();
    let (stores, rss) = run();
    assert!(stores >= 2, "the warm run maps the stores of ld.so, libc and the program: {stores}");
    assert_eq!(rss, 0, "kB of the stores resident");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--stats` goes on to an exec'd program (through `env` here): the
/// process prints the counters of the program it ends with, once, and
/// a forked child that execs prints its program's too.
#[test]
fn stats_follow_exec() {
    let out = tern(&["--no-code-cache", "--stats", "/usr/bin/env", "/bin/true"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stats_of(&out.stderr, "syscalls").len(), 1, "{}", text(&out.stderr));
    let out = tern(&["--no-code-cache", "--stats", "/bin/sh", "-c", "/bin/true; /bin/true; echo x"]);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "x\n".into()), "{out:?}");
    assert_eq!(stats_of(&out.stderr, "syscalls").len(), 3, "{}", text(&out.stderr));
}

/// Runs `sh -c script` under tern with its persistent cache in `dir`,
/// `options` and `--stats`; checks that it exits 0 and prints `expected`.
fn shell_with_cache(dir: &std::path::Path, options: &[&str], script: &str, expected: &str) -> Output {
    let out = Command::new(TERN)
        .arg("--code-cache")
        .arg(dir)
        .args(options)
        .args(["--stats", "/bin/sh", "-c", script])
        .output()
        .expect("run tern");
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), expected.into()), "{out:?}");
    out
}

/// The persistent translation cache: a second run of a shell script
/// uses the blocks the first translated (the dynamic loader's, libc's,
/// dash's), and prints the same.
#[test]
fn later_processes_reuse_translations() {
    let dir = cache_dir("reuse");
    let run = || {
        // No fork in the shell (it execs `ls`): blocks loaded for fork
        // children would depend on when a child wrote them.
        let out = shell_with_cache(&dir, &[], "echo $((6 * 7)); ls / > /dev/null", "42\n");
        (stat(&out.stderr, "blocks translated"), stat(&out.stderr, "of which reused"))
    };
    let (first, few) = run();
    // A few at most: a slow run looks at the stores again after 50 ms
    // (`Persist::refresh`) and may find there what `ls`'s start wrote.
    assert!(few * 20 <= first, "{few} of {first} blocks reused in the first run");
    let (blocks, reused) = run();
    assert_eq!(blocks, first);
    assert!(reused * 10 >= blocks * 9, "{reused} of {blocks} blocks reused");
    // Without the cache, nothing is reused.
    let out = tern(&["--no-code-cache", "--stats", "/bin/true"]);
    assert_eq!(stat(&out.stderr, "of which reused"), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A program's start-up list (`persist/group.rs`): a warm run installs
/// the blocks earlier runs needed when code in their file first runs,
/// linked among themselves and in the lookup table, so that few exits
/// to the CPU loop remain; a damaged list is no list. A block the list
/// holds but could not install at once (the dynamic loader's calls
/// through slots it has not relocated yet) is installed later and is no
/// miss: warm runs note none, so they neither lock the cache nor read the
/// list again at their end.
#[test]
fn start_up_lists_install_a_programs_blocks_at_once() {
    let dir = cache_dir("start-up");
    let run = || {
        let out = shell_with_cache(&dir, &[], "echo $((6 * 7))", "42\n");
        let counters = [
            "blocks translated",
            "blocks loaded from start-up lists",
            "exits: direct",
            "exits: indirect",
            "start-up list misses",
        ];
        counters.map(|c| stat(&out.stderr, c))
    };
    let [blocks, listed, direct, indirect, missed] = run();
    assert_eq!(listed, 0, "the first run has no list");
    assert!(missed > 0 && missed <= blocks, "the first run notes its blocks: {missed} of {blocks}");
    let warm = run();
    assert!(warm[1] * 10 >= blocks * 9, "{} of {blocks} blocks from the list", warm[1]);
    assert!(warm[2] * 4 <= direct, "direct exits: {} warm, {direct} cold", warm[2]);
    assert!(warm[3] * 4 <= indirect, "indirect exits: {} warm, {indirect} cold", warm[3]);
    assert!(warm[1] < blocks, "some blocks are installed after the list: {} of {blocks}", warm[1]);
    assert_eq!(warm[4], 0, "misses noted by a warm run");
    let lists: Vec<_> = tag_dirs(&dir)
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "grp"))
        .collect();
    assert_eq!(lists.len(), 1, "one list, the shell's: {lists:?}");
    std::fs::write(&lists[0], b"TERNGRP1 and then nonsense").unwrap();
    let [_, listed, ..] = run();
    assert_eq!(listed, 0, "a damaged list gives nothing");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Start-up images (`persist/image.rs`): the run after the first warm one
/// installs each file's share of the list from its image, one copy of the
/// code for all of its blocks, and runs as the warm run did; a damaged or
/// truncated image costs blocks, never the output.
#[test]
fn start_up_images_install_a_files_share_at_once() {
    let dir = cache_dir("images");
    let script = "echo $((6 * 7)); x=abc; echo ${x#a}";
    let run = || {
        let out = shell_with_cache(&dir, &[], script, "42\nbc\n");
        ["blocks loaded from start-up lists", "of which from start-up images", "exits: direct"]
            .map(|c| stat(&out.stderr, c))
    };
    run();
    let [listed, from_images, direct] = run();
    assert_eq!(from_images, 0, "the first warm run writes the images");
    let [listed_again, from_images, direct_again] = run();
    assert_eq!(listed_again, listed);
    assert!(from_images * 10 >= listed * 9, "{from_images} of {listed} blocks from images");
    assert!(direct_again <= direct + 8, "direct exits: {direct_again}, {direct} before");
    let images: Vec<_> = tag_dirs(&dir)
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "img"))
        .collect();
    assert!(images.len() >= 2, "the shell's, libc's and ld.so's: {images:?}");
    for (i, img) in images.iter().enumerate() {
        let mut b = std::fs::read(img).unwrap();
        // Its header, a block's fields and record, and code.
        for at in [20, 60, 100, 200, b.len() / 2, b.len() - 100] {
            b[at] ^= 0x21;
        }
        if i == 0 {
            b.truncate(b.len() * 3 / 4);
        }
        std::fs::write(img, b).unwrap();
    }
    let [_, damaged, _] = run();
    assert!(damaged < from_images, "{damaged} blocks from damaged images");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `-d persist` logs what the persistent cache gave a process: the first
/// run notes misses, the next finds a list share per file without an
/// image, the one after installs them from images; the same directory as
/// without it (it changes no generated code), so the runs share one cache.
#[test]
fn dump_persist_logs_what_the_cache_gave() {
    let dir = cache_dir("dump-persist");
    let log = dir.with_extension("log");
    let run = |dump: bool| {
        let _ = std::fs::remove_file(&log);
        let mut args = vec!["--code-cache", dir.to_str().unwrap()];
        if dump {
            args.extend(["-d", "persist", "-D", log.to_str().unwrap()]);
        }
        args.extend(["/bin/sh", "-c", "echo $((6 * 7))"]);
        let out = tern(&args);
        assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "42\n".into()), "{out:?}");
        std::fs::read_to_string(&log).unwrap_or_default()
    };
    let first = run(true);
    let missed: u64 = first
        .lines()
        .find_map(|l| {
            l.strip_prefix("persist: ")?
                .strip_suffix(" start-up list misses noted, to be added to the list")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no misses line in {first:?}"));
    assert!(missed > 100, "{first}");
    assert!(!first.contains("first share"), "no list yet: {first}");
    let second = run(false);
    assert!(second.is_empty(), "logged without -d persist: {second}");
    let third = run(true);
    assert!(third.lines().filter(|l| l.contains("first share")).count() >= 2, "{third}");
    let images = third.lines().filter_map(|l| l.split(", its image gave ").nth(1)?.parse::<u64>().ok());
    assert!(images.sum::<u64>() * 10 >= missed * 9, "{third}");
    // Another script with a few blocks of its own: too few to write the
    // list again, so they are not even read back at the end (each such
    // run would otherwise lock the cache and read the whole list).
    let _ = std::fs::remove_file(&log);
    let args = ["--code-cache", dir.to_str().unwrap(), "-d", "persist", "-D", log.to_str().unwrap()];
    let out = tern(&[&args[..], &["/bin/sh", "-c", "echo $((6 - 7))"]].concat());
    assert_eq!(text(&out.stdout), "-1\n");
    let other = std::fs::read_to_string(&log).unwrap();
    let few = other.lines().find_map(|l| {
        l.strip_prefix("persist: ")?
            .strip_suffix(" start-up list misses noted, too few to add")?
            .parse::<u64>()
            .ok()
    });
    assert!(few.is_some_and(|n| n > 0), "{other}");
    let _ = std::fs::remove_file(&log);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two shell scripts for the tests of start-up lists' segments: a short
/// one, and another that runs paths of the shell the short one does not.
const SHORT_SCRIPT: &str = "echo $((6 * 7))";
const OTHER_SCRIPT: &str = "f() { local y; y=${1#*.}; printf '%s-%d ' \"$y\" ${#1}; }; i=0; \
     while [ $i -lt 30 ]; do case $i in *5) f a.b$i;; *) : ;; esac; i=$((i+1)); done; \
     set -- x y z; for a; do test -n \"$a\" && printf %s \"$a\"; done; \
     umask 022; cd /; unset i; echo ${i:-none}";
const OTHER_OUT: &str = "b5-4 b15-5 b25-5 xyznone\n";

/// A start-up list's later segments (`persist/group.rs`): what a run of
/// another script of the same program added is installed only by the runs
/// that reach it, so a short script does not pay for the paths of every
/// script run before (before: a union, which `python3 -c pass` after four
/// other scripts took 1.35x the time to install).
#[test]
fn start_up_lists_install_other_runs_paths_only_where_reached() {
    let dir = cache_dir("segments");
    let (short, other, other_out) = (SHORT_SCRIPT, OTHER_SCRIPT, OTHER_OUT);
    let run = |script: &str, expected: &str| {
        let out = shell_with_cache(&dir, &[], script, expected);
        ["blocks translated", "blocks loaded from start-up lists", "exits: direct"]
            .map(|c| stat(&out.stderr, c))
    };
    run(short, "42\n");
    let [_, short_listed, _] = run(short, "42\n");
    let [other_blocks, _, _] = run(other, other_out);
    let added = other_blocks - short_listed;
    assert!(added * 10 > short_listed, "the other script's own blocks: {added}");
    let [_, listed, _] = run(short, "42\n");
    assert!(
        listed < short_listed + added / 4,
        "{listed} blocks from the list, {short_listed} before the other script"
    );
    let [blocks, listed, direct] = run(other, other_out);
    assert!(listed * 10 >= blocks * 9, "{listed} of {blocks} blocks from the list");
    assert!(direct * 4 <= added, "{direct} direct exits");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A later segment's image (`persist::Segment`): the run after the one
/// that added a segment (another script of the program) loads its blocks
/// one by one and writes their image; the runs after install it at once,
/// once their spans asked for a quarter of its blocks.
#[test]
fn later_segments_install_from_their_images() {
    let dir = cache_dir("segment-images");
    let (short, other, other_out) = (SHORT_SCRIPT, OTHER_SCRIPT, OTHER_OUT);
    let run = |script: &str, expected: &str| {
        let out = shell_with_cache(&dir, &[], script, expected);
        ["blocks translated", "blocks loaded from start-up lists", "of which from start-up images"]
            .map(|c| stat(&out.stderr, c))
    };
    for _ in 0..3 {
        run(short, "42\n");
    }
    let [_, short_listed, short_images] = run(short, "42\n");
    assert!(short_images * 10 >= short_listed * 9, "{short_images} of {short_listed} from images");
    // Adds its own blocks as a later segment, then loads them one by one.
    run(other, other_out);
    let [_, listed, before] = run(other, other_out);
    let added = listed - short_listed;
    assert!(added * 10 > short_listed, "the other script's own blocks: {added}");
    let [_, listed_again, from_images] = run(other, other_out);
    assert_eq!(listed_again, listed);
    assert!(from_images >= before + added / 2, "{from_images} from images, {before} before; {added} added");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Processes that end together (a pipeline, `make -j`) all keep their
/// translations: each merges its blocks into the stores under a lock.
/// Before, two read the same store, merged, and the later rename dropped
/// the other's blocks (hundreds of the eight commands' blocks here were
/// translated again by the next runs).
#[test]
fn processes_ending_together_keep_all_their_translations() {
    use std::io::Write;
    let dir = cache_dir("together");
    let commands: [&[&str]; 8] = [
        &["sed", "s/a/b/"],
        &["tr", "a-z", "A-Z"],
        &["sort", "-r"],
        &["wc", "-c"],
        &["cut", "-c1-2"],
        &["od", "-c"],
        &["rev"],
        &["tac"],
    ];
    let start = |cmd: &[&str]| {
        let mut child = Command::new(TERN)
            .arg("--code-cache")
            .arg(&dir)
            .arg("--stats")
            .args(cmd)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run tern");
        child.stdin.take().unwrap().write_all(b"abc\n").unwrap();
        child
    };
    let together: Vec<_> = commands.iter().map(|c| start(c)).collect();
    for child in together {
        assert!(child.wait_with_output().unwrap().status.success());
    }
    let translated: u64 = commands
        .iter()
        .map(|c| {
            let out = start(c).wait_with_output().unwrap();
            stat(&out.stderr, "blocks translated") - stat(&out.stderr, "of which reused")
        })
        .sum();
    assert!(translated <= 16, "{translated} blocks translated again after the runs that ended together");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A parent loads the blocks its earlier fork children needed before its
/// next fork (`fork_hints.rs`): a shell's subshells, each forked after the
/// previous one ended. Also in the first run, on a cold cache: a child
/// writes its translations when it ends, and the parent and the next
/// children look at the cache's files again (`Persist::refresh`, at most
/// every 50 ms: hence the sleeps) rather than translating them again
/// child after child, as a server's children did.
#[test]
fn fork_children_share_what_their_siblings_loaded() {
    let dir = cache_dir("fork-hints");
    let script = "for i in 1 2 3 4; do (printf '%s\\n' $i); sleep 0.06; done; echo done";
    for run in 0..2 {
        let out = shell_with_cache(&dir, &[], script, "1\n2\n3\n4\ndone\n");
        // The shell's counters come last (it ends last).
        let loaded = stat(&out.stderr, "blocks loaded for fork children");
        assert!(loaded > 0, "run {run}: no block loaded for the subshells: {}", text(&out.stderr));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A block whose indirect branch's slot predicted a target in one program
/// (bound at load time: `LD_BIND_NOW`) and names none in another (bound
/// lazily) is translated again by the second, and found by the next like
/// it: the main store's version used to hide it, and every later process
/// translated it again (and rewrote the store at its end).
#[test]
fn blocks_translated_for_another_binding_are_reused() {
    let dir = cache_dir("binding");
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input");
    std::fs::write(&input, "x\n").unwrap();
    // `sed` alone, not a shell pipeline: a shell's path depends on when
    // its children end (a SIGCHLD in `wait` on a loaded machine), and a
    // path no earlier run took is translated, whatever the binding.
    let run = |env: &[&str]| {
        let out = Command::new(TERN)
            .arg("--code-cache")
            .arg(dir.join("cache"))
            .args(env)
            .args(["--stats", "/bin/sed", "s/x/y/"])
            .arg(&input)
            .output()
            .expect("run tern");
        assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "y\n".into()), "{out:?}");
        let (blocks, reused) = (stat(&out.stderr, "blocks translated"), stat(&out.stderr, "of which reused"));
        blocks - reused
    };
    run(&["-E", "LD_BIND_NOW=1"]);
    assert!(run(&[]) > 0, "the first lazily bound run translates its own blocks");
    assert_eq!(run(&[]), 0, "lazily bound, after a first such run");
    assert_eq!(run(&["-E", "LD_BIND_NOW=1"]), 0, "bound at load time again");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A block in the cache is used only where the guest bytes are those it
/// was translated from: the cache of a program that differs in one
/// instruction's immediate (`return 3` / `return 4`), put in place of
/// another's, gives its other blocks but not that one.
#[test]
fn cached_blocks_of_other_bytes_are_never_run() {
    let dir = cache_dir("bytes");
    let mut stores = Vec::new();
    for (name, code) in [("three", 3), ("four", 4)] {
        let src = dir.join(format!("{name}.c"));
        std::fs::create_dir_all(dir.join(name)).unwrap();
        std::fs::write(&src, format!("int main(void) {{ return {code}; }}\n")).unwrap();
        let bin = dir.join(name).join("prog");
        let cc = Command::new("gcc").arg("-O2").arg("-o").arg(&bin).arg(&src).status().expect("gcc");
        assert!(cc.success());
        let out = Command::new(TERN).arg("--code-cache").arg(dir.join("cache")).arg(&bin).output().unwrap();
        assert_eq!(out.status.code(), Some(code));
        // The store just written for this program.
        let tag_dir = tag_dirs(&dir.join("cache")).pop().expect("the cache's directory");
        let store = std::fs::read_dir(&tag_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with("prog-") && name.ends_with(".tbc") && !stores.contains(p)
            })
            .expect("the program's store");
        stores.push(store);
    }
    // The second program's blocks under the first's name.
    std::fs::copy(&stores[1], &stores[0]).unwrap();
    let out = Command::new(TERN)
        .arg("--code-cache")
        .arg(dir.join("cache"))
        .arg(dir.join("three/prog"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A process that ends with other threads alive writes its translations
/// as one alone does: the others are stopped for good first (natively
/// `exit_group` ends them at once; the writing must not let them run on),
/// here one sleeping in `pause`, which natively never returns either.
#[test]
fn threads_alive_at_exit_are_stopped_and_the_cache_written() {
    let dir = cache_dir("threads");
    let src = dir.join("t.c");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        &src,
        "#include <pthread.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n\
         static void *nap(void *a) { (void)a; for (;;) { pause(); puts(\"woke\"); } }\n\
         int main(int argc, char **argv) { pthread_t t;\n\
         if (argc > 1) pthread_create(&t, 0, nap, 0);\n usleep(1000); exit(0); }\n",
    )
    .unwrap();
    let bin = dir.join("t");
    let cc =
        Command::new("gcc").arg("-O2").arg("-pthread").arg("-o").arg(&bin).arg(&src).status().expect("gcc");
    assert!(cc.success());
    let stores = |cache: &std::path::Path| {
        tag_dirs(cache).iter().map(|d| std::fs::read_dir(d).unwrap().count()).sum::<usize>()
    };
    for (threaded, cache) in [(true, dir.join("c1")), (false, dir.join("c2"))] {
        let mut cmd = Command::new(TERN);
        cmd.arg("--code-cache").arg(&cache).arg(&bin);
        if threaded {
            cmd.arg("thread");
        }
        let out = cmd.output().unwrap();
        assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), String::new()), "threaded {threaded}");
        assert!(stores(&cache) > 0, "threaded {threaded}: nothing written");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Code that shares its page with data written all the time (a nested
/// function's trampoline on the stack, a patched JIT page) stops being
/// write-protected after `pages::VOLATILE_AFTER` write faults: its blocks
/// check their bytes instead. Before, every turn took a fault, two
/// `mprotect`s and a retranslation (`smc_volatile.c`: 8 s against 0.03
/// natively; its results are checked against native in `guest_programs`).
#[test]
fn volatile_code_pages_check_themselves_instead_of_faulting() {
    let out = guest_with_stats("smc_volatile");
    let log = text(&out.stderr);
    // Two pages (the stack's and the JIT's), 8 faults each at most.
    assert!(stat(&out.stderr, "code-page writes") <= 16, "{log}");
    // The JIT page's functions are rewritten about 9,000 times.
    let stale = stat(&out.stderr, "exits: stale");
    assert!(stale >= 5000, "{log}");
    // Each time only the block whose bytes changed is dropped, not the
    // other blocks of its page (which check themselves): before, each
    // stale exit dropped about six.
    assert!(stat(&out.stderr, "blocks invalidated") <= stale + 16 * 64, "{log}");
}

/// A tern started from outside asks the host's CPUID once (leaf 1, to
/// check the record) when an earlier one recorded the answers in the
/// cache's directory, and the guest sees the same CPU; a record of
/// another boot or CPU is not used, nor one that is damaged, and a
/// process that learned nothing new leaves the record as it is.
#[test]
fn host_cpuid_answers_are_recorded_for_the_next_tern() {
    let dir = cache_dir("cpuid-record");
    let cache = dir.join("cache");
    let record = cache.join("host-cpuid");
    let cache_arg = cache.to_str().unwrap();
    let run = || {
        let out =
            tern(&["--code-cache", cache_arg, "--stats", "/bin/sh", "-c", "grep -m1 flags /proc/cpuinfo"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        (stat(&out.stderr, "host cpuid asked"), text(&out.stdout))
    };
    let (cold, flags) = run();
    assert!(cold > 5, "a first tern asks the host each leaf: {cold}");
    let written = std::fs::read_to_string(&record).expect("the record");
    let (warm, warm_flags) = run();
    assert_eq!((warm, &warm_flags), (1, &flags), "the record's answers, checked by leaf 1");
    assert_eq!(std::fs::read_to_string(&record).unwrap(), written, "nothing new to record");
    // Another boot, then a CPU of another model, then a torn file: the
    // host is asked again, and the record written anew.
    let other_boot = written.replacen("\nboot ", "\nboot 0", 1);
    // Leaf 1's signature with a digit more: another family.
    let other_cpu: String = written
        .split_inclusive(['\n', ' '])
        .map(|w| if w.starts_with("1.0=") { w.replacen("1.0=", "1.0=1", 1) } else { w.to_owned() })
        .collect();
    assert_ne!(other_cpu, written, "leaf 1 recorded");
    for bad in [other_boot, other_cpu, written[..written.len() / 2].to_owned()] {
        std::fs::write(&record, &bad).unwrap();
        let (asked, again) = run();
        assert!(asked > 5 && again == flags, "{asked} {again} for {bad}");
        assert_ne!(std::fs::read_to_string(&record).unwrap(), bad, "rewritten");
        assert_eq!(run().0, 1, "and used again");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
