//! Calls that would reach tern's own state if passed through as they are:
//! `prctl` options that filter or trap every syscall of the process (tern's
//! included), `personality` flags that change how memory is mapped, and
//! `process_vm_readv`/`writev`, whose iovecs the table cannot describe.
//! (`ptrace` and `io_uring_*` are refused in the table itself; seccomp is
//! `seccomp.rs`, Linux AIO `aio.rs`.)

use crate::{guard, host_syscall, result, Process, SysResult};
use tern_translate::cpu::CpuState;

const PR_GET_SECCOMP: u64 = 21;
const PR_SET_SECCOMP: u64 = 22;
const PR_SET_SYSCALL_USER_DISPATCH: u64 = 59;
const PR_SET_MDWE: u64 = 65;
const PR_GET_MDWE: u64 = 66;
const PR_GET_TID_ADDRESS: u64 = 40;
const PR_GET_AUXV: u64 = 0x4155_5856;

/// `prctl`: passed through, except options that would apply to tern's own
/// syscalls or code cache, which get EINVAL as from a kernel without them
/// (`kernel/sys.c` answers an option it does not know, such as syscall
/// user dispatch or MDWE on older kernels, with EINVAL): syscall user
/// dispatch would trap tern's own calls, and MDWE would forbid the code
/// cache's executable mappings. Seccomp's options are the guest's, run by
/// tern (`seccomp.rs`). Two options answer with the guest's own state,
/// not the host thread's: `PR_GET_TID_ADDRESS` (the guest's
/// `clear_child_tid`, which tern keeps: the host's is glibc's, in tern's
/// memory, and a guest that set it back with `set_tid_address` was never
/// woken from `pthread_join`, stress-ng's pthread stressor) and
/// `PR_GET_AUXV` (the guest's auxiliary vector, where the host has the
/// option).
pub fn prctl(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    match a[0] & 0xffff_ffff {
        PR_GET_SECCOMP => crate::seccomp::prctl_get(),
        PR_SET_SECCOMP => crate::seccomp::prctl_set(a[1], a[2]),
        PR_SET_SYSCALL_USER_DISPATCH | PR_SET_MDWE | PR_GET_MDWE => Err(libc::EINVAL),
        PR_GET_TID_ADDRESS => {
            let addr = crate::thread::clear_child_tid();
            if tern_translate::guestmem::write_guest(a[1], &addr.to_le_bytes()) {
                Ok(0)
            } else {
                Err(libc::EFAULT)
            }
        }
        PR_GET_AUXV => {
            // `kernel/sys.c: prctl_get_auxv()`: arguments 4 and 5 must be
            // 0; it copies what fits of the saved vector (a fixed-size
            // array, zero after the end entry) and returns the array's
            // size, which the host call gives.
            let size = result(host_syscall(libc::SYS_prctl as u64, [a[0], 0, 0, a[3], a[4], 0]))? as usize;
            let mut saved = p.auxv.clone();
            saved.resize(size, 0);
            let n = size.min(a[2] as usize);
            if n > 0 && !tern_translate::guestmem::write_guest(a[1], &saved[..n]) {
                return Err(libc::EFAULT);
            }
            Ok(size as u64)
        }
        _ => result(host_syscall(libc::SYS_prctl as u64, a)),
    }
}

/// `READ_IMPLIES_EXEC` in a personality: `mmap` and `mprotect` add
/// PROT_EXEC to readable memory (`mm/mmap.c: do_mmap()`).
const READ_IMPLIES_EXEC: u32 = 0x0400000;

/// `personality`: passed through, so the host kernel applies the flags to
/// the guest's memory calls and to the programs it execs as it would
/// natively; tern's map then adds PROT_EXEC as the kernel does under
/// `READ_IMPLIES_EXEC` (see [`prot_as_mapped`]). The address-limit flags
/// have no effect on x86-64 processes.
pub fn personality(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    result(host_syscall(libc::SYS_personality as u64, a))
}

/// The protection the kernel gives memory mapped or reprotected with
/// `prot` under the current personality.
pub fn prot_as_mapped(prot: i32) -> i32 {
    // SAFETY: 0xffffffff only queries the personality.
    let persona = unsafe { libc::personality(0xffff_ffff) } as u32;
    if persona & READ_IMPLIES_EXEC != 0 && prot & libc::PROT_READ != 0 {
        prot | libc::PROT_EXEC
    } else {
        prot
    }
}

/// The remote iovecs of a call on this very process are checked like the
/// local ones (another process's addresses mean nothing here).
fn is_self(pid: u64) -> bool {
    // SAFETY: getpid has no preconditions.
    pid as i32 == unsafe { libc::getpid() }
}

/// `process_vm_readv(pid, local, liovcnt, remote, riovcnt, flags)`: the
/// kernel writes the local buffers.
pub fn process_vm_readv(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    guard::check_iov(p, cpu, a[1], a[2], true)?;
    if is_self(a[0]) {
        guard::check_iov(p, cpu, a[3], a[4], false)?;
    }
    result(host_syscall(libc::SYS_process_vm_readv as u64, a))
}

/// `process_vm_writev`: the kernel writes the remote buffers.
pub fn process_vm_writev(p: &Process, cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    guard::check_iov(p, cpu, a[1], a[2], false)?;
    if is_self(a[0]) {
        guard::check_iov(p, cpu, a[3], a[4], true)?;
    }
    result(host_syscall(libc::SYS_process_vm_writev as u64, a))
}
