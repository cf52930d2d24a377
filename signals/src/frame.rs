//! Signal frames: delivering a guest signal to its handler and
//! `rt_sigreturn`, byte for byte as the x86-64 kernel does.
//!
//! The frame is `struct rt_sigframe` (`arch/x86/include/asm/sigframe.h`):
//! the restorer's address (the handler's return address), a `ucontext`
//! (flags, link, `uc_stack`, the `sigcontext` with the registers in the
//! kernel's order, the saved mask) and the siginfo; above it, 64-byte
//! aligned, the FPU state in the xsave layout with its software bytes and
//! magic numbers (`arch/x86/kernel/fpu/signal.c`). Its place follows
//! `arch/x86/kernel/signal.c: get_sigframe()`: below the 128-byte red
//! zone, or at the top of the alternate stack with `SA_ONSTACK`, so that
//! `(sp + 8) % 16 == 0` at handler entry. Mask updates, `SA_RESETHAND` and
//! `SS_AUTODISARM` follow `kernel/signal.c: signal_delivered()` and
//! `get_signal()`; a frame that cannot be written gives SIGSEGV
//! (`force_sigsegv()`).
//!
//! The FPU state holds the CPU model's state components (its XCR0: x87
//! and SSE, AVX from x86-64-v3, the AVX-512 ones from v4) in the kernel's
//! standard xsave form with its magic numbers (`fpstate.rs`); the handler
//! starts with the initial FPU state (`fpu__clear_user_states()`).
//! [`min_sigstack_size`] is the kernel's `get_sigframe_size()` for that
//! state, the `AT_MINSIGSTKSZ` the loader gives the guest. On a host with
//! protection keys the frame also carries PKRU, as the host kernel's
//! frames do ([`frame_components`]); where the model offers PKU, the
//! handler starts with the initial PKRU and sigreturn loads the frame's.
//!
//! Guest memory is written with the fault-free copies of `usercopy`; a
//! frame over tern's own memory is refused as unmapped memory would be,
//! and one over a page tern write-protected for self-modifying code gets
//! the page back first (the kernel's write is the guest's, as natively).

use crate::altstack::{self, AltStack, SS_AUTODISARM};
use crate::guest::{GuestSignals, SigAction, SIG_DFL, SIG_IGN};
use crate::mask::{guest_mask, set_guest_mask, set_guest_mask_deferred, sigbit};
use crate::sync::{self, SyncSignal};
use crate::usercopy;
use std::sync::OnceLock;
use tern_translate::cpu::{CpuState, RAX, RDI, RDX, RSI, RSP, TF};
use tern_translate::guestmem::TASK_SIZE;
use tern_translate::xstate::{self, SSE, X87};
use tern_translate::Jit;

/// `sa_flags` bits (`uapi/asm/signal.h`, `uapi/asm-generic/signal-defs.h`).
pub const SA_SIGINFO: u64 = 4;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// `uc_flags` bits (`uapi/asm/ucontext.h`).
pub const UC_FP_XSTATE: u64 = 1;
pub const UC_SIGCONTEXT_SS: u64 = 2;
pub const UC_STRICT_RESTORE_SS: u64 = 4;

pub use crate::fpstate::{FP_XSTATE_MAGIC1, FP_XSTATE_MAGIC2};

/// Offsets in `struct rt_sigframe`.
pub mod layout {
    /// `pretcode`: the restorer.
    pub const PRETCODE: usize = 0;
    /// `uc`: the ucontext.
    pub const UC: usize = 8;
    pub const UC_FLAGS: usize = UC;
    pub const UC_LINK: usize = UC + 8;
    pub const UC_STACK: usize = UC + 16;
    pub const UC_MCONTEXT: usize = UC + 40;
    pub const UC_SIGMASK: usize = UC + 296;
    /// `info`: the siginfo.
    pub const INFO: usize = UC + 304;
    /// `sizeof(struct rt_sigframe)`.
    pub const SIZE: usize = INFO + 128;
    /// The part of the sigcontext `rt_sigreturn` reads (up to
    /// `reserved1`, the kernel's `CONTEXT_COPY_SIZE`).
    pub const SC_COPY: usize = 24 * 8;
}

/// Word slots of `struct sigcontext_64` (glibc's `REG_*`).
pub mod sc {
    pub const RIP: usize = 16;
    pub const EFLAGS: usize = 17;
    pub const CSGSFS: usize = 18;
    pub const ERR: usize = 19;
    pub const TRAPNO: usize = 20;
    pub const OLDMASK: usize = 21;
    pub const CR2: usize = 22;
    pub const FPSTATE: usize = 23;
}

/// The sigcontext slot of each GPR in encoding order (rax, rcx, rdx, rbx,
/// rsp, rbp, rsi, rdi, r8..r15): r8..r15, rdi, rsi, rbp, rbx, rdx, rax,
/// rcx, rsp in the kernel's order.
const SC_GPR: [usize; 16] = [13, 14, 12, 11, 15, 10, 9, 8, 0, 1, 2, 3, 4, 5, 6, 7];

/// `__USER_CS` and `__USER_DS` (the 64-bit user code and stack selectors);
/// the sigcontext's fs and gs words are always 0 on x86-64.
const USER_CS: u64 = 0x33;
const USER_SS: u64 = 0x2b;

/// RFLAGS bits.
const DF: u64 = 1 << 10;
const RF: u64 = 1 << 16;
/// `FIX_EFLAGS`: what `rt_sigreturn` takes from the frame
/// (AC OF DF TF SF ZF AF PF CF RF).
const FIX_EFLAGS: u64 = (1 << 18) | (1 << 11) | DF | TF | (1 << 7) | (1 << 6) | (1 << 4) | (1 << 2) | 1 | RF;

/// `sizeof(struct sigframe_ia32)`, the largest frame header the kernel
/// sizes `AT_MINSIGSTKSZ` for (`MAX_FRAME_SIGINFO_UCTXT_SIZE` with
/// `CONFIG_IA32_EMULATION`, as distribution kernels are built).
const MAX_FRAME_SIGINFO_UCTXT_SIZE: u64 = 736;
/// `sizeof(struct fregs_state)`: the fsave header `fpu__get_fpstate_size()`
/// counts for 32-bit frames.
const FREGS_STATE_SIZE: u64 = 112;

/// A signal frame could not be written, or read back at `rt_sigreturn`
/// (the kernel then forces SIGSEGV).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadFrame;

static JIT: OnceLock<&'static Jit> = OnceLock::new();

/// Lets frames be written over pages tern write-protected because they
/// hold translated code, and gives the CPU model whose state frames hold
/// (call once at startup).
pub fn init(jit: &'static Jit) {
    let _ = JIT.set(jit);
}

/// The state components of the guest's frames: its CPU model's.
fn model_xcr0() -> u64 {
    frame_components(JIT.get().map_or(X87 | SSE, |jit| jit.model().xcr0()) & xstate::managed())
}

/// The state components of a frame for a CPU model with components
/// `model`: those, and PKRU where the host kernel's frames carry it (its
/// XCR0 has it: a host with protection keys), so that frames have the
/// size and layout of native ones on this host (a handler on an alternate
/// stack of `MINSIGSTKSZ` bytes fits under tern where it fits natively:
/// PKRU's component lies past AVX's). The guest cannot change PKRU: a
/// frame holds the thread's, and sigreturn does not load it.
pub fn frame_components(model: u64) -> u64 {
    model | xstate::host_xcr0() & xstate::PKRU
}

/// The kernel's `get_sigframe_size()` (`init_sigframe_size()`) for a CPU
/// whose user state components are `xcr0`: the largest frame header, the
/// FPU state with its fsave header and `FP_XSTATE_MAGIC2`, and the worst
/// alignment padding of both, rounded up to 16. A handler on an
/// alternate stack of this size always gets its frame.
pub fn min_sigstack_size(xcr0: u64) -> u64 {
    let fpstate = crate::fpstate::sigframe_size(xcr0) as u64 + FREGS_STATE_SIZE;
    (MAX_FRAME_SIGINFO_UCTXT_SIZE + 15 + fpstate + 63).next_multiple_of(16)
}

/// Writes a piece of a frame, as `copy_to_user` would: fails on memory
/// the guest cannot write, including tern's own.
fn put(addr: u64, data: &[u8]) -> Result<(), BadFrame> {
    let end = addr.checked_add(data.len() as u64).ok_or(BadFrame)?;
    if end > TASK_SIZE || tern_translate::pages::overlaps_tern_memory(addr, end) {
        return Err(BadFrame);
    }
    if usercopy::put(addr, data) {
        return Ok(());
    }
    if let Some(jit) = JIT.get() {
        let mut page = addr & !0xfff;
        let mut any = false;
        while page < end {
            any |= jit.handle_code_write(page);
            page += 0x1000;
        }
        if any && usercopy::put(addr, data) {
            return Ok(());
        }
    }
    Err(BadFrame)
}

/// Reads a piece of a frame, as `copy_from_user` would.
fn get<const N: usize>(addr: u64) -> Result<[u8; N], BadFrame> {
    let mut b = [0u8; N];
    let end = addr.checked_add(N as u64).ok_or(BadFrame)?;
    if end > TASK_SIZE || !usercopy::get(addr, &mut b) {
        return Err(BadFrame);
    }
    Ok(b)
}

fn word(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default())
}

fn set_word(b: &mut [u8], i: usize, v: u64) {
    b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
}

/// `fpu__restore_sig()`: makes the FPU state of the frame at `buf` the
/// guest's (for its model, read with the fault-free copies, in place);
/// false where the kernel fails.
fn restore_fp(cpu: &mut CpuState, buf: u64) -> bool {
    let xcr0 = model_xcr0();
    let ok = cpu.set_fpu_with(|a| crate::fpstate::restore_into(buf, xcr0, TASK_SIZE, usercopy::get, a));
    if ok && buf != 0 && model_has_pku() {
        // PKRU is the host thread's own register: loaded here, not by the
        // state switch.
        xstate::pkru::write(crate::fpstate::frame_pkru(buf, usercopy::get));
    }
    ok
}

/// True if the guest's CPU model offers protection keys.
fn model_has_pku() -> bool {
    JIT.get().is_some_and(|jit| jit.model().has_pku())
}

/// Builds the kernel's x86-64 `rt_sigframe` for `sig` on the guest stack
/// or the thread's alternate stack and points the guest at the handler
/// (`arch/x86/kernel/signal_64.c: x64_setup_rt_frame()`, `signal.c:
/// get_sigframe()`, `handle_signal()`). Err: the frame could not be
/// written, or the action has no `SA_RESTORER`; the caller forces SIGSEGV.
/// The saved mask is the thread's current one.
pub fn setup_frame(cpu: &mut CpuState, sig: i32, info: &[u8; 128], act: &SigAction) -> Result<(), BadFrame> {
    setup_frame_saving(cpu, sig, info, act, guest_mask())
}

/// [`setup_frame`] with `mask` as the frame's `uc_sigmask`: the mask from
/// before a call that swapped it (`sigmask_to_save()`), while the handler
/// runs under the swapped one.
fn setup_frame_saving(
    cpu: &mut CpuState,
    sig: i32,
    info: &[u8; 128],
    act: &SigAction,
    mask: u64,
) -> Result<(), BadFrame> {
    // "x86-64 should always use SA_RESTORER."
    if act.flags & SA_RESTORER == 0 {
        return Err(BadFrame);
    }
    let alt = altstack::current();
    let regs_sp = cpu.regs[RSP];
    let nested = alt.on_stack(regs_sp);
    let mut sp = regs_sp.wrapping_sub(128);
    let mut entering = false;
    if act.flags & SA_ONSTACK != 0 && alt.mode_at(sp) == 0 {
        sp = alt.sp.wrapping_add(alt.size);
        entering = true;
    }
    let xcr0 = model_xcr0();
    let fp = sp.wrapping_sub(crate::fpstate::sigframe_size(xcr0) as u64) & !63;
    let frame = (fp.wrapping_sub(layout::SIZE as u64) & !15).wrapping_sub(8);
    // Overflowing the alternate stack: an always-bogus frame.
    if (nested || entering) && !alt.contains(frame) {
        return Err(BadFrame);
    }
    let size = crate::fpstate::xstate_size(xcr0);
    let mut img = cpu.fpu();
    crate::fpstate::make_image(&mut img, xcr0, crate::fpstate::Format::host());
    put(fp, &img.0[..size])?;
    // `save_xstate_epilog()`: the second magic only with XSAVE.
    let xsave = crate::fpstate::Format::host() == crate::fpstate::Format::Xsave;
    if xsave {
        put(fp + size as u64, &FP_XSTATE_MAGIC2.to_le_bytes())?;
    }

    let trap = sync::last_trap();
    let mut f = [0u8; layout::SIZE];
    set_word(&mut f, 0, act.restorer);
    // `frame_uc_flags()`: UC_FP_XSTATE where the CPU has XSAVE.
    let uc_flags = if xsave { UC_FP_XSTATE } else { 0 } | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    f[layout::UC_FLAGS..layout::UC_FLAGS + 8].copy_from_slice(&uc_flags.to_le_bytes());
    // `__save_altstack()`: the thread's settings as given.
    f[layout::UC_STACK..layout::UC_STACK + 24].copy_from_slice(&alt.to_bytes());
    let scx = &mut f[layout::UC_MCONTEXT..layout::UC_MCONTEXT + 256];
    for (r, &slot) in SC_GPR.iter().enumerate() {
        set_word(scx, slot, cpu.regs[r]);
    }
    set_word(scx, sc::RIP, cpu.rip);
    set_word(scx, sc::EFLAGS, cpu.guest_rflags());
    set_word(scx, sc::CSGSFS, USER_CS | USER_SS << 48);
    set_word(scx, sc::ERR, trap.err);
    set_word(scx, sc::TRAPNO, trap.trapno);
    set_word(scx, sc::OLDMASK, mask);
    set_word(scx, sc::CR2, trap.cr2);
    set_word(scx, sc::FPSTATE, fp);
    f[layout::UC_SIGMASK..layout::UC_SIGMASK + 8].copy_from_slice(&mask.to_le_bytes());
    // The siginfo only with SA_SIGINFO; otherwise that part of the frame
    // keeps whatever the stack held.
    let len = if act.flags & SA_SIGINFO != 0 {
        f[layout::INFO..].copy_from_slice(info);
        layout::SIZE
    } else {
        layout::INFO
    };
    put(frame, &f[..len])?;

    cpu.regs[RDI] = sig as u64;
    cpu.regs[RAX] = 0;
    cpu.regs[RSI] = frame + layout::INFO as u64;
    cpu.regs[RDX] = frame + layout::UC as u64;
    cpu.regs[RSP] = frame;
    cpu.rip = act.handler;
    cpu.rflags &= !(DF | RF | TF);
    cpu.step = 0;
    cpu.reset_fpu();
    if model_has_pku() {
        // `fpu__clear_user_states()`: the handler starts with the initial
        // PKRU (the frame keeps the old one for sigreturn).
        xstate::pkru::write(crate::fpstate::INIT_PKRU);
    }
    Ok(())
}

/// The default action of `sig` for a signal tern delivers itself
/// (`kernel/signal.c: get_signal()`): ignore for SIGCHLD, SIGCONT, SIGURG
/// and SIGWINCH, stop for the stop signals, terminate (by that signal)
/// otherwise.
fn default_action(sig: i32) {
    match crate::deliver::default_action(sig) {
        crate::deliver::Default::Ignore => {}
        crate::deliver::Default::Stop => {
            // SAFETY: stopping the whole process, as the kernel would.
            unsafe { libc::kill(libc::getpid(), libc::SIGSTOP) };
        }
        crate::deliver::Default::Terminate => crate::guest::die_delivering(sig),
    }
}

/// Delivers `sig` with `info` to the guest: runs its handler (the frame,
/// then the mask, `SA_RESETHAND` and `SS_AUTODISARM` as `handle_signal()`
/// and `signal_delivered()` do), or takes the disposition's action. A
/// frame that cannot be written forces SIGSEGV (`force_sigsegv()`).
pub fn deliver(signals: &GuestSignals, cpu: &mut CpuState, sig: i32, info: &[u8; 128]) {
    deliver_with(signals, cpu, sig, info, None, set_guest_mask);
}

/// [`deliver`] leaving the host mask to the caller, which sets it once
/// after the last frame (`deliver::deliver_pending`). `saved` is the mask
/// from before a mask-swapping call (`rt_sigsuspend`, `ppoll`...), which the
/// frame records while the handler runs under the swapped mask, as the
/// kernel's `TIF_RESTORE_SIGMASK` does.
pub(crate) fn deliver_deferred(
    signals: &GuestSignals,
    cpu: &mut CpuState,
    sig: i32,
    info: &[u8; 128],
    saved: Option<u64>,
) {
    deliver_with(signals, cpu, sig, info, saved, set_guest_mask_deferred);
}

fn deliver_with(
    signals: &GuestSignals,
    cpu: &mut CpuState,
    sig: i32,
    info: &[u8; 128],
    saved: Option<u64>,
    set_mask: fn(u64),
) {
    let act = signals.action(sig);
    match act.handler {
        SIG_IGN => return,
        SIG_DFL => return default_action(sig),
        _ => {}
    }
    // A call tern's own signal rewound for restart (`safe_syscall`): the
    // guest's handler decides, as `handle_signal()` does for ERESTARTSYS.
    if crate::thread::current().is_some_and(|t| t.take_restart_by_tern()) && act.flags & SA_RESTART == 0 {
        cpu.rip += 2;
        cpu.regs[RAX] = (-i64::from(libc::EINTR)) as u64;
    }
    if act.flags & SA_RESETHAND != 0 {
        let _ = signals.set_action(sig, Some(SigAction { handler: SIG_DFL, ..act }));
    }
    if setup_frame_saving(cpu, sig, info, &act, saved.unwrap_or_else(guest_mask)).is_err() {
        if let Some(m) = saved {
            set_mask(m);
        }
        return force_sigsegv(signals, cpu, sig);
    }
    let mut blocked = guest_mask() | act.mask;
    if act.flags & SA_NODEFER == 0 {
        blocked |= sigbit(sig);
    }
    set_mask(blocked);
    if altstack::current().flags & SS_AUTODISARM != 0 {
        altstack::disarm();
    }
}

/// `force_sigsegv()`: after a frame for `sig` failed. SIGSEGV itself
/// then kills; another signal becomes a forced SIGSEGV (`SI_KERNEL`).
fn force_sigsegv(signals: &GuestSignals, cpu: &mut CpuState, sig: i32) {
    if sig == libc::SIGSEGV {
        crate::guest::die_delivering(sig);
    }
    force_signal(signals, cpu, libc::SIGSEGV, &SyncSignal::forced(libc::SIGSEGV).info());
}

/// `force_sig_info()`: a blocked or ignored signal takes its default
/// action (for the fault signals: death); otherwise it is delivered.
pub fn force_signal(signals: &GuestSignals, cpu: &mut CpuState, sig: i32, info: &[u8; 128]) {
    let act = signals.action(sig);
    if guest_mask() & sigbit(sig) != 0 || act.handler == SIG_IGN || act.handler == SIG_DFL {
        crate::guest::die_delivering(sig);
    }
    deliver(signals, cpu, sig, info);
}

/// A synchronous signal raised by the guest instruction at `cpu.rip`
/// (`ExitKind::Fault` or `ExitKind::Trap`): records the exception as the
/// thread's last, then delivers it, forced (`force_sig_fault()`).
pub fn deliver_sync(signals: &GuestSignals, cpu: &mut CpuState, s: &SyncSignal) {
    sync::record(s);
    if s.set_rf {
        cpu.rflags |= RF;
    }
    force_signal(signals, cpu, s.sig, &s.info());
}

/// Where the return of an `rt_sigreturn` faults: the stack segment the
/// frame names (with UC_STRICT_RESTORE_SS, which the kernel's frames for
/// 64-bit code carry) is not one 64-bit user code can run with (only
/// `__USER_DS` is, without an LDT): the `iret` raises #GP with this error
/// code, at the state restored.
#[derive(Debug, PartialEq, Eq)]
pub struct BadSs(pub u64);

/// `rt_sigreturn` (`arch/x86/kernel/signal_64.c`): restores the mask
/// (never blocking SIGKILL or SIGSTOP; the host mask follows), the
/// registers, the user-changeable flags, the FPU state and the alternate
/// stack from the frame below `rsp`. Err: a bad frame; the caller forces
/// SIGSEGV (registers may already be restored, as in the kernel). Ok(Err):
/// the frame's stack segment faults the return ([`BadSs`]).
pub fn sigreturn(cpu: &mut CpuState) -> Result<Result<(), BadSs>, BadFrame> {
    let frame = cpu.regs[RSP].wrapping_sub(8);
    if frame.checked_add(layout::SIZE as u64).is_none_or(|e| e > TASK_SIZE) {
        return Err(BadFrame);
    }
    let set = u64::from_le_bytes(get(frame + layout::UC_SIGMASK as u64)?);
    let uc_flags = u64::from_le_bytes(get(frame + layout::UC_FLAGS as u64)?);
    set_guest_mask(set);
    let scx: [u8; layout::SC_COPY] = get(frame + layout::UC_MCONTEXT as u64)?;
    for (r, &slot) in SC_GPR.iter().enumerate() {
        cpu.regs[r] = word(&scx, slot);
    }
    cpu.rip = word(&scx, sc::RIP);
    cpu.rflags = (cpu.rflags & !FIX_EFLAGS) | (word(&scx, sc::EFLAGS) & FIX_EFLAGS);
    // TF is the guest's single-step state, kept apart (`CpuState::step`).
    cpu.step = u64::from(cpu.rflags & TF != 0);
    cpu.rflags &= !TF;
    if !restore_fp(cpu, word(&scx, sc::FPSTATE)) {
        cpu.reset_fpu();
        return Err(BadFrame);
    }
    let stack: [u8; 24] = get(frame + layout::UC_STACK as u64)?;
    altstack::restore(AltStack::from_bytes(&stack), cpu.regs[RSP]);
    let ss = (word(&scx, sc::CSGSFS) >> 48) | 3;
    if uc_flags & UC_STRICT_RESTORE_SS == 0 || ss == USER_SS {
        // Without it, the kernel makes any other selector `__USER_DS`
        // (`force_valid_ss()`) for 64-bit code, as tern runs.
        return Ok(Ok(()));
    }
    // #GP(selector) for a descriptor of the GDT that is no stack segment
    // (`__USER_CS`: 0x30), #GP(0) for a null one or one of the LDT that a
    // process without an LDT names, as the host CPU reports them.
    let gdt = ss & 4 == 0 && ss & !3 != 0;
    Ok(Err(BadSs(if gdt { ss & !3 } else { 0 })))
}

/// Delivers the reserved signals sent to the guest (`kill`, `raise`) that
/// tern's host handler kept (`pending.rs`) and the mask no longer blocks.
/// Called by the CPU loop after each syscall.
pub fn deliver_reserved_pending(signals: &GuestSignals, cpu: &mut CpuState) {
    while let Some((sig, info)) = crate::pending::take(!guest_mask()) {
        deliver(signals, cpu, sig, &info);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host kernel's own `AT_MINSIGSTKSZ` is `get_sigframe_size()` for
    /// the host's XCR0: the formula must give it back.
    #[test]
    fn min_sigstack_size_is_the_kernels() {
        // SAFETY: getauxval has no preconditions.
        let native = unsafe { libc::getauxval(51) };
        let host = xstate::host_xcr0();
        if native == 0 || host == 0 {
            eprintln!("skipped: the host kernel gives no AT_MINSIGSTKSZ or has no XSAVE");
            return;
        }
        assert_eq!(min_sigstack_size(host), native, "host XCR0 {host:#x}");
        // x87 and SSE alone: 736 + 15 + 576 + 4 + 112 + 63, rounded up.
        assert_eq!(min_sigstack_size(X87 | SSE), 1520);
    }

    /// The frame tern writes fits in `min_sigstack_size` from any stack top.
    #[test]
    fn frames_fit_in_min_sigstack_size() {
        let xcr0 = xstate::managed();
        for top in (0x10_0000u64..0x10_0000 + 128).step_by(8) {
            let fp = (top - crate::fpstate::sigframe_size(xcr0) as u64) & !63;
            let frame = ((fp - layout::SIZE as u64) & !15) - 8;
            assert!(top - frame <= min_sigstack_size(xcr0));
        }
    }
}
