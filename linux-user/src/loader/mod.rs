//! The ELF loader: maps a guest program (and its PT_INTERP) the way Linux's
//! `fs/binfmt_elf.c: load_elf_binary()` does, and builds its initial stack.

pub mod elf;
pub mod map;
pub mod script;
pub mod stack;

use elf::ElfInfo;
use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a program could not be loaded. Shown as `tern: PATH: REASON`
/// (paths are bytes; they are converted lossily for display only). Each
/// failure is also the errno a guest `execve` gets ([`LoadError::errno`]).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}: No such file or directory")]
    NotFound(String),
    #[error("{0}: Is a directory")]
    IsDir(String),
    #[error("{0}: Permission denied")]
    NoExec(String),
    #[error("{path}: {err}")]
    Io { path: String, err: std::io::Error },
    #[error("{path}: {err}")]
    Elf { path: String, err: elf::ElfError },
    #[error("{path}: cannot find its ELF interpreter {interp}: {err}")]
    Interp { path: String, interp: String, err: Box<LoadError> },
    #[error("{path}: cannot map the program: {err}")]
    Map { path: String, err: std::io::Error },
    /// The `#!` line could not be used (ENOEXEC), or interpreters nest too
    /// deeply (ELOOP).
    #[error("{path}: {}", describe(*errno))]
    Script { path: String, errno: i32 },
    /// The interpreter named by a `#!` line cannot be run.
    #[error("{path}: bad interpreter: {err}")]
    BadInterpreter { path: String, err: Box<LoadError> },
}

/// strerror(errno), without std's " (os error N)".
fn describe(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error") {
        Some(at) => s[..at].to_string(),
        None => s,
    }
}

/// A path for messages: lossy, since paths are bytes.
fn shown(path: &Path) -> String {
    path.display().to_string()
}

impl LoadError {
    /// Exit status a shell (bash, dash) would give for this failure: 127
    /// when execve said ENOENT (the program, its `#!` interpreter or its
    /// ELF interpreter is missing), 126 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.errno() == libc::ENOENT {
            127
        } else {
            126
        }
    }

    /// The errno `execve` gives natively for this failure (`fs/exec.c`,
    /// `fs/binfmt_elf.c: load_elf_binary()`): EACCES for a directory or a
    /// file without execute permission, ENOEXEC for no known format,
    /// ELIBBAD for an ELF interpreter that is not one.
    pub fn errno(&self) -> i32 {
        match self {
            LoadError::NotFound(_) => libc::ENOENT,
            LoadError::IsDir(_) | LoadError::NoExec(_) => libc::EACCES,
            LoadError::Io { err, .. } => err.raw_os_error().unwrap_or(libc::EIO),
            LoadError::Elf { .. } => libc::ENOEXEC,
            LoadError::Interp { err, .. } => match **err {
                LoadError::Elf { .. } => libc::ELIBBAD,
                ref e => e.errno(),
            },
            LoadError::Map { .. } => libc::ENOMEM,
            LoadError::Script { errno, .. } => *errno,
            LoadError::BadInterpreter { err, .. } => err.errno(),
        }
    }
}

/// One mapped ELF image.
#[derive(Clone, Debug)]
pub struct Image {
    pub bias: u64,
    pub entry: u64,
    pub phdr: u64,
    pub phnum: u64,
    /// Page-aligned end of the highest segment.
    pub end: u64,
    /// What was mapped: (start, end, prot) per segment.
    pub maps: Vec<(u64, u64, i32)>,
    /// `mm->start_code`, `end_code` as the kernel sets them for this image
    /// ([`elf::ElfInfo::code_and_data`]); None without an executable segment.
    pub code: Option<(u64, u64)>,
    /// `mm->start_data`, `end_data`.
    pub data: (u64, u64),
}

/// A loaded program, ready for its stack.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub main: Image,
    pub interp: Option<Image>,
    pub exec_stack: bool,
    /// Where the program break starts (`mm->start_brk`).
    pub brk: u64,
}

/// How the kernel lays out a new program here (`fs/binfmt_elf.c`): its
/// addresses randomised unless the personality says ADDR_NO_RANDOMIZE
/// (`setarch -R`, gdb, `tern bisect`) or `kernel.randomize_va_space` is
/// 0, and its program break too only at 2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Aslr {
    pub mmap: bool,
    pub brk: bool,
}

impl Aslr {
    /// The host's setting for this process (the guest's personality is
    /// this process's own).
    pub fn host() -> Aslr {
        const ADDR_NO_RANDOMIZE: i32 = 0x0040000;
        // SAFETY: 0xffffffff only queries the personality.
        let persona = unsafe { libc::personality(0xffff_ffff) };
        let level = if persona != -1 && persona & ADDR_NO_RANDOMIZE != 0 {
            0
        } else {
            std::fs::read("/proc/sys/kernel/randomize_va_space")
                .ok()
                .and_then(|b| b.first().copied())
                .map_or(2, |c| c.wrapping_sub(b'0'))
        };
        Aslr { mmap: level >= 1, brk: level >= 2 }
    }
}

/// ELF_ET_DYN_BASE, where a PIE goes (before its random offset), and a
/// static-pie's program break: 4 GiB higher when tern's own binary, a PIE
/// itself, is there (always without randomisation: `setarch -R`), so that
/// the guest's program and break keep their room.
fn dyn_base() -> u64 {
    // SAFETY: getauxval has no preconditions.
    let own = unsafe { libc::getauxval(libc::AT_PHDR) };
    if own.abs_diff(map::PIE_BASE) < 1 << 32 {
        map::PIE_BASE + (1 << 32)
    } else {
        map::PIE_BASE
    }
}

/// The random offset of a PIE main program from [`dyn_base`], drawn again
/// (a few times) while it would put the program within 4 GiB below or 8
/// GiB above tern's own binary, which the kernel put at the same base plus
/// its own offset: a guest buffer just below tern's binary or heap would
/// then reach into them within a call's largest transfer (`readv` of 2 GiB
/// on a short file: EFAULT from tern's guard where natively the call reads
/// what there is).
fn pie_offset() -> u64 {
    // SAFETY: getauxval has no preconditions.
    let own = unsafe { libc::getauxval(libc::AT_PHDR) };
    let draw = || (random_u64() & ((1 << MMAP_RND_BITS) - 1)) << 12;
    let clear = |o: u64| {
        let at = dyn_base() + o;
        at.saturating_add(4 << 30) <= own || at >= own.saturating_add(8 << 30)
    };
    let mut offset = draw();
    for _ in 0..8 {
        if clear(offset) {
            break;
        }
        offset = draw();
    }
    offset
}

/// A random u64 (getrandom; 0 where it fails).
fn random_u64() -> u64 {
    let mut r = [0u8; 8];
    // SAFETY: getrandom writes at most 8 bytes into `r`.
    unsafe { libc::getrandom(r.as_mut_ptr().cast(), 8, libc::GRND_NONBLOCK) };
    u64::from_le_bytes(r)
}

/// Bits of the random offset of a PIE's load address (`mmap_rnd_bits`,
/// x86-64's default: pages within 1 TiB).
const MMAP_RND_BITS: u32 = 28;
/// Range of the program break's random offset on x86-64
/// (`arch_randomize_brk`).
const BRK_RND: u64 = 1 << 30;

impl Loaded {
    /// Every range mapped for the program and its interpreter.
    pub fn mappings(&self) -> impl Iterator<Item = &(u64, u64, i32)> {
        self.main.maps.iter().chain(self.interp.iter().flat_map(|i| i.maps.iter()))
    }

    /// Where the guest starts: the interpreter's entry, or the program's.
    pub fn start(&self) -> u64 {
        self.interp.as_ref().map_or(self.main.entry, |i| i.entry)
    }
}

/// Looks `prog` up in PATH (when it has no slash), like a shell.
pub fn resolve(prog: &OsStr) -> PathBuf {
    if prog.as_bytes().contains(&b'/') {
        return PathBuf::from(prog);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    for dir in std::env::split_paths(&path) {
        let cand = dir.join(prog);
        if let Ok(md) = std::fs::metadata(&cand) {
            if md.is_file() && md.permissions().mode() & 0o111 != 0 {
                return cand;
            }
        }
    }
    PathBuf::from(prog)
}

/// Opens `path` as `fs/exec.c: open_exec()` does for a program, a `#!`
/// interpreter or an ELF interpreter: it must be a regular file the caller
/// may execute (EACCES otherwise; a directory is EACCES too, shown as "Is a
/// directory").
pub fn open_exec(path: &Path) -> Result<File, LoadError> {
    let name = shown(path);
    let md = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound(name.clone()),
        _ => LoadError::Io { path: name.clone(), err: e },
    })?;
    if md.is_dir() {
        return Err(LoadError::IsDir(name));
    }
    let c =
        std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| LoadError::NotFound(name.clone()))?;
    // SAFETY: c is a valid NUL-terminated path. AT_EACCESS: the kernel
    // checks exec permission with the effective ids.
    let ok = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::X_OK, libc::AT_EACCESS) } == 0;
    if !ok || !md.is_file() || md.mode() & 0o111 == 0 {
        return Err(LoadError::NoExec(name));
    }
    File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => LoadError::NoExec(name),
        _ => LoadError::Io { path: name, err: e },
    })
}

fn open_checked(path: &Path) -> Result<(File, Vec<u8>, u64), LoadError> {
    let file = open_exec(path)?;
    let name = shown(path);
    let len = file.metadata().map_err(|e| LoadError::Io { path: name.clone(), err: e })?.len();
    // Only the start of the file is read: the headers are there, and
    // reading all of a large program (python3: 7 MB) costs startup time.
    let mut head = Vec::with_capacity(HEAD);
    (&file).take(HEAD as u64).read_to_end(&mut head).map_err(|e| LoadError::Io { path: name, err: e })?;
    Ok((file, head, len))
}

/// The size of an ELF64 file header.
const EHDR_SIZE: u64 = 64;

/// How much of a file the loader reads to parse its headers.
const HEAD: usize = 64 * 1024;

fn parse_checked(path: &Path, head: &[u8], len: u64) -> Result<ElfInfo, LoadError> {
    let wrap = |err| LoadError::Elf { path: path.display().to_string(), err };
    match elf::parse_head(head, len) {
        Err(_) if (head.len() as u64) < len => {
            // Headers beyond the first bytes: parse the whole file.
            let all =
                std::fs::read(path).map_err(|err| LoadError::Io { path: path.display().to_string(), err })?;
            elf::parse(&all).map_err(wrap)
        }
        r => r.map_err(wrap),
    }
}

/// A program whose headers (and its interpreter's) have been read and
/// checked, nothing mapped yet.
struct Inspected {
    file: File,
    info: ElfInfo,
    interp: Option<(PathBuf, File, ElfInfo)>,
}

/// Opens and parses `path` and its ELF interpreter, as
/// `fs/binfmt_elf.c: load_elf_binary()` does before the point of no return.
fn inspect(path: &Path) -> Result<Inspected, LoadError> {
    let (file, head, len) = open_checked(path)?;
    let info = parse_checked(path, &head, len)?;
    let name = shown(path);
    let interp = match &info.interp {
        Some(ip) => {
            let ipath = PathBuf::from(OsStr::from_bytes(ip));
            let wrap =
                |err| LoadError::Interp { path: name.clone(), interp: shown(&ipath), err: Box::new(err) };
            let (ifile, ihead, ilen) = open_checked(&ipath).map_err(wrap)?;
            if ilen < EHDR_SIZE {
                // load_elf_binary() cannot read the interpreter's header: EIO.
                let err = std::io::Error::other("too short for an ELF header");
                return Err(wrap(LoadError::Io { path: shown(&ipath), err }));
            }
            let iinfo = parse_checked(&ipath, &ihead, ilen).map_err(wrap)?;
            if iinfo.interp.is_some() {
                return Err(wrap(LoadError::Elf {
                    path: shown(&ipath),
                    err: elf::ElfError::Header("the interpreter has an interpreter"),
                }));
            }
            Some((ipath, ifile, iinfo))
        }
        None => None,
    };
    Ok(Inspected { file, info, interp })
}

/// Whether `path` (an ELF file, scripts already followed) would load:
/// the checks of [`load`] without mapping anything. A guest `execve` makes
/// them before tern replaces itself, so that failures return to the guest.
pub fn check(path: &Path) -> Result<(), LoadError> {
    inspect(path).map(drop)
}

/// Loads `path` and its interpreter into this process's address space.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let Inspected { file, info, interp } = inspect(path)?;
    let name = shown(path);
    let aslr = Aslr::host();
    // A PIE with an interpreter goes at ELF_ET_DYN_BASE plus a random
    // offset; one without (static-pie) and the interpreter where mmap
    // puts them, which the kernel randomises itself.
    let offset = if aslr.mmap { pie_offset() } else { 0 };
    let main_hint = (info.dyn_ && interp.is_some()).then_some(dyn_base() + offset);
    let main =
        map::map_image(&file, &info, main_hint).map_err(|err| LoadError::Map { path: name.clone(), err })?;
    // The break: after the program (a page further when randomised), or
    // for a static-pie at ELF_ET_DYN_BASE, out of the mmap area it was
    // loaded in; then up to 1 GiB further at random.
    let brk = match (aslr.brk, info.dyn_ && interp.is_none()) {
        (_, true) => dyn_base(),
        (false, false) => main.end,
        (true, false) => main.end.next_multiple_of(4096) + 4096,
    };
    let brk =
        if aslr.brk { brk.next_multiple_of(4096) + ((random_u64() % (BRK_RND >> 12)) << 12) } else { brk };
    let interp = match interp {
        Some((ipath, ifile, iinfo)) => Some(
            map::map_image(&ifile, &iinfo, None)
                .map_err(|err| LoadError::Map { path: shown(&ipath), err })?,
        ),
        None => None,
    };
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(Loaded { path, main, interp, exec_stack: info.exec_stack, brk })
}

/// What a guest `execve` of `path` would fail with, if anything: `#!`
/// scripts are followed and the final program checked ([`check`]).
pub fn exec_check(path: &Path, argv: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, i32> {
    let exec = script::resolve(path, argv).map_err(|e| e.errno())?;
    check(&exec.path).map_err(|e| e.errno())?;
    Ok(exec.argv)
}
