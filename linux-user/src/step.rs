//! Single-stepping: the guest's trap flag (`CpuState::step`).
//!
//! A guest that sets EFLAGS.TF (with `popf`, or by editing the flags a
//! signal frame restores) gets a SIGTRAP after every instruction it then
//! runs, as the CPU's single-step trap gives natively. Generated code never
//! runs with the host's TF: while `step` is 1 the CPU loop translates the
//! instruction at the guest pc alone, runs it, and, if it completed, gives
//! the guest the trap (`SyncSignal::single_step`). The rules are the CPU's
//! and the kernel's:
//! - the trap follows an instruction that *began* with TF set: the one after
//!   a `popf` that sets TF traps, the `popf` itself does not; a `popf` that
//!   clears TF still traps once, showing TF clear in the saved flags;
//! - `syscall` gives no trap of its own (it masks TF; the kernel returns
//!   with `iret`, after which the next instruction traps);
//! - an instruction that faults or traps otherwise (`int3`, `ud2`) did not
//!   complete: its own signal, no single-step trap;
//! - `pushf` stores the flags with TF set;
//! - a handler runs with TF clear; its frame's flags carry TF, which
//!   `rt_sigreturn` restores (`signals::frame`).

use tern_signals::frame;
use tern_signals::sync::SyncSignal;
use tern_syscalls::Process;
use tern_translate::cpu::{CpuState, ExitDesc, ExitKind, RSP};
use tern_translate::guestmem::{read_code, read_guest, write_guest};
use tern_translate::lift::{flags_transfer, FlagsTransfer};

/// The instruction a step runs, as far as stepping cares.
#[derive(Clone, Copy)]
pub struct Step {
    pc: u64,
    transfer: Option<FlagsTransfer>,
}

/// Takes the guest's TF from a `popf` in generated code (the host handler
/// set `tf_set`), then, if it is set, describes the instruction at the pc.
pub fn begin(cpu: &mut CpuState) -> Option<Step> {
    if cpu.tf_set != 0 {
        cpu.tf_set = 0;
        cpu.step = 1;
    }
    if cpu.step == 0 {
        return None;
    }
    let mut code = [0u8; 15];
    let n = read_code(cpu.rip, &mut code);
    Some(Step { pc: cpu.rip, transfer: flags_transfer(cpu.rip, &code[..n]) })
}

/// After the stepped instruction's exit `d` (the loop has acted on it):
/// true if it completed and the single-step trap was delivered.
pub fn end(p: &Process, cpu: &mut CpuState, s: Step, d: &ExitDesc) -> bool {
    let completed = match d.kind {
        ExitKind::Direct | ExitKind::Indirect | ExitKind::Cpuid | ExitKind::Emulate => true,
        ExitKind::Xgetbv => cpu.rip == d.target,
        // Stopped by a host signal: after the instruction, or the host's
        // trap after a `popf` that set TF.
        ExitKind::Signal => cpu.tf_set != 0 || cpu.rip != s.pc,
        _ => false,
    };
    if !completed {
        cpu.tf_set = 0;
        return false;
    }
    match s.transfer {
        Some(FlagsTransfer::Popf) => cpu.step = cpu.tf_set,
        Some(FlagsTransfer::Pushf) => {
            // The pushed flags' second byte holds TF (bit 8).
            let at = cpu.regs[RSP] + 1;
            let mut b = [0u8; 1];
            if read_guest(at, &mut b) == 1 {
                write_guest(at, &[b[0] | 1]);
            }
        }
        None => {}
    }
    cpu.tf_set = 0;
    frame::deliver_sync(&p.signals, cpu, &SyncSignal::single_step(cpu.rip));
    true
}
