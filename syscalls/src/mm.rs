//! Memory syscalls tern owns: every call that changes the guest's address
//! space or the contents of its mappings wholesale: mmap, munmap, mprotect,
//! pkey_mprotect, mremap, brk, shmat, shmdt, madvise, remap_file_pages.
//!
//! Guest and host share the address space. These calls run on the host as
//! asked, after two checks: they never touch memory tern owns (the guest
//! gets the errno Linux gives for an unavailable range), and any translated
//! code in the range is invalidated. Each records its effect in tern's map
//! of guest memory (`Jit::note_*`). `brk` is emulated on a range after the
//! guest's bss.

use crate::ctl::prot_as_mapped;
use crate::{guard, host_syscall, result, rlimit, Process, SysResult};
use std::collections::BTreeMap;
use std::sync::Mutex;
use tern_translate::cpu::CpuState;

const PAGE: u64 = 4096;

pub(crate) fn page_up(x: u64) -> u64 {
    x.wrapping_add(PAGE - 1) & !(PAGE - 1)
}

/// The emulated program break.
#[derive(Clone, Copy, Debug)]
pub struct Brk {
    pub start: u64,
    pub cur: u64,
    /// End of the pages mapped for the heap so far.
    pub mapped: u64,
}

impl Brk {
    pub fn new(start: u64) -> Brk {
        let start = page_up(start);
        Brk { start, cur: start, mapped: start }
    }
}

/// True if `[addr, addr+len)` overlaps memory tern itself uses (its binary,
/// heap, code cache, stacks) or the vDSO it shares with the guest, which
/// the guest may only unmap ([`munmap`]). Guest-owned memory is everything
/// else.
fn touches_tern(addr: u64, len: u64) -> bool {
    len != 0
        && (guard::overlaps(&guard::tern_memory(), addr, len)
            || guard::overlaps(crate::proc::shared_ranges(), addr, len))
}

/// Drops translated code in `[start, start+len)`; the Jit clears every
/// thread's lookup-table entries for it before returning.
fn invalidate(p: &Process, _cpu: &mut CpuState, start: u64, len: u64) {
    p.jit.invalidate_range(start, start.saturating_add(len));
}

const MAP_HUGETLB: i32 = 0x40000;
const MAP_HUGE_SHIFT: u32 = 26;

/// The length an `mmap` of `len` bytes with `flags` maps: whole pages, or
/// whole huge pages with `MAP_HUGETLB` (of the size the flags name, else
/// the usual 2 MiB).
fn mapped_len(len: u64, flags: i32) -> u64 {
    if flags & MAP_HUGETLB == 0 {
        return page_up(len);
    }
    let shift = (flags as u32 >> MAP_HUGE_SHIFT) & 0x3f;
    let huge = if shift == 0 { 2 << 20 } else { 1u64 << shift };
    len.checked_next_multiple_of(huge).unwrap_or(u64::MAX)
}

/// `mmap`, of anything (files, `/dev/zero`, anonymous, shared or private):
/// whatever the flags, the range the kernel returns is recorded with the
/// protection it has. `MAP_GROWSDOWN` ranges are recorded at their initial
/// size (the kernel grows them below unseen).
pub fn mmap(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let flags = a[3] as i32;
    let len = mapped_len(a[1], flags);
    let _ = cpu;
    // MAP_FIXED over tern's memory would replace it. With
    // MAP_FIXED_NOREPLACE the kernel never replaces anything, so it checks
    // the flags in its own order (EINVAL for bad ones, LTP open_posix
    // mmap/21-1) and answers EEXIST for tern's memory itself, unless the
    // mapping is a reservation, which tern's memory does not stop.
    let noreplace = flags & libc::MAP_FIXED_NOREPLACE != 0;
    if (noreplace && is_reservation(a) || !noreplace && flags & libc::MAP_FIXED != 0)
        && touches_tern(a[0], len)
    {
        return reserve_around_tern(p, a, len);
    }
    // No thread translates between the host call and its record.
    let mut m = p.jit.map_change();
    // `mm/mmap.c: mmap_region()`: MAP_FIXED counts only what it adds.
    let replaced =
        if flags & libc::MAP_FIXED != 0 { m.mapped_bytes(a[0], a[0].saturating_add(len)).0 } else { 0 };
    let grow = len.saturating_sub(replaced);
    let data = a[2] as i32 & libc::PROT_WRITE != 0
        && flags & (libc::MAP_SHARED | libc::MAP_PRIVATE) == libc::MAP_PRIVATE
        && flags & libc::MAP_GROWSDOWN == 0;
    rlimit::check_grow(grow, if data { grow } else { 0 }, || m.mapped_bytes(0, u64::MAX))?;
    if flags & (libc::MAP_FIXED | libc::MAP_FIXED_NOREPLACE) != 0 {
        m.invalidate(a[0], a[0].saturating_add(len));
    }
    let addr = result(host_syscall(libc::SYS_mmap as u64, [a[0], a[1], host_prot(a[2]), a[3], a[4], a[5]]))?;
    let shared = if flags & libc::MAP_SHARED != 0 { tern_translate::pages::SHARED_MAPPING } else { 0 };
    m.note_map(addr, addr.saturating_add(len), prot_as_mapped(a[2] as i32) | shared);
    lock_future(addr, len);
    Ok(addr)
}

/// A `MAP_FIXED` mapping over tern's memory. An inaccessible anonymous one
/// (`PROT_NONE`) only reserves address space, which tern's memory there
/// already keeps from the guest's other mappings: the parts around it are
/// mapped, and the guest is told the whole range is (ThreadSanitizer
/// reserves every gap of its memory layout this way, one of them 16 TiB
/// across tern's region, and stopped with "can not protect"). Anything
/// else would replace tern's memory: ENOMEM.
fn reserve_around_tern(p: &Process, a: [u64; 6], len: u64) -> SysResult {
    if !is_reservation(a) {
        return Err(libc::ENOMEM);
    }
    let end = in_task(a[0], len).ok_or(libc::ENOMEM)?;
    let pieces = around_tern(a[0], end);
    let mut m = p.jit.map_change();
    // MAP_FIXED_NOREPLACE: nothing of the guest's may be there (the vDSO
    // counts, even once unmapped: rare enough).
    if a[3] as i32 & libc::MAP_FIXED_NOREPLACE != 0
        && (m.mapped_bytes(a[0], end).0 != 0 || guard::overlaps(crate::proc::shared_ranges(), a[0], len))
    {
        return Err(libc::EEXIST);
    }
    for &(s, e) in &pieces {
        m.invalidate(s, e);
        result(host_syscall(libc::SYS_mmap as u64, [s, e - s, 0, a[3], a[4], a[5]]))?;
        m.note_map(s, e, 0);
    }
    crate::proc::hide_shared(a[0], end);
    Ok(a[0])
}

/// True if `mmap` arguments `a` only reserve address space: an inaccessible
/// (`PROT_NONE`) private anonymous mapping at a page-aligned address.
fn is_reservation(a: [u64; 6]) -> bool {
    let flags = a[3] as i32;
    a[2] == 0
        && flags & libc::MAP_ANONYMOUS != 0
        && flags & (libc::MAP_SHARED | libc::MAP_PRIVATE) == libc::MAP_PRIVATE
        && a[0].is_multiple_of(PAGE)
}

/// Set while the guest's `mlockall(MCL_FUTURE)` (without MCL_ONFAULT) is
/// in force: its new mappings are populated and locked when made
/// (`lock_future`), as the kernel does for VM_LOCKED mappings.
static FUTURE_POPULATE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Populates and locks a new guest mapping while `mlockall(MCL_FUTURE)`
/// is in force (failures ignored, as the kernel's populate ignores them).
fn lock_future(addr: u64, len: u64) {
    if FUTURE_POPULATE.load(std::sync::atomic::Ordering::Relaxed) && len != 0 {
        host_syscall(libc::SYS_mlock2 as u64, [addr, len, 0, 0, 0, 0]);
    }
}

/// `mlockall`. Passed to the host as is, it would lock and populate tern's
/// own memory too: the code cache, its tables and every reservation, some
/// GiB of address space that tern commits only as it uses it (LTP
/// `getrusage03` saw a 3.7 GB resident set). So the host's lock is always
/// MCL_ONFAULT, which makes pages resident only as they are touched and
/// keeps them, and what the guest asked to have resident now, its own
/// mappings, is populated and locked by `mlock2` range by range (MCL_CURRENT),
/// its future ones when they are made (MCL_FUTURE, [`lock_future`]).
pub fn mlockall(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let flags = a[0];
    let (current, future, onfault) =
        (libc::MCL_CURRENT as u64, libc::MCL_FUTURE as u64, libc::MCL_ONFAULT as u64);
    // `mm/mlock.c: mlockall()`.
    if flags == 0 || flags & !(current | future | onfault) != 0 || flags == onfault {
        return Err(libc::EINVAL);
    }
    let r = result(host_syscall(libc::SYS_mlockall as u64, [flags | onfault, 0, 0, 0, 0, 0]))?;
    let populate = flags & onfault == 0;
    FUTURE_POPULATE.store(populate && flags & future != 0, std::sync::atomic::Ordering::Relaxed);
    if populate && flags & current != 0 {
        for (start, end) in p.jit.guest_ranges() {
            host_syscall(libc::SYS_mlock2 as u64, [start, end - start, 0, 0, 0, 0]);
        }
    }
    Ok(r)
}

/// `munlockall`: also ends [`lock_future`]'s populating.
pub fn munlockall(_p: &Process, _cpu: &mut CpuState, _a: [u64; 6]) -> SysResult {
    let r = result(host_syscall(libc::SYS_munlockall as u64, [0; 6]))?;
    FUTURE_POPULATE.store(false, std::sync::atomic::Ordering::Relaxed);
    Ok(r)
}

/// Checks a range the guest wants to unmap or reprotect: page aligned
/// (EINVAL otherwise, as Linux says) and clear of tern's own memory (`busy`
/// otherwise); then drops any translated code in it. Returns the page range
/// and the guard under which the caller runs its host call and records it.
fn claim_range(
    p: &Process,
    start: u64,
    len: u64,
    busy: i32,
    prot: Option<i32>,
) -> Result<(u64, u64, tern_translate::MapChange<'_>), i32> {
    if !start.is_multiple_of(PAGE) {
        return Err(libc::EINVAL);
    }
    let end = start.saturating_add(page_up(len));
    let shared_ok = prot.is_some_and(|prot| keeps_shared_usable(start, end, prot));
    if len != 0
        && (guard::overlaps(&guard::tern_memory(), start, end - start)
            || !shared_ok && guard::overlaps(crate::proc::shared_ranges(), start, end - start))
    {
        return Err(busy);
    }
    let mut m = p.jit.map_change();
    m.invalidate(start, start.saturating_add(len));
    Ok((start, end, m))
}

/// True if protection `prot` on `[start, end)` leaves the host's vDSO and
/// vvar pages there as tern's own C library needs them: the vDSO readable
/// and executable, vvar readable, neither writable. Such an `mprotect` of
/// them goes through, as natively; any other is refused.
fn keeps_shared_usable(start: u64, end: u64, prot: i32) -> bool {
    let vdso = crate::proc::vdso_range();
    crate::proc::shared_ranges().iter().filter(|&&(s, e)| s < end && start < e).all(|&r| {
        let need = if Some(r) == vdso { libc::PROT_READ | libc::PROT_EXEC } else { libc::PROT_READ };
        prot & need == need && prot & libc::PROT_WRITE == 0
    })
}

/// The end of `[start, start + len)` if the range lies below TASK_SIZE.
fn in_task(start: u64, len: u64) -> Option<u64> {
    use tern_translate::guestmem::TASK_SIZE;
    (len <= TASK_SIZE && start <= TASK_SIZE - len).then_some(start + len)
}

/// The parts of `[start, end)` outside tern's memory and the vDSO it
/// shares with the guest, in order.
fn around_tern(start: u64, end: u64) -> Vec<(u64, u64)> {
    let mut taken: Vec<(u64, u64)> = guard::tern_memory().to_vec();
    taken.extend_from_slice(crate::proc::shared_ranges());
    taken.sort_unstable();
    let mut pieces = Vec::new();
    let mut at = start;
    for &(s, e) in taken.iter().filter(|&&(s, e)| s < end && start < e) {
        if at < s {
            pieces.push((at, s));
        }
        at = at.max(e);
    }
    if at < end {
        pieces.push((at, end));
    }
    pieces
}

/// `munmap`. A range over tern's memory, which the guest does not see,
/// is unmapped around it, as natively a range with holes is. The host's
/// vDSO and vvar pages, which tern's C library uses too, stay mapped: the
/// guest unmapping them only hides them from it (`proc::hide_shared`).
pub fn munmap(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let len = page_up(a[1]);
    if a[0].is_multiple_of(PAGE) && len != 0 && touches_tern(a[0], len) {
        // `mm/mmap.c: do_vmi_munmap()`: the range must lie below TASK_SIZE.
        let end = in_task(a[0], len).ok_or(libc::EINVAL)?;
        let mut m = p.jit.map_change();
        m.invalidate(a[0], end);
        for (s, e) in around_tern(a[0], end) {
            result(host_syscall(libc::SYS_munmap as u64, [s, e - s, 0, 0, 0, 0]))?;
        }
        crate::proc::hide_shared(a[0], end);
        m.note_unmap(a[0], end);
        return Ok(0);
    }
    let (start, end, mut m) = claim_range(p, a[0], a[1], libc::EINVAL, None)?;
    let r = result(host_syscall(libc::SYS_munmap as u64, a))?;
    m.note_unmap(start, end);
    Ok(r)
}

pub fn mprotect(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    protect_with(p, a, libc::SYS_mprotect)
}

/// Whether the host kernel's answers to the protection-key calls are the
/// guest's: where the CPU model offers protection keys, and where the
/// host has none enabled (its kernel then answers as on a CPU without
/// them, by its own configuration: a kernel built with x86 protection keys
/// refuses every key, one without them takes key 0).
fn host_pkeys(p: &Process) -> bool {
    p.jit.model().has_pku() || !tern_translate::xstate::host_pku()
}

/// `pkey_mprotect(addr, len, prot, pkey)`: `mprotect` with the host's key
/// ([`host_pkeys`]); else (the model hides the host's keys) as a kernel
/// with x86 protection keys on a CPU without them: key -1 is `mprotect`,
/// any other EINVAL (no key is allocated; key 0 is the execute-only one).
pub fn pkey_mprotect(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if !host_pkeys(p) && a[3] as i32 != -1 {
        return Err(libc::EINVAL);
    }
    protect_with(p, a, libc::SYS_pkey_mprotect)
}

/// `pkey_alloc(flags, access_rights)`: the host's ([`host_pkeys`]); else
/// EINVAL, as a kernel with x86 protection keys gives on a CPU without
/// them (it cannot set the key's rights).
pub fn pkey_alloc(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if host_pkeys(p) {
        return crate::result(host_syscall(libc::SYS_pkey_alloc as u64, a));
    }
    Err(libc::EINVAL)
}

/// `pkey_free(pkey)`: the host's ([`host_pkeys`]); else EINVAL, as a
/// kernel with x86 protection keys gives on a CPU without them (no key
/// is allocated).
pub fn pkey_free(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if host_pkeys(p) {
        return crate::result(host_syscall(libc::SYS_pkey_free as u64, a));
    }
    Err(libc::EINVAL)
}

/// `mprotect` or `pkey_mprotect` (`nr`). With PROT_GROWSDOWN the kernel
/// changes a growing mapping (the main stack, `MAP_GROWSDOWN`) from its
/// start (EINVAL for any other): glibc makes the stack executable that way
/// when it loads a library that needs it (`_dl_make_stack_executable`).
/// That start is read from the maps file then (rare); the part of the
/// mapping the kernel added below unseen stays unrecorded.
fn protect_with(p: &Process, a: [u64; 6], nr: i64) -> SysResult {
    let (start, end, mut m) = claim_range(p, a[0], a[1], libc::ENOMEM, Some(a[2] as i32))?;
    let r = result(host_syscall(nr as u64, [a[0], a[1], host_prot(a[2]), a[3], a[4], a[5]]))?;
    let prot = a[2] as i32;
    let from = if prot & libc::PROT_GROWSDOWN != 0 {
        tern_translate::hostmem::host_mapping(start).map_or(start, |(lo, _, _)| lo)
    } else {
        start
    };
    m.invalidate(from, start);
    m.note_protect(from, end, prot_as_mapped(prot & !(libc::PROT_GROWSDOWN | libc::PROT_GROWSUP)));
    Ok(r)
}

/// The protection tern asks the host for, for a guest's `prot`: as asked,
/// but PROT_EXEC without PROT_READ readable too. On a host with protection
/// keys the kernel makes a mapping of PROT_EXEC alone execute-only with a
/// key of its own, and tern reads the code it runs (blocks of a page the
/// guest rewrites check their bytes: LTP mprotect04's copied function
/// faulted in its own check, a fatal SIGSEGV); tern's fault handling reads
/// the instruction at a fault through `process_vm_readv`, which refuses
/// memory mapped without PROT_READ (`-wx` too). On a CPU without
/// protection keys (every model but `host`) execute and write imply read in
/// the page tables, so only what the kernel says of the mapping differs:
/// the guest's `/proc/self/maps` shows the protection it asked for
/// ([`guest_perms`]; LTP mmap04 found `-wx` shown `rwx`). Under `host` a
/// guest's data read of an execute-only page succeeds where natively it
/// faults (not done yet: the checks would need to open the key around
/// each read).
fn host_prot(prot: u64) -> u64 {
    match prot as i32 & (libc::PROT_EXEC | libc::PROT_READ) == libc::PROT_EXEC {
        true => prot | libc::PROT_READ as u64,
        false => prot,
    }
}

/// The permissions field of a host `/proc/self/maps` line (`perms`, e.g.
/// `rwxp`) for guest memory whose recorded protection is `guest`: without
/// the read [`host_prot`] added to memory mapped executable and not
/// readable.
pub(crate) fn guest_perms(perms: &str, guest: Option<i32>) -> Option<String> {
    (read_added(guest) && perms.starts_with('r')).then(|| format!("-{}", &perms[1..]))
}

/// True if [`host_prot`] made guest memory of recorded protection `guest`
/// readable though the guest did not ask for it.
pub(crate) fn read_added(guest: Option<i32>) -> bool {
    guest.is_some_and(|g| g & (libc::PROT_READ | libc::PROT_EXEC) == libc::PROT_EXEC)
}

/// `madvise` advice after which reads may see other bytes than were
/// written (zeros, the file's contents, or a guard fault): the code there
/// is invalidated first. Values from `include/uapi/asm-generic/mman-common.h`.
const MADV_CHANGES_CONTENT: [u64; 6] = [
    4,   // MADV_DONTNEED
    8,   // MADV_FREE
    9,   // MADV_REMOVE
    18,  // MADV_WIPEONFORK
    24,  // MADV_DONTNEED_LOCKED
    102, // MADV_GUARD_INSTALL
];

/// `madvise`: never on tern's memory (ENOMEM, as for an unmapped range).
pub fn madvise(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if !a[0].is_multiple_of(PAGE) {
        return Err(libc::EINVAL);
    }
    // A range that runs into tern's memory: natively nothing is mapped
    // there, so the kernel gives the advice to the guest's part (failing
    // with its errno if that part refuses it) and then ENOMEM for the hole.
    let (len, hole) = match guard::first_overlap(&guard::tern_memory(), a[0], page_up(a[1])) {
        Some(tern) if a[1] != 0 => (tern - a[0], true),
        _ => (a[1], false),
    };
    if MADV_CHANGES_CONTENT.contains(&a[2]) {
        invalidate(p, cpu, a[0], len);
    }
    // (A length of 0 still has the kernel check the advice itself.)
    result(host_syscall(libc::SYS_madvise as u64, [a[0], len, a[2], 0, 0, 0]))?;
    if hole {
        return Err(libc::ENOMEM);
    }
    Ok(0)
}

/// `PIDFD_SELF_THREAD` and `PIDFD_SELF_THREAD_GROUP` (Linux 6.14).
const PIDFD_SELF: [u64; 2] = [-10000i64 as u64, -20000i64 as u64];

/// True if pidfd `fd` names this process (one of [`PIDFD_SELF`], or a
/// descriptor: `signal::pidfd_names_self`).
fn pidfd_is_self(fd: u64) -> bool {
    PIDFD_SELF.contains(&fd) || crate::signal::pidfd_names_self(fd)
}

/// `process_madvise(pidfd, iovec, vlen, advice, flags)`. On this
/// process every range is advised as `madvise` advises it (advice that
/// drops contents invalidates the code there; tern's memory is a hole,
/// ENOMEM), in order, and the call gives the bytes advised before the
/// first failure, or that failure (`mm/madvise.c: vector_madvise()`);
/// what the kernel checks first (flags, the count, the advice for another
/// process, privilege) it checks on the whole call with an empty vector.
/// Another process's ranges are its own: the call goes to the host.
pub fn process_madvise(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    const UIO_MAXIOV: u64 = 1024;
    // The kernel's order: the flags, the vector (read from this process
    // whatever the target), then the process, the advice and the
    // privilege (checked by the host on no ranges).
    if a[4] != 0 || a[2] > UIO_MAXIOV {
        return Err(libc::EINVAL);
    }
    let mut iov = vec![0u8; a[2] as usize * 16];
    guard::check_buffer(p, cpu, a[1], iov.len() as u64, false)?;
    if !pidfd_is_self(a[0]) {
        return result(host_syscall(libc::SYS_process_madvise as u64, a));
    }
    if tern_translate::guestmem::read_guest(a[1], &mut iov) != iov.len() {
        return Err(libc::EFAULT);
    }
    result(host_syscall(libc::SYS_process_madvise as u64, [a[0], 0, 0, a[3], 0, 0]))?;
    let mut done = 0u64;
    for e in iov.chunks_exact(16) {
        let word = |i: usize| u64::from_le_bytes(e[i..i + 8].try_into().unwrap_or_default());
        let (start, len) = (word(0), word(8));
        if len == 0 {
            continue;
        }
        if let Err(err) = madvise(p, cpu, [start, len, a[3], 0, 0, 0]) {
            return if done > 0 { Ok(done) } else { Err(err) };
        }
        done += len;
    }
    Ok(done)
}

/// `remap_file_pages`: the range keeps its protection but shows other
/// pages of its file, so its code is invalidated.
pub fn remap_file_pages(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if touches_tern(a[0], page_up(a[1])) {
        return Err(libc::EINVAL);
    }
    invalidate(p, cpu, a[0], a[1]);
    result(host_syscall(libc::SYS_remap_file_pages as u64, a))
}

/// System V shared memory attached by the guest: address -> length.
static SHM: Mutex<BTreeMap<u64, u64>> = Mutex::new(BTreeMap::new());

/// At an `execve` this process runs itself, once the guest's mappings are
/// gone (`exec_mmap()` gives the new program a new memory): no segment
/// is attached, no `mlockall` is in force (tern's own memory, which the
/// guest's call locked as it is touched, unlocked with it).
pub fn forget_for_exec() {
    SHM.lock().unwrap_or_else(|e| e.into_inner()).clear();
    FUTURE_POPULATE.store(false, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: munlockall only changes how pages are kept resident.
    unsafe { libc::munlockall() };
}

const SHM_RDONLY: u64 = 0o10000;
const SHM_RND: u64 = 0o20000;
const SHM_REMAP: u64 = 0o40000;
const SHM_EXEC: u64 = 0o100000;
/// `SHMLBA` on x86-64.
const SHMLBA: u64 = PAGE;

/// The size of shared memory segment `id`, from `IPC_STAT`.
fn shm_size(id: u64) -> Option<u64> {
    // SAFETY: shmid_ds is plain data; IPC_STAT fills the local.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT writes only `ds`.
    let r = unsafe { libc::shmctl(id as i32, libc::IPC_STAT, &mut ds) };
    (r == 0).then_some(ds.shm_segsz as u64)
}

/// `shmat(shmid, shmaddr, shmflg)` (`ipc/shm.c: do_shmat()`): the segment
/// is mapped like an `mmap` and recorded; an address in tern's memory is
/// EINVAL, as natively for an address that cannot be used.
pub fn shmat(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let (id, flags) = (a[0], a[2]);
    let size = page_up(shm_size(id).unwrap_or(0));
    let at = if flags & SHM_RND != 0 { a[1] & !(SHMLBA - 1) } else { a[1] };
    if at != 0 {
        if touches_tern(at, size.max(PAGE)) {
            return Err(libc::EINVAL);
        }
        if flags & SHM_REMAP != 0 {
            invalidate(p, cpu, at, size);
        }
    }
    let grow = if size == 0 { page_up(shm_size(id).unwrap_or(PAGE)) } else { size };
    rlimit::check_grow(grow, 0, || p.jit.mapped_bytes(0, u64::MAX))?;
    let addr = result(host_syscall(libc::SYS_shmat as u64, a))?;
    let size = if size == 0 { page_up(shm_size(id).unwrap_or(PAGE)) } else { size };
    let mut prot = libc::PROT_READ;
    if flags & SHM_RDONLY == 0 {
        prot |= libc::PROT_WRITE;
    }
    if flags & SHM_EXEC != 0 {
        prot |= libc::PROT_EXEC;
    }
    p.jit.note_map(addr, addr + size, prot_as_mapped(prot) | tern_translate::pages::SHARED_MAPPING);
    SHM.lock().unwrap_or_else(|e| e.into_inner()).insert(addr, size);
    Ok(addr)
}

/// `shmdt(shmaddr)`: the segment attached at `shmaddr` is unmapped; its
/// code is invalidated first.
pub fn shmdt(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if touches_tern(a[0], 1) {
        return Err(libc::EINVAL);
    }
    let size = SHM.lock().unwrap_or_else(|e| e.into_inner()).get(&a[0]).copied();
    if let Some(size) = size {
        invalidate(p, cpu, a[0], size);
    }
    let r = result(host_syscall(libc::SYS_shmdt as u64, a))?;
    if let Some(size) = size {
        SHM.lock().unwrap_or_else(|e| e.into_inner()).remove(&a[0]);
        p.jit.note_unmap(a[0], a[0] + size);
    }
    Ok(r)
}

pub fn mremap(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    if touches_tern(a[0], page_up(a[1])) {
        return Err(libc::EFAULT);
    }
    if a[3] as i32 & libc::MREMAP_FIXED != 0 && touches_tern(a[4], page_up(a[2])) {
        return Err(libc::EINVAL);
    }
    let _ = cpu;
    let mut m = p.jit.map_change();
    m.invalidate(a[0], a[0].saturating_add(a[1]));
    if a[3] as i32 & libc::MREMAP_FIXED != 0 {
        m.invalidate(a[4], a[4].saturating_add(a[2]));
    }
    let prot = m.prot_at(a[0]).unwrap_or(libc::PROT_READ | libc::PROT_WRITE);
    // `mm/mremap.c`: growing in place or moving counts the growth; a move
    // that keeps the old range (MREMAP_DONTUNMAP) counts all of it.
    let mut grow = page_up(a[2]).saturating_sub(page_up(a[1]));
    if a[3] as i32 & libc::MREMAP_DONTUNMAP != 0 {
        grow = page_up(a[2]);
    }
    let data = if prot & libc::PROT_WRITE != 0 { grow } else { 0 };
    rlimit::check_grow(grow, data, || m.mapped_bytes(0, u64::MAX))?;
    let new = result(host_syscall(libc::SYS_mremap as u64, a)).inspect_err(|_| {
        if a[3] as i32 & libc::MREMAP_FIXED != 0 {
            // `mm/mremap.c: mremap_to()` unmaps the destination before
            // checks that may still fail (an address below
            // `mmap_min_addr`: EPERM): what was there may be gone.
            forget_unmapped(&mut m, a[4], a[4].saturating_add(page_up(a[2])));
        }
    })?;
    // MREMAP_DONTUNMAP leaves the old range mapped (empty); otherwise it
    // is gone, moved or shrunk in place.
    if a[3] as i32 & libc::MREMAP_DONTUNMAP == 0 {
        m.note_unmap(a[0], a[0].saturating_add(page_up(a[1])));
    }
    m.note_map(new, new + page_up(a[2]), prot);
    Ok(new)
}

/// Forgets the parts of guest memory in `[start, end)` that the host no
/// longer maps (read from `/proc/self/maps`), after a call that failed
/// but may have unmapped some of it.
fn forget_unmapped(m: &mut tern_translate::MapChange, start: u64, end: u64) {
    let Ok(maps) = tern_translate::hostmem::read_proc("/proc/self/maps") else { return };
    // The maps file's ranges are sorted and disjoint.
    let mapped: Vec<(u64, u64)> =
        String::from_utf8_lossy(&maps).lines().filter_map(tern_translate::hostmem::maps_range).collect();
    for (lo, hi) in crate::proc::outside(start, end, &mapped) {
        m.note_unmap(lo, hi);
    }
}

/// `brk`: Linux returns the new break on success and the old one on failure.
pub fn brk(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    let mut b = p.brk.lock().unwrap_or_else(|e| e.into_inner());
    let want = a[0];
    if want < b.start {
        return Ok(b.cur);
    }
    // `mm/mmap.c: brk()`: a break past the user address space (or one
    // whose page rounding overflows) is refused, the old break returned.
    if want > tern_translate::guestmem::TASK_SIZE {
        return Ok(b.cur);
    }
    let need = page_up(want);
    if need > b.mapped {
        let len = need - b.mapped;
        if rlimit::check_grow(len, len, || p.jit.mapped_bytes(0, u64::MAX)).is_err() {
            return Ok(b.cur);
        }
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE;
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let r = host_syscall(libc::SYS_mmap as u64, [b.mapped, len, prot as u64, flags as u64, u64::MAX, 0]);
        if r as u64 != b.mapped {
            if r >= 0 {
                host_syscall(libc::SYS_munmap as u64, [r as u64, len, 0, 0, 0, 0]);
            }
            return Ok(b.cur);
        }
        p.jit.note_map(b.mapped, need, prot);
        lock_future(b.mapped, len);
        b.mapped = need;
    } else if need < b.mapped {
        invalidate(p, cpu, need, b.mapped - need);
        p.jit.note_unmap(need, b.mapped);
        host_syscall(libc::SYS_munmap as u64, [need, b.mapped - need, 0, 0, 0, 0]);
        b.mapped = need;
    }
    b.cur = want;
    Ok(want)
}

#[cfg(test)]
mod tests {
    use super::guest_perms;

    #[test]
    fn a_read_tern_added_to_exec_alone_is_not_shown() {
        let (r, w, x) = (libc::PROT_READ, libc::PROT_WRITE, libc::PROT_EXEC);
        assert_eq!(guest_perms("r-xp", Some(x)).as_deref(), Some("--xp"));
        assert_eq!(guest_perms("r-xs", Some(x)).as_deref(), Some("--xs"));
        assert_eq!(guest_perms("rwxp", Some(w | x)).as_deref(), Some("-wxp"));
        for (perms, prot) in [("r-xp", r | x), ("rwxp", r | w | x), ("rw-p", w), ("---p", 0)] {
            assert_eq!(guest_perms(perms, Some(prot)), None, "{perms} {prot}");
        }
        assert_eq!(guest_perms("r-xp", None), None);
    }
}
