//! tern's own clock: `CLOCK_MONOTONIC` read through the `clock_gettime`
//! syscall, never through the vDSO. A guest thread may turn its time-stamp
//! counter off (`prctl(PR_SET_TSC, PR_TSC_SIGSEGV)`, passed to its host
//! thread, so that the guest's own `rdtsc` faults as natively); the vDSO's
//! `clock_gettime` then faults on its `rdtscp` in tern's code on that
//! thread, and in the threads it starts. `std::time::Instant` reads the
//! vDSO, so code that may run on a guest thread (or on a thread a guest
//! thread started) uses [`Instant`] here instead.

use std::time::Duration;

/// Nanoseconds on `clock`, read by the syscall.
fn read_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: the syscall writes the local timespec; a raw syscall, not
    // libc's `clock_gettime`, which would take the vDSO.
    unsafe { libc::syscall(libc::SYS_clock_gettime, clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Nanoseconds on the monotonic clock.
pub fn monotonic_ns() -> u64 {
    read_ns(libc::CLOCK_MONOTONIC)
}

/// Nanoseconds of CPU time the calling thread has used.
pub fn thread_cpu_ns() -> u64 {
    read_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// The age of a file time `t` ([`std::time::SystemTime::elapsed`], which
/// reads the vDSO, without it); `None` if `t` is in the future.
pub fn age(t: std::time::SystemTime) -> Option<Duration> {
    let now = std::time::UNIX_EPOCH + Duration::from_nanos(read_ns(libc::CLOCK_REALTIME));
    now.duration_since(t).ok()
}

/// A point on the monotonic clock ([`std::time::Instant`] without the vDSO).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(u64);

impl Instant {
    pub fn now() -> Instant {
        Instant(monotonic_ns())
    }

    /// Time since `self` (zero if the clock reads earlier).
    pub fn elapsed(self) -> Duration {
        Duration::from_nanos(monotonic_ns().saturating_sub(self.0))
    }

    /// `self` plus `d`.
    pub fn after(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.as_nanos().min(u128::from(u64::MAX)) as u64))
    }

    /// Time from now until `self` (zero if it has passed).
    pub fn remaining(self) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(monotonic_ns()))
    }
}

#[cfg(test)]
// Tests run on threads of their own, not guest threads: std's clocks are
// theirs to compare with.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_forward_with_stds() {
        let (a, s) = (Instant::now(), std::time::Instant::now());
        std::thread::sleep(Duration::from_millis(5));
        let (mine, std) = (a.elapsed(), s.elapsed());
        assert!(mine >= Duration::from_millis(5), "{mine:?}");
        assert!(mine <= std + Duration::from_millis(50), "{mine:?} against {std:?}");
        let later = Instant::now().after(Duration::from_secs(3600));
        assert!(later.remaining() > Duration::from_secs(3590) && later > a);
    }

    #[test]
    fn ages_of_file_times() {
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        let a = age(hour_ago).unwrap();
        assert!(a >= Duration::from_secs(3600) && a < Duration::from_secs(3660), "{a:?}");
        assert_eq!(age(std::time::SystemTime::now() + Duration::from_secs(3600)), None);
    }
}
