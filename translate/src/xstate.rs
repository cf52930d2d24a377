//! The guest's extended register state (x87, SSE, AVX, AVX-512) in XSAVE
//! layout: which state components tern manages, where each lives, and the
//! per-thread save area.
//!
//! Generated code runs with the guest's vector registers in the host's, so
//! every exit to tern saves them and every entry restores them
//! (`entry.rs`). tern manages the components a user program can change with
//! instructions tern copies: x87, SSE, AVX (YMM upper halves), and the
//! AVX-512 opmask, ZMM upper halves and ZMM16-31 ([`MANAGEABLE`]), as far as
//! the host enables them in XCR0 ([`managed`]). PKRU, AMX and MPX are left
//! to the host: no guest instruction tern runs changes them.
//!
//! The area is in the standard (non-compacted) format, so a component's
//! offset is the one CPUID leaf 0xD gives and the same one the kernel's
//! signal frame uses. Components the guest never touched stay in their
//! init state (their XSTATE_BV bit clear): `xsaveopt` does not write them
//! and `xrstor` initialises them, so a program that never uses AVX pays
//! little for AVX-512 state.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// State-component bits of XCR0 and XSTATE_BV.
pub const X87: u64 = 1 << 0;
pub const SSE: u64 = 1 << 1;
pub const AVX: u64 = 1 << 2;
pub const OPMASK: u64 = 1 << 5;
pub const ZMM_HI256: u64 = 1 << 6;
pub const HI16_ZMM: u64 = 1 << 7;
/// Protection keys' PKRU register: not switched by tern (no CPU model
/// offers PKU), but in the host kernel's signal frames.
pub const PKRU: u64 = 1 << 9;
/// Every AVX-512 component.
pub const AVX512: u64 = OPMASK | ZMM_HI256 | HI16_ZMM;

/// The components tern can manage for the guest.
pub const MANAGEABLE: u64 = X87 | SSE | AVX | AVX512;

/// Size of the legacy (FXSAVE) region.
pub const LEGACY_SIZE: usize = 512;
/// The legacy region's parts: x87 control, status, tag, opcode and
/// pointers; MXCSR (and its mask after it); st0-st7; xmm0-15.
pub const X87_CONTROL: Range<usize> = 0..24;
pub const MXCSR: Range<usize> = 24..28;
pub const X87_REGS: Range<usize> = 32..160;
pub const XMM: Range<usize> = 160..416;

/// Offset of the XSAVE header (XSTATE_BV, then XCOMP_BV).
pub const HEADER: usize = 512;
/// Size of the XSAVE header.
pub const HEADER_SIZE: usize = 64;
/// Size of [`XsaveArea`]: room for every manageable component at the
/// standard offsets of current CPUs (the last, HI16_ZMM, ends at 2688);
/// components the host places beyond it are not managed (see [`managed`]).
pub const XSAVE_AREA_SIZE: usize = 4096;

/// How the host saves and restores the guest's extended state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum SaveKind {
    /// No XSAVE (or the OS did not enable it): `fxsave`/`fxrstor`.
    Fxsave = 0,
    /// `xsave`/`xrstor`.
    Xsave = 1,
    /// `xsaveopt`/`xrstor`: components unchanged since the restore are
    /// not written again.
    Xsaveopt = 2,
    /// Register moves (`movaps`, `vextractf128`, `vextracti64x4`,
    /// `kmovq`, `stmxcsr` and their loads) to and from the standard
    /// offsets: about 13 ns for an exit and entry with every AVX-512
    /// register, where `xsaveopt` and `xrstor` take 90 ns on an AMD EPYC
    /// even with only SSE in use. An exit stores the components XINUSE
    /// (`xgetbv` 1) names and makes them XSTATE_BV, as `xsave` would. An
    /// entry puts AVX and the ZMM0-15 upper halves in their init state
    /// with `vzeroupper` and loads what XSTATE_BV names; it takes `xrstor`
    /// when x87 must be loaded, or when opmask or ZMM16-31 state the guest
    /// has in its init state was touched by tern's own AVX-512 string
    /// functions and the guest's model has no AVX-512 (otherwise it is
    /// zeroed: [`may_zero_avx512`]). Chosen where the host has XGETBV1, AVX
    /// sits at [`YMM_HI`] and, with AVX-512, the opmask registers are 64
    /// bits wide (AVX512BW); the AVX-512 offsets, which differ between
    /// vendors, are [`avx512_offsets`]. `TERN_XSAVE=1` in tern's
    /// environment forces `xsaveopt` (tests run both).
    Registers = 3,
}

/// Standard offset of the YMM upper halves (AVX) where register moves
/// save them: the same on every CPU with AVX.
pub const YMM_HI: usize = 576;

/// What the host offers, read once.
struct Host {
    xcr0: u64,
    kind: SaveKind,
    /// XGETBV with ECX = 1 (XINUSE) works (CPUID 0xD.1 EAX bit 2).
    xgetbv1: bool,
    /// Standard-format offset and size of components 0..32.
    layout: [(u32, u32); 32],
}

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        // Through the model's record of the host's answers: each `cpuid`
        // traps to a hypervisor (5 us here), and the model asks the same.
        use crate::model::host_cpuid;
        let mut layout = [(0u32, 0u32); 32];
        layout[0] = (0, 160);
        layout[1] = (160, 256);
        let osxsave = host_cpuid(1, 0)[2] & (1 << 27) != 0;
        let max = host_cpuid(0, 0)[0];
        if !osxsave || max < 0xd {
            return Host { xcr0: 0, kind: SaveKind::Fxsave, xgetbv1: false, layout };
        }
        // SAFETY: OSXSAVE is set, so xgetbv with ecx = 0 is valid.
        let xcr0 = unsafe { std::arch::x86_64::_xgetbv(0) };
        for (i, slot) in layout.iter_mut().enumerate().skip(2) {
            if xcr0 & (1 << i) != 0 {
                let [size, offset, _, _] = host_cpuid(0xd, i as u32);
                *slot = (offset, size);
            }
        }
        let ext = host_cpuid(0xd, 1)[0];
        let mut kind = if ext & 1 != 0 { SaveKind::Xsaveopt } else { SaveKind::Xsave };
        let standard = xcr0 & AVX == 0 || layout[2] == (YMM_HI as u32, 256);
        let avx512bw = host_cpuid(7, 0)[1] & (1 << 30) != 0;
        let forced = std::env::var_os("TERN_XSAVE").is_some_and(|v| v == "1");
        if ext & 4 != 0 && standard && (xcr0 & AVX512 == 0 || avx512bw) && !forced {
            kind = SaveKind::Registers;
        }
        Host { xcr0, kind, xgetbv1: ext & 4 != 0, layout }
    })
}

/// The host's XCR0, or 0 if the host has no OS-enabled XSAVE.
pub fn host_xcr0() -> u64 {
    host().xcr0
}

/// True if the host's `xgetbv` reads XINUSE with ECX = 1.
pub fn host_has_xgetbv1() -> bool {
    host().xgetbv1
}

/// How entries and exits save the extended state on this host.
pub fn save_kind() -> SaveKind {
    host().kind
}

/// True if the host kernel enabled protection keys (CPUID.7.0:ECX.OSPKE).
/// Asked once: signal delivery and sigreturn ask at every signal.
pub fn host_pku() -> bool {
    static PKU: OnceLock<bool> = OnceLock::new();
    *PKU.get_or_init(|| crate::model::host_cpuid(7, 0)[2] & (1 << 4) != 0)
}

/// The thread's PKRU register (only where [`host_pku`]).
pub mod pkru {
    /// `rdpkru`.
    pub fn read() -> u32 {
        let eax: u32;
        // SAFETY: rdpkru (OSPKE set, checked by the caller) reads PKRU into
        // eax, zeroes edx, and touches nothing else.
        unsafe {
            std::arch::asm!("rdpkru", in("ecx") 0, out("eax") eax, out("edx") _, options(nomem, nostack, preserves_flags))
        };
        eax
    }

    /// `wrpkru`: sets which keys the thread's data accesses may use.
    pub fn write(value: u32) {
        // SAFETY: wrpkru (OSPKE set) changes only PKRU; the callers open
        // access for one copy and put the old value back. Not `nomem`: the
        // copies around it must not move across it.
        unsafe {
            std::arch::asm!("wrpkru", in("eax") value, in("ecx") 0, in("edx") 0, options(nostack, preserves_flags))
        };
    }
}

/// The components the guest's CPU model lets it look at
/// ([`set_model_visible`]).
static MODEL_VISIBLE: AtomicU64 = AtomicU64::new(u64::MAX);

/// Tells the state switch which components the guest's CPU model lets it
/// look at: its XCR0, or everything for a model without XSAVE (no
/// `xsave`, no `xgetbv`). Call it before the first `CpuBox`.
pub fn set_model_visible(components: u64) {
    MODEL_VISIBLE.store(components, Ordering::Relaxed);
}

/// True if a guest `xrstor` must not load PKRU: the host has protection
/// keys but the guest's model does not, so a value from the guest's image
/// could close key 0, tern's own memory, to tern's code. The baseline
/// then clears PKRU's bit from the instruction's mask (EAX) around it,
/// with BMI2's flag-free `pext`/`pdep`, where the host has BMI2 (every
/// host with protection keys does).
pub fn guard_xrstor() -> bool {
    static GUARD: OnceLock<bool> = OnceLock::new();
    *GUARD.get_or_init(|| {
        host_pku()
            && host_xcr0() & PKRU != 0
            && MODEL_VISIBLE.load(Ordering::Relaxed) & PKRU == 0
            && crate::model::host_cpuid(7, 0)[1] & (1 << 8) != 0
    })
}

/// True if an entry may zero opmask and ZMM16-31 state that tern's own
/// code touched, where the guest has it in its init state, instead of
/// `xrstor`ing it back to that state: XINUSE then says "in use", which a
/// guest whose model has AVX-512 may see (as it may on some CPU), but a
/// guest whose model lacks it must never see in a copied `xsave`.
pub fn may_zero_avx512() -> bool {
    MODEL_VISIBLE.load(Ordering::Relaxed) & AVX512 == AVX512
}

/// Standard offsets of the opmask registers, the ZMM0-15 upper halves and
/// ZMM16-31 (`SaveKind::Registers` saves them there): 1088, 1152 and 1664
/// where the host leaves room for MPX, 832, 896 and 1408 where it does
/// not. Zero for components the host does not enable.
pub fn avx512_offsets() -> [u32; 3] {
    let h = host();
    [5, 6, 7].map(|i| if h.xcr0 & (1 << i) != 0 { h.layout[i].0 } else { 0 })
}

/// The components tern saves and restores on every exit and entry: the
/// [`MANAGEABLE`] ones the host enables, as long as they fit in
/// [`XsaveArea`] (x87 and SSE only without XSAVE).
pub fn managed() -> u64 {
    static MANAGED: OnceLock<u64> = OnceLock::new();
    *MANAGED.get_or_init(|| {
        let h = host();
        if h.kind == SaveKind::Fxsave {
            return X87 | SSE;
        }
        let mut m = h.xcr0 & MANAGEABLE;
        for i in 2..32 {
            let (off, size) = h.layout[i];
            if m & (1 << i) != 0 && (off + size) as usize > XSAVE_AREA_SIZE {
                // A component whose state does not fit, and the ones that
                // need it (AVX-512 comes as a whole).
                m &= !(1 << i);
                if (1 << i) & AVX512 != 0 {
                    m &= !AVX512;
                }
            }
        }
        m
    })
}

/// Standard-format offset and size of component `i` if the host enables
/// it (x87 and SSE: their parts of the legacy region).
pub fn component(i: u32) -> Option<(u32, u32)> {
    let h = host();
    match i {
        0 | 1 => Some(h.layout[i as usize]),
        2..=31 if h.xcr0 & (1 << i) != 0 => Some(h.layout[i as usize]),
        _ => None,
    }
}

/// The MXCSR bits the host accepts (`MXCSR_MASK` of an `fxsave`; 0xffbf
/// when it reports 0, as the SDM says).
pub fn mxcsr_mask() -> u32 {
    static MASK: OnceLock<u32> = OnceLock::new();
    *MASK.get_or_init(|| {
        let mut legacy = [0u8; LEGACY_SIZE];
        crate::entry::read_x87(&mut legacy);
        match u32::from_le_bytes([legacy[28], legacy[29], legacy[30], legacy[31]]) {
            0 => 0xffbf,
            m => m,
        }
    })
}

/// Size of a standard-format image holding the components of `mask`:
/// the legacy region and header, then up to the end of the last
/// component (576 for x87 and SSE alone).
pub fn standard_size(mask: u64) -> u32 {
    (2..32)
        .filter(|i| mask & (1 << i) != 0)
        .filter_map(component)
        .map(|(off, size)| off + size)
        .fold((LEGACY_SIZE + HEADER_SIZE) as u32, u32::max)
}

/// One thread's extended state in standard XSAVE format: the legacy
/// FXSAVE region (x87, MMX, SSE, MXCSR), the header, then the components.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub struct XsaveArea(pub [u8; XSAVE_AREA_SIZE]);

impl Default for XsaveArea {
    /// The state of a new process: FCW 0x037f, MXCSR 0x1f80, every other
    /// component in its init state (XSTATE_BV 0).
    fn default() -> Self {
        let mut a = XsaveArea([0u8; XSAVE_AREA_SIZE]);
        a.set_init_words();
        a
    }
}

impl XsaveArea {
    /// The legacy FXSAVE region.
    pub fn legacy(&self) -> &[u8; LEGACY_SIZE] {
        self.0[..LEGACY_SIZE].try_into().expect("512-byte prefix")
    }

    /// The legacy region to write. `xrstor` initialises x87 or SSE when
    /// their XSTATE_BV bit is clear: set it for values written here.
    pub fn legacy_mut(&mut self) -> &mut [u8; LEGACY_SIZE] {
        (&mut self.0[..LEGACY_SIZE]).try_into().expect("512-byte prefix")
    }

    /// XSTATE_BV: the components not in their init state. x87 and SSE are
    /// read from the legacy region whatever this says (an FXSAVE host never
    /// writes the header; their bits only matter to `xrstor`).
    pub fn xstate_bv(&self) -> u64 {
        u64::from_le_bytes(self.0[HEADER..HEADER + 8].try_into().expect("8 bytes"))
    }

    pub fn set_xstate_bv(&mut self, bv: u64) {
        self.0[HEADER..HEADER + 8].copy_from_slice(&bv.to_le_bytes());
    }

    /// The bytes of component `i >= 2` in this area, if the host enables it.
    pub fn component(&self, i: u32) -> Option<&[u8]> {
        let (off, size) = component(i).filter(|_| i >= 2)?;
        self.0.get(off as usize..(off + size) as usize)
    }

    pub fn component_mut(&mut self, i: u32) -> Option<&mut [u8]> {
        let (off, size) = component(i).filter(|_| i >= 2)?;
        self.0.get_mut(off as usize..(off + size) as usize)
    }

    /// The components of `mask` that hold values: XSTATE_BV, and x87 and
    /// SSE always when the host saves with `fxsave` (which has no header).
    pub fn present(&self, mask: u64) -> u64 {
        let always = if save_kind() == SaveKind::Fxsave { X87 | SSE } else { 0 };
        (self.xstate_bv() | always) & mask
    }

    /// This state with every component of `mask` spelled out: a component
    /// in its init state (its XSTATE_BV bit clear, where `xsaveopt` left
    /// stale bytes) gets its init value and its bit set. What a reader of
    /// register values (a signal frame) needs.
    pub fn expanded(&self, mask: u64) -> XsaveArea {
        let mut out = *self;
        out.expand(mask);
        out
    }

    /// [`expanded`](Self::expanded) in place.
    pub fn expand(&mut self, mask: u64) {
        let bv = self.xstate_bv();
        let absent = mask & !self.present(mask);
        let out = self;
        if absent & X87 != 0 {
            // FCW 0x037f; status, abridged tag, opcode, pointers and st0-st7 zero.
            out.0[X87_CONTROL].fill(0);
            out.0[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
            out.0[X87_REGS].fill(0);
        }
        if absent & SSE != 0 {
            out.0[XMM].fill(0);
        }
        for i in 2..32 {
            if absent & (1 << i) != 0 {
                if let Some(c) = out.component_mut(i) {
                    c.fill(0);
                }
            }
        }
        out.set_xstate_bv(bv | mask);
    }

    /// Makes this the state of a new process, as [`Default`] does for
    /// every byte `xrstor`, `xsave` and the readers of XSTATE_BV look at
    /// (the legacy region, the header and the managed components), without
    /// writing the whole area: a signal handler starts from it.
    pub fn reset(&mut self) {
        static USED: OnceLock<usize> = OnceLock::new();
        let used = *USED.get_or_init(|| standard_size(managed()) as usize);
        self.0[..used].fill(0);
        self.set_init_words();
    }

    /// The nonzero bytes of the initial state: FCW 0x037f, MXCSR 0x1f80
    /// and its mask.
    fn set_init_words(&mut self) {
        self.0[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        self.0[MXCSR].copy_from_slice(&0x1f80u32.to_le_bytes());
        self.0[28..32].copy_from_slice(&0xffffu32.to_le_bytes());
    }

    /// Drops what `xrstor`/`fxrstor` would fault on: XSTATE_BV bits
    /// outside the managed components, a nonzero XCOMP_BV or reserved
    /// header bytes, MXCSR bits the host does not accept.
    pub fn sanitize(&mut self) {
        let bv = self.xstate_bv() & managed();
        self.0[HEADER..HEADER + HEADER_SIZE].fill(0);
        self.set_xstate_bv(bv);
        let mxcsr = self.mxcsr() & mxcsr_mask();
        self.0[MXCSR].copy_from_slice(&mxcsr.to_le_bytes());
    }

    /// SSE state in its init state (XSTATE_BV bit clear) as values: zero
    /// xmm0-15 and the bit set. MXCSR is apart (`xrstor` loads it either
    /// way).
    pub fn spell_out_sse(&mut self) {
        if self.xstate_bv() & SSE == 0 {
            self.0[XMM].fill(0);
            self.set_xstate_bv(self.xstate_bv() | SSE);
        }
    }

    /// True if x87 is in its init state here: FCW 0x037f, everything
    /// else zero, or its XSTATE_BV bit clear (`xrstor` initialises it).
    pub fn x87_is_init(&self) -> bool {
        self.xstate_bv() & X87 == 0
            || (self.0[0..2] == 0x037fu16.to_le_bytes()
                && self.0[2..X87_CONTROL.end].iter().all(|&b| b == 0)
                && self.0[X87_REGS].iter().all(|&b| b == 0))
    }

    /// MXCSR (in the legacy region).
    pub fn mxcsr(&self) -> u32 {
        u32::from_le_bytes(self.0[MXCSR].try_into().expect("4 bytes"))
    }

    /// Takes the register parts of `parts` (`X87`: control words,
    /// pointers and st0-st7; `SSE`: xmm0-15; not MXCSR) from the legacy
    /// image `legacy` and marks them present in XSTATE_BV.
    pub fn load_legacy(&mut self, legacy: &[u8; LEGACY_SIZE], parts: u64) {
        if parts & X87 != 0 {
            self.0[X87_CONTROL].copy_from_slice(&legacy[X87_CONTROL]);
            self.0[X87_REGS].copy_from_slice(&legacy[X87_REGS]);
        }
        if parts & SSE != 0 {
            self.0[XMM].copy_from_slice(&legacy[XMM]);
        }
        self.set_xstate_bv(self.xstate_bv() | (parts & (X87 | SSE)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `reset` gives every byte the save/restore and the readers use the
    /// value `default` has, from any state.
    #[test]
    fn reset_is_default_where_it_counts() {
        let mut a = XsaveArea([0xa5; XSAVE_AREA_SIZE]);
        a.reset();
        let used = standard_size(managed()) as usize;
        assert_eq!(a.0[..used], XsaveArea::default().0[..used]);
        assert_eq!(a.xstate_bv(), 0);
        assert_eq!(a.mxcsr(), 0x1f80);
    }

    #[test]
    fn legacy_and_header_come_first() {
        assert_eq!(standard_size(X87 | SSE), 576);
        assert!(managed() & (X87 | SSE) == X87 | SSE);
        assert_eq!(managed() & !MANAGEABLE, 0);
        if managed() & AVX != 0 {
            assert_eq!(component(2), Some((576, 256)));
            assert_eq!(standard_size(X87 | SSE | AVX), 832);
        }
        for i in 2..32 {
            if managed() & (1 << i) != 0 {
                let (off, size) = component(i).expect("managed components are enabled");
                assert!((off + size) as usize <= XSAVE_AREA_SIZE);
            }
        }
    }

    #[test]
    fn default_is_the_reset_state() {
        let a = XsaveArea::default();
        assert_eq!(a.mxcsr(), 0x1f80);
        assert_eq!(a.xstate_bv(), 0);
        assert_eq!(&a.legacy()[0..2], &[0x7f, 0x03]);
    }

    #[test]
    fn expanded_fills_init_components() {
        let mut a = XsaveArea::default();
        a.0[170] = 9;
        a.0[2] = 5;
        let e = a.expanded(X87 | SSE);
        if save_kind() != SaveKind::Fxsave {
            assert_eq!((e.0[170], e.0[2]), (0, 0));
        }
        assert_eq!(e.xstate_bv() & (X87 | SSE), X87 | SSE);
        assert_eq!(e.mxcsr(), 0x1f80);
    }
}
