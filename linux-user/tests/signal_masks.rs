//! Guest signal masks against native: the guest's mask is tern's and never
//! blocks the host signals tern needs (`tern_signals::mask::RESERVED`), yet
//! every mask, pending set and wait the guest can observe matches the native
//! run of `tests/guest/sigmask.c`, one case per test, in every build.

use std::path::Path;
use tern_tests::{differential, Build};

fn check(case: &str) {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    for b in Build::all(false) {
        differential(Path::new(env!("CARGO_BIN_EXE_tern")), "sigmask.c", &b, &[case], b"");
    }
}

/// One `#[test]` per case of `sigmask.c`.
macro_rules! cases {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        $( $(#[$doc])* #[test] fn $name() { check(stringify!($name)); } )*
    };
}

cases! {
    /// Every signal blocked, then code writes itself and the kernel writes
    /// code (tern's SIGSEGV must still reach it), and the old mask is
    /// written into a code page.
    smc;
    /// rt_sigprocmask round trips, SIGKILL/SIGSTOP, bad how/size/pointers;
    /// sa_mask read back without SIGKILL/SIGSTOP.
    procmask;
    /// ppoll, pselect6, epoll_pwait(2), sigtimedwait and signalfd with every
    /// signal in the set.
    waits;
    /// sigpending shows blocked pending signals, SIGSEGV sent by kill
    /// included; sigtimedwait takes it; SIG_IGN discards; unblocking kills.
    pending;
    /// A pending signal unblocked by ppoll's mask ends the process.
    ppoll_kill;
    /// Faults on blocked or ignored signals are forced: the guest dies by them.
    segv_blocked;
    segv_ignored;
    fpe_blocked;
    trap_blocked;
    /// sigsuspend with every signal but SIGTERM blocked.
    suspend;
    /// The mask and pending signals survive execve.
    exec;
    /// Reserved signals queued to the process itself with forged "kernel"
    /// codes are the guest's, never a tern internal fault.
    queue_self;
    /// A child's exit signal that is a reserved signal (SIGILL) is the
    /// guest's: pending while blocked, fatal when unblocked.
    exit_signal;
}
