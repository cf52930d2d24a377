//! Syscall User Dispatch for the guest (`prctl(PR_SET_SYSCALL_USER_DISPATCH)`,
//! Linux 5.11; Wine runs Windows programs' system calls through it): a
//! thread names a region of code whose calls run as usual and, optionally,
//! a selector byte; a call from outside the region while the byte says
//! BLOCK (or always, without a byte) is not made, and SIGSYS is forced on
//! the thread with `si_code` `SYS_USER_DISPATCH`, rax still the call's
//! number, so that a handler can emulate it.
//!
//! The host kernel's dispatch cannot be used: it would trap tern's own
//! calls, made from tern's code, outside any region the guest names. So
//! tern keeps each thread's configuration and checks it on every guest
//! call before anything else, seccomp included, as
//! `kernel/entry/syscall_user_dispatch.c` does: the address after the
//! `syscall` instruction inside `[offset, offset + len)` (wrapping: the
//! inclusive mode's inverted range) lets the call through; a selector
//! that cannot be read kills the process with SIGSEGV, a value other than
//! ALLOW and BLOCK with SIGSYS. The configuration is the thread's own: a
//! new thread and a forked child start without one (`dup_task_struct()`
//! clears it), and exec clears it. It lives in a thread-local cell tagged
//! with the thread's id, since a child of a real vfork (or of a CLONE_VM
//! clone) runs on its parent's thread-local storage: there the tag does
//! not match, and the vfork parent takes its own back when it resumes
//! ([`snapshot`], [`restore`]). Without one the check is a thread-local
//! read.

use crate::{Flow, Process, SysResult};
use std::cell::Cell;
use tern_translate::cpu::{CpuState, R11, RCX};

const PR_SYS_DISPATCH_OFF: u64 = 0;
/// Also `PR_SYS_DISPATCH_ON`: calls outside the region are dispatched.
const PR_SYS_DISPATCH_EXCLUSIVE_ON: u64 = 1;
/// Calls inside the region are dispatched (Linux 6.16).
const PR_SYS_DISPATCH_INCLUSIVE_ON: u64 = 2;
const FILTER_ALLOW: u8 = 0;
const FILTER_BLOCK: u8 = 1;
/// `si_code` of a dispatch SIGSYS.
const SYS_USER_DISPATCH: i32 = 2;

/// A thread's configuration, as the kernel keeps it (`struct
/// syscall_user_dispatch`): the inclusive mode already inverted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    selector: u64,
    offset: u64,
    len: u64,
}

impl Config {
    /// True if a call whose `syscall` ends at `ip` (the kernel's
    /// `regs->ip`) runs whatever the selector says: inside the region, or
    /// outside it in the inclusive mode (wrapping subtraction).
    fn lets_through(&self, ip: u64) -> bool {
        ip.wrapping_sub(self.offset) < self.len
    }
}

thread_local! {
    /// The configuration and the id of the thread that set it.
    static CONFIG: Cell<Option<(i32, Config)>> = const { Cell::new(None) };
}

/// The calling thread's configuration (the thread's id asked only where
/// the cell holds one).
fn current() -> Option<Config> {
    let (tid, c) = CONFIG.get()?;
    (tid == tern_signals::thread::gettid()).then_some(c)
}

/// Sets the calling thread's configuration (`None`: off, as at exec).
pub fn adopt(config: Option<Config>) {
    CONFIG.set(config.map(|c| (tern_signals::thread::gettid(), c)));
}

/// The thread-local cell as it is, for a vfork parent to put back.
pub fn snapshot() -> Option<(i32, Config)> {
    CONFIG.get()
}

/// Puts back what [`snapshot`] took (the child of a vfork, on the same
/// thread-local storage, may have set its own).
pub fn restore(saved: Option<(i32, Config)>) {
    CONFIG.set(saved);
}

/// `prctl(PR_SET_SYSCALL_USER_DISPATCH, mode, offset, len, selector)`
/// (`task_set_syscall_user_dispatch()`).
pub fn prctl_set(mode: u64, offset: u64, len: u64, selector: u64) -> SysResult {
    let (offset, len) = match mode {
        PR_SYS_DISPATCH_OFF if offset != 0 || len != 0 || selector != 0 => return Err(libc::EINVAL),
        PR_SYS_DISPATCH_OFF => {
            adopt(None);
            return Ok(0);
        }
        PR_SYS_DISPATCH_EXCLUSIVE_ON
            if offset != 0 && offset.checked_add(len).is_none_or(|end| end <= offset) =>
        {
            return Err(libc::EINVAL)
        }
        PR_SYS_DISPATCH_EXCLUSIVE_ON => (offset, len),
        PR_SYS_DISPATCH_INCLUSIVE_ON
            if len == 0 || offset.checked_add(len).is_none_or(|end| end <= offset) =>
        {
            return Err(libc::EINVAL)
        }
        // The range inverted: the check's wrapping subtraction then lets
        // everything outside it through.
        PR_SYS_DISPATCH_INCLUSIVE_ON => (offset + len, len.wrapping_neg()),
        _ => return Err(libc::EINVAL),
    };
    // What the host kernel offers (a kernel before the mode, or with
    // `kernel.syscall_user_dispatch` off, refuses it as natively).
    host_offers(mode)?;
    // `access_ok()`: a selector in user space (tern's own memory is
    // refused with the guest's other pointers when it is read).
    if selector != 0 && selector >= tern_translate::guestmem::TASK_SIZE {
        return Err(libc::EFAULT);
    }
    adopt(Some(Config { selector, offset, len }));
    Ok(0)
}

/// Ok if the host kernel arms `mode`, else its errno: asked once per mode,
/// by arming it on the calling thread for a region that lets every call
/// of tern's through (all of memory; for the inclusive mode the one byte
/// at address 1) and disarming it at once.
fn host_offers(mode: u64) -> Result<(), i32> {
    use std::sync::OnceLock;
    static ANSWERS: [OnceLock<Result<(), i32>>; 2] = [OnceLock::new(), OnceLock::new()];
    let (slot, offset, len) = match mode {
        PR_SYS_DISPATCH_EXCLUSIVE_ON => (0, 0, u64::MAX),
        _ => (1, 1, 1),
    };
    *ANSWERS[slot].get_or_init(|| {
        let set = crate::ctl::PR_SET_SYSCALL_USER_DISPATCH;
        let r = crate::result(crate::host_syscall(libc::SYS_prctl as u64, [set, mode, offset, len, 0, 0]));
        if r.is_ok() {
            let _ = crate::host_syscall(libc::SYS_prctl as u64, [set, PR_SYS_DISPATCH_OFF, 0, 0, 0, 0]);
        }
        r.map(|_| ())
    })
}

/// Runs the calling thread's dispatch check on call `nr` (before seccomp,
/// as the kernel does): `None` lets the call through, else the call is not
/// made and the flow is the signal's.
pub fn check(p: &Process, cpu: &mut CpuState, nr: u64) -> Option<Flow> {
    let c = current()?;
    if c.lets_through(cpu.rip) {
        return None;
    }
    if c.selector != 0 {
        let mut state = [0u8];
        let tern = crate::guard::overlaps(&crate::guard::tern_memory(), c.selector, 1);
        if tern || tern_translate::guestmem::read_guest(c.selector, &mut state) != 1 {
            return Some(crate::seccomp::kill(p, libc::SIGSEGV, false));
        }
        match state[0] {
            FILTER_ALLOW => return None,
            FILTER_BLOCK => {}
            _ => return Some(crate::seccomp::kill(p, libc::SIGSYS, false)),
        }
    }
    // `syscall_rollback()`: rax keeps the number; rcx and r11 as the
    // `syscall` instruction left them.
    cpu.regs[RCX] = cpu.rip;
    cpu.regs[R11] = cpu.guest_rflags();
    let info = crate::seccomp::sigsys_info(SYS_USER_DISPATCH, cpu.rip, nr, 0);
    tern_signals::frame::force_signal(&p.signals, cpu, libc::SIGSYS, &info);
    Some(Flow::Sigreturn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_as_the_kernel_checks_them() {
        assert_eq!(prctl_set(PR_SYS_DISPATCH_OFF, 1, 0, 0), Err(libc::EINVAL));
        assert_eq!(prctl_set(3, 0, 0, 0), Err(libc::EINVAL));
        assert_eq!(prctl_set(PR_SYS_DISPATCH_EXCLUSIVE_ON, u64::MAX, 2, 0), Err(libc::EINVAL));
        assert_eq!(prctl_set(PR_SYS_DISPATCH_INCLUSIVE_ON, 0x1000, 0, 0), Err(libc::EINVAL));
        assert_eq!(current(), None);
        assert_eq!(prctl_set(PR_SYS_DISPATCH_EXCLUSIVE_ON, 0, 0, 0), Ok(0));
        assert_eq!(current(), Some(Config { selector: 0, offset: 0, len: 0 }));
        // Inclusive: inside [0x1000, 0x1100) dispatched, elsewhere through.
        assert_eq!(prctl_set(PR_SYS_DISPATCH_INCLUSIVE_ON, 0x1000, 0x100, 0), Ok(0));
        let c = current().expect("set");
        assert!(c.lets_through(0xfff) && c.lets_through(0x1100));
        assert!(!c.lets_through(0x1000) && !c.lets_through(0x10ff));
        assert_eq!(prctl_set(PR_SYS_DISPATCH_OFF, 0, 0, 0), Ok(0));
        assert_eq!(current(), None);
    }
}
