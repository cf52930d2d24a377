//! tern's hot-trace tier: one recorded trace of IR blocks -> LLVM IR ->
//! the bytes of one position-independent host function.
//!
//! This crate owns the *lifting*: the meaning of the common integer
//! instructions as LLVM IR (`lower.rs`, `flags.rs`, `memory.rs`) and of
//! the common SSE/SSE2 moves, logic and floating point (`sse.rs`), other
//! integer and legacy SSE instructions run as themselves inside the trace
//! with exact register bindings (`opaque.rs`; XMM registers and MXCSR
//! come from and go back to the XSAVE area),
//! the trace's control flow, exits and `exit_request` checks
//! (`control.rs`), and the code generation with LLVM 14 (`codegen.rs`). It does not decide
//! which traces to form, nor install or run them: `linux-user` does, on its
//! optimizer thread, and copies [`Compiled::code`] into its code cache.
//!
//! The compiled function is `extern "sysv64" fn(cpu: *mut CpuState) -> u64`:
//! it loads the guest registers and flags from `*cpu`, keeps them in SSA
//! values across the trace, and on every exit writes the guest state back
//! (with `rip`) and returns the guest pc where the baseline continues.
//! Guest memory accesses are volatile; before an access that follows a
//! guest store since the last sync, the changed registers, flags and the
//! access's pc are written to `*cpu` (a "sync"), so that a fault inside the
//! trace can be replayed precisely by the baseline from `*cpu`. The sync
//! may come earlier, at a register-only instruction that sets all six
//! status flags, without the flags: `cpu.rip` is then that instruction,
//! which replay runs first (`*cpu` holds the state at an instruction
//! boundary after the last store, not always the faulting one's).
//!
//! What the caller must know: the function reads and writes `regs`,
//! `rflags`, `rip` (set to the head on entry), reads `fs_base`, `gs_base`,
//! `exit_request`, and, for traces with SSE instructions, reads and writes
//! XMM0-15 in the XSAVE area (legacy region) and the SSE bit of
//! XSTATE_BV, so the vector state must be in the area (as it is on every
//! exit to the CPU loop) and be restored from it afterwards. A trace with
//! SSE floating point runs with the guest's MXCSR (from the area; stored
//! back at syncs and exits, the host's restored at exits): a caller that
//! abandons such a trace on a fault must reset MXCSR (0x1f80). The code
//! runs anywhere, best from a 16-byte boundary (LLVM aligns loop heads
//! relative to its start), and uses the host stack only for its own frame
//! (no red zone).

mod codegen;
mod control;
pub mod ffi;
mod flags;
mod lower;
mod memory;
mod opaque;
mod sse;
mod state;

use std::fmt;
use tern_translate::ir::IrBlock;

/// A recorded trace: `blocks[0].start == head`, block starts unique,
/// `blocks[i + 1]` is the block that ran after `blocks[i]`.
#[derive(Clone, Debug)]
pub struct TraceIr {
    pub head: u64,
    pub blocks: Vec<IrBlock>,
    /// Address of the trace's [`Counters`], which its code updates at
    /// every exit; 0 for none.
    pub counters: u64,
    /// Syncs before accesses that follow a store (see the crate docs),
    /// so that a fault leaves a state the baseline replays precisely.
    /// Without (a process where no fault in a trace can be observed but
    /// as death by its signal: `FormedTrace::precise`), `*cpu` keeps the
    /// state at the trace's entry until an exit, and a loop that stores
    /// stores no registers per turn.
    pub precise: bool,
}

pub use tern_translate::traces::TraceCounters as Counters;

/// How traces are compiled.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Optimisation level, 0..=3 (2: `codegen::TRACE_PASSES`, else LLVM's
    /// `default<ON>`).
    pub opt_level: u8,
    /// Target the host CPU's features (else plain x86-64).
    pub host_cpu: bool,
    /// Keep the LLVM IR text before and after optimisation.
    pub dump_ir: bool,
    /// With counters (`TraceIr::counters`): count the guest instructions
    /// run too (`--stats`; an addition per block run, which LLVM keeps in
    /// a register of its own for each exit).
    pub count_insns: bool,
    /// Test only: every trace computes a wrong value (see [`Compiler::compile`]).
    pub miscompile: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { opt_level: 2, host_cpu: true, dump_ir: false, count_insns: false, miscompile: false }
    }
}

/// A compiled trace.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// One position-independent function, entry at offset 0, its
    /// read-only constants after its code: runs wherever it is copied
    /// whole, from a 16-byte boundary.
    pub code: Vec<u8>,
    /// Guest instructions with real semantics in the trace.
    pub lowered_insns: usize,
    pub llvm_before: Option<String>,
    pub llvm_after: Option<String>,
}

/// Why a trace was not compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reject {
    /// No instruction of the trace could be lowered.
    Empty,
    /// LLVM failed (message).
    Llvm(String),
    /// The object code has writable data, relocations other than to its
    /// own read-only constants, or more code sections.
    Relocations,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reject::Empty => write!(f, "no instruction could be lowered"),
            Reject::Llvm(m) => write!(f, "LLVM: {m}"),
            Reject::Relocations => write!(f, "object code has relocations or other sections"),
        }
    }
}

impl std::error::Error for Reject {}

impl From<inkwell::builder::BuilderError> for Reject {
    fn from(e: inkwell::builder::BuilderError) -> Reject {
        Reject::Llvm(e.to_string())
    }
}

/// Holds the LLVM target machine; built on the thread that compiles (LLVM
/// is initialised on first use, so a process that never compiles a trace
/// pays nothing for it).
pub struct Compiler {
    opts: Options,
    tm: codegen::Machine,
}

impl Compiler {
    /// Initialises LLVM's x86 target and the target machine.
    pub fn new(opts: Options) -> Result<Compiler, String> {
        Ok(Compiler { opts, tm: codegen::Machine::new(&opts)? })
    }

    /// Compiles `t` to host code. `miscompile` (test only, as is
    /// `Options::miscompile`): the first `add`/`sub` of the trace writes its
    /// result plus one, a guest-visible wrong value.
    pub fn compile(&mut self, t: &TraceIr, miscompile: bool) -> Result<Compiled, Reject> {
        let ctx = inkwell::context::Context::create();
        let (module, lowered) =
            control::build_best(&ctx, t, miscompile || self.opts.miscompile, self.opts.count_insns)?;
        if lowered == 0 {
            return Err(Reject::Empty);
        }
        let (code, llvm_before, llvm_after) = self.tm.emit(&module, &self.opts)?;
        Ok(Compiled { code, lowered_insns: lowered, llvm_before, llvm_after })
    }
}
