//! tern's own anonymous memory (CpuStates, tables, signal stacks), and
//! reading the process's memory map.

/// Start of the address range tern places its own memory in. Native x86-64
/// programs never map there on their own: executables sit near 0x400000 or
/// 0x55..., the heap follows them, `mmap` grows down from below the stack
/// (0x7f...), and `MAP_32BIT` stays under 2 GiB. A wild guest store that
/// lands in tern's data would have faulted natively only if nothing was
/// there, so keeping tern away from where guest memory goes makes such a
/// store fault as natively. Randomised per process within [`REGION_SPAN`].
const REGION_BASE: u64 = 0x2000_0000_0000;
/// Size of the window the region's start is drawn from (16 TiB).
const REGION_SPAN: u64 = 0x1000_0000_0000;

/// The next free address of tern's region (0 until first use).
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Picks `len` bytes (page-rounded, plus a guard page) of tern's region.
fn next_place(len: u64) -> u64 {
    use std::sync::atomic::Ordering;
    if NEXT.load(Ordering::Relaxed) == 0 {
        let mut r = [0u8; 8];
        // SAFETY: getrandom writes at most 8 bytes into `r`.
        unsafe { libc::getrandom(r.as_mut_ptr().cast(), 8, libc::GRND_NONBLOCK) };
        let start = REGION_BASE + ((u64::from_le_bytes(r) % REGION_SPAN) & !0x3fff_ffff);
        let _ = NEXT.compare_exchange(0, start, Ordering::Relaxed, Ordering::Relaxed);
    }
    NEXT.fetch_add(len.next_multiple_of(4096) + 4096, Ordering::Relaxed)
}

/// Maps `len` bytes of fresh memory for tern itself with `prot` and
/// `flags` (MAP_ANONYMOUS and MAP_PRIVATE or MAP_SHARED) in tern's region,
/// or where the kernel chooses if that place is taken. Returns the address.
pub fn map_tern(len: usize, prot: i32, flags: i32) -> std::io::Result<u64> {
    map_tern_fd(len, prot, flags, -1)
}

/// [`map_tern`] of file `fd` from its start (`fd` -1: anonymous memory).
pub fn map_tern_fd(len: usize, prot: i32, flags: i32, fd: i32) -> std::io::Result<u64> {
    let at = next_place(len as u64);
    map_registered(at, len, prot, flags | libc::MAP_FIXED_NOREPLACE, fd)
        .or_else(|_| map_registered(0, len, prot, flags, fd))
}

/// Maps `len` bytes of `fd` (-1: anonymous) at `addr` (0: where the kernel
/// chooses) with `prot` and `flags`, never over an existing mapping, and
/// registers the result as tern's memory, left out of core dumps.
fn map_registered(addr: u64, len: usize, prot: i32, flags: i32, fd: i32) -> std::io::Result<u64> {
    debug_assert!(addr == 0 || flags & libc::MAP_FIXED_NOREPLACE != 0, "replaces nothing");
    // SAFETY: a fresh mapping: at a kernel-chosen place, or with
    // MAP_FIXED_NOREPLACE, which never replaces an existing mapping.
    let p = unsafe { libc::mmap(addr as *mut _, len, prot, flags, fd, 0) };
    if p == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    crate::pages::note_tern_memory(p as u64, p as u64 + (len as u64).next_multiple_of(4096));
    dont_dump(p as u64, len);
    Ok(p as u64)
}

/// Maps `len` bytes for tern itself where the kernel puts a fresh mapping:
/// top-down below the host's libraries, so just above the guest's
/// libraries when made before they are mapped. The code cache's executable
/// view goes here: a library's RIP-relative operands are then within the
/// ±2 GiB a re-encoded `disp32` reaches, where from tern's region each
/// needs a scratch register and a `mov r, imm64` around it. Registered as
/// tern's memory like [`map_tern`]'s.
pub fn map_near_guest(len: usize, prot: i32, flags: i32) -> std::io::Result<u64> {
    map_registered(0, len, prot, flags, -1)
}

/// Makes `[addr, addr + len)` resident now, in one call, instead of one
/// page fault per page as it is first touched: `MADV_POPULATE_WRITE`
/// (`write`) or `MADV_POPULATE_READ` (Linux 5.14; ignored where it fails,
/// the pages then fault in as before). In this VM a page fault costs about
/// 1.5 us and a populated page a fraction of that.
pub fn populate(addr: u64, len: usize, write: bool) {
    const MADV_POPULATE_READ: i32 = 22;
    const MADV_POPULATE_WRITE: i32 = 23;
    let advice = if write { MADV_POPULATE_WRITE } else { MADV_POPULATE_READ };
    let first = addr & !4095;
    // SAFETY: populating changes no contents; the caller names memory of
    // its own mapping (a failure leaves it as it was).
    unsafe { libc::madvise(first as *mut _, (addr + len as u64 - first) as usize, advice) };
}

/// Leaves tern's memory at `[addr, addr + len)` out of core dumps: a guest
/// that dies with a core (SIGSEGV, SIGABRT...) dumps tern's process, and the
/// code cache views alone would add hundreds of MiB of tern's own state to
/// what natively is the guest's small core.
pub fn dont_dump(addr: u64, len: usize) {
    // SAFETY: MADV_DONTDUMP only changes what a core dump includes.
    unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTDUMP) };
}

/// Types for which all-zero bytes are a valid value (zero, null).
///
/// # Safety
/// An implementor must be valid when every byte of it is zero.
pub unsafe trait Zeroable {}
// SAFETY: an atomic integer of zero bytes is 0, an atomic pointer null.
unsafe impl Zeroable for std::sync::atomic::AtomicU64 {}
// SAFETY: as above.
unsafe impl Zeroable for std::sync::atomic::AtomicUsize {}
// SAFETY: as above.
unsafe impl<T> Zeroable for std::sync::atomic::AtomicPtr<T> {}

/// `n` zero values in a boxed slice, from a zeroed allocation (`calloc`):
/// a large one is fresh pages that the kernel maps on first write, where
/// building it element by element writes every page at startup (each tern
/// process paid about 0.3 ms for its 512 KiB trace table that way).
pub fn zeroed_slice<T: Zeroable>(n: usize) -> Box<[T]> {
    let b = Box::<[T]>::new_zeroed_slice(n);
    // SAFETY: all-zero bytes are a valid T (Zeroable).
    unsafe { b.assume_init() }
}

/// `n` zero values that live as long as the process, in fresh anonymous
/// memory (`map_anon`): its pages are the kernel's zero page until first
/// written. `calloc` may instead hand out reused heap that it clears with
/// `memset`, touching every page at startup (tern's trace table, 512 KiB,
/// cost each process about 0.1 ms and 33 page faults that way).
pub fn zeroed_static<T: Zeroable>(n: usize) -> &'static [T] {
    let len = n * std::mem::size_of::<T>();
    match map_anon(len.max(1)) {
        // SAFETY: a fresh private mapping of at least `len` zero bytes, page
        // aligned (so aligned for T), never unmapped; all-zero bytes are a
        // valid T (Zeroable).
        Ok(p) => unsafe { std::slice::from_raw_parts(p as *const T, n) },
        Err(_) => Box::leak(zeroed_slice(n)),
    }
}

/// Maps `len` bytes of private, zeroed, read-write memory for tern itself.
/// Pages are committed on first touch.
pub fn map_anon(len: usize) -> std::io::Result<u64> {
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
    map_tern(len, libc::PROT_READ | libc::PROT_WRITE, flags)
}

/// The whole of a `/proc` file such as `/proc/self/maps`, read in as few
/// calls as the kernel allows. `std::fs::read` sizes its buffer from the
/// file's size, which `/proc` gives as 0, so it starts with 32-byte reads
/// and doubles: ten `read` calls for tern's maps at start-up, each one
/// walking the kernel's mappings again, where a large buffer takes one
/// (16 KiB to start: tern's maps are about 10 KiB, and a larger buffer
/// costs page faults of fresh heap at every start).
pub fn read_proc(path: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let (mut buf, mut len) = (vec![0u8; 16 << 10], 0);
    loop {
        if len == buf.len() {
            buf.resize(2 * len, 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// The host mapping holding `addr`, from `/proc/self/maps`: its range and
/// protection (`PROT_*`); None if no mapping holds it or the file cannot
/// be read.
pub fn host_mapping(addr: u64) -> Option<(u64, u64, i32)> {
    let maps = read_proc("/proc/self/maps").ok()?;
    let text = std::str::from_utf8(&maps).ok()?;
    text.lines().find_map(|l| {
        let (lo, hi) = maps_range(l).filter(|&(lo, hi)| (lo..hi).contains(&addr))?;
        let perms = l.split_whitespace().nth(1)?.as_bytes();
        let bit = |i: usize, c: u8, prot: i32| if perms.get(i) == Some(&c) { prot } else { 0 };
        Some((
            lo,
            hi,
            bit(0, b'r', libc::PROT_READ) | bit(1, b'w', libc::PROT_WRITE) | bit(2, b'x', libc::PROT_EXEC),
        ))
    })
}

/// The address range of one `/proc/self/maps` line, if it parses.
pub fn maps_range(line: &str) -> Option<(u64, u64)> {
    let (a, b) = line.split_whitespace().next()?.split_once('-')?;
    Some((u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?))
}

/// Lowest number tern's own descriptors use: far above the guest's usual
/// ones, and never 0, 1 or 2, which a guest started without them must find
/// closed.
pub const TERN_FD_BASE: i32 = 900;

/// Duplicates `fd` to a high close-on-exec descriptor for tern's own use.
pub fn private_dup(fd: i32) -> std::io::Result<i32> {
    // SAFETY: fcntl on a descriptor we own, returning a new one.
    let r = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, TERN_FD_BASE) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `f` moved to a descriptor of tern's own ([`private_dup`]), for a file
/// tern keeps open (the perf map, `/proc/self/mem`).
pub fn private_file(f: std::fs::File) -> std::fs::File {
    use std::os::fd::{AsRawFd, FromRawFd};
    match private_dup(f.as_raw_fd()) {
        // SAFETY: `d` is a new descriptor that nothing else owns; `f` is
        // closed when dropped here.
        Ok(d) => unsafe { std::fs::File::from_raw_fd(d) },
        Err(_) => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tern's memory lands in its own region, away from where native
    /// programs map, one guard page apart.
    #[test]
    fn tern_memory_is_placed_in_its_region() {
        let a = map_anon(10_000).unwrap();
        let b = map_anon(4096).unwrap();
        for p in [a, b] {
            assert!((REGION_BASE..REGION_BASE + REGION_SPAN + (1 << 40)).contains(&p), "{p:#x}");
        }
        assert!(b >= a + 12_288 + 4096, "{a:#x} {b:#x}");
    }
}
