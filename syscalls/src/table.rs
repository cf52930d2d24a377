//! The syscall table: one row per call tern handles itself; every other
//! syscall the host kernel knows passes through.
//!
//! Support levels, printable with `tern --syscalls`: `Own` (tern implements
//! it), `Pass` (host kernel), `Refuse` (ENOSYS on purpose).

use crate::{fd, host_syscall, mm, proc, signal, task, Flow, Process, SysResult};
use std::collections::HashSet;
use std::sync::Mutex;
use tern_translate::cpu::CpuState;

/// A tern-owned handler.
pub type Handler = fn(&Process, &mut CpuState, [u64; 6]) -> (Flow, SysResult);

/// How a syscall is supported.
#[derive(Clone, Copy)]
pub enum Support {
    Own(Handler),
    /// Refused with ENOSYS, for the reason given.
    Refuse(&'static str),
}

/// Adapts a handler that only returns a result.
macro_rules! ret {
    ($f:path) => {
        |p: &Process, cpu: &mut CpuState, a: [u64; 6]| (Flow::Continue, $f(p, cpu, a))
    };
}

/// Rows: (number, name, support).
pub static TABLE: &[(u64, &str, Support)] = &[
    (3, "close", Support::Own(ret!(fd::close))),
    (9, "mmap", Support::Own(ret!(mm::mmap))),
    (10, "mprotect", Support::Own(ret!(mm::mprotect))),
    (11, "munmap", Support::Own(ret!(mm::munmap))),
    (12, "brk", Support::Own(ret!(mm::brk))),
    (13, "rt_sigaction", Support::Own(ret!(signal::rt_sigaction))),
    (14, "rt_sigprocmask", Support::Own(ret!(signal::rt_sigprocmask))),
    (127, "rt_sigpending", Support::Own(ret!(signal::rt_sigpending))),
    (128, "rt_sigtimedwait", Support::Own(ret!(signal::rt_sigtimedwait))),
    (130, "rt_sigsuspend", Support::Own(ret!(signal::rt_sigsuspend))),
    (270, "pselect6", Support::Own(ret!(signal::pselect6))),
    (271, "ppoll", Support::Own(ret!(signal::ppoll))),
    (281, "epoll_pwait", Support::Own(ret!(signal::epoll_pwait))),
    (282, "signalfd", Support::Own(ret!(signal::signalfd))),
    (289, "signalfd4", Support::Own(ret!(signal::signalfd4))),
    (333, "io_pgetevents", Support::Own(ret!(signal::io_pgetevents))),
    (441, "epoll_pwait2", Support::Own(ret!(signal::epoll_pwait2))),
    (15, "rt_sigreturn", Support::Refuse("signal delivery to guest handlers is not implemented yet")),
    (25, "mremap", Support::Own(ret!(mm::mremap))),
    (56, "clone", Support::Own(ret!(task::clone))),
    (57, "fork", Support::Own(ret!(task::fork))),
    (58, "vfork", Support::Own(ret!(task::fork))),
    (59, "execve", Support::Own(ret!(task::execve))),
    (60, "exit", Support::Own(task::exit)),
    (33, "dup2", Support::Own(ret!(fd::dup2))),
    (89, "readlink", Support::Own(ret!(proc::readlink))),
    (131, "sigaltstack", Support::Own(ret!(signal::sigaltstack))),
    (154, "modify_ldt", Support::Refuse("segment descriptors are not emulated")),
    (158, "arch_prctl", Support::Own(ret!(task::arch_prctl))),
    (205, "set_thread_area", Support::Refuse("32-bit TLS is not emulated")),
    (231, "exit_group", Support::Own(task::exit_group)),
    (257, "openat", Support::Own(ret!(proc::openat))),
    (2, "open", Support::Own(ret!(proc::open))),
    (267, "readlinkat", Support::Own(ret!(proc::readlinkat))),
    (292, "dup3", Support::Own(ret!(fd::dup3))),
    (322, "execveat", Support::Refuse("execveat is not supported yet")),
    (334, "rseq", Support::Refuse("the kernel would rewrite host PCs")),
    (436, "close_range", Support::Own(ret!(fd::close_range))),
    (435, "clone3", Support::Refuse("glibc falls back to clone")),
];

/// Highest syscall number the host kernel ABI defines that passes through.
const MAX_PASS: u64 = 462;
/// Numbers inside 0..=MAX_PASS that are unassigned on x86-64.
const HOLES: std::ops::Range<u64> = 335..424;

fn lookup(nr: u64) -> Option<&'static (u64, &'static str, Support)> {
    TABLE.iter().find(|r| r.0 == nr)
}

static LOGGED: Mutex<Option<HashSet<u64>>> = Mutex::new(None);

/// Logs an ENOSYS once per number: refusals by design at debug level
/// (`TERN_LOG=debug`), unknown numbers as warnings.
fn log_once(nr: u64, why: &str, unknown: bool) {
    let mut g = LOGGED.lock().unwrap_or_else(|e| e.into_inner());
    if g.get_or_insert_with(HashSet::new).insert(nr) {
        if unknown {
            tracing::warn!("tern: syscall {nr} returns ENOSYS: {why}");
        } else {
            tracing::debug!("tern: syscall {nr} returns ENOSYS: {why}");
        }
    }
}

/// Executes syscall `nr`. Returns the flow and the raw result for rax.
pub fn call(p: &Process, cpu: &mut CpuState, nr: u64, args: [u64; 6]) -> (Flow, i64) {
    let (flow, r) = match lookup(nr) {
        Some((_, _, Support::Own(h))) => h(p, cpu, args),
        Some((_, _, Support::Refuse(why))) => {
            log_once(nr, why, false);
            (Flow::Continue, Err(libc::ENOSYS))
        }
        None if nr <= MAX_PASS && !HOLES.contains(&nr) => return (Flow::Continue, host_syscall(nr, args)),
        None => {
            log_once(nr, "unknown syscall", true);
            (Flow::Continue, Err(libc::ENOSYS))
        }
    };
    (
        flow,
        match r {
            Ok(v) => v as i64,
            Err(e) => -i64::from(e),
        },
    )
}
