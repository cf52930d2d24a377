//! What the guest sees of itself under `/proc/self`: `exe` is the guest
//! program, `auxv` the guest's auxv, `cmdline` and `environ` its argument
//! and environment strings (read from its stack when opened, as the kernel
//! reads them), `maps` its mappings, `limits` its RLIMIT_AS and
//! RLIMIT_DATA (`rlimit.rs`), `status` the signals it handles and
//! blocks and its memory (`proc_mem.rs`, as `statm`); and the
//! registry of tern's own memory
//! ranges that guest memory calls must not touch.

use crate::{host_syscall, Process, SysResult};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{OnceLock, RwLock};
use tern_translate::cpu::CpuState;
use tern_translate::guestmem::{read_cstr, read_guest, write_guest};
use tern_translate::hostmem::{maps_range, read_proc};

static TERN_RANGES: RwLock<Vec<(u64, u64)>> = RwLock::new(Vec::new());

/// The guest's `[arg_start, arg_end)` and `[env_start, env_end)` on its
/// initial stack (the kernel's `mm->arg_start` ...), once the stack is built
/// (again at each `execve` the process runs itself).
static STACK_STRINGS: RwLock<Option<[(u64, u64); 2]>> = RwLock::new(None);

/// Records where the loader put the guest's argument and environment
/// strings (a new program: its memory's peaks start again).
pub fn set_stack_strings(args: (u64, u64), env: (u64, u64)) {
    crate::proc_mem::reset_peaks();
    *STACK_STRINGS.write().unwrap_or_else(|e| e.into_inner()) = Some([args, env]);
}

fn stack_strings() -> Option<[(u64, u64); 2]> {
    *STACK_STRINGS.read().unwrap_or_else(|e| e.into_inner())
}

/// Guest memory `[start, end)`, as much of it as can be read.
fn read_range(start: u64, end: u64) -> Vec<u8> {
    let mut buf = vec![0u8; end.saturating_sub(start).min(1 << 24) as usize];
    let n = tern_translate::guestmem::read_guest(start, &mut buf);
    buf.truncate(n);
    buf
}

/// `/proc/self/cmdline` as `fs/proc/base.c: get_mm_cmdline()` reads it:
/// the argument strings; if the guest overwrote the NUL that ends them
/// (setproctitle), up to the first NUL, running on into the environment.
fn guest_cmdline(p: &Process) -> Vec<u8> {
    let Some([(arg_start, arg_end), (env_start, env_end)]) = stack_strings() else {
        return p.cmdline.clone();
    };
    let mut args = read_range(arg_start, arg_end);
    if args.last().is_some_and(|&c| c != 0) {
        let end = if env_start == arg_end { env_end } else { arg_end };
        args = read_range(arg_start, end);
        if let Some(nul) = args.iter().position(|&c| c == 0) {
            args.truncate(nul + 1);
        }
    }
    args
}

/// `/proc/self/environ` (`fs/proc/base.c: environ_read()`): the
/// environment strings, which `-E`/`-U` may have made differ from tern's.
fn guest_environ() -> Option<Vec<u8>> {
    let [_, (env_start, env_end)] = stack_strings()?;
    Some(read_range(env_start, env_end))
}

/// Records every mapping that exists now as tern's own. Call once before the
/// guest is loaded.
pub fn snapshot_tern_ranges() {
    let maps = read_proc("/proc/self/maps").unwrap_or_default();
    let maps = String::from_utf8_lossy(&maps);
    let mut v = TERN_RANGES.write().unwrap_or_else(|e| e.into_inner());
    let mut shared = Vec::new();
    for line in maps.lines() {
        let name = line.split_whitespace().nth(5).unwrap_or("");
        if name == "[vdso]" {
            let _ = VDSO.set(maps_range(line));
        }
        // The vDSO is shared with the guest.
        if name == "[vdso]" || name.starts_with("[vvar") {
            shared.extend(maps_range(line));
            continue;
        }
        if name == "[vsyscall]" {
            continue;
        }
        v.extend(maps_range(line));
    }
    let _ = VDSO.set(None);
    let _ = SHARED.set(shared);
}

/// The host's vDSO and vvar pages (at the snapshot): the guest is given
/// the vDSO tern's own C library calls (`clock_gettime`), so the guest
/// must not unmap, move, replace or reprotect them (valgrind unmaps the
/// vDSO at start-up; tern then died at its next clock read). See
/// `mm::munmap`.
static SHARED: OnceLock<Vec<(u64, u64)>> = OnceLock::new();

/// The host's vDSO and vvar ranges, which the guest sees as its own
/// until it unmaps them ([`hide_shared`]).
pub fn shared_ranges() -> &'static [(u64, u64)] {
    SHARED.get().map_or(&[], |v| v.as_slice())
}

/// The guest unmapped the shared pages in `[start, end)`: from now on they
/// are tern's memory to it (left out of `/proc/self/maps`, never given to
/// a `MAP_FIXED` mapping), while tern goes on using them.
pub fn hide_shared(start: u64, end: u64) {
    for &(s, e) in shared_ranges() {
        if s < end && start < e {
            tern_translate::pages::note_tern_memory(s, e);
        }
    }
}

/// A new program sees the vDSO and vvar pages again, whatever the old one
/// unmapped (an `execve` this process runs itself: natively the new
/// memory has its own).
pub fn unhide_shared() {
    for &(s, e) in shared_ranges() {
        tern_translate::pages::forget_tern_memory(s, e);
    }
}

/// The host vDSO's range, as the snapshot of tern's ranges saw it (one
/// read of `/proc/self/maps` at start-up, not two).
static VDSO: std::sync::OnceLock<Option<(u64, u64)>> = std::sync::OnceLock::new();

/// The host vDSO's range, from `/proc/self/maps` (at the snapshot, if
/// taken).
pub fn vdso_range() -> Option<(u64, u64)> {
    if let Some(&r) = VDSO.get() {
        return r;
    }
    let maps = read_proc("/proc/self/maps").ok()?;
    maps_range(String::from_utf8_lossy(&maps).lines().find(|l| l.ends_with("[vdso]"))?)
}

/// Holds the registry of tern's ranges locked (across a host `fork`).
pub fn lock_for_fork() -> std::sync::RwLockWriteGuard<'static, Vec<(u64, u64)>> {
    TERN_RANGES.write().unwrap_or_else(|e| e.into_inner())
}

/// Adds a range tern allocated for itself after the snapshot.
pub fn add_tern_range(start: u64, end: u64) {
    TERN_RANGES.write().unwrap_or_else(|e| e.into_inner()).push((start, end));
}

/// tern's own ranges, including its malloc heap as it has grown since the
/// snapshot (from the snapshot's first range up to the current break).
pub fn tern_ranges() -> Vec<(u64, u64)> {
    let mut v = TERN_RANGES.read().unwrap_or_else(|e| e.into_inner()).clone();
    v.extend(tern_translate::pages::tern_memory());
    // SAFETY: sbrk(0) only reads tern's current program break.
    let brk = unsafe { libc::sbrk(0) } as u64;
    if let Some(heap) = v.iter_mut().filter(|r| r.0 <= brk).max_by_key(|r| r.0) {
        heap.1 = heap.1.max(brk);
    }
    v
}

/// A `status` file (of `path`) as the guest sees it: `SigCgt` names the
/// signals the guest handles (tern's host handlers catch more: SIGSEGV,
/// SIGBUS, SIGILL, SIGFPE, SIGTRAP), and the calling thread's own `SigBlk`
/// is its guest mask (the host's leaves out the fault signals tern keeps
/// unblocked); the `Vm*` and `Rss*` lines are the guest's memory's
/// (`proc_mem.rs`). The rest is the host's: another thread's mask, the
/// pending and ignored sets are the guest's already.
fn guest_status(p: &Process, path: &[u8], text: &[u8]) -> Vec<u8> {
    let mem = crate::proc_mem::guest_sums(p);
    let caught = (1..=64).filter(|&sig| p.signals.action(sig).handler > tern_signals::guest::SIG_IGN);
    let caught = caught.fold(0u64, |m, sig| m | 1 << (sig - 1));
    let blocked = names_calling_thread(path).then(tern_signals::mask::guest_mask);
    let hidden = crate::proc_threads::hidden_count();
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive(|&b| b == b'\n') {
        if let Some(l) = crate::proc_threads::status_line(line, hidden) {
            out.extend_from_slice(&l);
            continue;
        }
        let key = line.split(|&b| b == b'\t').next().unwrap_or(b"");
        if let Some(l) = crate::proc_mem::status_line(key, &mem) {
            out.extend_from_slice(l.as_bytes());
            continue;
        }
        match (line.starts_with(b"SigCgt:"), line.starts_with(b"SigBlk:"), blocked) {
            (true, _, _) => out.extend_from_slice(format!("SigCgt:\t{caught:016x}\n").as_bytes()),
            (_, true, Some(mask)) => out.extend_from_slice(format!("SigBlk:\t{mask:016x}\n").as_bytes()),
            _ => out.extend_from_slice(line),
        }
    }
    out
}

/// True if `path`, one of this process's /proc entries
/// ([`is_self_proc`]), is the calling thread's: under `thread-self` or
/// `task/TID` with its tid, or the process's own when it is the main
/// thread.
fn names_calling_thread(path: &[u8]) -> bool {
    // SAFETY: gettid and getpid have no preconditions.
    let (tid, pid) = unsafe { (libc::gettid(), libc::getpid()) };
    let parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    let num = |b: &[u8]| std::str::from_utf8(b).ok().and_then(|s| s.parse::<i32>().ok());
    let leader = match parts.get(2) {
        Some(&b"thread-self") => Some(tid),
        Some(&b"self") => Some(pid),
        Some(who) => num(who),
        None => None,
    };
    let who = if parts.get(3) == Some(&&b"task"[..]) { parts.get(4).and_then(|t| num(t)) } else { leader };
    who == Some(tid)
}

/// True if `path` names this process's entry `what` in /proc (paths are
/// bytes: one that is not UTF-8 is simply another file): under
/// `/proc/self`, `/proc/thread-self`, `/proc/PID` or `/proc/TID` for any of
/// its threads, directly or under `task/TID/`.
pub(crate) fn is_self_proc(path: &[u8], what: &str) -> bool {
    let Some(rest) = path.strip_prefix(b"/proc/") else { return false };
    let Some(slash) = rest.iter().position(|&b| b == b'/') else { return false };
    let (who, mut entry) = (&rest[..slash], &rest[slash + 1..]);
    // A thread of this process (the main one's tid is the pid).
    let ours = |id: &[u8]| {
        !id.is_empty()
            && id.iter().all(u8::is_ascii_digit)
            && Path::new(OsStr::from_bytes(&[b"/proc/self/task/", id].concat())).exists()
    };
    if !(who == b"self" || who == b"thread-self" || ours(who)) {
        return false;
    }
    if let Some(t) = entry.strip_prefix(b"task/") {
        let Some(slash) = t.iter().position(|&b| b == b'/') else { return false };
        if !ours(&t[..slash]) {
            return false;
        }
        entry = &t[slash + 1..];
    }
    entry == what.as_bytes()
}

/// The program an `exe` link of /proc shows the guest, if `path` is one:
/// this process's own (`/proc/self/exe`, `/proc/PID/task/TID/exe`, ...),
/// or another guest's of tern (`proc_other`). The host's link names tern.
/// A link that leads nowhere on the host (the process's own once its
/// main thread has ended with others running on: ENOENT natively too) is
/// left to the host's answer.
pub(crate) fn exe_link(p: &Process, path: &[u8]) -> Option<Vec<u8>> {
    if is_self_proc(path, "exe") {
        std::fs::read_link(OsStr::from_bytes(path)).ok()?;
        Some(p.exe.as_os_str().as_bytes().to_vec())
    } else {
        crate::proc_other::guest_exe(path, &p.reexec.tern)
    }
}

/// Calls that follow a path's last symlink and tell about the file it
/// leads to (`stat`, `statx`, `access`, `statfs`, ...): a path naming an
/// `exe` link of /proc is given to the host as the guest's program, which
/// natively is where the link leads, not tern (glibc's tests copy
/// themselves by the size `stat("/proc/self/exe")` gives). `path_arg`
/// is the path's argument; `follow` false (AT_SYMLINK_NOFOLLOW) asks
/// about the link itself, the host's answer. Other paths cost a read of
/// their first bytes.
fn following_exe(p: &Process, nr: i64, mut a: [u64; 6], path_arg: usize, follow: bool) -> SysResult {
    let mut head = [0u8; 6];
    let target = (follow && read_guest(a[path_arg], &mut head) == head.len() && &head == b"/proc/")
        .then(|| read_cstr(a[path_arg], 4096))
        .flatten()
        .and_then(|path| exe_link(p, &path))
        .and_then(|exe| std::ffi::CString::new(exe).ok());
    if let Some(exe) = &target {
        a[path_arg] = exe.as_ptr() as u64;
    }
    crate::result(host_syscall(nr as u64, a))
}

/// Whether an `*at` call's flags follow the last symlink.
fn follows(flags: u64) -> bool {
    flags & libc::AT_SYMLINK_NOFOLLOW as u64 == 0
}

pub fn stat(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    following_exe(p, libc::SYS_stat, a, 0, true)
}

pub fn statfs(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    following_exe(p, libc::SYS_statfs, a, 0, true)
}

pub fn access(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    following_exe(p, libc::SYS_access, a, 0, true)
}

/// `faccessat` has no flags argument: it always follows.
pub fn faccessat(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    following_exe(p, libc::SYS_faccessat, a, 1, true)
}

pub fn faccessat2(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    following_exe(p, libc::SYS_faccessat2, a, 1, follows(a[3]))
}

fn do_readlink(p: &Process, path_addr: u64, buf: u64, size: u64) -> Option<SysResult> {
    let path = read_cstr(path_addr, 4096)?;
    let exe = exe_link(p, &path)?;
    if (size as i64) <= 0 {
        return Some(Err(libc::EINVAL));
    }
    let n = exe.len().min(size as usize);
    Some(if write_guest(buf, &exe[..n]) { Ok(n as u64) } else { Err(libc::EFAULT) })
}

pub fn readlink(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    do_readlink(p, a[0], a[1], a[2])
        .unwrap_or_else(|| crate::result(host_syscall(libc::SYS_readlink as u64, a)))
}

pub fn readlinkat(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    do_readlink(p, a[1], a[2], a[3])
        .unwrap_or_else(|| crate::result(host_syscall(libc::SYS_readlinkat as u64, a)))
}

/// The memfd holding a guest's view of a `/proc` file is named this, then
/// the host file's path.
const MEMFD_PREFIX: &[u8] = b"tern-proc:";
/// The longest memfd name (`MFD_NAME_MAX_LEN`, 249 bytes after "memfd:").
const MEMFD_NAME_MAX: usize = 249;

/// The host `/proc` file guest descriptor `fd` stands for, if it is one
/// of tern's memfds (`open_with`).
pub(crate) fn emulated_path(fd: u64) -> Option<std::ffi::CString> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd as i32)).ok()?;
    let link = link.as_os_str().as_bytes();
    let rest = link.strip_prefix(b"/memfd:")?.strip_prefix(MEMFD_PREFIX)?;
    let path = rest.strip_suffix(b" (deleted)").unwrap_or(rest);
    std::ffi::CString::new(path).ok()
}

/// Calls on a descriptor that show what it is (`fstat`, `fstatfs`,
/// `statx` and `newfstatat` with AT_EMPTY_PATH, `cachestat`): for one of
/// tern's memfds standing for a `/proc` file, the answer is the host
/// file's (a size of 0, mode 0444, procfs), as natively, not the memfd's.
/// The memfd is recognised by what the host call gave back first (a
/// memfd's nlink 0 and mode 0777, tmpfs), so other descriptors cost no
/// more than the call.
pub fn fstat(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let r = crate::result(host_syscall(libc::SYS_fstat as u64, a))?;
    restat(a[0], a[1], StatKind::Stat, 0);
    Ok(r)
}

pub fn newfstatat(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let r = following_exe(p, libc::SYS_newfstatat, a, 1, follows(a[3]))?;
    if a[3] & libc::AT_EMPTY_PATH as u64 != 0 && empty_path(a[1]) {
        restat(a[0], a[2], StatKind::Stat, 0);
    }
    Ok(r)
}

pub fn statx(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let r = following_exe(p, libc::SYS_statx, a, 1, follows(a[2]))?;
    if a[2] & libc::AT_EMPTY_PATH as u64 != 0 && empty_path(a[1]) {
        restat(a[0], a[4], StatKind::Statx, a[3]);
    }
    Ok(r)
}

pub fn fstatfs(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let r = crate::result(host_syscall(libc::SYS_fstatfs as u64, a))?;
    restat(a[0], a[1], StatKind::Statfs, 0);
    Ok(r)
}

/// `cachestat(fd, range, cstat, flags)`: on a memfd standing for a `/proc`
/// file, the host file's answer (no pages cached).
pub fn cachestat(_p: &Process, _cpu: &mut CpuState, mut a: [u64; 6]) -> SysResult {
    const SYS_CACHESTAT: u64 = 451;
    let Some(path) = emulated_path(a[0]) else { return crate::result(host_syscall(SYS_CACHESTAT, a)) };
    let open =
        [libc::AT_FDCWD as u64, path.as_ptr() as u64, (libc::O_RDONLY | libc::O_CLOEXEC) as u64, 0, 0, 0];
    let Ok(real) = crate::result(host_syscall(libc::SYS_openat as u64, open)) else {
        return crate::result(host_syscall(SYS_CACHESTAT, a));
    };
    a[0] = real;
    let r = crate::result(host_syscall(SYS_CACHESTAT, a));
    close_host(real);
    r
}

#[derive(Clone, Copy)]
enum StatKind {
    Stat,
    Statx,
    Statfs,
}

fn empty_path(path: u64) -> bool {
    let mut b = [0u8; 1];
    read_guest(path, &mut b) == 1 && b[0] == 0
}

/// Rewrites the guest's `buf` with the host file's answer if `fd` is one
/// of tern's `/proc` memfds, recognised first by what `buf` holds.
fn restat(fd: u64, buf: u64, kind: StatKind, mask: u64) {
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    const MEMFD_MODE: u32 = libc::S_IFREG | 0o777;
    let word = |off: u64, len: usize| {
        let mut b = [0u8; 8];
        (read_guest(buf + off, &mut b[..len]) == len).then(|| u64::from_le_bytes(b))
    };
    let memfd_like = match kind {
        // st_nlink at 16 (8 bytes), st_mode at 24 (4).
        StatKind::Stat => word(16, 8) == Some(0) && word(24, 4) == Some(u64::from(MEMFD_MODE)),
        // stx_nlink at 16 (4), stx_mode at 28 (2).
        StatKind::Statx => word(16, 4) == Some(0) && word(28, 2) == Some(u64::from(MEMFD_MODE & 0xffff)),
        StatKind::Statfs => word(0, 8) == Some(TMPFS_MAGIC),
    };
    let Some(path) = memfd_like.then(|| emulated_path(fd)).flatten() else { return };
    let p = path.as_ptr() as u64;
    let at = libc::AT_FDCWD as u64;
    // The guest's buffer was just written whole by the host call.
    let _ = match kind {
        StatKind::Stat => host_syscall(libc::SYS_newfstatat as u64, [at, p, buf, 0, 0, 0]),
        StatKind::Statx => host_syscall(libc::SYS_statx as u64, [at, p, 0, mask, buf, 0]),
        StatKind::Statfs => host_syscall(libc::SYS_statfs as u64, [p, buf, 0, 0, 0, 0]),
    };
}

/// Closes a descriptor tern opened on the host for a call of the guest's.
fn close_host(fd: u64) {
    host_syscall(libc::SYS_close as u64, [fd, 0, 0, 0, 0, 0]);
}

/// Opens a file of the guest's view holding `data` in place of the host
/// file at `path`, the way `open(path, flags)` would natively: the host
/// file is opened first with the same flags, so an open that fails
/// natively fails with the same errno (EACCES for writing, ENOTDIR,
/// ELOOP...), and an `O_PATH` open keeps that descriptor. Otherwise the
/// data goes into a memfd reopened with the guest's access mode and
/// O_NONBLOCK, at the lowest free descriptor: a read-only open gives a
/// read-only descriptor, as natively (LTP `splice07` spliced an empty
/// pipe into a writable memfd and waited forever).
fn open_with(path: &[u8], flags: u64, data: impl FnOnce() -> Option<Vec<u8>>) -> Option<SysResult> {
    let c = std::ffi::CString::new(path).ok()?;
    let cloexec = flags & libc::O_CLOEXEC as u64;
    let open = |path: &std::ffi::CStr, flags: u64| {
        crate::result(host_syscall(
            libc::SYS_openat as u64,
            [libc::AT_FDCWD as u64, path.as_ptr() as u64, flags, 0, 0, 0],
        ))
    };
    let real = match open(&c, flags | libc::O_CLOEXEC as u64) {
        Err(e) => return Some(Err(e)),
        Ok(fd) => fd,
    };
    if flags & libc::O_PATH as u64 != 0 {
        if cloexec == 0 {
            host_syscall(libc::SYS_fcntl as u64, [real, libc::F_SETFD as u64, 0, 0, 0, 0]);
        }
        return Some(Ok(real));
    }
    close_host(real);
    let Some(data) = data() else { return Some(Err(libc::ENOENT)) };
    // Named for the host file it stands for (`emulated_path`); a path
    // too long for a memfd name keeps only the prefix.
    let name = std::ffi::CString::new([MEMFD_PREFIX, path].concat())
        .ok()
        .filter(|n| n.as_bytes().len() <= MEMFD_NAME_MAX)
        .unwrap_or_else(|| std::ffi::CString::from(c"tern-proc"));
    // SAFETY: plain syscalls on a new fd we own.
    let memfd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if memfd < 0 {
        return Some(Err(libc::EMFILE));
    }
    let memfd = memfd as u64;
    // SAFETY: writes `data` into the memfd we own.
    unsafe { libc::write(memfd as i32, data.as_ptr().cast(), data.len()) };
    let keep = (libc::O_ACCMODE | libc::O_NONBLOCK) as u64;
    let Ok(again) = std::ffi::CString::new(format!("/proc/self/fd/{memfd}")) else {
        close_host(memfd);
        return Some(Err(libc::ENOMEM));
    };
    let r = match open(&again, flags & keep | libc::O_CLOEXEC as u64) {
        Ok(fd) => {
            // The new description in the memfd's place (the lowest free
            // descriptor, as the native open would give).
            let flag = if cloexec != 0 { libc::O_CLOEXEC as u64 } else { 0 };
            let r = crate::result(host_syscall(libc::SYS_dup3 as u64, [fd, memfd, flag, 0, 0, 0]));
            close_host(fd);
            r
        }
        Err(e) => {
            close_host(memfd);
            Err(e)
        }
    };
    Some(r)
}

/// `/proc/self/maps` or `/proc/self/smaps` (`file`) without tern's own
/// mappings (its binary, heap, stack and code cache), and with the guest's
/// heap and stack named as the kernel names them (`fs/proc/task_mmu.c:
/// show_map_vma()`): tern maps them as plain anonymous memory, so the host
/// calls them nothing. In `smaps` a mapping is its header line (a `maps`
/// line) and the lines after it up to the next header.
pub(crate) fn guest_maps(p: &Process, file: &str) -> Vec<u8> {
    let names = AnonNames::new(p);
    // Bytes, not a string: a mapped file's name need not be UTF-8.
    let maps = read_proc(&format!("/proc/self/{file}")).unwrap_or_default();
    // Sorted and merged, for both the test and the cut below.
    let tern = crate::guard::tern_memory();
    let mut out = Vec::with_capacity(maps.len());
    let mut skip = false;
    for line in maps.split_inclusive(|&b| b == b'\n') {
        let Some((a, b)) = maps_range(&String::from_utf8_lossy(line)) else {
            // A field line of `smaps`: goes with its mapping's header.
            if !skip {
                out.extend_from_slice(line);
            }
            continue;
        };
        skip = crate::guard::overlaps(&tern, a, b - a);
        if skip {
            // The kernel merges a guest mapping with an adjacent one of
            // tern's of the same kind (the guest's TLS block right after
            // the bss of tern's C library): the guest's part is shown as
            // its own line (in `smaps`, with the whole range's fields).
            let mut parts = outside(a, b, &tern);
            if file != "maps" {
                // One header for the fields that follow (a guest part on
                // both sides of tern's is not seen in practice).
                parts.truncate(1);
            }
            for &(s, e) in &parts {
                out.extend_from_slice(&moved_line(line, a, s, e));
            }
            skip = parts.is_empty();
            continue;
        }
        let fixed = perms_as_asked(p, line, a);
        let line = fixed.as_deref().unwrap_or(line);
        // A nameless line is its fields and one space (" 0 \n").
        let name = if line.ends_with(b" 0 \n") { names.name(a, b) } else { None };
        match name {
            Some(name) => {
                // The kernel pads the fields to 73 columns before a name.
                let fields = &line[..line.len() - 1];
                out.extend_from_slice(fields);
                out.resize(out.len() + 73usize.saturating_sub(fields.len()), b' ');
                out.extend_from_slice(name.as_bytes());
                out.push(b'\n');
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}

/// `line` (a mapping starting at `a`) with the permissions the guest
/// asked for where tern added a read the guest did not (`mm::guest_perms`).
fn perms_as_asked(p: &Process, line: &[u8], a: u64) -> Option<Vec<u8>> {
    let at = line.iter().position(|&c| c == b' ')? + 1;
    let perms = std::str::from_utf8(line.get(at..at + 4)?).ok()?;
    // Only readable and executable memory may be such (the guest map's
    // lock is not taken for the others).
    if !perms.starts_with('r') || perms.as_bytes()[2] != b'x' {
        return None;
    }
    let fixed = crate::mm::guest_perms(perms, p.jit.prot_at(a))?;
    let mut out = line.to_vec();
    out[at..at + 4].copy_from_slice(fixed.as_bytes());
    Some(out)
}

/// The parts of `[a, b)` outside the sorted, disjoint `ranges`.
pub(crate) fn outside(a: u64, b: u64, ranges: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut parts = Vec::new();
    let mut at = a;
    for &(s, e) in ranges.iter().filter(|&&(s, e)| s < b && a < e) {
        if s > at {
            parts.push((at, s));
        }
        at = at.max(e);
    }
    if at < b {
        parts.push((at, b));
    }
    parts
}

/// `line` of the maps file, a mapping that starts at `a`, for its part
/// `[s, e)`: the range and the file offset moved, the rest as it was.
fn moved_line(line: &[u8], a: u64, s: u64, e: u64) -> Vec<u8> {
    let text = String::from_utf8_lossy(line);
    let mut fields = text.splitn(4, ' ');
    let (_, perms, offset, rest) = (fields.next(), fields.next(), fields.next(), fields.next());
    let (Some(perms), Some(offset), Some(rest)) = (perms, offset, rest) else { return Vec::new() };
    let offset = u64::from_str_radix(offset, 16).unwrap_or(0);
    // An anonymous mapping's offset reads 0 whatever its part.
    let offset = if offset == 0 { 0 } else { offset + (s - a) };
    let head = format!("{s:08x}-{e:08x} {perms} {offset:08x} ");
    // The rest of the bytes as they were (a file name need not be UTF-8;
    // the fields before it are ASCII, as long in bytes as in `text`).
    let prefix = text.len() - rest.len();
    let mut out = head.into_bytes();
    out.extend_from_slice(line.get(prefix..).unwrap_or_default());
    out
}

/// The names the kernel gives the guest's heap and stack, which tern maps
/// as plain anonymous memory (the host names them nothing).
pub(crate) struct AnonNames {
    heap: (u64, u64),
    stack: Option<u64>,
}

impl AnonNames {
    pub(crate) fn new(p: &Process) -> AnonNames {
        let heap = {
            let b = p.brk.lock().unwrap_or_else(|e| e.into_inner());
            (b.start, b.cur)
        };
        AnonNames { heap, stack: stack_strings().map(|[(arg_start, _), _]| arg_start) }
    }

    /// The name of the nameless anonymous mapping `[a, b)`, if it has one.
    pub(crate) fn name(&self, a: u64, b: u64) -> Option<&'static str> {
        if a < self.heap.1 && b > self.heap.0 {
            Some("[heap]")
        } else if self.stack.is_some_and(|s| (a..b).contains(&s)) {
            Some("[stack]")
        } else {
            None
        }
    }
}

/// The fields of `/proc/self/smaps_rollup`, in the kernel's order.
const ROLLUP_FIELDS: [&str; 22] = [
    "Rss",
    "Pss",
    "Pss_Dirty",
    "Pss_Anon",
    "Pss_File",
    "Pss_Shmem",
    "Shared_Clean",
    "Shared_Dirty",
    "Private_Clean",
    "Private_Dirty",
    "Referenced",
    "Anonymous",
    "KSM",
    "LazyFree",
    "AnonHugePages",
    "ShmemPmdMapped",
    "FilePmdMapped",
    "Shared_Hugetlb",
    "Private_Hugetlb",
    "Swap",
    "SwapPss",
    "Locked",
];

/// `/proc/self/smaps_rollup` of the guest's mappings only: the sums of the
/// guest's `smaps` ([`guest_maps`]), in the kernel's layout
/// (`fs/proc/task_mmu.c: show_smaps_rollup()`), each field the guest's
/// smaps has. The kernel splits Pss into anonymous, file and shmem pages
/// page by page; here a mapping's Pss goes to shmem if it is shared
/// anonymous memory, else to anonymous up to its anonymous pages and to
/// file for the rest.
fn guest_smaps_rollup(p: &Process) -> Vec<u8> {
    let smaps = guest_maps(p, "smaps");
    let mut sums = [None::<u64>; ROLLUP_FIELDS.len()];
    let mut add = |key: &str, kb: u64| {
        if let Some(i) = ROLLUP_FIELDS.iter().position(|f| *f == key) {
            *sums[i].get_or_insert(0) += kb;
        }
    };
    // Pss split as above, for one mapping's Pss and anonymous kB (all
    // three fields are always there, as in the kernel's).
    let split = |add: &mut dyn FnMut(&str, u64), (pss, anon, shmem): (u64, u64, bool)| {
        let anon = if shmem { 0 } else { pss.min(anon) };
        add("Pss_Anon", anon);
        add("Pss_File", if shmem { 0 } else { pss - anon });
        add("Pss_Shmem", if shmem { pss } else { 0 });
    };
    let (mut first, mut last) = (None, 0);
    // This mapping's Pss and anonymous kB, and whether it is shmem.
    let mut cur = (0u64, 0u64, false);
    for line in String::from_utf8_lossy(&smaps).lines() {
        if let Some((a, b)) = maps_range(line) {
            split(&mut add, std::mem::take(&mut cur));
            if !line.ends_with("[vsyscall]") {
                first.get_or_insert(a);
                last = b;
            }
            let name = line.split_whitespace().nth(5).unwrap_or("");
            cur.2 = crate::proc_mem::is_shmem(name);
            continue;
        }
        let Some((key, kb)) = crate::proc_mem::smaps_field(line) else { continue };
        match key {
            "Pss" => cur.0 = kb,
            "Anonymous" => cur.1 = kb,
            _ => {}
        }
        add(key, kb);
    }
    split(&mut add, cur);
    let header = format!("{:08x}-{last:08x} ---p 00000000 00:00 0", first.unwrap_or(0));
    let mut out = format!("{header:<72} [rollup]\n");
    for (key, kb) in ROLLUP_FIELDS.iter().zip(sums) {
        if let Some(kb) = kb {
            out.push_str(&format!("{:<16}{kb:>8} kB\n", format!("{key}:")));
        }
    }
    out.into_bytes()
}

/// The host's `/proc/cpuinfo` with each `flags` line replaced by the CPU
/// model's (`CpuModel::cpuinfo_flags`: the flags CPUID reports, so that a
/// program reading this file does not pick code that raises SIGILL).
fn guest_cpuinfo(model: tern_translate::CpuModel) -> Vec<u8> {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let mut out = String::new();
    for line in info.lines() {
        match line.split_once(':') {
            Some((k, v)) if k.trim() == "flags" => {
                out.push_str(&format!("{k}: {}\n", model.cpuinfo_flags(v)));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.into_bytes()
}

fn do_open(p: &Process, path_addr: u64, flags: u64) -> Option<SysResult> {
    let path = read_cstr(path_addr, 4096)?;
    if is_self_proc(&path, "mem") {
        crate::self_mem::note_open();
        return None;
    }
    if path == b"/proc/cpuinfo" {
        return open_with(&path, flags, || Some(guest_cpuinfo(p.jit.model())));
    }
    if is_self_proc(&path, "auxv") {
        return open_with(&path, flags, || Some(p.auxv.clone()));
    }
    if is_self_proc(&path, "cmdline") {
        return open_with(&path, flags, || Some(guest_cmdline(p)));
    }
    if is_self_proc(&path, "environ") {
        let env = guest_environ()?;
        return open_with(&path, flags, || Some(env));
    }
    for file in ["maps", "smaps"] {
        if is_self_proc(&path, file) {
            return open_with(&path, flags, || Some(guest_maps(p, file)));
        }
    }
    if is_self_proc(&path, "smaps_rollup") {
        return open_with(&path, flags, || Some(guest_smaps_rollup(p)));
    }
    if is_self_proc(&path, "statm") {
        return open_with(&path, flags, || Some(crate::proc_mem::statm(&crate::proc_mem::guest_sums(p))));
    }
    if is_self_proc(&path, "status") {
        let text = std::fs::read(OsStr::from_bytes(&path)).ok();
        return open_with(&path, flags, || text.map(|t| guest_status(p, &path, &t)));
    }
    // Snapshot only while tern has threads to hide: `stat` is read again
    // through one descriptor by programs that sample their CPU times.
    let hidden = if is_self_proc(&path, "stat") { crate::proc_threads::hidden_count() } else { 0 };
    if hidden > 0 {
        let text = std::fs::read(OsStr::from_bytes(&path)).ok();
        return open_with(&path, flags, || text.map(|t| crate::proc_threads::guest_stat(&t, hidden)));
    }
    if is_self_proc(&path, "limits") {
        return open_with(&path, flags, || {
            std::fs::read("/proc/self/limits").ok().map(|t| crate::rlimit::limits_file(&t))
        });
    }
    if let Some(exe) = exe_link(p, &path) {
        // A running program is not open for writing (`fs/exec.c`
        // denies it writers; tern only maps the guest's, so the kernel
        // would let the open through).
        if flags as i32 & libc::O_ACCMODE != libc::O_RDONLY {
            return Some(Err(libc::ETXTBSY));
        }
        let c = std::ffi::CString::new(exe).ok()?;
        return Some(crate::result(host_syscall(
            libc::SYS_openat as u64,
            [libc::AT_FDCWD as u64, c.as_ptr() as u64, flags, 0, 0, 0],
        )));
    }
    None
}

pub fn openat(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    do_open(p, a[1], a[2]).unwrap_or_else(|| crate::result(host_syscall(libc::SYS_openat as u64, a)))
}

/// `openat2(dirfd, path, how, size)`: the guest's /proc files as for
/// `openat`, with `how`'s flags; then the host's `openat2` of the same
/// path and `how`, whose errors stand (unknown flags, a mode without
/// O_CREAT, the RESOLVE_* rules: RESOLVE_NO_MAGICLINKS refuses
/// `/proc/self/exe`). Before, it went to the host alone and opened
/// tern's own files (its maps, its binary).
pub fn openat2(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let host = || crate::result(host_syscall(libc::SYS_openat2 as u64, a));
    let mut flags = [0u8; 8];
    if a[3] < 24 || read_guest(a[2], &mut flags) != flags.len() {
        return host();
    }
    let Some(ours) = do_open(p, a[1], u64::from_le_bytes(flags)) else { return host() };
    let fd = ours?;
    match host() {
        Ok(check) => {
            close_host(check);
            Ok(fd)
        }
        Err(e) => {
            close_host(fd);
            Err(e)
        }
    }
}

pub fn open(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    do_open(p, a[0], a[1]).unwrap_or_else(|| crate::result(host_syscall(libc::SYS_open as u64, a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_part_of_a_merged_mapping() {
        let tern = [(0x1000, 0x3000), (0x5000, 0x6000)];
        assert_eq!(outside(0x1000, 0x4000, &tern), vec![(0x3000, 0x4000)]);
        assert_eq!(outside(0x0, 0x7000, &tern), vec![(0x0, 0x1000), (0x3000, 0x5000), (0x6000, 0x7000)]);
        assert_eq!(outside(0x1000, 0x3000, &tern), vec![]);
        let anon = b"7f00a000-7f00d000 rw-p 00000000 00:00 0 \n";
        assert_eq!(
            moved_line(anon, 0x7f00a000, 0x7f00c000, 0x7f00d000),
            b"7f00c000-7f00d000 rw-p 00000000 00:00 0 \n"
        );
        let file = b"7f00a000-7f00d000 r--p 00001000 fe:00 12 /lib/x\xff.so\n";
        assert_eq!(
            moved_line(file, 0x7f00a000, 0x7f00b000, 0x7f00d000),
            b"7f00b000-7f00d000 r--p 00002000 fe:00 12 /lib/x\xff.so\n"
        );
    }
}
