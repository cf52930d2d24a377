//! The guest's FS and GS: selector loads and reads, and the FS/GS base
//! instructions, emulated on `CpuState` instead of the host registers.
//!
//! tern keeps its own thread pointer in the host FS base and the guest's
//! `CpuState` in the host GS base, so a guest `mov gs, ax` must never reach
//! the host's GS. The lifter turns these instructions into `Op::Emulate`; the
//! exit reaches the CPU loop, which calls [`emulate`]. The segment checks and
//! the new base are the host CPU's own: a selector is validated with `verr`
//! and `lar` (the checks a data-segment load makes, without faulting) and
//! then loaded into the host GS for an instant, outside generated code, to
//! read the base the CPU gives it (`load_selector`). What it must not do: run
//! while generated code could observe the host GS.
//!
//! Mirrors the hardware rules the kernel relies on in
//! `arch/x86/kernel/process_64.c` (`load_seg_legacy()`, the null-selector
//! behaviour it probes in `arch/x86/kernel/cpu/common.c`).

use crate::cpu::{CpuState, RSP};
use iced_x86::{Code, Instruction, OpKind, Register};

const SIGSEGV: i32 = 11;
const SIGBUS: i32 = 7;
const ARCH_SET_GS: i32 = 0x1001;
const ARCH_GET_GS: i32 = 0x1004;

/// Guest memory as the emulator reaches it: fault-free accessors that
/// return false where the guest would fault.
pub trait GuestMem {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> bool;
    fn write(&mut self, addr: u64, data: &[u8]) -> bool;
}

/// The segment operations the emulator needs from the host CPU; the real
/// one is [`HostSegments`], tests may substitute their own.
pub trait Segments {
    /// Loads `sel` into a data-segment register whose base is `old_base`:
    /// the new base, or the signal the load raises.
    fn load(&mut self, sel: u16, old_base: u64) -> Result<u64, i32>;
    /// True if far-pointer loads (`lfs`/`lgs`/`lss`) ignore REX.W and read
    /// an m16:32 pointer, as AMD CPUs do.
    fn far_rexw_is_32(&self) -> bool;
}

/// The host CPU, through its own GS register (see the module docs).
pub struct HostSegments;

fn arch_prctl(code: i32, arg: u64) -> i64 {
    // SAFETY: ARCH_GET_GS writes one u64 at `arg` (a live stack slot of the
    // caller); ARCH_SET_GS changes this thread's GS, which only generated code
    // uses, and no generated code runs on this thread during the call.
    unsafe { libc::syscall(libc::SYS_arch_prctl, code, arg) }
}

fn host_gs_base() -> u64 {
    let mut v = 0u64;
    arch_prctl(ARCH_GET_GS, std::ptr::addr_of_mut!(v) as u64);
    v
}

/// `verr` and `lar` on `sel`: (readable from CPL 3 as a data segment,
/// present). Neither instruction faults.
fn probe(sel: u16) -> (bool, bool) {
    let readable: u8;
    let lar_ok: u8;
    let ar: u32;
    // SAFETY: verr and lar only read the descriptor tables and set ZF.
    unsafe {
        std::arch::asm!(
            "verr {s:x}",
            "setz {r}",
            "lar {a:e}, {s:e}",
            "setz {l}",
            s = in(reg) u32::from(sel),
            r = out(reg_byte) readable,
            l = out(reg_byte) lar_ok,
            a = out(reg) ar,
            options(nomem, nostack),
        )
    };
    (readable != 0, lar_ok != 0 && ar & (1 << 15) != 0)
}

impl Segments for HostSegments {
    fn load(&mut self, sel: u16, old_base: u64) -> Result<u64, i32> {
        if sel & !3 != 0 {
            // The checks of a data-segment load (Intel SDM, MOV: "IF DS, ES,
            // FS, or GS is loaded with non-NULL selector"): #GP (SIGSEGV)
            // unless readable at CPL 3, then #NP, which Linux delivers as
            // SIGBUS (`exc_segment_not_present()`).
            let (readable, present) = probe(sel);
            if !readable {
                return Err(SIGSEGV);
            }
            if !present {
                return Err(SIGBUS);
            }
        }
        let saved = host_gs_base();
        // Give the host GS the guest's base, so that a CPU that keeps the
        // base on a null load (older AMD) keeps the guest's.
        let preset = arch_prctl(ARCH_SET_GS, old_base) == 0;
        // SAFETY: the selector passed the checks above (or is null), so the
        // load does not fault; the host GS is restored below before any
        // generated code runs.
        unsafe {
            std::arch::asm!("mov gs, {0:e}", in(reg) u32::from(sel), options(nostack, preserves_flags))
        };
        let base = host_gs_base();
        // ARCH_SET_GS also loads the null selector.
        arch_prctl(ARCH_SET_GS, saved);
        Ok(if !preset && sel & !3 == 0 { old_base } else { base })
    }

    fn far_rexw_is_32(&self) -> bool {
        let [_, ebx, ecx, edx] = crate::model::host_cpuid(0, 0);
        let vendor = [ebx.to_le_bytes(), edx.to_le_bytes(), ecx.to_le_bytes()].concat();
        vendor == b"AuthenticAMD" || vendor == b"HygonGenuine"
    }
}

/// True if `code` is emulated here when its segment operand is FS or GS
/// (checked by the lifter with [`is_guest_segment_op`]).
pub fn is_guest_segment_op(insn: &Instruction) -> bool {
    use Code as C;
    let fs_gs = |r: Register| matches!(r, Register::FS | Register::GS);
    match insn.code() {
        C::Mov_Sreg_rm16 | C::Mov_Sreg_r32m16 | C::Mov_Sreg_r64m16 => fs_gs(insn.op0_register()),
        C::Mov_rm16_Sreg | C::Mov_r32m16_Sreg | C::Mov_r64m16_Sreg => fs_gs(insn.op1_register()),
        C::Pushw_FS | C::Pushq_FS | C::Pushw_GS | C::Pushq_GS => true,
        C::Popw_FS | C::Popq_FS | C::Popw_GS | C::Popq_GS => true,
        C::Lfs_r16_m1616 | C::Lfs_r32_m1632 | C::Lfs_r64_m1664 => true,
        C::Lgs_r16_m1616 | C::Lgs_r32_m1632 | C::Lgs_r64_m1664 => true,
        C::Rdfsbase_r32 | C::Rdfsbase_r64 | C::Rdgsbase_r32 | C::Rdgsbase_r64 => true,
        C::Wrfsbase_r32 | C::Wrfsbase_r64 | C::Wrgsbase_r32 | C::Wrgsbase_r64 => true,
        _ => false,
    }
}

fn gpr_index(r: Register) -> usize {
    r.full_register().number() - Register::RAX.number()
}

/// Value of a GPR of any width as the instruction reads it.
fn read_gpr(cpu: &CpuState, r: Register) -> u64 {
    let v = cpu.regs[gpr_index(r)];
    match r.size() {
        8 => v,
        4 => v & 0xffff_ffff,
        _ => v & 0xffff,
    }
}

/// Writes a GPR as x86-64 does: 32-bit writes zero-extend, 16-bit writes
/// keep the upper bits.
fn write_gpr(cpu: &mut CpuState, r: Register, v: u64) {
    let slot = &mut cpu.regs[gpr_index(r)];
    *slot = match r.size() {
        8 => v,
        4 => v & 0xffff_ffff,
        _ => (*slot & !0xffff) | (v & 0xffff),
    };
}

fn mem_addr(cpu: &CpuState, insn: &Instruction, op: u32) -> u64 {
    insn.virtual_address(op, 0, |reg, _, _| {
        Some(match reg {
            Register::FS => cpu.fs_base,
            Register::GS => cpu.gs_base,
            Register::ES | Register::CS | Register::SS | Register::DS => 0,
            r if r.is_gpr() => cpu.regs[gpr_index(r)],
            _ => 0,
        })
    })
    .unwrap_or(0)
}

/// Which guest segment an instruction names: true for FS.
fn is_fs(insn: &Instruction) -> bool {
    use Code as C;
    match insn.code() {
        C::Mov_Sreg_rm16 | C::Mov_Sreg_r32m16 | C::Mov_Sreg_r64m16 => insn.op0_register() == Register::FS,
        C::Mov_rm16_Sreg | C::Mov_r32m16_Sreg | C::Mov_r64m16_Sreg => insn.op1_register() == Register::FS,
        C::Pushw_FS | C::Pushq_FS | C::Popw_FS | C::Popq_FS => true,
        C::Lfs_r16_m1616 | C::Lfs_r32_m1632 | C::Lfs_r64_m1664 => true,
        C::Rdfsbase_r32 | C::Rdfsbase_r64 | C::Wrfsbase_r32 | C::Wrfsbase_r64 => true,
        _ => false,
    }
}

/// Emulates `insn` (one [`is_guest_segment_op`] accepts) on `cpu`: Ok with
/// `cpu.rip` past it, or the signal it raises with the state untouched, as
/// a faulting instruction leaves it.
pub fn emulate(
    cpu: &mut CpuState,
    insn: &Instruction,
    mem: &mut dyn GuestMem,
    segs: &mut dyn Segments,
) -> Result<(), i32> {
    use Code as C;
    let fs = is_fs(insn);
    let (sel, base) = if fs { (cpu.fs_sel, cpu.fs_base) } else { (cpu.gs_sel, cpu.gs_base) };
    let read16 = |mem: &mut dyn GuestMem, addr: u64| {
        let mut b = [0u8; 2];
        if mem.read(addr, &mut b) {
            Ok(u16::from_le_bytes(b))
        } else {
            Err(SIGSEGV)
        }
    };
    // What the instruction loads: (selector, register to write, value).
    let mut load: Option<u16> = None;
    let mut set_reg: Option<(Register, u64)> = None;
    let mut new_rsp: Option<u64> = None;
    let mut new_base: Option<u64> = None;
    match insn.code() {
        C::Mov_Sreg_rm16 | C::Mov_Sreg_r32m16 | C::Mov_Sreg_r64m16 => {
            load = Some(if insn.op1_kind() == OpKind::Register {
                read_gpr(cpu, insn.op1_register()) as u16
            } else {
                read16(mem, mem_addr(cpu, insn, 1))?
            });
        }
        C::Mov_rm16_Sreg | C::Mov_r32m16_Sreg | C::Mov_r64m16_Sreg => {
            if insn.op0_kind() == OpKind::Register {
                set_reg = Some((insn.op0_register(), u64::from(sel)));
            } else if !mem.write(mem_addr(cpu, insn, 0), &sel.to_le_bytes()) {
                return Err(SIGSEGV);
            }
        }
        C::Pushw_FS | C::Pushw_GS | C::Pushq_FS | C::Pushq_GS => {
            let wide = matches!(insn.code(), C::Pushq_FS | C::Pushq_GS);
            let size = if wide { 8 } else { 2 };
            let sp = cpu.regs[RSP].wrapping_sub(size);
            let bytes = u64::from(sel).to_le_bytes();
            if !mem.write(sp, &bytes[..size as usize]) {
                return Err(SIGSEGV);
            }
            new_rsp = Some(sp);
        }
        C::Popw_FS | C::Popw_GS | C::Popq_FS | C::Popq_GS => {
            let wide = matches!(insn.code(), C::Popq_FS | C::Popq_GS);
            let sp = cpu.regs[RSP];
            load = Some(read16(mem, sp)?);
            new_rsp = Some(sp.wrapping_add(if wide { 8 } else { 2 }));
        }
        C::Lfs_r16_m1616
        | C::Lfs_r32_m1632
        | C::Lfs_r64_m1664
        | C::Lgs_r16_m1616
        | C::Lgs_r32_m1632
        | C::Lgs_r64_m1664 => {
            let dst = insn.op0_register();
            let size = match dst.size() {
                8 if segs.far_rexw_is_32() => 4,
                s => s,
            };
            let addr = mem_addr(cpu, insn, 1);
            let mut off = [0u8; 8];
            if !mem.read(addr, &mut off[..size]) {
                return Err(SIGSEGV);
            }
            load = Some(read16(mem, addr.wrapping_add(size as u64))?);
            set_reg = Some((dst, u64::from_le_bytes(off)));
        }
        C::Rdfsbase_r32 | C::Rdfsbase_r64 | C::Rdgsbase_r32 | C::Rdgsbase_r64 => {
            set_reg = Some((insn.op0_register(), base));
        }
        C::Wrfsbase_r32 | C::Wrfsbase_r64 | C::Wrgsbase_r32 | C::Wrgsbase_r64 => {
            let v = read_gpr(cpu, insn.op0_register());
            // A non-canonical base is a #GP.
            if ((v as i64) << 16 >> 16) as u64 != v {
                return Err(SIGSEGV);
            }
            new_base = Some(v);
        }
        _ => return Err(SIGSEGV),
    }
    // The load is the last thing that can fault: nothing is written before.
    if let Some(s) = load {
        new_base = Some(segs.load(s, base)?);
        if fs {
            cpu.fs_sel = s;
        } else {
            cpu.gs_sel = s;
        }
    }
    if let Some(b) = new_base {
        if fs {
            cpu.fs_base = b;
        } else {
            cpu.gs_base = b;
        }
    }
    if let Some((r, v)) = set_reg {
        write_gpr(cpu, r, v);
    }
    if let Some(sp) = new_rsp {
        cpu.regs[RSP] = sp;
    }
    cpu.rip = insn.next_ip();
    Ok(())
}

/// The guest's memory through the fault-free accessors; a write refused
/// because tern write-protected the page for its code is retried once
/// `unprotect` (the CPU loop's self-modifying-code path) gave it back.
struct Guest<'a> {
    unprotect: &'a mut dyn FnMut(u64) -> bool,
}

impl GuestMem for Guest<'_> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> bool {
        crate::guestmem::read_guest(addr, buf) == buf.len()
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> bool {
        if crate::guestmem::write_guest(addr, data) {
            return true;
        }
        let last = addr.wrapping_add(data.len() as u64 - 1);
        let freed = (self.unprotect)(addr) | (self.unprotect)(last);
        freed && crate::guestmem::write_guest(addr, data)
    }
}

/// Emulates the instruction at `cpu.rip` (an `ExitKind::Emulate` exit) on
/// the guest's memory and the host CPU's segment rules. `unprotect` is
/// called with the address of a refused write (see `Jit::handle_code_write`).
pub fn emulate_at(cpu: &mut CpuState, unprotect: &mut dyn FnMut(u64) -> bool) -> Result<(), i32> {
    let mut buf = [0u8; 15];
    let n = crate::guestmem::read_code(cpu.rip, &mut buf);
    let insn = iced_x86::Decoder::with_ip(64, &buf[..n], cpu.rip, iced_x86::DecoderOptions::NONE).decode();
    if insn.is_invalid() || !is_guest_segment_op(&insn) {
        // The code changed under the block: run it again from here.
        return Ok(());
    }
    emulate(cpu, &insn, &mut Guest { unprotect }, &mut HostSegments)
}
