//! The guest CPU model: what CPUID reports and which instructions exist.
//!
//! tern offers the x86-64 micro-architecture levels of the psABI and the
//! host's own feature set, as far as the host has them:
//! - `x86-64`: the baseline (SSE2);
//! - `x86-64-v2`: SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT, CX16, LAHF/SAHF (plus
//!   AES-NI and PCLMULQDQ where the host has them);
//! - `x86-64-v3`: AVX, AVX2, FMA, BMI1, BMI2, F16C, LZCNT, MOVBE, XSAVE with
//!   the OS's XSAVE enabled (OSXSAVE), and XSAVEOPT, XSAVEC, XGETBV1 where
//!   the host has them;
//! - `x86-64-v4`: AVX-512 F, BW, CD, DQ, VL;
//! - `host`: every row below the host has: further user-mode extensions
//!   whose instructions tern copies and the host runs as they are (ADX,
//!   RDRAND, RDSEED, SHA, GFNI, VAES, VPCLMULQDQ, the AVX-512 extensions,
//!   AVX-VNNI, MOVDIRI, ...), and FSGSBASE, whose instructions tern emulates
//!   on the guest's bases (`seg.rs`).
//!
//! RTM (TSX) is offered where the host has it, with every transaction
//! aborting at once (`ir::Op::Xbegin`): RTM lets a transaction abort for
//! any reason, so a program must have its fallback path, and glibc picks
//! its `_rtm` string functions (no `vzeroupper` inside a transaction) as
//! it does natively on such a host.
//!
//! Left out on purpose, whatever the host has: HLE (its `xacquire` and
//! `xrelease` prefixes are hints a CPU without HLE ignores, and tern copies
//! them; reporting it would invite lock elision whose transactions would
//! run through tern's own code), WAITPKG (`umwait`/`tpause` waits the watchdog cannot interrupt
//! as a syscall), AMX (its state needs `arch_prctl(ARCH_REQ_XCOMP_PERM)` and
//! is not switched), CET shadow stacks and IBT (tern's returns are not the
//! guest's), MPX, SGX, ENQCMD, UINTR and the Xeon Phi AVX-512 sets.
//! Anything outside the model raises SIGILL in the guest, as on a CPU
//! without it.
//!
//! PKU (`host` only, where the host kernel enabled it): the guest's
//! `rdpkru`/`wrpkru` run on the host's PKRU, which tern does not switch:
//! tern's own memory has key 0, which a guest can only close to itself as
//! well (natively it then faults as it does under tern), and what tern
//! reads of guest memory it reads as the kernel would for it (code with
//! every key opened, `guestmem::read_exec`). Signal handlers start with
//! the kernel's initial PKRU and sigreturn loads the frame's
//! (`tern_signals::frame`).
//!
//! One table, [`FEATURES`], says everything about a feature: its CPUID bit,
//! its `/proc/cpuinfo` flag, the models that have it and the iced-x86
//! features of the instructions it enables. CPUID leaves 1, 7 (subleaves 0
//! and 1), 0xD subleaf 1 and 0x8000_0001, AT_HWCAP/AT_HWCAP2, the cpuinfo
//! `flags` line and the instruction check of the lifter are all computed
//! from it, so they cannot disagree. The XSAVE state components of a model
//! ([`CpuModel::xcr0`]) give CPUID leaf 0xD and what `xgetbv` returns.

use crate::xstate;
use iced_x86::CpuidFeature;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A named CPU model, selectable with `--cpu`. Models are ordered: a later
/// one has every feature of an earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CpuModel {
    /// x86-64 baseline (SSE2).
    X86_64,
    /// x86-64-v2 (SSE4.2, POPCNT, CX16).
    V2,
    /// x86-64-v3 (AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE, XSAVE).
    V3,
    /// x86-64-v4 (AVX-512 F, BW, CD, DQ, VL).
    V4,
    /// Every feature of the table the host has.
    Host,
}

/// A CPUID output register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuidReg {
    Eax = 0,
    Ebx = 1,
    Ecx = 2,
    Edx = 3,
}

/// Where CPUID reports a feature: leaf, subleaf, register, bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuidBit {
    pub leaf: u32,
    pub subleaf: u32,
    pub reg: CpuidReg,
    pub bit: u8,
}

/// One feature of the model.
#[derive(Clone, Copy, Debug)]
pub struct Feature {
    /// Its name in the `flags` line of Linux's `/proc/cpuinfo`
    /// (`arch/x86/include/asm/cpufeatures.h`); "" for a bit Linux does not
    /// list there (OSXSAVE).
    pub flag: &'static str,
    /// Its CPUID bit; `None` for a flag Linux defines itself (`nopl`,
    /// `constant_tsc`, ...), listed when the host's line has it.
    pub cpuid: Option<CpuidBit>,
    /// The first model that has it.
    pub since: CpuModel,
    /// True if a model reports it where the host has it but does not need
    /// it to be selectable (not part of the psABI level: AES-NI in v2,
    /// XSAVEOPT in v3, ...). Rows without instructions (system features,
    /// hints such as `erms`) are never needed either.
    pub optional: bool,
    /// The iced-x86 features of the instructions it makes valid.
    pub insns: &'static [CpuidFeature],
}

macro_rules! features {
    ($( $flag:literal $loc:tt $since:ident $($opt:ident)? [$($insn:ident),*] ),* $(,)?) => {
        &[$( Feature {
            flag: $flag,
            cpuid: features!(@loc $loc),
            since: CpuModel::$since,
            optional: features!(@opt $($opt)?),
            insns: &[$(CpuidFeature::$insn),*],
        } ),*]
    };
    (@opt) => { false };
    (@opt optional) => { true };
    (@loc (linux)) => { None };
    (@loc ($leaf:literal $reg:ident $bit:literal)) => {
        Some(CpuidBit { leaf: $leaf, subleaf: 0, reg: CpuidReg::$reg, bit: $bit })
    };
    (@loc ($leaf:literal . $sub:literal $reg:ident $bit:literal)) => {
        Some(CpuidBit { leaf: $leaf, subleaf: $sub, reg: CpuidReg::$reg, bit: $bit })
    };
}

/// Every feature a model can have, in the order Linux lists the flags.
/// System features (`vme`, `pae`, `apic`, ...) have no user instructions but
/// are reported as every x86-64 CPU reports them; `ht` and the topology
/// leaves are the host's (glibc sizes its per-thread cache share, and so its
/// non-temporal copy threshold, from them), and so are the bits that only
/// describe the machine (`ss`, `pcid`, `x2apic`, `tsc_deadline_timer`,
/// `hypervisor`, whose leaves 0x4000_0000 and up are the host's too: a
/// program that asks whether it runs in a virtual machine gets the native
/// answer; `pdpe1gb`, `smep`, `smap`, `invpcid`, `arch_capabilities` and
/// the like are as harmless). Left out on purpose: `xsaves` (privileged),
/// `cpuid_fault` (`arch_prctl(ARCH_SET_CPUID)` fails with ENODEV, as on a
/// CPU without it) and the extensions the module docs name.
pub static FEATURES: &[Feature] = features![
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
    "ss" (1 Edx 27) X86_64 [],
    "ht" (1 Edx 28) X86_64 [],
    // CPUID.8000_0001:EDX
    "syscall" (0x8000_0001 Edx 11) X86_64 [SYSCALL],
    "nx" (0x8000_0001 Edx 20) X86_64 [],
    // AMD's: its MMX extensions (in SSE everywhere) and FXSAVE's fast
    // form (the OS's to enable): the host's.
    "mmxext" (0x8000_0001 Edx 22) X86_64 [],
    "fxsr_opt" (0x8000_0001 Edx 25) X86_64 [],
    "pdpe1gb" (0x8000_0001 Edx 26) X86_64 [],
    "rdtscp" (0x8000_0001 Edx 27) X86_64 optional [RDTSCP],
    "lm" (0x8000_0001 Edx 29) X86_64 [X64],
    // AMD repeats most of CPUID.1:EDX here (every x86-64 CPU has them).
    "" (0x8000_0001 Edx 0) X86_64 [],
    "" (0x8000_0001 Edx 1) X86_64 [],
    "" (0x8000_0001 Edx 2) X86_64 [],
    "" (0x8000_0001 Edx 3) X86_64 [],
    "" (0x8000_0001 Edx 4) X86_64 [],
    "" (0x8000_0001 Edx 5) X86_64 [],
    "" (0x8000_0001 Edx 6) X86_64 [],
    "" (0x8000_0001 Edx 7) X86_64 [],
    "" (0x8000_0001 Edx 8) X86_64 [],
    "" (0x8000_0001 Edx 9) X86_64 [],
    "" (0x8000_0001 Edx 12) X86_64 [],
    "" (0x8000_0001 Edx 13) X86_64 [],
    "" (0x8000_0001 Edx 14) X86_64 [],
    "" (0x8000_0001 Edx 15) X86_64 [],
    "" (0x8000_0001 Edx 16) X86_64 [],
    "" (0x8000_0001 Edx 17) X86_64 [],
    "" (0x8000_0001 Edx 23) X86_64 [],
    "" (0x8000_0001 Edx 24) X86_64 [],
    // Linux-defined: true of the host's TSC, or of every x86-64 CPU.
    "constant_tsc" (linux) X86_64 [],
    "rep_good" (linux) X86_64 [],
    "nopl" (linux) X86_64 [MULTIBYTENOP],
    "xtopology" (linux) X86_64 [],
    "nonstop_tsc" (linux) X86_64 [],
    "cpuid" (linux) X86_64 [CPUID],
    "extd_apicid" (linux) X86_64 [],
    "tsc_known_freq" (linux) X86_64 [],
    // CPUID.1:ECX
    "pni" (1 Ecx 0) V2 [SSE3],
    "pclmulqdq" (1 Ecx 1) V2 optional [PCLMULQDQ],
    "ssse3" (1 Ecx 9) V2 [SSSE3],
    "fma" (1 Ecx 12) V3 [FMA],
    "cx16" (1 Ecx 13) V2 [CMPXCHG16B],
    "pcid" (1 Ecx 17) X86_64 [],
    "sse4_1" (1 Ecx 19) V2 [SSE4_1],
    "sse4_2" (1 Ecx 20) V2 [SSE4_2],
    "x2apic" (1 Ecx 21) X86_64 [],
    "movbe" (1 Ecx 22) V3 [MOVBE],
    "popcnt" (1 Ecx 23) V2 [POPCNT],
    "tsc_deadline_timer" (1 Ecx 24) X86_64 [],
    "aes" (1 Ecx 25) V2 optional [AES],
    "xsave" (1 Ecx 26) V3 [XSAVE],
    // OSXSAVE: the OS enabled XSAVE (XGETBV works); not a cpuinfo flag.
    "" (1 Ecx 27) V3 [],
    "avx" (1 Ecx 28) V3 [AVX],
    "f16c" (1 Ecx 29) V3 [F16C],
    "rdrand" (1 Ecx 30) Host [RDRAND],
    "hypervisor" (1 Ecx 31) X86_64 [],
    // CPUID.8000_0001:ECX
    "lahf_lm" (0x8000_0001 Ecx 0) V2 [],
    // AMD's description of the machine: core counting, `mov cr8` in
    // 32-bit mode, SSE's misaligned-access mode (the OS's to enable),
    // erratum workarounds, topology leaves (0x8000_001D/1E, the host's).
    "cmp_legacy" (0x8000_0001 Ecx 1) X86_64 [],
    "cr8_legacy" (0x8000_0001 Ecx 4) X86_64 [],
    "abm" (0x8000_0001 Ecx 5) V3 [LZCNT],
    "sse4a" (0x8000_0001 Ecx 6) Host [SSE4A],
    "misalignsse" (0x8000_0001 Ecx 7) X86_64 [],
    // `prefetchw` is in the hint space: a NOP for models without it.
    "3dnowprefetch" (0x8000_0001 Ecx 8) Host [PREFETCHW],
    "osvw" (0x8000_0001 Ecx 9) X86_64 [],
    "topoext" (0x8000_0001 Ecx 22) X86_64 [],
    // Linux-defined: the host's speculation controls and hypercall.
    "ssbd" (linux) X86_64 [],
    "ibrs" (linux) X86_64 [],
    "ibpb" (linux) X86_64 [],
    "stibp" (linux) X86_64 [],
    "vmmcall" (linux) X86_64 [],
    // CPUID.7.0:EBX
    "fsgsbase" (7 Ebx 0) Host [FSGSBASE],
    "tsc_adjust" (7 Ebx 1) X86_64 [],
    "bmi1" (7 Ebx 3) V3 [BMI1],
    "avx2" (7 Ebx 5) V3 [AVX2],
    // How the host's x87 stores FPU CS/DS (the guest's `fnsave`/`fxsave`
    // run on the host): FDP only on exceptions, FCS and FDS zero.
    "" (7 Ebx 6) X86_64 [],
    "smep" (7 Ebx 7) X86_64 [],
    "bmi2" (7 Ebx 8) V3 [BMI2],
    // Only a hint for `rep movsb`.
    "erms" (7 Ebx 9) X86_64 [],
    "invpcid" (7 Ebx 10) X86_64 [],
    // Every transaction aborts at once (`ir::Op::Xbegin`), which RTM
    // allows: glibc then picks the string functions it picks natively.
    "rtm" (7 Ebx 11) Host [RTM, HLE_or_RTM],
    "" (7 Ebx 13) X86_64 [],
    "avx512f" (7 Ebx 16) V4 [AVX512F],
    "avx512dq" (7 Ebx 17) V4 [AVX512DQ],
    "rdseed" (7 Ebx 18) Host [RDSEED],
    "adx" (7 Ebx 19) Host [ADX],
    "smap" (7 Ebx 20) X86_64 [],
    "avx512ifma" (7 Ebx 21) Host [AVX512_IFMA],
    "clflushopt" (7 Ebx 23) Host [CLFLUSHOPT],
    "clwb" (7 Ebx 24) Host [CLWB],
    "avx512cd" (7 Ebx 28) V4 [AVX512CD],
    "sha_ni" (7 Ebx 29) Host [SHA],
    "avx512bw" (7 Ebx 30) V4 [AVX512BW],
    "avx512vl" (7 Ebx 31) V4 [AVX512VL],
    // CPUID.0xD.1:EAX
    "xsaveopt" (0xd . 1 Eax 0) V3 optional [XSAVEOPT],
    "xsavec" (0xd . 1 Eax 1) V3 optional [XSAVEC],
    "xgetbv1" (0xd . 1 Eax 2) V3 optional [],
    // CPUID.7.1:EAX
    "avx_vnni" (7 . 1 Eax 4) Host [AVX_VNNI],
    "avx512_bf16" (7 . 1 Eax 5) Host [AVX512_BF16],
    // Hints for `rep movsb`/`stosb`/`cmpsb`/`scasb`, like `erms`: fast
    // zero-length MOVSB, fast short STOSB and CMPSB/SCASB.
    "" (7 . 1 Eax 10) X86_64 [],
    "" (7 . 1 Eax 11) X86_64 [],
    "" (7 . 1 Eax 12) X86_64 [],
    // CPUID.8000_0008:EBX (the rest of it is the host's: speculation
    // controls): AMD's `clzero` and `rdpru`, which user code runs;
    // `xsaveerptr` (how the host's `fxsave` stores the x87 error pointers)
    // and `wbnoinvd` (privileged) describe the machine.
    "clzero" (0x8000_0008 Ebx 0) Host [CLZERO],
    "xsaveerptr" (0x8000_0008 Ebx 2) X86_64 [],
    "rdpru" (0x8000_0008 Ebx 4) Host [RDPRU],
    "wbnoinvd" (0x8000_0008 Ebx 9) X86_64 [],
    // CPUID.6:EAX (leaf 6 is the host's).
    "arat" (linux) X86_64 [],
    // CPUID.7.0:ECX
    "avx512vbmi" (7 Ecx 1) Host [AVX512_VBMI],
    // A system feature: the host kernel emulates `sgdt`, `sidt`, `sldt`,
    // `smsw` and `str` for user mode, and tern runs them on the host.
    "umip" (7 Ecx 2) X86_64 [],
    // Protection keys: `rdpkru`/`wrpkru` (see the module docs), and the
    // kernel's enabling of them.
    "pku" (7 Ecx 3) Host [PKU],
    "ospke" (7 Ecx 4) Host [],
    "avx512_vbmi2" (7 Ecx 6) Host [AVX512_VBMI2],
    "gfni" (7 Ecx 8) Host [GFNI],
    "vaes" (7 Ecx 9) Host [VAES],
    "vpclmulqdq" (7 Ecx 10) Host [VPCLMULQDQ],
    "avx512_vnni" (7 Ecx 11) Host [AVX512_VNNI],
    "avx512_bitalg" (7 Ecx 12) Host [AVX512_BITALG],
    "avx512_vpopcntdq" (7 Ecx 14) Host [AVX512_VPOPCNTDQ],
    "rdpid" (7 Ecx 22) Host [RDPID],
    // `cldemote` is in the hint space too.
    "cldemote" (7 Ecx 25) Host [CLDEMOTE],
    "movdiri" (7 Ecx 27) Host [MOVDIRI],
    "movdir64b" (7 Ecx 28) Host [MOVDIR64B],
    // CPUID.7.0:EDX
    // Only a hint for short `rep movsb`, like `erms`.
    "fsrm" (7 Edx 4) X86_64 [],
    "avx512_vp2intersect" (7 Edx 8) Host [AVX512_VP2INTERSECT],
    // `verw` clears the CPU's buffers: the machine's.
    "md_clear" (7 Edx 10) X86_64 [],
    "serialize" (7 Edx 14) Host [SERIALIZE],
    "avx512_fp16" (7 Edx 23) Host [AVX512_FP16],
    // Speculation controls (IBRS/IBPB, STIBP, L1D flush, SSBD): the
    // machine's, as leaf 7.2 and the Linux-defined flags are.
    "" (7 Edx 26) X86_64 [],
    "" (7 Edx 27) X86_64 [],
    "flush_l1d" (7 Edx 28) X86_64 [],
    "arch_capabilities" (7 Edx 29) X86_64 [],
    "" (7 Edx 30) X86_64 [],
    "" (7 Edx 31) X86_64 [],
];

/// The (leaf, subleaf) pairs whose feature bits come from [`FEATURES`].
pub const FEATURE_LEAVES: &[(u32, u32)] =
    &[(1, 0), (7, 0), (7, 1), (0xd, 1), (0x8000_0001, 0), (0x8000_0008, 0)];

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

/// AT_HWCAP2 bit: the FSGSBASE instructions are usable from user mode
/// (`arch/x86/include/uapi/asm/hwcap2.h`).
const HWCAP2_FSGSBASE: u64 = 1 << 1;

impl CpuModel {
    /// The `--cpu` name of every model, in order.
    pub const NAMES: &'static [&'static str] = &["x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4", "host"];
    /// Every model, in order.
    pub const ALL: &'static [CpuModel] =
        &[CpuModel::X86_64, CpuModel::V2, CpuModel::V3, CpuModel::V4, CpuModel::Host];

    /// The model `s` names (a `--cpu` value): a name of [`NAMES`](Self::NAMES)
    /// or an alias (`v1`..`v4`, `baseline`, `max` for `host`, and `default`
    /// for [`CpuModel::default_for_host`]).
    pub fn from_name(s: &str) -> Option<CpuModel> {
        match s {
            "x86-64" | "baseline" | "v1" => Some(CpuModel::X86_64),
            "x86-64-v2" | "v2" => Some(CpuModel::V2),
            "x86-64-v3" | "v3" => Some(CpuModel::V3),
            "x86-64-v4" | "v4" => Some(CpuModel::V4),
            "host" | "max" => Some(CpuModel::Host),
            "default" => Some(CpuModel::default_for_host()),
            _ => None,
        }
    }

    /// The `--cpu` name of the model.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The default model: `host`, what a native run sees of the CPU less
    /// what tern cannot run faithfully, so that programs choosing code by
    /// CPUID (glibc's string functions and its `preferred` flags, which
    /// hang on features outside the psABI levels such as AVX-VNNI and RTM)
    /// choose as they do natively. The levels are for asking for less.
    pub fn default_for_host() -> CpuModel {
        CpuModel::Host
    }

    /// The highest of x86-64 .. x86-64-v4 the host has every needed
    /// feature of.
    pub fn top_level_on_host() -> CpuModel {
        [CpuModel::V4, CpuModel::V3, CpuModel::V2]
            .into_iter()
            .find(|m| m.missing_on_host().is_empty())
            .unwrap_or(CpuModel::X86_64)
    }

    /// What the host lacks of this model, by cpuinfo flag (and `xcr0`
    /// components tern cannot switch): empty if the model can be used.
    /// `host` always can: it is what the host has.
    pub fn missing_on_host(self) -> Vec<String> {
        if self == CpuModel::Host {
            return Vec::new();
        }
        let mut missing: Vec<String> = self
            .features()
            .filter(|f| !f.optional && !f.insns.is_empty())
            .filter(|f| f.cpuid.is_some_and(|b| !host_has(b)))
            .map(|f| f.flag.to_string())
            .collect();
        let need = self.nominal_xcr0() & !(xstate::X87 | xstate::SSE);
        if need & !xstate::managed() != 0 {
            missing.push(format!(
                "OS-enabled XSAVE state {:#x} (host XCR0 {:#x})",
                need,
                xstate::host_xcr0()
            ));
        }
        missing
    }

    /// The rows of [`FEATURES`] this model has.
    pub fn features(self) -> impl Iterator<Item = &'static Feature> {
        FEATURES.iter().filter(move |f| f.since <= self)
    }

    /// True if an instruction needing `f` exists on this model.
    pub fn has(self, f: CpuidFeature) -> bool {
        // The lifter asks for every feature of every instruction it
        // translates: the table scan is done once per model, into a set.
        // (`CpuidFeature` is a `u8` enum: 256 bits hold them all.)
        const WORDS: usize = 4;
        static SETS: [std::sync::OnceLock<[u64; WORDS]>; 5] = [const { std::sync::OnceLock::new() }; 5];
        let set = SETS[self as usize].get_or_init(|| {
            let mut set = [0u64; WORDS];
            for g in CpuidFeature::values() {
                if ALWAYS.contains(&g) || self.features().any(|row| row.insns.contains(&g)) {
                    set[g as usize / 64] |= 1 << (g as usize % 64);
                }
            }
            set
        });
        set[f as usize / 64] >> (f as usize % 64) & 1 != 0
    }

    /// The XSAVE state components of the model before the host's XCR0
    /// limits them.
    fn nominal_xcr0(self) -> u64 {
        use xstate::{AVX, AVX512, SSE, X87};
        match self {
            CpuModel::X86_64 | CpuModel::V2 => X87 | SSE,
            CpuModel::V3 => X87 | SSE | AVX,
            CpuModel::V4 | CpuModel::Host => X87 | SSE | AVX | AVX512,
        }
    }

    /// The model's XCR0: the state components it has (x87 and SSE always,
    /// AVX from v3, the AVX-512 opmask and ZMM components from v4) that tern
    /// switches on this host ([`xstate::managed`]). What `xgetbv` with ECX 0
    /// returns, CPUID leaf 0xD describes and the signal frames carry.
    pub fn xcr0(self) -> u64 {
        self.nominal_xcr0() & xstate::managed() | xstate::X87 | xstate::SSE
    }

    /// The XCR0 the guest sees (`xgetbv`, CPUID leaf 0xD): [`Self::xcr0`],
    /// and PKRU where the model offers protection keys (the register is
    /// the host's, never switched).
    pub fn guest_xcr0(self) -> u64 {
        self.xcr0() | if self.has_pku() { xstate::PKRU } else { 0 }
    }

    /// True if the guest has protection keys: the model's `pku` row, on a
    /// host whose kernel enabled them.
    pub fn has_pku(self) -> bool {
        self.has(CpuidFeature::PKU) && xstate::host_pku() && xstate::host_xcr0() & xstate::PKRU != 0
    }

    /// The state components a guest of this model can look at: its XCR0
    /// with XSAVE, all of them without (it has no `xsave` or `xgetbv`).
    pub fn visible_xstate(self) -> u64 {
        if self.has_xsave() {
            self.guest_xcr0()
        } else {
            u64::MAX
        }
    }

    /// True if the model reports the XSAVE feature (and so answers
    /// `xgetbv` and leaf 0xD).
    fn has_xsave(self) -> bool {
        self.has(CpuidFeature::XSAVE) && xstate::host_xcr0() != 0
    }

    /// The model's bits of register `reg` of CPUID `leaf`/`subleaf`.
    fn model_bits(self, leaf: u32, subleaf: u32, reg: CpuidReg) -> u32 {
        self.features()
            .filter_map(|f| f.cpuid)
            .filter(|b| b.leaf == leaf && b.subleaf == subleaf && b.reg == reg)
            .fold(0, |acc, b| acc | 1 << b.bit)
    }

    /// CPUID result `[eax, ebx, ecx, edx]` for `leaf`/`subleaf`. Feature
    /// bits are the model's that the host also has.
    pub fn cpuid(self, leaf: u32, subleaf: u32) -> [u32; 4] {
        let host = host_cpuid;
        let max_ext = host(0x8000_0000, 0)[0];
        // Leaves 1 and 0x8000_0001 ignore ECX; leaf 7 has subleaves.
        let features = |sub: u32, h: [u32; 4]| self.cpuid_features_of(leaf, sub, h);
        match leaf {
            // The highest basic leaf is the host's (it describes the
            // machine: a native run is told it). Of the leaves after 0xD
            // (the XSAVE state components) only those that describe the
            // machine are the host's too; the others, of features no
            // model offers (SGX, processor trace, Key Locker, AMX tiles,
            // history reset ...), are 0.
            0 => host(0, 0),
            1 => {
                let h = host(1, 0);
                let mut f = features(0, h);
                if !self.has_xsave() {
                    // OSXSAVE without XSAVE would promise a working xgetbv.
                    f[2] &= !(1 << 27);
                }
                // eax: signature; ebx: brand index, CLFLUSH line size,
                // logical processor count and APIC id.
                [h[0], h[1], f[2], f[3]]
            }
            7 => {
                let h = host(7, 0);
                match subleaf {
                    // eax: the highest subleaf (2, where the host has it).
                    0 => {
                        let f = features(0, h);
                        [h[0].min(2), f[1], f[2], f[3]]
                    }
                    1 if h[0] >= 1 => features(1, host(7, 1)),
                    // Speculation controls and what the host is immune
                    // to (EDX): the machine's description.
                    2 if h[0] >= 2 => host(7, 2),
                    _ => [0; 4],
                }
            }
            0xd => self.xsave_leaf(subleaf),
            // 2: caches and TLBs, 4: cache parameters, 5: monitor/mwait,
            // 6: power management, 0xB: topology. Harmless, and what a
            // program sizing its buffers or threads wants to know. Only 4
            // and 0xB have subleaves: the others are asked as subleaf 0,
            // whatever ECX holds (glibc asks leaf 2 with whatever its
            // register had, seven times at start-up, each a host `cpuid`
            // of its own otherwise).
            4 | 0xb => host(leaf, subleaf),
            2..=6 => host(leaf, 0),
            // 0x15: TSC and core crystal clock, 0x16: frequencies, 0x17:
            // SoC vendor, 0x18: TLBs, 0x1A: hybrid core type, 0x1F:
            // topology (what `hwloc` and TSC calibrations read).
            0x17 | 0x18 | 0x1f if leaf <= host(0, 0)[0] => host(leaf, subleaf),
            0x15 | 0x16 | 0x1a if leaf <= host(0, 0)[0] => host(leaf, 0),
            0x8000_0000 => {
                let h = host(0x8000_0000, 0);
                [max_ext, h[1], h[2], h[3]]
            }
            0x8000_0001 => {
                let h = host(0x8000_0001, 0);
                let f = features(0, h);
                // ebx: AMD's package type and brand id.
                [h[0], h[1], f[2], f[3]]
            }
            // ebx: the instructions of the table the model has, the rest
            // (speculation controls) the host's.
            0x8000_0008 if leaf <= max_ext => {
                let h = host(leaf, 0);
                let table = table_bits(leaf, CpuidReg::Ebx);
                [h[0], h[1] & !table | features(0, h)[1], h[2], h[3]]
            }
            // Brand string, caches, power management (the invariant
            // TSC); AMD's cache and topology leaves 0x8000_001D/1E (what
            // glibc reads on AMD).
            0x8000_001d if leaf <= max_ext => host(leaf, subleaf),
            // 0x8000_0021: AMD's further description (how `lfence`, null
            // selectors and the speculation controls behave).
            0x8000_0002..=0x8000_0007 | 0x8000_001e | 0x8000_0021 if leaf <= max_ext => host(leaf, 0),
            // The hypervisor's leaves, where the host runs under one: its
            // name and what it offers its guest kernel (nothing a user
            // program can use, but what one that asks is told natively).
            0x4000_0000..=0x4000_00ff if host(1, 0)[2] & 1 << 31 != 0 => host(leaf, subleaf),
            // 8, 9 (DCA), 0xA (performance counters), 0xC: not offered.
            _ => [0; 4],
        }
    }

    /// CPUID leaf 0xD (XSAVE state components): subleaf 0 the model's
    /// XCR0 components, subleaf 1 the XSAVE extensions of the table.
    ///
    /// The sizes are the host's, not the model's: a guest `xsave`,
    /// `xsavec` or `xsaveopt` is copied and runs with the host's XCR0, so
    /// it writes every host component its mask names, not only the
    /// model's (glibc's lazy-binding trampoline saves with mask 0xee and
    /// sizes its buffer from EBX, or from the subleaves of the components
    /// of that mask). So EBX/ECX of subleaf 0 are the standard-format size
    /// for the host's XCR0, EBX of subleaf 1 the compacted one, and a
    /// subleaf i >= 2 answers for every component the host enables. A
    /// larger size than the model needs is only a larger buffer.
    fn xsave_leaf(self, subleaf: u32) -> [u32; 4] {
        if !self.has_xsave() {
            return [0; 4];
        }
        let xcr0 = self.guest_xcr0();
        let host = xstate::host_xcr0();
        match subleaf {
            0 => {
                let size = xstate::standard_size(host | xcr0);
                [xcr0 as u32, size, size, (xcr0 >> 32) as u32]
            }
            1 => {
                let f = self.cpuid_features_of(0xd, 1, host_cpuid(0xd, 1));
                // ebx: the compacted size of XCR0 | IA32_XSS (no
                // supervisor state), 0 without XSAVEC.
                let compacted = if f[0] & 2 != 0 { compacted_size(host | xcr0) } else { 0 };
                [f[0], compacted, 0, 0]
            }
            2..=63 if (host | xcr0) & (1 << subleaf) != 0 => host_cpuid(0xd, subleaf),
            _ => [0; 4],
        }
    }

    /// `h` with only the model's feature bits of `leaf`/`subleaf` left.
    fn cpuid_features_of(self, leaf: u32, subleaf: u32, h: [u32; 4]) -> [u32; 4] {
        let mut r = [0; 4];
        for reg in [CpuidReg::Eax, CpuidReg::Ebx, CpuidReg::Ecx, CpuidReg::Edx] {
            r[reg as usize] = h[reg as usize] & self.model_bits(leaf, subleaf, reg);
        }
        r
    }

    /// What `xgetbv` returns (EDX:EAX) on the model's CPU for register
    /// `ecx`, given the guest's XINUSE (the XSTATE_BV its last exit saved):
    /// XCR0 for 0; for 1, if the model has XGETBV1, the components in use
    /// of XCR0. `None` where the CPU raises #GP (any other register).
    /// Reached only on models with XSAVE: elsewhere `xgetbv` is SIGILL.
    /// Whether ECX = 1 works is the `xgetbv1` row of [`FEATURES`], as CPUID
    /// reports it.
    pub fn xgetbv(self, ecx: u32, xinuse: u64) -> Option<u64> {
        match ecx {
            0 => Some(self.guest_xcr0()),
            // PKRU is in use whenever it is not 0 (its init value).
            1 if self.reports_flag("xgetbv1") => {
                let pkru = self.has_pku() && xstate::pkru::read() != 0;
                Some(xinuse & self.xcr0() | if pkru { xstate::PKRU } else { 0 })
            }
            _ => None,
        }
    }

    /// True if the model reports CPUID bit `b`.
    pub fn reports(self, b: CpuidBit) -> bool {
        self.cpuid(b.leaf, b.subleaf)[b.reg as usize] & (1 << b.bit) != 0
    }

    /// True if the model reports the CPUID bit of the [`FEATURES`] row
    /// whose cpuinfo flag is `flag` (false for a flag without a row or
    /// without a CPUID bit).
    pub fn reports_flag(self, flag: &str) -> bool {
        FEATURES.iter().find(|f| f.flag == flag).and_then(|f| f.cpuid).is_some_and(|b| self.reports(b))
    }

    /// AT_HWCAP: CPUID.1:EDX, as Linux reports it on x86.
    pub fn hwcap(self) -> u64 {
        u64::from(self.cpuid(1, 0)[CpuidReg::Edx as usize])
    }

    /// AT_HWCAP2: `HWCAP2_FSGSBASE` if the model has FSGSBASE, as Linux
    /// sets it when it enables CR4.FSGSBASE (`arch/x86/kernel/cpu/common.c:
    /// identify_cpu()`); `HWCAP2_RING3MWAIT` is never set (no
    /// `monitor`/`mwait` at CPL 3).
    pub fn hwcap2(self) -> u64 {
        if self.reports_flag("fsgsbase") {
            HWCAP2_FSGSBASE
        } else {
            0
        }
    }

    /// The `flags` value of `/proc/cpuinfo` given the host's (`host_flags`,
    /// the text after the colon): every named table flag whose CPUID bit
    /// this model reports ([`CpuModel::cpuid`]), and the Linux-defined ones
    /// of the model that the host lists.
    pub fn cpuinfo_flags(self, host_flags: &str) -> String {
        let host: Vec<&str> = host_flags.split_whitespace().collect();
        let shown = |f: &Feature| match f.cpuid {
            Some(b) => self.reports(b),
            None => host.contains(&f.flag),
        };
        let flags: Vec<&str> =
            self.features().filter(|f| !f.flag.is_empty() && shown(f)).map(|f| f.flag).collect();
        flags.join(" ")
    }
}

/// Every bit the table names in register `reg` of `leaf` (subleaf 0),
/// whatever the model.
fn table_bits(leaf: u32, reg: CpuidReg) -> u32 {
    FEATURES
        .iter()
        .filter_map(|f| f.cpuid)
        .filter(|b| b.leaf == leaf && b.subleaf == 0 && b.reg == reg)
        .fold(0, |acc, b| acc | 1 << b.bit)
}

/// True if the host's CPUID reports `b`.
fn host_has(b: CpuidBit) -> bool {
    host_cpuid(b.leaf, b.subleaf)[b.reg as usize] & (1 << b.bit) != 0
}

/// Size of the compacted XSAVE image of `mask` (XSAVEC): the legacy region
/// and header, then each component i >= 2 of `mask` in order, 64-byte
/// aligned where CPUID.(0xD, i):ECX bit 1 says so.
fn compacted_size(mask: u64) -> u32 {
    (2..63).filter(|i| mask & (1 << i) != 0).fold(576, |end, i| {
        let [size, _, ecx, _] = host_cpuid(0xd, i);
        let start = if ecx & 2 != 0 { end.next_multiple_of(64) } else { end };
        start + size
    })
}

/// `(leaf, subleaf)` and the host's answer.
pub type Answer = ((u32, u32), [u32; 4]);

/// The host's answers asked so far in this process (or handed over by the
/// tern that exec'd it, [`seed_host_cpuid`]).
static SEEN: std::sync::Mutex<Vec<Answer>> = std::sync::Mutex::new(Vec::new());

/// How many of [`SEEN`]'s answers came from a previous tern (handed over or
/// recorded, [`seed_host_cpuid`]), and how many `cpuid`s this process ran.
static SEEDED: AtomicUsize = AtomicUsize::new(0);
static ASKED: AtomicUsize = AtomicUsize::new(0);

/// The host's CPUID for `leaf`/`subleaf`, asked once per process: under a
/// hypervisor each `cpuid` traps (15-20 us each on an Intel host under
/// Firecracker), and a guest's C library asks dozens of times at startup.
pub(crate) fn host_cpuid(leaf: u32, subleaf: u32) -> [u32; 4] {
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&(_, r)) = seen.iter().find(|(k, _)| *k == (leaf, subleaf)) {
        return r;
    }
    let r = ask_host(leaf, subleaf);
    seen.push(((leaf, subleaf), r));
    r
}

/// The host's `cpuid` itself, counted ([`host_cpuid_asked`]).
fn ask_host(leaf: u32, subleaf: u32) -> [u32; 4] {
    let r = std::arch::x86_64::__cpuid_count(leaf, subleaf);
    ASKED.fetch_add(1, Ordering::Relaxed);
    [r.eax, r.ebx, r.ecx, r.edx]
}

/// The host's leaf 1, asked of the host itself (not of the answers seeded).
pub fn host_cpuid_leaf1() -> [u32; 4] {
    ask_host(1, 0)
}

/// `cpuid`s this process ran on the host (`--stats`).
pub fn host_cpuid_asked() -> usize {
    ASKED.load(Ordering::Relaxed)
}

/// True if this process asked the host what no previous tern told it
/// ([`seed_host_cpuid`]): its answers are worth recording.
pub fn host_cpuid_learned() -> bool {
    SEEN.lock().unwrap_or_else(|e| e.into_inner()).len() > SEEDED.load(Ordering::Relaxed)
}

/// The host's answers asked so far, for the tern a guest `execve` starts
/// (`--host-cpuid`): it runs on the same machine, and need not ask again.
/// Each answer is `leaf.subleaf=eax.ebx.ecx.edx` in hex, space separated.
pub fn host_cpuid_handover() -> String {
    let seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let answers: Vec<String> = seen
        .iter()
        .map(|((leaf, sub), [a, b, c, d])| format!("{leaf:x}.{sub:x}={a:x}.{b:x}.{c:x}.{d:x}"))
        .collect();
    answers.join(" ")
}

/// Takes the host's answers a previous tern handed over
/// ([`host_cpuid_handover`]) before anything asks the host.
pub fn seed_host_cpuid(handed: &str) -> Result<(), String> {
    let answers = parse_answers(handed).ok_or_else(|| format!("bad --host-cpuid '{handed}'"))?;
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    for (key, r) in answers {
        if !seen.iter().any(|(k, _)| *k == key) {
            seen.push((key, r));
        }
    }
    SEEDED.store(seen.len(), Ordering::Relaxed);
    Ok(())
}

/// The answers of a [`host_cpuid_handover`] string, if well formed.
pub fn parse_answers(handed: &str) -> Option<Vec<Answer>> {
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    let mut answers = Vec::new();
    for item in handed.split_whitespace() {
        let (key, value) = item.split_once('=')?;
        let key: Vec<u32> = key.split('.').map(hex).collect::<Option<_>>()?;
        let value: Vec<u32> = value.split('.').map(hex).collect::<Option<_>>()?;
        let (&[leaf, sub], &[a, b, c, d]) = (key.as_slice(), value.as_slice()) else { return None };
        answers.push(((leaf, sub), [a, b, c, d]));
    }
    Some(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_answers_round_trip() {
        let ours = host_cpuid(0, 0);
        let handed = host_cpuid_handover();
        assert!(handed.contains(&format!("0.0={:x}.", ours[0])), "{handed}");
        seed_host_cpuid(&handed).unwrap();
        assert_eq!(host_cpuid(0, 0), ours);
        seed_host_cpuid("").unwrap();
        for bad in ["0.0", "0=1.2.3.4", "0.0=1.2.3", "x.0=1.2.3.4", "0.0=1.2.3.4.5"] {
            assert!(seed_host_cpuid(bad).is_err(), "{bad}");
        }
    }

    /// Leaves without subleaves give one answer whatever ECX holds, and
    /// ask the host once for it: glibc asks leaf 2 with stray ECX values.
    #[test]
    fn leaves_without_subleaves_ignore_ecx() {
        let asked = |leaf: u32| SEEN.lock().unwrap().iter().filter(|(k, _)| k.0 == leaf).count();
        for leaf in [2, 0x8000_0006] {
            let first = CpuModel::Host.cpuid(leaf, 0);
            for ecx in [0x40, 0x178b_80ff, 0x3_3fff] {
                assert_eq!(CpuModel::Host.cpuid(leaf, ecx), first, "leaf {leaf:#x} ecx {ecx:#x}");
            }
            assert!(asked(leaf) <= 1, "leaf {leaf:#x} asked {} times", asked(leaf));
        }
        // Leaf 4's subleaves are cache levels: each its own answer.
        let (l1, l2) = (CpuModel::Host.cpuid(4, 0), CpuModel::Host.cpuid(4, 2));
        assert!(l1[0] == 0 || l1 != l2, "leaf 4 subleaves 0 and 2 the same: {l1:x?}");
    }

    #[test]
    fn flags_and_bits_are_unique() {
        for (i, a) in FEATURES.iter().enumerate() {
            for b in &FEATURES[i + 1..] {
                assert!(a.flag.is_empty() || a.flag != b.flag, "{} twice", a.flag);
                assert!(a.cpuid.is_none() || a.cpuid != b.cpuid, "{} and {} share a bit", a.flag, b.flag);
            }
        }
    }

    #[test]
    fn later_models_have_more() {
        for f in FEATURES {
            for &m in CpuModel::ALL {
                assert_eq!(m.features().any(|g| std::ptr::eq(g, f)), m >= f.since);
            }
        }
        assert!(CpuModel::V2.has(CpuidFeature::SSE4_2) && !CpuModel::X86_64.has(CpuidFeature::SSE4_2));
        assert!(CpuModel::X86_64.has(CpuidFeature::SSE2) && !CpuModel::V2.has(CpuidFeature::AVX));
        for f in [CpuidFeature::AVX2, CpuidFeature::FMA, CpuidFeature::BMI2, CpuidFeature::LZCNT] {
            assert!(CpuModel::V3.has(f) && !CpuModel::V2.has(f), "{f:?}");
        }
        assert!(CpuModel::V4.has(CpuidFeature::AVX512VL) && !CpuModel::V3.has(CpuidFeature::AVX512F));
        assert!(CpuModel::Host.has(CpuidFeature::GFNI) && !CpuModel::V4.has(CpuidFeature::GFNI));
        // Never offered: tern cannot run them faithfully.
        for f in [CpuidFeature::HLE, CpuidFeature::WAITPKG, CpuidFeature::AMX_TILE] {
            assert!(!CpuModel::Host.has(f), "{f:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for (&m, &n) in CpuModel::ALL.iter().zip(CpuModel::NAMES) {
            assert_eq!(CpuModel::from_name(n), Some(m));
            assert_eq!(m.name(), n);
        }
        assert_eq!(CpuModel::from_name("v3"), Some(CpuModel::V3));
        assert_eq!(CpuModel::from_name("default"), Some(CpuModel::default_for_host()));
        assert_eq!(CpuModel::from_name("pentium"), None);
    }

    #[test]
    fn every_bit_is_in_an_answered_leaf() {
        for b in FEATURES.iter().filter_map(|f| f.cpuid) {
            assert!(FEATURE_LEAVES.contains(&(b.leaf, b.subleaf)), "{b:?}");
        }
    }

    #[test]
    fn cpuid_reports_only_table_bits() {
        for &m in CpuModel::ALL {
            // The registers of each leaf that hold only feature bits.
            let leaves: [(u32, u32, &[usize]); 5] = [
                (1, 0, &[2, 3]),
                (7, 0, &[1, 2, 3]),
                (7, 1, &[0, 1, 2, 3]),
                (0xd, 1, &[0]),
                (0x8000_0001, 0, &[2, 3]),
            ];
            for (leaf, sub, regs) in leaves {
                let r = m.cpuid(leaf, sub);
                for &reg in regs {
                    for bit in 0..32 {
                        if r[reg] & (1 << bit) != 0 {
                            assert!(
                                m.features().any(|f| f.cpuid.is_some_and(|b| b.leaf == leaf
                                    && b.subleaf == sub
                                    && b.reg as usize == reg
                                    && u32::from(b.bit) == bit)),
                                "{m:?}: leaf {leaf:#x}.{sub} reg {reg} bit {bit} is not in the table"
                            );
                        }
                    }
                }
            }
            assert_eq!(m.hwcap(), u64::from(m.cpuid(1, 0)[3]));
            // Leaves 1 and 0x8000_0001 ignore ECX.
            assert_eq!(m.cpuid(1, 5), m.cpuid(1, 0));
        }
    }

    /// On a host that has the model, CPUID reports every row of it, and the
    /// host model reports exactly the rows the host has.
    #[test]
    fn models_the_host_has_report_their_rows() {
        for &m in CpuModel::ALL[..4].iter().filter(|m| m.missing_on_host().is_empty()) {
            for f in m.features().filter(|f| !f.optional && !f.insns.is_empty()) {
                if let Some(b) = f.cpuid {
                    assert!(m.reports(b), "{m:?} {}", f.flag);
                }
            }
        }
        for f in FEATURES {
            if let Some(b) = f.cpuid {
                let want = host_has(b) && (b != OSXSAVE || xstate::host_xcr0() != 0);
                assert_eq!(CpuModel::Host.reports(b), want, "{}", f.flag);
            }
        }
        assert!(CpuModel::top_level_on_host().missing_on_host().is_empty());
    }

    /// The rows other code names by flag exist and have a CPUID bit.
    #[test]
    fn rows_named_by_flag_exist() {
        for flag in ["xgetbv1", "fsgsbase"] {
            assert!(FEATURES.iter().any(|f| f.flag == flag && f.cpuid.is_some()), "{flag}");
        }
        assert!(!CpuModel::Host.reports_flag("no-such-flag"));
        // XGETBV(1) answers exactly where the row is reported.
        for &m in CpuModel::ALL.iter().filter(|m| m.has_xsave()) {
            assert_eq!(m.xgetbv(1, u64::MAX).is_some(), m.reports_flag("xgetbv1"), "{m:?}");
            assert_eq!(m.xgetbv(1, u64::MAX).unwrap_or(0) & !m.guest_xcr0(), 0, "{m:?}");
        }
    }

    const OSXSAVE: CpuidBit = CpuidBit { leaf: 1, subleaf: 0, reg: CpuidReg::Ecx, bit: 27 };

    /// XSAVE, OSXSAVE, leaf 0xD and the model's XCR0 go together.
    #[test]
    fn xsave_leaf_follows_xcr0() {
        for &m in CpuModel::ALL {
            let xcr0 = m.guest_xcr0();
            assert_eq!(xcr0 & 3, 3, "{m:?}");
            let d0 = m.cpuid(0xd, 0);
            if !m.has_xsave() {
                assert!(!m.reports(OSXSAVE) && d0 == [0; 4], "{m:?}");
                continue;
            }
            assert!(m.reports(OSXSAVE), "{m:?}");
            assert_eq!(u64::from(d0[0]) | u64::from(d0[3]) << 32, xcr0, "{m:?}");
            // Sizes cover what a guest `xsave` writes: the host's XCR0.
            let host = xstate::host_xcr0();
            assert_eq!(d0[1], xstate::standard_size(host));
            assert!(d0[1] >= xstate::standard_size(xcr0));
            for i in 2..63 {
                let d = m.cpuid(0xd, i);
                if host & (1 << i) != 0 {
                    assert_eq!(Some((d[1], d[0])), xstate::component(i), "{m:?} component {i}");
                    assert!(d[1] + d[0] <= d0[1]);
                } else {
                    assert_eq!(d, [0; 4], "{m:?} component {i}");
                }
            }
        }
        assert_eq!(CpuModel::V2.xcr0(), xstate::X87 | xstate::SSE);
        if CpuModel::V4.missing_on_host().is_empty() {
            assert_eq!(CpuModel::V3.xcr0(), xstate::X87 | xstate::SSE | xstate::AVX);
            assert_eq!(CpuModel::V4.xcr0() & xstate::AVX512, xstate::AVX512);
            // The host's own answer for the host's XCR0, but for ECX (the
            // size of every component the CPU supports, enabled or not):
            // on a host with AMX, whose tile data needs a permission tern
            // does not ask for, the host's counts it, the model's not.
            if xstate::managed() == xstate::host_xcr0() {
                let (model, host) = (CpuModel::V4.cpuid(0xd, 0), host_cpuid(0xd, 0));
                assert_eq!([model[0], model[1], model[3]], [host[0], host[1], host[3]]);
                assert!(model[1] <= model[2] && model[2] <= host[2], "{model:?} {host:?}");
            }
        }
    }
}
