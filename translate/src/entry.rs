//! Entering and leaving generated code (unsafe, kept small).
//!
//! `tern_enter` saves the host's callee-saved registers and stack pointer in
//! the `CpuState`, loads the guest registers, flags and FPU state, and jumps to
//! host code. Every exit from generated code goes through `tern_exit_common`
//! (or `tern_resume_host` when a host signal handler already stored the guest
//! registers), which spills the guest state and returns from `tern_enter` to
//! the CPU loop. There is no `longjmp` across Rust frames.

use crate::cpu::{off, CpuState, IblEntry, IBL_ENTRIES, IBL_SLOTS};
use crate::xstate::{self, XsaveArea};
use std::sync::atomic::AtomicU32;

std::arch::global_asm!(
    ".globl tern_enter",
    ".type tern_enter,@function",
    "tern_enter:",
    "push rbx", "push rbp", "push r12", "push r13", "push r14", "push r15",
    "sub rsp, 8",
    "mov [rdi + {host_rsp}], rsp",
    "mov [rdi + {jmp_target}], rsi",
    // The guest's extended state, the managed components but x87 (x87 is
    // live, unless `x87_load` says the CpuState has newer values): register
    // loads (`SaveKind::Registers`), unless x87 must be loaded, the area has
    // no SSE values, or opmask or ZMM16-31 state must be put back in its
    // init state; else xrstor (components the guest never touched are
    // initialised), or fxrstor without XSAVE.
    "mov eax, [rdi + {rfbm}]",
    "mov edx, [rdi + {rfbm} + 4]",
    "cmp byte ptr [rdi + {kind}], {registers}",
    "jne 1f",
    "cmp dword ptr [rdi + {x87_load}], 0",
    "jne 1f",
    "mov rcx, [rdi + {xsave} + {header}]",
    "and rcx, rax",
    "mov rdx, rcx",
    "not rdx",
    "and rdx, rax",
    "test edx, {sse}",
    "jnz 1f",
    // Opmask or ZMM16-31 state the guest has in its init state: still
    // there unless tern's own code (its AVX-512 string functions) has
    // touched it since (XINUSE); then zeroed, the init values, although
    // XINUSE keeps saying in use (which it may, architecturally: only
    // `xrstor` could clear it, at five times the cost), or `xrstor`ed
    // for a guest whose model has no AVX-512 (`xsave_zero_avx512`).
    "test edx, {k_hi16}",
    "jz 30f",
    "mov r8, rcx",
    "mov r9, rdx",
    "mov ecx, 1",
    "xgetbv",
    "and eax, r9d",
    "mov rcx, r8",
    "test eax, {k_hi16}",
    "jz 29f",
    "cmp byte ptr [rdi + {zero_avx512}], 0",
    "jne 27f",
    "mov eax, [rdi + {rfbm}]",
    "jmp 1f",
    "27:",
    "test eax, {hi16_zmm}",
    "jz 28f",
    ".irp i,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
    "vpxord xmm\\i, xmm\\i, xmm\\i",
    ".endr",
    "28:",
    "test eax, {opmask}",
    "jz 29f",
    ".irp i,0,1,2,3,4,5,6,7",
    "kxorq k\\i, k\\i, k\\i",
    ".endr",
    "29:",
    "mov eax, [rdi + {rfbm}]",
    "30:",
    "test eax, {avx}",
    "jz 34f",
    // AVX and the ZMM0-15 upper halves in their init state; the VEX
    // loads of xmm0-15 keep them there.
    "vzeroupper",
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    "vmovaps xmm\\i, [rdi + {xsave} + {xmm} + 16*\\i]",
    ".endr",
    "test ecx, {avx}",
    "jz 31f",
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    "vinsertf128 ymm\\i, ymm\\i, [rdi + {xsave} + {ymm_hi} + 16*\\i], 1",
    ".endr",
    "31:",
    "test ecx, {zmm_hi256}",
    "jz 32f",
    "mov r8d, [rdi + {offsets} + 4]",
    "lea r8, [rdi + r8 + {xsave}]",
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    "vinserti64x4 zmm\\i, zmm\\i, [r8 + 32*\\i], 1",
    ".endr",
    "32:",
    "test ecx, {hi16_zmm}",
    "jz 33f",
    "mov r8d, [rdi + {offsets} + 8]",
    "lea r8, [rdi + r8 + {xsave}]",
    ".irp i,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
    "vmovdqu64 zmm\\i, [r8 + 64*(\\i-16)]",
    ".endr",
    "33:",
    "test ecx, {opmask}",
    "jz 35f",
    "mov r8d, [rdi + {offsets}]",
    "lea r8, [rdi + r8 + {xsave}]",
    ".irp i,0,1,2,3,4,5,6,7",
    "kmovq k\\i, [r8 + 8*\\i]",
    ".endr",
    "jmp 35f",
    "34:",
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    "movaps xmm\\i, [rdi + {xsave} + {xmm} + 16*\\i]",
    ".endr",
    "35:",
    "ldmxcsr [rdi + {xsave} + {mxcsr}]",
    "jmp 3f",
    "1:",
    "mov edx, [rdi + {rfbm} + 4]",
    "or eax, [rdi + {x87_load}]",
    "mov dword ptr [rdi + {x87_load}], 0",
    "cmp byte ptr [rdi + {kind}], 0",
    "je 2f",
    "xrstor64 [rdi + {xsave}]",
    "jmp 3f",
    "2:",
    "fxrstor64 [rdi + {xsave}]",
    "3:",
    // From here to the final jump the CpuState still holds the whole guest
    // state (nothing is written back): a host signal handler that sees its
    // pc in this window sends the thread to `tern_resume_host` with
    // DESC_SIGNAL (`signals::async_sig`). The check below catches a signal
    // that arrived before the window; it is the last flag-changing
    // instruction before the guest's flags are loaded.
    ".globl tern_enter_window",
    "tern_enter_window:",
    "cmp dword ptr [rdi + {exit_request}], 0",
    "jne tern_enter_signal",
    // The guest's flags: `popfq` (which costs a loop of `getppid` more
    // than the rest of the entry together) only where a flag other than
    // the six status flags differs from the host's (TF, DF, AC, ID, NT:
    // the exit may have cleared some, a signal frame changed others);
    // else OF by an `add` that overflows exactly when it was set, the
    // other five status flags by `sahf` (rax and rcx are loaded below).
    "mov eax, [rdi + {rflags}]",
    "pushfq",
    "pop rcx",
    "xor ecx, eax",
    "test ecx, {not_status}",
    "jnz 40f",
    "mov ecx, eax",
    "shr ecx, 11",
    "and cl, 1",
    "add cl, 0x7f",
    "mov ah, al",
    "sahf",
    "jmp 41f",
    "40:",
    "push qword ptr [rdi + {rflags}]",
    "popfq",
    "41:",
    "mov rax, [rdi + {regs} + 0]",
    "mov rcx, [rdi + {regs} + 8]",
    "mov rdx, [rdi + {regs} + 16]",
    "mov rbx, [rdi + {regs} + 24]",
    "mov rbp, [rdi + {regs} + 40]",
    "mov rsi, [rdi + {regs} + 48]",
    "mov r8,  [rdi + {regs} + 64]",
    "mov r9,  [rdi + {regs} + 72]",
    "mov r10, [rdi + {regs} + 80]",
    "mov r11, [rdi + {regs} + 88]",
    "mov r12, [rdi + {regs} + 96]",
    "mov r13, [rdi + {regs} + 104]",
    "mov r14, [rdi + {regs} + 112]",
    "mov r15, [rdi + {regs} + 120]",
    "mov rsp, [rdi + {regs} + 32]",
    "mov rdi, [rdi + {regs} + 56]",
    ".globl tern_enter_jump",
    "tern_enter_jump:",
    "jmp qword ptr gs:[{jmp_target}]",
    "tern_enter_signal:",
    "mov qword ptr [rdi + {exit_desc}], {desc_signal}",
    "jmp tern_resume_host",
    "",
    // The exit stub has stored the descriptor index; all registers are the guest's.
    ".globl tern_exit_common",
    ".type tern_exit_common,@function",
    "tern_exit_common:",
    "mov gs:[{regs} + 0], rax",
    "mov gs:[{regs} + 8], rcx",
    "mov gs:[{regs} + 16], rdx",
    "mov gs:[{regs} + 24], rbx",
    "mov gs:[{regs} + 32], rsp",
    "mov gs:[{regs} + 40], rbp",
    "mov gs:[{regs} + 48], rsi",
    "mov gs:[{regs} + 56], rdi",
    "mov gs:[{regs} + 64], r8",
    "mov gs:[{regs} + 72], r9",
    "mov gs:[{regs} + 80], r10",
    "mov gs:[{regs} + 88], r11",
    "mov gs:[{regs} + 96], r12",
    "mov gs:[{regs} + 104], r13",
    "mov gs:[{regs} + 112], r14",
    "mov gs:[{regs} + 120], r15",
    "mov rsp, gs:[{host_rsp}]",
    "pushfq",
    "pop qword ptr gs:[{rflags}]",
    // Guest registers are saved; now also the FPU state.
    ".globl tern_resume_host",
    "tern_resume_host:",
    "mov rsp, gs:[{host_rsp}]",
    "mov rdi, gs:[{self_ptr}]",
    // The guest's extended state (all guest registers are saved, so rax
    // and rdx are free): register stores, xsaveopt, xsave or fxsave by
    // `xsave_kind`.
    "mov eax, [rdi + {rfbm}]",
    "mov edx, [rdi + {rfbm} + 4]",
    "cmp byte ptr [rdi + {kind}], {registers}",
    "je 20f",
    "cmp byte ptr [rdi + {kind}], 1",
    "jb 4f",
    "je 5f",
    "xsaveopt64 [rdi + {xsave}]",
    "jmp 6f",
    "5:",
    "xsave64 [rdi + {xsave}]",
    "jmp 6f",
    "4:",
    "fxsave64 [rdi + {xsave}]",
    "fninit",
    "jmp 6f",
    // Register stores (`SaveKind::Registers`) of the components in use,
    // which become XSTATE_BV (x87 keeps its bit: it stays live).
    "20:",
    "mov ecx, 1",
    "xgetbv",
    "and eax, [rdi + {rfbm}]",
    "or eax, {sse}",
    "test eax, {avx}",
    "jz 21f",
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    "vextractf128 [rdi + {xsave} + {ymm_hi} + 16*\\i], ymm\\i, 1",
    ".endr",
    "21:",
    "test eax, {zmm_hi256}",
    "jz 22f",
    "mov ecx, [rdi + {offsets} + 4]",
    "lea rcx, [rdi + rcx + {xsave}]",
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    "vextracti64x4 [rcx + 32*\\i], zmm\\i, 1",
    ".endr",
    "22:",
    "test eax, {hi16_zmm}",
    "jz 23f",
    "mov ecx, [rdi + {offsets} + 8]",
    "lea rcx, [rdi + rcx + {xsave}]",
    ".irp i,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
    "vmovdqu64 [rcx + 64*(\\i-16)], zmm\\i",
    ".endr",
    "23:",
    "test eax, {opmask}",
    "jz 24f",
    "mov ecx, [rdi + {offsets}]",
    "lea rcx, [rdi + rcx + {xsave}]",
    ".irp i,0,1,2,3,4,5,6,7",
    "kmovq [rcx + 8*\\i], k\\i",
    ".endr",
    "24:",
    "test byte ptr [rdi + {rfbm}], {avx}",
    "jz 25f",
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    "vmovaps [rdi + {xsave} + {xmm} + 16*\\i], xmm\\i",
    ".endr",
    "jmp 26f",
    "25:",
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
    "movaps [rdi + {xsave} + {xmm} + 16*\\i], xmm\\i",
    ".endr",
    "26:",
    "stmxcsr [rdi + {xsave} + {mxcsr}]",
    "and qword ptr [rdi + {xsave} + {header}], {x87}",
    "or [rdi + {xsave} + {header}], rax",
    "6:",
    // Host Rust code expects DF=0, AC=0 and the default SSE control word
    // (it has no x87 instructions: with XSAVE the guest's x87 registers stay
    // live while it runs, which saves an x87 save, restore and fninit);
    // the guest's dirty YMM upper halves would cost it AVX-SSE transitions.
    // `popfq` and `ldmxcsr` each cost more than the rest of this path's
    // tail together, so each runs only where the guest left something to
    // undo: TF, DF or AC set, a control word other than the default (a
    // loop of `getppid` spent a quarter of this routine on the two).
    "pushfq",
    "pop rcx",
    "test ecx, {host_flags}",
    "jz 8f",
    "push 0x202",
    "popfq",
    "8:",
    "test byte ptr [rdi + {rfbm}], {avx}",
    "jz 7f",
    "vzeroupper",
    "7:",
    "sub rsp, 8",
    "stmxcsr [rsp]",
    "cmp dword ptr [rsp], 0x1f80",
    "je 9f",
    "mov dword ptr [rsp], 0x1f80",
    "ldmxcsr [rsp]",
    "9:",
    "add rsp, 8",
    "add rsp, 8",
    "pop r15", "pop r14", "pop r13", "pop r12", "pop rbp", "pop rbx",
    "ret",
    host_rsp = const off::HOST_RSP,
    // TF, DF and AC: the flags host code must find clear.
    host_flags = const 0x0004_0500u32,
    // Every RFLAGS bit but CF, PF, AF, ZF, SF and OF.
    not_status = const !0x08d5u32,
    jmp_target = const off::JMP_TARGET,
    xsave = const off::XSAVE,
    rfbm = const off::XSAVE_RFBM,
    kind = const off::XSAVE_KIND,
    x87_load = const off::X87_LOAD,
    avx = const xstate::AVX,
    sse = const xstate::SSE,
    x87 = const xstate::X87,
    opmask = const xstate::OPMASK,
    zmm_hi256 = const xstate::ZMM_HI256,
    hi16_zmm = const xstate::HI16_ZMM,
    k_hi16 = const xstate::OPMASK | xstate::HI16_ZMM,
    registers = const xstate::SaveKind::Registers as u8,
    header = const xstate::HEADER,
    xmm = const xstate::XMM.start,
    mxcsr = const xstate::MXCSR.start,
    ymm_hi = const xstate::YMM_HI,
    offsets = const off::XSAVE_OFFSETS,
    zero_avx512 = const off::XSAVE_ZERO_AVX512,
    rflags = const off::RFLAGS,
    regs = const off::REGS,
    self_ptr = const off::SELF_PTR,
    exit_request = const off::EXIT_REQUEST,
    exit_desc = const off::EXIT_DESC,
    desc_signal = const crate::cpu::DESC_SIGNAL,
);

extern "C" {
    fn tern_enter(cpu: *mut CpuState, host: u64);
    fn tern_exit_common();
    fn tern_resume_host();
    fn tern_enter_window();
    fn tern_enter_jump();
}

/// The part of `tern_enter` where the guest state is still whole in the
/// `CpuState` although guest registers are being loaded: from the pending
/// check to the final jump, both included. A host signal handler that
/// interrupts a pc in it may resume at [`resume_host_addr`] (setting
/// `exit_desc` to `DESC_SIGNAL`) as if the guest had not started.
pub fn in_enter_window(pc: u64) -> bool {
    (tern_enter_window as *const () as u64..=tern_enter_jump as *const () as u64).contains(&pc)
}

/// The calling thread's live legacy FPU state (`fxsave`): its x87 part is
/// the guest's while tern's own code runs on an XSAVE host.
pub fn read_x87(out: &mut [u8; xstate::LEGACY_SIZE]) {
    #[repr(C, align(16))]
    struct Aligned([u8; xstate::LEGACY_SIZE]);
    let mut a = Aligned([0; xstate::LEGACY_SIZE]);
    // SAFETY: fxsave64 writes exactly 512 bytes to the 16-byte aligned
    // buffer and changes no register.
    unsafe { std::arch::asm!("fxsave64 [{}]", in(reg) a.0.as_mut_ptr(), options(nostack)) };
    *out = a.0;
}

/// The calling thread's XINUSE (`xgetbv` with ECX = 1). Only on a host
/// with XGETBV1 (CPUID 0xD.1 EAX bit 2); 0 elsewhere.
pub fn read_xinuse() -> u64 {
    if !xstate::host_has_xgetbv1() {
        return 0;
    }
    let (lo, hi): (u32, u32);
    // SAFETY: XGETBV1 is supported (checked above), so xgetbv with ECX = 1
    // only reads XINUSE into edx:eax.
    unsafe {
        std::arch::asm!("xgetbv", in("ecx") 1u32, out("eax") lo, out("edx") hi, options(nomem, nostack))
    };
    u64::from(hi) << 32 | u64::from(lo)
}

/// Host address of the common exit routine (target of every exit stub).
pub fn exit_common_addr() -> u64 {
    tern_exit_common as *const () as u64
}

/// Host address a signal handler redirects generated code to once it has
/// stored the guest registers and flags in the `CpuState`.
pub fn resume_host_addr() -> u64 {
    tern_resume_host as *const () as u64
}

/// Owner of one thread's `CpuState`, allocated with `mmap` so that the 1 MiB
/// lookup table is committed lazily.
pub struct CpuBox {
    ptr: *mut CpuState,
}

// SAFETY: the CpuState is owned by exactly one guest thread at a time; moving
// the owner to another thread before it starts running is fine.
unsafe impl Send for CpuBox {}

impl CpuBox {
    /// Allocates a zeroed state with default FPU control words and the
    /// host's way of saving the extended state.
    pub fn new() -> std::io::Result<CpuBox> {
        let ptr = crate::hostmem::map_anon(std::mem::size_of::<CpuState>())? as *mut CpuState;
        // SAFETY: the mapping is page aligned (> 64), zeroed, and large enough;
        // all-zero is a valid bit pattern for every field, and we only write
        // the fields that need non-zero values.
        unsafe {
            (*ptr).rflags = 0x202;
            (*ptr).self_ptr = ptr as u64;
            std::ptr::write(std::ptr::addr_of_mut!((*ptr).xsave), XsaveArea::default());
            (*ptr).xsave_rfbm = xstate::managed() & !xstate::X87;
            (*ptr).x87_load = xstate::X87;
            (*ptr).xsave_kind = xstate::save_kind() as u8;
            (*ptr).xsave_offsets = xstate::avx512_offsets();
            (*ptr).xsave_zero_avx512 = u8::from(xstate::may_zero_avx512());
            std::ptr::write(std::ptr::addr_of_mut!((*ptr).exit_request), AtomicU32::new(0));
        }
        Ok(CpuBox { ptr })
    }

    pub fn as_ptr(&self) -> *mut CpuState {
        self.ptr
    }

    /// Makes this state the calling thread's GS base, which generated code uses.
    pub fn install_on_current_thread(&self) -> std::io::Result<()> {
        // SAFETY: ARCH_SET_GS only changes this thread's GS base; nothing in
        // tern or the host libc uses GS on x86-64.
        let r = unsafe { libc::syscall(libc::SYS_arch_prctl, 0x1001, self.ptr as u64) };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Runs generated code at `host` until it exits to the CPU loop.
    ///
    /// # Safety
    /// `host` must be the entry of a block produced by this crate, and this
    /// state must be installed on the current thread.
    pub unsafe fn run(&mut self, host: u64) {
        // SAFETY: the caller guarantees host is generated code that only leaves
        // through tern_exit_common / tern_resume_host, which restore the host
        // callee-saved registers and stack as saved by tern_enter.
        unsafe { tern_enter(self.ptr, host) }
    }
}

impl std::ops::Deref for CpuBox {
    type Target = CpuState;
    fn deref(&self) -> &CpuState {
        // SAFETY: ptr is a live, initialised mapping owned by self.
        unsafe { &*self.ptr }
    }
}

impl std::ops::DerefMut for CpuBox {
    fn deref_mut(&mut self) -> &mut CpuState {
        // SAFETY: as above, and &mut self gives exclusive access.
        unsafe { &mut *self.ptr }
    }
}

impl Drop for CpuBox {
    fn drop(&mut self) {
        let (start, len) = (self.ptr as u64, std::mem::size_of::<CpuState>());
        // SAFETY: unmapping exactly the mapping made in new().
        unsafe { libc::munmap(self.ptr.cast(), len) };
        crate::pages::forget_tern_memory(start, start + len as u64);
    }
}

const _: () =
    assert!(std::mem::size_of::<IblEntry>() == 16 && IBL_ENTRIES == 65536 && IBL_SLOTS == 2 * IBL_ENTRIES);
