//! The card's capacity from its CSD register (SD Physical Layer
//! Simplified Specification, 5.3), as an SDHCI holds the R2 response of
//! CMD9: CSD bits 127..8 in the four Response words, shifted down by 8
//! (the controller drops the CRC byte). Pure, host-tested.

/// CSD bits `hi..=lo` (CSD numbering) from the four Response words.
fn bits(r: &[u32; 4], hi: u32, lo: u32) -> u64 {
    let mut v = 0u64;
    for b in (lo - 8..=hi - 8).rev() {
        v = v << 1 | ((r[(b / 32) as usize] >> (b % 32)) & 1) as u64;
    }
    v
}

/// Capacity in 512-byte blocks; `None` for an unknown CSD structure.
pub fn blocks(r: [u32; 4]) -> Option<u64> {
    match bits(&r, 127, 126) {
        // CSD 2.0 (SDHC/SDXC): (C_SIZE + 1) × 512 KiB.
        1 => Some((bits(&r, 69, 48) + 1) * 1024),
        // CSD 1.0: (C_SIZE + 1) × 2^(C_SIZE_MULT + 2) × 2^READ_BL_LEN bytes.
        0 => {
            let bytes = (bits(&r, 73, 62) + 1) << (bits(&r, 49, 47) + 2) << bits(&r, 83, 80);
            Some(bytes / 512)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Response words an SDHCI holds for the 128-bit CSD `csd`.
    fn response(csd: u128) -> [u32; 4] {
        let r = csd >> 8;
        [
            r as u32,
            (r >> 32) as u32,
            (r >> 64) as u32,
            (r >> 96) as u32,
        ]
    }

    #[test]
    fn csd_2_0_high_capacity() {
        // Structure 1, C_SIZE 15159: a "8 GB" SDHC card, 7.4 GiB.
        let csd = 1u128 << 126 | 15159u128 << 48 | 0xff;
        assert_eq!(blocks(response(csd)), Some(15160 * 1024));
        // SDXC: the largest C_SIZE (22 bits).
        let csd = 1u128 << 126 | 0x3f_ffffu128 << 48;
        assert_eq!(blocks(response(csd)), Some(0x40_0000 * 1024));
    }

    #[test]
    fn csd_1_0_standard_capacity() {
        // 128 MiB as QEMU makes it: READ_BL_LEN 9, C_SIZE_MULT 7 (×512),
        // C_SIZE 511: 512 × 512 × 512 bytes.
        let csd = 9u128 << 80 | 511u128 << 62 | 7u128 << 47;
        assert_eq!(blocks(response(csd)), Some(262_144));
        // A 2 GB card: READ_BL_LEN 10, C_SIZE_MULT 7, C_SIZE 4095.
        let csd = 10u128 << 80 | 4095u128 << 62 | 7u128 << 47;
        assert_eq!(blocks(response(csd)), Some(4_194_304));
    }

    #[test]
    fn unknown_structures_are_refused() {
        assert_eq!(blocks(response(2u128 << 126)), None);
        assert_eq!(blocks(response(3u128 << 126)), None);
    }
}
