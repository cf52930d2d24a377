//! Guest signal frames: STAND-IN until the frames part lands (same
//! signatures). It builds a plain x86-64 `rt_sigframe` (return address,
//! ucontext with the general registers, an FXSAVE image and the mask,
//! siginfo) on the guest stack and restores it at `rt_sigreturn`; no
//! sigaltstack, no xsave magic, no synchronous-fault frames.

use crate::guest::{GuestSignals, SigAction, SIG_DFL};
use crate::mask::{guest_mask, set_guest_mask, sigbit};
use tern_translate::cpu::{CpuState, RAX, RDI, RDX, RSI, RSP};
use tern_translate::guestmem::{read_guest, write_guest};

/// Guest registers in `struct sigcontext` order (r8..r15, rdi, rsi, rbp,
/// rbx, rdx, rax, rcx, rsp), as numbers in `CpuState::regs`.
const SIGCONTEXT_REGS: [usize; 16] = [8, 9, 10, 11, 12, 13, 14, 15, 7, 6, 5, 3, 2, 0, 1, 4];

/// Offsets in the frame: return address, ucontext, its mcontext and mask, siginfo.
const UC: u64 = 8;
const MCTX: u64 = UC + 40;
const SIGMASK: u64 = UC + 296;
const INFO: u64 = UC + 304;
const FRAME: u64 = INFO + 128;

/// `arch/x86/kernel/signal.c: __setup_rt_frame()` (reduced, see the module
/// docs). Err when the frame cannot be written.
pub fn setup_frame(cpu: &mut CpuState, sig: i32, info: &[u8; 128], act: &SigAction) -> Result<(), ()> {
    let fx = (cpu.regs[RSP] - 128 - 512) & !63;
    let frame = ((fx - FRAME) & !15) - 8;
    let mut b = vec![0u8; FRAME as usize];
    let put =
        |b: &mut Vec<u8>, at: u64, v: u64| b[at as usize..at as usize + 8].copy_from_slice(&v.to_le_bytes());
    put(&mut b, 0, act.restorer);
    put(&mut b, UC, 6);
    put(&mut b, UC + 16 + 8, libc::SS_DISABLE as u64);
    for (i, r) in SIGCONTEXT_REGS.iter().enumerate() {
        put(&mut b, MCTX + 8 * i as u64, cpu.regs[*r]);
    }
    put(&mut b, MCTX + 8 * 16, cpu.rip);
    put(&mut b, MCTX + 8 * 17, cpu.rflags);
    put(&mut b, MCTX + 8 * 18, 0x33 | (0x2b << 48));
    put(&mut b, MCTX + 8 * 22, guest_mask());
    put(&mut b, MCTX + 8 * 23, fx);
    put(&mut b, SIGMASK, guest_mask());
    b[INFO as usize..].copy_from_slice(info);
    if !write_guest(fx, &cpu.fx.0) || !write_guest(frame, &b) {
        return Err(());
    }
    cpu.regs[RSP] = frame;
    cpu.regs[RDI] = sig as u64;
    cpu.regs[RSI] = frame + INFO;
    cpu.regs[RDX] = frame + UC;
    cpu.regs[RAX] = 0;
    cpu.rip = act.handler;
    cpu.rflags &= !(0x400 | 0x100 | 0x10000);
    Ok(())
}

/// Delivers `sig` to its guest handler: the frame, then the mask the
/// handler runs with and SA_RESETHAND (`kernel/signal.c: signal_setup_done()`).
pub fn deliver(
    sigs: &GuestSignals,
    cpu: &mut CpuState,
    sig: i32,
    info: &[u8; 128],
    act: &SigAction,
) -> Result<(), ()> {
    setup_frame(cpu, sig, info, act)?;
    let mut m = guest_mask() | act.mask;
    if act.flags & libc::SA_NODEFER as u64 == 0 {
        m |= sigbit(sig);
    }
    set_guest_mask(m);
    if act.flags & libc::SA_RESETHAND as u64 != 0 {
        let _ = sigs.set_action(sig, Some(SigAction { handler: SIG_DFL, ..*act }));
    }
    Ok(())
}

/// `rt_sigreturn`: restores what the handler left in its frame.
pub fn sigreturn(cpu: &mut CpuState) -> Result<(), ()> {
    let frame = cpu.regs[RSP] - 8;
    let mut b = vec![0u8; FRAME as usize];
    if read_guest(frame, &mut b) != b.len() {
        return Err(());
    }
    let get = |at: u64| u64::from_le_bytes(b[at as usize..at as usize + 8].try_into().unwrap_or_default());
    for (i, r) in SIGCONTEXT_REGS.iter().enumerate() {
        cpu.regs[*r] = get(MCTX + 8 * i as u64);
    }
    cpu.rip = get(MCTX + 8 * 16);
    const FIX: u64 = 0x54dd5;
    cpu.rflags = (cpu.rflags & !FIX) | (get(MCTX + 8 * 17) & FIX);
    let fx = get(MCTX + 8 * 23);
    if fx != 0 {
        let mut a = [0u8; 512];
        if read_guest(fx, &mut a) != 512 {
            return Err(());
        }
        // MXCSR bits the CPU would refuse (#GP at fxrstor) are dropped.
        let mxcsr = u32::from_le_bytes([a[24], a[25], a[26], a[27]]) & 0xffff;
        a[24..28].copy_from_slice(&mxcsr.to_le_bytes());
        cpu.fx.0 = a;
    }
    let mask = get(SIGMASK);
    set_guest_mask(mask);
    crate::pending::deliver_unblocked(guest_mask());
    Ok(())
}
