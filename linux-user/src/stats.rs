//! `--stats`: the counters printed when the guest process ends (the Jit's,
//! and the CPU loops' of every thread, merged).

use crate::cpu_loop::LoopStats;
use tern_translate::cpu::ExitKind;
use tern_translate::Jit;

/// Prints the counters to tern's log.
pub fn print(jit: &Jit, s: &LoopStats) {
    use std::io::Write;
    use std::sync::atomic::Ordering::Relaxed;
    let st = &jit.stats;
    let mut out = String::from("tern stats:\n");
    let rows = [
        ("blocks translated", st.blocks.load(Relaxed)),
        ("  of which reused", st.reused.load(Relaxed)),
        ("guest instructions", st.guest_insns.load(Relaxed)),
        ("host code bytes", st.host_bytes.load(Relaxed)),
        ("rip-relative glue", st.far_rip.load(Relaxed)),
        ("chained jumps", st.chained.load(Relaxed)),
        ("lookup victims kept", st.ibl_victims.load(Relaxed)),
        ("blocks invalidated", st.invalidated.load(Relaxed)),
        ("code cache flushes", st.flushes.load(Relaxed)),
        ("counting stubs", st.count_stubs.load(Relaxed)),
        ("counting pauses", st.count_pauses.load(Relaxed)),
        ("  branches paused", st.branches_paused.load(Relaxed)),
        ("code cache copies", jit.cache.copies()),
        ("links refused, shared", st.links_refused.load(Relaxed)),
        ("blocks loaded for fork children", st.fork_prefetched.load(Relaxed)),
        ("blocks loaded from start-up lists", st.group_loaded.load(Relaxed)),
        ("  of which from start-up images", st.image_loaded.load(Relaxed)),
        ("start-up list misses", st.group_missed.load(Relaxed)),
        ("translations retried", st.translate_retries.load(Relaxed)),
        ("translator lock recoveries", st.lock_recoveries.load(Relaxed)),
        ("translation us", st.translate_ns.load(Relaxed) / 1000),
        ("  of which locked us", st.translate_locked_ns.load(Relaxed) / 1000),
        ("syscalls", s.syscalls),
        ("guest insns: baseline", s.guest_insns),
        ("code-page writes", s.smc),
        ("host cpuid asked", tern_translate::model::host_cpuid_asked() as u64),
    ];
    for (name, v) in rows {
        out.push_str(&format!("  {name:<20} {v}\n"));
    }
    if let Some(t) = crate::optimizer::stats() {
        let (runs, loops, insns) = crate::optimizer::counted();
        let trows = [
            ("traces: hot heads", t.hot.load(Relaxed)),
            ("traces: not loops", t.open.load(Relaxed)),
            ("traces: formed", t.formed.load(Relaxed)),
            ("traces: compiled", t.compiled.load(Relaxed)),
            ("traces: installed", t.installed.load(Relaxed)),
            ("traces: without syncs", t.unsynced.load(Relaxed)),
            ("traces: rejected", t.rejected.load(Relaxed)),
            ("traces: stale at install", t.stale.load(Relaxed)),
            ("traces: queue full", t.dropped.load(Relaxed)),
            ("traces: profiled again", t.reprobed.load(Relaxed)),
            ("traces: invalidated", st.traces_invalidated.load(Relaxed)),
            ("traces: retired", t.retired.load(Relaxed)),
            ("traces: grown", t.grown.load(Relaxed)),
            ("traces: formed again", t.reformed.load(Relaxed)),
            ("traces: compile us", t.compile_ns.load(Relaxed) / 1000),
            ("traces: optimizer cpu us", t.cpu_ns.load(Relaxed) / 1000),
            ("traces: guest insns", t.guest_insns.load(Relaxed)),
            ("traces: entries", s.trace_entries),
            ("traces: left to loop", s.trace_left),
            ("traces: runs counted", runs),
            ("traces: loop turns", loops),
            ("traces: insns run", insns),
        ];
        for (name, v) in trows {
            out.push_str(&format!("  {name:<20} {v}\n"));
        }
    }
    for k in ExitKind::ALL {
        out.push_str(&format!("  exits: {:<13} {}\n", k.name(), s.exits[k as usize]));
    }
    let _ = crate::logging::LogWriter.write_all(out.as_bytes());
}
