//! A small x86-64 assembler for the code the baseline back end adds around
//! guest instructions. Guest instructions themselves are re-encoded with
//! iced-x86's encoder; the glue is encoded by hand here because we need exact
//! sizes and 4-byte-aligned rel32 fields for atomic patching, which iced's
//! block encoder does not promise.

use iced_x86::{Encoder, Instruction};

/// Host GPR numbers for the encoder: `cpu`'s register numbering (guest and
/// host registers are the same).
pub const RAX: u8 = crate::cpu::RAX as u8;
pub const RCX: u8 = crate::cpu::RCX as u8;
pub const RDX: u8 = crate::cpu::RDX as u8;
pub const RSP: u8 = crate::cpu::RSP as u8;

/// Appends host code for a block that will be installed at `base`.
pub struct Asm {
    pub buf: Vec<u8>,
    pub base: u64,
    /// The fields whose value depends on where the code or the guest code
    /// is (`super::Emitted::relocate`).
    pub relocs: Vec<Reloc>,
    /// Made on first use: iced-x86 builds its encoder's table of every
    /// opcode then (0.6 ms here), which a process whose code all comes
    /// from the persistent cache, and whose runtime routines are plain
    /// bytes, never needs.
    enc: Option<Encoder>,
}

/// What a field of a block's host code holds, for moving the block to
/// another host address and the guest code it translates to another guest
/// address (`super::Emitted::relocate`). Every field of these kinds is
/// recorded; all other bytes depend on neither address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocKind {
    /// A rel32 to a host address outside the block (the runtime's routines).
    HostRel32,
    /// A rel32 from the host code to a guest address (a RIP-relative
    /// operand re-encoded).
    GuestRel32,
    /// A sign-extended 32-bit guest address (`push imm32`, `[disp32]`).
    GuestAbs32,
    /// A 64-bit guest address (`mov r, imm64`, a literal).
    GuestAbs64,
    /// The negated predicted target of an indirect branch (its guard's
    /// `mov rcx, imm64`).
    PredictedNeg64,
}

/// A recorded field: its offset in the block's code and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reloc {
    pub at: u32,
    pub kind: RelocKind,
}

impl Asm {
    pub fn new(base: u64) -> Asm {
        Asm { buf: Vec::with_capacity(1024), base, relocs: Vec::new(), enc: None }
    }

    /// The encoder, made on first use (takes the field, not `self`, so
    /// that the buffer can be borrowed beside it).
    fn encoder(enc: &mut Option<Encoder>) -> &mut Encoder {
        enc.get_or_insert_with(|| Encoder::new(64))
    }

    /// Records that the field at buffer offset `at` holds `kind`.
    pub fn reloc(&mut self, at: usize, kind: RelocKind) {
        let at = u32::try_from(at).expect("blocks stay small");
        self.relocs.push(Reloc { at, kind });
    }

    /// Host address of the next byte.
    pub fn here(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    fn rex_w(reg: u8, rm_ext: u8) -> u8 {
        0x48 | ((reg >> 3) << 2) | rm_ext
    }

    /// `mov gs:[off], r64`
    pub fn store_gs(&mut self, off: usize, r: u8) {
        self.gs_modrm(0x89, r, off);
    }

    /// `mov r64, gs:[off]`
    pub fn load_gs(&mut self, r: u8, off: usize) {
        self.gs_modrm(0x8b, r, off);
    }

    fn gs_modrm(&mut self, opc: u8, r: u8, off: usize) {
        let d = u32::try_from(off).expect("CpuState offset fits disp32");
        self.bytes(&[0x65, Self::rex_w(r, 0), opc, 0x04 | ((r & 7) << 3), 0x25]);
        self.bytes(&d.to_le_bytes());
    }

    /// `mov qword ptr gs:[off], imm32` (sign-extended). Returns the buffer
    /// offset of the immediate.
    pub fn store_gs_imm32(&mut self, off: usize, imm: i32) -> usize {
        let d = u32::try_from(off).expect("CpuState offset fits disp32");
        self.bytes(&[0x65, 0x48, 0xc7, 0x04, 0x25]);
        self.bytes(&d.to_le_bytes());
        let at = self.buf.len();
        self.bytes(&imm.to_le_bytes());
        at
    }

    /// `jmp rel32` with no alignment (never patched) to a routine outside
    /// the code being assembled.
    pub fn jmp_unaligned(&mut self, target: u64) {
        self.buf.push(0xe9);
        let at = self.rel32(target);
        self.reloc(at, RelocKind::HostRel32);
    }

    /// `mov r64, imm64`
    pub fn mov_imm64(&mut self, r: u8, imm: u64) {
        self.bytes(&[0x48 | (r >> 3), 0xb8 + (r & 7)]);
        self.bytes(&imm.to_le_bytes());
    }

    /// `mov r64, imm64` whose immediate is the value `kind` says.
    pub fn mov_imm64_field(&mut self, r: u8, imm: u64, kind: RelocKind) {
        self.mov_imm64(r, imm);
        self.reloc(self.buf.len() - 8, kind);
    }

    /// `lea rsp, [rsp + d]`
    pub fn adjust_rsp(&mut self, d: i32) {
        self.bytes(&[0x48, 0x8d, 0xa4, 0x24]);
        self.bytes(&d.to_le_bytes());
    }

    /// Pads with one NOP instruction (1 to 3 bytes) until
    /// `(here() + prefix_len) % 4 == 0`: blocks run through the padding
    /// before their patchable jumps, and one instruction decodes and
    /// retires cheaper than up to three.
    pub fn align_field(&mut self, prefix_len: u64) {
        match (4 - (self.here() + prefix_len) % 4) % 4 {
            1 => self.bytes(&[0x90]),
            2 => self.bytes(&[0x66, 0x90]),
            3 => self.bytes(&[0x0f, 0x1f, 0x00]),
            _ => {}
        }
    }

    /// `jmp rel32` with a 4-byte aligned field. Returns the field's offset in
    /// the buffer.
    pub fn jmp(&mut self, target: u64) -> usize {
        self.align_field(1);
        self.buf.push(0xe9);
        self.rel32(target)
    }

    /// `jcc rel32` (cc = x86 condition nibble) with a 4-byte aligned field.
    pub fn jcc(&mut self, cc: u8, target: u64) -> usize {
        self.align_field(2);
        self.bytes(&[0x0f, 0x80 | cc]);
        self.rel32(target)
    }

    fn rel32(&mut self, target: u64) -> usize {
        let at = self.buf.len();
        let rel = target.wrapping_sub(self.here() + 4) as i64;
        let rel = i32::try_from(rel).expect("code cache within rel32 reach");
        self.bytes(&rel.to_le_bytes());
        at
    }

    /// Emits the short branch `op` (`jmp` 0xeb, `jcc` 0x70|cc, `jrcxz`
    /// 0xe3) with a rel8 to be set by [`Asm::land`]; returns the rel8's
    /// buffer offset.
    pub fn short(&mut self, op: u8) -> usize {
        self.bytes(&[op, 0]);
        self.buf.len() - 1
    }

    /// Points the rel8 at buffer offset `at` (from [`Asm::short`]) to the
    /// current position.
    pub fn land(&mut self, at: usize) {
        self.buf[at] = i8::try_from(self.buf.len() - at - 1).expect("short jump") as u8;
    }

    /// Retargets the rel32 field at buffer offset `at` to `target`.
    pub fn set_rel32(&mut self, at: usize, target: u64) {
        let field_end = self.base + at as u64 + 4;
        let rel = i32::try_from(target.wrapping_sub(field_end) as i64).expect("rel32 reach");
        self.buf[at..at + 4].copy_from_slice(&rel.to_le_bytes());
    }

    /// Encodes `insn`, whose memory operand's displacement is the 32-bit
    /// value `kind` says, at the current address.
    pub fn insn_disp(&mut self, insn: &Instruction, kind: RelocKind) -> Result<(), iced_x86::IcedError> {
        let at = self.buf.len();
        self.insn(insn)?;
        let c = Self::encoder(&mut self.enc).get_constant_offsets();
        debug_assert_eq!(c.displacement_size(), 4, "a 32-bit displacement");
        self.reloc(at + c.displacement_offset(), kind);
        Ok(())
    }

    /// Encodes `insn` at the current address.
    pub fn insn(&mut self, insn: &Instruction) -> Result<(), iced_x86::IcedError> {
        let ip = self.here();
        let enc = Self::encoder(&mut self.enc);
        let r = enc.encode(insn, ip);
        let mut out = enc.take_buffer();
        if let Err(e) = r {
            // A failed encode may leave partial bytes behind.
            out.clear();
            enc.set_buffer(out);
            return Err(e);
        }
        self.buf.extend_from_slice(&out);
        out.clear();
        enc.set_buffer(out);
        Ok(())
    }

    /// Encodes `insn`, whose memory operand is RIP-relative, at the current
    /// address if its target is within rel32 reach; false (nothing emitted)
    /// otherwise. A target clearly out of reach is not tried: iced reports
    /// that by formatting an error message, which cost a tenth of all
    /// translation time when most guest code sits more than 2 GiB from the
    /// code cache (every dynamically linked program).
    pub fn rip_rel(&mut self, insn: &Instruction) -> bool {
        const REACH: i64 = i32::MAX as i64 - 64;
        let distance = insn.ip_rel_memory_address().wrapping_sub(self.here()) as i64;
        if !(-REACH..REACH).contains(&distance) {
            return false;
        }
        let len_before = self.buf.len();
        if self.insn_disp(insn, RelocKind::GuestRel32).is_ok() {
            return true;
        }
        self.buf.truncate(len_before);
        false
    }

    /// Pads with `int3` up to an 8-byte aligned address (literals are
    /// loaded with 8-byte accesses, which fault under EFLAGS.AC when
    /// misaligned; blocks start anywhere).
    pub fn align8(&mut self) {
        while !self.here().is_multiple_of(8) {
            self.buf.push(0xcc);
        }
    }
}
