//! Native execution, the oracle: runs guest bytes on the host CPU with all
//! general-purpose registers and the flags loaded from a [`Nat`], then
//! stores them back. Also the trampoline that calls a compiled trace so a
//! fault inside it can abandon the call (as tern's CPU loop does).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Guest registers and flags for a native run (layout used by the asm).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Nat {
    pub regs: [u64; 16],
    pub rflags: u64,
    pub host_rsp: u64,
    pub xmm: [[u64; 2]; 16],
    pub mxcsr: u32,
}

std::arch::global_asm!(
    ".pushsection .data",
    ".p2align 3",
    "tern_trace_nat_state: .quad 0",
    "tern_trace_nat_code: .quad 0",
    "tern_trace_nat_tmp: .quad 0",
    "tern_trace_call_rsp: .quad 0",
    "tern_trace_nat_mxcsr: .quad 0",
    ".popsection",
    ".globl tern_trace_native_run",
    "tern_trace_native_run:",
    "push rbx",
    "push rbp",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "mov [rip + tern_trace_nat_state], rdi",
    "mov [rip + tern_trace_nat_code], rsi",
    "mov [rdi + 136], rsp",
    "stmxcsr [rip + tern_trace_nat_mxcsr]",
    "ldmxcsr [rdi + 400]",
    "movdqu xmm0, [rdi + 144]",
    "movdqu xmm1, [rdi + 160]",
    "movdqu xmm2, [rdi + 176]",
    "movdqu xmm3, [rdi + 192]",
    "movdqu xmm4, [rdi + 208]",
    "movdqu xmm5, [rdi + 224]",
    "movdqu xmm6, [rdi + 240]",
    "movdqu xmm7, [rdi + 256]",
    "movdqu xmm8, [rdi + 272]",
    "movdqu xmm9, [rdi + 288]",
    "movdqu xmm10, [rdi + 304]",
    "movdqu xmm11, [rdi + 320]",
    "movdqu xmm12, [rdi + 336]",
    "movdqu xmm13, [rdi + 352]",
    "movdqu xmm14, [rdi + 368]",
    "movdqu xmm15, [rdi + 384]",
    "push qword ptr [rdi + 128]",
    "popfq",
    "mov rax, [rdi]",
    "mov rcx, [rdi + 8]",
    "mov rdx, [rdi + 16]",
    "mov rbx, [rdi + 24]",
    "mov rbp, [rdi + 40]",
    "mov rsi, [rdi + 48]",
    "mov r8, [rdi + 64]",
    "mov r9, [rdi + 72]",
    "mov r10, [rdi + 80]",
    "mov r11, [rdi + 88]",
    "mov r12, [rdi + 96]",
    "mov r13, [rdi + 104]",
    "mov r14, [rdi + 112]",
    "mov r15, [rdi + 120]",
    "mov rsp, [rdi + 32]",
    "mov rdi, [rdi + 56]",
    "jmp qword ptr [rip + tern_trace_nat_code]",
    ".globl tern_trace_native_back",
    "tern_trace_native_back:",
    "mov [rip + tern_trace_nat_tmp], rdi",
    "mov rdi, [rip + tern_trace_nat_state]",
    "movdqu [rdi + 144], xmm0",
    "movdqu [rdi + 160], xmm1",
    "movdqu [rdi + 176], xmm2",
    "movdqu [rdi + 192], xmm3",
    "movdqu [rdi + 208], xmm4",
    "movdqu [rdi + 224], xmm5",
    "movdqu [rdi + 240], xmm6",
    "movdqu [rdi + 256], xmm7",
    "movdqu [rdi + 272], xmm8",
    "movdqu [rdi + 288], xmm9",
    "movdqu [rdi + 304], xmm10",
    "movdqu [rdi + 320], xmm11",
    "movdqu [rdi + 336], xmm12",
    "movdqu [rdi + 352], xmm13",
    "movdqu [rdi + 368], xmm14",
    "movdqu [rdi + 384], xmm15",
    "mov [rdi], rax",
    "mov [rdi + 8], rcx",
    "mov [rdi + 16], rdx",
    "mov [rdi + 24], rbx",
    "mov [rdi + 32], rsp",
    "mov [rdi + 40], rbp",
    "mov [rdi + 48], rsi",
    "mov [rdi + 64], r8",
    "mov [rdi + 72], r9",
    "mov [rdi + 80], r10",
    "mov [rdi + 88], r11",
    "mov [rdi + 96], r12",
    "mov [rdi + 104], r13",
    "mov [rdi + 112], r14",
    "mov [rdi + 120], r15",
    "mov rax, [rip + tern_trace_nat_tmp]",
    "mov [rdi + 56], rax",
    "mov rsp, [rdi + 136]",
    "stmxcsr [rdi + 400]",
    "ldmxcsr [rip + tern_trace_nat_mxcsr]",
    "pushfq",
    "pop qword ptr [rdi + 128]",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbp",
    "pop rbx",
    "ret",
    // tern_trace_call(cpu, f): calls f(cpu); tern_trace_abort (a fault
    // handler's resume point) returns u64::MAX from it instead.
    ".globl tern_trace_call",
    "tern_trace_call:",
    "push rbx",
    "push rbp",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "sub rsp, 8",
    "mov [rip + tern_trace_call_rsp], rsp",
    "call rsi",
    "tern_trace_call_ret:",
    "add rsp, 8",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbp",
    "pop rbx",
    "ret",
    ".globl tern_trace_abort",
    "tern_trace_abort:",
    "mov rsp, [rip + tern_trace_call_rsp]",
    "mov rax, -1",
    "jmp tern_trace_call_ret",
);

extern "C" {
    fn tern_trace_native_run(state: *mut Nat, code: u64);
    fn tern_trace_native_back();
    fn tern_trace_call(cpu: *mut u8, f: u64) -> u64;
    fn tern_trace_abort();
}

/// Serialises native runs and aborted trace calls (the asm keeps its
/// state in globals).
static LOCK: Mutex<()> = Mutex::new(());

/// Where guest code jumps to end a native run.
pub fn back_address() -> u64 {
    tern_trace_native_back as *const () as usize as u64
}

/// The bytes `jmp [rip+0]; .quad back_address()`: appended to guest code.
pub fn back_jump() -> Vec<u8> {
    let mut v = vec![0xff, 0x25, 0, 0, 0, 0];
    v.extend_from_slice(&back_address().to_le_bytes());
    v
}

const ARCH_SET_GS: libc::c_int = 0x1001;

/// Runs the guest code at `code` (which must end in [`back_jump`]) from
/// `s`, with this thread's GS base at `gs_base` meanwhile.
pub fn run(s: &mut Nat, code: u64, gs_base: u64) {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: the test's threads do not use GS (Rust's TLS is FS-based);
    // `code` is executable guest code ending in a jump back to the
    // harness, built by the test; its memory operands point into buffers
    // the test owns.
    unsafe {
        libc::syscall(libc::SYS_arch_prctl, ARCH_SET_GS, gs_base);
        tern_trace_native_run(s, code);
        libc::syscall(libc::SYS_arch_prctl, ARCH_SET_GS, 0u64);
    }
}

/// Calls the compiled trace at `f` on `cpu`; u64::MAX if it faulted (the
/// SIGSEGV handler [`install_abort_handler`] resumes at the abort point).
pub fn call_trace(cpu: *mut u8, f: u64) -> u64 {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    IN_TRACE.store(true, Ordering::SeqCst);
    // SAFETY: `f` is a compiled trace function; `cpu` a zeroed CpuState
    // with guest registers set by the test.
    let r = unsafe { tern_trace_call(cpu, f) };
    IN_TRACE.store(false, Ordering::SeqCst);
    r
}

/// A compiled trace is running (under `LOCK`): only its faults abort.
static IN_TRACE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_segv(sig: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    if !IN_TRACE.load(Ordering::SeqCst) {
        // A fault elsewhere (a native run): die of it as usual.
        // SAFETY: resets the disposition; the fault happens again.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
        return;
    }
    // SAFETY: the kernel passes a ucontext_t to an SA_SIGINFO handler.
    unsafe {
        let uc = ctx as *mut libc::ucontext_t;
        (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] = tern_trace_abort as *const () as usize as i64;
    }
}

/// Makes a SIGSEGV abandon the current [`call_trace`].
pub fn install_abort_handler() {
    // SAFETY: installs a handler that only redirects the faulting context.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_segv as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigaction(libc::SIGSEGV, &sa, std::ptr::null_mut());
    }
}

/// An anonymous mapping of `len` bytes with `prot`.
pub fn map(len: usize, prot: i32) -> *mut u8 {
    // SAFETY: a fresh private anonymous mapping.
    let p = unsafe {
        libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
    };
    assert_ne!(p, libc::MAP_FAILED, "mmap");
    p as *mut u8
}

/// RWX memory holding `bytes`.
pub fn exec_copy(bytes: &[u8]) -> *mut u8 {
    let len = (bytes.len() + 4095) & !4095;
    let p = map(len.max(4096), libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC);
    // SAFETY: p has room for bytes.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
    p
}

/// Unmaps what [`exec_copy`] or [`map`] returned.
pub fn unmap(p: *mut u8, len: usize) {
    // SAFETY: p came from `map` with this length (rounded up).
    unsafe { libc::munmap(p as *mut libc::c_void, (len + 4095) & !4095) };
}
