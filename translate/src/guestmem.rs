//! Reading guest code bytes without risking a host fault.
//!
//! Guest and host share one address space, but the translator must not crash
//! on an unmapped guest PC: it copies code with `process_vm_readv` on its own
//! process, which reports unreadable memory as a short read.

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
        let r = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
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
