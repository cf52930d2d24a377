//! Linux AIO (`io_setup`, `io_submit`, `io_getevents`...), passed to the
//! host kernel with what tern must see of it.
//!
//! Guest and host share one address space, so the kernel reads and writes
//! the guest's buffers itself, as natively. What tern adds:
//! - the completion ring the kernel maps at `io_setup` (the context id is
//!   its address; libaio reads it from user space) enters tern's map of
//!   guest memory, and leaves it at `io_destroy`;
//! - before `io_submit`, each control block is checked as the matching
//!   `pread`/`pwrite` would be (`guard::check_buffer`): a buffer in tern's
//!   memory is EFAULT, translated code in a buffer the kernel will fill is
//!   dropped first (its page write-protection would make the kernel's
//!   write fail), and tern's log descriptor is EBADF. The kernel submits
//!   control blocks in order and stops at the first it refuses, returning
//!   how many it took, or the errno when it took none: a block tern
//!   refuses ends the submission the same way.
//!
//! A buffer that becomes code only while a read into it is in flight would
//! be written after tern translated it: a program that runs code it is
//! still reading has a race natively too.

use crate::{fd, guard, host_syscall, result, Process, SysResult};
use tern_translate::cpu::CpuState;
use tern_translate::guestmem::read_guest;

const IOCB_CMD_PREAD: u16 = 0;
const IOCB_CMD_PWRITE: u16 = 1;
const IOCB_CMD_PREADV: u16 = 7;
const IOCB_CMD_PWRITEV: u16 = 8;
const IOCB_FLAG_RESFD: u32 = 1;
/// `sizeof(struct iocb)`.
const IOCB_SIZE: usize = 64;

/// The mapping of `/proc/self/maps` that starts at `addr`, as (start, end).
fn mapping_at(addr: u64) -> Option<(u64, u64)> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().filter_map(tern_translate::hostmem::maps_range).find(|r| r.0 == addr)
}

/// `io_setup(nr_events, ctx_idp)`: the ring the kernel maps becomes guest
/// memory in tern's map.
pub fn io_setup(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let r = result(host_syscall(libc::SYS_io_setup as u64, a))?;
    let mut b = [0u8; 8];
    if read_guest(a[1], &mut b) == 8 {
        if let Some((start, end)) = mapping_at(u64::from_le_bytes(b)) {
            p.jit.note_map(start, end, libc::PROT_READ | libc::PROT_WRITE);
        }
    }
    Ok(r)
}

/// `io_destroy(ctx)`: the kernel unmaps the ring.
pub fn io_destroy(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let ring = mapping_at(a[0]);
    let r = result(host_syscall(libc::SYS_io_destroy as u64, a))?;
    if let Some((start, end)) = ring {
        p.jit.note_unmap(start, end);
    }
    Ok(r)
}

/// One control block as tern checks it.
struct Iocb {
    opcode: u16,
    fd: u32,
    buf: u64,
    nbytes: u64,
    flags: u32,
    resfd: u32,
}

impl Iocb {
    fn read(addr: u64) -> Option<Iocb> {
        let mut b = [0u8; IOCB_SIZE];
        if read_guest(addr, &mut b) != IOCB_SIZE {
            return None;
        }
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or_default());
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        Some(Iocb {
            opcode: u16_at(16),
            fd: u32_at(20),
            buf: u64_at(24),
            nbytes: u64_at(32),
            flags: u32_at(56),
            resfd: u32_at(60),
        })
    }

    /// Why tern refuses this block, as an errno, or None.
    fn check(&self, p: &Process, cpu: &mut CpuState) -> Option<i32> {
        let log = |d: u32| fd::is_tern(u64::from(d));
        if log(self.fd) || (self.flags & IOCB_FLAG_RESFD != 0 && log(self.resfd)) {
            return Some(libc::EBADF);
        }
        let r = match self.opcode {
            IOCB_CMD_PREAD => guard::check_buffer(p, cpu, self.buf, self.nbytes, true),
            IOCB_CMD_PWRITE => guard::check_buffer(p, cpu, self.buf, self.nbytes, false),
            IOCB_CMD_PREADV => guard::check_iov(p, cpu, self.buf, self.nbytes, true),
            IOCB_CMD_PWRITEV => guard::check_iov(p, cpu, self.buf, self.nbytes, false),
            _ => Ok(()),
        };
        r.err()
    }
}

/// The first of the `nr` control blocks at `iocbpp` that tern refuses,
/// with the errno, or None. Stops at a pointer or block it cannot read:
/// the kernel's own EFAULT there.
fn first_refused(p: &Process, cpu: &mut CpuState, iocbpp: u64, nr: u64) -> Option<(u64, i32)> {
    for i in 0..nr {
        let mut b = [0u8; 8];
        if read_guest(iocbpp.wrapping_add(8 * i), &mut b) != 8 {
            return None;
        }
        let cb = Iocb::read(u64::from_le_bytes(b))?;
        if let Some(e) = cb.check(p, cpu) {
            return Some((i, e));
        }
    }
    None
}

/// `io_submit(ctx, nr, iocbpp)` (see the module docs).
pub fn io_submit(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    // The kernel looks at no more blocks than the context has events, at
    // most `fs.aio-max-nr` (65536 unless raised).
    let nr = (a[1] as i64).clamp(0, 1 << 20) as u64;
    let submit = |n: u64| result(host_syscall(libc::SYS_io_submit as u64, [a[0], n, a[2], 0, 0, 0]));
    match first_refused(p, cpu, a[2], nr) {
        // A bad context or count is the kernel's EINVAL, before any block.
        Some((0, e)) => submit(0).and(Err(e)),
        Some((take, _)) => submit(take),
        None => result(host_syscall(libc::SYS_io_submit as u64, a)),
    }
}
