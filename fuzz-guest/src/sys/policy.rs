//! Which syscalls the fuzzer makes and how their arguments are tamed: the
//! deny list (calls that would end, stop or wedge the fuzz child for reasons
//! that are not tern's), and per-call rules that keep the guest's own
//! progress descriptor, stderr and memory out of reach.

/// Calls never made, with the reason (x86-64 numbers).
pub const DENY: &[(u64, &str, &str)] = &[
    (15, "rt_sigreturn", "a garbage frame kills the guest natively too"),
    (34, "pause", "blocks forever"),
    (35, "nanosleep", "may sleep past the timeout"),
    (7, "poll", "may block"),
    (23, "select", "may block"),
    (270, "pselect6", "may block"),
    (271, "ppoll", "may block"),
    (232, "epoll_wait", "may block"),
    (281, "epoll_pwait", "may block"),
    (441, "epoll_pwait2", "may block"),
    (202, "futex", "may block"),
    (449, "futex_waitv", "may block"),
    (61, "wait4", "may block"),
    (247, "waitid", "may block"),
    (43, "accept", "may block"),
    (288, "accept4", "may block"),
    (45, "recvfrom", "may block"),
    (47, "recvmsg", "may block"),
    (299, "recvmmsg", "may block"),
    (69, "msgsnd", "may block"),
    (70, "msgrcv", "may block"),
    (65, "semop", "may block"),
    (220, "semtimedop", "may block"),
    (242, "mq_timedsend", "may block"),
    (243, "mq_timedreceive", "may block"),
    (208, "io_getevents", "may block"),
    (333, "io_pgetevents", "may block"),
    (426, "io_uring_enter", "may block waiting for completions"),
    (73, "flock", "may block"),
    (128, "rt_sigtimedwait", "may block"),
    (130, "rt_sigsuspend", "blocks"),
    (230, "clock_nanosleep", "may sleep past the timeout"),
    (22, "pipe", "makes blocking descriptors"),
    (293, "pipe2", "makes blocking descriptors"),
    (53, "socketpair", "makes blocking descriptors"),
    (275, "splice", "may block on pipes"),
    (276, "tee", "may block on pipes"),
    (278, "vmsplice", "may block on pipes"),
    (60, "exit", "ends the guest"),
    (231, "exit_group", "ends the guest"),
    (62, "kill", "signals kill the guest (or all of the namespace)"),
    (200, "tkill", "signals kill the guest"),
    (234, "tgkill", "signals kill the guest"),
    (129, "rt_sigqueueinfo", "signals kill the guest"),
    (297, "rt_tgsigqueueinfo", "signals kill the guest"),
    (424, "pidfd_send_signal", "signals kill the guest"),
    (37, "alarm", "SIGALRM kills the guest later"),
    (38, "setitimer", "a timer signal kills the guest later"),
    (222, "timer_create", "a timer signal kills the guest later"),
    (223, "timer_settime", "a timer signal kills the guest later"),
    (56, "clone", "a second fuzz process"),
    (435, "clone3", "a second fuzz process"),
    (57, "fork", "a second fuzz process"),
    (58, "vfork", "a second fuzz process"),
    (59, "execve", "replaces the guest"),
    (322, "execveat", "replaces the guest"),
    (160, "setrlimit", "RLIMIT_CPU/AS/NOFILE can end the guest"),
    (302, "prlimit64", "RLIMIT_CPU/AS/NOFILE can end the guest"),
    (317, "seccomp", "a filter kills the guest natively too"),
    (323, "userfaultfd", "a registered range stops the guest's own accesses until served"),
    (101, "ptrace", "may stop the guest"),
    (169, "reboot", "ends the pid namespace"),
    (436, "close_range", "closes the progress descriptor"),
    (162, "sync", "slow on a busy machine"),
    (306, "syncfs", "slow on a busy machine"),
    (153, "vhangup", "not useful"),
    (165, "mount", "not tern's concern"),
    (166, "umount2", "not tern's concern"),
    (155, "pivot_root", "not tern's concern"),
    (161, "chroot", "not tern's concern"),
    (167, "swapon", "not tern's concern"),
    (168, "swapoff", "not tern's concern"),
    (175, "init_module", "not tern's concern"),
    (313, "finit_module", "not tern's concern"),
    (176, "delete_module", "not tern's concern"),
    (246, "kexec_load", "not tern's concern"),
    (320, "kexec_file_load", "not tern's concern"),
];

/// The highest syscall number drawn (numbers above the table's last row give
/// ENOSYS, which is also exercised).
pub const MAX_NR: u64 = 470;

/// Calls whose first argument is a guest address the kernel maps, unmaps or
/// changes: it is drawn from the memory arena, tern's memory or junk, never
/// the guest's own mappings (which would kill it natively too).
pub const MEMORY_CALLS: &[u64] = &[9, 10, 11, 25, 26, 27, 28, 149, 150, 216, 237, 329, 440, 462, 30, 67];

/// Read-like calls on argument 0: they block on an empty pipe or socket, so
/// the descriptor is one that never blocks.
pub const READ_CALLS: &[u64] = &[0, 17, 19, 295, 327, 78, 217, 89];

/// Calls whose arguments name descriptors to close or replace: these may
/// not name stdin (a reused 0 could block a read), stdout, stderr (tern's
/// reports go there), the never-blocking 3 and 4, or the progress descriptor.
pub const FD_REPLACING: &[(u64, usize)] = &[(3, 0), (33, 1), (292, 1)];

/// `prctl` options never used (argument 0), with the reason.
pub const PRCTL_DENY: &[(u64, &str)] = &[
    (22, "PR_SET_SECCOMP: strict mode kills the guest natively too"),
    (59, "PR_SET_SYSCALL_USER_DISPATCH: SIGSYS kills the guest"),
    (26, "PR_SET_TSC: rdtsc would fault"),
    (1, "PR_SET_PDEATHSIG: the sandbox relies on it"),
];

/// `fcntl` commands never used (argument 1): the blocking lock waits.
pub const FCNTL_DENY: &[u64] = &[7, 38];

/// The descriptor the guest reports progress on (see the guest source).
pub const PROGRESS_FD: u64 = 1023;

/// True if `nr` is on the deny list.
pub fn denied(nr: u64) -> bool {
    DENY.iter().any(|d| d.0 == nr)
}
