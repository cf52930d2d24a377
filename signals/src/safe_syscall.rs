//! Host syscalls made for the guest, with the race against signals closed
//! (`translate/docs/` has no note on this yet: see ARCHITECTURE.md
//! "Signals").
//!
//! A guest thread blocked in a host call must see a signal at once. The
//! host mask equals the guest's during the call, so the host kernel
//! interrupts the call itself and runs tern's handler; the handler only
//! queues the signal and raises the thread's `signal_pending` flag. What
//! remains is the window between the CPU loop's last look at that flag and
//! the `syscall` instruction: a signal landing there would otherwise wait
//! until the call ends on its own. `tern_safe_syscall` checks the flag as
//! its last instruction before `syscall`; the handler rewinds a pc inside
//! (check, end of `syscall`) to the check, so the call returns
//! [`RESTART`] without entering the kernel. The kernel, restarting an
//! interrupted call (`SA_RESTART`, mirrored from the guest onto the host
//! handler), puts the pc back on the `syscall` instruction, inside the
//! window, so the same rewind turns the restart into [`RESTART`], and the
//! CPU loop delivers the signal and then restarts the guest's own call. A
//! call the kernel ended with EINTR has its pc after the window and returns
//! EINTR as natively. (qemu's `safe_syscall` has this shape; this is not
//! its code.)

use crate::resume::Resume;
use crate::thread::Intr;
use std::sync::atomic::{AtomicU32, Ordering};

/// What an interrupted call returns when it must be restarted after the
/// signal is delivered: the kernel's internal ERESTARTSYS, never seen by
/// user space natively.
pub const RESTART: i64 = -512;

std::arch::global_asm!(
    ".globl tern_safe_syscall",
    ".type tern_safe_syscall,@function",
    // (flag, nr, a0, a1, a2, a3, a4, a5): rdi, rsi, rdx, rcx, r8, r9, stack.
    "tern_safe_syscall:",
    "push rbx",
    "mov rbx, rdi",
    "mov rax, rsi",
    "mov rdi, rdx",
    "mov rsi, rcx",
    "mov rdx, r8",
    "mov r10, r9",
    "mov r8, [rsp + 16]",
    "mov r9, [rsp + 24]",
    ".globl tern_safe_syscall_start",
    "tern_safe_syscall_start:",
    "cmp dword ptr [rbx], 0",
    "jne 2f",
    "syscall",
    ".globl tern_safe_syscall_end",
    "tern_safe_syscall_end:",
    "pop rbx",
    "ret",
    "2:",
    "mov rax, {restart}",
    "pop rbx",
    "ret",
    restart = const RESTART,
);

extern "C" {
    fn tern_safe_syscall(
        flag: *const AtomicU32,
        nr: u64,
        a0: u64,
        a1: u64,
        a2: u64,
        a3: u64,
        a4: u64,
        a5: u64,
    ) -> i64;
    fn tern_safe_syscall_start();
    fn tern_safe_syscall_end();
}

/// If `pc` is inside the window (after the check, up to and including the
/// `syscall` instruction), the pc to resume at instead: the check.
pub(crate) fn rewind(pc: u64) -> Option<u64> {
    let start = tern_safe_syscall_start as *const () as u64;
    let end = tern_safe_syscall_end as *const () as u64;
    (start < pc && pc < end).then_some(start)
}

/// True if `pc` is right after the `syscall` instruction: where a call
/// the kernel ended (with EINTR, for a signal) resumes.
pub(crate) fn at_end(pc: u64) -> bool {
    pc == tern_safe_syscall_end as *const () as u64
}

static NO_THREAD: AtomicU32 = AtomicU32::new(0);

/// Runs host syscall `nr` for the guest. Returns the raw result (a negative
/// errno on failure) or [`RESTART`] when a signal for the thread arrived
/// before the call entered the kernel or the kernel chose to restart it.
/// A call ended by tern's own signal with nothing for the guest is resumed
/// (`resume.rs`); see [`call_unless`].
pub fn call(nr: u64, a: [u64; 6]) -> i64 {
    call_unless(nr, a, &|| false)
}

/// [`call`], except that a call ended by tern's own signal is not resumed
/// when `stop` says so (`rt_sigtimedwait`: a reserved signal it waits for
/// arrived, which tern keeps pending itself).
///
/// tern's host handler for its reserved signals has SA_RESTART, so what
/// the host kernel did with the call is what it does for a handler with
/// SA_RESTART; the guest's own disposition decides here what the guest
/// sees (`arch/x86/kernel/signal.c: handle_signal()`,
/// `arch_do_signal_or_restart()`):
/// - rewound (ERESTARTSYS): [`RESTART`]; the first guest handler's frame
///   turns it into EINTR if that handler lacks SA_RESTART (`frame.rs`);
/// - ended with EINTR and a guest signal to deliver now: EINTR, as for
///   any handler;
/// - ended with EINTR and nothing for the guest (a kick, a reserved signal
///   the guest blocks or ignores): natively nothing interrupted the call,
///   so it is made again with the time it had left (after a ptrace stop,
///   if a tracer asked for one: `ptrace_stop::stop_in_call`);
/// - a signal for the guest between two makings of such a call: natively
///   it interrupted the call in progress, so EINTR (those calls are the
///   ones a handler always ends so).
pub fn call_unless(nr: u64, mut a: [u64; 6], stop: &dyn Fn() -> bool) -> i64 {
    let Some(t) = crate::thread::current() else {
        // SAFETY: as below; no thread state, no flag to check.
        return unsafe { tern_safe_syscall(&NO_THREAD, nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    };
    // The deadline of a relative timeout, from the guest's arguments as
    // the call is first made.
    let mut resume = Resume::new(nr, &a);
    // True once the call is made again: natively it is still in progress.
    let mut resumed = false;
    loop {
        t.take_intr();
        t.in_syscall_flag().store(1, Ordering::Relaxed);
        // SAFETY: guest and host share the address space and ABI; the
        // routine preserves every callee-saved register and reads the
        // flag, which lives for the process.
        let r = unsafe { tern_safe_syscall(t.pending_flag(), nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
        t.in_syscall_flag().store(0, Ordering::Relaxed);
        let how = t.take_intr();
        if r == RESTART && resumed {
            // A signal between two makings of a call that natively never
            // stopped (a tracer's stop may last long): it interrupted the
            // call, which is of a kind a handler ends with EINTR (only
            // those are made again).
            if t.deliverable() {
                t.raise();
                return -i64::from(libc::EINTR);
            }
            t.lower_undelivered();
            crate::exit_park::park_if_exiting(t, t.cpu());
            crate::ptrace_stop::stop_in_call(t);
            resume.rearm(&mut a);
            continue;
        }
        if r == RESTART {
            t.set_restart_by_tern(how == Intr::Rewound);
            return r;
        }
        if r != -i64::from(libc::EINTR) || how != Intr::Eintr || stop() || t.deliverable() {
            return r;
        }
        if t.pending_flag().load(Ordering::Acquire) != 0 {
            t.lower_undelivered();
            if t.deliverable() {
                t.raise();
                return r;
            }
        }
        // The kick may have been a tracer's, or the process's end: stop
        // before going on.
        crate::exit_park::park_if_exiting(t, t.cpu());
        crate::ptrace_stop::stop_in_call(t);
        resume.rearm(&mut a);
        resumed = true;
    }
}
