//! The guest's threads as `/proc` shows them: the threads of tern's own
//! that are not the guest's (the trace optimizer, the helpers of CLONE_VM
//! children: `host_thread::hide_current`) are left out of the count in
//! `status` (`Threads:`) and `stat` (`num_threads`) and out of the entries
//! of `task/`, so that a program counting its threads (a check that it is
//! single-threaded before it forks or unshares, a thread pool sizing
//! itself) finds what it finds natively.

use crate::{host_syscall, Process, SysResult};
use tern_translate::cpu::CpuState;

/// How many of this process's threads the guest does not see.
pub(crate) fn hidden_count() -> u64 {
    crate::host_thread::hidden().count() as u64
}

/// A thread count of the host's as the guest sees it, `hidden` threads
/// left out.
fn guest_count(host: u64, hidden: u64) -> u64 {
    host.saturating_sub(hidden).max(1)
}

/// A `status` line as the guest sees it (`hidden` threads left out), if
/// it is the `Threads:` line.
pub(crate) fn status_line(line: &[u8], hidden: u64) -> Option<Vec<u8>> {
    let n = line.strip_prefix(b"Threads:")?;
    let n: u64 = std::str::from_utf8(n).ok()?.trim().parse().ok()?;
    Some(format!("Threads:\t{}\n", guest_count(n, hidden)).into_bytes())
}

/// A `stat` file (`fs/proc/array.c: do_task_stat()`) with the guest's
/// `num_threads` (`hidden` threads left out), field 20: the 18th after the
/// `)` that ends the name.
pub(crate) fn guest_stat(text: &[u8], hidden: u64) -> Vec<u8> {
    let Some(close) = text.iter().rposition(|&b| b == b')') else { return text.to_vec() };
    let (head, rest) = text.split_at(close + 1);
    let fields: Vec<&[u8]> = rest.split(|&b| b == b' ').collect();
    // rest starts with the space after ')': fields[0] is empty.
    let Some(n) = fields.get(18).and_then(|f| std::str::from_utf8(f).ok()?.parse::<u64>().ok()) else {
        return text.to_vec();
    };
    let mut out = head.to_vec();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if i == 18 {
            out.extend_from_slice(guest_count(n, hidden).to_string().as_bytes());
        } else {
            out.extend_from_slice(f);
        }
    }
    out
}

/// The process whose `task` directory host descriptor `fd` is open on,
/// if it is one: this process's, or that of another on this memory (a
/// CLONE_VM child such as a sanitizer's tracer lists its parent's).
fn task_dir_pid(fd: u64) -> Option<i32> {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let pid = link.as_os_str().as_encoded_bytes().strip_prefix(b"/proc/")?.strip_suffix(b"/task")?;
    std::str::from_utf8(pid).ok()?.parse().ok()
}

/// Removes the entries named by one of the `hidden` tids from the `n`
/// bytes of directory entries in `buf` (`getdents64`'s `linux_dirent64`
/// when `name_at` is 19, `getdents`' `linux_dirent` when it is 18);
/// returns the bytes left.
fn drop_hidden(buf: &mut [u8], n: usize, name_at: usize, hidden: &[i32]) -> usize {
    let hidden: Vec<Vec<u8>> = hidden.iter().map(|t| t.to_string().into_bytes()).collect();
    let (mut at, mut end) = (0, n);
    while at + name_at <= end {
        let len = usize::from(u16::from_ne_bytes([buf[at + 16], buf[at + 17]]));
        if len == 0 || at + len > end {
            break;
        }
        let name = &buf[at + name_at..at + len];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        if hidden.iter().any(|h| h == name) {
            buf.copy_within(at + len..end, at);
            end -= len;
        } else {
            at += len;
        }
    }
    end
}

/// `getdents64` and `getdents` (`nr`): the host's entries, less the hidden
/// threads' in a `task` directory. A batch that held only hidden entries
/// (a buffer for one entry) is followed by the next: an empty one would
/// tell the guest the directory has ended.
fn getdents_common(nr: i64, a: [u64; 6], name_at: usize) -> SysResult {
    loop {
        let r = crate::result(host_syscall(nr as u64, a))?;
        if r == 0 || !crate::host_thread::any_hidden() {
            return Ok(r);
        }
        let Some(pid) = task_dir_pid(a[0]) else { return Ok(r) };
        let hidden: Vec<i32> = crate::host_thread::hidden_in(pid).collect();
        if hidden.is_empty() {
            return Ok(r);
        }
        let mut buf = vec![0u8; r as usize];
        if tern_translate::guestmem::read_guest(a[1], &mut buf) != buf.len() {
            return Ok(r);
        }
        let left = drop_hidden(&mut buf, r as usize, name_at, &hidden);
        if left > 0 {
            tern_translate::guestmem::write_guest(a[1], &buf[..left]);
            return Ok(left as u64);
        }
    }
}

pub fn getdents64(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    getdents_common(libc::SYS_getdents64, a, 19)
}

pub fn getdents(_p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    getdents_common(libc::SYS_getdents, a, 18)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries as `getdents64` lays them out: ino, off, reclen, type, name.
    fn dirent64(name: &str) -> Vec<u8> {
        let len = (19 + name.len() + 1).next_multiple_of(8);
        let mut e = vec![0u8; len];
        e[16..18].copy_from_slice(&(len as u16).to_ne_bytes());
        e[18] = 4;
        e[19..19 + name.len()].copy_from_slice(name.as_bytes());
        e
    }

    #[test]
    fn stat_num_threads_is_field_20() {
        // A name with spaces and ')' in it: fields count from the last ')'.
        let text = b"77 (a b) c) S 1 77 77 0 -1 4194304 100 0 0 0 5 6 0 0 20 0 3 0 1234 5000 300\n";
        assert_eq!(guest_stat(text, 0), text.to_vec());
        let two = b"77 (a b) c) S 1 77 77 0 -1 4194304 100 0 0 0 5 6 0 0 20 0 2 0 1234 5000 300\n";
        assert_eq!(guest_stat(text, 1), two.to_vec());
        assert_eq!(status_line(b"Threads:\t3\n", 2), Some(b"Threads:\t1\n".to_vec()));
        assert_eq!(status_line(b"SigQ:\t3\n", 2), None);
    }

    #[test]
    fn hidden_entries_are_dropped() {
        let dirents = |names: &[&str]| -> Vec<u8> { names.iter().flat_map(|n| dirent64(n)).collect() };
        let mut buf = dirents(&["1", "2", "123", "4"]);
        let n = buf.len();
        assert_eq!(drop_hidden(&mut buf, n, 19, &[]), n);
        assert_eq!(drop_hidden(&mut buf, n, 19, &[12, 5]), n, "whole names only");
        let left = drop_hidden(&mut buf, n, 19, &[123, 1]);
        assert_eq!(&buf[..left], &dirents(&["2", "4"])[..]);
    }
}
