//! Resuming a host call that tern's own signal ended with EINTR although
//! nothing reached the guest (a kick, a reserved signal the guest blocks or
//! ignores): natively that call was never interrupted, so it goes on with
//! the time it had left.
//!
//! tern's fault handler is a handler with SA_RESTART on the host, so the
//! kernel restarts what it can itself (ERESTARTSYS, ERESTARTNOINTR: the pc
//! goes back to the `syscall` instruction). What it ends with EINTR are the
//! calls a handler always interrupts: ERESTARTNOHAND (`pause`, `select`,
//! `poll` without timeout...), ERESTART_RESTARTBLOCK (`nanosleep`,
//! `clock_nanosleep`, timed `poll` and `futex`), and the calls that return
//! EINTR themselves (`epoll_wait`, `rt_sigtimedwait`, `semtimedop`). The
//! kernel would resume the first two without a handler
//! (`arch_do_signal_or_restart()`: the same call, or `restart_syscall`
//! whose `restart_block` the host handler's `rt_sigreturn` has cleared), and
//! never stopped the third. tern re-issues the call: with the same
//! arguments where they hold no relative timeout (or the kernel updates it
//! in place: `select`, `pselect6`, `ppoll`), else with the time left until
//! the deadline taken when the call started (`CLOCK_MONOTONIC`, as the
//! kernel's restart blocks keep an absolute expiry).

/// Where a call keeps a relative timeout.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Timeout {
    /// None, absolute, or updated by the kernel itself: same arguments.
    Same,
    /// An `int` of milliseconds in argument `n` (negative: none).
    Millis(usize),
    /// A `struct timespec *` in argument `n` (NULL: none).
    Timespec(usize),
}

const FUTEX_WAIT: u64 = 0;
const FUTEX_CMD_MASK: u64 = !(128 | 256);
const TIMER_ABSTIME: u64 = 1;

/// The kernel's relative timeouts, by call (x86-64 numbers).
fn timeout_of(nr: u64, a: &[u64; 6]) -> Timeout {
    match nr as i64 {
        libc::SYS_poll => Timeout::Millis(2),
        libc::SYS_epoll_wait | libc::SYS_epoll_pwait => Timeout::Millis(3),
        libc::SYS_epoll_pwait2 => Timeout::Timespec(3),
        libc::SYS_nanosleep => Timeout::Timespec(0),
        libc::SYS_clock_nanosleep if a[1] & TIMER_ABSTIME == 0 => Timeout::Timespec(2),
        libc::SYS_rt_sigtimedwait => Timeout::Timespec(2),
        libc::SYS_futex if a[1] & FUTEX_CMD_MASK == FUTEX_WAIT => Timeout::Timespec(3),
        libc::SYS_semtimedop => Timeout::Timespec(3),
        libc::SYS_io_getevents | libc::SYS_recvmmsg => Timeout::Timespec(4),
        _ => Timeout::Same,
    }
}

fn now_ns() -> i128 {
    i128::from(tern_translate::clock::monotonic_ns())
}

/// How to re-issue one call (see the module docs). Holds the timespec a
/// re-issued call points at, so it must stay where it is while the call
/// runs.
pub(crate) struct Resume {
    timeout: Timeout,
    /// Absolute `CLOCK_MONOTONIC` deadline in ns, for a relative timeout.
    deadline: Option<i128>,
    ts: [i64; 2],
}

impl Resume {
    /// Reads the call's timeout before it is made. Cheap for a call with
    /// none (no clock read).
    pub(crate) fn new(nr: u64, a: &[u64; 6]) -> Resume {
        let timeout = timeout_of(nr, a);
        let deadline = match timeout {
            Timeout::Same => None,
            Timeout::Millis(i) => {
                let ms = a[i] as i32;
                (ms >= 0).then(|| now_ns() + i128::from(ms) * 1_000_000)
            }
            Timeout::Timespec(i) => {
                let mut b = [0u8; 16];
                (a[i] != 0 && crate::usercopy::get(a[i], &mut b)).then(|| {
                    let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or_default());
                    let nsec = i64::from_le_bytes(b[8..].try_into().unwrap_or_default());
                    now_ns() + i128::from(sec) * 1_000_000_000 + i128::from(nsec)
                })
            }
        };
        Resume { timeout, deadline, ts: [0; 2] }
    }

    /// Rewrites `a` for the re-issued call: the time left (zero once the
    /// deadline passed, so the call still makes its last check).
    pub(crate) fn rearm(&mut self, a: &mut [u64; 6]) {
        let Some(deadline) = self.deadline else { return };
        let left = (deadline - now_ns()).max(0);
        match self.timeout {
            Timeout::Same => {}
            Timeout::Millis(i) => {
                let ms = (left + 999_999) / 1_000_000;
                a[i] = u64::from(i32::try_from(ms).unwrap_or(i32::MAX) as u32);
            }
            Timeout::Timespec(i) => {
                self.ts = [(left / 1_000_000_000) as i64, (left % 1_000_000_000) as i64];
                a[i] = self.ts.as_ptr() as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_by_call() {
        let none = [0u64; 6];
        assert_eq!(timeout_of(libc::SYS_read as u64, &none), Timeout::Same);
        assert_eq!(timeout_of(libc::SYS_poll as u64, &none), Timeout::Millis(2));
        let abs = [1, TIMER_ABSTIME, 0, 0, 0, 0];
        assert_eq!(timeout_of(libc::SYS_clock_nanosleep as u64, &abs), Timeout::Same);
        let bitset = [0, 9 | 128, 0, 0, 0, 0];
        assert_eq!(timeout_of(libc::SYS_futex as u64, &bitset), Timeout::Same);
        let wait = [0, 128, 0, 0, 0, 0];
        assert_eq!(timeout_of(libc::SYS_futex as u64, &wait), Timeout::Timespec(3));
    }

    #[test]
    fn rearm_gives_the_time_left() {
        let mut a = [0, 0, 5000, 0, 0, 0];
        let mut r = Resume::new(libc::SYS_poll as u64, &a);
        r.rearm(&mut a);
        assert!((4900..=5000).contains(&(a[2] as i32)), "{}", a[2] as i32);
        let mut a = [0, 0, u64::MAX, 0, 0, 0];
        let mut r = Resume::new(libc::SYS_poll as u64, &a);
        r.rearm(&mut a);
        assert_eq!(a[2] as i32, -1);
        let req: [i64; 2] = [2, 0];
        let mut a = [req.as_ptr() as u64, 0, 0, 0, 0, 0];
        let mut r = Resume::new(libc::SYS_nanosleep as u64, &a);
        r.rearm(&mut a);
        // SAFETY: rearm pointed a[0] at r's own timespec.
        let ts = unsafe { *(a[0] as *const [i64; 2]) };
        assert!(ts[0] == 1 && ts[1] > 900_000_000, "{ts:?}");
    }
}
