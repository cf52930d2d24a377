//! Per-thread guest signal state: the signals queued for one guest thread
//! (with their full siginfo), its `signal_pending` and `in_syscall` flags,
//! the mask to restore after a call that swapped it (`rt_sigsuspend`,
//! `ppoll`...), and the registry that finds another thread's state by tid.
//!
//! The blocked mask itself is in `mask.rs`. The queue here is short-lived:
//! the host kernel keeps pending what the guest blocks (the host mask
//! follows the guest's) and routes process-directed signals to a thread
//! that does not block them (`kernel/signal.c: complete_signal()`), so a
//! signal reaches tern's handler only on a thread that will take it. The
//! handler queues it here and blocks every host signal on the thread until
//! the CPU loop has delivered it (`deliver.rs`); one the guest blocked in the
//! meantime goes back to the host (or, for a reserved signal, to the
//! process-wide set in `pending.rs`). What tern itself sends to another
//! thread ([`queue_to`]) lands here too, followed by a kick.
//!
//! Everything the host handler calls is lock-free and allocation-free: a
//! thread's state is reached through a `thread_local!` with a const
//! initializer, and the queue is a fixed array of slots claimed with
//! compare-and-swap (the handler may interrupt the thread's own dequeue).

use crate::mask::{sigbit, SigSet};
use crate::siginfo::{AtomicInfo, InfoBytes};
use std::cell::Cell;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use tern_translate::cpu::CpuState;

/// Queue slots per thread. The host handler queues one host signal, blocks
/// it and those its guest handler blocks, and blocks every host signal
/// after a second one until delivery (`async_sig::interrupt`), so the queue
/// holds at most two host signals plus the reserved signals (all standard,
/// coalesced) and tern's own sends.
const SLOTS: usize = 16;

const FREE: u32 = 0;
const WRITING: u32 = 1;
const FULL: u32 = 2;
const READING: u32 = 3;

struct Slot {
    state: AtomicU32,
    sig: AtomicI32,
    seq: AtomicU64,
    info: AtomicInfo,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            state: AtomicU32::new(FREE),
            sig: AtomicI32::new(0),
            seq: AtomicU64::new(0),
            info: AtomicInfo::new(),
        }
    }
}

/// One guest thread's signal state (see the module docs).
pub struct ThreadSignals {
    tid: AtomicI32,
    /// The thread group (process) the thread belongs to, for a kick from
    /// another process on this memory (a CLONE_VM child's tracer).
    tgid: AtomicI32,
    /// Its ptrace state as a tracee (`ptrace_stop.rs`).
    tracee: crate::ptrace_stop::Tracee,
    /// `signal_pending`: nonzero when something may be deliverable. Read by
    /// the `safe_syscall` window check and the CPU loop.
    pending: AtomicU32,
    /// `in_syscall`: nonzero while the thread is in a host syscall made for
    /// the guest (`safe_syscall::call`).
    in_syscall: AtomicU32,
    /// The thread's `CpuState`, recorded by the CPU loop, so the handler
    /// can raise its `exit_request` (GS may not point at it yet).
    cpu: AtomicPtr<CpuState>,
    /// The mask to restore once a signal has been delivered (or not) after
    /// a call that swapped the mask (kernel `set_restore_sigmask()`):
    /// valid when `has_saved` is nonzero.
    saved_mask: AtomicU64,
    has_saved: AtomicU32,
    /// How a host signal tern handled itself (a kick, a reserved signal)
    /// met the thread's `safe_syscall` call: [`Intr`] as a `u32`, set by
    /// the fault handler, read and cleared by `safe_syscall::call`.
    intr: AtomicU32,
    /// Nonzero when the last call returned `RESTART` because tern's own
    /// signal rewound it: the first handler frame decides restart or EINTR
    /// by its SA_RESTART (`frame.rs`), as `handle_signal()` does.
    restart_by_tern: AtomicU32,
    seq: AtomicU64,
    slots: [Slot; SLOTS],
}

/// How a host signal handled by tern alone met a `safe_syscall` call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum Intr {
    None = 0,
    /// The call returned EINTR at the end of the window (the kernel's
    /// ERESTARTNOHAND or ERESTART_RESTARTBLOCK for a handler, or a call
    /// that returns EINTR itself).
    Eintr = 1,
    /// Inside the window: before the `syscall` instruction or rewound to
    /// it by the kernel (ERESTARTSYS under tern's SA_RESTART).
    Rewound = 2,
}

/// Threads tern may know at once (registry size); more threads still run,
/// only tern cannot queue a signal to them by tid.
const MAX_THREADS: usize = 1024;

/// The registry: tid (0 = free) and the state it owns. States are never
/// freed, only reused by a later thread, so a pointer read from here stays
/// valid.
static REGISTRY: [(AtomicI32, AtomicPtr<ThreadSignals>); MAX_THREADS] =
    [const { (AtomicI32::new(0), AtomicPtr::new(std::ptr::null_mut())) }; MAX_THREADS];

/// Registry slots ever claimed: entries past them were never written and
/// are not read either (in a fork child each page of the registry read or
/// written the first time is a page fault).
static USED: AtomicUsize = AtomicUsize::new(0);

/// The registry's slots that may hold a thread.
fn slots() -> &'static [(AtomicI32, AtomicPtr<ThreadSignals>)] {
    &REGISTRY[..USED.load(Ordering::Acquire).min(MAX_THREADS)]
}

thread_local! {
    static CURRENT: Cell<*const ThreadSignals> = const { Cell::new(std::ptr::null()) };
}

/// The calling thread's state, if it is a guest thread. Async-signal-safe.
pub fn current() -> Option<&'static ThreadSignals> {
    // SAFETY: CURRENT is null or a state in REGISTRY, never freed.
    CURRENT.with(|c| unsafe { c.get().as_ref() })
}

/// Records `cpu` as the calling thread's state for the host handler before
/// the CPU loop does (an `execve` run in place replaces the state, and the
/// old one is unmapped before the loop runs again).
pub fn set_current_cpu(cpu: *mut CpuState) {
    if let Some(t) = current() {
        t.set_cpu(cpu);
    }
}

/// The state of guest thread `tid` of this process.
pub fn by_tid(tid: i32) -> Option<&'static ThreadSignals> {
    slots().iter().find(|(t, _)| t.load(Ordering::Acquire) == tid && tid != 0).and_then(|(_, p)| {
        // SAFETY: as in current().
        unsafe { p.load(Ordering::Acquire).as_ref() }
    })
}

/// Every registered guest thread on this memory (this process's, and
/// those of vfork and CLONE_VM children running on it).
pub fn all() -> impl Iterator<Item = &'static ThreadSignals> {
    slots().iter().filter(|(t, _)| t.load(Ordering::Acquire) > 0).filter_map(|(_, p)| {
        // SAFETY: as in current().
        unsafe { p.load(Ordering::Acquire).as_ref() }
    })
}

/// The calling host thread's id.
pub fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

/// Called first thing on every new guest thread (after
/// `FaultContext::init_thread`), the main thread included: registers the
/// thread's state and makes `inherited_mask` its blocked mask (a new thread
/// starts with its creator's mask, `kernel/fork.c: copy_process()`).
pub fn on_thread_start(inherited_mask: SigSet) {
    let tid = gettid();
    let state = claim(tid);
    CURRENT.with(|c| c.set(state));
    crate::mask::forget_host_mask();
    crate::mask::set_guest_mask(inherited_mask);
}

/// A registry slot for `tid`, reusing the state of a thread that ended.
fn claim(tid: i32) -> &'static ThreadSignals {
    for (i, (t, p)) in REGISTRY.iter().enumerate() {
        if t.compare_exchange(0, -1, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            continue;
        }
        USED.fetch_max(i + 1, Ordering::AcqRel);
        let mut s = p.load(Ordering::Acquire);
        if s.is_null() {
            s = Box::into_raw(Box::new(ThreadSignals::new()));
            p.store(s, Ordering::Release);
        }
        // SAFETY: s is a live state nobody else owns (slot marked -1).
        let st = unsafe { &*s };
        st.reset(tid);
        t.store(tid, Ordering::Release);
        return st;
    }
    // Registry full: a private state, unreachable by tid.
    let st: &'static ThreadSignals = Box::leak(Box::new(ThreadSignals::new()));
    st.reset(tid);
    st
}

/// Called when a guest thread ends: blocks every host signal on it (so the
/// host routes nothing more here), hands back to the process what was
/// queued for it, and frees its registry slot.
pub fn on_thread_exit() {
    // No fault on this thread is caught once everything is blocked.
    tern_translate::guestmem::direct_copies(false);
    let all: SigSet = !0;
    // SAFETY: raw rt_sigprocmask with a valid 8-byte set.
    unsafe {
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &all as *const SigSet, 0usize, 8usize)
    };
    crate::mask::forget_host_mask();
    let Some(st) = current() else { return };
    CURRENT.with(|c| c.set(std::ptr::null()));
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    while let Some((sig, info)) = st.take(!0) {
        // A process-directed signal another thread can take; a
        // thread-directed one (`tkill`/`tgkill`: SI_TKILL) dies with its
        // thread (`kernel/exit.c`: the task's own pending queue is flushed).
        if crate::siginfo::code(&info) != crate::siginfo::SI_TKILL {
            requeue_to_process(pid, sig, &info);
        }
    }
    for (t, p) in slots() {
        if std::ptr::eq(p.load(Ordering::Acquire), st) {
            t.store(0, Ordering::Release);
        }
    }
}

/// Drops the calling thread's state without handing anything on: a
/// helper thread whose thread-locals a CLONE_VM child process ran on
/// (`tern_syscalls::vm_clone`) calls this once that child has execed or
/// exited; what was queued for the child died with it.
pub fn forget_current() {
    let Some(st) = current() else { return };
    CURRENT.with(|c| c.set(std::ptr::null()));
    for (t, p) in slots() {
        if std::ptr::eq(p.load(Ordering::Acquire), st) {
            t.store(0, Ordering::Release);
        }
    }
}

fn requeue_to_process(pid: i32, sig: i32, info: &[u8; 128]) {
    if crate::mask::RESERVED & sigbit(sig) != 0 {
        crate::pending::record_bytes(sig, info);
        return;
    }
    // SAFETY: a process may queue any siginfo to itself.
    unsafe { libc::syscall(libc::SYS_rt_sigqueueinfo, pid, sig, info.as_ptr()) };
}

/// In a forked child: the only thread is the caller, under a new tid, with
/// nothing queued (`kernel/fork.c: copy_process()` empties the pending set).
///
/// Only entries that hold a tid are written: the registry is 16 KiB, and
/// writing all of it made each child take a copy (or a fresh page) of
/// every page of it, 4 to 7 page faults per fork.
pub fn after_fork_child() {
    let me = current().map_or(std::ptr::null(), |s| s as *const ThreadSignals);
    for (t, p) in slots() {
        if t.load(Ordering::Acquire) != 0 && !std::ptr::eq(p.load(Ordering::Acquire), me) {
            t.store(0, Ordering::Release);
        }
    }
    if let Some(st) = current() {
        let tid = gettid();
        st.reset(tid);
        for (t, p) in slots() {
            if std::ptr::eq(p.load(Ordering::Acquire), me) {
                t.store(tid, Ordering::Release);
            }
        }
    }
}

/// Queues `sig` for guest thread `tid` (tern's own sends to another thread,
/// e.g. a reserved signal) and kicks it out of generated code or a blocking
/// host call. Err(EAGAIN) when its queue is full (the kernel's
/// RLIMIT_SIGPENDING answer), Err(ESRCH) for an unknown thread.
pub fn queue_to(tid: i32, sig: i32, info: &[u8; 128]) -> Result<(), i32> {
    let st = by_tid(tid).ok_or(libc::ESRCH)?;
    if !st.queue(sig, info) {
        return Err(libc::EAGAIN);
    }
    st.pending.store(1, Ordering::Release);
    kick(tid);
    Ok(())
}

/// Sends the internal kick to thread `tid` (`mask::KICK_SIGNAL` with the
/// cookie): its handler sends the thread back to the CPU loop, out of
/// generated code or a blocking call (see `async_sig::interrupt`). Set the
/// target's flag first. One kick is enough: a thread between its last check
/// and the `syscall` instruction is rewound to the check.
pub fn kick(tid: i32) {
    // SAFETY: siginfo_t is plain data; the queue-signal fields are set below.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    info.si_signo = crate::mask::KICK_SIGNAL;
    info.si_code = libc::SI_QUEUE;
    let words: &mut [u32; 32] =
        // SAFETY: siginfo_t is 128 bytes of plain data.
        unsafe { &mut *(&mut info as *mut libc::siginfo_t).cast::<[u32; 32]>() };
    // si_pid at byte 16, si_uid at 20, si_value at 24 (kernel `__sifields`).
    // SAFETY: getuid has no preconditions.
    words[5] = unsafe { libc::getuid() };
    words[6] = crate::mask::KICK_COOKIE as u32;
    words[7] = (crate::mask::KICK_COOKIE >> 32) as u32;
    // A thread of this process; else the single thread of a vfork or
    // CLONE_VM child running on this memory (a code-cache flush waits for
    // it too), which leads its own thread group. si_pid is the target's
    // pid, which `is_kick` expects (a queued siginfo keeps the sender's
    // si_pid for SI_QUEUE).
    // The target's recorded process first (another process on this
    // memory kicking it: a tracer).
    let own = by_tid(tid).map_or(0, ThreadSignals::tgid);
    // SAFETY: getpid has no preconditions.
    for tgid in [own, unsafe { libc::getpid() }, tid] {
        if tgid == 0 {
            continue;
        }
        words[4] = tgid as u32;
        // SAFETY: queueing a signal with a valid siginfo to a thread of a
        // process on this memory.
        let r = unsafe {
            libc::syscall(
                libc::SYS_rt_tgsigqueueinfo,
                tgid,
                tid,
                crate::mask::KICK_SIGNAL,
                &info as *const libc::siginfo_t,
            )
        };
        if r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH) {
            return;
        }
    }
}

/// Synchronous signals, taken first (`kernel/signal.c: SYNCHRONOUS_MASK`).
const SYNCHRONOUS: SigSet = sigbit(libc::SIGSEGV)
    | sigbit(libc::SIGBUS)
    | sigbit(libc::SIGILL)
    | sigbit(libc::SIGTRAP)
    | sigbit(libc::SIGFPE)
    | sigbit(libc::SIGSYS);

impl ThreadSignals {
    fn new() -> ThreadSignals {
        ThreadSignals {
            tid: AtomicI32::new(0),
            tgid: AtomicI32::new(0),
            tracee: crate::ptrace_stop::Tracee::new(),
            pending: AtomicU32::new(0),
            in_syscall: AtomicU32::new(0),
            cpu: AtomicPtr::new(std::ptr::null_mut()),
            saved_mask: AtomicU64::new(0),
            has_saved: AtomicU32::new(0),
            intr: AtomicU32::new(0),
            restart_by_tern: AtomicU32::new(0),
            seq: AtomicU64::new(0),
            slots: [const { Slot::new() }; SLOTS],
        }
    }

    fn reset(&self, tid: i32) {
        self.tid.store(tid, Ordering::Release);
        // SAFETY: getpid has no preconditions.
        self.tgid.store(unsafe { libc::getpid() }, Ordering::Release);
        self.tracee.reset();
        self.pending.store(0, Ordering::Release);
        self.in_syscall.store(0, Ordering::Release);
        self.cpu.store(std::ptr::null_mut(), Ordering::Release);
        self.has_saved.store(0, Ordering::Release);
        self.intr.store(0, Ordering::Release);
        self.restart_by_tern.store(0, Ordering::Release);
        for s in &self.slots {
            s.state.store(FREE, Ordering::Release);
        }
    }

    pub fn tid(&self) -> i32 {
        self.tid.load(Ordering::Acquire)
    }

    /// The thread's process id.
    pub fn tgid(&self) -> i32 {
        self.tgid.load(Ordering::Acquire)
    }

    /// The thread's ptrace state as a tracee.
    pub fn tracee(&self) -> &crate::ptrace_stop::Tracee {
        &self.tracee
    }

    /// The `signal_pending` word (the `safe_syscall` window reads it).
    pub fn pending_flag(&self) -> &AtomicU32 {
        &self.pending
    }

    /// The `in_syscall` word.
    pub fn in_syscall_flag(&self) -> &AtomicU32 {
        &self.in_syscall
    }

    pub(crate) fn set_cpu(&self, cpu: *mut CpuState) {
        self.cpu.store(cpu, Ordering::Relaxed);
    }

    pub(crate) fn cpu(&self) -> Option<&CpuState> {
        // SAFETY: the CPU loop records its thread's CpuState, which lives
        // as long as the thread runs guest code.
        unsafe { self.cpu.load(Ordering::Relaxed).as_ref() }
    }

    /// Raises `signal_pending` and the thread's `exit_request`.
    pub fn raise(&self) {
        self.pending.store(1, Ordering::Release);
        if let Some(cpu) = self.cpu() {
            cpu.exit_request.store(1, Ordering::Release);
        }
    }

    /// Records how tern's own host signal met the current call (fault
    /// handler). Async-signal-safe.
    pub(crate) fn mark_intr(&self, how: Intr) {
        self.intr.store(how as u32, Ordering::Relaxed);
    }

    /// Takes the mark of [`Self::mark_intr`]. Only this thread's own
    /// signal handler writes it, and only while the thread is inside a
    /// call's window (`safe_syscall`), never while this runs: a load, and a
    /// store where it is set, rather than a locked exchange (twice per
    /// guest system call, a fifth of a `getppid` loop's time in tern).
    pub(crate) fn take_intr(&self) -> Intr {
        let mark = self.intr.load(Ordering::Relaxed);
        if mark != 0 {
            self.intr.store(0, Ordering::Relaxed);
        }
        match mark {
            1 => Intr::Eintr,
            2 => Intr::Rewound,
            _ => Intr::None,
        }
    }

    /// See `restart_by_tern`.
    pub(crate) fn set_restart_by_tern(&self, on: bool) {
        self.restart_by_tern.store(u32::from(on), Ordering::Relaxed);
    }

    /// Takes `restart_by_tern`.
    pub(crate) fn take_restart_by_tern(&self) -> bool {
        self.restart_by_tern.load(Ordering::Relaxed) != 0
            && self.restart_by_tern.swap(0, Ordering::Relaxed) != 0
    }

    /// Lowers `signal_pending` after a kick that brought nothing for the
    /// guest, giving the host the guest's mask back (the kick's handler
    /// blocked everything, `async_sig::interrupt`). Whoever queues after
    /// this raises the flag again.
    pub(crate) fn lower_undelivered(&self) {
        self.pending.store(0, Ordering::SeqCst);
        crate::mask::restore_host_mask();
    }

    /// Sets the mask to restore after the next delivery (the kernel's
    /// `saved_sigmask` with `TIF_RESTORE_SIGMASK`), and asks for a delivery
    /// check.
    pub fn set_saved_mask(&self, mask: SigSet) {
        self.saved_mask.store(mask, Ordering::Relaxed);
        self.has_saved.store(1, Ordering::Release);
        self.raise();
    }

    /// Takes the saved mask, if any.
    pub fn take_saved_mask(&self) -> Option<SigSet> {
        (self.has_saved.swap(0, Ordering::AcqRel) != 0).then(|| self.saved_mask.load(Ordering::Relaxed))
    }

    /// Queues `sig` with `info`. A standard signal already queued is not
    /// queued twice; real-time ones queue in order. False when full.
    /// Async-signal-safe.
    pub fn queue(&self, sig: i32, info: &InfoBytes) -> bool {
        if sig < 32 && self.queued() & sigbit(sig) != 0 {
            return true;
        }
        for s in &self.slots {
            if s.state.compare_exchange(FREE, WRITING, Ordering::AcqRel, Ordering::Relaxed).is_err() {
                continue;
            }
            s.info.store(info);
            s.sig.store(sig, Ordering::Relaxed);
            s.seq.store(self.seq.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
            s.state.store(FULL, Ordering::Release);
            return true;
        }
        false
    }

    /// True if a signal queued here is one the thread's mask lets through
    /// now (a guest handler or default action will run).
    pub fn deliverable(&self) -> bool {
        self.queued() & !crate::mask::guest_mask() != 0
    }

    /// Signals queued here.
    pub fn queued(&self) -> SigSet {
        self.slots
            .iter()
            .filter(|s| s.state.load(Ordering::Acquire) == FULL)
            .fold(0, |m, s| m | sigbit(s.sig.load(Ordering::Relaxed)))
    }

    /// Dequeues the next signal in `set` in the kernel's order
    /// (`kernel/signal.c: next_signal()`): synchronous ones first, then the
    /// lowest number, real-time instances in arrival order.
    pub fn take(&self, set: SigSet) -> Option<(i32, [u8; 128])> {
        loop {
            let mut best: Option<(usize, (bool, i32, u64))> = None;
            for (i, s) in self.slots.iter().enumerate() {
                if s.state.load(Ordering::Acquire) != FULL {
                    continue;
                }
                let sig = s.sig.load(Ordering::Relaxed);
                if set & sigbit(sig) == 0 {
                    continue;
                }
                let key = (SYNCHRONOUS & sigbit(sig) == 0, sig, s.seq.load(Ordering::Relaxed));
                if best.is_none_or(|(_, k)| key < k) {
                    best = Some((i, key));
                }
            }
            let (i, _) = best?;
            let s = &self.slots[i];
            if s.state.compare_exchange(FULL, READING, Ordering::AcqRel, Ordering::Relaxed).is_err() {
                continue;
            }
            let out = s.info.load();
            let sig = s.sig.load(Ordering::Relaxed);
            s.state.store(FREE, Ordering::Release);
            return Some((sig, out));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(sig: i32, v: u64) -> InfoBytes {
        let mut b = [0u8; 128];
        b[..8].copy_from_slice(&(sig as u64).to_le_bytes());
        b[24..32].copy_from_slice(&v.to_le_bytes());
        b
    }

    #[test]
    fn order_and_coalescing() {
        let t = ThreadSignals::new();
        assert!(t.queue(libc::SIGUSR1, &info(libc::SIGUSR1, 1)));
        assert!(t.queue(libc::SIGUSR1, &info(libc::SIGUSR1, 2)));
        assert!(t.queue(40, &info(40, 3)));
        assert!(t.queue(40, &info(40, 4)));
        assert!(t.queue(35, &info(35, 5)));
        assert!(t.queue(libc::SIGSEGV, &info(libc::SIGSEGV, 6)));
        let order: Vec<(i32, u8)> = std::iter::from_fn(|| t.take(!0)).map(|(s, b)| (s, b[24])).collect();
        assert_eq!(order, [(libc::SIGSEGV, 6), (libc::SIGUSR1, 1), (35, 5), (40, 3), (40, 4)]);
        assert!(t.take(!0).is_none());
        for i in 0..SLOTS {
            assert!(t.queue(50, &info(50, i as u64)));
        }
        assert!(!t.queue(51, &info(51, 0)));
        assert!(t.take(!sigbit(50)).is_none());
    }
}
