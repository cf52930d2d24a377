//! Signal sets, the host signals tern reserves, and each guest thread's
//! blocked mask.
//!
//! The guest's blocked mask is tern's, kept per thread (guest thread = host
//! thread). The host mask follows it minus [`RESERVED`]: the fault signals
//! tern catches for self-modifying code and guest faults, and the internal
//! kick. So no guest mask ever blocks them on the host, while the host kernel
//! still routes, queues and reports (`sigpending`) every other signal as the
//! guest asked. A reserved signal the guest blocks and that arrives
//! asynchronously (sent with `kill`, not raised by a fault) is kept pending by
//! tern instead (`pending.rs`).
//!
//! This module must not allocate or lock in what the fault handler calls
//! ([`guest_mask`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// A signal set as the x86-64 kernel lays out `sigset_t`: bit `n - 1` for
/// signal `n`, 64 signals, 8 bytes.
pub type SigSet = u64;

/// The size the kernel accepts for a `sigsetsize` argument.
pub const SIGSET_SIZE: u64 = 8;

/// The set holding only `sig` (1..=64).
pub const fn sigbit(sig: i32) -> SigSet {
    1 << (sig - 1)
}

/// The host fault signals: tern catches them for self-modifying code and to
/// turn guest faults into exits with exact guest state.
pub const FAULT_SIGNALS: [i32; 5] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL, libc::SIGTRAP];

/// The host signal tern will use to kick a guest thread out of a blocking
/// host syscall (DESIGN.md section 6; the signals issue).
///
/// It is multiplexed on a fault signal so that all 64 guest signals stay
/// usable and no further host signal is taken from the guest: a kick is
/// sent with `rt_tgsigqueueinfo`, `si_code == SI_QUEUE`, `si_pid` tern's
/// own pid and `si_value == KICK_COOKIE` ([`is_kick`]); a hardware fault
/// has `si_code > 0`; anything else on this signal is a signal for the
/// guest, sent with `kill`/`tgkill`/`sigqueue`, which tern emulates like the
/// other reserved signals (`pending.rs`). SIGBUS rather than SIGSEGV so that
/// a debugger told to pass kicks silently (`handle SIGBUS nostop`) still
/// stops on tern's own crashes.
pub const KICK_SIGNAL: i32 = libc::SIGBUS;

/// `si_value` of a kick (see [`KICK_SIGNAL`]).
pub const KICK_COOKIE: u64 = 0x7465_726e_6b69_636b;

const fn set_of(sigs: &[i32]) -> SigSet {
    let mut s = 0;
    let mut i = 0;
    while i < sigs.len() {
        s |= sigbit(sigs[i]);
        i += 1;
    }
    s
}

/// The host signals tern reserves: never blocked on the host, removed from
/// every signal set the guest hands to the host kernel.
pub const RESERVED: SigSet = set_of(&FAULT_SIGNALS) | sigbit(KICK_SIGNAL);

/// Signals that can never be blocked (`kernel/signal.c`: `sigprocmask()`
/// callers remove SIGKILL and SIGSTOP).
pub const UNBLOCKABLE: SigSet = sigbit(libc::SIGKILL) | sigbit(libc::SIGSTOP);

/// The set the host kernel gets in place of the guest's `set`.
pub const fn host_set(set: SigSet) -> SigSet {
    set & !RESERVED
}

/// True if `info` is tern's own kick (see [`KICK_SIGNAL`]).
pub fn is_kick(sig: i32, info: &libc::siginfo_t) -> bool {
    // SAFETY: si_pid and si_value are read from the queue-signal union arm,
    // which the kernel fills for SI_QUEUE; the code is checked first.
    sig == KICK_SIGNAL
        && info.si_code == libc::SI_QUEUE
        && unsafe { info.si_pid() == libc::getpid() && info.si_value().sival_ptr as u64 == KICK_COOKIE }
}

thread_local! {
    /// This guest thread's blocked mask, as the guest set it (reserved
    /// signals included, SIGKILL and SIGSTOP never). A forked child keeps
    /// it with the rest of memory; a new guest thread must start with its
    /// creator's ([`set_guest_mask`] on the new thread, threads issue).
    static GUEST_MASK: Cell<SigSet> = const { Cell::new(0) };
    /// While a [`TempMask`] is alive: the mask it replaced.
    static TEMP_OLD: Cell<Option<SigSet>> = const { Cell::new(None) };
    /// The host thread's blocked mask as tern last set it, [`UNKNOWN`] or
    /// [`CHANGING`]. Only this thread and its host handlers touch it; an
    /// atomic so that a handler never sees half a read-modify-write.
    static HOST_MASK: AtomicU64 = const { AtomicU64::new(UNKNOWN) };
}

/// The calling guest thread's blocked mask. Async-signal-safe.
pub fn guest_mask() -> SigSet {
    GUEST_MASK.with(|m| m.get())
}

/// Gives the host thread the mask that follows the guest's again (after
/// tern blocked everything for a delivery that found nothing to deliver).
/// During a call with a temporary mask, the mask from before it: the host
/// call swaps in its own copy of the temporary one.
pub(crate) fn restore_host_mask() {
    let m = TEMP_OLD.with(|t| t.get()).unwrap_or_else(guest_mask);
    set_host_mask(host_set(m));
}

/// [`HOST_MASK`] while it is not known.
const UNKNOWN: SigSet = !0;
/// [`HOST_MASK`] while [`set_host_mask`] changes the host mask.
const CHANGING: SigSet = !1;

/// Makes `set` the host thread's blocked mask; no host call if the host
/// mask is known to be `set` already (a round trip's delivery, whose host
/// handler left that mask, `async_sig::interrupt`; a guest
/// `rt_sigprocmask` that changes only reserved signals).
fn set_host_mask(set: SigSet) {
    let known = HOST_MASK.with(|k| {
        let v = k.load(Ordering::Relaxed);
        if v != set {
            k.store(CHANGING, Ordering::Relaxed);
        }
        v
    });
    if known == set {
        return;
    }
    // SAFETY: set is a valid 8-byte sigset the kernel only reads.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &set as *const SigSet,
            0usize,
            SIGSET_SIZE,
        );
    }
    // A host handler that ran meanwhile (before or after the call: it
    // cannot tell) left UNKNOWN.
    HOST_MASK.with(|k| {
        let _ = k.compare_exchange(CHANGING, set, Ordering::Relaxed, Ordering::Relaxed);
    });
}

/// A host handler of this thread is about to return to a context whose
/// `uc_sigmask` it made `set`: records it as the host mask (or as unknown
/// if it interrupted [`set_host_mask`] in its call). Async-signal-safe.
pub(crate) fn host_mask_on_return(set: SigSet) {
    HOST_MASK.with(|k| {
        let next = if k.load(Ordering::Relaxed) == CHANGING { UNKNOWN } else { set };
        k.store(next, Ordering::Relaxed);
    });
}

/// The host mask was changed behind [`set_host_mask`]'s back, or this
/// thread-local now serves another thread or process (a `vfork` child on
/// its parent's, a CLONE_VM child on a helper's).
pub fn forget_host_mask() {
    HOST_MASK.with(|k| k.store(UNKNOWN, Ordering::Relaxed));
}

/// The host thread's blocked mask, raw.
fn host_mask() -> SigSet {
    let mut old: SigSet = 0;
    // SAFETY: a NULL new set only reads the mask into `old`.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_BLOCK,
            0usize,
            &mut old as *mut SigSet,
            SIGSET_SIZE,
        );
    }
    old
}

/// Every signal blocked on the host thread (the kernel keeps SIGKILL and
/// SIGSTOP deliverable) while alive: held around a host fork or vfork, so
/// that a signal sent to the new child before it has emptied tern's
/// pending set (a new process starts with nothing pending:
/// `pending::clear_after_fork`) stays pending in the kernel until the
/// child is ready for it, instead of being kept by tern's handler and
/// then cleared. LTP `kill11` lost a SIGILL sent right after `fork` that
/// way, and its child paused for ever. Dropping it, in either process, or
/// [`unblock_from_fork`] in a vfork child, gives back the mask from before.
pub struct ForkBlock {
    old: SigSet,
}

impl ForkBlock {
    #[allow(clippy::new_without_default)]
    pub fn new() -> ForkBlock {
        let all: SigSet = !0;
        let mut old: SigSet = 0;
        // SAFETY: valid 8-byte sigsets; the kernel reads `all` and writes
        // `old`.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &all as *const SigSet,
                &mut old as *mut SigSet,
                SIGSET_SIZE,
            );
        }
        forget_host_mask();
        ForkBlock { old }
    }

    /// The mask to give back.
    pub fn old(&self) -> SigSet {
        self.old
    }
}

impl Drop for ForkBlock {
    fn drop(&mut self) {
        unblock_from_fork(self.old);
    }
}

/// Gives the host thread back `old`, the mask from before a [`ForkBlock`]
/// (for a vfork child, which cannot drop its parent's guard).
pub fn unblock_from_fork(old: SigSet) {
    forget_host_mask();
    set_host_mask(old);
}

/// Makes `set` the calling guest thread's blocked mask (SIGKILL and SIGSTOP
/// removed) and blocks the same minus [`RESERVED`] on the host. Does not
/// deliver anything the change unblocks: see `pending::deliver_unblocked`.
pub fn set_guest_mask(set: SigSet) {
    let set = set & !UNBLOCKABLE;
    GUEST_MASK.with(|m| m.set(set));
    set_host_mask(host_set(set));
}

/// [`set_guest_mask`] without the host call, for the CPU loop's delivery
/// of queued signals: the host mask there blocks every non-reserved signal
/// (`async_sig::interrupt`) and gets the guest's once delivery ends
/// (`deliver::deliver_pending`), so one host call serves every frame.
/// Only for a caller that has raised the thread's pending flag (e.g.
/// `ThreadSignals::set_saved_mask`), so that delivery follows.
pub fn set_guest_mask_deferred(set: SigSet) {
    GUEST_MASK.with(|m| m.set(set & !UNBLOCKABLE));
}

/// A temporary guest mask for the duration of a call that swaps the mask
/// atomically in the host kernel (`rt_sigsuspend`, `ppoll`, `pselect6`,
/// `epoll_pwait`...): the host gets its copy of the set in the call itself;
/// this only tells tern's own handlers which reserved signals the guest
/// blocks meanwhile. The old mask is back when the guard drops.
pub struct TempMask {
    old: SigSet,
    outer: Option<SigSet>,
}

impl TempMask {
    pub fn new(set: SigSet) -> TempMask {
        let old = guest_mask();
        let outer = TEMP_OLD.with(|t| t.replace(Some(old)));
        GUEST_MASK.with(|m| m.set(set & !UNBLOCKABLE));
        TempMask { old, outer }
    }
}

impl Drop for TempMask {
    fn drop(&mut self) {
        GUEST_MASK.with(|m| m.set(self.old));
        TEMP_OLD.with(|t| t.set(self.outer));
    }
}

/// Startup: the mask tern inherited (from its parent, or from the tern that
/// ran the guest's `execve`, see [`ExecMask`]) is the guest's initial mask.
/// Reserved signals pending on the host for it move to tern's own pending
/// set, then the host unblocks them. Call before installing any handler
/// that could meet a guest signal and before running the guest.
pub fn init_from_host() {
    let inherited = host_mask();
    GUEST_MASK.with(|m| m.set(inherited & !UNBLOCKABLE));
    crate::pending::adopt_host_pending(inherited & RESERVED);
    set_host_mask(host_set(inherited));
}

/// While alive, the host mask is the guest's whole mask, reserved signals
/// included, and tern's pending reserved signals are pending on the host:
/// held around the host `execve` that starts the next tern, which inherits
/// both (`kernel/signal.c`: a new program keeps the blocked mask and the
/// pending signals) and reads them with [`init_from_host`]. If `execve`
/// fails, the drop restores the host mask.
pub struct ExecMask(());

impl ExecMask {
    #[allow(clippy::new_without_default)]
    pub fn new() -> ExecMask {
        let m = guest_mask();
        set_host_mask(m);
        crate::pending::hand_to_host();
        ExecMask(())
    }
}

impl Drop for ExecMask {
    fn drop(&mut self) {
        crate::pending::adopt_host_pending(guest_mask() & RESERVED);
        set_host_mask(host_set(guest_mask()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_set() {
        assert_eq!(RESERVED & UNBLOCKABLE, 0);
        for s in FAULT_SIGNALS {
            assert_ne!(RESERVED & sigbit(s), 0);
        }
        assert_ne!(RESERVED & sigbit(KICK_SIGNAL), 0);
        assert_eq!(host_set(!0) & RESERVED, 0);
        assert_eq!(sigbit(1), 1);
        assert_eq!(sigbit(64), 1 << 63);
    }
}
