//! Opaque native instructions: a general-purpose-register instruction
//! without real semantics here (mul, div, bt, bsf, popcnt, shld, rcl,
//! xadd, cmpxchg, string instructions, ...) runs as itself, its guest
//! bytes in an LLVM inline-asm statement whose operands bind exactly the
//! host registers it uses to the guest values (guest address = host
//! address, so its memory operand works as it is).
//!
//! An operand the host cannot run as it is gets a register of its own: a
//! RIP-, FS/GS-, rsp- or rbp-relative memory operand becomes `[X]` with X
//! bound to the linear address, an explicit rsp or rbp operand another
//! register bound to the guest's value (the instruction is re-encoded).
//!
//! The statement reads and writes the whole 64-bit registers (x86's
//! partial-register merges happen in the hardware), takes the flags
//! through `popfq` only if the instruction reads them and gives them back
//! through `pushfq` only if it writes them (the function has no red zone).
//! SSE floating-point instructions run under the guest's MXCSR, which the
//! trace loads into the host at its entry (and stores back, then restores
//! the host's, at exits; stores back at syncs) when it has any.
//!
//! It is marked as having side effects, and clobbering memory, only when
//! the instruction accesses memory or can fault (`div`/`idiv`), so plain
//! register instructions stay free to be moved and merged by LLVM. It
//! counts as a memory access for the sync rule.

use crate::flags::Flag;
use crate::state::{Cx, Gpr, Res};
use crate::Reject;
use iced_x86::{
    CpuidFeature as C, FlowControl, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind,
    Register, RflagsBits as F,
};
use inkwell::types::{BasicMetadataTypeEnum, BasicType, BasicTypeEnum};
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, CallableValue};
use inkwell::InlineAsmDialect;

/// Host register names, by number, for LLVM constraints.
const NAMES: [&str; 16] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
    "r15",
];

/// The six status flags as iced-x86 bits, with ours.
const STATUS: [(u32, Flag); 6] = [
    (F::CF, Flag::C),
    (F::PF, Flag::P),
    (F::AF, Flag::A),
    (F::ZF, Flag::Z),
    (F::SF, Flag::S),
    (F::OF, Flag::O),
];

/// The six status flags as iced-x86 bits (not x86's RFLAGS bits, which
/// `flags::STATUS_MASK` holds).
pub(crate) const ICED_STATUS: u32 = F::CF | F::PF | F::AF | F::ZF | F::SF | F::OF;

/// Instruction sets whose instructions only touch general-purpose
/// registers, flags and memory.
fn integer_isa(f: C) -> bool {
    matches!(
        f,
        C::INTEL8086
            | C::INTEL8086_ONLY
            | C::INTEL186
            | C::INTEL286
            | C::INTEL386
            | C::INTEL486
            | C::X64
            | C::CMOV
            | C::CX8
            | C::CMPXCHG16B
            | C::BMI1
            | C::BMI2
            | C::POPCNT
            | C::LZCNT
            | C::ADX
            | C::MOVBE
            | C::SSE
            | C::SSE2
            | C::SSE3
            | C::SSSE3
            | C::SSE4_1
            | C::SSE4_2
            | C::AES
            | C::PCLMULQDQ
    )
}

/// SSE instructions whose result does not depend on MXCSR (integer,
/// bitwise, moves and shuffles): the trace runs with the host's MXCSR.
fn mxcsr_free(m: Mnemonic) -> bool {
    use Mnemonic as M;
    let name = format!("{m:?}");
    (name.starts_with('P') && m != M::Pause)
        || matches!(
            m,
            M::Movdqa
                | M::Movdqu
                | M::Movd
                | M::Movq
                | M::Movaps
                | M::Movups
                | M::Movapd
                | M::Movupd
                | M::Movntdq
                | M::Movntdqa
                | M::Movntps
                | M::Movntpd
                | M::Lddqu
                | M::Movhlps
                | M::Movlhps
                | M::Movhps
                | M::Movlps
                | M::Movhpd
                | M::Movlpd
                | M::Movmskps
                | M::Movmskpd
                | M::Andps
                | M::Andpd
                | M::Andnps
                | M::Andnpd
                | M::Orps
                | M::Orpd
                | M::Xorps
                | M::Xorpd
                | M::Shufps
                | M::Shufpd
                | M::Unpcklps
                | M::Unpckhps
                | M::Unpcklpd
                | M::Unpckhpd
                | M::Blendps
                | M::Blendpd
                | M::Blendvps
                | M::Blendvpd
                | M::Movss
                | M::Movsd
                | M::Movddup
                | M::Movshdup
                | M::Movsldup
                | M::Insertps
                | M::Extractps
                | M::Aesenc
                | M::Aesenclast
                | M::Aesdec
                | M::Aesdeclast
                | M::Aesimc
                | M::Aeskeygenassist
                | M::Lfence
                | M::Sfence
                | M::Mfence
                | M::Crc32
        )
}

/// True for a legacy SSE instruction whose result depends on MXCSR (or
/// that reads or writes it): the trace runs it with the guest's MXCSR in
/// the host (see `control.rs`).
pub(crate) fn fp_sse(insn: &Instruction) -> bool {
    let sse =
        insn.cpuid_features().iter().any(|f| matches!(f, C::SSE | C::SSE2 | C::SSE3 | C::SSSE3 | C::SSE4_1));
    sse && insn.encoding() == iced_x86::EncodingKind::Legacy && !mxcsr_free(insn.mnemonic())
}

/// A register an opaque instruction binds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// General-purpose register (host number).
    G(usize),
    /// XMM register.
    X(usize),
}

/// What an opaque instruction uses: registers read and written (bit =
/// number), memory accessed, flags read and modified (iced-x86 bits).
struct Uses {
    read: u16,
    written: u16,
    xread: u16,
    xwritten: u16,
    memory: bool,
    writes_memory: bool,
    flags_read: u32,
    flags_modified: u32,
}

fn uses(insn: &Instruction) -> Option<Uses> {
    if insn.flow_control() != FlowControl::Next || !insn.cpuid_features().iter().all(|&f| integer_isa(f)) {
        return None;
    }
    let sse = insn.cpuid_features().iter().any(|f| {
        matches!(f, C::SSE | C::SSE2 | C::SSE3 | C::SSSE3 | C::SSE4_1 | C::SSE4_2 | C::AES | C::PCLMULQDQ)
    });
    if sse && insn.encoding() != iced_x86::EncodingKind::Legacy {
        return None;
    }
    let status = ICED_STATUS;
    // Status flags only, plus DF read (string instructions): the others
    // are not tracked in SSA values.
    if insn.rflags_modified() & !status != 0 || insn.rflags_read() & !(status | F::DF) != 0 {
        return None;
    }
    let mut f = InstructionInfoFactory::new();
    let info = f.info(insn);
    let mut u = Uses {
        read: 0,
        written: 0,
        xread: 0,
        xwritten: 0,
        memory: false,
        writes_memory: false,
        flags_read: insn.rflags_read(),
        flags_modified: insn.rflags_modified(),
    };
    for r in info.used_registers() {
        let reg = r.register();
        if matches!(reg, Register::ES | Register::CS | Register::SS | Register::DS) {
            continue;
        }
        if reg.is_xmm() && reg.number() < 16 {
            let bit = 1 << reg.number();
            match r.access() {
                OpAccess::Read | OpAccess::CondRead => u.xread |= bit,
                OpAccess::Write | OpAccess::CondWrite => u.xwritten |= bit,
                OpAccess::ReadWrite | OpAccess::ReadCondWrite => {
                    u.xread |= bit;
                    u.xwritten |= bit;
                }
                _ => return None,
            }
            continue;
        }
        let g = Gpr::of(reg)?;
        if g.num == 4 || g.num == 5 {
            // Implicit rsp or rbp (after `rebind`): the host stack is not
            // the guest's, and rbp may be LLVM's frame pointer.
            return None;
        }
        match r.access() {
            OpAccess::Read | OpAccess::CondRead => u.read |= 1 << g.num,
            OpAccess::Write | OpAccess::CondWrite => u.written |= 1 << g.num,
            OpAccess::ReadWrite | OpAccess::ReadCondWrite => {
                u.read |= 1 << g.num;
                u.written |= 1 << g.num;
            }
            _ => return None,
        }
    }
    for m in info.used_memory() {
        if !matches!(m.segment(), Register::ES | Register::CS | Register::SS | Register::DS | Register::None)
            || matches!(m.base(), Register::RIP | Register::EIP)
        {
            return None;
        }
        u.memory = true;
        u.writes_memory |= matches!(
            m.access(),
            OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
        );
    }
    if insn.is_ip_rel_memory_operand() || matches!(insn.segment_prefix(), Register::FS | Register::GS) {
        return None;
    }
    Some(u)
}

/// The general-purpose register `num` at `bits` (8: the low byte).
fn gpr(num: usize, bits: u32) -> Option<Register> {
    let (base, idx) = match bits {
        8 => (Register::AL, if num >= 4 { num + 4 } else { num }),
        16 => (Register::AX, num),
        32 => (Register::EAX, num),
        _ => (Register::RAX, num),
    };
    Register::values().nth(base as usize + idx)
}

/// `insn` made runnable as itself: a memory operand the host cannot
/// address as it is (RIP-relative, FS/GS-relative, based on rsp or rbp)
/// becomes `[X]`, and an explicit rsp or rbp operand another register
/// (the host's rsp is its stack, its rbp may be LLVM's frame pointer); X
/// and the substitutes are registers the instruction does not use.
/// Returns the instruction, X, and the substitutes of rsp and rbp.
fn rebind(insn: &Instruction) -> Option<(Instruction, Option<usize>, [Option<usize>; 2])> {
    let mut f = InstructionInfoFactory::new();
    let used = f
        .info(insn)
        .used_registers()
        .iter()
        .filter_map(|r| Gpr::of(r.register()))
        .fold(0u16, |a, g| a | 1 << g.num);
    let mut free = (0..16).filter(|&r| r != 4 && r != 5 && used & (1 << r) == 0);
    let (mut x, mut subs) = (None, [None, None]);
    let mut out = *insn;
    // 0 for rsp, 1 for rbp.
    let special = |r: Register| Gpr::of(r).and_then(|g| g.num.checked_sub(4)).filter(|&k| k < 2);
    let mem = (0..insn.op_count()).any(|i| insn.op_kind(i) == OpKind::Memory);
    if mem
        && (insn.is_ip_rel_memory_operand()
            || matches!(insn.memory_base(), Register::EIP)
            || matches!(insn.segment_prefix(), Register::FS | Register::GS)
            || special(insn.memory_base()).is_some()
            || special(insn.memory_index()).is_some())
    {
        let r = free.next()?;
        out.set_memory_base(gpr(r, 64)?);
        out.set_memory_index(Register::None);
        out.set_memory_index_scale(1);
        out.set_memory_displacement64(0);
        out.set_memory_displ_size(0);
        out.set_segment_prefix(Register::None);
        x = Some(r);
    }
    for i in 0..insn.op_count() {
        if insn.op_kind(i) != OpKind::Register {
            continue;
        }
        if let Some(k) = special(insn.op_register(i)) {
            let r = match subs[k] {
                Some(r) => r,
                None => free.next()?,
            };
            out.set_op_register(i, gpr(r, insn.op_register(i).size() as u32 * 8)?);
            subs[k] = Some(r);
        }
    }
    Some((out, x, subs))
}

/// A shift or rotate, whose flags stay as they were when its (masked)
/// count is zero.
pub(crate) fn counted_shift(m: Mnemonic) -> bool {
    matches!(
        m,
        Mnemonic::Shld
            | Mnemonic::Shrd
            | Mnemonic::Rcl
            | Mnemonic::Rcr
            | Mnemonic::Rol
            | Mnemonic::Ror
            | Mnemonic::Shl
            | Mnemonic::Sal
            | Mnemonic::Shr
            | Mnemonic::Sar
    )
}

impl<'ctx, 'm> Cx<'ctx, 'm> {
    /// Lowers `insn` (encoded as `bytes`) at `pc` as an opaque native
    /// instruction; `flags_dead`: the flags it writes are written again
    /// before anything reads them. Returns false, having emitted nothing,
    /// when it cannot run that way.
    pub(crate) fn lower_opaque(
        &mut self,
        pc: u64,
        insn: &Instruction,
        bytes: &[u8],
        flags_dead: bool,
    ) -> Res<bool> {
        if bytes.len() != insn.len() {
            return Ok(false);
        }
        let Some((run, x, subs)) = rebind(insn) else { return Ok(false) };
        let encoded;
        let bytes = if x.is_none() && subs == [None, None] {
            bytes
        } else {
            let mut enc = iced_x86::Encoder::new(64);
            if enc.encode(&run, pc).is_err() {
                return Ok(false);
            }
            encoded = enc.take_buffer();
            &encoded[..]
        };
        let Some(u) = uses(&run) else { return Ok(false) };
        // Host register -> the guest value it carries (None: the address).
        let guest_of = |r: usize| {
            if Some(r) == x {
                None
            } else if Some(r) == subs[0] {
                Some(4)
            } else if Some(r) == subs[1] {
                Some(5)
            } else {
                Some(r)
            }
        };
        let address = match x {
            Some(_) => Some(self.linear(insn)?),
            None => None,
        };
        let faults = matches!(insn.mnemonic(), Mnemonic::Div | Mnemonic::Idiv);
        if u.writes_memory && (insn.has_rep_prefix() || insn.has_repne_prefix()) {
            // A repeated string store that faults has done part of its
            // work: replay must start at this very instruction.
            self.sync_at(pc)?;
        } else if u.memory || faults {
            self.before_access(pc)?;
        }
        // Flags written again before anything reads them or anything can
        // leave (`flags_dead`, `control::flags_dead_after`) need not come
        // out: no `pushfq` (a `mul` in a hash loop, whose flags the next
        // shift replaces, cost 1.2x). A shift or rotate by a zero count
        // leaves the flags as they were: they go in too.
        let flags_out = u.flags_modified != 0 && !flags_dead;
        let flags_in = u.flags_read != 0 || (counted_shift(insn.mnemonic()) && flags_out);
        let i64t = self.int(64);
        let v2 = i64t.vec_type(2);
        let bound = |mask: u16, xmask: u16| -> Vec<Bound> {
            let g = (0..16).filter(move |r| mask & (1 << r) != 0).map(Bound::G);
            g.chain((0..16).filter(move |r| xmask & (1 << r) != 0).map(Bound::X)).collect()
        };
        let written = bound(u.written, u.xwritten);
        let read_only = bound(u.read & !u.written, u.xread & !u.xwritten);
        let name = |b: Bound| match b {
            Bound::G(r) => NAMES[r].to_string(),
            Bound::X(n) => format!("xmm{n}"),
        };
        // Operands: outputs (written registers, flags), then inputs
        // (written registers tied to their outputs, read-only registers,
        // flags).
        let mut cons: Vec<String> = written.iter().map(|&b| format!("={{{}}}", name(b))).collect();
        let n_out = written.len() + usize::from(flags_out);
        if flags_out {
            cons.push("=&r".into());
        }
        let mut args: Vec<BasicMetadataValueEnum> = Vec::new();
        let value = |cx: &mut Self, b: Bound| -> Res<BasicMetadataValueEnum<'ctx>> {
            Ok(match b {
                Bound::G(r) => match guest_of(r) {
                    Some(g) => cx.reg64(g)?.into(),
                    None => address.ok_or(Reject::Empty)?.into(),
                },
                Bound::X(n) => cx.xmm_get(n)?.into(),
            })
        };
        for (k, &b) in written.iter().enumerate() {
            cons.push(k.to_string());
            args.push(value(self, b)?);
        }
        for &b in &read_only {
            cons.push(format!("{{{}}}", name(b)));
            args.push(value(self, b)?);
        }
        if flags_in {
            cons.push("r".into());
            args.push(self.rflags()?.into());
        }
        cons.extend(["~{dirflag}", "~{fpsr}", "~{flags}"].map(String::from));
        if u.memory {
            cons.push("~{memory}".into());
        }
        let hex: Vec<String> = bytes.iter().map(|b| format!("0x{b:02x}")).collect();
        let mut text = String::new();
        if flags_in {
            text += &format!("pushq ${}\n\tpopfq\n\t", n_out + args.len() - 1);
        }
        text += &format!(".byte {}", hex.join(","));
        if flags_out {
            text += &format!("\n\tpushfq\n\tpopq ${}", written.len());
        }
        let ty = |b: Bound| -> BasicTypeEnum<'ctx> {
            match b {
                Bound::G(_) => i64t.into(),
                Bound::X(_) => v2.into(),
            }
        };
        let mut params: Vec<BasicMetadataTypeEnum> =
            written.iter().chain(&read_only).map(|&b| ty(b).into()).collect();
        if flags_in {
            params.push(i64t.into());
        }
        let mut out_types: Vec<BasicTypeEnum> = written.iter().map(|&b| ty(b)).collect();
        if flags_out {
            out_types.push(i64t.into());
        }
        let fty = match out_types.len() {
            0 => self.ctx.void_type().fn_type(&params, false),
            1 => out_types[0].fn_type(&params, false),
            _ => self.ctx.struct_type(&out_types, false).fn_type(&params, false),
        };
        // Without outputs the statement would be dead code to LLVM.
        // Floating point: ordered with the MXCSR loads and stores.
        let side = u.memory || faults || n_out == 0 || fp_sse(insn);
        let asm = self.ctx.create_inline_asm(
            fty,
            text,
            cons.join(","),
            side,
            false,
            Some(InlineAsmDialect::ATT),
            false,
        );
        let callee = CallableValue::try_from(asm).map_err(|_| Reject::Llvm("inline asm".into()))?;
        let call = self.b.build_call(callee, &args, "native")?;
        let mut outs: Vec<BasicValueEnum> = Vec::with_capacity(n_out);
        if n_out == 1 {
            outs.push(call.try_as_basic_value().basic().ok_or(Reject::Empty)?);
        } else if n_out > 1 {
            let agg = call.try_as_basic_value().basic().ok_or(Reject::Empty)?.into_struct_value();
            for k in 0..n_out {
                outs.push(self.b.build_extract_value(agg, k as u32, "out")?);
            }
        }
        for (k, &b) in written.iter().enumerate() {
            match b {
                Bound::G(r) => self.set_reg64(guest_of(r).ok_or(Reject::Empty)?, outs[k].into_int_value())?,
                Bound::X(n) => self.xmm_set(n, outs[k].into_vector_value())?,
            }
        }
        if flags_out {
            let fl = outs[written.len()].into_int_value();
            for (bit, f) in STATUS {
                if u.flags_modified & bit != 0 {
                    let v = self.bit_of(fl, u64::from(f.bit()))?;
                    self.set_flag(f, v);
                }
            }
        }
        if u.writes_memory {
            self.sync.stored = true;
        }
        Ok(true)
    }
}
