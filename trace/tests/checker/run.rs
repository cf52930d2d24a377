//! One differential check: a generated sequence is lifted into a trace
//! (every block of it, in the order it runs), compiled, and run on random
//! states next to a native run of the same bytes; registers, the defined
//! status flags, the returned rip and the scratch memory must agree.

use crate::gen::{assemble, Item, Rng, DATA_LEN, DATA_OFF};
use crate::native::{self, Nat};
use iced_x86::{Formatter, IntelFormatter};
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::collections::{HashMap, HashSet};
use tern_trace::{Compiler, TraceIr};
use tern_translate::cpu::{off, CpuState};
use tern_translate::ir::{IrBlock, Op};
use tern_translate::lift::lift_block;
use tern_translate::model::CpuModel;

/// The status flags.
pub const STATUS: u64 = 0x8d5;
/// Scratch memory for memory operands and the stack.
pub const BUF: usize = 16384;

/// A generated sequence.
pub struct Seq {
    pub items: Vec<Item>,
    /// Status flags undefined at the end (iced-x86 RflagsBits).
    pub undef: u32,
    /// Label of the target of the sequence's indirect call, if any.
    pub ind_target: Option<usize>,
}

/// A zeroed `CpuState` on the heap (it is large).
pub struct Cpu(*mut CpuState);

impl Cpu {
    pub fn new() -> Cpu {
        // SAFETY: CpuState is plain data (integers, atomics, arrays of
        // them) for which all-zero bytes are a valid value.
        let p = unsafe { alloc_zeroed(Layout::new::<CpuState>()) } as *mut CpuState;
        assert!(!p.is_null());
        Cpu(p)
    }
    pub fn get(&mut self) -> &mut CpuState {
        // SAFETY: p is a live allocation owned by self.
        unsafe { &mut *self.0 }
    }
    pub fn ptr(&self) -> *mut u8 {
        self.0 as *mut u8
    }
}

impl Drop for Cpu {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.0 as *mut u8, Layout::new::<CpuState>()) }
    }
}

/// The blocks of the code at `base` (`code`, ending in a `syscall` that
/// stands for "the end"), in the order a run goes through them, then the
/// other branch targets.
pub fn trace_of(base: u64, code: &[u8], ind_target: Option<u64>) -> TraceIr {
    trace_from(base, code, ind_target, base, usize::MAX)
}

/// The trace of at most `max_blocks` blocks from `start`: the blocks a
/// run goes through, then other branch targets.
pub fn trace_from(base: u64, code: &[u8], ind_target: Option<u64>, start: u64, max_blocks: usize) -> TraceIr {
    let model = CpuModel::Host;
    let end = base + code.len() as u64;
    let lift = |a: u64| lift_block(model, a, &code[(a - base) as usize..], false, false);
    let inside = |a: u64| a >= base && a < end - 2;
    let mut seen = HashSet::new();
    let mut blocks: Vec<IrBlock> = Vec::new();
    let (mut cur, mut stack) = (Some(start), Vec::new());
    while let Some(a) = cur.filter(|&a| inside(a) && blocks.len() < max_blocks && seen.insert(a)) {
        let b = lift(a);
        cur = match b.insns.last().map(|i| &i.op) {
            Some(Op::Jmp { target }) => Some(*target),
            Some(Op::Fallthrough { next }) => Some(*next),
            Some(Op::Call { target, ret }) => {
                stack.push(*ret);
                Some(*target)
            }
            Some(Op::CallInd { ret, .. }) => {
                stack.push(*ret);
                ind_target
            }
            Some(Op::Ret { .. }) => stack.pop(),
            _ => None,
        };
        blocks.push(b);
    }
    // Branch targets not on that path.
    let mut k = 0;
    while k < blocks.len() && blocks.len() < max_blocks {
        let targets: Vec<u64> = blocks[k]
            .insns
            .iter()
            .flat_map(|i| match i.op {
                Op::Jcc { taken, .. } => vec![taken],
                Op::Jmp { target } | Op::Call { target, .. } => vec![target],
                Op::Fallthrough { next } => vec![next],
                _ => vec![],
            })
            .collect();
        for t in targets {
            if inside(t) && blocks.len() < max_blocks && seen.insert(t) {
                blocks.push(lift(t));
            }
        }
        k += 1;
    }
    TraceIr { head: start, blocks, counters: 0, precise: true }
}

/// Disassembly of `bytes` at `base`.
pub fn disasm(bytes: &[u8], base: u64) -> String {
    let mut d = iced_x86::Decoder::with_ip(64, bytes, base, 0);
    let mut f = IntelFormatter::new();
    let mut s = String::new();
    while d.can_decode() {
        let i = d.decode();
        let mut t = String::new();
        f.format(&i, &mut t);
        s += &format!("  {:#x}: {t}\n", i.ip());
    }
    s
}

/// iced-x86 `RflagsBits` as rflags bits.
pub fn rflags_of(f: u32) -> u64 {
    use iced_x86::RflagsBits as F;
    [(F::CF, 0x1), (F::PF, 0x4), (F::AF, 0x10), (F::ZF, 0x40), (F::SF, 0x80), (F::OF, 0x800)]
        .iter()
        .filter(|(i, _)| f & i != 0)
        .map(|(_, r)| r)
        .sum()
}

thread_local! {
    static FP_INPUTS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Makes this thread's inputs mostly floating-point values ([`fp_value`]),
/// in the XMM registers and in memory.
pub fn fp_inputs(on: bool) {
    FP_INPUTS.with(|c| c.set(on));
}

/// A random register value, biased to edge cases.
fn value(rng: &mut Rng) -> u64 {
    if FP_INPUTS.with(|c| c.get()) && rng.chance(75) {
        return fp_value(rng);
    }
    match rng.below(10) {
        0 => rng.pick(&[0, 1, u64::MAX, 0x8000_0000_0000_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x80]),
        1 => rng.below(64),
        2 | 3 => fp_value(rng),
        _ => rng.next(),
    }
}

/// A double or two floats of the kinds that matter: ordinary, -0,
/// infinities, quiet and signalling NaNs with payloads, denormals, large.
fn fp_value(rng: &mut Rng) -> u64 {
    if rng.chance(50) {
        return rng.pick(&[
            1.5f64.to_bits(),
            (-2.25f64).to_bits(),
            0.1f64.to_bits(),
            (-0.0f64).to_bits(),
            f64::INFINITY.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            0x7ff8_0000_0000_1234,
            0xfff4_0000_0000_0001,
            0x000f_ffff_ffff_ffff,
            1e300f64.to_bits(),
        ]);
    }
    let f = [
        1.5f32.to_bits(),
        (-3.0f32).to_bits(),
        (-0.0f32).to_bits(),
        f32::INFINITY.to_bits(),
        0x7fc0_1234,
        0xffa0_0001,
        0x0000_0003,
        1e30f32.to_bits(),
    ];
    u64::from(rng.pick(&f)) | u64::from(rng.pick(&f)) << 32
}

/// Results of one check.
pub struct Stats {
    pub cases: usize,
    pub compile_ms: f64,
    pub lowered: usize,
}

/// Compiles `seq` and runs it on `inputs` random states natively and as a
/// trace. Err describes the first difference.
pub fn check(
    compiler: &mut Compiler,
    seq: &Seq,
    rng: &mut Rng,
    inputs: usize,
    miscompile: bool,
) -> Result<Stats, String> {
    check_split(compiler, seq, rng, inputs, miscompile, usize::MAX)
}

/// [`check`] with traces of at most `max_blocks` blocks: a run that leaves
/// a trace by a side exit goes on with the trace starting there, until the
/// end; the chain must end as the native run does.
pub fn check_split(
    compiler: &mut Compiler,
    seq: &Seq,
    rng: &mut Rng,
    inputs: usize,
    miscompile: bool,
    max_blocks: usize,
) -> Result<Stats, String> {
    let guest = native::map(8192, libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC);
    let base = guest as u64;
    let (bytes, labels) = assemble(&seq.items, base);
    let mut run_bytes = bytes.clone();
    run_bytes.extend(native::back_jump());
    let mut lift_bytes = bytes.clone();
    lift_bytes.extend([0x0f, 0x05]);
    assert!(run_bytes.len() <= 8192);
    // SAFETY: guest has 8192 writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(run_bytes.as_ptr(), guest, run_bytes.len()) };
    let end = base + bytes.len() as u64;
    let ind = seq.ind_target.map(|l| labels[l]);
    // Compiled traces by entry pc: (code, its length).
    let mut traces: HashMap<u64, (*mut u8, usize)> = HashMap::new();
    let (mut compile_ms, mut lowered) = (0.0, 0);
    // Optimised LLVM IR of the traces compiled (CHK_IR=1), shown on failure.
    let mut ir_text = String::new();
    let mut compile = |pc: u64| -> Result<u64, String> {
        if let Some(&(p, _)) = traces.get(&pc) {
            return Ok(p as u64);
        }
        let trace = trace_from(base, &lift_bytes, ind, pc, max_blocks);
        let t0 = std::time::Instant::now();
        let compiled =
            compiler.compile(&trace, miscompile).map_err(|e| format!("compile at {pc:#x}: {e}"))?;
        compile_ms += t0.elapsed().as_secs_f64() * 1e3;
        lowered += compiled.lowered_insns;
        if let Some(ir) = &compiled.llvm_after {
            ir_text.push_str(ir);
        }
        let p = native::exec_copy(&compiled.code);
        traces.insert(pc, (p, compiled.code.len()));
        Ok(p as u64)
    };
    let listing = || disasm(&bytes, base);

    let mut buf = vec![0u8; BUF];
    let b0 = buf.as_mut_ptr() as u64;
    let aligned = (b0 + 15) & !15;
    let mut result = Ok(());
    for _ in 0..inputs {
        let mut regs = [0u64; 16];
        for r in regs.iter_mut() {
            *r = value(rng);
        }
        regs[6] = aligned + 4096 + rng.below(128) * 16; // rsi, 16-aligned
        regs[7] = b0 + 4096 + rng.below(2048); // rdi
        regs[15] = rng.below(16); // index
        regs[4] = b0 + 12288 + rng.below(256) * 8; // rsp
        let rflags = 0x202 | (rng.next() & STATUS);
        let init: Vec<u8> = match FP_INPUTS.with(|c| c.get()) {
            true => (0..BUF / 8).flat_map(|_| fp_value(rng).to_le_bytes()).collect(),
            false => (0..BUF).map(|_| rng.next() as u8).collect(),
        };

        let data_init: Vec<u8> = (0..DATA_LEN).map(|_| rng.next() as u8).collect();
        // SAFETY: the data page is the guest mapping's second page.
        let data = unsafe { std::slice::from_raw_parts_mut(guest.add(DATA_OFF as usize), DATA_LEN as usize) };

        buf.copy_from_slice(&init);
        data.copy_from_slice(&data_init);
        let mut xmm = [[0u64; 2]; 16];
        for x in xmm.iter_mut() {
            *x = [value(rng), value(rng)];
        }
        // The SSE component in its init state (zero registers, the area
        // holding stale values), or in use, in an XSAVE area.
        let sse_init = rng.chance(20);
        if sse_init {
            xmm = [[0; 2]; 16];
        }
        // All exceptions masked; random rounding, FTZ, DAZ and sticky flags.
        let mxcsr = 0x1f80 | (rng.next() as u32 & 0xe07f);
        let mut nat = Nat { regs, rflags, host_rsp: 0, xmm, mxcsr };
        if std::env::var_os("CHK_DEBUG").is_some() {
            eprintln!("native {}", listing());
        }
        native::run(&mut nat, base, b0);
        if std::env::var_os("CHK_DEBUG").is_some() {
            eprintln!("trace");
        }
        let nat_mem = buf.clone();
        let nat_data = data.to_vec();

        buf.copy_from_slice(&init);
        data.copy_from_slice(&data_init);
        let mut cpu = Cpu::new();
        cpu.get().regs = regs;
        cpu.get().rflags = rflags;
        cpu.get().gs_base = b0;
        cpu.get().xsave_kind = 1;
        for (i, x) in xmm.iter().enumerate() {
            let v = if sse_init { [rng.next(), rng.next()] } else { *x };
            // SAFETY: the XSAVE area's XMM slots, inside the CpuState.
            unsafe { (cpu.ptr().add(off::XSAVE + 160 + 16 * i) as *mut [u64; 2]).write_unaligned(v) };
        }
        // SAFETY: MXCSR in the XSAVE area, inside the CpuState.
        unsafe { (cpu.ptr().add(off::XSAVE + 24) as *mut u32).write_unaligned(mxcsr) };
        // SAFETY: XSTATE_BV in the XSAVE header, inside the CpuState.
        unsafe {
            (cpu.ptr().add(off::XSAVE + 512) as *mut u64).write_unaligned(if sse_init { 0 } else { 2 })
        };
        let mut ret = base;
        for _ in 0..64 {
            let f = match compile(ret) {
                Ok(f) => f,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            ret = native::call_trace(cpu.ptr(), f);
            if ret == end || ret < base || ret > end || cpu.get().rip != ret {
                break;
            }
        }
        if result.is_err() {
            break;
        }
        // SAFETY: as above.
        let bv = unsafe { (cpu.ptr().add(off::XSAVE + 512) as *const u64).read_unaligned() };
        let trace_xmm: Vec<[u64; 2]> = (0..16)
            .map(|i| {
                // SAFETY: as above.
                let v =
                    unsafe { (cpu.ptr().add(off::XSAVE + 160 + 16 * i) as *const [u64; 2]).read_unaligned() };
                if bv & 2 == 0 {
                    [0, 0]
                } else {
                    v
                }
            })
            .collect();
        // SAFETY: as above.
        let trace_mxcsr = unsafe { (cpu.ptr().add(off::XSAVE + 24) as *const u32).read_unaligned() };
        let c = cpu.get();
        let mut diffs = Vec::new();
        if trace_mxcsr != nat.mxcsr {
            diffs.push(format!("mxcsr: trace {trace_mxcsr:#x} native {:#x} (in {mxcsr:#x})", nat.mxcsr));
        }
        for (i, x) in trace_xmm.iter().enumerate() {
            if *x != nat.xmm[i] {
                diffs.push(format!("xmm{i}: trace {:x?} native {:x?} (in {:x?})", x, nat.xmm[i], xmm[i]));
            }
        }
        if ret != end || c.rip != end {
            diffs.push(format!(
                "rip: trace returned {ret:#x} (cpu.rip {:#x}), native ended at {end:#x}",
                c.rip
            ));
        }
        for (r, name) in tern_translate::cpu::REG_NAMES.iter().enumerate() {
            if c.regs[r] != nat.regs[r] {
                diffs.push(format!(
                    "{name}: trace {:#x} native {:#x} (in {:#x})",
                    c.regs[r], nat.regs[r], regs[r]
                ));
            }
        }
        let mask = STATUS & !rflags_of(seq.undef);
        if (c.rflags ^ nat.rflags) & mask != 0 {
            diffs.push(format!(
                "rflags: trace {:#x} native {:#x} (in {rflags:#x}, compared {mask:#x})",
                c.rflags & STATUS,
                nat.rflags & STATUS
            ));
        }
        if let Some(i) = (0..BUF).find(|&i| buf[i] != nat_mem[i]) {
            diffs.push(format!("memory at buf+{i:#x}: trace {:#x} native {:#x}", buf[i], nat_mem[i]));
        }
        if let Some(i) = (0..data.len()).find(|&i| data[i] != nat_data[i]) {
            diffs.push(format!("data at +{i:#x}: trace {:#x} native {:#x}", data[i], nat_data[i]));
        }
        if !diffs.is_empty() {
            result = Err(format!("{}\ncode:\n{}{ir_text}", diffs.join("\n"), listing()));
            break;
        }
    }
    for (p, len) in traces.into_values() {
        native::unmap(p, len);
    }
    native::unmap(guest, 8192);
    result.map(|_| Stats { cases: inputs, compile_ms, lowered })
}
