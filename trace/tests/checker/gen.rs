//! Random guest code: every encoding form (iced-x86 `Code`) of the
//! mnemonics the trace tier gives real semantics, with random registers,
//! immediates and memory operands into the scratch buffer, assembled with
//! iced-x86's encoder. Tracks which status flags are undefined so that no
//! instruction reads one and the final comparison masks them.

use iced_x86::{
    Code, Encoder, Instruction, MemoryOperand, Mnemonic as M, OpCodeOperandKind as K, Register as R,
};

/// A deterministic PRNG (splitmix64).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

/// Where RIP-relative operands point: this many bytes after the code's
/// start, `DATA_LEN` bytes.
pub const DATA_OFF: u64 = 4096;
pub const DATA_LEN: u64 = 256;
/// Lowest offset of GS-relative operands from the GS base.
pub const GS_OFF: u64 = 64;

/// Pointer registers (into the scratch buffer) and the small index
/// register: never written by generated code (but `rsp` by push/pop).
pub const PTRS: [R; 2] = [R::RSI, R::RDI];
pub const INDEX: R = R::R15;
/// Registers generated code may write (r14 is the loop counter).
const DEST64: [R; 12] =
    [R::RAX, R::RBX, R::RCX, R::RDX, R::RBP, R::R8, R::R9, R::R10, R::R11, R::R12, R::R13, R::R14];

/// The mnemonics under test.
const MNEMONICS: &[M] = &[
    M::Mov,
    M::Movzx,
    M::Movsx,
    M::Movsxd,
    M::Lea,
    M::Add,
    M::Adc,
    M::Sub,
    M::Sbb,
    M::And,
    M::Or,
    M::Xor,
    M::Cmp,
    M::Test,
    M::Inc,
    M::Dec,
    M::Neg,
    M::Not,
    M::Shl,
    M::Sal,
    M::Shr,
    M::Sar,
    M::Rol,
    M::Ror,
    M::Imul,
    M::Push,
    M::Pop,
    M::Xchg,
    M::Cbw,
    M::Cwde,
    M::Cdqe,
    M::Cwd,
    M::Cdq,
    M::Cqo,
    M::Nop,
    M::Endbr64,
    M::Cmovo,
    M::Cmovno,
    M::Cmovb,
    M::Cmovae,
    M::Cmove,
    M::Cmovne,
    M::Cmovbe,
    M::Cmova,
    M::Cmovs,
    M::Cmovns,
    M::Cmovp,
    M::Cmovnp,
    M::Cmovl,
    M::Cmovge,
    M::Cmovle,
    M::Cmovg,
    M::Seto,
    M::Setno,
    M::Setb,
    M::Setae,
    M::Sete,
    M::Setne,
    M::Setbe,
    M::Seta,
    M::Sets,
    M::Setns,
    M::Setp,
    M::Setnp,
    M::Setl,
    M::Setge,
    M::Setle,
    M::Setg,
    // Opaque natives (run as themselves inside the trace).
    M::Mul,
    M::Bt,
    M::Bts,
    M::Btr,
    M::Btc,
    M::Bsf,
    M::Bsr,
    M::Popcnt,
    M::Lzcnt,
    M::Tzcnt,
    M::Bswap,
    M::Shld,
    M::Shrd,
    M::Rcl,
    M::Rcr,
    M::Xadd,
    M::Cmpxchg,
    M::Clc,
    M::Stc,
    M::Cmc,
    M::Movbe,
    M::Crc32,
    M::Adcx,
    M::Adox,
];

/// SSE instructions whose results do not depend on MXCSR (opaque natives
/// binding XMM registers).
pub const SSE_MNEMONICS: &[M] = &[
    M::Paddb,
    M::Paddw,
    M::Paddd,
    M::Paddq,
    M::Psubb,
    M::Psubd,
    M::Psubq,
    M::Paddusb,
    M::Psubsw,
    M::Pand,
    M::Pandn,
    M::Por,
    M::Pxor,
    M::Pcmpeqb,
    M::Pcmpeqd,
    M::Pcmpgtb,
    M::Pcmpgtq,
    M::Pcmpeqq,
    M::Pmovmskb,
    M::Pshufd,
    M::Pshufb,
    M::Pshuflw,
    M::Pshufhw,
    M::Punpcklbw,
    M::Punpckhdq,
    M::Punpcklqdq,
    M::Packuswb,
    M::Packssdw,
    M::Psllw,
    M::Pslld,
    M::Psllq,
    M::Psrlw,
    M::Psrld,
    M::Psrlq,
    M::Psraw,
    M::Psrad,
    M::Pslldq,
    M::Psrldq,
    M::Pmullw,
    M::Pmulld,
    M::Pmuludq,
    M::Pmaddwd,
    M::Pminub,
    M::Pmaxsd,
    M::Pavgb,
    M::Psadbw,
    M::Palignr,
    M::Pabsd,
    M::Psignb,
    M::Pblendw,
    M::Pextrb,
    M::Pextrd,
    M::Pextrq,
    M::Pinsrb,
    M::Pinsrd,
    M::Pinsrq,
    M::Pextrw,
    M::Pinsrw,
    M::Ptest,
    M::Pmovzxbw,
    M::Pmovsxdq,
    M::Phaddd,
    M::Pmulhrsw,
    M::Pcmpistri,
    M::Pclmulqdq,
    M::Movdqa,
    M::Movdqu,
    M::Movd,
    M::Movq,
    M::Movaps,
    M::Movups,
    M::Movapd,
    M::Movupd,
    M::Movhlps,
    M::Movlhps,
    M::Movhps,
    M::Movlps,
    M::Movmskps,
    M::Andps,
    M::Andnpd,
    M::Orps,
    M::Xorps,
    M::Xorpd,
    M::Shufps,
    M::Shufpd,
    M::Unpcklps,
    M::Unpckhpd,
    M::Blendps,
    M::Blendvps,
    M::Pblendvb,
    M::Movss,
    M::Movsd,
    M::Movddup,
    M::Movshdup,
    M::Insertps,
    M::Extractps,
    M::Aesenc,
    M::Aesdeclast,
    M::Aeskeygenassist,
    M::Lddqu,
    // Floating point, under the guest's MXCSR.
    M::Addps,
    M::Addsd,
    M::Subss,
    M::Mulpd,
    M::Divsd,
    M::Sqrtps,
    M::Minsd,
    M::Maxps,
    M::Cmpps,
    M::Comisd,
    M::Ucomiss,
    M::Cvtsi2sd,
    M::Cvttsd2si,
    M::Cvtsd2ss,
    M::Cvtdq2ps,
    M::Cvtps2dq,
    M::Roundsd,
    M::Dpps,
    M::Haddpd,
    M::Rcpps,
    M::Rsqrtss,
    M::Mulss,
    M::Cvtss2si,
    // More with real semantics in the trace tier (sse.rs).
    M::Subsd,
    M::Mulsd,
    M::Addss,
    M::Addpd,
    M::Subpd,
    M::Subps,
    M::Mulps,
    M::Divss,
    M::Divps,
    M::Divpd,
    M::Sqrtsd,
    M::Sqrtss,
    M::Sqrtpd,
    M::Ucomisd,
    M::Comiss,
    M::Cvtsi2ss,
    M::Cvtss2sd,
    M::Paddw,
    M::Psubw,
    M::Andpd,
    M::Orpd,
    M::Andnps,
    M::Minss,
    M::Maxsd,
    M::Minpd,
    M::Cvttss2si,
];

/// SSE mnemonics whose 16-byte memory operands need not be aligned.
fn unaligned_ok(m: M) -> bool {
    matches!(m, M::Movdqu | M::Movups | M::Movupd | M::Lddqu | M::Pcmpistri)
}

/// The bit-test mnemonics: with a memory operand and a register offset
/// they address memory anywhere.
fn bit_test(m: M) -> bool {
    matches!(m, M::Bt | M::Bts | M::Btr | M::Btc)
}

fn kind_ok(k: K) -> bool {
    matches!(
        k,
        K::r8_or_mem
            | K::r16_or_mem
            | K::r32_or_mem
            | K::r64_or_mem
            | K::r8_reg
            | K::r16_reg
            | K::r32_reg
            | K::r64_reg
            | K::r8_opcode
            | K::r16_opcode
            | K::r32_opcode
            | K::r64_opcode
            | K::imm8
            | K::imm16
            | K::imm32
            | K::imm64
            | K::imm8sex16
            | K::imm8sex32
            | K::imm8sex64
            | K::imm32sex64
            | K::al
            | K::ax
            | K::eax
            | K::rax
            | K::cl
            | K::imm8_const_1
            | K::mem
            | K::xmm_reg
            | K::xmm_rm
            | K::xmm_or_mem
    )
}

/// Every 64-bit-mode encoding form of the mnemonics under test.
pub fn codes() -> Vec<Code> {
    Code::values()
        .filter(|c| {
            let op = c.op_code();
            let sse = SSE_MNEMONICS.contains(&c.mnemonic());
            if !op.mode64() || !(MNEMONICS.contains(&c.mnemonic()) || sse) {
                return false;
            }
            if sse && op.encoding() != iced_x86::EncodingKind::Legacy {
                return false;
            }
            let name = format!("{c:?}");
            if name.contains("F6r1") || name.contains("F7r1") || name.contains("moffs") {
                return false;
            }
            if matches!(c.mnemonic(), M::Push | M::Pop) && op.operand_size() == 16 {
                return false;
            }
            (0..op.op_count()).all(|i| kind_ok(op.op_kind(i)))
        })
        .collect()
}

/// One item of a sequence.
#[derive(Clone, Debug)]
pub enum Item {
    I(Instruction),
    Label(usize),
    /// A rel32 branch (`Jcc`, `Jmp`, `Call` code) to a label.
    Br(Code, usize),
    /// `mov reg, imm64` with the address of a label.
    MovLabel(R, usize),
    /// Raw bytes (one instruction without operands to generate).
    Raw(Vec<u8>),
}

fn reg_of_size(r64: R, bits: u32, rng: &mut Rng) -> R {
    let n = r64.number();
    let base = match bits {
        8 => {
            // AH..BH for the first four registers, sometimes.
            if n < 4 && rng.chance(25) {
                return [R::AH, R::CH, R::DH, R::BH][n];
            }
            R::AL
        }
        16 => R::AX,
        32 => R::EAX,
        _ => R::RAX,
    };
    // SAFETY-free arithmetic on iced's contiguous register numbering.
    let idx = base as usize + if bits == 8 && n >= 4 { n + 4 } else { n };
    iced_x86::Register::values().nth(idx).unwrap_or(base)
}

/// Generator state for one sequence.
pub struct Gen<'r> {
    pub rng: &'r mut Rng,
    codes: &'r [Code],
    pub items: Vec<Item>,
    /// Status flags whose value is undefined now (iced-x86 RflagsBits).
    pub undef: u32,
    /// Percent of r/m operands that are memory.
    pub mem_pct: u64,
    /// Registers writable by generated code.
    pub dest: Vec<R>,
    /// No memory operand based on rsp (inside a called function).
    pub no_rsp_mem: bool,
    labels: usize,
}

impl<'r> Gen<'r> {
    pub fn new(rng: &'r mut Rng, codes: &'r [Code], mem_pct: u64) -> Gen<'r> {
        Gen {
            rng,
            codes,
            items: Vec::new(),
            undef: 0,
            mem_pct,
            dest: DEST64.to_vec(),
            no_rsp_mem: false,
            labels: 0,
        }
    }

    pub fn label(&mut self) -> usize {
        self.labels += 1;
        self.labels - 1
    }

    fn any_reg64(&mut self) -> R {
        let all = [
            R::RAX,
            R::RBX,
            R::RCX,
            R::RDX,
            R::RBP,
            R::RSI,
            R::RDI,
            R::R8,
            R::R9,
            R::R10,
            R::R11,
            R::R12,
            R::R13,
            R::R14,
            R::R15,
            R::RSP,
        ];
        self.rng.pick(&all)
    }

    fn mem(&mut self) -> MemoryOperand {
        match self.rng.below(10) {
            // RIP-relative, into the data page after the code: the
            // displacement is the offset from the code's start, made
            // absolute by `assemble`.
            0 => {
                return MemoryOperand::with_base_displ(
                    R::RIP,
                    (DATA_OFF + self.rng.below(DATA_LEN - 8)) as i64,
                )
            }
            // GS-relative, into the scratch buffer (the GS base).
            1 => {
                let disp = GS_OFF + self.rng.below(1024);
                let index = if self.rng.chance(50) { INDEX } else { R::None };
                return MemoryOperand::new(R::None, index, 8, disp as i64, 4, false, R::GS);
            }
            _ => {}
        }
        let base = if !self.no_rsp_mem && self.rng.chance(15) { R::RSP } else { self.rng.pick(&PTRS) };
        let index = if self.rng.chance(40) { INDEX } else { R::None };
        let scale = self.rng.pick(&[1u32, 2, 4, 8]);
        let disp = self.rng.below(256) as i64 - 128;
        let size = if (-128..128).contains(&disp) && self.rng.chance(70) { 1 } else { 4 };
        MemoryOperand::new(base, index, scale, disp, size, false, R::None)
    }

    /// One random operand of kind `k` for operand `i` of `code`.
    fn operand(&mut self, code: Code, i: u32, k: K, writes: bool) -> Op {
        let bits = match k {
            K::r8_or_mem | K::r8_reg | K::r8_opcode => 8,
            K::r16_or_mem | K::r16_reg | K::r16_opcode => 16,
            K::r32_or_mem | K::r32_reg | K::r32_opcode => 32,
            _ => 64,
        };
        let reg = |g: &mut Gen| {
            let r64 = if writes { g.rng.pick(&g.dest.clone()) } else { g.any_reg64() };
            Op::R(reg_of_size(r64, bits, g.rng))
        };
        match k {
            K::r8_or_mem | K::r16_or_mem | K::r32_or_mem | K::r64_or_mem => {
                let reg_only = matches!(code.mnemonic(), M::Pop | M::Xchg)
                    || bit_test(code.mnemonic())
                        && matches!(code.op_code().op_kind(1), K::r16_reg | K::r32_reg | K::r64_reg);
                if !reg_only && self.rng.chance(self.mem_pct) {
                    Op::M(self.mem())
                } else {
                    reg(self)
                }
            }
            K::mem => Op::M(self.mem()),
            K::r8_reg
            | K::r16_reg
            | K::r32_reg
            | K::r64_reg
            | K::r8_opcode
            | K::r16_opcode
            | K::r32_opcode
            | K::r64_opcode => reg(self),
            K::xmm_reg | K::xmm_rm => Op::R(
                iced_x86::Register::values()
                    .nth(R::XMM0 as usize + self.rng.below(16) as usize)
                    .unwrap_or(R::XMM0),
            ),
            K::xmm_or_mem => {
                if self.rng.chance(self.mem_pct) {
                    Op::M(self.mem())
                } else {
                    Op::R(
                        iced_x86::Register::values()
                            .nth(R::XMM0 as usize + self.rng.below(16) as usize)
                            .unwrap_or(R::XMM0),
                    )
                }
            }
            K::al => Op::R(R::AL),
            K::ax => Op::R(R::AX),
            K::eax => Op::R(R::EAX),
            K::rax => Op::R(R::RAX),
            K::cl => Op::R(R::CL),
            K::imm8_const_1 => Op::I(1),
            K::imm8 => Op::I(self.small_imm(code, 0xff)),
            K::imm16 => Op::I(self.rng.below(0x10000) as i64),
            K::imm64 => Op::I(self.rng.next() as i64),
            _ => {
                let _ = i;
                // sign-extended imm8 / imm32
                if matches!(k, K::imm8sex16 | K::imm8sex32 | K::imm8sex64) {
                    Op::I(self.rng.below(256) as i64 - 128)
                } else {
                    Op::I(self.interesting32())
                }
            }
        }
    }

    fn small_imm(&mut self, code: Code, max: u64) -> i64 {
        if matches!(code.mnemonic(), M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror)
            && self.rng.chance(80)
        {
            return self.rng.below(40) as i64;
        }
        self.rng.below(max + 1) as i64
    }

    fn interesting32(&mut self) -> i64 {
        match self.rng.below(4) {
            0 => self.rng.pick(&[0i64, 1, -1, 0x7fff_ffff, -0x8000_0000, 0x80, 0xff]),
            _ => self.rng.next() as i32 as i64,
        }
    }

    /// Appends one random instruction that reads no undefined flag.
    pub fn insn(&mut self) {
        loop {
            let code = self.rng.pick(self.codes);
            let op = code.op_code();
            let writes0 = !matches!(code.mnemonic(), M::Cmp | M::Test | M::Push);
            let ops: Vec<Op> = (0..op.op_count())
                .map(|i| {
                    self.operand(
                        code,
                        i,
                        op.op_kind(i),
                        i == 0 && writes0 || matches!(code.mnemonic(), M::Xchg | M::Xadd),
                    )
                })
                .collect();
            let Some(mut insn) = build(code, &ops) else { continue };
            if insn.memory_size().size() == 16
                && !unaligned_ok(code.mnemonic())
                && insn.memory_base() != R::None
                || insn.memory_size().size() == 16
                    && !unaligned_ok(code.mnemonic())
                    && insn.memory_displ_size() != 0
            {
                // Legacy SSE: 16-byte operands aligned (rsi is).
                insn.set_memory_base(R::RSI);
                insn.set_memory_index(R::None);
                insn.set_memory_index_scale(1);
                insn.set_memory_displacement64((self.rng.below(16) as i64 * 16 - 128) as u64);
                insn.set_memory_displ_size(1);
                insn.set_segment_prefix(R::None);
            }
            if Encoder::new(64).encode(&insn, 0x1000).is_err() {
                continue;
            }
            if insn.rflags_read() & self.undef != 0 {
                continue;
            }
            self.track(&insn);
            self.items.push(Item::I(insn));
            return;
        }
    }

    /// Updates the undefined-flags set after `insn`.
    pub fn track(&mut self, insn: &Instruction) {
        let undef = insn.rflags_undefined() | shift_undef(insn);
        if is_shift(insn) && matches!(count(insn), None | Some(0)) {
            // A zero count changes nothing: defined flags may stay defined
            // or become undefined.
            self.undef |= undef;
        } else {
            self.undef = (self.undef & !insn.rflags_modified()) | undef;
        }
    }

    /// A condition code (0..15) readable now.
    pub fn cc(&mut self) -> u8 {
        use iced_x86::RflagsBits as F;
        loop {
            let cc = self.rng.below(16) as u8;
            let need = match cc >> 1 {
                0 => F::OF,
                1 => F::CF,
                2 => F::ZF,
                3 => F::CF | F::ZF,
                4 => F::SF,
                5 => F::PF,
                6 => F::SF | F::OF,
                _ => F::SF | F::OF | F::ZF,
            };
            if need & self.undef == 0 {
                return cc;
            }
            if self.undef & (F::CF | F::ZF | F::SF | F::OF | F::PF) == F::CF | F::ZF | F::SF | F::OF | F::PF {
                // Nothing readable: define them.
                let cmp = Instruction::with2(Code::Cmp_rm64_r64, R::RAX, R::RBX).expect("cmp");
                self.track(&cmp);
                self.items.push(Item::I(cmp));
            }
        }
    }

    pub fn straight(&mut self, n: u64) {
        for _ in 0..n {
            self.insn();
        }
    }
}

/// A generated operand.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    R(R),
    M(MemoryOperand),
    I(i64),
}

fn build(code: Code, ops: &[Op]) -> Option<Instruction> {
    use Op::*;
    let r = match ops {
        [] => Ok(Instruction::with(code)),
        [R(a)] => Instruction::with1(code, *a),
        [M(a)] => Instruction::with1(code, *a),
        [I(a)] => Instruction::with1(code, *a as i32),
        [R(a), R(b)] => Instruction::with2(code, *a, *b),
        [R(a), M(b)] => Instruction::with2(code, *a, *b),
        [M(a), R(b)] => Instruction::with2(code, *a, *b),
        [R(a), I(b)] => {
            if code.op_code().op_kind(1) == K::imm64 {
                Instruction::with2(code, *a, *b as u64)
            } else if matches!(code.op_code().op_kind(1), K::imm8 | K::imm16 | K::imm8_const_1) {
                Instruction::with2(code, *a, *b as u32)
            } else {
                Instruction::with2(code, *a, *b as i32)
            }
        }
        [M(a), I(b)] => {
            if matches!(code.op_code().op_kind(1), K::imm8 | K::imm16 | K::imm8_const_1) {
                Instruction::with2(code, *a, *b as u32)
            } else {
                Instruction::with2(code, *a, *b as i32)
            }
        }
        [R(a), R(b), I(c)] => Instruction::with3(code, *a, *b, *c as i32),
        [M(a), R(b), I(c)] => Instruction::with3(code, *a, *b, *c as i32),
        [R(a), R(b), R(c)] => Instruction::with3(code, *a, *b, *c),
        [M(a), R(b), R(c)] => Instruction::with3(code, *a, *b, *c),
        [R(a), M(b), I(c)] => Instruction::with3(code, *a, *b, *c as i32),
        _ => return None,
    };
    r.ok()
}

/// Assembles `items` at `base`: the bytes and each label's address.
pub fn assemble(items: &[Item], base: u64) -> (Vec<u8>, Vec<u64>) {
    let nlabels = items.iter().filter(|i| matches!(i, Item::Label(_))).count();
    let mut labels = vec![0u64; nlabels];
    let mut out = Vec::new();
    for pass in 0..2 {
        out.clear();
        for it in items {
            let pc = base + out.len() as u64;
            let insn = match it {
                Item::Label(l) => {
                    labels[*l] = pc;
                    continue;
                }
                Item::I(i) if i.memory_base() == R::RIP => {
                    let mut i = *i;
                    i.set_memory_displacement64(base + i.memory_displacement64());
                    i
                }
                Item::I(i) => *i,
                Item::Br(code, l) => {
                    Instruction::with_branch(*code, if pass == 0 { pc } else { labels[*l] }).expect("branch")
                }
                Item::MovLabel(r, l) => Instruction::with2(Code::Mov_r64_imm64, *r, labels[*l]).expect("mov"),
                Item::Raw(b) => {
                    out.extend_from_slice(b);
                    continue;
                }
            };
            let mut enc = Encoder::new(64);
            enc.encode(&insn, pc).expect("encode");
            out.extend_from_slice(&enc.take_buffer());
        }
    }
    (out, labels)
}

fn is_shift(insn: &Instruction) -> bool {
    matches!(
        insn.mnemonic(),
        M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror | M::Shld | M::Shrd | M::Rcl | M::Rcr
    )
}

/// Operand 0's size in bits.
fn op0_bits(insn: &Instruction) -> u32 {
    let bytes = if insn.op0_kind() == iced_x86::OpKind::Register {
        insn.op0_register().size()
    } else {
        insn.memory_size().size()
    };
    bytes as u32 * 8
}

/// A shift's masked count, if it is an immediate.
fn count(insn: &Instruction) -> Option<u32> {
    // The count is the last operand (CL or an immediate).
    if insn.op_kind(insn.op_count() - 1) == iced_x86::OpKind::Register {
        return None;
    }
    let mask = if op0_bits(insn) == 64 { 63 } else { 31 };
    Some(u32::from(insn.immediate8()) & mask)
}

/// Flags the SDM leaves undefined for shifts and rotates beyond what
/// iced-x86 reports: OF for counts other than 1, CF of shl/shr for counts
/// of at least the operand size.
fn shift_undef(insn: &Instruction) -> u32 {
    use iced_x86::RflagsBits as F;
    if !is_shift(insn) {
        return 0;
    }
    let c = count(insn);
    let mut u = if c == Some(1) { 0 } else { F::OF };
    if matches!(insn.mnemonic(), M::Shl | M::Sal | M::Shr) && c.is_none_or(|c| c >= op0_bits(insn)) {
        u |= F::CF;
    }
    if matches!(insn.mnemonic(), M::Shld | M::Shrd) && c.is_none_or(|c| c > op0_bits(insn)) {
        // Counts beyond the operand size: result and flags undefined.
        u |= F::CF | F::PF | F::AF | F::ZF | F::SF | F::OF;
    }
    u
}
