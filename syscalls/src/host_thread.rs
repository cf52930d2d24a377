//! Starting tern's own host threads: detached pthreads that start with
//! every signal blocked (guest threads take the guest's mask once they
//! run; helpers and the trace optimizer keep them all blocked, so that
//! process-directed signals go to guest threads).

/// The stack of a new host thread.
#[derive(Clone, Copy, Debug)]
pub enum Stack {
    /// One of this size, made by glibc.
    Size(usize),
    /// `[at, at + len)`, the caller's for the thread's whole life.
    At { at: u64, len: usize },
}

/// Starts a detached host thread running `start(arg)` with every signal
/// blocked. Returns `pthread_create`'s error number (0: started).
///
/// # Safety
/// `start` must be sound to run with `arg` on a new thread; when the call
/// fails, `arg` was not handed over. A `Stack::At` range must be mapped,
/// writable and used by nothing else while the thread lives.
pub unsafe fn spawn_blocked(
    stack: Stack,
    start: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void,
    arg: *mut libc::c_void,
) -> i32 {
    // SAFETY: attr is initialised before use and destroyed after; the
    // stack and `arg` are as the caller's contract says.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        libc::pthread_attr_init(&mut attr);
        match stack {
            Stack::Size(n) => libc::pthread_attr_setstacksize(&mut attr, n),
            Stack::At { at, len } => libc::pthread_attr_setstack(&mut attr, at as *mut libc::c_void, len),
        };
        libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        pthread_attr_setsigmask_np(&mut attr, &all);
        let mut id: libc::pthread_t = 0;
        let r = libc::pthread_create(&mut id, &attr, start, arg);
        libc::pthread_attr_destroy(&mut attr);
        if r == 0 {
            FIRST_THREAD.call_once(|| {
                if let Some(f) = AFTER_FIRST_THREAD.get() {
                    f();
                }
            });
        }
        r
    }
}

/// Guards [`AFTER_FIRST_THREAD`]: the C library's first `pthread_create`
/// installs its handlers for signals 32 and 33 (once per process; a fork
/// child inherits both that and this flag).
static FIRST_THREAD: std::sync::Once = std::sync::Once::new();

/// What runs after the first host thread is created (see
/// [`after_first_thread`]).
static AFTER_FIRST_THREAD: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>> = std::sync::OnceLock::new();

/// Sets what runs once, right after the process's first host thread is
/// created: giving signals 32 and 33 back to the guest
/// (`GuestSignals::reclaim_internal_signals`). Doing it then, not by a
/// thread made at start-up, costs a one-thread program nothing; in the
/// window between the two, the only guest thread is the one in that call.
pub fn after_first_thread(f: Box<dyn Fn() + Send + Sync>) {
    let _ = AFTER_FIRST_THREAD.set(f);
}

extern "C" {
    /// glibc 2.32: the signal mask a thread created with `attr` starts with.
    fn pthread_attr_setsigmask_np(attr: *mut libc::pthread_attr_t, mask: *const libc::sigset_t) -> i32;
}
