//! Signal syscalls tern owns: `rt_sigaction` (the guest's dispositions),
//! `sigaltstack` (the host's alternate stack belongs to tern; the guest's
//! is kept per thread), `rt_sigreturn` (frames are tern's),
//! `rt_sigprocmask` and `rt_sigpending` (the guest's mask is tern's), and
//! every call that hands the kernel a signal set: the host gets a copy
//! without tern's reserved signals (`tern_signals::mask::RESERVED`), so no
//! guest set blocks them, waits for them or reads them from a signalfd.
//!
//! Where the guest's set is one the kernel would reject (bad size,
//! unreadable), the call goes to the host unchanged, so the errno and the
//! order of the kernel's checks are the kernel's own.

use crate::{host_syscall, result, Flow, Process, SysResult};
use tern_signals::altstack::{self, AltStack};
use tern_signals::mask::{
    guest_mask, host_set, set_guest_mask, set_guest_mask_deferred, sigbit, SigSet, TempMask, RESERVED,
    SIGSET_SIZE, UNBLOCKABLE,
};
use tern_signals::sync::SyncSignal;
use tern_signals::usercopy;
use tern_signals::{frame, pending, thread, SigAction};
use tern_translate::cpu::{CpuState, RAX, RSP};
use tern_translate::guestmem::read_guest;

// The hot calls (`rt_sigaction`, `rt_sigprocmask`, `sigaltstack`, the
// sets of mask-swapping calls) copy guest memory without a host call
// (`usercopy`); `guard` has refused pointers into tern's memory already.

/// A little-endian u64 at guest address `addr`, read without a host call.
fn read_u64(addr: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    usercopy::get(addr, &mut b).then(|| u64::from_le_bytes(b))
}

/// Writes `data` to the guest for a call that has already taken effect and
/// so must not be run again by `dispatch`'s EFAULT retry: a page tern
/// write-protected to catch self-modifying code gets its protection back
/// here. EFAULT only where the guest could not write either.
fn write_out(p: &Process, cpu: &mut CpuState, addr: u64, data: &[u8]) -> Result<(), i32> {
    if usercopy::put(addr, data) {
        return Ok(());
    }
    if p.jit.unprotect_all_code_pages() {
        cpu.flush_ibl();
        if usercopy::put(addr, data) {
            return Ok(());
        }
    }
    Err(libc::EFAULT)
}

fn read_action(addr: u64) -> Option<SigAction> {
    let mut b = [0u8; 32];
    if !usercopy::get(addr, &mut b) {
        return None;
    }
    let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
    Some(SigAction { handler: w(0), flags: w(1), restorer: w(2), mask: w(3) })
}

fn action_bytes(a: &SigAction) -> [u8; 32] {
    let mut b = [0u8; 32];
    for (i, w) in [a.handler, a.flags, a.restorer, a.mask].iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    b
}

/// `kernel/signal.c: do_sigaction()` bookkeeping.
pub fn rt_sigaction(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if a[3] != SIGSET_SIZE {
        return Err(libc::EINVAL);
    }
    let new = if a[1] != 0 { Some(read_action(a[1]).ok_or(libc::EFAULT)?) } else { None };
    let old = p.signals.set_action(a[0] as i32, new)?;
    // A handler for a signal a fault in a trace raises: traces must leave
    // a precise state at their faults from now on.
    if new.is_some_and(|n| n.handler > 1) && tern_signals::mask::FAULT_SIGNALS.contains(&(a[0] as i32)) {
        p.jit.faults_observable();
    }
    if a[2] != 0 {
        write_out(p, cpu, a[2], &action_bytes(&old))?;
    }
    Ok(0)
}

/// `kernel/signal.c: sys_sigaltstack()`: the guest thread's alternate
/// stack (`tern_signals::altstack`), judged at the guest's stack pointer.
/// An unreadable new stack is EFAULT before anything changes; the old one
/// is written only if the change succeeded.
pub fn sigaltstack(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let new = if a[0] != 0 {
        let mut b = [0u8; 24];
        if !usercopy::get(a[0], &mut b) {
            return Err(libc::EFAULT);
        }
        Some(AltStack::from_bytes(&b))
    } else {
        None
    };
    let old = altstack::do_sigaltstack(new, cpu.regs[RSP])?;
    if a[1] != 0 {
        write_out(p, cpu, a[1], &old.to_bytes())?;
    }
    Ok(0)
}

/// `rt_sigreturn` (`arch/x86/kernel/signal_64.c`): the state comes back
/// from the frame the handler returned from (`tern_signals::frame`). A bad
/// frame gives SIGSEGV with rax 0, as the kernel's `signal_fault()`.
pub fn rt_sigreturn(p: &Process, cpu: &mut CpuState, _a: [u64; 6]) -> (Flow, SysResult) {
    let r = frame::sigreturn(cpu);
    if r.is_err() {
        cpu.regs[RAX] = 0;
        let s = SyncSignal::forced(libc::SIGSEGV);
        frame::force_signal(&p.signals, cpu, libc::SIGSEGV, &s.info());
    } else if let Ok(Err(frame::BadSs(err))) = r {
        // The kernel's `iret` to the restored state faults (#GP), and its
        // `fixup_bad_iret()` makes that a fault of user code there.
        // The synchronous signal is dequeued first, then what the restored
        // mask unblocks (`dequeue_synchronous_signal()`).
        let s = SyncSignal { trapno: tern_signals::sync::TRAP_GP, err, ..SyncSignal::forced(libc::SIGSEGV) };
        frame::deliver_sync(&p.signals, cpu, &s);
        pending::deliver_unblocked(guest_mask());
    } else {
        // What the restored mask unblocks is delivered before the guest
        // runs on (reserved signals from tern's set; the host's own
        // pending ones arrive by themselves).
        pending::deliver_unblocked(guest_mask());
    }
    (Flow::Sigreturn, Ok(cpu.regs[RAX]))
}

/// `kernel/signal.c: rt_sigprocmask` and `sigprocmask()` on the guest's
/// mask: EINVAL for a size other than 8 or (with a new set) an unknown
/// `how`; SIGKILL and SIGSTOP never blocked; the old mask written after the
/// change (so a bad `oset` gives EFAULT with the new mask in place). The
/// host blocks the same minus tern's reserved signals.
pub fn rt_sigprocmask(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if a[3] != SIGSET_SIZE {
        return Err(libc::EINVAL);
    }
    let old = guest_mask();
    if a[1] != 0 {
        let set = read_u64(a[1]).ok_or(libc::EFAULT)? & !UNBLOCKABLE;
        let new = match a[0] as i32 {
            libc::SIG_BLOCK => old | set,
            libc::SIG_UNBLOCK => old & !set,
            libc::SIG_SETMASK => set,
            _ => return Err(libc::EINVAL),
        };
        set_guest_mask(new);
    }
    let r = if a[2] != 0 { write_out(p, cpu, a[2], &old.to_le_bytes()) } else { Ok(()) };
    // What the new mask unblocks is delivered on the way back to the guest.
    pending::deliver_unblocked(guest_mask());
    r.map(|()| 0)
}

/// `kernel/signal.c: do_sigpending()`: the host's blocked pending signals
/// plus the reserved ones tern keeps pending (process-wide, and this
/// thread's own); `sigsetsize` bytes of it.
pub fn rt_sigpending(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if a[1] > SIGSET_SIZE {
        return Err(libc::EINVAL);
    }
    let mut host: SigSet = 0;
    result(host_syscall(
        libc::SYS_rt_sigpending as u64,
        [&mut host as *mut SigSet as u64, SIGSET_SIZE, 0, 0, 0, 0],
    ))?;
    // Reserved signals sent to this thread with tgkill wait in its queue.
    let own = thread::current().map_or(0, |t| t.queued() & guest_mask());
    let set = host | pending::pending() | own;
    write_out(p, cpu, a[0], &set.to_le_bytes()[..a[1] as usize])?;
    Ok(0)
}

/// Where a call takes its signal set.
#[derive(Clone, Copy)]
enum SetArg {
    /// A `sigset_t *` argument and its size argument, by index.
    Direct(usize, usize),
    /// A pointer to a `{ const sigset_t *set; size_t size; }` pair
    /// (`pselect6`, `io_pgetevents`), by index.
    Pair(usize),
}

/// What the call does with the set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// The thread's mask for the duration of the call.
    TempMask,
    /// The signals a signalfd reads.
    Signalfd,
}

/// The guest's set, where the kernel would accept it (a NULL set or an
/// unreadable one, or a bad size, is left to the host).
fn guest_set(a: &[u64; 6], at: SetArg) -> Option<SigSet> {
    let (ptr, size) = match at {
        SetArg::Direct(s, n) => (a[s], a[n]),
        SetArg::Pair(i) if a[i] != 0 => (read_u64(a[i])?, read_u64(a[i] + 8)?),
        SetArg::Pair(_) => return None,
    };
    if ptr == 0 || size != SIGSET_SIZE {
        return None;
    }
    let mut b = [0u8; 8];
    // Without a host call: a fault-recovering copy (signal-heavy loops
    // pass a set on every sigsuspend).
    tern_signals::usercopy::get(ptr, &mut b).then(|| u64::from_le_bytes(b))
}

/// Runs host call `nr` with the guest's signal set replaced by a copy
/// without tern's reserved signals. A temporary mask is the thread's for
/// the call ([`with_temp_mask`]).
fn with_host_set(nr: i64, mut a: [u64; 6], at: SetArg, what: Use) -> SysResult {
    let Some(set) = guest_set(&a, at) else {
        return result(host_syscall(nr as u64, a));
    };
    let host: SigSet = host_set(set);
    let pair: [u64; 2] = [&host as *const SigSet as u64, SIGSET_SIZE];
    match at {
        SetArg::Direct(s, _) => a[s] = &host as *const SigSet as u64,
        SetArg::Pair(i) => a[i] = pair.as_ptr() as u64,
    }
    if what == Use::TempMask {
        return result(with_temp_mask(set, || host_syscall(nr as u64, a)));
    }
    result(host_syscall(nr as u64, a))
}

/// Runs `call`, a host call that swaps the mask to `set` atomically in the
/// host kernel (`rt_sigsuspend`, `ppoll`, `pselect6`, `epoll_pwait(2)`,
/// `io_pgetevents`), the way the kernel does it (`set_user_sigmask()`,
/// `restore_saved_sigmask_unless()`): a signal queued for the thread that
/// `set` unblocks ends the call at once with EINTR; when the call ends
/// with EINTR, `set` stays the mask until the signal is delivered and the
/// guest's mask from before is the one its handler's frame saves and
/// `rt_sigreturn` restores (`ThreadSignals::set_saved_mask`). Otherwise the
/// old mask is back when the call returns. tern's handlers see `set` during
/// the call (`TempMask`).
fn with_temp_mask(set: SigSet, call: impl FnOnce() -> i64) -> i64 {
    let set = set & !UNBLOCKABLE;
    let old = guest_mask();
    pending::deliver_unblocked(set);
    let t = thread::current();
    let eintr = -i64::from(libc::EINTR);
    let r = if t.is_some_and(|t| t.queued() & !set != 0) {
        eintr
    } else {
        let _temp = TempMask::new(set);
        call()
    };
    if let (true, Some(t)) = (r == eintr, t) {
        // The host mask follows when delivery, which the saved mask
        // raises, ends (one host call for the whole round).
        set_guest_mask_deferred(set);
        t.set_saved_mask(old);
    }
    r
}

/// `io_pgetevents` on x86-64 (not in the libc crate).
const SYS_IO_PGETEVENTS: i64 = 333;

/// Calls whose signal set tern only filters: (name, number, where, use).
macro_rules! set_calls {
    ($($(#[$doc:meta])* $name:ident = $nr:expr, $at:expr, $use:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
                with_host_set($nr, a, $at, $use)
            }
        )*
    };
}

set_calls! {
    /// `ppoll(fds, nfds, tmo, sigmask, sigsetsize)`.
    ppoll = libc::SYS_ppoll, SetArg::Direct(3, 4), Use::TempMask;
    /// `pselect6(n, in, out, ex, tmo, &{sigmask, size})`.
    pselect6 = libc::SYS_pselect6, SetArg::Pair(5), Use::TempMask;
    /// `epoll_pwait(epfd, events, max, timeout, sigmask, sigsetsize)`.
    epoll_pwait = libc::SYS_epoll_pwait, SetArg::Direct(4, 5), Use::TempMask;
    /// `epoll_pwait2(epfd, events, max, tmo, sigmask, sigsetsize)`.
    epoll_pwait2 = libc::SYS_epoll_pwait2, SetArg::Direct(4, 5), Use::TempMask;
    /// `io_pgetevents(ctx, min, nr, events, tmo, &{sigmask, size})`.
    io_pgetevents = SYS_IO_PGETEVENTS, SetArg::Pair(5), Use::TempMask;
    /// `signalfd(fd, mask, sizemask)`: tern's reserved signals are never
    /// pending on the host, so leaving them out changes nothing the fd reads.
    signalfd = libc::SYS_signalfd, SetArg::Direct(1, 2), Use::Signalfd;
    /// `signalfd4(fd, mask, sizemask, flags)`.
    signalfd4 = libc::SYS_signalfd4, SetArg::Direct(1, 2), Use::Signalfd;
}

/// `io_uring_enter(fd, to_submit, min_complete, flags, arg, argsz)`: the
/// signal set a wait for completions (IORING_ENTER_GETEVENTS) runs under
/// is filtered as `ppoll`'s, whether `arg` is the set itself or, with
/// IORING_ENTER_EXT_ARG, a `struct io_uring_getevents_arg` naming it (a
/// copy of which, with the filtered set, goes to the host). A wait region
/// registered beforehand (IORING_ENTER_EXT_ARG_REG) is the host's to read.
pub fn io_uring_enter(_p: &Process, _cpu: &mut CpuState, mut a: [u64; 6]) -> SysResult {
    const NR: i64 = 426;
    const GETEVENTS: u64 = 1;
    const EXT_ARG: u64 = 8;
    const EXT_ARG_REG: u64 = 0x40;
    /// `sizeof(struct io_uring_getevents_arg)`: sigmask, sigmask_sz,
    /// min_wait_usec, ts.
    const ARG_SIZE: usize = 24;
    let flags = a[3];
    if flags & GETEVENTS == 0 || flags & EXT_ARG_REG != 0 || a[4] == 0 {
        return result(host_syscall(NR as u64, a));
    }
    if flags & EXT_ARG == 0 {
        return with_host_set(NR, a, SetArg::Direct(4, 5), Use::TempMask);
    }
    let mut arg = [0u8; ARG_SIZE];
    if a[5] != ARG_SIZE as u64 || read_guest(a[4], &mut arg) != ARG_SIZE {
        return result(host_syscall(NR as u64, a));
    }
    let ptr = u64::from_le_bytes([arg[0], arg[1], arg[2], arg[3], arg[4], arg[5], arg[6], arg[7]]);
    let size = u32::from_le_bytes([arg[8], arg[9], arg[10], arg[11]]);
    let mut b = [0u8; 8];
    if ptr == 0 || u64::from(size) != SIGSET_SIZE || !usercopy::get(ptr, &mut b) {
        return result(host_syscall(NR as u64, a));
    }
    let set = u64::from_le_bytes(b);
    let host: SigSet = host_set(set);
    arg[..8].copy_from_slice(&(&host as *const SigSet as u64).to_le_bytes());
    a[4] = arg.as_ptr() as u64;
    result(with_temp_mask(set, || host_syscall(NR as u64, a)))
}

/// `kernel/signal.c: sigsuspend()`: waits under the guest's temporary
/// mask (minus tern's reserved signals) until a signal is delivered, then
/// EINTR with the handler run under the old mask ([`with_temp_mask`]).
/// Only a guest handler ends the wait: tern's own kick or a reserved signal
/// the temporary mask blocks (EINTR from the host with nothing queued for
/// the guest) resumes it.
pub fn rt_sigsuspend(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let Some(set) = guest_set(&a, SetArg::Direct(0, 1)) else {
        return result(host_syscall(libc::SYS_rt_sigsuspend as u64, a));
    };
    let host: SigSet = host_set(set);
    let eintr = -i64::from(libc::EINTR);
    result(with_temp_mask(set, || loop {
        let r = host_syscall(
            libc::SYS_rt_sigsuspend as u64,
            [&host as *const SigSet as u64, SIGSET_SIZE, 0, 0, 0, 0],
        );
        let queued = thread::current().is_some_and(|t| t.deliverable());
        if r != eintr || queued {
            return r;
        }
    }))
}

/// Checks a `struct timespec` timeout as `rt_sigtimedwait` does before
/// dequeuing.
fn check_timeout(addr: u64) -> Result<(), i32> {
    if addr == 0 {
        return Ok(());
    }
    let mut b = [0u8; 16];
    if read_guest(addr, &mut b) != 16 {
        return Err(libc::EFAULT);
    }
    let sec = i64::from_le_bytes(b[0..8].try_into().unwrap());
    let nsec = i64::from_le_bytes(b[8..16].try_into().unwrap());
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(libc::EINVAL);
    }
    Ok(())
}

/// `kernel/signal.c: do_sigtimedwait()`. The host waits for the set minus
/// tern's reserved signals; a reserved signal in the set that tern keeps
/// pending for the guest (sent with `kill` while blocked) is returned from
/// tern's pending set, before the wait or when its arrival interrupts it
/// (tern's handler runs, the host call says EINTR). So a guest waiting for
/// SIGSEGV by `sigtimedwait` gets a sent SIGSEGV as natively; a SIGSEGV from
/// a fault is never waited for, natively either (it is forced).
pub fn rt_sigtimedwait(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let Some(set) = guest_set(&a, SetArg::Direct(0, 3)) else {
        return result(host_syscall(libc::SYS_rt_sigtimedwait as u64, a));
    };
    let set = set & !UNBLOCKABLE;
    let take = |p: &Process, cpu: &mut CpuState| -> Option<SysResult> {
        let (sig, info) = pending::take(set & RESERVED)?;
        Some(if a[1] != 0 { write_out(p, cpu, a[1], &info).map(|()| sig as u64) } else { Ok(sig as u64) })
    };
    if set & RESERVED & pending::pending() != 0 {
        check_timeout(a[2])?;
        if let Some(r) = take(p, cpu) {
            return r;
        }
    }
    // A signal queued for this thread and not delivered yet (it arrived
    // while the call was being made).
    if let Some((sig, info)) = thread::current().and_then(|t| t.take(set)) {
        check_timeout(a[2])?;
        return if a[1] != 0 { write_out(p, cpu, a[1], &info).map(|()| sig as u64) } else { Ok(sig as u64) };
    }
    // The host fills tern's siginfo, copied out after: the signal is taken
    // by then, so a page tern write-protected must not make the call fail
    // and run again.
    let host: SigSet = host_set(set);
    let mut info = [0u8; 128];
    let mut args = a;
    args[0] = &host as *const SigSet as u64;
    if a[1] != 0 {
        args[1] = info.as_mut_ptr() as u64;
    }
    // A reserved signal in the set that arrives meanwhile ends the host
    // wait (tern's handler runs): it is taken here, not waited past.
    let t = thread::current();
    let arrived = || (pending::pending() | t.map_or(0, |t| t.queued())) & set & RESERVED != 0;
    let r = tern_signals::safe_syscall::call_unless(libc::SYS_rt_sigtimedwait as u64, args, &arrived);
    if r == -i64::from(libc::EINTR) {
        if let Some(r) = take(p, cpu) {
            return r;
        }
        if let Some((sig, info)) = t.and_then(|t| t.take(set & RESERVED)) {
            return if a[1] != 0 {
                write_out(p, cpu, a[1], &info).map(|()| sig as u64)
            } else {
                Ok(sig as u64)
            };
        }
    }
    let sig = result(r)?;
    if a[1] != 0 {
        write_out(p, cpu, a[1], &info)?;
    }
    Ok(sig)
}

/// A reserved signal queued by the guest to its own process with a siginfo
/// of its choosing. Linux lets a process queue any `si_code` to itself
/// (`kernel/signal.c: do_rt_sigqueueinfo()` refuses `si_code >= 0` only
/// towards other processes), so a forged "kernel" SIGILL or SIGSEGV would
/// reach tern's fault handler looking like a fault in tern. tern delivers it
/// to the guest itself instead, as `send_signal()` would: pending while the
/// guest blocks it, discarded while the guest ignores it, else the default
/// action. Returns None when the call is not such a self-send (the host
/// kernel takes it, with its own checks and errnos).
fn queue_to_self(sig: u64, info_addr: u64, to_self: impl FnOnce() -> bool) -> Option<SysResult> {
    let sig = i32::try_from(sig).ok().filter(|s| (1..=64).contains(s))?;
    // The signal first: the pid costs a host call.
    if RESERVED & tern_signals::mask::sigbit(sig) == 0 || !to_self() {
        return None;
    }
    let mut raw = [0u8; 128];
    if info_addr != 0 && read_guest(info_addr, &mut raw) != raw.len() {
        return Some(Err(libc::EFAULT));
    }
    // SAFETY: siginfo_t is 128 bytes of plain data; any bit pattern is valid.
    let mut info: libc::siginfo_t = unsafe { std::mem::transmute(raw) };
    info.si_signo = sig;
    pending::on_async(sig, &info);
    Some(Ok(0))
}

/// `kill`, `tkill` and `tgkill` of a signal the calling thread takes at
/// once: queued on it by tern, as the kernel's `send_signal()` and the
/// delivery on the way back to user mode would have it, without the host
/// `kill`, the host's signal frame and its `rt_sigreturn` (half of what a
/// signal round trip cost under tern). Only for a signal with a guest
/// handler (never SIGKILL or SIGSTOP) that the thread does not block,
/// neither reserved nor one the kernel treats apart when it is sent
/// (SIGCONT and the stop signals); for `kill`, only in a process of one
/// thread (the kernel could choose another). Returns None otherwise, and
/// when the thread's queue is full: the host kernel takes the call.
fn signal_self(p: &Process, sig: u64, code: i32, to_self: impl FnOnce() -> bool) -> Option<SysResult> {
    let sig = i32::try_from(sig).ok().filter(|s| (1..=64).contains(s))?;
    if sig == libc::SIGCONT
        || tern_signals::deliver::is_stop(sig)
        || (RESERVED | guest_mask()) & sigbit(sig) != 0
    {
        return None;
    }
    if matches!(p.signals.action(sig).handler, tern_signals::guest::SIG_DFL | tern_signals::guest::SIG_IGN) {
        return None;
    }
    let t = thread::current()?;
    if !to_self() {
        return None;
    }
    // `prepare_kill_siginfo()`: the sender's pid and real uid.
    let mut info = [0u8; 128];
    info[0..4].copy_from_slice(&sig.to_le_bytes());
    info[8..12].copy_from_slice(&code.to_le_bytes());
    info[16..20].copy_from_slice(&(own_pid() as i32).to_le_bytes());
    // SAFETY: getuid has no preconditions.
    info[20..24].copy_from_slice(&unsafe { libc::getuid() }.to_le_bytes());
    if !t.queue(sig, &info) {
        return None;
    }
    t.raise();
    Some(Ok(0))
}

/// Host call `nr` of `kill`, `tkill` or `tgkill` with `a`; a vfork child
/// that sends its own process a signal (one whose default action may end
/// it there, as `abort`'s does) reports its memory changes first
/// (`vfork_copy::before_self_signal`).
fn host_kill(p: &Process, nr: i64, a: [u64; 6], to_self: bool) -> SysResult {
    if to_self {
        crate::vfork_copy::before_self_signal(p);
    }
    result(host_syscall(nr as u64, a))
}

/// `kill(pid, sig)`: see [`signal_self`].
pub fn kill(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let to_self = || a[0] as i32 as i64 == own_pid() as i64 && crate::thread::live::alone();
    // Its own process or process group.
    let own = || a[0] as i32 == 0 || a[0] as i32 as i64 == own_pid() as i64;
    signal_self(p, a[1], libc::SI_USER, to_self).unwrap_or_else(|| host_kill(p, libc::SYS_kill, a, own()))
}

/// `tkill(tid, sig)`: see [`signal_self`].
pub fn tkill(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let to_self = || a[0] as i32 as i64 == own_tid();
    signal_self(p, a[1], tern_signals::siginfo::SI_TKILL, to_self)
        .unwrap_or_else(|| host_kill(p, libc::SYS_tkill, a, to_self()))
}

/// `tgkill(tgid, tid, sig)`: see [`signal_self`].
pub fn tgkill(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let to_self = || a[0] as i32 as i64 == own_pid() as i64 && a[1] as i32 as i64 == own_tid();
    signal_self(p, a[2], tern_signals::siginfo::SI_TKILL, to_self)
        .unwrap_or_else(|| host_kill(p, libc::SYS_tgkill, a, to_self()))
}

fn own_tid() -> i64 {
    i64::from(crate::thread::gettid())
}

fn own_pid() -> u64 {
    // SAFETY: getpid has no preconditions.
    u64::from(unsafe { libc::getpid() }.unsigned_abs())
}

/// `rt_sigqueueinfo(pid, sig, info)`: see [`queue_to_self`].
pub fn rt_sigqueueinfo(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    queue_to_self(a[1], a[2], || a[0] as i32 as i64 == own_pid() as i64)
        .unwrap_or_else(|| result(host_syscall(libc::SYS_rt_sigqueueinfo as u64, a)))
}

/// `rt_tgsigqueueinfo(tgid, tid, sig, info)`: see [`queue_to_self`]. A
/// reserved signal to another guest thread of this process is queued by
/// tern on that thread, which is kicked (`thread::queue_to`): sent by the
/// host, a forged fault code would look like a fault in tern there.
pub fn rt_tgsigqueueinfo(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let reserved = (1..=64).contains(&a[2]) && RESERVED & tern_signals::mask::sigbit(a[2] as i32) != 0;
    if !reserved {
        return result(host_syscall(libc::SYS_rt_tgsigqueueinfo as u64, a));
    }
    let tid = u64::from(crate::thread::gettid().unsigned_abs());
    let own = a[0] as i32 as i64 == own_pid() as i64;
    if own && a[1] as i32 as i64 != tid as i64 {
        if let Some(t) = thread::by_tid(a[1] as i32) {
            let mut info = [0u8; 128];
            if read_guest(a[3], &mut info) != info.len() {
                return Err(libc::EFAULT);
            }
            info[0..4].copy_from_slice(&(a[2] as i32).to_le_bytes());
            return thread::queue_to(t.tid(), a[2] as i32, &info).map(|()| 0);
        }
    }
    queue_to_self(a[2], a[3], || own && a[1] as i32 as i64 == tid as i64)
        .unwrap_or_else(|| result(host_syscall(libc::SYS_rt_tgsigqueueinfo as u64, a)))
}

/// True if pidfd `fd` names this process: its `/proc/self/fdinfo`
/// entry's `Pid:`.
pub(crate) fn pidfd_names_self(fd: u64) -> bool {
    let fdinfo = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd as i32)).unwrap_or_default();
    fdinfo.lines().any(|l| l.strip_prefix("Pid:").is_some_and(|v| v.trim() == own_pid().to_string()))
}

/// `pidfd_send_signal(pidfd, sig, info, flags)` with a siginfo: see
/// [`queue_to_self`] and [`pidfd_names_self`].
pub fn pidfd_send_signal(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let own = a[2] != 0 && a[3] == 0 && pidfd_names_self(a[0]);
    own.then(|| queue_to_self(a[1], a[2], || true))
        .flatten()
        .unwrap_or_else(|| result(host_syscall(libc::SYS_pidfd_send_signal as u64, a)))
}
