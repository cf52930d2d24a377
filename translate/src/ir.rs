//! The IR: what each guest instruction means to the back ends.
//!
//! One `Op` per guest instruction. Instructions the host can run as they are
//! stay `Native` (with a note on which memory operand needs rewriting);
//! everything that touches the program counter, FS/GS, syscalls, CPUID or
//! emulator state is spelled out. Both back ends consume this, so they cannot
//! disagree about what an instruction means.

use iced_x86::Instruction;
use std::fmt;

/// How the memory operand of a native instruction must be rewritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemFix {
    /// Runs as it is.
    None,
    /// RIP-relative: re-encoded for its new address, or made absolute through
    /// a scratch register when out of reach.
    RipRel,
    /// FS-relative: the guest FS base is added through a scratch register.
    Fs,
    /// GS-relative: the guest GS base is added through a scratch register.
    Gs,
}

/// The meaning of one guest instruction.
#[derive(Clone, Debug)]
pub enum Op {
    /// Executed natively.
    Native { insn: Instruction, fix: MemFix },
    /// `jmp rel`.
    Jmp { target: u64 },
    /// `jcc rel` with x86 condition code `cc` (0..15).
    Jcc { cc: u8, taken: u64, next: u64 },
    /// `loop`, `loope`, `loopne`, `jrcxz`, `jecxz`: the guest instruction is
    /// kept (rel8 to a local trampoline).
    Loop { insn: Instruction, taken: u64, next: u64 },
    /// `call rel`.
    Call { target: u64, ret: u64 },
    /// `call r/m64`: target computed by `mov rcx, <operand>`.
    CallInd { operand: Instruction, fix: MemFix, ret: u64 },
    /// `jmp r/m64`.
    JmpInd { operand: Instruction, fix: MemFix },
    /// `ret` / `ret imm16`.
    Ret { pop: u16 },
    /// `syscall`.
    Syscall { next: u64 },
    /// `cpuid`.
    Cpuid { next: u64 },
    /// `xgetbv` (`len` bytes long): the CPU loop answers with the model's
    /// XCR0, or raises the #GP the model's CPU would.
    Xgetbv { next: u64, len: u8 },
    /// An instruction on the guest's FS/GS selectors or bases, emulated by
    /// the CPU loop (`seg::emulate`); the block ends before it.
    Emulate,
    /// A synchronous signal raised by the instruction; `rip` is the RIP the
    /// guest sees in its signal frame. `vector`: the exception the kernel
    /// handles, where the signal alone does not say which (`TRAP_DB` for
    /// `int1`, `TRAP_OF` for `int 4`); 0 for the signal's usual one.
    Trap { signo: i32, rip: u64, vector: u8 },
    /// The block ends here (size or page limit); continue at `next`.
    Fallthrough { next: u64 },
    /// `xbegin rel`: the transaction aborts at once, as RTM allows for any
    /// reason (`EAX` = 0: no abort cause bit, not worth a retry), and the
    /// guest goes on at `fallback`. tern never runs a transaction, so
    /// `xtest` (ZF=1), `xabort` (a no-op) and `xend` (#GP) outside one run
    /// natively as they are.
    Xbegin { fallback: u64 },
}

impl Op {
    /// True if this op ends a block. A conditional branch does not: its
    /// fall-through path goes on in the same block (no jump between two
    /// blocks where native code falls through), its taken path leaves by a
    /// chained jump.
    pub fn ends_block(&self) -> bool {
        !matches!(self, Op::Native { .. } | Op::Jcc { .. })
    }
}

/// One lifted guest instruction.
#[derive(Clone, Debug)]
pub struct IrInsn {
    pub pc: u64,
    pub len: u8,
    pub op: Op,
}

/// A lifted guest basic block.
#[derive(Clone, Debug, Default)]
pub struct IrBlock {
    pub start: u64,
    /// First guest address after the block's last instruction.
    pub end: u64,
    pub insns: Vec<IrInsn>,
    /// The guest bytes of `[start, end)`, as fetched.
    pub code: Vec<u8>,
    /// For a block ending in `jmp`/`call` through a RIP-relative memory
    /// operand (a PLT stub's `jmp [GOT]`, `call [GOT]`): the target that
    /// operand held when the block was translated. The back end guards a
    /// direct jump to it (`baseline`'s `predicted_jump`).
    pub predicted: Option<u64>,
    /// One instruction translated alone (self-modifying code, single-step):
    /// run once, never profiled for traces.
    pub single: bool,
    /// The block's page keeps being rewritten (`pages::VOLATILE_AFTER`):
    /// it is not write-protected, and the block's code compares the
    /// guest bytes with `code` each time it is entered, leaving through a
    /// `Stale` exit when they differ.
    pub check: bool,
}

/// How many guest instructions `insns` hold: not the `Fallthrough` pseudo-
/// instructions (a block's end, or where a trace split it). What both tiers
/// count as run (`--stats`).
pub fn guest_insns(insns: &[IrInsn]) -> usize {
    insns.iter().filter(|i| i.len > 0).count()
}

impl IrBlock {
    /// The guest encoding of `i`.
    pub fn bytes_of(&self, i: &IrInsn) -> &[u8] {
        let off = (i.pc - self.start) as usize;
        self.code.get(off..off + usize::from(i.len)).unwrap_or(&[])
    }
}

impl fmt::Display for IrBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "block {:#x}..{:#x}", self.start, self.end)?;
        if let Some(t) = self.predicted {
            writeln!(f, "  predicted target {t:#x}")?;
        }
        for i in &self.insns {
            match &i.op {
                Op::Native { insn, fix } => writeln!(f, "  {:#x}: native {insn} {fix:?}", i.pc)?,
                Op::Loop { insn, taken, next } => {
                    writeln!(f, "  {:#x}: loop {insn} -> {taken:#x} | {next:#x}", i.pc)?
                }
                Op::CallInd { operand, fix, ret } => {
                    writeln!(f, "  {:#x}: call-ind [{operand}] {fix:?} ret {ret:#x}", i.pc)?
                }
                Op::JmpInd { operand, fix } => writeln!(f, "  {:#x}: jmp-ind [{operand}] {fix:?}", i.pc)?,
                other => writeln!(f, "  {:#x}: {other:x?}", i.pc)?,
            }
        }
        Ok(())
    }
}

/// Exception vectors a `Trap` names (`Op::Trap::vector`).
pub const TRAP_DB: u8 = 1;
pub const TRAP_OF: u8 = 4;

/// The exit argument of a `Trap`: the signal in the low byte, the vector
/// above it ([`trap_of_arg`] reads it back).
pub fn trap_arg(signo: i32, vector: u8) -> u32 {
    signo as u32 & 0xff | u32::from(vector) << 8
}

/// The signal and vector of a `Trap` exit's argument.
pub fn trap_of_arg(arg: u32) -> (i32, u8) {
    ((arg & 0xff) as i32, (arg >> 8) as u8)
}
