//! The guest's memory as `/proc/self/status` (its `Vm*` and `Rss*` lines)
//! and `/proc/self/statm` count it: sums over the guest's own mappings
//! (`proc::guest_maps`' `smaps`), as `fs/proc/task_mmu.c: task_mem()` and
//! `task_statm()` sum a process's. The host's figures count tern's memory
//! too: its code cache's views alone are gigabytes of address space, so a
//! `cat /proc/self/status` showed `VmSize` 2.6 GB where natively it is 3 MB.
//!
//! `VmLck`, `VmPin` and `VmPTE` stay the host's. The peaks (`VmPeak`,
//! `VmHWM`) are the highest sums seen at a read since the program started
//! (the kernel's are kept at every change; tern does not watch the
//! guest's resident set between reads).

use crate::Process;
use std::sync::atomic::{AtomicU64, Ordering};
use tern_translate::hostmem::maps_range;

/// Sums of the guest's mappings, in kB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sums {
    /// All of them (`total_vm`).
    size: u64,
    /// Resident pages (`Rss`), and those anonymous and of shared memory.
    rss: u64,
    anon: u64,
    shmem: u64,
    /// Private writable mappings but the stack (`data_vm`).
    data: u64,
    /// The stack (`stack_vm`).
    stack: u64,
    /// Executable, not writable, not the stack (`exec_vm`), and of those
    /// the program's own (its text, `VmExe`).
    exec: u64,
    text: u64,
    swap: u64,
}

/// The peaks reported so far (`VmPeak`, `VmHWM`), in kB.
static PEAK_SIZE: AtomicU64 = AtomicU64::new(0);
static PEAK_RSS: AtomicU64 = AtomicU64::new(0);

/// A new program starts (the kernel's new `mm` after `execve`): the
/// peaks start again.
pub(crate) fn reset_peaks() {
    PEAK_SIZE.store(0, Ordering::Relaxed);
    PEAK_RSS.store(0, Ordering::Relaxed);
}

/// Shared memory as the kernel counts it (`RssShmem`): shared anonymous
/// mappings, memfds, System V segments.
pub(crate) fn is_shmem(name: &str) -> bool {
    ["/dev/zero", "/memfd:", "/SYSV"].iter().any(|s| name.starts_with(s))
}

/// A field line of `smaps` in kB ("Rss:   8 kB"): its key, without the
/// colon, and value.
pub(crate) fn smaps_field(line: &str) -> Option<(&str, u64)> {
    let mut f = line.split_whitespace();
    let (Some(key), Some(kb), Some("kB")) =
        (f.next(), f.next().and_then(|v| v.parse::<u64>().ok()), f.next())
    else {
        return None;
    };
    Some((key.trim_end_matches(':'), kb))
}

/// Sums `smaps` text (`exe`: the program's path, whose executable
/// mappings are its text).
fn sum(smaps: &str, exe: &str) -> Sums {
    let mut s = Sums::default();
    let mut shmem = false;
    for line in smaps.lines() {
        if let Some((a, b)) = maps_range(line) {
            let perms = line.split_whitespace().nth(1).unwrap_or("").as_bytes();
            let name = line.split_whitespace().skip(5).collect::<Vec<_>>().join(" ");
            let name = name.as_str();
            let kb = (b - a) / 1024;
            let (write, exec, private) =
                (perms.get(1) == Some(&b'w'), perms.get(2) == Some(&b'x'), perms.get(3) == Some(&b'p'));
            let stack = name == "[stack]";
            if name == "[vsyscall]" {
                shmem = false;
                continue;
            }
            s.size += kb;
            if stack {
                s.stack += kb;
            } else if write && private {
                s.data += kb;
            } else if exec && !write {
                s.exec += kb;
                if name == exe {
                    s.text += kb;
                }
            }
            shmem = is_shmem(name);
            continue;
        }
        let Some((key, kb)) = smaps_field(line) else { continue };
        match key {
            "Rss" => {
                s.rss += kb;
                if shmem {
                    s.shmem += kb;
                }
            }
            "Anonymous" => s.anon += kb,
            "Swap" => s.swap += kb,
            _ => {}
        }
    }
    s
}

/// The guest's sums now.
pub(crate) fn guest_sums(p: &Process) -> Sums {
    let smaps = crate::proc::guest_maps(p, "smaps");
    sum(&String::from_utf8_lossy(&smaps), &p.exe.to_string_lossy())
}

/// The `Vm*`/`Rss*` line of `status` for `key` (with its colon), if it is
/// one tern answers, from `s` and the peaks.
pub(crate) fn status_line(key: &[u8], s: &Sums) -> Option<String> {
    let file = s.rss.saturating_sub(s.anon + s.shmem);
    let v = match key {
        b"VmPeak:" => PEAK_SIZE.fetch_max(s.size, Ordering::Relaxed).max(s.size),
        b"VmSize:" => s.size,
        b"VmHWM:" => PEAK_RSS.fetch_max(s.rss, Ordering::Relaxed).max(s.rss),
        b"VmRSS:" => s.rss,
        b"RssAnon:" => s.anon,
        b"RssFile:" => file,
        b"RssShmem:" => s.shmem,
        b"VmData:" => s.data,
        b"VmStk:" => s.stack,
        b"VmExe:" => s.text,
        b"VmLib:" => s.exec - s.text,
        b"VmSwap:" => s.swap,
        _ => return None,
    };
    let key = String::from_utf8_lossy(key);
    // `fs/proc/task_mmu.c: task_mem()`: the value right-aligned in 8.
    Some(format!("{key}\t{v:>8} kB\n"))
}

/// `/proc/self/statm` (`task_statm()`): size, resident, shared (file and
/// shared memory), text, lib (0), data (data and stack), dt (0), in pages.
pub(crate) fn statm(s: &Sums) -> Vec<u8> {
    let pages = |kb: u64| kb / 4;
    let shared = s.rss.saturating_sub(s.anon);
    format!(
        "{} {} {} {} 0 {} 0\n",
        pages(s.size),
        pages(s.rss),
        pages(shared),
        pages(s.text),
        pages(s.data + s.stack)
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_follow_the_kernels_classes() {
        let smaps = "\
555555554000-555555556000 r--p 00000000 fe:00 1 /usr/bin/cat
Rss:                   8 kB
Anonymous:             0 kB
555555556000-55555555b000 r-xp 00002000 fe:00 1 /usr/bin/cat
Rss:                  20 kB
555555560000-555555581000 rw-p 00000000 00:00 0                          [heap]
Rss:                   8 kB
Anonymous:             8 kB
7ffff7dd0000-7ffff7f26000 r-xp 00026000 fe:00 2 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                 900 kB
7ffff7f80000-7ffff7f90000 rw-s 00000000 00:01 3 /dev/zero (deleted)
Rss:                  16 kB
Swap:                  4 kB
7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]
Rss:                  12 kB
Anonymous:            12 kB
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
Rss:                   0 kB
";
        let s = sum(smaps, "/usr/bin/cat");
        assert_eq!(
            s,
            Sums {
                size: 8 + 20 + 132 + 1368 + 64 + 132,
                rss: 964,
                anon: 20,
                shmem: 16,
                data: 132,
                stack: 132,
                exec: 1388,
                text: 20,
                swap: 4
            }
        );
        let line = |k: &[u8]| status_line(k, &s).unwrap();
        assert_eq!(line(b"VmSize:"), "VmSize:\t    1724 kB\n");
        assert_eq!(line(b"RssFile:"), "RssFile:\t     928 kB\n");
        assert_eq!(line(b"VmLib:"), "VmLib:\t    1368 kB\n");
        assert_eq!(status_line(b"VmPTE:", &s), None);
        assert_eq!(statm(&s), b"431 241 236 5 0 66 0\n");
    }
}
