//! The host handler for asynchronous guest signals, and how a thread is
//! sent back to the CPU loop when a signal is queued for it.
//!
//! A guest disposition that is a handler installs [`handler`] on the host
//! for that signal (`guest.rs`), with the guest's SA_RESTART, SA_NOCLDSTOP
//! and SA_NOCLDWAIT (so the host kernel decides restart vs EINTR, stop
//! notifications and zombie reaping exactly as for the guest) and a host
//! `sa_mask` of every non-reserved signal. SIG_DFL and SIG_IGN stay on the
//! host, where the kernel carries them out itself (a signal the guest
//! ignores interrupts nothing). The handler runs on the thread's alternate
//! stack, allocates nothing and takes no lock: it queues the siginfo on the
//! thread (`thread.rs`) and calls [`interrupt`].

use crate::mask::{host_set, SigSet};
use crate::thread::ThreadSignals;
use std::sync::atomic::Ordering;
use tern_translate::cpu::DESC_SIGNAL;

/// The guest's `sa_flags` the host handler gets.
pub(crate) const MIRRORED_FLAGS: u64 = (libc::SA_RESTART | libc::SA_NOCLDSTOP | libc::SA_NOCLDWAIT) as u64;

/// Installs [`handler`] for guest signal `sig` with the guest's `flags`
/// (only SA_RESTART, SA_NOCLDSTOP and SA_NOCLDWAIT reach the host).
pub(crate) fn install(sig: i32, guest_flags: u64) {
    let flags = (libc::SA_SIGINFO | libc::SA_ONSTACK) as u64 | (guest_flags & MIRRORED_FLAGS);
    host_sigaction(sig, handler as *const () as u64, flags, host_set(!0));
}

std::arch::global_asm!(
    ".globl tern_host_restorer",
    "tern_host_restorer:",
    "mov eax, {nr}",
    "syscall",
    nr = const libc::SYS_rt_sigreturn,
);

extern "C" {
    fn tern_host_restorer();
}

/// `SA_RESTORER` (x86-64 `asm/signal.h`; not in the libc crate).
const SA_RESTORER: u64 = 0x0400_0000;

/// The host's `rt_sigaction`, raw: the C library's wrapper refuses the
/// signals it reserves for itself (32, 33), which are the guest's here.
/// `handler` is SIG_DFL, SIG_IGN or a function.
pub(crate) fn host_sigaction(sig: i32, handler: u64, flags: u64, mask: SigSet) {
    let act: [u64; 4] = [handler, flags | SA_RESTORER, tern_host_restorer as *const () as u64, mask];
    // SAFETY: a kernel_sigaction laid out as the x86-64 kernel reads it,
    // with a restorer that makes rt_sigreturn.
    unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, act.as_ptr(), 0usize, 8usize) };
}

fn errno_loc() -> *mut i32 {
    // SAFETY: __errno_location has no preconditions.
    unsafe { libc::__errno_location() }
}

extern "C" fn handler(sig: i32, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    crate::fault::clear_alignment_check();
    // SAFETY: errno is thread-local; saved and restored around the handler.
    let saved_errno = unsafe { *errno_loc() };
    // SAFETY: the kernel passes valid siginfo and ucontext pointers to an
    // SA_SIGINFO handler.
    let (info, uc) = unsafe { (&*info, &mut *uctx.cast::<libc::ucontext_t>()) };
    match crate::thread::current() {
        Some(t) => {
            if t.queue(sig, &crate::siginfo::bytes(info)) {
                interrupt(t, uc, sig);
            }
        }
        None => {
            // Not a guest thread (tern's own helpers): hand it back to the
            // process, which routes it to a guest thread that does not block
            // it; this thread blocks everything from now on (and during this
            // handler, through sa_mask).
            block_on_return(uc, host_set(!0));
            crate::mask::forget_host_mask();
            // SAFETY: a process may queue any siginfo to itself.
            unsafe { libc::syscall(libc::SYS_rt_sigqueueinfo, libc::getpid(), sig, info as *const _) };
        }
    }
    // SAFETY: as above.
    unsafe { *errno_loc() = saved_errno };
}

/// Makes the interrupted context block `set` (its non-reserved signals)
/// too once the handler returns: never less than it blocked (a handler
/// interrupted in tern's own handler, or in a call with a temporary mask,
/// keeps that). Returns the mask it will have.
fn block_on_return(uc: &mut libc::ucontext_t, set: SigSet) -> SigSet {
    // SAFETY: the first 8 bytes of the host sigset_t are the kernel's mask.
    let m = unsafe { &mut *(&mut uc.uc_sigmask as *mut libc::sigset_t).cast::<SigSet>() };
    *m |= host_set(set);
    *m
}

/// Something (`sig`, 0 for a kick) was queued for thread `t`, which this
/// handler interrupted (context `uc`): raise its flags, block on it the
/// mask its guest handler will run under (the guest's, the action's
/// `sa_mask` and `sig`, from `guest::delivery_mask_hint`) until the CPU
/// loop has delivered, which then usually needs no host call to set it
/// (`deliver.rs`, `mask::set_host_mask`). Meanwhile the host keeps `sig`
/// and what the guest blocks pending; one further signal may still be
/// queued here (delivered in the same pass, nested, as the kernel would),
/// after which every host signal is blocked until delivery and the host
/// keeps them or routes them to other threads. Then get the thread back
/// to the CPU loop soon:
/// - in the `safe_syscall` window (before or restarting the `syscall`
///   instruction): rewound to the check, so the call returns RESTART;
/// - in the `tern_enter` trampoline: resumed at `tern_resume_host` with
///   DESC_SIGNAL (the `CpuState` still holds the guest state);
/// - in the trace routine's reload window: resumed at its `to_loop`
///   (the `CpuState` holds the guest state; `baseline::trace_glue`);
/// - in a generated block: the guest state at the pc-map boundary, as for
///   a fault, and DESC_SIGNAL;
/// - in tern's own code (CPU loop, syscall handlers, runtime routines):
///   nothing more; the flag is checked before generated code is entered
///   again and before any host call for the guest.
pub(crate) fn interrupt(t: &ThreadSignals, uc: &mut libc::ucontext_t, sig: i32) {
    t.raise();
    // Alone in the queue: the guest handler's mask. Otherwise (a second
    // signal before the delivery) everything, so that the queue never
    // holds more than two host signals (`thread::SLOTS`).
    let only = if (1..=64).contains(&sig) { crate::mask::sigbit(sig) } else { 0 };
    let set = if t.queued() & !only == 0 {
        crate::mask::guest_mask() | only | crate::guest::delivery_mask_hint(sig)
    } else {
        !0
    };
    let on_return = block_on_return(uc, set);
    crate::mask::host_mask_on_return(on_return);
    let gregs = &mut uc.uc_mcontext.gregs;
    let pc = gregs[libc::REG_RIP as usize] as u64;
    if let Some(to) = crate::safe_syscall::rewind(pc) {
        gregs[libc::REG_RIP as usize] = to as i64;
    } else if let Some(to_loop) = crate::fault::in_trace_window(pc) {
        // Reloading the guest registers after a trace: the CpuState still
        // holds the whole state.
        gregs[libc::REG_RIP as usize] = to_loop as i64;
    } else if tern_translate::entry::in_enter_window(pc) {
        if let Some(cpu) = t.cpu() {
            // SAFETY: exit_desc is plain data of this thread's CpuState, which
            // the interrupted trampoline does not write in this window.
            unsafe { std::ptr::addr_of!(cpu.exit_desc).cast_mut().write_volatile(DESC_SIGNAL) };
            gregs[libc::REG_RIP as usize] = tern_translate::entry::resume_host_addr() as i64;
        }
    } else {
        let _ = crate::fault::leave_block(gregs, DESC_SIGNAL);
    }
    // Publish the flags before the thread resumes.
    std::sync::atomic::fence(Ordering::SeqCst);
}
