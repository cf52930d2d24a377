//! Writes through `/proc/self/mem`. The kernel writes there with
//! FOLL_FORCE, past page protection and beneath tern's notice: a guest
//! that patches its own code that way (a JIT or hot-patcher keeping its
//! code pages read-only, W^X) would go on running the old translation,
//! and one that writes at an address where tern's own memory lies would
//! change tern (natively nothing is mapped there: EIO; a read there
//! showed tern's bytes). So once the guest has opened such a file
//! (`note_open`, from `open`), the read and write calls (`read`,
//! `pread64`, `readv`, `preadv`, `preadv2` and their write twins) ask
//! what their descriptor is; for this process's memory file they stop
//! short of tern's memory, and writes drop the translations of what they
//! wrote. Until then a call costs one load more.

use crate::{host_syscall, Process, SysResult};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, Ordering};
use tern_translate::cpu::CpuState;
use tern_translate::guestmem::read_guest;

/// The most bytes one read or write moves (`MAX_RW_COUNT`).
const MAX_RW: u64 = 0x7fff_f000;

/// Set once the guest opened a memory file of this process.
static OPENED: AtomicBool = AtomicBool::new(false);

/// The guest opens `/proc/self/mem` or another name of it.
pub(crate) fn note_open() {
    OPENED.store(true, Ordering::Relaxed);
}

/// Whether `fd` is a memory file of this process (the link of
/// `/proc/self/fd/N` names `/proc/PID/mem` or a thread's).
fn is_self_mem(fd: u64) -> bool {
    let Ok(fd) = i32::try_from(fd) else { return false };
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .is_ok_and(|link| crate::proc::is_self_proc(link.as_os_str().as_bytes(), "mem"))
}

/// How a read or write call gives its buffers and its file position.
#[derive(Clone, Copy)]
enum Shape {
    /// `write(fd, buf, count)`, `read`, at the current position.
    Plain,
    /// `pwrite64(fd, buf, count, offset)`, `pread64`.
    At,
    /// `writev(fd, iov, iovcnt)`, `readv`, at the current position.
    Vector,
    /// `pwritev(fd, iov, iovcnt, offset)`, `pwritev2` (offset -1: the
    /// current position), and their read twins.
    VectorAt,
}

/// The iovecs' total length, or None if they cannot be read (the call's
/// own checks give the errno).
fn iov_total(iov: u64, count: u64) -> Option<u64> {
    let count = usize::try_from(count).ok().filter(|&c| c <= 1024)?;
    let mut raw = vec![0u8; count * 16];
    if read_guest(iov, &mut raw) != raw.len() {
        return None;
    }
    Some(raw.chunks_exact(16).map(|v| crate::le::u64_at(v, 8)).fold(0, u64::saturating_add))
}

/// Runs read or write call `nr` (`write`: whether it writes).
fn mem_call(p: &Process, nr: i64, shape: Shape, write: bool, mut a: [u64; 6]) -> SysResult {
    let call = |a: [u64; 6]| crate::result(host_syscall(nr as u64, a));
    if !OPENED.load(Ordering::Relaxed) || !is_self_mem(a[0]) {
        return call(a);
    }
    let current =
        || crate::result(host_syscall(libc::SYS_lseek as u64, [a[0], 0, libc::SEEK_CUR as u64, 0, 0, 0]));
    let start = match shape {
        Shape::Plain | Shape::Vector => current()?,
        Shape::At => a[3],
        Shape::VectorAt if a[3] as i64 == -1 => current()?,
        Shape::VectorAt => a[3],
    };
    // The kernel moves at most MAX_RW_COUNT bytes a call.
    let len = match shape {
        Shape::Plain | Shape::At => Some(a[2]),
        Shape::Vector | Shape::VectorAt => iov_total(a[1], a[2]),
    }
    .map(|l| l.min(MAX_RW));
    if let Some(len) = len.filter(|&l| l > 0) {
        if let Some(at) = crate::guard::first_overlap(&crate::guard::tern_memory(), start, len) {
            // Natively nothing is mapped there: the transfer stops before
            // it, EIO if it would move nothing.
            if at == start {
                return Err(libc::EIO);
            }
            match shape {
                Shape::Plain | Shape::At => a[2] = at - start,
                // Rare enough to refuse whole rather than cut the iovecs.
                Shape::Vector | Shape::VectorAt => return Err(libc::EIO),
            }
        }
    }
    let moved = call(a)?;
    if write {
        p.jit.invalidate_range(start, start.saturating_add(moved));
    }
    Ok(moved)
}

/// One handler per call: its number, shape and direction.
macro_rules! mem_calls {
    ($($name:ident: $nr:ident, $shape:ident, $write:expr;)*) => {$(
        pub fn $name(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
            mem_call(p, libc::$nr, Shape::$shape, $write, a)
        }
    )*};
}

mem_calls! {
    read: SYS_read, Plain, false;
    write: SYS_write, Plain, true;
    pread64: SYS_pread64, At, false;
    pwrite64: SYS_pwrite64, At, true;
    readv: SYS_readv, Vector, false;
    writev: SYS_writev, Vector, true;
    preadv: SYS_preadv, VectorAt, false;
    pwritev: SYS_pwritev, VectorAt, true;
    preadv2: SYS_preadv2, VectorAt, false;
    pwritev2: SYS_pwritev2, VectorAt, true;
}
