//! Link options of the `tern` binary.

fn main() {
    // Relative relocations packed (DT_RELR, glibc 2.36 and binutils 2.38):
    // tern is a PIE with some 12,000 of them, which the dynamic loader
    // applied one 24-byte entry at a time at every start (a seventh of the
    // start-up of a guest that does nothing, every guest exec pays it).
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}
