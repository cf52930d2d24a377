//! LLVM module -> host machine code: the target machine (host CPU or plain
//! x86-64), the optimisation pipeline (tern's [`TRACE_PASSES`], or LLVM's
//! `default<On>`), emission of an ELF object to memory, and the function's
//! bytes taken out of it: its code with its read-only constants after it,
//! references between them resolved ([`text_of`]).

use crate::{Options, Reject};
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine};
use inkwell::OptimizationLevel;
use object::{Object, ObjectSection, ObjectSymbol};

/// A function's bytes, and its LLVM IR before and after optimisation.
pub(crate) type Emitted = (Vec<u8>, Option<String>, Option<String>);

/// The target machine traces are compiled for.
pub(crate) struct Machine {
    tm: TargetMachine,
}

impl Machine {
    pub(crate) fn new(opts: &Options) -> Result<Machine, String> {
        llvm_init();
        let triple = TargetMachine::get_default_triple();
        let target = Target::from_triple(&triple).map_err(|e| e.to_string())?;
        // The host's feature string, not only its name: LLVM 14 may call a
        // recent AMD CPU "generic".
        let (cpu, features) = if opts.host_cpu {
            let name = TargetMachine::get_host_cpu_name().to_string_lossy().into_owned();
            // No AVX: its VEX encodings zero the upper halves of the YMM
            // registers, which hold the guest's state while a trace runs
            // (tern saves only XMM0-15 around it: `baseline::trace_glue`).
            let feats = format!("{},-avx", TargetMachine::get_host_cpu_features().to_string_lossy());
            let name = if name == "generic" { "x86-64".to_string() } else { name };
            (name, feats)
        } else {
            ("x86-64".to_string(), String::new())
        };
        let level = match opts.opt_level {
            0 => OptimizationLevel::None,
            1 => OptimizationLevel::Less,
            2 => OptimizationLevel::Default,
            _ => OptimizationLevel::Aggressive,
        };
        let tm = target
            .create_target_machine(&triple, &cpu, &features, level, RelocMode::PIC, CodeModel::Small)
            .ok_or_else(|| format!("no target machine for {triple} {cpu}"))?;
        Ok(Machine { tm })
    }

    /// Optimises `module` and returns its function's bytes, with the IR
    /// text before and after optimisation when `opts.dump_ir`.
    pub(crate) fn emit(&self, module: &Module<'_>, opts: &Options) -> Result<Emitted, Reject> {
        module.verify().map_err(|e| Reject::Llvm(e.to_string()))?;
        let before = opts.dump_ir.then(|| module.print_to_string().to_string());
        let passes = match opts.opt_level {
            2 => TRACE_PASSES.to_string(),
            n => format!("default<O{}>", n.min(3)),
        };
        // Guest memory accesses are volatile, so there is nothing for the
        // loop vectorizer; the SLP vectorizer would only pack flag
        // computations.
        let po = PassBuilderOptions::create();
        po.set_loop_vectorization(false);
        po.set_loop_slp_vectorization(false);
        module.run_passes(&passes, &self.tm, po).map_err(|e| Reject::Llvm(e.to_string()))?;
        let after = opts.dump_ir.then(|| module.print_to_string().to_string());
        let buf = self
            .tm
            .write_to_memory_buffer(module, FileType::Object)
            .map_err(|e| Reject::Llvm(e.to_string()))?;
        let code = text_of(buf.as_slice())?;
        Ok((code, before, after))
    }
}

/// The passes of `--trace-opt 2` (the default). A trace is one function
/// without calls, whose guest registers and flags start as loads from the
/// `CpuState` into allocas: it needs them in SSA form (`sroa`), the flags
/// no instruction reads folded away (`instcombine`, `adce`), the exits'
/// duplicate blocks merged (`simplifycfg`), redundant loads and
/// computations gone (`early-cse`, `gvn`), loop-invariant ones out of its
/// loops (`licm`), and dead stores (`dse`); `loop-rotate` turns the mode
/// of a loop's lazily carried flags, known after its first turn, from an
/// `i1` phi into the loop's guard (the checker's
/// `flags_of_a_loop_compare_are_carried_lazily`). LLVM's `default<O2>`
/// runs about sixty passes more (the inliner and interprocedural ones,
/// unswitching, unrolling, induction-variable rewriting) that took 60 %
/// of a trace's optimisation time and left the hot loops of the kernels
/// the same instruction for instruction: a forced-traces run of
/// `insn_sse_int.c` (548 traces) optimised in 4.5-5.2 s instead of 12.8
/// s (code generation, 10.7 s, unchanged); the kernels ran as fast
/// (benches/docs/traces.md, session 47).
const TRACE_PASSES: &str =
    "function(sroa,early-cse,instcombine,simplifycfg,loop-mssa(loop-rotate,licm),gvn,instcombine,dse,adce,simplifycfg)";

/// Initialises LLVM's x86 target and its own options, once per process
/// (from whichever optimizer thread comes first): no SLP vectorizer (LLVM
/// 14's `LLVMRunPasses` ignores `PassBuilderOptions`' switch for it). It
/// would only pack flag computations into vectors.
fn llvm_init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: installs a handler that never returns (see `fatal`).
        unsafe { inkwell::llvm_sys::error_handling::LLVMInstallFatalErrorHandler(Some(fatal)) };
        Target::initialize_x86(&InitializationConfig::default());
        let args = [c"tern".as_ptr(), c"-vectorize-slp=false".as_ptr(), c"-vectorize-loops=false".as_ptr()];
        // SAFETY: argv of NUL-terminated static strings; called once, before
        // any pass runs in this process.
        unsafe {
            inkwell::llvm_sys::support::LLVMParseCommandLineOptions(
                args.len() as i32,
                args.as_ptr(),
                std::ptr::null(),
            )
        };
    });
}

/// LLVM's fatal errors (`report_fatal_error`: an internal error, "Instruction
/// Combining seems stuck in an infinite loop"...) would exit the process,
/// guest and all. The compiling thread parks for good instead, without a
/// word on the guest's stderr: its LLVM state is beyond use, no trace is
/// compiled any more, and the guest runs on in the baseline (the queue of
/// hot heads fills and drops, as designed).
extern "C" fn fatal(_reason: *const std::ffi::c_char) {
    loop {
        std::thread::park();
    }
}

/// The function's bytes from the object `obj`: its `.text`, then its
/// read-only data (constant pools, jump tables), each section at its
/// alignment (at most 16, the alignment the code is installed at), with
/// the PC-relative references between them resolved here. The result
/// runs wherever it is copied whole. Anything else (writable data, other
/// code sections, references to symbols outside, other relocation kinds)
/// rejects the trace.
///
/// Written here rather than with a linker crate: the object is one
/// function LLVM just emitted, and what it may contain is this short list.
fn text_of(obj: &[u8]) -> Result<Vec<u8>, Reject> {
    use object::{RelocationKind, RelocationTarget, SectionKind};
    let file = object::File::parse(obj).map_err(|e| Reject::Llvm(e.to_string()))?;
    let bad = |e: object::Error| Reject::Llvm(e.to_string());
    let mut out = Vec::new();
    let mut placed = std::collections::HashMap::new();
    let text = file.section_by_name(".text").ok_or_else(|| Reject::Llvm("no .text in the object".into()))?;
    out.extend_from_slice(text.data().map_err(bad)?);
    placed.insert(text.index(), 0u64);
    for s in file.sections() {
        if s.size() == 0 || s.index() == text.index() {
            continue;
        }
        match s.kind() {
            SectionKind::ReadOnlyData | SectionKind::ReadOnlyString => {
                if s.align() > 16 {
                    return Err(Reject::Relocations);
                }
                let at = (out.len() as u64).next_multiple_of(s.align().max(1));
                out.resize(at as usize, 0);
                out.extend_from_slice(s.data().map_err(bad)?);
                placed.insert(s.index(), at);
            }
            SectionKind::Text | SectionKind::Data | SectionKind::UninitializedData => {
                return Err(Reject::Relocations)
            }
            _ => {}
        }
    }
    for s in file.sections().filter(|s| placed.contains_key(&s.index())) {
        for (off, rel) in s.relocations() {
            let target = match rel.target() {
                RelocationTarget::Section(i) => placed.get(&i).copied(),
                RelocationTarget::Symbol(i) => {
                    let sym = file.symbol_by_index(i).map_err(bad)?;
                    sym.section_index().and_then(|i| placed.get(&i)).map(|at| at + sym.address())
                }
                _ => None,
            };
            let (Some(target), RelocationKind::Relative, 32) = (target, rel.kind(), rel.size()) else {
                return Err(Reject::Relocations);
            };
            let at = placed[&s.index()] + off;
            let v = (target as i64).wrapping_add(rel.addend()).wrapping_sub(at as i64);
            let v = i32::try_from(v).map_err(|_| Reject::Relocations)?;
            let field = out.get_mut(at as usize..at as usize + 4).ok_or(Reject::Relocations)?;
            field.copy_from_slice(&v.to_le_bytes());
        }
    }
    Ok(out)
}
