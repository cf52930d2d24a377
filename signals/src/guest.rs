//! The guest's view of signals: dispositions (the blocked mask is per
//! thread, in `mask.rs`).
//!
//! Mirrors `kernel/signal.c` bookkeeping. Dispositions SIG_DFL and SIG_IGN are
//! also applied to the host (so, e.g., a guest that ignores SIGPIPE gets
//! EPIPE from write), except for tern's reserved signals. Handler delivery
//! arrives with the signals issue; `sa_mask` is kept for it and not given to
//! the host (when it is, it goes through `mask::host_set`).

use std::sync::Mutex;

/// `struct sigaction` as the x86-64 kernel ABI lays it out (`kernel_sigaction`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// Process-wide guest signal state.
pub struct GuestSignals {
    actions: Mutex<[SigAction; 65]>,
}

impl Default for GuestSignals {
    fn default() -> Self {
        GuestSignals { actions: Mutex::new([SigAction::default(); 65]) }
    }
}

/// Signals whose host disposition tern keeps whatever the guest asks: its
/// reserved signals, and the two the host C library uses for itself
/// (cancellation, set*id broadcast) plus the first one after them.
fn host_kept(sig: i32) -> bool {
    crate::mask::RESERVED & crate::mask::sigbit(sig) != 0 || (32..35).contains(&sig)
}

impl GuestSignals {
    /// `rt_sigaction`: returns the old action; `new` replaces it.
    pub fn set_action(&self, sig: i32, new: Option<SigAction>) -> Result<SigAction, i32> {
        if !(1..=64).contains(&sig) {
            return Err(libc::EINVAL);
        }
        let mut t = self.actions.lock().unwrap_or_else(|e| e.into_inner());
        let old = t[sig as usize];
        if let Some(new) = new {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                return Err(libc::EINVAL);
            }
            // `do_sigaction()`: SIGKILL and SIGSTOP are never in sa_mask.
            let new = SigAction { mask: new.mask & !crate::mask::UNBLOCKABLE, ..new };
            t[sig as usize] = new;
            crate::pending::set_ignored(sig, new.handler == SIG_IGN);
            if !host_kept(sig) {
                let host = match new.handler {
                    SIG_IGN => libc::SIG_IGN,
                    _ => libc::SIG_DFL,
                };
                // SAFETY: setting SIG_DFL or SIG_IGN for a signal tern does
                // not use itself.
                unsafe {
                    let mut sa: libc::sigaction = std::mem::zeroed();
                    sa.sa_sigaction = host;
                    libc::sigaction(sig, &sa, std::ptr::null_mut());
                }
            }
        }
        Ok(old)
    }

    /// A copy of the dispositions, for a child that does not share them
    /// (a `vfork` child without CLONE_SIGHAND shares tern's memory but has
    /// its own sighand, as `kernel/fork.c: copy_sighand()` gives it).
    pub fn copy(&self) -> GuestSignals {
        let t = self.actions.lock().unwrap_or_else(|e| e.into_inner());
        GuestSignals { actions: Mutex::new(*t) }
    }

    /// Holds the dispositions' lock across a host fork, so that the child
    /// finds it free (no other thread can be inside it at the fork).
    pub fn lock_for_fork(&self) -> std::sync::MutexGuard<'_, [SigAction; 65]> {
        self.actions.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn action(&self, sig: i32) -> SigAction {
        let t = self.actions.lock().unwrap_or_else(|e| e.into_inner());
        t.get(sig as usize).copied().unwrap_or_default()
    }
}

/// Ends tern the way the guest would end on `sig` with the default action:
/// by that same signal, so the parent sees the exact wait status.
pub fn die_by_signal(sig: i32) -> ! {
    // SAFETY: resetting the disposition, unblocking and raising the signal on
    // ourselves; if the signal does not terminate (it should), exit instead.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(sig, &sa, std::ptr::null_mut());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        // Make a core only where the host would (ulimit); nothing to do here.
        libc::raise(sig);
        libc::_exit(128 + sig)
    }
}
