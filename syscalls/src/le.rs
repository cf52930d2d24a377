//! Little-endian fields of the byte images of kernel structures the guest
//! passes (bpf attributes, PROCMAP_QUERY's `procmap_query`, the structures
//! `--strace` decodes). A field past the end of an image reads as zero
//! bytes, as the kernel reads a structure shorter than its own.

/// `N` bytes of `b` from `at`, zero past its end.
fn bytes<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut v = [0u8; N];
    if let Some(s) = b.get(at..) {
        let n = s.len().min(N);
        v[..n].copy_from_slice(&s[..n]);
    }
    v
}

pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes(b, at))
}

pub fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes(b, at))
}

/// Writes `v` at `at` (the field must lie inside `b`).
pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes `v` at `at` (the field must lie inside `b`).
pub fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_and_zero_past_the_end() {
        let mut b = [0u8; 12];
        put_u64(&mut b, 0, 0x1122_3344_5566_7788);
        put_u32(&mut b, 8, 0xaabb_ccdd);
        assert_eq!(u64_at(&b, 0), 0x1122_3344_5566_7788);
        assert_eq!(u32_at(&b, 8), 0xaabb_ccdd);
        assert_eq!(u64_at(&b, 8), 0xaabb_ccdd);
        assert_eq!(u32_at(&b, 12), 0);
        assert_eq!(u64_at(&b, 100), 0);
    }
}
