//! What other processes see of a tern process in /proc: the guest
//! program's name (`comm`, what `pkill`, `pgrep` and `killall` match by
//! default, `ps -o comm`) and its command line (`/proc/PID/cmdline`, what
//! `pgrep -f`, `pkill -f` and `ps` show), instead of tern's own. The
//! kernel gives a new program the basename of the path it was exec'd by as
//! its name, and reads the command line from the process's initial stack;
//! tern sets the first with `PR_SET_NAME` and writes the guest's arguments
//! over its own there (they always fit: tern's command line holds the
//! guest's), with the rest of tern's zeroed, so that `/proc/PID/cmdline`
//! reads the guest's arguments followed by a few empty ones. (A
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

/// Names the process after `path` (the kernel's `kbasename`, cut to 15
/// bytes) and shows `argv` as its command line.
pub fn set(path: &[u8], argv: &[Vec<u8>]) {
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let mut comm = [0u8; 16];
    let n = base.len().min(15);
    comm[..n].copy_from_slice(&base[..n]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated name of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, comm.as_ptr()) };
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
