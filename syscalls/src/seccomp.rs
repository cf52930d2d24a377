//! seccomp for the guest: strict mode and classic-BPF filters, run by tern
//! on every guest syscall before the call itself.
//!
//! The host kernel's seccomp cannot be used: a filter applies to every
//! syscall of the task, and tern makes its own (memory for the code cache,
//! signal handling, the futexes of its locks) that a guest filter would
//! refuse or kill. So tern keeps the guest's mode and filters and runs them
//! as `kernel/seccomp.c` does (`seccomp_run_filters()`: every filter of the
//! chain on the `seccomp_data` of the call, the most restrictive action
//! wins, the newest filter among equals), with the same checks at install
//! (`bpf_check_classic()`, `seccomp_check_filter()`) and the same actions:
//! the call fails with the filter's errno, SIGSYS is forced with the
//! kernel's siginfo (`SYS_SECCOMP`), or the thread or process is killed.
//!
//! The state is per thread, as the kernel's: a new thread starts with its
//! creator's (`NewThread::seccomp`), a forked child with its parent's
//! thread's, an exec'd tern with it handed over (`handover`, `init`).
//! `SECCOMP_FILTER_FLAG_TSYNC` gives the caller's filters to the whole
//! thread group, so modes live in one table keyed by tid, cached per thread
//! and refreshed when the table's generation moves. Without any filter in
//! the process the check is one atomic load.
//!
//! Not offered: the user-notification listener (`NEW_LISTENER`, an fd a
//! supervisor answers calls through) gets EINVAL, as from a kernel before
//! it, and `SECCOMP_RET_USER_NOTIF` is reported unavailable; a filter that
//! returns it anyway fails the call with ENOSYS (the kernel's answer when no
//! listener exists), as does `SECCOMP_RET_TRACE` (no tracer can be
//! attached under tern). Audit logging (`SECCOMP_RET_LOG`, the `LOG` flag)
//! allows the call and logs nothing.

use crate::{Flow, Process, SysResult};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tern_signals::thread::gettid;
use tern_translate::cpu::{CpuState, R11, RAX, RCX};
use tern_translate::guestmem::read_guest;

const SET_MODE_STRICT: u64 = 0;
const SET_MODE_FILTER: u64 = 1;
const GET_ACTION_AVAIL: u64 = 2;

const FLAG_TSYNC: u64 = 1;
const FLAG_LOG: u64 = 2;
const FLAG_SPEC_ALLOW: u64 = 4;
const FLAG_TSYNC_ESRCH: u64 = 16;

const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_USER_NOTIF: u32 = 0x7fc0_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ACTION_FULL: u32 = 0xffff_0000;
const RET_DATA: u32 = 0xffff;

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `si_code` of a seccomp SIGSYS.
const SYS_SECCOMP: i32 = 1;
const MAX_ERRNO: u32 = 4095;
/// `BPF_MAXINSNS`, and the most instructions of all filters of a chain
/// (`MAX_INSNS_PER_PATH`, each filter counting 4 more).
const MAX_INSNS: usize = 4096;
const MAX_INSNS_PER_PATH: usize = 32768;
/// `sizeof(struct seccomp_data)`.
const DATA_LEN: u32 = 64;
/// Scratch memory words (`BPF_MEMWORDS`).
const MEM_WORDS: u32 = 16;

/// What strict mode allows: `read`, `write`, `exit`, `rt_sigreturn`.
const STRICT_ALLOWED: [u64; 4] = [0, 1, 60, 15];

/// One classic-BPF instruction (`struct sock_filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

/// A filter and the ones installed before it (run too).
#[derive(Debug)]
pub struct Filter {
    insns: Box<[Insn]>,
    prev: Option<Arc<Filter>>,
}

impl Filter {
    /// This filter, then the ones installed before it, newest first.
    fn chain(self: &Arc<Filter>) -> impl Iterator<Item = &Arc<Filter>> {
        std::iter::successors(Some(self), |f| f.prev.as_ref())
    }
}

/// A thread's seccomp mode (none: no entry).
#[derive(Clone, Debug)]
pub enum Mode {
    Strict,
    Filters(Arc<Filter>),
}

struct Entry {
    tid: i32,
    tgid: i32,
    mode: Mode,
}

/// Some thread of the process has a mode: calls are checked.
static ANY: AtomicBool = AtomicBool::new(false);
/// Bumped by every change of the table.
static GENERATION: AtomicU64 = AtomicU64::new(1);
static TABLE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

thread_local! {
    /// This thread's mode as of a generation, for the tid it was read for
    /// (a vfork child runs on its parent's thread-locals, so it is taken
    /// out while in use rather than borrowed: a child killed meanwhile
    /// leaves it empty, not a borrow flag set for the parent).
    static CACHED: Cell<(u64, i32, Option<Mode>)> = const { Cell::new((0, 0, None)) };
}

fn table() -> MutexGuard<'static, Vec<Entry>> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

fn getpid() -> i32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// The mode of thread `tid`.
fn mode_of(tid: i32) -> Option<Mode> {
    if !ANY.load(Ordering::Acquire) {
        return None;
    }
    let generation = GENERATION.load(Ordering::Acquire);
    let mut c = CACHED.take();
    if c.0 != generation || c.1 != tid {
        let t = table();
        c = (
            GENERATION.load(Ordering::Acquire),
            tid,
            t.iter().find(|e| e.tid == tid).map(|e| e.mode.clone()),
        );
    }
    let mode = c.2.clone();
    CACHED.set(c);
    mode
}

/// The calling thread's mode, for a thread it creates.
pub fn current() -> Option<Mode> {
    mode_of(gettid())
}

/// Gives the calling thread `mode` (a new thread, before it runs guest
/// code: its creator's).
pub fn adopt(mode: Option<Mode>) {
    adopt_for(gettid(), mode);
}

/// Gives thread `tid` `mode` (a new thread, before it runs guest code).
pub fn adopt_for(tid: i32, mode: Option<Mode>) {
    if mode.is_none() && !ANY.load(Ordering::Acquire) {
        return;
    }
    let mut t = table();
    set_locked(&mut t, tid, mode);
}

/// The calling thread ends: its mode goes with it.
pub fn forget_thread() {
    adopt(None);
}

fn set_locked(t: &mut Vec<Entry>, tid: i32, mode: Option<Mode>) {
    t.retain(|e| e.tid != tid);
    if let Some(mode) = mode {
        t.push(Entry { tid, tgid: getpid(), mode });
        ANY.store(true, Ordering::Release);
    }
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// The table held across a host `fork` (`task::ForkLocks`), and the
/// forking thread.
pub struct ForkGuard {
    table: MutexGuard<'static, Vec<Entry>>,
    tid: i32,
}

pub fn lock_for_fork() -> ForkGuard {
    ForkGuard { table: table(), tid: gettid() }
}

impl ForkGuard {
    /// In the forked child: only the forking thread is left, with its
    /// mode.
    pub fn after_fork_child(&mut self) {
        let mode = self.table.iter().find(|e| e.tid == self.tid).map(|e| e.mode.clone());
        self.table.clear();
        if let Some(mode) = mode {
            self.table.push(Entry { tid: gettid(), tgid: getpid(), mode });
        }
        GENERATION.fetch_add(1, Ordering::AcqRel);
    }
}

/// The calling thread's mode for the exec'd tern (`--seccomp`): `strict`,
/// or each filter's instructions in hex (8 bytes each), newest first,
/// separated by dots. None without a mode.
pub fn handover() -> Option<String> {
    use std::fmt::Write;
    match current()? {
        Mode::Strict => Some("strict".into()),
        Mode::Filters(f) => {
            let mut s = String::new();
            for f in f.chain() {
                if !s.is_empty() {
                    s.push('.');
                }
                for i in f.insns.iter() {
                    let _ = write!(s, "{:04x}{:02x}{:02x}{:08x}", i.code, i.jt, i.jf, i.k);
                }
            }
            Some(s)
        }
    }
}

/// In an exec'd tern: the mode `handover` gave, for the main thread.
pub fn init(handed: Option<&str>) -> Result<(), String> {
    let Some(s) = handed else { return Ok(()) };
    let mode = if s == "strict" {
        Mode::Strict
    } else {
        let mut chain: Option<Arc<Filter>> = None;
        for part in s.split('.').rev() {
            let bytes = part.as_bytes();
            if bytes.is_empty() || bytes.len() % 16 != 0 {
                return Err(format!("bad seccomp handover: {part:.32}"));
            }
            let hex = |r: std::ops::Range<usize>| {
                std::str::from_utf8(&bytes[r]).ok().and_then(|h| u32::from_str_radix(h, 16).ok())
            };
            let insns = (0..bytes.len() / 16)
                .map(|i| {
                    let o = i * 16;
                    Some(Insn {
                        code: hex(o..o + 4)? as u16,
                        jt: hex(o + 4..o + 6)? as u8,
                        jf: hex(o + 6..o + 8)? as u8,
                        k: hex(o + 8..o + 16)?,
                    })
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("bad seccomp handover: {part:.32}"))?;
            chain = Some(Arc::new(Filter { insns: insns.into(), prev: chain }));
        }
        Mode::Filters(chain.ok_or("empty seccomp handover")?)
    };
    adopt(Some(mode));
    Ok(())
}

/// What the guest's filters decide for the call about to run. None: run
/// it. Some: it does not run, and the flow says what follows (the
/// registers, and for SIGSYS the whole signal frame, already set:
/// `Flow::Sigreturn` has the CPU loop leave them), with the result the
/// call gives if it gives one (for `--strace`).
pub fn check(p: &Process, cpu: &mut CpuState, nr: u64, args: [u64; 6]) -> Option<(Flow, Option<i64>)> {
    if !ANY.load(Ordering::Acquire) {
        return None;
    }
    let mode = mode_of(gettid())?;
    let ret = match mode {
        Mode::Strict if STRICT_ALLOWED.contains(&nr) => return None,
        // `__secure_computing_strict()`: do_exit(SIGKILL).
        Mode::Strict => return Some((kill(p, libc::SIGKILL, false), None)),
        Mode::Filters(f) => run_chain(&f, &data(cpu, nr, args)),
    };
    let data = ret & RET_DATA;
    let action = ret & RET_ACTION_FULL;
    if matches!(action, RET_ALLOW | RET_LOG) {
        return None;
    }
    if !matches!(action, RET_ERRNO | RET_TRACE | RET_USER_NOTIF | RET_TRAP) {
        // KILL_THREAD, KILL_PROCESS and unknown actions.
        return Some((kill(p, libc::SIGSYS, action == RET_KILL_THREAD), None));
    }
    // The call is skipped: rcx and r11 as `syscall` left them, rax the
    // result (for a trap still the number, unless the handler changes it).
    cpu.regs[RCX] = cpu.rip;
    cpu.regs[R11] = cpu.guest_rflags();
    let result = match action {
        RET_ERRNO => -i64::from(data.min(MAX_ERRNO)),
        RET_TRAP => {
            let info = sigsys_info(SYS_SECCOMP, cpu.rip, nr, data as i32);
            tern_signals::frame::force_signal(&p.signals, cpu, libc::SIGSYS, &info);
            return Some((Flow::Sigreturn, None));
        }
        _ => -i64::from(libc::ENOSYS),
    };
    cpu.regs[RAX] = result as u64;
    Some((Flow::Sigreturn, Some(result)))
}

/// `seccomp_data` of the call: nr, arch, the instruction pointer after the
/// `syscall` and the six arguments, as 32-bit words.
fn data(cpu: &CpuState, nr: u64, args: [u64; 6]) -> [u32; 16] {
    let mut d = [0u32; 16];
    d[0] = nr as u32;
    d[1] = AUDIT_ARCH_X86_64;
    d[2] = cpu.rip as u32;
    d[3] = (cpu.rip >> 32) as u32;
    for (i, a) in args.iter().enumerate() {
        d[4 + 2 * i] = *a as u32;
        d[5 + 2 * i] = (a >> 32) as u32;
    }
    d
}

/// The siginfo of a SIGSYS for a call refused (`seccomp_send_sigsys()`,
/// `syscall_user_dispatch.c: trigger_sigsys()`): `si_code` `code`,
/// `si_errno` `errno` (a filter's data), `si_call_addr`, `si_syscall` and
/// `si_arch` where the kernel's siginfo has them.
pub(crate) fn sigsys_info(code: i32, call_addr: u64, nr: u64, errno: i32) -> [u8; 128] {
    let mut b = [0u8; 128];
    b[0..4].copy_from_slice(&libc::SIGSYS.to_le_bytes());
    b[4..8].copy_from_slice(&errno.to_le_bytes());
    b[8..12].copy_from_slice(&code.to_le_bytes());
    b[16..24].copy_from_slice(&call_addr.to_le_bytes());
    b[24..28].copy_from_slice(&(nr as i32).to_le_bytes());
    b[28..32].copy_from_slice(&AUDIT_ARCH_X86_64.to_le_bytes());
    b
}

/// The call kills the thread, or the process when it is the last thread
/// or `thread_only` is false (`__seccomp_filter()`: the signal's default
/// action, a core dump for SIGSYS).
pub(crate) fn kill(p: &Process, sig: i32, thread_only: bool) -> Flow {
    if thread_only && !crate::thread::live::alone() {
        return Flow::ExitThread(0);
    }
    crate::task::leave_shared_code(p);
    crate::vfork_copy::at_exit(p);
    tern_signals::die_by_signal(sig)
}

/// `seccomp_run_filters()`: the lowest action (as a signed number) of all
/// filters, the newest filter's among equals.
fn run_chain(f: &Arc<Filter>, data: &[u32; 16]) -> u32 {
    let mut ret = RET_ALLOW;
    for f in f.chain() {
        let cur = run(&f.insns, data);
        if ((cur & RET_ACTION_FULL) as i32) < ((ret & RET_ACTION_FULL) as i32) {
            ret = cur;
        }
    }
    ret
}

/// Runs one checked filter (`check_filter` accepted it: every load is in
/// range, every jump lands inside, the last instruction returns).
fn run(insns: &[Insn], data: &[u32; 16]) -> u32 {
    let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; MEM_WORDS as usize]);
    let mut pc = 0;
    loop {
        let Insn { code, jt, jf, k } = insns[pc];
        pc += 1;
        let src = if code & 0x08 != 0 { x } else { k };
        match code & 0x07 {
            0 => {
                a = match code & 0xe0 {
                    0x20 => data[(k / 4) as usize],
                    0x60 => mem[k as usize],
                    0x80 => DATA_LEN,
                    _ => k,
                }
            }
            1 => {
                x = match code & 0xe0 {
                    0x60 => mem[k as usize],
                    0x80 => DATA_LEN,
                    _ => k,
                }
            }
            2 => mem[k as usize] = a,
            3 => mem[k as usize] = x,
            4 => {
                a = match code & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    // A division by X = 0 ends the filter with 0
                    // (`bpf_convert_filter()`).
                    0x30 if src == 0 => return 0,
                    0x30 => a / src,
                    0x40 => a | src,
                    0x50 => a & src,
                    // The shift count modulo 32, as the host's shifts.
                    0x60 => a.wrapping_shl(src),
                    0x70 => a.wrapping_shr(src),
                    0x80 => a.wrapping_neg(),
                    _ => a ^ src,
                }
            }
            5 => {
                let taken = match code & 0xf0 {
                    0x00 => {
                        pc += k as usize;
                        continue;
                    }
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    _ => a & src != 0,
                };
                pc += usize::from(if taken { jt } else { jf });
            }
            6 => return if code & 0x18 == 0x10 { a } else { k },
            _ => {
                if code & 0xf8 == 0x80 {
                    a = x;
                } else {
                    x = a;
                }
            }
        }
    }
}

/// `bpf_check_classic()` and `seccomp_check_filter()`: the instructions a
/// seccomp filter may use, loads within `seccomp_data` on 32-bit words,
/// jumps within the filter, no constant division by zero or shift by 32
/// or more, scratch words stored before they are read on every path, a
/// return at the end.
fn check_filter(insns: &[Insn]) -> bool {
    let n = insns.len();
    if n == 0 || n > MAX_INSNS || insns[n - 1].code & 0x07 != 6 {
        return false;
    }
    let mut masks = vec![u16::MAX; n];
    let mut valid: u16 = 0;
    for (pc, i) in insns.iter().enumerate() {
        valid &= masks[pc];
        let (class, k) = (i.code & 0x07, i.k);
        let ok = match i.code {
            // BPF_LD|BPF_W|BPF_ABS, BPF_LD|BPF_W|BPF_LEN, BPF_LDX|BPF_W|BPF_LEN.
            0x20 => k < DATA_LEN && k % 4 == 0,
            0x80 | 0x81 => true,
            // BPF_LD|BPF_IMM, BPF_LDX|BPF_IMM, BPF_MISC TAX/TXA.
            0x00 | 0x01 | 0x07 | 0x87 => true,
            // BPF_LD|BPF_MEM, BPF_LDX|BPF_MEM.
            0x60 | 0x61 => k < MEM_WORDS && valid & (1 << k) != 0,
            // BPF_ST, BPF_STX.
            0x02 | 0x03 => {
                if k < MEM_WORDS {
                    valid |= 1 << k;
                }
                k < MEM_WORDS
            }
            // BPF_RET|BPF_K, BPF_RET|BPF_A.
            0x06 | 0x16 => true,
            // BPF_ALU: add sub mul div or and lsh rsh xor (K or X), neg.
            c if class == 4 => {
                let (op, x) = (c & 0xf0, c & 0x08 != 0);
                let known =
                    matches!(op, 0x00 | 0x10 | 0x20 | 0x30 | 0x40 | 0x50 | 0x60 | 0x70 | 0xa0) || c == 0x84;
                known
                    && c & 0xff00 == 0
                    && (x
                        || match op {
                            0x30 => k != 0,
                            0x60 | 0x70 => k < 32,
                            _ => true,
                        })
            }
            // BPF_JMP|BPF_JA.
            0x05 => {
                let ok = (k as usize) < n - pc - 1;
                if ok {
                    masks[pc + 1 + k as usize] &= valid;
                    valid = u16::MAX;
                }
                ok
            }
            // BPF_JMP JEQ JGT JGE JSET, K or X.
            c if class == 5 && matches!(c & 0xf0, 0x10 | 0x20 | 0x30 | 0x40) && c & !0xf8 == 5 => {
                let (t, f) = (pc + 1 + usize::from(i.jt), pc + 1 + usize::from(i.jf));
                let ok = t < n && f < n;
                if ok {
                    masks[t] &= valid;
                    masks[f] &= valid;
                    valid = u16::MAX;
                }
                ok
            }
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// The length of the calling thread's chain, as the kernel counts it
/// against `MAX_INSNS_PER_PATH`.
fn path_len(f: Option<&Arc<Filter>>) -> usize {
    f.into_iter().flat_map(Filter::chain).map(|f| f.insns.len() + 4).sum()
}

/// Reads a `struct sock_fprog` and its instructions, with the kernel's
/// checks in its order (`seccomp_prepare_user_filter()`,
/// `seccomp_prepare_filter()`): the header (EFAULT), its length
/// (EINVAL), the caller's right to filter (EACCES), then the
/// instructions (EFAULT).
fn read_prog(addr: u64) -> Result<Vec<Insn>, i32> {
    let mut h = [0u8; 16];
    if read_guest(addr, &mut h) != 16 {
        return Err(libc::EFAULT);
    }
    let len = usize::from(u16::from_le_bytes([h[0], h[1]]));
    let at = u64::from_le_bytes(h[8..16].try_into().unwrap_or_default());
    if len == 0 || len > MAX_INSNS {
        return Err(libc::EINVAL);
    }
    if !may_filter() {
        return Err(libc::EACCES);
    }
    let mut raw = vec![0u8; len * 8];
    if read_guest(at, &mut raw) != raw.len() {
        return Err(libc::EFAULT);
    }
    Ok(raw
        .chunks_exact(8)
        .map(|c| Insn {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

/// Whether the caller may install a filter: `no_new_privs` set, or
/// CAP_SYS_ADMIN (`seccomp_prepare_filter()`).
fn may_filter() -> bool {
    // SAFETY: PR_GET_NO_NEW_PRIVS only reads the thread's flag.
    if unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) } == 1 {
        return true;
    }
    const CAP_SYS_ADMIN: u32 = 21;
    std::fs::read_to_string("/proc/thread-self/status").ok().is_some_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
    })
}

/// `seccomp_set_mode_strict()`.
fn set_strict(tid: i32) -> SysResult {
    let mut t = table();
    match t.iter().find(|e| e.tid == tid).map(|e| &e.mode) {
        Some(Mode::Filters(_)) => Err(libc::EINVAL),
        _ => {
            set_locked(&mut t, tid, Some(Mode::Strict));
            Ok(0)
        }
    }
}

/// `seccomp_set_mode_filter()`.
fn set_filter(tid: i32, flags: u64, prog: u64) -> SysResult {
    // Unknown flags, and the listener's (NEW_LISTENER, 8, and
    // WAIT_KILLABLE_RECV, 32, which needs it), which is not offered
    // (module docs): EINVAL, as from a kernel without them.
    let offered = FLAG_TSYNC | FLAG_LOG | FLAG_SPEC_ALLOW | FLAG_TSYNC_ESRCH;
    if flags & !offered != 0 {
        return Err(libc::EINVAL);
    }
    let insns = read_prog(prog)?;
    if !check_filter(&insns) {
        return Err(libc::EINVAL);
    }
    let mut t = table();
    let prev = match t.iter().find(|e| e.tid == tid).map(|e| e.mode.clone()) {
        Some(Mode::Strict) => return Err(libc::EINVAL),
        Some(Mode::Filters(f)) => Some(f),
        None => None,
    };
    if path_len(prev.as_ref()) + insns.len() + 4 > MAX_INSNS_PER_PATH {
        return Err(libc::ENOMEM);
    }
    let new = Arc::new(Filter { insns: insns.into(), prev: prev.clone() });
    if flags & FLAG_TSYNC != 0 {
        // `seccomp_can_sync_threads()`: every other thread of the group
        // has no filter or one of the caller's filters (its chain is an
        // ancestor of the caller's), else its tid is the result.
        let tgid = getpid();
        let ancestor = |f: &Arc<Filter>| prev.iter().flat_map(Filter::chain).any(|p| Arc::ptr_eq(p, f));
        let blocker = t.iter().find(|e| {
            e.tgid == tgid
                && e.tid != tid
                && match &e.mode {
                    Mode::Strict => true,
                    Mode::Filters(f) => !ancestor(f),
                }
        });
        if let Some(b) = blocker {
            return if flags & FLAG_TSYNC_ESRCH != 0 { Err(libc::ESRCH) } else { Ok(b.tid as u64) };
        }
        for other in group_tids() {
            set_locked(&mut t, other, Some(Mode::Filters(new.clone())));
        }
    }
    set_locked(&mut t, tid, Some(Mode::Filters(new)));
    Ok(0)
}

/// The guest threads of this process (tern's own hidden ones left out).
fn group_tids() -> Vec<i32> {
    let hidden: Vec<i32> = crate::host_thread::hidden().collect();
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
                .filter(|t| !hidden.contains(t))
                .collect()
        })
        .unwrap_or_default()
}

fn known_action(action: u32) -> bool {
    matches!(
        action,
        RET_KILL_PROCESS | RET_KILL_THREAD | RET_TRAP | RET_ERRNO | RET_TRACE | RET_LOG | RET_ALLOW
    )
}

/// `seccomp(op, flags, args)`.
pub fn seccomp(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let (op, flags, args) = (a[0] & 0xffff_ffff, a[1] & 0xffff_ffff, a[2]);
    let tid = gettid();
    match op {
        SET_MODE_STRICT if flags == 0 && args == 0 => set_strict(tid),
        SET_MODE_FILTER => set_filter(tid, flags, args),
        GET_ACTION_AVAIL if flags == 0 => {
            let mut b = [0u8; 4];
            if read_guest(args, &mut b) != 4 {
                return Err(libc::EFAULT);
            }
            if known_action(u32::from_le_bytes(b)) {
                Ok(0)
            } else {
                Err(libc::EOPNOTSUPP)
            }
        }
        // SECCOMP_GET_NOTIF_SIZES belongs to the listener (module docs).
        _ => Err(libc::EINVAL),
    }
}

/// `prctl(PR_SET_SECCOMP, mode, filter)` (`prctl_set_seccomp()`).
pub fn prctl_set(mode: u64, filter: u64) -> SysResult {
    let tid = gettid();
    match mode {
        1 => set_strict(tid),
        2 => set_filter(tid, 0, filter),
        _ => Err(libc::EINVAL),
    }
}

/// `prctl(PR_GET_SECCOMP)`: 0, or 2 in filter mode (in strict mode the
/// call itself is killed).
pub fn prctl_get() -> SysResult {
    Ok(match mode_of(gettid()) {
        None => 0,
        Some(Mode::Strict) => 1,
        Some(Mode::Filters(_)) => 2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(code: u16, k: u32) -> Insn {
        Insn { code, jt: 0, jf: 0, k }
    }

    fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// Allows everything but getpid (39), which gets EPERM.
    fn deny_getpid() -> Vec<Insn> {
        vec![stmt(0x20, 0), jump(0x15, 39, 0, 1), stmt(0x06, RET_ERRNO | 1), stmt(0x06, RET_ALLOW)]
    }

    fn data_for(nr: u32) -> [u32; 16] {
        let mut d = [0u32; 16];
        d[0] = nr;
        d[1] = AUDIT_ARCH_X86_64;
        d
    }

    #[test]
    fn a_filter_runs_as_the_kernel_runs_it() {
        let f = deny_getpid();
        assert!(check_filter(&f));
        assert_eq!(run(&f, &data_for(39)), RET_ERRNO | 1);
        assert_eq!(run(&f, &data_for(40)), RET_ALLOW);
        // Scratch memory, X, ALU and JSET.
        let g = vec![
            stmt(0x20, 4),          // A = arch
            stmt(0x02, 3),          // mem[3] = A
            stmt(0x01, 0xff),       // X = 0xff
            stmt(0x5c, 0),          // A &= X
            stmt(0x61, 3),          // X = mem[3]
            jump(0x45, 0x3e, 0, 1), // A & 0x3e ?
            stmt(0x87, 0),          // A = X
            stmt(0x16, 0),          // return A
        ];
        assert!(check_filter(&g));
        assert_eq!(run(&g, &data_for(0)), AUDIT_ARCH_X86_64);
    }

    #[test]
    fn the_most_restrictive_action_of_the_chain_wins() {
        let allow = Arc::new(Filter { insns: vec![stmt(0x06, RET_ALLOW)].into(), prev: None });
        let errno = Arc::new(Filter { insns: deny_getpid().into(), prev: Some(allow) });
        let trap =
            Arc::new(Filter { insns: vec![stmt(0x06, RET_TRAP | 7)].into(), prev: Some(errno.clone()) });
        assert_eq!(run_chain(&errno, &data_for(39)), RET_ERRNO | 1);
        assert_eq!(run_chain(&trap, &data_for(39)), RET_TRAP | 7);
        let kill = Arc::new(Filter { insns: vec![stmt(0x06, RET_KILL_PROCESS)].into(), prev: Some(trap) });
        assert_eq!(run_chain(&kill, &data_for(1)), RET_KILL_PROCESS);
    }

    #[test]
    fn filters_the_kernel_refuses_are_refused() {
        let bad: &[&[Insn]] = &[
            &[],
            &[stmt(0x20, 0)],                      // no return at the end
            &[stmt(0x20, 2), stmt(0x06, 0)],       // unaligned load
            &[stmt(0x20, 64), stmt(0x06, 0)],      // past seccomp_data
            &[stmt(0x28, 0), stmt(0x06, 0)],       // half-word load
            &[stmt(0x34, 0), stmt(0x06, 0)],       // division by 0
            &[stmt(0x64, 32), stmt(0x06, 0)],      // shift by 32
            &[stmt(0x60, 0), stmt(0x06, 0)],       // scratch read before a store
            &[stmt(0x05, 1), stmt(0x06, 0)],       // jump past the end
            &[jump(0x15, 0, 2, 0), stmt(0x06, 0)], // jump past the end
            &[stmt(0x0e, 0), stmt(0x06, 0)],       // RET|X
            &[stmt(0x94, 3), stmt(0x06, 0)],       // BPF_MOD
        ];
        for (i, f) in bad.iter().enumerate() {
            assert!(!check_filter(f), "filter {i} accepted");
        }
        let too_long = vec![stmt(0x06, 0); MAX_INSNS + 1];
        assert!(!check_filter(&too_long));
    }

    #[test]
    fn the_handover_gives_the_chain_back() {
        let first = Arc::new(Filter { insns: deny_getpid().into(), prev: None });
        let second = Arc::new(Filter { insns: vec![stmt(0x06, RET_TRAP | 5)].into(), prev: Some(first) });
        adopt(Some(Mode::Filters(second.clone())));
        let s = handover().expect("a mode to hand over");
        adopt(None);
        assert!(current().is_none());
        init(Some(&s)).unwrap();
        let Some(Mode::Filters(back)) = current() else { panic!("no filters") };
        assert_eq!(back.insns, second.insns);
        assert_eq!(back.prev.as_ref().unwrap().insns, second.prev.as_ref().unwrap().insns);
        assert!(back.prev.as_ref().unwrap().prev.is_none());
        assert!(init(Some("zz")).is_err());
        adopt(None);
    }
}
