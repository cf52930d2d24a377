//! What a test does when a tool it needs (gcc, g++, a Debian program) is
//! missing: in CI it fails, elsewhere it says loudly that it checked nothing.
//!
//! CI is recognised by the `CI` environment variable (set by `.ci/run` and
//! by CI services) holding anything but "", "0" or "false";
//! `TERN_TESTS_REQUIRE_GCC` (any value) has the same effect.

use std::path::PathBuf;

/// True when a missing tool must fail the test (see the module docs).
pub fn in_ci() -> bool {
    let ci = std::env::var("CI").unwrap_or_default();
    let ci = !matches!(ci.trim(), "" | "0" | "false");
    ci || std::env::var_os("TERN_TESTS_REQUIRE_GCC").is_some()
}

/// The first file named `name` in `PATH`, else in `/usr/bin`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Reports that `what` is missing so the calling test cannot check
/// anything: panics in CI ([`in_ci`]); otherwise prints a banner on stderr
/// and returns, and the caller returns early.
pub fn missing(what: &str) {
    let msg = format!("{what} is missing, so this test checks nothing");
    if in_ci() {
        panic!("{msg} (CI is set: install it, e.g. with ./dev test)");
    }
    eprintln!("\n!!!!!!!! SKIPPED: {msg} !!!!!!!!\n!!!!!!!! (with CI=true this is a failure; ./dev test installs it)\n");
}

/// Reports that the host lacks `what` (a CPU feature), so the calling test
/// checks nothing here: a banner on stderr, never a failure, in CI too
/// (hardware cannot be installed); the caller returns early.
pub fn missing_hardware(what: &str) {
    eprintln!("\n!!!!!!!! SKIPPED: this host lacks {what}, so this test checks nothing here !!!!!!!!\n");
}

/// The path of program `name`, or `None` after [`missing`] (which panics
/// in CI).
pub fn require_program(name: &str) -> Option<PathBuf> {
    let found = find_program(name);
    if found.is_none() {
        missing(&format!("the program `{name}`"));
    }
    found
}

/// True when every program in `names` is installed; otherwise [`missing`]
/// names the first one missing (a panic in CI) and this returns false.
pub fn have_programs(names: &[&str]) -> bool {
    names.iter().all(|name| require_program(name).is_some())
}
