//! Asynchronous signals delivered to guest handlers, against native: one
//! `#[test]` per case of `tests/guest/signal_async.c`, in every build. The
//! results, errnos, siginfo and masks the guest sees must equal the native
//! run's: EINTR vs restart by SA_RESTART, the mask swapped by sigsuspend and
//! ppoll and restored after the handler, nanosleep's `rem`, real-time order,
//! a spinning loop receiving SIGALRM, and a stress of a signal landing at
//! random moments around a blocking read (reduced count here; `TERN_STRESS`
//! sets it).

use std::path::Path;
use tern_tests::{differential, Build};

fn check(case: &str) {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let n = std::env::var("TERN_STRESS").unwrap_or_else(|_| "1000".into());
    for b in Build::all(false) {
        differential(Path::new(env!("CARGO_BIN_EXE_tern")), "signal_async.c", &b, &[case, &n], b"");
    }
}

/// One `#[test]` per case of `signal_async.c`.
macro_rules! cases {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        $( $(#[$doc])* #[test] fn $name() { check(stringify!($name)); } )*
    };
}

cases! {
    /// alarm and pause: EINTR after the handler, SI_KERNEL.
    alarm;
    /// SIGCHLD handler with si_code CLD_EXITED and si_status, then waitpid.
    sigchld;
    /// A handler without SA_RESTART interrupts a blocking read: EINTR.
    read_eintr;
    /// With SA_RESTART the read restarts and returns the handler's byte.
    read_restart;
    /// sigsuspend returns EINTR after the handler, the old mask is back;
    /// a signal already pending and unblocked by it returns at once.
    sigsuspend;
    /// ppoll with a mask unblocking SIGALRM: EINTR, never restarted, the
    /// mask restored after the handler.
    ppoll;
    /// sigpending and sigtimedwait see blocked standard and queued signals.
    sigtimedwait;
    /// A signalfd polls readable and reads a blocked signal.
    signalfd;
    /// kill to self of every signal 1..64 (32 and 33 included) with a
    /// handler; real-time signals queued in order, standard ones coalesced.
    kill_all;
    /// A loop with no syscall receives SIGALRM from setitimer.
    spin;
    /// The same through indirect calls, returns and the vDSO: a signal
    /// landing inside an indirect-branch lookup restarts at its target.
    spin_calls;
    /// nanosleep interrupted: EINTR with the remaining time in rem.
    nanosleep;
    /// Default actions carried out by the host kernel: a parent's waitpid
    /// with WUNTRACED and WCONTINUED sees the child stop and continue, then
    /// die by SIGQUIT without a core (RLIMIT_CORE 0).
    stop_cont;
    /// timer_create with SIGEV_SIGNAL and SIGEV_THREAD_ID: SI_TIMER, si_value.
    timer;
    /// A signal at a random moment around a blocking read, without and
    /// with SA_RESTART: every handler runs exactly once, every read ends
    /// with its byte (EINTR only without SA_RESTART).
    stress;
    stress_restart;
}
