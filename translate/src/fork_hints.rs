//! Blocks fork children needed that their parent had not translated: a
//! child records their guest pcs in memory it shares with its parent, and
//! the parent loads those blocks from the persistent cache before its next
//! fork ([`crate::Jit::prefetch_fork_hints`]), so that later children find
//! them in the code they share with it instead of each loading them again.
//!
//! A child's own path after `fork` (glibc's child side of `fork`, the
//! program's `if (pid == 0)` branch, its `exit`) is code its parent never
//! runs, so every child of a fork loop loaded it anew, and a load in a
//! child is dear: it writes the block map, the lookup table and malloc's
//! heap, pages shared copy-on-write with the parent (a child that printed
//! a line cost 4.1 ms per fork + exit + wait under tern against 1.5 ms for
//! one that only exited).
//!
//! Only blocks from file-backed code are recorded (those the persistent
//! cache may hold), and the parent only loads what the cache holds (with
//! what children wrote at their end once the parent looks at the cache's
//! files again, `Persist::refresh`) and what lies in its own read-only
//! executable memory: a hint never makes it translate anything, nor
//! write-protect a page it may write.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

/// Hints a page holds: a count, then pcs (32 KiB in all).
const CAP: usize = 4095;

#[repr(C)]
struct Hints {
    /// Pcs recorded since the parent last read them (may exceed [`CAP`]:
    /// those past it are dropped).
    count: AtomicU64,
    pcs: [AtomicU64; CAP],
}

/// The shared page, made at a process's first fork.
static HINTS: AtomicPtr<Hints> = AtomicPtr::new(std::ptr::null_mut());

/// True in a fork child: the blocks it installs are hints.
static RECORDING: AtomicBool = AtomicBool::new(false);

/// The pcs recorded since the last call, each once (the parent, before a
/// fork). Makes the shared page at the first call.
pub(crate) fn take() -> Vec<u64> {
    let mut h = HINTS.load(Ordering::Acquire);
    if h.is_null() {
        let flags = libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        let Ok(p) =
            crate::hostmem::map_tern(std::mem::size_of::<Hints>(), libc::PROT_READ | libc::PROT_WRITE, flags)
        else {
            return Vec::new();
        };
        h = p as *mut Hints;
        HINTS.store(h, Ordering::Release);
        return Vec::new();
    }
    // SAFETY: a live shared mapping of a `Hints` (zero bytes are valid
    // atomics), never unmapped.
    let h = unsafe { &*h };
    let n = (h.count.swap(0, Ordering::AcqRel) as usize).min(CAP);
    let mut pcs: Vec<u64> =
        h.pcs[..n].iter().map(|p| p.load(Ordering::Relaxed)).filter(|&p| p != 0).collect();
    pcs.sort_unstable();
    pcs.dedup();
    pcs
}

/// A fork child from now on records the blocks it installs.
pub(crate) fn start_recording() {
    RECORDING.store(true, Ordering::Relaxed);
}

/// At an `execve` this process runs itself: the new program's blocks are
/// no hints for the parent, and the page shared with it is left (the new
/// program makes its own at its first fork).
pub(crate) fn forget() {
    RECORDING.store(false, Ordering::Relaxed);
    let h = HINTS.swap(std::ptr::null_mut(), Ordering::AcqRel);
    if !h.is_null() {
        // SAFETY: the process's only guest thread is exec'ing, so nothing
        // else uses the page, which `take` mapped with this size.
        unsafe { libc::munmap(h.cast(), std::mem::size_of::<Hints>()) };
    }
}

/// Records that this process installed the block at `pc` (file-backed
/// code), if it is a fork child.
pub(crate) fn record(pc: u64) {
    if !RECORDING.load(Ordering::Relaxed) {
        return;
    }
    let h = HINTS.load(Ordering::Acquire);
    if h.is_null() {
        return;
    }
    // SAFETY: as in `take`: the mapping is live and shared.
    let h = unsafe { &*h };
    let i = h.count.fetch_add(1, Ordering::AcqRel) as usize;
    if let Some(slot) = h.pcs.get(i) {
        slot.store(pc, Ordering::Relaxed);
    }
}
