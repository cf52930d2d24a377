//! The CPU loop: find (or translate) the block at the guest PC, run it, act on
//! the reason it exited, deliver pending signals, repeat.

use tern_signals::frame;
use tern_signals::sync::SyncSignal;
use tern_syscalls::{dispatch, Flow, Process};
use tern_translate::cpu::{ExitKind, R11, RAX, RBX, RCX, RDX};
use tern_translate::entry::CpuBox;

/// Counters for `--stats` kept by the loop.
#[derive(Debug, Default)]
pub struct LoopStats {
    /// Indexed by `ExitKind as usize`.
    pub exits: [u64; ExitKind::COUNT],
    pub syscalls: u64,
    /// Writes to pages holding translated code.
    pub smc: u64,
    /// Entries into compiled traces (`CpuState::trace_entries`), and exits
    /// from them to the CPU loop (`optimizer::trace_exit`).
    pub trace_entries: u64,
    pub trace_left: u64,
    /// Guest instructions run in baseline code (`CpuState::guest_insns`).
    pub guest_insns: u64,
}

/// Ends the process by `sig`, as the guest would end natively, having left
/// the code it shares with a fork parent or child (so that they need not
/// copy theirs).
fn die_by_signal(p: &Process, sig: i32) -> ! {
    tern_syscalls::task::leave_shared_code(p);
    tern_signals::guest::die_delivering(sig)
}

fn fatal(msg: impl std::fmt::Display) -> ! {
    tern_signals::say!("tern: {msg}");
    std::process::exit(127)
}

/// Leaves the loop with `f` (the thread or process ends, or execs): the
/// thread idle for the code cache, its counters into `stats`.
fn leave(jit: &tern_translate::Jit, cpu: &mut CpuBox, stats: &mut LoopStats, f: Flow) -> Flow {
    jit.idle(cpu);
    stats.trace_entries = cpu.trace_entries;
    stats.guest_insns = cpu.guest_insns;
    f
}

/// Runs the guest thread in `cpu` until it calls `exit` or `exit_group`.
/// Returns that flow.
pub fn run(p: &Process, cpu: &mut CpuBox, stats: &mut LoopStats) -> Flow {
    let jit = p.jit;
    // SAFETY: gettid has no preconditions.
    cpu.host_tid.store(unsafe { libc::gettid() }, std::sync::atomic::Ordering::Relaxed);
    // A guest thread never blocks the fault signals on the host: its
    // copies of guest memory can be direct.
    tern_translate::guestmem::direct_copies(true);
    // The code-cache epoch `host` was looked up in (see `translate::flush`).
    let mut epoch = jit.epoch();
    let mut host = match jit.lookup_or_translate(cpu.rip) {
        Ok(h) => h,
        Err(e) => fatal(e),
    };
    // `host` is a one-instruction block that is not cached.
    let mut single = false;
    let mut stale_faults = 0u32;
    loop {
        // No `Block` reference is held here (`translate::flush`).
        jit.quiescent(cpu);
        // The guest's TF, before a signal frame saves it.
        let mut step = crate::step::begin(cpu);
        // Signals queued for this thread (a cheap check when none are).
        let at = (cpu.rip, cpu.regs[tern_translate::cpu::RSP]);
        if let Some(f) = tern_signals::deliver::deliver_pending(&p.signals, cpu) {
            die_by_signal(p, f.sig)
        }
        if (cpu.rip, cpu.regs[tern_translate::cpu::RSP]) != at {
            host = jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e));
            single = false;
            // A handler runs with TF clear (`step` was cleared).
            step = None;
        }
        if step.is_some() {
            // Single-stepping: the instruction alone (`step.rs`).
            host = jit.translate(cpu.rip, true).map(|b| b.entry).unwrap_or_else(|e| fatal(e));
            single = true;
        }
        // A code-cache flush since the lookup may have reused host's memory.
        while !jit.enter_code(cpu, epoch) {
            epoch = jit.epoch();
            host = if single {
                jit.translate(cpu.rip, true).map(|b| b.entry)
            } else {
                jit.lookup_or_translate(cpu.rip)
            }
            .unwrap_or_else(|e| fatal(e));
        }
        jit.prefill_lookups(cpu);
        // SAFETY: host is a block entry from the jit, and cpu is installed as
        // this thread's GS base.
        unsafe { cpu.run(host) };
        let d = jit.last_exit(cpu);
        jit.leave_code(cpu);
        let exit_epoch = epoch;
        epoch = jit.epoch();
        single = false;
        if d.kind != ExitKind::Fault {
            stale_faults = 0;
        }
        stats.exits[d.kind as usize] += 1;
        let next = match d.kind {
            ExitKind::Direct => {
                if d.arg == tern_translate::cpu::DIRECT_VIA_LOOKUP {
                    cpu.reload_lookup_slots();
                }
                let h = jit.lookup_or_translate(d.target).unwrap_or_else(|e| fatal(e));
                jit.chain(cpu.exit_desc, exit_epoch);
                cpu.rip = d.target;
                h
            }
            ExitKind::Indirect => {
                let target = cpu.next_rip;
                cpu.rip = target;
                jit.ibl_fill(cpu, target).unwrap_or_else(|e| fatal(e))
            }
            ExitKind::Syscall => {
                stats.syscalls += 1;
                cpu.rip = d.target;
                let nr = cpu.regs[RAX];
                jit.idle(cpu);
                let flow = dispatch(p, cpu);
                jit.quiescent(cpu);
                match flow {
                    Flow::Continue => {
                        cpu.regs[RCX] = cpu.rip;
                        cpu.regs[R11] = cpu.guest_rflags();
                        // Interrupted before it took effect, or restarted
                        // by the host kernel (SA_RESTART): run the guest's
                        // `syscall` again once the signal is delivered.
                        if cpu.regs[RAX] as i64 == tern_signals::safe_syscall::RESTART {
                            cpu.rip = d.target - 2;
                            cpu.regs[RAX] = nr;
                        }
                    }
                    Flow::Sigreturn => {}
                    f @ (Flow::ExitGroup(_) | Flow::ExitThread(_) | Flow::Exec(_)) => {
                        return leave(jit, cpu, stats, f)
                    }
                }
                frame::deliver_reserved_pending(&p.signals, cpu);
                jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e))
            }
            ExitKind::Cpuid => {
                let r = jit.model().cpuid(cpu.regs[RAX] as u32, cpu.regs[RCX] as u32);
                for (reg, v) in [RAX, RBX, RCX, RDX].into_iter().zip(r) {
                    cpu.regs[reg] = u64::from(v);
                }
                cpu.rip = d.target;
                jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e))
            }
            ExitKind::Xgetbv => {
                let xinuse = cpu.xinuse();
                match jit.model().xgetbv(cpu.regs[RCX] as u32, xinuse) {
                    Some(v) => {
                        cpu.regs[RAX] = v & 0xffff_ffff;
                        cpu.regs[RDX] = v >> 32;
                        cpu.rip = d.target;
                    }
                    None => {
                        // `exc_general_protection()`: SIGSEGV, SI_KERNEL,
                        // at the instruction.
                        cpu.rip = d.target - u64::from(d.arg);
                        frame::deliver_sync(&p.signals, cpu, &SyncSignal::general_protection());
                    }
                }
                jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e))
            }
            ExitKind::Emulate => {
                // A segment register or FS/GS base instruction (`seg.rs`).
                cpu.rip = d.target;
                // Every thread's lookup table forgets dropped blocks (`Jit`).
                let r = tern_translate::seg::emulate_at(cpu, &mut |addr| jit.handle_code_write(addr));
                if let Err(sig) = r {
                    die_by_signal(p, sig)
                }
                jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e))
            }
            ExitKind::Hot => {
                // The counter starts again: a head sharing its slot fires
                // in turn (`baseline::hot_slot`).
                cpu.restart_hot(tern_translate::baseline::hot_slot(d.target) as usize);
                // The head's block first: the trace is formed from it.
                cpu.rip = d.target;
                let h = jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e));
                crate::optimizer::on_hot(&d, exit_epoch);
                h
            }
            ExitKind::Trace => {
                crate::optimizer::trace_exit(cpu, &d, stats);
                if std::mem::take(&mut cpu.fault.in_trace) != 0 && jit.trace_faults_unobserved() {
                    // A trace without syncs faulted: the state is the one
                    // at its entry, not the fault's, which only the
                    // default action (death by the signal) sees: no guest
                    // handler is installed for it, nor is the fault one
                    // tern handles (`TraceRecs::faults_observed`).
                    let s = SyncSignal::from_fault(cpu);
                    frame::deliver_sync(&p.signals, cpu, &s);
                }
                jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e))
            }
            ExitKind::Stale => {
                // A self-checking block's guest bytes changed: drop it and
                // translate it again.
                cpu.rip = d.target;
                jit.drop_stale_block(d.target);
                jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e))
            }
            // A host signal stopped generated code; delivered at the top.
            ExitKind::Signal => jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e)),
            ExitKind::Trap => {
                cpu.rip = d.target;
                let signo = tern_translate::ir::trap_of_arg(d.arg).0;
                // A call into the vsyscall page, which tern cannot read:
                // the kernel's emulation of it.
                let emulated = (signo == libc::SIGSEGV).then(|| tern_syscalls::vsyscall::emulate(p, cpu));
                match emulated.flatten() {
                    Some(Flow::Continue | Flow::Sigreturn) => {}
                    Some(f) => return leave(jit, cpu, stats, f),
                    None => {
                        tern_translate::lift::report_unsupported(d.target, signo);
                        let s = SyncSignal::from_trap(jit, d.arg, d.target);
                        frame::deliver_sync(&p.signals, cpu, &s);
                    }
                }
                jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e))
            }
            ExitKind::Fault => {
                let f = cpu.fault;
                use tern_signals::sync::PF_WRITE;
                if f.signo == libc::SIGSEGV && f.err & PF_WRITE != 0 && jit.handle_code_write(f.addr) {
                    // Self-modifying code: run the writing instruction alone,
                    // without write-protecting its page, then carry on.
                    stats.smc += 1;
                    let b = jit.translate(cpu.rip, true).unwrap_or_else(|e| fatal(e));
                    host = b.entry;
                    single = true;
                    continue;
                }
                let writable = jit.prot_at(f.addr).is_some_and(|p| p & libc::PROT_WRITE != 0);
                if f.signo == libc::SIGSEGV && f.err & PF_WRITE != 0 && writable && stale_faults < 3 {
                    // Another thread gave the code page its protection back
                    // between the fault and now (its own write, an
                    // mprotect): natively the write succeeded, so run it
                    // again (a few times at most, in case tern's map and
                    // the host's disagree).
                    stale_faults += 1;
                    host = jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e));
                    continue;
                }
                // Formatted only when logged: a guest that faults on purpose
                // (stress-ng's sigsegv stressor) does so in a loop.
                if tracing::enabled!(tracing::Level::DEBUG) {
                    let regs: Vec<String> = tern_translate::cpu::REG_NAMES
                        .iter()
                        .zip(cpu.regs.iter())
                        .map(|(n, v)| format!("{n}={v:#x}"))
                        .collect();
                    tracing::debug!(
                        "guest fault: signal {} code {} addr {:#x} at rip {:#x} {}",
                        f.signo,
                        f.code,
                        f.addr,
                        cpu.rip,
                        regs.join(" ")
                    );
                }
                let s = SyncSignal::from_fault(cpu);
                frame::deliver_sync(&p.signals, cpu, &s);
                jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e))
            }
        };
        host = match step {
            Some(s) if crate::step::end(p, cpu, s, &d) => {
                jit.lookup_or_translate(cpu.rip).unwrap_or_else(|e| fatal(e))
            }
            _ => next,
        };
    }
}
