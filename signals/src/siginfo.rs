//! A `siginfo_t` kept in atomics, for the tables tern's host handlers write
//! while other code of the same thread reads them (the per-thread queue in
//! `thread.rs`, the process-wide reserved set in `pending.rs`). Elsewhere a
//! siginfo travels as its 128 bytes.
//!
//! Async-signal-safe: atomics only.

use std::sync::atomic::{AtomicU64, Ordering};

/// A siginfo as the kernel lays it out.
pub type InfoBytes = [u8; 128];

const WORDS: usize = 16;

const _: () = assert!(std::mem::size_of::<libc::siginfo_t>() == WORDS * 8);

/// The bytes of `info`.
pub fn bytes(info: &libc::siginfo_t) -> InfoBytes {
    // SAFETY: siginfo_t is 128 bytes of plain data.
    unsafe { std::mem::transmute_copy(info) }
}

/// `si_code` of `tkill`/`tgkill` (`asm-generic/siginfo.h`): a
/// thread-directed signal.
pub const SI_TKILL: i32 = -6;

/// The `si_code` of a siginfo's bytes.
pub fn code(info: &InfoBytes) -> i32 {
    i32::from_le_bytes([info[8], info[9], info[10], info[11]])
}

/// One siginfo in atomic words. Readers and the writer are ordered by
/// whatever state word guards the slot (a slot state, a pending bit).
pub struct AtomicInfo([AtomicU64; WORDS]);

impl AtomicInfo {
    pub const fn new() -> AtomicInfo {
        AtomicInfo([const { AtomicU64::new(0) }; WORDS])
    }

    pub fn store(&self, info: &InfoBytes) {
        for (w, b) in self.0.iter().zip(info.chunks_exact(8)) {
            w.store(u64::from_le_bytes(b.try_into().unwrap_or_default()), Ordering::Relaxed);
        }
    }

    pub fn load(&self) -> InfoBytes {
        let mut out = [0u8; 128];
        for (w, b) in self.0.iter().zip(out.chunks_exact_mut(8)) {
            b.copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
        }
        out
    }
}

impl Default for AtomicInfo {
    fn default() -> Self {
        AtomicInfo::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut b = [0u8; 128];
        b.iter_mut().enumerate().for_each(|(i, x)| *x = i as u8);
        let a = AtomicInfo::new();
        a.store(&b);
        assert_eq!(a.load(), b);
    }
}
