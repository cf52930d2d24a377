//! The FPU part of a signal frame: the guest's extended state as the
//! x86-64 kernel writes it for a handler and reads it back at
//! `rt_sigreturn` (`arch/x86/kernel/fpu/signal.c`).
//!
//! The image is the standard-format XSAVE area of the CPU model's state
//! components (its XCR0, [`tern_translate::CpuModel::xcr0`]): the legacy
//! FXSAVE region with the software bytes (`struct _fpx_sw_bytes`:
//! `FP_XSTATE_MAGIC1`, the sizes and the features) in its unused tail, the
//! XSAVE header, every component at its CPUID offset, then
//! `FP_XSTATE_MAGIC2`. As the kernel's `XSAVE` does, XSTATE_BV names the
//! components not in their init state (plus x87 and SSE, always:
//! `save_xstate_epilog()`), and a component in its init state is written
//! with its init value, never with the stale bytes `xsaveopt` leaves.
//!
//! On a host without XSAVE (tern then switches the state with `fxsave`, and
//! no model reports XSAVE) the frame is the kernel's for such a CPU
//! ([`Format::Fxsave`], `use_xsave()` false): the 512-byte FXSAVE image
//! alone, no header and no `FP_XSTATE_MAGIC2`, with the software bytes
//! `save_xstate_epilog()` writes whatever the CPU (`save_sw_bytes()`:
//! `FP_XSTATE_MAGIC1`, `extended_size` 516, `xfeatures` the task's
//! `user_xfeatures`, which only XSAVE setup sets, so 0, and `xstate_size`
//! 512; kernels before 5.16 wrote zeros there instead), and the ucontext
//! without `UC_FP_XSTATE` (`frame_uc_flags()`).
//!
//! Reading it back follows `fpu__restore_sig()`: software bytes that fail
//! `check_xstate_in_sigframe()` mean a plain FXSAVE image; otherwise the
//! image is loaded as `XRSTOR` would load it with the guest's XCR0, and
//! whatever `XRSTOR`/`FXRSTOR` would refuse with #GP (misalignment, a
//! non-zero XCOMP_BV, an XSTATE_BV bit outside XCR0, reserved MXCSR bits)
//! fails the sigreturn, as it does natively. The result is always an area
//! tern's own `xrstor` accepts.

use tern_translate::xstate::{self, XsaveArea, AVX, HEADER, HEADER_SIZE, LEGACY_SIZE, MXCSR, SSE, X87};

/// `FP_XSTATE_MAGIC1` (in the software bytes) and `FP_XSTATE_MAGIC2`
/// (after the xsave area), `uapi/asm/sigcontext.h`.
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// Size of `FP_XSTATE_MAGIC2`.
const MAGIC2_SIZE: usize = 4;
/// Offset of the software bytes (`struct _fpx_sw_bytes`, 48 bytes) in the
/// legacy region.
const SW_BYTES: usize = 464;
/// The legacy region's bytes the processor never writes (416..464).
const LEGACY_RESERVED: std::ops::Range<usize> = xstate::XMM.end..SW_BYTES;
/// Smallest `xstate_size` the kernel accepts: legacy region and header.
const MIN_XSTATE_SIZE: usize = LEGACY_SIZE + HEADER_SIZE;

/// How the kernel lays out the FPU state of a frame: `use_xsave()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The standard-format XSAVE image, header and `FP_XSTATE_MAGIC2`.
    Xsave,
    /// A CPU without XSAVE: the FXSAVE image alone.
    Fxsave,
}

impl Format {
    /// The format of this host's frames: [`Format::Fxsave`] where tern
    /// switches the guest's state with `fxsave` (no OS-enabled XSAVE).
    pub fn host() -> Format {
        if xstate::save_kind() == xstate::SaveKind::Fxsave {
            Format::Fxsave
        } else {
            Format::Xsave
        }
    }
}

/// `fpstate->user_size`: the standard-format size of the components of
/// `xcr0` (512, the FXSAVE image, without XSAVE).
pub fn xstate_size(xcr0: u64) -> usize {
    xstate_size_in(xcr0, Format::host())
}

/// [`xstate_size`] in `format`.
pub fn xstate_size_in(xcr0: u64, format: Format) -> usize {
    match format {
        Format::Xsave => xstate::standard_size(xcr0) as usize,
        Format::Fxsave => LEGACY_SIZE,
    }
}

/// `xstate_sigframe_size()`: the bytes the FPU state takes in a frame
/// (the xsave area and `FP_XSTATE_MAGIC2`; the FXSAVE image alone without
/// XSAVE).
pub fn sigframe_size(xcr0: u64) -> usize {
    sigframe_size_in(xcr0, Format::host())
}

/// [`sigframe_size`] in `format`.
pub fn sigframe_size_in(xcr0: u64, format: Format) -> usize {
    match format {
        Format::Xsave => xstate_size_in(xcr0, format) + MAGIC2_SIZE,
        Format::Fxsave => LEGACY_SIZE,
    }
}

/// The FPU state `area` as a handler's frame holds it for a model with
/// state components `xcr0`: the first [`xstate_size`] bytes of the result,
/// followed in the frame by `FP_XSTATE_MAGIC2` where the format has it
/// (`copy_fpstate_to_sigframe()`, `save_xstate_epilog()`).
pub fn image(area: &XsaveArea, xcr0: u64) -> XsaveArea {
    image_in(area, xcr0, Format::host())
}

/// [`image`] in `format`.
pub fn image_in(area: &XsaveArea, xcr0: u64, format: Format) -> XsaveArea {
    let mut img = *area;
    make_image(&mut img, xcr0, format);
    img
}

/// [`image_in`] in place: turns the state `img` into its frame image.
pub fn make_image(img: &mut XsaveArea, xcr0: u64, format: Format) {
    let size = xstate_size_in(xcr0, format);
    let present = img.present(xcr0);
    img.expand(xcr0);
    img.0[LEGACY_RESERVED].fill(0);
    img.0[SW_BYTES..LEGACY_SIZE].fill(0);
    let sw = &mut img.0[SW_BYTES..];
    sw[0..4].copy_from_slice(&FP_XSTATE_MAGIC1.to_le_bytes());
    sw[4..8].copy_from_slice(&((size + MAGIC2_SIZE) as u32).to_le_bytes());
    // `user_xfeatures`: the model's components; 0 without XSAVE.
    let xfeatures = if format == Format::Xsave { xcr0 } else { 0 };
    sw[8..16].copy_from_slice(&xfeatures.to_le_bytes());
    sw[16..20].copy_from_slice(&(size as u32).to_le_bytes());
    if format == Format::Fxsave {
        // Nothing after the legacy region is part of the frame.
        img.0[LEGACY_SIZE..].fill(0);
        return;
    }
    // The header is cleared first, so its reserved bytes are zero.
    img.0[HEADER..HEADER + HEADER_SIZE].fill(0);
    let mut bv = present | X87 | SSE;
    if xcr0 & xstate::PKRU != 0 && xstate::host_pku() {
        // The thread's PKRU, as the kernel saves it: never in its init
        // state (0) under Linux.
        if let Some(c) = img.component_mut(9) {
            c[..4].copy_from_slice(&xstate::pkru::read().to_le_bytes());
            bv |= xstate::PKRU;
        }
    }
    img.set_xstate_bv(bv);
    // Bytes of components outside the model that lie inside the image
    // (gaps of the standard format) hold nothing of the guest's.
    for i in 2..32 {
        if xcr0 & (1 << i) == 0 {
            if let Some((off, len)) = xstate::component(i) {
                let (off, end) = (off as usize, (off + len) as usize);
                if off < size {
                    img.0[off..end.min(size)].fill(0);
                }
            }
        }
    }
}

/// The kernel's initial PKRU (`init_pkru_value`): every key but 0
/// access-disabled. What a signal handler starts with.
pub const INIT_PKRU: u32 = 0x5555_5554;

/// The PKRU that sigreturn loads from the frame at `buf` (read by `read`):
/// its PKRU component where XSTATE_BV names it, PKRU's init state (0)
/// where it does not, and [`INIT_PKRU`] for a frame without the xsave
/// software bytes (an FXSAVE image: the rest of the state initial).
pub fn frame_pkru(buf: u64, read: impl Fn(u64, &mut [u8]) -> bool) -> u32 {
    let (mut sw, mut header) = ([0u8; 4], [0u8; 8]);
    if !read(buf + SW_BYTES as u64, &mut sw) || u32::from_le_bytes(sw) != FP_XSTATE_MAGIC1 {
        return INIT_PKRU;
    }
    if !read(buf + HEADER as u64, &mut header) || u64::from_le_bytes(header) & xstate::PKRU == 0 {
        return 0;
    }
    let mut v = [0u8; 4];
    match xstate::component(9) {
        Some((off, _)) if read(buf + u64::from(off), &mut v) => u32::from_le_bytes(v),
        _ => INIT_PKRU,
    }
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default())
}

/// `fpu__restore_sig()` for a 64-bit frame of a model with state
/// components `xcr0`: the state the FPU frame at `buf` holds, or None
/// where the kernel fails (the caller forces SIGSEGV and the thread gets
/// the init state, `fpu__clear_user_states()`). NULL means the init state.
/// `read(addr, buf)` copies guest memory and says whether it could; the
/// end of user space is `task_size`.
pub fn restore(
    buf: u64,
    xcr0: u64,
    task_size: u64,
    read: impl Fn(u64, &mut [u8]) -> bool,
) -> Option<XsaveArea> {
    let mut out = XsaveArea::default();
    restore_into(buf, xcr0, task_size, read, &mut out).then_some(out)
}

/// [`restore`] into `out`, which holds the initial state
/// (`XsaveArea::reset`); false where the kernel fails.
pub fn restore_into(
    buf: u64,
    xcr0: u64,
    task_size: u64,
    read: impl Fn(u64, &mut [u8]) -> bool,
    out: &mut XsaveArea,
) -> bool {
    restore_in(buf, xcr0, task_size, read, out).is_some()
}

fn restore_in(
    buf: u64,
    xcr0: u64,
    task_size: u64,
    read: impl Fn(u64, &mut [u8]) -> bool,
    out: &mut XsaveArea,
) -> Option<()> {
    if buf == 0 {
        return Some(());
    }
    // access_ok(buf, xstate_sigframe_size())
    if buf.checked_add(sigframe_size(xcr0) as u64)? > task_size {
        return None;
    }
    let mut legacy = [0u8; LEGACY_SIZE];
    if !read(buf, &mut legacy) {
        return None;
    }
    // check_xstate_in_sigframe(): without valid software bytes and the
    // second magic, the frame is a plain FXSAVE image.
    let sw = &legacy[SW_BYTES..];
    let (magic1, extended, size) = (u32_at(sw, 0), u32_at(sw, 4), u32_at(sw, 16) as usize);
    let mut xsave = magic1 == FP_XSTATE_MAGIC1
        && size >= MIN_XSTATE_SIZE
        && size <= xstate_size(xcr0)
        && size <= extended as usize;
    if xsave {
        let mut m2 = [0u8; 4];
        if !read(buf + size as u64, &mut m2) {
            return None;
        }
        xsave = u32::from_le_bytes(m2) == FP_XSTATE_MAGIC2;
    }
    let (rfbm, bv) = if xsave {
        // xrstor: a 64-byte aligned standard-format area whose XSTATE_BV
        // names only enabled components.
        let mut header = [0u8; HEADER_SIZE];
        if !buf.is_multiple_of(64) || !read(buf + HEADER as u64, &mut header) {
            return None;
        }
        let bv = u64_at(&header, 0);
        if header[8..24].iter().any(|&b| b != 0) || bv & !xcr0 != 0 {
            return None;
        }
        (u64_at(sw, 8) & xcr0, bv)
    } else {
        // fxrstor: 16-byte aligned.
        if !buf.is_multiple_of(16) {
            return None;
        }
        (X87 | SSE, X87 | SSE)
    };
    if rfbm & (SSE | AVX) != 0 {
        let mxcsr = u32_at(&legacy, MXCSR.start);
        if mxcsr & !tern_translate::xstate::mxcsr_mask() != 0 {
            return None;
        }
        out.0[MXCSR].copy_from_slice(&mxcsr.to_le_bytes());
    }
    // PKRU is the host's to keep (`frame::frame_components`).
    let load = rfbm & bv & !xstate::PKRU;
    out.load_legacy(&legacy, load);
    for i in 2..32 {
        if load & (1 << i) != 0 {
            let c = out.component_mut(i)?;
            let (off, _) = xstate::component(i)?;
            if !read(buf + u64::from(off), c) {
                return None;
            }
        }
    }
    // Every other component of the model is in its init state (the
    // kernel's `init_bv`), which the default area holds.
    out.set_xstate_bv(load);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_translate::xstate::{managed, OPMASK};

    const TASK: u64 = 0x7fff_ffff_f000;

    /// A frame image at a fake guest address, read back by `restore`.
    struct Frame {
        at: u64,
        bytes: Vec<u8>,
    }

    impl Frame {
        fn new(area: &XsaveArea, xcr0: u64) -> Frame {
            let img = image(area, xcr0);
            let size = xstate_size(xcr0);
            let mut bytes = img.0[..size].to_vec();
            bytes.extend_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
            Frame { at: 0x10_0000, bytes }
        }

        fn restore(&self, xcr0: u64) -> Option<XsaveArea> {
            restore(self.at, xcr0, TASK, |a, b| {
                let Some(off) = a.checked_sub(self.at).map(|o| o as usize) else { return false };
                match self.bytes.get(off..off + b.len()) {
                    Some(s) => {
                        b.copy_from_slice(s);
                        true
                    }
                    None => false,
                }
            })
        }

        fn bv(&mut self) -> u64 {
            u64_at(&self.bytes, HEADER)
        }

        fn set_bv(&mut self, bv: u64) {
            self.bytes[HEADER..HEADER + 8].copy_from_slice(&bv.to_le_bytes());
        }
    }

    fn sample(xcr0: u64) -> XsaveArea {
        let mut a = XsaveArea::default();
        a.0[160..176].fill(0x11);
        a.0[24..28].copy_from_slice(&0x3f80u32.to_le_bytes());
        let mut bv = X87 | SSE;
        for i in 2..32 {
            if xcr0 & (1 << i) != 0 {
                if let Some(c) = a.component_mut(i) {
                    c.fill(i as u8);
                    bv |= 1 << i;
                }
            }
        }
        a.set_xstate_bv(bv);
        a
    }

    #[test]
    fn image_has_the_kernel_layout() {
        let xcr0 = managed();
        let size = xstate_size(xcr0);
        let f = Frame::new(&sample(xcr0), xcr0);
        let sw = &f.bytes[SW_BYTES..];
        assert_eq!(u32_at(sw, 0), FP_XSTATE_MAGIC1);
        assert_eq!(u32_at(sw, 4) as usize, size + 4);
        assert_eq!(u64_at(sw, 8), xcr0);
        assert_eq!(u32_at(sw, 16) as usize, size);
        assert_eq!(u32_at(&f.bytes, size), FP_XSTATE_MAGIC2);
        assert_eq!(size, xstate::standard_size(xcr0) as usize);
        assert!(f.bytes[HEADER + 8..HEADER + HEADER_SIZE].iter().all(|&b| b == 0));
    }

    #[test]
    fn init_components_are_written_as_init() {
        let xcr0 = managed();
        let mut a = sample(xcr0);
        // Only x87 and SSE in use: the other components' stale bytes must
        // not reach the frame.
        a.set_xstate_bv(X87 | SSE);
        let mut f = Frame::new(&a, xcr0);
        assert_eq!(f.bv(), X87 | SSE);
        assert!(f.bytes[LEGACY_SIZE + HEADER_SIZE..xstate_size(xcr0)].iter().all(|&b| b == 0));
        // Nothing in use: x87 and SSE still marked, with their init values.
        a.set_xstate_bv(0);
        let mut f = Frame::new(&a, xcr0);
        assert_eq!(f.bv(), X87 | SSE);
        assert_eq!(&f.bytes[0..2], &[0x7f, 0x03]);
        assert!(f.bytes[160..416].iter().all(|&b| b == 0));
    }

    #[test]
    fn round_trip_keeps_every_model_component() {
        for xcr0 in [X87 | SSE, managed() & (X87 | SSE | AVX), managed()] {
            let a = sample(xcr0);
            let f = Frame::new(&a, xcr0);
            let back = f.restore(xcr0).expect("a frame tern wrote is valid");
            assert_eq!(back.xstate_bv(), a.xstate_bv() & xcr0);
            assert_eq!(back.mxcsr(), 0x3f80);
            assert_eq!(&back.0[160..416], &a.0[160..416]);
            for i in 2..32 {
                if xcr0 & (1 << i) != 0 {
                    assert_eq!(back.component(i), a.component(i), "component {i}");
                }
            }
        }
    }

    #[test]
    fn bad_frames_fail_as_xrstor_would() {
        let xcr0 = managed();
        let a = sample(xcr0);
        let good = Frame::new(&a, xcr0);
        let mut f = Frame { at: good.at, bytes: good.bytes.clone() };
        f.bytes[HEADER + 9] = 1;
        assert!(f.restore(xcr0).is_none(), "XCOMP_BV");
        let mut f = Frame { at: good.at, bytes: good.bytes.clone() };
        f.bytes[HEADER + 40] = 1;
        assert!(f.restore(xcr0).is_some(), "bytes 24..64 of the header are not checked");
        let mut f = Frame { at: good.at, bytes: good.bytes.clone() };
        let bv = f.bv();
        f.set_bv(bv | 1 << 3);
        assert!(f.restore(xcr0).is_none(), "XSTATE_BV outside XCR0");
        let mut f = Frame { at: good.at, bytes: good.bytes.clone() };
        f.bytes[24..28].copy_from_slice(&(1u32 << 20).to_le_bytes());
        assert!(f.restore(xcr0).is_none(), "MXCSR reserved bits");
        // The same MXCSR is not loaded when neither SSE nor AVX is restored.
        let sw_features = SW_BYTES + 8;
        f.bytes[sw_features..sw_features + 8].copy_from_slice(&(xcr0 & !(SSE | AVX)).to_le_bytes());
        let back = f.restore(xcr0).expect("MXCSR not restored");
        assert_eq!(back.mxcsr(), 0x1f80);
        if xcr0 & AVX != 0 {
            assert!(back.component(2).is_some_and(|c| c.iter().all(|&b| b == 0)), "AVX initialised");
        }
        // Misaligned xsave image: #GP. Broken magic: an FXSAVE image.
        let f = Frame { at: good.at + 16, bytes: good.bytes.clone() };
        assert!(f.restore(xcr0).is_none());
        let mut f = Frame { at: good.at + 16, bytes: good.bytes.clone() };
        f.bytes[SW_BYTES] ^= 1;
        let back = f.restore(xcr0).expect("an FXSAVE image is 16-byte aligned");
        assert_eq!(back.xstate_bv(), X87 | SSE);
        assert_eq!(&back.0[160..176], &[0x11; 16]);
        // A frame whose software bytes and magic are valid but whose
        // opmask component cannot be read.
        if let Some((opmask, _)) = xstate::component(5).filter(|_| xcr0 & OPMASK != 0) {
            let mut f = Frame { at: good.at, bytes: good.bytes.clone() };
            f.bytes[SW_BYTES + 16..SW_BYTES + 20].copy_from_slice(&(MIN_XSTATE_SIZE as u32).to_le_bytes());
            f.bytes[MIN_XSTATE_SIZE..MIN_XSTATE_SIZE + 4].copy_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
            assert!(f.restore(xcr0).is_some(), "a short xstate_size with its magic");
            f.bytes.truncate(opmask as usize);
            assert!(f.restore(xcr0).is_none(), "unreadable component");
        }
    }

    /// Without XSAVE the frame is the FXSAVE image with the software bytes
    /// `save_xstate_epilog()` writes and no second magic; `restore` takes
    /// it back as `fxrstor` would, and an XSAVE-format frame as an FXSAVE
    /// image (its header and components are not read).
    #[test]
    fn fxsave_frame_is_the_kernels_without_xsave() {
        let fx = Format::Fxsave;
        assert_eq!(xstate_size_in(X87 | SSE, fx), 512);
        assert_eq!(sigframe_size_in(X87 | SSE, fx), 512);
        let mut a = sample(X87 | SSE);
        a.0[200] = 0x5a;
        a.0[LEGACY_RESERVED.start] = 0xee;
        a.0[SW_BYTES + 30] = 0xee;
        let img = image_in(&a, X87 | SSE, fx);
        assert_eq!(&img.0[..416], &a.0[..416], "x87, MXCSR and XMM as saved");
        assert!(img.0[LEGACY_RESERVED].iter().all(|&b| b == 0));
        let sw = &img.0[SW_BYTES..LEGACY_SIZE];
        assert_eq!(u32_at(sw, 0), FP_XSTATE_MAGIC1);
        assert_eq!(u32_at(sw, 4), 516, "extended_size: user_size + 4");
        assert_eq!(u64_at(sw, 8), 0, "user_xfeatures is only set up with XSAVE");
        assert_eq!(u32_at(sw, 16), 512);
        assert!(sw[20..].iter().all(|&b| b == 0), "padding");
        assert!(img.0[LEGACY_SIZE..].iter().all(|&b| b == 0), "no header, no magic2");
        // Back, as fxrstor: x87/SSE loaded, nothing else read.
        let frame = Frame { at: 0x10_0000 + 16, bytes: img.0[..512].to_vec() };
        let back = frame.restore(X87 | SSE).expect("a 16-byte aligned FXSAVE image");
        assert_eq!(back.xstate_bv(), X87 | SSE);
        assert_eq!(back.0[200], 0x5a);
        assert_eq!(back.mxcsr(), 0x3f80);
        // The XSAVE-format image keeps its own layout.
        let x = image_in(&a, X87 | SSE, Format::Xsave);
        assert_eq!(u64_at(&x.0[SW_BYTES..], 8), X87 | SSE);
        assert_eq!(u32_at(&x.0[SW_BYTES..], 16), 576);
        assert_eq!(sigframe_size_in(X87 | SSE, Format::Xsave), 580);
        if xstate::host_xcr0() != 0 {
            assert_eq!(Format::host(), Format::Xsave);
        }
    }

    #[test]
    fn null_is_the_init_state() {
        let back = restore(0, managed(), TASK, |_, _| false).expect("NULL is valid");
        assert_eq!(back.xstate_bv(), 0);
        assert_eq!(back.mxcsr(), 0x1f80);
    }
}
