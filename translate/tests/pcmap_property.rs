//! Property: every host pc inside an emitted block maps, through the block's
//! pc map, to a guest state the guest could restart from.
//!
//! The checker walks every path through the block's host code with an
//! abstract state: where each guest register's value is (its own host
//! register, a `CpuState` scratch slot, or lost), which guest instruction
//! is next, and what `next_rip` holds. At each host instruction the pc map
//! entry must name exactly that: the guest pc of the next instruction whose
//! side effects have not happened (or, inside the indirect-branch lookup,
//! "at the target in rdx" with the branch's effects all done), and for every guest
//! register the place that really holds its value. Paths start at the
//! block's entry and at its lookup entry (guest rcx and rdx in scratch
//! slots 1 and 2, as a lookup hit leaves them). Blocks are the golden
//! cases plus 20,000 pseudo-random ones from instruction templates (every
//! op kind and operand rewrite, guest addresses in and out of rel32 reach
//! and at a page end), plus 6,000 blocks of random VEX/EVEX instructions
//! (gathers and scatters among them) with RIP-relative and FS/GS operands,
//! whose host copies are also checked to mean what the guest's meant.

mod common;

use iced_x86::{
    Code, Encoder, FlowControl, Instruction, InstructionInfoFactory, MemoryOperand, OpAccess, OpKind,
    Register,
};
use tern_translate::baseline::Emitted;
use tern_translate::cache::{PcEntry, AT_TARGET, MID_BRANCH, TARGET_REG};
use tern_translate::cpu::{off, RCX, RDX, RSP};
use tern_translate::ir::{IrBlock, Op};
use tern_translate::CpuModel;

/// What a host register or scratch slot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val {
    /// Guest register `n` as it is before the next guest instruction.
    Guest(u8),
    /// Guest register `n` after the current (branch) instruction.
    After(u8),
    /// The target of the current indirect branch.
    Target,
    /// Anything else.
    Temp,
}

#[derive(Clone, Debug)]
struct State {
    loc: [Val; 16],
    slot: [Val; 8],
    next_rip: Val,
    /// Index in the IR of the next guest instruction whose effects have not
    /// all happened.
    done: usize,
    /// The guest copy of a `loop` has run.
    copied: bool,
    /// Host rsp minus the guest rsp before the next guest instruction,
    /// while host rsp holds a value derived from the guest's.
    rsp_off: i64,
}

fn gpr_num(r: Register) -> Option<u8> {
    let f = r.full_register();
    f.is_gpr64().then(|| (f.number() - Register::RAX.number()) as u8)
}

fn accesses(insn: &Instruction) -> Vec<(u8, OpAccess)> {
    let mut f = InstructionInfoFactory::new();
    f.info(insn)
        .used_registers()
        .iter()
        .filter_map(|u| gpr_num(u.register()).map(|n| (n, u.access())))
        .collect()
}

/// The GPRs the instruction writes whole (a 32- or 64-bit destination)
/// without reading them: their old values need not be in place.
fn whole_writes(insn: &Instruction) -> Vec<u8> {
    let mut f = InstructionInfoFactory::new();
    let used = f.info(insn).used_registers().to_vec();
    let address = [insn.memory_base(), insn.memory_index()].map(gpr_num);
    used.iter()
        .filter(|u| u.access() == OpAccess::Write && (u.register().is_gpr32() || u.register().is_gpr64()))
        .filter_map(|u| gpr_num(u.register()))
        .filter(|&r| {
            !address.contains(&Some(r))
                && !used.iter().any(|o| gpr_num(o.register()) == Some(r) && o.access() != OpAccess::Write)
        })
        .collect()
}

fn writes(a: OpAccess) -> bool {
    matches!(a, OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite)
}

/// The guest instruction at IR index `i`, decoded from the block's bytes.
fn guest_insn(ir: &IrBlock, i: usize) -> Option<Instruction> {
    let ins = ir.insns.get(i)?;
    if ins.len == 0 {
        return None;
    }
    let d = common::decode_all(ir.bytes_of(ins), ins.pc);
    d.first().copied()
}

fn scratch_slot(d: u64) -> Option<usize> {
    let d = d as usize;
    (off::SCRATCH..off::SCRATCH + 64).contains(&d).then(|| (d - off::SCRATCH) / 8)
}

/// Checks the pc map of one emitted block; Err names the first host pc
/// whose entry is wrong.
fn check_block(ir: &IrBlock, em: &Emitted, host: u64) -> Result<(), String> {
    let insns = common::decode_all(&em.code[..em.insn_len], host);
    let at: std::collections::HashMap<usize, usize> =
        insns.iter().enumerate().map(|(k, i)| ((i.ip() - host) as usize, k)).collect();
    let mut visited = vec![false; insns.len()];
    let init = State {
        loc: std::array::from_fn(|g| Val::Guest(g as u8)),
        slot: [Val::Temp; 8],
        next_rip: Val::Temp,
        done: 0,
        copied: false,
        rsp_off: 0,
    };
    // A lookup hit enters with guest rcx and rdx in their slots.
    let mut lookup = init.clone();
    lookup.loc[RCX] = Val::Temp;
    lookup.loc[RDX] = Val::Temp;
    lookup.slot[1] = Val::Guest(RCX as u8);
    lookup.slot[2] = Val::Guest(RDX as u8);
    let mut work = vec![(em.ibl_entry, lookup.clone()), (em.entry, init)];
    while let Some((start_off, mut st)) = work.pop() {
        let mut k = *at
            .get(&start_off)
            .ok_or(format!("jump into the middle of an instruction at +{start_off:#x}"))?;
        loop {
            let insn = &insns[k];
            let h = (insn.ip() - host) as usize;
            visited[k] = true;
            let fail = |why: String| Err(format!("host +{h:#x} ({insn}): {why}"));
            let e: PcEntry = match common::entry_at(&em.pcmap, h) {
                Some(e) => e,
                None => return fail("no pc-map entry".into()),
            };
            let cur = ir.insns.get(st.done);
            let cur_guest = guest_insn(ir, st.done);
            // The state the entry names.
            let written: Vec<u8> = cur_guest
                .as_ref()
                .map(|g| accesses(g).into_iter().filter(|(_, a)| writes(*a)).map(|(r, _)| r).collect())
                .unwrap_or_default();
            let expect = |g: u8| -> Val {
                if e.guest_off == AT_TARGET && written.contains(&g) && usize::from(g) != RSP {
                    Val::After(g)
                } else {
                    Val::Guest(g)
                }
            };
            match e.guest_off {
                MID_BRANCH => return fail("mid-branch: no restartable state".into()),
                AT_TARGET => {
                    if !matches!(
                        cur.map(|c| &c.op),
                        Some(Op::Ret { .. } | Op::CallInd { .. } | Op::JmpInd { .. })
                    ) {
                        return fail("at the target outside an indirect branch".into());
                    }
                    if st.loc[TARGET_REG] != Val::Target {
                        return fail(format!("at the target, but rdx holds {:?}", st.loc[TARGET_REG]));
                    }
                }
                o => {
                    let pc = ir.start + u64::from(o);
                    let want = cur.map(|c| c.pc);
                    if Some(pc) != want {
                        return fail(format!("names guest {pc:#x}, next unexecuted is {want:x?}"));
                    }
                }
            }
            let fix: Vec<(usize, usize)> = e.fixups().collect();
            // How far the guest rsp the entry names is from the one before
            // the current instruction: 0, or its effect at the target.
            let rsp_want = if e.guest_off == AT_TARGET {
                match cur.map(|c| &c.op) {
                    Some(Op::Ret { pop }) => 8 + i64::from(*pop),
                    Some(Op::CallInd { .. }) => -8,
                    _ => 0,
                }
            } else {
                0
            };
            for g in 0..16u8 {
                let have = match fix.iter().find(|(r, _)| *r == usize::from(g)) {
                    Some((_, s)) => st.slot[*s],
                    None if usize::from(g) == RSP => match st.loc[RSP] {
                        Val::Guest(r) if r == RSP as u8 => {
                            if st.rsp_off + i64::from(e.rsp_adj) != rsp_want {
                                return fail(format!(
                                    "host rsp is guest rsp {:+} and the map adds {}, guest rsp should be {rsp_want:+}",
                                    st.rsp_off, e.rsp_adj
                                ));
                            }
                            expect(g)
                        }
                        v => v,
                    },
                    None => st.loc[usize::from(g)],
                };
                if have != expect(g) {
                    return fail(format!(
                        "guest {} should be {:?} where the map says ({:?}), holds {have:?}",
                        tern_translate::cpu::REG_NAMES[usize::from(g)],
                        expect(g),
                        fix
                    ));
                }
            }
            // Transfer.
            let is_cpu_state = insn.segment_prefix() == Register::GS
                && (0..insn.op_count()).any(|i| insn.op_kind(i) == OpKind::Memory);
            let guest_copy = match (cur.map(|c| &c.op), cur_guest.as_ref()) {
                (Some(Op::Native { .. }), Some(g)) => {
                    !is_cpu_state && (g.code() == insn.code() || lea_as_mov(g, insn))
                }
                (Some(Op::Loop { .. }), Some(g)) => !st.copied && g.code() == insn.code(),
                _ => false,
            };
            if is_cpu_state {
                let d = insn.memory_displacement64();
                match (insn.code(), insn.op0_kind()) {
                    (Code::Mov_rm64_r64, OpKind::Memory) => {
                        let v = st.loc[usize::from(gpr_num(insn.op1_register()).unwrap())];
                        if let Some(s) = scratch_slot(d) {
                            st.slot[s] = v;
                        } else if d as usize == off::NEXT_RIP {
                            st.next_rip = v;
                        }
                    }
                    (Code::Mov_r64_rm64, OpKind::Register) => {
                        let r = usize::from(gpr_num(insn.op0_register()).unwrap());
                        st.loc[r] = match scratch_slot(d) {
                            Some(s) => st.slot[s],
                            None if d as usize == off::NEXT_RIP => st.next_rip,
                            None => Val::Temp,
                        };
                    }
                    _ => {
                        for (r, a) in accesses(insn) {
                            if writes(a) {
                                st.loc[usize::from(r)] = Val::Temp;
                            }
                        }
                    }
                }
            } else if guest_copy {
                let op = &cur.unwrap().op;
                let fixed = matches!(op, Op::Native { fix, .. } if *fix != tern_translate::ir::MemFix::None);
                // maskmovq/(v)maskmovdqu address fs:[rdi] implicitly.
                let rdi =
                    if insn.op0_kind() == OpKind::MemorySegRDI { Register::RDI } else { Register::None };
                let addr_regs = [insn.memory_base(), insn.memory_index(), rdi];
                let whole = whole_writes(insn);
                for (r, _) in accesses(insn) {
                    let is_addr = addr_regs.iter().any(|a| gpr_num(*a) == Some(r));
                    if (fixed && is_addr) || whole.contains(&r) {
                        continue;
                    }
                    if st.loc[usize::from(r)] != Val::Guest(r) {
                        return fail(format!(
                            "the guest instruction runs without guest register {r} in place"
                        ));
                    }
                }
                let w: Vec<u8> =
                    accesses(insn).into_iter().filter(|(_, a)| writes(*a)).map(|(r, _)| r).collect();
                if matches!(op, Op::Loop { .. }) {
                    st.copied = true;
                    for r in w {
                        st.loc[usize::from(r)] = Val::Temp;
                    }
                } else {
                    for r in w {
                        for s in st.slot.iter_mut() {
                            if *s == Val::Guest(r) {
                                *s = Val::Temp;
                            }
                        }
                    }
                    // A register written whole holds its new value wherever
                    // the old one was.
                    for r in whole {
                        st.loc[usize::from(r)] = Val::Guest(r);
                    }
                    st.done += 1;
                }
            } else {
                let rsp = RSP as u8;
                let moves_rsp = insn.code() == Code::Pushq_imm32
                    || insn.code() == Code::Push_rm64
                    || (insn.code() == Code::Lea_r64_m && insn.op0_register() == Register::RSP);
                if moves_rsp {
                    if st.loc[RSP] == Val::Guest(rsp) {
                        st.rsp_off += match insn.code() {
                            Code::Lea_r64_m => insn.memory_displacement64() as i64,
                            _ => -8,
                        };
                    } else {
                        st.loc[RSP] = Val::Temp;
                    }
                } else {
                    let indirect = matches!(
                        cur.map(|c| &c.op),
                        Some(Op::Ret { .. } | Op::CallInd { .. } | Op::JmpInd { .. })
                    );
                    for (r, a) in accesses(insn) {
                        if writes(a) && r != rsp {
                            let target =
                                indirect && usize::from(r) == TARGET_REG && insn.code() == Code::Mov_r64_rm64;
                            st.loc[usize::from(r)] = if target { Val::Target } else { Val::Temp };
                        }
                    }
                }
            }
            // Successors.
            let inside =
                |t: u64| (host..host + em.code.len() as u64).contains(&t).then(|| (t - host) as usize);
            match insn.flow_control() {
                FlowControl::Next => {}
                FlowControl::UnconditionalBranch => match inside(insn.near_branch_target()) {
                    Some(t) => {
                        k = *at.get(&t).ok_or(format!("jump into an instruction at +{t:#x}"))?;
                        continue;
                    }
                    None => break,
                },
                FlowControl::ConditionalBranch => {
                    if let Some(t) = inside(insn.near_branch_target()) {
                        work.push((t, st.clone()));
                    }
                    // A guest jcc's host jcc: its fall-through path is the
                    // next guest instruction, in the same block.
                    if matches!(cur.map(|c| &c.op), Some(Op::Jcc { .. }))
                        && !matches!(insn.code(), Code::Jrcxz_rel8_64 | Code::Jecxz_rel8_64)
                    {
                        st.done += 1;
                    }
                }
                _ => break,
            }
            k += 1;
            if k >= insns.len() {
                break;
            }
        }
    }
    if let Some(k) = visited.iter().position(|v| !v) {
        return Err(format!(
            "host +{:#x} ({}) is never reached by the checker",
            insns[k].ip() - host,
            insns[k]
        ));
    }
    Ok(())
}

const HOST: u64 = 0x7f00_0010_0000;

fn golden_blocks() -> Vec<(String, u64, bool, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let (mut guest, mut host_code, mut bytes) = (0x40_1000u64, false, Vec::new());
        for line in text.lines().take_while(|l| *l != "----") {
            if line.trim() == "host_code" {
                host_code = true;
            } else if let Some(g) = line.strip_prefix("guest 0x") {
                guest = u64::from_str_radix(g, 16).unwrap();
            } else if let Some(b) = line.strip_prefix("bytes ") {
                bytes.extend(b.split_whitespace().map(|x| u8::from_str_radix(x, 16).unwrap()));
            }
        }
        v.push((e.path().display().to_string(), guest, host_code, bytes));
    }
    v
}

/// A far RIP-relative `lea r64` is emitted as `mov r64, imm64` of its
/// address: that is the guest instruction's copy.
fn lea_as_mov(guest: &Instruction, host: &Instruction) -> bool {
    guest.code() == Code::Lea_r64_m
        && guest.is_ip_rel_memory_operand()
        && host.code() == Code::Mov_r64_imm64
        && host.op0_register() == guest.op0_register()
        && host.immediate64() == guest.ip_rel_memory_address()
}

#[test]
fn every_host_pc_of_the_golden_blocks_is_restartable() {
    let cases = golden_blocks();
    assert!(cases.len() >= 20);
    for (name, guest, host_code, bytes) in cases {
        let (ir, em) = common::translate_code(CpuModel::V2, host_code, guest, HOST, &bytes);
        check_block(&ir, &em, HOST)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", common::dump(&ir, &em, HOST)));
    }
}

/// xorshift64*: a fixed sequence, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[(self.next() % v.len() as u64) as usize]
    }
}

const GPRS: [Register; 16] = tern_translate::cpu::GPR_REGISTERS;

/// One random body instruction at `ip`.
fn body_insn(r: &mut Rng, ip: u64) -> Instruction {
    let a = r.pick(&GPRS);
    let b = r.pick(&GPRS[..4]);
    let c = r.pick(&[Register::RSI, Register::RDI, Register::R9, Register::RBX]);
    let disp = (r.next() % 0x4000) as i64 - 0x2000;
    let mem = |base: Register, index: Register, seg: Register| {
        MemoryOperand::new(base, index, if index == Register::None { 1 } else { 4 }, disp, 1, false, seg)
    };
    let rip = MemoryOperand::with_base_displ(Register::RIP, ip as i64 + disp + 0x40);
    let seg = r.pick(&[Register::None, Register::FS, Register::GS]);
    let choice = r.next() % 16;
    let i = match choice {
        0 => Instruction::with2(Code::Add_rm64_r64, a, b),
        1 => Instruction::with2(Code::Mov_r64_rm64, a, mem(b, Register::None, seg)),
        2 => Instruction::with2(Code::Mov_rm32_r32, mem(c, b, seg), Register::EDX),
        3 => Instruction::with2(Code::Mov_r64_rm64, a, rip),
        4 => Instruction::with2(Code::Lea_r64_m, a, rip),
        5 => Instruction::with2(
            Code::Cmp_rm8_imm8,
            MemoryOperand::with_base_displ(Register::RIP, ip as i64 + disp),
            0,
        ),
        6 => Instruction::with1(Code::Push_r64, a),
        7 => Instruction::with1(Code::Pop_r64, a),
        8 => Instruction::with2(Code::Add_rm64_r64, mem(c, Register::None, seg), b),
        9 => Instruction::with3(Code::Imul_r64_rm64_imm32, a, b, 7),
        10 => Instruction::with2(Code::Cmpxchg_rm64_r64, mem(c, Register::None, seg), b),
        11 => Instruction::with1(Code::Div_rm64, mem(c, b, seg)),
        12 => Instruction::with2(Code::Xchg_rm64_r64, mem(Register::RAX, Register::RCX, seg), c),
        13 => Instruction::with2(Code::Mov_rm64_r64, mem(Register::None, Register::None, seg), a),
        14 => Instruction::with2(Code::Inc_rm64, mem(Register::RSP, Register::None, seg), 0)
            .or_else(|_| Instruction::with1(Code::Inc_rm64, a)),
        _ => Instruction::with2(Code::Mov_r32_rm32, Register::EAX, mem(c, Register::None, seg)),
    };
    i.unwrap_or_else(|_| Instruction::with1(Code::Inc_rm64, a).unwrap())
}

/// One random block terminator at `ip`.
fn terminator(r: &mut Rng, ip: u64) -> Option<Instruction> {
    let a = r.pick(&GPRS);
    let near = ip.wrapping_add(r.next() % 0x1000).wrapping_sub(0x800);
    let seg = r.pick(&[Register::None, Register::FS, Register::GS]);
    let m = MemoryOperand::new(
        r.pick(&[Register::RAX, Register::RBX, Register::RSP, Register::RCX, Register::RDX]),
        Register::None,
        1,
        8,
        1,
        false,
        seg,
    );
    let ripm = MemoryOperand::with_base_displ(Register::RIP, (ip + 0x3000) as i64);
    let i = match r.next() % 22 {
        0 => Instruction::with_branch(Code::Jmp_rel32_64, near),
        1 => Instruction::with_branch(Code::Jne_rel32_64, near),
        2 => Instruction::with_branch(Code::Call_rel32_64, near),
        3 => Instruction::with1(Code::Call_rm64, a),
        4 => Instruction::with1(Code::Call_rm64, m),
        5 => Instruction::with1(Code::Jmp_rm64, a),
        6 => Instruction::with1(Code::Jmp_rm64, ripm),
        7 => Ok(Instruction::with(Code::Retnq)),
        8 => Instruction::with1(Code::Retnq_imm16, 16),
        9 => Instruction::with_branch(Code::Loop_rel8_64_RCX, ip.wrapping_sub(0x10)),
        10 => Instruction::with_branch(Code::Loope_rel8_64_RCX, ip + 0x30),
        11 => Instruction::with_branch(Code::Loopne_rel8_64_RCX, ip + 0x30),
        12 => Instruction::with_branch(Code::Jrcxz_rel8_64, ip + 0x30),
        13 => Instruction::with_branch(Code::Jecxz_rel8_64, ip + 0x30),
        14 => Ok(Instruction::with(Code::Syscall)),
        15 => Ok(Instruction::with(Code::Cpuid)),
        16 => Ok(Instruction::with(Code::Ud2)),
        17 => Ok(Instruction::with(Code::Int3)),
        18 => Instruction::with2(Code::Mov_Sreg_r32m16, Register::GS, Register::EAX),
        19 => Instruction::with2(Code::Mov_r32m16_Sreg, Register::EAX, Register::FS),
        20 => Instruction::with1(Code::Call_rm64, ripm),
        _ => return None,
    };
    i.ok()
}

#[test]
fn every_host_pc_of_random_blocks_is_restartable() {
    let mut r = Rng(0x7465_726e_2d70_636d);
    let mut checked = 0;
    let mut predicted = 0;
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for n in 0..20000 {
        let guest = r.pick(&[0x40_1000u64, 0x7f00_0020_0000, 0x40_1fc0]) + (r.next() % 0x40);
        let mut enc = Encoder::new(64);
        let mut bytes = Vec::new();
        let count = r.next() % 8;
        for _ in 0..count {
            let ip = guest + bytes.len() as u64;
            let i = body_insn(&mut r, ip);
            if enc.encode(&i, ip).is_ok() {
                bytes.extend(enc.take_buffer());
            }
        }
        let ip = guest + bytes.len() as u64;
        if let Some(t) = terminator(&mut r, ip) {
            if enc.encode(&t, ip).is_ok() {
                bytes.extend(enc.take_buffer());
            }
        }
        if bytes.is_empty() {
            continue;
        }
        let (ir, em) = common::translate(CpuModel::V2, guest, HOST, &bytes);
        check_block(&ir, &em, HOST).unwrap_or_else(|e| {
            panic!("random block {n} at {guest:#x}: {e}\n{}", common::dump(&ir, &em, HOST))
        });
        checked += 1;
        if matches!(ir.insns.last().map(|i| &i.op), Some(Op::JmpInd { .. } | Op::CallInd { .. })) {
            // With a target predicted at translation (a GOT slot's).
            let mut p = ir.clone();
            p.predicted = Some(0x7f12_3456_0000 ^ (r.next() & 0xffff_fff0));
            let em = common::emit(&p, HOST);
            check_block(&p, &em, HOST).unwrap_or_else(|e| {
                panic!("random block {n} at {guest:#x}, predicted: {e}\n{}", common::dump(&p, &em, HOST))
            });
            predicted += 1;
        }
        for i in &ir.insns {
            let k = match &i.op {
                Op::Native { fix, .. } => format!("native {fix:?}"),
                other => format!("{other:?}").split([' ', '{']).next().unwrap_or("").to_string(),
            };
            *kinds.entry(k).or_default() += 1;
        }
    }
    assert!(checked > 17000, "{checked}");
    assert!(predicted > 1000, "{predicted}");
    // The generator reaches every kind of op and operand rewrite.
    for k in [
        "native None",
        "native RipRel",
        "native Fs",
        "native Gs",
        "Jmp",
        "Jcc",
        "Loop",
        "Call",
        "CallInd",
        "JmpInd",
        "Ret",
        "Syscall",
        "Cpuid",
        "Trap",
        "Emulate",
        "Fallthrough",
    ] {
        assert!(kinds.get(k).copied().unwrap_or(0) >= 20, "{k}: {kinds:?}");
    }
}

/// The checker catches the bug it was written for: the entry after a
/// `loop` saying "before the loop" with rcx in its own register (rcx
/// already decremented there).
#[test]
fn the_checker_rejects_a_loop_without_its_saved_rcx() {
    let guest = 0x40_1000;
    let (ir, mut em) = common::translate(CpuModel::V2, guest, HOST, &[0xe2, 0xee]);
    check_block(&ir, &em, HOST).unwrap();
    for e in em.pcmap.iter_mut() {
        *e = PcEntry::new(e.host_off, e.guest_off, tern_translate::cache::NO_FIXUP);
    }
    let err = check_block(&ir, &em, HOST).unwrap_err();
    assert!(err.contains("rcx"), "{err}");
}

/// A random VEX (3-byte) or EVEX instruction with a memory operand at `ip`,
/// from random prefix, opcode and ModRM/SIB bytes: with `rip` its operand is
/// RIP-relative, else it has segment prefix `seg` (0 for none). Its bytes.
fn vector_insn(r: &mut Rng, ip: u64, rip: bool, seg: u8) -> Option<(Instruction, Vec<u8>)> {
    for _ in 0..200 {
        let mut b = Vec::new();
        if seg != 0 {
            b.push(seg);
        }
        // A quarter are gathers, scatters and their prefetches (map 2 with
        // a SIB byte: VSIB), which random bytes rarely hit.
        let gather = !rip && r.next().is_multiple_of(4);
        let map = if gather { 2 } else { 1 + (r.next() % 3) as u8 };
        if r.next().is_multiple_of(2) {
            // VEX3: R X B m-mmmm | W vvvv L pp
            b.extend([0xc4, (r.next() as u8 & 0xe0) | map, r.next() as u8]);
        } else {
            // EVEX: R X B R' 0 m m m | W vvvv 1 pp | z L'L b V' aaa
            b.extend([0x62, (r.next() as u8 & 0xf0) | map, (r.next() as u8) | 0x04, r.next() as u8]);
        }
        b.push(if gather {
            r.pick(&[0x90, 0x91, 0x92, 0x93, 0xa0, 0xa1, 0xa2, 0xa3, 0xc6, 0xc7])
        } else {
            r.next() as u8
        });
        let reg = (r.next() as u8 & 7) << 3;
        if rip {
            b.push(reg | 5);
        } else {
            let md = (r.next() % 3) as u8;
            let rm = if gather { 4 } else { r.pick(&[4u8, 4, 0, 3, 5, 6]) };
            let rm = if md == 0 && rm == 5 { 4 } else { rm };
            b.push(md << 6 | reg | rm);
            if rm == 4 {
                b.push(r.next() as u8);
            }
        }
        b.extend((r.next() as u32).to_le_bytes());
        b.extend((r.next() as u16).to_le_bytes());
        let i = common::decode_all(&b, ip).into_iter().next()?;
        let mem = (0..i.op_count()).any(|k| i.op_kind(k) == OpKind::Memory);
        let vex = matches!(i.encoding(), iced_x86::EncodingKind::VEX | iced_x86::EncodingKind::EVEX);
        if !i.is_invalid() && mem && vex && i.is_ip_rel_memory_operand() == rip {
            b.truncate(i.len());
            return Some((i, b));
        }
    }
    None
}

/// Checks that the host code of `ir`'s native VEX/EVEX instructions means
/// what the guest's meant: the same instruction (operands, opmask, zeroing,
/// broadcast, rounding, immediate), with its memory operand at the same
/// guest address: RIP-relative to the same target, an absolute disp32 of
/// it, or a scratch register that holds it (`mov s, imm64`) or holds the
/// guest FS/GS base (plus the guest base, `lea s, [b+s]`), the scratch
/// register being one the instruction does not use.
fn check_vector_rewrites(ir: &IrBlock, em: &Emitted, host: u64) -> Result<usize, String> {
    let hi = common::decode_all(&em.code[..em.insn_len], host);
    let mut fmt = iced_x86::IntelFormatter::new();
    let mut text = |i: &Instruction| {
        let mut s = String::new();
        iced_x86::Formatter::format(&mut fmt, i, &mut s);
        s
    };
    let (mut k, mut checked) = (0, 0);
    for (n, ins) in ir.insns.iter().enumerate() {
        let Op::Native { fix, .. } = ins.op else { continue };
        let Some(g) = guest_insn(ir, n) else { continue };
        while k < hi.len() && hi[k].code() != g.code() {
            k += 1;
        }
        let Some(h) = hi.get(k).copied() else {
            return Err(format!("{g}: not in the host code"));
        };
        k += 1;
        let fail = |why: &str| Err(format!("{g} -> {h}: {why}"));
        let mut want = g;
        want.set_segment_prefix(Register::None);
        want.set_memory_base(h.memory_base());
        want.set_memory_index(h.memory_index());
        want.set_memory_displacement64(h.memory_displacement64());
        if text(&want) != text(&h) || h.memory_index_scale() != g.memory_index_scale() {
            return fail("operands differ");
        }
        let s = h.memory_base();
        let used = accesses(&g);
        let s_free = gpr_num(s).is_some_and(|n| used.iter().all(|(r, _)| *r != n))
            && s.full_register() != g.memory_base().full_register()
            && s.full_register() != g.memory_index().full_register();
        let prev = |d: usize| k.checked_sub(1 + d).map(|j| hi[j]);
        use tern_translate::ir::MemFix;
        match fix {
            MemFix::None => {}
            MemFix::RipRel => {
                let target = g.ip_rel_memory_address();
                let ok = if h.is_ip_rel_memory_operand() {
                    h.ip_rel_memory_address() == target
                } else if s == Register::None {
                    h.memory_index() == Register::None && h.memory_displacement64() == target
                } else {
                    let mov = prev(1).filter(|m| m.code() == Code::Mov_r64_imm64 && m.op0_register() == s);
                    s_free && h.memory_displacement64() == 0 && mov.is_some_and(|m| m.immediate64() == target)
                };
                if !ok {
                    return fail("not the guest's RIP-relative target");
                }
            }
            MemFix::Fs | MemFix::Gs => {
                let base_off = if fix == MemFix::Fs { off::FS_BASE } else { off::GS_BASE };
                let gb = g.memory_base();
                let lea = if gb == Register::None { None } else { prev(1) };
                let load = prev(if gb == Register::None { 1 } else { 2 });
                let load_ok = load.is_some_and(|l| {
                    l.code() == Code::Mov_r64_rm64
                        && l.op0_register() == s
                        && l.segment_prefix() == Register::GS
                        && l.memory_displacement64() == base_off as u64
                });
                let lea_ok = gb == Register::None
                    || lea.is_some_and(|l| {
                        l.code() == Code::Lea_r64_m
                            && l.op0_register() == s
                            && l.memory_base() == gb
                            && l.memory_index() == s
                            && l.memory_displacement64() == 0
                    });
                if !(s_free
                    && load_ok
                    && lea_ok
                    && h.memory_index() == g.memory_index()
                    && h.memory_displacement64() == g.memory_displacement64())
                {
                    return fail("not the guest's FS/GS address");
                }
            }
        }
        checked += 1;
    }
    Ok(checked)
}

#[test]
fn vector_operand_rewrites_mean_the_same_and_are_restartable() {
    let mut r = Rng(0x7665_6374_6f72_2d31);
    let (mut checked, mut codes) = (0, std::collections::BTreeSet::new());
    let (mut vsib, mut evex, mut fixes) = (0, 0, std::collections::BTreeMap::<String, usize>::new());
    for n in 0..6000 {
        // Low (absolute disp32), in reach of HOST, far (scratch register).
        let guest = r.pick(&[0x40_1000u64, 0x7f00_0020_0000, 0x5555_5555_5000]) + (r.next() % 0x40);
        let mut bytes = Vec::new();
        for _ in 0..1 + r.next() % 4 {
            let ip = guest + bytes.len() as u64;
            let (rip, seg) = match r.next() % 4 {
                0 => (true, 0),
                1 => (false, 0x65),
                _ => (false, 0x64),
            };
            if let Some((i, b)) = vector_insn(&mut r, ip, rip, seg) {
                codes.insert(i.code());
                vsib += usize::from(i.is_vsib());
                evex += usize::from(i.encoding() == iced_x86::EncodingKind::EVEX);
                bytes.extend(b);
            }
        }
        bytes.push(0xc3);
        let (ir, em) = common::translate_code(CpuModel::V2, true, guest, HOST, &bytes);
        let dump = || common::dump(&ir, &em, HOST);
        check_block(&ir, &em, HOST).unwrap_or_else(|e| panic!("vector block {n}: {e}\n{}", dump()));
        checked += check_vector_rewrites(&ir, &em, HOST)
            .unwrap_or_else(|e| panic!("vector block {n}: {e}\n{}", dump()));
        for i in &ir.insns {
            if let Op::Native { fix, .. } = &i.op {
                *fixes.entry(format!("{fix:?}")).or_default() += 1;
            }
        }
    }
    // Thousands of distinct VEX/EVEX forms, VSIB among them, every rewrite.
    assert!(
        checked > 10000 && codes.len() > 1000 && vsib > 1000 && evex > 3000,
        "{checked} {} {vsib} {evex}",
        codes.len()
    );
    for k in ["RipRel", "Fs", "Gs"] {
        assert!(fixes.get(k).copied().unwrap_or(0) > 1000, "{fixes:?}");
    }
}
