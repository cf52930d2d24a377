//! What a guest sees of *another* tern process's program in /proc: the
//! `exe` link of a process tern runs names tern's own binary, since the
//! kernel set it at tern's exec and only a privileged caller may change
//! it (and not while tern's binary is mapped). A guest asking about
//! another guest (`readlink /proc/PID/exe` from a shell's child, `ps`,
//! psutil's `Process.exe()`) is shown that guest's program instead, found
//! the way the kernel would have named it: the file mapped at the entry
//! point of the process's auxiliary vector (which `proc_title` points at
//! the guest's), in its `maps`. A process tern does not run, or one whose
//! /proc entries the caller may not read, gets the kernel's answer.
//! (This process's own entries are `proc.rs`'s.)

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use tern_translate::hostmem::{maps_range, read_proc};

/// `AT_ENTRY`: the program's entry point.
const AT_ENTRY: u64 = 9;

/// The program of the process or thread `/proc/PID/exe` (or
/// `/proc/PID/task/TID/exe`) names, if tern runs it (its link names
/// `tern`, this tern's binary as read at start-up): its path as the
/// kernel would show it (with " (deleted)" for a removed file).
pub(crate) fn guest_exe(path: &[u8], tern: &Path) -> Option<Vec<u8>> {
    let dir = path.strip_suffix(b"/exe")?;
    let pid = proc_dir_pid(dir)?;
    let link = std::fs::read_link(std::ffi::OsStr::from_bytes(path)).ok()?;
    if link != tern {
        return None;
    }
    let auxv = read_proc(&format!("/proc/{pid}/auxv")).ok()?;
    let entry = auxv
        .chunks_exact(16)
        .map(|e| (word(&e[..8]), word(&e[8..])))
        .find(|&(key, _)| key == AT_ENTRY)
        .map(|(_, value)| value)?;
    let maps = read_proc(&format!("/proc/{pid}/maps")).ok()?;
    mapped_file_at(&String::from_utf8_lossy(&maps), entry).map(|p| p.as_bytes().to_vec())
}

/// The pid of `/proc/PID` or `/proc/PID/task/TID` (whose `auxv` and
/// `maps` are the process's), if `dir` is one.
fn proc_dir_pid(dir: &[u8]) -> Option<u32> {
    let rest = std::str::from_utf8(dir.strip_prefix(b"/proc/")?).ok()?;
    let (pid, task) = rest.split_once('/').map_or((rest, None), |(p, t)| (p, Some(t)));
    let number = |s: &str| s.bytes().all(|b| b.is_ascii_digit()).then(|| s.parse::<u32>().ok()).flatten();
    match task.map(|t| t.strip_prefix("task/").and_then(number)) {
        Some(None) => None,
        _ => number(pid),
    }
}

fn word(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
}

/// The path of the file mapped at `addr` in a `maps` text.
fn mapped_file_at(maps: &str, addr: u64) -> Option<&str> {
    let line = maps.lines().find(|l| maps_range(l).is_some_and(|(lo, hi)| (lo..hi).contains(&addr)))?;
    // start-end perms offset dev inode, then the path (which may hold
    // spaces).
    let mut rest = line;
    for _ in 0..5 {
        rest = rest.trim_start().split_once(char::is_whitespace)?.1;
    }
    let path = rest.trim_start();
    path.starts_with('/').then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_dirs() {
        assert_eq!(proc_dir_pid(b"/proc/123"), Some(123));
        assert_eq!(proc_dir_pid(b"/proc/123/task/124"), Some(123));
        for bad in
            [&b"/proc/self"[..], b"/proc/12a", b"/proc/123/task/x", b"/proc/123/fd", b"/sys/123", b"/proc/"]
        {
            assert_eq!(proc_dir_pid(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn files_in_maps() {
        let maps = "00400000-00401000 r--p 00000000 08:01 1234       /usr/bin/my prog\n\
                    00401000-00405000 r-xp 00001000 08:01 1234       /usr/bin/my prog\n\
                    7f0000000000-7f0000001000 r-xp 00000000 00:00 0 \n\
                    7f0000002000-7f0000003000 r-xp 00000000 08:01 99 /tmp/gone (deleted)\n";
        assert_eq!(mapped_file_at(maps, 0x401234), Some("/usr/bin/my prog"));
        assert_eq!(mapped_file_at(maps, 0x7f0000000010), None, "anonymous");
        assert_eq!(mapped_file_at(maps, 0x7f0000002000), Some("/tmp/gone (deleted)"));
        assert_eq!(mapped_file_at(maps, 0x500000), None, "unmapped");
    }

    #[test]
    fn a_process_of_this_binary_shows_the_file_at_its_entry() {
        // This test binary stands for tern here: its entry is its own.
        let me = format!("/proc/{}/exe", std::process::id());
        let own = std::fs::read_link("/proc/self/exe").unwrap();
        assert_eq!(guest_exe(me.as_bytes(), &own), Some(own.as_os_str().as_bytes().to_vec()));
        assert_eq!(guest_exe(b"/proc/1/exe", &own), None, "another binary (or not readable)");
        assert_eq!(guest_exe(b"/proc/self/exe", &own), None, "not a PID");
    }
}
