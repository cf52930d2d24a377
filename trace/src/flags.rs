//! The six status flags, computed only where read.
//!
//! A flag-producing instruction leaves a record of its operands and result
//! ([`Rec`]); a flag is computed from the record where something reads it
//! (a condition, `adc`/`sbb`, an exit or a sync materialising rflags).
//! At trace block boundaries the flags go to one `i64` stack slot, packed
//! as in rflags (promoted to an SSA value by mem2reg); a flag no one reads
//! is dead code. Packing all six from one `add`/`sub`/`cmp` record runs
//! that operation again natively and takes the host's flags (`pushfq`):
//! a few instructions instead of computing each flag.

use crate::state::{Cx, Res};
use inkwell::intrinsics::Intrinsic;
use inkwell::values::CallableValue;
use inkwell::values::{IntValue, PointerValue};
use inkwell::InlineAsmDialect;
use inkwell::IntPredicate as P;

/// A status flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flag {
    C,
    P,
    A,
    Z,
    S,
    O,
}

impl Flag {
    pub(crate) const ALL: [Flag; 6] = [Flag::C, Flag::P, Flag::A, Flag::Z, Flag::S, Flag::O];

    /// The flag's bit number in rflags.
    pub(crate) fn bit(self) -> u32 {
        match self {
            Flag::C => 0,
            Flag::P => 2,
            Flag::A => 4,
            Flag::Z => 6,
            Flag::S => 7,
            Flag::O => 11,
        }
    }

    fn idx(self) -> usize {
        self as usize
    }
}

/// The rflags bits of the six status flags.
pub(crate) const STATUS_MASK: u64 = 0x8d5;

/// What produced a result, for the flags computed from it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// `a + b (+ carry)`.
    Add,
    /// `a - b (- borrow)`.
    Sub,
    /// Only ZF, SF and PF come from the record.
    Result,
}

/// A flag-producing operation: `res = a op b` at width `bits`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rec<'ctx> {
    pub kind: Kind,
    pub a: IntValue<'ctx>,
    pub b: IntValue<'ctx>,
    pub res: IntValue<'ctx>,
    /// The carry/borrow in of `adc`/`sbb`.
    pub cin: Option<IntValue<'ctx>>,
    /// Tells records apart (set by `set_rec`).
    pub id: u32,
}

/// Where a flag's current value is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Src<'ctx> {
    /// In its stack slot.
    Slot,
    /// An `i1` value.
    Val(IntValue<'ctx>),
    /// To be computed from a record.
    Rec(Rec<'ctx>),
}

pub(crate) struct Flags<'ctx> {
    /// The six status flags, packed as in rflags (other bits zero).
    pub slot: PointerValue<'ctx>,
    pub src: [Src<'ctx>; 6],
    /// The next record id.
    pub next_id: u32,
}

impl<'ctx, 'm> Cx<'ctx, 'm> {
    /// The current value of `f`, as `i1`.
    pub(crate) fn flag(&mut self, f: Flag) -> Res<IntValue<'ctx>> {
        match self.flags.src[f.idx()] {
            Src::Slot => {
                let v = self.b.build_load(self.flags.slot, "fl")?.into_int_value();
                self.bit_of(v, u64::from(f.bit()))
            }
            Src::Val(v) => Ok(v),
            Src::Rec(r) => self.compute(f, &r),
        }
    }

    /// Sets `f` to a computed `i1`.
    pub(crate) fn set_flag(&mut self, f: Flag, v: IntValue<'ctx>) {
        self.flags.src[f.idx()] = Src::Val(v);
        self.sync.flags_dirty = true;
    }

    /// Sets the flags in `which` from the record `r`.
    pub(crate) fn set_rec(&mut self, which: &[Flag], mut r: Rec<'ctx>) {
        r.id = self.flags.next_id;
        self.flags.next_id += 1;
        for &f in which {
            self.flags.src[f.idx()] = Src::Rec(r);
        }
        self.sync.flags_dirty = true;
    }

    /// Puts the flags in their slot (before a branch to a trace block).
    pub(crate) fn flags_to_slot(&mut self) -> Res<()> {
        if self.flags.src.iter().all(|s| matches!(s, Src::Slot)) {
            return Ok(());
        }
        let v = self.status()?;
        self.b.build_store(self.flags.slot, v)?;
        self.flags.src = [Src::Slot; 6];
        Ok(())
    }

    /// The six status flags packed as in rflags (other bits zero).
    pub(crate) fn status(&mut self) -> Res<IntValue<'ctx>> {
        let src = self.flags.src;
        if src.iter().all(|s| matches!(s, Src::Slot)) {
            return Ok(self.b.build_load(self.flags.slot, "fl")?.into_int_value());
        }
        if let Src::Rec(r) = src[0] {
            let same = src.iter().all(|s| matches!(s, Src::Rec(q) if q.id == r.id));
            let width = r.res.get_type().get_bit_width();
            if same && r.cin.is_none() && matches!(r.kind, Kind::Add | Kind::Sub) && matches!(width, 32 | 64)
            {
                return self.native_status(&r, width);
            }
        }
        let mut v = self.c(64, 0);
        for f in Flag::ALL {
            let bit = self.flag(f)?;
            let z = self.b.build_int_z_extend(bit, self.int(64), "fz")?;
            let s = self.b.build_left_shift(z, self.c(64, u64::from(f.bit())), "fs")?;
            v = self.b.build_or(v, s, "fl")?;
        }
        Ok(v)
    }

    /// The status flags of `r` (an `add` or `sub` of `width` bits),
    /// computed by the host doing the same operation.
    fn native_status(&mut self, r: &Rec<'ctx>, width: u32) -> Res<IntValue<'ctx>> {
        let i64t = self.int(64);
        let t = self.int(width);
        // The output at the operation's width: `k` (32-bit) or `q` names.
        let (sfx, out) = if width == 64 { ("q", "q") } else { ("l", "k") };
        let text = match r.kind {
            Kind::Add => {
                format!("mov{sfx} $1, ${{0:{out}}}\n\tadd{sfx} $2, ${{0:{out}}}\n\tpushfq\n\tpopq ${{0:q}}")
            }
            _ => format!("cmp{sfx} $2, $1\n\tpushfq\n\tpopq ${{0:q}}"),
        };
        let fty = i64t.fn_type(&[t.into(), t.into()], false);
        let cons = "=&r,r,r,~{dirflag},~{fpsr},~{flags}".to_string();
        let asm =
            self.ctx.create_inline_asm(fty, text, cons, false, false, Some(InlineAsmDialect::ATT), false);
        let callee = CallableValue::try_from(asm).map_err(|_| crate::Reject::Llvm("inline asm".into()))?;
        let v = self.b.build_call(callee, &[r.a.into(), r.b.into()], "flags")?;
        let v = v.try_as_basic_value().basic().ok_or(crate::Reject::Empty)?.into_int_value();
        Ok(self.b.build_and(v, self.c(64, STATUS_MASK), "st")?)
    }

    fn msb(&self, v: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        let zero = v.get_type().const_zero();
        Ok(self.b.build_int_compare(P::SLT, v, zero, "msb")?)
    }

    /// Bit `n` of `v`, as `i1`.
    pub(crate) fn bit_of(&self, v: IntValue<'ctx>, n: u64) -> Res<IntValue<'ctx>> {
        let t = v.get_type();
        let s = self.b.build_right_shift(v, t.const_int(n, false), false, "b")?;
        Ok(self.b.build_int_truncate(s, self.int(1), "b1")?)
    }

    /// The parity flag of `res`: set when its low byte has an even number
    /// of ones.
    pub(crate) fn parity(&self, res: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        let i8t = self.int(8);
        let lo = if res.get_type().get_bit_width() == 8 {
            res
        } else {
            self.b.build_int_truncate(res, i8t, "lo")?
        };
        let ctpop = Intrinsic::find("llvm.ctpop")
            .and_then(|i| i.get_declaration(self.module, &[i8t.into()]))
            .ok_or_else(|| crate::Reject::Llvm("no llvm.ctpop".into()))?;
        let n = self.b.build_call(ctpop, &[lo.into()], "pc")?;
        let n = n.try_as_basic_value().basic().ok_or_else(|| crate::Reject::Llvm("ctpop".into()))?;
        let odd = self.b.build_int_truncate(n.into_int_value(), self.int(1), "odd")?;
        Ok(self.b.build_not(odd, "pf")?)
    }

    fn compute(&mut self, f: Flag, r: &Rec<'ctx>) -> Res<IntValue<'ctx>> {
        let b = &self.b;
        let t = r.res.get_type();
        match f {
            Flag::Z => Ok(b.build_int_compare(P::EQ, r.res, t.const_zero(), "zf")?),
            Flag::S => self.msb(r.res),
            Flag::P => self.parity(r.res),
            Flag::A => {
                let x = b.build_xor(r.a, r.b, "ax")?;
                let x = b.build_xor(x, r.res, "ax")?;
                self.bit_of(x, 4)
            }
            Flag::C => match r.kind {
                Kind::Add => {
                    let lt = b.build_int_compare(P::ULT, r.res, r.a, "c")?;
                    match r.cin {
                        None => Ok(lt),
                        Some(cin) => {
                            let eq = b.build_int_compare(P::EQ, r.res, r.a, "ce")?;
                            let e = b.build_and(eq, cin, "ce")?;
                            Ok(b.build_or(lt, e, "cf")?)
                        }
                    }
                }
                Kind::Sub => {
                    let lt = b.build_int_compare(P::ULT, r.a, r.b, "c")?;
                    match r.cin {
                        None => Ok(lt),
                        Some(cin) => {
                            let eq = b.build_int_compare(P::EQ, r.a, r.b, "ce")?;
                            let e = b.build_and(eq, cin, "ce")?;
                            Ok(b.build_or(lt, e, "cf")?)
                        }
                    }
                }
                Kind::Result => Ok(self.c(1, 0)),
            },
            Flag::O => match r.kind {
                Kind::Add => {
                    let x = b.build_xor(r.a, r.res, "o")?;
                    let y = b.build_xor(r.b, r.res, "o")?;
                    let z = b.build_and(x, y, "o")?;
                    self.msb(z)
                }
                Kind::Sub => {
                    let x = b.build_xor(r.a, r.b, "o")?;
                    let y = b.build_xor(r.a, r.res, "o")?;
                    let z = b.build_and(x, y, "o")?;
                    self.msb(z)
                }
                Kind::Result => Ok(self.c(1, 0)),
            },
        }
    }

    /// The x86 condition `cc` (0..15: o, no, b, ae, e, ne, be, a, s, ns, p,
    /// np, l, ge, le, g) as `i1`.
    pub(crate) fn cond(&mut self, cc: u8) -> Res<IntValue<'ctx>> {
        let base = match cc >> 1 {
            0 => self.flag(Flag::O)?,
            1 => self.flag(Flag::C)?,
            2 => self.flag(Flag::Z)?,
            3 => {
                let c = self.flag(Flag::C)?;
                let z = self.flag(Flag::Z)?;
                self.b.build_or(c, z, "be")?
            }
            4 => self.flag(Flag::S)?,
            5 => self.flag(Flag::P)?,
            6 => {
                let s = self.flag(Flag::S)?;
                let o = self.flag(Flag::O)?;
                self.b.build_xor(s, o, "l")?
            }
            _ => {
                let s = self.flag(Flag::S)?;
                let o = self.flag(Flag::O)?;
                let l = self.b.build_xor(s, o, "l")?;
                let z = self.flag(Flag::Z)?;
                self.b.build_or(l, z, "le")?
            }
        };
        if cc & 1 == 1 {
            Ok(self.b.build_not(base, "ncc")?)
        } else {
            Ok(base)
        }
    }
}
