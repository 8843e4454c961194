//! What the server prints of a client's line: control bytes (which could
//! forge console structure) become `?`, and a whole word of the line is
//! checked for them at once. Portable, so its tests run on the host.

/// A byte of a client's line as printed: control bytes, which could forge
/// console structure, become `?`.
pub fn printable(b: u8) -> u8 {
    if b < 0x20 && b != b'\t' || b == 0x7f {
        b'?'
    } else {
        b
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether no byte of `w` is a control byte (below 0x20, or 0x7f): then
/// [`printable`] leaves every byte as it is. (A tab makes the word go the
/// byte-by-byte way, which keeps it.) Exact, lane by lane with no carry
/// between bytes: of `c`, a byte without its high bit, `c + 0x60` has its
/// high bit set exactly when `c >= 0x20`, and `c + 0x01` exactly when
/// `c == 0x7f`; a byte with its high bit set is always plain. (Nine
/// instructions with its constants, each a single `mov`; the earlier test
/// by `w - 0x20` and `w ^ 0x7f` took twelve.)
#[inline(always)]
pub fn plain(w: u64) -> bool {
    let c = w & (0x7f * ONES);
    let at_least_space = c + 0x60 * ONES;
    let del = c + ONES;
    (del | !at_least_space) & !w & HIGHS == 0
}

/// Every byte of `w` made [`printable`] (a word with a control byte).
#[cold]
#[inline(never)]
pub fn printable_bytes(w: u64) -> u64 {
    let mut bytes = w.to_le_bytes();
    for b in &mut bytes {
        *b = printable(*b);
    }
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `plain` says yes exactly when `printable` changes no byte.
    #[test]
    fn plain_matches_printable_on_every_byte_in_every_position() {
        for b in 0..=255u8 {
            for at in 0..8 {
                for fill in [b'a', 0x80, 0xff, b'~'] {
                    let mut bytes = [fill; 8];
                    bytes[at] = b;
                    let w = u64::from_le_bytes(bytes);
                    let keeps = bytes.iter().all(|&x| printable(x) == x && x != b'\t');
                    assert_eq!(plain(w), keeps, "byte {b:#x} at {at} among {fill:#x}");
                }
            }
        }
    }

    /// `printable_bytes` makes each byte what `printable` makes it.
    #[test]
    fn printable_bytes_matches_printable_in_every_position() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut bytes = [b'a'; 8];
                bytes[at] = b;
                let got = printable_bytes(u64::from_le_bytes(bytes)).to_le_bytes();
                assert_eq!(got[at], printable(b), "{b:#x} at {at}");
            }
        }
    }
}
