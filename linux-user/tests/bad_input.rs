//! Bad input: tern refuses each broken program with one clear line naming the
//! file and the reason, and a non-zero exit; never a panic or a signal.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const TERN: &str = env!("CARGO_BIN_EXE_tern");

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tern-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Writes `data` to a new executable file.
fn exe(name: &str, data: &[u8]) -> PathBuf {
    let p = scratch(name);
    std::fs::write(&p, data).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn host_true() -> Vec<u8> {
    std::fs::read("/bin/true").unwrap()
}

/// Runs tern on `prog`; checks the failure shape and that stderr mentions
/// every string in `expect`.
fn refuses(prog: &Path, expect: &[&str]) {
    let out = Command::new(TERN).arg(prog).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code().is_some_and(|c| c != 0), "{prog:?}: status {:?}, stderr {err}", out.status);
    assert_eq!(err.lines().count(), 1, "{prog:?}: want one line, got: {err}");
    assert!(err.starts_with("tern: "), "{err}");
    assert!(err.contains(&prog.display().to_string()), "{err} should name {prog:?}");
    for e in expect {
        assert!(err.contains(e), "{err} should say {e:?}");
    }
}

#[test]
fn missing_file() {
    let p = scratch("does-not-exist");
    refuses(&p, &["No such file or directory"]);
    let out = Command::new(TERN).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(127));
}

#[test]
fn directory() {
    let d = scratch("a-directory");
    std::fs::create_dir_all(&d).unwrap();
    refuses(&d, &["Is a directory"]);
}

#[test]
fn no_execute_permission() {
    let p = exe("not-executable", &host_true());
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    refuses(&p, &["Permission denied"]);
}

#[test]
fn not_elf() {
    refuses(&exe("text", b"hello, I am not a program\n"), &["not an ELF file"]);
    refuses(&exe("empty", b""), &["not an ELF file"]);
}

#[test]
fn elf_32_bit() {
    let mut d = host_true();
    d[4] = 1; // ELFCLASS32
    d[18] = 3; // EM_386 (with class 32 alone, the kernel runs it as 64-bit)
    refuses(&exe("elf32", &d), &["32-bit"]);
}

#[test]
fn foreign_architecture() {
    let mut d = host_true();
    d[18] = 183; // EM_AARCH64
    d[19] = 0;
    refuses(&exe("aarch64", &d), &["another architecture"]);
}

#[test]
fn truncated() {
    let d = host_true();
    refuses(&exe("trunc40", &d[..40]), &["truncated or corrupt"]);
    refuses(&exe("trunc300", &d[..300]), &["corrupt program header"]);
}

#[test]
fn inconsistent_headers() {
    let mut d = host_true();
    d[32..40].copy_from_slice(&u64::MAX.to_le_bytes()); // e_phoff far away
    refuses(&exe("phoff", &d), &["corrupt"]);
    let mut d = host_true();
    d[54] = 32; // e_phentsize
    refuses(&exe("phentsize", &d), &["e_phentsize"]);
}

#[test]
fn missing_interpreter() {
    let mut d = host_true();
    let needle = b"ld-linux-x86-64.so.2";
    let at = d.windows(needle.len()).position(|w| w == needle).expect("PT_INTERP string");
    d[at..at + needle.len()].copy_from_slice(b"ld-linux-x86-64.so.9");
    refuses(&exe("badinterp", &d), &["cannot find its ELF interpreter", "ld-linux-x86-64.so.9"]);
}

#[test]
fn program_headers_far_into_the_file_still_load() {
    // tern reads only the first 64 KiB to parse headers; a file whose
    // program headers lie past that is parsed whole.
    let mut d = host_true();
    let phoff = u64::from_le_bytes(d[32..40].try_into().unwrap()) as usize;
    let phnum = usize::from(u16::from_le_bytes(d[56..58].try_into().unwrap()));
    let ph = d[phoff..phoff + 56 * phnum].to_vec();
    d.resize(d.len().next_multiple_of(8) + 70_000, 0);
    let at = d.len() as u64;
    d.extend_from_slice(&ph);
    d[32..40].copy_from_slice(&at.to_le_bytes());
    let p = exe("far-phdrs", &d);
    let out = Command::new(TERN).arg(&p).output().unwrap();
    assert!(out.status.success(), "{:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
}

/// The exit status `bash -c PROG` gives, and tern's for the same program.
fn shell_and_tern_status(prog: &Path) -> (Option<i32>, Option<i32>) {
    let sh = Command::new("bash").arg("-c").arg(prog).output().unwrap();
    let tern = Command::new(TERN).arg(prog).output().unwrap();
    (sh.status.code(), tern.status.code())
}

#[test]
fn script_without_execute_permission() {
    let p = exe("script-noexec", b"#!/bin/sh\necho ran\n");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    refuses(&p, &["Permission denied"]);
    assert_eq!(shell_and_tern_status(&p), (Some(126), Some(126)));
}

#[test]
fn script_with_a_missing_or_unusable_interpreter() {
    let p = exe("script-missing-interp", b"#!/no/such/interpreter -x\n");
    refuses(&p, &["bad interpreter", "/no/such/interpreter", "No such file or directory"]);
    assert_eq!(shell_and_tern_status(&p), (Some(127), Some(127)));
    let text = exe("plain-text", b"not a program\n");
    std::fs::set_permissions(&text, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut line = b"#!".to_vec();
    line.extend(text.as_os_str().as_encoded_bytes());
    line.push(b'\n');
    let p = exe("script-noexec-interp", &line);
    refuses(&p, &["bad interpreter", "Permission denied"]);
    assert_eq!(shell_and_tern_status(&p), (Some(126), Some(126)));
}

#[test]
fn script_with_an_empty_or_cut_interpreter_line() {
    refuses(&exe("script-empty", b"#!  \nexit 0\n"), &["Exec format error"]);
    let mut long = b"#!".to_vec();
    long.extend([b'/'; 300]);
    long.extend(b"bin/sh\n");
    refuses(&exe("script-long", &long), &["Exec format error"]);
}

#[test]
fn scripts_nested_too_deeply() {
    let mut interp = PathBuf::from("/bin/true");
    for k in 1..=6 {
        let mut line = b"#!".to_vec();
        line.extend(interp.as_os_str().as_encoded_bytes());
        line.push(b'\n');
        interp = exe(&format!("nested-{k}"), &line);
        let out = Command::new(TERN).arg(&interp).output().unwrap();
        if k <= 5 {
            assert!(out.status.success(), "{k} levels: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    refuses(&interp, &["Too many levels of symbolic links"]);
}
