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
        if s.filesz > 0 {
            let len = page_up(file_end) - page;
            mmap(
                page,
                len,
                prot | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                fd,
                s.offset & !(PAGE - 1),
            )?;
            // Zero the tail of the last file page (start of the bss).
            let tail = page_up(file_end) - file_end;
            if s.memsz > s.filesz && tail > 0 {
                // SAFETY: [file_end, file_end+tail) lies in the page just
                // mapped writable above.
                unsafe { std::ptr::write_bytes(file_end as *mut u8, 0, tail as usize) };
            }
            // SAFETY: sets the final protection of the range mapped above.
            unsafe { libc::mprotect(page as *mut _, len as usize, prot) };
        }
        let anon_start = if s.filesz > 0 { page_up(file_end) } else { page };
        if mem_end > anon_start {
            mmap(
                anon_start,
                mem_end - anon_start,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )?;
        }
        maps.push((page, mem_end, prot));
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
    Ok(Image { bias, entry: info.entry + bias, phdr, phnum: u64::from(info.phnum), end: hi + bias, maps })
}

/// Maps the guest stack: `size` bytes, executable if PT_GNU_STACK asks.
/// Returns its top.
pub fn map_stack(size: u64, exec: bool) -> std::io::Result<u64> {
    let mut prot = libc::PROT_READ | libc::PROT_WRITE;
    if exec {
        prot |= libc::PROT_EXEC;
    }
    let base = mmap(0, size, prot, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE, -1, 0)?;
    Ok(base + size)
}
