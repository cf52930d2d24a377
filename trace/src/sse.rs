//! Legacy SSE/SSE2 with real semantics: 128-bit, scalar and low-lane
//! moves, bitwise logic, packed-integer add and subtract, floating-point
//! add, subtract, multiply, divide, square root, minimum and maximum
//! (scalar and packed), `(u)comis[sd]` into the flags, and `cvtsi2s[sd]`,
//! `cvtts[sd]2si`, `cvtss2sd`, `cvtsd2ss`, as LLVM IR on the XMM slots. Other SSE instructions stay
//! opaque natives (`opaque.rs`).
//!
//! Floating point goes through LLVM's constrained intrinsics with dynamic
//! rounding and strict exceptions. They run under the guest's MXCSR, which
//! the trace loads at its entry as it does for opaque SSE (`fp_sse` says
//! which instructions need it), and LLVM neither folds them under another
//! rounding mode nor drops, merges or reorders them: results (FTZ and DAZ
//! included) and the sticky exception flags are the hardware's. Except
//! `min`, `max`, `cvtts[sd]2si` (no LLVM operation has their rules for NaN,
//! zeros and out-of-range values), and `add` and `mul`: when both operands are NaN x86 returns the first
//! (destination) one quieted, and LLVM may swap the operands of a
//! commutative operation (to fold a load, to save a copy), so these are
//! the instruction itself on registers LLVM picks (an inline-asm statement
//! with side effects: as ordered as the constrained calls). Selecting the
//! first operand's NaN explicitly was measured first: six more
//! instructions per operation, a spectral-norm loop 1.2x slower.
//!
//! A 16-byte memory operand that legacy SSE requires aligned and that is
//! not leaves the trace before the instruction: the baseline runs it and
//! takes the fault, with the state of that instruction.

use crate::flags::Flag;
use crate::state::{Cx, Gpr, Res};
use crate::Reject;
use iced_x86::{EncodingKind, Instruction, Mnemonic as M, OpKind};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::types::{BasicType, BasicTypeEnum, VectorType};
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, IntValue, VectorValue};
use inkwell::IntPredicate as P;

/// An element type of an XMM register.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Elem {
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
}

impl Elem {
    fn bits(self) -> u32 {
        match self {
            Elem::I8 => 8,
            Elem::I16 => 16,
            Elem::F32 | Elem::I32 => 32,
            Elem::F64 | Elem::I64 => 64,
        }
    }

    /// The integer element of the same width.
    fn int(self) -> Elem {
        match self {
            Elem::F32 => Elem::I32,
            Elem::F64 => Elem::I64,
            e => e,
        }
    }
}

/// A floating-point operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FpOp {
    Add,
    Sub,
    Mul,
    Div,
    Sqrt,
    Min,
    Max,
}

/// A whole-register integer operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum IntOp {
    And,
    /// `!dst & src`.
    AndNot,
    Or,
    Xor,
    Add,
    Sub,
}

/// What an instruction does.
#[derive(Clone, Copy, Debug)]
enum Sem {
    /// Floating-point arithmetic on `elem`; `scalar`: the low element
    /// only, the others kept.
    Fp { op: FpOp, elem: Elem, scalar: bool },
    /// Bitwise logic (any element), or packed-integer add/subtract of
    /// `elem` lanes.
    Int { op: IntOp, elem: Elem },
    /// A 128-bit move; `aligned`: a memory operand must be 16-byte aligned.
    Move128 { aligned: bool },
    /// `movsd`/`movss`: register to register merges the low element, a
    /// load zeroes the others, a store writes the low element.
    MoveScalar(Elem),
    /// `movq`/`movd`: the low `bits` between an XMM register and a
    /// general-purpose register, memory or another XMM register; an XMM
    /// destination gets the rest zeroed.
    MoveLow(u32),
    /// `comis[sd]` (`signaling`: any NaN raises invalid) and `ucomis[sd]`.
    Compare { elem: Elem, signaling: bool },
    /// `cvtsi2s[sd]`: a signed integer into the low element.
    FromInt(Elem),
    /// `cvtss2sd`, `cvtsd2ss`: the low element converted to `to`.
    Convert { to: Elem },
    /// `cvtts[sd]2si`: the low element of `elem` truncated to a signed
    /// integer (x86's "integer indefinite" when out of range or NaN).
    ToInt(Elem),
}

/// The meaning of `insn`, if it is one this file gives.
fn sem(insn: &Instruction) -> Option<Sem> {
    use Elem::*;
    let fp = |op, elem, scalar| Some(Sem::Fp { op, elem, scalar });
    let int = |op, elem| Some(Sem::Int { op, elem });
    match insn.mnemonic() {
        M::Addsd => fp(FpOp::Add, F64, true),
        M::Addss => fp(FpOp::Add, F32, true),
        M::Addpd => fp(FpOp::Add, F64, false),
        M::Addps => fp(FpOp::Add, F32, false),
        M::Subsd => fp(FpOp::Sub, F64, true),
        M::Subss => fp(FpOp::Sub, F32, true),
        M::Subpd => fp(FpOp::Sub, F64, false),
        M::Subps => fp(FpOp::Sub, F32, false),
        M::Mulsd => fp(FpOp::Mul, F64, true),
        M::Mulss => fp(FpOp::Mul, F32, true),
        M::Mulpd => fp(FpOp::Mul, F64, false),
        M::Mulps => fp(FpOp::Mul, F32, false),
        M::Divsd => fp(FpOp::Div, F64, true),
        M::Divss => fp(FpOp::Div, F32, true),
        M::Divpd => fp(FpOp::Div, F64, false),
        M::Divps => fp(FpOp::Div, F32, false),
        M::Sqrtsd => fp(FpOp::Sqrt, F64, true),
        M::Sqrtss => fp(FpOp::Sqrt, F32, true),
        M::Sqrtpd => fp(FpOp::Sqrt, F64, false),
        M::Sqrtps => fp(FpOp::Sqrt, F32, false),
        M::Minsd => fp(FpOp::Min, F64, true),
        M::Minss => fp(FpOp::Min, F32, true),
        M::Minpd => fp(FpOp::Min, F64, false),
        M::Minps => fp(FpOp::Min, F32, false),
        M::Maxsd => fp(FpOp::Max, F64, true),
        M::Maxss => fp(FpOp::Max, F32, true),
        M::Maxpd => fp(FpOp::Max, F64, false),
        M::Maxps => fp(FpOp::Max, F32, false),
        M::Andps | M::Andpd | M::Pand => int(IntOp::And, I64),
        M::Andnps | M::Andnpd | M::Pandn => int(IntOp::AndNot, I64),
        M::Orps | M::Orpd | M::Por => int(IntOp::Or, I64),
        M::Xorps | M::Xorpd | M::Pxor => int(IntOp::Xor, I64),
        M::Paddb => int(IntOp::Add, I8),
        M::Paddw => int(IntOp::Add, I16),
        M::Paddd => int(IntOp::Add, I32),
        M::Paddq => int(IntOp::Add, I64),
        M::Psubb => int(IntOp::Sub, I8),
        M::Psubw => int(IntOp::Sub, I16),
        M::Psubd => int(IntOp::Sub, I32),
        M::Psubq => int(IntOp::Sub, I64),
        M::Movaps | M::Movapd | M::Movdqa => Some(Sem::Move128 { aligned: true }),
        M::Movups | M::Movupd | M::Movdqu => Some(Sem::Move128 { aligned: false }),
        M::Movsd => Some(Sem::MoveScalar(I64)),
        M::Movss => Some(Sem::MoveScalar(I32)),
        M::Movq => Some(Sem::MoveLow(64)),
        M::Movd => Some(Sem::MoveLow(32)),
        M::Comisd => Some(Sem::Compare { elem: F64, signaling: true }),
        M::Comiss => Some(Sem::Compare { elem: F32, signaling: true }),
        M::Ucomisd => Some(Sem::Compare { elem: F64, signaling: false }),
        M::Ucomiss => Some(Sem::Compare { elem: F32, signaling: false }),
        M::Cvtsi2sd => Some(Sem::FromInt(F64)),
        M::Cvtsi2ss => Some(Sem::FromInt(F32)),
        M::Cvtss2sd => Some(Sem::Convert { to: F64 }),
        M::Cvtsd2ss => Some(Sem::Convert { to: F32 }),
        M::Cvttsd2si => Some(Sem::ToInt(F64)),
        M::Cvttss2si => Some(Sem::ToInt(F32)),
        _ => None,
    }
}

/// True if every operand of `insn` is an XMM register (0-15), a
/// general-purpose register or a memory operand this crate addresses:
/// no MMX register (the `movq`/`movd` forms on them), no VEX/EVEX form.
fn operands_ok(insn: &Instruction) -> bool {
    insn.encoding() == EncodingKind::Legacy
        && !insn.has_lock_prefix()
        && (0..insn.op_count()).all(|i| match insn.op_kind(i) {
            OpKind::Register => {
                let r = insn.op_register(i);
                (r.is_xmm() && r.number() < 16) || r.is_gpr32() || r.is_gpr64()
            }
            OpKind::Memory => crate::lower::mem_ok(insn),
            _ => false,
        })
}

/// The XMM registers `insn` uses as scalar doubles (a slot of that type
/// keeps such a value in an XMM register across a loop; an integer one
/// would take it through a general-purpose register at every turn).
pub(crate) fn scalar_f64_regs(insn: &Instruction) -> u16 {
    let scalar_f64 = match sem(insn) {
        Some(Sem::Fp { elem, scalar, .. }) => scalar && elem == Elem::F64,
        Some(Sem::Compare { elem, .. }) => elem == Elem::F64,
        Some(Sem::FromInt(e)) | Some(Sem::ToInt(e)) => e == Elem::F64,
        Some(Sem::Convert { .. }) | Some(Sem::MoveScalar(Elem::I64)) => true,
        _ => false,
    };
    if !scalar_f64 || !operands_ok(insn) {
        return 0;
    }
    (0..insn.op_count()).filter_map(|i| xmm_op(insn, i)).fold(0, |m, n| m | 1 << n)
}

/// The XMM register number of operand `i`, if it is one.
fn xmm_op(insn: &Instruction, i: u32) -> Option<usize> {
    (insn.op_kind(i) == OpKind::Register && insn.op_register(i).is_xmm())
        .then(|| insn.op_register(i).number())
}

impl<'ctx, 'm> Cx<'ctx, 'm> {
    /// Lowers `insn` at `pc` with real semantics. Returns false, having
    /// emitted nothing, when this file does not give it any.
    pub(crate) fn lower_sse(&mut self, pc: u64, insn: &Instruction) -> Res<bool> {
        let Some(s) = sem(insn).filter(|_| operands_ok(insn)) else { return Ok(false) };
        match s {
            Sem::Fp { op, elem, scalar } => self.fp_arith(pc, insn, op, elem, scalar)?,
            Sem::Int { op, elem } => {
                let d = xmm_op(insn, 0).ok_or(Reject::Empty)?;
                let a = self.vcast(self.xmm_get(d)?, elem)?;
                let src = self.src128(pc, insn, true)?;
                let b = self.vcast(src, elem)?;
                let r = match op {
                    IntOp::And => self.b.build_and(a, b, "pand")?,
                    IntOp::AndNot => {
                        let na = self.b.build_not(a, "pnot")?;
                        self.b.build_and(na, b, "pandn")?
                    }
                    IntOp::Or => self.b.build_or(a, b, "por")?,
                    IntOp::Xor => self.b.build_xor(a, b, "pxor")?,
                    IntOp::Add => self.b.build_int_add(a, b, "padd")?,
                    IntOp::Sub => self.b.build_int_sub(a, b, "psub")?,
                };
                self.xwrite(d, r.into())?;
            }
            Sem::Move128 { aligned } => match xmm_op(insn, 0) {
                Some(d) => {
                    let v = self.src128(pc, insn, aligned)?;
                    self.xwrite(d, v.into())?;
                }
                None => {
                    let s = xmm_op(insn, 1).ok_or(Reject::Empty)?;
                    let addr = self.linear(insn)?;
                    if aligned {
                        self.exit_if_misaligned(pc, addr)?;
                    }
                    let v = self.xmm_get(s)?;
                    let v = self.b.build_bit_cast(v, self.int(128), "x128")?.into_int_value();
                    self.store(pc, addr, v)?;
                }
            },
            Sem::MoveScalar(elem) => match (xmm_op(insn, 0), xmm_op(insn, 1)) {
                (Some(d), Some(s)) => {
                    let v = self.low(s, elem)?;
                    self.set_low(d, v)?;
                }
                (Some(d), None) => {
                    let addr = self.linear(insn)?;
                    let v = self.load(pc, addr, elem.bits())?;
                    self.write_low_zeroed(d, v)?;
                }
                (None, Some(s)) => {
                    let v = self.low(s, elem)?;
                    let addr = self.linear(insn)?;
                    self.store(pc, addr, v)?;
                }
                (None, None) => return Err(Reject::Empty),
            },
            Sem::MoveLow(bits) => {
                let elem = if bits == 64 { Elem::I64 } else { Elem::I32 };
                let v = match (xmm_op(insn, 1), insn.op_kind(1)) {
                    (Some(s), _) => self.low(s, elem)?,
                    (None, OpKind::Register) => {
                        let g = Gpr::of(insn.op_register(1)).ok_or(Reject::Empty)?;
                        self.read_gpr(g)?
                    }
                    _ => {
                        let addr = self.linear(insn)?;
                        self.load(pc, addr, bits)?
                    }
                };
                match (xmm_op(insn, 0), insn.op_kind(0)) {
                    (Some(d), _) => self.write_low_zeroed(d, v)?,
                    (None, OpKind::Register) => {
                        let g = Gpr::of(insn.op_register(0)).ok_or(Reject::Empty)?;
                        self.write_gpr(g, v)?;
                    }
                    _ => {
                        let addr = self.linear(insn)?;
                        self.store(pc, addr, v)?;
                    }
                }
            }
            Sem::Compare { elem, signaling } => {
                let d = xmm_op(insn, 0).ok_or(Reject::Empty)?;
                let a = self.low_fp(d, elem)?;
                let b = self.src_scalar(pc, insn, elem)?;
                let name = if signaling {
                    "llvm.experimental.constrained.fcmps"
                } else {
                    "llvm.experimental.constrained.fcmp"
                };
                // One strict compare raises the exception flags; the others
                // raise the same ones and may go when unused.
                let cmp = |pred: &str, except: &str| -> Res<IntValue<'ctx>> {
                    let p = self.ctx.metadata_string(pred).into();
                    let e = self.ctx.metadata_string(except).into();
                    let r = self.constrained(name, &[a.get_type()], &[a.into(), b.into(), p, e])?;
                    Ok(r.into_int_value())
                };
                let pf = cmp("uno", "fpexcept.strict")?;
                let zf = cmp("ueq", "fpexcept.maytrap")?;
                let cf = cmp("ult", "fpexcept.maytrap")?;
                let f = self.c(1, 0);
                for (flag, v) in
                    [(Flag::Z, zf), (Flag::P, pf), (Flag::C, cf), (Flag::O, f), (Flag::S, f), (Flag::A, f)]
                {
                    self.set_flag(flag, v);
                }
            }
            Sem::FromInt(elem) => {
                let d = xmm_op(insn, 0).ok_or(Reject::Empty)?;
                let v = match insn.op_kind(1) {
                    OpKind::Register => {
                        let g = Gpr::of(insn.op_register(1)).ok_or(Reject::Empty)?;
                        self.read_gpr(g)?
                    }
                    _ => {
                        let addr = self.linear(insn)?;
                        let bits = insn.memory_size().size() as u32 * 8;
                        self.load(pc, addr, bits)?
                    }
                };
                let ft = self.fp_type(elem);
                let r = self.constrained(
                    "llvm.experimental.constrained.sitofp",
                    &[ft, v.get_type().into()],
                    &[v.into(), self.rounding(), self.strict()],
                )?;
                self.set_low_fp(d, elem, r)?;
            }
            Sem::Convert { to } => {
                let d = xmm_op(insn, 0).ok_or(Reject::Empty)?;
                let from = if to == Elem::F64 { Elem::F32 } else { Elem::F64 };
                let v = self.src_scalar(pc, insn, from)?;
                let (name, args): (_, Vec<BasicMetadataValueEnum>) = match to {
                    Elem::F64 => ("llvm.experimental.constrained.fpext", vec![v.into(), self.strict()]),
                    _ => (
                        "llvm.experimental.constrained.fptrunc",
                        vec![v.into(), self.rounding(), self.strict()],
                    ),
                };
                let r = self.constrained(name, &[self.fp_type(to), v.get_type()], &args)?;
                self.set_low_fp(d, to, r)?;
            }
            Sem::ToInt(elem) => {
                // The instruction itself: LLVM's conversions leave an out
                // of range value undefined.
                let g = Gpr::of(insn.op_register(0)).ok_or(Reject::Empty)?;
                let v = self.src_scalar(pc, insn, elem)?;
                let it = self.int(g.bits);
                let mnemonic = if elem == Elem::F64 { "cvttsd2si" } else { "cvttss2si" };
                let r = self.hw_asm(&format!("{mnemonic} $1, $0"), "=r,x", it.into(), &[v])?;
                self.write_gpr(g, r.into_int_value())?;
            }
        }
        Ok(true)
    }

    /// `op` on `elem`, the low element (`scalar`) or all of them.
    fn fp_arith(&mut self, pc: u64, insn: &Instruction, op: FpOp, elem: Elem, scalar: bool) -> Res<()> {
        let d = xmm_op(insn, 0).ok_or(Reject::Empty)?;
        let (a, b) = match scalar {
            true => (self.low_fp(d, elem)?, self.src_scalar(pc, insn, elem)?),
            false => {
                let a = self.vcast_fp(self.xmm_get(d)?, elem)?;
                let src = self.src128(pc, insn, true)?;
                (a, self.vcast_fp(src, elem)?)
            }
        };
        let r = match op {
            // Commutative: x86 returns the first operand's NaN when both
            // are NaN, and LLVM may swap the operands of a constrained
            // fadd/fmul; the instruction itself, on registers LLVM picks.
            // min/max: no LLVM operation has x86's rule (the second
            // operand when either is NaN or both are zeros; DAZ).
            FpOp::Add | FpOp::Mul | FpOp::Min | FpOp::Max => {
                let name = match op {
                    FpOp::Add => "add",
                    FpOp::Mul => "mul",
                    FpOp::Min => "min",
                    _ => "max",
                };
                let suffix = match (scalar, elem) {
                    (true, Elem::F32) => "ss",
                    (true, _) => "sd",
                    (false, Elem::F32) => "ps",
                    (false, _) => "pd",
                };
                self.hw_op(&format!("{name}{suffix}"), a, b)?
            }
            _ => {
                let name = match op {
                    FpOp::Sub => "llvm.experimental.constrained.fsub",
                    FpOp::Div => "llvm.experimental.constrained.fdiv",
                    _ => "llvm.experimental.constrained.sqrt",
                };
                let mut args: Vec<BasicMetadataValueEnum> = match op {
                    FpOp::Sqrt => vec![b.into()],
                    _ => vec![a.into(), b.into()],
                };
                args.extend([self.rounding(), self.strict()]);
                self.constrained(name, &[a.get_type()], &args)?
            }
        };
        match scalar {
            true => self.set_low_fp(d, elem, r),
            false => {
                let v = self.b.build_bit_cast(r, self.v2i64(), "xv")?;
                self.xwrite(d, v)
            }
        }
    }

    /// A call of the constrained intrinsic `name` overloaded on `types`;
    /// marked `strictfp`, as the function is.
    fn constrained(
        &self,
        name: &str,
        types: &[BasicTypeEnum<'ctx>],
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Res<BasicValueEnum<'ctx>> {
        let call = self.b.build_call(self.intrinsic(name, types)?, args, "fp")?;
        call.add_attribute(AttributeLoc::Function, strictfp(self.ctx));
        call.try_as_basic_value().basic().ok_or_else(|| Reject::Llvm(format!("{name} returns nothing")))
    }

    fn rounding(&self) -> BasicMetadataValueEnum<'ctx> {
        self.ctx.metadata_string("round.dynamic").into()
    }

    fn strict(&self) -> BasicMetadataValueEnum<'ctx> {
        self.ctx.metadata_string("fpexcept.strict").into()
    }

    /// `a = a <op> b` by the SSE instruction `mnemonic` itself (AT&T
    /// `mnemonic b, a`), in XMM registers LLVM chooses.
    fn hw_op(
        &self,
        mnemonic: &str,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> Res<BasicValueEnum<'ctx>> {
        self.hw_asm(&format!("{mnemonic} $2, $0"), "=x,0,x", a.get_type(), &[a, b])
    }

    /// One instruction (`text`, AT&T, operands `cons`) on registers LLVM
    /// chooses: a statement with side effects, ordered with the other
    /// floating point and the MXCSR loads and stores, never dropped.
    fn hw_asm(
        &self,
        text: &str,
        cons: &str,
        ret: BasicTypeEnum<'ctx>,
        args: &[BasicValueEnum<'ctx>],
    ) -> Res<BasicValueEnum<'ctx>> {
        let params: Vec<_> = args.iter().map(|a| a.get_type().into()).collect();
        let args: Vec<BasicMetadataValueEnum> = args.iter().map(|&a| a.into()).collect();
        let call = self.asm_call(ret.fn_type(&params, false), text, cons, &args)?;
        call.try_as_basic_value().basic().ok_or_else(|| Reject::Llvm(format!("{text} returns nothing")))
    }

    fn v2i64(&self) -> VectorType<'ctx> {
        self.ctx.i64_type().vec_type(2)
    }

    fn fp_type(&self, elem: Elem) -> BasicTypeEnum<'ctx> {
        match elem {
            Elem::F32 => self.ctx.f32_type().into(),
            _ => self.ctx.f64_type().into(),
        }
    }

    /// The vector type of `elem` lanes filling 128 bits.
    fn vtype(&self, elem: Elem) -> VectorType<'ctx> {
        let lanes = 128 / elem.bits();
        match elem {
            Elem::F32 => self.ctx.f32_type().vec_type(lanes),
            Elem::F64 => self.ctx.f64_type().vec_type(lanes),
            e => self.int(e.bits()).vec_type(lanes),
        }
    }

    /// Sets XMM register `n` to `v` (128 bits, any vector type).
    fn xwrite(&mut self, n: usize, v: BasicValueEnum<'ctx>) -> Res<()> {
        let v = self.b.build_bit_cast(v, self.v2i64(), "xv")?.into_vector_value();
        self.xmm_set(n, v)
    }

    /// `v` (`<2 x i64>`) as integer lanes of `elem`.
    fn vcast(&self, v: VectorValue<'ctx>, elem: Elem) -> Res<VectorValue<'ctx>> {
        Ok(self.b.build_bit_cast(v, self.vtype(elem.int()), "lanes")?.into_vector_value())
    }

    /// `v` (`<2 x i64>`) as floating-point lanes of `elem`.
    fn vcast_fp(&self, v: VectorValue<'ctx>, elem: Elem) -> Res<BasicValueEnum<'ctx>> {
        Ok(self.b.build_bit_cast(v, self.vtype(elem), "lanes")?)
    }

    /// The low `elem` (32 or 64 bits, any kind) of XMM register `n`, as an
    /// integer.
    fn low(&self, n: usize, elem: Elem) -> Res<IntValue<'ctx>> {
        let lo = self.xmm_lo(n)?;
        match elem.bits() {
            64 => Ok(lo),
            bits => Ok(self.b.build_int_truncate(lo, self.int(bits), "low")?),
        }
    }

    /// Sets the low 32 or 64 bits of XMM register `n` to the integer `v`,
    /// the others kept.
    fn set_low(&mut self, n: usize, v: IntValue<'ctx>) -> Res<()> {
        let v = match v.get_type().get_bit_width() {
            64 => v,
            bits => {
                let old = self.xmm_lo(n)?;
                let kept = self.b.build_and(old, self.c(64, u64::MAX << bits), "kept")?;
                let z = self.b.build_int_z_extend(v, self.int(64), "zx")?;
                self.b.build_or(kept, z, "merged")?
            }
        };
        self.xmm_set_lo(n, v)
    }

    /// The low `elem` (floating point) of XMM register `n`.
    fn low_fp(&self, n: usize, elem: Elem) -> Res<BasicValueEnum<'ctx>> {
        let v = self.low(n, elem)?;
        Ok(self.b.build_bit_cast(v, self.fp_type(elem), "low")?)
    }

    /// Sets the low `elem` (floating point) of XMM register `n` to `r`.
    fn set_low_fp(&mut self, n: usize, elem: Elem, r: BasicValueEnum<'ctx>) -> Res<()> {
        let v = self.b.build_bit_cast(r, self.int(elem.bits()), "bits")?.into_int_value();
        self.set_low(n, v)
    }

    /// Sets XMM register `n` to the integer `v` (32 or 64 bits), zero
    /// above.
    fn write_low_zeroed(&mut self, n: usize, v: IntValue<'ctx>) -> Res<()> {
        let z = self.b.build_int_z_extend(v, self.int(128), "zx")?;
        self.xwrite(n, z.into())
    }

    /// The source operand (operand 1) of scalar `elem`: an XMM register's
    /// low element or a load.
    fn src_scalar(&mut self, pc: u64, insn: &Instruction, elem: Elem) -> Res<BasicValueEnum<'ctx>> {
        match xmm_op(insn, 1) {
            Some(s) => self.low_fp(s, elem),
            None => {
                let addr = self.linear(insn)?;
                let v = self.load(pc, addr, elem.bits())?;
                Ok(self.b.build_bit_cast(v, self.fp_type(elem), "ld")?)
            }
        }
    }

    /// The 128-bit source operand (operand 1) as `<2 x i64>`: an XMM
    /// register or a load (`aligned`: which must be 16-byte aligned).
    fn src128(&mut self, pc: u64, insn: &Instruction, aligned: bool) -> Res<VectorValue<'ctx>> {
        match xmm_op(insn, 1) {
            Some(s) => self.xmm_get(s),
            None => {
                let addr = self.linear(insn)?;
                if aligned {
                    self.exit_if_misaligned(pc, addr)?;
                }
                let v = self.load(pc, addr, 128)?;
                Ok(self.b.build_bit_cast(v, self.v2i64(), "ld")?.into_vector_value())
            }
        }
    }

    /// Leaves the trace before the instruction at `pc` when `addr` is not
    /// 16-byte aligned: the baseline runs the instruction and takes its
    /// fault.
    fn exit_if_misaligned(&mut self, pc: u64, addr: IntValue<'ctx>) -> Res<()> {
        let low = self.b.build_and(addr, self.c(64, 15), "al")?;
        let bad = self.b.build_int_compare(P::NE, low, self.c(64, 0), "misaligned")?;
        self.exit_if(bad, pc)
    }
}

/// The `strictfp` attribute, which functions and calls with constrained
/// floating point carry.
pub(crate) fn strictfp(ctx: &inkwell::context::Context) -> Attribute {
    ctx.create_enum_attribute(Attribute::get_named_enum_kind_id("strictfp"), 0)
}
