//! On-disk store of opaque blobs keyed by u64, one file per guest file.
//!
//! Format (little-endian): magic `TERNBLK1`, tag u64, count u64, then `count`
//! index entries (key u64, offset u64, len u32, checksum u64) sorted by key,
//! then the blob bytes. Offsets count from the start of the file. The
//! checksum is an `FxHasher` hash of the key and the blob, so a damaged key
//! in the index cannot hand out another key's blob. `open` checks only the
//! header; index entries and blobs are checked when read. The index is
//! searched where the file is mapped, through every eighth key
//! (`Store::fences`, read at the first lookup): no copy of it, no table
//! of every entry (python3's store has 27,000). A copy in tern's heap
//! took a fresh page for every 146 entries of each store a process
//! opened (libc's 137 KB: 34 pages), where the mapping's are the page
//! cache's, shared by every process and mapped 16 at a time.
//!
//! Writers replace the file by renaming a complete temporary file over it,
//! so readers and concurrent writers never see a torn file.

use rustc_hash::FxHasher;
use std::collections::BTreeMap;
use std::hash::Hasher;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const MAGIC: &[u8; 8] = b"TERNBLK1";
const HEADER_LEN: usize = 24;
const ENTRY_LEN: usize = 28;

/// One index entry, with its blob's place checked against the file.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u64,
    start: usize,
    end: usize,
    sum: u64,
}

/// Where a store's bytes are.
#[derive(Debug)]
enum Data {
    /// Read into memory (tests).
    #[cfg(test)]
    Owned(Vec<u8>),
    /// The file mapped read-only and private at `addr`: processes that read
    /// the same store share its pages, and a process reads only the blobs
    /// it uses. Blobs are copied out with the fault-safe copy (a file
    /// truncated under the mapping would fault, not crash tern).
    Mapped { addr: u64, len: usize },
}

/// An opened store file: blobs by key, each checked before use.
#[derive(Debug)]
pub struct Store {
    data: Data,
    /// Index entries (`ENTRY_LEN` bytes each, from `HEADER_LEN` on).
    count: usize,
    /// Bytes of blobs read since the mapping's pages were last dropped.
    read: std::cell::Cell<usize>,
    /// Every [`Store::fence_every`]th key, read on the first lookup.
    fences: std::cell::OnceCell<Box<[u64]>>,
}

/// Index entries per fence: a lookup reads at most this many keys after
/// bisecting the fences (8 entries are 224 bytes of the index). A search
/// of the index alone took 11 to 13 probes on python3's and libc's
/// stores, each a cache miss: the keys, file offsets of blocks, are too
/// far from uniform for interpolation (its first guess was off by
/// thousands of entries).
const FENCE_EVERY: usize = 8;

/// Stores of at most this many entries have every key as a fence: a
/// lookup that misses (a process asks a file's small additions store first
/// for nearly every block, and finds nothing) then reads no entry.
const ALL_FENCES: usize = 512;

/// Bytes of blobs read from a mapped store between drops of its pages from
/// tern's resident set: they stay in the page cache, but counted in RSS
/// they made a process that read a large store (python3's, 13 MB) look that
/// much bigger. Counted in bytes, not blobs, so that a process reading a
/// small store (libc's, 0.75 MB for `/bin/true`) never drops it: each drop
/// makes the next reads fault the pages in again.
const BYTES_PER_DROP: usize = 1 << 20;

impl Store {
    /// Opens the store at `path` if it exists, is well formed, and was
    /// written for `tag` (a u64 naming the tern build and options); None
    /// otherwise (absent, corrupt, truncated, other tag). Never panics on any
    /// input.
    pub fn open(path: &Path, tag: u64) -> Option<Store> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open(path).ok()?;
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        let mut head = [0u8; HEADER_LEN];
        file.read_exact_at(&mut head, 0).ok()?;
        let count = parse_header(&head, len, tag)?;
        // tern's memory, out of the guest's way; its bytes are only ever
        // copied out with the fault-safe copy.
        let addr =
            crate::hostmem::map_tern_fd(len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd()).ok()?;
        Some(Store::new(Data::Mapped { addr, len }, count))
    }

    /// A store read into memory.
    #[cfg(test)]
    fn parse(bytes: Vec<u8>, tag: u64) -> Option<Store> {
        let count = parse_header(&bytes, bytes.len(), tag)?;
        Some(Store::new(Data::Owned(bytes), count))
    }

    fn new(data: Data, count: usize) -> Store {
        Store { data, count, read: std::cell::Cell::new(0), fences: std::cell::OnceCell::new() }
    }

    /// The blob stored under `key`, if any and if its checksum matches.
    pub fn get(&self, key: u64) -> Option<Vec<u8>> {
        let mut blob = Vec::new();
        self.get_into(key, &mut blob).then_some(blob)
    }

    /// [`Store::get`] into `blob` (reused): false if there is none.
    pub fn get_into(&self, key: u64, blob: &mut Vec<u8>) -> bool {
        self.find(key).is_some_and(|e| self.checked_into(&e, blob))
    }

    /// The index entry for `key`: the last fence at or below it
    /// (bisection of [`Store::fences`], which stay in cache), then the
    /// entries up to the next fence in order (adjacent cache lines). A
    /// damaged index gives misses: the entry found must have the key.
    fn find(&self, key: u64) -> Option<Entry> {
        let fences = self.fences.get_or_init(|| self.read_fences());
        let bucket = fences.partition_point(|&k| k <= key).checked_sub(1)?;
        let every = self.fence_every();
        if every == 1 && fences[bucket] != key {
            return None;
        }
        let start = bucket * every;
        let n = every.min(self.len() - start);
        let mut entries = [0u8; FENCE_EVERY * ENTRY_LEN];
        let entries = &mut entries[..n * ENTRY_LEN];
        if !self.read_at(HEADER_LEN + start * ENTRY_LEN, entries) {
            return None;
        }
        for e in entries.chunks(ENTRY_LEN) {
            let k = read_u64(e, 0)?;
            if k >= key {
                return (k == key).then(|| parse_entry(e, self.blobs_start(), self.file_len())).flatten();
            }
        }
        None
    }

    /// The keys of entries 0, [`Store::fence_every`], twice that ...
    fn read_fences(&self) -> Box<[u64]> {
        (0..self.len()).step_by(self.fence_every()).map_while(|i| self.key_at(i)).collect()
    }

    /// Index entries per fence: 1 in a small store, else [`FENCE_EVERY`].
    fn fence_every(&self) -> usize {
        if self.count <= ALL_FENCES {
            1
        } else {
            FENCE_EVERY
        }
    }

    /// The key of index entry `i`.
    fn key_at(&self, i: usize) -> Option<u64> {
        let mut key = [0u8; 8];
        self.read_at(HEADER_LEN + i.checked_mul(ENTRY_LEN)?, &mut key).then(|| u64::from_le_bytes(key))
    }

    /// Index entry `i`, if its blob lies within the file.
    fn entry(&self, i: usize) -> Option<Entry> {
        let mut e = [0u8; ENTRY_LEN];
        if !self.read_at(HEADER_LEN + i.checked_mul(ENTRY_LEN)?, &mut e) {
            return None;
        }
        parse_entry(&e, self.blobs_start(), self.file_len())
    }

    /// Where the blobs start: past the header and the index.
    fn blobs_start(&self) -> usize {
        HEADER_LEN + self.count * ENTRY_LEN
    }

    /// Copies the file's bytes at `off` into `buf`: false if they are not
    /// all there (the file is shorter, or was truncated under the mapping).
    fn read_at(&self, off: usize, buf: &mut [u8]) -> bool {
        match &self.data {
            #[cfg(test)]
            Data::Owned(bytes) => match bytes.get(off..off + buf.len()) {
                Some(b) => {
                    buf.copy_from_slice(b);
                    true
                }
                None => false,
            },
            Data::Mapped { addr, len } => {
                off + buf.len() <= *len && crate::guestmem::read_guest(addr + off as u64, buf) == buf.len()
            }
        }
    }

    fn file_len(&self) -> usize {
        match &self.data {
            #[cfg(test)]
            Data::Owned(bytes) => bytes.len(),
            Data::Mapped { len, .. } => *len,
        }
    }

    /// Number of blobs (index entries).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the store holds no blobs.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Iterates (key, blob) over all blobs whose entry and checksum are
    /// good, in the order the file holds them (see [`write_merged`]).
    pub fn iter(&self) -> impl Iterator<Item = (u64, Vec<u8>)> + '_ {
        self.entries_in_file_order().into_iter().filter_map(|e| Some((e.key, self.checked(&e)?)))
    }

    /// The index entries whose blobs lie in the file, in the order the
    /// file holds the blobs (their blobs not read).
    fn entries_in_file_order(&self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = (0..self.len()).filter_map(|i| self.entry(i)).collect();
        entries.sort_by_key(|e| e.start);
        entries
    }

    /// The blob of `e`, if its checksum matches.
    fn checked(&self, e: &Entry) -> Option<Vec<u8>> {
        let mut blob = Vec::new();
        self.checked_into(e, &mut blob).then_some(blob)
    }

    /// The blob of `e` into `blob`: false if it cannot be read or its
    /// checksum does not match.
    fn checked_into(&self, e: &Entry, blob: &mut Vec<u8>) -> bool {
        blob.clear();
        blob.resize(e.end - e.start, 0);
        self.read.set(self.read.get() + blob.len());
        if self.read.get() >= BYTES_PER_DROP {
            self.drop_pages();
        }
        self.read_at(e.start, blob) && checksum(e.key, blob) == e.sum
    }

    /// Drops the pages of a mapped store read since the last drop from
    /// tern's resident set (they stay in the page cache).
    #[allow(irrefutable_let_patterns)] // Not outside tests.
    pub fn drop_pages(&self) {
        if self.read.replace(0) == 0 {
            return;
        }
        if let Data::Mapped { addr, len } = &self.data {
            // SAFETY: MADV_DONTNEED on a private read-only file mapping of
            // tern's own only drops page-table entries: the next read
            // faults the file's page back in.
            unsafe { libc::madvise(*addr as *mut libc::c_void, *len, libc::MADV_DONTNEED) };
        }
    }
}

impl Drop for Store {
    #[allow(irrefutable_let_patterns)] // Not outside tests.
    fn drop(&mut self) {
        if let Data::Mapped { addr, len } = self.data {
            // SAFETY: the mapping `open` made, unmapped once.
            unsafe { libc::munmap(addr as *mut libc::c_void, len) };
        }
    }
}

/// The entry count of a store file `len` bytes long whose header is
/// `head`, if the header is well formed, for `tag`, and its index fits.
fn parse_header(head: &[u8], len: usize, tag: u64) -> Option<usize> {
    if head.get(..8)? != MAGIC || read_u64(head, 8)? != tag {
        return None;
    }
    let count = usize::try_from(read_u64(head, 16)?).ok()?;
    let blobs_start = count.checked_mul(ENTRY_LEN)?.checked_add(HEADER_LEN)?;
    (blobs_start <= len).then_some(count)
}

/// One index entry's bytes, if its blob lies in `[blobs_start, len)`.
fn parse_entry(b: &[u8], blobs_start: usize, len: usize) -> Option<Entry> {
    let key = read_u64(b, 0)?;
    let start = usize::try_from(read_u64(b, 8)?).ok()?;
    let end = start.checked_add(usize::try_from(read_u32(b, 16)?).ok()?)?;
    let sum = read_u64(b, 20)?;
    (start >= blobs_start && end <= len).then_some(Entry { key, start, end, sum })
}

/// Writes the union of the store now at `path` (if valid for `tag`) and
/// `new` (new wins on equal keys) to `path`. The index is sorted by key;
/// the blobs are in the order they were needed: the old store's in its
/// order, then the new ones as `new` lists them (a process lists them as
/// it translated them). A later process needs them in about that order
/// again, so its reads go through the file from start to end instead of
/// jumping between a file's offsets, and each page the kernel maps ahead
/// holds blobs it is about to read. Written to a temporary file in
/// the same directory, then renamed over `path`, so that concurrent writers
/// from several processes never leave a torn file (last rename wins; blobs
/// may be lost, never corrupted); nothing is written if `new` adds or
/// changes nothing. Creates the parent directory with mode
/// 0700 if missing. If the result would exceed `max_bytes`, keeps the
/// existing blobs and adds new ones only while under the limit.
pub fn write_merged(path: &Path, tag: u64, new: &[(u64, Vec<u8>)], max_bytes: usize) -> std::io::Result<()> {
    let old = Store::open(path, tag);
    // The old store's blobs are read one at a time (checked, compared,
    // copied out) and never held together: a copy of the whole store took
    // its size again in tern's heap at the process's end (tens of MB for a
    // compiler's library).
    let mut buf = Vec::new();
    let mut chosen: BTreeMap<u64, Source> = BTreeMap::new();
    let mut order: Vec<u64> = Vec::new();
    let mut size = HEADER_LEN;
    if let Some(s) = &old {
        for e in s.entries_in_file_order() {
            if !chosen.contains_key(&e.key) && s.checked_into(&e, &mut buf) {
                chosen.insert(e.key, Source::Old(e));
                order.push(e.key);
                size += ENTRY_LEN + (e.end - e.start);
            }
        }
    }
    let mut added = false;
    for (i, (key, blob)) in new.iter().enumerate() {
        let prev_len = match chosen.get(key) {
            Some(Source::Old(e)) => {
                let same = old.as_ref().is_some_and(|s| s.checked_into(e, &mut buf) && buf == *blob);
                if same {
                    continue;
                }
                Some(e.end - e.start)
            }
            Some(Source::New(j)) if new[*j].1 == *blob => continue,
            Some(Source::New(j)) => Some(new[*j].1.len()),
            None => None,
        };
        let grown = match prev_len {
            Some(prev) => (size - prev).saturating_add(blob.len()),
            None => size.saturating_add(ENTRY_LEN + blob.len()),
        };
        if u32::try_from(blob.len()).is_err() || (grown > max_bytes && grown > size) {
            continue;
        }
        if chosen.insert(*key, Source::New(i)).is_none() {
            order.push(*key);
        }
        size = grown;
        added = true;
    }
    if !added && old.is_some() {
        return Ok(());
    }
    replace_file_with(path, |w| {
        // The header, the index sorted by key, then the blobs in `order`.
        w.write_all(MAGIC)?;
        w.write_all(&tag.to_le_bytes())?;
        w.write_all(&(chosen.len() as u64).to_le_bytes())?;
        let len_of = |src: &Source| match src {
            Source::Old(e) => e.end - e.start,
            Source::New(j) => new[*j].1.len(),
        };
        let mut offsets = rustc_hash::FxHashMap::default();
        let mut offset = HEADER_LEN + chosen.len() * ENTRY_LEN;
        for key in &order {
            offsets.insert(*key, offset);
            offset += len_of(&chosen[key]);
        }
        for (&key, src) in &chosen {
            let sum = match src {
                Source::Old(e) => e.sum,
                Source::New(j) => checksum(key, &new[*j].1),
            };
            w.write_all(&key.to_le_bytes())?;
            w.write_all(&(offsets[&key] as u64).to_le_bytes())?;
            // Blobs over u32::MAX bytes were refused above.
            w.write_all(&(len_of(src) as u32).to_le_bytes())?;
            w.write_all(&sum.to_le_bytes())?;
        }
        for key in &order {
            match &chosen[key] {
                Source::Old(e) => {
                    // Checked above; read again from the same mapping. If
                    // it fails now, zeros keep the layout, and the entry's
                    // checksum makes the blob a miss.
                    if !old.as_ref().is_some_and(|s| s.checked_into(e, &mut buf)) {
                        buf.clear();
                        buf.resize(e.end - e.start, 0);
                    }
                    w.write_all(&buf)?;
                }
                Source::New(j) => w.write_all(&new[*j].1)?,
            }
        }
        Ok(())
    })
}

/// Where a blob of a store being written comes from ([`write_merged`]).
enum Source {
    /// The old store's entry.
    Old(Entry),
    /// The new blobs' entry at this index.
    New(usize),
}

/// Writes `bytes` as the file at `path` (its directory made if missing,
/// [`create_dir`]): to a temporary file beside it, then renamed over it,
/// so that readers and other writers never see a torn file.
pub fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_file_with(path, |w| w.write_all(bytes))
}

/// [`replace_file`] with the bytes `write` writes (buffered).
fn replace_file_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    create_dir(dir)?;
    let (tmp, file) = create_temp(path)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
    let written = write(&mut w).and_then(|()| w.flush()).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Creates a new, uniquely named temporary file next to `path`.
/// Makes directory `dir` of the cache, and those above it, readable by
/// this user only.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

fn create_temp(path: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp.{}.", std::process::id()));
    loop {
        let mut tmp_name = name.clone();
        tmp_name.push(COUNTER.fetch_add(1, Ordering::Relaxed).to_string());
        let tmp = path.with_file_name(tmp_name);
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The checksum of the blob stored under `key`.
fn checksum(key: u64, blob: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(&key.to_le_bytes());
    h.write(blob);
    h.finish()
}

/// The little-endian u64 at `at` in `bytes`, if it is all there.
pub(super) fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: u64 = 0x7e44_0001;

    /// A fresh, empty directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tern-store-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn blob(key: u64, len: usize) -> Vec<u8> {
        (0..len).map(|i| (key as usize).wrapping_mul(31).wrapping_add(i) as u8).collect()
    }

    #[test]
    fn round_trip() {
        let dir = scratch("round-trip");
        let path = dir.join("sub/a.tbc");
        assert!(Store::open(&path, TAG).is_none());
        let new: Vec<_> = [5u64, 1, 9, 0, u64::MAX].iter().map(|&k| (k, blob(k, k as usize % 50))).collect();
        write_merged(&path, TAG, &new, usize::MAX).unwrap();
        let store = Store::open(&path, TAG).unwrap();
        assert_eq!(store.len(), 5);
        assert!(!store.is_empty());
        for (k, b) in &new {
            assert_eq!(store.get(*k).as_deref(), Some(&b[..]));
        }
        assert_eq!(store.get(2), None);
        // The blobs in the order they were given, the index by key.
        let keys: Vec<u64> = store.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [5, 1, 9, 0, u64::MAX]);
        let indexed: Vec<u64> = (0..store.len()).filter_map(|i| store.key_at(i)).collect();
        assert_eq!(indexed, [0, 1, 5, 9, u64::MAX]);
        let mode = std::fs::metadata(path.parent().unwrap()).unwrap();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o077, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_store() {
        let dir = scratch("empty");
        let path = dir.join("e.tbc");
        write_merged(&path, TAG, &[], usize::MAX).unwrap();
        let store = Store::open(&path, TAG).unwrap();
        assert!(store.is_empty());
        assert_eq!(store.iter().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn merge_new_wins_old_kept() {
        let dir = scratch("merge");
        let path = dir.join("m.tbc");
        write_merged(&path, TAG, &[(1, b"one".to_vec()), (2, b"two".to_vec())], 1 << 20).unwrap();
        write_merged(&path, TAG, &[(2, b"TWO!".to_vec()), (3, b"three".to_vec())], 1 << 20).unwrap();
        let store = Store::open(&path, TAG).unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store.get(1).as_deref(), Some(&b"one"[..]));
        assert_eq!(store.get(2).as_deref(), Some(&b"TWO!"[..]));
        assert_eq!(store.get(3).as_deref(), Some(&b"three"[..]));
        // The old blobs keep their order (a replaced one its place), the
        // new ones follow.
        write_merged(&path, TAG, &[(0, b"zero".to_vec()), (2, b"2".to_vec())], 1 << 20).unwrap();
        let store = Store::open(&path, TAG).unwrap();
        let keys: Vec<u64> = store.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [1, 2, 3, 0]);
        assert_eq!(store.get(2).as_deref(), Some(&b"2"[..]));
        write_merged(&path, TAG, &[(2, b"TWO!".to_vec())], 1 << 20).unwrap();
        // Blobs it holds already: the file is not written again.
        let ino = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
        let before = ino(&path);
        write_merged(&path, TAG, &[(1, b"one".to_vec()), (3, b"three".to_vec())], 1 << 20).unwrap();
        assert_eq!(ino(&path), before);
        // A store for another tag is replaced, not merged.
        write_merged(&path, TAG + 1, &[(7, b"seven".to_vec())], 1 << 20).unwrap();
        let store = Store::open(&path, TAG + 1).unwrap();
        assert_eq!(store.iter().collect::<Vec<_>>(), [(7, b"seven".to_vec())]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tag_mismatch() {
        let dir = scratch("tag");
        let path = dir.join("t.tbc");
        write_merged(&path, TAG, &[(1, b"x".to_vec())], 1 << 20).unwrap();
        assert!(Store::open(&path, TAG).is_some());
        assert!(Store::open(&path, TAG ^ 1).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn truncated_and_corrupted() {
        let dir = scratch("corrupt");
        let path = dir.join("c.tbc");
        let new: Vec<_> = (0..8u64).map(|k| (k * 3, blob(k, 20 + k as usize))).collect();
        write_merged(&path, TAG, &new, usize::MAX).unwrap();
        let good = std::fs::read(&path).unwrap();
        let index_end = HEADER_LEN + new.len() * ENTRY_LEN;

        // Every truncation fails to open or is caught (never panics): the
        // blobs cut off are missing, the others are right.
        for len in 0..good.len() {
            let Some(store) = Store::parse(good[..len].to_vec(), TAG) else {
                continue;
            };
            assert!(len >= index_end, "len {len}");
            assert!(store.iter().count() < new.len(), "len {len}");
            for (k, b) in &new {
                assert!(store.get(*k).is_none_or(|got| &got == b), "len {len}");
            }
        }
        // A flipped blob byte rejects that blob only.
        let mut bad = good.clone();
        bad[index_end] ^= 0x40;
        let store = Store::parse(bad, TAG).unwrap();
        assert_eq!(store.get(0), None);
        assert_eq!(store.iter().count(), new.len() - 1);
        for (k, b) in &new[1..] {
            assert_eq!(store.get(*k).as_deref(), Some(&b[..]));
        }
        // Any flipped bit anywhere: no panic, and no blob under a wrong key.
        for at in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[at] ^= 1 << bit;
                let Some(store) = Store::parse(bad, TAG) else {
                    continue;
                };
                for (k, b) in store.iter() {
                    let want = new.iter().find(|(nk, _)| *nk == k);
                    assert_eq!(want.map(|(_, nb)| &nb[..]), Some(&b[..]), "byte {at} bit {bit}");
                }
                if at < index_end {
                    // A damaged index entry never yields a blob.
                    let entry = (at.saturating_sub(HEADER_LEN)) / ENTRY_LEN;
                    if at >= HEADER_LEN {
                        assert_eq!(store.get(new[entry].0), None, "byte {at} bit {bit}");
                    }
                }
            }
        }
        // Garbage and huge counts never panic.
        let mut huge = good.clone();
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(Store::parse(huge, TAG).is_none());
        let mut far = good.clone();
        far[HEADER_LEN + 8..HEADER_LEN + 16].copy_from_slice(&(u64::MAX - 2).to_le_bytes());
        let far = Store::parse(far, TAG).unwrap();
        assert_eq!(far.get(new[0].0), None);
        assert_eq!(far.iter().count(), new.len() - 1);
        std::fs::write(&path, b"not a store at all").unwrap();
        assert!(Store::open(&path, TAG).is_none());
        // A corrupt file is replaced by the next write.
        write_merged(&path, TAG, &[(1, b"a".to_vec())], 1 << 20).unwrap();
        assert_eq!(Store::open(&path, TAG).unwrap().get(1).as_deref(), Some(&b"a"[..]));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_key_is_found_and_no_other() {
        let dir = scratch("lookup");
        let path = dir.join("l.tbc");
        // Keys as a file's block offsets are spread out; these are also
        // clustered and extreme, so bisection has to take over.
        // A large store (fences every eighth key) and a small one (every
        // key a fence).
        for n in [3000u64, 100] {
            let _ = std::fs::remove_file(&path);
            let mut keys: Vec<u64> = (0..n).map(|i| i * 37 + (i % 7)).collect();
            keys.extend((0..n / 15).map(|i| 1 << 40 | i));
            keys.extend([u64::MAX - 1, u64::MAX]);
            let new: Vec<_> = keys.iter().map(|&k| (k, k.to_le_bytes().to_vec())).collect();
            write_merged(&path, TAG, &new, usize::MAX).unwrap();
            let store = Store::open(&path, TAG).unwrap();
            assert_eq!(store.len(), keys.len());
            assert_eq!(store.fence_every(), if n > 500 { FENCE_EVERY } else { 1 });
            for &k in &keys {
                assert_eq!(store.get(k), Some(k.to_le_bytes().to_vec()), "key {k}");
            }
            for k in [1u64, 39, 36, 1 << 39, (1 << 40) + n, u64::MAX - 2] {
                assert_eq!(store.get(k), None, "key {k}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_truncated_under_its_mapping_gives_no_blobs() {
        let dir = scratch("shrunk");
        let path = dir.join("s.tbc");
        let new: Vec<_> = (0..4u64).map(|k| (k, blob(k, 5000))).collect();
        write_merged(&path, TAG, &new, usize::MAX).unwrap();
        let store = Store::open(&path, TAG).unwrap();
        assert_eq!(store.get(3), Some(blob(3, 5000)));
        // Not what tern does (it renames whole files over), but another
        // program might: the mapping then faults past the end.
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(100).unwrap();
        assert_eq!(store.get(3), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn max_bytes_respected() {
        let dir = scratch("max");
        let path = dir.join("x.tbc");
        let limit = HEADER_LEN + 3 * (ENTRY_LEN + 100);
        let first: Vec<_> = (0..2u64).map(|k| (k, blob(k, 100))).collect();
        write_merged(&path, TAG, &first, limit).unwrap();
        let more: Vec<_> = (10..15u64).map(|k| (k, blob(k, 100))).collect();
        write_merged(&path, TAG, &more, limit).unwrap();
        let store = Store::open(&path, TAG).unwrap();
        assert_eq!(store.len(), 3);
        assert!(store.get(0).is_some() && store.get(1).is_some() && store.get(10).is_some());
        assert!(std::fs::metadata(&path).unwrap().len() as usize <= limit);
        // Existing blobs are kept even under a smaller limit.
        write_merged(&path, TAG, &[(20, blob(20, 10))], 10).unwrap();
        let store = Store::open(&path, TAG).unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store.get(20), None);
        // Replacing a blob by a smaller one is always allowed.
        write_merged(&path, TAG, &[(0, blob(0, 5))], 10).unwrap();
        assert_eq!(Store::open(&path, TAG).unwrap().get(0), Some(blob(0, 5)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_writers() {
        let dir = scratch("concurrent");
        let path = dir.join("w.tbc");
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for i in 0..50u64 {
                        let key = t * 1000 + i;
                        write_merged(&path, TAG, &[(key, blob(key, 64))], usize::MAX).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let store = Store::open(&path, TAG).unwrap();
        assert!(!store.is_empty());
        assert_eq!(store.iter().count(), store.len());
        for (k, b) in store.iter() {
            assert_eq!(b, blob(k, 64));
        }
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
