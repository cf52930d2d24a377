//! The guest-pc -> block index that every guest thread reads without a lock.
//!
//! An open-addressing table of block pointers (linear probing, the key is
//! the block's own `guest_start`). Each slot's pointer carries a 16-bit tag
//! of its key's hash in the bits above user-space addresses, so a probe
//! past another key's slot reads only the table, not that key's block (a
//! miss at three-quarters load probes several slots, and each block read
//! was a cache miss of its own: the block map's misses were the largest
//! share of installing a process's stored blocks). Readers ([`BlockMap::get`]) load the
//! table pointer and probe with atomic loads: no lock, no allocation, no
//! retry loop. Writers go through the one [`BlockMapWriter`], which `Jit`
//! keeps inside its translation lock (as the code cache's `CodeWriter`), so
//! there is a single writer at any time.
//!
//! What a reader may see while a writer works: a miss for a block that
//! exists (an insertion not yet visible, or a slot emptied while the table
//! is compacted in place); never a block the writer had already removed
//! before the reader started. A miss costs only a trip through the
//! translation lock, where the map is asked again: whoever holds the lock
//! sees it exact, since its one writer (behind the same lock) finishes
//! each change before letting go. It is the only guest pc -> block map.
//! A table that
//! outgrows itself is replaced by a larger one and kept (never freed: a
//! reader may still be probing it) with its slots emptied; sizes double, so
//! the retired tables together are smaller than the live one.
//!
//! Blocks are freed only by the code-cache flush, after every thread has
//! announced that it holds none (`flush.rs`), so a pointer read from a slot
//! is safe to dereference until the reader's next quiescent point.

use crate::cache::Block;
use std::sync::atomic::{AtomicPtr, Ordering};

/// A removed entry: probing goes on past it.
const TOMB: *mut Block = std::ptr::dangling_mut();
/// Initial number of slots.
const MIN_SLOTS: usize = 1 << 12;

struct Table {
    mask: usize,
    slots: &'static [AtomicPtr<Block>],
}

impl Table {
    fn new(n: usize) -> Box<Table> {
        let slots = crate::hostmem::zeroed_static(n);
        Box::new(Table { mask: n - 1, slots })
    }
}

fn hash(pc: u64) -> usize {
    // Fibonacci hashing; the table index takes the high bits.
    (pc.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize
}

/// Where a slot's tag starts: user-space addresses (where `Box` puts
/// blocks) lie below 2^47, so the bits from 48 up are free.
const TAG_SHIFT: u32 = 48;

/// The tag bits of `pc`'s slots: another hash than [`hash`]'s, so that keys
/// sharing a probe run seldom share a tag.
fn tag(pc: u64) -> usize {
    ((pc.wrapping_mul(0xff51_afd7_ed55_8ccd) >> TAG_SHIFT) as usize) << TAG_SHIFT
}

/// `block`'s slot value: its address with its key's tag.
fn tagged(block: &'static Block) -> *mut Block {
    let p = block as *const Block as *mut Block;
    debug_assert!((p as usize) >> TAG_SHIFT == 0, "block above user space");
    p.map_addr(|a| a | tag(block.guest_start))
}

/// The block a slot value names, if its tag is `want` (a slot that is not
/// empty or a tombstone).
fn untag(p: *mut Block, want: usize) -> Option<*mut Block> {
    let addr = p.addr();
    (addr & !((1 << TAG_SHIFT) - 1) == want).then(|| p.map_addr(|a| a & ((1 << TAG_SHIFT) - 1)))
}

/// The lock-free index (see the module docs).
pub struct BlockMap {
    table: AtomicPtr<Table>,
}

/// The only write access to one [`BlockMap`]: whoever holds it is the
/// single writer (`Jit` keeps it behind its translation lock).
pub struct BlockMapWriter {
    map: *const BlockMap,
    /// Live entries.
    live: usize,
    /// Live entries plus tombstones.
    used: usize,
    /// Tables replaced by larger ones (readers may still probe them, so
    /// each stays where it is: boxed).
    #[allow(clippy::vec_box)]
    retired: Vec<Box<Table>>,
}

// SAFETY: the writer's pointer names a BlockMap that lives as long as the
// Jit owning both; it is only used by whoever holds the writer.
unsafe impl Send for BlockMapWriter {}

impl BlockMap {
    /// A new empty map and its only writer. The map must not move after
    /// this (the `Jit` keeps it in a `Box`).
    pub fn new() -> (Box<BlockMap>, BlockMapWriter) {
        let map = Box::new(BlockMap { table: AtomicPtr::new(Box::into_raw(Table::new(MIN_SLOTS))) });
        let w = BlockMapWriter { map: &*map, live: 0, used: 0, retired: Vec::new() };
        (map, w)
    }

    fn table(&self) -> &Table {
        // SAFETY: the pointer always names a live table: tables are
        // replaced, never freed, while the map exists.
        unsafe { &*self.table.load(Ordering::Acquire) }
    }

    /// The block translated for guest `pc`, if the map holds one. Lock-free.
    pub fn get(&self, pc: u64) -> Option<&'static Block> {
        let t = self.table();
        let want = tag(pc);
        let mut i = hash(pc) & t.mask;
        for _ in 0..=t.mask {
            let p = t.slots[i].load(Ordering::Acquire);
            if p.is_null() {
                return None;
            }
            if p != TOMB {
                if let Some(b) = untag(p, want) {
                    // SAFETY: a slot that is not empty or a tombstone holds
                    // a leaked Block (tagged), and blocks are never freed.
                    let b = unsafe { &*b };
                    if b.guest_start == pc {
                        return Some(b);
                    }
                }
            }
            i = (i + 1) & t.mask;
        }
        None
    }
}

impl Drop for BlockMap {
    fn drop(&mut self) {
        // SAFETY: the current table came from Box::into_raw and no reader
        // can exist once the map is being dropped.
        drop(unsafe { Box::from_raw(self.table.load(Ordering::Acquire)) });
    }
}

impl BlockMapWriter {
    /// The map (not borrowed from `self`, so counters can change while a
    /// table is in use).
    fn map<'a>(&self) -> &'a BlockMap {
        // SAFETY: see the `Send` impl: the map outlives its writer, and
        // the callers use the reference only while `self` is borrowed.
        unsafe { &*self.map }
    }

    /// Publishes `block` (a block with that `guest_start` must not be in
    /// the map already).
    pub fn insert(&mut self, block: &'static Block) {
        if (self.used + 1) * 4 > self.map().table().slots.len() * 3 {
            self.rebuild();
        }
        let t = self.map().table();
        let mut i = hash(block.guest_start) & t.mask;
        loop {
            let p = t.slots[i].load(Ordering::Relaxed);
            if p.is_null() || p == TOMB {
                if p.is_null() {
                    self.used += 1;
                }
                t.slots[i].store(tagged(block), Ordering::Release);
                self.live += 1;
                return;
            }
            i = (i + 1) & t.mask;
        }
    }

    /// Removes the block for `pc`; readers that start after this returns
    /// no longer find it.
    pub fn remove(&mut self, pc: u64) {
        let t = self.map().table();
        let want = tag(pc);
        let mut i = hash(pc) & t.mask;
        for _ in 0..=t.mask {
            let p = t.slots[i].load(Ordering::Relaxed);
            if p.is_null() {
                return;
            }
            // SAFETY: a slot that is not empty or a tombstone holds a
            // leaked Block (tagged).
            if p != TOMB && untag(p, want).is_some_and(|b| unsafe { (*b).guest_start } == pc) {
                t.slots[i].store(TOMB, Ordering::Release);
                self.live -= 1;
                return;
            }
            i = (i + 1) & t.mask;
        }
    }

    /// Removes every block (the code-cache flush); readers that start
    /// after this returns find none of them.
    pub fn clear(&mut self) {
        let t = self.map().table();
        t.slots.iter().for_each(|s| s.store(std::ptr::null_mut(), Ordering::Release));
        self.live = 0;
        self.used = 0;
    }

    /// Empties the map for an `execve` this process runs itself by giving
    /// it a new table: the old one and those retired are left as they are
    /// (leaked), since in a fork child they are memory shared copy-on-write
    /// with the parent, which clearing would copy page by page.
    pub fn replace_for_exec(&mut self) {
        std::mem::forget(std::mem::take(&mut self.retired));
        let new = Box::into_raw(Table::new(MIN_SLOTS));
        self.map().table.store(new, Ordering::Release);
        self.live = 0;
        self.used = 0;
    }

    /// [`BlockMapWriter::clear`] after a writer died in the middle of a
    /// change (`Jit::recover_locked`): the list of retired tables, which
    /// it may have been extending, is forgotten (leaked) rather than
    /// trusted.
    pub fn recover(&mut self) {
        std::mem::forget(std::mem::take(&mut self.retired));
        self.clear();
    }

    /// Makes room: a table twice as large when live entries fill half of
    /// it, else the same table cleared of tombstones in place (readers
    /// meanwhile miss, which is harmless).
    fn rebuild(&mut self) {
        self.rebuild_with(0);
    }

    /// Makes room for `more` blocks to be inserted without a rebuild on
    /// the way (at most one now): a start-up image installs thousands at
    /// once, and each doubling on the way inserted every block again,
    /// reading each one (a cache miss apiece).
    pub fn reserve(&mut self, more: usize) {
        if (self.used + more + 1) * 4 > self.map().table().slots.len() * 3 {
            self.rebuild_with(more);
        }
    }

    /// [`BlockMapWriter::rebuild`], with room for `more` blocks beyond
    /// those live.
    fn rebuild_with(&mut self, more: usize) {
        let old = self.map().table();
        let live: Vec<*mut Block> = old
            .slots
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .filter(|&p| !p.is_null() && p != TOMB)
            .collect();
        let n = old.slots.len();
        let mut target = if (live.len() + 1) * 2 > n { n * 2 } else { n };
        while (live.len() + more + 1) * 4 > target * 3 {
            target *= 2;
        }
        if target != n {
            let new = Box::into_raw(Table::new(target));
            self.map().table.store(new, Ordering::Release);
            // Readers still on the old table now miss instead of finding
            // an entry a later removal would leave there.
            old.slots.iter().for_each(|s| s.store(std::ptr::null_mut(), Ordering::Release));
            // SAFETY: `old` came from Box::into_raw (in `new` or here) and
            // is kept alive in `retired`, never freed while the map lives.
            self.retired.push(unsafe { Box::from_raw(old as *const Table as *mut Table) });
        } else {
            old.slots.iter().for_each(|s| s.store(std::ptr::null_mut(), Ordering::Release));
        }
        self.live = 0;
        self.used = 0;
        for p in live {
            let b = p.map_addr(|a| a & ((1 << TAG_SHIFT) - 1));
            // SAFETY: p was a live slot: a leaked Block, tagged.
            self.insert(unsafe { &*b });
        }
    }
}

impl Drop for BlockMapWriter {
    fn drop(&mut self) {
        // Retired tables are freed with the writer, i.e. with the Jit; a
        // Jit is only dropped when no thread runs its code.
        self.retired.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(pc: u64) -> &'static Block {
        Box::leak(Box::new(Block {
            id: 0,
            guest_start: pc,
            guest_end: pc + 1,
            host_start: pc,
            host_len: 1,
            ibl_entry: pc,
            entry: pc,
            pcmap: Default::default(),
            transient: false,
        }))
    }

    #[test]
    fn reserved_room_takes_inserts_without_another_rebuild() {
        let (map, mut w) = BlockMap::new();
        let blocks: Vec<_> = (0..30_000u64).map(|i| block(0x40_0000 + i * 5)).collect();
        w.insert(blocks[0]);
        w.reserve(blocks.len());
        let (slots, retired) = (map.table().slots.len(), w.retired.len());
        for b in &blocks[1..] {
            w.insert(b);
        }
        assert_eq!((map.table().slots.len(), w.retired.len()), (slots, retired));
        assert!(blocks.iter().all(|b| map.get(b.guest_start).is_some()));
    }

    #[test]
    fn insert_remove_grow() {
        let (map, mut w) = BlockMap::new();
        let blocks: Vec<_> = (0..20_000u64).map(|i| block(0x40_0000 + i * 7)).collect();
        for b in &blocks {
            w.insert(b);
        }
        for b in &blocks {
            assert_eq!(map.get(b.guest_start).map(|x| x.guest_start), Some(b.guest_start));
        }
        for b in blocks.iter().step_by(2) {
            w.remove(b.guest_start);
        }
        for (i, b) in blocks.iter().enumerate() {
            assert_eq!(map.get(b.guest_start).is_some(), i % 2 == 1);
        }
        // Churn: tombstones are recycled without unbounded growth.
        let len = map.table().slots.len();
        for round in 0..20u64 {
            let bs: Vec<_> = (0..5_000u64).map(|i| block(0x900_0000 + round * 100_000 + i)).collect();
            bs.iter().for_each(|b| w.insert(b));
            bs.iter().for_each(|b| w.remove(b.guest_start));
        }
        assert_eq!(map.table().slots.len(), len);
        assert!(map.get(0x900_0000).is_none());
        assert!(map.get(blocks[1].guest_start).is_some());
    }
}
