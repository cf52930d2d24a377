//! tern's own anonymous memory (CpuStates, tables, signal stacks), and
//! reading the process's memory map.

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
        crate::pages::note_tern_memory(p as u64, p as u64 + (len as u64).next_multiple_of(4096));
        Ok(p as u64)
    }
}

/// The address range of one `/proc/self/maps` line, if it parses.
pub fn maps_range(line: &str) -> Option<(u64, u64)> {
    let (a, b) = line.split_whitespace().next()?.split_once('-')?;
    Some((u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?))
}
