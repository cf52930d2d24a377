//! The guest's RLIMIT_AS and RLIMIT_DATA, which tern keeps itself.
//!
//! The kernel counts every mapping of the process against these two
//! limits, and under tern the process holds tern's memory too: the code
//! cache's two views, its tables, tern's heap. Passed to the host, a limit
//! the guest can live with starved tern (a shell's `ulimit -v` made the
//! tern running it abort on its next allocation), and one given before
//! tern started kept it from starting at all.
//!
//! So the guest's values are kept here: taken from the limits tern was
//! started with (or handed over by the tern that ran the guest's `execve`,
//! `--guest-rlimits`), answered by `getrlimit`/`prlimit64` and changed by
//! `setrlimit`/`prlimit64` with the kernel's checks, and enforced where the
//! kernel enforces them (`mm/mmap.c: may_expand_vm`) against tern's map of
//! guest memory: `mmap`, `mremap`, `brk` and `shmat` that would grow the
//! guest past them fail with ENOMEM. The host's soft limits are raised to
//! the hard ones at start, and the code cache is sized to fit under a
//! finite hard limit (`cache_size`). A program tern execs natively
//! (`--no-follow-exec`) gets the guest's soft limits.
//!
//! RLIMIT_DATA counts private writable mappings; tern's map does not say
//! which writable guest mappings are shared, so a guest's shared writable
//! mappings count too (the kernel leaves them out).

use crate::{result, Process, SysResult};
use std::sync::atomic::{AtomicU64, Ordering};
use tern_translate::guestmem;

const INF: u64 = libc::RLIM_INFINITY;

/// One emulated limit.
struct Limit {
    resource: u32,
    name: &'static str,
    /// Its line in `/proc/self/limits`.
    proc_line: &'static str,
    soft: AtomicU64,
    hard: AtomicU64,
}

/// The limits tern emulates: address space and data.
static LIMITS: [Limit; 2] = [
    Limit {
        resource: libc::RLIMIT_AS,
        name: "as",
        proc_line: "Max address space",
        soft: AtomicU64::new(INF),
        hard: AtomicU64::new(INF),
    },
    Limit {
        resource: libc::RLIMIT_DATA,
        name: "data",
        proc_line: "Max data size",
        soft: AtomicU64::new(INF),
        hard: AtomicU64::new(INF),
    },
];

fn limit(resource: u64) -> Option<&'static Limit> {
    LIMITS.iter().find(|l| u64::from(l.resource) == resource)
}

/// The host's limit (the guest's for those tern does not emulate);
/// unlimited if the call fails.
pub(crate) fn host_get(resource: u32) -> libc::rlimit {
    let mut r = libc::rlimit { rlim_cur: INF, rlim_max: INF };
    // SAFETY: getrlimit fills a local struct.
    unsafe { libc::getrlimit(resource, &mut r) };
    r
}

fn host_set(resource: u32, r: libc::rlimit) -> Result<(), i32> {
    // SAFETY: setrlimit reads a local struct.
    if unsafe { libc::setrlimit(resource, &r) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EPERM))
    }
}

/// At start, before tern maps its own memory: the guest's limits are
/// `handed` (a guest exec's `--guest-rlimits`, see [`handover`]) or else
/// the host's; the host's soft limits go up to the hard ones. Returns an
/// error for a malformed `handed`.
pub fn init(handed: Option<&str>) -> Result<(), String> {
    for l in &LIMITS {
        let host = host_get(l.resource);
        l.soft.store(host.rlim_cur, Ordering::Relaxed);
        l.hard.store(host.rlim_max, Ordering::Relaxed);
        if host.rlim_cur != host.rlim_max {
            let _ = host_set(l.resource, libc::rlimit { rlim_cur: host.rlim_max, rlim_max: host.rlim_max });
        }
    }
    let Some(handed) = handed else { return Ok(()) };
    let bad = || format!("bad --guest-rlimits '{handed}'");
    for item in handed.split(',') {
        let (name, values) = item.split_once('=').ok_or_else(bad)?;
        let (soft, hard) = values.split_once(':').ok_or_else(bad)?;
        let l = LIMITS.iter().find(|l| l.name == name).ok_or_else(bad)?;
        let num = |v: &str| if v == "inf" { Ok(INF) } else { v.parse::<u64>().map_err(|_| bad()) };
        l.soft.store(num(soft)?, Ordering::Relaxed);
        l.hard.store(num(hard)?, Ordering::Relaxed);
    }
    Ok(())
}

/// The `--guest-rlimits` value that gives a new tern (a guest `execve`)
/// the guest's limits, or None if they are all unlimited.
pub fn handover() -> Option<String> {
    let num = |v: u64| if v == INF { "inf".to_string() } else { v.to_string() };
    let finite = LIMITS.iter().any(|l| get(l) != (INF, INF));
    finite.then(|| {
        let items: Vec<String> = LIMITS
            .iter()
            .map(|l| {
                let (soft, hard) = get(l);
                format!("{}={}:{}", l.name, num(soft), num(hard))
            })
            .collect();
        items.join(",")
    })
}

/// Before a native exec (`--no-follow-exec`): the host's soft limits
/// become the guest's (the hard ones stay: lowering them could not be
/// undone if the exec fails). Returns what to give back to [`restore`].
pub fn for_native_exec() -> Vec<(u32, libc::rlimit)> {
    let mut saved = Vec::new();
    for l in &LIMITS {
        let host = host_get(l.resource);
        let soft = get(l).0.min(host.rlim_max);
        if soft != host.rlim_cur
            && host_set(l.resource, libc::rlimit { rlim_cur: soft, rlim_max: host.rlim_max }).is_ok()
        {
            saved.push((l.resource, host));
        }
    }
    saved
}

/// After a native exec failed: the host limits [`for_native_exec`] changed.
pub fn restore(saved: Vec<(u32, libc::rlimit)>) {
    for (resource, r) in saved {
        let _ = host_set(resource, r);
    }
}

/// Bytes of code cache that fit under the host's hard limits: the whole
/// cache (1 GiB a view) without limits; under a finite RLIMIT_AS or
/// RLIMIT_DATA, a sixteenth of it, so that the cache's two views and its
/// tables (private, half the cache's size again) and the vfork children's
/// allocation region (`child_alloc`, as large) leave the guest most of the
/// room.
pub fn cache_size() -> usize {
    let size = (tern_translate::cache::MAX_CACHE_SIZE as u64).min(host_hard_limit() / 16);
    usize::try_from(size).unwrap_or(usize::MAX)
}

/// The lowest of the host's hard RLIMIT_AS and RLIMIT_DATA (infinity if
/// neither is set): what all of tern's memory and the guest's must fit
/// under, since tern cannot raise it.
pub fn host_hard_limit() -> u64 {
    LIMITS.iter().map(|l| host_get(l.resource).rlim_max).min().unwrap_or(INF)
}

/// Bytes of the guest's recorded mappings that the kernel would not count
/// against (RLIMIT_AS, RLIMIT_DATA): tern maps the main thread's stack at
/// its full RLIMIT_STACK size where the kernel's grows from about 132 KiB
/// as it is used, and a stack is never data.
static UNCOUNTED: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Names the guest's main stack, `size` bytes (see [`UNCOUNTED`]).
pub fn set_main_stack(size: u64) {
    const NATIVE_START: u64 = 132 << 10;
    UNCOUNTED[0].store(size.saturating_sub(NATIVE_START), Ordering::Relaxed);
    UNCOUNTED[1].store(size, Ordering::Relaxed);
}

/// ENOMEM if the guest's address space growing by `grow` bytes, `data` of
/// them private and writable, would pass RLIMIT_AS or RLIMIT_DATA, as
/// `may_expand_vm` refuses it. `mapped` gives the guest's mapped and
/// writable bytes (tern's map of guest memory); it is only asked when a
/// limit is set.
pub fn check_grow(grow: u64, data: u64, mapped: impl FnOnce() -> (u64, u64)) -> Result<(), i32> {
    let (as_soft, data_soft) = (get(&LIMITS[0]).0, get(&LIMITS[1]).0);
    if as_soft == INF && data_soft == INF || grow == 0 {
        return Ok(());
    }
    let (total, writable) = mapped();
    let total = total.saturating_sub(UNCOUNTED[0].load(Ordering::Relaxed));
    let writable = writable.saturating_sub(UNCOUNTED[1].load(Ordering::Relaxed));
    let over = |used: u64, more: u64, lim: u64| lim != INF && more != 0 && used.saturating_add(more) > lim;
    if over(total, grow, as_soft) || over(writable, data, data_soft) {
        return Err(libc::ENOMEM);
    }
    Ok(())
}

/// `/proc/self/limits` as the guest sees it: the host's `text` with the
/// emulated limits' lines showing the guest's values, in the kernel's
/// layout (`fs/proc/base.c: proc_pid_limits`).
pub fn limits_file(text: &[u8]) -> Vec<u8> {
    let value = |v: u64| if v == INF { "unlimited".to_string() } else { v.to_string() };
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive(|&b| b == b'\n') {
        match LIMITS.iter().find(|l| line.starts_with(l.proc_line.as_bytes())) {
            Some(l) => {
                let (soft, hard) = get(l);
                let row =
                    format!("{:<25} {:<20} {:<20} {:<10}\n", l.proc_line, value(soft), value(hard), "bytes");
                out.extend_from_slice(row.as_bytes());
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}

/// True if the caller has CAP_SYS_RESOURCE (which raising a hard limit
/// needs).
fn may_raise_hard() -> bool {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const CAP_SYS_RESOURCE: u32 = 24;
    let h = Header { version: 0x2008_0522, pid: 0 };
    let mut d = [Data::default(); 2];
    // SAFETY: capget reads the header and fills the two data structs.
    let r = unsafe { libc::syscall(libc::SYS_capget, &h as *const Header, d.as_mut_ptr()) };
    r == 0 && d[0].effective & (1 << CAP_SYS_RESOURCE) != 0
}

/// Reads a guest `struct rlimit`.
fn read_rlimit(addr: u64) -> Result<(u64, u64), i32> {
    let mut b = [0u8; 16];
    if guestmem::read_guest(addr, &mut b) != 16 {
        return Err(libc::EFAULT);
    }
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    Ok((word(0), word(8)))
}

/// Every emulated limit's (soft, hard), in [`LIMITS`] order.
type Values = [(u64, u64); 2];

thread_local! {
    /// The limits of a vfork or CLONE_VM child that changed them: such a
    /// child is another process (with limits of its own) on this one's
    /// memory, running on thread-locals it borrows, so its values are kept
    /// here with its pid and never seen by the process that owns the
    /// statics.
    static CHILD: std::cell::Cell<Option<(i32, Values)>> = const { std::cell::Cell::new(None) };
}

/// The index of `l` in [`LIMITS`].
fn index(l: &Limit) -> usize {
    LIMITS.iter().position(|x| std::ptr::eq(x, l)).unwrap_or(0)
}

/// A limit's (soft, hard) values, for the calling process.
fn get(l: &Limit) -> (u64, u64) {
    match CHILD.with(std::cell::Cell::get) {
        // SAFETY: getpid has no preconditions (asked only after a child
        // set limits on this thread).
        Some((owner, values)) if owner == unsafe { libc::getpid() } => values[index(l)],
        _ => (l.soft.load(Ordering::Relaxed), l.hard.load(Ordering::Relaxed)),
    }
}

/// Sets a limit's values for the calling process (see [`CHILD`]).
fn put(l: &Limit, values: (u64, u64)) {
    if crate::thread::in_process_child() {
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        let mut all: Values = [get(&LIMITS[0]), get(&LIMITS[1])];
        all[index(l)] = values;
        CHILD.with(|c| c.set(Some((pid, all))));
    } else {
        l.soft.store(values.0, Ordering::Relaxed);
        l.hard.store(values.1, Ordering::Relaxed);
    }
}

/// Writes a guest `struct rlimit`.
fn write_rlimit(addr: u64, (soft, hard): (u64, u64)) -> Result<(), i32> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&soft.to_le_bytes());
    b[8..].copy_from_slice(&hard.to_le_bytes());
    if guestmem::write_guest(addr, &b) {
        Ok(())
    } else {
        Err(libc::EFAULT)
    }
}

/// Sets an emulated limit (`kernel/sys.c: do_prlimit`): a soft limit above
/// the hard one is EINVAL; raising the hard limit needs CAP_SYS_RESOURCE,
/// and above the host's hard limit the host's is raised too.
fn set(l: &Limit, soft: u64, hard: u64) -> Result<(), i32> {
    if soft > hard {
        return Err(libc::EINVAL);
    }
    if hard > get(l).1 {
        if !may_raise_hard() {
            return Err(libc::EPERM);
        }
        let host = host_get(l.resource);
        if hard > host.rlim_max {
            host_set(l.resource, libc::rlimit { rlim_cur: hard, rlim_max: hard })?;
        }
    }
    put(l, (soft, hard));
    Ok(())
}

/// `getrlimit(resource, rlim)`.
pub fn getrlimit(_p: &Process, _cpu: &mut tern_translate::cpu::CpuState, a: [u64; 6]) -> SysResult {
    match limit(a[0]) {
        Some(l) => write_rlimit(a[1], get(l)).map(|()| 0),
        None => result(crate::host_syscall(libc::SYS_getrlimit as u64, a)),
    }
}

/// `setrlimit(resource, rlim)`.
pub fn setrlimit(_p: &Process, _cpu: &mut tern_translate::cpu::CpuState, a: [u64; 6]) -> SysResult {
    match limit(a[0]) {
        Some(l) => {
            let (soft, hard) = read_rlimit(a[1])?;
            set(l, soft, hard).map(|()| 0)
        }
        None => result(crate::host_syscall(libc::SYS_setrlimit as u64, a)),
    }
}

/// True if `pid` names this process for `prlimit64`: 0, its pid, or the
/// tid of one of its threads.
fn is_self(pid: u64) -> bool {
    // SAFETY: getpid has no preconditions; tgkill with signal 0 only checks
    // that the thread is in this process.
    pid == 0 || unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), pid as i32, 0) } == 0
}

/// `prlimit64(pid, resource, new, old)`: this process's emulated limits
/// are tern's to answer; any other goes to the host.
pub fn prlimit64(_p: &Process, _cpu: &mut tern_translate::cpu::CpuState, a: [u64; 6]) -> SysResult {
    let Some(l) = limit(a[1]).filter(|_| is_self(a[0])) else {
        return result(crate::host_syscall(libc::SYS_prlimit64 as u64, a));
    };
    let new = if a[2] != 0 { Some(read_rlimit(a[2])?) } else { None };
    let old = get(l);
    if let Some((soft, hard)) = new {
        set(l, soft, hard)?;
    }
    if a[3] != 0 {
        write_rlimit(a[3], old)?;
    }
    Ok(0)
}
