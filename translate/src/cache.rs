//! The code cache: W^X memory for generated code and the block registry.
//!
//! Code lives in one shared anonymous mapping mapped twice: a read-write view the translator
//! writes through and a read-execute view that runs; no page is ever both
//! writable and executable. Code is handed out in chunks of [`CHUNK`] bytes
//! ([`CodeCache::reserve_chunk`]); a translator fills a piece of one chunk
//! at a time, alone, so several threads can emit code for the cache at
//! once (`Jit::translate`), and blocks within a chunk are laid out in
//! increasing address order. The host index (host address -> block) is one
//! append-only sorted array per chunk that a signal handler can search
//! without locks; a full flush (`flush.rs`) starts them all over once no
//! thread runs the old code (`CodeCache::reset`).
//!
//! After a fork the memory stays shared with the child for the code both
//! had, which neither writes while the other may run it: the first write
//! gives the writer its own copy ([`CodeCache::after_fork`],
//! [`CodeCache::unshare`]).
//!
//! Reading is open to all (`&CodeCache`); every function that writes code,
//! patches a jump, publishes a block or a descriptor, or replaces the views
//! needs the cache's one [`CodeWriter`], which `Jit` keeps inside its
//! translation lock, so holding `&mut CodeWriter` means holding that lock.
//! Patching a jump is also `unsafe`: the caller vouches that the site is a
//! chaining jump of an installed block.

use crate::cpu::ExitDesc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Largest size of the memory reserved for generated code (committed
/// lazily; [`CodeCache::new`] takes less under a tight RLIMIT_AS). Every
/// rel32 jump inside the cache reaches every other point of it.
pub const MAX_CACHE_SIZE: usize = 1 << 30;
/// Smallest size [`CodeCache::new`] maps.
pub const MIN_CACHE_SIZE: usize = 4 << 20;
/// Size of the pieces code memory is handed out in (see the module docs).
/// No block is larger, so a block never spans two chunks.
pub const CHUNK: usize = 64 << 10;
/// Most blocks the host index holds per chunk (blocks average far more
/// than 64 bytes); a chunk whose index is full takes no more blocks.
pub const PER_CHUNK: usize = 1024;
/// Exit descriptors the table holds per KiB of code (a block of ~100
/// bytes has 1-2).
const DESCS_PER_KIB: usize = 16;
/// Room one more block needs: a fresh chunk, more descriptors than a block
/// adds.
const BLOCK_HEADROOM: usize = CHUNK;
/// Bytes at the start of the cache that hold data, not code: the count of
/// processes sharing it (`CodeCache::sharers`).
const DATA_PREFIX: usize = 64;
/// Smallest code cache limit (`CodeCache::set_limit`).
pub const MIN_LIMIT: usize = 1 << 20;

/// Where a guest register lives while a host instruction runs, when it is not
/// in its own host register: (register number, scratch slot).
pub type Fixup = [(u8, u8); 2];
/// No register displaced.
pub const NO_FIXUP: Fixup = [(0xff, 0xff); 2];

/// `PcEntry::guest_off` of host code in the middle of a control transfer
/// (it never faults and has no single guest instruction). The baseline back
/// end no longer emits it; kept so a map can say "no state here".
pub const MID_BRANCH: u16 = u16::MAX;
/// `PcEntry::guest_off` of the indirect-branch lookup: the guest is about to
/// run the instruction at the address held in host rdx (the branch has
/// happened). These ranges touch only `CpuState` and never fault.
pub const AT_TARGET: u16 = u16::MAX - 1;
/// The host register that holds the guest target inside `AT_TARGET` ranges.
pub const TARGET_REG: usize = crate::cpu::RDX;

/// Maps a range of a block's host code back to the guest instruction it
/// implements. Eight bytes: there is one per guest instruction or so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcEntry {
    /// Offset of the first host byte of this range within the block.
    pub host_off: u16,
    /// The guest instruction, as an offset from the block's start, or
    /// `AT_TARGET` / `MID_BRANCH`.
    pub guest_off: u16,
    /// Guest registers held in scratch slots during this range, packed as
    /// `reg | slot << 4`, 0xff for none.
    fixup: [u8; 2],
    /// Bytes to add to the host rsp to get the guest's: 8 once a guest
    /// `call`'s return address is pushed, while the state named is still
    /// "before the call" (the jump to the callee follows).
    pub rsp_adj: u8,
}

impl PcEntry {
    pub fn new(host_off: u16, guest_off: u16, fixup: Fixup) -> PcEntry {
        PcEntry::with_rsp_adj(host_off, guest_off, fixup, 0)
    }

    /// An entry whose guest rsp is the host's plus `rsp_adj`.
    pub fn with_rsp_adj(host_off: u16, guest_off: u16, fixup: Fixup, rsp_adj: u8) -> PcEntry {
        let pack = |(r, s): (u8, u8)| if r == 0xff { 0xff } else { (r & 15) | (s << 4) };
        PcEntry { host_off, guest_off, fixup: [pack(fixup[0]), pack(fixup[1])], rsp_adj }
    }

    /// The entry as 7 bytes (the persistent cache's records).
    pub fn to_bytes(&self) -> [u8; 7] {
        let [h0, h1] = self.host_off.to_le_bytes();
        let [g0, g1] = self.guest_off.to_le_bytes();
        [h0, h1, g0, g1, self.fixup[0], self.fixup[1], self.rsp_adj]
    }

    /// The entry [`PcEntry::to_bytes`] gave.
    pub fn from_bytes(b: [u8; 7]) -> PcEntry {
        PcEntry {
            host_off: u16::from_le_bytes([b[0], b[1]]),
            guest_off: u16::from_le_bytes([b[2], b[3]]),
            fixup: [b[4], b[5]],
            rsp_adj: b[6],
        }
    }

    /// (guest register, scratch slot) pairs displaced during this range.
    pub fn fixups(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.fixup.iter().filter(|&&b| b != 0xff).map(|&b| (usize::from(b & 15), usize::from(b >> 4)))
    }
}

/// A translated block.
#[derive(Debug)]
pub struct Block {
    /// Sequence number of the block (index of its per-block tables).
    pub id: u32,
    pub guest_start: u64,
    pub guest_end: u64,
    /// Start of the block's host code: its lookup entry (`ibl_entry`), or
    /// for a block that keeps guest rcx and rdx in their slots, its entry.
    pub host_start: u64,
    pub host_len: u32,
    /// Entry for the indirect-branch lookup (`CpuState::ibl` holds it): it
    /// reloads guest rcx and rdx from scratch slots 1 and 2, where the
    /// lookup left them, and falls through to `entry`; or, in a block that
    /// keeps them there up to its final indirect branch
    /// (`baseline::keeps_lookup_slots`), it follows `entry`, which spills them.
    pub ibl_entry: u64,
    /// Where the block's own code starts: direct jumps and the CPU loop
    /// enter here.
    pub entry: u64,
    /// Its pc map, packed (`pcmap.rs`).
    pub pcmap: crate::pcmap::PackedPcMap,
    /// Translated without write-protecting its page (one-off, not cached).
    pub transient: bool,
}

impl Block {
    /// The pc-map entry covering host address `host`.
    pub fn entry_at(&self, host: u64) -> Option<PcEntry> {
        let off = u16::try_from(host.checked_sub(self.host_start)?).ok()?;
        self.pcmap.entry_at(off)
    }

    /// The guest instruction whose state host address `host` holds, with its
    /// pc-map entry; None in the middle of a control transfer.
    pub fn state_at(&self, host: u64) -> Option<(u64, PcEntry)> {
        let e = self.entry_at(host)?;
        (e.guest_off < AT_TARGET).then(|| (self.guest_start + u64::from(e.guest_off), e))
    }

    /// The guest pc a thread stopped at `host` restarts from, given the
    /// value of host register `TARGET_REG` there (for the indirect-branch
    /// lookup), with the
    /// pc-map entry naming the displaced registers. None only for
    /// `MID_BRANCH`, which the baseline back end does not emit.
    pub fn restart_at(&self, host: u64, target: u64) -> Option<(u64, PcEntry)> {
        let e = self.entry_at(host)?;
        match e.guest_off {
            MID_BRANCH => None,
            AT_TARGET => Some((target, e)),
            off => Some((self.guest_start + u64::from(off), e)),
        }
    }
}

/// Write access to one [`CodeCache`]. Exactly one exists per cache (made
/// by [`CodeCache::new`]; not `Clone`), and its owner keeps it behind the
/// translation lock, so a `&mut CodeWriter` is proof that the lock is held.
#[derive(Debug)]
pub struct CodeWriter {
    /// Executable address of the cache this writer belongs to.
    cache: u64,
}

/// The shared code memory and host-address index.
pub struct CodeCache {
    /// Bytes mapped in each view, a multiple of [`CHUNK`].
    size: usize,
    /// Chunks in the cache (`size / CHUNK`).
    chunks: usize,
    /// Most exit descriptors the table can hold.
    max_descs: usize,
    /// Executable view.
    exec: u64,
    /// Writable view of the same pages.
    write: u64,
    used: AtomicUsize,
    /// Bytes of code the cache may hold before it must be flushed.
    limit: AtomicUsize,
    /// `PER_CHUNK` slots per chunk, sorted by host address within one.
    index: *mut AtomicPtr<Block>,
    /// Published entries of each chunk's index.
    index_len: &'static [AtomicUsize],
    descs: *mut ExitDesc,
    descs_len: AtomicUsize,
    /// The trace routines' `to_loop` and reload window (`trace_glue`), for
    /// the signal handlers.
    trace_routines: [AtomicU64; 3],
    /// Bytes at the start of the cache this process may share with others
    /// (its parent, its fork children: see [`CodeCache::after_fork`]); 0
    /// once it has its own.
    shared_below: AtomicUsize,
    /// This process has left the shared code (see [`CodeCache::leave`]).
    left: AtomicBool,
    /// Copies made by [`CodeCache::unshare`].
    copies: AtomicU64,
}

// SAFETY: the raw pointers refer to mappings owned for the life of the
// process; every mutation takes `&mut CodeWriter` (one per cache, kept
// behind the translation lock), so writers are serialised, and readers only
// see entries published through the atomics.
unsafe impl Send for CodeCache {}
// SAFETY: see above.
unsafe impl Sync for CodeCache {}

/// Errors setting up the code cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// creating the code cache failed: {0}
    #[error("creating the code cache failed: {0}")]
    Map(std::io::Error),
    /// the code cache is full
    #[error("the code cache is full")]
    Full,
}

fn map(addr: u64, len: usize, prot: i32, flags: i32, fd: i32) -> Result<u64, CacheError> {
    // SAFETY: mapping new memory; with MAP_FIXED only over our own reservation.
    let p = unsafe { libc::mmap(addr as *mut _, len, prot, flags, fd, 0) };
    if p == libc::MAP_FAILED {
        return Err(CacheError::Map(std::io::Error::last_os_error()));
    }
    Ok(p as u64)
}

/// Creates fresh code memory mapped twice: read-write in tern's own address
/// region (`hostmem::map_tern`), read-execute where the guest's libraries
/// are about to go (`hostmem::map_near_guest`: the cache is made before the
/// loader maps the guest, so their RIP-relative operands stay in `disp32`
/// reach). The exec view's place is reserved first, then replaced by the
/// second view (`exec_view`, which a fork child also uses to remake its
/// views in place).
///
/// The memory is an anonymous shared mapping, and the second view is made
/// by `mremap` with an old size of 0, which maps the same pages again
/// (mremap(2): "a new mapping of the same pages" for a shareable mapping).
/// A memfd would do the same but is a file: its size counts against the
/// guest's RLIMIT_FSIZE, which tern inherits (`ulimit -f` made tern die of
/// SIGXFSZ where the program runs natively).
fn new_views(size: usize) -> Result<(u64, u64), CacheError> {
    let reserve = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
    let ea = crate::hostmem::map_near_guest(size, libc::PROT_NONE, reserve).map_err(CacheError::Map)?;
    let write = crate::hostmem::map_tern(size, RW, SHARED).map_err(CacheError::Map)?;
    Ok((exec_view(write, ea, size)?, write))
}

/// The code memory's mapping flags and its writable view's protection.
const SHARED: i32 = libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
const RW: i32 = libc::PROT_READ | libc::PROT_WRITE;

/// Maps the pages of `write` (a shared mapping of `size` bytes) again,
/// read-execute, at `ea` (replacing what is there); returns `ea`.
fn exec_view(write: u64, ea: u64, size: usize) -> Result<u64, CacheError> {
    let remap = libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED;
    // SAFETY: `write` is a shared mapping of `size` bytes we made; the
    // new view replaces tern's own reservation (or, after fork, the old
    // exec view) at `ea`.
    let exec = unsafe { libc::mremap(write as *mut _, 0, size, remap, ea as *mut libc::c_void) };
    if exec == libc::MAP_FAILED {
        return Err(CacheError::Map(std::io::Error::last_os_error()));
    }
    crate::hostmem::dont_dump(write, size);
    crate::hostmem::dont_dump(exec as u64, size);
    // SAFETY: `exec` is the view just created, `size` bytes long.
    if unsafe { libc::mprotect(exec, size, libc::PROT_READ | libc::PROT_EXEC) } != 0 {
        return Err(CacheError::Map(std::io::Error::last_os_error()));
    }
    Ok(exec as u64)
}

/// Moves the mapping of `len` bytes at `from` over `to` (replacing what is
/// there, in one step).
fn move_over(from: u64, to: u64, len: usize) -> Result<(), CacheError> {
    let remap = libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED;
    // SAFETY: callers pass a mapping of their own of `len` bytes, and a
    // range of one of the cache's views.
    let moved = unsafe { libc::mremap(from as *mut _, len, len, remap, to as *mut libc::c_void) };
    if moved == libc::MAP_FAILED {
        return Err(CacheError::Map(std::io::Error::last_os_error()));
    }
    Ok(())
}

impl CodeCache {
    /// Maps a new cache of `size` bytes (rounded down to whole chunks,
    /// within [`MIN_CACHE_SIZE`]..=[`MAX_CACHE_SIZE`]) and returns it with
    /// its only writer. Its tables (host index, exit descriptors) take
    /// half as much address space again, private and committed lazily.
    pub fn new(size: usize) -> Result<(CodeCache, CodeWriter), CacheError> {
        let size = size.clamp(MIN_CACHE_SIZE, MAX_CACHE_SIZE) / CHUNK * CHUNK;
        let (chunks, max_descs) = (size / CHUNK, size / 1024 * DESCS_PER_KIB);
        let (exec, write) = new_views(size)?;
        let anon = |len| crate::hostmem::map_anon(len).map_err(CacheError::Map);
        let index =
            anon(chunks * PER_CHUNK * std::mem::size_of::<AtomicPtr<Block>>())? as *mut AtomicPtr<Block>;
        let descs = anon(max_descs * std::mem::size_of::<ExitDesc>())? as *mut ExitDesc;
        let cache = CodeCache {
            size,
            chunks,
            max_descs,
            exec,
            write,
            used: AtomicUsize::new(DATA_PREFIX),
            limit: AtomicUsize::new(size),
            index,
            index_len: crate::hostmem::zeroed_static(chunks),
            descs,
            descs_len: AtomicUsize::new(0),
            trace_routines: Default::default(),
            shared_below: AtomicUsize::new(0),
            left: AtomicBool::new(false),
            copies: AtomicU64::new(0),
        };
        cache.sharers().store(1, Ordering::Release);
        Ok((cache, CodeWriter { cache: exec }))
    }

    /// Checks that `w` is this cache's writer (a bug otherwise).
    fn check(&self, w: &CodeWriter) {
        assert_eq!(w.cache, self.exec, "a code writer used on another cache");
    }

    /// Names the trace routines (`to_loop`, the reload window).
    pub fn set_trace_routines(&self, to_loop: u64, window: (u64, u64)) {
        self.trace_routines[1].store(window.0, Ordering::Relaxed);
        self.trace_routines[2].store(window.1, Ordering::Relaxed);
        self.trace_routines[0].store(to_loop, Ordering::Release);
    }

    /// The trace routines' `to_loop` (where a thread leaves a trace for the
    /// CPU loop with its state in the `CpuState`) and their reload window
    /// (see `baseline::trace_glue`). Async-signal-safe.
    pub fn trace_routines(&self) -> (u64, (u64, u64)) {
        let to_loop = self.trace_routines[0].load(Ordering::Acquire);
        (
            to_loop,
            (self.trace_routines[1].load(Ordering::Relaxed), self.trace_routines[2].load(Ordering::Relaxed)),
        )
    }

    /// True if `host` lies in generated code.
    pub fn contains(&self, host: u64) -> bool {
        host >= self.exec && host < self.exec + self.size as u64
    }

    /// Caps the code the cache holds at `bytes` (clamped to
    /// [`MIN_LIMIT`] up to the cache's size): [`CodeCache::needs_flush`]
    /// says so once less than one block's room is left below it.
    pub fn set_limit(&self, bytes: usize) {
        self.limit.store(bytes.clamp(MIN_LIMIT, self.size), Ordering::Relaxed);
    }

    /// True when one more chunk might not fit below the limit, or one more
    /// block's exit descriptors in the table: the owner must flush before
    /// translating.
    pub fn needs_flush(&self) -> bool {
        self.used.load(Ordering::Relaxed) + BLOCK_HEADROOM > self.limit.load(Ordering::Relaxed)
            || self.descs_len.load(Ordering::Relaxed) + BLOCK_HEADROOM > self.max_descs
    }

    /// Bytes of code and number of exit descriptors in use: the mark
    /// [`CodeCache::reset`] goes back to.
    pub fn mark(&self) -> (usize, usize) {
        (self.used.load(Ordering::Relaxed), self.descs_len.load(Ordering::Relaxed))
    }

    /// Forgets every block and every descriptor installed after `mark`
    /// (taken with [`CodeCache::mark`]): their memory is allocated again
    /// from there. Host code before the mark (the runtime routines) and
    /// its descriptors stay.
    ///
    /// # Safety
    /// No thread runs, or will ever run, code installed after the mark, or
    /// reads a descriptor or a host-index entry published after it (the
    /// code-cache flush has waited until every thread left that code).
    pub unsafe fn reset(&self, w: &mut CodeWriter, mark: (usize, usize)) {
        self.check(w);
        // Memory shared with another process is left to it, but for the
        // code before the mark, which never changes.
        self.own(w, self.exec, mark.0);
        let chunks = self.used.load(Ordering::Relaxed).div_ceil(CHUNK);
        for n in &self.index_len[..chunks] {
            n.store(0, Ordering::Release);
        }
        self.descs_len.store(mark.1, Ordering::Release);
        self.used.store(mark.0, Ordering::Release);
    }

    /// Host address where the next allocation will start.
    pub fn next_addr(&self) -> u64 {
        self.exec + self.used.load(Ordering::Relaxed) as u64
    }

    /// Copies `code` (assembled for `next_addr()`) into the cache and returns
    /// its executable address. Only fresh space past every installed block
    /// is written. Used for the runtime routines, before any chunk.
    pub fn install(&self, w: &mut CodeWriter, code: &[u8]) -> Result<u64, CacheError> {
        self.check(w);
        let used = self.used.load(Ordering::Relaxed);
        let end = (used + code.len() + 15) & !15;
        if end > self.size {
            return Err(CacheError::Full);
        }
        // SAFETY: [write+used, write+end) is inside our writable view and no
        // thread executes it yet (it is past every published block); `w`
        // serialises writers.
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), (self.write + used as u64) as *mut u8, code.len())
        };
        self.used.store(end, Ordering::Release);
        Ok(self.exec + used as u64)
    }

    /// Hands out the next whole chunk `[start, start + CHUNK)` of fresh
    /// code memory (past everything installed), for blocks installed with
    /// [`CodeCache::install_at`].
    pub fn reserve_chunk(&self, w: &mut CodeWriter) -> Result<(u64, u64), CacheError> {
        self.reserve_span(w, CHUNK)
    }

    /// Hands out fresh code memory of whole chunks for `len` bytes from a
    /// chunk's start, `[start, end)`, for a start-up image
    /// (`Jit::install_image_locked`): written through [`CodeCache::span_mut`],
    /// then its blocks registered chunk by chunk.
    pub fn reserve_span(&self, w: &mut CodeWriter, len: usize) -> Result<(u64, u64), CacheError> {
        self.check(w);
        let start = self.used.load(Ordering::Relaxed).next_multiple_of(CHUNK);
        let end = start.checked_add(len.max(1).next_multiple_of(CHUNK)).ok_or(CacheError::Full)?;
        if end > self.size {
            return Err(CacheError::Full);
        }
        self.used.store(end, Ordering::Release);
        // The pages resident in both views at once (two calls), not by two
        // page faults per page, one in each view: `python3 -c pass` writes
        // 5 MiB of code, 2,700 faults.
        crate::hostmem::populate(self.write + start as u64, end - start, true);
        crate::hostmem::populate(self.exec + start as u64, end - start, false);
        Ok((self.exec + start as u64, self.exec + end as u64))
    }

    /// The writable view of `[at, at + len)`, inside a span
    /// [`CodeCache::reserve_span`] handed out.
    ///
    /// # Safety
    /// No block is registered in the range yet (no thread runs it) and the
    /// caller holds no other reference to it.
    #[allow(clippy::mut_from_ref)] // `w` is the writers' exclusion.
    pub unsafe fn span_mut(&self, w: &mut CodeWriter, at: u64, len: usize) -> &mut [u8] {
        self.check(w);
        let off = at.wrapping_sub(self.exec) as usize;
        assert!(
            off.checked_add(len).is_some_and(|e| e <= self.used.load(Ordering::Relaxed)),
            "span outside the cache"
        );
        // SAFETY: inside the writable view and handed out (checked above);
        // unpublished and unaliased (the caller's promise).
        unsafe { std::slice::from_raw_parts_mut((self.write + off as u64) as *mut u8, len) }
    }

    /// Copies `code` (assembled for executable address `at`) into a chunk
    /// handed out by [`CodeCache::reserve_chunk`]. The range must lie in
    /// one chunk and past every block registered in it (a bug otherwise).
    pub fn install_at(&self, w: &mut CodeWriter, at: u64, code: &[u8]) {
        self.check(w);
        let off = at.wrapping_sub(self.exec) as usize;
        let end = off + code.len();
        assert!(
            end <= self.used.load(Ordering::Relaxed) && off / CHUNK == (end - 1) / CHUNK,
            "code at {at:#x} outside a reserved chunk"
        );
        // Never code another process runs, shared or not: a chunk's free
        // piece that a fork parent fills was never the child's to run
        // (the child fills chunks of its own: `after_fork`).
        // SAFETY: [write+off, write+end) is inside our writable view, in a
        // chunk handed out and past its published blocks, so no thread runs
        // it yet; `w` serialises writers.
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), (self.write + off as u64) as *mut u8, code.len())
        };
    }

    /// True if the host index of the chunk holding `at` has no room for
    /// another block.
    pub fn chunk_full(&self, at: u64) -> bool {
        let c = (at.wrapping_sub(self.exec) as usize / CHUNK).min(self.chunks - 1);
        self.index_len[c].load(Ordering::Relaxed) >= PER_CHUNK
    }

    /// Rewrites the rel32 field at `site` (an executable address) to jump to
    /// `target`. The field is 4-byte aligned, so the store is atomic for
    /// concurrent instruction fetch.
    ///
    /// # Safety
    /// `site` is the rel32 field of a direct-branch `jmp`/`jcc` of an
    /// installed block (the `patch_site` of one of its `Direct` exit
    /// descriptors), and `target` is the entry of an installed block or that
    /// jump's own exit stub: any other store would corrupt generated code
    /// that may be running.
    pub unsafe fn patch_rel32(&self, w: &mut CodeWriter, site: u64, target: u64) {
        self.check(w);
        assert!(
            site >= self.exec && site + 4 <= self.next_addr() && site.is_multiple_of(4),
            "patch site {site:#x} is not an aligned field of installed code"
        );
        let rel = target.wrapping_sub(site + 4) as i64;
        let rel = i32::try_from(rel).expect("code cache larger than rel32 reach");
        self.own(w, site, usize::MAX);
        let w = (site - self.exec + self.write) as *const std::sync::atomic::AtomicI32;
        // SAFETY: site is inside installed code (checked above), 4-byte
        // aligned, and the writable view maps the same page; the caller
        // vouches that it is a chaining jump's field.
        unsafe { (*w).store(rel, Ordering::Release) };
    }

    /// Where the jump whose rel32 field is at `site` (an executable
    /// address of installed code) leads now.
    pub fn rel32_target(&self, site: u64) -> u64 {
        assert!(
            site >= self.exec && site + 4 <= self.next_addr(),
            "jump field {site:#x} is not in installed code"
        );
        // SAFETY: site is inside installed code (checked above), mapped
        // readable through the executable view for the cache's life.
        let rel = unsafe { (site as *const i32).read_unaligned() };
        (site + 4).wrapping_add(rel as i64 as u64)
    }

    /// Publishes `block` in the host index. Blocks must lie in installed
    /// code, inside one chunk, and be registered in increasing host address
    /// order within their chunk (each chunk's index is searched by
    /// bisection); a bug otherwise. Full if the chunk's index is.
    pub fn register(&self, w: &mut CodeWriter, block: &'static Block) -> Result<(), CacheError> {
        self.check(w);
        let off = (block.host_start - self.exec) as usize;
        let c = off / CHUNK;
        assert!(c < self.chunks && (off + block.host_len as usize - 1) / CHUNK == c, "block spans chunks");
        let n = self.index_len[c].load(Ordering::Relaxed);
        if n >= PER_CHUNK {
            return Err(CacheError::Full);
        }
        // SAFETY: c < chunks: this chunk's slots are inside the mapping.
        let slots = unsafe { self.index.add(c * PER_CHUNK) };
        let prev_end = n.checked_sub(1).map_or(self.exec + (c * CHUNK) as u64, |i| {
            // SAFETY: i < n, published before n.
            let b = unsafe { &*(*slots.add(i)).load(Ordering::Acquire) };
            b.host_start + u64::from(b.host_len)
        });
        assert!(
            block.host_start >= prev_end && block.host_start + u64::from(block.host_len) <= self.next_addr(),
            "block at {:#x} out of order or not installed",
            block.host_start
        );
        // SAFETY: n < PER_CHUNK, inside this chunk's slots.
        unsafe { (*slots.add(n)).store(block as *const Block as *mut Block, Ordering::Release) };
        self.index_len[c].store(n + 1, Ordering::Release);
        Ok(())
    }

    /// Appends exit descriptors and returns the index of the first.
    pub fn add_descs(&self, w: &mut CodeWriter, d: &[ExitDesc]) -> Result<u32, CacheError> {
        self.check(w);
        let n = self.descs_len.load(Ordering::Relaxed);
        if n + d.len() > self.max_descs {
            return Err(CacheError::Full);
        }
        // SAFETY: [n, n+len) is inside the table and not yet published.
        unsafe { std::ptr::copy_nonoverlapping(d.as_ptr(), self.descs.add(n), d.len()) };
        self.descs_len.store(n + d.len(), Ordering::Release);
        Ok(u32::try_from(n).expect("max_descs fits u32"))
    }

    /// The descriptor with index `i` (as stored by an exit stub).
    pub fn desc(&self, i: u64) -> ExitDesc {
        let n = self.descs_len.load(Ordering::Acquire);
        assert!((i as usize) < n, "exit descriptor {i} out of range");
        // SAFETY: i < n, published before n.
        unsafe { *self.descs.add(i as usize) }
    }

    /// The block containing host address `host`. Async-signal-safe: no locks,
    /// no allocation.
    pub fn block_at(&self, host: u64) -> Option<&'static Block> {
        if !self.contains(host) {
            return None;
        }
        let c = (host - self.exec) as usize / CHUNK;
        let n = self.index_len[c].load(Ordering::Acquire);
        // SAFETY: c < chunks (host is inside the cache).
        let slots = unsafe { self.index.add(c * PER_CHUNK) };
        let get = |i: usize| {
            // SAFETY: i < n, and entries below n were published before n.
            unsafe { &*(*slots.add(i)).load(Ordering::Acquire) }
        };
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if get(mid).host_start <= host {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let b = get(lo.checked_sub(1)?);
        (host < b.host_start + u64::from(b.host_len)).then_some(b)
    }
}

impl CodeCache {
    /// The number of processes that run the code in this cache's memory
    /// (a word of it, in the data prefix: the memory is shared between a
    /// parent and the children it forked until each makes its own copy).
    /// A process joins only by a fork of one that is in, so 1 means no
    /// other process maps the memory (the count may say more than the
    /// truth: a process killed outright never says it left).
    fn sharers(&self) -> &AtomicU32 {
        // SAFETY: the first DATA_PREFIX bytes of the writable view are never
        // code; the view is page aligned and mapped for the cache's life,
        // and any bits are a valid AtomicU32.
        unsafe { &*(self.write as *const AtomicU32) }
    }

    /// True if the cache's code at `at` (an executable address) is memory
    /// another process may be running: it must not be written
    /// ([`CodeCache::unshare`] first).
    pub fn shared(&self, at: u64) -> bool {
        let below = self.shared_below.load(Ordering::Relaxed) as u64;
        at.wrapping_sub(self.exec) < below
            && (self.left.load(Ordering::Relaxed) || self.sharers().load(Ordering::Acquire) > 1)
    }

    /// Before a host fork (with `w`, so no code is written meanwhile): one
    /// more process will run this memory. [`CodeCache::after_fork`] follows,
    /// in the parent and in the child.
    pub fn before_fork(&self, w: &mut CodeWriter) {
        self.check(w);
        self.sharers().fetch_add(1, Ordering::AcqRel);
    }

    /// After a host fork (`child`: in the new process; `forked`: false if
    /// the fork failed). Parent and child go on with the code both had, in
    /// memory they share, and each puts what it translates next in chunks
    /// of its own: the child maps fresh memory over the rest of both
    /// views, so the parent's next chunks, at the same addresses, are the
    /// parent's alone (the parent also fills the free pieces of its
    /// chunks, which the child forgets). Code both had is written by
    /// neither while they share it (see [`CodeCache::shared`]): a patch
    /// there first gives the writer its own copy ([`CodeCache::unshare`]).
    /// A child that execs or exits soon, as most do, copies nothing.
    pub fn after_fork(&self, w: &mut CodeWriter, child: bool, forked: bool) -> Result<(), CacheError> {
        self.check(w);
        if !forked {
            self.sharers().fetch_sub(1, Ordering::AcqRel);
            return Ok(());
        }
        // Fresh chunks start past everything the two have in common.
        let below = self.used.load(Ordering::Relaxed).next_multiple_of(CHUNK).min(self.size);
        self.used.store(below, Ordering::Release);
        self.shared_below.fetch_max(below, Ordering::Relaxed);
        if !child || below == self.size {
            return Ok(());
        }
        let len = self.size - below;
        map(self.write + below as u64, len, RW, SHARED | libc::MAP_FIXED, -1)?;
        exec_view(self.write + below as u64, self.exec + below as u64, len)?;
        Ok(())
    }

    /// Gives this process its own copy of the code it shares with others
    /// (nothing to do if it shares none), keeping the first `keep` bytes
    /// (all of it, or what a flush keeps), at the same addresses: `w` (no
    /// other writer runs meanwhile) and every block kept stay valid, and
    /// threads running the code see the same bytes throughout. The code
    /// both had is never written while shared, so its copy is exact (a
    /// fork parent may meanwhile fill free pieces of its chunks, which
    /// the child never runs).
    fn unshare(&self, w: &mut CodeWriter, keep: usize) -> Result<(), CacheError> {
        self.check(w);
        let below = self.shared_below.load(Ordering::Relaxed);
        if below == 0 {
            return Ok(());
        }
        let left = self.left.load(Ordering::Relaxed);
        if !left && self.sharers().load(Ordering::Acquire) == 1 {
            // The others have gone: the memory is this process's alone.
            self.shared_below.store(0, Ordering::Relaxed);
            return Ok(());
        }
        let keep = keep.min(below);
        // The copy, made resident in one call and filled from the writable
        // view (a python3 child copies 6 MiB), is first mapped again as the
        // executable view; then this process leaves the old memory, which
        // only the writable view still maps and nothing writes; then the
        // copy moves over the writable view.
        let fresh = crate::hostmem::map_tern(below, RW, SHARED).map_err(CacheError::Map)?;
        crate::hostmem::populate(fresh, keep, true);
        // SAFETY: [write, write+keep) is our initialised writable view and
        // `fresh` a new mapping of `below` >= keep bytes.
        unsafe { std::ptr::copy_nonoverlapping(self.write as *const u8, fresh as *mut u8, keep) };
        // SAFETY: the copy's first word is its sharers count, page aligned:
        // this process alone.
        unsafe { (*(fresh as *const AtomicU32)).store(1, Ordering::Release) };
        // The executable view of the copy is made elsewhere and moved over
        // the old one in one step: a thread running the code never finds
        // it missing or not executable.
        let reserve = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        let place = crate::hostmem::map_tern(below, libc::PROT_NONE, reserve).map_err(CacheError::Map);
        let moved = place.and_then(|at| {
            let r = exec_view(fresh, at, below).and_then(|exec| move_over(exec, self.exec, below));
            crate::pages::forget_tern_memory(at, at + below as u64);
            r
        });
        let moved = moved.and_then(|()| {
            if !left {
                self.sharers().fetch_sub(1, Ordering::AcqRel);
            }
            move_over(fresh, self.write, below)
        });
        crate::pages::forget_tern_memory(fresh, fresh + below as u64);
        moved?;
        self.shared_below.store(0, Ordering::Relaxed);
        self.left.store(false, Ordering::Relaxed);
        self.copies.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Times this process took its own copy of code it shared
    /// ([`CodeCache::unshare`]).
    pub fn copies(&self) -> u64 {
        self.copies.load(Ordering::Relaxed)
    }

    /// Makes the code at `at` this process's own before it is written
    /// ([`CodeCache::unshare`], keeping `keep` bytes, if it is shared).
    /// Where no memory is left for the copy, the process ends: writing
    /// would change another process's code.
    fn own(&self, w: &mut CodeWriter, at: u64, keep: usize) {
        if !self.shared(at) {
            return;
        }
        if let Err(e) = self.unshare(w, keep) {
            eprintln!("tern: cannot make the code cache private: {e}");
            // SAFETY: _exit is always safe to call.
            unsafe { libc::_exit(127) };
        }
    }

    /// This process stops running the code it shares (it is about to exec
    /// or exit, with one thread): the others may write it from then on,
    /// so it must not run that code again until [`CodeCache::unshare`]
    /// (keeping only the runtime routines, which never change: a flush)
    /// has given it its own. Returns true if it shared code and left it.
    pub fn leave(&self, w: &mut CodeWriter) -> bool {
        self.check(w);
        if self.shared_below.load(Ordering::Relaxed) == 0 || self.left.swap(true, Ordering::Relaxed) {
            return false;
        }
        self.sharers().fetch_sub(1, Ordering::AcqRel);
        true
    }

    /// The executable and the writable view of the cache (for the registry
    /// of tern's memory).
    pub fn ranges(&self) -> [(u64, u64); 2] {
        [(self.exec, self.exec + self.size as u64), (self.write, self.write + self.size as u64)]
    }
}
