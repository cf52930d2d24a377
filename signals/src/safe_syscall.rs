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

use std::sync::atomic::AtomicU32;

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

static NO_THREAD: AtomicU32 = AtomicU32::new(0);

/// Runs host syscall `nr` for the guest. Returns the raw result (a negative
/// errno on failure) or [`RESTART`] when a signal for the thread arrived
/// before the call entered the kernel or the kernel chose to restart it.
pub fn call(nr: u64, a: [u64; 6]) -> i64 {
    let t = crate::thread::current();
    let flag = t.map_or(&NO_THREAD, |t| t.pending_flag());
    if let Some(t) = t {
        t.in_syscall_flag().store(1, std::sync::atomic::Ordering::Relaxed);
    }
    // SAFETY: guest and host share the address space and ABI; the routine
    // preserves every callee-saved register and reads `flag`, which lives
    // for the process.
    let r = unsafe { tern_safe_syscall(flag, nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if let Some(t) = t {
        t.in_syscall_flag().store(0, std::sync::atomic::Ordering::Relaxed);
    }
    r
}
