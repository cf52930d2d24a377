//! Reserved signals the guest has pending.
//!
//! The host never blocks tern's reserved signals (`mask::RESERVED`), so the
//! host kernel cannot keep one pending for a guest that blocks it. When one
//! arrives asynchronously (`kill`, `tgkill`, `sigqueue`: `si_code <= 0`,
//! the kernel's `SI_FROMUSER`) the fault handler calls [`on_async`], which
//! does what `kernel/signal.c: send_signal()` and `get_signal()` would have
//! done for the guest: keep it pending (one instance with its siginfo, as
//! for every standard signal) while the guest blocks it, discard it if the
//! guest ignores it, else queue it for the thread it arrived on
//! (`thread.rs`), whose CPU loop delivers it (handler or default action).
//! The set is process-wide, for process-directed signals: a thread that
//! unblocks one takes it. A thread-directed one (`tgkill`, `tkill`:
//! `SI_TKILL`) stays queued on its thread (`thread.rs`), blocked, where only
//! that thread's `sigpending`, `sigtimedwait` and unblocking see it
//! (`kernel/signal.c`: the task's own `pending` vs `signal->shared_pending`).
//!
//! Everything here is async-signal-safe: atomics only.

use crate::mask::{guest_mask, sigbit, SigSet, RESERVED, SIGSET_SIZE};
use crate::siginfo::{self, AtomicInfo, InfoBytes, SI_TKILL};
use std::sync::atomic::{AtomicU64, Ordering};

/// Reserved signals pending for the guest (process-wide).
static PENDING: AtomicU64 = AtomicU64::new(0);

/// The siginfo of each pending signal, by signal number.
static INFO: [AtomicInfo; 65] = [const { AtomicInfo::new() }; 65];

/// Signals whose guest disposition is SIG_IGN (kept by `guest.rs`).
static IGNORED: AtomicU64 = AtomicU64::new(0);

/// Records the guest's disposition of `sig` (ignored or not). Setting
/// SIG_IGN discards a pending instance (`kernel/signal.c: do_sigaction()`,
/// POSIX: "setting a signal action to SIG_IGN for a signal that is pending
/// shall cause the pending signal to be discarded").
pub fn set_ignored(sig: i32, ignored: bool) {
    if ignored {
        IGNORED.fetch_or(sigbit(sig), Ordering::Relaxed);
        PENDING.fetch_and(!sigbit(sig), Ordering::AcqRel);
    } else {
        IGNORED.fetch_and(!sigbit(sig), Ordering::Relaxed);
    }
}

fn ignored(sig: i32) -> bool {
    IGNORED.load(Ordering::Relaxed) & sigbit(sig) != 0
}

fn record(sig: i32, info: &InfoBytes) {
    let bit = sigbit(sig);
    // A standard signal already pending is not queued twice.
    if PENDING.load(Ordering::Acquire) & bit != 0 {
        return;
    }
    INFO[sig as usize].store(info);
    PENDING.fetch_or(bit, Ordering::Release);
}

/// Keeps `sig` (a reserved signal) pending process-wide with `info`.
pub fn record_bytes(sig: i32, info: &InfoBytes) {
    record(sig, info);
}

/// A reserved signal `sig` sent to the guest asynchronously, seen by tern's
/// host handler (or queued by the guest to itself). Keeps it pending,
/// discards it, or queues it for delivery on the calling thread: true
/// then (the caller makes the thread come back to the CPU loop).
pub fn on_async(sig: i32, info: &libc::siginfo_t) -> bool {
    if guest_mask() & sigbit(sig) != 0 {
        match crate::thread::current() {
            Some(t) if info.si_code == SI_TKILL && !ignored(sig) => {
                t.queue(sig, &siginfo::bytes(info));
            }
            _ => record(sig, &siginfo::bytes(info)),
        }
        return false;
    }
    if ignored(sig) {
        return false;
    }
    match crate::thread::current() {
        Some(t) if t.queue(sig, &siginfo::bytes(info)) => {
            t.raise();
            true
        }
        _ => crate::die_by_signal(sig),
    }
}

/// A forked child starts with no pending signals (`kernel/fork.c:
/// copy_process()` clears them); its mask and dispositions are the parent's.
pub fn clear_after_fork() {
    PENDING.store(0, Ordering::Release);
    crate::thread::after_fork_child();
}

/// This module's process-wide state, as a parent saves it around a `vfork`
/// child: the child shares tern's memory but not the parent's signal state
/// (`kernel/fork.c: copy_process()` gives it empty pending sets and a copy
/// of the dispositions), so the parent takes its own back when the child
/// has exec'd or exited.
pub struct Saved {
    pending: u64,
    ignored: u64,
    info: [InfoBytes; 65],
}

/// Saves the pending set, its siginfo and the ignored set.
pub fn save() -> Saved {
    let info = std::array::from_fn(|i| INFO[i].load());
    Saved { pending: PENDING.load(Ordering::Acquire), ignored: IGNORED.load(Ordering::Relaxed), info }
}

impl Saved {
    /// Puts the saved state back.
    pub fn restore(&self) {
        for (src, dst) in self.info.iter().zip(INFO.iter()) {
            dst.store(src);
        }
        IGNORED.store(self.ignored, Ordering::Relaxed);
        PENDING.store(self.pending, Ordering::Release);
    }
}

/// Reserved signals pending for the guest (always ones it blocks).
pub fn pending() -> SigSet {
    PENDING.load(Ordering::Acquire)
}

/// Takes the lowest pending reserved signal in `set`, with its siginfo
/// (`kernel/signal.c: dequeue_signal()`).
pub fn take(set: SigSet) -> Option<(i32, [u8; 128])> {
    let avail = PENDING.load(Ordering::Acquire) & set & RESERVED;
    if avail == 0 {
        return None;
    }
    let sig = avail.trailing_zeros() as i32 + 1;
    if PENDING.fetch_and(!sigbit(sig), Ordering::AcqRel) & sigbit(sig) == 0 {
        return None;
    }
    Some((sig, INFO[sig as usize].load()))
}

/// Moves the pending reserved signals `mask` does not block to the calling
/// thread's queue, to be delivered on the way back to the guest as the
/// kernel does after the mask changed (discarded if the guest now ignores
/// them).
pub fn deliver_unblocked(mask: SigSet) {
    while let Some((sig, info)) = take(!mask) {
        if ignored(sig) {
            continue;
        }
        match crate::thread::current() {
            Some(t) if t.queue(sig, &info) => t.raise(),
            _ => crate::die_by_signal(sig),
        }
    }
    // The thread's own (tgkill-directed) ones.
    if let Some(t) = crate::thread::current().filter(|t| t.queued() & !mask != 0) {
        t.raise();
    }
}

/// Moves the host's pending instances of the reserved signals in `blocked`
/// (which the host thread must block) into tern's pending set.
pub fn adopt_host_pending(blocked: SigSet) {
    let mut host: SigSet = 0;
    // SAFETY: rt_sigpending writes 8 bytes into `host`.
    unsafe { libc::syscall(libc::SYS_rt_sigpending, &mut host as *mut SigSet, SIGSET_SIZE) };
    for sig in 1..=64 {
        if host & blocked & sigbit(sig) == 0 {
            continue;
        }
        let set = sigbit(sig);
        let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: siginfo_t is plain data; the kernel fills it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid set, siginfo and timeout buffers.
        let r = unsafe {
            libc::syscall(libc::SYS_rt_sigtimedwait, &set as *const SigSet, &mut info, &zero, SIGSET_SIZE)
        };
        if r == i64::from(sig) {
            record(sig, &siginfo::bytes(&info));
        }
    }
}

/// Makes tern's pending reserved signals pending on the host again, with
/// their siginfo (the host must block them: see `mask::ExecMask`).
pub fn hand_to_host() {
    // SAFETY: getpid and gettid have no preconditions.
    let (pid, tid) = unsafe { (libc::getpid(), libc::gettid()) };
    let own = crate::thread::current().map(|t| std::iter::from_fn(move || t.take(RESERVED)));
    for (sig, info) in std::iter::from_fn(|| take(RESERVED)).chain(own.into_iter().flatten()) {
        // SAFETY: info is a 128-byte siginfo the kernel reads; a thread may
        // queue any siginfo to itself.
        unsafe { libc::syscall(libc::SYS_rt_tgsigqueueinfo, pid, tid, sig, info.as_ptr()) };
    }
}
