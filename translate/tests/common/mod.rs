//! Shared by the translator's golden and property tests: translating one
//! block from given bytes exactly as `Jit::translate` does (lift, emit,
//! number the exit descriptors), without installing or running it, and a
//! readable dump of the result.

#![allow(dead_code)]

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, OpKind, Register};
use std::fmt::Write;
use tern_translate::baseline::{emit_block, Emitted, Runtime};
use tern_translate::cache::{PcEntry, AT_TARGET, MID_BRANCH};
use tern_translate::cpu::{off, REG_NAMES};
use tern_translate::ir::IrBlock;
use tern_translate::lift::lift_block;
use tern_translate::CpuModel;

/// Where the shared runtime routines sit, relative to a block's host base
/// (as in a real cache, they come first).
pub fn runtime(host: u64) -> Runtime {
    Runtime { exit_tramp: host - 0x100, ibl_miss: host - 0xf8, trace: Default::default() }
}

/// The first descriptor index a block gets in these tests (0 and 1 are the
/// fixed `DESC_INDIRECT` and `DESC_FAULT`).
pub const FIRST_DESC: u32 = 2;

/// Translates the block at guest `guest` from `bytes` for host address
/// `host`: `lift_block`, `emit_block` and `set_desc_base`, the calls
/// `Jit::translate` makes.
pub fn translate(model: CpuModel, guest: u64, host: u64, bytes: &[u8]) -> (IrBlock, Emitted) {
    translate_code(model, false, guest, host, bytes)
}

/// `translate`, with `host_code` as `lift_block` takes it: true lifts the
/// bytes as the vDSO's, whose instructions are not checked against the CPU
/// model (golden files say `host_code` to show instructions beyond every
/// model the branch knows).
pub fn translate_code(
    model: CpuModel,
    host_code: bool,
    guest: u64,
    host: u64,
    bytes: &[u8],
) -> (IrBlock, Emitted) {
    let ir = lift_block(model, guest, bytes, false, host_code);
    let em = emit(&ir, host);
    (ir, em)
}

/// `emit_block` and `set_desc_base` of a lifted block, as `Jit::translate`.
pub fn emit(ir: &IrBlock, host: u64) -> Emitted {
    let mut em = emit_block(ir, host, &runtime(host), false).expect("emit");
    em.set_desc_base(FIRST_DESC);
    em
}

/// The pc-map entry covering block offset `at`.
pub fn entry_at(map: &[PcEntry], at: usize) -> Option<PcEntry> {
    let i = map.partition_point(|e| usize::from(e.host_off) <= at);
    i.checked_sub(1).map(|i| map[i])
}

/// A pc-map entry as text: the guest state it names.
pub fn state_text(ir: &IrBlock, e: &PcEntry) -> String {
    let mut s = match e.guest_off {
        MID_BRANCH => "mid-branch".to_string(),
        AT_TARGET => "@target(rdx)".to_string(),
        o => format!("@{:#x}", ir.start + u64::from(o)),
    };
    for (reg, slot) in e.fixups() {
        write!(s, " {}=scratch{slot}", REG_NAMES[reg]).unwrap();
    }
    if e.rsp_adj != 0 {
        write!(s, " rsp=host+{}", e.rsp_adj).unwrap();
    }
    s
}

/// Name of the `CpuState` field at GS offset `d`.
pub fn field_name(d: u64) -> String {
    let d = d as usize;
    let fixed = [
        (off::RIP, "rip"),
        (off::RFLAGS, "rflags"),
        (off::FS_BASE, "fs_base"),
        (off::GS_BASE, "gs_base"),
        (off::NEXT_RIP, "next_rip"),
        (off::EXIT_DESC, "exit_desc"),
        (off::JMP_TARGET, "jmp_target"),
        (off::IBL, "ibl"),
        (off::IBL + 8, "ibl+8"),
    ];
    if let Some((_, n)) = fixed.iter().find(|(o, _)| *o == d) {
        return n.to_string();
    }
    if (off::SCRATCH..off::SCRATCH + 64).contains(&d) {
        return format!("scratch{}", (d - off::SCRATCH) / 8);
    }
    if (off::REGS..off::REGS + 128).contains(&d) {
        return REG_NAMES[(d - off::REGS) / 8].to_string();
    }
    format!("{d:#x}")
}

/// Decodes `bytes` at `ip` (host or guest code).
pub fn decode_all(bytes: &[u8], ip: u64) -> Vec<Instruction> {
    Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE).into_iter().collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

/// The text a golden file holds below its separator.
pub fn dump(ir: &IrBlock, em: &Emitted, host: u64) -> String {
    let mut fmt = IntelFormatter::new();
    let mut out = String::new();
    let text = |fmt: &mut IntelFormatter, i: &Instruction| {
        let mut s = String::new();
        fmt.format(i, &mut s);
        s
    };
    out.push_str("guest:\n");
    for i in decode_all(&ir.code, ir.start) {
        let off = (i.ip() - ir.start) as usize;
        let t = text(&mut fmt, &i);
        writeln!(out, "  {:#x}  {:<30} {t}", i.ip(), hex(&ir.code[off..off + i.len()])).unwrap();
    }
    out.push_str("ir:\n");
    for line in ir.to_string().lines() {
        writeln!(out, "  {line}").unwrap();
    }
    writeln!(out, "entries: +{:04x}, lookup +{:04x}", em.entry, em.ibl_entry).unwrap();
    out.push_str("host:                                                              | pc map\n");
    let mut last = String::new();
    for i in decode_all(&em.code[..em.insn_len], host) {
        let at = (i.ip() - host) as usize;
        let mut t = text(&mut fmt, &i);
        if i.segment_prefix() == Register::GS && (0..i.op_count()).any(|k| i.op_kind(k) == OpKind::Memory) {
            write!(t, "  ; {}", field_name(i.memory_displacement64())).unwrap();
        }
        let st = entry_at(&em.pcmap, at).map(|e| state_text(ir, &e)).unwrap_or_else(|| "NONE".into());
        let shown = if st == last { String::new() } else { st.clone() };
        last = st;
        writeln!(out, "  +{at:04x}  {:<30} {t:<33} | {shown}", hex(&em.code[at..at + i.len()])).unwrap();
    }
    out.push_str("exits:\n");
    for (n, d) in em.descs.iter().enumerate() {
        let kind = d.kind.name();
        let patch =
            if d.patch_site != 0 { format!(" patch +{:#x}", d.patch_site - host) } else { String::new() };
        let direct = d.kind == tern_translate::cpu::ExitKind::Direct;
        let arg = match tern_translate::ir::trap_of_arg(d.arg) {
            _ if direct && d.arg == tern_translate::cpu::DIRECT_VIA_LOOKUP => " via lookup".to_string(),
            _ if direct && d.arg == tern_translate::cpu::DIRECT_BACK => " backward".to_string(),
            (0, _) => String::new(),
            (signo, 0) => format!(" signal {signo}"),
            (signo, vector) => format!(" signal {signo} vector {vector}"),
        };
        writeln!(out, "  {}: {kind} {:#x}{arg}{patch}", FIRST_DESC as usize + n, d.target).unwrap();
    }
    out
}
