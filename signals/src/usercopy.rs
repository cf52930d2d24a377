//! Copies to and from guest memory that fail instead of crashing, without a
//! host syscall: the kernel's `copy_to_user`/`copy_from_user` with their
//! exception table (`arch/x86/lib/copy_user_64.S`, `fixup_exception()`).
//!
//! One `rep movsb` does the copy. A fault on it (an unmapped or protected
//! guest page) reaches tern's fault handler, which sees the host pc at
//! that instruction ([`fixup`]) and resumes at a landing pad that returns
//! the number of bytes left, so the caller reports a bad address as the
//! kernel would. Signal frames are written and read this way (two copies
//! per delivery instead of a dozen `process_vm_readv`/`writev` calls).
//! Before the fault handlers are installed (unit tests, early startup)
//! the copies go through `guestmem`'s `process_vm_*` path instead.
//!
//! What the copy must not do: touch tern's own memory for the guest (the
//! callers check that first) or run anywhere the fault handler cannot reach
//! (a host SIGSEGV/SIGBUS is never blocked: `mask::RESERVED`).

use std::sync::atomic::{AtomicBool, Ordering};
use tern_translate::guestmem::{read_guest, write_guest};

std::arch::global_asm!(
    // rdi = destination, rsi = source, rdx = length; rax = bytes not copied.
    ".globl tern_user_copy",
    "tern_user_copy:",
    "mov rcx, rdx",
    ".globl tern_user_copy_insn",
    "tern_user_copy_insn:",
    "rep movsb",
    "xor eax, eax",
    "ret",
    ".globl tern_user_copy_fixup",
    "tern_user_copy_fixup:",
    // rep movsb leaves rcx at the count not yet copied when it faults.
    "mov rax, rcx",
    "ret",
);

extern "C" {
    fn tern_user_copy(dst: *mut u8, src: *const u8, len: usize) -> usize;
    fn tern_user_copy_insn();
    fn tern_user_copy_fixup();
}

/// Highest user address plus one (`TASK_SIZE_MAX`): nothing above is
/// guest memory (`access_ok()`).
const TASK_SIZE: u64 = 0x7fff_ffff_f000;

fn user_range(addr: u64, len: usize) -> bool {
    addr.checked_add(len as u64).is_some_and(|end| end <= TASK_SIZE)
}

static ARMED: AtomicBool = AtomicBool::new(false);

/// The fault handlers are in place: faults in the copy are recoverable.
pub(crate) fn arm() {
    ARMED.store(true, Ordering::Release);
    tern_translate::guestmem::install_copy(tern_user_copy);
}

/// Where a fault at host pc `pc` resumes, if `pc` is the copy's
/// instruction. Async-signal-safe.
pub(crate) fn fixup(pc: u64) -> Option<u64> {
    (pc == tern_user_copy_insn as *const () as u64).then_some(tern_user_copy_fixup as *const () as u64)
}

/// Copies `data` to guest address `addr`. False if any byte could not be
/// written.
pub fn put(addr: u64, data: &[u8]) -> bool {
    if !user_range(addr, data.len()) {
        return false;
    }
    if !ARMED.load(Ordering::Acquire) {
        return write_guest(addr, data);
    }
    // SAFETY: the source is a valid buffer; a fault on the destination is
    // caught by the fault handler and turned into a short copy (`fixup`).
    unsafe { tern_user_copy(addr as *mut u8, data.as_ptr(), data.len()) == 0 }
}

/// Fills `buf` from guest address `addr`. False if any byte could not be
/// read.
pub fn get(addr: u64, buf: &mut [u8]) -> bool {
    if !user_range(addr, buf.len()) {
        return false;
    }
    if !ARMED.load(Ordering::Acquire) {
        return read_guest(addr, buf) == buf.len();
    }
    // SAFETY: the destination is a valid buffer; a fault on the source is
    // caught by the fault handler and turned into a short copy (`fixup`).
    unsafe { tern_user_copy(buf.as_mut_ptr(), addr as *const u8, buf.len()) == 0 }
}
