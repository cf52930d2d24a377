//! What the guest sees of itself under `/proc/self`: `exe` is the guest
//! program, `auxv` the guest's auxv, `cmdline` its argv, `maps` its mappings; and the registry of tern's own memory
//! ranges that guest memory calls must not touch.

use crate::{host_syscall, Process, SysResult};
use std::sync::RwLock;
use tern_translate::cpu::CpuState;
use tern_translate::guestmem::{read_cstr, write_guest};
use tern_translate::hostmem::maps_range;

static TERN_RANGES: RwLock<Vec<(u64, u64)>> = RwLock::new(Vec::new());

/// Records every mapping that exists now as tern's own. Call once before the
/// guest is loaded.
pub fn snapshot_tern_ranges() {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut v = TERN_RANGES.write().unwrap_or_else(|e| e.into_inner());
    for line in maps.lines() {
        let name = line.split_whitespace().nth(5).unwrap_or("");
        // The vDSO is shared with the guest.
        if name == "[vdso]" || name.starts_with("[vvar") || name == "[vsyscall]" {
            continue;
        }
        v.extend(maps_range(line));
    }
}

/// The host vDSO's range, from `/proc/self/maps`.
pub fn vdso_range() -> Option<(u64, u64)> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps_range(maps.lines().find(|l| l.ends_with("[vdso]"))?)
}

/// Adds a range tern allocated for itself after the snapshot.
pub fn add_tern_range(start: u64, end: u64) {
    TERN_RANGES.write().unwrap_or_else(|e| e.into_inner()).push((start, end));
}

/// tern's own ranges, including its malloc heap as it has grown since the
/// snapshot (from the snapshot's first range up to the current break).
pub fn tern_ranges() -> Vec<(u64, u64)> {
    let mut v = TERN_RANGES.read().unwrap_or_else(|e| e.into_inner()).clone();
    v.extend(tern_translate::pages::tern_memory());
    // SAFETY: sbrk(0) only reads tern's current program break.
    let brk = unsafe { libc::sbrk(0) } as u64;
    if let Some(heap) = v.iter_mut().filter(|r| r.0 <= brk).max_by_key(|r| r.0) {
        heap.1 = heap.1.max(brk);
    }
    v
}

/// True if `path` names this process's entry `what` in /proc.
fn is_self_proc(path: &[u8], what: &str) -> bool {
    let Ok(s) = std::str::from_utf8(path) else { return false };
    let Some(rest) = s.strip_prefix("/proc/") else { return false };
    let Some((who, entry)) = rest.split_once('/') else { return false };
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() }.to_string();
    entry == what && (who == "self" || who == "thread-self" || who == pid)
}

fn do_readlink(p: &Process, path_addr: u64, buf: u64, size: u64) -> Option<SysResult> {
    let path = read_cstr(path_addr, 4096)?;
    if !is_self_proc(&path, "exe") {
        return None;
    }
    if (size as i64) <= 0 {
        return Some(Err(libc::EINVAL));
    }
    let exe = p.exe.as_os_str().as_encoded_bytes();
    let n = exe.len().min(size as usize);
    Some(if write_guest(buf, &exe[..n]) { Ok(n as u64) } else { Err(libc::EFAULT) })
}

pub fn readlink(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    do_readlink(p, a[0], a[1], a[2])
        .unwrap_or_else(|| crate::result(host_syscall(libc::SYS_readlink as u64, a)))
}

pub fn readlinkat(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    do_readlink(p, a[1], a[2], a[3])
        .unwrap_or_else(|| crate::result(host_syscall(libc::SYS_readlinkat as u64, a)))
}

/// Opens a memfd holding `data`, positioned at 0.
fn memfd_with(data: &[u8], flags: u64) -> SysResult {
    let cloexec = if flags & libc::O_CLOEXEC as u64 != 0 { libc::MFD_CLOEXEC } else { 0 };
    // SAFETY: plain syscalls on a new fd we own.
    unsafe {
        let fd = libc::memfd_create(c"tern-proc".as_ptr(), cloexec);
        if fd < 0 {
            return Err(libc::EMFILE);
        }
        libc::write(fd, data.as_ptr().cast(), data.len());
        libc::lseek(fd, 0, libc::SEEK_SET);
        Ok(fd as u64)
    }
}

/// `/proc/self/maps` without tern's own mappings (its binary, heap, stack
/// and code cache).
fn guest_maps() -> Vec<u8> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let tern = tern_ranges();
    let mut out = String::new();
    for line in maps.lines() {
        let (a, b) = maps_range(line).unwrap_or((0, 0));
        if !tern.iter().any(|&(s, e)| s < b && a < e) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.into_bytes()
}

/// `/proc/cpuinfo` flags a guest may see: those of the CPU model (the rest
/// of the host's, AVX and so on, would lead programs that read this file to
/// code that raises SIGILL under tern).
fn model_has_flag(model: tern_translate::CpuModel, flag: &str) -> bool {
    const BASE: &[&str] = &[
        "fpu",
        "vme",
        "de",
        "pse",
        "tsc",
        "msr",
        "pae",
        "mce",
        "cx8",
        "apic",
        "sep",
        "mtrr",
        "pge",
        "mca",
        "cmov",
        "pat",
        "pse36",
        "clflush",
        "mmx",
        "fxsr",
        "sse",
        "sse2",
        "ht",
        "syscall",
        "nx",
        "lm",
        "rdtscp",
        "constant_tsc",
        "rep_good",
        "nopl",
        "nonstop_tsc",
        "cpuid",
        "tsc_known_freq",
        "hypervisor",
        "erms",
    ];
    const V2: &[&str] =
        &["pni", "pclmulqdq", "ssse3", "cx16", "sse4_1", "sse4_2", "popcnt", "aes", "lahf_lm"];
    BASE.contains(&flag) || (model == tern_translate::CpuModel::V2 && V2.contains(&flag))
}

/// The host's `/proc/cpuinfo` with each `flags` line cut to the CPU model.
fn guest_cpuinfo(model: tern_translate::CpuModel) -> Vec<u8> {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let mut out = String::new();
    for line in info.lines() {
        match line.split_once(':') {
            Some((k, v)) if k.trim() == "flags" => {
                let flags: Vec<&str> = v.split_whitespace().filter(|f| model_has_flag(model, f)).collect();
                out.push_str(&format!("{k}: {}\n", flags.join(" ")));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.into_bytes()
}

fn do_open(p: &Process, path_addr: u64, flags: u64) -> Option<SysResult> {
    let path = read_cstr(path_addr, 4096)?;
    if path == b"/proc/cpuinfo" {
        return Some(memfd_with(&guest_cpuinfo(p.jit.model()), flags));
    }
    if is_self_proc(&path, "auxv") {
        return Some(memfd_with(&p.auxv, flags));
    }
    if is_self_proc(&path, "cmdline") {
        return Some(memfd_with(&p.cmdline, flags));
    }
    if is_self_proc(&path, "maps") {
        return Some(memfd_with(&guest_maps(), flags));
    }
    if is_self_proc(&path, "exe") {
        let c = std::ffi::CString::new(p.exe.as_os_str().as_encoded_bytes()).ok()?;
        return Some(crate::result(host_syscall(
            libc::SYS_openat as u64,
            [libc::AT_FDCWD as u64, c.as_ptr() as u64, flags, 0, 0, 0],
        )));
    }
    None
}

pub fn openat(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    do_open(p, a[1], a[2]).unwrap_or_else(|| crate::result(host_syscall(libc::SYS_openat as u64, a)))
}

pub fn open(p: &Process, _cpu: &mut CpuState, a: [u64; 6]) -> SysResult {
    do_open(p, a[0], a[1]).unwrap_or_else(|| crate::result(host_syscall(libc::SYS_open as u64, a)))
}
