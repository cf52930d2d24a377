//! Threads, processes and exec: exit, exit_group, arch_prctl, clone/fork,
//! execve.
//!
//! Guest threads (CLONE_THREAD without CLONE_VFORK) go to `thread.rs`,
//! CLONE_VM without either (a process on the same memory) to
//! `vm_clone.rs`. A fork child is a complete copy of tern with one
//! thread; `vfork` and `CLONE_VM|CLONE_VFORK` (posix_spawn) are real
//! (`vfork.rs`).

use crate::thread::CLONE_CLEAR_SIGHAND;
use crate::{host_syscall, result, Flow, Process, SysResult};
use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use tern_translate::cpu::{CpuState, RDI, RSP};
use tern_translate::guestmem::{read_cstr, read_guest, read_u64, write_guest};

/// See [`Reexec::check`]: the program's path and the guest's arguments
/// in, the program's arguments or an errno out.
pub type ExecCheck = fn(&Path, Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, i32>;

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
    /// The errno a native `execve` of this path with these arguments would
    /// fail with, if any (the loader's checks: `#!` lines, permissions, ELF
    /// headers), so that the guest gets it instead of a new tern failing
    /// after the exec; else the arguments the program gets (a script's
    /// interpreter line before them).
    pub check: ExecCheck,
    /// Run exec'd programs under tern (false: natively, `--no-follow-exec`).
    pub follow: bool,
    /// Load an exec'd program into this process where it can
    /// ([`in_place_possible`]) instead of starting a new tern with a host
    /// `execve` (false: `--no-exec-in-place`, or a diagnostic option that
    /// reports per tern process).
    pub in_place: bool,
}

/// A guest `execve` that this process runs itself: the program's path as
/// the guest gave it (no PATH search), the guest's argv (never empty) and
/// envp. Every check the kernel makes before the point of no return has
/// passed, the process's translations are saved, and the calling thread is
/// the only guest thread, the process's first (see [`in_place_possible`]).
#[derive(Debug, PartialEq, Eq)]
pub struct ExecInPlace {
    pub path: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
    pub env: Vec<Vec<u8>>,
}

/// Set once the guest has created a POSIX timer (`timer_create`): the
/// kernel deletes those at `execve`, and tern does not know their ids, so
/// such a process execs with a host `execve` (a fork child, which has no
/// timers, inherits the flag: it only costs it the faster exec).
static TIMERS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `setpgid(pid, pgid)`: EACCES for a child of the caller that has exec'd
/// in place, in the caller's session (`kernel/sys.c`: such a child has
/// exec'd, but only a real `execve` clears the flag the kernel checks:
/// `exec_marks`); else the host's answer.
pub fn setpgid(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let pid = a[0] as i32;
    // SAFETY: getsid has no preconditions.
    if pid > 0 && crate::exec_marks::execd_in_place(pid) && unsafe { libc::getsid(pid) == libc::getsid(0) } {
        return Err(libc::EACCES);
    }
    result(host_syscall(libc::SYS_setpgid as u64, a))
}

/// Programs this process has loaded in place so far. Each leaves its
/// translator records behind (not freed: see `Jit::reset_for_exec`), so a
/// process that keeps exec'ing goes through a host `execve` now and then,
/// which gives its memory back.
static IN_PLACE_EXECS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// See [`IN_PLACE_EXECS`].
const MAX_IN_PLACE_EXECS: u32 = 8;

/// `timer_create`, passed to the host, noting [`TIMERS`].
pub fn timer_create(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    TIMERS.store(true, std::sync::atomic::Ordering::Relaxed);
    result(host_syscall(libc::SYS_timer_create as u64, a))
}

/// The kernel's side of an `execve` that this process runs itself, for
/// what tern passes to the host (`fs/exec.c: begin_new_exec()`), once the
/// guest's mappings are gone: close-on-exec descriptors closed (tern's log
/// kept), no robust list and no `clear_child_tid` (a new memory), no
/// System V segment attached, no `mlockall` in force, no
/// READ_IMPLIES_EXEC, dumpable.
pub fn reset_for_exec() {
    let log = crate::fd::LOG_FD.load(std::sync::atomic::Ordering::Relaxed);
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    for fd in fds {
        // SAFETY: fcntl and close on descriptors of this process; the
        // directory's own descriptor is closed already (EBADF).
        unsafe {
            if fd != log && libc::fcntl(fd, libc::F_GETFD) & libc::FD_CLOEXEC != 0 {
                libc::close(fd);
            }
        }
    }
    crate::thread::set_clear_child_tid(0);
    // `begin_new_exec()`: syscall user dispatch ends with the program.
    crate::user_dispatch::adopt(None);
    // SAFETY: an empty robust list: the kernel walks none at exit.
    unsafe { libc::syscall(libc::SYS_set_robust_list, 0usize, 24usize) };
    crate::mm::forget_for_exec();
    crate::proc::unhide_shared();
    crate::exec_marks::mark_exec();
    IN_PLACE_EXECS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // `set_personality_64bit()`: READ_IMPLIES_EXEC goes; `begin_new_exec()`:
    // the process is dumpable again (no set-ID program runs in place).
    // SAFETY: personality and prctl change only these process flags.
    unsafe {
        let persona = libc::personality(0xffff_ffff);
        if persona != -1 && persona & libc::READ_IMPLIES_EXEC != 0 {
            libc::personality((persona & !libc::READ_IMPLIES_EXEC) as libc::c_ulong);
        }
        if libc::prctl(libc::PR_GET_DUMPABLE) != 1 {
            libc::prctl(libc::PR_SET_DUMPABLE, 1);
        }
    }
}

/// True if the kernel's `execve` would find room for the strings of
/// `path`, `argv` and `envp` on the new stack (`fs/exec.c:
/// bprm_stack_limits()`, `copy_strings()`): a quarter of RLIMIT_STACK,
/// at most 6 MiB and at least ARG_MAX (128 KiB), less the pointers. A
/// host `execve` says E2BIG itself; an exec run in place asks this first.
fn args_fit(path: &[u8], argv: &[Vec<u8>], envp: &[Vec<u8>]) -> bool {
    const STK_LIM: u64 = 8 << 20;
    const ARG_MAX: u64 = 32 * 4096;
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills a local struct.
    unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut rl) };
    let limit = (STK_LIM / 4 * 3).min(rl.rlim_cur / 4).max(ARG_MAX);
    let pointers = (argv.len().max(1) + envp.len()) as u64 * 8;
    let strings: u64 = std::iter::once(path)
        .chain(argv.iter().map(Vec::as_slice))
        .chain(envp.iter().map(Vec::as_slice))
        .map(|s| s.len() as u64 + 1)
        .sum();
    limit > pointers && strings <= limit - pointers
}

/// True if this process can load an exec'd program itself: its caller is
/// the last guest thread and the process's first host thread (whose tid is
/// the pid, as the kernel makes the exec'ing thread's), no other process
/// shares its memory (a vfork or CLONE_VM child, or their parent), no
/// ended thread's state is kept, it has no POSIX timers ([`TIMERS`]), and
/// it has not exec'd in place [`MAX_IN_PLACE_EXECS`] times already.
fn in_place_possible(p: &Process) -> bool {
    // SAFETY: gettid and getpid have no preconditions.
    let first = unsafe { libc::gettid() == libc::getpid() };
    first && fork_child_could_exec_in_place(p) && !crate::vfork_copy::parent_waits_for_host_exec()
}

/// True if a fork child of the calling thread could load an exec'd program
/// itself ([`in_place_possible`]; its only thread is its first).
pub(crate) fn fork_child_could_exec_in_place(p: &Process) -> bool {
    last_thread()
        && p.jit.thread_count() == 1
        && !tern_translate::child_alloc::in_child()
        && !TIMERS.load(std::sync::atomic::Ordering::Relaxed)
        && IN_PLACE_EXECS.load(std::sync::atomic::Ordering::Relaxed) < MAX_IN_PLACE_EXECS
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
const ARCH_GET_XCOMP_SUPP: u64 = 0x1021;
const ARCH_GET_XCOMP_PERM: u64 = 0x1022;
const ARCH_REQ_XCOMP_PERM: u64 = 0x1023;
const ARCH_GET_XCOMP_GUEST_PERM: u64 = 0x1024;
const ARCH_REQ_XCOMP_GUEST_PERM: u64 = 0x1025;
/// The kernel's `XFEATURE_MAX` since Linux 6.16 (APX, 19, the last state
/// component): a request for a component from here on is EINVAL.
const XFEATURE_MAX: u64 = 20;
const USER_TOP: u64 = 0x7fff_ffff_f000;

/// `arch/x86/kernel/process_64.c: do_arch_prctl_64()`, on the guest's bases.
pub fn arch_prctl(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    match a[0] {
        ARCH_SET_FS | ARCH_SET_GS => {
            if a[1] >= USER_TOP {
                return Err(libc::EPERM);
            }
            // The selector becomes null (`loadseg(FS or GS, 0)`): a `mov r,
            // gs` after `mov gs, 0x2b` and ARCH_SET_GS reads 0, as natively.
            if a[0] == ARCH_SET_FS {
                cpu.fs_base = a[1];
                cpu.fs_sel = 0;
            } else {
                cpu.gs_base = a[1];
                cpu.gs_sel = 0;
            }
            Ok(0)
        }
        ARCH_GET_FS | ARCH_GET_GS => {
            let v = if a[0] == ARCH_GET_FS { cpu.fs_base } else { cpu.gs_base };
            put_u64(a[1], v)
        }
        // `fpu_xstate_prctl()`, on the model's state components: the
        // model's XCR0 is both what is supported and what is permitted, as
        // it has no dynamic component (one a process must ask for, as AMX's
        // tile data); asking for any other is EOPNOTSUPP.
        ARCH_GET_XCOMP_SUPP | ARCH_GET_XCOMP_PERM | ARCH_GET_XCOMP_GUEST_PERM => {
            put_u64(a[1], p.jit.model().guest_xcr0())
        }
        ARCH_REQ_XCOMP_PERM | ARCH_REQ_XCOMP_GUEST_PERM if a[1] >= XFEATURE_MAX => Err(libc::EINVAL),
        ARCH_REQ_XCOMP_PERM | ARCH_REQ_XCOMP_GUEST_PERM => Err(libc::EOPNOTSUPP),
        // CPUID is always enabled; tern offers no CPUID faulting (as a host
        // without it: ENODEV).
        ARCH_GET_CPUID => Ok(1),
        ARCH_SET_CPUID => Err(libc::ENODEV),
        _ => Err(libc::EINVAL),
    }
}

/// Stores `v` at the guest's `addr`: Ok(0), or EFAULT.
fn put_u64(addr: u64, v: u64) -> SysResult {
    if write_guest(addr, &v.to_le_bytes()) {
        Ok(0)
    } else {
        Err(libc::EFAULT)
    }
}

/// Every tern lock a guest thread may hold, taken around a host `fork` so
/// that the child, which has only the forking thread, finds them all free
/// and what they guard consistent (the way the kernel-facing emulators do
/// it; glibc's `fork` does the same for malloc and stdio). Lock order: brk,
/// dispositions, translator (see `Jit::lock_for_fork`), tern's ranges, the
/// guard's cache of them, the pool of thread stacks, the guest's seccomp
/// modes. A lock added elsewhere that a guest thread may hold while another
/// forks belongs here.
struct ForkLocks<'a> {
    _brk: std::sync::MutexGuard<'a, crate::mm::Brk>,
    _signals: std::sync::MutexGuard<'a, [tern_signals::SigAction; 65]>,
    jit: tern_translate::ForkLocks<'a>,
    _ranges: std::sync::RwLockWriteGuard<'static, Vec<(u64, u64)>>,
    _guard: std::sync::RwLockWriteGuard<'static, Option<crate::guard::TernMap>>,
    _stacks: crate::host_thread::ForkGuard,
    seccomp: crate::seccomp::ForkGuard,
}

impl ForkLocks<'_> {
    fn take(p: &Process) -> ForkLocks<'_> {
        ForkLocks {
            _brk: p.brk.lock().unwrap_or_else(|e| e.into_inner()),
            _signals: p.signals.lock_for_fork(),
            jit: p.jit.lock_for_fork(),
            _ranges: crate::proc::lock_for_fork(),
            _guard: crate::guard::lock_for_fork(),
            _stacks: crate::host_thread::lock_for_fork(),
            seccomp: crate::seccomp::lock_for_fork(),
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

/// Whether the host fork for these guest flags is glibc's `fork()`: exit
/// signal SIGCHLD (a child with another, or none, is reaped differently:
/// `__WCLONE`), nothing else but the tid stores tern does itself.
fn plain_fork(flags: u64) -> bool {
    flags & 0xff == libc::SIGCHLD as u64 && flags & !PLAIN_FORK == 0
}

/// Called in a new child process, with the fork locks still held: makes
/// tern's shared state private, then runs the registered hooks.
fn after_fork_child(locks: &mut ForkLocks) {
    tern_translate::guestmem::reset_pid();
    crate::vfork_copy::after_fork_child();
    crate::exec_marks::after_fork_child();
    tern_signals::pending::clear_after_fork();
    crate::thread::live::after_fork_child();
    crate::host_thread::forget_hidden();
    locks.seccomp.after_fork_child();
    if let Err(e) = locks.jit.after_fork(true, true) {
        tern_signals::say!("tern: cannot map code memory after fork: {e}");
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
const PLAIN_FORK: u64 =
    (libc::SIGCHLD | libc::CLONE_PARENT_SETTID | libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID)
        as u64;

/// The host fork: glibc's `fork()` for a plain fork (it resets malloc's and
/// stdio's locks in the child, which a raw clone from a multithreaded tern
/// would leave held by threads that do not exist there), the raw call for
/// anything else (another exit signal, CLONE_PIDFD, namespaces...). Guest
/// CLONE_CHILD_CLEARTID is applied here as `kernel/fork.c:
/// copy_process()` does (the child's clear-tid address set, cleared and
/// woken when it exits); CLONE_PARENT_SETTID and CLONE_CHILD_SETTID by
/// [`store_fork_tids`].
fn host_fork(flags: u64, ptid: u64, ctid: u64, clone3: Option<&Clone3Extra>) -> SysResult {
    if let Some(x) = clone3 {
        // struct clone_args (CLONE_ARGS_SIZE_VER2): flags, pidfd, child_tid,
        // parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        // set_tid_size, cgroup. The guest's addresses are the host's.
        let args: [u64; 11] =
            [flags, x.pidfd, ctid, ptid, x.exit_signal, 0, 0, 0, x.set_tid, x.set_tid_size, x.cgroup];
        let size = std::mem::size_of_val(&args) as u64;
        return result(host_syscall(libc::SYS_clone3 as u64, [args.as_ptr() as u64, size, 0, 0, 0, 0]));
    }
    if !plain_fork(flags) {
        return result(host_syscall(libc::SYS_clone as u64, [flags, 0, ptid, ctid, 0, 0]));
    }
    // SAFETY: glibc's fork; the caller holds tern's locks around it.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EAGAIN));
    }
    if pid == 0 {
        // Guest memory is written through this process's pid: the cached
        // one is the parent's.
        tern_translate::guestmem::reset_pid();
        if flags & libc::CLONE_CHILD_CLEARTID as u64 != 0 {
            // SAFETY: the guest's address; the kernel writes 0 there (and
            // wakes a futex) when this thread exits, as for the guest's
            // clone. glibc does not use the main thread's.
            unsafe { libc::syscall(libc::SYS_set_tid_address, ctid) };
        }
    }
    Ok(pid as u64)
}

/// The guest's CLONE_CHILD_SETTID and CLONE_PARENT_SETTID after glibc's
/// `fork()` (`host_fork`), once signals are unblocked again: the copy
/// into guest memory may fault, which the copy's handler catches. Runs
/// before either process goes back to guest code, as the kernel's stores
/// do.
fn store_fork_tids(flags: u64, ptid: u64, ctid: u64, pid: u64) {
    if pid == 0 {
        if flags & libc::CLONE_CHILD_SETTID as u64 != 0 {
            write_guest(ctid, &tern_signals::thread::gettid().to_le_bytes());
        }
    } else if flags & libc::CLONE_PARENT_SETTID as u64 != 0 {
        write_guest(ptid, &(pid as i32).to_le_bytes());
    }
}

/// What `clone3` gives a process clone beyond the legacy `clone`'s
/// arguments; the host's `clone3` gets them as they are.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clone3Extra {
    /// Its own field: `clone3`'s flags may have the CSIGNAL byte's
    /// CLONE_NEWTIME, which the legacy packing would take for a signal.
    pub exit_signal: u64,
    pub pidfd: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

/// A process clone's arguments: `clone`'s, with the exit signal in the low
/// byte of `flags` (for `clone3`, in [`Clone3Extra`], the low byte then
/// holding flags), and what only `clone3` has.
#[derive(Clone, Copy, Debug, Default)]
pub struct ForkArgs {
    pub flags: u64,
    pub stack: u64,
    pub ptid: u64,
    pub ctid: u64,
    pub tls: u64,
    /// Set for `clone3` (which then makes the host call too).
    pub clone3: Option<Clone3Extra>,
}

/// A vfork made a fork whose parent waits (`vfork_copy.rs`), `a.flags`
/// with CLONE_VM and CLONE_VFORK (see [`do_fork`]).
pub(crate) fn vfork_as_fork(
    p: &Process,
    cpu: &mut CpuState,
    a: ForkArgs,
    waiter: crate::vfork_copy::Waiter,
) -> SysResult {
    do_fork(p, cpu, a, Some(waiter))
}

/// `clone3` of a process without CLONE_VM (see [`do_fork`]).
pub fn clone3_fork(p: &Process, cpu: &mut CpuState, a: ForkArgs) -> SysResult {
    do_fork(p, cpu, a, None)
}

/// The guest's handlers back to SIG_DFL, ignored signals kept:
/// CLONE_CLEAR_SIGHAND (`kernel/signal.c: flush_signal_handlers(p, 0)`),
/// done by tern in the child rather than by the host, whose handlers are
/// tern's own.
fn clear_guest_handlers(p: &Process) {
    use tern_signals::guest::{SigAction, SIG_DFL, SIG_IGN};
    for sig in 1..=64 {
        let a = p.signals.action(sig);
        if a.handler != SIG_DFL && a.handler != SIG_IGN {
            let _ = p.signals.set_action(sig, Some(SigAction::default()));
        }
    }
}

/// `fork`, and `clone` without CLONE_VM: the child is a complete tern with
/// the calling thread only.
fn do_fork(
    p: &Process,
    cpu: &mut CpuState,
    a: ForkArgs,
    waiter: Option<crate::vfork_copy::Waiter>,
) -> SysResult {
    let ForkArgs { flags, stack, ptid, ctid, tls, clone3 } = a;
    // The host call never switches stacks or TLS: tern keeps running on its
    // own stack in the child and applies the guest's values to the CpuState.
    // CLONE_CLEAR_SIGHAND is tern's to do (`clear_guest_handlers`).
    // CLONE_VFORK is tern's too: the parent waits on a socket for the
    // child's exec or exit (`vfork_copy.rs`), since an exec in place is no
    // host `execve` to release it; with CLONE_VM (a vfork made a fork:
    // `vfork::vfork`), what the child does to the memory comes back.
    // Without a socket (every descriptor in use) the host's CLONE_VFORK
    // stays; then no exec in place (`in_place_possible`).
    let waiter = waiter.or_else(|| {
        (flags & libc::CLONE_VFORK as u64 != 0).then(crate::vfork_copy::Waiter::new).and_then(Result::ok)
    });
    let tern_waits = if waiter.is_some() { libc::CLONE_VFORK as u64 } else { 0 };
    let host_flags =
        flags & !(libc::CLONE_VM as u64 | libc::CLONE_SETTLS as u64 | CLONE_CLEAR_SIGHAND | tern_waits);
    // A raw host clone waits for tern's background threads to be out of
    // malloc (`background.rs`); glibc's `fork()` needs no such wait.
    let quiet = (!plain_fork(host_flags) || clone3.is_some()).then(crate::background::close_for_fork);
    // What earlier children needed, loaded once here for all the next.
    p.jit.prefetch_fork_hints();
    crate::exec_marks::before_fork();
    let mut locks = ForkLocks::take(p);
    // Parent and child go on sharing the code translated so far
    // (`CodeCache::after_fork`): neither writes it, and whichever has to
    // first makes its own copy; a child that soon execs copies nothing.
    locks.jit.before_fork();
    // A signal for the child waits until it has reset tern's signal state.
    let blocked = tern_signals::mask::ForkBlock::new();
    let r = host_fork(host_flags, ptid, ctid, clone3.as_ref());
    if r == Ok(0) {
        // The thread a code-cache flush kicks is this process's now.
        cpu.host_tid.store(tern_signals::thread::gettid(), std::sync::atomic::Ordering::Relaxed);
        crate::background::reset_in_child(quiet.is_some());
        after_fork_child(&mut locks);
    } else {
        // Maps nothing in the parent: cannot fail.
        let _ = locks.jit.after_fork(false, r.is_ok());
    }
    drop(locks);
    drop(quiet);
    drop(blocked);
    if let (Ok(pid), true) = (r, clone3.is_none() && plain_fork(host_flags)) {
        store_fork_tids(host_flags, ptid, ctid, pid);
    }
    if r == Ok(0) {
        run_fork_child_hooks();
    }
    if r == Ok(0) && host_flags & libc::CLONE_VFORK as u64 != 0 {
        crate::vfork_copy::host_vfork_child();
    }
    if let Some(w) = waiter {
        match r {
            Ok(0) => w.in_child(flags & libc::CLONE_VM as u64 != 0),
            Ok(_) => {
                // The words the kernel stored in this process when it made
                // the child (the pidfd, the parent's tid word): the child's
                // copy of their page, as it was before those stores, comes
                // back over it if the child wrote it, so they are stored
                // again after.
                let words = parent_words(flags, ptid, clone3.as_ref());
                let kept: Vec<(u64, [u8; 4])> = words
                    .into_iter()
                    .flatten()
                    .map(|at| {
                        let mut v = [0u8; 4];
                        tern_translate::guestmem::read_guest(at, &mut v);
                        (at, v)
                    })
                    .collect();
                w.wait(p, cpu);
                for (at, v) in kept {
                    write_guest(at, &v);
                }
            }
            Err(_) => w.drop_unused(),
        }
    }
    let r = r?;
    if r == 0 {
        if flags & CLONE_CLEAR_SIGHAND != 0 {
            clear_guest_handlers(p);
        }
        if stack != 0 {
            cpu.regs[RSP] = stack;
        }
        if flags & libc::CLONE_SETTLS as u64 != 0 {
            cpu.fs_base = tls;
        }
    }
    Ok(r)
}

/// Where the kernel stores into the parent's memory for a process clone:
/// the pidfd (CLONE_PIDFD: at `ptid` for the legacy call, at clone3's
/// own field) and the child's pid (CLONE_PARENT_SETTID, at `ptid`).
fn parent_words(flags: u64, ptid: u64, clone3: Option<&Clone3Extra>) -> [Option<u64>; 2] {
    let pidfd = (flags & libc::CLONE_PIDFD as u64 != 0).then(|| clone3.map_or(ptid, |x| x.pidfd));
    let tid = (flags & libc::CLONE_PARENT_SETTID as u64 != 0).then_some(ptid);
    [pidfd, tid]
}

pub fn clone(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let flags = a[0];
    if crate::thread::is_thread(flags) {
        // x86-64 clone: flags, stack, parent_tid (or the pidfd), child_tid, tls.
        let ca = crate::thread::CloneArgs {
            flags: flags & !0xff,
            pidfd: a[2],
            parent_tid: a[2],
            child_tid: a[3],
            exit_signal: 0,
            stack: a[1],
            tls: a[4],
        };
        crate::thread::check_flags(&ca)?;
        return crate::thread::clone_thread(p, cpu, &ca);
    }
    let vm = flags & libc::CLONE_VM as u64 != 0;
    let vfork = flags & libc::CLONE_VFORK as u64 != 0;
    // x86-64 clone argument order: flags, stack, parent_tid, child_tid, tls.
    if vm && vfork && flags & libc::CLONE_THREAD as u64 == 0 {
        return crate::vfork::vfork(p, cpu, flags, a[1], a[2], a[3], a[4]);
    }
    if flags & libc::CLONE_THREAD as u64 != 0 {
        // CLONE_THREAD|CLONE_VFORK: a thread the creator waits for. Not
        // offered (glibc, musl, Go and Java never ask for it).
        tracing::warn!("tern: CLONE_THREAD with CLONE_VFORK is not supported (clone flags {flags:#x})");
        return Err(libc::EAGAIN);
    }
    if vm {
        return crate::vm_clone::clone_vm(p, cpu, flags, a[1], a[2], a[3], a[4]);
    }
    do_fork(p, cpu, ForkArgs { flags, stack: a[1], ptid: a[2], ctid: a[3], tls: a[4], clone3: None }, None)
}

pub fn fork(p: &Process, cpu: &mut CpuState, _a: [u64; 6]) -> SysResult {
    do_fork(p, cpu, ForkArgs { flags: libc::SIGCHLD as u64, ..ForkArgs::default() }, None)
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
    match read_str(addr, PATH_MAX - 1, libc::ENAMETOOLONG)? {
        p if p.is_empty() => Err(libc::ENOENT),
        p => Ok(p),
    }
}

/// The errors of `fs/exec.c: do_open_execat()`, which the kernel gives
/// before it reads argv and envp: the path must name a regular file the
/// caller may execute; with AT_SYMLINK_NOFOLLOW, not a symbolic link
/// (ELOOP). `dirfd` and `path` as for `execveat` (an empty path with
/// AT_EMPTY_PATH is `dirfd` itself).
fn open_exec_check(dirfd: i32, path: &CStr, flags: i32) -> Result<(), i32> {
    let errno = || std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOENT);
    // SAFETY: path is a valid C string; fstatat fills a local struct.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        let stat_flags = flags & (libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW);
        if libc::fstatat(dirfd, path.as_ptr(), &mut st, stat_flags) != 0 {
            return Err(errno());
        }
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            return Err(libc::ELOOP);
        }
        let access_flags = libc::AT_EACCESS | (flags & libc::AT_EMPTY_PATH);
        let exec_ok = libc::faccessat(dirfd, path.as_ptr(), libc::X_OK, access_flags) == 0;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG || !exec_ok {
            return Err(libc::EACCES);
        }
    }
    Ok(())
}

/// Prefix under which the variables that would change tern itself travel
/// in the environment of a tern started for a guest `execve`; the new tern
/// gives them back their names for its guest ([`unhide_env`]).
pub const HIDDEN_PREFIX: &[u8] = b"TERN_GUEST_ENV_";

/// True for an environment entry the host's dynamic loader, C library or
/// malloc would act on in tern itself: `LD_*` (LD_PRELOAD, LD_LIBRARY_PATH,
/// LD_AUDIT...), `MALLOC_*` and `GLIBC_TUNABLES`. Set for the guest, they
/// must reach the guest only.
pub fn affects_tern(entry: &[u8]) -> bool {
    entry.starts_with(b"LD_") || entry.starts_with(b"MALLOC_") || entry.starts_with(b"GLIBC_TUNABLES=")
}

/// The environment for a new tern: entries that would change tern renamed
/// with [`HIDDEN_PREFIX`], in place (the guest's order is kept).
pub fn hide_env(env: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    env.into_iter().map(|e| if affects_tern(&e) { [HIDDEN_PREFIX, &e].concat() } else { e }).collect()
}

/// The environment of the tern a guest `execve` starts: the guest's, with
/// every entry the new tern would take for its own hidden
/// ([`HIDDEN_PREFIX`]), which it then unhides once for its guest: those
/// that would change tern ([`affects_tern`]), and, for a tern run as the
/// guest, that tern's own [`EXEC_VAR`] and the entries it hid for its
/// guest (hidden once more, or the outer tern would unhide them for the
/// inner one, which then hid them again and exec'd itself for ever).
fn hide_guest_env(env: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let ours = |e: &[u8]| {
        affects_tern(e)
            || e.starts_with(HIDDEN_PREFIX)
            || e.starts_with(EXEC_VAR.as_bytes()) && e.get(EXEC_VAR.len()) == Some(&b'=')
    };
    env.into_iter().map(|e| if ours(&e) { [HIDDEN_PREFIX, &e].concat() } else { e }).collect()
}

/// The guest's environment from the one tern was started with: hidden
/// entries get their names back.
pub fn unhide_env(env: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    env.into_iter().map(|e| e.strip_prefix(HIDDEN_PREFIX).map(<[u8]>::to_vec).unwrap_or(e)).collect()
}

/// The environment variable that carries a guest `execve`'s tern options
/// and program path to the new tern (whose argv is the program's): the
/// index in argv where the guest's arguments after argv[0] start, then the
/// options; each item in hex, items separated by commas. Never seen by the
/// guest.
pub const EXEC_VAR: &str = "TERN_EXEC";

/// The [`EXEC_VAR`] entry for `items`.
fn encode_exec_options(items: &[Vec<u8>]) -> Vec<u8> {
    let hex: Vec<String> = items.iter().map(|i| i.iter().map(|b| format!("{b:02x}")).collect()).collect();
    format!("{EXEC_VAR}={}", hex.join(",")).into_bytes()
}

/// The items of an [`EXEC_VAR`] value, or None if it is malformed.
pub fn decode_exec_options(value: &[u8]) -> Option<Vec<Vec<u8>>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    value
        .split(|&b| b == b',')
        .map(|item| {
            if item.len() % 2 != 0 {
                return None;
            }
            item.chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
        })
        .collect()
}

/// What a guest exec runs: the path the new tern opens, and the kernel's
/// name for it (AT_EXECFN, a script's argument) when it differs.
struct Target {
    /// Path the checks and the new tern open.
    path: Vec<u8>,
    /// A duplicate of a close-on-exec descriptor the path goes through,
    /// inheritable for the new tern, which closes it once loaded.
    exec_fd: Option<i32>,
}

/// Builds argv and envp C arrays and replaces this process. Returns only on
/// failure, with the errno.
/// Runs tern's own binary anew: through `/proc/self/exe`, which leads to
/// it wherever the process now is (after a `chroot` or in another mount
/// namespace its path may name nothing, as in glibc's `test-container`),
/// or where there is no /proc, by the path it started from. The errno if
/// neither runs.
fn exec_tern(path: &Path, args: &[CString], env: &[CString]) -> i32 {
    let err = host_execve(c"/proc/self/exe", args, env);
    if err != libc::ENOENT {
        return err;
    }
    match cstring(path.as_os_str().as_bytes().to_vec()) {
        Ok(tern) => host_execve(&tern, args, env),
        Err(e) => e,
    }
}

fn host_execve(prog: &CStr, args: &[CString], env: &[CString]) -> i32 {
    let mut argp: Vec<*const libc::c_char> = args.iter().map(|c| c.as_ptr()).collect();
    argp.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: argp/envp are NULL-terminated arrays of valid C strings that
    // outlive the call; on success execve does not return.
    unsafe {
        // The new program inherits the guest's whole mask and pending
        // reserved signals from the host (`mask::init_from_host`).
        let exec_mask = tern_signals::mask::ExecMask::new();
        libc::execve(prog.as_ptr(), argp.as_ptr(), envp.as_ptr());
        drop(exec_mask);
    }
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOEXEC)
}

/// `fs/exec.c: do_execveat_common()` under tern: the file is checked, then
/// argv and envp read; the new program runs under a fresh tern with the same
/// options (or natively with `--no-follow-exec`), seeing exactly the argv
/// and envp the guest passed (bytes, not necessarily UTF-8). The loader's
/// checks run first, here, so that a call the kernel would refuse returns
/// its errno to the guest, which keeps running; the new tern repeats them
/// (a file changed in between makes it report the error and exit 126 or
/// 127, as a shell would).
fn do_execve(p: &Process, dirfd: i32, path: Vec<u8>, argv: u64, envp: u64, flags: i32) -> (Flow, SysResult) {
    match exec_checked(p, dirfd, path, argv, envp, flags) {
        Ok(exec) => (Flow::Exec(exec), Ok(0)),
        Err(e) => (Flow::Continue, Err(e)),
    }
}

/// [`do_execve`]'s work: the errno of a failure, or the program this
/// process is to load itself (a host `execve` does not return).
fn exec_checked(
    p: &Process,
    dirfd: i32,
    path: Vec<u8>,
    argv: u64,
    envp: u64,
    flags: i32,
) -> Result<Box<ExecInPlace>, i32> {
    // `/proc/self/exe` is the guest program (a program that runs itself
    // again), not the tern the host sees there; another guest's link its
    // program.
    let path = crate::proc::exe_link(p, &path).unwrap_or(path);
    let cpath = cstring(path.clone())?;
    open_exec_check(dirfd, &cpath, flags)?;
    let argv = read_strv(argv)?;
    let envp = read_strv(envp)?;
    let target = exec_target(dirfd, path, flags)?;
    let result = exec_target_checked(p, &target, argv, envp);
    if let Some(fd) = target.exec_fd {
        // SAFETY: closing the duplicate made by exec_target.
        unsafe { libc::close(fd) };
    }
    result
}

/// The path a new tern can open for `dirfd` + `path` (`execveat`): the
/// path itself when absolute or relative to the working directory, else
/// `/dev/fd/N[/path]` as the kernel names it, through an inheritable
/// duplicate of N when N is close-on-exec.
fn exec_target(dirfd: i32, path: Vec<u8>, flags: i32) -> Result<Target, i32> {
    if path.first() == Some(&b'/') || dirfd == libc::AT_FDCWD && !path.is_empty() {
        return Ok(Target { path, exec_fd: None });
    }
    // SAFETY: fcntl on a descriptor the guest named; errors are returned.
    let fd_flags = unsafe { libc::fcntl(dirfd, libc::F_GETFD) };
    if fd_flags < 0 {
        return Err(libc::EBADF);
    }
    let (fd, exec_fd) = if fd_flags & libc::FD_CLOEXEC != 0 {
        // `fs/exec.c: alloc_bprm()`: the file is reached through a
        // descriptor the new program will not have, so a script's
        // interpreter could not open it (BINPRM_FLAGS_PATH_INACCESSIBLE).
        if is_script(dirfd, &path, flags) {
            return Err(libc::ENOENT);
        }
        let d = inheritable_dup(dirfd)?;
        (d, Some(d))
    } else {
        (dirfd, None)
    };
    let mut name = format!("/dev/fd/{fd}").into_bytes();
    if !(path.is_empty() && flags & libc::AT_EMPTY_PATH != 0) {
        name.push(b'/');
        name.extend_from_slice(&path);
    }
    if name.len() >= PATH_MAX {
        // The kernel opens `dirfd` + `path` as they are (`do_open_execat`),
        // so a relative path just short of PATH_MAX runs; the name is past
        // it (ENAMETOOLONG: the kernel selftest execveat). The new tern
        // opens the file through a descriptor of its own instead.
        if let Some(d) = exec_fd {
            // SAFETY: closing the duplicate made above.
            unsafe { libc::close(d) };
        }
        let fd = open_path(dirfd, &path, flags)?;
        return Ok(Target { path: format!("/dev/fd/{fd}").into_bytes(), exec_fd: Some(fd) });
    }
    Ok(Target { path: name, exec_fd })
}

const PATH_MAX: usize = 4096;

/// An inheritable O_PATH descriptor (above tern's log, 800 and up) of
/// `dirfd` + `path`, a final symbolic link not followed under
/// AT_SYMLINK_NOFOLLOW.
fn open_path(dirfd: i32, path: &[u8], flags: i32) -> Result<i32, i32> {
    let cpath = cstring(path.to_vec())?;
    let nofollow = if flags & libc::AT_SYMLINK_NOFOLLOW != 0 { libc::O_NOFOLLOW } else { 0 };
    // SAFETY: openat of a NUL-terminated path; the result is checked.
    let fd = unsafe { libc::openat(dirfd, cpath.as_ptr(), libc::O_PATH | libc::O_CLOEXEC | nofollow) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOENT));
    }
    let d = inheritable_dup(fd);
    // SAFETY: closing the descriptor just opened.
    unsafe { libc::close(fd) };
    d
}

/// An inheritable duplicate of `fd` for a new tern (unlike
/// `hostmem::private_dup`'s, close-on-exec), numbered from 800: above what
/// a guest usually opens, below tern's own (`TERN_FD_BASE`). EMFILE if
/// there is none to be had.
fn inheritable_dup(fd: i32) -> Result<i32, i32> {
    // SAFETY: fcntl on a descriptor of this process; errors are returned.
    let d = unsafe { libc::fcntl(fd, libc::F_DUPFD, 800) };
    if d < 0 {
        return Err(libc::EMFILE);
    }
    Ok(d)
}

/// The error the kernel's `execve` of `path` would fail with while opening
/// it, if any: ETXTBSY for a file open for writing (`fs/exec.c:
/// do_open_execat()` denies it writers while it runs; tern only reads it,
/// so would not), EACCES for a `noexec` mount, EPERM from a fanotify
/// listener's or a security module's veto of the exec (tern's own opens of
/// the file would each ask the listener again), EAGAIN over RLIMIT_NPROC.
/// Asked of the kernel by an `execve` whose argv is a kernel address: since
/// Linux 6.8 the kernel opens the file before it reads argv, so the call
/// fails with the open's error, else EFAULT, and changes nothing either
/// way. An older kernel reads argv first (EFAULT): nothing is known then,
/// as before.
fn exec_probe(path: &CStr) -> Result<(), i32> {
    const KERNEL_ADDRESS: usize = 0xffff_ffff_ffff_f000;
    // SAFETY: the call cannot succeed (argv is unreadable from user space)
    // and reads only `path`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_execve,
            path.as_ptr(),
            KERNEL_ADDRESS as *const *const libc::c_char,
            KERNEL_ADDRESS,
        )
    };
    match std::io::Error::last_os_error().raw_os_error() {
        Some(e) if r == -1 && e != libc::EFAULT => Err(e),
        _ => Ok(()),
    }
}

/// True if the kernel would run the program at `path` in a way tern
/// cannot, which is then run natively (as `--no-follow-exec` runs every
/// program): one the process may execute but not read (tern must read
/// what it runs; natively an execute-only program runs), and, unless it is
/// a `#!` script (whose set-ID bits and capabilities the kernel ignores),
/// a set-user-ID or set-group-ID program that would change the process's
/// credentials, or one with file capabilities (`security.capability`, as
/// Debian gives `ping`): tern runs with the guest's credentials and cannot
/// give it those the program gains. Natively run, such a program gets them
/// as natively (or not, under `PR_SET_NO_NEW_PRIVS` or a `nosuid` mount).
fn runs_natively(path: &CStr) -> bool {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: stat fills the local struct; its result is checked.
    if unsafe { libc::stat(path.as_ptr(), st.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: stat succeeded and filled it.
    let st = unsafe { st.assume_init() };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return false;
    }
    // SAFETY: an access check with the effective ids, no memory passed but
    // the path.
    if unsafe { libc::faccessat(libc::AT_FDCWD, path.as_ptr(), libc::R_OK, libc::AT_EACCESS) } != 0 {
        return true;
    }
    // SAFETY: geteuid and getegid have no preconditions.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let setgid = libc::S_ISGID | libc::S_IXGRP;
    let changes_ids = st.st_mode & libc::S_ISUID != 0 && st.st_uid != euid
        || st.st_mode & setgid == setgid && st.st_gid != egid;
    // SAFETY: a size query (no buffer) of the named attribute.
    let capabilities =
        || unsafe { libc::getxattr(path.as_ptr(), c"security.capability".as_ptr(), std::ptr::null_mut(), 0) } > 0;
    (changes_ids || capabilities()) && !starts_with_hashbang(path)
}

/// True if the file at `path` starts with `#!`.
fn starts_with_hashbang(path: &CStr) -> bool {
    let mut b = [0u8; 2];
    std::fs::File::open(OsStr::from_bytes(path.to_bytes()))
        .and_then(|f| std::os::unix::fs::FileExt::read_exact_at(&f, &mut b, 0))
        .is_ok_and(|()| &b == b"#!")
}

/// True if the file at `dirfd` + `path` (`execveat`'s) starts with `#!`.
fn is_script(dirfd: i32, path: &[u8], flags: i32) -> bool {
    let mut name = format!("/proc/self/fd/{dirfd}").into_bytes();
    if !(path.is_empty() && flags & libc::AT_EMPTY_PATH != 0) {
        name.push(b'/');
        name.extend_from_slice(path);
    }
    CString::new(name).is_ok_and(|c| starts_with_hashbang(&c))
}

/// True if no guest thread but the caller is alive (none, once the last
/// one called `exit`) or runs (the others parked for the process's end,
/// [`stop_other_threads`]): what the process does before it execs or ends
/// may then not let another run on.
fn last_thread() -> bool {
    crate::thread::live::count() <= 1 + tern_signals::exit_park::parked()
}

/// How long `exit_group` waits for the other threads to stop before it
/// ends the process without writing its translations.
const EXIT_STOP_LIMIT: std::time::Duration = std::time::Duration::from_millis(100);

/// At `exit_group` (or a fatal signal's end) with other threads alive:
/// stops them for good (`tern_signals::exit_park`), so that the process's
/// end can write its translations ([`save_persisted`]) without letting
/// them run on. The caller must end the process.
pub fn stop_other_threads() {
    if !last_thread() {
        let others = || crate::thread::live::count().saturating_sub(1);
        tern_signals::exit_park::stop_others(&others, EXIT_STOP_LIMIT);
    }
}

/// Writes this process's new translations to the persistent cache before
/// it execs or ends, unless other threads live: natively `execve` and
/// `exit_group` end them at once, and the writing would let them run on
/// (a thread printing in a loop would print more). The last thread's
/// `exit` finds none (0).
pub fn save_persisted(p: &Process) {
    if last_thread() {
        p.jit.save_persisted();
    }
}

/// Runs `exec` (a host `execve`) having left the code this process shares
/// with a fork parent or child, if it is the process's only thread (as
/// for [`save_persisted`]): see `Jit::exec_leaving_shared_code`.
fn exec_leaving_shared_code(p: &Process, exec: impl FnOnce() -> i32) -> i32 {
    if last_thread() {
        p.jit.exec_leaving_shared_code(exec)
    } else {
        exec()
    }
}

/// At the process's end (`exit_group`, the last thread's `exit`), before
/// [`save_persisted`]: the guest's memory goes back to the system if no
/// other thread or process runs on it (`Jit::release_guest_memory`).
pub fn release_guest_memory(p: &Process) {
    if last_thread() {
        p.jit.release_guest_memory();
    }
}

/// At the process's end (`exit_group`, the last thread's `exit`): leaves
/// the code it shares with a fork parent or child, if it is the process's
/// only thread (other threads run until the host `exit_group`).
pub fn leave_shared_code(p: &Process) {
    if last_thread() {
        p.jit.leave_shared_code();
    }
}

/// Runs the loader's checks on `target` and replaces this process, or
/// hands the program to this process's main thread to load
/// ([`ExecInPlace`]); returns the errno of a failure.
fn exec_target_checked(
    p: &Process,
    target: &Target,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> Result<Box<ExecInPlace>, i32> {
    let cpath = cstring(target.path.clone())?;
    let env: Vec<CString>;
    let args: Vec<CString>;
    if !p.reexec.follow || runs_natively(&cpath) {
        args = argv.into_iter().map(cstring).collect::<Result<_, _>>()?;
        env = envp.into_iter().map(cstring).collect::<Result<_, _>>()?;
        let saved = crate::rlimit::for_native_exec();
        save_persisted(p);
        crate::vfork_copy::before_exec(p, false);
        let err = exec_leaving_shared_code(p, || host_execve(&cpath, &args, &env));
        crate::rlimit::restore(saved);
        return Err(err);
    }
    exec_probe(&cpath)?;
    // Linux runs a program given an empty argv with argv[0] = "".
    let argv = if argv.is_empty() { vec![Vec::new()] } else { argv };
    let shown = (p.reexec.check)(Path::new(OsStr::from_bytes(&target.path)), argv.clone())?;
    if p.reexec.in_place && target.exec_fd.is_none() && in_place_possible(p) {
        if !args_fit(&target.path, &argv, &envp) {
            return Err(libc::E2BIG);
        }
        // The new program starts with what this one translated.
        save_persisted(p);
        crate::vfork_copy::before_exec(p, true);
        return Ok(Box::new(ExecInPlace { path: target.path.clone(), argv, env: envp }));
    }
    // The new tern's options go in its environment ([`EXEC_VAR`]); its
    // argv is what the kernel would give the program (the guest's, a
    // script's interpreter line before them), which is then what
    // other processes see as its command line (`/proc/PID/cmdline`:
    // `ps`, `pgrep -f`). The guest's arguments after argv[0] end it.
    let from = shown.len() + 1 - argv.len();
    let mut o: Vec<Vec<u8>> = vec![from.to_string().into_bytes()];
    o.extend(p.reexec.options.iter().map(|o| o.clone().into_bytes()));
    let log_fd = crate::fd::LOG_FD.load(std::sync::atomic::Ordering::Relaxed);
    let pass_log = p.reexec.pass_log && log_fd >= 0;
    if pass_log {
        o.extend([b"--log-fd".to_vec(), log_fd.to_string().into_bytes()]);
    }
    o.extend([b"--host-cpuid".to_vec(), tern_translate::model::host_cpuid_handover().into_bytes()]);
    if let Some(limits) = crate::rlimit::handover() {
        o.extend([b"--guest-rlimits".to_vec(), limits.into_bytes()]);
    }
    if let Some(mode) = crate::seccomp::handover() {
        o.extend([b"--guest-seccomp".to_vec(), mode.into_bytes()]);
    }
    if let Some(fd) = target.exec_fd {
        o.extend([b"--exec-fd".to_vec(), fd.to_string().into_bytes()]);
    }
    o.extend([b"--execve".to_vec(), b"-0".to_vec(), argv[0].clone(), b"--".to_vec(), target.path.clone()]);
    args = shown.into_iter().map(cstring).collect::<Result<_, _>>()?;
    let mut e = hide_guest_env(envp);
    e.push(encode_exec_options(&o));
    env = e.into_iter().map(cstring).collect::<Result<_, _>>()?;
    // The log descriptor is inheritable only for the duration of the call.
    if pass_log {
        // SAFETY: fcntl on tern's own descriptor.
        unsafe { libc::fcntl(log_fd, libc::F_SETFD, 0) };
    }
    // The new program's tern starts with what this one translated.
    save_persisted(p);
    crate::vfork_copy::before_exec(p, false);
    let err = exec_leaving_shared_code(p, || exec_tern(&p.reexec.tern, &args, &env));
    if pass_log {
        // SAFETY: as above.
        unsafe { libc::fcntl(log_fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Err(err)
}

/// `execve(path, argv, envp)`.
pub fn execve(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> (Flow, SysResult) {
    match read_path(a[0]) {
        Ok(path) => do_execve(p, libc::AT_FDCWD, path, a[1], a[2], 0),
        Err(e) => (Flow::Continue, Err(e)),
    }
}

/// `execveat(dirfd, path, argv, envp, flags)`: AT_EMPTY_PATH runs `dirfd`
/// itself (glibc's `fexecve`), AT_SYMLINK_NOFOLLOW refuses a final
/// symbolic link with ELOOP; other flags are EINVAL.
pub fn execveat(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> (Flow, SysResult) {
    let flags = a[4];
    if flags & !((libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW) as u64) != 0 {
        return (Flow::Continue, Err(libc::EINVAL));
    }
    let flags = flags as i32;
    let path = match read_str(a[1], PATH_MAX - 1, libc::ENAMETOOLONG) {
        Ok(path) if path.is_empty() && flags & libc::AT_EMPTY_PATH == 0 => Err(libc::ENOENT),
        r => r,
    };
    match path {
        Ok(path) => do_execve(p, a[0] as i32, path, a[2], a[3], flags),
        Err(e) => (Flow::Continue, Err(e)),
    }
}
