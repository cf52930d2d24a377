//! File-descriptor calls that could touch tern's own descriptors.
//!
//! tern keeps descriptors for itself at high numbers: the log (a duplicate
//! of its stderr, or `--log-file`) and, in a vfork child that is a fork,
//! its socket to the waiting parent (`vfork_copy.rs`). The guest must not
//! be able to close or replace them, and must not see them: `close` of one
//! fails with EBADF as for any descriptor that is not open, `close_range`
//! skips them, and `dup2`/`dup3` onto one first move it elsewhere.

use crate::{host_syscall, result, Process, SysResult};
use std::sync::atomic::{AtomicI32, Ordering};
use tern_translate::cpu::CpuState;

/// tern's log descriptor, or -1.
pub static LOG_FD: AtomicI32 = AtomicI32::new(-1);

pub use tern_translate::hostmem::{private_dup, private_file, TERN_FD_BASE};

/// Whether `fd` is tern's log descriptor.
pub fn is_log(fd: u64) -> bool {
    let l = LOG_FD.load(Ordering::Relaxed);
    l >= 0 && fd == l as u64
}

/// Whether `fd` is one of tern's own descriptors (the log, a vfork
/// child's socket).
pub fn is_tern(fd: u64) -> bool {
    is_log(fd) || crate::vfork_copy::is_socket(fd)
}

pub fn close(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if is_tern(a[0]) {
        return Err(libc::EBADF);
    }
    result(host_syscall(libc::SYS_close as u64, a))
}

pub fn close_range(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let (first, last) = (a[0], a[1]);
    let mut own: Vec<u64> = [LOG_FD.load(Ordering::Relaxed), crate::vfork_copy::socket()]
        .into_iter()
        .filter_map(|fd| u64::try_from(fd).ok())
        .filter(|fd| (first..=last).contains(fd))
        .collect();
    if own.is_empty() {
        return result(host_syscall(libc::SYS_close_range as u64, a));
    }
    own.sort_unstable();
    // The ranges between tern's descriptors, each closed on its own.
    let mut from = first;
    for fd in own {
        if fd > from {
            result(host_syscall(libc::SYS_close_range as u64, [from, fd - 1, a[2], 0, 0, 0]))?;
        }
        from = fd + 1;
    }
    if from <= last {
        result(host_syscall(libc::SYS_close_range as u64, [from, last, a[2], 0, 0, 0]))?;
    }
    Ok(0)
}

/// Moves tern's descriptor away from `fd` if the guest is about to reuse
/// that number.
fn vacate(fd: u64) {
    if is_log(fd) {
        if let Ok(n) = private_dup(fd as i32) {
            LOG_FD.store(n, Ordering::Relaxed);
        }
    }
    crate::vfork_copy::vacate(fd);
}

pub fn dup2(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    vacate(a[1]);
    result(host_syscall(libc::SYS_dup2 as u64, a))
}

pub fn dup3(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    vacate(a[1]);
    result(host_syscall(libc::SYS_dup3 as u64, a))
}
