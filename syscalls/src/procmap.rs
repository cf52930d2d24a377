//! `ioctl(PROCMAP_QUERY)` (Linux 6.11) on the guest's `/proc/self/maps`.
//!
//! The guest's descriptor is one of tern's memfds (`proc.rs`), which has no
//! such ioctl: the query goes to the host's `/proc/self/maps` (the same
//! process, so the same mappings, looked up when asked, as natively), and
//! a mapping of tern's own is treated as absent: an exact query there gets
//! ENOENT, a `PROCMAP_QUERY_COVERING_OR_NEXT_VMA` query goes on past it.
//! The guest's heap and stack get the names the kernel gives them
//! (`[heap]`, `[stack]`), as in the maps file. The host fills tern's own
//! copies of the structure and of the name and build-ID buffers; the
//! guest's are written only with a result, in the kernel's order
//! (`fs/proc/task_mmu.c: do_procmap_query()`).

use crate::proc::{emulated_path, outside, AnonNames};
use crate::{host_syscall, Process, SysResult};
use tern_translate::cpu::CpuState;
use tern_translate::guestmem::{read_guest, write_guest};

/// `_IOWR('f', 17, struct procmap_query)`.
pub const PROCMAP_QUERY: u32 = 0xc068_6611;
/// `sizeof(struct procmap_query)` as tern knows it.
const SIZE: usize = 104;
const COVERING_OR_NEXT_VMA: u64 = 0x10;
/// `PATH_MAX`: the most of a name buffer the kernel uses.
const NAME_MAX: usize = 4096;
/// Room for a build ID (`BUILD_ID_SIZE_MAX` is 20).
const BUILD_ID_MAX: usize = 64;

/// `ioctl`: PROCMAP_QUERY on a descriptor of the guest's maps file is
/// answered here, anything else goes to the host.
pub fn ioctl(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if a[1] as u32 == PROCMAP_QUERY && is_maps(a[0]) {
        return query(p, a[2]);
    }
    crate::result(host_syscall(libc::SYS_ioctl as u64, a))
}

/// True if guest descriptor `fd` is tern's memfd for a `maps` file.
fn is_maps(fd: u64) -> bool {
    emulated_path(fd).is_some_and(|path| path.as_bytes().ends_with(b"/maps"))
}

/// The structure's little-endian fields.
struct Query([u8; SIZE]);

impl Query {
    fn u64(&self, at: usize) -> u64 {
        crate::le::u64_at(&self.0, at)
    }

    fn u32(&self, at: usize) -> u32 {
        crate::le::u32_at(&self.0, at)
    }

    fn set_u64(&mut self, at: usize, v: u64) {
        crate::le::put_u64(&mut self.0, at, v);
    }

    fn set_u32(&mut self, at: usize, v: u32) {
        crate::le::put_u32(&mut self.0, at, v);
    }
}

/// Field offsets (`include/uapi/linux/fs.h`).
const QUERY_FLAGS: usize = 8;
const QUERY_ADDR: usize = 16;
const VMA_START: usize = 24;
const VMA_END: usize = 32;
const VMA_FLAGS: usize = 40;
/// `PROCMAP_QUERY_VMA_READABLE` in `vma_flags`.
const VMA_READABLE: u64 = 1;
const VMA_OFFSET: usize = 56;
const INODE: usize = 64;
const NAME_SIZE: usize = 80;
const BUILD_ID_SIZE: usize = 84;
const NAME_ADDR: usize = 88;
const BUILD_ID_ADDR: usize = 96;

fn query(p: &Process, uarg: u64) -> SysResult {
    // The size first, then the structure as `copy_struct_from_user` takes
    // it: a longer one must be zero past what tern knows.
    let mut size = [0u8; 8];
    if read_guest(uarg, &mut size) != 8 {
        return Err(libc::EFAULT);
    }
    let usz = u64::from_le_bytes(size);
    if usz < (QUERY_ADDR + 8) as u64 {
        return Err(libc::EINVAL);
    }
    if usz > 4096 {
        return Err(libc::E2BIG);
    }
    let n = (usz as usize).min(SIZE);
    let mut guest = Query([0; SIZE]);
    if read_guest(uarg, &mut guest.0[..n]) != n {
        return Err(libc::EFAULT);
    }
    if usz as usize > SIZE {
        let mut tail = vec![0u8; usz as usize - SIZE];
        if read_guest(uarg + SIZE as u64, &mut tail) != tail.len() {
            return Err(libc::EFAULT);
        }
        if tail.iter().any(|&b| b != 0) {
            return Err(libc::E2BIG);
        }
    }
    // The guest's buffer sizes are applied below, once the mapping found
    // is the guest's: a name of tern's that would not fit must not fail
    // the query.
    let (name_room, build_id_room) = (guest.u32(NAME_SIZE) as usize, guest.u32(BUILD_ID_SIZE) as usize);
    let mut name = vec![0u8; NAME_MAX];
    let mut build_id = [0u8; BUILD_ID_MAX];
    let mut q = Query(guest.0);
    q.set_u64(0, SIZE as u64);
    // tern's buffers where the guest gave some (a size without a buffer,
    // or the reverse, stays for the kernel to refuse).
    if guest.u64(NAME_ADDR) != 0 {
        q.set_u64(NAME_ADDR, name.as_mut_ptr() as u64);
        q.set_u32(NAME_SIZE, if name_room == 0 { 0 } else { NAME_MAX as u32 });
    }
    if guest.u64(BUILD_ID_ADDR) != 0 {
        q.set_u64(BUILD_ID_ADDR, build_id.as_mut_ptr() as u64);
        q.set_u32(BUILD_ID_SIZE, if build_id_room == 0 { 0 } else { BUILD_ID_MAX as u32 });
    }
    let host = std::fs::File::open("/proc/self/maps").map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
    let tern = crate::guard::tern_memory();
    let mut addr = guest.u64(QUERY_ADDR);
    loop {
        let mut ask = Query(q.0);
        ask.set_u64(QUERY_ADDR, addr);
        {
            use std::os::fd::AsRawFd;
            let r = host_syscall(
                libc::SYS_ioctl as u64,
                [host.as_raw_fd() as u64, u64::from(PROCMAP_QUERY), ask.0.as_mut_ptr() as u64, 0, 0, 0],
            );
            crate::result(r)?;
        }
        let (start, end) = (ask.u64(VMA_START), ask.u64(VMA_END));
        if !tern.iter().any(|&(s, e)| s < end && start < e) {
            q = ask;
            break;
        }
        // A guest mapping the kernel merged with one of tern's: the guest's
        // part, as the maps file shows it (`proc::outside`).
        let covering = guest.u64(QUERY_FLAGS) & COVERING_OR_NEXT_VMA != 0;
        let part = outside(start, end, &tern)
            .into_iter()
            .find(|&(s, e)| (s..e).contains(&addr) || covering && s > addr);
        if let Some((s, e)) = part {
            ask.set_u64(VMA_START, s);
            ask.set_u64(VMA_END, e);
            if ask.u64(INODE) != 0 {
                ask.set_u64(VMA_OFFSET, ask.u64(VMA_OFFSET) + (s - start));
            }
            q = ask;
            break;
        }
        // One of tern's mappings: absent for the guest.
        if !covering || end <= addr {
            return Err(libc::ENOENT);
        }
        addr = end;
    }
    q.set_u64(QUERY_ADDR, guest.u64(QUERY_ADDR));
    let (start, end) = (q.u64(VMA_START), q.u64(VMA_END));
    // Readable as the guest asked (`mm::host_prot` adds a read to memory
    // mapped executable and not readable), as its maps file shows it.
    if crate::mm::read_added(p.jit.prot_at(start)) {
        q.set_u64(VMA_FLAGS, q.u64(VMA_FLAGS) & !VMA_READABLE);
    }
    let mut name_len = q.u32(NAME_SIZE) as usize;
    if name_room != 0 && name_len == 0 && q.u64(INODE) == 0 {
        if let Some(anon) = AnonNames::new(p).name(start, end) {
            name[..anon.len()].copy_from_slice(anon.as_bytes());
            name[anon.len()] = 0;
            name_len = anon.len() + 1;
            q.set_u32(NAME_SIZE, name_len as u32);
        }
    }
    let build_id_len = q.u32(BUILD_ID_SIZE) as usize;
    if name_len > name_room.min(NAME_MAX) || build_id_len > build_id_room {
        return Err(libc::ENAMETOOLONG);
    }
    if name_len != 0 && !write_guest(guest.u64(NAME_ADDR), &name[..name_len.min(name.len())]) {
        return Err(libc::EFAULT);
    }
    if build_id_len != 0
        && !write_guest(guest.u64(BUILD_ID_ADDR), &build_id[..build_id_len.min(BUILD_ID_MAX)])
    {
        return Err(libc::EFAULT);
    }
    // The guest's own size and buffer addresses go back as they were.
    q.set_u64(0, usz);
    q.set_u64(NAME_ADDR, guest.u64(NAME_ADDR));
    q.set_u64(BUILD_ID_ADDR, guest.u64(BUILD_ID_ADDR));
    if !write_guest(uarg, &q.0[..n]) {
        return Err(libc::EFAULT);
    }
    Ok(0)
}
