//! File-descriptor calls that could touch tern's own descriptors.
//!
//! tern keeps one descriptor for itself: the log (a duplicate of its stderr,
//! or `--log-file`), at a high number. The guest must not be able to close or
//! replace it, and must not see it: `close` of it fails with EBADF as for any
//! descriptor that is not open, `close_range` skips it, and `dup2`/`dup3`
//! onto it first move the log elsewhere.

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

pub fn close(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if is_log(a[0]) {
        return Err(libc::EBADF);
    }
    result(host_syscall(libc::SYS_close as u64, a))
}

pub fn close_range(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let l = LOG_FD.load(Ordering::Relaxed);
    let (first, last) = (a[0], a[1]);
    if l < 0 || (l as u64) < first || (l as u64) > last || first > last {
        return result(host_syscall(libc::SYS_close_range as u64, a));
    }
    let l = l as u64;
    if l > first {
        result(host_syscall(libc::SYS_close_range as u64, [first, l - 1, a[2], 0, 0, 0]))?;
    }
    if l < last {
        result(host_syscall(libc::SYS_close_range as u64, [l + 1, last, a[2], 0, 0, 0]))?;
    }
    Ok(0)
}

/// Moves the log away from `fd` if the guest is about to reuse that number.
fn vacate(fd: u64) {
    if is_log(fd) {
        if let Ok(n) = private_dup(fd as i32) {
            LOG_FD.store(n, Ordering::Relaxed);
        }
    }
}

pub fn dup2(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    vacate(a[1]);
    result(host_syscall(libc::SYS_dup2 as u64, a))
}

pub fn dup3(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    vacate(a[1]);
    result(host_syscall(libc::SYS_dup3 as u64, a))
}
