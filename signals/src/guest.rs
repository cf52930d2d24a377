//! The guest's view of signals: dispositions (the blocked mask is per
//! thread, in `mask.rs`).
//!
//! Mirrors `kernel/signal.c` bookkeeping. Every disposition is mirrored on
//! the host, except for tern's reserved signals: SIG_DFL and SIG_IGN as
//! they are (so the host kernel carries out default actions and ignores
//! exactly as for the guest: a guest that ignores SIGPIPE gets EPIPE from
//! write), a handler as tern's asynchronous handler (`async_sig.rs`) with
//! the guest's SA_RESTART, SA_NOCLDSTOP and SA_NOCLDWAIT. All 64 signals
//! are the guest's, 32 and 33 included: the host C library installs its
//! own handlers for them (cancellation, set*id broadcast) at its first
//! `pthread_create`, after which tern gives the two signals back their
//! guest dispositions (`GuestSignals::reclaim_internal_signals`). `sa_mask` is applied by tern at delivery (`frame.rs`).

use std::sync::atomic::Ordering;
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
    /// Signals whose host disposition tern set from the table (under the
    /// lock): a new handler that keeps its mirror ([`host_mirror`]) needs
    /// no host call (`signal(sig, h)` in a loop, stress-ng's stressors).
    /// SIG_IGN and SIG_DFL always go to the host: setting them discards
    /// the host's pending instances (`do_sigaction()`), even unchanged.
    mirrored: std::sync::atomic::AtomicU64,
}

/// What of a guest action the host disposition mirrors: SIG_DFL, SIG_IGN
/// or tern's handler, and for a handler the guest flags the host gets
/// (`async_sig::install`).
fn host_mirror(a: &SigAction) -> (u64, u64) {
    match a.handler {
        SIG_DFL | SIG_IGN => (a.handler, 0),
        _ => (2, a.flags & crate::async_sig::MIRRORED_FLAGS),
    }
}

impl Default for GuestSignals {
    /// The dispositions a new program starts with: SIG_DFL, but SIG_IGN for
    /// every signal tern inherited ignored (`fs/exec.c`: an exec resets
    /// handled signals and keeps ignored ones, so a guest started under
    /// `nohup`, or by a guest that ignored a signal before `execve`, sees it
    /// ignored): see [`inherited_ignored`].
    fn default() -> Self {
        let mut t = [SigAction::default(); 65];
        let ign = inherited_ignored();
        for (sig, a) in t.iter_mut().enumerate().skip(1) {
            if ign & crate::mask::sigbit(sig as i32) != 0 {
                a.handler = SIG_IGN;
            }
        }
        GuestSignals { actions: Mutex::new(t), mirrored: Default::default() }
    }
}

/// The signals ignored when the process started, read before Rust's
/// runtime sets SIGPIPE to SIG_IGN (std does so before `main`, for every
/// Rust program) and before tern installs any handler: an `.init_array`
/// entry runs first.
static INHERITED_IGN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn record_inherited() {
    let mut ign = 0;
    for sig in 1..=64 {
        let mut old = [0u64; 4];
        // SAFETY: a NULL new action only reads the old one into `old`, laid
        // out as the x86-64 kernel's `kernel_sigaction`.
        let r = unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, 0usize, old.as_mut_ptr(), 8usize) };
        if r == 0 && old[0] == SIG_IGN {
            ign |= crate::mask::sigbit(sig);
        }
    }
    INHERITED_IGN.store(ign, std::sync::atomic::Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static RECORD_INHERITED: extern "C" fn() = record_inherited;

/// The set of signals tern's parent left ignored.
pub fn inherited_ignored() -> u64 {
    INHERITED_IGN.load(std::sync::atomic::Ordering::Relaxed)
}

/// SIG_DFL or SIG_IGN: SIGPIPE as tern's parent left it.
pub fn inherited_sigpipe() -> u64 {
    if inherited_ignored() & crate::mask::sigbit(libc::SIGPIPE) != 0 {
        SIG_IGN
    } else {
        SIG_DFL
    }
}

/// At startup: gives the host SIGPIPE its inherited disposition back (Rust's
/// runtime ignores it), so a guest killed by SIGPIPE dies as natively, and
/// tells `pending.rs` which reserved signals the guest inherited ignored
/// (their host disposition is tern's handler).
pub(crate) fn restore_sigpipe() {
    crate::async_sig::host_sigaction(libc::SIGPIPE, inherited_sigpipe(), 0, 0);
    let ign = inherited_ignored();
    for sig in 1..=64 {
        if ign & crate::mask::sigbit(sig) != 0 {
            crate::pending::set_ignored(sig, true);
        }
    }
}

/// Signals whose host disposition tern keeps whatever the guest asks: its
/// reserved signals.
fn host_kept(sig: i32) -> bool {
    crate::mask::RESERVED & crate::mask::sigbit(sig) != 0
}

/// Per signal, what a delivery to the guest's handler adds to the mask
/// (`sa_mask`, and the signal itself unless SA_NODEFER), readable by the
/// host handler without the table's lock: it leaves that mask on return
/// so that the CPU loop's delivery usually finds the host mask right
/// (`async_sig::interrupt`). A hint only: a stale value costs one host call.
static DELIVERY_MASK: [std::sync::atomic::AtomicU64; 65] =
    [const { std::sync::atomic::AtomicU64::new(0) }; 65];

/// See [`DELIVERY_MASK`]. Async-signal-safe.
pub(crate) fn delivery_mask_hint(sig: i32) -> u64 {
    DELIVERY_MASK.get(sig as usize).map_or(0, |m| m.load(Ordering::Relaxed))
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
            let nodefer =
                if new.flags & crate::frame::SA_NODEFER != 0 { 0 } else { crate::mask::sigbit(sig) };
            DELIVERY_MASK[sig as usize].store(new.mask | nodefer, Ordering::Relaxed);
            crate::pending::set_ignored(sig, new.handler == SIG_IGN);
            let bit = crate::mask::sigbit(sig);
            let mirrored = &self.mirrored;
            if !host_kept(sig)
                && (mirrored.load(Ordering::Relaxed) & bit == 0
                    || matches!(new.handler, SIG_DFL | SIG_IGN)
                    || host_mirror(&old) != host_mirror(&new))
            {
                mirrored.fetch_or(bit, Ordering::Relaxed);
                let host = match new.handler {
                    SIG_IGN => libc::SIG_IGN,
                    SIG_DFL => libc::SIG_DFL,
                    _ => {
                        crate::async_sig::install(sig, new.flags);
                        return Ok(old);
                    }
                };
                crate::async_sig::host_sigaction(sig, host as u64, 0, 0);
            }
        }
        Ok(old)
    }

    /// Gives signals 32 and 33 back the host dispositions the guest's table
    /// says, after the C library's one-time thread set-up (its first
    /// `pthread_create`, `syscalls::host_thread`) installed the library's
    /// own handlers for them (cancellation and the set*id broadcast) over
    /// tern's. Left in place, a guest's set*id broadcast (glibc in the guest
    /// sends signal 33 to each of its threads) ran the host library's
    /// handler, which crashed on its own null `__xidcmd`.
    pub fn reclaim_internal_signals(&self) {
        let t = self.actions.lock().unwrap_or_else(|e| e.into_inner());
        for sig in [32, 33] {
            let a = t[sig as usize];
            match a.handler {
                SIG_DFL | SIG_IGN => crate::async_sig::host_sigaction(sig, a.handler, 0, 0),
                _ => crate::async_sig::install(sig, a.flags),
            }
        }
    }

    /// A copy of the dispositions, for a child that does not share them
    /// (a `vfork` child without CLONE_SIGHAND shares tern's memory but has
    /// its own sighand, as `kernel/fork.c: copy_sighand()` gives it).
    pub fn copy(&self) -> GuestSignals {
        let t = self.actions.lock().unwrap_or_else(|e| e.into_inner());
        let mirrored = self.mirrored.load(Ordering::Relaxed).into();
        GuestSignals { actions: Mutex::new(*t), mirrored }
    }

    /// The dispositions after an `execve` this process runs itself
    /// (`fs/exec.c: flush_signal_handlers()`): every handled signal back to
    /// SIG_DFL (on the host too, through [`GuestSignals::set_action`]),
    /// ignored ones kept; flags and masks cleared. The calling thread's
    /// alternate stack goes too (`exec_mmap()` leaves none).
    pub fn for_exec(&self) -> GuestSignals {
        for sig in 1..=64 {
            if !matches!(self.action(sig).handler, SIG_DFL | SIG_IGN) {
                let _ = self.set_action(sig, Some(SigAction::default()));
            }
        }
        crate::altstack::disarm();
        let t = self.actions.lock().unwrap_or_else(|e| e.into_inner());
        let mut fresh = [SigAction::default(); 65];
        for (new, old) in fresh.iter_mut().zip(t.iter()) {
            if old.handler == SIG_IGN {
                new.handler = SIG_IGN;
            }
        }
        let mirrored = self.mirrored.load(Ordering::Relaxed).into();
        GuestSignals { actions: Mutex::new(fresh), mirrored }
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

/// Run before a signal tern delivers itself ends the process (`frame.rs`),
/// in the CPU loop's context, never a handler's: set by the binary (a
/// vfork child's last report to its parent, `vfork_copy.rs`).
static BEFORE_DEATH: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Sets the function [`die_delivering`] runs first (once per process).
pub fn set_before_death(f: fn()) {
    let _ = BEFORE_DEATH.set(f);
}

/// [`die_by_signal`] for a signal the CPU loop delivers (not from a host
/// handler), after the function [`set_before_death`] set.
pub fn die_delivering(sig: i32) -> ! {
    if let Some(f) = BEFORE_DEATH.get() {
        f();
    }
    die_by_signal(sig)
}

/// Ends tern the way the guest would end on `sig` with the default action:
/// by that same signal, so the parent sees the exact wait status (and the
/// host kernel writes a core where the guest's would, RLIMIT_CORE
/// included). The whole thread group dies with it. Raw calls: the C
/// library's wrappers refuse signals 32 and 33.
pub fn die_by_signal(sig: i32) -> ! {
    crate::async_sig::host_sigaction(sig, libc::SIG_DFL as u64, 0, 0);
    let set: crate::mask::SigSet = crate::mask::sigbit(sig);
    // SAFETY: unblocking the signal and sending it to this thread; if it
    // does not terminate (it should), exit instead.
    unsafe {
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_UNBLOCK, &set as *const _, 0usize, 8usize);
        libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), sig);
        libc::_exit(128 + sig)
    }
}
