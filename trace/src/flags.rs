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
//! Across trace block boundaries each flag goes to an `i1` stack slot of
//! its own ([`Carry`], promoted to SSA values by mem2reg), unless all six
//! come from one 32- or 64-bit `sub`/`cmp` record: then the branch carries
//! the record's operands and result, and a mode saying so, and the next
//! block computes a flag from them where it reads one. A loop closed by
//! `cmp`/`jne` carries the compare's operands to its next turn, nothing
//! computed; an exit inside that turn computes the flags it leaves with
//! (an SSE2 loop spent 14 instructions a turn computing the six flags for
//! its exits).

use crate::state::{Cx, Res};
use inkwell::values::{IntValue, PointerValue};
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
/// each flag in its `i1` slot (in [`Flag::ALL`] order); [`SUB32`] or
/// [`SUB64`], the record `a - b = res` of that width (zero-extended).
pub(crate) struct Carry<'ctx> {
    pub mode: PointerValue<'ctx>,
    pub a: PointerValue<'ctx>,
    pub b: PointerValue<'ctx>,
    pub res: PointerValue<'ctx>,
    pub slots: [PointerValue<'ctx>; 6],
}

/// Carry modes of a 32- and a 64-bit `sub`/`cmp` record.
const SUB32: u64 = 1;
const SUB64: u64 = 2;

pub(crate) struct Flags<'ctx> {
    pub carry: Carry<'ctx>,
    pub src: [Src<'ctx>; 6],
    /// The next record id.
    pub next_id: u32,
}

impl<'ctx, 'm> Cx<'ctx, 'm> {
    /// The current value of `f`, as `i1`.
    pub(crate) fn flag(&mut self, f: Flag) -> Res<IntValue<'ctx>> {
        match self.flags.src[f.idx()] {
            Src::Slot => self.carried(f),
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
    /// block): as their record if all six come from one 32- or 64-bit
    /// `sub`/`cmp`, else each in its `i1` slot.
    pub(crate) fn flags_to_slot(&mut self) -> Res<()> {
        if self.flags.src.iter().all(|s| matches!(s, Src::Slot)) {
            return Ok(());
        }
        let one = match self.flags.src[0] {
            Src::Rec(r) if self.flags.src.iter().all(|s| matches!(s, Src::Rec(q) if q.id == r.id)) => {
                match (r.kind, r.cin, r.res.get_type().get_bit_width()) {
                    (Kind::Sub, None, 32) => Some((r, SUB32)),
                    (Kind::Sub, None, 64) => Some((r, SUB64)),
                    _ => None,
                }
            }
            _ => None,
        };
        match one {
            Some((r, mode)) => {
                let c = &self.flags.carry;
                for (slot, v) in [(c.a, r.a), (c.b, r.b), (c.res, r.res)] {
                    let v = match mode {
                        SUB32 => self.b.build_int_z_extend(v, self.int(64), "fc")?,
                        _ => v,
                    };
                    self.b.build_store(slot, v)?;
                }
                self.b.build_store(self.flags.carry.mode, self.c(8, mode))?;
            }
            None => {
                // (Storing a flag's slot leaves the others' carried values
                // as they were: each is read before its own store.)
                for f in Flag::ALL {
                    let v = self.flag(f)?;
                    self.b.build_store(self.flags.carry.slots[f.idx()], v)?;
                }
                self.b.build_store(self.flags.carry.mode, self.c(8, 0))?;
            }
        }
        self.flags.src = [Src::Slot; 6];
        Ok(())
    }

    /// Carries the six flags of `rflags` into the first block (not
    /// changed since the last sync: `set_flag` would say they were).
    pub(crate) fn carry_rflags(&mut self, rflags: IntValue<'ctx>) -> Res<()> {
        for f in Flag::ALL {
            self.flags.src[f.idx()] = Src::Val(self.bit_of(rflags, u64::from(f.bit()))?);
        }
        self.flags_to_slot()
    }

    /// Flag `f` as the previous block carried it in.
    fn carried(&mut self, f: Flag) -> Res<IntValue<'ctx>> {
        let c = &self.flags.carry;
        let (mode_p, a_p, b_p, res_p, slot) = (c.mode, c.a, c.b, c.res, c.slots[f.idx()]);
        let mode = self.b.build_load(mode_p, "fm")?.into_int_value();
        let (a, b, res) = (
            self.b.build_load(a_p, "fa")?.into_int_value(),
            self.b.build_load(b_p, "fb")?.into_int_value(),
            self.b.build_load(res_p, "fr")?.into_int_value(),
        );
        let mut v = self.b.build_load(slot, "fl")?.into_int_value();
        for (m, bits) in [(SUB32, 32), (SUB64, 64)] {
            let narrow = |cx: &Self, x: IntValue<'ctx>| -> Res<IntValue<'ctx>> {
                Ok(match bits {
                    64 => x,
                    _ => cx.b.build_int_truncate(x, cx.int(bits), "fn")?,
                })
            };
            let r = Rec {
                kind: Kind::Sub,
                a: narrow(self, a)?,
                b: narrow(self, b)?,
                res: narrow(self, res)?,
                cin: None,
                id: 0,
            };
            let computed = self.compute(f, &r)?;
            let is = self.b.build_int_compare(P::EQ, mode, self.c(8, m), "fm")?;
            v = self.b.build_select(is, computed, v, "fl")?.into_int_value();
        }
        Ok(v)
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
        let n = self.int_intrinsic("llvm.ctpop", i8t, &[lo.into()], "pc")?;
        let odd = self.b.build_int_truncate(n, self.int(1), "odd")?;
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
