//! On-disk store of opaque blobs keyed by u64, one file per guest file.
//!
//! Format (little-endian): magic `TERNBLK1`, tag u64, count u64, then `count`
//! index entries (key u64, offset u64, len u32, checksum u64) sorted by key,
//! then the blob bytes. Offsets count from the start of the file. The
//! checksum is an `FxHasher` hash of the key and the blob, so a damaged key
//! in the index cannot hand out another key's blob. `open` checks only the
//! header and index; blobs are checked when read.
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
    index: Vec<Entry>,
    /// key -> position in `index`: a lookup per translated block, where a
    /// binary search over a large index missed the cache at every step.
    by_key: rustc_hash::FxHashMap<u64, u32>,
    /// Bytes of blobs read since the mapping's pages were last dropped.
    read: std::cell::Cell<usize>,
}

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
        let mut head = vec![0u8; HEADER_LEN];
        file.read_exact_at(&mut head, 0).ok()?;
        let count = usize::try_from(read_u64(&head, 16)?).ok()?;
        let blobs_start = count.checked_mul(ENTRY_LEN)?.checked_add(HEADER_LEN)?;
        if blobs_start > len {
            return None;
        }
        head.resize(blobs_start, 0);
        file.read_exact_at(&mut head[HEADER_LEN..], HEADER_LEN as u64).ok()?;
        let index = parse_index(&head, len, tag)?;
        // tern's memory, out of the guest's way; its bytes are only ever
        // copied out with the fault-safe copy.
        let addr =
            crate::hostmem::map_tern_fd(len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd()).ok()?;
        Some(Store::new(Data::Mapped { addr, len }, index))
    }

    /// A store read into memory.
    #[cfg(test)]
    fn parse(bytes: Vec<u8>, tag: u64) -> Option<Store> {
        let index = parse_index(&bytes, bytes.len(), tag)?;
        Some(Store::new(Data::Owned(bytes), index))
    }

    fn new(data: Data, index: Vec<Entry>) -> Store {
        let by_key = index.iter().enumerate().map(|(i, e)| (e.key, i as u32)).collect();
        Store { data, index, by_key, read: std::cell::Cell::new(0) }
    }

    /// The blob stored under `key`, if any and if its checksum matches.
    pub fn get(&self, key: u64) -> Option<Vec<u8>> {
        let mut blob = Vec::new();
        self.get_into(key, &mut blob).then_some(blob)
    }

    /// [`Store::get`] into `blob` (reused): false if there is none.
    pub fn get_into(&self, key: u64, blob: &mut Vec<u8>) -> bool {
        match self.by_key.get(&key) {
            Some(&i) => self.checked_into(&self.index[i as usize], blob),
            None => false,
        }
    }

    /// Number of blobs.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the store holds no blobs.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Iterates (key, blob) over all blobs whose checksum matches.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Vec<u8>)> + '_ {
        self.index.iter().filter_map(|e| Some((e.key, self.checked(e)?)))
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
        let read = match &self.data {
            #[cfg(test)]
            Data::Owned(bytes) => match bytes.get(e.start..e.end) {
                Some(b) => {
                    blob.copy_from_slice(b);
                    true
                }
                None => false,
            },
            Data::Mapped { addr, len } => {
                self.read.set(self.read.get() + blob.len());
                if self.read.get() >= BYTES_PER_DROP {
                    self.read.set(0);
                    // SAFETY: MADV_DONTNEED on a private read-only file
                    // mapping of tern's own only drops page-table entries:
                    // the next read faults the file's page back in.
                    unsafe { libc::madvise(*addr as *mut libc::c_void, *len, libc::MADV_DONTNEED) };
                }
                e.end <= *len && crate::guestmem::read_guest(addr + e.start as u64, blob) == blob.len()
            }
        };
        read && checksum(e.key, blob) == e.sum
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

/// The index of a store file `len` bytes long whose header and index are
/// `head`, if they are well formed and for `tag`.
fn parse_index(head: &[u8], len: usize, tag: u64) -> Option<Vec<Entry>> {
    if head.get(..8)? != MAGIC || read_u64(head, 8)? != tag {
        return None;
    }
    let count = usize::try_from(read_u64(head, 16)?).ok()?;
    let blobs_start = count.checked_mul(ENTRY_LEN)?.checked_add(HEADER_LEN)?;
    if blobs_start > len || blobs_start > head.len() {
        return None;
    }
    let mut index = Vec::with_capacity(count);
    for i in 0..count {
        let at = HEADER_LEN + i * ENTRY_LEN;
        let key = read_u64(head, at)?;
        let start = usize::try_from(read_u64(head, at + 8)?).ok()?;
        let len_i = usize::try_from(read_u32(head, at + 16)?).ok()?;
        let sum = read_u64(head, at + 20)?;
        let end = start.checked_add(len_i)?;
        let unsorted = index.last().is_some_and(|prev: &Entry| prev.key >= key);
        if unsorted || start < blobs_start || end > len {
            return None;
        }
        index.push(Entry { key, start, end, sum });
    }
    Some(index)
}

/// Writes the union of the store now at `path` (if valid for `tag`) and
/// `new` (new wins on equal keys) to `path`: written to a temporary file in
/// the same directory, then renamed over `path`, so that concurrent writers
/// from several processes never leave a torn file (last rename wins; blobs
/// may be lost, never corrupted); nothing is written if `new` adds or
/// changes nothing. Creates the parent directory with mode
/// 0700 if missing. If the result would exceed `max_bytes`, keeps the
/// existing blobs and adds new ones only while under the limit.
pub fn write_merged(path: &Path, tag: u64, new: &[(u64, Vec<u8>)], max_bytes: usize) -> std::io::Result<()> {
    let old = Store::open(path, tag);
    let old_blobs: Vec<(u64, Vec<u8>)> = old.iter().flat_map(Store::iter).collect();
    let mut blobs: BTreeMap<u64, &[u8]> = old_blobs.iter().map(|(k, b)| (*k, &b[..])).collect();
    let mut size = HEADER_LEN + blobs.values().map(|b| ENTRY_LEN + b.len()).sum::<usize>();
    let mut added = false;
    for (key, blob) in new {
        if blobs.get(key).is_some_and(|b| b == blob) {
            continue;
        }
        let grown = match blobs.get(key) {
            Some(prev) => (size - prev.len()).saturating_add(blob.len()),
            None => size.saturating_add(ENTRY_LEN + blob.len()),
        };
        if u32::try_from(blob.len()).is_err() || (grown > max_bytes && grown > size) {
            continue;
        }
        blobs.insert(*key, blob);
        size = grown;
        added = true;
    }
    if !added && old.is_some() {
        return Ok(());
    }
    let bytes = encode(tag, &blobs, size);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let (tmp, mut file) = create_temp(path)?;
    let written = file.write_all(&bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The file image of `blobs` (sorted by key), `size` bytes long.
fn encode(tag: u64, blobs: &BTreeMap<u64, &[u8]>, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&(blobs.len() as u64).to_le_bytes());
    let mut offset = HEADER_LEN + blobs.len() * ENTRY_LEN;
    for (&key, blob) in blobs {
        out.extend_from_slice(&key.to_le_bytes());
        out.extend_from_slice(&(offset as u64).to_le_bytes());
        // Blobs over u32::MAX bytes were refused by `write_merged`.
        out.extend_from_slice(&(blob.len() as u32).to_le_bytes());
        out.extend_from_slice(&checksum(key, blob).to_le_bytes());
        offset += blob.len();
    }
    for blob in blobs.values() {
        out.extend_from_slice(blob);
    }
    out
}

/// Creates a new, uniquely named temporary file next to `path`.
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

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
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
        let keys: Vec<u64> = store.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [0, 1, 5, 9, u64::MAX]);
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

        // Every truncation fails to open or is caught (never panics).
        for len in 0..good.len() {
            assert!(Store::parse(good[..len].to_vec(), TAG).is_none(), "len {len}");
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
        assert!(Store::parse(far, TAG).is_none());
        std::fs::write(&path, b"not a store at all").unwrap();
        assert!(Store::open(&path, TAG).is_none());
        // A corrupt file is replaced by the next write.
        write_merged(&path, TAG, &[(1, b"a".to_vec())], 1 << 20).unwrap();
        assert_eq!(Store::open(&path, TAG).unwrap().get(1).as_deref(), Some(&b"a"[..]));
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
