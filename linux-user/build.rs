//! Link options of the `tern` binary.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    // Relative relocations packed (DT_RELR, glibc 2.36 and binutils 2.38):
    // tern is a PIE with some 12,000 of them, which the dynamic loader
    // applied one 24-byte entry at a time at every start (a seventh of the
    // start-up of a guest that does nothing, every guest exec pays it).
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    static_unwinder();
}

/// Links the unwinder (`_Unwind_*`, which Rust's standard library calls
/// for panics and backtraces) from gcc's static `libgcc_eh.a` instead of
/// `libgcc_s.so.1`: loading `libgcc_s.so.1` runs its constructor
/// `__cpu_indicator_init`, a handful of `cpuid`s, each a trap to the
/// hypervisor in a VM (0.1 ms of every tern process here, every guest
/// exec pays it; a native C program does not load it). Rust asks for
/// `-lgcc_s` itself, so a linker script of that name, found first, points
/// it at the archive. Left as is when the compiler has no such archive.
fn static_unwinder() {
    let Ok(out) = Command::new("cc").arg("-print-file-name=libgcc_eh.a").output() else { return };
    let archive = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !archive.is_absolute() || !archive.exists() {
        return;
    }
    let dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("unwind");
    std::fs::create_dir_all(&dir).expect("OUT_DIR is writable");
    let script = format!("/* libgcc_s for tern: gcc's static unwinder */\nINPUT({})\n", archive.display());
    std::fs::write(dir.join("libgcc_s.so"), script).expect("OUT_DIR is writable");
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rerun-if-changed=build.rs");
}
