//! The guest CPU model: what CPUID reports and which instructions exist.
//!
//! tern advertises a coherent x86-64-v2 model (baseline plus SSE3, SSSE3,
//! SSE4.1, SSE4.2, POPCNT, CX16, LAHF/SAHF), plus AES-NI and PCLMULQDQ which
//! are legacy-SSE encoded and run natively. Anything outside the model
//! (AVX, BMI, FSGSBASE, ...) raises SIGILL in the guest, as on a CPU without it.
//!
//! One table, [`FEATURES`], says everything about a feature: its CPUID bit,
//! its `/proc/cpuinfo` flag, the models that have it and the iced-x86
//! features of the instructions it enables. CPUID leaves 1, 7 and
//! 0x8000_0001, AT_HWCAP, the cpuinfo `flags` line and the instruction check
//! of the lifter are all computed from it, so they cannot disagree.

use iced_x86::CpuidFeature;

/// A named CPU model, selectable with `--cpu`. Models are ordered: a later
/// one has every feature of an earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CpuModel {
    /// x86-64 baseline (SSE2).
    X86_64,
    /// x86-64-v2 (default).
    V2,
}

/// A CPUID output register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuidReg {
    Eax = 0,
    Ebx = 1,
    Ecx = 2,
    Edx = 3,
}

/// Where CPUID reports a feature: leaf (subleaf 0), register, bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuidBit {
    pub leaf: u32,
    pub reg: CpuidReg,
    pub bit: u8,
}

/// One feature of the model.
#[derive(Clone, Copy, Debug)]
pub struct Feature {
    /// Its name in the `flags` line of Linux's `/proc/cpuinfo`
    /// (`arch/x86/include/asm/cpufeatures.h`).
    pub flag: &'static str,
    /// Its CPUID bit; `None` for a flag Linux defines itself (`nopl`,
    /// `constant_tsc`, ...), listed when the host's line has it.
    pub cpuid: Option<CpuidBit>,
    /// The first model that has it.
    pub since: CpuModel,
    /// The iced-x86 features of the instructions it makes valid.
    pub insns: &'static [CpuidFeature],
}

macro_rules! features {
    ($( $flag:literal $loc:tt $since:ident [$($insn:ident),*] ),* $(,)?) => {
        &[$( Feature {
            flag: $flag,
            cpuid: features!(@loc $loc),
            since: CpuModel::$since,
            insns: &[$(CpuidFeature::$insn),*],
        } ),*]
    };
    (@loc (linux)) => { None };
    (@loc ($leaf:literal $reg:ident $bit:literal)) => {
        Some(CpuidBit { leaf: $leaf, reg: CpuidReg::$reg, bit: $bit })
    };
}

/// Every feature a model can have, in the order Linux lists the flags.
/// System features (`vme`, `pae`, `apic`, ...) have no user instructions but
/// are reported as every x86-64 CPU reports them. Left out on purpose: `ht`
/// (leaf 1 EBX's logical processor count is cleared) and `hypervisor`
/// (leaves 0x4000_0000 and up are not answered).
pub const FEATURES: &[Feature] = features![
    // CPUID.1:EDX
    "fpu" (1 Edx 0) X86_64 [FPU, FPU287, FPU387],
    "vme" (1 Edx 1) X86_64 [],
    "de" (1 Edx 2) X86_64 [],
    "pse" (1 Edx 3) X86_64 [],
    "tsc" (1 Edx 4) X86_64 [TSC],
    "msr" (1 Edx 5) X86_64 [],
    "pae" (1 Edx 6) X86_64 [],
    "mce" (1 Edx 7) X86_64 [],
    "cx8" (1 Edx 8) X86_64 [CX8],
    "apic" (1 Edx 9) X86_64 [],
    "sep" (1 Edx 11) X86_64 [],
    "mtrr" (1 Edx 12) X86_64 [],
    "pge" (1 Edx 13) X86_64 [],
    "mca" (1 Edx 14) X86_64 [],
    "cmov" (1 Edx 15) X86_64 [CMOV],
    "pat" (1 Edx 16) X86_64 [],
    "pse36" (1 Edx 17) X86_64 [],
    "clflush" (1 Edx 19) X86_64 [CLFSH],
    "mmx" (1 Edx 23) X86_64 [MMX],
    "fxsr" (1 Edx 24) X86_64 [FXSR],
    "sse" (1 Edx 25) X86_64 [SSE],
    "sse2" (1 Edx 26) X86_64 [SSE2],
    // CPUID.8000_0001:EDX
    "syscall" (0x8000_0001 Edx 11) X86_64 [SYSCALL],
    "nx" (0x8000_0001 Edx 20) X86_64 [],
    "rdtscp" (0x8000_0001 Edx 27) X86_64 [RDTSCP],
    "lm" (0x8000_0001 Edx 29) X86_64 [X64],
    // Linux-defined: true of the host's TSC, or of every x86-64 CPU.
    "constant_tsc" (linux) X86_64 [],
    "rep_good" (linux) X86_64 [],
    "nopl" (linux) X86_64 [MULTIBYTENOP],
    "nonstop_tsc" (linux) X86_64 [],
    "cpuid" (linux) X86_64 [CPUID],
    "tsc_known_freq" (linux) X86_64 [],
    // CPUID.1:ECX
    "pni" (1 Ecx 0) V2 [SSE3],
    "pclmulqdq" (1 Ecx 1) V2 [PCLMULQDQ],
    "ssse3" (1 Ecx 9) V2 [SSSE3],
    "cx16" (1 Ecx 13) V2 [CMPXCHG16B],
    "sse4_1" (1 Ecx 19) V2 [SSE4_1],
    "sse4_2" (1 Ecx 20) V2 [SSE4_2],
    "popcnt" (1 Ecx 23) V2 [POPCNT],
    "aes" (1 Ecx 25) V2 [AES],
    // CPUID.8000_0001:ECX
    "lahf_lm" (0x8000_0001 Ecx 0) V2 [],
    // CPUID.7.0:EBX: only a hint for `rep movsb`.
    "erms" (7 Ebx 9) X86_64 [],
];

/// Instructions every model has that no CPUID bit names: the 8086-486
/// integer set, `pause` (a `rep nop` on older CPUs) and the CET instructions,
/// which are hint NOPs on CPUs without CET (`endbr64`, `rdsspq`, ...).
const ALWAYS: &[CpuidFeature] = &[
    CpuidFeature::INTEL8086,
    CpuidFeature::INTEL186,
    CpuidFeature::INTEL286,
    CpuidFeature::INTEL386,
    CpuidFeature::INTEL486,
    CpuidFeature::PAUSE,
    CpuidFeature::CET_IBT,
    CpuidFeature::CET_SS,
];

/// Highest basic leaf tern answers.
const MAX_BASIC_LEAF: u32 = 7;

impl CpuModel {
    pub const NAMES: &'static [&'static str] = &["x86-64", "x86-64-v2"];
    /// Every model, in order.
    pub const ALL: &'static [CpuModel] = &[CpuModel::X86_64, CpuModel::V2];

    pub fn from_name(s: &str) -> Option<CpuModel> {
        match s {
            "x86-64" | "baseline" | "v1" => Some(CpuModel::X86_64),
            "x86-64-v2" | "v2" | "max" | "default" => Some(CpuModel::V2),
            _ => None,
        }
    }

    /// The rows of [`FEATURES`] this model has.
    pub fn features(self) -> impl Iterator<Item = &'static Feature> {
        FEATURES.iter().filter(move |f| f.since <= self)
    }

    /// True if an instruction needing `f` exists on this model.
    pub fn has(self, f: CpuidFeature) -> bool {
        ALWAYS.contains(&f) || self.features().any(|row| row.insns.contains(&f))
    }

    /// The model's bits of register `reg` of CPUID leaf `leaf` (subleaf 0).
    fn model_bits(self, leaf: u32, reg: CpuidReg) -> u32 {
        self.features()
            .filter_map(|f| f.cpuid)
            .filter(|b| b.leaf == leaf && b.reg == reg)
            .fold(0, |acc, b| acc | 1 << b.bit)
    }

    /// CPUID result `[eax, ebx, ecx, edx]` for `leaf`/`subleaf`. Feature
    /// bits are the model's that the host also has.
    pub fn cpuid(self, leaf: u32, subleaf: u32) -> [u32; 4] {
        let host = host_cpuid;
        let max_ext = host(0x8000_0000, 0)[0].min(0x8000_0008);
        let features = |h: [u32; 4]| {
            let mut r = h;
            for reg in [CpuidReg::Eax, CpuidReg::Ebx, CpuidReg::Ecx, CpuidReg::Edx] {
                r[reg as usize] = h[reg as usize] & self.model_bits(leaf, reg);
            }
            r
        };
        match leaf {
            0 => {
                let h = host(0, 0);
                [MAX_BASIC_LEAF.min(h[0]), h[1], h[2], h[3]]
            }
            1 => {
                let h = host(1, 0);
                let f = features(h);
                // eax: signature; ebx: brand index, CLFLUSH line size and
                // APIC id, without the logical processor count (no `ht`).
                [h[0], h[1] & 0xff00_ffff, f[2], f[3]]
            }
            7 if subleaf == 0 => {
                let f = features(host(7, 0));
                [0, f[1], f[2], f[3]]
            }
            2..=6 => host(leaf, subleaf),
            0x8000_0000 => {
                let h = host(0x8000_0000, 0);
                [max_ext, h[1], h[2], h[3]]
            }
            0x8000_0001 => {
                let h = host(0x8000_0001, 0);
                let f = features(h);
                [h[0], 0, f[2], f[3]]
            }
            l if (0x8000_0002..=max_ext).contains(&l) => host(l, subleaf),
            _ => [0; 4],
        }
    }

    /// AT_HWCAP: CPUID.1:EDX, as Linux reports it on x86.
    pub fn hwcap(self) -> u64 {
        u64::from(self.cpuid(1, 0)[CpuidReg::Edx as usize])
    }

    /// The `flags` value of `/proc/cpuinfo` given the host's (`host_flags`,
    /// the text after the colon): every table flag whose CPUID bit this
    /// model reports ([`CpuModel::cpuid`]), and the Linux-defined ones of
    /// the model that the host lists.
    pub fn cpuinfo_flags(self, host_flags: &str) -> String {
        let host: Vec<&str> = host_flags.split_whitespace().collect();
        let leaves = [1, 7, 0x8000_0001].map(|l| (l, self.cpuid(l, 0)));
        let reported = |b: CpuidBit| {
            leaves
                .iter()
                .find(|(l, _)| *l == b.leaf)
                .is_some_and(|(_, r)| r[b.reg as usize] & (1 << b.bit) != 0)
        };
        let shown = |f: &Feature| match f.cpuid {
            Some(b) => reported(b),
            None => host.contains(&f.flag),
        };
        let flags: Vec<&str> = self.features().filter(|f| shown(f)).map(|f| f.flag).collect();
        flags.join(" ")
    }
}

// STUB (part B, helper `frames`) for `CpuModel::xcr0`, which part A1
// (helper `model`) writes: drop this block when merging A1. Exact for the
// two models this branch has (x87 and SSE only).
impl CpuModel {
    /// The XSAVE state components of the model (its XCR0).
    pub fn xcr0(self) -> u64 {
        crate::xstate::managed() & (crate::xstate::X87 | crate::xstate::SSE)
    }
}

/// The host's CPUID for `leaf`/`subleaf`, asked once per process: under a
/// hypervisor each `cpuid` traps, and a guest's C library asks dozens of
/// times at startup.
fn host_cpuid(leaf: u32, subleaf: u32) -> [u32; 4] {
    use std::sync::Mutex;
    /// `(leaf, subleaf)` and the answer.
    type Answer = ((u32, u32), [u32; 4]);
    static SEEN: Mutex<Vec<Answer>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&(_, r)) = seen.iter().find(|(k, _)| *k == (leaf, subleaf)) {
        return r;
    }
    let r = std::arch::x86_64::__cpuid_count(leaf, subleaf);
    let r = [r.eax, r.ebx, r.ecx, r.edx];
    seen.push(((leaf, subleaf), r));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_bits_are_unique() {
        for (i, a) in FEATURES.iter().enumerate() {
            for b in &FEATURES[i + 1..] {
                assert_ne!(a.flag, b.flag);
                assert!(a.cpuid.is_none() || a.cpuid != b.cpuid, "{} and {} share a bit", a.flag, b.flag);
            }
        }
    }

    #[test]
    fn later_models_have_more() {
        for f in FEATURES {
            for &m in CpuModel::ALL {
                assert_eq!(m.features().any(|g| g.flag == f.flag), m >= f.since);
            }
        }
        assert!(CpuModel::V2.has(CpuidFeature::SSE4_2) && !CpuModel::X86_64.has(CpuidFeature::SSE4_2));
        assert!(CpuModel::X86_64.has(CpuidFeature::SSE2) && !CpuModel::V2.has(CpuidFeature::AVX));
    }

    #[test]
    fn every_bit_is_in_an_answered_leaf() {
        for b in FEATURES.iter().filter_map(|f| f.cpuid) {
            assert!([1, 7, 0x8000_0001].contains(&b.leaf), "{b:?}");
        }
    }

    #[test]
    fn cpuid_reports_only_table_bits() {
        for &m in CpuModel::ALL {
            for (leaf, regs) in [(1, [2, 3]), (7, [1, 2]), (0x8000_0001, [2, 3])] {
                let r = m.cpuid(leaf, 0);
                for reg in regs {
                    for bit in 0..32 {
                        if r[reg] & (1 << bit) != 0 {
                            assert!(
                                m.features().any(|f| f.cpuid.is_some_and(|b| b.leaf == leaf
                                    && b.reg as usize == reg
                                    && u32::from(b.bit) == bit)),
                                "{m:?}: leaf {leaf:#x} reg {reg} bit {bit} is not in the table"
                            );
                        }
                    }
                }
            }
            assert_eq!(m.hwcap(), u64::from(m.cpuid(1, 0)[3]));
        }
    }
}
