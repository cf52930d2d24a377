//! Which file a guest code address belongs to, from `/proc/self/maps`.
//!
//! A file is named by a [`FileKey`] (device, inode, size and times), taken by
//! `stat`ing `/proc/self/map_files/<start>-<end>`, or else the mapped path if
//! it is still the mapped file. Only executable mappings count, and each is
//! `stat`ed once, when code in it is first looked up.

use rustc_hash::{FxHashMap, FxHasher};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::hash::Hasher;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Identity of a mapped file: changes when the file is replaced or modified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileKey {
    /// Device of the file.
    pub dev: u64,
    /// Inode of the file.
    pub ino: u64,
    /// Size of the file in bytes.
    pub size: u64,
    /// Last modification time, in nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Last status change time, in nanoseconds since the epoch.
    pub ctime_ns: i64,
}

impl FileKey {
    pub(crate) fn of(md: &std::fs::Metadata) -> FileKey {
        let ns = |s: i64, ns: i64| s.saturating_mul(1_000_000_000).saturating_add(ns);
        FileKey {
            dev: md.dev(),
            ino: md.ino(),
            size: md.size(),
            mtime_ns: ns(md.mtime(), md.mtime_nsec()),
            ctime_ns: ns(md.ctime(), md.ctime_nsec()),
        }
    }
}

/// A file-backed mapping: guest range [start, end), the file offset at
/// `start`, the file, and the mapped path (for naming the store file).
#[derive(Clone, Debug)]
pub struct FileRegion {
    /// First address of the mapping.
    pub start: u64,
    /// End (exclusive) of the mapping.
    pub end: u64,
    /// File offset mapped at `start`.
    pub offset: u64,
    /// The mapped file.
    pub key: FileKey,
    /// The mapped path, as `/proc/self/maps` shows it.
    pub name: String,
}

/// A mapping as `/proc/self/maps` shows it: (start, end, offset, device, inode).
type MapId = (u64, u64, u64, u64, u64);

/// An executable file mapping of the last read, and its path.
struct Known {
    id: MapId,
    path: Vec<u8>,
}

/// Remembers the file-backed mappings of this process.
#[derive(Default)]
pub struct Regions {
    /// Executable file mappings of the last read, by start address.
    known: BTreeMap<u64, Known>,
    /// The region of each mapping asked about (None: its file cannot be
    /// named). Mappings are `stat`ed only when code in them is looked up,
    /// so tern's own are not.
    regions: FxHashMap<MapId, Option<FileRegion>>,
    /// The generation of the last read of the maps.
    read_generation: Option<u64>,
    /// The mapping the last lookup found (until the maps are read again):
    /// most lookups fall in the one before's (the next block of the same
    /// library, the same block's two stores asked in turn), whose range
    /// answers without searching `known`.
    last: Option<MapId>,
    /// Number of reads of the maps (for tests).
    reads: u64,
}

impl Regions {
    /// The file region holding `addr`, re-reading /proc/self/maps when `addr`
    /// is in no known region and the maps may have changed since the last
    /// read (`generation` is a counter the caller bumps on every guest
    /// mmap/munmap/mremap/mprotect; re-read at most once per generation for
    /// addresses outside known file regions). Returns None for anonymous
    /// memory, [vdso]/[vvar]/[stack]/[heap], deleted files (" (deleted)"), or
    /// if anything fails.
    pub fn find(&mut self, addr: u64, generation: u64) -> Option<&FileRegion> {
        if let Some(id) = self.last.filter(|id| (id.0..id.1).contains(&addr)) {
            return self.regions.get(&id)?.as_ref();
        }
        if lookup(&self.known, addr).is_none() && self.read_generation != Some(generation) {
            self.read_generation = Some(generation);
            self.reread();
        }
        let known = lookup(&self.known, addr)?;
        let (id, path) = (known.id, &known.path);
        self.last = Some(id);
        self.regions.entry(id).or_insert_with(|| file_region(id, path)).as_ref()
    }

    /// Forgets everything (e.g. after exec or when the caller knows the maps
    /// changed a lot).
    pub fn clear(&mut self) {
        *self = Regions::default();
    }

    /// Replaces the known mappings by those of `/proc/self/maps` now (none
    /// if it cannot be read), keeping the regions of those still mapped.
    fn reread(&mut self) {
        self.reads += 1;
        self.last = None;
        let maps = crate::hostmem::read_proc("/proc/self/maps").unwrap_or_default();
        let mut known = BTreeMap::new();
        for line in maps.split(|&b| b == b'\n') {
            let Some(m) = MapsLine::parse(line) else {
                continue;
            };
            let id = (m.start, m.end, m.offset, m.dev, m.inode);
            known.insert(m.start, Known { id, path: m.path.to_vec() });
        }
        self.regions.retain(|id, _| known.get(&id.0).is_some_and(|k| k.id == *id));
        self.known = known;
    }
}

/// The mapping of `known` holding `addr`.
fn lookup(known: &BTreeMap<u64, Known>, addr: u64) -> Option<&Known> {
    let (_, k) = known.range(..=addr).next_back()?;
    (addr < k.id.1).then_some(k)
}

/// The region of mapping `id` of `path`, if its file can be `stat`ed: through
/// `/proc/self/map_files`, else the path if it is still the mapped file.
fn file_region((start, end, offset, dev, inode): MapId, path: &[u8]) -> Option<FileRegion> {
    let link = format!("/proc/self/map_files/{start:x}-{end:x}");
    let md = match std::fs::metadata(link) {
        Ok(md) => md,
        Err(_) => {
            let md = std::fs::metadata(Path::new(OsStr::from_bytes(path))).ok()?;
            (md.dev() == dev && md.ino() == inode).then_some(md)?
        }
    };
    let name = String::from_utf8_lossy(path).into_owned();
    Some(FileRegion { start, end, offset, key: FileKey::of(&md), name })
}

/// The store file name for a file: `<basename>-<16 hex digits of a hash of
/// key>.tbc` (basename sanitized to [A-Za-z0-9._-], at most 40 chars).
pub fn store_file_name(region: &FileRegion) -> String {
    let base = region.name.rsplit('/').next().unwrap_or_default();
    let base: String = base
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .take(40)
        .collect();
    let k = &region.key;
    let mut bytes = Vec::with_capacity(40);
    for field in [k.dev, k.ino, k.size, k.mtime_ns as u64, k.ctime_ns as u64] {
        bytes.extend_from_slice(&field.to_le_bytes());
    }
    let mut h = FxHasher::default();
    h.write(&bytes);
    format!("{base}-{:016x}.tbc", h.finish())
}

/// A `/proc/self/maps` line of a file mapping.
#[derive(Debug, PartialEq)]
struct MapsLine<'a> {
    start: u64,
    end: u64,
    offset: u64,
    /// The device, as `libc::makedev` of the line's major:minor.
    dev: u64,
    inode: u64,
    path: &'a [u8],
}

impl<'a> MapsLine<'a> {
    /// Parses `start-end perms offset major:minor inode path`; None unless
    /// it is an executable mapping (where code runs) of a file that still
    /// exists.
    fn parse(line: &'a [u8]) -> Option<MapsLine<'a>> {
        let (range, rest) = field(line)?;
        let (perms, rest) = field(rest)?;
        if perms.as_bytes().get(2) != Some(&b'x') {
            return None;
        }
        let (offset, rest) = field(rest)?;
        let (dev, rest) = field(rest)?;
        let (inode, rest) = field(rest)?;
        let path = rest.trim_ascii_start();
        let (start, end) = range.split_once('-')?;
        let (major, minor) = dev.split_once(':')?;
        let m = MapsLine {
            start: hex(start)?,
            end: hex(end)?,
            offset: hex(offset)?,
            dev: libc::makedev(u32::from_str_radix(major, 16).ok()?, u32::from_str_radix(minor, 16).ok()?),
            inode: inode.parse().ok()?,
            path,
        };
        let file = path.first() == Some(&b'/') && !path.ends_with(b" (deleted)");
        (file && m.inode != 0 && m.start < m.end).then_some(m)
    }
}

/// The first space-separated field of `s` (as text) and the rest after it.
fn field(s: &[u8]) -> Option<(&str, &[u8])> {
    let s = s.trim_ascii_start();
    let len = s.iter().position(|&b| b == b' ').unwrap_or(s.len());
    let text = std::str::from_utf8(&s[..len]).ok()?;
    (len > 0).then_some((text, &s[len..]))
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_odd_lines() {
        let line = b"7f00-7f10 r-xp 00001000 fd:01 1234     /usr/lib/a b.so";
        assert_eq!(
            MapsLine::parse(line),
            Some(MapsLine {
                start: 0x7f00,
                end: 0x7f10,
                offset: 0x1000,
                dev: libc::makedev(0xfd, 1),
                inode: 1234,
                path: b"/usr/lib/a b.so",
            })
        );
        for bad in [
            &b""[..],
            b"garbage",
            b"7f00-7f10 r-xp 00001000 fd:01 1234",
            b"7f00-7f10 r-xp 00001000 fd:01 0 /x",
            b"7f00-7f10 r-xp 00001000 fd:01 1234 /x (deleted)",
            b"7f00-7f10 r-xp 00001000 fd:01 1234 [vdso]",
            b"7f00-7f10 rw-p 00000000 00:00 0 [heap]",
            b"7f00-7f10 rw-p 00000000 00:00 0",
            b"7f10-7f00 r-xp 00001000 fd:01 1234 /x",
            b"7f00_7f10 r-xp 00001000 fd:01 1234 /x",
            b"7f00-7f10 r-xp 00001000 fd01 1234 /x",
            b"7f00-7f10 r-xp 0000100g fd:01 1234 /x",
            b"7f00-7f10 r-xp 00001000 fd:01 -1 /x",
            b"7f00-fffffffffffffffff r-xp 0 fd:01 1 /x",
            b"7f00-7f10 r-xp 0 fffffffff:01 1 /x",
            b"\xff\xfe-7f10 r-xp 0 fd:01 1 /x",
            b"- - - : 1 /x",
        ] {
            assert_eq!(MapsLine::parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        // Non-UTF-8 paths are kept as bytes.
        let line = b"1000-2000 r-xp 0 fd:01 7 /a\xff";
        assert_eq!(MapsLine::parse(line).unwrap().path, b"/a\xff");
    }

    #[test]
    fn own_code_is_in_own_binary() {
        let exe = std::env::current_exe().unwrap();
        let want = FileKey::of(&std::fs::metadata(&exe).unwrap());
        let addr = own_code_is_in_own_binary as fn() as usize as u64;
        let mut regions = Regions::default();
        let region = regions.find(addr, 1).unwrap().clone();
        assert!(region.start <= addr && addr < region.end);
        assert_eq!(Path::new(&region.name), exe);
        assert_eq!(region.key, want);
        // Data is not code: only executable mappings are regions.
        static DATA: u64 = 5;
        let data = &DATA as *const u64 as u64;
        assert!(regions.find(data, 1).is_none());
        assert_eq!(regions.reads, 1);
    }

    /// The region found last answers for its range until the maps are
    /// read again: another file mapped over it is then found.
    #[test]
    fn the_last_region_is_forgotten_when_the_maps_are_read_again() {
        use std::os::fd::AsRawFd;
        let dir = std::env::temp_dir().join(format!("tern-regions-last-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str| {
            let path = dir.join(name);
            std::fs::write(&path, vec![0xc3u8; 8192]).unwrap();
            let f = std::fs::File::open(&path).unwrap();
            (FileKey::of(&f.metadata().unwrap()), f)
        };
        let ((key_a, a), (key_b, b)) = (file("a"), file("b"));
        let map = |f: &std::fs::File, at: u64, fixed: i32| {
            // SAFETY: a fresh private mapping of our own file (or one
            // replacing the test's own mapping at `at`).
            let p = unsafe {
                libc::mmap(
                    at as *mut _,
                    8192,
                    libc::PROT_READ | libc::PROT_EXEC,
                    libc::MAP_PRIVATE | fixed,
                    f.as_raw_fd(),
                    0,
                )
            };
            p as u64
        };
        let at = map(&a, 0, 0);
        let mut regions = Regions::default();
        assert_eq!(regions.find(at, 1).map(|r| r.key), Some(key_a));
        assert_eq!(regions.find(at + 4096, 2).map(|r| r.key), Some(key_a));
        assert_eq!(regions.reads, 1);
        assert_eq!(map(&b, at, libc::MAP_FIXED), at);
        // Still the last read's view until a miss reads the maps again.
        assert_eq!(regions.find(at, 3).map(|r| r.key), Some(key_a));
        assert!(regions.find(0, 3).is_none());
        assert_eq!(regions.reads, 2);
        assert_eq!(regions.find(at, 3).map(|r| r.key), Some(key_b));
        // SAFETY: the test's own mapping.
        unsafe { libc::munmap(at as *mut _, 8192) };
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn anonymous_memory_is_none() {
        let heap = vec![0u8; 1 << 20];
        let stack = 0u64;
        let mut regions = Regions::default();
        assert!(regions.find(heap.as_ptr() as u64, 7).is_none());
        assert!(regions.find(&stack as *const u64 as u64, 7).is_none());
        assert!(regions.find(0, 7).is_none());
        assert!(regions.find(u64::MAX, 7).is_none());
        // Misses re-read at most once per generation.
        assert_eq!(regions.reads, 1);
        assert!(regions.find(heap.as_ptr() as u64, 8).is_none());
        assert_eq!(regions.reads, 2);
        regions.clear();
        assert!(regions.find(heap.as_ptr() as u64, 8).is_none());
        assert_eq!(regions.reads, 1);
    }

    #[test]
    fn stat_falls_back_to_path() {
        let exe = std::env::current_exe().unwrap();
        let md = std::fs::metadata(&exe).unwrap();
        let path = exe.as_os_str().as_bytes();
        // No mapping at [1, 2): map_files fails, the path is used.
        let dev = libc::makedev(libc::major(md.dev()), libc::minor(md.dev()));
        let key = |id| file_region(id, path).map(|r| r.key);
        assert_eq!(key((1, 2, 0, dev, md.ino())), Some(FileKey::of(&md)));
        assert_eq!(key((1, 2, 0, dev, md.ino() + 1)), None);
        assert_eq!(key((1, 2, 0, dev ^ 1, md.ino())), None);
    }

    #[test]
    fn store_file_names() {
        let key = FileKey { dev: 1, ino: 2, size: 3, mtime_ns: 4, ctime_ns: 5 };
        let mut region = FileRegion {
            start: 0,
            end: 1,
            offset: 0,
            key,
            name: "/usr/lib/libfoo bar+baz\u{e9}.so.1".into(),
        };
        let name = store_file_name(&region);
        assert!(name.starts_with("libfoo_bar_baz_.so.1-"), "{name}");
        assert!(name.ends_with(".tbc"));
        assert_eq!(name.len(), "libfoo_bar_baz_.so.1-".len() + 16 + 4);
        region.name = format!("/{}", "x".repeat(100));
        assert!(store_file_name(&region).starts_with(&format!("{}-", "x".repeat(40))));
        region.name = "/a".into();
        let a = store_file_name(&region);
        region.key.mtime_ns += 1;
        assert_ne!(store_file_name(&region), a);
    }
}
