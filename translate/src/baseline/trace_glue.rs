//! Glue between baseline code and compiled traces.
//!
//! A compiled trace is a function of the `CpuState` (`extern "sysv64"
//! fn(*mut CpuState) -> u64`, returning the guest pc to go on at). Baseline
//! code reaches it through the trace's entry stub (a profiled branch is
//! patched to it) and the shared `trace_enter` routine, without going back
//! to the CPU loop: the routine stores the guest registers and flags in the
//! `CpuState`, calls the function on the host stack below the CPU loop's
//! frame (`CpuState::host_rsp`), then loads the state the function left and
//! looks the guest pc up in the thread's lookup table, as an indirect
//! branch does. The guest's XMM0-15 and MXCSR are stored in the XSAVE
//! area's legacy region around the call (the trace reads and writes them there, and its
//! own code may use them); the rest of the vector state stays live in the
//! registers, which the trace leaves alone (it is compiled without AVX).
//!
//! Ways out to the CPU loop (`to_loop`, with `DESC_TRACE_LEFT`; the whole
//! guest state is then in the `CpuState`): a signal is pending when the
//! function returns (it checked `exit_request` on its own back edges too);
//! a host signal lands while the routine reloads the registers (the
//! `window`: the handler resumes at `to_loop`); a fault in the function,
//! which abandons it with the state at its last sync point (the fault
//! handler resumes at `to_loop` with the stack `trace_rsp` saved).

use super::asm::{Asm, RAX, RCX, RDX, RSP};
use super::{ibl_lookup, SLOT_IBL, SLOT_TARGET};
use crate::cpu::off;

/// Scratch slot holding guest rax while a trace's stub loads the address
/// of its function.
const SLOT_TRACE: usize = 5;

/// The shared routines around compiled traces.
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceRuntime {
    /// Entered from a trace's stub: guest rax in scratch slot 5, the
    /// function's address in rax, every other register the guest's. For a
    /// function that uses vector registers: the guest's XMM0-15 and MXCSR
    /// go to the XSAVE area around the call.
    pub enter: u64,
    /// The same for a function whose code touches no vector register nor
    /// MXCSR (`uses_vector_state`): the guest's stay in the registers.
    pub enter_gpr: u64,
    /// Exits `DESC_TRACE_LEFT` with the guest state in the `CpuState`.
    pub to_loop: u64,
    /// Where `trace_enter` reloads the guest registers from a whole
    /// `CpuState`: a host signal there may resume at `to_loop`.
    pub window: (u64, u64),
}

/// The guest GPRs other than rsp, in `CpuState::regs` order.
const NOT_RSP: [u8; 15] = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// RFLAGS.TF, DF and AC: the function runs with all clear (TF would trap
/// in it, DF is the ABI's, AC would make its unaligned accesses fault).
const TF_DF_AC: u32 = (1 << 8) | (1 << 10) | (1 << 18);

/// Emits the shared trace routines at `a`'s position. `ibl_miss` is the
/// lookup's miss routine, `resume_host` the host address of
/// `tern_resume_host`, `desc_left` the index of `DESC_TRACE_LEFT`.
pub fn emit_trace_runtime(a: &mut Asm, ibl_miss: u64, resume_host: u64, desc_left: u32) -> TraceRuntime {
    // `jmp [rip+2]` to tern_resume_host, its literal 8-aligned (a guest
    // may run with EFLAGS.AC set).
    a.align8();
    let resume = a.here();
    a.bytes(&[0xff, 0x25, 2, 0, 0, 0, 0xcc, 0xcc]);
    a.bytes(&resume_host.to_le_bytes());
    // to_loop: (also the fault handler's way out of a trace) the XMM
    // registers from the area if the entry put them there (the trace's own
    // code may have used them), which the exit then saves whole. Not
    // MXCSR: the live one is the guest's, with every exception flag the
    // trace raised (its syncs do not store it).
    let to_loop = a.here();
    gs_disp(a, &[0x65, 0x83, 0x3c, 0x25], off::TRACE_XMM); // cmp dword gs:[trace_xmm], 0
    a.bytes(&[0x00]);
    let here = a.here();
    let no_xmm = a.jcc(0x4, here); // je
    xmm_area(a, 0x10);
    let past = a.here();
    a.set_rel32(no_xmm, past);
    a.store_gs_imm32(off::TRACE_RSP, 0);
    a.store_gs_imm32(off::EXIT_DESC, desc_left as i32);
    a.jmp_unaligned(resume);

    // The entry with the vector state saved around the call.
    a.align8();
    let enter = a.here();
    enter_prologue(a);
    a.store_gs_imm32(off::TRACE_XMM, 1);
    xmm_area(a, 0x11);
    gs_disp(a, &[0x65, 0x0f, 0xae, 0x1c, 0x25], off::XSAVE + MXCSR); // stmxcsr
                                                                     // or qword gs:[xstate_bv], SSE: the area's XMM registers are current.
    gs_disp(a, &[0x65, 0x48, 0x83, 0x0c, 0x25], off::XSAVE + XSTATE_BV);
    a.bytes(&[0x02]);
    call_function(a);
    xmm_area(a, 0x10);
    gs_disp(a, &[0x65, 0x0f, 0xae, 0x14, 0x25], off::XSAVE + MXCSR); // ldmxcsr
    let here = a.here();
    let to_tail = a.jmp(here);

    // The entry for functions that leave the vector state alone.
    a.align8();
    let enter_gpr = a.here();
    enter_prologue(a);
    a.store_gs_imm32(off::TRACE_XMM, 0);
    call_function(a);
    let tail = a.here();
    a.set_rel32(to_tail, tail);

    gs_disp(a, &[0x65, 0x83, 0x3c, 0x25], off::EXIT_REQUEST); // cmp dword gs:[exit_request], 0
    a.bytes(&[0x00]);
    a.bytes(&[0x0f, 0x85]); // jne to_loop
    let rel = to_loop.wrapping_sub(a.here() + 4) as i64;
    a.bytes(&i32::try_from(rel).expect("near").to_le_bytes());
    let window_lo = a.here();
    a.bytes(&[0x48, 0x89, 0xc2]); // mov rdx, rax: the guest pc
    restore_flags(a);
    a.load_gs(RCX, off::reg(RCX.into()));
    a.store_gs(off::scratch(SLOT_TARGET), RCX);
    a.load_gs(RCX, off::reg(RDX.into()));
    a.store_gs(off::scratch(SLOT_IBL), RCX);
    for r in NOT_RSP.into_iter().filter(|&r| r != RCX && r != RDX) {
        a.load_gs(r, off::reg(r.into()));
    }
    a.load_gs(RSP, off::reg(RSP.into()));
    ibl_lookup(a, ibl_miss);
    let window_hi = a.here();
    TraceRuntime { enter, enter_gpr, to_loop, window: (window_lo, window_hi) }
}

/// The guest GPRs and flags to the `CpuState`, then onto the host stack
/// with DF and AC clear and rdi the `CpuState`.
fn enter_prologue(a: &mut Asm) {
    for r in NOT_RSP.into_iter().filter(|&r| r != RAX) {
        a.store_gs(off::reg(r.into()), r);
    }
    a.store_gs(off::reg(RSP.into()), RSP);
    a.load_gs(RCX, off::scratch(SLOT_TRACE));
    a.store_gs(off::reg(RAX.into()), RCX);
    a.load_gs(RSP, off::HOST_RSP);
    a.bytes(&[0x9c]); // pushfq
    gs_disp(a, &[0x65, 0x8f, 0x04, 0x25], off::RFLAGS); // pop qword gs:[rflags]
                                                        // popfq is slow: only for a guest that runs with TF, DF or AC set.
    gs_disp(a, &[0x65, 0xf7, 0x04, 0x25], off::RFLAGS); // test dword gs:[rflags], TF|DF|AC
    a.bytes(&TF_DF_AC.to_le_bytes());
    let plain = a.short(0x74); // je
    a.bytes(&[0x68, 0x02, 0x02, 0, 0, 0x9d]); // push 0x202; popfq
    a.land(plain);
    gs_disp(a, &[0x65, 0x48, 0xff, 0x04, 0x25], off::TRACE_ENTRIES); // inc qword gs:[trace_entries]
    a.load_gs(7, off::SELF_PTR); // rdi = the CpuState
}

/// Calls the function in rax with `trace_rsp` set around the call.
fn call_function(a: &mut Asm) {
    a.store_gs(off::TRACE_RSP, RSP);
    a.bytes(&[0xff, 0xd0]); // call rax
    a.store_gs_imm32(off::TRACE_RSP, 0);
}

/// The guest's flags from the `CpuState` into RFLAGS (rax and rcx
/// clobbered): without popfq when TF, DF and AC are clear, as the function
/// left them; OF by an `add` that overflows exactly when it was set, the
/// other five status flags by `sahf`.
fn restore_flags(a: &mut Asm) {
    a.load_gs(RAX, off::RFLAGS);
    a.bytes(&[0xa9]); // test eax, TF|DF|AC
    a.bytes(&TF_DF_AC.to_le_bytes());
    let slow = a.short(0x75); // jne
    a.bytes(&[0x89, 0xc1]); // mov ecx, eax
    a.bytes(&[0xc1, 0xe9, 11]); // shr ecx, 11: OF in bit 0
    a.bytes(&[0x80, 0xe1, 0x01]); // and cl, 1
    a.bytes(&[0x80, 0xc1, 0x7f]); // add cl, 0x7f: 0x80 (overflow) iff OF
    a.bytes(&[0x88, 0xc4]); // mov ah, al: SF ZF AF PF CF
    a.bytes(&[0x9e]); // sahf
    let done = a.short(0xeb);
    a.land(slow);
    gs_disp(a, &[0x65, 0xff, 0x34, 0x25], off::RFLAGS); // push qword gs:[rflags]
    a.bytes(&[0x9d]); // popfq
    a.land(done);
}

/// Offsets in the XSAVE area of MXCSR and XMM0 (legacy region) and of
/// XSTATE_BV.
const MXCSR: usize = 24;
const XMM0: usize = 160;
const XSTATE_BV: usize = 512;

/// `movups` of XMM0-15 to (opcode 0x11) or from (0x10) the XSAVE area's
/// legacy region.
fn xmm_area(a: &mut Asm, opcode: u8) {
    for i in 0..16u8 {
        if i >= 8 {
            a.bytes(&[0x65, 0x44, 0x0f, opcode]);
        } else {
            a.bytes(&[0x65, 0x0f, opcode]);
        }
        a.bytes(&[0x04 | ((i & 7) << 3), 0x25]);
        let d = off::XSAVE + XMM0 + 16 * usize::from(i);
        a.bytes(&u32::try_from(d).expect("CpuState offset fits disp32").to_le_bytes());
    }
}

/// `prefix` then a disp32 `off` (an absolute GS-relative operand).
fn gs_disp(a: &mut Asm, prefix: &[u8], off: usize) {
    a.bytes(prefix);
    a.bytes(&u32::try_from(off).expect("CpuState offset fits disp32").to_le_bytes());
}

/// A trace's entry stub, for host address `at`: a patchable jump (its
/// rel32 field at `.1`) that leads to the entry (guest rax to its slot,
/// the function's address `func` in rax, on to `trace_enter`) while the
/// trace is valid, and is patched to the exit part (at `.2`: exit
/// descriptor `desc`, a `Trace` exit naming the trace) once it is not.
pub fn emit_trace_stub(at: u64, desc: u32, func: u64, enter: u64, exit_tramp: u64) -> (Vec<u8>, u64, u64) {
    let mut a = Asm::new(at);
    let here = a.here();
    let field = a.jmp(here);
    let exit_part = a.here();
    a.store_gs_imm32(off::EXIT_DESC, desc as i32);
    a.jmp_unaligned(exit_tramp);
    let entry = a.here();
    a.set_rel32(field, entry);
    a.store_gs(off::scratch(SLOT_TRACE), RAX);
    a.mov_imm64(RAX, func);
    a.jmp_unaligned(enter);
    (a.buf, at + field as u64, exit_part)
}
