//! `CpuState`: the architectural state of one guest thread.
//!
//! Owns the memory layout that generated code relies on. While a thread runs
//! translated code its host GS base points at its `CpuState`, so generated code
//! reaches every field with a `gs:[offset]` operand and needs no pinned
//! general-purpose register (see ARCHITECTURE.md, "Registers stay in registers").
//! Guest GPRs, RFLAGS and the x87/SSE state live in the host registers while
//! generated code runs and are spilled here on every exit to the CPU loop.

use crate::xstate::{self, SaveKind, XsaveArea};
use std::sync::atomic::{fence, AtomicI32, AtomicU32, AtomicU64, Ordering};

/// Guest general-purpose registers in x86 encoding order: the one numbering
/// of registers used by `CpuState::regs`, the code generator, fault
/// reporting and logs (names in `REG_NAMES`).
pub const RAX: usize = 0;
pub const RCX: usize = 1;
pub const RDX: usize = 2;
pub const RBX: usize = 3;
pub const RSP: usize = 4;
pub const RBP: usize = 5;
pub const RSI: usize = 6;
pub const RDI: usize = 7;
pub const R8: usize = 8;
pub const R9: usize = 9;
pub const R10: usize = 10;
pub const R11: usize = 11;
pub const R12: usize = 12;
pub const R13: usize = 13;
pub const R14: usize = 14;
pub const R15: usize = 15;

/// Where each GPR (in encoding order) sits in a host signal context
/// (`ucontext_t::uc_mcontext.gregs` index).
pub const UCONTEXT_GREG: [i32; 16] = [
    libc::REG_RAX,
    libc::REG_RCX,
    libc::REG_RDX,
    libc::REG_RBX,
    libc::REG_RSP,
    libc::REG_RBP,
    libc::REG_RSI,
    libc::REG_RDI,
    libc::REG_R8,
    libc::REG_R9,
    libc::REG_R10,
    libc::REG_R11,
    libc::REG_R12,
    libc::REG_R13,
    libc::REG_R14,
    libc::REG_R15,
];

/// Names of the GPRs in encoding order, for logs and dumps.
/// The iced-x86 register of each guest GPR number (`RAX` = 0 ... `R15`).
pub const GPR_REGISTERS: [iced_x86::Register; 16] = {
    use iced_x86::Register as R;
    [
        R::RAX,
        R::RCX,
        R::RDX,
        R::RBX,
        R::RSP,
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
    ]
};

pub const REG_NAMES: [&str; 16] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
    "r15",
];

/// EFLAGS.TF, the trap flag: the guest's is `CpuState::step`, never in
/// `CpuState::rflags`.
pub const TF: u64 = 1 << 8;

/// Number of entries in each half of the per-thread indirect-branch lookup
/// table (indexed by 16 bits of a hash of the guest target, see
/// [`ibl_index`]).
pub const IBL_ENTRIES: usize = 1 << 16;
/// Entries in the whole table: the first [`IBL_ENTRIES`] are where every
/// lookup looks ([`ibl_index`]), the rest hold the entries the first half
/// evicted ([`ibl_victim_index`]), looked at by the shared miss routine
/// before it leaves generated code. A large program's hot targets
/// outnumber one half's slots: `cc1 -O2` left generated code 1.3 million
/// times on lookups that had missed before, each an exit to the CPU loop
/// and a search of the block map.
pub const IBL_SLOTS: usize = 2 * IBL_ENTRIES;
/// Lookup misses after which a thread keeps evicted entries in the victim
/// half (`Jit::ibl_fill`). Each of its 256 pages becomes resident at its
/// first eviction: a short process that missed a few thousand times paid
/// for up to a page fault per eviction (`python3 -c pass`: +400 faults,
/// 4 % of its time) and got nothing back, while a large program that
/// thrashes the first half misses far more than this within its first
/// second (`cc1 -O2`: 1.3 million misses).
pub const IBL_EVICT_AFTER: u64 = 32_768;
/// Lookup misses after which a thread's table is made resident at once
/// (`CpuState::ibl_populate`, from `Jit::ibl_fill`). Until then each page
/// becomes resident as an entry in it is first filled: a miss reads the
/// slot in generated code, which maps the shared zero page, and the fill
/// then writes it, replacing that mapping, which in a process whose
/// other threads run means a TLB shootdown (an interrupt to every other
/// CPU running them) per page: 14 % of `java -version`'s time. Idle
/// threads miss fewer times than this and keep their tables small
/// (`tests/thread_memory.rs`); the main thread's is made resident at load.
pub const IBL_POPULATE_AFTER: u64 = 64;
/// Lookup-table entries per bit of `CpuState::ibl_used` (a page's worth).
pub const IBL_CHUNK: usize = 4096 / std::mem::size_of::<IblEntry>();

/// True if the lookup table is indexed by a CRC32C of the target (the
/// host has SSE4.2, whose `crc32` leaves the guest flags alone); else by
/// its low 16 bits. The low bits alone alias badly: function entries are
/// 16-byte aligned, so calls through pointers use a sixteenth of the table,
/// and a large program's hot targets evict each other (sqlite3 missed on
/// 99% of its lookups' refills).
pub fn ibl_index_uses_crc32() -> bool {
    static CRC: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // CPUID.1:ECX[20], through the model's record of the host's answers
    // (std's feature detection would ask the host seven more times).
    *CRC.get_or_init(|| crate::model::host_cpuid(1, 0)[2] & (1 << 20) != 0)
}

/// The 32-bit hash of guest pc `guest` both lookup slots take 16 bits
/// from: a CRC32C of its low half, or that half itself without SSE4.2.
fn ibl_hash(guest: u64) -> u32 {
    // Truncation intended: the low 32 bits are hashed.
    let low = guest as u32;
    if ibl_index_uses_crc32() {
        // SAFETY: SSE4.2 is present (checked above).
        unsafe { crc32c(!0, low) }
    } else {
        low
    }
}

/// The lookup-table slot of guest pc `guest`: what generated code computes
/// (`baseline::Emitter::jump_to_ibl`).
pub fn ibl_index(guest: u64) -> usize {
    (ibl_hash(guest) & 0xffff) as usize
}

/// The victim slot of guest pc `guest` ([`IBL_SLOTS`]): the other 16 bits
/// of the hash [`ibl_index`] takes its 16 from, byte-swapped (what the miss
/// routine computes without touching the flags: `bswap` then `movzx`), so
/// that targets that share a first-half slot rarely share this one.
pub fn ibl_victim_index(guest: u64) -> usize {
    IBL_ENTRIES + (ibl_hash(guest).swap_bytes() & 0xffff) as usize
}

/// The word of `CpuState::ibl_used` and the bit in it that cover entry
/// `idx`.
fn ibl_used_bit(idx: usize) -> (usize, u64) {
    let chunk = idx / IBL_CHUNK;
    (chunk / 64, 1 << (chunk % 64))
}

/// `crc32 dst, src` with 32-bit operands.
///
/// # Safety
/// The host has SSE4.2.
#[target_feature(enable = "sse4.2")]
unsafe fn crc32c(crc: u32, v: u32) -> u32 {
    std::arch::x86_64::_mm_crc32_u32(crc, v)
}

/// One slot of the indirect-branch lookup table. `key` holds the bitwise NOT
/// of the guest PC so that an all-zero entry never matches.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct IblEntry {
    pub key: u64,
    pub host: u64,
}

/// Why generated code returned to the CPU loop. Stored in code-cache exit
/// descriptors, read by the CPU loop (generated code never reads it).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitKind {
    /// A direct branch whose target block was not linked yet.
    Direct = 1,
    /// An indirect branch missed the lookup table; target in `next_rip`.
    Indirect = 2,
    /// `syscall`; `target` is the address after it.
    Syscall = 3,
    /// `cpuid`; `target` is the address after it.
    Cpuid = 4,
    /// The guest must receive a synchronous signal raised by an instruction
    /// (`int3`, `ud2`, an instruction outside the CPU model, ...).
    Trap = 5,
    /// A host fault inside generated code was turned into an exit by the host
    /// signal handler; details in `CpuState::fault`.
    Fault = 6,
    /// An instruction on guest state tern keeps apart from the host's
    /// (segment register loads and reads, FS/GS base instructions), emulated
    /// by the CPU loop with `seg::emulate`; `target` is its address.
    Emulate = 7,
    /// A host signal for the guest arrived while generated code (or the
    /// `tern_enter` trampoline) ran; the handler stored the guest state at a
    /// pc-map boundary in `CpuState` (`rip` included) and the CPU loop
    /// delivers it before going on.
    Signal = 8,
    /// `xgetbv`; `target` is the address after it, `arg` its length.
    Xgetbv = 9,
    /// A profiled backward branch to `target` (a trace head) was taken
    /// often enough (its counting stub, `baseline::emit_count_stub`): the
    /// state is at `target`. `patch_site` is the branch's rel32 field,
    /// which still leads to the counting stub; `arg` says where the stub
    /// lies ([`ExitDesc::hot_stub`]).
    Hot = 10,
    /// A branch to an installed trace for `target` (its head): the state is
    /// at `target`; `arg` is the trace's index (`Jit::trace_fn`).
    Trace = 11,
    /// A self-checking block (`IrBlock::check`) found its guest bytes
    /// changed; the state is at `target`, its start, and the block is to
    /// be dropped and translated again.
    Stale = 12,
}

impl ExitKind {
    /// Every kind, in numbering order.
    pub const ALL: [ExitKind; 12] = [
        ExitKind::Direct,
        ExitKind::Indirect,
        ExitKind::Syscall,
        ExitKind::Cpuid,
        ExitKind::Trap,
        ExitKind::Fault,
        ExitKind::Emulate,
        ExitKind::Signal,
        ExitKind::Xgetbv,
        ExitKind::Hot,
        ExitKind::Trace,
        ExitKind::Stale,
    ];
    /// One more than the largest value (for per-kind counter arrays).
    pub const COUNT: usize = 13;

    /// Lower-case name, for `--stats` and logs.
    pub fn name(self) -> &'static str {
        match self {
            ExitKind::Direct => "direct",
            ExitKind::Indirect => "indirect",
            ExitKind::Syscall => "syscall",
            ExitKind::Cpuid => "cpuid",
            ExitKind::Trap => "trap",
            ExitKind::Fault => "fault",
            ExitKind::Emulate => "emulate",
            ExitKind::Signal => "signal",
            ExitKind::Xgetbv => "xgetbv",
            ExitKind::Hot => "hot",
            ExitKind::Trace => "trace",
            ExitKind::Stale => "stale",
        }
    }
}

/// What an exit stub tells the CPU loop; stubs name one by its index in the
/// code cache's descriptor table.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitDesc {
    pub kind: ExitKind,
    /// For `Trap`: the signal number; for `Xgetbv`: the instruction's
    /// length; for `Direct`: 0, [`DIRECT_VIA_LOOKUP`] or [`DIRECT_BACK`]; for `Hot`: where
    /// the counting stub lies ([`ExitDesc::hot_stub`]). Otherwise 0.
    pub arg: u32,
    /// Guest address to continue at (or of the trapping instruction).
    pub target: u64,
    /// Host address of the rel32 field of the jump to patch for chaining, or 0.
    pub patch_site: u64,
}

impl ExitDesc {
    /// Of a `Hot` exit: the host addresses of its branch's counting stub's
    /// plain jump (the way past the counting) and of the stub itself
    /// (`arg` is the stub's distance from `patch_site`).
    pub fn hot_stub(&self) -> (u64, u64) {
        let stub = self.patch_site.wrapping_add(self.arg as i32 as i64 as u64);
        (stub + crate::baseline::COUNT_STUB_BYPASS, stub)
    }
}

/// `ExitDesc::arg` of a `Direct` exit whose jump is linked to the target
/// block's lookup entry (`Block::ibl_entry`) rather than its start: its stub
/// holds guest rcx and rdx in the lookup's scratch slots (1 and 2), which
/// the CPU loop puts back ([`CpuState::reload_lookup_slots`]).
pub const DIRECT_VIA_LOOKUP: u32 = 1;

/// `ExitDesc::arg` of a `Direct` exit of a jump or conditional branch to
/// an address no higher than its own, in a block that may be profiled:
/// where the trace tier puts its counting stubs (`Jit::arm_profiling`).
pub const DIRECT_BACK: u32 = 2;

/// Descriptor index every indirect-branch lookup miss uses.
pub const DESC_INDIRECT: u64 = 0;
/// Descriptor index the fault handler uses.
pub const DESC_FAULT: u64 = 1;
/// Descriptor index the asynchronous signal handler uses.
pub const DESC_SIGNAL: u64 = 2;
/// Descriptor index of a way out of a compiled trace to the CPU loop (a
/// `Trace` exit with `arg` [`TRACE_LEFT`]): the guest state is in the
/// `CpuState`, `rip` included (`baseline::trace_glue`).
pub const DESC_TRACE_LEFT: u64 = 3;
/// `ExitDesc::arg` of `DESC_TRACE_LEFT`.
pub const TRACE_LEFT: u32 = u32::MAX;

/// A fault taken in generated code, recorded by the host signal handler.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FaultInfo {
    pub signo: i32,
    pub code: i32,
    pub addr: u64,
    /// Page-fault error code (trapno/err from the host context) for SIGSEGV.
    pub err: u64,
    pub trapno: u64,
    /// `si_pkey` of a protection-key fault (SEGV_PKUERR), else 0.
    pub pkey: u32,
    /// Non-zero: the fault abandoned a compiled trace (the CPU loop gets a
    /// `Trace` exit, not a `Fault` one); cleared by the CPU loop.
    pub in_trace: u32,
}

/// The per-thread guest CPU state. See the module docs for how generated code
/// addresses it.
#[repr(C, align(64))]
pub struct CpuState {
    pub regs: [u64; 16],
    pub rip: u64,
    pub rflags: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    /// Spill slots for generated code's temporaries.
    pub scratch: [u64; 8],
    /// Indirect branch target, written by generated code.
    pub next_rip: u64,
    /// Index of the `ExitDesc` of the last exit (see `CodeCache::desc`).
    pub exit_desc: u64,
    /// Host stack pointer saved while generated code runs.
    pub host_rsp: u64,
    /// Host address generated code jumps to through memory.
    pub jmp_target: u64,
    /// Address of this structure (for code that has only GS).
    pub self_ptr: u64,
    /// Nonzero when a signal is pending for this thread: set by tern's host
    /// signal handlers, cleared by the CPU loop when it delivers. The
    /// `tern_enter` trampoline checks it last thing before jumping to
    /// generated code (generated code itself never reads it: a signal that
    /// lands there is handled through the pc map).
    pub exit_request: AtomicU32,
    /// The guest's FS and GS selectors (what `mov r, fs` reads). The host's
    /// own FS and GS are never loaded from guest values: segment loads are
    /// emulated on these and the bases above (`seg.rs`).
    pub fs_sel: u16,
    pub gs_sel: u16,
    pub fault: FaultInfo,
    /// The components the exits save and `tern_enter` restores (the
    /// requested-feature bitmap of `xsaveopt`/`xrstor`): `xstate::managed()`
    /// without x87, which stays live in the host registers while tern's own
    /// code runs (it has no x87 instructions). Unused with `fxsave`.
    pub xsave_rfbm: u64,
    /// `xstate::X87` when `xsave` holds x87 values newer than the
    /// registers' (set by [`CpuState::set_fpu`]): the next `tern_enter`
    /// restores x87 too and clears it.
    pub x87_load: u64,
    /// How the host saves the state (`xstate::SaveKind` as a byte).
    pub xsave_kind: u8,
    /// 1 if the entry may zero opmask/ZMM16-31 state instead of
    /// `xrstor`ing it (`xstate::may_zero_avx512`).
    pub xsave_zero_avx512: u8,
    pub _pad1: [u8; 2],
    /// Where `SaveKind::Registers` keeps the opmask registers, the ZMM0-15
    /// upper halves and ZMM16-31 in `xsave`: `xstate::avx512_offsets()`.
    pub xsave_offsets: [u32; 3],
    /// The guest's SSE, AVX and AVX-512 state (and x87 with `fxsave`, or
    /// when `x87_load` says so) while tern's own code runs (`xstate.rs`).
    /// Read and written through [`CpuState::fpu`] and [`CpuState::set_fpu`].
    pub(crate) xsave: XsaveArea,
    pub ibl: [IblEntry; IBL_SLOTS],
    /// The code-cache epoch whose code this thread may be running, or 0
    /// while it is in tern's CPU loop, outside generated code (the
    /// quiescence word of `Jit::flush`; never read by generated code).
    pub code_epoch: AtomicU64,
    /// Host tid of the thread running this state, for the flush's kick.
    pub host_tid: AtomicI32,
    /// The last code-cache epoch this thread saw while it held no `Block`
    /// (at the top of its CPU loop), or `u64::MAX` while it holds none
    /// for a while (in a guest syscall, or ended): block records retired
    /// by a flush are freed once every thread is past that flush.
    pub quiet_epoch: AtomicU64,
    /// Host stack pointer at the call of a compiled trace
    /// (`baseline::trace_glue`), 0 while none runs: a fault in trace code
    /// leaves the trace from there.
    pub trace_rsp: u64,
    /// Entries into compiled traces on this thread (`--stats`).
    pub trace_entries: u64,
    /// Guest instructions run in baseline code on this thread, counted
    /// only under `--stats` (`Jit::set_count_insns`).
    pub guest_insns: u64,
    /// 1 while the running trace's entry keeps the guest's XMM registers
    /// and MXCSR in the XSAVE area, 0 when they stay in the registers
    /// (`baseline::trace_glue`: `to_loop` reloads them or not).
    pub trace_xmm: u64,
    /// The guest's trap flag (EFLAGS.TF), 0 or 1. It is kept out of
    /// `rflags` so that generated code never runs with the host's TF set:
    /// while it is 1 the CPU loop runs the guest one instruction at a time
    /// and gives it a SIGTRAP (TRAP_TRACE) after each, as the CPU's
    /// single-step trap does. Signal frames and `rt_sigreturn` carry it as
    /// the TF bit of the saved flags.
    pub step: u64,
    /// Set to 1 by the host SIGTRAP handler when a guest `popf` set the
    /// host's TF in generated code (the single-step trap after it, which
    /// the handler turns into an exit): the guest's TF is now 1.
    pub tf_set: u64,
    /// One bit per chunk of [`IBL_CHUNK`] lookup-table entries this state's
    /// thread has filled (`ibl_insert`, the only writer of keys besides
    /// clearing): clears visit only those chunks, and a pooled state keeps
    /// its table's pages without reading the rest of it.
    pub ibl_used: [AtomicU64; IBL_SLOTS / IBL_CHUNK / 64],
    /// Lookup misses this thread has filled (`Jit::ibl_fill`): past
    /// [`IBL_EVICT_AFTER`] they keep what they evict.
    pub ibl_misses: u64,
    /// 1 once this thread keeps evicted entries, else 0: until then the
    /// miss routine does not look at the victim half (a read of a page
    /// never written would still map one, a fault per miss in a fresh
    /// page).
    pub ibl_victims: u64,
    /// Per-thread execution counts of trace heads, indexed by
    /// `baseline::hot_slot` of the head that profiled branches lead to;
    /// pages are committed only for slots in use.
    pub hot: [u32; HOT_SLOTS],
}

/// Trace-head counters per thread (`CpuState::hot`); heads whose slots
/// coincide share one (`baseline::hot_slot`).
pub const HOT_SLOTS: usize = 1 << 16;

/// A set of [`CpuState::hot`] slots (the heads that counted, for a pause
/// of the profiling: `CpuState::take_hot`).
pub struct HotSlots(Box<[u64; HOT_SLOTS / 64]>);

impl HotSlots {
    pub fn new() -> Self {
        HotSlots(Box::new([0; HOT_SLOTS / 64]))
    }

    fn mark(&mut self, slot: usize) {
        self.0[slot / 64] |= 1 << (slot % 64);
    }

    pub fn has(&self, slot: usize) -> bool {
        self.0[slot / 64] & (1 << (slot % 64)) != 0
    }
}

impl Default for HotSlots {
    fn default() -> Self {
        Self::new()
    }
}

/// Byte offsets of `CpuState` fields, used by the code generator.
pub mod off {
    use super::CpuState;
    use std::mem::offset_of;
    pub const REGS: usize = offset_of!(CpuState, regs);
    pub const RIP: usize = offset_of!(CpuState, rip);
    pub const RFLAGS: usize = offset_of!(CpuState, rflags);
    pub const FS_BASE: usize = offset_of!(CpuState, fs_base);
    pub const GS_BASE: usize = offset_of!(CpuState, gs_base);
    pub const SCRATCH: usize = offset_of!(CpuState, scratch);
    pub const NEXT_RIP: usize = offset_of!(CpuState, next_rip);
    pub const EXIT_DESC: usize = offset_of!(CpuState, exit_desc);
    pub const HOST_RSP: usize = offset_of!(CpuState, host_rsp);
    pub const JMP_TARGET: usize = offset_of!(CpuState, jmp_target);
    pub const SELF_PTR: usize = offset_of!(CpuState, self_ptr);
    pub const EXIT_REQUEST: usize = offset_of!(CpuState, exit_request);
    pub const XSAVE: usize = offset_of!(CpuState, xsave);
    pub const XSAVE_RFBM: usize = offset_of!(CpuState, xsave_rfbm);
    pub const XSAVE_KIND: usize = offset_of!(CpuState, xsave_kind);
    pub const XSAVE_OFFSETS: usize = offset_of!(CpuState, xsave_offsets);
    pub const XSAVE_ZERO_AVX512: usize = offset_of!(CpuState, xsave_zero_avx512);
    pub const X87_LOAD: usize = offset_of!(CpuState, x87_load);
    pub const IBL: usize = offset_of!(CpuState, ibl);
    pub const IBL_VICTIMS: usize = offset_of!(CpuState, ibl_victims);
    pub const TRACE_RSP: usize = offset_of!(CpuState, trace_rsp);
    pub const TRACE_XMM: usize = offset_of!(CpuState, trace_xmm);
    pub const GUEST_INSNS: usize = offset_of!(CpuState, guest_insns);
    pub const TRACE_ENTRIES: usize = offset_of!(CpuState, trace_entries);
    pub const HOT: usize = offset_of!(CpuState, hot);

    /// Offset of guest register `r` (encoding order).
    pub const fn reg(r: usize) -> usize {
        REGS + 8 * r
    }
    /// Offset of scratch slot `i`.
    pub const fn scratch(i: usize) -> usize {
        SCRATCH + 8 * i
    }
}

/// A guest thread's architectural state outside the lookup table and
/// scratch slots: what a new thread or a vfork child copies from its
/// creator (`CpuState::clone_child_regs`).
#[derive(Clone, Copy)]
pub struct GuestRegs {
    pub regs: [u64; 16],
    pub rip: u64,
    pub rflags: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub fs_sel: u16,
    pub gs_sel: u16,
    pub fpu: XsaveArea,
}

impl CpuState {
    /// What a `clone` child starts from: this thread's state as its
    /// `syscall` leaves it in the child (rax = 0, rcx and r11 the return
    /// address and flags), on `stack` if nonzero, with FS base `tls` if
    /// given (CLONE_SETTLS).
    pub fn clone_child_regs(&self, stack: u64, tls: Option<u64>) -> GuestRegs {
        let mut regs = self.regs;
        regs[RAX] = 0;
        regs[RCX] = self.rip;
        regs[R11] = self.rflags;
        if stack != 0 {
            regs[RSP] = stack;
        }
        GuestRegs {
            regs,
            rip: self.rip,
            rflags: self.rflags,
            fs_base: tls.unwrap_or(self.fs_base),
            gs_base: self.gs_base,
            fs_sel: self.fs_sel,
            gs_sel: self.gs_sel,
            fpu: self.fpu(),
        }
    }

    /// This thread's guest state (on the thread that runs it, outside
    /// generated code: see [`CpuState::fpu`]).
    pub fn guest_regs(&self) -> GuestRegs {
        GuestRegs {
            regs: self.regs,
            rip: self.rip,
            rflags: self.guest_rflags(),
            fs_base: self.fs_base,
            gs_base: self.gs_base,
            fs_sel: self.fs_sel,
            gs_sel: self.gs_sel,
            fpu: self.fpu(),
        }
    }

    /// Makes `g` this thread's guest state.
    pub fn set_guest_regs(&mut self, g: &GuestRegs) {
        self.regs = g.regs;
        self.rip = g.rip;
        self.rflags = g.rflags;
        self.fs_base = g.fs_base;
        self.gs_base = g.gs_base;
        self.fs_sel = g.fs_sel;
        self.gs_sel = g.gs_sel;
        self.set_fpu(&g.fpu);
    }
}

impl CpuState {
    /// The guest's x87, SSE, AVX and AVX-512 state. Call it on the thread
    /// that runs this state, outside generated code: on XSAVE hosts the
    /// guest's x87 registers are the live ones.
    pub fn fpu(&self) -> XsaveArea {
        let mut a = self.xsave;
        if self.xsave_kind != SaveKind::Fxsave as u8 && self.x87_load == 0 {
            let mut live = [0u8; xstate::LEGACY_SIZE];
            crate::entry::read_x87(&mut live);
            a.load_legacy(&live, xstate::X87);
        }
        a
    }

    /// The guest's XINUSE (what `xgetbv` with ECX = 1 reads): the
    /// components the last exit found in use, and x87's live bit.
    pub fn xinuse(&self) -> u64 {
        let saved = self.xsave.xstate_bv() & self.xsave_rfbm;
        match self.xsave_kind {
            k if k == SaveKind::Fxsave as u8 => xstate::X87 | xstate::SSE,
            _ if self.x87_load != 0 => saved | (self.xsave.xstate_bv() & xstate::X87),
            _ => saved | (crate::entry::read_xinuse() & xstate::X87),
        }
    }

    /// Makes `a` the guest's x87, SSE, AVX and AVX-512 state from the next
    /// entry on. What `xrstor` would refuse (header bits the host does not
    /// enable, reserved MXCSR bits) is dropped, so a guest-supplied image
    /// can never fault tern's entry.
    pub fn set_fpu(&mut self, a: &XsaveArea) {
        self.xsave = *a;
        self.xsave.sanitize();
        self.fpu_changed();
    }

    /// [`set_fpu`](Self::set_fpu) of the initial state (a signal
    /// handler's), without building a whole area.
    pub fn reset_fpu(&mut self) {
        self.xsave.reset();
        self.fpu_changed();
    }

    /// [`set_fpu`](Self::set_fpu) of the state `fill` writes over the
    /// initial one, in place (`rt_sigreturn` reads it from the frame).
    /// Returns what `fill` returns; the state is set either way.
    pub fn set_fpu_with<R>(&mut self, fill: impl FnOnce(&mut XsaveArea) -> R) -> R {
        self.xsave.reset();
        let r = fill(&mut self.xsave);
        self.xsave.sanitize();
        self.fpu_changed();
        r
    }

    /// Once `xsave` holds new values: sets `x87_load`, which is x87 with
    /// XSAVE unless both the area and the live registers hold the x87
    /// init state (XINUSE's x87 bit is clear only in that state, and only
    /// `xrstor` clears it); and with register moves gives SSE state in
    /// its init state its values (zeros) instead. Both keep the next entry
    /// off `xrstor` (`entry.rs`) after a signal's frame or `rt_sigreturn`
    /// in a program that never used x87.
    fn fpu_changed(&mut self) {
        if self.xsave_kind == SaveKind::Fxsave as u8 {
            return;
        }
        let live_init = xstate::host_has_xgetbv1() && crate::entry::read_xinuse() & xstate::X87 == 0;
        self.x87_load = if live_init && self.xsave.x87_is_init() { 0 } else { xstate::X87 };
        if self.xsave_kind == SaveKind::Registers as u8 {
            self.xsave.spell_out_sse();
        }
    }

    /// Guest register by encoding number.
    pub fn reg(&self, r: usize) -> u64 {
        self.regs[r]
    }

    /// The guest's flags as it sees them: `rflags` with its TF (`step`).
    pub fn guest_rflags(&self) -> u64 {
        self.rflags | if self.step != 0 { TF } else { 0 }
    }

    /// Puts guest rcx and rdx back from the lookup's scratch slots, where
    /// a `Direct` exit with [`DIRECT_VIA_LOOKUP`] left them.
    pub fn reload_lookup_slots(&mut self) {
        self.regs[RCX] = self.scratch[1];
        self.regs[RDX] = self.scratch[2];
    }

    /// Clears the indirect-branch lookup table (after invalidation).
    pub fn flush_ibl(&mut self) {
        // SAFETY: self is live and exclusively ours.
        unsafe { CpuState::ibl_clear(self) }
    }

    /// Clears every lookup-table key of the state at `cpu`: its next
    /// indirect branches all miss. Called by any thread on any live
    /// thread's state (the code-cache flush). Only keys that are set are
    /// written: the table's pages become resident when first written (a
    /// read maps the shared zero page), and a thread that never filled most
    /// of its 1 MiB table must not get all of it from a flush.
    ///
    /// # Safety
    /// `cpu` points to a live `CpuState`.
    pub unsafe fn ibl_clear(cpu: *mut CpuState) {
        // SAFETY: cpu is live (precondition); `ibl_used` is only accessed
        // atomically.
        let used = unsafe { &(*cpu).ibl_used };
        for (w, word) in used.iter().enumerate() {
            if w == used.len() / 2 {
                // The first half cleared before the victims (`ibl_insert`).
                fence(Ordering::SeqCst);
            }
            let mut bits = word.load(Ordering::Acquire);
            while bits != 0 {
                let chunk = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                // SAFETY: as above.
                unsafe { Self::ibl_clear_range(cpu, chunk * IBL_CHUNK..(chunk + 1) * IBL_CHUNK) };
            }
        }
    }

    /// Clears the set keys among entries `range` (see [`Self::ibl_clear`]).
    ///
    /// # Safety
    /// `cpu` points to a live `CpuState`.
    unsafe fn ibl_clear_range(cpu: *mut CpuState, range: std::ops::Range<usize>) {
        for e in range {
            // SAFETY: as in `ibl_forget`: keys are only written atomically.
            let key = unsafe { &*(std::ptr::addr_of_mut!((*cpu).ibl[e].key) as *const AtomicU64) };
            if key.load(Ordering::Relaxed) != 0 {
                key.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Makes the lookup table's pages resident now, in one call
    /// (`MADV_POPULATE_WRITE`, Linux 5.14; ignored where it fails), instead
    /// of one page fault per page as entries are first filled: worth it
    /// for the main thread of a short process, which fills entries in most
    /// of its table's pages within its first milliseconds (`tern
    /// /bin/true`: 185 of 256), and for other threads once they have
    /// missed [`IBL_POPULATE_AFTER`] times, not before (see
    /// `benches/README.md`, "Memory per thread"). The first half only: the
    /// victims' half is written only where entries are evicted.
    pub fn ibl_populate(&mut self) {
        let start = std::ptr::addr_of_mut!(self.ibl) as u64;
        crate::hostmem::populate(start, std::mem::size_of::<[IblEntry; IBL_ENTRIES]>(), true);
    }

    /// Empties the lookup table and gives its memory back to the system
    /// (`MADV_DONTNEED`: the pages read as zero, empty entries, until
    /// written again). For a state no thread runs on (a pooled one, a vfork
    /// kit between children), so that an ended thread's table costs
    /// nothing; other threads may still clear its keys meanwhile (their
    /// atomic stores land before or after the pages are dropped, either
    /// way the key reads 0).
    ///
    /// # Safety
    /// `cpu` points to a live `CpuState` that no thread runs generated code
    /// on (a lookup racing with the drop could read a key and then a
    /// zeroed host word).
    pub unsafe fn ibl_release(cpu: *mut CpuState) {
        const PAGE: usize = 4096;
        // SAFETY: cpu is live (precondition); only the table's address is taken.
        let start = unsafe { std::ptr::addr_of_mut!((*cpu).ibl) } as usize;
        let end = start + std::mem::size_of::<[IblEntry; IBL_SLOTS]>();
        let (first, last) = (start.next_multiple_of(PAGE), end / PAGE * PAGE);
        let entry = std::mem::size_of::<IblEntry>();
        // SAFETY: [first, last) is whole pages inside this state's private
        // anonymous mapping, holding only table entries (plain data for
        // which all-zero is the empty entry).
        let dropped =
            last > first && unsafe { libc::madvise(first as *mut _, last - first, libc::MADV_DONTNEED) } == 0;
        // SAFETY: cpu is live; the entries outside the dropped pages (or
        // all of them, if the call failed) are cleared by stores.
        unsafe {
            if dropped {
                Self::ibl_clear_range(cpu, 0..(first - start) / entry);
                Self::ibl_clear_range(cpu, (last - start) / entry..IBL_SLOTS);
                for w in &(*cpu).ibl_used {
                    w.store(0, Ordering::Relaxed);
                }
            } else {
                Self::ibl_clear(cpu);
            }
            // The next thread on this state starts without victims.
            (*cpu).ibl_misses = 0;
            (*cpu).ibl_victims = 0;
        }
    }

    /// Records `guest -> host` in the lookup table. The host word is
    /// written before the key, both atomically: other threads only ever
    /// clear keys ([`CpuState::ibl_forget`]), so generated code never pairs
    /// a key with another block's host address. With `evict`, the entry
    /// it replaces in the first half, if it held another target, moves to
    /// that target's victim slot, where the miss routine finds it (a miss
    /// that ran the program; not a prefill of blocks it may never reach,
    /// which would only make victim pages resident). True if one moved.
    ///
    /// # Safety
    /// `host` is the lookup entry (`Block::ibl_entry`) of the block
    /// translated for `guest`: generated code jumps there, with guest rcx
    /// and rdx in scratch slots 1 and 2, whenever the guest branches to
    /// `guest`.
    pub unsafe fn ibl_insert(&mut self, guest: u64, host: u64, evict: bool) -> bool {
        let idx = ibl_index(guest);
        // Read only to evict: a first touch of a table page that is a read
        // maps the shared zero page and the write after it faults again.
        // SAFETY: idx is in the first half.
        let (old_key, old_host) = if evict { unsafe { self.ibl_read(idx) } } else { (0, 0) };
        let moved = evict && old_key != 0 && old_key != !guest;
        if moved {
            let victim = ibl_victim_index(!old_key);
            // SAFETY: the old entry's host word was written for its key
            // before the key, so it is the lookup entry of that target's
            // block.
            unsafe { self.ibl_set(victim, old_key, old_host) };
            // An invalidation forgets a target in its first slot, then in
            // its victim slot (`ibl_forget`, `ibl_clear`). If it has not
            // reached the first slot yet, it will see the copy; if it has,
            // the copy may have come too late for it: taken out here.
            fence(Ordering::SeqCst);
            // SAFETY: idx and victim are slots of this table.
            if unsafe { self.ibl_read(idx).0 } != old_key {
                // SAFETY: self is a live state; victim is one of its slots.
                unsafe { Self::ibl_unset(self, victim, old_key) };
            }
        }
        // SAFETY: as above, for guest's own entry.
        unsafe { self.ibl_set(idx, !guest, host) };
        moved
    }

    /// Entry `idx`'s key and host word.
    ///
    /// # Safety
    /// `idx < IBL_SLOTS`.
    unsafe fn ibl_read(&self, idx: usize) -> (u64, u64) {
        let e = std::ptr::addr_of!(self.ibl[idx]);
        // SAFETY: aligned fields of this table, only written atomically.
        unsafe {
            let key = (*(std::ptr::addr_of!((*e).key) as *const AtomicU64)).load(Ordering::Acquire);
            let host = (*(std::ptr::addr_of!((*e).host) as *const AtomicU64)).load(Ordering::Relaxed);
            (key, host)
        }
    }

    /// Writes entry `idx`: the host word, then the key (`key`, the NOT of
    /// the guest pc), and marks its chunk used.
    ///
    /// # Safety
    /// `idx < IBL_SLOTS`, and `host` is the lookup entry of the block for
    /// `!key`.
    unsafe fn ibl_set(&mut self, idx: usize, key: u64, host: u64) {
        let (word, bit) = ibl_used_bit(idx);
        self.ibl_used[word].fetch_or(bit, Ordering::Release);
        let e = std::ptr::addr_of_mut!(self.ibl[idx]);
        // SAFETY: both words are 8-byte aligned fields of this thread's
        // table; other threads touch them only through atomics.
        unsafe {
            (*(std::ptr::addr_of_mut!((*e).host) as *const AtomicU64)).store(host, Ordering::Relaxed);
            (*(std::ptr::addr_of_mut!((*e).key) as *const AtomicU64)).store(key, Ordering::Release);
        }
    }

    /// Clears the lookup-table keys of `guest` in the state at `cpu`, in
    /// both its slots, where they still name `guest`: the next indirect
    /// branch there misses. Called by any thread on any live thread's
    /// state (invalidation); only key words change, atomically, so a racing
    /// lookup sees either the old entry (whose host code is never freed) or
    /// a miss.
    ///
    /// # Safety
    /// `cpu` points to a live `CpuState` (one registered with the `Jit`).
    pub unsafe fn ibl_forget(cpu: *mut CpuState, guest: u64) {
        // The first slot first, then a full fence (the locked exchange
        // where it writes, else the fence), then the victim slot: the order
        // `ibl_insert`'s move of an evicted entry relies on.
        // SAFETY: cpu is live (precondition); both are slots of its table.
        unsafe {
            Self::ibl_unset(cpu, ibl_index(guest), !guest);
            fence(Ordering::SeqCst);
            // Not even read in a chunk never written (`ibl_set` marks the
            // chunk before it writes the key): the read would map a page,
            // one per dropped block, in the half most threads never use.
            let victim = ibl_victim_index(guest);
            let (word, bit) = ibl_used_bit(victim);
            if (*cpu).ibl_used[word].load(Ordering::Acquire) & bit != 0 {
                Self::ibl_unset(cpu, victim, !guest);
            }
        }
    }

    /// Marks in `ran` the trace-head counters of the state at `cpu` that
    /// counted since they were last taken, and starts them again from 0.
    /// The owning thread may be counting meanwhile: an increment racing
    /// the reset is lost or kept, either way the slot counted.
    ///
    /// # Safety
    /// `cpu` points to a live `CpuState` (one registered with the `Jit`).
    pub unsafe fn take_hot(cpu: *mut CpuState, ran: &mut HotSlots) {
        // SAFETY: cpu is live (precondition); its counters are aligned u32s
        // that generated code increments with plain moves and Rust code
        // touches only atomically (`CpuState::restart_hot`).
        let hot = unsafe { &*(std::ptr::addr_of!((*cpu).hot) as *const [AtomicU32; HOT_SLOTS]) };
        for (i, c) in hot.iter().enumerate() {
            // Loaded first: a page no counter was written in stays the
            // shared zero page.
            if c.load(Ordering::Relaxed) != 0 {
                c.store(0, Ordering::Relaxed);
                ran.mark(i);
            }
        }
    }

    /// Starts the trace-head counter in `slot` of this thread again from 0
    /// (its head got hot).
    pub fn restart_hot(&mut self, slot: usize) {
        // SAFETY: an aligned u32 of this state; other threads touch it only
        // atomically (`CpuState::take_hot`).
        let c = unsafe { &*(std::ptr::addr_of!(self.hot[slot]) as *const AtomicU32) };
        c.store(0, Ordering::Relaxed);
    }

    /// Clears key `idx` of the state at `cpu` if it is `key`.
    ///
    /// # Safety
    /// `cpu` points to a live `CpuState` and `idx < IBL_SLOTS`.
    unsafe fn ibl_unset(cpu: *mut CpuState, idx: usize, key: u64) {
        // SAFETY: cpu is live (precondition); the key is an aligned u64
        // only ever written atomically.
        let k = unsafe { &*(std::ptr::addr_of_mut!((*cpu).ibl[idx].key) as *const AtomicU64) };
        // Loaded first: a locked compare-and-exchange writes even when it
        // fails, which would make a page of every thread's table resident
        // per dropped block (a read maps the shared zero page).
        if k.load(Ordering::Acquire) == key {
            let _ = k.compare_exchange(key, 0, Ordering::AcqRel, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod hot_tests {
    use super::{CpuState, HotSlots, HOT_SLOTS};

    /// A pause learns which heads counted since the last one, and their
    /// counters start again.
    #[test]
    fn taking_the_counters_marks_and_restarts_them() {
        let mut cpu = crate::entry::CpuBox::new().expect("a CpuState");
        let cpu: &mut CpuState = &mut cpu;
        let counted = [0usize, 63, 64, 4097, HOT_SLOTS - 1];
        for &s in &counted {
            cpu.hot[s] = 7;
        }
        cpu.restart_hot(64);
        let mut ran = HotSlots::new();
        // SAFETY: a live state, not shared.
        unsafe { CpuState::take_hot(cpu, &mut ran) };
        let marked: Vec<usize> = (0..HOT_SLOTS).filter(|&i| ran.has(i)).collect();
        assert_eq!(marked, [0, 63, 4097, HOT_SLOTS - 1]);
        assert!(cpu.hot.iter().all(|&c| c == 0));
    }
}

#[cfg(test)]
mod ibl_index_tests {
    /// The slot Rust computes is the one generated code computes (the same
    /// instruction sequence, run here), and 16-byte aligned targets spread
    /// over the table.
    #[test]
    fn rust_and_host_code_agree() {
        if !super::ibl_index_uses_crc32() {
            return;
        }
        let mut slots = std::collections::HashSet::new();
        for i in 0..4096u64 {
            let g = 0x7f00_1234_0000 + i * 16;
            let mut c: u32;
            // SAFETY: the host has SSE4.2 (checked above); only registers change.
            unsafe {
                std::arch::asm!("mov ecx, 0xffffffff", "crc32 ecx, edx", "movzx ecx, cx",
                    out("ecx") c, in("edx") g as u32, options(nomem, nostack))
            };
            assert_eq!(c as usize, super::ibl_index(g));
            slots.insert(c);
        }
        assert!(slots.len() > 3500, "{} distinct slots for 4096 aligned targets", slots.len());
    }

    /// The victim slot Rust computes is the one the miss routine computes,
    /// and targets that share a first-half slot are spread over the
    /// victims' half.
    #[test]
    fn victim_slots_agree_and_spread() {
        let mut victims = std::collections::HashSet::new();
        let mut first = std::collections::HashMap::<usize, Vec<u64>>::new();
        for i in 0..1u64 << 18 {
            let g = 0x7f00_1234_0000 + i * 16;
            first.entry(super::ibl_index(g)).or_default().push(g);
        }
        for (_, gs) in first.iter().filter(|(_, gs)| gs.len() > 1).take(2000) {
            for &g in gs {
                let v = super::ibl_victim_index(g);
                assert!((super::IBL_ENTRIES..super::IBL_SLOTS).contains(&v));
                victims.insert(v);
            }
            if !super::ibl_index_uses_crc32() {
                continue;
            }
            let g = gs[0];
            let mut c: u64;
            // SAFETY: the host has SSE4.2 (checked above); only registers change.
            unsafe {
                std::arch::asm!("mov ecx, 0xffffffff", "crc32 ecx, edx", "bswap ecx", "movzx ecx, cx",
                    "lea rcx, [rcx + rcx + 0x20000]",
                    out("rcx") c, in("edx") g as u32, options(nomem, nostack))
            };
            assert_eq!(c as usize, 2 * super::ibl_victim_index(g));
        }
        assert!(victims.len() > 4000, "{} distinct victim slots", victims.len());
    }
}
