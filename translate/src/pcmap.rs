//! A block's pc map as installed blocks keep it: the entries
//! (`cache::PcEntry`, 8 bytes each in the emitter's vector) packed into a
//! byte string of about 3 bytes each, read only when a fault or a signal
//! stops a thread in the block, by a linear scan that allocates nothing
//! (async-signal-safe).
//!
//! The entries are the bulk of a block record on tern's heap (about 18 a
//! block: 2.8 MB of python3's start-up, whose heap pages each process
//! faults in); a scan of a few dozen entries costs nothing next to the
//! signal delivery that asks.
//!
//! Each entry is a head byte, then the growth of `host_off` over the
//! entry before (LEB128), then, unless the head says the guest offset is
//! `AT_TARGET` or `MID_BRANCH`, its change from the last plain guest offset
//! (zigzag LEB128), then the fixup bytes and `rsp_adj` the head says are
//! there.

use crate::cache::{PcEntry, AT_TARGET, MID_BRANCH};

/// Head bits: fixup byte 0 present, fixup byte 1 present, `rsp_adj`
/// present; the guest offset's kind in bits 3-4.
const FIX0: u8 = 1;
const FIX1: u8 = 2;
const RSP: u8 = 4;
const KIND_SHIFT: u8 = 3;
const KIND_DELTA: u8 = 0;
const KIND_AT_TARGET: u8 = 1;
const KIND_MID_BRANCH: u8 = 2;

/// A packed pc map (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackedPcMap(Box<[u8]>);

impl PackedPcMap {
    /// Packs `entries` (sorted by `host_off`, as the emitter makes them).
    pub fn pack(entries: &[PcEntry]) -> PackedPcMap {
        // Built on the stack (a block's map rarely passes 100 entries),
        // then copied into an allocation of the exact size.
        let mut out: smallvec::SmallVec<[u8; 512]> = smallvec::SmallVec::new();
        let (mut host, mut guest) = (0u16, 0u16);
        for e in entries {
            let [h0, h1, g0, g1, f0, f1, rsp] = e.to_bytes();
            let (h, g) = (u16::from_le_bytes([h0, h1]), u16::from_le_bytes([g0, g1]));
            let kind = match g {
                AT_TARGET => KIND_AT_TARGET,
                MID_BRANCH => KIND_MID_BRANCH,
                _ => KIND_DELTA,
            };
            let mut head = kind << KIND_SHIFT;
            if f0 != 0xff {
                head |= FIX0;
            }
            if f1 != 0xff {
                head |= FIX1;
            }
            if rsp != 0 {
                head |= RSP;
            }
            out.push(head);
            put_leb(&mut out, u32::from(h.wrapping_sub(host)));
            host = h;
            if kind == KIND_DELTA {
                let d = i32::from(g) - i32::from(guest);
                put_leb(&mut out, ((d << 1) ^ (d >> 31)) as u32);
                guest = g;
            }
            if f0 != 0xff {
                out.push(f0);
            }
            if f1 != 0xff {
                out.push(f1);
            }
            if rsp != 0 {
                out.push(rsp);
            }
        }
        PackedPcMap(Box::from(&out[..]))
    }

    /// The packed bytes (the persistent cache's records keep them).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The map whose packed bytes are `b` (a persistent-cache record's),
    /// taken as they are: the record's checksum vouches for them as for
    /// the code they describe, and the entries are not decoded to check
    /// them (they were a twentieth of loading a block). Damaged bytes
    /// cannot make a scan read out of bounds or panic: the scan stops at
    /// the first entry it cannot decode, and an entry past the block's
    /// code covers no offset in it.
    pub fn from_bytes(b: &[u8]) -> PackedPcMap {
        PackedPcMap(Box::from(b))
    }

    /// The entries, in order.
    pub fn entries(&self) -> Entries<'_> {
        Entries { b: &self.0, at: 0, host: 0, guest: 0 }
    }

    /// The last entry whose `host_off` is at most `off`: the one covering
    /// host offset `off` of the block.
    pub fn entry_at(&self, off: u16) -> Option<PcEntry> {
        self.entries().take_while(|e| e.host_off <= off).last()
    }

    /// Bytes the packed map takes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for a map of no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Iterator over a packed map's entries ([`PackedPcMap::entries`]).
pub struct Entries<'a> {
    b: &'a [u8],
    at: usize,
    host: u16,
    guest: u16,
}

impl Entries<'_> {
    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.at)?;
        self.at += 1;
        Some(v)
    }

    fn leb(&mut self) -> Option<u32> {
        let mut v = 0u32;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            v |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
}

impl Iterator for Entries<'_> {
    type Item = PcEntry;

    fn next(&mut self) -> Option<PcEntry> {
        if self.at >= self.b.len() {
            return None;
        }
        let e = self.decode();
        if e.is_none() {
            // Cut short (damaged bytes): no further entries.
            self.at = usize::MAX;
        }
        e
    }
}

impl Entries<'_> {
    fn decode(&mut self) -> Option<PcEntry> {
        let head = self.byte()?;
        self.host = self.host.wrapping_add(self.leb()? as u16);
        let guest = match head >> KIND_SHIFT {
            KIND_AT_TARGET => AT_TARGET,
            KIND_MID_BRANCH => MID_BRANCH,
            _ => {
                let z = self.leb()?;
                let d = (z >> 1) as i32 ^ -((z & 1) as i32);
                self.guest = (i32::from(self.guest) + d) as u16;
                self.guest
            }
        };
        let mut opt = |bit: u8, none: u8| if head & bit != 0 { self.byte() } else { Some(none) };
        let (f0, f1, rsp) = (opt(FIX0, 0xff)?, opt(FIX1, 0xff)?, opt(RSP, 0)?);
        let [h0, h1] = self.host.to_le_bytes();
        let [g0, g1] = guest.to_le_bytes();
        Some(PcEntry::from_bytes([h0, h1, g0, g1, f0, f1, rsp]))
    }
}

fn put_leb(out: &mut smallvec::SmallVec<[u8; 512]>, mut v: u32) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::NO_FIXUP;

    /// A deterministic pseudo-random sequence (xorshift).
    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed | 1;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    /// Random maps of the emitter's shape (sorted host offsets, guest
    /// offsets moving both ways and the two special ones, every fixup and
    /// rsp_adj) come back entry for entry, and the entry found for every
    /// host offset is the one a search of the unpacked map finds.
    #[test]
    fn packed_maps_give_back_their_entries() {
        let mut r = rng(0x7e57);
        for _ in 0..2_000 {
            let n = (r() % 60) as usize;
            let mut host = (r() % 40) as u16;
            let mut entries = Vec::new();
            for _ in 0..n {
                host = host.saturating_add((r() % 300) as u16);
                let guest = match r() % 10 {
                    0 => AT_TARGET,
                    1 => MID_BRANCH,
                    _ => (r() % 70_000).min(u64::from(AT_TARGET) - 1) as u16,
                };
                let fix = match r() % 4 {
                    0 => NO_FIXUP,
                    1 => [((r() % 16) as u8, (r() % 8) as u8), (0xff, 0xff)],
                    _ => [((r() % 16) as u8, (r() % 8) as u8), ((r() % 16) as u8, (r() % 8) as u8)],
                };
                let rsp = if r().is_multiple_of(5) { 8 } else { 0 };
                entries.push(PcEntry::with_rsp_adj(host, guest, fix, rsp));
            }
            let packed = PackedPcMap::pack(&entries);
            assert_eq!(packed.entries().collect::<Vec<_>>(), entries);
            for off in (0..=host.saturating_add(3)).step_by(1 + (r() % 7) as usize) {
                let i = entries.partition_point(|e| e.host_off <= off);
                assert_eq!(packed.entry_at(off), i.checked_sub(1).map(|i| entries[i]), "offset {off}");
            }
        }
    }

    /// Bytes cut short, running on or damaged end the scan (fewer
    /// entries), never a panic or a read past them.
    #[test]
    fn damaged_bytes_end_the_scan() {
        let entries: Vec<PcEntry> = (0..20u16).map(|i| PcEntry::new(i * 9, i * 3, NO_FIXUP)).collect();
        let packed = PackedPcMap::pack(&entries);
        let b = packed.as_bytes();
        assert_eq!(PackedPcMap::from_bytes(b), packed);
        let mut long = b.to_vec();
        long.push(0x80);
        assert_eq!(PackedPcMap::from_bytes(&long).entries().collect::<Vec<_>>(), entries);
        for n in 0..b.len() {
            let cut = PackedPcMap::from_bytes(&b[..n]);
            let got: Vec<PcEntry> = cut.entries().collect();
            assert!(got.len() <= entries.len() && got[..] == entries[..got.len()], "prefix of {n} bytes");
            let _ = cut.entry_at(u16::MAX);
        }
        let mut seed = 7u32;
        for _ in 0..2000 {
            let junk: Vec<u8> = (0..(seed % 40))
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as u8
                })
                .collect();
            let _ = PackedPcMap::from_bytes(&junk).entry_at(100);
        }
    }

    #[test]
    fn an_empty_map_has_no_entry() {
        let packed = PackedPcMap::pack(&[]);
        assert!(packed.is_empty());
        assert_eq!(packed.entry_at(0), None);
    }
}
