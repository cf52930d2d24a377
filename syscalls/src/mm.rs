//! Memory syscalls tern owns: mmap, munmap, mprotect, mremap, brk.
//!
//! Guest and host share the address space. These calls run on the host as
//! asked, after two checks: a guest `MAP_FIXED`, `munmap`, `mprotect` or
//! `mremap` never touches memory tern owns (the guest gets the errno Linux
//! gives for an unavailable range), and any translated code in the range is
//! invalidated. `brk` is emulated on a range after the guest's bss.

use crate::{host_syscall, result, Process, SysResult};
use tern_translate::cpu::CpuState;

const PAGE: u64 = 4096;

fn page_up(x: u64) -> u64 {
    x.wrapping_add(PAGE - 1) & !(PAGE - 1)
}

/// The emulated program break.
#[derive(Debug)]
pub struct Brk {
    pub start: u64,
    pub cur: u64,
    /// End of the pages mapped for the heap so far.
    pub mapped: u64,
}

impl Brk {
    pub fn new(start: u64) -> Brk {
        let start = page_up(start);
        Brk { start, cur: start, mapped: start }
    }
}

/// True if `[addr, addr+len)` overlaps memory tern itself uses (its binary,
/// heap, code cache, stacks). Guest-owned memory is everything else.
fn touches_tern(addr: u64, len: u64) -> bool {
    let end = addr.saturating_add(len);
    crate::proc::tern_ranges().iter().any(|&(s, e)| s < end && addr < e)
}

/// Drops translated code in `[start, start+len)`; the thread's lookup table
/// may point into it, so it is cleared too.
fn invalidate(p: &Process, cpu: &mut CpuState, start: u64, len: u64) {
    if p.jit.invalidate_range(start, start.saturating_add(len)) {
        cpu.flush_ibl();
    }
}

pub fn mmap(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let flags = a[3] as i32;
    if flags & (libc::MAP_FIXED | libc::MAP_FIXED_NOREPLACE) != 0 {
        if touches_tern(a[0], page_up(a[1])) {
            return Err(if flags & libc::MAP_FIXED_NOREPLACE != 0 { libc::EEXIST } else { libc::ENOMEM });
        }
        invalidate(p, cpu, a[0], a[1]);
    }
    let addr = result(host_syscall(libc::SYS_mmap as u64, a))?;
    p.jit.note_map(addr, addr + page_up(a[1]), a[2] as i32);
    Ok(addr)
}

/// Checks a range the guest wants to unmap or reprotect: page aligned
/// (EINVAL otherwise, as Linux says) and clear of tern's own memory (`busy`
/// otherwise); then drops any translated code in it. Returns the page range.
fn claim_range(p: &Process, cpu: &mut CpuState, start: u64, len: u64, busy: i32) -> Result<(u64, u64), i32> {
    if !start.is_multiple_of(PAGE) {
        return Err(libc::EINVAL);
    }
    let end = start.saturating_add(page_up(len));
    if touches_tern(start, end - start) {
        return Err(busy);
    }
    invalidate(p, cpu, start, len);
    Ok((start, end))
}

pub fn munmap(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let (start, end) = claim_range(p, cpu, a[0], a[1], libc::EINVAL)?;
    let r = result(host_syscall(libc::SYS_munmap as u64, a))?;
    p.jit.note_unmap(start, end);
    Ok(r)
}

pub fn mprotect(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let (start, end) = claim_range(p, cpu, a[0], a[1], libc::ENOMEM)?;
    let r = result(host_syscall(libc::SYS_mprotect as u64, a))?;
    p.jit.note_protect(start, end, a[2] as i32);
    Ok(r)
}

pub fn mremap(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if touches_tern(a[0], page_up(a[1])) {
        return Err(libc::EFAULT);
    }
    if a[3] as i32 & libc::MREMAP_FIXED != 0 && touches_tern(a[4], page_up(a[2])) {
        return Err(libc::EINVAL);
    }
    invalidate(p, cpu, a[0], a[1]);
    let prot = p.jit.prot_at(a[0]).unwrap_or(libc::PROT_READ | libc::PROT_WRITE);
    let new = result(host_syscall(libc::SYS_mremap as u64, a))?;
    // MREMAP_DONTUNMAP leaves the old range mapped (empty).
    if new != a[0] && a[3] as i32 & libc::MREMAP_DONTUNMAP == 0 {
        p.jit.note_unmap(a[0], a[0].saturating_add(page_up(a[1])));
    }
    p.jit.note_map(new, new + page_up(a[2]), prot);
    Ok(new)
}

/// `brk`: Linux returns the new break on success and the old one on failure.
pub fn brk(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let mut b = p.brk.lock().unwrap_or_else(|e| e.into_inner());
    let want = a[0];
    if want < b.start {
        return Ok(b.cur);
    }
    let need = page_up(want);
    if need > b.mapped {
        let len = need - b.mapped;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE;
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let r = host_syscall(libc::SYS_mmap as u64, [b.mapped, len, prot as u64, flags as u64, u64::MAX, 0]);
        if r as u64 != b.mapped {
            if r >= 0 {
                host_syscall(libc::SYS_munmap as u64, [r as u64, len, 0, 0, 0, 0]);
            }
            return Ok(b.cur);
        }
        p.jit.note_map(b.mapped, need, prot);
        b.mapped = need;
    } else if need < b.mapped {
        invalidate(p, cpu, need, b.mapped - need);
        p.jit.note_unmap(need, b.mapped);
        host_syscall(libc::SYS_munmap as u64, [need, b.mapped - need, 0, 0, 0, 0]);
        b.mapped = need;
    }
    b.cur = want;
    Ok(want)
}
