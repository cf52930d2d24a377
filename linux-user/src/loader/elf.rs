//! ELF parsing and validation (no memory is touched here).
//!
//! Parses the file header and program headers with the `object` crate and
//! checks everything the loader relies on, so that a corrupt or foreign file
//! is refused with one clear reason instead of a crash. Fuzzed by
//! `fuzz/fuzz_targets/elf_parse.rs`.

use object::elf::{self, FileHeader64, ProgramHeader64};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian as LE;

/// Why an ELF file cannot be run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElfError {
    #[error("not an ELF file")]
    NotElf,
    #[error("32-bit ELF files are not supported (tern runs x86-64 programs)")]
    Class32,
    #[error("big-endian ELF file")]
    BigEndian,
    #[error("ELF file for another architecture (e_machine {0})")]
    Machine(u16),
    #[error("not an executable or shared object (e_type {0})")]
    Type(u16),
    #[error("truncated or corrupt ELF header: {0}")]
    Header(&'static str),
    #[error("corrupt program header: {0}")]
    Phdr(&'static str),
    #[error("no loadable segments")]
    NoLoad,
}

/// A loadable segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    /// PF_R/PF_W/PF_X bits.
    pub flags: u32,
}

/// What the loader needs from an ELF file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfInfo {
    /// ET_DYN (position independent) rather than ET_EXEC.
    pub dyn_: bool,
    pub entry: u64,
    pub phoff: u64,
    pub phnum: u16,
    pub segments: Vec<Segment>,
    /// PT_INTERP path, if any.
    pub interp: Option<Vec<u8>>,
    /// PT_PHDR vaddr, if any.
    pub phdr_vaddr: Option<u64>,
    /// PT_GNU_STACK asks for an executable stack.
    pub exec_stack: bool,
    /// Largest segment alignment (at least the page size).
    pub align: u64,
}

const PAGE: u64 = 4096;
/// Highest user address on x86-64 (47-bit address space).
pub const USER_TOP: u64 = 0x7fff_ffff_f000;

impl ElfInfo {
    /// Lowest and highest (exclusive, page-rounded) addresses of the image.
    pub fn span(&self) -> (u64, u64) {
        let lo = self.segments.iter().map(|s| s.vaddr & !(PAGE - 1)).min().unwrap_or(0);
        let hi =
            self.segments.iter().map(|s| (s.vaddr + s.memsz + PAGE - 1) & !(PAGE - 1)).max().unwrap_or(0);
        (lo, hi)
    }

    /// The code and data ranges the kernel records for this image before
    /// its load bias (`fs/binfmt_elf.c: load_elf_binary()`, shown in
    /// `/proc/PID/stat`): code from the lowest executable segment's start to
    /// the highest end of an executable segment's file bytes (None without
    /// one); data from the highest segment's start to the highest end of
    /// any segment's file bytes.
    pub fn code_and_data(&self) -> (Option<(u64, u64)>, (u64, u64)) {
        let exec = || self.segments.iter().filter(|s| s.flags & object::elf::PF_X != 0);
        let code = exec()
            .map(|s| s.vaddr)
            .min()
            .map(|lo| (lo, exec().map(|s| s.vaddr + s.filesz).max().unwrap_or(0)));
        let start_data = self.segments.iter().map(|s| s.vaddr).max().unwrap_or(0);
        let end_data = self.segments.iter().map(|s| s.vaddr + s.filesz).max().unwrap_or(0);
        (code, (start_data, end_data))
    }
}

/// Parses and validates `data` (the whole file).
pub fn parse(data: &[u8]) -> Result<ElfInfo, ElfError> {
    parse_head(data, data.len() as u64)
}

/// Parses and validates the first bytes of a file of `file_len` bytes:
/// enough when the headers and PT_INTERP lie in `data`, as they do in every
/// linker's output (callers retry with the whole file otherwise).
pub fn parse_head(data: &[u8], file_len: u64) -> Result<ElfInfo, ElfError> {
    if data.len() < 4 || &data[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    // The kernel reads the header in its own layout (64-bit,
    // little-endian) and checks only the magic, e_type, e_machine and
    // e_phentsize (`load_elf_binary`, `load_elf_phdrs`): e_ident's class,
    // data encoding, version and ABI bytes, e_version and e_ehsize are not
    // looked at, and a program with them wrong runs natively. e_ident
    // names the reason only when the header is not an x86-64 one.
    let foreign = || match (data.get(4), data.get(5)) {
        (Some(&elf::ELFCLASS32), _) => Some(ElfError::Class32),
        (_, Some(&elf::ELFDATA2MSB)) => Some(ElfError::BigEndian),
        _ => None,
    };
    let Ok((hdr, _)) = object::pod::from_bytes::<FileHeader64<LE>>(data) else {
        return Err(foreign().unwrap_or(ElfError::Header("file too short for the ELF header")));
    };
    let e = LE;
    let machine = hdr.e_machine(e);
    let phentsize_ok = usize::from(hdr.e_phentsize(e)) == std::mem::size_of::<ProgramHeader64<LE>>();
    if machine != elf::EM_X86_64 || !phentsize_ok {
        if let Some(reason) = foreign() {
            return Err(reason);
        }
    }
    if machine != elf::EM_X86_64 {
        return Err(ElfError::Machine(machine));
    }
    let ty = hdr.e_type(e);
    if ty != elf::ET_EXEC && ty != elf::ET_DYN {
        return Err(ElfError::Type(ty));
    }
    if !phentsize_ok {
        return Err(ElfError::Header("e_phentsize is not 56"));
    }
    // `load_elf_phdrs`: at most 64 KiB of program headers.
    let phnum = hdr.e_phnum(e);
    if phnum == 0 || usize::from(phnum) * std::mem::size_of::<ProgramHeader64<LE>>() > 65536 {
        return Err(ElfError::Header("e_phnum is 0 or too large"));
    }
    let phdrs =
        hdr.program_headers(e, data).map_err(|_| ElfError::Phdr("program headers lie outside the file"))?;
    let mut info = ElfInfo {
        dyn_: ty == elf::ET_DYN,
        entry: hdr.e_entry(e),
        phoff: hdr.e_phoff(e),
        phnum,
        segments: Vec::new(),
        interp: None,
        phdr_vaddr: None,
        exec_stack: false,
        align: PAGE,
    };
    for ph in phdrs {
        match ph.p_type(e) {
            elf::PT_LOAD => {
                let s = Segment {
                    vaddr: ph.p_vaddr(e),
                    memsz: ph.p_memsz(e),
                    offset: ph.p_offset(e),
                    filesz: ph.p_filesz(e),
                    flags: ph.p_flags(e),
                };
                if s.filesz > s.memsz {
                    return Err(ElfError::Phdr("p_filesz larger than p_memsz"));
                }
                let file_end =
                    s.offset.checked_add(s.filesz).ok_or(ElfError::Phdr("segment offset overflows"))?;
                if file_end > file_len {
                    return Err(ElfError::Phdr("segment extends past the end of the file"));
                }
                let mem_end =
                    s.vaddr.checked_add(s.memsz).ok_or(ElfError::Phdr("segment address overflows"))?;
                if mem_end > USER_TOP {
                    return Err(ElfError::Phdr("segment lies outside the user address space"));
                }
                if s.vaddr % PAGE != s.offset % PAGE {
                    return Err(ElfError::Phdr("p_vaddr and p_offset disagree modulo the page size"));
                }
                if let Some(prev) = info.segments.last() {
                    if s.vaddr < prev.vaddr {
                        return Err(ElfError::Phdr("PT_LOAD segments are not sorted by address"));
                    }
                }
                let a = ph.p_align(e);
                if a > PAGE && a.is_power_of_two() && a <= 1 << 30 {
                    info.align = info.align.max(a);
                }
                info.segments.push(s);
            }
            // The first PT_INTERP names the interpreter (the kernel stops
            // at it), of 2 to PATH_MAX bytes.
            elf::PT_INTERP if info.interp.is_none() => {
                if !(2..=4096).contains(&ph.p_filesz(e)) {
                    return Err(ElfError::Phdr("PT_INTERP is not a NUL-terminated path"));
                }
                let bytes = ph.data(e, data).map_err(|_| ElfError::Phdr("PT_INTERP outside the file"))?;
                let path = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
                if path.is_empty() || bytes.last() != Some(&0) {
                    return Err(ElfError::Phdr("PT_INTERP is not a NUL-terminated path"));
                }
                info.interp = Some(path.to_vec());
            }
            elf::PT_PHDR => info.phdr_vaddr = Some(ph.p_vaddr(e)),
            elf::PT_GNU_STACK => info.exec_stack = ph.p_flags(e) & elf::PF_X != 0,
            _ => {}
        }
    }
    if info.segments.is_empty() {
        return Err(ElfError::NoLoad);
    }
    let (lo, hi) = info.span();
    if hi - lo > 1 << 40 {
        return Err(ElfError::Phdr("image spans more than 1 TiB"));
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_binary() -> Vec<u8> {
        std::fs::read("/bin/true").expect("/bin/true")
    }

    #[test]
    fn parses_host_binary() {
        let info = parse(&host_binary()).unwrap();
        assert!(info.dyn_);
        assert!(info.interp.is_some());
        assert!(!info.segments.is_empty());
    }

    #[test]
    fn refuses_bad_files() {
        assert_eq!(parse(b"#!/bin/sh\n"), Err(ElfError::NotElf));
        assert_eq!(parse(b""), Err(ElfError::NotElf));
        let mut d = host_binary();
        d[4] = elf::ELFCLASS32;
        d[18] = 3; // EM_386
        assert_eq!(parse(&d), Err(ElfError::Class32));
        // A 64-bit header whose e_ident says otherwise runs, as natively.
        let mut d = host_binary();
        d[4..7].copy_from_slice(&[elf::ELFCLASS32, elf::ELFDATA2MSB, 0]);
        assert!(parse(&d).is_ok());
        let mut d = host_binary();
        d[18] = 183; // EM_AARCH64
        assert_eq!(parse(&d), Err(ElfError::Machine(183)));
        let d = host_binary();
        assert!(matches!(parse(&d[..40]), Err(ElfError::Header(_))));
        assert!(matches!(parse(&d[..200]), Err(ElfError::Phdr(_))));
    }

    #[test]
    fn never_panics_on_truncations_and_bit_flips() {
        let d = host_binary();
        for n in 0..1024.min(d.len()) {
            let _ = parse(&d[..n]);
        }
        let mut x = 0x1234_5678u32;
        for _ in 0..2000 {
            let mut m = d[..4096.min(d.len())].to_vec();
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let i = x as usize % m.len();
            m[i] ^= (x >> 8) as u8;
            let _ = parse(&m);
        }
    }
}
