//! strace-style rendering of guest system calls, for tern's `--strace`.
//!
//! Everything is driven by the syscall table (`rows.rs`): each row gives a
//! call's name and the [`Arg`] kind of each argument (calls we do not
//! decode get `Hex` kinds, like strace's `printargs`), plus the [`Ret`] kind
//! of the result. Flag and constant names come from [`Xlat`] tables.
//!
//! A line is produced in two halves, split where strace splits an
//! interrupted call (`<unfinished ...>` / `<... resumed>`): [`format_entry`]
//! renders the arguments known before the call, up to the first output
//! argument; [`format_exit`] renders the output arguments and the result.
//! Their concatenation is [`format_call`], e.g.
//! `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`.
//!
//! Output follows strace's defaults: strings are cut at 32 bytes (`-s 32`),
//! paths are printed whole, structures are abbreviated the way strace
//! abbreviates them without `-v`.

use crate::table::Row;
use std::fmt::Write as _;

/// Reads guest memory: returns up to `len` bytes at `addr`, or None if unreadable.
pub trait GuestMem {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>>;
}

/// A [`GuestMem`] that reads the current process's own memory (guest
/// addresses are host addresses) without risking a fault: it uses
/// `process_vm_readv`, falling back to `/proc/self/mem` where that syscall
/// is not permitted.
pub struct SelfMem;

impl GuestMem for SelfMem {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        if len == 0 {
            return Some(Vec::new());
        }
        let mut buf = vec![0u8; len];
        let local = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: len };
        let remote = libc::iovec { iov_base: addr as usize as *mut libc::c_void, iov_len: len };
        let pid = std::process::id() as libc::pid_t;
        // SAFETY: `local` describes `buf`, which is live, writable and `len`
        // bytes long. `remote` is only read, by the kernel, which checks it
        // and reports EFAULT instead of faulting.
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if n > 0 {
            buf.truncate(n as usize);
            return Some(buf);
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EPERM | libc::ENOSYS) => read_proc_self_mem(addr, &mut buf),
            _ => None,
        }
    }
}

/// Fallback for [`SelfMem`]: reads through `/proc/self/mem`.
fn read_proc_self_mem(addr: u64, buf: &mut [u8]) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    static MEM: std::sync::OnceLock<Option<std::fs::File>> = std::sync::OnceLock::new();
    let file = MEM
        .get_or_init(|| std::fs::File::open("/proc/self/mem").ok().map(tern_translate::hostmem::private_file))
        .as_ref()?;
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], addr + got as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    (got > 0).then(|| buf[..got].to_vec())
}

/// Name of syscall `nr` (x86-64 numbering), e.g. "openat", or None if unknown.
pub fn syscall_name(nr: u64) -> Option<&'static str> {
    crate::table::row(nr).map(|s| s.name)
}

/// Text of the call before it runs, e.g.
/// `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC`: the name and the
/// arguments up to the first output argument, without the closing paren.
/// When output arguments follow, the text ends with their separator, as in
/// `read(3, `.
pub fn format_entry(nr: u64, args: [u64; 6], mem: &dyn GuestMem) -> String {
    let cx = Ctx { nr, a: args, ret: None, mem };
    let mut s = String::new();
    match crate::table::row(nr) {
        None => {
            let _ = write!(s, "syscall_{nr:#x}(");
            let all: Vec<String> = args.iter().map(|&v| hex(v)).collect();
            s += &all.join(", ");
        }
        Some(sys) => {
            s += sys.name;
            s.push('(');
            let split = cx.split(sys);
            let mut first = true;
            for (i, &k) in sys.args[..split].iter().enumerate() {
                if let Some(piece) = cx.arg(k, i) {
                    if !first {
                        s += ", ";
                    }
                    s += &piece;
                    first = false;
                }
            }
            if cx.entry_ends_with_separator(sys, split) {
                s += ", ";
            }
        }
    }
    s
}

/// Text after the call returns, e.g. `) = 3`,
/// `) = -1 ENOENT (No such file or directory)`, or for `read()`, whose
/// buffer is only known afterwards, `"data"..., 4096) = 4096`.
pub fn format_exit(nr: u64, args: [u64; 6], ret: i64, mem: &dyn GuestMem) -> String {
    let cx = Ctx { nr, a: args, ret: Some(ret), mem };
    let mut s = String::new();
    let sys = crate::table::row(nr);
    if let Some(sys) = sys {
        let split = cx.split(sys);
        let mut need_sep = split > 0 && !cx.entry_ends_with_separator(sys, split);
        for (i, &k) in sys.args.iter().enumerate().skip(split) {
            if let Some(piece) = cx.arg(k, i) {
                if k == Arg::Clone3Out {
                    s += " => ";
                } else if need_sep {
                    s += ", ";
                }
                s += &piece;
                need_sep = true;
            }
        }
    }
    s += ") = ";
    s += &cx.ret_text(sys);
    s
}

/// The whole line, e.g. `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`.
pub fn format_call(nr: u64, args: [u64; 6], ret: i64, mem: &dyn GuestMem) -> String {
    format_entry(nr, args, mem) + &format_exit(nr, args, ret, mem)
}

// ---------------------------------------------------------------------------
// Argument and result kinds
// ---------------------------------------------------------------------------

/// How one argument is printed. Each kind may read the other arguments
/// too (a buffer its length, `open`'s mode the flags). Output arguments —
/// the `*Out` kinds, `WaitStatus`, `SockLen`, `TimespecRem`, and a few that
/// depend on the request, see [`Ctx::is_out`] — are printed after the call,
/// as the address when the call failed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arg {
    /// `int`, decimal.
    Int,
    /// `unsigned int`, decimal.
    Uint,
    /// `long` / `off_t`, decimal.
    Long,
    /// `size_t`, decimal.
    Size,
    /// `0` or `0x...`.
    Hex,
    /// `NULL` or `0x...`: a pointer the kernel only reads.
    Ptr,
    // The kinds below print as `Ptr` does; they tell `guard` what the
    // kernel does with the memory behind them.
    /// A pointer to `n` bytes the kernel writes.
    Out(u16),
    /// A pointer to an array the kernel writes: elements of `.0` bytes,
    /// as many as argument `.1` says.
    OutArr(u8, u8),
    /// A pointer through which the kernel writes memory the table does not
    /// describe (its size, or further pointers, depend on the request).
    OutAny,
    /// The start of an address range whose length is the next argument;
    /// the call acts on the mappings there, not on their bytes.
    Range,
    /// An address the call stores for later (`set_tid_address`), or does
    /// not dereference.
    Addr,
    /// A `struct msghdr` (`sendmsg`: `false`; `recvmsg`, which writes
    /// through it: `true`).
    MsgHdr(bool),
    /// A `struct mmsghdr` array; the count is the next argument
    /// (`sendmmsg`: `false`; `recvmmsg`: `true`).
    MmsgVec(bool),
    /// A mode, in octal: `0644`.
    Oct,
    /// A file descriptor.
    Fd,
    /// A directory file descriptor: `AT_FDCWD` or a number.
    DirFd,
    /// A NUL-terminated path, printed whole.
    Path,
    /// A NUL-terminated string, cut at 32 bytes.
    Str,
    /// An input buffer whose length is the next argument (`write`).
    BufIn,
    /// An output buffer whose length is the result (`read`).
    BufOut,
    /// Like `BufOut`, every byte as `\xNN` (`getrandom`).
    BufOutHex,
    /// An output NUL-terminated path (`getcwd`).
    PathOut,
    /// `argv`: `["ls", "-l"]`.
    Argv,
    /// `envp`: `0x7ffc... /* 35 vars */`.
    Envp,
    /// An input `struct iovec` array; the count is the next argument.
    IovIn,
    /// An output `struct iovec` array, filled up to the result.
    IovOut,
    /// An `int *` filled by the call: `[3]`.
    IntOut,
    /// A socket address length, read and written by the call: `[16]`.
    SockLen,
    /// Flags named by a table; `0` when zero.
    Flags(&'static Xlat),
    /// A constant named by a table.
    Enum(&'static Xlat),
    /// `open` flags: access mode first, `O_RDONLY|O_CLOEXEC`.
    OpenFlags,
    /// `open` flags without the access mode (`pipe2`, `dup3`): `0` when zero.
    FdFlags,
    /// The mode of `open`, printed only when the previous (flags) argument
    /// creates a file.
    OpenMode,
    MmapFlags,
    /// `mremap`'s new address, printed only with `MREMAP_FIXED`.
    MremapNewAddr,
    Signal,
    SigSetIn,
    SigSetOut,
    SigactionIn,
    SigactionOut,
    StackIn,
    StackOut,
    TimespecIn,
    TimespecOut,
    /// `nanosleep`'s remaining time: shown only when interrupted.
    TimespecRem,
    TimevalIn,
    TimevalOut,
    ClockId,
    StatOut,
    StatxOut,
    StatxFlags,
    /// `int[2]` filled by `pipe`/`socketpair`: `[3, 4]`.
    PipeOut,
    WaitStatus,
    /// `clone`'s entry part: `child_stack=..., flags=...`.
    CloneArgs,
    /// `clone`'s exit part: `parent_tid=[..], tls=..., child_tidptr=...`.
    CloneOut,
    /// `clone3`'s `struct clone_args`.
    Clone3Args,
    /// `struct xattr_args` (`getxattrat`: `true`, the kernel writes the
    /// value it names; `setxattrat`: `false`); its size is the next
    /// argument.
    XattrArgs(bool),
    /// `bpf`'s command: `BPF_MAP_CREATE`.
    BpfCmd,
    /// `bpf`'s `union bpf_attr` (printed as a pointer); its size is the
    /// next argument, its command the previous one (`bpf.rs`).
    BpfAttr,
    /// `clone3`'s changed fields, printed as ` => {parent_tid=[..]}`
    /// (read through the first argument).
    Clone3Out,
    /// `clone3`'s size (the second argument), after `Clone3Out`.
    Clone3Size,
    /// An argument strace does not show (`preadv2`'s high offset word).
    Skip,
    FcntlCmd,
    FcntlValue,
    IoctlReq,
    IoctlData,
    FutexOp,
    /// Every `futex` argument after the op, as the op uses them.
    FutexRest,
    ArchPrctlAddr,
    PrctlOption,
    /// Every `prctl` argument after the option, as the option uses them.
    PrctlRest,
    RlimitIn,
    RlimitOut,
    UtsnameOut,
    SysinfoOut,
    /// `getdents` buffer: `0x... /* 5 entries */`.
    DirentsOut,
    /// `struct pollfd` array; the count is the next argument.
    PollFds,
    /// `fd_set`, sized by the first argument.
    FdSet,
    /// `pselect6`'s `{sigmask=[...], sigsetsize=8}`.
    PselectSigmask,
    SockType,
    /// Socket protocol, named according to the family (first argument).
    SockProto,
    /// Input `struct sockaddr`; the length is the next argument.
    SockAddrIn,
    /// Output `struct sockaddr`; the next argument points to its length.
    SockAddrOut,
    /// CPU set whose byte length is the previous argument.
    CpuSetIn,
    /// CPU set filled by the call; the result is its byte length.
    CpuSetOut,
    EpollEvent,
}

/// How the result is printed (errors always as `-1 ENAME (text)`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ret {
    Dec,
    /// Addresses: `0x7f...`.
    Hex,
    Oct,
    /// `exit`, `exit_group`: ` = ?`.
    NoReturn,
    Fcntl,
    Prctl,
    Poll,
    Ppoll,
    Select,
    Pselect,
}

// ---------------------------------------------------------------------------
// Constant tables
// ---------------------------------------------------------------------------

/// Names of constants or flag bits, in the order strace prints them, and
/// what strace prints in a comment for a value it cannot name.
pub(crate) struct Xlat {
    names: &'static [(u64, &'static str)],
    unknown: &'static str,
}

impl PartialEq for Xlat {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
impl Eq for Xlat {}

impl Xlat {
    fn name(&self, v: u64) -> Option<&'static str> {
        self.names.iter().find(|&&(k, _)| k == v).map(|&(_, n)| n)
    }

    /// A constant: its name, or `0x2a /* X_??? */`.
    fn val(&self, v: u64) -> String {
        match self.name(v) {
            Some(n) => n.to_string(),
            None => format!("{} /* {} */", hex(v), self.unknown),
        }
    }

    /// Flags: `A|B|0x100`; a zero value is its name if the table has one,
    /// else `0`; bits no name covers are printed in hex.
    fn flags(&self, v: u64) -> String {
        if v == 0 {
            return self.name(0).unwrap_or("0").to_string();
        }
        let (mut out, rest) = self.flag_names(v);
        match (out.is_empty(), rest) {
            (true, _) => out = format!("{} /* {} */", hex(v), self.unknown),
            (false, 0) => {}
            (false, rest) => {
                let _ = write!(out, "|{}", hex(rest));
            }
        }
        out
    }

    /// The names of the bits set in `v`, joined by `|`, and the bits left.
    fn flag_names(&self, mut v: u64) -> (String, u64) {
        let mut out = String::new();
        for &(bits, name) in self.names {
            if bits != 0 && v & bits == bits {
                if !out.is_empty() {
                    out.push('|');
                }
                out += name;
                v &= !bits;
            }
        }
        (out, v)
    }
}

/// `xlat!(NAME, "X_???", [value => NAME, ...])` defines an [`Xlat`].
macro_rules! xlat {
    ($id:ident, $unknown:literal, [$($v:expr => $n:ident),* $(,)?]) => {
        pub(crate) static $id: Xlat = Xlat { unknown: $unknown, names: &[$(($v as u64, stringify!($n))),*] };
    };
}

xlat!(OPEN_FLAGS, "O_???", [
    0o100 => O_CREAT, 0o200 => O_EXCL, 0o400 => O_NOCTTY, 0o1000 => O_TRUNC,
    0o2000 => O_APPEND, 0o4000 => O_NONBLOCK, 0o4010000 => O_SYNC, 0o10000 => O_DSYNC,
    0o40000 => O_DIRECT, 0o100000 => O_LARGEFILE, 0o400000 => O_NOFOLLOW,
    0o1000000 => O_NOATIME, 0o2000000 => O_CLOEXEC, 0o10000000 => O_PATH,
    0o20200000 => O_TMPFILE, 0o200000 => O_DIRECTORY, 0o20000 => FASYNC,
]);
xlat!(ACCESS_MODES, "?_OK", [0 => F_OK, 4 => R_OK, 2 => W_OK, 1 => X_OK]);
xlat!(AT_FLAGS, "AT_???", [
    0x100 => AT_SYMLINK_NOFOLLOW, 0x200 => AT_REMOVEDIR, 0x400 => AT_SYMLINK_FOLLOW,
    0x800 => AT_NO_AUTOMOUNT, 0x1000 => AT_EMPTY_PATH, 0x8000 => AT_RECURSIVE,
]);
xlat!(ACCESSAT_FLAGS, "AT_???", [
    0x100 => AT_SYMLINK_NOFOLLOW, 0x200 => AT_EACCESS, 0x1000 => AT_EMPTY_PATH,
]);
xlat!(STATX_SYNC, "AT_STATX_SYNC_???", [
    0 => AT_STATX_SYNC_AS_STAT, 0x2000 => AT_STATX_FORCE_SYNC, 0x4000 => AT_STATX_DONT_SYNC,
]);
xlat!(STATX_MASK, "STATX_???", [
    0xfff => STATX_ALL, 0x7ff => STATX_BASIC_STATS, 0x1 => STATX_TYPE, 0x2 => STATX_MODE,
    0x4 => STATX_NLINK, 0x8 => STATX_UID, 0x10 => STATX_GID, 0x20 => STATX_ATIME,
    0x40 => STATX_MTIME, 0x80 => STATX_CTIME, 0x100 => STATX_INO, 0x200 => STATX_SIZE,
    0x400 => STATX_BLOCKS, 0x800 => STATX_BTIME, 0x1000 => STATX_MNT_ID,
    0x2000 => STATX_DIOALIGN, 0x4000 => STATX_MNT_ID_UNIQUE, 0x8000 => STATX_SUBVOL,
    0x10000 => STATX_WRITE_ATOMIC, 0x20000 => STATX_DIO_READ_ALIGN,
]);
xlat!(STATX_ATTRS, "STATX_ATTR_???", [
    0x4 => STATX_ATTR_COMPRESSED, 0x10 => STATX_ATTR_IMMUTABLE, 0x20 => STATX_ATTR_APPEND,
    0x40 => STATX_ATTR_NODUMP, 0x800 => STATX_ATTR_ENCRYPTED, 0x1000 => STATX_ATTR_AUTOMOUNT,
    0x2000 => STATX_ATTR_MOUNT_ROOT, 0x100000 => STATX_ATTR_VERITY, 0x200000 => STATX_ATTR_DAX,
    0x400000 => STATX_ATTR_WRITE_ATOMIC,
]);
xlat!(WHENCE, "SEEK_???", [0 => SEEK_SET, 1 => SEEK_CUR, 2 => SEEK_END, 3 => SEEK_DATA, 4 => SEEK_HOLE]);
xlat!(PROT, "PROT_???", [
    0 => PROT_NONE, 1 => PROT_READ, 2 => PROT_WRITE, 4 => PROT_EXEC, 8 => PROT_SEM,
    0x1000000 => PROT_GROWSDOWN, 0x2000000 => PROT_GROWSUP,
]);
xlat!(MAP_TYPE, "MAP_???", [1 => MAP_SHARED, 2 => MAP_PRIVATE, 3 => MAP_SHARED_VALIDATE, 8 => MAP_DROPPABLE]);
xlat!(MAP_FLAGS, "MAP_???", [
    0x10 => MAP_FIXED, 0x20 => MAP_ANONYMOUS, 0x40 => MAP_32BIT, 0x80 => MAP_ABOVE4G,
    0x4000 => MAP_NORESERVE, 0x8000 => MAP_POPULATE, 0x10000 => MAP_NONBLOCK,
    0x100 => MAP_GROWSDOWN, 0x800 => MAP_DENYWRITE, 0x1000 => MAP_EXECUTABLE,
    0x2000 => MAP_LOCKED, 0x20000 => MAP_STACK, 0x40000 => MAP_HUGETLB, 0x80000 => MAP_SYNC,
    0x100000 => MAP_FIXED_NOREPLACE,
]);
xlat!(MREMAP_FLAGS, "MREMAP_???", [1 => MREMAP_MAYMOVE, 2 => MREMAP_FIXED, 4 => MREMAP_DONTUNMAP]);
xlat!(MSYNC_FLAGS, "MS_???", [4 => MS_SYNC, 1 => MS_ASYNC, 2 => MS_INVALIDATE]);
xlat!(MADVISE, "MADV_???", [
    0 => MADV_NORMAL, 1 => MADV_RANDOM, 2 => MADV_SEQUENTIAL, 3 => MADV_WILLNEED,
    4 => MADV_DONTNEED, 8 => MADV_FREE, 9 => MADV_REMOVE, 10 => MADV_DONTFORK,
    11 => MADV_DOFORK, 12 => MADV_MERGEABLE, 13 => MADV_UNMERGEABLE, 14 => MADV_HUGEPAGE,
    15 => MADV_NOHUGEPAGE, 16 => MADV_DONTDUMP, 17 => MADV_DODUMP, 18 => MADV_WIPEONFORK,
    19 => MADV_KEEPONFORK, 20 => MADV_COLD, 21 => MADV_PAGEOUT, 22 => MADV_POPULATE_READ,
    23 => MADV_POPULATE_WRITE, 24 => MADV_DONTNEED_LOCKED, 25 => MADV_COLLAPSE,
    100 => MADV_HWPOISON, 101 => MADV_SOFT_OFFLINE, 102 => MADV_GUARD_INSTALL,
    103 => MADV_GUARD_REMOVE,
]);
xlat!(FADVISE, "POSIX_FADV_???", [
    0 => POSIX_FADV_NORMAL, 1 => POSIX_FADV_RANDOM, 2 => POSIX_FADV_SEQUENTIAL,
    3 => POSIX_FADV_WILLNEED, 4 => POSIX_FADV_DONTNEED, 5 => POSIX_FADV_NOREUSE,
]);
xlat!(SIG_HOW, "SIG_???", [0 => SIG_BLOCK, 1 => SIG_UNBLOCK, 2 => SIG_SETMASK]);
xlat!(SA_FLAGS, "SA_???", [
    0x04000000 => SA_RESTORER, 0x08000000 => SA_ONSTACK, 0x10000000 => SA_RESTART,
    0x20000000 => SA_INTERRUPT, 0x40000000 => SA_NODEFER, 0x80000000 => SA_RESETHAND,
    4 => SA_SIGINFO, 1 => SA_NOCLDSTOP, 2 => SA_NOCLDWAIT, 0x400 => SA_UNSUPPORTED,
    0x800 => SA_EXPOSE_TAGBITS,
]);
xlat!(SS_FLAGS, "SS_???", [1 => SS_ONSTACK, 2 => SS_DISABLE, 0x80000000 => SS_AUTODISARM]);
xlat!(CLOCKS, "CLOCK_???", [
    0 => CLOCK_REALTIME, 1 => CLOCK_MONOTONIC, 2 => CLOCK_PROCESS_CPUTIME_ID,
    3 => CLOCK_THREAD_CPUTIME_ID, 4 => CLOCK_MONOTONIC_RAW, 5 => CLOCK_REALTIME_COARSE,
    6 => CLOCK_MONOTONIC_COARSE, 7 => CLOCK_BOOTTIME, 8 => CLOCK_REALTIME_ALARM,
    9 => CLOCK_BOOTTIME_ALARM, 11 => CLOCK_TAI,
]);
xlat!(TIMER_FLAGS, "TIMER_???", [1 => TIMER_ABSTIME]);
xlat!(WAIT_OPTIONS, "W???", [
    1 => WNOHANG, 2 => WUNTRACED, 4 => WEXITED, 8 => WCONTINUED, 0x1000000 => WNOWAIT,
    0x80000000 => __WCLONE, 0x40000000 => __WALL, 0x20000000 => __WNOTHREAD,
]);
xlat!(CLONE_FLAGS, "CLONE_???", [
    0x100 => CLONE_VM, 0x200 => CLONE_FS, 0x400 => CLONE_FILES, 0x800 => CLONE_SIGHAND,
    0x1000 => CLONE_PIDFD, 0x2000 => CLONE_PTRACE, 0x4000 => CLONE_VFORK,
    0x8000 => CLONE_PARENT, 0x10000 => CLONE_THREAD, 0x20000 => CLONE_NEWNS,
    0x40000 => CLONE_SYSVSEM, 0x80000 => CLONE_SETTLS, 0x100000 => CLONE_PARENT_SETTID,
    0x200000 => CLONE_CHILD_CLEARTID, 0x400000 => CLONE_DETACHED, 0x800000 => CLONE_UNTRACED,
    0x1000000 => CLONE_CHILD_SETTID, 0x2000000 => CLONE_NEWCGROUP, 0x4000000 => CLONE_NEWUTS,
    0x8000000 => CLONE_NEWIPC, 0x10000000 => CLONE_NEWUSER, 0x20000000 => CLONE_NEWPID,
    0x40000000 => CLONE_NEWNET, 0x80000000 => CLONE_IO, 0x80 => CLONE_NEWTIME,
    0x100000000 => CLONE_CLEAR_SIGHAND, 0x200000000 => CLONE_INTO_CGROUP,
]);
xlat!(FD_FLAGS, "FD_???", [1 => FD_CLOEXEC]);
xlat!(SEALS, "F_SEAL_???", [
    1 => F_SEAL_SEAL, 2 => F_SEAL_SHRINK, 4 => F_SEAL_GROW, 8 => F_SEAL_WRITE,
    0x10 => F_SEAL_FUTURE_WRITE, 0x20 => F_SEAL_EXEC,
]);
xlat!(LOCK_TYPES, "F_???", [0 => F_RDLCK, 1 => F_WRLCK, 2 => F_UNLCK]);
xlat!(FLOCK_OPS, "LOCK_???", [1 => LOCK_SH, 2 => LOCK_EX, 4 => LOCK_NB, 8 => LOCK_UN]);
xlat!(RLIMITS, "RLIMIT_???", [
    0 => RLIMIT_CPU, 1 => RLIMIT_FSIZE, 2 => RLIMIT_DATA, 3 => RLIMIT_STACK, 4 => RLIMIT_CORE,
    5 => RLIMIT_RSS, 6 => RLIMIT_NPROC, 7 => RLIMIT_NOFILE, 8 => RLIMIT_MEMLOCK, 9 => RLIMIT_AS,
    10 => RLIMIT_LOCKS, 11 => RLIMIT_SIGPENDING, 12 => RLIMIT_MSGQUEUE, 13 => RLIMIT_NICE,
    14 => RLIMIT_RTPRIO, 15 => RLIMIT_RTTIME,
]);
xlat!(ARCH_PRCTL, "ARCH_???", [
    0x1001 => ARCH_SET_GS, 0x1002 => ARCH_SET_FS, 0x1003 => ARCH_GET_FS, 0x1004 => ARCH_GET_GS,
    0x1011 => ARCH_GET_CPUID, 0x1012 => ARCH_SET_CPUID, 0x1021 => ARCH_GET_XCOMP_SUPP,
    0x1022 => ARCH_GET_XCOMP_PERM, 0x1023 => ARCH_REQ_XCOMP_PERM,
    0x1024 => ARCH_GET_XCOMP_GUEST_PERM, 0x1025 => ARCH_REQ_XCOMP_GUEST_PERM,
    0x1026 => ARCH_XCOMP_TILECFG, 0x1027 => ARCH_XCOMP_TILEDATA,
    0x2001 => ARCH_MAP_VDSO_X32, 0x2002 => ARCH_MAP_VDSO_32, 0x2003 => ARCH_MAP_VDSO_64,
    0x4001 => ARCH_GET_UNTAG_MASK, 0x4002 => ARCH_ENABLE_TAGGED_ADDR,
    0x4003 => ARCH_GET_MAX_TAG_BITS, 0x4004 => ARCH_FORCE_TAGGED_SVA,
    0x5001 => ARCH_SHSTK_ENABLE, 0x5002 => ARCH_SHSTK_DISABLE, 0x5003 => ARCH_SHSTK_LOCK,
    0x5004 => ARCH_SHSTK_UNLOCK, 0x5005 => ARCH_SHSTK_STATUS,
]);
xlat!(GRND_FLAGS, "GRND_???", [1 => GRND_NONBLOCK, 2 => GRND_RANDOM, 4 => GRND_INSECURE]);
xlat!(RENAME_FLAGS, "RENAME_???", [1 => RENAME_NOREPLACE, 2 => RENAME_EXCHANGE, 4 => RENAME_WHITEOUT]);
xlat!(MFD_FLAGS, "MFD_???", [
    1 => MFD_CLOEXEC, 2 => MFD_ALLOW_SEALING, 4 => MFD_HUGETLB, 8 => MFD_NOEXEC_SEAL,
    0x10 => MFD_EXEC,
]);
xlat!(EFD_FLAGS, "EFD_???", [1 => EFD_SEMAPHORE, 0o2000000 => EFD_CLOEXEC, 0o4000 => EFD_NONBLOCK]);
xlat!(TFD_FLAGS, "TFD_???", [0o2000000 => TFD_CLOEXEC, 0o4000 => TFD_NONBLOCK]);
xlat!(EPOLL_CREATE_FLAGS, "EPOLL_???", [0o2000000 => EPOLL_CLOEXEC]);
xlat!(EPOLL_CTL_OPS, "EPOLL_CTL_???", [1 => EPOLL_CTL_ADD, 2 => EPOLL_CTL_DEL, 3 => EPOLL_CTL_MOD]);
xlat!(EPOLL_EVENTS, "EPOLL???", [
    1 => EPOLLIN, 2 => EPOLLPRI, 4 => EPOLLOUT, 8 => EPOLLERR, 0x10 => EPOLLHUP,
    0x20 => EPOLLNVAL, 0x40 => EPOLLRDNORM, 0x80 => EPOLLRDBAND, 0x100 => EPOLLWRNORM,
    0x200 => EPOLLWRBAND, 0x400 => EPOLLMSG, 0x2000 => EPOLLRDHUP, 0x10000000 => EPOLLEXCLUSIVE,
    0x20000000 => EPOLLWAKEUP, 0x40000000 => EPOLLONESHOT, 0x80000000 => EPOLLET,
]);
xlat!(POLL_EVENTS, "POLL???", [
    1 => POLLIN, 2 => POLLPRI, 4 => POLLOUT, 8 => POLLERR, 0x10 => POLLHUP, 0x20 => POLLNVAL,
    0x40 => POLLRDNORM, 0x80 => POLLRDBAND, 0x100 => POLLWRNORM, 0x200 => POLLWRBAND,
    0x400 => POLLMSG, 0x1000 => POLLREMOVE, 0x2000 => POLLRDHUP,
]);
xlat!(SHUTDOWN_HOW, "SHUT_???", [0 => SHUT_RD, 1 => SHUT_WR, 2 => SHUT_RDWR]);
xlat!(ADDRESS_FAMILIES, "AF_???", [
    0 => AF_UNSPEC, 1 => AF_UNIX, 2 => AF_INET, 3 => AF_AX25, 4 => AF_IPX, 5 => AF_APPLETALK,
    6 => AF_NETROM, 7 => AF_BRIDGE, 8 => AF_ATMPVC, 9 => AF_X25, 10 => AF_INET6, 11 => AF_ROSE,
    12 => AF_DECnet, 13 => AF_NETBEUI, 14 => AF_SECURITY, 15 => AF_KEY, 16 => AF_NETLINK,
    17 => AF_PACKET, 18 => AF_ASH, 19 => AF_ECONET, 20 => AF_ATMSVC, 21 => AF_RDS, 22 => AF_SNA,
    23 => AF_IRDA, 24 => AF_PPPOX, 25 => AF_WANPIPE, 26 => AF_LLC, 27 => AF_IB, 28 => AF_MPLS,
    29 => AF_CAN, 30 => AF_TIPC, 31 => AF_BLUETOOTH, 32 => AF_IUCV, 33 => AF_RXRPC,
    34 => AF_ISDN, 35 => AF_PHONET, 36 => AF_IEEE802154, 37 => AF_CAIF, 38 => AF_ALG,
    39 => AF_NFC, 40 => AF_VSOCK, 41 => AF_KCM, 42 => AF_QIPCRTR, 43 => AF_SMC, 44 => AF_XDP,
    45 => AF_MCTP,
]);
xlat!(SOCK_TYPES, "SOCK_???", [
    1 => SOCK_STREAM, 2 => SOCK_DGRAM, 3 => SOCK_RAW, 4 => SOCK_RDM, 5 => SOCK_SEQPACKET,
    6 => SOCK_DCCP, 10 => SOCK_PACKET,
]);
xlat!(SOCK_FLAGS, "SOCK_???", [0o2000000 => SOCK_CLOEXEC, 0o4000 => SOCK_NONBLOCK]);
xlat!(IP_PROTOS, "IPPROTO_???", [
    0 => IPPROTO_IP, 1 => IPPROTO_ICMP, 2 => IPPROTO_IGMP, 4 => IPPROTO_IPIP, 6 => IPPROTO_TCP,
    8 => IPPROTO_EGP, 12 => IPPROTO_PUP, 17 => IPPROTO_UDP, 22 => IPPROTO_IDP, 29 => IPPROTO_TP,
    33 => IPPROTO_DCCP, 41 => IPPROTO_IPV6, 46 => IPPROTO_RSVP, 47 => IPPROTO_GRE,
    50 => IPPROTO_ESP, 51 => IPPROTO_AH, 58 => IPPROTO_ICMPV6, 92 => IPPROTO_MTP,
    94 => IPPROTO_BEETPH, 98 => IPPROTO_ENCAP, 103 => IPPROTO_PIM, 108 => IPPROTO_COMP,
    115 => IPPROTO_L2TP, 132 => IPPROTO_SCTP, 136 => IPPROTO_UDPLITE, 137 => IPPROTO_MPLS,
    143 => IPPROTO_ETHERNET, 255 => IPPROTO_RAW, 262 => IPPROTO_MPTCP,
]);
xlat!(NETLINK_PROTOS, "NETLINK_???", [
    0 => NETLINK_ROUTE, 1 => NETLINK_UNUSED, 2 => NETLINK_USERSOCK, 3 => NETLINK_FIREWALL,
    4 => NETLINK_SOCK_DIAG, 5 => NETLINK_NFLOG, 6 => NETLINK_XFRM, 7 => NETLINK_SELINUX,
    8 => NETLINK_ISCSI, 9 => NETLINK_AUDIT, 10 => NETLINK_FIB_LOOKUP, 11 => NETLINK_CONNECTOR,
    12 => NETLINK_NETFILTER, 13 => NETLINK_IP6_FW, 14 => NETLINK_DNRTMSG,
    15 => NETLINK_KOBJECT_UEVENT, 16 => NETLINK_GENERIC, 18 => NETLINK_SCSITRANSPORT,
    19 => NETLINK_ECRYPTFS, 20 => NETLINK_RDMA, 21 => NETLINK_CRYPTO, 22 => NETLINK_SMC,
]);
xlat!(MSG_FLAGS, "MSG_???", [
    1 => MSG_OOB, 2 => MSG_PEEK, 4 => MSG_DONTROUTE, 8 => MSG_CTRUNC, 0x10 => MSG_PROBE,
    0x20 => MSG_TRUNC, 0x40 => MSG_DONTWAIT, 0x80 => MSG_EOR, 0x100 => MSG_WAITALL,
    0x200 => MSG_FIN, 0x400 => MSG_SYN, 0x800 => MSG_CONFIRM, 0x1000 => MSG_RST,
    0x2000 => MSG_ERRQUEUE, 0x4000 => MSG_NOSIGNAL, 0x8000 => MSG_MORE,
    0x10000 => MSG_WAITFORONE, 0x40000 => MSG_BATCH, 0x80000 => MSG_SOCK_DEVMEM,
    0x4000000 => MSG_ZEROCOPY, 0x20000000 => MSG_FASTOPEN, 0x40000000 => MSG_CMSG_CLOEXEC,
]);
xlat!(WHICH_PRIO, "PRIO_???", [0 => PRIO_PROCESS, 1 => PRIO_PGRP, 2 => PRIO_USER]);
xlat!(ITIMERS, "ITIMER_???", [0 => ITIMER_REAL, 1 => ITIMER_VIRTUAL, 2 => ITIMER_PROF]);
xlat!(SCHED_POLICIES, "SCHED_???", [
    0 => SCHED_OTHER, 1 => SCHED_FIFO, 2 => SCHED_RR, 3 => SCHED_BATCH, 5 => SCHED_IDLE,
    6 => SCHED_DEADLINE, 7 => SCHED_EXT,
]);
xlat!(MLOCKALL_FLAGS, "MCL_???", [1 => MCL_CURRENT, 2 => MCL_FUTURE, 4 => MCL_ONFAULT]);
xlat!(CAPS, "CAP_???", [
    0 => CAP_CHOWN, 1 => CAP_DAC_OVERRIDE, 2 => CAP_DAC_READ_SEARCH, 3 => CAP_FOWNER,
    4 => CAP_FSETID, 5 => CAP_KILL, 6 => CAP_SETGID, 7 => CAP_SETUID, 8 => CAP_SETPCAP,
    9 => CAP_LINUX_IMMUTABLE, 10 => CAP_NET_BIND_SERVICE, 11 => CAP_NET_BROADCAST,
    12 => CAP_NET_ADMIN, 13 => CAP_NET_RAW, 14 => CAP_IPC_LOCK, 15 => CAP_IPC_OWNER,
    16 => CAP_SYS_MODULE, 17 => CAP_SYS_RAWIO, 18 => CAP_SYS_CHROOT, 19 => CAP_SYS_PTRACE,
    20 => CAP_SYS_PACCT, 21 => CAP_SYS_ADMIN, 22 => CAP_SYS_BOOT, 23 => CAP_SYS_NICE,
    24 => CAP_SYS_RESOURCE, 25 => CAP_SYS_TIME, 26 => CAP_SYS_TTY_CONFIG, 27 => CAP_MKNOD,
    28 => CAP_LEASE, 29 => CAP_AUDIT_WRITE, 30 => CAP_AUDIT_CONTROL, 31 => CAP_SETFCAP,
    32 => CAP_MAC_OVERRIDE, 33 => CAP_MAC_ADMIN, 34 => CAP_SYSLOG, 35 => CAP_WAKE_ALARM,
    36 => CAP_BLOCK_SUSPEND, 37 => CAP_AUDIT_READ, 38 => CAP_PERFMON, 39 => CAP_BPF,
    40 => CAP_CHECKPOINT_RESTORE,
]);
xlat!(DUMPABLE, "SUID_DUMP_???", [0 => SUID_DUMP_DISABLE, 1 => SUID_DUMP_USER, 2 => SUID_DUMP_ROOT]);
xlat!(SET_VMA, "PR_SET_VMA_???", [0 => PR_SET_VMA_ANON_NAME]);

/// Signal names, indexed by number (0 has none).
#[rustfmt::skip]
const SIGNALS: [&str; 32] = [
    "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
];

/// errno names, indexed by number (0 and the aliases 41 and 58 have none).
#[rustfmt::skip]
const ERRNOS: [&str; 134] = [
    "", "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF",
    "ECHILD", "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV",
    "ENODEV", "ENOTDIR", "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG",
    "ENOSPC", "ESPIPE", "EROFS", "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG",
    "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP", "", "ENOMSG", "EIDRM", "ECHRNG", "EL2NSYNC",
    "EL3HLT", "EL3RST", "ELNRNG", "EUNATCH", "ENOCSI", "EL2HLT", "EBADE", "EBADR", "EXFULL",
    "ENOANO", "EBADRQC", "EBADSLT", "", "EBFONT", "ENOSTR", "ENODATA", "ETIME", "ENOSR",
    "ENONET", "ENOPKG", "EREMOTE", "ENOLINK", "EADV", "ESRMNT", "ECOMM", "EPROTO", "EMULTIHOP",
    "EDOTDOT", "EBADMSG", "EOVERFLOW", "ENOTUNIQ", "EBADFD", "EREMCHG", "ELIBACC", "ELIBBAD",
    "ELIBSCN", "ELIBMAX", "ELIBEXEC", "EILSEQ", "ERESTART", "ESTRPIPE", "EUSERS", "ENOTSOCK",
    "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT",
    "ESOCKTNOSUPPORT", "EOPNOTSUPP", "EPFNOSUPPORT", "EAFNOSUPPORT", "EADDRINUSE",
    "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH", "ENETRESET", "ECONNABORTED", "ECONNRESET",
    "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN", "ETOOMANYREFS", "ETIMEDOUT", "ECONNREFUSED",
    "EHOSTDOWN", "EHOSTUNREACH", "EALREADY", "EINPROGRESS", "ESTALE", "EUCLEAN", "ENOTNAM",
    "ENAVAIL", "EISNAM", "EREMOTEIO", "EDQUOT", "ENOMEDIUM", "EMEDIUMTYPE", "ECANCELED",
    "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED", "EKEYREJECTED", "EOWNERDEAD", "ENOTRECOVERABLE",
    "ERFKILL", "EHWPOISON",
];

/// Kernel-internal restart codes, which strace shows as `= ? NAME (text)`.
const RESTARTS: [(i64, &str, &str); 5] = [
    (512, "ERESTARTSYS", "To be restarted if SA_RESTART is set"),
    (513, "ERESTARTNOINTR", "To be restarted"),
    (514, "ERESTARTNOHAND", "To be restarted if no handler"),
    (515, "ENOIOCTLCMD", "No ioctl command"),
    (516, "ERESTART_RESTARTBLOCK", "Interrupted by signal"),
];

const EINTR: i64 = 4;
const O_CREAT: u64 = 0o100;
const O_TMPFILE_BIT: u64 = 0o20000000;
const MREMAP_FIXED: u64 = 2;
/// The huge page size bits of `mmap` flags (`MAP_HUGE_MASK << MAP_HUGE_SHIFT`).
const MAP_HUGE_MASK: u64 = 0x3f << 26;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;
const CLONE_INTO_CGROUP: u64 = 0x200000000;
const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const AF_NETLINK: u16 = 16;
/// strace's default `-s`: strings and buffers are cut after this many bytes,
/// arrays after this many elements.
const MAX_STR: usize = 32;
const PATH_MAX: usize = 4096;

// ---------------------------------------------------------------------------
// ioctl, fcntl, prctl, futex: what the later arguments mean for each request
// ---------------------------------------------------------------------------

/// The third argument of an ioctl.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Io {
    /// Not printed.
    None,
    Hex,
    Int,
    IntIn,
    IntOut,
    TermiosIn,
    TermiosOut,
    WinsizeIn,
    WinsizeOut,
    Flush,
}

pub(crate) const IOCTLS: &[(u32, &str, Io)] = &[
    (0x5401, "TCGETS", Io::TermiosOut),
    (0x5402, "TCSETS", Io::TermiosIn),
    (0x5403, "TCSETSW", Io::TermiosIn),
    (0x5404, "TCSETSF", Io::TermiosIn),
    (0x5409, "TCSBRK", Io::Int),
    (0x540A, "TCXONC", Io::Int),
    (0x540B, "TCFLSH", Io::Flush),
    (0x540C, "TIOCEXCL", Io::None),
    (0x540D, "TIOCNXCL", Io::None),
    (0x540E, "TIOCSCTTY", Io::Int),
    (0x540F, "TIOCGPGRP", Io::IntOut),
    (0x5410, "TIOCSPGRP", Io::IntIn),
    (0x5411, "TIOCOUTQ", Io::IntOut),
    (0x5413, "TIOCGWINSZ", Io::WinsizeOut),
    (0x5414, "TIOCSWINSZ", Io::WinsizeIn),
    (0x541B, "FIONREAD", Io::IntOut),
    (0x5421, "FIONBIO", Io::IntIn),
    (0x5422, "TIOCNOTTY", Io::None),
    (0x5429, "TIOCGSID", Io::IntOut),
    (0x5450, "FIONCLEX", Io::None),
    (0x5451, "FIOCLEX", Io::None),
    (0x5452, "FIOASYNC", Io::IntIn),
    (0x80045430, "TIOCGPTN", Io::IntOut),
    (0x40045431, "TIOCSPTLCK", Io::IntIn),
    (0x80045432, "TIOCGDEV", Io::IntOut),
    (0x5441, "TIOCGPTPEER", Io::Hex),
];

xlat!(TCFLSH_ARGS, "TC???", [0 => TCIFLUSH, 1 => TCOFLUSH, 2 => TCIOFLUSH]);

/// The third argument of an fcntl, and how its result reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fc {
    None,
    Int,
    FdFlags,
    OpenFlags,
    Signal,
    Flock,
    Seals,
    Lease,
    Hex,
}

const FCNTLS: &[(u32, &str, Fc)] = &[
    (0, "F_DUPFD", Fc::Int),
    (1, "F_GETFD", Fc::None),
    (2, "F_SETFD", Fc::FdFlags),
    (3, "F_GETFL", Fc::None),
    (4, "F_SETFL", Fc::OpenFlags),
    (5, "F_GETLK", Fc::Flock),
    (6, "F_SETLK", Fc::Flock),
    (7, "F_SETLKW", Fc::Flock),
    (8, "F_SETOWN", Fc::Int),
    (9, "F_GETOWN", Fc::None),
    (10, "F_SETSIG", Fc::Signal),
    (11, "F_GETSIG", Fc::None),
    (15, "F_SETOWN_EX", Fc::Hex),
    (16, "F_GETOWN_EX", Fc::Hex),
    (17, "F_GETOWNER_UIDS", Fc::Hex),
    (36, "F_OFD_GETLK", Fc::Flock),
    (37, "F_OFD_SETLK", Fc::Flock),
    (38, "F_OFD_SETLKW", Fc::Flock),
    (1024, "F_SETLEASE", Fc::Lease),
    (1025, "F_GETLEASE", Fc::None),
    (1026, "F_NOTIFY", Fc::Hex),
    (1027, "F_DUPFD_QUERY", Fc::Int),
    (1028, "F_CREATED_QUERY", Fc::None),
    (1029, "F_CANCELLK", Fc::None),
    (1030, "F_DUPFD_CLOEXEC", Fc::Int),
    (1031, "F_SETPIPE_SZ", Fc::Int),
    (1032, "F_GETPIPE_SZ", Fc::None),
    (1033, "F_ADD_SEALS", Fc::Seals),
    (1034, "F_GET_SEALS", Fc::None),
    (1035, "F_GET_RW_HINT", Fc::Hex),
    (1036, "F_SET_RW_HINT", Fc::Hex),
    (1037, "F_GET_FILE_RW_HINT", Fc::Hex),
    (1038, "F_SET_FILE_RW_HINT", Fc::Hex),
];
const F_GETFD: u32 = 1;
const F_GETLK: u64 = 5;
const F_OFD_GETLK: u64 = 36;
const F_GETFL: u32 = 3;
const F_GETLEASE: u32 = 1025;
const PR_GET_DUMPABLE: u64 = 3;
const F_GET_SEALS: u32 = 1034;

/// The arguments of a prctl after the option.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pr {
    /// Nothing more is printed.
    None,
    /// The four remaining arguments in hex (strace's default).
    Hex4,
    /// The four remaining arguments as unsigned decimals.
    Dec4,
    /// One unsigned decimal.
    Dec1,
    Signal,
    SignalOut,
    IntOut,
    PtrOut,
    NameIn,
    NameOut,
    Cap,
    Dumpable,
    SetVma,
}

pub(crate) const PRCTLS: &[(u64, &str, Pr)] = &[
    (1, "PR_SET_PDEATHSIG", Pr::Signal),
    (2, "PR_GET_PDEATHSIG", Pr::SignalOut),
    (3, "PR_GET_DUMPABLE", Pr::None),
    (4, "PR_SET_DUMPABLE", Pr::Dumpable),
    (5, "PR_GET_UNALIGN", Pr::IntOut),
    (6, "PR_SET_UNALIGN", Pr::Hex4),
    (7, "PR_GET_KEEPCAPS", Pr::None),
    (8, "PR_SET_KEEPCAPS", Pr::Dec1),
    (9, "PR_GET_FPEMU", Pr::IntOut),
    (10, "PR_SET_FPEMU", Pr::Hex4),
    (11, "PR_GET_FPEXC", Pr::IntOut),
    (12, "PR_SET_FPEXC", Pr::Hex4),
    (13, "PR_GET_TIMING", Pr::None),
    (14, "PR_SET_TIMING", Pr::Dec1),
    (15, "PR_SET_NAME", Pr::NameIn),
    (16, "PR_GET_NAME", Pr::NameOut),
    (19, "PR_GET_ENDIAN", Pr::IntOut),
    (20, "PR_SET_ENDIAN", Pr::Hex4),
    (21, "PR_GET_SECCOMP", Pr::None),
    (22, "PR_SET_SECCOMP", Pr::Hex4),
    (23, "PR_CAPBSET_READ", Pr::Cap),
    (24, "PR_CAPBSET_DROP", Pr::Cap),
    (25, "PR_GET_TSC", Pr::IntOut),
    (26, "PR_SET_TSC", Pr::Hex4),
    (27, "PR_GET_SECUREBITS", Pr::None),
    (28, "PR_SET_SECUREBITS", Pr::Hex4),
    (29, "PR_SET_TIMERSLACK", Pr::Dec1),
    (30, "PR_GET_TIMERSLACK", Pr::None),
    (31, "PR_TASK_PERF_EVENTS_DISABLE", Pr::None),
    (32, "PR_TASK_PERF_EVENTS_ENABLE", Pr::None),
    (33, "PR_MCE_KILL", Pr::Hex4),
    (34, "PR_MCE_KILL_GET", Pr::None),
    (35, "PR_SET_MM", Pr::Hex4),
    (36, "PR_SET_CHILD_SUBREAPER", Pr::Dec1),
    (37, "PR_GET_CHILD_SUBREAPER", Pr::IntOut),
    (38, "PR_SET_NO_NEW_PRIVS", Pr::Dec4),
    (39, "PR_GET_NO_NEW_PRIVS", Pr::Dec4),
    (40, "PR_GET_TID_ADDRESS", Pr::PtrOut),
    (41, "PR_SET_THP_DISABLE", Pr::Dec4),
    (42, "PR_GET_THP_DISABLE", Pr::Dec4),
    (43, "PR_MPX_ENABLE_MANAGEMENT", Pr::Dec4),
    (44, "PR_MPX_DISABLE_MANAGEMENT", Pr::Dec4),
    (45, "PR_SET_FP_MODE", Pr::Hex4),
    (46, "PR_GET_FP_MODE", Pr::None),
    (47, "PR_CAP_AMBIENT", Pr::Hex4),
    (50, "PR_SVE_SET_VL", Pr::Hex4),
    (51, "PR_SVE_GET_VL", Pr::None),
    (52, "PR_GET_SPECULATION_CTRL", Pr::Hex4),
    (53, "PR_SET_SPECULATION_CTRL", Pr::Hex4),
    (54, "PR_PAC_RESET_KEYS", Pr::Hex4),
    (55, "PR_SET_TAGGED_ADDR_CTRL", Pr::Hex4),
    (56, "PR_GET_TAGGED_ADDR_CTRL", Pr::Hex4),
    (57, "PR_SET_IO_FLUSHER", Pr::Hex4),
    (58, "PR_GET_IO_FLUSHER", Pr::Hex4),
    (59, "PR_SET_SYSCALL_USER_DISPATCH", Pr::Hex4),
    (60, "PR_PAC_SET_ENABLED_KEYS", Pr::Hex4),
    (61, "PR_PAC_GET_ENABLED_KEYS", Pr::Hex4),
    (62, "PR_SCHED_CORE", Pr::Hex4),
    (63, "PR_SME_SET_VL", Pr::Hex4),
    (64, "PR_SME_GET_VL", Pr::Hex4),
    (65, "PR_SET_MDWE", Pr::Hex4),
    (66, "PR_GET_MDWE", Pr::Hex4),
    (67, "PR_SET_MEMORY_MERGE", Pr::Hex4),
    (68, "PR_GET_MEMORY_MERGE", Pr::Hex4),
    (69, "PR_RISCV_V_SET_CONTROL", Pr::Hex4),
    (70, "PR_RISCV_V_GET_CONTROL", Pr::Hex4),
    (71, "PR_RISCV_SET_ICACHE_FLUSH_CTX", Pr::Hex4),
    (72, "PR_PPC_GET_DEXCR", Pr::Hex4),
    (73, "PR_PPC_SET_DEXCR", Pr::Hex4),
    (74, "PR_GET_SHADOW_STACK_STATUS", Pr::Hex4),
    (75, "PR_SET_SHADOW_STACK_STATUS", Pr::Hex4),
    (76, "PR_LOCK_SHADOW_STACK_STATUS", Pr::Hex4),
    (0x53564d41, "PR_SET_VMA", Pr::SetVma),
    (0x59616d61, "PR_SET_PTRACER", Pr::Hex4),
];

/// Which `futex` arguments a command uses, after `uaddr` and `futex_op`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fx {
    Val,
    Timeout,
    ValTimeout,
    ValTimeoutBitset,
    ValBitset,
    ValVal2Uaddr2,
    ValVal2Uaddr2Val3,
    WakeOp,
    ValTimeoutUaddr2,
    Nothing,
}

const FUTEX_CMDS: &[(u64, &str, Fx)] = &[
    (0, "FUTEX_WAIT", Fx::ValTimeout),
    (1, "FUTEX_WAKE", Fx::Val),
    (2, "FUTEX_FD", Fx::Val),
    (3, "FUTEX_REQUEUE", Fx::ValVal2Uaddr2),
    (4, "FUTEX_CMP_REQUEUE", Fx::ValVal2Uaddr2Val3),
    (5, "FUTEX_WAKE_OP", Fx::WakeOp),
    (6, "FUTEX_LOCK_PI", Fx::Timeout),
    (7, "FUTEX_UNLOCK_PI", Fx::Nothing),
    (8, "FUTEX_TRYLOCK_PI", Fx::Nothing),
    (9, "FUTEX_WAIT_BITSET", Fx::ValTimeoutBitset),
    (10, "FUTEX_WAKE_BITSET", Fx::ValBitset),
    (11, "FUTEX_WAIT_REQUEUE_PI", Fx::ValTimeoutUaddr2),
    (12, "FUTEX_CMP_REQUEUE_PI", Fx::ValVal2Uaddr2Val3),
    (13, "FUTEX_LOCK_PI2", Fx::Timeout),
];
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;
xlat!(FUTEX_WAKE_OPS, "FUTEX_OP_???", [
    0 => FUTEX_OP_SET, 1 => FUTEX_OP_ADD, 2 => FUTEX_OP_OR, 3 => FUTEX_OP_ANDN, 4 => FUTEX_OP_XOR,
]);
xlat!(FUTEX_WAKE_CMPS, "FUTEX_OP_CMP_???", [
    0 => FUTEX_OP_CMP_EQ, 1 => FUTEX_OP_CMP_NE, 2 => FUTEX_OP_CMP_LT, 3 => FUTEX_OP_CMP_LE,
    4 => FUTEX_OP_CMP_GT, 5 => FUTEX_OP_CMP_GE,
]);

// termios flag tables, in strace's order.
xlat!(TERM_IFLAGS, "I???", [
    1 => IGNBRK, 2 => BRKINT, 4 => IGNPAR, 8 => PARMRK, 0x10 => INPCK, 0x20 => ISTRIP,
    0x40 => INLCR, 0x80 => IGNCR, 0x100 => ICRNL, 0x200 => IUCLC, 0x400 => IXON,
    0x800 => IXANY, 0x1000 => IXOFF, 0x2000 => IMAXBEL, 0x4000 => IUTF8,
]);
xlat!(TERM_OFLAGS, "O???", [
    1 => OPOST, 2 => OLCUC, 4 => ONLCR, 8 => OCRNL, 0x10 => ONOCR, 0x20 => ONLRET,
    0x40 => OFILL, 0x80 => OFDEL,
]);
xlat!(TERM_CFLAGS, "C???", [
    0x40 => CSTOPB, 0x80 => CREAD, 0x100 => PARENB, 0x200 => PARODD, 0x400 => HUPCL,
    0x800 => CLOCAL, 0x40000000 => CMSPAR, 0x80000000 => CRTSCTS,
]);
xlat!(TERM_LFLAGS, "???", [
    1 => ISIG, 2 => ICANON, 4 => XCASE, 8 => ECHO, 0x10 => ECHOE, 0x20 => ECHOK,
    0x40 => ECHONL, 0x80 => NOFLSH, 0x8000 => IEXTEN, 0x200 => ECHOCTL, 0x400 => ECHOPRT,
    0x800 => ECHOKE, 0x1000 => FLUSHO, 0x4000 => PENDIN, 0x100 => TOSTOP, 0x10000 => EXTPROC,
]);
/// `c_oflag` delay fields: mask and the names of its values.
#[rustfmt::skip]
const TERM_ODELAYS: [(u32, [&str; 4]); 6] = [
    (0x100, ["NL0", "NL1", "", ""]),
    (0x600, ["CR0", "CR1", "CR2", "CR3"]),
    (0x1800, ["TAB0", "TAB1", "TAB2", "TAB3"]),
    (0x2000, ["BS0", "BS1", "", ""]),
    (0x4000, ["VT0", "VT1", "", ""]),
    (0x8000, ["FF0", "FF1", "", ""]),
];
#[rustfmt::skip]
const BAUDS: [&str; 16] = [
    "B0", "B50", "B75", "B110", "B134", "B150", "B200", "B300", "B600", "B1200", "B1800", "B2400",
    "B4800", "B9600", "B19200", "B38400",
];
#[rustfmt::skip]
const BAUDS_HIGH: [&str; 16] = [
    "BOTHER", "B57600", "B115200", "B230400", "B460800", "B500000", "B576000", "B921600",
    "B1000000", "B1152000", "B1500000", "B2000000", "B2500000", "B3000000", "B3500000",
    "B4000000",
];

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

/// One call being rendered: its arguments, its result once known, and the
/// guest memory to read pointed-to data from.
struct Ctx<'a> {
    nr: u64,
    a: [u64; 6],
    ret: Option<i64>,
    mem: &'a dyn GuestMem,
}

fn is_error(r: i64) -> bool {
    (-4095..=-1).contains(&r)
}

/// `0` or `0x...` (strace's `%#lx`).
fn hex(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// `NULL` or `0x...`.
fn ptr(v: u64) -> String {
    if v == 0 {
        "NULL".into()
    } else {
        format!("{v:#x}")
    }
}

/// Octal with a leading 0, at least 3 digits (strace's `%#03o`).
fn oct(v: u64) -> String {
    let s = if v == 0 { "0".to_string() } else { format!("0{v:o}") };
    format!("{s:0>3}")
}

/// A C string literal the way strace quotes it: `\n`, `\t`, ... for the
/// usual escapes, octal for other non-printable bytes (or `\xNN` for every
/// byte when `all_hex`).
pub fn quote(bytes: &[u8], all_hex: bool) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for (i, &c) in bytes.iter().enumerate() {
        if all_hex {
            let _ = write!(s, "\\x{c:02x}");
            continue;
        }
        match c {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(c as char);
            }
            b'\x0c' => s += "\\f",
            b'\n' => s += "\\n",
            b'\r' => s += "\\r",
            b'\t' => s += "\\t",
            b'\x0b' => s += "\\v",
            b' '..=b'~' => s.push(c as char),
            _ => {
                // Use all three digits when a digit follows, so that it
                // cannot be read as part of the escape.
                let digit_follows = bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
                if digit_follows || c >= 0o100 {
                    let _ = write!(s, "\\{c:03o}");
                } else {
                    let _ = write!(s, "\\{c:o}");
                }
            }
        }
    }
    s.push('"');
    s
}

/// `"first 32 bytes"...` for a buffer that is `total` bytes long.
fn quote_cut(bytes: &[u8], total: usize, all_hex: bool) -> String {
    let mut s = quote(&bytes[..bytes.len().min(MAX_STR)], all_hex);
    if total > MAX_STR {
        s += "...";
    }
    s
}

/// The name of signal `sig`: `SIGINT`, `SIGRTMIN`, `SIGRT_3`, or the number.
fn signame(sig: i64) -> String {
    match sig {
        1..=31 => SIGNALS[sig as usize].to_string(),
        32 => "SIGRTMIN".into(),
        33..=64 => format!("SIGRT_{}", sig - 32),
        _ => sig.to_string(),
    }
}

/// A signal set as strace prints it: `[INT TERM]`, or `~[...]` listing the
/// signals not in the set when more than half are.
fn sigset(bits: u64) -> String {
    let (prefix, bits) = if bits.count_ones() > 32 { ("~", !bits) } else { ("", bits) };
    let names: Vec<String> = (0..64)
        .filter(|b| bits >> b & 1 == 1)
        .map(|b| signame(b + 1).trim_start_matches("SIG").to_string())
        .collect();
    format!("{prefix}[{}]", names.join(" "))
}

/// A `st_mode`: `S_IFREG|0644`.
fn mode(m: u64) -> String {
    let kind = match m & 0o170000 {
        0o140000 => "S_IFSOCK|",
        0o120000 => "S_IFLNK|",
        0o100000 => "S_IFREG|",
        0o060000 => "S_IFBLK|",
        0o040000 => "S_IFDIR|",
        0o020000 => "S_IFCHR|",
        0o010000 => "S_IFIFO|",
        _ => "",
    };
    if kind.is_empty() {
        oct(m)
    } else {
        format!("{kind}{}", oct(m & 0o7777))
    }
}

/// `open` flags: the access mode, then the other flags.
fn open_flags(v: u64) -> String {
    let v = v & 0xffff_ffff;
    let acc = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"][(v & 3) as usize];
    let rest = v & !3;
    if rest == 0 {
        acc.to_string()
    } else {
        format!("{acc}|{}", OPEN_FLAGS.flags(rest))
    }
}

/// `clone` flags: the flags, then the exit signal in the low byte.
fn clone_flags(v: u64) -> String {
    let (flags, sig) = (v & !0xff, (v & 0xff) as i64);
    match (flags, sig) {
        (0, _) => signame(sig),
        (_, 0) => CLONE_FLAGS.flags(flags),
        _ => format!("{}|{}", CLONE_FLAGS.flags(flags), signame(sig)),
    }
}

/// The fds set in an `fd_set`: `[3 5]`.
fn fd_list(bytes: &[u8], nfds: usize) -> String {
    let fds: Vec<String> = (0..nfds.min(bytes.len() * 8))
        .filter(|&fd| bytes[fd / 8] >> (fd % 8) & 1 == 1)
        .map(|fd| fd.to_string())
        .collect();
    format!("[{}]", fds.join(" "))
}

/// An rlimit value: `RLIM64_INFINITY`, `8192*1024`, `1024`.
fn rlim(v: u64, infinity: &str) -> String {
    if v == u64::MAX {
        infinity.to_string()
    } else if v > 1024 && v & 1023 == 0 {
        format!("{}*1024", v / 1024)
    } else {
        v.to_string()
    }
}

/// A wait status: `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
fn wait_status(s: u32) -> String {
    let inner = if s & 0x7f == 0 {
        format!("WIFEXITED(s) && WEXITSTATUS(s) == {}", (s >> 8) & 0xff)
    } else if s & 0xff == 0x7f {
        format!("WIFSTOPPED(s) && WSTOPSIG(s) == {}", signame(i64::from((s >> 8) & 0xff)))
    } else if s == 0xffff {
        "WIFCONTINUED(s)".to_string()
    } else {
        let core = if s & 0x80 != 0 { " && WCOREDUMP(s)" } else { "" };
        format!("WIFSIGNALED(s) && WTERMSIG(s) == {}{core}", signame(i64::from(s & 0x7f)))
    };
    format!("[{{{inner}}}]")
}

/// An errno result: `-1 ENOENT (No such file or directory)`.
/// The name of errno `e`, e.g. `ENOSYS`.
pub(crate) fn errno_name(e: i32) -> String {
    match ERRNOS.get(e as usize).filter(|n| !n.is_empty()) {
        Some(name) => name.to_string(),
        None => e.to_string(),
    }
}

fn errno_text(e: i64) -> String {
    if let Some(&(_, name, text)) = RESTARTS.iter().find(|r| r.0 == e) {
        return format!("? {name} ({text})");
    }
    let text = std::io::Error::from_raw_os_error(e as i32).to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    match ERRNOS.get(e as usize).filter(|n| !n.is_empty()) {
        Some(name) => format!("-1 {name} ({text})"),
        None => format!("-1 {e} ({text})"),
    }
}

fn le_u16(b: &[u8], off: usize) -> u64 {
    u64::from(u16::from_le_bytes([b[off], b[off + 1]]))
}

fn le_u32(b: &[u8], off: usize) -> u64 {
    u64::from(crate::le::u32_at(b, off))
}

fn le_u64(b: &[u8], off: usize) -> u64 {
    crate::le::u64_at(b, off)
}

fn le_i32(b: &[u8], off: usize) -> i64 {
    i64::from(le_u32(b, off) as u32 as i32)
}

fn le_i64(b: &[u8], off: usize) -> i64 {
    le_u64(b, off) as i64
}

/// A NUL-padded byte field as a string literal (`utsname`, `sun_path`).
fn quote_field(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    quote(&b[..end], false)
}

impl Ctx<'_> {
    /// The result, if the call succeeded.
    fn ok(&self) -> Option<u64> {
        self.ret.filter(|&r| !is_error(r)).map(|r| r as u64)
    }

    fn failed(&self) -> bool {
        self.ret.is_some_and(is_error)
    }

    /// Exactly `len` bytes at `addr`, or None (also for NULL).
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        if addr == 0 {
            return None;
        }
        self.mem.read(addr, len).filter(|b| b.len() == len)
    }

    fn read_u32(&self, addr: u64) -> Option<u64> {
        self.read(addr, 4).map(|b| le_u32(&b, 0))
    }

    fn read_u64(&self, addr: u64) -> Option<u64> {
        self.read(addr, 8).map(|b| le_u64(&b, 0))
    }

    /// A NUL-terminated string of at most `max` bytes: its bytes, and
    /// whether the NUL was found within them.
    fn read_cstr(&self, addr: u64, max: usize) -> Option<(Vec<u8>, bool)> {
        if addr == 0 {
            return None;
        }
        let mut out = Vec::new();
        while out.len() < max {
            let at = addr + out.len() as u64;
            let to_page_end = 4096 - (at % 4096) as usize;
            let chunk = self.mem.read(at, to_page_end.min(max - out.len()));
            let chunk = match chunk {
                Some(c) if !c.is_empty() => c,
                _ if out.is_empty() => return None,
                _ => return Some((out, false)),
            };
            if let Some(end) = chunk.iter().position(|&c| c == 0) {
                out.extend_from_slice(&chunk[..end]);
                return Some((out, true));
            }
            out.extend_from_slice(&chunk);
        }
        Some((out, false))
    }

    /// A path: the whole string, or the address if unreadable.
    fn path(&self, addr: u64) -> String {
        match self.read_cstr(addr, PATH_MAX) {
            Some((s, true)) => quote(&s, false),
            Some((s, false)) => quote(&s, false) + "...",
            None => ptr(addr),
        }
    }

    /// A string cut at 32 bytes, or the address if unreadable.
    fn string(&self, addr: u64) -> String {
        match self.read_cstr(addr, MAX_STR + 1) {
            Some((s, true)) => quote(&s, false),
            Some((s, false)) => quote_cut(&s, s.len(), false),
            None => ptr(addr),
        }
    }

    /// A buffer of `len` bytes, cut at 32, or the address if unreadable.
    fn buf(&self, addr: u64, len: u64, all_hex: bool) -> String {
        let shown = len.min(MAX_STR as u64) as usize;
        if shown == 0 && addr != 0 {
            return "\"\"".into();
        }
        match self.read(addr, shown) {
            Some(b) => quote_cut(&b, len as usize, all_hex),
            None => ptr(addr),
        }
    }

    /// `[N]`: the int at `addr`, as `f` renders it.
    fn int_at(&self, addr: u64, f: impl Fn(u64) -> String) -> String {
        match self.read_u32(addr) {
            Some(v) => format!("[{}]", f(v)),
            None => ptr(addr),
        }
    }

    /// Index of the first output argument (or the argument count).
    fn split(&self, sys: &Row) -> usize {
        sys.args.iter().position(|&k| self.is_out(k)).unwrap_or(sys.args.len())
    }

    /// Whether the entry text ends with the separator before the first
    /// output argument (true except for `clone3`'s ` => {...}`).
    fn entry_ends_with_separator(&self, sys: &Row, split: usize) -> bool {
        split > 0 && split < sys.args.len() && sys.args[split] != Arg::Clone3Out
    }

    fn ioctl(&self) -> Option<&'static (u32, &'static str, Io)> {
        IOCTLS.iter().find(|i| u64::from(i.0) == self.a[1] & 0xffff_ffff)
    }

    fn fcntl(&self) -> Option<&'static (u32, &'static str, Fc)> {
        FCNTLS.iter().find(|f| u64::from(f.0) == self.a[1] & 0xffff_ffff)
    }

    fn prctl(&self) -> Option<&'static (u64, &'static str, Pr)> {
        PRCTLS.iter().find(|p| p.0 == self.a[0] & 0xffff_ffff)
    }

    /// Whether argument kind `k` is printed after the call.
    fn is_out(&self, k: Arg) -> bool {
        use Arg::*;
        match k {
            BufOut | BufOutHex | PathOut | IovOut | IntOut | SockLen | SigSetOut | SigactionOut
            | StackOut | TimespecOut | TimespecRem | TimevalOut | StatOut | StatxOut | PipeOut
            | WaitStatus | RlimitOut | UtsnameOut | SysinfoOut | DirentsOut | SockAddrOut | CpuSetOut => true,
            CloneOut => {
                self.a[0]
                    & (CLONE_PARENT_SETTID
                        | CLONE_PIDFD
                        | CLONE_CHILD_SETTID
                        | CLONE_CHILD_CLEARTID
                        | CLONE_SETTLS)
                    != 0
            }
            Clone3Out => {
                self.read_u64(self.a[0]).is_some_and(|f| f & (CLONE_PIDFD | CLONE_PARENT_SETTID) != 0)
            }
            IoctlData => {
                self.ioctl().is_some_and(|i| matches!(i.2, Io::IntOut | Io::TermiosOut | Io::WinsizeOut))
            }
            PrctlRest => self
                .prctl()
                .is_some_and(|p| matches!(p.2, Pr::SignalOut | Pr::IntOut | Pr::PtrOut | Pr::NameOut)),
            ArchPrctlAddr => matches!(self.a[0], 0x1003 | 0x1004),
            FcntlValue => matches!(self.a[1] & 0xffff_ffff, F_GETLK | F_OFD_GETLK),
            _ => false,
        }
    }

    /// Argument `i`, printed as kind `k`; None if this call omits it.
    fn arg(&self, k: Arg, i: usize) -> Option<String> {
        use Arg::*;
        let v = self.a[i];
        if self.failed() && self.is_out(k) {
            return match k {
                Clone3Out => None,
                CloneOut => self.clone_out(false),
                SockLen => Some(self.int_at(v, |n| n.to_string())),
                _ => Some(ptr(v)),
            };
        }
        Some(match k {
            Int | Fd => (v as i32).to_string(),
            Uint => (v as u32).to_string(),
            Long => (v as i64).to_string(),
            Size => v.to_string(),
            Hex => hex(v),
            Ptr | Out(_) | OutArr(..) | OutAny | Range | Addr | MsgHdr(_) | MmsgVec(_) | BpfAttr
            | XattrArgs(_) => ptr(v),
            BpfCmd => crate::bpf::command_name(v).map_or_else(|| v.to_string(), str::to_string),
            Oct => oct(v & 0xffff_ffff),
            DirFd if v as i32 == -100 => "AT_FDCWD".into(),
            DirFd => (v as i32).to_string(),
            Path => self.path(v),
            Str => self.string(v),
            BufIn => self.buf(v, self.a[i + 1], false),
            BufOut => self.buf(v, self.ok()?, false),
            BufOutHex => self.buf(v, self.ok()?, true),
            PathOut => self.path(v),
            Argv => self.argv(v),
            Envp => self.envp(v),
            IovIn => self.iovec(v, self.a[i + 1], None),
            IovOut => self.iovec(v, self.a[i + 1], self.ok()),
            IntOut => self.int_at(v, |n| (n as u32 as i32).to_string()),
            SockLen => self.int_at(v, |n| n.to_string()),
            Flags(x) => x.flags(v & 0xffff_ffff),
            Enum(x) => x.val(v & 0xffff_ffff),
            OpenFlags => open_flags(v),
            FdFlags if v & 0xffff_ffff == 0 => "0".into(),
            FdFlags => OPEN_FLAGS.flags(v & 0xffff_ffff),
            OpenMode if self.a[i - 1] & (O_CREAT | O_TMPFILE_BIT) == 0 => return None,
            OpenMode => oct(v & 0o7777),
            MmapFlags => self.mmap_flags(v),
            MremapNewAddr if self.a[3] & MREMAP_FIXED == 0 => return None,
            MremapNewAddr => ptr(v),
            Signal => signame(i64::from(v as i32)),
            SigSetIn | SigSetOut => self.sigset_at(v),
            SigactionIn | SigactionOut => self.sigaction(v),
            StackIn | StackOut => self.stack(v),
            TimespecIn | TimespecOut => self.timespec(v, "tv_nsec"),
            TimespecRem if self.ret == Some(-EINTR) => self.timespec(v, "tv_nsec"),
            TimespecRem => ptr(v),
            TimevalIn | TimevalOut => self.timespec(v, "tv_usec"),
            ClockId => match CLOCKS.name(v & 0xffff_ffff) {
                Some(n) => n.to_string(),
                None => (v as i32).to_string(),
            },
            StatOut => self.stat(v),
            StatxOut => self.statx(v),
            StatxFlags => self.statx_flags(v),
            PipeOut => match self.read(v, 8) {
                Some(b) => format!("[{}, {}]", le_i32(&b, 0), le_i32(&b, 4)),
                None => ptr(v),
            },
            WaitStatus if self.ok().unwrap_or(0) == 0 => ptr(v),
            WaitStatus => match self.read_u32(v) {
                Some(s) => wait_status(s as u32),
                None => ptr(v),
            },
            CloneArgs => format!("child_stack={}, flags={}", ptr(self.a[1]), clone_flags(self.a[0])),
            CloneOut => self.clone_out(true)?,
            Clone3Args => self.clone3_args(v),
            Clone3Out if !self.is_out(k) => return None,
            Clone3Out => self.clone3_out(self.a[0])?,
            Clone3Size => self.a[1].to_string(),
            Skip => return None,
            FcntlCmd => match self.fcntl() {
                Some(f) => f.1.to_string(),
                None => format!("{} /* F_??? */", hex(v & 0xffff_ffff)),
            },
            FcntlValue => self.fcntl_arg()?,
            IoctlReq => match self.ioctl() {
                Some(i) => i.1.to_string(),
                None => hex(v & 0xffff_ffff),
            },
            IoctlData => self.ioctl_arg()?,
            FutexOp => futex_op(v & 0xffff_ffff),
            FutexRest => self.futex_rest()?,
            ArchPrctlAddr if self.is_out(k) => self.u64_at(v),
            ArchPrctlAddr => hex(v),
            PrctlOption => match self.prctl() {
                Some(p) => p.1.to_string(),
                None => format!("{} /* PR_??? */", hex(v & 0xffff_ffff)),
            },
            PrctlRest => self.prctl_rest()?,
            RlimitIn | RlimitOut => self.rlimit(v),
            UtsnameOut => self.utsname(v),
            SysinfoOut => self.sysinfo(v),
            DirentsOut => self.dirents(v),
            PollFds => self.pollfds(v, self.a[i + 1], false),
            FdSet => self.fd_set(v),
            PselectSigmask => self.pselect_sigmask(v),
            SockType => self.sock_type(v),
            SockProto => self.sock_proto(v),
            SockAddrIn => self.sockaddr(v, self.a[i + 1]),
            SockAddrOut => match self.read_u32(self.a[i + 1]) {
                Some(len) => self.sockaddr(v, len),
                None => ptr(v),
            },
            CpuSetIn => self.cpuset(v, self.a[i - 1]),
            CpuSetOut => self.cpuset(v, self.ok()?),
            EpollEvent => self.epoll_event(v),
        })
    }

    /// `[0x7f...]`: the u64 at `addr`.
    fn u64_at(&self, addr: u64) -> String {
        match self.read_u64(addr) {
            Some(v) => format!("[{}]", hex(v)),
            None => ptr(addr),
        }
    }

    /// `mmap` flags: the mapping type, the flags, the huge page size.
    fn mmap_flags(&self, v: u64) -> String {
        let v = v & 0xffff_ffff;
        let mut s = match MAP_TYPE.name(v & 0xf) {
            Some(n) => n.to_string(),
            None => hex(v & 0xf),
        };
        let flags = v & !0xf & !MAP_HUGE_MASK;
        if flags != 0 {
            let _ = write!(s, "|{}", MAP_FLAGS.flags(flags));
        }
        if v & MAP_HUGE_MASK != 0 {
            let _ = write!(s, "|{}<<MAP_HUGE_SHIFT", v >> 26);
        }
        s
    }

    fn sigset_at(&self, addr: u64) -> String {
        match self.read_u64(addr) {
            Some(bits) => sigset(bits),
            None => ptr(addr),
        }
    }

    /// Kernel `struct sigaction`: handler, flags, restorer, mask.
    fn sigaction(&self, addr: u64) -> String {
        let Some(b) = self.read(addr, 32) else { return ptr(addr) };
        let handler = match le_u64(&b, 0) {
            0 => "SIG_DFL".to_string(),
            1 => "SIG_IGN".to_string(),
            h => hex(h),
        };
        let flags = le_u64(&b, 8);
        let mut s = format!(
            "{{sa_handler={handler}, sa_mask={}, sa_flags={}",
            sigset(le_u64(&b, 24)),
            SA_FLAGS.flags(flags)
        );
        if flags & 0x04000000 != 0 {
            let _ = write!(s, ", sa_restorer={}", ptr(le_u64(&b, 16)));
        }
        s + "}"
    }

    /// `stack_t`: `{ss_sp=0x..., ss_flags=0, ss_size=8192}`.
    fn stack(&self, addr: u64) -> String {
        let Some(b) = self.read(addr, 24) else { return ptr(addr) };
        format!(
            "{{ss_sp={}, ss_flags={}, ss_size={}}}",
            ptr(le_u64(&b, 0)),
            SS_FLAGS.flags(le_u32(&b, 8)),
            le_u64(&b, 16)
        )
    }

    /// `struct timespec` or (with `frac` = `tv_usec`) `struct timeval`.
    fn timespec(&self, addr: u64, frac: &str) -> String {
        match self.read(addr, 16) {
            Some(b) => format!("{{tv_sec={}, {frac}={}}}", le_i64(&b, 0), le_i64(&b, 8)),
            None => ptr(addr),
        }
    }

    /// `struct stat`, abbreviated: `{st_mode=S_IFREG|0644, st_size=3, ...}`.
    fn stat(&self, addr: u64) -> String {
        let Some(b) = self.read(addr, 144) else { return ptr(addr) };
        let m = le_u32(&b, 24);
        let size = if matches!(m & 0o170000, 0o020000 | 0o060000) {
            let dev = le_u64(&b, 40);
            let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
            let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
            format!("st_rdev=makedev({}, {})", hex(major), hex(minor))
        } else {
            format!("st_size={}", le_i64(&b, 48))
        };
        format!("{{st_mode={}, {size}, ...}}", mode(m))
    }

    /// `struct statx`, abbreviated like strace does.
    fn statx(&self, addr: u64) -> String {
        let Some(b) = self.read(addr, 48) else { return ptr(addr) };
        format!(
            "{{stx_mask={}, stx_attributes={}, stx_mode={}, stx_size={}, ...}}",
            STATX_MASK.flags(le_u32(&b, 0)),
            STATX_ATTRS.flags(le_u64(&b, 8)),
            mode(le_u16(&b, 28)),
            le_u64(&b, 40)
        )
    }

    fn statx_flags(&self, v: u64) -> String {
        let v = v & 0xffff_ffff;
        let sync = STATX_SYNC.val(v & 0x6000);
        if v & !0x6000 == 0 {
            sync
        } else {
            format!("{sync}|{}", AT_FLAGS.flags(v & !0x6000))
        }
    }

    /// `["ls", "-l"]`, cut after 32 elements.
    fn argv(&self, addr: u64) -> String {
        let mut items = Vec::new();
        for n in 0.. {
            let Some(p) = self.read_u64(addr + 8 * n) else {
                return ptr(addr);
            };
            if p == 0 {
                break;
            }
            if items.len() == MAX_STR {
                items.push("...".to_string());
                break;
            }
            items.push(self.string(p));
        }
        format!("[{}]", items.join(", "))
    }

    /// `0x7ffc... /* 35 vars */`.
    fn envp(&self, addr: u64) -> String {
        for n in 0..=PATH_MAX as u64 {
            match self.read_u64(addr + 8 * n) {
                Some(0) => {
                    let vars = if n == 1 { "var" } else { "vars" };
                    return format!("{} /* {n} {vars} */", ptr(addr));
                }
                Some(_) => {}
                None => break,
            }
        }
        ptr(addr)
    }

    /// `[{iov_base="ab", iov_len=2}, ...]`; for an output array, `filled`
    /// is how many bytes the call stored.
    fn iovec(&self, addr: u64, count: u64, filled: Option<u64>) -> String {
        let shown = count.min(MAX_STR as u64) as usize;
        let Some(b) = self.read(addr, shown * 16) else { return ptr(addr) };
        let mut left = filled.unwrap_or(u64::MAX);
        let mut items: Vec<String> = (0..shown)
            .map(|n| {
                let (base, len) = (le_u64(&b, n * 16), le_u64(&b, n * 16 + 8));
                let data_len = len.min(left);
                left -= data_len;
                format!("{{iov_base={}, iov_len={len}}}", self.buf(base, data_len, false))
            })
            .collect();
        if count > shown as u64 {
            items.push("...".into());
        }
        format!("[{}]", items.join(", "))
    }

    /// `clone`'s exit part, if its flags call for one.
    fn clone_out(&self, ok: bool) -> Option<String> {
        let flags = self.a[0];
        let mut parts = Vec::new();
        if flags & (CLONE_PARENT_SETTID | CLONE_PIDFD) != 0 {
            let tid = if ok { self.int_at(self.a[2], |n| n.to_string()) } else { ptr(self.a[2]) };
            parts.push(format!("parent_tid={tid}"));
        }
        if flags & CLONE_SETTLS != 0 {
            parts.push(format!("tls={}", ptr(self.a[4])));
        }
        if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) != 0 {
            parts.push(format!("child_tidptr={}", ptr(self.a[3])));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// `struct clone_args`, with the fields strace shows.
    fn clone3_args(&self, addr: u64) -> String {
        let size = self.a[1].min(88) as usize;
        if size < 64 {
            return ptr(addr);
        }
        let Some(b) = self.read(addr, size) else { return ptr(addr) };
        let field = |n: usize| if n * 8 + 8 <= size { le_u64(&b, n * 8) } else { 0 };
        let flags = field(0);
        let mut s = format!("{{flags={}", CLONE_FLAGS.flags(flags));
        if flags & CLONE_PIDFD != 0 {
            let _ = write!(s, ", pidfd={}", ptr(field(1)));
        }
        if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) != 0 {
            let _ = write!(s, ", child_tid={}", ptr(field(2)));
        }
        if flags & CLONE_PARENT_SETTID != 0 {
            let _ = write!(s, ", parent_tid={}", ptr(field(3)));
        }
        let exit_signal = field(4);
        if exit_signal < i32::MAX as u64 {
            let _ = write!(s, ", exit_signal={}", signame(exit_signal as i64));
        } else {
            let _ = write!(s, ", exit_signal={exit_signal}");
        }
        let _ = write!(s, ", stack={}, stack_size={}", ptr(field(5)), hex(field(6)));
        if flags & CLONE_SETTLS != 0 {
            let _ = write!(s, ", tls={}", ptr(field(7)));
        }
        if field(8) != 0 || field(9) != 0 {
            let _ = write!(s, ", set_tid={}, set_tid_size={}", ptr(field(8)), field(9));
        }
        if field(10) != 0 || flags & CLONE_INTO_CGROUP != 0 {
            let _ = write!(s, ", cgroup={}", field(10));
        }
        s + "}"
    }

    /// `clone3`'s fields written by the kernel: `{parent_tid=[42]}`.
    fn clone3_out(&self, addr: u64) -> Option<String> {
        let flags = self.read_u64(addr)?;
        let mut parts = Vec::new();
        if flags & CLONE_PIDFD != 0 {
            let pidfd = self.read_u64(addr + 8)?;
            parts.push(format!("pidfd={}", self.int_at(pidfd, |n| n.to_string())));
        }
        if flags & CLONE_PARENT_SETTID != 0 {
            let tid = self.read_u64(addr + 24)?;
            parts.push(format!("parent_tid={}", self.int_at(tid, |n| n.to_string())));
        }
        Some(format!("{{{}}}", parts.join(", ")))
    }

    fn fcntl_arg(&self) -> Option<String> {
        let v = self.a[2];
        let Some(&(_, _, kind)) = self.fcntl() else { return Some(hex(v)) };
        Some(match kind {
            Fc::None => return None,
            Fc::Int => (v as i32).to_string(),
            Fc::FdFlags => FD_FLAGS.flags(v & 0xffff_ffff),
            Fc::OpenFlags => open_flags(v),
            Fc::Signal => signame(i64::from(v as i32)),
            Fc::Seals => SEALS.flags(v & 0xffff_ffff),
            Fc::Lease => LOCK_TYPES.val(v & 0xffff_ffff),
            Fc::Hex => hex(v),
            Fc::Flock => match self.read(v, 32) {
                Some(b) => {
                    let mut s = format!(
                        "{{l_type={}, l_whence={}, l_start={}, l_len={}",
                        LOCK_TYPES.val(le_u16(&b, 0)),
                        WHENCE.val(le_u16(&b, 2)),
                        le_i64(&b, 8),
                        le_i64(&b, 16)
                    );
                    if self.is_out(Arg::FcntlValue) {
                        let _ = write!(s, ", l_pid={}", le_i32(&b, 24));
                    }
                    s + "}"
                }
                None => ptr(v),
            },
        })
    }

    fn ioctl_arg(&self) -> Option<String> {
        let v = self.a[2];
        let Some(&(_, _, kind)) = self.ioctl() else { return Some(hex(v)) };
        Some(match kind {
            Io::None => return None,
            Io::Hex => hex(v),
            Io::Int => (v as i32).to_string(),
            Io::Flush => TCFLSH_ARGS.val(v & 0xffff_ffff),
            Io::IntIn | Io::IntOut => self.int_at(v, |n| (n as u32 as i32).to_string()),
            Io::TermiosIn | Io::TermiosOut => self.termios(v),
            Io::WinsizeIn | Io::WinsizeOut => match self.read(v, 8) {
                Some(b) => format!(
                    "{{ws_row={}, ws_col={}, ws_xpixel={}, ws_ypixel={}}}",
                    le_u16(&b, 0),
                    le_u16(&b, 2),
                    le_u16(&b, 4),
                    le_u16(&b, 6)
                ),
                None => ptr(v),
            },
        })
    }

    /// `struct termios`, abbreviated like strace does.
    fn termios(&self, addr: u64) -> String {
        let Some(b) = self.read(addr, 16) else { return ptr(addr) };
        let (iflag, oflag, cflag, lflag) = (le_u32(&b, 0), le_u32(&b, 4), le_u32(&b, 8), le_u32(&b, 12));
        let mut o: Vec<String> = TERM_ODELAYS
            .iter()
            .map(|&(mask, names)| {
                names[((oflag as u32 & mask) >> mask.trailing_zeros()) as usize].to_string()
            })
            .collect();
        let delays: u64 = TERM_ODELAYS.iter().map(|d| u64::from(d.0)).sum();
        if oflag & !delays != 0 {
            o.push(TERM_OFLAGS.flags(oflag & !delays));
        }
        let baud = |v: u64| {
            let high = v & 0x1000 != 0;
            let names = if high { &BAUDS_HIGH } else { &BAUDS };
            names[(v & 0xf) as usize]
        };
        let mut c = vec![baud(cflag & 0x100f).to_string()];
        if cflag & 0x100f_0000 != 0 {
            c.push(format!("{}<<IBSHIFT", baud((cflag >> 16) & 0x100f)));
        }
        c.push(format!("CS{}", 5 + ((cflag >> 4) & 3)));
        let rest = cflag & !0x100f_103f;
        if rest != 0 {
            c.push(TERM_CFLAGS.flags(rest));
        }
        format!(
            "{{c_iflag={}, c_oflag={}, c_cflag={}, c_lflag={}, ...}}",
            TERM_IFLAGS.flags(iflag),
            o.join("|"),
            c.join("|"),
            TERM_LFLAGS.flags(lflag)
        )
    }

    fn futex_rest(&self) -> Option<String> {
        let a = self.a;
        let val = (a[2] as u32).to_string();
        let val2 = (a[3] as u32).to_string();
        let timeout = || self.timespec(a[3], "tv_nsec");
        let bitset = || match a[5] as u32 {
            u32::MAX => "FUTEX_BITSET_MATCH_ANY".to_string(),
            b => hex(u64::from(b)),
        };
        let cmd = a[1] & 127;
        let layout = FUTEX_CMDS.iter().find(|c| c.0 == cmd).map(|c| c.2);
        let parts = match layout {
            None => vec![val, ptr(a[3]), ptr(a[4]), hex(a[5] & 0xffff_ffff)],
            Some(Fx::Nothing) => return None,
            Some(Fx::Val) => vec![val],
            Some(Fx::Timeout) => vec![timeout()],
            Some(Fx::ValTimeout) => vec![val, timeout()],
            Some(Fx::ValTimeoutBitset) => vec![val, timeout(), bitset()],
            Some(Fx::ValBitset) => vec![val, bitset()],
            Some(Fx::ValVal2Uaddr2) => vec![val, val2, ptr(a[4])],
            Some(Fx::ValVal2Uaddr2Val3) => vec![val, val2, ptr(a[4]), (a[5] as u32).to_string()],
            Some(Fx::ValTimeoutUaddr2) => vec![val, timeout(), ptr(a[4])],
            Some(Fx::WakeOp) => {
                let v3 = a[5] & 0xffff_ffff;
                let mut op = String::new();
                if (v3 >> 28) & 8 != 0 {
                    op += "FUTEX_OP_OPARG_SHIFT<<28|";
                }
                let _ = write!(
                    op,
                    "{}<<28|{}<<12|{}<<24|{}",
                    FUTEX_WAKE_OPS.val((v3 >> 28) & 7),
                    hex((v3 >> 12) & 0xfff),
                    FUTEX_WAKE_CMPS.val((v3 >> 24) & 0xf),
                    hex(v3 & 0xfff)
                );
                vec![val, val2, ptr(a[4]), op]
            }
        };
        Some(parts.join(", "))
    }

    fn prctl_rest(&self) -> Option<String> {
        let a = self.a;
        let Some(&(_, _, kind)) = self.prctl() else {
            return Some(a[1..5].iter().map(|&v| hex(v)).collect::<Vec<_>>().join(", "));
        };
        Some(match kind {
            Pr::None => return None,
            Pr::Hex4 => a[1..5].iter().map(|&v| hex(v)).collect::<Vec<_>>().join(", "),
            Pr::Dec4 => a[1..5].iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "),
            Pr::Dec1 => a[1].to_string(),
            Pr::Signal => signame(i64::from(a[1] as i32)),
            Pr::SignalOut => self.int_at(a[1], |n| signame(i64::from(n as u32 as i32))),
            Pr::IntOut => self.int_at(a[1], |n| (n as u32 as i32).to_string()),
            Pr::PtrOut => self.u64_at(a[1]),
            Pr::NameIn | Pr::NameOut => self.string(a[1]),
            Pr::Cap => CAPS.val(a[1] & 0xffff_ffff),
            Pr::Dumpable => DUMPABLE.val(a[1] & 0xffff_ffff),
            Pr::SetVma => format!("{}, {}, {}, {}", SET_VMA.val(a[1]), ptr(a[2]), a[3], self.string(a[4])),
        })
    }

    fn rlimit(&self, addr: u64) -> String {
        let Some(b) = self.read(addr, 16) else { return ptr(addr) };
        let inf = if self.nr == 302 { "RLIM64_INFINITY" } else { "RLIM_INFINITY" };
        format!("{{rlim_cur={}, rlim_max={}}}", rlim(le_u64(&b, 0), inf), rlim(le_u64(&b, 8), inf))
    }

    fn utsname(&self, addr: u64) -> String {
        let Some(b) = self.read(addr, 130) else { return ptr(addr) };
        format!("{{sysname={}, nodename={}, ...}}", quote_field(&b[..65]), quote_field(&b[65..130]))
    }

    fn sysinfo(&self, addr: u64) -> String {
        let Some(b) = self.read(addr, 112) else { return ptr(addr) };
        let u = |off| le_u64(&b, off);
        format!(
            "{{uptime={}, loads=[{}, {}, {}], totalram={}, freeram={}, sharedram={}, \
             bufferram={}, totalswap={}, freeswap={}, procs={}, totalhigh={}, freehigh={}, \
             mem_unit={}}}",
            le_i64(&b, 0),
            u(8),
            u(16),
            u(24),
            u(32),
            u(40),
            u(48),
            u(56),
            u(64),
            u(72),
            le_u16(&b, 80),
            u(88),
            u(96),
            le_u32(&b, 104)
        )
    }

    /// `0x... /* 5 entries */`: counts the records the call returned.
    fn dirents(&self, addr: u64) -> String {
        let len = self.ok().unwrap_or(0) as usize;
        let Some(b) = self.read(addr, len).filter(|_| len > 0 || addr != 0) else {
            return ptr(addr);
        };
        let (mut off, mut n) = (0, 0);
        while off + 18 <= b.len() {
            n += 1;
            let reclen = le_u16(&b, off + 16) as usize;
            if reclen == 0 {
                break;
            }
            off += reclen;
        }
        format!("{} /* {n} entries */", ptr(addr))
    }

    /// `[{fd=3, events=POLLIN}]`, or with `revents` only the entries that
    /// have any, as `[{fd=3, revents=POLLIN}]`.
    fn pollfds(&self, addr: u64, nfds: u64, revents: bool) -> String {
        let shown = nfds.min(MAX_STR as u64) as usize;
        let Some(b) = self.read(addr, shown * 8) else { return ptr(addr) };
        let mut items: Vec<String> = (0..shown)
            .filter_map(|n| {
                let fd = le_i32(&b, n * 8);
                if revents {
                    let r = le_u16(&b, n * 8 + 6);
                    (r != 0).then(|| format!("{{fd={fd}, revents={}}}", POLL_EVENTS.flags(r)))
                } else {
                    Some(format!("{{fd={fd}, events={}}}", POLL_EVENTS.flags(le_u16(&b, n * 8 + 4))))
                }
            })
            .collect();
        if nfds > shown as u64 && !revents {
            items.push("...".into());
        }
        format!("[{}]", items.join(", "))
    }

    /// The `fd_set` at `addr`, sized by the first argument (`nfds`).
    fn fd_set(&self, addr: u64) -> String {
        let nfds = (self.a[0] as i32).clamp(0, 1 << 20) as usize;
        let bytes = nfds.div_ceil(64) * 8;
        match self.read(addr, bytes) {
            Some(b) => fd_list(&b, nfds),
            None => ptr(addr),
        }
    }

    fn pselect_sigmask(&self, addr: u64) -> String {
        let Some(b) = self.read(addr, 16) else { return ptr(addr) };
        format!("{{sigmask={}, sigsetsize={}}}", self.sigset_at(le_u64(&b, 0)), le_u64(&b, 8))
    }

    fn sock_type(&self, v: u64) -> String {
        let v = v & 0xffff_ffff;
        let ty = SOCK_TYPES.val(v & 0xf);
        if v & !0xf == 0 {
            ty
        } else {
            format!("{ty}|{}", SOCK_FLAGS.flags(v & !0xf))
        }
    }

    fn sock_proto(&self, v: u64) -> String {
        let v = v & 0xffff_ffff;
        match self.a[0] as u16 {
            AF_INET | AF_INET6 => IP_PROTOS.val(v),
            AF_NETLINK => NETLINK_PROTOS.val(v),
            _ => (v as i32).to_string(),
        }
    }

    /// `struct sockaddr` of `len` bytes, decoded for the common families.
    fn sockaddr(&self, addr: u64, len: u64) -> String {
        let len = (len as u32).min(128) as usize;
        if len < 2 {
            return ptr(addr);
        }
        let Some(b) = self.read(addr, len) else { return ptr(addr) };
        let family = le_u16(&b, 0) as u16;
        let fam = format!("sa_family={}", ADDRESS_FAMILIES.val(u64::from(family)));
        let rest = match family {
            AF_UNIX if len > 2 && b[2] == 0 => format!(", sun_path=@{}", quote_field(&b[3..])),
            AF_UNIX if len > 2 => format!(", sun_path={}", quote_field(&b[2..])),
            AF_INET if len >= 8 => format!(
                ", sin_port=htons({}), sin_addr=inet_addr(\"{}\")",
                u16::from_be_bytes([b[2], b[3]]),
                std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7])
            ),
            AF_INET6 if len >= 24 => {
                let ip: [u8; 16] = b[8..24].try_into().unwrap();
                let scope = if len >= 28 { le_u32(&b, 24).to_string() } else { "0".into() };
                format!(
                    ", sin6_port=htons({}), sin6_flowinfo=htonl({}), \
                     inet_pton(AF_INET6, \"{}\", &sin6_addr), sin6_scope_id={scope}",
                    u16::from_be_bytes([b[2], b[3]]),
                    u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    std::net::Ipv6Addr::from(ip)
                )
            }
            AF_NETLINK if len >= 12 => {
                format!(", nl_pid={}, nl_groups={:08x}", le_u32(&b, 4), le_u32(&b, 8))
            }
            _ if len > 2 => format!(", sa_data={}", quote(&b[2..], false)),
            _ => String::new(),
        };
        format!("{{{fam}{rest}}}")
    }

    /// A CPU set of `len` bytes: `[0 1 2 3]`.
    fn cpuset(&self, addr: u64, len: u64) -> String {
        let len = len.min(1024) as usize;
        match self.read(addr, len) {
            Some(b) => fd_list(&b, len * 8),
            None => ptr(addr),
        }
    }

    fn epoll_event(&self, addr: u64) -> String {
        let Some(b) = self.read(addr, 12) else { return ptr(addr) };
        let data = le_u64(&b, 4);
        format!("{{events={}, data={{u32={}, u64={data}}}}}", EPOLL_EVENTS.flags(le_u32(&b, 0)), data as u32)
    }

    /// The result, as strace prints it after ` = `.
    fn ret_text(&self, sys: Option<&Row>) -> String {
        let r = self.ret.unwrap_or(0);
        let kind = sys.map_or(Ret::Dec, |s| s.ret);
        if kind == Ret::NoReturn {
            return "?".into();
        }
        if is_error(r) {
            return errno_text(-r);
        }
        match kind {
            Ret::Dec | Ret::NoReturn => r.to_string(),
            Ret::Hex => hex(r as u64),
            Ret::Oct => oct(r as u64),
            Ret::Fcntl => self.fcntl_ret(r),
            Ret::Prctl if self.a[0] == PR_GET_DUMPABLE => format!("{r} ({})", DUMPABLE.val(r as u64)),
            Ret::Prctl => r.to_string(),
            Ret::Poll | Ret::Ppoll => {
                if r == 0 {
                    return "0 (Timeout)".into();
                }
                let mut s = format!("{r} ({}", self.pollfds(self.a[0], self.a[1], true));
                if kind == Ret::Ppoll && self.a[2] != 0 {
                    let _ = write!(s, ", left {}", self.timespec(self.a[2], "tv_nsec"));
                }
                s + ")"
            }
            Ret::Select | Ret::Pselect => {
                if r == 0 {
                    return "0 (Timeout)".into();
                }
                let mut parts: Vec<String> = [(1, "in"), (2, "out"), (3, "except")]
                    .iter()
                    .filter(|&&(i, _)| self.a[i] != 0)
                    .map(|&(i, name)| (name, self.fd_set(self.a[i])))
                    .filter(|(_, set)| set != "[]")
                    .map(|(name, set)| format!("{name} {set}"))
                    .collect();
                if self.a[4] != 0 {
                    let frac = if kind == Ret::Select { "tv_usec" } else { "tv_nsec" };
                    parts.push(format!("left {}", self.timespec(self.a[4], frac)));
                }
                format!("{r} ({})", parts.join(", "))
            }
        }
    }

    fn fcntl_ret(&self, r: i64) -> String {
        let cmd = (self.a[1] & 0xffff_ffff) as u32;
        let v = r as u64;
        match cmd {
            F_GETFD if r != 0 => format!("{} (flags {})", hex(v), FD_FLAGS.flags(v)),
            F_GETFL => format!("{} (flags {})", hex(v), open_flags(v)),
            F_GETLEASE => LOCK_TYPES.val(v),
            F_GET_SEALS if r != 0 => format!("{} (seals {})", hex(v), SEALS.flags(v)),
            _ => r.to_string(),
        }
    }
}

/// A futex op: `FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`.
fn futex_op(op: u64) -> String {
    let cmd = op & 127;
    let Some(&(_, name, _)) = FUTEX_CMDS.iter().find(|c| c.0 == cmd) else {
        return format!("{} /* FUTEX_??? */", hex(op));
    };
    let mut s = name.to_string();
    if op & FUTEX_PRIVATE_FLAG != 0 {
        s += "_PRIVATE";
    }
    if op & FUTEX_CLOCK_REALTIME != 0 {
        s += "|FUTEX_CLOCK_REALTIME";
    }
    let rest = op & !(127 | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if rest != 0 {
        let _ = write!(s, "|{}", hex(rest));
    }
    s
}

/// A signal delivered to a guest handler, as strace prints it:
/// `--- SIGALRM {si_signo=SIGALRM, si_code=SI_KERNEL} ---` (strace's
/// `printsiginfo`: the union arm by `si_code`).
pub fn format_signal(sig: i32, info: &[u8; 128]) -> String {
    let i32_at = |o: usize| i32::from_le_bytes(info[o..o + 4].try_into().unwrap_or_default());
    let u64_at = |o: usize| u64::from_le_bytes(info[o..o + 8].try_into().unwrap_or_default());
    let code = i32_at(8);
    let name = signame(i64::from(sig));
    let mut s = format!("--- {name} {{si_signo={name}, si_code=");
    let pid_uid = |s: &mut String| {
        let _ = write!(s, ", si_pid={}, si_uid={}", i32_at(16), i32_at(20) as u32);
    };
    let value = |s: &mut String| {
        let v = u64_at(24);
        let ptr = if v == 0 { "NULL".to_string() } else { format!("{v:#x}") };
        let _ = write!(s, ", si_int={}, si_ptr={ptr}", v as i32);
    };
    const CLD: [&str; 7] =
        ["", "CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"];
    match code {
        0 => {
            s += "SI_USER";
            pid_uid(&mut s);
        }
        -6 => {
            s += "SI_TKILL";
            pid_uid(&mut s);
        }
        -1 | -3 => {
            s += if code == -1 { "SI_QUEUE" } else { "SI_MESGQ" };
            pid_uid(&mut s);
            value(&mut s);
        }
        -2 => {
            let _ = write!(s, "SI_TIMER, si_timerid={:#x}, si_overrun={}", i32_at(16), i32_at(20));
            value(&mut s);
        }
        -4 => s += "SI_ASYNCIO",
        -5 => s += "SI_SIGIO",
        0x80 => s += "SI_KERNEL",
        1..=6 if sig == libc::SIGCHLD => {
            s += CLD[code as usize];
            pid_uid(&mut s);
            let status = i32_at(24);
            let st = if code == 1 { status.to_string() } else { signame(i64::from(status)) };
            let _ = write!(s, ", si_status={st}, si_utime={}, si_stime={}", u64_at(32), u64_at(40));
        }
        c => {
            let _ = write!(s, "{c}, si_addr={:#x}", u64_at(16));
        }
    }
    s + "} ---"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::ROWS as SYSCALLS;
    use std::collections::HashMap;

    /// Guest memory made of a few byte regions.
    #[derive(Default)]
    struct FakeMem(HashMap<u64, Vec<u8>>);

    impl FakeMem {
        fn with(mut self, addr: u64, bytes: &[u8]) -> Self {
            self.0.insert(addr, bytes.to_vec());
            self
        }
    }

    impl GuestMem for FakeMem {
        fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
            self.0.iter().find_map(|(&start, bytes)| {
                let off = usize::try_from(addr.checked_sub(start)?).ok()?;
                (off < bytes.len()).then(|| bytes[off..bytes.len().min(off + len)].to_vec())
            })
        }
    }

    const AT_FDCWD: u64 = -100i64 as u64;
    const ENOENT: i64 = 2;

    #[test]
    fn table_is_sorted_and_names_unique() {
        assert!(SYSCALLS.windows(2).all(|w| w[0].nr < w[1].nr));
        let mut names: Vec<_> = SYSCALLS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SYSCALLS.len());
        assert!(SYSCALLS.iter().all(|s| s.args.len() <= 6));
        assert_eq!(syscall_name(0), Some("read"));
        assert_eq!(syscall_name(257), Some("openat"));
        assert_eq!(syscall_name(435), Some("clone3"));
        assert_eq!(syscall_name(999), None);
    }

    #[test]
    fn kinds_that_read_neighbours_have_them() {
        for s in SYSCALLS {
            let last = s.args.len().saturating_sub(1);
            for (i, &k) in s.args.iter().enumerate() {
                let (needs_next, needs_prev) = match k {
                    Arg::BufIn | Arg::IovIn | Arg::IovOut | Arg::PollFds => (true, false),
                    Arg::SockAddrIn | Arg::SockAddrOut => (true, false),
                    Arg::OpenMode | Arg::CpuSetIn => (false, true),
                    _ => (false, false),
                };
                assert!(!needs_next || i < last, "{}: {i}", s.name);
                assert!(!needs_prev || i > 0, "{}: {i}", s.name);
            }
        }
    }

    #[test]
    fn ioctl_terminal_structs() {
        let termios = [0x500u32, 5, 0xbf, 0x8a3b].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>();
        let winsize = [24u16, 80, 0, 0].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>();
        let mem = FakeMem::default().with(0x1000, &termios).with(0x2000, &winsize);
        let args = [0, 0x5401, 0x1000, 0, 0, 0];
        assert_eq!(format_entry(16, args, &mem), "ioctl(0, TCGETS, ");
        assert_eq!(
            format_exit(16, args, 0, &mem),
            "{c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, \
             c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, \
             ...}) = 0"
        );
        assert_eq!(
            format_call(16, [1, 0x5413, 0x2000, 0, 0, 0], 0, &mem),
            "ioctl(1, TIOCGWINSZ, {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}) = 0"
        );
        assert_eq!(
            format_call(16, [1, 0x5401, 0x7ffc00, 0, 0, 0], -25, &mem),
            "ioctl(1, TCGETS, 0x7ffc00) = -1 ENOTTY (Inappropriate ioctl for device)"
        );
        assert_eq!(format_call(16, [3, 0x5451, 0, 0, 0, 0], 0, &mem), "ioctl(3, FIOCLEX) = 0");
        assert_eq!(format_call(16, [3, 0x1234, 0x10, 0, 0, 0], 0, &mem), "ioctl(3, 0x1234, 0x10) = 0");
    }

    #[test]
    fn openat_line() {
        let mem = FakeMem::default().with(0x1000, b"/etc/passwd\0");
        let args = [AT_FDCWD, 0x1000, 0o2000000, 0, 0, 0];
        assert_eq!(
            format_call(257, args, 3, &mem),
            r#"openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3"#
        );
        assert_eq!(format_entry(257, args, &mem), r#"openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC"#);
        assert_eq!(format_exit(257, args, 3, &mem), ") = 3");
        // The mode is shown only when a file may be created.
        let args = [AT_FDCWD, 0x1000, 0o1101, 0o644, 0, 0];
        assert_eq!(
            format_call(257, args, 4, &mem),
            r#"openat(AT_FDCWD, "/etc/passwd", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4"#
        );
    }

    #[test]
    fn error_result() {
        let mem = FakeMem::default().with(0x1000, b"/nope\0");
        assert_eq!(
            format_call(257, [AT_FDCWD, 0x1000, 0, 0, 0, 0], -ENOENT, &mem),
            r#"openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)"#
        );
        assert_eq!(
            format_call(21, [0x1000, 4, 0, 0, 0, 0], -13, &mem),
            r#"access("/nope", R_OK) = -1 EACCES (Permission denied)"#
        );
        assert_eq!(
            format_exit(0, [3, 0x1000, 10, 0, 0, 0], -512, &mem),
            "0x1000, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)"
        );
    }

    #[test]
    fn write_truncates_long_buffers() {
        let data = b"The quick brown fox jumps over the lazy dog\n";
        let mem = FakeMem::default().with(0x2000, data);
        assert_eq!(
            format_call(1, [1, 0x2000, data.len() as u64, 0, 0, 0], 44, &mem),
            r#"write(1, "The quick brown fox jumps over t"..., 44) = 44"#
        );
        assert_eq!(format_call(1, [1, 0x2000, 4, 0, 0, 0], 4, &mem), r#"write(1, "The ", 4) = 4"#);
        // Unreadable buffer: the address.
        assert_eq!(
            format_call(1, [1, 0x9000, 4, 0, 0, 0], -14, &mem),
            "write(1, 0x9000, 4) = -1 EFAULT (Bad address)"
        );
    }

    #[test]
    fn read_prints_its_buffer_after_the_call() {
        let data = b"root:x:0:0:root:/root:/bin/bash\nnobody:x:65534";
        let mem = FakeMem::default().with(0x3000, data);
        let args = [3, 0x3000, 4096, 0, 0, 0];
        assert_eq!(format_entry(0, args, &mem), "read(3, ");
        assert_eq!(
            format_exit(0, args, data.len() as i64, &mem),
            r#""root:x:0:0:root:/root:/bin/bash\n"..., 4096) = 46"#
        );
        assert_eq!(format_exit(0, args, 0, &mem), r#""", 4096) = 0"#);
        assert_eq!(
            format_exit(0, args, -11, &mem),
            "0x3000, 4096) = -1 EAGAIN (Resource temporarily unavailable)"
        );
        // pread64: the offset follows the buffer, so it is in the exit part.
        assert_eq!(format_call(17, [3, 0x3000, 4, 64, 0, 0], 4, &mem), r#"pread64(3, "root", 4, 64) = 4"#);
    }

    #[test]
    fn mmap_flags_and_hex_result() {
        let mem = FakeMem::default();
        assert_eq!(
            format_call(9, [0, 8192, 3, 0x22, -1i64 as u64, 0], 0x7f4629b8d000, &mem),
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f4629b8d000"
        );
        assert_eq!(
            format_call(9, [0x7f0000, 4096, 5, 0x812, 3, 0x26000], 0x7f0000, &mem),
            "mmap(0x7f0000, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x26000) = 0x7f0000"
        );
        assert_eq!(
            format_call(9, [0, 4096, 0, 0x80020002, -1i64 as u64, 0], -12, &mem),
            "mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE|MAP_STACK|32<<MAP_HUGE_SHIFT, -1, 0) = -1 ENOMEM (Cannot allocate memory)"
        );
        assert_eq!(format_call(12, [0; 6], 0x55838c08a000, &mem), "brk(NULL) = 0x55838c08a000");
        assert_eq!(
            format_call(25, [0x7000, 4096, 8192, 1, 0, 0], 0x9000, &mem),
            "mremap(0x7000, 4096, 8192, MREMAP_MAYMOVE) = 0x9000"
        );
    }

    #[test]
    fn unknown_syscall() {
        let mem = FakeMem::default();
        assert_eq!(
            format_call(999, [1, 2, 3, 4, 5, 0], -38, &mem),
            "syscall_0x3e7(0x1, 0x2, 0x3, 0x4, 0x5, 0) = -1 ENOSYS (Function not implemented)"
        );
        // Known but undecoded: its own number of hex arguments.
        assert_eq!(format_call(29, [0, 4096, 0x3b6, 0, 0, 0], 7, &mem), "shmget(0, 0x1000, 0x3b6) = 7");
    }

    #[test]
    fn string_escapes() {
        assert_eq!(quote(b"a\tb\n\"q\"\\", false), r#""a\tb\n\"q\"\\""#);
        // Octal as short as possible, unless a digit follows.
        assert_eq!(quote(b"\x7fELF\x02\x01\x00\x001\xff", false), r#""\177ELF\2\1\0\0001\377""#);
        assert_eq!(quote(b"\x1b[0m\r\x0b\x0c", false), r#""\33[0m\r\v\f""#);
        assert_eq!(quote(b"\xb0\x2e", true), r#""\xb0\x2e""#);
        let mem = FakeMem::default().with(0x1000, b"x\ty\0");
        assert_eq!(format_call(87, [0x1000, 0, 0, 0, 0, 0], 0, &mem), r#"unlink("x\ty") = 0"#);
    }

    #[test]
    fn signals_and_sigsets() {
        let mem = FakeMem::default()
            .with(0x1000, &((1u64 << 1) | (1 << 14)).to_le_bytes())
            .with(0x2000, &0u64.to_le_bytes())
            .with(0x3000, &(!(1u64 << 8)).to_le_bytes());
        let args = [0, 0x1000, 0x2000, 8, 0, 0];
        assert_eq!(format_entry(14, args, &mem), "rt_sigprocmask(SIG_BLOCK, [INT TERM], ");
        assert_eq!(format_exit(14, args, 0, &mem), "[], 8) = 0");
        assert_eq!(
            format_call(14, [2, 0x3000, 0, 8, 0, 0], 0, &mem),
            "rt_sigprocmask(SIG_SETMASK, ~[KILL], NULL, 8) = 0"
        );
        assert_eq!(sigset(3 << 31), "[RTMIN RT_1]");
        assert_eq!(format_call(62, [42, 9, 0, 0, 0, 0], 0, &mem), "kill(42, SIGKILL) = 0");
        assert_eq!(format_call(62, [42, 0, 0, 0, 0, 0], 0, &mem), "kill(42, 0) = 0");
        assert_eq!(format_call(200, [42, 33, 0, 0, 0, 0], 0, &mem), "tkill(42, SIGRT_1) = 0");
    }

    #[test]
    fn sigaction_struct() {
        let mut act = Vec::new();
        for v in [0x401000u64, 0x14000000, 0x402000, 1 << 16] {
            act.extend_from_slice(&v.to_le_bytes());
        }
        let mem = FakeMem::default().with(0x1000, &act).with(0x2000, &[0; 32]);
        assert_eq!(
            format_call(13, [2, 0x1000, 0x2000, 8, 0, 0], 0, &mem),
            "rt_sigaction(SIGINT, {sa_handler=0x401000, sa_mask=[CHLD], \
             sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x402000}, \
             {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0"
        );
    }

    #[test]
    fn structs_with_timespecs_and_stat() {
        let mut ts = 1u64.to_le_bytes().to_vec();
        ts.extend_from_slice(&500u64.to_le_bytes());
        let mut st = vec![0u8; 144];
        st[24..28].copy_from_slice(&0o100644u32.to_le_bytes());
        st[48..56].copy_from_slice(&33699u64.to_le_bytes());
        let mut dev = vec![0u8; 144];
        dev[24..28].copy_from_slice(&0o20666u32.to_le_bytes());
        dev[40..48].copy_from_slice(&0x103u64.to_le_bytes());
        let mem =
            FakeMem::default().with(0x1000, &ts).with(0x2000, &st).with(0x3000, &dev).with(0x4000, b"\0");
        assert_eq!(
            format_call(228, [1, 0x1000, 0, 0, 0, 0], 0, &mem),
            "clock_gettime(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=500}) = 0"
        );
        assert_eq!(
            format_call(35, [0x1000, 0x9000, 0, 0, 0, 0], 0, &mem),
            "nanosleep({tv_sec=1, tv_nsec=500}, 0x9000) = 0"
        );
        let args = [3, 0x4000, 0x2000, 0x1000, 0, 0];
        assert_eq!(format_entry(262, args, &mem), r#"newfstatat(3, "", "#);
        assert_eq!(
            format_exit(262, args, 0, &mem),
            "{st_mode=S_IFREG|0644, st_size=33699, ...}, AT_EMPTY_PATH) = 0"
        );
        assert_eq!(
            format_call(5, [1, 0x3000, 0, 0, 0, 0], 0, &mem),
            "fstat(1, {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}) = 0"
        );
    }

    #[test]
    fn execve_argv_and_envp() {
        let mut argv = Vec::new();
        for p in [0x2000u64, 0x2010, 0] {
            argv.extend_from_slice(&p.to_le_bytes());
        }
        let envp = [0x2010u64, 0x2010, 0].iter().flat_map(|p| p.to_le_bytes()).collect::<Vec<_>>();
        let mem = FakeMem::default()
            .with(0x1000, b"/bin/ls\0")
            .with(0x2000, b"ls\0")
            .with(0x2010, b"-l\0")
            .with(0x3000, &argv)
            .with(0x4000, &envp);
        assert_eq!(
            format_call(59, [0x1000, 0x3000, 0x4000, 0, 0, 0], 0, &mem),
            r#"execve("/bin/ls", ["ls", "-l"], 0x4000 /* 2 vars */) = 0"#
        );
    }

    #[test]
    fn clone_and_wait() {
        let mem = FakeMem::default().with(0x1000, &0x100u32.to_le_bytes());
        assert_eq!(
            format_call(56, [0x1200011, 0, 0, 0x7f00, 0, 0], 1234, &mem),
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, \
             child_tidptr=0x7f00) = 1234"
        );
        assert_eq!(
            format_call(56, [0x11, 0, 0, 0, 0, 0], 1234, &mem),
            "clone(child_stack=NULL, flags=SIGCHLD) = 1234"
        );
        let args = [-1i64 as u64, 0x1000, 0, 0, 0, 0];
        assert_eq!(format_entry(61, args, &mem), "wait4(-1, ");
        assert_eq!(
            format_exit(61, args, 1234, &mem),
            "[{WIFEXITED(s) && WEXITSTATUS(s) == 1}], 0, NULL) = 1234"
        );
        assert_eq!(format_call(231, [0; 6], 0, &mem), "exit_group(0) = ?");
    }

    #[test]
    fn clone3_struct() {
        let fields: [u64; 11] = [0x3d0f00, 0, 0x7f10, 0x7f10, 0, 0x7e00, 0x8000, 0x7f20, 0, 0, 0];
        let args = fields.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<_>>();
        let mem_before = FakeMem::default().with(0x1000, &args);
        let mem = FakeMem::default().with(0x1000, &args).with(0x7f10, &77u32.to_le_bytes());
        let a = [0x1000, 88, 0, 0, 0, 0];
        assert_eq!(
            format_entry(435, a, &mem_before),
            "clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|\
             CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, \
             child_tid=0x7f10, parent_tid=0x7f10, exit_signal=0, stack=0x7e00, \
             stack_size=0x8000, tls=0x7f20}"
        );
        assert_eq!(format_exit(435, a, 77, &mem), " => {parent_tid=[77]}, 88) = 77");
        assert_eq!(format_exit(435, a, -1, &mem), ", 88) = -1 EPERM (Operation not permitted)");
        // A fork-like clone3 changes nothing in the struct.
        let fork = [0u64, 0, 0, 0, 17, 0, 0, 0].iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<_>>();
        let mem = FakeMem::default().with(0x1000, &fork);
        assert_eq!(
            format_call(435, [0x1000, 64, 0, 0, 0, 0], 42, &mem),
            "clone3({flags=0, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 64) = 42"
        );
    }

    #[test]
    fn fcntl_futex_prctl() {
        let mem = FakeMem::default().with(0x1000, b"worker\0");
        assert_eq!(
            format_call(72, [3, 1, 0, 0, 0, 0], 1, &mem),
            "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)"
        );
        assert_eq!(
            format_call(72, [3, 3, 0, 0, 0, 0], 0x8002, &mem),
            "fcntl(3, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)"
        );
        assert_eq!(format_call(72, [3, 2, 1, 0, 0, 0], 0, &mem), "fcntl(3, F_SETFD, FD_CLOEXEC) = 0");
        assert_eq!(format_call(72, [3, 1030, 10, 0, 0, 0], 11, &mem), "fcntl(3, F_DUPFD_CLOEXEC, 10) = 11");
        assert_eq!(
            format_call(202, [0x7f00, 129, 0x7fffffff, 0, 0, 0], 0, &mem),
            "futex(0x7f00, FUTEX_WAKE_PRIVATE, 2147483647) = 0"
        );
        assert_eq!(
            format_call(202, [0x7f00, 393, 0, 0, 0, 0xffffffff], 0, &mem),
            "futex(0x7f00, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, NULL, \
             FUTEX_BITSET_MATCH_ANY) = 0"
        );
        assert_eq!(
            format_call(157, [15, 0x1000, 0, 0, 0, 0], 0, &mem),
            r#"prctl(PR_SET_NAME, "worker") = 0"#
        );
        assert_eq!(
            format_call(157, [3, 0, 0, 0, 0, 0], 1, &mem),
            "prctl(PR_GET_DUMPABLE) = 1 (SUID_DUMP_USER)"
        );
        assert_eq!(
            format_call(157, [9999, 1, 2, 3, 4, 0], -22, &mem),
            "prctl(0x270f /* PR_??? */, 0x1, 0x2, 0x3, 0x4) = -1 EINVAL (Invalid argument)"
        );
    }

    #[test]
    fn poll_and_select_results() {
        let mut fds = Vec::new();
        fds.extend_from_slice(&3i32.to_le_bytes());
        fds.extend_from_slice(&1u16.to_le_bytes());
        fds.extend_from_slice(&1u16.to_le_bytes());
        let set = (1u64 << 3).to_le_bytes();
        let mem = FakeMem::default().with(0x1000, &fds).with(0x2000, &set);
        assert_eq!(
            format_call(7, [0x1000, 1, 100, 0, 0, 0], 1, &mem),
            "poll([{fd=3, events=POLLIN}], 1, 100) = 1 ([{fd=3, revents=POLLIN}])"
        );
        assert_eq!(
            format_call(7, [0x1000, 1, 100, 0, 0, 0], 0, &mem),
            "poll([{fd=3, events=POLLIN}], 1, 100) = 0 (Timeout)"
        );
        assert_eq!(
            format_call(23, [4, 0x2000, 0, 0, 0, 0], 1, &mem),
            "select(4, [3], NULL, NULL, NULL) = 1 (in [3])"
        );
    }

    #[test]
    fn sockets() {
        let mut sin = vec![2u8, 0, 0, 80, 127, 0, 0, 1];
        sin.resize(16, 0);
        let mut sun = vec![1u8, 0];
        sun.extend_from_slice(b"/run/x.sock\0");
        let mem = FakeMem::default().with(0x1000, &sin).with(0x2000, &sun);
        assert_eq!(
            format_call(41, [2, 0x80801, 0, 0, 0, 0], 3, &mem),
            "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 3"
        );
        assert_eq!(
            format_call(42, [3, 0x1000, 16, 0, 0, 0], -111, &mem),
            r#"connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)"#
        );
        assert_eq!(
            format_call(42, [3, 0x2000, 14, 0, 0, 0], 0, &mem),
            r#"connect(3, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 14) = 0"#
        );
    }

    /// Runs a series of real syscalls, formats each with [`SelfMem`], and
    /// compares the lines with what `strace` prints for the same calls.
    /// Needs `strace` and ptrace; run with
    /// `cargo test -p tern-syscalls strace::tests::matches_real_strace -- --ignored`.
    #[test]
    #[ignore = "needs strace(1) and ptrace"]
    fn matches_real_strace() {
        if let Ok(out) = std::env::var("TERN_STRACE_WORKLOAD") {
            return real_strace::workload(&out);
        }
        real_strace::compare();
    }

    mod real_strace {
        use super::super::*;
        use std::process::Command;

        const BEGIN: &[u8] = b"tern-strace-begin";
        const END: &[u8] = b"tern-strace-end";

        /// Runs the syscall, recording its formatted line.
        struct Rec(Vec<String>);

        impl Rec {
            fn call(&mut self, nr: i64, a: [u64; 6]) -> i64 {
                let entry = format_entry(nr as u64, a, &SelfMem);
                let ret = crate::strace::tests::real_strace::raw_syscall(nr, a);
                self.0.push(entry + &format_exit(nr as u64, a, ret, &SelfMem));
                ret
            }
        }

        pub(super) fn raw_syscall(nr: i64, a: [u64; 6]) -> i64 {
            // SAFETY: the workload passes pointers to its own live buffers,
            // sized as each call requires.
            let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
            if r == -1 {
                -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
            } else {
                r
            }
        }

        /// The address of `x` (for a `CStr`, of its bytes).
        fn p<T: ?Sized>(x: &T) -> u64 {
            x as *const T as *const u8 as u64
        }

        /// The address of `x`, for the kernel to write to.
        fn pm<T: ?Sized>(x: &mut T) -> u64 {
            x as *mut T as *mut u8 as u64
        }

        fn c(s: &str) -> std::ffi::CString {
            std::ffi::CString::new(s).unwrap()
        }

        pub(super) fn workload(out: &str) {
            use libc::*;
            let mut r = Rec(Vec::with_capacity(256));
            let tmp = std::env::temp_dir().join(format!("tern-strace-{}", std::process::id()));
            let tmp_s = c(tmp.to_str().unwrap());
            let tmp2_s = c(&format!("{}-2", tmp.display()));
            let passwd = c("/etc/passwd");
            let nope = c("/nonexistent/file");
            let devnull = c("/dev/null");
            let root = c("/");
            let dot = c(".");
            let empty = c("");
            let exe = c("/proc/self/exe");
            let name = c("tern-test");
            let unix_path = c("/nonexistent/sock");
            let mut buf = vec![0u8; 8192];
            let mut st = [0u8; 256];
            let mut fds = [0i32; 2];
            let mut sv = [0i32; 2];
            let fdcwd = AT_FDCWD as u64;
            let write_data = b"hello\tworld\n\x00\x01\x7f\"quoted\" and a long tail of text";

            r.call(SYS_write, [-1i64 as u64, p(&BEGIN[0]), BEGIN.len() as u64, 0, 0, 0]);
            let tid = r.call(SYS_gettid, [0; 6]);
            let fd = r.call(SYS_openat, [fdcwd, p(&*passwd), (O_RDONLY | O_CLOEXEC) as u64, 0, 0, 0]) as u64;
            r.call(SYS_openat, [fdcwd, p(&*nope), (O_RDONLY) as u64, 0, 0, 0]);
            r.call(SYS_read, [fd, pm(&mut buf[0]), 4096, 0, 0, 0]);
            r.call(SYS_read, [fd, pm(&mut buf[0]), 4096, 0, 0, 0]);
            r.call(SYS_pread64, [fd, pm(&mut buf[0]), 16, 4, 0, 0]);
            r.call(SYS_lseek, [fd, 0, SEEK_SET as u64, 0, 0, 0]);
            r.call(SYS_fstat, [fd, pm(&mut st[0]), 0, 0, 0, 0]);
            r.call(SYS_newfstatat, [fd, p(&*empty), pm(&mut st[0]), AT_EMPTY_PATH as u64, 0, 0]);
            r.call(SYS_newfstatat, [fdcwd, p(&*devnull), pm(&mut st[0]), 0, 0, 0]);
            r.call(SYS_stat, [p(&*root), pm(&mut st[0]), 0, 0, 0, 0]);
            r.call(SYS_lstat, [p(&*nope), pm(&mut st[0]), 0, 0, 0, 0]);
            r.call(SYS_statx, [fdcwd, p(&*root), (AT_NO_AUTOMOUNT) as u64, 0xfff, pm(&mut st[0]), 0]);
            r.call(SYS_getdents64, [fd, pm(&mut buf[0]), 4096, 0, 0, 0]);
            let dfd = r.call(SYS_openat, [fdcwd, p(&*root), (O_RDONLY | O_DIRECTORY) as u64, 0, 0, 0]) as u64;
            r.call(SYS_getdents64, [dfd, pm(&mut buf[0]), 8192, 0, 0, 0]);
            r.call(SYS_close, [dfd, 0, 0, 0, 0, 0]);
            r.call(SYS_write, [-1i64 as u64, p(&write_data[0]), write_data.len() as u64, 0, 0, 0]);
            let nfd = r.call(
                SYS_openat,
                [fdcwd, p(&*devnull), (O_WRONLY | O_CREAT | O_TRUNC | O_APPEND) as u64, 0o644, 0, 0],
            ) as u64;
            r.call(SYS_write, [nfd, p(&write_data[0]), 12, 0, 0, 0]);
            r.call(SYS_pwrite64, [nfd, p(&write_data[0]), 3, 100, 0, 0]);
            r.call(SYS_ioctl, [nfd, TCGETS, pm(&mut buf[0]), 0, 0, 0]);
            r.call(SYS_ioctl, [nfd, TIOCGWINSZ, pm(&mut buf[0]), 0, 0, 0]);
            // Decoded when stdin is a terminal (run the test under script(1)).
            r.call(SYS_ioctl, [0, TCGETS, pm(&mut buf[0]), 0, 0, 0]);
            r.call(SYS_ioctl, [0, TIOCGWINSZ, pm(&mut buf[0]), 0, 0, 0]);
            r.call(SYS_ioctl, [0, TIOCGPGRP, pm(&mut buf[0]), 0, 0, 0]);
            r.call(SYS_pipe2, [pm(&mut fds[0]), O_CLOEXEC as u64, 0, 0, 0, 0]);
            let (rfd, wfd) = (fds[0] as u64, fds[1] as u64);
            let iov_data = [b"ab".as_slice(), b"cd\n".as_slice()];
            let iov: Vec<iovec> = iov_data
                .iter()
                .map(|d| iovec { iov_base: d.as_ptr() as *mut c_void, iov_len: d.len() })
                .collect();
            r.call(SYS_writev, [wfd, p(&iov[0]), 2, 0, 0, 0]);
            r.call(SYS_ioctl, [rfd, FIONREAD, pm(&mut buf[4096]), 0, 0, 0]);
            let mut pfd = [
                pollfd { fd: rfd as i32, events: POLLIN, revents: 0 },
                pollfd { fd: wfd as i32, events: POLLOUT, revents: 0 },
            ];
            r.call(SYS_poll, [pm(&mut pfd[0]), 2, 100, 0, 0, 0]);
            let ts = timespec { tv_sec: 1, tv_nsec: 0 };
            r.call(SYS_ppoll, [pm(&mut pfd[0]), 1, p(&ts), 0, 8, 0]);
            pfd[0].revents = 0;
            let mut rset = [0u64; 16];
            rset[0] = 1 << rfd;
            let mut tv = timeval { tv_sec: 1, tv_usec: 0 };
            r.call(SYS_select, [rfd + 1, pm(&mut rset[0]), 0, 0, pm(&mut tv), 0]);
            rset[0] = 1 << rfd;
            let mut ts2 = timespec { tv_sec: 1, tv_nsec: 0 };
            r.call(SYS_pselect6, [rfd + 1, pm(&mut rset[0]), 0, 0, pm(&mut ts2), 0]);
            let mut big = [0u8; 3];
            let mut big2 = [0u8; 8];
            let riov = [
                iovec { iov_base: big.as_mut_ptr().cast(), iov_len: 3 },
                iovec { iov_base: big2.as_mut_ptr().cast(), iov_len: 8 },
            ];
            r.call(SYS_readv, [rfd, p(&riov[0]), 2, 0, 0, 0]);
            rset[0] = 1 << rfd;
            tv.tv_usec = 1000;
            tv.tv_sec = 0;
            r.call(SYS_select, [rfd + 1, pm(&mut rset[0]), 0, 0, pm(&mut tv), 0]);
            ts2.tv_sec = 0;
            ts2.tv_nsec = 1000;
            r.call(SYS_ppoll, [pm(&mut pfd[0]), 1, pm(&mut ts2), 0, 8, 0]);
            r.call(SYS_fcntl, [rfd, F_GETFD as u64, 0, 0, 0, 0]);
            r.call(SYS_fcntl, [rfd, F_SETFD as u64, 0, 0, 0, 0]);
            r.call(SYS_fcntl, [rfd, F_GETFD as u64, 0, 0, 0, 0]);
            r.call(SYS_fcntl, [wfd, F_GETFL as u64, 0, 0, 0, 0]);
            r.call(SYS_fcntl, [wfd, F_SETFL as u64, (O_WRONLY | O_NONBLOCK) as u64, 0, 0, 0]);
            let d = r.call(SYS_fcntl, [wfd, F_DUPFD_CLOEXEC as u64, 20, 0, 0, 0]) as u64;
            let fl =
                flock { l_type: F_RDLCK as i16, l_whence: SEEK_SET as i16, l_start: 0, l_len: 0, l_pid: 0 };
            r.call(SYS_fcntl, [fd, F_GETLK as u64, p(&fl), 0, 0, 0]);
            r.call(SYS_fcntl, [fd, 12345, 0, 0, 0, 0]);
            r.call(SYS_dup, [d, 0, 0, 0, 0, 0]);
            r.call(SYS_dup2, [d, 30, 0, 0, 0, 0]);
            r.call(SYS_dup3, [d, 31, O_CLOEXEC as u64, 0, 0, 0]);
            for f in [d, 30, 31, rfd, wfd, nfd, fd] {
                r.call(SYS_close, [f, 0, 0, 0, 0, 0]);
            }
            r.call(SYS_close, [-1i64 as u64, 0, 0, 0, 0, 0]);
            let m = r.call(
                SYS_mmap,
                [
                    0,
                    16384,
                    (PROT_READ | PROT_WRITE) as u64,
                    (MAP_PRIVATE | MAP_ANONYMOUS) as u64,
                    -1i64 as u64,
                    0,
                ],
            ) as u64;
            r.call(SYS_mprotect, [m, 4096, PROT_NONE as u64, 0, 0, 0]);
            r.call(SYS_madvise, [m, 4096, MADV_DONTNEED as u64, 0, 0, 0]);
            let m2 = r.call(SYS_mremap, [m, 16384, 32768, MREMAP_MAYMOVE as u64, 0, 0]) as u64;
            r.call(SYS_munmap, [m2, 32768, 0, 0, 0, 0]);
            r.call(SYS_mmap, [0, 4096, PROT_READ as u64, MAP_SHARED as u64, 9999, 0x1000]);
            r.call(
                SYS_mmap,
                [
                    0,
                    4096,
                    PROT_READ as u64,
                    (MAP_PRIVATE | MAP_ANONYMOUS) as u64 | 0x8000_0000,
                    -1i64 as u64,
                    0,
                ],
            );
            r.call(SYS_mprotect, [0x1000, 4096, 0x40, 0, 0, 0]);
            r.call(SYS_brk, [0, 0, 0, 0, 0, 0]);
            let act: [u64; 4] = [0x401000, 0x0400_0000 | (SA_RESTART | SA_SIGINFO) as u64, 0x402000, 1 << 1];
            let mut oact = [0u64; 4];
            r.call(SYS_rt_sigaction, [SIGUSR2 as u64, p(&act), pm(&mut oact[0]), 8, 0, 0]);
            r.call(SYS_rt_sigaction, [SIGUSR2 as u64, pm(&mut oact[0]), 0, 8, 0, 0]);
            let set: u64 = (1 << (SIGINT - 1)) | (1 << (SIGTERM - 1)) | (3 << 31);
            let mut oset: u64 = 0;
            r.call(SYS_rt_sigprocmask, [SIG_BLOCK as u64, p(&set), pm(&mut oset), 8, 0, 0]);
            r.call(SYS_rt_sigprocmask, [SIG_SETMASK as u64, pm(&mut oset), 0, 8, 0, 0]);
            let full: u64 = !(1 << (SIGKILL - 1));
            r.call(SYS_rt_sigprocmask, [SIG_BLOCK as u64, p(&full), pm(&mut oset), 8, 0, 0]);
            r.call(SYS_rt_sigprocmask, [SIG_SETMASK as u64, pm(&mut oset), 0, 8, 0, 0]);
            r.call(SYS_sigaltstack, [0, pm(&mut buf[0]), 0, 0, 0, 0]);
            r.call(SYS_access, [p(&*passwd), (R_OK | W_OK) as u64, 0, 0, 0, 0]);
            r.call(SYS_access, [p(&*nope), F_OK as u64, 0, 0, 0, 0]);
            r.call(SYS_faccessat, [fdcwd, p(&*passwd), X_OK as u64, 0, 0, 0]);
            r.call(SYS_faccessat2, [fdcwd, p(&*passwd), R_OK as u64, AT_EACCESS as u64, 0, 0]);
            for nr in [SYS_getpid, SYS_getppid, SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid] {
                r.call(nr, [0; 6]);
            }
            r.call(SYS_uname, [pm(&mut buf[0]), 0, 0, 0, 0, 0]);
            r.call(SYS_sysinfo, [pm(&mut buf[0]), 0, 0, 0, 0, 0]);
            r.call(SYS_getcwd, [pm(&mut buf[0]), 4096, 0, 0, 0, 0]);
            r.call(SYS_chdir, [p(&*dot), 0, 0, 0, 0, 0]);
            r.call(SYS_umask, [0o22, 0, 0, 0, 0, 0]);
            r.call(SYS_mkdir, [p(&*tmp_s), 0o755, 0, 0, 0, 0]);
            r.call(SYS_rename, [p(&*tmp_s), p(&*tmp2_s), 0, 0, 0, 0]);
            r.call(SYS_renameat, [fdcwd, p(&*tmp2_s), fdcwd, p(&*tmp_s), 0, 0]);
            r.call(SYS_unlinkat, [fdcwd, p(&*tmp_s), AT_REMOVEDIR as u64, 0, 0, 0]);
            r.call(SYS_mkdirat, [fdcwd, p(&*tmp_s), 0o700, 0, 0, 0]);
            r.call(SYS_rmdir, [p(&*tmp_s), 0, 0, 0, 0, 0]);
            r.call(SYS_unlink, [p(&*tmp_s), 0, 0, 0, 0, 0]);
            r.call(SYS_readlink, [p(&*exe), pm(&mut buf[0]), 4096, 0, 0, 0]);
            r.call(SYS_readlinkat, [fdcwd, p(&*exe), pm(&mut buf[0]), 8, 0, 0]);
            let mut fsbase = 0u64;
            r.call(SYS_arch_prctl, [0x1003, pm(&mut fsbase), 0, 0, 0, 0]);
            fsbase = 0;
            let futex_word = 0u32;
            r.call(
                SYS_futex,
                [p(&futex_word), (FUTEX_WAKE | FUTEX_PRIVATE_FLAG) as u64, i32::MAX as u64, 0, 0, 0],
            );
            r.call(SYS_futex, [p(&futex_word), FUTEX_WAIT as u64, 1, 0, 0, 0]);
            let short = timespec { tv_sec: 0, tv_nsec: 1000 };
            r.call(
                SYS_futex,
                [
                    p(&futex_word),
                    (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG) as u64,
                    0,
                    p(&short),
                    0,
                    u32::MAX as u64,
                ],
            );
            r.call(SYS_futex, [p(&futex_word), FUTEX_WAKE_OP as u64, 1, 1, pm(&mut fsbase), (4 << 24) | 1]);
            r.call(SYS_getrandom, [pm(&mut buf[0]), 8, GRND_NONBLOCK as u64, 0, 0, 0]);
            r.call(SYS_prlimit64, [0, RLIMIT_STACK as u64, 0, pm(&mut buf[0]), 0, 0]);
            r.call(SYS_getrlimit, [RLIMIT_NOFILE as u64, pm(&mut buf[0]), 0, 0, 0, 0]);
            r.call(SYS_clock_gettime, [CLOCK_MONOTONIC as u64, pm(&mut buf[0]), 0, 0, 0, 0]);
            r.call(SYS_nanosleep, [p(&short), pm(&mut buf[0]), 0, 0, 0, 0]);
            r.call(SYS_clock_nanosleep, [CLOCK_REALTIME as u64, 0, p(&short), 0, 0, 0]);
            let s = r.call(
                SYS_socket,
                [AF_INET as u64, (SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK) as u64, 0, 0, 0, 0],
            ) as u64;
            let sin = sockaddr_in {
                sin_family: AF_INET as u16,
                sin_port: 9u16.to_be(),
                sin_addr: in_addr { s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be() },
                sin_zero: [0; 8],
            };
            r.call(SYS_connect, [s, p(&sin), 16, 0, 0, 0]);
            r.call(SYS_close, [s, 0, 0, 0, 0, 0]);
            let u = r.call(SYS_socket, [AF_UNIX as u64, SOCK_DGRAM as u64, 0, 0, 0, 0]) as u64;
            let mut sun = sockaddr_un { sun_family: AF_UNIX as u16, sun_path: [0; 108] };
            for (dst, &b) in sun.sun_path.iter_mut().zip(unix_path.as_bytes()) {
                *dst = b as c_char;
            }
            r.call(SYS_connect, [u, p(&sun), 2 + unix_path.as_bytes().len() as u64 + 1, 0, 0, 0]);
            r.call(SYS_close, [u, 0, 0, 0, 0, 0]);
            let s6 =
                r.call(SYS_socket, [AF_INET6 as u64, SOCK_DGRAM as u64, IPPROTO_UDP as u64, 0, 0, 0]) as u64;
            let mut sin6: sockaddr_in6 = unsafe_zeroed_sockaddr_in6();
            sin6.sin6_family = AF_INET6 as u16;
            sin6.sin6_port = 9u16.to_be();
            sin6.sin6_addr.s6_addr[15] = 1;
            r.call(SYS_sendto, [s6, p(&write_data[0]), 2, MSG_DONTWAIT as u64, p(&sin6), 28]);
            r.call(SYS_close, [s6, 0, 0, 0, 0, 0]);
            r.call(SYS_socketpair, [AF_UNIX as u64, SOCK_STREAM as u64, 0, pm(&mut sv[0]), 0, 0]);
            r.call(SYS_sendto, [sv[0] as u64, p(&write_data[0]), 40, MSG_NOSIGNAL as u64, 0, 0]);
            let mut alen: u32 = 128;
            r.call(SYS_recvfrom, [sv[1] as u64, pm(&mut buf[0]), 4096, 0, pm(&mut buf[4096]), pm(&mut alen)]);
            alen = 0;
            let _ = alen;
            r.call(SYS_close, [sv[0] as u64, 0, 0, 0, 0, 0]);
            r.call(SYS_close, [sv[1] as u64, 0, 0, 0, 0, 0]);
            r.call(SYS_prctl, [PR_SET_NAME as u64, p(&*name), 0, 0, 0, 0]);
            r.call(SYS_prctl, [PR_GET_NAME as u64, pm(&mut buf[0]), 0, 0, 0, 0]);
            r.call(SYS_prctl, [PR_GET_DUMPABLE as u64, 0, 0, 0, 0, 0]);
            r.call(SYS_sched_getaffinity, [0, 128, pm(&mut buf[0]), 0, 0, 0]);
            r.call(SYS_kill, [std::process::id() as u64, 0, 0, 0, 0, 0]);
            r.call(SYS_tgkill, [std::process::id() as u64, tid as u64, 0, 0, 0, 0]);
            r.call(SYS_wait4, [-1i64 as u64, pm(&mut buf[0]), WNOHANG as u64, 0, 0, 0]);
            let argv = [p(&*exe), p(&*name), 0];
            let envp = [p(&*name), 0];
            r.call(SYS_execve, [p(&*nope), p(&argv[0]), p(&envp[0]), 0, 0, 0]);
            let ep = r.call(SYS_epoll_create1, [EPOLL_CLOEXEC as u64, 0, 0, 0, 0, 0]) as u64;
            let ev = epoll_event { events: (EPOLLIN | EPOLLET) as u32, u64: 7 };
            r.call(SYS_epoll_ctl, [ep, EPOLL_CTL_ADD as u64, 0, p(&ev), 0, 0]);
            r.call(SYS_close, [ep, 0, 0, 0, 0, 0]);
            r.call(SYS_clock_getres, [CLOCK_BOOTTIME as u64, pm(&mut buf[0]), 0, 0, 0, 0]);
            r.call(SYS_getpriority, [PRIO_PROCESS as u64, 0, 0, 0, 0, 0]);
            r.call(999, [1, 2, 3, 4, 5, 0]);
            more_workload(&mut r, tid);
            let child = r.call(SYS_clone, [SIGCHLD as u64, 0, 0, 0, 0, 0]);
            if child == 0 {
                // SAFETY: the forked child leaves at once, without running
                // anything of the parent's state.
                unsafe { _exit(3) };
            }
            r.call(SYS_wait4, [child as u64, pm(&mut buf[0]), 0, 0, 0, 0]);
            r.call(SYS_write, [-1i64 as u64, p(&END[0]), END.len() as u64, 0, 0, 0]);
            let mut text = format!("{tid}\n");
            for line in &r.0 {
                text += line;
                text.push('\n');
            }
            std::fs::write(out, text).unwrap();
        }

        fn more_workload(r: &mut Rec, tid: i64) {
            use libc::*;
            let fdcwd = AT_FDCWD as u64;
            let mut buf = vec![0u8; 8192];
            let mut fds = [0i32; 2];
            let tmp = std::env::temp_dir().join(format!("tern-strace-f-{}", std::process::id()));
            let file = c(tmp.to_str().unwrap());
            let file2 = c(&format!("{}-2", tmp.display()));
            let name = c("memfd-name");
            r.call(SYS_pipe, [pm(&mut fds[0]), 0, 0, 0, 0, 0]);
            let long = [b'x'; 100];
            r.call(SYS_write, [fds[1] as u64, p(&long[0]), 100, 0, 0, 0]);
            let mut pfd = pollfd { fd: fds[0], events: POLLIN | POLLPRI, revents: 0 };
            let zero = timespec { tv_sec: 0, tv_nsec: 0 };
            let empty_set: u64 = 0;
            r.call(SYS_ppoll, [pm(&mut pfd), 1, p(&zero), p(&empty_set), 8, 0]);
            let mut wset = [0u64; 16];
            wset[0] = 1 << fds[1];
            let sigarg = [p(&empty_set), 8u64];
            let mut zero2 = timespec { tv_sec: 0, tv_nsec: 0 };
            r.call(SYS_pselect6, [fds[1] as u64 + 1, 0, pm(&mut wset[0]), 0, pm(&mut zero2), p(&sigarg)]);
            let mut pfd2 = pollfd { fd: fds[1], events: POLLIN, revents: 0 };
            r.call(SYS_poll, [pm(&mut pfd2), 1, 0, 0, 0, 0]);
            r.call(SYS_close, [fds[0] as u64, 0, 0, 0, 0, 0]);
            r.call(SYS_close, [fds[1] as u64, 0, 0, 0, 0, 0]);
            let mut ss = [0u8; 24];
            let stack = vec![0u8; 65536];
            let new_ss: [u64; 3] = [p(&stack[0]), 0, 65536];
            r.call(SYS_sigaltstack, [p(&new_ss), pm(&mut ss[0]), 0, 0, 0, 0]);
            let off_ss: [u64; 3] = [0, SS_DISABLE as u64, 0];
            r.call(SYS_sigaltstack, [p(&off_ss), pm(&mut ss[0]), 0, 0, 0, 0]);
            let ign: [u64; 4] = [1, 0x0400_0000, 0x402000, !0];
            let mut old = [0u64; 4];
            r.call(SYS_rt_sigaction, [SIGURG as u64, p(&ign), pm(&mut old[0]), 8, 0, 0]);
            r.call(SYS_rt_sigaction, [SIGURG as u64, p(&old), 0, 8, 0, 0]);
            r.call(SYS_rt_sigpending, [pm(&mut buf[0]), 8, 0, 0, 0, 0]);
            r.call(SYS_eventfd2, [0, (EFD_CLOEXEC | EFD_NONBLOCK) as u64, 0, 0, 0, 0]);
            let tfd = r.call(SYS_timerfd_create, [CLOCK_MONOTONIC as u64, TFD_CLOEXEC as u64, 0, 0, 0, 0]);
            r.call(SYS_close, [tfd as u64, 0, 0, 0, 0, 0]);
            let mfd = r.call(SYS_memfd_create, [p(&*name), MFD_CLOEXEC as u64, 0, 0, 0, 0]) as u64;
            r.call(SYS_ftruncate, [mfd, 4096, 0, 0, 0, 0]);
            r.call(SYS_lseek, [mfd, -10i64 as u64, SEEK_END as u64, 0, 0, 0]);
            r.call(SYS_fsync, [mfd, 0, 0, 0, 0, 0]);
            let m = r.call(SYS_mmap, [0, 4096, (PROT_READ | PROT_WRITE) as u64, MAP_SHARED as u64, mfd, 0])
                as u64;
            r.call(SYS_msync, [m, 4096, (MS_SYNC | MS_INVALIDATE) as u64, 0, 0, 0]);
            let m2 = r.call(
                SYS_mmap,
                [
                    0,
                    8192,
                    PROT_NONE as u64,
                    (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE) as u64,
                    -1i64 as u64,
                    0,
                ],
            ) as u64;
            r.call(SYS_mremap, [m, 4096, 4096, (MREMAP_MAYMOVE | MREMAP_FIXED) as u64, m2, 0]);
            r.call(SYS_munmap, [m2, 8192, 0, 0, 0, 0]);
            r.call(SYS_close, [mfd, 0, 0, 0, 0, 0]);
            let f = r.call(SYS_openat, [fdcwd, p(&*file), (O_RDWR | O_CREAT | O_EXCL) as u64, 0o600, 0, 0])
                as u64;
            r.call(SYS_flock, [f, (LOCK_EX | LOCK_NB) as u64, 0, 0, 0, 0]);
            r.call(SYS_fadvise64, [f, 0, 0, POSIX_FADV_SEQUENTIAL as u64, 0, 0]);
            r.call(SYS_fchmod, [f, 0o640, 0, 0, 0, 0]);
            r.call(SYS_fchown, [f, -1i64 as u64, -1i64 as u64, 0, 0, 0]);
            r.call(SYS_syncfs, [f, 0, 0, 0, 0, 0]);
            r.call(SYS_close, [f, 0, 0, 0, 0, 0]);
            r.call(SYS_truncate, [p(&*file), 10, 0, 0, 0, 0]);
            r.call(SYS_chmod, [p(&*file), 0o4755, 0, 0, 0, 0]);
            r.call(SYS_chown, [p(&*file), -1i64 as u64, -1i64 as u64, 0, 0, 0]);
            r.call(SYS_link, [p(&*file), p(&*file2), 0, 0, 0, 0]);
            r.call(SYS_unlink, [p(&*file2), 0, 0, 0, 0, 0]);
            r.call(SYS_symlinkat, [p(&*file), fdcwd, p(&*file2), 0, 0, 0]);
            r.call(SYS_readlinkat, [fdcwd, p(&*file2), pm(&mut buf[0]), 4096, 0, 0]);
            r.call(SYS_renameat2, [fdcwd, p(&*file2), fdcwd, p(&*file), RENAME_NOREPLACE as u64, 0]);
            r.call(SYS_utimensat, [fdcwd, p(&*file), 0, AT_SYMLINK_NOFOLLOW as u64, 0, 0]);
            r.call(SYS_unlinkat, [fdcwd, p(&*file2), 0, 0, 0, 0]);
            r.call(SYS_unlink, [p(&*file), 0, 0, 0, 0, 0]);
            let (mut a, mut b, mut cc) = (0u32, 0u32, 0u32);
            r.call(SYS_getcpu, [pm(&mut a), pm(&mut b), 0, 0, 0, 0]);
            r.call(SYS_getresuid, [pm(&mut a), pm(&mut b), pm(&mut cc), 0, 0, 0]);
            r.call(SYS_gettimeofday, [pm(&mut buf[0]), 0, 0, 0, 0, 0]);
            r.call(SYS_sched_yield, [0; 6]);
            r.call(SYS_alarm, [0; 6]);
            r.call(SYS_unshare, [0; 6]);
            r.call(SYS_getgroups, [0; 6]);
            r.call(SYS_tkill, [tid as u64, 0, 0, 0, 0, 0]);
            let mut lim = [0u64; 2];
            r.call(SYS_prlimit64, [0, RLIMIT_CORE as u64, 0, pm(&mut lim[0]), 0, 0]);
            r.call(SYS_prlimit64, [0, RLIMIT_CORE as u64, p(&lim), 0, 0, 0]);
            let mut mask = [0u8; 128];
            let n = r.call(SYS_sched_getaffinity, [0, 128, pm(&mut mask[0]), 0, 0, 0]);
            r.call(SYS_sched_setaffinity, [0, n as u64, p(&mask), 0, 0, 0]);
            let mut fs = 0u64;
            r.call(SYS_arch_prctl, [0x1003, pm(&mut fs), 0, 0, 0, 0]);
            r.call(SYS_arch_prctl, [0x1002, fs, 0, 0, 0, 0]);
            let rs = [0u64; 8];
            r.call(SYS_rseq, [p(&rs), 0x20, 0, 0x53053053, 0, 0]);
            let nl = r.call(
                SYS_socket,
                [AF_NETLINK as u64, (SOCK_RAW | SOCK_CLOEXEC) as u64, NETLINK_ROUTE as u64, 0, 0, 0],
            ) as u64;
            let snl: [u32; 3] = [AF_NETLINK as u32, 0, 0];
            r.call(SYS_bind, [nl, p(&snl), 12, 0, 0, 0]);
            r.call(SYS_close, [nl, 0, 0, 0, 0, 0]);
            let s = r.call(
                SYS_socket,
                [AF_INET as u64, (SOCK_STREAM | SOCK_NONBLOCK) as u64, IPPROTO_TCP as u64, 0, 0, 0],
            ) as u64;
            let sin = sockaddr_in {
                sin_family: AF_INET as u16,
                sin_port: 0,
                sin_addr: in_addr { s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be() },
                sin_zero: [0; 8],
            };
            r.call(SYS_bind, [s, p(&sin), 16, 0, 0, 0]);
            r.call(SYS_listen, [s, 5, 0, 0, 0, 0]);
            let mut alen: u32 = 16;
            r.call(SYS_getsockname, [s, pm(&mut buf[0]), pm(&mut alen), 0, 0, 0]);
            alen = 16;
            r.call(SYS_accept4, [s, pm(&mut buf[0]), pm(&mut alen), SOCK_CLOEXEC as u64, 0, 0]);
            r.call(SYS_shutdown, [s, SHUT_RDWR as u64, 0, 0, 0, 0]);
            r.call(SYS_close, [s, 0, 0, 0, 0, 0]);
            let pid = r.call(SYS_fork, [0; 6]);
            if pid == 0 {
                // SAFETY: the forked child leaves at once.
                unsafe { _exit(0) };
            }
            let mut status = 0i32;
            r.call(SYS_wait4, [pid as u64, pm(&mut status), 0, 0, 0, 0]);
            let mut ptid = 0i32;
            let mut cargs = [0u64; 11];
            cargs[0] = CLONE_PARENT_SETTID as u64;
            cargs[3] = pm(&mut ptid);
            cargs[4] = SIGCHLD as u64;
            let pid = r.call(SYS_clone3, [pm(&mut cargs[0]), 88, 0, 0, 0, 0]);
            if pid == 0 {
                // SAFETY: the forked child leaves at once.
                unsafe { _exit(1) };
            }
            r.call(SYS_wait4, [pid as u64, pm(&mut status), 0, 0, 0, 0]);
        }

        fn unsafe_zeroed_sockaddr_in6() -> libc::sockaddr_in6 {
            // SAFETY: sockaddr_in6 is plain old data; all-zero is valid.
            unsafe { std::mem::zeroed() }
        }

        /// strace's lines for task `tid`, with `<unfinished ...>` joined to
        /// their `<... resumed>` halves and the timing padding removed.
        fn strace_lines(text: &str, tid: &str) -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            let mut pending: Option<String> = None;
            for line in text.lines() {
                let Some((pid, rest)) = line.split_once(' ') else { continue };
                if pid != tid {
                    continue;
                }
                let rest = rest.trim_start();
                let line = if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
                    pending = Some(head.to_string());
                    continue;
                } else if rest.starts_with("<... ") {
                    let tail = &rest[rest.find("resumed>").unwrap() + 8..];
                    pending.take().unwrap_or_default() + tail
                } else {
                    rest.to_string()
                };
                // strace pads the result to column 40.
                let line = match line.rfind(") ") {
                    Some(i) if line[i + 1..].trim_start().starts_with("= ") => {
                        format!("{}) {}", &line[..i], line[i + 1..].trim_start())
                    }
                    _ => line,
                };
                out.push(line);
            }
            out
        }

        /// `[128 => 16]` → `[16]`.
        fn strip_in_values(line: &str) -> String {
            let mut out = String::new();
            let mut rest = line;
            while let Some(i) = rest.find(" => ") {
                let head = &rest[..i];
                match head.rfind('[') {
                    Some(j) if head[j + 1..].bytes().all(|b| b.is_ascii_digit()) && j + 1 < i => {
                        out += &head[..=j];
                    }
                    _ => out += &rest[..i + 4],
                }
                rest = &rest[i + 4..];
            }
            out + rest
        }

        pub(super) fn compare() {
            if Command::new("strace").arg("-V").output().is_err() {
                eprintln!("strace not installed; skipping");
                return;
            }
            let dir = std::env::temp_dir().join(format!("tern-strace-cmp-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let (mine, theirs) = (dir.join("mine.txt"), dir.join("strace.txt"));
            let status = Command::new("strace")
                .args(["-f", "-qq", "-o"])
                .arg(&theirs)
                .arg(std::env::current_exe().unwrap())
                .args(["--exact", "strace::tests::matches_real_strace", "--ignored", "--test-threads=1"])
                .env("TERN_STRACE_WORKLOAD", &mine)
                .status()
                .unwrap();
            assert!(status.success());
            let mine = std::fs::read_to_string(mine).unwrap();
            let theirs = std::fs::read_to_string(theirs).unwrap();
            let (tid, mine) = mine.split_once('\n').unwrap();
            let theirs = strace_lines(&theirs, tid);
            let begin = theirs.iter().position(|l| l.contains("tern-strace-begin")).unwrap();
            let mut theirs = theirs[begin..].iter();
            let (mut bad, mut compared) = (0, 0);
            for line in mine.lines() {
                let name = &line[..line.find('(').unwrap() + 1];
                let Some(t) = theirs.find(|t| t.starts_with(name)) else {
                    panic!("strace has no line for {line}");
                };
                // strace also shows what a value-result length held before
                // the call (`[128 => 16]`), which the exit part cannot know.
                let t = strip_in_values(t);
                compared += 1;
                if t != line {
                    bad += 1;
                    eprintln!("tern:   {line}\nstrace: {t}\n");
                }
            }
            std::fs::remove_dir_all(&dir).unwrap();
            eprintln!("{compared} lines compared");
            assert_eq!(bad, 0, "{bad} lines differ from strace");
        }
    }
}
