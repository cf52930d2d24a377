//! The legacy vsyscall page (`0xffffffffff600000`): `gettimeofday` at its
//! start, `time` at +0x400, `getcpu` at +0x800, which old static binaries
//! (and Go programs built before 1.x's vDSO support) call directly.
//!
//! A kernel in its `xonly` mode (the default) maps the page execute-only
//! and shows it in `/proc/self/maps`; a call there faults, and the fault
//! handler emulates the call (`arch/x86/entry/vsyscall/vsyscall_64.c:
//! emulate_vsyscall()`). tern cannot translate code it cannot read, so its
//! translation of any address in the page is a fetch fault (`lift`), which
//! the CPU loop hands here first: the same emulation, on the guest's
//! `CpuState`. Without the page on the host (`vsyscall=none`), nothing is
//! emulated and the fault is the guest's, as natively.

use crate::{dispatch, Flow, Process};
use tern_signals::frame;
use tern_signals::sync::{SyncSignal, PF_USER, PF_WRITE, SEGV_MAPERR, TRAP_PF};
use tern_translate::cpu::{CpuState, RAX, RDI, RDX, RSI, RSP};
use tern_translate::guestmem::read_guest;

/// The page's address.
pub const PAGE: u64 = 0xffff_ffff_ff60_0000;

/// The user address space's end (`TASK_SIZE_MAX`): a pointer past it is
/// refused before the call (`access_ok`).
const USER_END: u64 = 0x7fff_ffff_f000;

/// True if the host kernel maps the vsyscall page (asked once).
fn host_has_page() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| {
        tern_translate::hostmem::read_proc("/proc/self/maps").is_ok_and(|m| {
            let tag = b"[vsyscall]";
            m.windows(tag.len()).any(|w| w == tag)
        })
    })
}

/// Emulates what the kernel does when the guest's instruction fetch at
/// `cpu.rip` faults in the vsyscall page: the call and a `ret` (Some with
/// the call's flow), or SIGSEGV forced (Some(Continue), the signal queued
/// on the guest). None if `cpu.rip` is not in the page or the host has no
/// such page: an ordinary fetch fault.
pub fn emulate(p: &Process, cpu: &mut CpuState) -> Option<Flow> {
    if cpu.rip & !0xfff != PAGE || !host_has_page() {
        return None;
    }
    // `addr_to_vsyscall_nr()`: one of the three entries, else "misaligned
    // vsyscall".
    let nr = match cpu.rip & 0xfff {
        0x000 => libc::SYS_gettimeofday,
        0x400 => libc::SYS_time,
        0x800 => libc::SYS_getcpu,
        _ => return Some(segv(p, cpu)),
    };
    let mut caller = [0u8; 8];
    if read_guest(cpu.regs[RSP], &mut caller) != 8 {
        return Some(segv(p, cpu));
    }
    // `write_ok_or_segv()`: an output pointer outside user space is a
    // SIGSEGV at that address (SEGV_MAPERR) before any call.
    let outputs: &[(u64, u64)] = match nr {
        libc::SYS_gettimeofday => &[(cpu.regs[RDI], 16), (cpu.regs[RSI], 8)],
        libc::SYS_time => &[(cpu.regs[RDI], 8)],
        _ => &[(cpu.regs[RDI], 4), (cpu.regs[RSI], 4)],
    };
    if let Some(&(bad, _)) =
        outputs.iter().find(|&&(ptr, len)| ptr != 0 && ptr.saturating_add(len) > USER_END)
    {
        let s = SyncSignal {
            code: SEGV_MAPERR,
            addr: bad,
            trapno: TRAP_PF,
            err: PF_USER | PF_WRITE,
            cr2: Some(bad),
            set_rf: true,
            ..SyncSignal::forced(libc::SIGSEGV)
        };
        frame::deliver_sync(&p.signals, cpu, &s);
        return Some(Flow::Continue);
    }
    // The call, seccomp and `--strace` included; getcpu's third argument
    // (a cache tern never had) is 0, and rdx the guest's again after.
    let (rax, rdx) = (cpu.regs[RAX], cpu.regs[RDX]);
    cpu.regs[RAX] = nr as u64;
    cpu.regs[RDX] = 0;
    // Idle for the code cache while in the call, as for a guest syscall.
    p.jit.idle(cpu);
    let flow = dispatch(p, cpu);
    p.jit.quiescent(cpu);
    cpu.regs[RDX] = rdx;
    if flow != Flow::Continue {
        return Some(flow);
    }
    if cpu.regs[RAX] as i64 == -i64::from(libc::EFAULT) {
        // "vsyscall fault (exploit attempt?)": SIGSEGV at the entry.
        cpu.regs[RAX] = rax;
        return Some(segv(p, cpu));
    }
    // The `ret`.
    cpu.rip = u64::from_le_bytes(caller);
    cpu.regs[RSP] += 8;
    Some(Flow::Continue)
}

/// `force_sig(SIGSEGV)` at the faulting entry: SI_KERNEL, and the trap
/// number and error code the thread's last exception left (the emulation
/// records none of its own), RF in the flags as the fault saved them.
fn segv(p: &Process, cpu: &mut CpuState) -> Flow {
    let last = tern_signals::sync::last_trap();
    let s =
        SyncSignal { trapno: last.trapno, err: last.err, set_rf: true, ..SyncSignal::forced(libc::SIGSEGV) };
    frame::deliver_sync(&p.signals, cpu, &s);
    Flow::Continue
}
