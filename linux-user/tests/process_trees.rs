//! Real process trees under tern equal native: shell pipelines with
//! redirections and subshells, `xargs -P2`, `make` (serial and `-j2`),
//! and `gcc -O2` of a multi-file program through the driver (cc1, as,
//! collect2 and ld all run under tern, and the executable they produce is
//! byte-identical to the native one). Every program runs in a scratch
//! directory; a missing program fails in CI (`tern_tests::missing`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tern_tests::{assert_same, have_programs, run_native, run_under};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// A scratch directory with the sources the tests build.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("tern-proc-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let files: &[(&str, &str)] = &[
            ("ma.c", "int scale(int x) { return x * 3; }\n"),
            ("mb.c", "int scale(int);\nint shift(int x) { return scale(x) + 1; }\n"),
            (
                "mmain.c",
                "#include <stdio.h>\nint shift(int);\n\
                 int main(void) { long s = 0; for (int i = 0; i < 1000; i++) s += shift(i);\n\
                 printf(\"%ld\\n\", s); return 0; }\n",
            ),
            (
                "Makefile",
                "OUTS := o1 o2 o3 o4 o5 o6\n\
                 all: $(OUTS)\n\t@cat $(OUTS) | sort\n\
                 o%:\n\t@echo built $@ > $@\n\
                 clean:\n\t@rm -f $(OUTS)\n",
            ),
        ];
        for (name, body) in files {
            std::fs::write(d.join(name), body).unwrap();
        }
        d
    })
}

/// Runs `script` with /bin/sh in the scratch directory, natively and with
/// the shell (and everything it starts) under tern, and compares.
fn same_sh(name: &str, script: &str) {
    let dir = scratch().display().to_string();
    let full = format!("cd \"$0\" && {script}");
    let args = ["-c", full.as_str(), dir.as_str()];
    let sh = Path::new("/bin/sh");
    let native = run_native(sh, &args, b"", &[]);
    let tern = run_under(Path::new(TERN), sh, &args, b"", &[]);
    assert_same(name, &native, &tern);
}

#[test]
fn shell_pipelines_and_redirections() {
    if !have_programs(&["seq", "grep", "sort", "head", "wc", "tr", "cat"]) {
        return;
    }
    same_sh(
        "pipelines",
        "seq 1 3000 | grep 7 | sort -r | head -5 > out.txt; wc -l < out.txt; cat out.txt; \
         (echo to-stdout; echo to-stderr >&2) 2>&1 | tr a-z A-Z; \
         { echo grouped; false; } && echo no || echo status $?; \
         cat missing-file 2> err.txt; echo cat said $?; wc -l < err.txt; \
         x=$(echo sub | tr s S); echo $x; \
         sh -c 'exit 7'; echo inner $?; \
         sh -c 'kill -TERM $$'; echo killed $?; \
         rm -f out.txt err.txt",
    );
}

#[test]
fn xargs_parallel() {
    if !have_programs(&["seq", "xargs", "sort"]) {
        return;
    }
    same_sh("xargs -P2", "seq 1 60 | xargs -P2 -n3 sh -c 'echo $(($1 * $2 + $3))' sh | sort -n");
}

#[test]
fn make_serial() {
    if !have_programs(&["make", "cat", "sort"]) {
        return;
    }
    same_sh("make", "make -s clean && make -s && make -s clean");
}

#[test]
fn make_parallel() {
    if !have_programs(&["make", "cat", "sort"]) {
        return;
    }
    same_sh("make -j2", "make -s clean && make -s -j2 && make -s clean");
}

#[test]
fn gcc_multi_file() {
    if !have_programs(&["gcc", "sha256sum"]) {
        return;
    }
    same_sh(
        "gcc -O2 multi-file",
        "gcc -O2 -o mprog ma.c mb.c mmain.c && ./mprog && sha256sum mprog && rm -f mprog",
    );
}
