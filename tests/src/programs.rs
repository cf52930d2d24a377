//! The table of guest programs: which sources exist and how each is run.

/// One guest program and the inputs it is run with.
#[derive(Clone, Copy, Debug)]
pub struct GuestProgram {
    /// File name in [`crate::guest_dir`].
    pub src: &'static str,
    /// Arguments after the program name.
    pub args: &'static [&'static str],
    /// Bytes fed to its standard input.
    pub stdin: &'static [u8],
    /// Extra environment variables (on top of `PATH` and `LANG=C`).
    pub env: &'static [(&'static str, &'static str)],
}

const fn plain(src: &'static str) -> GuestProgram {
    GuestProgram { src, args: &[], stdin: b"", env: &[] }
}

/// Every guest program, in no particular order. Each file in the guest
/// directory with a `.c` or `.cpp` extension has exactly one entry here or
/// in [`TERN_ONLY`].
pub const PROGRAMS: &[GuestProgram] = &[
    // C library and runtime behaviour.
    plain("printf_float.c"),
    plain("libm.c"),
    plain("fenv.c"),
    plain("sort_search.c"),
    plain("setjmp.c"),
    plain("cxx_exceptions.cpp"),
    plain("big_stack.c"),
    plain("stack_limit.c"),
    plain("aslr.c"),
    plain("malloc_churn.c"),
    plain("mmap.c"),
    plain("file_io.c"),
    plain("dir_list.c"),
    plain("string_funcs.c"),
    plain("intmath.c"),
    plain("interp.c"),
    plain("recursion.c"),
    GuestProgram {
        src: "argv_env.c",
        args: &["first", "two words", "", "--flag=x", "\u{e9}t\u{e9}"],
        stdin: b"line one\nline two\n\nlast line without newline",
        env: &[("TERN_TEST_VAR", "hello tern"), ("EMPTY_VAR", "")],
    },
    plain("exec_table.c"),
    plain("exit_code.c"),
    plain("exit_underscore.c"),
    plain("exit_abort.c"),
    plain("smc.c"),
    // Hot loops that become traces: faults, signals and threads in them.
    plain("trace_fault.c"),
    plain("trace_fault_late.c"),
    plain("trace_dispatch.c"),
    plain("trace_callee_exit.c"),
    plain("trace_handlers.c"),
    plain("trace_spin.c"),
    plain("trace_fork.c"),
    plain("trace_hot.c"),
    plain("trace_short.c"),
    plain("trace_phases.c"),
    plain("trace_smc.c"),
    plain("smc_syscall.c"),
    // Every case of it runs in linux-user/tests/signal_masks.rs.
    GuestProgram { src: "sigmask.c", args: &["smc"], stdin: b"", env: &[] },
    plain("syscall_kernel_writes.c"),
    // The same with guest signal handlers (the signals issue).
    plain("signal_fenv.c"),
    plain("signal_mmap.c"),
    plain("signal_setjmp.c"),
    // Every case of it runs in linux-user/tests/signal_async.rs.
    GuestProgram { src: "signal_async.c", args: &["kill_all"], stdin: b"", env: &[] },
    // Signal frames, synchronous signals and delivery rules.
    plain("signal_frame.c"),
    plain("signal_nest.c"),
    plain("signal_altstack.c"),
    // Guest threads (clone with CLONE_THREAD): synchronisation, many
    // threads, robust futexes, exits, futex forms, raw clone and clone3,
    // cross-modifying code and invalidation under load.
    plain("threads_sync.c"),
    GuestProgram { src: "threads_many.c", args: &["10000", "1000"], stdin: b"", env: &[] },
    plain("threads_robust.c"),
    plain("threads_churn.c"),
    plain("threads_main_exit.c"),
    GuestProgram { src: "threads_exit_group.c", args: &["thread"], stdin: b"", env: &[] },
    plain("threads_futex.c"),
    plain("threads_clone.c"),
    plain("clone3_process.c"),
    plain("clone_exit_signal.c"),
    plain("vfork_pidfd.c"),
    plain("mlockall.c"),
    plain("fork_fd_limit.c"),
    plain("fork_rlimit_as.c"),
    plain("rlimit_as.c"),
    plain("growsdown_thread.c"),
    plain("mremap_fixed_unmaps.c"),
    plain("exec_only_code.c"),
    plain("map_count_limit.c"),
    plain("proc_names.c"),
    GuestProgram { src: "proc_mm.c", args: &["alpha", "beta"], stdin: b"", env: &[] },
    plain("prctl_self.c"),
    plain("iov_errors.c"),
    plain("aio.c"),
    plain("userfaultfd.c"),
    plain("seccomp.c"),
    plain("io_uring.c"),
    plain("bpf.c"),
    plain("xattr_at.c"),
    plain("procmap_query.c"),
    plain("process_madvise.c"),
    plain("proc_self_open.c"),
    plain("proc_exe_stat.c"),
    plain("self_mem.c"),
    plain("task_dir_small.c"),
    plain("chroot_exec.c"),
    plain("proc_exe_leader.c"),
    plain("proc_openat2.c"),
    plain("proc_maps_names.c"),
    plain("proc_maps_perms.c"),
    plain("user_dispatch.c"),
    plain("unassigned_syscalls.c"),
    plain("proc_smaps.c"),
    plain("proc_threads.c"),
    plain("proc_status_mem.c"),
    plain("rtm.c"),
    plain("tsc_off.c"),
    plain("cpuid_exec.c"),
    plain("exec_privileged.c"),
    plain("exec_busy.c"),
    plain("fork_kill_race.c"),
    plain("threads_then_mmap.c"),
    plain("std_fds_closed.c"),
    plain("threads_setxid.c"),
    GuestProgram { src: "threads_jit.c", args: &["300"], stdin: b"", env: &[] },
    GuestProgram { src: "threads_stress.c", args: &["64", "20000"], stdin: b"", env: &[] },
    // A JIT's code churn: 4 threads write, run and unmap 2,000 functions each.
    GuestProgram { src: "code_churn.c", args: &["4", "2000"], stdin: b"", env: &[] },
    // More indirect targets than lookup slots, then all rewritten.
    plain("many_targets.c"),
    plain("flags_across_syscalls.c"),
    // Threads translating distinct blocks at once while code is
    // invalidated (`linux-user/tests/parallel_translation.rs` runs it
    // bigger and in a small cache).
    GuestProgram { src: "jit_stress.c", args: &["3", "400"], stdin: b"", env: &[] },
    // A vfork child killed while it translates; its parent carries on.
    GuestProgram { src: "jit_kill_child.c", args: &["vfork", "8"], stdin: b"", env: &[] },
    // Cancellation is signal 32 (the signals issue).
    plain("threads_cancel.c"),
    // The instructions tern rewrites: FS/RIP-relative operands, branches.
    plain("insn_glue.c"),
    // VEX/EVEX rewrites: FS/GS and RIP-relative vector operands, gathers,
    // scatters and masked moves, their faults' precise state.
    plain("insn_glue_avx.c"),
    plain("segments.c"),
    plain("vdso.c"),
    plain("vdso_unmap.c"),
    plain("smc_volatile.c"),
    plain("jit_dual_map.c"),
    plain("reserve_fixed.c"),
    plain("eflags_ac.c"),
    plain("elf_image.c"),
    plain("pkeys.c"),
    // The trap flag: a SIGTRAP after every instruction.
    plain("single_step.c"),
    plain("vsyscall.c"),
    plain("stack_nx.c"),
    plain("sigreturn_ss.c"),
    plain("signal_fpu_init.c"),
    GuestProgram { src: "traps.c", args: &["int3"], stdin: b"", env: &[] },
    // Instruction families, checked against the host CPU.
    plain("insn_alu.c"),
    plain("insn_shift.c"),
    plain("insn_muldiv.c"),
    plain("insn_bits.c"),
    plain("insn_cond.c"),
    plain("insn_atomic.c"),
    plain("insn_string.c"),
    plain("insn_extend.c"),
    plain("insn_lea.c"),
    plain("insn_x87.c"),
    plain("insn_sse_float.c"),
    plain("insn_sse_int.c"),
    plain("insn_ssse3.c"),
    plain("insn_sse41.c"),
    plain("insn_sse42.c"),
    plain("insn_mxcsr.c"),
    // x86-64-v3/v4 (issue 13): each prints "skipped: host lacks X" without X.
    plain("insn_avx_float.c"),
    plain("insn_avx2.c"),
    plain("insn_fma.c"),
    plain("insn_bmi.c"),
    plain("insn_f16c.c"),
    plain("insn_avx512_float.c"),
    plain("insn_avx512_int.c"),
    plain("insn_sysinfo.c"),
    // Extended state (issue 13): random YMM/ZMM/opmask/MXCSR across every
    // kind of trip; the cases one by one in linux-user/tests/xstate.rs.
    GuestProgram { src: "xstate.c", args: &["all"], stdin: b"", env: &[] },
    // Processes (issue 11): vfork, posix_spawn, exec, wait, process groups.
    plain("vfork.c"),
    // Execs the kernel refuses at the open: a noexec mount, a fanotify veto.
    plain("exec_refused.c"),
    // clone(CLONE_VM) of a process that runs alongside its parent.
    plain("clone_vm.c"),
    // ptrace from a CLONE_VM tracer (a sanitizer's stop-the-world).
    plain("ptrace_world.c"),
    plain("exec_variants.c"),
    // What an execve keeps and resets, fork + exec (tern loads the program
    // in place) and a chain of two execs in one process.
    plain("exec_state.c"),
    plain("proc_tree.c"),
    plain("fork_threads.c"),
    // Code shared by a parent and its fork children until one writes it.
    plain("fork_shared_code.c"),
];

/// The compute-heavy programs of [`PROGRAMS`] also built with `-march=`
/// x86-64-v3 and x86-64-v4 ([`crate::March`]), static and dynamic at `-O2`
/// (`linux-user/tests/march_programs.rs`): gcc vectorises their loops with
/// AVX2/AVX-512, uses FMA, BMI2 and MOVBE, and glibc's IFUNCs pick their
/// AVX2/EVEX variants. A few only, so the suite stays quick.
pub const MARCH_PROGRAMS: &[&str] = &[
    "sort_search.c",
    "libm.c",
    "string_funcs.c",
    "intmath.c",
    "interp.c",
    "printf_float.c",
    "malloc_churn.c",
    "recursion.c",
];

/// Guest programs run only by a test of their own, which states their
/// expectations: tern's own (`tern_memory.c`, `linux-user/tests/syscall_guard.rs`),
/// or output that depends on the CPU features glibc sees, compared with
/// native in chosen CPU models (`glibc_ifuncs.c`, `linux-user/tests/glibc_variants.rs`),
/// or one case per argument with per-model checks (`signal_xstate.c`,
/// `linux-user/tests/signal_xstate.rs`).
pub const TERN_ONLY: &[&str] = &["tern_memory.c", "glibc_ifuncs.c", "signal_xstate.c"];

/// The table entry for `src`. Panics if there is none.
pub fn program(src: &str) -> &'static GuestProgram {
    PROGRAMS.iter().find(|p| p.src == src).unwrap_or_else(|| panic!("{src} is not in tern_tests::PROGRAMS"))
}
