//! The trace compiler, loaded on first use: `libtern_trace.so` (crate
//! `tern-trace`, LLVM inside) next to the `tern` binary, opened with
//! `dlopen` by the first optimizer thread (`TERN_TRACE_LIB` names another
//! path). Its mappings are registered as tern's own, so the guest neither
//! sees them in its maps nor maps over them.

use crate::optimizer::{Compiled, Config, TraceCompiler};
use std::ffi::{c_void, CString};
use tern_translate::traces::{FormedTrace, TraceCounters};

#[repr(C)]
struct FfiBlock {
    start: u64,
    code: *const u8,
    len: usize,
    predicted: u64,
}

#[repr(C)]
struct FfiOptions {
    opt_level: u8,
    host_cpu: u8,
    dump_ir: u8,
    count_insns: u8,
    model: *const u8,
}

#[repr(C)]
struct FfiBytes {
    ptr: *mut u8,
    len: usize,
}

#[repr(C)]
struct FfiResult {
    code: FfiBytes,
    error: FfiBytes,
    ir_before: FfiBytes,
    ir_after: FfiBytes,
}

type NewFn = unsafe extern "C" fn(*const FfiOptions) -> *mut c_void;
type CompileFn =
    unsafe extern "C" fn(*mut c_void, u64, *const FfiBlock, usize, u8, u8, u64, *mut FfiResult) -> i32;
type FreeFn = unsafe extern "C" fn(*mut u8, usize);

/// The library's compiler.
struct LlvmCompiler {
    handle: *mut c_void,
    compile: CompileFn,
    free: FreeFn,
}

impl LlvmCompiler {
    /// Takes a buffer the library returned, freeing it there.
    fn take(&self, b: &FfiBytes) -> Vec<u8> {
        if b.ptr.is_null() {
            return Vec::new();
        }
        // SAFETY: a buffer of b.len bytes from tern_trace_compile, freed
        // once, right after the copy.
        unsafe {
            let v = std::slice::from_raw_parts(b.ptr, b.len).to_vec();
            (self.free)(b.ptr, b.len);
            v
        }
    }
}

impl TraceCompiler for LlvmCompiler {
    fn compile(
        &mut self,
        t: &FormedTrace,
        miscompile: bool,
        counters: &'static TraceCounters,
    ) -> Result<Compiled, String> {
        let blocks: Vec<FfiBlock> = t
            .blocks
            .iter()
            .map(|b| FfiBlock {
                start: b.start,
                code: b.code.as_ptr(),
                len: b.code.len(),
                predicted: b.predicted.unwrap_or(0),
            })
            .collect();
        let mut out = std::mem::MaybeUninit::<FfiResult>::uninit();
        // SAFETY: the handle is the library's, the blocks point into
        // `t`, alive across the call, and `out` is written by the call.
        let (r, out) = unsafe {
            let r = (self.compile)(
                self.handle,
                t.head,
                blocks.as_ptr(),
                blocks.len(),
                u8::from(miscompile),
                u8::from(t.precise),
                counters as *const TraceCounters as u64,
                out.as_mut_ptr(),
            );
            (r, out.assume_init())
        };
        let (code, error) = (self.take(&out.code), self.take(&out.error));
        let text = |b: &FfiBytes| {
            Some(String::from_utf8_lossy(&self.take(b)).into_owned()).filter(|s| !s.is_empty())
        };
        let (ir_before, ir_after) = (text(&out.ir_before), text(&out.ir_after));
        if r != 0 {
            return Err(String::from_utf8_lossy(&error).into_owned());
        }
        Ok(Compiled { code, ir_before, ir_after })
    }
}

/// tern's own executable, as it was at start-up ([`note_exe`]).
static EXE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Keeps tern's path, found at start-up: the library is loaded later, on
/// the optimizer thread, when `/proc/self/exe` may name nothing (after
/// the guest's main thread ended with others running on, the process's
/// /proc entry has no program: the library was "not found").
pub fn note_exe(path: &std::path::Path) {
    let _ = EXE.set(path.to_path_buf());
}

/// The library's path: `TERN_TRACE_LIB`, else next to the executable.
fn lib_path() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("TERN_TRACE_LIB") {
        return p.into();
    }
    let exe = EXE.get().cloned().or_else(|| std::env::current_exe().ok()).unwrap_or_default();
    exe.with_file_name("libtern_trace.so")
}

/// The address ranges of every loaded ELF object's segments, by object
/// name (`dl_iterate_phdr`).
fn loaded_objects() -> Vec<(String, u64, u64)> {
    unsafe extern "C" fn each(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> libc::c_int {
        // SAFETY: the loader passes a valid info; data is our Vec.
        let (info, out) = unsafe { (&*info, &mut *data.cast::<Vec<(String, u64, u64)>>()) };
        let name = if info.dlpi_name.is_null() {
            String::new()
        } else {
            // SAFETY: a NUL-terminated name from the loader.
            unsafe { std::ffi::CStr::from_ptr(info.dlpi_name) }.to_string_lossy().into_owned()
        };
        for i in 0..usize::from(info.dlpi_phnum) {
            // SAFETY: dlpi_phdr has dlpi_phnum entries.
            let ph = unsafe { &*info.dlpi_phdr.add(i) };
            if ph.p_type == libc::PT_LOAD {
                let start = (info.dlpi_addr + ph.p_vaddr) & !0xfff;
                let end = (info.dlpi_addr + ph.p_vaddr + ph.p_memsz).next_multiple_of(0x1000);
                out.push((name.clone(), start, end));
            }
        }
        0
    }
    let mut v: Vec<(String, u64, u64)> = Vec::new();
    // SAFETY: the callback only reads what the loader passes and appends
    // to `v`, which outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(each), (&mut v as *mut Vec<(String, u64, u64)>).cast()) };
    v
}

/// Opens the library and makes a compiler for `cfg` (the optimizer
/// thread's factory, `optimizer::Factory`).
pub fn load(cfg: &Config) -> Result<Box<dyn TraceCompiler>, String> {
    let path = lib_path();
    // The registry of tern's ranges stays locked until the library's are
    // in it: a guest reading its maps meanwhile waits, and never sees them.
    let mut ranges = tern_syscalls::proc::lock_for_fork();
    let before: std::collections::HashSet<String> = loaded_objects().into_iter().map(|o| o.0).collect();
    let cpath = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: dlopen of a path; the library's constructors are LLVM's own.
    let lib = unsafe { libc::dlopen(cpath.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if lib.is_null() {
        // SAFETY: dlerror returns a C string or null.
        let e = unsafe { libc::dlerror() };
        let msg = if e.is_null() {
            String::new()
        } else {
            // SAFETY: as above, non-null.
            unsafe { std::ffi::CStr::from_ptr(e) }.to_string_lossy().into_owned()
        };
        return Err(format!("cannot load {}: {msg}", path.display()));
    }
    // The library and the shared libraries it brought (libstdc++, zlib...)
    // are tern's, each from its first segment to its last (the gaps
    // between them are mapped too).
    let mut spans: std::collections::HashMap<String, (u64, u64)> = Default::default();
    for (name, s, e) in loaded_objects().into_iter().filter(|o| !before.contains(&o.0)) {
        let span = spans.entry(name).or_insert((s, e));
        *span = (span.0.min(s), span.1.max(e));
    }
    ranges.extend(spans.into_values());
    drop(ranges);
    let sym = |name: &std::ffi::CStr| {
        // SAFETY: looking a symbol up in the library just opened.
        let p = unsafe { libc::dlsym(lib, name.as_ptr()) };
        (!p.is_null()).then_some(p).ok_or_else(|| format!("{} lacks {name:?}", path.display()))
    };
    // SAFETY: the symbols are the library's `ffi.rs` functions, whose
    // types these are.
    let (new, compile, free) = unsafe {
        (
            std::mem::transmute::<*mut c_void, NewFn>(sym(c"tern_trace_new")?),
            std::mem::transmute::<*mut c_void, CompileFn>(sym(c"tern_trace_compile")?),
            std::mem::transmute::<*mut c_void, FreeFn>(sym(c"tern_trace_free")?),
        )
    };
    let model = CString::new(cfg.model).map_err(|e| e.to_string())?;
    let opts = FfiOptions {
        opt_level: cfg.opt_level,
        host_cpu: 1,
        dump_ir: u8::from(cfg.dump),
        count_insns: u8::from(cfg.count_insns),
        model: model.as_ptr().cast(),
    };
    // SAFETY: valid options, model NUL-terminated and alive across the call.
    let handle = unsafe { new(&opts) };
    if handle.is_null() {
        return Err("the trace compiler could not set LLVM up".into());
    }
    Ok(Box::new(LlvmCompiler { handle, compile, free }))
}
