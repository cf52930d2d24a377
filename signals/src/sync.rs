//! Synchronous signals: what an instruction raised (a host fault in
//! generated code, or a trap tern's translator placed), with the siginfo
//! and the exception record the kernel would give.
//!
//! The kernel keeps the last exception of each thread (`thread.trap_nr`,
//! `thread.error_code`, `thread.cr2`) and writes them into every signal
//! frame's sigcontext (`arch/x86/kernel/signal_64.c: setup_sigcontext()`),
//! so a later signal shows the last fault's values: [`last_trap`] holds
//! them per guest thread. They are set where the kernel sets them:
//! `traps.c: do_trap()`/`do_error_trap()`/`exc_general_protection()`
//! (trap number and error code) and `mm/fault.c: set_signal_archinfo()`
//! (page faults: also cr2). tern's own faults (self-modifying code) never
//! reach them.

use std::cell::Cell;
use tern_translate::cpu::CpuState;
use tern_translate::guestmem::read_code;
use tern_translate::Jit;

/// Exception vectors (`asm/trapnr.h`); #DB and #OF, which the translator's
/// `Trap`s name themselves (`ir::trap_arg`), are `ir`'s.
pub const TRAP_DE: u64 = 0;
pub const TRAP_DB: u64 = tern_translate::ir::TRAP_DB as u64;
pub const TRAP_BP: u64 = 3;
pub const TRAP_OF: u64 = tern_translate::ir::TRAP_OF as u64;
pub const TRAP_UD: u64 = 6;
pub const TRAP_GP: u64 = 13;
pub const TRAP_PF: u64 = 14;

/// `si_code` values used here (`uapi/asm-generic/siginfo.h`).
pub const SI_KERNEL: i32 = 0x80;
pub const ILL_ILLOPN: i32 = 2;
pub const TRAP_BRKPT: i32 = 1;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
/// A protection key's access rights refused the access.
pub const SEGV_PKUERR: i32 = 4;

/// Page-fault error code bits (`asm/trap_pf.h`).
pub const PF_PROT: u64 = 1;
pub const PF_WRITE: u64 = 2;
pub const PF_USER: u64 = 4;
pub const PF_INSTR: u64 = 0x10;

/// A synchronous signal and the exception that raised it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncSignal {
    pub sig: i32,
    pub code: i32,
    /// `si_addr`.
    pub addr: u64,
    pub trapno: u64,
    pub err: u64,
    /// The faulting address of a page fault (becomes the thread's cr2).
    pub cr2: Option<u64>,
    /// A fault (not a trap) tern detected itself: the CPU would have set
    /// RF in the flags it saved, as a host fault's flags already show.
    pub set_rf: bool,
    /// `si_pkey` of a protection-key fault (SEGV_PKUERR), else 0.
    pub pkey: u32,
}

impl SyncSignal {
    /// The 128-byte siginfo: `si_signo`, `si_errno` 0, `si_code`, and
    /// `si_addr` at offset 16 (for `SI_KERNEL` that word is `si_pid` and
    /// `si_uid`, both 0 as `force_sig()` leaves them). The rest is zero.
    pub fn info(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&self.sig.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        b[16..24].copy_from_slice(&self.addr.to_le_bytes());
        if self.sig == libc::SIGSEGV && self.code == SEGV_PKUERR {
            // After `si_addr_lsb`, in the union 8-aligned at 32.
            b[32..36].copy_from_slice(&self.pkey.to_le_bytes());
        }
        b
    }

    /// A signal the kernel forces with `force_sig()`: `SI_KERNEL`, no
    /// address, no exception of its own (a bad frame's SIGSEGV).
    pub fn forced(sig: i32) -> SyncSignal {
        SyncSignal { sig, code: SI_KERNEL, addr: 0, trapno: 0, err: 0, cr2: None, set_rf: false, pkey: 0 }
    }

    /// A #GP from user mode without an address (an invalid `xgetbv`
    /// register, ...): `traps.c: exc_general_protection()` forces SIGSEGV
    /// with SI_KERNEL.
    pub fn general_protection() -> SyncSignal {
        SyncSignal {
            sig: libc::SIGSEGV,
            code: SI_KERNEL,
            addr: 0,
            trapno: TRAP_GP,
            err: 0,
            cr2: None,
            set_rf: true,
            pkey: 0,
        }
    }

    /// The signal a host fault in generated code raised, as recorded by
    /// the fault handler (`si_addr` already the guest's).
    pub fn from_fault(cpu: &CpuState) -> SyncSignal {
        let f = cpu.fault;
        SyncSignal {
            sig: f.signo,
            code: f.code,
            addr: f.addr,
            trapno: f.trapno,
            err: f.err,
            cr2: (f.trapno == TRAP_PF).then_some(f.addr),
            set_rf: false,
            pkey: f.pkey,
        }
    }

    /// The single-step trap after an instruction that began with TF set
    /// (`traps.c: exc_debug_user()` -> `send_sigtrap()`): SIGTRAP,
    /// TRAP_TRACE, `si_addr` the next instruction, vector 1, error 0.
    pub fn single_step(rip: u64) -> SyncSignal {
        const TRAP_TRACE: i32 = 2;
        SyncSignal {
            sig: libc::SIGTRAP,
            code: TRAP_TRACE,
            addr: rip,
            trapno: TRAP_DB,
            err: 0,
            cr2: None,
            set_rf: false,
            pkey: 0,
        }
    }

    /// The signal of a trap the translator placed (`ExitKind::Trap`, its
    /// argument `arg`: `ir::trap_arg`): `int3` and `int 3` (SIGTRAP, `rip`
    /// after it), `int1` (the same with TRAP_BRKPT), `int 4` (SIGSEGV
    /// after it), an invalid instruction or one outside the CPU model
    /// (SIGILL), `int n` or an instruction longer than 15 bytes (a #GP) or
    /// a fetch from memory that is not executable (SIGSEGV).
    pub fn from_trap(jit: &Jit, arg: u32, rip: u64) -> SyncSignal {
        let (sig, vector) = tern_translate::ir::trap_of_arg(arg);
        let plain = |code, addr, trapno, err| SyncSignal {
            sig,
            code,
            addr,
            trapno,
            err,
            cr2: None,
            set_rf: sig != libc::SIGTRAP,
            pkey: 0,
        };
        match (sig, vector) {
            // `traps.c: exc_debug_user()`: a #DB no debug register explains
            // (`icebp`) -> `send_sigtrap()`, TRAP_BRKPT at the next
            // instruction.
            (libc::SIGTRAP, tern_translate::ir::TRAP_DB) => plain(TRAP_BRKPT, rip, TRAP_DB, 0),
            // `traps.c: do_int3_user()` -> `do_trap(X86_TRAP_BP, SIGTRAP)`:
            // force_sig, so SI_KERNEL and no address.
            (libc::SIGTRAP, _) => plain(SI_KERNEL, 0, TRAP_BP, 0),
            // `exc_overflow()` -> `do_error_trap(X86_TRAP_OF, SIGSEGV)`, no
            // si_code: force_sig, after the instruction.
            (libc::SIGSEGV, tern_translate::ir::TRAP_OF) => {
                SyncSignal { set_rf: false, ..plain(SI_KERNEL, 0, TRAP_OF, 0) }
            }
            (libc::SIGSEGV, _) => {
                let mut insn = [0u8; 15];
                let n = read_code(rip, &mut insn);
                if let Some((vector, len)) = tern_translate::lift::int_vector(&insn[..n]) {
                    if is_exec(jit, rip) && is_exec(jit, rip + len as u64 - 1) {
                        // `int n` (prefixes or not) through a gate user mode
                        // may not use: #GP with the IDT error code (vector
                        // << 3 | IDT bit).
                        return plain(SI_KERNEL, 0, TRAP_GP, u64::from(vector) << 3 | 2);
                    }
                }
                if n == 15 && tern_translate::lift::too_long(&insn) {
                    // Longer than 15 bytes: #GP, error code 0.
                    return plain(SI_KERNEL, 0, TRAP_GP, 0);
                }
                // An instruction fetch fault: the first byte from `rip`
                // that is not executable (the instruction may cross a page).
                let addr = if is_exec(jit, rip) { (rip & !0xfff) + 0x1000 } else { rip };
                // A page of the stack the kernel grew is mapped, as natively,
                // though the guest map does not know it.
                let mapped = jit.prot_at(addr).is_some() || jit.grown_prot(addr).is_some();
                let present = mapped && page_present(addr);
                let err = PF_USER | PF_INSTR | if present { PF_PROT } else { 0 };
                let code = if mapped { SEGV_ACCERR } else { SEGV_MAPERR };
                SyncSignal { sig, code, addr, trapno: TRAP_PF, err, cr2: Some(addr), set_rf: true, pkey: 0 }
            }
            // `do_error_trap(X86_TRAP_UD, SIGILL, ILL_ILLOPN, ip)`.
            _ => SyncSignal { sig: libc::SIGILL, ..plain(ILL_ILLOPN, rip, TRAP_UD, 0) },
        }
    }
}

fn is_exec(jit: &Jit, addr: u64) -> bool {
    jit.prot_at(addr).is_some_and(|p| p & libc::PROT_EXEC != 0)
}

/// Whether the page holding `addr` is present in the page tables (bit 63
/// of its `/proc/self/pagemap` entry): a fault on a present page has the
/// PROT bit in its error code.
fn page_present(addr: u64) -> bool {
    use std::os::unix::fs::FileExt;
    let Ok(f) = std::fs::File::open("/proc/self/pagemap") else { return false };
    let mut e = [0u8; 8];
    f.read_exact_at(&mut e, (addr / 4096) * 8).is_ok() && u64::from_le_bytes(e) >> 63 == 1
}

/// The last exception of a thread: trap number, error code, cr2.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LastTrap {
    pub trapno: u64,
    pub err: u64,
    pub cr2: u64,
}

thread_local! {
    static LAST: Cell<LastTrap> = const { Cell::new(LastTrap { trapno: 0, err: 0, cr2: 0 }) };
}

/// The calling guest thread's last exception, as its frames show it.
pub fn last_trap() -> LastTrap {
    LAST.with(|l| l.get())
}

/// Records `s` as the thread's last exception.
pub fn record(s: &SyncSignal) {
    LAST.with(|l| {
        let old = l.get();
        l.set(LastTrap { trapno: s.trapno, err: s.err, cr2: s.cr2.unwrap_or(old.cr2) })
    });
}
