//! tern-signals: host signal handlers and the guest's signal state.
//!
//! Owns every host signal handler tern installs (architecture invariant: no
//! other crate calls `sigaction` on the host), the classification of host
//! faults (in generated code or in tern itself), the precise guest state at a
//! fault, and the guest's dispositions. Full delivery to guest handlers
//! (frames, masks, queues) is the job of the signals issue; today a guest
//! signal with a handler installed is recorded but synchronous faults take
//! the default action, and tern dies by the same signal as the guest would.

pub mod fault;
pub mod guest;

pub use fault::{install_fault_handlers, FaultContext};
pub use guest::{die_by_signal, GuestSignals, SigAction};
