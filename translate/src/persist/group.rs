//! A program's start-up list: the blocks earlier processes of the same
//! program installed, per file, in the order they first needed them, so
//! that a later process installs each file's share in one go when code in
//! that file first runs (`Jit::install_group_locked`), instead of one block
//! per exit to the CPU loop: a warm start spent about a third of its time
//! on those exits and lookups (benches/docs/exec-startup.md, session 30).
//!
//! The list names blocks by file offset, so it holds for any load address;
//! the blocks themselves stay in the files' stores, which check them
//! (a list entry whose block is gone or stale is a miss).
//!
//! A list is made of segments: the first process's blocks are segment 0,
//! and each later process that needed blocks the list lacked adds its own
//! as a new segment. A process installs a file's first segment (0, or
//! that of the first run that used the file) when code in the file first
//! runs, and a later segment's blocks in a 64 KiB span of the file only
//! once it needs one of them there: what another script or command
//! line of the same program needed (`python3 script.py` after `python3 -c
//! pass`) is not installed by every run (with one union of all runs,
//! `python3 -c pass` after four other scripts took 1.35x the time).
//!
//! Format (little-endian): magic `TERNGRP1`, tag u64, section count u64;
//! per section: name length u64, the file's store name, entry count u64,
//! the entries (u64 each: the segment in the top 16 bits, the file offset
//! below); then an `FxHasher` checksum of all that. Anything malformed
//! reads as no list.

use rustc_hash::FxHasher;
use std::hash::Hasher;
use std::path::Path;

const MAGIC: &[u8; 8] = b"TERNGRP1";

/// Most blocks a list holds, all files together: a list grows with every
/// process that needed blocks it lacked, and past this a short run would
/// load more than it runs.
pub const MAX_BLOCKS: usize = 48_000;

/// Bits of an entry below its segment: file offsets are smaller.
const SEGMENT_SHIFT: u32 = 48;

/// The segment of a list entry.
pub fn segment(entry: u64) -> u16 {
    (entry >> SEGMENT_SHIFT) as u16
}

/// The file offset of a list entry.
pub fn offset(entry: u64) -> u64 {
    entry & ((1 << SEGMENT_SHIFT) - 1)
}

/// The start-up list of one program: per file (its store's name), block
/// entries (segment and file offset) in first-use order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Group {
    pub sections: Vec<(String, Vec<u64>)>,
}

impl Group {
    /// Blocks listed, all files together.
    pub fn len(&self) -> usize {
        self.sections.iter().map(|(_, o)| o.len()).sum()
    }

    /// True if no block is listed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries listed for the file whose store is `name` (see
    /// [`segment`] and [`offset`]).
    pub fn entries(&self, name: &str) -> &[u64] {
        self.sections.iter().find(|(n, _)| n == name).map_or(&[], |(_, o)| &o[..])
    }

    /// The segment the next process that adds blocks makes.
    pub fn next_segment(&self) -> u16 {
        let last = self.sections.iter().flat_map(|(_, e)| e.iter().map(|&e| segment(e))).max();
        last.map_or(0, |s| s.saturating_add(1))
    }

    /// Adds `offsets` of the file whose store is `name` that the list does
    /// not hold yet, after those it holds, as segment `seg`, while it has
    /// room ([`MAX_BLOCKS`]); the number added.
    pub fn extend(&mut self, name: &str, offsets: &[u64], seg: u16) -> usize {
        let room = MAX_BLOCKS.saturating_sub(self.len());
        let i = match self.sections.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                self.sections.push((name.to_string(), Vec::new()));
                self.sections.len() - 1
            }
        };
        let list = &mut self.sections[i].1;
        let mut seen: rustc_hash::FxHashSet<u64> = list.iter().map(|&e| offset(e)).collect();
        let before = list.len();
        for &o in offsets.iter().filter(|&&o| o == offset(o)) {
            if list.len() - before >= room {
                break;
            }
            if seen.insert(o) {
                list.push(u64::from(seg) << SEGMENT_SHIFT | o);
            }
        }
        list.len() - before
    }

    /// The list as file bytes.
    pub fn encode(&self, tag: u64) -> Vec<u8> {
        let mut w = Vec::with_capacity(32 + self.len() * 8);
        w.extend_from_slice(MAGIC);
        put(&mut w, tag);
        put(&mut w, self.sections.len() as u64);
        for (name, offsets) in &self.sections {
            put(&mut w, name.len() as u64);
            w.extend_from_slice(name.as_bytes());
            put(&mut w, offsets.len() as u64);
            for &o in offsets {
                put(&mut w, o);
            }
        }
        let sum = checksum(&w);
        put(&mut w, sum);
        w
    }

    /// The list `encode` gave for `tag`, or None for anything else (never
    /// panics).
    pub fn decode(b: &[u8], tag: u64) -> Option<Group> {
        let body = b.len().checked_sub(8).map(|n| &b[..n])?;
        if body.get(..8)? != MAGIC || checksum(body) != u64::from_le_bytes(b[body.len()..].try_into().ok()?) {
            return None;
        }
        let mut at = 8;
        let u64_at = |at: &mut usize| -> Option<u64> {
            let v = u64::from_le_bytes(body.get(*at..at.checked_add(8)?)?.try_into().ok()?);
            *at += 8;
            Some(v)
        };
        if u64_at(&mut at)? != tag {
            return None;
        }
        let n = usize::try_from(u64_at(&mut at)?).ok()?;
        let mut sections = Vec::new();
        for _ in 0..n {
            let len = usize::try_from(u64_at(&mut at)?).ok()?;
            let name = std::str::from_utf8(body.get(at..at.checked_add(len)?)?).ok()?.to_string();
            at += len;
            let count = usize::try_from(u64_at(&mut at)?).ok()?;
            if count > (body.len() - at) / 8 {
                return None;
            }
            let offsets = (0..count).map(|_| u64_at(&mut at)).collect::<Option<Vec<u64>>>()?;
            sections.push((name, offsets));
        }
        (at == body.len()).then_some(Group { sections })
    }

    /// The list in the file at `path`, if it is one written for `tag`.
    pub fn read(path: &Path, tag: u64) -> Option<Group> {
        Group::decode(&std::fs::read(path).ok()?, tag)
    }
}

fn put(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_le_bytes());
}

fn checksum(b: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(b);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Group {
        Group {
            sections: vec![
                ("libc.so.6-00.tbc".into(), vec![0x1000, 0x20, 0x3000]),
                ("a-01.tbc".into(), vec![]),
            ],
        }
    }

    #[test]
    fn round_trip() {
        let g = sample();
        assert_eq!(Group::decode(&g.encode(7), 7), Some(g.clone()));
        assert_eq!(Group::decode(&g.encode(7), 8), None, "another tern's list");
        assert_eq!(g.entries("libc.so.6-00.tbc"), &[0x1000, 0x20, 0x3000]);
        assert_eq!(g.entries("other"), &[] as &[u64]);
    }

    #[test]
    fn damaged_bytes_never_panic() {
        let b = sample().encode(7);
        for n in 0..b.len() {
            assert_eq!(Group::decode(&b[..n], 7), None, "truncated at {n}");
        }
        for i in 0..b.len() {
            let mut d = b.clone();
            d[i] ^= 0x40;
            assert_eq!(Group::decode(&d, 7), None, "bit flipped at {i}");
        }
    }

    #[test]
    fn extend_appends_new_offsets_in_order_up_to_the_limit() {
        let mut g = sample();
        assert_eq!(g.next_segment(), 1);
        assert_eq!(g.extend("libc.so.6-00.tbc", &[0x20, 0x5000, 0x4000, 0x5000], 1), 2);
        let libc: Vec<(u16, u64)> =
            g.entries("libc.so.6-00.tbc").iter().map(|&e| (segment(e), offset(e))).collect();
        assert_eq!(libc, [(0, 0x1000), (0, 0x20), (0, 0x3000), (1, 0x5000), (1, 0x4000)]);
        assert_eq!(g.next_segment(), 2);
        assert_eq!(Group::decode(&g.encode(7), 7).as_ref(), Some(&g), "segments kept");
        assert_eq!(
            g.extend("new-02.tbc", &[1, 2, 1 << 50], 2),
            2,
            "an offset that would not fit is left out"
        );
        assert_eq!(g.len(), 7);
        let many: Vec<u64> = (0..MAX_BLOCKS as u64 * 2).collect();
        assert_eq!(g.extend("big-03.tbc", &many, 3), MAX_BLOCKS - 7);
        assert_eq!(g.len(), MAX_BLOCKS);
        assert_eq!(g.extend("libc.so.6-00.tbc", &[0x9000], 4), 0, "full");
        assert_eq!(Group::default().next_segment(), 0);
    }
}
