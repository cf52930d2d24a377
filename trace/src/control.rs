//! The trace function: entry (guest state from `*cpu`), one LLVM block
//! per trace block, the control-flow ops, side exits, and the
//! `exit_request` check on every branch back to a trace block at the same
//! or an earlier path position.
//!
//! A branch to a trace block's start goes there; any other target is a
//! side exit (guest state written back, `rip` and the return value = the
//! target, which is recorded in the trace's counters: a grown trace of the
//! same head takes it in). `ret` and indirect jumps and calls are guarded
//! against the next block of the recorded path first, then (a `switch`)
//! against the other blocks they may reach: a `ret` the blocks at the
//! return addresses of the trace's calls (`Trace::returns`), a jump or
//! call through a RIP-relative slot (a PLT entry, a call through the GOT:
//! one target) none, any other every block of the trace
//! (`Trace::indirect`: the other targets a grown trace took in). Each
//! case is an edge that carries the guest state, which LLVM's time grows
//! with.

use crate::flags::{Flags, Src, STATUS_MASK};
use crate::state::{Cx, Res, Sync};
use crate::Reject;
use iced_x86::{InstructionInfoFactory, Mnemonic as M, OpAccess, OpKind};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::basic_block::BasicBlock;
use inkwell::context::Context;
use inkwell::module::Module;
use inkwell::values::IntValue;
use inkwell::AddressSpace;
use inkwell::IntPredicate;
use std::collections::{HashMap, HashSet};
use tern_translate::cpu::off;
use tern_translate::ir::{IrBlock, IrInsn, Op};

/// What the trace may change and use.
struct Effects {
    /// General-purpose registers written (bit = number).
    regs: u16,
    /// The trace stores to guest memory.
    stores: bool,
    /// XMM registers written, and used at all.
    xmm_written: u16,
    xmm_used: u16,
    /// SSE floating point (run under the guest's MXCSR).
    fp: bool,
    /// XMM registers used as scalar doubles (`sse::scalar_f64_regs`).
    xmm_f64: u16,
}

fn effects(blocks: &[IrBlock]) -> Effects {
    let mut f = InstructionInfoFactory::new();
    let (mut regs, mut stores) = (0u16, false);
    let (mut xmm_written, mut xmm_used) = (0u16, 0u16);
    let (mut fp, mut xmm_f64) = (false, 0u16);
    for i in blocks.iter().flat_map(|b| &b.insns) {
        match &i.op {
            Op::Native { insn, .. } => {
                fp |= crate::opaque::fp_sse(insn);
                xmm_f64 |= crate::sse::scalar_f64_regs(insn);
                let info = f.info(insn);
                for r in info.used_registers() {
                    let w = matches!(
                        r.access(),
                        OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
                    );
                    if let (true, Some(g)) = (w, crate::state::Gpr::of(r.register())) {
                        regs |= 1 << g.num;
                    }
                    if r.register().is_xmm() && r.register().number() < 16 {
                        xmm_used |= 1 << r.register().number();
                        if w {
                            xmm_written |= 1 << r.register().number();
                        }
                    }
                }
                stores |= info.used_memory().iter().any(|m| {
                    matches!(
                        m.access(),
                        OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
                    )
                });
            }
            Op::Call { .. } | Op::CallInd { .. } => {
                regs |= 1 << 4;
                stores = true;
            }
            Op::Ret { .. } => regs |= 1 << 4,
            _ => {}
        }
    }
    Effects { regs, stores, xmm_written, xmm_used, fp, xmm_f64 }
}

/// Builds the trace function in a new module, with the sync state at
/// each block's start as small as the branches to it allow: built first
/// assuming the worst at every join, then again assuming the join of what
/// the branches to each block brought, until that assumption covers what
/// they bring (a few rounds; else the worst). Fewer registers and flags
/// stored at syncs, and no sync at all in a loop whose back edge comes
/// after the last one. Returns the module and how many guest instructions
/// got real semantics.
pub(crate) fn build_best<'ctx>(
    ctx: &'ctx Context,
    t: &TraceIr,
    miscompile: bool,
    count_insns: bool,
) -> Res<(Module<'ctx>, usize)> {
    let split = TraceIr { blocks: split_at_targets(&t.blocks), ..t.clone() };
    let t = &split;
    let mut assume: Option<Vec<Sync>> = None;
    for _ in 0..4 {
        let module = ctx.create_module("trace");
        let (lowered, incoming) = build(ctx, &module, t, miscompile, count_insns, assume.as_deref())?;
        let covered = assume
            .as_ref()
            .is_some_and(|a| a.iter().zip(&incoming).all(|(a, u)| u.is_none_or(|u| a.join(&u) == *a)));
        if covered {
            return Ok((module, lowered));
        }
        // Unreached blocks keep what they had (the worst, first).
        let next = match &assume {
            None => incoming.iter().map(|u| u.unwrap_or(Sync::WORST)).collect(),
            Some(a) => a.iter().zip(&incoming).map(|(a, u)| u.map_or(*a, |u| a.join(&u))).collect(),
        };
        assume = Some(next);
    }
    let module = ctx.create_module("trace");
    let (lowered, _) = build(ctx, &module, t, miscompile, count_insns, None)?;
    Ok((module, lowered))
}

/// Builds the trace function `trace` in `module`, assuming the sync states
/// `assume` at the blocks' starts (`None`: the worst at joins); returns
/// how many guest instructions got real semantics, and the join of the
/// sync states the branches to each block bring.
fn build<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    t: &TraceIr,
    miscompile: bool,
    count_insns: bool,
    assume: Option<&[Sync]>,
) -> Res<(usize, Vec<Option<Sync>>)> {
    let i64t = ctx.i64_type();
    let i8p = ctx.i8_type().ptr_type(AddressSpace::default());
    let f = module.add_function("trace", i64t.fn_type(&[i8p.into()], false), None);
    // No red zone: opaque native instructions push the flags. Jump
    // tables are allowed: they are read-only data `codegen::text_of`
    // places after the code (the guards' switches over dispatch targets).
    let attrs = [("nounwind", None), ("noredzone", None), ("frame-pointer", Some("none"))];
    for (k, v) in attrs {
        let a = match v {
            None => ctx.create_enum_attribute(Attribute::get_named_enum_kind_id(k), 0),
            Some(v) => ctx.create_string_attribute(k, v),
        };
        f.add_attribute(AttributeLoc::Function, a);
    }
    let eff = effects(&t.blocks);
    if eff.fp {
        // Constrained floating point (`sse.rs`).
        f.add_attribute(AttributeLoc::Function, crate::sse::strictfp(ctx));
    }
    let b = ctx.create_builder();
    let entry = ctx.append_basic_block(f, "entry");
    b.position_at_end(entry);
    let cpu = f.get_nth_param(0).ok_or(Reject::Empty)?.into_pointer_value();
    let mut regs = Vec::with_capacity(16);
    for r in 0..16 {
        regs.push(b.build_alloca(i64t, &format!("r{r}"))?);
    }
    let mut flag_slots = Vec::with_capacity(6);
    for f in crate::flags::Flag::ALL {
        flag_slots.push(b.build_alloca(ctx.bool_type(), &format!("{f:?}F"))?);
    }
    let carry = crate::flags::Carry {
        mode: b.build_alloca(ctx.i8_type(), "fmode")?,
        a: b.build_alloca(i64t, "fa")?,
        b: b.build_alloca(i64t, "fb")?,
        res: b.build_alloca(i64t, "fres")?,
        slots: flag_slots.try_into().map_err(|_| Reject::Empty)?,
    };
    let mut xmm = Vec::with_capacity(16);
    for r in 0..16 {
        xmm.push(match eff.xmm_f64 & (1 << r) {
            0 => {
                let whole = b.build_alloca(i64t.vec_type(2), &format!("x{r}"))?;
                [whole, whole]
            }
            _ => [
                b.build_alloca(ctx.f64_type(), &format!("x{r}lo"))?,
                b.build_alloca(i64t, &format!("x{r}hi"))?,
            ],
        });
    }
    let mut cx = Cx {
        ctx,
        module,
        b,
        f,
        cpu,
        regs: regs.try_into().map_err(|_| Reject::Empty)?,
        xmm: xmm.try_into().map_err(|_| Reject::Empty)?,
        xmm_written: eff.xmm_written,
        xmm_whole: !eff.xmm_f64,
        host_mxcsr: None,
        flags: Flags { carry, src: [Src::Slot; 6], next_id: 0 },
        rflags_rest: i64t.const_zero(),
        sync: Sync { dirty: 0, flags_dirty: false, stored: false, xdirty: 0 },
        written: eff.regs,
        trace_stores: eff.stores,
        miscompile,
        precise: t.precise,
        counts: None,
        counted_from_here: 0,
    };
    if t.counters != 0 {
        let loops = cx.b.build_alloca(i64t, "loops")?;
        cx.b.build_store(loops, i64t.const_zero())?;
        let insns = match count_insns {
            true => {
                let insns = cx.b.build_alloca(i64t, "insns")?;
                cx.b.build_store(insns, i64t.const_zero())?;
                Some(insns)
            }
            false => None,
        };
        cx.counts = Some(crate::state::Counting { addr: t.counters, loops, insns });
    }
    for r in 0..16 {
        // Plain loads: one for a register the trace never touches is dead.
        let p = cx.cpu_field(off::reg(r), 64)?;
        let v = cx.b.build_load(p, "in")?;
        cx.b.build_store(cx.regs[r], v)?;
    }
    if eff.xmm_used != 0 {
        // The SSE component's registers are in the area only if it is in
        // use (XSTATE_BV) or the area is an FXSAVE one; else they are zero.
        let kind = cx.load_cpu(off::XSAVE_KIND, 8)?;
        let fx = cx.b.build_int_compare(IntPredicate::EQ, kind, cx.c(8, 0), "fx")?;
        let bv = cx.load_cpu(off::XSAVE + crate::state::XSTATE_BV, 64)?;
        let sse = cx.b.build_and(bv, cx.c(64, crate::state::SSE_COMPONENT), "sse")?;
        let sse = cx.b.build_int_compare(IntPredicate::NE, sse, cx.c(64, 0), "sse")?;
        let live = cx.b.build_or(fx, sse, "live")?;
        let zero = i64t.vec_type(2).const_zero();
        if eff.xmm_written != 0 {
            // Stores will mark the component in use: its registers in the
            // area must then hold their init values (zero), not stale ones.
            let clear = ctx.append_basic_block(f, "xinit");
            let go = ctx.append_basic_block(f, "xlive");
            cx.b.build_conditional_branch(live, go, clear)?;
            cx.b.position_at_end(clear);
            for n in 0..16 {
                let st = cx.b.build_store(cx.xmm_slot(n)?, zero)?;
                st.set_alignment(1).map_err(|e| Reject::Llvm(e.to_string()))?;
            }
            cx.b.build_unconditional_branch(go)?;
            cx.b.position_at_end(go);
        }
        for n in 0..16 {
            if eff.xmm_used & (1 << n) != 0 {
                let v = cx.b.build_load(cx.xmm_slot(n)?, "xin")?.into_vector_value();
                if let Some(i) = v.as_instruction() {
                    i.set_alignment(1).map_err(|e| Reject::Llvm(e.to_string()))?;
                }
                let v = cx.b.build_select(live, v, zero, "xin")?.into_vector_value();
                cx.xmm_put(n, v)?;
            }
        }
    }
    if eff.fp {
        // The guest's MXCSR in the host while the trace runs (the host's
        // back at exits).
        let host = cx.b.build_alloca(ctx.i32_type(), "host_mxcsr")?;
        cx.mxcsr_asm("stmxcsr ($0)", "r", host)?;
        let guest = cx.cpu_field(off::XSAVE + crate::state::MXCSR_AREA, 32)?;
        cx.mxcsr_asm("ldmxcsr ($0)", "r", guest)?;
        cx.host_mxcsr = Some(host);
    }
    let p = cx.cpu_field(off::RFLAGS, 64)?;
    let fl = cx.b.build_load(p, "rflags")?.into_int_value();
    cx.rflags_rest = cx.b.build_and(fl, cx.c(64, !STATUS_MASK), "rest")?;
    cx.carry_rflags(fl)?;
    // A fault before the first sync replays from the head.
    cx.store_cpu(off::RIP, cx.pc(t.head))?;

    let mut starts = HashMap::new();
    let mut bbs = Vec::with_capacity(t.blocks.len());
    for (i, blk) in t.blocks.iter().enumerate() {
        starts.entry(blk.start).or_insert(i);
        bbs.push(ctx.append_basic_block(f, &format!("b{:x}", blk.start)));
    }
    let head_targeted = t.blocks.iter().flat_map(|b| &b.insns).any(|i| targets(&i.op).contains(&t.head));
    let clean = Sync { dirty: 0, flags_dirty: false, stored: false, xdirty: 0 };
    let mut incoming = vec![None; t.blocks.len()];
    if let Some(first) = incoming.first_mut() {
        *first = Some(clean);
    }
    let mut tr = Trace {
        indirect: indirect_targets(&t.blocks),
        returns: return_targets(&t.blocks),
        starts,
        incoming,
        bbs,
        blocks: &t.blocks,
    };
    match tr.bbs.first() {
        Some(&b0) => cx.b.build_unconditional_branch(b0)?,
        None => return Ok((0, tr.incoming)),
    };
    for (i, blk) in t.blocks.iter().enumerate() {
        if let Some(insns) = cx.counts.and_then(|k| k.insns) {
            cx.b.position_at_end(tr.bbs[i]);
            cx.bump(insns, run_from(blk, 0) as u64)?;
        }
    }
    let mut lowered = 0;
    for i in 0..t.blocks.len() {
        cx.b.position_at_end(tr.bbs[i]);
        cx.flags.src = [Src::Slot; 6];
        // Joins several paths: assume the worst unless told better.
        let worst =
            Sync { dirty: cx.written, flags_dirty: true, stored: cx.trace_stores, xdirty: cx.xmm_written };
        cx.sync = match assume {
            Some(a) => Sync {
                dirty: a[i].dirty & cx.written,
                flags_dirty: a[i].flags_dirty,
                stored: a[i].stored && cx.trace_stores,
                xdirty: a[i].xdirty & cx.xmm_written,
            },
            None if i == 0 && !head_targeted => clean,
            None => worst,
        };
        lowered += tr.lower_block(&mut cx, i)?;
    }
    Ok((lowered, tr.incoming))
}

use crate::TraceIr;

/// How many instructions of `blk` from its `k`-th run until a
/// conditional branch (included) or its end: what is counted as run when
/// the `k`-th starts (`Counters::insns`).
fn run_from(blk: &IrBlock, k: usize) -> usize {
    let rest = &blk.insns[k.min(blk.insns.len())..];
    let run = rest.iter().position(|i| matches!(i.op, Op::Jcc { .. })).map_or(rest.len(), |p| p + 1);
    tern_translate::ir::guest_insns(&rest[..run])
}

/// True if the status flags the `k`-th instruction of `blk` writes are
/// all written again, by instructions that touch no memory (cannot fault,
/// need no sync), read none of them and do not branch, before anything
/// reads them: no sync, exit or condition between can see them. A shift
/// or rotate whose count may be zero writes none.
fn flags_dead_after(blk: &IrBlock, k: usize) -> bool {
    let Op::Native { insn, .. } = &blk.insns[k].op else { return false };
    // iced-x86's flag bits: x86's RFLAGS mask would miss PF, AF and SF.
    let mut pending = insn.rflags_modified() & crate::opaque::ICED_STATUS;
    for i in &blk.insns[k + 1..] {
        let Op::Native { insn: n, .. } = &i.op else { return false };
        let memory = (0..n.op_count()).any(|j| n.op_kind(j) == OpKind::Memory) || n.is_string_instruction();
        // A division faults (#DE), floating point may (#XM, unmasked).
        let faults = matches!(n.mnemonic(), M::Div | M::Idiv) || crate::opaque::fp_sse(n);
        if n.rflags_read() & pending != 0
            || memory
            || faults
            || n.flow_control() != iced_x86::FlowControl::Next
        {
            return false;
        }
        // rcl/rcr rotate by the count modulo 9 or 17 for narrow operands.
        let may_be_zero = crate::opaque::counted_shift(n.mnemonic())
            && (matches!(n.mnemonic(), M::Rcl | M::Rcr)
                || !(0..n.op_count()).any(|j| {
                    matches!(n.op_kind(j), OpKind::Immediate8 | OpKind::Immediate8_2nd)
                        && n.immediate(j) & 31 != 0
                }));
        if !may_be_zero {
            pending &= !n.rflags_modified();
        }
        if pending == 0 {
            return true;
        }
    }
    false
}

/// The blocks of `blocks` an indirect `jmp` or `call` is guarded against
/// besides the next one: every block of the trace (a switch's table may
/// lead to a block that direct branches lead to as well).
fn indirect_targets(blocks: &[IrBlock]) -> Vec<u64> {
    let mut v: Vec<u64> = blocks.iter().map(|b| b.start).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The blocks of `blocks` a `ret` is guarded against besides the next
/// one: those at the return address of a call of the trace (a function
/// may return to any of its call sites).
fn return_targets(blocks: &[IrBlock]) -> Vec<u64> {
    let rets: HashSet<u64> = blocks
        .iter()
        .flat_map(|b| &b.insns)
        .filter_map(|i| match i.op {
            Op::Call { ret, .. } | Op::CallInd { ret, .. } => Some(ret),
            _ => None,
        })
        .collect();
    indirect_targets(blocks).into_iter().filter(|s| rets.contains(s)).collect()
}

/// The fewest cases LLVM lowers a `switch` to a jump table for.
const MIN_TABLE_CASES: usize = 4;

/// How a guard's `switch` keys its cases: the target's distance from the
/// lowest case, rotated right by the number of low bits every case's
/// distance has clear. Block starts are sparse (a range of hundreds of
/// bytes for a dozen handlers of a switch dispatch: LLVM then lowers the
/// `switch` to a tree of compares, four levels of branches per dispatch)
/// but aligned alike (compilers align the targets of jump tables), so the
/// rotated distances are dense enough for a jump table: one indirect jump,
/// as the guest's own dispatch. A rotation is a bijection, so only a
/// case's own target gets its key; any other (below the lowest, or with
/// low bits set) rotates to a key no case has.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Dense {
    base: u64,
    shift: u32,
}

impl Dense {
    fn of(targets: &[u64]) -> Dense {
        // Fewer cases get no jump table anyway: their keys are the
        // targets themselves.
        if targets.len() < MIN_TABLE_CASES {
            return Dense { base: 0, shift: 0 };
        }
        let base = targets.iter().copied().min().unwrap_or(0);
        let spread = targets.iter().fold(0u64, |acc, &t| acc | t.wrapping_sub(base));
        Dense { base, shift: if spread == 0 { 0 } else { spread.trailing_zeros() } }
    }

    /// The key of target `t` (the same function `dense_key` builds in IR).
    fn index(self, t: u64) -> u64 {
        t.wrapping_sub(self.base).rotate_right(self.shift)
    }
}

/// The key of `v` for a `switch` over `targets` ([`Dense`]), built in IR.
fn dense_key<'ctx>(
    cx: &mut Cx<'ctx, '_>,
    v: IntValue<'ctx>,
    targets: &[u64],
) -> Res<(IntValue<'ctx>, Dense)> {
    let dense = Dense::of(targets);
    let mut key = v;
    if dense.base != 0 {
        key = cx.b.build_int_sub(key, cx.c(64, dense.base), "dist")?;
    }
    if dense.shift != 0 {
        let n = cx.c(64, u64::from(dense.shift));
        key = cx.int_intrinsic("llvm.fshr", cx.int(64), &[key.into(), key.into(), n.into()], "key")?;
    }
    Ok((key, dense))
}

/// The trace's blocks, each split where a direct branch of the trace
/// targets one of its instructions other than its first (a baseline block
/// runs an inner loop inside it, its back edge a branch into its middle):
/// the part before falls through to the part after, which the branch can
/// then reach inside the trace, where it would have left it.
fn split_at_targets(blocks: &[IrBlock]) -> Vec<IrBlock> {
    // Not a conditional branch's fall-through: the next instruction of
    // its own block.
    let inside: HashSet<u64> = blocks
        .iter()
        .flat_map(|b| &b.insns)
        .flat_map(|i| match i.op {
            Op::Jcc { taken, .. } => vec![taken],
            ref op => targets(op),
        })
        .collect();
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        let part = |start: u64, end: u64, insns: Vec<IrInsn>| IrBlock {
            start,
            end,
            insns,
            code: b.code.get((start - b.start) as usize..(end - b.start) as usize).unwrap_or(&[]).to_vec(),
            predicted: b.predicted,
            single: b.single,
            check: b.check,
        };
        let mut start = b.start;
        let mut insns = Vec::new();
        for ins in &b.insns {
            // (A block's closing `Fallthrough` is at its end, not in it.)
            if ins.pc != start && ins.pc < b.end && !insns.is_empty() && inside.contains(&ins.pc) {
                insns.push(IrInsn { pc: ins.pc, len: 0, op: Op::Fallthrough { next: ins.pc } });
                out.push(part(start, ins.pc, std::mem::take(&mut insns)));
                start = ins.pc;
            }
            insns.push(ins.clone());
        }
        out.push(part(start, b.end, insns));
    }
    out
}

/// Direct branch targets of `op`.
fn targets(op: &Op) -> Vec<u64> {
    match *op {
        Op::Jmp { target } | Op::Call { target, .. } => vec![target],
        Op::Jcc { taken, next, .. } => vec![taken, next],
        Op::Fallthrough { next } => vec![next],
        _ => vec![],
    }
}

/// The blocks of the trace a computed branch is guarded against besides
/// the next one.
#[derive(Clone, Copy)]
enum Reach {
    Any,
    Returns,
    Next,
}

impl Reach {
    /// Of an indirect `jmp`/`call` with `operand` (`mov rcx, <operand>`):
    /// through a RIP-relative slot (a PLT entry's, a call through the
    /// GOT), whose target does not change, only the next block.
    fn of(operand: &iced_x86::Instruction) -> Reach {
        let slot = operand.op1_kind() == OpKind::Memory
            && operand.memory_base() == iced_x86::Register::RIP
            && operand.memory_index() == iced_x86::Register::None;
        match slot {
            true => Reach::Next,
            false => Reach::Any,
        }
    }
}

struct Trace<'a, 'ctx> {
    /// What indirect jumps and calls may reach in the trace
    /// ([`indirect_targets`]), and returns ([`return_targets`]).
    indirect: Vec<u64>,
    returns: Vec<u64>,
    starts: HashMap<u64, usize>,
    /// The join of the sync states on the branches to each block.
    incoming: Vec<Option<Sync>>,
    bbs: Vec<BasicBlock<'ctx>>,
    blocks: &'a [IrBlock],
}

impl<'a, 'ctx> Trace<'a, 'ctx> {
    /// A block that leaves the trace to `pc`; `side`: a branch out of
    /// the trace (recorded, `Cx::side_exit`), not an exit request.
    fn exit_bb(&self, cx: &mut Cx<'ctx, '_>, pc: IntValue<'ctx>, side: bool) -> Res<BasicBlock<'ctx>> {
        let here = cx.b.get_insert_block().ok_or(Reject::Empty)?;
        let bb = cx.ctx.append_basic_block(cx.f, "exit");
        cx.b.position_at_end(bb);
        match side {
            true => cx.side_exit(pc)?,
            false => cx.exit(pc)?,
        }
        cx.b.position_at_end(here);
        Ok(bb)
    }

    /// Where a branch from trace block `from` to `target` goes. The flags
    /// must be in their slot.
    fn edge(&mut self, cx: &mut Cx<'ctx, '_>, from: usize, target: u64) -> Res<BasicBlock<'ctx>> {
        self.edge_after(cx, from, target, false)
    }

    /// [`Self::edge`]; `checked`: the path to it has checked the thread's
    /// exit request already (a switch's, once for all its cases).
    fn edge_after(
        &mut self,
        cx: &mut Cx<'ctx, '_>,
        from: usize,
        target: u64,
        checked: bool,
    ) -> Res<BasicBlock<'ctx>> {
        let Some(&k) = self.starts.get(&target) else {
            return self.exit_bb(cx, cx.pc(target), true);
        };
        self.incoming[k] = Some(self.incoming[k].map_or(cx.sync, |s| s.join(&cx.sync)));
        if k > from || checked && cx.counts.is_none() {
            return Ok(self.bbs[k]);
        }
        // A loop: leave at its head when the thread has an exit request.
        let here = cx.b.get_insert_block().ok_or(Reject::Empty)?;
        let check = cx.ctx.append_basic_block(cx.f, "xreq");
        cx.b.position_at_end(check);
        if let Some(c) = cx.counts {
            cx.bump(c.loops, 1)?;
        }
        if checked {
            cx.b.build_unconditional_branch(self.bbs[k])?;
        } else {
            let out = self.exit_bb(cx, cx.pc(target), false)?;
            cx.b.position_at_end(check);
            cx.check_exit_request(out, self.bbs[k])?;
        }
        cx.b.position_at_end(here);
        Ok(check)
    }

    /// Whether a branch from trace block `from` to `target` closes a loop
    /// (checks the thread's exit request: [`Self::edge`]).
    fn backward(&self, from: usize, target: u64) -> bool {
        self.starts.get(&target).is_some_and(|&k| k <= from)
    }

    /// Ends the current block with a branch to `target`.
    fn goto(&mut self, cx: &mut Cx<'ctx, '_>, from: usize, target: u64) -> Res<()> {
        cx.flags_to_slot()?;
        let bb = self.edge(cx, from, target)?;
        cx.b.build_unconditional_branch(bb)?;
        Ok(())
    }

    /// Ends the current block at the computed target `v`: the next block
    /// if `v` is its start, else another block of the trace of `reach` (a
    /// `switch`), else a side exit to `v`.
    fn guard(&mut self, cx: &mut Cx<'ctx, '_>, from: usize, v: IntValue<'ctx>, reach: Reach) -> Res<()> {
        let next = self.blocks.get(from + 1).map(|b| b.start);
        let all = match reach {
            Reach::Any => &self.indirect[..],
            Reach::Returns => &self.returns[..],
            Reach::Next => &[],
        };
        let others: Vec<u64> = all.iter().copied().filter(|&s| Some(s) != next).collect();
        if next.is_none() && others.is_empty() {
            return cx.side_exit(v);
        }
        cx.flags_to_slot()?;
        let off = self.exit_bb(cx, v, true)?;
        let miss = match others.is_empty() {
            true => off,
            false => {
                let here = cx.b.get_insert_block().ok_or(Reject::Empty)?;
                let poly = cx.ctx.append_basic_block(cx.f, "poly");
                // One check of the exit request for all the cases that
                // close loops, not one per case (each with its own exit:
                // a dispatch over twenty callees made 26 KB of code).
                let checked = others.iter().any(|&o| self.backward(from, o));
                if checked {
                    let out = self.exit_bb(cx, v, false)?;
                    cx.b.position_at_end(poly);
                    let go = cx.ctx.append_basic_block(cx.f, "sw");
                    cx.check_exit_request(out, go)?;
                    cx.b.position_at_end(go);
                } else {
                    cx.b.position_at_end(poly);
                }
                let (key, dense) = dense_key(cx, v, &others)?;
                let mut cases = Vec::with_capacity(others.len());
                for o in others {
                    cases.push((cx.c(64, dense.index(o)), self.edge_after(cx, from, o, checked)?));
                }
                cx.b.build_switch(key, off, &cases)?;
                cx.b.position_at_end(here);
                poly
            }
        };
        match next {
            Some(next) => {
                let hit = cx.b.build_int_compare(IntPredicate::EQ, v, cx.pc(next), "guard")?;
                let on = self.edge(cx, from, next)?;
                cx.b.build_conditional_branch(hit, on, miss)?;
            }
            None => {
                cx.b.build_unconditional_branch(miss)?;
            }
        }
        Ok(())
    }

    /// The target an indirect `jmp`/`call` operand computes (`operand` is
    /// `mov rcx, <operand>`).
    fn ind_target(
        &self,
        cx: &mut Cx<'ctx, '_>,
        pc: u64,
        operand: &iced_x86::Instruction,
    ) -> Res<IntValue<'ctx>> {
        match operand.op1_kind() {
            OpKind::Register => {
                let g = crate::state::Gpr::of(operand.op1_register()).ok_or(Reject::Empty)?;
                cx.read_gpr(g)
            }
            _ => {
                let a = cx.linear(operand)?;
                cx.load(pc, a, 64)
            }
        }
    }

    /// Lowers trace block `i` into its LLVM block; returns the number of
    /// guest instructions lowered.
    fn lower_block(&mut self, cx: &mut Cx<'ctx, '_>, i: usize) -> Res<usize> {
        let blk = &self.blocks[i];
        let mut n = 0;
        for (k, ins) in blk.insns.iter().enumerate() {
            let pc = ins.pc;
            cx.counted_from_here = run_from(blk, k) as u64;
            match &ins.op {
                Op::Native { insn, .. } => {
                    if !cx.lower_native(pc, insn)?
                        && !cx.lower_sse(pc, insn)?
                        && !cx.lower_opaque(pc, insn, blk.bytes_of(ins), flags_dead_after(blk, k))?
                    {
                        return cx.exit_before(pc).map(|_| n);
                    }
                }
                Op::Jcc { cc, taken, .. } => {
                    let c = cx.cond(*cc)?;
                    cx.flags_to_slot()?;
                    let t = self.edge(cx, i, *taken)?;
                    let go = cx.ctx.append_basic_block(cx.f, "nt");
                    cx.b.build_conditional_branch(c, t, go)?;
                    cx.b.position_at_end(go);
                    if let Some(insns) = cx.counts.and_then(|c| c.insns) {
                        cx.bump(insns, run_from(blk, k + 1) as u64)?;
                    }
                }
                Op::Jmp { target } => {
                    self.goto(cx, i, *target)?;
                    return Ok(n + 1);
                }
                Op::Fallthrough { next } => {
                    self.goto(cx, i, *next)?;
                    return Ok(n);
                }
                Op::Call { target, ret } => {
                    cx.push(pc, cx.pc(*ret))?;
                    self.goto(cx, i, *target)?;
                    return Ok(n + 1);
                }
                Op::CallInd { operand, ret, .. } => {
                    let v = self.ind_target(cx, pc, operand)?;
                    cx.push(pc, cx.pc(*ret))?;
                    self.guard(cx, i, v, Reach::of(operand))?;
                    return Ok(n + 1);
                }
                Op::JmpInd { operand, .. } => {
                    let v = self.ind_target(cx, pc, operand)?;
                    self.guard(cx, i, v, Reach::of(operand))?;
                    return Ok(n + 1);
                }
                Op::Ret { pop } => {
                    let v = cx.pop(pc, u64::from(*pop))?;
                    self.guard(cx, i, v, Reach::Returns)?;
                    return Ok(n + 1);
                }
                Op::Syscall { .. }
                | Op::Cpuid { .. }
                | Op::Xgetbv { .. }
                | Op::Emulate
                | Op::Xbegin { .. }
                | Op::Trap { .. }
                | Op::Loop { .. } => {
                    return cx.exit_before(pc).map(|_| n);
                }
            }
            n += 1;
        }
        cx.side_exit(cx.pc(blk.end))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_translate::ir::MemFix;

    fn native(pc: u64, len: u8) -> IrInsn {
        IrInsn { pc, len, op: Op::Native { insn: iced_x86::Instruction::default(), fix: MemFix::None } }
    }

    /// A switch over aligned handlers keys them densely (a jump table's
    /// range), and no other target, below, between or above them, takes a
    /// case's key.
    #[test]
    fn switch_keys_are_dense_and_only_the_cases_own() {
        let targets = [0x401660, 0x401678, 0x401688, 0x401690, 0x4016d0, 0x401730, 0x4017f0];
        let d = Dense::of(&targets);
        assert_eq!(d, Dense { base: 0x401660, shift: 3 });
        let keys: Vec<u64> = targets.iter().map(|&t| d.index(t)).collect();
        assert_eq!(keys, [0, 3, 5, 6, 14, 26, 50]);
        for t in (0x401600..0x401900).chain([
            0,
            1,
            0x401660u64.wrapping_sub(1 << 63),
            u64::MAX,
            0x401660 + (1 << 63),
        ]) {
            assert_eq!(targets.contains(&t), keys.contains(&d.index(t)), "target {t:#x}");
        }
        // Three cases or fewer are keyed by the targets themselves.
        assert_eq!(Dense::of(&targets[..3]), Dense { base: 0, shift: 0 });
        assert_eq!(Dense::of(&targets[..3]).index(0x401678), 0x401678);
    }

    /// A block is split where a branch of the trace lands inside it; the
    /// `Fallthrough` closing a block at its end is no landing place (a
    /// part of it alone would branch to itself: a loop that never ends).
    #[test]
    fn blocks_split_at_branch_targets_inside_them() {
        let a = IrBlock {
            start: 0x1000,
            end: 0x1010,
            insns: vec![
                native(0x1000, 4),
                native(0x1004, 4),
                native(0x1008, 8),
                IrInsn { pc: 0x1010, len: 0, op: Op::Fallthrough { next: 0x1010 } },
            ],
            code: vec![0x90; 16],
            ..IrBlock::default()
        };
        let b = IrBlock {
            start: 0x2000,
            end: 0x2006,
            insns: vec![
                IrInsn { pc: 0x2000, len: 2, op: Op::Jcc { cc: 4, taken: 0x1004, next: 0x2002 } },
                IrInsn { pc: 0x2002, len: 4, op: Op::Jmp { target: 0x1010 } },
            ],
            code: vec![0x90; 6],
            ..IrBlock::default()
        };
        let split = split_at_targets(&[a, b]);
        let shape: Vec<(u64, u64, usize)> = split.iter().map(|b| (b.start, b.end, b.insns.len())).collect();
        assert_eq!(shape, [(0x1000, 0x1004, 2), (0x1004, 0x1010, 3), (0x2000, 0x2006, 2)]);
        assert!(matches!(split[0].insns[1].op, Op::Fallthrough { next: 0x1004 }));
        assert_eq!(split[1].code.len(), 12, "the part's own bytes");
    }
}
