//! Guest threads as host threads: starting one for `clone` (the
//! [`Spawner`](tern_syscalls::thread::Spawner) registered with the syscall
//! layer), running its CPU loop, and ending it (`exit`) or the whole
//! process (`exit_group`, or the last thread's `exit`).
//!
//! Host threads are glibc pthreads (`pthread_create`, detached, small
//! stack), not raw clones: Rust's thread-locals and malloc need a real libc
//! thread; not `std::thread` either, whose per-thread stack-overflow
//! alternate stack (five more syscalls per thread) tern replaces anyway.
//! glibc
//! installs handlers for its internal signals (32, 33) at its first
//! `pthread_create`, after which tern gives the two signals back their
//! guest dispositions (`host_thread::after_first_thread`), so all 64 guest
//! signals stay the guest's (a departure from DESIGN.md section 7, see
//! ARCHITECTURE.md).
//!
//! Each thread's `--stats` counters are merged into one total when it ends.

use crate::cpu_loop::{self, LoopStats};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, Ordering};
use std::sync::Mutex;
use tern_syscalls::host_thread::{spawn_blocked_id, Stack};
use tern_syscalls::thread::live;
use tern_syscalls::thread::NewThread;
use tern_syscalls::{Flow, Process};
use tern_translate::entry::CpuBox;

/// Host stack of a guest thread (tern's own frames only: the guest runs on
/// its own stack).
const HOST_STACK: usize = 256 * 1024;

/// The program this process runs (another after each `execve` it runs
/// itself, `run_main`).
static PROCESS: AtomicPtr<Process> = AtomicPtr::new(std::ptr::null_mut());

/// The program this process runs, once [`run_main`] has started it.
pub fn current_process() -> Option<&'static Process> {
    // SAFETY: PROCESS only ever holds null or a leaked, never freed Process.
    unsafe { PROCESS.load(Ordering::Acquire).as_ref() }
}

/// Loads and starts the program of a guest `execve` this process runs
/// itself (`tern_syscalls::task::ExecInPlace`) on the main thread, given
/// the old program and its thread's state.
pub type ExecInPlace = fn(&'static Process, tern_syscalls::task::ExecInPlace, CpuBox) -> !;
static SHOW_STATS: AtomicBool = AtomicBool::new(false);
/// `--stats` counters of the threads that ended.
static TOTALS: Mutex<Option<LoopStats>> = Mutex::new(None);
/// The CPU states and alternate signal stacks of ended threads, reused by
/// new ones, so that a program creating threads forever runs in bounded
/// memory and tern's memory list stays short. Pooled states stay
/// registered with the Jit, so their lookup tables stay valid.
static POOL: Mutex<Vec<(CpuBox, u64, usize)>> = Mutex::new(Vec::new());

/// Pooled states whose lookup tables keep their filled pages (see `pool`).
const WARM_TABLES: usize = 4;

/// Runs the main guest thread (`cpu` installed on the calling thread) and
/// never returns: the process ends through [`exit_process`].
pub fn run_main(p: &'static Process, mut cpu: CpuBox, stats: bool, exec: ExecInPlace) -> ! {
    PROCESS.store(std::ptr::from_ref(p).cast_mut(), Ordering::Release);
    SHOW_STATS.store(stats, Ordering::Relaxed);
    tern_syscalls::thread::set_spawner(spawn);
    p.jit.register_thread(cpu.as_ptr());
    let code = match run_thread(p, &mut cpu) {
        Ok(code) => code.unwrap_or(0),
        Err(new) => exec(p, *new, cpu),
    };
    exit_thread(code, true);
    // The main host thread ends alone, so that the process lives on for
    // the other threads (returning from `main` would end them all). Its
    // CpuBox stays registered and mapped: it is not reused.
    // SAFETY: SYS_exit ends only the calling host thread.
    unsafe { libc::syscall(libc::SYS_exit, code) };
    unreachable!("SYS_exit returned")
}

/// How a new thread tells its creator its tid (or why it could not
/// start): the creator spins briefly, then sleeps on `state`.
struct Handshake {
    /// [`PENDING`], [`POSTED`] once `result` is set, or [`SLEEPING`]
    /// while the creator waits in the kernel (only then does the new
    /// thread make a wake call).
    state: AtomicU32,
    result: AtomicI64,
}

const PENDING: u32 = 0;
const POSTED: u32 = 1;
const SLEEPING: u32 = 2;

/// How many `pause`s the creator spins before it sleeps: about 2.5 µs at
/// the 25 ns a `pause` takes on the AMD EPYC here, which catches a new
/// thread that starts at once. Longer spins cost more than the sleep and
/// wake they save: 500 made 20,000 pthread_create+join 17% slower (the
/// spinning vCPU delays the thread that is ending on the other one).
const SPINS: u32 = 100;

impl Handshake {
    fn new() -> Handshake {
        Handshake { state: AtomicU32::new(PENDING), result: AtomicI64::new(0) }
    }

    fn wait(&self) -> Result<i32, i32> {
        let mut spins = 0;
        loop {
            match self.state.load(Ordering::Acquire) {
                POSTED => break,
                PENDING if spins < SPINS => {
                    spins += 1;
                    std::hint::spin_loop();
                    continue;
                }
                PENDING
                    if self
                        .state
                        .compare_exchange(PENDING, SLEEPING, Ordering::Acquire, Ordering::Acquire)
                        .is_err() =>
                {
                    continue;
                }
                _ => {}
            }
            // SAFETY: a futex wait on our own word while it is SLEEPING.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.state.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    SLEEPING,
                    0usize,
                );
            }
        }
        let r = self.result.load(Ordering::Acquire);
        if r < 0 {
            Err(-r as i32)
        } else {
            Ok(r as i32)
        }
    }

    /// Hands over the result. `this` may be freed by the creator as soon
    /// as `state` is set; the wake after it only names the address.
    fn post(this: *const Handshake, r: Result<i32, i32>) {
        // SAFETY: the creator keeps the handshake alive until `state` is
        // POSTED.
        let (state, old) = unsafe {
            (*this).result.store(r.map_or_else(|e| -i64::from(e), i64::from), Ordering::Relaxed);
            let state = (*this).state.as_ptr();
            (state, (*this).state.swap(POSTED, Ordering::Release))
        };
        if old != SLEEPING {
            return;
        }
        // SAFETY: a futex wake only names the address (a wake of memory
        // reused meanwhile is a spurious wake, which every futex user
        // tolerates).
        unsafe { libc::syscall(libc::SYS_futex, state, libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, 1) };
    }
}

/// The [`Spawner`](tern_syscalls::thread::Spawner): starts a host thread
/// for `t` and returns its tid. What can fail (the thread's CPU state and
/// alternate stack, the host thread itself) fails here, in the creator.
/// The tid is the one glibc's `pthread_create` stores before it returns
/// (`created_tid`), so the creator goes back to the guest at once, as a
/// native `clone` does: waiting for the new thread to run and say its tid
/// took a scheduling round whenever every CPU was busy (17 ms a thread,
/// with 8 threads spinning on 2 CPUs: glibc's `tst-cancel32`). It waits
/// for that answer only where the thread's own setup can fail (it
/// unshares, or opens a pidfd), or where glibc does not publish the field.
fn spawn(t: NewThread) -> Result<i32, i32> {
    let p = current_process().expect("threads start after run_main");
    let state = prepare(p)?;
    let (flags, parent_tid, seccomp) = (t.flags, t.parent_tid, t.seccomp.clone());
    let ask = tern_syscalls::thread::child_setup_may_fail(flags);
    let hs = Handshake::new();
    live::started();
    let start = Box::into_raw(Box::new(Start { t, answer: Posted(&hs), gate: Handshake::new(), state }));
    // The host thread starts with every signal blocked, until it takes
    // the guest's mask in `on_thread_start`.
    // SAFETY: host_thread_start takes ownership of `start` (reclaimed
    // here if none starts).
    let id = match unsafe { spawn_blocked_id(Stack::Pooled(HOST_STACK), host_thread_start, start.cast()) } {
        Ok(id) => id,
        Err(_) => {
            // SAFETY: no thread was created, so `start` is still ours.
            let start = unsafe { Box::from_raw(start) };
            POOL.lock().unwrap_or_else(|e| e.into_inner()).push(start.state);
            live::failed();
            return Err(libc::EAGAIN);
        }
    };
    // SAFETY: the thread waits at its gate, so it lives and its
    // descriptor is in place.
    let tid = if ask { None } else { unsafe { tern_syscalls::host_thread::created_tid(id) } };
    if let Some(tid) = tid {
        // Before the thread runs: it may end at once, clearing the same
        // word (glibc's CLONE_CHILD_CLEARTID), which must stay cleared.
        tern_syscalls::thread::parent_setup(flags, parent_tid, tid, seccomp);
    }
    // SAFETY: the thread reads `answer` only once it is through the gate,
    // and frees `start` only then; after the post `start` is not touched.
    unsafe {
        if tid.is_some() {
            (*start).answer = Posted(std::ptr::null());
        }
        Handshake::post(std::ptr::addr_of!((*start).gate), Ok(0));
    }
    match tid {
        Some(tid) => Ok(tid),
        None => hs.wait(),
    }
}

/// A new thread's CPU state and alternate signal stack: an ended thread's
/// (pooled), else new ones.
fn prepare(p: &Process) -> Result<(CpuBox, u64, usize), i32> {
    if let Some(state) = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop() {
        return Ok(state);
    }
    let (sp, size) = tern_signals::FaultContext::alt_stack().map_err(|_| libc::ENOMEM)?;
    let cpu = CpuBox::new().map_err(|_| libc::ENOMEM)?;
    p.jit.register_thread(cpu.as_ptr());
    Ok((cpu, sp, size))
}

/// The creator's handshake, alive until the new thread posts to it; null
/// when the creator does not wait for an answer.
struct Posted(*const Handshake);
// SAFETY: the pointer is used once, by the new thread, while the creator
// waits for it.
unsafe impl Send for Posted {}

/// What a new thread starts with: its guest state and flags, where to
/// answer, the gate it waits at until its creator has read its tid, and
/// its CPU state and alternate stack.
struct Start {
    t: NewThread,
    answer: Posted,
    gate: Handshake,
    state: (CpuBox, u64, usize),
}

extern "C" fn host_thread_start(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: `spawn` passed a Box<Start> it gave up, whose gate it opens
    // once it is done with the Box.
    // (Only the gate is borrowed: the creator may still set `answer`.)
    let gate = unsafe { &*std::ptr::addr_of!((*arg.cast::<Start>()).gate) };
    let _ = gate.wait();
    // SAFETY: as above: the creator no longer touches it.
    let Start { t, answer, state, .. } = *unsafe { Box::from_raw(arg.cast::<Start>()) };
    thread_main(t, answer, state);
    std::ptr::null_mut()
}

/// Posts `r` to the creator if it waits for an answer.
fn answer(to: &Posted, r: Result<i32, i32>) {
    if !to.0.is_null() {
        Handshake::post(to.0, r);
    }
}

fn thread_main(t: NewThread, to: Posted, (mut cpu, sp, size): (CpuBox, u64, usize)) {
    let p = current_process().expect("threads start after run_main");
    let mut setup = || -> Result<i32, i32> {
        tern_signals::FaultContext::use_alt_stack(sp, size).map_err(|_| libc::ENOMEM)?;
        tern_syscalls::thread::note_host_stack();
        cpu.set_guest_regs(&t.state);
        cpu.install_on_current_thread().map_err(|_| libc::ENOMEM)?;
        let tid = tern_syscalls::thread::child_setup(&t)?;
        if !to.0.is_null() {
            // Its creator waits: the thread takes its mode itself.
            tern_syscalls::seccomp::adopt(t.seccomp.clone());
        }
        Ok(tid)
    };
    match setup() {
        Ok(tid) => answer(&to, Ok(tid)),
        Err(e) if !to.0.is_null() => {
            // The state stays registered, and no thread runs on it.
            POOL.lock().unwrap_or_else(|e| e.into_inner()).push((cpu, sp, size));
            live::failed();
            answer(&to, Err(e));
            return;
        }
        // Where the creator does not wait, all that is left to do here
        // cannot fail (see `spawn`).
        Err(e) => {
            tern_signals::say!(
                "tern: a new thread could not start: {}",
                std::io::Error::from_raw_os_error(e)
            );
            std::process::exit(127);
        }
    }
    // The creator's mask, nothing pending, no sigaltstack.
    tern_signals::thread::on_thread_start(t.mask);
    // Never an exec: only the process's first thread runs one itself.
    if let Ok(Some(code)) = run_thread(p, &mut cpu) {
        exit_thread(code, false);
        pool(cpu);
    }
}

/// Puts the state and alternate stack of the calling thread, which has
/// ended as a guest thread, in the pool.
fn pool(cpu: CpuBox) {
    let off = libc::stack_t { ss_sp: std::ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
    // SAFETY: sigaltstack reads `off` and fills a local; all signals are
    // blocked on this thread (`on_thread_exit`).
    let mut old: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::sigaltstack(&off, &mut old) } == 0 && !old.ss_sp.is_null() {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        // Pooled states keep their lookup tables as they are for the next
        // threads (thread create and join in a loop): a pooled state stays
        // registered, so invalidations and flushes keep its table true, and
        // a new thread on it starts with the targets the last one found (a
        // thread create and join took 16 lookup misses, and refilled ~50
        // zero pages with a write fault each, each a TLB shootdown while
        // other threads run: with 8 threads started at once, as many as
        // the rest of a create, join and exit). So do all small tables
        // (not yet made resident whole, `IBL_POPULATE_AFTER`), which hold
        // no more than their threads did, and the first few whole ones;
        // the others cost no memory until a new thread fills them.
        let whole = cpu.ibl_misses >= tern_translate::cpu::IBL_POPULATE_AFTER;
        if whole && pool.len() >= WARM_TABLES {
            // SAFETY: the state is live and no thread runs on it any more.
            unsafe { tern_translate::cpu::CpuState::ibl_release(cpu.as_ptr()) };
        }
        pool.push((cpu, old.ss_sp as u64, old.ss_size));
    }
}

/// Runs the guest thread in `cpu` until it exits. Returns the status of
/// an `exit` of this thread, or an `execve` this process runs itself (only
/// ever on the main thread: `task::in_place_possible`); `exit_group` ends
/// the process here.
type Ended = Result<Option<i32>, Box<tern_syscalls::task::ExecInPlace>>;

fn run_thread(p: &'static Process, cpu: &mut CpuBox) -> Ended {
    let mut stats = LoopStats::default();
    let flow = cpu_loop::run(p, cpu, &mut stats);
    merge_stats(&stats);
    match flow {
        Flow::ExitThread(code) => Ok(Some(code)),
        Flow::ExitGroup(code) => exit_process(code),
        Flow::Exec(new) => Err(new),
        Flow::Continue | Flow::Sigreturn => Ok(None),
    }
}

/// The guest loop of a vfork child (`tern_syscalls::vfork`): a process of
/// one thread on its parent's memory, so its `exit` ends it like
/// `exit_group`, and it touches none of the parent's thread bookkeeping.
/// Returns the child's exit status.
pub fn run_vfork_child(p: &Process, cpu: &mut CpuBox) -> i32 {
    match cpu_loop::run(p, cpu, &mut LoopStats::default()) {
        Flow::ExitThread(code) | Flow::ExitGroup(code) => code,
        // Never: a child on its parent's memory execs with a host execve.
        Flow::Exec(_) | Flow::Continue | Flow::Sigreturn => 0,
    }
}

fn merge_stats(s: &LoopStats) {
    let mut t = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    let t = t.get_or_insert_with(LoopStats::default);
    t.syscalls += s.syscalls;
    t.smc += s.smc;
    t.trace_entries += s.trace_entries;
    t.guest_insns += s.guest_insns;
    t.trace_left += s.trace_left;
    for (a, b) in t.exits.iter_mut().zip(s.exits.iter()) {
        *a += b;
    }
}

/// `exit` of one guest thread (`kernel/exit.c: do_exit()`): no signal is
/// routed to it any more, its robust futexes and `clear_child_tid` are
/// released; the last thread to go ends the process with the main
/// thread's status (the leader's, as the kernel reports it).
fn exit_thread(code: i32, main: bool) {
    tern_signals::thread::on_thread_exit();
    tern_syscalls::thread::exit_thread_cleanup();
    if let Some(status) = live::exited(code, main) {
        exit_process(status);
    }
}

/// Ends the process with `code` (`exit_group`), after printing `--stats`
/// and writing its new translations to the persistent cache.
/// Other threads, blocked in syscalls or not, end with it.
pub fn exit_process(code: i32) -> ! {
    if let Some(p) = current_process() {
        tern_syscalls::vfork_copy::at_exit(p);
        if SHOW_STATS.load(Ordering::Relaxed) {
            let totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
            crate::stats::print(p.jit, totals.as_ref().unwrap_or(&LoopStats::default()));
        }
        tern_syscalls::task::stop_other_threads();
        tern_syscalls::task::release_guest_memory(p);
        tern_syscalls::task::save_persisted(p);
        tern_syscalls::task::leave_shared_code(p);
    }
    // SAFETY: exit_group ends every thread; nothing tern holds needs
    // flushing (its log writes are unbuffered).
    unsafe { libc::syscall(libc::SYS_exit_group, code) };
    unreachable!("exit_group returned")
}
