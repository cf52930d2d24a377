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
pub(crate) const PR_SET_SYSCALL_USER_DISPATCH: u64 = 59;
const PR_SET_MDWE: u64 = 65;
const PR_GET_MDWE: u64 = 66;
const PR_GET_TID_ADDRESS: u64 = 40;
const PR_GET_AUXV: u64 = 0x4155_5856;
const PR_SET_MM: u64 = libc::PR_SET_MM as u64;

/// `prctl`: passed through, except options that would apply to tern's own
/// syscalls or code cache, which get EINVAL as from a kernel without them
/// (`kernel/sys.c` answers an option it does not know, such as MDWE on
/// older kernels, with EINVAL): MDWE would forbid the code cache's
/// executable mappings. Seccomp's options and syscall user dispatch are
/// the guest's, run by tern (`seccomp.rs`, `user_dispatch.rs`: the host's
/// would filter or trap tern's own calls). Two options answer with the guest's own state,
/// not the host thread's: `PR_GET_TID_ADDRESS` (the guest's
/// `clear_child_tid`, which tern keeps: the host's is glibc's, in tern's
/// memory, and a guest that set it back with `set_tid_address` was never
/// woken from `pthread_join`, stress-ng's pthread stressor) and
/// `PR_GET_AUXV` (the guest's auxiliary vector, where the host has the
/// option). `PR_SET_MM`'s options that move the program break apply to
/// the guest's break ([`set_mm`]).
pub fn prctl(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    match a[0] & 0xffff_ffff {
        PR_GET_SECCOMP => crate::seccomp::prctl_get(),
        PR_SET_SECCOMP => crate::seccomp::prctl_set(a[1], a[2]),
        PR_SET_SYSCALL_USER_DISPATCH => crate::user_dispatch::prctl_set(a[1], a[2], a[3], a[4]),
        PR_SET_MDWE | PR_GET_MDWE => Err(libc::EINVAL),
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
        PR_SET_MM => set_mm(p, a),
        _ => result(host_syscall(libc::SYS_prctl as u64, a)),
    }
}

/// `struct prctl_mm_map` of `<linux/prctl.h>` (the libc crate has the
/// option's number but not the structure).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct PrctlMmMap {
    pub start_code: u64,
    pub end_code: u64,
    pub start_data: u64,
    pub end_data: u64,
    pub start_brk: u64,
    pub brk: u64,
    pub start_stack: u64,
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
    /// The address of the auxiliary vector's bytes.
    pub auxv: u64,
    pub auxv_size: u32,
    pub exe_fd: u32,
}

/// The host process's program break (`mm->start_brk`, `mm->brk`): tern's
/// own heap. `start_brk` is the 47th field of `/proc/self/stat`.
pub fn host_break() -> Option<(u64, u64)> {
    let stat = tern_translate::hostmem::read_proc("/proc/self/stat").ok()?;
    let start = stat_field(&stat, 47)?;
    // SAFETY: brk(0) only reports the current break.
    let cur = unsafe { libc::syscall(libc::SYS_brk, 0) } as u64;
    Some((start, cur))
}

/// Field `n` (1-based, as in proc(5)) of a `/proc/PID/stat` line.
pub(crate) fn stat_field(text: &[u8], n: usize) -> Option<u64> {
    let close = text.iter().rposition(|&b| b == b')')?;
    let field = text.get(close + 2..)?.split(|&b| b == b' ').nth(n.checked_sub(3)?)?;
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

/// `PR_SET_MM`. The kernel's program break is tern's heap (the guest's is
/// emulated, `mm::brk`), so the options that set it
/// (`PR_SET_MM_START_BRK`, `PR_SET_MM_BRK`, and the break of
/// `PR_SET_MM_MAP`) reach the host with tern's own values, for the kernel's
/// permission and validity checks, and on success set the guest's break.
/// A break range over tern's memory is refused with EINVAL (growing or
/// shrinking it would map or unmap tern's). The other options are the
/// guest's to set: they change only what `/proc` shows.
fn set_mm(p: &Process, a: [u64; 6]) -> SysResult {
    const MAP_SIZE: usize = std::mem::size_of::<PrctlMmMap>();
    let (opt, addr) = (a[1], a[2]);
    if !matches!(opt as i32, libc::PR_SET_MM_START_BRK | libc::PR_SET_MM_BRK | libc::PR_SET_MM_MAP) {
        return result(host_syscall(libc::SYS_prctl as u64, a));
    }
    let (start, cur) = host_break().ok_or(libc::ENOMEM)?;
    let (host, guest) = match opt as i32 {
        libc::PR_SET_MM_START_BRK => ([a[0], opt, start, a[3], a[4], 0], (Some(addr), None)),
        libc::PR_SET_MM_BRK => ([a[0], opt, cur, a[3], a[4], 0], (None, Some(addr))),
        libc::PR_SET_MM_MAP if a[3] as usize == MAP_SIZE => {
            let mut bytes = [0u8; MAP_SIZE];
            if tern_translate::guestmem::read_guest(addr, &mut bytes) != MAP_SIZE {
                return Err(libc::EFAULT);
            }
            // SAFETY: PrctlMmMap is plain u64/u32 fields, any bytes valid.
            let mut map: PrctlMmMap = unsafe { std::mem::transmute(bytes) };
            let wanted = (Some(map.start_brk), Some(map.brk));
            (map.start_brk, map.brk) = (start, cur);
            let r = host_syscall(
                libc::SYS_prctl as u64,
                [a[0], opt, std::ptr::addr_of!(map) as u64, a[3], a[4], 0],
            );
            return result(r).and_then(|_| set_guest_break(p, wanted));
        }
        _ => return result(host_syscall(libc::SYS_prctl as u64, a)),
    };
    result(host_syscall(libc::SYS_prctl as u64, host))?;
    set_guest_break(p, guest)
}

/// Sets the guest's break to start at `start` and stand at `cur` (each if
/// given), as `PR_SET_MM` sets `mm->start_brk` and `mm->brk`.
fn set_guest_break(p: &Process, (start, cur): (Option<u64>, Option<u64>)) -> SysResult {
    let mut b = p.brk.lock().unwrap_or_else(|e| e.into_inner());
    let (start, cur) = (start.unwrap_or(b.start), cur.unwrap_or(b.cur));
    let (lo, hi) = (start.min(cur), start.max(cur));
    if guard::overlaps(&guard::tern_memory(), lo, hi - lo + 1) {
        return Err(libc::EINVAL);
    }
    b.start = start;
    b.cur = cur;
    b.mapped = crate::mm::page_up(cur);
    Ok(0)
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

#[cfg(test)]
mod tests {
    use super::stat_field;

    #[test]
    fn stat_fields_after_the_name() {
        let line = b"42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 5 1000 50 \
            18446744073709551615 4194304 4198400 140737488347136 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 \
            6299648 6300000 6303744 140737488349000 140737488349100 140737488349100 140737488350000 0\n";
        assert_eq!(stat_field(line, 3), None, "the state is not a number");
        assert_eq!(stat_field(line, 4), Some(1));
        assert_eq!(stat_field(line, 26), Some(4194304));
        assert_eq!(stat_field(line, 47), Some(6303744));
        assert_eq!(stat_field(line, 52), Some(0));
        assert_eq!(stat_field(line, 53), None);
        assert_eq!(stat_field(b"1 (x", 4), None);
    }
}
