//! What other processes see of a tern process in /proc: the guest
//! program's name (`comm`, what `pkill`, `pgrep` and `killall` match by
//! default, `ps -o comm`), its command line and environment
//! (`/proc/PID/cmdline`, what `pgrep -f`, `pkill -f` and `ps` show, and
//! `/proc/PID/environ`), its auxiliary vector (`/proc/PID/auxv`) and the
//! addresses `/proc/PID/stat` gives (code, data, start of the stack), all
//! the guest's instead of tern's own. The kernel gives a new program the
//! basename of the path it was exec'd by as its name; tern sets it with
//! `PR_SET_NAME`. The rest the kernel reads from the process's `mm`
//! fields, which `prctl(PR_SET_MM, PR_SET_MM_MAP)` points at the guest's
//! strings and ranges, so a guest that rewrites its arguments in place
//! (`setproctitle`, as postgres or sshd do) shows its new title as
//! natively. Where that call is refused (a kernel without
//! `CONFIG_CHECKPOINT_RESTORE`), tern writes the guest's arguments over
//! its own on its initial stack (they always fit: tern's command line
//! holds the guest's), with the rest of tern's zeroed, so that
//! `/proc/PID/cmdline` reads the guest's arguments followed by a few empty
//! ones. The program break stays tern's: its own allocator grows it. (A
//! `/proc/self` read by the guest itself is answered by `syscalls::proc`.)

use std::ffi::{c_char, c_int};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// tern's `argv` and `argc`, as glibc passed them to `.init_array`.
static ARGV: AtomicPtr<*const c_char> = AtomicPtr::new(std::ptr::null_mut());
static ARGC: AtomicUsize = AtomicUsize::new(0);

/// Runs from `.init_array`: glibc calls it with `main`'s arguments.
extern "C" fn record_argv(argc: c_int, argv: *const *const c_char, _envp: *const *const c_char) {
    ARGV.store(argv.cast_mut(), Ordering::Relaxed);
    ARGC.store(usize::try_from(argc).unwrap_or(0), Ordering::Relaxed);
}

#[link_section = ".init_array"]
#[used]
static RECORD_ARGV: extern "C" fn(c_int, *const *const c_char, *const *const c_char) = record_argv;

/// The guest's values of the `mm` fields `/proc/PID/*` shows.
pub struct GuestMm<'a> {
    /// `start_code`, `end_code` (None: the program has no executable
    /// segment, and the kernel's would be meaningless).
    pub code: Option<(u64, u64)>,
    pub data: (u64, u64),
    /// The initial stack pointer (`mm->start_stack`).
    pub start_stack: u64,
    pub args: (u64, u64),
    pub env: (u64, u64),
    /// The auxiliary vector as stored on the stack, its end entry included.
    pub auxv: &'a [u8],
}

/// Points the process's `mm` fields at the guest's (see the module doc);
/// false if the kernel refused. `kernel/sys.c: prctl_set_mm_map()` needs no
/// privilege for these fields (only a new `exe_fd` would, and -1 leaves it),
/// and checks only that each lies in user space and that the pairs are
/// ordered; the auxiliary vector is left out where it is larger than the
/// kernel's copy of it.
fn publish(mm: &GuestMm) -> bool {
    let Some((start_code, end_code)) = mm.code else { return false };
    // The break is tern's own heap: keep the kernel's values.
    let Some((start_brk, _)) = tern_syscalls::ctl::host_break() else { return false };
    let mut map = tern_syscalls::ctl::PrctlMmMap {
        start_code,
        end_code,
        start_data: mm.data.0,
        end_data: mm.data.1,
        start_brk,
        brk: 0,
        start_stack: mm.start_stack,
        arg_start: mm.args.0,
        arg_end: mm.args.1,
        env_start: mm.env.0,
        env_end: mm.env.1,
        auxv: mm.auxv.as_ptr() as u64,
        auxv_size: u32::try_from(mm.auxv.len()).unwrap_or(0),
        exe_fd: u32::MAX,
    };
    for with_auxv in [true, false] {
        if !with_auxv {
            (map.auxv, map.auxv_size) = (0, 0);
        }
        // SAFETY: brk(0) only reports the current break (read again for
        // each call: tern's other threads may have moved it).
        map.brk = unsafe { libc::syscall(libc::SYS_brk, 0) } as u64;
        // SAFETY: the kernel reads `map` (its size given) and the auxv bytes
        // it points to, both alive for the call.
        let r = unsafe {
            libc::prctl(
                libc::PR_SET_MM,
                libc::PR_SET_MM_MAP as libc::c_ulong,
                std::ptr::addr_of!(map) as libc::c_ulong,
                std::mem::size_of::<tern_syscalls::ctl::PrctlMmMap>() as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        if r == 0 {
            return true;
        }
    }
    false
}

/// Names the process after `path` (the kernel's `kbasename`, cut to 15
/// bytes) and shows the guest's command line, environment, auxiliary
/// vector and addresses (`mm`).
pub fn set(path: &[u8], argv: &[Vec<u8>], mm: &GuestMm) {
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let mut comm = [0u8; 16];
    let n = base.len().min(15);
    comm[..n].copy_from_slice(&base[..n]);
    // The name last: another process that sees it (waiting for a child's
    // exec to show) then also sees the rest, as after a native exec.
    let set_name = || {
        // SAFETY: PR_SET_NAME reads a NUL-terminated name of at most 16
        // bytes.
        unsafe { libc::prctl(libc::PR_SET_NAME, comm.as_ptr()) };
    };
    if publish(mm) {
        set_name();
        return;
    }
    set_name();
    let (argv0, argc) = (ARGV.load(Ordering::Relaxed), ARGC.load(Ordering::Relaxed));
    if argv0.is_null() || argc == 0 {
        return;
    }
    // SAFETY: argv holds argc pointers to the NUL-terminated strings the
    // kernel laid out one after the other on the initial stack, from
    // argv[0] to the NUL of argv[argc-1] (`/proc/PID/cmdline`'s range);
    // nothing of tern reads them any more (the command line was parsed
    // into owned strings), and the new contents fit that range.
    unsafe {
        let start = *argv0 as *mut u8;
        let last = *argv0.add(argc - 1);
        let end = (last as *mut u8).add(libc::strlen(last) + 1);
        let room = end.offset_from(start) as usize;
        let cmdline: Vec<u8> = argv.iter().flat_map(|a| a.iter().copied().chain([0])).collect();
        if cmdline.len() <= room && !cmdline.is_empty() {
            std::ptr::copy_nonoverlapping(cmdline.as_ptr(), start, cmdline.len());
            std::ptr::write_bytes(start.add(cmdline.len()), 0, room - cmdline.len());
        }
    }
}
