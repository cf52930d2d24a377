//! Every kind of executable the loader handles, compared with native runs:
//! static, static-pie, PIE, dynamic non-PIE, and a `#!` script; and
//! programs whose headers the kernel reads leniently, loaded as it loads
//! them.

use std::path::{Path, PathBuf};
use tern_tests::{assert_same, guest_dir, run_native, run_under};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

fn build(flags: &[&str], name: &str) -> PathBuf {
    build_src("argv_env.c", flags, name)
}

fn build_src(src: &str, flags: &[&str], name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-loader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(name);
    let st = std::process::Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(guest_dir().join(src))
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

/// A copy of the program at `bin`, edited by `edit`, beside it.
fn edited(bin: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut d = std::fs::read(bin).unwrap();
    edit(&mut d);
    let out = bin.with_file_name(name);
    std::fs::write(&out, &d).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
    out
}

/// The file offsets of the PT_LOAD program headers of ELF image `d`.
fn load_headers(d: &[u8]) -> Vec<usize> {
    let u64_at = |at: usize| u64::from_le_bytes(d[at..at + 8].try_into().unwrap());
    let phoff = u64_at(32) as usize;
    let phnum = usize::from(u16::from_le_bytes([d[56], d[57]]));
    (0..phnum).map(|i| phoff + 56 * i).filter(|&ph| d[ph..ph + 4] == 1u32.to_le_bytes()).collect()
}

/// `elf_image.c` (its own mappings: permissions, written pages, a hash of
/// the read-only bytes) in copies the kernel runs though their headers
/// are off: e_ident's class, data, version and ABI bytes, e_version and
/// e_ehsize wrong (the kernel does not read them), and a read-only
/// segment whose file size was cut below its memory size (the kernel
/// leaves the file's bytes in the last page, since zeroing a read-only
/// page fails, and maps the pages past it as writable anonymous memory).
#[test]
fn headers_the_kernel_reads_leniently_load_as_natively() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let kinds: [(&[&str], &str); 2] =
        [(&["-static", "-no-pie"], "image-static"), (&["-pie", "-fPIE"], "image-pie")];
    for (flags, name) in kinds {
        let bin = build_src("elf_image.c", flags, name);
        let ident = edited(&bin, &format!("{name}-ident"), |d| {
            d[4..8].copy_from_slice(&[1, 2, 0, 0x61]); // class 32, big-endian, version 0, ABI
            d[20..24].copy_from_slice(&0u32.to_le_bytes()); // e_version
            d[52..54].copy_from_slice(&0u16.to_le_bytes()); // e_ehsize
        });
        let cut = edited(&bin, &format!("{name}-cut"), |d| {
            // The last read-only PT_LOAD (rodata, eh_frame): its file size
            // cut by more than a page where it is that large.
            let ph = load_headers(d)
                .into_iter()
                .rfind(|&ph| d[ph + 4] & 2 == 0 && d[ph + 4] & 1 == 0)
                .expect("a read-only PT_LOAD");
            let filesz = u64::from_le_bytes(d[ph + 32..ph + 40].try_into().unwrap());
            let less = if filesz > 0x3000 { 0x1100 } else { filesz / 2 };
            d[ph + 32..ph + 40].copy_from_slice(&(filesz - less).to_le_bytes());
        });
        for prog in [&bin, &ident, &cut] {
            let native = run_native(prog, &[], b"", &[]);
            assert_eq!(native.status, tern_tests::ExitStatusDesc::Exited(0), "{prog:?} natively: {native:?}");
            let tern = run_under(Path::new(TERN), prog, &[], b"", &[]);
            assert_same(&prog.display().to_string(), &native, &tern);
        }
    }
}
