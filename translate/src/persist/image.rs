//! Start-up images: a file's share of a program's start-up list
//! (`group.rs`) laid out as the code cache will hold it, so that a later
//! process installs it with one copy of the host code instead of one
//! store lookup, blob copy and code copy per block
//! (`Jit::install_image_locked`; benches/docs/exec-startup.md, rank 8).
//!
//! An image is written by a process that installed a file's share block
//! by block (there was no image, or it no longer fit the guest's bytes),
//! from the records it loaded, and read by the processes after it. Each
//! block keeps its record without the code (`Record::encode_without_code`)
//! and its code sits at its place in the image's code, which starts on a
//! code-cache chunk: no block crosses a chunk (`cache::CHUNK`), a chunk
//! holds at most `cache::PER_CHUNK` blocks, and a block keeps its address
//! modulo 32 (the alignment `Emitted::relocate` needs). Every block is
//! checked as a store's blob is (guest bytes, prediction, checksums) and
//! moved as one is: a stale, foreign or damaged image costs misses, never
//! wrong code.
//!
//! Format (little-endian): magic `TERNIMG1`, tag u64, block count u64,
//! code length u64; then per block: file offset u64, place in the code
//! u64, code length u64, record length u64, checksum u64 (`FxHasher` of
//! the three fields before it, the record and the block's code), the
//! record; then the code.

use super::record::Record;
use super::store::read_u64;
use crate::cache::{CHUNK, PER_CHUNK};
use rustc_hash::FxHasher;
use std::hash::Hasher;
use std::path::Path;

const MAGIC: &[u8; 8] = b"TERNIMG1";
const HEADER_LEN: usize = 32;
/// A block's fixed fields before its record.
pub const BLOCK_HEAD: usize = 40;
/// Bytes of blocks read from the file at a time (`Image::blocks`).
const WINDOW: usize = 64 << 10;
/// Filler between blocks (never run: `int3`).
const FILL: u8 = 0xcc;

/// The bytes of an image of `blocks` (file offset, store blob: a
/// `Record::encode`), in the order given; blobs that do not decode are
/// left out. None if none is left.
pub fn build(tag: u64, blocks: &[(u64, Vec<u8>)]) -> Option<Vec<u8>> {
    let mut code: Vec<u8> = Vec::new();
    let mut meta: Vec<u8> = Vec::new();
    let (mut count, mut in_chunk, mut chunk) = (0u64, 0usize, 0usize);
    for (off, blob) in blocks {
        let Some(rec) = Record::decode(blob) else { continue };
        let len = rec.em.code.len();
        if len == 0 || len > CHUNK {
            continue;
        }
        let mut pos = place(code.len(), rec.host);
        if pos / CHUNK != (pos + len - 1) / CHUNK || pos / CHUNK == chunk && in_chunk >= PER_CHUNK {
            pos = place(pos.next_multiple_of(CHUNK), rec.host);
        }
        if pos / CHUNK != chunk {
            (chunk, in_chunk) = (pos / CHUNK, 0);
        }
        in_chunk += 1;
        code.resize(pos, FILL);
        code.extend_from_slice(&rec.em.code);
        let record = rec.encode_without_code();
        let sum = block_hash(*off, pos, len, &record).finish_with(&rec.em.code);
        for v in [*off, pos as u64, len as u64, record.len() as u64, sum] {
            meta.extend_from_slice(&v.to_le_bytes());
        }
        meta.extend_from_slice(&record);
        count += 1;
    }
    if count == 0 {
        return None;
    }
    let mut w = Vec::with_capacity(HEADER_LEN + meta.len() + code.len());
    w.extend_from_slice(MAGIC);
    for v in [tag, count, code.len() as u64] {
        w.extend_from_slice(&v.to_le_bytes());
    }
    w.extend_from_slice(&meta);
    w.extend_from_slice(&code);
    Some(w)
}

/// The first place at or after `at` with the address modulo 32 of `host`.
fn place(at: usize, host: u64) -> usize {
    let want = (host % 32) as usize;
    at + (want + 32 - at % 32) % 32
}

/// One block of an image, as [`Image::blocks`] reads it.
pub struct ImageBlock {
    /// Its file offset (a start-up list's entry).
    pub offset: u64,
    /// Its place in the image's code.
    pub pos: usize,
    /// Its record (`em.code` empty: the code is at `pos`).
    pub rec: Record,
    /// Its code's length.
    pub len: usize,
    /// The checksum of its record and code.
    sum: u64,
    /// The checksum's state after its record.
    rec_hash: FxHasher,
}

/// An image file, open. Its bytes are read with `pread` (the code
/// straight into the code cache): a mapping took a page fault for every
/// 16 pages read, and a file truncated under it would need the fault-safe
/// copy.
pub struct Image {
    file: std::fs::File,
    len: usize,
    count: usize,
    code_len: usize,
}

impl Image {
    /// The image at `path`, if it is one written for `tag`.
    pub fn open(path: &Path, tag: u64) -> Option<Image> {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open(path).ok()?;
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        let mut head = [0u8; HEADER_LEN];
        file.read_exact_at(&mut head, 0).ok()?;
        if &head[..8] != MAGIC || read_u64(&head, 8)? != tag {
            return None;
        }
        let count = usize::try_from(read_u64(&head, 16)?).ok()?;
        let code_len = usize::try_from(read_u64(&head, 24)?).ok()?;
        if code_len > len - HEADER_LEN || count > (len - HEADER_LEN - code_len) / BLOCK_HEAD {
            return None;
        }
        // Kept while the image installs: a descriptor of tern's own, where
        // no guest thread's next `open` would have landed.
        Some(Image { file: crate::hostmem::private_file(file), len, count, code_len })
    }

    /// Blocks in the image.
    pub fn block_count(&self) -> usize {
        self.count
    }

    /// Bytes of code, the span a process reserves for it.
    pub fn code_len(&self) -> usize {
        self.code_len
    }

    /// Copies the image's code into `to`, `code_len` bytes: false if the
    /// file no longer holds them.
    pub fn read_code(&self, to: &mut [u8]) -> bool {
        to.len() == self.code_len && self.read_at(self.len - self.code_len, to)
    }

    fn read_at(&self, off: usize, buf: &mut [u8]) -> bool {
        use std::os::unix::fs::FileExt;
        off.checked_add(buf.len()).is_some_and(|end| end <= self.len)
            && self.file.read_exact_at(buf, off as u64).is_ok()
    }

    /// Calls `each` with every block whose record decodes and whose place
    /// lies in the code, in file order (their code unchecked: see
    /// [`ImageBlock::code_matches`]); `spare` lends its vectors and gets
    /// them back.
    pub fn blocks(&self, spare: &mut Record, mut each: impl FnMut(&mut ImageBlock)) {
        let end = self.len - self.code_len;
        let mut window = Window { buf: Vec::new(), start: 0 };
        let mut at = HEADER_LEN;
        for _ in 0..self.count {
            let Some(head) = window.get(self, at, BLOCK_HEAD, end) else { return };
            let f = |i: usize| read_u64(head, 8 * i);
            let (Some(offset), Some(pos), Some(len), Some(rec_len), Some(sum)) =
                (f(0), f(1), f(2), f(3), f(4))
            else {
                return;
            };
            let (Ok(pos), Ok(len), Ok(rec_len)) =
                (usize::try_from(pos), usize::try_from(len), usize::try_from(rec_len))
            else {
                return;
            };
            if pos.checked_add(len).is_none_or(|e| e > self.code_len) {
                return;
            }
            let Some(bytes) = window.get(self, at + BLOCK_HEAD, rec_len, end) else { return };
            let rec_hash = block_hash(offset, pos, len, bytes);
            if let Some(rec) = Record::decode_beside(bytes, std::mem::take(spare), len) {
                let mut b = ImageBlock { offset, pos, rec, len, sum, rec_hash };
                each(&mut b);
                *spare = b.rec;
            }
            at += BLOCK_HEAD + rec_len;
        }
    }
}

impl ImageBlock {
    /// True if `code` (the block's bytes as copied from the image) and its
    /// record are those the image's checksum vouches for.
    pub fn code_matches(&self, code: &[u8]) -> bool {
        self.rec_hash.clone().finish_with(code) == self.sum
    }
}

/// A piece of an image's block area copied out (`WINDOW` bytes at a time).
struct Window {
    buf: Vec<u8>,
    start: usize,
}

impl Window {
    /// The image's `n` bytes at `at`, which lie before `end`.
    fn get(&mut self, img: &Image, at: usize, n: usize, end: usize) -> Option<&[u8]> {
        if at.checked_add(n)? > end {
            return None;
        }
        if at < self.start || at + n > self.start + self.buf.len() {
            let take = n.max(WINDOW).min(end - at);
            self.buf.resize(take, 0);
            self.start = at;
            if !img.read_at(at, &mut self.buf) {
                self.buf.clear();
                return None;
            }
        }
        self.buf.get(at - self.start..at - self.start + n)
    }
}

/// A block's checksum up to its code: its fixed fields and its record.
fn block_hash(offset: u64, pos: usize, len: usize, record: &[u8]) -> FxHasher {
    let mut h = FxHasher::default();
    for v in [offset, pos as u64, len as u64] {
        h.write_u64(v);
    }
    h.write(record);
    h
}

/// The end of a block's checksum: its code.
trait FinishWith {
    fn finish_with(self, code: &[u8]) -> u64;
}

impl FinishWith for FxHasher {
    fn finish_with(mut self, code: &[u8]) -> u64 {
        self.write(code);
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blobs of `n` blocks (file offset, `Record::encode`), emitted at
    /// host addresses of every alignment modulo 32.
    fn blobs(n: usize) -> Vec<(u64, Vec<u8>)> {
        let rt = crate::baseline::Runtime {
            exit_tramp: 0x7e00_0000_0000,
            ibl_miss: 0x7e00_0000_0008,
            trace: Default::default(),
        };
        (0..n as u64)
            .map(|i| {
                let pc = 0x7f00_0000_1000 + i * 0x40;
                // add rax, i; cmp rax, rbx; jne pc; jmp [rip+0x100]
                let mut code = vec![0x48, 0x05];
                code.extend_from_slice(&(i as u32).to_le_bytes());
                code.extend_from_slice(&[0x48, 0x39, 0xd8, 0x0f, 0x85]);
                code.extend_from_slice(&(-13i32).to_le_bytes());
                code.extend_from_slice(&[0xff, 0x25, 0, 1, 0, 0]);
                let ir = crate::lift::lift_block(crate::CpuModel::V2, pc, &code, false, false);
                let host = 0x7e00_0001_0000 + i * 0x1000 + (i % 4) * 8;
                let em = crate::baseline::emit_block(&ir, host, &rt, false).expect("emit");
                let rec = Record {
                    pc,
                    host,
                    runtime: rt.exit_tramp,
                    guest: ir.code.clone(),
                    insns: 4,
                    slot: None,
                    em,
                };
                (i * 0x40, rec.encode())
            })
            .collect()
    }

    fn write(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("tern-image-{}-{name}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Every block the image hands out whose checksum holds, with its code.
    fn good_blocks(img: &Image) -> Vec<(u64, usize, Record, Vec<u8>)> {
        let mut code = vec![0u8; img.code_len()];
        if !img.read_code(&mut code) {
            return Vec::new();
        }
        let mut out = Vec::new();
        img.blocks(&mut Record::default(), |b| {
            let c = &code[b.pos..b.pos + b.len];
            if b.code_matches(c) {
                out.push((b.offset, b.pos, b.rec.clone(), c.to_vec()));
            }
        });
        out
    }

    #[test]
    fn blocks_keep_their_alignment_in_order_inside_chunks() {
        // Enough blocks for several chunks.
        let blobs = blobs(1000);
        let path = write("round", &build(7, &blobs).unwrap());
        assert!(Image::open(&path, 8).is_none(), "another tern's image");
        let img = Image::open(&path, 7).unwrap();
        assert!(img.code_len() > 2 * CHUNK, "{}", img.code_len());
        let good = good_blocks(&img);
        assert_eq!(good.len(), blobs.len());
        let mut end = 0;
        for ((off, pos, rec, code), (want_off, blob)) in good.iter().zip(&blobs) {
            let want = Record::decode(blob).unwrap();
            assert_eq!((*off, code), (*want_off, &want.em.code));
            assert!(*pos >= end && pos / CHUNK == (pos + code.len() - 1) / CHUNK, "{pos}");
            assert_eq!(*pos as u64 % 32, want.host % 32);
            assert_eq!(
                (rec.pc, rec.host, &rec.guest, &rec.em.relocs),
                (want.pc, want.host, &want.guest, &want.em.relocs)
            );
            assert_eq!(
                (&rec.em.descs, &rec.em.desc_fills, rec.em.entry),
                (&want.em.descs, &want.em.desc_fills, want.em.entry)
            );
            end = pos + code.len();
        }
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn damaged_images_never_panic_nor_vouch_for_other_code() {
        let blobs = blobs(40);
        let bytes = build(7, &blobs).unwrap();
        let want: Vec<(u64, usize, Vec<u8>)> = {
            let path = write("orig", &bytes);
            let img = Image::open(&path, 7).unwrap();
            std::fs::remove_file(path).unwrap();
            good_blocks(&img).into_iter().map(|(o, p, _, c)| (o, p, c)).collect()
        };
        let step = (bytes.len() / 700).max(1);
        for i in (0..bytes.len()).step_by(step) {
            for damage in [0, 1] {
                let d = if damage == 0 {
                    let mut d = bytes.clone();
                    d[i] ^= 0x10;
                    d
                } else {
                    bytes[..i].to_vec()
                };
                let path = write("damaged", &d);
                if let Some(img) = Image::open(&path, 7) {
                    for (off, pos, _, code) in good_blocks(&img) {
                        assert!(want.contains(&(off, pos, code)), "byte {i}: a block the image did not hold");
                    }
                }
            }
        }
        let _ = std::fs::remove_file(
            std::env::temp_dir().join(format!("tern-image-{}-damaged", std::process::id())),
        );
    }
}
