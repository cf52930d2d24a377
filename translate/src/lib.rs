//! tern-translate: guest x86-64 code to host code.
//!
//! Owns the pipeline `decode (iced-x86) -> lift -> ir -> baseline`, the shared
//! code cache, the per-thread `CpuState` layout that generated code relies on,
//! the CPU model (CPUID and which instructions exist), and the entry/exit
//! trampolines. It does not know about syscalls or signals: generated code
//! leaves with an `ExitKind` and the CPU loop (in `linux-user`) acts on it.
//!
//! Architecture invariant: guest registers live in the host registers while
//! generated code runs; the code emitted around guest instructions never
//! changes the guest flags and never touches memory below the guest stack
//! pointer except where the guest instruction itself would (`call`).

pub mod baseline;
pub mod blockmap;
pub mod cache;
pub mod cpu;
pub mod entry;
mod flush;
pub mod guestmem;
pub mod hostmem;
pub mod ir;
pub mod lift;
pub mod model;
pub mod pages;
pub mod seg;
pub mod xstate;

use cache::{Block, CacheError, CodeCache, CodeWriter};
use cpu::{CpuState, ExitDesc};
// FxHash: the keys are guest addresses, not attacker-chosen strings, and
// SipHash showed up in translation profiles.
use rustc_hash::FxHashMap as HashMap;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

pub use model::CpuModel;

/// Most guest bytes one block can span: 64 instructions of up to 15 bytes.
const MAX_BLOCK_BYTES: usize = lift::MAX_BLOCK_INSNS * 15;

/// What to dump while translating (`-d` switches), limited to a PC range.
#[derive(Clone, Debug, Default)]
pub struct DumpOptions {
    pub in_asm: bool,
    pub ir: bool,
    pub out_asm: bool,
    pub range: Option<(u64, u64)>,
    /// Measure time spent translating (`--stats`).
    pub time: bool,
    /// Append each block to `/tmp/perf-PID.map` so `perf` names guest code.
    pub perf_map: bool,
}

/// Counters printed by `--stats`.
#[derive(Debug, Default)]
pub struct Stats {
    pub blocks: AtomicU64,
    pub guest_insns: AtomicU64,
    pub host_bytes: AtomicU64,
    pub chained: AtomicU64,
    pub ibl_inserts: AtomicU64,
    pub translate_ns: AtomicU64,
    /// Blocks dropped by invalidation (self-modifying code, munmap...).
    pub invalidated: AtomicU64,
    /// Times the code cache was full and flushed (`Jit::flush_locked`).
    pub flushes: AtomicU64,
}

/// Errors from translation.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Emit(#[from] baseline::EmitError),
}

/// The target a block's final `jmp`/`call` through a RIP-relative memory
/// operand would take now (see `IrBlock::predicted`): the 8 bytes there, if
/// readable. A slot still pointing next to the branch is a lazy-binding GOT
/// entry that leads to the dynamic linker's resolver once and changes
/// after: not predicted.
fn predict_indirect(ir: &ir::IrBlock) -> Option<u64> {
    let last = ir.insns.last()?;
    let operand = match &last.op {
        ir::Op::JmpInd { operand, fix: ir::MemFix::RipRel } => operand,
        ir::Op::CallInd { operand, fix: ir::MemFix::RipRel, .. } => operand,
        _ => return None,
    };
    let mut buf = [0u8; 8];
    if guestmem::read_guest(operand.ip_rel_memory_address(), &mut buf) != 8 {
        return None;
    }
    let target = u64::from_le_bytes(buf);
    (target != 0 && target.abs_diff(last.pc) >= 0x1000).then_some(target)
}

/// The state behind the translation lock (`Jit::tables`).
struct Tables {
    /// The only write access to the code cache: whoever holds the lock.
    writer: CodeWriter,
    /// guest pc -> block (non-transient blocks only): the authoritative
    /// map, mirrored for lock-free readers in `Jit::index`.
    blocks: HashMap<u64, &'static Block>,
    /// The only write access to `Jit::index`.
    index: blockmap::BlockMapWriter,
    /// guest page -> guest pcs of blocks touching it.
    pages: HashMap<u64, Vec<u64>>,
    /// Incoming chained jumps per target block: (patch site, original stub).
    /// Indexed by `Block::id` (a vector, not a map: the entry is touched
    /// right after the block, and most blocks have one or two predecessors).
    incoming: Vec<smallvec::SmallVec<[(u64, u64); 2]>>,
    /// The guest's mappings and protections as tern has seen them.
    mem: pages::GuestMemMap,
    /// Code pages write-protected for self-modifying-code detection.
    code: pages::CodePages,
    /// Every block translated since the last flush (from `Box::into_raw`).
    live: Vec<*mut Block>,
    /// Blocks forgotten by flushes, with the epoch the last of those
    /// flushes started: freed once every thread is past it (`flush.rs`).
    limbo: (Vec<*mut Block>, u64),
}

// SAFETY: the block pointers are owned by the tables (freed only by the
// flush, under the lock).
unsafe impl Send for Tables {}

/// The translator shared by all guest threads.
pub struct Jit {
    /// Read access for everyone (fault handlers search it); writing needs
    /// the `CodeWriter` inside `tables`.
    pub cache: CodeCache,
    rt: baseline::Runtime,
    model: CpuModel,
    dump: DumpOptions,
    tables: Mutex<Tables>,
    /// guest pc -> block for lookups without the lock (`lookup_or_translate`).
    index: Box<blockmap::BlockMap>,
    /// The `CpuState` of every live guest thread, so that invalidation can
    /// clear their lookup tables. Lock order: `tables`, then `threads`.
    threads: Mutex<Vec<usize>>,
    /// Bumped by every invalidation that dropped blocks (see `ibl_fill`).
    generation: AtomicU64,
    /// The code-cache epoch: starts at 1, bumped by every flush (see
    /// `flush_locked` and `enter_code`).
    epoch: AtomicU64,
    /// Where the cache stands once the runtime routines are in: a flush
    /// goes back there.
    mark: (usize, usize),
    /// Sends a thread (by host tid) out of generated code to its CPU loop
    /// (set by the binary: `tern_signals::thread::kick`).
    kicker: OnceLock<fn(i32)>,
    pub stats: Stats,
    perf_map: Mutex<Option<std::fs::File>>,
    /// The host vDSO, which the guest calls into: the kernel patched it for
    /// the host CPU (it may use RDPID, say), so its instructions are run
    /// whatever the guest CPU model.
    vdso: Mutex<(u64, u64)>,
}

impl Jit {
    pub fn new(model: CpuModel, dump: DumpOptions) -> Result<Jit, TranslateError> {
        let (cache, mut writer) = CodeCache::new()?;
        let (code, rt) = baseline::emit_runtime(cache.next_addr(), entry::exit_common_addr());
        cache.install(&mut writer, &code)?;
        let fixed = |kind: cpu::ExitKind| ExitDesc { kind, arg: 0, target: 0, patch_site: 0 };
        let first = cache.add_descs(
            &mut writer,
            &[fixed(cpu::ExitKind::Indirect), fixed(cpu::ExitKind::Fault), fixed(cpu::ExitKind::Signal)],
        )?;
        debug_assert_eq!(u64::from(first), cpu::DESC_INDIRECT);
        debug_assert_eq!(u64::from(first) + 2, cpu::DESC_SIGNAL);
        let (index, index_writer) = blockmap::BlockMap::new();
        let mark = cache.mark();
        Ok(Jit {
            cache,
            rt,
            model,
            dump,
            tables: Mutex::new(Tables {
                writer,
                blocks: HashMap::default(),
                index: index_writer,
                pages: HashMap::default(),
                incoming: Vec::new(),
                mem: Default::default(),
                code: Default::default(),
                live: Vec::new(),
                limbo: (Vec::new(), 0),
            }),
            index,
            threads: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            epoch: AtomicU64::new(1),
            mark,
            kicker: OnceLock::new(),
            stats: Stats::default(),
            perf_map: Mutex::new(None),
            vdso: Mutex::new((0, 0)),
        })
    }

    pub fn model(&self) -> CpuModel {
        self.model
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The host code for guest `pc`, translating it if needed. A block
    /// already translated (by any thread) is found without a lock.
    pub fn lookup_or_translate(&self, pc: u64) -> Result<u64, TranslateError> {
        Ok(self.lookup_block(pc)?.entry)
    }

    /// The block for guest `pc`, translating it if needed.
    fn lookup_block(&self, pc: u64) -> Result<&'static Block, TranslateError> {
        if let Some(b) = self.index.get(pc) {
            return Ok(b);
        }
        self.translate(pc, false)
    }

    /// The host code for `target` of an indirect branch that missed the
    /// lookup table of `cpu`, entered into that table. If an invalidation
    /// ran meanwhile (the block found may be one it dropped), the entry is
    /// taken out again: a table never keeps a dropped block.
    pub fn ibl_fill(&self, cpu: &mut CpuState, target: u64) -> Result<u64, TranslateError> {
        let gen = self.generation.load(Ordering::SeqCst);
        let b = self.lookup_block(target)?;
        let h = b.entry;
        // SAFETY: b is the block translated for target.
        unsafe { cpu.ibl_insert(target, b.ibl_entry) };
        fence(Ordering::SeqCst);
        if self.generation.load(Ordering::SeqCst) != gen {
            // SAFETY: cpu is this thread's live state.
            unsafe { CpuState::ibl_forget(cpu, target) };
        }
        Ok(h)
    }

    /// Registers the state of a new guest thread: invalidation will clear
    /// its lookup table. Unregister it before it is freed.
    pub fn register_thread(&self, cpu: *mut CpuState) {
        self.threads.lock().unwrap_or_else(|e| e.into_inner()).push(cpu as usize);
    }

    /// Forgets a thread's state (it is about to be freed).
    pub fn unregister_thread(&self, cpu: *mut CpuState) {
        self.threads.lock().unwrap_or_else(|e| e.into_inner()).retain(|&c| c != cpu as usize);
    }

    /// Number of registered guest threads.
    pub fn thread_count(&self) -> usize {
        self.threads.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Translates the block at `pc`. A `single` block holds one instruction
    /// and is not cached (used to step over a write to its own page).
    ///
    /// A cached block's guest bytes are read only after their page is
    /// write-protected (`protect_code_page_locked`): a guest write between
    /// the read and the protection would otherwise leave stale code cached.
    pub fn translate(&self, pc: u64, single: bool) -> Result<&'static Block, TranslateError> {
        let t0 = self.dump.time.then(std::time::Instant::now);
        let in_vdso = {
            let (vs, ve) = *self.vdso.lock().unwrap_or_else(|e| e.into_inner());
            (vs..ve).contains(&pc)
        };
        let mut tables = self.tables();
        if !single {
            if let Some(b) = tables.blocks.get(&pc) {
                return Ok(b);
            }
        }
        if self.cache.needs_flush() {
            self.flush_locked(&mut tables);
        }
        let page = pc & !0xfff;
        let mut code = [0u8; MAX_BLOCK_BYTES];
        if !single {
            self.protect_code_page_locked(&mut tables, page);
        }
        let n = self.fetch_locked(&tables, pc, &mut code);
        let mut ir = lift::lift_block(self.model, pc, &code[..n], single, in_vdso);
        if !single && ir.end > page + 0x1000 {
            // The last instruction runs into the next page, read while that
            // page was still writable: protect it and read again.
            self.protect_code_page_locked(&mut tables, page + 0x1000);
            let mut again = [0u8; MAX_BLOCK_BYTES];
            let m = self.fetch_locked(&tables, pc, &mut again);
            if again[..m] != code[..n] {
                ir = lift::lift_block(self.model, pc, &again[..m], single, in_vdso);
            }
        }
        if !single {
            ir.predicted = predict_indirect(&ir);
        }
        let base = self.cache.next_addr();
        let mut em = baseline::emit_block(&ir, base, &self.rt)?;
        let first = self.cache.add_descs(&mut tables.writer, &em.descs)?;
        em.set_desc_base(first);
        let host = self.cache.install(&mut tables.writer, &em.code)?;
        debug_assert_eq!(host, base);
        let id = u32::try_from(tables.incoming.len()).expect("fewer than 2^32 blocks");
        tables.incoming.push(Default::default());
        let block = Box::into_raw(Box::new(Block {
            id,
            guest_start: ir.start,
            guest_end: ir.end.max(ir.start + 1),
            host_start: host,
            host_len: u32::try_from(em.code.len()).expect("block size"),
            ibl_entry: host + em.ibl_entry as u64,
            entry: host + em.entry as u64,
            pcmap: em.pcmap.into_boxed_slice(),
            transient: single,
        }));
        tables.live.push(block);
        // SAFETY: blocks are freed only by a flush, once no thread can
        // hold a reference any more (`flush.rs`); callers use the result
        // right away.
        let block: &'static Block = unsafe { &*block };
        self.cache.register(&mut tables.writer, block)?;
        if !single {
            debug_assert_eq!(block.guest_start, pc);
            tables.blocks.insert(pc, block);
            tables.index.insert(block);
            let mut page = block.guest_start & !0xfff;
            while page < block.guest_end {
                tables.pages.entry(page).or_default().push(pc);
                self.protect_code_page_locked(&mut tables, page);
                page += 0x1000;
            }
            // Link direct exits whose targets exist already (back edges,
            // known callees) without waiting for a first exit.
            for d in em.descs.iter().filter(|d| d.kind == cpu::ExitKind::Direct) {
                self.link_locked(&mut tables, d);
            }
        }
        drop(tables);
        self.dump_block(&ir, block);
        self.stats.blocks.fetch_add(1, Ordering::Relaxed);
        self.stats.guest_insns.fetch_add(ir.insns.len() as u64, Ordering::Relaxed);
        self.stats.host_bytes.fetch_add(em.code.len() as u64, Ordering::Relaxed);
        if let Some(t0) = t0 {
            self.stats.translate_ns.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
        Ok(block)
    }

    /// Copies guest code at `pc` for translation: at most to the end of its
    /// page plus one instruction, and only from executable memory (a fetch
    /// from anything else faults). Pages tern knows to be mapped executable
    /// are read directly; others through the fault-free path.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn fetch_locked(&self, t: &Tables, pc: u64, buf: &mut [u8; MAX_BLOCK_BYTES]) -> usize {
        let page = pc & !0xfff;
        let want = ((page + 0x1000 - pc) as usize + 15).min(MAX_BLOCK_BYTES);
        let (here, next) = (t.mem.prot_at(pc), t.mem.prot_at(page + 0x1000));
        let exec = |p: Option<i32>| p.is_some_and(|p| p & libc::PROT_EXEC != 0);
        // Not guest code: non-executable guest memory, or tern's own cache.
        if here.is_some() && !exec(here) || self.cache.contains(pc) {
            return 0;
        }
        let want = if next.is_some() && !exec(next) { want.min((page + 0x1000 - pc) as usize) } else { want };
        if exec(here) && (exec(next) || want <= (page + 0x1000 - pc) as usize) {
            // SAFETY: tern's map says [pc, pc+want) is mapped executable (so
            // readable); it is updated on every guest memory syscall.
            unsafe { std::ptr::copy_nonoverlapping(pc as *const u8, buf.as_mut_ptr(), want) };
            return want;
        }
        guestmem::read_guest(pc, &mut buf[..want])
    }

    /// Writes `block` to the perf map (`perf report` then shows guest
    /// addresses for samples in generated code).
    fn perf_map_block(&self, block: &Block) {
        use std::io::Write;
        let mut f = self.perf_map.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            let path = format!("/tmp/perf-{}.map", std::process::id());
            *f = std::fs::File::options().create(true).append(true).open(path).ok();
        }
        if let Some(f) = f.as_mut() {
            let _ = writeln!(f, "{:x} {:x} guest_{:x}", block.host_start, block.host_len, block.guest_start);
        }
    }

    fn dump_block(&self, ir: &ir::IrBlock, block: &Block) {
        if self.dump.perf_map {
            self.perf_map_block(block);
        }
        let d = &self.dump;
        if !(d.in_asm || d.ir || d.out_asm) {
            return;
        }
        if let Some((lo, hi)) = d.range {
            if ir.start < lo || ir.start >= hi {
                return;
            }
        }
        use iced_x86::Formatter;
        let mut fmt = iced_x86::IntelFormatter::new();
        let mut disasm = |bytes: &[u8], ip: u64| {
            let mut out = String::new();
            let mut dec = iced_x86::Decoder::with_ip(64, bytes, ip, iced_x86::DecoderOptions::NONE);
            for insn in &mut dec {
                let mut s = String::new();
                fmt.format(&insn, &mut s);
                out.push_str(&format!("  {:#014x}: {s}\n", insn.ip()));
            }
            out
        };
        if d.in_asm {
            let mut buf = vec![0u8; (ir.end - ir.start) as usize];
            let n = guestmem::read_guest(ir.start, &mut buf);
            tracing::info!(target: "tern::dump", "IN: guest {:#x}\n{}", ir.start, disasm(&buf[..n], ir.start));
        }
        if d.ir {
            tracing::info!(target: "tern::dump", "IR:\n{ir}");
        }
        if d.out_asm {
            // SAFETY: the block's host code was just installed and stays mapped.
            let code =
                unsafe { std::slice::from_raw_parts(block.host_start as *const u8, block.host_len as usize) };
            tracing::info!(target: "tern::dump", "OUT: host {:#x}\n{}", block.host_start, disasm(code, block.host_start));
        }
    }

    /// Links the jump of exit descriptor `desc` (the `exit_desc` of a
    /// `Direct` exit taken from code of code-cache epoch `epoch`) to the
    /// block for its target, if there is one. Any other descriptor, or one
    /// a flush has forgotten since, is left alone.
    pub fn chain(&self, desc: u64, epoch: u64) {
        // While another thread translates, this one runs on unchained (it
        // comes back here at the jump's next exit) rather than wait.
        let mut t = match self.tables.try_lock() {
            Ok(t) => t,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        // Flushes bump the epoch with this lock held.
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        let d = self.cache.desc(desc);
        if d.kind != cpu::ExitKind::Direct || d.patch_site == 0 {
            return;
        }
        self.link_locked(&mut t, &d);
    }

    /// Patches the rel32 field of `Direct` exit `d`, which still leads to
    /// its exit stub, to the block for its target (the block's start, or
    /// its lookup entry for `DIRECT_VIA_LOOKUP`), remembering the stub for
    /// unlinking.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`), and `d` is a `Direct` exit
    /// descriptor of an installed block.
    fn link_locked(&self, t: &mut Tables, d: &ExitDesc) {
        let site = d.patch_site;
        let Some(&target) = t.blocks.get(&d.target) else { return };
        let to = if d.arg == cpu::DIRECT_VIA_LOOKUP { target.ibl_entry } else { target.entry };
        // SAFETY: site is a 4-byte field inside installed code, readable
        // through the executable view.
        let rel = unsafe { (site as *const i32).read_unaligned() };
        let stub = (site + 4).wrapping_add(rel as i64 as u64);
        if stub == to {
            return;
        }
        // SAFETY: site is a Direct exit's jump field (precondition) and the
        // target is an installed block's entry or lookup entry.
        unsafe { self.cache.patch_rel32(&mut t.writer, site, to) };
        let id = target.id as usize;
        t.incoming[id].push((site, stub));
        self.stats.chained.fetch_add(1, Ordering::Relaxed);
    }

    /// Write-protects `page` if the guest can write it, so that a write to
    /// the code on it is noticed. Never a page of the code cache, whatever
    /// the guest map says.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn protect_code_page_locked(&self, t: &mut Tables, page: u64) {
        if t.code.protected.contains_key(&page)
            || self.cache.ranges().iter().any(|r| (r.0..r.1).contains(&page))
        {
            return;
        }
        if let Some(prot) = t.mem.prot_at(page) {
            if prot & libc::PROT_WRITE != 0 && pages::host_mprotect(page, prot & !libc::PROT_WRITE) {
                t.code.protected.insert(page, prot);
            }
        }
    }

    /// Names the host vDSO's range (see the `vdso` field).
    pub fn set_vdso(&self, start: u64, end: u64) {
        *self.vdso.lock().unwrap_or_else(|e| e.into_inner()) = (start, end);
    }

    /// Records a guest mapping of `[start, end)` with `prot`.
    pub fn note_map(&self, start: u64, end: u64, prot: i32) {
        self.map_change().note_map(start, end, prot);
    }

    /// Records a guest `mprotect`.
    pub fn note_protect(&self, start: u64, end: u64, prot: i32) {
        self.map_change().note_protect(start, end, prot);
    }

    /// The guest protection tern has recorded at `addr`.
    pub fn prot_at(&self, addr: u64) -> Option<i32> {
        self.tables().mem.prot_at(addr)
    }

    /// Records a guest `munmap`.
    pub fn note_unmap(&self, start: u64, end: u64) {
        self.map_change().note_unmap(start, end);
    }

    /// Stops translation while the guest's mappings change: a call that
    /// maps, unmaps or reprotects guest memory runs its host call while it
    /// holds the returned guard, between dropping the code in the range
    /// and recording the result, so that no thread translates from the
    /// range in between (a block read from memory whose protection tern
    /// has not recorded yet would escape write protection).
    pub fn map_change(&self) -> MapChange<'_> {
        MapChange { jit: self, t: self.tables() }
    }

    /// Called for a guest write fault at `addr`: if it hit a page that tern
    /// write-protected because it holds code, drops that page's code, gives
    /// the page back its protection and returns true (the caller then runs
    /// the writing instruction alone).
    pub fn handle_code_write(&self, addr: u64) -> bool {
        let page = addr & !0xfff;
        if !self.tables().code.protected.contains_key(&page) {
            return false;
        }
        self.invalidate_range(page, page + 0x1000);
        true
    }

    /// Gives every page tern write-protected back its protection, dropping
    /// the code on it. Used when the kernel refused to write guest memory
    /// (EFAULT) that may be one of those pages. Returns true if any was.
    pub fn unprotect_all_code_pages(&self) -> bool {
        let pages: Vec<u64> = self.tables().code.protected.keys().copied().collect();
        for &page in &pages {
            self.invalidate_range(page, page + 0x1000);
        }
        !pages.is_empty()
    }

    /// Drops every block that overlaps guest pages `[start, end)`: unlinks
    /// jumps into them and forgets them, so the next execution retranslates.
    /// Returns true if any block was dropped. Before it returns, no lookup
    /// table of any registered thread and no chained jump leads to a dropped
    /// block any more. Host code is never freed, so a thread still inside an
    /// old block finishes it safely.
    pub fn invalidate_range(&self, start: u64, end: u64) -> bool {
        self.map_change().invalidate(start, end)
    }

    /// `invalidate_range` with the tables lock held (`_locked`).
    fn invalidate_range_locked(&self, t: &mut Tables, start: u64, end: u64) -> bool {
        let mut dropped_pcs: smallvec::SmallVec<[u64; 16]> = Default::default();
        let first = start & !0xfff;
        let count = end.saturating_sub(first).div_ceil(0x1000);
        // Visit whichever is smaller: the range's pages or the known ones.
        let todo: Vec<u64> = if count as usize <= t.pages.len() + t.code.protected.len() {
            (0..count).map(|i| first + i * 0x1000).collect()
        } else {
            let inside = |p: &&u64| (first..end).contains(*p);
            let mut v: Vec<u64> = t.pages.keys().filter(inside).copied().collect();
            v.extend(t.code.protected.keys().filter(inside));
            v
        };
        for page in todo {
            if let Some(pcs) = t.pages.remove(&page) {
                for pc in pcs {
                    if let Some(b) = t.blocks.remove(&pc) {
                        t.index.remove(pc);
                        dropped_pcs.push(pc);
                        for (site, stub) in std::mem::take(&mut t.incoming[b.id as usize]) {
                            // SAFETY: link_locked recorded (site, stub): a
                            // Direct exit's jump field and its own stub.
                            unsafe { self.cache.patch_rel32(&mut t.writer, site, stub) };
                        }
                    }
                }
            }
            if let Some(prot) = t.code.protected.remove(&page) {
                pages::host_mprotect(page, prot);
            }
        }
        if dropped_pcs.is_empty() {
            return false;
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        for &cpu in self.threads.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            for &pc in &dropped_pcs {
                // SAFETY: registered states are live until unregistered,
                // which takes the same lock.
                unsafe { CpuState::ibl_forget(cpu as *mut CpuState, pc) };
            }
        }
        self.stats.invalidated.fetch_add(dropped_pcs.len() as u64, Ordering::Relaxed);
        true
    }
}

/// The translation lock held while guest mappings change (see
/// [`Jit::map_change`]).
pub struct MapChange<'a> {
    jit: &'a Jit,
    t: std::sync::MutexGuard<'a, Tables>,
}

impl MapChange<'_> {
    /// [`Jit::invalidate_range`] under this guard.
    pub fn invalidate(&mut self, start: u64, end: u64) -> bool {
        self.jit.invalidate_range_locked(&mut self.t, start, end)
    }

    /// Records a guest mapping of `[start, end)` with `prot`.
    pub fn note_map(&mut self, start: u64, end: u64, prot: i32) {
        self.t.mem.set(start, end, prot);
    }

    /// Records a guest `mprotect`.
    pub fn note_protect(&mut self, start: u64, end: u64, prot: i32) {
        self.t.mem.protect(start, end, prot);
    }

    /// Records a guest `munmap`.
    pub fn note_unmap(&mut self, start: u64, end: u64) {
        self.t.mem.remove(start, end);
    }

    /// The guest protection tern has recorded at `addr`.
    pub fn prot_at(&self, addr: u64) -> Option<i32> {
        self.t.mem.prot_at(addr)
    }
}

/// The translator's locks, held across a host `fork` so that the child
/// (which has only the forking thread) finds them free and the tables
/// consistent. Taken in the order translation nests them: tables, perf map,
/// vDSO range.
pub struct ForkLocks<'a> {
    jit: &'a Jit,
    tables: std::sync::MutexGuard<'a, Tables>,
    _perf: std::sync::MutexGuard<'a, Option<std::fs::File>>,
    _vdso: std::sync::MutexGuard<'a, (u64, u64)>,
    mem: Option<std::sync::MutexGuard<'static, Vec<(u64, u64)>>>,
}

impl ForkLocks<'_> {
    /// In a forked child: gives this process its own copy of the code cache
    /// (see `CodeCache::unshare_after_fork`).
    pub fn unshare_in_child(&mut self) -> Result<(), CacheError> {
        // The copy may map memory for tern, which registers it.
        self.mem = None;
        self.jit.cache.unshare_after_fork(&mut self.tables.writer)
    }
}

impl Jit {
    /// Takes every translator lock for a host `fork` (see [`ForkLocks`]).
    pub fn lock_for_fork(&self) -> ForkLocks<'_> {
        let tables = self.tables();
        let perf = self.perf_map.lock().unwrap_or_else(|e| e.into_inner());
        let vdso = self.vdso.lock().unwrap_or_else(|e| e.into_inner());
        ForkLocks { jit: self, tables, _perf: perf, _vdso: vdso, mem: Some(pages::lock_tern_memory()) }
    }

    /// The descriptor of the last exit of `cpu`.
    pub fn last_exit(&self, cpu: &CpuState) -> ExitDesc {
        self.cache.desc(cpu.exit_desc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An exit stub is `mov qword gs:[exit_desc], imm32` (13 bytes) and
    /// `jmp rel32` to the exit trampoline (5 bytes): a `syscall` block is
    /// its lookup entry (two 9-byte loads of rcx and rdx) then exactly one
    /// stub.
    #[test]
    fn exit_stub_is_18_bytes() {
        let (_, rt) = baseline::emit_runtime(0x10_0000, 0x20_0000);
        let ir = lift::lift_block(CpuModel::V2, 0x40_0000, &[0x0f, 0x05], false, false);
        let em = baseline::emit_block(&ir, 0x10_1000, &rt).unwrap();
        assert_eq!(em.descs.len(), 1);
        assert_eq!(em.descs[0].kind, cpu::ExitKind::Syscall);
        assert_eq!((em.ibl_entry, em.entry), (0, 18), "{:02x?}", em.code);
        assert_eq!(em.code.len(), 18 + 18, "{:02x?}", em.code);
        assert_eq!(em.code[18..23], [0x65, 0x48, 0xc7, 0x04, 0x25]);
        assert_eq!(em.code[31], 0xe9);
    }
}
