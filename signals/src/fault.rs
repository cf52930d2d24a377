//! Host fault handlers (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP).
//!
//! A fault inside generated code is turned into an exit to the CPU loop: the
//! handler rebuilds the guest registers at the faulting guest instruction from
//! the host context and the block's pc map, stores them in the thread's
//! `CpuState`, and rewrites the context to resume at `tern_resume_host`. It
//! does no allocation and takes no lock. A fault anywhere else is a tern bug:
//! it is reported and re-raised with the default action, except in the
//! guest-memory copy of `usercopy.rs`, which is resumed to report a bad
//! address.
//!
//! The same handlers see these signals when they are sent rather than raised
//! by a fault (`si_code <= 0`): tern's own kick, or a signal for the guest,
//! which `pending.rs` keeps, discards or queues; either way the thread is
//! then sent back to the CPU loop as for any asynchronous signal
//! (`async_sig::interrupt`). They are installed with
//! SA_RESTART so that such a signal, pending for a guest that blocks it,
//! does not interrupt a restartable host syscall the guest is in.

use crate::mask::{is_kick, FAULT_SIGNALS};
use std::sync::atomic::{AtomicPtr, Ordering};
use tern_translate::cache::CodeCache;
use tern_translate::cpu::{off, CpuState, DESC_FAULT, DESC_SIGNAL, TF, UCONTEXT_GREG};

static CACHE: AtomicPtr<CodeCache> = AtomicPtr::new(std::ptr::null_mut());

/// Size of each thread's alternate signal stack.
const ALT_STACK: usize = 64 * 1024;

/// Per-thread setup needed before running generated code.
pub struct FaultContext;

impl FaultContext {
    /// Gives the calling thread an alternate signal stack (host handlers run
    /// there, never on the guest stack).
    pub fn init_thread() -> std::io::Result<()> {
        let (sp, size) = Self::alt_stack()?;
        Self::use_alt_stack(sp, size)
    }

    /// Maps an alternate signal stack, for the calling thread or another
    /// ([`Self::use_alt_stack`] on it): its address and size.
    pub fn alt_stack() -> std::io::Result<(u64, usize)> {
        Ok((tern_translate::hostmem::map_anon(ALT_STACK)?, ALT_STACK))
    }

    /// Gives the calling thread the alternate signal stack at `sp`, one
    /// [`Self::alt_stack`] mapped (never freed: a thread's stack is
    /// pooled for the next one when it ends).
    pub fn use_alt_stack(sp: u64, size: usize) -> std::io::Result<()> {
        let ss = libc::stack_t { ss_sp: sp as *mut libc::c_void, ss_flags: 0, ss_size: size };
        // SAFETY: ss describes a mapping of `size` bytes that is never freed.
        if unsafe { libc::sigaltstack(&ss, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Installs the fault handlers. `cache` must live for the rest of the process.
pub fn install_fault_handlers(cache: &'static CodeCache) -> std::io::Result<()> {
    CACHE.store(cache as *const CodeCache as *mut CodeCache, Ordering::Release);
    for sig in FAULT_SIGNALS {
        // SAFETY: zeroed sigaction is a valid starting point; we fill the
        // handler, flags and mask before passing it to the kernel.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = handler as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER | libc::SA_RESTART;
        // SAFETY: sa is fully initialised; installing a handler for a fault signal.
        if unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    crate::usercopy::arm();
    crate::guest::restore_sigpipe();
    Ok(())
}

fn write_stderr(msg: &[u8]) {
    // SAFETY: write(2) is async-signal-safe; msg is a valid buffer.
    unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
}

fn fmt_hex(mut v: u64, out: &mut [u8; 18]) -> &[u8] {
    out[0] = b'0';
    out[1] = b'x';
    for i in (2..18).rev() {
        out[i] = b"0123456789abcdef"[(v & 15) as usize];
        v >>= 4;
    }
    &out[..]
}

/// Best effort, on the way to dying from an internal fault: which mapping
/// holds the faulting pc and which program was running. Not async-signal-
/// safe, which is acceptable since the process is about to die anyway.
fn report_context(pc: u64) {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    for line in maps.lines() {
        if let Some((a, b)) = tern_translate::hostmem::maps_range(line) {
            if (a..b).contains(&pc) {
                crate::say!("tern:   in mapping {line} (offset {:#x})", pc - a);
            }
        }
    }
    // SAFETY: CACHE is null or the process-lifetime cache.
    let cache = unsafe { CACHE.load(Ordering::Acquire).as_ref() };
    if let Some(b) = cache.filter(|c| c.contains(pc)).and_then(|c| c.block_at(pc)) {
        crate::say!(
            "tern:   in the block for guest {:#x}..{:#x} at host {:#x}, pc map entry {:?}",
            b.guest_start,
            b.guest_end,
            b.host_start,
            b.entry_at(pc)
        );
        // SAFETY: the block's code is mapped for the life of the process.
        let code = unsafe { std::slice::from_raw_parts(b.host_start as *const u8, b.host_len as usize) };
        let hex: Vec<String> = code.iter().map(|x| format!("{x:02x}")).collect();
        crate::say!("tern:   block code: {}", hex.join(" "));
        let cpu: *const CpuState;
        // SAFETY: reading this thread's CpuState pointer from GS (see handler).
        unsafe {
            std::arch::asm!("mov {}, gs:[{off}]", out(reg) cpu, off = const off::SELF_PTR, options(nostack, readonly))
        };
        // SAFETY: as in the handler.
        if let Some(cpu) = unsafe { cpu.as_ref() } {
            crate::say!("tern:   last exit desc {:#x}, rip {:#x}", cpu.exit_desc, cpu.rip);
        }
    }
    let cmd = std::fs::read("/proc/self/cmdline").unwrap_or_default();
    let cmd: Vec<String> = cmd.split(|&b| b == 0).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
    crate::say!("tern:   command: {}", cmd.join(" "));
}

/// True when `sig` was sent rather than raised by a fault of the
/// interrupted instruction. `si_code <= 0` is the kernel's SI_FROMUSER
/// (`kill`, `tgkill`, `sigqueue`, timers). A positive code is not proof of a
/// fault: a child's exit signal (`clone`'s CSIGNAL, CLD_* codes) or an
/// `F_SETSIG` I/O signal (POLL_* codes) may be SIGSEGV or SIGILL too. A
/// real fault leaves its marks (`arch/x86/kernel/traps.c`, `fault.c`): for
/// #UD, #DE and SIMD exceptions `si_addr` is the faulting instruction, the
/// interrupted rip; a page fault records its vector (14) and address (cr2)
/// in the sigcontext, equal to `si_addr`; #GP, #SS and a failed frame are
/// `SI_KERNEL`; an alignment check is vector 17; a trap (TF, int3) is
/// vector 1 or 3.
fn is_sent(sig: i32, info: &libc::siginfo_t, gregs: &[libc::greg_t; 23]) -> bool {
    const SI_KERNEL: i32 = 0x80;
    const TRAP_DB: i64 = 1;
    const TRAP_BP: i64 = 3;
    const TRAP_PF: i64 = 14;
    const TRAP_AC: i64 = 17;
    if info.si_code <= 0 {
        return true;
    }
    // SAFETY: si_addr is the first word of the union for every signal; for
    // a sent one it holds pid and uid, which only need comparing here.
    let addr = unsafe { info.si_addr() } as i64;
    let trapno = gregs[libc::REG_TRAPNO as usize];
    match sig {
        libc::SIGILL | libc::SIGFPE => addr != gregs[libc::REG_RIP as usize],
        libc::SIGSEGV | libc::SIGBUS => {
            let fault = info.si_code == SI_KERNEL
                || trapno == TRAP_AC
                || (trapno == TRAP_PF && gregs[libc::REG_CR2 as usize] == addr);
            !fault
        }
        libc::SIGTRAP => trapno != TRAP_DB && trapno != TRAP_BP,
        _ => false,
    }
}

/// Clears EFLAGS.AC (alignment check) in the running host handler. The
/// kernel keeps the interrupted flags' AC in a handler's own flags
/// (`arch/x86/kernel/signal.c: handle_signal()` clears only DF, RF and TF),
/// so a guest that set it (the JVM's 386/486 probe) would make any
/// misaligned access in tern's handler fault. The interrupted context keeps
/// the guest's AC and gets it back at sigreturn. Every host handler calls
/// this first.
#[inline(always)]
pub(crate) fn clear_alignment_check() {
    // SAFETY: pushes and pops one word on the handler's own stack and
    // changes only the AC bit of the flags, which no Rust code relies on.
    unsafe { std::arch::asm!("pushfq", "and dword ptr [rsp], 0xfffbffff", "popfq") };
}

extern "C" fn handler(sig: i32, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    clear_alignment_check();
    // SAFETY: the kernel passes valid siginfo and ucontext pointers to an
    // SA_SIGINFO handler.
    let (info, uc) = unsafe { (&*info, &mut *uctx.cast::<libc::ucontext_t>()) };
    // Sent, not raised by a fault.
    if is_sent(sig, info, &uc.uc_mcontext.gregs) {
        // Where it met a host call made for the guest: the kernel has
        // already chosen restart or EINTR for tern's SA_RESTART handler;
        // `safe_syscall::call` makes that choice the guest's own.
        if let Some(t) = crate::thread::current() {
            let g = &uc.uc_mcontext.gregs;
            let pc = g[libc::REG_RIP as usize] as u64;
            if crate::safe_syscall::at_end(pc) && g[libc::REG_RAX as usize] == -i64::from(libc::EINTR) {
                t.mark_intr(crate::thread::Intr::Eintr);
            } else if crate::safe_syscall::rewind(pc).is_some() {
                t.mark_intr(crate::thread::Intr::Rewound);
            }
        }
        // A kick: something was queued for this thread. A reserved signal
        // for the guest: kept, discarded or queued by `pending`.
        if is_kick(sig, info) || crate::pending::on_async(sig, info) {
            if let Some(t) = crate::thread::current() {
                let queued = if is_kick(sig, info) { 0 } else { sig };
                crate::async_sig::interrupt(t, uc, queued);
            }
        }
        return;
    }
    let gregs = &mut uc.uc_mcontext.gregs;
    let host_pc = gregs[libc::REG_RIP as usize] as u64;
    // A single-step trap: a guest `popf` set TF in generated code, and the
    // host trapped after the `nop` that follows every `popf` there
    // (`baseline`). The host's TF goes; the guest's becomes
    // `CpuState::tf_set`, and the block stops at the state before the
    // guest's next instruction, which the CPU loop runs single-stepped.
    // In a compiled trace, the trace is left as for a fault: the baseline
    // runs the `popf` again from the trace's last state.
    const TRAP_DB: i64 = 1;
    const TRAP_TRACE: i32 = 2;
    if sig == libc::SIGTRAP && info.si_code == TRAP_TRACE && gregs[libc::REG_TRAPNO as usize] == TRAP_DB {
        // `leave_block` takes the TF it finds as the guest's.
        if leave_block(gregs, DESC_SIGNAL).is_none() {
            gregs[libc::REG_EFL as usize] &= !(TF as i64);
            if let Some((rsp, to_loop, _)) = in_trace(host_pc) {
                gregs[libc::REG_RSP as usize] = rsp as i64;
                gregs[libc::REG_RIP as usize] = to_loop as i64;
            }
        }
        return;
    }
    // A guest address tern copied to or from for the guest: the copy
    // reports it (`usercopy.rs`), as the kernel's exception table does.
    if let Some(to) = crate::usercopy::fixup(host_pc) {
        gregs[libc::REG_RIP as usize] = to as i64;
        return;
    }
    let Some(cpu) = leave_block(gregs, DESC_FAULT) else {
        if let Some((rsp, to_loop, cpu)) = in_trace(host_pc) {
            // A compiled trace faulted: abandon it; its CpuState holds a
            // state the baseline re-executes from, and faults there
            // precisely (or not, if the page changed meanwhile). A trace
            // without syncs (`FormedTrace::precise`) left the state at its
            // entry: the CPU loop delivers the fault recorded here instead.
            record(cpu, sig, info, gregs, host_pc);
            cpu.fault.in_trace = 1;
            gregs[libc::REG_RSP as usize] = rsp as i64;
            gregs[libc::REG_RIP as usize] = to_loop as i64;
            return;
        }
        let mut buf = [0u8; 18];
        write_stderr(b"tern: internal fault (signal ");
        write_stderr(&[b'0' + (sig / 10) as u8, b'0' + (sig % 10) as u8]);
        write_stderr(b") at host pc ");
        write_stderr(fmt_hex(host_pc, &mut buf));
        write_stderr(b" addr ");
        // SAFETY: si_addr is valid to read for fault signals.
        write_stderr(fmt_hex(unsafe { info.si_addr() } as u64, &mut buf));
        write_stderr(b"\n");
        report_context(host_pc);
        // SAFETY: restoring the default action so that returning re-raises
        // the fault and the process dies with a core as usual.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
        return;
    };
    record(cpu, sig, info, gregs, host_pc);
}

/// Records fault `sig` (`info`, host context `gregs`, at `host_pc`) in
/// `cpu.fault`, for the CPU loop.
fn record(cpu: &mut CpuState, sig: i32, info: &libc::siginfo_t, gregs: &[libc::greg_t; 23], host_pc: u64) {
    // SAFETY: si_addr is valid to read for fault signals.
    let addr = unsafe { info.si_addr() } as u64;
    // An address naming the faulting instruction (#UD, #DE, x87 and SIMD
    // exceptions) names the guest's.
    let addr = if addr == host_pc { cpu.rip } else { addr };
    cpu.fault.signo = sig;
    cpu.fault.code = info.si_code;
    cpu.fault.addr = addr;
    cpu.fault.err = gregs[libc::REG_ERR as usize] as u64;
    cpu.fault.trapno = gregs[libc::REG_TRAPNO as usize] as u64;
    cpu.fault.pkey = if sig == libc::SIGSEGV && info.si_code == crate::sync::SEGV_PKUERR {
        // SAFETY: a siginfo is 128 bytes; SEGV_PKUERR's si_pkey is the u32
        // at 32.
        unsafe {
            std::ptr::read_unaligned((info as *const libc::siginfo_t).cast::<u8>().add(32).cast::<u32>())
        }
    } else {
        0
    };
}

/// If `pc` is in the reload window of the trace routines: where to leave
/// for the CPU loop instead. Async-signal-safe.
pub(crate) fn in_trace_window(pc: u64) -> Option<u64> {
    let cache = CACHE.load(Ordering::Acquire);
    // SAFETY: CACHE is either null or points to the process-lifetime cache.
    let (to_loop, (lo, hi)) = unsafe { cache.as_ref() }?.trace_routines();
    (lo..hi).contains(&pc).then_some(to_loop)
}

/// If `host_pc` is in the code cache while the thread runs a compiled trace
/// (`baseline::trace_glue`): the host stack pointer saved at its call,
/// where to leave it for the CPU loop, and the thread's `CpuState`.
/// Async-signal-safe.
fn in_trace(host_pc: u64) -> Option<(u64, u64, &'static mut CpuState)> {
    let cache = CACHE.load(Ordering::Acquire);
    // SAFETY: CACHE is either null or points to the process-lifetime cache.
    let cache = unsafe { cache.as_ref() }.filter(|c| c.contains(host_pc))?;
    let cpu: *mut CpuState;
    // SAFETY: code-cache code only runs on guest threads, whose GS base is
    // their CpuState, whose self_ptr field holds its address.
    unsafe {
        std::arch::asm!("mov {}, gs:[{off}]", out(reg) cpu, off = const off::SELF_PTR, options(nostack, readonly))
    };
    // SAFETY: this thread's live CpuState.
    let rsp = unsafe { std::ptr::addr_of!((*cpu).trace_rsp).read_volatile() };
    // SAFETY: as above; the interrupted trace code, which does not run
    // until the handler returns, is its only other user on this thread.
    (rsp != 0).then(|| (rsp, cache.trace_routines().0, unsafe { &mut *cpu }))
}

/// If the interrupted host pc in `gregs` is inside a generated block:
/// stores the guest state at the pc-map boundary (registers, rip, flags) in
/// the thread's `CpuState`, names `desc` as its exit descriptor, and
/// rewrites the context to resume at `tern_resume_host`. None elsewhere
/// (nothing changed). A fault is taken at the faulting instruction
/// (`state_at`); an asynchronous signal (`desc` DESC_SIGNAL) may also stop
/// a thread inside an indirect-branch lookup, which restarts at the branch
/// target it holds in host rdx (`restart_at`, `TARGET_REG`). Async-signal-safe:
/// no allocation, no lock.
pub(crate) fn leave_block(gregs: &mut [libc::greg_t; 23], desc: u64) -> Option<&'static mut CpuState> {
    let host_pc = gregs[libc::REG_RIP as usize] as u64;
    let cache = CACHE.load(Ordering::Acquire);
    // SAFETY: CACHE is either null or points to the process-lifetime cache.
    // Only for a pc in generated code: block records of older epochs may
    // be freed while a thread runs tern's own code (`translate::flush`).
    let block =
        unsafe { cache.as_ref() }.filter(|c| c.contains(host_pc)).and_then(|c| c.block_at(host_pc))?;
    let cpu: *mut CpuState;
    // SAFETY: generated code only runs with GS pointing at the thread's
    // CpuState, whose self_ptr field holds its address.
    unsafe {
        std::arch::asm!("mov {}, gs:[{off}]", out(reg) cpu, off = const off::SELF_PTR, options(nostack, readonly))
    };
    // SAFETY: cpu is this thread's CpuState; the thread is stopped in this
    // handler, so nothing else accesses it.
    let cpu = unsafe { &mut *cpu };
    let (guest_pc, entry) = if desc == DESC_FAULT {
        block.state_at(host_pc)?
    } else {
        block.restart_at(host_pc, gregs[UCONTEXT_GREG[tern_translate::cache::TARGET_REG] as usize] as u64)?
    };
    for (r, g) in UCONTEXT_GREG.iter().enumerate() {
        cpu.regs[r] = gregs[*g as usize] as u64;
    }
    cpu.regs[tern_translate::cpu::RSP] += u64::from(entry.rsp_adj);
    for (reg, slot) in entry.fixups() {
        cpu.regs[reg] = cpu.scratch[slot];
    }
    cpu.rip = guest_pc;
    // TF stays out of `rflags` (`CpuState::step`): the host's single-step
    // trap after a guest `popf` that set it, or a signal landing between
    // that `popf` and the `nop` after it, finds it here.
    let flags = gregs[libc::REG_EFL as usize] as u64;
    if flags & TF != 0 {
        cpu.tf_set = 1;
        gregs[libc::REG_EFL as usize] &= !(TF as i64);
    }
    cpu.rflags = flags & !TF;
    cpu.exit_desc = desc;
    gregs[libc::REG_RIP as usize] = tern_translate::entry::resume_host_addr() as i64;
    Some(cpu)
}
