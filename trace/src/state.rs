//! The lowering context: LLVM handles, the guest registers (one stack slot
//! each, promoted to SSA values by LLVM's mem2reg), the flags (`flags.rs`),
//! the sync bookkeeping (`memory.rs`), and register reads and writes with
//! x86's partial-register rules.

use crate::flags::Flags;
use crate::Reject;
use iced_x86::Register;
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::intrinsics::Intrinsic;
use inkwell::module::Module;
use inkwell::types::{BasicTypeEnum, IntType};
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, IntValue, PointerValue, VectorValue};
use inkwell::AddressSpace;
use tern_translate::cpu::off;

pub(crate) type Res<T> = Result<T, Reject>;

/// Offset of XMM0 in the XSAVE (and FXSAVE) legacy region.
pub(crate) const XMM_AREA: usize = 160;
/// Offset of MXCSR in the XSAVE (and FXSAVE) legacy region.
pub(crate) const MXCSR_AREA: usize = 24;
/// Offset of XSTATE_BV in the XSAVE header.
pub(crate) const XSTATE_BV: usize = 512;
/// The SSE state component's bit in XSTATE_BV.
pub(crate) const SSE_COMPONENT: u64 = 2;

/// What `*cpu` lacks since the last sync (or the trace's entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sync {
    /// Guest registers changed since the last sync (bit = register number).
    pub dirty: u16,
    /// The flags changed since the last sync.
    pub flags_dirty: bool,
    /// A guest store was done since the last sync.
    pub stored: bool,
    /// XMM registers changed since the last sync.
    pub xdirty: u16,
}

impl Sync {
    /// Everything may be missing (the `written`/`trace_stores` masks of
    /// the trace narrow it where used).
    pub(crate) const WORST: Sync =
        Sync { dirty: u16::MAX, flags_dirty: true, stored: true, xdirty: u16::MAX };

    /// What `*cpu` lacks after one path or the other.
    pub(crate) fn join(&self, o: &Sync) -> Sync {
        Sync {
            dirty: self.dirty | o.dirty,
            flags_dirty: self.flags_dirty || o.flags_dirty,
            stored: self.stored || o.stored,
            xdirty: self.xdirty | o.xdirty,
        }
    }
}

/// One guest register operand: which of the 16, and which bits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gpr {
    pub num: usize,
    pub bits: u32,
    /// AH, CH, DH, BH: bits 8..16.
    pub high8: bool,
}

impl Gpr {
    /// The guest register `r`, if it is a general-purpose register.
    pub(crate) fn of(r: Register) -> Option<Gpr> {
        if !r.is_gpr() {
            return None;
        }
        let high8 = matches!(r, Register::AH | Register::CH | Register::DH | Register::BH);
        let num = if high8 { r.number() - 4 } else { r.full_register().number() };
        Some(Gpr { num, bits: r.size() as u32 * 8, high8 })
    }
}

pub(crate) struct Cx<'ctx, 'm> {
    pub ctx: &'ctx Context,
    pub module: &'m Module<'ctx>,
    pub b: Builder<'ctx>,
    pub f: FunctionValue<'ctx>,
    /// The `cpu` argument, as `i8*`.
    pub cpu: PointerValue<'ctx>,
    pub regs: [PointerValue<'ctx>; 16],
    /// The guest's XMM registers, read from and written back to the
    /// XSAVE area in `CpuState`: one used as a scalar double as two
    /// slots, low (a `double`) and high half (a scalar operation's value
    /// stays a scalar across a loop, not a vector merged again at every
    /// turn); any other whole (`xmm_whole`).
    pub xmm: [[PointerValue<'ctx>; 2]; 16],
    /// XMM registers kept whole, as one `<2 x i64>` in `xmm[n][0]` (the
    /// ones the trace never uses as a scalar double): vector operations
    /// and opaque instructions take them as they are, where halves would
    /// be split out and packed again around each.
    pub xmm_whole: u16,
    /// XMM registers any instruction of the trace may write.
    pub xmm_written: u16,
    /// The trace has SSE floating point: the slot holding the host's
    /// MXCSR while the guest's is loaded.
    pub host_mxcsr: Option<PointerValue<'ctx>>,
    pub flags: Flags<'ctx>,
    /// The rflags bits the trace never changes (all but the six status
    /// flags), as loaded at entry.
    pub rflags_rest: IntValue<'ctx>,
    pub sync: Sync,
    /// Registers any instruction of the trace may write.
    pub written: u16,
    /// The trace stores to guest memory somewhere.
    pub trace_stores: bool,
    /// Test only: the next `add`/`sub` result is off by one.
    pub miscompile: bool,
    /// `TraceIr::precise`: syncs before accesses that follow a store.
    pub precise: bool,
    /// The trace's counters, if it has any.
    pub counts: Option<Counting<'ctx>>,
    /// Guest instructions counted as run from the one being lowered on
    /// (taken back by an exit before it, [`Cx::exit_before`]).
    pub counted_from_here: u64,
}

/// A trace's [`crate::Counters`] (at `addr`) and the function's running
/// counts of loop turns and (if counted) guest instructions, added to them
/// at exits.
#[derive(Clone, Copy)]
pub(crate) struct Counting<'ctx> {
    pub addr: u64,
    pub loops: PointerValue<'ctx>,
    pub insns: Option<PointerValue<'ctx>>,
}

impl<'ctx, 'm> Cx<'ctx, 'm> {
    pub(crate) fn int(&self, bits: u32) -> IntType<'ctx> {
        match bits {
            1 => self.ctx.bool_type(),
            8 => self.ctx.i8_type(),
            16 => self.ctx.i16_type(),
            32 => self.ctx.i32_type(),
            64 => self.ctx.i64_type(),
            _ => self.ctx.i128_type(),
        }
    }

    pub(crate) fn c(&self, bits: u32, v: u64) -> IntValue<'ctx> {
        self.int(bits).const_int(v, false)
    }

    /// The declaration of the LLVM intrinsic `name` overloaded on `types`.
    pub(crate) fn intrinsic(&self, name: &str, types: &[BasicTypeEnum<'ctx>]) -> Res<FunctionValue<'ctx>> {
        Intrinsic::find(name)
            .and_then(|i| i.get_declaration(self.module, types))
            .ok_or_else(|| Reject::Llvm(format!("no {name}")))
    }

    /// A call of the integer intrinsic `name` overloaded on `ty`
    /// (`llvm.ctpop`, `llvm.fshl`, `llvm.fshr`).
    pub(crate) fn int_intrinsic(
        &self,
        name: &str,
        ty: IntType<'ctx>,
        args: &[BasicMetadataValueEnum<'ctx>],
        label: &str,
    ) -> Res<IntValue<'ctx>> {
        let call = self.b.build_call(self.intrinsic(name, &[ty.into()])?, args, label)?;
        let v = call
            .try_as_basic_value()
            .basic()
            .ok_or_else(|| Reject::Llvm(format!("{name} returns nothing")))?;
        Ok(v.into_int_value())
    }

    /// A pointer to the `cpu` field at `offset`, typed as `bits` wide.
    pub(crate) fn cpu_field(&self, offset: usize, bits: u32) -> Res<PointerValue<'ctx>> {
        // SAFETY: a constant in-bounds offset into the CpuState the
        // function receives.
        let p = unsafe { self.b.build_gep(self.cpu, &[self.c(64, offset as u64)], "f") }?;
        Ok(self.b.build_pointer_cast(p, self.int(bits).ptr_type(AddressSpace::default()), "fp")?)
    }

    /// Loads the `bits`-wide `cpu` field at `offset` (volatile: ordered with
    /// the guest's memory accesses).
    pub(crate) fn load_cpu(&self, offset: usize, bits: u32) -> Res<IntValue<'ctx>> {
        let p = self.cpu_field(offset, bits)?;
        let v = self.b.build_load(p, "cpu")?.into_int_value();
        if let Some(i) = v.as_instruction() {
            i.set_volatile(true).map_err(|e| Reject::Llvm(e.to_string()))?;
        }
        Ok(v)
    }

    /// Stores `v` to the `cpu` field at `offset` (volatile).
    pub(crate) fn store_cpu(&self, offset: usize, v: IntValue<'ctx>) -> Res<()> {
        let p = self.cpu_field(offset, v.get_type().get_bit_width())?;
        let st = self.b.build_store(p, v)?;
        st.set_volatile(true).map_err(|e| Reject::Llvm(e.to_string()))?;
        Ok(())
    }

    /// Adds `n` to the running count in `slot` (a [`Counting`] field).
    pub(crate) fn bump(&self, slot: PointerValue<'ctx>, n: u64) -> Res<()> {
        let v = self.b.build_load(slot, "n")?.into_int_value();
        let v = self.b.build_int_add(v, self.c(64, n), "n")?;
        self.b.build_store(slot, v)?;
        Ok(())
    }

    /// The whole 64-bit guest register `num`.
    pub(crate) fn reg64(&self, num: usize) -> Res<IntValue<'ctx>> {
        Ok(self.b.build_load(self.regs[num], "r")?.into_int_value())
    }

    /// Sets the whole 64-bit guest register `num`.
    pub(crate) fn set_reg64(&mut self, num: usize, v: IntValue<'ctx>) -> Res<()> {
        self.b.build_store(self.regs[num], v)?;
        self.sync.dirty |= 1 << num;
        Ok(())
    }

    /// Reads `g` (its `bits` wide part).
    pub(crate) fn read_gpr(&self, g: Gpr) -> Res<IntValue<'ctx>> {
        let full = self.reg64(g.num)?;
        let v = if g.high8 { self.b.build_right_shift(full, self.c(64, 8), false, "h")? } else { full };
        if g.bits == 64 {
            return Ok(v);
        }
        Ok(self.b.build_int_truncate(v, self.int(g.bits), "p")?)
    }

    /// Writes `v` (`g.bits` wide) to `g`: 32-bit writes zero-extend, 8- and
    /// 16-bit writes merge into the old value.
    pub(crate) fn write_gpr(&mut self, g: Gpr, v: IntValue<'ctx>) -> Res<()> {
        let i64t = self.int(64);
        let new = match (g.bits, g.high8) {
            (64, _) => v,
            (32, _) => self.b.build_int_z_extend(v, i64t, "z")?,
            (bits, high8) => {
                let old = self.reg64(g.num)?;
                let shift = if high8 { 8 } else { 0 };
                let mask = ((1u64 << bits) - 1) << shift;
                let kept = self.b.build_and(old, self.c(64, !mask), "k")?;
                let z = self.b.build_int_z_extend(v, i64t, "z")?;
                let z = self.b.build_left_shift(z, self.c(64, shift), "s")?;
                self.b.build_or(kept, z, "m")?
            }
        };
        self.set_reg64(g.num, new)
    }

    /// The XSAVE-area slot of XMM register `n`, as `<2 x i64>*`.
    pub(crate) fn xmm_slot(&self, n: usize) -> Res<PointerValue<'ctx>> {
        let off = off::XSAVE + XMM_AREA + 16 * n;
        // SAFETY: a constant in-bounds offset into the CpuState.
        let p = unsafe { self.b.build_gep(self.cpu, &[self.c(64, off as u64)], "x") }?;
        let t = self.ctx.i64_type().vec_type(2).ptr_type(AddressSpace::default());
        Ok(self.b.build_pointer_cast(p, t, "xp")?)
    }

    /// XMM register `n` as `<2 x i64>`.
    pub(crate) fn xmm_get(&self, n: usize) -> Res<VectorValue<'ctx>> {
        if self.xmm_whole & (1 << n) != 0 {
            return Ok(self.b.build_load(self.xmm[n][0], "xv")?.into_vector_value());
        }
        let v = self.ctx.i64_type().vec_type(2).get_undef();
        let v = self.b.build_insert_element(v, self.xmm_lo(n)?, self.c(32, 0), "xv")?;
        let hi = self.b.build_load(self.xmm[n][1], "xh")?.into_int_value();
        Ok(self.b.build_insert_element(v, hi, self.c(32, 1), "xv")?)
    }

    /// Sets XMM register `n` to `v` (`<2 x i64>`), without marking it
    /// changed (the trace's entry).
    pub(crate) fn xmm_put(&self, n: usize, v: VectorValue<'ctx>) -> Res<()> {
        if self.xmm_whole & (1 << n) != 0 {
            self.b.build_store(self.xmm[n][0], v)?;
            return Ok(());
        }
        let lo = self.b.build_extract_element(v, self.c(32, 0), "xl")?.into_int_value();
        self.put_lo(n, lo)?;
        let hi = self.b.build_extract_element(v, self.c(32, 1), "xh")?;
        self.b.build_store(self.xmm[n][1], hi)?;
        Ok(())
    }

    /// Sets XMM register `n` to `v` (`<2 x i64>`).
    pub(crate) fn xmm_set(&mut self, n: usize, v: VectorValue<'ctx>) -> Res<()> {
        self.xmm_put(n, v)?;
        self.sync.xdirty |= 1 << n;
        Ok(())
    }

    /// The low 64 bits of XMM register `n`.
    /// (Its slot is a double's where the trace uses it as one: the
    /// casts between the two fold away.)
    pub(crate) fn xmm_lo(&self, n: usize) -> Res<IntValue<'ctx>> {
        if self.xmm_whole & (1 << n) != 0 {
            let v = self.xmm_get(n)?;
            return Ok(self.b.build_extract_element(v, self.c(32, 0), "xlo")?.into_int_value());
        }
        let v = self.b.build_load(self.xmm[n][0], "xlo")?;
        Ok(self.b.build_bit_cast(v, self.int(64), "xlo")?.into_int_value())
    }

    /// Sets the low 64 bits of XMM register `n`, the high ones kept.
    pub(crate) fn xmm_set_lo(&mut self, n: usize, v: IntValue<'ctx>) -> Res<()> {
        self.put_lo(n, v)?;
        self.sync.xdirty |= 1 << n;
        Ok(())
    }

    fn put_lo(&self, n: usize, v: IntValue<'ctx>) -> Res<()> {
        if self.xmm_whole & (1 << n) != 0 {
            let x = self.xmm_get(n)?;
            return self.xmm_put(n, self.b.build_insert_element(x, v, self.c(32, 0), "xv")?);
        }
        let slot = self.xmm[n][0];
        let ty = slot.get_type().get_element_type();
        let v = match ty.is_float_type() {
            true => self.b.build_bit_cast(v, self.ctx.f64_type(), "xlo")?,
            false => v.into(),
        };
        self.b.build_store(slot, v)?;
        Ok(())
    }

    /// Stores the XMM registers in `which` to the XSAVE area; `mark`: and
    /// marks the SSE component in use, so that the restore loads them.
    pub(crate) fn store_xmm(&mut self, which: u16, mark: bool) -> Res<()> {
        if which == 0 {
            return Ok(());
        }
        for n in 0..16 {
            if which & (1 << n) != 0 {
                let v = self.xmm_get(n)?;
                let st = self.b.build_store(self.xmm_slot(n)?, v)?;
                st.set_volatile(true).map_err(|e| Reject::Llvm(e.to_string()))?;
                st.set_alignment(1).map_err(|e| Reject::Llvm(e.to_string()))?;
            }
        }
        if !mark {
            return Ok(());
        }
        let bv = self.load_cpu(off::XSAVE + XSTATE_BV, 64)?;
        let bv = self.b.build_or(bv, self.c(64, SSE_COMPONENT), "bv")?;
        self.store_cpu(off::XSAVE + XSTATE_BV, bv)
    }

    /// `stmxcsr`/`ldmxcsr` (`text`) on the `i32` at `p` (constraint `cons`).
    pub(crate) fn mxcsr_asm(&self, text: &str, cons: &str, p: PointerValue<'ctx>) -> Res<()> {
        let fty = self.ctx.void_type().fn_type(&[p.get_type().into()], false);
        self.asm_call(fty, text, &format!("{cons},~{{memory}}"), &[p.into()])?;
        Ok(())
    }

    /// A call of the AT&T inline-asm statement `text` (constraints
    /// `cons`, type `fty`) with side effects: never dropped nor moved
    /// across another.
    pub(crate) fn asm_call(
        &self,
        fty: inkwell::types::FunctionType<'ctx>,
        text: &str,
        cons: &str,
        args: &[inkwell::values::BasicMetadataValueEnum<'ctx>],
    ) -> Res<inkwell::values::CallSiteValue<'ctx>> {
        let asm = self.ctx.create_inline_asm(
            fty,
            text.to_string(),
            cons.to_string(),
            true,
            false,
            Some(inkwell::InlineAsmDialect::ATT),
            false,
        );
        let callee =
            inkwell::values::CallableValue::try_from(asm).map_err(|_| Reject::Llvm("inline asm".into()))?;
        Ok(self.b.build_call(callee, args, "asm")?)
    }

    /// Stores the host's MXCSR (the guest's while the trace runs) to the
    /// XSAVE area.
    pub(crate) fn save_mxcsr(&self) -> Res<()> {
        let p = self.cpu_field(off::XSAVE + MXCSR_AREA, 32)?;
        self.mxcsr_asm("stmxcsr ($0)", "r", p)
    }

    /// The guest pc `pc` as an i64 constant.
    pub(crate) fn pc(&self, pc: u64) -> IntValue<'ctx> {
        self.c(64, pc)
    }

    /// A branch leaves the trace for `pc`: recorded in the counters'
    /// `exits` (where a grown trace of this head will go on), then
    /// [`Cx::exit`].
    pub(crate) fn side_exit(&mut self, pc: IntValue<'ctx>) -> Res<()> {
        if let Some(k) = self.counts {
            let i64t = self.ctx.i64_type();
            let slot = self.b.build_right_shift(pc, self.c(64, 5), false, "slot")?;
            let slot = self.b.build_xor(slot, pc, "slot")?;
            let slot =
                self.b.build_and(slot, self.c(64, tern_translate::traces::EXIT_SLOTS as u64 - 1), "slot")?;
            let at = self.b.build_left_shift(slot, self.c(64, 3), "slot")?;
            let base = std::mem::offset_of!(crate::Counters, exits) as u64;
            let at = self.b.build_int_add(at, self.c(64, k.addr + base), "slot")?;
            let p = self.b.build_int_to_ptr(at, i64t.ptr_type(AddressSpace::default()), "slot")?;
            self.b.build_store(p, pc)?;
        }
        self.exit(pc)
    }

    /// Leaves the trace before the instruction at `pc` (the one being
    /// lowered) when `cond` holds: the baseline runs it.
    pub(crate) fn exit_if(&mut self, cond: IntValue<'ctx>, pc: u64) -> Res<()> {
        let leave = self.ctx.append_basic_block(self.f, "leave");
        let stay = self.ctx.append_basic_block(self.f, "stay");
        self.b.build_conditional_branch(cond, leave, stay)?;
        self.b.position_at_end(leave);
        self.exit_before(pc)?;
        self.b.position_at_end(stay);
        Ok(())
    }

    /// Leaves the trace before the instruction at `pc` (the one being
    /// lowered), which the baseline runs: what was counted as run from it
    /// on is taken back first.
    pub(crate) fn exit_before(&mut self, pc: u64) -> Res<()> {
        if let Some(insns) = self.counts.and_then(|c| c.insns) {
            self.bump(insns, self.counted_from_here.wrapping_neg())?;
        }
        self.exit(self.pc(pc))
    }

    /// Writes the guest state back to `*cpu` and returns `pc`: the exit.
    pub(crate) fn exit(&mut self, pc: IntValue<'ctx>) -> Res<()> {
        if let Some(k) = self.counts {
            let loops = self.b.build_load(k.loops, "loops")?.into_int_value();
            let mut fields = vec![(0, self.c(64, 1)), (8, loops)];
            if let Some(insns) = k.insns {
                fields.push((16, self.b.build_load(insns, "insns")?.into_int_value()));
            }
            for (at, v) in fields {
                let p = self.b.build_int_to_ptr(
                    self.c(64, k.addr + at),
                    self.ctx.i64_type().ptr_type(AddressSpace::default()),
                    "count",
                )?;
                let old = self.b.build_load(p, "count")?.into_int_value();
                let sum = self.b.build_int_add(old, v, "count")?;
                self.b.build_store(p, sum)?;
            }
        }
        for r in 0..16 {
            if self.written & (1 << r) != 0 {
                let v = self.reg64(r)?;
                self.store_cpu(off::reg(r), v)?;
            }
        }
        self.store_xmm(self.xmm_written, true)?;
        if let Some(host) = self.host_mxcsr {
            self.save_mxcsr()?;
            self.mxcsr_asm("ldmxcsr ($0)", "r", host)?;
        }
        let fl = self.rflags()?;
        self.store_cpu(off::RFLAGS, fl)?;
        self.store_cpu(off::RIP, pc)?;
        self.b.build_return(Some(&pc))?;
        Ok(())
    }

    /// The guest's whole rflags value now.
    pub(crate) fn rflags(&mut self) -> Res<IntValue<'ctx>> {
        let st = self.status()?;
        Ok(self.b.build_or(self.rflags_rest, st, "rflags")?)
    }
}
