//! Places in the kernel's count of mappings, held for tern itself.
//!
//! Once a process has `vm.max_map_count` mappings the kernel refuses it
//! any new one, and any growth of its heap too (`brk` counts the mappings
//! before it extends the heap in place). A guest that maps until refused
//! (LTP munmap04) takes them all, and tern, whose memory comes from the
//! same process, could then allocate nothing: the next growth of its heap
//! failed, in a translation or in LLVM compiling a trace ("LLVM ERROR: out
//! of memory"; tern's CI saw both).
//!
//! So tern holds [`SLOTS`] one-page mappings from the start, in a region
//! of its own where each is a mapping apart (slots between read-only
//! pages: neighbours that differ never merge). When it needs memory the
//! kernel may refuse, it gives one back, allocates (the heap grows in
//! place, which adds no mapping), and maps the place again: the guest
//! still finds the count used up, as natively. Two callers:
//! - the global allocator, once malloc has failed ([`retry`]);
//! - the trace optimizer before a compile ([`make_room`]: LLVM's
//!   allocations abort when they fail, so the heap grows before, by more
//!   than a compile takes, while the kernel still lets it).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Places held; each caller gives back one at a time, and takes it again.
const SLOTS: u32 = 4;
const PAGE: u64 = 4096;
/// The region's page that [`refused`] maps and unmaps.
const PROBE: u64 = 2 * SLOTS as u64 + 1;

/// The region's start (0: not made); slot `i` is its page `2i + 1`, and
/// its last page, [`PROBE`], is left unmapped for [`refused`]'s probe.
static BASE: AtomicU64 = AtomicU64::new(0);
/// Bit `i`: slot `i` is mapped (held).
static HELD: AtomicU32 = AtomicU32::new(0);

/// Makes the region: read-only pages with the slots, inaccessible, between
/// them, and the probe's page. Once, before the guest runs; without it
/// nothing is held.
pub fn init() {
    if BASE.load(Ordering::Acquire) != 0 {
        return;
    }
    let len = (PROBE + 1) * PAGE;
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
    let Ok(base) = crate::hostmem::map_tern(len as usize, libc::PROT_READ, flags) else { return };
    // SAFETY: the region's last page, just mapped, tern's own; the place
    // stays tern's memory (registered), so the guest never sees the probe.
    unsafe { libc::munmap((base + PROBE * PAGE) as *mut _, PAGE as usize) };
    let mut held = 0;
    for i in 0..SLOTS {
        // SAFETY: a page of the region just mapped, tern's own.
        if unsafe { libc::mprotect(slot_addr(base, i) as *mut _, PAGE as usize, libc::PROT_NONE) } == 0 {
            held |= 1 << i;
        }
    }
    HELD.store(held, Ordering::Release);
    BASE.store(base, Ordering::Release);
}

fn slot_addr(base: u64, i: u32) -> u64 {
    base + (2 * u64::from(i) + 1) * PAGE
}

/// Gives one held slot back to the kernel: its index, or None if none is
/// held.
fn give_back() -> Option<u32> {
    let base = BASE.load(Ordering::Acquire);
    let mut held = HELD.load(Ordering::Acquire);
    loop {
        if base == 0 || held == 0 {
            return None;
        }
        let i = held.trailing_zeros();
        match HELD.compare_exchange_weak(held, held & !(1 << i), Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break Some(i),
            Err(now) => held = now,
        }
    }
    .inspect(|&i| {
        // SAFETY: slot i's page, tern's own, which this caller alone now
        // owns (its bit was cleared above).
        unsafe { libc::munmap(slot_addr(base, i) as *mut _, PAGE as usize) };
    })
}

/// Maps slot `i` again (given back by [`give_back`]). A guest that took
/// the place meanwhile keeps it, and tern holds one slot fewer.
fn take_again(i: u32) {
    if map_page(slot_addr(BASE.load(Ordering::Acquire), i)) {
        HELD.fetch_or(1 << i, Ordering::AcqRel);
    }
}

/// Maps an inaccessible page at `at` if nothing is there: whether it did.
fn map_page(at: u64) -> bool {
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED_NOREPLACE;
    // SAFETY: MAP_FIXED_NOREPLACE maps the page only if nothing is there;
    // it replaces nothing.
    let p = unsafe { libc::mmap(at as *mut _, PAGE as usize, libc::PROT_NONE, flags, -1, 0) };
    if p != libc::MAP_FAILED && p as u64 != at {
        // An old kernel that took the address as a hint only.
        // SAFETY: the page just mapped elsewhere, tern's alone.
        unsafe { libc::munmap(p, PAGE as usize) };
    }
    p as u64 == at
}

/// `alloc` again with a slot given back for its duration, after it failed
/// (returned null): what it returns now. Allocates nothing itself.
pub fn retry(alloc: impl FnOnce() -> *mut u8) -> *mut u8 {
    let Some(i) = give_back() else { return std::ptr::null_mut() };
    let p = alloc();
    take_again(i);
    p
}

/// Whether the kernel refuses this process a new mapping now (a probe:
/// the region's probe page mapped and unmapped, inside tern's memory,
/// where a guest reading its maps or counting its memory meanwhile does
/// not see it).
fn refused() -> bool {
    let base = BASE.load(Ordering::Acquire);
    if base == 0 || !map_page(base + PROBE * PAGE) {
        return base != 0;
    }
    // SAFETY: the probe page just mapped, tern's own.
    unsafe { libc::munmap((base + PROBE * PAGE) as *mut _, PAGE as usize) };
    false
}

/// Free heap [`make_room`] makes before a compile: more than a trace's
/// compile allocates at its peak (the heap never shrinks: `main` sets
/// malloc's trim threshold out of reach, so what is freed stays free at
/// its top, untouched pages costing nothing resident).
const HEADROOM: usize = 32 << 20;

/// Makes [`HEADROOM`] free on tern's heap, before work that allocates and
/// cannot take a refusal (LLVM aborts): a guest mapping in another thread
/// meanwhile (as `map_count_limit.c`'s loop, compiled while it ran) may
/// use up the mappings during that work, and the heap could not grow
/// then. If the kernel refuses new mappings already, a slot is given back
/// while the heap grows. If the heap cannot grow (a tight `ulimit -v`),
/// nothing changes.
pub fn make_room() {
    let slot = if refused() { give_back() } else { None };
    // SAFETY: malloc's own block, freed at once: its memory joins the free
    // top of the heap. Straight to malloc, not the global allocator,
    // which ends tern when an allocation fails; through `black_box`, or
    // LLVM drops the unused pair.
    unsafe { libc::free(std::hint::black_box(libc::malloc(HEADROOM))) };
    if let Some(i) = slot {
        take_again(i);
    }
}

/// How many slots are held.
#[cfg(test)]
fn held() -> u32 {
    HELD.load(Ordering::Acquire).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `/proc/self/maps` has a mapping starting at `at`.
    fn mapped_at(at: u64) -> bool {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines().any(|l| l.starts_with(&format!("{at:x}-")))
    }

    #[test]
    fn a_slot_given_back_is_taken_again() {
        init();
        let first = slot_addr(BASE.load(Ordering::Acquire), 0);
        assert_eq!(held(), SLOTS);
        assert!(mapped_at(first), "slot 0 is a mapping of its own");
        let mut inside = None;
        let p = retry(|| {
            inside = Some((held(), mapped_at(first)));
            8 as *mut u8
        });
        assert_eq!((p as usize, inside, held()), (8, Some((SLOTS - 1, false)), SLOTS));
        assert!(mapped_at(first), "slot 0 mapped again");
        make_room();
        assert_eq!(held(), SLOTS, "no slot kept away while the kernel maps");
        let probe = BASE.load(Ordering::Acquire) + PROBE * PAGE;
        assert!(!refused() && !mapped_at(probe), "the probe maps its page and unmaps it");
    }
}
