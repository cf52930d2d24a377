//! A mutex whose owner's death is noticed: the translator's locks.
//!
//! A vfork or CLONE_VM child is another process on tern's memory: it runs
//! the translator too and takes its locks. The kernel can kill it at any
//! instruction (SIGKILL from the guest, the OOM killer), also while it holds
//! one, and a `std::sync::Mutex` (or a pthread mutex of this process) would
//! then stay locked forever and hang the parent at its next translation.
//!
//! [`RobustMutex`] keeps the owner's host tid in its lock word (a futex).
//! A waiter sleeps at most [`CHECK_EVERY`] at a time; then, if the owner is
//! not a thread of the waiter's own thread group (those die only with the
//! whole group), it asks `/proc/TID/stat` whether the owner still lives
//! (gone, or a zombie: dead) and, if not, takes the lock over. The guard it
//! gets says so ([`RobustGuard::recovered`]), and the caller then repairs
//! what the dead owner may have left half-changed (`Jit::recover_locked`).
//! The kernel's robust futex lists would do this without polling, but they
//! are registered per thread by `set_robust_list`, which a vfork child's
//! guest may use for itself.
//!
//! Lock word: 0 free, else the owner's tid, with [`WAITERS`] set when a
//! thread may be asleep on it (the unlocker then wakes one).
//!
//! Not a fair lock, not reentrant, no poisoning (a panic while holding it
//! aborts tern anyway).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, Ordering};

/// Set in the lock word when a waiter may be asleep.
const WAITERS: u32 = 1 << 31;
/// Longest sleep before a waiter checks that the owner still lives.
pub const CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(20);
/// `spin_loop` rounds a waiter tries the lock before it sleeps (see
/// `RobustMutex::lock_slow`).
const SPINS: u32 = 512;

/// See the module docs.
pub struct RobustMutex<T> {
    word: AtomicU32,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached only through a guard, which the lock word
// makes exclusive; T moves between threads with the guard.
unsafe impl<T: Send> Sync for RobustMutex<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for RobustMutex<T> {}

/// Exclusive access to a [`RobustMutex`]'s data; unlocks when dropped.
pub struct RobustGuard<'a, T> {
    lock: &'a RobustMutex<T>,
    /// The previous owner died holding the lock (see the module docs).
    pub recovered: bool,
}

thread_local! {
    /// This thread's host tid, 0 until known. A vfork or CLONE_VM child
    /// runs on another thread's locals: it forgets it (`forget_tid`).
    static TID: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// This thread's host tid (gettid; a vfork child has its own).
fn tid() -> u32 {
    let t = TID.with(|t| t.get());
    if t != 0 {
        return t;
    }
    // SAFETY: gettid has no arguments and cannot fail.
    let t = unsafe { libc::syscall(libc::SYS_gettid) as u32 };
    TID.with(|c| c.set(t));
    t
}

/// Forgets the cached tid of these thread-locals: called when a vfork or
/// CLONE_VM child starts on them and when their thread gets them back.
pub(crate) fn forget_tid() {
    TID.with(|t| t.set(0));
}

/// True if host thread `owner` has died: it is not a thread of our own
/// thread group, and `/proc` shows it gone or a zombie.
fn owner_dead(owner: u32) -> bool {
    // SAFETY: signal 0 only checks that the thread exists in our group.
    if unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), owner, 0) } == 0 {
        return false;
    }
    match std::fs::read(format!("/proc/{owner}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            // "pid (comm) S ...": the state follows the last ')'.
            let state = stat.iter().rposition(|&b| b == b')').and_then(|i| stat.get(i + 2));
            matches!(state, Some(b'Z' | b'X' | b'x'))
        }
    }
}

impl<T> RobustMutex<T> {
    pub const fn new(data: T) -> RobustMutex<T> {
        RobustMutex { word: AtomicU32::new(0), data: UnsafeCell::new(data) }
    }

    /// Takes the lock, waiting for it; takes it over from a dead owner.
    pub fn lock(&self) -> RobustGuard<'_, T> {
        let me = tid();
        if self.word.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            return RobustGuard { lock: self, recovered: false };
        }
        self.lock_slow(me)
    }

    /// Takes the lock if it is free (the guard is made only on success:
    /// dropping one unlocks).
    pub fn try_lock(&self) -> Option<RobustGuard<'_, T>> {
        let me = tid();
        self.word
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            .then(|| RobustGuard { lock: self, recovered: false })
    }

    #[cold]
    fn lock_slow(&self, me: u32) -> RobustGuard<'_, T> {
        // Spins about as long as a block takes to load from the persistent
        // cache (a few us) before sleeping: rustc's threads, which load
        // theirs one at a time, slept and woke each other at 64 (a warm
        // rustc of a small crate: wall 1.14 -> 1.03 s, the same CPU time).
        for _ in 0..SPINS {
            std::hint::spin_loop();
            if self.word.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return RobustGuard { lock: self, recovered: false };
            }
        }
        loop {
            let v = self.word.load(Ordering::Relaxed);
            if v == 0 {
                // Others may sleep: keep the flag so our unlock wakes one.
                if self.word.compare_exchange(0, me | WAITERS, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                    return RobustGuard { lock: self, recovered: false };
                }
                continue;
            }
            if v & WAITERS == 0
                && self.word.compare_exchange(v, v | WAITERS, Ordering::Relaxed, Ordering::Relaxed).is_err()
            {
                continue;
            }
            if !crate::futex::wait(&self.word, v | WAITERS, Some(CHECK_EVERY)) {
                let owner = v & !WAITERS;
                if owner != me && owner_dead(owner) {
                    let now = self.word.load(Ordering::Relaxed);
                    if now & !WAITERS == owner
                        && self
                            .word
                            .compare_exchange(now, me | WAITERS, Ordering::Acquire, Ordering::Relaxed)
                            .is_ok()
                    {
                        tracing::debug!("translator lock taken over from dead owner {owner}");
                        return RobustGuard { lock: self, recovered: true };
                    }
                }
            }
        }
    }

    /// The host tid holding the lock, 0 if it is free.
    pub fn owner(&self) -> u32 {
        self.word.load(Ordering::Relaxed) & !WAITERS
    }
}

impl<T> std::ops::Deref for RobustGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> std::ops::DerefMut for RobustGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and &mut self is exclusive.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for RobustGuard<'_, T> {
    fn drop(&mut self) {
        if self.lock.word.swap(0, Ordering::Release) & WAITERS != 0 {
            crate::futex::wake(&self.lock.word, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excludes_threads() {
        let m = std::sync::Arc::new(RobustMutex::new(0u64));
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        *m.lock() += 1;
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*m.lock(), 80_000);
    }

    #[test]
    fn taken_over_from_a_dead_process() {
        let m = RobustMutex::new(7u32);
        // A child process holding the lock word (as a vfork child would,
        // on shared memory), then dead: emulate by writing its tid.
        // SAFETY: fork in a test; the child only exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: leaving the child at once.
            unsafe { libc::_exit(0) };
        }
        let mut st = 0;
        // SAFETY: reaping our child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        m.word.store(pid as u32, Ordering::Relaxed);
        let g = m.lock();
        assert!(g.recovered);
        assert_eq!(*g, 7);
        drop(g);
        assert!(!m.lock().recovered);
    }
}
