//! A vfork child as a fork child its parent waits for, with what it wrote
//! copied back into the parent.
//!
//! A real vfork (`vfork.rs`) runs the child on its parent's memory, so its
//! `execve` cannot load the new program into the child's process (that
//! would replace the parent's memory): it starts a new tern, about 1.5 ms
//! here, as long as the programs a shell's simple commands run natively.
//! Where the child could exec in place (`task::in_place_possible`: the
//! parent is the process's only guest thread, and nothing keeps its exec a
//! host one), tern instead forks the child (its own copy of the memory,
//! page tables shared copy-on-write) and the parent waits on a socket
//! until the child execs or exits, as the kernel makes a vfork parent wait
//! (`kernel/fork.c: wait_for_vfork_done()`).
//!
//! What the child then does to the memory reaches the parent before it
//! goes on, as on shared memory: POSIX defines no write by a vfork child
//! but the pid it stores, yet Linux programs rely on more (glibc's
//! `posix_spawn` stores a failed exec's errno for its parent; a child's
//! stores into the parent's stack or globals are seen). Before it execs or
//! ends, the child sends its parent
//! - the memory-map calls it made (`brk`, `mmap` of anonymous memory,
//!   `munmap`, `mprotect`, `mremap`, `madvise`), which the parent makes
//!   again at the same addresses through its own handlers (a `malloc` in
//!   the child that moved the break leaves the parent's heap as the
//!   child's `malloc` recorded it); and
//! - the pages it wrote: those of its guest mappings the kernel's
//!   `/proc/self/pagemap` shows present, anonymous and mapped by it alone
//!   (after the fork a page is shared with the parent until one of them
//!   writes it, and the parent is waiting), which the parent writes over
//!   its own, dropping any translation of them first.
//!
//! What does not come back: a file or shared mapping the child made
//! (logged), a page the child wrote and the kernel swapped out before it
//! was sent, System V attachments. None is something a vfork child does
//! between its `vfork` and its `execve`.
//!
//! A guest fork with CLONE_VFORK and without CLONE_VM waits on the same
//! socket, with nothing copied back: the host's CLONE_VFORK would keep
//! the parent waiting through an exec in place, which is not a host
//! `execve`.

use crate::Process;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Mutex;
use tern_translate::cpu::CpuState;

/// In a child its parent waits for: its end of the socket (-1 elsewhere,
/// and once the parent is released).
static PARENT_SOCKET: AtomicI32 = AtomicI32::new(-1);
/// In such a child of a guest CLONE_VM: what it does to the memory goes
/// back to its parent.
static COPY_BACK: AtomicBool = AtomicBool::new(false);
/// In a child whose parent the host's CLONE_VFORK suspends (no socket
/// could be made): only a host `execve` releases that parent, so this
/// child execs with one.
static HOST_WAITS: AtomicBool = AtomicBool::new(false);
/// The memory-map calls the child made since its last report.
static MM_CALLS: Mutex<Vec<MmCall>> = Mutex::new(Vec::new());

/// A memory-map call the child made, and its result.
#[derive(Clone, Copy, Debug)]
struct MmCall {
    nr: u64,
    args: [u64; 6],
    ret: u64,
}

/// The records of a report: a call, then its number, arguments and
/// result; pages, then their address and length in bytes, then the bytes.
/// The report ends with the socket (the child's exec or exit closes it).
const TAG_CALL: u64 = 1;
const TAG_PAGES: u64 = 2;

const PAGE: u64 = 4096;
/// Bytes sent or applied at once.
const CHUNK: usize = 64 << 10;

/// The most anonymous memory a process may have for its vfork to be a
/// fork: the fork copies its page tables and the child's end tears them
/// down, about 25 us per MiB on the Intel host (256 MiB: 6 ms a fork and
/// exit, a vfork 0.02 ms), against about 1.5 ms for the new tern an
/// exec from a vfork child costs otherwise. tern's own anonymous memory
/// counts: a shell under tern has 4 MiB, `python3` 13 MiB.
const FORK_MAX_ANON: u64 = 32 << 20;

/// True if this process is small enough for a vfork to be a fork
/// ([`FORK_MAX_ANON`]): its resident pages less its file and shared ones
/// (`/proc/self/statm`, counters the kernel keeps, read in one call).
pub(crate) fn small_enough() -> bool {
    let Ok(statm) = tern_translate::hostmem::read_proc("/proc/self/statm") else { return false };
    let mut fields =
        statm.split(|&b| b == b' ').map(|f| std::str::from_utf8(f).ok()?.trim().parse::<u64>().ok());
    let (Some(Some(resident)), Some(Some(shared))) = (fields.nth(1), fields.next()) else { return false };
    resident.saturating_sub(shared) * 4096 <= FORK_MAX_ANON
}

/// The parent's end of the socket, made before the host fork.
pub(crate) struct Waiter {
    parent: i32,
    child: i32,
}

impl Waiter {
    pub(crate) fn new() -> Result<Waiter, i32> {
        let mut fds = [-1; 2];
        // SAFETY: socketpair fills the two-element array.
        let r = unsafe {
            libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EAGAIN));
        }
        Ok(Waiter { parent: high(fds[0]), child: high(fds[1]) })
    }

    /// In the child: keeps its end (a host `execve` closes it: close on
    /// exec), notes whether its memory changes go back.
    pub(crate) fn in_child(self, copy_back: bool) {
        close(self.parent);
        PARENT_SOCKET.store(self.child, Ordering::Relaxed);
        COPY_BACK.store(copy_back, Ordering::Relaxed);
        MM_CALLS.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// In the parent, once the child runs: applies what the child reports
    /// until it execs or ends (its end closed). A guest signal that
    /// arrives meanwhile stays pending, as for a vfork parent.
    pub(crate) fn wait(self, p: &Process, cpu: &mut CpuState) {
        close(self.child);
        apply_reports(p, cpu, self.parent);
        close(self.parent);
    }

    /// The fork failed: neither end is used.
    pub(crate) fn drop_unused(self) {
        close(self.parent);
        close(self.child);
    }
}

/// `fd` moved to tern's descriptors (`fd.rs`), where the guest's next
/// descriptors are not (or left where it is if the limit is lower).
fn high(fd: i32) -> i32 {
    match crate::fd::private_dup(fd) {
        Ok(n) => {
            close(fd);
            n
        }
        Err(_) => fd,
    }
}

/// This child's socket to its parent, or -1.
pub(crate) fn socket() -> i32 {
    PARENT_SOCKET.load(Ordering::Relaxed)
}

/// True if `fd` is this child's socket to its parent, which the guest may
/// not close or replace (`fd.rs`).
pub(crate) fn is_socket(fd: u64) -> bool {
    u64::try_from(socket()).is_ok_and(|s| s == fd)
}

/// Moves the socket away from `fd` if the guest is about to reuse that
/// number (`dup2` onto it).
pub(crate) fn vacate(fd: u64) {
    if is_socket(fd) {
        if let Ok(n) = crate::fd::private_dup(fd as i32) {
            PARENT_SOCKET.store(n, Ordering::Relaxed);
        }
    }
}

fn close(fd: i32) {
    // SAFETY: a descriptor tern made for this exchange.
    unsafe { libc::close(fd) };
}

/// True in a child whose memory changes go back to its parent: the
/// syscall table notes its memory-map calls ([`note_call`]).
pub fn copying_back() -> bool {
    COPY_BACK.load(Ordering::Relaxed)
}

/// Notes call `nr` if it changes the memory map and succeeded.
pub fn note_call(nr: u64, args: [u64; 6], ret: i64) {
    const CALLS: [i64; 6] = [
        libc::SYS_brk,
        libc::SYS_mmap,
        libc::SYS_munmap,
        libc::SYS_mprotect,
        libc::SYS_mremap,
        libc::SYS_madvise,
    ];
    if ret >= 0 && CALLS.contains(&(nr as i64)) {
        MM_CALLS.lock().unwrap_or_else(|e| e.into_inner()).push(MmCall { nr, args, ret: ret as u64 });
    }
}

/// Before this child's `execve`: reports its memory changes so far to the
/// parent; `release` (an exec in place, past its point of no return) also
/// lets the parent go on. A host `execve` releases the parent by closing
/// the socket if it succeeds; if it fails, the child goes on and reports
/// again later.
pub fn before_exec(p: &Process, release: bool) {
    let fd = PARENT_SOCKET.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    if copying_back() {
        report(p, fd);
    }
    if release {
        forget();
    }
}

/// Before this child sends itself a signal the host delivers (one whose
/// default action may end it there, as `abort` does): a report, the parent
/// still waiting.
pub fn before_self_signal(p: &Process) {
    before_exec(p, false);
}

/// At this child's end: the last report, then the parent goes on.
pub fn at_exit(p: &Process) {
    before_exec(p, true);
}

/// In a new child of this child: the socket is the parent's business.
pub(crate) fn after_fork_child() {
    forget();
}

/// In a child of a fork with the host's CLONE_VFORK: see [`HOST_WAITS`].
pub(crate) fn host_vfork_child() {
    HOST_WAITS.store(true, Ordering::Relaxed);
}

/// True if this process's parent waits for a host `execve` or its end.
pub(crate) fn parent_waits_for_host_exec() -> bool {
    HOST_WAITS.load(Ordering::Relaxed)
}

fn forget() {
    HOST_WAITS.store(false, Ordering::Relaxed);
    let fd = PARENT_SOCKET.swap(-1, Ordering::Relaxed);
    COPY_BACK.store(false, Ordering::Relaxed);
    if fd >= 0 {
        close(fd);
    }
}

/// Sends the memory-map calls noted so far and the pages written.
fn report(p: &Process, fd: i32) {
    let calls = std::mem::take(&mut *MM_CALLS.lock().unwrap_or_else(|e| e.into_inner()));
    // What the child made read-only may have been written before.
    let reprotected: Vec<(u64, u64)> = calls
        .iter()
        .filter(|c| c.nr == libc::SYS_mprotect as u64)
        .map(|c| (c.args[0], c.args[0].saturating_add(c.args[1])))
        .collect();
    for c in calls {
        let mut words = vec![TAG_CALL, c.nr];
        words.extend(c.args);
        words.push(c.ret);
        if !send_words(fd, &words) {
            return;
        }
    }
    let mut buf = vec![0u8; CHUNK];
    for (start, end) in written_runs(p, &reprotected) {
        let mut at = start;
        while at < end {
            let want = ((end - at) as usize).min(CHUNK);
            let got = tern_translate::guestmem::read_guest(at, &mut buf[..want]) as u64 & !(PAGE - 1);
            if got > 0 && !(send_words(fd, &[TAG_PAGES, at, got]) && send_all(fd, &buf[..got as usize])) {
                return;
            }
            // A page that cannot be read (protected since) is skipped.
            at += got.max(PAGE);
        }
    }
}

/// The page runs of this process's guest mappings that it wrote since the
/// fork: present, anonymous (a private file page once written is) and
/// mapped by this process alone (`Documentation/admin-guide/mm/pagemap.rst`:
/// bits 63, 61 and 56). Only writable private mappings are read, and
/// those in `reprotected` (which the child's `mprotect` may have made
/// read-only since it wrote them): a `python3`'s read-only mappings (its
/// libraries' code) hold about twice the pages of its writable ones.
fn written_runs(p: &Process, reprotected: &[(u64, u64)]) -> Vec<(u64, u64)> {
    const PRESENT: u64 = 1 << 63;
    const FILE_OR_SHARED: u64 = 1 << 61;
    const EXCLUSIVE: u64 = 1 << 56;
    let Ok(f) = std::fs::File::open("/proc/self/pagemap") else { return Vec::new() };
    let mut runs: Vec<(u64, u64)> = Vec::new();
    let mut entries = vec![0u8; 512 * 8];
    for (start, end, prot) in p.jit.guest_mappings() {
        let written =
            prot & libc::PROT_WRITE != 0 || reprotected.iter().any(|&(lo, hi)| lo < end && start < hi);
        if prot & tern_translate::pages::SHARED_MAPPING != 0 || prot & libc::PROT_READ == 0 || !written {
            continue;
        }
        let mut page = start;
        while page < end {
            let n = ((end - page) / PAGE).min(512) as usize;
            let bytes = &mut entries[..n * 8];
            if std::os::unix::fs::FileExt::read_exact_at(&f, bytes, page / PAGE * 8).is_err() {
                break;
            }
            for (i, e) in bytes.chunks_exact(8).enumerate() {
                let e = u64::from_le_bytes(e.try_into().unwrap_or_default());
                if e & (PRESENT | FILE_OR_SHARED | EXCLUSIVE) != PRESENT | EXCLUSIVE {
                    continue;
                }
                let a = page + i as u64 * PAGE;
                match runs.last_mut() {
                    Some(last) if last.1 == a => last.1 = a + PAGE,
                    _ => runs.push((a, a + PAGE)),
                }
            }
            page += n as u64 * PAGE;
        }
    }
    runs
}

fn send_words(fd: i32, words: &[u64]) -> bool {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    send_all(fd, &bytes)
}

/// Sends `data` whole; false if the parent is gone. No SIGPIPE: the
/// guest must not see one for tern's own socket.
fn send_all(fd: i32, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        // SAFETY: data is valid for its length.
        let r = unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), libc::MSG_NOSIGNAL) };
        if r < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return false;
        }
        data = &data[r as usize..];
    }
    true
}

/// Fills `buf` from the socket; false at its end (or an error).
fn recv_all(fd: i32, buf: &mut [u8]) -> bool {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the unfilled part of buf is valid for writing.
        let r = unsafe { libc::recv(fd, buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        if r <= 0 {
            return false;
        }
        done += r as usize;
    }
    true
}

fn recv_words<const N: usize>(fd: i32) -> Option<[u64; N]> {
    let mut b = vec![0u8; N * 8];
    if !recv_all(fd, &mut b) {
        return None;
    }
    let mut w = [0u64; N];
    for (w, b) in w.iter_mut().zip(b.chunks_exact(8)) {
        *w = u64::from_le_bytes(b.try_into().unwrap_or_default());
    }
    Some(w)
}

/// The parent's side: applies each record as it comes, until the child's
/// end of the socket closes.
fn apply_reports(p: &Process, cpu: &mut CpuState, fd: i32) {
    let mut buf = vec![0u8; CHUNK];
    while let Some([tag]) = recv_words::<1>(fd) {
        let ok = match tag {
            TAG_CALL => recv_words::<8>(fd).is_some_and(|w| {
                let c = MmCall { nr: w[0], args: [w[1], w[2], w[3], w[4], w[5], w[6]], ret: w[7] };
                replay(p, cpu, c);
                true
            }),
            TAG_PAGES => recv_words::<2>(fd).is_some_and(|[addr, len]| {
                let mut at = addr;
                let end = addr.saturating_add(len);
                while at < end {
                    let n = ((end - at) as usize).min(CHUNK);
                    if !recv_all(fd, &mut buf[..n]) {
                        return false;
                    }
                    write_back(p, at, &buf[..n]);
                    at += n as u64;
                }
                true
            }),
            _ => false,
        };
        if !ok {
            break;
        }
    }
    // Whatever is left (a report cut short) is not applied; the parent
    // still waits for the child's end.
    while recv_all(fd, &mut buf[..1]) {}
}

/// Writes the child's bytes over the parent's at `addr`, its translations
/// of them dropped first (the child may have written code).
fn write_back(p: &Process, addr: u64, data: &[u8]) {
    let end = addr + data.len() as u64;
    p.jit.invalidate_range(addr, end);
    if tern_translate::guestmem::write_guest(addr, data) {
        return;
    }
    // Read-only here (the child wrote, then protected it: its `mprotect`
    // was made again above): as the kernel writes through
    // `/proc/self/mem`.
    let written = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/mem")
        .and_then(|f| std::os::unix::fs::FileExt::write_all_at(&f, data, addr));
    if let Err(e) = written {
        tracing::warn!(
            "tern: a vfork child's write at {addr:#x} ({} bytes) not copied back: {e}",
            data.len()
        );
    }
}

/// Makes the child's memory-map call `c` again in the parent, at the
/// address the child's got.
fn replay(p: &Process, cpu: &mut CpuState, c: MmCall) {
    let mut a = c.args;
    match c.nr as i64 {
        libc::SYS_mmap => {
            let flags = a[3] as i32;
            if flags & libc::MAP_ANONYMOUS == 0 || flags & libc::MAP_SHARED != 0 {
                tracing::warn!(
                    "tern: a vfork child's file or shared mmap at {:#x} is not made in its parent",
                    c.ret
                );
                return;
            }
            let fixed =
                if flags & libc::MAP_FIXED != 0 { libc::MAP_FIXED } else { libc::MAP_FIXED_NOREPLACE };
            a[0] = c.ret;
            a[3] = (flags | fixed) as u64;
        }
        libc::SYS_mremap if c.ret != a[0] => {
            a[3] |= (libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED) as u64;
            a[4] = c.ret;
        }
        _ => {}
    }
    let (_, r) = crate::table::call(p, cpu, c.nr, a);
    let same = match c.nr as i64 {
        libc::SYS_brk | libc::SYS_mmap | libc::SYS_mremap => r as u64 == c.ret,
        _ => r >= 0,
    };
    if !same {
        tracing::warn!(
            "tern: a vfork child's syscall {} made again in its parent gave {r:#x}, not {:#x}",
            c.nr,
            c.ret
        );
    }
}
