//! The machine state exchanged with the C harness
//! (`fuzz-guest/guest/insn_harness.c`): its binary layout, parsing, and the
//! comparison of two final states.

use std::fmt::Write as _;

/// Where the harness maps the generated code (fixed, so that the encoding of
/// branches and RIP-relative operands is the same in both runs). It and
/// the scratch area lie above where the kernel may start a static
/// program's break (up to 1 GiB past its end, at random), which took them
/// now and then, natively and (with a randomised break) under tern.
pub const CODE_ADDR: u64 = 0x6000_0000;
/// The address the code jumps to when it is done (a trampoline to the
/// harness's epilogue).
pub const EXIT_ADDR: u64 = CODE_ADDR + 0x1_0000;
/// The most code bytes the harness accepts.
pub const MAX_CODE: usize = (EXIT_ADDR - CODE_ADDR) as usize;
/// Where the harness maps the scratch area every memory operand points into.
pub const SCRATCH_ADDR: u64 = 0x5000_0000;
/// Size of the scratch area.
pub const SCRATCH_SIZE: usize = 0x4000;
/// Initial stack pointer: inside the scratch area, so pushes are compared.
pub const STACK_TOP: u64 = SCRATCH_ADDR + 0x3800;
/// Size of `struct state` in the harness.
pub const STATE_SIZE: usize = 2832;

/// Register names in the harness's (and the encoding's) order.
pub const GPR_NAMES: [&str; 16] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
    "r15",
];

/// RFLAGS bits compared: CF PF AF ZF SF DF OF.
pub const FLAGS_MASK: u64 = 0xcd5;

/// One machine state (`struct state` in the harness).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub gpr: [u64; 16],
    pub rflags: u64,
    pub mxcsr: u64,
    pub xmm: [[u64; 2]; 16],
    /// FS selector, GS selector, FS base, GS base (outputs only).
    pub seg: [u64; 4],
    /// The `fxsave` image (output only).
    pub fx: Vec<u8>,
    /// Bits 128..255 of each ymm register: loaded and saved only when
    /// `avx` is set (the AVX class of the generator), else zero.
    pub ymmh: [[u64; 2]; 16],
    /// Whether the harness loads and saves `ymmh` (input only).
    pub avx: bool,
    /// Whether the harness loads and saves `zmmh`, `zmm16` and `k` (input
    /// only; the EVEX class, which needs AVX-512).
    pub evex: bool,
    /// The FS base the code starts with; 0: the C library's (input only).
    pub fsbase: u64,
    /// Bits 256..511 of zmm0-15 (with `evex`, else zero).
    pub zmmh: [[u64; 4]; 16],
    /// zmm16-31 whole (with `evex`, else zero).
    pub zmm16: [[u64; 8]; 16],
    /// The opmask registers k0-k7 (with `evex`, else zero).
    pub k: [u64; 8],
}

/// Offsets in `struct state` of the fields after `ymmh`.
const AVX_AT: usize = 1200;
const ZMMH_AT: usize = 1232;
const ZMM16_AT: usize = 1744;
const K_AT: usize = 2768;

impl State {
    /// Serializes to the harness's layout.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(STATE_SIZE);
        for v in self.gpr.iter().chain([&self.rflags, &self.mxcsr]) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for x in &self.xmm {
            out.extend_from_slice(&x[0].to_le_bytes());
            out.extend_from_slice(&x[1].to_le_bytes());
        }
        for v in &self.seg {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.fx);
        out.resize(944, 0);
        for x in &self.ymmh {
            out.extend_from_slice(&x[0].to_le_bytes());
            out.extend_from_slice(&x[1].to_le_bytes());
        }
        for v in [u64::from(self.avx), u64::from(self.evex), self.fsbase] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.resize(ZMMH_AT, 0);
        let words = self.zmmh.iter().flatten().chain(self.zmm16.iter().flatten()).chain(&self.k);
        for v in words {
            out.extend_from_slice(&v.to_le_bytes());
        }
        debug_assert_eq!(out.len(), STATE_SIZE);
        out
    }

    /// Parses the harness's layout (`b.len() >= STATE_SIZE`).
    pub fn from_bytes(b: &[u8]) -> State {
        let q = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
        let mut gpr = [0; 16];
        for (i, g) in gpr.iter_mut().enumerate() {
            *g = q(i);
        }
        let mut xmm = [[0; 2]; 16];
        for (i, x) in xmm.iter_mut().enumerate() {
            *x = [q(18 + 2 * i), q(19 + 2 * i)];
        }
        State {
            gpr,
            rflags: q(16),
            mxcsr: q(17),
            xmm,
            seg: [q(50), q(51), q(52), q(53)],
            fx: b[432..944].to_vec(),
            ymmh: std::array::from_fn(|i| [q(118 + 2 * i), q(119 + 2 * i)]),
            avx: q(AVX_AT / 8) != 0,
            evex: q(AVX_AT / 8 + 1) != 0,
            fsbase: q(AVX_AT / 8 + 2),
            zmmh: std::array::from_fn(|i| std::array::from_fn(|j| q(ZMMH_AT / 8 + 4 * i + j))),
            zmm16: std::array::from_fn(|i| std::array::from_fn(|j| q(ZMM16_AT / 8 + 8 * i + j))),
            k: std::array::from_fn(|i| q(K_AT / 8 + i)),
        }
    }
}

/// The x87 part of an `fxsave` image that is compared: FCW, FSW, abridged FTW
/// and the eight 80-bit registers. FOP, FIP and FDP are left out: they hold
/// host addresses under tern.
fn x87_view(fx: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut v = vec![
        ("fcw".to_string(), fx[0..2].to_vec()),
        ("fsw".to_string(), fx[2..4].to_vec()),
        ("ftw".to_string(), fx[4..5].to_vec()),
    ];
    for i in 0..8 {
        v.push((format!("st/mm{i}"), fx[32 + 16 * i..42 + 16 * i].to_vec()));
    }
    v
}

/// Lists every compared difference between the native state `a` and tern's
/// `b` (with their scratch areas `ma`, `mb`); empty when they agree.
pub fn diff(a: &State, ma: &[u8], b: &State, mb: &[u8]) -> Vec<String> {
    let mut d = Vec::new();
    for (i, name) in GPR_NAMES.iter().enumerate() {
        if a.gpr[i] != b.gpr[i] {
            d.push(format!("{name}: native {:#x} tern {:#x}", a.gpr[i], b.gpr[i]));
        }
    }
    if a.rflags & FLAGS_MASK != b.rflags & FLAGS_MASK {
        d.push(format!(
            "rflags (CF PF AF ZF SF DF OF): native {:#x} tern {:#x}",
            a.rflags & FLAGS_MASK,
            b.rflags & FLAGS_MASK
        ));
    }
    if a.mxcsr != b.mxcsr {
        d.push(format!("mxcsr: native {:#x} tern {:#x}", a.mxcsr, b.mxcsr));
    }
    for i in 0..16 {
        if a.xmm[i] != b.xmm[i] {
            d.push(format!(
                "xmm{i}: native {:016x}{:016x} tern {:016x}{:016x}",
                a.xmm[i][1], a.xmm[i][0], b.xmm[i][1], b.xmm[i][0]
            ));
        }
    }
    for i in 0..16 {
        if a.ymmh[i] != b.ymmh[i] {
            d.push(format!(
                "ymm{i} bits 255:128: native {:016x}{:016x} tern {:016x}{:016x}",
                a.ymmh[i][1], a.ymmh[i][0], b.ymmh[i][1], b.ymmh[i][0]
            ));
        }
    }
    let wide = |v: &[u64]| v.iter().rev().map(|w| format!("{w:016x}")).collect::<String>();
    for i in 0..16 {
        if a.zmmh[i] != b.zmmh[i] {
            d.push(format!("zmm{i} bits 511:256: native {} tern {}", wide(&a.zmmh[i]), wide(&b.zmmh[i])));
        }
        if a.zmm16[i] != b.zmm16[i] {
            let n = i + 16;
            d.push(format!("zmm{n}: native {} tern {}", wide(&a.zmm16[i]), wide(&b.zmm16[i])));
        }
    }
    for i in 0..8 {
        if a.k[i] != b.k[i] {
            d.push(format!("k{i}: native {:#x} tern {:#x}", a.k[i], b.k[i]));
        }
    }
    let seg_names = ["fs selector", "gs selector", "fs base", "gs base"];
    // The harness reports an FS base the code left alone as 1.
    // A null selector's RPL bits (1..=3) are not stable natively: on this
    // AMD host an interrupt or exception taken between the load and the read
    // leaves 0 instead (measured: `pop gs` of 3, a busy loop, `mov r, gs`
    // read 0 in 36 of 200 runs), so null selectors compare by index only.
    let null = |v: u64| v <= 3;
    for (i, name) in seg_names.iter().enumerate() {
        if a.seg[i] != b.seg[i] && !(i < 2 && null(a.seg[i]) && null(b.seg[i])) {
            d.push(format!("{name}: native {:#x} tern {:#x}", a.seg[i], b.seg[i]));
        }
    }
    for ((name, x), (_, y)) in x87_view(&a.fx).into_iter().zip(x87_view(&b.fx)) {
        if x != y {
            d.push(format!("x87 {name}: native {} tern {}", hex(&x), hex(&y)));
        }
    }
    let mut shown = 0;
    for (i, (x, y)) in ma.chunks(8).zip(mb.chunks(8)).enumerate() {
        if x != y {
            if shown < 8 {
                d.push(format!(
                    "memory {:#x}: native {} tern {}",
                    SCRATCH_ADDR + 8 * i as u64,
                    hex(x),
                    hex(y)
                ));
            }
            shown += 1;
        }
    }
    if shown > 8 {
        d.push(format!("... {} more differing memory words", shown - 8));
    }
    d
}

fn hex(b: &[u8]) -> String {
    let mut s = String::new();
    for x in b.iter().rev() {
        let _ = write!(s, "{x:02x}");
    }
    s
}
