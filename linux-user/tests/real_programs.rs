//! Real Debian programs give byte-identical output (and exit status) under
//! tern and natively. Inputs are generated deterministically in a scratch
//! directory; the programs come from the packages `./dev test` installs.
//! A missing program fails its test in CI (`CI=true`) and is reported
//! loudly elsewhere (`tern_tests::missing`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tern_tests::{assert_same, have_programs, missing, run_native, run_under};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// A scratch directory with generated inputs, made once per test binary.
fn inputs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("tern-real-{}", std::process::id()));
        std::fs::create_dir_all(d.join("tree/sub")).unwrap();
        // Text with a deterministic pseudo-random word stream.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let words = ["alpha", "beta", "gamma", "delta", "root", "tern", "qemu", "linux", "x86", "jit"];
        let mut text = String::new();
        for i in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.push_str(words[(x % 10) as usize]);
            text.push(if i % 12 == 11 { '\n' } else { ' ' });
        }
        std::fs::write(d.join("words.txt"), &text).unwrap();
        for (name, body) in
            [("a.txt", "root line\n"), ("sub/b.txt", "no match\n"), ("sub/c.txt", "root again\n")]
        {
            std::fs::write(d.join("tree").join(name), body).unwrap();
        }
        std::fs::write(
            d.join("script.py"),
            "import json, re, hashlib, sqlite3\n\
             c = sqlite3.connect(':memory:')\n\
             c.execute('create table t(k text, v int)')\n\
             c.executemany('insert into t values(?,?)', [(str(i), i*i) for i in range(5000)])\n\
             print(c.execute('select count(*), sum(v) from t where k like \"1%\"').fetchone())\n\
             print(json.dumps({'a': [1, 2.5, None], 'b': 'x'}, sort_keys=True))\n\
             print(re.findall(r'\\b(\\w)(\\w*)\\1\\b', 'abca deed noon xyz'))\n\
             print(hashlib.sha256(b'tern' * 1000).hexdigest())\n\
             print(sorted({i % 97: i for i in range(10000)}.items())[:5])\n",
        )
        .unwrap();
        std::fs::write(
            d.join("q.sql"),
            "create table t(a integer primary key, b text);\n\
             with recursive c(x) as (select 1 union all select x+1 from c where x < 20000)\n\
             insert into t select x, printf('row%05d', x*7 % 20000) from c;\n\
             create index ib on t(b);\n\
             select count(*), min(b), max(b), sum(a) from t where b like 'row1%';\n\
             select b from t order by b desc limit 3;\n",
        )
        .unwrap();
        // Fixed timestamps so `ls -la` is comparable.
        let touch = std::process::Command::new("touch")
            .args(["-h", "-d", "2024-01-02 03:04:05"])
            .args(["tree", "tree/a.txt", "tree/sub", "tree/sub/b.txt", "tree/sub/c.txt"])
            .current_dir(&d)
            .status()
            .unwrap();
        assert!(touch.success());
        d
    })
}

/// The Debian program `prog`: the one in `PATH`, unless that is a pyenv
/// shim, else the one in /usr/bin.
fn debian_program(prog: &str) -> Option<PathBuf> {
    tern_tests::find_program(prog).filter(|p| !p.starts_with("/root/.pyenv")).or_else(|| {
        let p = Path::new("/usr/bin").join(prog);
        p.is_file().then_some(p)
    })
}

/// Runs `prog args` natively and under tern (in the inputs directory) and
/// compares. A missing program fails in CI, else is reported and skipped.
fn same(prog: &str, args: &[&str], stdin: &[u8]) {
    let Some(bin) = debian_program(prog) else {
        missing(&format!("the program `{prog}`"));
        return;
    };
    let dir = inputs().display().to_string();
    let mut full: Vec<&str> = vec!["-c", "cd \"$0\" && exec \"$@\"", &dir];
    let binstr = bin.display().to_string();
    full.push(&binstr);
    full.extend_from_slice(args);
    // Run through /bin/sh so the program starts in the inputs directory; the
    // shell runs natively in one case and under tern (with the program) in
    // the other.
    let sh = Path::new("/bin/sh");
    let native = run_native(sh, &full, stdin, &[]);
    let tern = run_under(Path::new(TERN), sh, &full, stdin, &[]);
    assert_same(&format!("{prog} {args:?}"), &native, &tern);
}

#[test]
fn ls_la() {
    same("ls", &["-la", "--time-style=full-iso", "tree", "tree/sub"], b"");
}

#[test]
fn sort_words() {
    same("sort", &["words.txt"], b"");
    same("sort", &["-n", "-r", "-k", "2"], b"3 b 10\n1 a 2\n2 c 30\n");
}

/// man-db formats a page through groff's pipeline, each program of which
/// it runs under a seccomp filter of some 450 instructions (libseccomp,
/// `man-db`'s sandbox): the filter is tern's to run, and follows each
/// program through its exec.
#[test]
fn man_page_through_a_seccomp_sandbox() {
    same("man", &["-P", "cat", "ls"], b"");
}

#[test]
fn grep_recursive() {
    same("grep", &["-rn", "root", "tree"], b"");
}

#[test]
fn sha256sum() {
    same("sha256sum", &["words.txt"], b"");
}

#[test]
fn gzip_round_trip() {
    // Run by the shell: a missing one would fail natively and under tern alike.
    if !have_programs(&["gzip", "gunzip", "sha256sum", "wc"]) {
        return;
    }
    same("sh", &["-c", "gzip -9 -c words.txt | gunzip -c | sha256sum; gzip -c words.txt | wc -c"], b"");
}

#[test]
fn xz_round_trip() {
    if !have_programs(&["xz", "sha256sum"]) {
        return;
    }
    same("sh", &["-c", "xz -6 -c words.txt | xz -d -c | sha256sum; xz -c words.txt | sha256sum"], b"");
}

/// Multithreaded programs (guest threads): their output does not depend
/// on the number of threads, so it must equal the native one exactly.
#[test]
fn threaded_xz_zstd_sort() {
    if !have_programs(&["xz", "zstd", "sha256sum"]) {
        return;
    }
    same(
        "sh",
        &["-c", "xz -T2 --block-size=200KiB -c words.txt | sha256sum; zstd -T2 -B524288 -q -c words.txt | sha256sum"],
        b"",
    );
    // sort uses its threads from about 256K lines on.
    same("sh", &["-c", "seq 400000 | sort --parallel=2 -S 50M | sha256sum"], b"");
}

#[test]
fn python3_script() {
    same("python3", &["script.py"], b"");
}

#[test]
fn sqlite3_sql() {
    same("sqlite3", &[":memory:"], &std::fs::read(inputs().join("q.sql")).unwrap());
}

#[test]
fn perl_e() {
    same(
        "perl",
        &[
            "-e",
            "my %h; $h{$_ % 1000} += $_ for 1..100000; printf(\"%d %.4f\\n\", scalar(keys %h), sqrt(2));",
        ],
        b"",
    );
}

#[test]
fn lua() {
    same(
        "lua5.4",
        &["-e", "local t = {} for i = 1, 100000 do t[i] = i * i end print(#t, t[777], math.sin(1.0))"],
        b"",
    );
}

/// valgrind (memcheck) on a threaded program: its report (the overrun in a
/// thread, the uninitialised branch, with their stacks) equals native. It
/// unmaps the vDSO tern shares with it, which killed tern once.
#[test]
fn valgrind_memcheck_threads() {
    let Some(vg) = debian_program("valgrind") else {
        missing("the program `valgrind`");
        return;
    };
    let dir = std::env::temp_dir().join(format!("tern-valgrind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/real/valgrind_threads.c");
    let bin = dir.join("valgrind_threads");
    let cc =
        std::process::Command::new("gcc").args(["-g", "-O0", "-pthread", "-o"]).arg(&bin).arg(&src).status();
    assert!(cc.expect("gcc").success());
    // valgrind's lines start with ==PID==, which differs between the runs.
    let script = format!("{} -q {} 2>&1 | sed 's/^==[0-9]*==//'", vg.display(), bin.display());
    let sh = Path::new("/bin/sh");
    let native = run_native(sh, &["-c", &script], b"", &[]);
    let tern = run_under(Path::new(TERN), sh, &["-c", &script], b"", &[]);
    assert_same("valgrind", &native, &tern);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// ThreadSanitizer reports the same race natively and under tern (its
/// addresses, pids and tids aside). It reserves every gap of its memory
/// layout with `PROT_NONE` `MAP_FIXED` mappings, one of them 16 TiB across
/// tern's region, which tern refused once ("can not protect").
#[test]
fn thread_sanitizer_race() {
    let dir = std::env::temp_dir().join(format!("tern-tsan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/real/tsan_race.c");
    let bin = dir.join("tsan_race");
    let cc = std::process::Command::new("gcc")
        .args(["-g", "-fsanitize=thread", "-pthread", "-o"])
        .arg(&bin)
        .arg(&src)
        .status();
    if !cc.expect("gcc").success() {
        missing("gcc's ThreadSanitizer runtime (libtsan)");
        return;
    }
    let script = format!("{} 2>&1 | sed 's/0x[0-9a-f]*/ADDR/g; s/[0-9][0-9]*/N/g'", bin.display());
    let sh = Path::new("/bin/sh");
    let native = run_native(sh, &["-c", &script], b"", &[]);
    let tern = run_under(Path::new(TERN), sh, &["-c", &script], b"", &[]);
    assert!(
        String::from_utf8_lossy(&native.stdout).contains("WARNING: ThreadSanitizer: data race"),
        "{native:?}"
    );
    assert_same("ThreadSanitizer", &native, &tern);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// AddressSanitizer's leak check at exit equals native: LeakSanitizer stops
/// the threads with `ptrace` from a CLONE_VM tracer (emulated by tern,
/// `syscalls/src/ptrace.rs`); refused, it ended every ASan program with
/// "LeakSanitizer has encountered a fatal error" and status 1. Without a
/// leak the status is 0 (a block only a blocked thread's stack points to
/// is found); with one, the same report and status 1.
#[test]
fn address_sanitizer_leak_check() {
    let dir = std::env::temp_dir().join(format!("tern-asan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/real/asan_leak.c");
    let bin = dir.join("asan_leak");
    let cc = std::process::Command::new("gcc")
        .args(["-g", "-fsanitize=address", "-pthread", "-o"])
        .arg(&bin)
        .arg(&src)
        .status();
    if !cc.expect("gcc").success() {
        missing("gcc's AddressSanitizer runtime (libasan)");
        return;
    }
    let sh = Path::new("/bin/sh");
    for arg in ["", "leak"] {
        let script = format!(
            "{{ {} {arg} 2>&1; echo \"status $?\"; }} | sed 's/0x[0-9a-f]*/ADDR/g; s/==[0-9]*==/==PID==/g'",
            bin.display()
        );
        let native = run_native(sh, &["-c", &script], b"", &[]);
        let tern = run_under(Path::new(TERN), sh, &["-c", &script], b"", &[]);
        let want = if arg.is_empty() { "status 0" } else { "status 1" };
        assert!(String::from_utf8_lossy(&native.stdout).contains(want), "{native:?}");
        assert_same("AddressSanitizer", &native, &tern);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `make -j2` waits for its children through SIGCHLD (the signals issue).
#[test]
fn make_j2() {
    if !have_programs(&["make", "sleep", "cat"]) {
        return;
    }
    same(
        "sh",
        &[
            "-c",
            "printf 'all: a b\\n\\tcat a.out b.out\\na:\\n\\tsleep 0.2; echo a > a.out\\nb:\\n\\techo b > b.out\\n' \
             > sig.mk && rm -f a.out b.out && make -s -j2 -f sig.mk; echo status $?",
        ],
        b"",
    );
}

/// `timeout` kills its child from a SIGALRM handler and exits 124.
#[test]
fn timeout_sleep() {
    if !have_programs(&["timeout", "sleep"]) {
        return;
    }
    same("sh", &["-c", "timeout 1 sleep 5; echo status $?"], b"");
}
