//! `seg::emulate` on a `CpuState` with a fake memory and fake segment
//! rules: operand sizes, stack moves, faults leaving the state untouched,
//! and the FSGSBASE family, which no CPU model enables yet (so no guest
//! program reaches it; these checks are its only test).

use iced_x86::{Decoder, DecoderOptions};
use std::collections::HashMap;
use tern_translate::cpu::{CpuState, RAX, RBX, RSP};
use tern_translate::seg::{emulate, GuestMem, Segments};

#[derive(Default)]
struct Mem(HashMap<u64, u8>);
impl GuestMem for Mem {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> bool {
        for (i, b) in buf.iter_mut().enumerate() {
            match self.0.get(&(addr + i as u64)) {
                Some(v) => *b = *v,
                None => return false,
            }
        }
        true
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> bool {
        for (i, b) in data.iter().enumerate() {
            self.0.insert(addr + i as u64, *b);
        }
        true
    }
}

/// GDT of a Linux process as this test assumes it: 0x2b and 0x33 load with
/// base 0, null clears the base, everything else is #GP.
struct Fake {
    amd: bool,
}
impl Segments for Fake {
    fn load(&mut self, sel: u16, _old: u64) -> Result<u64, i32> {
        match sel & !3 {
            0 | 0x28 | 0x30 => Ok(0),
            _ => Err(11),
        }
    }
    fn far_rexw_is_32(&self) -> bool {
        self.amd
    }
}

fn cpu() -> Box<CpuState> {
    // SAFETY: all-zero is a valid CpuState (as CpuBox::new relies on).
    let mut c: Box<CpuState> = unsafe { Box::new(std::mem::zeroed()) };
    c.rip = 0x1000;
    c.regs[RSP] = 0x8000;
    c.fs_base = 0x7000_0000;
    c.gs_base = 0x5000;
    c
}

fn run(c: &mut CpuState, mem: &mut Mem, bytes: &[u8], amd: bool) -> Result<(), i32> {
    let insn = Decoder::with_ip(64, bytes, c.rip, DecoderOptions::NONE).decode();
    assert!(tern_translate::seg::is_guest_segment_op(&insn), "{insn}");
    emulate(c, &insn, mem, &mut Fake { amd })
}

#[test]
fn loads_and_reads_of_gs() {
    let mut c = cpu();
    let mut m = Mem::default();
    c.regs[RAX] = 0xffff_002b;
    run(&mut c, &mut m, &[0x8e, 0xe8], false).unwrap(); // mov gs, ax
    assert_eq!((c.gs_sel, c.gs_base, c.rip), (0x2b, 0, 0x1002));
    c.regs[RBX] = 0x1111_2222_3333_4444;
    run(&mut c, &mut m, &[0x66, 0x8c, 0xeb], false).unwrap(); // mov bx, gs
    assert_eq!(c.regs[RBX], 0x1111_2222_3333_002b);
    run(&mut c, &mut m, &[0x8c, 0xeb], false).unwrap(); // mov ebx, gs
    assert_eq!(c.regs[RBX], 0x2b);
    // A bad selector: SIGSEGV, nothing changed.
    c.regs[RAX] = 0x63;
    let before = (c.gs_sel, c.gs_base, c.rip);
    assert_eq!(run(&mut c, &mut m, &[0x8e, 0xe8], false), Err(11));
    assert_eq!((c.gs_sel, c.gs_base, c.rip), before);
}

#[test]
fn push_and_pop_move_the_stack_by_the_operand_size() {
    let mut c = cpu();
    let mut m = Mem::default();
    c.gs_sel = 0x2b;
    run(&mut c, &mut m, &[0x0f, 0xa8], false).unwrap(); // push gs
    assert_eq!(c.regs[RSP], 0x7ff8);
    let mut q = [0u8; 8];
    assert!(m.read(0x7ff8, &mut q));
    assert_eq!(u64::from_le_bytes(q), 0x2b);
    run(&mut c, &mut m, &[0x66, 0x0f, 0xa0], false).unwrap(); // pushw fs
    assert_eq!(c.regs[RSP], 0x7ff6);
    run(&mut c, &mut m, &[0x66, 0x0f, 0xa9], false).unwrap(); // popw gs: loads fs's 0
    assert_eq!((c.regs[RSP], c.gs_sel), (0x7ff8, 0));
    run(&mut c, &mut m, &[0x0f, 0xa1], false).unwrap(); // pop fs
    assert_eq!((c.regs[RSP], c.fs_sel, c.fs_base), (0x8000, 0x2b, 0));
    // Popping from unmapped memory faults without moving rsp.
    assert_eq!(run(&mut c, &mut m, &[0x0f, 0xa9], false), Err(11));
    assert_eq!(c.regs[RSP], 0x8000);
}

#[test]
fn far_pointer_loads_follow_the_vendor() {
    let mut m = Mem::default();
    m.write(0x3000, &[0x88, 0x77, 0x66, 0x55, 0x2b, 0, 0, 0, 0x33, 0]);
    for (amd, want_reg, want_sel) in
        [(true, 0x2b_5566_7788u64 & 0xffff_ffff, 0x2b), (false, 0x2b_5566_7788, 0x33)]
    {
        let mut c = cpu();
        c.regs[RBX] = 0x3000;
        run(&mut c, &mut m, &[0x48, 0x0f, 0xb5, 0x03], amd).unwrap(); // rex.w lgs rax, [rbx]
        assert_eq!((c.regs[RAX], c.gs_sel), (want_reg, want_sel), "amd {amd}");
    }
    m.write(0x4000, &[0x88, 0x77, 0x33, 0]);
    let mut c = cpu();
    c.regs[RBX] = 0x4000;
    c.regs[RAX] = u64::MAX;
    run(&mut c, &mut m, &[0x66, 0x0f, 0xb4, 0x03], false).unwrap(); // lfs ax, [rbx] (m16:16)
    assert_eq!((c.regs[RAX], c.fs_sel, c.fs_base), (0xffff_ffff_ffff_7788, 0x33, 0));
}

#[test]
fn fsgsbase_reads_and_writes_the_guest_bases() {
    let mut c = cpu();
    let mut m = Mem::default();
    run(&mut c, &mut m, &[0xf3, 0x48, 0x0f, 0xae, 0xc0], false).unwrap(); // rdfsbase rax
    assert_eq!(c.regs[RAX], 0x7000_0000);
    c.regs[RBX] = 0x1234_5678_9abc;
    run(&mut c, &mut m, &[0xf3, 0x48, 0x0f, 0xae, 0xdb], false).unwrap(); // wrgsbase rbx
    assert_eq!((c.gs_base, c.gs_sel), (0x1234_5678_9abc, 0));
    run(&mut c, &mut m, &[0xf3, 0x0f, 0xae, 0xcb], false).unwrap(); // rdgsbase ebx
    assert_eq!(c.regs[RBX], 0x5678_9abc);
    c.regs[RAX] = 0x8000_0000_0000_0000;
    assert_eq!(run(&mut c, &mut m, &[0xf3, 0x48, 0x0f, 0xae, 0xd0], false), Err(11)); // wrfsbase rax
    assert_eq!(c.fs_base, 0x7000_0000);
}
