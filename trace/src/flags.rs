//! The six status flags, computed only where read.
//!
//! A flag-producing instruction leaves a record of its operands and result
//! ([`Rec`]); a flag is computed from the record where something reads it
//! (a condition, `adc`/`sbb`, an exit or a sync materialising rflags).
//! Everything is plain IR, pure values: a flag no one reads is dead code,
//! and one read only on an exit or sync path is computed there. A
//! condition on a `cmp`/`sub` record is a comparison of its operands
//! (`cmp a, b; jl` is `a <s b`).
//!
//! Across trace block boundaries the flags stay lazy when they can
//! ([`Carry`], stack slots promoted to SSA values by mem2reg): when all
//! six come from one `add`/`sub`/`cmp` record (no carry in), a branch
//! carries its operands, result and a mode naming its kind and width;
//! otherwise it carries the six flags packed as in rflags (mode 0). A
//! block reading carried flags computes them in one internal function of
//! the mode ([`Cx::carried_status`]; LLVM inlines it where the mode is
//! known). A loop ending in `cmp`/`jne` carries the compare's operands,
//! nothing computed, and the exits inside the next turn compute the
//! flags (an SSE2 loop spent 14 instructions a turn computing flags only
//! its exits read).

use crate::state::{Cx, Res};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::intrinsics::Intrinsic;
use inkwell::module::Linkage;
use inkwell::values::{FunctionValue, IntValue, PointerValue};
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

    pub(crate) fn idx(self) -> usize {
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
    /// Carried in from the previous block ([`Carry`]).
    Slot,
    /// An `i1` value.
    Val(IntValue<'ctx>),
    /// To be computed from a record.
    Rec(Rec<'ctx>),
}

/// The stack slots that carry the flags from block to block: `mode` 0,
/// the six packed as in rflags in `bits`; else the record `a op b = res`
/// (zero-extended to 64 bits) of [`mode_of`]'s kind and width.
pub(crate) struct Carry<'ctx> {
    pub mode: PointerValue<'ctx>,
    pub a: PointerValue<'ctx>,
    pub b: PointerValue<'ctx>,
    pub res: PointerValue<'ctx>,
    pub bits: PointerValue<'ctx>,
}

pub(crate) struct Flags<'ctx> {
    pub carry: Carry<'ctx>,
    pub src: [Src<'ctx>; 6],
    /// The next record id.
    pub next_id: u32,
    /// The function computing carried flags, once built.
    pub status_fn: Option<FunctionValue<'ctx>>,
}

/// The widths a carried record may have.
const WIDTHS: [u32; 4] = [8, 16, 32, 64];

/// The carry mode of a record: 1-4 an `add` of 8, 16, 32 or 64 bits,
/// 5-8 a `sub`; None for one that is not carried as a record.
fn mode_of(r: &Rec<'_>) -> Option<u64> {
    let w = WIDTHS.iter().position(|&w| w == r.res.get_type().get_bit_width())? as u64;
    match (r.kind, r.cin) {
        (Kind::Add, None) => Some(1 + w),
        (Kind::Sub, None) => Some(5 + w),
        _ => None,
    }
}

impl<'ctx, 'm> Cx<'ctx, 'm> {
    /// The current value of `f`, as `i1`.
    pub(crate) fn flag(&mut self, f: Flag) -> Res<IntValue<'ctx>> {
        match self.flags.src[f.idx()] {
            Src::Slot => {
                let st = self.carried_status()?;
                self.bit_of(st, u64::from(f.bit()))
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

    /// Puts the flags in the carry slots (before a branch to a trace
    /// block): as their record if all six come from one that can be
    /// carried, else packed.
    pub(crate) fn flags_to_slot(&mut self) -> Res<()> {
        if self.flags.src.iter().all(|s| matches!(s, Src::Slot)) {
            return Ok(());
        }
        let one = match self.flags.src[0] {
            Src::Rec(r) if self.flags.src.iter().all(|s| matches!(s, Src::Rec(q) if q.id == r.id)) => {
                mode_of(&r).map(|m| (r, m))
            }
            _ => None,
        };
        let c = &self.flags.carry;
        let (mode_slot, a_slot, b_slot, res_slot, bits_slot) = (c.mode, c.a, c.b, c.res, c.bits);
        match one {
            Some((r, mode)) => {
                for (slot, v) in [(a_slot, r.a), (b_slot, r.b), (res_slot, r.res)] {
                    let v = match v.get_type().get_bit_width() {
                        64 => v,
                        _ => self.b.build_int_z_extend(v, self.int(64), "fc")?,
                    };
                    self.b.build_store(slot, v)?;
                }
                self.b.build_store(mode_slot, self.c(8, mode))?;
            }
            None => {
                let st = self.status()?;
                self.b.build_store(bits_slot, st)?;
                self.b.build_store(mode_slot, self.c(8, 0))?;
            }
        }
        self.flags.src = [Src::Slot; 6];
        Ok(())
    }

    /// Carries the six flags packed in `bits` (as in rflags, other bits
    /// ignored) into the first block.
    pub(crate) fn carry_packed(&mut self, bits: IntValue<'ctx>) -> Res<()> {
        self.b.build_store(self.flags.carry.bits, bits)?;
        self.b.build_store(self.flags.carry.mode, self.c(8, 0))?;
        self.flags.src = [Src::Slot; 6];
        Ok(())
    }

    /// The carried flags packed as in rflags (other bits zero).
    fn carried_status(&mut self) -> Res<IntValue<'ctx>> {
        let f = self.status_fn()?;
        let c = &self.flags.carry;
        let slots = [c.mode, c.a, c.b, c.res, c.bits];
        let mut args = Vec::with_capacity(5);
        for p in slots {
            args.push(self.b.build_load(p, "fc")?.into());
        }
        let v = self.b.build_call(f, &args, "fc")?;
        Ok(v.try_as_basic_value()
            .basic()
            .ok_or_else(|| crate::Reject::Llvm("flags".into()))?
            .into_int_value())
    }

    /// The internal function `(mode, a, b, res, bits) -> status` behind
    /// [`Cx::carried_status`], built on first use.
    fn status_fn(&mut self) -> Res<FunctionValue<'ctx>> {
        if let Some(f) = self.flags.status_fn {
            return Ok(f);
        }
        let i64t = self.int(64);
        let ty =
            i64t.fn_type(&[self.int(8).into(), i64t.into(), i64t.into(), i64t.into(), i64t.into()], false);
        let f = self.module.add_function("carried_flags", ty, Some(Linkage::Internal));
        for name in ["readnone", "nounwind", "willreturn"] {
            let kind = Attribute::get_named_enum_kind_id(name);
            f.add_attribute(AttributeLoc::Function, self.ctx.create_enum_attribute(kind, 0));
        }
        let here = self.b.get_insert_block().ok_or(crate::Reject::Empty)?;
        let saved = std::mem::replace(&mut self.flags.src, [Src::Slot; 6]);
        let arg = |k: u32| -> Res<IntValue<'ctx>> {
            Ok(f.get_nth_param(k).ok_or(crate::Reject::Empty)?.into_int_value())
        };
        let (mode, a, b, res, bits) = (arg(0)?, arg(1)?, arg(2)?, arg(3)?, arg(4)?);
        let entry = self.ctx.append_basic_block(f, "entry");
        let packed = self.ctx.append_basic_block(f, "packed");
        let mut cases = Vec::new();
        for (k, kind) in [Kind::Add, Kind::Sub].into_iter().enumerate() {
            for (w, &bits_w) in WIDTHS.iter().enumerate() {
                let m = 1 + 4 * k as u64 + w as u64;
                let bb = self.ctx.append_basic_block(f, &format!("m{m}"));
                self.b.position_at_end(bb);
                let t = self.int(bits_w);
                let narrow = |cx: &Self, v: IntValue<'ctx>| -> Res<IntValue<'ctx>> {
                    Ok(match bits_w {
                        64 => v,
                        _ => cx.b.build_int_truncate(v, t, "fn")?,
                    })
                };
                let r = Rec {
                    kind,
                    a: narrow(self, a)?,
                    b: narrow(self, b)?,
                    res: narrow(self, res)?,
                    cin: None,
                    id: 0,
                };
                let mut v = self.c(64, 0);
                for fl in Flag::ALL {
                    let bit = self.compute(fl, &r)?;
                    let z = self.b.build_int_z_extend(bit, i64t, "fz")?;
                    let s = self.b.build_left_shift(z, self.c(64, u64::from(fl.bit())), "fs")?;
                    v = self.b.build_or(v, s, "fl")?;
                }
                self.b.build_return(Some(&v))?;
                cases.push((self.c(8, m), bb));
            }
        }
        self.b.position_at_end(packed);
        let v = self.b.build_and(bits, self.c(64, STATUS_MASK), "fp")?;
        self.b.build_return(Some(&v))?;
        self.b.position_at_end(entry);
        self.b.build_switch(mode, packed, &cases)?;
        self.b.position_at_end(here);
        self.flags.src = saved;
        self.flags.status_fn = Some(f);
        Ok(f)
    }

    /// The six status flags packed as in rflags (other bits zero): plain
    /// IR from the records, so LLVM computes it only on the paths that
    /// need it (exits and syncs), never in a loop that does not.
    pub(crate) fn status(&mut self) -> Res<IntValue<'ctx>> {
        let mut v = self.c(64, 0);
        for f in Flag::ALL {
            let bit = self.flag(f)?;
            let z = self.b.build_int_z_extend(bit, self.int(64), "fz")?;
            let s = self.b.build_left_shift(z, self.c(64, u64::from(f.bit())), "fs")?;
            v = self.b.build_or(v, s, "fl")?;
        }
        Ok(v)
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
            Flag::Z => match (r.kind, r.cin) {
                (Kind::Sub, None) => Ok(b.build_int_compare(P::EQ, r.a, r.b, "zf")?),
                _ => Ok(b.build_int_compare(P::EQ, r.res, t.const_zero(), "zf")?),
            },
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

    /// The record all of `which` come from, if it is one `sub`/`cmp`
    /// (no borrow in): conditions on it are comparisons of its operands.
    fn sub_rec(&self, which: &[Flag]) -> Option<Rec<'ctx>> {
        let Src::Rec(r) = self.flags.src[which[0].idx()] else { return None };
        let same = which.iter().all(|f| matches!(self.flags.src[f.idx()], Src::Rec(q) if q.id == r.id));
        (same && r.cin.is_none() && matches!(r.kind, Kind::Sub)).then_some(r)
    }

    /// The x86 condition `cc` (0..15: o, no, b, ae, e, ne, be, a, s, ns, p,
    /// np, l, ge, le, g) as `i1`.
    pub(crate) fn cond(&mut self, cc: u8) -> Res<IntValue<'ctx>> {
        // After `cmp a, b` (or `sub`, `dec`): `jl` is `a <s b`, and so on.
        let direct = match cc >> 1 {
            2 => self.sub_rec(&[Flag::Z]).map(|r| (r, P::EQ, P::NE)),
            3 => self.sub_rec(&[Flag::C, Flag::Z]).map(|r| (r, P::ULE, P::UGT)),
            6 => self.sub_rec(&[Flag::S, Flag::O]).map(|r| (r, P::SLT, P::SGE)),
            7 => self.sub_rec(&[Flag::S, Flag::O, Flag::Z]).map(|r| (r, P::SLE, P::SGT)),
            _ => None,
        };
        if let Some((r, yes, no)) = direct {
            let p = if cc & 1 == 1 { no } else { yes };
            return Ok(self.b.build_int_compare(p, r.a, r.b, "cc")?);
        }
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
