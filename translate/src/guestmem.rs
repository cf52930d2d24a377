//! Reading guest code bytes without risking a host fault.
//!
//! Guest and host share one address space, but the translator must not crash
//! on an unmapped guest PC: it copies code with `process_vm_readv` on its own
//! process, which reports unreadable memory as a short read.

use std::cell::Cell;

thread_local! {
    /// The pid guest memory is read through, cached per host thread: a
    /// CLONE_VM child process shares this memory (statics included) but
    /// runs on thread-locals of its own, and must not read through a pid
    /// that may end before it.
    static PID: Cell<i32> = const { Cell::new(0) };
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
/// first unreadable page. Returns how many bytes were copied.
pub fn read_guest(addr: u64, buf: &mut [u8]) -> usize {
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
