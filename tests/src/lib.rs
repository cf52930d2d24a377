//! Differential test harness for tern.
//!
//! Guest programs (C and C++ sources in `tests/guest`) are compiled with the
//! system gcc/g++ in several configurations ([`Build`]), run natively and
//! under tern, and their stdout, stderr and exit status must be identical.
//!
//! ```no_run
//! use tern_tests::{differential, Build};
//! let tern = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fake-tern");
//! let b = Build { static_: true, opt: "-O2", cxx: false };
//! differential(&tern, "intmath.c", &b, &[], b"");
//! ```

mod compare;
mod compile;
mod programs;
mod run;
mod tools;

use std::path::{Path, PathBuf};

pub use compare::{assert_same, compare, difference, first_difference, numbers_as_n};
pub use compile::{
    build, build_in, build_march, build_source, cache_dir, have_compiler, is_cxx_source,
    skip_without_compiler, Build, March,
};
pub use programs::{program, GuestProgram, MARCH_PROGRAMS, PROGRAMS, TERN_ONLY};
pub use run::{
    output_ok, run_command, run_native, run_under, run_under_opts, stats_counter, timeout, try_run_command,
    ExitStatusDesc, Outcome, RunError, DEFAULT_TIMEOUT,
};
pub use tools::{find_program, have_programs, in_ci, missing, missing_hardware, require_program};

/// The directory holding the guest program sources (`tests/guest`).
pub fn guest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guest")
}

/// Builds `src` as `b` says, runs it natively and under `tern` with `args`
/// and `stdin`, and panics if the outcomes differ. Without the compiler it
/// fails in CI and returns early elsewhere ([`skip_without_compiler`]).
pub fn differential(tern: &Path, src: &str, b: &Build, args: &[&str], stdin: &[u8]) {
    differential_env(tern, src, b, args, stdin, &[]);
}

/// [`differential`] with extra environment variables for the guest.
pub fn differential_env(
    tern: &Path,
    src: &str,
    b: &Build,
    args: &[&str],
    stdin: &[u8],
    env: &[(&str, &str)],
) {
    if skip_without_compiler(b.cxx) {
        return;
    }
    if let Err(report) = try_differential(tern, src, b, args, stdin, env) {
        panic!("{report}");
    }
}

/// The comparison of [`differential_env`] as a `Result` (the compiler must
/// be there): `Err` holds the report of how tern differed from native.
pub fn try_differential(
    tern: &Path,
    src: &str,
    b: &Build,
    args: &[&str],
    stdin: &[u8],
    env: &[(&str, &str)],
) -> Result<(), String> {
    try_differential_opts(tern, &[], src, b, args, stdin, env)
}

/// [`try_differential`] with tern options `opts` before the program.
pub fn try_differential_opts(
    tern: &Path,
    opts: &[&str],
    src: &str,
    b: &Build,
    args: &[&str],
    stdin: &[u8],
    env: &[(&str, &str)],
) -> Result<(), String> {
    let bin = build(src, b);
    let native = run_native(&bin, args, stdin, env);
    let tern_run = run::run_under_opts(tern, opts, &bin, args, stdin, env);
    let with = if opts.is_empty() { String::new() } else { format!(" with {}", opts.join(" ")) };
    compare(&format!("{src} [{b}]{with}"), &native, &tern_run)
}

/// Runs the differential test of table entry `src` (see [`PROGRAMS`]) in
/// every build that suits it ([`Build::all_for`]).
pub fn check_program(tern: &Path, src: &str) {
    let p = program(src);
    for b in Build::all_for(src) {
        differential_env(tern, p.src, &b, p.args, p.stdin, p.env);
    }
}
