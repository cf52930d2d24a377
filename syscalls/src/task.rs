//! Threads, processes and exec: exit, exit_group, arch_prctl, clone/fork,
//! execve.
//!
//! Guest threads (CLONE_VM without CLONE_VFORK) arrive with the threads
//! issue; until then `clone` refuses them with EAGAIN, as a system at its
//! thread limit would. A fork child is a complete copy of tern with one
//! thread; `vfork` and `CLONE_VM|CLONE_VFORK` (posix_spawn) are real
//! (`vfork.rs`).

use crate::{host_syscall, result, Flow, Process, SysResult};
use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use tern_translate::cpu::{CpuState, RDI, RSP};
use tern_translate::guestmem::{read_cstr, read_guest, read_u64, write_guest};

/// How tern runs a new program under itself on `execve`.
#[derive(Clone, Debug)]
pub struct Reexec {
    /// tern's own executable.
    pub tern: std::path::PathBuf,
    /// Options to repeat (e.g. `--strace`, `--cpu x86-64-v2`).
    pub options: Vec<String>,
    /// Hand tern's log descriptor to the new tern (`--log-fd`), so that a
    /// `--strace` or `-d` log follows the guest across exec.
    pub pass_log: bool,
    /// The errno a native `execve` of this path would fail with, if any
    /// (the loader's checks: `#!` lines, permissions, ELF headers), so that
    /// the guest gets it instead of a new tern failing after the exec.
    pub check: fn(&Path) -> Result<(), i32>,
}

pub fn exit(_p: &Process, cpu: &mut CpuState, _a: [u64; 6]) -> (Flow, SysResult) {
    (Flow::ExitThread(cpu.regs[RDI] as i32), Ok(0))
}

pub fn exit_group(_p: &Process, cpu: &mut CpuState, _a: [u64; 6]) -> (Flow, SysResult) {
    (Flow::ExitGroup(cpu.regs[RDI] as i32), Ok(0))
}

const ARCH_SET_GS: u64 = 0x1001;
const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;
const ARCH_GET_GS: u64 = 0x1004;
const ARCH_GET_CPUID: u64 = 0x1011;
const ARCH_SET_CPUID: u64 = 0x1012;
const USER_TOP: u64 = 0x7fff_ffff_f000;

/// `arch/x86/kernel/process_64.c: do_arch_prctl_64()`, on the guest's bases.
pub fn arch_prctl(_p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    match a[0] {
        ARCH_SET_FS | ARCH_SET_GS => {
            if a[1] >= USER_TOP {
                return Err(libc::EPERM);
            }
            if a[0] == ARCH_SET_FS {
                cpu.fs_base = a[1];
            } else {
                cpu.gs_base = a[1];
            }
            Ok(0)
        }
        ARCH_GET_FS | ARCH_GET_GS => {
            let v = if a[0] == ARCH_GET_FS { cpu.fs_base } else { cpu.gs_base };
            if write_guest(a[1], &v.to_le_bytes()) {
                Ok(0)
            } else {
                Err(libc::EFAULT)
            }
        }
        // CPUID is always enabled; tern offers no CPUID faulting (as a host
        // without it: ENODEV).
        ARCH_GET_CPUID => Ok(1),
        ARCH_SET_CPUID => Err(libc::ENODEV),
        _ => Err(libc::EINVAL),
    }
}

/// Every tern lock a guest thread may hold, taken around a host `fork` so
/// that the child, which has only the forking thread, finds them all free
/// and what they guard consistent (the way the kernel-facing emulators do
/// it; glibc's `fork` does the same for malloc and stdio). Lock order: brk,
/// dispositions, translator (see `Jit::lock_for_fork`), tern's ranges, the
/// guard's cache of them. A lock added elsewhere that a guest thread may
/// hold while another forks belongs here.
struct ForkLocks<'a> {
    _brk: std::sync::MutexGuard<'a, crate::mm::Brk>,
    _signals: std::sync::MutexGuard<'a, [tern_signals::SigAction; 65]>,
    jit: tern_translate::ForkLocks<'a>,
    _ranges: std::sync::RwLockWriteGuard<'static, Vec<(u64, u64)>>,
    _guard: std::sync::RwLockWriteGuard<'static, Option<crate::guard::TernMap>>,
}

impl ForkLocks<'_> {
    fn take(p: &Process) -> ForkLocks<'_> {
        ForkLocks {
            _brk: p.brk.lock().unwrap_or_else(|e| e.into_inner()),
            _signals: p.signals.lock_for_fork(),
            jit: p.jit.lock_for_fork(),
            _ranges: crate::proc::lock_for_fork(),
            _guard: crate::guard::lock_for_fork(),
        }
    }
}

/// Functions run in every forked child (after tern's own reset), e.g. to
/// forget the parent's other threads or restart background threads
/// (watchdogs, the trace optimizer): see [`on_fork_child`].
static FORK_CHILD_HOOKS: std::sync::Mutex<Vec<fn()>> = std::sync::Mutex::new(Vec::new());

/// Registers `f` to run in each forked child, with one thread, before it
/// runs guest code again. The kernel gives the child only the thread that
/// called fork: per-thread registries must drop the others and background
/// threads must be started again.
pub fn on_fork_child(f: fn()) {
    FORK_CHILD_HOOKS.lock().unwrap_or_else(|e| e.into_inner()).push(f);
}

/// Called in a new child process, with the fork locks still held: makes
/// tern's shared state private, then runs the registered hooks.
fn after_fork_child(locks: &mut ForkLocks) {
    tern_translate::guestmem::reset_pid();
    tern_signals::pending::clear_after_fork();
    if let Err(e) = locks.jit.unshare_in_child() {
        tern_signals::say!("tern: cannot copy the code cache after fork: {e}");
        // SAFETY: _exit is always safe to call.
        unsafe { libc::_exit(127) };
    }
}

fn run_fork_child_hooks() {
    let hooks = FORK_CHILD_HOOKS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for f in hooks {
        f();
    }
}

/// The guest clone flags glibc's `fork()` reproduces on the host: the
/// exit signal SIGCHLD and the tid stores tern does itself.
const PLAIN_FORK: u64 = (libc::SIGCHLD
    | libc::CLONE_PARENT_SETTID
    | libc::CLONE_CHILD_SETTID
    | libc::CLONE_CHILD_CLEARTID) as u64;

/// The host fork: glibc's `fork()` for a plain fork (it resets malloc's and
/// stdio's locks in the child, which a raw clone from a multithreaded tern
/// would leave held by threads that do not exist there), the raw call for
/// anything else (another exit signal, CLONE_PIDFD, namespaces...). Guest
/// CLONE_PARENT_SETTID, CLONE_CHILD_SETTID and CLONE_CHILD_CLEARTID are
/// applied as `kernel/fork.c: kernel_clone()` and `copy_process()` do:
/// the child's tid stored in the parent's memory, in the child's, and the
/// child's clear-tid address set (cleared and woken when it exits).
fn host_fork(flags: u64, ptid: u64, ctid: u64) -> SysResult {
    if flags & !PLAIN_FORK != 0 {
        return result(host_syscall(libc::SYS_clone as u64, [flags, 0, ptid, ctid, 0, 0]));
    }
    // SAFETY: glibc's fork; the caller holds tern's locks around it.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EAGAIN));
    }
    let store_tid = |addr: u64, tid: i32| {
        write_guest(addr, &tid.to_le_bytes());
    };
    if pid == 0 {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        if flags & libc::CLONE_CHILD_SETTID as u64 != 0 {
            store_tid(ctid, tid);
        }
        if flags & libc::CLONE_CHILD_CLEARTID as u64 != 0 {
            // SAFETY: the guest's address; the kernel writes 0 there (and
            // wakes a futex) when this thread exits, as for the guest's
            // clone. glibc does not use the main thread's.
            unsafe { libc::syscall(libc::SYS_set_tid_address, ctid) };
        }
    } else if flags & libc::CLONE_PARENT_SETTID as u64 != 0 {
        store_tid(ptid, pid);
    }
    Ok(pid as u64)
}

/// `fork`, and `clone` without CLONE_VM: the child is a complete tern with
/// the calling thread only.
fn do_fork(
    p: &Process,
    cpu: &mut CpuState,
    flags: u64,
    stack: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
) -> SysResult {
    // The host call never switches stacks or TLS: tern keeps running on its
    // own stack in the child and applies the guest's values to the CpuState.
    let host_flags = flags & !(libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_SETTLS) as u64;
    // Parent and child share the code cache's memory until the child has
    // made its own copy; the parent waits for that so that neither sees the
    // other's new code or chain patches.
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills a local array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(libc::EAGAIN);
    }
    let mut locks = ForkLocks::take(p);
    let r = host_fork(host_flags, ptid, ctid);
    if r == Ok(0) {
        after_fork_child(&mut locks);
    }
    drop(locks);
    // SAFETY: closing and using the pipe fds created above.
    unsafe {
        match r {
            Ok(0) => {
                run_fork_child_hooks();
                libc::write(fds[1], [1u8].as_ptr().cast(), 1);
                libc::close(fds[1]);
            }
            Ok(_) => {
                let mut b = [0u8; 1];
                libc::close(fds[1]);
                while libc::read(fds[0], b.as_mut_ptr().cast(), 1) < 0
                    && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
                {}
            }
            Err(_) => {
                libc::close(fds[1]);
            }
        }
        libc::close(fds[0]);
    }
    let r = r?;
    if r == 0 {
        if stack != 0 {
            cpu.regs[RSP] = stack;
        }
        if flags & libc::CLONE_SETTLS as u64 != 0 {
            cpu.fs_base = tls;
        }
    }
    Ok(r)
}

pub fn clone(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let flags = a[0];
    let vm = flags & libc::CLONE_VM as u64 != 0;
    let vfork = flags & libc::CLONE_VFORK as u64 != 0;
    // x86-64 clone argument order: flags, stack, parent_tid, child_tid, tls.
    if vm && vfork && flags & libc::CLONE_THREAD as u64 == 0 {
        return crate::vfork::vfork(p, cpu, flags, a[1], a[2], a[3], a[4]);
    }
    if vm || flags & libc::CLONE_THREAD as u64 != 0 {
        tracing::warn!("tern: guest threads are not supported yet (clone flags {flags:#x})");
        return Err(libc::EAGAIN);
    }
    do_fork(p, cpu, flags, a[1], a[2], a[3], a[4])
}

pub fn fork(p: &Process, cpu: &mut CpuState, _a: [u64; 6]) -> SysResult {
    do_fork(p, cpu, libc::SIGCHLD as u64, 0, 0, 0, 0)
}

/// `vfork`: `kernel/fork.c: SYSCALL_DEFINE0(vfork)` is a clone with
/// CLONE_VFORK | CLONE_VM and SIGCHLD.
pub fn vfork(p: &Process, cpu: &mut CpuState, _a: [u64; 6]) -> SysResult {
    let flags = (libc::CLONE_VFORK | libc::CLONE_VM | libc::SIGCHLD) as u64;
    crate::vfork::vfork(p, cpu, flags, 0, 0, 0, 0)
}

/// Reads a guest C string of at most `max` bytes: `too_long` when it goes
/// on (readable) past that, EFAULT when it cannot be read.
fn read_str(addr: u64, max: usize, too_long: i32) -> Result<Vec<u8>, i32> {
    match read_cstr(addr, max) {
        Some(s) if s.len() <= max => Ok(s),
        Some(_) => Err(too_long),
        None if read_guest(addr + max as u64, &mut [0u8]) == 1 => Err(too_long),
        None => Err(libc::EFAULT),
    }
}

/// An argument or environment string longer than this is E2BIG
/// (MAX_ARG_STRLEN, `fs/exec.c: copy_strings()`).
const MAX_ARG_STRLEN: usize = 32 * 4096;

/// Reads a NULL-terminated array of string pointers.
fn read_strv(addr: u64) -> Result<Vec<Vec<u8>>, i32> {
    let mut v = Vec::new();
    if addr == 0 {
        return Ok(v);
    }
    for i in 0..0x10_0000u64 {
        let ptr = read_u64(addr + 8 * i).ok_or(libc::EFAULT)?;
        if ptr == 0 {
            return Ok(v);
        }
        v.push(read_str(ptr, MAX_ARG_STRLEN - 1, libc::E2BIG)?);
    }
    Err(libc::E2BIG)
}

fn cstring(b: Vec<u8>) -> Result<CString, i32> {
    CString::new(b).map_err(|_| libc::EINVAL)
}

/// Reads the path argument of `execve` (`getname()`: ENAMETOOLONG past
/// PATH_MAX, ENOENT when empty).
fn read_path(addr: u64) -> Result<Vec<u8>, i32> {
    const PATH_MAX: usize = 4096;
    match read_str(addr, PATH_MAX - 1, libc::ENAMETOOLONG)? {
        p if p.is_empty() => Err(libc::ENOENT),
        p => Ok(p),
    }
}

/// The errors of `fs/exec.c: do_open_execat()`, which the kernel gives
/// before it reads argv and envp: the path must name a regular file the
/// caller may execute.
fn open_exec_check(path: &CStr) -> Result<(), i32> {
    // SAFETY: path is a valid C string; stat fills a local struct.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::stat(path.as_ptr(), &mut st) != 0 {
            return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOENT));
        }
        let exec_ok = libc::faccessat(libc::AT_FDCWD, path.as_ptr(), libc::X_OK, libc::AT_EACCESS) == 0;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG || !exec_ok {
            return Err(libc::EACCES);
        }
    }
    Ok(())
}

/// `execve`: runs the new program under a fresh tern with the same options;
/// the new program sees exactly the argv and envp the guest passed (bytes,
/// not necessarily UTF-8). The loader's checks run first, here, so that a
/// call the kernel would refuse returns its errno to the guest, which keeps
/// running; the new tern repeats them (a file changed in between makes it
/// report the error and exit 126 or 127, as a shell would).
pub fn execve(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let path = read_path(a[0])?;
    let cpath = cstring(path.clone())?;
    open_exec_check(&cpath)?;
    let argv = read_strv(a[1])?;
    let envp = read_strv(a[2])?;
    (p.reexec.check)(Path::new(OsStr::from_bytes(&path)))?;
    let mut args: Vec<CString> = vec![cstring(p.reexec.tern.as_os_str().as_bytes().to_vec())?];
    for o in &p.reexec.options {
        args.push(cstring(o.clone().into_bytes())?);
    }
    let log_fd = crate::fd::LOG_FD.load(std::sync::atomic::Ordering::Relaxed);
    let pass_log = p.reexec.pass_log && log_fd >= 0;
    if pass_log {
        args.push(cstring(b"--log-fd".to_vec())?);
        args.push(cstring(log_fd.to_string().into_bytes())?);
    }
    // Linux runs a program given an empty argv with argv[0] = "".
    let argv0 = argv.first().cloned().unwrap_or_default();
    args.push(cstring(b"--execve".to_vec())?);
    args.push(cstring(b"-0".to_vec())?);
    args.push(cstring(argv0)?);
    args.push(cstring(b"--".to_vec())?);
    args.push(cpath);
    for a in argv.into_iter().skip(1) {
        args.push(cstring(a)?);
    }
    let env: Vec<CString> = envp.into_iter().map(cstring).collect::<Result<_, _>>()?;
    let mut argp: Vec<*const libc::c_char> = args.iter().map(|c| c.as_ptr()).collect();
    argp.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: argp/envp are NULL-terminated arrays of valid C strings that
    // outlive the call; on success execve does not return. The log
    // descriptor is inheritable only for the duration of the call.
    unsafe {
        if pass_log {
            libc::fcntl(log_fd, libc::F_SETFD, 0);
        }
        // The new tern inherits the guest's whole mask and pending reserved
        // signals from the host (`mask::init_from_host`).
        let exec_mask = tern_signals::mask::ExecMask::new();
        libc::execve(args[0].as_ptr(), argp.as_ptr(), envp.as_ptr());
        drop(exec_mask);
        let err = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOEXEC);
        if pass_log {
            libc::fcntl(log_fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        Err(err)
    }
}
