//! Guest-side fuzzers for tern.
//!
//! Two fuzzers, each a library module with a binary for long runs and a test
//! for a short run in the normal suite:
//!
//! - [`insn`]: a differential instruction fuzzer. Random but valid
//!   instruction sequences (every operand form of the x86-64-v2 model that can
//!   run in user mode without escaping, plus templates for branches, string
//!   operations, segment registers, the stack and traps) are encoded with
//!   iced-x86 and run by a small C harness (`fuzz-guest/guest/insn_harness.c`)
//!   natively and under tern. The final registers, flags, SSE and x87 state,
//!   the scratch memory, or the signal that ended the run must be the same.
//!   Binary: `cargo run --release -p tern-fuzz-guest --bin fuzz-insn -- --help`.
//! - [`sys`]: a syscall fuzzer. A guest (`fuzz-guest/guest/syscall_guest.c`)
//!   makes random syscalls with hostile arguments (pointers into tern's own
//!   memory, all-ones masks, bad fds, huge lengths) inside user, mount, pid and
//!   network namespaces. tern must never report an internal fault, panic or
//!   hang, and the guest must reach its final line whenever it does natively.
//!   Binary: `cargo run --release -p tern-fuzz-guest --bin fuzz-syscall -- --help`.
//!
//! Both are deterministic per seed and print the seed, the case and the
//! difference when they find one. Findings are kept as regression seeds
//! ([`insn::REGRESSION_SEEDS`], [`sys::REGRESSION_SEEDS`]); cases that differ
//! for a known reason are matched by an allowlist with the reason, reported
//! but not counted as failures.

mod compile;
pub mod exec;
pub mod insn;
pub mod rng;
pub mod sys;

use std::path::PathBuf;

/// The tern binary to fuzz: `$TERN_BIN` when set, else `tern` next to the
/// running executable's directory (`target/release/deps/..` for tests,
/// `target/release` for the fuzzer binaries). Panics when it does not exist:
/// build it first with `cargo build --release -p tern`.
pub fn tern_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("TERN_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current_exe");
    for dir in exe.ancestors().skip(1).take(2) {
        let cand = dir.join("tern");
        if cand.is_file() {
            return cand;
        }
    }
    panic!(
        "no tern binary next to {} (build it with `cargo build --release -p tern` or set TERN_BIN)",
        exe.display()
    );
}
