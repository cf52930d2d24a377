//! Mapping ELF segments into memory (unsafe `mmap` calls kept here).

use super::elf::{ElfInfo, USER_TOP};
use super::Image;
use std::fs::File;
use std::os::fd::AsRawFd;

const PAGE: u64 = 4096;
/// Where Linux puts a PIE main program (ELF_ET_DYN_BASE, before randomisation).
pub const PIE_BASE: u64 = 0x5555_5555_4000;

fn err() -> std::io::Error {
    std::io::Error::last_os_error()
}

fn page_up(x: u64) -> u64 {
    (x + PAGE - 1) & !(PAGE - 1)
}

fn prot_of(flags: u32) -> i32 {
    let mut p = 0;
    if flags & object::elf::PF_R != 0 {
        p |= libc::PROT_READ;
    }
    if flags & object::elf::PF_W != 0 {
        p |= libc::PROT_WRITE;
    }
    if flags & object::elf::PF_X != 0 {
        p |= libc::PROT_EXEC;
    }
    p
}

/// `mmap` returning the address or the error.
fn mmap(addr: u64, len: u64, prot: i32, flags: i32, fd: i32, off: u64) -> std::io::Result<u64> {
    // SAFETY: callers only pass MAP_FIXED for ranges inside a reservation this
    // module made for the image being loaded.
    let p = unsafe { libc::mmap(addr as *mut _, len as usize, prot, flags, fd, off as i64) };
    if p == libc::MAP_FAILED {
        Err(err())
    } else {
        Ok(p as u64)
    }
}

fn munmap(addr: u64, len: u64) {
    if len > 0 {
        // SAFETY: unmaps part of this module's own reservation.
        unsafe { libc::munmap(addr as *mut _, len as usize) };
    }
}

/// Maps `info`'s segments from `file`. ET_DYN images go at `hint` if it is
/// free (else where the kernel chooses); ET_EXEC images at their addresses.
pub fn map_image(file: &File, info: &ElfInfo, hint: Option<u64>) -> std::io::Result<Image> {
    let (lo, hi) = info.span();
    let span = hi - lo;
    let anon = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
    // Reserve the whole image first, then map segments inside it.
    let bias = if info.dyn_ {
        let align = info.align;
        let want = hint.map_or(0, |h| (h + align - 1) & !(align - 1));
        let r = mmap(want, span + align, libc::PROT_NONE, anon, -1, 0)?;
        let start = (r + align - 1) & !(align - 1);
        munmap(r, start - r);
        munmap(start + span, r + align - start);
        start - lo
    } else {
        if hi > USER_TOP {
            return Err(std::io::Error::from_raw_os_error(libc::ENOMEM));
        }
        mmap(lo, span, libc::PROT_NONE, anon | libc::MAP_FIXED_NOREPLACE, -1, 0)?;
        0
    };
    let fd = file.as_raw_fd();
    let mut covered_to = lo + bias;
    let mut maps = Vec::new();
    for s in &info.segments {
        let start = bias + s.vaddr;
        let page = start & !(PAGE - 1);
        let prot = prot_of(s.flags);
        let file_end = start + s.filesz;
        let mem_end = page_up(start + s.memsz);
        // Unmap the gap before this segment, as Linux leaves holes unmapped.
        if page > covered_to {
            munmap(covered_to, page - covered_to);
        }
        // As the kernel's `elf_load`: the file's pages with the segment's
        // protection, the tail of the last one (where the bss starts)
        // zeroed only where the segment is writable (in one that is not,
        // `padzero`'s write fails and the kernel leaves the file's bytes
        // there), and the bss's further pages anonymous memory as `brk`
        // makes it, readable and writable whatever the segment says
        // (executable if it is). Mapping a read-only segment writable
        // first, as tern did, also left it accounted as written memory,
        // so the kernel merged it with the RELRO pages after it that
        // natively stay a mapping of their own.
        if s.filesz > 0 {
            let len = page_up(file_end) - page;
            mmap(page, len, prot, libc::MAP_PRIVATE | libc::MAP_FIXED, fd, s.offset & !(PAGE - 1))?;
            let tail = page_up(file_end) - file_end;
            if s.memsz > s.filesz && tail > 0 && prot & libc::PROT_WRITE != 0 {
                // SAFETY: [file_end, file_end+tail) lies in the page just
                // mapped writable above.
                unsafe { std::ptr::write_bytes(file_end as *mut u8, 0, tail as usize) };
            }
            maps.push((page, page + len, prot));
        }
        let anon_start = if s.filesz > 0 { page_up(file_end) } else { page };
        if mem_end > anon_start {
            let bss_prot = libc::PROT_READ | libc::PROT_WRITE | (prot & libc::PROT_EXEC);
            mmap(
                anon_start,
                mem_end - anon_start,
                bss_prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )?;
            maps.push((anon_start, mem_end, bss_prot));
        }
        covered_to = covered_to.max(mem_end);
    }
    let phdr = match info.phdr_vaddr {
        Some(v) => v + bias,
        None => info
            .segments
            .iter()
            .find(|s| info.phoff >= s.offset && info.phoff < s.offset + s.filesz)
            .map_or(0, |s| s.vaddr + (info.phoff - s.offset) + bias),
    };
    let (code, data) = info.code_and_data();
    let biased = |(a, b): (u64, u64)| (a.wrapping_add(bias), b.wrapping_add(bias));
    Ok(Image {
        bias,
        entry: info.entry + bias,
        phdr,
        phnum: u64::from(info.phnum),
        end: hi + bias,
        maps,
        code: code.map(biased),
        data: biased(data),
    })
}

/// Room left to tern's own stack above the guest's main stack (see
/// [`map_stack`]): tern's main thread uses far less, and the default
/// RLIMIT_STACK would stop it there anyway.
const HOST_STACK_ROOM: u64 = 8 << 20;

/// Maps the guest's main stack, executable if
/// PT_GNU_STACK asks. As the kernel does for a native process, it is a
/// growing mapping (`MAP_GROWSDOWN`) of `initial` bytes that the kernel
/// extends on each fault below it, up to RLIMIT_STACK as it is at that
/// moment (a limit raised later, by `ulimit -s unlimited` or by the
/// program itself as `cc1` raises its own to 64 MiB, lets it grow further,
/// as natively) and never within the guard gap of the mapping below. It
/// sits in the room the host kernel keeps free below a process's stack
/// for that stack to grow (above `mmap_base`, so above every library),
/// [`HOST_STACK_ROOM`] below tern's own stack, so it is the guest's
/// highest mapping but the vDSO, as natively. `reserve` bytes below the
/// top must be free there (tern's map of guest memory records that much);
/// where they are not, the stack is a plain mapping of `reserve` bytes
/// wherever the kernel puts it, which cannot grow. Returns the top and the
/// size mapped.
pub fn map_stack(reserve: u64, initial: u64, exec: bool) -> std::io::Result<(u64, u64)> {
    let mut prot = libc::PROT_READ | libc::PROT_WRITE;
    if exec {
        prot |= libc::PROT_EXEC;
    }
    let anon = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
    let initial = page_up(initial).min(reserve);
    let here = 0u8;
    let sp = std::ptr::addr_of!(here) as u64;
    if let Some(top) = (sp & !(PAGE - 1)).checked_sub(HOST_STACK_ROOM).filter(|&t| t > reserve) {
        // Is the whole reserve free? A probe mapping, gone at once.
        let exact = |at: u64, len: u64, prot: i32, flags: i32| {
            mmap(at, len, prot, anon | flags | libc::MAP_FIXED_NOREPLACE, -1, 0).map(|p| {
                if p != at {
                    munmap(p, len);
                }
                p == at
            })
        };
        if exact(top - reserve, reserve, libc::PROT_NONE, 0).unwrap_or(false) {
            munmap(top - reserve, reserve);
            if exact(top - initial, initial, prot, libc::MAP_GROWSDOWN).unwrap_or(false) {
                return Ok((top, initial));
            }
        }
    }
    let base = mmap(0, reserve, prot, anon, -1, 0)?;
    Ok((base + reserve, reserve))
}
