//! The gate between tern's background threads and a raw host fork.
//!
//! A fork that goes through the raw host `clone` (any guest fork glibc's
//! `fork()` cannot reproduce: CLONE_VFORK without CLONE_VM, another exit
//! signal, CLONE_PIDFD, `clone3`) gives its child malloc's locks as they
//! were, and one held by a thread the child does not have would hang the
//! child's first allocation; glibc's `fork()` resets them itself. The
//! background threads (the trace optimizer: LLVM allocates all the time)
//! therefore work inside the gate ([`work`]), and such a fork closes it
//! ([`close_for_fork`]): it waits for the work in progress to end, and no
//! new work starts until the fork is done.
//!
//! Written here rather than with `std::sync::RwLock`, which this used to
//! be, for two reasons. A background thread takes the gate again at once
//! after leaving it (the next trace), and the std lock let it back in
//! before the woken fork could take the lock, for as long as work was
//! queued: a guest's fork waited for the optimizer's whole queue (8 s in
//! `vfork.c` with every loop compiled). Here a fork that waits keeps every
//! new entry out, so it waits for one piece of work at most. And a child
//! of glibc's `fork()` taken while a background thread was inside must
//! find the gate open ([`reset_in_child`]): the thread is not there to
//! leave it, and a std lock cannot be reset.
//!
//! Two words: `INSIDE` counts the background threads at work, `CLOSING`
//! the forks waiting for them or running. Both sides increment their own
//! word, then check the other's (sequentially consistent), so at least
//! one of them sees the other and backs off: a thread never enters while
//! a fork runs.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

static INSIDE: AtomicU32 = AtomicU32::new(0);
static CLOSING: AtomicU32 = AtomicU32::new(0);

/// A background thread's pass through the gate: held while it may
/// allocate; dropping it leaves.
pub struct Work(());

/// A closed gate: no background thread is inside until it is dropped.
pub struct Closed(());

/// Waits while `word` holds `seen`.
fn wait(word: &AtomicU32, seen: u32) {
    tern_translate::futex::wait(word, seen, None);
}

/// Wakes every thread waiting on `word`.
fn wake_all(word: &AtomicU32) {
    tern_translate::futex::wake(word, i32::MAX);
}

/// Enters the gate, waiting while a fork has it closed.
pub fn work() -> Work {
    loop {
        let c = CLOSING.load(SeqCst);
        if c != 0 {
            wait(&CLOSING, c);
            continue;
        }
        INSIDE.fetch_add(1, SeqCst);
        if CLOSING.load(SeqCst) == 0 {
            return Work(());
        }
        // A fork closed it meanwhile: let it through first.
        leave();
    }
}

fn leave() {
    if INSIDE.fetch_sub(1, SeqCst) == 1 && CLOSING.load(SeqCst) != 0 {
        wake_all(&INSIDE);
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        leave();
    }
}

/// Closes the gate: returns once no background thread is inside, and
/// keeps them out until the result is dropped. Taken before any other
/// lock (background threads take the gate before theirs).
pub fn close_for_fork() -> Closed {
    CLOSING.fetch_add(1, SeqCst);
    loop {
        let n = INSIDE.load(SeqCst);
        if n == 0 {
            return Closed(());
        }
        wait(&INSIDE, n);
    }
}

impl Drop for Closed {
    fn drop(&mut self) {
        if CLOSING.fetch_sub(1, SeqCst) == 1 {
            wake_all(&CLOSING);
        }
    }
}

/// In a fork child, with one thread: the parent's background threads are
/// not there, so none of them is inside (the child of glibc's `fork()`,
/// which does not close the gate, may have a count of them), and the only
/// fork closing the gate is the child's own, if `closed` (the other
/// threads' forks are not there either).
pub fn reset_in_child(closed: bool) {
    INSIDE.store(0, SeqCst);
    CLOSING.store(u32::from(closed), SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// A background thread that takes the gate again at once, for ever,
    /// does not keep a fork out: the fork gets in after at most the work
    /// in progress. (With `std::sync::RwLock` the reader kept getting back
    /// in first.) Counted in passes, not timed.
    #[test]
    fn a_busy_background_thread_lets_a_fork_in() {
        static STOP: AtomicBool = AtomicBool::new(false);
        static PASSES: AtomicU32 = AtomicU32::new(0);
        let worker = std::thread::spawn(|| {
            while !STOP.load(SeqCst) {
                let _w = work();
                PASSES.fetch_add(1, SeqCst);
                for _ in 0..2000 {
                    std::hint::spin_loop();
                }
            }
        });
        while PASSES.load(SeqCst) < 10 {
            std::thread::yield_now();
        }
        for _ in 0..50 {
            let before = PASSES.load(SeqCst);
            let closed = close_for_fork();
            let during = PASSES.load(SeqCst);
            assert!(during <= before + 1, "the fork waited for {} passes", during - before);
            assert_eq!(INSIDE.load(SeqCst), 0);
            drop(closed);
            while PASSES.load(SeqCst) == during {
                std::thread::yield_now();
            }
        }
        STOP.store(true, SeqCst);
        worker.join().unwrap();
    }
}
