//! The initial guest stack, laid out as `fs/binfmt_elf.c: create_elf_tables()`
//! lays it out: strings at the top (argv, envp, execfn), then the platform
//! string and AT_RANDOM bytes, then argc, argv[], envp[] and auxv[] with the
//! final stack pointer 16-byte aligned.

use super::Loaded;
use tern_translate::CpuModel;

// auxv keys (include/uapi/linux/auxvec.h).
pub const AT_NULL: u64 = 0;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
pub const AT_BASE: u64 = 7;
pub const AT_FLAGS: u64 = 8;
pub const AT_ENTRY: u64 = 9;
pub const AT_UID: u64 = 11;
pub const AT_EUID: u64 = 12;
pub const AT_GID: u64 = 13;
pub const AT_EGID: u64 = 14;
pub const AT_PLATFORM: u64 = 15;
pub const AT_HWCAP: u64 = 16;
pub const AT_CLKTCK: u64 = 17;
pub const AT_SECURE: u64 = 23;
pub const AT_RANDOM: u64 = 25;
pub const AT_HWCAP2: u64 = 26;
pub const AT_EXECFN: u64 = 31;
pub const AT_SYSINFO_EHDR: u64 = 33;
pub const AT_MINSIGSTKSZ: u64 = 51;

/// The result of building the stack.
pub struct InitialStack {
    pub sp: u64,
    /// The auxv as stored on the stack, for `/proc/self/auxv`.
    pub auxv: Vec<(u64, u64)>,
    /// Where the argument strings lie (`mm->arg_start`, `arg_end`), for
    /// `/proc/self/cmdline`.
    pub args: (u64, u64),
    /// Where the environment strings lie (`mm->env_start`, `env_end`), for
    /// `/proc/self/environ`.
    pub env: (u64, u64),
}

/// Builds the stack image below `top` and writes it there.
///
/// # Safety
/// `[top - needed, top)` must be writable memory owned by the guest stack
/// (the caller maps at least a few pages plus the strings' size).
pub unsafe fn build(
    top: u64,
    loaded: &Loaded,
    model: CpuModel,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    execfn: &[u8],
    random: [u8; 16],
) -> InitialStack {
    // Image grows downwards; `img` holds bytes for [top - img.len(), top).
    let mut img: Vec<u8> = Vec::new();
    let push = |bytes: &[u8], img: &mut Vec<u8>| -> u64 {
        let mut v = bytes.to_vec();
        v.extend_from_slice(&std::mem::take(img));
        *img = v;
        top - img.len() as u64
    };
    push(&[0u8; 8], &mut img);
    let cstr = |s: &[u8], img: &mut Vec<u8>| {
        let mut z = s.to_vec();
        z.push(0);
        push(&z, img)
    };
    let execfn_ptr = cstr(execfn, &mut img);
    let env_ptrs: Vec<u64> =
        envp.iter().rev().map(|e| cstr(e, &mut img)).collect::<Vec<_>>().into_iter().rev().collect();
    let arg_ptrs: Vec<u64> =
        argv.iter().rev().map(|a| cstr(a, &mut img)).collect::<Vec<_>>().into_iter().rev().collect();
    // Align, then the platform string and the random bytes.
    let pad = (top - img.len() as u64) % 16;
    push(&vec![0u8; pad as usize], &mut img);
    let platform_ptr = cstr(b"x86_64", &mut img);
    let random_ptr = push(&random, &mut img);

    // SAFETY: getauxval and the id getters have no preconditions.
    let (vdso, uid, euid, gid, egid) = unsafe {
        (libc::getauxval(AT_SYSINFO_EHDR), libc::getuid(), libc::geteuid(), libc::getgid(), libc::getegid())
    };
    let mut auxv = Vec::new();
    if vdso != 0 {
        auxv.push((AT_SYSINFO_EHDR, vdso));
    }
    auxv.extend_from_slice(&[
        (
            AT_MINSIGSTKSZ,
            tern_signals::frame::min_sigstack_size(tern_signals::frame::frame_components(model.xcr0())),
        ),
        (AT_HWCAP, model.hwcap()),
        (AT_PAGESZ, 4096),
        (AT_CLKTCK, 100),
        (AT_PHDR, loaded.main.phdr),
        (AT_PHENT, 56),
        (AT_PHNUM, loaded.main.phnum),
        (AT_BASE, loaded.interp.as_ref().map_or(0, |i| i.bias)),
        (AT_FLAGS, 0),
        (AT_ENTRY, loaded.main.entry),
        (AT_UID, u64::from(uid)),
        (AT_EUID, u64::from(euid)),
        (AT_GID, u64::from(gid)),
        (AT_EGID, u64::from(egid)),
        (AT_SECURE, 0),
        (AT_RANDOM, random_ptr),
        (AT_HWCAP2, model.hwcap2()),
        (AT_EXECFN, execfn_ptr),
        (AT_PLATFORM, platform_ptr),
        (AT_NULL, 0),
    ]);
    let mut words: Vec<u64> = vec![argv.len() as u64];
    words.extend(&arg_ptrs);
    words.push(0);
    words.extend(&env_ptrs);
    words.push(0);
    for (k, v) in &auxv {
        words.push(*k);
        words.push(*v);
    }
    let strings_bottom = top - img.len() as u64;
    let sp = (strings_bottom - 8 * words.len() as u64) & !15;
    let mut table: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    table.resize((strings_bottom - sp) as usize, 0);
    // SAFETY: the caller guarantees [sp, top) is writable guest stack; the
    // table and the string image are exactly that long together.
    unsafe {
        std::ptr::copy_nonoverlapping(table.as_ptr(), sp as *mut u8, table.len());
        std::ptr::copy_nonoverlapping(img.as_ptr(), strings_bottom as *mut u8, img.len());
    }
    let env_start = env_ptrs.first().copied().unwrap_or(execfn_ptr);
    let args = (arg_ptrs.first().copied().unwrap_or(env_start), env_start);
    InitialStack { sp, auxv, args, env: (env_start, execfn_ptr) }
}
