//! Property: a block emitted for one host address and guest address, then
//! moved with `Emitted::relocate` to another pair, is byte for byte the
//! block emitted for that pair directly (code, recorded fields, exit
//! descriptors, pc map). The persistent translation cache relies on it:
//! blocks translated in one process run in others, where the code cache
//! and the guest's libraries sit elsewhere. A field the back end forgot to
//! record shows up here as a difference.
//!
//! The code is real: thousands of blocks lifted at staggered offsets of the
//! host's libc (RIP-relative operands, calls, PLT-style indirect jumps,
//! returns, backward branches with their trace-head counting stubs), in the
//! address layouts a guest has: PIE code far from the code cache, code
//! within rel32 reach of it, and a non-PIE program in the low 2 GiB.

mod common;

use tern_translate::baseline::{emit_block, Emitted};
use tern_translate::ir::{IrBlock, MemFix, Op};
use tern_translate::lift::lift_block;
use tern_translate::CpuModel;

const LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";

/// Code bytes to lift: the middle of the host's libc (mostly text).
fn code() -> Vec<u8> {
    let all = std::fs::read(LIBC).expect("the host's libc");
    all[0x30000..0x130000].to_vec()
}

/// A predicted target for a block ending in a RIP-relative indirect
/// branch (what `Jit` reads from the slot), else None.
fn predicted(ir: &IrBlock, guess: u64) -> Option<u64> {
    match ir.insns.last().map(|i| &i.op) {
        Some(Op::JmpInd { fix: MemFix::RipRel, .. } | Op::CallInd { fix: MemFix::RipRel, .. }) => Some(guess),
        _ => None,
    }
}

/// Emits the block at `guest` for `host`, the code cache's shared routines
/// sitting at `runtime` (where they stay, whichever block moves).
fn emit(model: CpuModel, bytes: &[u8], guest: u64, host: u64, runtime: u64, guess: u64) -> Emitted {
    let mut ir = lift_block(model, guest, bytes, false, false);
    ir.predicted = predicted(&ir, guess);
    emit_block(&ir, host, &common::runtime(runtime), false).expect("emit")
}

/// The first difference between two blocks, for a short failure message.
fn first_difference(a: &Emitted, b: &Emitted) -> String {
    if let Some(i) = a.code.iter().zip(&b.code).position(|(x, y)| x != y) {
        let r = a.relocs.iter().find(|r| (r.at as usize..r.at as usize + 8).contains(&i));
        return format!("code differs at byte {i:#x} (recorded field there: {r:?})");
    }
    if a.descs != b.descs {
        return format!("descriptors differ: {:?} vs {:?}", a.descs, b.descs);
    }
    format!("lengths or tables differ: {} vs {} bytes", a.code.len(), b.code.len())
}

/// Relocates every block of `code` lifted at `guest_a`/`host_a` (plus the
/// block's offset) to `guest_b`/`host_b` and compares with the block
/// emitted there; returns how many blocks had recorded fields of each
/// kind, so that the caller can check the layout exercised them.
fn check_layout(guest_a: u64, host_a: u64, guest_b: u64, host_b: u64) -> [usize; 5] {
    let model = CpuModel::default_for_host();
    let code = code();
    let mut kinds = [0usize; 5];
    let (mut off, mut refused, mut blocks) = (0, 0, 0);
    while off + 0x200 < code.len() {
        let bytes = &code[off..];
        blocks += 1;
        let (ga, gb) = (guest_a + off as u64, guest_b + off as u64);
        // The same predicted target in both layouts when it lies in
        // another library, moved with the code when in the same one.
        let guess = if off % 2 == 0 { 0x7f00_dead_0000 } else { ga + 0x3000 };
        let guess_b = if off % 2 == 0 { guess } else { gb + 0x3000 };
        // The code cache's routines move too (another process's cache).
        let (rt, rt_b) = (host_a - 0x1000, host_b - 0x2_0000);
        let mut a = emit(model, bytes, ga, host_a, rt, guess);
        let b = emit(model, bytes, gb, host_b, rt_b, guess_b);
        let ir = lift_block(model, ga, bytes, false, false);
        let pred = predicted(&ir, guess_b);
        let kinds_a: Vec<_> = a.relocs.iter().map(|r| r.kind).collect();
        if !a.relocate(host_a, host_b, gb.wrapping_sub(ga), rt_b.wrapping_sub(rt), pred) {
            // Only where emitting at B chose another form: a RIP-relative
            // target in reach of one host address and not of the other.
            let kinds_b: Vec<_> = b.relocs.iter().map(|r| r.kind).collect();
            assert_ne!(kinds_a, kinds_b, "block at offset {off:#x}: relocation refused");
            refused += 1;
            off += 37;
            continue;
        }
        assert!(
            a == b,
            "block at offset {off:#x} (guest {ga:#x} -> {gb:#x}, host {host_a:#x} -> {host_b:#x}): {}",
            first_difference(&a, &b)
        );
        for r in &a.relocs {
            kinds[r.kind as usize] += 1;
        }
        off += 37;
    }
    assert!(refused * 100 < blocks, "{refused} of {blocks} blocks refused");
    kinds
}

#[test]
fn pie_code_far_from_the_cache() {
    let k = check_layout(0x7f12_3456_7000, 0x7e00_0010_1000, 0x7f55_0000_0000, 0x7e00_0123_4540);
    // HostRel32, GuestAbs64 (literals, imm64), PredictedNeg64.
    assert!(k[0] > 1000 && k[3] > 1000 && k[4] > 0, "{k:?}");
}

#[test]
fn code_within_rel32_reach_of_the_cache() {
    let k = check_layout(0x5555_4000_0000, 0x5555_0000_0000, 0x5555_4321_0000, 0x5555_0040_0020);
    // GuestRel32: RIP-relative operands stay RIP-relative.
    assert!(k[1] > 1000, "{k:?}");
}

#[test]
fn non_pie_code_in_the_low_2_gib() {
    let k = check_layout(0x40_1000, 0x7e00_0010_1000, 0x80_1000, 0x7e00_0010_9000);
    // GuestAbs32: `push imm32` and absolute `[disp32]` operands.
    assert!(k[2] > 1000, "{k:?}");
}

#[test]
fn a_field_out_of_reach_refuses_the_move() {
    let model = CpuModel::default_for_host();
    let code = code();
    // Near the cache, a RIP-relative operand is a rel32 to guest memory;
    // 4 GiB further away it cannot be.
    let mut refused = 0;
    for off in (0..0x10000).step_by(61) {
        let (g, h) = (0x5555_4000_0000 + off as u64, 0x5555_0000_0000);
        let mut a = emit(model, &code[off..], g, h, h, 0);
        let near = a.relocs.iter().any(|r| r.kind as usize == 1);
        let moved = a.relocate(h, h + 0x1_0000_0000, 0, 0, None);
        if near {
            assert!(!moved, "offset {off:#x}");
            refused += 1;
        }
    }
    assert!(refused > 50, "{refused}");
    // A host move that is not a multiple of 8 breaks the alignment of the
    // patchable fields.
    let mut a = emit(model, &code, 0x7f00_0000_0000, 0x7e00_0000_0000, 0x7e00_0000_0000, 0);
    assert!(!a.relocate(0x7e00_0000_0000, 0x7e00_0000_0004, 0, 0, None));
}

#[test]
fn predicted_indirect_branches_take_the_slot_read_again() {
    let model = CpuModel::default_for_host();
    let (host_a, host_b, rt) = (0x7e00_0010_0000, 0x7e00_0020_0040, 0x7e00_0000_0000);
    let (guest_a, guest_b) = (0x7f00_0000_1000, 0x7f20_0000_3000);
    // jmp [rip+0x2010] (a PLT stub), call [rip+0x2010] (a call through the GOT).
    for code in [[0xff, 0x25, 0x10, 0x20, 0, 0], [0xff, 0x15, 0x10, 0x20, 0, 0]] {
        // The slot now holds another library's address: the guard and the
        // linked jump take it.
        let mut a = emit(model, &code, guest_a, host_a, rt, 0x7f11_0000_0000);
        assert!(a.relocs.iter().any(|r| r.kind as usize == 4));
        let b = emit(model, &code, guest_b, host_b, rt, 0x7f33_0000_0000);
        assert!(a.relocate(host_a, host_b, guest_b - guest_a, 0, Some(0x7f33_0000_0000)));
        assert!(a == b, "{}", first_difference(&a, &b));
        // Nothing to predict any more (a lazy binding slot): the block's
        // shape differs, so it is refused.
        let mut a = emit(model, &code, guest_a, host_a, rt, 0x7f11_0000_0000);
        assert!(!a.relocate(host_a, host_b, guest_b - guest_a, 0, None));
    }
}
