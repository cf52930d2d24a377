//! What a call will do with guest memory, checked before it runs.
//!
//! From the argument kinds of a call's row, `before` finds every guest range
//! the kernel will read or write, and
//! - refuses the call with EFAULT when one lies in tern's own memory (its
//!   binary, heap, code cache, stacks, CpuStates): natively nothing is
//!   mapped there, and the kernel would fault on it. The check is a binary
//!   search over tern's ranges, sorted and merged once;
//! - gives the code pages tern write-protected (to catch self-modifying
//!   code) among the ranges the kernel will write their protection back,
//!   dropping their translated code, so that the kernel's write lands. A
//!   call is never run twice: a call that fails with EFAULT may have taken
//!   effect (`wait4` has reaped the child).
//!
//! Calls whose written memory the table cannot describe (rows of raw `Hex`
//! arguments, `OutAny`, unknown `ioctl`/`prctl` requests) unprotect every
//! code page first. tern protects only pages the guest made both writable
//! and executable (a JIT's), and such calls are rare, so this costs little.
//! For those calls every argument that points into tern's memory counts as
//! a pointer (no integer argument has such a value by accident), but for
//! those known to be passed by value (`passed_by_value`: `semctl`'s union). Pointers
//! inside structures the table does not describe (a `keyctl` payload, say)
//! are not checked; README's Compatibility section says so.

use crate::strace::{Arg, Io, Pr, IOCTLS, PRCTLS};
use crate::table::{Row, Support};
use crate::Process;
use std::sync::{Arc, RwLock};
use tern_translate::cpu::CpuState;
use tern_translate::guestmem::read_guest;

/// The most bytes one read or write transfers (`MAX_RW_COUNT`).
const MAX_RW: u64 = 0x7fff_f000;
/// The most iovecs a call takes (`UIO_MAXIOV`).
const MAX_IOV: u64 = 1024;

/// Keeps tern's own allocations on its brk heap, which `proc::tern_ranges`
/// covers up to the current break: glibc's malloc would otherwise map large
/// blocks anywhere, unregistered. Call once at startup, before tern
/// allocates much. The heap also grows by [`HEAP_SLACK`] more than it
/// needs each time (and keeps that much when it shrinks): a guest that
/// maps until `vm.max_map_count` is reached (LTP munmap04) leaves the
/// kernel refusing even an in-place `brk` (it counts the mappings first),
/// and tern died of its next allocation ("memory allocation failed").
/// Under a finite hard RLIMIT_AS or RLIMIT_DATA (`crate::rlimit`), which
/// the slack counts against, it is a 64th of the limit at most.
pub fn init() {
    let slack = u64::try_from(HEAP_SLACK).unwrap_or(0).min(crate::rlimit::host_hard_limit() / 64);
    // SAFETY: mallopt only sets malloc tuning parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TOP_PAD, i32::try_from(slack).unwrap_or(HEAP_SLACK));
    }
}

/// Free room kept at the top of tern's heap (virtual until used).
const HEAP_SLACK: i32 = 8 << 20;

/// tern's ranges, sorted and merged, and what they were built from.
pub struct TernMap {
    key: (u64, u64),
    ranges: Arc<[(u64, u64)]>,
}

static TERN: RwLock<Option<TernMap>> = RwLock::new(None);

/// tern's own memory: sorted, disjoint `[start, end)` ranges. Rebuilt when
/// tern's heap has moved its break or tern mapped memory for itself.
pub fn tern_memory() -> Arc<[(u64, u64)]> {
    // SAFETY: sbrk(0) only reads the current program break.
    let brk = unsafe { libc::sbrk(0) } as u64;
    let key = (brk, tern_translate::pages::tern_memory_generation());
    if let Some(m) = TERN.read().unwrap_or_else(|e| e.into_inner()).as_ref().filter(|m| m.key == key) {
        return m.ranges.clone();
    }
    let mut v = crate::proc::tern_ranges();
    v.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let ranges: Arc<[(u64, u64)]> = merged.into();
    *TERN.write().unwrap_or_else(|e| e.into_inner()) = Some(TernMap { key, ranges: ranges.clone() });
    ranges
}

/// Holds the cache of tern's ranges locked (across a host `fork`).
pub fn lock_for_fork() -> std::sync::RwLockWriteGuard<'static, Option<TernMap>> {
    TERN.write().unwrap_or_else(|e| e.into_inner())
}

/// True if `[addr, addr+len)` overlaps one of the sorted `ranges`.
pub fn overlaps(ranges: &[(u64, u64)], addr: u64, len: u64) -> bool {
    first_overlap(ranges, addr, len).is_some()
}

/// The start of the first of the sorted `ranges` that overlaps
/// `[addr, addr+len)`, if one does.
pub fn first_overlap(ranges: &[(u64, u64)], addr: u64, len: u64) -> Option<u64> {
    let end = addr.saturating_add(len.max(1));
    let i = ranges.partition_point(|r| r.1 <= addr);
    ranges.get(i).filter(|r| r.0 < end).map(|r| r.0.max(addr))
}

/// One call's check in progress.
struct Check<'a> {
    p: &'a Process,
    /// tern's memory, looked up at the first pointer argument (most calls
    /// have none: `kill`, `getpid`, `futex` wakes...).
    tern: std::cell::OnceCell<Arc<[(u64, u64)]>>,
    /// Whether any code page is write-protected now (asked at the first
    /// write or opaque argument: the answer takes the jit's lock).
    protected: std::cell::OnceCell<bool>,
    /// The errno to refuse the call with.
    err: Option<i32>,
    /// The call writes memory the table does not describe.
    opaque: bool,
    /// Translated code was dropped.
    dropped: bool,
}

impl<'a> Check<'a> {
    fn new(p: &'a Process) -> Self {
        Check {
            p,
            tern: std::cell::OnceCell::new(),
            protected: std::cell::OnceCell::new(),
            err: None,
            opaque: false,
            dropped: false,
        }
    }
    /// The end of a check outside `before`: lookup tables emptied if code
    /// was dropped, and the errno to refuse the call with, if any.
    fn finish(self, cpu: &mut CpuState) -> Result<(), i32> {
        if self.dropped {
            cpu.flush_ibl();
        }
        self.err.map_or(Ok(()), Err)
    }

    fn protected(&self) -> bool {
        *self.protected.get_or_init(|| self.p.jit.has_protected_code_pages())
    }

    fn tern(&self) -> &[(u64, u64)] {
        self.tern.get_or_init(tern_memory)
    }

    fn mem(&mut self, addr: u64, len: u64, write: bool) {
        if addr == 0 || len == 0 {
            return;
        }
        let len = len.min(MAX_RW);
        if overlaps(self.tern(), addr, len) {
            self.err = Some(libc::EFAULT);
        }
        if write && self.protected() {
            self.dropped |= self.p.jit.release_code_pages(addr, addr.saturating_add(len));
        }
    }

    fn read(&mut self, addr: u64, len: u64) {
        self.mem(addr, len, false);
    }

    fn write(&mut self, addr: u64, len: u64) {
        self.mem(addr, len, true);
    }

    /// An argument that may or may not be a pointer, used in an unknown way.
    fn unknown(&mut self, v: u64) {
        if overlaps(self.tern(), v, 1) {
            self.err = Some(libc::EFAULT);
        }
        self.opaque = true;
    }

    fn u64_at(addr: u64) -> Option<u64> {
        let mut b = [0u8; 8];
        (addr != 0 && read_guest(addr, &mut b) == 8).then(|| u64::from_le_bytes(b))
    }

    /// An iovec array of `count` entries and the buffers it names. What
    /// the kernel refuses before it touches a buffer is left to it, with
    /// its own errno (`lib/iov_iter.c: iovec_from_user()`,
    /// `__import_iovec()`): more than UIO_MAXIOV entries (EINVAL, EMSGSIZE
    /// for a msghdr) and a length that is negative as an `ssize_t`
    /// (EINVAL). Only the first MAX_RW_COUNT bytes in all can be moved.
    fn iov(&mut self, addr: u64, count: u64, write: bool) {
        if count > MAX_IOV {
            return;
        }
        self.read(addr, count * 16);
        if addr == 0 || count == 0 || self.err.is_some() {
            return;
        }
        let mut b = vec![0u8; count as usize * 16];
        let got = read_guest(addr, &mut b) / 16;
        let entry = |e: &[u8]| {
            let w = |i: usize| u64::from_le_bytes(e[i..i + 8].try_into().unwrap_or_default());
            (w(0), w(8))
        };
        if b.chunks_exact(16).take(got).any(|e| (entry(e).1 as i64) < 0) {
            return;
        }
        let mut left = MAX_RW;
        for e in b.chunks_exact(16).take(got) {
            let (base, len) = entry(e);
            let len = len.min(left);
            self.mem(base, len, write);
            left -= len;
        }
    }

    /// A `struct msghdr`: name, iovecs and control data.
    fn msghdr(&mut self, addr: u64, write: bool) {
        self.mem(addr, 56, write);
        let mut h = [0u8; 56];
        if addr == 0 || self.err.is_some() || read_guest(addr, &mut h) != 56 {
            return;
        }
        let w = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().unwrap_or_default());
        self.mem(w(0), w(8) & 0xffff_ffff, write);
        self.iov(w(16), w(24), write);
        self.mem(w(32), w(40), write);
    }

    fn arg(&mut self, row: &Row, k: Arg, i: usize, a: &[u64; 6]) {
        use Arg::*;
        let v = a[i];
        let next = || a.get(i + 1).copied().unwrap_or(0);
        // select, pselect6 and ppoll write the time left back.
        let time_left = matches!(row.nr, 23 | 270 | 271);
        match k {
            Ptr | Path | Str | Argv | Envp | Clone3Args => self.read(v, 1),
            BufIn | SockAddrIn => self.read(v, next()),
            BufOut | BufOutHex | PathOut | DirentsOut => self.write(v, next()),
            IovIn => self.iov(v, next(), false),
            IovOut => self.iov(v, next(), true),
            IntOut | SockLen | WaitStatus => self.write(v, 4),
            SigSetIn => self.read(v, 8),
            SigSetOut | PipeOut => self.write(v, 8),
            SigactionIn => self.read(v, 32),
            SigactionOut => self.write(v, 32),
            StackIn => self.read(v, 24),
            StackOut => self.write(v, 24),
            TimespecIn | TimevalIn if time_left => self.write(v, 16),
            TimespecIn | TimevalIn | RlimitIn => self.read(v, 16),
            TimespecOut | TimespecRem | TimevalOut | RlimitOut => self.write(v, 16),
            StatOut => self.write(v, 144),
            StatxOut => self.write(v, 256),
            UtsnameOut => self.write(v, 390),
            SysinfoOut => self.write(v, 112),
            // `do_sys_poll()`: more descriptors than RLIMIT_NOFILE is
            // EINVAL before the array is read (asked only past 1024).
            PollFds
                if next() & 0xffff_ffff > 1024
                    && next() & 0xffff_ffff > crate::rlimit::host_get(libc::RLIMIT_NOFILE).rlim_cur => {}
            PollFds => self.write(v, (next() & 0xffff_ffff) * 8),
            // `core_sys_select()`: a negative count is EINVAL first.
            FdSet if (a[0] as i32) < 0 => {}
            FdSet => self.write(v, (a[0] & 0xffff_ffff).div_ceil(64) * 8),
            PselectSigmask => {
                self.read(v, 16);
                if self.err.is_none() {
                    self.read(Self::u64_at(v).unwrap_or(0), 8);
                }
            }
            SockAddrOut => {
                let mut b = [0u8; 4];
                let len =
                    if next() != 0 && read_guest(next(), &mut b) == 4 { u32::from_le_bytes(b) } else { 0 };
                self.write(v, u64::from(len));
            }
            CpuSetIn => self.read(v, a[i - 1]),
            CpuSetOut => self.write(v, a[1]),
            EpollEvent => self.read(v, 12),
            CloneOut => {
                const PIDFD_OR_PARENT_SETTID: u64 = 0x1000 | 0x100000;
                const CHILD_SETTID: u64 = 0x1000000;
                if a[0] & PIDFD_OR_PARENT_SETTID != 0 {
                    self.write(a[2], 4);
                }
                if a[0] & CHILD_SETTID != 0 {
                    self.write(a[3], 4);
                }
            }
            FcntlValue => match a[1] & 0xffff_ffff {
                5 | 36 => self.write(v, 32),
                6 | 7 | 37 | 38 => self.read(v, 32),
                16 | 17 | 1035 | 1037 => self.write(v, 8),
                15 | 1036 | 1038 => self.read(v, 8),
                _ => {}
            },
            IoctlData => self.ioctl(a[1], v),
            FutexRest => self.futex(a),
            ArchPrctlAddr => {
                if matches!(a[0], 0x1003 | 0x1004 | 0x1021 | 0x1022 | 0x1024 | 0x4001 | 0x4003 | 0x5005) {
                    self.write(v, 8);
                }
            }
            PrctlRest => match PRCTLS.iter().find(|p| p.0 == a[0] & 0xffff_ffff).map(|p| p.2) {
                Some(Pr::SignalOut | Pr::IntOut) => self.write(v, 4),
                Some(Pr::PtrOut) => self.write(v, 8),
                Some(Pr::NameOut) => self.write(v, 16),
                Some(Pr::NameIn) => self.read(v, 1),
                Some(Pr::SetVma) => self.read(a[4], 1),
                Some(Pr::Hex4) | None => a[1..5].iter().for_each(|&x| self.unknown(x)),
                Some(_) => {}
            },
            Out(n) => self.write(v, u64::from(n)),
            OutArr(size, j) => self.write(v, u64::from(size).saturating_mul(a[usize::from(j)])),
            OutAny => self.unknown(v),
            // Natively nothing is mapped there. A range the kernel refuses
            // before it looks at the mappings (an unaligned start: EINVAL
            // for msync, mincore, mseal; an end past the address space:
            // EINVAL or ENOMEM by call, LTP mseal02) is left to it.
            Range
                if matches!(row.support, Support::Pass)
                    && v.is_multiple_of(4096)
                    && v.checked_add(next()).is_some_and(|e| e <= tern_translate::guestmem::TASK_SIZE)
                    && overlaps(self.tern(), v, next()) =>
            {
                self.err = Some(libc::ENOMEM);
            }
            MsgHdr(w) => self.msghdr(v, w),
            BpfAttr => self.bpf(a[0], v, next()),
            XattrArgs(write) => {
                // struct xattr_args: value, size, flags.
                self.read(v, next());
                let value = Self::u64_at(v).unwrap_or(0);
                let size = Self::u64_at(v.saturating_add(8)).unwrap_or(0) & 0xffff_ffff;
                if next() >= 16 && self.err.is_none() {
                    self.mem(value, size, write);
                }
            }
            MmsgVec(w) => {
                for j in 0..next().min(MAX_IOV) {
                    self.msghdr(v + j * 64, w);
                    // msg_len, written by sendmmsg too.
                    self.write(v + j * 64 + 56, 4);
                }
            }
            _ => {}
        }
    }

    /// `ioctl`'s third argument: the table's terminal requests, else the
    /// direction and size encoded in the request (`_IOC`); requests of the
    /// old encoding say nothing.
    fn ioctl(&mut self, req: u64, v: u64) {
        let req = (req & 0xffff_ffff) as u32;
        self.userfaultfd(req, v);
        if req == crate::procmap::PROCMAP_QUERY {
            // The name and build-ID buffers (struct procmap_query).
            let sizes = Self::u64_at(v.saturating_add(80)).unwrap_or(0);
            self.write(Self::u64_at(v.saturating_add(88)).unwrap_or(0), sizes & 0xffff_ffff);
            self.write(Self::u64_at(v.saturating_add(96)).unwrap_or(0), sizes >> 32);
        }
        match IOCTLS.iter().find(|i| i.0 == req).map(|i| i.2) {
            Some(Io::IntOut) => self.write(v, 4),
            Some(Io::IntIn) => self.read(v, 4),
            Some(Io::TermiosOut) => self.write(v, 36),
            Some(Io::TermiosIn) => self.read(v, 36),
            Some(Io::WinsizeOut) => self.write(v, 8),
            Some(Io::WinsizeIn) => self.read(v, 8),
            Some(_) => {}
            None => {
                let (dir, size) = (req >> 30, u64::from((req >> 16) & 0x3fff));
                if dir == 0 {
                    self.unknown(v);
                }
                if dir & 2 != 0 {
                    self.write(v, size);
                }
                if dir & 1 != 0 {
                    self.read(v, size);
                }
            }
        }
    }

    /// `bpf`'s attributes, which several commands write back (a test
    /// run's results, a query's counts), and the ranges behind their
    /// pointers (`bpf.rs`). A size past a page is left to the kernel
    /// (E2BIG before it reads anything).
    fn bpf(&mut self, cmd: u64, attr: u64, size: u64) {
        if size > 4096 {
            return;
        }
        self.write(attr, size);
        let mut b = [0u8; crate::bpf::ATTR_MAX];
        let b = &mut b[..crate::bpf::attr_len(size)];
        if attr == 0 || self.err.is_some() || read_guest(attr, b) != b.len() {
            return;
        }
        let read = |a: u64, buf: &mut [u8]| read_guest(a, buf) == buf.len();
        match crate::bpf::ranges(cmd, b, &read) {
            Some(ranges) => ranges.into_iter().for_each(|(a, len, write)| self.mem(a, len, write)),
            None => crate::bpf::words(b).for_each(|w| self.unknown(w)),
        }
    }

    /// The ranges inside a userfaultfd request (`linux/userfaultfd.h`),
    /// which the kernel acts on beyond the structure itself. Only a
    /// registered range can be filled, woken or write-protected, so the
    /// registration decides: tern's own memory cannot be registered
    /// (natively nothing is mapped there: EINVAL), and neither can guest
    /// code, since tern reads the code it translates with its translation
    /// lock held: a missing page there would stop tern's translator until
    /// a guest thread, which may need that lock, resolved it (or, with
    /// UFFD_FEATURE_SIGBUS, fault inside tern). A move's source must be the
    /// guest's too (natively `vma_lookup` finds nothing there: ENOENT), or
    /// it would take tern's pages. A copy only reads its source, which the
    /// guest can read anyway.
    fn userfaultfd(&mut self, req: u32, v: u64) {
        const UFFDIO_REGISTER: u32 = 0xc020_aa00;
        const UFFDIO_MOVE: u32 = 0xc028_aa05;
        let (errno, register) = match req {
            UFFDIO_REGISTER => (libc::EINVAL, true),
            UFFDIO_MOVE => (libc::ENOENT, false),
            _ => return,
        };
        // `uffdio_register` starts with the range (start, len), `uffdio_move`
        // with dst, src, len.
        let field = |i: u64| Self::u64_at(v.saturating_add(8 * i));
        let (addr, len) = if register { (field(0), field(1)) } else { (field(1), field(2)) };
        let (Some(addr), Some(len)) = (addr, len) else { return };
        let end = addr.saturating_add(len);
        if len != 0 && (overlaps(self.tern(), addr, len) || register && self.p.jit.maps_exec(addr, end)) {
            self.err = Some(errno);
        }
    }

    /// `futex`: which of `uaddr2` and the timeout the command uses, and
    /// which futex words the kernel writes (PI locks, `FUTEX_WAKE_OP`).
    fn futex(&mut self, a: &[u64; 6]) {
        let (uaddr, timeout, uaddr2) = (a[0], a[3], a[4]);
        match a[1] & 127 {
            0 | 9 => self.read(timeout, 16),
            3 | 4 => self.read(uaddr2, 4),
            5 => self.write(uaddr2, 4),
            6 | 13 => {
                self.write(uaddr, 4);
                self.read(timeout, 16);
            }
            7 | 8 => self.write(uaddr, 4),
            11 => {
                self.read(timeout, 16);
                self.write(uaddr2, 4);
            }
            12 => self.write(uaddr2, 4),
            _ => {}
        }
    }
}

/// Checks the call in `row` with arguments `a` before it runs (see the
/// module docs). `Err` is the errno to refuse it with, without running it.
pub fn before(p: &Process, cpu: &mut CpuState, row: &Row, a: [u64; 6]) -> Result<(), i32> {
    let mut c = Check::new(p);
    if row.is_raw() {
        // Handlers of raw rows check their own arguments.
        if matches!(row.support, Support::Pass) {
            let n = row.args.len();
            (0..n).filter(|&i| !passed_by_value(row.nr, i, &a)).for_each(|i| c.unknown(a[i]));
        }
    } else {
        for (i, &k) in row.args.iter().enumerate() {
            c.arg(row, k, i, &a);
        }
    }
    if let Some(e) = c.err {
        return Err(e);
    }
    if c.opaque && c.protected() {
        c.dropped |= p.jit.unprotect_all_code_pages();
    }
    if c.dropped {
        cpu.flush_ibl();
    }
    Ok(())
}

/// True if argument `i` of raw call `nr` is a value whatever its bits,
/// never a pointer: `semctl`'s `union semun` for a command that takes its
/// `int val` or nothing (SETVAL, GETVAL, GETPID, GETNCNT, GETZCNT,
/// IPC_RMID): glibc passes the whole 8-byte union, whose upper half is
/// whatever its stack held (an address, now and then one of tern's: LTP
/// sendmsg02's SETVAL got EFAULT).
fn passed_by_value(nr: u16, i: usize, a: &[u64; 6]) -> bool {
    const SEMCTL: u16 = 66;
    /// IPC_SET, IPC_STAT, IPC_INFO, GETALL, SETALL, SEM_STAT, SEM_INFO,
    /// SEM_STAT_ANY: a pointer in the union.
    const POINTER_CMDS: [u64; 8] = [1, 2, 3, 13, 17, 18, 19, 20];
    // IPC_64 (0x100) only selects the structure's layout.
    nr == SEMCTL && i == 3 && !POINTER_CMDS.contains(&(a[2] & 0xff))
}

/// Checks buffer `[addr, addr + len)` as `before` checks a buffer
/// argument; `write`: the kernel writes it.
pub fn check_buffer(p: &Process, cpu: &mut CpuState, addr: u64, len: u64, write: bool) -> Result<(), i32> {
    let mut c = Check::new(p);
    c.mem(addr, len, write);
    c.finish(cpu)
}

/// Checks an iovec array of `count` entries and its buffers, as `before`
/// checks an argument; `write`: the kernel writes the buffers.
pub fn check_iov(p: &Process, cpu: &mut CpuState, addr: u64, count: u64, write: bool) -> Result<(), i32> {
    let mut c = Check::new(p);
    c.iov(addr, count, write);
    c.finish(cpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_search() {
        let r = [(0x1000, 0x2000), (0x5000, 0x6000)];
        assert!(!overlaps(&r, 0, 0x1000));
        assert!(overlaps(&r, 0, 0x1001));
        assert!(overlaps(&r, 0x1fff, 1));
        assert!(!overlaps(&r, 0x2000, 0x3000));
        assert!(overlaps(&r, 0x2000, 0x3001));
        assert!(overlaps(&r, 0x5800, 0));
        assert!(!overlaps(&r, 0x6000, u64::MAX));
        assert!(!overlaps(&[], 0x6000, 1));
    }
}
