//! Persistent translation cache: blocks translated by one tern process are
//! kept in files, one per guest file (a library, a program), and used
//! again by later processes that run the same code, so that a short
//! process (a shell's `sed`, `cc1` started by `gcc`) does not translate
//! the dynamic loader's and libc's start-up again. See ARCHITECTURE.md,
//! "Persistent translation cache".
//!
//! - `regions`: which file (and file offset) a guest address belongs to.
//! - `store`: a file of blobs by key, written whole and renamed into place.
//! - `record`: a block as a blob.
//! - `cpuid_record`: the host's CPUID answers, for the next tern.
//! - `group`: a program's start-up list, the blocks its runs install first.
//! - `image`: a file's first share of that list laid out as the code cache
//!   holds it, installed with one copy.
//!
//! A record is used only where the guest bytes equal those it was
//! translated from, and is then moved to its new guest and host addresses
//! (`Emitted::relocate`), which gives the block a fresh translation would:
//! a stale, foreign or damaged file costs misses, never wrong code.

pub mod cpuid_record;
pub mod group;
pub mod image;
pub mod record;
pub mod regions;
pub mod store;

use crate::baseline::Emitted;
use record::Record;
use regions::{FileKey, Regions};
use rustc_hash::FxHashMap;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

/// Version of the record layout and of the translation it holds: bump it
/// when either changes in a way the tern binary's identity would not show
/// (it always changes with the binary).
const FORMAT: u64 = 3;
/// Largest store file written: room for a compiler's library (rustc's
/// libLLVM and librustc_driver each took the 64 MiB this once was, and
/// every run translated what did not fit again). Written one blob at a
/// time (`store::write_merged`), so its size is not held in memory.
const MAX_STORE: usize = 256 << 20;
/// Days after which the directory of another tern binary or options is
/// removed (by the first process of a new one).
const STALE_DAYS: u64 = 7;
/// A store is written again only if the new blocks' bytes are at least a
/// `REWRITE_RATIO`th of its size; smaller additions go to its additions
/// store (`save_blobs`).
const REWRITE_RATIO: u64 = 16;
/// Most blob bytes a process keeps for writing at its end.
const MAX_PENDING: usize = 64 << 20;

/// A guest address as a file and an offset in it.
type FileOffset = (FileKey, u64);

/// Blocks translated for one file: its store's name and (file offset,
/// record) pairs.
type Pending = (String, Vec<(u64, Vec<u8>)>);

/// The persistent cache of one process.
pub struct Persist {
    dir: PathBuf,
    tag: u64,
    regions: Regions,
    /// Store files opened so far, per guest file.
    stores: FxHashMap<FileKey, Opened>,
    /// When the store files were last looked at again (`clock::Instant`'s
    /// nanoseconds; 0: at the next miss).
    refreshed: u64,
    /// Blocks translated here, per file: its store's name and (file
    /// offset, record) pairs.
    pending: FxHashMap<FileKey, Pending>,
    pending_bytes: usize,
    /// `regions` re-reads `/proc/self/maps` only for a new generation, and,
    /// after reads that found nothing (code in anonymous memory: a guest
    /// JIT), only once `wait` more lookups have missed.
    generation: u64,
    missed: u32,
    wait: u32,
    /// The last blob read (its memory is reused).
    blob: Vec<u8>,
    /// Bytes of guest mappings made since the stores' pages were last
    /// dropped (`guest_grew`).
    grown: u64,
    /// Vectors of blocks installed since, for the next record read
    /// (`recycle`, `recycle_guest`).
    spare: Record,
    /// The last [`Persist::find`]'s pc and generation, and the file and
    /// offset it found there.
    last_find: Option<(u64, u64, Option<FileOffset>)>,
    /// The program's start-up list (`group.rs`): its file's name (None: no
    /// program named, [`Persist::set_program`]), the list as read (None:
    /// not read yet), the mappings (start, file) whose first segment was
    /// handed out, the later segments' blocks in those mappings (guest pc
    /// -> segment) and those not handed out yet by span (guest address,
    /// file, segment), and the blocks this process installed that the list did
    /// not give it, per file: its store's name and their offsets.
    group_name: Option<String>,
    group: Option<group::Group>,
    group_given: rustc_hash::FxHashSet<(u64, FileKey)>,
    group_later: FxHashMap<u64, (FileKey, u16)>,
    group_later_pages: FxHashMap<(u64, FileKey, u16), Vec<u64>>,
    group_missed: FxHashMap<FileKey, (String, Vec<u64>)>,
    missed_count: usize,
    /// Blocks the list gave that could not be installed then (a block
    /// whose indirect branch's slot was not yet bound: ld.so's own,
    /// before it relocates itself): installed later one by one, they are
    /// not misses, the list holds them already ([`Persist::note_miss`]).
    group_unloaded: rustc_hash::FxHashSet<u64>,
    /// When the process started (`Persist::new`): only its first
    /// [`STARTUP_WINDOW`] extends the start-up list.
    started: crate::clock::Instant,
    /// The process is past [`STARTUP_WINDOW`].
    window_closed: bool,
    /// The first share [`Persist::group_share`] handed out last, not asked
    /// for yet ([`Persist::take_first_share`]): its file's store name, and
    /// the mapping's start, end and start minus file offset.
    first_share: Option<FirstShare>,
    /// The later share [`Persist::group_share`] handed out last, not asked
    /// for yet ([`Persist::take_later_share`]).
    later_share: Option<LaterShare>,
    /// Per later segment of a file (by its image's name,
    /// `segment_image_store`): its blocks in this mapping, and what this
    /// process did with its image so far.
    segments: FxHashMap<String, Segment>,
    /// The store name of the file whose share is being installed block by
    /// block for a new start-up image ([`Persist::collect_loaded`]), and
    /// per store name, the file and the offsets of the blocks so loaded,
    /// whose records are read again for the image at the end (a copy of
    /// each kept from the start was the run's peak memory).
    collecting: Option<String>,
    collected: Vec<(String, FileKey, Vec<u64>)>,
}

/// A later segment's span of the start-up list as handed out
/// ([`Persist::group_share`]): the mapping, with `share.store` naming the
/// segment's image; whether the segment's blocks are collected for a new
/// image as they load (it had none); whether its image is due now
/// ([`Segment`]).
pub struct LaterShare {
    pub share: FirstShare,
    pub collect: bool,
    pub image_due: bool,
}

/// What a process knows of a later segment of a file's share: its blocks
/// in the mapping, how many of them its spans asked for handed out so
/// far, and whether its image was installed. The image (all of the
/// segment's blocks that the run that wrote it loaded) is installed once
/// the spans asked for hold a quarter of the segment's blocks: a run that
/// follows the path of the run that added the segment (the same command
/// past the first run's start-up window: `cc1`'s later segments) gets the
/// rest at once, one that only reaches a few of its blocks (`python3 -c
/// pass` after other scripts) does not install the others.
#[derive(Default)]
struct Segment {
    blocks: usize,
    asked: usize,
    installed: bool,
    collect: bool,
}

/// A file's first share of the start-up list as handed out: the file's
/// store name (which names its start-up image), and its mapping's start
/// and end, and start minus file offset (a block's pc is that plus its
/// file offset).
pub struct FirstShare {
    pub store: String,
    pub start: u64,
    pub end: u64,
    pub base: u64,
}

/// The name standing for a store in the path of the start-up image of
/// its file's segment `seg` of a program's list (`image_path`): a later
/// segment's blocks are an image of their own ([`Segment`]).
fn segment_image_store(store: &str, seg: u16) -> String {
    format!("{}.s{seg}", store.strip_suffix(".tbc").unwrap_or(store))
}

/// How often a process looks at its store files again at most
/// ([`Persist::refresh`]): a stat of two files per store opened.
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// A guest file's main store and its additions (`save_blobs`; None:
/// absent or unusable), the main store's path, and what both files were
/// when opened ([`Persist::refresh`]).
struct Opened {
    stores: [Option<store::Store>; 2],
    path: PathBuf,
    ids: [Option<FileId>; 2],
}

impl Opened {
    fn open(path: PathBuf, tag: u64) -> Opened {
        let add = additions_path(&path);
        let ids = [FileId::of(&path), FileId::of(&add)];
        let stores = [store::Store::open(&path, tag), store::Store::open(&add, tag)];
        Opened { stores, path, ids }
    }

    /// True if neither file has been written since it was opened.
    fn current(&self) -> bool {
        [FileId::of(&self.path), FileId::of(&additions_path(&self.path))] == self.ids
    }
}

/// What a store file was: its inode, size and modification time (stores
/// are written whole and renamed into place), None when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId(u64, u64, i64, i64);

impl FileId {
    fn of(path: &Path) -> Option<FileId> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(FileId(m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
    }
}

/// The aligned span of guest code whose blocks of a later segment of a
/// start-up list are installed together, the first time one of them is
/// needed: each span costs the run that reaches it an exit, and the whole
/// mapping would install all of another script's paths for the one block
/// a run happened to share with it.
const LATER_SHARE: u64 = 64 << 10;

/// The part of a process whose misses go into its program's start-up
/// list: a short process's whole run, a long one's start. What a long run
/// translates later is paid once per run anyway, and a list that took in
/// every path of every run (a test suite's scripts run by one python3)
/// would make each short run install thousands of blocks it never runs.
/// The window counts the process's time outside `Jit::translate`: a cold
/// run spends most of its first 200 ms translating, so its list covered
/// less of the start-up than a warm run runs in that time, and the next
/// runs added the rest as later segments, which later runs then took
/// span by span (after five runs, `java -version`: a first share of
/// 35,800 blocks, then 3,300 blocks from 36 spans at every run; `cc1 -O2`
/// of the 300-function input: 23,500 and 4,600 from 37; now 47,900 and
/// 37,900, and no span).
const STARTUP_WINDOW: std::time::Duration = std::time::Duration::from_millis(200);

/// The longest the start-up window stays open, translation included
/// (several threads translating at once count more time than passes).
const STARTUP_WINDOW_WALL: std::time::Duration = std::time::Duration::from_secs(2);

/// True once a process `age` old that spent `translating` of it
/// translating is past its start-up window.
fn startup_window_over(age: std::time::Duration, translating: std::time::Duration) -> bool {
    age.saturating_sub(translating) > STARTUP_WINDOW || age > STARTUP_WINDOW_WALL
}

/// A program's start-up list is written again when the blocks its run
/// needed beyond it are at least a `GROUP_REWRITE_RATIO`th of it.
const GROUP_REWRITE_RATIO: usize = 32;

/// Guest mappings made between drops of the stores' pages
/// ([`Persist::guest_grew`]): rare enough that start-up, whose mappings
/// are a few libraries, reads its blocks without faulting pages in again.
const GROWTH_PER_DROP: u64 = 8 << 20;

impl Persist {
    /// The cache in a subdirectory of `dir` for this tern binary and
    /// translation options (`options`: the CPU model's name and anything
    /// else that changes the code translated), or None if tern cannot name
    /// its own binary.
    pub fn new(dir: PathBuf, options: &str) -> Option<Persist> {
        use std::os::unix::fs::MetadataExt;
        let exe = std::fs::metadata("/proc/self/exe").ok()?;
        let mut h = rustc_hash::FxHasher::default();
        for v in [FORMAT, exe.dev(), exe.ino(), exe.size(), exe.mtime() as u64, exe.mtime_nsec() as u64] {
            h.write_u64(v);
        }
        h.write(options.as_bytes());
        h.write_u8(u8::from(crate::cpu::ibl_index_uses_crc32()));
        let tag = h.finish();
        Some(Persist {
            // One directory per tern binary and options.
            dir: dir.join(format!("{tag:016x}")),
            tag,
            regions: Regions::default(),
            stores: FxHashMap::default(),
            refreshed: crate::clock::monotonic_ns(),
            pending: FxHashMap::default(),
            pending_bytes: 0,
            generation: u64::MAX,
            missed: 0,
            wait: 0,
            blob: Vec::new(),
            spare: Record::default(),
            grown: 0,
            last_find: None,
            group_name: None,
            group: None,
            group_given: Default::default(),
            group_later: FxHashMap::default(),
            group_later_pages: FxHashMap::default(),
            group_missed: FxHashMap::default(),
            missed_count: 0,
            group_unloaded: Default::default(),
            started: crate::clock::Instant::now(),
            window_closed: false,
            first_share: None,
            later_share: None,
            segments: FxHashMap::default(),
            collecting: None,
            collected: Vec::new(),
        })
    }

    /// Names the program this process runs (its main executable, or the
    /// interpreter of a script), whose start-up list it reads and extends.
    pub fn set_program(&mut self, path: &Path) {
        let Ok(md) = std::fs::metadata(path) else { return };
        let region = regions::FileRegion {
            start: 0,
            end: 0,
            offset: 0,
            key: FileKey::of(&md),
            name: path.to_string_lossy().into_owned(),
        };
        let name = regions::store_file_name(&region);
        self.group_name = Some(format!("{}.grp", name.strip_suffix(".tbc").unwrap_or(&name)));
    }

    /// The guest pcs of the blocks the program's start-up list holds for
    /// the file mapping that holds `pc`, in the order a run first needed
    /// them: its first segment's the first time code in that mapping is
    /// asked for, a later segment's in `pc`'s [`LATER_SHARE`] span the
    /// first time one of them is; else none (`group.rs`).
    pub fn group_share(&mut self, pc: u64, generation: u64) -> Vec<u64> {
        if self.group_name.is_none() || self.region(pc, generation).is_none() {
            return Vec::new();
        }
        let Some(r) = self.regions.find(pc, self.generation) else { return Vec::new() };
        let (start, len, offset, key) = (r.start, r.end - r.start, r.offset, r.key);
        let mapping = |store| FirstShare { store, start, end: start + len, base: start.wrapping_sub(offset) };
        if !self.group_given.insert((start, key)) {
            let Some(&(k, seg)) = self.group_later.get(&pc) else { return Vec::new() };
            let span = if k == key {
                self.group_later_pages.remove(&(pc & !(LATER_SHARE - 1), key, seg))
            } else {
                None
            }
            .unwrap_or_default();
            if !span.is_empty() {
                let store = regions::store_file_name(r);
                self.note_later_span(mapping(store), seg, span.len());
            }
            return span;
        }
        let name = regions::store_file_name(r);
        if self.group.is_none() {
            let read = self.group_name.as_ref().and_then(|n| group::Group::read(&self.dir.join(n), self.tag));
            self.group = Some(read.unwrap_or_default());
        }
        let Some(g) = self.group.as_ref() else { return Vec::new() };
        let here = |e: &u64| {
            group::offset(*e)
                .checked_sub(offset)
                .filter(|&o| o < len)
                .map(|o| (start + o, group::segment(*e)))
        };
        // The file's first segment: 0, or that of the first run that used
        // the file (a library only some scripts load).
        let base = g.entries(&name).iter().filter_map(here).map(|(_, seg)| seg).min().unwrap_or(0);
        let mut share = Vec::new();
        self.first_share = Some(mapping(name.clone()));
        for (pc, seg) in g.entries(&name).iter().filter_map(here) {
            if seg == base {
                share.push(pc);
            } else {
                // Known, to be handed out by span when one is asked for.
                self.segments.entry(segment_image_store(&name, seg)).or_default().blocks += 1;
                self.group_later.insert(pc, (key, seg));
                self.group_later_pages.entry((pc & !(LATER_SHARE - 1), key, seg)).or_default().push(pc);
            }
        }
        share
    }

    /// Notes that a span of `n` blocks of later segment `seg` of the file
    /// mapped at `mapping` (whose `store` is the file's store name) was
    /// handed out, and what to do with the segment's image then
    /// ([`Persist::take_later_share`]).
    fn note_later_span(&mut self, mapping: FirstShare, seg: u16, n: usize) {
        let store = segment_image_store(&mapping.store, seg);
        let first = self.segments.get(&store).is_none_or(|s| s.asked == 0);
        let missing = first && !self.image_exists(&store);
        let s = self.segments.entry(store.clone()).or_default();
        s.collect |= missing;
        s.asked += n;
        let image_due = !s.collect && !s.installed && s.asked * 4 >= s.blocks;
        s.installed |= image_due;
        let collect = s.collect;
        let share = FirstShare { store, ..mapping };
        self.later_share = Some(LaterShare { share, collect, image_due });
    }

    /// Blocks the program's start-up list holds, all files together, once
    /// a share of it was handed out (0 before, or without a list): about
    /// how many blocks this process will install at start-up.
    pub fn listed_blocks(&self) -> usize {
        self.group.as_ref().map_or(0, group::Group::len)
    }

    /// The first share the last [`Persist::group_share`] handed out, if
    /// it was one.
    pub fn take_first_share(&mut self) -> Option<FirstShare> {
        self.first_share.take()
    }

    /// The later share the last [`Persist::group_share`] handed out, if it
    /// was one.
    pub fn take_later_share(&mut self) -> Option<LaterShare> {
        self.later_share.take()
    }

    /// True if the start-up image of `store` (a file's, or a segment's:
    /// `segment_image_store`) exists for this program.
    pub fn image_exists(&self, store: &str) -> bool {
        self.image_path(store).is_some_and(|p| p.exists())
    }

    /// The path of the start-up image of the file whose store is `store`
    /// in this program's list.
    fn image_path(&self, store: &str) -> Option<PathBuf> {
        let program = self.group_name.as_ref()?.strip_suffix(".grp")?;
        Some(self.dir.join(format!("{program}.{}.img", store.strip_suffix(".tbc").unwrap_or(store))))
    }

    /// The start-up image of the file whose store is `store`, if there is
    /// one for this program.
    pub fn open_image(&self, store: &str) -> Option<image::Image> {
        image::Image::open(&self.image_path(store)?, self.tag)
    }

    /// The vectors of the last record read, lent to an image's reading.
    pub fn take_spare(&mut self) -> Record {
        std::mem::take(&mut self.spare)
    }

    /// Gives [`Persist::take_spare`]'s vectors back.
    pub fn put_spare(&mut self, spare: Record) {
        self.spare = spare;
    }

    /// Starts (`Some`) or ends collecting the records of the file whose
    /// store is `store` for a new start-up image.
    pub fn collect_for(&mut self, store: Option<String>) {
        self.collecting = store;
    }

    /// Notes that the block for `pc` was just loaded from its store, for
    /// the start-up image being collected, if any.
    pub fn collect_loaded(&mut self, pc: u64, generation: u64) {
        if self.collecting.is_none() {
            return;
        }
        let Some((key, off)) = self.region(pc, generation) else { return };
        let Some(store) = self.collecting.as_deref() else { return };
        match self.collected.iter_mut().find(|(n, k, _)| n == store && *k == key) {
            Some((_, _, offsets)) => offsets.push(off),
            None => self.collected.push((store.to_string(), key, vec![off])),
        }
    }

    /// Writes the start-up images collected ([`Persist::collect_loaded`]),
    /// their records read again from the stores this process opened
    /// (additions first, as [`Persist::find`] reads them).
    fn save_images(&mut self) {
        let collected = std::mem::take(&mut self.collected);
        if !writable(&self.dir) {
            // A cache shared read-only: no image could be written, so
            // none is built (every run would build it again).
            return;
        }
        for (name, key, offsets) in collected {
            let Some(opened) = self.stores.get(&key) else { continue };
            let blocks: Vec<(u64, Vec<u8>)> = offsets
                .iter()
                .filter_map(|&off| {
                    Some((off, opened.stores.iter().rev().flatten().find_map(|s| s.get(off))?))
                })
                .collect();
            let (Some(path), Some(bytes)) = (self.image_path(&name), image::build(self.tag, &blocks)) else {
                continue;
            };
            make_room_for_image(&self.dir, bytes.len() as u64, MAX_IMAGE_BYTES);
            let _ = store::replace_file(&path, &bytes);
        }
    }

    /// True if `pc` is a block of a later share of the start-up list not
    /// handed out yet ([`Persist::group_share`]).
    pub fn listed_later(&self, pc: u64) -> bool {
        self.group_later.get(&pc).is_some_and(|&(key, seg)| {
            self.group_later_pages.contains_key(&(pc & !(LATER_SHARE - 1), key, seg))
        })
    }

    /// Notes that this process installed the block at `pc` without the
    /// start-up list's help (translated, or loaded on its own), for the
    /// list's next version ([`Persist::save`]). True if it was noted (not
    /// a block the list holds, and in the start-up window).
    pub fn note_miss(&mut self, pc: u64, generation: u64, translating: std::time::Duration) -> bool {
        if self.group_unloaded.remove(&pc) {
            return false;
        }
        if self.window_closed || self.group_name.is_none() || self.missed_count >= group::MAX_BLOCKS {
            return false;
        }
        if startup_window_over(self.started.elapsed(), translating) {
            // Later misses need no clock read.
            self.window_closed = true;
            return false;
        }
        let Some((key, off)) = self.region(pc, generation) else { return false };
        if !self.group_missed.contains_key(&key) {
            let Some(name) = self.store_name(pc) else { return false };
            self.group_missed.insert(key, (name, Vec::new()));
        }
        if let Some((_, offsets)) = self.group_missed.get_mut(&key) {
            offsets.push(off);
            self.missed_count += 1;
            return true;
        }
        false
    }

    /// True until a miss found the start-up window closed
    /// ([`Persist::note_miss`]).
    pub fn startup_window_open(&self) -> bool {
        !self.window_closed
    }

    /// Notes that the start-up list gave the block at `pc` but it could not
    /// be installed then: when it is installed later, that is no miss.
    pub fn note_listed_unloaded(&mut self, pc: u64) {
        if self.group_unloaded.len() < group::MAX_BLOCKS {
            self.group_unloaded.insert(pc);
        }
    }

    /// Adds this process's misses to the program's start-up list, and
    /// writes it if they are many enough ([`GROUP_REWRITE_RATIO`]). The
    /// list is read again first: another process may have written it.
    fn save_group(&mut self) {
        let Some(name) = self.group_name.as_ref() else { return };
        if !self.misses_may_be_written() {
            return;
        }
        let path = self.dir.join(name);
        let mut g = group::Group::read(&path, self.tag).unwrap_or_default();
        let before = g.len();
        let seg = g.next_segment();
        let added: usize =
            self.group_missed.values().map(|(store, offsets)| g.extend(store, offsets, seg)).sum();
        if added > 0 && added.saturating_mul(GROUP_REWRITE_RATIO) >= before {
            let _ = store::replace_file(&path, &g.encode(self.tag));
        }
        self.group_missed.clear();
        self.missed_count = 0;
    }

    /// True if this process's misses could make the start-up list be
    /// written again: some, and enough for the list as this process read
    /// it ([`GROUP_REWRITE_RATIO`]; another process may have written a
    /// shorter one since, which the next run then extends). A run with a
    /// handful of blocks of its own (a script of a program whose list is
    /// long) neither takes the cache's lock nor reads the list again.
    pub fn misses_may_be_written(&self) -> bool {
        self.missed_count > 0 && self.missed_count.saturating_mul(GROUP_REWRITE_RATIO) >= self.listed_blocks()
    }

    /// The file holding `pc` and the file offset of `pc`. `generation`
    /// counts the guest's memory map changes.
    fn region(&mut self, pc: u64, generation: u64) -> Option<FileOffset> {
        let reread = generation != self.generation && self.missed >= self.wait;
        let g = if reread { generation } else { self.generation };
        let found = self.regions.find(pc, g).map(|r| (r.key, pc - r.start + r.offset));
        if reread {
            self.generation = generation;
            self.missed = 0;
            self.wait = if found.is_some() { 0 } else { (self.wait * 2).clamp(1, 4096) };
        } else if found.is_none() {
            self.missed = self.missed.saturating_add(1);
        }
        found
    }

    /// The stored block for guest `pc`, if its file has one at that offset:
    /// `nth` 0 is the one in the file's additions store (`save_blobs`),
    /// newer than any in its main store, which `nth` 1 gives. A process
    /// tries both: the main store may hold a block this process cannot use
    /// (its indirect branch's slot predicted a target when it was
    /// translated, in a program bound at load time, and names none now, in
    /// one bound lazily), and the additions the block translated since,
    /// which the main store's used to hide: every process then translated
    /// it again and wrote the additions store again at its end.
    pub fn find(&mut self, pc: u64, generation: u64, nth: usize) -> Option<Record> {
        // Both stores are asked in turn for each block: its region once.
        let (key, off) = match self.last_find {
            Some((p, g, found)) if p == pc && g == generation => found,
            _ => {
                let found = self.region(pc, generation);
                self.last_find = Some((pc, generation, found));
                found
            }
        }?;
        if !self.stores.contains_key(&key) {
            let name = self.store_name(pc)?;
            self.stores.insert(key, Opened::open(self.dir.join(name), self.tag));
        }
        let store = self.stores.get(&key)?.stores.get(1 - nth.min(1))?.as_ref()?;
        if !store.get_into(off, &mut self.blob) {
            return None;
        }
        Record::decode_reusing(&self.blob, std::mem::take(&mut self.spare))
    }

    /// Looks at the store files opened so far again, if the last look was
    /// [`REFRESH_EVERY`] ago or [`Persist::refresh_soon`] asked for one,
    /// and drops those that another process has written since (each is
    /// opened again at its next use). True if any was. For a process that
    /// lives on while others save: a server's fork children, each of
    /// which wrote at its end the blocks it translated, which the server
    /// (whose stores are as they were when it opened them) and its next
    /// children would otherwise translate again, child after child.
    pub fn refresh(&mut self) -> bool {
        let now = crate::clock::monotonic_ns();
        if now.saturating_sub(self.refreshed) < REFRESH_EVERY.as_nanos() as u64 {
            return false;
        }
        self.refreshed = now;
        let before = self.stores.len();
        self.stores.retain(|_, o| o.current());
        self.stores.len() != before
    }

    /// Lets the next [`Persist::refresh`] look at once (a fork child:
    /// its parent's stores may be old).
    pub fn refresh_soon(&mut self) {
        self.refreshed = 0;
    }

    /// Notes a new guest mapping of `bytes`: once the guest has mapped
    /// [`GROWTH_PER_DROP`] more, the stores' pages read since are dropped
    /// from tern's resident set, so that a guest about to use much memory
    /// does not find them in its peak (`ru_maxrss`, which the kernel
    /// samples when pages go): LTP `getrusage03` allows a child 20 MB over
    /// what it touched, and the stores of a warm start took a few of them.
    pub fn guest_grew(&mut self, bytes: u64) {
        self.grown = self.grown.saturating_add(bytes);
        if self.grown >= GROWTH_PER_DROP {
            self.grown = 0;
            for s in self.stores.values().flat_map(|o| o.stores.iter().flatten()) {
                s.drop_pages();
            }
        }
    }

    /// Keeps the vectors of a block's host code just installed (no longer
    /// needed) for the next [`Persist::find`].
    pub fn recycle(&mut self, em: Emitted) {
        self.spare.em = em;
    }

    /// As [`Persist::recycle`], for the guest bytes of a block loaded here.
    pub fn recycle_guest(&mut self, guest: Vec<u8>) {
        self.spare.guest = guest;
    }

    /// Keeps `rec`, translated here, for writing at the process's end.
    pub fn keep(&mut self, rec: &Record, generation: u64) {
        if self.pending_bytes >= MAX_PENDING {
            return;
        }
        let Some((key, off)) = self.region(rec.pc, generation) else { return };
        if !self.pending.contains_key(&key) {
            let Some(name) = self.store_name(rec.pc) else { return };
            self.pending.insert(key, (name, Vec::new()));
        }
        let blob = rec.encode();
        self.pending_bytes += blob.len();
        if let Some((_, blobs)) = self.pending.get_mut(&key) {
            blobs.push((off, blob));
        }
    }

    /// True if blocks translated here, or start-up images collected here,
    /// wait to be written ([`Persist::save`]).
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() || !self.collected.is_empty()
    }

    /// The name of the store of the file holding `pc` (known to `regions`).
    fn store_name(&mut self, pc: u64) -> Option<String> {
        self.regions.find(pc, self.generation).map(regions::store_file_name)
    }

    /// Forgets the blocks kept so far (a forked child: its parent writes
    /// them). Their memory is leaked, not freed: it is the parent's, shared
    /// copy-on-write, and freeing each record wrote malloc's bookkeeping
    /// into most of the heap pages holding them, a copy of each page per
    /// child (half of a fork + `_exit` under tern once the parent had
    /// translated a few thousand blocks, LTP `fcntl14`). A child that lives
    /// on keeps those pages as they were, shared until the parent writes.
    /// The child leaves the program's start-up list alone: it holds what
    /// the program's first process runs (children's paths reach them
    /// through `fork_hints.rs`), so a run that never forks does not
    /// install its subshells' code.
    pub fn forget_pending(&mut self) {
        self.group_name = None;
        self.collecting = None;
        std::mem::forget(std::mem::take(&mut self.collected));
        std::mem::forget(std::mem::take(&mut self.pending));
        self.pending_bytes = 0;
        std::mem::forget(std::mem::take(&mut self.group_missed));
        self.missed_count = 0;
    }

    /// Writes the blocks kept so far to their files (merged with what other
    /// processes wrote there meanwhile), then forgets them. Failures are
    /// silent: the cache only saves time. Nothing is written under a finite
    /// RLIMIT_FSIZE, where a write past the limit would raise SIGXFSZ.
    pub fn save(&mut self) {
        if !file_size_unlimited() {
            return;
        }
        if let Some(base) = self.dir.parent() {
            cpuid_record::save(base);
        }
        if self.pending.is_empty() && !self.misses_may_be_written() && self.collected.is_empty() {
            return;
        }
        if !self.dir.exists() {
            // The first process of a new tern binary or options: the
            // directories of others not written for a while go.
            remove_stale_siblings(&self.dir);
        }
        let _lock = WriteLock::take(&self.dir, LOCK_PATIENCE);
        for (_, (name, blobs)) in std::mem::take(&mut self.pending) {
            let _ = save_blobs(&self.dir.join(name), self.tag, &blobs);
        }
        self.pending_bytes = 0;
        self.save_group();
        self.save_images();
    }
}

/// Most bytes of start-up images a cache directory holds: each program
/// has its own images of the libraries it starts with, so a sweep of
/// 200 test programs wrote 263 MB of them beside 43 MB of stores.
const MAX_IMAGE_BYTES: u64 = 128 << 20;

/// Removes the images in `dir` written longest ago until one of `bytes`
/// more fits in `cap` bytes of images (programs run often write theirs
/// again once dropped: the next run without one collects it).
fn make_room_for_image(dir: &Path, bytes: u64, cap: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut images: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "img"))
        .filter_map(|e| {
            let md = e.metadata().ok()?;
            Some((md.modified().ok()?, md.len(), e.path()))
        })
        .collect();
    let total: u64 = images.iter().map(|i| i.1).sum();
    let mut excess = (total + bytes).saturating_sub(cap);
    images.sort();
    for (_, len, path) in images {
        if excess == 0 {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            excess = excess.saturating_sub(len);
        }
    }
}

/// True if this process may create files in `dir`.
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return false };
    // SAFETY: access only reads the NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// Held while a process merges its blocks into the stores of its
/// directory (`flock` on a file there; released when dropped, or by the
/// kernel if the process dies). A store is read, merged and renamed over
/// whole, so of two processes doing so at once (a pipeline's ending
/// together, `make -j`) the later rename dropped the other's blocks, and
/// the next run translated them again. Without the lock (a directory it
/// cannot be made in, or a holder that keeps it past [`LOCK_PATIENCE`]:
/// stopped by job control while writing), writers go on as before: the
/// cache only saves time, and a process never hangs at its end for it.
struct WriteLock {
    _file: Option<std::fs::File>,
}

impl WriteLock {
    /// The lock of `dir`, waiting at most `patience` for another holder.
    fn take(dir: &Path, patience: std::time::Duration) -> WriteLock {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::OpenOptionsExt;
        let _ = store::create_dir(dir);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join("write.lock"))
            .ok();
        let Some(f) = file else { return WriteLock { _file: None } };
        let start = crate::clock::Instant::now();
        let locked = || {
            // SAFETY: flock on the descriptor `f` owns.
            unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
        };
        while !locked() {
            if start.elapsed() > patience {
                return WriteLock { _file: None };
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        WriteLock { _file: Some(f) }
    }
}

/// Longest a process waits for another's [`WriteLock`].
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Removes the directories next to `dir` named like it (a tag: 16 hex
/// digits) that were last written more than [`STALE_DAYS`] ago: those of
/// tern binaries replaced since (every build of tern has its own).
fn remove_stale_siblings(dir: &std::path::Path) {
    let Some(parent) = dir.parent() else { return };
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    let stale = std::time::Duration::from_secs(STALE_DAYS * 24 * 3600);
    for e in entries.flatten() {
        let name = e.file_name();
        let tag = name.len() == 16 && name.to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_hexdigit()));
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| crate::clock::age(t).is_some_and(|a| a > stale));
        if tag && old && e.path() != dir {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The additions store of the store at `path` (see [`save_blobs`]).
fn additions_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{}.add.tbc", name.strip_suffix(".tbc").unwrap_or(&name)))
}

/// Writes `blobs` to the store at `path`, merged with what it holds. A
/// few blocks beside a large store go to its additions store instead
/// (`additions_path`), which is small and cheap to write again, until the
/// additions reach a `REWRITE_RATIO`th of the store, when both are merged
/// into it: rewriting a large store for a few blocks costs more than
/// translating them again once, but the same few blocks that every run
/// of a program translates (python3 and ld.so paths a first run did not
/// take) were never kept that way, and each process paid their
/// translation and the translator's start-up again.
fn save_blobs(path: &Path, tag: u64, blobs: &[(u64, Vec<u8>)]) -> std::io::Result<()> {
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let add = additions_path(path);
    let new: u64 = blobs.iter().map(|(_, b)| b.len() as u64).sum();
    if (new + size(&add)).saturating_mul(REWRITE_RATIO) < size(path) {
        return store::write_merged(&add, tag, blobs, MAX_STORE);
    }
    let mut all: Vec<(u64, Vec<u8>)> =
        store::Store::open(&add, tag).iter().flat_map(store::Store::iter).collect();
    all.extend_from_slice(blobs);
    store::write_merged(path, tag, &all, MAX_STORE)?;
    let _ = std::fs::remove_file(&add);
    Ok(())
}

fn file_size_unlimited() -> bool {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes the struct it is given.
    unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut r) == 0 && r.rlim_cur == libc::RLIM_INFINITY }
}

/// The default directory of the cache: `$XDG_CACHE_HOME/tern`, else
/// `$HOME/.cache/tern` (None if neither is set to an absolute path).
pub fn default_dir() -> Option<PathBuf> {
    let abs = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    std::env::var_os("XDG_CACHE_HOME")
        .and_then(abs)
        .or_else(|| std::env::var_os("HOME").and_then(abs).map(|h| h.join(".cache")))
        .map(|d| d.join("tern"))
}

#[cfg(test)]
// Tests run on threads of their own, not guest threads: std's clocks are
// theirs to compare with.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    /// Small additions beside a large store go to its additions store,
    /// where later processes find them, and into the store once they
    /// have grown to a `REWRITE_RATIO`th of it.
    #[test]
    fn small_additions_are_kept_beside_a_large_store() {
        let dir = std::env::temp_dir().join(format!("tern-persist-add-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("lib-0123456789abcdef.tbc");
        let blob = |k: u64, len: usize| (k, vec![k as u8; len]);
        let big: Vec<_> = (0..64).map(|k| blob(k, 4096)).collect();
        save_blobs(&path, 7, &big).unwrap();
        let add = additions_path(&path);
        assert_eq!(add.file_name().unwrap(), "lib-0123456789abcdef.add.tbc");
        assert!(!add.exists());
        let main_len = std::fs::metadata(&path).unwrap().len();
        save_blobs(&path, 7, &[blob(100, 1000)]).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), main_len, "the large store is not rewritten");
        let get = |p: &Path, k| store::Store::open(p, 7).and_then(|s| s.get(k));
        assert_eq!(get(&add, 100), Some(vec![100; 1000]));
        save_blobs(&path, 7, &[blob(101, 1000)]).unwrap();
        assert_eq!((get(&add, 100).is_some(), get(&add, 101).is_some()), (true, true));
        // Past a sixteenth of the store, all of it goes in.
        save_blobs(&path, 7, &[blob(102, 16 << 10)]).unwrap();
        assert!(!add.exists());
        for k in [0, 63, 100, 101, 102] {
            assert!(get(&path, k).is_some(), "blob {k}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The write lock is exclusive, and a process gives up waiting for a
    /// holder that keeps it too long (one stopped while writing).
    #[test]
    fn images_past_their_budget_go_oldest_first() {
        let dir = std::env::temp_dir().join(format!("tern-images-budget-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(100);
        for (i, name) in ["a.img", "b.img", "c.img", "d.tbc"].iter().enumerate() {
            let f = std::fs::File::create(dir.join(name)).unwrap();
            f.set_len(1000).unwrap();
            f.set_modified(old + std::time::Duration::from_secs(i as u64 * 10)).unwrap();
        }
        make_room_for_image(&dir, 500, 3000);
        let left = |n: &str| dir.join(n).exists();
        assert_eq!([left("a.img"), left("b.img"), left("c.img"), left("d.tbc")], [false, true, true, true]);
        make_room_for_image(&dir, 100, 3000);
        assert!(left("b.img") && left("c.img"), "room enough");
        make_room_for_image(&dir, 5000, 3000);
        assert_eq!([left("b.img"), left("c.img"), left("d.tbc")], [false, false, true], "never a store");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The start-up window counts time outside translation, up to a bound.
    #[test]
    fn the_start_up_window_leaves_translation_out() {
        let ms = std::time::Duration::from_millis;
        assert!(!startup_window_over(ms(150), ms(0)));
        assert!(startup_window_over(ms(250), ms(0)));
        assert!(!startup_window_over(ms(250), ms(100)), "a cold run's translating is not counted");
        assert!(startup_window_over(ms(900), ms(600)));
        assert!(!startup_window_over(ms(1900), ms(5000)), "threads translating at once");
        assert!(startup_window_over(ms(2100), ms(5000)), "at most 2 s");
    }

    #[test]
    fn the_write_lock_is_exclusive_and_waited_for_a_while() {
        use std::time::Duration;
        let dir = std::env::temp_dir().join(format!("tern-persist-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = WriteLock::take(&dir, Duration::from_secs(1));
        assert!(first._file.is_some(), "no lock taken in {dir:?}");
        let t0 = std::time::Instant::now();
        let second = WriteLock::take(&dir, Duration::from_millis(50));
        assert!(second._file.is_none(), "the lock taken twice");
        assert!(t0.elapsed() >= Duration::from_millis(50), "gave up after {:?}", t0.elapsed());
        drop(first);
        assert!(WriteLock::take(&dir, Duration::from_millis(50))._file.is_some(), "not taken once free");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn directories_of_other_terns_go_once_stale() {
        let root = std::env::temp_dir().join(format!("tern-persist-gc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let week_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(8 * 24 * 3600);
        let mk = |name: &str, old: bool| {
            let d = root.join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("x.tbc"), b"x").unwrap();
            if old {
                std::fs::File::open(&d).unwrap().set_modified(week_ago).unwrap();
            }
            d
        };
        let stale = mk("0123456789abcdef", true);
        let recent = mk("fedcba9876543210", false);
        let other = mk("not-a-tag-at-all", true);
        let ours = root.join("00000000deadbeef");
        remove_stale_siblings(&ours);
        assert!(!stale.exists());
        assert!(recent.exists() && other.exists());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
