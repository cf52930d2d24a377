//! tern-signals: host signal handlers and the guest's signal state.
//!
//! Owns every host signal handler tern installs (architecture invariant: no
//! other crate calls `sigaction` on the host), the classification of host
//! faults (in generated code or in tern itself), the precise guest state at a
//! fault, the guest's dispositions, the host signals tern reserves and each
//! guest thread's blocked mask (`mask.rs`: no guest mask blocks a reserved
//! signal on the host). Full delivery to guest handlers
//! (frames, masks, queues) is the job of the signals issue; today a guest
//! signal with a handler installed is recorded but synchronous faults take
//! the default action, and tern dies by the same signal as the guest would.

pub mod fault;
pub mod guest;
pub mod mask;
pub mod pending;
pub mod thread;

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
