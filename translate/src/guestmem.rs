//! Reading and writing guest memory without risking a host fault.
//!
//! Guest and host share one address space, but tern must not crash on an
//! unmapped guest address. Guest code is copied with `process_vm_readv` on
//! tern's own process, which reports unreadable memory as a short read;
//! guest threads copy syscall data directly, with the fault-safe copy
//! `signals::usercopy` installs (`install_copy`, `direct_copies`).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A copy that survives a fault on either side: (destination, source,
/// length) -> bytes not copied (`signals::usercopy`'s `rep movsb` with its
/// fault fixup).
pub type CopyFn = unsafe extern "C" fn(*mut u8, *const u8, usize) -> usize;

/// The installed [`CopyFn`], 0 until tern's fault handler can recover from
/// a fault in it.
static COPY: AtomicUsize = AtomicUsize::new(0);

/// Highest user address plus one (`TASK_SIZE_MAX`): nothing above is
/// guest memory (`access_ok()`).
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;

thread_local! {
    /// The pid guest memory is read through, cached per host thread: a
    /// CLONE_VM child process shares this memory (statics included) but
    /// runs on thread-locals of its own, and must not read through a pid
    /// that may end before it.
    static PID: Cell<i32> = const { Cell::new(0) };
    /// The calling thread may copy guest memory directly with [`COPY`]:
    /// a guest thread, whose host mask never blocks the fault signals.
    static DIRECT: Cell<bool> = const { Cell::new(false) };
}

/// Installs the fault-safe copy (once tern's fault handler is in place).
pub fn install_copy(f: CopyFn) {
    COPY.store(f as usize, Ordering::Release);
}

/// Lets the calling thread copy guest memory with the installed copy
/// instead of `process_vm_readv`/`writev` (a syscall each, about 1 us), or
/// stops it: a guest thread turns this on when its CPU loop starts and off
/// before it blocks every host signal on its way out, where a fault in the
/// copy could no longer be caught.
pub fn direct_copies(on: bool) {
    DIRECT.with(|c| c.set(on));
}

/// The copy to use for `[addr, addr + len)` on this thread, if direct.
fn direct(addr: u64, len: usize) -> Option<CopyFn> {
    if !DIRECT.with(Cell::get) || addr.checked_add(len as u64).is_none_or(|end| end > TASK_SIZE) {
        return None;
    }
    let f = COPY.load(Ordering::Acquire);
    // SAFETY: COPY only ever holds 0 or a `CopyFn` (install_copy).
    (f != 0).then(|| unsafe { std::mem::transmute::<usize, CopyFn>(f) })
}

/// This process's pid, cached (reset by `reset_pid` in a forked child).
fn pid() -> i32 {
    let p = PID.with(Cell::get);
    if p != 0 {
        return p;
    }
    // SAFETY: getpid has no preconditions.
    let p = unsafe { libc::getpid() };
    PID.with(|c| c.set(p));
    p
}

/// Caches this process's pid now. A `vfork` child shares this thread's
/// locals and reads guest memory through its parent's pid (same address
/// space); the parent calls this first so that the child never caches its
/// own pid, which would be stale for the parent once the child is gone.
pub fn cache_pid() {
    pid();
}

/// Forgets the calling thread's cached pid (call in a forked child, or a
/// CLONE_VM child on thread-locals another process used).
pub fn reset_pid() {
    PID.with(|c| c.set(0));
}

/// Copies up to `buf.len()` bytes from guest address `addr`, stopping at the
/// first unreadable byte. Returns how many bytes were copied.
pub fn read_guest(addr: u64, buf: &mut [u8]) -> usize {
    if let Some(copy) = direct(addr, buf.len()) {
        // SAFETY: buf is valid for its length; a fault on the guest side
        // is caught and ends the copy there (`COPY`).
        return buf.len() - unsafe { copy(buf.as_mut_ptr(), addr as *const u8, buf.len()) };
    }
    read_code(addr, buf)
}

/// [`read_guest`] of guest code the CPU may run but not read: on a host
/// with protection keys the kernel makes a mapping of PROT_EXEC alone
/// execute-only with a key whose data access PKRU disables (and
/// `process_vm_readv` refuses it for lacking VM_READ), so what the plain
/// copy could not read is copied again with every key allowed, PKRU put
/// back after (a signal meanwhile finds it saved in its frame and restored
/// at sigreturn). The same for code under a key the guest closed itself
/// (the `host` model offers PKU): the CPU runs it all the same.
pub fn read_exec(addr: u64, buf: &mut [u8]) -> usize {
    let n = read_guest(addr, buf);
    if n == buf.len() || !crate::xstate::host_pku() {
        return n;
    }
    let old = crate::xstate::pkru::read();
    crate::xstate::pkru::write(0);
    let more = read_guest(addr + n as u64, &mut buf[n..]);
    crate::xstate::pkru::write(old);
    n + more
}

/// [`read_guest`] through the kernel (`process_vm_readv`), always: guest
/// code is fetched this way, since an execute-only mapping (a protection
/// key) would fault a direct read.
pub fn read_code(addr: u64, buf: &mut [u8]) -> usize {
    let mut done = 0usize;
    while done < buf.len() {
        let a = addr + done as u64;
        // Read at most to the end of the page so a short read means a hole.
        let page_left = (0x1000 - (a & 0xfff)) as usize;
        let n = page_left.min(buf.len() - done);
        let local = libc::iovec { iov_base: buf[done..].as_mut_ptr().cast(), iov_len: n };
        let remote = libc::iovec { iov_base: a as *mut _, iov_len: n };
        // SAFETY: local points into buf with n bytes available; the remote
        // range is only read by the kernel, which checks it.
        let r = unsafe { libc::process_vm_readv(pid(), &local, 1, &remote, 1, 0) };
        if r <= 0 {
            break;
        }
        done += r as usize;
        if (r as usize) < n {
            break;
        }
    }
    done
}

/// Copies `data` to guest address `addr`. Returns false if any byte could not
/// be written (the guest would see EFAULT).
pub fn write_guest(addr: u64, data: &[u8]) -> bool {
    if data.is_empty() {
        return true;
    }
    if let Some(copy) = direct(addr, data.len()) {
        // SAFETY: data is valid for its length; a fault on the guest side
        // is caught and ends the copy there (`COPY`).
        return unsafe { copy(addr as *mut u8, data.as_ptr(), data.len()) } == 0;
    }
    let local = libc::iovec { iov_base: data.as_ptr() as *mut _, iov_len: data.len() };
    let remote = libc::iovec { iov_base: addr as *mut _, iov_len: data.len() };
    // SAFETY: the kernel validates the remote range; local is a valid buffer.
    let r = unsafe { libc::process_vm_writev(pid(), &local, 1, &remote, 1, 0) };
    r == data.len() as isize
}

/// Reads a NUL-terminated string at `addr` (without the NUL), at most `max`
/// bytes. None if unreadable or unterminated.
pub fn read_cstr(addr: u64, max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 256];
    while out.len() < max {
        let a = addr + out.len() as u64;
        let n = read_guest(a, &mut chunk[..(256 - (a as usize & 255))]);
        if n == 0 {
            return None;
        }
        if let Some(z) = chunk[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..z]);
            return Some(out);
        }
        out.extend_from_slice(&chunk[..n]);
    }
    None
}

/// Reads a little-endian u64 at `addr`.
pub fn read_u64(addr: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    (read_guest(addr, &mut b) == 8).then(|| u64::from_le_bytes(b))
}
