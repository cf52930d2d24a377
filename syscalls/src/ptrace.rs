//! `ptrace` between processes on one memory: a guest tracer that shares
//! its memory with its tracees (a CLONE_VM child of theirs, as
//! LeakSanitizer's and other sanitizers' stop-the-world tracer is) may
//! attach to their threads, stop them, read and change their registers and
//! let them go. tern does this itself, since the host's registers of a
//! guest thread are tern's: the tracee stops at the top of its CPU loop
//! and publishes its guest state (`tern_signals::ptrace_stop`), and the
//! tracer's `wait4` for it is answered here.
//!
//! Everything else is refused as before, as a kernel whose Yama
//! `ptrace_scope` is 3 does (EPERM): a tracer of another process's
//! threads, or of tern itself, would see tern's registers and memory.
//!
//! Requests, as `kernel/ptrace.c` and `arch/x86/kernel/ptrace.c` answer
//! them: PTRACE_ATTACH (the stop reports SIGSTOP), PTRACE_SEIZE (options
//! 0) and PTRACE_INTERRUPT (the stop reports PTRACE_EVENT_STOP), PTRACE_CONT
//! and PTRACE_DETACH (with a signal to pass on), PTRACE_KILL,
//! PTRACE_GETREGS/SETREGS, PTRACE_GETFPREGS/SETFPREGS, PTRACE_GETREGSET
//! (NT_PRSTATUS, NT_PRFPREG, NT_X86_XSTATE) and SETREGSET (the first
//! two), PTRACE_PEEKTEXT/PEEKDATA/PEEKUSER and PTRACE_POKEDATA. The requests
//! that need a stopped tracee fail with ESRCH when it is not stopped;
//! others give EIO. Not emulated: tracing syscalls, signals and events
//! (PTRACE_SYSCALL, PTRACE_SINGLESTEP, options), which would need the
//! tracee to report its signals and syscalls: gdb and strace still cannot
//! trace a guest.

use crate::{host_syscall, result, Process, SysResult};
use std::sync::atomic::Ordering;
use tern_signals::ptrace_stop::{Tracee, REPORTED, REQUESTED, RUNNING, STOPPED};
use tern_signals::thread::{by_tid, ThreadSignals};
use tern_translate::cpu::{
    CpuState, GuestRegs, R10, R11, R12, R13, R14, R15, R8, R9, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP,
};
use tern_translate::guestmem;

// The requests' pointers are the guest's, unchecked by `guard` (the row is
// raw): one into tern's memory fails as one into unmapped memory would.

/// [`guestmem::read_guest`] of guest memory only: 0 for tern's.
fn read_guest(addr: u64, buf: &mut [u8]) -> usize {
    if crate::guard::overlaps(&crate::guard::tern_memory(), addr, buf.len() as u64) {
        return 0;
    }
    guestmem::read_guest(addr, buf)
}

/// [`guestmem::write_guest`] to guest memory only: false for tern's.
fn write_guest(addr: u64, data: &[u8]) -> bool {
    !crate::guard::overlaps(&crate::guard::tern_memory(), addr, data.len() as u64)
        && guestmem::write_guest(addr, data)
}

const PTRACE_TRACEME: u64 = 0;
const PTRACE_PEEKTEXT: u64 = 1;
const PTRACE_PEEKDATA: u64 = 2;
const PTRACE_PEEKUSER: u64 = 3;
const PTRACE_POKETEXT: u64 = 4;
const PTRACE_POKEDATA: u64 = 5;
const PTRACE_CONT: u64 = 7;
const PTRACE_KILL: u64 = 8;
const PTRACE_GETREGS: u64 = 12;
const PTRACE_SETREGS: u64 = 13;
const PTRACE_GETFPREGS: u64 = 14;
const PTRACE_SETFPREGS: u64 = 15;
const PTRACE_ATTACH: u64 = 16;
const PTRACE_DETACH: u64 = 17;
const PTRACE_GETREGSET: u64 = 0x4204;
const PTRACE_SETREGSET: u64 = 0x4205;
const PTRACE_SEIZE: u64 = 0x4206;
const PTRACE_INTERRUPT: u64 = 0x4207;

const NT_PRSTATUS: u64 = 1;
const NT_PRFPREG: u64 = 2;
const NT_X86_XSTATE: u64 = 0x202;

/// `struct user_regs_struct`: 27 words.
const USER_REGS: usize = 27 * 8;
/// The FXSAVE image of `struct user_fpregs_struct`.
const USER_FPREGS: usize = 512;
/// `offsetof(struct user, u_debugreg)`: PTRACE_PEEKUSER reads 0 for the
/// debug registers (tern's guest has none set).
const USER_DEBUGREG: u64 = 848;

/// The `wait4` status of an attach's stop: stopped by SIGSTOP.
const STATUS_ATTACH: i32 = (libc::SIGSTOP << 8) | 0x7f;
/// The status of a PTRACE_INTERRUPT stop: SIGTRAP | PTRACE_EVENT_STOP << 8.
const STATUS_INTERRUPT: i32 = ((libc::SIGTRAP | (128 << 8)) << 8) | 0x7f;

/// `__WALL`, `__WCLONE`: the tracer's `wait4` finds tracees whatever their
/// exit signal.
const WNOHANG: u64 = 1;

fn me() -> i32 {
    crate::thread::gettid()
}

fn own_pid() -> i32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// The guest thread `tid` on this memory, if it runs in another process
/// than the caller (a thread cannot trace its own thread group).
fn target(tid: i32) -> Option<&'static ThreadSignals> {
    by_tid(tid).filter(|t| tid > 0 && t.tgid() != own_pid() && t.tid() == tid)
}

/// The tracee `tid` of the caller, stopped (ESRCH otherwise, as
/// `ptrace_check_attach()`).
fn stopped_tracee(tid: i32) -> Result<&'static Tracee, i32> {
    let t = target(tid).ok_or(libc::ESRCH)?;
    let tr = t.tracee();
    let s = tr.state.load(Ordering::Acquire);
    if tr.tracer.load(Ordering::Acquire) != me() || !(s == STOPPED || s == REPORTED) {
        return Err(libc::ESRCH);
    }
    Ok(tr)
}

/// Runs `f` on a stopped tracee's published registers, to change them
/// (EIO where they cannot be: stopped inside a call).
fn set_regs<R>(tr: &Tracee, f: impl FnOnce(&mut GuestRegs) -> Result<R, i32>) -> Result<R, i32> {
    if tr.read_only.load(Ordering::Acquire) != 0 {
        return Err(libc::EIO);
    }
    let r = with_regs(tr, f)??;
    tr.regs_changed.store(1, Ordering::Release);
    Ok(r)
}

/// Runs `f` on a stopped tracee's published registers.
fn with_regs<R>(tr: &Tracee, f: impl FnOnce(&mut GuestRegs) -> R) -> Result<R, i32> {
    let p = tr.regs.load(Ordering::Acquire);
    // SAFETY: while the tracee is stopped its published registers live on
    // its stack and only its tracer (the caller) uses them; the tracee
    // takes them back only after a resume, which only the caller makes.
    let regs = unsafe { p.as_mut() }.ok_or(libc::ESRCH)?;
    Ok(f(regs))
}

/// `struct user_regs_struct` of `g`: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8
/// rax rcx rdx rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base ds es
/// fs gs. The tracee stopped between instructions, not in a syscall:
/// orig_rax is -1.
fn user_regs(g: &GuestRegs) -> [u64; 27] {
    let r = &g.regs;
    [
        r[R15],
        r[R14],
        r[R13],
        r[R12],
        r[RBP],
        r[RBX],
        r[R11],
        r[R10],
        r[R9],
        r[R8],
        r[RAX],
        r[RCX],
        r[RDX],
        r[RSI],
        r[RDI],
        u64::MAX,
        g.rip,
        0x33,
        g.rflags,
        r[RSP],
        0x2b,
        g.fs_base,
        g.gs_base,
        0,
        0,
        u64::from(g.fs_sel),
        u64::from(g.gs_sel),
    ]
}

/// The general registers of `u` (a `user_regs_struct`) into `g`, as
/// `putreg()` takes them: the flags the user may change, the FS and GS
/// bases below the end of user space; segment selectors stay tern's
/// (the guest's FS and GS selectors as given).
fn set_user_regs(g: &mut GuestRegs, u: &[u64; 27]) -> Result<(), i32> {
    const TASK_SIZE: u64 = 0x7fff_ffff_f000;
    if u[21] >= TASK_SIZE || u[22] >= TASK_SIZE {
        return Err(libc::EIO);
    }
    // FLAG_MASK: CF PF AF ZF SF TF DF OF NT AC and RF.
    const FLAG_MASK: u64 =
        0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4000 | 0x4_0000 | 0x1_0000;
    let order = [R15, R14, R13, R12, RBP, RBX, R11, R10, R9, R8, RAX, RCX, RDX, RSI, RDI];
    for (i, r) in order.into_iter().enumerate() {
        g.regs[r] = u[i];
    }
    g.rip = u[16];
    g.rflags = (g.rflags & !FLAG_MASK) | (u[18] & FLAG_MASK);
    g.regs[RSP] = u[19];
    g.fs_base = u[21];
    g.gs_base = u[22];
    g.fs_sel = u[25] as u16;
    g.gs_sel = u[26] as u16;
    Ok(())
}

fn words_bytes(w: &[u64; 27]) -> [u8; USER_REGS] {
    let mut b = [0u8; USER_REGS];
    for (c, v) in b.chunks_exact_mut(8).zip(w) {
        c.copy_from_slice(&v.to_le_bytes());
    }
    b
}

fn read_words(addr: u64) -> Result<[u64; 27], i32> {
    let mut b = [0u8; USER_REGS];
    if read_guest(addr, &mut b) != b.len() {
        return Err(libc::EFAULT);
    }
    let mut w = [0u64; 27];
    for (v, c) in w.iter_mut().zip(b.chunks_exact(8)) {
        *v = u64::from_le_bytes(c.try_into().unwrap_or_default());
    }
    Ok(w)
}

/// A regset's bytes as the kernel's `ptrace_regset()` copies them out.
fn regset(p: &Process, g: &GuestRegs, which: u64) -> Result<Vec<u8>, i32> {
    match which {
        NT_PRSTATUS => Ok(words_bytes(&user_regs(g)).to_vec()),
        NT_PRFPREG => {
            let mut b = g.fpu.legacy().to_vec();
            b[464..].fill(0);
            Ok(b)
        }
        NT_X86_XSTATE if tern_signals::fpstate::Format::host() == tern_signals::fpstate::Format::Xsave => {
            // `xstateregs_get()`: the standard-format image of the model's
            // components (PKRU too where the model has it), XCR0 in the
            // first software-reserved word.
            let xcr0 = p.jit.model().guest_xcr0();
            let img = tern_signals::fpstate::image(&g.fpu, xcr0);
            let size = tern_signals::fpstate::xstate_size(xcr0);
            let mut b = img.0[..size].to_vec();
            b[464..512].fill(0);
            b[464..472].copy_from_slice(&xcr0.to_le_bytes());
            Ok(b)
        }
        _ => Err(libc::EINVAL),
    }
}

/// Sets the legacy (FXSAVE) part of `g`'s FPU state from `b`, as
/// `xfpregs_set()` does (MXCSR's reserved bits refused).
fn set_fpregs(g: &mut GuestRegs, b: &[u8; USER_FPREGS]) -> Result<(), i32> {
    let mxcsr = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
    if mxcsr & !tern_translate::xstate::mxcsr_mask() != 0 {
        return Err(libc::EINVAL);
    }
    let mut legacy = *g.fpu.legacy();
    legacy[..464].copy_from_slice(&b[..464]);
    g.fpu.load_legacy(&legacy, tern_translate::xstate::X87 | tern_translate::xstate::SSE);
    Ok(())
}

/// Asks tracee `t` to stop, reporting `status`.
fn request_stop(t: &ThreadSignals, status: i32) {
    let tr = t.tracee();
    tr.stop_status.store(status, Ordering::Release);
    if tr.state.compare_exchange(RUNNING, REQUESTED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
        t.raise();
        tern_signals::thread::kick(t.tid());
    }
}

/// Lets the stopped tracee `tid` go, passing `sig` on (0: none); the
/// tracer lets go of it too with `detach`.
fn resume(tid: i32, tr: &Tracee, sig: u64, detach: bool) -> SysResult {
    if sig > 64 {
        return Err(libc::EIO);
    }
    if detach {
        tr.tracer.store(0, Ordering::Release);
    }
    tr.resume();
    if sig != 0 {
        let tgid = target(tid).map_or(0, ThreadSignals::tgid);
        result(host_syscall(libc::SYS_tgkill as u64, [tgid as u64, tid as u64, sig, 0, 0, 0]))?;
    }
    Ok(0)
}

/// `ptrace(request, pid, addr, data)`.
pub fn ptrace(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let (req, tid, addr, data) = (a[0], a[1] as i32, a[2], a[3]);
    if req == PTRACE_TRACEME {
        return Err(libc::EPERM);
    }
    let attach = matches!(req, PTRACE_ATTACH | PTRACE_SEIZE);
    let Some(t) = target(tid) else {
        // Not a thread of another process on this memory: attaching is
        // refused, as before (a thread of the caller's own group cannot
        // be traced either); any other request names no tracee.
        return Err(if attach { libc::EPERM } else { libc::ESRCH });
    };
    let tr = t.tracee();
    match req {
        _ if attach => {
            if req == PTRACE_SEIZE && (addr != 0 || data != 0) {
                // Options would ask for events tern does not report.
                return Err(libc::EINVAL);
            }
            if tr.tracer.compare_exchange(0, me(), Ordering::AcqRel, Ordering::Acquire).is_err() {
                return Err(libc::EPERM);
            }
            if req == PTRACE_ATTACH {
                request_stop(t, STATUS_ATTACH);
            }
            Ok(0)
        }
        _ if tr.tracer.load(Ordering::Acquire) != me() => Err(libc::ESRCH),
        PTRACE_INTERRUPT => {
            request_stop(t, STATUS_INTERRUPT);
            Ok(0)
        }
        PTRACE_KILL => result(host_syscall(
            libc::SYS_tgkill as u64,
            [t.tgid() as u64, tid as u64, libc::SIGKILL as u64, 0, 0, 0],
        ))
        .map(|_| 0),
        PTRACE_CONT | PTRACE_DETACH => resume(tid, stopped_tracee(tid)?, data, req == PTRACE_DETACH),
        PTRACE_GETREGS => {
            let b = with_regs(stopped_tracee(tid)?, |g| words_bytes(&user_regs(g)))?;
            write_guest(data, &b).then_some(0).ok_or(libc::EFAULT)
        }
        PTRACE_SETREGS => {
            let tr = stopped_tracee(tid)?;
            let u = read_words(data)?;
            set_regs(tr, |g| set_user_regs(g, &u)).map(|()| 0)
        }
        PTRACE_GETFPREGS => {
            let b = with_regs(stopped_tracee(tid)?, |g| regset(p, g, NT_PRFPREG))??;
            write_guest(data, &b).then_some(0).ok_or(libc::EFAULT)
        }
        PTRACE_SETFPREGS => {
            let tr = stopped_tracee(tid)?;
            let mut b = [0u8; USER_FPREGS];
            if read_guest(data, &mut b) != b.len() {
                return Err(libc::EFAULT);
            }
            set_regs(tr, |g| set_fpregs(g, &b)).map(|()| 0)
        }
        PTRACE_GETREGSET => {
            let tr = stopped_tracee(tid)?;
            let (base, len) = read_iovec(data)?;
            let b = with_regs(tr, |g| regset(p, g, addr))??;
            let n = b.len().min(len as usize);
            if !write_guest(base, &b[..n]) || !write_guest(data + 8, &(n as u64).to_le_bytes()) {
                return Err(libc::EFAULT);
            }
            Ok(0)
        }
        PTRACE_SETREGSET => {
            let tr = stopped_tracee(tid)?;
            let (base, len) = read_iovec(data)?;
            match addr {
                NT_PRSTATUS if len as usize >= USER_REGS => {
                    let u = read_words(base)?;
                    set_regs(tr, |g| set_user_regs(g, &u))?;
                }
                NT_PRFPREG if len as usize >= USER_FPREGS => {
                    let mut b = [0u8; USER_FPREGS];
                    if read_guest(base, &mut b) != b.len() {
                        return Err(libc::EFAULT);
                    }
                    set_regs(tr, |g| set_fpregs(g, &b))?;
                }
                _ => return Err(libc::EINVAL),
            }
            Ok(0)
        }
        PTRACE_PEEKTEXT | PTRACE_PEEKDATA => {
            stopped_tracee(tid)?;
            let mut b = [0u8; 8];
            if read_guest(addr, &mut b) != 8 {
                return Err(libc::EIO);
            }
            write_guest(data, &b).then_some(0).ok_or(libc::EFAULT)
        }
        PTRACE_PEEKUSER => {
            let tr = stopped_tracee(tid)?;
            if addr & 7 != 0 || addr >= USER_DEBUGREG + 8 * 8 {
                return Err(libc::EIO);
            }
            let v = if (addr as usize) < USER_REGS {
                with_regs(tr, |g| user_regs(g)[addr as usize / 8])?
            } else {
                0
            };
            write_guest(data, &v.to_le_bytes()).then_some(0).ok_or(libc::EFAULT)
        }
        PTRACE_POKETEXT | PTRACE_POKEDATA => {
            stopped_tracee(tid)?;
            // The memory is the caller's own: a write the caller could make
            // (code pages follow as for any guest store: not through here).
            write_guest(addr, &data.to_le_bytes()).then_some(0).ok_or(libc::EIO)
        }
        _ => Err(libc::EIO),
    }
}

fn read_iovec(addr: u64) -> Result<(u64, u64), i32> {
    let mut b = [0u8; 16];
    if read_guest(addr, &mut b) != 16 {
        return Err(libc::EFAULT);
    }
    let w = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
    Ok((w(0), w(8)))
}

/// How long the tracer's `wait4` sleeps before looking again (a tracee
/// that ended, a kick that came too early).
const WAIT_SLICE: libc::timespec = libc::timespec { tv_sec: 0, tv_nsec: 20_000_000 };

/// A tracee's stop for the tracer's wait: for `pid` (a tid, or -1 for
/// any tracee with a stop to report), None if it names no tracee of the
/// caller (the host's wait answers). Else the tracee and its stop's
/// status, marked reported unless `keep` (WNOWAIT); Ok(None) at once
/// with `nohang` when there is none yet; otherwise it waits.
fn tracee_stop(pid: i32, nohang: bool, keep: bool) -> Option<Result<Option<(i32, i32)>, i32>> {
    let mine = |t: &&ThreadSignals| t.tracee().tracer.load(Ordering::Acquire) == me();
    let t = match pid {
        -1 => tern_signals::thread::all()
            .filter(|t| t.tgid() != own_pid())
            .filter(mine)
            .find(|t| t.tracee().state.load(Ordering::Acquire) == STOPPED)?,
        p if p > 0 => target(p).filter(|t| mine(t))?,
        _ => return None,
    };
    let tid = t.tid();
    let tr = t.tracee();
    loop {
        if target(tid).is_none_or(|t| t.tracee().tracer.load(Ordering::Acquire) != me()) {
            return Some(Err(libc::ECHILD));
        }
        let s = tr.state.load(Ordering::Acquire);
        if s == STOPPED
            && (keep
                || tr.state.compare_exchange(STOPPED, REPORTED, Ordering::AcqRel, Ordering::Acquire).is_ok())
        {
            return Some(Ok(Some((tid, tr.stop_status.load(Ordering::Acquire)))));
        }
        if nohang {
            return Some(Ok(None));
        }
        if s == REQUESTED {
            // The kick may have come before the thread could take it.
            tern_signals::thread::kick(tid);
        }
        let word = tr.state.as_ptr() as u64;
        let ts = &WAIT_SLICE as *const libc::timespec as u64;
        let futex_wait = (libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG) as u64;
        // Through `safe_syscall`, so a signal for the tracer interrupts it.
        match result(host_syscall(libc::SYS_futex as u64, [word, futex_wait, u64::from(s), ts, 0, 0])) {
            Err(e) if e == -tern_signals::safe_syscall::RESTART as i32 => return Some(Err(e)),
            _ => {}
        }
    }
}

/// `wait4(pid, status, options, rusage)`: a tracee's stop (the rusage
/// zero), else the host's.
pub fn wait4(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let Some(r) = tracee_stop(a[0] as i32, a[2] & WNOHANG != 0, false) else {
        return result(host_syscall(libc::SYS_wait4 as u64, a));
    };
    let Some((tid, status)) = r? else { return Ok(0) };
    if a[1] != 0 && !write_guest(a[1], &status.to_le_bytes()) || a[3] != 0 && !write_guest(a[3], &[0u8; 144])
    {
        return Err(libc::EFAULT);
    }
    Ok(tid as u64)
}

/// `waitid(idtype, id, infop, options, rusage)`: a tracee's stop for
/// P_PID or P_ALL (CLD_TRAPPED, the stop's signal, or its event in the
/// bits above, as `wait_task_stopped()` fills it), else the host's.
pub fn waitid(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    const P_ALL: u64 = 0;
    const P_PID: u64 = 1;
    const WNOWAIT: u64 = 0x0100_0000;
    const CLD_TRAPPED: i32 = 4;
    if a[3] & (libc::WEXITED | libc::WSTOPPED | libc::WCONTINUED) as u64 == 0 {
        return Err(libc::EINVAL);
    }
    let pid = match a[0] {
        P_ALL => -1,
        P_PID => a[1] as i32,
        _ => 0,
    };
    let Some(r) = tracee_stop(pid, a[3] & WNOHANG != 0, a[3] & WNOWAIT != 0) else {
        return result(host_syscall(libc::SYS_waitid as u64, a));
    };
    let mut info = [0u8; 128];
    if let Some((tid, status)) = r? {
        let field =
            |info: &mut [u8; 128], at: usize, v: i32| info[at..at + 4].copy_from_slice(&v.to_le_bytes());
        field(&mut info, 0, libc::SIGCHLD);
        field(&mut info, 8, CLD_TRAPPED);
        field(&mut info, 16, tid);
        // SAFETY: getuid has no preconditions.
        field(&mut info, 20, unsafe { libc::getuid() } as i32);
        field(&mut info, 24, status >> 8);
    }
    // The rusage first, as `kernel_waitid()`'s caller; WNOHANG with
    // nothing to report: a zeroed siginfo, as the kernel.
    if a[4] != 0 && !write_guest(a[4], &[0u8; 144]) || a[2] != 0 && !write_guest(a[2], &info) {
        return Err(libc::EFAULT);
    }
    Ok(0)
}
