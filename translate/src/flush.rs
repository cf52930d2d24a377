//! Code memory reclamation: the full flush of a full code cache, and the
//! code-cache epochs that make reusing its memory safe while guest threads
//! run.
//!
//! Every guest thread announces in its `CpuState::code_epoch` which epoch's
//! code it may be running: the current epoch, stored just before it enters
//! generated code ([`Jit::enter_code`], which then checks that the epoch has
//! not moved since it looked its block up), and 0 once it is back in the
//! CPU loop ([`Jit::leave_code`], after it has read its exit descriptor).
//! A thread blocked in a host syscall, translating, or delivering a signal
//! is in tern's Rust code, so it announces 0 and is never waited for.
//!
//! A flush ([`Jit::flush_locked`], when `translate` finds the cache nearly
//! full) runs with the translation lock held: it forgets every block (the
//! block map, the page lists and the incoming jumps), bumps the epoch,
//! empties every registered thread's lookup table, then waits until no thread announces an older epoch, kicking those that
//! do out of generated code (the kick of `tern_signals::thread::kick`
//! stops a spinning thread through the pc map, as a guest signal would;
//! the states of vfork and CLONE_VM children, other processes on this
//! memory, are registered too, and the kick finds them in their own
//! thread group).
//! Only then are the code memory, the exit descriptors and the host index
//! reused. The two sides order their store and load with `SeqCst`
//! (`enter_code` stores its word then loads the epoch; the flush bumps the
//! epoch then loads the words), so either the flush sees the thread's word
//! and waits for it, or the thread sees the new epoch and looks its block
//! up again: no thread ever enters memory that is being reused. While the
//! flush waits, old code, its descriptors and the host index stay intact,
//! so a thread still inside an old block finishes it (or is interrupted
//! with precise state) as before.
//!
//! The wait cannot deadlock: a thread leaves generated code without taking
//! any lock (exits, faults and the kick's handler take none), and every
//! thread that waits for the translation lock announces 0.
//!
//! Not reclaimed: the `Block` records (leaked; lock-free readers may still
//! hold one), a few dozen bytes per block against the code itself.

use crate::cpu::CpuState;
use crate::{Jit, Tables};
use std::sync::atomic::{fence, Ordering};

/// How long the flush spins on a thread's word before kicking it again.
const KICK_EVERY: std::time::Duration = std::time::Duration::from_millis(2);

impl Jit {
    /// The current code-cache epoch (bumped by every flush). Read it before
    /// looking up a block, and pass it to [`Jit::enter_code`].
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Announces that the thread of `cpu` is about to enter code it looked
    /// up in epoch `epoch`. False if a flush has started since: the thread
    /// must look its block up again (it announced nothing).
    pub fn enter_code(&self, cpu: &CpuState, epoch: u64) -> bool {
        cpu.code_epoch.store(epoch, Ordering::SeqCst);
        if self.epoch.load(Ordering::SeqCst) == epoch {
            return true;
        }
        cpu.code_epoch.store(0, Ordering::SeqCst);
        false
    }

    /// Announces that the thread of `cpu` is back in the CPU loop (call it
    /// once the exit descriptor has been read).
    pub fn leave_code(&self, cpu: &CpuState) {
        cpu.code_epoch.store(0, Ordering::Release);
    }

    /// Announces that the thread of `cpu` holds no `Block` reference (the
    /// top of its CPU loop; also after a guest syscall, before any lookup).
    pub fn quiescent(&self, cpu: &CpuState) {
        cpu.quiet_epoch.store(self.epoch.load(Ordering::Acquire), Ordering::Release);
    }

    /// Announces that the thread of `cpu` holds no `Block` reference until
    /// its next [`Jit::quiescent`] (a guest syscall, the thread's end).
    pub fn idle(&self, cpu: &CpuState) {
        cpu.quiet_epoch.store(u64::MAX, Ordering::Release);
    }

    /// Caps the code cache at `bytes` (see `CodeCache::set_limit`); a
    /// full cache is flushed.
    pub fn set_cache_limit(&self, bytes: usize) {
        self.cache.set_limit(bytes);
    }

    /// Names the function that kicks a thread (by host tid) out of
    /// generated code; without one the flush only waits.
    pub fn set_kicker(&self, kick: fn(i32)) {
        let _ = self.kicker.set(kick);
    }

    /// Flushes the whole code cache (see the module docs). Returns once
    /// no thread runs old code and the memory is free for new blocks.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`), by a thread that announces 0
    /// (it is in tern's code).
    pub(crate) fn flush_locked(&self, t: &mut Tables) {
        t.index.clear();
        t.pages.clear();
        t.incoming.clear();
        self.forget_traces_locked(t);
        // Pieces of the old memory; translations in flight see the epoch
        // move and start over.
        t.rooms.clear();
        t.stub_room = None;
        t.fresh.clear();
        t.awaiting.clear();
        t.backs.clear();
        t.counting.clear();
        t.paused.clear();
        // Code pages stay write-protected: a write there still drops
        // nothing and gives the page back its protection.
        let new = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        // Lookup tables filled from a racing lookup take the entry out
        // again (`ibl_fill`).
        self.generation.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let threads = self.threads().clone();
        for &cpu in &threads {
            // SAFETY: registered states are live until unregistered, and
            // never unmapped (pooled) while the process runs.
            unsafe { CpuState::ibl_clear(cpu as *mut CpuState) };
        }
        fence(Ordering::SeqCst);
        for &cpu in &threads {
            // SAFETY: as above.
            let cpu = unsafe { &*(cpu as *const CpuState) };
            let mut last_kick: Option<crate::clock::Instant> = None;
            loop {
                let e = cpu.code_epoch.load(Ordering::SeqCst);
                if e == 0 || e >= new {
                    break;
                }
                if last_kick.is_none_or(|k| k.elapsed() >= KICK_EVERY) {
                    if let Some(kick) = self.kicker.get() {
                        kick(cpu.host_tid.load(Ordering::Relaxed));
                    }
                    last_kick = Some(crate::clock::Instant::now());
                }
                std::thread::yield_now();
            }
        }
        fence(Ordering::SeqCst);
        // SAFETY: every thread has left the old code (waited above) and
        // finds none of it any more (maps, lookup tables and jumps are
        // gone; the jumps were inside the old code).
        unsafe { self.cache.reset(&mut t.writer, self.mark) };
        self.reclaim_blocks_locked(t, &threads, new);
        self.stats.flushes.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("code cache flushed (epoch {new})");
    }

    /// Repairs the tables after the translation lock was taken over from a
    /// dead owner (a vfork or CLONE_VM child killed while it held it, see
    /// `robust.rs`): whatever it may have left half-changed (the block
    /// maps, page lists, incoming jumps, the lists of block records and of
    /// free code memory) is forgotten without being dropped (leaked), then
    /// the cache is flushed as when it is full, so no block, chained jump
    /// or lookup-table entry from before survives. The guest memory map
    /// and the write-protected pages (`mem`, `code`) are kept: the owner
    /// changes them only in a few instructions of a syscall or a fetch
    /// (README, "Compatibility").
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`), just taken over.
    pub(crate) fn recover_locked(&self, t: &mut Tables) {
        self.stats.lock_recoveries.fetch_add(1, Ordering::Relaxed);
        Self::leak_blocks_locked(t);
        std::mem::forget(std::mem::take(&mut t.rooms));
        t.stub_room = None;
        std::mem::forget(std::mem::take(&mut t.changes));
        // Every translation in flight starts over.
        t.changes_seq += crate::CHANGES_KEPT as u64 + 1;
        t.index.recover();
        self.flush_locked(t);
    }

    /// Forgets every block record and the tables that point to them (the
    /// page lists, the incoming jumps, the lists of live and limbo blocks)
    /// without freeing them: after a dead owner they cannot be trusted
    /// ([`Jit::recover_locked`]); at an exec in place they are heap a fork
    /// parent may share ([`Jit::reset_for_exec`]).
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`); a flush follows.
    pub(crate) fn leak_blocks_locked(t: &mut Tables) {
        std::mem::forget(std::mem::take(&mut t.pages));
        std::mem::forget(std::mem::take(&mut t.incoming));
        std::mem::forget(std::mem::take(&mut t.live));
        std::mem::forget(std::mem::take(&mut t.limbo));
    }

    /// Frees the block records forgotten by earlier flushes once every
    /// thread has announced, since the flush that forgot the last of them,
    /// that it holds none ([`Jit::quiescent`], [`Jit::idle`]); the blocks of
    /// this flush (which started epoch `new`) wait for the next one.
    /// Lock-free readers (`blockmap`, `lookup_or_translate`) only find
    /// blocks in the maps the flush cleared before bumping the epoch, and
    /// host fault handlers only look blocks up for a thread inside
    /// generated code, whose blocks are all of the current epoch.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`); `threads` are the registered
    /// states.
    fn reclaim_blocks_locked(&self, t: &mut Tables, threads: &[usize], new: u64) {
        let (mut old, since) = std::mem::take(&mut t.limbo);
        let quiet = threads.iter().all(|&cpu| {
            // SAFETY: registered states are live (see flush_locked).
            unsafe { &*(cpu as *const CpuState) }.quiet_epoch.load(Ordering::Acquire) >= since
        });
        if quiet {
            for b in old.drain(..) {
                // SAFETY: b came from Box::into_raw in `translate`, is in no
                // map, and no thread holds a reference (above).
                drop(unsafe { Box::from_raw(b) });
            }
        }
        old.append(&mut t.live);
        t.limbo = (old, new);
    }
}
