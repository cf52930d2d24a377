//! Per-guest-thread signal state hooks (minimal version; the asynchronous
//! signals work owns the full one: pending queues, `in_syscall` flags, the
//! registry by tid).
//!
//! [`on_thread_start`] is called first thing on every new guest thread
//! (after `FaultContext::init_thread`), [`on_thread_exit`] when a guest
//! thread ends, before its `clear_child_tid` is cleared.

/// A new guest thread starts with its creator's blocked mask (`kernel/fork.c:
/// copy_process()` copies `blocked`), nothing pending, and no sigaltstack
/// (the guest's sigaltstack is thread-local in `tern-syscalls`, so a new
/// thread starts with it disabled).
pub fn on_thread_start(inherited_mask: u64) {
    crate::mask::set_guest_mask(inherited_mask);
}

/// The thread is ending: blocks every host signal on it, so that the host
/// kernel routes process-directed signals to the threads still running.
pub fn on_thread_exit() {
    let all: u64 = !0;
    // SAFETY: blocks signals on the calling thread; the set is a valid
    // 8-byte sigset the kernel only reads.
    unsafe {
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &all as *const u64, 0usize, 8usize);
    }
}
