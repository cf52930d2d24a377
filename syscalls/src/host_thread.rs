//! Starting tern's own host threads: detached pthreads that start with
//! every signal blocked (guest threads take the guest's mask once they
//! run; helpers and the trace optimizer keep them all blocked, so that
//! process-directed signals go to guest threads).

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::Mutex;

/// The tids of tern's own threads that are not guest threads (the trace
/// optimizer, the helpers of CLONE_VM children), which the guest must not
/// count among its own (`proc.rs`: `Threads:` in `status`, `num_threads`
/// in `stat`, the entries of `task/`). A fixed table of atomics, so that a
/// fork child can empty it whatever another thread was doing; a thread
/// that finds no free slot stays visible.
static HIDDEN: [AtomicI32; 32] = [const { AtomicI32::new(0) }; 32];

/// Threads started ([`will_hide`]) that have not hidden themselves yet
/// ([`hide_started`]): whoever reads the guest's view of its threads
/// waits for them first ([`settle`]), rather than each start waiting for
/// its thread to run (the new thread's tid is known only to itself:
/// glibc's `pthread_create` does not give it). A start that waited cost
/// `tern --traces /bin/true` 0.3 ms, a wake-up of the other vCPU and back.
static STARTING: AtomicU32 = AtomicU32::new(0);

/// Hides the calling thread from the guest's view of its threads until
/// [`unhide_current`] (or the end of the process).
pub fn hide_current() {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let _ = HIDDEN.iter().find(|s| s.compare_exchange(0, tid, Ordering::SeqCst, Ordering::SeqCst).is_ok());
}

/// Before starting a thread that will call [`hide_started`] (or, if it
/// could not be started, [`started_none`]).
pub fn will_hide() {
    STARTING.fetch_add(1, Ordering::SeqCst);
}

/// [`hide_current`] in a thread whose start called [`will_hide`].
pub fn hide_started() {
    hide_current();
    started_none();
}

/// The thread announced by [`will_hide`] did not start, or has hidden.
pub fn started_none() {
    let _ = STARTING.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    tern_translate::futex::wake(&STARTING, i32::MAX);
}

/// Waits (at most a second) until every thread announced by
/// [`will_hide`] has hidden itself.
fn settle() {
    let until = tern_translate::clock::Instant::now().after(std::time::Duration::from_secs(1));
    loop {
        let n = STARTING.load(Ordering::SeqCst);
        let left = until.remaining();
        if n == 0 || left.is_zero() {
            return;
        }
        tern_translate::futex::wait(&STARTING, n, Some(left));
    }
}

/// Shows the calling thread again (it is about to end).
pub fn unhide_current() {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let _ = HIDDEN.iter().find(|s| s.compare_exchange(tid, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok());
}

/// The hidden threads' tids (`hide_current`) that are threads of the
/// calling process: a vfork or CLONE_VM child shares the table with its
/// parent, whose threads are not its own.
pub fn hidden() -> impl Iterator<Item = i32> {
    // SAFETY: getpid has no preconditions.
    hidden_in(unsafe { libc::getpid() })
}

/// True if some thread on this memory is hidden, alive or not (a cheap
/// first look).
pub fn any_hidden() -> bool {
    settle();
    HIDDEN.iter().any(|s| s.load(Ordering::Relaxed) != 0)
}

/// The hidden threads that are threads of process `pid` (this one, or
/// another on this memory).
pub fn hidden_in(pid: i32) -> impl Iterator<Item = i32> {
    settle();
    HIDDEN.iter().map(|s| s.load(Ordering::SeqCst)).filter(move |&t| t != 0 && !ended_in(pid, t))
}

/// In a fork child: only the forking thread is there (background threads
/// started again hide themselves again).
pub fn forget_hidden() {
    for s in &HIDDEN {
        s.store(0, Ordering::SeqCst);
    }
    STARTING.store(0, Ordering::SeqCst);
}

/// The stack of a new host thread.
#[derive(Clone, Copy, Debug)]
pub enum Stack {
    /// One of this size in tern's region (`hostmem::map_tern`), with a
    /// guard page below, reused once the thread that last ran on it has
    /// ended ([`RETIRED`]). glibc would map a stack wherever the kernel
    /// puts a new mapping, which may be a hole the guest keeps free: below
    /// a `MAP_GROWSDOWN` stack, inside its guard gap, it stopped that stack
    /// from growing (LTP `mmap18`).
    Pooled(usize),
    /// `[at, at + len)`, the caller's for the thread's whole life.
    At { at: u64, len: usize },
}

const PAGE: usize = 4096;

/// Pooled stacks no thread is being started on: `(at, len, tid)`, free
/// once thread `tid` (the last one on it; 0 for none) has ended.
static RETIRED: Mutex<Vec<(u64, usize, i32)>> = Mutex::new(Vec::new());

/// The pool of stacks held across a host `fork` (`task.rs`, `ForkLocks`).
pub type ForkGuard = std::sync::MutexGuard<'static, Vec<(u64, usize, i32)>>;

/// Holds the pool of stacks locked (across a host `fork`).
pub fn lock_for_fork() -> ForkGuard {
    RETIRED.lock().unwrap_or_else(|e| e.into_inner())
}

/// True if thread `tid` of this process has ended (its exit is the last
/// thing that touches its stack). A tid reused by a new thread of ours
/// only keeps the stack out of use a while longer.
fn ended(tid: i32) -> bool {
    // SAFETY: getpid has no preconditions.
    ended_in(unsafe { libc::getpid() }, tid)
}

/// True unless `tid` is a live thread of process `pid`.
fn ended_in(pid: i32, tid: i32) -> bool {
    // SAFETY: tgkill with signal 0 sends nothing, it only looks the thread up.
    tid == 0 || unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, 0) } != 0
}

/// A free pooled stack of `len` bytes, or a new one.
fn take_stack(len: usize) -> Option<(u64, usize)> {
    let mut retired = RETIRED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = retired.iter().position(|&(_, l, tid)| l == len && ended(tid)) {
        let (at, len, _) = retired.swap_remove(i);
        return Some((at, len));
    }
    drop(retired);
    let base = tern_translate::hostmem::map_anon(len + PAGE).ok()?;
    // SAFETY: the lowest page of the mapping just made, as a guard.
    unsafe { libc::mprotect(base as *mut libc::c_void, PAGE, libc::PROT_NONE) };
    Some((base + PAGE as u64, len))
}

/// What a thread on a pooled stack runs: the caller's start routine, then
/// the stack goes back to the pool, named by this thread's tid.
struct PooledStart {
    start: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void,
    arg: *mut libc::c_void,
    stack: (u64, usize),
}

extern "C" fn pooled_start(p: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: spawn_blocked handed this thread the Box it made.
    let p = unsafe { Box::from_raw(p.cast::<PooledStart>()) };
    let r = (p.start)(p.arg);
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    RETIRED.lock().unwrap_or_else(|e| e.into_inner()).push((p.stack.0, p.stack.1, tid));
    r
}

/// Starts a detached host thread running `start(arg)` with every signal
/// blocked. Returns `pthread_create`'s error number (0: started).
///
/// # Safety
/// `start` must be sound to run with `arg` on a new thread; when the call
/// fails, `arg` was not handed over. A `Stack::At` range must be mapped,
/// writable and used by nothing else while the thread lives.
pub unsafe fn spawn_blocked(
    stack: Stack,
    start: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void,
    arg: *mut libc::c_void,
) -> i32 {
    // SAFETY: the caller's contract.
    unsafe { spawn_blocked_id(stack, start, arg) }.err().unwrap_or(0)
}

/// The kernel tid of a thread [`spawn_blocked_id`] has just started, before
/// it runs: glibc's `pthread_create` has the kernel store it in the thread's
/// descriptor (CLONE_PARENT_SETTID) before it returns, at the offset glibc
/// publishes for debuggers' libthread_db (`_thread_db_pthread_tid`: the
/// field's size in bits, count, offset). None where the C library does not
/// say. The descriptor lives at the top of the thread's stack, so the
/// thread must not have ended yet (the caller holds it back).
///
/// # Safety
/// `id` must name a live thread.
pub unsafe fn created_tid(id: libc::pthread_t) -> Option<i32> {
    static OFFSET: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    let off = (*OFFSET.get_or_init(|| {
        // SAFETY: dlsym of a NUL-terminated name in the loaded objects; the
        // symbol, where present, is glibc's read-only `uint32_t[3]`.
        let d = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"_thread_db_pthread_tid".as_ptr()) };
        if d.is_null() {
            return None;
        }
        // SAFETY: as above.
        let [bits, count, offset] = unsafe { *d.cast::<[u32; 3]>() };
        (bits == 32 && count == 1).then_some(offset as usize)
    }))?;
    // SAFETY: `id` points at the live thread's descriptor, whose tid field
    // is at `off` (glibc's own description of it).
    let tid = unsafe { std::ptr::read_volatile((id as *const u8).add(off).cast::<i32>()) };
    (tid > 0).then_some(tid)
}

/// [`spawn_blocked`], giving the new thread's `pthread_t`, or the error
/// number.
///
/// # Safety
/// As for [`spawn_blocked`].
pub unsafe fn spawn_blocked_id(
    stack: Stack,
    start: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void,
    arg: *mut libc::c_void,
) -> Result<libc::pthread_t, i32> {
    let (at, len, start, arg, pooled) = match stack {
        Stack::At { at, len } => (at, len, start, arg, None),
        Stack::Pooled(len) => {
            let Some(stack) = take_stack(len) else { return Err(libc::EAGAIN) };
            let p = Box::into_raw(Box::new(PooledStart { start, arg, stack }));
            (stack.0, stack.1, pooled_start as extern "C" fn(_) -> _, p.cast(), Some(p))
        }
    };
    // SAFETY: attr is initialised before use and destroyed after; the
    // stack and `arg` are as the caller's contract says (a pooled stack is
    // used by no other thread).
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        libc::pthread_attr_init(&mut attr);
        libc::pthread_attr_setstack(&mut attr, at as *mut libc::c_void, len);
        libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        pthread_attr_setsigmask_np(&mut attr, &all);
        let mut id: libc::pthread_t = 0;
        let r = libc::pthread_create(&mut id, &attr, start, arg);
        libc::pthread_attr_destroy(&mut attr);
        if let (Some(p), true) = (pooled, r != 0) {
            // No thread started: the stack and the caller's `arg` are back.
            let p = Box::from_raw(p);
            RETIRED.lock().unwrap_or_else(|e| e.into_inner()).push((p.stack.0, p.stack.1, 0));
        }
        if r != 0 {
            return Err(r);
        }
        FIRST_THREAD.call_once(|| {
            if let Some(f) = AFTER_FIRST_THREAD.get() {
                f();
            }
        });
        Ok(id)
    }
}

/// Guards [`AFTER_FIRST_THREAD`]: the C library's first `pthread_create`
/// installs its handlers for signals 32 and 33 (once per process; a fork
/// child inherits both that and this flag).
static FIRST_THREAD: std::sync::Once = std::sync::Once::new();

/// What runs after the first host thread is created (see
/// [`after_first_thread`]).
static AFTER_FIRST_THREAD: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>> = std::sync::OnceLock::new();

/// Sets what runs once, right after the process's first host thread is
/// created: giving signals 32 and 33 back to the guest
/// (`GuestSignals::reclaim_internal_signals`). Doing it then, not by a
/// thread made at start-up, costs a one-thread program nothing; in the
/// window between the two, the only guest thread is the one in that call.
pub fn after_first_thread(f: Box<dyn Fn() + Send + Sync>) {
    let _ = AFTER_FIRST_THREAD.set(f);
}

extern "C" {
    /// glibc 2.32: the signal mask a thread created with `attr` starts with.
    fn pthread_attr_setsigmask_np(attr: *mut libc::pthread_attr_t, mask: *const libc::sigset_t) -> i32;
}
