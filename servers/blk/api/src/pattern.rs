//! The test pattern the block tests write and check: every byte is a
//! function of its sector and its place in the sector, so a sector that
//! landed in the wrong place, or half a sector, is caught.

use crate::SECTOR;

/// Where the block-server tests' client `i` keeps its sectors: from
/// `i × 640` (room for 320 sectors and a gap; the test cases' disk checks
/// name the same places).
pub fn client_first_sector(i: usize) -> u64 {
    (i * 640) as u64
}

/// Byte `i` of sector `sector` in the pattern.
pub fn byte(sector: u64, i: usize) -> u8 {
    let x = sector
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(i as u64 * 0x2545_f491);
    (x >> 24) as u8 ^ (i as u8).wrapping_mul(31) ^ 0x5a
}

/// Fills `buf` (whole sectors) with the pattern of the sectors from `first`.
pub fn fill(first: u64, buf: &mut [u8]) {
    for (n, s) in buf.chunks_mut(SECTOR).enumerate() {
        for (i, b) in s.iter_mut().enumerate() {
            *b = byte(first + n as u64, i);
        }
    }
}

/// The first byte of `buf` (whole sectors from `first`) that differs from
/// the pattern: `(sector, index in it, found)`.
pub fn mismatch(first: u64, buf: &[u8]) -> Option<(u64, usize, u8)> {
    for (n, s) in buf.chunks(SECTOR).enumerate() {
        for (i, &b) in s.iter().enumerate() {
            let sector = first + n as u64;
            if b != byte(sector, i) {
                return Some((sector, i, b));
            }
        }
    }
    None
}
