//! Baseline back end: IR -> host x86-64, one pass, no optimizer.
//!
//! Guest registers stay in the same host registers, so a `Native` op is the
//! guest instruction re-encoded at its new address. The glue around it (exit
//! stubs, pushes of guest return addresses, FS/GS and far RIP-relative operand
//! rewrites, the indirect-branch lookup) uses only `mov`, `movzx`, `lea`,
//! `crc32`, `push imm32`, `jmp`, `jrcxz` and NOP padding, which leave the guest flags intact,
//! and spills any host register it borrows into a `CpuState` scratch slot,
//! recording that in the pc map so faults see exact guest state. Its memory
//! accesses are all naturally aligned, so that a guest running with
//! EFLAGS.AC set sees no alignment-check fault it would not see natively.

pub mod asm;
pub mod trace_glue;

use crate::cache::{Fixup, PcEntry, AT_TARGET, MID_BRANCH, NO_FIXUP};
use crate::cpu::{off, ExitDesc, ExitKind, DESC_INDIRECT, DIRECT_BACK, DIRECT_VIA_LOOKUP};
use crate::ir::{IrBlock, MemFix, Op};
use asm::{Asm, RAX, RCX, RDX};
pub use asm::{Reloc, RelocKind};
use iced_x86::{Code, Instruction, InstructionInfoFactory, MemoryOperand, Register};

/// Scratch slot use: 1 and 2 guest rcx and rdx during an indirect branch
/// and its lookup (and at a block's lookup entry and a call's return
/// continuation), 3 operand rewrites, 6 rcx before a `loop` decremented,
/// 7 the register holding the FS/GS base for an implicit `[rdi]` operand,
/// 4 rcx in a counting stub, 5 rax before an `xbegin` aborted.
const SLOT_TARGET: usize = 1;
const SLOT_IBL: usize = 2;
const SLOT_FIX: usize = 3;
const SLOT_HOT: usize = 4;
const SLOT_XBEGIN: usize = 5;
const SLOT_LOOP: usize = 6;
const SLOT_BASE: usize = 7;
/// Guest rax while a guarded `xrstor` runs (`Emitter::xrstor_without_pkru`).
const SLOT_XRSTOR: usize = 0;

/// `Emitter::mark` state of the indirect-branch lookup (`AT_TARGET`: the
/// guest target in host rdx).
const STATE_TARGET: u64 = u64::MAX - 1;

/// `CpuState::ibl` as a disp32 from the GS base.
const IBL_DISP: u32 = off::IBL as u32;
const _: () = assert!(off::IBL < i32::MAX as usize);

/// Guest rcx and rdx in their lookup slots.
const BOTH: Fixup = [(RCX, SLOT_TARGET as u8), (RDX, SLOT_IBL as u8)];

/// Shared routines at the start of the code cache.
#[derive(Clone, Copy, Debug)]
pub struct Runtime {
    /// `jmp tern_exit_common` reachable by rel32 from every block.
    pub exit_tramp: u64,
    /// Indirect-branch lookup miss: stores the target (rdx) in `next_rip`,
    /// restores rdx and rcx, exits `Indirect`.
    pub ibl_miss: u64,
    /// The routines around compiled traces (`trace_glue`).
    pub trace: trace_glue::TraceRuntime,
}

/// Emits the shared routines for a cache whose free space starts at `base`.
/// They use the fixed descriptor `DESC_INDIRECT`.
pub fn emit_runtime(base: u64, exit_common: u64, resume_host: u64) -> (Vec<u8>, Runtime) {
    debug_assert!(base.is_multiple_of(8), "the runtime's literal must be aligned");
    let mut a = Asm::new(base);
    // `jmp [rip+2]` over two bytes of padding: the target's address is
    // 8-aligned, since a guest may run with EFLAGS.AC set (the JVM's CPU
    // probe does) and a misaligned load would then fault (#AC).
    let exit_tramp = a.here();
    a.bytes(&[0xff, 0x25, 2, 0, 0, 0, 0xcc, 0xcc]);
    a.bytes(&exit_common.to_le_bytes());
    a.align8();
    let ibl_miss = a.here();
    // The target's victim slot (`cpu::ibl_victim_index`), where the entry
    // the first half evicted waits: a hit there jumps to the block's
    // lookup entry as a first-half hit does, from this one shared site.
    // Only once the thread keeps victims (`CpuState::ibl_victims`).
    a.load_gs(RCX, off::IBL_VICTIMS);
    let none = a.short(0xe3); // jrcxz none
    ibl_victim_index(&mut a);
    ibl_key_test(&mut a);
    let hit = a.short(0xe3); // jrcxz hit
    a.land(none);
    indirect_exit(&mut a, exit_tramp);
    a.land(hit);
    ibl_victim_index(&mut a);
    ibl_jump(&mut a);
    let desc_left = crate::cpu::DESC_TRACE_LEFT as u32;
    let trace = trace_glue::emit_trace_runtime(&mut a, ibl_miss, resume_host, desc_left);
    a.align8();
    (a.buf, Runtime { exit_tramp, ibl_miss, trace })
}

/// Profiling of trace heads: which backward branches count their
/// executions, and after how many the counting stub exits `Hot`.
#[derive(Debug)]
pub struct Profiler {
    /// Executions (per thread) after which a branch's stub exits `Hot`.
    pub threshold: u32,
    /// Only branches to heads in `[lo, hi)` are profiled.
    pub range: (u64, u64),
}

impl Profiler {
    pub fn new(threshold: u32, range: (u64, u64)) -> Profiler {
        Profiler { threshold: threshold.clamp(1, i32::MAX as u32), range }
    }

    /// True if branches to `head` count their runs (`--trace-range`).
    pub fn profiles(&self, head: u64) -> bool {
        (self.range.0..self.range.1).contains(&head)
    }
}

/// The counter slot (`CpuState::hot`) of trace head `head`: its address
/// in 16-byte units, modulo the slots, so that a block's counting stubs
/// depend on nothing else (the persistent cache keeps them;
/// `RelocKind::HotSlot` moves them with the guest code), and a process
/// touches one page of counters per 16 KiB of code with heads (a hash
/// spread over all 256 KiB cost `/bin/true` 130 page faults). Every branch
/// to one head counts in one slot, as trace heads are counted; heads that
/// share one (16 bytes apart, or 1 MiB) add up their counts, and the
/// counter starts again when it fires (`ExitKind::Hot`), so each fires.
pub fn hot_slot(head: u64) -> u32 {
    ((head >> 4) as usize & (crate::cpu::HOT_SLOTS - 1)) as u32
}

/// rcx = 2 * `cpu::ibl_index(rdx)`: the index in qwords of the lookup
/// entry for the guest target in rdx.
fn ibl_index(a: &mut Asm) {
    if crate::cpu::ibl_index_uses_crc32() {
        a.bytes(&[0xb9, 0xff, 0xff, 0xff, 0xff]); // mov ecx, 0xffffffff
        a.bytes(&[0xf2, 0x0f, 0x38, 0xf1, 0xca]); // crc32 ecx, edx (no flags)
        a.bytes(&[0x0f, 0xb7, 0xc9]); // movzx ecx, cx
    } else {
        a.bytes(&[0x0f, 0xb7, 0xca]); // movzx ecx, dx
    }
    a.bytes(&[0x48, 0x8d, 0x0c, 0x09]); // lea rcx, [rcx+rcx]
}

/// rcx = 2 * `cpu::ibl_victim_index(rdx)`, flags untouched: the other
/// half of the hash `ibl_index` uses, byte-swapped, in the table's second
/// half.
fn ibl_victim_index(a: &mut Asm) {
    if crate::cpu::ibl_index_uses_crc32() {
        a.bytes(&[0xb9, 0xff, 0xff, 0xff, 0xff]); // mov ecx, 0xffffffff
        a.bytes(&[0xf2, 0x0f, 0x38, 0xf1, 0xca]); // crc32 ecx, edx (no flags)
    } else {
        a.bytes(&[0x89, 0xd1]); // mov ecx, edx
    }
    a.bytes(&[0x0f, 0xc9]); // bswap ecx
    a.bytes(&[0x0f, 0xb7, 0xc9]); // movzx ecx, cx
                                  // lea rcx, [rcx + rcx + 2 * IBL_ENTRIES]
    a.bytes(&[0x48, 0x8d, 0x8c, 0x09]);
    a.bytes(&u32::try_from(2 * crate::cpu::IBL_ENTRIES).expect("small").to_le_bytes());
}

/// The lookup's hit test for the guest target in rdx: falls through on
/// a miss, jumps over the next 5 bytes (a `jmp rel32`) on a hit.
fn ibl_probe(a: &mut Asm) {
    ibl_index(a);
    ibl_key_test(a);
    a.bytes(&[0xe3, 0x05]); // jrcxz hit
}

/// With rcx = twice an entry's index and the guest target in rdx: rcx =
/// 0 if the entry's key names that target (flags untouched).
fn ibl_key_test(a: &mut Asm) {
    // mov rcx, gs:[ibl + rcx*8]  (the stored key, NOT of the guest pc)
    a.bytes(&[0x65, 0x48, 0x8b, 0x0c, 0xcd]);
    a.bytes(&IBL_DISP.to_le_bytes());
    a.bytes(&[0x48, 0x8d, 0x4c, 0x11, 0x01]); // lea rcx, [rcx+rdx+1]: zero iff hit
}

/// `jmp gs:[ibl + 8 + rcx*8]`: to the lookup entry held by the entry
/// whose index rcx holds twice.
fn ibl_jump(a: &mut Asm) {
    a.bytes(&[0x65, 0xff, 0x24, 0xcd]);
    a.bytes(&(IBL_DISP + 8).to_le_bytes());
}

/// The whole lookup of the guest target in rdx, guest rcx and rdx in
/// their slots: a hit jumps to the target block's lookup entry, a miss to
/// `ibl_miss`.
fn ibl_lookup(a: &mut Asm, ibl_miss: u64) {
    ibl_probe(a);
    a.jmp_unaligned(ibl_miss);
    // hit: to the block's lookup entry
    ibl_index(a);
    ibl_jump(a);
}

/// The exit of an indirect branch to the CPU loop (`DESC_INDIRECT`): with
/// the target in rdx and guest rcx and rdx in their slots, the target to
/// `next_rip` and the guest's registers back.
fn indirect_exit(a: &mut Asm, exit_tramp: u64) {
    a.store_gs(off::NEXT_RIP, RDX);
    a.load_gs(RDX, off::scratch(SLOT_IBL));
    a.load_gs(RCX, off::scratch(SLOT_TARGET));
    a.store_gs_imm32(off::EXIT_DESC, DESC_INDIRECT as i32);
    a.jmp_unaligned(exit_tramp);
}

/// Emits an exit stub naming descriptor `local` (an index into the block's
/// own descriptor list, rebased when the block is installed).
fn exit_stub(a: &mut Asm, tramp: u64, fills: &mut Vec<usize>) {
    let imm_at = a.store_gs_imm32(off::EXIT_DESC, 0);
    fills.push(imm_at);
    a.jmp_unaligned(tramp);
}

/// Host code for one block plus its pc map and exit descriptors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Emitted {
    pub code: Vec<u8>,
    /// The fields of `code` that depend on where it and its guest code are.
    pub relocs: Vec<Reloc>,
    /// The pc map's entries (empty for a block read from the persistent
    /// cache, whose records keep only `packed`).
    pub pcmap: Vec<PcEntry>,
    /// The pc map packed, as the installed block keeps it.
    pub packed: crate::pcmap::PackedPcMap,
    /// Descriptors of the block's exits, in order.
    pub descs: Vec<ExitDesc>,
    /// Offsets in `code` of the imm32 naming each descriptor (same order).
    pub desc_fills: Vec<usize>,
    /// Offset in `code` of the block's lookup entry (`Block::ibl_entry`):
    /// the start, which reloads guest rcx and rdx from the lookup's slots
    /// and falls through to `entry`, or in a block that keeps them in the
    /// slots (`keeps_lookup_slots`), right after `entry` (0), which spills
    /// them.
    pub ibl_entry: usize,
    /// Offset in `code` where the block's own code starts (`Block::entry`).
    pub entry: usize,
    /// Bytes of instructions at the start of `code`; 8-byte literals
    /// the instructions load follow them.
    pub insn_len: usize,
    /// RIP-relative operands that took a scratch register and a `mov r,
    /// imm64` around them, their target out of `disp32` reach of the code
    /// and above 2 GiB (`--stats`; 0 for a block read from the persistent
    /// cache).
    pub far_rip: u32,
}

impl Emitted {
    /// Rewrites the descriptor indices once the block's descriptors have
    /// been given their place (`first`) in the cache's table.
    pub fn set_desc_base(&mut self, first: u32) {
        set_desc_base(&mut self.code, &self.desc_fills, first);
    }

    /// Moves the block, emitted for host address `from`, to host address
    /// `to`, and the guest code it translates by `guest_delta` bytes, the
    /// runtime's routines being `runtime_delta` bytes from where they were,
    /// as if it had been emitted there: the persistent cache's blocks are
    /// translated once and used by other processes, where the code cache
    /// and the guest's libraries sit elsewhere. `predicted` is the target
    /// the guard of the block's predicted indirect branch is to expect
    /// (the caller reads the slot again). False, leaving the block in an
    /// unspecified state, if a field no longer reaches (a rel32 or a 32-bit
    /// guest address out of range) or `to` is not `from` plus a multiple of
    /// 8 (the alignment of the block's patchable fields and literals): the
    /// block must then be emitted anew.
    #[must_use]
    pub fn relocate(
        &mut self,
        from: u64,
        to: u64,
        guest_delta: u64,
        runtime_delta: u64,
        predicted: Option<u64>,
    ) -> bool {
        let moves = Moves { from, to, guest_delta, runtime_delta, predicted };
        relocate_code(&mut self.code, &self.relocs, &mut self.descs, &moves)
    }
}

/// [`Emitted::set_desc_base`] of a block's `code` wherever it is, with
/// `fills` its `desc_fills`.
pub fn set_desc_base(code: &mut [u8], fills: &[usize], first: u32) {
    for (i, &at) in fills.iter().enumerate() {
        let idx = first + u32::try_from(i).expect("few exits per block");
        code[at..at + 4].copy_from_slice(&idx.to_le_bytes());
    }
}

/// How a block moves (`Emitted::relocate`): from host address `from` to
/// `to`, its guest code by `guest_delta`, the runtime's routines by
/// `runtime_delta`, with `predicted` as its predicted indirect target.
#[derive(Clone, Copy, Debug)]
pub struct Moves {
    pub from: u64,
    pub to: u64,
    pub guest_delta: u64,
    pub runtime_delta: u64,
    pub predicted: Option<u64>,
}

/// [`Emitted::relocate`] of a block's `code` (wherever it is: its own
/// vector, or a start-up image's place in the code cache), its relocations
/// and its exit descriptors.
#[must_use]
pub fn relocate_code(code: &mut [u8], relocs: &[Reloc], descs: &mut [ExitDesc], m: &Moves) -> bool {
    let host_delta = m.to.wrapping_sub(m.from);
    if !host_delta.is_multiple_of(8) {
        return false;
    }
    for r in relocs {
        let at = r.at as usize;
        let Some(field) = code.get_mut(at..at + if is_wide(r.kind) { 8 } else { 4 }) else {
            return false;
        };
        let old = if is_wide(r.kind) {
            u64::from_le_bytes(field.try_into().expect("8 bytes"))
        } else {
            i64::from(i32::from_le_bytes(field.try_into().expect("4 bytes"))) as u64
        };
        let new = match r.kind {
            RelocKind::HostRel32 => old.wrapping_add(m.runtime_delta).wrapping_sub(host_delta),
            RelocKind::GuestRel32 => old.wrapping_add(m.guest_delta).wrapping_sub(host_delta),
            RelocKind::GuestAbs32 | RelocKind::GuestAbs64 => old.wrapping_add(m.guest_delta),
            RelocKind::PredictedNeg64 => match m.predicted {
                Some(p) => p.wrapping_neg(),
                None => return false,
            },
        };
        if is_wide(r.kind) {
            field.copy_from_slice(&new.to_le_bytes());
        } else {
            match i32::try_from(new as i64) {
                Ok(v) => field.copy_from_slice(&v.to_le_bytes()),
                Err(_) => return false,
            }
        }
    }
    for d in descs {
        d.target = if d.kind == ExitKind::Direct && d.arg == DIRECT_VIA_LOOKUP {
            match m.predicted {
                Some(p) => p,
                None => return false,
            }
        } else {
            d.target.wrapping_add(m.guest_delta)
        };
        if d.patch_site != 0 {
            d.patch_site = d.patch_site.wrapping_add(host_delta);
        }
    }
    true
}

fn is_wide(kind: RelocKind) -> bool {
    matches!(kind, RelocKind::GuestAbs64 | RelocKind::PredictedNeg64)
}

/// Errors from the back end (bugs or unencodable guest instructions).
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("cannot re-encode the instruction at guest {pc:#x}: {err}")]
    Encode { pc: u64, err: iced_x86::IcedError },
    #[error("no free scratch register for instruction at {0:#x}")]
    NoScratch(u64),
}

struct Emitter<'a> {
    a: Asm,
    /// Guest address of the block's first instruction.
    start: u64,
    rt: &'a Runtime,
    pcmap: Vec<PcEntry>,
    /// Direct exits: (rel32 field offset, guest target, the state its exit
    /// stub holds: guest pc, displaced registers, `rsp_adj`; the
    /// descriptor's `arg`).
    direct: Vec<(usize, u64, u64, Fixup, u8, u32)>,
    descs: Vec<ExitDesc>,
    desc_fills: Vec<usize>,
    /// What `mark` records as the guest rsp's distance above the host's
    /// (`PcEntry::rsp_adj`).
    rsp_adj: u8,
    /// 64-bit literals placed after the block's instructions: (offset of
    /// the RIP-relative disp32 that loads it, value, whether the value is
    /// a guest address, which moves with its module).
    literals: Vec<(usize, u64, bool)>,
    /// Backward jumps may be profiled (`DIRECT_BACK`): not in a one-off
    /// or a self-checking block.
    backs: bool,
    /// A one-instruction block (`IrBlock::single`): its indirect branches
    /// exit to the CPU loop, never into another block through the lookup
    /// table, so that a single-stepped `ret` is followed by the loop's
    /// trap and the next step, not by cached code that runs on unstepped.
    single: bool,
    /// Count the guest instructions run (`--stats`).
    count: bool,
    /// RIP-relative operands given a scratch register's glue
    /// (`Emitted::far_rip`).
    far_rip: u32,
    /// Guest rcx and rdx, those still in their lookup slots in a block
    /// that keeps them there (`keeps_lookup_slots`; else none): `mark`
    /// adds them to every state.
    displaced: Fixup,
    /// A state that could not add them (a third register displaced): the
    /// block is emitted again the usual way.
    spoiled: bool,
}

/// True for an `xrstor` that could load PKRU into a model without it
/// (`xstate::guard_xrstor`), whose memory operand does not use rax, which
/// the guard changes.
fn loads_pkru(insn: &Instruction) -> bool {
    use iced_x86::Mnemonic::{Xrstor, Xrstor64};
    let uses_rax = |r: Register| r != Register::None && r.full_register() == Register::RAX;
    matches!(insn.mnemonic(), Xrstor | Xrstor64)
        && !uses_rax(insn.memory_base())
        && !uses_rax(insn.memory_index())
        && crate::xstate::guard_xrstor()
}

fn gpr(n: u8) -> Register {
    crate::cpu::GPR_REGISTERS[n as usize]
}

/// The encoding number of 64-bit GPR `r` ([`gpr`]'s inverse).
fn gpr_num(r: Register) -> Option<u8> {
    crate::cpu::GPR_REGISTERS.iter().position(|&g| g == r).map(|n| n as u8)
}

/// The bit of the host GPR holding `r` (any width), 0 for a non-GPR.
fn gpr_bit(r: Register) -> u32 {
    gpr_num(r.full_register()).map_or(0, |n| 1 << n)
}

/// The host GPRs (one bit each, by encoding number) the instruction uses,
/// explicitly or implicitly, and of them those it only writes, whole (a
/// 32- or 64-bit destination it does not also read: its old value is dead).
fn gpr_uses(insn: &Instruction) -> (u32, u32) {
    thread_local! {
        // Reused: a factory allocates its register and memory lists. Taken
        // out while in use, not borrowed from a `RefCell`: a vfork child
        // runs on its parent thread's thread-locals, and one killed while
        // it translates left the borrow flag set, so that the parent's next
        // translation panicked (guest_programs::jit_kill_child).
        static INFO: std::cell::Cell<Option<Box<InstructionInfoFactory>>> =
            const { std::cell::Cell::new(None) };
    }
    let mut f = INFO.take().unwrap_or_else(|| Box::new(InstructionInfoFactory::new()));
    let (used, read, whole) =
        f.info(insn).used_registers().iter().fold((0, 0, 0), |(used, read, whole), u| {
            let b = gpr_bit(u.register());
            let full = u.register().is_gpr32() || u.register().is_gpr64();
            match u.access() {
                iced_x86::OpAccess::Write if full => (used | b, read, whole | b),
                _ => (used | b, read | b, whole),
            }
        });
    INFO.set(Some(f));
    let address = gpr_bit(insn.memory_base()) | gpr_bit(insn.memory_index());
    (used | address, whole & !(read | address))
}

/// A host GPR the instruction does not use at all (explicitly or implicitly).
fn free_scratch(insn: &Instruction) -> Option<u8> {
    let used = gpr_uses(insn).0;
    [RAX, RCX, RDX, 3, 6, 7, 8, 9, 10, 11, 12, 14, 15, 5, 13].into_iter().find(|&r| used & (1 << r) == 0)
}

/// Whether `ir` may run with guest rcx and rdx left in their lookup slots
/// from its lookup entry until each is overwritten or the final indirect
/// branch spills them there anyway, and if so, for each instruction before
/// the branch, which of the two it takes back into their registers: nothing but copied instructions
/// precedes the branch, none reads either register while it is still in
/// its slot (an instruction that writes one whole, not reading it, takes
/// it back into its register), nor does the branch's operand, and no byte
/// check or instruction count needs a register. Such a block is laid out
/// with its entry first, which spills them, and its lookup entry after,
/// so that a lookup hit, the usual way into a small function or a return
/// site reached by `ret`, skips their loads (and the stores of those
/// still in their slots at the branch).
fn keeps_lookup_slots(ir: &IrBlock, count: bool) -> Option<Vec<u32>> {
    let (last, body) = ir.insns.split_last()?;
    if ir.check || count {
        return None;
    }
    let mut in_slots: u32 = 1 << RCX | 1 << RDX;
    let mut taken_back = Vec::with_capacity(body.len());
    for i in body {
        let Op::Native { insn, fix: MemFix::None | MemFix::RipRel } = &i.op else { return None };
        let (used, whole) = gpr_uses(insn);
        if used & !whole & in_slots != 0 {
            return None;
        }
        taken_back.push(whole & in_slots);
        in_slots &= !whole;
    }
    let branch_free = match &last.op {
        Op::Ret { .. } => true,
        // `operand` is `mov rcx, <the branch's operand>`: what it reads.
        Op::JmpInd { operand, .. } | Op::CallInd { operand, .. } => {
            let source = if operand.op1_kind() == iced_x86::OpKind::Register {
                gpr_bit(operand.op1_register())
            } else {
                gpr_bit(operand.memory_base()) | gpr_bit(operand.memory_index())
            };
            source & in_slots == 0
        }
        _ => false,
    };
    branch_free.then_some(taken_back)
}

/// `a` and `b`'s displaced registers together (None if a register would
/// be in two places, or more than two displaced).
fn merge_fixups(a: Fixup, b: Fixup) -> Option<Fixup> {
    let mut out = NO_FIXUP;
    let mut n = 0;
    for (reg, slot) in a.into_iter().chain(b).filter(|e| e.0 != 0xff) {
        match out[..n].iter().find(|e| e.0 == reg) {
            Some(e) if e.1 == slot => {}
            Some(_) => return None,
            None if n == out.len() => return None,
            None => {
                out[n] = (reg, slot);
                n += 1;
            }
        }
    }
    out[..n].sort_unstable();
    Some(out)
}

/// `f` without register `reg`.
fn without(f: Fixup, reg: u8) -> Fixup {
    let mut out = NO_FIXUP;
    for (k, e) in f.into_iter().filter(|e| e.0 != reg && e.0 != 0xff).enumerate() {
        out[k] = e;
    }
    out
}

/// A RIP-relative operand out of rel32 reach of the host code whose
/// target is a sign-extended disp32 (the low 2 GiB, where a non-PIE program's
/// data lives) as an absolute `[disp32]` operand: no scratch register needed.
fn rip_to_absolute(insn: &Instruction) -> Option<Instruction> {
    let target = i32::try_from(insn.ip_rel_memory_address() as i64).ok()?;
    let mut i = *insn;
    i.set_memory_base(Register::None);
    i.set_memory_index(Register::None);
    i.set_memory_displacement64(i64::from(target) as u64);
    // iced-x86 spells "64-bit addressing with a disp32" as 8.
    i.set_memory_displ_size(8);
    Some(i)
}

/// Picks the displacement size for a memory operand that now has a base:
/// none for a zero displacement, else the short form, which iced-x86's
/// encoder widens to a disp32 when the displacement does not fit it. The
/// short form of an EVEX operand is the compressed disp8*N (N from the
/// instruction's tuple type, vector length and broadcast), so a displacement
/// that fits a disp8 but is not a multiple of N (`vmovdqu64 zmm0, fs:[0x28]`,
/// N = 64) becomes a disp32, and one that is (`fs:[rcx*4+0x100]`, 4*64)
/// gets the one-byte form.
fn set_disp_size(i: &mut Instruction) {
    let size = if i.memory_displacement64() == 0 { 0 } else { 1 };
    i.set_memory_displ_size(size);
}

fn fix1(reg: u8, slot: usize) -> Fixup {
    [(reg, slot as u8), (0xff, 0xff)]
}

impl<'a> Emitter<'a> {
    /// An emitter of code at host address `base` for guest code starting
    /// at `start`, with room for `marks` pc-map entries.
    fn new(base: u64, start: u64, rt: &'a Runtime, marks: usize) -> Emitter<'a> {
        Emitter {
            a: Asm::new(base),
            start,
            rt,
            pcmap: Vec::with_capacity(marks),
            direct: Vec::new(),
            descs: Vec::new(),
            desc_fills: Vec::new(),
            rsp_adj: 0,
            literals: Vec::new(),
            backs: false,
            single: false,
            count: false,
            far_rip: 0,
            displaced: NO_FIXUP,
            spoiled: false,
        }
    }

    /// From here on the host code holds the guest state at the start of
    /// `guest_pc` (`STATE_TARGET`: at the target in rdx), with `fixup`
    /// displaced.
    fn mark(&mut self, guest_pc: u64, mut fixup: Fixup) {
        if self.displaced != NO_FIXUP {
            match merge_fixups(self.displaced, fixup) {
                Some(f) => fixup = f,
                None => self.spoiled = true,
            }
        }
        let host_off = u16::try_from(self.a.buf.len()).expect("blocks stay under 64 KiB");
        let guest_off = if guest_pc == STATE_TARGET {
            AT_TARGET
        } else {
            guest_pc
                .checked_sub(self.start)
                .and_then(|o| u16::try_from(o).ok())
                .filter(|&o| o < AT_TARGET)
                .unwrap_or(MID_BRANCH)
        };
        let e = PcEntry::with_rsp_adj(host_off, guest_off, fixup, self.rsp_adj);
        match self.pcmap.last_mut() {
            Some(last) if last.host_off == host_off => *last = e,
            _ => self.pcmap.push(e),
        }
    }

    fn encode(&mut self, insn: &Instruction, pc: u64) -> Result<(), EmitError> {
        self.a.insn(insn).map_err(|err| EmitError::Encode { pc, err })
    }

    /// Encodes `insn`, whose memory operand is an absolute guest address
    /// (`rip_to_absolute`).
    fn encode_abs(&mut self, insn: &Instruction, pc: u64) -> Result<(), EmitError> {
        self.a.insn_disp(insn, RelocKind::GuestAbs32).map_err(|err| EmitError::Encode { pc, err })
    }

    /// Emits `insn` whose memory operand needs `fix`, borrowing scratch
    /// register `s` (already known free). `pc`/`next` locate the guest insn.
    fn fixed_mem(
        &mut self,
        insn: &Instruction,
        fix: MemFix,
        s: u8,
        pc: u64,
        next: u64,
    ) -> Result<(), EmitError> {
        if crate::lift::implicit_rdi(insn) {
            return self.fixed_rdi(insn, fix, s, pc, next);
        }
        let slot = off::scratch(SLOT_FIX);
        let mut i = *insn;
        self.a.store_gs(slot, s);
        self.mark(pc, fix1(s, SLOT_FIX));
        match fix {
            MemFix::RipRel => {
                self.a.mov_imm64_field(s, insn.ip_rel_memory_address(), RelocKind::GuestAbs64);
                i.set_memory_base(gpr(s));
                i.set_memory_index(Register::None);
                i.set_memory_displacement64(0);
                i.set_memory_displ_size(0);
            }
            MemFix::Fs | MemFix::Gs => {
                let base = if fix == MemFix::Fs { off::FS_BASE } else { off::GS_BASE };
                self.a.load_gs(s, base);
                let b = insn.memory_base();
                if b != Register::None {
                    // lea s, [b + s]: the guest base as base, since it
                    // may be rsp, which cannot be an index.
                    let lea = Instruction::with2(
                        Code::Lea_r64_m,
                        gpr(s),
                        MemoryOperand::with_base_index(b, gpr(s)),
                    )
                    .map_err(|err| EmitError::Encode { pc, err })?;
                    self.encode(&lea, pc)?;
                }
                i.set_segment_prefix(Register::None);
                i.set_memory_base(gpr(s));
                set_disp_size(&mut i);
            }
            MemFix::None => unreachable!(),
        }
        self.encode(&i, pc)?;
        self.mark(next, fix1(s, SLOT_FIX));
        self.a.load_gs(s, slot);
        self.mark(next, NO_FIXUP);
        Ok(())
    }

    /// Emits `insn`, whose implicit `fs:[rdi]`/`gs:[rdi]` operand
    /// (`maskmovq`, `(v)maskmovdqu`) needs `fix`: guest rdi is displaced
    /// while rdi holds the linear address, computed through scratch register
    /// `s` (known free); the guest instruction itself is the only one that
    /// can fault, with guest rdi in its slot.
    fn fixed_rdi(
        &mut self,
        insn: &Instruction,
        fix: MemFix,
        s: u8,
        pc: u64,
        next: u64,
    ) -> Result<(), EmitError> {
        const RDI: u8 = crate::cpu::RDI as u8;
        let rdi = fix1(RDI, SLOT_FIX);
        self.a.store_gs(off::scratch(SLOT_FIX), RDI);
        self.mark(pc, rdi);
        self.a.store_gs(off::scratch(SLOT_BASE), s);
        self.mark(pc, [(RDI, SLOT_FIX as u8), (s, SLOT_BASE as u8)]);
        self.a.load_gs(s, if fix == MemFix::Fs { off::FS_BASE } else { off::GS_BASE });
        let lea = Instruction::with2(
            Code::Lea_r64_m,
            Register::RDI,
            MemoryOperand::with_base_index(Register::RDI, gpr(s)),
        )
        .map_err(|err| EmitError::Encode { pc, err })?;
        self.encode(&lea, pc)?;
        self.a.load_gs(s, off::scratch(SLOT_BASE));
        self.mark(pc, rdi);
        let mut i = *insn;
        i.set_segment_prefix(Register::None);
        self.encode(&i, pc)?;
        self.mark(next, rdi);
        self.a.load_gs(RDI, off::scratch(SLOT_FIX));
        self.mark(next, NO_FIXUP);
        Ok(())
    }

    /// A guest instruction that runs as it is. `raw` is its guest encoding.
    fn native(
        &mut self,
        insn: &Instruction,
        raw: &[u8],
        fix: MemFix,
        pc: u64,
        next: u64,
    ) -> Result<(), EmitError> {
        if loads_pkru(insn) {
            return self.xrstor_without_pkru(insn, raw, fix, pc, next);
        }
        self.copy(insn, raw, fix, pc, next)
    }

    /// [`Self::native`] for any instruction: as it is, or with its memory
    /// operand re-encoded.
    fn copy(
        &mut self,
        insn: &Instruction,
        raw: &[u8],
        fix: MemFix,
        pc: u64,
        next: u64,
    ) -> Result<(), EmitError> {
        if fix == MemFix::None {
            // Position-independent: the guest bytes are the host bytes,
            // except where the model decodes an encoding differently from
            // the host (`rep bsf`/`rep bsr` are BSF/BSR without BMI1, TZCNT/
            // LZCNT on the host), which is re-encoded as the model reads it.
            let reread = matches!(insn.mnemonic(), iced_x86::Mnemonic::Bsf | iced_x86::Mnemonic::Bsr);
            if !reread && raw.len() == insn.len() {
                self.a.bytes(raw);
                return Ok(());
            }
            return self.encode(insn, pc);
        }
        if fix == MemFix::RipRel {
            if self.a.rip_rel(insn) {
                return Ok(());
            }
            if let Some(abs) = rip_to_absolute(insn) {
                return self.encode_abs(&abs, pc);
            }
            if insn.code() == Code::Lea_r64_m {
                // The address is the value: one `mov r64, imm64`, no
                // scratch register, nothing that can fault.
                if let Some(r) = gpr_num(insn.op0_register()) {
                    self.a.mov_imm64_field(r, insn.ip_rel_memory_address(), RelocKind::GuestAbs64);
                    return Ok(());
                }
            }
        }
        if fix == MemFix::RipRel {
            self.far_rip += 1;
        }
        let s = free_scratch(insn).ok_or(EmitError::NoScratch(pc))?;
        self.fixed_mem(insn, fix, s, pc, next)
    }

    /// A guest `xrstor` with PKRU's bit cleared from its mask in EAX
    /// (`xstate::guard_xrstor`): guest rax goes to scratch slot
    /// [`SLOT_XRSTOR`], displaced while `pext` and `pdep` through the mask
    /// squeeze the bit out and put the others back (leaving the flags
    /// alone) and while the instruction itself runs, copied as any other
    /// ([`Self::copy`]: its memory operand never uses rax, `loads_pkru`).
    fn xrstor_without_pkru(
        &mut self,
        insn: &Instruction,
        raw: &[u8],
        fix: MemFix,
        pc: u64,
        next: u64,
    ) -> Result<(), EmitError> {
        let keep = u64::from(!(crate::xstate::PKRU as u32));
        self.a.store_gs(off::scratch(SLOT_XRSTOR), RAX);
        self.mark(pc, fix1(RAX, SLOT_XRSTOR));
        // pext eax, eax, [rip+keep]; pdep eax, eax, [rip+keep]
        for pp in [0x7a, 0x7b] {
            self.a.bytes(&[0xc4, 0xe2, pp, 0xf5, 0x05, 0, 0, 0, 0]);
            let field = self.a.buf.len() - 4;
            self.literals.push((field, keep, false));
        }
        // A third displaced register (rcx and rdx kept in their slots)
        // spoils this layout: `mark` said so above.
        let saved = self.displaced;
        self.displaced = merge_fixups(saved, fix1(RAX, SLOT_XRSTOR)).unwrap_or(saved);
        let copied = self.copy(insn, raw, fix, pc, next);
        self.displaced = saved;
        copied?;
        self.mark(next, fix1(RAX, SLOT_XRSTOR));
        self.a.load_gs(RAX, off::scratch(SLOT_XRSTOR));
        self.mark(next, NO_FIXUP);
        Ok(())
    }

    /// Spills guest rcx and rdx to their lookup slots before the indirect
    /// branch at `pc`.
    fn spill_for_branch(&mut self, pc: u64) {
        self.mark(pc, NO_FIXUP);
        // Those still in their slots (`keeps_lookup_slots`) are there.
        let kept = self.displaced;
        let in_slot = |reg: u8| kept.iter().any(|d| d.0 == reg);
        if !in_slot(RCX) {
            self.a.store_gs(off::scratch(SLOT_TARGET), RCX);
            self.mark(pc, fix1(RCX, SLOT_TARGET));
        }
        if !in_slot(RDX) {
            self.a.store_gs(off::scratch(SLOT_IBL), RDX);
            self.mark(pc, BOTH);
        }
    }

    /// `mov rdx, <operand>` for an indirect branch, guest rcx and rdx
    /// already spilled (both free).
    fn load_target(&mut self, operand: &Instruction, fix: MemFix, pc: u64) -> Result<(), EmitError> {
        let mut op = *operand;
        op.set_op0_register(Register::RDX);
        match fix {
            MemFix::None => self.encode(&op, pc)?,
            MemFix::RipRel => {
                if !self.a.rip_rel(&op) {
                    if let Some(abs) = rip_to_absolute(&op) {
                        return self.encode_abs(&abs, pc);
                    }
                    self.a.mov_imm64_field(RDX, op.ip_rel_memory_address(), RelocKind::GuestAbs64);
                    self.a.bytes(&[0x48, 0x8b, 0x12]); // mov rdx, [rdx]
                }
            }
            MemFix::Fs | MemFix::Gs => {
                // lea rdx, <operand without its segment>; mov rcx, base;
                // mov rdx, [rcx+rdx]: any guest base or index register.
                let base = if fix == MemFix::Fs { off::FS_BASE } else { off::GS_BASE };
                let mut lea = op;
                lea.set_code(Code::Lea_r64_m);
                lea.set_segment_prefix(Register::None);
                self.encode(&lea, pc)?;
                self.a.load_gs(RCX, base);
                self.a.bytes(&[0x48, 0x8b, 0x14, 0x11]); // mov rdx, [rcx+rdx]
            }
        }
        Ok(())
    }

    /// An inline indirect-branch lookup. On entry the branch has happened:
    /// the guest target is in rdx, guest rcx and rdx in their slots (the
    /// state throughout is "at the target in rdx", `AT_TARGET`). A hit
    /// jumps to the target block's lookup entry, which reloads rcx and
    /// rdx; a miss goes to the shared `ibl_miss`. Flags are untouched: the
    /// hit test is `lea` + `jrcxz` (a key is the NOT of its guest pc).
    /// Each site has its own final indirect jump, so the host branch
    /// predictor sees every guest indirect branch separately.
    fn jump_to_ibl(&mut self) {
        self.mark(STATE_TARGET, BOTH);
        if self.single {
            indirect_exit(&mut self.a, self.rt.exit_tramp);
        } else {
            ibl_lookup(&mut self.a, self.rt.ibl_miss);
        }
    }

    /// Pushes guest return address `ret` with one 8-byte store, `push
    /// imm32` or, for an address beyond it (PIE code, shared libraries),
    /// `push qword [rip+literal]`: no scratch register, and the loads of
    /// the return address (the guest's own, the return's lookup) are
    /// forwarded from a single store.
    fn push_ret(&mut self, ret: u64) {
        match i32::try_from(ret) {
            Ok(imm) => {
                self.a.bytes(&[0x68]); // push simm32
                self.a.bytes(&imm.to_le_bytes());
                self.a.reloc(self.a.buf.len() - 4, RelocKind::GuestAbs32);
            }
            Err(_) => {
                self.a.bytes(&[0xff, 0x35, 0, 0, 0, 0]); // push qword [rip+literal]
                let field = self.a.buf.len() - 4;
                self.literals.push((field, ret, true));
            }
        }
    }

    /// The guard of an indirect branch whose target was predicted at
    /// translation (`IrBlock::predicted`): with the target in rdx and
    /// guest rcx and rdx in their slots (`AT_TARGET`), `mov rcx, -predicted;
    /// lea rcx, [rcx+rdx]; jrcxz` (flags untouched) falls through to the
    /// lookup on a mismatch, and on a match takes a direct jump, linked to
    /// the predicted block's lookup entry, which reloads rcx and rdx.
    fn predicted_jump(&mut self, predicted: u64) {
        self.mark(STATE_TARGET, BOTH);
        self.a.mov_imm64_field(RCX, predicted.wrapping_neg(), RelocKind::PredictedNeg64);
        self.a.bytes(&[0x48, 0x8d, 0x0c, 0x11]); // lea rcx, [rcx+rdx]
        self.a.bytes(&[0xe3, 0x02]); // jrcxz hit
        let miss = self.a.short(0xeb); // jmp short miss
                                       // hit: the patchable jmp rel32 (after its alignment NOP, if any).
        let here = self.a.here();
        let f = self.a.jmp(here);
        self.direct.push((f, predicted, STATE_TARGET, BOTH, 0, DIRECT_VIA_LOOKUP));
        self.a.land(miss);
    }

    /// A direct jump to `target` whose exit stub holds guest state
    /// (`state_pc`, `fix`).
    fn jmp_direct(&mut self, target: u64, state_pc: u64, fix: Fixup) {
        let here = self.a.here();
        let f = self.a.jmp(here);
        self.direct.push((f, target, state_pc, fix, self.rsp_adj, 0));
    }

    /// The way out of a direct branch (at guest `pc`, rel32 field `field`)
    /// to `target`: a chained jump, marked `DIRECT_BACK` if it goes
    /// backward, where the trace tier may put a counting stub
    /// ([`emit_count_stub`]).
    fn branch_exit(&mut self, field: usize, target: u64, pc: u64) {
        let arg = if self.backs && target <= pc { DIRECT_BACK } else { 0 };
        self.direct.push((field, target, pc, NO_FIXUP, 0, arg));
    }

    /// The code and tables emitted, with their entries and the length of
    /// their instructions (`Emitted`).
    fn finish(self, ibl_entry: usize, entry: usize, insn_len: usize) -> Emitted {
        Emitted {
            code: self.a.buf,
            relocs: self.a.relocs,
            packed: crate::pcmap::PackedPcMap::pack(&self.pcmap),
            pcmap: self.pcmap,
            descs: self.descs,
            desc_fills: self.desc_fills,
            ibl_entry,
            entry,
            insn_len,
            far_rip: self.far_rip,
        }
    }

    /// The exit stubs of the direct jumps emitted so far, each at the state
    /// its jump recorded.
    fn direct_stubs(&mut self) {
        let base = self.a.base;
        for (field, target, state_pc, fix, rsp_adj, arg) in std::mem::take(&mut self.direct) {
            self.rsp_adj = rsp_adj;
            self.mark(state_pc, fix);
            let stub = self.a.here();
            self.a.set_rel32(field, stub);
            self.exit(ExitKind::Direct, arg, target, base + field as u64);
        }
    }

    /// Adds `n` to `CpuState::guest_insns` before the instruction at guest
    /// `pc`, flags untouched (rcx borrowed, `lea`).
    fn count_insns(&mut self, pc: u64, n: i32) {
        self.mark(pc, NO_FIXUP);
        self.a.store_gs(off::scratch(SLOT_HOT), RCX);
        self.mark(pc, fix1(RCX, SLOT_HOT));
        self.a.load_gs(RCX, off::GUEST_INSNS);
        self.a.bytes(&[0x48, 0x8d, 0x89]); // lea rcx, [rcx+n]
        self.a.bytes(&n.to_le_bytes());
        self.a.store_gs(off::GUEST_INSNS, RCX);
        self.a.load_gs(RCX, off::scratch(SLOT_HOT));
    }

    fn exit(&mut self, kind: ExitKind, arg: u32, target: u64, patch_site: u64) {
        self.descs.push(ExitDesc { kind, arg, target, patch_site });
        let tramp = self.rt.exit_tramp;
        exit_stub(&mut self.a, tramp, &mut self.desc_fills);
    }

    /// The entry check of a self-checking block (`IrBlock::check`): the
    /// guest bytes now in memory compared with those translated, 8 at a
    /// time (one at a time in a block under 8 bytes), without touching the
    /// guest's flags (`lea`, `jrcxz`); a difference jumps to the `Stale`
    /// exit, whose rel32 fields are pushed on `stale`. Guest rcx and rdx
    /// wait in the lookup's slots meanwhile.
    fn check_bytes(&mut self, ir: &IrBlock, stale: &mut Vec<usize>) {
        // Entered by a chained jump too, with the lookup's slots stale: the
        // guest registers are all live here.
        self.mark(ir.start, NO_FIXUP);
        self.a.store_gs(off::scratch(SLOT_TARGET), RCX);
        self.a.store_gs(off::scratch(SLOT_IBL), RDX);
        self.mark(ir.start, BOTH);
        let n = ir.code.len();
        let mut chunks: Vec<(usize, usize)> =
            if n >= 8 { (0..n / 8).map(|i| (i * 8, 8)).collect() } else { (0..n).map(|i| (i, 1)).collect() };
        if n >= 8 && !n.is_multiple_of(8) {
            chunks.push((n - 8, 8));
        }
        for (at, len) in chunks {
            let bytes = &ir.code[at..at + len];
            let value = bytes.iter().rev().fold(0u64, |v, &b| v << 8 | u64::from(b));
            self.a.mov_imm64(RDX, ir.start + at as u64);
            if len == 8 {
                self.a.bytes(&[0x48, 0x8b, 0x12]); // mov rdx, [rdx]
            } else {
                self.a.bytes(&[0x0f, 0xb6, 0x12]); // movzx edx, byte [rdx]
            }
            self.a.mov_imm64(RCX, value.wrapping_neg());
            self.a.bytes(&[0x48, 0x8d, 0x0c, 0x11]); // lea rcx, [rcx+rdx]: zero iff equal
            let same = self.a.short(0xe3); // jrcxz
            let here = self.a.here();
            stale.push(self.a.jmp(here));
            self.a.land(same);
        }
        self.a.load_gs(RCX, off::scratch(SLOT_TARGET));
        self.mark(ir.start, fix1(RDX, SLOT_IBL));
        self.a.load_gs(RDX, off::scratch(SLOT_IBL));
    }
}

/// Emits host code for `ir`, to be installed at host address `base`;
/// `count`: the code adds the guest instructions it runs to
/// `CpuState::guest_insns` (`--stats`).
pub fn emit_block(ir: &IrBlock, base: u64, rt: &Runtime, count: bool) -> Result<Emitted, EmitError> {
    if let Some(taken_back) = keeps_lookup_slots(ir, count) {
        if let Some(em) = emit_laid_out(ir, base, rt, count, Some(&taken_back))? {
            return Ok(em);
        }
    }
    Ok(emit_laid_out(ir, base, rt, count, None)?.expect("the usual layout always fits"))
}

/// `emit_block`, with guest rcx and rdx kept in their lookup slots through
/// the block's code if `keep_slots` says, for each instruction before its
/// branch, which it takes back (`keeps_lookup_slots`); None if some state
/// then needs a third register displaced.
fn emit_laid_out(
    ir: &IrBlock,
    base: u64,
    rt: &Runtime,
    count: bool,
    keep_slots: Option<&[u32]>,
) -> Result<Option<Emitted>, EmitError> {
    // About two pc-map entries per guest instruction (see `mark`).
    let mut e = Emitter::new(base, ir.start, rt, 2 * ir.insns.len() + 8);
    e.backs = !ir.single && !ir.check;
    e.single = ir.single;
    e.count = count;
    let (ibl_entry, entry) = if keep_slots.is_some() {
        // The entry, first: guest rcx and rdx to their slots, falling
        // through to the lookup entry and the code, which run with them
        // there.
        e.mark(ir.start, NO_FIXUP);
        e.a.store_gs(off::scratch(SLOT_TARGET), RCX);
        e.mark(ir.start, fix1(RCX, SLOT_TARGET));
        e.a.store_gs(off::scratch(SLOT_IBL), RDX);
        e.displaced = BOTH;
        (e.a.buf.len(), 0)
    } else {
        // The lookup entry, first: guest rcx and rdx back from their
        // slots, falling through to the block's code. The state is the
        // block's start, with them displaced.
        e.mark(ir.start, BOTH);
        e.a.load_gs(RCX, off::scratch(SLOT_TARGET));
        e.mark(ir.start, fix1(RDX, SLOT_IBL));
        e.a.load_gs(RDX, off::scratch(SLOT_IBL));
        (0, e.a.buf.len())
    };
    let mut stale = Vec::new();
    if ir.check {
        e.check_bytes(ir, &mut stale);
    }
    // With counting: each run of instructions up to a branch that may
    // leave the block is counted where it starts.
    let mut count_from = 0;
    for (k, i) in ir.insns.iter().enumerate() {
        let pc = i.pc;
        let next = pc + u64::from(i.len);
        if e.count && k == count_from {
            let run = ir.insns[k..].iter().position(|i| matches!(i.op, Op::Jcc { .. } | Op::Loop { .. }));
            count_from = run.map_or(ir.insns.len(), |r| k + r + 1);
            e.count_insns(pc, crate::ir::guest_insns(&ir.insns[k..count_from]) as i32);
        }
        e.mark(pc, NO_FIXUP);
        match &i.op {
            Op::Native { insn, fix } => {
                let raw = ir.bytes_of(i);
                if *fix == MemFix::None && ir.insns.get(k + 1).is_some_and(|n| matches!(n.op, Op::Jcc { .. }))
                {
                    // The `jcc` after it aligns its rel32 field: pad here
                    // instead, so that no NOP separates the two and a
                    // `cmp`/`test`/`add`... still macro-fuses with it (a
                    // nop between cost dgemm's inner loop a fifth of its
                    // speed). A guest copy is `raw` long (`native`).
                    e.a.align_field(raw.len() as u64 + 2);
                }
                let at = e.a.buf.len();
                if let Err(err) = e.native(insn, raw, *fix, pc, next) {
                    // An instruction tern cannot re-encode (e.g. a moffs
                    // form with an FS override) is an instruction it cannot
                    // execute: SIGILL, logged once.
                    e.a.buf.truncate(at);
                    e.a.relocs.retain(|r| (r.at as usize) < at);
                    e.pcmap.retain(|m| usize::from(m.host_off) < at);
                    e.literals.retain(|l| l.0 < at);
                    e.mark(pc, NO_FIXUP);
                    crate::lift::log_unsupported(pc, &[], &format!("{err}"));
                    e.exit(ExitKind::Trap, crate::ir::trap_arg(crate::lift::SIGILL, 0), pc, 0);
                    // The CPU loop takes an exit's rcx and rdx from their
                    // registers: the usual layout.
                    e.spoiled |= e.displaced != NO_FIXUP;
                    break;
                }
                if let Some(taken_back) = keep_slots {
                    // A register the instruction wrote whole is back in it.
                    for r in [RCX, RDX] {
                        if taken_back[k] & 1 << r != 0 {
                            e.displaced = without(e.displaced, r);
                        }
                    }
                }
                if crate::lift::sets_trap_flag(insn) {
                    // A `popf` that sets TF makes the host trap after the
                    // next host instruction: this `nop`, at the state
                    // before the guest's next instruction, so the host
                    // handler stops the block there (`CpuState::tf_set`).
                    e.mark(next, NO_FIXUP);
                    e.a.bytes(&[0x90]);
                }
            }
            // A jump has no side effects: its stub restarts it.
            Op::Jmp { target } => {
                let here = e.a.here();
                let f = e.a.jmp(here);
                e.branch_exit(f, *target, pc);
            }
            Op::Fallthrough { next: target } => e.jmp_direct(*target, pc, NO_FIXUP),
            // The abort: `mov eax, 0` (no flags touched, rax's upper half
            // cleared as by the abort), then a jump to the fallback. Until
            // the jump the state is "before the `xbegin`", with the guest's
            // rax in its slot, as for `loop`.
            Op::Xbegin { fallback } => {
                let kept = fix1(RAX, SLOT_XBEGIN);
                e.a.store_gs(off::scratch(SLOT_XBEGIN), RAX);
                e.mark(pc, kept);
                e.a.bytes(&[0xb8, 0, 0, 0, 0]);
                e.mark(pc, kept);
                e.jmp_direct(*fallback, pc, kept);
            }
            Op::Jcc { cc, taken, next } => {
                let here = e.a.here();
                let f = e.a.jcc(*cc, here);
                e.branch_exit(f, *taken, pc);
                if ir.insns.last().is_some_and(|l| l.pc == pc) {
                    e.mark(pc, NO_FIXUP);
                    e.jmp_direct(*next, pc, NO_FIXUP);
                }
            }
            Op::Loop { insn, taken, next } => {
                // [mov gs:[loop slot], rcx] loopX L_taken; jmp short L_next;
                // L_taken: jmp taken; L_next: jmp next. After a `loop`
                // decremented rcx, the state is "before the loop" with the
                // old rcx in its slot; `jrcxz` changes nothing.
                let decrements = insn.mnemonic() != iced_x86::Mnemonic::Jrcxz
                    && insn.mnemonic() != iced_x86::Mnemonic::Jecxz;
                if decrements {
                    e.a.store_gs(off::scratch(SLOT_LOOP), RCX);
                }
                let after = if decrements { fix1(RCX, SLOT_LOOP) } else { NO_FIXUP };
                let mut probe = Asm::new(e.a.here());
                let mut l = *insn;
                l.set_near_branch64(e.a.here() + 2);
                probe.insn(&l).map_err(|err| EmitError::Encode { pc, err })?;
                let len = probe.buf.len() as u64;
                l.set_near_branch64(e.a.here() + len + 2);
                e.encode(&l, pc)?;
                e.mark(pc, after);
                let to_next = e.a.short(0xeb);
                e.jmp_direct(*taken, pc, after);
                e.a.land(to_next);
                e.jmp_direct(*next, pc, after);
            }
            Op::Call { target, ret } => {
                // After the push: "before the call", the guest rsp 8 above
                // the host's (the jump's exit stub resumes at the target).
                e.push_ret(*ret);
                e.rsp_adj = 8;
                e.mark(pc, NO_FIXUP);
                e.jmp_direct(*target, pc, NO_FIXUP);
                e.rsp_adj = 0;
            }
            Op::CallInd { operand, fix, ret } => {
                e.spill_for_branch(pc);
                e.load_target(operand, *fix, pc)?;
                e.push_ret(*ret);
                if let Some(t) = ir.predicted.filter(|_| !ir.single) {
                    e.predicted_jump(t);
                }
                e.jump_to_ibl();
            }
            Op::JmpInd { operand, fix } => {
                e.spill_for_branch(pc);
                e.load_target(operand, *fix, pc)?;
                if let Some(t) = ir.predicted.filter(|_| !ir.single) {
                    e.predicted_jump(t);
                }
                e.jump_to_ibl();
            }
            Op::Ret { pop } => {
                e.spill_for_branch(pc);
                e.a.bytes(&[0x48, 0x8b, 0x14, 0x24]); // mov rdx, [rsp]
                e.a.adjust_rsp(8 + i32::from(*pop));
                e.jump_to_ibl();
            }
            Op::Syscall { next } => e.exit(ExitKind::Syscall, 0, *next, 0),
            Op::Cpuid { next } => e.exit(ExitKind::Cpuid, 0, *next, 0),
            Op::Xgetbv { next, len } => e.exit(ExitKind::Xgetbv, u32::from(*len), *next, 0),
            Op::Emulate => e.exit(ExitKind::Emulate, 0, pc, 0),
            Op::Trap { signo, rip, vector } => {
                e.exit(ExitKind::Trap, crate::ir::trap_arg(*signo, *vector), *rip, 0)
            }
        }
    }
    // Exit stubs for direct branches, after the body; each names its own
    // displaced registers.
    e.displaced = NO_FIXUP;
    e.direct_stubs();
    if !stale.is_empty() {
        // The guest bytes changed: rcx and rdx back, the state at the start.
        e.mark(ir.start, BOTH);
        let stub = e.a.here();
        for field in stale {
            e.a.set_rel32(field, stub);
        }
        e.a.load_gs(RCX, off::scratch(SLOT_TARGET));
        e.mark(ir.start, fix1(RDX, SLOT_IBL));
        e.a.load_gs(RDX, off::scratch(SLOT_IBL));
        e.mark(ir.start, NO_FIXUP);
        e.exit(ExitKind::Stale, 0, ir.start, 0);
    }
    let insn_len = e.a.buf.len();
    if !e.literals.is_empty() {
        e.a.align8();
    }
    for (field, value, guest_address) in std::mem::take(&mut e.literals) {
        let at = e.a.here();
        if guest_address {
            e.a.reloc(e.a.buf.len(), RelocKind::GuestAbs64);
        }
        e.a.bytes(&value.to_le_bytes());
        e.a.set_rel32(field, at);
    }
    if e.spoiled {
        return Ok(None);
    }
    Ok(Some(e.finish(ibl_entry, entry, insn_len)))
}

/// Where a counting stub's plain jump (to the head, past the counting)
/// starts, from the stub's start ([`emit_count_stub`] at an 8-byte
/// aligned address).
pub const COUNT_STUB_BYPASS: u64 = 47;

/// The counting stub of the profiled branch whose rel32 field is at host
/// address `site` (a `DIRECT_BACK` exit) to `head`, emitted for host
/// address `base` (8-byte aligned), apart from the block: it bumps this
/// thread's counter for `head` (`hot_slot`) without touching the flags
/// (rcx borrowed, `lea` + `jrcxz`), then takes a plain jump to `head`
/// (chained as a `Direct` exit, at [`COUNT_STUB_BYPASS`]); the count that
/// reaches `threshold` exits `Hot` instead, naming `site` (patched later
/// to a trace, or to the plain jump to count no more). The state
/// throughout is at `head`, the branch taken.
///
/// Out of the block so that a block's code is the same whether traces are
/// on or not: the persistent cache and start-up images serve both, and a
/// process that ends before profiling starts (`Jit::arm_profiling`) pays
/// nothing for it (stubs in every block cost `/bin/true` 8 % and
/// `python3 -c pass` 15 % under `--traces`).
pub fn emit_count_stub(base: u64, rt: &Runtime, head: u64, site: u64, threshold: u32) -> Emitted {
    debug_assert!(base.is_multiple_of(8));
    let counter = u32::try_from(off::HOT + 4 * hot_slot(head) as usize).expect("CpuState within 4 GiB");
    let threshold = threshold.clamp(1, i32::MAX as u32) as i32;
    let mut e = Emitter::new(base, head, rt, 8);
    e.mark(head, NO_FIXUP);
    e.a.store_gs(off::scratch(SLOT_HOT), RCX);
    e.mark(head, fix1(RCX, SLOT_HOT));
    e.a.bytes(&[0x65, 0x8b, 0x0c, 0x25]); // mov ecx, gs:[counter]
    e.a.bytes(&counter.to_le_bytes());
    e.a.bytes(&[0x8d, 0x49, 0x01]); // lea ecx, [rcx+1]
    e.a.bytes(&[0x65, 0x89, 0x0c, 0x25]); // mov gs:[counter], ecx
    e.a.bytes(&counter.to_le_bytes());
    e.a.bytes(&[0x8d, 0x89]); // lea ecx, [rcx-threshold]
    e.a.bytes(&threshold.wrapping_neg().to_le_bytes());
    let fire = e.a.short(0xe3); // jrcxz fire
    e.a.load_gs(RCX, off::scratch(SLOT_HOT));
    e.mark(head, NO_FIXUP);
    let here = e.a.here();
    let plain = e.a.jmp(here);
    assert_eq!(plain as u64 - 1, COUNT_STUB_BYPASS, "the counting stub's layout");
    e.direct.push((plain, head, head, NO_FIXUP, 0, 0));
    e.a.land(fire);
    e.mark(head, fix1(RCX, SLOT_HOT));
    e.a.load_gs(RCX, off::scratch(SLOT_HOT));
    e.mark(head, NO_FIXUP);
    let from_site = i32::try_from(base.wrapping_sub(site) as i64).expect("code cache within rel32 reach");
    e.exit(ExitKind::Hot, from_site as u32, head, site);
    e.direct_stubs();
    let len = e.a.buf.len();
    e.finish(0, 0, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counting stub at any 8-byte aligned address has its plain jump
    /// where `ExitDesc::hot_stub` looks for it, and its `Hot` exit names the
    /// branch's field and the stub.
    #[test]
    fn a_counting_stub_is_found_from_its_branch() {
        let (code, rt) = emit_runtime(0x10_0000, 0x7000_0000, 0x7000_1000);
        assert!(!code.is_empty());
        for (base, site) in [(0x10_8000u64, 0x10_4004u64), (0x11_0008, 0x12_0000), (0x10_4000, 0x10_4000)] {
            let em = emit_count_stub(base, &rt, 0x40_1000, site, 4000);
            assert_eq!(em.descs.len(), 2);
            let (hot, plain) = (em.descs[0], em.descs[1]);
            assert_eq!((hot.kind, hot.target, hot.patch_site), (ExitKind::Hot, 0x40_1000, site));
            assert_eq!(hot.hot_stub(), (base + COUNT_STUB_BYPASS, base));
            assert_eq!(em.code[COUNT_STUB_BYPASS as usize], 0xe9, "the plain jump");
            assert_eq!(plain.kind, ExitKind::Direct);
            assert_eq!(plain.patch_site, base + COUNT_STUB_BYPASS + 1);
        }
    }

    fn whole(bytes: &[u8]) -> u32 {
        let insn = iced_x86::Decoder::with_ip(64, bytes, 0x1000, iced_x86::DecoderOptions::NONE).decode();
        gpr_uses(&insn).1
    }

    /// `keeps_lookup_slots` lets a register leave its slot only through an
    /// instruction whose result does not depend on its old value.
    #[test]
    fn whole_writes_are_writes_that_read_nothing_of_the_register() {
        let rdx = 1 << RDX;
        for (what, bytes) in [
            ("movzx edx, byte [rax+rbx]", &[0x0f, 0xb6, 0x14, 0x18][..]),
            ("xor edx, edx", &[0x31, 0xd2]),
            ("pop rdx", &[0x5a]),
            ("cqo", &[0x48, 0x99]),
            ("rdtsc", &[0x0f, 0x31]),
        ] {
            assert_eq!(whole(bytes) & rdx, rdx, "{what}");
        }
        for (what, bytes) in [
            ("bsf rdx, rax (rdx unchanged if rax is 0)", &[0x48, 0x0f, 0xbc, 0xd0][..]),
            ("cmovne rdx, rax", &[0x48, 0x0f, 0x45, 0xd0]),
            ("mov dl, 5", &[0xb2, 0x05]),
            ("mov dx, ax", &[0x66, 0x89, 0xc2]),
            ("lea rdx, [rdx+8]", &[0x48, 0x8d, 0x52, 0x08]),
            ("xadd [rax], edx", &[0x0f, 0xc1, 0x10]),
            ("mov edx, [rdx]", &[0x8b, 0x12]),
        ] {
            assert_eq!(whole(bytes) & rdx, 0, "{what}");
        }
    }
}
