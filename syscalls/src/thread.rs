//! Guest threads: the thread path of `clone` and `clone3` (CLONE_VM with
//! CLONE_THREAD), `set_tid_address`, and what a guest thread leaves behind
//! when it ends (its robust futexes, its `clear_child_tid`).
//!
//! Each guest thread is a host thread (a glibc pthread, started by
//! `linux-user` through the [`Spawner`] it registers: this crate must not
//! reach up into the CPU loop). The creator checks the flags as
//! `kernel/fork.c: copy_process()` does, hands the new thread a copy of its
//! registers, and returns the new tid only once the thread has written it
//! where `CLONE_PARENT_SETTID`/`CLONE_CHILD_SETTID` ask.
//!
//! The host thread's own `clear_child_tid` and robust list belong to
//! glibc's pthread, so the guest's are tern's: `set_tid_address` and
//! `CLONE_CHILD_CLEARTID` are kept per thread here, and a thread that ends
//! walks its robust list ([`exit_robust_list`]) and then clears and wakes its
//! `clear_child_tid`, in the kernel's order (`kernel/exit.c: exit_mm()` ->
//! `futex_exit_release()` before `mm_release()`'s clear).

use crate::{host_syscall, result, Process, SysResult};
use std::cell::Cell;
use std::sync::OnceLock;
use tern_translate::cpu::{CpuState, GuestRegs};
use tern_translate::guestmem::{read_guest, read_u64, write_guest};

const CLONE_VM: u64 = libc::CLONE_VM as u64;
const CLONE_FS: u64 = libc::CLONE_FS as u64;
const CLONE_FILES: u64 = libc::CLONE_FILES as u64;
const CLONE_SIGHAND: u64 = libc::CLONE_SIGHAND as u64;
const CLONE_PIDFD: u64 = libc::CLONE_PIDFD as u64;
const CLONE_VFORK: u64 = libc::CLONE_VFORK as u64;
const CLONE_THREAD: u64 = libc::CLONE_THREAD as u64;
const CLONE_NEWNS: u64 = libc::CLONE_NEWNS as u64;
const CLONE_SYSVSEM: u64 = libc::CLONE_SYSVSEM as u64;
const CLONE_SETTLS: u64 = libc::CLONE_SETTLS as u64;
const CLONE_PARENT_SETTID: u64 = libc::CLONE_PARENT_SETTID as u64;
const CLONE_CHILD_CLEARTID: u64 = libc::CLONE_CHILD_CLEARTID as u64;
const CLONE_DETACHED: u64 = 0x0040_0000;
const CLONE_CHILD_SETTID: u64 = libc::CLONE_CHILD_SETTID as u64;
const CLONE_NEWUSER: u64 = libc::CLONE_NEWUSER as u64;
const CLONE_NEWPID: u64 = libc::CLONE_NEWPID as u64;
/// Every namespace flag (`CLONE_NEWTIME` is in the CSIGNAL byte and only
/// means a namespace for `clone3`).
const CLONE_NEW_ANY: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;
/// `include/uapi/linux/sched.h` (clone3 only).
pub(crate) const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
const CLONE_NEWTIME: u64 = 0x80;
const CSIGNAL: u64 = 0xff;
const USER_TOP: u64 = 0x7fff_ffff_f000;

/// Everything a new guest thread starts from.
pub struct NewThread {
    /// The thread's registers as its creator's `clone` leaves them.
    pub state: GuestRegs,
    /// The creator's guest signal mask (the new thread's initial one).
    pub mask: u64,
    /// The clone flags (which of CLONE_FS, CLONE_FILES, CLONE_SYSVSEM it
    /// shares, which tid words to write).
    pub flags: u64,
    pub parent_tid: u64,
    pub child_tid: u64,
    /// Where CLONE_PIDFD stores the pidfd.
    pub pidfd: u64,
    /// The creator's seccomp mode (the new thread's).
    pub seccomp: Option<crate::seccomp::Mode>,
}

/// Starts a guest thread and returns its tid once the thread has written
/// the tid words its flags ask for, or an errno.
pub type Spawner = fn(NewThread) -> Result<i32, i32>;

static SPAWNER: OnceLock<Spawner> = OnceLock::new();

/// Registers how guest threads are started (by `linux-user`, at startup).
pub fn set_spawner(s: Spawner) {
    let _ = SPAWNER.set(s);
    OWNER.store(getpid(), std::sync::atomic::Ordering::Relaxed);
}

/// The process whose guest threads tern's thread bookkeeping (the spawner,
/// the live count, the thread registries) describes: the one that called
/// [`set_spawner`], or a forked child. A vfork or CLONE_VM child shares that
/// memory but is another process ([`in_process_child`]).
static OWNER: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

fn getpid() -> i32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// True in a process that runs on the memory of the process tern's
/// thread bookkeeping belongs to (a vfork or CLONE_VM child).
pub fn in_process_child() -> bool {
    let owner = OWNER.load(std::sync::atomic::Ordering::Relaxed);
    owner != 0 && owner != getpid()
}

thread_local! {
    /// The guest's `clear_child_tid` of this thread (`set_tid_address`,
    /// CLONE_CHILD_CLEARTID): zeroed and woken when the thread ends.
    static CLEAR_CHILD_TID: Cell<u64> = const { Cell::new(0) };
}

/// Sets the calling guest thread's `clear_child_tid` (a new thread made
/// with CLONE_CHILD_CLEARTID calls this first).
pub fn set_clear_child_tid(addr: u64) {
    CLEAR_CHILD_TID.with(|c| c.set(addr));
}

/// The calling guest thread's `clear_child_tid`.
pub fn clear_child_tid() -> u64 {
    CLEAR_CHILD_TID.with(Cell::get)
}

pub(crate) use tern_signals::thread::gettid;

/// `set_tid_address`: kept by tern (the host thread's own belongs to glibc).
pub fn set_tid_address(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    set_clear_child_tid(a[0]);
    Ok(gettid() as u64)
}

/// Records the calling host thread's stack as tern's memory (the guest may
/// not map over it, and `/proc/self/maps` hides it). glibc reuses the
/// stacks of ended threads, or unmaps them, and then the kernel may give
/// the range to the guest, which drops it from the registry
/// (`pages::forget_tern_memory`); so each thread records its stack anew
/// (a range already recorded is not added twice).
pub fn note_host_stack() {
    // SAFETY: pthread_getattr_np fills `attr` for the calling thread, which
    // is destroyed after the stack is read from it.
    let (addr, size) = unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return;
        }
        let (mut a, mut s) = (std::ptr::null_mut(), 0usize);
        libc::pthread_attr_getstack(&attr, &mut a, &mut s);
        libc::pthread_attr_destroy(&mut attr);
        (a as u64, s as u64)
    };
    // glibc puts a guard page below the stack and its thread block above.
    tern_translate::pages::note_tern_memory(addr.saturating_sub(4096), addr + size);
}

/// The arguments of `clone`/`clone3`, as `struct kernel_clone_args`.
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneArgs {
    pub flags: u64,
    /// Where CLONE_PIDFD stores the pidfd.
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    /// The new stack pointer (clone3: stack + stack_size), 0 for none.
    pub stack: u64,
    pub tls: u64,
}

/// True if `clone` flags ask for a guest thread (tern's thread path).
pub fn is_thread(flags: u64) -> bool {
    flags & CLONE_THREAD != 0 && flags & CLONE_VFORK == 0
}

/// The flag rules of `kernel/fork.c: copy_process()` (and
/// `kernel_clone()`'s CLONE_PIDFD/CLONE_PARENT_SETTID rule).
pub fn check_flags(a: &CloneArgs) -> Result<(), i32> {
    let f = a.flags;
    let both = |x: u64| f & x == x;
    if both(CLONE_NEWNS | CLONE_FS) || both(CLONE_NEWUSER | CLONE_FS) {
        return Err(libc::EINVAL);
    }
    if f & CLONE_THREAD != 0 && f & CLONE_SIGHAND == 0 {
        return Err(libc::EINVAL);
    }
    if f & CLONE_SIGHAND != 0 && f & CLONE_VM == 0 {
        return Err(libc::EINVAL);
    }
    if f & CLONE_THREAD != 0 && f & (CLONE_NEWUSER | CLONE_NEWPID) != 0 {
        return Err(libc::EINVAL);
    }
    if f & CLONE_PIDFD != 0 {
        if f & CLONE_DETACHED != 0 {
            return Err(libc::EINVAL);
        }
        if f & CLONE_PARENT_SETTID != 0 && a.pidfd == a.parent_tid {
            return Err(libc::EINVAL);
        }
    }
    Ok(())
}

/// Creates a guest thread (flags already checked, `is_thread`).
pub fn clone_thread(_p: &Process, cpu: &mut CpuState, a: &CloneArgs) -> SysResult {
    if a.flags & CLONE_NEW_ANY != 0 {
        // A thread in new namespaces: tern's host threads cannot have
        // them. Refused as an unprivileged caller is.
        tracing::warn!("tern: a guest thread in new namespaces is refused (clone flags {:#x})", a.flags);
        return Err(libc::EPERM);
    }
    if a.flags & CLONE_SETTLS != 0 && a.tls >= USER_TOP {
        // `do_arch_prctl_64(ARCH_SET_FS)` fails, so does copy_thread().
        return Err(libc::EPERM);
    }
    let Some(spawn) = SPAWNER.get() else { return Err(libc::EAGAIN) };
    if in_process_child() {
        // A vfork or CLONE_VM child shares tern's thread bookkeeping with
        // the process whose memory it runs on: its threads would be
        // counted there. Refused as at the thread limit.
        tracing::warn!("tern: a thread created by a vfork or CLONE_VM child is refused");
        return Err(libc::EAGAIN);
    }
    let t = NewThread {
        state: cpu.clone_child_regs(a.stack, (a.flags & CLONE_SETTLS != 0).then_some(a.tls)),
        mask: tern_signals::mask::guest_mask(),
        flags: a.flags,
        parent_tid: a.parent_tid,
        child_tid: a.child_tid,
        pidfd: a.pidfd,
        seccomp: crate::seccomp::current(),
    };
    Ok(spawn(t)? as u64)
}

/// In a new guest thread, before it runs guest code: what its flags ask of
/// the thread itself (its seccomp mode is its creator's to give it:
/// [`parent_setup`], or `seccomp::adopt` while the creator waits). Unshares what the thread must not share (a thread
/// without CLONE_FS, CLONE_FILES or CLONE_SYSVSEM gets its own copy, as the
/// kernel gives it), opens the pidfd CLONE_PIDFD asks for, writes the tid
/// words and records `clear_child_tid`: all before the thread runs guest
/// code, as `copy_process()` does before the child is woken.
pub fn child_setup(t: &NewThread) -> Result<i32, i32> {
    let (flags, parent_tid, child_tid) = (t.flags, t.parent_tid, t.child_tid);
    let unshare = unshared(flags);
    if unshare != 0 {
        // SAFETY: unshare only changes this host thread's own attributes.
        if unsafe { libc::unshare(unshare as i32) } != 0 {
            return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOMEM));
        }
    }
    let tid = gettid();
    if flags & CLONE_PIDFD != 0 {
        // A thread pidfd (`PIDFD_THREAD`, as clone gives for CLONE_THREAD).
        const PIDFD_THREAD: u64 = libc::O_EXCL as u64;
        let fd = result(host_syscall(libc::SYS_pidfd_open as u64, [tid as u64, PIDFD_THREAD, 0, 0, 0, 0]))?;
        write_guest(t.pidfd, &(fd as i32).to_le_bytes());
    }
    // The kernel writes these with put_user and ignores a failure.
    if flags & CLONE_PARENT_SETTID != 0 {
        write_guest(parent_tid, &tid.to_le_bytes());
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        write_guest(child_tid, &tid.to_le_bytes());
    }
    set_clear_child_tid(if flags & CLONE_CHILD_CLEARTID != 0 { child_tid } else { 0 });
    Ok(tid)
}

/// True if [`child_setup`] can fail for a thread with these flags (it
/// unshares, or opens a pidfd): its creator then waits for its answer
/// before `clone` returns. Otherwise the creator returns at once with
/// the tid, as natively, rather than wait for the new thread to be
/// scheduled (which, with every CPU busy, took milliseconds).
pub fn child_setup_may_fail(flags: u64) -> bool {
    unshared(flags) != 0 || flags & CLONE_PIDFD != 0
}

/// What a thread with these flags does not share with its creator, and
/// so unshares in [`child_setup`].
fn unshared(flags: u64) -> u64 {
    (CLONE_FS | CLONE_FILES | CLONE_SYSVSEM) & !flags
}

/// In the creator of a thread whose tid it knows before the thread runs:
/// what the kernel does there before `clone` returns (CLONE_PARENT_SETTID;
/// the thread's [`child_setup`] writes the word too, before its first
/// instruction), and the thread's seccomp mode, so that a TSYNC by
/// another thread from now on reaches it, as natively (the thread taking
/// its mode itself when it runs undid one made meanwhile).
pub fn parent_setup(flags: u64, parent_tid: u64, tid: i32, seccomp: Option<crate::seccomp::Mode>) {
    if flags & CLONE_PARENT_SETTID != 0 {
        write_guest(parent_tid, &tid.to_le_bytes());
    }
    crate::seccomp::adopt_for(tid, seccomp);
}

/// Size of `struct clone_args` in its first version, and with `cgroup`.
const CLONE_ARGS_SIZE_VER0: u64 = 64;
const CLONE_ARGS_SIZE_VER2: u64 = 88;
/// Most pid namespace levels `set_tid` may name.
const MAX_PID_NS_LEVEL: u64 = 32;

/// `clone3(args, size)`: `kernel/fork.c: copy_clone_args_from_user()` and
/// `clone3_args_valid()`, then the thread path, or the process path of
/// `clone` for what it can express (everything but `set_tid`,
/// `CLONE_INTO_CGROUP` and `CLONE_CLEAR_SIGHAND`, which a process gets
/// ENOSYS for: glibc then falls back to `clone`).
pub fn clone3(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let (uargs, size) = (a[0], a[1]);
    if size > 4096 {
        return Err(libc::E2BIG);
    }
    if size < CLONE_ARGS_SIZE_VER0 {
        return Err(libc::EINVAL);
    }
    let mut raw = vec![0u8; size as usize];
    if read_guest(uargs, &mut raw) != raw.len() {
        return Err(libc::EFAULT);
    }
    // copy_struct_from_user: bytes past the structure tern knows must be 0.
    if raw.len() > CLONE_ARGS_SIZE_VER2 as usize
        && raw[CLONE_ARGS_SIZE_VER2 as usize..].iter().any(|&b| b != 0)
    {
        return Err(libc::E2BIG);
    }
    raw.resize(CLONE_ARGS_SIZE_VER2 as usize, 0);
    let w = |i: usize| u64::from_le_bytes(raw[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    let (flags, pidfd, child_tid, parent_tid, exit_signal) = (w(0), w(1), w(2), w(3), w(4));
    let (stack, stack_size, tls, set_tid, set_tid_size, cgroup) = (w(5), w(6), w(7), w(8), w(9), w(10));
    if set_tid_size > MAX_PID_NS_LEVEL || (set_tid == 0) != (set_tid_size == 0) {
        return Err(libc::EINVAL);
    }
    if exit_signal & !CSIGNAL != 0 || exit_signal > 64 {
        return Err(libc::EINVAL);
    }
    if flags & CLONE_INTO_CGROUP != 0 && (cgroup > i32::MAX as u64 || size < CLONE_ARGS_SIZE_VER2) {
        return Err(libc::EINVAL);
    }
    if set_tid_size != 0 {
        let mut tids = vec![0u8; 4 * set_tid_size as usize];
        if read_guest(set_tid, &mut tids) != tids.len() {
            return Err(libc::EFAULT);
        }
    }
    // clone3_args_valid()
    let known = 0xffff_ffff | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP;
    if flags & !known != 0
        || flags & (CLONE_DETACHED | (CSIGNAL & !CLONE_NEWTIME)) != 0
        || flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND) == CLONE_SIGHAND | CLONE_CLEAR_SIGHAND
        || flags & (CLONE_THREAD | libc::CLONE_PARENT as u64) != 0 && exit_signal != 0
        || (stack == 0) != (stack_size == 0)
    {
        return Err(libc::EINVAL);
    }
    let args = CloneArgs {
        flags,
        pidfd,
        child_tid,
        parent_tid,
        exit_signal,
        stack: if stack == 0 { 0 } else { stack.wrapping_add(stack_size) },
        tls,
    };
    check_flags(&args)?;
    if flags & CLONE_NEWTIME != 0 && flags & CLONE_THREAD != 0 {
        return Err(libc::EINVAL);
    }
    if is_thread(flags) {
        if set_tid_size != 0 {
            // Choosing a thread's tid needs CAP_CHECKPOINT_RESTORE; tern's
            // host threads cannot have a chosen tid at all.
            return Err(libc::EPERM);
        }
        if flags & (CLONE_INTO_CGROUP | CLONE_CLEAR_SIGHAND) != 0 {
            return Err(libc::EINVAL);
        }
        return clone_thread(p, cpu, &args);
    }
    let pidfd_and_ptid = flags & (CLONE_PIDFD | CLONE_PARENT_SETTID) == CLONE_PIDFD | CLONE_PARENT_SETTID;
    let extra = set_tid_size != 0
        || flags & (CLONE_INTO_CGROUP | CLONE_CLEAR_SIGHAND | CLONE_NEWTIME) != 0
        || pidfd_and_ptid;
    if extra && flags & CLONE_VM == 0 {
        // What the legacy `clone` cannot say: the host's `clone3` makes the
        // child (`task::do_fork`).
        let a = crate::task::ForkArgs {
            flags,
            stack: args.stack,
            ptid: parent_tid,
            ctid: child_tid,
            tls,
            clone3: Some(crate::task::Clone3Extra { exit_signal, pidfd, set_tid, set_tid_size, cgroup }),
        };
        return crate::task::clone3_fork(p, cpu, a);
    }
    if extra {
        tracing::debug!(
            "tern: clone3 of a CLONE_VM process with flags {flags:#x} set_tid_size {set_tid_size}: ENOSYS"
        );
        return Err(libc::ENOSYS);
    }
    // The legacy form: the exit signal in the low byte, the pidfd where
    // parent_tid goes.
    let ptid = if flags & CLONE_PIDFD != 0 { pidfd } else { parent_tid };
    crate::task::clone(p, cpu, [flags | exit_signal, args.stack, ptid, child_tid, tls, 0])
}

/// `kernel/futex/core.c: exit_robust_list()` for the calling thread, whose
/// robust list the guest registered with `set_robust_list` (passed through:
/// guest addresses are host addresses, and the host thread's glibc list is
/// not needed since tern never uses robust mutexes). Then the host's list
/// is emptied, so the kernel does not walk it a second time at the host
/// thread's exit. A thread killed by `exit_group` is handled by the kernel
/// itself, with the same list.
pub fn exit_robust_list() {
    let (mut head, mut len) = (0u64, 0usize);
    // SAFETY: get_robust_list of the calling thread fills two locals.
    let r =
        unsafe { libc::syscall(libc::SYS_get_robust_list, 0, &mut head as *mut u64, &mut len as *mut usize) };
    if r != 0 || head == 0 {
        return;
    }
    const ROBUST_LIST_LIMIT: usize = 2048;
    let fetch = |addr: u64| read_u64(addr).map(|v| (v & !1, v & 1 != 0));
    let (Some((mut entry, mut pi)), Some(offset), Some((pending, ppi))) =
        (fetch(head), read_u64(head + 8), fetch(head + 16))
    else {
        return;
    };
    let tid = gettid() as u32;
    let mut limit = ROBUST_LIST_LIMIT;
    while entry != head {
        let next = fetch(entry);
        if entry != pending {
            handle_futex_death(entry.wrapping_add(offset), tid, pi, false);
        }
        let Some((n, npi)) = next else { break };
        (entry, pi) = (n, npi);
        limit -= 1;
        if limit == 0 {
            break;
        }
    }
    if pending != 0 {
        handle_futex_death(pending.wrapping_add(offset), tid, ppi, true);
    }
    // SAFETY: a NULL head with the right size empties this thread's list.
    unsafe { libc::syscall(libc::SYS_set_robust_list, 0usize, 24usize) };
}

/// `kernel/futex/core.c: handle_futex_death()`.
fn handle_futex_death(uaddr: u64, tid: u32, pi: bool, pending: bool) {
    const FUTEX_WAITERS: u32 = 0x8000_0000;
    const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
    const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
    if !uaddr.is_multiple_of(4) {
        return;
    }
    let wake = || {
        // Never FUTEX_PRIVATE_FLAG: the kernel wakes robust futexes shared.
        host_syscall(libc::SYS_futex as u64, [uaddr, libc::FUTEX_WAKE as u64, 1, 0, 0, 0]);
    };
    loop {
        let mut b = [0u8; 4];
        if read_guest(uaddr, &mut b) != 4 {
            return;
        }
        let uval = u32::from_le_bytes(b);
        if pending && !pi && uval == 0 {
            wake();
            return;
        }
        if uval & FUTEX_TID_MASK != tid {
            return;
        }
        let mval = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        // SAFETY: uaddr is aligned and was just read as mapped guest
        // memory (guest addresses are host addresses); the kernel does the
        // same atomic on it.
        let word = unsafe { &*(uaddr as *const std::sync::atomic::AtomicU32) };
        if word
            .compare_exchange(
                uval,
                mval,
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
            )
            .is_err()
        {
            continue;
        }
        if !pi && uval & FUTEX_WAITERS != 0 {
            wake();
        }
        return;
    }
}

/// The calling guest thread ends: its robust futexes are released, then
/// its `clear_child_tid` is handed to the host kernel, which zeroes and
/// wakes it once this host thread has ended (`kernel/fork.c:
/// mm_release()`), as for a native thread: a `pthread_join` returns after
/// both, and finds the thread gone from `/proc/self/task` (zeroed here,
/// it let the join return while tern still ran on the thread). An address
/// in tern's memory is dropped, as a write there would be. Without one the
/// host's stays (glibc's for a guest thread's host thread; for a CLONE_VM
/// child, the guest's own from its clone flags, which the host call got).
pub fn exit_thread_cleanup() {
    crate::seccomp::forget_thread();
    exit_robust_list();
    let ctid = CLEAR_CHILD_TID.with(|c| c.replace(0));
    if ctid == 0 {
        return;
    }
    let ctid =
        if tern_translate::pages::overlaps_tern_memory(ctid, ctid.saturating_add(4)) { 0 } else { ctid };
    host_syscall(libc::SYS_set_tid_address as u64, [ctid, 0, 0, 0, 0, 0]);
}

/// How many guest threads are alive, and the status the process ends with
/// when the last one calls `exit`: its leader's (`kernel/exit.c`: the
/// group's status is the leader's exit code), i.e. the main thread's if it
/// exited first, else the last thread's own.
pub mod live {
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

    /// Threads alive, the main one included until it exits.
    static LIVE: AtomicUsize = AtomicUsize::new(1);
    static MAIN_GONE: AtomicBool = AtomicBool::new(false);
    static MAIN_EXIT: AtomicI32 = AtomicI32::new(0);

    /// A thread is being created.
    pub fn started() {
        LIVE.fetch_add(1, Ordering::SeqCst);
    }

    /// True if the calling thread is the process's only one (no other
    /// can be starting: only a thread of the process starts one).
    pub fn alone() -> bool {
        LIVE.load(Ordering::SeqCst) == 1
    }

    /// Threads alive (0 once the last one called `exit`).
    pub fn count() -> usize {
        LIVE.load(Ordering::SeqCst)
    }

    /// A thread announced by [`started`] did not start.
    pub fn failed() {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }

    /// A thread called `exit` with `code`: the process's status if it
    /// was the last one.
    pub fn exited(code: i32, main: bool) -> Option<i32> {
        if main {
            MAIN_EXIT.store(code, Ordering::SeqCst);
            MAIN_GONE.store(true, Ordering::SeqCst);
        }
        (LIVE.fetch_sub(1, Ordering::SeqCst) == 1).then(|| {
            if MAIN_GONE.load(Ordering::SeqCst) {
                MAIN_EXIT.load(Ordering::SeqCst)
            } else {
                code
            }
        })
    }

    /// In a forked child: the calling thread is the only one, and leads.
    pub fn after_fork_child() {
        super::OWNER.store(super::getpid(), Ordering::SeqCst);
        LIVE.store(1, Ordering::SeqCst);
        MAIN_GONE.store(false, Ordering::SeqCst);
    }
}
