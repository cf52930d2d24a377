//! The translator's side of the trace tier: forming a trace from blocks
//! already translated, installing its compiled code, and keeping it valid.
//!
//! A trace is found hot by the baseline's counting stubs (`ExitKind::Hot`).
//! [`Jit::form_trace`] follows the blocks that have run from the head: the
//! one translated successor of each (a conditional branch at a block's end
//! goes on to its fall-through unless its other side closes the loop back
//! to the head; a `ret` pops a return address the trace itself pushed; a
//! predicted indirect branch goes on to its prediction), and re-lifts them
//! (their pages are write-protected, so their bytes are those translated).
//! The trace tier (crate `tern-trace`) compiles the IR into a function of
//! the `CpuState`; [`Jit::install_trace`] copies it into the code cache with
//! an entry stub (`baseline::trace_glue`), unless a change to the guest's
//! code since the formation (a write, `munmap`, `mprotect`, a flush) makes
//! it stale. Profiled branches to the head are then patched to the stub
//! ([`Jit::patch_hot_site`]). Invalidating a page invalidates the traces
//! whose blocks lie on it: their stub is patched to exit `Trace` (the CPU
//! loop goes on in the baseline) and the branches that led to it to their
//! plain jumps.

use crate::baseline::trace_glue::emit_trace_stub;
use crate::cpu::{ExitDesc, ExitKind};
use crate::ir::{IrBlock, Op};
use crate::{lift, predict_indirect, Jit, Tables, TranslateError, MAX_BLOCK_BYTES};
use std::sync::atomic::{AtomicU64, Ordering};

/// Traces a process can install (indices are never reused).
pub const MAX_TRACES: usize = 1 << 16;

/// A trace formed from translated blocks, to be compiled and installed.
#[derive(Clone, Debug)]
pub struct FormedTrace {
    pub head: u64,
    /// The path: `blocks[0]` starts at `head`, each next one is the block
    /// that follows the one before (block starts are distinct).
    pub blocks: Vec<IrBlock>,
    /// The trace must leave `*cpu` at an instruction boundary before
    /// every access that may fault (syncs): a fault in it may be observed
    /// (see `TraceRecs::faults_observed`). Without, a fault abandons the
    /// trace with the state at its entry and is fatal.
    pub precise: bool,
    /// The path from the head comes back to it (a branch to the head, or
    /// an indirect branch the trace's dispatch may take there): else the
    /// trace cannot turn round its head's loop, and every run leaves it
    /// before one turn (a loop longer than the trace, or a path that runs
    /// once). True for a grown trace.
    pub closes: bool,
    /// `Tables::changes_seq` and the code-cache epoch at the formation.
    seq: u64,
    epoch: u64,
}

impl FormedTrace {
    /// A stable name: the head and every block's start.
    pub fn id(&self) -> String {
        let pcs: Vec<String> = self.blocks.iter().map(|b| format!("{:x}", b.start)).collect();
        pcs.join(".")
    }

    /// Guest instructions in the trace's blocks.
    pub fn guest_insns(&self) -> usize {
        self.blocks.iter().map(|b| b.insns.len()).sum()
    }
}

/// The installed traces, for the CPU loop without the lock: the host
/// address of each one's function, 0 once invalid.
pub(crate) struct TraceTable {
    fns: &'static [AtomicU64],
}

impl Default for TraceTable {
    fn default() -> TraceTable {
        TraceTable { fns: crate::hostmem::zeroed_static(MAX_TRACES) }
    }
}

/// One installed trace, behind the translation lock.
pub(crate) struct TraceRec {
    /// The entry stub, its patchable field and its exit part
    /// (`trace_glue::emit_trace_stub`).
    stub: u64,
    field: u64,
    exit_part: u64,
    /// The code-cache epoch it was installed in.
    epoch: u64,
    /// Profiled branches patched to the stub, with the plain jump each
    /// goes to once the trace is invalid.
    sites: Vec<(u64, u64)>,
    /// `FormedTrace::precise`.
    precise: bool,
    /// `FormedTrace::head`.
    head: u64,
}

/// Per-trace records behind the translation lock.
#[derive(Default)]
pub(crate) struct TraceRecs {
    /// By trace index.
    pub(crate) recs: Vec<TraceRec>,
    /// Guest page -> traces with a block on it.
    pub(crate) pages: rustc_hash::FxHashMap<u64, Vec<u32>>,
    /// Guest pages whose translated code was dropped since they were
    /// translated (self-modifying code, code unmapped or reprotected): a
    /// trace stops before them, its code would soon be invalidated.
    pub(crate) churn: rustc_hash::FxHashSet<u64>,
    /// A fault in a trace may be observed by more than the kernel's
    /// default action (death): the guest installed a handler for a signal
    /// a trace's code can raise ([`Jit::faults_observable`]), or tern
    /// write-protected a page that holds code (a write to it is a fault
    /// tern handles, and replays). Until then traces are formed without
    /// syncs (`FormedTrace::precise` false): a loop that stores pays no
    /// register stores per turn, and a fault in it ends the process with
    /// the signal as natively. Never set back.
    pub(crate) faults_observed: bool,
}

impl TraceRecs {
    /// The heads of the traces in use (`live(index)`).
    pub(crate) fn live_heads(&self, live: impl Fn(u32) -> bool) -> rustc_hash::FxHashSet<u64> {
        (0..self.recs.len() as u32).filter(|&i| live(i)).map(|i| self.recs[i as usize].head).collect()
    }
}

/// The successor of `ir` on a trace from `head`, with `rets` the return
/// addresses calls on the trace pushed.
fn successor(ir: &IrBlock, head: u64, rets: &mut Vec<u64>, known: impl Fn(u64) -> bool) -> Option<u64> {
    let last = ir.insns.last()?;
    match &last.op {
        Op::Jmp { target } | Op::Fallthrough { next: target } => Some(*target),
        Op::Call { target, ret } => {
            rets.push(*ret);
            Some(*target)
        }
        Op::Jcc { taken, next, .. } => {
            if *taken == head || !known(*next) {
                Some(*taken)
            } else {
                Some(*next)
            }
        }
        Op::Ret { .. } => rets.pop(),
        Op::CallInd { ret, .. } => {
            rets.push(*ret);
            ir.predicted
        }
        Op::JmpInd { .. } => ir.predicted,
        _ => None,
    }
}

impl Jit {
    /// The blocks of a trace from `head`, at most `max_blocks` of them: None
    /// if `head` has no block (any more). `grown`: pcs an earlier trace of
    /// this head left to often (`TraceCounters::exits`); after the path
    /// from the head, the path from each of them that has a block is added
    /// too, up to a block the trace has, so that the trace takes the other
    /// targets of its indirect branches and returns (and the other sides of
    /// its conditional branches) without leaving.
    pub fn form_trace(&self, head: u64, max_blocks: usize, grown: &[u64]) -> Option<FormedTrace> {
        let t = self.tables();
        let (seq, epoch) = (t.changes_seq, self.epoch.load(Ordering::SeqCst));
        let vdso = self.vdso.0.load(Ordering::Relaxed)..self.vdso.1.load(Ordering::Relaxed);
        let mut blocks: Vec<IrBlock> = Vec::new();
        let mut starts: Vec<u64> = std::iter::once(head).chain(grown.iter().copied()).collect();
        // A grown trace also takes the other sides of its conditional
        // branches, once the paths from `starts` are in.
        let (mut k, mut closed) = (0, grown.is_empty());
        let mut closes = !grown.is_empty();
        // The return addresses the calls on the trace pushed where each of
        // its exits leaves (the first path to reach it), so that a path
        // grown from an exit inside a callee returns along the trace.
        let mut exit_rets: rustc_hash::FxHashMap<u64, Vec<u64>> = Default::default();
        // The code after calls through a register, queued as paths of
        // their own and not taken yet: the block limit keeps room for them
        // (a dispatch over more callees than the limit still closes its
        // loop), and they come after the callees (the guard of the call
        // tries the next block first, a callee).
        let mut conts: Vec<u64> = Vec::new();
        let in_trace = |blocks: &[IrBlock], pc: u64| pc == head || blocks.iter().any(|b| b.start == pc);
        while k < starts.len() || !closed {
            if k == starts.len() {
                closed = true;
                for i in blocks.iter().flat_map(|b| &b.insns) {
                    if let Op::Jcc { taken, next, .. } = i.op {
                        starts.extend([taken, next]);
                    }
                }
                continue;
            }
            let from = starts[k];
            k += 1;
            let limit = match conts.iter().position(|&c| c == from) {
                Some(i) => {
                    conts.swap_remove(i);
                    max_blocks
                }
                None => max_blocks.saturating_sub(conts.len()).max(1),
            };
            if blocks.len() >= limit || blocks.iter().any(|b| b.start == from) {
                continue;
            }
            // A path other than the head's is kept only if it leads back
            // into the trace (or ends at an indirect branch, which the
            // trace's dispatch may take back in): a loop's own exit, the
            // path to a return or a syscall, is an exit, not a part.
            let (path, mut rejoins) = (blocks.len(), from == head);
            let mut rets = exit_rets.get(&from).cloned().unwrap_or_default();
            let mut pc = from;
            while let Some(b) = self.index.get(pc) {
                // Also code that checks its bytes (a trace would not).
                let changing = (pc & !0xfff..b.guest_end.max(pc + 1))
                    .step_by(0x1000)
                    .any(|p| t.traces.churn.contains(&p) || t.self_checked(p));
                if changing {
                    break;
                }
                let mut code = [0u8; MAX_BLOCK_BYTES];
                let n = self.fetch_locked(&t, pc, &mut code);
                let mut ir = lift::lift_block(self.model, pc, &code[..n], false, vdso.contains(&pc));
                if ir.end.max(ir.start + 1) != b.guest_end {
                    break;
                }
                ir.predicted = predict_indirect(&ir);
                for i in &ir.insns {
                    if let Op::Jcc { taken, next, .. } = i.op {
                        for e in [taken, next] {
                            exit_rets.entry(e).or_insert_with(|| rets.clone());
                        }
                    }
                }
                let next = successor(&ir, head, &mut rets, |p| self.has_block(p));
                if let Some(n) = next {
                    exit_rets.entry(n).or_insert_with(|| rets.clone());
                }
                let last = ir.insns.last().map(|i| &i.op);
                // A call through a register to no predicted target: the
                // code after it is a path of its own (its callees, taken in
                // by growth, return there through the trace's dispatch).
                if let (Some(Op::CallInd { ret, .. }), None) = (last, next) {
                    if !starts.contains(ret) {
                        starts.push(*ret);
                        conts.push(*ret);
                    }
                }
                // A return to a caller this path does not know, in a trace
                // that calls through a register, may return into the trace
                // (a callee taken in from one of the call's exits).
                let dispatch = match last {
                    Some(Op::JmpInd { .. } | Op::CallInd { .. }) => true,
                    Some(Op::Ret { .. }) => {
                        next.is_none()
                            && blocks
                                .iter()
                                .chain([&ir])
                                .any(|b| matches!(b.insns.last().map(|i| &i.op), Some(Op::CallInd { .. })))
                    }
                    _ => false,
                };
                // A conditional branch inside the block back into the trace
                // (an outer loop's path through its inner loop) rejoins too.
                rejoins |= ir.insns.iter().any(|i| match i.op {
                    Op::Jcc { taken, .. } => in_trace(&blocks, taken),
                    _ => false,
                });
                closes |= from == head
                    && (ir.insns.iter().any(|i| matches!(i.op, Op::Jcc { taken, .. } if taken == head))
                        || next == Some(head)
                        || next.is_none() && dispatch);
                blocks.push(ir);
                match next {
                    Some(n) if in_trace(&blocks, n) => {
                        rejoins = true;
                        break;
                    }
                    Some(n) if blocks.len() < limit => pc = n,
                    None if dispatch => {
                        rejoins = true;
                        break;
                    }
                    _ => break,
                }
            }
            if !rejoins {
                blocks.truncate(path);
            }
        }
        let precise = t.traces.faults_observed;
        (!blocks.is_empty() && blocks[0].start == head).then_some(FormedTrace {
            head,
            blocks,
            precise,
            closes,
            seq,
            epoch,
        })
    }

    /// Installs the compiled `code` of trace `tr` (a position-independent
    /// function, entry at its start) and returns its index and entry stub,
    /// or None if its blocks changed since the formation (or the trace
    /// table is full).
    pub fn install_trace(&self, tr: &FormedTrace, code: &[u8]) -> Result<Option<(u32, u64)>, TranslateError> {
        let mut t = self.tables();
        if tr.epoch != self.epoch.load(Ordering::SeqCst)
            || t.traces.recs.len() >= MAX_TRACES
            || (!tr.precise && t.traces.faults_observed)
        {
            return Ok(None);
        }
        let stale = tr.blocks.iter().any(|b| {
            let end = b.end.max(b.start + 1);
            self.index.get(b.start).is_none() || Self::changed_since_locked(&t, tr.seq, b.start & !0xfff, end)
        });
        if stale {
            return Ok(None);
        }
        let idx = t.traces.recs.len() as u32;
        let func = self.install_code_locked(&mut t, code, 16)?;
        let first = self.cache.add_descs(
            &mut t.writer,
            &[ExitDesc { kind: ExitKind::Trace, arg: idx, target: tr.head, patch_site: 0 }],
        )?;
        let enter = if uses_vector_state(code) { self.rt.trace.enter } else { self.rt.trace.enter_gpr };
        let glue = |at| emit_trace_stub(at, first, func, enter, self.rt.exit_tramp);
        let len = glue(self.rt.trace.enter & !3).0.len();
        let stub = self.install_code_locked(&mut t, &vec![0xcc; len], 4)?;
        let (code, field, exit_part) = glue(stub);
        self.cache.install_at(&mut t.writer, stub, &code);
        t.traces.recs.push(TraceRec {
            stub,
            field,
            exit_part,
            epoch: tr.epoch,
            sites: Vec::new(),
            precise: tr.precise,
            head: tr.head,
        });
        for b in &tr.blocks {
            let mut page = b.start & !0xfff;
            while page < b.end.max(b.start + 1) {
                t.traces.pages.entry(page).or_default().push(idx);
                page += 0x1000;
            }
        }
        self.trace_table.fns[idx as usize].store(func, Ordering::Release);
        // Branches to the head that a pause took past their counting stubs
        // count again: getting hot leads them into the trace.
        let paused: Vec<u64> =
            t.paused.iter().copied().filter(|s| t.counting[s].plain.target == tr.head).collect();
        for site in paused {
            self.unpause_locked(&mut t, site);
        }
        Ok(Some((idx, stub)))
    }

    /// Copies `code` into fresh code memory aligned to `align` and returns
    /// its address.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    fn install_code_locked(&self, t: &mut Tables, code: &[u8], align: u64) -> Result<u64, TranslateError> {
        let len = code.len() as u64;
        let mut room = self.take_room_locked(t)?;
        let mut at = room.0.next_multiple_of(align);
        if at + len > room.1 {
            if room.1 - room.0 >= crate::MIN_ROOM {
                t.rooms.push(room);
            }
            room = self.cache.reserve_chunk(&mut t.writer)?;
            at = room.0;
            if at + len > room.1 {
                return Err(crate::cache::CacheError::Full.into());
            }
        }
        self.cache.install_at(&mut t.writer, at, code);
        if room.1 - (at + len) >= crate::MIN_ROOM {
            t.rooms.push((at + len, room.1));
        }
        Ok(at)
    }

    /// Whether a translated block starts at `pc`.
    pub fn has_block(&self, pc: u64) -> bool {
        self.index.get(pc).is_some()
    }

    /// The function of trace `idx`, if it is still valid.
    pub fn trace_fn(&self, idx: u32) -> Option<u64> {
        let f = self.trace_table.fns.get(idx as usize)?.load(Ordering::Acquire);
        (f != 0).then_some(f)
    }

    /// Points the profiled branch whose rel32 field is `site` (the
    /// `patch_site` of a `Hot` exit to `head` taken in code-cache epoch
    /// `epoch`) at the entry stub of trace `trace` if it is still valid,
    /// else straight at `head`'s block ([`Jit::link_plain_locked`]).
    /// Nothing if a flush ran since. True if it now leads to the trace.
    pub fn patch_hot_site(&self, site: u64, bypass: u64, head: u64, trace: Option<u32>, epoch: u64) -> bool {
        let mut t = self.tables();
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return false;
        }
        t.unpause(site);
        let valid = trace.filter(|&i| self.trace_fn(i).is_some());
        match valid.and_then(|i| t.traces.recs.get_mut(i as usize)).filter(|r| r.epoch == epoch) {
            Some(r) => {
                r.sites.push((site, bypass));
                let stub = r.stub;
                // SAFETY: site is a profiled branch's field (a chaining
                // jump of an installed block of this epoch) and the stub
                // is code of this epoch that expects the state at the
                // branch's target.
                unsafe { self.cache.patch_rel32(&mut t.writer, site, stub) };
                true
            }
            None => {
                self.link_plain_locked(&mut t, site, bypass, head);
                false
            }
        }
    }

    /// Points the profiled branch whose rel32 field is `site` back at its
    /// counting stub `stub` (`ExitDesc::hot_stub`), so that it counts and
    /// exits `Hot` again; nothing if the code cache was flushed since
    /// `epoch`. A head is profiled again so when its trace was not
    /// compiled soon after it got hot: whether it still runs decides.
    pub fn rearm_hot_site(&self, site: u64, stub: u64, epoch: u64) {
        let mut t = self.tables();
        if self.epoch.load(Ordering::SeqCst) == epoch {
            t.unpause(site);
            // SAFETY: site is a profiled branch's field in code of the
            // current epoch, and stub its counting stub, code of the same
            // block that expects the state at the branch's target.
            unsafe { self.cache.patch_rel32(&mut t.writer, site, stub) };
        }
    }

    /// Points a profiled branch that leads to no trace (rel32 field
    /// `site`, its counting stub's plain jump `bypass`, target `head`)
    /// straight at `head`'s block, as a chained jump that the block's
    /// invalidation points back at `bypass`; at `bypass` if `head` has no
    /// block. Through `bypass`, a loop's every turn would take two jumps
    /// (int_bits: 1.2x the time without profiling).
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`), `site` and `bypass` are of the
    /// current code-cache epoch.
    fn link_plain_locked(&self, t: &mut Tables, site: u64, bypass: u64, head: u64) {
        let to = match self.index.get(head) {
            Some(b) => {
                t.incoming[b.id as usize].push((site, bypass));
                b.entry
            }
            None => bypass,
        };
        // SAFETY: site is a profiled branch's field in code of the current
        // epoch; `to` is its plain jump or the entry of the block for its
        // target, both expecting the state at the branch's target.
        unsafe { self.cache.patch_rel32(&mut t.writer, site, to) };
    }

    /// Forgets the traces with a block on `page`.
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    pub(crate) fn invalidate_traces_locked(&self, t: &mut Tables, page: u64) {
        let Some(ids) = t.traces.pages.remove(&page) else { return };
        for i in ids {
            if self.unlink_trace_locked(t, i) {
                self.stats.traces_invalidated.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Takes trace `idx` out of use (the optimizer found it does not pay:
    /// its runs are too short for what entering it costs): the branches
    /// patched to it go back to their plain jumps. False if it was not in
    /// use any more.
    pub fn retire_trace(&self, idx: u32) -> bool {
        self.replace_trace(idx).is_some()
    }

    /// Takes trace `idx` out of use as [`Jit::retire_trace`] does, to be
    /// replaced by a grown trace of the same head: the profiled branches
    /// that led to it (rel32 field, plain jump, code-cache epoch), for
    /// [`Jit::patch_hot_site`] to point at the new one. None if it was not
    /// in use any more.
    pub fn replace_trace(&self, idx: u32) -> Option<Vec<(u64, u64, u64)>> {
        let mut t = self.tables();
        if (idx as usize) >= t.traces.recs.len() || !self.unlink_trace_locked(&mut t, idx) {
            return None;
        }
        Some(take_sites(&mut t, idx))
    }

    /// Replaces trace `old` by `new`, a grown trace of the same head
    /// installed since: the profiled branches that led to `old` lead to
    /// `new` (one lock held: no branch leads to neither), and `old` is out
    /// of use. If `new` is not in use any more (invalidated meanwhile),
    /// `old` is taken out of use as [`Jit::retire_trace`] does.
    pub fn supersede_trace(&self, old: u32, new: u32) {
        let mut t = self.tables();
        let n = t.traces.recs.len() as u32;
        if old >= n || new >= n || self.trace_fn(old).is_none() {
            return;
        }
        let live = self.trace_fn(new).is_some()
            && t.traces.recs[new as usize].epoch == t.traces.recs[old as usize].epoch;
        if !live {
            self.unlink_trace_locked(&mut t, old);
            return;
        }
        let sites = std::mem::take(&mut t.traces.recs[old as usize].sites);
        let stub = t.traces.recs[new as usize].stub;
        for &(site, _) in &sites {
            // SAFETY: site is a profiled branch's field that led to `old`,
            // a trace of this epoch with the same head as `new`, whose stub
            // expects the same state (the branch's target).
            unsafe { self.cache.patch_rel32(&mut t.writer, site, stub) };
        }
        t.traces.recs[new as usize].sites.extend(sites);
        // Its branches gone, `old` only needs its stub to lead out.
        self.unlink_trace_locked(&mut t, old);
    }

    /// The profiled branches that led to trace `idx` before something else
    /// took it out of use (its pages invalidated, a fault handler
    /// installed while it kept no precise state: [`Jit::faults_observable`]),
    /// as [`Jit::replace_trace`] gives them, once: for a trace of the same
    /// head to be formed again. None if it is still in use or they were
    /// taken.
    pub fn dropped_trace_sites(&self, idx: u32) -> Option<Vec<(u64, u64, u64)>> {
        let mut t = self.tables();
        if self.trace_fn(idx).is_some() || (idx as usize) >= t.traces.recs.len() {
            return None;
        }
        let sites = take_sites(&mut t, idx);
        (!sites.is_empty()).then_some(sites)
    }

    /// Unlinks trace `i` if it is in use: its stub leads to its exit part,
    /// each profiled branch that led to it to its plain jump.
    fn unlink_trace_locked(&self, t: &mut Tables, i: u32) -> bool {
        if self.trace_table.fns[i as usize].swap(0, Ordering::AcqRel) == 0 {
            return false;
        }
        let r = &mut t.traces.recs[i as usize];
        // The sites stay recorded: `Jit::dropped_trace_sites`.
        let (field, exit_part, head, sites) = (r.field, r.exit_part, r.head, r.sites.clone());
        // SAFETY: the stub's own patchable jump, to its own exit part
        // (the code of this epoch: a flush forgets every trace).
        unsafe { self.cache.patch_rel32(&mut t.writer, field, exit_part) };
        // Each profiled branch that led to it goes to the head's block.
        for (site, bypass) in sites {
            self.link_plain_locked(t, site, bypass, head);
        }
        true
    }

    /// A fault in a trace may now be observed (`TraceRecs::faults_observed`):
    /// the guest installed a handler for SIGSEGV, SIGBUS, SIGFPE, SIGILL
    /// or SIGTRAP. The traces formed without syncs are taken out of use
    /// before the call returns (their branches go back to their plain
    /// jumps, as for an invalidated trace); traces formed from then on
    /// are precise.
    pub fn faults_observable(&self) {
        self.faults_observable_locked(&mut self.tables());
    }

    /// [`Jit::faults_observable`] with the tables lock held (`_locked`).
    pub(crate) fn faults_observable_locked(&self, t: &mut Tables) {
        if t.traces.faults_observed {
            return;
        }
        t.traces.faults_observed = true;
        for i in 0..t.traces.recs.len() {
            if !t.traces.recs[i].precise {
                self.unlink_trace_locked(t, i as u32);
            }
        }
    }

    /// Whether a fault in a trace is not observed: the trace that faulted
    /// was formed without syncs, and the fault is fatal
    /// (`TraceRecs::faults_observed`).
    pub fn trace_faults_unobserved(&self) -> bool {
        !self.tables().traces.faults_observed
    }

    /// Forgets every trace (a flush).
    ///
    /// # Preconditions
    /// The tables lock is held (`_locked`).
    pub(crate) fn forget_traces_locked(&self, t: &mut Tables) {
        for (i, r) in t.traces.recs.iter_mut().enumerate() {
            self.trace_table.fns[i].store(0, Ordering::Release);
            r.sites.clear();
        }
        t.traces.pages.clear();
    }
}

/// What a trace's code counts, in memory its caller owns (plain,
/// non-atomic additions: threads running the same trace at once may lose
/// some, which only makes the figures approximate).
#[repr(C)]
#[derive(Debug, Default)]
pub struct TraceCounters {
    /// Runs of the function that left it through an exit (not a fault).
    pub runs: std::sync::atomic::AtomicU64,
    /// Branches back to a trace block taken in those runs (loop turns).
    pub loops: std::sync::atomic::AtomicU64,
    /// Guest instructions of the blocks entered in those runs (a block
    /// left early counts whole).
    pub insns: std::sync::atomic::AtomicU64,
    /// Where branches left the trace, the last one of each hash slot
    /// (`(pc ^ pc >> 5) % EXIT_SLOTS`, computed by the trace's code:
    /// `tern_trace`'s `Cx::side_exit`; readers scan every slot): what a
    /// grown trace of the same head takes in (`Jit::form_trace`). Written
    /// at side exits only (not at exits before an instruction the trace
    /// does not run).
    pub exits: [std::sync::atomic::AtomicU64; EXIT_SLOTS],
}

/// The profiled branches recorded for trace `idx` (an existing index, out
/// of use), with its epoch, taken from its record.
fn take_sites(t: &mut Tables, idx: u32) -> Vec<(u64, u64, u64)> {
    let r = &mut t.traces.recs[idx as usize];
    let epoch = r.epoch;
    std::mem::take(&mut r.sites).into_iter().map(|(s, b)| (s, b, epoch)).collect()
}

/// Slots of `TraceCounters::exits`.
pub const EXIT_SLOTS: usize = 32;

/// Whether machine code `code` (a compiled trace: all code, no data) may
/// read or write a vector register, MXCSR or the x87 state; also when it
/// does not decode. Such a function is entered with the guest's XMM
/// registers and MXCSR saved around it (`TraceRuntime::enter`), any
/// other without (`enter_gpr`), which is cheaper.
pub fn uses_vector_state(code: &[u8]) -> bool {
    use iced_x86::{Decoder, DecoderOptions, InstructionInfoFactory, Mnemonic};
    let mut d = Decoder::new(64, code, DecoderOptions::NONE);
    let mut info = InstructionInfoFactory::new();
    for insn in &mut d {
        if insn.is_invalid() || matches!(insn.mnemonic(), Mnemonic::Ldmxcsr | Mnemonic::Stmxcsr) {
            return true;
        }
        let regs = info.info(&insn).used_registers();
        if regs.iter().any(|r| {
            let r = r.register();
            r.is_xmm() || r.is_ymm() || r.is_zmm() || r.is_k() || r.is_st() || r.is_mm()
        }) {
            return true;
        }
        // x87, fxsave/xsave and the like name no register operand.
        if insn.is_save_restore_instruction() {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::uses_vector_state;

    #[test]
    fn vector_state_scan() {
        let cases: [(&[u8], bool); 7] = [
            (&[0x48, 0x89, 0xd8, 0xc3], false),       // mov rax, rbx; ret
            (&[0x0f, 0x28, 0xc1, 0xc3], true),        // movaps xmm0, xmm1
            (&[0x0f, 0xae, 0x17], true),              // ldmxcsr [rdi]
            (&[0xd9, 0xc0], true),                    // fld st(0)
            (&[0x0f, 0xae, 0x07], true),              // fxsave [rdi]
            (&[0x66, 0x48, 0x0f, 0x6e, 0xc0], true),  // movq xmm0, rax
            (&[0x48, 0x89, 0xd8, 0x0f, 0x0b], false), // mov; ud2
        ];
        for (code, want) in cases {
            assert_eq!(uses_vector_state(code), want, "{code:x?}");
        }
        assert!(uses_vector_state(&[0x48]), "a truncated instruction counts as vector");
    }
}
