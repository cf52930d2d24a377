//! `clone` and `clone3` with CLONE_VM but neither CLONE_THREAD nor
//! CLONE_VFORK: a new process on its parent's memory that runs alongside
//! it (the `clone(fn, stack, CLONE_VM | SIGCHLD, arg)` idiom, LinuxThreads
//! and some runtimes' process spawning).
//!
//! As for a real vfork (`vfork.rs`), the host call is itself a
//! `clone(CLONE_VM)`, whose child runs a fresh CPU loop
//! (`Process::run_guest`) on a host stack and a `CpuState` of its own, on
//! the same memory: its stores reach the parent, its pid is its own, the
//! kernel sends its exit signal to the parent and writes the tid words
//! (CLONE_PARENT_SETTID, CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID,
//! CLONE_PIDFD), and the descriptor table, cwd and SysV semaphores are
//! shared or copied as the host flags say. The guest's CLONE_SETTLS is
//! the child's guest FS base.
//!
//! Unlike a vfork child, this one runs while its parent runs, so it must
//! not borrow the parent thread's thread-locals (tern's per-thread signal
//! state, glibc's malloc cache): the host clone is made by a helper host
//! thread (a glibc pthread, all signals blocked) that has nothing else to
//! do, with CLONE_VFORK on the host, so the child runs on the helper's
//! thread-locals while the helper sleeps until the child execs or exits;
//! the helper then takes the child's `CpuState` back and ends. The guest
//! thread that called `clone` waits only until the child has its pid
//! ([`Handshake`]), as the kernel returns once the child exists.
//!
//! Shared as by the kernel, since the memory is: the code cache and
//! translator tables (with their normal locks; the child's `CpuState` is
//! registered with the Jit, so invalidations and flushes reach it, and a
//! flush's kick finds it in its own thread group), the program break. The
//! child's own: its dispositions (a copy in the child's `Process`; the
//! host's are copied too, CLONE_SIGHAND is not passed on, see README
//! "Compatibility"), its blocked mask (the creator's, in the helper's
//! thread-locals), an empty queue of signals and no sigaltstack
//! (`copy_process()` clears it for CLONE_VM without CLONE_VFORK).
//!
//! Known limits: the process-wide set of reserved signals kept pending by
//! tern (`tern_signals::pending`) is shared with the parent; a child
//! killed while it holds one of tern's locks (translating a block) leaves
//! it held for the parent; the child cannot create threads (EAGAIN, see
//! `thread::clone_thread`).

use crate::vfork::{take_kit, Kit, CHILD_STACK, KITS};
use crate::{Process, SysResult};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tern_translate::cpu::CpuState;

/// Host stack of the helper thread: it only makes the host `clone`.
const HELPER_STACK: usize = 64 * 1024;

/// Alternate signal stacks of ended children, reused (tern's memory is
/// never returned to the system).
static ALT_STACKS: Mutex<Vec<(u64, usize)>> = Mutex::new(Vec::new());

/// How the creator learns the child's pid, or why there is none. Posted
/// once, by the child when it is ready to run the guest or by the helper
/// when the host call failed (or the child died first).
struct Handshake {
    /// 0 pending, 1 claimed by a poster, 2 posted.
    state: AtomicU32,
    result: AtomicI64,
}

impl Handshake {
    fn post(&self, r: Result<i32, i32>) {
        if self.state.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            return;
        }
        self.result.store(r.map_or_else(|e| -i64::from(e), i64::from), Ordering::Relaxed);
        self.state.store(2, Ordering::Release);
        tern_translate::futex::wake(&self.state, 1);
    }

    fn wait(&self) -> Result<i32, i32> {
        loop {
            let s = self.state.load(Ordering::Acquire);
            if s == 2 {
                break;
            }
            tern_translate::futex::wait(&self.state, s, None);
        }
        let r = self.result.load(Ordering::Acquire);
        if r < 0 {
            Err(-r as i32)
        } else {
            Ok(r as i32)
        }
    }
}

/// Everything the helper and the child need; the helper owns it.
struct Job {
    process: Process,
    kit: Kit,
    /// The creator's guest mask, the child's first one.
    mask: u64,
    host_flags: libc::c_int,
    ptid: u64,
    ctid: u64,
    hs: Arc<Handshake>,
    /// The host alternate signal stack the child installed (pooled).
    alt: Option<(u64, usize)>,
    /// The creator's seccomp mode (the child's).
    seccomp: Option<crate::seccomp::Mode>,
}

/// The host child: a new process on the helper's thread-locals and the
/// kit's stack. Runs the guest until it execs or exits.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: arg is the helper's Job, alive until this child execs or
    // exits (the helper is suspended until then).
    let job = unsafe { &mut *(arg as *mut Job) };
    // Never into the parent's malloc: a kill there would leave its lock.
    tern_translate::child_alloc::enter_child();
    // Guest memory is read through this process's pid (the parent may end
    // first: a new process on the same memory stays valid as long as it).
    tern_translate::guestmem::reset_pid();
    let mut setup = || -> Result<(), i32> {
        let pooled = ALT_STACKS.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let install = |(sp, size): (u64, usize)| {
            let ss = libc::stack_t { ss_sp: sp as *mut libc::c_void, ss_flags: 0, ss_size: size };
            // SAFETY: ss describes an alternate stack tern mapped for a
            // child that has ended.
            unsafe { libc::sigaltstack(&ss, std::ptr::null_mut()) == 0 }
        };
        match pooled {
            Some(ss) if install(ss) => job.alt = Some(ss),
            _ => {
                tern_signals::FaultContext::init_thread().map_err(|_| libc::ENOMEM)?;
                // SAFETY: reads this task's alternate stack into a local.
                let mut cur: libc::stack_t = unsafe { std::mem::zeroed() };
                // SAFETY: as above.
                if unsafe { libc::sigaltstack(std::ptr::null(), &mut cur) } == 0 {
                    job.alt = Some((cur.ss_sp as u64, cur.ss_size));
                }
            }
        }
        job.kit.cpu.install_on_current_thread().map_err(|_| libc::ENOMEM)
    };
    if let Err(e) = setup() {
        job.hs.post(Err(e));
        // SAFETY: _exit is always safe to call.
        unsafe { libc::_exit(127) };
    }
    // SAFETY: getpid has no preconditions.
    job.hs.post(Ok(unsafe { libc::getpid() }));
    // The creator's mask, nothing pending, no guest sigaltstack.
    tern_signals::thread::on_thread_start(job.mask);
    crate::seccomp::adopt(job.seccomp.clone());
    let code = (job.process.run_guest)(&job.process, &mut job.kit.cpu);
    tern_signals::thread::on_thread_exit();
    crate::thread::exit_thread_cleanup();
    // Never run atexit handlers or flush buffers shared with the parent.
    // SAFETY: _exit is always safe to call.
    unsafe { libc::_exit(code) }
}

/// The helper host thread: makes the host clone and, once the child has
/// execed or exited, takes its kit back.
extern "C" fn helper_main(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: `clone_vm` gave up this Box<Job>.
    let mut job = unsafe { Box::from_raw(arg.cast::<Job>()) };
    // The guest's threads do not include this one.
    crate::host_thread::hide_current();
    // The child runs on this stack's thread block: the guest must not map
    // over it.
    crate::thread::note_host_stack();
    let top = (job.kit.stack + CHILD_STACK as u64) as *mut libc::c_void;
    let (flags, ptid, ctid) = (job.host_flags, job.ptid, job.ctid);
    let jp: *mut Job = &mut *job;
    tern_translate::child_alloc::prepare();
    // SAFETY: the child runs child_main on its own stack with `job` alive
    // (this thread is suspended by CLONE_VFORK until the child execs or
    // exits, after which the child uses neither). ptid and ctid are the
    // guest's: the kernel checks and writes them.
    let r = unsafe {
        libc::clone(
            child_main,
            top,
            flags | libc::CLONE_VFORK,
            jp.cast(),
            ptid as *mut libc::pid_t,
            std::ptr::null_mut::<libc::c_void>(),
            ctid as *mut libc::pid_t,
        )
    };
    let err = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EAGAIN);
    // The child set its allocator flag on this thread's locals.
    tern_translate::child_alloc::leave_child();
    // A child that failed, or died before it could tell its pid.
    job.hs.post(if r < 0 { Err(err) } else { Ok(r) });
    // The child ran on this thread's locals: its signal state goes with it.
    tern_signals::thread::forget_current();
    let jit = job.process.jit;
    let cpu = &job.kit.cpu;
    // A child killed inside generated code left its word set.
    cpu.code_epoch.store(0, Ordering::SeqCst);
    jit.idle(cpu);
    jit.unregister_thread(cpu.as_ptr());
    if let Some(alt) = job.alt {
        ALT_STACKS.lock().unwrap_or_else(|e| e.into_inner()).push(alt);
    }
    let Job { kit, .. } = *job;
    // Between children the kit's table costs no memory.
    // SAFETY: the state is live and the child no longer runs on it.
    unsafe { CpuState::ibl_release(kit.cpu.as_ptr()) };
    KITS.lock().unwrap_or_else(|e| e.into_inner()).push(kit);
    crate::host_thread::unhide_current();
    std::ptr::null_mut()
}

/// `clone` with CLONE_VM and neither CLONE_THREAD nor CLONE_VFORK.
/// Arguments as for `clone` (x86-64 order). Returns the child's pid.
pub fn clone_vm(
    p: &Process,
    cpu: &mut CpuState,
    flags: u64,
    stack: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
) -> SysResult {
    const USER_TOP: u64 = 0x7fff_ffff_f000;
    let settls = flags & libc::CLONE_SETTLS as u64 != 0;
    if settls && tls >= USER_TOP {
        // `do_arch_prctl_64(ARCH_SET_FS)` fails, so does copy_thread().
        return Err(libc::EPERM);
    }
    let mut kit = take_kit()?;
    p.jit.register_thread(kit.cpu.as_ptr());
    kit.cpu.set_guest_regs(&cpu.clone_child_regs(stack, settls.then_some(tls)));
    kit.cpu.flush_ibl();
    let hs = Arc::new(Handshake { state: AtomicU32::new(0), result: AtomicI64::new(0) });
    let host_flags = flags & !((libc::CLONE_SETTLS | libc::CLONE_SIGHAND) as u64);
    let job = Box::new(Job {
        process: Process {
            jit: p.jit,
            exe: p.exe.clone(),
            auxv: p.auxv.clone(),
            cmdline: p.cmdline.clone(),
            brk: p.brk.clone(),
            signals: p.signals.copy(),
            strace: p.strace,
            reexec: p.reexec.clone(),
            run_guest: p.run_guest,
        },
        kit,
        mask: tern_signals::mask::guest_mask(),
        host_flags: host_flags as libc::c_int,
        ptid,
        ctid,
        hs: hs.clone(),
        alt: None,
        seccomp: crate::seccomp::current(),
    });
    let job = Box::into_raw(job);
    // SAFETY: helper_main takes ownership of `job` (reclaimed here if
    // none starts).
    let r = unsafe {
        crate::host_thread::spawn_blocked(
            crate::host_thread::Stack::Pooled(HELPER_STACK),
            helper_main,
            job.cast(),
        )
    };
    if r != 0 {
        // SAFETY: no helper was created, so `job` is still ours.
        let job = unsafe { Box::from_raw(job) };
        p.jit.unregister_thread(job.kit.cpu.as_ptr());
        KITS.lock().unwrap_or_else(|e| e.into_inner()).push(job.kit);
        return Err(libc::EAGAIN);
    }
    let pid = hs.wait()?;
    Ok(pid as u64)
}
