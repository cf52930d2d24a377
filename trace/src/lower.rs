//! The meaning of the common integer instructions (`ir::Op::Native`) as
//! LLVM IR: data movement, arithmetic and logic, shifts and rotates,
//! multiplication, stack pushes and pops, conditional moves and sets.
//!
//! [`supported`] says which instructions have real semantics here; the
//! trace leaves (side exit to its pc) before any other. Operands follow
//! x86's rules: immediates sign-extended to the operand size, 32-bit
//! register writes zero-extend, 8- and 16-bit writes merge.

use crate::flags::{Flag, Kind, Rec};
use crate::state::{Cx, Gpr, Res};
use iced_x86::{Instruction, Mnemonic as M, OpKind, Register};
use inkwell::values::IntValue;
use inkwell::IntPredicate as P;

/// Where an operand lives.
#[derive(Clone, Copy)]
enum Loc<'ctx> {
    Reg(Gpr),
    /// Linear guest address.
    Mem(IntValue<'ctx>),
    Imm(u64),
}

fn is_imm(k: OpKind) -> bool {
    matches!(
        k,
        OpKind::Immediate8
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate64
            | OpKind::Immediate8to16
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64
            | OpKind::Immediate32to64
    )
}

/// True if the memory operand of `insn` (if any) is one this crate
/// addresses: GPR base/index (or RIP), no vector index.
pub(crate) fn mem_ok(insn: &Instruction) -> bool {
    let base = insn.memory_base();
    let index = insn.memory_index();
    (base == Register::None || base == Register::RIP || base.is_gpr64() || base.is_gpr32())
        && (index == Register::None || index.is_gpr64() || index.is_gpr32())
}

/// True if [`lower_native`] gives `insn` real semantics.
pub(crate) fn supported(insn: &Instruction) -> bool {
    if insn.has_lock_prefix() || insn.has_rep_prefix() || insn.has_repne_prefix() {
        return false;
    }
    for i in 0..insn.op_count() {
        let ok = match insn.op_kind(i) {
            OpKind::Register => insn.op_register(i).is_gpr(),
            OpKind::Memory => mem_ok(insn),
            k => is_imm(k),
        };
        if !ok {
            return false;
        }
    }
    let kind = |i| insn.op_kind(i);
    match insn.mnemonic() {
        M::Nop | M::Endbr64 | M::Endbr32 => true,
        M::Mov | M::Movzx | M::Movsx | M::Movsxd => insn.op_count() == 2,
        M::Lea => kind(1) == OpKind::Memory,
        M::Add | M::Adc | M::Sub | M::Sbb | M::And | M::Or | M::Xor | M::Cmp | M::Test => {
            insn.op_count() == 2
        }
        M::Inc | M::Dec | M::Neg | M::Not => insn.op_count() == 1,
        M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror => {
            insn.op_count() == 2
                && (kind(1) == OpKind::Immediate8
                    || (kind(1) == OpKind::Register && insn.op1_register() == Register::CL))
        }
        M::Imul => insn.op_count() >= 2,
        M::Push => insn.op_count() == 1 && insn.stack_pointer_increment() == -8,
        M::Pop => insn.op_count() == 1 && kind(0) == OpKind::Register && insn.stack_pointer_increment() == 8,
        M::Xchg => kind(0) == OpKind::Register && kind(1) == OpKind::Register,
        M::Cbw | M::Cwde | M::Cdqe | M::Cwd | M::Cdq | M::Cqo => true,
        _ => is_cmovcc(insn) || is_setcc(insn),
    }
}

fn is_cmovcc(insn: &Instruction) -> bool {
    matches!(
        insn.mnemonic(),
        M::Cmovo
            | M::Cmovno
            | M::Cmovb
            | M::Cmovae
            | M::Cmove
            | M::Cmovne
            | M::Cmovbe
            | M::Cmova
            | M::Cmovs
            | M::Cmovns
            | M::Cmovp
            | M::Cmovnp
            | M::Cmovl
            | M::Cmovge
            | M::Cmovle
            | M::Cmovg
    )
}

fn is_setcc(insn: &Instruction) -> bool {
    matches!(
        insn.mnemonic(),
        M::Seto
            | M::Setno
            | M::Setb
            | M::Setae
            | M::Sete
            | M::Setne
            | M::Setbe
            | M::Seta
            | M::Sets
            | M::Setns
            | M::Setp
            | M::Setnp
            | M::Setl
            | M::Setge
            | M::Setle
            | M::Setg
    )
}

/// True if `insn` (one [`supported`]) sets all six status flags (some
/// maybe to undefined values) and cannot fault: no memory operand.
fn sets_all_flags(insn: &Instruction) -> bool {
    if (0..insn.op_count()).any(|i| insn.op_kind(i) == OpKind::Memory) {
        return false;
    }
    let mask = if size(insn, 0) == 64 { 63 } else { 31 };
    match insn.mnemonic() {
        M::Add | M::Adc | M::Sub | M::Sbb | M::Cmp | M::Neg | M::And | M::Or | M::Xor | M::Test | M::Imul => {
            true
        }
        M::Shl | M::Sal | M::Shr | M::Sar => {
            insn.op1_kind() == OpKind::Immediate8 && insn.immediate8() as u64 & mask != 0
        }
        _ => false,
    }
}

/// The x86 condition code number (0..15) of a `cmovcc`/`setcc`/`jcc`.
fn cc_num(insn: &Instruction) -> u8 {
    use iced_x86::ConditionCode as C;
    match insn.condition_code() {
        C::o => 0,
        C::no => 1,
        C::b => 2,
        C::ae => 3,
        C::e => 4,
        C::ne => 5,
        C::be => 6,
        C::a => 7,
        C::s => 8,
        C::ns => 9,
        C::p => 10,
        C::np => 11,
        C::l => 12,
        C::ge => 13,
        C::le => 14,
        _ => 15,
    }
}

/// Operand `i`'s size in bits.
fn size(insn: &Instruction, i: u32) -> u32 {
    match insn.op_kind(i) {
        OpKind::Register => insn.op_register(i).size() as u32 * 8,
        OpKind::Memory => insn.memory_size().size() as u32 * 8,
        _ => 64,
    }
}

impl<'ctx, 'm> Cx<'ctx, 'm> {
    fn loc(&self, insn: &Instruction, i: u32) -> Res<Loc<'ctx>> {
        Ok(match insn.op_kind(i) {
            OpKind::Register => Loc::Reg(Gpr::of(insn.op_register(i)).ok_or(crate::Reject::Empty)?),
            OpKind::Memory => Loc::Mem(self.linear(insn)?),
            _ => Loc::Imm(insn.immediate(i)),
        })
    }

    fn read(&mut self, pc: u64, l: Loc<'ctx>, bits: u32) -> Res<IntValue<'ctx>> {
        match l {
            Loc::Reg(g) => self.read_gpr(g),
            Loc::Mem(a) => self.load(pc, a, bits),
            Loc::Imm(v) => Ok(self.c(bits, v)),
        }
    }

    fn write(&mut self, pc: u64, l: Loc<'ctx>, v: IntValue<'ctx>) -> Res<()> {
        match l {
            Loc::Reg(g) => self.write_gpr(g, v),
            Loc::Mem(a) => self.store(pc, a, v),
            Loc::Imm(_) => Err(crate::Reject::Llvm("write to an immediate".into())),
        }
    }

    fn ext(&self, v: IntValue<'ctx>, bits: u32, signed: bool) -> Res<IntValue<'ctx>> {
        let t = self.int(bits);
        if v.get_type().get_bit_width() == bits {
            return Ok(v);
        }
        if v.get_type().get_bit_width() > bits {
            return Ok(self.b.build_int_truncate(v, t, "t")?);
        }
        Ok(if signed {
            self.b.build_int_s_extend(v, t, "sx")?
        } else {
            self.b.build_int_z_extend(v, t, "zx")?
        })
    }

    /// Lowers the native instruction `insn` at `pc`. Returns false, having
    /// emitted nothing, when it has no semantics here.
    pub(crate) fn lower_native(&mut self, pc: u64, insn: &Instruction) -> Res<bool> {
        if !supported(insn) {
            return Ok(false);
        }
        if sets_all_flags(insn) {
            self.sync_before_flag_writer(pc)?;
        }
        let mn = insn.mnemonic();
        match mn {
            M::Nop | M::Endbr64 | M::Endbr32 => {}
            M::Mov | M::Movzx | M::Movsx | M::Movsxd => {
                let bits = size(insn, 0);
                let src_bits = if mn == M::Mov { bits } else { size(insn, 1) };
                let src = self.loc(insn, 1)?;
                let v = self.read(pc, src, src_bits)?;
                let v = self.ext(v, bits, mn != M::Movzx)?;
                let dst = self.loc(insn, 0)?;
                self.write(pc, dst, v)?;
            }
            M::Lea => {
                let a = self.ea(insn)?;
                let v = self.ext(a, size(insn, 0), false)?;
                let dst = self.loc(insn, 0)?;
                self.write(pc, dst, v)?;
            }
            M::Add | M::Adc | M::Sub | M::Sbb | M::Cmp => self.arith(pc, insn)?,
            M::And | M::Or | M::Xor | M::Test => self.logic(pc, insn)?,
            M::Inc | M::Dec | M::Neg | M::Not => self.unary(pc, insn)?,
            M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror => self.shift(pc, insn)?,
            M::Imul => self.imul(pc, insn)?,
            M::Push => {
                let src = self.loc(insn, 0)?;
                let v = self.read(pc, src, 64)?;
                self.push(pc, v)?;
            }
            M::Pop => {
                let v = self.pop(pc, 0)?;
                let dst = self.loc(insn, 0)?;
                self.write(pc, dst, v)?;
            }
            M::Xchg => {
                let (l0, l1) = (self.loc(insn, 0)?, self.loc(insn, 1)?);
                let bits = size(insn, 0);
                let a = self.read(pc, l0, bits)?;
                let b = self.read(pc, l1, bits)?;
                self.write(pc, l0, b)?;
                self.write(pc, l1, a)?;
            }
            M::Cbw | M::Cwde | M::Cdqe => {
                let bits = match mn {
                    M::Cbw => 16,
                    M::Cwde => 32,
                    _ => 64,
                };
                let v = self.read_gpr(Gpr { num: 0, bits: bits / 2, high8: false })?;
                let v = self.ext(v, bits, true)?;
                self.write_gpr(Gpr { num: 0, bits, high8: false }, v)?;
            }
            M::Cwd | M::Cdq | M::Cqo => {
                let bits = match mn {
                    M::Cwd => 16,
                    M::Cdq => 32,
                    _ => 64,
                };
                let v = self.read_gpr(Gpr { num: 0, bits, high8: false })?;
                let s = self.b.build_right_shift(v, self.c(bits, u64::from(bits - 1)), true, "sg")?;
                self.write_gpr(Gpr { num: 2, bits, high8: false }, s)?;
            }
            _ if is_cmovcc(insn) => {
                let bits = size(insn, 0);
                let c = self.cond(cc_num(insn))?;
                let src = self.loc(insn, 1)?;
                let s = self.read(pc, src, bits)?;
                let dst = self.loc(insn, 0)?;
                let old = self.read(pc, dst, bits)?;
                let v = self.b.build_select(c, s, old, "cmov")?.into_int_value();
                self.write(pc, dst, v)?;
            }
            _ => {
                // setcc
                let c = self.cond(cc_num(insn))?;
                let v = self.b.build_int_z_extend(c, self.int(8), "set")?;
                let dst = self.loc(insn, 0)?;
                self.write(pc, dst, v)?;
            }
        }
        Ok(true)
    }

    /// add, adc, sub, sbb, cmp.
    fn arith(&mut self, pc: u64, insn: &Instruction) -> Res<()> {
        let mn = insn.mnemonic();
        let bits = size(insn, 0);
        let dst = self.loc(insn, 0)?;
        let a = self.read(pc, dst, bits)?;
        let src = self.loc(insn, 1)?;
        let b = self.read(pc, src, bits)?;
        let cin = if matches!(mn, M::Adc | M::Sbb) { Some(self.flag(Flag::C)?) } else { None };
        let add = matches!(mn, M::Add | M::Adc);
        let mut res =
            if add { self.b.build_int_add(a, b, "add")? } else { self.b.build_int_sub(a, b, "sub")? };
        if let Some(c) = cin {
            let cz = self.b.build_int_z_extend(c, self.int(bits), "cz")?;
            res = if add {
                self.b.build_int_add(res, cz, "adc")?
            } else {
                self.b.build_int_sub(res, cz, "sbb")?
            };
        }
        let kind = if add { Kind::Add } else { Kind::Sub };
        self.set_rec(&Flag::ALL, Rec { kind, a, b, res, cin, id: 0 });
        if mn != M::Cmp {
            if self.miscompile && matches!(mn, M::Add | M::Sub) {
                // Test only (`Options::miscompile`): a wrong result.
                self.miscompile = false;
                res = self.b.build_int_add(res, self.c(bits, 1), "wrong")?;
            }
            self.write(pc, dst, res)?;
        }
        Ok(())
    }

    /// and, or, xor, test: CF = OF = 0, AF undefined (left as it was).
    fn logic(&mut self, pc: u64, insn: &Instruction) -> Res<()> {
        let mn = insn.mnemonic();
        let bits = size(insn, 0);
        let dst = self.loc(insn, 0)?;
        let a = self.read(pc, dst, bits)?;
        let src = self.loc(insn, 1)?;
        let b = self.read(pc, src, bits)?;
        let res = match mn {
            M::Or => self.b.build_or(a, b, "or")?,
            M::Xor => self.b.build_xor(a, b, "xor")?,
            _ => self.b.build_and(a, b, "and")?,
        };
        self.set_result_flags(a, res);
        let f = self.c(1, 0);
        self.set_flag(Flag::C, f);
        self.set_flag(Flag::O, f);
        if mn != M::Test {
            self.write(pc, dst, res)?;
        }
        Ok(())
    }

    /// ZF, SF and PF from `res`.
    fn set_result_flags(&mut self, a: IntValue<'ctx>, res: IntValue<'ctx>) {
        self.set_rec(
            &[Flag::Z, Flag::S, Flag::P],
            Rec { kind: Kind::Result, a, b: a, res, cin: None, id: 0 },
        );
    }

    /// inc, dec, neg, not.
    fn unary(&mut self, pc: u64, insn: &Instruction) -> Res<()> {
        let mn = insn.mnemonic();
        let bits = size(insn, 0);
        let dst = self.loc(insn, 0)?;
        let a = self.read(pc, dst, bits)?;
        let one = self.c(bits, 1);
        let zero = self.c(bits, 0);
        let res = match mn {
            M::Inc => {
                let r = self.b.build_int_add(a, one, "inc")?;
                let fl = [Flag::P, Flag::A, Flag::Z, Flag::S, Flag::O];
                self.set_rec(&fl, Rec { kind: Kind::Add, a, b: one, res: r, cin: None, id: 0 });
                r
            }
            M::Dec => {
                let r = self.b.build_int_sub(a, one, "dec")?;
                let fl = [Flag::P, Flag::A, Flag::Z, Flag::S, Flag::O];
                self.set_rec(&fl, Rec { kind: Kind::Sub, a, b: one, res: r, cin: None, id: 0 });
                r
            }
            M::Neg => {
                let r = self.b.build_int_sub(zero, a, "neg")?;
                self.set_rec(&Flag::ALL, Rec { kind: Kind::Sub, a: zero, b: a, res: r, cin: None, id: 0 });
                r
            }
            _ => self.b.build_not(a, "not")?,
        };
        self.write(pc, dst, res)
    }

    /// shl/sal, shr, sar, rol, ror by an immediate or CL (masked to 5
    /// bits, 6 for 64-bit operands). A zero count changes no flag.
    fn shift(&mut self, pc: u64, insn: &Instruction) -> Res<()> {
        let mn = insn.mnemonic();
        let bits = size(insn, 0);
        let mask = if bits == 64 { 63 } else { 31 };
        let dst = self.loc(insn, 0)?;
        let a = self.read(pc, dst, bits)?;
        // The count, and whether it may be zero (then a flag keeps its value).
        let (cnt, maybe_zero) = if insn.op1_kind() == OpKind::Register {
            let cl = self.read_gpr(Gpr { num: 1, bits: 8, high8: false })?;
            let c = self.b.build_and(cl, self.c(8, mask), "cnt")?;
            let z = self.b.build_int_compare(P::EQ, c, self.c(8, 0), "c0")?;
            (c, Some(z))
        } else {
            let c = insn.immediate8() as u64 & mask;
            if c == 0 {
                // No flag changes; the destination is still written.
                return self.write(pc, dst, a);
            }
            (self.c(8, c), None)
        };
        let w = self.int(128);
        let (res, cf, of) = match mn {
            M::Rol | M::Ror => {
                let name = if mn == M::Rol { "llvm.fshl" } else { "llvm.fshr" };
                let t = self.int(bits);
                let n = self.ext(cnt, bits, false)?;
                let r = self.int_intrinsic(name, t, &[a.into(), a.into(), n.into()], "rot")?;
                let msb = self.bit_of(r, u64::from(bits - 1))?;
                if mn == M::Rol {
                    let cf = self.bit_of(r, 0)?;
                    let of = self.b.build_xor(msb, cf, "of")?;
                    (r, cf, of)
                } else {
                    let next = self.bit_of(r, u64::from(bits - 2))?;
                    let of = self.b.build_xor(msb, next, "of")?;
                    (r, msb, of)
                }
            }
            _ => {
                let signed = mn == M::Sar;
                let a128 = self.ext(a, 128, signed)?;
                let n = self.b.build_int_z_extend(cnt, w, "n")?;
                let n1 = self.b.build_int_sub(n, w.const_int(1, false), "n1")?;
                let n1 = self.b.build_and(n1, w.const_int(127, false), "n1")?;
                match mn {
                    M::Shl | M::Sal => {
                        let r = self.b.build_left_shift(a128, n, "shl")?;
                        let cf = self.bit_of(r, u64::from(bits))?;
                        let res = self.ext(r, bits, false)?;
                        let msb = self.bit_of(res, u64::from(bits - 1))?;
                        let of = self.b.build_xor(msb, cf, "of")?;
                        (res, cf, of)
                    }
                    _ => {
                        let r = self.b.build_right_shift(a128, n, signed, "shr")?;
                        let last = self.b.build_right_shift(a128, n1, signed, "last")?;
                        let cf = self.bit_of(last, 0)?;
                        let of = if signed { self.c(1, 0) } else { self.bit_of(a, u64::from(bits - 1))? };
                        (self.ext(r, bits, false)?, cf, of)
                    }
                }
            }
        };
        let rot = matches!(mn, M::Rol | M::Ror);
        match maybe_zero {
            None => {
                self.set_flag(Flag::C, cf);
                self.set_flag(Flag::O, of);
                if !rot {
                    self.set_result_flags(a, res);
                }
            }
            Some(z) => {
                let mut new = vec![(Flag::C, cf), (Flag::O, of)];
                if !rot {
                    let zf = self.b.build_int_compare(P::EQ, res, self.c(bits, 0), "zf")?;
                    let sf = self.bit_of(res, u64::from(bits - 1))?;
                    let pf = self.parity(res)?;
                    new.extend([(Flag::Z, zf), (Flag::S, sf), (Flag::P, pf)]);
                }
                for (f, v) in new {
                    let old = self.flag(f)?;
                    let s = self.b.build_select(z, old, v, "fk")?.into_int_value();
                    self.set_flag(f, s);
                }
            }
        }
        self.write(pc, dst, res)
    }

    /// imul with two or three operands: CF = OF = the signed product does
    /// not fit; SF, ZF, PF from the truncated result (AF left as it was).
    fn imul(&mut self, pc: u64, insn: &Instruction) -> Res<()> {
        let bits = size(insn, 0);
        let (la, lb) = if insn.op_count() == 3 { (1, 2) } else { (0, 1) };
        let (l0, l1) = (self.loc(insn, la)?, self.loc(insn, lb)?);
        let a = self.read(pc, l0, bits)?;
        let b = self.read(pc, l1, bits)?;
        let wa = self.ext(a, 2 * bits, true)?;
        let wb = self.ext(b, 2 * bits, true)?;
        let p = self.b.build_int_mul(wa, wb, "mul")?;
        let res = self.ext(p, bits, false)?;
        let back = self.ext(res, 2 * bits, true)?;
        let of = self.b.build_int_compare(P::NE, back, p, "of")?;
        self.set_flag(Flag::C, of);
        self.set_flag(Flag::O, of);
        self.set_result_flags(a, res);
        let dst = self.loc(insn, 0)?;
        self.write(pc, dst, res)
    }
}
