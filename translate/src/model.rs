//! The guest CPU model: what CPUID reports and which instructions exist.
//!
//! tern advertises a coherent x86-64-v2 model (baseline plus SSE3, SSSE3,
//! SSE4.1, SSE4.2, POPCNT, CX16, LAHF/SAHF), plus AES-NI and PCLMULQDQ which
//! are legacy-SSE encoded and run natively. Anything outside the model
//! (AVX, BMI, FSGSBASE, ...) raises SIGILL in the guest, as on a CPU without it.

use iced_x86::CpuidFeature;

/// A named CPU model, selectable with `--cpu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuModel {
    /// x86-64 baseline (SSE2).
    X86_64,
    /// x86-64-v2 (default).
    V2,
}

impl CpuModel {
    pub const NAMES: &'static [&'static str] = &["x86-64", "x86-64-v2"];

    pub fn from_name(s: &str) -> Option<CpuModel> {
        match s {
            "x86-64" | "baseline" | "v1" => Some(CpuModel::X86_64),
            "x86-64-v2" | "v2" | "max" | "default" => Some(CpuModel::V2),
            _ => None,
        }
    }

    /// True if an instruction needing `f` exists on this model.
    pub fn has(self, f: CpuidFeature) -> bool {
        use CpuidFeature as F;
        let base = matches!(
            f,
            F::INTEL8086
                | F::INTEL186
                | F::INTEL286
                | F::INTEL386
                | F::INTEL486
                | F::X64
                | F::CMOV
                | F::CX8
                | F::FPU
                | F::FPU287
                | F::FPU387
                | F::MMX
                | F::SSE
                | F::SSE2
                | F::FXSR
                | F::TSC
                | F::CLFSH
                | F::MULTIBYTENOP
                | F::PAUSE
                | F::SYSCALL
                | F::RDTSCP
                | F::CPUID
                // Hint-NOP space on CPUs without CET: endbr64, rdssp, ...
                | F::CET_IBT
                | F::CET_SS
        );
        let v2 = matches!(
            f,
            F::SSE3 | F::SSSE3 | F::SSE4_1 | F::SSE4_2 | F::POPCNT | F::CMPXCHG16B | F::AES | F::PCLMULQDQ
        );
        base || (v2 && self == CpuModel::V2)
    }

    /// CPUID result `[eax, ebx, ecx, edx]` for `leaf`/`subleaf`.
    pub fn cpuid(self, leaf: u32, subleaf: u32) -> [u32; 4] {
        let host = |l: u32, s: u32| {
            let r = std::arch::x86_64::__cpuid_count(l, s);
            [r.eax, r.ebx, r.ecx, r.edx]
        };
        let max_ext = host(0x8000_0000, 0)[0].min(0x8000_0008);
        match leaf {
            0 => {
                let h = host(0, 0);
                [7, h[1], h[2], h[3]]
            }
            1 => {
                let h = host(1, 0);
                // edx: FPU TSC CX8 CMOV CLFSH MMX FXSR SSE SSE2
                let edx = (1 << 0)
                    | (1 << 4)
                    | (1 << 8)
                    | (1 << 15)
                    | (1 << 19)
                    | (1 << 23)
                    | (1 << 24)
                    | (1 << 25)
                    | (1 << 26);
                // ecx: SSE3 PCLMULQDQ SSSE3 CX16 SSE4.1 SSE4.2 POPCNT AES
                let ecx = match self {
                    CpuModel::V2 => {
                        (1 << 0)
                            | (1 << 1)
                            | (1 << 9)
                            | (1 << 13)
                            | (1 << 19)
                            | (1 << 20)
                            | (1 << 23)
                            | (1 << 25)
                    }
                    CpuModel::X86_64 => 0,
                };
                [h[0], h[1] & 0x0000_ffff | (h[1] & 0xff00_0000), ecx, edx & h[3]]
            }
            // Structured extended features: only ERMS (a hint for `rep movsb`).
            7 if subleaf == 0 => [0, host(7, 0)[1] & (1 << 9), 0, 0],
            2..=6 => host(leaf, subleaf),
            0x8000_0000 => {
                let h = host(0x8000_0000, 0);
                [max_ext, h[1], h[2], h[3]]
            }
            0x8000_0001 => {
                let h = host(0x8000_0001, 0);
                // ecx: LAHF/SAHF in 64-bit mode (v2 only); edx: SYSCALL NX RDTSCP LM
                let ecx = if self == CpuModel::V2 { 1 } else { 0 };
                let edx = (1 << 11) | (1 << 20) | (1 << 27) | (1 << 29);
                [h[0], 0, ecx & h[2], edx & h[3]]
            }
            l if (0x8000_0002..=max_ext).contains(&l) => host(l, subleaf),
            _ => [0; 4],
        }
    }

    /// AT_HWCAP: CPUID.1:EDX as Linux reports it.
    pub fn hwcap(self) -> u64 {
        u64::from(self.cpuid(1, 0)[3])
    }
}
