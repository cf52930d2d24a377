//! The tracee's side of tern's `ptrace`: a guest thread that a tracer on
//! the same memory (a CLONE_VM child, as LeakSanitizer's stop-the-world
//! makes one) has attached to stops at the top of its CPU loop, where its
//! `CpuState` is the exact guest state, publishes a copy of its registers
//! for the tracer to read (and change), and sleeps until the tracer lets it
//! go (`tern_syscalls::ptrace` is the tracer's side).
//!
//! A stop is asked like a signal: the tracer sets [`Tracee::state`] to
//! [`REQUESTED`], raises the thread's `signal_pending` and kicks it, so a
//! thread in generated code or blocked in a host call for the guest comes
//! back to the CPU loop (an interrupted call is restarted after the stop,
//! as the kernel restarts a call a ptrace stop interrupted), and
//! `deliver::deliver_pending` calls [`stop_if_requested`] after it has
//! lowered the flag, so a request that races with the lowering is still
//! seen. While stopped, the thread announces itself idle to the code cache
//! (a flush never waits for it) and holds no lock. Signals that arrive
//! meanwhile stay queued until it runs again, as natively a ptrace-stopped
//! thread's do (the kernel reports them to the tracer instead; tern's
//! tracer never sees them).
//!
//! A tracer that dies without detaching (killed, crashed) must not leave
//! the thread stopped for ever: the stopped thread looks every
//! [`TRACER_CHECK`] whether the tracer still runs, and goes on alone if it
//! does not (the kernel detaches a dead tracer's tracees, `exit_ptrace()`).

use crate::thread::ThreadSignals;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, Ordering};
use tern_translate::cpu::{CpuState, GuestRegs, TF};

/// Not stopped, and no stop asked.
pub const RUNNING: u32 = 0;
/// The tracer asked for a stop; the thread has not reached it yet.
pub const REQUESTED: u32 = 1;
/// Stopped; the stop not yet reported by the tracer's `wait4`.
pub const STOPPED: u32 = 2;
/// Stopped, and the stop reported.
pub const REPORTED: u32 = 3;

/// How often a stopped thread checks that its tracer still runs.
const TRACER_CHECK: std::time::Duration = std::time::Duration::from_millis(50);

/// One guest thread's ptrace state as a tracee (part of its
/// `ThreadSignals`, so a tracer finds it by tid).
pub struct Tracee {
    /// Host tid of the tracer, 0 when not traced.
    pub tracer: AtomicI32,
    /// [`RUNNING`], [`REQUESTED`], [`STOPPED`] or [`REPORTED`]; also the
    /// futex word both sides sleep on.
    pub state: AtomicU32,
    /// The `wait4` status the stop reports (`0x137f`: stopped by SIGSTOP,
    /// for PTRACE_ATTACH).
    pub stop_status: AtomicI32,
    /// The stopped thread's registers, on its own stack: valid while
    /// `state` is [`STOPPED`] or [`REPORTED`], read and written by the
    /// tracer only.
    pub regs: AtomicPtr<GuestRegs>,
    /// Nonzero when the tracer changed `regs` (PTRACE_SETREGS...): the
    /// thread takes them back when it runs again.
    pub regs_changed: AtomicU32,
    /// Nonzero while stopped inside a host call ([`stop_in_call`]): the
    /// registers cannot be changed there.
    pub read_only: AtomicU32,
}

impl Tracee {
    pub(crate) const fn new() -> Tracee {
        Tracee {
            tracer: AtomicI32::new(0),
            state: AtomicU32::new(RUNNING),
            stop_status: AtomicI32::new(0),
            regs: AtomicPtr::new(std::ptr::null_mut()),
            regs_changed: AtomicU32::new(0),
            read_only: AtomicU32::new(0),
        }
    }

    /// A new thread in the slot: not traced.
    pub(crate) fn reset(&self) {
        self.tracer.store(0, Ordering::Release);
        self.state.store(RUNNING, Ordering::Release);
        self.regs.store(std::ptr::null_mut(), Ordering::Release);
        self.regs_changed.store(0, Ordering::Release);
    }

    /// Lets a stopped thread run again (the tracer's PTRACE_CONT or
    /// PTRACE_DETACH; a signal they pass on is the tracer's to send).
    pub fn resume(&self) {
        self.state.store(RUNNING, Ordering::Release);
        tern_translate::futex::wake(&self.state, i32::MAX);
    }
}

/// True if host thread `tid` has ended (or is a zombie waiting to be
/// reaped, which it may wait for from the thread it stopped).
fn has_ended(tid: i32) -> bool {
    let Ok(stat) = std::fs::read(format!("/proc/{tid}/stat")) else { return true };
    // The state is the field after the `)` that ends the name.
    let state = stat.iter().rposition(|&b| b == b')').and_then(|i| stat.get(i + 2));
    matches!(state, Some(b'Z' | b'X') | None)
}

/// Stops the calling thread if its tracer asked (see the module docs);
/// `cpu` is the thread's state, exact at the top of its CPU loop. Returns
/// once the tracer lets it go, with the registers the tracer set.
pub(crate) fn stop_if_requested(t: &ThreadSignals, cpu: &mut CpuState) {
    let tr = t.tracee();
    if tr.state.load(Ordering::Acquire) != REQUESTED {
        return;
    }
    let mut regs = cpu.guest_regs();
    // Holds no block while stopped: a flush or a reclamation never waits.
    let quiet = cpu.quiet_epoch.swap(u64::MAX, Ordering::AcqRel);
    if park(tr, &mut regs, false) {
        cpu.set_guest_regs(&regs);
        // The guest's TF is `step`, never in the flags generated code runs
        // with.
        cpu.step = u64::from(cpu.rflags & TF != 0);
        cpu.rflags &= !TF;
    }
    cpu.quiet_epoch.store(quiet, Ordering::Release);
}

/// Stops the calling thread, inside a host call made for the guest that
/// tern's kick ended and is about to make again (`safe_syscall`: a call
/// with a relative timeout keeps the time it had left, as natively a call
/// a ptrace stop interrupted does), if its tracer asked. Its state is the
/// one its CPU loop recorded, as the call left it (rip after the
/// `syscall`); the tracer cannot change it here (its SETREGS fail with
/// EIO).
pub(crate) fn stop_in_call(t: &ThreadSignals) {
    let tr = t.tracee();
    if tr.state.load(Ordering::Acquire) != REQUESTED {
        return;
    }
    let Some(cpu) = t.cpu() else { return };
    let mut regs = cpu.guest_regs();
    // The call holds no block (the CPU loop announced it idle).
    park(tr, &mut regs, true);
}

/// Publishes `regs`, marks the thread stopped and sleeps until the tracer
/// resumes it (or is gone). True if the tracer changed `regs`.
fn park(tr: &Tracee, regs: &mut GuestRegs, read_only: bool) -> bool {
    tr.read_only.store(u32::from(read_only), Ordering::Release);
    tr.regs.store(regs, Ordering::Release);
    tr.state.store(STOPPED, Ordering::Release);
    tern_translate::futex::wake(&tr.state, i32::MAX);
    loop {
        let s = tr.state.load(Ordering::Acquire);
        if s == RUNNING {
            break;
        }
        let tracer = tr.tracer.load(Ordering::Acquire);
        if tracer == 0 || has_ended(tracer) {
            tr.tracer.store(0, Ordering::Release);
            tr.state.store(RUNNING, Ordering::Release);
            break;
        }
        tern_translate::futex::wait(&tr.state, s, Some(TRACER_CHECK));
    }
    tr.regs.store(std::ptr::null_mut(), Ordering::Release);
    tr.regs_changed.swap(0, Ordering::AcqRel) != 0
}

/// Stops asked of threads that have not reached their stop yet are
/// pending work for [`crate::deliver::deliver_pending`].
pub(crate) fn requested(t: &ThreadSignals) -> bool {
    t.tracee().state.load(Ordering::Acquire) == REQUESTED
}
