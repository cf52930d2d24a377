//! Signal syscalls tern owns: `rt_sigaction` (the guest's dispositions) and
//! `sigaltstack` (the host's alternate stack belongs to tern).

use crate::{Process, SysResult};
use std::cell::Cell;
use tern_signals::SigAction;
use tern_translate::cpu::CpuState;
use tern_translate::guestmem::{read_guest, write_guest};

fn read_action(addr: u64) -> Option<SigAction> {
    let mut b = [0u8; 32];
    if read_guest(addr, &mut b) != 32 {
        return None;
    }
    let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
    Some(SigAction { handler: w(0), flags: w(1), restorer: w(2), mask: w(3) })
}

fn write_action(addr: u64, a: &SigAction) -> bool {
    let mut b = [0u8; 32];
    for (i, w) in [a.handler, a.flags, a.restorer, a.mask].iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    write_guest(addr, &b)
}

/// `kernel/signal.c: do_sigaction()` bookkeeping.
pub fn rt_sigaction(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if a[3] != 8 {
        return Err(libc::EINVAL);
    }
    let new = if a[1] != 0 { Some(read_action(a[1]).ok_or(libc::EFAULT)?) } else { None };
    let old = p.signals.set_action(a[0] as i32, new)?;
    if a[2] != 0 && !write_action(a[2], &old) {
        return Err(libc::EFAULT);
    }
    Ok(0)
}

thread_local! {
    /// The guest thread's sigaltstack (ss_sp, ss_flags, ss_size).
    static ALT: Cell<(u64, i32, u64)> = const { Cell::new((0, libc::SS_DISABLE, 0)) };
}

/// `kernel/signal.c: do_sigaltstack()`, kept for the guest only.
pub fn sigaltstack(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let old = ALT.with(|c| c.get());
    if a[0] != 0 {
        let mut b = [0u8; 24];
        if read_guest(a[0], &mut b) != 24 {
            return Err(libc::EFAULT);
        }
        let sp = u64::from_le_bytes(b[0..8].try_into().unwrap());
        let flags = i32::from_le_bytes(b[8..12].try_into().unwrap());
        let size = u64::from_le_bytes(b[16..24].try_into().unwrap());
        if flags & !(libc::SS_DISABLE | (1 << 31)) != 0 {
            return Err(libc::EINVAL);
        }
        if flags & libc::SS_DISABLE == 0 && size < 2048 {
            return Err(libc::ENOMEM);
        }
        ALT.with(|c| {
            c.set(if flags & libc::SS_DISABLE != 0 { (0, libc::SS_DISABLE, 0) } else { (sp, flags, size) })
        });
    }
    if a[1] != 0 {
        let mut b = [0u8; 24];
        b[0..8].copy_from_slice(&old.0.to_le_bytes());
        b[8..12].copy_from_slice(&old.1.to_le_bytes());
        b[16..24].copy_from_slice(&old.2.to_le_bytes());
        if !write_guest(a[1], &b) {
            return Err(libc::EFAULT);
        }
    }
    Ok(0)
}
