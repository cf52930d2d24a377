//! A translated block as the persistent cache keeps it: the guest bytes it
//! translates, where it was translated (guest and host), and its host code
//! before installation (exit descriptors not yet numbered, no jump
//! chained), with the fields `Emitted::relocate` moves.
//!
//! A record is used again only where the guest bytes are the same: a
//! block's host code is a function of its guest address, its bytes and the
//! prediction of its final indirect branch (read again where it is used),
//! so the moved record is the block tern would translate there.

use crate::baseline::{Emitted, Reloc, RelocKind};
use crate::cpu::{ExitDesc, ExitKind};

/// One block of the persistent cache.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// Guest address it was translated at.
    pub pc: u64,
    /// Host address its code was emitted for.
    pub host: u64,
    /// Where the code cache's runtime routines were then
    /// (`Runtime::exit_tramp`).
    pub runtime: u64,
    /// The guest bytes it translates.
    pub guest: Vec<u8>,
    /// Guest instructions in it (`--stats`).
    pub insns: u16,
    /// Its final indirect branch through a RIP-relative slot: the slot's
    /// and the branch's distances from `pc`, and whether the slot gave a
    /// prediction (`IrBlock::predicted`) when it was translated.
    pub slot: Option<(u64, u64, bool)>,
    /// Its host code and tables.
    pub em: Emitted,
}

const RELOC_KINDS: [RelocKind; 5] = [
    RelocKind::HostRel32,
    RelocKind::GuestRel32,
    RelocKind::GuestAbs32,
    RelocKind::GuestAbs64,
    RelocKind::PredictedNeg64,
];

impl Record {
    /// The record as bytes (a store's blob).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(true)
    }

    /// The record as bytes without its host code (a start-up image keeps
    /// the code apart: `image.rs`); [`Record::decode_beside`] reads it.
    pub fn encode_without_code(&self) -> Vec<u8> {
        self.encode_with(false)
    }

    fn encode_with(&self, with_code: bool) -> Vec<u8> {
        let e = &self.em;
        let mut w = Vec::with_capacity(64 + self.guest.len() + e.code.len() + e.packed.len());
        put(&mut w, self.pc);
        put(&mut w, self.host);
        put(&mut w, self.runtime);
        put(&mut w, u64::from(self.insns));
        let (slot, branch, had) = self.slot.unwrap_or((0, 0, false));
        put(&mut w, u64::from(self.slot.is_some()) | u64::from(had) << 1);
        put(&mut w, slot);
        put(&mut w, branch);
        for n in [e.ibl_entry, e.entry, e.insn_len] {
            put(&mut w, n as u64);
        }
        put_bytes(&mut w, &self.guest);
        put_bytes(&mut w, if with_code { &e.code } else { &[] });
        put(&mut w, e.relocs.len() as u64);
        for r in &e.relocs {
            put(&mut w, u64::from(r.at) | (r.kind as u64) << 32);
        }
        put_bytes(&mut w, e.packed.as_bytes());
        put(&mut w, e.descs.len() as u64);
        for d in &e.descs {
            put(&mut w, d.kind as u64 | u64::from(d.arg) << 32);
            put(&mut w, d.target);
            put(&mut w, d.patch_site);
        }
        put(&mut w, e.desc_fills.len() as u64);
        for &f in &e.desc_fills {
            put(&mut w, f as u64);
        }
        w
    }

    /// The record `encode` gave, or None for bytes that are not one (a
    /// damaged or foreign blob: every length and offset is checked).
    pub fn decode(b: &[u8]) -> Option<Record> {
        Self::decode_reusing(b, Record::default())
    }

    /// As [`Record::decode`], into the vectors of `spare` (cleared first):
    /// a process loading thousands of blocks allocates them once.
    pub fn decode_reusing(b: &[u8], spare: Record) -> Option<Record> {
        Self::decode_parts(b, spare, None)
    }

    /// A record [`Record::encode_without_code`] gave, whose code is
    /// `code_len` bytes kept elsewhere: its `em.code` stays empty, and its
    /// offsets are checked against `code_len`.
    pub fn decode_beside(b: &[u8], spare: Record, code_len: usize) -> Option<Record> {
        Self::decode_parts(b, spare, Some(code_len))
    }

    fn decode_parts(b: &[u8], spare: Record, code_beside: Option<usize>) -> Option<Record> {
        let Record { mut guest, em, .. } = spare;
        let Emitted { mut code, mut relocs, mut pcmap, mut descs, mut desc_fills, .. } = em;
        // Offsets into code kept beside may pass the blob's own size.
        let mut r = Reader { b, at: 0, limit: b.len().max(code_beside.unwrap_or(0)) };
        let pc = r.u64()?;
        let host = r.u64()?;
        let runtime = r.u64()?;
        let insns = u16::try_from(r.u64()?).ok()?;
        let flags = r.u64()?;
        let (slot, branch) = (r.u64()?, r.u64()?);
        let slot = (flags & 1 != 0).then_some((slot, branch, flags & 2 != 0));
        let (ibl_entry, entry, insn_len) = (r.len()?, r.len()?, r.len()?);
        guest.clear();
        guest.extend_from_slice(r.bytes()?);
        code.clear();
        code.extend_from_slice(r.bytes()?);
        if code_beside.is_some() && !code.is_empty() {
            return None;
        }
        let code_len = code_beside.unwrap_or(code.len());
        let n = r.count(8)?;
        relocs.clear();
        relocs.reserve(n);
        for _ in 0..n {
            let v = r.u64()?;
            let kind = *RELOC_KINDS.get(usize::try_from(v >> 32).ok()?)?;
            let at = v as u32;
            let width = if matches!(kind, RelocKind::GuestAbs64 | RelocKind::PredictedNeg64) { 8 } else { 4 };
            (at as usize).checked_add(width).filter(|&end| end <= code_len)?;
            relocs.push(Reloc { at, kind });
        }
        // Kept packed, as the installed block keeps it: no entries.
        pcmap.clear();
        let packed = crate::pcmap::PackedPcMap::from_bytes(r.bytes()?);
        let n = r.count(24)?;
        descs.clear();
        descs.reserve(n);
        for _ in 0..n {
            let v = r.u64()?;
            let kind = *ExitKind::ALL.iter().find(|k| **k as u64 == v & 0xffff_ffff)?;
            descs.push(ExitDesc { kind, arg: (v >> 32) as u32, target: r.u64()?, patch_site: r.u64()? });
        }
        let n = r.count(8)?;
        desc_fills.clear();
        desc_fills.reserve(n);
        for _ in 0..n {
            let f = r.len()?;
            f.checked_add(4).filter(|&end| end <= code_len)?;
            desc_fills.push(f);
        }
        let fits = ibl_entry <= code_len && entry <= code_len && insn_len <= code_len;
        if r.at != b.len() || !fits || desc_fills.len() != descs.len() || guest.is_empty() {
            return None;
        }
        let em = Emitted {
            code,
            relocs,
            pcmap,
            packed,
            descs,
            desc_fills,
            ibl_entry,
            entry,
            insn_len,
            far_rip: 0,
        };
        Some(Record { pc, host, runtime, guest, insns, slot, em })
    }
}

fn put(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(w: &mut Vec<u8>, b: &[u8]) {
    put(w, b.len() as u64);
    w.extend_from_slice(b);
}

/// Reads what `put` and `put_bytes` wrote, never past the end.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    /// Largest length or offset read (`Reader::len`).
    limit: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A length or offset (bounded by the blob's own size, or the code's
    /// kept beside it).
    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.u64()?).ok().filter(|&n| n <= self.limit)
    }

    /// A count of items of at least `size` bytes each, if that many fit.
    fn count(&mut self, size: usize) -> Option<usize> {
        let n = self.len()?;
        (n.checked_mul(size)? <= self.b.len() - self.at).then_some(n)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let ir = crate::lift::lift_block(
            crate::CpuModel::V2,
            0x7f00_0000_1000,
            // mov rax, [rip+0x10]; test rax, rax; jz +5; call [rip+0x20]
            &[0x48, 0x8b, 0x05, 0x10, 0, 0, 0, 0x48, 0x85, 0xc0, 0x74, 0x05, 0xff, 0x15, 0x20, 0, 0, 0],
            false,
            false,
        );
        let rt = crate::baseline::Runtime {
            exit_tramp: 0x7e00_0000_0000,
            ibl_miss: 0x7e00_0000_0008,
            trace: Default::default(),
        };
        let em = crate::baseline::emit_block(&ir, 0x7e00_0000_1000, &rt, false).expect("emit");
        Record {
            pc: ir.start,
            host: 0x7e00_0000_1000,
            runtime: rt.exit_tramp,
            guest: ir.code.clone(),
            insns: 2,
            slot: Some((0x32, 12, true)),
            em,
        }
    }

    #[test]
    fn round_trip() {
        let r = sample();
        assert!(!r.em.relocs.is_empty() && !r.em.descs.is_empty() && !r.em.pcmap.is_empty());
        // The pc map comes back packed only, as the block keeps it; the
        // glue count is the translation's `--stats`, not kept.
        let mut want = r.clone();
        want.em.pcmap.clear();
        want.em.far_rip = 0;
        assert_eq!(Record::decode(&r.encode()), Some(want));
        assert_eq!(Record::decode(&r.encode()).unwrap().em.packed.entries().collect::<Vec<_>>(), r.em.pcmap);
    }

    #[test]
    fn damaged_bytes_never_panic() {
        let b = sample().encode();
        for n in 0..b.len() {
            assert_eq!(Record::decode(&b[..n]), None, "truncated at {n}");
        }
        for i in 0..b.len() {
            for bit in [0, 3, 7] {
                let mut d = b.clone();
                d[i] ^= 1 << bit;
                let _ = Record::decode(&d);
            }
        }
        let mut long = b.clone();
        long.push(0);
        assert_eq!(Record::decode(&long), None);
    }
}
