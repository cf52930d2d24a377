//! Private futex wait and wake on tern's own words: the translator's
//! robust lock, the optimizer's fork gate and the CLONE_VM handshake.
//! Written by hand over `libc::syscall` because std exposes no futex and
//! these callers need a word they own (a robust lock's owner tid, a
//! gate's count) rather than a std lock. Private: the waiters are threads
//! of one memory map (a vfork or CLONE_VM child shares it).

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `word` holds `seen`, at most `timeout` if given. Returns
/// false only when the timeout passed; a wake, a changed word or a signal
/// return true (callers check their word again either way).
pub fn wait(word: &AtomicU32, seen: u32, timeout: Option<Duration>) -> bool {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs() as libc::time_t,
        tv_nsec: libc::c_long::from(t.subsec_nanos()),
    });
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: FUTEX_WAIT on a live word the caller owns, with a relative
    // timeout or none; the kernel only reads the word.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            seen,
            ts_ptr,
        )
    };
    !(r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT))
}

/// Wakes up to `n` threads waiting on `word`.
pub fn wake(word: &AtomicU32, n: i32) {
    // SAFETY: FUTEX_WAKE on a live word; the kernel does not touch it.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    #[test]
    fn a_wait_times_out_and_a_wake_ends_it() {
        let w = AtomicU32::new(1);
        assert!(!wait(&w, 1, Some(Duration::from_millis(5))), "nobody woke it");
        assert!(wait(&w, 2, Some(Duration::from_millis(5))), "the word was not 2");
        let w = Arc::new(AtomicU32::new(0));
        let w2 = Arc::clone(&w);
        let t = std::thread::spawn(move || {
            while w2.load(Ordering::Acquire) == 0 {
                wait(&w2, 0, Some(Duration::from_secs(10)));
            }
        });
        std::thread::sleep(Duration::from_millis(20));
        w.store(1, Ordering::Release);
        wake(&w, 1);
        t.join().unwrap();
    }
}
