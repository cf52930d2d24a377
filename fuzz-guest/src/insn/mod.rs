//! The differential instruction fuzzer: generate a program ([`gen`]),
//! encode it, run it in the harness natively and under tern, compare
//! ([`state::diff`]), shrink what differs.

pub mod gen;
pub mod state;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use iced_x86::{
    BlockEncoder, BlockEncoderOptions, Code, Decoder, DecoderOptions, Formatter, Instruction,
    InstructionBlock, IntelFormatter, Mnemonic,
};

use crate::exec::{self, End};
pub use gen::{generate, Class, GenOptions, Program};
use state::{State, CODE_ADDR, EXIT_ADDR, MAX_CODE, SCRATCH_SIZE, STATE_SIZE};

/// Seeds that once found a difference (with the default [`GenOptions`]):
/// the CI test runs them every time. 2, 7: segment loads (internal fault);
/// 104, 169: hint-space NOPs (SIGILL under tern). See fuzz-findings.md.
pub const REGRESSION_SEEDS: &[u64] = &[2, 7, 104, 169];

/// Seeds that once found a difference in the EVEX class (options
/// `evex` and `avoid_known`): `fs:[rip+disp]` operands used the host's FS
/// base (F4 in fuzz-findings.md).
pub const EVEX_REGRESSION_SEEDS: &[u64] = &[5_000_028, 5_000_136, 5_000_137, 5_000_144, 5_000_175];

/// Known divergences: a difference in a case holding one of these is
/// reported but not counted as a failure. Each names its reason.
pub const KNOWN: &[(Known, &str)] = &[
    // Empty: segment register loads (F1) and hint-space NOPs (F2) of
    // fuzz-findings.md are fixed. A new known divergence goes here with its
    // reason, e.g. `(Known::Mnemonic(Mnemonic::Sysret), "why")`.
];

/// What a known divergence matches.
#[derive(Clone, Copy, Debug)]
pub enum Known {
    /// Any group of this class.
    Class(Class),
    /// Any instruction with this mnemonic.
    Mnemonic(Mnemonic),
    /// Any instruction that loads a segment register.
    SegmentLoad,
}

/// Builds the C harness (cached) and returns it.
pub fn harness() -> PathBuf {
    crate::compile::build("insn_harness.c")
}

/// The instructions of `p` with branch targets resolved, ready for the
/// block encoder, ending with the jump to the harness's exit.
pub fn instructions(p: &Program) -> Vec<Instruction> {
    const LABEL: u64 = 0x1_0000_0000;
    // First label of each group, and of the exit jump.
    let mut firsts = Vec::with_capacity(p.groups.len());
    let mut n = 0u64;
    for g in &p.groups {
        firsts.push(LABEL + n);
        n += g.items.len() as u64;
    }
    let exit_label = LABEL + n;
    let group_start = |gi: usize| {
        (gi..p.groups.len()).find(|&i| !p.groups[i].items.is_empty()).map_or(exit_label, |i| firsts[i])
    };
    let mut out = Vec::with_capacity(n as usize + 1);
    for (gi, g) in p.groups.iter().enumerate() {
        for (k, item) in g.items.iter().enumerate() {
            let mut ins = match item {
                gen::Item::Insn(i) => *i,
                gen::Item::Branch(code, target) => {
                    let t = match *target {
                        gen::Target::Local(j) => firsts[gi] + j as u64,
                        gen::Target::Group(j) => group_start(j),
                    };
                    Instruction::with_branch(*code, t).expect("branch")
                }
            };
            ins.set_ip(firsts[gi] + k as u64);
            out.push(ins);
        }
    }
    let mut exit = Instruction::with_branch(Code::Jmp_rel32_64, EXIT_ADDR).expect("exit jump");
    exit.set_ip(exit_label);
    out.push(exit);
    out
}

/// Encodes `p` at [`CODE_ADDR`].
pub fn encode(p: &Program) -> Result<Vec<u8>, String> {
    let ins = instructions(p);
    let block = InstructionBlock::new(&ins, CODE_ADDR);
    let r = BlockEncoder::encode(64, block, BlockEncoderOptions::NONE).map_err(|e| e.to_string())?;
    if r.code_buffer.len() > MAX_CODE {
        return Err(format!("{} code bytes", r.code_buffer.len()));
    }
    Ok(r.code_buffer)
}

/// Intel-syntax listing of encoded code.
pub fn disassemble(code: &[u8]) -> String {
    let mut d = Decoder::with_ip(64, code, CODE_ADDR, DecoderOptions::NONE);
    let mut f = IntelFormatter::new();
    let mut s = String::new();
    let mut text = String::new();
    while d.can_decode() {
        let i = d.decode();
        text.clear();
        f.format(&i, &mut text);
        let start = (i.ip() - CODE_ADDR) as usize;
        let bytes: String = code[start..start + i.len()].iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(s, "  {:#x}  {bytes:<30} {text}", i.ip());
    }
    s
}

/// How one run of the harness ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The code ran to its end: final state and scratch memory.
    Done(Box<State>, Vec<u8>),
    /// Killed by a signal.
    Signal(i32),
    /// Anything else: exit code and stderr (the harness's own failure, or
    /// tern's).
    Other(String),
}

impl Outcome {
    fn describe(&self) -> String {
        match self {
            Outcome::Done(..) => "ran to the end".into(),
            Outcome::Signal(s) => format!("killed by signal {s}"),
            Outcome::Other(s) => s.clone(),
        }
    }
}

/// The input the harness reads for `p` with `code`.
pub fn harness_input(p: &Program, code: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + STATE_SIZE + SCRATCH_SIZE + code.len());
    v.extend_from_slice(b"TFUZINS1");
    v.extend_from_slice(&(code.len() as u64).to_le_bytes());
    v.extend_from_slice(&p.init.to_bytes());
    v.extend_from_slice(&p.scratch);
    v.extend_from_slice(code);
    v
}

/// Runs the harness (under `tern` when given) on `input`.
pub fn run_harness(harness: &Path, tern: Option<&Path>, input: &[u8]) -> Outcome {
    let mut cmd = match tern {
        Some(t) => {
            let mut c = Command::new(t);
            c.arg(harness);
            c
        }
        None => Command::new(harness),
    };
    cmd.env_clear();
    let r = match exec::run(cmd, input.to_vec(), Duration::from_secs(3)) {
        Ok(r) => r,
        Err(e) => return Outcome::Other(format!("cannot run: {e}")),
    };
    let mut stderr = String::from_utf8_lossy(&r.stderr[..r.stderr.len().min(1500)]).into_owned();
    if r.stderr.len() > 1500 {
        stderr.push_str(&format!("... ({} bytes)", r.stderr.len()));
    }
    match r.end {
        End::Exited(0)
            if r.stdout.len() == 8 + STATE_SIZE + SCRATCH_SIZE && r.stdout.starts_with(b"TFUZOUT1") =>
        {
            let st = State::from_bytes(&r.stdout[8..8 + STATE_SIZE]);
            Outcome::Done(Box::new(st), r.stdout[8 + STATE_SIZE..].to_vec())
        }
        // tern's warnings (an instruction outside the model -> SIGILL) are
        // fine; its internal faults and panics are not.
        End::Signaled(s) if !stderr.contains("tern: internal") && !stderr.contains("panicked") => {
            Outcome::Signal(s)
        }
        end => Outcome::Other(format!(
            "{end}, {} bytes of output, stderr: {}",
            r.stdout.len(),
            stderr.trim_end()
        )),
    }
}

/// The verdict on one case.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Same outcome; true when the code ran to its end (not a signal).
    Same(bool),
    /// The native run did not get to run the code (setup failure): skipped.
    Invalid(String),
    /// Different outcomes: the list of differences.
    Differs(Vec<String>),
}

/// Runs `p` both ways and compares.
pub fn check(harness: &Path, tern: &Path, p: &Program) -> Verdict {
    let code = match encode(p) {
        Ok(c) => c,
        Err(e) => return Verdict::Invalid(format!("encoding: {e}")),
    };
    let input = harness_input(p, &code);
    let native = run_harness(harness, None, &input);
    if let Outcome::Other(why) = &native {
        return Verdict::Invalid(format!("native run: {why}"));
    }
    let under = run_harness(harness, Some(tern), &input);
    match (&native, &under) {
        (Outcome::Done(a, ma), Outcome::Done(b, mb)) => {
            let d = state::diff(a, ma, b, mb);
            if d.is_empty() {
                Verdict::Same(true)
            } else {
                Verdict::Differs(d)
            }
        }
        (a, b) if a == b => Verdict::Same(false),
        (a, b) => Verdict::Differs(vec![format!("native {}, tern {}", a.describe(), b.describe())]),
    }
}

/// Drops groups (and then single set-up-free items) while `p` still
/// differs; returns the smallest program found within `budget`.
pub fn shrink(harness: &Path, tern: &Path, p: &Program, budget: Duration) -> Program {
    let start = Instant::now();
    let mut best = p.clone();
    let mut changed = true;
    while changed && start.elapsed() < budget {
        changed = false;
        let mut i = 0;
        while i < best.groups.len() && start.elapsed() < budget {
            let mut cand = best.clone();
            cand.groups[i].items.clear();
            cand.groups[i].class = Class::Plain;
            if !best.groups[i].items.is_empty() && matches!(check(harness, tern, &cand), Verdict::Differs(_))
            {
                best = cand;
                changed = true;
            }
            i += 1;
        }
    }
    best.groups.retain(|g| !g.items.is_empty());
    best
}

/// The allowlist entry a differing program matches, if any.
pub fn known_reason(p: &Program) -> Option<&'static str> {
    KNOWN.iter().find_map(|(k, why)| {
        let hit = p.groups.iter().any(|g| match k {
            Known::Class(c) => g.class == *c && !g.items.is_empty(),
            Known::Mnemonic(m) => {
                g.items.iter().any(|it| matches!(it, gen::Item::Insn(i) if i.mnemonic() == *m))
            }
            Known::SegmentLoad => {
                g.items.iter().any(|it| matches!(it, gen::Item::Insn(i) if gen::loads_segment(i.code())))
            }
        });
        hit.then_some(*why)
    })
}

/// A full report for a differing case: seed, listing, differences.
pub fn report(p: &Program, diffs: &[String]) -> String {
    let mut s = format!("seed {} differs:\n", p.seed);
    for d in diffs {
        let _ = writeln!(s, "  {d}");
    }
    match encode(p) {
        Ok(code) => {
            let _ = writeln!(s, "code:\n{}", disassemble(&code));
        }
        Err(e) => {
            let _ = writeln!(s, "(cannot encode: {e})");
        }
    }
    s
}

/// Figures of a campaign.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    pub cases: u64,
    /// Cases that ran to the end (the rest ended with the same signal).
    pub ran_to_end: u64,
    pub invalid: u64,
    pub differences: u64,
    pub known: u64,
    pub internal_faults: u64,
    pub failing_seeds: Vec<u64>,
    pub known_seeds: Vec<u64>,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cases ({} ran to the end, the others ended with a signal), {} invalid (skipped), {} differences ({} known), {} tern internal faults; failing seeds {:?}",
            self.cases, self.ran_to_end, self.invalid, self.differences, self.known, self.internal_faults, self.failing_seeds
        )
    }
}

/// Runs `seeds` and reports each difference (shrunk when `shrink_budget`
/// is non-zero) through `log`.
pub fn campaign(
    harness: &Path,
    tern: &Path,
    seeds: impl Iterator<Item = u64>,
    opts: &GenOptions,
    shrink_budget: Duration,
    deadline: Option<Instant>,
    log: &mut dyn FnMut(&str),
) -> Figures {
    let mut fig = Figures::default();
    for seed in seeds {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let p = generate(seed, opts);
        fig.cases += 1;
        match check(harness, tern, &p) {
            Verdict::Same(done) => fig.ran_to_end += u64::from(done),
            Verdict::Invalid(why) => {
                fig.invalid += 1;
                log(&format!("seed {seed}: skipped ({why})"));
            }
            Verdict::Differs(d) => {
                fig.differences += 1;
                if d.iter().any(|x| x.contains("internal fault") || x.contains("panicked")) {
                    fig.internal_faults += 1;
                }
                if let Some(why) = known_reason(&p) {
                    fig.known += 1;
                    fig.known_seeds.push(seed);
                    log(&format!("seed {seed}: known divergence ({why}): {}", d.join("; ")));
                } else {
                    let small = if shrink_budget.is_zero() {
                        p.clone()
                    } else {
                        shrink(harness, tern, &p, shrink_budget)
                    };
                    let d2 = match check(harness, tern, &small) {
                        Verdict::Differs(d2) => d2,
                        _ => d,
                    };
                    fig.failing_seeds.push(seed);
                    log(&report(&small, &d2));
                }
            }
        }
    }
    fig
}
