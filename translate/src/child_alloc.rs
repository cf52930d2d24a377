//! tern's global allocator: glibc's malloc, except in a vfork or CLONE_VM
//! child, which never enters it.
//!
//! Such a child is another process on tern's memory, running on the
//! thread-locals of a thread of the parent (vfork) or of a helper thread
//! (CLONE_VM alone), and it translates, so it allocates. Inside malloc it
//! holds the lock of the arena it shares with the parent; killed there
//! (SIGKILL from the guest), it would leave that lock taken for ever and
//! the parent would hang in its next `malloc` or `free` (glibc's arena
//! locks are not robust). So a child ([`enter_child`]) takes memory from
//! a region reserved for children ([`prepare`]) with one atomic bump, no
//! lock, and frees nothing; whatever it frees is leaked, and what it
//! allocated, freed later by the parent, goes nowhere ([`TernAlloc`]'s
//! `dealloc` recognises the region). The region is virtual
//! (`MAP_NORESERVE`) and never reused: children that translate a lot leak
//! what they translated into it; once it is used up, children fall back to
//! malloc (README, "Compatibility").
//!
//! When malloc fails (tern's own memory counts against a tight
//! `ulimit -v`, whose hard limit tern cannot raise), tern says so and
//! exits with status 1 ([`out_of_memory`]) instead of Rust's abort with a
//! backtrace.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Size of the children's region: 1 GiB, less under a finite RLIMIT_AS
/// ([`set_region_size`]).
static REGION: AtomicUsize = AtomicUsize::new(1 << 30);

/// Sets the size of the children's region, before any child starts.
pub fn set_region_size(bytes: usize) {
    REGION.store(bytes, Ordering::Relaxed);
}

/// The region `[START, END)`, 0 until [`prepare`]d; `NEXT` is its first
/// free byte.
static START: AtomicUsize = AtomicUsize::new(0);
static END: AtomicUsize = AtomicUsize::new(0);
static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set by a vfork or CLONE_VM child on the thread-locals it borrows.
    static IN_CHILD: Cell<bool> = const { Cell::new(false) };
}

/// Reserves the children's region if that is not done yet. Called by the
/// parent before it starts a child (the mapping goes through `hostmem`, so
/// the guest cannot map over it).
pub fn prepare() {
    if START.load(Ordering::Acquire) != 0 {
        return;
    }
    let size = REGION.load(Ordering::Relaxed);
    if let Ok(at) = crate::hostmem::map_anon(size) {
        let at = at as usize;
        if START.compare_exchange(0, at, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            NEXT.store(at, Ordering::Release);
            END.store(at + size, Ordering::Release);
        }
    }
}

/// First thing in a vfork or CLONE_VM child: allocate from the region from
/// now on, on these thread-locals.
pub fn enter_child() {
    IN_CHILD.with(|c| c.set(true));
    crate::robust::forget_tid();
}

/// In the thread whose thread-locals a child borrowed, once the child has
/// execed or exited: back to malloc.
pub fn leave_child() {
    IN_CHILD.with(|c| c.set(false));
    crate::robust::forget_tid();
}

/// True in a vfork or CLONE_VM child (on the thread-locals it borrowed).
pub fn in_child() -> bool {
    IN_CHILD.try_with(Cell::get).unwrap_or(false)
}

fn in_region(p: *mut u8) -> bool {
    let start = START.load(Ordering::Relaxed);
    start != 0 && (p as usize).wrapping_sub(start) < END.load(Ordering::Relaxed).saturating_sub(start)
}

/// Bump allocation from the region; null when it is not there or used up.
fn bump(layout: Layout) -> *mut u8 {
    let end = END.load(Ordering::Acquire);
    let mut cur = NEXT.load(Ordering::Relaxed);
    loop {
        if end == 0 {
            return std::ptr::null_mut();
        }
        // At least malloc's alignment: some readers of byte buffers (the
        // `object` crate's ELF parser) rely on it.
        let at = cur.next_multiple_of(layout.align().max(16));
        let Some(next) = at.checked_add(layout.size()).filter(|&n| n <= end) else {
            return std::ptr::null_mut();
        };
        match NEXT.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return at as *mut u8,
            Err(now) => cur = now,
        }
    }
}

/// What `alloc` returns, unless it is null: then `alloc` once more with a
/// place in the kernel's count of mappings given back to it (a guest that
/// used up `vm.max_map_count` leaves tern's heap no room to grow:
/// `map_reserve`), and if that fails too, tern is out of memory
/// ([`out_of_memory`]).
fn checked(size: usize, mut alloc: impl FnMut() -> *mut u8) -> *mut u8 {
    let mut p = alloc();
    if p.is_null() {
        p = crate::map_reserve::retry(alloc);
    }
    if p.is_null() {
        out_of_memory(size);
    }
    p
}

/// Ends tern, which could not allocate `size` bytes for itself: a line on
/// standard error (naming the address-space limit, if one is set, which
/// tern's own memory counts against) and exit status 1, as a program
/// whose memory ran out ends. Allocates nothing: the message is put
/// together on the stack.
pub fn out_of_memory(size: usize) -> ! {
    let mut msg = Line::default();
    msg.push(b"tern: out of memory: ");
    msg.num(size as u64);
    msg.push(b" bytes for tern's own use could not be allocated");
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills a local struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) } == 0 && r.rlim_max != libc::RLIM_INFINITY {
        msg.push(b" under an address-space limit of ");
        msg.num(r.rlim_max / 1024);
        msg.push(b" KiB (ulimit -v), which counts tern's memory beside the guest's");
    }
    msg.push(b"\n");
    // SAFETY: writes bytes of a local buffer to stderr, then ends the
    // process without running destructors or atexit handlers (which
    // could allocate).
    unsafe {
        libc::write(2, msg.buf.as_ptr().cast(), msg.len);
        libc::_exit(1)
    }
}

/// A line of text on the stack (truncated at its capacity).
struct Line {
    buf: [u8; 256],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Line { buf: [0; 256], len: 0 }
    }
}

impl Line {
    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    /// `v` in decimal.
    fn num(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// See the module docs.
pub struct TernAlloc;

// SAFETY: every block handed out is either System's or a fresh, unique
// piece of the region (bumped atomically, never reused) with the layout's
// size and alignment.
unsafe impl GlobalAlloc for TernAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if in_child() {
            let p = bump(layout);
            if !p.is_null() {
                return p;
            }
        }
        // SAFETY: as the caller's contract.
        checked(layout.size(), || unsafe { System.alloc(layout) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if in_child() {
            // Fresh anonymous memory is zero.
            let p = bump(layout);
            if !p.is_null() {
                return p;
            }
        }
        // SAFETY: as the caller's contract.
        checked(layout.size(), || unsafe { System.alloc_zeroed(layout) })
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if in_region(p) || in_child() {
            return;
        }
        // SAFETY: p came from System (not the region) with this layout.
        unsafe { System.dealloc(p, layout) }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_region(p) && !in_child() {
            // SAFETY: p came from System with this layout (and is still
            // its block when a first realloc failed).
            return checked(new_size, || unsafe { System.realloc(p, layout, new_size) });
        }
        // SAFETY: the layout's alignment with a size the caller made valid.
        let new = unsafe { self.alloc(Layout::from_size_align_unchecked(new_size, layout.align())) };
        if !new.is_null() {
            // SAFETY: both blocks are at least min(old, new) bytes long and
            // distinct (new is fresh).
            unsafe { std::ptr::copy_nonoverlapping(p, new, layout.size().min(new_size)) };
            // SAFETY: p is the caller's block with this layout.
            unsafe { self.dealloc(p, layout) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_spells_numbers() {
        let mut l = Line::default();
        l.push(b"n=");
        for v in [0, 7, 1234567890123] {
            l.num(v);
            l.push(b",");
        }
        assert_eq!(&l.buf[..l.len], b"n=0,7,1234567890123,");
        l.push(&[b'x'; 300]);
        assert_eq!(l.len, 256);
    }

    #[test]
    fn child_blocks_come_from_the_region_and_are_never_freed() {
        prepare();
        let a = TernAlloc;
        let l = Layout::from_size_align(100, 16).unwrap();
        let bytes = Layout::from_size_align(3, 1).unwrap();
        enter_child();
        // SAFETY: plain allocations with valid layouts.
        let (p, b, q) = unsafe { (a.alloc(l), a.alloc(bytes), a.alloc(l)) };
        leave_child();
        assert!(in_region(p) && in_region(q) && p != q);
        // As malloc: 16-byte aligned whatever the layout asks.
        assert!([p, b, q].iter().all(|&x| (x as usize).is_multiple_of(16)));
        // SAFETY: p came from a with l; a region block is left alone.
        unsafe { a.dealloc(p, l) };
        // SAFETY: a System block outside a child is System's again.
        let m = unsafe { a.alloc(l) };
        assert!(!in_region(m));
        // SAFETY: m came from a with l.
        unsafe { a.dealloc(m, l) };
    }
}
