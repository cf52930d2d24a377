//! The ELF loader: maps a guest program (and its PT_INTERP) the way Linux's
//! `fs/binfmt_elf.c: load_elf_binary()` does, and builds its initial stack.

pub mod elf;
pub mod map;
pub mod script;
pub mod stack;

use elf::ElfInfo;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a program could not be loaded. Shown as `tern: PATH: REASON`.
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
}

impl LoadError {
    /// Exit status a shell would give for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            LoadError::NotFound(_) => 127,
            _ => 126,
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
}

/// A loaded program, ready for its stack.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub main: Image,
    pub interp: Option<Image>,
    pub exec_stack: bool,
}

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
pub fn resolve(prog: &str) -> PathBuf {
    if prog.contains('/') {
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

fn open_checked(path: &Path, need_exec: bool) -> Result<(File, Vec<u8>, u64), LoadError> {
    let name = path.display().to_string();
    let md = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound(name.clone()),
        _ => LoadError::Io { path: name.clone(), err: e },
    })?;
    if md.is_dir() {
        return Err(LoadError::IsDir(name));
    }
    if need_exec {
        let c = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| LoadError::NotFound(name.clone()))?;
        // SAFETY: c is a valid NUL-terminated path.
        let ok = unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0;
        if !ok || !md.is_file() || md.mode() & 0o111 == 0 {
            return Err(LoadError::NoExec(name));
        }
    }
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => LoadError::NoExec(name.clone()),
        _ => LoadError::Io { path: name.clone(), err: e },
    })?;
    // Only the start of the file is read: the headers are there, and
    // reading all of a large program (python3: 7 MB) costs startup time.
    let mut head = Vec::with_capacity(HEAD);
    (&file).take(HEAD as u64).read_to_end(&mut head).map_err(|e| LoadError::Io { path: name, err: e })?;
    Ok((file, head, md.len()))
}

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

/// Loads `path` and its interpreter into this process's address space.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let (file, head, len) = open_checked(path, true)?;
    let info = parse_checked(path, &head, len)?;
    let name = path.display().to_string();
    // Check the interpreter before mapping anything.
    let interp = match &info.interp {
        Some(ip) => {
            let ipath = PathBuf::from(std::ffi::OsStr::from_bytes(ip));
            let wrap = |err| LoadError::Interp {
                path: name.clone(),
                interp: ipath.display().to_string(),
                err: Box::new(err),
            };
            let (ifile, ihead, ilen) = open_checked(&ipath, false).map_err(wrap)?;
            let iinfo = parse_checked(&ipath, &ihead, ilen).map_err(wrap)?;
            if iinfo.interp.is_some() {
                return Err(wrap(LoadError::Elf {
                    path: ipath.display().to_string(),
                    err: elf::ElfError::Header("the interpreter has an interpreter"),
                }));
            }
            Some((ipath, ifile, iinfo))
        }
        None => None,
    };
    let main_hint = if info.dyn_ { Some(map::PIE_BASE) } else { None };
    let main =
        map::map_image(&file, &info, main_hint).map_err(|err| LoadError::Map { path: name.clone(), err })?;
    let interp = match interp {
        Some((ipath, ifile, iinfo)) => Some(
            map::map_image(&ifile, &iinfo, None)
                .map_err(|err| LoadError::Map { path: ipath.display().to_string(), err })?,
        ),
        None => None,
    };
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(Loaded { path, main, interp, exec_stack: info.exec_stack })
}
