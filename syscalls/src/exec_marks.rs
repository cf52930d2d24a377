//! Which fork children have exec'd in place (`task::ExecInPlace`), for
//! their parent's `setpgid`. The kernel refuses a parent's `setpgid` of a
//! child that has exec'd with EACCES (`kernel/sys.c`: the child no longer
//! has PF_FORKNOEXEC), and only a real `execve` clears that flag: a child
//! that loads its new program itself would still take the call (LTP
//! `setpgid03`; shells call `setpgid` on their children from both sides).
//!
//! A process makes one shared page before its first fork; its children
//! inherit it, and a child that execs in place writes its pid and start
//! time there (start time, because the parent may have reaped it and
//! another child got the pid). The child's own children get a page of its
//! own. Written by up to [`SLOTS`] children at once; older marks are
//! overwritten, which only matters for a parent that calls `setpgid` on a
//! child more than [`SLOTS`] in-place execs of its children later.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

/// Marks a page holds.
const SLOTS: usize = 255;

#[repr(C)]
struct Marks {
    /// Marks written so far (the next slot, modulo [`SLOTS`]).
    next: AtomicU64,
    /// Pid, start time (`/proc/PID/stat` field 22).
    slots: [(AtomicU64, AtomicU64); SLOTS],
}

/// This process's page, shared with its fork children.
static OWN: AtomicPtr<Marks> = AtomicPtr::new(std::ptr::null_mut());
/// In a fork child, its parent's page.
static PARENT: AtomicPtr<Marks> = AtomicPtr::new(std::ptr::null_mut());

fn size() -> usize {
    std::mem::size_of::<Marks>()
}

/// Before a host fork: makes this process's page if it has none.
pub fn before_fork() {
    if !OWN.load(Ordering::Acquire).is_null() {
        return;
    }
    let flags = libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
    if let Ok(p) = tern_translate::hostmem::map_tern(size(), libc::PROT_READ | libc::PROT_WRITE, flags) {
        OWN.store(p as *mut Marks, Ordering::Release);
    }
}

/// In a fork child: the page it inherited is its parent's (its own is
/// made before its first fork); the grandparent's, which it inherited
/// too, is left.
pub fn after_fork_child() {
    let inherited = OWN.swap(std::ptr::null_mut(), Ordering::AcqRel);
    let older = PARENT.swap(inherited, Ordering::AcqRel);
    if !older.is_null() {
        // SAFETY: the grandparent's page, this process's inherited view,
        // which nothing here uses any more.
        unsafe { libc::munmap(older.cast(), size()) };
    }
}

/// The start time of process `pid` (`/proc/PID/stat` field 22), and its
/// parent (field 4).
fn stat(pid: i32) -> Option<(u64, i32)> {
    let text = tern_translate::hostmem::read_proc(&format!("/proc/{pid}/stat")).ok()?;
    let field = |n| crate::ctl::stat_field(&text, n);
    Some((field(22)?, i32::try_from(field(4)?).ok()?))
}

/// At an exec in place: marks this process in its parent's page, then
/// leaves that page.
pub fn mark_exec() {
    let page = PARENT.swap(std::ptr::null_mut(), Ordering::AcqRel);
    if page.is_null() {
        return;
    }
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    if let Some((start, _)) = stat(pid) {
        // SAFETY: a live shared mapping of a `Marks` (zero bytes are valid
        // atomics), made by `before_fork` in the parent.
        let m = unsafe { &*page };
        let i = m.next.fetch_add(1, Ordering::AcqRel) as usize % SLOTS;
        m.slots[i].1.store(start, Ordering::Relaxed);
        m.slots[i].0.store(pid as u64, Ordering::Release);
    }
    // SAFETY: the page is this process's inherited view, used by nothing
    // else here any more.
    unsafe { libc::munmap(page.cast(), size()) };
}

/// True if `pid` is a child of this process that has exec'd in place.
pub fn execd_in_place(pid: i32) -> bool {
    let page = OWN.load(Ordering::Acquire);
    if page.is_null() || pid <= 0 {
        return false;
    }
    // SAFETY: as in `mark_exec`, this process's own page.
    let m = unsafe { &*page };
    let Some(start) = m
        .slots
        .iter()
        .find(|s| s.0.load(Ordering::Acquire) == pid as u64)
        .map(|s| s.1.load(Ordering::Relaxed))
    else {
        return false;
    };
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    stat(pid).is_some_and(|(s, parent)| s == start && parent == me)
}
