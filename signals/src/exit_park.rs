//! `exit_group` with other threads running: they are stopped for good
//! first, so that the exiting thread can write the process's translations
//! to the persistent cache (`Jit::save_persisted`) before the host
//! `exit_group` ends them all.
//!
//! Natively `exit_group` ends the other threads at once; writing the cache
//! takes a while (a compiler's tens of megabytes of blocks), and threads
//! left running meanwhile would go on making calls the guest can see (a
//! thread printing in a loop would print more). Without the stop a
//! multithreaded program (rustc, cargo, a JVM, node) never kept anything
//! and translated all its code again at every run.
//!
//! The stop is asked like a signal, as a tracer's stop is
//! (`ptrace_stop.rs`): [`stop_others`] names the exiting thread in
//! [`EXITING`], raises every other thread's `signal_pending` and kicks
//! it, so a thread in generated code or in a blocking host call made for
//! the guest comes back to tern (a call is not made again), and parks in
//! [`park_if_exiting`] (from `deliver::deliver_pending` or the
//! `safe_syscall` loop) without running guest code or making a guest call
//! again, holding no lock and no block. A thread that does not park within
//! the time given (stopped by a tracer, busy in a host call tern cannot
//! interrupt) leaves the cache unwritten, as before. The host `exit_group`
//! that follows ends the parked threads with the rest.

use crate::thread::ThreadSignals;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::Duration;
use tern_translate::clock::Instant;
use tern_translate::cpu::CpuState;

/// The host tid of the thread ending the process, 0 while none is.
static EXITING: AtomicI32 = AtomicI32::new(0);
/// Threads parked for the exit (a futex word the exiting thread waits on).
static PARKED: AtomicU32 = AtomicU32::new(0);

/// Stops every other guest thread of this process for good and waits until
/// they have all parked, or `limit` has passed; `others` gives how many
/// other threads live (it drops as threads `exit` on their own). True if
/// they all parked: the caller is then the only thread that runs, and must
/// end the process. If another thread is already ending the process, the
/// caller parks with the rest and never returns.
pub fn stop_others(others: &dyn Fn() -> usize, limit: Duration) -> bool {
    let me = crate::thread::gettid();
    if let Err(first) = EXITING.compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire) {
        if first != me {
            // Natively the first exit_group wins; this thread ends with
            // the others, with the first one's status.
            park_here(crate::thread::current().and_then(ThreadSignals::cpu));
        }
    }
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    for t in crate::thread::all().filter(|t| t.tgid() == pid && t.tid() != me) {
        t.raise();
        crate::thread::kick(t.tid());
    }
    let deadline = Instant::now().after(limit);
    loop {
        let parked = PARKED.load(Ordering::Acquire);
        if parked as usize >= others() {
            return true;
        }
        let left = deadline.remaining();
        if left.is_zero() {
            return false;
        }
        // A wake from each thread as it parks; the time bounds a thread
        // that ends by `exit` instead (`others` drops without a wake).
        tern_translate::futex::wait(&PARKED, parked, Some(left.min(Duration::from_millis(1))));
    }
}

/// Threads parked for the process's exit.
pub fn parked() -> usize {
    PARKED.load(Ordering::Acquire) as usize
}

/// True if a thread is ending the process (every other one parks).
pub fn exiting() -> bool {
    EXITING.load(Ordering::Acquire) != 0
}

/// Parks the calling thread for good if another thread is ending the
/// process (see the module docs); `cpu`: its state, whose blocks it then
/// holds none of. Returns at once otherwise.
pub(crate) fn park_if_exiting(t: &ThreadSignals, cpu: Option<&CpuState>) {
    let e = EXITING.load(Ordering::Acquire);
    if e != 0 && e != t.tid() {
        park_here(cpu);
    }
}

fn park_here(cpu: Option<&CpuState>) -> ! {
    if let Some(cpu) = cpu {
        // Holds no block: a flush or a reclamation never waits for it.
        cpu.quiet_epoch.store(u64::MAX, Ordering::Release);
    }
    PARKED.fetch_add(1, Ordering::AcqRel);
    tern_translate::futex::wake(&PARKED, i32::MAX);
    loop {
        // SAFETY: pause only sleeps until a signal handler runs; the host
        // `exit_group` ends the thread.
        unsafe { libc::pause() };
    }
}
