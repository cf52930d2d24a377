//! Differential checker for the trace tier: random guest sequences (every
//! encoding form of the lowered mnemonics, loops, forward branches, calls
//! and returns, pushes and pops) run natively and as compiled traces from
//! the same random states; registers, defined flags, rip and memory must
//! agree. Also: precise state after a fault past a store (the sync rule),
//! `exit_request` on a loop, and that a miscompiled trace is caught.

mod gen;
mod native;
mod run;

use gen::{Gen, Item, Rng};
use iced_x86::{Code, Instruction, Register as R};
use run::{check, Cpu, Seq};
use tern_trace::{Compiler, Options};

/// `CHK_SEED=N` runs the families on other random sequences.
fn seed_offset() -> u64 {
    std::env::var("CHK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn compiler(opt_level: u8, host_cpu: bool) -> Compiler {
    Compiler::new(Options {
        opt_level,
        host_cpu,
        dump_ir: std::env::var_os("CHK_IR").is_some(),
        count_insns: false,
        miscompile: false,
    })
    .expect("LLVM")
}

const JCC: [Code; 16] = [
    Code::Jo_rel32_64,
    Code::Jno_rel32_64,
    Code::Jb_rel32_64,
    Code::Jae_rel32_64,
    Code::Je_rel32_64,
    Code::Jne_rel32_64,
    Code::Jbe_rel32_64,
    Code::Ja_rel32_64,
    Code::Js_rel32_64,
    Code::Jns_rel32_64,
    Code::Jp_rel32_64,
    Code::Jnp_rel32_64,
    Code::Jl_rel32_64,
    Code::Jge_rel32_64,
    Code::Jle_rel32_64,
    Code::Jg_rel32_64,
];

fn insn(i: Result<Instruction, iced_x86::IcedError>) -> Item {
    Item::I(i.expect("instruction"))
}

/// Straight-line code.
fn straight(g: &mut Gen) -> Seq {
    let n = 1 + g.rng.below(12);
    g.straight(n);
    Seq { items: std::mem::take(&mut g.items), undef: g.undef, ind_target: None }
}

/// A counted loop (r14) around random code, backward `jnz`.
fn counted_loop(g: &mut Gen) -> Seq {
    g.dest.retain(|&r| r != R::R14);
    let n = g.rng.below(5) as u32 + 1;
    g.items.push(insn(Instruction::with2(Code::Mov_r32_imm32, R::R14D, n)));
    let pre = g.rng.below(3);
    g.straight(pre);
    let l = g.label();
    let mut start_undef = g.undef;
    let keep = g.items.len();
    let body = 1 + g.rng.below(6);
    loop {
        // The body's flags must be defined on the first and later rounds.
        g.items.truncate(keep);
        g.items.push(Item::Label(l));
        g.undef = start_undef;
        g.straight(body);
        let dec = Instruction::with1(Code::Dec_rm32, R::R14D).expect("dec");
        g.track(&dec);
        g.items.push(Item::I(dec));
        g.items.push(Item::Br(Code::Jne_rel32_64, l));
        if g.undef & !start_undef == 0 {
            break;
        }
        start_undef |= g.undef;
    }
    let tail = g.rng.below(3);
    g.straight(tail);
    Seq { items: std::mem::take(&mut g.items), undef: g.undef, ind_target: None }
}

/// A forward conditional branch over random code.
fn forward_branch(g: &mut Gen) -> Seq {
    let pre = 1 + g.rng.below(4);
    g.straight(pre);
    let cc = g.cc();
    let skip = g.label();
    g.items.push(Item::Br(JCC[cc as usize], skip));
    let before = g.undef;
    let region = 1 + g.rng.below(4);
    g.straight(region);
    g.items.push(Item::Label(skip));
    g.undef |= before;
    let tail = g.rng.below(4);
    g.straight(tail);
    Seq { items: std::mem::take(&mut g.items), undef: g.undef, ind_target: None }
}

/// A direct or indirect call of a random leaf function, then more code.
fn call_ret(g: &mut Gen, leaf_codes: &[Code]) -> Seq {
    let f = g.label();
    let end = g.label();
    let pre = g.rng.below(4);
    g.straight(pre);
    let mut items = std::mem::take(&mut g.items);
    let indirect = g.rng.chance(50);
    if indirect {
        g.dest.retain(|&r| r != R::RAX);
        items.push(Item::MovLabel(R::RAX, f));
        items.push(insn(Instruction::with1(Code::Call_rm64, R::RAX)));
    } else {
        items.push(Item::Br(Code::Call_rel32_64, f));
    }
    // The leaf runs next: no push/pop, no rsp-based operand (its return
    // address is at [rsp]).
    let mut leaf = Gen::new(g.rng, leaf_codes, 30);
    leaf.no_rsp_mem = true;
    leaf.undef = g.undef;
    leaf.dest = g.dest.clone();
    let n = 1 + leaf.rng.below(5);
    leaf.straight(n);
    let leaf_items = std::mem::take(&mut leaf.items);
    g.undef = leaf.undef;
    let mid = g.rng.below(4);
    g.straight(mid);
    items.append(&mut g.items);
    items.push(Item::Br(Code::Jmp_rel32_64, end));
    items.push(Item::Label(f));
    items.extend(leaf_items);
    items.push(insn(Ok(Instruction::with(Code::Retnq))));
    items.push(Item::Label(end));
    Seq { items, undef: g.undef, ind_target: indirect.then_some(f) }
}

/// Divisions (opaque natives that can fault) with divisors and dividends
/// that cannot: rcx in 1..=0x7fff, the high half zero or a sign extension.
fn divide(g: &mut Gen) -> Seq {
    g.dest.retain(|&r| r != R::RCX && r != R::RDX && r != R::RAX);
    let pre = g.rng.below(3);
    g.straight(pre);
    let push = |g: &mut Gen, i: Instruction| {
        g.track(&i);
        g.items.push(Item::I(i));
    };
    push(g, Instruction::with2(Code::And_rm64_imm32, R::RCX, 0x7fff).expect("and"));
    push(g, Instruction::with2(Code::Or_rm64_imm8, R::RCX, 1).expect("or"));
    let (setup, div) = match g.rng.below(6) {
        0 => (
            Instruction::with2(Code::Xor_r32_rm32, R::EDX, R::EDX),
            Instruction::with1(Code::Div_rm64, R::RCX),
        ),
        1 => (
            Instruction::with2(Code::Xor_r32_rm32, R::EDX, R::EDX),
            Instruction::with1(Code::Div_rm32, R::ECX),
        ),
        2 => (
            Instruction::with2(Code::Xor_r32_rm32, R::EDX, R::EDX),
            Instruction::with1(Code::Div_rm16, R::CX),
        ),
        3 => (Ok(Instruction::with(Code::Cqo)), Instruction::with1(Code::Idiv_rm64, R::RCX)),
        4 => (Ok(Instruction::with(Code::Cdq)), Instruction::with1(Code::Idiv_rm32, R::ECX)),
        _ => (Ok(Instruction::with(Code::Cwd)), Instruction::with1(Code::Idiv_rm16, R::CX)),
    };
    push(g, setup.expect("setup"));
    push(g, div.expect("div"));
    let tail = g.rng.below(3);
    g.straight(tail);
    Seq { items: std::mem::take(&mut g.items), undef: g.undef, ind_target: None }
}

/// `rep movsb`, `rep stosq`, `lock xadd`, `lock cmpxchg` (opaque natives
/// on memory) between random instructions.
fn strings_and_locks(g: &mut Gen) -> Seq {
    g.dest.retain(|&r| r != R::RCX);
    let pre = g.rng.below(3);
    g.straight(pre);
    for _ in 0..1 + g.rng.below(3) {
        let count = Instruction::with2(Code::And_rm64_imm8, R::RCX, 63).expect("and");
        g.track(&count);
        g.items.push(Item::I(count));
        let raw: &[u8] = match g.rng.below(4) {
            0 => &[0xf3, 0xa4],             // rep movsb
            1 => &[0xf3, 0x48, 0xab],       // rep stosq
            2 => &[0xf0, 0x0f, 0xc1, 0x06], // lock xadd [rsi], eax
            _ => &[0xf0, 0x0f, 0xb1, 0x0f], // lock cmpxchg [rdi], ecx
        };
        let i = iced_x86::Decoder::new(64, raw, 0).decode();
        g.track(&i);
        g.items.push(Item::Raw(raw.to_vec()));
        let n = g.rng.below(3);
        g.straight(n);
    }
    Seq { items: std::mem::take(&mut g.items), undef: g.undef, ind_target: None }
}

/// Runs `seqs` sequences from `make` with `inputs` states each, as whole
/// traces.
fn family(
    name: &str,
    seed: u64,
    seqs: usize,
    inputs: usize,
    mem_pct: u64,
    codes: &[Code],
    make: &dyn Fn(&mut Gen) -> Seq,
) {
    family_split(name, seed, seqs, inputs, mem_pct, codes, make, usize::MAX)
}

/// [`family`] with traces of at most `max_blocks` blocks.
#[allow(clippy::too_many_arguments)]
fn family_split(
    name: &str,
    seed: u64,
    seqs: usize,
    inputs: usize,
    mem_pct: u64,
    codes: &[Code],
    make: &dyn Fn(&mut Gen) -> Seq,
    max_blocks: usize,
) {
    let mut c = compiler(2, true);
    let mut rng = Rng(seed ^ seed_offset());
    let (mut cases, mut ms, mut lowered) = (0, 0.0, 0);
    for k in 0..seqs {
        let seq = {
            let mut g = Gen::new(&mut rng, codes, mem_pct);
            make(&mut g)
        };
        if std::env::var_os("CHK_DEBUG").is_some() {
            eprintln!("{name} seq {k}: {} items", seq.items.len());
        }
        match run::check_split(&mut c, &seq, &mut rng, inputs, false, max_blocks) {
            Ok(s) => {
                cases += s.cases;
                ms += s.compile_ms;
                lowered += s.lowered;
            }
            Err(e) => panic!("{name}: sequence {k}: {e}"),
        }
    }
    eprintln!(
        "{name}: {cases} cases, {seqs} traces, {lowered} instructions lowered, {:.2} ms compiling per sequence",
        ms / seqs as f64
    );
}

#[test]
fn alu_registers() {
    let codes = gen::codes();
    family("alu_registers", 1, 40, 8, 0, &codes, &straight);
}

#[test]
fn alu_memory() {
    let codes = gen::codes();
    family("alu_memory", 2, 40, 8, 60, &codes, &straight);
}

#[test]
fn push_pop() {
    let all = gen::codes();
    let stack: Vec<Code> = all
        .iter()
        .copied()
        .filter(|c| matches!(c.mnemonic(), iced_x86::Mnemonic::Push | iced_x86::Mnemonic::Pop))
        .collect();
    let mut codes = all.clone();
    for _ in 0..20 {
        codes.extend(&stack);
    }
    family("push_pop", 3, 40, 8, 40, &codes, &straight);
}

#[test]
fn loops() {
    let codes = gen::codes();
    family("loops", 4, 40, 8, 40, &codes, &counted_loop);
}

#[test]
fn forward_branches() {
    let codes = gen::codes();
    family("forward_branches", 5, 40, 8, 40, &codes, &forward_branch);
}

#[test]
fn calls_and_returns() {
    let codes = gen::codes();
    let leaf: Vec<Code> = codes
        .iter()
        .copied()
        .filter(|c| !matches!(c.mnemonic(), iced_x86::Mnemonic::Push | iced_x86::Mnemonic::Pop))
        .collect();
    family("calls_and_returns", 6, 40, 8, 40, &codes, &|g| call_ret(g, &leaf));
}

#[test]
fn one_block_traces() {
    // Every branch to another block is a side exit; the run goes on with
    // the trace at the exit's pc.
    let codes = gen::codes();
    let leaf: Vec<Code> = codes
        .iter()
        .copied()
        .filter(|c| !matches!(c.mnemonic(), iced_x86::Mnemonic::Push | iced_x86::Mnemonic::Pop))
        .collect();
    family_split("one_block_loops", 13, 20, 8, 40, &codes, &counted_loop, 1);
    family_split("one_block_branches", 14, 20, 8, 40, &codes, &forward_branch, 1);
    family_split("one_block_calls", 15, 20, 8, 40, &codes, &|g| call_ret(g, &leaf), 1);
    family_split("two_block_calls", 16, 20, 8, 40, &codes, &|g| call_ret(g, &leaf), 2);
}

#[test]
fn floating_point() {
    // The SSE floating-point instructions and moves, on inputs that are
    // mostly NaNs, infinities, zeros and denormals, under random MXCSR
    // rounding, FTZ and DAZ: straight code and loops.
    run::fp_inputs(true);
    let fp: Vec<Code> = gen::codes()
        .into_iter()
        .filter(|c| {
            gen::SSE_MNEMONICS.contains(&c.mnemonic()) && !format!("{:?}", c.mnemonic()).starts_with('P')
        })
        .collect();
    family("fp_straight", 17, 160, 12, 40, &fp, &straight);
    family("fp_loops", 18, 30, 8, 40, &fp, &counted_loop);
    run::fp_inputs(false);
}

#[test]
fn divisions() {
    let codes = gen::codes();
    family("divisions", 11, 40, 8, 40, &codes, &divide);
}

#[test]
fn strings_and_locked() {
    // No SSE: the string instructions move rsi off its 16-byte alignment.
    let codes: Vec<Code> =
        gen::codes().into_iter().filter(|c| !gen::SSE_MNEMONICS.contains(&c.mnemonic())).collect();
    family("strings_and_locked", 12, 40, 8, 40, &codes, &strings_and_locks);
}

#[test]
fn opt_level_0_plain_x86_64() {
    let codes = gen::codes();
    let mut c = compiler(0, false);
    let mut rng = Rng(7);
    for k in 0..20 {
        let seq = {
            let mut g = Gen::new(&mut rng, &codes, 40);
            counted_loop(&mut g)
        };
        if let Err(e) = check(&mut c, &seq, &mut rng, 8, false) {
            panic!("sequence {k}: {e}");
        }
    }
}

#[test]
fn miscompile_is_detected() {
    let seq = Seq {
        items: vec![
            insn(Instruction::with2(Code::Add_rm64_r64, R::RAX, R::RBX)),
            insn(Instruction::with2(Code::Sub_rm32_imm8, R::ECX, 3)),
        ],
        undef: 0,
        ind_target: None,
    };
    let mut c = compiler(2, true);
    let mut rng = Rng(8);
    check(&mut c, &seq, &mut rng, 4, false).expect("correct trace");
    let e = check(&mut c, &seq, &mut rng, 4, true).err().expect("the checker must see the miscompiled add");
    assert!(e.contains("rax"), "{e}");
}

/// `items` assembled at the start of a fresh read-write mapping of `len`
/// bytes (a `syscall` after them ends the trace) and compiled as one trace:
/// the mapping and the code.
fn compiled(items: &[Item], len: usize) -> (*mut u8, tern_trace::Compiled) {
    let guest = native::map(len, libc::PROT_READ | libc::PROT_WRITE);
    let base = guest as u64;
    let (mut bytes, _) = gen::assemble(items, base);
    bytes.extend([0x0f, 0x05]);
    let t = run::trace_of(base, &bytes, None);
    (guest, compiler(2, true).compile(&t, false).expect("compile"))
}

#[test]
fn exit_request_leaves_at_loop_head() {
    // l: add rax, 1; jmp l
    let items = vec![
        Item::Label(0),
        insn(Instruction::with2(Code::Add_rm64_imm8, R::RAX, 1)),
        Item::Br(Code::Jmp_rel32_64, 0),
    ];
    let (guest, code) = compiled(&items, 4096);
    let base = guest as u64;
    let f = native::exec_copy(&code.code);
    let mut cpu = Cpu::new();
    cpu.get().regs[0] = 41;
    cpu.get().exit_request.store(1, std::sync::atomic::Ordering::SeqCst);
    let ret = native::call_trace(cpu.ptr(), f as u64);
    assert_eq!(ret, base, "returns at the loop head");
    assert_eq!(cpu.get().rip, base);
    assert_eq!(cpu.get().regs[0], 42, "one round, then the check on the back edge");
    native::unmap(f, code.code.len());
    native::unmap(guest, 4096);
}

/// True if the trace compiled from `items` has a `pushfq`.
fn has_pushfq(items: Vec<Item>) -> bool {
    let (guest, code) = compiled(&items, 4096);
    native::unmap(guest, 4096);
    iced_x86::Decoder::new(64, &code.code, 0).into_iter().any(|i| i.mnemonic() == iced_x86::Mnemonic::Pushfq)
}

#[test]
fn dead_flags_of_opaque_instructions_stay_in() {
    // mul rcx (opaque, writes the flags); then shr rdx, 3 writes them all
    // again: no pushfq. Followed by adc instead, which reads CF: pushfq.
    let mul = || insn(Instruction::with1(Code::Mul_rm64, R::RCX));
    let dead = vec![mul(), insn(Instruction::with2(Code::Shr_rm64_imm8, R::RDX, 3))];
    assert!(!has_pushfq(dead), "flags written again are not taken out");
    let live = vec![mul(), insn(Instruction::with2(Code::Adc_rm64_imm8, R::RDX, 0))];
    assert!(has_pushfq(live), "flags read next are taken out");
    let shift_by_cl = vec![mul(), insn(Instruction::with2(Code::Shr_rm64_CL, R::RDX, R::CL))];
    assert!(has_pushfq(shift_by_cl), "a shift by cl may leave them as they are");
    // Each flag counts, read by a cmov before the shift (PF and SF were
    // missed once: iced-x86's flag bits masked with x86's RFLAGS bits).
    for cmov in [Code::Cmovp_r64_rm64, Code::Cmovs_r64_rm64, Code::Cmovo_r64_rm64, Code::Cmovb_r64_rm64] {
        let read = vec![
            mul(),
            insn(Instruction::with2(cmov, R::RBX, R::RAX)),
            insn(Instruction::with2(Code::Shr_rm64_imm8, R::RDX, 3)),
        ];
        assert!(has_pushfq(read), "{cmov:?} reads the flags of the mul");
    }
}

/// A loop ending in `cmp`/`jne` carries the compare's operands to its
/// next turn, not six computed flags (no `i1` phi at the head: LLVM
/// computed every flag on every turn for the exits inside the loop that
/// read them); an exit in the next turn computes them, exactly.
#[test]
fn flags_of_a_loop_compare_are_carried_lazily() {
    // l: addpd xmm1, [rdi+rax] (misaligned on the second turn: leaves
    // before it); add rax, 8; cmp rax, 64; jne l
    let items = vec![
        Item::Label(0),
        insn(Instruction::with2(
            Code::Addpd_xmm_xmmm128,
            R::XMM1,
            iced_x86::MemoryOperand::with_base_index(R::RDI, R::RAX),
        )),
        insn(Instruction::with2(Code::Add_rm64_imm8, R::RAX, 8)),
        insn(Instruction::with2(Code::Cmp_rm64_imm8, R::RAX, 64)),
        Item::Br(Code::Jne_rel32_64, 0),
    ];
    let guest = native::map(8192, libc::PROT_READ | libc::PROT_WRITE);
    let base = guest as u64;
    let (mut bytes, _) = gen::assemble(&items, base);
    bytes.extend([0x0f, 0x05]);
    let t = run::trace_of(base, &bytes, None);
    let opts = Options { opt_level: 2, host_cpu: true, dump_ir: true, count_insns: false, miscompile: false };
    let code = Compiler::new(opts).expect("LLVM").compile(&t, false).expect("compile");
    let ir = code.llvm_after.clone().unwrap_or_default();
    assert!(!ir.contains("phi i1"), "flags carried as computed bits:\n{ir}");
    let f = native::exec_copy(&code.code);
    let mut cpu = Cpu::new();
    cpu.get().regs[7] = base + 4096;
    cpu.get().rflags = 0x202 | 0x8d5;
    let ret = native::call_trace(cpu.ptr(), f as u64);
    assert_eq!((ret, cpu.get().regs[0]), (base, 8), "leaves at the addpd of the second turn");
    // cmp 8, 64: 8 - 64 = 0x..c8: CF (borrow) and SF; ZF, OF, AF (bit 4
    // of 8 ^ 64 ^ 0xc8 = 0x80) and PF (0xc8 has three ones) clear.
    assert_eq!(cpu.get().rflags & 0x8d5, 0x81, "the flags of the last compare");
    native::unmap(f, code.code.len());
    native::unmap(guest, 8192);
}

#[test]
fn misaligned_sse_operand_leaves_before_it() {
    // add rax, 1; addpd xmm1, [rdi] (rdi misaligned: #GP natively); add rbx, 1
    let items = vec![
        insn(Instruction::with2(Code::Add_rm64_imm8, R::RAX, 1)),
        insn(Instruction::with2(
            Code::Addpd_xmm_xmmm128,
            R::XMM1,
            iced_x86::MemoryOperand::with_base(R::RDI),
        )),
        insn(Instruction::with2(Code::Add_rm64_imm8, R::RBX, 1)),
    ];
    let (guest, code) = compiled(&items, 8192);
    let base = guest as u64;
    let addpd_pc = base + gen::assemble(&items[..1], base).0.len() as u64;
    let f = native::exec_copy(&code.code);
    for (rdi, leaves) in [(base + 4096 + 8, true), (base + 4096, false)] {
        let mut cpu = Cpu::new();
        cpu.get().regs[7] = rdi;
        let ret = native::call_trace(cpu.ptr(), f as u64);
        assert_eq!(cpu.get().regs[0], 1, "the add before it ran");
        match leaves {
            true => {
                assert_eq!((ret, cpu.get().rip), (addpd_pc, addpd_pc), "leaves at the addpd");
                assert_eq!(cpu.get().regs[3], 0, "the add after it did not run");
            }
            false => assert_eq!(cpu.get().regs[3], 1, "aligned: runs through"),
        }
    }
    native::unmap(f, code.code.len());
    native::unmap(guest, 8192);
}

#[test]
fn fault_after_store_leaves_synced_state() {
    native::install_abort_handler();
    // mov [rsi], rax; add rbx, 5; paddd xmm1, xmm2; mov rcx, [rdi] (faults);
    // add rdx, 1; pxor xmm1, xmm1
    let prefix = vec![
        insn(Instruction::with2(Code::Mov_rm64_r64, iced_x86::MemoryOperand::with_base(R::RSI), R::RAX)),
        insn(Instruction::with2(Code::Add_rm64_imm8, R::RBX, 5)),
        insn(Instruction::with2(Code::Paddd_xmm_xmmm128, R::XMM1, R::XMM2)),
    ];
    let mut items = prefix.clone();
    items.push(insn(Instruction::with2(
        Code::Mov_r64_rm64,
        R::RCX,
        iced_x86::MemoryOperand::with_base(R::RDI),
    )));
    items.push(insn(Instruction::with2(Code::Add_rm64_imm8, R::RDX, 1)));
    items.push(insn(Instruction::with2(Code::Pxor_xmm_xmmm128, R::XMM1, R::XMM1)));
    let guest = native::map(8192, libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC);
    let base = guest as u64;
    let (pre_bytes, _) = gen::assemble(&prefix, base);
    let fault_pc = base + pre_bytes.len() as u64;
    let (mut bytes, _) = gen::assemble(&items, base);
    bytes.extend([0x0f, 0x05]);
    let t = run::trace_of(base, &bytes, None);
    let code = compiler(2, true).compile(&t, false).expect("compile");
    let f = native::exec_copy(&code.code);
    let hole = native::map(4096, libc::PROT_NONE);
    let mut buf = vec![0u8; 64];
    let mut rng = Rng(9);
    for _ in 0..50 {
        let mut regs = [0u64; 16];
        regs.iter_mut().for_each(|r| *r = rng.next());
        regs[6] = buf.as_mut_ptr() as u64;
        regs[7] = hole as u64 + rng.below(4000);
        regs[4] = buf.as_mut_ptr() as u64 + 32;
        let rflags = 0x202 | (rng.next() & run::STATUS);
        // Native: the instructions before the faulting one.
        let mut native_bytes = pre_bytes.clone();
        native_bytes.extend(native::back_jump());
        // SAFETY: guest has room for the bytes.
        unsafe { std::ptr::copy_nonoverlapping(native_bytes.as_ptr(), guest, native_bytes.len()) };
        buf.fill(0);
        let mut xmm = [[0u64; 2]; 16];
        xmm.iter_mut().for_each(|x| *x = [rng.next(), rng.next()]);
        let mut nat = native::Nat { regs, rflags, host_rsp: 0, xmm, mxcsr: 0x1f80 };
        native::run(&mut nat, base, 0);
        let nat_mem = buf.clone();
        buf.fill(0);
        let mut cpu = Cpu::new();
        cpu.get().regs = regs;
        cpu.get().rflags = rflags;
        cpu.get().xsave_kind = 1;
        let area = tern_translate::cpu::off::XSAVE;
        // SAFETY: MXCSR in the XSAVE area, inside the CpuState.
        unsafe { (cpu.ptr().add(area + 24) as *mut u32).write_unaligned(0x1f80) };
        for (i, x) in xmm.iter().enumerate() {
            // SAFETY: the XSAVE area's XMM slots, inside the CpuState.
            unsafe { (cpu.ptr().add(area + 160 + 16 * i) as *mut [u64; 2]).write_unaligned(*x) };
        }
        // SAFETY: XSTATE_BV, inside the CpuState.
        unsafe { (cpu.ptr().add(area + 512) as *mut u64).write_unaligned(2) };
        let ret = native::call_trace(cpu.ptr(), f as u64);
        assert_eq!(ret, u64::MAX, "the load faults");
        let (c_rip, c_regs, c_rflags) = (cpu.get().rip, cpu.get().regs, cpu.get().rflags);
        // `*cpu` is the state at an instruction boundary after the store,
        // not later than the fault, from which replay (here: native
        // execution) reaches the state at the fault.
        let k = (1..=prefix.len())
            .find(|&k| base + gen::assemble(&prefix[..k], base).0.len() as u64 == c_rip)
            .unwrap_or_else(|| panic!("rip {c_rip:#x}: a boundary after the store"));
        assert!(c_rip <= fault_pc && k >= 1);
        let mut rep_xmm = [[0u64; 2]; 16];
        for (i, x) in rep_xmm.iter_mut().enumerate() {
            // SAFETY: the XSAVE area's XMM slots, inside the CpuState.
            *x = unsafe { (cpu.ptr().add(area + 160 + 16 * i) as *const [u64; 2]).read_unaligned() };
        }
        let mut rep =
            native::Nat { regs: c_regs, rflags: c_rflags, host_rsp: 0, xmm: rep_xmm, mxcsr: 0x1f80 };
        native::run(&mut rep, c_rip, 0);
        assert_eq!(rep.regs, nat.regs, "registers at the faulting instruction");
        assert_eq!(rep.rflags & run::STATUS, nat.rflags & run::STATUS, "flags at the faulting instruction");
        assert_eq!(buf, nat_mem, "the store before the fault is done");
        assert_eq!(rep.xmm, nat.xmm, "xmm registers at the faulting instruction");
    }
    native::unmap(f, code.code.len());
    native::unmap(hole, 4096);
    native::unmap(guest, 8192);
}

#[test]
fn every_encoding_form() {
    // Each form alone (twice, random operands), register and memory
    // operands, so none is left to chance.
    let codes = gen::codes();
    let mut c = compiler(2, true);
    let mut rng = Rng(10 ^ seed_offset());
    let (mut cases, mut ms) = (0, 0.0);
    for (k, code) in codes.iter().enumerate() {
        for mem_pct in [0, 100] {
            let one = [*code];
            let seq = {
                let mut g = Gen::new(&mut rng, &one, mem_pct);
                g.straight(2);
                Seq { items: std::mem::take(&mut g.items), undef: g.undef, ind_target: None }
            };
            match check(&mut c, &seq, &mut rng, 3, false) {
                Ok(s) => {
                    cases += s.cases;
                    ms += s.compile_ms;
                }
                Err(e) => panic!("form {k} {code:?}: {e}"),
            }
        }
    }
    eprintln!(
        "every_encoding_form: {} forms, {cases} cases, {:.2} ms compiling per sequence",
        codes.len(),
        ms / (2.0 * codes.len() as f64)
    );
}
