//! tern-signals: host signal handlers and the guest's signal state.
//!
//! Owns every host signal handler tern installs (architecture invariant: no
//! other crate calls `sigaction` on the host), the classification of host
//! faults (in generated code or in tern itself), the precise guest state at a
//! fault, the guest's dispositions, the host signals tern reserves and each
//! guest thread's blocked mask (`mask.rs`: no guest mask blocks a reserved
//! signal on the host), the guest's alternate stacks (`altstack.rs`),
//! synchronous signals with the exception that raised them (`sync.rs`),
//! signal frames: delivery to guest handlers and `rt_sigreturn`
//! (`frame.rs`) with their FPU state (`fpstate.rs`), the per-thread queues and flags (`thread.rs`), the
//! asynchronous host handler (`async_sig.rs`), host syscalls with the
//! signal race closed (`safe_syscall.rs`) and resumed when only tern's own
//! signal ended them (`resume.rs`), the other threads' stop for good at
//! `exit_group` (`exit_park.rs`), guest-memory copies that
//! fail instead of faulting (`usercopy.rs`), and the delivery of queued
//! signals by the CPU loop (`deliver.rs`).

pub mod altstack;
mod async_sig;
pub mod deliver;
pub mod exit_park;
pub mod fault;
pub mod fpstate;
pub mod frame;
pub mod guest;
pub mod mask;
pub mod pending;
pub mod ptrace_stop;
mod resume;
pub mod safe_syscall;
pub mod siginfo;
pub mod sync;
pub mod thread;
pub mod usercopy;

pub use fault::{install_fault_handlers, FaultContext};
pub use guest::{die_by_signal, GuestSignals, SigAction};

/// `eprintln!` for tern's own diagnostics, without its panic when the write
/// fails: descriptor 2 is the guest's, which may have closed or replaced it.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
