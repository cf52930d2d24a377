//! The C interface of `libtern_trace.so`, which the `tern` binary loads
//! with `dlopen` on its optimizer thread the first time a trace is to be
//! compiled: a process that never gets hot never maps LLVM, nor runs its
//! static constructors (linked into the binary, LLVM tripled the startup's
//! resident memory and made `tern /bin/true` 1.6x slower).
//!
//! Only plain data crosses: the trace's blocks as the guest bytes tern
//! translated them from (this side lifts them again with the same lifter,
//! so both sides agree on the IR), and the compiled code and dumps as byte
//! buffers that this side allocated and frees ([`tern_trace_free`]).

use crate::{Compiler, Options, TraceIr};
use std::ffi::c_void;
use tern_translate::CpuModel;

/// One block of a trace: its guest start, bytes and predicted target of
/// its final indirect branch (0: none).
#[repr(C)]
pub struct FfiBlock {
    pub start: u64,
    pub code: *const u8,
    pub len: usize,
    pub predicted: u64,
}

/// How traces are compiled ([`Options`]); `model` names the CPU model
/// (`CpuModel::name`), NUL-terminated.
#[repr(C)]
pub struct FfiOptions {
    pub opt_level: u8,
    pub host_cpu: u8,
    pub dump_ir: u8,
    /// Traces count the guest instructions they run (`--stats`).
    pub count_insns: u8,
    pub model: *const u8,
}

/// A byte buffer allocated here (free it with [`tern_trace_free`]).
#[repr(C)]
pub struct FfiBytes {
    pub ptr: *mut u8,
    pub len: usize,
}

impl FfiBytes {
    const NONE: FfiBytes = FfiBytes { ptr: std::ptr::null_mut(), len: 0 };

    fn from(v: Vec<u8>) -> FfiBytes {
        let b = v.into_boxed_slice();
        let len = b.len();
        FfiBytes { ptr: Box::into_raw(b).cast::<u8>(), len }
    }
}

/// What [`tern_trace_compile`] produced: the code, or an error message;
/// the LLVM IR before and after optimisation when dumps are on.
#[repr(C)]
pub struct FfiResult {
    pub code: FfiBytes,
    pub error: FfiBytes,
    pub ir_before: FfiBytes,
    pub ir_after: FfiBytes,
}

struct Handle {
    compiler: Compiler,
    model: CpuModel,
}

/// A compiler for `opts`, or null (LLVM could not be set up).
///
/// # Safety
/// `opts` points to valid options whose `model` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn tern_trace_new(opts: *const FfiOptions) -> *mut c_void {
    // SAFETY: the caller's contract.
    let o = unsafe { &*opts };
    // SAFETY: as above.
    let name = unsafe { std::ffi::CStr::from_ptr(o.model.cast()) };
    let Some(model) = name.to_str().ok().and_then(CpuModel::from_name) else {
        return std::ptr::null_mut();
    };
    let opts = Options {
        opt_level: o.opt_level,
        host_cpu: o.host_cpu != 0,
        dump_ir: o.dump_ir != 0,
        count_insns: o.count_insns != 0,
        miscompile: false,
    };
    match Compiler::new(opts) {
        Ok(compiler) => Box::into_raw(Box::new(Handle { compiler, model })).cast(),
        Err(_) => std::ptr::null_mut(),
    }
}

/// Compiles the trace at `head` made of `n` blocks `blocks` into `out`;
/// its code updates the [`crate::Counters`] at address `counters` (0: none);
/// `precise`: [`TraceIr::precise`].
/// Returns 0 on success (`out.code` set), -1 otherwise (`out.error` set).
///
/// # Safety
/// `c` comes from [`tern_trace_new`]; `blocks` points to `n` blocks whose
/// `code` points to `len` readable bytes; `out` is writable; `counters`
/// is 0 or stays valid for as long as the code may run.
#[no_mangle]
pub unsafe extern "C" fn tern_trace_compile(
    c: *mut c_void,
    head: u64,
    blocks: *const FfiBlock,
    n: usize,
    miscompile: u8,
    precise: u8,
    counters: u64,
    out: *mut FfiResult,
) -> i32 {
    // SAFETY: the caller's contract.
    let (h, blocks, out) =
        unsafe { (&mut *c.cast::<Handle>(), std::slice::from_raw_parts(blocks, n), &mut *out) };
    let blocks = blocks
        .iter()
        .map(|b| {
            // SAFETY: the caller's contract.
            let code = unsafe { std::slice::from_raw_parts(b.code, b.len) };
            let mut ir = tern_translate::lift::lift_block(h.model, b.start, code, false, false);
            ir.predicted = (b.predicted != 0).then_some(b.predicted);
            ir
        })
        .collect();
    let r = h.compiler.compile(&TraceIr { head, blocks, counters, precise: precise != 0 }, miscompile != 0);
    *out = FfiResult {
        code: FfiBytes::NONE,
        error: FfiBytes::NONE,
        ir_before: FfiBytes::NONE,
        ir_after: FfiBytes::NONE,
    };
    match r {
        Ok(c) => {
            out.code = FfiBytes::from(c.code);
            out.ir_before = c.llvm_before.map_or(FfiBytes::NONE, |s| FfiBytes::from(s.into_bytes()));
            out.ir_after = c.llvm_after.map_or(FfiBytes::NONE, |s| FfiBytes::from(s.into_bytes()));
            0
        }
        Err(e) => {
            out.error = FfiBytes::from(e.to_string().into_bytes());
            -1
        }
    }
}

/// Frees a buffer of an [`FfiResult`].
///
/// # Safety
/// `ptr`/`len` are one of the buffers `tern_trace_compile` returned, not
/// freed before (null is ignored).
#[no_mangle]
pub unsafe extern "C" fn tern_trace_free(ptr: *mut u8, len: usize) {
    if !ptr.is_null() {
        // SAFETY: the caller's contract: a boxed slice made by FfiBytes::from.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
    }
}
