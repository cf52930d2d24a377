//! Guest page protections, as tern has seen the guest set them, and the
//! write-protection of pages that hold translated code.
//!
//! Self-modifying code: when code on a guest-writable page is translated, the
//! page is made read-only on the host. A guest write to it faults; the CPU
//! loop then drops the page's blocks, gives the page back its protection, runs
//! the writing instruction alone, and carries on (`Jit::handle_code_write`).

use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

const PAGE: u64 = 4096;

/// Interval map of guest mappings: start -> (end, prot).
#[derive(Default, Debug)]
pub struct GuestMemMap {
    map: BTreeMap<u64, (u64, i32)>,
}

impl GuestMemMap {
    /// Forgets `[start, end)`, splitting ranges that straddle its bounds.
    pub fn remove(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
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

    /// Changes the protection of the mapped parts of `[start, end)`.
    pub fn protect(&mut self, start: u64, end: u64, prot: i32) {
        let parts: Vec<(u64, u64)> = self
            .map
            .range(..end)
            .filter(|(_, &(e, _))| e > start)
            .map(|(&s, &(e, _))| (s.max(start), e.min(end)))
            .collect();
        for (s, e) in parts {
            self.set(s, e, prot);
        }
    }

    /// Protection of the page holding `addr`, if tern knows it.
    pub fn prot_at(&self, addr: u64) -> Option<i32> {
        let (_, &(end, prot)) = self.map.range(..=addr).next_back()?;
        (addr < end).then_some(prot)
    }
}

/// Pages write-protected because they hold translated code: page -> the
/// guest's protection to restore.
#[derive(Default, Debug)]
pub struct CodePages {
    pub protected: HashMap<u64, i32>,
}

/// Host `mprotect` of one page. Crate-private: `Jit` never passes a page of
/// the code cache (`Jit::protect_code_page_locked`).
pub(crate) fn host_mprotect(page: u64, prot: i32) -> bool {
    // SAFETY: changes only the protection of a guest page (never tern's own:
    // callers pass pages that hold guest code).
    unsafe { libc::mprotect(page as *mut libc::c_void, PAGE as usize, prot) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
