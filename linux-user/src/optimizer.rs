//! The trace tier's driver: hot heads in, installed traces out.
//!
//! The baseline's counting stubs exit `Hot` when a backward branch has run
//! `--trace-threshold` times on a thread ([`on_hot`]). A head that gets hot
//! twice within `--trace-window` (a loop that holds the CPU now) goes on a
//! bounded channel to the optimizer threads (started at the first hot head,
//! so a program that never gets hot pays nothing; a full queue drops the
//! head, and the guest thread never waits). An optimizer thread forms the
//! trace from the translated blocks (`Jit::form_trace`), compiles it with
//! the compiler the binary registered (LLVM, created on that thread), and
//! installs it (`Jit::install_trace`); every profiled branch to that head
//! that got hot meanwhile is then patched to the trace's entry stub. A head
//! whose trace cannot be built has its branches patched past their counting
//! stubs, so they count no more. The CPU loop runs traces ([`run_trace`]).
//! Counting comes in bursts (`Duty`, `--trace-duty`): the optimizer
//! thread pauses the counting stubs between them.

use crate::cpu_loop::LoopStats;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tern_translate::clock::Instant;
use tern_translate::cpu::ExitDesc;
use tern_translate::entry::CpuBox;
use tern_translate::traces::{FormedTrace, TraceCounters};
use tern_translate::Jit;

/// A trace compiled to host code.
pub struct Compiled {
    /// A position-independent function of the `CpuState` (see
    /// `baseline::trace_glue`), entry at the start.
    pub code: Vec<u8>,
    /// LLVM IR before and after optimisation, when dumps are on.
    pub ir_before: Option<String>,
    pub ir_after: Option<String>,
}

/// A trace compiler (the binary's LLVM back end).
pub trait TraceCompiler {
    /// Compiles `t`; `miscompile` asks for deliberately wrong code (tests
    /// of `tern bisect`).
    /// The code updates `counters` at its exits.
    fn compile(
        &mut self,
        t: &FormedTrace,
        miscompile: bool,
        counters: &'static TraceCounters,
    ) -> Result<Compiled, String>;
}

/// Creates a compiler on the optimizer thread that uses it.
pub type Factory = fn(&Config) -> Result<Box<dyn TraceCompiler>, String>;

/// The trace controls (command line).
#[derive(Clone, Debug)]
pub struct Config {
    pub threshold: u32,
    pub max_blocks: usize,
    /// Heads are profiled only in `[lo, hi)`.
    pub range: (u64, u64),
    /// Traces installed at most (the first N to be compiled).
    pub limit: u64,
    /// Loop turns per run below which a trace is retired (0: never).
    pub min_loops: u64,
    /// A head is queued when its branches get hot twice within this many
    /// ns (`--trace-window`; 0: the first time).
    pub window_ns: u64,
    /// Traces count the guest instructions they run (`--stats`).
    pub count_insns: bool,
    /// The optimizer starts compiling only once the process has run this
    /// long (ms; `--trace-delay`).
    pub delay_ms: u64,
    /// Backward branches count for this percentage of every
    /// `DUTY_PERIOD` (`--trace-duty`; 100: all the time).
    pub duty_pct: u32,
    /// Compiling may take this percentage of the process's run time,
    /// beyond `BUDGET_ALLOWANCE_MS` (`--trace-budget`; 0: no limit).
    pub budget_pct: u32,
    pub threads: usize,
    pub opt_level: u8,
    /// Log each trace's guest code, IR, LLVM IR and host code.
    pub dump: bool,
    /// Test only: the trace of this head is miscompiled on purpose.
    pub miscompile: Option<u64>,
    /// Each installed trace's head and id are appended here.
    pub log: Option<std::path::PathBuf>,
    /// The guest CPU model's name (`CpuModel::name`).
    pub model: &'static str,
    /// Test only: the thread whose branch got hot waits until its head's
    /// trace is compiled (or refused), so that with threshold 1 every loop
    /// runs as a trace from its second iteration on.
    pub sync: bool,
}

/// A queued head whose branches last got hot longer ago than this (ns)
/// when its turn comes is profiled again rather than compiled.
const STALE_NS: u64 = 20_000_000;

/// Times a profiled head may get hot more slowly than `Config::window_ns`
/// before its branches stop counting: code that runs often over a long
/// time but never holds the CPU for long (a program's ordinary code).
const MAX_SLOW: u8 = 16;

/// Counting comes in bursts (`Config::duty_pct`), one every this long at
/// least: a kernel's loop that starts between two waits at most this long
/// for its trace (one second lost int_hash's second and third loops).
const DUTY_PERIOD: Duration = Duration::from_millis(500);

/// The period is at least this many times what its last pause and arming
/// took of the optimizer thread's CPU (`Duty::period`): each visits the
/// profiled branches that counted (cc1: ~26 K of its 74 K, 5-10 ms each),
/// so toggling costs at most 1 % of a CPU.
const TOGGLE_SHARE: u32 = 100;

/// Bursts of counting: an optimizer thread pauses the counting stubs
/// (`Jit::pause_profiling`) and arms them again, so that they count for
/// `Config::duty_pct` percent of the time. A loop that holds the CPU gets
/// hot within any burst; code that runs briefly (most of a compiler's,
/// an interpreter's start-up) costs only while a burst lasts: counting
/// all the time cost cc1 15 %.
struct Duty {
    pct: u32,
    /// The last pause's and the last arming's CPU time.
    paused_in: Duration,
    armed_in: Duration,
    counting: bool,
    /// When counting next starts or stops.
    next: Instant,
    /// What a compile left of its burst ([`Duty::hold`]).
    left: Option<Duration>,
}

impl Duty {
    /// Counting, armed just now.
    fn new(pct: u32) -> Self {
        let mut d = Duty {
            pct: pct.min(100),
            paused_in: Duration::ZERO,
            armed_in: Duration::ZERO,
            counting: true,
            next: Instant::now(),
            left: None,
        };
        d.next = Instant::now().after(d.on());
        d
    }

    /// One burst and one pause: `DUTY_PERIOD`, or longer where toggling
    /// costs more than its share (`TOGGLE_SHARE`).
    fn period(&self) -> Duration {
        DUTY_PERIOD.max((self.paused_in + self.armed_in) * TOGGLE_SHARE)
    }

    /// How long a burst lasts; `period()`: no pauses.
    fn on(&self) -> Duration {
        self.period() * self.pct / 100
    }

    /// True if counting pauses between bursts (less than 100 %).
    fn bursts(&self) -> bool {
        self.pct < 100
    }

    /// The time until counting next starts or stops (None: it never
    /// stops).
    fn until(&self) -> Option<Duration> {
        self.bursts().then(|| self.next.remaining())
    }

    /// Starts or stops counting if its time has come; [`Duty::until`].
    fn tick(&mut self, jit: &Jit) -> Option<Duration> {
        if self.bursts() && self.next.remaining().is_zero() {
            match self.counting {
                true => self.pause(jit),
                false => {
                    self.arm(jit);
                    (self.next, self.left) = (Instant::now().after(self.on()), None);
                }
            }
        }
        self.until()
    }

    /// Arms the counting stubs again, timed.
    fn arm(&mut self, jit: &Jit) {
        self.armed_in = cpu_time_of(|| jit.resume_profiling());
        self.counting = true;
    }

    /// Stops counting until the next burst is due.
    fn pause(&mut self, jit: &Jit) {
        if self.counting && self.bursts() {
            self.paused_in = cpu_time_of(|| jit.pause_profiling());
            (self.counting, self.next) = (false, Instant::now().after(self.period() - self.on()));
        }
    }

    /// Stops counting while a compile runs (tens to hundreds of ms that
    /// would otherwise stretch the burst), keeping what is left of it for
    /// [`Duty::release`]: the first head hot in a burst does not end it
    /// for the others (fp_spectral's second loop, found a burst later,
    /// ran that much longer in the baseline).
    fn hold(&mut self, jit: &Jit) {
        if self.counting && self.bursts() {
            // A remainder too short to be worth a pause and an arming
            // (each visits the profiled branches that counted) is dropped.
            let left = self.next.remaining();
            self.left = (left > self.on() / 4).then_some(left);
            self.pause(jit);
        }
    }

    /// Once the compiles are done: the rest of the burst [`Duty::hold`]
    /// stopped (unless the next one came meanwhile).
    fn release(&mut self, jit: &Jit) {
        if let Some(left) = self.left.take().filter(|_| !self.counting) {
            self.arm(jit);
            self.next = Instant::now().after(left);
        }
    }
}

/// The calling thread's CPU time that `f` took.
fn cpu_time_of(f: impl FnOnce()) -> Duration {
    let t0 = tern_translate::clock::thread_cpu_ns();
    f();
    Duration::from_nanos(tern_translate::clock::thread_cpu_ns().saturating_sub(t0))
}

/// Queued heads at most; more are dropped.
const QUEUE: usize = 256;

/// How often an optimizer thread reviews the installed traces: often
/// while a new trace awaits its first verdict (it may cost the guest
/// meanwhile), seldom afterwards (a loop whose runs got short).
const REVIEW_NEW: std::time::Duration = std::time::Duration::from_millis(2);
const REVIEW: std::time::Duration = std::time::Duration::from_millis(50);

/// A trace is judged once it ran this many times since its last review.
const JUDGE_RUNS: u64 = 1000;

/// The longest an optimizer thread waits for a new trace's first verdict
/// before it compiles the next one.
const VERDICT_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// A trace whose runs average fewer loop turns than this, and whose side
/// exits went to blocks it does not have, is replaced by a grown one that
/// takes them in (the other targets of its indirect branches and returns,
/// the other sides of its conditional branches: `Jit::form_trace`), at
/// most `MAX_GROWTH` times per head.
const GROW_LOOPS: u64 = 64;
const MAX_GROWTH: u8 = 4;

/// Counters for `--stats`.
#[derive(Default)]
pub struct TraceStats {
    pub hot: AtomicU64,
    pub formed: AtomicU64,
    pub compiled: AtomicU64,
    pub installed: AtomicU64,
    pub rejected: AtomicU64,
    pub stale: AtomicU64,
    pub dropped: AtomicU64,
    pub compile_ns: AtomicU64,
    /// CPU time of the optimizer threads (compiles, LLVM's set-up and
    /// teardown, reviews, counting pauses), what the budget counts.
    pub cpu_ns: AtomicU64,
    pub guest_insns: AtomicU64,
    /// Traces taken out of use because their runs were too short.
    pub retired: AtomicU64,
    /// Traces installed without syncs (`FormedTrace::precise` false).
    pub unsynced: AtomicU64,
    /// Traces replaced by a grown one (`GROW_LOOPS`).
    pub grown: AtomicU64,
    /// Queued heads profiled again: unserved for `STALE_NS`.
    pub reprobed: AtomicU64,
    /// Heads not compiled because their path does not come back to them
    /// (`FormedTrace::closes`).
    pub open: AtomicU64,
    /// Heads formed again after their trace was dropped (invalidated, or
    /// without syncs when a fault handler came).
    pub reformed: AtomicU64,
}

/// A head's growth: see `Manager::grown`.
type Growth = (Vec<u64>, u8, u64);

/// A profiled branch: its rel32 field, the plain jump after its counting
/// stub, the code-cache epoch it was seen in.
type Site = (u64, u64, u64);

enum Head {
    /// Its branches got hot once, at `since` (ns, monotonic), and count on:
    /// getting hot again within `Config::window_ns` queues it, `slow`
    /// times later than that stop them counting (`MAX_SLOW`).
    Probing { since: u64, slow: u8 },
    /// Waiting for the optimizer: the hot branches to patch, and when the
    /// last of them got hot; `stubs[i]`: the counting stub of `sites[i]`,
    /// to make them count again should the head wait longer than
    /// `STALE_NS` (empty for the head of a trace dropped or grown, whose
    /// branches come from the trace's record and which is not profiled
    /// again); `old`: the trace of the head a grown one is to replace,
    /// which runs until then (and stays if the grown one fails).
    Queued { sites: Vec<Site>, at: u64, stubs: Vec<u64>, old: Option<(u32, &'static TraceCounters)> },
    /// Installed as trace `idx`; its counters, and their values at the
    /// last review (`Manager::review`).
    Installed { idx: u32, counters: &'static TraceCounters, seen: (u64, u64) },
    /// No trace: branches go past their counting stubs.
    Rejected,
}

struct Manager {
    cfg: Config,
    factory: Factory,
    jit: &'static Jit,
    heads: Mutex<HashMap<u64, Head>>,
    /// The queue's sending end, once the optimizer threads run (a forked
    /// child starts its own).
    tx: Mutex<Option<crossbeam_channel::Sender<u64>>>,
    /// Set in a forked child whose parent's optimizer held a lock, or was
    /// loading or running LLVM, at the fork (a library half loaded, LLVM's
    /// own locks held by a thread the child does not have): it forms no
    /// new traces (its installed ones still run).
    off: AtomicBool,
    /// True while an optimizer thread loads or runs the compiler.
    busy: AtomicBool,
    /// The process whose guest threads form traces: a vfork or CLONE_VM
    /// child (another process on the same memory) runs the installed
    /// traces but forms none (it must not start threads).
    owner: AtomicI32,
    stats: TraceStats,
    /// The counters of every trace compiled (`--stats` sums them).
    counters: Mutex<Vec<&'static TraceCounters>>,
    /// Heads whose trace was grown: the pcs its traces left to, how many
    /// times (`GROW_LOOPS`), and the loop turns per 16 runs of the trace
    /// the last growth replaced, plus one (0: none). Behind `heads`' lock's
    /// order: taken after it where both are.
    grown: Mutex<HashMap<u64, Growth>>,
    /// The block starts of each head's installed trace: a head that is a
    /// block of another head's trace gets none (the loop has one already,
    /// entered at its head, which the other branches lead to).
    members: Mutex<HashMap<u64, Vec<u64>>>,
    /// When this process started (`now_ms`; a fork child's own).
    born_ms: AtomicU64,
    /// `TraceStats::cpu_ns` then (a fork child's budget is its own).
    spent_at_birth: AtomicU64,
}

/// The compile time every process may spend whatever its run time
/// (`Config::budget_pct`), before its traces have run: a compute kernel's
/// first hot loops compile in 25-100 ms with tern's pass pipeline, and
/// beyond, traces that run earn the rest. At 250 ms, most programs spent
/// it all for nothing (lua5.4 264-345 ms of compiles for under 0.1 % of
/// its instructions, cc1 254-296 ms where 73-107 give it the same 148 M
/// instructions in traces); int_sort, whose traces run slower than the
/// baseline, lost them.
const BUDGET_ALLOWANCE_MS: u64 = 100;

/// Guest instructions a trace runs per millisecond, for the budget's
/// estimate of the time spent in traces (a loop's instructions at 1-2 a
/// nanosecond).
const TRACE_INSNS_PER_MS: u64 = 4_000_000;

/// The milliseconds to wait before compiling again, when `spent_ms` of
/// compiling is over its budget: `BUDGET_ALLOWANCE_MS`, plus what the
/// traces earned, the `in_traces_ms()` of the `lived_ms` of run time spent
/// in them (asked only past the allowance and 1 %: it takes a lock), at
/// least 1 % of the run time (so that a loop starting late in a long run
/// still gets compiled), at most `pct` % of the run time. The
/// wait is the run time that would allow it at `pct` %, at most 100 ms at
/// a time (installed traces are reviewed meanwhile). None: compile.
///
/// Earned, because a flat profile's compiles pay nothing back: cc1 -O2
/// compiled 1.4 s of traces beside a 6 s run (all its budget) for 1.2 %
/// of its instructions, python3 0.9 s for under 0.1 %.
fn budget_wait(spent_ms: u64, lived_ms: u64, in_traces_ms: impl FnOnce() -> u64, pct: u32) -> Option<u64> {
    let pct = u64::from(pct);
    if pct == 0 || spent_ms <= BUDGET_ALLOWANCE_MS + lived_ms / 100 {
        return None;
    }
    let earned = (lived_ms * pct / 100).min(in_traces_ms().max(lived_ms / 100));
    let over = spent_ms.checked_sub(BUDGET_ALLOWANCE_MS + earned).filter(|&d| d > 0)?;
    Some((over * 100 / pct).clamp(1, 100))
}

/// Waits until trace `counters` ran `JUDGE_RUNS` times, or `VERDICT_WAIT`
/// passed (a trace whose runs are that long is no loss meanwhile); not
/// under `--trace-sync`, whose guest thread waits for the compiles.
fn await_verdict(counters: &TraceCounters, sync: bool) {
    let t0 = tern_translate::clock::Instant::now();
    while !sync && counters.runs.load(Relaxed) < JUDGE_RUNS && t0.elapsed() < VERDICT_WAIT {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Milliseconds on the monotonic clock.
fn now_ms() -> u64 {
    tern_translate::clock::monotonic_ns() / 1_000_000
}

static MANAGER: OnceLock<Manager> = OnceLock::new();

/// Turns the trace tier on: backward branches count their runs from
/// `Config::delay_ms` on (`Jit::arm_profiling`), when the optimizer thread,
/// started now if there is a delay, arms them; or a translation does,
/// whichever comes first.
pub fn init(jit: &'static Jit, cfg: Config, factory: Factory) {
    let prof = tern_translate::baseline::Profiler::new(cfg.threshold, cfg.range);
    jit.set_profiler(prof, cfg.delay_ms.saturating_mul(1_000_000));
    if cfg.delay_ms == 0 {
        // No delay: the library is loaded now, before the guest runs.
        // Loading it opens files, and on the optimizer thread the
        // descriptor that takes for a moment is one a guest using every
        // descriptor it may (LTP fork09) would find missing; the optimizer
        // thread's own load then finds the library loaded and opens nothing.
        drop(factory(&cfg));
    }
    let m = Manager {
        cfg,
        factory,
        jit,
        heads: Mutex::new(HashMap::new()),
        tx: Mutex::new(None),
        off: AtomicBool::new(false),
        busy: AtomicBool::new(false),
        owner: AtomicI32::new(pid()),
        stats: TraceStats::default(),
        counters: Mutex::new(Vec::new()),
        grown: Mutex::new(HashMap::new()),
        members: Mutex::new(HashMap::new()),
        born_ms: AtomicU64::new(now_ms()),
        spent_at_birth: AtomicU64::new(0),
    };
    if MANAGER.set(m).is_ok() {
        tern_syscalls::task::on_fork_child(after_fork);
        if let Some(m) = MANAGER.get() {
            m.start_for_delay();
        }
    }
}

/// Makes the descriptor table as large as tern's own descriptors need
/// (`hostmem::TERN_FD_BASE`) while the process has one thread: growing the
/// table of a process of several threads waits for an RCU grace period
/// (`expand_files`), which cost each start 10-20 ms once the optimizer
/// thread was running (at the first start-up image opened).
fn grow_fd_table() {
    if let Ok(f) = std::fs::File::open("/") {
        drop(tern_translate::hostmem::private_file(f));
    }
}

/// The counters, if the tier is on.
pub fn stats() -> Option<&'static TraceStats> {
    MANAGER.get().map(|m| &m.stats)
}

/// What the traces' code counted, summed over every trace compiled: runs,
/// loop turns, guest instructions.
pub fn counted() -> (u64, u64, u64) {
    MANAGER.get().map_or((0, 0, 0), Manager::counted)
}

fn pid() -> i32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// In a forked child: the parent's optimizer threads are gone; heads it
/// had queued will not come back, so they may get hot again.
fn after_fork() {
    if let Some(m) = MANAGER.get() {
        m.jit.after_fork_profiling();
        match (m.tx.try_lock(), m.heads.try_lock(), m.counters.try_lock()) {
            (Ok(mut tx), Ok(mut h), Ok(_)) if !m.busy.load(SeqCst) => {
                // Forgotten, not dropped: dropping the last sender takes
                // the channel's waker lock, which the parent's optimizer
                // thread may have held at the fork (it waits on the
                // channel with a timeout, between bursts too): the child
                // hung there (vfork.c under forced traces, 4 runs in 60).
                std::mem::forget(tx.take());
                m.owner.store(pid(), Relaxed);
                m.born_ms.store(now_ms(), Relaxed);
                m.spent_at_birth.store(m.stats.cpu_ns.load(Relaxed), Relaxed);
                h.retain(|_, s| !matches!(s, Head::Queued { .. }));
            }
            _ => m.off.store(true, Relaxed),
        }
    }
}

/// After an exec in place (the process's only thread, a fork child's):
/// what the old program's traces left is forgotten (the code cache was
/// flushed with them), and the new program is profiled after the delay
/// as a new process would be, its optimizer thread started now.
pub fn after_exec() {
    let Some(m) = MANAGER.get().filter(|m| !m.off.load(Relaxed) && m.owner.load(Relaxed) == pid()) else {
        return;
    };
    m.heads.lock().unwrap_or_else(|e| e.into_inner()).clear();
    m.grown.lock().unwrap_or_else(|e| e.into_inner()).clear();
    m.members.lock().unwrap_or_else(|e| e.into_inner()).clear();
    m.born_ms.store(now_ms(), Relaxed);
    m.spent_at_birth.store(m.stats.cpu_ns.load(Relaxed), Relaxed);
    m.start_for_delay();
}

/// A counting stub exited `Hot` (descriptor `d`, code-cache epoch `epoch`).
pub fn on_hot(d: &ExitDesc, epoch: u64) {
    let Some(m) = MANAGER.get().filter(|m| !m.off.load(Relaxed) && m.owner.load(Relaxed) == pid()) else {
        return;
    };
    let (head, site) = (d.target, d.patch_site);
    let (bypass, stub) = d.hot_stub();
    let now = tern_translate::clock::monotonic_ns();
    let mut heads = m.heads.lock().unwrap_or_else(|e| e.into_inner());
    match heads.get_mut(&head) {
        Some(Head::Queued { sites, at, stubs, .. }) => {
            m.jit.patch_hot_site(site, bypass, head, None, epoch);
            sites.push((site, bypass, epoch));
            if !stubs.is_empty() {
                stubs.push(stub);
            }
            *at = now;
            return;
        }
        Some(Head::Rejected) => {
            m.jit.patch_hot_site(site, bypass, head, None, epoch);
            return;
        }
        Some(Head::Installed { idx, .. }) => {
            // An invalidated trace: this branch counts no more, others
            // may form the head's trace again.
            if !m.jit.patch_hot_site(site, bypass, head, Some(*idx), epoch) {
                heads.remove(&head);
            }
            return;
        }
        Some(Head::Probing { since, slow })
            if m.cfg.window_ns > 0 && now.saturating_sub(*since) > m.cfg.window_ns =>
        {
            // Hot again, but slowly: the window starts anew, a bounded
            // number of times (each is an exit to the CPU loop).
            *since = now;
            *slow += 1;
            if *slow >= MAX_SLOW {
                m.jit.patch_hot_site(site, bypass, head, None, epoch);
                heads.insert(head, Head::Rejected);
            }
            return;
        }
        // Hot again within the window: queued below.
        Some(Head::Probing { .. }) => {}
        None if m.cfg.window_ns > 0 && !m.cfg.sync => {
            heads.insert(head, Head::Probing { since: now, slow: 0 });
            return;
        }
        None => {}
    }
    // The branch stops counting while its trace compiles (counting on
    // would cost the loop for nothing); the trace, once installed, takes
    // the branch over from the plain jump.
    m.stats.hot.fetch_add(1, Relaxed);
    m.jit.patch_hot_site(site, bypass, head, None, epoch);
    heads.insert(
        head,
        Head::Queued { sites: vec![(site, bypass, epoch)], at: now, stubs: vec![stub], old: None },
    );
    m.enqueue(&mut heads, head);
    if m.cfg.sync {
        drop(heads);
        m.wait_for(head);
    }
}

impl Manager {
    /// With a delay, starts the optimizer thread now (unless it runs): a
    /// loop that runs from the start never leaves its chained blocks for a
    /// translation, so the thread arms the counting when the delay is over.
    fn start_for_delay(&'static self) {
        if self.cfg.delay_ms > 0 {
            grow_fd_table();
            let mut tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
            if tx.is_none() {
                *tx = self.start_threads();
            }
        }
    }

    /// Waits until `head` is no longer queued (`Config::sync`).
    fn wait_for(&self, head: u64) {
        loop {
            let queued = matches!(
                self.heads.lock().unwrap_or_else(|e| e.into_inner()).get(&head),
                Some(Head::Queued { .. })
            );
            if !queued {
                return;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }

    /// Sends `head` (just marked queued) to the optimizer threads, starting
    /// them first if needed; a full queue (or no thread) rejects it.
    fn enqueue(&'static self, heads: &mut HashMap<u64, Head>, head: u64) {
        let mut tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        if tx.is_none() {
            *tx = self.start_threads();
        }
        let sent = tx.as_ref().is_some_and(|t| t.try_send(head).is_ok());
        if !sent {
            self.stats.dropped.fetch_add(1, Relaxed);
            heads.insert(head, Head::Rejected);
        }
    }

    fn start_threads(&'static self) -> Option<crossbeam_channel::Sender<u64>> {
        let (tx, rx) = crossbeam_channel::bounded::<u64>(QUEUE);
        for _ in 0..self.cfg.threads.max(1) {
            spawn_optimizer(Box::new((self, rx.clone())))?;
        }
        Some(tx)
    }

    /// An optimizer thread: compiles and installs the heads it receives.
    fn optimizer(&'static self, rx: crossbeam_channel::Receiver<u64>) {
        // A short process never loads LLVM (tens of MB mapped and
        // relocated, competing with the guest for a few ms): what gets
        // hot before `Config::delay` waits in the queue.
        let lived = now_ms().saturating_sub(self.born_ms.load(Relaxed));
        if let Some(wait) = self.cfg.delay_ms.checked_sub(lived).filter(|&w| w > 0) {
            std::thread::sleep(std::time::Duration::from_millis(wait));
        }
        let mut work = tern_syscalls::background::work();
        self.jit.arm_profiling();
        let mut duty = Duty::new(self.cfg.duty_pct);
        // The thread's first blocking receive allocates crossbeam's
        // waiting context (a thread-local) and a slot in the channel's
        // list of waiters; later ones reuse both. It is made here, inside
        // the gate, so that the waits below, outside it, allocate nothing.
        let mut first = rx.recv_timeout(std::time::Duration::from_millis(1)).ok();
        while first.is_none() {
            // Nothing hot yet: LLVM is loaded for the first head, not
            // before (a process whose loops never get hot never loads it).
            let until = duty.tick(self.jit);
            drop(work);
            let got = match until {
                None => rx.recv().map_err(|_| crossbeam_channel::RecvTimeoutError::Disconnected),
                Some(d) => rx.recv_timeout(d),
            };
            first = match got {
                Ok(head) => Some(head),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
            };
            work = tern_syscalls::background::work();
        }
        self.busy.store(true, SeqCst);
        let made = (self.factory)(&self.cfg);
        self.busy.store(false, SeqCst);
        let mut compiler = match made {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("trace compiler unavailable: {e}");
                drop(work);
                for head in first.into_iter().chain(rx) {
                    let _work = tern_syscalls::background::work();
                    self.finish(head, None);
                }
                return;
            }
        };
        drop(work);
        let mut reviewed = tern_translate::clock::Instant::now();
        let mut every = REVIEW;
        let mut due = false;
        // Heads taken off the queue, compiled hottest first; at most
        // QUEUE of them, so that a full queue still drops work.
        // Never grown: an allocation outside `background::work()` could
        // leave a raw fork's child with this thread's malloc arena locked.
        let mut pending: Vec<u64> = Vec::with_capacity(QUEUE);
        pending.extend(first);
        // This thread's CPU time the budget has counted.
        let mut cpu_counted = 0;
        loop {
            if pending.is_empty() {
                match rx.recv_timeout(duty.until().map_or(every, |d| d.min(every))) {
                    Ok(head) => pending.push(head),
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
                }
            }
            while pending.len() < QUEUE {
                let Ok(head) = rx.try_recv() else { break };
                pending.push(head);
            }
            let cpu = tern_translate::clock::thread_cpu_ns();
            self.stats.cpu_ns.fetch_add(cpu.saturating_sub(cpu_counted), Relaxed);
            cpu_counted = cpu;
            // Over budget, heads keep waiting (the hottest first once it
            // allows; a full queue drops new ones, as ever); reviews do
            // not wait.
            let wait = self.over_budget();
            if let Some(w) = wait {
                let review = every.saturating_sub(reviewed.elapsed());
                std::thread::sleep(w.min(review).min(duty.until().unwrap_or(review)));
            }
            let mut gate = tern_syscalls::background::work();
            duty.tick(self.jit);
            let next = if wait.is_none() { self.hottest(&mut pending) } else { None };
            if let Some(head) = next {
                duty.hold(self.jit);
                self.busy.store(true, SeqCst);
                let built = self.build(compiler.as_mut(), head);
                self.busy.store(false, SeqCst);
                self.finish(head, built);
                if pending.is_empty() && rx.is_empty() {
                    duty.release(self.jit);
                }
                if let Some((_, counters)) = built {
                    // The new trace is judged before the next compile
                    // (tens to hundreds of ms) could leave a loss running.
                    drop(gate);
                    await_verdict(counters, self.cfg.sync);
                    gate = tern_syscalls::background::work();
                    due = true;
                }
            }
            if due || reviewed.elapsed() >= every {
                due = false;
                let (waiting, regrow) = self.review();
                every = if waiting || !regrow.is_empty() { REVIEW_NEW } else { REVIEW };
                for head in regrow {
                    match pending.len() < QUEUE {
                        true => pending.push(head),
                        false => self.finish(head, None),
                    }
                }
                reviewed = tern_translate::clock::Instant::now();
            }
            drop(gate);
        }
    }

    /// How long to wait before compiling again, if the optimizer threads
    /// have taken more CPU time than their budget ([`budget_wait`]): all
    /// of it, not only the compile calls (python3's bench took 0.71 s of
    /// the optimizer thread's CPU where the calls counted 0.39 s). Without
    /// a budget, python3's bench.py compiled 75 traces, 10 s of LLVM beside
    /// a 3.6 s run, for 0.6 % of its instructions; openssl speed, whose
    /// rate is over its user time, counted 2.5 s of it.
    fn over_budget(&self) -> Option<std::time::Duration> {
        let spent_ns = self.stats.cpu_ns.load(Relaxed).saturating_sub(self.spent_at_birth.load(Relaxed));
        let lived_ms = now_ms().saturating_sub(self.born_ms.load(Relaxed));
        let in_traces = || self.counted().2 / TRACE_INSNS_PER_MS;
        budget_wait(spent_ns / 1_000_000, lived_ms, in_traces, self.cfg.budget_pct)
            .map(std::time::Duration::from_millis)
    }

    /// [`counted`]. Zeros while another thread holds the list: in a fork
    /// child, a lock the parent's optimizer thread held at the fork stays
    /// held (the child's compiles are off then: `after_fork`).
    fn counted(&self) -> (u64, u64, u64) {
        let all = match self.counters.try_lock() {
            Ok(all) => all,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return (0, 0, 0),
        };
        all.iter().fold((0, 0, 0), |(r, l, i), c| {
            (r + c.runs.load(Relaxed), l + c.loops.load(Relaxed), i + c.insns.load(Relaxed))
        })
    }

    /// Takes the hottest head out of `pending`: the one whose branches got
    /// hot most often while it waited (several branches to it, several
    /// threads running it), the oldest among equals. A head whose branches
    /// last got hot more than `STALE_NS` ago is profiled again instead
    /// (its loop may have ended: a loader's, a start-up's), unless the
    /// guest waits for the compiles (`Config::sync`).
    fn hottest(&self, pending: &mut Vec<u64>) -> Option<u64> {
        let mut heads = self.heads.lock().unwrap_or_else(|e| e.into_inner());
        let now = tern_translate::clock::monotonic_ns();
        while !pending.is_empty() {
            let hits = |h: &u64| match heads.get(h) {
                Some(Head::Queued { sites, old, .. }) => sites.len() + usize::from(old.is_some()),
                _ => 0,
            };
            let (mut best, mut most) = (0, 0);
            for (i, h) in pending.iter().enumerate() {
                let n = hits(h);
                if n > most {
                    (best, most) = (i, n);
                }
            }
            let head = pending.remove(best);
            match heads.get_mut(&head) {
                Some(Head::Queued { sites, at, stubs, .. })
                    if !stubs.is_empty() && !self.cfg.sync && now.saturating_sub(*at) > STALE_NS =>
                {
                    for (&(site, _, epoch), &stub) in sites.iter().zip(stubs.iter()) {
                        self.jit.rearm_hot_site(site, stub, epoch);
                    }
                    self.stats.reprobed.fetch_add(1, Relaxed);
                    heads.insert(head, Head::Probing { since: now, slow: 0 });
                }
                _ => return Some(head),
            }
        }
        None
    }

    /// Forms, compiles and installs the trace at `head`: its index and
    /// entry stub.
    fn build(&self, compiler: &mut dyn TraceCompiler, head: u64) -> Option<(u32, &'static TraceCounters)> {
        let s = &self.stats;
        if s.installed.load(Relaxed) >= self.cfg.limit {
            return None;
        }
        let covered = self
            .members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|(h, bs)| *h != head && bs.contains(&head));
        if covered {
            return None;
        }
        let grown = self.grown.lock().unwrap_or_else(|e| e.into_inner()).get(&head).map(|g| g.0.clone());
        let tr = self.jit.form_trace(head, self.cfg.max_blocks, grown.as_deref().unwrap_or(&[]))?;
        if !tr.closes && self.cfg.min_loops > 0 {
            // It would average no turn a run: retired once judged.
            s.open.fetch_add(1, Relaxed);
            return None;
        }
        s.formed.fetch_add(1, Relaxed);
        let t0 = tern_translate::clock::Instant::now();
        let miscompile = self.cfg.miscompile == Some(head);
        let counters = self.new_counters();
        // LLVM's allocations cannot take a refusal (it aborts): free heap
        // first, should the guest use up the mappings while it compiles.
        tern_translate::map_reserve::make_room();
        let c = compiler.compile(&tr, miscompile, counters);
        s.compile_ns.fetch_add(t0.elapsed().as_nanos() as u64, Relaxed);
        let c = match c {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!("trace {} not compiled: {e}", tr.id());
                return None;
            }
        };
        s.compiled.fetch_add(1, Relaxed);
        let r = self.jit.install_trace(&tr, &c.code).ok().flatten();
        match r {
            Some((idx, _)) => {
                s.installed.fetch_add(1, Relaxed);
                let starts = tr.blocks.iter().map(|b| b.start).collect();
                self.members.lock().unwrap_or_else(|e| e.into_inner()).insert(head, starts);
                if !tr.precise {
                    s.unsynced.fetch_add(1, Relaxed);
                }
                s.guest_insns.fetch_add(tr.guest_insns() as u64, Relaxed);
                if let Some(f) = self.jit.trace_fn(idx) {
                    self.jit.perf_map_code(f, c.code.len(), &format!("trace_{}", tr.id()));
                }
                if self.cfg.dump {
                    dump(&tr, &c, idx);
                }
                if let Some(path) = &self.cfg.log {
                    use std::io::Write;
                    if let Ok(mut f) = std::fs::File::options().create(true).append(true).open(path) {
                        let _ = writeln!(f, "{:x} {}", tr.head, tr.id());
                    }
                }
            }
            None => {
                s.stale.fetch_add(1, Relaxed);
            }
        }
        r.map(|(idx, _)| (idx, counters))
    }

    /// Counters for a new trace (never freed: the trace's code may run,
    /// or have been running, at any time).
    fn new_counters(&self) -> &'static TraceCounters {
        let c: &'static TraceCounters = Box::leak(Box::default());
        self.counters.lock().unwrap_or_else(|e| e.into_inner()).push(c);
        c
    }

    /// Takes out of use the installed traces whose recent runs were too
    /// short to pay for entering them (`Config::min_loops`, default 256:
    /// entering and leaving a trace, registers and flags to the `CpuState`
    /// and back and a lookup of the pc it returns, costs about as much as
    /// 10 to 20 turns of a small loop, and a turn inside the trace is not
    /// much faster than in the baseline; at 256 turns a run, entering
    /// costs under 3% of the run); their heads get no trace again, unless
    /// the trace can grow (`GROW_LOOPS`): then it is replaced, and its head
    /// is returned to be formed again (queued, the branches that led to
    /// the old trace to be patched to the new one). Also returns whether a
    /// trace still awaits its first verdict.
    fn review(&self) -> (bool, Vec<u64>) {
        let mut heads = self.heads.lock().unwrap_or_else(|e| e.into_inner());
        let mut grown = self.grown.lock().unwrap_or_else(|e| e.into_inner());
        let (mut pending, mut regrow) = (false, Vec::new());
        for (&head, h) in heads.iter_mut() {
            let Head::Installed { idx, counters, seen } = h else { continue };
            if self.jit.trace_fn(*idx).is_none() {
                // Dropped (invalidated, or kept no precise state when a
                // fault handler came): formed again, a bounded number of
                // times, from the branches that led to it.
                let g = grown.entry(head).or_default();
                if g.1 < MAX_GROWTH {
                    if let Some(sites) = self.jit.dropped_trace_sites(*idx) {
                        g.1 += 1;
                        self.stats.reformed.fetch_add(1, Relaxed);
                        *h = Head::Queued { sites, at: 0, stubs: Vec::new(), old: None };
                        regrow.push(head);
                    }
                }
                continue;
            }
            let now = (counters.runs.load(Relaxed), counters.loops.load(Relaxed));
            let runs = now.0.wrapping_sub(seen.0);
            if runs < JUDGE_RUNS {
                pending |= seen.0 == 0;
                continue;
            }
            let turns = now.1.wrapping_sub(seen.1);
            let g = grown.entry(head).or_default();
            // A growth that did not add turns to a run is the last: each
            // costs a compile of a larger trace.
            let per16 = turns.saturating_mul(16) / runs;
            let paid = g.2 == 0 || per16 > g.2 - 1;
            if turns < runs.saturating_mul(GROW_LOOPS) && g.1 < MAX_GROWTH && paid {
                let before = g.0.len();
                for e in &counters.exits {
                    let pc = e.load(Relaxed);
                    if pc != 0 && pc != head && !g.0.contains(&pc) && self.jit.has_block(pc) {
                        g.0.push(pc);
                    }
                }
                if g.0.len() > before && self.would_grow(head, &g.0) {
                    // A trace that pays runs on until the grown one
                    // replaces it (`finish`: compiling may wait for the
                    // budget); one that does not is out of use meanwhile.
                    let (sites, old) = match turns >= runs.saturating_mul(self.cfg.min_loops) {
                        true => (Some(Vec::new()), Some((*idx, *counters))),
                        false => (self.jit.replace_trace(*idx), None),
                    };
                    if let Some(sites) = sites {
                        g.1 += 1;
                        g.2 = per16 + 1;
                        self.stats.grown.fetch_add(1, Relaxed);
                        *h = Head::Queued { sites, at: 0, stubs: Vec::new(), old };
                        regrow.push(head);
                        continue;
                    }
                }
            }
            if turns < runs.saturating_mul(self.cfg.min_loops) {
                self.members.lock().unwrap_or_else(|e| e.into_inner()).remove(&head);
                if self.jit.retire_trace(*idx) {
                    self.stats.retired.fetch_add(1, Relaxed);
                }
                *h = Head::Rejected;
            } else {
                *seen = now;
            }
        }
        (pending, regrow)
    }

    /// Whether a trace of `head` formed with `grown` would have a block its
    /// installed one has not (paths from the recorded exits that do not
    /// lead back into the trace are not taken: a short loop whose only
    /// exit is its own end does not grow, and is retired).
    fn would_grow(&self, head: u64, grown: &[u64]) -> bool {
        let members = self.members.lock().unwrap_or_else(|e| e.into_inner());
        let has = members.get(&head).map(Vec::as_slice).unwrap_or(&[]);
        self.jit
            .form_trace(head, self.cfg.max_blocks, grown)
            .is_some_and(|t| t.blocks.iter().any(|b| !has.contains(&b.start)))
    }

    /// Records the outcome for `head` and patches the branches that got
    /// hot meanwhile.
    fn finish(&self, head: u64, stub: Option<(u32, &'static TraceCounters)>) {
        let mut heads = self.heads.lock().unwrap_or_else(|e| e.into_inner());
        let (sites, old) = match heads.remove(&head) {
            Some(Head::Queued { sites, old, .. }) => (sites, old),
            _ => (Vec::new(), None),
        };
        // The trace the head's branches lead to: the new one, else (the
        // grown one failed) the old one if still in use, else none.
        let to = match (stub, old) {
            (Some((idx, counters)), _) => Some((idx, counters, (0, 0))),
            (None, Some((idx, counters))) if self.jit.trace_fn(idx).is_some() => {
                Some((idx, counters, (counters.runs.load(Relaxed), counters.loops.load(Relaxed))))
            }
            (None, _) => None,
        };
        for (site, bypass, epoch) in sites {
            self.jit.patch_hot_site(site, bypass, head, to.map(|t| t.0), epoch);
        }
        match to {
            Some((idx, counters, seen)) => {
                if let (Some(_), Some((old, _))) = (stub, old) {
                    self.jit.supersede_trace(old, idx);
                }
                heads.insert(head, Head::Installed { idx, counters, seen });
            }
            None => {
                self.stats.rejected.fetch_add(1, Relaxed);
                heads.insert(head, Head::Rejected);
            }
        }
    }
}

/// Stack of an optimizer thread (LLVM recurses deeply on large functions).
const OPT_STACK: usize = 16 << 20;

type Job = (&'static Manager, crossbeam_channel::Receiver<u64>);

/// Starts an optimizer thread on a stack in tern's own memory region, as
/// all of tern's memory is (`hostmem`): the guest never sees it in its
/// maps nor maps over it. Every signal is blocked on it from the start
/// (process-directed signals go to guest threads).
fn spawn_optimizer(job: Box<Job>) -> Option<()> {
    extern "C" fn start(arg: *mut libc::c_void) -> *mut libc::c_void {
        // SAFETY: `arg` is the Box<Job> handed over by spawn_optimizer.
        let job = unsafe { Box::from_raw(arg.cast::<Job>()) };
        // Not one of the guest's threads (`/proc/self/task`, `status`).
        tern_syscalls::host_thread::hide_started();
        let (m, rx) = *job;
        m.optimizer(rx);
        std::ptr::null_mut()
    }
    let stack = tern_translate::hostmem::map_anon(OPT_STACK).ok()?;
    tern_translate::pages::note_tern_memory(stack, stack + OPT_STACK as u64);
    let job = Box::into_raw(job);
    // The guest's view of its threads leaves this one out from now on
    // (`host_thread::settle`).
    tern_syscalls::host_thread::will_hide();
    // SAFETY: the stack is mapped for this thread alone, for the life of
    // the process; `start` takes ownership of `job` (reclaimed here if
    // none starts).
    let r = unsafe {
        tern_syscalls::host_thread::spawn_blocked(
            tern_syscalls::host_thread::Stack::At { at: stack, len: OPT_STACK },
            start,
            job.cast(),
        )
    };
    if r != 0 {
        tern_syscalls::host_thread::started_none();
        // SAFETY: no thread was created, so `job` is still ours.
        drop(unsafe { Box::from_raw(job) });
        return None;
    }
    Some(())
}

/// Logs a trace's guest IR, LLVM IR and host code (`-d trace`).
fn dump(tr: &FormedTrace, c: &Compiled, idx: u32) {
    let mut out = format!("TRACE {} (#{idx}, {} blocks)\n", tr.id(), tr.blocks.len());
    for b in &tr.blocks {
        out.push_str(&format!("{b}"));
    }
    if let Some(ir) = &c.ir_before {
        out.push_str(&format!("LLVM IR:\n{ir}\n"));
    }
    if let Some(ir) = &c.ir_after {
        out.push_str(&format!("LLVM IR optimised:\n{ir}\n"));
    }
    out.push_str(&format!("HOST ({} bytes):\n{}", c.code.len(), tern_translate::disasm(&c.code, 0)));
    tracing::info!(target: "tern::dump", "{out}");
}

/// A `Trace` exit (descriptor `d`) reached the CPU loop: a trace left for
/// it with the guest state in `cpu` (a signal is pending, or a fault
/// abandoned the trace at its last sync point), or the stub of a trace
/// invalidated since its branch was patched (the state at its head).
/// Afterwards `cpu.rip` is where the baseline goes on.
pub fn trace_exit(cpu: &mut CpuBox, d: &ExitDesc, stats: &mut LoopStats) {
    if d.arg == tern_translate::cpu::TRACE_LEFT {
        stats.trace_left += 1;
    } else {
        cpu.rip = d.target;
    }
}

#[cfg(test)]
mod tests {
    use super::{budget_wait, Duty, BUDGET_ALLOWANCE_MS as A, DUTY_PERIOD};
    use std::time::Duration;

    #[test]
    fn toggling_takes_at_most_its_share_of_the_period() {
        let mut d = Duty::new(5);
        assert_eq!((d.period(), d.on()), (DUTY_PERIOD, DUTY_PERIOD / 20));
        (d.paused_in, d.armed_in) = (Duration::from_millis(2), Duration::from_millis(1));
        assert_eq!(d.period(), DUTY_PERIOD, "cheap toggles: the shortest period");
        (d.paused_in, d.armed_in) = (Duration::from_millis(8), Duration::from_millis(4));
        assert_eq!((d.period(), d.on()), (Duration::from_millis(1200), Duration::from_millis(60)));
        assert!(!Duty::new(100).bursts());
    }

    #[test]
    fn compiling_waits_when_over_its_share_of_the_run() {
        assert_eq!(budget_wait(10_000, 0, || 0, 0), None, "0: no limit");
        assert_eq!(budget_wait(A, 0, || 0, 10), None, "the allowance");
        assert_eq!(budget_wait(A + 100, 1000, || 1000, 10), None, "10 % of 1 s");
        // 5 ms over at 10 %: 50 ms of run time earns them.
        assert_eq!(budget_wait(A + 105, 1000, || 1000, 10), Some(50));
        assert_eq!(budget_wait(A + 1, 0, || 0, 10), Some(10));
        assert_eq!(budget_wait(A + 500, 1000, || 1000, 10), Some(100), "at most 100 ms at a time");
        assert_eq!(budget_wait(A + 100, 1000, || 1000, 100), None);
    }

    #[test]
    fn compiling_beyond_the_allowance_is_earned_by_time_in_traces() {
        // 6 s of run time, 40 ms of it in traces: 60 ms (1 %) beyond the
        // allowance, not 600 (10 %).
        assert_eq!(budget_wait(A + 60, 6000, || 40, 10), None);
        assert!(budget_wait(A + 61, 6000, || 40, 10).is_some());
        assert_eq!(budget_wait(A + 200, 6000, || 200, 10), None, "what traces ran");
        assert!(budget_wait(A + 601, 6000, || 6000, 10).is_some(), "at most 10 %");
    }
}
