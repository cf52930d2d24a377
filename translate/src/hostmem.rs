//! tern's own anonymous memory (CpuStates, tables, signal stacks).

/// Maps `len` bytes of private, zeroed, read-write memory for tern itself.
/// Pages are committed on first touch.
pub fn map_anon(len: usize) -> std::io::Result<u64> {
    // SAFETY: a fresh anonymous mapping at an address the kernel chooses
    // touches no existing memory.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(p as u64)
    }
}
