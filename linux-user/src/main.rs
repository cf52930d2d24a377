//! `tern`: run an x86-64 Linux program under dynamic binary translation.

mod proc_title;

use clap::Parser;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use tern_linux_user::cli::{parse_range, Cli};
use tern_linux_user::loader::{self, map, stack};
use tern_linux_user::optimizer;
use tern_signals::{install_fault_handlers, FaultContext, GuestSignals};
use tern_syscalls::strace::quote;
use tern_syscalls::{mm::Brk, proc, task::Reexec, Process};
use tern_translate::cpu::RSP;
use tern_translate::entry::CpuBox;
use tern_translate::{CpuModel, DumpOptions, Jit};

/// glibc's malloc, never entered by vfork and CLONE_VM children (see
/// `tern_translate::child_alloc`).
#[global_allocator]
static ALLOC: tern_translate::child_alloc::TernAlloc = tern_translate::child_alloc::TernAlloc;

fn fail(msg: impl std::fmt::Display, code: i32) -> ! {
    tern_signals::say!("tern: {msg}");
    std::process::exit(code)
}

/// tern's own environment as the kernel gave it: every entry, byte for
/// byte, in order (`std::env::vars_os` would drop entries without `=`).
fn host_environ() -> Vec<Vec<u8>> {
    extern "C" {
        static environ: *const *const libc::c_char;
    }
    let mut out = Vec::new();
    // SAFETY: environ is the C library's NULL-terminated array of C strings;
    // tern never changes its environment, and no other thread runs yet.
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() {
            out.push(std::ffi::CStr::from_ptr(*p).to_bytes().to_vec());
            p = p.add(1);
        }
    }
    out
}

/// The name part of an environment entry (all of it when it has no `=`).
fn env_name(entry: &[u8]) -> &[u8] {
    entry.split(|&b| b == b'=').next().unwrap_or(entry)
}

/// The guest environment: tern's own, edited by -U then -E (bytes, not
/// necessarily UTF-8; `-E VAR` without `=` sets VAR to the empty string).
fn guest_env(cli: &Cli) -> Vec<Vec<u8>> {
    // This tern's own TERN_EXEC goes; a guest's, hidden, comes back.
    let mut env = host_environ();
    env.retain(|e| env_name(e) != tern_syscalls::task::EXEC_VAR.as_bytes());
    let mut env = tern_syscalls::task::unhide_env(env);
    for u in &cli.unset_env {
        env.retain(|e| env_name(e) != u.as_bytes());
    }
    for s in &cli.set_env {
        let mut entry = s.as_bytes().to_vec();
        if !entry.contains(&b'=') {
            entry.push(b'=');
        }
        env.retain(|e| env_name(e) != env_name(&entry));
        env.push(entry);
    }
    env
}

fn stack_size() -> u64 {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills a local struct.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut rl) } == 0;
    if ok && rl.rlim_cur != libc::RLIM_INFINITY {
        rl.rlim_cur.clamp(1 << 20, 1 << 30)
    } else {
        8 << 20
    }
}

/// If tern was started with variables that change tern itself (LD_PRELOAD,
/// GLIBC_TUNABLES...: `task::affects_tern`), they are meant for the guest:
/// tern starts itself again once with them hidden (`task::hide_env`), so
/// that only the guest sees them. A tern started by tern for a guest
/// `execve` already has them hidden.
fn reexec_without_guest_env() {
    let env = host_environ();
    if !env.iter().any(|e| tern_syscalls::task::affects_tern(e)) {
        return;
    }
    let to_c = |v: Vec<u8>| std::ffi::CString::new(v).ok();
    let env: Vec<_> = tern_syscalls::task::hide_env(env).into_iter().filter_map(to_c).collect();
    let args: Vec<_> = std::env::args_os().map(|a| a.as_bytes().to_vec()).filter_map(to_c).collect();
    let mut argp: Vec<*const libc::c_char> = args.iter().map(|c| c.as_ptr()).collect();
    argp.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of C strings alive across the call;
    // nothing has changed the signal mask or handlers yet, so the new tern
    // inherits what this one did. On failure tern simply goes on.
    unsafe { libc::execve(c"/proc/self/exe".as_ptr(), argp.as_ptr(), envp.as_ptr()) };
}

/// The trace controls from the command line.
fn trace_config(cli: &Cli, model: CpuModel, dump: bool) -> optimizer::Config {
    let range = match &cli.trace_range {
        Some(r) => parse_range(r).unwrap_or_else(|| fail(format!("bad --trace-range '{r}'"), 2)),
        None => (0, u64::MAX),
    };
    let miscompile = cli.trace_miscompile.as_ref().map(|pc| {
        u64::from_str_radix(pc.trim_start_matches("0x"), 16)
            .unwrap_or_else(|_| fail(format!("bad --trace-miscompile '{pc}'"), 2))
    });
    optimizer::Config {
        threshold: cli.trace_threshold,
        max_blocks: cli.trace_max_blocks as usize,
        range,
        limit: cli.trace_limit.unwrap_or(u64::MAX),
        min_loops: cli.trace_min_loops,
        window_ns: cli.trace_window.saturating_mul(1000),
        count_insns: cli.stats,
        delay_ms: if cli.trace_sync { 0 } else { cli.trace_delay },
        budget_pct: if cli.trace_sync { 0 } else { cli.trace_budget },
        duty_pct: if cli.trace_sync { 100 } else { cli.trace_duty },
        threads: cli.optimizer_threads as usize,
        opt_level: cli.trace_opt,
        dump,
        miscompile,
        log: cli.trace_log.clone(),
        model: model.name(),
        sync: cli.trace_sync,
    }
}

/// Which of descriptors 0, 1 and 2 were closed when tern started (bit
/// `fd`), recorded by [`record_closed_std_fds`] before Rust's runtime opens
/// `/dev/null` on every closed one of them (`sanitize_standard_fds`).
static CLOSED_STD_FDS: AtomicU8 = AtomicU8::new(0);

/// Runs from `.init_array`, before `main` and so before Rust's runtime
/// (which glibc starts from `main`).
extern "C" fn record_closed_std_fds() {
    let mut closed = 0;
    for fd in 0..3 {
        // SAFETY: F_GETFD only asks about the descriptor.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            closed |= 1 << fd;
        }
    }
    CLOSED_STD_FDS.store(closed, Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static RECORD_CLOSED_STD_FDS: extern "C" fn() = record_closed_std_fds;

/// Closes again the standard descriptors the guest was started without:
/// Rust's runtime put `/dev/null` there, and a guest must find them closed
/// as natively (`posix_spawn` with a close action on 0; CPython's
/// `test_posix` checks that `fstat(0)` fails with EBADF).
fn reclose_std_fds() {
    let closed = CLOSED_STD_FDS.load(Ordering::Relaxed);
    for fd in 0..3 {
        if closed & (1 << fd) != 0 {
            // SAFETY: nothing of tern's uses these descriptors yet: they
            // hold the /dev/null the runtime opened.
            unsafe { libc::close(fd) };
        }
    }
}

/// The command line of a tern started for a guest `execve`: the options
/// and program path the exec'ing tern put in
/// [`EXEC_VAR`](tern_syscalls::task::EXEC_VAR), then the guest's arguments
/// after argv[0], which end the process's argv (what the kernel would give
/// the program, a script's interpreter line first). None for a tern
/// started by anything else.
fn exec_handover() -> Option<Vec<std::ffi::OsString>> {
    use std::os::unix::ffi::OsStringExt;
    let value = std::env::var_os(tern_syscalls::task::EXEC_VAR)?;
    let items = tern_syscalls::task::decode_exec_options(value.as_bytes());
    let mut items = items.unwrap_or_default().into_iter();
    let from = items.next().and_then(|i| String::from_utf8(i).ok()?.parse::<usize>().ok());
    let from = from.unwrap_or_else(|| fail(format!("bad {}", tern_syscalls::task::EXEC_VAR), 2));
    let mut cmd = vec![std::ffi::OsString::from("tern")];
    cmd.extend(items.map(std::ffi::OsString::from_vec));
    cmd.extend(std::env::args_os().skip(from));
    Some(cmd)
}

fn main() {
    reclose_std_fds();
    let handed = exec_handover();
    let mut args = std::env::args_os();
    if handed.is_none() && args.nth(1).is_some_and(|a| a == "bisect") {
        std::process::exit(tern_linux_user::bisect::main(args.collect()));
    }
    reexec_without_guest_env();
    // The inherited mask is the guest's; tern's reserved signals unblocked.
    tern_signals::mask::init_from_host();
    // One malloc arena: per-thread arenas would be mapped outside tern's
    // region, where the guest could map over them.
    // SAFETY: mallopt only sets an allocator parameter.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    // tern's heap never shrinks: its extent is tern's memory that guest
    // pointers are checked against (`syscalls::guard`), and a top trimmed
    // away and grown back would make the same guest address first tern's,
    // then unmapped, then tern's again.
    // SAFETY: as above.
    unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) };
    let mut cli = match handed {
        Some(cmd) => Cli::parse_from(cmd),
        None => Cli::parse(),
    };
    if !cli.no_code_cache && cli.code_cache.is_none() {
        // Resolved once: a guest that changes HOME keeps its tern's cache.
        // From here on `code_cache` alone says whether the cache is on.
        cli.code_cache = tern_translate::persist::default_dir();
    }
    if cli.syscalls {
        print!("{}", tern_syscalls::table::compat_list());
        return;
    }
    if let Some(handed) = &cli.host_cpuid {
        tern_translate::model::seed_host_cpuid(handed).unwrap_or_else(|e| fail(e, 2));
    } else if let Some(dir) = &cli.code_cache {
        tern_translate::persist::cpuid_record::load(dir);
    }
    let model = CpuModel::from_name(&cli.cpu).unwrap_or_else(|| {
        fail(format!("unknown CPU model '{}' (known: {})", cli.cpu, CpuModel::NAMES.join(", ")), 2)
    });
    let missing = model.missing_on_host();
    if !missing.is_empty() {
        fail(format!("CPU model {} needs what this host lacks: {}", model.name(), missing.join(", ")), 1);
    }
    tern_translate::xstate::set_model_visible(model.visible_xstate());
    let mut dump = DumpOptions { perf_map: cli.perf_map, time: cli.stats, ..Default::default() };
    let mut dump_traces = false;
    if let Some(items) = &cli.debug {
        for it in items.split(',') {
            match it {
                "in_asm" => dump.in_asm = true,
                "op" | "ir" => dump.ir = true,
                "out_asm" => dump.out_asm = true,
                "trace" => dump_traces = true,
                "persist" => dump.persist = true,
                other => {
                    fail(format!("unknown -d item '{other}' (known: in_asm, op, out_asm, trace, persist)"), 2)
                }
            }
        }
    }
    if let Some(r) = &cli.dfilter {
        dump.range = Some(parse_range(r).unwrap_or_else(|| fail(format!("bad --dfilter range '{r}'"), 2)));
    }
    let dumping = dump.in_asm || dump.ir || dump.out_asm || dump.persist || dump_traces;
    if let Err(e) =
        tern_linux_user::logging::init(cli.log_file.as_deref(), cli.log_fd, cli.strace, dumping, cli.stats)
    {
        fail(format!("cannot open log file: {e}"), 2);
    }

    tern_syscalls::rlimit::init(cli.guest_rlimits.as_deref()).unwrap_or_else(|e| fail(e, 2));
    tern_syscalls::seccomp::init(cli.guest_seccomp.as_deref()).unwrap_or_else(|e| fail(e, 2));
    tern_syscalls::guard::init();
    tern_translate::map_reserve::init();
    proc::snapshot_tern_ranges();
    let cache_size = tern_syscalls::rlimit::cache_size();
    tern_translate::child_alloc::set_region_size(cache_size);
    let jit: &'static Jit =
        Box::leak(Box::new(Jit::new(model, dump, cache_size).unwrap_or_else(|e| fail(e, 1))));
    jit.set_cache_limit(usize::try_from(cli.cache_size << 20).unwrap_or(usize::MAX));
    jit.set_kicker(tern_signals::thread::kick);
    if cli.stats {
        jit.set_count_insns();
    }
    // What the translation depends on besides the guest's bytes and
    // tern's binary (not the trace tier: its counting stubs lie outside
    // the blocks, `Jit::arm_profiling`).
    let traces = cli.traces && !cli.no_traces;
    let persist_options = format!("cpu={} count={}", model.name(), cli.stats);
    if let Some(p) = new_persist(&cli, &persist_options) {
        jit.enable_persist(p);
    }
    for (s, e) in jit.cache.ranges() {
        proc::add_tern_range(s, e);
    }
    if let Some((s, e)) = proc::vdso_range() {
        jit.set_vdso(s, e);
    }
    // tern's own path, read once for every program this process runs: a
    // guest's exec runs a new tern by it where there is no /proc, and the
    // trace compiler's library lies beside it.
    let self_exe = std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into());
    if traces {
        let cfg = trace_config(&cli, model, dump_traces);
        tern_linux_user::trace_lib::note_exe(&self_exe);
        tern_linux_user::optimizer::init(jit, cfg, tern_linux_user::trace_lib::load);
    }
    install_fault_handlers(&jit.cache)
        .unwrap_or_else(|e| fail(format!("cannot install tern's fault handlers: {e}"), 1));
    tern_signals::frame::init(jit);
    FaultContext::init_thread().unwrap_or_else(|e| fail(format!("cannot set up the signal stack: {e}"), 1));
    tern_signals::thread::on_thread_start(tern_signals::mask::guest_mask());
    if cli.log_fd.is_none() {
        // SAFETY: getpid has no preconditions.
        tern_syscalls::STRACE_ROOT.store(unsafe { libc::getpid() }, std::sync::atomic::Ordering::Relaxed);
    }
    if cli.strace {
        tern_signals::deliver::set_observer(|sig, info| {
            let line = tern_syscalls::strace::format_signal(sig, info);
            tracing::info!(target: "strace", "{}{line}", tern_syscalls::strace_prefix());
        });
    }
    let given_argv: Vec<Vec<u8>> = std::iter::once(cli.argv0.as_deref().unwrap_or(cli.program()))
        .chain(cli.args().iter().map(|a| a.as_os_str()))
        .map(|a| a.as_bytes().to_vec())
        .collect();
    // The path the program is exec'd by (what AT_EXECFN shows): a guest
    // execve's as given, else found in PATH as a shell would.
    let given = if cli.execve { PathBuf::from(cli.program()) } else { loader::resolve(cli.program()) };
    let env = guest_env(&cli);
    let exec_fd = cli.exec_fd;
    let setup: &'static Setup = Box::leak(Box::new(Setup { cli, jit, model, persist_options, self_exe }));
    let _ = SETUP.set(setup);
    tern_syscalls::host_thread::after_first_thread(Box::new(|| {
        if let Some(p) = tern_linux_user::thread::current_process() {
            p.signals.reclaim_internal_signals();
        }
    }));
    // A vfork child killed by a signal tern delivers reports its memory
    // changes to its parent first, as at any other end; and the process
    // writes its translations, its other threads stopped for good first
    // (a guest that crashed kept nothing before). Its guest memory stays:
    // a core dump shows it. A signal the host kernel delivers itself (a
    // SIG_DFL one sent by `kill`) ends tern without this.
    tern_signals::guest::set_before_death(|| {
        if let Some(p) = tern_linux_user::thread::current_process() {
            tern_syscalls::vfork_copy::at_exit(p);
            tern_syscalls::task::stop_other_threads();
            tern_syscalls::task::save_persisted(p);
        }
    });
    let program = Program { given, argv: given_argv, env, exec_fd };
    start_program(setup, program, GuestSignals::default(), None)
}

/// The set-up, for the programs the guest execs in place.
static SETUP: std::sync::OnceLock<&'static Setup> = std::sync::OnceLock::new();

/// What every program this process runs starts from: tern's options, its
/// translator and CPU model, the persistent cache's options.
struct Setup {
    cli: Cli,
    jit: &'static Jit,
    model: CpuModel,
    persist_options: String,
    /// tern's own path, read once at start-up.
    self_exe: PathBuf,
}

/// A program to start: the path it is exec'd by (AT_EXECFN), its argv as
/// given (before a script's interpreter line), its environment, and a
/// descriptor its path goes through, to close once it is loaded.
struct Program {
    given: PathBuf,
    argv: Vec<Vec<u8>>,
    env: Vec<Vec<u8>>,
    exec_fd: Option<i32>,
}

/// The persistent cache for a new program, if it is on.
fn new_persist(cli: &Cli, options: &str) -> Option<tern_translate::persist::Persist> {
    tern_translate::persist::Persist::new(cli.code_cache.clone()?, options)
}

/// Where this process put its program's stack: the top and the bytes
/// below it kept for growth (`map::map_stack`), unmapped at an `execve`
/// the process runs itself.
static GUEST_STACK: std::sync::Mutex<Option<(u64, u64)>> = std::sync::Mutex::new(None);

/// Loads `prog` and runs it on the calling (main) host thread, with the
/// dispositions `signals`; never returns. `old`: the state of the program
/// this one replaces, which this thread's GS base names until the new one
/// is installed (a host signal handler may still look at it).
fn start_program(setup: &'static Setup, prog: Program, signals: GuestSignals, old: Option<CpuBox>) -> ! {
    let (cli, jit, model) = (&setup.cli, setup.jit, setup.model);
    let Program { given, argv: given_argv, env, exec_fd } = prog;
    let exec =
        loader::script::resolve(&given, given_argv.clone()).unwrap_or_else(|e| fail(&e, e.exit_code()));
    let (path, argv) = (exec.path, exec.argv);
    let loaded = loader::load(&path).unwrap_or_else(|e| fail(&e, e.exit_code()));
    jit.set_persist_program(&loaded.path);
    // A program reached through a descriptor (`execveat`, `fexecve`) is
    // the file the descriptor names, for `/proc/self/exe`.
    let exe = if path.as_os_str().as_bytes().starts_with(b"/dev/fd/") {
        std::fs::canonicalize(&path).unwrap_or_else(|_| loaded.path.clone())
    } else {
        loaded.path.clone()
    };
    if let Some(fd) = exec_fd {
        // SAFETY: the descriptor the exec'ing tern handed over for loading.
        unsafe { libc::close(fd) };
    }
    for &(s, e, prot) in loaded.mappings() {
        jit.note_map(s, e, prot);
    }
    let mut cpu =
        CpuBox::new().unwrap_or_else(|e| fail(format!("cannot map the guest thread's state: {e}"), 1));
    cpu.ibl_populate();
    cpu.install_on_current_thread()
        .unwrap_or_else(|e| fail(format!("cannot install the guest thread's state: {e}"), 1));
    tern_signals::thread::set_current_cpu(cpu.as_ptr());
    drop(old);

    // The initial stack.
    let size = stack_size();
    // As the kernel starts a stack: 128 KiB and the strings and tables
    // (`setup_arg_pages`), which a little extra covers.
    let strings: usize = argv.iter().chain(&env).map(|s| s.len() + 1 + 8).sum();
    let initial = (128 << 10) + strings as u64 + 4096;
    let (top, mapped) = map::map_stack(size, initial, loaded.exec_stack)
        .unwrap_or_else(|e| fail(format!("cannot map the stack: {e}"), 1));
    *GUEST_STACK.lock().unwrap_or_else(|e| e.into_inner()) = Some((top, size.max(mapped)));
    let stack_prot = libc::PROT_READ | libc::PROT_WRITE | if loaded.exec_stack { libc::PROT_EXEC } else { 0 };
    jit.note_map(top - mapped, top, stack_prot);
    tern_syscalls::rlimit::set_main_stack(mapped);
    let mut random = [0u8; 16];
    // SAFETY: getrandom fills the local buffer.
    unsafe { libc::getrandom(random.as_mut_ptr().cast(), 16, 0) };
    let execfn = given.as_os_str().as_bytes();
    // SAFETY: [top - mapped, top) was just mapped writable for the guest
    // stack, larger than the strings and tables (`initial`).
    let st = unsafe { stack::build(top, &loaded, model, &argv, &env, execfn, random) };
    proc::set_stack_strings(st.args, st.env);
    let auxv: Vec<u8> =
        st.auxv.iter().flat_map(|(k, v)| k.to_le_bytes().into_iter().chain(v.to_le_bytes())).collect();
    let mm = proc_title::GuestMm {
        code: loaded.main.code,
        data: loaded.main.data,
        start_stack: st.sp,
        args: st.args,
        env: st.env,
        auxv: &auxv,
    };
    proc_title::set(execfn, &argv, &mm);

    cpu.regs[RSP] = st.sp;
    cpu.rip = loaded.start();
    // Diagnostics that report per tern process keep one per program.
    let per_process = cli.strace || cli.stats || cli.perf_map || cli.debug.is_some();
    let in_place = !(cli.no_exec_in_place || per_process);
    let p = Process {
        jit,
        exe,
        auxv,
        cmdline: argv.iter().flat_map(|a| a.iter().copied().chain([0])).collect(),
        brk: std::sync::Arc::new(std::sync::Mutex::new(Brk::new(loaded.brk))),
        signals,
        strace: cli.strace,
        reexec: Reexec {
            tern: setup.self_exe.clone(),
            options: cli.reexec_options(),
            pass_log: cli.logging(),
            check: loader::exec_check,
            follow: !cli.no_follow_exec,
            in_place,
        },
        run_guest: tern_linux_user::thread::run_vfork_child,
    };
    if cli.strace {
        let args: Vec<String> = given_argv.iter().map(|a| quote(a, false)).collect();
        tracing::info!(
            target: "strace",
            "{}execve({}, [{}], {:#x} /* {} vars */) = 0",
            tern_syscalls::strace_prefix(),
            quote(given.as_os_str().as_bytes(), false),
            args.join(", "),
            st.sp,
            env.len()
        );
    }
    let p: &'static Process = Box::leak(Box::new(p));
    tern_linux_user::thread::run_main(p, cpu, cli.stats, exec_in_place)
}

/// Runs a guest `execve` in this process (`task::ExecInPlace`): what the
/// kernel's `execve` does past its point of no return, then the new
/// program's start as a new tern would make it. The old program's state
/// `cpu` (the calling thread's, the only one) is dropped; `old` stays
/// leaked (a few hundred bytes).
fn exec_in_place(old: &'static Process, exec: tern_syscalls::task::ExecInPlace, cpu: CpuBox) -> ! {
    let setup = SETUP.get().copied().unwrap_or_else(|| fail("exec without a set-up", 1));
    tracing::debug!("execve in place: {}", quote(&exec.path, false));
    let jit = setup.jit;
    jit.unregister_thread(cpu.as_ptr());
    let persist = new_persist(&setup.cli, &setup.persist_options);
    jit.reset_for_exec(persist);
    if let Some((top, size)) = GUEST_STACK.lock().unwrap_or_else(|e| e.into_inner()).take() {
        // SAFETY: the old program's stack and the room kept for it to grow
        // (`map_stack`), guest memory no block refers to any more.
        unsafe { libc::munmap((top - size) as *mut libc::c_void, size as usize) };
    }
    tern_syscalls::task::reset_for_exec();
    tern_linux_user::optimizer::after_exec();
    let signals = old.signals.for_exec();
    let program = Program {
        given: PathBuf::from(std::ffi::OsStr::from_bytes(&exec.path)),
        argv: exec.argv,
        env: exec.env,
        exec_fd: None,
    };
    start_program(setup, program, signals, Some(cpu))
}
