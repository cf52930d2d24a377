//! The random program generator: valid instruction sequences that cannot
//! escape the harness.
//!
//! A program is a list of [`Group`]s, the unit the shrinker removes. Most
//! groups are one instruction drawn from every legacy-encoded `Code` that
//! iced-x86 knows, runs in 64-bit mode and exists in tern's x86-64-v2 model
//! ([`usable_codes`]), with random operands of every kind the op code allows.
//! Templates cover what needs set-up to stay safe: string operations with a
//! bounded `rcx`, forward branches (never backwards, so no loop), calls to a
//! subroutine inside the group, pushes and pops with a tracked depth,
//! segment register loads, and traps.
//!
//! With [`GenOptions::avx`], a share of the plain groups draws from
//! [`avx_codes`] instead: VEX-encoded instructions (AVX, AVX2, FMA, F16C,
//! BMI1, BMI2) and the legacy-encoded LZCNT/TZCNT/MOVBE of x86-64-v3, on xmm
//! and ymm registers whose upper halves the harness then loads and compares.
//! With [`GenOptions::evex`], a share draws from [`evex_codes`]: the
//! AVX-512 F/BW/CD/DQ/VL instructions of x86-64-v4 (EVEX, and the
//! VEX-encoded opmask instructions) on all 32 vector registers and the
//! opmask registers, with random EVEX decorations (opmask with merging or
//! zeroing, broadcast, embedded rounding, SAE), 64-byte aligned operands
//! whose displacements EVEX compresses (disp8*N), and FS-relative operands
//! against an FS base the harness sets to the scratch area. Both classes
//! take their features from tern's table (`model::FEATURES`, the rows
//! first offered by x86-64-v3 and v4). Both are off by default, and when off
//! draw nothing from the generator, so the seeds of the default campaign
//! keep their programs.
//!
//! Privileged instructions are left out of the table (they all end the run
//! with SIGSEGV); the trap template has two of them.
//!
//! Safety rules: every memory operand's address is computed at generation
//! time to fall in the scratch area (a base or index register is loaded with
//! an immediate just before the instruction, or the address is RIP-relative,
//! absolute, or `rsp`-relative with the statically known stack depth);
//! `rsp` is never an operand; branches only go forward.

use std::sync::OnceLock;

use iced_x86::{
    Code, CpuidFeature, EncodingKind, FlowControl, Instruction, Mnemonic, OpCodeOperandKind as K, OpKind,
    Register,
};
use tern_translate::model::{CpuModel, FEATURES};

use super::state::{State, SCRATCH_ADDR, SCRATCH_SIZE, STACK_TOP};
use crate::rng::Rng;

/// What a group exercises; known divergences are allowlisted by class or by
/// mnemonic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// One instruction from the table.
    Plain,
    /// A forward jump, `jcc`, `loop` or `jrcxz`.
    Branch,
    /// A call to a subroutine in the group, and its return.
    Call,
    /// A string operation, maybe with `rep`.
    String,
    /// Segment registers: `mov` to and from FS/GS/DS/ES/SS, `push`/`pop`
    /// FS/GS, `lfs`/`lgs`.
    Segment,
    /// Pushes, pops, `pushf`/`popf`, `leave`.
    Stack,
    /// One instruction from the x86-64-v3 table ([`avx_codes`]).
    Avx,
    /// One instruction from the x86-64-v4 table ([`evex_codes`]), with
    /// EVEX decorations.
    Evex,
    /// An instruction that ends the run with a signal.
    Trap,
}

/// Where a branch goes.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// Item `n` of the same group.
    Local(usize),
    /// The first instruction of the first surviving group at or after this
    /// index (or the exit jump when none survives).
    Group(usize),
}

/// One element of a group.
#[derive(Clone, Debug)]
pub enum Item {
    /// A complete instruction.
    Insn(Instruction),
    /// A near branch (`code` is a rel8/rel32 branch) to `Target`.
    Branch(Code, Target),
}

/// A unit of the program.
#[derive(Clone, Debug)]
pub struct Group {
    pub class: Class,
    pub items: Vec<Item>,
}

/// A generated case: the initial state, the scratch memory and the code.
#[derive(Clone, Debug)]
pub struct Program {
    pub seed: u64,
    pub init: State,
    pub scratch: Vec<u8>,
    pub groups: Vec<Group>,
}

/// Options for the generator.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Largest number of groups.
    pub max_groups: usize,
    /// Classes never generated.
    pub exclude: Vec<Class>,
    /// Generate no instruction of a known divergence (see
    /// [`super::KNOWN`]: segment register loads, hint-space NOPs), so that
    /// other differences show.
    pub avoid_known: bool,
    /// Draw half of the plain groups from [`avx_codes`] and give the ymm
    /// registers random upper halves (needs a host and a tern CPU model
    /// with x86-64-v3).
    pub avx: bool,
    /// Draw a share of the plain groups from [`evex_codes`], give the zmm
    /// and opmask registers random values and run the code with the FS
    /// base at [`SCRATCH_ADDR`] (needs a host and a tern CPU model with
    /// x86-64-v4; implies the ymm state of `avx`).
    pub evex: bool,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions { max_groups: 48, exclude: Vec::new(), avoid_known: false, avx: false, evex: false }
    }
}

/// Mnemonics never drawn from the table, and why.
const EXCLUDED: &[(Mnemonic, &str)] = &[
    (Mnemonic::Syscall, "a real syscall with random arguments"),
    (Mnemonic::Sysenter, "a system call gate"),
    (Mnemonic::Int, "int 0x80 is a 32-bit system call"),
    (Mnemonic::Cpuid, "tern answers from its CPU model, not the host's"),
    (Mnemonic::Rdtsc, "not deterministic"),
    (Mnemonic::Rdtscp, "not deterministic"),
    (Mnemonic::Rdpmc, "not deterministic"),
    (Mnemonic::Rdrand, "not deterministic"),
    (Mnemonic::Rdseed, "not deterministic"),
    (Mnemonic::Rdpid, "not deterministic"),
    (Mnemonic::Jmp, "templates make branches"),
    (Mnemonic::Call, "templates make calls"),
    (Mnemonic::Ret, "templates make returns"),
    (Mnemonic::Retf, "far return: leaves the sequence"),
    (Mnemonic::Iret, "leaves the sequence"),
    (Mnemonic::Iretd, "leaves the sequence"),
    (Mnemonic::Iretq, "leaves the sequence"),
    (Mnemonic::Enter, "moves rsp by a random amount"),
    (Mnemonic::Leave, "template: sets rsp from rbp"),
    (Mnemonic::Popf, "template: a random TF would trap"),
    (Mnemonic::Popfq, "template: a random TF would trap"),
    (Mnemonic::Fxsave, "stores FIP/FDP, which are host addresses under tern"),
    (Mnemonic::Fxsave64, "stores FIP/FDP, which are host addresses under tern"),
    (Mnemonic::Fnsave, "stores FIP/FDP"),
    (Mnemonic::Fsave, "stores FIP/FDP"),
    (Mnemonic::Fnstenv, "stores FIP/FDP"),
    (Mnemonic::Fstenv, "stores FIP/FDP"),
    (Mnemonic::Xsave, "stores FIP/FDP"),
    (Mnemonic::Xsave64, "stores FIP/FDP"),
    (Mnemonic::Xsaveopt, "stores FIP/FDP"),
    (Mnemonic::Xsaveopt64, "stores FIP/FDP"),
    (Mnemonic::Xsavec, "stores FIP/FDP"),
    (Mnemonic::Xsavec64, "stores FIP/FDP"),
    (Mnemonic::Xrstor, "loads the whole extended state from random memory"),
    (Mnemonic::Xrstor64, "loads the whole extended state from random memory"),
    (Mnemonic::Xgetbv, "XGETBV(1) reads XINUSE, which depends on the harness's own use of the state"),
    (Mnemonic::Xsetbv, "privileged"),
    (Mnemonic::Int3, "template (trap)"),
    (Mnemonic::Int1, "template (trap)"),
    (Mnemonic::Ud2, "template (trap)"),
    (Mnemonic::Ud0, "template (trap)"),
    (Mnemonic::Ud1, "template (trap)"),
    (Mnemonic::Hlt, "template (trap)"),
    (Mnemonic::Monitor, "waits on hardware state"),
    (Mnemonic::Mwait, "waits on hardware state"),
    (Mnemonic::Pause, "fine, but a no-op"),
];

fn operand_supported(k: K) -> bool {
    matches!(
        k,
        K::mem
            | K::mem_offs
            | K::r8_or_mem
            | K::r16_or_mem
            | K::r32_or_mem
            | K::r64_or_mem
            | K::mm_or_mem
            | K::xmm_or_mem
            | K::r8_reg
            | K::r8_opcode
            | K::r16_reg
            | K::r16_reg_mem
            | K::r16_rm
            | K::r16_opcode
            | K::r32_reg
            | K::r32_reg_mem
            | K::r32_rm
            | K::r32_opcode
            | K::r64_reg
            | K::r64_reg_mem
            | K::r64_rm
            | K::r64_opcode
            | K::seg_reg
            | K::mm_reg
            | K::mm_rm
            | K::xmm_reg
            | K::xmm_rm
            | K::es
            | K::cs
            | K::ss
            | K::ds
            | K::fs
            | K::gs
            | K::al
            | K::cl
            | K::ax
            | K::dx
            | K::eax
            | K::rax
            | K::st0
            | K::sti_opcode
            | K::imm8
            | K::imm8_const_1
            | K::imm8sex16
            | K::imm8sex32
            | K::imm8sex64
            | K::imm16
            | K::imm32
            | K::imm32sex64
            | K::imm64
            | K::seg_rSI
            | K::es_rDI
            | K::seg_rDI
            | K::seg_rBX_al
    )
}

/// Every `Code` the table draws from: legacy encoding, valid in 64-bit
/// mode, all its CPUID features in the x86-64-v2 model, operands of a
/// supported kind, not excluded.
pub fn usable_codes() -> &'static [Code] {
    static CODES: OnceLock<Vec<Code>> = OnceLock::new();
    CODES.get_or_init(|| {
        Code::values()
            .filter(|&c| {
                let op = c.op_code();
                op.is_instruction()
                    && op.encoding() == EncodingKind::Legacy
                    && op.mode64()
                    && !op.is_input_output()
                    && c.flow_control() == FlowControl::Next
                    && !op.is_privileged()
                    && !op.must_be_cpl0()
                    && c.cpuid_features().iter().all(|&f| CpuModel::V2.has(f))
                    && !EXCLUDED.iter().any(|(m, _)| *m == c.mnemonic())
                    && (0..op.op_count()).all(|i| operand_supported(op.op_kind(i)))
                    && !c.is_jcc_short_or_near()
                    && !c.is_loop()
                    && !c.is_loopcc()
                    && !matches!(c.mnemonic(), Mnemonic::Jrcxz | Mnemonic::Jecxz | Mnemonic::Jcxz)
            })
            .collect()
    })
}

/// Operand kinds of VEX instructions the AVX class also fills.
fn vex_operand_supported(k: K) -> bool {
    operand_supported(k)
        || matches!(
            k,
            K::xmm_vvvv
                | K::xmm_is4
                | K::ymm_reg
                | K::ymm_rm
                | K::ymm_vvvv
                | K::ymm_is4
                | K::ymm_or_mem
                | K::r32_vvvv
                | K::r64_vvvv
        )
}

/// The CPUID features of the instructions `model` adds to the model before
/// it: the `insns` of the rows of tern's feature table
/// ([`tern_translate::model::FEATURES`]) first offered by `model`.
pub fn features_new_in(model: CpuModel) -> Vec<CpuidFeature> {
    FEATURES.iter().filter(|f| f.since == model).flat_map(|f| f.insns.iter().copied()).collect()
}

/// The features of x86-64-v3 ([`features_new_in`]), asked once.
fn v3_features() -> &'static [CpuidFeature] {
    static FEATS: OnceLock<Vec<CpuidFeature>> = OnceLock::new();
    FEATS.get_or_init(|| features_new_in(CpuModel::V3))
}

/// Every `Code` of the AVX class: legacy or VEX encoding, valid in 64-bit
/// mode, needing at least one feature x86-64-v3 adds ([`features_new_in`])
/// and nothing outside x86-64-v3, operands of a supported kind (no VSIB:
/// gathers are in `tests/guest/insn_avx2.c`), not excluded (the XSAVE
/// family of v3 is state management, in [`EXCLUDED`]).
pub fn avx_codes() -> &'static [Code] {
    static CODES: OnceLock<Vec<Code>> = OnceLock::new();
    CODES.get_or_init(|| {
        Code::values()
            .filter(|&c| {
                let op = c.op_code();
                let feats = c.cpuid_features();
                op.is_instruction()
                    && matches!(op.encoding(), EncodingKind::Legacy | EncodingKind::VEX)
                    && op.mode64()
                    && c.flow_control() == FlowControl::Next
                    && feats.iter().any(|f| v3_features().contains(f))
                    && feats.iter().all(|&f| CpuModel::V3.has(f))
                    && !EXCLUDED.iter().any(|(m, _)| *m == c.mnemonic())
                    && (0..op.op_count()).all(|i| vex_operand_supported(op.op_kind(i)))
            })
            .collect()
    })
}

/// Operand kinds of EVEX instructions (and the VEX-encoded opmask
/// instructions) the EVEX class also fills.
fn evex_operand_supported(k: K) -> bool {
    vex_operand_supported(k)
        || matches!(
            k,
            K::zmm_reg
                | K::zmm_rm
                | K::zmm_vvvv
                | K::zmm_or_mem
                | K::k_reg
                | K::k_rm
                | K::k_vvvv
                | K::k_or_mem
        )
}

/// Every `Code` of the EVEX class: EVEX or VEX encoding, valid in 64-bit
/// mode, needing at least one feature x86-64-v4 adds (AVX-512 F, BW, CD,
/// DQ, VL: [`features_new_in`]) and nothing outside x86-64-v4, operands of
/// a supported kind (no VSIB: gathers and scatters are in
/// `tests/guest/insn_avx512*.c`), not excluded.
pub fn evex_codes() -> &'static [Code] {
    static CODES: OnceLock<Vec<Code>> = OnceLock::new();
    CODES.get_or_init(|| {
        let v4 = features_new_in(CpuModel::V4);
        Code::values()
            .filter(|&c| {
                let op = c.op_code();
                let feats = c.cpuid_features();
                op.is_instruction()
                    && matches!(op.encoding(), EncodingKind::EVEX | EncodingKind::VEX)
                    && op.mode64()
                    && c.flow_control() == FlowControl::Next
                    && feats.iter().any(|f| v4.contains(f))
                    && feats.iter().all(|&f| CpuModel::V4.has(f))
                    && !EXCLUDED.iter().any(|(m, _)| *m == c.mnemonic())
                    && (0..op.op_count()).all(|i| evex_operand_supported(op.op_kind(i)))
            })
            .collect()
    })
}

const GPR64: [Register; 15] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RBX,
    Register::RBP,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R11,
    Register::R12,
    Register::R13,
    Register::R14,
    Register::R15,
];

/// The register of `r64` (never RSP) with `bits` bits.
fn sized(r64: Register, bits: u32) -> Register {
    let bytes = (bits / 8) as usize;
    Register::values()
        .find(|r| {
            r.is_gpr()
                && r.full_register() == r64
                && r.size() == bytes
                && !matches!(r, Register::AH | Register::CH | Register::DH | Register::BH)
        })
        .unwrap_or(r64)
}

fn gpr(rng: &mut Rng, bits: u32) -> Register {
    if bits == 8 && rng.chance(15) {
        return rng.pick(&[Register::AH, Register::CH, Register::DH, Register::BH]);
    }
    sized(rng.pick(&GPR64), bits)
}

fn xmm(rng: &mut Rng) -> Register {
    Register::values().nth(Register::XMM0 as usize + rng.index(16)).unwrap()
}

fn ymm(rng: &mut Rng) -> Register {
    Register::values().nth(Register::YMM0 as usize + rng.index(16)).unwrap()
}

/// Register `n` (0..32) of the vector file starting at `first`
/// (`XMM0`, `YMM0`, `ZMM0`).
fn vreg(first: Register, n: usize) -> Register {
    Register::values().nth(first as usize + n).unwrap()
}

fn kreg(rng: &mut Rng) -> Register {
    Register::values().nth(Register::K0 as usize + rng.index(8)).unwrap()
}

fn mm(rng: &mut Rng) -> Register {
    Register::values().nth(Register::MM0 as usize + rng.index(8)).unwrap()
}

fn st(rng: &mut Rng) -> Register {
    Register::values().nth(Register::ST0 as usize + rng.index(8)).unwrap()
}

fn mov_imm64(r: Register, v: u64) -> Instruction {
    Instruction::with2(Code::Mov_r64_imm64, r, v).expect("mov r64, imm64")
}

/// Generation state: the stack depth in bytes below `STACK_TOP`.
struct Gen<'a> {
    rng: &'a mut Rng,
    depth: u64,
    avoid_known: bool,
    /// An EVEX-class group is being drawn: 32 vector registers, EVEX
    /// decorations, 64-byte operands, compressible displacements and
    /// FS-relative addresses.
    evex: bool,
    /// The FS base the code runs with (0: the C library's, never used for
    /// addressing).
    fs_base: u64,
}

/// Largest stack depth the generator lets pushes reach.
const MAX_DEPTH: u64 = 0x200;
/// Memory operands fall in `SCRATCH_ADDR .. SCRATCH_ADDR + DATA_SIZE`.
const DATA_SIZE: u64 = 0x2000;

impl Gen<'_> {
    /// A data address with `size` bytes in the scratch area.
    fn data_addr(&mut self, size: u64) -> u64 {
        let span = DATA_SIZE - size.max(1);
        let mut off = self.rng.below(span);
        if self.rng.chance(80) {
            off &= if self.evex { !63 } else { !15 };
        }
        SCRATCH_ADDR + off
    }

    /// A displacement for a base register (EVEX class): often a small
    /// multiple of 64, which every EVEX memory operand compresses to disp8
    /// (disp8*N, N <= 64), else a multiple of 4 or 8 in disp8*N range of
    /// narrower operands, else anything up to 0x400 either way (disp32).
    fn evex_disp(&mut self) -> i64 {
        match self.rng.below(4) {
            0 | 1 => (self.rng.below(9) as i64 - 4) * 64,
            2 => (self.rng.below(129) as i64 - 64) * if self.rng.chance(50) { 4 } else { 8 },
            _ => self.rng.below(0x800) as i64 - 0x400,
        }
    }

    /// Fills operand `i` of `ins` with a memory operand of `size` bytes;
    /// pushes set-up instructions to `pre`.
    fn memory(&mut self, ins: &mut Instruction, i: u32, size: u64, pre: &mut Vec<Item>, offs: bool) {
        let mut ea = self.data_addr(size);
        ins.set_op_kind(i, OpKind::Memory);
        ins.set_memory_index_scale(1);
        // FS-relative: the address is relative to the FS base.
        if self.evex && self.fs_base != 0 && self.rng.chance(30) {
            ea = ea.wrapping_sub(self.fs_base);
            ins.set_segment_prefix(Register::FS);
        }
        if offs {
            ins.set_memory_displacement64(ea);
            ins.set_memory_displ_size(8);
            return;
        }
        match self.rng.below(5) {
            0 => {
                ins.set_memory_base(Register::RIP);
                ins.set_memory_displacement64(ea);
                ins.set_memory_displ_size(8);
            }
            1 => {
                ins.set_memory_displacement64(ea);
                ins.set_memory_displ_size(4);
            }
            2 => {
                let rsp = STACK_TOP - self.depth;
                ins.set_memory_base(Register::RSP);
                ins.set_memory_displacement64(ea.wrapping_sub(rsp));
                ins.set_memory_displ_size(4);
            }
            _ => {
                let base = self.rng.pick(&GPR64);
                let scale = self.rng.pick(&[1u32, 2, 4, 8]);
                let disp = if self.evex { self.evex_disp() as u64 } else { self.rng.below(0x100) };
                let mut rest = ea.wrapping_sub(disp);
                if self.rng.chance(40) {
                    let index = loop {
                        let r = self.rng.pick(&GPR64);
                        if r != base {
                            break r;
                        }
                    };
                    let iv = self.rng.below(0x80);
                    rest = rest.wrapping_sub(iv * u64::from(scale));
                    ins.set_memory_index(index);
                    ins.set_memory_index_scale(scale);
                    pre.push(Item::Insn(mov_imm64(index, iv)));
                }
                pre.push(Item::Insn(mov_imm64(base, rest)));
                ins.set_memory_base(base);
                ins.set_memory_displacement64(disp);
                ins.set_memory_displ_size(if disp == 0 && self.rng.chance(50) { 0 } else { 1 });
            }
        }
    }

    /// Random EVEX decorations for `ins`, as its op code allows: an opmask
    /// (k1-k7) with merging or zeroing, a broadcast memory operand, embedded
    /// rounding or suppress-all-exceptions on register forms. False when the
    /// draw breaks a register rule of the op code.
    fn evex_decorations(&mut self, ins: &mut Instruction) -> bool {
        let op = ins.code().op_code();
        let n = ins.op_count();
        let has_mem = (0..n).any(|i| ins.op_kind(i) == OpKind::Memory);
        if op.can_use_op_mask_register() && (op.require_op_mask_register() || self.rng.chance(60)) {
            ins.set_op_mask(vreg(Register::K1, self.rng.index(7)));
            if op.can_use_zeroing_masking() && ins.op0_kind() != OpKind::Memory && self.rng.chance(50) {
                ins.set_zeroing_masking(true);
            }
        }
        if has_mem && op.can_broadcast() && self.rng.chance(40) {
            ins.set_is_broadcast(true);
        }
        if !has_mem {
            if op.can_use_rounding_control() && self.rng.chance(30) {
                use iced_x86::RoundingControl as R;
                ins.set_rounding_control(self.rng.pick(&[
                    R::RoundToNearest,
                    R::RoundDown,
                    R::RoundUp,
                    R::RoundTowardZero,
                ]));
            } else if op.can_suppress_all_exceptions() && self.rng.chance(30) {
                ins.set_suppress_all_exceptions(true);
            }
        }
        let regs: Vec<u32> = (0..n)
            .filter(|&i| ins.op_kind(i) == OpKind::Register)
            .map(|i| ins.op_register(i).number() as u32)
            .collect();
        let unique = |r: &[u32]| r.iter().enumerate().all(|(i, a)| !r[i + 1..].contains(a));
        if op.requires_unique_reg_nums() && !unique(&regs) {
            return false;
        }
        !(op.requires_unique_dest_reg_num() && regs.len() > 1 && regs[1..].contains(&regs[0]))
    }

    /// One instruction of `code` with random operands, or `None` when iced
    /// cannot encode the draw.
    fn plain(&mut self, code: Code) -> Option<Vec<Item>> {
        if self.avoid_known && (loads_segment(code) || code.mnemonic() == Mnemonic::Reservednop) {
            return None;
        }
        let op = code.op_code();
        let mut ins = Instruction::default();
        ins.set_code(code);
        let mut pre = Vec::new();
        let msize = (op.memory_size().size() as u64).max(if self.evex { 64 } else { 1 });
        // EVEX encodes 32 vector registers.
        let nvec = if op.encoding() == EncodingKind::EVEX { 32 } else { 16 };
        for i in 0..op.op_count() {
            let k = op.op_kind(i);
            let mem = |g: &mut Self| g.rng.chance(50);
            let reg = match k {
                K::r8_reg | K::r8_opcode => Some(gpr(self.rng, 8)),
                K::r16_reg | K::r16_reg_mem | K::r16_rm | K::r16_opcode => Some(gpr(self.rng, 16)),
                K::r32_reg | K::r32_reg_mem | K::r32_rm | K::r32_opcode => Some(gpr(self.rng, 32)),
                K::r64_reg | K::r64_reg_mem | K::r64_rm | K::r64_opcode => Some(gpr(self.rng, 64)),
                K::mm_reg | K::mm_rm => Some(mm(self.rng)),
                K::xmm_reg | K::xmm_rm | K::xmm_vvvv if nvec == 32 => {
                    Some(vreg(Register::XMM0, self.rng.index(32)))
                }
                K::ymm_reg | K::ymm_rm | K::ymm_vvvv if nvec == 32 => {
                    Some(vreg(Register::YMM0, self.rng.index(32)))
                }
                K::xmm_reg | K::xmm_rm | K::xmm_vvvv | K::xmm_is4 => Some(xmm(self.rng)),
                K::ymm_reg | K::ymm_rm | K::ymm_vvvv | K::ymm_is4 => Some(ymm(self.rng)),
                K::zmm_reg | K::zmm_rm | K::zmm_vvvv => Some(vreg(Register::ZMM0, self.rng.index(32))),
                K::k_reg | K::k_rm | K::k_vvvv => Some(kreg(self.rng)),
                K::r32_vvvv => Some(gpr(self.rng, 32)),
                K::r64_vvvv => Some(gpr(self.rng, 64)),
                K::st0 => Some(Register::ST0),
                K::sti_opcode => Some(st(self.rng)),
                K::es => Some(Register::ES),
                K::cs => Some(Register::CS),
                K::ss => Some(Register::SS),
                K::ds => Some(Register::DS),
                K::fs => Some(Register::FS),
                K::gs => Some(Register::GS),
                K::al => Some(Register::AL),
                K::cl => Some(Register::CL),
                K::ax => Some(Register::AX),
                K::dx => Some(Register::DX),
                K::eax => Some(Register::EAX),
                K::rax => Some(Register::RAX),
                K::seg_reg => Some(self.rng.pick(&[
                    Register::ES,
                    Register::SS,
                    Register::DS,
                    Register::FS,
                    Register::GS,
                    Register::CS,
                ])),
                K::r8_or_mem if !mem(self) => Some(gpr(self.rng, 8)),
                K::r16_or_mem if !mem(self) => Some(gpr(self.rng, 16)),
                K::r32_or_mem if !mem(self) => Some(gpr(self.rng, 32)),
                K::r64_or_mem if !mem(self) => Some(gpr(self.rng, 64)),
                K::mm_or_mem if !mem(self) => Some(mm(self.rng)),
                K::xmm_or_mem if !mem(self) => Some(xmm(self.rng)),
                K::xmm_or_mem if nvec == 32 && !mem(self) => Some(vreg(Register::XMM0, self.rng.index(32))),
                K::ymm_or_mem if nvec == 32 && !mem(self) => Some(vreg(Register::YMM0, self.rng.index(32))),
                K::ymm_or_mem if !mem(self) => Some(ymm(self.rng)),
                K::zmm_or_mem if !mem(self) => Some(vreg(Register::ZMM0, self.rng.index(32))),
                K::k_or_mem if !mem(self) => Some(kreg(self.rng)),
                _ => None,
            };
            if let Some(r) = reg {
                ins.set_op_kind(i, OpKind::Register);
                ins.set_op_register(i, r);
                continue;
            }
            let v = self.rng.interesting();
            match k {
                K::imm8 => {
                    ins.set_op_kind(i, OpKind::Immediate8);
                    ins.set_immediate8(v as u8);
                }
                K::imm8_const_1 => {
                    ins.set_op_kind(i, OpKind::Immediate8);
                    ins.set_immediate8(1);
                }
                K::imm8sex16 => {
                    ins.set_op_kind(i, OpKind::Immediate8to16);
                    ins.set_immediate8to16(i16::from(v as i8));
                }
                K::imm8sex32 => {
                    ins.set_op_kind(i, OpKind::Immediate8to32);
                    ins.set_immediate8to32(i32::from(v as i8));
                }
                K::imm8sex64 => {
                    ins.set_op_kind(i, OpKind::Immediate8to64);
                    ins.set_immediate8to64(i64::from(v as i8));
                }
                K::imm16 => {
                    ins.set_op_kind(i, OpKind::Immediate16);
                    ins.set_immediate16(v as u16);
                }
                K::imm32 => {
                    ins.set_op_kind(i, OpKind::Immediate32);
                    ins.set_immediate32(v as u32);
                }
                K::imm32sex64 => {
                    ins.set_op_kind(i, OpKind::Immediate32to64);
                    ins.set_immediate32to64(i64::from(v as i32));
                }
                K::imm64 => {
                    ins.set_op_kind(i, OpKind::Immediate64);
                    ins.set_immediate64(v);
                }
                K::seg_rSI | K::es_rDI | K::seg_rDI => {
                    let (kind, r) = match k {
                        K::seg_rSI => (OpKind::MemorySegRSI, Register::RSI),
                        K::es_rDI => (OpKind::MemoryESRDI, Register::RDI),
                        _ => (OpKind::MemorySegRDI, Register::RDI),
                    };
                    ins.set_op_kind(i, kind);
                    let a = self.data_addr(64) + 0x1000;
                    pre.push(Item::Insn(mov_imm64(r, a.min(SCRATCH_ADDR + DATA_SIZE - 64))));
                }
                K::seg_rBX_al => {
                    ins.set_op_kind(i, OpKind::Memory);
                    ins.set_memory_base(Register::RBX);
                    ins.set_memory_index(Register::AL);
                    ins.set_memory_index_scale(1);
                    let a = self.data_addr(256);
                    pre.push(Item::Insn(mov_imm64(Register::RBX, a)));
                }
                K::mem_offs => self.memory(&mut ins, i, msize, &mut pre, true),
                _ => self.memory(&mut ins, i, msize, &mut pre, false),
            }
        }
        // bt/bts/btr/btc with a memory operand and a register bit offset
        // address memory beyond the operand: keep the offset small.
        if matches!(code.mnemonic(), Mnemonic::Bt | Mnemonic::Bts | Mnemonic::Btr | Mnemonic::Btc)
            && ins.op0_kind() == OpKind::Memory
            && ins.op1_kind() == OpKind::Register
        {
            let r = ins.op1_register().full_register();
            pre.push(Item::Insn(mov_imm64(r, self.rng.below(256))));
            if r == ins.memory_base() || r == ins.memory_index() {
                return None;
            }
        }
        if op.encoding() == EncodingKind::EVEX && !self.evex_decorations(&mut ins) {
            return None;
        }
        // A bit-offset register clobbered by a later base set-up is harmless;
        // a base set-up clobbered by an earlier one is not: each set-up
        // register must be distinct.
        if op.can_use_lock_prefix() && ins.op0_kind() == OpKind::Memory && self.rng.chance(30) {
            ins.set_has_lock_prefix(true);
        }
        if is_string(code) && self.rng.chance(60) {
            pre.push(Item::Insn(mov_imm64(Register::RCX, self.rng.below(24))));
            if op.can_use_repne_prefix() && self.rng.chance(50) {
                ins.set_has_repne_prefix(true);
            } else {
                ins.set_has_rep_prefix(true);
            }
        }
        // The stack: pushes and pops keep the depth in range.
        let delta = stack_delta(code);
        if delta > 0 && self.depth + delta as u64 > MAX_DEPTH || delta < 0 && self.depth < (-delta) as u64 {
            return None;
        }
        self.depth = (self.depth as i64 + delta) as u64;
        // Writing to a register that holds a base address of an operand
        // after it is fine; writing rsp is not possible (never chosen).
        let mut encoder = iced_x86::Encoder::new(64);
        encoder.encode(&ins, super::state::CODE_ADDR).ok()?;
        pre.push(Item::Insn(ins));
        Some(pre)
    }
}

/// True for a `Code` that writes a segment register.
pub fn loads_segment(c: Code) -> bool {
    matches!(c.mnemonic(), Mnemonic::Lfs | Mnemonic::Lgs | Mnemonic::Lss)
        || matches!(c.op_code().op_kind(0), K::seg_reg | K::es | K::cs | K::ss | K::ds | K::fs | K::gs)
            && matches!(c.mnemonic(), Mnemonic::Mov | Mnemonic::Pop)
}

fn is_string(code: Code) -> bool {
    use Mnemonic as M;
    matches!(
        code.mnemonic(),
        M::Movsb
            | M::Movsw
            | M::Movsd
            | M::Movsq
            | M::Stosb
            | M::Stosw
            | M::Stosd
            | M::Stosq
            | M::Lodsb
            | M::Lodsw
            | M::Lodsd
            | M::Lodsq
            | M::Cmpsb
            | M::Cmpsw
            | M::Cmpsd
            | M::Cmpsq
            | M::Scasb
            | M::Scasw
            | M::Scasd
            | M::Scasq
    ) && code.op_code().op_count() > 0
        && !matches!(code.op_code().op_kind(0), K::xmm_reg)
}

/// Bytes a table instruction pushes (positive) or pops (negative).
fn stack_delta(code: Code) -> i64 {
    let op = code.op_code();
    if !op.is_stack_instruction() {
        return 0;
    }
    let size = if op.operand_size() == 16 { 2 } else { 8 };
    match code.mnemonic() {
        Mnemonic::Push | Mnemonic::Pushf | Mnemonic::Pushfq => size,
        Mnemonic::Pop => -size,
        _ => 0,
    }
}

/// Generates the program for `seed`.
pub fn generate(seed: u64, opts: &GenOptions) -> Program {
    let mut rng = Rng::new(seed);
    let init = random_state(&mut rng);
    let mut scratch = vec![0u8; SCRATCH_SIZE];
    for chunk in scratch.chunks_mut(8) {
        let v = rng.interesting().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    let n = 4 + rng.index(opts.max_groups.max(5) - 4);
    let trap_at = if rng.chance(15) { Some(rng.index(n)) } else { None };
    let codes = usable_codes();
    let fs_base = if opts.evex { SCRATCH_ADDR } else { 0 };
    let mut g = Gen { rng: &mut rng, depth: 0, avoid_known: opts.avoid_known, evex: false, fs_base };
    let mut groups = Vec::with_capacity(n);
    for gi in 0..n {
        let class = if trap_at == Some(gi) {
            Class::Trap
        } else {
            let r = g.rng.below(100);
            match r {
                0..=74 => Class::Plain,
                75..=81 => Class::Branch,
                82..=85 => Class::Call,
                86..=89 => Class::String,
                90..=94 => Class::Stack,
                _ => Class::Segment,
            }
        };
        let class = if opts.evex && class == Class::Plain && g.rng.chance(60) { Class::Evex } else { class };
        let class = if opts.avx && class == Class::Plain && g.rng.chance(50) { Class::Avx } else { class };
        if opts.exclude.contains(&class) || opts.avoid_known && class == Class::Segment {
            continue;
        }
        let items = match class {
            Class::Plain => (0..8).find_map(|_| {
                let c = g.rng.pick(codes);
                g.plain(c)
            }),
            Class::Avx => (0..8).find_map(|_| {
                let c = g.rng.pick(avx_codes());
                g.plain(c)
            }),
            Class::Evex => (0..8).find_map(|_| {
                let c = g.rng.pick(evex_codes());
                g.evex = true;
                let items = g.plain(c);
                g.evex = false;
                items
            }),
            Class::Branch => Some(branch(&mut g, gi, n)),
            Class::Call => call(&mut g, codes),
            Class::String => string_op(&mut g),
            Class::Stack => stack(&mut g),
            Class::Segment => Some(segment(&mut g)),
            Class::Trap => Some(trap(&mut g)),
        };
        if let Some(items) = items {
            groups.push(Group { class, items });
        }
    }
    let mut init = init;
    if opts.avx || opts.evex {
        init.avx = true;
        for y in init.ymmh.iter_mut() {
            *y = [rng.interesting(), rng.interesting()];
        }
    }
    if opts.evex {
        init.evex = true;
        init.fsbase = fs_base;
        let floats =
            [0x3ff0_0000_0000_0000u64, 0x7ff8_0000_0000_0000, 0x3f80_0000_4000_0000, 0x8000_0000_0000_0000];
        let word = |rng: &mut Rng| if rng.chance(30) { rng.pick(&floats) } else { rng.interesting() };
        for w in init.zmmh.iter_mut().flatten().chain(init.zmm16.iter_mut().flatten()) {
            *w = word(&mut rng);
        }
        for k in init.k.iter_mut() {
            *k = rng.interesting();
        }
    }
    Program { seed, init, scratch, groups }
}

fn random_state(rng: &mut Rng) -> State {
    let mut gpr = [0u64; 16];
    for r in gpr.iter_mut() {
        *r = rng.interesting();
    }
    gpr[4] = STACK_TOP;
    let mut flags = 0x202 | (rng.next_u64() & 0x8d5);
    if rng.chance(15) {
        flags |= 0x400;
    }
    let mut mxcsr = 0x1f80u64;
    if rng.chance(30) {
        // Rounding mode, FTZ, DAZ, and unmasked exceptions (which make SSE
        // instructions raise SIGFPE).
        mxcsr = (mxcsr & !0x6000) | (rng.below(4) << 13);
        if rng.chance(30) {
            mxcsr |= 0x8000;
        }
        if rng.chance(30) {
            mxcsr |= 0x40;
        }
        if rng.chance(30) {
            mxcsr &= !(rng.next_u64() & 0x1f80);
        }
    }
    let mut xmm = [[0u64; 2]; 16];
    let floats =
        [0x3ff0_0000_0000_0000u64, 0x7ff8_0000_0000_0000, 0x3f80_0000_4000_0000, 0x8000_0000_0000_0000, 1];
    for x in xmm.iter_mut() {
        for half in x.iter_mut() {
            *half = if rng.chance(30) { rng.pick(&floats) } else { rng.interesting() };
        }
    }
    State {
        gpr,
        rflags: flags,
        mxcsr,
        xmm,
        seg: [0; 4],
        fx: Vec::new(),
        ymmh: [[0; 2]; 16],
        avx: false,
        evex: false,
        fsbase: 0,
        zmmh: [[0; 4]; 16],
        zmm16: [[0; 8]; 16],
        k: [0; 8],
    }
}

fn branch(g: &mut Gen, gi: usize, n: usize) -> Vec<Item> {
    let target = Target::Group(gi + 1 + g.rng.index(3.min(n - gi)));
    let codes = [
        Code::Jmp_rel8_64,
        Code::Jmp_rel32_64,
        Code::Jo_rel8_64,
        Code::Jne_rel32_64,
        Code::Jb_rel8_64,
        Code::Jae_rel32_64,
        Code::Je_rel8_64,
        Code::Jbe_rel8_64,
        Code::Ja_rel32_64,
        Code::Js_rel8_64,
        Code::Jns_rel32_64,
        Code::Jp_rel8_64,
        Code::Jnp_rel8_64,
        Code::Jl_rel8_64,
        Code::Jge_rel32_64,
        Code::Jle_rel8_64,
        Code::Jg_rel32_64,
        Code::Loop_rel8_64_RCX,
        Code::Loope_rel8_64_RCX,
        Code::Loopne_rel8_64_RCX,
        Code::Jrcxz_rel8_64,
        Code::Loop_rel8_64_ECX,
        Code::Jecxz_rel8_64,
    ];
    vec![Item::Branch(g.rng.pick(&codes), target)]
}

/// `call L; jmp END; L: body; ret; END:` (the body keeps the stack balanced).
fn call(g: &mut Gen, codes: &[Code]) -> Option<Vec<Item>> {
    if g.depth + 8 > MAX_DEPTH {
        return None;
    }
    let saved = g.depth;
    g.depth += 8;
    let mut body = Vec::new();
    for _ in 0..1 + g.rng.index(3) {
        let c = g.rng.pick(codes);
        if stack_delta(c) != 0 {
            continue;
        }
        if let Some(items) = g.plain(c) {
            body.extend(items);
        }
    }
    g.depth = saved;
    let end = 4 + body.len();
    let mut items = vec![
        Item::Branch(Code::Call_rel32_64, Target::Local(2)),
        Item::Branch(Code::Jmp_rel32_64, Target::Local(end)),
    ];
    items.push(Item::Insn(Instruction::with(Code::Nopd)));
    items.extend(body);
    items.push(Item::Insn(Instruction::with(Code::Retnq)));
    items.push(Item::Insn(Instruction::with(Code::Nopd)));
    Some(items)
}

fn string_op(g: &mut Gen) -> Option<Vec<Item>> {
    let codes = [
        Code::Movsb_m8_m8,
        Code::Movsw_m16_m16,
        Code::Movsd_m32_m32,
        Code::Movsq_m64_m64,
        Code::Stosb_m8_AL,
        Code::Stosq_m64_RAX,
        Code::Stosd_m32_EAX,
        Code::Lodsb_AL_m8,
        Code::Lodsq_RAX_m64,
        Code::Cmpsb_m8_m8,
        Code::Cmpsq_m64_m64,
        Code::Scasb_AL_m8,
        Code::Scasd_EAX_m32,
    ];
    let c = g.rng.pick(&codes);
    let mut items = g.plain(c)?;
    if g.rng.chance(30) {
        items.insert(0, Item::Insn(Instruction::with(if g.rng.chance(50) { Code::Std } else { Code::Cld })));
    }
    Some(items)
}

fn stack(g: &mut Gen) -> Option<Vec<Item>> {
    match g.rng.below(4) {
        0 if g.depth + 8 <= MAX_DEPTH => {
            // popf of a sanitized value: arithmetic flags and DF only.
            let v = (g.rng.next_u64() & 0xcd5) | 0x202;
            Some(vec![
                Item::Insn(Instruction::with1(Code::Pushq_imm32, v as i32).ok()?),
                Item::Insn(Instruction::with(Code::Popfq)),
            ])
        }
        1 => {
            // leave with rbp inside the stack area, at or above rsp.
            let rsp = STACK_TOP - g.depth;
            let up = g.rng.below(g.depth / 8 + 1) * 8;
            g.depth -= up;
            g.depth = g.depth.saturating_sub(8);
            Some(vec![
                Item::Insn(mov_imm64(Register::RBP, rsp + up)),
                Item::Insn(Instruction::with(Code::Leaveq)),
            ])
        }
        2 => {
            let c = g.rng.pick(&[
                Code::Push_r64,
                Code::Push_rm64,
                Code::Pushq_imm8,
                Code::Pushfq,
                Code::Push_r16,
            ]);
            g.plain(c)
        }
        _ => {
            let c = g.rng.pick(&[Code::Pop_r64, Code::Pop_rm64, Code::Pop_r16]);
            g.plain(c)
        }
    }
}

/// Segment registers, with null, valid and invalid selectors.
fn segment(g: &mut Gen) -> Vec<Item> {
    // No null selector with a nonzero RPL (1..=3): natively its RPL bits
    // read back as 0 after any exception or interrupt (a page fault, a timer
    // tick; only `syscall` keeps them), so the native result varies from run
    // to run. tern keeps the RPL; README "Compatibility" says so.
    let any = match g.rng.below(0x10000) {
        1..=3 => 0,
        v => v,
    };
    let sel = g.rng.pick(&[0u64, 0, 0x2b, 0x33, 0x23, 0x53, any]);
    let sreg = g.rng.pick(&[Register::FS, Register::GS, Register::DS, Register::ES, Register::SS]);
    let r = g.rng.pick(&GPR64);
    match g.rng.below(5) {
        0 => vec![
            Item::Insn(mov_imm64(r, sel)),
            Item::Insn(Instruction::with2(Code::Mov_Sreg_r32m16, sreg, sized(r, 32)).expect("mov sreg")),
        ],
        1 => {
            let c = if g.rng.chance(50) { Code::Mov_r64m16_Sreg } else { Code::Mov_r32m16_Sreg };
            let bits = if c == Code::Mov_r64m16_Sreg { 64 } else { 32 };
            vec![Item::Insn(Instruction::with2(c, sized(r, bits), sreg).expect("mov r, sreg"))]
        }
        2 if g.depth + 8 <= MAX_DEPTH => {
            let (push, pop) = if g.rng.chance(50) {
                (Code::Pushq_FS, Code::Popq_FS)
            } else {
                (Code::Pushq_GS, Code::Popq_GS)
            };
            let sreg = if push == Code::Pushq_FS { Register::FS } else { Register::GS };
            let mut v = vec![Item::Insn(Instruction::with1(push, sreg).expect("push sreg"))];
            if g.rng.chance(50) {
                // Replace the pushed selector.
                v.push(Item::Insn(Instruction::with1(Code::Pop_r64, r).expect("pop")));
                v.push(Item::Insn(Instruction::with1(Code::Pushq_imm32, sel as i32).expect("push imm")));
            }
            v.push(Item::Insn(Instruction::with1(pop, sreg).expect("pop sreg")));
            v
        }
        3 => {
            // lfs/lgs r64, m16:64 with the selector after the offset.
            let a = g.data_addr(16);
            let c = if g.rng.chance(50) { Code::Lfs_r64_m1664 } else { Code::Lgs_r64_m1664 };
            let mut ins = Instruction::default();
            ins.set_code(c);
            ins.set_op_kind(0, OpKind::Register);
            ins.set_op_register(0, sized(r, 64));
            ins.set_op_kind(1, OpKind::Memory);
            ins.set_memory_displacement64(a);
            ins.set_memory_displ_size(4);
            ins.set_memory_index_scale(1);
            vec![
                Item::Insn(mov_imm64(Register::RAX, sel)),
                Item::Insn(
                    Instruction::with2(
                        Code::Mov_rm16_r16,
                        iced_x86::MemoryOperand::with_displ(a + 8, 4),
                        Register::AX,
                    )
                    .expect("mov m16"),
                ),
                Item::Insn(ins),
            ]
        }
        _ => {
            // A memory access through FS or GS after loading a null selector.
            let seg = if g.rng.chance(50) { Register::FS } else { Register::GS };
            let a = g.data_addr(8);
            let mut ins =
                Instruction::with2(Code::Mov_r64_rm64, r, iced_x86::MemoryOperand::with_displ(a, 4))
                    .expect("mov");
            ins.set_segment_prefix(seg);
            vec![
                Item::Insn(mov_imm64(r, 0)),
                Item::Insn(Instruction::with2(Code::Mov_Sreg_r32m16, seg, sized(r, 32)).expect("mov sreg")),
                Item::Insn(ins),
            ]
        }
    }
}

fn trap(g: &mut Gen) -> Vec<Item> {
    match g.rng.below(9) {
        7 => vec![Item::Insn(Instruction::with(Code::Cli))],
        8 => vec![Item::Insn(
            Instruction::with1(Code::Lgdt_m1664, iced_x86::MemoryOperand::with_displ(SCRATCH_ADDR, 4))
                .expect("lgdt"),
        )],
        0 => vec![Item::Insn(Instruction::with(Code::Int3))],
        1 => vec![Item::Insn(Instruction::with(Code::Ud2))],
        2 => vec![Item::Insn(Instruction::with(Code::Hlt))],
        3 => {
            // A load from an unmapped address.
            let a = g.rng.pick(&[
                0u64,
                8,
                SCRATCH_ADDR - 8,
                SCRATCH_ADDR + SCRATCH_SIZE as u64,
                0x7fff_ffff_f000,
                1 << 47,
            ]);
            vec![
                Item::Insn(mov_imm64(Register::RBX, a)),
                Item::Insn(
                    Instruction::with2(
                        Code::Mov_r64_rm64,
                        Register::RAX,
                        iced_x86::MemoryOperand::with_base(Register::RBX),
                    )
                    .expect("mov"),
                ),
            ]
        }
        4 => vec![
            // A store to the read-only code page.
            Item::Insn(mov_imm64(Register::RBX, super::state::CODE_ADDR)),
            Item::Insn(
                Instruction::with2(
                    Code::Mov_rm64_r64,
                    iced_x86::MemoryOperand::with_base(Register::RBX),
                    Register::RAX,
                )
                .expect("mov"),
            ),
        ],
        5 => vec![
            Item::Insn(mov_imm64(Register::RCX, 0)),
            Item::Insn(Instruction::with1(Code::Div_rm64, Register::RCX).expect("div")),
        ],
        _ => vec![
            // Signed overflow: i64::MIN / -1.
            Item::Insn(mov_imm64(Register::RAX, 1 << 63)),
            Item::Insn(mov_imm64(Register::RDX, u64::MAX)),
            Item::Insn(mov_imm64(Register::RCX, u64::MAX)),
            Item::Insn(Instruction::with1(Code::Idiv_rm64, Register::RCX).expect("idiv")),
        ],
    }
}
