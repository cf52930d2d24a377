//! A stable-Rust smoke run of the ELF parser on random inputs: the
//! cargo-fuzz target in `fuzz/` needs nightly, so CI runs this instead. Any
//! input must give `Ok` or a typed error, never a panic, and an accepted
//! file must satisfy the same invariants as the fuzz target checks. Inputs
//! are real ELF files with a few bytes mutated.

use tern_fuzz_guest::rng::Rng;
use tern_linux_user::loader::elf;

/// Real ELF files to mutate: the fuzz harnesses (static) and this test
/// binary (PIE, dynamic).
/// Each is the first 4 KiB and the real length (the parser reads the head
/// of a file, `elf::parse_head`).
fn seeds() -> Vec<(Vec<u8>, u64)> {
    [tern_fuzz_guest::insn::harness(), std::env::current_exe().unwrap()]
        .iter()
        .map(|p| {
            let mut d = std::fs::read(p).expect("read a seed ELF file");
            let len = d.len() as u64;
            d.truncate(4096);
            (d, len)
        })
        .collect()
}

/// A seed file with a few random bytes, words or the length changed.
fn input(rng: &mut Rng, seeds: &[(Vec<u8>, u64)]) -> (Vec<u8>, u64) {
    let (mut d, mut len) = seeds[rng.index(seeds.len())].clone();
    if rng.chance(10) {
        len = rng.interesting();
    }
    for _ in 0..1 + rng.index(4) {
        // Most mutations hit the ELF and program headers.
        let span = if rng.chance(80) { 64 + 56 * 16 } else { d.len() };
        let i = rng.index(span.min(d.len()));
        match rng.below(3) {
            0 => d[i] = rng.next_u64() as u8,
            1 => {
                let v = rng.interesting().to_le_bytes();
                let n = v.len().min(d.len() - i);
                d[i..i + n].copy_from_slice(&v[..n]);
            }
            _ => d.truncate(i.max(1)),
        }
    }
    (d, len)
}

#[test]
fn elf_parser_survives_random_inputs() {
    let mut rng = Rng::new(0xe1f);
    let seeds = seeds();
    let mut accepted = 0;
    for _ in 0..20_000 {
        let (data, len) = input(&mut rng, &seeds);
        if let Ok(info) = elf::parse_head(&data, len) {
            accepted += 1;
            let (lo, hi) = info.span();
            assert!(lo <= hi);
            for s in &info.segments {
                assert!(s.filesz <= s.memsz);
                assert!(s.offset + s.filesz <= len);
                assert!(s.vaddr + s.memsz <= elf::USER_TOP);
            }
        }
    }
    println!("{accepted} of 20000 inputs accepted");
    assert!(accepted > 100, "the mutations should keep some inputs valid");
}
