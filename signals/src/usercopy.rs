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
//! The copies are `guestmem`'s: direct on guest threads once the fault
//! handlers are installed, through its `process_vm_*` path elsewhere
//! (unit tests, early startup, a thread on its way out).
//!
//! What the copy must not do: touch tern's own memory for the guest (the
//! callers check that first) or run anywhere the fault handler cannot reach
//! (a host SIGSEGV/SIGBUS is never blocked: `mask::RESERVED`).

use tern_translate::guestmem::{read_guest, write_guest, TASK_SIZE};

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

fn user_range(addr: u64, len: usize) -> bool {
    addr.checked_add(len as u64).is_some_and(|end| end <= TASK_SIZE)
}

/// The fault handlers are in place: faults in the copy are recoverable,
/// and guest threads copy through it (`guestmem::direct_copies`).
pub(crate) fn arm() {
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
    user_range(addr, data.len()) && write_guest(addr, data)
}

/// Fills `buf` from guest address `addr`. False if any byte could not be
/// read.
pub fn get(addr: u64, buf: &mut [u8]) -> bool {
    user_range(addr, buf.len()) && read_guest(addr, buf) == buf.len()
}
