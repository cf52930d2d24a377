//! Real `vfork`: `vfork` and `clone(CLONE_VM | CLONE_VFORK)` (glibc's
//! `posix_spawn`, Go's and Java's process spawning).
//!
//! As natively, the child runs on the parent's memory and the parent's
//! calling thread is suspended until the child execs or exits: the host
//! call is itself a `clone(CLONE_VM | CLONE_VFORK)`, whose child runs a
//! fresh CPU loop on a host stack of its own with a `CpuState` of its own.
//! So whatever the guest child writes (glibc's `posix_spawn` stores a
//! failed exec's errno for its parent) is there for the parent, and a
//! `posix_spawn` of a missing program returns ENOENT. qemu-user drops
//! CLONE_VFORK|CLONE_VM and forks; FEX forks and makes the parent wait on a
//! close-on-exec pipe; in both, that spawn reports success and the child
//! exits 127. tern can do it for real because guest and host share one
//! address space.
//!
//! What the child shares with the parent is what the kernel shares: the
//! memory and so the code cache, the translator's tables (taken with their
//! normal locks, as by another thread: the parent's other threads may run
//! meanwhile) and the brk. What the kernel gives the child its own copy of
//! and tern keeps in memory must not leak back into the parent: the
//! dispositions (a posix_spawn child resets them) are a copy in the child's
//! `Process`; the thread's blocked mask (a thread-local, and the child runs
//! on the parent thread's TLS) and the reserved signals pending are saved
//! before and restored after. The child never returns into Rust code of the
//! parent: it ends in `execve` or `_exit`.
//!
//! Architecture invariant: the parent holds no tern lock across the host
//! call (the child would deadlock on it); dispatch holds none.

use crate::{Process, SysResult};
use std::sync::Mutex;
use tern_translate::cpu::CpuState;
use tern_translate::entry::CpuBox;

/// Host stack of a vfork child: the CPU loop, translation and `execve`'s
/// argument building run there. Committed on first touch.
pub(crate) const CHILD_STACK: usize = 1 << 20;

/// A child's `CpuState` and host stack, reused from one vfork to the next
/// (tern's memory is never returned to the system, so it is not remade).
pub(crate) struct Kit {
    pub(crate) cpu: CpuBox,
    pub(crate) stack: u64,
}

pub(crate) static KITS: Mutex<Vec<Kit>> = Mutex::new(Vec::new());

pub(crate) fn take_kit() -> Result<Kit, i32> {
    if let Some(k) = KITS.lock().unwrap_or_else(|e| e.into_inner()).pop() {
        return Ok(k);
    }
    let cpu = CpuBox::new().map_err(|_| libc::EAGAIN)?;
    let stack = tern_translate::hostmem::map_anon(CHILD_STACK).map_err(|_| libc::EAGAIN)?;
    Ok(Kit { cpu, stack })
}

/// What the child starts from, on the parent's stack (which the parent does
/// not use until the child is done with it).
struct Child<'a> {
    process: Process,
    cpu: &'a mut CpuBox,
    /// The host mask to give back once the child is set up
    /// (`mask::ForkBlock`).
    host_mask: tern_signals::mask::SigSet,
    /// The parent thread's seccomp mode (the child's).
    seccomp: Option<crate::seccomp::Mode>,
}

/// The host child: runs the guest until it execs (the host `execve`
/// replaces this process) or exits.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: arg is the parent's `Child`, alive until this child execs or
    // exits (the parent is suspended until then).
    let child = unsafe { &mut *(arg as *mut Child) };
    // Never into the parent's malloc: a kill there would leave its lock.
    tern_translate::child_alloc::enter_child();
    // A new process starts with no pending signals (`copy_process()`).
    tern_signals::pending::clear_after_fork();
    if child.cpu.install_on_current_thread().is_err() {
        // SAFETY: _exit is always safe to call.
        unsafe { libc::_exit(127) };
    }
    crate::seccomp::adopt(child.seccomp.clone());
    // Signals sent to the child meanwhile arrive now.
    tern_signals::mask::unblock_from_fork(child.host_mask);
    let code = (child.process.run_guest)(&child.process, child.cpu);
    // Never run the parent's atexit handlers or flush its buffers.
    // SAFETY: _exit is always safe to call.
    unsafe { libc::_exit(code) }
}

/// The part of the parent's per-thread and process-wide state (signals,
/// syscall user dispatch) that lives in memory the child shares.
struct Saved {
    mask: u64,
    pending: tern_signals::pending::Saved,
    dispatch: Option<(i32, crate::user_dispatch::Config)>,
}

impl Saved {
    fn take() -> Saved {
        Saved {
            mask: tern_signals::mask::guest_mask(),
            pending: tern_signals::pending::save(),
            dispatch: crate::user_dispatch::snapshot(),
        }
    }

    fn restore(self) {
        self.pending.restore();
        crate::user_dispatch::restore(self.dispatch);
        // The host mask is the parent's own again, whatever the child set.
        tern_signals::mask::forget_host_mask();
        tern_signals::mask::set_guest_mask(self.mask);
    }
}

/// `vfork` and `clone` with CLONE_VM | CLONE_VFORK (and not CLONE_THREAD).
/// Arguments as for `clone`. The guest's CLONE_SETTLS becomes the child's
/// guest FS base (the host's stays tern's); every other flag goes to the
/// host call (CLONE_PARENT_SETTID, CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID,
/// CLONE_PIDFD and the exit signal work as natively since the memory is
/// the same). CLONE_SIGHAND is not shared with the parent's table: the child
/// gets a copy of the dispositions either way.
pub fn vfork(
    p: &Process,
    cpu: &mut CpuState,
    flags: u64,
    stack: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
) -> SysResult {
    // Where the child could load the program it execs itself, it gets a
    // memory of its own and copies back what it changes (`vfork_copy.rs`),
    // if that memory is cheap enough to copy.
    if p.reexec.in_place
        && p.reexec.follow
        && crate::task::fork_child_could_exec_in_place(p)
        && crate::vfork_copy::small_enough()
    {
        if let Ok(w) = crate::vfork_copy::Waiter::new() {
            let a = crate::task::ForkArgs { flags, stack, ptid, ctid, tls, clone3: None };
            return crate::task::vfork_as_fork(p, cpu, a, w);
        }
    }
    let mut kit = take_kit()?;
    let generation = p.jit.lookups_generation();
    // A code-cache flush by another thread waits for the child too, which
    // runs translated code on this memory (`translate::flush`).
    p.jit.register_thread(kit.cpu.as_ptr());
    let tls = (flags & libc::CLONE_SETTLS as u64 != 0).then_some(tls);
    kit.cpu.set_guest_regs(&cpu.clone_child_regs(stack, tls));
    kit.cpu.flush_ibl();
    // The cached pid guest-memory reads use must stay the parent's (the
    // child reads the same memory through it).
    tern_translate::guestmem::cache_pid();
    let brk = *p.brk.lock().unwrap_or_else(|e| e.into_inner());
    let mut child = Child {
        process: Process {
            jit: p.jit,
            exe: p.exe.clone(),
            auxv: p.auxv.clone(),
            cmdline: p.cmdline.clone(),
            brk: std::sync::Arc::new(Mutex::new(brk)),
            signals: p.signals.copy(),
            strace: p.strace,
            reexec: p.reexec.clone(),
            run_guest: p.run_guest,
        },
        cpu: &mut kit.cpu,
        host_mask: 0,
        seccomp: crate::seccomp::current(),
    };
    let saved = Saved::take();
    // A signal for the child waits until it has reset tern's signal state.
    let blocked = tern_signals::mask::ForkBlock::new();
    child.host_mask = blocked.old();
    tern_translate::child_alloc::prepare();
    let host_flags = (flags & !(libc::CLONE_SETTLS as u64)) as libc::c_int;
    let top = (kit.stack + CHILD_STACK as u64) as *mut libc::c_void;
    // SAFETY: the child runs child_main on its own stack [kit.stack, top)
    // with `child` alive (this thread is suspended until the child execs
    // or exits, and then the child no longer uses either). ptid and ctid
    // are the guest's: the kernel checks and writes them.
    let r = unsafe {
        libc::clone(
            child_main,
            top,
            host_flags,
            (&mut child as *mut Child).cast(),
            ptid as *mut libc::pid_t,
            std::ptr::null_mut::<libc::c_void>(),
            ctid as *mut libc::pid_t,
        )
    };
    let err = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EAGAIN);
    // The child set its allocator flag on this thread's locals.
    tern_translate::child_alloc::leave_child();
    drop(blocked);
    saved.restore();
    // The heap break is the memory's, which the child shared.
    *p.brk.lock().unwrap_or_else(|e| e.into_inner()) =
        *child.process.brk.lock().unwrap_or_else(|e| e.into_inner());
    drop(child);
    // A child killed inside generated code left its word set.
    kit.cpu.code_epoch.store(0, std::sync::atomic::Ordering::SeqCst);
    p.jit.idle(&kit.cpu);
    p.jit.unregister_thread(kit.cpu.as_ptr());
    // Blocks the child dropped (self-modifying code, munmap) left this
    // thread's table with the invalidation, as any registered thread's;
    // emptied all the same if any were, but kept if none were: a shell
    // vforks for every command, and each refill of its lookups cost it
    // more than the clearing.
    if p.jit.lookups_generation() != generation {
        cpu.flush_ibl();
    }
    // Between children the kit's table costs no memory.
    // SAFETY: the state is live and the child no longer runs on it.
    unsafe { CpuState::ibl_release(kit.cpu.as_ptr()) };
    KITS.lock().unwrap_or_else(|e| e.into_inner()).push(kit);
    if r < 0 {
        return Err(err);
    }
    Ok(r as u64)
}
