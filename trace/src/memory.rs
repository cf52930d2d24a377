//! Guest memory: effective addresses, volatile accesses, and the sync rule
//! for precise faults.
//!
//! Guest addresses are host addresses. Every guest access is a volatile,
//! byte-aligned load or store: kept in program order (x86 ordering between
//! threads: no load hoisted out of a spin loop) and with the sync stores.
//! Before an access that follows a guest store done since the last sync,
//! the registers changed since then, the flags (if changed) and the pc of
//! the accessing instruction are stored to `*cpu`: a fault there leaves
//! `*cpu` at an instruction boundary the baseline can replay from (loads
//! done since need no sync: replay does them again). The sync may also
//! come before a register-only instruction that sets all six status
//! flags, without them (replay sets them again). A trace that is not
//! `TraceIr::precise` has no syncs: `*cpu` holds the state at its entry
//! until an exit, and its faults are fatal (no guest handler sees them).

use crate::state::{Cx, Res};
use iced_x86::{Instruction, Register};
use inkwell::types::{BasicType, BasicTypeEnum};
use inkwell::values::IntValue;
use inkwell::values::{BasicValue, BasicValueEnum};
use inkwell::AddressSpace;
use inkwell::IntPredicate;
use tern_translate::cpu::off;

impl<'ctx, 'm> Cx<'ctx, 'm> {
    /// The effective address of `insn`'s memory operand, without the
    /// segment base (what `lea` computes), as i64.
    pub(crate) fn ea(&self, insn: &Instruction) -> Res<IntValue<'ctx>> {
        let base = insn.memory_base();
        if base == Register::RIP {
            return Ok(self.c(64, insn.memory_displacement64()));
        }
        let mut v = self.c(64, insn.memory_displacement64());
        let mut addr32 = false;
        if base != Register::None {
            addr32 |= base.is_gpr32();
            let g = crate::state::Gpr::of(base.full_register()).ok_or(crate::Reject::Empty)?;
            let r = self.reg64(g.num)?;
            v = self.b.build_int_add(v, r, "ea")?;
        }
        let index = insn.memory_index();
        if index != Register::None {
            addr32 |= index.is_gpr32();
            let g = crate::state::Gpr::of(index.full_register()).ok_or(crate::Reject::Empty)?;
            let r = self.reg64(g.num)?;
            let scale = u64::from(insn.memory_index_scale().trailing_zeros());
            let s = self.b.build_left_shift(r, self.c(64, scale), "sc")?;
            v = self.b.build_int_add(v, s, "ea")?;
        }
        if addr32 {
            let t = self.b.build_int_truncate(v, self.int(32), "a32")?;
            v = self.b.build_int_z_extend(t, self.int(64), "a32")?;
        }
        Ok(v)
    }

    /// The linear address of `insn`'s memory operand (FS/GS base added).
    pub(crate) fn linear(&self, insn: &Instruction) -> Res<IntValue<'ctx>> {
        let ea = self.ea(insn)?;
        let seg = match insn.memory_segment() {
            Register::FS => off::FS_BASE,
            Register::GS => off::GS_BASE,
            _ => return Ok(ea),
        };
        let base = self.load_cpu(seg, 64)?;
        Ok(self.b.build_int_add(ea, base, "lin")?)
    }

    /// Does a sync if a guest store happened since the last one: the
    /// instruction at `pc` is about to access memory.
    pub(crate) fn before_access(&mut self, pc: u64) -> Res<()> {
        if self.sync.stored && self.precise {
            self.sync_at(pc)?;
        }
        Ok(())
    }

    /// Stores the registers and flags changed since the last sync, and
    /// `rip = pc`, to `*cpu`.
    pub(crate) fn sync_at(&mut self, pc: u64) -> Res<()> {
        self.sync_state(pc, true)
    }

    /// Called before the instruction at `pc`, which writes all six status
    /// flags and cannot fault: if a guest store was done since the last
    /// sync, syncs here, without the flags. Replay from `pc` runs this
    /// instruction first, which sets every flag again, so `*cpu` need not
    /// hold them; and the next access needs no sync (in a loop that
    /// stores, no flags are packed per iteration).
    pub(crate) fn sync_before_flag_writer(&mut self, pc: u64) -> Res<()> {
        if self.sync.stored && self.precise {
            self.sync_state(pc, false)?;
        }
        Ok(())
    }

    /// The sync; `flags`: with rflags if they changed (else they stay
    /// "changed since the last sync").
    fn sync_state(&mut self, pc: u64, flags: bool) -> Res<()> {
        for r in 0..16 {
            if self.sync.dirty & (1 << r) != 0 {
                let v = self.reg64(r)?;
                self.store_cpu(off::reg(r), v)?;
            }
        }
        if flags && self.sync.flags_dirty {
            let fl = self.rflags()?;
            self.store_cpu(off::RFLAGS, fl)?;
            self.sync.flags_dirty = false;
        }
        // Without the SSE bit of XSTATE_BV (set by the entry of a trace
        // that uses XMM registers, `trace_glue`, and at exits) and without
        // MXCSR: a fault leaves the trace with the live MXCSR, which holds
        // every exception flag raised so far (those after this sync are
        // raised again by the replay). `stmxcsr` per loop turn made a
        // store loop 13x slower.
        self.store_xmm(self.sync.xdirty, false)?;
        self.store_cpu(off::RIP, self.pc(pc))?;
        self.sync.xdirty = 0;
        self.sync.dirty = 0;
        self.sync.stored = false;
        Ok(())
    }

    /// The type a `bits`-wide guest access is made with: an integer, a
    /// `<2 x i64>` for 128 bits (one `movdqu`: a volatile `i128` access is
    /// split into two 64-bit ones, packed into an XMM register again; an
    /// SSE2 loop ran 3x slower than the baseline).
    fn guest_type(&self, bits: u32) -> BasicTypeEnum<'ctx> {
        match bits {
            128 => self.ctx.i64_type().vec_type(2).into(),
            _ => self.int(bits).into(),
        }
    }

    fn guest_ptr(&self, addr: IntValue<'ctx>, bits: u32) -> Res<inkwell::values::PointerValue<'ctx>> {
        let pt = self.guest_type(bits).ptr_type(AddressSpace::default());
        Ok(self.b.build_int_to_ptr(addr, pt, "g")?)
    }

    /// A `bits`-wide guest load at `addr` by the instruction at `pc`.
    pub(crate) fn load(&mut self, pc: u64, addr: IntValue<'ctx>, bits: u32) -> Res<IntValue<'ctx>> {
        self.before_access(pc)?;
        let v = self.b.build_load(self.guest_ptr(addr, bits)?, "ld")?;
        if let Some(i) = v.as_instruction_value() {
            i.set_volatile(true).map_err(|e| crate::Reject::Llvm(e.to_string()))?;
            i.set_alignment(1).map_err(|e| crate::Reject::Llvm(e.to_string()))?;
        }
        Ok(self.b.build_bit_cast(v, self.int(bits), "ld")?.into_int_value())
    }

    /// A guest store of `v` at `addr` by the instruction at `pc`.
    pub(crate) fn store(&mut self, pc: u64, addr: IntValue<'ctx>, v: IntValue<'ctx>) -> Res<()> {
        self.before_access(pc)?;
        let bits = v.get_type().get_bit_width();
        let st = match float_bits_of(v) {
            // The bits of a floating-point value (an XMM register's scalar,
            // `movsd [m], xmm`) are stored as that value: as an integer,
            // the bit cast also served the exits that write the register
            // back, and stayed in a general-purpose register, a `movq` per
            // loop turn (fp_matmul's inner loop: 12 instructions for the
            // guest's 8).
            Some(f) => {
                let pt = f.get_type().ptr_type(AddressSpace::default());
                self.b.build_store(self.b.build_int_to_ptr(addr, pt, "g")?, f)?
            }
            None => {
                let v = self.b.build_bit_cast(v, self.guest_type(bits), "st")?;
                self.b.build_store(self.guest_ptr(addr, bits)?, v)?
            }
        };
        st.set_volatile(true).map_err(|e| crate::Reject::Llvm(e.to_string()))?;
        st.set_alignment(1).map_err(|e| crate::Reject::Llvm(e.to_string()))?;
        self.sync.stored = true;
        Ok(())
    }

    /// `push v` (64-bit) by the instruction at `pc`.
    pub(crate) fn push(&mut self, pc: u64, v: IntValue<'ctx>) -> Res<()> {
        let rsp = self.reg64(4)?;
        let a = self.b.build_int_sub(rsp, self.c(64, 8), "sp")?;
        self.store(pc, a, v)?;
        self.set_reg64(4, a)
    }

    /// `pop` (64-bit) by the instruction at `pc`, `extra` more bytes
    /// released (`ret imm16`).
    pub(crate) fn pop(&mut self, pc: u64, extra: u64) -> Res<IntValue<'ctx>> {
        let rsp = self.reg64(4)?;
        let v = self.load(pc, rsp, 64)?;
        let n = self.b.build_int_add(rsp, self.c(64, 8 + extra), "sp")?;
        self.set_reg64(4, n)?;
        Ok(v)
    }

    /// Branches to `exit` when the thread has a pending exit request (a
    /// volatile load of `cpu.exit_request`), else to `go`.
    pub(crate) fn check_exit_request(
        &self,
        exit: inkwell::basic_block::BasicBlock<'ctx>,
        go: inkwell::basic_block::BasicBlock<'ctx>,
    ) -> Res<()> {
        let v = self.load_cpu(off::EXIT_REQUEST, 32)?;
        let set = self.b.build_int_compare(IntPredicate::NE, v, self.c(32, 0), "xr")?;
        self.b.build_conditional_branch(set, exit, go)?;
        Ok(())
    }
}

/// The floating-point value whose bits `v` is, if `v` is a bit cast of one
/// (of the same width).
fn float_bits_of(v: IntValue<'_>) -> Option<inkwell::values::FloatValue<'_>> {
    let i = v.as_instruction()?;
    if i.get_opcode() != inkwell::values::InstructionOpcode::BitCast {
        return None;
    }
    match i.get_operand(0)? {
        inkwell::values::Operand::Value(BasicValueEnum::FloatValue(f)) => Some(f),
        _ => None,
    }
}
