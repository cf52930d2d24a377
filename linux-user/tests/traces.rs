//! The trace tier against native runs: every guest program with traces
//! forced (threshold 1 and synchronous compilation: every loop runs as a
//! trace from its second iteration; long traces and one-block traces), the trace counters that show
//! traces really ran, and `tern bisect` finding a trace miscompiled on
//! purpose.

use std::path::Path;
use std::process::Command;
use tern_tests::{program, try_differential_opts, Build, PROGRAMS};

fn tern() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tern"))
}

/// Two builds per program: static -O2 and dynamic -O0.
fn two_builds(src: &str) -> Vec<Build> {
    Build::all_for(src)
        .into_iter()
        .filter(|b| (b.static_ && b.opt == "-O2") || (!b.static_ && b.opt == "-O0"))
        .collect()
}

/// The guest programs `pick` selects, each in the builds `builds` gives,
/// under `opts`, two at a time: the failures' reports.
fn programs(opts: &[&str], pick: fn(&str) -> bool, builds: fn(&str) -> Vec<Build>) -> Vec<String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(p) = PROGRAMS.get(i) else { break };
                if !pick(p.src) || tern_tests::skip_without_compiler(p.src.ends_with(".cpp")) {
                    continue;
                }
                for b in builds(p.src) {
                    if let Err(r) = try_differential_opts(tern(), opts, p.src, &b, p.args, p.stdin, p.env) {
                        failures.lock().unwrap().push(r);
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

/// Traces forced, asynchronously: every head hot at its first branch,
/// compiled from the start (no delay, no window), never retired.
const FORCED: [&str; 9] = [
    "--traces",
    "--trace-threshold",
    "1",
    "--trace-min-loops",
    "0",
    "--trace-delay",
    "0",
    "--trace-window",
    "0",
];

/// Every program, threshold 1: loops become traces as soon as the
/// optimizer gets to them (asynchronously, as in production).
#[test]
fn guest_programs_with_traces_forced() {
    // vfork.c's clone(CLONE_VFORK) is a raw host clone while the optimizer
    // allocates: it hung in one run of three until the fork waited for it.
    // chroot_exec.c needs a user namespace, which a process of several
    // threads cannot make (the optimizer's thread runs from the start:
    // README "Compatibility"), and a tern started in its chroot would not
    // find the trace compiler's library there.
    let opts = [&FORCED[..], &["--trace-budget", "0"]].concat();
    let f = programs(&opts, |src| src != "chroot_exec.c", two_builds);
    assert!(f.is_empty(), "{} runs differ:\n{}", f.len(), f.join("\n"));
}

/// A guest that uses up the kernel's count of mappings (as LTP munmap04),
/// then runs loops not run before: their traces compile, LLVM's heap
/// growing into the room tern keeps for itself (`map_reserve`). Before,
/// LLVM aborted ("out of memory") in the dynamic build, and tern ran out
/// of memory in one CI run of the test above.
#[test]
fn traces_compile_after_the_guest_used_up_the_mappings() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let opts = ["--traces", "--trace-threshold", "1", "--trace-sync", "--trace-min-loops", "0"];
    let p = program("map_count_limit.c");
    let f: Vec<String> = two_builds(p.src)
        .iter()
        .filter_map(|b| try_differential_opts(tern(), &opts, p.src, b, p.args, p.stdin, p.env).err())
        .collect();
    assert!(f.is_empty(), "{} runs differ:\n{}", f.len(), f.join("\n"));
}

/// The guest's memory figures (`/proc/self/status` against `statm`) stay
/// its own while traces compile: a compile's probe of the kernel's count
/// of mappings (`map_reserve`) was a page outside tern's memory, counted
/// as the guest's when a read came between its map and unmap (one run in
/// ten of this program differed). Twenty runs.
#[test]
fn memory_figures_hold_while_traces_compile() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let opts = FORCED;
    let p = program("proc_status_mem.c");
    let b = Build { static_: true, opt: "-O2", cxx: false };
    let f: Vec<String> = (0..20)
        .filter_map(|_| try_differential_opts(tern(), &opts, p.src, &b, p.args, p.stdin, p.env).err())
        .collect();
    assert!(f.is_empty(), "{} runs of 20 differ:\n{}", f.len(), f.join("\n"));
}

/// Programs whose work is their own loops (no exec, whose every new
/// process would compile its loops again; a choice that keeps the time
/// down: each loop costs a compilation), threshold 1 and synchronous
/// compilation, long and one-block traces: every loop runs as a trace.
fn loop_programs(src: &str) -> bool {
    const PICK: [&str; 17] = [
        "trace_",
        "insn_alu",
        "insn_cond",
        "insn_shift",
        "insn_muldiv",
        "insn_lea",
        "insn_extend",
        "insn_bits",
        "insn_string",
        "insn_sse_float",
        "insn_sse_int",
        "insn_mxcsr",
        "fenv",
        "interp",
        "intmath",
        "sort_search",
        "recursion",
    ];
    PICK.iter().any(|p| src.starts_with(p))
}

fn static_o2(src: &str) -> Vec<Build> {
    Build::all_for(src).into_iter().filter(|b| b.static_ && b.opt == "-O2").collect()
}

#[test]
fn loop_programs_with_every_loop_a_trace() {
    let f = programs(
        &["--traces", "--trace-threshold", "1", "--trace-sync", "--trace-min-loops", "0"],
        loop_programs,
        static_o2,
    );
    assert!(f.is_empty(), "{} runs differ:\n{}", f.len(), f.join("\n"));
}

#[test]
fn loop_programs_with_every_loop_a_one_block_trace() {
    let opts = [
        "--traces",
        "--trace-threshold",
        "1",
        "--trace-sync",
        "--trace-max-blocks",
        "1",
        "--trace-min-loops",
        "0",
    ];
    let f = programs(&opts, loop_programs, static_o2);
    assert!(f.is_empty(), "{} runs differ:\n{}", f.len(), f.join("\n"));
}

/// The `--stats` counter `name` of a run of `src` (static -O2) with `opts`.
fn stat(src: &str, opts: &[&str], name: &str) -> u64 {
    stats(src, opts, &[name])[0]
}

/// The `--stats` counters `names` of one run of `src` (static -O2) with
/// `--traces` and `opts`.
fn stats(src: &str, opts: &[&str], names: &[&str]) -> Vec<u64> {
    stats_of_run(src, opts, program(src).args, names)
}

/// [`stats`] of a run with arguments `args`.
fn stats_of_run(src: &str, opts: &[&str], args: &[&str], names: &[&str]) -> Vec<u64> {
    let bin = tern_tests::build(src, &Build { static_: true, opt: "-O2", cxx: false });
    let out = Command::new(tern())
        .args(["--stats", "--traces"])
        .args(opts)
        .arg(&bin)
        .args(args)
        .output()
        .expect("run tern");
    let err = String::from_utf8_lossy(&out.stderr);
    names.iter().map(|n| tern_tests::stats_counter(&err, n)).collect()
}

/// The guest instructions counted under `--stats` are the same whether
/// they run in baseline code or in traces (a count differs from run to
/// run only by what a thread runs before its exit: nothing here).
#[test]
fn instructions_counted_in_traces_and_baseline_agree() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let alone = stat("trace_hot.c", &["--no-traces"], "guest insns: baseline");
    let keep = ["--trace-threshold", "50", "--trace-sync", "--trace-min-loops", "0"];
    let split = stats("trace_hot.c", &keep, &["guest insns: baseline", "traces: insns run"]);
    assert!(alone > 100_000_000, "baseline count {alone}");
    assert!(split[1] > alone / 2, "traces ran {} of {alone} instructions", split[1]);
    assert_eq!(
        split[0] + split[1],
        alone,
        "baseline {} + traces {} against {alone} alone",
        split[0],
        split[1]
    );
}

#[test]
fn traces_run_and_baseline_only_has_none() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    assert!(stat("trace_hot.c", &["--trace-sync"], "traces: installed") >= 3);
    assert!(stat("trace_hot.c", &["--trace-sync"], "traces: entries") > 0);
    let bin = tern_tests::build("trace_fork.c", &Build { static_: true, opt: "-O2", cxx: false });
    for opts in [&["--stats", "--no-traces"][..], &["--stats"], &["--stats", "--traces", "--no-traces"]] {
        let out = Command::new(tern()).args(opts).arg(&bin).output().expect("run tern");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("traces:"), "{opts:?} still formed traces:\n{err}");
    }
}

/// Blocks with counting stubs are kept in the persistent cache: a second
/// `--traces` run of a PIE program (its code and libc elsewhere: the
/// stubs' counters move with the heads' addresses) loads its blocks, and
/// its loops still become traces, with the first run's output.
#[test]
fn profiled_blocks_come_from_the_persistent_cache() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = tern_tests::build("trace_hot.c", &Build { static_: false, opt: "-O2", cxx: false });
    let dir = std::env::temp_dir().join(format!("tern-trace-persist-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = || {
        let out = Command::new(tern())
            .args(["--stats", "--traces", "--trace-sync", "--trace-threshold", "50", "--code-cache"])
            .arg(&dir)
            .arg(&bin)
            .output()
            .expect("run tern");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let err = String::from_utf8_lossy(&out.stderr);
        let row = |name| tern_tests::stats_counter(&err, name);
        (out.stdout, row("of which reused"), row("blocks translated"), row("traces: installed"))
    };
    let (out1, reused1, _, installed1) = run();
    let (out2, reused2, translated2, installed2) = run();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(reused1, 0, "a fresh cache");
    assert!(reused2 * 10 > translated2 * 9, "reused {reused2} of {translated2} blocks");
    assert!(installed1 >= 3 && installed2 >= 3, "traces installed: {installed1}, then {installed2}");
    assert_eq!(out1, out2);
}

/// Traces whose runs are a few loop turns are taken out of use again
/// (their counters say so); with `--trace-min-loops 0` they stay. One
/// block per trace: else the caller's loop takes the short loop in (a
/// trace runs a loop inside a block of its own), and its runs are long.
#[test]
fn short_traces_are_retired() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let sync = ["--trace-threshold", "50", "--trace-sync", "--trace-max-blocks", "1"];
    assert!(stat("trace_short.c", &sync, "traces: retired") >= 1);
    assert!(stat("trace_short.c", &sync, "traces: runs counted") >= 1000);
    let keep = [&sync[..], &["--trace-min-loops", "0"]].concat();
    assert_eq!(stat("trace_short.c", &keep, "traces: retired"), 0);
    assert!(stat("trace_hot.c", &["--trace-sync"], "traces: retired") == 0, "long loops were retired");
    assert!(stat("trace_hot.c", &["--trace-sync"], "traces: loop turns") >= 1_000_000);
}

/// A head whose path does not come back to it within the trace's blocks
/// is not compiled (`--stats`: "traces: not loops"): every run would
/// leave the trace before a turn, and its first verdict would retire it.
/// One block per trace: the caller's loop of `trace_short.c` calls out
/// of its block. With `--trace-min-loops 0` (no verdicts) it is compiled.
#[test]
fn paths_that_do_not_come_back_are_not_compiled() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let sync = ["--trace-threshold", "50", "--trace-sync", "--trace-max-blocks", "1"];
    assert!(stat("trace_short.c", &sync, "traces: not loops") >= 1);
    let keep = [&sync[..], &["--trace-min-loops", "0"]].concat();
    assert_eq!(stat("trace_short.c", &keep, "traces: not loops"), 0);
}

/// A switch-dispatch loop: its first trace follows one handler and leaves
/// at the others; the targets it left to are taken into grown traces of
/// the same head (`--stats`: "traces: grown") until most of the loop's
/// instructions run inside one (under 1% before traces grew).
#[test]
fn dispatch_loop_grows_into_one_trace() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    // Three times the runs of its differential runs: the grown traces
    // compile while the loop runs on in baseline code (for half the
    // default run or more here while other tests ran beside).
    let [grown, traced, base] = grown_run("trace_dispatch.c", &["600"]);
    assert!(grown >= 1 && traced > 2 * base, "grown {grown}, in traces {traced}, in baseline code {base}");
}

/// Traces grown, guest instructions run in traces and in baseline code,
/// in a run of `src` with `args`, every loop hot after 50 turns and the
/// guest waiting for each compile.
fn grown_run(src: &str, args: &[&str]) -> [u64; 3] {
    let opts = ["--trace-threshold", "50", "--trace-sync"];
    let names = ["traces: grown", "traces: insns run", "guest insns: baseline"];
    let n = stats_of_run(src, &opts, args, &names);
    [n[0], n[1], n[2]]
}

/// A loop whose first trace follows a callee's path taken once before the
/// loop, and leaves at that path's branch on every turn: its grown trace
/// takes in the path from the exit, inside the callee, and that path's
/// return goes back along the trace (a grown path starts with the return
/// addresses the calls before its exit pushed). Before, the path ended at
/// the return, nothing grew, and the trace was retired.
#[test]
fn grown_path_inside_a_callee_returns_along_the_trace() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    // Three times the turns of its differential runs: the grown trace
    // compiles while the loop runs on in baseline code (for about a third
    // of the default run here, two thirds under CI's load).
    let [grown, traced, base] = grown_run("trace_callee_exit.c", &["90000000"]);
    assert!(grown >= 1 && traced > base, "grown {grown}, in traces {traced}, in baseline code {base}");
}

/// A loop calling through a table of function pointers: its first trace
/// ends at the call (no target predicted), the code after the call is a
/// path of its own, and the callees the trace left to are taken in by
/// growth, their returns dispatched back into the trace, until most of
/// the loop's instructions run inside one (none did before: the path
/// ended at the call, and the callees' paths at their returns).
#[test]
fn calls_through_a_table_grow_into_one_trace() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let [grown, traced, base] = grown_run("trace_handlers.c", &["3000"]);
    assert!(grown >= 1 && traced > base, "grown {grown}, in traces {traced}, in baseline code {base}");
}

/// The block limit keeps room for the code after a call through a
/// register: with more callees than fit, the grown trace takes fewer of
/// them and still closes its loop (before, it took callees up to the
/// limit, lacked the code the callees return to, and left the loop at
/// every turn: a few thousand turns in millions of entries).
#[test]
fn calls_through_a_table_leave_room_for_the_code_after_the_call() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let opts =
        ["--trace-threshold", "50", "--trace-sync", "--trace-min-loops", "0", "--trace-max-blocks", "4"];
    let names = ["traces: grown", "traces: entries", "traces: loop turns"];
    let n = stats_of_run("trace_handlers.c", &opts, &["3000"], &names);
    assert!(n[0] >= 1 && n[2] * 10 > n[1], "grown {}, entries {}, loop turns {}", n[0], n[1], n[2]);
}

/// Traces formed while no guest handler could see a fault in them keep no
/// precise state (no syncs); the handler installed afterwards takes them
/// out of use before `sigaction` returns, and sees the fault's state as
/// natively; the loop, hot again, gets a precise trace; with no handler,
/// such a trace's fault ends the process with the signal as natively.
/// Every loop a trace from its second turn.
#[test]
fn traces_without_syncs_until_a_fault_handler() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let sync = ["--trace-threshold", "50", "--trace-sync", "--trace-min-loops", "0"];
    let n = stats("trace_fault_late.c", &sync, &["traces: without syncs", "traces: formed again"]);
    assert!(n[0] >= 1 && n[1] >= 1, "without syncs {}, formed again {}", n[0], n[1]);
    let opts = [
        "--traces",
        "--trace-threshold",
        "1",
        "--trace-sync",
        "--trace-min-loops",
        "0",
        "--trace-delay",
        "0",
    ];
    let mut failures = Vec::new();
    for b in two_builds("trace_fault_late.c") {
        for args in [&[][..], &["die"]] {
            if let Err(r) = try_differential_opts(tern(), &opts, "trace_fault_late.c", &b, args, b"", &[]) {
                failures.push(r);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A loop in code the guest keeps rewriting gets a trace at most once:
/// traces stop before pages whose translations were dropped (300
/// rewrites invalidated 299 traces before).
#[test]
fn no_traces_on_rewritten_code() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let opts = ["--trace-threshold", "1", "--trace-sync", "--trace-min-loops", "0"];
    let invalidated = stat("trace_smc.c", &opts, "traces: invalidated");
    assert!(invalidated <= 2, "{invalidated} traces invalidated");
}

/// The heads of the traces a run of `bin` (with `args`) installs.
fn installed_heads(bin: &Path, args: &[&str]) -> Vec<u64> {
    logged_heads(&["--trace-sync"], bin, args).0
}

/// The heads of the traces a `--traces` run of `bin` with `opts` and
/// `args` installs, and its stderr.
fn logged_heads(opts: &[&str], bin: &Path, args: &[&str]) -> (Vec<u64>, String) {
    let log = std::env::temp_dir().join(format!("tern-trace-log-{}-{}", std::process::id(), args.len()));
    let _ = std::fs::remove_file(&log);
    let out = Command::new(tern())
        .arg("--traces")
        .args(opts)
        .arg("--trace-log")
        .arg(&log)
        .arg(bin)
        .args(args)
        .output()
        .expect("run tern");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    let mut heads: Vec<u64> =
        text.lines().filter_map(|l| u64::from_str_radix(l.split_whitespace().next()?, 16).ok()).collect();
    heads.sort_unstable();
    heads.dedup();
    (heads, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A loop hot only for a moment at the start has ended when profiling
/// starts (after `--trace-delay`, when branches get their counting stubs):
/// it is never counted, let alone compiled; the loop that runs on gets hot
/// and its trace is installed. Before session 48 every queued head was
/// compiled, the first loop's for nothing; before session 49 the first
/// loop counted from the start, got hot and was profiled again.
#[test]
fn a_loop_that_ended_before_its_turn_is_not_compiled() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = tern_tests::build("trace_phases.c", &Build { static_: true, opt: "-O2", cxx: false });
    let (heads, err) = logged_heads(&["--stats", "--trace-delay", "400"], &bin, &["300000000", "addr"]);
    assert!(traced(&heads, &err, "late"), "the running loop got no trace: heads {heads:x?}\n{err}");
    assert!(!traced(&heads, &err, "early"), "the ended loop was compiled: heads {heads:x?}\n{err}");
    assert!(tern_tests::stats_counter(&err, "counting stubs") >= 1, "{err}");
}

/// Whether one of `heads` lies in trace_phases.c's function `name`, whose
/// address the program printed on stderr `err`.
fn traced(heads: &[u64], err: &str, name: &str) -> bool {
    let w = err.split_whitespace().skip_while(|w| *w != name).nth(1).unwrap_or("");
    let f = u64::from_str_radix(w.trim_start_matches("0x"), 16)
        .unwrap_or_else(|_| panic!("no {name} address:\n{err}"));
    heads.iter().any(|&h| (f..f + 0x40).contains(&h))
}

/// Counting comes in bursts (`--trace-duty`): between them the profiled
/// branches lead past their counting stubs, and a loop that starts during
/// a pause gets its stubs, and its trace, in the next burst. Here bursts
/// of 5 ms every 500 ms, and a program that sleeps 1.2 s before its
/// second loop: pauses, the loop still compiled.
#[test]
fn counting_pauses_between_bursts() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = tern_tests::build("trace_phases.c", &Build { static_: true, opt: "-O2", cxx: false });
    let opts = ["--stats", "--trace-delay", "0", "--trace-duty", "1"];
    let (heads, err) = logged_heads(&opts, &bin, &["300000000", "addr", "1200"]);
    assert!(traced(&heads, &err, "late"), "the loop after the pauses got no trace: heads {heads:x?}\n{err}");
    assert!(tern_tests::stats_counter(&err, "counting pauses") >= 2, "{err}");
    assert!(tern_tests::stats_counter(&err, "branches paused") >= 1, "{err}");
}

/// A process that ends before `--trace-delay` runs the very code it runs
/// without traces: blocks carry no counting code of their own (their
/// backward branches get stubs only when profiling starts), so the same
/// blocks are translated into the same number of host bytes and no stub
/// is made. Before, every backward branch had its stub inline from the
/// start (`/bin/true` 8 % slower under `--traces`).
#[test]
fn a_process_that_ends_before_the_delay_runs_the_baseline_code() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = tern_tests::build("trace_phases.c", &Build { static_: true, opt: "-O2", cxx: false });
    let run = |traces: &[&str]| {
        let out = Command::new(tern())
            .args(["--stats", "--no-code-cache"])
            .args(traces)
            .arg(&bin)
            .arg("1000")
            .output()
            .expect("run tern");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let (plain, traced) = (run(&[]), run(&["--traces", "--trace-delay", "60000"]));
    for what in ["blocks translated", "host code bytes"] {
        let (a, b) = (tern_tests::stats_counter(&plain, what), tern_tests::stats_counter(&traced, what));
        assert_eq!(a, b, "{what}: {a} without traces, {b} with:\n{traced}");
    }
    assert_eq!(tern_tests::stats_counter(&traced, "counting stubs"), 0, "{traced}");
    let armed = run(&["--traces", "--trace-delay", "0"]);
    assert!(tern_tests::stats_counter(&armed, "counting stubs") >= 2, "{armed}");
}

/// `tern bisect` names the trace miscompiled on purpose (`--trace-miscompile`),
/// in a single-threaded and a multithreaded guest.
fn bisect_finds(args: &[&str]) {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = tern_tests::build("trace_hot.c", &Build { static_: true, opt: "-O2", cxx: false });
    let heads = installed_heads(&bin, args);
    assert!(heads.len() >= 3, "the three kernels' traces were not installed: {heads:x?}");
    let culprit = heads[heads.len() / 2];
    let out = Command::new(tern())
        .args(["bisect", "--traces", "--trace-miscompile", &format!("{culprit:x}"), "--"])
        .arg(&bin)
        .args(args)
        .output()
        .expect("run tern bisect");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("the trace at head {culprit:#x} changes the behaviour")),
        "bisect did not name {culprit:#x}:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("TRACE "), "no dump of the trace:\n{text}");
}

#[test]
fn bisect_finds_a_miscompiled_trace() {
    bisect_finds(&[]);
}

#[test]
fn bisect_finds_a_miscompiled_trace_in_threads() {
    bisect_finds(&["threads"]);
}

#[test]
fn bisect_reports_no_difference() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = tern_tests::build("trace_hot.c", &Build { static_: true, opt: "-O2", cxx: false });
    let out =
        Command::new(tern()).args(["bisect", "--traces", "--"]).arg(&bin).output().expect("run tern bisect");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("no difference"), "{text}");
}
