//! tern-syscalls: what happens when the guest executes `syscall`.
//!
//! One table (`rows.rs`, row type and dispatch in `table.rs`) has a row per
//! x86-64 syscall number: name, argument and result kinds (for `--strace`
//! and for `guard`, which checks pointers and unprotects code pages the
//! kernel will write), and support: pass-through to the host (guest and host
//! share one kernel ABI and one address space), a tern handler where tern
//! owns the state (memory map and brk: `mm.rs`; `/proc/self`: `proc.rs`;
//! signals: `signal.rs`; threads, processes and exec: `task.rs`; tern's
//! descriptors: `fd.rs`; calls that would reach tern's own state: `ctl.rs`),
//! or refused with an errno and a reason. Numbers without a row get ENOSYS,
//! logged once. The guest's seccomp filters (`seccomp.rs`) run before the
//! row is looked at, as the kernel's run at syscall entry.

pub mod aio;
pub mod background;
pub mod bpf;
pub mod ctl;
mod exec_marks;
pub mod fd;
pub mod guard;
pub mod host_thread;
pub mod le;
pub mod mm;
pub mod proc;
mod proc_mem;
mod proc_other;
pub mod proc_threads;
pub mod procmap;
pub mod ptrace;
pub mod rlimit;
mod rows;
pub mod seccomp;
mod self_mem;
pub mod signal;
pub mod strace;
pub mod table;
pub mod task;
pub mod thread;
pub mod user_dispatch;
pub mod vfork;
pub mod vfork_copy;
pub mod vm_clone;
pub mod vsyscall;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tern_signals::GuestSignals;
use tern_translate::cpu::CpuState;
use tern_translate::Jit;

/// What the CPU loop does after a syscall.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Continue the guest (the result is in rax).
    Continue,
    /// The whole guest process exits with this status.
    ExitGroup(i32),
    /// The calling guest thread exits.
    ExitThread(i32),
    /// `rt_sigreturn` restored every register (rcx and r11 included) from
    /// a signal frame: the CPU loop leaves them as they are.
    Sigreturn,
    /// A guest `execve` passed every check and this process runs the new
    /// program itself (`task::ExecInPlace`): the CPU loop returns to the
    /// main thread's start, which loads it.
    Exec(Box<task::ExecInPlace>),
}

/// Process-wide state tern owns on the guest's behalf.
pub struct Process {
    pub jit: &'static Jit,
    /// The guest program (what `/proc/self/exe` shows).
    pub exe: PathBuf,
    /// The guest's auxv as raw bytes (what `/proc/self/auxv` shows).
    pub auxv: Vec<u8>,
    /// The guest's argv, NUL-separated (what `/proc/self/cmdline` shows).
    pub cmdline: Vec<u8>,
    /// The program break: the memory's, so shared with a child made with
    /// CLONE_VM (`vm_clone.rs`).
    pub brk: Arc<Mutex<mm::Brk>>,
    pub signals: GuestSignals,
    /// Print each syscall (`--strace`).
    pub strace: bool,
    /// How to run another program under tern (for execve): tern's own path
    /// and the options to pass on.
    pub reexec: task::Reexec,
    /// Runs a guest thread's CPU loop on `cpu` (installed on the calling
    /// host thread) until the process exits; returns the exit status. Used
    /// for the child of a real `vfork` (`vfork.rs`) and of a `clone` with
    /// CLONE_VM alone (`vm_clone.rs`).
    pub run_guest: fn(&Process, &mut tern_translate::entry::CpuBox) -> i32,
}

/// A guest errno result.
pub type SysResult = Result<u64, i32>;

/// Runs the syscall in `cpu` (number in rax, args in rdi rsi rdx r10 r8 r9)
/// and stores the result in rax.
pub fn dispatch(p: &Process, cpu: &mut CpuState) -> Flow {
    use tern_translate::cpu::{R10, R8, R9, RAX, RDI, RDX, RSI};
    let nr = number(cpu.regs[RAX]);
    let args = [cpu.regs[RDI], cpu.regs[RSI], cpu.regs[RDX], cpu.regs[R10], cpu.regs[R8], cpu.regs[R9]];
    if let Some(flow) = user_dispatch::check(p, cpu, nr) {
        if p.strace {
            let entry = strace::format_entry(nr, args, &strace::SelfMem);
            tracing::info!(target: "strace", "{}{entry}) = ? (user dispatch: SIGSYS)", strace_prefix());
        }
        return flow;
    }
    if let Some((flow, result)) = seccomp::check(p, cpu, nr, args) {
        if p.strace {
            // As strace shows a call a filter answered: its arguments as
            // given, the result or the signal, and why.
            let entry = strace::format_entry(nr, args, &strace::SelfMem);
            let end = match result {
                Some(r) if r < 0 => format!("-1 {} (seccomp)", strace::errno_name((-r) as i32)),
                Some(r) => format!("{r} (seccomp)"),
                None => "? (seccomp: SIGSYS)".to_string(),
            };
            tracing::info!(target: "strace", "{}{entry}) = {end}", strace_prefix());
        }
        return flow;
    }
    if !p.strace {
        let (flow, ret) = call(p, cpu, nr, args);
        if flow != Flow::Sigreturn {
            cpu.regs[RAX] = ret as u64;
        }
        return flow;
    }
    // Arguments are decoded before the call (the kernel may change them),
    // out-arguments and the result after it, as strace does.
    let entry = strace::format_entry(nr, args, &strace::SelfMem);
    if nr == libc::SYS_execve as u64 || nr == libc::SYS_execveat as u64 {
        tracing::info!(target: "strace", "{}{entry}) = ...", strace_prefix());
    }
    let (flow, ret) = call(p, cpu, nr, args);
    let line = match flow {
        Flow::Continue | Flow::Sigreturn => entry + &strace::format_exit(nr, args, ret, &strace::SelfMem),
        Flow::ExitGroup(_) | Flow::ExitThread(_) => entry + ") = ?",
        // The new program's start logs the call's success.
        Flow::Exec(_) => return flow,
    };
    tracing::info!(target: "strace", "{}{line}", strace_prefix());
    if flow != Flow::Sigreturn {
        cpu.regs[RAX] = ret as u64;
    }
    flow
}

/// The system call a guest's rax names: its low 32 bits, sign-extended,
/// as the kernel takes it (`do_syscall_64(regs, int nr)`; seccomp and
/// syscall user dispatch see the same int): the upper half is ignored, so
/// `0x1_0000_0027` is getpid, and a negative int is no call (ENOSYS).
fn number(rax: u64) -> u64 {
    rax as u32 as i32 as i64 as u64
}

/// Runs the call, exactly once. Code pages the kernel will write were
/// unprotected by `guard` beforehand: retrying a call that failed with
/// EFAULT would be wrong, as such a call may have taken effect (a `wait4`
/// that reaped its child).
fn call(p: &Process, cpu: &mut CpuState, nr: u64, args: [u64; 6]) -> (Flow, i64) {
    let (flow, r) = table::call(p, cpu, nr, args);
    if vfork_copy::copying_back() {
        vfork_copy::note_call(nr, args, r);
    }
    (flow, r)
}

/// The process whose `--strace` lines carry no `[pid N]` prefix: the first
/// tern of a run. Forked children, and terns started by a guest exec (which
/// inherit the log), prefix their lines as `strace -f` does.
pub static STRACE_ROOT: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

pub fn strace_prefix() -> String {
    // The tid, as `strace -f` names threads (a process's first thread has
    // tid = pid). SAFETY: gettid has no preconditions.
    let pid = unsafe { libc::gettid() };
    if pid == STRACE_ROOT.load(std::sync::atomic::Ordering::Relaxed) {
        String::new()
    } else {
        format!("[pid {pid:>5}] ")
    }
}

/// Pass-through: the host syscall with the guest's arguments, through
/// `tern_signals::safe_syscall` (calls that would affect tern's own state
/// never reach here: the table routes them to tern-owned handlers). A
/// signal for the thread that arrives before the call enters the kernel,
/// or that the kernel restarts the call for, makes it return
/// `safe_syscall::RESTART`: the CPU loop delivers, then restarts the
/// guest's call. Guest-visible errnos are returned as they are.
pub fn host_syscall(nr: u64, a: [u64; 6]) -> i64 {
    tern_signals::safe_syscall::call(nr, a)
}

/// Converts a raw host result (negative errno) into a `SysResult`.
pub fn result(r: i64) -> SysResult {
    if (-4095..0).contains(&r) {
        Err(-r as i32)
    } else {
        Ok(r as u64)
    }
}
