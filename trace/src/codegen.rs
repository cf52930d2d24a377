//! LLVM module -> host machine code: the target machine (host CPU or plain
//! x86-64), the optimisation pipeline (`default<On>`), emission of an ELF
//! object to memory and extraction of its `.text`, which must be the whole
//! function with no relocation (else the trace is rejected).

use crate::{Options, Reject};
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine};
use inkwell::OptimizationLevel;
use object::{Object, ObjectSection};

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
        let passes = format!("default<O{}>", opts.opt_level.min(3));
        // Guest memory accesses are volatile, so there is nothing for the
        // loop vectorizer; the SLP vectorizer would only pack flag
        // computations, with constant pools the copied code cannot reach.
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

/// Initialises LLVM's x86 target and its own options, once per process
/// (from whichever optimizer thread comes first): no SLP vectorizer (LLVM
/// 14's `LLVMRunPasses` ignores `PassBuilderOptions`' switch for it). It
/// would only pack flag computations into vectors, whose constants go to a
/// constant pool the copied code cannot reach.
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

/// The `.text` of the object `obj`, if it is all the code and data there
/// is and nothing in it needs relocating.
fn text_of(obj: &[u8]) -> Result<Vec<u8>, Reject> {
    let file = object::File::parse(obj).map_err(|e| Reject::Llvm(e.to_string()))?;
    let mut text = None;
    for s in file.sections() {
        let name = s.name().unwrap_or("");
        let loaded = matches!(s.kind(), object::SectionKind::Text)
            || matches!(
                s.kind(),
                object::SectionKind::Data
                    | object::SectionKind::ReadOnlyData
                    | object::SectionKind::ReadOnlyString
                    | object::SectionKind::UninitializedData
            );
        if !loaded || s.size() == 0 {
            continue;
        }
        if name != ".text" || s.relocations().next().is_some() {
            // A constant pool or a jump table: the copied bytes could not
            // reach it.
            return Err(Reject::Relocations);
        }
        text = Some(s.data().map_err(|e| Reject::Llvm(e.to_string()))?.to_vec());
    }
    text.ok_or_else(|| Reject::Llvm("no .text in the object".into()))
}
