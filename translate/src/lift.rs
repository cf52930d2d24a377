//! Lifter: decoded guest instructions -> IR ops.
//!
//! Decides, per instruction, whether it runs natively or must be spelled out
//! (control flow, syscall, cpuid, FS/GS operands and segment register
//! loads, traps). Never emits host code.

use crate::ir::{self, IrBlock, IrInsn, MemFix, Op};
use crate::model::CpuModel;
use iced_x86::{Code, ConditionCode, Decoder, DecoderOptions, Instruction, Mnemonic, Register};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Largest number of guest instructions in one block.
pub const MAX_BLOCK_INSNS: usize = 64;

pub(crate) const SIGILL: i32 = 4;
const SIGTRAP: i32 = 5;
const SIGSEGV: i32 = 11;

/// Unsupported instructions translated (into a SIGILL trap) but not run
/// yet: guest pc -> (encoding, reason). A block goes on past a conditional
/// branch, so code a program never runs (glibc's `xgetbv` behind its
/// OSXSAVE check, data after a branch) is translated too: it is logged
/// only when it runs ([`report_unsupported`]).
static PENDING: Mutex<Option<HashMap<u64, Unsupported>>> = Mutex::new(None);
/// An unsupported instruction's encoding and why tern cannot run it.
type Unsupported = (Vec<u8>, String);
/// Encodings already logged.
static LOGGED: Mutex<Option<HashSet<Vec<u8>>>> = Mutex::new(None);

/// Notes why the instruction at `pc` (encoding `bytes`) became a SIGILL
/// trap, for [`report_unsupported`] if it runs.
pub(crate) fn log_unsupported(pc: u64, bytes: &[u8], why: &str) {
    let mut g = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    g.get_or_insert_with(HashMap::new).insert(pc, (bytes.to_vec(), why.to_string()));
}

/// The guest is about to get signal `signo` of the trap at `pc`: logs the
/// instruction tern could not run there, if any, once per distinct encoding.
pub fn report_unsupported(pc: u64, signo: i32) {
    let Some((bytes, why)) =
        PENDING.lock().unwrap_or_else(|e| e.into_inner()).as_mut().and_then(|m| m.get(&pc).cloned())
    else {
        return;
    };
    let mut g = LOGGED.lock().unwrap_or_else(|e| e.into_inner());
    let key = if bytes.is_empty() { pc.to_le_bytes().to_vec() } else { bytes.clone() };
    if g.get_or_insert_with(HashSet::new).insert(key) {
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let sig = match signo {
            SIGSEGV => "SIGSEGV".to_string(),
            SIGILL => "SIGILL".to_string(),
            n => format!("signal {n}"),
        };
        tracing::warn!("tern: {why} at {pc:#x}: bytes {} -> {sig}", hex.join(" "));
    }
}

fn cc_of(c: ConditionCode) -> u8 {
    use ConditionCode as C;
    match c {
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
        C::g => 15,
        C::None => 0xff,
    }
}

/// Which memory fix a native instruction needs.
fn mem_fix(insn: &Instruction) -> MemFix {
    if insn.is_ip_rel_memory_operand() {
        return MemFix::RipRel;
    }
    let has_mem =
        (0..insn.op_count()).any(|i| insn.op_kind(i) == iced_x86::OpKind::Memory) || implicit_rdi(insn);
    if !has_mem {
        return MemFix::None;
    }
    // LEA computes an offset: the segment base never takes part.
    if insn.mnemonic() == iced_x86::Mnemonic::Lea {
        return MemFix::None;
    }
    match insn.segment_prefix() {
        Register::FS => MemFix::Fs,
        Register::GS => MemFix::Gs,
        _ => MemFix::None,
    }
}

/// True for the instructions whose only memory operand is an implicit
/// `[rdi]` that a segment prefix overrides and that leave rdi unchanged
/// (`maskmovq`, `maskmovdqu`, `vmaskmovdqu`): with FS/GS the back end
/// adds the guest base to rdi around them.
pub(crate) fn implicit_rdi(insn: &Instruction) -> bool {
    matches!(insn.mnemonic(), Mnemonic::Maskmovq | Mnemonic::Maskmovdqu | Mnemonic::Vmaskmovdqu)
        && insn.op0_kind() == iced_x86::OpKind::MemorySegRDI
}

/// Turns an indirect branch's operand into `mov rcx, <operand>`.
fn target_load(insn: &Instruction) -> Option<(Instruction, MemFix)> {
    use iced_x86::OpKind;
    let ld = match insn.op0_kind() {
        OpKind::Register => {
            let r = insn.op0_register();
            if !r.is_gpr64() {
                return None;
            }
            Instruction::with2(Code::Mov_r64_rm64, Register::RCX, r).ok()?
        }
        OpKind::Memory => {
            let mem = iced_x86::MemoryOperand::new(
                insn.memory_base(),
                insn.memory_index(),
                insn.memory_index_scale(),
                insn.memory_displacement64() as i64,
                insn.memory_displ_size(),
                false,
                insn.segment_prefix(),
            );
            Instruction::with2(Code::Mov_r64_rm64, Register::RCX, mem).ok()?
        }
        _ => return None,
    };
    Some((ld, mem_fix(insn)))
}

/// True for the hint space (`0F 0D`, `0F 18`..`0F 1F` without VEX/EVEX):
/// prefetches, `cldemote`, `endbr64`, multi-byte NOPs. A CPU that lacks the
/// specific hint runs them as NOPs (Intel SDM vol. 2, "NOP" and "Reserved
/// NOP"), so they are never outside the CPU model; the host runs them.
/// Read from the encoding `bytes` (legacy prefixes, REX, then the opcode):
/// iced-x86's `op_code()` would build its table of every opcode, which
/// costs a short-lived process more than translating it.
fn is_hint_nop(bytes: &[u8]) -> bool {
    let is_prefix =
        |b: &u8| matches!(b, 0x26 | 0x2e | 0x36 | 0x3e | 0x64..=0x67 | 0xf0 | 0xf2 | 0xf3 | 0x40..=0x4f);
    let mut op = bytes.iter().skip_while(|b| is_prefix(b));
    op.next() == Some(&0x0f) && matches!(op.next(), Some(0x0D | 0x18..=0x1F))
}

/// True for instructions that only run at CPL 0 (`hlt`, `lgdt`, `sysret`,
/// `mov cr0`, `wrmsr`, ...): from user mode they always fault. The list is
/// iced-x86's (`OpCodeInfo::cpl3()` false in 64-bit mode, checked by the
/// test `privileged_list_is_iceds`), by mnemonic so that the opcode table
/// is not built (see `is_hint_nop`); `mov` only to or from control, debug
/// and test registers.
fn is_privileged(insn: &Instruction) -> bool {
    use Mnemonic::*;
    match insn.mnemonic() {
        Mov => (0..insn.op_count()).any(|i| {
            let r = insn.op_register(i);
            r.is_cr() || r.is_dr() || r.is_tr()
        }),
        m => PRIVILEGED.contains(&m),
    }
}

/// Mnemonics whose every 64-bit form is privileged (see `is_privileged`).
const PRIVILEGED: &[Mnemonic] = {
    use Mnemonic::*;
    &[
        Clac, Clgi, Clrssbsy, Clts, Encls, Enclv, Enqcmds, Erets, Eretu, Hlt, Hreset, Invd, Invept, Invlpg,
        Invlpga, Invlpgb, Invpcid, Invvpid, Lgdt, Lidt, Lkgs, Lldt, Lmsw, Loadiwkey, Ltr, Pbndkb, Pconfig,
        Psmash, Pvalidate, Rdmsr, Rdmsrlist, Rmpadjust, Rmpquery, Rmpupdate, Seamcall, Seamops, Seamret,
        Setssbsy, Skinit, Stac, Stgi, Swapgs, Sysexit, Sysexitq, Sysret, Sysretq, Tdcall, Tlbsync, Vmcall,
        Vmclear, Vmlaunch, Vmload, Vmptrld, Vmptrst, Vmread, Vmresume, Vmrun, Vmsave, Vmwrite, Vmxoff, Vmxon,
        Wbinvd, Wbnoinvd, Wrmsr, Wrmsrlist, Wrmsrns, Wrussd, Wrussq, Xrstors, Xrstors64, Xsaves, Xsaves64,
        Xsetbv,
    ]
};

/// An FS/GS-relative RIP-relative operand (`fs:[rip+disp]`: the segment
/// base plus the RIP-relative address), as the back end can run it.
enum SegRip {
    /// Not such an operand (or one that never reaches memory: `lea`, the
    /// hint space).
    No,
    /// The instruction with the operand made absolute (`fs:[target]`),
    /// which the back end's FS/GS fix runs as `[base + target]`.
    Absolute(Instruction),
    /// The target does not fit a sign-extended disp32 (code above 2 GiB,
    /// as PIE code is).
    Far,
}

/// Whether `insn` has an FS/GS-relative RIP-relative operand. The FS/GS fix
/// adds the guest base to a base register and a disp32, and the
/// RIP-relative fix makes the operand absolute through a host register; so
/// the two meet only when the target fits a disp32. Compilers never emit
/// this form, but the host's FS/GS base must never be used for it.
fn seg_rip(insn: &Instruction, bytes: &[u8]) -> SegRip {
    if !matches!(insn.segment_prefix(), Register::FS | Register::GS)
        || !insn.is_ip_rel_memory_operand()
        || insn.mnemonic() == Mnemonic::Lea
        || is_hint_nop(bytes)
    {
        return SegRip::No;
    }
    let target = insn.ip_rel_memory_address();
    if i32::try_from(target as i64).is_err() {
        return SegRip::Far;
    }
    let mut abs = *insn;
    abs.set_memory_base(Register::None);
    abs.set_memory_index(Register::None);
    abs.set_memory_displacement64(target);
    abs.set_memory_displ_size(4);
    SegRip::Absolute(abs)
}

/// Lifts one decoded instruction. `bytes` are its encoding (for logs).
fn lift_one(model: CpuModel, insn: &Instruction, bytes: &[u8], host_code: bool) -> Op {
    let pc = insn.ip();
    let next = insn.next_ip();
    let trap = |signo| Op::Trap { signo, rip: pc, vector: 0 };
    if insn.is_invalid() {
        log_unsupported(pc, bytes, "invalid or unknown instruction");
        return trap(SIGILL);
    }
    if is_privileged(insn) || insn.mnemonic() == Mnemonic::Rdpmc {
        // Always #GP (SIGSEGV) at CPL 3 (`rdpmc` too, unless the process
        // mapped a perf event that allows it): the host CPU raises it, and
        // the fault path gives the guest the precise state (`sysret`,
        // `hlt`, `lgdt`, `mov cr0`, `rdmsr`...), whatever the instruction's
        // control flow. Before the model check: a CPU model leaves out
        // features such as MSR, but a real CPU that lacked them would not
        // make these #UD either.
        return Op::Native { insn: *insn, fix: mem_fix(insn) };
    }
    if insn.mnemonic() == Mnemonic::Sysenter {
        // In 64-bit code an AMD CPU raises #UD; an Intel one enters the
        // kernel's 32-bit (compat) system call path, which tern, running
        // 64-bit guests only, does not have (CPUID's SEP bit describes the
        // CPU, and stays set).
        log_unsupported(pc, bytes, "sysenter, the 32-bit system call entry, which tern does not run");
        return trap(SIGILL);
    }
    if let Some(f) =
        insn.cpuid_features().iter().find(|f| !model.has(**f) && !host_code && !is_hint_nop(bytes))
    {
        log_unsupported(pc, bytes, &format!("instruction needs {f:?}, not in the CPU model"));
        return trap(SIGILL);
    }
    let absolute;
    let insn = match seg_rip(insn, bytes) {
        SegRip::No => insn,
        SegRip::Absolute(i) => {
            absolute = i;
            &absolute
        }
        SegRip::Far => {
            log_unsupported(pc, bytes, "FS/GS-relative RIP-relative operand with a target above 2 GiB");
            return trap(SIGILL);
        }
    };
    match insn.mnemonic() {
        Mnemonic::Syscall => return Op::Syscall { next },
        Mnemonic::Cpuid => return Op::Cpuid { next },
        // Reached only by models with XSAVE (the check above): the guest
        // sees the model's XCR0, not the host's.
        Mnemonic::Xgetbv => return Op::Xgetbv { next, len: insn.len() as u8 },
        Mnemonic::Int3 => return Op::Trap { signo: SIGTRAP, rip: next, vector: 0 },
        // `int1` (icebp): a #DB trap, SIGTRAP with TRAP_BRKPT.
        Mnemonic::Int1 => return Op::Trap { signo: SIGTRAP, rip: next, vector: ir::TRAP_DB },
        Mnemonic::Ud0 | Mnemonic::Ud1 | Mnemonic::Ud2 => return trap(SIGILL),
        // `int n` from user mode is a #GP (SIGSEGV) except through the
        // gates the kernel opens to it (`idt.c`'s system gates): #BP (`int
        // 3`, as `int3`, which Go's `runtime.abort` uses), #OF (`int 4`,
        // SIGSEGV after the instruction) and 0x80 (32-bit syscalls, not
        // emulated).
        Mnemonic::Int => {
            match insn.immediate8() {
                3 => return Op::Trap { signo: SIGTRAP, rip: next, vector: 0 },
                4 => return Op::Trap { signo: SIGSEGV, rip: next, vector: ir::TRAP_OF },
                0x80 => log_unsupported(pc, bytes, "int 0x80 (32-bit syscall ABI) is not supported"),
                _ => {}
            }
            return trap(SIGSEGV);
        }
        _ if crate::seg::is_guest_segment_op(insn) => return Op::Emulate,
        Mnemonic::Loop | Mnemonic::Loope | Mnemonic::Loopne | Mnemonic::Jrcxz | Mnemonic::Jecxz => {
            return Op::Loop { insn: *insn, taken: insn.near_branch_target(), next };
        }
        Mnemonic::Xbegin => return Op::Xbegin { fallback: insn.near_branch_target() },
        _ => {}
    }
    if insn.is_jcc_short_or_near() {
        return Op::Jcc { cc: cc_of(insn.condition_code()), taken: insn.near_branch_target(), next };
    }
    if insn.is_jmp_short_or_near() {
        return Op::Jmp { target: insn.near_branch_target() };
    }
    if insn.is_call_near() {
        return Op::Call { target: insn.near_branch_target(), ret: next };
    }
    match insn.code() {
        Code::Retnq => return Op::Ret { pop: 0 },
        Code::Retnq_imm16 => return Op::Ret { pop: insn.immediate16() },
        Code::Call_rm64 => {
            if let Some((operand, fix)) = target_load(insn) {
                return Op::CallInd { operand, fix, ret: next };
            }
        }
        Code::Jmp_rm64 => {
            if let Some((operand, fix)) = target_load(insn) {
                return Op::JmpInd { operand, fix };
            }
        }
        _ => {}
    }
    use iced_x86::FlowControl as F;
    match insn.flow_control() {
        F::Next => {}
        // Far branches, iret, 16-bit near branches...
        _ => {
            log_unsupported(pc, bytes, "unsupported control transfer");
            return trap(SIGILL);
        }
    }
    let fix = mem_fix(insn);
    // String instructions and XLAT address memory through implicit
    // operands; with an FS/GS override they would use the host's base.
    let implicit_mem = (0..insn.op_count()).any(|i| {
        use iced_x86::OpKind as K;
        matches!(
            insn.op_kind(i),
            K::MemorySegSI
                | K::MemorySegESI
                | K::MemorySegRSI
                | K::MemorySegDI
                | K::MemorySegEDI
                | K::MemorySegRDI
        )
    }) || insn.mnemonic() == Mnemonic::Xlatb;
    if matches!(insn.segment_prefix(), Register::FS | Register::GS) && implicit_mem && !implicit_rdi(insn) {
        log_unsupported(pc, bytes, "string instruction or XLAT with an FS/GS override");
        return trap(SIGILL);
    }
    Op::Native { insn: *insn, fix }
}

/// True if `code` starts with 15 prefix bytes (legacy or REX): whatever
/// follows, the instruction is longer than the 15 bytes the CPU allows,
/// which it reports as #GP (SIGSEGV), not #UD.
pub fn too_long(code: &[u8]) -> bool {
    code.len() >= 15
        && code[..15]
            .iter()
            .all(|b| matches!(b, 0x26 | 0x2e | 0x36 | 0x3e | 0x40..=0x4f | 0x64..=0x67 | 0xf0 | 0xf2 | 0xf3))
}

/// The vector and length of the `int imm8` that `code` starts with, with
/// whatever prefixes it has (`66 cd 2d` is `int 0x2d` too), if it is one.
pub fn int_vector(code: &[u8]) -> Option<(u8, usize)> {
    let insn = Decoder::with_ip(64, code, 0, DecoderOptions::NONE).decode();
    (insn.mnemonic() == Mnemonic::Int).then(|| (insn.immediate8(), insn.len()))
}

/// True for `popf` in all its operand sizes: the one user-mode instruction
/// tern runs that can set EFLAGS.TF (`iret` is not supported).
pub fn sets_trap_flag(insn: &Instruction) -> bool {
    matches!(insn.mnemonic(), Mnemonic::Popf | Mnemonic::Popfq)
}

/// An instruction that moves the flags to or from the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagsTransfer {
    Popf,
    Pushf,
}

/// What single-stepping needs to know of the guest instruction at `pc`
/// (`code` holds its bytes): whether it is `popf` or `pushf`.
pub fn flags_transfer(pc: u64, code: &[u8]) -> Option<FlagsTransfer> {
    let insn = Decoder::with_ip(64, code, pc, DecoderOptions::NONE).decode();
    match insn.mnemonic() {
        Mnemonic::Popf | Mnemonic::Popfq => Some(FlagsTransfer::Popf),
        Mnemonic::Pushf | Mnemonic::Pushfq => Some(FlagsTransfer::Pushf),
        _ => None,
    }
}

/// Decodes and lifts the block starting at `start`. `code` holds the guest
/// bytes readable from `start` (possibly fewer than a whole block). A block
/// ends at a control transfer, after `MAX_BLOCK_INSNS`, when the next
/// instruction starts on another page, or with `single` after one instruction.
/// `host_code` marks code the host kernel wrote for this CPU (the vDSO): its
/// instructions are not checked against the guest's CPU model.
pub fn lift_block(model: CpuModel, start: u64, code: &[u8], single: bool, host_code: bool) -> IrBlock {
    // `rep bsf`/`rep bsr` are TZCNT/LZCNT only on a CPU with BMI1/LZCNT:
    // older models read them as BSF/BSR (see `baseline`'s `native`).
    let mut opts = 0;
    if !model.has(iced_x86::CpuidFeature::BMI1) {
        opts |= DecoderOptions::NO_MPFX_0FBC;
    }
    if !model.has(iced_x86::CpuidFeature::LZCNT) {
        opts |= DecoderOptions::NO_MPFX_0FBD;
    }
    let mut dec = Decoder::with_ip(64, code, start, opts);
    // Room for a typical block: growing from empty reallocated each
    // block's list three or four times.
    let insns = Vec::with_capacity(if single { 2 } else { 24 });
    let mut block =
        IrBlock { start, end: start, insns, code: Vec::new(), predicted: None, single, check: false };
    let page = start & !0xfff;
    loop {
        let pc = dec.ip();
        if !block.insns.is_empty() && (pc & !0xfff != page || block.insns.len() >= MAX_BLOCK_INSNS || single)
        {
            block.insns.push(IrInsn { pc, len: 0, op: Op::Fallthrough { next: pc } });
            break;
        }
        let off = (pc - start) as usize;
        if off >= code.len() {
            // Nothing readable here: fetching it faults.
            block.insns.push(IrInsn { pc, len: 0, op: Op::Trap { signo: SIGSEGV, rip: pc, vector: 0 } });
            break;
        }
        let insn = dec.decode();
        if insn.is_invalid() && dec.last_error() == iced_x86::DecoderError::NoMoreBytes {
            // The instruction runs past readable memory: a fetch fault, unless
            // an earlier instruction can end the block first.
            block.insns.push(IrInsn { pc, len: 0, op: Op::Trap { signo: SIGSEGV, rip: pc, vector: 0 } });
            break;
        }
        if insn.is_invalid() && too_long(&code[off..]) {
            block.insns.push(IrInsn { pc, len: 0, op: Op::Trap { signo: SIGSEGV, rip: pc, vector: 0 } });
            break;
        }
        let len = insn.len();
        let mut insn = insn;
        if matches!(insn.mnemonic(), Mnemonic::Bsf | Mnemonic::Bsr) && insn.has_repe_prefix() {
            // Decoded as BSF/BSR (see above): re-encoded without the `rep`
            // that would make the host run TZCNT/LZCNT.
            insn.set_has_repe_prefix(false);
        }
        let op = lift_one(model, &insn, &code[off..off + len.max(1).min(code.len() - off)], host_code);
        let end = op.ends_block();
        block.insns.push(IrInsn { pc, len: len as u8, op });
        block.end = pc + len as u64;
        if end {
            break;
        }
    }
    block.code = code[..((block.end - start) as usize).min(code.len())].to_vec();
    block
}

#[cfg(test)]
mod privileged_tests {
    use super::*;
    use iced_x86::Code;

    /// `PRIVILEGED` and the `mov` rule are iced-x86's `cpl3()` table.
    #[test]
    fn privileged_list_is_iceds() {
        let mut by_mnemonic = std::collections::BTreeMap::<String, (bool, bool)>::new();
        for c in Code::values().filter(|c| c.op_code().mode64() && c.mnemonic() != Mnemonic::Mov) {
            let e = by_mnemonic.entry(format!("{:?}", c.mnemonic())).or_default();
            if c.op_code().cpl3() {
                e.0 = true;
            } else {
                e.1 = true;
            }
        }
        for (m, &(user, kernel)) in &by_mnemonic {
            let listed = PRIVILEGED.iter().any(|p| format!("{p:?}") == *m);
            assert!(!(user && kernel), "{m} has both user and privileged forms");
            assert_eq!(listed, kernel, "{m}");
        }
        for c in Code::values().filter(|c| c.op_code().mode64() && c.mnemonic() == Mnemonic::Mov) {
            let name = format!("{c:?}");
            let special = ["cr", "dr", "tr"].iter().any(|r| name.contains(&format!("_{r}")));
            assert_eq!(!c.op_code().cpl3(), special, "{name}");
        }
    }

    #[test]
    fn hint_space() {
        assert!(is_hint_nop(&[0xf3, 0x0f, 0x1e, 0xfa])); // endbr64
        assert!(is_hint_nop(&[0x66, 0x0f, 0x1f, 0x44, 0, 0])); // nopw
        assert!(is_hint_nop(&[0x0f, 0x0d, 0x08])); // prefetchw
        assert!(!is_hint_nop(&[0x0f, 0x05])); // syscall
        assert!(!is_hint_nop(&[0xc5, 0xf8, 0x18])); // VEX
    }
}
