//! Fuzzes the ELF parser: any byte string must give `Ok` or a typed error,
//! never a panic, and an accepted file must satisfy the loader's invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_linux_user::loader::elf;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = elf::parse(data) {
        let (lo, hi) = info.span();
        assert!(lo <= hi);
        for s in &info.segments {
            assert!(s.filesz <= s.memsz);
            assert!(s.offset + s.filesz <= data.len() as u64);
            assert!(s.vaddr + s.memsz <= elf::USER_TOP);
        }
    }
});
