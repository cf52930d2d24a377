//! Guest page protections, as tern has seen the guest set them, and the
//! write-protection of pages that hold translated code.
//!
//! Self-modifying code: when code on a guest-writable page is translated, the
//! page is made read-only on the host. A guest write to it faults; the CPU
//! loop then drops the page's blocks, gives the page back its protection, runs
//! the writing instruction alone, and carries on (`Jit::handle_code_write`).
//! Before a syscall makes the kernel write such a page, the syscall layer
//! releases it (`Jit::release_code_pages`).
//!
//! Also the registry of memory tern maps for itself at run time (CpuStates,
//! signal stacks, code-cache tables), which guest calls must not reach.

use rustc_hash::FxHashMap as HashMap;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const PAGE: u64 = 4096;

/// Set in a recorded protection (never passed to the kernel) when the
/// mapping is shared (`MAP_SHARED`, System V shared memory): another
/// mapping of the same memory, in this process or another, may write it
/// without touching this one, as JITs that keep a writable and an
/// executable view of their code do (.NET, SpiderMonkey). Write-protecting
/// this view cannot see those writes, so code translated from such a page
/// checks itself instead (`IrBlock::check`).
pub const SHARED_MAPPING: i32 = 1 << 30;

/// Interval map of guest mappings: start -> (end, prot).
#[derive(Default, Debug)]
pub struct GuestMemMap {
    map: BTreeMap<u64, (u64, i32)>,
    /// The mapping [`GuestMemMap::prot_at`] found last, as (start, end,
    /// prot); empty after any change. Installing a block asks about the
    /// same mapping five or six times (its page, the next, the code-page
    /// protection), a tree search each: 2-3% of a process's start.
    last: Cell<(u64, u64, i32)>,
}

impl GuestMemMap {
    /// Forgets `[start, end)`, splitting ranges that straddle its bounds.
    pub fn remove(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        self.last.take();
        let overlapping: Vec<(u64, u64, i32)> = self
            .map
            .range(..end)
            .rev()
            .take_while(|(_, &(e, _))| e > start)
            .map(|(&s, &(e, p))| (s, e, p))
            .collect();
        for (s, e, p) in overlapping {
            if e <= start {
                continue;
            }
            self.map.remove(&s);
            if s < start {
                self.map.insert(s, (start, p));
            }
            if e > end {
                self.map.insert(end, (e, p));
            }
        }
    }

    /// Records `[start, end)` as mapped with `prot`.
    pub fn set(&mut self, start: u64, end: u64, prot: i32) {
        self.remove(start, end);
        if start < end {
            self.map.insert(start, (end, prot));
        }
    }

    /// Changes the protection of the mapped parts of `[start, end)` (a
    /// shared mapping stays one: [`SHARED_MAPPING`]).
    pub fn protect(&mut self, start: u64, end: u64, prot: i32) {
        let parts: Vec<(u64, u64, i32)> = self
            .map
            .range(..end)
            .filter(|(_, &(e, _))| e > start)
            .map(|(&s, &(e, p))| (s.max(start), e.min(end), p & SHARED_MAPPING))
            .collect();
        for (s, e, shared) in parts {
            self.set(s, e, prot | shared);
        }
    }

    /// Every recorded guest mapping, as (start, end).
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        self.map.iter().map(|(&s, &(e, _))| (s, e)).collect()
    }

    /// Every recorded guest mapping, as (start, end, protection).
    pub fn mappings(&self) -> Vec<(u64, u64, i32)> {
        self.map.iter().map(|(&s, &(e, p))| (s, e, p)).collect()
    }

    /// Bytes of `[start, end)` that are mapped, and how many of those are
    /// writable.
    pub fn bytes_in(&self, start: u64, end: u64) -> (u64, u64) {
        let mut total = (0, 0);
        for (&s, &(e, prot)) in self.map.range(..end).rev().take_while(|(_, &(e, _))| e > start) {
            let len = e.min(end) - s.max(start);
            total.0 += len;
            if prot & libc::PROT_WRITE != 0 {
                total.1 += len;
            }
        }
        total
    }

    /// True if any mapped part of `[start, end)` is executable.
    pub fn exec_in(&self, start: u64, end: u64) -> bool {
        self.map
            .range(..end)
            .rev()
            .take_while(|(_, &(e, _))| e > start)
            .any(|(_, &(_, prot))| prot & libc::PROT_EXEC != 0)
    }

    /// Protection of the page holding `addr`, if tern knows it.
    pub fn prot_at(&self, addr: u64) -> Option<i32> {
        let (start, end, prot) = self.last.get();
        if (start..end).contains(&addr) {
            return Some(prot);
        }
        let (&start, &(end, prot)) = self.map.range(..=addr).next_back()?;
        (addr < end).then(|| {
            self.last.set((start, end, prot));
            prot
        })
    }
}

/// Pages write-protected because they hold translated code: page -> the
/// guest's protection to restore.
#[derive(Default, Debug)]
pub struct CodePages {
    pub protected: HashMap<u64, i32>,
    /// Writes that hit a protected page and dropped its code, per page.
    pub write_faults: HashMap<u64, u32>,
    /// Pages written [`VOLATILE_AFTER`] times: never protected again; the
    /// blocks translated from them check their guest bytes instead
    /// (`IrBlock::check`).
    pub volatile: std::collections::HashSet<u64>,
}

/// Write faults on a page holding code after which its code checks itself
/// instead of being write-protected: data and code that share a page (a
/// GCC nested function's trampoline on an executable stack, a JIT that
/// patches inline caches next to its code) took a fault, a retranslation
/// and two `mprotect`s at every turn.
pub const VOLATILE_AFTER: u32 = 8;

impl CodePages {
    /// Forgets the write-fault history of `[start, end)`, mapped anew or
    /// unmapped: a new mapping there (a thread's stack where an ended
    /// one's trampolines were) starts write-protected again.
    pub fn forget(&mut self, start: u64, end: u64) {
        if !self.write_faults.is_empty() {
            self.write_faults.retain(|&p, _| !(start..end).contains(&p));
            self.volatile.retain(|&p| !(start..end).contains(&p));
        }
    }
}

/// Host `mprotect` of one page. Crate-private: `Jit` never passes a page of
/// the code cache (`Jit::protect_code_page_locked`).
pub(crate) fn host_mprotect(page: u64, prot: i32) -> bool {
    // SAFETY: changes only the protection of a guest page (never tern's own:
    // callers pass pages that hold guest code).
    unsafe { libc::mprotect(page as *mut libc::c_void, PAGE as usize, prot) == 0 }
}

impl crate::Jit {
    /// True if some page is write-protected because it holds code.
    pub fn has_protected_code_pages(&self) -> bool {
        !self.tables().code.protected.is_empty()
    }

    /// Before the kernel writes guest memory `[start, end)`: gives the pages
    /// in it that tern write-protected their protection back, dropping their
    /// code. Returns true if any code was dropped.
    pub fn release_code_pages(&self, start: u64, end: u64) -> bool {
        let first = start & !(PAGE - 1);
        let pages: Vec<u64> =
            self.tables().code.protected.keys().filter(|&&p| p >= first && p < end).copied().collect();
        let mut dropped = false;
        for page in pages {
            dropped |= self.invalidate_range(page, page + PAGE);
        }
        dropped
    }
}

/// Memory tern maps for itself after startup (`hostmem::map_anon`).
static TERN_MEMORY: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());
/// Bumped whenever `TERN_MEMORY` changes.
static TERN_MEMORY_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Records `[start, end)` as tern's own memory (once).
pub fn note_tern_memory(start: u64, end: u64) {
    let mut m = TERN_MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    if !m.contains(&(start, end)) {
        m.push((start, end));
        TERN_MEMORY_GENERATION.fetch_add(1, Ordering::Release);
    }
}

/// Forgets whatever the registry holds in `[start, end)`: the kernel has
/// just given that range to a new guest mapping, so no memory of tern's is
/// there any more. Ranges tern unmaps without saying so end here: glibc
/// unmaps the stacks of ended host threads beyond its stack cache, and
/// the kernel hands their addresses to the guest's next `mmap`s (with a
/// thousand threads ended, `dlopen`'s `MAP_FIXED` inside its own mapping
/// was refused as touching tern's memory).
pub fn forget_tern_memory(start: u64, end: u64) {
    let mut m = TERN_MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    if !m.iter().any(|&(s, e)| s < end && start < e) {
        return;
    }
    let old = std::mem::take(&mut *m);
    for (s, e) in old {
        if e <= start || end <= s {
            m.push((s, e));
            continue;
        }
        if s < start {
            m.push((s, start));
        }
        if end < e {
            m.push((end, e));
        }
    }
    TERN_MEMORY_GENERATION.fetch_add(1, Ordering::Release);
}

/// The ranges recorded by [`note_tern_memory`].
pub fn tern_memory() -> Vec<(u64, u64)> {
    TERN_MEMORY.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// True if `[start, end)` overlaps a range recorded by
/// [`note_tern_memory`] (without copying the registry: signal frames ask).
pub fn overlaps_tern_memory(start: u64, end: u64) -> bool {
    TERN_MEMORY.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|&(s, e)| start < e && s < end)
}

/// Holds the registry of tern's memory locked (across a host `fork`).
pub fn lock_tern_memory() -> std::sync::MutexGuard<'static, Vec<(u64, u64)>> {
    TERN_MEMORY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Changes whenever [`tern_memory`] does.
pub fn tern_memory_generation() -> u64 {
    TERN_MEMORY_GENERATION.load(Ordering::Acquire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remapped_pages_lose_their_write_fault_history() {
        let mut c = CodePages::default();
        for p in [0x1000, 0x2000, 0x9000] {
            c.write_faults.insert(p, VOLATILE_AFTER);
            c.volatile.insert(p);
        }
        c.forget(0x2000, 0x9000);
        assert!(c.volatile.contains(&0x1000) && c.volatile.contains(&0x9000));
        assert!(!c.volatile.contains(&0x2000) && !c.write_faults.contains_key(&0x2000));
    }

    #[test]
    fn set_split_protect() {
        let mut m = GuestMemMap::default();
        m.set(0x1000, 0x5000, 3);
        m.remove(0x2000, 0x3000);
        assert_eq!(m.prot_at(0x1000), Some(3));
        assert_eq!(m.prot_at(0x2000), None);
        assert_eq!(m.prot_at(0x4fff), Some(3));
        assert_eq!(m.prot_at(0x5000), None);
        m.protect(0x0, 0x10000, 1);
        assert_eq!(m.prot_at(0x1000), Some(1));
        assert_eq!(m.prot_at(0x3000), Some(1));
        assert_eq!(m.prot_at(0x2000), None);
        m.set(0x1800, 0x3800, 7);
        assert_eq!(m.prot_at(0x1000), Some(1));
        assert_eq!(m.prot_at(0x2000), Some(7));
        assert_eq!(m.prot_at(0x3900), Some(1));
    }

    #[test]
    fn remembered_mapping_follows_changes() {
        let mut m = GuestMemMap::default();
        m.set(0x1000, 0x9000, 5);
        assert_eq!(m.prot_at(0x4000), Some(5));
        // Asked again from the remembered mapping, then changed under it.
        assert_eq!(m.prot_at(0x4000), Some(5));
        m.protect(0x4000, 0x5000, 1);
        assert_eq!(m.prot_at(0x4000), Some(1));
        assert_eq!(m.prot_at(0x3000), Some(5));
        m.remove(0x2000, 0x4000);
        assert_eq!(m.prot_at(0x3000), None);
        m.set(0x3000, 0x4000, 3);
        assert_eq!(m.prot_at(0x3000), Some(3));
        assert_eq!(m.prot_at(0x8fff), Some(5));
        assert_eq!(m.prot_at(0x9000), None);
    }
}
