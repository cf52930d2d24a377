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
pub mod child_alloc;
pub mod clock;
pub mod cpu;
pub mod entry;
mod flush;
mod fork_hints;
pub mod futex;
pub mod guestmem;
pub mod hostmem;
pub mod ir;
pub mod lift;
pub mod map_reserve;
pub mod model;
pub mod pages;
pub mod pcmap;
pub mod persist;
pub mod robust;
pub mod seg;
pub mod traces;
pub mod xstate;

use cache::{Block, CacheError, CodeCache, CodeWriter};
use cpu::{CpuState, ExitDesc};
// FxHash: the keys are guest addresses, not attacker-chosen strings, and
// SipHash showed up in translation profiles.
use robust::{RobustGuard, RobustMutex};
use rustc_hash::FxHashMap as HashMap;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

pub use model::CpuModel;

/// Most guest bytes one block can span: 64 instructions of up to 15 bytes.
const MAX_BLOCK_BYTES: usize = lift::MAX_BLOCK_INSNS * 15;

/// Translations of one block that may fail to install because its pages
/// changed meanwhile before one runs with the lock held throughout.
const OPTIMISTIC_TRIES: u32 = 3;

/// Smallest piece of code memory handed to a translation (see
/// `Jit::take_room_locked`); blocks are rarely larger.
const MIN_ROOM: u64 = 4096;

/// `Jit::profile_at`: no profiling.
const PROFILE_NEVER: u64 = u64::MAX;
/// `Jit::profile_at`: backward branches have their counting stubs.
const PROFILE_ARMED: u64 = 0;
/// Counting stubs installed at most under one hold of the tables lock
/// (`Jit::arm_pending_locked`).
const ARM_SHARE: usize = 256;

/// A pause looks at the trace-head counters of this many threads at most
/// (`Jit::heads_counted`; 256 KiB each); beyond, it visits every profiled
/// branch.
const HOT_SCANNED_THREADS: usize = 64;

/// `Jit::profile_at`: armed once, but the branches that had their
/// counting stubs lead past them (`Jit::pause_profiling`).
const PROFILE_PAUSED: u64 = 1;

/// Changes of guest memory remembered for translations in flight (see
/// `Tables::changes`).
const CHANGES_KEPT: usize = 64;

/// Chained jumps a process refuses to make in code it shares with a fork
/// parent or child before it takes its own copy (`Jit::link_locked`): each
/// refusal costs an exit to the CPU loop (about a microsecond), the copy
/// about a millisecond per MiB of code.
const SHARED_LINKS_REFUSED: u32 = 256;

/// What a translation read under the lock (`fetch_for_translation_locked`).
struct Fetched {
    pc: u64,
    code: [u8; MAX_BLOCK_BYTES],
    /// Bytes of `code` read.
    n: usize,
    /// The code memory `[start, end)` this translation emits into; no other
    /// translation uses it meanwhile.
    room: (u64, u64),
    /// `Tables::changes_seq` at the fetch.
    seq: u64,
    /// The code-cache epoch at the fetch.
    epoch: u64,
    /// The block's pages are volatile: it checks its bytes (`IrBlock::check`).
    check: bool,
}

/// How `commit_locked` ended.
enum Commit {
    /// Installed and published: the block's IR, the block, its host size,
    /// and, if asked for, its host code as emitted (before its descriptors
    /// were numbered) with the host address it was emitted for.
    Installed(ir::IrBlock, &'static Block, usize, Option<Box<(u64, baseline::Emitted)>>),
    /// Another thread installed the same pc meanwhile.
    Found(&'static Block),
    /// The guest bytes may have changed, or a flush ran: translate again.
    Retry,
}

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
    /// Log what the persistent cache gives and keeps (`-d persist`): each
    /// share of the start-up list handed out, what its image gave, and the
    /// misses noted at the end. Changes no generated code.
    pub persist: bool,
}

/// Counters printed by `--stats`.
#[derive(Debug, Default)]
pub struct Stats {
    pub blocks: AtomicU64,
    /// Of `blocks`, those taken from the persistent cache.
    pub reused: AtomicU64,
    pub guest_insns: AtomicU64,
    pub host_bytes: AtomicU64,
    /// RIP-relative operands translated with a scratch register and a
    /// `mov r, imm64` around them (`baseline::Emitted::far_rip`).
    pub far_rip: AtomicU64,
    pub chained: AtomicU64,
    /// Lookup-table entries moved to their victim slot (`cpu::IBL_SLOTS`).
    pub ibl_victims: AtomicU64,
    pub translate_ns: AtomicU64,
    /// Part of `translate_ns` spent holding the translation lock.
    pub translate_locked_ns: AtomicU64,
    /// Blocks dropped by invalidation (self-modifying code, munmap...).
    pub invalidated: AtomicU64,
    /// Times the code cache was full and flushed (`Jit::flush_locked`).
    pub flushes: AtomicU64,
    /// Counting stubs given to profiled branches (`Jit::arm_profiling`).
    pub count_stubs: AtomicU64,
    /// Pauses of the counting (`Jit::pause_profiling`), and the branches
    /// they pointed past their stubs.
    pub count_pauses: AtomicU64,
    pub branches_paused: AtomicU64,
    /// Translations started over because their pages changed or a flush
    /// ran while they were built without the lock (`Jit::translate`).
    pub translate_retries: AtomicU64,
    /// Times a translator lock was taken over from a dead vfork or
    /// CLONE_VM child (`robust.rs`).
    pub lock_recoveries: AtomicU64,
    /// Traces invalidated with their pages (`traces.rs`).
    pub traces_invalidated: AtomicU64,
    /// Chained jumps not made because their site was code shared with
    /// another process (`Jit::link_locked`).
    pub links_refused: AtomicU64,
    /// Blocks loaded before a fork because earlier fork children needed
    /// them (`fork_hints.rs`).
    pub fork_prefetched: AtomicU64,
    /// Blocks installed from the program's start-up list
    /// (`persist::group`).
    pub group_loaded: AtomicU64,
    /// Of `group_loaded`, those installed from start-up images
    /// (`persist::image`).
    pub image_loaded: AtomicU64,
    /// Blocks installed without the start-up list that this process
    /// notes for the list's next version (`Persist::note_miss`).
    pub group_missed: AtomicU64,
}

/// Errors from translation.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Emit(#[from] baseline::EmitError),
}

/// The prediction a stored block at `pc` whose indirect-branch slot is
/// `slot` (`persist::record::Record::slot`) takes now: the target its slot
/// predicts (or None for a block without one), or None if the slot
/// predicts a target now where it did not then, or the reverse (the block
/// is then translated anew).
fn stored_prediction(pc: u64, slot: Option<(u64, u64, bool)>) -> Option<Option<u64>> {
    let Some((slot, branch, had)) = slot else { return Some(None) };
    let now = predicted_target(pc.wrapping_add(slot), pc.wrapping_add(branch));
    (now.is_some() == had).then_some(now)
}

/// The target a block's final `jmp`/`call` through a RIP-relative memory
/// operand would take now (see `IrBlock::predicted`): the 8 bytes there, if
/// readable. A slot still pointing next to the branch is a lazy-binding GOT
/// entry that leads to the dynamic linker's resolver once and changes
/// after: not predicted.
fn predict_indirect(ir: &ir::IrBlock) -> Option<u64> {
    let (slot, branch) = indirect_slot(ir)?;
    predicted_target(slot, branch)
}

/// The slot of a block's final `jmp`/`call` through a RIP-relative memory
/// operand, and the branch's address.
fn indirect_slot(ir: &ir::IrBlock) -> Option<(u64, u64)> {
    let last = ir.insns.last()?;
    let operand = match &last.op {
        ir::Op::JmpInd { operand, fix: ir::MemFix::RipRel } => operand,
        ir::Op::CallInd { operand, fix: ir::MemFix::RipRel, .. } => operand,
        _ => return None,
    };
    Some((operand.ip_rel_memory_address(), last.pc))
}

/// The target a branch at `branch` through `slot` is predicted to take.
fn predicted_target(slot: u64, branch: u64) -> Option<u64> {
    let mut buf = [0u8; 8];
    if guestmem::read_guest(slot, &mut buf) != 8 {
        return None;
    }
    let target = u64::from_le_bytes(buf);
    (target != 0 && target.abs_diff(branch) >= 0x1000).then_some(target)
}

/// Intel-syntax disassembly of `bytes` at address `ip`, one instruction
/// per line (dumps).
pub fn disasm(bytes: &[u8], ip: u64) -> String {
    use iced_x86::Formatter;
    let mut fmt = iced_x86::IntelFormatter::new();
    let mut out = String::new();
    let mut dec = iced_x86::Decoder::with_ip(64, bytes, ip, iced_x86::DecoderOptions::NONE);
    for insn in &mut dec {
        let mut s = String::new();
        fmt.format(&insn, &mut s);
        out.push_str(&format!("  {:#014x}: {s}\n", insn.ip()));
    }
    out
}

/// The state behind the translation lock (`Jit::tables`).
struct Tables {
    /// The only write access to the code cache: whoever holds the lock.
    writer: CodeWriter,
    /// The only write access to `Jit::index`, the guest pc -> block map
    /// (non-transient blocks only). To whoever holds this lock the map is
    /// exact: its one writer finishes each change before letting go.
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
    /// Pieces of code memory `[start, end)` free for the next translations
    /// (see `Jit::take_room_locked`); a translation in flight holds its
    /// own outside this list.
    rooms: Vec<(u64, u64)>,
    /// The piece of code memory counting stubs are placed in, apart from
    /// the blocks (`Jit::install_count_stub_locked`).
    stub_room: Option<(u64, u64)>,
    /// The last `CHANGES_KEPT` guest ranges `[start, end)` invalidated,
    /// mapped, unmapped or reprotected, newest last; `changes_seq` counts
    /// them all. A translation built without the lock installs its block
    /// only if none of them touched its pages since its fetch.
    changes: std::collections::VecDeque<(u64, u64)>,
    changes_seq: u64,
    /// The installed traces (`traces.rs`).
    traces: traces::TraceRecs,
    /// The persistent translation cache, once enabled (`Jit::persist`).
    persist: Option<persist::Persist>,
    /// Chained jumps refused since the last fork because their site is
    /// code shared with another process (see `Jit::link_locked`).
    refused: u32,
    /// While a start-up list installs its blocks, their direct exits, to
    /// be linked again once all are in (`Jit::install_group_locked`).
    link_later: Option<Vec<ExitDesc>>,
    /// Blocks start-up lists installed (guest pc, lookup entry), for the
    /// lookup table of the next thread to enter generated code
    /// (`Jit::prefill_lookups`). Emptied when blocks are dropped.
    fresh: Vec<(u64, u64)>,
    /// Direct exits of blocks a start-up list installed into blocks of a
    /// later share of the list, by target pc: linked when that share is
    /// installed, so that the first jump along each does not leave
    /// generated code. Emptied when blocks are dropped (a site may be gone).
    awaiting: HashMap<u64, Vec<ExitDesc>>,
    /// Profiled backward branches of installed blocks waiting for their
    /// counting stubs (`Jit::arm_pending_locked`): (rel32 field, head).
    backs: Vec<(u64, u64)>,
    /// The counting stubs given so far, by their branch's rel32 field.
    counting: HashMap<u64, Counted>,
    /// The branches the last pause pointed past their counting stubs
    /// (`Jit::pause_profiling`), for the next arming to point back.
    paused: Vec<u64>,
}

/// A profiled branch's counting stub (`Tables::counting`).
#[derive(Clone, Copy)]
struct Counted {
    /// The stub's address.
    stub: u64,
    /// The descriptor of the stub's plain jump to the head.
    plain: ExitDesc,
    /// A pause pointed the branch straight at the head's block, and
    /// nothing has pointed it elsewhere since.
    paused: bool,
    /// The head's block (its id plus one) whose incoming jumps name the
    /// branch with its stub, since a pause; 0: none.
    listed: u32,
}

impl Tables {
    /// The profiled branch whose rel32 field is `site` was pointed
    /// somewhere by the trace tier: the next arming leaves it there.
    pub(crate) fn unpause(&mut self, site: u64) {
        if let Some(c) = self.counting.get_mut(&site) {
            c.paused = false;
        }
    }

    /// True if code on guest page `page` is never write-protected and its
    /// blocks check their own bytes instead: the page is volatile
    /// (`pages::VOLATILE_AFTER`) or shared (`pages::SHARED_MAPPING`).
    fn self_checked(&self, page: u64) -> bool {
        self.code.volatile.contains(&page)
            || self.mem.prot_at(page).is_some_and(|p| p & pages::SHARED_MAPPING != 0)
    }

    /// True if guest `addr` is mapped executable and not writable: where
    /// stored blocks are used (a writable page's code is translated).
    fn read_only_code(&self, addr: u64) -> bool {
        self.mem.prot_at(addr).is_some_and(|p| p & libc::PROT_EXEC != 0 && p & libc::PROT_WRITE == 0)
    }

    /// Remembers that guest memory `[start, end)` changed.
    fn note_change(&mut self, start: u64, end: u64) {
        if self.changes.len() == CHANGES_KEPT {
            self.changes.pop_front();
        }
        self.changes.push_back((start, end));
        self.changes_seq += 1;
    }
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
    /// The translation lock. Robust: a vfork or CLONE_VM child (another
    /// process on this memory) killed while it holds it does not hang the
    /// others (`robust.rs`, `Jit::recover_locked`).
    tables: RobustMutex<Tables>,
    /// guest pc -> block for lookups without the lock (`lookup_or_translate`).
    index: Box<blockmap::BlockMap>,
    /// The `CpuState` of every live guest thread, so that invalidation can
    /// clear their lookup tables. Lock order: `tables`, then `threads`.
    threads: RobustMutex<Vec<usize>>,
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
    /// whatever the guest CPU model. Start and end, set once.
    vdso: (AtomicU64, AtomicU64),
    /// Profiling of trace heads (`baseline::Profiler`), once the trace
    /// tier is on.
    prof: OnceLock<baseline::Profiler>,
    /// When backward branches get their counting stubs
    /// ([`Jit::arm_profiling`]): [`PROFILE_NEVER`] (no trace tier),
    /// [`PROFILE_ARMED`], [`PROFILE_PAUSED`], or the monotonic time (ns)
    /// from which the next
    /// translation arms them; and the delay (ns) from a process's start
    /// (or exec, or fork) to that time.
    profile_at: (AtomicU64, AtomicU64),
    /// Blocks translated count the guest instructions they run.
    count_insns: std::sync::atomic::AtomicBool,
    /// Installed traces' functions, read without the lock.
    trace_table: traces::TraceTable,
    /// `Tables::fresh` is not empty (read without the lock).
    fresh_any: std::sync::atomic::AtomicBool,
    /// While the persistent cache's start-up window is open: the calls to
    /// [`Jit::translate`] since it opened, and the nanoseconds spent in
    /// them, which the window does not count (`Persist::note_miss`).
    startup_translating: (std::sync::atomic::AtomicBool, AtomicU64, AtomicU64),
}

/// One call to [`Jit::translate`] in this many is timed for the start-up
/// window, and counts for them all: two clock reads (syscalls:
/// `clock.rs`) in every call made a cold `python3 -c pass` 6 % slower.
const STARTUP_TIMING_SAMPLE: u64 = 8;

impl Jit {
    /// A translator for `model` whose code cache maps `cache_size` bytes
    /// (see [`CodeCache::new`]).
    pub fn new(model: CpuModel, dump: DumpOptions, cache_size: usize) -> Result<Jit, TranslateError> {
        let (cache, mut writer) = CodeCache::new(cache_size)?;
        let (code, rt) =
            baseline::emit_runtime(cache.next_addr(), entry::exit_common_addr(), entry::resume_host_addr());
        cache.install(&mut writer, &code)?;
        let fixed = |kind: cpu::ExitKind| ExitDesc { kind, arg: 0, target: 0, patch_site: 0 };
        let first = cache.add_descs(
            &mut writer,
            &[
                fixed(cpu::ExitKind::Indirect),
                fixed(cpu::ExitKind::Fault),
                fixed(cpu::ExitKind::Signal),
                ExitDesc { kind: cpu::ExitKind::Trace, arg: cpu::TRACE_LEFT, target: 0, patch_site: 0 },
            ],
        )?;
        debug_assert_eq!(u64::from(first), cpu::DESC_INDIRECT);
        debug_assert_eq!(u64::from(first) + 2, cpu::DESC_SIGNAL);
        debug_assert_eq!(u64::from(first) + 3, cpu::DESC_TRACE_LEFT);
        cache.set_trace_routines(rt.trace.to_loop, rt.trace.window);
        let (index, index_writer) = blockmap::BlockMap::new();
        let mark = cache.mark();
        Ok(Jit {
            cache,
            rt,
            model,
            dump,
            tables: RobustMutex::new(Tables {
                writer,
                index: index_writer,
                pages: HashMap::default(),
                incoming: Vec::new(),
                mem: Default::default(),
                code: Default::default(),
                live: Vec::new(),
                limbo: (Vec::new(), 0),
                rooms: Vec::new(),
                stub_room: None,
                changes: Default::default(),
                changes_seq: 0,
                traces: Default::default(),
                persist: None,
                refused: 0,
                link_later: None,
                awaiting: Default::default(),
                backs: Vec::new(),
                counting: Default::default(),
                paused: Vec::new(),
                fresh: Vec::new(),
            }),
            index,
            threads: RobustMutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            epoch: AtomicU64::new(1),
            mark,
            kicker: OnceLock::new(),
            stats: Stats::default(),
            perf_map: Mutex::new(None),
            vdso: (AtomicU64::new(0), AtomicU64::new(0)),
            prof: OnceLock::new(),
            profile_at: (AtomicU64::new(PROFILE_NEVER), AtomicU64::new(0)),
            count_insns: std::sync::atomic::AtomicBool::new(false),
            trace_table: Default::default(),
            fresh_any: std::sync::atomic::AtomicBool::new(false),
            startup_translating: Default::default(),
        })
    }

    pub fn model(&self) -> CpuModel {
        self.model
    }

    /// Blocks translated from now on count the guest instructions they
    /// run in `CpuState::guest_insns` (`--stats`: costs a few host
    /// instructions per block run).
    pub fn set_count_insns(&self) {
        self.count_insns.store(true, Ordering::Relaxed);
    }

    /// Turns on the profiling of trace heads (once; later calls change
    /// nothing): backward branches get their counting stubs `delay_ns`
    /// from now ([`Jit::arm_profiling`]; at once for 0).
    pub fn set_profiler(&self, p: baseline::Profiler, delay_ns: u64) {
        if self.prof.set(p).is_ok() {
            self.profile_at.1.store(delay_ns, Ordering::Relaxed);
            self.restart_profile_delay_if(false);
            if delay_ns == 0 {
                self.arm_profiling();
            }
        }
    }

    /// Profiling, if it is on, starts after the delay from now, unless
    /// it is armed and not `armed_too`.
    fn restart_profile_delay_if(&self, armed_too: bool) {
        if self.prof.get().is_none() || !armed_too && self.profiling_armed() {
            return;
        }
        let delay = self.profile_at.1.load(Ordering::Relaxed);
        self.profile_at.0.store(clock::monotonic_ns().saturating_add(delay).max(1), Ordering::Relaxed);
    }

    /// In a fork child: its profiling starts after the delay from now,
    /// unless the parent's had already (see [`Jit::set_profiler`]).
    pub fn after_fork_profiling(&self) {
        self.restart_profile_delay_if(false);
    }

    /// True once backward branches get their counting stubs.
    pub fn profiling_armed(&self) -> bool {
        self.profile_at.0.load(Ordering::Relaxed) == PROFILE_ARMED
    }

    /// Gives every profiled backward branch (`cpu::DIRECT_BACK`, to a head
    /// in `--trace-range`) of the blocks installed so far, and of those
    /// installed from now on, its counting stub
    /// (`baseline::emit_count_stub`); nothing without a profiler. Blocks
    /// carry no counting code of their own, so a process that ends before
    /// this (`--trace-delay`) runs the same code as without traces.
    ///
    /// After a pause ([`Jit::pause_profiling`]), the branches it pointed
    /// past their stubs lead to them again.
    pub fn arm_profiling(&self) {
        if self.prof.get().is_none() {
            return;
        }
        let mut t = self.tables();
        self.profile_at.0.store(PROFILE_ARMED, Ordering::Relaxed);
        // A share at a time, the lock let go between: thousands take
        // milliseconds, which a translating guest thread would wait. The
        // paused branches first, then any blocks still waiting.
        let paused = std::mem::take(&mut t.paused);
        let epoch = self.epoch.load(Ordering::SeqCst);
        for share in paused.chunks(ARM_SHARE) {
            if self.epoch.load(Ordering::SeqCst) != epoch {
                break;
            }
            for &site in share {
                self.unpause_locked(&mut t, site);
            }
            drop(t);
            t = self.tables();
        }
        loop {
            let before = t.backs.len();
            self.arm_pending_locked(&mut t);
            if t.backs.is_empty() || t.backs.len() == before {
                break;
            }
            drop(t);
            t = self.tables();
        }
    }

    /// Points the profiled branch whose rel32 field is `site` back at its
    /// counting stub if a pause pointed it past and nothing else has
    /// since.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`), and `site` is of the current
    /// code-cache epoch (a flush forgets `counting` and `paused`).
    fn unpause_locked(&self, t: &mut Tables, site: u64) {
        let Some(c) = t.counting.get_mut(&site) else { return };
        if !std::mem::replace(&mut c.paused, false) {
            return;
        }
        let (stub, head) = (c.stub, c.plain.target);
        let at_head = self.index.get(head).is_some_and(|b| self.cache.rel32_target(site) == b.entry);
        if at_head && !self.cache.shared(site) {
            // SAFETY: site is a profiled branch's field in code of the
            // current epoch, and stub its counting stub, which expects the
            // state at its head.
            unsafe { self.cache.patch_rel32(&mut t.writer, site, stub) };
        }
    }

    /// Points every profiled branch that leads to its counting stub, and
    /// whose head counted since the last pause (`Jit::heads_counted`),
    /// straight at its head's block instead, so that it counts nothing
    /// until the next [`Jit::arm_profiling`] (as a chained jump: the
    /// block's invalidation points it back at its stub). A branch whose
    /// stub did not run stays at it (cold code costs nothing either way;
    /// python3's bench: 11 K branches paused in all instead of 85 K). Blocks installed
    /// meanwhile get their stubs at once and count until the next pause:
    /// a loop in code first run between bursts (int_hash's second and
    /// third) is hot without waiting for the next one (up to 475 ms).
    /// Nothing unless armed. A branch to
    /// the head of an installed trace keeps counting: getting hot leads it
    /// into the trace (one whose head gets a trace during the pause counts
    /// again from then on: `Jit::install_trace`). Counting
    /// every backward branch all the time cost cc1 15 % (400 M runs of
    /// its stubs in 5 s); the trace tier counts in bursts instead
    /// (`--trace-duty`): a loop that holds the CPU is hot within any
    /// burst, and code that runs briefly costs only while one lasts.
    pub fn pause_profiling(&self) {
        let (sites, epoch): (Vec<u64>, u64) = {
            let t = self.tables();
            if self.profile_at.0.load(Ordering::Relaxed) != PROFILE_ARMED {
                return;
            }
            self.profile_at.0.store(PROFILE_PAUSED, Ordering::Relaxed);
            let ran = self.heads_counted();
            // Heads that share a counter's slot share its verdict.
            let counted = |head| ran.as_ref().is_none_or(|r| r.has(baseline::hot_slot(head) as usize));
            let sites = t.counting.iter().filter(|(_, c)| counted(c.plain.target));
            (sites.map(|(&site, _)| site).collect(), self.epoch.load(Ordering::SeqCst))
        };
        // A share at a time, the lock let go between (tens of thousands
        // of branches take milliseconds, which a translating guest thread
        // would wait).
        let mut paused = 0;
        for share in sites.chunks(ARM_SHARE) {
            let mut t = self.tables();
            if self.epoch.load(Ordering::SeqCst) != epoch {
                break;
            }
            let t = &mut *t;
            let traced = t.traces.live_heads(|i| self.trace_fn(i).is_some());
            for &site in share {
                let Some(c) = t.counting.get_mut(&site) else { continue };
                let Some(b) = self.index.get(c.plain.target) else { continue };
                if self.cache.rel32_target(site) != c.stub
                    || self.cache.shared(site)
                    || traced.contains(&b.guest_start)
                {
                    continue;
                }
                // SAFETY: site is a profiled branch's field in code of the
                // current epoch (checked above; a flush forgets
                // `counting`), and b the installed block of the head its
                // stub leads to.
                unsafe { self.cache.patch_rel32(&mut t.writer, site, b.entry) };
                if c.listed != b.id + 1 {
                    t.incoming[b.id as usize].push((site, c.stub));
                    c.listed = b.id + 1;
                }
                c.paused = true;
                t.paused.push(site);
                paused += 1;
            }
        }
        self.stats.count_pauses.fetch_add(1, Ordering::Relaxed);
        self.stats.branches_paused.fetch_add(paused, Ordering::Relaxed);
    }

    /// The heads whose counting stubs ran since the last pause, in any
    /// thread (their counters, restarted from 0: `CpuState::take_hot`);
    /// None (all may have) with more threads than are worth looking at.
    /// A pause leaves the other branches at their stubs: they cost nothing
    /// while they do not run, and visiting each of cc1's 74 K profiled
    /// branches twice a burst took ~0.5 s of a 6 s run.
    ///
    /// # Preconditions
    /// The tables lock is held (the threads lock is taken after it).
    fn heads_counted(&self) -> Option<cpu::HotSlots> {
        let threads = self.threads();
        if threads.len() > HOT_SCANNED_THREADS {
            return None;
        }
        let mut ran = cpu::HotSlots::new();
        for &cpu in threads.iter() {
            // SAFETY: registered states are live until unregistered, which
            // takes the threads lock, held here.
            unsafe { CpuState::take_hot(cpu as *mut CpuState, &mut ran) };
        }
        Some(ran)
    }

    /// Arms profiling again after [`Jit::pause_profiling`]; nothing
    /// otherwise (before the delay, say: a fork child's).
    pub fn resume_profiling(&self) {
        if self.profile_at.0.load(Ordering::Relaxed) == PROFILE_PAUSED {
            self.arm_profiling();
        }
    }

    /// Arms profiling if its time has come (on the way to a translation).
    fn arm_if_due(&self) {
        let at = self.profile_at.0.load(Ordering::Relaxed);
        if !matches!(at, PROFILE_ARMED | PROFILE_PAUSED | PROFILE_NEVER) && clock::monotonic_ns() >= at {
            self.arm_profiling();
        }
    }

    /// The counting stubs of the backward branches waiting for them
    /// (`Tables::backs`), once profiling is armed, paused or not
    /// ([`Jit::pause_profiling`]); those of blocks dropped since are
    /// forgotten.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`), and no block is being
    /// registered (stubs take code memory of their own).
    fn arm_pending_locked(&self, t: &mut Tables) {
        let at = self.profile_at.0.load(Ordering::Relaxed);
        if !matches!(at, PROFILE_ARMED | PROFILE_PAUSED) || t.backs.is_empty() {
            return;
        }
        let Some(prof) = self.prof.get() else { return };
        let share = t.backs.len().saturating_sub(ARM_SHARE);
        for (site, head) in t.backs.split_off(share) {
            let live = self.cache.block_at(site).is_some_and(|b| {
                self.index.get(b.guest_start).is_some_and(|i| std::ptr::eq(i, b))
                    && !t.counting.contains_key(&site)
            });
            if !live || !prof.profiles(head) {
                continue;
            }
            match self.install_count_stub_locked(t, head, site, prof.threshold) {
                Ok((stub, plain)) => {
                    t.counting.insert(site, Counted { stub, plain, paused: false, listed: 0 });
                    let d = ExitDesc {
                        kind: cpu::ExitKind::Direct,
                        arg: cpu::DIRECT_BACK,
                        target: head,
                        patch_site: site,
                    };
                    self.link_locked(t, &d);
                }
                // A full cache: the next translation flushes it.
                Err(_) => return,
            }
        }
    }

    /// Installs the counting stub of the branch whose rel32 field is `site`
    /// to `head` (`baseline::emit_count_stub`) in code memory of its own,
    /// registered as a one-off block (so that a signal there finds the
    /// guest state); returns its address and the descriptor of its plain
    /// jump to `head`. Stubs fill chunks of their own (`Tables::stub_room`):
    /// placed in the translations' rooms, cc1's 74 K stubs (~110 bytes
    /// each) sat between its 27 MB of blocks, which then lay less densely
    /// than without traces, paused or not.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn install_count_stub_locked(
        &self,
        t: &mut Tables,
        head: u64,
        site: u64,
        threshold: u32,
    ) -> Result<(u64, ExitDesc), TranslateError> {
        let mut room = match t.stub_room.take() {
            Some(r) => r,
            None => self.cache.reserve_chunk(&mut t.writer)?,
        };
        let mut at = room.0.next_multiple_of(8);
        let mut em = baseline::emit_count_stub(at, &self.rt, head, site, threshold);
        if at + em.code.len() as u64 > room.1 {
            room = self.cache.reserve_chunk(&mut t.writer)?;
            at = room.0;
            em = baseline::emit_count_stub(at, &self.rt, head, site, threshold);
        }
        let first = self.cache.add_descs(&mut t.writer, &em.descs)?;
        em.set_desc_base(first);
        self.cache.install_at(&mut t.writer, at, &em.code);
        let len = em.code.len();
        self.new_block_locked(t, (head, head + 1), at, &mut em, len, true)?;
        let end = at + len as u64;
        if !self.cache.chunk_full(end) {
            t.stub_room = Some((end, room.1));
        }
        self.stats.count_stubs.fetch_add(1, Ordering::Relaxed);
        Ok((at, em.descs[1]))
    }

    /// Takes the translation lock (repairing the tables if its last owner
    /// died holding it).
    fn tables(&self) -> RobustGuard<'_, Tables> {
        let mut t = self.tables.lock();
        if t.recovered {
            self.recover_locked(&mut t);
        }
        t
    }

    /// The thread registry's lock.
    fn threads(&self) -> RobustGuard<'_, Vec<usize>> {
        self.threads.lock()
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
        cpu.ibl_misses += 1;
        if cpu.ibl_misses == cpu::IBL_POPULATE_AFTER {
            cpu.ibl_populate();
        }
        let evict = cpu.ibl_misses > cpu::IBL_EVICT_AFTER;
        cpu.ibl_victims = u64::from(evict);
        // SAFETY: b is the block translated for target.
        if unsafe { cpu.ibl_insert(target, b.ibl_entry, evict) } {
            self.stats.ibl_victims.fetch_add(1, Ordering::Relaxed);
        }
        fence(Ordering::SeqCst);
        if self.generation.load(Ordering::SeqCst) != gen {
            // SAFETY: cpu is this thread's live state.
            unsafe { CpuState::ibl_forget(cpu, target) };
        }
        Ok(h)
    }

    /// A number that moves whenever blocks are dropped (invalidation, a
    /// flush): a registered thread's lookup table holds no dropped block
    /// while it stays the same.
    pub fn lookups_generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Registers the state of a new guest thread: invalidation will clear
    /// its lookup table. Unregister it before it is freed.
    pub fn register_thread(&self, cpu: *mut CpuState) {
        self.threads().push(cpu as usize);
    }

    /// Forgets a thread's state (it is about to be freed).
    pub fn unregister_thread(&self, cpu: *mut CpuState) {
        self.threads().retain(|&c| c != cpu as usize);
    }

    /// Number of registered guest threads.
    pub fn thread_count(&self) -> usize {
        self.threads().len()
    }

    /// Translates the block at `pc`. A `single` block holds one instruction
    /// and is not cached (used to step over a write to its own page).
    ///
    /// A cached block's guest bytes are read only after their page is
    /// write-protected (`protect_code_page_locked`): a guest write between
    /// the read and the protection would otherwise leave stale code cached.
    ///
    /// The translation lock is held only to protect and fetch
    /// ([`Jit::fetch_for_translation_locked`]) and to install
    /// ([`Jit::commit_locked`]); decoding, lifting and emitting run without
    /// it, into a piece of code memory this translation has to itself, so
    /// threads translating distinct blocks do so in parallel. A change to
    /// the block's pages in between (a write, `munmap`, `mprotect`: see
    /// `Tables::changes`) or a flush makes the install fail and the
    /// translation start over; after [`OPTIMISTIC_TRIES`] such failures it
    /// runs with the lock held throughout, which always succeeds. Two
    /// threads translating the same pc both finish; the first to install
    /// wins and the other's code is discarded.
    pub fn translate(&self, pc: u64, single: bool) -> Result<&'static Block, TranslateError> {
        let (open, calls, spent) = &self.startup_translating;
        if !open.load(Ordering::Relaxed) || calls.fetch_add(1, Ordering::Relaxed) % STARTUP_TIMING_SAMPLE != 0
        {
            return self.translate_untimed(pc, single);
        }
        let t0 = clock::monotonic_ns();
        let r = self.translate_untimed(pc, single);
        let took = clock::monotonic_ns().saturating_sub(t0);
        spent.fetch_add(took.saturating_mul(STARTUP_TIMING_SAMPLE), Ordering::Relaxed);
        r
    }

    /// [`Jit::translate`] without the start-up window's timing.
    fn translate_untimed(&self, pc: u64, single: bool) -> Result<&'static Block, TranslateError> {
        self.arm_if_due();
        let t0 = self.dump.time.then(clock::Instant::now);
        let in_vdso = self.in_vdso(pc);
        let mut tries = 0;
        // Time spent holding the lock, for `--stats`.
        let mut locked = std::time::Duration::ZERO;
        // Blocks the persistent cache may hold: not those that depend on
        // this process's options or memory beyond their guest bytes.
        let reuse = !single && !in_vdso && self.persistable();
        let (ir, block, len, insns) = loop {
            let mut t = self.tables();
            let mut l0 = t0.map(|_| clock::Instant::now());
            if !single {
                if let Some(b) = self.index.get(pc) {
                    return Ok(b);
                }
            }
            if self.cache.needs_flush() {
                self.flush_locked(&mut t);
            }
            if reuse && self.install_group_locked(&mut t, pc) {
                if let Some(b) = self.index.get(pc) {
                    if let Some(t0) = t0 {
                        self.stats.translate_ns.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    }
                    return Ok(b);
                }
            }
            // A block the persistent cache holds needs only its own bytes
            // compared (`load_persisted_locked`), not the whole fetch.
            let mut f = self.fetch_for_translation_locked(&mut t, pc, single, !reuse)?;
            // Self-checking blocks are neither loaded nor kept.
            let load = reuse && !f.check;
            let loaded = load.then(|| self.load_persisted_locked(&mut t, &mut f)).flatten();
            if reuse && loaded.is_none() {
                f.n = self.fetch_locked(&t, pc, &mut f.code);
                f.check |= self.unknown_code(&t, pc, f.n);
            }
            if let Some((ir, em, insns)) = loaded {
                let mut commit = self.commit_locked(&mut t, &mut f, (ir, em), false, false)?;
                if let (Commit::Installed(ir, ..), Some(p)) = (&mut commit, t.persist.as_mut()) {
                    p.recycle_guest(std::mem::take(&mut ir.code));
                    self.note_miss(p, pc, f.seq);
                }
                drop(t);
                match commit {
                    Commit::Installed(ir, block, len, _) => break (ir, block, len, usize::from(insns)),
                    Commit::Found(b) => return Ok(b),
                    Commit::Retry => {
                        tries += 1;
                        continue;
                    }
                }
            }
            // A single block (one instruction, stepping over a write to
            // its own page) is translated with the lock held, as is a
            // block that failed to install too often.
            let built = if single || tries >= OPTIMISTIC_TRIES {
                self.build(&f, single, in_vdso)
            } else {
                if let Some(l0) = l0 {
                    locked += l0.elapsed();
                }
                drop(t);
                let built = self.build(&f, single, in_vdso);
                t = self.tables();
                l0 = t0.map(|_| clock::Instant::now());
                built
            };
            let built = match built {
                Ok(b) => b,
                Err(e) => {
                    self.give_back_room_locked(&mut t, &f);
                    return Err(e);
                }
            };
            let keep = reuse && !f.check && t.persist.is_some();
            let mut commit = self.commit_locked(&mut t, &mut f, built, single, keep)?;
            if let Commit::Installed(ir, _, _, kept) = &mut commit {
                if let Some(k) = kept.take() {
                    let (host, em) = *k;
                    self.keep_persisted_locked(&mut t, ir, host, em);
                    if let Some(p) = t.persist.as_mut() {
                        self.note_miss(p, pc, f.seq);
                    }
                }
            }
            drop(t);
            if let Some(l0) = l0.take() {
                locked += l0.elapsed();
            }
            match commit {
                Commit::Installed(ir, block, len, _) => {
                    let n = ir.insns.len();
                    break (ir, block, len, n);
                }
                Commit::Found(b) => return Ok(b),
                Commit::Retry => tries += 1,
            }
        };
        if reuse {
            fork_hints::record(pc);
        }
        self.dump_block(&ir, block);
        self.count_installed(insns, len);
        if tries > 0 {
            self.stats.translate_retries.fetch_add(tries as u64, Ordering::Relaxed);
        }
        if let Some(t0) = t0 {
            self.stats.translate_ns.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
            self.stats.translate_locked_ns.fetch_add(locked.as_nanos() as u64, Ordering::Relaxed);
        }
        Ok(block)
    }

    /// Counts an installed block of `insns` guest instructions and `len`
    /// bytes of host code (`--stats`).
    fn count_installed(&self, insns: usize, len: usize) {
        self.count_installed_many(1, insns, len);
    }

    /// [`Jit::count_installed`] of `blocks` blocks at once.
    fn count_installed_many(&self, blocks: usize, insns: usize, len: usize) {
        self.stats.blocks.fetch_add(blocks as u64, Ordering::Relaxed);
        self.stats.guest_insns.fetch_add(insns as u64, Ordering::Relaxed);
        self.stats.host_bytes.fetch_add(len as u64, Ordering::Relaxed);
    }

    /// Before a fork: loads from the persistent cache the blocks earlier
    /// fork children of this process needed and it has not
    /// (`fork_hints.rs`), so that the next child shares them.
    pub fn prefetch_fork_hints(&self) {
        for pc in fork_hints::take() {
            if self.index.get(pc).is_none() && self.load_stored(pc) {
                self.stats.fork_prefetched.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Installs the blocks the program's start-up list holds for the file
    /// mapping of `pc` (`persist::group`), the first time code there is
    /// translated: later ones first, so that each finds the blocks it
    /// jumps to installed and links to them. True if the list gave any.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`), and `pc`'s blocks are
    /// persistable (`Jit::persistable`, not in the vDSO).
    fn install_group_locked(&self, t: &mut Tables, pc: u64) -> bool {
        let seq = t.changes_seq;
        let Some(p) = t.persist.as_mut() else { return false };
        let mut pcs = p.group_share(pc, seq);
        let first = p.take_first_share();
        if !pcs.is_empty() {
            // The first share of a mapping is its first segment: `pc`
            // itself may be in a later one.
            pcs.extend(p.group_share(pc, seq));
        }
        let later = p.take_later_share().filter(|_| first.is_none() && !pcs.is_empty());
        let listed = p.listed_blocks();
        t.link_later = Some(Vec::with_capacity(pcs.len()));
        t.index.reserve(pcs.len());
        if t.live.capacity() < listed {
            // Room for every block of the list at once, before the first:
            // grown by doubling, the per-block vectors were copied whole
            // (`python3 -c pass`: 20,000 blocks, hundreds of fresh pages
            // touched twice).
            let more = listed + listed / 8 - t.live.len();
            t.incoming.reserve(more);
            t.live.reserve(more);
        }
        if let Some(share) = first.filter(|_| !pcs.is_empty()) {
            // The file's start-up image first; one that is missing or
            // gave less than half the share is written anew from the
            // blocks loaded one by one below.
            let image = t.persist.as_ref().and_then(|p| p.open_image(&share.store));
            let found = image.is_some();
            let n = image.map_or(0, |img| self.install_image_locked(t, &img, &share));
            if self.dump.persist {
                let img = if found { format!("its image gave {n}") } else { "no image".into() };
                tracing::info!(target: "tern::dump", "persist: {} first share {} blocks, {img}", share.store, pcs.len());
            }
            if n * 2 < pcs.len() {
                if let Some(p) = t.persist.as_mut() {
                    p.collect_for(Some(share.store));
                }
            }
        }
        if let Some(later) = later {
            if self.dump.persist {
                let what = match (later.collect, later.image_due) {
                    (true, _) => "collected for its image",
                    (false, true) => "its segment's image installed",
                    (false, false) => "one by one",
                };
                tracing::info!(target: "tern::dump", "persist: {} later span {} blocks, {what}", later.share.store, pcs.len());
            }
            self.install_segment_image_locked(t, later);
        }
        for &g in pcs.iter().rev() {
            if self.index.get(g).is_some() {
                continue;
            }
            let loaded = self.load_stored_locked(t, g);
            if loaded {
                self.stats.group_loaded.fetch_add(1, Ordering::Relaxed);
                if let Some(b) = self.index.get(g) {
                    t.fresh.push((g, b.ibl_entry));
                }
            }
            if let Some(p) = t.persist.as_mut() {
                if loaded {
                    p.collect_loaded(g, seq);
                } else {
                    p.note_listed_unloaded(g);
                }
            }
        }
        if let Some(p) = t.persist.as_mut() {
            p.collect_for(None);
        }
        // Jumps into these blocks from blocks of earlier shares.
        if !t.awaiting.is_empty() {
            for &g in &pcs {
                for d in t.awaiting.remove(&g).unwrap_or_default() {
                    self.link_locked(t, &d);
                }
            }
        }
        // Exits to blocks installed after theirs (a loop's back edge, a
        // call to a function first run earlier); those into a later share
        // of the list wait for it.
        for d in t.link_later.take().unwrap_or_default() {
            if !self.link_locked(t, &d) && t.persist.as_ref().is_some_and(|p| p.listed_later(d.target)) {
                t.awaiting.entry(d.target).or_default().push(d);
            }
        }
        if !t.fresh.is_empty() {
            self.fresh_any.store(true, Ordering::Release);
        }
        self.arm_pending_locked(t);
        !pcs.is_empty()
    }

    /// For a later segment's span of the start-up list (`persist::Segment`):
    /// if the segment has no image, the blocks of its spans are collected
    /// for one as they load; once its image is due, it is installed, all
    /// of the segment's blocks at once.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`), with `t.link_later` set.
    fn install_segment_image_locked(&self, t: &mut Tables, later: persist::LaterShare) {
        let persist::LaterShare { share, collect, image_due } = later;
        let Some(p) = t.persist.as_mut() else { return };
        if collect {
            p.collect_for(Some(share.store));
        } else if image_due {
            if let Some(img) = p.open_image(&share.store) {
                self.install_image_locked(t, &img, &share);
            }
        }
    }

    /// Installs the blocks of a file's start-up image (`persist::image`)
    /// that hold for the guest's bytes now, in the mapping `share`: the
    /// image's code copied into fresh chunks at once, then each block
    /// checked as `load_stored_locked` checks a stored one (read-only
    /// code, guest bytes, prediction, checksum), moved to its guest and
    /// host addresses, and published; a block that fails is left out (its
    /// bytes never run). Direct exits are linked as `commit_locked` links
    /// them. The number of blocks installed.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`), with `t.link_later` set.
    fn install_image_locked(
        &self,
        t: &mut Tables,
        img: &persist::image::Image,
        share: &persist::FirstShare,
    ) -> usize {
        let len = img.code_len();
        if self.cache.needs_flush() || len == 0 {
            return 0;
        }
        // A small image goes where the next translation would have (a
        // fresh chunk is 32 pages to fault in, for a library's dozen
        // blocks); the rest in fresh chunks of its own.
        let room =
            t.rooms.iter().position(|&(at, end)| end.saturating_sub(at.next_multiple_of(32)) >= len as u64);
        let (start, end) = match room {
            Some(i) => {
                let (at, end) = t.rooms.swap_remove(i);
                (at.next_multiple_of(32), end)
            }
            None => match self.cache.reserve_span(&mut t.writer, len) {
                Ok(span) => span,
                Err(_) => return 0,
            },
        };
        // SAFETY: a span just handed out: nothing is registered in it, and
        // this is the only reference to it; each block's bytes are written
        // before the block is published, and never after.
        let span = unsafe { self.cache.span_mut(&mut t.writer, start, len) };
        // Counted here and added to the statistics once: locked additions
        // were a fifth of the installing's own instructions.
        let (mut used, mut installed, mut insns, mut bytes, mut chained) = (0, 0, 0, 0, 0);
        if img.read_code(span) {
            let mut spare = t.persist.as_mut().map(persist::Persist::take_spare).unwrap_or_default();
            let runtime = self.rt.exit_tramp;
            let mut guest = [0u8; MAX_BLOCK_BYTES];
            let mut descs: Vec<ExitDesc> = Vec::new();
            let mut full = false;
            // Room for all of them at once: these grew by doubling, each
            // copy a pass over what they held.
            t.fresh.reserve(img.block_count());
            t.incoming.reserve(img.block_count());
            t.live.reserve(img.block_count());
            img.blocks(&mut spare, |b| {
                let pc = share.base.wrapping_add(b.offset);
                let n = b.rec.guest.len();
                // In order and inside one chunk, as `CodeCache::register`
                // requires (a room lies in one chunk, a span starts one).
                let placed = b.len > 0
                    && b.pos >= used
                    && (room.is_some() || b.pos / cache::CHUNK == (b.pos + b.len - 1) / cache::CHUNK);
                if full
                    || !placed
                    || !(share.start..share.end).contains(&pc)
                    || n > MAX_BLOCK_BYTES
                    || self.index.get(pc).is_some()
                {
                    return;
                }
                let (page, last) = (pc & !0xfff, (pc + n as u64 - 1) & !0xfff);
                if !t.read_only_code(pc)
                    || t.self_checked(page)
                    || t.self_checked(page + 0x1000)
                    || self.unknown_code(t, pc, n)
                {
                    return;
                }
                self.protect_code_page_locked(t, page);
                if last != page {
                    self.protect_code_page_locked(t, last);
                }
                if self.fetch_locked(t, pc, &mut guest[..n]) != n || guest[..n] != b.rec.guest[..] {
                    return;
                }
                let Some(predicted) = stored_prediction(pc, b.rec.slot) else { return };
                let host = start + b.pos as u64;
                let code = &mut span[b.pos..b.pos + b.len];
                if !b.code_matches(code) {
                    return;
                }
                let em = &mut b.rec.em;
                descs.clear();
                descs.extend_from_slice(&em.descs);
                let moves = baseline::Moves {
                    from: b.rec.host,
                    to: host,
                    guest_delta: pc.wrapping_sub(b.rec.pc),
                    runtime_delta: runtime.wrapping_sub(b.rec.runtime),
                    predicted,
                };
                if !baseline::relocate_code(code, &em.relocs, &mut descs, &moves) {
                    return;
                }
                let Ok(first) = self.cache.add_descs(&mut t.writer, &descs) else {
                    full = true;
                    return;
                };
                baseline::set_desc_base(code, &em.desc_fills, first);
                let Ok(block) = self.new_block_locked(t, (pc, pc + n as u64), host, em, b.len, false) else {
                    full = true;
                    return;
                };
                t.index.insert(block);
                for page in (page..=last).step_by(0x1000) {
                    t.pages.entry(page).or_default().push(pc);
                }
                t.fresh.push((pc, block.ibl_entry));
                self.link_exits_locked(t, &descs, &mut chained);
                if self.dump.perf_map {
                    self.perf_map_block(block);
                }
                used = b.pos + b.len;
                installed += 1;
                (insns, bytes) = (insns + usize::from(b.rec.insns), bytes + b.len);
            });
            if let Some(p) = t.persist.as_mut() {
                p.put_spare(spare);
            }
        }
        self.count_installed_many(installed, insns, bytes);
        self.stats.chained.fetch_add(chained, Ordering::Relaxed);
        self.stats.reused.fetch_add(installed as u64, Ordering::Relaxed);
        self.stats.group_loaded.fetch_add(installed as u64, Ordering::Relaxed);
        self.stats.image_loaded.fetch_add(installed as u64, Ordering::Relaxed);
        if installed == 0 {
            // Nothing of it runs: its memory is the next translations'.
            match room {
                Some(_) => t.rooms.push((start, end)),
                None => {
                    t.rooms.extend((start..end).step_by(cache::CHUNK).map(|c| (c, c + cache::CHUNK as u64)))
                }
            }
            return 0;
        }
        // What the image left of its room or last chunk, for the next
        // translations.
        let rest = (start + used as u64).next_multiple_of(32);
        let floor = if room.is_some() { start } else { end - cache::CHUNK as u64 };
        if rest >= floor && end.saturating_sub(rest) >= MIN_ROOM && !self.cache.chunk_full(end - 1) {
            t.rooms.push((rest, end));
        }
        installed
    }

    /// Enters the blocks start-up lists installed since into `cpu`'s
    /// lookup table (the calling thread's own), so that the indirect
    /// branches and returns that reach them find them there rather than
    /// leaving generated code once each. Cheap when there is nothing to
    /// do: the CPU loop asks before every entry.
    pub fn prefill_lookups(&self, cpu: &mut CpuState) {
        if !self.fresh_any.load(Ordering::Acquire) {
            return;
        }
        // Not while another thread translates (as `chain`): the next exit
        // comes back here.
        let Some(mut t) = self.tables.try_lock() else { return };
        self.fresh_any.store(false, Ordering::Release);
        // Blocks are dropped with the lock held, which empties the list:
        // all of these are live.
        for (guest, host) in std::mem::take(&mut t.fresh) {
            // SAFETY: host is the lookup entry of the block installed for
            // guest, live (above).
            unsafe { cpu.ibl_insert(guest, host, false) };
        }
    }

    /// Names the program this process runs for the persistent cache's
    /// start-up list (`persist::Persist::set_program`).
    pub fn set_persist_program(&self, path: &std::path::Path) {
        if let Some(p) = self.tables().persist.as_mut() {
            p.set_program(path);
        }
    }

    /// Installs the persistent cache's block for `pc`, if it holds one for
    /// the bytes there and `pc` lies in read-only executable guest memory
    /// (fetching write-protects a writable page); never translates. True
    /// if a block was installed.
    fn load_stored(&self, pc: u64) -> bool {
        if self.in_vdso(pc) || !self.persistable() {
            return false;
        }
        self.load_stored_locked(&mut self.tables(), pc)
    }

    /// [`Jit::load_stored`] with the tables lock held (`_locked`), for a
    /// persistable `pc` outside the vDSO.
    fn load_stored_locked(&self, t: &mut Tables, pc: u64) -> bool {
        if self.index.get(pc).is_some() || self.cache.needs_flush() || !t.read_only_code(pc) {
            return false;
        }
        let Ok(mut f) = self.fetch_for_translation_locked(t, pc, false, false) else { return false };
        let loaded = if f.check { None } else { self.load_persisted_locked(t, &mut f) };
        let Some((ir, em, insns)) = loaded else {
            self.give_back_room_locked(t, &f);
            return false;
        };
        match self.commit_locked(t, &mut f, (ir, em), false, false) {
            Ok(Commit::Installed(mut ir, block, len, _)) => {
                if let Some(p) = t.persist.as_mut() {
                    p.recycle_guest(std::mem::take(&mut ir.code));
                }
                self.count_installed(usize::from(insns), len);
                if self.dump.perf_map {
                    self.perf_map_block(block);
                }
                true
            }
            _ => false,
        }
    }

    /// The first step of a translation: write-protects `pc`'s page (unless
    /// `single`), then reads the guest bytes, and takes a piece of code
    /// memory to emit into.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`), and the cache does not need a
    /// flush.
    fn fetch_for_translation_locked(
        &self,
        t: &mut Tables,
        pc: u64,
        single: bool,
        bytes: bool,
    ) -> Result<Fetched, TranslateError> {
        let page = pc & !0xfff;
        // Not a page the guest mapped without PROT_EXEC: nothing is read
        // from it (`fetch_locked`), and it stays writable (see
        // `commit_locked`).
        if !single && t.mem.prot_at(pc).is_none_or(|p| p & libc::PROT_EXEC != 0) {
            self.protect_code_page_locked(t, page);
        }
        let mut code = [0u8; MAX_BLOCK_BYTES];
        let n = if bytes { self.fetch_locked(t, pc, &mut code) } else { 0 };
        let room = self.take_room_locked(t)?;
        let check =
            !single && (t.self_checked(page) || t.self_checked(page + 0x1000) || self.unknown_code(t, pc, n));
        Ok(Fetched { pc, code, n, room, seq: t.changes_seq, epoch: self.epoch.load(Ordering::SeqCst), check })
    }

    /// True if the `n` bytes of code fetched at `pc` lie on a page the
    /// guest map does not know (the part of a growing stack that the kernel
    /// added unseen, `MAP_GROWSDOWN`): such a page cannot be write-protected
    /// (its protection is unknown), so its code checks itself.
    fn unknown_code(&self, t: &Tables, pc: u64, n: usize) -> bool {
        let page = pc & !0xfff;
        self.unknown_page(t, page) || n > (page + 0x1000 - pc) as usize && self.unknown_page(t, page + 0x1000)
    }

    /// True if the guest map does not know `addr` and it is not the vDSO's
    /// (which tern does not record): the part of a growing stack the
    /// kernel added unseen, or no guest memory at all.
    fn unknown_page(&self, t: &Tables, addr: u64) -> bool {
        t.mem.prot_at(addr).is_none() && !self.in_vdso(addr)
    }

    /// True if `addr` is in the host vDSO (see the `vdso` field).
    fn in_vdso(&self, addr: u64) -> bool {
        (self.vdso.0.load(Ordering::Relaxed)..self.vdso.1.load(Ordering::Relaxed)).contains(&addr)
    }

    /// The step without the lock: lifts the fetched bytes and emits host
    /// code for the fetch's room.
    fn build(
        &self,
        f: &Fetched,
        single: bool,
        in_vdso: bool,
    ) -> Result<(ir::IrBlock, baseline::Emitted), TranslateError> {
        let mut ir = lift::lift_block(self.model, f.pc, &f.code[..f.n], single, in_vdso);
        if !single {
            ir.predicted = predict_indirect(&ir);
            ir.check = f.check;
        }
        let em = self.emit(&ir, f.room.0)?;
        Ok((ir, em))
    }

    /// Host code for `ir` at host address `at`, with this translator's
    /// runtime, profiling and counting.
    fn emit(&self, ir: &ir::IrBlock, at: u64) -> Result<baseline::Emitted, baseline::EmitError> {
        let em = baseline::emit_block(ir, at, &self.rt, self.count_insns.load(Ordering::Relaxed))?;
        self.stats.far_rip.fetch_add(u64::from(em.far_rip), Ordering::Relaxed);
        Ok(em)
    }

    /// True if blocks translated now depend only on their guest bytes and
    /// address, and on the options that name the persistent cache's
    /// directory (not on dumps that want the IR), so that the cache may
    /// hold them.
    fn persistable(&self) -> bool {
        let d = &self.dump;
        !(d.in_asm || d.ir || d.out_asm || child_alloc::in_child())
    }

    /// The persistent cache's block for the fetch `f`, moved to its guest
    /// address and to `f`'s room (whose start moves to the block's): its
    /// IR (without instructions), code, and instruction count. None if
    /// there is none, or it translates other bytes, or cannot move there.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn load_persisted_locked(
        &self,
        t: &mut Tables,
        f: &mut Fetched,
    ) -> Option<(ir::IrBlock, baseline::Emitted, u16)> {
        let found = (0..2).find_map(|nth| self.load_nth_persisted_locked(t, f, nth));
        // Another process (an earlier fork child) may have saved it since
        // the stores were opened.
        if found.is_none() && t.persist.as_mut().is_some_and(|p| p.refresh()) {
            return (0..2).find_map(|nth| self.load_nth_persisted_locked(t, f, nth));
        }
        found
    }

    /// [`Jit::load_persisted_locked`] of the `nth` stored block for the
    /// fetch (`Persist::find`).
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn load_nth_persisted_locked(
        &self,
        t: &mut Tables,
        f: &mut Fetched,
        nth: usize,
    ) -> Option<(ir::IrBlock, baseline::Emitted, u16)> {
        let seq = t.changes_seq;
        let p = t.persist.as_mut()?;
        let rec = p.find(f.pc, seq, nth)?;
        // Read into the fetch's own buffer (left unread for a block the
        // cache may hold): a miss reads it again whole.
        let here = f.code.get_mut(..rec.guest.len())?;
        if self.fetch_locked(t, f.pc, here) != here.len() || here[..] != rec.guest[..] {
            return None;
        }
        // The prediction translating would make now (`predict_indirect`):
        // the block's must be the same, a target or none.
        let predicted = stored_prediction(f.pc, rec.slot)?;
        // The same address modulo 32 as where it was emitted: its fields'
        // and literals' alignment, and its entry's.
        let (at, end) = f.room;
        let host = at + (rec.host.wrapping_sub(at) & 31);
        if host + rec.em.code.len() as u64 > end {
            return None;
        }
        let mut em = rec.em;
        let runtime_delta = self.rt.exit_tramp.wrapping_sub(rec.runtime);
        if !em.relocate(rec.host, host, f.pc.wrapping_sub(rec.pc), runtime_delta, predicted) {
            return None;
        }
        f.room.0 = host;
        self.stats.reused.fetch_add(1, Ordering::Relaxed);
        let end = f.pc + rec.guest.len() as u64;
        let ir = ir::IrBlock {
            start: f.pc,
            end,
            insns: Vec::new(),
            code: rec.guest,
            predicted,
            single: false,
            check: false,
        };
        Some((ir, em, rec.insns))
    }

    /// Keeps the block just translated from `ir` (host code `em`, emitted
    /// for `host`) for the persistent cache. Blocks ending in a trap are
    /// left out: translating them logs why.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn keep_persisted_locked(&self, t: &mut Tables, ir: &ir::IrBlock, host: u64, em: baseline::Emitted) {
        let seq = t.changes_seq;
        let Some(p) = t.persist.as_mut() else { return };
        if ir.insns.iter().any(|i| matches!(i.op, ir::Op::Trap { .. })) {
            return;
        }
        let slot = indirect_slot(ir)
            .map(|(slot, branch)| (slot.wrapping_sub(ir.start), branch - ir.start, ir.predicted.is_some()));
        let Ok(insns) = u16::try_from(ir.insns.len()) else { return };
        let rec = persist::record::Record {
            pc: ir.start,
            host,
            runtime: self.rt.exit_tramp,
            guest: ir.code.clone(),
            insns,
            slot,
            em,
        };
        p.keep(&rec, seq);
    }

    /// Turns on the persistent translation cache (`persist`).
    pub fn enable_persist(&self, p: persist::Persist) {
        self.tables().persist = Some(p);
        self.open_startup_window();
    }

    /// Starts timing translations for the start-up window of a
    /// persistent cache state just made (`Persist::new`).
    fn open_startup_window(&self) {
        let (open, calls, spent) = &self.startup_translating;
        calls.store(0, Ordering::Relaxed);
        spent.store(0, Ordering::Relaxed);
        open.store(true, Ordering::Relaxed);
    }

    /// `Persist::note_miss` with the time spent translating so far,
    /// counted in `--stats` if noted; stops the timing once the window has
    /// closed.
    fn note_miss(&self, p: &mut persist::Persist, pc: u64, generation: u64) {
        let (open, _, spent) = &self.startup_translating;
        let translating = std::time::Duration::from_nanos(spent.load(Ordering::Relaxed));
        if p.note_miss(pc, generation, translating) {
            self.stats.group_missed.fetch_add(1, Ordering::Relaxed);
        }
        if !p.startup_window_open() {
            open.store(false, Ordering::Relaxed);
        }
    }

    /// Gives the guest's memory back to the system (`MADV_DONTNEED` on
    /// every guest mapping: private pages go, shared ones stay in their
    /// files) at the end of a process whose guest is done, before tern
    /// writes its translations: the writing's buffers then never add to
    /// the process's peak resident size (`ru_maxrss`, which a parent reads
    /// and LTP `getrusage03` checks) on top of the guest's own. Nothing
    /// happens unless the caller's is the only state on this memory (no
    /// other thread, no CLONE_VM child) and it is no vfork or CLONE_VM
    /// child itself, nor when there is nothing to write (a warm start):
    /// the process's exit frees the pages anyway, and the calls, one per
    /// guest mapping, were a percent of a short process.
    pub fn release_guest_memory(&self) {
        if child_alloc::in_child() || self.thread_count() > 1 {
            return;
        }
        let ranges = {
            let t = self.tables();
            if !t.persist.as_ref().is_some_and(persist::Persist::has_pending) {
                return;
            }
            t.mem.ranges()
        };
        for (start, end) in ranges {
            // SAFETY: a guest mapping of a process whose guest runs no
            // more (the caller's thread is the only one on this memory and
            // is ending the process); MADV_DONTNEED changes no tern memory
            // and no other process's data. Failures (locked or special
            // mappings) only keep the pages.
            unsafe { libc::madvise(start as *mut libc::c_void, (end - start) as usize, libc::MADV_DONTNEED) };
        }
    }

    /// Writes the blocks translated here to the persistent cache (at the
    /// process's end or exec, by its only running thread: natively other
    /// threads end at once with `exit_group` or `execve`, and the writing
    /// would let them run on; at the end they are parked for good first,
    /// `tern_signals::exit_park`). Not from a vfork or CLONE_VM child: its
    /// parent writes them.
    pub fn save_persisted(&self) {
        if child_alloc::in_child() {
            return;
        }
        let mut t = self.tables();
        let Some(p) = t.persist.as_mut() else { return };
        if self.dump.persist {
            let missed = self.stats.group_missed.load(Ordering::Relaxed);
            let fate = if p.misses_may_be_written() { "to be added to the list" } else { "too few to add" };
            tracing::info!(target: "tern::dump", "persist: {missed} start-up list misses noted, {fate}");
        }
        p.save();
    }

    /// A piece of code memory at least [`MIN_ROOM`] long that no other
    /// translation writes into until it is given back: a piece left over by
    /// an earlier translation, else a fresh chunk.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn take_room_locked(&self, t: &mut Tables) -> Result<(u64, u64), TranslateError> {
        if let Some(r) = t.rooms.pop() {
            return Ok(r);
        }
        Ok(self.cache.reserve_chunk(&mut t.writer)?)
    }

    /// Gives the rest of a translation's room back for others, unless too
    /// little is left or a flush has reset the memory since it was taken.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn give_back_room_locked(&self, t: &mut Tables, f: &Fetched) {
        let (at, end) = f.room;
        if f.epoch == self.epoch.load(Ordering::SeqCst) && end - at >= MIN_ROOM && !self.cache.chunk_full(at)
        {
            t.rooms.push((at, end));
        }
    }

    /// True if guest memory in `[start, end)` may have changed since
    /// change number `seq` (see `Tables::changes`).
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn changed_since_locked(t: &Tables, seq: u64, start: u64, end: u64) -> bool {
        let since = t.changes_seq - seq;
        if since == 0 {
            return false;
        }
        if since > t.changes.len() as u64 {
            return true;
        }
        t.changes.iter().rev().take(since as usize).any(|&(s, e)| s < end && start < e)
    }

    /// The last step of a translation: installs and publishes the block
    /// built from `f`, or says why not.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn commit_locked(
        &self,
        t: &mut Tables,
        f: &mut Fetched,
        (ir, mut em): (ir::IrBlock, baseline::Emitted),
        single: bool,
        keep: bool,
    ) -> Result<Commit, TranslateError> {
        // A flush since the fetch reused the room's memory, and may have
        // forgotten blocks this one would link to: start over.
        if f.epoch != self.epoch.load(Ordering::SeqCst) {
            return Ok(Commit::Retry);
        }
        let page = f.pc & !0xfff;
        if !single {
            if let Some(b) = self.index.get(f.pc) {
                self.give_back_room_locked(t, f);
                return Ok(Commit::Found(b));
            }
            if Self::changed_since_locked(t, f.seq, page, ir.end.max(page + 0x1000)) {
                self.give_back_room_locked(t, f);
                return Ok(Commit::Retry);
            }
            if ir.end > page + 0x1000 {
                // The last instruction runs into the next page, read while
                // that page was still writable: protect it and check that
                // the bytes are still those translated.
                self.protect_code_page_locked(t, page + 0x1000);
                let mut again = [0u8; MAX_BLOCK_BYTES];
                let m = self.fetch_locked(t, f.pc, &mut again);
                if again[..m].get(..ir.code.len()) != Some(&ir.code[..]) {
                    self.give_back_room_locked(t, f);
                    return Ok(Commit::Retry);
                }
            }
        }
        let (at, end) = f.room;
        if em.code.len() as u64 > end - at {
            // Too big for what was left of the chunk: a fresh one (emitted
            // again for it, with the lock held; rare).
            self.give_back_room_locked(t, f);
            if ir.insns.is_empty() {
                // A block from the persistent cache, checked to fit (never
                // here): no IR to emit again from.
                return Ok(Commit::Retry);
            }
            f.room = self.cache.reserve_chunk(&mut t.writer)?;
            em = self.emit(&ir, f.room.0)?;
        }
        let host = f.room.0;
        let kept = keep.then(|| Box::new((host, em.clone())));
        let first = self.cache.add_descs(&mut t.writer, &em.descs)?;
        em.set_desc_base(first);
        self.cache.install_at(&mut t.writer, host, &em.code);
        let len = em.code.len();
        let block =
            self.new_block_locked(t, (ir.start, ir.end.max(ir.start + 1)), host, &mut em, len, single)?;
        // The next block's entry (after its lookup entry) on a 32-byte
        // boundary: a loop whose head is a block's entry otherwise runs at
        // the mercy of where it lands (a matrix kernel ran 1.8x slower).
        let entry = em.entry as u64;
        f.room.0 = ((host + em.code.len() as u64 + entry).next_multiple_of(32) - entry).min(f.room.1);
        self.give_back_room_locked(t, f);
        if !single {
            debug_assert_eq!(block.guest_start, f.pc);
            t.index.insert(block);
            let mut page = block.guest_start & !0xfff;
            while page < block.guest_end {
                t.pages.entry(page).or_default().push(f.pc);
                // A block of no guest bytes (a fetch fault: memory not
                // executable) has nothing a write could make stale, and its
                // page may be the guest's stack or data: it stays writable
                // (protecting it split the guest's stack mapping, whose
                // grown part then went unrecognised: the kernel selftest
                // nx_stack ran code on it). An mprotect or map change still
                // drops the block.
                if !ir.code.is_empty() {
                    self.protect_code_page_locked(t, page);
                }
                page += 0x1000;
            }
            let mut chained = 0;
            self.link_exits_locked(t, &em.descs, &mut chained);
            self.stats.chained.fetch_add(chained, Ordering::Relaxed);
        }
        if let Some(p) = t.persist.as_mut() {
            p.recycle(em);
        }
        self.arm_pending_locked(t);
        Ok(Commit::Installed(ir, block, len, kept))
    }

    /// Copies guest code at `pc` for translation into `buf`, as much of it
    /// as fits: at most to the end of its page plus one instruction
    /// ([`MAX_BLOCK_BYTES`] at most), and only from executable memory (a fetch
    /// from anything else faults). Pages tern knows to be mapped executable
    /// are read directly; others through the fault-free path.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn fetch_locked(&self, t: &Tables, pc: u64, buf: &mut [u8]) -> usize {
        let page = pc & !0xfff;
        let want = ((page + 0x1000 - pc) as usize + 15).min(buf.len()).min(MAX_BLOCK_BYTES);
        let (here, next) = (t.mem.prot_at(pc), t.mem.prot_at(page + 0x1000));
        let exec = |p: Option<i32>| p.is_some_and(|p| p & libc::PROT_EXEC != 0);
        // Not guest code: non-executable guest memory, or tern's own cache.
        if here.is_some() && !exec(here) || self.cache.contains(pc) {
            return 0;
        }
        // A page the guest map does not know, but the guest's all the same:
        // the part of a growing stack the kernel added below what tern
        // mapped (`unknown_code`). Code there runs only where the stack is
        // executable, as natively (SIGSEGV where it is not).
        let refused = |p: u64| self.grown_prot_locked(t, p).is_some_and(|prot| prot & libc::PROT_EXEC == 0);
        if here.is_none() && refused(page) {
            return 0;
        }
        let cut = next.is_some() && !exec(next) || here.is_none() && next.is_none() && refused(page + 0x1000);
        let want = if cut { want.min((page + 0x1000 - pc) as usize) } else { want };
        let in_page = (page + 0x1000 - pc) as usize;
        if exec(here) && (exec(next) || want <= in_page) {
            // tern's map says [pc, pc+want) is mapped executable (so
            // readable); still a copy that stops at a fault rather than
            // dies of it, should the map be wrong.
            return guestmem::read_exec(pc, &mut buf[..want]);
        }
        if exec(here) {
            // This page by the same copy (the CPU reads a page mapped
            // PROT_EXEC alone, which `process_vm_readv` refuses: LTP
            // mprotect04 runs a function copied to the end of one), the
            // next one, which tern's map does not know, through the
            // fault-free path.
            let n = guestmem::read_exec(pc, &mut buf[..in_page]);
            if n < in_page {
                return n;
            }
            return n + guestmem::read_code(page + 0x1000, &mut buf[in_page..want]);
        }
        guestmem::read_code(pc, &mut buf[..want])
    }

    /// Writes `block` to the perf map (`perf report` then shows guest
    /// addresses for samples in generated code).
    fn perf_map_block(&self, block: &Block) {
        self.perf_map_code(
            block.host_start,
            block.host_len as usize,
            &format!("guest_{:x}", block.guest_start),
        );
    }

    /// Names host code `[addr, addr+len)` in the perf map, if `--perf-map`
    /// is on.
    pub fn perf_map_code(&self, addr: u64, len: usize, name: &str) {
        use std::io::Write;
        if !self.dump.perf_map {
            return;
        }
        let mut f = self.perf_map.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            // Emptied first: the pid may be an exec'd program's, whose map
            // the fork before the exec made a copy of its parent's.
            let open = std::fs::File::options().create(true).write(true).truncate(true).open(perf_map_path());
            *f = open.ok().map(hostmem::private_file);
        }
        if let Some(f) = f.as_mut() {
            let _ = writeln!(f, "{addr:x} {len:x} {name}");
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
        if d.in_asm {
            let mut buf = vec![0u8; (ir.end - ir.start) as usize];
            let n = guestmem::read_code(ir.start, &mut buf);
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
        let Some(mut t) = self.tables.try_lock() else { return };
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

    /// The block for guest `[guest.0, guest.1)` whose code (`em`'s
    /// descriptors numbered, `len` bytes) is installed at `host`: given its
    /// id and incoming-jump list, kept for the flush to free, and
    /// registered by host address (not yet in the guest pc index). Takes
    /// `em`'s pc map.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn new_block_locked(
        &self,
        t: &mut Tables,
        guest: (u64, u64),
        host: u64,
        em: &mut baseline::Emitted,
        len: usize,
        transient: bool,
    ) -> Result<&'static Block, CacheError> {
        let id = u32::try_from(t.incoming.len()).expect("fewer than 2^32 blocks");
        t.incoming.push(Default::default());
        let block = Box::into_raw(Box::new(Block {
            id,
            guest_start: guest.0,
            guest_end: guest.1,
            host_start: host,
            host_len: u32::try_from(len).expect("block size"),
            ibl_entry: host + em.ibl_entry as u64,
            entry: host + em.entry as u64,
            pcmap: std::mem::take(&mut em.packed),
            transient,
        }));
        t.live.push(block);
        // SAFETY: blocks are freed only by a flush, once no thread can
        // hold a reference any more (`flush.rs`); callers use the result
        // right away.
        let block: &'static Block = unsafe { &*block };
        self.cache.register(&mut t.writer, block)?;
        Ok(block)
    }

    /// Links the direct exits among `descs` (a block just installed)
    /// whose targets exist already (back edges, known callees) without
    /// waiting for a first exit, adding them to `chained`; while a
    /// start-up list installs, the others wait in `t.link_later`.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn link_exits_locked(&self, t: &mut Tables, descs: &[ExitDesc], chained: &mut u64) {
        for d in descs.iter().filter(|d| d.kind == cpu::ExitKind::Direct) {
            if d.arg == cpu::DIRECT_BACK && self.prof.get().is_some() {
                t.backs.push((d.patch_site, d.target));
            }
            if !self.link_counting_locked(t, d, chained) {
                if let Some(later) = t.link_later.as_mut() {
                    later.push(*d);
                }
            }
        }
    }

    /// Patches the rel32 field of `Direct` exit `d`, which still leads to
    /// its exit stub, to the block for its target (the block's start, or
    /// its lookup entry for `DIRECT_VIA_LOOKUP`), remembering the stub for
    /// unlinking.
    ///
    /// False if there is no block for the target yet.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`), and `d` is a `Direct` exit
    /// descriptor of an installed block.
    fn link_locked(&self, t: &mut Tables, d: &ExitDesc) -> bool {
        let mut chained = 0;
        let linked = self.link_counting_locked(t, d, &mut chained);
        if chained > 0 {
            self.stats.chained.fetch_add(chained, Ordering::Relaxed);
        }
        linked
    }

    /// [`Jit::link_locked`], adding the jumps chained to `chained` instead
    /// of the statistics.
    fn link_counting_locked(&self, t: &mut Tables, d: &ExitDesc, chained: &mut u64) -> bool {
        if let Some(&Counted { stub, plain, .. }) = t.counting.get(&d.patch_site) {
            // A branch with a counting stub leads to it, and the stub's
            // plain jump to the head is what gets linked.
            // SAFETY: the site is a profiled branch's field (its exit or
            // its stub's), and `stub` its counting stub, code of the same
            // epoch that expects the state at the branch's target.
            unsafe { self.cache.patch_rel32(&mut t.writer, d.patch_site, stub) };
            return self.link_counting_locked(t, &plain, chained);
        }
        let site = d.patch_site;
        let Some(target) = self.index.get(d.target) else { return false };
        // A jump in code shared with a forked child or parent stays
        // unchained (the exit comes back here) rather than copying all the
        // code (`CodeCache::after_fork`), for a while: long enough for a
        // child on its way to exec, not for one that lives on.
        if self.cache.shared(site) && t.refused < SHARED_LINKS_REFUSED {
            t.refused += 1;
            self.stats.links_refused.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        let to = if d.arg == cpu::DIRECT_VIA_LOOKUP { target.ibl_entry } else { target.entry };
        let stub = self.cache.rel32_target(site);
        if stub == to {
            return true;
        }
        // SAFETY: site is a Direct exit's jump field (precondition) and the
        // target is an installed block's entry or lookup entry.
        unsafe { self.cache.patch_rel32(&mut t.writer, site, to) };
        let id = target.id as usize;
        t.incoming[id].push((site, stub));
        *chained += 1;
        true
    }

    /// Write-protects `page` if the guest can write it, so that a write to
    /// the code on it is noticed. Never a page of the code cache, whatever
    /// the guest map says.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn protect_code_page_locked(&self, t: &mut Tables, page: u64) {
        if t.code.protected.contains_key(&page)
            || t.self_checked(page)
            || self.cache.ranges().iter().any(|r| (r.0..r.1).contains(&page))
        {
            return;
        }
        if let Some(prot) = t.mem.prot_at(page) {
            if prot & libc::PROT_WRITE != 0 && pages::host_mprotect(page, prot & !libc::PROT_WRITE) {
                t.code.protected.insert(page, prot);
                // A write to it faults, and is replayed.
                self.faults_observable_locked(t);
            }
        }
    }

    /// The protection of `addr` if the guest map does not know it but the
    /// host maps it as the lower part of a mapping whose top the guest map
    /// knows: the part of a growing stack (`MAP_GROWSDOWN`) that the kernel
    /// added below what tern mapped, which has the stack's protection. None
    /// otherwise, without asking the host where the guest map knows `addr`.
    /// Rare (the host's maps are read): faults and fetches on pages the
    /// guest map does not know.
    pub fn grown_prot(&self, addr: u64) -> Option<i32> {
        self.grown_prot_locked(&self.tables(), addr)
    }

    /// [`Jit::grown_prot`] with the tables lock held (`_locked`).
    fn grown_prot_locked(&self, t: &Tables, addr: u64) -> Option<i32> {
        if !self.unknown_page(t, addr) {
            return None;
        }
        let (_, hi, prot) = hostmem::host_mapping(addr)?;
        t.mem.prot_at(hi - 1).map(|_| prot)
    }

    /// Names the host vDSO's range (see the `vdso` field).
    pub fn set_vdso(&self, start: u64, end: u64) {
        self.vdso.1.store(end, Ordering::Relaxed);
        self.vdso.0.store(start, Ordering::Relaxed);
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

    /// Bytes of guest memory mapped in `[start, end)`, and how many of
    /// those are writable (`GuestMemMap::bytes_in`).
    pub fn mapped_bytes(&self, start: u64, end: u64) -> (u64, u64) {
        self.tables().mem.bytes_in(start, end)
    }

    /// True if the guest has mapped any of `[start, end)` executable.
    pub fn maps_exec(&self, start: u64, end: u64) -> bool {
        self.tables().mem.exec_in(start, end)
    }

    /// Every guest mapping tern has recorded, as (start, end).
    pub fn guest_ranges(&self) -> Vec<(u64, u64)> {
        self.tables().mem.ranges()
    }

    /// Every guest mapping tern has recorded, as (start, end, protection;
    /// [`pages::SHARED_MAPPING`] set for a shared one).
    pub fn guest_mappings(&self) -> Vec<(u64, u64, i32)> {
        self.tables().mem.mappings()
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
        {
            let mut t = self.tables();
            if !t.code.protected.contains_key(&page) {
                return false;
            }
            let n = t.code.write_faults.entry(page).or_insert(0);
            *n += 1;
            if *n >= pages::VOLATILE_AFTER {
                t.code.volatile.insert(page);
            }
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

    /// Drops the self-checking block at guest `pc` alone, after its entry
    /// check found its guest bytes changed (a `Stale` exit), with the
    /// guarantees of [`Jit::invalidate_range`]. The other blocks of its
    /// pages stay: every block of a self-checked page checks itself
    /// (`Tables::self_checked`, `Jit::unknown_code`), so a trampoline
    /// rewritten on a page of many no longer retranslates them all.
    /// Anything else at `pc` (a block that does not check itself: the
    /// page's state changed since) is dropped with its pages.
    pub fn drop_stale_block(&self, pc: u64) {
        let mut t = self.tables();
        let Some(b) = self.index.get(pc) else { return };
        let page = pc & !0xfff;
        let checked = |t: &Tables, p: u64| t.self_checked(p) || self.unknown_code(t, p, 0);
        let last = (b.guest_end - 1) & !0xfff;
        if !checked(&t, page) || last != page && !checked(&t, last) {
            self.invalidate_range_locked(&mut t, pc, pc + 1);
            return;
        }
        t.note_change(b.guest_start, b.guest_end);
        for p in if last == page { vec![page] } else { vec![page, last] } {
            self.invalidate_traces_locked(&mut t, p);
            if let Some(pcs) = t.pages.get_mut(&p) {
                pcs.retain(|&x| x != pc);
            }
        }
        self.forget_block_locked(&mut t, pc);
        self.forget_in_lookups_locked(&mut t, &[pc]);
    }

    /// Forgets the block at guest `pc`, if there is one, and points the
    /// chained jumps into it back at their exit stubs. True if there was.
    fn forget_block_locked(&self, t: &mut Tables, pc: u64) -> bool {
        let Some(b) = self.index.get(pc) else { return false };
        t.index.remove(pc);
        for (site, stub) in std::mem::take(&mut t.incoming[b.id as usize]) {
            // SAFETY: link_locked recorded (site, stub): a Direct exit's
            // jump field and its own stub (or a pause, a profiled
            // branch's field and its counting stub).
            unsafe { self.cache.patch_rel32(&mut t.writer, site, stub) };
        }
        true
    }

    /// Clears the lookup-table entries of the dropped blocks at guest
    /// `pcs` in every registered thread, after a new generation is
    /// published, and counts them.
    fn forget_in_lookups_locked(&self, t: &mut Tables, pcs: &[u64]) {
        t.fresh.clear();
        t.awaiting.clear();
        self.generation.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        for &cpu in self.threads().iter() {
            for &pc in pcs {
                // SAFETY: registered states are live until unregistered,
                // which takes the same lock.
                unsafe { CpuState::ibl_forget(cpu as *mut CpuState, pc) };
            }
        }
        self.stats.invalidated.fetch_add(pcs.len() as u64, Ordering::Relaxed);
    }

    /// `invalidate_range` with the tables lock held (`_locked`).
    fn invalidate_range_locked(&self, t: &mut Tables, start: u64, end: u64) -> bool {
        t.note_change(start & !0xfff, end);
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
            self.invalidate_traces_locked(t, page);
            if let Some(pcs) = t.pages.remove(&page) {
                t.traces.churn.insert(page);
                for pc in pcs {
                    if self.forget_block_locked(t, pc) {
                        dropped_pcs.push(pc);
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
        self.forget_in_lookups_locked(t, &dropped_pcs);
        true
    }
}

/// The translation lock held while guest mappings change (see
/// [`Jit::map_change`]).
pub struct MapChange<'a> {
    jit: &'a Jit,
    t: RobustGuard<'a, Tables>,
}

impl MapChange<'_> {
    /// [`Jit::invalidate_range`] under this guard.
    pub fn invalidate(&mut self, start: u64, end: u64) -> bool {
        self.jit.invalidate_range_locked(&mut self.t, start, end)
    }

    /// Records a guest mapping of `[start, end)` with `prot`; whatever
    /// tern's registry still held there is gone (`forget_tern_memory`).
    pub fn note_map(&mut self, start: u64, end: u64, prot: i32) {
        self.t.note_change(start, end);
        self.t.code.forget(start, end);
        self.t.mem.set(start, end, prot);
        pages::forget_tern_memory(start, end);
        if let Some(p) = self.t.persist.as_mut() {
            p.guest_grew(end.saturating_sub(start));
        }
    }

    /// Records a guest `mprotect`.
    pub fn note_protect(&mut self, start: u64, end: u64, prot: i32) {
        self.t.note_change(start, end);
        self.t.mem.protect(start, end, prot);
    }

    /// Records a guest `munmap`.
    pub fn note_unmap(&mut self, start: u64, end: u64) {
        self.t.note_change(start, end);
        self.t.code.forget(start, end);
        self.t.mem.remove(start, end);
    }

    /// The guest protection tern has recorded at `addr`.
    pub fn prot_at(&self, addr: u64) -> Option<i32> {
        self.t.mem.prot_at(addr)
    }

    /// [`Jit::mapped_bytes`] under this guard.
    pub fn mapped_bytes(&self, start: u64, end: u64) -> (u64, u64) {
        self.t.mem.bytes_in(start, end)
    }
}

/// This process's perf map (`--perf-map`), as `perf` looks for it.
fn perf_map_path() -> String {
    format!("/tmp/perf-{}.map", std::process::id())
}

/// The translator's locks, held across a host `fork` so that the child
/// (which has only the forking thread) finds them free and the tables
/// consistent. Taken in the order translation nests them: tables, perf map.
pub struct ForkLocks<'a> {
    jit: &'a Jit,
    tables: RobustGuard<'a, Tables>,
    perf: std::sync::MutexGuard<'a, Option<std::fs::File>>,
    _mem: std::sync::MutexGuard<'static, Vec<(u64, u64)>>,
}

impl ForkLocks<'_> {
    /// Before the host fork: the child will share the code
    /// (`CodeCache::before_fork`).
    pub fn before_fork(&mut self) {
        self.jit.cache.before_fork(&mut self.tables.writer);
    }

    /// After the host fork, in the parent and (`child`) in the child;
    /// `forked`: whether there is a child (see `CodeCache::after_fork`).
    pub fn after_fork(&mut self, child: bool, forked: bool) -> Result<(), CacheError> {
        let t = &mut *self.tables;
        t.refused = 0;
        if child {
            // Free pieces of the parent's chunks: the parent fills them.
            t.rooms.clear();
            t.stub_room = None;
            // The parent writes what it translated; the child, what it will.
            if let Some(p) = t.persist.as_mut() {
                p.forget_pending();
                p.refresh_soon();
            }
            fork_hints::start_recording();
            // The child runs the parent's code at the same addresses: its
            // perf map (`--perf-map`, named by its own pid) starts as a
            // copy of the parent's.
            if let Some(parent) = self.perf.as_ref() {
                use std::os::fd::AsRawFd;
                let path = perf_map_path();
                let from = format!("/proc/self/fd/{}", parent.as_raw_fd());
                *self.perf = std::fs::copy(from, &path)
                    .and_then(|_| std::fs::File::options().append(true).open(&path))
                    .ok()
                    .map(hostmem::private_file);
            }
        }
        self.jit.cache.after_fork(&mut t.writer, child, forked)
    }
}

impl Jit {
    /// Takes every translator lock for a host `fork` (see [`ForkLocks`]).
    pub fn lock_for_fork(&self) -> ForkLocks<'_> {
        let tables = self.tables();
        let perf = self.perf_map.lock().unwrap_or_else(|e| e.into_inner());
        ForkLocks { jit: self, tables, perf, _mem: pages::lock_tern_memory() }
    }

    /// Runs `exec` (a host `execve`, which returns only on failure) having
    /// left the code this process shares with its fork parent or children
    /// (`CodeCache::leave`), so that they may write it again; the caller
    /// is the process's only guest thread. If `exec` returns, the process
    /// goes on with a flushed cache: the code it left may have changed
    /// since. Not in a vfork or CLONE_VM child, whose parent keeps the
    /// memory.
    pub fn exec_leaving_shared_code<R>(&self, exec: impl FnOnce() -> R) -> R {
        if child_alloc::in_child() {
            return exec();
        }
        let mut t = self.tables();
        let left = self.cache.leave(&mut t.writer);
        let r = exec();
        if left {
            self.flush_locked(&mut t);
        }
        r
    }

    /// For an `execve` this process runs itself, by its only guest thread
    /// (no vfork or CLONE_VM child shares its memory): leaves the code it
    /// shares with its fork parent or children, flushes the code cache
    /// (every thread's lookup table emptied), unmaps every guest mapping
    /// tern recorded and forgets them and the write-protected code pages,
    /// and starts the persistent cache over with `persist` (the new
    /// program's start-up list, its own start-up window). The runtime
    /// routines, the statistics and the vDSO stay.
    pub fn reset_for_exec(&self, persist: Option<persist::Persist>) {
        let mut t = self.tables();
        self.cache.leave(&mut t.writer);
        // The old program's records are left, not freed: in a fork child
        // they are heap shared copy-on-write with the parent, and freeing
        // them copied it page by page (a fork + exec of bash: 1.1 ms).
        let t = &mut *t;
        t.index.replace_for_exec();
        Self::leak_blocks_locked(t);
        std::mem::forget(std::mem::take(&mut t.awaiting));
        std::mem::forget(std::mem::take(&mut t.fresh));
        std::mem::forget(t.persist.take());
        self.flush_locked(t);
        // Adjacent mappings (a library's segments) go in one call.
        let mut spans: Vec<(u64, u64)> = Vec::new();
        for (start, end) in t.mem.ranges() {
            match spans.last_mut() {
                Some(last) if last.1 == start => last.1 = end,
                _ => spans.push((start, end)),
            }
        }
        for (start, end) in spans {
            // SAFETY: guest mappings (tern's map of guest memory never
            // holds tern's own); the guest that used them is gone, and no
            // block of them is left (flushed above).
            unsafe { libc::munmap(start as *mut libc::c_void, (end - start) as usize) };
        }
        std::mem::forget(std::mem::take(&mut t.mem));
        std::mem::forget(std::mem::take(&mut t.code));
        t.note_change(0, u64::MAX);
        let persisting = persist.is_some();
        t.persist = persist;
        if persisting {
            self.open_startup_window();
        }
        self.fresh_any.store(false, Ordering::Relaxed);
        fork_hints::forget();
        // The new program's blocks get their counting stubs after the delay.
        self.restart_profile_delay_if(true);
    }

    /// At the process's end, by its only guest thread: leaves the code it
    /// shares with its fork parent or children (`CodeCache::leave`).
    pub fn leave_shared_code(&self) {
        if !child_alloc::in_child() {
            self.cache.leave(&mut self.tables().writer);
        }
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
        let (_, rt) = baseline::emit_runtime(0x10_0000, 0x20_0000, 0x30_0000);
        let ir = lift::lift_block(CpuModel::V2, 0x40_0000, &[0x0f, 0x05], false, false);
        let em = baseline::emit_block(&ir, 0x10_1000, &rt, false).unwrap();
        assert_eq!(em.descs.len(), 1);
        assert_eq!(em.descs[0].kind, cpu::ExitKind::Syscall);
        assert_eq!((em.ibl_entry, em.entry), (0, 18), "{:02x?}", em.code);
        assert_eq!(em.code.len(), 18 + 18, "{:02x?}", em.code);
        assert_eq!(em.code[18..23], [0x65, 0x48, 0xc7, 0x04, 0x25]);
        assert_eq!(em.code[31], 0xe9);
    }
}
