//! The guest thread's alternate signal stack (`sigaltstack`), kept per
//! thread as the kernel keeps it in `task_struct` (`sas_ss_sp`,
//! `sas_ss_size`, `sas_ss_flags`).
//!
//! Mirrors `kernel/signal.c: do_sigaltstack()`, `sas_ss_flags()`,
//! `on_sig_stack()`, `__save_altstack()` and `restore_altstack()`. The
//! host's own alternate stack is tern's (`fault::FaultContext`) and never
//! changes. A new guest thread starts without one (`kernel/fork.c:
//! copy_process()` resets it for `CLONE_VM` threads), which is what a fresh
//! thread-local holds; a forked child keeps its parent's.

use std::cell::Cell;

/// `SS_ONSTACK`, `SS_DISABLE` and `SS_AUTODISARM` (`uapi/linux/signal.h`).
pub const SS_ONSTACK: i32 = 1;
pub const SS_DISABLE: i32 = 2;
pub const SS_AUTODISARM: i32 = 1 << 31;
/// The mode bits: everything in `ss_flags` but `SS_AUTODISARM`.
const SS_FLAG_BITS: i32 = SS_AUTODISARM;
/// `MINSIGSTKSZ` on x86 (`uapi/asm/signal.h`).
pub const MINSIGSTKSZ: u64 = 2048;

/// A `stack_t` as the kernel keeps it for a thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AltStack {
    pub sp: u64,
    pub size: u64,
    /// The flags as last given to `sigaltstack` (`sas_ss_flags`).
    pub flags: i32,
}

impl AltStack {
    /// After `sas_ss_reset()` (a new thread, `SS_AUTODISARM` delivery).
    const NONE: AltStack = AltStack { sp: 0, size: 0, flags: SS_DISABLE };
    /// A process's first thread: nothing set, flags 0 (what a native
    /// handler sees in `uc_stack`).
    const INITIAL: AltStack = AltStack { sp: 0, size: 0, flags: 0 };

    /// `__on_sig_stack()`: `sp` lies in the stack (the top included).
    pub fn contains(&self, sp: u64) -> bool {
        sp > self.sp && sp - self.sp <= self.size
    }

    /// `on_sig_stack()`: with `SS_AUTODISARM` a thread is never "on" it.
    pub fn on_stack(&self, sp: u64) -> bool {
        self.flags & SS_AUTODISARM == 0 && self.contains(sp)
    }

    /// `sas_ss_flags()`: what `ss_flags` reports for stack pointer `sp`.
    pub fn mode_at(&self, sp: u64) -> i32 {
        if self.size == 0 {
            SS_DISABLE
        } else if self.on_stack(sp) {
            SS_ONSTACK
        } else {
            0
        }
    }

    /// The 24-byte `stack_t` the kernel writes (`ss_sp`, `ss_flags`, pad,
    /// `ss_size`).
    pub fn to_bytes(self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[0..8].copy_from_slice(&self.sp.to_le_bytes());
        b[8..12].copy_from_slice(&self.flags.to_le_bytes());
        b[16..24].copy_from_slice(&self.size.to_le_bytes());
        b
    }

    /// Reads a guest `stack_t`.
    pub fn from_bytes(b: &[u8; 24]) -> AltStack {
        let w = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        let flags = i32::from_le_bytes(b[8..12].try_into().unwrap_or_default());
        AltStack { sp: w(0), size: w(16), flags }
    }
}

thread_local! {
    static ALT: Cell<AltStack> = const { Cell::new(AltStack::INITIAL) };
}

/// A new guest thread (`CLONE_VM`) starts without an alternate stack
/// (`kernel/fork.c: copy_process()` calls `sas_ss_reset()`): call first
/// thing on the new thread.
pub fn on_new_thread() {
    disarm();
}

/// The calling guest thread's alternate stack.
pub fn current() -> AltStack {
    ALT.with(|a| a.get())
}

/// `sas_ss_reset()`: after delivery with `SS_AUTODISARM`.
pub fn disarm() {
    ALT.with(|a| a.set(AltStack::NONE));
}

/// `do_sigaltstack(ss, oss, sp, MINSIGSTKSZ)`: returns the old stack as
/// `sigaltstack` reports it (`ss_flags` = mode at `sp` plus the flag bits),
/// then installs `new` if given. Errors: EPERM while on the current stack,
/// EINVAL for an unknown mode, ENOMEM below `MINSIGSTKSZ`.
pub fn do_sigaltstack(new: Option<AltStack>, sp: u64) -> Result<AltStack, i32> {
    let cur = current();
    let old = AltStack { flags: cur.mode_at(sp) | (cur.flags & SS_FLAG_BITS), ..cur };
    if let Some(ss) = new {
        if cur.on_stack(sp) {
            return Err(libc::EPERM);
        }
        let mode = ss.flags & !SS_FLAG_BITS;
        if mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0 {
            return Err(libc::EINVAL);
        }
        if ss == cur {
            return Ok(old);
        }
        let set = if mode == SS_DISABLE {
            AltStack { sp: 0, size: 0, flags: ss.flags }
        } else if ss.size < MINSIGSTKSZ {
            return Err(libc::ENOMEM);
        } else {
            ss
        };
        ALT.with(|a| a.set(set));
    }
    Ok(old)
}

/// `restore_altstack()` at `rt_sigreturn`: the stack saved in the frame is
/// installed again, errors other than an unreadable frame ignored.
pub fn restore(saved: AltStack, sp: u64) {
    let _ = do_sigaltstack(Some(saved), sp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let ss = AltStack { sp: 0x10000, size: 0x4000, flags: 0 };
        assert_eq!(do_sigaltstack(Some(AltStack { size: 100, ..ss }), 0x1000), Err(libc::ENOMEM));
        assert_eq!(do_sigaltstack(Some(AltStack { flags: 4, ..ss }), 0x1000), Err(libc::EINVAL));
        assert_eq!(do_sigaltstack(Some(ss), 0x1000).map(|o| o.flags), Ok(SS_DISABLE));
        assert_eq!(do_sigaltstack(None, 0x12000).map(|o| o.flags), Ok(SS_ONSTACK));
        assert_eq!(do_sigaltstack(Some(AltStack::NONE), 0x12000), Err(libc::EPERM));
        assert!(current().contains(0x14000) && !current().contains(0x10000));
        assert_eq!(do_sigaltstack(Some(AltStack { sp: 1, size: 0, flags: SS_DISABLE }), 0x1000).unwrap(), ss);
        assert_eq!(current(), AltStack { sp: 0, size: 0, flags: SS_DISABLE });
    }
}
