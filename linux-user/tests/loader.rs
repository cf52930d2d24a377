//! Every kind of executable the loader handles, compared with native runs:
//! static, static-pie, PIE, dynamic non-PIE, and a `#!` script.

use std::path::{Path, PathBuf};
use tern_tests::{assert_same, guest_dir, run_native, run_under};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

fn build(flags: &[&str], name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-loader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(name);
    let st = std::process::Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(guest_dir().join("argv_env.c"))
        .args(flags)
        .status()
        .unwrap();
    assert!(st.success(), "gcc {flags:?}");
    out
}

#[test]
fn every_kind_of_executable_runs_as_natively() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let kinds: [(&[&str], &str); 4] = [
        (&["-static", "-no-pie"], "static"),
        (&["-static-pie"], "static-pie"),
        (&["-pie", "-fPIE"], "pie"),
        (&["-no-pie"], "dynamic-no-pie"),
    ];
    for (flags, name) in kinds {
        let bin = build(flags, name);
        let args = ["one", "two words"];
        let env = [("TERN_TEST_VAR", "x")];
        let native = run_native(&bin, &args, b"in\n", &env);
        let tern = run_under(Path::new(TERN), &bin, &args, b"in\n", &env);
        assert_same(name, &native, &tern);
    }
}

#[test]
fn shebang_scripts_run_with_their_interpreter() {
    let dir = std::env::temp_dir().join(format!("tern-loader-sh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("script.sh");
    std::fs::write(&script, "#!/bin/sh -u\necho \"$0\" \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let native = run_native(&script, &["a", "b c"], b"", &[]);
    let tern = run_under(Path::new(TERN), &script, &["a", "b c"], b"", &[]);
    assert_same("script", &native, &tern);
}
