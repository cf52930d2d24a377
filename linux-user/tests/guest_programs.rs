//! Differential tests of tern against the host CPU: every guest program in
//! `tests/guest` is compiled with gcc/g++ in each build (static and dynamic,
//! -O0 and -O2), run natively and under the tern binary, and the two runs
//! must agree exactly in stdout, stderr and exit status. The programs and
//! their arguments, input and environment are listed in
//! `tern_tests::PROGRAMS`.

use std::path::Path;

fn tern() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tern"))
}

/// One `#[test]` per guest program, plus a check that the list is complete.
macro_rules! guest_tests {
    ($($name:ident => $src:literal $(, ignore $why:literal)?;)*) => {
        $(
            #[test]
            $(#[ignore = $why])?
            fn $name() {
                tern_tests::check_program(tern(), $src);
            }
        )*

        #[test]
        fn every_guest_program_has_a_test() {
            let mut here = vec![$($src),*];
            here.sort_unstable();
            let mut table: Vec<&str> = tern_tests::PROGRAMS.iter().map(|p| p.src).collect();
            table.sort_unstable();
            assert_eq!(here, table, "guest_tests! and tern_tests::PROGRAMS disagree");
        }
    };
}

guest_tests! {
    printf_float => "printf_float.c";
    libm => "libm.c";
    fenv => "fenv.c";
    sort_search => "sort_search.c";
    setjmp => "setjmp.c";
    cxx_exceptions => "cxx_exceptions.cpp";
    big_stack => "big_stack.c";
    stack_limit => "stack_limit.c";
    aslr => "aslr.c";
    malloc_churn => "malloc_churn.c";
    mmap => "mmap.c";
    file_io => "file_io.c";
    dir_list => "dir_list.c";
    string_funcs => "string_funcs.c";
    intmath => "intmath.c";
    interp => "interp.c";
    recursion => "recursion.c";
    argv_env => "argv_env.c";
    exec_table => "exec_table.c";
    exit_code => "exit_code.c";
    exit_underscore => "exit_underscore.c";
    exit_abort => "exit_abort.c";
    smc => "smc.c";
    trace_fault => "trace_fault.c";
    trace_fault_late => "trace_fault_late.c";
    trace_dispatch => "trace_dispatch.c";
    trace_callee_exit => "trace_callee_exit.c";
    trace_handlers => "trace_handlers.c";
    trace_spin => "trace_spin.c";
    trace_fork => "trace_fork.c";
    trace_hot => "trace_hot.c";
    trace_short => "trace_short.c";
    trace_phases => "trace_phases.c";
    trace_smc => "trace_smc.c";
    smc_syscall => "smc_syscall.c";
    sigmask => "sigmask.c";
    syscall_kernel_writes => "syscall_kernel_writes.c";
    signal_fenv => "signal_fenv.c";
    signal_mmap => "signal_mmap.c";
    signal_setjmp => "signal_setjmp.c";
    signal_async => "signal_async.c";
    signal_frame => "signal_frame.c";
    signal_nest => "signal_nest.c";
    signal_altstack => "signal_altstack.c";
    threads_sync => "threads_sync.c";
    threads_many => "threads_many.c";
    threads_robust => "threads_robust.c";
    threads_main_exit => "threads_main_exit.c";
    threads_exit_group => "threads_exit_group.c";
    threads_futex => "threads_futex.c";
    threads_clone => "threads_clone.c";
    clone3_process => "clone3_process.c";
    clone_exit_signal => "clone_exit_signal.c";
    vfork_pidfd => "vfork_pidfd.c";
    mlockall => "mlockall.c";
    fork_fd_limit => "fork_fd_limit.c";
    fork_rlimit_as => "fork_rlimit_as.c";
    rlimit_as => "rlimit_as.c";
    growsdown_thread => "growsdown_thread.c";
    mremap_fixed_unmaps => "mremap_fixed_unmaps.c";
    exec_only_code => "exec_only_code.c";
    map_count_limit => "map_count_limit.c";
    proc_names => "proc_names.c";
    proc_mm => "proc_mm.c";
    prctl_self => "prctl_self.c";
    iov_errors => "iov_errors.c";
    aio => "aio.c";
    userfaultfd => "userfaultfd.c";
    seccomp => "seccomp.c";
    io_uring => "io_uring.c";
    bpf => "bpf.c";
    xattr_at => "xattr_at.c";
    procmap_query => "procmap_query.c";
    process_madvise => "process_madvise.c";
    proc_self_open => "proc_self_open.c";
    proc_exe_stat => "proc_exe_stat.c";
    self_mem => "self_mem.c";
    task_dir_small => "task_dir_small.c";
    chroot_exec => "chroot_exec.c";
    proc_exe_leader => "proc_exe_leader.c";
    proc_openat2 => "proc_openat2.c";
    proc_maps_names => "proc_maps_names.c";
    proc_maps_perms => "proc_maps_perms.c";
    user_dispatch => "user_dispatch.c";
    unassigned_syscalls => "unassigned_syscalls.c";
    proc_smaps => "proc_smaps.c";
    proc_threads => "proc_threads.c";
    proc_status_mem => "proc_status_mem.c";
    fork_kill_race => "fork_kill_race.c";
    threads_then_mmap => "threads_then_mmap.c";
    std_fds_closed => "std_fds_closed.c";
    threads_setxid => "threads_setxid.c";
    threads_jit => "threads_jit.c";
    threads_stress => "threads_stress.c";
    threads_churn => "threads_churn.c";
    code_churn => "code_churn.c";
    many_targets => "many_targets.c";
    flags_across_syscalls => "flags_across_syscalls.c";
    threads_cancel => "threads_cancel.c";
    rtm => "rtm.c";
    tsc_off => "tsc_off.c";
    cpuid_exec => "cpuid_exec.c";
    exec_privileged => "exec_privileged.c";
    exec_busy => "exec_busy.c";
    insn_glue => "insn_glue.c";
    insn_glue_avx => "insn_glue_avx.c";
    segments => "segments.c";
    vdso => "vdso.c";
    vdso_unmap => "vdso_unmap.c";
    smc_volatile => "smc_volatile.c";
    jit_dual_map => "jit_dual_map.c";
    reserve_fixed => "reserve_fixed.c";
    eflags_ac => "eflags_ac.c";
    elf_image => "elf_image.c";
    pkeys => "pkeys.c";
    single_step => "single_step.c";
    vsyscall => "vsyscall.c";
    stack_nx => "stack_nx.c";
    sigreturn_ss => "sigreturn_ss.c";
    signal_fpu_init => "signal_fpu_init.c";
    traps => "traps.c";
    insn_alu => "insn_alu.c";
    insn_shift => "insn_shift.c";
    insn_muldiv => "insn_muldiv.c";
    insn_bits => "insn_bits.c";
    insn_cond => "insn_cond.c";
    insn_atomic => "insn_atomic.c";
    insn_string => "insn_string.c";
    insn_extend => "insn_extend.c";
    insn_lea => "insn_lea.c";
    insn_x87 => "insn_x87.c";
    insn_sse_float => "insn_sse_float.c";
    insn_sse_int => "insn_sse_int.c";
    insn_ssse3 => "insn_ssse3.c";
    insn_sse41 => "insn_sse41.c";
    insn_sse42 => "insn_sse42.c";
    insn_mxcsr => "insn_mxcsr.c";
    insn_avx_float => "insn_avx_float.c";
    insn_avx2 => "insn_avx2.c";
    insn_fma => "insn_fma.c";
    insn_bmi => "insn_bmi.c";
    insn_f16c => "insn_f16c.c";
    insn_avx512_float => "insn_avx512_float.c";
    insn_avx512_int => "insn_avx512_int.c";
    insn_sysinfo => "insn_sysinfo.c";
    xstate => "xstate.c";
    vfork => "vfork.c";
    clone_vm => "clone_vm.c";
    ptrace_world => "ptrace_world.c";
    jit_stress => "jit_stress.c";
    jit_kill_child => "jit_kill_child.c";
    exec_variants => "exec_variants.c";
    exec_state => "exec_state.c";
    exec_refused => "exec_refused.c";
    proc_tree => "proc_tree.c";
    fork_threads => "fork_threads.c";
    fork_shared_code => "fork_shared_code.c";
}

/// `vfork.c` with `--no-exec-in-place`, where a vfork child of a process
/// of one thread runs on its parent's memory (`vfork.rs`) instead of being
/// a fork that copies its changes back (`vfork_copy.rs`, the default).
#[test]
fn vfork_on_the_parents_memory() {
    let p = tern_tests::program("vfork.c");
    for b in tern_tests::Build::all_for(p.src) {
        if tern_tests::skip_without_compiler(b.cxx) {
            return;
        }
        let opts = ["--no-exec-in-place"];
        if let Err(report) =
            tern_tests::try_differential_opts(tern(), &opts, p.src, &b, p.args, p.stdin, p.env)
        {
            panic!("{report}");
        }
    }
}
