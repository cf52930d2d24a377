//! Delivery of queued signals to the guest, by the CPU loop, before it
//! enters generated code and after every syscall
//! (`kernel/signal.c: get_signal()`, `arch/x86/kernel/signal.c:
//! arch_do_signal_or_restart()`).
//!
//! Order: synchronous signals first, then the lowest number, real-time
//! instances in arrival order (`thread.rs`). A signal the guest blocks by
//! now goes back to the host kernel (which keeps it pending, visible to
//! `sigpending`, `sigtimedwait` and signalfd), a reserved one stays queued on
//! the thread (tern keeps it pending); SIG_IGN discards; a default action of ignore discards,
//! stop stops the process through the host, terminate and core end it by the
//! same signal on the host (`Fatal`, then `die_by_signal`), so the parent's
//! wait status and the core dump are the kernel's own; a handler gets a
//! frame (`frame::deliver`). Every deliverable signal is delivered before
//! the guest runs again (nested frames), and at the end the host mask is the
//! guest's again.

use crate::guest::{GuestSignals, SIG_DFL, SIG_IGN};
use crate::mask::{guest_mask, set_guest_mask, set_guest_mask_deferred, sigbit, SigSet, RESERVED};
use crate::thread::ThreadSignals;
use std::sync::atomic::{AtomicUsize, Ordering};
use tern_translate::cpu::CpuState;

/// A signal whose default action ends the process: the caller ends tern by
/// it (`die_by_signal`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fatal {
    pub sig: i32,
}

/// Called with each signal delivered to a guest handler (`--strace`).
pub type Observer = fn(sig: i32, info: &[u8; 128]);

static OBSERVER: AtomicUsize = AtomicUsize::new(0);

/// Sets the function told about every delivery (`--strace` prints it).
pub fn set_observer(f: Observer) {
    OBSERVER.store(f as usize, Ordering::Release);
}

fn observe(sig: i32, info: &[u8; 128]) {
    let f = OBSERVER.load(Ordering::Acquire);
    if f != 0 {
        // SAFETY: only set_observer stores here, from an `Observer`.
        let f: Observer = unsafe { std::mem::transmute::<usize, Observer>(f) };
        f(sig, info);
    }
}

/// The kernel's default action for `sig` (`include/linux/signal.h`:
/// `sig_kernel_ignore`, `sig_kernel_stop`).
pub(crate) enum Default {
    Ignore,
    Stop,
    Terminate,
}

pub(crate) fn default_action(sig: i32) -> Default {
    match sig {
        libc::SIGCHLD | libc::SIGCONT | libc::SIGURG | libc::SIGWINCH => Default::Ignore,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => Default::Stop,
        _ => Default::Terminate,
    }
}

/// True for the stop signals (`sig_kernel_stop()`): SIGSTOP, SIGTSTP,
/// SIGTTIN and SIGTTOU.
pub fn is_stop(sig: i32) -> bool {
    matches!(default_action(sig), Default::Stop)
}

/// True when something may be waiting for delivery on this thread. Cheap.
pub fn pending(cpu: &CpuState) -> bool {
    cpu.exit_request.load(Ordering::Relaxed) != 0
        || crate::thread::current().is_some_and(|t| t.pending_flag().load(Ordering::Relaxed) != 0)
}

/// Delivers what is queued for the calling guest thread (see the module
/// docs). Records `cpu` as the thread's state for the host handler.
pub fn deliver_pending(sigs: &GuestSignals, cpu: &mut CpuState) -> Option<Fatal> {
    let t = crate::thread::current()?;
    t.set_cpu(cpu);
    if !pending(cpu) && !crate::ptrace_stop::requested(t) && !crate::exit_park::exiting() {
        t.set_restart_by_tern(false);
        return None;
    }
    loop {
        cpu.exit_request.store(0, Ordering::Relaxed);
        t.pending_flag().store(0, Ordering::SeqCst);
        // Another thread is ending the process: this one stops for good.
        crate::exit_park::park_if_exiting(t, Some(cpu));
        // A tracer's stop, asked before the flag was raised.
        crate::ptrace_stop::stop_if_requested(t, cpu);
        let mut saved = t.take_saved_mask();
        while let Some((sig, info)) = t.take(!guest_mask()) {
            let act = sigs.action(sig);
            match act.handler {
                SIG_IGN => continue,
                SIG_DFL => match default_action(sig) {
                    Default::Ignore => continue,
                    Default::Stop => stop(sig),
                    Default::Terminate => return Some(Fatal { sig }),
                },
                _ => {}
            }
            observe(sig, &info);
            // The first frame saves the mask from before a mask-swapping
            // call; its handler runs under the swapped one. A frame that
            // cannot be written forces SIGSEGV there. The host mask is set
            // once, below, for all the frames.
            crate::frame::deliver_deferred(sigs, cpu, sig, &info, saved.take());
        }
        if let Some(m) = saved {
            set_guest_mask_deferred(m);
        }
        requeue_blocked(t);
        // The host gets the guest's mask back (the handler blocked all);
        // what it kept pending may arrive right away and raise the flag.
        set_guest_mask(guest_mask());
        if t.pending_flag().load(Ordering::SeqCst) == 0 {
            t.set_restart_by_tern(false);
            return None;
        }
    }
}

/// Gives back what the guest blocks: to the host kernel, which keeps it
/// pending for this thread, or for a reserved signal to tern's set.
fn requeue_blocked(t: &ThreadSignals) {
    // Reserved ones stay queued here, pending for this thread (the host
    // cannot keep them: it never blocks them); unblocking raises the flag
    // (`pending::deliver_unblocked`).
    let blocked: SigSet = guest_mask() & !RESERVED;
    while let Some((sig, info)) = t.take(blocked) {
        // SAFETY: getpid and gettid have no preconditions.
        let (pid, tid) = unsafe { (libc::getpid(), libc::gettid()) };
        // SAFETY: a thread may queue any siginfo to itself.
        unsafe { libc::syscall(libc::SYS_rt_tgsigqueueinfo, pid, tid, sig, info.as_ptr()) };
    }
}

/// The stop action, carried out by the host kernel (job control, the
/// parent's `WUNTRACED`): raised with the host's default action, which the
/// guest's SIG_DFL already is on the host.
fn stop(sig: i32) {
    let unblock: SigSet = sigbit(sig);
    // SAFETY: unblocking one signal and sending it to this thread.
    unsafe {
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_UNBLOCK, &unblock as *const SigSet, 0usize, 8usize);
        libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), sig);
    }
    crate::mask::forget_host_mask();
}
