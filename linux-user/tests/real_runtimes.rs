//! Language runtimes and signal-heavy real programs under tern equal native
//! (issues 11 and 12, "Real programs"): bash traps, python3 signals and
//! concurrency, `openssl speed` (SIGALRM), a Go program (goroutines,
//! preemption by SIGURG, os/signal), the JVM and node with a worker thread.
//! The scripts and sources are in `tests/real/`. A missing runtime fails its
//! test in CI (`CI=true`) and is reported loudly elsewhere
//! (`tern_tests::missing`).

use std::path::{Path, PathBuf};
use std::process::Command;
use tern_tests::{assert_same, missing, run_native, run_under, Outcome};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// `tests/real/NAME`.
fn real(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/real").join(name)
}

/// The Debian program `name` in /usr/bin (never a pyenv shim), or `None`
/// after `missing` (a panic in CI).
fn debian(name: &str) -> Option<PathBuf> {
    let p = Path::new("/usr/bin").join(name);
    if p.is_file() {
        Some(p)
    } else {
        missing(&format!("the program `/usr/bin/{name}`"));
        None
    }
}

/// Runs `bin args` natively and under tern with `env` and returns both.
fn both(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> (Outcome, Outcome) {
    (run_native(bin, args, b"", env), run_under(Path::new(TERN), bin, args, b"", env))
}

/// Runs `bin args` natively and under tern and compares everything.
fn same(bin: &Path, args: &[&str], env: &[(&str, &str)]) {
    let (native, tern) = both(bin, args, env);
    assert_same(&format!("{} {args:?} {env:?}", bin.display()), &native, &tern);
}

/// A scratch directory for build products, kept between runs (caches).
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs a native build command, panicking with its output if it fails.
fn build(mut cmd: Command) {
    tern_tests::output_ok(&mut cmd);
}

/// Traps on USR1, TERM, INT and EXIT; `kill -USR1 $$`; a `wait`
/// interrupted by a trapped signal (status 138); job control, CHLD traps,
/// `wait -n`, `read -t`, a coprocess.
#[test]
fn bash_traps() {
    let Some(bash) = debian("bash") else { return };
    for name in ["trap.sh", "trap_jobs.sh"] {
        let script = real(name).display().to_string();
        same(&bash, &[&script], &[]);
    }
}

/// signal.alarm, signal.setitimer, os.kill to self, threading,
/// ThreadPoolExecutor, ProcessPoolExecutor and multiprocessing.Pool with
/// fork, subprocess; asyncio signal handlers, sigwait, SIGALRM exceptions.
#[test]
fn python3_signals_and_concurrency() {
    let Some(py) = debian("python3") else { return };
    for name in ["py_signals.py", "py_asyncio.py"] {
        let script = real(name).display().to_string();
        same(&py, &[&script], &[]);
    }
}

/// The report lines of `openssl speed` with every number (digits, dots, a
/// `k` suffix) replaced by `N` and runs of blanks by one space, so that
/// only the shape of the report is compared.
fn shape(text: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(text);
    text.lines()
        .filter(|l| l.starts_with("Doing") || l.starts_with("type") || l.starts_with("sha256"))
        .map(tern_tests::numbers_as_n)
        .collect()
}

/// `openssl speed` times each size with SIGALRM: under tern it must stop
/// after each second and print the same table (numbers aside).
#[test]
fn openssl_speed_sigalrm() {
    let Some(openssl) = debian("openssl") else { return };
    let (native, tern) = both(&openssl, &["speed", "-seconds", "1", "sha256"], &[]);
    assert_eq!(
        native.status,
        tern.status,
        "exit status; tern stderr: {}",
        String::from_utf8_lossy(&tern.stderr)
    );
    let mut n = shape(&native.stderr);
    n.extend(shape(&native.stdout));
    let mut t = shape(&tern.stderr);
    t.extend(shape(&tern.stdout));
    assert_eq!(n.len(), 8, "6 sizes, a header and a row natively: {n:?}");
    assert_eq!(n, t);
}

/// A Go program built with `go build`: goroutines, channels, WaitGroup,
/// a call-free loop ended only by asynchronous preemption (SIGURG) with
/// GOMAXPROCS=1 (it prints whether the other goroutine ended it), os/signal.
/// The same with preemption off as a control (there the loop runs to its
/// bound, about 1.5 s under tern).
#[test]
fn go_program() {
    let Some(go) = debian("go") else { return };
    let dir = scratch("go");
    let bin = dir.join("goprog");
    let mut cmd = Command::new(go);
    cmd.args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(real("goprog"))
        .env("GOCACHE", dir.join("cache"))
        .env("GOPATH", dir.join("path"))
        .env("GOFLAGS", "-mod=mod")
        .env("HOME", &dir);
    build(cmd);
    for env in [
        &[][..],
        &[("GOMAXPROCS", "1")][..],
        &[("GOMAXPROCS", "1"), ("GODEBUG", "asyncpreemptoff=1")][..],
        &[("GODEBUG", "asyncpreemptoff=1")][..],
    ] {
        same(&bin, &[], env);
    }
}

/// `java -version` (its CPU probe toggles EFLAGS.AC, see
/// tests/guest/eflags_ac.c) and a multithreaded class compiled natively
/// with javac.
#[test]
fn java_threads() {
    let Some(java) = debian("java") else { return };
    same(&java, &["-version"], &[]);
    let Some(javac) = debian("javac") else { return };
    let dir = scratch("java");
    let mut cmd = Command::new(javac);
    cmd.arg("-d").arg(&dir).arg(real("Threads.java"));
    build(cmd);
    let cp = dir.display().to_string();
    same(&java, &["-cp", &cp, "Threads"], &[]);
}

/// node with worker_threads: a script and `node -e` with an eval worker.
#[test]
fn node_worker_threads() {
    let Some(node) = debian("node") else { return };
    let script = real("worker.js").display().to_string();
    same(&node, &[&script], &[]);
    let eval = "const {Worker} = require('worker_threads');\
        const w = new Worker(\"const {parentPort} = require('worker_threads'); let s = 0;\
        for (let i = 0; i < 1e6; i++) s = (s * 31 + i) % 1000003; parentPort.postMessage(s)\", {eval: true});\
        w.on('message', m => console.log('worker', m));";
    same(&node, &["-e", eval], &[]);
}
