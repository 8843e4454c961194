//! Converting between counter ticks and microseconds at a frequency, in
//! 64-bit arithmetic: the same results as the exact 128-bit product and
//! quotient (truncated to 64 bits), without compiler-builtins'
//! `u128_div_rem` (780 bytes of kernel text, and a call on every log
//! timestamp; issue 12's size goal, docs/measurements.md).
//!
//! `x * m / d` is split at `x = q * d + r`: `q * m + r * m / d`, exact
//! because `r * m / d < m`. `r * m` cannot overflow while `d` and `m` are
//! below 2^32 (a generic timer's frequency is a 32-bit register); the
//! `q * m` term wraps as the 128-bit result's truncation does. (CNTFRQ_EL0's
//! upper 32 bits are RES0, so a frequency is clamped to 32 bits.)

/// `x * m / d` truncated to 64 bits, for `d` and `m` below 2^32, `d > 0`.
fn mul_div(x: u64, m: u64, d: u64) -> u64 {
    let (q, r) = (x / d, x % d);
    q.wrapping_mul(m).wrapping_add(r * m / d)
}

/// `ticks` of a counter running at `hz` (0 taken as 1), in microseconds.
pub fn to_us(ticks: u64, hz: u64) -> u64 {
    mul_div(ticks, 1_000_000, hz.clamp(1, u32::MAX as u64))
}

/// `us` microseconds in ticks of a counter running at `hz`.
pub fn from_us(us: u64, hz: u64) -> u64 {
    mul_div(us, hz.min(u32::MAX as u64), 1_000_000)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    fn exact(x: u64, m: u64, d: u64) -> u64 {
        (x as u128 * m as u128 / d as u128) as u64
    }

    /// Against the 128-bit computation, for the boards' frequencies and
    /// the extremes, over counts from 0 to u64::MAX.
    #[test]
    fn same_as_the_128_bit_product() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut counts = vec![0, 1, 999_999, 1_000_000, u32::MAX as u64, u64::MAX];
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            counts.push(x);
            counts.push(x >> (x % 64));
        }
        for hz in [
            1,
            54_000_000,
            62_500_000,
            8_000_000,
            1_000_000,
            999_999,
            u32::MAX as u64,
        ] {
            for &c in &counts {
                assert_eq!(to_us(c, hz), exact(c, 1_000_000, hz), "to_us({c}, {hz})");
                assert_eq!(
                    from_us(c, hz),
                    exact(c, hz, 1_000_000),
                    "from_us({c}, {hz})"
                );
            }
        }
        assert_eq!(to_us(5, 0), 5_000_000);
    }
}
